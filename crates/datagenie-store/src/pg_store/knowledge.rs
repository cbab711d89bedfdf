//! The knowledge store's rows on PostgreSQL (the checks and the vector encoding are in `crate::knowledge`, shared
//! with SQLite). Each function is one transaction of the pool.
//!
//! Bodies are `json` (read back as their JSON text), vectors `bytea`, times `timestamptz` rendered as the RFC 3339
//! millisecond text SQLite holds; names sort byte-wise (`COLLATE "C"`). `knowledge_versions` is kept by a trigger.

use datagenie_core::Error;
use tokio_postgres::Row;

use super::sql::{execute, now, query, query_opt};
use super::{PgStore, R, Tx, run};
use crate::knowledge::{Encoded, KnowledgeKind, RawItem, Upsert, Upserted};
use crate::model::{Timestamp, new_id};

/// The columns an item is read from, in [`RawItem`]'s order.
const COLUMNS: &str = "id, connection, kind, name, body::text, created_by, created_at, updated_at";

fn raw(row: &Row) -> R<RawItem> {
    Ok(RawItem {
        id: row.try_get(0)?,
        connection: row.try_get(1)?,
        kind: row.try_get(2)?,
        name: row.try_get(3)?,
        body: row.try_get(4)?,
        created_by: row.try_get(5)?,
        created_at: row.try_get::<_, Timestamp>(6)?.to_rfc3339(),
        updated_at: row.try_get::<_, Option<Timestamp>>(7)?.map(|t| t.to_rfc3339()),
    })
}

/// Adds the item or replaces its body (see [`crate::KnowledgeStore::upsert`]). Concurrent upserts of one item wait
/// for each other: the insert yields to a row of the same (connection, kind, name) — waiting for its transaction —
/// and the replacement locks that row first.
pub(crate) async fn upsert(store: &PgStore, row: &Upsert) -> Result<Upserted, Error> {
    run!(store, write, "cannot store the knowledge item", |tx, _| upsert_tx(tx, row)).await
}

/// How many times an upsert tries again when the item it yielded to was removed before it could lock it.
const UPSERT_TRIES: usize = 8;

async fn upsert_tx(tx: &Tx<'_>, row: &Upsert) -> R<Upserted> {
    if let Some(user) = &row.created_by {
        // KEY SHARE: the user cannot be deleted before this transaction ends (the item would refer to no one).
        if query_opt(tx, "SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE", &[user]).await?.is_none() {
            return Ok(Upserted::NoUser(user.clone()));
        }
    }
    let kind = row.kind.as_str();
    for _ in 0..UPSERT_TRIES {
        let inserted = query_opt(
            tx,
            "INSERT INTO knowledge_items (id, connection, kind, name, body, content_hash, created_by, created_at,
                 updated_at)
             VALUES ($1, $2, $3, $4, $5::text::json, $6, $7, $8, NULL)
             ON CONFLICT (connection, kind, name) DO NOTHING
             RETURNING id",
            &[&new_id(), &row.connection, &kind, &row.name, &row.body, &row.hash, &row.created_by, &now()],
        )
        .await?;
        if let Some(r) = inserted {
            return Ok(Upserted::Done(r.try_get(0)?, true));
        }
        let existing = query_opt(
            tx,
            "SELECT id, content_hash FROM knowledge_items WHERE connection = $1 AND kind = $2 AND name = $3
             FOR UPDATE",
            &[&row.connection, &kind, &row.name],
        )
        .await?;
        let Some(existing) = existing else { continue };
        let (id, stored): (String, String) = (existing.try_get(0)?, existing.try_get(1)?);
        if stored != row.hash {
            execute(
                tx,
                "UPDATE knowledge_items SET body = $2::text::json, content_hash = $3, updated_at = $4 WHERE id = $1",
                &[&id, &row.body, &row.hash, &now()],
            )
            .await?;
        }
        return Ok(Upserted::Done(id, false));
    }
    Err(super::Fail::Pool(format!(
        "the item was removed by another writer {UPSERT_TRIES} times while this one stored it; try again"
    )))
}

/// A database's items, all or of one kind: by kind (glossary, description, document), then name (byte-wise).
pub(crate) async fn list(
    store: &PgStore,
    connection: &str,
    kind: Option<KnowledgeKind>,
) -> Result<Vec<RawItem>, Error> {
    let kind = kind.map(KnowledgeKind::as_str);
    run!(store, read, "cannot list knowledge", |tx, _| async {
        let rows = query(
            tx,
            &format!(
                "SELECT {COLUMNS} FROM knowledge_items WHERE connection = $1 AND ($2::text IS NULL OR kind = $2)
                 ORDER BY CASE kind WHEN 'glossary' THEN 0 WHEN 'description' THEN 1 ELSE 2 END,
                     name COLLATE \"C\", id COLLATE \"C\""
            ),
            &[&connection, &kind],
        )
        .await?;
        rows.iter().map(raw).collect::<R<Vec<_>>>()
    })
    .await
}

pub(crate) async fn get(store: &PgStore, id: &str) -> Result<Option<RawItem>, Error> {
    run!(store, read, "cannot read knowledge", |tx, _| async {
        let row = query_opt(tx, &format!("SELECT {COLUMNS} FROM knowledge_items WHERE id = $1"), &[&id]).await?;
        row.as_ref().map(raw).transpose()
    })
    .await
}

/// Deletes the item with this id: how many rows went (0 or 1).
pub(crate) async fn remove(store: &PgStore, id: &str) -> Result<u64, Error> {
    run!(store, write, "cannot remove the knowledge item", |tx, _| execute(
        tx,
        "DELETE FROM knowledge_items WHERE id = $1",
        &[&id]
    ))
    .await
}

/// Deletes a database's item by kind and name: how many rows went (0 or 1).
pub(crate) async fn remove_by_name(
    store: &PgStore,
    connection: &str,
    kind: KnowledgeKind,
    name: &str,
) -> Result<u64, Error> {
    let kind = kind.as_str();
    run!(store, write, "cannot remove the knowledge item", |tx, _| execute(
        tx,
        "DELETE FROM knowledge_items WHERE connection = $1 AND kind = $2 AND name = $3",
        &[&connection, &kind, &name],
    ))
    .await
}

/// The counter of a database's items, `None` when it never had any.
pub(crate) async fn version(store: &PgStore, connection: &str) -> Result<Option<i64>, Error> {
    run!(store, read, "cannot read the knowledge version", |tx, _| async {
        let row = query_opt(tx, "SELECT version FROM knowledge_versions WHERE connection = $1", &[&connection]).await?;
        R::Ok(row.map(|r| r.try_get::<_, i64>(0)).transpose()?)
    })
    .await
}

/// The stored embeddings by `model` of these (distinct) keys: key, dimensions, bytes.
pub(crate) async fn vectors(store: &PgStore, model: &str, keys: &[&str]) -> Result<Vec<Encoded>, Error> {
    run!(store, read, "cannot read embeddings", |tx, _| async {
        let rows = query(
            tx,
            "SELECT content_key, dims, vector FROM knowledge_vectors WHERE model = $1 AND content_key = ANY($2)",
            &[&model, &keys],
        )
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<_, String>(0)?, i64::from(r.try_get::<_, i32>(1)?), r.try_get::<_, Vec<u8>>(2)?)))
            .collect::<R<Vec<_>>>()
    })
    .await
}

/// Stores the encoded embeddings by `model`, replacing those of the same key and model, in one transaction. The
/// rows are written in key order (a repeated key: the last one stays), so two servers storing overlapping batches
/// lock them in the same order and wait for each other instead of deadlocking.
pub(crate) async fn put_vectors(store: &PgStore, model: &str, mut vectors: Vec<Encoded>) -> Result<(), Error> {
    vectors.sort_by(|a, b| a.0.cmp(&b.0));
    run!(store, write, "cannot store embeddings", |tx, _| async {
        let at = now();
        for (key, dims, bytes) in &vectors {
            let dims = i32::try_from(*dims).map_err(|_| super::invalid(format!("{dims} dimensions are too many")))?;
            execute(
                tx,
                "INSERT INTO knowledge_vectors (content_key, model, dims, vector, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (content_key, model) DO UPDATE SET
                     dims = EXCLUDED.dims, vector = EXCLUDED.vector, created_at = EXCLUDED.created_at",
                &[key, &model, &dims, bytes, &at],
            )
            .await?;
        }
        R::Ok(())
    })
    .await
}
