//! PostgreSQL in the conformance suite, on the server named by `DATAGENIE_TEST_POSTGRES_URL` (an admin login, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`). Each fixture is a new database (time zone Asia/Seoul, so
//! `timestamptz` rendering is tested off UTC) with two logins of its own: a read-only one (`SELECT` on the fixture
//! tables, nothing else) for the connector under test, and one that may insert, update, delete and create in
//! `public`, which shows the session refuses writes even when the login could make them.
//!
//! Besides the generic checks, this module tests what only PostgreSQL has: pinned session settings, stacked
//! statements in one message, privilege-filtered introspection, TLS modes, the portal's row limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datagenie_connectors::postgres::{PostgresConnector, PostgresUrl, SslMode, parse_postgres_url};
use datagenie_core::connector::{Connector, IntrospectOptions, Limits};
use datagenie_core::value::{ResultSet, Value};
use datagenie_core::{Dialect, Error, ErrorCode, Secret};
use datagenie_testkit::{Group, POSTGRES, tests};
use serde_json::json;

use crate::suite::{self, Engine, Fixture, SECRET_PASSWORD, Subject, TypeCase};

const URL_VAR: &str = POSTGRES.var;

/// The engine on the server of `POSTGRES.var` (the tests that use it are registered with `needs(POSTGRES, …)`).
pub fn engine() -> PgEngine {
    PgEngine { admin_url: POSTGRES.admin_url() }
}

pub struct PgEngine {
    admin_url: String,
}

#[async_trait]
impl Subject for PostgresConnector {
    async fn execute_unguarded(&self, sql: &str, limits: &Limits) -> Result<ResultSet, Error> {
        self.execute_unguarded_for_tests(sql, limits).await
    }
}

/// An admin session on `dbname` (the URL's database when `None`). Its connection task runs on the test's runtime.
async fn admin(url: &str, dbname: Option<&str>) -> Result<tokio_postgres::Client, String> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{URL_VAR}: {e}"))?;
    if let Some(db) = dbname {
        config.dbname(db);
    }
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("cannot reach the PostgreSQL server of {URL_VAR}: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The server's message, which tokio-postgres's `Display` leaves out ("db error").
fn pg_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|db| db.message().to_string()).unwrap_or_else(|| e.to_string())
}

/// A name no other test (or test process) uses at the same time.
fn unique_tag() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos % 100_000)
}

/// The suite's fixture in PostgreSQL DDL, plus what only PostgreSQL tests use: an enum, a table of many types, a
/// sequence, a table and a schema the read-only login may not see.
const FIXTURE_DDL: &str = "
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE customers (id integer PRIMARY KEY, name varchar(40) NOT NULL, city varchar(40));
COMMENT ON TABLE customers IS 'People who placed orders';
COMMENT ON COLUMN customers.name IS '고객 이름';
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers (id),
    amount numeric(12,2) NOT NULL, status varchar(10) NOT NULL);
COMMENT ON COLUMN orders.status IS 'paid or refunded';
CREATE TABLE order_notes (order_id integer NOT NULL REFERENCES orders (id), line_no integer NOT NULL, note text,
    PRIMARY KEY (order_id, line_no));
CREATE TABLE note_tags (order_id integer NOT NULL, line_no integer NOT NULL, tag varchar(20),
    FOREIGN KEY (order_id, line_no) REFERENCES order_notes (order_id, line_no));
CREATE TABLE numbers (n integer PRIMARY KEY);
CREATE VIEW customer_totals AS SELECT c.name AS name, count(o.id) AS orders FROM customers c
    LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.name;
CREATE TABLE types (id integer PRIMARY KEY, m mood, tags text[], doc jsonb, u uuid, ts timestamptz, d date,
    iv interval, b bytea, bits bit(4), ip inet);
CREATE TABLE hidden (secret text);
CREATE SCHEMA other;
CREATE TABLE other.elsewhere (x integer);
CREATE SEQUENCE dg_seq;
INSERT INTO customers VALUES (1, 'Kim', 'Seoul'), (2, 'Lee', 'Busan'), (3, '박서준', NULL);
INSERT INTO orders VALUES (10, 1, 12.50, 'paid'), (11, 1, 99999999.99, 'paid'), (12, 2, 0.01, 'refunded'),
    (13, 3, 7.00, 'paid');
INSERT INTO order_notes VALUES (10, 1, 'first'), (10, 2, 'second'), (12, 1, 'late');
INSERT INTO note_tags VALUES (10, 1, 'gift');
INSERT INTO numbers SELECT generate_series(1, 50);
INSERT INTO types VALUES (1, 'sad', '{a,NULL,\"b c\"}', '{\"k\": [1, 2.5]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    '2024-02-29 04:45:06.25+00', '2024-02-29', '1 day 02:00:00', '\\x00ff', B'1010', '10.1.2.3/16');
INSERT INTO hidden VALUES ('top secret');
ANALYZE;
";

/// The names of one fixture, for building and cleaning up.
struct Names {
    admin_url: String,
    database: String,
    reader: String,
    writer: String,
}

impl Names {
    fn new(admin_url: &str) -> Names {
        let tag = unique_tag();
        Names {
            admin_url: admin_url.to_string(),
            database: format!("dg_conf_{tag}"),
            reader: format!("dg_ro_{tag}"),
            writer: format!("dg_rw_{tag}"),
        }
    }

    /// A connector URL for `user` on the fixture database (TLS as the server offers it: `sslmode=prefer`).
    fn url(&self, user: &str) -> Result<PostgresUrl, String> {
        let mut url = parse_postgres_url(&self.admin_url).map_err(|e| e.message)?;
        url.user = user.to_string();
        url.dbname = self.database.clone();
        url.set_password(Secret::new(format!("pw-{user}")));
        Ok(url)
    }

    async fn create(&self) -> Result<tokio_postgres::Client, String> {
        let server = admin(&self.admin_url, None).await?;
        let (db, ro, rw) = (&self.database, &self.reader, &self.writer);
        // One statement per call: CREATE DATABASE cannot run inside the implicit transaction of a batch.
        for sql in [
            format!("CREATE ROLE {ro} LOGIN PASSWORD 'pw-{ro}'"),
            format!("CREATE ROLE {rw} LOGIN PASSWORD 'pw-{rw}'"),
            format!("CREATE DATABASE {db}"),
            format!("ALTER DATABASE {db} SET timezone TO 'Asia/Seoul'"),
        ] {
            server.batch_execute(&sql).await.map_err(|e| format!("{sql}: {}", pg_message(&e)))?;
        }
        let fixture = admin(&self.admin_url, Some(db)).await?;
        fixture.batch_execute(FIXTURE_DDL).await.map_err(|e| format!("fixture DDL: {}", pg_message(&e)))?;
        fixture
            .batch_execute(&format!(
                "REVOKE ALL ON SCHEMA public FROM PUBLIC; \
                 GRANT USAGE ON SCHEMA public TO {ro}, {rw}; GRANT CREATE ON SCHEMA public TO {rw}; \
                 GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ro}; REVOKE SELECT ON hidden FROM {ro}; \
                 GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {rw}; \
                 GRANT USAGE, SELECT, UPDATE ON SEQUENCE dg_seq TO {ro}, {rw}"
            ))
            .await
            .map_err(|e| format!("grants: {}", pg_message(&e)))?;
        Ok(fixture)
    }

    async fn cleanup(&self) {
        let Ok(server) = admin(&self.admin_url, None).await else { return };
        for sql in [
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
            format!("DROP ROLE IF EXISTS {}", self.reader),
            format!("DROP ROLE IF EXISTS {}", self.writer),
        ] {
            if let Err(e) = server.batch_execute(&sql).await {
                eprintln!("cleanup: {sql}: {}", pg_message(&e));
            }
        }
    }

    /// Ends every session `user` has on the fixture database, waiting until they are gone.
    async fn kill_sessions_of(&self, user: &str) -> Result<i64, String> {
        let server = admin(&self.admin_url, None).await?;
        let row = server
            .query_one(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity \
                 WHERE usename = $1 AND datname = $2 AND pid <> pg_backend_pid()",
                &[&user, &self.database],
            )
            .await
            .map_err(|e| e.to_string())?;
        row.try_get(0).map_err(|e| e.to_string())
    }
}

pub struct PgFixture {
    names: Names,
    admin: tokio_postgres::Client,
    connector: Arc<PostgresConnector>,
}

impl PgEngine {
    /// A fixture with its connector, as a concrete type (for the PostgreSQL-only tests).
    async fn fixture(&self) -> Result<PgFixture, String> {
        let names = Names::new(&self.admin_url);
        let admin = match names.create().await {
            Ok(a) => a,
            Err(e) => {
                names.cleanup().await;
                return Err(e);
            }
        };
        let url = names.url(&names.reader)?;
        match PostgresConnector::connect(url).await {
            Ok(c) => Ok(PgFixture { names, admin, connector: Arc::new(c) }),
            Err(e) => {
                names.cleanup().await;
                Err(format!("connecting as the read-only login: {e:?}"))
            }
        }
    }
}

#[async_trait]
impl Engine for PgEngine {
    fn name(&self) -> &'static str {
        "PostgreSQL"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn is_server(&self) -> bool {
        true
    }

    async fn create_fixture(&self) -> Result<Box<dyn Fixture>, String> {
        Ok(Box::new(self.fixture().await?))
    }

    fn declared_types(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        vec![
            ("customers", "id", "integer"),
            ("customers", "name", "character varying(40)"),
            ("orders", "amount", "numeric(12,2)"),
            ("orders", "status", "character varying(10)"),
            ("order_notes", "note", "text"),
            ("note_tags", "tag", "character varying(20)"),
            ("types", "m", "mood"),
            ("types", "tags", "text[]"),
            ("types", "ts", "timestamp with time zone"),
            ("types", "bits", "bit(4)"),
        ]
    }

    fn row_counts_are_estimates(&self) -> bool {
        true
    }

    fn type_cases(&self) -> Vec<TypeCase> {
        let t = |s: &str| Value::Text(s.to_string());
        let d = |s: &str| Value::Decimal(s.to_string());
        vec![
            TypeCase::new(
                "SELECT amount, amount * 3, -amount FROM orders WHERE id = 11",
                vec![d("99999999.99"), d("299999999.97"), d("-99999999.99")],
            ),
            TypeCase::new(
                "SELECT CAST('12345678901234567890.123456789' AS numeric), CAST('NaN' AS numeric), \
                 CAST(0.000123 AS numeric(10,6)), CAST(12.34 AS money)",
                vec![d("12345678901234567890.123456789"), t("NaN"), d("0.000123"), d("12.34")],
            ),
            TypeCase::new(
                "SELECT CAST(32767 AS smallint), CAST(-2147483648 AS integer), CAST(9223372036854775807 AS bigint), \
                 CAST(1.1 AS real), CAST(2.5 AS double precision), true, false",
                vec![
                    Value::Int(32767),
                    Value::Int(-2147483648),
                    Value::Int(i64::MAX),
                    Value::Float(1.1),
                    Value::Float(2.5),
                    Value::Bool(true),
                    Value::Bool(false),
                ],
            ),
            TypeCase::new(
                "SELECT DATE '2024-02-29', TIME '13:45:06.5', TIMESTAMP '2024-02-29 13:45:06.123456', \
                 TIMESTAMPTZ '2024-02-29 04:45:06+00', CAST('13:45:06+09' AS timetz)",
                vec![
                    t("2024-02-29"),
                    t("13:45:06.5"),
                    t("2024-02-29T13:45:06.123456"),
                    t("2024-02-29T13:45:06+09:00"),
                    t("13:45:06+09:00"),
                ],
            ),
            TypeCase::new(
                "SELECT INTERVAL '1 year 2 months 3 days 04:05:06.5', INTERVAL '-1 day', INTERVAL '0'",
                vec![t("P1Y2M3DT4H5M6.5S"), t("P-1D"), t("PT0S")],
            ),
            TypeCase::new(
                "SELECT CAST('{\"a\": [1, 2.5, \"x\"]}' AS jsonb), CAST('[true, null]' AS json), \
                 CAST('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' AS uuid)",
                vec![
                    Value::Json(json!({"a": [1, 2.5, "x"]})),
                    Value::Json(json!([true, null])),
                    t("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                ],
            ),
            TypeCase::new(
                "SELECT ARRAY[1, 2, 3], ARRAY[['a', 'b'], ['c', NULL]], ARRAY[CAST(1.5 AS numeric)], \
                 CAST('{}' AS integer[])",
                vec![
                    Value::Json(json!([1, 2, 3])),
                    Value::Json(json!([["a", "b"], ["c", null]])),
                    Value::Json(json!([1.5])),
                    Value::Json(json!([])),
                ],
            ),
            TypeCase::new(
                "SELECT CAST('happy' AS mood), ARRAY[CAST('sad' AS mood)], CAST('\\x00ff10' AS bytea), B'1010', \
                 CAST(B'101' AS varbit)",
                vec![t("happy"), Value::Json(json!(["sad"])), Value::Blob(vec![0, 255, 16]), t("1010"), t("101")],
            ),
            TypeCase::new(
                "SELECT CAST('192.168.0.1' AS inet), CAST('10.0.0.0/8' AS cidr), CAST('::1' AS inet), \
                 CAST('[1,5)' AS int4range)",
                vec![t("192.168.0.1"), t("10.0.0.0/8"), t("::1"), t("[1,5)")],
            ),
            TypeCase::new(
                "SELECT m, tags, doc, u, ts, d, iv, b, bits, ip FROM types WHERE id = 1",
                vec![
                    t("sad"),
                    Value::Json(json!(["a", null, "b c"])),
                    Value::Json(json!({"k": [1, 2.5]})),
                    t("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                    t("2024-02-29T13:45:06.25+09:00"),
                    t("2024-02-29"),
                    t("P1DT2H"),
                    Value::Blob(vec![0, 255]),
                    t("1010"),
                    t("10.1.2.3/16"),
                ],
            ),
        ]
    }

    fn endless_query(&self) -> &'static str {
        "SELECT count(*) FROM generate_series(1, 1000000000000)"
    }

    fn unguarded_slow_query(&self) -> &'static str {
        "SELECT pg_sleep(30)"
    }

    fn extra_writes(&self) -> Vec<&'static str> {
        vec![
            "WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d",
            "SELECT nextval('dg_seq')",
            "TRUNCATE note_tags",
            "CREATE TEMP TABLE dg_tmp (x integer)",
            "COMMENT ON TABLE customers IS 'owned'",
            "GRANT SELECT ON customers TO PUBLIC",
            "SELECT * FROM customers FOR UPDATE",
            "DO $$ BEGIN DELETE FROM orders; END $$",
            "VACUUM customers",
            "CREATE INDEX dg_ix ON customers (name)",
            "CREATE DATABASE dg_never",
        ]
    }

    async fn open_unreachable(&self) -> Result<Arc<dyn Subject>, Error> {
        // Port 1 on the loopback: nothing listens there, so the connection is refused at once.
        let url = parse_postgres_url(&format!(
            "postgres://dg_nobody:{SECRET_PASSWORD}@127.0.0.1:1/nowhere?connect_timeout=3"
        ))?;
        let connector = PostgresConnector::connect(url).await?;
        Ok(Arc::new(connector))
    }
}

#[async_trait]
impl Fixture for PgFixture {
    fn connector(&self) -> Arc<dyn Subject> {
        self.connector.clone()
    }

    fn expected_schema(&self) -> Option<String> {
        Some("public".to_string())
    }

    async fn writable_login(&self) -> Result<Arc<dyn Subject>, String> {
        let url = self.names.url(&self.names.writer)?;
        let c = PostgresConnector::connect(url).await.map_err(|e| format!("{e:?}"))?;
        Ok(Arc::new(c))
    }

    async fn admin_exec(&self, sql: &str) -> Result<(), String> {
        self.admin.batch_execute(sql).await.map_err(|e| pg_message(&e))
    }

    async fn admin_count(&self, table: &str) -> Result<i64, String> {
        let row =
            self.admin.query_one(&format!("SELECT count(*) FROM \"{table}\""), &[]).await.map_err(|e| e.to_string())?;
        row.try_get(0).map_err(|e| e.to_string())
    }

    async fn kill_sessions(&self) -> Result<bool, String> {
        self.names.kill_sessions_of(&self.names.reader).await?;
        Ok(true)
    }

    async fn cleanup(&self) {
        self.names.cleanup().await;
    }
}

suite::conformance_tests!(engine());

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL only

/// Runs `check` on a fresh fixture and cleans up, also after a panic.
async fn with_fixture<F, Fut>(check: F)
where
    F: FnOnce(Arc<PgFixture>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let engine = engine();
    let fixture = match engine.fixture().await {
        Ok(f) => Arc::new(f),
        Err(e) => panic!("building the PostgreSQL fixture failed: {e}"),
    };
    // A spawned task: a panic in the check comes back as an error and the cleanup still runs.
    let outcome = tokio::spawn(check(Arc::clone(&fixture))).await;
    fixture.names.cleanup().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn limits(max_rows: usize) -> Limits {
    Limits { max_rows, timeout: Duration::from_secs(20) }
}

async fn bypass(c: &PostgresConnector, sql: &str) -> Result<Vec<Vec<Value>>, Error> {
    c.execute_unguarded_for_tests(sql, &limits(100)).await.map(|rs| rs.rows)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

async fn session_settings_are_pinned_and_a_statement_cannot_change_them() {
    with_fixture(|fx| async move {
        let c = &fx.connector;
        let settings = "SELECT current_setting('search_path'), current_setting('default_transaction_read_only'), \
             current_setting('transaction_read_only'), current_setting('standard_conforming_strings'), \
             current_setting('application_name')";
        let pinned = vec![vec![text("pg_catalog,\"public\""), text("on"), text("on"), text("on"), text("datagenie")]];
        assert_eq!(bypass(c, settings).await.expect("settings"), pinned);
        // Each SET runs (the session allows it) but is rolled back with its transaction.
        for set in [
            "SET search_path = other, public",
            "SET default_transaction_read_only = off",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "SET standard_conforming_strings = off",
            "SELECT set_config('search_path', 'other', false)",
        ] {
            bypass(c, set).await.unwrap_or_else(|e| panic!("{set}: {e:?}"));
            assert_eq!(bypass(c, settings).await.expect("settings"), pinned, "after {set}");
            let e = bypass(c, "INSERT INTO numbers VALUES (1000)").await.expect_err("still read-only");
            assert_eq!(e.code, ErrorCode::ReadOnlyViolation, "after {set}: {e:?}");
        }
    })
    .await;
}

async fn what_a_read_only_transaction_allows_is_rolled_back() {
    with_fixture(|fx| async move {
        // PostgreSQL lets lo_create run in a read-only transaction; the rollback that ends every query undoes it.
        let count = "SELECT count(*) FROM pg_largeobject_metadata";
        let before: i64 = fx.admin.query_one(count, &[]).await.expect("count").get(0);
        let rows = bypass(&fx.connector, "SELECT lo_create(0)").await.expect("lo_create runs");
        assert!(matches!(rows.as_slice(), [row] if matches!(row.as_slice(), [Value::Int(_)])), "{rows:?}");
        let after: i64 = fx.admin.query_one(count, &[]).await.expect("count").get(0);
        assert_eq!(before, after, "a large object survived the query's transaction");
        // LOCK is allowed too, and released with the transaction: another session can lock the table at once.
        bypass(&fx.connector, "LOCK TABLE customers IN ACCESS SHARE MODE").await.expect("lock runs");
        fx.admin
            .batch_execute("BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE NOWAIT; ROLLBACK")
            .await
            .expect("the lock was released");
        // Values the guard would not let through still map: an anonymous record, a point.
        let rows = bypass(&fx.connector, "SELECT ROW(1, 'a', NULL), CAST('(1.5,2)' AS point)").await.expect("row");
        assert_eq!(rows, vec![vec![Value::Json(json!([1, "a", null])), text("(1.5,2)")]]);
    })
    .await;
}

async fn stacked_statements_never_reach_the_server_as_one_message() {
    with_fixture(|fx| async move {
        let e = bypass(&fx.connector, "SELECT 1; DELETE FROM orders").await.expect_err("two statements");
        assert_eq!(e.code, ErrorCode::QueryFailed, "{e:?}");
        assert!(e.message.contains("multiple commands"), "{}", e.message);
        let e = bypass(&fx.connector, "COMMIT; DELETE FROM orders").await.expect_err("two statements");
        assert_eq!(e.code, ErrorCode::QueryFailed, "{e:?}");
        let n: i64 = fx.admin.query_one("SELECT count(*) FROM orders", &[]).await.expect("count").get(0);
        assert_eq!(n, 4);
    })
    .await;
}

async fn introspection_shows_only_what_the_login_may_read() {
    with_fixture(|fx| async move {
        let schema = fx.connector.introspect(&IntrospectOptions::default()).await.expect("introspect");
        let names: Vec<String> = schema.tables.iter().map(|t| t.qualified_name()).collect();
        assert!(names.contains(&"public.types".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n.ends_with("hidden")), "a table without SELECT is listed: {names:?}");
        assert!(!names.iter().any(|n| n.starts_with("other.")), "a schema without USAGE is listed: {names:?}");
        assert!(!names.iter().any(|n| n.starts_with("pg_") || n.starts_with("information_schema")), "{names:?}");
        assert!(schema.server_version.starts_with("PostgreSQL 1"), "{}", schema.server_version);
        let types = schema.table("types").expect("types");
        let m = types.column("m").expect("enum column");
        assert_eq!(m.samples, ["sad"], "enum columns are sampled");
        assert!(types.column("u").is_some_and(|c| c.samples.is_empty()), "uuid columns are not sampled");
        // Reading the hidden table is refused by the server's privileges.
        let e = bypass(&fx.connector, "SELECT * FROM hidden").await.expect_err("no privilege");
        assert_eq!(e.code, ErrorCode::ReadOnlyViolation, "{e:?}");
        assert!(e.message.contains("permission denied"), "{}", e.message);
        // The schema change of another login shows in the fingerprint.
        let before = fx.connector.schema_fingerprint().await.expect("fingerprint");
        fx.admin.batch_execute(&format!("GRANT SELECT ON hidden TO {}", fx.names.reader)).await.expect("grant");
        assert_ne!(before, fx.connector.schema_fingerprint().await.expect("fingerprint"), "grants change it");
        fx.admin.batch_execute("COMMENT ON COLUMN orders.amount IS 'total in KRW'").await.expect("comment");
        let schema = fx.connector.introspect(&IntrospectOptions::default()).await.expect("introspect");
        let amount = schema.table("orders").and_then(|t| t.column("amount")).and_then(|c| c.comment.clone());
        assert_eq!(amount.as_deref(), Some("total in KRW"));
    })
    .await;
}

async fn the_row_cap_stops_the_server_early_and_columns_carry_types() {
    with_fixture(|fx| async move {
        // An endless stream of rows: only the portal's row limit lets this query return.
        let started = Instant::now();
        let rs = fx
            .connector
            .execute_unguarded_for_tests(
                "WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c) SELECT g, g * 2 AS twice FROM c",
                &limits(3),
            )
            .await
            .expect("capped query");
        assert_eq!(
            rs.rows,
            vec![
                vec![Value::Int(1), Value::Int(2)],
                vec![Value::Int(2), Value::Int(4)],
                vec![Value::Int(3), Value::Int(6)]
            ]
        );
        assert!(rs.truncated);
        assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
        let rs = bypass(&fx.connector, "SELECT 1").await.expect("after a portal");
        assert_eq!(rs, vec![vec![Value::Int(1)]]);
        let rs = fx
            .connector
            .execute_unguarded_for_tests("SELECT amount, status, tags, m FROM orders, types LIMIT 1", &limits(1))
            .await
            .expect("typed columns");
        let types: Vec<Option<&str>> = rs.columns.iter().map(|c| c.decl_type.as_deref()).collect();
        assert_eq!(types, [Some("numeric"), Some("varchar"), Some("text[]"), Some("mood")]);
        // More than one fetch batch (500 rows) comes back whole.
        let rs = fx
            .connector
            .execute_unguarded_for_tests("SELECT g FROM generate_series(1, 1234) g", &limits(5000))
            .await
            .expect("many rows");
        assert_eq!(rs.rows.len(), 1234);
        assert!(!rs.truncated);
        assert_eq!(rs.rows.last(), Some(&vec![Value::Int(1234)]));
    })
    .await;
}

async fn tls_modes_behave_as_in_libpq() {
    with_fixture(|fx| async move {
        let ssl_on: String = fx.admin.query_one("SHOW ssl", &[]).await.expect("show ssl").get(0);
        let uses_tls = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
        let open = |mode: SslMode| {
            let mut url = fx.names.url(&fx.names.reader).expect("url");
            url.sslmode = mode;
            url
        };
        let plain = PostgresConnector::connect(open(SslMode::Disable)).await.expect("sslmode=disable");
        assert_eq!(bypass(&plain, uses_tls).await.expect("pg_stat_ssl"), vec![vec![Value::Bool(false)]]);
        let preferred = PostgresConnector::connect(open(SslMode::Prefer)).await.expect("sslmode=prefer");
        let required = PostgresConnector::connect(open(SslMode::Require)).await;
        // The server's certificate is not from a public root: verify-full refuses it.
        let verified = PostgresConnector::connect(open(SslMode::VerifyFull)).await;
        if ssl_on == "on" {
            assert_eq!(bypass(&preferred, uses_tls).await.expect("pg_stat_ssl"), vec![vec![Value::Bool(true)]]);
            let required = required.expect("sslmode=require");
            assert_eq!(bypass(&required, uses_tls).await.expect("pg_stat_ssl"), vec![vec![Value::Bool(true)]]);
            let e = verified.expect_err("an untrusted certificate");
            assert_eq!(e.code, ErrorCode::DatabaseUnavailable, "{e:?}");
            assert!(e.message.to_lowercase().contains("certificate"), "{}", e.message);
        } else {
            assert_eq!(bypass(&preferred, uses_tls).await.expect("pg_stat_ssl"), vec![vec![Value::Bool(false)]]);
            let e = required.expect_err("the server has no TLS");
            assert_eq!(e.code, ErrorCode::DatabaseUnavailable, "{e:?}");
        }
    })
    .await;
}

async fn a_missing_database_and_version_facts() {
    with_fixture(|fx| async move {
        let mut url = fx.names.url(&fx.names.reader).expect("url");
        url.dbname = format!("{}_missing", fx.names.database);
        let e = PostgresConnector::connect(url).await.expect_err("no such database");
        assert_eq!(e.code, ErrorCode::DatabaseNotFound, "{e:?}");
        assert!(e.message.contains("_missing"), "{}", e.message);
        let version = fx.connector.server_version().await.expect("version");
        assert!(version.starts_with("PostgreSQL 1"), "{version}");
        let described = fx.connector.describe();
        assert!(described.starts_with("postgres://dg_ro_") && !described.contains("pw-"), "{described}");
        assert!(!format!("{:?}", fx.connector).contains("pw-"));
        assert_eq!(fx.connector.dialect(), Dialect::Postgres);
    })
    .await;
}

async fn a_busy_pool_still_answers_within_the_limits() {
    with_fixture(|fx| async move {
        // More slow queries than pooled connections: each stops at its own limit, none waits forever.
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let c = Arc::clone(&fx.connector);
            tasks.push(tokio::spawn(async move {
                let limits = Limits { max_rows: 1, timeout: Duration::from_millis(700) };
                c.execute_unguarded_for_tests("SELECT pg_sleep(5)", &limits).await
            }));
        }
        for task in tasks {
            let e = task.await.expect("task").expect_err("sleeps past its limit");
            assert_eq!(e.code, ErrorCode::QueryTimeout, "{e:?}");
        }
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        assert_eq!(bypass(&fx.connector, "SELECT 2").await.expect("afterwards"), vec![vec![Value::Int(2)]]);
    })
    .await;
}

pub fn tests() -> Group {
    let mut all = suite_tests();
    all.extend(tests![
        session_settings_are_pinned_and_a_statement_cannot_change_them,
        what_a_read_only_transaction_allows_is_rolled_back,
        stacked_statements_never_reach_the_server_as_one_message,
        introspection_shows_only_what_the_login_may_read,
        the_row_cap_stops_the_server_early_and_columns_carry_types,
        tls_modes_behave_as_in_libpq,
        a_missing_database_and_version_facts,
        a_busy_pool_still_answers_within_the_limits,
    ]);
    Group::new("postgres conformance").needs(POSTGRES, all)
}
