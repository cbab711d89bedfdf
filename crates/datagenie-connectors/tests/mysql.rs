//! The MySQL/MariaDB connector against a real server, beyond the conformance suite: session settings, protocol
//! limits, refusals of each login, cleared sessions, long results, TLS modes and login failures.
//!
//! Switched on by `DATAGENIE_TEST_MYSQL_URL` (an admin login, e.g. `mysql://root@127.0.0.1:3306/mysql`); without it
//! the tests do not run and one line says they are skipped (counted as ignored). Each test builds its own database and
//! logins and drops them at the end.
//!
//! The binary runs on DataGenie's own harness (`harness = false`; `datagenie_testkit`), which can skip at run time.
//! To add a test: write a plain `async fn` (no `#[tokio::test]`) and add its name to the `tests![…]` list in
//! `main` at the end of this file; it runs on its own 2-worker tokio runtime, only when the variable is set.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use datagenie_connectors::mysql::{Flavour, MysqlConnector, SERVER_GRACE, parse_mysql_url};
use datagenie_core::connector::{Connector, IntrospectOptions, Limits};
use datagenie_core::guard::{self, Policy};
use datagenie_core::schema::TableKind;
use datagenie_core::value::{ResultSet, Value};
use datagenie_core::{Dialect, Error, ErrorCode};
use datagenie_testkit::{Group, MYSQL, Runtime, tests};
use mysql_async::prelude::Queryable;

const URL_VAR: &str = MYSQL.var;

async fn admin(url: &str) -> mysql_async::Conn {
    let opts = mysql_async::Opts::from_url(url).unwrap_or_else(|e| panic!("{URL_VAR}: {e}"));
    let opts = mysql_async::OptsBuilder::from_opts(opts).prefer_socket(false).setup(vec!["SET time_zone = '+00:00'"]);
    mysql_async::Conn::new(opts).await.unwrap_or_else(|e| panic!("the server of {URL_VAR} cannot be reached: {e}"))
}

/// One test's database with a read-only login (`SELECT, SHOW VIEW`) and a login with every privilege on it.
struct Db {
    admin_url: String,
    name: String,
    reader: String,
    writer: String,
    password: String,
    host: String,
    port: u16,
}

impl Db {
    fn url(&self, user: &str) -> String {
        format!("mysql://{user}:{}@{}:{}/{}?ssl-mode=DISABLED", self.password, self.host, self.port, self.name)
    }

    async fn reader(&self) -> MysqlConnector {
        connect(&self.url(&self.reader)).await.unwrap_or_else(|e| panic!("reader login: {e:?}"))
    }

    async fn writer(&self) -> MysqlConnector {
        connect(&self.url(&self.writer)).await.unwrap_or_else(|e| panic!("writer login: {e:?}"))
    }

    async fn admin_exec(&self, sql: &str) {
        let mut conn = admin(&self.admin_url).await;
        conn.query_drop(format!("USE `{}`", self.name)).await.expect("use");
        conn.query_drop(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.disconnect().await;
    }

    async fn admin_query(&self, sql: &str) -> Vec<mysql_async::Row> {
        let mut conn = admin(&self.admin_url).await;
        conn.query_drop(format!("USE `{}`", self.name)).await.expect("use");
        let rows = conn.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.disconnect().await;
        rows
    }

    async fn cleanup(&self) {
        let mut conn = admin(&self.admin_url).await;
        for sql in [
            format!("DROP DATABASE IF EXISTS `{}`", self.name),
            format!("DROP USER IF EXISTS '{}'@'%'", self.reader),
            format!("DROP USER IF EXISTS '{}'@'%'", self.writer),
        ] {
            let _ = conn.query_drop(sql).await;
        }
        let _ = conn.disconnect().await;
    }
}

async fn connect(url: &str) -> Result<MysqlConnector, Error> {
    MysqlConnector::connect(&parse_mysql_url(url)?).await
}

/// Builds a database from `ddl` (one statement per entry), runs `test` with it, and drops it — also when the test
/// panics (the panic is resumed afterwards).
async fn with_db<F, Fut>(ddl: &[&str], test: F)
where
    F: FnOnce(Arc<Db>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = MYSQL.admin_url();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tag = format!("{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let target = parse_mysql_url(&admin_url).expect("admin URL");
    let db = Arc::new(Db {
        admin_url: admin_url.clone(),
        name: format!("dg_my_{tag}"),
        reader: format!("dg_myro_{tag}"),
        writer: format!("dg_myrw_{tag}"),
        password: format!("pw-{tag}"),
        host: target.host().to_string(),
        port: target.port(),
    });
    let mut conn = admin(&admin_url).await;
    let mut setup = vec![
        format!("DROP DATABASE IF EXISTS `{}`", db.name),
        format!("DROP USER IF EXISTS '{}'@'%'", db.reader),
        format!("DROP USER IF EXISTS '{}'@'%'", db.writer),
        format!("CREATE DATABASE `{}` CHARACTER SET utf8mb4", db.name),
        format!("CREATE USER '{}'@'%' IDENTIFIED BY '{}'", db.reader, db.password),
        format!("CREATE USER '{}'@'%' IDENTIFIED BY '{}'", db.writer, db.password),
        format!("GRANT SELECT, SHOW VIEW ON `{}`.* TO '{}'@'%'", db.name, db.reader),
        format!("GRANT ALL PRIVILEGES ON `{}`.* TO '{}'@'%'", db.name, db.writer),
        format!("USE `{}`", db.name),
    ];
    setup.extend(ddl.iter().map(|s| s.to_string()));
    for sql in &setup {
        if let Err(e) = conn.query_drop(sql).await {
            let _ = conn.disconnect().await;
            db.cleanup().await;
            panic!("{sql}: {e}");
        }
    }
    let _ = conn.disconnect().await;
    let outcome = tokio::spawn(test(Arc::clone(&db))).await;
    db.cleanup().await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task failed: {e}");
    }
}

fn guarded(sql: &str) -> datagenie_core::GuardedSql {
    guard::check(sql, Dialect::Mysql, &Policy::default()).unwrap_or_else(|e| panic!("guard refused {sql}: {e:?}"))
}

fn limits(max_rows: usize) -> Limits {
    Limits { max_rows, timeout: Duration::from_secs(20) }
}

async fn run(c: &MysqlConnector, sql: &str) -> Result<ResultSet, Error> {
    c.execute(&guarded(sql), &limits(1000)).await
}

async fn raw(c: &MysqlConnector, sql: &str) -> Result<ResultSet, Error> {
    c.execute_unguarded_for_tests(sql, &limits(1000)).await
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

const PEOPLE: &[&str] = &[
    "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, note TEXT)",
    "INSERT INTO people VALUES (1, 'Kim', 'a'), (2, 'Lee', 'a'), (3, 'Park', 'b'), (4, 'Choi', 'beyond')",
];

// --- the session ------------------------------------------------------------------------------------------

async fn sessions_are_pinned_read_only_utc_and_guard_compatible() {
    with_db(PEOPLE, |db| async move {
        let c = db.reader().await;
        assert_eq!(
            c.flavour() == Flavour::Mariadb,
            c.server_version().starts_with("MariaDB "),
            "{}",
            c.server_version()
        );
        // MariaDB before 11.1 knows only the old name of the read-only flag; MySQL 8 only the new one.
        let read_only = if c.flavour() == Flavour::Mariadb { "tx_read_only" } else { "transaction_read_only" };
        let sql = format!(
            "SELECT @@SESSION.sql_mode, @@SESSION.time_zone, @@SESSION.character_set_client, @@SESSION.{read_only}"
        );
        let rs = raw(&c, &sql).await.expect("session variables");
        assert_eq!(
            rs.rows,
            vec![vec![text(datagenie_connectors::mysql::SQL_MODE), text("+00:00"), text("utf8mb4"), Value::Int(1)]]
        );
        // What the guard's MySQL dialect assumes: "…" is a string, backslash escapes, `…` quotes identifiers.
        let rs = run(&c, r#"SELECT "it's", 'C:\\dir', 'tab\there', `name` FROM people WHERE id = 1"#)
            .await
            .expect("quoting");
        assert_eq!(rs.rows, vec![vec![text("it's"), text("C:\\dir"), text("tab\there"), text("Kim")]]);
        // TIMESTAMP values are read in UTC: NOW() and UTC_TIMESTAMP() agree.
        let rs = run(&c, "SELECT NOW() = UTC_TIMESTAMP()").await.expect("utc");
        assert_eq!(rs.rows, vec![vec![Value::Int(1)]]);
    })
    .await;
}

async fn nothing_a_call_leaves_in_its_session_reaches_the_next_call() {
    with_db(PEOPLE, |db| async move {
        let c = db.reader().await;
        raw(&c, "SET @dg_leak = (SELECT name FROM people WHERE id = 1)").await.expect("set a user variable");
        for _ in 0..12 {
            let rs = raw(&c, "SELECT @dg_leak").await.expect("read it back");
            assert_eq!(rs.rows, vec![vec![Value::Null]], "a session variable survived into another call");
        }
    })
    .await;
}

async fn only_one_statement_ever_reaches_the_server() {
    with_db(PEOPLE, |db| async move {
        let c = db.writer().await;
        for sql in [
            "SELECT 1; DELETE FROM people",
            "SELECT 1; SET GLOBAL max_connections = 10",
            "DELETE FROM people; SELECT 1",
        ] {
            let e = raw(&c, sql).await.expect_err(sql);
            assert!(matches!(e.code, ErrorCode::QueryFailed | ErrorCode::ReadOnlyViolation), "{sql}: {e:?}");
        }
        // LOAD DATA cannot be prepared and the driver serves no local files: refused either way.
        let e = raw(&c, "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE people").await.expect_err("load data");
        assert!(matches!(e.code, ErrorCode::QueryFailed | ErrorCode::ReadOnlyViolation), "{e:?}");
        let count = db.admin_query("SELECT count(*) FROM people").await;
        assert_eq!(count[0].get::<i64, _>(0), Some(4), "the table changed");
    })
    .await;
}

async fn each_login_is_refused_by_the_layer_that_applies_to_it() {
    with_db(PEOPLE, |db| async move {
        let reader = db.reader().await;
        let writer = db.writer().await;
        // The read-only login lacks the privilege; the server says so.
        let e = raw(&reader, "INSERT INTO people VALUES (9, 'X', NULL)").await.expect_err("reader insert");
        assert_eq!(e.code, ErrorCode::ReadOnlyViolation);
        assert!(e.message.contains("INSERT command denied"), "{}", e.message);
        // The login that could write is stopped by the read-only transaction, DDL included.
        for sql in ["INSERT INTO people VALUES (9, 'X', NULL)", "DROP TABLE people", "CREATE TABLE t2 (x INT)"] {
            let e = raw(&writer, sql).await.expect_err(sql);
            assert_eq!(e.code, ErrorCode::ReadOnlyViolation, "{sql}");
            assert_eq!(
                e.message,
                "the database connection is read-only: Cannot execute statement in a READ ONLY transaction"
            );
        }
        // Temporary tables: MariaDB refuses them in a read-only transaction; MySQL allows them (session-private),
        // and the reset between calls drops them.
        match raw(&writer, "CREATE TEMPORARY TABLE dg_tmp (x INT)").await {
            Err(e) => assert_eq!(e.code, ErrorCode::ReadOnlyViolation, "{e:?}"),
            Ok(_) => {
                assert_eq!(writer.flavour(), Flavour::Mysql, "MariaDB created a temporary table");
                let e = raw(&writer, "SELECT x FROM dg_tmp").await.expect_err("gone in the next call");
                assert_eq!(e.code, ErrorCode::QueryFailed);
            }
        }
        // A refused read is not called a refused write.
        db.admin_exec(&format!("REVOKE SELECT ON `{}`.* FROM '{}'@'%'", db.name, db.reader)).await;
        let fresh = db.reader().await;
        let e = run(&fresh, "SELECT name FROM people").await.expect_err("no select privilege");
        assert_eq!(e.code, ErrorCode::QueryFailed, "{e:?}");
        assert_eq!(db.admin_query("SELECT count(*) FROM people").await[0].get::<i64, _>(0), Some(4));
    })
    .await;
}

// --- results ----------------------------------------------------------------------------------------------

async fn long_results_are_cut_at_the_cap_without_reading_them_whole() {
    with_db(
        &["CREATE TABLE n (i INT PRIMARY KEY)", "INSERT INTO n VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)"],
        |db| async move {
            let c = db.reader().await;
            // 10^6 rows: far past what is drained, so the connection is closed instead.
            let big = "SELECT a.i + 10 * b.i + 100 * c.i + 1000 * d.i + 10000 * e.i + 100000 * f.i AS k \
                       FROM n a, n b, n c, n d, n e, n f";
            let started = Instant::now();
            let rs = c.execute(&guarded(big), &limits(5)).await.expect("big result");
            let elapsed = started.elapsed();
            assert_eq!(rs.rows.len(), 5);
            assert!(rs.truncated);
            assert!(elapsed < Duration::from_secs(2), "read too much: {elapsed:?}");
            // 1,000 rows past the cap: drained, the connection stays.
            let small = "SELECT a.i + 10 * b.i + 100 * c.i AS k FROM n a, n b, n c";
            let rs = c.execute(&guarded(small), &limits(10)).await.expect("small result");
            assert_eq!((rs.rows.len(), rs.truncated), (10, true));
            for k in 0..6 {
                let rs = run(&c, &format!("SELECT count(*) + {k} FROM n")).await.expect("afterwards");
                assert_eq!(rs.rows, vec![vec![Value::Int(10 + k)]]);
            }
        },
    )
    .await;
}

async fn result_columns_carry_names_and_declared_types() {
    with_db(
        &["CREATE TABLE t (a INT UNSIGNED, b VARCHAR(5), c VARBINARY(4), d DECIMAL(5,2), e JSON, f ENUM('x'))"],
        |db| async move {
            let c = db.reader().await;
            let rs = run(&c, "SELECT a, b AS bee, c, d, e, f FROM t").await.expect("empty result");
            let cols: Vec<(&str, Option<&str>)> =
                rs.columns.iter().map(|c| (c.name.as_str(), c.decl_type.as_deref())).collect();
            assert_eq!(
                cols,
                [
                    ("a", Some("INT UNSIGNED")),
                    ("bee", Some("VARCHAR")),
                    ("c", Some("VARBINARY")),
                    ("d", Some("DECIMAL")),
                    ("e", Some("JSON")),
                    ("f", Some("ENUM")),
                ]
            );
            assert!(rs.rows.is_empty() && !rs.truncated);
        },
    )
    .await;
}

// --- time limits ------------------------------------------------------------------------------------------

async fn a_timed_out_call_does_not_hold_up_the_others() {
    with_db(PEOPLE, |db| async move {
        let c = Arc::new(db.reader().await);
        let slow = {
            let c = Arc::clone(&c);
            tokio::spawn(async move {
                c.execute_unguarded_for_tests(
                    "SELECT SLEEP(30)",
                    &Limits { max_rows: 1, timeout: Duration::from_millis(300) },
                )
                .await
            })
        };
        let started = Instant::now();
        let rs = run(&c, "SELECT count(*) FROM people").await.expect("a quick query meanwhile");
        assert_eq!(rs.rows, vec![vec![Value::Int(4)]]);
        assert!(started.elapsed() < Duration::from_millis(1000), "{:?}", started.elapsed());
        let e = slow.await.expect("task").expect_err("slow");
        assert_eq!(e.code, ErrorCode::QueryTimeout);
        assert_eq!(e.message, "the query ran longer than 0.3 s and was stopped");
    })
    .await;
}

async fn introspection_without_time_fails_with_a_timeout() {
    with_db(PEOPLE, |db| async move {
        let c = db.reader().await;
        let opts = IntrospectOptions { timeout: Duration::ZERO, ..IntrospectOptions::default() };
        let e = c.introspect(&opts).await.expect_err("no time at all");
        assert_eq!(e.code, ErrorCode::QueryTimeout);
        assert_eq!(e.message, "schema introspection ran longer than 0 s and was stopped");
    })
    .await;
}

// --- introspection ----------------------------------------------------------------------------------------

async fn samples_come_from_a_bounded_prefix_and_long_values_are_cut() {
    let long = "가나다라마바사아자차".repeat(10);
    let insert = format!("INSERT INTO l VALUES ('{long}')");
    // Over 500 rows (by the statistics): the server picks the distinct values; smaller tables are read here.
    let big: Vec<String> = (0..600).map(|i| format!("('v{}')", i % 7)).collect();
    let big = format!("INSERT INTO big VALUES {}", big.join(", "));
    with_db(
        &[
            PEOPLE[0],
            PEOPLE[1],
            "CREATE TABLE l (s TEXT)",
            insert.as_str(),
            "CREATE TABLE `we``ird` (`a``b` VARCHAR(9))",
            "INSERT INTO `we``ird` VALUES ('x`y')",
            "CREATE TABLE big (s VARCHAR(10))",
            big.as_str(),
            "ANALYZE TABLE big, people",
        ],
        move |db| async move {
            let c = db.reader().await;
            let opts =
                IntrospectOptions { samples_per_column: 10, sample_scan_rows: 3, timeout: Duration::from_secs(20) };
            let schema = c.introspect(&opts).await.expect("introspect");
            assert_eq!(schema.server_version, c.server_version());
            let people = schema.table("people").expect("people");
            assert_eq!(people.column("note").expect("note").samples, ["a", "b"], "only the first 3 rows are read");
            let cut = &schema.table("l").expect("l").column("s").expect("s").samples[0];
            assert_eq!(cut.chars().count(), 60);
            assert!(cut.ends_with('…') && long.starts_with(cut.trim_end_matches('…')));
            let weird = schema.table("we`ird").expect("quoted names");
            assert_eq!(weird.column("a`b").expect("a`b").samples, ["x`y"]);
            let big = schema.table("big").expect("big");
            assert!(big.row_count.is_some_and(|n| n > 500), "{:?}", big.row_count);
            assert_eq!(big.column("s").expect("s").samples, ["v0", "v1", "v2"], "server-side, first 3 rows");
            let wide = IntrospectOptions { samples_per_column: 10, sample_scan_rows: 2000, ..opts };
            let schema = c.introspect(&wide).await.expect("introspect");
            let mut all = schema.table("big").expect("big").column("s").expect("s").samples.clone();
            all.sort();
            assert_eq!(all, ["v0", "v1", "v2", "v3", "v4", "v5", "v6"], "distinct");
            let few = IntrospectOptions { samples_per_column: 2, ..wide };
            let schema = c.introspect(&few).await.expect("introspect");
            assert_eq!(schema.table("big").expect("big").column("s").expect("s").samples.len(), 2);
            assert_eq!(schema.table("people").expect("people").column("name").expect("name").samples, ["Kim", "Lee"]);
        },
    )
    .await;
}

async fn without_a_database_every_visible_schema_is_introspected() {
    with_db(PEOPLE, |db| async move {
        let url = format!("mysql://{}:{}@{}:{}?ssl-mode=DISABLED", db.reader, db.password, db.host, db.port);
        let c = connect(&url).await.expect("no database in the URL");
        let schema = c.introspect(&IntrospectOptions::default()).await.expect("introspect");
        // The read-only login sees its own database only; no system schema shows.
        let schemas: std::collections::BTreeSet<Option<&str>> =
            schema.tables.iter().map(|t| t.schema.as_deref()).collect();
        assert_eq!(schemas.into_iter().collect::<Vec<_>>(), [Some(db.name.as_str())]);
        let people = schema.tables.iter().find(|t| t.name == "people").expect("people");
        assert_eq!((people.kind, people.primary_key.clone()), (TableKind::Table, vec!["id".to_string()]));
        let first = c.schema_fingerprint().await.expect("fingerprint");
        db.admin_exec("CREATE VIEW v AS SELECT name FROM people").await;
        assert_ne!(c.schema_fingerprint().await.expect("fingerprint"), first, "a new view changes it");
        // Queries name the database explicitly then.
        let rs = run(&c, &format!("SELECT count(*) FROM `{}`.people", db.name)).await.expect("qualified query");
        assert_eq!(rs.rows, vec![vec![Value::Int(4)]]);
    })
    .await;
}

// --- connecting -------------------------------------------------------------------------------------------

async fn login_failures_are_clear_and_never_show_the_password() {
    with_db(PEOPLE, |db| async move {
        let wrong =
            format!("mysql://{}:Wr0ng-passw0rd@{}:{}/{}?ssl-mode=DISABLED", db.reader, db.host, db.port, db.name);
        let e = connect(&wrong).await.expect_err("wrong password");
        assert_eq!(e.code, ErrorCode::DatabaseUnavailable, "{e:?}");
        assert!(e.message.contains("Access denied"), "{}", e.message);
        assert!(!e.message.contains("Wr0ng-passw0rd"), "{}", e.message);

        let missing = format!("mysql://{}:{}@{}:{}/{}_nope", db.reader, db.password, db.host, db.port, db.name);
        let e = connect(&missing).await.expect_err("unknown database");
        assert!(matches!(e.code, ErrorCode::DatabaseNotFound | ErrorCode::DatabaseUnavailable), "{e:?}");

        // PREFERRED (the default) falls back to plain TCP on a server without TLS; REQUIRED refuses it.
        let c = connect(&format!("mysql://{}:{}@{}:{}/{}", db.reader, db.password, db.host, db.port, db.name))
            .await
            .expect("preferred TLS");
        assert_eq!(run(&c, "SELECT count(*) FROM people").await.expect("query").rows, vec![vec![Value::Int(4)]]);
        assert!(!c.describe().contains(&db.password), "{}", c.describe());
        assert!(!format!("{c:?}").contains(&db.password));
        let offers_tls = db.admin_query("SELECT @@have_ssl").await[0].get::<String, _>(0) == Some("YES".into());
        if !offers_tls {
            let required = format!("{}?ssl-mode=REQUIRED", db.url(&db.reader).split('?').next().unwrap_or_default());
            let e = connect(&required).await.expect_err("TLS required");
            assert_eq!(e.code, ErrorCode::DatabaseUnavailable);
            assert!(e.message.contains("TLS"), "{}", e.message);
        }
        let e = connect(&format!("{}&ssl-ca=/nonexistent/ca.pem", db.url(&db.reader).replace("DISABLED", "VERIFY_CA")))
            .await
            .expect_err("missing CA file");
        assert_eq!(e.code, ErrorCode::InvalidDatabaseUrl);
    })
    .await;
}

async fn a_server_that_goes_away_is_unavailable_and_comes_back() {
    with_db(PEOPLE, |db| async move {
        let c = db.reader().await;
        c.healthcheck().await.expect("healthy");
        // Kill every session of the login, twice over, with calls in between: each call still succeeds.
        for _ in 0..3 {
            let mut admin_conn = admin(&db.admin_url).await;
            let ids: Vec<u64> = admin_conn
                .exec("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?", (db.reader.as_str(),))
                .await
                .expect("processlist");
            for id in ids {
                let _ = admin_conn.query_drop(format!("KILL CONNECTION {id}")).await;
            }
            let _ = admin_conn.disconnect().await;
            let rs = run(&c, "SELECT count(*) FROM people").await.expect("after the sessions were killed");
            assert_eq!(rs.rows, vec![vec![Value::Int(4)]]);
        }
    })
    .await;
}

/// A TCP relay to the server that the test can cut and restore, standing in for a network cut or a server restart.
struct Relay {
    port: u16,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    /// Listens on `port` (0: any) and relays every connection to `upstream` until [`Relay::cut`].
    async fn start(port: u16, upstream: String) -> Relay {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind relay");
        let port = listener.local_addr().expect("addr").port();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            loop {
                let (mut client, _) = tokio::select! {
                    accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => return },
                    _ = stopped.changed() => return,
                };
                let upstream = upstream.clone();
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = stopped.changed() => {}
                    }
                });
            }
        });
        Relay { port, stop }
    }

    /// Closes the listener and every relayed connection.
    fn cut(self) {
        let _ = self.stop.send(true);
    }
}

async fn a_cut_connection_is_unavailable_at_once_and_recovers_when_restored() {
    with_db(PEOPLE, |db| async move {
        let upstream = format!("{}:{}", db.host, db.port);
        let relay = Relay::start(0, upstream.clone()).await;
        let port = relay.port;
        let url = format!("mysql://{}:{}@127.0.0.1:{port}/{}?ssl-mode=DISABLED", db.reader, db.password, db.name);
        let c = connect(&url).await.expect("through the relay");
        assert_eq!(run(&c, "SELECT count(*) FROM people").await.expect("query").rows, vec![vec![Value::Int(4)]]);

        relay.cut();
        let started = Instant::now();
        let e = c.healthcheck().await.expect_err("nothing listens");
        assert_eq!(e.code, ErrorCode::DatabaseUnavailable, "{e:?}");
        assert!(e.message.contains(&format!("127.0.0.1:{port}")) && !e.message.contains(&db.password), "{}", e.message);
        let e = run(&c, "SELECT count(*) FROM people").await.expect_err("nothing listens");
        assert_eq!(e.code, ErrorCode::DatabaseUnavailable, "{e:?}");
        let e = c.schema_fingerprint().await.expect_err("nothing listens");
        assert_eq!(e.code, ErrorCode::DatabaseUnavailable, "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

        let relay = Relay::start(port, upstream).await;
        c.healthcheck().await.expect("back");
        assert_eq!(run(&c, "SELECT count(*) FROM people").await.expect("query").rows, vec![vec![Value::Int(4)]]);
        relay.cut();
    })
    .await;
}

// --- the watchdog -------------------------------------------------------------------------------------------

/// With the server's own limit switched off inside the job, only the watchdog's `KILL QUERY` can end the
/// statement: the caller hears `QueryTimeout` on time, and the statement ends long before it would by itself.
/// It only reads.
async fn the_watchdog_kills_what_the_server_limit_does_not_stop() {
    let c = connect(&MYSQL.admin_url()).await.expect("connect");
    let (tx, rx) = tokio::sync::oneshot::channel();
    let budget = Duration::from_millis(200);
    let started = Instant::now();
    let e = c.query_int_without_server_limit_for_tests("SELECT SLEEP(5)", budget, Some(tx)).await.expect_err("stopped");
    assert_eq!(e.code, ErrorCode::QueryTimeout, "{e:?}");
    assert!(started.elapsed() < budget + SERVER_GRACE + Duration::from_millis(400), "{:?}", started.elapsed());
    let slept = tokio::time::timeout(Duration::from_secs(4), rx).await.expect("ended before 4 s").expect("sent");
    assert!(slept < Duration::from_secs(2), "the statement ran {slept:?}");
    c.healthcheck().await.expect("usable afterwards");
}

/// A statement the server lets finish just after the deadline (its limit switched off, ending before the
/// watchdog would act) still counts as a timeout: as MySQL's interrupted `SLEEP()`, which returns 1.
async fn an_answer_after_the_deadline_is_a_timeout() {
    let c = connect(&MYSQL.admin_url()).await.expect("connect");
    let late = c.query_int_without_server_limit_for_tests("SELECT SLEEP(0.3)", Duration::from_millis(200), None).await;
    assert_eq!(late.expect_err("late").code, ErrorCode::QueryTimeout);
    let on_time = c.query_int_without_server_limit_for_tests("SELECT SLEEP(0.05)", Duration::from_secs(5), None).await;
    assert_eq!(on_time.expect("on time"), Some(0));
}

fn main() -> ExitCode {
    let tests = tests![
        sessions_are_pinned_read_only_utc_and_guard_compatible,
        nothing_a_call_leaves_in_its_session_reaches_the_next_call,
        only_one_statement_ever_reaches_the_server,
        each_login_is_refused_by_the_layer_that_applies_to_it,
        long_results_are_cut_at_the_cap_without_reading_them_whole,
        result_columns_carry_names_and_declared_types,
        a_timed_out_call_does_not_hold_up_the_others,
        introspection_without_time_fails_with_a_timeout,
        samples_come_from_a_bounded_prefix_and_long_values_are_cut,
        without_a_database_every_visible_schema_is_introspected,
        login_failures_are_clear_and_never_show_the_password,
        a_server_that_goes_away_is_unavailable_and_comes_back,
        a_cut_connection_is_unavailable_at_once_and_recovers_when_restored,
        the_watchdog_kills_what_the_server_limit_does_not_stop,
        an_answer_after_the_deadline_is_a_timeout,
    ];
    datagenie_testkit::run(Runtime::MultiThread { workers: 2 }, vec![Group::new("mysql connector").needs(MYSQL, tests)])
}
