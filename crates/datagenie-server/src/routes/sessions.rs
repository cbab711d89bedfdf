//! `/api/v1/sessions`: a user's conversations. Each role manages only its own.

use std::sync::Arc;

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use datagenie_store::model::{ChatMessage, ChatSession};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::routes::connections::visible_connection;
use crate::routes::{ListQuery, Listed, page_of};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSessionRequest {
    /// The connection's id or name.
    pub connection_id: String,
    pub title: Option<String>,
}

fn valid_title(title: Option<&str>) -> ApiResult<Option<String>> {
    match title.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) if t.chars().count() > 200 => Err(ApiError::bad_request("a title has at most 200 characters")),
        other => Ok(other.map(str::to_string)),
    }
}

#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = NewSessionRequest,
    responses((status = 201, body = ChatSession)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Json(body): Json<NewSessionRequest>,
) -> ApiResult<(StatusCode, JsonOut<ChatSession>)> {
    let c = visible_connection(&state, &auth, &body.connection_id).await?;
    let title = valid_title(body.title.as_deref())?;
    let session = state.store.create_chat_session(&auth.user().id, Some(&c.id), title.as_deref()).await?;
    Ok((StatusCode::CREATED, JsonOut(session)))
}

#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions", params(ListQuery),
    responses((status = 200, body = inline(Listed<ChatSession>))))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<JsonOut<Listed<ChatSession>>> {
    Ok(JsonOut(state.store.list_chat_sessions(&auth.user().id, &page_of(&q)?).await?.into()))
}

/// The caller's own session; anyone else's is 404.
async fn own(state: &AppState, auth: &Auth, id: &str) -> ApiResult<ChatSession> {
    state
        .store
        .chat_session(id)
        .await?
        .filter(|s| s.user_id == auth.user().id)
        .ok_or_else(|| ApiError::not_found(format!("session '{id}'")))
}

#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = String, Path)),
    responses((status = 200, body = ChatSession)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<ChatSession>> {
    Ok(JsonOut(own(&state, &auth, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/sessions/{id}/messages", tag = "sessions", params(("id" = String, Path), ListQuery),
    responses((status = 200, body = inline(Listed<ChatMessage>))))]
pub async fn messages(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<JsonOut<Listed<ChatMessage>>> {
    let session = own(&state, &auth, &id).await?;
    Ok(JsonOut(state.store.list_chat_messages(&session.id, &page_of(&q)?).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameRequest {
    pub title: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = String, Path)), request_body = RenameRequest,
    responses((status = 200, body = ChatSession)))]
pub async fn rename(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<RenameRequest>,
) -> ApiResult<JsonOut<ChatSession>> {
    let session = own(&state, &auth, &id).await?;
    let title = valid_title(body.title.as_deref())?;
    Ok(JsonOut(state.store.rename_chat_session(&session.id, title.as_deref()).await?))
}

#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = String, Path)), responses((status = 204)))]
pub async fn delete(State(state): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let session = own(&state, &auth, &id).await?;
    state.store.delete_chat_session(&session.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
