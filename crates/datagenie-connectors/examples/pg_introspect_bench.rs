//! Times the PostgreSQL connector on a generated many-table schema in a temporary database (no test; run by hand):
//!
//! `DATAGENIE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!  cargo run --release -p datagenie-connectors --example pg_introspect_bench -- [tables] [rows_per_table]`
//!
//! The URL is an admin login: the example creates `dg_bench_<pid>`, fills it like the SQLite bench (8 columns, 3 of
//! them text, a foreign key to the previous table, comments, every tenth relation a view, `rows_per_table` rows),
//! runs ANALYZE, and drops it at the end. It prints the time to introspect (with and without samples), the schema
//! fingerprint (which the schema cache checks on every question), and the connector's overhead per question: a
//! trivial query through the connector (pool check-out, read-only transaction, statement timeout, Parse/Bind/
//! Execute, rollback) against the same query's bare round trip on a plain connection.

use std::time::{Duration, Instant};

use datagenie_connectors::postgres::{PostgresConnector, parse_postgres_url};
use datagenie_core::connector::{Connector, IntrospectOptions, Limits};
use datagenie_core::guard::{self, Policy};
use datagenie_core::{Dialect, ErrorCode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tables: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let rows: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20);
    let Ok(admin_url) = std::env::var("DATAGENIE_TEST_POSTGRES_URL") else {
        eprintln!(
            "set DATAGENIE_TEST_POSTGRES_URL to an admin login, e.g. postgres://postgres@127.0.0.1:5432/postgres"
        );
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let database = format!("dg_bench_{}", std::process::id());
    let outcome = runtime.block_on(bench(&admin_url, &database, tables, rows));
    runtime.block_on(async {
        if let Ok(server) = admin(&admin_url, None).await {
            let _ = server.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await;
        }
    });
    outcome
}

async fn admin(url: &str, dbname: Option<&str>) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut config: tokio_postgres::Config = url.parse()?;
    if let Some(db) = dbname {
        config.dbname(db);
    }
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

async fn bench(admin_url: &str, database: &str, tables: usize, rows: usize) -> Result<(), Box<dyn std::error::Error>> {
    let server = admin(admin_url, None).await?;
    server.batch_execute(&format!("CREATE DATABASE {database}")).await?;
    let db = admin(admin_url, Some(database)).await?;
    let started = Instant::now();
    build(&db, tables, rows).await?;
    println!("database: {tables} relations, {rows} rows per table, built in {:.1} s", started.elapsed().as_secs_f64());

    let mut url = parse_postgres_url(admin_url)?;
    url.dbname = database.to_string();
    let started = Instant::now();
    let connector = PostgresConnector::connect(url).await?;
    println!("connect:      {:>8.1} ms  ({})", ms(started.elapsed()), connector.server_version().await?);

    let mut fingerprints = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        connector.schema_fingerprint().await?;
        fingerprints.push(started.elapsed());
    }
    println!("fingerprint:  {:>8.1} ms  (median of 20)", ms(median(&mut fingerprints)));
    for round in 1..=3 {
        let started = Instant::now();
        let schema = connector.introspect(&IntrospectOptions::default()).await?;
        let elapsed = started.elapsed();
        let columns: usize = schema.tables.iter().map(|t| t.columns.len()).sum();
        let samples: usize = schema.tables.iter().flat_map(|t| &t.columns).map(|c| c.samples.len()).sum();
        let fks: usize = schema.tables.iter().map(|t| t.foreign_keys.len()).sum();
        let counted = schema.tables.iter().filter(|t| t.row_count.is_some()).count();
        println!(
            "introspect #{round}: {:>8.1} ms  ({} relations, {columns} columns, {fks} foreign keys, {samples} samples, \
             {counted} with row estimates)",
            ms(elapsed),
            schema.tables.len()
        );
    }
    let no_samples = IntrospectOptions { samples_per_column: 0, ..IntrospectOptions::default() };
    let started = Instant::now();
    connector.introspect(&no_samples).await?;
    println!("introspect without samples: {:>8.1} ms", ms(started.elapsed()));

    // Overhead per question beyond executing the query itself.
    let one = guard::check("SELECT 1", Dialect::Postgres, &Policy::default())?;
    let limits = Limits::default();
    let mut through = Vec::new();
    for _ in 0..300 {
        let started = Instant::now();
        connector.execute(&one, &limits).await?;
        through.push(started.elapsed());
    }
    let bare_client = admin(admin_url, Some(database)).await?;
    let bare_statement = bare_client.prepare("SELECT 1").await?;
    let mut bare = Vec::new();
    for _ in 0..300 {
        let started = Instant::now();
        bare_client.query(&bare_statement, &[]).await?;
        bare.push(started.elapsed());
    }
    let (through, bare) = (median(&mut through), median(&mut bare));
    println!(
        "SELECT 1 through the connector: {:.3} ms, bare prepared round trip: {:.3} ms, overhead per question: {:.3} ms \
         (plus the fingerprint above when the schema cache is checked)",
        ms(through),
        ms(bare),
        ms(through.saturating_sub(bare))
    );
    let endless =
        guard::check("SELECT count(*) FROM generate_series(1, 1000000000000)", Dialect::Postgres, &Policy::default())?;
    let started = Instant::now();
    let outcome = connector.execute(&endless, &Limits { max_rows: 10, timeout: Duration::from_millis(200) }).await;
    println!(
        "endless query, 200 ms limit: stopped after {:.1} ms ({})",
        ms(started.elapsed()),
        match outcome {
            Err(e) if e.code == ErrorCode::QueryTimeout => "query_timeout".to_string(),
            Err(e) => e.code.to_string(),
            Ok(_) => "not stopped!".to_string(),
        }
    );
    Ok(())
}

/// Every tenth relation is a view of the table before it; tables chain by foreign key; some carry comments.
async fn build(db: &tokio_postgres::Client, tables: usize, rows: usize) -> Result<(), tokio_postgres::Error> {
    let mut ddl = String::from("BEGIN;");
    for i in 0..tables {
        if i % 10 == 9 {
            ddl.push_str(&format!("CREATE VIEW v{i:04} AS SELECT id, name FROM t{:04};", i - 1));
            continue;
        }
        let parent =
            if i == 0 { String::new() } else { format!(" REFERENCES t{:04}(id)", i - 1 - usize::from(i % 10 == 0)) };
        ddl.push_str(&format!(
            "CREATE TABLE t{i:04} (id integer PRIMARY KEY, name varchar(40) NOT NULL, city text, note text, \
             amount numeric(12,2), qty integer, created timestamptz, parent_id integer{parent});
             CREATE INDEX t{i:04}_parent ON t{i:04}(parent_id);
             COMMENT ON TABLE t{i:04} IS '테이블 {i} / table {i}';
             COMMENT ON COLUMN t{i:04}.city IS '도시 / city';
             INSERT INTO t{i:04} SELECT g, '이름 ' || g, (ARRAY['서울', '부산', '대구', '인천'])[g % 4 + 1],
                 'note ' || (g % 7) || ' for table {i}', g * 1.5, g % 13, '2024-01-01 10:00:00+09', g / 2
             FROM generate_series(0, {}) g;",
            rows.saturating_sub(1)
        ));
        if i % 100 == 99 {
            ddl.push_str("COMMIT; BEGIN;");
        }
    }
    ddl.push_str("COMMIT; ANALYZE;");
    db.batch_execute(&ddl).await
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
