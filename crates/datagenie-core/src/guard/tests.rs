//! Unit tests of the guard's API: policy resolution, column restrictions and row filters. The attack and
//! legal-query corpora live in `tests/corpus/` (see `tests/guard_corpus.rs`).

use super::*;

fn ok(sql: &str, dialect: Dialect, policy: &Policy) -> String {
    match check(sql, dialect, policy) {
        Ok(g) => g.as_str().to_string(),
        Err(e) => panic!("refused {sql:?}: {} {}", e.code, e.message),
    }
}

#[test]
fn accepts_a_simple_query_verbatim() {
    assert_eq!(ok("SELECT 1;", Dialect::Sqlite, &Policy::default()), "SELECT 1");
}
