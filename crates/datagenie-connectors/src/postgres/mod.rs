//! The PostgreSQL connector (13+): tokio-postgres on a small deadpool pool, TLS by rustls.
//!
//! Read-only and bounded below the guard, so a guard bug can neither write nor run away:
//! 1. every session starts with `default_transaction_read_only = on`, `search_path = pg_catalog, "<schema>"`,
//!    `standard_conforming_strings = on` and `idle_in_transaction_session_timeout` (startup options, before any
//!    statement), and `application_name = datagenie`;
//! 2. every query runs in its own `START TRANSACTION READ ONLY` with `SET LOCAL statement_timeout`, and is rolled
//!    back — so even a `SET` that reached the server is undone with it;
//! 3. user SQL goes only through the extended protocol (Parse/Bind/Execute): one statement per message, never
//!    `simple_query`; only DataGenie's own setup and catalog statements use the simple protocol;
//! 4. rows are read from a portal in batches, at most `max_rows + 1` of them, so the server never sends the rest;
//!    results hold at most [`MAX_RESULT_BYTES`];
//! 5. a client-side deadline backs the server's time limit: past it the query is cancelled on the server, its
//!    connection discarded, and the caller answered at once.
//!
//! Errors map to stable codes: SQLSTATE 25006/25001/42501 → `ReadOnlyViolation`, 57014 from the statement timeout
//! → `QueryTimeout`, lost or refused connections → `DatabaseUnavailable`, anything else → `QueryFailed` with the
//! server's message (and its hint). No message, `Debug` or description contains the password.
//!
//! The pool holds at most [`POOL_SIZE`] connections; a connection is checked with `SELECT 1` before reuse and
//! dropped when the server ended it (restart, `pg_terminate_backend`), and a call whose connection turns out dead
//! before any row arrived is retried once on a fresh one.

mod access;
mod decode;
mod introspect;
mod url;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datagenie_core::connector::{AccessReport, Connector, IntrospectOptions, Limits};
use datagenie_core::schema::Schema;
use datagenie_core::value::{ResultColumn, ResultSet, Value};
use datagenie_core::{Dialect, Error, ErrorCode, GuardedSql};
use deadpool_postgres::{ClientWrapper, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::types::{Kind, Type};
use tokio_postgres_rustls::MakeRustlsConnect;

use self::decode::{DecodeContext, Raw, decode};
pub use self::url::{DEFAULT_CONNECT_TIMEOUT, PostgresUrl, SslMode, parse_postgres_url};
pub use crate::sqlite::MAX_RESULT_BYTES;

/// Connections the pool keeps at most, unless the connector is opened with another size.
pub const POOL_SIZE: usize = crate::DEFAULT_POOL_SIZE;
/// Rows fetched from the portal per round trip.
const FETCH_BATCH: usize = 500;
/// How long past a deadline the client waits for the server's own timeout before cancelling the query itself.
const CLIENT_GRACE: Duration = Duration::from_millis(500);
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(10);
const FINGERPRINT_TIMEOUT: Duration = Duration::from_secs(30);
/// Ends a session the server sees idle inside a transaction this long (a client that vanished mid-query).
const IDLE_IN_TRANSACTION_TIMEOUT_MS: u64 = 60_000;
/// Budgets are capped here so that deadlines stay representable.
const MAX_BUDGET: Duration = Duration::from_secs(24 * 3600);

/// A read-only connection pool to one PostgreSQL database. See the module documentation.
pub struct PostgresConnector {
    url: PostgresUrl,
    pool: Pool,
    /// For cancel requests, which open their own connection.
    tls: MakeRustlsConnect,
    info: tokio::sync::OnceCell<ServerInfo>,
}

impl fmt::Debug for PostgresConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConnector").field("url", &self.url).finish_non_exhaustive()
    }
}

/// What the server told the first connection about itself.
#[derive(Debug, Clone)]
struct ServerInfo {
    /// `PostgreSQL 15.20`.
    version: String,
    decode: DecodeContext,
}

/// A failed call before it becomes an [`Error`]: a driver error, or one of ours.
#[derive(Debug)]
enum Failure {
    Pg(tokio_postgres::Error),
    Ours(Error),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Pg(e)
    }
}

impl Failure {
    /// True when the connection itself is gone (closed, reset, ended by the server), not the statement refused.
    fn connection_lost(&self) -> bool {
        match self {
            Failure::Pg(e) => is_connection_loss(e),
            Failure::Ours(_) => false,
        }
    }
}

impl PostgresConnector {
    /// A pool for `url`. Connects lazily: nothing is sent until the first call (see [`PostgresConnector::connect`]).
    ///
    /// Errors: [`ErrorCode::InvalidDatabaseUrl`] when the TLS settings cannot be used (an unreadable `sslrootcert`).
    pub fn new(url: PostgresUrl) -> Result<Self, Error> {
        Self::new_with(url, POOL_SIZE)
    }

    /// [`PostgresConnector::new`] with a pool of at most `pool_size` connections.
    pub fn new_with(url: PostgresUrl, pool_size: usize) -> Result<Self, Error> {
        let tls = url::tls_connector(&url)?;
        let mut config = url.client_config("datagenie");
        config.keepalives(true).options(session_options(&url.schema));
        let manager =
            Manager::from_config(config, tls.clone(), ManagerConfig { recycling_method: RecyclingMethod::Verified });
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(url.connect_timeout + Duration::from_secs(1)))
            .recycle_timeout(Some(url.connect_timeout))
            .build()
            .map_err(|e| Error::new(ErrorCode::Internal, format!("the PostgreSQL pool could not be built: {e}")))?;
        Ok(PostgresConnector { url, pool, tls, info: tokio::sync::OnceCell::new() })
    }

    /// [`PostgresConnector::new`], then a health check: fails now, with `DatabaseUnavailable` (or
    /// `DatabaseNotFound` for a missing database), when the server cannot be reached or refuses the login.
    pub async fn connect(url: PostgresUrl) -> Result<Self, Error> {
        Self::connect_with(url, POOL_SIZE).await
    }

    /// [`PostgresConnector::connect`] with a pool of at most `pool_size` connections.
    pub async fn connect_with(url: PostgresUrl, pool_size: usize) -> Result<Self, Error> {
        let connector = Self::new_with(url, pool_size)?;
        connector.healthcheck().await?;
        Ok(connector)
    }

    pub fn url(&self) -> &PostgresUrl {
        &self.url
    }

    /// `PostgreSQL 15.20`, as the server reports it (asks the server on first use).
    pub async fn server_version(&self) -> Result<String, Error> {
        let deadline = deadline_after(HEALTHCHECK_TIMEOUT);
        let client = self.checkout(deadline, "the version query", HEALTHCHECK_TIMEOUT).await?;
        Ok(self.server_info(&client, HEALTHCHECK_TIMEOUT).await?.version.clone())
    }

    /// Runs raw SQL through the same path as [`Connector::execute`], without the guard: for tests that prove the
    /// session itself refuses writes and stops at its time limit. Exists only with the `test-bypass` feature.
    #[cfg(feature = "test-bypass")]
    #[doc(hidden)]
    pub async fn execute_unguarded_for_tests(&self, sql: &str, limits: &Limits) -> Result<ResultSet, Error> {
        self.run_query(sql, limits).await
    }

    /// A pooled connection, waiting at most until `deadline`.
    async fn checkout(&self, deadline: Instant, what: &str, budget: Duration) -> Result<Object, Error> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, self.pool.get()).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(self.pool_error(e)),
            Err(_) => Err(timeout_error(what, budget)),
        }
    }

    fn pool_error(&self, e: PoolError) -> Error {
        let server = self.url.server();
        match e {
            PoolError::Backend(e) => match e.as_db_error() {
                Some(db) if db.code().code() == "3D000" => Error::new(
                    ErrorCode::DatabaseNotFound,
                    format!("PostgreSQL at {server} has no database named \"{}\"", self.url.dbname),
                ),
                Some(db) => Error::new(
                    ErrorCode::DatabaseUnavailable,
                    format!("PostgreSQL at {server} refused the connection: {}", db.message()),
                ),
                None => Error::new(
                    ErrorCode::DatabaseUnavailable,
                    format!("cannot connect to PostgreSQL at {server}: {}", error_chain(&e)),
                ),
            },
            PoolError::Timeout(_) => Error::new(
                ErrorCode::DatabaseUnavailable,
                format!(
                    "cannot connect to PostgreSQL at {server}: no answer within {} s",
                    format_secs(self.url.connect_timeout)
                ),
            ),
            other => Error::new(ErrorCode::DatabaseUnavailable, format!("PostgreSQL at {server}: {other}")),
        }
    }

    /// The server's version and time-zone offset, read once by the first connection that gets here.
    async fn server_info(&self, client: &ClientWrapper, budget: Duration) -> Result<&ServerInfo, Error> {
        self.info
            .get_or_try_init(|| async {
                const SQL: &str = "SELECT current_setting('server_version'), \
                     CAST(EXTRACT(timezone FROM now()) AS int4)";
                let row = tokio::time::timeout(budget, client.query_one(SQL, &[]))
                    .await
                    .map_err(|_| timeout_error("the version query", budget))?
                    .map_err(|e| self.error(&Failure::Pg(e), "the version query", budget))?;
                let version: String = row.try_get(0).unwrap_or_default();
                let offset: i32 = row.try_get(1).unwrap_or(0);
                // `15.20 (Debian 15.20-0+deb12u1)` → `PostgreSQL 15.20`
                let number = version.split_whitespace().next().unwrap_or("").to_string();
                Ok::<_, Error>(ServerInfo {
                    version: format!("PostgreSQL {number}").trim_end().to_string(),
                    decode: DecodeContext { utc_offset_secs: offset },
                })
            })
            .await
    }

    /// Executes `sql` (already approved, or a test's bypass) within `limits`; see the module documentation.
    async fn run_query(&self, sql: &str, limits: &Limits) -> Result<ResultSet, Error> {
        let sql: Arc<str> = Arc::from(sql);
        let max_rows = limits.max_rows;
        self.with_connection("the query", limits.timeout, move |client, deadline, info| {
            let sql = Arc::clone(&sql);
            Box::pin(async move {
                let budget = deadline.saturating_duration_since(Instant::now());
                query_rows(client, &sql, max_rows, budget, &info.decode).await
            })
        })
        .await
    }

    /// Gives up on a connection whose call overran: cancels what it runs on the server and closes it, so it never
    /// returns to the pool mid-statement.
    fn abandon(&self, client: Object, cancel: tokio_postgres::CancelToken) {
        let tls = self.tls.clone();
        tokio::spawn(async move {
            if let Err(e) = cancel.cancel_query(tls).await {
                tracing::warn!(error = %e, "could not cancel a PostgreSQL query past its deadline");
            }
        });
        drop(Object::take(client));
    }

    /// Maps a failure to DataGenie's codes (see the module documentation).
    fn error(&self, failure: &Failure, what: &str, budget: Duration) -> Error {
        let e = match failure {
            Failure::Ours(e) => return e.clone(),
            Failure::Pg(e) => e,
        };
        let server = self.url.server();
        if let Some(db) = e.as_db_error() {
            let mut message = db.message().to_string();
            if let Some(hint) = db.hint() {
                message = format!("{message} (hint: {hint})");
            }
            let code = db.code().code();
            return match code {
                "25006" | "25001" | "42501" => {
                    Error::new(ErrorCode::ReadOnlyViolation, format!("the database connection is read-only: {message}"))
                }
                "57014" if db.message().contains("statement timeout") => timeout_error(what, budget),
                "57014" => Error::new(ErrorCode::QueryFailed, format!("{what} was cancelled on the server: {message}")),
                "3D000" => Error::new(ErrorCode::DatabaseNotFound, message),
                _ if code.starts_with("08")
                    || code.starts_with("28")
                    || code.starts_with("53")
                    || matches!(code, "57P01" | "57P02" | "57P03") =>
                {
                    Error::new(ErrorCode::DatabaseUnavailable, format!("PostgreSQL at {server}: {message}"))
                }
                _ => Error::new(ErrorCode::QueryFailed, message),
            };
        }
        if is_connection_loss(e) {
            return Error::new(
                ErrorCode::DatabaseUnavailable,
                format!("the connection to PostgreSQL at {server} was lost: {}", error_chain(e)),
            );
        }
        Error::new(ErrorCode::QueryFailed, error_chain(e))
    }

    /// Runs `job` on a pooled connection within `budget` (`job` gets the deadline and the server facts): waiting
    /// for a connection counts against the budget; past the deadline (plus [`CLIENT_GRACE`]) the connection is
    /// abandoned and the caller answered with `QueryTimeout`; a connection found dead is dropped and the job retried
    /// once on a new one (everything here only reads); after any other failure the connection is rolled back before
    /// it returns to the pool.
    async fn with_connection<T, F>(&self, what: &'static str, budget: Duration, job: F) -> Result<T, Error>
    where
        F: for<'c> Fn(
            &'c mut ClientWrapper,
            Instant,
            &'c ServerInfo,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, Failure>> + Send + 'c>>,
    {
        let budget = budget.min(MAX_BUDGET);
        let deadline = deadline_after(budget);
        for attempt in 0..2 {
            let mut client = self.checkout(deadline, what, budget).await?;
            let info = self.server_info(&client, budget).await?.clone();
            let cancel = client.cancel_token();
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = tokio::time::timeout(remaining + CLIENT_GRACE, job(&mut client, deadline, &info)).await;
            match outcome {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(failure)) => {
                    // A failed simple-query batch of ours leaves its transaction open and aborted.
                    if failure.connection_lost() {
                        drop(Object::take(client));
                        if attempt == 0 && Instant::now() < deadline {
                            tracing::debug!("PostgreSQL connection lost; retrying on a new one");
                            continue;
                        }
                    } else if client.batch_execute("ROLLBACK").await.is_err() {
                        drop(Object::take(client));
                    }
                    return Err(self.error(&failure, what, budget));
                }
                Err(_) => {
                    self.abandon(client, cancel);
                    return Err(timeout_error(what, budget));
                }
            }
        }
        Err(Error::new(ErrorCode::DatabaseUnavailable, format!("lost the connection to {}", self.url.server())))
    }
}

#[async_trait]
impl Connector for PostgresConnector {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    /// `postgres://user@host:port/db[?sslmode=…&schema=…]`, never the password.
    fn describe(&self) -> String {
        self.url.describe()
    }

    /// A pooled connection (checked with `SELECT 1`, or newly opened) answers `SELECT 1`.
    async fn healthcheck(&self) -> Result<(), Error> {
        self.with_connection("the health check", HEALTHCHECK_TIMEOUT, |client, _, _| {
            Box::pin(async move {
                client.simple_query("SELECT 1").await?;
                Ok(())
            })
        })
        .await
    }

    /// SHA-256 (computed by the server, one round trip) over the visible relations, their columns, types,
    /// nullability, keys and comments. Row changes and statistics do not change it.
    async fn schema_fingerprint(&self) -> Result<String, Error> {
        self.with_connection("the schema fingerprint query", FINGERPRINT_TIMEOUT, |client, deadline, _| {
            Box::pin(async move { introspect::fingerprint(client, deadline).await })
        })
        .await
    }

    /// Tables, views and materialized views of every schema the login may use (system schemas left out), with
    /// columns, formatted types, keys, comments, estimated row counts (`pg_class.reltuples`) and samples. Structure
    /// comes from three catalog queries; samples are best effort within `options.timeout`.
    async fn introspect(&self, options: &IntrospectOptions) -> Result<Schema, Error> {
        let options = *options;
        self.with_connection("schema introspection", options.timeout, move |client, deadline, info| {
            Box::pin(async move { introspect::introspect(client, &options, deadline, &info.version).await })
        })
        .await
    }

    async fn execute(&self, sql: &GuardedSql, limits: &Limits) -> Result<ResultSet, Error> {
        if sql.dialect() != Dialect::Postgres {
            return Err(Error::new(
                ErrorCode::Internal,
                format!("SQL checked for {} cannot run on a PostgreSQL connection", sql.dialect().display_name()),
            ));
        }
        self.run_query(sql.as_str(), limits).await
    }

    /// The login's write privileges, the transaction's read-only state and the time-limit probe (`access.rs`).
    async fn access_report(&self) -> Result<AccessReport, Error> {
        access::report(self).await
    }
}

/// The startup `options`: `-c name=value` pairs, with spaces and backslashes escaped as the server's option parser
/// expects. The schema is a quoted identifier, so any name is taken literally.
fn session_options(schema: &str) -> String {
    let search_path = format!("pg_catalog,{}", Dialect::Postgres.quote_ident(schema));
    let settings = [
        ("default_transaction_read_only", "on".to_string()),
        ("search_path", search_path),
        ("standard_conforming_strings", "on".to_string()),
        ("idle_in_transaction_session_timeout", IDLE_IN_TRANSACTION_TIMEOUT_MS.to_string()),
    ];
    settings
        .iter()
        .map(|(name, value)| {
            let mut escaped = String::with_capacity(value.len());
            for c in value.chars() {
                if c.is_whitespace() || c == '\\' {
                    escaped.push('\\');
                }
                escaped.push(c);
            }
            format!("-c {name}={escaped}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One query in its own read-only transaction: Parse/Describe, Bind, then Execute with a row limit until
/// `max_rows + 1` rows or the end. The transaction is rolled back (also when this future is dropped: the driver
/// queues the rollback).
async fn query_rows(
    client: &mut ClientWrapper,
    sql: &str,
    max_rows: usize,
    budget: Duration,
    ctx: &DecodeContext,
) -> Result<ResultSet, Failure> {
    let txn = client.build_transaction().read_only(true).start().await?;
    txn.batch_execute(&format!("SET LOCAL statement_timeout = {}", timeout_ms(budget))).await?;
    let statement = txn.prepare(sql).await?;
    let columns: Vec<ResultColumn> = statement
        .columns()
        .iter()
        .map(|c| ResultColumn { name: c.name().to_string(), decl_type: Some(type_name(c.type_())) })
        .collect();
    let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
    let portal = txn.bind(&statement, &[]).await?;
    let mut out = ResultSet { columns, rows: Vec::new(), truncated: false };
    let mut bytes = 0usize;
    'fetch: loop {
        let want = max_rows.saturating_sub(out.rows.len()).saturating_add(1).min(FETCH_BATCH);
        let batch = txn.query_portal(&portal, i32::try_from(want).unwrap_or(i32::MAX)).await?;
        let got = batch.len();
        for row in &batch {
            if out.rows.len() >= max_rows {
                out.truncated = true;
                break 'fetch;
            }
            let values: Vec<Value> = types
                .iter()
                .enumerate()
                .map(|(i, ty)| decode(ty, row.try_get::<_, Raw<'_>>(i).ok().and_then(|r| r.0), ctx))
                .collect();
            bytes = bytes.saturating_add(values.iter().map(value_bytes).sum());
            if bytes > MAX_RESULT_BYTES {
                if out.rows.is_empty() {
                    return Err(Failure::Ours(Error::new(
                        ErrorCode::QueryFailed,
                        format!("a single result row is larger than {} MiB", MAX_RESULT_BYTES >> 20),
                    )));
                }
                out.truncated = true;
                break 'fetch;
            }
            out.rows.push(values);
        }
        if got < want {
            break;
        }
    }
    // The rows are read; a failed rollback only means the connection is gone, which the pool's check notices.
    let _ = txn.rollback().await;
    Ok(out)
}

/// `int4`, `numeric`, `varchar`, `mood` (an enum), `int4[]`.
fn type_name(ty: &Type) -> String {
    match ty.kind() {
        Kind::Array(elem) => format!("{}[]", elem.name()),
        _ => ty.name().to_string(),
    }
}

/// Bytes a value holds beyond its fixed size, plus a small per-cell overhead (as the SQLite connector counts).
fn value_bytes(v: &Value) -> usize {
    16 + match v {
        Value::Text(t) | Value::Decimal(t) => t.len(),
        Value::Blob(b) => b.len(),
        Value::Json(j) => j.to_string().len(),
        _ => 0,
    }
}

/// `statement_timeout` in milliseconds; never 0, which would mean "no limit".
fn timeout_ms(d: Duration) -> u128 {
    d.as_millis().max(1)
}

fn deadline_after(budget: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(budget).unwrap_or(now + MAX_BUDGET)
}

fn is_connection_loss(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The error and its causes, `: `-joined (tokio-postgres keeps the useful part, e.g. "Connection refused", in the
/// source).
fn error_chain(e: &tokio_postgres::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

pub(crate) fn timeout_error(what: &str, budget: Duration) -> Error {
    Error::new(ErrorCode::QueryTimeout, format!("{what} ran longer than {} s and was stopped", format_secs(budget)))
}

/// Seconds without noise: `30`, `0.4`, `1.25`.
fn format_secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.3}", d.as_secs_f64()).trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_options_escape_spaces_and_quote_the_schema() {
        let o = session_options("my \"odd\" schema");
        assert!(o.contains("-c default_transaction_read_only=on"), "{o}");
        assert!(o.contains(r#"-c search_path=pg_catalog,"my\ ""odd""\ schema""#), "{o}");
        assert!(o.contains("-c standard_conforming_strings=on"), "{o}");
    }

    #[test]
    fn helpers() {
        assert_eq!(format_secs(Duration::from_millis(400)), "0.4");
        assert_eq!(format_secs(Duration::from_secs(30)), "30");
        assert_eq!(timeout_ms(Duration::ZERO), 1);
        assert_eq!(type_name(&Type::INT4_ARRAY), "int4[]");
        assert_eq!(type_name(&Type::NUMERIC), "numeric");
        assert_eq!(
            timeout_error("the query", Duration::from_millis(1250)).message,
            "the query ran longer than 1.25 s and was stopped"
        );
    }

    #[tokio::test]
    async fn debug_and_describe_never_show_the_password() {
        let url = parse_postgres_url("postgres://u:hunter2@127.0.0.1:1/d").expect("parses");
        let c = PostgresConnector::new(url).expect("builds without connecting");
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!c.describe().contains("hunter2"));
        assert_eq!(c.dialect(), Dialect::Postgres);
    }
}
