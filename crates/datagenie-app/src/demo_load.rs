//! `datagenie demo --load URL`: copies the demo database (SQLite, see [`crate::demo`]) into a PostgreSQL or
//! MySQL/MariaDB database, so the same questions can be asked of every engine.
//!
//! This is a loader, deliberately apart from the connectors: connectors are read-only by construction, and this
//! module is the only code in DataGenie that writes to a server — through its own session, with a login the person
//! chose for it, and only DDL and rows it builds from the demo database itself (never LLM or user SQL).
//!
//! What it copies, from SQLite's own catalog (`PRAGMA table_info`, `foreign_key_list`, `index_list`): every table
//! with its columns (types mapped below), `NOT NULL`, primary key, `UNIQUE` constraints, indexes, foreign keys, and
//! the table and column comments of the demo's DDL (`COMMENT ON` in PostgreSQL, `COMMENT` clauses in MySQL).
//! `CHECK` constraints and defaults are not copied (the rows already satisfy them).
//!
//! | SQLite       | PostgreSQL                  | MySQL / MariaDB                                             |
//! |--------------|-----------------------------|-------------------------------------------------------------|
//! | INTEGER      | bigint                      | BIGINT                                                      |
//! | TEXT         | text COLLATE "C"            | VARCHAR(n) (n from the longest value: 32…768), else TEXT    |
//! | DATE         | date                        | DATE                                                        |
//! | DATETIME     | timestamp                   | DATETIME                                                    |
//! | REAL         | double precision            | DOUBLE                                                      |
//! | BLOB         | bytea                       | LONGBLOB                                                    |
//!
//! Text compares and sorts by code point on every engine (`COLLATE "C"`, `utf8mb4_bin`), as SQLite's default
//! `BINARY` collation does, so `ORDER BY name` and `GROUP BY` give the same answers everywhere.
//!
//! Invariants:
//! - **Never overwrites someone else's table.** A table of a demo table's name is recognised as a demo table when its
//!   comment is the demo's comment for that table; loading again replaces demo tables. Any other table of such a
//!   name stops the load with `invalid_argument` before anything is written, unless `replace` is set; then only
//!   tables of the demo's names are dropped (without `CASCADE`: a view of the person's that depends on one makes
//!   the load fail rather than vanish).
//! - **All or nothing on PostgreSQL**: drops, creates, rows, keys and comments are one transaction. MySQL commits
//!   DDL implicitly, so there the rows are one transaction after the tables are created; a failed load leaves demo
//!   tables (recognisable, replaced by the next load) but never a half-written foreign table.
//! - **Fast**: PostgreSQL gets the rows through `COPY … FROM STDIN (FORMAT binary)` with keys and indexes built after
//!   the rows; MySQL through prepared multi-row `INSERT`s (up to 1,000 rows, and at most 60,000 parameters, per
//!   statement) in one transaction with foreign-key checks off (the rows come from a database that enforced them).
//! - Values are bound, never spliced into SQL text; names and comments are quoted for their dialect.
//! - No message, `Debug` or report shows the password.

use std::path::Path;
use std::time::{Duration, Instant};

use datagenie_connectors::Target;
use datagenie_connectors::mysql::{MysqlTarget, SslMode as MysqlSslMode};
use datagenie_connectors::postgres::PostgresUrl;
use datagenie_core::ddl_comments::ddl_comments;
use datagenie_core::{Dialect, Error, ErrorCode, Secret, SecretUrl};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use time::{Date, PrimitiveDateTime};

use crate::config::Config;
use crate::database::demo_database_path;

/// How a load treats tables of the demo's names that are not demo tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Drop and recreate them (only tables of the demo's names; nothing else is touched).
    pub replace: bool,
}

/// One table loaded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableLoad {
    pub name: String,
    pub rows: u64,
}

/// What a load did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadReport {
    /// The target without its password, as `ask --db` reads it back.
    pub target: String,
    /// E.g. `PostgreSQL 15.20`, `MariaDB 10.11.19`.
    pub server: String,
    pub tables: Vec<TableLoad>,
    /// Tables that existed before and were dropped and recreated.
    pub replaced: Vec<String>,
    /// Reading the SQLite database.
    #[serde(serialize_with = "millis")]
    pub read: Duration,
    /// The whole load, reading included.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

impl LoadReport {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis().min(u128::from(u64::MAX)) as u64)
}

/// Builds the demo database when needed (see [`crate::demo::ensure_demo_database`]) and loads it into `url`.
pub async fn load_demo(config: &Config, url: &SecretUrl, options: LoadOptions) -> Result<LoadReport, Error> {
    // Check the target first: a wrong URL is reported before any demo database is built.
    let target = datagenie_connectors::parse_target(url.expose())?;
    check_target(&target)?;
    let path = demo_database_path(config)?;
    let source = tokio::task::spawn_blocking(move || crate::demo::ensure_demo_database(&path))
        .await
        .map_err(|e| Error::new(ErrorCode::Internal, format!("building the demo database: {e}")))??;
    load_sqlite_into(&source, &target, options).await
}

/// Copies every table of the SQLite database `source` into `target` (a PostgreSQL or MySQL/MariaDB database).
pub async fn load_sqlite_into(source: &Path, target: &Target, options: LoadOptions) -> Result<LoadReport, Error> {
    let started = Instant::now();
    check_target(target)?;
    let path = source.to_path_buf();
    let tables = tokio::task::spawn_blocking(move || read_source(&path))
        .await
        .map_err(|e| Error::new(ErrorCode::Internal, format!("reading the demo database: {e}")))??;
    let read = started.elapsed();
    let (server, replaced) = match target {
        Target::Postgres(url) => load_postgres(url, &tables, options).await?,
        Target::Mysql(t) => load_mysql(t, &tables, options).await?,
        Target::Sqlite(_) | Target::File(_) => unreachable_sqlite()?,
    };
    Ok(LoadReport {
        target: target.describe(),
        server,
        tables: tables.iter().map(|t| TableLoad { name: t.name.clone(), rows: t.rows.len() as u64 }).collect(),
        replaced,
        read,
        elapsed: started.elapsed(),
    })
}

/// A target the loader can write to: a server, and for MySQL a named database.
fn check_target(target: &Target) -> Result<(), Error> {
    if let Target::Sqlite(_) | Target::File(_) = target {
        return Err(Error::new(
            ErrorCode::InvalidDatabaseUrl,
            "demo --load copies the demo database into a server: give a postgres:// or mysql:// URL",
        ));
    }
    if let Target::Mysql(t) = target
        && t.database().is_none()
    {
        return Err(Error::new(
            ErrorCode::InvalidDatabaseUrl,
            "name the database to load into in the URL's path, e.g. mysql://user@host:3306/shop",
        ));
    }
    Ok(())
}

/// Refused at the top of [`load_sqlite_into`]; kept as an error rather than a panic.
fn unreachable_sqlite() -> Result<(String, Vec<String>), Error> {
    Err(Error::new(ErrorCode::Internal, "a SQLite target reached the server loader"))
}

// ---------------------------------------------------------------------------------------------------------------
// The source

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColType {
    Integer,
    Real,
    Text,
    Date,
    DateTime,
    Blob,
}

impl ColType {
    /// SQLite's declared type, by its affinity rules, with DATE and DATETIME/TIMESTAMP told apart.
    fn from_declared(declared: &str) -> Option<ColType> {
        let d = declared.trim().to_ascii_uppercase();
        Some(if d.contains("INT") {
            ColType::Integer
        } else if d.contains("DATETIME") || d.contains("TIMESTAMP") {
            ColType::DateTime
        } else if d == "DATE" {
            ColType::Date
        } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
            ColType::Text
        } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
            ColType::Real
        } else if d.contains("BLOB") {
            ColType::Blob
        } else {
            return None;
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Date(Date),
    DateTime(PrimitiveDateTime),
    Blob(Vec<u8>),
}

#[derive(Debug, Clone)]
struct SrcColumn {
    name: String,
    ty: ColType,
    not_null: bool,
    comment: Option<String>,
    /// Longest text value in characters (text columns), for MySQL's VARCHAR size.
    max_chars: usize,
}

#[derive(Debug, Clone)]
struct SrcForeignKey {
    columns: Vec<String>,
    ref_table: String,
    ref_columns: Vec<String>,
}

#[derive(Debug, Clone)]
struct SrcTable {
    name: String,
    comment: Option<String>,
    columns: Vec<SrcColumn>,
    primary_key: Vec<String>,
    uniques: Vec<Vec<String>>,
    /// `(index name, columns)` of plain `CREATE INDEX` indexes.
    indexes: Vec<(String, Vec<String>)>,
    foreign_keys: Vec<SrcForeignKey>,
    rows: Vec<Vec<Cell>>,
}

fn src_err(e: rusqlite::Error) -> Error {
    Error::new(ErrorCode::NotADatabase, format!("reading the demo database: {e}"))
}

/// Reads the tables of `path` (not SQLite's own `sqlite_*` tables), in creation order, with their rows.
fn read_source(path: &Path) -> Result<Vec<SrcTable>, Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(src_err)?;
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid")
        .map_err(src_err)?;
    let listed: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default())))
        .map_err(src_err)?
        .collect::<Result<_, _>>()
        .map_err(src_err)?;
    listed.into_iter().map(|(name, sql)| read_table(&conn, name, &sql)).collect()
}

fn read_table(conn: &Connection, name: String, create_sql: &str) -> Result<SrcTable, Error> {
    let comments = ddl_comments(create_sql);
    let q = Dialect::Sqlite.quote_ident(&name);
    // table_info: cid, name, type, notnull, dflt_value, pk (position in the primary key, 0 when not in it)
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({q})")).map_err(src_err)?;
    let info: Vec<(String, String, bool, i64)> = stmt
        .query_map([], |r| Ok((r.get(1)?, r.get::<_, Option<String>>(2)?.unwrap_or_default(), r.get(3)?, r.get(5)?)))
        .map_err(src_err)?
        .collect::<Result<_, _>>()
        .map_err(src_err)?;
    let mut columns = Vec::with_capacity(info.len());
    let mut pk: Vec<(i64, String)> = Vec::new();
    for (col, declared, not_null, pk_pos) in info {
        let ty = ColType::from_declared(&declared).ok_or_else(|| {
            Error::new(ErrorCode::NotADatabase, format!("{name}.{col}: the column type '{declared}' cannot be loaded"))
        })?;
        if pk_pos > 0 {
            pk.push((pk_pos, col.clone()));
        }
        let comment = comments.column(&col).map(str::to_string);
        columns.push(SrcColumn { name: col, ty, not_null: not_null || pk_pos > 0, comment, max_chars: 0 });
    }
    pk.sort();

    // foreign_key_list: id, seq, table, from, to
    let mut stmt = conn.prepare(&format!("PRAGMA foreign_key_list({q})")).map_err(src_err)?;
    let fk_rows: Vec<(i64, i64, String, String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .map_err(src_err)?
        .collect::<Result<_, _>>()
        .map_err(src_err)?;
    let mut foreign_keys: Vec<(i64, SrcForeignKey)> = Vec::new();
    for (id, _seq, ref_table, from, to) in fk_rows {
        let to = to.ok_or_else(|| {
            Error::new(ErrorCode::NotADatabase, format!("{name}: a foreign key to {ref_table} names no column"))
        })?;
        match foreign_keys.iter_mut().find(|(i, _)| *i == id) {
            Some((_, fk)) => {
                fk.columns.push(from);
                fk.ref_columns.push(to);
            }
            None => foreign_keys.push((id, SrcForeignKey { columns: vec![from], ref_table, ref_columns: vec![to] })),
        }
    }

    // index_list: seq, name, unique, origin (c = CREATE INDEX, u = UNIQUE, pk), partial
    let mut stmt = conn.prepare(&format!("PRAGMA index_list({q})")).map_err(src_err)?;
    let index_rows: Vec<(String, String, bool)> = stmt
        .query_map([], |r| Ok((r.get(1)?, r.get(3)?, r.get::<_, bool>(4)?)))
        .map_err(src_err)?
        .collect::<Result<_, _>>()
        .map_err(src_err)?;
    let (mut uniques, mut indexes) = (Vec::new(), Vec::new());
    for (index, origin, partial) in index_rows {
        if partial || origin == "pk" {
            continue;
        }
        let mut stmt =
            conn.prepare(&format!("PRAGMA index_info({})", Dialect::Sqlite.quote_ident(&index))).map_err(src_err)?;
        let cols: Vec<Option<String>> =
            stmt.query_map([], |r| r.get(2)).map_err(src_err)?.collect::<Result<_, _>>().map_err(src_err)?;
        // An index on an expression has a NULL column name: not copied.
        let Some(cols) = cols.into_iter().collect::<Option<Vec<String>>>() else { continue };
        match origin.as_str() {
            "u" => uniques.push(cols),
            _ => indexes.push((index, cols)),
        }
    }
    // Rows come back in SQLite's storage order; the key orders them deterministically.
    uniques.sort();
    indexes.sort();

    let list: Vec<String> = columns.iter().map(|c| Dialect::Sqlite.quote_ident(&c.name)).collect();
    let mut stmt = conn.prepare(&format!("SELECT {} FROM {q} ORDER BY rowid", list.join(", "))).map_err(src_err)?;
    let mut rows = Vec::new();
    let mut cursor = stmt.query([]).map_err(src_err)?;
    while let Some(r) = cursor.next().map_err(src_err)? {
        let mut row = Vec::with_capacity(columns.len());
        for (i, col) in columns.iter_mut().enumerate() {
            let cell = to_cell(r.get_ref(i).map_err(src_err)?, col.ty).map_err(|why| {
                Error::new(ErrorCode::NotADatabase, format!("{name}.{} row {}: {why}", col.name, rows.len() + 1))
            })?;
            if let Cell::Text(s) = &cell {
                col.max_chars = col.max_chars.max(s.chars().count());
            }
            if cell == Cell::Null && col.not_null {
                return Err(Error::new(
                    ErrorCode::NotADatabase,
                    format!("{name}.{}: NULL in a NOT NULL column", col.name),
                ));
            }
            row.push(cell);
        }
        rows.push(row);
    }
    Ok(SrcTable {
        name,
        comment: comments.table.clone(),
        columns,
        primary_key: pk.into_iter().map(|(_, c)| c).collect(),
        uniques,
        indexes,
        foreign_keys: foreign_keys.into_iter().map(|(_, fk)| fk).collect(),
        rows,
    })
}

const DATE_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");
const DATETIME_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
const DATETIME_FRACTION_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");

/// One SQLite value as the target column's type; SQLite's dynamic typing means a value may not fit its column.
fn to_cell(v: ValueRef<'_>, ty: ColType) -> Result<Cell, String> {
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| "text that is not UTF-8".to_string());
    Ok(match (v, ty) {
        (ValueRef::Null, _) => Cell::Null,
        (ValueRef::Integer(i), ColType::Integer) => Cell::Int(i),
        (ValueRef::Integer(i), ColType::Real) => Cell::Float(i as f64),
        (ValueRef::Real(f), ColType::Real) => Cell::Float(f),
        (ValueRef::Text(b), ColType::Text) => Cell::Text(text(b)?),
        (ValueRef::Text(b), ColType::Date) => {
            let s = text(b)?;
            Cell::Date(Date::parse(&s, DATE_FORMAT).map_err(|_| format!("'{s}' is not a date YYYY-MM-DD"))?)
        }
        (ValueRef::Text(b), ColType::DateTime) => {
            let s = text(b)?.replacen('T', " ", 1);
            let parsed = PrimitiveDateTime::parse(&s, DATETIME_FORMAT)
                .or_else(|_| PrimitiveDateTime::parse(&s, DATETIME_FRACTION_FORMAT))
                .map_err(|_| format!("'{s}' is not a date and time YYYY-MM-DD HH:MM:SS"))?;
            Cell::DateTime(parsed)
        }
        (ValueRef::Blob(b), ColType::Blob) => Cell::Blob(b.to_vec()),
        (other, ty) => return Err(format!("a {:?} value in a {ty:?} column", other.data_type())),
    })
}

/// Tables of the demo's names already in the target: `(name, comment)`; those whose comment is not the demo's are
/// foreign. Returns the names to drop, or the refusal.
fn existing_to_drop(
    tables: &[SrcTable],
    existing: &[(String, Option<String>)],
    options: LoadOptions,
    place: &str,
) -> Result<Vec<String>, Error> {
    let mut foreign = Vec::new();
    let mut drop = Vec::new();
    for t in tables {
        let Some((found, comment)) = existing.iter().find(|(n, _)| n.eq_ignore_ascii_case(&t.name)) else { continue };
        let is_demo = t.comment.is_some() && comment.as_deref().map(str::trim) == t.comment.as_deref();
        if !is_demo {
            foreign.push(found.clone());
        }
        drop.push(found.clone());
    }
    if !foreign.is_empty() && !options.replace {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "{place} already has {} {} that {}; nothing was changed. Load into another database, or pass \
                 --replace to drop and recreate the demo's tables",
                if foreign.len() == 1 { "a table" } else { "tables" },
                foreign.join(", "),
                if foreign.len() == 1 { "is not a DataGenie demo table" } else { "are not DataGenie demo tables" },
            ),
        ));
    }
    Ok(drop)
}

/// Removes the password from a message, should a driver or server ever echo it.
fn scrub(mut e: Error, secret: Option<&Secret>) -> Error {
    if let Some(s) = secret.filter(|s| s.expose().len() >= 4)
        && e.message.contains(s.expose())
    {
        e.message = e.message.replace(s.expose(), "[redacted]");
    }
    e
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL

/// A string literal under `standard_conforming_strings = on` (set by the loader's session).
fn pg_literal(s: &str) -> String {
    format!("'{}'", s.replace('\0', "").replace('\'', "''"))
}

fn pg_type(c: &SrcColumn) -> &'static str {
    match c.ty {
        ColType::Integer => "bigint",
        ColType::Real => "double precision",
        ColType::Text => "text COLLATE \"C\"",
        ColType::Date => "date",
        ColType::DateTime => "timestamp",
        ColType::Blob => "bytea",
    }
}

fn pg_wire_type(ty: ColType) -> tokio_postgres::types::Type {
    use tokio_postgres::types::Type;
    match ty {
        ColType::Integer => Type::INT8,
        ColType::Real => Type::FLOAT8,
        ColType::Text => Type::TEXT,
        ColType::Date => Type::DATE,
        ColType::DateTime => Type::TIMESTAMP,
        ColType::Blob => Type::BYTEA,
    }
}

/// The server's message (tokio-postgres's `Display` says only "db error"), with its detail.
fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            let mut out = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                out.push_str(&format!(": {s}"));
                source = s.source();
            }
            out
        }
    }
}

async fn load_postgres(
    url: &PostgresUrl,
    tables: &[SrcTable],
    options: LoadOptions,
) -> Result<(String, Vec<String>), Error> {
    let secret = url.password();
    let place = format!("PostgreSQL at {}", url.server());
    let run = async {
        let client = pg_connect(url, &place).await?;
        pg_load(client, url, tables, options, &place).await
    };
    run.await.map_err(|e| scrub(e, secret))
}

async fn pg_connect(url: &PostgresUrl, place: &str) -> Result<tokio_postgres::Client, Error> {
    let tls = url.tls_connector()?;
    let config = url.client_config("datagenie-demo-load");
    let limit = url.connect_timeout + Duration::from_secs(1);
    let (client, connection) = match tokio::time::timeout(limit, config.connect(tls)).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => {
            return Err(match e.as_db_error() {
                Some(db) if db.code().code() == "3D000" => Error::new(
                    ErrorCode::DatabaseNotFound,
                    format!("{place} has no database named \"{}\"; create it first", url.dbname),
                ),
                _ => {
                    Error::new(ErrorCode::DatabaseUnavailable, format!("cannot connect to {place}: {}", pg_message(&e)))
                }
            });
        }
        Err(_) => {
            return Err(Error::new(
                ErrorCode::DatabaseUnavailable,
                format!("cannot connect to {place}: no answer within {} s", limit.as_secs()),
            ));
        }
    };
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "the demo loader's PostgreSQL connection ended");
        }
    });
    Ok(client)
}

async fn pg_load(
    mut client: tokio_postgres::Client,
    url: &PostgresUrl,
    tables: &[SrcTable],
    options: LoadOptions,
    place: &str,
) -> Result<(String, Vec<String>), Error> {
    let failed = |what: &str, e: tokio_postgres::Error| {
        Error::new(ErrorCode::QueryFailed, format!("loading into {place}: {what}: {}", pg_message(&e)))
    };
    let version: String = client
        .query_one("SELECT current_setting('server_version')", &[])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|e| failed("reading the server version", e))?;
    let server = format!("PostgreSQL {}", version.split_whitespace().next().unwrap_or(""));
    let schema = url.schema.as_str();
    let tx = client.transaction().await.map_err(|e| failed("starting the transaction", e))?;
    tx.batch_execute("SET LOCAL standard_conforming_strings = on")
        .await
        .map_err(|e| failed("setting standard_conforming_strings", e))?;
    let has_schema = tx
        .query_opt("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", &[&schema])
        .await
        .map_err(|e| failed("looking up the schema", e))?
        .is_some();
    if !has_schema {
        tx.batch_execute(&format!("CREATE SCHEMA {}", Dialect::Postgres.quote_ident(schema)))
            .await
            .map_err(|e| failed("creating the schema", e))?;
    }
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let rows = tx
        .query(
            "SELECT c.relname, c.relkind::text, obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2)",
            &[&schema, &names],
        )
        .await
        .map_err(|e| failed("looking for existing tables", e))?;
    let mut existing = Vec::new();
    for r in rows {
        let (name, kind, comment): (String, String, Option<String>) =
            (r.try_get(0).unwrap_or_default(), r.try_get(1).unwrap_or_default(), r.try_get(2).unwrap_or(None));
        if kind != "r" && kind != "p" {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("{place}: \"{schema}\".\"{name}\" exists and is not a table; drop or rename it first"),
            ));
        }
        existing.push((name, comment));
    }
    let drop = existing_to_drop(tables, &existing, options, place)?;
    let qualified = |t: &str| format!("{}.{}", Dialect::Postgres.quote_ident(schema), Dialect::Postgres.quote_ident(t));
    if !drop.is_empty() {
        let list: Vec<String> = drop.iter().map(|t| qualified(t)).collect();
        // One statement for all: the demo's foreign keys among themselves need no CASCADE; a person's view does.
        tx.batch_execute(&format!("DROP TABLE {}", list.join(", ")))
            .await
            .map_err(|e| failed("dropping the old tables", e))?;
    }
    for t in tables {
        let mut defs: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                format!(
                    "{} {}{}",
                    Dialect::Postgres.quote_ident(&c.name),
                    pg_type(c),
                    if c.not_null { " NOT NULL" } else { "" }
                )
            })
            .collect();
        if !t.primary_key.is_empty() {
            defs.push(format!(
                "PRIMARY KEY ({})",
                t.primary_key.iter().map(|c| Dialect::Postgres.quote_ident(c)).collect::<Vec<_>>().join(", ")
            ));
        }
        let mut sql = format!("CREATE TABLE {} ({});", qualified(&t.name), defs.join(", "));
        if let Some(c) = &t.comment {
            sql.push_str(&format!("COMMENT ON TABLE {} IS {};", qualified(&t.name), pg_literal(c)));
        }
        for c in &t.columns {
            if let Some(comment) = &c.comment {
                sql.push_str(&format!(
                    "COMMENT ON COLUMN {}.{} IS {};",
                    qualified(&t.name),
                    Dialect::Postgres.quote_ident(&c.name),
                    pg_literal(comment)
                ));
            }
        }
        tx.batch_execute(&sql).await.map_err(|e| failed(&format!("creating {}", t.name), e))?;
        pg_copy(&tx, &qualified(&t.name), t)
            .await
            .map_err(|e| failed(&format!("copying the rows of {}", t.name), e))?;
    }
    // Keys and indexes after the rows: built once, each foreign key checked in one pass.
    let mut after = String::new();
    for t in tables {
        for u in &t.uniques {
            let cols: Vec<String> = u.iter().map(|c| Dialect::Postgres.quote_ident(c)).collect();
            after.push_str(&format!("ALTER TABLE {} ADD UNIQUE ({});", qualified(&t.name), cols.join(", ")));
        }
        for (index, cols) in &t.indexes {
            let cols: Vec<String> = cols.iter().map(|c| Dialect::Postgres.quote_ident(c)).collect();
            after.push_str(&format!(
                "CREATE INDEX {} ON {} ({});",
                Dialect::Postgres.quote_ident(index),
                qualified(&t.name),
                cols.join(", ")
            ));
        }
    }
    for t in tables {
        for fk in &t.foreign_keys {
            let cols: Vec<String> = fk.columns.iter().map(|c| Dialect::Postgres.quote_ident(c)).collect();
            let refs: Vec<String> = fk.ref_columns.iter().map(|c| Dialect::Postgres.quote_ident(c)).collect();
            after.push_str(&format!(
                "ALTER TABLE {} ADD FOREIGN KEY ({}) REFERENCES {} ({});",
                qualified(&t.name),
                cols.join(", "),
                qualified(&fk.ref_table),
                refs.join(", ")
            ));
        }
    }
    tx.batch_execute(&after).await.map_err(|e| failed("adding keys and indexes", e))?;
    tx.commit().await.map_err(|e| failed("committing", e))?;
    // Statistics for the planner and for the row counts `datagenie schema` shows. The rows are committed by now, so
    // a failure here is worth a warning, not a failed load.
    let list: Vec<String> = tables.iter().map(|t| qualified(&t.name)).collect();
    if let Err(e) = client.batch_execute(&format!("ANALYZE {}", list.join(", "))).await {
        tracing::warn!(error = %pg_message(&e), "ANALYZE after the demo load failed");
    }
    Ok((server, drop))
}

static PG_NULL_INT: Option<i64> = None;
static PG_NULL_FLOAT: Option<f64> = None;
static PG_NULL_TEXT: Option<String> = None;
static PG_NULL_DATE: Option<Date> = None;
static PG_NULL_DATETIME: Option<PrimitiveDateTime> = None;
static PG_NULL_BLOB: Option<Vec<u8>> = None;

async fn pg_copy(
    tx: &tokio_postgres::Transaction<'_>,
    qualified: &str,
    t: &SrcTable,
) -> Result<(), tokio_postgres::Error> {
    use tokio_postgres::types::ToSql;
    let cols: Vec<String> = t.columns.iter().map(|c| Dialect::Postgres.quote_ident(&c.name)).collect();
    let types: Vec<_> = t.columns.iter().map(|c| pg_wire_type(c.ty)).collect();
    let sink = tx.copy_in(&format!("COPY {qualified} ({}) FROM STDIN (FORMAT binary)", cols.join(", "))).await?;
    let writer = tokio_postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(t.columns.len());
    for row in &t.rows {
        params.clear();
        for (cell, col) in row.iter().zip(&t.columns) {
            params.push(match cell {
                Cell::Int(v) => v,
                Cell::Float(v) => v,
                Cell::Text(v) => v,
                Cell::Date(v) => v,
                Cell::DateTime(v) => v,
                Cell::Blob(v) => v,
                Cell::Null => match col.ty {
                    ColType::Integer => &PG_NULL_INT,
                    ColType::Real => &PG_NULL_FLOAT,
                    ColType::Text => &PG_NULL_TEXT,
                    ColType::Date => &PG_NULL_DATE,
                    ColType::DateTime => &PG_NULL_DATETIME,
                    ColType::Blob => &PG_NULL_BLOB,
                },
            });
        }
        writer.as_mut().write(&params).await?;
    }
    writer.as_mut().finish().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// MySQL and MariaDB

/// Rows per `INSERT` at most, and parameters per statement at most (the protocol's limit is 65,535).
const MYSQL_BATCH_ROWS: usize = 1000;
const MYSQL_MAX_PARAMS: usize = 60_000;
/// The loader's session: strict, backslash escapes on (what [`my_literal`] writes for), no `ANSI_QUOTES`.
const MYSQL_SQL_MODE: &str = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";

/// A string literal under [`MYSQL_SQL_MODE`] (backslash is an escape character there).
fn my_literal(s: &str) -> String {
    format!("'{}'", s.replace('\0', "").replace('\\', "\\\\").replace('\'', "''"))
}

/// VARCHAR sizes tried in turn; 768 characters of utf8mb4 is InnoDB's longest indexable key (3,072 bytes).
const VARCHAR_SIZES: &[usize] = &[32, 64, 128, 255, 512, 768];

fn my_type(c: &SrcColumn) -> String {
    match c.ty {
        ColType::Integer => "BIGINT".into(),
        ColType::Real => "DOUBLE".into(),
        ColType::Text => match VARCHAR_SIZES.iter().find(|n| **n >= c.max_chars) {
            Some(n) => format!("VARCHAR({n})"),
            None => "TEXT".into(),
        },
        ColType::Date => "DATE".into(),
        ColType::DateTime => "DATETIME".into(),
        ColType::Blob => "LONGBLOB".into(),
    }
}

/// True when every column of `cols` can be part of an index in MySQL (TEXT and BLOB need a prefix length).
fn my_indexable(t: &SrcTable, cols: &[String]) -> bool {
    cols.iter().all(|name| {
        t.columns
            .iter()
            .find(|c| &c.name == name)
            .is_some_and(|c| !my_type(c).ends_with("TEXT") && c.ty != ColType::Blob)
    })
}

fn my_create_table(t: &SrcTable) -> String {
    let mut defs: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            let mut d = format!(
                "{} {}{}",
                Dialect::Mysql.quote_ident(&c.name),
                my_type(c),
                if c.not_null { " NOT NULL" } else { " NULL" }
            );
            if let Some(comment) = &c.comment {
                d.push_str(&format!(" COMMENT {}", my_literal(comment)));
            }
            d
        })
        .collect();
    let list = |cols: &[String]| cols.iter().map(|c| Dialect::Mysql.quote_ident(c)).collect::<Vec<_>>().join(", ");
    if !t.primary_key.is_empty() {
        defs.push(format!("PRIMARY KEY ({})", list(&t.primary_key)));
    }
    for u in t.uniques.iter().filter(|u| my_indexable(t, u)) {
        defs.push(format!("UNIQUE KEY ({})", list(u)));
    }
    for (name, cols) in t.indexes.iter().filter(|(_, c)| my_indexable(t, c)) {
        defs.push(format!("KEY {} ({})", Dialect::Mysql.quote_ident(name), list(cols)));
    }
    for fk in &t.foreign_keys {
        defs.push(format!(
            "FOREIGN KEY ({}) REFERENCES {} ({})",
            list(&fk.columns),
            Dialect::Mysql.quote_ident(&fk.ref_table),
            list(&fk.ref_columns)
        ));
    }
    let mut sql = format!(
        "CREATE TABLE {} ({}) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin",
        Dialect::Mysql.quote_ident(&t.name),
        defs.join(", ")
    );
    if let Some(c) = &t.comment {
        sql.push_str(&format!(" COMMENT = {}", my_literal(c)));
    }
    sql
}

fn my_value(cell: &Cell) -> mysql_async::Value {
    use mysql_async::Value as V;
    match cell {
        Cell::Null => V::NULL,
        Cell::Int(i) => V::Int(*i),
        Cell::Float(f) => V::Double(*f),
        Cell::Text(s) => V::Bytes(s.as_bytes().to_vec()),
        Cell::Blob(b) => V::Bytes(b.clone()),
        Cell::Date(d) => V::Date(d.year().clamp(0, 9999) as u16, u8::from(d.month()), d.day(), 0, 0, 0, 0),
        Cell::DateTime(t) => V::Date(
            t.year().clamp(0, 9999) as u16,
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond(),
        ),
    }
}

async fn load_mysql(
    target: &MysqlTarget,
    tables: &[SrcTable],
    options: LoadOptions,
) -> Result<(String, Vec<String>), Error> {
    let host = if target.host().contains(':') { format!("[{}]", target.host()) } else { target.host().to_string() };
    let place = format!("the MySQL server at {host}:{}", target.port());
    let secret = target.password();
    let run = async {
        let mut conn = my_connect(target, &place).await?;
        let outcome = my_load(&mut conn, tables, options, &place).await;
        // Best effort: the server rolls back and ends the session itself when the socket closes.
        let _ = tokio::time::timeout(Duration::from_secs(2), conn.disconnect()).await;
        outcome
    };
    run.await.map_err(|e| scrub(e, secret))
}

async fn my_connect(target: &MysqlTarget, place: &str) -> Result<mysql_async::Conn, Error> {
    let tls = target.tls_options()?;
    let opts = |tls: Option<mysql_async::SslOpts>| -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(target.host())
            .tcp_port(target.port())
            .user(Some(target.user()))
            .pass(target.password().map(Secret::expose))
            .db_name(target.database())
            // Never the server's Unix socket: that logs in as another account (user@localhost).
            .prefer_socket(false)
            .ssl_opts(tls)
            .setup(vec![format!(
                "SET NAMES utf8mb4, SESSION sql_mode = '{MYSQL_SQL_MODE}', SESSION time_zone = '+00:00', \
                 SESSION foreign_key_checks = 0"
            )])
            .into()
    };
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    let attempt = tokio::time::timeout(CONNECT_TIMEOUT, async {
        match mysql_async::Conn::new(opts(tls)).await {
            // PREFERRED: TLS when the server offers it, otherwise plain.
            Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer))
                if target.ssl_mode() == MysqlSslMode::Preferred =>
            {
                mysql_async::Conn::new(opts(None)).await
            }
            other => other,
        }
    })
    .await;
    match attempt {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(mysql_async::Error::Server(s))) if s.code == 1049 => {
            Err(Error::new(ErrorCode::DatabaseNotFound, format!("{place}: {}; create the database first", s.message)))
        }
        Ok(Err(mysql_async::Error::Server(s))) => {
            Err(Error::new(ErrorCode::DatabaseUnavailable, format!("{place} refused the connection: {}", s.message)))
        }
        Ok(Err(e)) => Err(Error::new(ErrorCode::DatabaseUnavailable, format!("cannot connect to {place}: {e}"))),
        Err(_) => Err(Error::new(
            ErrorCode::DatabaseUnavailable,
            format!("cannot connect to {place}: no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        )),
    }
}

async fn my_load(
    conn: &mut mysql_async::Conn,
    tables: &[SrcTable],
    options: LoadOptions,
    place: &str,
) -> Result<(String, Vec<String>), Error> {
    use mysql_async::prelude::Queryable;
    let failed = |what: &str, e: mysql_async::Error| {
        let message = match &e {
            mysql_async::Error::Server(s) => s.message.clone(),
            other => other.to_string(),
        };
        Error::new(ErrorCode::QueryFailed, format!("loading into {place}: {what}: {message}"))
    };
    let version: String = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(|e| failed("reading the server version", e))?
        .unwrap_or_default();
    let flavour = if version.to_ascii_lowercase().contains("mariadb") { "MariaDB" } else { "MySQL" };
    let number: String = version.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let server = format!("{flavour} {number}");
    let existing: Vec<(String, String, String)> = conn
        .query(
            "SELECT TABLE_NAME, TABLE_TYPE, TABLE_COMMENT FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE()",
        )
        .await
        .map_err(|e| failed("looking for existing tables", e))?;
    let mut found = Vec::new();
    for (name, kind, comment) in existing {
        if !tables.iter().any(|t| t.name.eq_ignore_ascii_case(&name)) {
            continue;
        }
        if kind != "BASE TABLE" {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("{place}: {name} exists and is not a table; drop or rename it first"),
            ));
        }
        found.push((name, Some(comment).filter(|c| !c.is_empty())));
    }
    let drop = existing_to_drop(tables, &found, options, place)?;
    if !drop.is_empty() {
        let list: Vec<String> = drop.iter().map(|t| Dialect::Mysql.quote_ident(t)).collect();
        conn.query_drop(format!("DROP TABLE {}", list.join(", ")))
            .await
            .map_err(|e| failed("dropping the old tables", e))?;
    }
    for t in tables {
        conn.query_drop(my_create_table(t)).await.map_err(|e| failed(&format!("creating {}", t.name), e))?;
    }
    conn.query_drop("START TRANSACTION").await.map_err(|e| failed("starting the transaction", e))?;
    for t in tables {
        my_insert_rows(conn, t).await.map_err(|e| failed(&format!("inserting the rows of {}", t.name), e))?;
    }
    conn.query_drop("COMMIT").await.map_err(|e| failed("committing", e))?;
    let list: Vec<String> = tables.iter().map(|t| Dialect::Mysql.quote_ident(&t.name)).collect();
    // ANALYZE answers with a result set of its findings; read and discard it. The rows are committed by now, so a
    // failure here is worth a warning, not a failed load.
    let analyzed: Result<Vec<mysql_async::Row>, _> = conn.query(format!("ANALYZE TABLE {}", list.join(", "))).await;
    if let Err(e) = analyzed {
        tracing::warn!(error = %e, "ANALYZE TABLE after the demo load failed");
    }
    Ok((server, drop))
}

async fn my_insert_rows(conn: &mut mysql_async::Conn, t: &SrcTable) -> Result<(), mysql_async::Error> {
    use mysql_async::prelude::Queryable;
    let ncols = t.columns.len().max(1);
    let per_batch = MYSQL_BATCH_ROWS.min(MYSQL_MAX_PARAMS / ncols).max(1);
    let cols: Vec<String> = t.columns.iter().map(|c| Dialect::Mysql.quote_ident(&c.name)).collect();
    let tuple = format!("({})", vec!["?"; ncols].join(", "));
    let insert = |rows: usize| {
        format!(
            "INSERT INTO {} ({}) VALUES {}",
            Dialect::Mysql.quote_ident(&t.name),
            cols.join(", "),
            vec![tuple.as_str(); rows].join(", ")
        )
    };
    let full = if t.rows.len() >= per_batch { Some(conn.prep(insert(per_batch)).await?) } else { None };
    for chunk in t.rows.chunks(per_batch) {
        let params: Vec<mysql_async::Value> = chunk.iter().flatten().map(my_value).collect();
        match &full {
            Some(stmt) if chunk.len() == per_batch => conn.exec_drop(stmt, params).await?,
            _ => conn.exec_drop(insert(chunk.len()), params).await?,
        }
    }
    if let Some(stmt) = full {
        conn.close(stmt).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, comment: Option<&str>) -> SrcTable {
        SrcTable {
            name: name.into(),
            comment: comment.map(str::to_string),
            columns: vec![],
            primary_key: vec![],
            uniques: vec![],
            indexes: vec![],
            foreign_keys: vec![],
            rows: vec![],
        }
    }

    #[test]
    fn declared_types_map_by_affinity() {
        assert_eq!(ColType::from_declared("INTEGER"), Some(ColType::Integer));
        assert_eq!(ColType::from_declared("bigint"), Some(ColType::Integer));
        assert_eq!(ColType::from_declared("TEXT"), Some(ColType::Text));
        assert_eq!(ColType::from_declared("varchar(20)"), Some(ColType::Text));
        assert_eq!(ColType::from_declared("DATE"), Some(ColType::Date));
        assert_eq!(ColType::from_declared("DATETIME"), Some(ColType::DateTime));
        assert_eq!(ColType::from_declared("REAL"), Some(ColType::Real));
        assert_eq!(ColType::from_declared("BLOB"), Some(ColType::Blob));
        assert_eq!(ColType::from_declared("NUMERIC"), None);
        assert_eq!(ColType::from_declared(""), None);
    }

    #[test]
    fn values_convert_to_their_column_type_or_fail() {
        assert_eq!(to_cell(ValueRef::Integer(7), ColType::Integer), Ok(Cell::Int(7)));
        assert_eq!(to_cell(ValueRef::Integer(7), ColType::Real), Ok(Cell::Float(7.0)));
        assert_eq!(
            to_cell(ValueRef::Text(b"2024-02-29"), ColType::Date),
            Ok(Cell::Date(time::macros::date!(2024 - 02 - 29)))
        );
        assert_eq!(
            to_cell(ValueRef::Text(b"2024-02-29 13:04:05"), ColType::DateTime),
            Ok(Cell::DateTime(time::macros::datetime!(2024-02-29 13:04:05)))
        );
        assert_eq!(to_cell(ValueRef::Null, ColType::Date), Ok(Cell::Null));
        assert!(to_cell(ValueRef::Text(b"2024-02-30"), ColType::Date).is_err());
        assert!(to_cell(ValueRef::Text(b"seven"), ColType::Integer).is_err());
        assert!(to_cell(ValueRef::Text(&[0xff, 0xfe]), ColType::Text).is_err());
    }

    #[test]
    fn literals_and_names_are_quoted_for_their_dialect() {
        assert_eq!(pg_literal("it's"), "'it''s'");
        assert_eq!(Dialect::Postgres.quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(my_literal("a\\'b"), "'a\\\\''b'");
        assert_eq!(Dialect::Mysql.quote_ident("a`b"), "`a``b`");
    }

    #[test]
    fn varchar_sizes_follow_the_longest_value() {
        let col =
            |max_chars| SrcColumn { name: "c".into(), ty: ColType::Text, not_null: true, comment: None, max_chars };
        assert_eq!(my_type(&col(0)), "VARCHAR(32)");
        assert_eq!(my_type(&col(33)), "VARCHAR(64)");
        assert_eq!(my_type(&col(768)), "VARCHAR(768)");
        assert_eq!(my_type(&col(769)), "TEXT");
    }

    #[test]
    fn demo_tables_are_replaced_and_foreign_ones_refused_without_replace() {
        let tables = vec![table("orders", Some("주문 / Orders")), table("regions", Some("지역 / Regions"))];
        let demo_only = vec![("orders".to_string(), Some("주문 / Orders".to_string()))];
        assert_eq!(existing_to_drop(&tables, &demo_only, LoadOptions::default(), "x"), Ok(vec!["orders".to_string()]));
        let foreign = vec![("orders".to_string(), None), ("regions".to_string(), Some("mine".to_string()))];
        let e = existing_to_drop(&tables, &foreign, LoadOptions::default(), "x").expect_err("refused");
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert!(e.message.contains("orders, regions") && e.message.contains("--replace"), "{}", e.message);
        assert_eq!(
            existing_to_drop(&tables, &foreign, LoadOptions { replace: true }, "x"),
            Ok(vec!["orders".to_string(), "regions".to_string()])
        );
        // Tables of other names are never touched.
        let other = vec![("invoices".to_string(), None)];
        assert_eq!(existing_to_drop(&tables, &other, LoadOptions::default(), "x"), Ok(vec![]));
    }

    #[test]
    fn reads_tables_keys_comments_and_rows_from_sqlite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let c = Connection::open(&path).expect("open");
        c.execute_batch(
            "CREATE TABLE a ( -- 테이블 A / table a
                id INTEGER PRIMARY KEY, -- 아이디 / id
                code TEXT NOT NULL UNIQUE,
                day DATE,
                at DATETIME,
                score REAL
             );
             CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a (id));
             CREATE INDEX idx_b_a ON b (a_id);
             INSERT INTO a VALUES (1, 'x', '2024-01-02', '2024-01-02 03:04:05', 1.5), (2, '한국어', NULL, NULL, NULL);
             INSERT INTO b VALUES (10, 1), (11, 2);
             ANALYZE;",
        )
        .expect("fixture");
        drop(c);
        let tables = read_source(&path).expect("read");
        assert_eq!(tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["a", "b"], "no sqlite_stat tables");
        let a = &tables[0];
        assert_eq!(a.comment.as_deref(), Some("테이블 A / table a"));
        assert_eq!(a.columns[0].comment.as_deref(), Some("아이디 / id"));
        assert_eq!(a.primary_key, ["id"]);
        assert_eq!(a.uniques, vec![vec!["code".to_string()]]);
        assert_eq!(a.columns[1].max_chars, 3);
        assert_eq!(a.rows.len(), 2);
        assert_eq!(a.rows[1][2], Cell::Null);
        let b = &tables[1];
        assert_eq!(b.indexes, vec![("idx_b_a".to_string(), vec!["a_id".to_string()])]);
        assert_eq!(b.foreign_keys.len(), 1);
        assert_eq!(
            (b.foreign_keys[0].ref_table.as_str(), b.foreign_keys[0].ref_columns.as_slice()),
            ("a", &["id".to_string()][..])
        );
        assert!(my_create_table(a).contains("COMMENT = '테이블 A / table a'"), "{}", my_create_table(a));
    }

    #[tokio::test]
    async fn sqlite_targets_and_mysql_urls_without_a_database_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("missing.db");
        let t = datagenie_connectors::parse_target("/tmp/x.db").expect("target");
        let e = load_sqlite_into(&src, &t, LoadOptions::default()).await.expect_err("sqlite");
        assert_eq!(e.code, ErrorCode::InvalidDatabaseUrl);
        let t = datagenie_connectors::parse_target("mysql://root:hunter22@127.0.0.1:1").expect("target");
        let e = load_sqlite_into(&src, &t, LoadOptions::default()).await.expect_err("no database");
        assert_eq!(e.code, ErrorCode::InvalidDatabaseUrl);
        assert!(!e.message.contains("hunter22"));
    }
}
