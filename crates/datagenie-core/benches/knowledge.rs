//! Knowledge retrieval at scale: an index of 100,000 chunks (10,000 Markdown documents of ten sections), each with a
//! 768-dimensional vector, queried lexically, semantically (exact search: a linear scan of every vector) and both.
//! Run: `cargo bench -p datagenie-core --bench knowledge`. Environment: `KNOWLEDGE_BENCH_N` — chunks (default
//! 100000); `KNOWLEDGE_BENCH_DIM` — dimensions (default 768); `KNOWLEDGE_BENCH_QUERIES` — questions (default 50).
//!
//! Lines: the build (chunking and BM25), attaching the vectors, then p50/p95/p99 per question of `retrieve` —
//! wall time, and this thread's CPU time (which other processes on a shared machine do not inflate) — with a
//! question only, a vector only (the scan, with the default similarity gate, which random vectors do not pass), a
//! vector only with the gate open (every chunk a candidate: the scan plus fusion and top-k of all), and both.

use std::hint::black_box;
use std::time::{Duration, Instant};

use datagenie_core::knowledge::{Document, Item, KnowledgeBase, KnowledgeIndex, RetrieveLimits};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WORDS: &[&str] = &[
    "revenue",
    "refund",
    "order",
    "customer",
    "region",
    "discount",
    "coupon",
    "invoice",
    "payment",
    "shipment",
    "warehouse",
    "supplier",
    "category",
    "product",
    "margin",
    "forecast",
    "quarter",
    "monthly",
    "churn",
    "retention",
    "매출",
    "환불",
    "주문",
    "고객",
    "지역",
    "할인",
    "결제",
    "배송",
    "재고",
    "분기",
];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn word(&mut self) -> String {
        // Mostly generated words (a large vocabulary, as real text has), some domain words.
        if self.next().is_multiple_of(4) {
            WORDS[self.next() as usize % WORDS.len()].to_string()
        } else {
            let len = 4 + self.next() as usize % 6;
            (0..len).map(|_| (b'a' + (self.next() % 26) as u8) as char).collect()
        }
    }

    fn unit(&mut self) -> f32 {
        (self.next() % 20_000) as f32 / 10_000.0 - 1.0
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentiles(mut times: Vec<Duration>) -> String {
    times.sort();
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    format!("p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms", pct(0.5), pct(0.95), pct(0.99))
}

/// This thread's CPU time, from Linux's schedstat; `None` elsewhere. (Time other processes take from this thread
/// does not count; time it waits on memory does.)
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn main() {
    let n = env("KNOWLEDGE_BENCH_N", 100_000).max(10);
    let dim = env("KNOWLEDGE_BENCH_DIM", 768).max(1);
    let queries = env("KNOWLEDGE_BENCH_QUERIES", 50).max(1);
    let mut rng = Lcg(42);

    let documents: Vec<Document> = (0..n / 10)
        .map(|d| {
            let mut text = String::new();
            for s in 0..10 {
                text.push_str(&format!("## Section {s} {}\n\n", rng.word()));
                let words: Vec<String> = (0..40).map(|_| rng.word()).collect();
                text.push_str(&words.join(" "));
                text.push_str(".\n\n");
            }
            Document { title: format!("doc-{d}.md"), text }
        })
        .collect();
    let t = Instant::now();
    let mut index = KnowledgeIndex::new(KnowledgeBase { documents, ..KnowledgeBase::default() });
    let build = t.elapsed();
    let chunks = index.chunks().len();

    let vectors: Vec<(Item, Vec<f32>)> =
        (0..chunks).map(|i| (Item::Chunk(i), (0..dim).map(|_| rng.unit()).collect())).collect();
    let t = Instant::now();
    index.set_vectors(vectors);
    let attach = t.elapsed();
    println!(
        "{chunks} chunks indexed in {:.2} s; {} vectors of {dim} dimensions ({:.0} MiB) attached in {:.2} s",
        build.as_secs_f64(),
        index.vector_count(),
        (index.vector_count() * dim * 4) as f64 / (1024.0 * 1024.0),
        attach.as_secs_f64()
    );

    let questions: Vec<String> =
        (0..queries).map(|_| format!("{} {} by {}", rng.word(), rng.word(), rng.word())).collect();
    let query_vectors: Vec<Vec<f32>> = (0..queries).map(|_| (0..dim).map(|_| rng.unit()).collect()).collect();
    let gated = RetrieveLimits::default();
    let open = RetrieveLimits { min_similarity: -1.0, ..RetrieveLimits::default() };

    let run = |label: &str, f: &mut dyn FnMut(usize) -> usize| {
        let _ = f(0); // warm up: page the vectors in
        let (mut times, mut cpu_times) = (Vec::with_capacity(queries), Vec::with_capacity(queries));
        let mut found = 0;
        for i in 0..queries {
            let (t, cpu) = (Instant::now(), thread_cpu_time());
            found += f(i);
            times.push(t.elapsed());
            if let Some(c) = cpu.zip(thread_cpu_time()).map(|(a, b)| b.saturating_sub(a)) {
                cpu_times.push(c);
            }
        }
        let cpu = if cpu_times.len() == queries { format!("; cpu {}", percentiles(cpu_times)) } else { String::new() };
        println!("{label:<40} wall {}{cpu} ({found} chunks retrieved in all)", percentiles(times));
    };
    run("lexical (question only)", &mut |i| index.retrieve(black_box(&questions[i]), None, &gated).chunks.len());
    run("semantic scan (vector only, gated)", &mut |i| {
        index.retrieve("", Some(black_box(&query_vectors[i])), &gated).chunks.len()
    });
    run("semantic scan + top-k of all (gate open)", &mut |i| {
        index.retrieve("", Some(black_box(&query_vectors[i])), &open).chunks.len()
    });
    run("hybrid (question and vector, gated)", &mut |i| {
        index.retrieve(&questions[i], Some(black_box(&query_vectors[i])), &gated).chunks.len()
    });
}
