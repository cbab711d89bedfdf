//! Value linking at scale: an index of 1,000,000 values over 1,000 tables (five text columns each), built once and
//! looked up with questions that name values exactly, by a word, misspelled and not at all.
//! Run: `cargo bench -p datagenie-core --bench values` (`VALUES_BENCH_N` sets the number of values).

use std::time::{Duration, Instant};

use datagenie_core::values::{IndexedValue, ValueIndex};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A deterministic pseudo-random word of 4 to 9 letters.
fn word(seed: &mut u64) -> String {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let len = 4 + (*seed >> 60) as usize % 6;
    (0..len)
        .map(|i| {
            let x = seed.rotate_left(7 * i as u32 + 3);
            (b'a' + (x % 26) as u8) as char
        })
        .collect()
}

fn main() {
    let n: usize = std::env::var("VALUES_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let mut seed = 42u64;
    let values: Vec<IndexedValue> = (0..n)
        .map(|i| {
            let value = if i % 3 == 0 { format!("{} {}", word(&mut seed), word(&mut seed)) } else { word(&mut seed) };
            IndexedValue { table: format!("t{}", i % 1000), column: format!("c{}", i % 5), value }
        })
        .collect();
    let sample: Vec<String> = values.iter().step_by(n / 500).map(|v| v.value.clone()).collect();
    let t = Instant::now();
    let index = ValueIndex::build(values);
    let build = t.elapsed();
    let mut questions: Vec<String> = Vec::new();
    for (i, v) in sample.iter().enumerate() {
        let misspelt: String = v.chars().enumerate().map(|(j, c)| if j == 2 { 'x' } else { c }).collect();
        questions.push(match i % 3 {
            0 => format!("how many orders from {v} last year"),
            1 => format!("total sales for {misspelt} by month"),
            _ => "average revenue per region in 2024".to_string(),
        });
    }
    let mut times: Vec<Duration> = Vec::with_capacity(questions.len());
    let mut found = 0;
    for q in &questions {
        let t = Instant::now();
        let matches = index.lookup(q);
        times.push(t.elapsed());
        found += usize::from(!matches.is_empty());
    }
    times.sort();
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    println!("{} values indexed in {:.2} s", index.len(), build.as_secs_f64());
    println!(
        "lookup over {} questions ({found} with a match): p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms",
        questions.len(),
        pct(0.5),
        pct(0.95),
        pct(0.99)
    );
}
