//! Times the MySQL/MariaDB connector on a generated many-table schema (no test; run by hand):
//!
//! `DATAGENIE_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/mysql \
//!  cargo run --release -p datagenie-connectors --example mysql_introspect_bench -- [tables] [rows_per_table]`
//!
//! Builds a temporary database (dropped at the end) of `tables` objects, 8 columns each (3 text, comments, a
//! foreign key to the previous table, `rows_per_table` rows), every tenth a view, and a read-only login for it.
//! Prints the time to connect, to fingerprint and to introspect it (with and without samples), the time per
//! question of a trivial query through the connector against the same query on a bare connection (the
//! connector's overhead: time limit, read-only transaction, rollback, pool), and how long an endless query takes to
//! stop under a 200 ms limit.

use std::time::{Duration, Instant};

use datagenie_connectors::mysql::{MysqlConnector, parse_mysql_url};
use datagenie_core::connector::{Connector, IntrospectOptions, Limits};
use datagenie_core::guard::{self, Policy};
use mysql_async::prelude::Queryable;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let Some(admin_url) = std::env::var("DATAGENIE_TEST_MYSQL_URL").ok().filter(|u| !u.trim().is_empty()) else {
        println!("set DATAGENIE_TEST_MYSQL_URL to an admin login, e.g. mysql://root@127.0.0.1:3306/mysql");
        return Ok(());
    };
    let mut args = std::env::args().skip(1);
    let tables: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let rows: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let tag = std::process::id();
        let (db, user, password) = (format!("dg_bench_{tag}"), format!("dg_bench_ro_{tag}"), format!("pw-{tag}"));
        let outcome = bench(&admin_url, &db, &user, &password, tables, rows).await;
        let mut admin = admin(&admin_url).await?;
        admin.query_drop(format!("DROP DATABASE IF EXISTS `{db}`")).await?;
        admin.query_drop(format!("DROP USER IF EXISTS '{user}'@'%'")).await?;
        admin.disconnect().await?;
        outcome
    })
}

async fn admin(url: &str) -> Res<mysql_async::Conn> {
    let opts = mysql_async::OptsBuilder::from_opts(mysql_async::Opts::from_url(url)?).prefer_socket(false);
    Ok(mysql_async::Conn::new(opts).await?)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn bench(admin_url: &str, db: &str, user: &str, password: &str, tables: usize, rows: usize) -> Res<()> {
    let started = Instant::now();
    build(admin_url, db, user, password, tables, rows).await?;
    println!("built {tables} objects with {rows} rows each in {:.1} s", started.elapsed().as_secs_f64());
    let target = parse_mysql_url(admin_url)?;
    let url = format!("mysql://{user}:{password}@{}:{}/{db}", target.host(), target.port());

    let started = Instant::now();
    let c = MysqlConnector::connect(&parse_mysql_url(&url)?).await?;
    println!("server: {}", c.server_version());
    println!("connect:      {:>8.1} ms", ms(started.elapsed()));
    for round in 1..=2 {
        let started = Instant::now();
        c.schema_fingerprint().await?;
        println!("fingerprint #{round}: {:>8.1} ms", ms(started.elapsed()));
    }
    for round in 1..=3 {
        let started = Instant::now();
        let schema = c.introspect(&IntrospectOptions::default()).await?;
        let elapsed = started.elapsed();
        let columns: usize = schema.tables.iter().map(|t| t.columns.len()).sum();
        let samples: usize = schema.tables.iter().flat_map(|t| &t.columns).map(|c| c.samples.len()).sum();
        let fks: usize = schema.tables.iter().map(|t| t.foreign_keys.len()).sum();
        println!(
            "introspect #{round}: {:>8.1} ms  ({} relations, {columns} columns, {fks} foreign keys, {samples} samples)",
            ms(elapsed),
            schema.tables.len()
        );
    }
    let started = Instant::now();
    let no_samples = IntrospectOptions { samples_per_column: 0, ..IntrospectOptions::default() };
    c.introspect(&no_samples).await?;
    println!("introspect without samples: {:>8.1} ms", ms(started.elapsed()));

    // Overhead per question: the same trivial query through the connector and on a bare prepared-statement
    // connection; the difference is what the connector adds beyond executing the query.
    let n = 300;
    let sql = "SELECT id, name FROM t0000 WHERE id = 1";
    let guarded = guard::check(sql, datagenie_core::Dialect::Mysql, &Policy::default())?;
    let limits = Limits::default();
    for _ in 0..20 {
        c.execute(&guarded, &limits).await?;
    }
    let mut through = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        c.execute(&guarded, &limits).await?;
        through.push(started.elapsed());
    }
    let opts = mysql_async::OptsBuilder::from_opts(mysql_async::Opts::from_url(&url)?).prefer_socket(false);
    let mut bare = mysql_async::Conn::new(opts).await?;
    let mut direct = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let _: Vec<mysql_async::Row> = bare.exec(sql, ()).await?;
        direct.push(started.elapsed());
    }
    bare.disconnect().await?;
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (t, d) = (median(&mut through), median(&mut direct));
    println!(
        "per question (median of {n}): connector {:.3} ms, bare prepared statement {:.3} ms, overhead {:.3} ms",
        ms(t),
        ms(d),
        ms(t.saturating_sub(d))
    );

    // A cut-off result: 10^4-row tables cross-joined, capped at 10 rows.
    let big =
        guard::check("SELECT a.id FROM t0000 a, t0001 b, t0002 c", datagenie_core::Dialect::Mysql, &Policy::default())?;
    let started = Instant::now();
    let rs = c.execute(&big, &Limits { max_rows: 10, timeout: Duration::from_secs(30) }).await?;
    println!(
        "row cap 10 on {} rows: {:.1} ms (truncated: {})",
        rows * rows * rows,
        ms(started.elapsed()),
        rs.truncated
    );

    let endless = guard::check(
        "SELECT count(*) FROM t0000 a, t0001 b, t0002 c, t0003 d, t0004 e, t0005 f",
        datagenie_core::Dialect::Mysql,
        &Policy::default(),
    )?;
    let started = Instant::now();
    let outcome = c.execute(&endless, &Limits { max_rows: 10, timeout: Duration::from_millis(200) }).await;
    println!(
        "endless query, 200 ms limit: stopped after {:.1} ms ({})",
        ms(started.elapsed()),
        outcome.err().map(|e| e.code.to_string()).unwrap_or_else(|| "not stopped!".into())
    );
    Ok(())
}

async fn build(admin_url: &str, db: &str, user: &str, password: &str, tables: usize, rows: usize) -> Res<()> {
    let mut conn = admin(admin_url).await?;
    for sql in [
        format!("DROP DATABASE IF EXISTS `{db}`"),
        format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4"),
        format!("DROP USER IF EXISTS '{user}'@'%'"),
        format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
        format!("GRANT SELECT, SHOW VIEW ON `{db}`.* TO '{user}'@'%'"),
        format!("USE `{db}`"),
    ] {
        conn.query_drop(sql).await?;
    }
    let cities = ["서울", "부산", "대구", "인천"];
    let mut last_table = None;
    for i in 0..tables {
        if i % 10 == 9 {
            if let Some(t) = last_table {
                conn.query_drop(format!("CREATE VIEW v{i:04} AS SELECT id, name FROM t{t:04}")).await?;
            }
            continue;
        }
        let fk = match last_table {
            Some(p) => format!(", FOREIGN KEY (parent_id) REFERENCES t{p:04} (id)"),
            None => String::new(),
        };
        conn.query_drop(format!(
            "CREATE TABLE t{i:04} (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL COMMENT '이름', city VARCHAR(20), \
             note TEXT, amount DECIMAL(10,2), qty INT, created DATETIME, parent_id INT{fk}) COMMENT = 'table {i}'"
        ))
        .await?;
        if rows > 0 {
            let values: Vec<String> = (0..rows)
                .map(|r| {
                    format!(
                        "({r}, '이름 {r}', '{}', 'note {} for table {i}', {}.50, {}, '2024-01-01 10:00:00', {})",
                        cities[r % 4],
                        r % 7,
                        r,
                        r % 13,
                        if last_table.is_some() { (r / 2).to_string() } else { "NULL".to_string() }
                    )
                })
                .collect();
            conn.query_drop(format!("INSERT INTO t{i:04} VALUES {}", values.join(", "))).await?;
        }
        last_table = Some(i);
    }
    conn.disconnect().await?;
    Ok(())
}
