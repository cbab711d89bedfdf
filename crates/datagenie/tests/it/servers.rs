//! The demo on the servers: `datagenie demo --load` copies the demo database into a fresh PostgreSQL database and a
//! fresh MariaDB/MySQL database, and the same questions — the scripted LLM replying in each engine's dialect — give
//! the same rows on SQLite, PostgreSQL and MariaDB. Then the attack corpus of each server dialect, replied by the
//! scripted LLM, drives `ask` on the loaded database through a read-only login, and the data, the tables, the
//! functions and the logins are unchanged afterwards.
//!
//! Gated by `DATAGENIE_TEST_POSTGRES_URL` and `DATAGENIE_TEST_MYSQL_URL` (admin logins; see `tests()` at the end).
//! Unset: the harness shows one line saying these tests are skipped. Set but unreachable: the test fails. Every
//! database and login a test creates is dropped after it, also when it fails.
//!
//! Comparing rows across engines: the same query gives an integer on one engine and an exact decimal on another
//! (`SUM` of a `bigint` is `numeric` in PostgreSQL and `DECIMAL` in MySQL, which the JSON output prints as a number
//! or, when a number would change its digits, as a string; `AVG` is a float in SQLite). So cells are compared as
//! numbers whenever both read as numbers: integers exactly, fractions to a relative 1e-9 (MySQL keeps 4 decimal
//! places of an `AVG`). Everything else must be identical.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use datagenie_testkit::{Group, MYSQL, POSTGRES, tests};
use mysql_async::prelude::Queryable;
use serde_json::Value;

use crate::attacks::attacks;
use crate::harness::{Env, Output};
use crate::scripted_llm::{ScriptedLlm, reply, sql};

const PG_VAR: &str = POSTGRES.var;
const MY_VAR: &str = MYSQL.var;
/// The demo's tables, in creation order.
const DEMO_TABLES: &[&str] = &["regions", "customers", "categories", "products", "orders", "order_items", "payments"];

/// A name no other test (or test process) uses at the same time.
fn unique_tag() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos % 100_000)
}

/// `%`-encodes what may not stand in a URL's user or password as is.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs `body`, then `cleanup` whether or not the body panicked, then re-raises the body's panic.
async fn with_cleanup<F, C>(body: F, cleanup: C)
where
    F: std::future::Future<Output = ()> + Send + 'static,
    C: std::future::Future<Output = ()>,
{
    let outcome = tokio::spawn(body).await;
    cleanup.await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test body did not finish: {e}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Servers: a fresh database, its read-only login, checksums through the admin login

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Engine {
    Postgres,
    Mysql,
}

/// One fresh database on one server, with a read-only login of its own.
#[derive(Clone)]
struct ServerDb {
    engine: Engine,
    admin_url: String,
    host: String,
    port: u16,
    admin_user: String,
    admin_password: Option<String>,
    database: String,
    reader: String,
    reader_password: String,
}

fn pg_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|db| db.message().to_string()).unwrap_or_else(|| e.to_string())
}

async fn pg_admin(admin_url: &str, dbname: Option<&str>) -> tokio_postgres::Client {
    let mut config: tokio_postgres::Config = admin_url.parse().unwrap_or_else(|e| panic!("{PG_VAR}: {e}"));
    if let Some(db) = dbname {
        config.dbname(db);
    }
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the PostgreSQL server of {PG_VAR}: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

async fn my_admin(admin_url: &str, db: Option<&str>) -> mysql_async::Conn {
    let opts = mysql_async::Opts::from_url(admin_url).unwrap_or_else(|e| panic!("{MY_VAR}: {e}"));
    let opts = mysql_async::OptsBuilder::from_opts(opts).prefer_socket(false).db_name(db);
    mysql_async::Conn::new(opts).await.unwrap_or_else(|e| panic!("cannot reach the MySQL server of {MY_VAR}: {e}"))
}

impl ServerDb {
    /// Creates an empty database and an (as yet powerless) login on the server of `admin_url`.
    async fn create(engine: Engine, admin_url: &str) -> ServerDb {
        let tag = unique_tag();
        let (host, port, admin_user, admin_password) = match engine {
            Engine::Postgres => {
                let config: tokio_postgres::Config = admin_url.parse().unwrap_or_else(|e| panic!("{PG_VAR}: {e}"));
                let host = match config.get_hosts().first() {
                    Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
                    _ => "127.0.0.1".to_string(),
                };
                let password = config.get_password().map(|p| String::from_utf8_lossy(p).into_owned());
                (
                    host,
                    config.get_ports().first().copied().unwrap_or(5432),
                    config.get_user().unwrap_or("postgres").to_string(),
                    password,
                )
            }
            Engine::Mysql => {
                let opts = mysql_async::Opts::from_url(admin_url).unwrap_or_else(|e| panic!("{MY_VAR}: {e}"));
                (
                    opts.ip_or_hostname().to_string(),
                    opts.tcp_port(),
                    opts.user().unwrap_or("root").to_string(),
                    opts.pass().map(str::to_string),
                )
            }
        };
        let db = ServerDb {
            engine,
            admin_url: admin_url.to_string(),
            host,
            port,
            admin_user,
            admin_password,
            database: format!("dg_demo_{tag}"),
            reader: format!("dg_demo_ro_{tag}"),
            reader_password: format!("pw-{tag}-Secret"),
        };
        let (d, r, p) = (&db.database, &db.reader, &db.reader_password);
        match engine {
            Engine::Postgres => {
                let admin = pg_admin(admin_url, None).await;
                // One statement per call: CREATE DATABASE cannot run inside a batch's implicit transaction.
                for stmt in [format!("CREATE DATABASE {d}"), format!("CREATE ROLE {r} LOGIN PASSWORD '{p}'")] {
                    admin.batch_execute(&stmt).await.unwrap_or_else(|e| panic!("{stmt}: {}", pg_message(&e)));
                }
            }
            Engine::Mysql => {
                let mut admin = my_admin(admin_url, None).await;
                for stmt in [
                    format!("CREATE DATABASE `{d}` CHARACTER SET utf8mb4"),
                    format!("CREATE USER '{r}'@'%' IDENTIFIED BY '{p}'"),
                ] {
                    admin.query_drop(&stmt).await.unwrap_or_else(|e| panic!("{stmt}: {e}"));
                }
                let _ = admin.disconnect().await;
            }
        }
        db
    }

    fn url(&self, user: &str, password: Option<&str>) -> String {
        let login = match password {
            Some(p) => format!("{}:{}", enc(user), enc(p)),
            None => enc(user),
        };
        match self.engine {
            Engine::Postgres => {
                format!("postgres://{login}@{}:{}/{}?sslmode=disable", self.host, self.port, self.database)
            }
            Engine::Mysql => format!("mysql://{login}@{}:{}/{}?ssl-mode=DISABLED", self.host, self.port, self.database),
        }
    }

    /// The admin login on this database: what `demo --load` writes with.
    fn load_url(&self) -> String {
        self.url(&self.admin_user, self.admin_password.as_deref())
    }

    /// The read-only login on this database: what `ask` reads with.
    fn reader_url(&self) -> String {
        self.url(&self.reader, Some(&self.reader_password))
    }

    /// Statements as the admin, in this database.
    async fn admin_exec(&self, statements: &[String]) {
        match self.engine {
            Engine::Postgres => {
                let admin = pg_admin(&self.admin_url, Some(&self.database)).await;
                for s in statements {
                    admin.batch_execute(s).await.unwrap_or_else(|e| panic!("{s}: {}", pg_message(&e)));
                }
            }
            Engine::Mysql => {
                let mut admin = my_admin(&self.admin_url, Some(&self.database)).await;
                for s in statements {
                    admin.query_drop(s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
                }
                let _ = admin.disconnect().await;
            }
        }
    }

    /// Lets the read-only login read every table of the database, and nothing else.
    async fn grant_reader(&self) {
        let (d, r) = (&self.database, &self.reader);
        let grants = match self.engine {
            Engine::Postgres => vec![
                format!("GRANT CONNECT ON DATABASE {d} TO {r}"),
                format!("GRANT USAGE ON SCHEMA public TO {r}"),
                format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {r}"),
            ],
            Engine::Mysql => vec![format!("GRANT SELECT, SHOW VIEW ON `{d}`.* TO '{r}'@'%'")],
        };
        self.admin_exec(&grants).await;
    }

    /// Per table of the database: row count and a hash over every row; then the database's other objects (tables
    /// and views, functions and procedures, triggers) and the server's logins. Read through the admin login.
    async fn checksum(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match self.engine {
            Engine::Postgres => {
                let admin = pg_admin(&self.admin_url, Some(&self.database)).await;
                let tables = admin
                    .query(
                        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
                        &[],
                    )
                    .await
                    .unwrap_or_else(|e| panic!("tables: {}", pg_message(&e)));
                for row in tables {
                    let t: String = row.get(0);
                    let sql = format!(
                        "SELECT count(*)::text || ' ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') \
                         FROM public.\"{t}\" x"
                    );
                    let r = admin.query_one(&sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {}", pg_message(&e)));
                    out.insert(format!("rows {t}"), r.get::<_, String>(0));
                }
                for (key, sql) in [
                    (
                        "objects",
                        "SELECT coalesce(string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' ORDER BY 1), '') \
                         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'",
                    ),
                    (
                        "functions",
                        "SELECT coalesce(string_agg(n.nspname || '.' || p.proname, ',' ORDER BY 1), '') FROM pg_proc p \
                         JOIN pg_namespace n ON n.oid = p.pronamespace \
                         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')",
                    ),
                    // Other tests create and drop their own `dg_…` logins meanwhile.
                    (
                        "roles",
                        "SELECT string_agg(rolname || ':' || rolsuper::text, ',' ORDER BY 1) FROM pg_roles \
                         WHERE rolname NOT LIKE 'dg\\_%'",
                    ),
                    ("schemas", "SELECT string_agg(nspname, ',' ORDER BY 1) FROM pg_namespace"),
                ] {
                    let r = admin.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{key}: {}", pg_message(&e)));
                    out.insert(key.to_string(), r.get::<_, Option<String>>(0).unwrap_or_default());
                }
            }
            Engine::Mysql => {
                let mut admin = my_admin(&self.admin_url, Some(&self.database)).await;
                let tables: Vec<String> = admin
                    .query(
                        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
                         AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
                    )
                    .await
                    .unwrap_or_else(|e| panic!("tables: {e}"));
                for t in tables {
                    let count: Option<u64> = admin
                        .query_first(format!("SELECT COUNT(*) FROM `{t}`"))
                        .await
                        .unwrap_or_else(|e| panic!("count {t}: {e}"));
                    // CHECKSUM TABLE hashes every row's content (the server reads the whole table).
                    let sum: Option<(String, Option<u64>)> = admin
                        .query_first(format!("CHECKSUM TABLE `{t}` EXTENDED"))
                        .await
                        .unwrap_or_else(|e| panic!("checksum {t}: {e}"));
                    out.insert(format!("rows {t}"), format!("{count:?} {:?}", sum.and_then(|s| s.1)));
                }
                for (key, sql) in [
                    (
                        "objects",
                        "SELECT COALESCE(GROUP_CONCAT(CONCAT(TABLE_SCHEMA, '.', TABLE_NAME, ':', TABLE_TYPE) \
                         ORDER BY TABLE_SCHEMA, TABLE_NAME SEPARATOR ','), '') FROM information_schema.TABLES \
                         WHERE TABLE_SCHEMA = DATABASE()",
                    ),
                    (
                        "routines",
                        "SELECT COALESCE(GROUP_CONCAT(CONCAT(ROUTINE_SCHEMA, '.', ROUTINE_NAME) ORDER BY 1 SEPARATOR ','), '') \
                         FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()",
                    ),
                    (
                        "triggers",
                        "SELECT COALESCE(GROUP_CONCAT(TRIGGER_NAME ORDER BY 1 SEPARATOR ','), '') FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
                    ),
                    (
                        "logins",
                        "SELECT COALESCE(GROUP_CONCAT(CONCAT(User, '@', Host) ORDER BY 1 SEPARATOR ','), '') FROM mysql.user \
                         WHERE User NOT LIKE 'dg\\_%'",
                    ),
                ] {
                    let v: Option<String> = admin.query_first(sql).await.unwrap_or_else(|e| panic!("{key}: {e}"));
                    out.insert(key.to_string(), v.unwrap_or_default());
                }
                let _ = admin.disconnect().await;
            }
        }
        out
    }

    /// Drops the database and the login; best effort, never panics.
    async fn cleanup(&self) {
        let (d, r) = (&self.database, &self.reader);
        match self.engine {
            Engine::Postgres => {
                let Ok(config) = self.admin_url.parse::<tokio_postgres::Config>() else { return };
                let Ok((admin, connection)) = config.connect(tokio_postgres::NoTls).await else { return };
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                for s in [format!("DROP DATABASE IF EXISTS {d} WITH (FORCE)"), format!("DROP ROLE IF EXISTS {r}")] {
                    if let Err(e) = admin.batch_execute(&s).await {
                        eprintln!("cleanup: {s}: {}", pg_message(&e));
                    }
                }
            }
            Engine::Mysql => {
                let Ok(opts) = mysql_async::Opts::from_url(&self.admin_url) else { return };
                let opts = mysql_async::OptsBuilder::from_opts(opts).prefer_socket(false);
                let Ok(mut admin) = mysql_async::Conn::new(opts).await else { return };
                for s in [format!("DROP DATABASE IF EXISTS `{d}`"), format!("DROP USER IF EXISTS '{r}'@'%'")] {
                    if let Err(e) = admin.query_drop(&s).await {
                        eprintln!("cleanup: {s}: {e}");
                    }
                }
                let _ = admin.disconnect().await;
            }
        }
    }
}

/// `datagenie demo --load` into `db` as the admin; asserts it loaded every demo table and returns its report.
async fn load_demo(env: &Env, db: &ServerDb, extra: &[&str]) -> Output {
    let url = db.load_url();
    let mut args = vec!["demo", "--load", url.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    env.run_within(&args, Duration::from_secs(240)).await
}

fn assert_loaded(out: &Output, db: &ServerDb) -> Value {
    assert_eq!(out.code, 0, "demo --load failed:\n{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    let names: Vec<&str> =
        report["tables"].as_array().map(|a| a.iter().filter_map(|t| t["name"].as_str()).collect()).unwrap_or_default();
    assert_eq!(names, DEMO_TABLES, "{report}");
    let rows: u64 = report["tables"].as_array().map(|a| a.iter().filter_map(|t| t["rows"].as_u64()).sum()).unwrap_or(0);
    assert!(rows > 150_000, "only {rows} rows loaded: {report}");
    let target = report["target"].as_str().unwrap_or_default();
    assert!(target.contains(&db.database), "{target}");
    if let Some(p) = &db.admin_password {
        assert!(!out.stdout.contains(p.as_str()) && !out.stderr.contains(p.as_str()), "the password was printed");
    }
    report
}

// ---------------------------------------------------------------------------------------------------------------
// Comparing answers

/// A cell as compared across engines (see the module documentation).
#[derive(Debug, Clone)]
enum Cell {
    Null,
    Number(f64, bool),
    Other(Value),
}

fn is_decimal_text(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let mut parts = digits.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit()))
}

fn cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Number(n) => Cell::Number(n.as_f64().unwrap_or(f64::NAN), n.is_i64() || n.is_u64()),
        Value::String(s) if is_decimal_text(s) => {
            let f: f64 = s.parse().unwrap_or(f64::NAN);
            Cell::Number(f, f.fract() == 0.0)
        }
        other => Cell::Other(other.clone()),
    }
}

fn same(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Null, Cell::Null) => true,
        (Cell::Number(x, xi), Cell::Number(y, yi)) if *xi && *yi => x == y,
        (Cell::Number(x, _), Cell::Number(y, _)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        (Cell::Other(x), Cell::Other(y)) => x == y,
        _ => false,
    }
}

fn assert_same_rows(question: &str, engine: &str, expected: &Value, got: &Value) {
    let (e, g) = (expected["rows"].as_array(), got["rows"].as_array());
    let (Some(e), Some(g)) = (e, g) else { panic!("{question}: no rows\n{expected}\n{got}") };
    assert!(!e.is_empty(), "{question}: SQLite returned no rows; the question tests nothing");
    assert_eq!(e.len(), g.len(), "{question}: {engine} returned {} rows, SQLite {}:\n{got}", g.len(), e.len());
    for (i, (er, gr)) in e.iter().zip(g).enumerate() {
        let (er, gr) = (er.as_array().cloned().unwrap_or_default(), gr.as_array().cloned().unwrap_or_default());
        assert_eq!(er.len(), gr.len(), "{question}: row {i} width");
        for (j, (ev, gv)) in er.iter().zip(&gr).enumerate() {
            assert!(same(&cell(ev), &cell(gv)), "{question}: {engine} row {i} column {j}: {gv} but SQLite {ev}");
        }
    }
}

struct DemoQuestion {
    question: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    mysql: &'static str,
}

/// Questions of the demo with the SQL an LLM would write for each engine: dates through each dialect's own functions.
const QUESTIONS: &[DemoQuestion] = &[
    DemoQuestion {
        question: "2024년 월별 매출 추이를 보여줘",
        sqlite: "SELECT strftime('%Y-%m', order_date) AS month, SUM(total_amount) AS revenue FROM orders \
                 WHERE status IN ('delivered', 'shipped') AND strftime('%Y', order_date) = '2024' \
                 GROUP BY month ORDER BY month",
        postgres: "SELECT to_char(order_date, 'YYYY-MM') AS month, SUM(total_amount) AS revenue FROM orders \
                   WHERE status IN ('delivered', 'shipped') AND date_trunc('year', order_date) = DATE '2024-01-01' \
                   GROUP BY 1 ORDER BY 1",
        mysql: "SELECT DATE_FORMAT(order_date, '%Y-%m') AS month, SUM(total_amount) AS revenue FROM orders \
                WHERE status IN ('delivered', 'shipped') AND YEAR(order_date) = 2024 GROUP BY month ORDER BY month",
    },
    DemoQuestion {
        question: "Top 5 products by revenue in 2025",
        sqlite: "SELECT p.name_en AS product, SUM(oi.quantity * oi.unit_price - oi.discount) AS revenue \
                 FROM order_items oi JOIN orders o ON o.order_id = oi.order_id \
                 JOIN products p ON p.product_id = oi.product_id \
                 WHERE o.status IN ('delivered', 'shipped') AND o.order_date >= '2025-01-01' AND o.order_date < '2026-01-01' \
                 GROUP BY p.product_id, p.name_en ORDER BY revenue DESC, p.product_id LIMIT 5",
        postgres: "SELECT p.name_en AS product, SUM(oi.quantity * oi.unit_price - oi.discount) AS revenue \
                   FROM order_items oi JOIN orders o ON o.order_id = oi.order_id \
                   JOIN products p ON p.product_id = oi.product_id \
                   WHERE o.status IN ('delivered', 'shipped') AND EXTRACT(YEAR FROM o.order_date) = 2025 \
                   GROUP BY p.product_id, p.name_en ORDER BY revenue DESC, p.product_id LIMIT 5",
        mysql: "SELECT p.name_en AS product, SUM(oi.quantity * oi.unit_price - oi.discount) AS revenue \
                FROM order_items oi JOIN orders o ON o.order_id = oi.order_id \
                JOIN products p ON p.product_id = oi.product_id \
                WHERE o.status IN ('delivered', 'shipped') AND YEAR(o.order_date) = 2025 \
                GROUP BY p.product_id, p.name_en ORDER BY revenue DESC, p.product_id LIMIT 5",
    },
    DemoQuestion {
        question: "How many customers signed up each year?",
        sqlite: "SELECT CAST(strftime('%Y', signup_date) AS INTEGER) AS year, COUNT(*) AS customers FROM customers \
                 GROUP BY year ORDER BY year",
        postgres: "SELECT CAST(EXTRACT(YEAR FROM signup_date) AS integer) AS year, COUNT(*) AS customers \
                   FROM customers GROUP BY 1 ORDER BY 1",
        mysql: "SELECT YEAR(signup_date) AS year, COUNT(*) AS customers FROM customers GROUP BY year ORDER BY year",
    },
    DemoQuestion {
        question: "Average order value by channel (web, app, store) per year, and payments made in the evening",
        sqlite: "SELECT o.channel, strftime('%Y', o.order_date) AS year, AVG(o.total_amount) AS aov, \
                 SUM(CASE WHEN CAST(strftime('%H', p.paid_at) AS INTEGER) >= 18 THEN 1 ELSE 0 END) AS evening \
                 FROM orders o JOIN payments p ON p.order_id = o.order_id \
                 GROUP BY o.channel, year ORDER BY o.channel, year",
        postgres: "SELECT o.channel, to_char(o.order_date, 'YYYY') AS year, AVG(o.total_amount) AS aov, \
                   SUM(CASE WHEN EXTRACT(HOUR FROM p.paid_at) >= 18 THEN 1 ELSE 0 END) AS evening \
                   FROM orders o JOIN payments p ON p.order_id = o.order_id \
                   GROUP BY o.channel, to_char(o.order_date, 'YYYY') ORDER BY o.channel, year",
        mysql: "SELECT o.channel, DATE_FORMAT(o.order_date, '%Y') AS year, AVG(o.total_amount) AS aov, \
                SUM(CASE WHEN HOUR(p.paid_at) >= 18 THEN 1 ELSE 0 END) AS evening \
                FROM orders o JOIN payments p ON p.order_id = o.order_id \
                GROUP BY o.channel, year ORDER BY o.channel, year",
    },
];

/// `ask` with the scripted LLM replying `reply_sql`; the answer must come from the LLM with exactly that SQL.
async fn ask_llm(env: &mut Env, db: Option<&str>, question: &str, reply_sql: &str) -> Value {
    let llm = ScriptedLlm::start(vec![sql(reply_sql)]).await;
    env.set("DATAGENIE_LLM__BASE_URL", &llm.base_url);
    let mut args = vec!["ask"];
    if let Some(db) = db {
        args.extend(["--db", db]);
    }
    args.extend(["--format", "json", "--no-summary", "--max-rows", "10000", question]);
    let out = env.run_within(&args, Duration::from_secs(120)).await;
    assert_eq!(out.code, 0, "{question} on {db:?}:\n{}\n{}", out.stdout, out.stderr);
    let answer = out.json();
    assert_eq!(answer["source"]["kind"], "llm", "{answer}");
    assert_eq!(answer["sql"].as_str().map(str::trim), Some(reply_sql.trim()), "{answer}");
    assert_eq!(answer["truncated"], false, "{answer}");
    answer
}

async fn the_demo_loads_into_each_server_and_answers_the_same_everywhere() {
    // Registered with `needs_any`: with one server only, SQLite is compared with that one.
    let servers: Vec<(Engine, String)> = [(Engine::Postgres, POSTGRES), (Engine::Mysql, MYSQL)]
        .into_iter()
        .filter_map(|(engine, server)| server.url().map(|url| (engine, url)))
        .collect();
    let mut dbs = Vec::new();
    for (engine, url) in &servers {
        dbs.push(ServerDb::create(*engine, url).await);
    }
    let body_dbs = dbs.clone();
    let body = async move {
        let dbs = body_dbs;
        let llm = ScriptedLlm::start(vec![]).await;
        let mut env = Env::with_openai(&llm.base_url);
        for db in &dbs {
            // Someone's own table of a demo table's name: refused, untouched, until --replace.
            let mine = match db.engine {
                Engine::Postgres => {
                    "CREATE TABLE orders (id integer PRIMARY KEY, note text); INSERT INTO orders VALUES (1, 'mine')"
                }
                Engine::Mysql => "CREATE TABLE orders (id INT PRIMARY KEY, note TEXT)",
            };
            for stmt in mine.split("; ") {
                db.admin_exec(&[stmt.to_string()]).await;
            }
            let refused = load_demo(&env, db, &[]).await;
            assert_eq!(refused.code, 2, "{:?}: {}\n{}", db.engine, refused.stdout, refused.stderr);
            assert_eq!(refused.error_code(), "invalid_argument", "{}", refused.stdout);
            assert!(refused.stdout.contains("orders") && refused.stdout.contains("--replace"), "{}", refused.stdout);
            let tables = db.checksum().await;
            assert_eq!(tables.keys().filter(|k| k.starts_with("rows ")).count(), 1, "only `orders`: {tables:?}");

            let report = assert_loaded(&load_demo(&env, db, &["--replace"]).await, db);
            assert_eq!(report["replaced"], serde_json::json!(["orders"]), "{report}");
            // Loading again replaces the demo's own tables without --replace.
            let again = assert_loaded(&load_demo(&env, db, &[]).await, db);
            assert_eq!(again["replaced"].as_array().map(Vec::len), Some(DEMO_TABLES.len()), "{again}");
            db.grant_reader().await;

            // The loaded copy holds exactly the demo's rows.
            let sums = db.checksum().await;
            let counted: Vec<&String> = sums.keys().filter(|k| k.starts_with("rows ")).collect();
            assert_eq!(counted.len(), DEMO_TABLES.len(), "{sums:?}");

            // `schema` through the read-only login shows the tables and their Korean-English comments.
            let out = env.run(&["schema", "--db", &db.reader_url(), "--format", "json"]).await;
            assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
            let schema = out.json();
            let tables = schema["tables"].as_array().cloned().unwrap_or_default();
            for name in DEMO_TABLES {
                let t =
                    tables.iter().find(|t| t["name"] == *name).unwrap_or_else(|| panic!("{name} missing: {schema}"));
                assert!(t["comment"].as_str().is_some_and(|c| c.contains(" / ")), "{name}: {}", t["comment"]);
            }
            let orders = tables.iter().find(|t| t["name"] == "orders").cloned().unwrap_or_default();
            assert!(orders["comment"].as_str().is_some_and(|c| c.starts_with("주문 / Orders")), "{orders}");
            let order_date =
                orders["columns"].as_array().and_then(|c| c.iter().find(|c| c["name"] == "order_date")).cloned();
            assert_eq!(order_date.map(|c| c["comment"].clone()), Some(Value::from("주문일 YYYY-MM-DD / order date")));
            assert_eq!(orders["primary_key"], serde_json::json!(["order_id"]), "{orders}");
            assert!(orders["foreign_keys"].as_array().is_some_and(|f| f.len() == 2), "{orders}");
            assert!(!out.stdout.contains(&db.reader_password), "the password was printed");
        }

        for q in QUESTIONS {
            let expected = ask_llm(&mut env, None, q.question, q.sqlite).await;
            for db in &dbs {
                let reply = match db.engine {
                    Engine::Postgres => q.postgres,
                    Engine::Mysql => q.mysql,
                };
                let got = ask_llm(&mut env, Some(&db.reader_url()), q.question, reply).await;
                assert_same_rows(q.question, &format!("{:?}", db.engine), &expected, &got);
            }
        }
    };
    let cleanup_dbs = dbs.clone();
    with_cleanup(body, async move {
        for db in &cleanup_dbs {
            db.cleanup().await;
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------------------------
// Attacks

async fn attacks_leave_the_server_unchanged(engine: Engine, admin: String) {
    let db = ServerDb::create(engine, &admin).await;
    let body_db = db.clone();
    let body = async move {
        let db = body_db;
        let llm = ScriptedLlm::start(vec![]).await;
        let mut env = Env::with_openai(&llm.base_url);
        env.set("DATAGENIE_ASK__MAX_ATTEMPTS", "1");
        assert_loaded(&load_demo(&env, &db, &[]).await, &db);
        // The attacks name tables such as `users`; give them one, with a secret to steal.
        let users = match engine {
            Engine::Postgres => "CREATE TABLE users (id integer PRIMARY KEY, name text, password text, is_admin int)",
            Engine::Mysql => "CREATE TABLE users (id INT PRIMARY KEY, name TEXT, password TEXT, is_admin INT)",
        };
        db.admin_exec(&[users.to_string(), "INSERT INTO users VALUES (1, 'admin', 'hunter2', 1)".to_string()]).await;
        db.grant_reader().await;
        let before = db.checksum().await;
        assert_eq!(before.keys().filter(|k| k.starts_with("rows ")).count(), DEMO_TABLES.len() + 1, "{before:?}");

        let dialect = match engine {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
        };
        let list = attacks(dialect);
        assert!(list.len() >= 40, "{dialect}: only {} attacks read", list.len());
        let url = db.reader_url();
        let mut codes: BTreeMap<String, usize> = BTreeMap::new();
        for attack in &list {
            let llm = ScriptedLlm::start(vec![reply(format!("```sql\n{}\n```", attack.sql))]).await;
            env.set("DATAGENIE_LLM__BASE_URL", &llm.base_url);
            let started = Instant::now();
            let out = env
                .run_within(
                    &["ask", "--db", &url, "--format", "json", "--no-summary", "--timeout", "2", "show me everything"],
                    Duration::from_secs(30),
                )
                .await;
            // Starting the binary, introspecting and the 2 s statement limit: far below this when all is well.
            assert!(started.elapsed() < Duration::from_secs(20), "{}: took {:?}", attack.origin, started.elapsed());
            assert!(
                out.code == 1 || out.code == 2,
                "{}: not refused (exit {}):\n{}\n{}",
                attack.origin,
                out.code,
                attack.sql,
                out.stdout
            );
            let code = out.error_code();
            assert!(!code.is_empty(), "{}: no error code:\n{}\n{}", attack.origin, out.stdout, out.stderr);
            assert!(!out.stdout.contains("hunter2"), "{}: leaked a password", attack.origin);
            *codes.entry(code).or_default() += 1;
        }
        let after = db.checksum().await;
        assert_eq!(after, before, "the {dialect} attacks changed the database (outcomes: {codes:?})");
    };
    with_cleanup(body, async move { db.cleanup().await }).await;
}

async fn attack_replies_leave_the_postgres_demo_unchanged() {
    attacks_leave_the_server_unchanged(Engine::Postgres, POSTGRES.admin_url()).await;
}

async fn attack_replies_leave_the_mariadb_demo_unchanged() {
    attacks_leave_the_server_unchanged(Engine::Mysql, MYSQL.admin_url()).await;
}

/// No server needed: targets the loader cannot use fail with stable codes, and the password is never printed.
async fn demo_load_refuses_unusable_targets_with_stable_codes() {
    let env = Env::new();
    for (url, code) in [
        ("shop.db", "invalid_database_url"),
        ("mysql://loader:pw-Hunter2x@127.0.0.1:1", "invalid_database_url"),
        ("postgres://loader:pw-Hunter2x@127.0.0.1:1/shop?connect_timeout=2&sslmode=disable", "database_unavailable"),
        ("mysql://loader:pw-Hunter2x@127.0.0.1:1/shop?ssl-mode=DISABLED", "database_unavailable"),
    ] {
        let out = env.run_within(&["demo", "--load", url, "--format", "json"], Duration::from_secs(60)).await;
        assert_eq!((out.code, out.error_code().as_str()), (2, code), "{url}: {}\n{}", out.stdout, out.stderr);
        assert!(!out.stdout.contains("pw-Hunter2x") && !out.stderr.contains("pw-Hunter2x"), "{url}: password printed");
    }
    // --replace belongs to --load, and --load takes no question.
    let out = env.run(&["demo", "--replace"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = env.run(&["demo", "--load", "postgres://u@127.0.0.1:1/x", "How many orders?"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
}

pub fn tests() -> Group {
    Group::new("servers")
        .tests(tests![demo_load_refuses_unusable_targets_with_stable_codes])
        .needs(POSTGRES, tests![attack_replies_leave_the_postgres_demo_unchanged])
        .needs(MYSQL, tests![attack_replies_leave_the_mariadb_demo_unchanged])
        .needs_any(&[POSTGRES, MYSQL], tests![the_demo_loads_into_each_server_and_answers_the_same_everywhere])
}
