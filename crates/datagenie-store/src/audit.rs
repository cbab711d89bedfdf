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

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::{AuditBreak, AuditEntry};

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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

/// Walks `rows` (in `seq` order, as stored) and checks the chain: seq 1, 2, 3, … without a gap, each `prev_hash`
/// the previous row's `hash`, each `hash` the row's computed hash, and the last row the recorded `head` (`None`:
/// the head record is missing). `Ok(n)`: the `n` rows are intact; `Err`: the first break. A row that cannot be
/// read is an `Err` of the outer result.
pub fn verify<I, E>(rows: I, head: Option<&ChainHead>) -> Result<Result<i64, AuditBreak>, E>
where
    I: IntoIterator<Item = Result<StoredAuditRow, E>>,
{
    let mut expected = 1i64;
    let mut prev = GENESIS.to_string();
    for row in rows {
        let row = row?;
        if row.seq != expected {
            let reason = if row.seq > expected {
                format!("row {expected} is missing (the next row is {})", row.seq)
            } else {
                format!("row {} is out of order (expected {expected})", row.seq)
            };
            return Ok(Err(AuditBreak { seq: expected, id: None, reason }));
        }
        if row.prev_hash != prev {
            let reason = if expected == 1 {
                "its prev_hash is not the chain's start (64 zeros)".to_string()
            } else {
                format!("its prev_hash is not the hash of row {}", expected - 1)
            };
            return Ok(Err(AuditBreak { seq: row.seq, id: Some(row.id), reason }));
        }
        if row.computed_hash() != row.hash {
            return Ok(Err(AuditBreak {
                seq: row.seq,
                id: Some(row.id),
                reason: "its content does not match its hash (a field was changed)".to_string(),
            }));
        }
        prev = row.hash;
        expected += 1;
    }
    let last = expected - 1;
    let Some(head) = head else {
        return Ok(Err(AuditBreak {
            seq: last + 1,
            id: None,
            reason: "the chain's head record is missing".to_string(),
        }));
    };
    if head.seq > last {
        return Ok(Err(AuditBreak {
            seq: last + 1,
            id: None,
            reason: format!("row {} is missing (the chain's head records {} rows)", last + 1, head.seq),
        }));
    }
    if head.seq < last || head.hash != prev {
        return Ok(Err(AuditBreak {
            seq: head.seq.max(0) + 1,
            id: None,
            reason: format!("the chain's head records {} rows ending in another hash", head.seq),
        }));
    }
    Ok(Ok(last))
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

    fn check(rows: &[StoredAuditRow], head: Option<&ChainHead>) -> Result<i64, AuditBreak> {
        verify(rows.iter().cloned().map(Ok::<_, ()>), head).expect("readable")
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
        assert_eq!(verify(failing, Some(&head)), Err("disk"));
    }
}
