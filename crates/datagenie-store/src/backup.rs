//! `datagenie backup` / `datagenie restore` for the SQLite system database (seed 000's backups). A backup is a
//! transactionally consistent copy taken while the server runs (`VACUUM INTO`: one read transaction, compacted); a
//! restore checks the file first — that it is an intact SQLite database holding a DataGenie schema this build can
//! open — and keeps the database it replaces beside it. A PostgreSQL system database is backed up with PostgreSQL's
//! own tools (`pg_dump` / `pg_restore`; the README gives the commands).

use std::path::{Path, PathBuf};

use datagenie_core::{Error, ErrorCode};
use rusqlite::{Connection, OpenFlags};

use crate::migrations;
use crate::sqlite::SystemDb;

/// What a backup or restore saw in the file: its schema version and the rows of the main tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub schema_version: i64,
    pub users: i64,
    pub questions: i64,
    pub audit_rows: i64,
}

fn failed(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::SystemDatabase, format!("{}: {what}: {e}", path.display()))
}

/// Copies the system database `db` to `target` (a new file; an existing one is refused with `already_exists`),
/// consistently, while others read and write it; then checks the copy.
pub fn backup(db: &SystemDb, target: &Path) -> Result<BackupSummary, Error> {
    if target.exists() {
        return Err(Error::new(
            ErrorCode::AlreadyExists,
            format!("{} exists: a backup never overwrites a file", target.display()),
        ));
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| failed(target, "cannot create its directory", e))?;
    }
    let name = target
        .to_str()
        .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, format!("{} is not a UTF-8 path", target.display())))?;
    db.with("cannot back it up", |c| c.execute("VACUUM INTO ?1", [name]).map(|_| ()))?;
    check(target)
}

/// Checks that `file` is an intact DataGenie system database this build can open: `integrity_check` passes, its
/// migrations are known and unedited.
pub fn check(file: &Path) -> Result<BackupSummary, Error> {
    if !file.is_file() {
        return Err(Error::new(ErrorCode::NotFound, format!("no file {}", file.display())));
    }
    let not_ours = |why: String| {
        Error::new(
            ErrorCode::InvalidArgument,
            format!("{} is not a DataGenie system database backup: {why}", file.display()),
        )
    };
    let c = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| not_ours(e.to_string()))?;
    let integrity: String =
        c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| not_ours(e.to_string()))?;
    if integrity != "ok" {
        return Err(not_ours(format!("the integrity check says: {integrity}")));
    }
    let applied: Vec<(i64, String)> = c
        .prepare("SELECT version, checksum FROM datagenie_migrations ORDER BY version")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(|e| not_ours(e.to_string()))?;
    for (version, checksum) in &applied {
        let known =
            usize::try_from(*version).ok().and_then(|v| v.checked_sub(1)).and_then(|i| migrations::SQLITE.get(i));
        match known {
            Some(m) if m.checksum() == *checksum => {}
            Some(m) => return Err(not_ours(format!("its migration {} ({}) was edited", m.version, m.name))),
            None => return Err(not_ours(format!("its schema version {version} is newer than this DataGenie knows"))),
        }
    }
    let count = |table: &str| -> Result<i64, Error> {
        c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).map_err(|e| not_ours(e.to_string()))
    };
    Ok(BackupSummary {
        schema_version: i64::try_from(applied.len()).unwrap_or(0),
        users: count("users")?,
        questions: count("query_history")?,
        audit_rows: count("audit_logs")?,
    })
}

/// Puts the backup `file` in place of the system database at `target` (no server may be using it). An existing
/// database holding users is replaced only with `force`, and is then kept as `<target>.before-restore-<unix
/// time>`. Returns the summary of what was restored and where the replaced database went.
pub fn restore(file: &Path, target: &Path, force: bool) -> Result<(BackupSummary, Option<PathBuf>), Error> {
    let summary = check(file)?;
    let mut kept = None;
    if target.exists() {
        let users: i64 = Connection::open_with_flags(target, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT count(*) FROM users", [], |r| r.get(0)))
            .unwrap_or(0);
        if users > 0 && !force {
            return Err(Error::new(
                ErrorCode::AlreadyExists,
                format!(
                    "{} holds an installation ({users} users): stop the server, then restore with --force (it is kept \
                     beside the restored one)",
                    target.display()
                ),
            ));
        }
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let aside = PathBuf::from(format!("{}.before-restore-{secs}", target.display()));
        // a consistent copy of what is replaced, then the files go
        let name = aside.to_str().ok_or_else(|| Error::new(ErrorCode::InvalidArgument, "a non-UTF-8 path"))?;
        Connection::open(target)
            .and_then(|c| c.execute("VACUUM INTO ?1", [name]).map(|_| ()))
            .map_err(|e| failed(target, "cannot keep the database being replaced", e))?;
        for suffix in ["", "-wal", "-shm"] {
            let f = PathBuf::from(format!("{}{suffix}", target.display()));
            match std::fs::remove_file(&f) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(failed(&f, "cannot remove it", e)),
            }
        }
        kept = Some(aside);
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| failed(target, "cannot create its directory", e))?;
    }
    let partial = PathBuf::from(format!("{}.restoring", target.display()));
    std::fs::copy(file, &partial).map_err(|e| failed(&partial, "cannot copy the backup", e))?;
    std::fs::rename(&partial, target).map_err(|e| failed(target, "cannot put the backup in place", e))?;
    Ok((summary, kept))
}
