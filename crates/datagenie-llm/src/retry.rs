//! The retry policy, as pure functions: which answers are worth another attempt, how long to wait before it, and how
//! to read a server's `Retry-After`. No IO here, so every rule has a unit test.

use std::hash::BuildHasher;
use std::time::Duration;

/// HTTP statuses retried: rate limiting (429), transient server failures (500, 502, 503, 504) and Anthropic's
/// "overloaded" (529). Client errors (400, 401, 403, 404, …) are never retried: the same request fails the same way.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504 | 529)
}

/// The wait before retry number `retry` (1 for the first retry): exponential from `base`, capped at `cap`, with
/// "equal jitter" — half the delay is fixed, the other half scaled by `unit`, which should lie in `[0, 1]` (values
/// outside are clamped, NaN counts as 0). Never exceeds `cap`; never panics, whatever `retry` and `unit` are.
pub fn backoff_delay(retry: u32, base: Duration, cap: Duration, unit: f64) -> Duration {
    let factor = 2u32.saturating_pow(retry.saturating_sub(1));
    let full = base.saturating_mul(factor).min(cap);
    let half = full / 2;
    let unit = if unit.is_nan() { 0.0 } else { unit.clamp(0.0, 1.0) };
    half + half.mul_f64(unit)
}

/// A fresh number in `[0, 1]` for jitter, from the standard library's randomly keyed hasher (no extra dependency;
/// jitter needs spread, not cryptographic quality).
pub fn jitter_unit() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().hash_one(0u8);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Reads a server's requested wait: `retry-after-ms` (milliseconds, sent by OpenAI) wins over `Retry-After`
/// (whole or fractional seconds). HTTP-date forms and garbage are ignored (`None`), so the backoff applies instead.
pub fn parse_retry_after(retry_after: Option<&str>, retry_after_ms: Option<&str>) -> Option<Duration> {
    if let Some(ms) = retry_after_ms.and_then(parse_non_negative) {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    retry_after.and_then(parse_non_negative).map(Duration::from_secs_f64)
}

/// A finite, non-negative number below a day (anything larger is treated as absurd and ignored).
fn parse_non_negative(value: &str) -> Option<f64> {
    let n: f64 = value.trim().parse().ok()?;
    (n.is_finite() && (0.0..86_400_000.0).contains(&n)).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_transient_statuses_only() {
        for s in [429, 500, 502, 503, 504, 529] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 301, 400, 401, 403, 404, 409, 413, 422, 501] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        let base = Duration::from_millis(500);
        let cap = Duration::from_secs(8);
        assert_eq!(backoff_delay(1, base, cap, 1.0), Duration::from_millis(500));
        assert_eq!(backoff_delay(2, base, cap, 1.0), Duration::from_millis(1000));
        assert_eq!(backoff_delay(3, base, cap, 1.0), Duration::from_millis(2000));
        assert_eq!(backoff_delay(3, base, cap, 0.0), Duration::from_millis(1000));
        assert_eq!(backoff_delay(10, base, cap, 1.0), cap);
        assert_eq!(backoff_delay(u32::MAX, base, cap, 1.0), cap);
        assert_eq!(backoff_delay(0, base, cap, 1.0), base);
    }

    #[test]
    fn jitter_is_clamped_and_in_range() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        assert_eq!(backoff_delay(1, base, cap, 7.0), base);
        assert_eq!(backoff_delay(1, base, cap, -3.0), base / 2);
        assert_eq!(backoff_delay(1, base, cap, f64::NAN), base / 2);
        assert_eq!(backoff_delay(1, base, cap, f64::INFINITY), base);
        for _ in 0..100 {
            let u = jitter_unit();
            assert!((0.0..=1.0).contains(&u), "{u}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_milliseconds() {
        assert_eq!(parse_retry_after(Some("2"), None), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(Some(" 0.5 "), None), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after(Some("2"), Some("150")), Some(Duration::from_millis(150)));
        assert_eq!(parse_retry_after(Some("0"), None), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_ignores_dates_and_garbage() {
        assert_eq!(parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT"), None), None);
        assert_eq!(parse_retry_after(Some("-1"), None), None);
        assert_eq!(parse_retry_after(Some("inf"), None), None);
        assert_eq!(parse_retry_after(Some("NaN"), None), None);
        assert_eq!(parse_retry_after(Some("1e300"), None), None);
        assert_eq!(parse_retry_after(None, Some("soon")), None);
        assert_eq!(parse_retry_after(Some("3"), Some("soon")), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(None, None), None);
    }
}
