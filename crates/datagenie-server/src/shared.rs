//! What several servers share besides the system database: counters of time windows (request rates, failed logins)
//! in Redis (`redis.url`), seed 004's `ratelimit:…` keys.
//!
//! Three backends, chosen per call:
//!
//! - **Redis**, when configured and answering: one atomic script per hit, so every server counts into the same
//!   window.
//! - **The system database**, while a configured Redis does not answer (a call failed or timed out in the last
//!   second): the same counters as rows of `rate_counters`, one atomic upsert per hit — slower, still shared by every
//!   server on a PostgreSQL system database. The service keeps answering and its limits keep holding while Redis is
//!   down; when Redis answers again, counting goes back to it (a window then restarts its count there).
//! - **Memory**, without Redis: the counters of this process, for one server.
//!
//! A counter is fixed-window (`Window::Fixed`: rates; the key names the window, which ends at a fixed time) or
//! sliding (`Window::Sliding`: failed logins; each hit keeps it alive for the period again, and it runs out a period
//! after the last hit).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use datagenie_app::answer_cache::{Cache, CacheKind};
use datagenie_core::{Error, ErrorCode, SecretUrl};
use datagenie_store::Store;
use datagenie_store::model::Timestamp;

/// How long a Redis call may take before the server stops waiting and counts in the system database.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// After a failed Redis call, how long the server counts elsewhere before trying Redis again.
const REDIS_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Keys the memory backend keeps before it sweeps expired ones.
const SWEEP_AT: usize = 10_000;

/// One hit on `key`: a count per fixed window (`period` long, aligned to the epoch), or a sliding count that runs out
/// `period` after its last hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Fixed(Duration),
    Sliding(Duration),
}

/// What a hit found: the count after it and how long until the counter runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub count: u64,
    pub resets_in: Duration,
}

/// Where counting happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Redis,
    Database,
    Memory,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Redis => "redis",
            Backend::Database => "database",
            Backend::Memory => "memory",
        }
    }
}

/// A Redis server: a connection manager that connects lazily and reconnects by itself, and a short memory of
/// failure so that a Redis that does not answer costs one timeout a second, not one per request.
pub struct Redis {
    manager: redis::aio::ConnectionManager,
    prefix: String,
    described: String,
    /// Milliseconds since `origin` until which Redis is not tried (0: try it).
    down_until: AtomicU64,
    origin: Instant,
    /// Whether the last call failed (for the log: one line when it goes down, one when it is back).
    down: AtomicBool,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("server", &self.described).finish_non_exhaustive()
    }
}

/// `redis://…` or `rediss://…` without its password.
pub fn describe_redis_url(url: &SecretUrl) -> String {
    url.redacted()
}

impl Redis {
    /// A client of the Redis at `url` (not connected yet: the first call connects). `prefix` starts every key, so
    /// that several installations can share one Redis. Errors: `invalid_config` for a URL that is not Redis's.
    pub fn new(url: &SecretUrl, prefix: &str) -> Result<Redis, Error> {
        let described = describe_redis_url(url);
        let client = redis::Client::open(url.expose().trim()).map_err(|e| {
            Error::new(ErrorCode::InvalidConfig, format!("redis.url {described}: {}", redis_message(&e, url)))
        })?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let manager = redis::aio::ConnectionManager::new_lazy_with_config(client, config).map_err(|e| {
            Error::new(ErrorCode::InvalidConfig, format!("redis.url {described}: {}", redis_message(&e, url)))
        })?;
        Ok(Redis {
            manager,
            prefix: prefix.to_string(),
            described,
            down_until: AtomicU64::new(0),
            origin: Instant::now(),
            down: AtomicBool::new(false),
        })
    }

    pub fn describe(&self) -> &str {
        &self.described
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a call should be tried now (not within a second of a failure).
    pub fn available(&self) -> bool {
        self.now_ms() >= self.down_until.load(Ordering::Relaxed)
    }

    fn failed(&self, e: &redis::RedisError) {
        let until = self.now_ms() + u64::try_from(REDIS_RETRY_AFTER.as_millis()).unwrap_or(1000);
        self.down_until.store(until, Ordering::Relaxed);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(redis = %self.described, error = %e, "Redis does not answer: counting in the system database, caches off");
        }
    }

    fn succeeded(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!(redis = %self.described, "Redis answers again");
        }
    }

    /// Runs `script` on `keys`/`args`, within the timeout; `None` (and Redis marked down) when it fails.
    async fn run<T: redis::FromRedisValue>(&self, script: &redis::Script, keys: &[String], args: &[i64]) -> Option<T> {
        if !self.available() {
            return None;
        }
        let mut invocation = script.prepare_invoke();
        for k in keys {
            invocation.key(format!("{}{k}", self.prefix));
        }
        for a in args {
            invocation.arg(*a);
        }
        let mut con = self.manager.clone();
        self.settle(invocation.invoke_async::<T>(&mut con)).await
    }

    /// Runs a command within the timeout; `None` (and Redis marked down) when it fails.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Option<T> {
        if !self.available() {
            return None;
        }
        let mut con = self.manager.clone();
        self.settle(cmd.query_async::<T>(&mut con)).await
    }

    /// Awaits a call within the timeout: its value, or `None` with Redis marked down (an error or no answer in time).
    async fn settle<T>(&self, call: impl std::future::Future<Output = redis::RedisResult<T>>) -> Option<T> {
        let error = match tokio::time::timeout(REDIS_TIMEOUT * 2, call).await {
            Ok(Ok(v)) => {
                self.succeeded();
                return Some(v);
            }
            Ok(Err(e)) => e,
            Err(_) => redis::RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out")),
        };
        self.failed(&error);
        None
    }

    /// A round trip (`/readyz` reports it, without failing on it).
    pub async fn ping(&self) -> bool {
        let script = redis::Script::new("return 1");
        self.run::<i64>(&script, &[], &[]).await.is_some()
    }
}

/// A Redis error's text without the URL's password (the driver may quote the URL).
fn redis_message(e: &redis::RedisError, url: &SecretUrl) -> String {
    let mut text = e.to_string().replace(url.expose(), &url.redacted());
    // the password of `scheme://user:password@host…`, wherever the driver may have put it
    let authority = url.expose().split_once("://").map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    if let Some((userinfo, _)) = authority.rsplit_once('@')
        && let Some((_, password)) = userinfo.split_once(':')
        && !password.is_empty()
    {
        text = text.replace(password, "[redacted]");
    }
    text
}

/// The counters: Redis, else (while Redis is down) the system database, else (no Redis) memory.
pub struct Counters {
    redis: Option<std::sync::Arc<Redis>>,
    store: std::sync::Arc<dyn Store>,
    memory: Mutex<HashMap<String, (u64, Instant)>>,
    hit_script: redis::Script,
    peek_script: redis::Script,
    clear_script: redis::Script,
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counters").field("redis", &self.redis).finish_non_exhaustive()
    }
}

/// KEYS[1]: the counter; ARGV[1]: when it runs out (ms since the epoch); ARGV[2]: 1 for sliding (every hit moves
/// the end), 0 for fixed. Returns the count after the hit and the milliseconds left.
const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 or tonumber(ARGV[2]) == 1 or redis.call('PTTL', KEYS[1]) < 0 then
    redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
return {n, redis.call('PTTL', KEYS[1])}
";

/// KEYS[1]: the counter. Returns its count and the milliseconds left ({0, 0} when there is none).
const PEEK: &str = r"
local n = redis.call('GET', KEYS[1])
if not n then return {0, 0} end
return {tonumber(n), redis.call('PTTL', KEYS[1])}
";

const CLEAR: &str = "return redis.call('DEL', KEYS[1])";

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn timestamp(d: Duration) -> Timestamp {
    let nanos = i128::try_from(d.as_nanos()).unwrap_or(0);
    Timestamp(time::OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(time::OffsetDateTime::UNIX_EPOCH))
}

/// Where a counter is, for a hit now: its full key, the start of its window (the epoch for a sliding one) and when
/// it runs out.
fn place(key: &str, window: Window, now: Duration) -> (String, Duration, Duration) {
    match window {
        Window::Fixed(period) => {
            let p = period.as_millis().max(1);
            let start = Duration::from_millis(u64::try_from(now.as_millis() / p * p).unwrap_or(0));
            (format!("{key}:{}", start.as_millis()), start, start + period)
        }
        Window::Sliding(period) => (key.to_string(), Duration::ZERO, now + period),
    }
}

impl Counters {
    pub fn new(redis: Option<std::sync::Arc<Redis>>, store: std::sync::Arc<dyn Store>) -> Counters {
        Counters {
            redis,
            store,
            memory: Mutex::new(HashMap::new()),
            hit_script: redis::Script::new(HIT),
            peek_script: redis::Script::new(PEEK),
            clear_script: redis::Script::new(CLEAR),
        }
    }

    /// Where the next call would count.
    pub fn backend(&self) -> Backend {
        match &self.redis {
            Some(r) if r.available() => Backend::Redis,
            Some(_) => Backend::Database,
            None => Backend::Memory,
        }
    }

    pub fn redis(&self) -> Option<&Redis> {
        self.redis.as_deref()
    }

    /// One hit on `key`. Errors only when Redis is down and the system database fails too.
    pub async fn hit(&self, key: &str, window: Window) -> Result<Count, Error> {
        let now = unix_now();
        let (full, start, end) = place(key, window, now);
        let Some(redis) = &self.redis else {
            return Ok(self.memory_hit(&full, end.saturating_sub(now), window));
        };
        let sliding = i64::from(matches!(window, Window::Sliding(_)));
        if let Some((count, left)) =
            redis.run::<(i64, i64)>(&self.hit_script, &[format!("c:{full}")], &[ms(end), sliding]).await
        {
            return Ok(Count {
                count: u64::try_from(count).unwrap_or(0),
                resets_in: Duration::from_millis(u64::try_from(left).unwrap_or(0)),
            });
        }
        let count = self.store.bump_counter(key, timestamp(start), timestamp(end), timestamp(now)).await?;
        Ok(Count { count: u64::try_from(count).unwrap_or(0), resets_in: end.saturating_sub(now) })
    }

    /// The count of `key` now, without a hit.
    pub async fn peek(&self, key: &str, window: Window) -> Result<Count, Error> {
        let now = unix_now();
        let (full, start, _) = place(key, window, now);
        let Some(redis) = &self.redis else {
            let memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
            let found = memory.get(&full).filter(|(_, until)| *until > Instant::now());
            return Ok(found.map_or(Count { count: 0, resets_in: Duration::ZERO }, |(n, until)| Count {
                count: *n,
                resets_in: until.saturating_duration_since(Instant::now()),
            }));
        };
        if let Some((count, left)) = redis.run::<(i64, i64)>(&self.peek_script, &[format!("c:{full}")], &[]).await {
            return Ok(Count {
                count: u64::try_from(count).unwrap_or(0),
                resets_in: Duration::from_millis(u64::try_from(left.max(0)).unwrap_or(0)),
            });
        }
        Ok(match self.store.counter(key, timestamp(start), timestamp(now)).await? {
            Some((count, expires)) => Count {
                count: u64::try_from(count).unwrap_or(0),
                resets_in: Duration::try_from(expires.0 - timestamp(now).0).unwrap_or_default(),
            },
            None => Count { count: 0, resets_in: Duration::ZERO },
        })
    }

    /// Forgets a sliding counter (everywhere it may be).
    pub async fn clear(&self, key: &str) -> Result<(), Error> {
        let Some(redis) = &self.redis else {
            self.memory.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
            return Ok(());
        };
        let _ = redis.run::<i64>(&self.clear_script, &[format!("c:{key}")], &[]).await;
        // what was counted while Redis was down is in the system database
        self.store.clear_counter(key).await
    }

    fn memory_hit(&self, full: &str, left: Duration, window: Window) -> Count {
        let now = Instant::now();
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        if memory.len() >= SWEEP_AT {
            memory.retain(|_, (_, until)| *until > now);
        }
        let entry = memory.entry(full.to_string()).or_insert((0, now + left));
        if entry.1 <= now {
            *entry = (0, now + left);
        }
        entry.0 += 1;
        if matches!(window, Window::Sliding(_)) {
            entry.1 = now + left;
        }
        Count { count: entry.0, resets_in: entry.1.saturating_duration_since(now) }
    }
}

/// The answer caches in Redis, shared by every server. Entries are sealed (AES-256-GCM under a key derived from the
/// master key, bound to the entry's name): rows may hold personal data, and Redis is often less guarded than the
/// databases. While Redis does not answer the caches are bypassed — a lookup finds nothing, a store keeps nothing —
/// and questions are answered from the database and the LLM as if there were no cache.
pub struct RedisCache {
    redis: std::sync::Arc<Redis>,
    sealer: datagenie_store::SecretBox,
}

impl RedisCache {
    pub fn new(redis: std::sync::Arc<Redis>, master: &datagenie_store::MasterKey) -> RedisCache {
        RedisCache { redis, sealer: datagenie_store::SecretBox::new(&master.derive("datagenie answer cache v1")) }
    }

    fn name_of(&self, kind: CacheKind, scope: &str, key: &str) -> String {
        format!("{}cache:{}:{}:{key}", self.redis.prefix, kind.as_str(), glob_escape(scope))
    }
}

/// `text` with Redis's glob characters escaped (a scope is matched by SCAN's pattern).
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[async_trait::async_trait]
impl Cache for RedisCache {
    async fn get(&self, kind: CacheKind, scope: &str, key: &str) -> Option<Vec<u8>> {
        let name = self.name_of(kind, scope, key);
        let sealed: Option<Vec<u8>> = self.redis.query(redis::cmd("GET").arg(&name)).await?;
        // an entry that does not open (another key, tampered) is a miss
        self.sealer.open(&sealed?, name.as_bytes()).ok()
    }

    async fn put(&self, kind: CacheKind, scope: &str, key: &str, value: Vec<u8>, ttl: Duration) {
        let name = self.name_of(kind, scope, key);
        let Ok(sealed) = self.sealer.seal(&value, name.as_bytes()) else { return };
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: Option<()> = self.redis.query(redis::cmd("SET").arg(&name).arg(sealed).arg("PX").arg(ms)).await;
    }

    async fn purge(&self, scope: &str) -> Result<u64, Error> {
        let unreachable = || {
            Error::new(
                ErrorCode::CacheUnavailable,
                format!("Redis ({}) does not answer: the cache cannot be purged now", self.redis.describe()),
            )
        };
        let pattern = format!("{}cache:*:{}:*", self.redis.prefix, glob_escape(scope));
        let mut cursor: u64 = 0;
        let mut removed = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .redis
                .query(redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1000))
                .await
                .ok_or_else(unreachable)?;
            if !keys.is_empty() {
                let n: u64 = self.redis.query(redis::cmd("UNLINK").arg(&keys)).await.ok_or_else(unreachable)?;
                removed += n;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_windows_align_and_sliding_ones_move() {
        let now = Duration::from_millis(125_500);
        let (key, start, end) = place("rate:ip:1", Window::Fixed(Duration::from_secs(60)), now);
        assert_eq!(
            (key.as_str(), start, end),
            ("rate:ip:1:120000", Duration::from_secs(120), Duration::from_secs(180))
        );
        let (key, start, end) = place("login:email:a", Window::Sliding(Duration::from_secs(900)), now);
        assert_eq!((key.as_str(), start, end), ("login:email:a", Duration::ZERO, now + Duration::from_secs(900)));
    }
}
