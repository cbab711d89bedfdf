//! Guard throughput and latency on typical analytic queries, one thread.
//! Run: `cargo bench -p datagenie-core --bench guard`.
//!
//! Per dialect it measures sqlparser's own `parse_sql` on the same queries (the floor the guard builds on),
//! `guard::check`, and `guard::check_report` (what `ask` calls); for SQLite also `check` under a row filter. Each
//! line: checks per second of wall time and of this thread's CPU time (what one core does even when other
//! processes share the machine), the best batch's CPU rate, and p50/p99 latency per check. The cases of a dialect
//! run in interleaved batches, so a change in machine load hits them alike; the best batch is the least disturbed.
//!
//! Environment: `GUARD_BENCH_ROUNDS` — rounds over the query set per case (default 20000); `GUARD_BENCH_ONLY` —
//! run only cases whose `"<case> <dialect>"` contains this text (e.g. `check mysql`).
//!
//! Instructions per check, which machine load does not change: run the bench binary under
//! `valgrind --tool=callgrind` with `GUARD_BENCH_ONLY` set to one case, once with `GUARD_BENCH_ROUNDS=1` and once
//! with `GUARD_BENCH_ROUNDS=101`; the difference of the two totals over 600 (100 rounds of 6 queries) is the cost
//! of one check.

use std::hint::black_box;
use std::time::{Duration, Instant};

use datagenie_core::Dialect;
use datagenie_core::guard::{self, Policy};
use sqlparser::parser::Parser;

/// The allocator the `datagenie` binary uses, so the bench measures what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// Batches each case's rounds are split into (fewer when there are fewer rounds).
const BATCHES: usize = 20;

/// Rounds over QUERIES per case; `GUARD_BENCH_ROUNDS` overrides (e.g. a few hundred under callgrind).
fn rounds() -> usize {
    std::env::var("GUARD_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

/// True when the case should run: `GUARD_BENCH_ONLY`, when set, must be a substring of `"<label> <dialect>"`.
fn selected(label: &str, dialect: Dialect) -> bool {
    std::env::var("GUARD_BENCH_ONLY").map_or(true, |only| format!("{label} {dialect}").contains(&only))
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

/// One measured function and what was measured of it.
struct Case<'a> {
    label: &'static str,
    run: Box<dyn FnMut(&str) -> bool + 'a>,
    samples: Vec<Duration>,
    wall: Duration,
    cpu: Option<Duration>,
    /// Checks per CPU second of each batch.
    batch_rates: Vec<f64>,
}

impl<'a> Case<'a> {
    fn new(label: &'static str, run: impl FnMut(&str) -> bool + 'a) -> Case<'a> {
        Case {
            label,
            run: Box::new(run),
            samples: Vec::new(),
            wall: Duration::ZERO,
            cpu: Some(Duration::ZERO),
            batch_rates: Vec::new(),
        }
    }

    /// Runs every query `rounds` times, timing each check.
    fn batch(&mut self, rounds: usize) {
        let (wall, cpu) = (Instant::now(), thread_cpu_time());
        for _ in 0..rounds {
            for q in QUERIES {
                let t = Instant::now();
                black_box((self.run)(black_box(q)));
                self.samples.push(t.elapsed());
            }
        }
        self.wall += wall.elapsed();
        let cpu = cpu.and_then(|start| Some(thread_cpu_time()? - start));
        self.cpu = self.cpu.zip(cpu).map(|(total, c)| total + c);
        if let Some(c) = cpu.filter(|c| !c.is_zero()) {
            self.batch_rates.push((rounds * QUERIES.len()) as f64 / c.as_secs_f64());
        }
    }

    fn print(&mut self, dialect: Dialect) {
        if self.samples.is_empty() {
            return;
        }
        self.samples.sort_unstable();
        let pct = |p: f64| micros(self.samples[((self.samples.len() as f64 * p) as usize).min(self.samples.len() - 1)]);
        let n = self.samples.len() as f64;
        let cpu = self.cpu.filter(|c| !c.is_zero()).map(|c| format!("{:>7.0}/s cpu", n / c.as_secs_f64()));
        let best =
            self.batch_rates.iter().copied().fold(None, |best: Option<f64>, r| Some(best.map_or(r, |b| b.max(r))));
        println!(
            "{:<24} {:<8} {:>7.0}/s wall {}  best {}   p50 {:>5.1} µs   p99 {:>5.1} µs",
            self.label,
            dialect.as_str(),
            n / self.wall.as_secs_f64(),
            cpu.unwrap_or_default(),
            best.map(|b| format!("{b:>7.0}/s")).unwrap_or_default(),
            pct(0.50),
            pct(0.99)
        );
    }
}

fn sqlparser_dialect(dialect: Dialect) -> Box<dyn sqlparser::dialect::Dialect> {
    match dialect {
        Dialect::Sqlite => Box::new(sqlparser::dialect::SQLiteDialect {}),
        Dialect::Postgres => Box::new(sqlparser::dialect::PostgreSqlDialect {}),
        Dialect::Mysql => Box::new(sqlparser::dialect::MySqlDialect {}),
    }
}

/// Runs the cases of one dialect in interleaved batches and prints them.
fn measure(dialect: Dialect, mut cases: Vec<Case>) {
    cases.retain(|case| selected(case.label, dialect));
    for case in &mut cases {
        assert!(QUERIES.iter().all(|q| (case.run)(q)), "{}: a benchmark query fails in {dialect}", case.label);
    }
    let rounds = rounds();
    let batches = BATCHES.min(rounds).max(1);
    for b in 0..batches {
        let size = rounds / batches + usize::from(b < rounds % batches);
        for case in &mut cases {
            case.batch(size);
        }
    }
    for case in &mut cases {
        case.print(dialect);
    }
}

fn main() {
    let default = Policy::default();
    let filtered = Policy::default()
        .row_filter("orders", "region = {user.region}")
        .map(|p| p.user_attribute("region", "APAC"))
        .unwrap_or_default();
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
        let d = sqlparser_dialect(dialect);
        let mut cases = vec![
            Case::new("sqlparser parse_sql", |q| Parser::parse_sql(d.as_ref(), q).is_ok()),
            Case::new("guard check", |q| guard::check(q, dialect, &default).is_ok()),
            Case::new("guard check_report", |q| guard::check_report(q, dialect, &default).is_ok()),
        ];
        if dialect == Dialect::Sqlite {
            cases.push(Case::new("guard check, row filter", |q| guard::check(q, dialect, &filtered).is_ok()));
        }
        measure(dialect, cases);
    }
}
