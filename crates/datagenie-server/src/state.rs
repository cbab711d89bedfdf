//! What every handler shares: the store, the question service, the token keys, the limiters, the metrics and the
//! settings in force.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use datagenie_app::config::{Config, ServerConfig};
use datagenie_app::service::{QuestionDefaults, QuestionService, server_library};
use datagenie_core::Error;
use datagenie_store::crypto::TOKEN_SIGNING_LABEL;
use datagenie_store::model::TokenLimits;
use datagenie_store::{KnowledgeStore, MasterKey, Store, TemplateStore};

use crate::auth::TokenKeys;
use crate::limits::{LoginThrottle, RateLimiter};
use crate::metrics::Metrics;

/// The system settings the server applies on every request, read at start and after every change.
#[derive(Debug, Clone, PartialEq)]
pub struct Runtime {
    pub questions_per_minute_per_user: u32,
    pub requests_per_minute_per_address: u32,
    /// A new user's token limits.
    pub default_limits: TokenLimits,
    pub max_query_rows: usize,
    /// How long cached rows and LLM replies are kept (`cache_ttl_seconds`; 0: nothing is cached).
    pub cache_ttl: Duration,
    /// Tiers and credits (`billing_enabled`, `tiers`, `credits_per_question`, `admins_exempt`).
    pub billing: datagenie_app::billing::Billing,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime {
            questions_per_minute_per_user: 60,
            requests_per_minute_per_address: 600,
            default_limits: TokenLimits { hourly: Some(1_000), daily: Some(10_000), monthly: Some(100_000) },
            max_query_rows: 10_000,
            cache_ttl: Duration::from_secs(3600),
            billing: datagenie_app::billing::Billing::default(),
        }
    }
}

impl Runtime {
    /// From the stored settings; a missing or malformed value keeps its default.
    pub async fn load(store: &dyn Store) -> Result<Runtime, Error> {
        let mut r = Runtime::default();
        let settings = store.settings().await?;
        r.billing = datagenie_app::billing::Billing::from_settings(&settings);
        for s in settings {
            let int = || s.value.as_i64();
            let limit = || if s.value.is_null() { Some(None) } else { s.value.as_i64().map(Some) };
            match s.key.as_str() {
                "questions_per_minute_per_user" => {
                    if let Some(n) = int().and_then(|n| u32::try_from(n).ok()) {
                        r.questions_per_minute_per_user = n;
                    }
                }
                "requests_per_minute_per_address" => {
                    if let Some(n) = int().and_then(|n| u32::try_from(n).ok()) {
                        r.requests_per_minute_per_address = n;
                    }
                }
                "default_hourly_token_limit" => r.default_limits.hourly = limit().unwrap_or(r.default_limits.hourly),
                "default_daily_token_limit" => r.default_limits.daily = limit().unwrap_or(r.default_limits.daily),
                "default_monthly_token_limit" => {
                    r.default_limits.monthly = limit().unwrap_or(r.default_limits.monthly);
                }
                "cache_ttl_seconds" => {
                    if let Some(n) = int().and_then(|n| u64::try_from(n).ok()) {
                        r.cache_ttl = Duration::from_secs(n);
                    }
                }
                "max_query_rows" => {
                    if let Some(n) = int().and_then(|n| usize::try_from(n).ok()).filter(|n| *n > 0) {
                        r.max_query_rows = n;
                    }
                }
                _ => {}
            }
        }
        Ok(r)
    }
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Where uploaded spreadsheets are kept (`<data_dir>/files`); `None`: uploads are off (no data directory).
    pub files_dir: Option<std::path::PathBuf>,
    pub questions: QuestionService,
    pub templates: Option<Arc<TemplateStore>>,
    pub tokens: TokenKeys,
    pub refresh_ttl: Duration,
    pub server: ServerConfig,
    pub rates: RateLimiter,
    pub logins: LoginThrottle,
    /// Counters shared through Redis (or the system database, or this process); see [`crate::shared`].
    pub counters: Arc<crate::shared::Counters>,
    /// Wakes this server's idle job workers when a job is queued here.
    pub jobs_ready: tokio::sync::Notify,
    /// Where answers' rows and LLM replies are cached (Redis or this process).
    pub cache: Arc<dyn datagenie_app::answer_cache::Cache>,
    pub metrics: Metrics,
    runtime: RwLock<Runtime>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("server", &self.server).finish_non_exhaustive()
    }
}

/// How questions use `cache` with a time to live of `ttl` (0: not at all).
fn cache_plan(
    cache: &Arc<dyn datagenie_app::answer_cache::Cache>,
    ttl: Duration,
) -> Option<datagenie_app::answer_cache::CachePlan> {
    (!ttl.is_zero()).then(|| datagenie_app::answer_cache::CachePlan {
        cache: cache.clone(),
        rows_ttl: Some(ttl),
        llm_ttl: Some(ttl),
    })
}

/// The master key: `DATAGENIE_SECRET_KEY` (64 hex characters) when set, else `<data_dir>/secret.key` (created,
/// mode 0600, on first start).
pub fn master_key(secret_key: Option<&str>, data_dir: &Path) -> Result<MasterKey, Error> {
    match secret_key.map(str::trim).filter(|k| !k.is_empty()) {
        Some(hex) => MasterKey::from_hex(hex),
        None => MasterKey::load_or_create(&data_dir.join(SECRET_KEY_FILE)),
    }
}

/// The key file in the data directory.
pub const SECRET_KEY_FILE: &str = "secret.key";

impl AppState {
    /// Opens the configured system database (`system_db.url`: the SQLite file in `data_dir` by default, or
    /// PostgreSQL), migrating it, and everything the server needs.
    pub async fn open(config: &Config, data_dir: &Path, master: &MasterKey) -> Result<AppState, Error> {
        let system = datagenie_app::system::open(config, master).await?;
        tracing::info!(system_db = %system.location.describe(), engine = system.location.engine(), "system database");
        let mut state =
            AppState::with_store(config, system.store, Some(system.templates), Some(system.knowledge), master).await?;
        state.files_dir = Some(data_dir.join("files"));
        state.questions.registry.set_files_dir(data_dir.join("files"));
        match crate::routes::files::sweep(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "uploaded files of deleted connections removed"),
            Err(e) => tracing::warn!(error = %e, "cannot check the uploaded files"),
        }
        Ok(state)
    }

    /// Everything the server needs on `store`, with its templates and knowledge items (`None`: none).
    pub async fn with_store(
        config: &Config,
        store: Arc<dyn Store>,
        templates: Option<Arc<TemplateStore>>,
        knowledge: Option<KnowledgeStore>,
        master: &MasterKey,
    ) -> Result<AppState, Error> {
        let mut context = datagenie_app::session::context(config, templates.clone())?;
        // Knowledge items, verified templates and verified answers, for every question's prompt.
        let library = server_library(config, knowledge, templates.clone(), store.clone())?;
        context.library = Some(Arc::new(library));
        let defaults = QuestionDefaults {
            max_rows: config.ask.max_rows,
            timeout: config.ask_timeout(),
            max_attempts: config.ask.max_attempts,
            summary: config.ask.summary,
            schema_budget_tokens: config.ask.schema_budget_tokens,
            temperature: config.llm.temperature as f32,
            max_tokens: config.llm.max_tokens,
        };
        let runtime = Runtime::load(store.as_ref()).await?;
        let server = config.server.clone();
        let redis = match config.redis.url.expose().trim() {
            "" => None,
            _ => {
                let redis = crate::shared::Redis::new(&config.redis.url, &config.redis.key_prefix)?;
                tracing::info!(redis = %redis.describe(), "shared counters in Redis");
                Some(Arc::new(redis))
            }
        };
        let counters = Arc::new(crate::shared::Counters::new(redis.clone(), store.clone()));
        // Answer caches: in Redis when configured (shared, sealed, bypassed while Redis is down), else in memory.
        let cache: Arc<dyn datagenie_app::answer_cache::Cache> = match &redis {
            Some(r) => Arc::new(crate::shared::RedisCache::new(r.clone(), master)),
            None => Arc::new(datagenie_app::answer_cache::MemoryCache::new(
                datagenie_app::answer_cache::DEFAULT_MEMORY_BYTES,
            )),
        };
        let questions = QuestionService::new(store.clone(), Arc::new(context), defaults);
        questions.set_cache(cache_plan(&cache, runtime.cache_ttl));
        questions.set_billing(runtime.billing.clone());
        Ok(AppState {
            jobs_ready: tokio::sync::Notify::new(),
            cache,
            questions,
            store,
            templates,
            tokens: TokenKeys::new(
                &master.derive(TOKEN_SIGNING_LABEL),
                Duration::from_secs(server.access_token_ttl_secs),
            )?,
            refresh_ttl: Duration::from_secs(server.refresh_token_ttl_secs),
            rates: RateLimiter::new(counters.clone()),
            logins: LoginThrottle::new(
                counters.clone(),
                server.login_max_failures,
                Duration::from_secs(server.login_lockout_secs),
            ),
            counters,
            metrics: Metrics::new(),
            runtime: RwLock::new(runtime),
            server,
            files_dir: None,
        })
    }

    pub fn runtime(&self) -> Runtime {
        self.runtime.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Re-reads the settings (after a change).
    pub async fn reload_runtime(&self) -> Result<(), Error> {
        let fresh = Runtime::load(self.store.as_ref()).await?;
        if fresh.cache_ttl != self.runtime().cache_ttl {
            self.questions.set_cache(cache_plan(&self.cache, fresh.cache_ttl));
        }
        self.questions.set_billing(fresh.billing.clone());
        *self.runtime.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }
}
