//! Probes, metrics and the API's description.

use std::sync::Arc;

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> JsonOut<Health> {
    JsonOut(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    pub status: &'static str,
    pub schema_version: u32,
    /// Where shared counters are kept now: `redis`, `database` (a configured Redis does not answer: the server
    /// keeps serving, counting in the system database) or `memory` (no Redis: this server alone).
    pub counters: &'static str,
}

/// Ready: the system database answers. A Redis that does not answer does not make the server unready (it keeps
/// answering; `counters` says where it counts meanwhile).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Ready), (status = 503, body = crate::error::ErrorBody)))]
pub async fn readyz(State(state): State<Arc<AppState>>) -> ApiResult<JsonOut<Ready>> {
    state.store.ping().await?;
    if let Some(redis) = state.counters.redis()
        && redis.available()
    {
        // a round trip, so that a Redis that went down shows here (and one that came back, once retried)
        redis.ping().await;
    }
    Ok(JsonOut(Ready {
        status: "ready",
        schema_version: state.store.schema_version().await?,
        counters: state.counters.backend().as_str(),
    }))
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses((status = 200, body = Object)))]
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::document()).into_response()
}
