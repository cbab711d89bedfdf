//! The MySQL and MariaDB connector (mysql_async: a small pool, rustls).
//!
//! Protections kept here, independently of the guard (see [`Connector`]):
//! - **read-only twice**: every session is `SET SESSION TRANSACTION READ ONLY` from the moment it connects, and every
//!   call runs inside `START TRANSACTION READ ONLY` … `ROLLBACK`. DDL (which commits implicitly) is refused too
//!   (`1792`), and a login without write privileges is refused by the server before that;
//! - **a time limit inside the server**: `max_statement_time` (MariaDB, seconds) or `max_execution_time` (MySQL,
//!   milliseconds) set to the time left, before every statement; plus a client-side deadline: a call never takes
//!   much longer than its budget — past it, the call answers `QueryTimeout`, and a background watchdog sends
//!   `KILL QUERY` on a separate connection and, if that does not end it, `KILL CONNECTION`;
//! - **one statement per protocol message**: user SQL is only ever sent as a prepared statement
//!   (`COM_STMT_PREPARE`), which the server refuses for more than one statement. There is no fallback to the text
//!   protocol (the driver always announces multi-statement support there);
//! - **pinned session settings**: `sql_mode` is a fixed list without `ANSI_QUOTES` and `NO_BACKSLASH_ESCAPES` (the
//!   guard's MySQL dialect reads `"…"` as a string and `\` as an escape), `time_zone = '+00:00'` (so TIMESTAMP
//!   values are UTC), `utf8mb4`;
//! - **the row cap**: at most `max_rows + 1` rows are read; the rest of a result is drained when short, otherwise
//!   the connection is closed rather than reading it all;
//! - **clean sessions**: a connection going back to the pool is reset (`COM_RESET_CONNECTION`: rolls back, clears
//!   user variables, temporary tables and prepared statements) and the settings above are applied again, so
//!   nothing one call leaves behind (e.g. a `@variable` holding another user's data) reaches the next call.
//!   LOCAL INFILE requests from the server are refused by the driver (no handler is installed).
//!
//! The server flavour comes from `SELECT VERSION()` at connect: [`MysqlConnector::flavour`] and
//! [`MysqlConnector::server_version`] (`MariaDB 10.11.19`, `MySQL 8.0.36`), also the schema's `server_version`.
//! Written for MySQL 8 and MariaDB 10.6+; older servers without a statement time limit are refused.

mod access;
mod introspect;
mod url;
mod values;

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use datagenie_core::connector::{AccessReport, Connector, IntrospectOptions, Limits};
use datagenie_core::schema::Schema;
use datagenie_core::value::{ResultColumn, ResultSet, Value};
use datagenie_core::{Dialect, Error, ErrorCode, GuardedSql, Secret};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, SslOpts};
use tokio::sync::oneshot;
use tokio::time::Instant;

pub use url::{DEFAULT_PORT, MysqlTarget, SslMode, parse_mysql_url};

use crate::sqlite::MAX_RESULT_BYTES;

/// Connections the pool opens at most, unless the connector is opened with another size.
pub const POOL_MAX: usize = crate::DEFAULT_POOL_SIZE;
/// How long opening the connector (TCP, TLS, login, version) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(5);
const FINGERPRINT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long past the deadline the client waits for the server's own limit before it answers `QueryTimeout` itself.
pub const SERVER_GRACE: Duration = Duration::from_millis(300);
/// How long the watchdog's `KILL` (a new connection and one statement) may take.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);
/// After `KILL QUERY`, how long the statement has to end before its connection is killed.
const KILL_GRACE: Duration = Duration::from_secs(2);
/// Rows read past the row cap to finish a result and keep its connection; a longer result closes the connection.
const DRAIN_ROWS: usize = 10_000;
/// Idle connections are closed after this long; every connection is replaced after `CONN_LIFETIME` (± jitter).
const IDLE_TTL: Duration = Duration::from_secs(300);
const CONN_LIFETIME: Duration = Duration::from_secs(3600);
/// The session's SQL mode: the server defaults common to MySQL 8 and MariaDB, without `ANSI_QUOTES`,
/// `NO_BACKSLASH_ESCAPES` or `PIPES_AS_CONCAT` (the guard's dialect) and without `ONLY_FULL_GROUP_BY` (MariaDB does
/// not see functional dependencies, so it would refuse correct grouped queries).
pub const SQL_MODE: &str = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";

/// The server software behind a `mysql://` URL. Both speak the guard's `mysql` dialect; the prompt names the
/// flavour and version through the schema's `server_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Mysql,
    Mariadb,
}

impl Flavour {
    pub fn display_name(self) -> &'static str {
        match self {
            Flavour::Mysql => "MySQL",
            Flavour::Mariadb => "MariaDB",
        }
    }
}

/// Columns that are MariaDB `JSON` (a `LONGTEXT` with a `json_valid` check): `(schema, table, column)`.
type JsonColumns = HashSet<(String, String, String)>;

/// A pooled, read-only connection to one MySQL or MariaDB server. See the module documentation.
pub struct MysqlConnector {
    inner: Arc<Inner>,
}

struct Inner {
    target: MysqlTarget,
    pool: Pool,
    /// The pool's options, for the watchdog's separate `KILL` connection. Holds the password: never printed.
    opts: Opts,
    flavour: Flavour,
    /// `MariaDB 10.11.19`.
    server_version: String,
    json_columns: RwLock<Arc<JsonColumns>>,
    /// Connections the pool opens at most.
    pool_size: usize,
}

impl fmt::Debug for MysqlConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlConnector")
            .field("target", &self.inner.target.describe())
            .field("server_version", &self.inner.server_version)
            .finish_non_exhaustive()
    }
}

impl MysqlConnector {
    /// Connects once to check the login and read the server's flavour and version, then keeps a pool of at most
    /// [`POOL_MAX`] connections. Must be called inside a tokio runtime.
    ///
    /// Errors: [`ErrorCode::DatabaseUnavailable`] when the server cannot be reached, refuses the login or TLS, or is
    /// too old to enforce a statement time limit; [`ErrorCode::DatabaseNotFound`] for an unknown database;
    /// [`ErrorCode::InvalidDatabaseUrl`] for an `ssl-ca` file that cannot be read. Messages never contain the
    /// password.
    pub async fn connect(target: &MysqlTarget) -> Result<Self, Error> {
        Self::connect_with(target, POOL_MAX).await
    }

    /// [`MysqlConnector::connect`] with a pool of at most `pool_size` connections.
    pub async fn connect_with(target: &MysqlTarget, pool_size: usize) -> Result<Self, Error> {
        let pool_size = pool_size.max(1);
        let tls = ssl_opts(target)?;
        let place = place(target);
        let secret = target.password().cloned();
        let opts_with = |tls: Option<SslOpts>| build_opts(target, tls, pool_size);
        let mut opts = opts_with(tls.clone());
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, async {
            match Conn::new(opts.clone()).await {
                // PREFERRED: TLS when the server offers it, otherwise plain.
                Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer))
                    if target.ssl_mode() == SslMode::Preferred =>
                {
                    opts = opts_with(None);
                    Conn::new(opts.clone()).await
                }
                other => other,
            }
        })
        .await;
        let mut conn = match probe {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(connect_error(&e, &place, secret.as_ref())),
            Err(_) => {
                return Err(Error::new(
                    ErrorCode::DatabaseUnavailable,
                    format!("cannot connect to {place}: no answer within {} s", CONNECT_TIMEOUT.as_secs()),
                ));
            }
        };
        let version = tokio::time::timeout(CONNECT_TIMEOUT, conn.query_first::<String, _>("SELECT VERSION()"))
            .await
            .map_err(|_| Error::new(ErrorCode::DatabaseUnavailable, format!("{place} did not say its version")))?
            .map_err(|e| connect_error(&e, &place, secret.as_ref()))?
            .unwrap_or_default();
        let (flavour, number) = parse_version(&version);
        check_version(flavour, number, &place)?;
        let server_version = format!("{} {}.{}.{}", flavour.display_name(), number.0, number.1, number.2);
        let json_columns = match flavour {
            Flavour::Mariadb => {
                tokio::time::timeout(CONNECT_TIMEOUT, introspect::load_json_columns(&mut conn, target.database()))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default()
            }
            Flavour::Mysql => JsonColumns::new(),
        };
        // Best effort: the server ends the session itself when the socket closes.
        let _ = tokio::time::timeout(Duration::from_secs(2), conn.disconnect()).await;
        let pool = Pool::new(opts.clone());
        Ok(MysqlConnector {
            inner: Arc::new(Inner {
                target: target.clone(),
                pool,
                opts,
                flavour,
                server_version,
                json_columns: RwLock::new(Arc::new(json_columns)),
                pool_size,
            }),
        })
    }

    /// MySQL or MariaDB, as the server reported at connect.
    pub fn flavour(&self) -> Flavour {
        self.inner.flavour
    }

    /// Flavour and version, e.g. `MariaDB 10.11.19`: what the prompt tells the LLM to write SQL for.
    pub fn server_version(&self) -> &str {
        &self.inner.server_version
    }

    pub fn target(&self) -> &MysqlTarget {
        &self.inner.target
    }

    /// Runs raw SQL through the same path as [`Connector::execute`] without the guard: for tests that prove the
    /// session itself refuses writes and stops at its time limit. Only built with the `test-bypass` feature.
    #[cfg(feature = "test-bypass")]
    #[doc(hidden)]
    pub async fn execute_unguarded_for_tests(&self, sql: &str, limits: &Limits) -> Result<ResultSet, Error> {
        self.run_query(sql.to_string(), limits).await
    }

    /// Runs `sql` (a statement that returns one integer, or nothing) within `budget` like a query, but with the
    /// server's own statement time limit switched off first in the same session, so that only the client's deadline
    /// and the watchdog's `KILL QUERY` can stop it. `ran`, when given, receives how long the statement itself ran,
    /// also after the caller has been answered. For the watchdog's tests; only built with the `test-bypass` feature.
    #[cfg(feature = "test-bypass")]
    #[doc(hidden)]
    pub async fn query_int_without_server_limit_for_tests(
        &self,
        sql: &str,
        budget: Duration,
        ran: Option<oneshot::Sender<Duration>>,
    ) -> Result<Option<i64>, Error> {
        let off = match self.flavour() {
            Flavour::Mariadb => "SET SESSION max_statement_time = 0",
            Flavour::Mysql => "SET SESSION max_execution_time = 0",
        };
        let sql = sql.to_string();
        Inner::run(&self.inner, Ctx::new("the query", budget), move |mut conn| async move {
            let result = async {
                conn.query_drop(off).await?;
                let began = Instant::now();
                let answer = conn.query_first::<i64, _>(sql).await;
                if let Some(ran) = ran {
                    let _ = ran.send(began.elapsed());
                }
                answer
            }
            .await
            .map_err(Failure::Db);
            Done { conn, result, reusable: true }
        })
        .await
    }

    async fn run_query(&self, sql: String, limits: &Limits) -> Result<ResultSet, Error> {
        let max_rows = limits.max_rows;
        let json = self.inner.json_columns();
        let ctx = Ctx::new("the query", limits.timeout);
        Inner::run(&self.inner, ctx, move |mut conn| async move {
            let (result, reusable) = read_result(&mut conn, &sql, max_rows, &json).await;
            Done { conn, result, reusable }
        })
        .await
    }
}

#[async_trait]
impl Connector for MysqlConnector {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn describe(&self) -> String {
        self.inner.target.describe()
    }

    async fn healthcheck(&self) -> Result<(), Error> {
        let ctx = Ctx::new("the health check", HEALTHCHECK_TIMEOUT);
        Inner::run(&self.inner, ctx, |mut conn| async move {
            let result = conn.query_drop("SELECT 1").await.map_err(Failure::Db);
            Done { conn, result, reusable: true }
        })
        .await
    }

    /// SHA-256 over server-side digests of the tables, columns and keys in scope (see `introspect::fingerprint`):
    /// one statement, a few rows over the wire. Changes with any DDL that changes names, types, nullability,
    /// comments or keys; row changes leave it alone.
    async fn schema_fingerprint(&self) -> Result<String, Error> {
        let ctx = Ctx::new("the schema fingerprint query", FINGERPRINT_TIMEOUT);
        let database = self.inner.target.database().map(str::to_string);
        let flavour = self.inner.flavour;
        Inner::run(&self.inner, ctx, move |mut conn| async move {
            let result = introspect::fingerprint(&mut conn, database.as_deref(), flavour).await;
            Done { conn, result, reusable: true }
        })
        .await
    }

    async fn introspect(&self, options: &IntrospectOptions) -> Result<Schema, Error> {
        introspect::introspect(&self.inner, options).await
    }

    async fn execute(&self, sql: &GuardedSql, limits: &Limits) -> Result<ResultSet, Error> {
        if sql.dialect() != Dialect::Mysql {
            return Err(Error::new(
                ErrorCode::Internal,
                format!("SQL checked for {} cannot run on a MySQL connection", sql.dialect().display_name()),
            ));
        }
        self.run_query(sql.as_str().to_string(), limits).await
    }

    /// The login's grants, the session's read-only state and the time-limit probe (`access.rs`).
    async fn access_report(&self) -> Result<AccessReport, Error> {
        access::report(self).await
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Opening

fn place(target: &MysqlTarget) -> String {
    let host = if target.host().contains(':') { format!("[{}]", target.host()) } else { target.host().to_string() };
    format!("the MySQL server at {host}:{}", target.port())
}

fn build_opts(target: &MysqlTarget, tls: Option<SslOpts>, pool_size: usize) -> Opts {
    let lifetime_jitter = CONN_LIFETIME / 10;
    let constraints = PoolConstraints::new(0, pool_size.max(1)).unwrap_or_default();
    let pool = PoolOpts::default()
        .with_constraints(constraints)
        .with_inactive_connection_ttl(IDLE_TTL)
        .with_ttl_check_interval(Duration::from_secs(30))
        .with_abs_conn_ttl(Some(CONN_LIFETIME))
        .with_abs_conn_ttl_jitter(Some(lifetime_jitter))
        // The reset is what clears a session between calls; the setup statements below run again after it.
        .with_reset_connection(true);
    OptsBuilder::default()
        .ip_or_hostname(target.host())
        .tcp_port(target.port())
        .user(Some(target.user()))
        .pass(target.password().map(Secret::expose))
        .db_name(target.database())
        // Never switch to the server's Unix socket: that would log in as another account (user@localhost).
        .prefer_socket(false)
        .tcp_nodelay(true)
        .tcp_keepalive(Some(Duration::from_secs(60)))
        .setup(vec![
            format!("SET NAMES utf8mb4, SESSION sql_mode = '{SQL_MODE}', SESSION time_zone = '+00:00'"),
            "SET SESSION TRANSACTION READ ONLY".to_string(),
        ])
        .pool_opts(pool)
        .ssl_opts(tls)
        .into()
}

/// TLS options for the URL's `ssl-mode` and `ssl-ca`.
fn ssl_opts(target: &MysqlTarget) -> Result<Option<SslOpts>, Error> {
    if target.ssl_mode() == SslMode::Disabled {
        return Ok(None);
    }
    // rustls needs a process-wide crypto provider when more than one is compiled in; installing fails harmlessly
    // when one is already set.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut tls = SslOpts::default();
    if let Some(ca) = target.ssl_ca() {
        std::fs::metadata(ca).map_err(|e| {
            Error::new(ErrorCode::InvalidDatabaseUrl, format!("cannot read the ssl-ca file {}: {e}", ca.display()))
        })?;
        tls = tls.with_root_certs(vec![ca.to_path_buf().into()]).with_disable_built_in_roots(true);
    }
    let verify_chain = match target.ssl_mode() {
        SslMode::Disabled | SslMode::Preferred => false,
        SslMode::Required => target.ssl_ca().is_some(),
        SslMode::VerifyCa | SslMode::VerifyIdentity => true,
    };
    let verify_host = target.ssl_mode() == SslMode::VerifyIdentity;
    Ok(Some(tls.with_danger_accept_invalid_certs(!verify_chain).with_danger_skip_domain_validation(!verify_host)))
}

/// `10.11.19-MariaDB-0+deb12u1` is MariaDB 10.11.19; `8.0.36` is MySQL 8.0.36.
fn parse_version(version: &str) -> (Flavour, (u16, u16, u16)) {
    let flavour = if version.to_ascii_lowercase().contains("mariadb") { Flavour::Mariadb } else { Flavour::Mysql };
    let numeric: String = version.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let mut parts = numeric.split('.').map(|p| p.parse::<u16>().unwrap_or(0));
    let number = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (flavour, number)
}

/// Refuses servers that cannot stop a statement at a time limit (MySQL before 5.7.8, MariaDB before 10.1.1).
fn check_version(flavour: Flavour, number: (u16, u16, u16), place: &str) -> Result<(), Error> {
    let minimum = match flavour {
        Flavour::Mysql => (5, 7, 8),
        Flavour::Mariadb => (10, 1, 1),
    };
    if number < minimum {
        return Err(Error::new(
            ErrorCode::DatabaseUnavailable,
            format!(
                "{place} runs {} {}.{}.{}, which cannot limit a statement's running time; DataGenie needs MySQL 8.0 \
                 or MariaDB 10.6 or later",
                flavour.display_name(),
                number.0,
                number.1,
                number.2
            ),
        ));
    }
    if (flavour == Flavour::Mysql && number < (8, 0, 0)) || (flavour == Flavour::Mariadb && number < (10, 6, 0)) {
        tracing::warn!(version = ?number, flavour = flavour.display_name(), "server older than DataGenie tests");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Running calls

/// A call's name (for timeout messages), budget and deadline (`None`: too far to represent, i.e. no limit).
#[derive(Debug, Clone, Copy)]
struct Ctx {
    what: &'static str,
    budget: Duration,
    deadline: Option<Instant>,
}

impl Ctx {
    fn new(what: &'static str, budget: Duration) -> Ctx {
        Ctx { what, budget, deadline: Instant::now().checked_add(budget) }
    }

    /// Time left; `None` when there is no deadline. Zero once it has passed.
    fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    fn timeout_error(&self) -> Error {
        Error::new(
            ErrorCode::QueryTimeout,
            format!("{} ran longer than {} s and was stopped", self.what, format_secs(self.budget)),
        )
    }
}

/// Why a job failed: the driver's error (mapped to a code by [`Inner::map_error`]) or one of ours.
#[derive(Debug)]
enum Failure {
    Db(mysql_async::Error),
    Own(Error),
}

impl From<mysql_async::Error> for Failure {
    fn from(e: mysql_async::Error) -> Self {
        Failure::Db(e)
    }
}

/// What a job hands back: the connection, its result, and whether the connection is fit for the pool.
struct Done<T> {
    conn: Conn,
    result: Result<T, Failure>,
    reusable: bool,
}

/// Shared by a call's worker and its watchdog: the server's id of the connection while a job runs on it. The worker
/// clears it (under the lock) before it lets the connection go, so a `KILL` never reaches a later call.
#[derive(Default)]
struct Running {
    id: tokio::sync::Mutex<Option<u32>>,
}

/// Where an error happened: logging in (a refused login is the server being unavailable to us) or running a
/// statement (a refused privilege is a refused write).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Connect,
    Statement,
}

impl Inner {
    fn json_columns(&self) -> Arc<JsonColumns> {
        Arc::clone(&self.json_columns.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn set_json_columns(&self, columns: JsonColumns) {
        *self.json_columns.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(columns);
    }

    /// Runs `job` on a pooled connection inside `START TRANSACTION READ ONLY`, with the server's statement time
    /// limit set to the time left, and answers within `ctx.budget` plus [`SERVER_GRACE`].
    ///
    /// The work runs on its own task, so a driver panic becomes an `Internal` error and the work can be stopped
    /// without waiting for it. The result is sent back as soon as the job has it; `ROLLBACK` and returning the
    /// connection (or closing it when the job says so) happen after, off the caller's path. Past the deadline the
    /// caller gets `QueryTimeout` and a watchdog kills what is still running.
    async fn run<T, F, Fut>(this: &Arc<Inner>, ctx: Ctx, job: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(Conn) -> Fut + Send + 'static,
        Fut: Future<Output = Done<T>> + Send + 'static,
    {
        let running = Arc::new(Running::default());
        let (tx, rx) = oneshot::channel::<Result<T, Error>>();
        let inner = Arc::clone(this);
        let shared = Arc::clone(&running);
        let mut worker = tokio::spawn(async move {
            let conn = match inner.acquire(&ctx).await {
                Ok(conn) => conn,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            *shared.id.lock().await = Some(conn.id());
            let Done { mut conn, result, reusable } = job(conn).await;
            *shared.id.lock().await = None;
            let lost = matches!(&result, Err(Failure::Db(e)) if is_connection_error(e));
            let _ = tx.send(result.map_err(|f| inner.map_failure(f, &ctx, Stage::Statement)));
            if reusable && !lost && conn.query_drop("ROLLBACK").await.is_ok() {
                drop(conn); // back to the pool, which resets it
            } else {
                let _ = tokio::time::timeout(Duration::from_secs(2), conn.disconnect()).await;
            }
        });
        let answer = match ctx.deadline.and_then(|d| d.checked_add(SERVER_GRACE)) {
            None => rx.await,
            Some(alarm) => {
                tokio::pin!(rx);
                tokio::select! {
                    biased;
                    answer = &mut rx => answer,
                    _ = tokio::time::sleep_until(alarm) => {
                        let opts = this.opts.clone();
                        tokio::spawn(async move {
                            watchdog(opts, running, &mut worker).await;
                        });
                        return Err(ctx.timeout_error());
                    }
                }
            }
        };
        let answer = answer.unwrap_or_else(|_| {
            Err(Error::new(ErrorCode::Internal, "the MySQL worker stopped unexpectedly (a driver panic)"))
        });
        // An answer that came after the deadline is a timeout too: MySQL's `SLEEP()` interrupted by
        // `max_execution_time` returns 1 instead of failing, and a result past its budget broke the limit anyway.
        match answer {
            Ok(_) if ctx.remaining().is_some_and(|left| left.is_zero()) => Err(ctx.timeout_error()),
            other => other,
        }
    }

    /// A pooled connection with the statement time limit set and a read-only transaction open. A connection the
    /// server has ended (a restart, `KILL`, a network cut) is replaced once: nothing of the call has run on it yet.
    async fn acquire(&self, ctx: &Ctx) -> Result<Conn, Error> {
        for attempt in 0..2 {
            let got = match ctx.deadline {
                Some(deadline) => {
                    tokio::time::timeout_at(deadline, self.pool.get_conn()).await.map_err(|_| ctx.timeout_error())?
                }
                None => self.pool.get_conn().await,
            };
            let mut conn = got.map_err(|e| self.map_error(&e, ctx, Stage::Connect))?;
            let limit = match ctx.remaining() {
                Some(left) if left.is_zero() => return Err(ctx.timeout_error()),
                Some(left) => self.time_limit_sql(left),
                None => self.time_limit_sql(Duration::ZERO),
            };
            let prelude = async {
                conn.query_drop(limit).await?;
                conn.query_drop("START TRANSACTION READ ONLY").await
            };
            match prelude.await {
                Ok(()) => return Ok(conn),
                Err(e) if attempt == 0 && is_connection_error(&e) => {
                    tracing::debug!(error = %e, "replacing a MySQL connection the server ended");
                    let _ = tokio::time::timeout(Duration::from_secs(1), conn.disconnect()).await;
                }
                Err(e) => return Err(self.map_error(&e, ctx, Stage::Connect)),
            }
        }
        Err(Error::new(ErrorCode::DatabaseUnavailable, format!("{} keeps closing connections", place(&self.target))))
    }

    /// The statement that sets the server's own time limit to `left` (zero: no limit).
    fn time_limit_sql(&self, left: Duration) -> String {
        match self.flavour {
            // Seconds with microseconds; at least 1 ms (0 would mean no limit); at most a year (the maximum).
            Flavour::Mariadb => {
                let secs = if left.is_zero() { 0.0 } else { left.as_secs_f64().clamp(0.001, 31_536_000.0) };
                format!("SET SESSION max_statement_time = {secs:.6}")
            }
            // Milliseconds, rounded up; SELECT statements only (the only ones users run).
            Flavour::Mysql => {
                let ms =
                    if left.is_zero() { 0 } else { left.as_micros().div_ceil(1000).clamp(1, u128::from(u32::MAX)) };
                format!("SET SESSION max_execution_time = {ms}")
            }
        }
    }

    fn map_failure(&self, failure: Failure, ctx: &Ctx, stage: Stage) -> Error {
        match failure {
            Failure::Db(e) => self.map_error(&e, ctx, stage),
            Failure::Own(e) => e,
        }
    }

    /// The driver's error as DataGenie's: writes and privileges the session refuses are `ReadOnlyViolation`, the
    /// server's time limits `QueryTimeout`, lost or refused connections `DatabaseUnavailable`, an unknown database
    /// `DatabaseNotFound`, and anything else `QueryFailed` with the server's own message (which the repair loop sends
    /// back to the LLM). The password is scrubbed from every message.
    fn map_error(&self, e: &mysql_async::Error, ctx: &Ctx, stage: Stage) -> Error {
        let place = place(&self.target);
        let error = match e {
            mysql_async::Error::Server(s) => map_server_error(s.code, &s.message, ctx, stage, &place),
            mysql_async::Error::Driver(mysql_async::DriverError::PacketTooLarge) => {
                Error::new(ErrorCode::QueryFailed, "a result row is larger than the connection's packet limit")
            }
            other if stage == Stage::Connect => {
                Error::new(ErrorCode::DatabaseUnavailable, format!("cannot connect to {place}: {other}"))
            }
            other if is_connection_error(other) => {
                Error::new(ErrorCode::DatabaseUnavailable, format!("lost the connection to {place}: {other}"))
            }
            mysql_async::Error::Url(u) => Error::new(ErrorCode::InvalidDatabaseUrl, u.to_string()),
            other => Error::new(ErrorCode::QueryFailed, other.to_string()),
        };
        scrub(error, self.target.password())
    }
}

/// Past a call's deadline: `KILL QUERY` the statement still running, and if it has not ended [`KILL_GRACE`] later,
/// `KILL CONNECTION` and stop the worker. Holding the lock while killing keeps the worker from giving the connection
/// to another call meanwhile.
async fn watchdog(opts: Opts, running: Arc<Running>, worker: &mut tokio::task::JoinHandle<()>) {
    {
        let id = running.id.lock().await;
        if let Some(id) = *id {
            kill(&opts, "KILL QUERY", id).await;
        }
    }
    if tokio::time::timeout(KILL_GRACE, &mut *worker).await.is_err() {
        let id = running.id.lock().await;
        if let Some(id) = *id {
            kill(&opts, "KILL CONNECTION", id).await;
        }
        worker.abort();
    }
}

/// Sends `KILL … <id>` on a new connection (the pool may be exhausted by the very call being stopped). A login may
/// kill its own sessions without extra privileges.
async fn kill(opts: &Opts, verb: &str, id: u32) {
    let attempt = async {
        let mut conn = Conn::new(opts.clone()).await?;
        let out = conn.query_drop(format!("{verb} {id}")).await;
        let _ = conn.disconnect().await;
        out
    };
    match tokio::time::timeout(KILL_TIMEOUT, attempt).await {
        Ok(Ok(())) => tracing::debug!(id, verb, "stopped a MySQL statement past its deadline"),
        // 1094: the session is already gone.
        Ok(Err(mysql_async::Error::Server(s))) if s.code == 1094 => {}
        Ok(Err(e)) => tracing::warn!(id, verb, error = %e, "could not stop a MySQL statement past its deadline"),
        Err(_) => tracing::warn!(id, verb, "could not stop a MySQL statement past its deadline: no answer"),
    }
}

/// True when the connection itself is gone: the socket, the protocol, or the server ending the session.
fn is_connection_error(e: &mysql_async::Error) -> bool {
    use mysql_async::DriverError as D;
    match e {
        mysql_async::Error::Io(_) => true,
        mysql_async::Error::Driver(d) => {
            matches!(d, D::ConnectionClosed | D::PoolDisconnected | D::PacketOutOfOrder | D::UnexpectedPacket { .. })
        }
        // 1053 server shutdown, 1927 connection killed (MariaDB), 2006/2013 gone/lost, 4031 idle timeout (MySQL).
        mysql_async::Error::Server(s) => matches!(s.code, 1053 | 1927 | 2006 | 2013 | 4031),
        _ => false,
    }
}

fn map_server_error(code: u16, message: &str, ctx: &Ctx, stage: Stage, place: &str) -> Error {
    let read_only =
        || Error::new(ErrorCode::ReadOnlyViolation, format!("the database connection is read-only: {message}"));
    let unavailable =
        || Error::new(ErrorCode::DatabaseUnavailable, format!("{place} refused the connection: {message}"));
    match code {
        // Access denied at login (1045), to the database (1044), host not allowed or blocked, too many connections.
        1044 | 1045 | 1129 | 1130 | 1040 | 1203 | 1251 if stage == Stage::Connect => unavailable(),
        1049 => Error::new(ErrorCode::DatabaseNotFound, format!("{place}: {message}")),
        1053 | 1927 | 2006 | 2013 | 4031 => {
            Error::new(ErrorCode::DatabaseUnavailable, format!("lost the connection to {place}: {message}"))
        }
        // Statement time limits: MariaDB max_statement_time, MySQL max_execution_time.
        1969 | 3024 => ctx.timeout_error(),
        // 1792 read-only transaction; 1568 transaction characteristics locked; 1290/1836 server in read-only mode;
        // 1227 needs SUPER-like privileges; 1044/1045 denied (e.g. CREATE TEMPORARY TABLE, INTO OUTFILE without
        // FILE); 1370 routine denied.
        1792 | 1568 | 1290 | 1836 | 1227 | 1044 | 1045 | 1370 => read_only(),
        // Table or column privilege denied: a write when the denied command is not a read.
        1142 | 1143 => {
            let command = message.split(" command denied").next().unwrap_or("").trim().to_ascii_uppercase();
            if matches!(command.as_str(), "SELECT" | "SHOW VIEW") {
                Error::new(ErrorCode::QueryFailed, message.to_string())
            } else {
                read_only()
            }
        }
        _ => Error::new(ErrorCode::QueryFailed, message.to_string()),
    }
}

/// An error while connecting: the server's refusal or the network's.
fn connect_error(e: &mysql_async::Error, place: &str, secret: Option<&Secret>) -> Error {
    let error = match e {
        mysql_async::Error::Server(s) if s.code == 1049 => {
            Error::new(ErrorCode::DatabaseNotFound, format!("{place}: {}", s.message))
        }
        mysql_async::Error::Server(s) => {
            Error::new(ErrorCode::DatabaseUnavailable, format!("{place} refused the connection: {}", s.message))
        }
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => Error::new(
            ErrorCode::DatabaseUnavailable,
            format!("{place} does not offer TLS, and the URL's ssl-mode requires it"),
        ),
        other => Error::new(ErrorCode::DatabaseUnavailable, format!("cannot connect to {place}: {other}")),
    };
    scrub(error, secret)
}

/// Removes the password from a message, should a driver or server ever echo it.
fn scrub(mut error: Error, secret: Option<&Secret>) -> Error {
    if let Some(secret) = secret.filter(|s| s.expose().len() >= 4)
        && error.message.contains(secret.expose())
    {
        error.message = error.message.replace(secret.expose(), "[redacted]");
    }
    error
}

/// Seconds without noise: `30`, `0.4`, `1.25`.
fn format_secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.3}", d.as_secs_f64()).trim_end_matches('0').to_string()
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Results

/// Prepares and executes `sql` (binary protocol: one statement), reads at most `max_rows + 1` rows and at most
/// [`MAX_RESULT_BYTES`], and says whether the connection may go back to the pool: a result cut short is drained up
/// to [`DRAIN_ROWS`] more rows, and a longer one closes the connection instead of being read to its end.
async fn read_result(
    conn: &mut Conn,
    sql: &str,
    max_rows: usize,
    json: &JsonColumns,
) -> (Result<ResultSet, Failure>, bool) {
    let mut result = match conn.exec_iter(sql, ()).await {
        Ok(r) => r,
        Err(e) => return (Err(e.into()), true),
    };
    let mut kinds = Vec::new();
    let mut out = ResultSet::default();
    for column in result.columns_ref() {
        let origin =
            (column.schema_str().into_owned(), column.org_table_str().into_owned(), column.org_name_str().into_owned());
        let (kind, decl_type) = values::column_kind(column, json.contains(&origin));
        kinds.push(kind);
        out.columns.push(ResultColumn { name: column.name_str().into_owned(), decl_type });
    }
    let mut bytes = 0usize;
    loop {
        let row = match result.next().await {
            Ok(Some(row)) => row,
            Ok(None) => return (Ok(out), true),
            Err(e) => return (Err(e.into()), true),
        };
        if out.rows.len() >= max_rows {
            out.truncated = true;
            break;
        }
        let cells = row.unwrap_raw();
        let values: Vec<Value> = kinds
            .iter()
            .zip(cells.into_iter().chain(std::iter::repeat(None)))
            .map(|(k, c)| values::to_value(*k, c))
            .collect();
        bytes = bytes.saturating_add(values.iter().map(value_bytes).sum());
        if bytes > MAX_RESULT_BYTES {
            if out.rows.is_empty() {
                return (
                    Err(Failure::Own(Error::new(
                        ErrorCode::QueryFailed,
                        format!("a single result row is larger than {} MiB", MAX_RESULT_BYTES >> 20),
                    ))),
                    false,
                );
            }
            out.truncated = true;
            break;
        }
        out.rows.push(values);
    }
    // Cut short: finish a short remainder so the connection stays usable; close it rather than read a long one.
    for _ in 0..DRAIN_ROWS {
        match result.next().await {
            Ok(Some(_)) => {}
            Ok(None) => return (Ok(out), true),
            Err(_) => return (Ok(out), false),
        }
    }
    (Ok(out), false)
}

/// Bytes a value holds beyond its fixed size, plus a small per-cell overhead.
fn value_bytes(v: &Value) -> usize {
    16 + match v {
        Value::Text(t) | Value::Decimal(t) => t.len(),
        Value::Blob(b) => b.len(),
        Value::Json(j) => j.to_string().len(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx {
        Ctx { what: "the query", budget: Duration::from_millis(400), deadline: None }
    }

    #[test]
    fn versions_and_flavours() {
        assert_eq!(parse_version("10.11.19-MariaDB-0+deb12u1"), (Flavour::Mariadb, (10, 11, 19)));
        assert_eq!(parse_version("8.0.36"), (Flavour::Mysql, (8, 0, 36)));
        assert_eq!(parse_version("8.4.0-commercial"), (Flavour::Mysql, (8, 4, 0)));
        assert_eq!(parse_version("garbage"), (Flavour::Mysql, (0, 0, 0)));
        assert!(check_version(Flavour::Mysql, (5, 6, 51), "x").is_err());
        assert!(check_version(Flavour::Mariadb, (10, 0, 38), "x").is_err());
        assert!(check_version(Flavour::Mysql, (8, 0, 36), "x").is_ok());
        assert!(check_version(Flavour::Mariadb, (10, 6, 0), "x").is_ok());
    }

    #[test]
    fn server_errors_map_to_stable_codes() {
        let map = |code, msg: &str, stage| map_server_error(code, msg, &ctx(), stage, "the MySQL server at h:1");
        let ro = map(1792, "Cannot execute statement in a READ ONLY transaction", Stage::Statement);
        assert_eq!(ro.code, ErrorCode::ReadOnlyViolation);
        assert_eq!(
            ro.message,
            "the database connection is read-only: Cannot execute statement in a READ ONLY transaction"
        );
        let denied = map(1142, "INSERT command denied to user 'r'@'%' for table `d`.`t`", Stage::Statement);
        assert_eq!(denied.code, ErrorCode::ReadOnlyViolation);
        let select = map(1142, "SELECT command denied to user 'r'@'%' for table `d`.`t`", Stage::Statement);
        assert_eq!(select.code, ErrorCode::QueryFailed, "a refused read is not a refused write");
        assert_eq!(map(1045, "Access denied for user 'r'@'%'", Stage::Statement).code, ErrorCode::ReadOnlyViolation);
        assert_eq!(map(1045, "Access denied for user 'r'@'%'", Stage::Connect).code, ErrorCode::DatabaseUnavailable);
        let t = map(1969, "Query execution was interrupted (max_statement_time exceeded)", Stage::Statement);
        assert_eq!(
            (t.code, t.message.as_str()),
            (ErrorCode::QueryTimeout, "the query ran longer than 0.4 s and was stopped")
        );
        assert_eq!(
            map(3024, "maximum statement execution time exceeded", Stage::Statement).code,
            ErrorCode::QueryTimeout
        );
        assert_eq!(map(1054, "Unknown column 'x' in 'field list'", Stage::Statement).code, ErrorCode::QueryFailed);
        assert_eq!(map(1049, "Unknown database 'nope'", Stage::Connect).code, ErrorCode::DatabaseNotFound);
        assert_eq!(map(1927, "Connection was killed", Stage::Statement).code, ErrorCode::DatabaseUnavailable);
    }

    #[test]
    fn scrubbing_and_formatting() {
        let e = scrub(Error::new(ErrorCode::QueryFailed, "pw is hunter22 here"), Some(&Secret::new("hunter22")));
        assert_eq!(e.message, "pw is [redacted] here");
        assert_eq!(format_secs(Duration::from_millis(400)), "0.4");
        assert_eq!(format_secs(Duration::from_secs(30)), "30");
        assert_eq!(format_secs(Duration::from_millis(1250)), "1.25");
    }
}
