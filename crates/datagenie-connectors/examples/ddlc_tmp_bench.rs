//! TEMPORARY (ddl_comments measurement; deleted after use).
use std::time::{Duration, Instant};

use datagenie_connectors::SqliteConnector;
use datagenie_core::connector::{Connector, IntrospectOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tables: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2000);
    let commented: bool = args.next().map(|a| a == "1").unwrap_or(false);
    let rounds: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(15);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    build(&path, tables, 50, commented)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let connector = SqliteConnector::open(&path)?;
    let no_samples = IntrospectOptions { samples_per_column: 0, ..IntrospectOptions::default() };
    for (label, opts) in [("default", IntrospectOptions::default()), ("no samples", no_samples)] {
        let mut times = Vec::new();
        let mut commented_cols = 0;
        for _ in 0..rounds {
            let started = Instant::now();
            let schema = runtime.block_on(connector.introspect(&opts))?;
            times.push(started.elapsed());
            commented_cols = schema.tables.iter().flat_map(|t| &t.columns).filter(|c| c.comment.is_some()).count()
                + schema.tables.iter().filter(|t| t.comment.is_some()).count();
        }
        times.sort();
        println!(
            "{label:>10}: min {:>7.1} ms  median {:>7.1} ms  ({commented_cols} comments)",
            ms(times[0]),
            ms(times[times.len() / 2])
        );
    }
    if std::env::var_os("DDLC_NODIRECT").is_none() {
        direct(&path, rounds)?;
    }
    Ok(())
}

#[allow(unused)]
fn direct(path: &std::path::Path, rounds: usize) -> Result<(), Box<dyn std::error::Error>> {
    let conn = rusqlite::Connection::open(path)?;
    let mut stmt =
        conn.prepare("SELECT name, sql FROM sqlite_schema WHERE type IN ('table','view') AND sql IS NOT NULL")?;
    let texts: Vec<String> = stmt.query_map([], |r| r.get(1))?.collect::<Result<_, _>>()?;
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        found = texts.iter().map(|t| datagenie_core::ddl_comments::ddl_comments(t)).filter(|c| !c.is_empty()).count();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "ddl_comments alone over {} texts ({bytes} bytes, {found} with comments): min {:.2} ms median {:.2} ms",
        texts.len(),
        ms(times[0]),
        ms(times[times.len() / 2])
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn build(path: &std::path::Path, tables: usize, rows: usize, commented: bool) -> rusqlite::Result<()> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
    let tx = conn.transaction()?;
    for i in 0..tables {
        if i % 10 == 9 {
            let c = if commented { " -- 뷰 설명 / a view over the previous table" } else { "" };
            tx.execute_batch(&format!("CREATE VIEW v{i:04} AS{c}\nSELECT id, name FROM t{:04};", i - 1))?;
            continue;
        }
        let parent =
            if i == 0 { String::new() } else { format!(" REFERENCES t{:04}(id)", i - 1 - usize::from(i % 10 == 0)) };
        let ddl = if commented {
            format!(
                "CREATE TABLE t{i:04} ( -- 테이블 {i} / table number {i} of the benchmark
    id INTEGER PRIMARY KEY, -- 식별자 / identifier
    name VARCHAR(40) NOT NULL, -- 이름 / name of the thing
    city TEXT, -- 도시 (서울, 부산, ...) / city
    note TEXT, /* 비고 / free-text note */
    amount REAL, -- 금액(원) / amount in won
    qty INTEGER, -- 수량 / quantity
    created DATETIME, -- 생성 시각 / creation time
    parent_id INTEGER{parent} -- 상위 / parent row
);"
            )
        } else {
            format!(
                "CREATE TABLE t{i:04} (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, city TEXT, note TEXT, \
             amount REAL, qty INTEGER, created DATETIME, parent_id INTEGER{parent});"
            )
        };
        tx.execute_batch(&format!("{ddl}\nCREATE INDEX t{i:04}_parent ON t{i:04}(parent_id);"))?;
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
