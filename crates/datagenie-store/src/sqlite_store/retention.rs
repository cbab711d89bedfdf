//! Retention on SQLite (see [`crate::retention`]): one write of the writer thread, inside its IMMEDIATE transaction,
//! so another process on the file (a cron `datagenie system-db purge` beside the server) waits for the write lock
//! and then finds nothing left to remove. A dry run is a read: the same conditions, counted.

use rusqlite::{OptionalExtension, params};

use super::records::{self, AUDIT_COLUMNS, stored_row};
use super::sql::ms;
use super::{Db, Fail, R};
use crate::audit::{self, ChainHead, GENESIS};
use crate::model::*;
use crate::retention::{self, PurgeReport, RetentionPolicy};

/// The questions old enough to go (`?1`: the history's cutoff; NULL keeps them all): answers marked right stay.
const OLD_HISTORY: &str = "SELECT id FROM query_history WHERE created_at < ?1 AND verified_at IS NULL";

/// Counts the rows of `from` (`FROM table WHERE …`) and, unless `dry_run`, deletes them.
fn remove(tx: &Db, dry_run: bool, from: &str, args: impl rusqlite::Params + Copy) -> R<u64> {
    let n = if dry_run {
        tx.prepare_cached(&format!("SELECT count(*) {from}"))?.query_row(args, |r| r.get::<_, i64>(0))?
    } else {
        i64::try_from(tx.prepare_cached(&format!("DELETE {from}"))?.execute(args)?).unwrap_or(i64::MAX)
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) fn purge(tx: &Db, policy: RetentionPolicy, now: Timestamp, dry_run: bool) -> R<PurgeReport> {
    let now = ms(now);
    let history = policy.history_cutoff(now);
    let mut r = PurgeReport { dry_run, ..PurgeReport::default() };

    // jobs first: those whose answer goes are found through the history still there
    let jobs = format!(
        "FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled')
           AND (finished_at < ?2 OR history_id IN ({OLD_HISTORY}))"
    );
    r.jobs = remove(tx, dry_run, &jobs, params![history, policy.job_cutoff(now)])?;
    if history.is_some() {
        let questions = format!("FROM query_history WHERE id IN ({OLD_HISTORY})");
        let n: i64 = tx
            .prepare_cached(&format!("SELECT count(*) {questions}"))?
            .query_row(params![history], |row| row.get(0))?;
        if n > 0 && !dry_run {
            // the conversation keeps its text; its link to the question goes with the question
            tx.prepare_cached(&format!(
                "UPDATE chat_messages SET query_id = NULL WHERE query_id IS NOT NULL AND query_id IN ({OLD_HISTORY})"
            ))?
            .execute(params![history])?;
        }
        // analysis_results and query_results go with their question (ON DELETE CASCADE)
        r.history = if n > 0 { remove(tx, dry_run, &questions, params![history])? } else { 0 };
        r.events = remove(tx, dry_run, "FROM events WHERE created_at < ?1", params![history])?;
    }

    r.refresh_tokens = remove(
        tx,
        dry_run,
        "FROM refresh_tokens WHERE family_id IN (SELECT id FROM user_sessions WHERE expires_at <= ?1)",
        params![now],
    )?;
    r.sessions = remove(tx, dry_run, "FROM user_sessions WHERE expires_at <= ?1", params![now])?;
    r.counters = remove(tx, dry_run, "FROM rate_counters WHERE expires_at <= ?1", params![now])?;

    let anchor_hash = prune_audit(tx, policy, now, dry_run, &mut r)?;
    if !dry_run && r.records() > 0 {
        records::append_audit(tx, retention::prune_entry(policy, &r, &anchor_hash))?;
    }
    Ok(r)
}

/// Removes the chain's prefix older than the audit cutoff, after checking it, and moves the anchor first (the
/// trigger deletes audit rows only up to it). Sets the report's audit counts; returns the anchor's hash after it.
fn prune_audit(tx: &Db, policy: RetentionPolicy, now: Timestamp, dry_run: bool, r: &mut PurgeReport) -> R<String> {
    let anchor = records::anchor(tx)?.map(|a| ChainHead { seq: a.seq, hash: a.hash });
    let (from, from_hash) = anchor.as_ref().map_or((0, GENESIS.to_string()), |a| (a.seq, a.hash.clone()));
    r.audit_anchor = from;
    let Some(head) = records::head(tx)? else {
        return Err(Fail::App(datagenie_core::Error::new(
            datagenie_core::ErrorCode::SystemDatabase,
            "the audit chain's head record is missing: the audit log was tampered with (datagenie_store::audit)",
        )));
    };
    let cutoff = policy.audit_cutoff(now);
    let first_recent: Option<i64> = tx
        .prepare_cached("SELECT min(seq) FROM audit_logs WHERE seq > ?1 AND created_at >= ?2")?
        .query_row(params![from, cutoff], |row| row.get(0))?;
    let Some(target) = retention::audit_target(from, head.seq, first_recent, cutoff) else {
        return Ok(from_hash);
    };
    let checked = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_logs WHERE seq > ?1 AND seq <= ?2 + 1 ORDER BY seq"
        ))?;
        let rows = stmt.query_map(params![from, target], stored_row)?;
        audit::verify_prefix(rows, anchor.as_ref(), target, &head)?
    };
    if let Err(b) = checked {
        return Err(Fail::App(retention::broken_chain(&b)));
    }
    let hash: String = tx
        .prepare_cached("SELECT hash FROM audit_logs WHERE seq = ?1")?
        .query_row([target], |row| row.get(0))
        .optional()?
        .unwrap_or_default();
    r.audit_anchor = target;
    if dry_run {
        r.audit_rows = u64::try_from(target - from).unwrap_or(0);
        return Ok(hash);
    }
    let at = crate::common::now();
    if anchor.is_some() {
        tx.prepare_cached("UPDATE audit_anchor SET seq = ?1, hash = ?2, pruned_at = ?3 WHERE id = 1")?
            .execute(params![target, hash, at])?;
    } else {
        tx.prepare_cached("INSERT INTO audit_anchor (id, seq, hash, pruned_at) VALUES (1, ?1, ?2, ?3)")?
            .execute(params![target, hash, at])?;
    }
    let n = tx.prepare_cached("DELETE FROM audit_logs WHERE seq > ?1 AND seq <= ?2")?.execute(params![from, target])?;
    r.audit_rows = u64::try_from(n).unwrap_or(0);
    Ok(hash)
}
