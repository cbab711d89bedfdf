//! The pipeline's caches (seed 000's result cache): the rows of a guarded query, and LLM replies.
//!
//! - **Rows** are keyed by the connection, the schema's structure fingerprint, the exact guarded SQL, the asker's
//!   permission scope (the policy's fingerprint: tables, columns, row filters and the attribute values they use)
//!   and the row cap. Two askers with different permissions never share an entry, even for the same SQL text; the
//!   rows are kept as the database returned them and masked per asker afterwards, as fresh ones are. The time to
//!   live is the `cache_ttl_seconds` setting; a connection's entries can be purged at once.
//! - **LLM replies** are keyed by the SHA-256 of the whole request (model, messages, temperature, length), and kept
//!   only for deterministic requests (temperature 0). A reply from the cache costs no tokens.
//!
//! Where entries live is the [`Cache`] behind it: this process's memory ([`MemoryCache`], bounded) or Redis (the
//! server's, shared by every server; sealed there with a key of the master key, since rows may hold personal data).
//! A cache that fails is bypassed: the question is answered as if it were empty.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use datagenie_core::Error;
use datagenie_core::value::{ResultColumn, ResultSet, Value};
use serde_json::json;
use sha2::{Digest, Sha256};

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CacheKind {
    Rows,
    Llm,
}

impl CacheKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheKind::Rows => "rows",
            CacheKind::Llm => "llm",
        }
    }
}

/// Where entries are kept. `scope` groups the entries a purge removes together (a connection's id or key for rows;
/// `llm` for replies); `key` is a SHA-256 hex digest.
#[async_trait]
pub trait Cache: Send + Sync {
    /// The entry, when present and not expired. `None` also when the cache cannot be reached.
    async fn get(&self, kind: CacheKind, scope: &str, key: &str) -> Option<Vec<u8>>;
    /// Keeps an entry for `ttl` (best effort: a cache that cannot be reached keeps nothing).
    async fn put(&self, kind: CacheKind, scope: &str, key: &str, value: Vec<u8>, ttl: Duration);
    /// Removes every entry of `scope`; how many.
    async fn purge(&self, scope: &str) -> Result<u64, Error>;
    /// `memory` or `redis`, for answers and `/readyz`.
    fn name(&self) -> &'static str;
}

/// The SHA-256 (hex) of parts, each length-prefixed so that no two lists of parts collide.
pub fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A result set as bytes, losslessly (every value with its type; floats by their bits), with when it was read
/// (`at`, RFC 3339).
pub fn encode_rows(result: &ResultSet, at: &str) -> Vec<u8> {
    let cell = |v: &Value| match v {
        Value::Null => json!(["n"]),
        Value::Bool(b) => json!(["b", b]),
        Value::Int(i) => json!(["i", i]),
        Value::Float(f) => json!(["f", f.to_bits()]),
        Value::Decimal(d) => json!(["d", d]),
        Value::Text(t) => json!(["t", t]),
        Value::Blob(b) => json!(["x", STANDARD.encode(b)]),
        Value::Json(j) => json!(["j", j]),
    };
    let columns: Vec<_> = result.columns.iter().map(|c| json!([c.name, c.decl_type])).collect();
    let rows: Vec<Vec<_>> = result.rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    json!({"c": columns, "r": rows, "t": result.truncated, "at": at}).to_string().into_bytes()
}

/// The result set of [`encode_rows`] and when it was read; `None` for bytes that are not one (an entry written by
/// another version).
pub fn decode_rows(bytes: &[u8]) -> Option<(ResultSet, String)> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let columns = doc
        .get("c")?
        .as_array()?
        .iter()
        .map(|c| {
            Some(ResultColumn {
                name: c.get(0)?.as_str()?.to_string(),
                decl_type: c.get(1)?.as_str().map(str::to_string),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let cell = |c: &serde_json::Value| -> Option<Value> {
        let tag = c.get(0)?.as_str()?;
        let v = c.get(1);
        Some(match tag {
            "n" => Value::Null,
            "b" => Value::Bool(v?.as_bool()?),
            "i" => Value::Int(v?.as_i64()?),
            "f" => Value::Float(f64::from_bits(v?.as_u64()?)),
            "d" => Value::Decimal(v?.as_str()?.to_string()),
            "t" => Value::Text(v?.as_str()?.to_string()),
            "x" => Value::Blob(STANDARD.decode(v?.as_str()?).ok()?),
            "j" => Value::Json(v?.clone()),
            _ => return None,
        })
    };
    let rows = doc
        .get("r")?
        .as_array()?
        .iter()
        .map(|r| r.as_array()?.iter().map(cell).collect::<Option<Vec<_>>>())
        .collect::<Option<Vec<_>>>()?;
    if rows.iter().any(|r| r.len() != columns.len()) {
        return None;
    }
    let at = doc.get("at")?.as_str()?.to_string();
    Some((ResultSet { columns, rows, truncated: doc.get("t")?.as_bool()? }, at))
}

/// The most bytes [`MemoryCache`] keeps unless told otherwise.
pub const DEFAULT_MEMORY_BYTES: usize = 64 * 1024 * 1024;

type EntryKey = (CacheKind, String, String);

/// Entries in this process's memory, up to a byte budget: when full, the entries closest to expiring go first.
pub struct MemoryCache {
    max_bytes: usize,
    inner: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    entries: HashMap<EntryKey, (Vec<u8>, Instant, u64)>,
    /// (expiry, insertion number) → key: what to evict first.
    by_expiry: BTreeMap<(Instant, u64), EntryKey>,
    bytes: usize,
    next: u64,
}

impl Memory {
    fn remove(&mut self, key: &EntryKey) -> bool {
        match self.entries.remove(key) {
            Some((value, expires, n)) => {
                self.by_expiry.remove(&(expires, n));
                self.bytes -= value.len() + key.1.len() + key.2.len();
                true
            }
            None => false,
        }
    }
}

impl MemoryCache {
    pub fn new(max_bytes: usize) -> MemoryCache {
        MemoryCache { max_bytes, inner: Mutex::new(Memory::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes held now (values and keys).
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, kind: CacheKind, scope: &str, key: &str) -> Option<Vec<u8>> {
        let mut m = self.lock();
        let k = (kind, scope.to_string(), key.to_string());
        match m.entries.get(&k) {
            Some((value, expires, _)) if *expires > Instant::now() => Some(value.clone()),
            Some(_) => {
                m.remove(&k);
                None
            }
            None => None,
        }
    }

    async fn put(&self, kind: CacheKind, scope: &str, key: &str, value: Vec<u8>, ttl: Duration) {
        let size = value.len() + scope.len() + key.len();
        if size > self.max_bytes / 4 || ttl.is_zero() {
            return; // one answer never takes a quarter of the budget
        }
        let now = Instant::now();
        let mut m = self.lock();
        let k = (kind, scope.to_string(), key.to_string());
        m.remove(&k);
        while m.bytes + size > self.max_bytes {
            let Some((_, oldest)) = m.by_expiry.iter().next().map(|(i, k)| (*i, k.clone())) else { break };
            m.remove(&oldest);
        }
        let expires = now + ttl;
        let n = m.next;
        m.next += 1;
        m.by_expiry.insert((expires, n), k.clone());
        m.entries.insert(k, (value, expires, n));
        m.bytes += size;
    }

    async fn purge(&self, scope: &str) -> Result<u64, Error> {
        let mut m = self.lock();
        let keys: Vec<EntryKey> = m.entries.keys().filter(|k| k.1 == scope).cloned().collect();
        let n = keys.iter().filter(|k| m.remove(k)).count();
        Ok(n as u64)
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}

/// How the pipeline uses a cache for one question: where, and for how long rows are kept (`None`: rows are not
/// cached, e.g. a TTL of 0).
#[derive(Clone)]
pub struct CachePlan {
    pub cache: std::sync::Arc<dyn Cache>,
    pub rows_ttl: Option<Duration>,
    /// How long LLM replies are kept (`None`: not cached).
    pub llm_ttl: Option<Duration>,
}

impl std::fmt::Debug for CachePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachePlan")
            .field("cache", &self.cache.name())
            .field("rows_ttl", &self.rows_ttl)
            .field("llm_ttl", &self.llm_ttl)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_with_every_type() {
        let result = ResultSet {
            columns: vec![
                ResultColumn { name: "a".into(), decl_type: Some("INTEGER".into()) },
                ResultColumn { name: "b".into(), decl_type: None },
            ],
            rows: vec![
                vec![Value::Null, Value::Bool(true)],
                vec![Value::Int(-7), Value::Float(f64::NAN)],
                vec![Value::Decimal("12345678901234567890.5".into()), Value::Text("한글 \u{0}".into())],
                vec![Value::Blob(vec![0, 255, 3]), Value::Json(json!({"z": 1, "a": [2]}))],
            ],
            truncated: true,
        };
        let (back, at) = decode_rows(&encode_rows(&result, "2026-12-07T10:00:00.000Z")).expect("decodes");
        assert_eq!(at, "2026-12-07T10:00:00.000Z");
        assert_eq!(back.columns, result.columns);
        assert!(back.truncated);
        assert!(matches!(back.rows[1][1], Value::Float(f) if f.is_nan()));
        assert_eq!(back.rows[2], result.rows[2]);
        assert_eq!(back.rows[3], result.rows[3]);
        let wide = br#"{"c": [], "r": [[["i", 1]]], "t": false, "at": "x"}"#;
        assert_eq!(decode_rows(wide), None, "a row wider than its columns");
        assert_eq!(decode_rows(b"junk"), None);
    }

    #[test]
    fn digests_do_not_collide_on_joins() {
        assert_ne!(digest(&["ab", "c"]), digest(&["a", "bc"]));
        assert_eq!(digest(&["x"]).len(), 64);
    }

    #[tokio::test]
    async fn memory_keeps_expires_evicts_and_purges_by_scope() {
        let cache = MemoryCache::new(1000);
        cache.put(CacheKind::Rows, "c1", "k1", vec![1; 100], Duration::from_secs(60)).await;
        cache.put(CacheKind::Rows, "c2", "k1", vec![2; 100], Duration::from_secs(60)).await;
        assert_eq!(cache.get(CacheKind::Rows, "c1", "k1").await, Some(vec![1; 100]));
        assert_eq!(cache.get(CacheKind::Llm, "c1", "k1").await, None, "kinds are apart");
        cache.put(CacheKind::Rows, "c1", "gone", vec![3; 10], Duration::from_nanos(1)).await;
        assert_eq!(cache.get(CacheKind::Rows, "c1", "gone").await, None, "expired");
        assert_eq!(cache.purge("c1").await.expect("purge"), 1);
        assert_eq!(cache.get(CacheKind::Rows, "c1", "k1").await, None);
        assert_eq!(cache.get(CacheKind::Rows, "c2", "k1").await, Some(vec![2; 100]), "another scope stays");
        // full: the entries nearest to expiring make room
        for i in 0..20 {
            cache.put(CacheKind::Rows, "c3", &format!("k{i}"), vec![0; 200], Duration::from_secs(100 + i)).await;
        }
        assert!(cache.bytes() <= 1000, "{}", cache.bytes());
        assert!(cache.get(CacheKind::Rows, "c3", "k19").await.is_some(), "the newest stays");
        assert!(cache.get(CacheKind::Rows, "c3", "k0").await.is_none(), "the first to expire went");
        cache.put(CacheKind::Rows, "c3", "huge", vec![0; 600], Duration::from_secs(60)).await;
        assert!(cache.get(CacheKind::Rows, "c3", "huge").await.is_none(), "an entry over a quarter is not kept");
    }
}
