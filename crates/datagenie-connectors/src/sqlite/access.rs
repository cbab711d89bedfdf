//! `datagenie doctor` for SQLite: there is no login, so "could write" is about the file's permissions for the
//! operating-system user — information only, since the connector opens the file read-only whatever they are. The
//! session check and the time-limit probe run through the same path as `execute` (the blocking pool, the progress
//! handler, the watchdog) with the connector's own fixed statements.

use std::path::Path;
use std::time::Instant;

use datagenie_core::Error;
use datagenie_core::connector::{AccessReport, Limits, TIME_LIMIT_PROBE, WriteScope, judge_time_limit_probe};
use rusqlite::MAIN_DB;

use super::{HEALTHCHECK_TIMEOUT, SqliteConnector, query_rows};

/// Never ends: counts up forever, and `max` consumes every row, so only the time limit stops it.
const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c";

pub(super) async fn report(c: &SqliteConnector) -> Result<AccessReport, Error> {
    let (can_write, write_evidence) = file_access(c.path());
    // sqlite3_db_readonly: the engine's own answer for the open connection.
    let read_only = c
        .run("the read-only check", HEALTHCHECK_TIMEOUT, |s, ctx| {
            s.conn.is_readonly(MAIN_DB).map_err(|e| s.error(e, ctx))
        })
        .await?;
    let read_only_evidence = if read_only {
        "SQLite reports the connection read-only (opened read-only, query_only, a read-only authorizer)".to_string()
    } else {
        "SQLite reports the connection writable".to_string()
    };
    let limits = Limits { max_rows: 1, timeout: TIME_LIMIT_PROBE };
    let started = Instant::now();
    let outcome = c.run("the time-limit probe", limits.timeout, move |s, ctx| query_rows(s, ENDLESS, 1, ctx)).await;
    let elapsed = started.elapsed();
    let (time_limit_enforced, time_limit_evidence) = judge_time_limit_probe(&outcome, elapsed);
    Ok(AccessReport {
        engine: "SQLite".to_string(),
        server_version: format!("SQLite {}", rusqlite::version()),
        login: None,
        write_scope: WriteScope::File,
        can_write,
        write_evidence,
        read_only_session: read_only,
        read_only_evidence,
        time_limit_enforced,
        time_limit_evidence,
        time_limit_probe_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    })
}

/// Whether this process's user could open the file for writing. Opening it (no create, no truncate, nothing
/// written) asks the operating system itself, which accounts for ownership, ACLs, read-only mounts and root.
fn file_access(path: &Path) -> (Option<bool>, Vec<String>) {
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => (
            Some(true),
            vec![format!(
                "the operating-system user could write {} (DataGenie opens it read-only regardless)",
                path.display()
            )],
        ),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem) => {
            (Some(false), vec![format!("the operating-system user cannot write {}: {e}", path.display())])
        }
        Err(e) => (None, vec![format!("could not tell whether {} is writable: {e}", path.display())]),
    }
}

#[cfg(test)]
mod tests {
    use datagenie_core::ErrorCode;
    use datagenie_core::connector::Connector;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fresh_file_reports_a_read_only_session_and_an_enforced_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.db");
        rusqlite::Connection::open(&path).and_then(|c| c.execute_batch("CREATE TABLE t (x)")).expect("fixture");
        let before = std::fs::read(&path).expect("read");
        let c = SqliteConnector::open(&path).expect("open");
        let r = c.access_report().await.expect("report");
        assert_eq!(r.engine, "SQLite");
        assert!(r.server_version.starts_with("SQLite 3."), "{}", r.server_version);
        assert_eq!((r.write_scope, r.login.as_deref()), (WriteScope::File, None));
        assert_eq!(r.can_write, Some(true), "the test created the file, so its user may write it");
        assert!(r.read_only_session, "{}", r.read_only_evidence);
        assert!(r.time_limit_enforced, "{}", r.time_limit_evidence);
        assert!(r.time_limit_probe_ms >= 250, "stopped at the limit, not before: {} ms", r.time_limit_probe_ms);
        assert!(r.is_safe(), "a writable file is information, not a warning");
        assert_eq!(std::fs::read(&path).expect("read"), before, "the report changed the file");
        // The connection is still usable after the probe was stopped.
        let ok = c.execute_raw("SELECT count(*) FROM t", &Limits::default()).await.expect("usable");
        assert_eq!(ok.rows.len(), 1);
        let timeout = c.execute_raw(ENDLESS, &Limits { max_rows: 1, timeout: TIME_LIMIT_PROBE }).await;
        assert_eq!(timeout.map(|_| ()).map_err(|e| e.code), Err(ErrorCode::QueryTimeout));
    }

    #[test]
    fn a_missing_file_is_unknown_not_writable() {
        let (can, why) = file_access(Path::new("/nonexistent/dir/x.db"));
        assert_eq!(can, None);
        assert!(why[0].contains("could not tell"), "{why:?}");
    }
}
