//! SQLite in the conformance suite: the fixture is a file in a temp dir, built and changed through a separate
//! writable rusqlite connection (the "admin"). SQLite has no logins and no server sessions, so the writable login
//! is a second connector on the same file and there are no sessions to end.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use datagenie_connectors::SqliteConnector;
use datagenie_core::connector::Limits;
use datagenie_core::value::{ResultSet, Value};
use datagenie_core::{Dialect, Error};
use datagenie_testkit::Group;
use tempfile::TempDir;

use crate::suite::{self, Engine, Fixture, Subject, TypeCase};

/// The fixture of `suite.rs` in SQLite's DDL; comments are written in the CREATE text, where SQLite keeps them.
const FIXTURE_DDL: &str = "
CREATE TABLE customers ( -- People who placed orders
    id INTEGER PRIMARY KEY,
    name VARCHAR(40) NOT NULL, -- 고객 이름
    city VARCHAR(40)
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    amount DECIMAL(12,2) NOT NULL,
    status VARCHAR(10) NOT NULL -- paid or refunded
);
CREATE TABLE order_notes (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    line_no INTEGER NOT NULL,
    note TEXT,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE note_tags (
    order_id INTEGER NOT NULL,
    line_no INTEGER NOT NULL,
    tag VARCHAR(20),
    FOREIGN KEY (order_id, line_no) REFERENCES order_notes(order_id, line_no)
);
CREATE TABLE numbers (n INTEGER PRIMARY KEY);
CREATE VIEW customer_totals AS
    SELECT c.name AS name, count(o.id) AS orders FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
    GROUP BY c.name;
INSERT INTO customers VALUES (1, 'Kim', 'Seoul'), (2, 'Lee', 'Busan'), (3, '박서준', NULL);
INSERT INTO orders VALUES (10, 1, 12.50, 'paid'), (11, 1, 99999999.99, 'paid'), (12, 2, 0.01, 'refunded'),
    (13, 3, 7.00, 'paid');
INSERT INTO order_notes VALUES (10, 1, 'first'), (10, 2, 'second'), (12, 1, 'late');
INSERT INTO note_tags VALUES (10, 1, 'gift');
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 50) INSERT INTO numbers SELECT n FROM s;
";

pub struct SqliteEngine;

#[async_trait]
impl Subject for SqliteConnector {
    async fn execute_unguarded(&self, sql: &str, limits: &Limits) -> Result<ResultSet, Error> {
        self.execute_unguarded_for_tests(sql, limits).await
    }
}

struct SqliteFixture {
    /// Keeps the directory (and the file) alive as long as the fixture.
    _dir: TempDir,
    path: PathBuf,
    connector: Arc<SqliteConnector>,
}

fn open(path: &std::path::Path) -> Result<SqliteConnector, String> {
    SqliteConnector::open(path).map_err(|e| format!("{}: {}", e.code, e.message))
}

fn admin(path: &std::path::Path) -> Result<rusqlite::Connection, String> {
    rusqlite::Connection::open(path).map_err(|e| e.to_string())
}

#[async_trait]
impl Engine for SqliteEngine {
    fn name(&self) -> &'static str {
        "SQLite"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn is_server(&self) -> bool {
        false
    }

    async fn create_fixture(&self) -> Result<Box<dyn Fixture>, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("fixture.db");
        admin(&path)?.execute_batch(FIXTURE_DDL).map_err(|e| e.to_string())?;
        let connector = Arc::new(open(&path)?);
        Ok(Box::new(SqliteFixture { _dir: dir, path, connector }))
    }

    fn declared_types(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        vec![
            ("customers", "id", "INTEGER"),
            ("customers", "name", "VARCHAR(40)"),
            ("orders", "amount", "DECIMAL(12,2)"),
            ("orders", "status", "VARCHAR(10)"),
            ("order_notes", "note", "TEXT"),
            ("note_tags", "tag", "VARCHAR(20)"),
        ]
    }

    fn row_counts_are_estimates(&self) -> bool {
        false
    }

    fn type_cases(&self) -> Vec<TypeCase> {
        vec![
            // DECIMAL columns have NUMERIC affinity: SQLite stores these values as REAL.
            TypeCase::new("SELECT amount FROM orders WHERE id = 11", vec![Value::Float(99999999.99)]),
            TypeCase::new(
                "SELECT 9223372036854775807, -1, 2.5, x'00ff', NULL",
                vec![Value::Int(i64::MAX), Value::Int(-1), Value::Float(2.5), Value::Blob(vec![0, 255]), Value::Null],
            ),
        ]
    }

    fn endless_query(&self) -> &'static str {
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    }

    fn unguarded_slow_query(&self) -> &'static str {
        // SQLite has no sleep function; an endless recursion the progress handler must stop.
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"
    }

    fn extra_writes(&self) -> Vec<&'static str> {
        vec![
            "REPLACE INTO customers (id, name) VALUES (1, 'Mallory')",
            "PRAGMA query_only = OFF",
            "BEGIN IMMEDIATE",
            "CREATE INDEX dg_evil_ix ON customers (name)",
        ]
    }

    /// A file opened and then deleted: the open handle still reads the deleted file, but the health check sees
    /// the database is gone.
    async fn open_unreachable(&self) -> Result<Arc<dyn Subject>, Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::new(datagenie_core::ErrorCode::Internal, e.to_string()))?;
        let path = dir.path().join("vanishing.db");
        let created =
            admin(&path).and_then(|c| c.execute_batch("CREATE TABLE t (x INTEGER)").map_err(|e| e.to_string()));
        if let Err(e) = created {
            return Err(Error::new(datagenie_core::ErrorCode::Internal, e));
        }
        let connector = SqliteConnector::open(&path)?;
        drop(dir);
        Ok(Arc::new(connector))
    }
}

#[async_trait]
impl Fixture for SqliteFixture {
    fn connector(&self) -> Arc<dyn Subject> {
        self.connector.clone()
    }

    fn expected_schema(&self) -> Option<String> {
        None
    }

    async fn writable_login(&self) -> Result<Arc<dyn Subject>, String> {
        Ok(Arc::new(open(&self.path)?))
    }

    async fn admin_exec(&self, sql: &str) -> Result<(), String> {
        admin(&self.path)?.execute_batch(sql).map_err(|e| e.to_string())
    }

    async fn admin_count(&self, table: &str) -> Result<i64, String> {
        admin(&self.path)?
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| r.get(0))
            .map_err(|e| e.to_string())
    }

    async fn kill_sessions(&self) -> Result<bool, String> {
        Ok(false)
    }

    async fn cleanup(&self) {}
}

suite::conformance_tests!(SqliteEngine);

pub fn tests() -> Group {
    Group::new("sqlite conformance").tests(suite_tests())
}
