//! The template store's rows on PostgreSQL (the checks, the parsed-template cache and the matching are in
//! `crate::templates`, shared with SQLite). Each function is one transaction of the pool.
//!
//! `position` (an identity column) stands for SQLite's rowid: the order templates were added in, the last tie-break.
//! Names sort byte-wise (`COLLATE "C"`) as on SQLite; times are rendered as the RFC 3339 millisecond text SQLite
//! holds.

use datagenie_core::{Dialect, Error};
use tokio_postgres::Row;

use super::sql::{execute, now, query, query_opt};
use super::{PgStore, R, Tx, run};
use crate::model::{Timestamp, new_id};
use crate::templates::{COLUMNS, NewRow, RawRow};

/// A template row read with [`COLUMNS`].
fn raw(row: &Row) -> R<RawRow> {
    Ok(RawRow {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        description: row.try_get(2)?,
        questions: row.try_get(3)?,
        sql: row.try_get(4)?,
        category: row.try_get(5)?,
        public: row.try_get(6)?,
        verified: row.try_get(7)?,
        usage_count: row.try_get(8)?,
        connection: row.try_get(9)?,
        dialect: row.try_get(10)?,
        created_at: row.try_get::<_, Timestamp>(11)?.to_rfc3339(),
        updated_at: row.try_get::<_, Option<Timestamp>>(12)?.map(|t| t.to_rfc3339()),
        owner: row.try_get(13)?,
    })
}

fn raws(rows: &[Row]) -> R<Vec<RawRow>> {
    rows.iter().map(raw).collect()
}

/// Inserts the template unless its database already has one of that name (`None`; a concurrent insert of the same
/// name waits for the other and then finds it taken): the id of the row.
pub(crate) async fn insert(store: &PgStore, row: &NewRow) -> Result<Option<String>, Error> {
    run!(store, write, "cannot add the template", |tx, _| insert_tx(tx, row)).await
}

async fn insert_tx(tx: &Tx<'_>, row: &NewRow) -> R<Option<String>> {
    let inserted = query_opt(
        tx,
        "INSERT INTO query_templates (id, user_id, connection, dialect, name, description, question_template,
             sql_template, category, is_public, is_verified, usage_count, created_at, updated_at)
         VALUES ($1, $11, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $12, NULL)
         ON CONFLICT (connection, name) DO NOTHING
         RETURNING id",
        &[
            &new_id(),
            &row.connection,
            &row.dialect.as_str(),
            &row.name,
            &row.description,
            &row.questions,
            &row.sql,
            &row.category,
            &row.public,
            &row.verified,
            &row.owner,
            &now(),
        ],
    )
    .await?;
    inserted.map(|r| r.try_get::<_, String>(0)).transpose().map_err(Into::into)
}

pub(crate) async fn get(store: &PgStore, id: &str) -> Result<Option<RawRow>, Error> {
    run!(store, read, "cannot read templates", |tx, _| async {
        let row = query_opt(tx, &format!("SELECT {COLUMNS} FROM query_templates WHERE id = $1"), &[&id]).await?;
        row.as_ref().map(raw).transpose()
    })
    .await
}

/// Marks a template verified or not: how many rows changed (0 or 1).
pub(crate) async fn set_verified(store: &PgStore, id: &str, verified: bool) -> Result<u64, Error> {
    run!(store, write, "cannot verify the template", |tx, _| execute(
        tx,
        "UPDATE query_templates SET is_verified = $2, updated_at = $3 WHERE id = $1",
        &[&id, &verified, &now()],
    ))
    .await
}

/// Templates, all or one database's, by database and name (byte-wise), then age.
pub(crate) async fn list(store: &PgStore, connection: Option<&str>) -> Result<Vec<RawRow>, Error> {
    run!(store, read, "cannot list templates", |tx, _| async {
        let rows = query(
            tx,
            &format!(
                "SELECT {COLUMNS} FROM query_templates WHERE $1::text IS NULL OR connection = $1
                 ORDER BY connection COLLATE \"C\", name COLLATE \"C\", created_at, position"
            ),
            &[&connection],
        )
        .await?;
        raws(&rows)
    })
    .await
}

/// The templates with this id or name (within `connection` when given), oldest first.
pub(crate) async fn named(store: &PgStore, key: &str, connection: Option<&str>) -> Result<Vec<RawRow>, Error> {
    run!(store, read, "cannot remove the template", |tx, _| async {
        let rows = query(
            tx,
            &format!(
                "SELECT {COLUMNS} FROM query_templates
                 WHERE (id = $1 OR name = $1) AND ($2::text IS NULL OR connection = $2)
                 ORDER BY created_at, position"
            ),
            &[&key, &connection],
        )
        .await?;
        raws(&rows)
    })
    .await
}

/// Deletes the template with this id: how many rows went (0 or 1).
pub(crate) async fn delete(store: &PgStore, id: &str) -> Result<u64, Error> {
    run!(store, write, "cannot remove the template", |tx, _| execute(
        tx,
        "DELETE FROM query_templates WHERE id = $1",
        &[&id]
    ))
    .await
}

/// The templates that may answer a question on `connection` in `dialect`, oldest first, each with its position.
pub(crate) async fn candidates(
    store: &PgStore,
    connection: &str,
    dialect: Dialect,
    include_unverified: bool,
) -> Result<Vec<(RawRow, i64)>, Error> {
    run!(store, read, "cannot read templates", |tx, _| async {
        let rows = query(
            tx,
            &format!(
                "SELECT {COLUMNS}, position FROM query_templates
                 WHERE connection = $1 AND dialect = $2 AND (is_verified OR $3)
                 ORDER BY created_at, position"
            ),
            &[&connection, &dialect.as_str(), &include_unverified],
        )
        .await?;
        rows.iter().map(|r| Ok((raw(r)?, r.try_get::<_, i64>(14)?))).collect::<R<Vec<_>>>()
    })
    .await
}

/// Counts one use, in one statement (concurrent uses wait for the row and all count): the new count, `None` when
/// there is no such template.
pub(crate) async fn record_use(store: &PgStore, id: &str) -> Result<Option<i64>, Error> {
    run!(store, write, "cannot count the template's use", |tx, _| async {
        let row = query_opt(
            tx,
            "UPDATE query_templates SET usage_count = usage_count + 1 WHERE id = $1 RETURNING usage_count",
            &[&id],
        )
        .await?;
        R::Ok(row.map(|r| r.try_get::<_, i64>(0)).transpose()?)
    })
    .await
}
