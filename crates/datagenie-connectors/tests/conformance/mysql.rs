//! MySQL and MariaDB in the conformance suite, on the server named by `DATAGENIE_TEST_MYSQL_URL` (an admin login,
//! e.g. `mysql://root@127.0.0.1:3306/mysql`). Each fixture is a new database with two logins of its own: a
//! read-only one (`SELECT, SHOW VIEW` on the database) for the connector under test, and one with every privilege
//! on the database, which shows the session refuses writes even when the login could make them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use datagenie_connectors::mysql::{MysqlConnector, parse_mysql_url};
use datagenie_core::connector::Limits;
use datagenie_core::value::{ResultSet, Value};
use datagenie_core::{Dialect, Error};
use datagenie_testkit::{Group, MYSQL};
use mysql_async::prelude::Queryable;

use crate::suite::{self, Engine, Fixture, SECRET_PASSWORD, Subject, TypeCase};

const URL_VAR: &str = MYSQL.var;

/// The engine on the server of `MYSQL.var` (the tests that use it are registered with `needs(MYSQL, …)`).
pub fn engine() -> MysqlEngine {
    MysqlEngine { admin_url: MYSQL.admin_url() }
}

pub struct MysqlEngine {
    admin_url: String,
}

/// An admin session: the URL's login over TCP, in UTC (so TIMESTAMP literals mean what they say).
pub async fn admin(url: &str) -> Result<mysql_async::Conn, String> {
    let opts = mysql_async::Opts::from_url(url).map_err(|e| format!("{URL_VAR}: {e}"))?;
    let opts = mysql_async::OptsBuilder::from_opts(opts).prefer_socket(false).setup(vec!["SET time_zone = '+00:00'"]);
    mysql_async::Conn::new(opts).await.map_err(|e| format!("cannot reach the MySQL server of {URL_VAR}: {e}"))
}

/// A name no other test (or test process) uses at the same time.
fn unique_tag() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos % 100_000)
}

fn fixture_ddl() -> Vec<String> {
    let numbers: Vec<String> = (1..=50).map(|n| format!("({n})")).collect();
    [
        "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL COMMENT '고객 이름', \
         city VARCHAR(40) NULL) COMMENT = 'People who placed orders'",
        "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(12,2) NOT NULL, \
         status VARCHAR(10) NOT NULL COMMENT 'paid or refunded', FOREIGN KEY (customer_id) REFERENCES customers (id))",
        "CREATE TABLE order_notes (order_id INT NOT NULL, line_no INT NOT NULL, note TEXT, \
         PRIMARY KEY (order_id, line_no), FOREIGN KEY (order_id) REFERENCES orders (id))",
        "CREATE TABLE note_tags (order_id INT NOT NULL, line_no INT NOT NULL, tag VARCHAR(20), \
         FOREIGN KEY (order_id, line_no) REFERENCES order_notes (order_id, line_no))",
        "CREATE TABLE numbers (n INT PRIMARY KEY)",
        "CREATE VIEW customer_totals AS SELECT c.name AS name, count(o.id) AS orders FROM customers c \
         LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.name",
        // Every column type the connector maps; not part of the generic fixture (the suite ignores it).
        "CREATE TABLE types (id INT PRIMARY KEY, flag TINYINT(1), big BIGINT UNSIGNED, exact DECIMAL(30,10), \
         f FLOAT, d DOUBLE, dt DATETIME(3), ts TIMESTAMP(6) NULL, dd DATE, tm TIME, y YEAR, j JSON, b BIT(3), \
         e ENUM('small','large'), st SET('a','b'), bl BLOB, vb VARBINARY(8), ch CHAR(3))",
        "INSERT INTO customers VALUES (1, 'Kim', 'Seoul'), (2, 'Lee', 'Busan'), (3, '박서준', NULL)",
        "INSERT INTO orders VALUES (10, 1, 12.50, 'paid'), (11, 1, 99999999.99, 'paid'), (12, 2, 0.01, 'refunded'), \
         (13, 3, 7.00, 'paid')",
        "INSERT INTO order_notes VALUES (10, 1, 'first'), (10, 2, 'second'), (12, 1, 'late')",
        "INSERT INTO note_tags VALUES (10, 1, 'gift')",
        "INSERT INTO types VALUES (1, 1, 18446744073709551615, 12345678901234567890.0123456789, 1.1, 2.5, \
         '2024-05-01 13:04:05.250', '2024-05-01 13:04:05.000007', '2024-05-01', '-01:30:00', 2024, \
         '{\"a\": [1, \"x\"]}', b'101', 'large', 'b,a', X'00FF', X'DEAD', 'abc')",
        "ANALYZE TABLE customers, orders, order_notes, note_tags, numbers, types",
    ]
    .into_iter()
    .map(str::to_string)
    .chain([format!("INSERT INTO numbers VALUES {}", numbers.join(", ")), "ANALYZE TABLE numbers".to_string()])
    .collect()
}

#[async_trait]
impl Subject for MysqlConnector {
    async fn execute_unguarded(&self, sql: &str, limits: &Limits) -> Result<ResultSet, Error> {
        self.execute_unguarded_for_tests(sql, limits).await
    }
}

/// Opens a connector as `url`'s login.
pub async fn connect(url: &str) -> Result<MysqlConnector, Error> {
    MysqlConnector::connect(&parse_mysql_url(url)?).await
}

/// The names of one fixture: its database and logins, and where the server is.
pub struct Names {
    admin_url: String,
    pub database: String,
    pub reader: String,
    pub writer: String,
    password: String,
    host: String,
    port: u16,
}

impl Names {
    /// A URL logging in as `user` (the reader or the writer) to the fixture database.
    pub fn url(&self, user: &str) -> String {
        format!("mysql://{user}:{}@{}:{}/{}?ssl-mode=DISABLED", self.password, self.host, self.port, self.database)
    }

    /// Drops the database and both logins; best effort, never panics.
    pub async fn cleanup(&self) {
        let Ok(mut conn) = admin(&self.admin_url).await else { return };
        for sql in [
            format!("DROP DATABASE IF EXISTS `{}`", self.database),
            format!("DROP USER IF EXISTS '{}'@'%'", self.reader),
            format!("DROP USER IF EXISTS '{}'@'%'", self.writer),
        ] {
            if let Err(e) = conn.query_drop(&sql).await {
                eprintln!("cleanup: {sql}: {e}");
            }
        }
        let _ = conn.disconnect().await;
    }

    /// Ends every session of `user` on the server, as the admin.
    pub async fn kill_sessions_of(&self, user: &str) -> Result<usize, String> {
        let mut conn = admin(&self.admin_url).await?;
        let ids: Vec<u64> = conn
            .exec("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?", (user,))
            .await
            .map_err(|e| e.to_string())?;
        for id in &ids {
            // 1094: already gone.
            match conn.query_drop(format!("KILL CONNECTION {id}")).await {
                Ok(()) => {}
                Err(mysql_async::Error::Server(s)) if s.code == 1094 => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let _ = conn.disconnect().await;
        Ok(ids.len())
    }

    /// Runs statements as the admin, in the fixture database.
    pub async fn admin_exec(&self, statements: &[&str]) -> Result<(), String> {
        let mut conn = admin(&self.admin_url).await?;
        conn.query_drop(format!("USE `{}`", self.database)).await.map_err(|e| e.to_string())?;
        for sql in statements {
            conn.query_drop(*sql).await.map_err(|e| format!("{sql}: {e}"))?;
        }
        let _ = conn.disconnect().await;
        Ok(())
    }
}

/// Builds the fixture database and its two logins as the admin of `admin_url`, with `extra` statements after the
/// generic fixture.
pub async fn create_database(admin_url: &str, extra: &[&str]) -> Result<Names, String> {
    let target = parse_mysql_url(admin_url).map_err(|e| e.message)?;
    let tag = unique_tag();
    let names = Names {
        admin_url: admin_url.to_string(),
        database: format!("dg_conf_{tag}"),
        reader: format!("dg_ro_{tag}"),
        writer: format!("dg_rw_{tag}"),
        password: format!("pw-{tag}"),
        host: target.host().to_string(),
        port: target.port(),
    };
    let mut conn = admin(admin_url).await?;
    let mut statements = vec![
        format!("CREATE DATABASE `{}` CHARACTER SET utf8mb4", names.database),
        format!("CREATE USER '{}'@'%' IDENTIFIED BY '{}'", names.reader, names.password),
        format!("CREATE USER '{}'@'%' IDENTIFIED BY '{}'", names.writer, names.password),
        format!("GRANT SELECT, SHOW VIEW ON `{}`.* TO '{}'@'%'", names.database, names.reader),
        format!("GRANT ALL PRIVILEGES ON `{}`.* TO '{}'@'%'", names.database, names.writer),
        format!("USE `{}`", names.database),
    ];
    statements.extend(fixture_ddl());
    statements.extend(extra.iter().map(|s| s.to_string()));
    let mut outcome = Ok(());
    for sql in &statements {
        if let Err(e) = conn.query_drop(sql).await {
            outcome = Err(format!("{sql}: {e}"));
            break;
        }
    }
    let _ = conn.disconnect().await;
    match outcome {
        Ok(()) => Ok(names),
        Err(e) => {
            names.cleanup().await;
            Err(e)
        }
    }
}

pub struct MysqlFixture {
    names: Names,
    connector: Arc<MysqlConnector>,
}

#[async_trait]
impl Engine for MysqlEngine {
    fn name(&self) -> &'static str {
        "MySQL/MariaDB"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn is_server(&self) -> bool {
        true
    }

    async fn create_fixture(&self) -> Result<Box<dyn Fixture>, String> {
        let names = create_database(&self.admin_url, &[]).await?;
        match connect(&names.url(&names.reader)).await {
            Ok(c) => Ok(Box::new(MysqlFixture { names, connector: Arc::new(c) })),
            Err(e) => {
                names.cleanup().await;
                Err(format!("connecting as the read-only login: {e:?}"))
            }
        }
    }

    /// MariaDB and MySQL before 8.0.19 report integer display widths (`int(11)`); later MySQL does not.
    fn declared_types(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        vec![
            ("customers", "name", "varchar(40)"),
            ("orders", "amount", "decimal(12,2)"),
            ("orders", "status", "varchar(10)"),
            ("order_notes", "note", "text"),
            ("note_tags", "tag", "varchar(20)"),
        ]
    }

    fn row_counts_are_estimates(&self) -> bool {
        true
    }

    fn type_cases(&self) -> Vec<TypeCase> {
        let text = |s: &str| Value::Text(s.to_string());
        vec![
            TypeCase::new("SELECT amount FROM orders WHERE id = 11", vec![Value::Decimal("99999999.99".into())]),
            TypeCase::new(
                "SELECT flag, big, exact, f, d, dt, ts, dd, tm, y FROM types WHERE id = 1",
                vec![
                    Value::Int(1),
                    Value::Decimal("18446744073709551615".into()),
                    Value::Decimal("12345678901234567890.0123456789".into()),
                    Value::Float(1.1),
                    Value::Float(2.5),
                    text("2024-05-01T13:04:05.250"),
                    text("2024-05-01T13:04:05.000007Z"),
                    text("2024-05-01"),
                    text("-PT1H30M"),
                    Value::Int(2024),
                ],
            ),
            TypeCase::new(
                "SELECT j, b, e, st, bl, vb, ch FROM types WHERE id = 1",
                vec![
                    Value::Json(serde_json::json!({"a": [1, "x"]})),
                    text("101"),
                    text("large"),
                    text("a,b"),
                    Value::Blob(vec![0, 255]),
                    Value::Blob(vec![0xde, 0xad]),
                    text("abc"),
                ],
            ),
            TypeCase::new(
                "SELECT 9223372036854775807, -1, 2.5, 1e0 / 4, 'x', NULL",
                vec![
                    Value::Int(i64::MAX),
                    Value::Int(-1),
                    Value::Decimal("2.5".into()),
                    Value::Float(0.25),
                    text("x"),
                    Value::Null,
                ],
            ),
        ]
    }

    fn endless_query(&self) -> &'static str {
        // 50^6 rows to count: minutes of nested loops.
        "SELECT count(*) FROM numbers a, numbers b, numbers c, numbers d, numbers e, numbers f"
    }

    fn unguarded_slow_query(&self) -> &'static str {
        "SELECT SLEEP(30)"
    }

    /// Not here: `CREATE TEMPORARY TABLE`, which MySQL (unlike MariaDB) allows in a read-only transaction; it is
    /// private to the session and dropped by the reset before the connection is reused (see `tests/mysql.rs`).
    fn extra_writes(&self) -> Vec<&'static str> {
        vec![
            "REPLACE INTO customers (id, name) VALUES (1, 'Mallory')",
            "TRUNCATE TABLE note_tags",
            "CREATE INDEX dg_evil_ix ON customers (name)",
            "RENAME TABLE numbers TO dg_evil_numbers",
            "SELECT * FROM customers INTO OUTFILE '/tmp/dg_evil_outfile.txt'",
            "SET GLOBAL max_connections = 10",
            "SET TRANSACTION READ WRITE",
        ]
    }

    async fn open_unreachable(&self) -> Result<Arc<dyn Subject>, Error> {
        // Port 1 on the loopback: nothing listens there, so the connection is refused at once.
        let url = format!("mysql://dg_nobody:{SECRET_PASSWORD}@127.0.0.1:1/nowhere");
        Ok(Arc::new(connect(&url).await?))
    }
}

#[async_trait]
impl Fixture for MysqlFixture {
    fn connector(&self) -> Arc<dyn Subject> {
        self.connector.clone()
    }

    fn expected_schema(&self) -> Option<String> {
        Some(self.names.database.clone())
    }

    async fn writable_login(&self) -> Result<Arc<dyn Subject>, String> {
        let c = connect(&self.names.url(&self.names.writer)).await.map_err(|e| format!("{e:?}"))?;
        Ok(Arc::new(c))
    }

    async fn admin_exec(&self, sql: &str) -> Result<(), String> {
        self.names.admin_exec(&[sql]).await
    }

    async fn admin_count(&self, table: &str) -> Result<i64, String> {
        let mut conn = admin(&self.names.admin_url).await?;
        let n: Option<i64> = conn
            .query_first(format!("SELECT count(*) FROM `{}`.`{table}`", self.names.database))
            .await
            .map_err(|e| e.to_string())?;
        let _ = conn.disconnect().await;
        n.ok_or_else(|| "no count".to_string())
    }

    async fn kill_sessions(&self) -> Result<bool, String> {
        self.names.kill_sessions_of(&self.names.reader).await.map(|_| true)
    }

    async fn cleanup(&self) {
        self.names.cleanup().await;
    }
}

suite::conformance_tests!(engine());

pub fn tests() -> Group {
    Group::new("mysql conformance").needs(MYSQL, suite_tests())
}
