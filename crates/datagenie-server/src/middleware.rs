//! What wraps every request: the request id (kept from `X-Request-Id` when sane, else a new UUID; echoed in the
//! response and in every log line of the request), the client's address, the per-address rate, security headers,
//! the request timeout, the metrics and one access-log line (method, route, status, time — never a query string or
//! a header value, which may carry a credential).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use datagenie_core::ErrorCode;
use tracing::Instrument;

use crate::error::ApiError;
use crate::state::AppState;

pub const REQUEST_ID: &str = "x-request-id";

/// The client's address (from the socket, or `X-Forwarded-For` when configured to trust it).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// Routes outside the per-address rate (probes and scrapes).
fn unmetered(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string)
}

fn client_ip(req: &Request, trust_forwarded: bool) -> Option<IpAddr> {
    if trust_forwarded
        && let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|first| first.trim().parse().ok())
    {
        return Some(ip);
    }
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

pub async fn around(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    let route =
        req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    if let Ok(value) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, value);
    }
    let ip = client_ip(&req, state.server.trust_forwarded_for);
    if let Some(ip) = ip {
        req.extensions_mut().insert(ClientIp(ip));
    }
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = async {
        if !unmetered(&path)
            && let Some(ip) = ip
            && let Err(wait) =
                state.rates.check(&format!("ip:{ip}"), state.runtime().requests_per_minute_per_address).await
        {
            return ApiError::new(ErrorCode::RateLimited, "too many requests from this address; slow down")
                .retry_after(wait)
                .into_response();
        }
        let limit = Duration::from_secs(state.server.request_timeout_secs.max(1));
        match tokio::time::timeout(limit, next.run(req)).await {
            Ok(response) => response,
            Err(_) => ApiError::new(ErrorCode::RequestTimeout, "the request took too long").into_response(),
        }
    }
    .instrument(span.clone())
    .await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(HeaderName::from_static(REQUEST_ID), value);
    }
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; \
             form-action 'self'",
        ),
    ] {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    if path.starts_with("/api/") {
        headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    }
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    state.metrics.request(&route, &method, status, seconds);
    span.in_scope(|| {
        tracing::info!(method = %method, route = %route, status, ms = (seconds * 1000.0).round() as u64, "request");
    });
    response
}
