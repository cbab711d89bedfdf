//! The SQLite connector (rusqlite, bundled SQLite).
//!
//! Read-only in layers, so that no single bug lets a statement write to the user's file:
//! 1. the file is opened `SQLITE_OPEN_READ_ONLY` (never `CREATE`, so a missing file is never created), with an
//!    absolute path so it is never read as a `file:` URI;
//! 2. `PRAGMA query_only = ON`; `SQLITE_DBCONFIG_DEFENSIVE` on, `TRUSTED_SCHEMA` off, attaching disabled
//!    (`SQLITE_LIMIT_ATTACHED = 0`, no attach-create, no attach-write); extension loading is never enabled;
//! 3. an authorizer that allows only reads, a read-only pragma allow-list and the guard's own function allow-list
//!    ([`guard::is_allowed_function`]) — every write, schema change, transaction, ATTACH/DETACH, other pragma and
//!    other function (also one called inside a view's definition) is refused while the statement is prepared;
//! 4. user SQL must prepare to a statement SQLite itself reports as read-only (`sqlite3_stmt_readonly`).
//!
//! Bounded work: `SQLITE_LIMIT_LENGTH` caps any string or blob (so `printf('%.*c', 2e9, 'x')` fails at once),
//! `SQLITE_LIMIT_SQL_LENGTH` caps statement text, a progress handler stops a statement at its deadline, a watchdog
//! interrupts the engine if the handler cannot run, and a result holds at most `max_rows` rows and
//! [`MAX_RESULT_BYTES`] of text and blobs.
//!
//! Threads: a connector keeps a small pool of such connections (its pool size, opened as they are needed; the
//! first when the connector is opened). A call first waits — on the async runtime, not on a thread — for a
//! connection to be free, then runs on tokio's blocking pool with that connection alone. So at most pool-size
//! blocking threads ever work for one connector, however many questions are waiting, and that many queries run
//! side by side (SQLite allows any number of readers).

mod access;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::truncate_chars;
use async_trait::async_trait;
use datagenie_core::connector::{AccessReport, Connector, IntrospectOptions, Limits};
use datagenie_core::ddl_comments::{DdlComments, ddl_comments};
use datagenie_core::guard;
use datagenie_core::schema::{Column, ForeignKey, Schema, Table, TableKind, TypeClass, hex};
use datagenie_core::value::{ResultColumn, ResultSet, Value, format_float};
use datagenie_core::{Dialect, Error, ErrorCode, GuardedSql};
use rusqlite::config::DbConfig;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, InterruptHandle, OpenFlags};
use sha2::{Digest, Sha256};

/// The largest string or blob a statement may build or read (`SQLITE_LIMIT_LENGTH`), in bytes.
pub const MAX_VALUE_BYTES: i32 = 128 * 1024 * 1024;
/// The longest SQL text a statement may have (`SQLITE_LIMIT_SQL_LENGTH`), in bytes.
pub const MAX_SQL_BYTES: i32 = 1024 * 1024;
/// The most text and blob bytes one result set holds. Past it the result is cut short and marked `truncated`; a
/// single row larger than this is an error.
pub const MAX_RESULT_BYTES: usize = 256 * 1024 * 1024;
/// Sample values longer than this many characters are cut on a character boundary and end with `…`.
pub const SAMPLE_MAX_CHARS: usize = 60;

/// Layer 1: read-only, no `CREATE`, no URI filenames; the connection is used by one thread at a time (the mutex).
const OPEN_FLAGS: OpenFlags = OpenFlags::SQLITE_OPEN_READ_ONLY.union(OpenFlags::SQLITE_OPEN_NO_MUTEX);
/// Virtual-machine steps between two deadline checks (a check is one `Instant::now()`).
const PROGRESS_OPS: i32 = 1000;
/// How long after a deadline the watchdog interrupts the engine and answers the caller itself.
const WATCHDOG_GRACE: Duration = Duration::from_millis(500);
/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(5);
const FINGERPRINT_TIMEOUT: Duration = Duration::from_secs(30);
/// Text columns sampled by one statement (a compound SELECT; SQLite allows 500 terms).
const SAMPLE_COLUMNS_PER_STATEMENT: usize = 100;

/// Pragmas the authorizer lets through: whatever their argument, they only read metadata (`data_version` is read by
/// FTS5 itself).
const READ_ONLY_PRAGMAS: &[&str] = &[
    "data_version",
    "table_info",
    "table_xinfo",
    "table_list",
    "foreign_key_list",
    "index_list",
    "index_info",
    "index_xinfo",
];
/// Functions SQLite calls for operators rather than for a call written in the query (`x LIKE y` is `like(y, x)`,
/// `j -> '$.a'` is `->`(j, '$.a')). The guard sees the operators; the authorizer sees these names.
const OPERATOR_FUNCTIONS: &[&str] = &["like", "glob", "match", "->", "->>"];

/// Read-only connections to one SQLite database file. See the module documentation for the layers that keep
/// them read-only and bounded, and for how calls share them.
pub struct SqliteConnector {
    /// Absolute path of the database file.
    path: PathBuf,
    pool: Arc<Pool>,
}

/// The connector's connections: `permits` says how many more calls may hold one (the pool size in all), `idle`
/// holds the open ones no call holds. A call with a permit takes an idle connection or, when none is idle, opens
/// one — so no more than the pool size are ever open.
struct Pool {
    permits: Arc<tokio::sync::Semaphore>,
    idle: Mutex<Vec<Pooled>>,
    next_id: AtomicU64,
}

/// One open connection and the watch that can interrupt it.
struct Pooled {
    session: Session,
    watch: Arc<Watch>,
}

impl Pooled {
    /// Opens `path` (as [`Protected::open`]); also the absolute path it opened.
    fn open(path: &Path) -> Result<(PathBuf, Pooled), Error> {
        let Protected { path, conn, denial } = Protected::open(path)?;
        let watch = Watch { running: Mutex::new(None), handle: conn.get_interrupt_handle() };
        Ok((path, Pooled { session: Session { conn, denial }, watch: Arc::new(watch) }))
    }
}

impl fmt::Debug for SqliteConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteConnector").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Lets a call's watchdog interrupt exactly that call's job. The running job's id is read and the engine
/// interrupted under one lock, and a job clears its id under the same lock before it gives up the connection — so an
/// interrupt never reaches a later job. (SQLite also drops a stale interrupt when the next statement starts.)
struct Watch {
    running: Mutex<Option<u64>>,
    handle: InterruptHandle,
}

impl Watch {
    fn set_running(&self, job: Option<u64>) {
        *lock(&self.running) = job;
    }

    fn interrupt(&self, job: u64) {
        let running = lock(&self.running);
        if *running == Some(job) {
            self.handle.interrupt();
        }
    }
}

/// Locks `m`, also after a panic elsewhere: the data guarded here stays consistent between statements.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The connection plus what its authorizer last refused (for the error message). Only the thread holding the
/// session's mutex touches either.
struct Session {
    conn: Connection,
    denial: Arc<Mutex<Option<String>>>,
}

impl SqliteConnector {
    /// Opens `path` read-only, with a pool of [`DEFAULT_POOL_SIZE`](crate::DEFAULT_POOL_SIZE) connections. Never
    /// creates a file.
    ///
    /// Errors: [`ErrorCode::DatabaseNotFound`] when nothing is at `path`; [`ErrorCode::NotADatabase`] for a
    /// directory, a device or FIFO, or a file that is not an intact SQLite database; [`ErrorCode::DatabaseUnavailable`]
    /// when the file cannot be read; [`ErrorCode::InvalidDatabaseUrl`] for an empty path.
    ///
    /// Blocking: it reads the file header and schema, so async callers run it on the blocking pool.
    pub fn open(path: &Path) -> Result<Self, Error> {
        Self::open_with(path, crate::DEFAULT_POOL_SIZE)
    }

    /// [`SqliteConnector::open`] with at most `pool_size` connections (at least 1). One is opened now, so a bad
    /// file fails here; the others when calls overlap.
    pub fn open_with(path: &Path, pool_size: usize) -> Result<Self, Error> {
        let (path, first) = Pooled::open(path)?;
        let pool = Pool {
            permits: Arc::new(tokio::sync::Semaphore::new(pool_size.max(1))),
            idle: Mutex::new(vec![first]),
            next_id: AtomicU64::new(0),
        };
        Ok(SqliteConnector { path, pool: Arc::new(pool) })
    }

    /// The absolute path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `job` on the blocking pool with one of the pool's connections, under a deadline `budget` from now, and
    /// never takes much longer than `budget` to answer. The deadline counts from the call, so waiting for a
    /// connection (the pool busy) uses up the budget too; a call whose budget ends while it waits is a
    /// `QueryTimeout` that never ran.
    ///
    /// Two mechanisms stop a statement at the deadline: the progress handler (checked every `PROGRESS_OPS` steps),
    /// and a watchdog here that interrupts the engine at the deadline, for work that calls no progress handler
    /// (`count(*)`, a big sort). If the job has still not returned `WATCHDOG_GRACE` later, the caller gets
    /// `QueryTimeout` without waiting for it; the job ends on its own, and only then gives its connection (and its
    /// permit) back to the pool.
    async fn run<T, F>(&self, what: &'static str, budget: Duration, job: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Session, &Ctx) -> Result<T, Error> + Send + 'static,
    {
        let ctx = Ctx { what, budget, deadline: Instant::now().checked_add(budget) };
        let deadline = tokio::time::sleep(budget);
        tokio::pin!(deadline);
        let permit = tokio::select! {
            biased;
            permit = Arc::clone(&self.pool.permits).acquire_owned() => {
                permit.map_err(|_| Error::new(ErrorCode::Internal, "the SQLite connection pool is closed"))?
            }
            _ = &mut deadline => return Err(timeout_error(what, budget)),
        };
        let id = self.pool.next_id.fetch_add(1, Ordering::Relaxed);
        let idle = lock(&self.pool.idle).pop();
        let mut pooled = match idle {
            Some(p) => p,
            // Fewer connections open than permits: this call opens one more (at most pool-size times in all).
            None => {
                let path = self.path.clone();
                let opened = tokio::task::spawn_blocking(move || Pooled::open(&path));
                joined_result(opened.await.map(|r| r.map(|(_, p)| p)))?
            }
        };
        let watch = Arc::clone(&pooled.watch);
        let pool = Arc::clone(&self.pool);
        let mut task = tokio::task::spawn_blocking(move || {
            pooled.watch.set_running(Some(id));
            let out = pooled.session.with_deadline(&ctx, job);
            pooled.watch.set_running(None);
            lock(&pool.idle).push(pooled);
            drop(permit);
            out
        });
        tokio::select! {
            biased;
            joined = &mut task => return joined_result(joined),
            _ = &mut deadline => {}
        }
        watch.interrupt(id);
        match tokio::time::timeout(WATCHDOG_GRACE, &mut task).await {
            Ok(joined) => joined_result(joined),
            Err(_) => Err(timeout_error(what, budget)),
        }
    }

    /// Runs `f` on one idle connection of the pool (tests that take the connection apart).
    #[cfg(test)]
    fn with_idle_session<T>(&self, f: impl FnOnce(&mut Session) -> T) -> T {
        let mut idle = lock(&self.pool.idle);
        let pooled = idle.last_mut().expect("an idle connection");
        f(&mut pooled.session)
    }

    /// Runs raw SQL through the same path as [`Connector::execute`], without the guard: for tests that prove the
    /// connection itself refuses writes.
    #[cfg(test)]
    pub(crate) async fn execute_raw(&self, sql: &str, limits: &Limits) -> Result<ResultSet, Error> {
        let sql = sql.to_string();
        let max_rows = limits.max_rows;
        self.run("the query", limits.timeout, move |s, ctx| query_rows(s, &sql, max_rows, ctx)).await
    }

    /// [`Connector::execute`] without the guard, for the conformance suite's defense-in-depth checks. Exists only
    /// with the `test-bypass` feature, which no shipped build enables.
    #[cfg(feature = "test-bypass")]
    #[doc(hidden)]
    pub async fn execute_unguarded_for_tests(&self, sql: &str, limits: &Limits) -> Result<ResultSet, Error> {
        let sql = sql.to_string();
        let max_rows = limits.max_rows;
        self.run("the query", limits.timeout, move |s, ctx| query_rows(s, &sql, max_rows, ctx)).await
    }
}

#[async_trait]
impl Connector for SqliteConnector {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    /// `sqlite:///abs/path`, with `%`, `?` and `#` escaped so that [`crate::parse_sqlite_target`] reads it back.
    fn describe(&self) -> String {
        let path = self.path.to_string_lossy().replace('%', "%25").replace('?', "%3F").replace('#', "%23");
        if path.starts_with('/') { format!("sqlite://{path}") } else { format!("sqlite:///{path}") }
    }

    /// `SELECT 1`, after checking the file is still there (an open connection keeps reading a deleted file).
    async fn healthcheck(&self) -> Result<(), Error> {
        let path = self.path.clone();
        self.run("the health check", HEALTHCHECK_TIMEOUT, move |s, ctx| {
            if !path.is_file() {
                return Err(Error::new(
                    ErrorCode::DatabaseUnavailable,
                    format!("the database file {} is no longer there", path.display()),
                ));
            }
            s.conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).map_err(|e| s.error(e, ctx))?;
            Ok(())
        })
        .await
    }

    /// SHA-256 over `type, name, tbl_name, sql` of every `sqlite_master` row, ordered by type and name. Changes
    /// with any DDL; row changes do not touch `sqlite_master`, so inserts leave it unchanged.
    async fn schema_fingerprint(&self) -> Result<String, Error> {
        self.run("the schema fingerprint query", FINGERPRINT_TIMEOUT, fingerprint).await
    }

    async fn introspect(&self, options: &IntrospectOptions) -> Result<Schema, Error> {
        let options = *options;
        self.run("schema introspection", options.timeout, move |s, ctx| introspect(s, &options, ctx)).await
    }

    async fn execute(&self, sql: &GuardedSql, limits: &Limits) -> Result<ResultSet, Error> {
        if sql.dialect() != Dialect::Sqlite {
            return Err(Error::new(
                ErrorCode::Internal,
                format!("SQL checked for {} cannot run on a SQLite connection", sql.dialect().display_name()),
            ));
        }
        let text = sql.as_str().to_string();
        let max_rows = limits.max_rows;
        self.run("the query", limits.timeout, move |s, ctx| query_rows(s, &text, max_rows, ctx)).await
    }
    /// The file's permissions, the connection's read-only state and the time-limit probe (`sqlite/access.rs`).
    async fn access_report(&self) -> Result<AccessReport, Error> {
        access::report(self).await
    }
}

fn joined_result<T>(joined: Result<Result<T, Error>, tokio::task::JoinError>) -> Result<T, Error> {
    joined.unwrap_or_else(|e| {
        Err(Error::new(ErrorCode::Internal, format!("the SQLite worker stopped unexpectedly: {e}")))
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Opening

/// Opens `path` as [`SqliteConnector::open`] does — layers 1 to 3 of the module documentation: an existing regular
/// file opened read-only, `query_only`, defensive mode, no attaching (so no `VACUUM INTO` either), no extensions,
/// length limits, and the authorizer that refuses writes, pragmas and every function outside the guard's allow-list
/// — and hands over the bare rusqlite connection.
///
/// For DataGenie's own code that must run SQL the guard has not approved on a user's file: `datagenie bench gold`
/// runs the gold queries directly to compare rows with `ask`'s. A refused statement fails when it is prepared
/// (`not authorized`). There is no time limit, no row cap and no `sqlite3_stmt_readonly` check (layer 4): the
/// caller runs its statements itself. Everything else goes through [`SqliteConnector`].
///
/// Errors as [`SqliteConnector::open`]. Blocking.
pub fn open_protected(path: &Path) -> Result<Connection, Error> {
    Protected::open(path).map(|p| p.conn)
}

/// A connection with layers 1 to 3 in place, and what its authorizer last refused.
struct Protected {
    /// The absolute path of the file.
    path: PathBuf,
    conn: Connection,
    denial: Arc<Mutex<Option<String>>>,
}

impl Protected {
    fn open(path: &Path) -> Result<Protected, Error> {
        let path = std::path::absolute(path).map_err(|e| {
            Error::new(
                ErrorCode::InvalidDatabaseUrl,
                format!("cannot use '{}' as a database path: {e}", path.display()),
            )
        })?;
        check_regular_file(&path)?;
        let mut conn = Connection::open_with_flags(&path, OPEN_FLAGS).map_err(|e| open_error(&path, &e))?;
        let denial = Arc::new(Mutex::new(None));
        harden(&mut conn, Arc::clone(&denial)).map_err(|e| {
            Error::new(
                ErrorCode::DatabaseUnavailable,
                format!("could not make the connection to {} read-only: {}", path.display(), sqlite_message(&e)),
            )
        })?;
        verify_database(&conn, &path)?;
        Ok(Protected { path, conn, denial })
    }
}

/// Fails unless `path` is an existing regular file (following symlinks). Refusing FIFOs and devices also keeps
/// `open` from blocking on a FIFO.
fn check_regular_file(path: &Path) -> Result<(), Error> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::new(ErrorCode::DatabaseNotFound, format!("there is no database file at {}", path.display()))
        }
        _ => Error::new(ErrorCode::DatabaseUnavailable, format!("cannot read {}: {e}", path.display())),
    })?;
    if meta.is_dir() {
        return Err(Error::new(
            ErrorCode::NotADatabase,
            format!("{} is a directory, not a SQLite database file", path.display()),
        ));
    }
    if !meta.is_file() {
        return Err(Error::new(
            ErrorCode::NotADatabase,
            format!("{} is not a regular file, so not a SQLite database", path.display()),
        ));
    }
    Ok(())
}

fn open_error(path: &Path, e: &rusqlite::Error) -> Error {
    if !path.exists() {
        return Error::new(ErrorCode::DatabaseNotFound, format!("there is no database file at {}", path.display()));
    }
    Error::new(ErrorCode::DatabaseUnavailable, format!("cannot open {}: {}", path.display(), sqlite_message(e)))
}

/// Applies layers 2 and 3 of the module documentation. `query_only` is set before the authorizer, which would
/// refuse that pragma.
fn harden(conn: &mut Connection, denial: Arc<Mutex<Option<String>>>) -> rusqlite::Result<()> {
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)?;
    conn.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)?;
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_ATTACH_CREATE, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_ATTACH_WRITE, false)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", true)?;
    install_authorizer(conn, denial)
}

/// Installs the authorizer of layer 3: it refuses every action [`denial_reason`] names and records why in `denial`.
fn install_authorizer(conn: &mut Connection, denial: Arc<Mutex<Option<String>>>) -> rusqlite::Result<()> {
    conn.authorizer(Some(move |ctx: AuthContext<'_>| match denial_reason(&ctx.action) {
        None => Authorization::Allow,
        Some(reason) => {
            *lock(&denial) = Some(reason);
            Authorization::Deny
        }
    }))
}

/// Reads the schema once: SQLite reads the file header only now, so this is where a text file is found out.
fn verify_database(conn: &Connection, path: &Path) -> Result<(), Error> {
    match conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok(()),
        Err(e) => {
            let code = match sqlite_code(&e) {
                Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
                    ErrorCode::NotADatabase
                }
                _ => ErrorCode::DatabaseUnavailable,
            };
            Err(Error::new(
                code,
                format!("{} is not a readable SQLite database: {}", path.display(), sqlite_message(&e)),
            ))
        }
    }
}

/// Why the authorizer refuses `action`, or `None` to allow it. Fails closed: any action not listed is refused.
fn denial_reason(action: &AuthAction<'_>) -> Option<String> {
    use AuthAction as A;
    match *action {
        A::Select | A::Read { .. } | A::Recursive => None,
        // The guard's own allow-list, enforced again by the engine: a function the guard would refuse cannot run even
        // if a statement reached the connection without the guard (or through a view's definition).
        A::Function { function_name } => (!guard::is_allowed_function(Dialect::Sqlite, function_name)
            && !OPERATOR_FUNCTIONS.iter().any(|f| f.eq_ignore_ascii_case(function_name)))
        .then(|| format!("calling {function_name}()")),
        A::Pragma { pragma_name, .. } => (!READ_ONLY_PRAGMAS.iter().any(|p| p.eq_ignore_ascii_case(pragma_name)))
            .then(|| format!("PRAGMA {pragma_name}")),
        A::Insert { table_name } => Some(format!("INSERT into {table_name}")),
        A::Update { table_name, .. } => Some(format!("UPDATE of {table_name}")),
        A::Delete { table_name } => Some(format!("DELETE from {table_name}")),
        A::Transaction { .. } | A::Savepoint { .. } => Some("transaction control".to_string()),
        A::Attach { .. } => Some("ATTACH".to_string()),
        A::Detach { .. } => Some("DETACH".to_string()),
        A::AlterTable { table_name, .. } => Some(format!("ALTER TABLE {table_name}")),
        A::CreateTable { table_name } | A::CreateTempTable { table_name } => Some(format!("CREATE TABLE {table_name}")),
        A::CreateView { view_name } | A::CreateTempView { view_name } => Some(format!("CREATE VIEW {view_name}")),
        A::DropTable { table_name } | A::DropTempTable { table_name } => Some(format!("DROP TABLE {table_name}")),
        A::DropView { view_name } | A::DropTempView { view_name } => Some(format!("DROP VIEW {view_name}")),
        _ => Some("a statement that changes the database".to_string()),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Running statements

/// The call a statement belongs to: names it in timeout messages and carries its deadline (`None`: too far to
/// represent, i.e. no limit).
struct Ctx {
    what: &'static str,
    budget: Duration,
    deadline: Option<Instant>,
}

impl Ctx {
    fn out_of_time(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// `QueryTimeout` once the deadline has passed: checked between steps, since a statement shorter than
    /// `PROGRESS_OPS` steps never meets the progress handler.
    fn check_time(&self) -> Result<(), Error> {
        if self.out_of_time() { Err(timeout_error(self.what, self.budget)) } else { Ok(()) }
    }
}

impl Session {
    /// Runs `job` with a progress handler that stops any statement past `ctx.deadline`, and removes it afterwards.
    fn with_deadline<T>(
        &mut self,
        ctx: &Ctx,
        job: impl FnOnce(&mut Session, &Ctx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        *lock(&self.denial) = None;
        let handler = ctx.deadline.map(|deadline| move || Instant::now() >= deadline);
        self.conn.progress_handler(PROGRESS_OPS, handler).map_err(|e| self.error(e, ctx))?;
        let out = job(self, ctx);
        // Removing a handler cannot fail in practice; a stale one would only stop statements that are past it.
        let _ = self.conn.progress_handler(0, None::<fn() -> bool>);
        out
    }

    /// Maps a driver error to DataGenie's codes: refused writes are `ReadOnlyViolation` (naming what was refused),
    /// an interrupted statement is `QueryTimeout`, a broken or locked file is `DatabaseUnavailable`, and anything
    /// else is `QueryFailed` with SQLite's own message (e.g. `no such column: x`), which the repair loop sends back.
    /// The authorizer records what it refused; the error of that refusal takes the record for its message.
    fn error(&self, e: rusqlite::Error, ctx: &Ctx) -> Error {
        use rusqlite::ErrorCode as C;
        let denied = lock(&self.denial).take();
        if is_refusal(&e) {
            return refused(denied.as_deref().unwrap_or("this statement"));
        }
        match sqlite_code(&e) {
            Some(C::ReadOnly) => Error::new(
                ErrorCode::ReadOnlyViolation,
                format!("the database connection is read-only: {}", sqlite_message(&e)),
            ),
            Some(C::OperationInterrupted) => timeout_error(ctx.what, ctx.budget),
            Some(
                C::CannotOpen
                | C::SystemIoFailure
                | C::DatabaseCorrupt
                | C::NotADatabase
                | C::DatabaseBusy
                | C::DatabaseLocked
                | C::OutOfMemory,
            ) => Error::new(ErrorCode::DatabaseUnavailable, sqlite_message(&e)),
            _ => Error::new(ErrorCode::QueryFailed, sqlite_message(&e)),
        }
    }
}

/// Prepares `sql` exactly as given, refuses it unless SQLite reports it read-only, and reads at most `max_rows + 1`
/// rows: the extra row only sets `truncated`. Text that is not UTF-8 is decoded lossily.
fn query_rows(s: &mut Session, sql: &str, max_rows: usize, ctx: &Ctx) -> Result<ResultSet, Error> {
    let session: &Session = s;
    let mut stmt = session.conn.prepare(sql).map_err(|e| session.error(e, ctx))?;
    if !stmt.readonly() {
        return Err(Error::new(
            ErrorCode::ReadOnlyViolation,
            "the database connection is read-only: the statement would change the database",
        ));
    }
    let columns: Vec<ResultColumn> = stmt
        .columns()
        .map(|c| ResultColumn { name: c.name().to_string(), decl_type: c.decl_type().map(str::to_string) })
        .collect();
    let width = columns.len();
    let mut out = ResultSet { columns, rows: Vec::new(), truncated: false };
    let mut rows = stmt.query([]).map_err(|e| session.error(e, ctx))?;
    let mut bytes = 0usize;
    while let Some(row) = rows.next().map_err(|e| session.error(e, ctx))? {
        if out.rows.len() >= max_rows {
            out.truncated = true;
            break;
        }
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(to_value(row.get_ref(i).map_err(|e| session.error(e, ctx))?));
        }
        bytes = bytes.saturating_add(values.iter().map(value_bytes).sum());
        if bytes > MAX_RESULT_BYTES {
            if out.rows.is_empty() {
                return Err(Error::new(
                    ErrorCode::QueryFailed,
                    format!("a single result row is larger than {} MiB", MAX_RESULT_BYTES >> 20),
                ));
            }
            out.truncated = true;
            break;
        }
        out.rows.push(values);
    }
    Ok(out)
}

/// True for the authorizer's refusals: `SQLITE_AUTH`, or a plain error for a refused function.
fn is_refusal(e: &rusqlite::Error) -> bool {
    sqlite_code(e) == Some(rusqlite::ErrorCode::AuthorizationForStatementDenied)
        || sqlite_message(e).starts_with("not authorized")
}

fn refused(what: &str) -> Error {
    Error::new(ErrorCode::ReadOnlyViolation, format!("the database connection is read-only: {what} is not allowed"))
}

fn to_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// Bytes a value holds beyond its fixed size, plus a small per-cell overhead.
fn value_bytes(v: &Value) -> usize {
    16 + match v {
        Value::Text(t) => t.len(),
        Value::Blob(b) => b.len(),
        _ => 0,
    }
}

fn timeout_error(what: &str, budget: Duration) -> Error {
    Error::new(ErrorCode::QueryTimeout, format!("{what} ran longer than {} s and was stopped", format_secs(budget)))
}

/// Seconds without noise: `30`, `0.2`, `1.25`.
fn format_secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.3}", d.as_secs_f64()).trim_end_matches('0').to_string()
    }
}

fn sqlite_code(e: &rusqlite::Error) -> Option<rusqlite::ErrorCode> {
    match e {
        rusqlite::Error::SqliteFailure(f, _) | rusqlite::Error::SqlInputError { error: f, .. } => Some(f.code),
        _ => None,
    }
}

/// SQLite's own message (`no such column: x`), without rusqlite's decoration.
fn sqlite_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        rusqlite::Error::MultipleStatement => "exactly one SQL statement is allowed".to_string(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Schema fingerprint

fn fingerprint(s: &mut Session, ctx: &Ctx) -> Result<String, Error> {
    let session: &Session = s;
    let mut stmt = session
        .conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        .map_err(|e| session.error(e, ctx))?;
    let mut rows = stmt.query([]).map_err(|e| session.error(e, ctx))?;
    let mut hash = Sha256::new();
    while let Some(row) = rows.next().map_err(|e| session.error(e, ctx))? {
        for i in 0..4 {
            // Each field is tagged and length-prefixed, so no two different rows hash alike.
            match row.get_ref(i).map_err(|e| session.error(e, ctx))? {
                ValueRef::Text(t) | ValueRef::Blob(t) => {
                    hash.update([1u8]);
                    hash.update((t.len() as u64).to_le_bytes());
                    hash.update(t);
                }
                _ => hash.update([0u8]),
            }
        }
    }
    Ok(hex(&hash.finalize()))
}

// ---------------------------------------------------------------------------------------------------------------
// Introspection

/// One column as `pragma_table_xinfo` reports it.
struct RawColumn {
    name: String,
    decl_type: String,
    not_null: bool,
    /// 1-based position in the primary key, 0 when not part of it.
    pk: i64,
}

/// Reads tables and views (by name, byte order) with their columns, keys, comments, row counts and samples.
///
/// Structure first — relations, columns, keys: three statements in all, falling back to one per relation only if
/// a broken view or a virtual table of a missing module makes the bulk statement fail (such relations are left
/// out); then one statement for the comments written in the CREATE texts. Running out of time here is
/// `QueryTimeout`. Then, per table, exact row counts and samples (one statement each): these are best effort —
/// once the deadline passes the rest stay unknown (`row_count: None`, no samples) and the schema is still
/// returned. Views get neither (evaluating one can be arbitrarily expensive).
fn introspect(s: &mut Session, options: &IntrospectOptions, ctx: &Ctx) -> Result<Schema, Error> {
    let session: &Session = s;
    ctx.check_time()?;
    let relations = list_relations(session, ctx)?;
    ctx.check_time()?;
    let mut columns = load_columns(session, &relations, ctx)?;
    ctx.check_time()?;
    let mut foreign_keys = load_foreign_keys(session, &relations, ctx)?;
    ctx.check_time()?;
    let mut comments = load_comments(session, ctx)?;
    ctx.check_time()?;
    let mut tables = Vec::with_capacity(relations.len());
    for (name, kind) in relations {
        let Some(raw) = columns.remove(&name) else {
            continue;
        };
        let mut table = build_table(name.clone(), kind, raw, foreign_keys.remove(&name).unwrap_or_default());
        if let Some(found) = comments.remove(&name) {
            apply_comments(&mut table, found);
        }
        tables.push(table);
    }
    resolve_foreign_keys(&mut tables);
    for table in tables.iter_mut().filter(|t| t.kind == TableKind::Table) {
        if ctx.out_of_time() || !fill_counts_and_samples(session, table, options, ctx) {
            break;
        }
    }
    Ok(Schema { dialect: Dialect::Sqlite, server_version: format!("SQLite {}", rusqlite::version()), tables })
}

/// Tables (ordinary and virtual) and views of the main database, by name. Leaves out `sqlite_%` internal tables and
/// the shadow tables that hold a virtual table's data (`docs_content` of an FTS5 table `docs`).
fn list_relations(s: &Session, ctx: &Ctx) -> Result<Vec<(String, TableKind)>, Error> {
    const SQL: &str = "SELECT name, type FROM pragma_table_list WHERE schema = 'main' \
         AND type IN ('table', 'virtual', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
    // `pragma_table_list` needs every view to compile; with a broken view, list from `sqlite_schema` instead.
    const FALLBACK_SQL: &str = "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
    let read = |sql: &str| -> rusqlite::Result<Vec<(String, TableKind)>> {
        let mut stmt = s.conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| {
            let kind = if r.get_ref(1)?.as_str()? == "view" { TableKind::View } else { TableKind::Table };
            Ok((r.get::<_, String>(0)?, kind))
        })?;
        rows.collect()
    };
    match read(SQL) {
        Ok(list) => Ok(list),
        Err(e) if is_interrupt(&e) => Err(s.error(e, ctx)),
        Err(_) => read(FALLBACK_SQL).map_err(|e| s.error(e, ctx)),
    }
}

/// Columns of every relation, keyed by relation name, in column order; hidden virtual-table columns left out.
fn load_columns(
    s: &Session,
    relations: &[(String, TableKind)],
    ctx: &Ctx,
) -> Result<HashMap<String, Vec<RawColumn>>, Error> {
    const BULK_SQL: &str = "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk FROM sqlite_schema AS m, \
         pragma_table_xinfo(m.name, 'main') AS p WHERE m.type IN ('table', 'view') AND p.hidden <> 1 \
         ORDER BY m.name, p.cid";
    const ONE_SQL: &str = "SELECT ?1, name, type, \"notnull\", pk FROM pragma_table_xinfo(?1, 'main') \
         WHERE hidden <> 1 ORDER BY cid";
    let read = |sql: &str, params: &[&dyn rusqlite::ToSql], into: &mut HashMap<String, Vec<RawColumn>>| {
        let mut stmt = s.conn.prepare(sql)?;
        let mut rows = stmt.query(params)?;
        while let Some(r) = rows.next()? {
            let column = RawColumn {
                name: r.get(1)?,
                decl_type: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                not_null: r.get::<_, i64>(3)? != 0,
                pk: r.get(4)?,
            };
            into.entry(r.get::<_, String>(0)?).or_default().push(column);
        }
        rusqlite::Result::Ok(())
    };
    let mut all = HashMap::new();
    match read(BULK_SQL, &[], &mut all) {
        Ok(()) => return Ok(all),
        Err(e) if is_interrupt(&e) => return Err(s.error(e, ctx)),
        Err(_) => all.clear(),
    }
    for (name, _) in relations {
        let mut one = HashMap::new();
        match read(ONE_SQL, &[name], &mut one) {
            Ok(()) => all.extend(one),
            Err(e) if is_interrupt(&e) => return Err(s.error(e, ctx)),
            Err(e) => {
                tracing::warn!(relation = %name, error = %sqlite_message(&e), "left out of the schema")
            }
        }
    }
    Ok(all)
}

/// Foreign keys of every table, keyed by table name: `pragma_foreign_key_list` rows grouped by constraint id, in
/// id order, columns in `seq` order. A reference without columns (`REFERENCES parent`) has empty `ref_columns`
/// here; [`resolve_foreign_keys`] fills in the parent's primary key.
fn load_foreign_keys(
    s: &Session,
    relations: &[(String, TableKind)],
    ctx: &Ctx,
) -> Result<HashMap<String, Vec<ForeignKey>>, Error> {
    const BULK_SQL: &str = "SELECT m.name, f.id, f.\"table\", f.\"from\", f.\"to\" FROM sqlite_schema AS m, \
         pragma_foreign_key_list(m.name, 'main') AS f WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq";
    const ONE_SQL: &str = "SELECT ?1, id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1, 'main') \
         ORDER BY id, seq";
    let read = |sql: &str, params: &[&dyn rusqlite::ToSql], into: &mut HashMap<String, Vec<ForeignKey>>| {
        let mut stmt = s.conn.prepare(sql)?;
        let mut rows = stmt.query(params)?;
        let mut current: Option<(String, i64)> = None;
        while let Some(r) = rows.next()? {
            let key = (r.get::<_, String>(0)?, r.get::<_, i64>(1)?);
            let list = into.entry(key.0.clone()).or_default();
            if current.as_ref() != Some(&key) || list.is_empty() {
                list.push(ForeignKey {
                    columns: Vec::new(),
                    ref_schema: None,
                    ref_table: r.get(2)?,
                    ref_columns: Vec::new(),
                });
                current = Some(key);
            }
            if let Some(fk) = list.last_mut() {
                fk.columns.push(r.get(3)?);
                if let Some(to) = r.get::<_, Option<String>>(4)? {
                    fk.ref_columns.push(to);
                }
            }
        }
        rusqlite::Result::Ok(())
    };
    let mut all = HashMap::new();
    match read(BULK_SQL, &[], &mut all) {
        Ok(()) => return Ok(all),
        Err(e) if is_interrupt(&e) => return Err(s.error(e, ctx)),
        Err(_) => all.clear(),
    }
    for (name, _) in relations.iter().filter(|(_, k)| *k == TableKind::Table) {
        let mut one = HashMap::new();
        match read(ONE_SQL, &[name], &mut one) {
            Ok(()) => all.extend(one),
            Err(e) if is_interrupt(&e) => return Err(s.error(e, ctx)),
            Err(e) => {
                tracing::warn!(table = %name, error = %sqlite_message(&e), "foreign keys not read")
            }
        }
    }
    Ok(all)
}

/// The comments written in each table's and view's CREATE text (see [`ddl_comments`]), keyed by name, with one
/// statement for all. Relations whose text has no comment (or whose name is not UTF-8) are left out; text that is
/// not valid UTF-8 is read lossily. Best effort: a failure other than running out of time only leaves every comment
/// empty.
fn load_comments(s: &Session, ctx: &Ctx) -> Result<HashMap<String, DdlComments>, Error> {
    const SQL: &str = "SELECT name, sql FROM sqlite_schema WHERE type IN ('table', 'view') AND sql IS NOT NULL";
    let read = || -> rusqlite::Result<HashMap<String, DdlComments>> {
        let mut stmt = s.conn.prepare(SQL)?;
        let mut rows = stmt.query([])?;
        let mut all = HashMap::new();
        while let Some(r) = rows.next()? {
            let (ValueRef::Text(name), ValueRef::Text(sql)) = (r.get_ref(0)?, r.get_ref(1)?) else {
                continue;
            };
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            let found = ddl_comments(&String::from_utf8_lossy(sql));
            if !found.is_empty() {
                all.insert(name.to_string(), found);
            }
        }
        Ok(all)
    };
    match read() {
        Ok(all) => Ok(all),
        Err(e) if is_interrupt(&e) => Err(s.error(e, ctx)),
        Err(e) => {
            tracing::warn!(error = %sqlite_message(&e), "comments in CREATE statements not read");
            Ok(HashMap::new())
        }
    }
}

/// Sets the table's comment and each column's, matching column names ASCII-case-insensitively as SQLite does.
fn apply_comments(table: &mut Table, comments: DdlComments) {
    for column in &mut table.columns {
        column.comment = comments.column(&column.name).map(str::to_string);
    }
    table.comment = comments.table;
}

/// A table from its raw columns. Primary-key columns are in key order and reported not nullable.
fn build_table(name: String, kind: TableKind, raw: Vec<RawColumn>, foreign_keys: Vec<ForeignKey>) -> Table {
    let mut key: Vec<(i64, String)> = raw.iter().filter(|c| c.pk > 0).map(|c| (c.pk, c.name.clone())).collect();
    key.sort();
    let columns = raw
        .into_iter()
        .map(|c| Column {
            nullable: !c.not_null && c.pk == 0,
            name: c.name,
            data_type: c.decl_type,
            comment: None,
            samples: Vec::new(),
        })
        .collect();
    Table {
        schema: None,
        name,
        kind,
        comment: None,
        columns,
        primary_key: key.into_iter().map(|(_, n)| n).collect(),
        foreign_keys,
        row_count: None,
    }
}

/// Points each foreign key at the parent's actual name (SQLite matches names case-insensitively) and, where the
/// constraint named no parent columns, at the parent's primary key.
fn resolve_foreign_keys(tables: &mut [Table]) {
    let parents: Vec<(String, Vec<String>)> = tables.iter().map(|t| (t.name.clone(), t.primary_key.clone())).collect();
    for fk in tables.iter_mut().flat_map(|t| t.foreign_keys.iter_mut()) {
        let Some((name, key)) = parents.iter().find(|(n, _)| n.eq_ignore_ascii_case(&fk.ref_table)) else {
            continue;
        };
        fk.ref_table = name.clone();
        if fk.ref_columns.is_empty() {
            fk.ref_columns = key.clone();
        }
    }
}

/// Counts the table's rows and samples its text columns. Returns false when the deadline stopped it, so the caller
/// stops too; other failures only leave this table's count or samples empty.
fn fill_counts_and_samples(s: &Session, table: &mut Table, options: &IntrospectOptions, ctx: &Ctx) -> bool {
    let count_sql = format!("SELECT count(*) FROM {}", Dialect::Sqlite.quote_ident(&table.name));
    match s.conn.query_row(&count_sql, [], |r| r.get::<_, i64>(0)) {
        Ok(n) => table.row_count = u64::try_from(n).ok(),
        Err(e) if is_interrupt(&e) => return false,
        Err(e) => {
            tracing::warn!(table = %table.name, error = %sqlite_message(&e), "row count not read")
        }
    }
    if options.samples_per_column == 0 || options.sample_scan_rows == 0 {
        return true;
    }
    let text_columns: Vec<usize> =
        (0..table.columns.len()).filter(|&i| table.columns[i].type_class() == TypeClass::Text).collect();
    for chunk in text_columns.chunks(SAMPLE_COLUMNS_PER_STATEMENT) {
        if ctx.out_of_time() {
            return false;
        }
        match read_samples(s, table, chunk, options) {
            Ok(()) => {}
            Err(e) if is_interrupt(&e) => return false,
            Err(e) => {
                tracing::warn!(table = %table.name, error = %sqlite_message(&e), "samples not read")
            }
        }
    }
    true
}

/// Fills `samples` of the columns at `indexes` with one statement: for each column, the first
/// `samples_per_column` distinct non-null values among the first `sample_scan_rows` rows — per column the same as
/// `SELECT DISTINCT "c" FROM (SELECT "c" FROM "t" LIMIT scan) WHERE "c" IS NOT NULL LIMIT n`. Blobs are skipped,
/// numbers shown as text, long strings cut to [`SAMPLE_MAX_CHARS`].
fn read_samples(
    s: &Session,
    table: &mut Table,
    indexes: &[usize],
    options: &IntrospectOptions,
) -> rusqlite::Result<()> {
    let sql = sample_sql(table, indexes, options);
    let mut stmt = s.conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let slot: i64 = r.get(0)?;
        let text = match r.get_ref(1)? {
            ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            ValueRef::Integer(i) => i.to_string(),
            ValueRef::Real(f) => format_float(f),
            ValueRef::Null | ValueRef::Blob(_) => continue,
        };
        let Some(column) =
            usize::try_from(slot).ok().and_then(|k| indexes.get(k)).and_then(|&i| table.columns.get_mut(i))
        else {
            continue;
        };
        let sample = truncate_chars(&text, SAMPLE_MAX_CHARS);
        if !column.samples.contains(&sample) {
            column.samples.push(sample);
        }
    }
    Ok(())
}

/// The compound SELECT of [`read_samples`]. The prefix CTE gets a name different from the table's, so it cannot
/// shadow the table it reads.
fn sample_sql(table: &Table, indexes: &[usize], options: &IntrospectOptions) -> String {
    let mut prefix = "dg_sample_prefix".to_string();
    while prefix.eq_ignore_ascii_case(&table.name) {
        prefix.push('_');
    }
    let cols: Vec<String> = indexes.iter().map(|&i| Dialect::Sqlite.quote_ident(&table.columns[i].name)).collect();
    let scan = i64::try_from(options.sample_scan_rows).unwrap_or(i64::MAX);
    let per_column = i64::try_from(options.samples_per_column).unwrap_or(i64::MAX);
    let branches: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(k, c)| {
            format!(
                "SELECT {k}, v FROM (SELECT DISTINCT {c} AS v FROM {prefix} WHERE {c} IS NOT NULL LIMIT {per_column})"
            )
        })
        .collect();
    format!(
        "WITH {prefix} AS NOT MATERIALIZED (SELECT {} FROM {} LIMIT {scan}) {}",
        cols.join(", "),
        Dialect::Sqlite.quote_ident(&table.name),
        branches.join(" UNION ALL ")
    )
}

fn is_interrupt(e: &rusqlite::Error) -> bool {
    sqlite_code(e) == Some(rusqlite::ErrorCode::OperationInterrupted)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixture database with one row, its bytes, and the temp dir holding it.
    fn fixture() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.sqlite");
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1); CREATE INDEX t_x ON t (x);")
            .expect("fixture");
        drop(conn);
        let bytes = std::fs::read(&path).expect("read");
        (dir, path, bytes)
    }

    const WRITES: &[&str] = &[
        "INSERT INTO t VALUES (2)",
        "UPDATE t SET x = 3",
        "DELETE FROM t",
        "REPLACE INTO t VALUES (4)",
        "CREATE TABLE u (y)",
        "CREATE TEMP TABLE u (y)",
        "CREATE VIEW v AS SELECT 1",
        "CREATE INDEX t_x2 ON t (x)",
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
        "DROP TABLE t",
        "ALTER TABLE t ADD COLUMN y",
        "ALTER TABLE t RENAME TO t2",
        "ATTACH DATABASE 'other.db' AS o",
        "DETACH DATABASE main",
        "PRAGMA writable_schema = 1",
        "PRAGMA query_only = OFF",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA user_version = 7",
        "BEGIN IMMEDIATE",
        "SAVEPOINT s",
        "VACUUM",
        "REINDEX",
        "ANALYZE",
        "SELECT load_extension('libevil')",
    ];

    #[tokio::test]
    async fn the_connection_refuses_every_write_even_without_the_guard() {
        let (dir, path, before) = fixture();
        let c = SqliteConnector::open(&path).expect("open");
        let limits = Limits::default();
        for sql in WRITES {
            let e = c.execute_raw(sql, &limits).await.expect_err(sql);
            assert_eq!(e.code, ErrorCode::ReadOnlyViolation, "{sql}: {e:?}");
            assert!(e.message.starts_with("the database connection is read-only"), "{sql}: {}", e.message);
        }
        let into = dir.path().join("copy.db");
        let e = c.execute_raw(&format!("VACUUM INTO '{}'", into.display()), &limits).await.expect_err("vacuum into");
        assert_eq!(e.code, ErrorCode::ReadOnlyViolation, "{e:?}");
        assert!(!into.exists(), "VACUUM INTO wrote a file");
        // Reads, including the introspection pragmas, still work.
        let rs = c.execute_raw("SELECT count(*) FROM t", &limits).await.expect("read");
        assert_eq!(rs.rows, vec![vec![Value::Int(1)]]);
        c.execute_raw("PRAGMA table_info(t)", &limits).await.expect("read-only pragma");
        drop(c);
        assert_eq!(std::fs::read(&path).expect("read"), before, "the file changed");
    }

    #[test]
    fn refusals_name_what_was_refused() {
        let (_dir, path, _) = fixture();
        let c = SqliteConnector::open(&path).expect("open");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let e = rt.block_on(c.execute_raw("INSERT INTO t VALUES (2)", &Limits::default())).expect_err("insert");
        assert_eq!(e.message, "the database connection is read-only: INSERT into t is not allowed");
        let e = rt.block_on(c.execute_raw("PRAGMA writable_schema = 1", &Limits::default())).expect_err("pragma");
        assert_eq!(e.message, "the database connection is read-only: PRAGMA writable_schema is not allowed");
    }

    /// With the authorizer removed and SQLite's read-only statement check skipped, `query_only` and the read-only
    /// open still stop every write.
    #[test]
    fn without_the_authorizer_the_lower_layers_still_refuse_writes() {
        let (dir, path, before) = fixture();
        let c = SqliteConnector::open(&path).expect("open");
        c.with_idle_session(|session| {
            session.conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>).expect("remove authorizer");
            // Pragmas, transaction control and functions are the authorizer's alone; none of them writes by itself.
            let writes = WRITES.iter().filter(|s| !s.starts_with("PRAGMA") && !s.starts_with("SAVEPOINT"));
            for sql in writes.filter(|s| !s.contains("load_extension")) {
                assert!(session.conn.execute_batch(sql).is_err(), "{sql} succeeded");
            }
            let into = dir.path().join("copy.db");
            assert!(session.conn.execute_batch(&format!("VACUUM INTO '{}'", into.display())).is_err());
            assert!(!into.exists(), "VACUUM INTO wrote a file");
            assert!(session.conn.execute_batch("ATTACH DATABASE ':memory:' AS m").is_err(), "attach limit is 0");
            // Even with query_only switched off, the read-only open refuses writes.
            session.conn.execute_batch("PRAGMA query_only = OFF").expect("pragma");
            assert!(session.conn.execute_batch("INSERT INTO t VALUES (2)").is_err());
            assert!(session.conn.execute_batch("PRAGMA writable_schema = 1; DELETE FROM sqlite_schema").is_err());
        });
        drop(c);
        assert_eq!(std::fs::read(&path).expect("read"), before, "the file changed");
    }

    /// The authorizer alone, on a connection that could write, refuses every write.
    #[test]
    fn the_authorizer_alone_refuses_writes() {
        let (_dir, path, before) = fixture();
        let mut conn = Connection::open(&path).expect("writable connection");
        let denial = Arc::new(Mutex::new(None));
        install_authorizer(&mut conn, Arc::clone(&denial)).expect("authorizer");
        for sql in WRITES {
            let e = conn.execute_batch(sql).expect_err(sql);
            assert!(is_refusal(&e), "{sql}: {e}");
            assert!(denial.lock().expect("lock").take().is_some(), "{sql}: no reason recorded");
        }
        assert_eq!(conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).expect("read"), 1);
        drop(conn);
        assert_eq!(std::fs::read(&path).expect("read"), before, "the file changed");
    }

    #[test]
    fn the_open_flags_alone_refuse_writes_and_create_nothing() {
        let (dir, path, before) = fixture();
        let conn = Connection::open_with_flags(&path, OPEN_FLAGS).expect("open");
        let e = conn.execute_batch("INSERT INTO t VALUES (2)").expect_err("insert");
        assert_eq!(sqlite_code(&e), Some(rusqlite::ErrorCode::ReadOnly));
        drop(conn);
        assert_eq!(std::fs::read(&path).expect("read"), before);
        assert!(Connection::open_with_flags(dir.path().join("new.db"), OPEN_FLAGS).is_err());
        assert!(!dir.path().join("new.db").exists());
    }

    /// `open_protected` (what `datagenie bench gold` runs unguarded SQL on) refuses every write, and creates no file:
    /// `VACUUM INTO` and `ATTACH` would write a new one even on a connection opened read-only.
    #[test]
    fn the_protected_connection_refuses_every_write_and_creates_no_file() {
        let (dir, path, before) = fixture();
        let conn = open_protected(&path).expect("open");
        let copy = dir.path().join("copy.db");
        let into = format!("VACUUM INTO '{}'", copy.display());
        let attach = format!("ATTACH DATABASE '{}' AS o", dir.path().join("attached.db").display());
        for sql in WRITES.iter().copied().chain([into.as_str(), attach.as_str()]) {
            let e = conn.execute_batch(sql).expect_err(sql);
            assert!(is_refusal(&e) || sqlite_code(&e) == Some(rusqlite::ErrorCode::ReadOnly), "{sql}: {e}");
        }
        assert_eq!(conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).expect("reads"), 1);
        drop(conn);
        assert_eq!(std::fs::read(&path).expect("read"), before);
        let mut files: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, ["db.sqlite"]);
        let e = open_protected(&dir.path().join("missing.db")).expect_err("no file");
        assert_eq!(e.code, ErrorCode::DatabaseNotFound);
        assert!(!dir.path().join("missing.db").exists());
    }

    const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c";

    /// With the progress handler gone, only the watchdog's interrupt can stop an endless statement.
    #[tokio::test]
    async fn the_watchdog_interrupts_work_the_progress_handler_does_not_see() {
        let (_dir, path, _) = fixture();
        let c = SqliteConnector::open(&path).expect("open");
        let started = Instant::now();
        let e = c
            .run("the query", Duration::from_millis(200), |s, ctx| {
                s.conn.progress_handler(0, None::<fn() -> bool>).map_err(|e| s.error(e, ctx))?;
                query_rows(s, ENDLESS, 1, ctx)
            })
            .await
            .expect_err("endless");
        assert_eq!(e.code, ErrorCode::QueryTimeout, "{e:?}");
        assert!(started.elapsed() < Duration::from_millis(200) + WATCHDOG_GRACE);
        let rs = c.execute_raw("SELECT 2", &Limits::default()).await.expect("usable afterwards");
        assert_eq!(rs.rows, vec![vec![Value::Int(2)]]);
    }

    /// A job that blocks until `release` says so, then answers `n`.
    fn held(release: std::sync::mpsc::Receiver<()>, n: i64) -> impl FnOnce(&mut Session, &Ctx) -> Result<i64, Error> {
        move |_, _| {
            release.recv().expect("released");
            Ok(n)
        }
    }

    /// Spawns a call that holds one of `c`'s connections until released, and returns once it holds it.
    async fn hold(
        c: &Arc<SqliteConnector>,
        n: i64,
    ) -> (std::sync::mpsc::Sender<()>, tokio::task::JoinHandle<Result<i64, Error>>) {
        let before = c.pool.permits.available_permits();
        let (free, release) = std::sync::mpsc::channel();
        let task = tokio::spawn({
            let c = Arc::clone(c);
            async move { c.run("the query", Duration::from_secs(30), held(release, n)).await }
        });
        while c.pool.permits.available_permits() == before {
            tokio::task::yield_now().await;
        }
        (free, task)
    }

    /// Calls beyond the pool size wait for a connection (with the deadline running); below it they run side by
    /// side; the pool never opens more connections than its size.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pool_runs_that_many_calls_at_once_and_no_more() {
        let (_dir, path, _) = fixture();
        let c = Arc::new(SqliteConnector::open_with(&path, 2).expect("open"));
        let (free_a, first) = hold(&c, 1).await;
        // With one connection held, a second call opens the second connection and answers.
        let rs = c.execute_raw("SELECT 2", &Limits::default()).await.expect("a second connection");
        assert_eq!(rs.rows, vec![vec![Value::Int(2)]]);
        let (free_b, second) = hold(&c, 2).await;
        // Both connections are held (until released): a third call waits for one, and its deadline passes.
        let limits = Limits { max_rows: 10, timeout: Duration::from_millis(50) };
        let waited = c.execute_raw("SELECT 3", &limits).await.expect_err("no connection free");
        assert_eq!(waited.code, ErrorCode::QueryTimeout, "{waited:?}");
        assert_eq!(waited.message, "the query ran longer than 0.05 s and was stopped");
        free_a.send(()).expect("release a");
        free_b.send(()).expect("release b");
        assert_eq!(first.await.expect("joined").expect("first"), 1);
        assert_eq!(second.await.expect("joined").expect("second"), 2);
        // Many calls at once share the two connections.
        let calls = (0..40).map(|i| {
            let c = Arc::clone(&c);
            tokio::spawn(async move { c.execute_raw(&format!("SELECT {i}"), &Limits::default()).await })
        });
        for (i, call) in calls.enumerate() {
            let rs = call.await.expect("joined").expect("answered");
            assert_eq!(rs.rows, vec![vec![Value::Int(i64::try_from(i).expect("small"))]]);
        }
        assert_eq!(lock(&c.pool.idle).len(), 2, "two connections, no more");
    }

    /// A pool of one runs one call at a time: a call behind a held connection is a timeout that never ran.
    #[tokio::test]
    async fn a_pool_of_one_serialises_calls() {
        let (_dir, path, _) = fixture();
        let c = Arc::new(SqliteConnector::open_with(&path, 0).expect("a size of 0 is 1"));
        let (free, first) = hold(&c, 1).await;
        let e = c.execute_raw("SELECT 3", &Limits { max_rows: 10, timeout: Duration::from_millis(20) }).await;
        assert_eq!(e.expect_err("waits").code, ErrorCode::QueryTimeout);
        free.send(()).expect("release");
        assert_eq!(first.await.expect("joined").expect("first"), 1);
        let rs = c.execute_raw("SELECT 4", &Limits::default()).await.expect("free again");
        assert_eq!(rs.rows, vec![vec![Value::Int(4)]]);
        assert_eq!(lock(&c.pool.idle).len(), 1);
    }

    /// A job that ignores both (standing in for an engine stuck where neither reaches it) does not hold the caller.
    #[tokio::test]
    async fn the_caller_gets_an_answer_even_from_a_stuck_job() {
        let (_dir, path, _) = fixture();
        let c = SqliteConnector::open(&path).expect("open");
        let started = Instant::now();
        let e = c
            .run("the query", Duration::from_millis(100), |_, _| {
                std::thread::sleep(Duration::from_secs(1));
                Ok(())
            })
            .await
            .expect_err("stuck");
        assert_eq!(e.code, ErrorCode::QueryTimeout);
        assert_eq!(e.message, "the query ran longer than 0.1 s and was stopped");
        assert!(started.elapsed() < Duration::from_millis(900), "{:?}", started.elapsed());
    }

    /// Strings built by functions the guard allows still stop at the connection's length limit, at once.
    #[tokio::test]
    async fn huge_values_fail_fast_instead_of_exhausting_memory() {
        let (_dir, path, _) = fixture();
        let c = SqliteConnector::open(&path).expect("open");
        // 2e9 is above SQLite's own default limit; 5e8 would be allowed by default and allocate 500 MB.
        for sql in [
            "SELECT length(printf('%.*c', 2000000000, 'x'))",
            "SELECT length(printf('%.*c', 500000000, 'x'))",
            "SELECT length(replace(printf('%.*c', 100000000, 'x'), 'x', 'xx'))",
        ] {
            let started = Instant::now();
            let e = c.execute_raw(sql, &Limits::default()).await.expect_err(sql);
            assert_eq!(e.code, ErrorCode::QueryFailed, "{sql}: {e:?}");
            assert!(e.message.contains("too big"), "{sql}: {}", e.message);
            assert!(started.elapsed() < Duration::from_secs(2), "{sql}: {:?}", started.elapsed());
        }
        let rs = c.execute_raw("SELECT length(printf('%.*c', 1000, 'x'))", &Limits::default()).await.expect("small");
        assert_eq!(rs.rows, vec![vec![Value::Int(1000)]]);
    }

    /// The authorizer enforces the guard's function allow-list on its own: with the guard bypassed, a call to any
    /// function the guard would refuse fails while the statement is prepared — also inside a view's definition,
    /// which the guard never sees — and the allowed ones, including those SQLite calls for operators, still run.
    #[tokio::test]
    async fn functions_outside_the_allow_list_are_refused_by_the_connection() {
        let (dir, path, _) = fixture();
        {
            let conn = Connection::open(&path).expect("writable");
            conn.execute_batch("CREATE VIEW v_noise AS SELECT randomblob(8) AS r FROM t").expect("view");
        }
        let before = std::fs::read(&path).expect("read");
        let c = SqliteConnector::open(&path).expect("open");
        for (sql, function) in [
            ("SELECT randomblob(2000000000)", "randomblob"),
            ("SELECT zeroblob(500000000)", "zeroblob"),
            ("SELECT load_extension('libevil')", "load_extension"),
            ("SELECT x FROM t WHERE sqlite_compileoption_used('ENABLE_FTS5')", "sqlite_compileoption_used"),
            ("SELECT (SELECT last_insert_rowid()) + changes()", "last_insert_rowid"),
            ("SELECT * FROM v_noise", "randomblob"),
            ("WITH c AS (SELECT fts3_tokenizer('simple') AS p) SELECT * FROM c", "fts3_tokenizer"),
        ] {
            let started = Instant::now();
            let e = c.execute_raw(sql, &Limits::default()).await.expect_err(sql);
            assert!(
                !datagenie_core::guard::is_allowed_function(Dialect::Sqlite, function),
                "{function} is on the allow-list"
            );
            assert_eq!(e.code, ErrorCode::ReadOnlyViolation, "{sql}: {e:?}");
            assert!(e.message.contains(&format!("calling {function}()")), "{sql}: {}", e.message);
            assert!(started.elapsed() < Duration::from_secs(2), "{sql}: {:?}", started.elapsed());
        }
        let rs = c
            .execute_raw(
                "SELECT lower('A'), 'ab' LIKE 'A%', 'ab' GLOB 'a*', json('{\"k\":1}') ->> '$.k', \
                 coalesce(NULL, 2), count(*) OVER () FROM t",
                &Limits::default(),
            )
            .await
            .expect("allowed functions and operators");
        assert_eq!(
            rs.rows,
            vec![vec![
                Value::Text("a".into()),
                Value::Int(1),
                Value::Int(1),
                Value::Int(1),
                Value::Int(2),
                Value::Int(1)
            ]]
        );
        drop(c);
        assert_eq!(std::fs::read(&path).expect("read"), before, "the file changed");
        drop(dir);
    }

    /// Past the deadline, introspection stops counting and sampling but keeps what it has.
    #[test]
    fn counts_and_samples_stop_at_the_deadline() {
        let (_dir, path, _) = fixture();
        let c = SqliteConnector::open(&path).expect("open");
        c.with_idle_session(|session| {
            let mut table = build_table(
                "t".into(),
                TableKind::Table,
                vec![RawColumn { name: "x".into(), decl_type: "TEXT".into(), not_null: false, pk: 0 }],
                vec![],
            );
            let options = IntrospectOptions::default();
            let late = Ctx { what: "schema introspection", budget: Duration::ZERO, deadline: Some(Instant::now()) };
            assert!(!fill_counts_and_samples(session, &mut table, &options, &late), "reports the stop");
            assert!(table.columns[0].samples.is_empty(), "no sampling after the deadline");
            let on_time = Ctx { deadline: None, ..late };
            assert!(fill_counts_and_samples(session, &mut table, &options, &on_time));
            assert_eq!(table.row_count, Some(1));
            assert_eq!(table.columns[0].samples, ["1"]);
        });
    }

    #[test]
    fn authorizer_policy_fails_closed() {
        assert_eq!(denial_reason(&AuthAction::Select), None);
        assert_eq!(denial_reason(&AuthAction::Read { table_name: "t", column_name: "c" }), None);
        assert_eq!(denial_reason(&AuthAction::Function { function_name: "lower" }), None);
        assert_eq!(denial_reason(&AuthAction::Pragma { pragma_name: "TABLE_INFO", pragma_value: Some("t") }), None);
        assert!(denial_reason(&AuthAction::Function { function_name: "LOAD_EXTENSION" }).is_some());
        assert!(denial_reason(&AuthAction::Pragma { pragma_name: "query_only", pragma_value: Some("0") }).is_some());
        assert!(denial_reason(&AuthAction::Unknown { code: 99, arg1: None, arg2: None }).is_some());
        assert!(denial_reason(&AuthAction::Reindex { index_name: "i" }).is_some());
    }

    #[test]
    fn helpers_format_quote_and_cut() {
        assert_eq!(format_secs(Duration::from_millis(200)), "0.2");
        assert_eq!(format_secs(Duration::from_secs(30)), "30");
        assert_eq!(format_secs(Duration::from_millis(1250)), "1.25");
        assert_eq!(Dialect::Sqlite.quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(Dialect::Sqlite.quote_ident("고객"), "\"고객\"");
        assert_eq!(truncate_chars("짧다", 60), "짧다");
        let cut = truncate_chars(&"한".repeat(61), 60);
        assert_eq!(cut.chars().count(), 60);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate_chars(&"a".repeat(60), 60), "a".repeat(60));
    }
}
