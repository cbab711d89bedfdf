//! Fuzzing support for the SQL guard (`datagenie_core::guard`): input decoding, the policies checked under, an
//! oracle independent of the guard, and [`exercise`], which panics — a fuzzing finding — when the guard breaks one
//! of its promises. The fuzz targets in `fuzz_targets/` are thin wrappers around it.
//!
//! Invariants asserted by [`exercise`] for any input:
//! - `check` and `check_report` agree (same SQL, or same error code), and neither panics;
//! - a refusal has a non-empty message and is never `internal` (that code means the guard hit a state it believes
//!   impossible);
//! - an accepted text passes [`oracle::audit`]: exactly one read-only query, nothing data-modifying, locking or
//!   `INTO` at any depth, no forbidden function or system catalog, every row-filtered table read only through its
//!   filter;
//! - unrewritten output is a substring of the input (the guard executes what it approved, verbatim);
//! - idempotence: the accepted text, checked again under the variant's re-check policy (same allow-list, no row
//!   filters), is accepted with identical text; unrewritten text is also accepted unchanged under the original
//!   policy.

#![forbid(unsafe_code)]

pub mod oracle;
pub mod policies;
pub mod structured;

use datagenie_core::guard::{self, Report};
use datagenie_core::{Dialect, ErrorCode};

pub use policies::Variant;

/// The dialects, picked by `byte % 3`.
pub const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

/// The dialect a selector byte picks.
pub fn dialect_from_byte(byte: u8) -> Dialect {
    DIALECTS[usize::from(byte) % DIALECTS.len()]
}

/// The selector byte of a dialect (inverse of [`dialect_from_byte`] modulo 3).
pub fn dialect_byte(dialect: Dialect) -> u8 {
    match dialect {
        Dialect::Sqlite => 0,
        Dialect::Postgres => 1,
        Dialect::Mysql => 2,
    }
}

/// Splits raw fuzz input into (dialect, policy variant, SQL): byte 0 picks the dialect, byte 1 the variant, the
/// rest is the SQL, decoded as lossy UTF-8. Shorter input means SQLite, the default policy and what bytes remain.
pub fn decode(data: &[u8]) -> (Dialect, Variant, String) {
    let dialect = dialect_from_byte(data.first().copied().unwrap_or(0));
    let variant = Variant::from_byte(data.get(1).copied().unwrap_or(0));
    let sql = String::from_utf8_lossy(data.get(2..).unwrap_or_default()).into_owned();
    (dialect, variant, sql)
}

/// The inverse of [`decode`] for valid UTF-8: the bytes a seed file holds.
pub fn encode(dialect: Dialect, variant: Variant, sql: &str) -> Vec<u8> {
    let mut out = vec![dialect_byte(dialect), variant.byte()];
    out.extend_from_slice(sql.as_bytes());
    out
}

/// Runs the guard on `sql` and asserts every invariant in the crate docs; panics with a precise message on the
/// first violation. Returns whether the guard accepted the query.
pub fn exercise(sql: &str, dialect: Dialect, variant: Variant) -> bool {
    let policy = variant.policy();
    let checked = guard::check(sql, dialect, policy);
    let reported = guard::check_report(sql, dialect, policy);
    match (checked, reported) {
        (Err(a), Err(b)) => {
            assert_eq!(a.code, b.code, "check and check_report disagree on {sql:?} ({dialect}, {variant:?})");
            assert!(!a.message.is_empty(), "empty refusal message for {sql:?} ({dialect}, {variant:?})");
            assert_ne!(
                a.code,
                ErrorCode::Internal,
                "internal error {:?} on {sql:?} ({dialect}, {variant:?})",
                a.message
            );
            false
        }
        (Ok(guarded), Ok(report)) => {
            assert_eq!(guarded, report.sql, "check and check_report disagree on {sql:?} ({dialect}, {variant:?})");
            verify_accepted(sql, dialect, variant, &report);
            true
        }
        (a, b) => panic!("check {:?} vs check_report {:?} on {sql:?} ({dialect}, {variant:?})", a.err(), b.err()),
    }
}

/// The invariants of an accepted query (see the crate docs).
fn verify_accepted(sql: &str, dialect: Dialect, variant: Variant, report: &Report) {
    let text = report.sql.as_str();
    let context = format!("accepted {text:?} from {sql:?} ({dialect}, {variant:?})");
    assert_eq!(report.sql.dialect(), dialect, "{context}: wrong dialect");
    assert_eq!(report.rewritten, !report.row_filtered.is_empty(), "{context}: rewritten flag vs row_filtered");
    if report.rewritten {
        assert!(!variant.filters().is_empty(), "{context}: rewritten without a row filter");
    } else {
        assert!(sql.contains(text), "{context}: unrewritten text is not the input's");
    }
    let problems = oracle::audit(text, dialect, variant.filters());
    assert!(problems.is_empty(), "{context}: {problems:?}");
    recheck(text, dialect, variant.recheck_policy(), &context);
    if !report.rewritten {
        recheck(text, dialect, variant.policy(), &context);
    }
}

fn recheck(text: &str, dialect: Dialect, policy: &guard::Policy, context: &str) {
    match guard::check(text, dialect, policy) {
        Ok(again) => assert_eq!(again.as_str(), text, "{context}: re-check changed the text"),
        Err(e) => panic!("{context}: re-check refused it: {} ({})", e.code, e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_splits_selectors_and_is_total() {
        assert_eq!(decode(b""), (Dialect::Sqlite, Variant::Default, String::new()));
        assert_eq!(decode(&[4]), (Dialect::Postgres, Variant::Default, String::new()));
        assert_eq!(decode(&[2, 6, b'S', 0xff]), (Dialect::Mysql, Variant::RowFilter, "S\u{fffd}".to_string()));
        for d in DIALECTS {
            for v in Variant::ALL {
                assert_eq!(decode(&encode(d, v, "SELECT 1")), (d, v, "SELECT 1".to_string()));
            }
        }
    }

    #[test]
    fn accepted_and_refused_queries_pass_every_invariant() {
        for d in DIALECTS {
            for v in Variant::ALL {
                assert!(exercise("SELECT id FROM orders WHERE id > 1;", d, v), "{d} {v:?}");
                assert!(exercise("SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id", d, v));
                assert!(!exercise("DELETE FROM orders", d, v), "{d} {v:?}");
                assert!(!exercise("SELECT pg_sleep(1), sleep(1)", d, v), "{d} {v:?}");
                assert!(!exercise("\u{0}\u{fffd}'", d, v), "{d} {v:?}");
            }
            assert!(!exercise("SELECT secret FROM users", d, Variant::AllowList), "{d}");
            assert!(exercise("SELECT secret FROM users", d, Variant::RowFilter), "{d}");
        }
    }

    #[test]
    fn row_filter_variants_rewrite_and_the_oracle_sees_the_filters() {
        let sql = "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id";
        for d in DIALECTS {
            let report = guard::check_report(sql, d, Variant::RowFilter.policy());
            let report = report.unwrap_or_else(|e| panic!("{d}: {}", e.message));
            assert!(report.rewritten, "{d}");
            assert_eq!(report.row_filtered.len(), 2, "{d}");
            let text = report.sql.as_str();
            assert_eq!(oracle::audit(text, d, Variant::RowFilter.filters()), Vec::<String>::new(), "{d}: {text}");
            // the same text, judged as if only `orders` were filtered, still passes; judged against a filter with
            // another value, it fails: the oracle looks at the bound literal
            assert!(oracle::audit(text, d, Variant::AllowListRowFilter.filters()).is_empty(), "{d}: {text}");
            let other = [policies::Filter { value: policies::Literal::Integer(7), ..Variant::RowFilter.filters()[0] }];
            assert!(!oracle::audit(text, d, &other).is_empty(), "{d}: {text}");
        }
    }

    #[test]
    fn the_guard_refuses_every_function_the_oracle_forbids() {
        for d in DIALECTS {
            for f in oracle::FORBIDDEN_FUNCTIONS {
                let sql = format!("SELECT {f}(1)");
                assert!(guard::check(&sql, d, &guard::Policy::default()).is_err(), "{d}: {sql}");
            }
        }
    }
}
