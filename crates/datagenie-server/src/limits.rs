//! Request rates and login throttling, counted by [`crate::shared::Counters`]: in Redis when configured, so that
//! every server counts into the same windows (in the system database while Redis does not answer), else in this
//! process.
//!
//! A rate is `per_minute` requests per key in each minute (fixed windows aligned to the clock); a refusal says how
//! long until the window ends. Logins: failures per account and per address, a sliding count that runs out
//! `lockout` after the last failure; at `max_failures` the key is locked until then, and each failure before that
//! adds a delay. When nothing can count (Redis down and the system database failing) requests are let through and
//! the failure is logged: a limit must not take the service down with it.

use std::sync::Arc;
use std::time::Duration;

use crate::shared::{Counters, Window};

const MINUTE: Duration = Duration::from_secs(60);

/// Requests per minute by key.
#[derive(Debug)]
pub struct RateLimiter {
    counters: Arc<Counters>,
}

impl RateLimiter {
    pub fn new(counters: Arc<Counters>) -> RateLimiter {
        RateLimiter { counters }
    }

    /// Counts one request of `key` against `per_minute` (0: no limit). `Err(seconds)`: refused, retry after that
    /// long.
    pub async fn check(&self, key: &str, per_minute: u32) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        match self.counters.hit(&format!("rate:{key}"), Window::Fixed(MINUTE)).await {
            Ok(c) if c.count > u64::from(per_minute) => Err(c.resets_in.as_secs_f64().ceil().max(1.0) as u64),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(code = %e.code, error = %e.message, "cannot count a request: let through");
                Ok(())
            }
        }
    }
}

/// Failed logins by account (`email:…`) and by address (`ip:…`).
#[derive(Debug)]
pub struct LoginThrottle {
    pub max_failures: u32,
    pub lockout: Duration,
    counters: Arc<Counters>,
}

fn login_key(key: &str) -> String {
    format!("login:{key}")
}

impl LoginThrottle {
    pub fn new(counters: Arc<Counters>, max_failures: u32, lockout: Duration) -> LoginThrottle {
        LoginThrottle { max_failures: max_failures.max(1), lockout: lockout.max(Duration::from_secs(1)), counters }
    }

    /// `Err(seconds)` while any of `keys` is locked.
    pub async fn check(&self, keys: &[String]) -> Result<(), u64> {
        let mut wait = None;
        for key in keys {
            match self.counters.peek(&login_key(key), Window::Sliding(self.lockout)).await {
                Ok(c) if c.count >= u64::from(self.max_failures) => {
                    let secs = c.resets_in.as_secs_f64().ceil().max(1.0) as u64;
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(code = %e.code, error = %e.message, "cannot read failed logins"),
            }
        }
        wait.map_or(Ok(()), Err)
    }

    /// Records a failure for each key; returns the delay to add to this answer (growing with the failures, so
    /// guessing slows down before it is refused).
    pub async fn failed(&self, keys: &[String]) -> Duration {
        let mut worst = 0;
        for key in keys {
            match self.counters.hit(&login_key(key), Window::Sliding(self.lockout)).await {
                Ok(c) => worst = worst.max(c.count),
                Err(e) => tracing::warn!(code = %e.code, error = %e.message, "cannot count a failed login"),
            }
        }
        // 0, 0, 250 ms, 500 ms, 1 s … capped at 2 s.
        match worst {
            0..=2 => Duration::ZERO,
            n => Duration::from_millis(250u64 << (n - 3).min(3)),
        }
    }

    /// A successful login clears the account's failures (the address keeps its count: one address guessing many
    /// accounts is still locked).
    pub async fn succeeded(&self, account_key: &str) {
        if let Err(e) = self.counters.clear(&login_key(account_key)).await {
            tracing::warn!(code = %e.code, error = %e.message, "cannot clear failed logins");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters() -> (tempfile::TempDir, Arc<Counters>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = datagenie_store::SqliteStore::open(
            &dir.path().join("datagenie.db"),
            datagenie_store::SecretBox::new(&[3; 32]),
        )
        .expect("store");
        (dir, Arc::new(Counters::new(None, Arc::new(store))))
    }

    #[tokio::test]
    async fn a_minute_allows_its_requests_then_refuses_until_it_ends() {
        let (_dir, c) = counters();
        let limiter = RateLimiter::new(c);
        for _ in 0..60 {
            assert!(limiter.check("u", 60).await.is_ok());
        }
        let wait = limiter.check("u", 60).await.expect_err("61st");
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(limiter.check("other", 60).await.is_ok(), "keys are separate");
        assert!(limiter.check("u", 0).await.is_ok(), "0 is no limit");
    }

    #[tokio::test]
    async fn logins_slow_down_then_lock() {
        let (_dir, c) = counters();
        let throttle = LoginThrottle::new(c, 5, Duration::from_secs(900));
        let keys = vec!["email:a@x".to_string(), "ip:1.2.3.4".to_string()];
        let mut delays = Vec::new();
        for _ in 0..4 {
            delays.push(throttle.failed(&keys).await);
        }
        assert_eq!(delays[0], Duration::ZERO);
        assert!(delays[3] > delays[2] && delays[2] > Duration::ZERO);
        assert!(throttle.check(&keys).await.is_ok(), "four failures: not locked yet");
        throttle.failed(&keys).await;
        let wait = throttle.check(&keys).await.expect_err("locked");
        assert!((899..=900).contains(&wait), "{wait}");
        assert!(throttle.check(&["ip:1.2.3.4".to_string()]).await.is_err(), "the address is locked too");
        throttle.succeeded("email:a@x").await;
        assert!(throttle.check(&["email:a@x".to_string()]).await.is_ok());
        assert!(throttle.check(&["ip:1.2.3.4".to_string()]).await.is_err(), "the address keeps its count");
    }
}
