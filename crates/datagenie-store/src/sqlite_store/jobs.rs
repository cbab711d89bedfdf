//! The job queue on SQLite: one writer, so taking a job is a plain read-then-update inside the writer's
//! transaction (one server: SQLite's queue is not shared).

use rusqlite::{OptionalExtension, Row, params};

use super::sql::{Json, json, json_opt, now};
use super::{Db, R, invalid, not_found};
use crate::model::*;

const JOB_COLUMNS: &str = "id, user_id, connection, question, tier, priority, status, attempts, max_attempts, \
     progress, lease_owner, lease_expires_at, history_id, error_code, error_message, caller, created_at, started_at, \
     finished_at, updated_at, export_rows";

fn job_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        user_id: r.get(1)?,
        connection: r.get(2)?,
        question: r.get(3)?,
        tier: r.get(4)?,
        priority: r.get(5)?,
        status: r.get(6)?,
        attempts: r.get(7)?,
        max_attempts: r.get(8)?,
        progress: json_opt(r, 9)?,
        lease_owner: r.get(10)?,
        lease_expires_at: r.get(11)?,
        history_id: r.get(12)?,
        error_code: r.get(13)?,
        error_message: r.get(14)?,
        caller: json(r, 15)?,
        created_at: r.get(16)?,
        started_at: r.get(17)?,
        finished_at: r.get(18)?,
        updated_at: r.get(19)?,
        export_rows: r.get(20)?,
    })
}

pub(super) fn create(tx: &Db, new: NewJob) -> R<Job> {
    if new.question.trim().is_empty() {
        return Err(invalid("a job needs a question"));
    }
    if new.export_rows.is_some_and(|n| n < 1) {
        return Err(invalid("an export keeps at least 1 row"));
    }
    let (id, at) = (new_id(), now());
    tx.prepare_cached(
        "INSERT INTO jobs (id, user_id, connection, question, tier, priority, status, attempts, max_attempts, caller,
             created_at, updated_at, export_rows)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', 0, ?7, ?8, ?9, ?9, ?10)",
    )?
    .execute(params![
        id,
        new.user_id,
        new.connection,
        new.question,
        new.tier,
        new.priority,
        new.max_attempts.max(1),
        Json(&new.caller),
        at,
        new.export_rows
    ])?;
    get(tx, &id)?.ok_or_else(|| not_found("the job just queued is missing"))
}

pub(super) fn get(tx: &Db, id: &str) -> R<Option<Job>> {
    Ok(tx
        .prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"))?
        .query_row([id], job_row)
        .optional()?)
}

pub(super) fn claim(tx: &Db, owner: &str, lease_until: Timestamp, at: Timestamp) -> R<Option<Job>> {
    tx.prepare_cached(
        "UPDATE jobs SET status = 'failed', error_code = 'lease_expired',
             error_message = 'its worker stopped answering, and it has no attempts left', finished_at = ?1,
             updated_at = ?1, lease_owner = NULL, lease_expires_at = NULL
         WHERE status = 'running' AND lease_expires_at < ?1 AND attempts >= max_attempts",
    )?
    .execute([at])?;
    let next: Option<String> = tx
        .prepare_cached(
            "SELECT id FROM jobs
             WHERE (status = 'queued' OR (status = 'running' AND lease_expires_at < ?1)) AND attempts < max_attempts
             ORDER BY priority DESC, rowid LIMIT 1",
        )?
        .query_row([at], |r| r.get(0))
        .optional()?;
    let Some(id) = next else { return Ok(None) };
    tx.prepare_cached(
        "UPDATE jobs SET status = 'running', lease_owner = ?2, lease_expires_at = ?3, attempts = attempts + 1,
             started_at = coalesce(started_at, ?4), updated_at = ?4
         WHERE id = ?1",
    )?
    .execute(params![id, owner, lease_until, at])?;
    get(tx, &id)
}

pub(super) fn renew(
    tx: &Db,
    id: &str,
    owner: &str,
    lease_until: Timestamp,
    progress: Option<serde_json::Value>,
) -> R<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE jobs SET lease_expires_at = ?3, progress = coalesce(?4, progress), updated_at = ?5
             WHERE id = ?1 AND lease_owner = ?2 AND status = 'running'",
        )?
        .execute(params![id, owner, lease_until, progress.map(Json), now()])?;
    Ok(n == 1)
}

pub(super) fn finish(tx: &Db, id: &str, owner: &str, outcome: JobOutcome) -> R<bool> {
    if !outcome.status.is_final() || outcome.status == JobStatus::Cancelled {
        return Err(invalid("a job ends succeeded or failed"));
    }
    let n = tx
        .prepare_cached(
            "UPDATE jobs SET status = ?3, history_id = ?4, error_code = ?5, error_message = ?6, finished_at = ?7,
                 updated_at = ?7, lease_owner = NULL, lease_expires_at = NULL
             WHERE id = ?1 AND lease_owner = ?2 AND status = 'running'",
        )?
        .execute(params![
            id,
            owner,
            outcome.status,
            outcome.history_id,
            outcome.error_code,
            outcome.error_message,
            now()
        ])?;
    if n == 1
        && let Some(out) = &outcome.output
    {
        tx.prepare_cached(
            "INSERT INTO job_outputs (job_id, content, rows, truncated, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![id, out.content, out.rows, out.truncated, out.created_at])?;
    }
    Ok(n == 1)
}

pub(super) fn output(tx: &Db, id: &str) -> R<Option<JobOutput>> {
    let found = tx
        .prepare_cached("SELECT content, rows, truncated, created_at FROM job_outputs WHERE job_id = ?1")?
        .query_row([id], |r| {
            Ok(JobOutput { content: r.get(0)?, rows: r.get(1)?, truncated: r.get(2)?, created_at: r.get(3)? })
        })
        .optional()?;
    Ok(found)
}

pub(super) fn cancel(tx: &Db, id: &str, user_id: Option<&str>) -> R<Job> {
    let job = get(tx, id)?.filter(|j| user_id.is_none_or(|u| u == j.user_id));
    let job = job.ok_or_else(|| not_found(format!("no job with the id '{id}'")))?;
    if job.status.is_final() {
        return Err(invalid(format!("the job has already ended ({})", job.status.as_str())));
    }
    let at = now();
    tx.prepare_cached("UPDATE jobs SET status = 'cancelled', finished_at = ?2, updated_at = ?2 WHERE id = ?1")?
        .execute(params![id, at])?;
    get(tx, id)?.ok_or_else(|| not_found(format!("no job with the id '{id}'")))
}
