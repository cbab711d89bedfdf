//! The priority job queue (seed 004): `POST /api/v1/jobs` queues a question, `GET /api/v1/jobs/{id}` shows where it
//! is, `DELETE` cancels it; the answer lands in the history under the job's id. Workers on every server (`worker`)
//! take jobs by priority — the asker's tier's `queue_priority` when billing applies, else first come first served —
//! under a lease they renew; a job whose server died is taken by another once its lease runs out.
//!
//! A long export is a job with `export_rows`: its question is asked with that row cap instead of the interactive
//! one (`ask.max_rows`; at most the `max_export_rows` setting, and the asker's grant still bounds it), and its rows
//! are kept as CSV with the job's outcome: `GET /api/v1/jobs/{id}/output.csv` once it succeeded.

use std::sync::Arc;
use std::time::Duration;

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use datagenie_app::ask::RequestKind;
use datagenie_app::service::{AskParams, Caller};
use datagenie_core::{Error, ErrorCode};
use datagenie_store::model::{Channel, Job, JobOutcome, JobOutput, JobStatus, NewJob, Timestamp};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::audit::{Audit, audit};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

/// Times a job is taken in all before it fails (a server dying under it twice more).
const MAX_ATTEMPTS: i32 = 3;

/// A question to queue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// The connection's id or name.
    pub connection_id: String,
    pub question: String,
    /// A long export: keep up to this many rows, as CSV (at most the `max_export_rows` setting).
    #[serde(default)]
    pub export_rows: Option<i64>,
}

/// The `max_export_rows` setting (100,000 when missing or unreadable).
async fn max_export_rows(state: &AppState) -> ApiResult<i64> {
    let setting = state.store.setting("max_export_rows").await?;
    Ok(setting.and_then(|s| s.value.as_i64()).filter(|n| *n >= 1).unwrap_or(100_000))
}

/// Queues a question; a worker of any server answers it. `202` with the job.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", request_body = JobRequest,
    responses((status = 202, body = Job), (status = 429, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Json(body): Json<JobRequest>,
) -> ApiResult<(StatusCode, JsonOut<Job>)> {
    datagenie_core::Question::parse(&body.question)?;
    if body.connection_id.trim().is_empty() || body.connection_id.len() > 200 {
        return Err(ApiError::bad_request("connection_id names a connection"));
    }
    if let Some(n) = body.export_rows {
        let most = max_export_rows(&state).await?;
        if !(1..=most).contains(&n) {
            return Err(ApiError::bad_request(format!(
                "export_rows is a whole number from 1 to {most} (the max_export_rows setting)"
            )));
        }
    }
    crate::routes::ask::check_rate(&state, &auth).await?;
    let user = auth.user();
    let billing = state.questions.billing();
    let priority = billing.tier_of(user).map_or(0, |t| t.queue_priority);
    let c = &auth.caller;
    let caller = serde_json::json!({
        "ip_address": c.ip_address,
        "user_agent": c.user_agent,
        "request_id": c.request_id,
        "api_key_id": c.api_key_id,
    });
    let job = state
        .store
        .create_job(NewJob {
            user_id: user.id.clone(),
            connection: body.connection_id.trim().to_string(),
            question: body.question,
            tier: user.tier.clone(),
            priority,
            max_attempts: MAX_ATTEMPTS,
            caller,
            export_rows: body.export_rows,
        })
        .await?;
    state.jobs_ready.notify_one();
    Ok((StatusCode::ACCEPTED, JsonOut(job)))
}

async fn visible(state: &AppState, auth: &Auth, id: &str) -> ApiResult<Job> {
    match state.store.job(id).await? {
        Some(job) if auth.is_admin() || job.user_id == auth.user().id => Ok(job),
        _ => Err(ApiError::new(ErrorCode::NotFound, format!("no job '{id}'"))),
    }
}

/// A job: its status, progress and, once answered, its history entry (`history_id`).
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = Job), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(State(state): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<JsonOut<Job>> {
    Ok(JsonOut(visible(&state, &auth, &id).await?))
}

/// Cancels a job that has not ended (a running one stops at its worker's next lease renewal).
#[utoipa::path(delete, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = Job), (status = 400, body = crate::error::ErrorBody)))]
pub async fn cancel(State(state): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<JsonOut<Job>> {
    let job = visible(&state, &auth, &id).await?;
    let cancelled = state.store.cancel_job(&job.id, None).await?;
    audit(&state, Audit::new("job.cancel", "job").caller(&auth).resource(&job.id)).await?;
    Ok(JsonOut(cancelled))
}

/// Starts this server's workers (`server.job_workers`); they stop with the returned handles.
pub fn spawn_workers(state: &Arc<AppState>) -> Vec<tokio::task::JoinHandle<()>> {
    let instance = datagenie_store::model::new_id();
    (0..state.server.job_workers)
        .map(|n| {
            let state = state.clone();
            let owner = format!("{instance}/{n}");
            tokio::spawn(async move { work(state, owner).await })
        })
        .collect()
}

/// How long an idle worker waits before looking again (a job queued on this server wakes it at once).
const IDLE: Duration = Duration::from_millis(500);

async fn work(state: Arc<AppState>, owner: String) {
    let lease = Duration::from_secs(state.server.job_lease_secs.max(1));
    loop {
        let now = Timestamp::now();
        match state.store.claim_job(&owner, now.plus(time_of(lease)), now).await {
            Ok(Some(job)) => run(&state, &owner, job, lease).await,
            Ok(None) => {
                let _ = tokio::time::timeout(IDLE, state.jobs_ready.notified()).await;
            }
            Err(e) => {
                tracing::warn!(code = %e.code, error = %e.message, "cannot take a job");
                tokio::time::sleep(IDLE).await;
            }
        }
    }
}

fn time_of(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MINUTE)
}

/// Runs one job: the question through the one pipeline as its asker, the lease renewed meanwhile; stops when the
/// job is cancelled or taken by another worker.
async fn run(state: &Arc<AppState>, owner: &str, job: Job, lease: Duration) {
    tracing::info!(job = %job.id, attempt = job.attempts, "job taken");
    let ask = ask(state, &job);
    tokio::pin!(ask);
    let mut renew = tokio::time::interval(lease / 3);
    renew.tick().await;
    let outcome = loop {
        tokio::select! {
            outcome = &mut ask => break Some(outcome),
            _ = renew.tick() => {
                let until = Timestamp::now().plus(time_of(lease));
                let progress = serde_json::json!({"stage": "answering"});
                match state.store.renew_job(&job.id, owner, until, Some(progress)).await {
                    Ok(true) => {}
                    Ok(false) => break None,
                    Err(e) => tracing::warn!(code = %e.code, error = %e.message, "cannot renew a job's lease"),
                }
            }
        }
    };
    let Some(outcome) = outcome else {
        tracing::info!(job = %job.id, "job cancelled or taken elsewhere: stopped");
        return;
    };
    let outcome = match outcome {
        Ok(Done { history_id, failure: None, output }) => JobOutcome {
            status: JobStatus::Succeeded,
            history_id: Some(history_id),
            error_code: None,
            error_message: None,
            output,
        },
        Ok(Done { history_id, failure: Some(e), .. }) => JobOutcome {
            status: JobStatus::Failed,
            history_id: Some(history_id),
            error_code: Some(e.code.as_str().to_string()),
            error_message: Some(e.message),
            output: None,
        },
        // an earlier attempt recorded the answer and died before saying so: the question is answered (an export is
        // asked again under a new id instead: its rows were not kept)
        Err(e) if e.code == ErrorCode::AlreadyExists => JobOutcome {
            status: JobStatus::Succeeded,
            history_id: Some(job.id.clone()),
            error_code: None,
            error_message: None,
            output: None,
        },
        Err(e) => JobOutcome {
            status: JobStatus::Failed,
            history_id: None,
            error_code: Some(e.code.as_str().to_string()),
            error_message: Some(e.message),
            output: None,
        },
    };
    match state.store.finish_job(&job.id, owner, outcome).await {
        Ok(true) => tracing::info!(job = %job.id, "job done"),
        Ok(false) => tracing::info!(job = %job.id, "job ended elsewhere"),
        Err(e) => tracing::warn!(code = %e.code, error = %e.message, "cannot finish a job"),
    }
}

/// What a job's question came to: its history row, its failure when it was not answered, an export's CSV.
struct Done {
    history_id: String,
    failure: Option<Error>,
    output: Option<JobOutput>,
}

/// The job's question asked as its asker (an export with its row cap).
async fn ask(state: &AppState, job: &Job) -> Result<Done, Error> {
    let user = state
        .store
        .user(&job.user_id)
        .await?
        .filter(|u| u.active)
        .ok_or_else(|| Error::new(ErrorCode::Unauthenticated, "the job's asker no longer exists or is disabled"))?;
    let text = |k: &str| job.caller.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let caller = Caller {
        user,
        ip_address: text("ip_address"),
        user_agent: text("user_agent"),
        request_id: text("request_id"),
        api_key_id: text("api_key_id"),
        channel: Channel::Http,
    };
    let export = job.export_rows.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let params = |history_id| AskParams {
        row_ceiling: export,
        connection: job.connection.clone(),
        question: job.question.clone(),
        session_id: None,
        max_rows: export,
        kind: RequestKind::Question,
        history_id,
    };
    let asked = match state.questions.ask(&caller, params(Some(job.id.clone())), None).await {
        // an export's earlier attempt was recorded but its rows were lost with its server: asked again
        Err(e) if e.code == ErrorCode::AlreadyExists && export.is_some() => {
            state.questions.ask(&caller, params(None), None).await?
        }
        other => other?,
    };
    crate::routes::ask::observe(state, &asked);
    let output = match (&asked.outcome, export) {
        (Ok(answer), Some(_)) => Some(csv_of(answer)?),
        _ => None,
    };
    Ok(Done { history_id: asked.recorded.history_id, failure: asked.outcome.err().map(|f| f.error), output })
}

/// An answer's rows as CSV: a header of the column names, then one line per row (cells as the history's CSV writes
/// them: null empty, text as is, numbers as JSON writes them).
fn csv_of(answer: &datagenie_app::ask::Answer) -> Result<JobOutput, Error> {
    let failed = |e: csv::Error| Error::new(ErrorCode::OutputFailed, format!("cannot write the export: {e}"));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(answer.columns.iter().map(|c| c.name.as_str())).map_err(failed)?;
    for row in &answer.rows {
        out.write_record(row.iter().map(|v| crate::routes::history::cell(&v.to_json()))).map_err(failed)?;
    }
    let content =
        out.into_inner().map_err(|e| Error::new(ErrorCode::OutputFailed, format!("cannot write the export: {e}")))?;
    Ok(JobOutput {
        content,
        rows: i64::try_from(answer.rows.len()).unwrap_or(i64::MAX),
        truncated: answer.truncated,
        created_at: Timestamp::now(),
    })
}

/// A long export's rows as CSV, once the job succeeded.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/output.csv", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn output(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let job = visible(&state, &auth, &id).await?;
    if job.export_rows.is_none() {
        return Err(ApiError::new(ErrorCode::NotFound, format!("job '{id}' is a question, not an export")));
    }
    if !job.status.is_final() {
        return Err(ApiError::bad_request(format!(
            "the export is {}: its output is ready once it succeeded",
            job.status.as_str()
        )));
    }
    let out = state.store.job_output(&job.id).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::NotFound, format!("the export {} and kept no rows", job.status.as_str()))
    })?;
    let headers = [
        (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
        (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"datagenie-export-{}.csv\"", job.id)),
        (axum::http::HeaderName::from_static("x-datagenie-rows"), out.rows.to_string()),
        (axum::http::HeaderName::from_static("x-datagenie-truncated"), out.truncated.to_string()),
    ];
    Ok((headers, out.content).into_response())
}
