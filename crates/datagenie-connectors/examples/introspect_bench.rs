//! Times introspection of a generated many-table database (no test; run by hand):
//!
//! `cargo run --release -p datagenie-connectors --example introspect_bench -- [tables] [rows_per_table]`
//!
//! Each table has 8 columns (3 text), a foreign key to the previous table, an index and `rows_per_table` rows;
//! every tenth object is a view. Prints the time for open, fingerprint and introspection with default options, and how long an endless
//! query takes to stop under a 200 ms limit.

use std::time::{Duration, Instant};

use datagenie_connectors::SqliteConnector;
use datagenie_core::connector::{Connector, IntrospectOptions, Limits};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tables: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2000);
    let rows: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(50);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    build(&path, tables, rows)?;
    let size = std::fs::metadata(&path)?.len();
    println!("database: {tables} tables, {rows} rows each, {:.1} MB", size as f64 / 1e6);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let started = Instant::now();
    let connector = SqliteConnector::open(&path)?;
    println!("open:         {:>8.1} ms", ms(started.elapsed()));
    let started = Instant::now();
    runtime.block_on(connector.schema_fingerprint())?;
    println!("fingerprint:  {:>8.1} ms", ms(started.elapsed()));
    for round in 1..=3 {
        let started = Instant::now();
        let schema = runtime.block_on(connector.introspect(&IntrospectOptions::default()))?;
        let elapsed = started.elapsed();
        let columns: usize = schema.tables.iter().map(|t| t.columns.len()).sum();
        let samples: usize = schema.tables.iter().flat_map(|t| &t.columns).map(|c| c.samples.len()).sum();
        let counted = schema.tables.iter().filter(|t| t.row_count.is_some()).count();
        println!(
            "introspect #{round}: {:>8.1} ms  ({} relations, {columns} columns, {samples} samples, {counted} counted)",
            ms(elapsed),
            schema.tables.len()
        );
    }
    let started = Instant::now();
    let no_samples = IntrospectOptions { samples_per_column: 0, ..IntrospectOptions::default() };
    runtime.block_on(connector.introspect(&no_samples))?;
    println!("introspect without samples: {:>8.1} ms", ms(started.elapsed()));
    let endless = datagenie_core::guard::check(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c",
        datagenie_core::Dialect::Sqlite,
        &datagenie_core::guard::Policy::default(),
    )?;
    let limits = Limits { max_rows: 10, timeout: Duration::from_millis(200) };
    let started = Instant::now();
    let outcome = runtime.block_on(connector.execute(&endless, &limits));
    println!(
        "endless query, 200 ms limit: stopped after {:.1} ms ({})",
        ms(started.elapsed()),
        outcome.err().map(|e| e.code.to_string()).unwrap_or_else(|| "not stopped!".into())
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn build(path: &std::path::Path, tables: usize, rows: usize) -> rusqlite::Result<()> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
    let tx = conn.transaction()?;
    for i in 0..tables {
        if i % 10 == 9 {
            tx.execute_batch(&format!("CREATE VIEW v{i:04} AS SELECT id, name FROM t{:04};", i - 1))?;
            continue;
        }
        let parent =
            if i == 0 { String::new() } else { format!(" REFERENCES t{:04}(id)", i - 1 - usize::from(i % 10 == 0)) };
        tx.execute_batch(&format!(
            "CREATE TABLE t{i:04} (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, city TEXT, note TEXT, \
             amount REAL, qty INTEGER, created DATETIME, parent_id INTEGER{parent});
             CREATE INDEX t{i:04}_parent ON t{i:04}(parent_id);"
        ))?;
        let mut insert = tx.prepare(&format!("INSERT INTO t{i:04} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"))?;
        for r in 0..rows {
            insert.execute(rusqlite::params![
                r as i64,
                format!("이름 {r}"),
                ["서울", "부산", "대구", "인천"][r % 4],
                format!("note {} for table {i}", r % 7),
                r as f64 * 1.5,
                (r % 13) as i64,
                "2024-01-01 10:00:00",
                (r / 2) as i64
            ])?;
        }
    }
    tx.commit()
}
