//! Guard throughput and latency on typical analytic queries, one thread.
//! Run: `cargo bench -p datagenie-core --bench guard`.
//!
//! Prints, per dialect: checks per second of wall time and per second of this thread's CPU time (the latter is what
//! one core does even when other processes share the machine), p50/p99 latency per check, and the same for
//! sqlparser's own `parse_sql` on the same queries — the floor the guard builds on.

use std::hint::black_box;
use std::time::{Duration, Instant};

use datagenie_core::Dialect;
use datagenie_core::guard::{self, Policy};
use sqlparser::parser::Parser;

const QUERIES: &[&str] = &[
    "SELECT count(*) FROM orders WHERE total > 100",
    "SELECT c.name, sum(o.total) AS revenue FROM customers c JOIN orders o ON o.customer_id = c.id \
     WHERE o.created_at >= '2024-01-01' GROUP BY c.name ORDER BY revenue DESC LIMIT 10",
    "WITH monthly AS (SELECT substr(created_at, 1, 7) AS month, sum(total) AS revenue FROM orders GROUP BY 1) \
     SELECT month, revenue, revenue - lag(revenue) OVER (ORDER BY month) AS growth FROM monthly ORDER BY month",
    "SELECT p.category, avg(i.quantity * i.price) FROM items i JOIN products p ON p.id = i.product_id \
     WHERE i.order_id IN (SELECT id FROM orders WHERE status = 'shipped') GROUP BY p.category HAVING count(*) > 5",
    "SELECT name FROM customers WHERE id NOT IN (SELECT customer_id FROM orders) \
     UNION SELECT name FROM prospects WHERE region = 'APAC'",
    "SELECT T1.name FROM department AS T1 JOIN management AS T2 ON T1.department_id = T2.department_id \
     WHERE T2.temporary_acting = 'Yes' ORDER BY T1.creation",
];

/// Rounds over QUERIES per measurement; `GUARD_BENCH_ROUNDS` overrides (e.g. a few hundred under callgrind).
fn rounds() -> usize {
    std::env::var("GUARD_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

/// This thread's CPU time, from Linux's schedstat; `None` elsewhere.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Runs `f` over every query ROUNDS times and prints the statistics.
fn measure(label: &str, dialect: Dialect, mut f: impl FnMut(&str) -> bool) {
    assert!(QUERIES.iter().all(|q| f(q)), "{label}: a benchmark query fails in {dialect}");
    let rounds = rounds();
    let mut samples = Vec::with_capacity(rounds * QUERIES.len());
    let (wall, cpu) = (Instant::now(), thread_cpu_time());
    for _ in 0..rounds {
        for q in QUERIES {
            let t = Instant::now();
            black_box(f(black_box(q)));
            samples.push(t.elapsed());
        }
    }
    let wall = wall.elapsed();
    let cpu = cpu.and_then(|start| Some(thread_cpu_time()? - start));
    samples.sort_unstable();
    let pct = |p: f64| micros(samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)]);
    let n = samples.len() as f64;
    let per_cpu = cpu.map(|c| format!("{:>7.0}/s cpu", n / c.as_secs_f64())).unwrap_or_default();
    println!(
        "{label:<24} {:<8} {:>7.0}/s wall {per_cpu}   p50 {:>5.1} µs   p99 {:>5.1} µs",
        dialect.as_str(),
        n / wall.as_secs_f64(),
        pct(0.50),
        pct(0.99)
    );
}

fn sqlparser_dialect(dialect: Dialect) -> Box<dyn sqlparser::dialect::Dialect> {
    match dialect {
        Dialect::Sqlite => Box::new(sqlparser::dialect::SQLiteDialect {}),
        Dialect::Postgres => Box::new(sqlparser::dialect::PostgreSqlDialect {}),
        Dialect::Mysql => Box::new(sqlparser::dialect::MySqlDialect {}),
    }
}

/// True when the case should run: `GUARD_BENCH_ONLY` (e.g. `guard mysql`, `parse`) must be a substring of
/// `"<label> <dialect>"` when set.
fn selected(label: &str, dialect: Dialect) -> bool {
    std::env::var("GUARD_BENCH_ONLY").map_or(true, |only| format!("{label} {dialect}").contains(&only))
}

fn main() {
    let default = Policy::default();
    let filtered = Policy::default()
        .row_filter("orders", "region = {user.region}")
        .map(|p| p.user_attribute("region", "APAC"))
        .unwrap_or_default();
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
        let d = sqlparser_dialect(dialect);
        if selected("sqlparser parse_sql", dialect) {
            measure("sqlparser parse_sql", dialect, |q| Parser::parse_sql(d.as_ref(), q).is_ok());
        }
        if selected("guard, default policy", dialect) {
            measure("guard, default policy", dialect, |q| guard::check(q, dialect, &default).is_ok());
        }
    }
    if selected("guard, row filter", Dialect::Sqlite) {
        measure("guard, row filter", Dialect::Sqlite, |q| guard::check(q, Dialect::Sqlite, &filtered).is_ok());
    }
}
