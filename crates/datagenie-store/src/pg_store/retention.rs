//! Retention on PostgreSQL (see [`crate::retention`]): one transaction under a transaction-scoped advisory lock, so
//! that the runs of several servers (and of a cron `datagenie system-db purge`) take turns — the second finds nothing
//! left to remove. The audit part locks the chain's head (`FOR UPDATE`) before it reads where the chain stands, as an
//! append does: appends wait for the run, and the run's own `audit.prune` row follows the rows it kept. A dry run is
//! a read-only transaction: the same conditions, counted.

use tokio_postgres::types::ToSql;

use super::records::{self, AUDIT_COLUMNS, head_of};
use super::sql::{execute, ms, query_one, query_opt};
use super::{Fail, R, Tx};
use crate::audit::{self, ChainHead, GENESIS};
use crate::model::*;
use crate::retention::{self, PurgeReport, RetentionPolicy};

/// A 64-bit key for the advisory lock retention runs hold ("dgpurge" in ASCII, as a number).
const PURGE_LOCK: i64 = 0x0064_6770_7572_6765;

/// The questions old enough to go (`$1`: the history's cutoff; NULL keeps them all): answers marked right stay.
const OLD_HISTORY: &str = "SELECT id FROM query_history WHERE created_at < $1 AND verified_at IS NULL";

/// Counts the rows of `from` (`FROM table WHERE …`) and, unless `dry_run`, deletes them.
async fn remove(tx: &Tx<'_>, dry_run: bool, from: &str, args: &[&(dyn ToSql + Sync)]) -> R<u64> {
    if dry_run {
        let n: i64 = query_one(tx, &format!("SELECT count(*) {from}"), args).await?.try_get(0)?;
        return Ok(u64::try_from(n).unwrap_or(0));
    }
    execute(tx, &format!("DELETE {from}"), args).await
}

pub(super) async fn purge(tx: &Tx<'_>, policy: RetentionPolicy, now: Timestamp, dry_run: bool) -> R<PurgeReport> {
    if !dry_run {
        execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&PURGE_LOCK]).await?;
    }
    let now = ms(now);
    let history = policy.history_cutoff(now);
    let mut r = PurgeReport { dry_run, ..PurgeReport::default() };

    // jobs first: those whose answer goes are found through the history still there
    let jobs = format!(
        "FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled')
           AND (finished_at < $2 OR history_id IN ({OLD_HISTORY}))"
    );
    r.jobs = remove(tx, dry_run, &jobs, &[&history, &policy.job_cutoff(now)]).await?;
    if history.is_some() {
        let questions = format!("FROM query_history WHERE id IN ({OLD_HISTORY})");
        let n: i64 = query_one(tx, &format!("SELECT count(*) {questions}"), &[&history]).await?.try_get(0)?;
        if n > 0 && !dry_run {
            // the conversation keeps its text; its link to the question goes with the question
            execute(
                tx,
                &format!(
                    "UPDATE chat_messages SET query_id = NULL
                     WHERE query_id IS NOT NULL AND query_id IN ({OLD_HISTORY})"
                ),
                &[&history],
            )
            .await?;
        }
        // analysis_results and query_results go with their question (ON DELETE CASCADE)
        r.history = if n > 0 { remove(tx, dry_run, &questions, &[&history]).await? } else { 0 };
        r.events = remove(tx, dry_run, "FROM events WHERE created_at < $1", &[&history]).await?;
    }

    r.refresh_tokens = remove(
        tx,
        dry_run,
        "FROM refresh_tokens WHERE family_id IN (SELECT id FROM user_sessions WHERE expires_at <= $1)",
        &[&now],
    )
    .await?;
    r.sessions = remove(tx, dry_run, "FROM user_sessions WHERE expires_at <= $1", &[&now]).await?;
    r.counters = remove(tx, dry_run, "FROM rate_counters WHERE expires_at <= $1", &[&now]).await?;

    let anchor_hash = prune_audit(tx, policy, now, dry_run, &mut r).await?;
    if !dry_run && r.records() > 0 {
        records::append_audit(tx, retention::prune_entry(policy, &r, &anchor_hash)).await?;
    }
    Ok(r)
}

/// Removes the chain's prefix older than the audit cutoff, after checking it, and moves the anchor first (the
/// trigger deletes audit rows only up to it). Sets the report's audit counts; returns the anchor's hash after it.
async fn prune_audit(
    tx: &Tx<'_>,
    policy: RetentionPolicy,
    now: Timestamp,
    dry_run: bool,
    r: &mut PurgeReport,
) -> R<String> {
    let lock = if dry_run { "" } else { " FOR UPDATE" };
    let head = query_opt(tx, &format!("SELECT seq, hash FROM audit_chain_head WHERE id = 1{lock}"), &[]).await?;
    let Some(head) = head.as_ref().map(head_of).transpose()? else {
        return Err(Fail::App(datagenie_core::Error::new(
            datagenie_core::ErrorCode::SystemDatabase,
            "the audit chain's head record is missing: the audit log was tampered with (datagenie_store::audit)",
        )));
    };
    let anchor = records::anchor(tx).await?.map(|a| ChainHead { seq: a.seq, hash: a.hash });
    let (from, from_hash) = anchor.as_ref().map_or((0, GENESIS.to_string()), |a| (a.seq, a.hash.clone()));
    r.audit_anchor = from;
    let cutoff = policy.audit_cutoff(now);
    let first_recent: Option<i64> =
        query_one(tx, "SELECT min(seq) FROM audit_logs WHERE seq > $1 AND created_at >= $2", &[&from, &cutoff])
            .await?
            .try_get(0)?;
    let Some(target) = retention::audit_target(from, head.seq, first_recent, cutoff) else {
        return Ok(from_hash);
    };
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_logs WHERE seq > $1 AND seq <= $2::bigint + 1 ORDER BY seq");
    let (walk_anchor, walk_head) = (anchor.clone(), head.clone());
    let checked = records::walk_rows(tx, &sql, &[&from, &target], move |rows| {
        audit::verify_prefix(rows, walk_anchor.as_ref(), target, &walk_head)
    })
    .await??;
    if let Err(b) = checked {
        return Err(Fail::App(retention::broken_chain(&b)));
    }
    let hash: String = query_one(tx, "SELECT hash FROM audit_logs WHERE seq = $1", &[&target]).await?.try_get(0)?;
    r.audit_anchor = target;
    if dry_run {
        r.audit_rows = u64::try_from(target - from).unwrap_or(0);
        return Ok(hash);
    }
    let at = crate::common::now();
    if anchor.is_some() {
        execute(tx, "UPDATE audit_anchor SET seq = $1, hash = $2, pruned_at = $3 WHERE id = 1", &[&target, &hash, &at])
            .await?;
    } else {
        execute(
            tx,
            "INSERT INTO audit_anchor (id, seq, hash, pruned_at) VALUES (1, $1, $2, $3)",
            &[&target, &hash, &at],
        )
        .await?;
    }
    r.audit_rows = execute(tx, "DELETE FROM audit_logs WHERE seq > $1 AND seq <= $2", &[&from, &target]).await?;
    Ok(hash)
}
