//! `POST /api/v1/ask`: a question, through the one pipeline ([`datagenie_app::service::QuestionService`]). The
//! answer is the object `datagenie ask --format json` prints, plus where it was recorded. With
//! `Accept: text/event-stream` the same question streams: `source`, `attempt` (each try, with its error when it
//! failed), `rows`, `chart`, `summary`, then `answer` (the whole object) or `error` (the failure with its cost).

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use datagenie_app::ask::{AnswerSource, Progress, RequestKind};
use datagenie_app::service::{AskParams, Asked};
use datagenie_core::ErrorCode;
use futures_util::stream::Stream;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskRequest {
    /// The connection's id or name.
    pub connection_id: String,
    pub question: String,
    /// Ask in a conversation: the earlier turns go to the LLM.
    pub session_id: Option<String>,
    /// At most this many rows (never more than the server's and your grant's limits).
    pub max_rows: Option<usize>,
    /// Add `knowledge` to the answer: the tables, matched values, business terms, documentation chunks and verified
    /// examples the LLM's prompt was given, with their retrieval scores.
    #[serde(default)]
    pub explain: bool,
}

// --- the documented shapes of an answer and a failure (OpenAPI only: the bodies are built by datagenie-app's
// `Answer::to_json` and `AskFailure::to_json`; `the_readme_walk` checks the real keys against these)

/// The LLM setting in force and where it came from.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LlmInForceDoc {
    /// `builtin`, `openai`, `anthropic`.
    provider: String,
    model: Option<String>,
    /// e.g. `env DATAGENIE_LLM__PROVIDER`, `file datagenie.toml`, `default`.
    from: String,
}

/// Who wrote the SQL: `kind` and its details.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AnswerSourceDoc {
    /// `template`, `builtin`, `llm`, or `sql` (an agent's own SQL, MCP `run_sql`).
    kind: String,
    /// `llm`: the model.
    model: Option<String>,
    /// `template`: its id, name, the values bound into its slots and how often it was used.
    id: Option<String>,
    name: Option<String>,
    values: Option<Object>,
    uses: Option<u64>,
    /// `builtin`: how sure it was, and what it understood, in words.
    confidence: Option<f32>,
    interpretation: Option<String>,
    llm: LlmInForceDoc,
}

/// One guarded run: the SQL and, when it failed, why (the LLM's repair follows).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AttemptDoc {
    sql: Option<String>,
    error: Option<crate::error::ErrorDetail>,
}

/// Tokens and cost of the question's LLM calls (0 for templates and the built-in engine).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UsageDoc {
    prompt_tokens: u64,
    completion_tokens: u64,
    cost_usd: f64,
}

/// An answered question.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AnswerDoc {
    question: String,
    /// The SQL as run (after the guard).
    sql: String,
    source: AnswerSourceDoc,
    columns: Vec<String>,
    /// Rows of JSON values (numbers stay numbers; personal data masked unless your grant unmasks).
    rows: Vec<Vec<serde_json::Value>>,
    row_count: u64,
    truncated: bool,
    /// A Vega-Lite v5 spec (`/history/{id}/chart.svg` renders it).
    chart: Option<Object>,
    summary: Option<String>,
    attempts: Vec<AttemptDoc>,
    usage: UsageDoc,
    elapsed_ms: u64,
    /// What the result and LLM-reply caches did (absent when nothing was cached).
    cache: Option<CacheDoc>,
    history_id: String,
    connection_id: String,
    session_id: Option<String>,
    message_id: Option<String>,
    /// With `explain`: what the LLM's prompt was given.
    knowledge: Option<KnowledgeDoc>,
}

/// `cache` of an answer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CacheDoc {
    /// `hit`: the rows came from the result cache (no query ran); `miss`: the query ran and its rows were kept.
    rows: Option<String>,
    /// When cached rows were read from the database (RFC 3339).
    rows_cached_at: Option<String>,
    /// LLM replies taken from the cache (costing no tokens), and asked for now.
    llm_hits: Option<u32>,
    llm_misses: Option<u32>,
}

/// What knowledge an answer's prompt was given (`explain`; empty lists for a template's or the built-in engine's
/// answer, which had no prompt).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct KnowledgeDoc {
    /// Tables shown.
    tables: Vec<String>,
    /// Cell values the question's words linked to: `{table, column, value, matched, kind, score}`.
    values: Vec<Object>,
    /// Business terms: `{item: {term, synonyms, definition, sql, table}, score, how}`.
    terms: Vec<Object>,
    /// Documentation chunks: `{item: {document, heading, ordinal, text}, score, how}`.
    chunks: Vec<Object>,
    /// Verified examples: `{item: {question, sql, origin}, score, how}`.
    examples: Vec<Object>,
}

/// A question that was refused or failed: the error, what was tried and what it cost, where it was recorded.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FailureDoc {
    error: crate::error::ErrorDetail,
    attempts: Vec<AttemptDoc>,
    usage: UsageDoc,
    elapsed_ms: u64,
    history_id: String,
    connection_id: String,
    session_id: Option<String>,
    message_id: Option<String>,
}

/// `Object` in the documented shapes: any JSON object.
type Object = serde_json::Map<String, serde_json::Value>;

/// Seconds until the next UTC hour: when an hourly token limit frees up at the earliest.
fn until_next_hour() -> u64 {
    let now = time::OffsetDateTime::now_utc();
    let into_hour = u64::from(now.minute()) * 60 + u64::from(now.second());
    3600 - into_hour.min(3599)
}

/// The per-user question rate, before anything else happens.
/// The questions-per-minute limit of the asker: none for an admin while `admins_exempt`; their tier's when billing
/// applies to them; else the `questions_per_minute_per_user` setting.
pub(crate) async fn check_rate(state: &AppState, auth: &Auth) -> ApiResult<()> {
    let runtime = state.runtime();
    let user = auth.user();
    let per_minute = if user.role == datagenie_store::model::Role::Admin && runtime.billing.admins_exempt {
        0
    } else {
        runtime.billing.tier_of(user).map_or(runtime.questions_per_minute_per_user, |t| t.questions_per_minute)
    };
    state.rates.check(&format!("questions:{}", auth.user().id), per_minute).await.map_err(|wait| {
        ApiError::new(ErrorCode::RateLimited, format!("you may ask {per_minute} questions a minute; wait a moment"))
            .retry_after(wait)
    })
}

/// The question's parameters; its rows are capped by the `max_query_rows` setting as well as by the request.
fn params(body: AskRequest, max_query_rows: usize) -> ApiResult<AskParams> {
    if body.max_rows == Some(0) {
        return Err(ApiError::bad_request("max_rows must be at least 1"));
    }
    Ok(AskParams {
        row_ceiling: None,
        connection: body.connection_id,
        question: body.question,
        session_id: body.session_id.filter(|s| !s.is_empty()),
        max_rows: Some(body.max_rows.map_or(max_query_rows, |n| n.min(max_query_rows))),
        kind: RequestKind::Question,
        history_id: None,
    })
}

/// Counts the question in the metrics.
pub(crate) fn observe(state: &AppState, asked: &Asked) {
    let m = &state.metrics;
    let in_force = state.questions.context.llm_in_force.model.clone().unwrap_or_else(|| "none".into());
    match &asked.outcome {
        Ok(answer) => {
            let (source, model) = match &answer.source {
                AnswerSource::Llm { model } => ("llm", model.clone()),
                AnswerSource::Template { .. } => ("template", in_force),
                AnswerSource::Builtin { .. } => ("builtin", in_force),
                AnswerSource::Sql => ("sql", in_force),
            };
            m.question(source, "answered");
            if let Some(outcome) = answer.cache.rows {
                m.cache("rows", outcome, 1);
            }
            m.cache("llm", "hit", u64::from(answer.cache.llm_hits));
            m.cache("llm", "miss", u64::from(answer.cache.llm_misses));
            if answer.usage.prompt_tokens + answer.usage.completion_tokens > 0 {
                m.llm_usage(&model, answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.cost_usd);
            }
            for a in &answer.attempts {
                if let Some(e) = a.error.as_ref().filter(|e| e.code.is_guard_refusal()) {
                    m.guard_refusal(e.code.as_str());
                }
            }
        }
        Err(f) => {
            let refused = f.error.code.kind() == datagenie_core::ErrorKind::Refused;
            let source = if f.usage.prompt_tokens + f.usage.completion_tokens > 0 { "llm" } else { "none" };
            m.question(source, if refused { "refused" } else { "failed" });
            if f.usage.prompt_tokens + f.usage.completion_tokens > 0 {
                m.llm_usage(&in_force, f.usage.prompt_tokens, f.usage.completion_tokens, f.usage.cost_usd);
            }
            let mut counted = false;
            for a in &f.attempts {
                if let Some(e) = a.error.as_ref().filter(|e| e.code.is_guard_refusal()) {
                    m.guard_refusal(e.code.as_str());
                    counted |= e.code == f.error.code;
                }
            }
            if !counted && f.error.code.is_guard_refusal() {
                m.guard_refusal(f.error.code.as_str());
            }
        }
    }
}

/// The body of an asked question: the answer (or the failure) and where it was recorded; `explain`: with the
/// knowledge its prompt was given.
fn body_of(asked: &Asked, explain: bool) -> (StatusCode, serde_json::Value) {
    let (status, mut body) = match &asked.outcome {
        Ok(answer) => {
            let json = if explain { answer.to_json_explained() } else { answer.to_json() };
            (StatusCode::OK, serde_json::to_value(json).unwrap_or_default())
        }
        Err(f) => {
            (StatusCode::from_u16(f.error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), f.to_json())
        }
    };
    if let Some(map) = body.as_object_mut() {
        map.insert("history_id".into(), asked.recorded.history_id.clone().into());
        map.insert("connection_id".into(), asked.connection_id.clone().into());
        map.insert("session_id".into(), asked.session_id.clone().into());
        map.insert("message_id".into(), asked.recorded.message_id.clone().into());
    }
    (status, body)
}

/// `Retry-After` on a question refused by a token limit: when the tightest used-up window frees again.
async fn retry_after(state: &AppState, auth: &Auth, asked: &Asked, response: &mut Response) {
    let Err(f) = &asked.outcome else { return };
    if f.error.code != ErrorCode::QuotaExceeded {
        return;
    }
    let user = auth.user();
    let wait = match datagenie_app::quota::budget_of(state.store.as_ref(), &user.id, &user.limits).await {
        Ok(Some(budget)) if budget.remaining <= 0 => budget.resets_in.as_secs().max(1),
        _ => until_next_hour(),
    };
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

fn wants_events(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.split(',').any(|t| t.trim().starts_with("text/event-stream")))
}

/// Asks a question. The answer as JSON (`datagenie ask --format json`'s object plus `history_id`, `session_id`,
/// `message_id`), or with `Accept: text/event-stream` as server-sent events.
#[utoipa::path(post, path = "/api/v1/ask", tag = "ask", request_body = AskRequest,
    responses(
        (status = 200, description = "the answer (JSON), or with Accept: text/event-stream the events source, attempt, rows, chart, summary, then answer or error",
         body = AnswerDoc),
        (status = 403, body = FailureDoc, description = "refused: the guard's code names the table or column"),
        (status = 422, body = FailureDoc, description = "not answered (the built-in engine did not understand, the SQL failed)"),
        (status = 502, body = FailureDoc, description = "the LLM failed"),
        (status = 429, body = crate::error::ErrorBody, description = "rate_limited or quota_exceeded, with Retry-After")))]
pub async fn ask(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    headers: HeaderMap,
    Json(body): Json<AskRequest>,
) -> ApiResult<Response> {
    check_rate(&state, &auth).await?;
    let explain = body.explain;
    let params = params(body, state.runtime().max_query_rows)?;
    if wants_events(&headers) {
        return Ok(stream(state, auth, params, explain).into_response());
    }
    // In its own task: a client that hangs up does not cut a question short; it is answered and recorded.
    let task = {
        let (state, caller) = (state.clone(), auth.caller.clone());
        tokio::spawn(async move { state.questions.ask(&caller, params, None).await })
    };
    let asked = task.await.map_err(|e| ApiError::new(ErrorCode::Internal, format!("the question stopped: {e}")))??;
    observe(&state, &asked);
    let (status, body) = body_of(&asked, explain);
    let mut response = (status, JsonOut(body)).into_response();
    retry_after(&state, &auth, &asked, &mut response).await;
    Ok(response)
}

fn event(name: &str, data: &serde_json::Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

/// The question runs in its own task: a client that goes away does not stop it (it is still answered and
/// recorded), and the events reach the stream as they happen.
fn stream(
    state: Arc<AppState>,
    auth: Auth,
    params: AskParams,
    explain: bool,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tx, mut progress) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let (done_tx, done) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let result = state.questions.ask(&auth.caller, params, Some(tx)).await;
        if let Ok(asked) = &result {
            observe(&state, asked);
        }
        let _ = done_tx.send(result);
    });
    let events = async_stream(async move |emit: Emitter| {
        while let Some(p) = progress.recv().await {
            let value = serde_json::to_value(&p).unwrap_or_default();
            let name = value.get("event").and_then(|e| e.as_str()).unwrap_or("progress").to_string();
            emit.send(event(&name, &value)).await;
        }
        match done.await {
            Ok(Ok(asked)) => {
                let (status, body) = body_of(&asked, explain);
                emit.send(event(if status.is_success() { "answer" } else { "error" }, &body)).await;
            }
            Ok(Err(e)) => {
                let body = serde_json::json!({"error": {"code": e.code.as_str(), "message": e.message}});
                emit.send(event("error", &body)).await;
            }
            Err(_) => {
                let body = serde_json::json!({"error": {"code": "internal", "message": "the question stopped"}});
                emit.send(event("error", &body)).await;
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// Sends events to a stream built by [`async_stream`].
struct Emitter(tokio::sync::mpsc::Sender<Event>);

impl Emitter {
    async fn send(&self, e: Event) {
        let _ = self.0.send(e).await;
    }
}

/// A stream fed by an async function.
fn async_stream<F, Fut>(f: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(Emitter) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(16);
    tokio::spawn(f(Emitter(tx)));
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) })
}
