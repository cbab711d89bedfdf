//! Settings, the audit log (a hash chain, see [`crate::audit`]) and events.

use datagenie_core::{Error, ErrorCode};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::sql::{execute, json, ms, now, page_of, query, query_one, query_opt, to_i64};
use super::{Fail, R, Tx, invalid, not_found};
use crate::audit::{self, ChainHead, StoredAuditRow};
use crate::model::*;
use crate::page;

const SETTING_COLUMNS: &str = "key, value, description, category, is_sensitive, updated_by, updated_at";

fn setting_row(r: &Row) -> R<Setting> {
    Ok(Setting {
        key: r.try_get(0)?,
        value: json(r, 1)?,
        description: r.try_get(2)?,
        category: r.try_get(3)?,
        sensitive: r.try_get(4)?,
        updated_by: r.try_get(5)?,
        updated_at: r.try_get(6)?,
    })
}

/// By category, then key (byte-wise, as on SQLite).
pub(super) async fn settings(tx: &Tx<'_>) -> R<Vec<Setting>> {
    let sql =
        format!("SELECT {SETTING_COLUMNS} FROM system_settings ORDER BY category COLLATE \"C\", key COLLATE \"C\"");
    query(tx, &sql, &[]).await?.iter().map(setting_row).collect()
}

pub(super) async fn setting(tx: &Tx<'_>, key: &str) -> R<Option<Setting>> {
    let sql = format!("SELECT {SETTING_COLUMNS} FROM system_settings WHERE key = $1");
    query_opt(tx, &sql, &[&key]).await?.as_ref().map(setting_row).transpose()
}

/// Only the keys the migrations seeded exist; another is `not_found`.
pub(super) async fn set_setting(tx: &Tx<'_>, key: &str, value: serde_json::Value, by: Option<&str>) -> R<Setting> {
    let sql = format!(
        "UPDATE system_settings SET value = $2, updated_by = $3, updated_at = $4 WHERE key = $1
         RETURNING {SETTING_COLUMNS}"
    );
    query_opt(tx, &sql, &[&key, &value, &by, &now()])
        .await?
        .as_ref()
        .map(setting_row)
        .transpose()?
        .ok_or_else(|| not_found(format!("'{key}' is not a setting")))
}

// --- audit

pub(super) const AUDIT_COLUMNS: &str = "seq, id, user_id, action, resource_type, resource_id, old_values, new_values, \
                             ip_address, user_agent, request_id, result, reason, created_at, prev_hash, hash";

/// A JSON value kept as its canonical text (a `text` column), read back as a value.
fn json_text(r: &Row, idx: usize) -> R<Option<serde_json::Value>> {
    let Some(text) = r.try_get::<_, Option<String>>(idx)? else {
        return Ok(None);
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Fail::App(Error::new(
            ErrorCode::SystemDatabase,
            format!("an audit row holds a value that is not JSON (column {idx}): {e}"),
        ))
    })
}

fn audit_row(r: &Row) -> R<AuditEntry> {
    Ok(AuditEntry {
        seq: r.try_get(0)?,
        id: r.try_get(1)?,
        user_id: r.try_get(2)?,
        action: r.try_get(3)?,
        resource_type: r.try_get(4)?,
        resource_id: r.try_get(5)?,
        old_values: json_text(r, 6)?,
        new_values: json_text(r, 7)?,
        ip_address: r.try_get(8)?,
        user_agent: r.try_get(9)?,
        request_id: r.try_get(10)?,
        result: r.try_get(11)?,
        reason: r.try_get(12)?,
        created_at: r.try_get(13)?,
        prev_hash: r.try_get(14)?,
        hash: r.try_get(15)?,
    })
}

/// `created_at` as the text the hash covers: RFC 3339 with milliseconds (what [`StoredAuditRow::from_entry`]
/// writes). A time the store never writes (finer than a millisecond, or one the client cannot decode, such as
/// `infinity`) is rendered so that it cannot equal any text the store wrote, so the row's hash no longer matches.
fn stored_time(r: &Row, idx: usize) -> String {
    match r.try_get::<_, Timestamp>(idx) {
        Ok(t) if ms(t) == t => t.to_rfc3339(),
        Ok(t) => {
            let at_ms = t.to_rfc3339();
            let base = at_ms.strip_suffix('Z').unwrap_or(&at_ms);
            format!("{base}{:03}Z", (t.0.nanosecond() / 1_000) % 1_000)
        }
        Err(_) => "(a time outside what the store writes)".to_string(),
    }
}

/// The row exactly as stored, every column as its text, for verification.
pub(super) fn stored_row(r: &Row) -> R<StoredAuditRow> {
    Ok(StoredAuditRow {
        seq: r.try_get(0)?,
        id: r.try_get(1)?,
        user_id: r.try_get(2)?,
        action: r.try_get(3)?,
        resource_type: r.try_get(4)?,
        resource_id: r.try_get(5)?,
        old_values: r.try_get(6)?,
        new_values: r.try_get(7)?,
        ip_address: r.try_get(8)?,
        user_agent: r.try_get(9)?,
        request_id: r.try_get(10)?,
        result: r.try_get(11)?,
        reason: r.try_get(12)?,
        created_at: stored_time(r, 13),
        prev_hash: r.try_get(14)?,
        hash: r.try_get(15)?,
    })
}

pub(super) fn head_of(r: &Row) -> R<ChainHead> {
    Ok(ChainHead { seq: r.try_get(0)?, hash: r.try_get(1)? })
}

/// The last row retention removed, if any did.
pub(super) async fn anchor(tx: &Tx<'_>) -> R<Option<AuditAnchor>> {
    query_opt(tx, "SELECT seq, hash, pruned_at FROM audit_anchor WHERE id = 1", &[])
        .await?
        .map(|r| Ok::<_, Fail>(AuditAnchor { seq: r.try_get(0)?, hash: r.try_get(1)?, pruned_at: r.try_get(2)? }))
        .transpose()
}

/// The next row of the chain: seq and prev_hash from the head, which moves to the new row. The head row is locked
/// first (`FOR UPDATE`), so concurrent appends from any number of servers wait for each other and get 1, 2, 3, …
/// in commit order, without gaps or forks.
pub(super) async fn append_audit(tx: &Tx<'_>, e: NewAuditEntry) -> R<AuditEntry> {
    let head = query_opt(tx, "SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE", &[]).await?;
    let Some(last) = head.as_ref().map(head_of).transpose()? else {
        return Err(Fail::App(Error::new(
            ErrorCode::SystemDatabase,
            "the audit chain's head record is missing: the audit log was tampered with (datagenie_store::audit)",
        )));
    };
    let row = crate::common::next_audit_row(e, last.seq, last.hash)?;
    let s = StoredAuditRow::from_entry(&row);
    // the stored time is the entry's (the text hashed is `s.created_at`, its RFC 3339 form)
    let moved = execute(
        tx,
        "WITH appended AS (
             INSERT INTO audit_logs (seq, id, user_id, action, resource_type, resource_id, old_values, new_values,
                 ip_address, user_agent, request_id, result, reason, created_at, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         )
         UPDATE audit_chain_head SET seq = $1, hash = $16 WHERE id = 1",
        &[
            &s.seq,
            &s.id,
            &s.user_id,
            &s.action,
            &s.resource_type,
            &s.resource_id,
            &s.old_values,
            &s.new_values,
            &s.ip_address,
            &s.user_agent,
            &s.request_id,
            &s.result,
            &s.reason,
            &row.created_at,
            &s.prev_hash,
            &s.hash,
        ],
    )
    .await?;
    if moved != 1 {
        return Err(Fail::App(Error::new(
            ErrorCode::SystemDatabase,
            "the audit chain's head record vanished during an append (datagenie_store::audit)",
        )));
    }
    Ok(row)
}

/// Newest first (by seq).
pub(super) async fn list_audit(tx: &Tx<'_>, f: &AuditFilter, req: &PageRequest) -> R<Page<AuditEntry>> {
    let limit = page::limit(req);
    let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_logs WHERE true");
    let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let mut add = |clause: &str, value: Box<dyn ToSql + Sync + Send>, sql: &mut String| {
        args.push(value);
        sql.push_str(" AND ");
        sql.push_str(&clause.replace('?', &format!("${}", args.len())));
    };
    if let Some(u) = &f.user_id {
        add("user_id = ?", Box::new(u.clone()), &mut sql);
    }
    if let Some(a) = &f.action {
        add("action = ?", Box::new(a.clone()), &mut sql);
    }
    if let Some(t) = &f.resource_type {
        add("resource_type = ?", Box::new(t.clone()), &mut sql);
    }
    if let Some(t) = f.since {
        add("created_at >= ?", Box::new(t), &mut sql);
    }
    if let Some(t) = f.until {
        add("created_at < ?", Box::new(t), &mut sql);
    }
    if let Some(c) = req.cursor.as_deref() {
        let (key, _) = page::decode("audit", c)?;
        let seq: i64 = key.parse().map_err(|_| invalid("the page cursor is not valid for this list"))?;
        add("seq < ?", Box::new(seq), &mut sql);
    }
    args.push(Box::new(to_i64(limit + 1)));
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", args.len()));
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref() as &(dyn ToSql + Sync)).collect();
    let rows = query(tx, &sql, &params).await?.iter().map(audit_row).collect::<R<Vec<_>>>()?;
    Ok(page_of(rows, limit, |a| page::encode("audit", &a.seq.to_string(), &a.id)))
}

/// How many rows the walk reads at a time.
const VERIFY_BATCH: i32 = 1000;

/// Walks every row in seq order inside one read transaction (a consistent snapshot, beside appends), from the
/// anchor when retention removed older rows. The rows are read in batches through a portal and hashed on a blocking
/// thread by [`audit::verify`], a batch ahead of the reading: memory stays bounded however long the log is, and the
/// hashing keeps off the async workers.
pub(super) async fn verify_audit(tx: &Tx<'_>) -> R<Result<i64, AuditBreak>> {
    let head = query_opt(tx, "SELECT seq, hash FROM audit_chain_head WHERE id = 1", &[])
        .await?
        .as_ref()
        .map(head_of)
        .transpose()?;
    let anchor = anchor(tx).await?.map(|a| ChainHead { seq: a.seq, hash: a.hash });
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_logs ORDER BY seq");
    walk_rows(tx, &sql, &[], move |rows| audit::verify(rows, head.as_ref(), anchor.as_ref())).await?
}

/// Hands the audit rows `sql` selects (the columns of [`AUDIT_COLUMNS`]) to `consume`, which runs on a blocking
/// thread and reads them as they come: they are read in batches of [`VERIFY_BATCH`] through a portal, a batch ahead
/// of the consumer, so memory stays bounded however many rows there are. The reading stops when `consume` returns.
pub(super) async fn walk_rows<T, F>(tx: &Tx<'_>, sql: &str, params: &[&(dyn ToSql + Sync)], consume: F) -> R<T>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Iterator<Item = R<StoredAuditRow>>) -> T + Send + 'static,
{
    let statement = tx.prepare_cached(sql).await?;
    let portal = tx.bind(&statement, params).await?;

    let (sender, mut receiver) = tokio::sync::mpsc::channel::<R<Vec<StoredAuditRow>>>(2);
    let walk = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::new().into_iter();
        let mut rows = std::iter::from_fn(move || {
            loop {
                if let Some(row) = batch.next() {
                    return Some(Ok(row));
                }
                match receiver.blocking_recv()? {
                    Ok(next) => batch = next.into_iter(),
                    Err(e) => return Some(Err(e)),
                }
            }
        });
        consume(&mut rows)
    });
    loop {
        let read = match tx.query_portal(&portal, VERIFY_BATCH).await {
            Ok(rows) => rows.iter().map(stored_row).collect::<R<Vec<_>>>(),
            Err(e) => Err(e.into()),
        };
        let last = match &read {
            Ok(rows) => rows.is_empty(),
            Err(_) => true,
        };
        // the walk has ended (a break, or an error) when it no longer receives
        if sender.send(read).await.is_err() || last {
            break;
        }
    }
    drop(sender);
    walk.await.map_err(|e| Fail::App(Error::new(ErrorCode::Internal, format!("the audit walk failed: {e}"))))
}

// --- events

pub(super) async fn record_event(tx: &Tx<'_>, e: NewEvent) -> R<()> {
    if e.event_type.trim().is_empty() {
        return Err(invalid("an event needs a type"));
    }
    execute(
        tx,
        "INSERT INTO events (id, event_type, user_id, event_data, ip_address, user_agent, session_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&new_id(), &e.event_type, &e.user_id, &e.data, &e.ip_address, &e.user_agent, &e.session_id, &now()],
    )
    .await?;
    Ok(())
}

// --- counters

pub(super) async fn bump_counter(
    tx: &Tx<'_>,
    key: &str,
    window: Timestamp,
    expires: Timestamp,
    now: Timestamp,
) -> R<i64> {
    let row = query_one(
        tx,
        "INSERT INTO rate_counters (key, window_start, count, expires_at) VALUES ($1, $2, 1, $3)
         ON CONFLICT (key, window_start) DO UPDATE SET
             count = CASE WHEN rate_counters.expires_at <= $4 THEN 1 ELSE rate_counters.count + 1 END,
             expires_at = CASE WHEN rate_counters.expires_at <= $4 THEN excluded.expires_at
                               ELSE greatest(rate_counters.expires_at, excluded.expires_at) END
         RETURNING count",
        &[&key, &window, &expires, &now],
    )
    .await?;
    Ok(row.try_get(0)?)
}

pub(super) async fn counter(tx: &Tx<'_>, key: &str, window: Timestamp, now: Timestamp) -> R<Option<(i64, Timestamp)>> {
    let row = query_opt(
        tx,
        "SELECT count, expires_at FROM rate_counters WHERE key = $1 AND window_start = $2 AND expires_at > $3",
        &[&key, &window, &now],
    )
    .await?;
    row.map(|r| Ok::<_, Fail>((r.try_get(0)?, r.try_get(1)?))).transpose()
}

pub(super) async fn clear_counter(tx: &Tx<'_>, key: &str) -> R<()> {
    execute(tx, "DELETE FROM rate_counters WHERE key = $1", &[&key]).await?;
    Ok(())
}

pub(super) async fn purge_counters(tx: &Tx<'_>, now: Timestamp) -> R<u64> {
    execute(tx, "DELETE FROM rate_counters WHERE expires_at <= $1", &[&now]).await
}
