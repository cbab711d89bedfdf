//! Fidelity check of the guard on a real query set: every gold query of a Spider-format `gold.sql` (one
//! `SQL<TAB>db_id` per line) must pass `guard::check` for SQLite with the default policy, except the few gold queries
//! SQLite itself rejects (listed below), which the guard must refuse too. It also prints the guard's time per check.
//!
//! The data is not part of the repository, so this is not a test (the tests use only in-repo data: the guard corpus
//! in `tests/corpus/`). Run it on the Spider training set:
//!
//! ```sh
//! cargo run --release -p datagenie-core --example guard_gold -- ../shared/data/spider-train/gold.sql
//! ```
//!
//! Exit status: 0 when every query came out as expected, 1 when one did not (each is printed), 2 when the file
//! cannot be read or holds no query.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use datagenie_core::Dialect;
use datagenie_core::guard::{self, Policy};

/// The allocator the `datagenie` binary uses, so the timing is what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Gold queries SQLite itself rejects ("ORDER BY clause should come after INTERSECT not before"): the guard must
/// refuse them too.
const INVALID_IN_SQLITE: &[&str] = &["SELECT document_name FROM documents GROUP BY document_type_code ORDER BY \
    count(*) DESC LIMIT 3 INTERSECT SELECT document_name FROM documents GROUP BY document_structure_code ORDER BY \
    count(*) DESC LIMIT 3"];

/// How many unexpected outcomes are printed in full.
const SHOWN: usize = 40;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: guard_gold GOLD.sql   (Spider's gold.sql: one SQL<TAB>db_id per line)");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("cannot read {}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let queries: Vec<&str> =
        text.lines().map(|line| line.split('\t').next().unwrap_or(line).trim()).filter(|sql| !sql.is_empty()).collect();
    if queries.is_empty() {
        eprintln!("{}: no queries", path.to_string_lossy());
        return ExitCode::from(2);
    }

    let policy = Policy::default();
    let mut problems = Vec::new();
    let (mut valid, mut accepted, mut invalid, mut refused_invalid) = (0usize, 0usize, 0usize, 0usize);
    let mut took = Duration::ZERO;
    for sql in &queries {
        let started = Instant::now();
        let result = guard::check(sql, Dialect::Sqlite, &policy);
        took += started.elapsed();
        if INVALID_IN_SQLITE.contains(sql) {
            invalid += 1;
            match result {
                Ok(_) => problems.push(format!("accepted SQL that SQLite itself rejects: {sql}")),
                Err(_) => refused_invalid += 1,
            }
            continue;
        }
        valid += 1;
        match result {
            Ok(_) => accepted += 1,
            Err(e) => problems.push(format!("refused {} ({}): {sql}", e.code, e.message)),
        }
    }

    for p in problems.iter().take(SHOWN) {
        println!("{p}");
    }
    if problems.len() > SHOWN {
        println!("… and {} more", problems.len() - SHOWN);
    }
    let per_check = took.as_secs_f64() * 1e6 / queries.len() as f64;
    println!(
        "spider gold: {accepted}/{valid} valid queries accepted; {refused_invalid}/{invalid} that SQLite itself \
         rejects refused; {per_check:.1} µs per check"
    );
    if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
