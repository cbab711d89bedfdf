//! The system database on SQLite: one file, `<data_dir>/datagenie.db`, shared by the CLI and the server.
//!
//! The file runs in WAL mode with a busy timeout, so a CLI command and a server can use it at the same time.
//! Migrations ([`crate::migrations::SQLITE`]) are applied when the file is opened, inside an immediate transaction so
//! two processes opening a fresh file do not race. `PRAGMA user_version` is the number of migrations applied, and
//! the table `datagenie_migrations` records each one's name, checksum and time; a file written by a newer DataGenie,
//! or one whose applied migration was since edited, is refused rather than misread.
//!
//! Connections: SQLite allows one writer at a time, and in WAL mode readers do not wait for it. A [`SystemDb`]
//! therefore holds ONE writable connection ([`SystemDb::with`], serialised) and a small pool of read-only ones
//! ([`SystemDb::read`], up to [`READERS`] kept open, more opened while busy), so reads run beside a write. Every
//! connection caches its prepared statements. The server's store on top of it is
//! [`crate::sqlite_store::SqliteStore`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use datagenie_core::{Error, ErrorCode};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::migrations::{self, Migration};

/// File name of the system database inside the data directory.
pub const SYSTEM_DB_FILE: &str = "datagenie.db";

/// How long a write waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many read-only connections a [`SystemDb`] keeps open for reuse.
pub const READERS: usize = 4;

/// How many prepared statements each connection keeps (the store has a few dozen distinct statements).
const STATEMENT_CACHE: usize = 256;

/// WAL pages after a commit from which the checkpointer is woken (SQLite's own auto-checkpoint threshold).
const CHECKPOINT_PAGES: std::ffi::c_int = 1000;

/// The WAL file is cut back to this size after a checkpoint lets it restart.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// An open system database: one writable connection (writes are serialised on it) and a pool of read-only
/// connections. Share it with an `Arc`.
///
/// Checkpoints (copying the WAL back into the database file) do not run on the writer, where SQLite runs them by
/// default: every ~1000 pages one commit would pay several milliseconds for them. The writer's WAL hook wakes a
/// checkpointer thread instead, which runs a PASSIVE checkpoint on its own connection (it never blocks the writer
/// or the readers). The thread ends when the writer connection is closed.
pub struct SystemDb {
    conn: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
    checkpoints: Arc<Checkpoints>,
}

/// How many checkpoints the checkpointer thread has run (tests wait on it instead of sleeping).
#[derive(Default)]
pub(crate) struct Checkpoints {
    done: Mutex<u64>,
    ran: Condvar,
}

impl std::fmt::Debug for SystemDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemDb").field("path", &self.path).finish_non_exhaustive()
    }
}

/// An error of the system database at `path`, with what was being done.
pub(crate) fn system_error(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::SystemDatabase, format!("the system database {}: {what}: {e}", path.display()))
}

impl SystemDb {
    /// Opens (creating when missing, with its directory) the system database at `path` and brings its schema up to
    /// date. Errors are [`ErrorCode::SystemDatabase`].
    pub fn open(path: &Path) -> Result<SystemDb, Error> {
        Self::open_with(path, migrations::SQLITE)
    }

    /// [`open`](Self::open) with another migration list (tests of the runner).
    pub(crate) fn open_with(path: &Path, list: &[Migration]) -> Result<SystemDb, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| system_error(path, "cannot create its directory", e))?;
        }
        let mut conn = Connection::open(path).map_err(|e| system_error(path, "cannot open it", e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| system_error(path, "cannot set the busy timeout", e))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| system_error(path, "cannot read it (is it a SQLite database?)", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode = %mode, "the system database is not in WAL mode");
        }
        // temp_store: each write of a batch runs in a savepoint, whose journal of the pages it changes would
        // otherwise be a temporary file written page by page.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .and_then(|_| conn.pragma_update(None, "foreign_keys", "ON"))
            .and_then(|_| conn.pragma_update(None, "temp_store", "MEMORY"))
            .map_err(|e| system_error(path, "cannot configure it", e))?;
        cache_statements(&conn).map_err(|e| system_error(path, "cannot configure it", e))?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
            .map_err(|e| system_error(path, "cannot configure it", e))?;
        migrate(&mut conn, list).map_err(|e| match e {
            MigrationError::Newer(found) => Error::new(
                ErrorCode::SystemDatabase,
                format!(
                    "the system database {} has schema version {found}, newer than this DataGenie knows ({}): \
                     upgrade DataGenie",
                    path.display(),
                    list.len()
                ),
            ),
            MigrationError::Edited { version, name } => Error::new(
                ErrorCode::SystemDatabase,
                format!(
                    "the system database {}: migration {version} ({name}) differs from the one applied to this file; \
                     an applied migration must never be edited",
                    path.display()
                ),
            ),
            MigrationError::Sqlite(e) => system_error(path, "cannot update its schema", e),
        })?;
        let checkpoints = Arc::new(Checkpoints::default());
        if let Err(e) = start_checkpointer(path, &mut conn, Arc::clone(&checkpoints)) {
            // SQLite's own checkpoints on the writer remain: slower commits now and then, nothing worse.
            tracing::warn!(error = %e, "the system database's checkpointer did not start");
        }
        let db =
            SystemDb { conn: Mutex::new(conn), readers: Mutex::new(Vec::new()), path: path.to_path_buf(), checkpoints };
        // The first reader is opened now, so a file that cannot be read that way fails here rather than later.
        db.with_reader(|_| ())?;
        Ok(db)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the writable connection (one caller at a time); a SQLite error becomes
    /// [`ErrorCode::SystemDatabase`] saying `what` failed.
    pub fn with<T>(&self, what: &str, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        f(&mut self.writer()).map_err(|e| system_error(&self.path, what, e))
    }

    /// Runs `f` on a read-only connection of the pool, beside any write; a SQLite error becomes
    /// [`ErrorCode::SystemDatabase`] saying `what` failed.
    pub fn read<T>(&self, what: &str, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        self.with_reader(f)?.map_err(|e| system_error(&self.path, what, e))
    }

    /// The writable connection, held until the guard is dropped.
    pub(crate) fn writer(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on a read-only connection from the pool (a new one when all are in use), then returns the
    /// connection to the pool. The error is only that no reading connection could be opened.
    pub(crate) fn with_reader<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> Result<T, Error> {
        let pooled = self.readers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.open_reader()?,
        };
        let out = f(&mut conn);
        // A connection left inside a transaction is not reused; the pool keeps at most READERS.
        if conn.is_autocommit() {
            let mut pool = self.readers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if pool.len() < READERS {
                pool.push(conn);
            }
        }
        Ok(out)
    }

    /// How many checkpoints the checkpointer thread has run since the file was opened (for diagnostics).
    pub fn checkpoints_run(&self) -> u64 {
        *self.checkpoints.done.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits (up to `timeout`) until the checkpointer has run at least `n` checkpoints; the number it has run.
    #[cfg(test)]
    pub(crate) fn wait_for_checkpoints(&self, n: u64, timeout: Duration) -> u64 {
        let done = self.checkpoints.done.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (done, _) = self
            .checkpoints
            .ran
            .wait_timeout_while(done, timeout, |done| *done < n)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *done
    }

    fn open_reader(&self) -> Result<Connection, Error> {
        let path = &self.path;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| system_error(path, "cannot open a reading connection", e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .and_then(|_| conn.pragma_update(None, "query_only", "ON"))
            .map_err(|e| system_error(path, "cannot configure a reading connection", e))?;
        cache_statements(&conn).map_err(|e| system_error(path, "cannot configure a reading connection", e))?;
        Ok(conn)
    }

    /// The schema version: the number of migrations applied.
    pub fn schema_version(&self) -> Result<u32, Error> {
        let v: i64 =
            self.with("cannot read the schema version", |c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))?;
        Ok(u32::try_from(v).unwrap_or(0))
    }
}

/// Lets `conn` keep its prepared statements, and keeps them valid from one use to the next.
///
/// The cache alone is not enough: SQLite (3.54) plans some statements with the values bound to them (a join's
/// equality, `LIMIT ?`) and marks such a statement to be prepared again when a binding changes — and the cache clears
/// every binding when a statement is returned to it, so each use would parse and plan the statement anew (measured:
/// an eighth of the server's CPU under load). The query planner stability guarantee (QPSG) turns that off: a
/// statement keeps the plan it was prepared with, which for the store's indexed lookups is the plan it wants.
fn cache_statements(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Starts the checkpointer thread and hooks the writer to wake it; the writer's own auto-checkpoint is replaced by
/// the hook. A wake-up that finds the thread busy is dropped: the checkpoint it asks for is under way.
fn start_checkpointer(path: &Path, writer: &mut Connection, checkpoints: Arc<Checkpoints>) -> Result<(), Error> {
    let conn = Connection::open(path).map_err(|e| system_error(path, "cannot open the checkpoint connection", e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| system_error(path, "cannot configure the checkpoint connection", e))?;
    let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
    let shown = path.display().to_string();
    std::thread::Builder::new()
        .name("datagenie-checkpoint".into())
        .spawn(move || {
            // Ends when the writer's hook, and with it `wake`, is dropped (the writer connection closed).
            while woken.recv().is_ok() {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(path = %shown, error = %e, "a checkpoint of the system database failed");
                }
                let mut done = checkpoints.done.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                *done += 1;
                checkpoints.ran.notify_all();
            }
        })
        .map_err(|e| system_error(path, "cannot start the checkpointer thread", e))?;
    writer
        .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
            if pages >= CHECKPOINT_PAGES {
                let _ = wake.try_send(());
            }
            Ok(())
        }))
        .map_err(|e| system_error(path, "cannot hook the checkpointer", e))
}

enum MigrationError {
    Newer(i64),
    Edited { version: u32, name: &'static str },
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrationError {
    fn from(e: rusqlite::Error) -> Self {
        MigrationError::Sqlite(e)
    }
}

/// Applies the migrations the file has not seen, in one immediate transaction, after checking the applied ones
/// against their checksums.
fn migrate(conn: &mut Connection, list: &[Migration]) -> Result<(), MigrationError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS datagenie_migrations (
            version    INTEGER PRIMARY KEY NOT NULL,
            name       TEXT NOT NULL,
            checksum   TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )",
    )?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = i64::try_from(list.len()).unwrap_or(i64::MAX);
    if version > known {
        return Err(MigrationError::Newer(version));
    }
    let applied = usize::try_from(version).unwrap_or(0);
    for m in &list[..applied] {
        let recorded: Option<String> = tx
            .query_row("SELECT checksum FROM datagenie_migrations WHERE version = ?1", params![m.version], |r| r.get(0))
            .optional()?;
        match recorded {
            Some(sum) if sum != m.checksum() => {
                return Err(MigrationError::Edited { version: m.version, name: m.name });
            }
            Some(_) => {}
            // Files from before checksums were recorded: what they ran is what this list holds.
            None => record(&tx, m)?,
        }
    }
    for m in &list[applied..] {
        tx.execute_batch(m.sql)?;
        record(&tx, m)?;
    }
    if version < known {
        tx.pragma_update(None, "user_version", known)?;
    }
    tx.commit()?;
    Ok(())
}

fn record(conn: &Connection, m: &Migration) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO datagenie_migrations (version, name, checksum, applied_at)
         VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        params![m.version, m.name, m.checksum()],
    )
    .map(|_| ())
}

/// A random UUID v4 from SQLite's generator (`randomblob`, ChaCha20 seeded by the operating system): 122 random
/// bits, as unique as any random UUID, with no extra crate.
pub(crate) fn new_uuid(conn: &Connection) -> rusqlite::Result<String> {
    let bytes: Vec<u8> = conn.query_row("SELECT randomblob(16)", [], |r| r.get(0))?;
    let mut b = [0u8; 16];
    for (slot, byte) in b.iter_mut().zip(bytes) {
        *slot = byte;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: Migration = Migration { version: 1, name: "a", sql: "CREATE TABLE a (x INTEGER)" };
    const TWO: Migration = Migration { version: 2, name: "b", sql: "CREATE TABLE b (y INTEGER)" };

    #[test]
    fn migrations_apply_once_in_order_and_appending_one_upgrades() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sys").join(SYSTEM_DB_FILE);
        let db = SystemDb::open_with(&path, &[ONE]).expect("open");
        assert_eq!(db.schema_version().expect("version"), 1);
        db.with("insert", |c| c.execute("INSERT INTO a VALUES (1)", [])).expect("insert");
        drop(db);
        // Reopening applies nothing again (a second CREATE TABLE would fail), appending one applies just it.
        SystemDb::open_with(&path, &[ONE]).expect("reopen");
        let db = SystemDb::open_with(&path, &[ONE, TWO]).expect("upgrade");
        assert_eq!(db.schema_version().expect("version"), 2);
        let kept: i64 = db.with("count", |c| c.query_row("SELECT count(*) FROM a", [], |r| r.get(0))).expect("count");
        assert_eq!(kept, 1, "data survives an upgrade");
        let recorded: Vec<(i64, String)> = db
            .with("read", |c| {
                let mut s = c.prepare("SELECT version, name FROM datagenie_migrations ORDER BY version")?;
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect()
            })
            .expect("recorded");
        assert_eq!(recorded, vec![(1, "a".to_string()), (2, "b".to_string())]);
        let mode: String = db.with("mode", |c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0))).expect("mode");
        assert_eq!(mode, "wal");
    }

    #[test]
    fn an_edited_applied_migration_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(SYSTEM_DB_FILE);
        SystemDb::open_with(&path, &[ONE]).expect("open");
        let edited = Migration { sql: "CREATE TABLE a (x INTEGER, z TEXT)", ..ONE };
        let e = SystemDb::open_with(&path, &[edited]).expect_err("edited");
        assert_eq!(e.code, ErrorCode::SystemDatabase);
        assert!(e.message.contains("never be edited"), "{}", e.message);
    }

    #[test]
    fn a_newer_file_is_refused_and_junk_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(SYSTEM_DB_FILE);
        SystemDb::open_with(&path, &[ONE, TWO]).expect("open");
        let e = SystemDb::open_with(&path, &[ONE]).expect_err("newer");
        assert_eq!(e.code, ErrorCode::SystemDatabase);
        assert!(e.message.contains("newer"), "{}", e.message);

        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"this is not sqlite at all, just text that is long enough").expect("write");
        assert_eq!(SystemDb::open(&junk).err().map(|e| e.code), Some(ErrorCode::SystemDatabase));
        assert_eq!(SystemDb::open(dir.path()).err().map(|e| e.code), Some(ErrorCode::SystemDatabase));
    }

    #[test]
    fn a_file_from_before_checksums_is_adopted() {
        // The first releases tracked only user_version: such a file gets its checksums recorded, not re-migrated.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(SYSTEM_DB_FILE);
        let raw = Connection::open(&path).expect("raw");
        raw.execute_batch(ONE.sql).expect("old schema");
        raw.pragma_update(None, "user_version", 1).expect("version");
        drop(raw);
        let db = SystemDb::open_with(&path, &[ONE, TWO]).expect("adopt");
        assert_eq!(db.schema_version().expect("version"), 2);
        let n: i64 = db
            .with("count", |c| c.query_row("SELECT count(*) FROM datagenie_migrations", [], |r| r.get(0)))
            .expect("count");
        assert_eq!(n, 2);
    }

    #[test]
    fn checkpoints_run_off_the_writer_when_the_wal_grows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(SYSTEM_DB_FILE);
        let db = SystemDb::open_with(&path, &[ONE]).expect("open");
        db.with("table", |c| c.execute_batch("CREATE TABLE big (b BLOB)")).expect("table");
        let before = std::fs::metadata(&path).expect("file").len();
        // In WAL mode only a checkpoint writes the database file. ~1200 pages in small commits: the hook wakes the
        // checkpointer, which copies them into the file.
        for _ in 0..300 {
            db.with("grow", |c| c.execute("INSERT INTO big VALUES (zeroblob(16000))", [])).expect("grow");
        }
        assert!(db.wait_for_checkpoints(1, Duration::from_secs(30)) >= 1, "the checkpointer never ran");
        let after = std::fs::metadata(&path).expect("file").len();
        assert!(after > before + 1_000_000, "nothing was checkpointed: {before} -> {after} bytes");
        let n: i64 = db.read("count", |c| c.query_row("SELECT count(*) FROM big", [], |r| r.get(0))).expect("count");
        assert_eq!(n, 300, "readers see every commit");
    }

    #[test]
    fn uuids_are_version_4() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = SystemDb::open_with(&dir.path().join(SYSTEM_DB_FILE), &[ONE]).expect("open");
        let id = db.with("uuid", |c| new_uuid(c)).expect("uuid");
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4", "{id}");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }
}

#[cfg(test)]
mod statement_tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// A cached statement is used again as it was prepared, whatever is bound to it next (see
    /// [`cache_statements`]). The statements are the shapes of the store's lookups on every request.
    #[test]
    fn cached_statements_are_not_prepared_again_when_their_values_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = SystemDb::open(&dir.path().join(SYSTEM_DB_FILE)).expect("open");
        let sqls = [
            "SELECT u.id FROM users u JOIN user_sessions s ON s.user_id = u.id
             WHERE u.id = ?1 AND s.id = ?2 AND s.ended_at IS NULL AND s.expires_at > ?3",
            "SELECT id FROM query_templates WHERE connection = ?1 AND dialect = ?2 AND (is_verified = 1 OR ?3)
             ORDER BY created_at, rowid",
            "SELECT id FROM query_history WHERE user_id = ?1 AND created_at > ?3 ORDER BY created_at LIMIT ?2",
        ];
        let run = |c: &mut Connection| {
            for sql in sqls {
                for i in 0..3_i64 {
                    let mut st = c.prepare_cached(sql).expect("prepare");
                    let values = rusqlite::params![format!("a{i}"), i + 1, i];
                    assert_eq!(st.query_map(values, |_| Ok(())).expect("query").count(), 0);
                    assert_eq!(st.get_status(StatementStatus::RePrepare), 0, "prepared again: {sql}");
                }
            }
        };
        db.with_reader(run).expect("reader");
        db.with("the writer", |c| {
            run(c);
            Ok(())
        })
        .expect("writer");
    }
}
