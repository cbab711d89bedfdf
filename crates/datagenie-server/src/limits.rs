//! Request rates and login throttling, in this process (one server; several servers share counters through Redis
//! in a later step). A rate is a token bucket per key: `per_minute` requests in a burst, refilled evenly over the
//! minute; a refusal says how long until one more request fits. Logins: consecutive failures per account and per
//! address; after `max_failures` the key is locked for the lockout period, and each failure before that adds a delay.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept before idle ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Takes one request from `key`'s bucket of `per_minute`. `Err(seconds)`: refused, retry after that long.
    /// `per_minute` 0 means no limit.
    pub fn check(&self, key: &str, per_minute: u32, now: Instant) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= SWEEP_AT {
            // A bucket idle for a minute is full again: forgetting it changes nothing.
            buckets.retain(|_, b| now.saturating_duration_since(b.at) < Duration::from_secs(60));
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: capacity, at: now });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Failed logins by account (`email:…`) and by address (`ip:…`).
#[derive(Debug)]
pub struct LoginThrottle {
    pub max_failures: u32,
    pub lockout: Duration,
    failures: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    pub fn new(max_failures: u32, lockout: Duration) -> LoginThrottle {
        LoginThrottle { max_failures: max_failures.max(1), lockout, failures: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(seconds)` while any of `keys` is locked.
    pub fn check(&self, keys: &[String], now: Instant) -> Result<(), u64> {
        let failures = self.lock();
        let wait = keys
            .iter()
            .filter_map(|k| failures.get(k)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until.duration_since(now).as_secs().max(1))
            .max();
        wait.map_or(Ok(()), Err)
    }

    /// Records a failure for each key; returns the delay to add to this answer (growing with the failures, so
    /// guessing slows down before it is refused).
    pub fn failed(&self, keys: &[String], now: Instant) -> Duration {
        let mut failures = self.lock();
        if failures.len() >= SWEEP_AT {
            let lockout = self.lockout;
            failures.retain(|_, f| now.saturating_duration_since(f.last) < lockout || f.locked_until > Some(now));
        }
        let mut worst = 0;
        for key in keys {
            let f = failures.entry(key.clone()).or_insert(Failures { count: 0, last: now, locked_until: None });
            // A lock that has run out starts a new count.
            if f.locked_until.is_some_and(|until| until <= now) || now.saturating_duration_since(f.last) >= self.lockout
            {
                *f = Failures { count: 0, last: now, locked_until: None };
            }
            f.count += 1;
            f.last = now;
            if f.count >= self.max_failures {
                f.locked_until = Some(now + self.lockout);
            }
            worst = worst.max(f.count);
        }
        // 0, 0, 250 ms, 500 ms, 1 s … capped at 2 s.
        match worst {
            0..=2 => Duration::ZERO,
            n => Duration::from_millis(250u64 << (n - 3).min(3)),
        }
    }

    /// A successful login clears the account's failures (the address keeps its count: one address guessing many
    /// accounts is still locked).
    pub fn succeeded(&self, account_key: &str) {
        self.lock().remove(account_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_a_burst_then_refills_evenly() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check("u", 60, t0).is_ok());
        }
        assert_eq!(limiter.check("u", 60, t0), Err(1));
        assert!(limiter.check("other", 60, t0).is_ok(), "keys are separate");
        assert!(limiter.check("u", 60, t0 + Duration::from_millis(1000)).is_ok(), "one per second comes back");
        assert!(limiter.check("u", 60, t0 + Duration::from_millis(1000)).is_err());
        assert!(limiter.check("u", 0, t0).is_ok(), "0 is no limit");
        let slow = RateLimiter::default();
        assert!(slow.check("k", 1, t0).is_ok());
        assert_eq!(slow.check("k", 1, t0), Err(60));
    }

    #[test]
    fn logins_slow_down_then_lock_and_unlock() {
        let throttle = LoginThrottle::new(5, Duration::from_secs(900));
        let t0 = Instant::now();
        let keys = vec!["email:a@x".to_string(), "ip:1.2.3.4".to_string()];
        let delays: Vec<Duration> = (0..4).map(|_| throttle.failed(&keys, t0)).collect();
        assert_eq!(delays[0], Duration::ZERO);
        assert!(delays[3] > delays[2] && delays[2] > Duration::ZERO);
        assert!(throttle.check(&keys, t0).is_ok(), "four failures: not locked yet");
        throttle.failed(&keys, t0);
        assert_eq!(throttle.check(&keys, t0), Err(900));
        assert_eq!(throttle.check(&["ip:1.2.3.4".to_string()], t0), Err(900), "the address is locked too");
        assert!(throttle.check(&keys, t0 + Duration::from_secs(901)).is_ok(), "the lock runs out");
        throttle.succeeded("email:a@x");
        assert!(throttle.check(&["email:a@x".to_string()], t0).is_ok());
    }
}
