//! The on-disk schema cache (seed 001 `database_schemas`): one JSON snapshot per database, keyed by the connector's
//! description, holding the schema, its structure hash and the connector's fingerprint. A snapshot is used only while
//! the fingerprint still matches and it is younger than the configured age; otherwise the database is introspected
//! again and the snapshot replaced atomically. A corrupt or unreadable snapshot is ignored, never fatal.
//!
//! The snapshots read or taken are also kept in memory, shared (`Arc<Schema>`), under the same rule (the fingerprint
//! is asked of the database on every load): a server answering many questions reads and parses a snapshot once, not
//! per question, and every memo keyed by the schema (prompt form, visible parts, the built-in engine) sees the same
//! `Arc` until the database changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use datagenie_core::connector::{Connector, IntrospectOptions};
use datagenie_core::schema::{Schema, hex};
use datagenie_core::{Error, ErrorCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    /// Format version of this file.
    version: u32,
    /// The connector's cheap fingerprint when the snapshot was taken.
    fingerprint: String,
    /// `Schema::structure_hash` (seed 001 `schema_hash`).
    schema_hash: String,
    /// Seconds since the Unix epoch.
    introspected_at: u64,
    table_count: usize,
    schema: Schema,
}

const SNAPSHOT_VERSION: u32 = 1;

/// How the schema was obtained, for reports and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaSource {
    Cache,
    Introspected,
}

pub struct SchemaCache {
    dir: PathBuf,
    max_age: Duration,
    memory: Mutex<HashMap<PathBuf, Remembered>>,
}

/// A snapshot kept in memory.
struct Remembered {
    fingerprint: String,
    introspected_at: u64,
    schema: Arc<Schema>,
}

/// Databases whose schemas are kept in memory before the memory starts afresh (an evaluation over many databases).
const REMEMBERED: usize = 1024;

impl SchemaCache {
    pub fn new(dir: impl Into<PathBuf>, max_age: Duration) -> Self {
        SchemaCache { dir: dir.into(), max_age, memory: Mutex::new(HashMap::new()) }
    }

    /// The directory the snapshots are kept under.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How long a snapshot stays valid.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    fn path_for(&self, connector: &dyn Connector) -> PathBuf {
        let key = hex(&Sha256::digest(connector.describe().as_bytes()));
        self.dir.join("schemas").join(format!("{}.json", &key[..32]))
    }

    /// The schema of `connector`'s database, from the cache when still valid, else freshly introspected and cached.
    /// Failing to write the cache is logged and otherwise ignored: the answer does not depend on it.
    pub async fn load(
        &self,
        connector: &dyn Connector,
        options: &IntrospectOptions,
    ) -> Result<(Arc<Schema>, SchemaSource), Error> {
        let fingerprint = connector.schema_fingerprint().await?;
        let path = self.path_for(connector);
        if let Some(schema) = self.remembered(&path, &fingerprint) {
            return Ok((schema, SchemaSource::Cache));
        }
        if let Some((schema, introspected_at)) = self.read_valid(&path, &fingerprint) {
            let schema = Arc::new(schema);
            self.remember(path, fingerprint, introspected_at, schema.clone());
            return Ok((schema, SchemaSource::Cache));
        }
        let schema = connector.introspect(options).await?;
        let snapshot = Snapshot {
            version: SNAPSHOT_VERSION,
            fingerprint,
            schema_hash: schema.structure_hash(),
            introspected_at: now_secs(),
            table_count: schema.tables.len(),
            schema,
        };
        if let Err(e) = write_atomically(&path, &snapshot) {
            tracing::warn!(error = %e, "could not write the schema cache");
        }
        let schema = Arc::new(snapshot.schema);
        self.remember(path, snapshot.fingerprint, snapshot.introspected_at, schema.clone());
        Ok((schema, SchemaSource::Introspected))
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Remembered>> {
        self.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The schema in memory, under the same rule as a snapshot on disk: same fingerprint, not too old.
    fn remembered(&self, path: &Path, fingerprint: &str) -> Option<Arc<Schema>> {
        let memory = self.memory();
        let r = memory.get(path)?;
        let fresh = now_secs().saturating_sub(r.introspected_at) <= self.max_age.as_secs();
        (fresh && r.fingerprint == fingerprint).then(|| r.schema.clone())
    }

    fn remember(&self, path: PathBuf, fingerprint: String, introspected_at: u64, schema: Arc<Schema>) {
        let mut memory = self.memory();
        if memory.len() >= REMEMBERED && !memory.contains_key(&path) {
            memory.clear();
        }
        memory.insert(path, Remembered { fingerprint, introspected_at, schema });
    }

    fn read_valid(&self, path: &Path, fingerprint: &str) -> Option<(Schema, u64)> {
        let bytes = std::fs::read(path).ok()?;
        let snap: Snapshot = match serde_json::from_slice(&bytes) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable schema snapshot");
                return None;
            }
        };
        let age = now_secs().saturating_sub(snap.introspected_at);
        let fresh = age <= self.max_age.as_secs();
        let valid = snap.version == SNAPSHOT_VERSION
            && snap.fingerprint == fingerprint
            && snap.schema_hash == snap.schema.structure_hash();
        (valid && fresh).then_some((snap.schema, snap.introspected_at))
    }
}

/// Seconds since the Unix epoch (snapshot ages).
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Writes `snapshot` as JSON to a temporary file beside `path`, then renames it over `path`: a reader sees the old
/// snapshot or the new one, never half of one.
pub(crate) fn write_atomically(path: &Path, snapshot: &impl Serialize) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::new(ErrorCode::OutputFailed, format!("{}: {e}", path.display()));
    let dir = path.parent().ok_or_else(|| Error::new(ErrorCode::Internal, "cache path has no parent"))?;
    std::fs::create_dir_all(dir).map_err(io)?;
    let bytes = serde_json::to_vec(snapshot).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_connectors::SqliteConnector;

    fn fixture(dir: &Path) -> SqliteConnector {
        let path = dir.join("db.sqlite");
        let c = rusqlite::Connection::open(&path).expect("create");
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a');")
            .expect("fill");
        drop(c);
        SqliteConnector::open(&path).expect("open")
    }

    #[tokio::test]
    async fn introspects_once_then_reads_the_snapshot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = fixture(dir.path());
        let cache = SchemaCache::new(dir.path().join("cache"), Duration::from_secs(3600));
        let opts = IntrospectOptions::default();
        let (s1, src1) = cache.load(&conn, &opts).await.expect("first");
        let (s2, src2) = cache.load(&conn, &opts).await.expect("second");
        assert_eq!((src1, src2), (SchemaSource::Introspected, SchemaSource::Cache));
        assert!(Arc::ptr_eq(&s1, &s2), "the same snapshot is shared, not read again");
        // Another process (a new cache) reads the snapshot from disk.
        let other = SchemaCache::new(dir.path().join("cache"), Duration::from_secs(3600));
        let (s3, src3) = other.load(&conn, &opts).await.expect("third");
        assert_eq!((src3, &*s3), (SchemaSource::Cache, &*s1));
        // A change to the database is seen at once, in memory too.
        let c = rusqlite::Connection::open(dir.path().join("db.sqlite")).expect("open");
        c.execute_batch("CREATE TABLE u (id INTEGER PRIMARY KEY);").expect("alter");
        drop(c);
        let (s4, src4) = cache.load(&conn, &opts).await.expect("after the change");
        assert_eq!((src4, s4.tables.len()), (SchemaSource::Introspected, 2));
    }

    #[tokio::test]
    async fn corrupt_or_stale_snapshots_are_replaced_not_fatal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = fixture(dir.path());
        let cache = SchemaCache::new(dir.path().join("cache"), Duration::from_secs(3600));
        let opts = IntrospectOptions::default();
        cache.load(&conn, &opts).await.expect("first");
        let path = cache.path_for(&conn);
        std::fs::write(&path, b"{ not json").expect("corrupt");
        // Each check below is a new process: a new cache, with nothing in memory.
        let fresh = || SchemaCache::new(dir.path().join("cache"), Duration::from_secs(3600));
        let (_, src) = fresh().load(&conn, &opts).await.expect("corrupt is ignored");
        assert_eq!(src, SchemaSource::Introspected);
        // A snapshot older than the maximum age is refreshed.
        let strict = SchemaCache::new(dir.path().join("cache"), Duration::ZERO);
        let mut snap: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        snap["introspected_at"] = serde_json::json!(1);
        std::fs::write(&path, serde_json::to_vec(&snap).expect("ser")).expect("write");
        assert_eq!(strict.load(&conn, &opts).await.expect("stale").1, SchemaSource::Introspected);
        // A snapshot whose schema was edited no longer matches its own hash and is not trusted.
        let mut snap: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        snap["schema"]["tables"][0]["name"] = serde_json::json!("evil");
        std::fs::write(&path, serde_json::to_vec(&snap).expect("ser")).expect("write");
        let (schema, src) = fresh().load(&conn, &opts).await.expect("tampered");
        assert_eq!(src, SchemaSource::Introspected);
        assert_eq!(schema.tables[0].name, "t");
    }
}
