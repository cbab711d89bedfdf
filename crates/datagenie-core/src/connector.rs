//! The contract every database engine implements. A connector executes only [`GuardedSql`]: there is no other way
//! to hand it SQL.

use std::time::Duration;

use async_trait::async_trait;

use crate::dialect::Dialect;
use crate::error::Result;
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
}
