//! The knowledge store: what people teach DataGenie about one of their databases — glossary terms, descriptions of
//! tables and columns, documents — and the embeddings of texts, in the system database (SQLite migration 0005;
//! the same tables on PostgreSQL).
//!
//! An item belongs to one database, named by the same connection key templates use (`sqlite:///abs/path.db`, a URL
//! without its password: no secrets), and is unique by (connection, kind, name). Its body is JSON, as the caller's
//! types serialize; the store checks only its size. [`KnowledgeStore::version`] moves on with every change to a
//! connection's items (triggers in the schema keep the counter, whatever path writes), for caches built from them.
//!
//! Embeddings ([`KnowledgeStore::vectors`], [`KnowledgeStore::put_vectors`]) are keyed by the text embedded
//! ([`content_key`]: SHA-256, hex) and the model, so one text is embedded once per model, and stored as
//! little-endian `f32`; searching them happens in the caller's process.
//!
//! Like [`crate::TemplateStore`]: the CLI opens it on its own ([`KnowledgeStore::open`]); the server gets it from
//! its store ([`crate::SqliteStore::knowledge`], [`crate::PgStore::knowledge`]), on the same connections. What is
//! checked and encoded is here, shared by both engines; only the row reads and writes differ (below for SQLite,
//! `pg_store/knowledge.rs` for PostgreSQL).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use datagenie_core::{Error, ErrorCode};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::pg_store::{self, PgStore};
use crate::sqlite::{SystemDb, new_uuid};
use crate::templates::{Backend, on_sqlite};

/// The longest name of an item, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The largest body of an item, as JSON text (bytes).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// The longest embedding model name, in characters.
pub const MAX_MODEL_CHARS: usize = 200;
/// The most dimensions of one stored vector.
pub const MAX_VECTOR_DIMS: usize = 65_536;

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KnowledgeKind {
    /// A business term and what it means (name: the term).
    Glossary,
    /// What a table or a column holds (name: `table` or `table.column`).
    Description,
    /// A document about the database (name: its title).
    Document,
}

impl KnowledgeKind {
    /// In the order lists use.
    pub const ALL: &'static [KnowledgeKind] =
        &[KnowledgeKind::Glossary, KnowledgeKind::Description, KnowledgeKind::Document];

    pub fn as_str(self) -> &'static str {
        match self {
            KnowledgeKind::Glossary => "glossary",
            KnowledgeKind::Description => "description",
            KnowledgeKind::Document => "document",
        }
    }

    /// `glossary`, `description` or `document`; anything else is [`ErrorCode::InvalidArgument`].
    pub fn parse(text: &str) -> Result<KnowledgeKind, Error> {
        KnowledgeKind::ALL.iter().copied().find(|k| k.as_str() == text).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidArgument,
                format!("'{text}' is not a kind of knowledge (expected one of: glossary, description, document)"),
            )
        })
    }
}

impl fmt::Display for KnowledgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KnowledgeKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        KnowledgeKind::parse(s)
    }
}

/// A stored item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KnowledgeItem {
    pub id: String,
    /// The database it belongs to (the connection key templates use).
    pub connection: String,
    pub kind: KnowledgeKind,
    /// The glossary term, `table` or `table.column`, or the document's title.
    pub name: String,
    /// The item as JSON.
    pub body: serde_json::Value,
    /// The user who wrote it first (the server's `users.id`); `None` from the CLI.
    pub created_by: Option<String>,
    /// UTC, ISO 8601.
    pub created_at: String,
    /// When its body was last replaced.
    pub updated_at: Option<String>,
}

/// An item to add or replace.
#[derive(Debug, Clone, PartialEq)]
pub struct NewKnowledgeItem {
    pub connection: String,
    pub kind: KnowledgeKind,
    /// Trimmed; 1 to [`MAX_NAME_CHARS`] characters, no control characters.
    pub name: String,
    /// At most [`MAX_BODY_BYTES`] as JSON text.
    pub body: serde_json::Value,
    /// The user writing it (the server; an existing `users.id`); `None` at the command line.
    pub created_by: Option<String>,
}

/// The key of a text's embedding: SHA-256 of its UTF-8 bytes, lower-case hex.
pub fn content_key(text: &str) -> String {
    datagenie_core::schema::hex(&Sha256::digest(text.as_bytes()))
}

/// The system database's knowledge items and embeddings. Cheap to clone (an `Arc` or a pool).
#[derive(Debug, Clone)]
pub struct KnowledgeStore {
    backend: Backend,
}

/// An item to write, checked: its body as JSON text and that text's hash.
pub(crate) struct Upsert {
    pub connection: String,
    pub kind: KnowledgeKind,
    pub name: String,
    /// The body as JSON text (what the hash covers; stored as it is).
    pub body: String,
    pub hash: String,
    pub created_by: Option<String>,
}

/// What an upsert found.
pub(crate) enum Upserted {
    /// The item's id, and whether it was created.
    Done(String, bool),
    /// `created_by` names no user.
    NoUser(String),
}

/// An embedding to store: its key, dimensions and little-endian `f32` bytes.
pub(crate) type Encoded = (String, i64, Vec<u8>);

impl KnowledgeStore {
    /// The knowledge store of an open SQLite system database.
    pub fn new(db: Arc<SystemDb>) -> KnowledgeStore {
        KnowledgeStore { backend: Backend::Sqlite(db) }
    }

    /// The knowledge store of a PostgreSQL system database (see [`crate::PgStore::knowledge`]).
    pub(crate) fn postgres(store: PgStore) -> KnowledgeStore {
        KnowledgeStore { backend: Backend::Postgres(store) }
    }

    /// Opens the SQLite system database at `path` (see [`SystemDb::open`]) for its knowledge. Blocks.
    pub fn open(path: &Path) -> Result<KnowledgeStore, Error> {
        Ok(KnowledgeStore::new(Arc::new(SystemDb::open(path)?)))
    }

    /// The SQLite file it stores in; `None` on PostgreSQL.
    pub fn path(&self) -> Option<&Path> {
        self.backend.path()
    }

    /// Adds the item, or replaces the body of the item with the same connection, kind and name (setting its
    /// `updated_at`; its id, `created_by` and `created_at` stay). Returns the stored item and whether it was
    /// created. Replacing a body by an equal one changes nothing (neither `updated_at` nor [`Self::version`]).
    /// Errors: [`ErrorCode::InvalidArgument`] (an empty connection, a bad name, a body too large),
    /// [`ErrorCode::NotFound`] (`created_by` names no user), [`ErrorCode::SystemDatabase`].
    pub async fn upsert(&self, item: NewKnowledgeItem) -> Result<(KnowledgeItem, bool), Error> {
        let connection = checked_connection(&item.connection)?;
        let name = checked_name(&item.name)?;
        let body = serde_json::to_string(&item.body)
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("the body cannot be written as JSON: {e}")))?;
        if body.len() > MAX_BODY_BYTES {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("the body is {} bytes of JSON; at most {MAX_BODY_BYTES}", body.len()),
            ));
        }
        let hash = content_key(&body);
        let row = Upsert {
            connection: connection.to_string(),
            kind: item.kind,
            name: name.to_string(),
            body,
            hash,
            created_by: item.created_by,
        };
        let outcome = match &self.backend {
            Backend::Sqlite(db) => {
                on_sqlite(db, "cannot store the knowledge item", true, move |conn| upsert(conn, &row)).await?
            }
            Backend::Postgres(pg) => pg_store::knowledge::upsert(pg, &row).await?,
        };
        match outcome {
            Upserted::NoUser(user) => Err(Error::new(ErrorCode::NotFound, format!("no user with the id '{user}'"))),
            Upserted::Done(id, created) => {
                let stored = self.get(&id).await?;
                let stored = stored
                    .ok_or_else(|| Error::new(ErrorCode::Internal, "the knowledge item just stored is missing"))?;
                Ok((stored, created))
            }
        }
    }

    /// A database's items, all or of one kind: by kind (glossary, description, document), then name.
    pub async fn list(&self, connection: &str, kind: Option<KnowledgeKind>) -> Result<Vec<KnowledgeItem>, Error> {
        let connection = connection.trim();
        let rows = match &self.backend {
            Backend::Sqlite(db) => {
                let connection = connection.to_string();
                on_sqlite(db, "cannot list knowledge", false, move |conn| {
                    let mut stmt = conn.prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM knowledge_items WHERE connection = ?1 AND (?2 IS NULL OR kind = ?2)
                         ORDER BY CASE kind WHEN 'glossary' THEN 0 WHEN 'description' THEN 1 ELSE 2 END, name, id"
                    ))?;
                    stmt.query_map(params![connection, kind.map(KnowledgeKind::as_str)], RawItem::read)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .await?
            }
            Backend::Postgres(pg) => pg_store::knowledge::list(pg, connection, kind).await?,
        };
        rows.into_iter().map(|r| r.into_item(&self.backend)).collect()
    }

    /// The item with this id, if any.
    pub async fn get(&self, id: &str) -> Result<Option<KnowledgeItem>, Error> {
        let row = match &self.backend {
            Backend::Sqlite(db) => {
                let id = id.to_string();
                on_sqlite(db, "cannot read knowledge", false, move |conn| {
                    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM knowledge_items WHERE id = ?1"))?
                        .query_row([id], RawItem::read)
                        .optional()
                })
                .await?
            }
            Backend::Postgres(pg) => pg_store::knowledge::get(pg, id).await?,
        };
        row.map(|r| r.into_item(&self.backend)).transpose()
    }

    /// Removes the item with this id; `false` when there was none.
    pub async fn remove(&self, id: &str) -> Result<bool, Error> {
        let n = match &self.backend {
            Backend::Sqlite(db) => {
                let id = id.to_string();
                on_sqlite(db, "cannot remove the knowledge item", true, move |conn| {
                    conn.prepare_cached("DELETE FROM knowledge_items WHERE id = ?1")?.execute([id]).map(|n| n as u64)
                })
                .await?
            }
            Backend::Postgres(pg) => pg_store::knowledge::remove(pg, id).await?,
        };
        Ok(n > 0)
    }

    /// Removes a database's item by kind and name (trimmed, as stored); `false` when there was none.
    pub async fn remove_by_name(&self, connection: &str, kind: KnowledgeKind, name: &str) -> Result<bool, Error> {
        let (connection, name) = (connection.trim(), name.trim());
        let n = match &self.backend {
            Backend::Sqlite(db) => {
                let (connection, name) = (connection.to_string(), name.to_string());
                on_sqlite(db, "cannot remove the knowledge item", true, move |conn| {
                    conn.prepare_cached(
                        "DELETE FROM knowledge_items WHERE connection = ?1 AND kind = ?2 AND name = ?3",
                    )?
                    .execute(params![connection, kind.as_str(), name])
                    .map(|n| n as u64)
                })
                .await?
            }
            Backend::Postgres(pg) => pg_store::knowledge::remove_by_name(pg, connection, kind, name).await?,
        };
        Ok(n > 0)
    }

    /// A value that changes whenever the database's items change (added, replaced, removed — by any process), for
    /// caches built from them: a counter, `"0"` for a database that never had any. Never repeats for one database
    /// of one system database.
    pub async fn version(&self, connection: &str) -> Result<String, Error> {
        let connection = connection.trim();
        let v: Option<i64> = match &self.backend {
            Backend::Sqlite(db) => {
                let connection = connection.to_string();
                on_sqlite(db, "cannot read the knowledge version", false, move |conn| {
                    conn.prepare_cached("SELECT version FROM knowledge_versions WHERE connection = ?1")?
                        .query_row([connection], |r| r.get(0))
                        .optional()
                })
                .await?
            }
            Backend::Postgres(pg) => pg_store::knowledge::version(pg, connection).await?,
        };
        Ok(v.unwrap_or(0).to_string())
    }

    /// The stored embeddings by `model` of these content keys ([`content_key`]); keys with none are absent.
    pub async fn vectors(&self, model: &str, keys: &[String]) -> Result<HashMap<String, Vec<f32>>, Error> {
        let wanted: Vec<&str> = keys.iter().map(String::as_str).collect::<HashSet<_>>().into_iter().collect();
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<Encoded> = match &self.backend {
            Backend::Sqlite(db) => {
                let wanted = serde_json::to_string(&wanted)
                    .map_err(|e| Error::new(ErrorCode::Internal, format!("cannot write the keys as JSON: {e}")))?;
                let model = model.to_string();
                on_sqlite(db, "cannot read embeddings", false, move |conn| {
                    conn.prepare_cached(
                        "SELECT content_key, dims, vector FROM knowledge_vectors
                         WHERE model = ?1 AND content_key IN (SELECT value FROM json_each(?2))",
                    )?
                    .query_map(params![model, wanted], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
                })
                .await?
            }
            Backend::Postgres(pg) => pg_store::knowledge::vectors(pg, model, &wanted).await?,
        };
        let mut out = HashMap::with_capacity(rows.len());
        for (key, dims, bytes) in rows {
            if usize::try_from(dims).ok().and_then(|d| d.checked_mul(4)) != Some(bytes.len()) {
                return Err(self.backend.error(
                    "an embedding row is invalid",
                    format!("{key}: {} bytes for {dims} dimensions", bytes.len()),
                ));
            }
            let vector =
                bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect::<Vec<_>>();
            out.insert(key, vector);
        }
        Ok(out)
    }

    /// Stores embeddings by `model`, replacing those of the same key and model, all in one transaction (all or
    /// none). Errors: [`ErrorCode::InvalidArgument`] (a model name empty or too long, a key that is not a
    /// [`content_key`], an empty vector, more than [`MAX_VECTOR_DIMS`] dimensions, a value that is not finite).
    pub async fn put_vectors(&self, model: &str, vectors: &[(String, Vec<f32>)]) -> Result<(), Error> {
        let invalid = |message: String| Error::new(ErrorCode::InvalidArgument, message);
        let n = model.chars().count();
        if model.trim().is_empty() || n > MAX_MODEL_CHARS {
            return Err(invalid(format!("an embedding model is named by 1 to {MAX_MODEL_CHARS} characters")));
        }
        for (key, vector) in vectors {
            if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(invalid(format!("'{key:.80}' is not a content key (64 lower-case hex digits)")));
            }
            if vector.is_empty() || vector.len() > MAX_VECTOR_DIMS {
                return Err(invalid(format!(
                    "the embedding of {key} has {} dimensions; 1 to {MAX_VECTOR_DIMS}",
                    vector.len()
                )));
            }
            if !vector.iter().all(|x| x.is_finite()) {
                return Err(invalid(format!("the embedding of {key} holds a value that is not a finite number")));
            }
        }
        if vectors.is_empty() {
            return Ok(());
        }
        let encoded: Vec<Encoded> = vectors
            .iter()
            .map(|(key, vector)| {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                (key.clone(), i64::try_from(vector.len()).unwrap_or(i64::MAX), bytes)
            })
            .collect();
        match &self.backend {
            Backend::Sqlite(db) => {
                let model = model.to_string();
                on_sqlite(db, "cannot store embeddings", true, move |conn| put_vectors(conn, &model, &encoded)).await
            }
            Backend::Postgres(pg) => pg_store::knowledge::put_vectors(pg, model, encoded).await,
        }
    }
}

/// Adds or replaces the item on SQLite (one IMMEDIATE transaction: what it reads cannot change before it writes).
fn upsert(conn: &mut Connection, row: &Upsert) -> rusqlite::Result<Upserted> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(user) = &row.created_by {
        let known = tx.prepare_cached("SELECT 1 FROM users WHERE id = ?1")?.query_row([user], |_| Ok(())).optional()?;
        if known.is_none() {
            return Ok(Upserted::NoUser(user.clone()));
        }
    }
    let kind = row.kind.as_str();
    let existing: Option<(String, String)> = tx
        .prepare_cached(
            "SELECT id, content_hash FROM knowledge_items WHERE connection = ?1 AND kind = ?2 AND name = ?3",
        )?
        .query_row(params![row.connection, kind, row.name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let outcome = match existing {
        Some((id, stored)) => {
            if stored != row.hash {
                tx.prepare_cached(
                    "UPDATE knowledge_items SET body = ?2, content_hash = ?3,
                         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                     WHERE id = ?1",
                )?
                .execute(params![id, row.body, row.hash])?;
            }
            Upserted::Done(id, false)
        }
        None => {
            let id = new_uuid(&tx)?;
            tx.prepare_cached(
                "INSERT INTO knowledge_items (id, connection, kind, name, body, content_hash, created_by,
                     created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NULL)",
            )?
            .execute(params![id, row.connection, kind, row.name, row.body, row.hash, row.created_by])?;
            Upserted::Done(id, true)
        }
    };
    tx.commit()?;
    Ok(outcome)
}

/// Stores the encoded embeddings on SQLite, all in one transaction.
fn put_vectors(conn: &mut Connection, model: &str, vectors: &[Encoded]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO knowledge_vectors (content_key, model, dims, vector, created_at)
             VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
             ON CONFLICT (content_key, model) DO UPDATE SET
                 dims = excluded.dims, vector = excluded.vector, created_at = excluded.created_at",
        )?;
        for (key, dims, bytes) in vectors {
            insert.execute(params![key, model, dims, bytes])?;
        }
    }
    tx.commit()
}

/// The connection key, trimmed and non-empty.
fn checked_connection(connection: &str) -> Result<&str, Error> {
    let c = connection.trim();
    if c.is_empty() {
        return Err(Error::new(ErrorCode::InvalidArgument, "a knowledge item needs the database it belongs to"));
    }
    Ok(c)
}

/// The name, trimmed: 1 to [`MAX_NAME_CHARS`] characters without control characters.
fn checked_name(name: &str) -> Result<&str, Error> {
    let v = name.trim();
    if v.is_empty() {
        return Err(Error::new(ErrorCode::InvalidArgument, "a knowledge item needs a name"));
    }
    let n = v.chars().count();
    if n > MAX_NAME_CHARS {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("the name of a knowledge item is {n} characters long; at most {MAX_NAME_CHARS}"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::new(ErrorCode::InvalidArgument, "the name of a knowledge item contains control characters"));
    }
    Ok(v)
}

/// The columns an item is read from on SQLite, in [`RawItem`]'s order.
const COLUMNS: &str = "id, connection, kind, name, body, created_by, created_at, updated_at";

/// A row as stored, before its kind and body are read (the body as JSON text, times as the RFC 3339 millisecond
/// text SQLite holds).
pub(crate) struct RawItem {
    pub id: String,
    pub connection: String,
    pub kind: String,
    pub name: String,
    pub body: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: Option<String>,
}

impl RawItem {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawItem> {
        Ok(RawItem {
            id: r.get(0)?,
            connection: r.get(1)?,
            kind: r.get(2)?,
            name: r.get(3)?,
            body: r.get(4)?,
            created_by: r.get(5)?,
            created_at: r.get(6)?,
            updated_at: r.get(7)?,
        })
    }

    fn into_item(self, backend: &Backend) -> Result<KnowledgeItem, Error> {
        let kind =
            KnowledgeKind::parse(&self.kind).map_err(|e| backend.error("a knowledge row is invalid", e.message))?;
        let body = serde_json::from_str(&self.body)
            .map_err(|e| backend.error("a knowledge row is invalid", format!("{}: {e}", self.id)))?;
        Ok(KnowledgeItem {
            id: self.id,
            connection: self.connection,
            kind,
            name: self.name,
            body,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;
    use serde_json::json;

    const A: &str = "sqlite:///a.db";
    const B: &str = "postgres://reader@db:5432/sales";

    fn store() -> (tempfile::TempDir, KnowledgeStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = KnowledgeStore::open(&dir.path().join("sys").join(crate::SYSTEM_DB_FILE)).expect("open");
        (dir, store)
    }

    fn item(connection: &str, kind: KnowledgeKind, name: &str, body: serde_json::Value) -> NewKnowledgeItem {
        NewKnowledgeItem { connection: connection.into(), kind, name: name.into(), body, created_by: None }
    }

    fn raw(dir: &tempfile::TempDir) -> Connection {
        Connection::open(dir.path().join("sys").join(crate::SYSTEM_DB_FILE)).expect("raw")
    }

    #[test]
    fn kinds_read_and_write_by_name() {
        for k in KnowledgeKind::ALL {
            assert_eq!(KnowledgeKind::parse(k.as_str()).expect("parse"), *k);
            assert_eq!(k.to_string().parse::<KnowledgeKind>().expect("from_str"), *k);
            assert_eq!(serde_json::to_value(k).expect("json"), json!(k.as_str()));
        }
        assert_eq!(KnowledgeKind::parse("Glossary").err().map(|e| e.code), Some(ErrorCode::InvalidArgument));
    }

    #[tokio::test]
    async fn upsert_replace_list_get_and_remove() {
        let (_dir, store) = store();
        let (revenue, created) = store
            .upsert(item(A, KnowledgeKind::Glossary, " revenue ", json!({"definition": "sum of paid orders"})))
            .await
            .expect("add");
        assert!(created);
        assert_eq!(revenue.id.len(), 36);
        assert_eq!((revenue.connection.as_str(), revenue.name.as_str()), (A, "revenue"), "trimmed");
        assert_eq!(revenue.kind, KnowledgeKind::Glossary);
        assert_eq!(revenue.body, json!({"definition": "sum of paid orders"}));
        assert_eq!((revenue.created_by.as_deref(), revenue.updated_at.as_deref()), (None, None));
        assert!(revenue.created_at.ends_with('Z'), "{}", revenue.created_at);
        assert_eq!(store.get(&revenue.id).await.expect("get"), Some(revenue.clone()));

        // The same connection, kind and name: the body is replaced, the id and creation stay.
        let (replaced, created) = store
            .upsert(item(A, KnowledgeKind::Glossary, "revenue", json!({"definition": "paid minus refunds"})))
            .await
            .expect("replace");
        assert!(!created);
        assert_eq!(
            (replaced.id.as_str(), replaced.created_at.as_str()),
            (revenue.id.as_str(), revenue.created_at.as_str())
        );
        assert_eq!(replaced.body, json!({"definition": "paid minus refunds"}));
        assert!(replaced.updated_at.is_some());

        // The same name under another kind or database is another item.
        store.upsert(item(A, KnowledgeKind::Document, "revenue", json!({"text": "how we count"}))).await.expect("doc");
        store.upsert(item(A, KnowledgeKind::Description, "orders.amount", json!({"text": "KRW"}))).await.expect("col");
        store
            .upsert(item(A, KnowledgeKind::Description, "orders", json!({"text": "one per order"})))
            .await
            .expect("table");
        store
            .upsert(item(A, KnowledgeKind::Glossary, "AOV", json!({"definition": "average order value"})))
            .await
            .expect("g");
        store.upsert(item(B, KnowledgeKind::Glossary, "revenue", json!({"definition": "other db"}))).await.expect("b");

        let listed: Vec<(KnowledgeKind, String)> =
            store.list(A, None).await.expect("list").into_iter().map(|i| (i.kind, i.name)).collect();
        assert_eq!(
            listed,
            vec![
                (KnowledgeKind::Glossary, "AOV".to_string()),
                (KnowledgeKind::Glossary, "revenue".to_string()),
                (KnowledgeKind::Description, "orders".to_string()),
                (KnowledgeKind::Description, "orders.amount".to_string()),
                (KnowledgeKind::Document, "revenue".to_string()),
            ]
        );
        let glossary = store.list(A, Some(KnowledgeKind::Glossary)).await.expect("list");
        assert_eq!(glossary.len(), 2);
        assert_eq!(glossary[1], replaced);
        assert_eq!(store.list(B, None).await.expect("list b").len(), 1);
        assert!(store.list("sqlite:///none.db", None).await.expect("list none").is_empty());

        assert!(store.remove(&revenue.id).await.expect("remove"));
        assert!(!store.remove(&revenue.id).await.expect("remove again"));
        assert_eq!(store.get(&revenue.id).await.expect("get"), None);
        assert!(store.remove_by_name(A, KnowledgeKind::Description, " orders.amount ").await.expect("by name"));
        assert!(!store.remove_by_name(A, KnowledgeKind::Description, "orders.amount").await.expect("by name again"));
        assert!(!store.remove_by_name(A, KnowledgeKind::Glossary, "orders").await.expect("another kind"));
        assert_eq!(store.list(A, None).await.expect("list").len(), 3);
        assert_eq!(store.list(B, None).await.expect("list b").len(), 1, "another database keeps its items");
    }

    #[tokio::test]
    async fn the_version_moves_with_every_change_of_that_database_only() {
        let (dir, store) = store();
        assert_eq!(store.version(A).await.expect("version"), "0");
        let mut seen = vec![store.version(A).await.expect("version")];
        async fn changed(store: &KnowledgeStore, seen: &mut Vec<String>, what: &str) {
            let v = store.version(A).await.expect("version");
            assert!(!seen.contains(&v), "{what}: the version {v} was seen before ({seen:?})");
            seen.push(v);
        }
        let (g, _) = store.upsert(item(A, KnowledgeKind::Glossary, "g", json!(1))).await.expect("add");
        changed(&store, &mut seen, "add").await;
        store.upsert(item(A, KnowledgeKind::Glossary, "g", json!(2))).await.expect("replace");
        changed(&store, &mut seen, "replace").await;
        // an equal body changes nothing, nor does another database's change or a read
        let before = store.version(A).await.expect("version");
        let (same, created) = store.upsert(item(A, KnowledgeKind::Glossary, "g", json!(2))).await.expect("same");
        assert!(!created);
        store.upsert(item(B, KnowledgeKind::Glossary, "g", json!(1))).await.expect("b");
        store.list(A, None).await.expect("list");
        assert_eq!(store.version(A).await.expect("version"), before);
        assert_eq!(store.get(&g.id).await.expect("get"), Some(same));
        assert_eq!(store.version(B).await.expect("version b"), "1");

        store.upsert(item(A, KnowledgeKind::Document, "d", json!({"text": "x"}))).await.expect("doc");
        changed(&store, &mut seen, "another item").await;
        store.remove_by_name(A, KnowledgeKind::Document, "d").await.expect("remove");
        changed(&store, &mut seen, "remove by name").await;
        store.remove(&g.id).await.expect("remove");
        changed(&store, &mut seen, "remove: the database is empty again").await;
        assert!(store.list(A, None).await.expect("list").is_empty());
        // a change made around the store counts too
        store.upsert(item(A, KnowledgeKind::Glossary, "g", json!(3))).await.expect("again");
        changed(&store, &mut seen, "add again").await;
        raw(&dir).execute("UPDATE knowledge_items SET body = '4' WHERE connection = ?1", [A]).expect("raw");
        changed(&store, &mut seen, "a raw edit").await;
    }

    #[tokio::test]
    async fn bounds_are_refused_as_invalid_arguments() {
        let (dir, store) = store();
        let big = json!({"text": "x".repeat(MAX_BODY_BYTES)});
        let cases = [
            item(A, KnowledgeKind::Glossary, "", json!(1)),
            item(A, KnowledgeKind::Glossary, "   ", json!(1)),
            item(A, KnowledgeKind::Glossary, &"n".repeat(MAX_NAME_CHARS + 1), json!(1)),
            item(A, KnowledgeKind::Glossary, "tab\there", json!(1)),
            item(" ", KnowledgeKind::Glossary, "n", json!(1)),
            item(A, KnowledgeKind::Document, "big", big),
        ];
        for case in cases {
            let shown = format!("{:.120}", format!("{case:?}"));
            let e = store.upsert(case).await.expect_err("refused");
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{shown}: {}", e.message);
            assert!(e.message.len() < 200, "a short message: {}", e.message);
        }
        assert!(store.list(A, None).await.expect("list").is_empty());
        // the limits themselves are allowed: 200 characters (not bytes), a body of exactly 2 MiB
        let name = "매".repeat(MAX_NAME_CHARS);
        store.upsert(item(A, KnowledgeKind::Glossary, &name, json!(1))).await.expect("200 characters");
        let exact = json!("x".repeat(MAX_BODY_BYTES - 2));
        store.upsert(item(A, KnowledgeKind::Document, "exact", exact)).await.expect("2 MiB");

        // created_by is a user of the server
        let mut by = item(A, KnowledgeKind::Glossary, "owned", json!(1));
        by.created_by = Some("00000000-0000-4000-8000-000000000000".into());
        assert_eq!(store.upsert(by.clone()).await.err().map(|e| e.code), Some(ErrorCode::NotFound));
        raw(&dir)
            .execute(
                "INSERT INTO users (id, username, email, password_hash, created_at, updated_at)
                 VALUES ('00000000-0000-4000-8000-000000000000', 'kim', 'kim@example.com', 'h', 't', 't')",
                [],
            )
            .expect("user");
        let (owned, _) = store.upsert(by).await.expect("owned");
        assert_eq!(owned.created_by.as_deref(), Some("00000000-0000-4000-8000-000000000000"));
        // deleting the user keeps the item
        raw(&dir)
            .execute_batch("PRAGMA foreign_keys = ON; DELETE FROM users WHERE username = 'kim';")
            .expect("delete user");
        assert_eq!(store.get(&owned.id).await.expect("get").map(|i| i.created_by), Some(None));
    }

    #[tokio::test]
    async fn vectors_round_trip_bit_exact_and_bad_ones_are_refused() {
        let (dir, store) = store();
        let (k1, k2, k3) = (content_key("revenue"), content_key("매출"), content_key("unknown"));
        assert_eq!(k1.len(), 64);
        assert_eq!(k1, content_key("revenue"));
        let v1 = vec![0.1_f32, -0.0, f32::MIN_POSITIVE, f32::MAX, -1.5e-42, 1.0 / 3.0];
        let v2: Vec<f32> = (0..1536).map(|i| (i as f32).sin() / 7.0).collect();
        store
            .put_vectors("text-embedding-3-small", &[(k1.clone(), v1.clone()), (k2.clone(), v2.clone())])
            .await
            .expect("put");
        let got = store
            .vectors("text-embedding-3-small", &[k1.clone(), k2.clone(), k3.clone(), k1.clone()])
            .await
            .expect("get");
        assert_eq!(got.len(), 2, "the unknown key is absent");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got[&k1]), bits(&v1));
        assert_eq!(bits(&got[&k2]), bits(&v2));
        // another model is another embedding
        assert!(store.vectors("other-model", std::slice::from_ref(&k1)).await.expect("get").is_empty());
        assert!(store.vectors("text-embedding-3-small", &[]).await.expect("none").is_empty());
        // a second put replaces
        store.put_vectors("text-embedding-3-small", &[(k1.clone(), vec![2.0, 3.0])]).await.expect("replace");
        assert_eq!(
            store.vectors("text-embedding-3-small", std::slice::from_ref(&k1)).await.expect("get")[&k1],
            vec![2.0, 3.0]
        );

        // refused, and nothing of the batch is written
        type Batch = Vec<(String, Vec<f32>)>;
        let bad: [(&str, Batch); 6] = [
            ("m", vec![(k3.clone(), vec![1.0]), (k1.to_uppercase(), vec![1.0])]),
            ("m", vec![(k3.clone(), vec![1.0]), ("abc".into(), vec![1.0])]),
            ("m", vec![(k3.clone(), vec![1.0]), (k2.clone(), vec![])]),
            ("m", vec![(k3.clone(), vec![1.0]), (k2.clone(), vec![f32::NAN])]),
            ("m", vec![(k3.clone(), vec![1.0]), (k2.clone(), vec![0.0; MAX_VECTOR_DIMS + 1])]),
            (" ", vec![(k3.clone(), vec![1.0])]),
        ];
        for (model, vectors) in bad {
            let e = store.put_vectors(model, &vectors).await.expect_err("refused");
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{}", e.message);
        }
        assert!(store.vectors("m", std::slice::from_ref(&k3)).await.expect("get").is_empty());

        // the schema refuses a blob whose length is not dims × 4
        let r = raw(&dir).execute(
            "INSERT INTO knowledge_vectors (content_key, model, dims, vector, created_at) VALUES (?1, 'm', 2, ?2, 't')",
            params![k3, vec![0u8; 7]],
        );
        assert!(r.is_err_and(|e| e.to_string().contains("CHECK")));
    }

    #[tokio::test]
    async fn everything_survives_reopening() {
        let (dir, store) = store();
        let (added, _) = store
            .upsert(item(A, KnowledgeKind::Description, "orders", json!({"text": "주문", "n": 1.25})))
            .await
            .expect("add");
        let key = content_key("orders: 주문");
        let vector = vec![0.25_f32, -7.5, 1e-30];
        store.put_vectors("m", &[(key.clone(), vector.clone())]).await.expect("put");
        let version = store.version(A).await.expect("version");
        drop(store);
        let store = KnowledgeStore::open(&dir.path().join("sys").join(crate::SYSTEM_DB_FILE)).expect("reopen");
        assert_eq!(store.list(A, None).await.expect("list"), vec![added]);
        assert_eq!(store.vectors("m", std::slice::from_ref(&key)).await.expect("get")[&key], vector);
        assert_eq!(store.version(A).await.expect("version"), version);
    }
}
