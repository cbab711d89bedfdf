//! The job queue on PostgreSQL: workers of every server take jobs with `FOR UPDATE SKIP LOCKED` — two never take
//! one job, and neither waits for the other's.

use tokio_postgres::Row;

use super::sql::{execute, json, json_opt, now, query_opt};
use super::{R, Tx, invalid, not_found};
use crate::model::*;

const JOB_COLUMNS: &str = "id, user_id, connection, question, tier, priority, status, attempts, max_attempts, \
     progress, lease_owner, lease_expires_at, history_id, error_code, error_message, caller, created_at, started_at, \
     finished_at, updated_at, export_rows";

fn job_row(r: &Row) -> R<Job> {
    Ok(Job {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        connection: r.try_get(2)?,
        question: r.try_get(3)?,
        tier: r.try_get(4)?,
        priority: r.try_get(5)?,
        status: r.try_get(6)?,
        attempts: r.try_get(7)?,
        max_attempts: r.try_get(8)?,
        progress: json_opt(r, 9)?,
        lease_owner: r.try_get(10)?,
        lease_expires_at: r.try_get(11)?,
        history_id: r.try_get(12)?,
        error_code: r.try_get(13)?,
        error_message: r.try_get(14)?,
        caller: json(r, 15)?,
        created_at: r.try_get(16)?,
        started_at: r.try_get(17)?,
        finished_at: r.try_get(18)?,
        updated_at: r.try_get(19)?,
        export_rows: r.try_get(20)?,
    })
}

pub(super) async fn create(tx: &Tx<'_>, new: &NewJob) -> R<Job> {
    if new.question.trim().is_empty() {
        return Err(invalid("a job needs a question"));
    }
    if new.export_rows.is_some_and(|n| n < 1) {
        return Err(invalid("an export keeps at least 1 row"));
    }
    let (id, at) = (new_id(), now());
    let max = new.max_attempts.max(1);
    let row = query_opt(
        tx,
        &format!(
            "INSERT INTO jobs (id, user_id, connection, question, tier, priority, status, attempts, max_attempts,
                 caller, created_at, updated_at, export_rows)
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8, $9, $9, $10)
             RETURNING {JOB_COLUMNS}"
        ),
        &[
            &id,
            &new.user_id,
            &new.connection,
            &new.question,
            &new.tier,
            &new.priority,
            &max,
            &new.caller,
            &at,
            &new.export_rows,
        ],
    )
    .await?;
    row.as_ref().map(job_row).transpose()?.ok_or_else(|| not_found("the job just queued is missing"))
}

pub(super) async fn get(tx: &Tx<'_>, id: &str) -> R<Option<Job>> {
    let row = query_opt(tx, &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"), &[&id]).await?;
    row.as_ref().map(job_row).transpose()
}

pub(super) async fn claim(tx: &Tx<'_>, owner: &str, lease_until: Timestamp, at: Timestamp) -> R<Option<Job>> {
    execute(
        tx,
        "UPDATE jobs SET status = 'failed', error_code = 'lease_expired',
             error_message = 'its worker stopped answering, and it has no attempts left', finished_at = $1,
             updated_at = $1, lease_owner = NULL, lease_expires_at = NULL
         WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < $1
                      AND attempts >= max_attempts FOR UPDATE SKIP LOCKED)",
        &[&at],
    )
    .await?;
    let row = query_opt(
        tx,
        &format!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1,
                 started_at = coalesce(started_at, $3), updated_at = $3
             WHERE id = (SELECT id FROM jobs
                         WHERE status IN ('queued', 'running') AND (status = 'queued' OR lease_expires_at < $3)
                           AND attempts < max_attempts
                         ORDER BY priority DESC, seq LIMIT 1
                         FOR UPDATE SKIP LOCKED)
             RETURNING {JOB_COLUMNS}"
        ),
        &[&owner, &lease_until, &at],
    )
    .await?;
    row.as_ref().map(job_row).transpose()
}

pub(super) async fn renew(
    tx: &Tx<'_>,
    id: &str,
    owner: &str,
    lease_until: Timestamp,
    progress: Option<&serde_json::Value>,
) -> R<bool> {
    let n = execute(
        tx,
        "UPDATE jobs SET lease_expires_at = $3, progress = coalesce($4, progress), updated_at = $5
         WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
        &[&id, &owner, &lease_until, &progress, &now()],
    )
    .await?;
    Ok(n == 1)
}

pub(super) async fn finish(tx: &Tx<'_>, id: &str, owner: &str, outcome: &JobOutcome) -> R<bool> {
    if !outcome.status.is_final() || outcome.status == JobStatus::Cancelled {
        return Err(invalid("a job ends succeeded or failed"));
    }
    let n = execute(
        tx,
        "UPDATE jobs SET status = $3, history_id = $4, error_code = $5, error_message = $6, finished_at = $7,
             updated_at = $7, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
        &[&id, &owner, &outcome.status, &outcome.history_id, &outcome.error_code, &outcome.error_message, &now()],
    )
    .await?;
    if n == 1
        && let Some(out) = &outcome.output
    {
        execute(
            tx,
            "INSERT INTO job_outputs (job_id, content, rows, truncated, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&id, &out.content, &out.rows, &out.truncated, &out.created_at],
        )
        .await?;
    }
    Ok(n == 1)
}

pub(super) async fn output(tx: &Tx<'_>, id: &str) -> R<Option<JobOutput>> {
    let row =
        query_opt(tx, "SELECT content, rows, truncated, created_at FROM job_outputs WHERE job_id = $1", &[&id]).await?;
    row.map(|r| {
        Ok(JobOutput {
            content: r.try_get(0)?,
            rows: r.try_get(1)?,
            truncated: r.try_get(2)?,
            created_at: r.try_get(3)?,
        })
    })
    .transpose()
}

pub(super) async fn cancel(tx: &Tx<'_>, id: &str, user_id: Option<&str>) -> R<Job> {
    let row = query_opt(tx, &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE"), &[&id]).await?;
    let job = row.as_ref().map(job_row).transpose()?.filter(|j| user_id.is_none_or(|u| u == j.user_id));
    let job = job.ok_or_else(|| not_found(format!("no job with the id '{id}'")))?;
    if job.status.is_final() {
        return Err(invalid(format!("the job has already ended ({})", job.status.as_str())));
    }
    let at = now();
    execute(tx, "UPDATE jobs SET status = 'cancelled', finished_at = $2, updated_at = $2 WHERE id = $1", &[&id, &at])
        .await?;
    get(tx, id).await?.ok_or_else(|| not_found(format!("no job with the id '{id}'")))
}
