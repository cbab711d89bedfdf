//! TEMPORARY (ddl_comments profiling; deleted after use).
use std::time::Instant;
fn main() {
    let mut texts = Vec::new();
    for i in 0..1800 {
        texts.push(format!(
            "CREATE TABLE t{i:04} ( -- 테이블 {i} / table number {i} of the benchmark
    id INTEGER PRIMARY KEY, -- 식별자 / identifier
    name VARCHAR(40) NOT NULL, -- 이름 / name of the thing
    city TEXT, -- 도시 (서울, 부산, ...) / city
    note TEXT, /* 비고 / free-text note */
    amount REAL, -- 금액(원) / amount in won
    qty INTEGER, -- 수량 / quantity
    created DATETIME, -- 생성 시각 / creation time
    parent_id INTEGER REFERENCES t0001(id) -- 상위 / parent row
)"
        ));
    }
    for _ in 0..std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(8) {
        let t = Instant::now();
        let n: usize = texts
            .iter()
            .map(|t| {
                sqlparser::tokenizer::Tokenizer::new(&sqlparser::dialect::SQLiteDialect {}, t)
                    .tokenize_with_location()
                    .map(|v| v.len())
                    .unwrap_or(0)
            })
            .sum();
        let tok = t.elapsed();
        let t = Instant::now();
        let m: usize =
            texts.iter().map(|t| datagenie_core::ddl_comments::ddl_comments(t).columns.len()).sum();
        let full = t.elapsed();
        println!("tokens {n} tokenizer {:.2} ms; cols {m} ddl_comments {:.2} ms", tok.as_secs_f64() * 1e3, full.as_secs_f64() * 1e3);
    }
}
