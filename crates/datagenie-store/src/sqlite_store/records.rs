//! Settings, the audit log (a hash chain, see [`crate::audit`]) and events.

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use super::sql::{Json, json, json_opt, now, page_of, to_i64};
use super::{Db, R, invalid, not_found};
use crate::audit::{self, ChainHead, StoredAuditRow};
use crate::model::*;
use crate::page;

const SETTING_COLUMNS: &str = "key, value, description, category, is_sensitive, updated_by, updated_at";

fn setting_row(r: &Row<'_>) -> rusqlite::Result<Setting> {
    Ok(Setting {
        key: r.get(0)?,
        value: json(r, 1)?,
        description: r.get(2)?,
        category: r.get(3)?,
        sensitive: r.get(4)?,
        updated_by: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

/// By category, then key.
pub(super) fn settings(tx: &Db) -> R<Vec<Setting>> {
    let sql = format!("SELECT {SETTING_COLUMNS} FROM system_settings ORDER BY category, key");
    Ok(tx.prepare_cached(&sql)?.query_map([], setting_row)?.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(super) fn setting(tx: &Db, key: &str) -> R<Option<Setting>> {
    let sql = format!("SELECT {SETTING_COLUMNS} FROM system_settings WHERE key = ?1");
    Ok(tx.prepare_cached(&sql)?.query_row([key], setting_row).optional()?)
}

/// Only the keys the migrations seeded exist; another is `not_found`.
pub(super) fn set_setting(tx: &Db, key: &str, value: serde_json::Value, by: Option<&str>) -> R<Setting> {
    let sql = format!(
        "UPDATE system_settings SET value = ?2, updated_by = ?3, updated_at = ?4 WHERE key = ?1
         RETURNING {SETTING_COLUMNS}"
    );
    tx.prepare_cached(&sql)?
        .query_row(params![key, Json(&value), by, now()], setting_row)
        .optional()?
        .ok_or_else(|| not_found(format!("'{key}' is not a setting")))
}

// --- audit

pub(super) const AUDIT_COLUMNS: &str = "seq, id, user_id, action, resource_type, resource_id, old_values, new_values, \
                             ip_address, user_agent, request_id, result, reason, created_at, prev_hash, hash";

fn audit_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get(0)?,
        id: r.get(1)?,
        user_id: r.get(2)?,
        action: r.get(3)?,
        resource_type: r.get(4)?,
        resource_id: r.get(5)?,
        old_values: json_opt(r, 6)?,
        new_values: json_opt(r, 7)?,
        ip_address: r.get(8)?,
        user_agent: r.get(9)?,
        request_id: r.get(10)?,
        result: r.get(11)?,
        reason: r.get(12)?,
        created_at: r.get(13)?,
        prev_hash: r.get(14)?,
        hash: r.get(15)?,
    })
}

/// The row exactly as stored, every column as its text, for verification.
pub(super) fn stored_row(r: &Row<'_>) -> rusqlite::Result<StoredAuditRow> {
    Ok(StoredAuditRow {
        seq: r.get(0)?,
        id: r.get(1)?,
        user_id: r.get(2)?,
        action: r.get(3)?,
        resource_type: r.get(4)?,
        resource_id: r.get(5)?,
        old_values: r.get(6)?,
        new_values: r.get(7)?,
        ip_address: r.get(8)?,
        user_agent: r.get(9)?,
        request_id: r.get(10)?,
        result: r.get(11)?,
        reason: r.get(12)?,
        created_at: r.get(13)?,
        prev_hash: r.get(14)?,
        hash: r.get(15)?,
    })
}

pub(super) fn head(tx: &Db) -> R<Option<ChainHead>> {
    Ok(tx
        .prepare_cached("SELECT seq, hash FROM audit_chain_head WHERE id = 1")?
        .query_row([], |r| Ok(ChainHead { seq: r.get(0)?, hash: r.get(1)? }))
        .optional()?)
}

/// The last row retention removed, if any did.
pub(super) fn anchor(tx: &Db) -> R<Option<AuditAnchor>> {
    Ok(tx
        .prepare_cached("SELECT seq, hash, pruned_at FROM audit_anchor WHERE id = 1")?
        .query_row([], |r| Ok(AuditAnchor { seq: r.get(0)?, hash: r.get(1)?, pruned_at: r.get(2)? }))
        .optional()?)
}

/// The next row of the chain: seq and prev_hash from the head, which moves to the new row — all in the writer's
/// IMMEDIATE transaction, so concurrent appends get 1, 2, 3, … in commit order.
pub(super) fn append_audit(tx: &Db, e: NewAuditEntry) -> R<AuditEntry> {
    let Some(last) = head(tx)? else {
        return Err(super::Fail::App(datagenie_core::Error::new(
            datagenie_core::ErrorCode::SystemDatabase,
            "the audit chain's head record is missing: the audit log was tampered with (datagenie_store::audit)",
        )));
    };
    let row = crate::common::next_audit_row(e, last.seq, last.hash)?;
    let s = StoredAuditRow::from_entry(&row);
    tx.prepare_cached(
        "INSERT INTO audit_logs (seq, id, user_id, action, resource_type, resource_id, old_values, new_values,
             ip_address, user_agent, request_id, result, reason, created_at, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        s.seq,
        s.id,
        s.user_id,
        s.action,
        s.resource_type,
        s.resource_id,
        s.old_values,
        s.new_values,
        s.ip_address,
        s.user_agent,
        s.request_id,
        s.result,
        s.reason,
        s.created_at,
        s.prev_hash,
        s.hash
    ])?;
    tx.prepare_cached("UPDATE audit_chain_head SET seq = ?1, hash = ?2 WHERE id = 1")?
        .execute(params![s.seq, s.hash])?;
    Ok(row)
}

/// Newest first (by seq).
pub(super) fn list_audit(tx: &Db, f: &AuditFilter, req: &PageRequest) -> R<Page<AuditEntry>> {
    let limit = page::limit(req);
    let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_logs WHERE 1 = 1");
    let mut args: Vec<SqlValue> = Vec::new();
    let mut add = |clause: &str, value: SqlValue, sql: &mut String| {
        sql.push_str(" AND ");
        sql.push_str(clause);
        args.push(value);
    };
    if let Some(u) = &f.user_id {
        add("user_id = ?", u.clone().into(), &mut sql);
    }
    if let Some(a) = &f.action {
        add("action = ?", a.clone().into(), &mut sql);
    }
    if let Some(t) = &f.resource_type {
        add("resource_type = ?", t.clone().into(), &mut sql);
    }
    if let Some(t) = f.since {
        add("created_at >= ?", t.to_rfc3339().into(), &mut sql);
    }
    if let Some(t) = f.until {
        add("created_at < ?", t.to_rfc3339().into(), &mut sql);
    }
    if let Some(c) = req.cursor.as_deref() {
        let (key, _) = page::decode("audit", c)?;
        let seq: i64 = key.parse().map_err(|_| invalid("the page cursor is not valid for this list"))?;
        add("seq < ?", seq.into(), &mut sql);
    }
    sql.push_str(" ORDER BY seq DESC LIMIT ?");
    args.push(to_i64(limit + 1).into());
    let rows =
        tx.prepare_cached(&sql)?.query_map(params_from_iter(args), audit_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(page_of(rows, limit, |a| page::encode("audit", &a.seq.to_string(), &a.id)))
}

/// Walks every row in seq order inside one read transaction (a consistent snapshot, beside appends), from the
/// anchor when retention removed older rows.
pub(super) fn verify_audit(tx: &Db) -> R<Result<i64, AuditBreak>> {
    let head = head(tx)?;
    let anchor = anchor(tx)?.map(|a| ChainHead { seq: a.seq, hash: a.hash });
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_logs ORDER BY seq");
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map([], stored_row)?;
    Ok(audit::verify(rows, head.as_ref(), anchor.as_ref())?)
}

// --- events

pub(super) fn record_event(tx: &Db, e: NewEvent) -> R<()> {
    if e.event_type.trim().is_empty() {
        return Err(invalid("an event needs a type"));
    }
    tx.prepare_cached(
        "INSERT INTO events (id, event_type, user_id, event_data, ip_address, user_agent, session_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        new_id(),
        e.event_type,
        e.user_id,
        e.data.as_ref().map(Json),
        e.ip_address,
        e.user_agent,
        e.session_id,
        now()
    ])?;
    Ok(())
}

// --- counters

pub(super) fn bump_counter(tx: &Db, key: &str, window: Timestamp, expires: Timestamp, now: Timestamp) -> R<i64> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO rate_counters (key, window_start, count, expires_at) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (key, window_start) DO UPDATE SET
                 count = CASE WHEN rate_counters.expires_at <= ?4 THEN 1 ELSE rate_counters.count + 1 END,
                 expires_at = CASE WHEN rate_counters.expires_at <= ?4 THEN excluded.expires_at
                                   ELSE max(rate_counters.expires_at, excluded.expires_at) END
             RETURNING count",
        )?
        .query_row(params![key, window, expires, now], |r| r.get(0))?)
}

pub(super) fn counter(tx: &Db, key: &str, window: Timestamp, now: Timestamp) -> R<Option<(i64, Timestamp)>> {
    Ok(tx
        .prepare_cached(
            "SELECT count, expires_at FROM rate_counters WHERE key = ?1 AND window_start = ?2 AND expires_at > ?3",
        )?
        .query_row(params![key, window, now], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

pub(super) fn clear_counter(tx: &Db, key: &str) -> R<()> {
    tx.prepare_cached("DELETE FROM rate_counters WHERE key = ?1")?.execute([key])?;
    Ok(())
}

pub(super) fn purge_counters(tx: &Db, now: Timestamp) -> R<u64> {
    let n = tx.prepare_cached("DELETE FROM rate_counters WHERE expires_at <= ?1")?.execute([now])?;
    Ok(u64::try_from(n).unwrap_or(0))
}
