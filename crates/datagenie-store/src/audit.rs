//! The audit log's hash chain: each row's `hash` covers the previous row's `hash` and every stored field of the row,
//! so editing any field, deleting or inserting a row, or reordering rows breaks the chain at that row.
//!
//! # The hashed bytes
//!
//! `hash = hex(SHA-256(encoding))`, where `encoding` is, in this order:
//!
//! 1. the domain tag `datagenie audit v1` followed by a zero byte;
//! 2. `prev_hash` as a text field;
//! 3. `seq` as 8 bytes, big-endian two's complement;
//! 4. the fields `id`, `user_id`, `action`, `resource_type`, `resource_id`, `old_values`, `new_values`,
//!    `ip_address`, `user_agent`, `request_id`, `result`, `reason`, `created_at`, each as a text field.
//!
//! A text field is one byte `0` for NULL, or one byte `1`, the length of the UTF-8 bytes as 8 bytes big-endian, and
//! the bytes. The encoding is therefore unambiguous: no two different rows encode alike (no separator can be
//! forged inside a value, NULL differs from the empty string).
//!
//! The text of a field is exactly what the store writes in the column: `result` as `success`/`failure`,
//! `created_at` as RFC 3339 with milliseconds (`2025-06-24T10:30:00.123Z`), and the JSON values as canonical JSON
//! ([`canonical_json`]: object keys sorted by their UTF-8 bytes, no whitespace, serde_json's number and string
//! forms). Verification hashes the stored text as it is, so even an edit that keeps the JSON's meaning (a space,
//! reordered keys) is detected.
//!
//! The first row's `prev_hash` is [`GENESIS`] (64 zeros). The store also keeps the chain's head (the last `seq` and
//! `hash`) apart from the rows, so deleting the last rows is detected too.
//!
//! # Retention: the anchor
//!
//! Retention ([`crate::retention`]) removes a prefix of the chain — the rows older than `audit_retention_days` — and
//! records the last row removed as the chain's anchor (its `seq` and `hash`). The chain then starts at row
//! `seq + 1`, whose `prev_hash` must be the anchor's hash: removing or editing any row after the anchor still shows.
//! The database lets rows be deleted only up to the anchor, and the anchor only move forward, to a row of the chain.
//! Each retention run appends a [`PRUNE_ACTION`] row naming the anchor it left (`anchor_seq`, `anchor_hash` in its
//! `new_values`), so the walk also checks that the anchor is the one the last such row names: an anchor moved
//! outside a retention run (rows removed without trace) shows too. What the chain cannot show — as without
//! retention — is a forgery by someone who rewrites it from the break on: who can write to the database and
//! recompute SHA-256 can append a matching `audit.prune` row and move the head. Keep a copy of the head's hash
//! elsewhere (`datagenie audit verify` prints the row count; the head is in `audit_chain_head`) to detect that.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::{AuditBreak, AuditEntry};

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The action of the row each retention run appends; its `new_values` name the anchor the run left (`anchor_seq`,
/// `anchor_hash`).
pub const PRUNE_ACTION: &str = "audit.prune";

const DOMAIN: &[u8] = b"datagenie audit v1\0";

/// `value` as canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace; strings and numbers as
/// serde_json writes them. The same value always gives the same text, whatever the order its keys were built in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// An audit row as stored: every column's text (JSON already canonical), as read back for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuditRow {
    pub seq: i64,
    pub id: String,
    pub user_id: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub old_values: Option<String>,
    pub new_values: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub result: String,
    pub reason: Option<String>,
    pub created_at: String,
    pub prev_hash: String,
    pub hash: String,
}

impl StoredAuditRow {
    /// The row as the store writes it for `entry` (whose `prev_hash` and `hash` are taken as they are).
    pub fn from_entry(entry: &AuditEntry) -> StoredAuditRow {
        StoredAuditRow {
            seq: entry.seq,
            id: entry.id.clone(),
            user_id: entry.user_id.clone(),
            action: entry.action.clone(),
            resource_type: entry.resource_type.clone(),
            resource_id: entry.resource_id.clone(),
            old_values: entry.old_values.as_ref().map(canonical_json),
            new_values: entry.new_values.as_ref().map(canonical_json),
            ip_address: entry.ip_address.clone(),
            user_agent: entry.user_agent.clone(),
            request_id: entry.request_id.clone(),
            result: entry.result.as_str().to_string(),
            reason: entry.reason.clone(),
            created_at: entry.created_at.to_rfc3339(),
            prev_hash: entry.prev_hash.clone(),
            hash: entry.hash.clone(),
        }
    }

    /// The hash this row's content and `prev_hash` give (see the module documentation), whatever its `hash`
    /// column says.
    pub fn computed_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(DOMAIN);
        text(&mut h, Some(&self.prev_hash));
        h.update(self.seq.to_be_bytes());
        for field in [
            Some(self.id.as_str()),
            self.user_id.as_deref(),
            Some(self.action.as_str()),
            Some(self.resource_type.as_str()),
            self.resource_id.as_deref(),
            self.old_values.as_deref(),
            self.new_values.as_deref(),
            self.ip_address.as_deref(),
            self.user_agent.as_deref(),
            self.request_id.as_deref(),
            Some(self.result.as_str()),
            self.reason.as_deref(),
            Some(self.created_at.as_str()),
        ] {
            text(&mut h, field);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn text(h: &mut Sha256, field: Option<&str>) {
    match field {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            h.update(u64::try_from(s.len()).unwrap_or(u64::MAX).to_be_bytes());
            h.update(s.as_bytes());
        }
    }
}

/// The hash of `row` chained after `prev_hash`: SHA-256 (hex) over `prev_hash` and the row's stored fields (see the
/// module documentation). `row.prev_hash` and `row.hash` are not read.
pub fn row_hash(prev_hash: &str, row: &AuditEntry) -> String {
    let mut stored = StoredAuditRow::from_entry(row);
    stored.prev_hash = prev_hash.to_string();
    stored.computed_hash()
}

/// The chain's head as the store records it apart from the rows: the last row's `seq` (0 when empty) and `hash`
/// ([`GENESIS`] when empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

/// Walks `rows` (in `seq` order, as stored) and checks the chain: seq 1, 2, 3, … without a gap (from the anchor's
/// `seq + 1` when retention removed older rows: `anchor` is the last row removed, `None` when none was), each
/// `prev_hash` the previous row's `hash` (the anchor's for the first row), each `hash` the row's computed hash, the
/// last row the recorded `head` (`None`: the head record is missing), and the anchor the one the last
/// [`PRUNE_ACTION`] row names. `Ok(n)`: the `n` rows are intact; `Err`: the first break. A row that cannot be read
/// is an `Err` of the outer result.
pub fn verify<I, E>(rows: I, head: Option<&ChainHead>, anchor: Option<&ChainHead>) -> Result<Result<i64, AuditBreak>, E>
where
    I: IntoIterator<Item = Result<StoredAuditRow, E>>,
{
    let Walked { last, prev, intact, attested } = match walk(rows, anchor)? {
        Ok(w) => w,
        Err(b) => return Ok(Err(b)),
    };
    let Some(head) = head else {
        return Ok(Err(AuditBreak {
            seq: last + 1,
            id: None,
            reason: "the chain's head record is missing".to_string(),
            intact,
        }));
    };
    if head.seq > last {
        return Ok(Err(AuditBreak {
            seq: last + 1,
            id: None,
            reason: format!("row {} is missing (the chain's head records {} rows)", last + 1, head.seq),
            intact,
        }));
    }
    if head.seq < last || head.hash != prev {
        return Ok(Err(AuditBreak {
            seq: head.seq.max(0) + 1,
            id: None,
            reason: format!("the chain's head records {} rows ending in another hash", head.seq),
            intact,
        }));
    }
    if let Some(anchor) = anchor.filter(|a| a.seq > 0) {
        let named = attested.as_ref().map_or(0, |(seq, _)| *seq);
        if attested.as_ref().is_none_or(|(seq, hash)| *seq != anchor.seq || *hash != anchor.hash) {
            return Ok(Err(AuditBreak {
                seq: named.clamp(0, anchor.seq) + 1,
                id: None,
                reason: format!(
                    "the audit anchor says rows up to {} were removed, but the last {PRUNE_ACTION} row names {}: \
                     rows were removed outside a retention run",
                    anchor.seq,
                    if named == 0 { "none".to_string() } else { format!("row {named}") }
                ),
                intact,
            }));
        }
    }
    Ok(Ok(intact))
}

/// Checks the rows retention is about to remove: `rows` are those after `anchor` up to `target + 1` (the first row
/// it keeps, when there is one), in seq order. `Ok(())` when they are intact and linked to the first row kept — or,
/// when `target` is the last row, to the chain's `head`.
pub fn verify_prefix<I, E>(
    rows: I,
    anchor: Option<&ChainHead>,
    target: i64,
    head: &ChainHead,
) -> Result<Result<(), AuditBreak>, E>
where
    I: IntoIterator<Item = Result<StoredAuditRow, E>>,
{
    let w = match walk(rows, anchor)? {
        Ok(w) => w,
        Err(b) => return Ok(Err(b)),
    };
    if w.last < target {
        let reason = format!("row {} is missing", w.last + 1);
        return Ok(Err(AuditBreak { seq: w.last + 1, id: None, reason, intact: w.intact }));
    }
    if w.last == target && (head.seq != target || head.hash != w.prev) {
        let reason = format!("the chain's head records {} rows ending in another hash", head.seq);
        return Ok(Err(AuditBreak { seq: target + 1, id: None, reason, intact: w.intact }));
    }
    Ok(Ok(()))
}

/// Where a walk of intact rows ended.
struct Walked {
    /// The last row's seq (the anchor's when there was none).
    last: i64,
    /// Its hash.
    prev: String,
    intact: i64,
    /// The anchor the last retention run's row names.
    attested: Option<(i64, String)>,
}

/// Walks `rows` from after `anchor` (the chain's start when `None`): each row the next seq, its `prev_hash` the
/// previous row's `hash`, its `hash` its computed hash. `Err`: the first break.
fn walk<I, E>(rows: I, anchor: Option<&ChainHead>) -> Result<Result<Walked, AuditBreak>, E>
where
    I: IntoIterator<Item = Result<StoredAuditRow, E>>,
{
    let start = anchor.map_or(0, |a| a.seq);
    let mut expected = start + 1;
    let mut prev = anchor.map_or_else(|| GENESIS.to_string(), |a| a.hash.clone());
    let mut intact = 0i64;
    let mut attested: Option<(i64, String)> = None;
    for row in rows {
        let row = row?;
        if row.seq != expected {
            let reason = if row.seq > expected {
                format!("row {expected} is missing (the next row is {})", row.seq)
            } else {
                format!("row {} is out of order (expected {expected})", row.seq)
            };
            return Ok(Err(AuditBreak { seq: expected, id: None, reason, intact }));
        }
        if row.prev_hash != prev {
            let reason = if expected == 1 {
                "its prev_hash is not the chain's start (64 zeros)".to_string()
            } else if expected == start + 1 {
                format!("its prev_hash is not the hash of row {start}, the last one retention removed (the anchor)")
            } else {
                format!("its prev_hash is not the hash of row {}", expected - 1)
            };
            return Ok(Err(AuditBreak { seq: row.seq, id: Some(row.id), reason, intact }));
        }
        if row.computed_hash() != row.hash {
            return Ok(Err(AuditBreak {
                seq: row.seq,
                id: Some(row.id),
                reason: "its content does not match its hash (a field was changed)".to_string(),
                intact,
            }));
        }
        if row.action == PRUNE_ACTION {
            attested = row.new_values.as_deref().and_then(named_anchor);
        }
        prev = row.hash;
        expected += 1;
        intact += 1;
    }
    Ok(Ok(Walked { last: expected - 1, prev, intact, attested }))
}

/// The anchor (`anchor_seq`, `anchor_hash`) a retention run's row names in its `new_values`.
fn named_anchor(values: &str) -> Option<(i64, String)> {
    let v: Value = serde_json::from_str(values).ok()?;
    Some((v.get("anchor_seq")?.as_i64()?, v.get("anchor_hash")?.as_str()?.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuditResult, Timestamp};

    fn entry(seq: i64) -> AuditEntry {
        AuditEntry {
            seq,
            id: format!("00000000-0000-4000-8000-{seq:012}"),
            user_id: Some("u".into()),
            action: "user.create".into(),
            resource_type: "user".into(),
            resource_id: Some("r".into()),
            old_values: None,
            new_values: Some(serde_json::json!({"b": 1, "a": [true, null, "x"]})),
            ip_address: Some("127.0.0.1".into()),
            user_agent: None,
            request_id: Some("req".into()),
            result: AuditResult::Success,
            reason: None,
            created_at: Timestamp::parse("2025-06-24T10:30:00.123Z").expect("time"),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn chain(n: i64) -> Vec<StoredAuditRow> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = entry(seq);
                e.hash = row_hash(&prev, &e);
                e.prev_hash = std::mem::replace(&mut prev, e.hash.clone());
                StoredAuditRow::from_entry(&e)
            })
            .collect()
    }

    /// `rows` with a retention run's row appended, naming the anchor at row `anchor` (0: none).
    fn with_prune_row(mut rows: Vec<StoredAuditRow>, anchor: i64) -> Vec<StoredAuditRow> {
        let last = rows.last().expect("a row");
        let mut e = entry(last.seq + 1);
        e.action = PRUNE_ACTION.into();
        let hash = if anchor == 0 {
            GENESIS.to_string()
        } else {
            rows[usize::try_from(anchor - 1).expect("seq")].hash.clone()
        };
        e.new_values = Some(serde_json::json!({"anchor_seq": anchor, "anchor_hash": hash, "history": 3}));
        e.prev_hash = last.hash.clone();
        e.hash = row_hash(&e.prev_hash, &e);
        rows.push(StoredAuditRow::from_entry(&e));
        rows
    }

    fn anchor_at(rows: &[StoredAuditRow], seq: i64) -> ChainHead {
        ChainHead { seq, hash: rows[usize::try_from(seq - 1).expect("seq")].hash.clone() }
    }

    fn check_from(rows: &[StoredAuditRow], anchor: &ChainHead) -> Result<i64, AuditBreak> {
        verify(rows.iter().cloned().map(Ok::<_, ()>), Some(&head_of(rows)), Some(anchor)).expect("readable")
    }

    fn check(rows: &[StoredAuditRow], head: Option<&ChainHead>) -> Result<i64, AuditBreak> {
        verify(rows.iter().cloned().map(Ok::<_, ()>), head, None).expect("readable")
    }

    fn head_of(rows: &[StoredAuditRow]) -> ChainHead {
        rows.last()
            .map(|r| ChainHead { seq: r.seq, hash: r.hash.clone() })
            .unwrap_or(ChainHead { seq: 0, hash: GENESIS.into() })
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_has_no_whitespace() {
        let a = serde_json::json!({"b": {"y": 1, "x": [ {"d": 2, "c": 1} ]}, "a": "é\"q", "n": 1.5});
        assert_eq!(canonical_json(&a), r#"{"a":"é\"q","b":{"x":[{"c":1,"d":2}],"y":1},"n":1.5}"#);
        let parsed: Value = serde_json::from_str(&canonical_json(&a)).expect("valid JSON");
        assert_eq!(parsed, a);
        assert_eq!(canonical_json(&Value::Null), "null");
    }

    #[test]
    fn the_encoding_is_unambiguous_and_covers_every_field() {
        let base = entry(1);
        let h = row_hash(GENESIS, &base);
        assert_eq!(h.len(), 64);
        assert_eq!(h, row_hash(GENESIS, &base), "deterministic");
        assert_ne!(h, row_hash(&"1".repeat(64), &base), "prev_hash is covered");
        type Edit = Box<dyn Fn(&mut AuditEntry)>;
        let edits: Vec<(&str, Edit)> = vec![
            ("seq", Box::new(|e| e.seq = 2)),
            ("id", Box::new(|e| e.id.push('x'))),
            ("user_id none", Box::new(|e| e.user_id = None)),
            ("user_id empty", Box::new(|e| e.user_id = Some(String::new()))),
            ("action", Box::new(|e| e.action = "user.delete".into())),
            ("resource_type", Box::new(|e| e.resource_type = "key".into())),
            ("resource_id", Box::new(|e| e.resource_id = None)),
            ("old_values", Box::new(|e| e.old_values = Some(Value::Null))),
            ("new_values", Box::new(|e| e.new_values = Some(serde_json::json!({"b": 2, "a": [true, null, "x"]})))),
            ("ip_address", Box::new(|e| e.ip_address = Some("127.0.0.2".into()))),
            ("user_agent", Box::new(|e| e.user_agent = Some(String::new()))),
            ("request_id", Box::new(|e| e.request_id = None)),
            ("result", Box::new(|e| e.result = AuditResult::Failure)),
            ("reason", Box::new(|e| e.reason = Some("why".into()))),
            ("created_at", Box::new(|e| e.created_at = e.created_at.plus(time::Duration::milliseconds(1)))),
        ];
        for (name, edit) in edits {
            let mut e = base.clone();
            edit(&mut e);
            assert_ne!(row_hash(GENESIS, &e), h, "{name} is not covered");
        }
        // moving text between adjacent fields changes the hash (length prefixes)
        let mut a = base.clone();
        a.action = "ab".into();
        a.resource_type = "c".into();
        let mut b = base.clone();
        b.action = "a".into();
        b.resource_type = "bc".into();
        assert_ne!(row_hash(GENESIS, &a), row_hash(GENESIS, &b));
        // key order of a JSON value does not matter: it is written canonically
        let mut reordered = base.clone();
        reordered.new_values = Some(serde_json::json!({"a": [true, null, "x"], "b": 1}));
        assert_eq!(row_hash(GENESIS, &reordered), h);
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(check(&[], Some(&head_of(&[]))), Ok(0));
        let rows = chain(5);
        assert_eq!(check(&rows, Some(&head_of(&rows))), Ok(5));
    }

    #[test]
    fn every_kind_of_break_names_the_first_broken_seq() {
        let rows = chain(6);
        let head = head_of(&rows);
        // edited content, without fixing the hash
        for seq in 1..=6usize {
            let mut t = rows.clone();
            t[seq - 1].action.push('!');
            let b = check(&t, Some(&head)).expect_err("edited");
            assert_eq!((b.seq, b.id.as_deref()), (seq as i64, Some(t[seq - 1].id.as_str())), "{b:?}");
        }
        // edited content with a recomputed hash: the next row's prev_hash no longer fits
        let mut t = rows.clone();
        t[2].reason = Some("covered up".into());
        t[2].hash = t[2].computed_hash();
        let b = check(&t, Some(&head)).expect_err("rehashed");
        assert_eq!(b.seq, 4, "{b:?}");
        assert!(b.reason.contains("prev_hash"), "{b:?}");
        // a JSON edit that keeps the meaning (whitespace) is still an edit
        let mut t = rows.clone();
        t[1].new_values = t[1].new_values.as_ref().map(|v| v.replacen(':', ": ", 1));
        assert_eq!(check(&t, Some(&head)).expect_err("spaced").seq, 2);
        // a deleted row in the middle: its seq is named
        let mut t = rows.clone();
        t.remove(3);
        let b = check(&t, Some(&head)).expect_err("deleted");
        assert_eq!((b.seq, b.id.clone()), (4, None), "{b:?}");
        // the first row deleted
        let b = check(&rows[1..], Some(&head)).expect_err("first deleted");
        assert_eq!(b.seq, 1);
        // the last row deleted: the head tells
        let b = check(&rows[..5], Some(&head)).expect_err("last deleted");
        assert_eq!((b.seq, b.id.clone()), (6, None), "{b:?}");
        // two rows swapped (content and seq exchanged)
        let mut t = rows.clone();
        t.swap(1, 4);
        (t[1].seq, t[4].seq) = (2, 5);
        assert_eq!(check(&t, Some(&head)).expect_err("swapped").seq, 2);
        // a wrong first prev_hash
        let mut t = rows.clone();
        t[0].prev_hash = "1".repeat(64);
        assert_eq!(check(&t, Some(&head)).expect_err("genesis").seq, 1);
        // a missing or moved head
        assert_eq!(check(&rows, None).expect_err("no head").seq, 7);
        let stale = ChainHead { seq: 5, hash: rows[4].hash.clone() };
        assert_eq!(check(&rows, Some(&stale)).expect_err("stale head").seq, 6);
        // an unreadable row is an error of the walk, not a break
        let failing = vec![Ok(rows[0].clone()), Err("disk")];
        assert_eq!(verify(failing, Some(&head), None), Err("disk"));
    }

    #[test]
    fn a_chain_pruned_up_to_its_anchor_verifies_from_there_and_still_shows_breaks() {
        // rows 1..=8, then the retention run's row 9 naming the anchor at row 4; rows 1..=4 removed
        let all = with_prune_row(chain(8), 4);
        let anchor = anchor_at(&all, 4);
        let kept = all[4..].to_vec();
        assert_eq!(check_from(&kept, &anchor), Ok(5));
        // without the anchor, the rows that are left do not start the chain
        assert_eq!(check(&kept, Some(&head_of(&kept))).expect_err("no anchor").seq, 1);
        // an edit after the anchor, and the first row after it edited or deleted
        let mut t = kept.clone();
        t[2].reason = Some("covered up".into());
        let b = check_from(&t, &anchor).expect_err("edited");
        assert_eq!((b.seq, b.intact), (7, 2), "{b:?}");
        let mut t = kept.clone();
        t[0].action.push('!');
        assert_eq!(check_from(&t, &anchor).expect_err("first edited").seq, 5);
        let b = check_from(&kept[1..], &anchor).expect_err("first deleted");
        assert_eq!((b.seq, b.id.clone(), b.intact), (5, None, 0), "{b:?}");
        // the anchor's hash is not the one the first row names
        let forged = ChainHead { seq: 4, hash: "1".repeat(64) };
        let b = check_from(&kept, &forged).expect_err("anchor hash");
        assert!(b.seq == 5 && b.reason.contains("anchor"), "{b:?}");
        // the anchor moved on (rows 5 and 6 removed too) without a retention run naming it
        let moved = anchor_at(&all, 6);
        let b = check_from(&all[6..], &moved).expect_err("moved");
        assert_eq!((b.seq, b.id.clone()), (5, None), "{b:?}");
        assert!(b.reason.contains("outside a retention run"), "{b:?}");
        // ... and an anchor no retention run named at all
        let plain = chain(8);
        let b = check_from(&plain[4..], &anchor_at(&plain, 4)).expect_err("never pruned");
        assert_eq!(b.seq, 1, "{b:?}");
        // a later run that removed nothing from the chain names the same anchor: still intact
        let again = with_prune_row(all.clone(), 4);
        assert_eq!(check_from(&again[4..], &anchor), Ok(6));
        // a run that removed every row up to its own: the chain is the run's row alone
        let everything = with_prune_row(chain(3), 3);
        assert_eq!(check_from(&everything[3..], &anchor_at(&everything, 3)), Ok(1));
    }

    #[test]
    fn the_prefix_a_run_removes_must_be_intact_and_linked_to_what_stays() {
        let rows = chain(6);
        let head = head_of(&rows);
        let prefix = |rows: &[StoredAuditRow], anchor: Option<&ChainHead>, target: i64, head: &ChainHead| {
            verify_prefix(rows.iter().cloned().map(Ok::<_, ()>), anchor, target, head).expect("readable")
        };
        // rows 1..=3 go: they and row 4's link to them are read
        assert_eq!(prefix(&rows[..4], None, 3, &head), Ok(()));
        let mut t = rows.clone();
        t[1].action.push('!');
        assert_eq!(prefix(&t[..4], None, 3, &head).expect_err("edited").seq, 2);
        let mut t = rows.clone();
        t[3].prev_hash = "1".repeat(64);
        assert_eq!(prefix(&t[..4], None, 3, &head).expect_err("unlinked").seq, 4);
        assert_eq!(prefix(&rows[..2], None, 3, &head).expect_err("missing").seq, 3);
        // from an anchor
        let anchor = ChainHead { seq: 2, hash: rows[1].hash.clone() };
        assert_eq!(prefix(&rows[2..5], Some(&anchor), 4, &head), Ok(()));
        // every row: linked to the head
        assert_eq!(prefix(&rows, None, 6, &head), Ok(()));
        let stale = ChainHead { seq: 6, hash: "2".repeat(64) };
        assert_eq!(prefix(&rows, None, 6, &stale).expect_err("head").seq, 7);
    }
}
