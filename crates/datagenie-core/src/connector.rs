//! The contract every database engine implements. A connector executes only [`GuardedSql`]: there is no other way
//! to hand it SQL.

use std::time::Duration;

use async_trait::async_trait;

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode, Result};
use crate::guard::GuardedSql;
use crate::schema::Schema;
use crate::value::ResultSet;

/// Limits applied to one execution. The connector enforces both below the guard: the time limit inside the engine
/// (progress handler, `statement_timeout`, `max_execution_time`), the row cap by reading at most `max_rows + 1` rows
/// and reporting `truncated` — the SQL text itself is never rewritten for it, so its meaning is unchanged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_rows: usize,
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_rows: 1000, timeout: Duration::from_secs(30) }
    }
}

/// How much work introspection may do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntrospectOptions {
    /// Distinct sample values kept per text column (0 = none).
    pub samples_per_column: usize,
    /// Rows read from the start of a table to find sample values: keeps sampling bounded on big tables.
    pub sample_scan_rows: usize,
    /// Time limit for the whole introspection.
    pub timeout: Duration,
}

impl Default for IntrospectOptions {
    fn default() -> Self {
        IntrospectOptions { samples_per_column: 5, sample_scan_rows: 2000, timeout: Duration::from_secs(60) }
    }
}

/// A database engine. Every implementation keeps these protections itself, independently of the guard, so that a
/// guard bug still cannot write or run away:
///
/// - **read-only at the session level**: SQLite opens the file read-only with `query_only`, an authorizer that denies
///   writes, `ATTACH`, pragma writes and functions outside the guard's allow-list, and extension loading off;
///   PostgreSQL runs each query in a `READ ONLY` transaction, MySQL/MariaDB in `START TRANSACTION READ ONLY`;
/// - **a time limit inside the engine**: SQLite's progress handler, PostgreSQL `statement_timeout`, MySQL
///   `max_execution_time` / MariaDB `max_statement_time` — plus a client-side deadline, so no call hangs;
/// - **one statement per protocol message**: PostgreSQL's extended protocol, MySQL without multi-statements;
/// - **pinned session settings the guard relies on**: PostgreSQL `search_path` starting with `pg_catalog` and
///   `standard_conforming_strings = on`; MySQL `sql_mode` without `ANSI_QUOTES`/`NO_BACKSLASH_ESCAPES`;
/// - **the row cap** by reading at most `max_rows + 1` rows, never by rewriting the SQL;
/// - **length limits** so a single value cannot exhaust memory.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The SQL dialect the guard must check this connection's queries with.
    fn dialect(&self) -> Dialect;

    /// A connection-safe description (never contains a password), e.g. `sqlite:///data/shop.db`.
    fn describe(&self) -> String;

    /// Checks the database answers.
    async fn healthcheck(&self) -> Result<()>;

    /// A cheap fingerprint of the schema's structure that changes whenever tables, columns or keys change. The schema
    /// cache keys on it, so a stale cache is never used and an unchanged schema is never introspected twice.
    async fn schema_fingerprint(&self) -> Result<String>;

    /// Full introspection: tables, views, columns, keys, row counts, sample values.
    async fn introspect(&self, options: &IntrospectOptions) -> Result<Schema>;

    /// Runs one guarded query within the limits.
    async fn execute(&self, sql: &GuardedSql, limits: &Limits) -> Result<ResultSet>;

    /// What the login this connector was given could do, and whether the session's protections hold (`datagenie
    /// doctor`). Like introspection, it runs only the connector's own fixed statements (catalog and privilege
    /// queries, a deliberately endless statement for the time limit), never user text, so they do not go through the
    /// guard; they run read-only like everything else.
    async fn access_report(&self) -> Result<AccessReport>;
}

/// The time limit [`Connector::access_report`] runs its endless statement with.
pub const TIME_LIMIT_PROBE: Duration = Duration::from_millis(300);

/// How soon after it starts the probe must have been stopped for the time limit to count as enforced: the limit
/// plus room for the client-side deadline's grace and a cancel round trip.
pub const TIME_LIMIT_PROBE_PROMPT: Duration = Duration::from_millis(2000);

/// What `can_write` in an [`AccessReport`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteScope {
    /// The server login's privileges: a login that could write is a warning (least privilege).
    Login,
    /// The file's permissions for the operating-system user (SQLite, which has no logins). Information only:
    /// DataGenie opens the file read-only whatever its permissions.
    File,
}

/// The answer of [`Connector::access_report`]. Never contains a password.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AccessReport {
    /// `PostgreSQL`, `MySQL`, `MariaDB`, `SQLite`.
    pub engine: String,
    /// As the engine reports it: `PostgreSQL 15.20`, `MariaDB 10.11.19`, `SQLite 3.46.0`.
    pub server_version: String,
    /// The user name the connector logged in with; `None` for SQLite (no logins).
    pub login: Option<String>,
    pub write_scope: WriteScope,
    /// Whether the login (or, for SQLite, the operating-system user) could change data; `None` when it could not be
    /// determined.
    pub can_write: Option<bool>,
    /// Why: each privilege that allows writing (`INSERT on 3 tables, e.g. public.orders`), or what was checked.
    pub write_evidence: Vec<String>,
    /// The connector's session is read-only, as the engine itself reports it inside the connector's transaction.
    pub read_only_session: bool,
    pub read_only_evidence: String,
    /// A deliberately endless statement run with a [`TIME_LIMIT_PROBE`] limit ended with `query_timeout` within
    /// [`TIME_LIMIT_PROBE_PROMPT`].
    pub time_limit_enforced: bool,
    pub time_limit_evidence: String,
    /// How long the probe took to come back, in milliseconds.
    pub time_limit_probe_ms: u64,
}

impl AccessReport {
    /// The login could write (not counted for SQLite files, see [`WriteScope::File`]).
    pub fn login_could_write(&self) -> bool {
        self.write_scope == WriteScope::Login && self.can_write == Some(true)
    }

    /// Safe: the login could not write (or it is a file), the session is read-only and the time limit holds.
    pub fn is_safe(&self) -> bool {
        !self.login_could_write() && self.read_only_session && self.time_limit_enforced
    }

    /// `None` when safe; otherwise the `unsafe_login` warning naming every problem.
    pub fn warning(&self) -> Option<Error> {
        let mut problems = Vec::new();
        if self.login_could_write() {
            let who = self.login.as_deref().unwrap_or("the login");
            problems.push(format!("the login {who} could write"));
        }
        if !self.read_only_session {
            problems.push("the session is not read-only".to_string());
        }
        if !self.time_limit_enforced {
            problems.push("the time limit is not enforced".to_string());
        }
        (!problems.is_empty()).then(|| Error::new(ErrorCode::UnsafeLogin, problems.join("; ")))
    }
}

/// Judges the time-limit probe: its outcome and how long it took. Enforced means it was stopped with
/// `query_timeout`, promptly; anything else (it finished, failed otherwise, or was stopped late) is not.
pub fn judge_time_limit_probe<T>(outcome: &Result<T>, elapsed: Duration) -> (bool, String) {
    let ms = elapsed.as_millis();
    let limit = TIME_LIMIT_PROBE.as_millis();
    match outcome {
        Err(e) if e.code == ErrorCode::QueryTimeout && elapsed <= TIME_LIMIT_PROBE_PROMPT => {
            (true, format!("a statement that never ends was stopped after {ms} ms (limit {limit} ms)"))
        }
        Err(e) if e.code == ErrorCode::QueryTimeout => {
            (false, format!("a statement that never ends was stopped only after {ms} ms (limit {limit} ms)"))
        }
        Err(e) => (false, format!("the time-limit probe failed instead of being stopped: {}: {}", e.code, e.message)),
        Ok(_) => {
            (false, format!("a statement that should run for seconds finished after {ms} ms without being stopped"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(scope: WriteScope, can_write: Option<bool>) -> AccessReport {
        AccessReport {
            engine: "PostgreSQL".into(),
            server_version: "PostgreSQL 15.20".into(),
            login: Some("reader".into()),
            write_scope: scope,
            can_write,
            write_evidence: Vec::new(),
            read_only_session: true,
            read_only_evidence: String::new(),
            time_limit_enforced: true,
            time_limit_evidence: String::new(),
            time_limit_probe_ms: 300,
        }
    }

    #[test]
    fn a_writing_login_is_unsafe_but_a_writable_file_is_information() {
        assert!(report(WriteScope::Login, Some(false)).is_safe());
        assert!(report(WriteScope::Login, None).is_safe(), "unknown is reported, not guessed");
        let writer = report(WriteScope::Login, Some(true));
        assert!(!writer.is_safe());
        let w = writer.warning().expect("a warning");
        assert_eq!(w.code, ErrorCode::UnsafeLogin);
        assert_eq!(w.message, "the login reader could write");
        assert_eq!(w.code.exit_status(), 1);
        let file = report(WriteScope::File, Some(true));
        assert!(file.is_safe() && file.warning().is_none());
    }

    #[test]
    fn every_problem_is_named() {
        let mut r = report(WriteScope::Login, Some(true));
        r.read_only_session = false;
        r.time_limit_enforced = false;
        assert_eq!(
            r.warning().expect("a warning").message,
            "the login reader could write; the session is not read-only; the time limit is not enforced"
        );
        let mut t = report(WriteScope::File, Some(false));
        t.time_limit_enforced = false;
        assert!(!t.is_safe());
    }

    #[test]
    fn the_probe_counts_only_a_prompt_timeout() {
        let timeout: Result<()> = Err(Error::new(ErrorCode::QueryTimeout, "stopped"));
        let (ok, why) = judge_time_limit_probe(&timeout, Duration::from_millis(310));
        assert!(ok, "{why}");
        assert_eq!(why, "a statement that never ends was stopped after 310 ms (limit 300 ms)");
        assert!(!judge_time_limit_probe(&timeout, Duration::from_secs(5)).0);
        let finished: Result<()> = Ok(());
        let (ok, why) = judge_time_limit_probe(&finished, Duration::from_secs(5));
        assert!(!ok);
        assert!(why.contains("without being stopped"), "{why}");
        let failed: Result<()> = Err(Error::new(ErrorCode::QueryFailed, "no such function"));
        let (ok, why) = judge_time_limit_probe(&failed, Duration::from_millis(5));
        assert!(!ok);
        assert!(why.contains("query_failed: no such function"), "{why}");
    }

    #[test]
    fn the_report_serializes_without_surprises() {
        let v = serde_json::to_value(report(WriteScope::File, None)).expect("json");
        assert_eq!(v["write_scope"], "file");
        assert_eq!(v["can_write"], serde_json::Value::Null);
        assert_eq!(v["time_limit_probe_ms"], 300);
    }
}
