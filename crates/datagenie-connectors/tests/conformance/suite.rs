//! The generic checks every connector passes, and the traits an engine implements to run them.
//!
//! # Taking part
//!
//! An engine module implements:
//! - [`Subject`] for its connector type: [`Connector`] plus the test-only guard bypass
//!   (`execute_unguarded_for_tests`, feature `test-bypass`);
//! - [`Engine`]: how to build the [fixture](#the-fixture) in a fresh database and what this engine is expected to
//!   report (declared types, value mapping, a query that never ends, engine-specific writes, an unreachable server);
//! - [`Fixture`]: one built fixture database — the connector under test (logged in as a least-privilege read-only
//!   user), a connector logged in as a user who *could* write, admin statements, ending the connector's sessions,
//!   and cleanup;
//!
//! and then expands `crate::suite::conformance_tests!(engine_expr);` where `engine_expr` is an expression of a type
//! implementing [`Engine`] (evaluated once per test). Each check below becomes a test of the same name in the
//! engine's module, listed by the `suite_tests()` the macro also defines; the module's `tests()` registers them
//! (see `main.rs`), with `needs(SERVER, …)` for an engine behind a server.
//!
//! # The fixture
//!
//! Every engine builds the same logical schema with its own DDL, then refreshes its statistics (so estimated row
//! counts are exact for these small tables). Names are lower case and unquoted.
//!
//! ```text
//! customers      (table comment: "People who placed orders")
//!   id    integer      primary key
//!   name  varchar(40)  not null   (comment: "고객 이름")
//!   city  varchar(40)  null
//!   rows: (1, 'Kim', 'Seoul'), (2, 'Lee', 'Busan'), (3, '박서준', NULL)
//! orders
//!   id          integer        primary key
//!   customer_id integer        not null, references customers(id)
//!   amount      decimal(12,2)  not null
//!   status      varchar(10)    not null  (comment: "paid or refunded")
//!   rows: (10, 1, 12.50, 'paid'), (11, 1, 99999999.99, 'paid'), (12, 2, 0.01, 'refunded'), (13, 3, 7.00, 'paid')
//! order_notes    primary key (order_id, line_no)
//!   order_id integer  not null, references orders(id)
//!   line_no  integer  not null
//!   note     text     null
//!   rows: (10, 1, 'first'), (10, 2, 'second'), (12, 1, 'late')
//! note_tags      no primary key; foreign key (order_id, line_no) references order_notes(order_id, line_no)
//!   order_id integer      not null
//!   line_no  integer      not null
//!   tag      varchar(20)  null
//!   rows: (10, 1, 'gift')
//! numbers
//!   n integer primary key
//!   rows: 1 ..= 50
//! customer_totals  (a view)
//!   SELECT c.name AS name, count(o.id) AS orders FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
//!   GROUP BY c.name
//! ```
//!
//! Engine-specific columns for value mapping belong in [`Engine::type_cases`] (literals in a SELECT, or an extra
//! table the engine's fixture DDL adds: the suite ignores tables it does not know).

use std::collections::BTreeSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datagenie_core::connector::{Connector, IntrospectOptions, Limits};
use datagenie_core::guard::{self, Policy};
use datagenie_core::schema::{Schema, Table, TableKind};
use datagenie_core::value::{ResultSet, Value};
use datagenie_core::{Dialect, Error, ErrorCode, GuardedSql};

/// The password engines put in the URL of [`Engine::open_unreachable`]: no error message, description or debug
/// output may contain it.
pub const SECRET_PASSWORD: &str = "Sup3r-s3cret-pw";

/// How long past its time limit a stopped query may take to come back (network round trips, cancel requests).
pub const TIMEOUT_MARGIN: Duration = Duration::from_millis(2500);

/// A connector under test: the [`Connector`] trait plus the guard bypass of the `test-bypass` feature.
#[async_trait]
pub trait Subject: Connector {
    /// The connector's `execute_unguarded_for_tests`: the same path as `execute`, without the guard.
    async fn execute_unguarded(&self, sql: &str, limits: &Limits) -> Result<ResultSet, Error>;
}

/// One value-mapping case: a query the guard accepts for the engine's dialect, and the first row it must return.
#[derive(Debug, Clone)]
pub struct TypeCase {
    pub sql: String,
    pub expected: Vec<Value>,
}

impl TypeCase {
    pub fn new(sql: impl Into<String>, expected: Vec<Value>) -> Self {
        TypeCase { sql: sql.into(), expected }
    }
}

/// An engine taking part in the suite. See the module documentation.
#[async_trait]
pub trait Engine: Send + Sync {
    /// For messages: `SQLite`, `PostgreSQL`, `MariaDB`.
    fn name(&self) -> &'static str;

    /// The dialect the engine's connector reports (and the guard checks with).
    fn dialect(&self) -> Dialect;

    /// True for engines behind a network server (pool, sessions, a server that can be unreachable).
    fn is_server(&self) -> bool;

    /// Builds the fixture in a fresh, uniquely named database and opens the connector under test on it.
    async fn create_fixture(&self) -> Result<Box<dyn Fixture>, String>;

    /// `(table, column, data_type)`: the declared type introspection must report for each fixture column.
    fn declared_types(&self) -> Vec<(&'static str, &'static str, &'static str)>;

    /// True when row counts come from statistics: then a count within ±50 % (and never for an empty table) passes.
    fn row_counts_are_estimates(&self) -> bool;

    /// Value-mapping cases beyond the generic ones (integers, text, null).
    fn type_cases(&self) -> Vec<TypeCase>;

    /// A query the guard accepts that runs far longer than a second (the engine must stop it at the time limit).
    fn endless_query(&self) -> &'static str;

    /// A slow statement only the bypass can run (e.g. a sleep function the guard refuses), which the session's own
    /// time limit must stop.
    fn unguarded_slow_query(&self) -> &'static str;

    /// Engine-specific writes for the read-only check, beyond the generic INSERT/UPDATE/DELETE/CREATE/DROP/ALTER,
    /// each refused with `ReadOnlyViolation` by the session even though the guard never saw it.
    fn extra_writes(&self) -> Vec<&'static str>;

    /// Opens a connector to a server that is not there (for SQLite: a file that vanished after opening). Server
    /// engines use [`SECRET_PASSWORD`] as the password of its URL. Either this fails with `DatabaseUnavailable`, or
    /// the connector's calls do.
    async fn open_unreachable(&self) -> Result<Arc<dyn Subject>, Error>;
}

/// One built fixture database.
#[async_trait]
pub trait Fixture: Send + Sync {
    /// The connector under test, logged in as the least-privilege read-only user.
    fn connector(&self) -> Arc<dyn Subject>;

    /// The `Table::schema` introspection must report for fixture tables (`None` for SQLite).
    fn expected_schema(&self) -> Option<String>;

    /// A second connector to the same database, logged in as a user that is allowed to write: shows that read-only
    /// enforcement does not rest on privileges alone.
    async fn writable_login(&self) -> Result<Arc<dyn Subject>, String>;

    /// Runs one statement as the admin, outside the connector (DDL for the fingerprint check).
    async fn admin_exec(&self, sql: &str) -> Result<(), String>;

    /// `SELECT count(*) FROM table` as the admin, outside the connector.
    async fn admin_count(&self, table: &str) -> Result<i64, String>;

    /// Ends every server session the connector under test holds, as a server restart or a network cut would.
    /// `Ok(false)` when the engine has no such sessions (SQLite).
    async fn kill_sessions(&self) -> Result<bool, String>;

    /// Drops the database and logins (best effort, never panics).
    async fn cleanup(&self);
}

/// Expands to one async test function per generic check, named after it, for the engine `$engine` (an expression
/// of a type implementing [`Engine`], evaluated in each test), and to `fn suite_tests() -> Vec<Test>` listing them
/// for the module's `tests()`.
macro_rules! conformance_tests {
    ($engine:expr) => {
        $crate::suite::conformance_tests!(@each $engine;
            introspection, fingerprint, samples_obey_options, value_mapping, row_cap_and_truncated, time_limit,
            error_mapping, read_only_without_the_guard, connection_failure, recovery_after_lost_sessions,
            concurrent_queries, access_report);
    };
    (@each $engine:expr; $($check:ident),+ $(,)?) => {
        $(
            async fn $check() {
                $crate::suite::run(&$engine, $crate::suite::$check).await;
            }
        )+

        /// The generic checks, as tests of this module.
        fn suite_tests() -> ::std::vec::Vec<::datagenie_testkit::Test> {
            ::datagenie_testkit::tests![$($check),+]
        }
    };
}
pub(crate) use conformance_tests;

/// `Connector::access_report`: in its own file, run like every other check.
pub use crate::access::access_report;

/// A check's future.
pub type BoxedCheck<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A check: runs against one fixture, panicking on failure.
pub type Check = for<'a> fn(&'a dyn Engine, &'a dyn Fixture) -> BoxedCheck<'a>;

/// Builds a fixture, runs `check` on it and cleans up — also when the check panics (the panic is then resumed).
pub async fn run<E: Engine>(engine: &E, check: Check) {
    let fixture = match engine.create_fixture().await {
        Ok(f) => f,
        Err(e) => panic!("{}: building the fixture failed: {e}", engine.name()),
    };
    let outcome = CatchUnwind { inner: check(engine, fixture.as_ref()) }.await;
    fixture.cleanup().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A future that turns a panic while it is polled into an `Err`, so the fixture is cleaned up before the panic
/// goes on.
struct CatchUnwind<'a> {
    inner: BoxedCheck<'a>,
}

impl Future for CatchUnwind<'_> {
    type Output = std::thread::Result<()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/// The guard's approval of `sql` for `dialect`; the suite's queries are all plain SELECTs it must accept.
pub fn guarded(sql: &str, dialect: Dialect) -> GuardedSql {
    match guard::check(sql, dialect, &Policy::default()) {
        Ok(g) => g,
        Err(e) => panic!("the guard refused a conformance query ({}): {sql}: {e:?}", e.code),
    }
}

pub fn limits(max_rows: usize) -> Limits {
    Limits { max_rows, timeout: Duration::from_secs(20) }
}

/// Runs `sql` through the guard and the connector.
pub async fn query(engine: &dyn Engine, c: &dyn Subject, sql: &str, limits: Limits) -> Result<ResultSet, Error> {
    c.execute(&guarded(sql, engine.dialect()), &limits).await
}

/// Like [`query`], panicking with the engine's name on failure.
pub async fn rows(engine: &dyn Engine, c: &dyn Subject, sql: &str) -> Vec<Vec<Value>> {
    match query(engine, c, sql, limits(1000)).await {
        Ok(rs) => rs.rows,
        Err(e) => panic!("{}: {sql}: {e:?}", engine.name()),
    }
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn table<'s>(engine: &dyn Engine, schema: &'s Schema, name: &str) -> &'s Table {
    match schema.tables.iter().find(|t| t.name == name) {
        Some(t) => t,
        None => panic!(
            "{}: introspection misses {name}; it found {:?}",
            engine.name(),
            schema.tables.iter().map(|t| t.qualified_name()).collect::<Vec<_>>()
        ),
    }
}

async fn introspect(engine: &dyn Engine, c: &dyn Subject, options: &IntrospectOptions) -> Schema {
    match c.introspect(options).await {
        Ok(s) => s,
        Err(e) => panic!("{}: introspection failed: {e:?}", engine.name()),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The checks

/// Tables, views, columns (order, declared types, nullability), primary and foreign keys (multi-column too),
/// comments, row counts and samples of the fixture.
pub fn introspection<'a>(engine: &'a dyn Engine, fixture: &'a dyn Fixture) -> BoxedCheck<'a> {
    Box::pin(async move {
        let c = fixture.connector();
        let schema = introspect(engine, c.as_ref(), &IntrospectOptions::default()).await;
        let who = engine.name();
        assert_eq!(schema.dialect, engine.dialect(), "{who}: dialect");
        assert!(!schema.server_version.trim().is_empty(), "{who}: server_version is empty");

        let expected_columns: &[(&str, &[(&str, bool)])] = &[
            ("customers", &[("id", false), ("name", false), ("city", true)]),
            ("orders", &[("id", false), ("customer_id", false), ("amount", false), ("status", false)]),
            ("order_notes", &[("order_id", false), ("line_no", false), ("note", true)]),
            ("note_tags", &[("order_id", false), ("line_no", false), ("tag", true)]),
            ("numbers", &[("n", false)]),
        ];
        for (name, columns) in expected_columns {
            let t = table(engine, &schema, name);
            assert_eq!(t.kind, TableKind::Table, "{who}: {name} kind");
            assert_eq!(t.schema, fixture.expected_schema(), "{who}: {name} schema");
            let got: Vec<(&str, bool)> = t.columns.iter().map(|c| (c.name.as_str(), c.nullable)).collect();
            assert_eq!(got, *columns, "{who}: {name} columns (name, nullable) in order");
        }
        for (t, c, ty) in engine.declared_types() {
            let column = table(engine, &schema, t).column(c).unwrap_or_else(|| panic!("{who}: no column {t}.{c}"));
            assert_eq!(column.data_type, ty, "{who}: declared type of {t}.{c}");
        }

        let view = table(engine, &schema, "customer_totals");
        assert_eq!(view.kind, TableKind::View, "{who}: customer_totals is a view");
        let view_columns: Vec<&str> = view.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(view_columns, ["name", "orders"], "{who}: view columns");
        assert_eq!(view.row_count, None, "{who}: views have no row count");

        assert_eq!(table(engine, &schema, "customers").primary_key, ["id"], "{who}: customers PK");
        assert_eq!(table(engine, &schema, "order_notes").primary_key, ["order_id", "line_no"], "{who}: composite PK");
        assert!(table(engine, &schema, "note_tags").primary_key.is_empty(), "{who}: note_tags has no PK");

        let fks = |name: &str| -> Vec<(Vec<String>, String, Vec<String>)> {
            table(engine, &schema, name)
                .foreign_keys
                .iter()
                .map(|fk| {
                    assert_eq!(fk.ref_schema, fixture.expected_schema(), "{who}: {name} FK ref_schema");
                    (fk.columns.clone(), fk.ref_table.clone(), fk.ref_columns.clone())
                })
                .collect()
        };
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(fks("orders"), [(s(&["customer_id"]), "customers".to_string(), s(&["id"]))], "{who}: orders FK");
        assert_eq!(fks("order_notes"), [(s(&["order_id"]), "orders".to_string(), s(&["id"]))], "{who}: FK");
        assert_eq!(
            fks("note_tags"),
            [(s(&["order_id", "line_no"]), "order_notes".to_string(), s(&["order_id", "line_no"]))],
            "{who}: multi-column FK"
        );
        assert!(fks("customers").is_empty(), "{who}: customers has no FK");

        let customers = table(engine, &schema, "customers");
        assert_eq!(customers.comment.as_deref(), Some("People who placed orders"), "{who}: table comment");
        let comment = |t: &Table, c: &str| t.column(c).and_then(|c| c.comment.clone());
        assert_eq!(comment(customers, "name").as_deref(), Some("고객 이름"), "{who}: column comment");
        assert_eq!(comment(customers, "city"), None, "{who}: uncommented column");
        let orders = table(engine, &schema, "orders");
        assert_eq!(comment(orders, "status").as_deref(), Some("paid or refunded"), "{who}: column comment");

        for (name, n) in [("customers", 3u64), ("orders", 4), ("order_notes", 3), ("note_tags", 1), ("numbers", 50)] {
            let count = table(engine, &schema, name).row_count;
            if engine.row_counts_are_estimates() {
                let got = count.unwrap_or_else(|| panic!("{who}: no row count estimate for {name}"));
                assert!(got * 2 >= n && got <= n * 3 / 2 + 1, "{who}: {name} estimate {got} is far from {n}");
            } else {
                assert_eq!(count, Some(n), "{who}: {name} row count");
            }
        }

        let samples = |t: &str, c: &str| -> Vec<String> {
            table(engine, &schema, t).column(c).map(|c| c.samples.clone()).unwrap_or_default()
        };
        let city = samples("customers", "city");
        assert!(!city.is_empty(), "{who}: customers.city has no samples");
        assert!(city.iter().all(|v| v == "Seoul" || v == "Busan"), "{who}: city samples {city:?}");
        let mut status: Vec<String> = samples("orders", "status");
        status.sort();
        assert_eq!(status, ["paid", "refunded"], "{who}: status samples are distinct values");
        let names = samples("customers", "name");
        assert!(names.iter().all(|v| ["Kim", "Lee", "박서준"].contains(&v.as_str())), "{who}: {names:?}");
        assert!(samples("numbers", "n").is_empty(), "{who}: no samples for integer columns");
    })
}

/// The fingerprint is stable while the structure is unchanged and changes with DDL, not with rows.
pub fn fingerprint<'a>(engine: &'a dyn Engine, fixture: &'a dyn Fixture) -> BoxedCheck<'a> {
    Box::pin(async move {
        let who = engine.name();
        let c = fixture.connector();
        let first = c.schema_fingerprint().await.unwrap_or_else(|e| panic!("{who}: fingerprint: {e:?}"));
        assert!(!first.is_empty(), "{who}: empty fingerprint");
        let again = c.schema_fingerprint().await.unwrap_or_else(|e| panic!("{who}: fingerprint: {e:?}"));
        assert_eq!(first, again, "{who}: fingerprint not stable");
        fixture.admin_exec("INSERT INTO numbers (n) VALUES (51)").await.unwrap_or_else(|e| panic!("{who}: {e}"));
        let after_insert = c.schema_fingerprint().await.unwrap_or_else(|e| panic!("{who}: fingerprint: {e:?}"));
        assert_eq!(first, after_insert, "{who}: a row change changed the fingerprint");
        fixture
            .admin_exec("ALTER TABLE customers ADD COLUMN email VARCHAR(80)")
            .await
            .unwrap_or_else(|e| panic!("{who}: {e}"));
        let after_ddl = c.schema_fingerprint().await.unwrap_or_else(|e| panic!("{who}: fingerprint: {e:?}"));
        assert_ne!(first, after_ddl, "{who}: adding a column left the fingerprint unchanged");
        let schema = introspect(engine, c.as_ref(), &IntrospectOptions::default()).await;
        assert!(table(engine, &schema, "customers").column("email").is_some(), "{who}: new column not introspected");
    })
}

/// `samples_per_column` bounds the samples; 0 turns them off. A generous time limit is not exceeded.
pub fn samples_obey_options<'a>(engine: &'a dyn Engine, fixture: &'a dyn Fixture) -> BoxedCheck<'a> {
    Box::pin(async move {
        let who = engine.name();
        let c = fixture.connector();
        let one = IntrospectOptions { samples_per_column: 1, ..IntrospectOptions::default() };
        let schema = introspect(engine, c.as_ref(), &one).await;
        for t in schema.tables.iter().filter(|t| t.kind == TableKind::Table) {
            for col in &t.columns {
                assert!(col.samples.len() <= 1, "{who}: {}.{} has {:?}", t.name, col.name, col.samples);
            }
        }
        assert_eq!(table(engine, &schema, "orders").column("status").map(|c| c.samples.len()), Some(1), "{who}");
        let none = IntrospectOptions { samples_per_column: 0, ..IntrospectOptions::default() };
        let schema = introspect(engine, c.as_ref(), &none).await;
        assert!(
            schema.tables.iter().flat_map(|t| &t.columns).all(|c| c.samples.is_empty()),
            "{who}: samples_per_column = 0 still sampled"
        );
    })
}

/// Integers, text (Korean included) and NULL map the same on every engine; the engine's own cases cover the rest.
pub fn value_mapping<'a>(engine: &'a dyn Engine, fixture: &'a dyn Fixture) -> BoxedCheck<'a> {
    Box::pin(async move {
        let who = engine.name();
        let c = fixture.connector();
        let got = rows(engine, c.as_ref(), "SELECT id, name, city FROM customers ORDER BY id").await;
        assert_eq!(
            got,
            vec![
                vec![int(1), text("Kim"), text("Seoul")],
                vec![int(2), text("Lee"), text("Busan")],
                vec![int(3), text("박서준"), Value::Null],
            ],
            "{who}: generic values"
        );
        let rs = query(engine, c.as_ref(), "SELECT id AS k, name FROM customers WHERE id = 1", limits(10))
            .await
            .unwrap_or_else(|e| panic!("{who}: {e:?}"));
        let names: Vec<&str> = rs.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["k", "name"], "{who}: column names as the query labels them");
        for case in engine.type_cases() {
            let got = rows(engine, c.as_ref(), &case.sql).await;
            let first = got.first().unwrap_or_else(|| panic!("{who}: no row from {}", case.sql));
            assert_eq!(first, &case.expected, "{who}: {}", case.sql);
        }
    })
}

/// At most `max_rows` rows come back, `truncated` tells whether there were more, and the SQL keeps its meaning.
pub fn row_cap_and_truncated<'a>(engine: &'a dyn Engine, fixture: &'a dyn Fixture) -> BoxedCheck<'a> {
    Box::pin(async move {
        let who = engine.name();
        let c = fixture.connector();
        let run = |sql: &'static str, max: usize| {
            let c = Arc::clone(&c);
            async move { query(engine, c.as_ref(), sql, limits(max)).await.unwrap_or_else(|e| panic!("{who}: {e:?}")) }
        };
        let all = run("SELECT n FROM numbers ORDER BY n", 50).await;
        assert_eq!(all.rows.len(), 50, "{who}");
        assert!(!all.truncated, "{who}: exactly max_rows rows is not truncated");
        let cut = run("SELECT n FROM numbers ORDER BY n", 10).await;
        assert_eq!(cut.rows, (1..=10).map(|i| vec![int(i)]).collect::<Vec<_>>(), "{who}: the first 10 rows");
        assert!(cut.truncated, "{who}: more rows than max_rows is truncated");
        let zero = run("SELECT n FROM numbers", 0).await;
        assert!(zero.rows.is_empty() && zero.truncated, "{who}: max_rows = 0");
        assert_eq!(zero.columns.len(), 1, "{who}: columns reported without rows");
        let empty = run("SELECT n FROM numbers WHERE n < 0", 0).await;
        assert!(empty.rows.is_empty() && !empty.truncated, "{who}: no rows is not truncated");
        assert_eq!(empty.columns.first().map(|c| c.name.as_str()), Some("n"), "{who}: empty result keeps columns");
        let page = run("SELECT n FROM numbers ORDER BY n LIMIT 3 OFFSET 20", 2).await;
        assert_eq!(page.rows, vec![vec![int(21)], vec![int(22)]], "{who}: LIMIT/OFFSET keep their meaning");
        assert!(page.truncated, "{who}");
    })
}

/// A query past its time limit is stopped inside the engine and reported as `QueryTimeout` soon after the limit —
/// through the guard, and through the bypass for a statement the guard would refuse. The connector works afterwards.
pub fn time_limit<'a>(engine: &'a dyn Engine, fixture: &'a dyn Fixture) -> BoxedCheck<'a> {
    Box::pin(async move {
        let who = engine.name();
        let c = fixture.connector();
        let limit = Limits { max_rows: 10, timeout: Duration::from_millis(400) };
        let started = Instant::now();
        let e = query(engine, c.as_ref(), engine.endless_query(), limit).await.expect_err("the query never ends");
        let elapsed = started.elapsed();
        assert_eq!(e.code, ErrorCode::QueryTimeout, "{who}: {e:?}");
        assert_eq!(e.message, "the query ran longer than 0.4 s and was stopped", "{who}");
        assert!(elapsed >= Duration::from_millis(350), "{who}: stopped too early: {elapsed:?}");
        assert!(elapsed < limit.timeout + TIMEOUT_MARGIN, "{who}: stopped too late: {elapsed:?}");

        let started = Instant::now();
        let e = c.execute_unguarded(engine.unguarded_slow_query(), &limit).await.expect_err("slow statement");
        let elapsed = started.elapsed();
        assert_eq!(e.code, ErrorCode::QueryTimeout, "{who}: the session did not stop it: {e:?}");
        assert!(elapsed < limit.timeout + TIMEOUT_MARGIN, "{who}: stopped too late: {elapsed:?}");

        assert_eq!(rows(engine, c.as_ref(), "SELECT count(*) FROM numbers").await, vec![vec![int(50)]], "{who}");
    })
}

/// Database errors keep the engine's message and map to stable codes; SQL approved for another dialect is refused.
pub fn error_mapping<'a>(engine: &'a dyn Engine, fixture: &'a dyn Fixture) -> BoxedCheck<'a> {
    Box::pin(async move {
        let who = engine.name();
        let c = fixture.connector();
        let e = query(engine, c.as_ref(), "SELECT no_such_column FROM customers", limits(10)).await.expect_err("bad");
        assert_eq!(e.code, ErrorCode::QueryFailed, "{who}: {e:?}");
        assert!(e.message.contains("no_such_column"), "{who}: the message names the column: {}", e.message);
        let e = query(engine, c.as_ref(), "SELECT id FROM no_such_table", limits(10)).await.expect_err("bad table");
        assert_eq!(e.code, ErrorCode::QueryFailed, "{who}: {e:?}");
        assert!(e.message.contains("no_such_table"), "{who}: the message names the table: {}", e.message);
        let e = query(engine, c.as_ref(), "SELECT 1 / (n - n) FROM numbers", limits(10)).await;
        // Division by zero is an error on PostgreSQL and NULL on SQLite and MySQL: either way, never a panic.
        if let Err(e) = e {
            assert_eq!(e.code, ErrorCode::QueryFailed, "{who}: {e:?}");
        }
        let other = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql]
            .into_iter()
            .find(|d| *d != engine.dialect())
            .unwrap_or(Dialect::Sqlite);
        let e = c.execute(&guarded("SELECT 1", other), &limits(1)).await.expect_err("wrong dialect");
        assert_eq!(e.code, ErrorCode::Internal, "{who}: SQL checked for {other} ran: {e:?}");
        // The connector still answers after errors.
        assert_eq!(rows(engine, c.as_ref(), "SELECT count(*) FROM customers").await, vec![vec![int(3)]], "{who}");
    })
}

/// With the guard bypassed, the session itself refuses every write — for the read-only login and for a login
/// that could write — and the data is unchanged afterwards.
pub fn read_only_without_the_guard<'a>(engine: &'a dyn Engine, fixture: &'a dyn Fixture) -> BoxedCheck<'a> {
    Box::pin(async move {
        let who = engine.name();
        let writable =
            fixture.writable_login().await.unwrap_or_else(|e| panic!("{who}: opening the writable login: {e}"));
        let mut writes = vec![
            "INSERT INTO customers (id, name) VALUES (99, 'Mallory')",
            "UPDATE customers SET name = 'Mallory'",
            "DELETE FROM orders",
            "CREATE TABLE dg_evil (x INTEGER)",
            "DROP TABLE note_tags",
            "ALTER TABLE customers ADD COLUMN evil INTEGER",
        ];
        writes.extend(engine.extra_writes());
        for (login, c) in [("read-only login", fixture.connector()), ("writable login", writable)] {
            for sql in &writes {
                let e = c.execute_unguarded(sql, &limits(10)).await.expect_err(sql);
                assert_eq!(e.code, ErrorCode::ReadOnlyViolation, "{who} ({login}): {sql}: {e:?}");
                assert!(
                    e.message.starts_with("the database connection is read-only"),
                    "{who} ({login}): {sql}: {}",
                    e.message
                );
            }
            // The session is still usable and reads.
            let rs = c.execute_unguarded("SELECT count(*) FROM customers", &limits(10)).await;
            assert_eq!(rs.map(|r| r.rows).ok(), Some(vec![vec![int(3)]]), "{who} ({login}): read after refusals");
        }
        for (t, n) in [("customers", 3), ("orders", 4), ("note_tags", 1)] {
            assert_eq!(fixture.admin_count(t).await.ok(), Some(n), "{who}: {t} changed");
        }
        let schema = introspect(engine, fixture.connector().as_ref(), &IntrospectOptions::default()).await;
        assert!(schema.table("dg_evil").is_none(), "{who}: a table was created");
        assert!(table(engine, &schema, "customers").column("evil").is_none(), "{who}: a column was added");
    })
}

/// A server that is not there fails fast with `DatabaseUnavailable`, and no message or description shows the
/// password.
pub fn connection_failure<'a>(engine: &'a dyn Engine, _fixture: &'a dyn Fixture) -> BoxedCheck<'a> {
    Box::pin(async move {
        let who = engine.name();
        let started = Instant::now();
        let mut errors = Vec::new();
        match engine.open_unreachable().await {
            Err(e) => errors.push(e),
            Ok(c) => {
                assert!(!c.describe().contains(SECRET_PASSWORD), "{who}: describe() shows the password");
                errors.push(c.healthcheck().await.expect_err("healthcheck of a missing server"));
                if engine.is_server() {
                    errors.push(
                        query(engine, c.as_ref(), "SELECT 1", limits(1)).await.expect_err("query on a missing server"),
                    );
                    errors.push(c.schema_fingerprint().await.expect_err("fingerprint of a missing server"));
                }
            }
        }
        for e in &errors {
            assert_eq!(e.code, ErrorCode::DatabaseUnavailable, "{who}: {e:?}");
            assert!(!e.message.contains(SECRET_PASSWORD), "{who}: the message shows the password: {}", e.message);
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{who}: took {:?}", started.elapsed());
    })
}

/// When the server ends the connector's sessions, the pool notices: the next call works on a new session.
pub fn recovery_after_lost_sessions<'a>(engine: &'a dyn Engine, fixture: &'a dyn Fixture) -> BoxedCheck<'a> {
    Box::pin(async move {
        let who = engine.name();
        let c = fixture.connector();
        assert_eq!(rows(engine, c.as_ref(), "SELECT count(*) FROM numbers").await, vec![vec![int(50)]], "{who}");
        let killed = fixture.kill_sessions().await.unwrap_or_else(|e| panic!("{who}: ending sessions: {e}"));
        if killed {
            c.healthcheck().await.unwrap_or_else(|e| panic!("{who}: healthcheck after lost sessions: {e:?}"));
            fixture.kill_sessions().await.unwrap_or_else(|e| panic!("{who}: ending sessions: {e}"));
        }
        assert_eq!(rows(engine, c.as_ref(), "SELECT count(*) FROM numbers").await, vec![vec![int(50)]], "{who}");
        let schema = introspect(engine, c.as_ref(), &IntrospectOptions::default()).await;
        assert!(schema.table("numbers").is_some(), "{who}");
    })
}

/// Many calls at once on one connector all get their own right answer.
pub fn concurrent_queries<'a>(engine: &'a dyn Engine, fixture: &'a dyn Fixture) -> BoxedCheck<'a> {
    Box::pin(async move {
        let who = engine.name();
        let c = fixture.connector();
        let dialect = engine.dialect();
        let mut tasks = Vec::new();
        for k in 0..12i64 {
            let c = Arc::clone(&c);
            tasks.push(tokio::spawn(async move {
                let sql = format!("SELECT sum(n) + {k} FROM numbers WHERE n <= 10");
                c.execute(&guarded(&sql, dialect), &limits(1)).await
            }));
        }
        let mut seen = BTreeSet::new();
        for (k, task) in tasks.into_iter().enumerate() {
            let rs = task.await.unwrap_or_else(|e| panic!("{who}: task: {e}"));
            let rs = rs.unwrap_or_else(|e| panic!("{who}: query {k}: {e:?}"));
            let v = rs.rows.first().and_then(|r| r.first()).cloned();
            // sum() of integers is an integer on SQLite, a NUMERIC on PostgreSQL and MySQL: compare as numbers.
            let n = v.as_ref().and_then(Value::as_f64).unwrap_or_else(|| panic!("{who}: {v:?}"));
            assert_eq!(n, 55.0 + k as f64, "{who}: query {k} got another query's answer");
            seen.insert(k);
        }
        assert_eq!(seen.len(), 12);
    })
}
