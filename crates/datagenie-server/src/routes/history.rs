//! `/api/v1/history`: every question asked, answered or not. Each user sees their own; admins everyone's. The
//! chart and the rows of an answer are served from what was recorded, not by asking again.

use std::sync::Arc;

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use datagenie_core::ErrorCode;
use datagenie_store::model::{Analysis, HistoryEntry, HistoryFilter, QueryStatus, StoredResult, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Audit, audit};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{OptionalJson, Query};
use crate::routes::{Listed, page};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
    /// A connection's id.
    pub connection_id: Option<String>,
    /// A user's id (admins; others see only their own).
    pub user_id: Option<String>,
    /// `success`, `error`, `timeout` or `refused`.
    pub status: Option<String>,
    /// From this moment (RFC 3339) or day (`2026-01-31`).
    pub since: Option<String>,
    /// Before this moment or day.
    pub until: Option<String>,
    /// Words in the question.
    pub text: Option<String>,
    /// Questions asked with this API key.
    pub api_key_id: Option<String>,
}

/// An RFC 3339 moment, or a day (its start, UTC).
pub fn moment(text: &str) -> ApiResult<Timestamp> {
    let text = text.trim();
    if text.len() == 10 {
        return Ok(Timestamp::parse(&format!("{text}T00:00:00Z"))?);
    }
    Ok(Timestamp::parse(text)?)
}

#[utoipa::path(get, path = "/api/v1/history", tag = "history", params(HistoryQuery),
    responses((status = 200, body = inline(Listed<HistoryEntry>))))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<JsonOut<Listed<HistoryEntry>>> {
    let user_id = if auth.is_admin() {
        q.user_id.clone()
    } else {
        match q.user_id.as_deref() {
            Some(other) if other != auth.user().id => {
                return Err(ApiError::forbidden("only an admin may see others' history"));
            }
            _ => Some(auth.user().id.clone()),
        }
    };
    let filter = HistoryFilter {
        user_id,
        connection_id: q.connection_id.clone(),
        status: q.status.as_deref().map(str::parse::<QueryStatus>).transpose()?,
        since: q.since.as_deref().map(moment).transpose()?,
        until: q.until.as_deref().map(moment).transpose()?,
        text: q.text.clone().filter(|t| !t.trim().is_empty()),
        api_key_id: q.api_key_id.clone().filter(|k| !k.is_empty()),
    };
    Ok(JsonOut(state.store.list_history(&filter, &page(q.limit, q.cursor.clone())?).await?.into()))
}

/// One question in full: the entry, its analysis and its recorded rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryDetail {
    #[serde(flatten)]
    pub entry: HistoryEntry,
    pub analysis: Option<Analysis>,
    pub result: Option<StoredResult>,
}

async fn visible(state: &AppState, auth: &Auth, id: &str) -> ApiResult<HistoryEntry> {
    state
        .store
        .history_entry(id)
        .await?
        .filter(|e| auth.is_admin() || e.user_id == auth.user().id)
        .ok_or_else(|| ApiError::not_found(format!("history entry '{id}'")))
}

#[utoipa::path(get, path = "/api/v1/history/{id}", tag = "history", params(("id" = String, Path)),
    responses((status = 200, body = HistoryDetail), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<HistoryDetail>> {
    let entry = visible(&state, &auth, &id).await?;
    let analysis = state.store.analysis(&entry.id).await?;
    let result = state.store.stored_result(&entry.id).await?;
    Ok(JsonOut(HistoryDetail { entry, analysis, result }))
}

/// Whether an answer is right.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// `true` (the default): the answer is right; `false`: withdraw the mark.
    #[serde(default = "yes")]
    pub verified: bool,
}

fn yes() -> bool {
    true
}

/// Marks an answered question right (or withdraws the mark): from then on its question and SQL are a verified
/// example on that connection — shown to the LLM, for questions like it, to everyone whose grant lets them run its
/// SQL. The person who asked it, or an admin; anyone else's entry is 404. Only an answered question can be marked.
#[utoipa::path(post, path = "/api/v1/history/{id}/verify", tag = "history", params(("id" = String, Path)),
    request_body = VerifyRequest,
    responses((status = 200, body = HistoryEntry, description = "the entry, with verified_by and verified_at"),
        (status = 400, body = crate::error::ErrorBody, description = "invalid_argument: the question was not answered"),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn verify(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<VerifyRequest>,
) -> ApiResult<JsonOut<HistoryEntry>> {
    let verified = body.is_none_or(|b| b.verified);
    let before = visible(&state, &auth, &id).await?;
    let by = verified.then(|| auth.user().id.as_str());
    let after = state.store.set_history_verified(&before.id, by, Timestamp::now()).await?;
    // The next question on that database sees the change at once (its examples are rebuilt).
    if let (Some(library), Some(connection_id)) = (&state.questions.context.library, &after.connection_id)
        && let Some(c) = state.store.connection(connection_id).await?
    {
        match crate::routes::templates::key_of(&state, &c).await {
            Ok(key) => library.forget(&key),
            Err(e) => tracing::warn!(code = %e.error.code, "could not refresh the knowledge of a connection"),
        }
    }
    audit(
        &state,
        Audit::new("history.verify", "query_history").caller(&auth).resource(&after.id).values(
            Some(serde_json::json!({"verified": before.verified_at.is_some()})),
            Some(serde_json::json!({"verified": verified})),
        ),
    )
    .await?;
    Ok(JsonOut(after))
}

async fn chart_spec(state: &AppState, auth: &Auth, id: &str) -> ApiResult<serde_json::Value> {
    let entry = visible(state, auth, id).await?;
    state
        .store
        .analysis(&entry.id)
        .await?
        .and_then(|a| a.chart_spec)
        .ok_or_else(|| ApiError::not_found(format!("a chart for '{id}'")))
}

#[utoipa::path(get, path = "/api/v1/history/{id}/chart.svg", tag = "history", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/svg+xml", body = String)))]
pub async fn chart_svg(State(state): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let spec = chart_spec(&state, &auth, &id).await?;
    let svg = tokio::task::spawn_blocking(move || datagenie_chart::render_svg(&spec))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("the chart renderer stopped: {e}")))??;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

#[utoipa::path(get, path = "/api/v1/history/{id}/chart.png", tag = "history", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/png", body = Vec<u8>)))]
pub async fn chart_png(State(state): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let spec = chart_spec(&state, &auth, &id).await?;
    let png = tokio::task::spawn_blocking(move || datagenie_chart::render_png(&spec))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("the chart renderer stopped: {e}")))??;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// A cell of a CSV download: null empty, text as is, anything else as JSON writes it.
pub(crate) fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[utoipa::path(get, path = "/api/v1/history/{id}/rows.csv", tag = "history", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn rows_csv(State(state): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let entry = visible(&state, &auth, &id).await?;
    let result =
        state.store.stored_result(&entry.id).await?.ok_or_else(|| ApiError::not_found(format!("rows for '{id}'")))?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| ApiError::new(ErrorCode::OutputFailed, format!("cannot write CSV: {e}"));
    out.write_record(&result.columns).map_err(failed)?;
    for row in result.rows.as_array().into_iter().flatten() {
        let cells: Vec<String> = row.as_array().into_iter().flatten().map(cell).collect();
        out.write_record(&cells).map_err(failed)?;
    }
    let bytes =
        out.into_inner().map_err(|e| ApiError::new(ErrorCode::OutputFailed, format!("cannot write CSV: {e}")))?;
    let disposition = format!("attachment; filename=\"datagenie-{}.csv\"", entry.id);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        bytes,
    )
        .into_response())
}
