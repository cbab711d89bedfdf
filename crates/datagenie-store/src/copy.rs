//! `datagenie system-db copy`: moves an installation's whole state between the two engines — from the SQLite file to
//! a PostgreSQL database when one server becomes several, and back.
//!
//! The target must be a fresh system database (migrated, with nothing of its own: no users, connections, history,
//! audit rows, templates or knowledge); its seeded rows (settings, the audit chain's head, knowledge versions) are
//! replaced by the source's. Everything is copied in ONE transaction of the target — all of it, or nothing —, table
//! by table in an order that satisfies the foreign keys, every row as it is: ids, times, the sealed connection URLs
//! (both servers must use the same `DATAGENIE_SECRET_KEY`), the audit chain with its hashes and its anchor (the
//! last row retention removed). Afterwards the row counts are compared table by table and the target's audit chain
//! is verified.
//!
//! Values are converted by the target column's type: SQLite's RFC 3339 text ⇄ `timestamptz`, 0/1 ⇄ `boolean`, JSON
//! text ⇄ `json`, BLOB ⇄ `bytea`. Rows go into PostgreSQL through the binary COPY protocol.

use std::collections::HashMap;

use datagenie_core::{Error, ErrorCode};
use futures_util::pin_mut;
use rusqlite::types::Value as SqlValue;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use crate::model::Timestamp;
use crate::pg_store::{Mode, PgStore, begin, pg_message};
use crate::sqlite_store::SqliteStore;

/// Every table of the system database, parents before children. A migration that adds a table adds it here (a test
/// compares this list with both engines' tables).
pub const TABLES: &[&str] = &[
    "users",
    "user_sessions",
    "refresh_tokens",
    "api_keys",
    "database_connections",
    "connection_permissions",
    "file_contents",
    "chat_sessions",
    "chat_messages",
    "query_history",
    "analysis_results",
    "query_results",
    "token_usage",
    "api_key_usage",
    "system_settings",
    "audit_logs",
    "audit_chain_head",
    // after the rows and the head: the database checks that the anchor names a row of the chain
    "audit_anchor",
    "events",
    "query_templates",
    "knowledge_items",
    "knowledge_versions",
    "knowledge_vectors",
    "rate_counters",
    "credit_balances",
    "credit_transactions",
    "jobs",
    "job_outputs",
];

/// Tables a fresh system database already has rows in (seeded, or kept by triggers): emptied before the copy.
const SEEDED: &[&str] = &["system_settings", "audit_chain_head", "knowledge_versions"];

/// Tables that must be empty in the target: a database holding any of these is someone's installation.
const MUST_BE_EMPTY: &[&str] = &[
    "users",
    "database_connections",
    "query_history",
    "audit_logs",
    "query_templates",
    "knowledge_items",
    "events",
    "credit_transactions",
];

/// One side of a copy.
pub enum Side<'a> {
    Sqlite(&'a SqliteStore),
    Postgres(&'a PgStore),
}

/// What a copy moved: rows per table, in [`TABLES`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(String, u64)>,
    /// Audit rows whose chain the target verified.
    pub audit_rows: i64,
}

impl CopyReport {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// A value as read from either engine, before it is written in the target's type.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

fn system(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::SystemDatabase, format!("system-db copy: {what}: {e}"))
}

/// Copies every row of `from` into the fresh system database `to` (see the module documentation). Errors:
/// `invalid_argument` for a copy onto the same engine, `already_exists` when the target is not empty,
/// `system_database` for a failure on either side (then the target is unchanged).
pub async fn copy(from: Side<'_>, to: Side<'_>) -> Result<CopyReport, Error> {
    match (from, to) {
        (Side::Sqlite(src), Side::Postgres(dst)) => sqlite_to_postgres(src, dst).await,
        (Side::Postgres(src), Side::Sqlite(dst)) => postgres_to_sqlite(src, dst).await,
        _ => Err(Error::new(
            ErrorCode::InvalidArgument,
            "system-db copy moves between SQLite and PostgreSQL; to copy within one engine, back it up and restore \
             it (`datagenie backup` / `datagenie restore`)",
        )),
    }
}

fn not_empty(table: &str, n: i64) -> Error {
    Error::new(
        ErrorCode::AlreadyExists,
        format!(
            "the target system database is not empty ({n} rows in {table}): copy into a fresh one, so that nothing \
             is overwritten"
        ),
    )
}

/// The columns of `table` on SQLite, in order.
fn sqlite_columns(conn: &rusqlite::Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
    stmt.query_map([table], |r| r.get::<_, String>(0))?.collect()
}

fn sqlite_rows(conn: &rusqlite::Connection, table: &str, columns: &[String]) -> rusqlite::Result<Vec<Vec<Cell>>> {
    let list = columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    let has_rowid = conn.prepare(&format!("SELECT rowid FROM \"{table}\" LIMIT 0")).is_ok();
    let order = if has_rowid { " ORDER BY rowid" } else { "" };
    let mut stmt = conn.prepare(&format!("SELECT {list} FROM \"{table}\"{order}"))?;
    let n = columns.len();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get::<_, SqlValue>(i)? {
                    SqlValue::Null => Cell::Null,
                    SqlValue::Integer(v) => Cell::Int(v),
                    SqlValue::Real(v) => Cell::Real(v),
                    SqlValue::Text(v) => Cell::Text(v),
                    SqlValue::Blob(v) => Cell::Blob(v),
                })
            })
            .collect()
    })?
    .collect()
}

/// A cell as a PostgreSQL value of `ty`.
fn to_pg(cell: Cell, ty: &Type, table: &str, column: &str) -> Result<Box<dyn ToSql + Sync + Send>, Error> {
    let bad = |what: &str| system("a value does not convert", format!("{table}.{column}: {what} for {ty}"));
    Ok(match (cell, ty) {
        (Cell::Null, t) if *t == Type::TIMESTAMPTZ => Box::new(None::<time::OffsetDateTime>),
        (Cell::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
        (Cell::Null, t) if *t == Type::JSONB || *t == Type::JSON => Box::new(None::<serde_json::Value>),
        (Cell::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
        (Cell::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Cell::Null, t) if *t == Type::INT4 => Box::new(None::<i32>),
        (Cell::Null, t) if *t == Type::FLOAT8 => Box::new(None::<f64>),
        (Cell::Null, _) => Box::new(None::<String>),
        (Cell::Text(s), t) if *t == Type::TIMESTAMPTZ => {
            Box::new(Timestamp::parse(&s).map_err(|_| bad("a time that does not read"))?.0)
        }
        (Cell::Int(v), t) if *t == Type::BOOL => Box::new(v != 0),
        (Cell::Text(s), t) if *t == Type::JSONB || *t == Type::JSON => {
            Box::new(serde_json::from_str::<serde_json::Value>(&s).map_err(|_| bad("JSON that does not read"))?)
        }
        (Cell::Blob(b), t) if *t == Type::BYTEA => Box::new(b),
        (Cell::Int(v), t) if *t == Type::INT8 => Box::new(v),
        (Cell::Int(v), t) if *t == Type::INT4 => Box::new(i32::try_from(v).map_err(|_| bad("an integer too large"))?),
        (Cell::Real(v), t) if *t == Type::FLOAT8 => Box::new(v),
        #[allow(clippy::cast_precision_loss)]
        (Cell::Int(v), t) if *t == Type::FLOAT8 => Box::new(v as f64),
        (Cell::Text(s), t) if *t == Type::TEXT || *t == Type::VARCHAR => Box::new(s),
        (Cell::Int(_), _) => return Err(bad("an integer")),
        (Cell::Real(_), _) => return Err(bad("a real number")),
        (Cell::Text(_), _) => return Err(bad("text")),
        (Cell::Blob(_), _) => return Err(bad("a BLOB")),
    })
}

/// The columns of `table` in the PostgreSQL store's schema, with their types, in order (generated columns left
/// out: PostgreSQL fills them).
async fn pg_columns(tx: &tokio_postgres::Transaction<'_>, table: &str) -> Result<Vec<(String, Type)>, Error> {
    let rows = tx
        .query(
            "SELECT a.attname, a.atttypid FROM pg_attribute a
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity = ''
               AND a.attgenerated = ''
             ORDER BY a.attnum",
            &[&table],
        )
        .await
        .map_err(|e| system("cannot read the target's columns", pg_message(&e)))?;
    rows.iter()
        .map(|r| {
            let name: String = r.try_get(0).map_err(|e| system("cannot read the target's columns", e))?;
            let oid: u32 = r.try_get(1).map_err(|e| system("cannot read the target's columns", e))?;
            let ty = Type::from_oid(oid).ok_or_else(|| system("an unknown column type", format!("{table}.{name}")))?;
            Ok((name, ty))
        })
        .collect()
}

async fn sqlite_to_postgres(src: &SqliteStore, dst: &PgStore) -> Result<CopyReport, Error> {
    let mut client = dst.client().await.map_err(|e| e.into_error(dst.server(), "system-db copy"))?;
    let tx = begin(&mut client, Mode::Write).await.map_err(|e| e.into_error(dst.server(), "system-db copy"))?;
    for table in MUST_BE_EMPTY {
        let n: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| system("cannot read the target", pg_message(&e)))?;
        if n > 0 {
            return Err(not_empty(table, n));
        }
    }
    for table in SEEDED {
        tx.batch_execute(&format!("DELETE FROM {table}"))
            .await
            .map_err(|e| system(&format!("cannot empty {table}"), pg_message(&e)))?;
    }
    let mut tables = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let target = pg_columns(&tx, table).await?;
        let (columns, rows) = src.system_db().read("system-db copy: cannot read the source", |conn| {
            let names = sqlite_columns(conn, table)?;
            let wanted: Vec<String> = target.iter().map(|(n, _)| n.clone()).filter(|n| names.contains(n)).collect();
            let rows = sqlite_rows(conn, table, &wanted)?;
            Ok((wanted, rows))
        })?;
        if *table == "knowledge_versions" {
            // the knowledge items just copied moved the target's counters: the source's stand
            tx.batch_execute("DELETE FROM knowledge_versions")
                .await
                .map_err(|e| system("cannot empty knowledge_versions", pg_message(&e)))?;
        }
        let types: HashMap<&str, &Type> = target.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let column_types: Vec<Type> =
            columns.iter().filter_map(|c| types.get(c.as_str()).map(|t| (*t).clone())).collect();
        let list = columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
        let sink = tx
            .copy_in(&format!("COPY {table} ({list}) FROM STDIN (FORMAT binary)"))
            .await
            .map_err(|e| system(&format!("cannot write {table}"), pg_message(&e)))?;
        let writer = BinaryCopyInWriter::new(sink, &column_types);
        pin_mut!(writer);
        let count = rows.len();
        for row in rows {
            let mut values: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(row.len());
            for ((cell, ty), name) in row.into_iter().zip(&column_types).zip(&columns) {
                values.push(to_pg(cell, ty, table, name)?);
            }
            let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| &**v as &(dyn ToSql + Sync)).collect();
            writer.as_mut().write(&refs).await.map_err(|e| system(&format!("cannot write {table}"), pg_message(&e)))?;
        }
        writer.finish().await.map_err(|e| system(&format!("cannot write {table}"), pg_message(&e)))?;
        tables.push(((*table).to_string(), u64::try_from(count).unwrap_or(u64::MAX)));
    }
    tx.commit().await.map_err(|e| system("cannot commit", pg_message(&e)))?;
    drop(client);
    finish(tables, Side::Sqlite(src), Side::Postgres(dst)).await
}

/// A PostgreSQL value of `ty` as a cell.
fn from_pg(row: &tokio_postgres::Row, i: usize, ty: &Type) -> Result<Cell, tokio_postgres::Error> {
    Ok(if *ty == Type::TIMESTAMPTZ {
        row.try_get::<_, Option<Timestamp>>(i)?.map_or(Cell::Null, |t| Cell::Text(t.to_rfc3339()))
    } else if *ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)?.map_or(Cell::Null, |b| Cell::Int(i64::from(b)))
    } else if *ty == Type::JSONB || *ty == Type::JSON {
        row.try_get::<_, Option<serde_json::Value>>(i)?.map_or(Cell::Null, |v| Cell::Text(v.to_string()))
    } else if *ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i)?.map_or(Cell::Null, Cell::Blob)
    } else if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?.map_or(Cell::Null, Cell::Int)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?.map_or(Cell::Null, |v| Cell::Int(i64::from(v)))
    } else if *ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(i)?.map_or(Cell::Null, Cell::Real)
    } else {
        row.try_get::<_, Option<String>>(i)?.map_or(Cell::Null, Cell::Text)
    })
}

fn to_sqlite(cell: Cell) -> SqlValue {
    match cell {
        Cell::Null => SqlValue::Null,
        Cell::Int(v) => SqlValue::Integer(v),
        Cell::Real(v) => SqlValue::Real(v),
        Cell::Text(v) => SqlValue::Text(v),
        Cell::Blob(v) => SqlValue::Blob(v),
    }
}

/// A table read whole: its name, its columns, its rows.
type TableData = (&'static str, Vec<String>, Vec<Vec<Cell>>);

async fn postgres_to_sqlite(src: &PgStore, dst: &SqliteStore) -> Result<CopyReport, Error> {
    let mut client = src.client().await.map_err(|e| e.into_error(src.server(), "system-db copy"))?;
    let tx = begin(&mut client, Mode::Read).await.map_err(|e| e.into_error(src.server(), "system-db copy"))?;
    let mut data: Vec<TableData> = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let columns = pg_columns(&tx, table).await?;
        let list = columns.iter().map(|(c, _)| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
        let order = match *table {
            "query_templates" => " ORDER BY position",
            "audit_logs" | "credit_transactions" | "jobs" => " ORDER BY seq",
            _ => "",
        };
        let rows = tx
            .query(&format!("SELECT {list} FROM {table}{order}"), &[])
            .await
            .map_err(|e| system(&format!("cannot read {table}"), pg_message(&e)))?;
        let mut cells = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut out = Vec::with_capacity(columns.len());
            for (i, (_, ty)) in columns.iter().enumerate() {
                out.push(from_pg(row, i, ty).map_err(|e| system(&format!("cannot read {table}"), e))?);
            }
            cells.push(out);
        }
        data.push((table, columns.into_iter().map(|(c, _)| c).collect(), cells));
    }
    drop(tx);
    drop(client);
    let tables = dst.system_db().with("system-db copy: cannot write the target", |conn| {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for table in MUST_BE_EMPTY {
            let n: i64 = tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
            if n > 0 {
                return Ok(Err(not_empty(table, n)));
            }
        }
        for table in SEEDED {
            tx.execute(&format!("DELETE FROM {table}"), [])?;
        }
        let mut tables = Vec::with_capacity(data.len());
        for (table, columns, rows) in data {
            if table == "knowledge_versions" {
                tx.execute("DELETE FROM knowledge_versions", [])?;
            }
            let present = sqlite_columns(&tx, table)?;
            let keep: Vec<usize> = (0..columns.len()).filter(|i| present.contains(&columns[*i])).collect();
            let list = keep.iter().map(|i| format!("\"{}\"", columns[*i])).collect::<Vec<_>>().join(", ");
            let marks = (1..=keep.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            let mut insert = tx.prepare(&format!("INSERT INTO \"{table}\" ({list}) VALUES ({marks})"))?;
            let count = rows.len();
            for row in rows {
                let mut row: Vec<Option<Cell>> = row.into_iter().map(Some).collect();
                let values: Vec<SqlValue> =
                    keep.iter().map(|i| row[*i].take().map_or(SqlValue::Null, to_sqlite)).collect();
                insert.execute(rusqlite::params_from_iter(values))?;
            }
            tables.push((table.to_string(), u64::try_from(count).unwrap_or(u64::MAX)));
        }
        tx.commit()?;
        Ok(Ok(tables))
    })??;
    finish(tables, Side::Postgres(src), Side::Sqlite(dst)).await
}

/// Compares the counts table by table and verifies the target's audit chain.
async fn finish(tables: Vec<(String, u64)>, from: Side<'_>, to: Side<'_>) -> Result<CopyReport, Error> {
    for (table, copied) in &tables {
        let (a, b) = (count(&from, table).await?, count(&to, table).await?);
        if a != *copied || b != *copied {
            return Err(system(
                "the copy does not match its source",
                format!("{table}: {a} rows in the source, {copied} copied, {b} in the target"),
            ));
        }
    }
    let audit_rows = match to {
        Side::Sqlite(store) => verify(store).await?,
        Side::Postgres(pg) => verify(pg).await?,
    };
    Ok(CopyReport { tables, audit_rows })
}

async fn verify(store: &dyn crate::Store) -> Result<i64, Error> {
    match store.verify_audit().await? {
        Ok(n) => Ok(n),
        Err(broken) => Err(system("the copied audit chain does not verify", format!("{broken:?}"))),
    }
}

async fn count(side: &Side<'_>, table: &str) -> Result<u64, Error> {
    let n: i64 = match side {
        Side::Sqlite(store) => store.system_db().read("system-db copy: cannot count rows", |c| {
            c.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| r.get(0))
        })?,
        Side::Postgres(pg) => {
            let client = pg.client().await.map_err(|e| e.into_error(pg.server(), "system-db copy"))?;
            client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .and_then(|r| r.try_get(0))
                .map_err(|e| system("cannot count rows", pg_message(&e)))?
        }
    };
    Ok(u64::try_from(n).unwrap_or(0))
}
