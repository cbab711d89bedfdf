//! `/mcp`: MCP over streamable HTTP on `datagenie serve`. Every request must carry an API key
//! (`Authorization: Bearer dg_…` or `X-API-Key`); a missing, unknown, revoked or expired key is answered 401 before
//! the MCP layer sees the request, so no tool — not even `tools/list` — runs for it. The transport is stateless (no
//! MCP session is kept between requests): each request is authenticated on its own, a revoked key stops at its next
//! request, and any instance of the server can answer any request.
//!
//! `Host` is checked against `server.mcp_allowed_hosts` (loopback only by default, against DNS rebinding) and
//! `Origin` against `server.mcp_allowed_origins` (none by default: browsers' requests are refused).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use datagenie_core::ErrorCode;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::{Backend, Identity, McpServer};
use crate::auth::{authenticate_api_key, client_info, presented_credential};
use crate::error::ApiError;
use crate::state::AppState;

/// The MCP service for `/mcp` (without its authentication: see [`authenticate`]).
pub fn service(state: Arc<AppState>) -> StreamableHttpService<McpServer, NeverSessionManager> {
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(state.server.max_body_bytes);
    let hosts: Vec<&str> = state.server.mcp_allowed_hosts.iter().map(|h| h.trim()).filter(|h| !h.is_empty()).collect();
    if hosts.contains(&"*") {
        config = config.disable_allowed_hosts();
    } else if !hosts.is_empty() {
        config = config.with_allowed_hosts(hosts);
    }
    let origins: Vec<&str> =
        state.server.mcp_allowed_origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()).collect();
    config = if origins.is_empty() { config.enforce_origin_validation() } else { config.with_allowed_origins(origins) };
    let backend = Backend::Server { state, identity: Identity::Request };
    StreamableHttpService::new(move || Ok(McpServer::new(backend.clone())), Default::default(), config)
}

/// The API key of the request, authenticated; 401 (with `WWW-Authenticate: Bearer`) before anything else.
pub async fn authenticate(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let client = client_info(&parts);
    let refused = |e: ApiError| {
        let mut response = e.into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        response
    };
    let Some(key) = presented_credential(&parts.headers).map(str::to_string) else {
        return refused(ApiError::new(
            ErrorCode::Unauthenticated,
            "MCP needs an API key: send 'Authorization: Bearer dg_…' (create one under Settings › API keys)",
        ));
    };
    match authenticate_api_key(&state, &key, client).await {
        Ok(auth) => {
            parts.extensions.insert(auth);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => refused(e),
    }
}
