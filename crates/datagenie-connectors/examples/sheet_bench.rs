//! Loading a large CSV, timed: a generated file of N rows × 10 columns (whole numbers, text, decimals, dates, money
//! written `1,234원`, percentages, yes/no, date-times), loaded into the cache the way `--db file.csv` loads it, then
//! loaded again (the cache hit). Prints the time, the rate and the process's peak memory.
//!
//! ```text
//! cargo run --release -p datagenie-connectors --example sheet_bench [-- ROWS]
//! ```

use std::io::Write;
use std::time::Instant;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("orders.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv)?);
        writeln!(out, "주문번호,고객명,단가,주문일,금액,할인율,반품,지역,수량,처리시각")?;
        let regions = ["서울", "부산", "대구", "인천", "광주"];
        for i in 0..rows {
            writeln!(
                out,
                "{i},고객{},{}.{:02},2024-{:02}-{:02},\"{},{:03}원\",{}%,{},{},{},2024-03-05 {:02}:{:02}:00",
                i % 5000,
                i % 997,
                i % 100,
                i % 12 + 1,
                i % 28 + 1,
                i % 90 + 1,
                i % 1000,
                i % 30,
                if i % 7 == 0 { "Y" } else { "N" },
                regions[i % 5],
                i % 13 + 1,
                i % 24,
                i % 60
            )?;
        }
    }
    let size = std::fs::metadata(&csv)?.len();
    let cache = dir.path().join("cache");
    let before = peak_rss_mib();
    let t = Instant::now();
    let db = datagenie_connectors::file::load(&csv, &cache)?;
    let first = t.elapsed();
    let peak = peak_rss_mib();
    let t = Instant::now();
    let again = datagenie_connectors::file::load(&csv, &cache)?;
    let second = t.elapsed();
    assert_eq!(db, again);
    let conn = rusqlite::Connection::open(&db)?;
    let n: i64 = conn.query_row("SELECT count(*) FROM orders", [], |r| r.get(0))?;
    let types: Vec<String> = conn
        .prepare("SELECT type FROM pragma_table_info('orders')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    assert_eq!(n as usize, rows);
    println!("{rows} rows × 10 columns, {:.1} MiB of CSV", size as f64 / (1 << 20) as f64);
    println!("types: {}", types.join(", "));
    println!(
        "load: {:.2} s ({:.0} rows/s); again (cached by content): {:.3} s",
        first.as_secs_f64(),
        rows as f64 / first.as_secs_f64(),
        second.as_secs_f64()
    );
    println!("peak memory: {peak:.1} MiB (before loading: {before:.1} MiB)");
    Ok(())
}
