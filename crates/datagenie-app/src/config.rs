//! Configuration, in layers: built-in defaults → `datagenie.toml` → environment `DATAGENIE_SECTION__KEY` → command-line
//! flags (applied by the caller on the loaded [`Config`]). Unknown keys are rejected at every layer, and nothing here
//! ever writes a configuration file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use datagenie_core::llm::{ModelPrice, PriceTable};
use datagenie_core::{Error, ErrorCode, Secret, SecretUrl};
use serde::{Deserialize, Serialize};

/// The commented example configuration that `datagenie config default` prints. A test proves it parses to exactly
/// the built-in defaults, so it cannot drift from the code.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("default_config.toml");

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub database: DatabaseConfig,
    pub llm: LlmConfig,
    pub ask: AskConfig,
    pub pii: PiiConfig,
    pub paths: PathsConfig,
    pub files: FilesConfig,
    pub knowledge: KnowledgeConfig,
    pub embeddings: EmbeddingsConfig,
    pub server: ServerConfig,
    pub system_db: SystemDbConfig,
    pub redis: RedisConfig,
    /// Where `llm.provider` came from (not a key: recorded by [`Config::load`], or by a flag that overrides it).
    #[serde(skip)]
    pub llm_origin: Origin,
    /// The configuration file read, if any (its folder holds the default `knowledge/` folder).
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

/// Where a setting's value came from. Shown by `config show` and in every answer's `source.llm.from`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Origin {
    /// Nothing set it: the built-in default.
    #[default]
    Default,
    /// The configuration file at this path.
    File(PathBuf),
    /// This environment variable.
    Env(String),
    /// This command-line flag.
    Flag(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::Flag(name) => write!(f, "flag {name}"),
        }
    }
}

impl Serialize for Origin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The LLM setting in force: which provider (`builtin` = no LLM), which model, and where the choice came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmInForce {
    pub provider: ProviderKind,
    /// `None` for `builtin`.
    pub model: Option<String>,
    pub from: Origin,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PiiConfig {
    /// Mask personal data (emails, phones, card numbers, names, national IDs, addresses) in results and in the
    /// sample values sent to the LLM. `ask --unmask` turns it off for one question.
    pub mask: bool,
    /// Classification overrides: `"table.column" = "email" | "phone" | "card_number" | "person_name" |
    /// "national_id" | "address" | "none"`.
    pub columns: BTreeMap<String, String>,
}

impl Default for PiiConfig {
    fn default() -> Self {
        PiiConfig { mask: true, columns: BTreeMap::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// The database `ask` and `schema` use when `--db` is not given. Empty: the built-in demo database. It may hold
    /// a password, so it is printed only redacted.
    pub url: SecretUrl,
}

/// DataGenie's own database (users, history, audit, …): the SQLite file `<data_dir>/datagenie.db` by default, or a
/// PostgreSQL database that several servers share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SystemDbConfig {
    /// Empty: the SQLite file in the data directory. `sqlite:///path/datagenie.db`, or
    /// `postgres://user:password@host:5432/db` (`?schema=NAME` keeps DataGenie's tables in a schema of their own;
    /// `sslmode=require|verify-full`, `sslrootcert=PATH` as for a connection). Printed only redacted.
    pub url: SecretUrl,
    /// The most connections one server keeps to a PostgreSQL system database.
    pub pool_size: usize,
}

impl Default for SystemDbConfig {
    fn default() -> Self {
        SystemDbConfig { url: SecretUrl::default(), pool_size: 16 }
    }
}

/// Redis, optional: what several servers share besides the system database (request-rate and login counters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// Empty: no Redis (counters in this process: one server). `redis://[:password@]host:6379[/db]`, `rediss://`
    /// for TLS. Printed only redacted.
    pub url: SecretUrl,
    /// Starts every key DataGenie writes, so that several installations can share one Redis.
    pub key_prefix: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig { url: SecretUrl::default(), key_prefix: "datagenie:".into() }
    }
}

/// The model used with an OpenAI-compatible endpoint when none is configured.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";
/// The model used with Anthropic when none is configured.
pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-3-5-haiku-latest";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, Azure).
    Openai,
    /// Anthropic's messages API.
    Anthropic,
    /// No LLM: DataGenie answers what it can by itself.
    Builtin,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Builtin => "builtin",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    pub provider: ProviderKind,
    /// Empty: the provider's public endpoint (`https://api.openai.com/v1`, `https://api.anthropic.com`).
    pub base_url: String,
    #[serde(serialize_with = "redacted")]
    pub api_key: Secret,
    /// Empty: `gpt-4o-mini` (openai) or `claude-3-5-haiku-latest` (anthropic).
    pub model: String,
    pub timeout_secs: u64,
    pub max_retries: u32,
    pub temperature: f64,
    pub max_tokens: u32,
    /// Extra or overriding model prices, USD per million tokens: `[llm.prices."my-model"]`.
    pub prices: BTreeMap<String, ModelPrice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AskConfig {
    pub max_rows: usize,
    pub timeout_secs: u64,
    /// LLM attempts in all, repairs included.
    pub max_attempts: u32,
    /// Token budget for the schema part of the prompt.
    pub schema_budget_tokens: usize,
    pub summary: bool,
    /// Re-introspect a cached schema older than this even when its structure is unchanged (fresh counts, samples).
    pub schema_max_age_secs: u64,
    /// With an LLM configured: try the built-in engine first and use its answer when it is confident.
    pub builtin_first: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PathsConfig {
    /// Where the demo database lives. Empty: the platform data directory.
    pub data_dir: String,
    /// Where schema snapshots are cached. Empty: the platform cache directory.
    pub cache_dir: String,
}

/// Spreadsheets given as a database (`--db sales.csv`, `--db report.xlsx`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    /// Also read a workbook's hidden sheets as tables.
    pub include_hidden_sheets: bool,
}

/// What the LLM is given beyond the schema: cell values the question names, business terms, documentation and
/// verified examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KnowledgeConfig {
    /// Distinct values per text column indexed for value linking (personal-data columns left out while masking is
    /// on); 0 turns value linking off.
    pub values_per_column: usize,
    /// The most prompt tokens the knowledge sections take together.
    pub budget_tokens: usize,
    /// The knowledge folder (glossary.toml, descriptions.toml, documents). Empty: `knowledge/` beside the
    /// configuration file, when it exists.
    pub dir: String,
}

impl Default for KnowledgeConfig {
    fn default() -> Self {
        KnowledgeConfig { values_per_column: 1000, budget_tokens: 1200, dir: String::new() }
    }
}

/// An OpenAI-compatible embeddings endpoint (`POST {base_url}/embeddings`: OpenAI, Ollama, vLLM, LM Studio,
/// llama.cpp). With one, examples, glossary entries and documents are also retrieved by meaning; without one,
/// lexically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingsConfig {
    /// Empty: no embeddings.
    pub base_url: String,
    /// Empty: `llm.api_key`.
    #[serde(serialize_with = "redacted")]
    pub api_key: Secret,
    /// Empty: `text-embedding-3-small`.
    pub model: String,
    /// Ask for vectors of this size (models that support it); 0: the model's own.
    pub dimensions: u32,
    pub timeout_secs: u64,
}

impl Default for EmbeddingsConfig {
    fn default() -> Self {
        EmbeddingsConfig {
            base_url: String::new(),
            api_key: Secret::default(),
            model: String::new(),
            dimensions: 0,
            timeout_secs: 30,
        }
    }
}

/// `datagenie serve`: the HTTP server. Limits that an admin changes at run time (token limits, request rates) are
/// system settings (`/api/v1/settings`), not configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// `ADDR:PORT`; `--bind` overrides.
    pub bind: String,
    /// How long an access token (JWT) is valid.
    pub access_token_ttl_secs: u64,
    /// How long a refresh token is valid (each use rotates it).
    pub refresh_token_ttl_secs: u64,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// A request that takes longer is answered 503 (a question's own limit is `ask.timeout_secs` per query).
    pub request_timeout_secs: u64,
    /// Origins allowed to call the API from a browser (CORS). Empty: CORS off (same origin only).
    pub cors_origins: Vec<String>,
    /// Failed logins in a row for one account, or from one address, before further attempts are refused.
    pub login_max_failures: u32,
    /// How long logins stay refused after that.
    pub login_lockout_secs: u64,
    /// Trust the first address of `X-Forwarded-For` as the client's (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// `Host` values `/mcp` answers (`host` or `host:port`), against DNS rebinding. Empty: loopback only
    /// (`localhost`, `127.0.0.1`, `::1`); `["*"]`: any host (only behind a proxy that checks it).
    pub mcp_allowed_hosts: Vec<String>,
    /// Browser origins `/mcp` accepts (`https://app.example.com:443`, `http://localhost:*`). Empty: requests with
    /// an `Origin` header are refused (agents send none; a web page should not reach MCP unasked).
    pub mcp_allowed_origins: Vec<String>,
    /// Workers taking queued jobs (`/api/v1/jobs`) on this server; 0: this server queues but does not run jobs.
    pub job_workers: usize,
    /// How long a worker holds a job before it must renew its lease (it renews at a third of it); a job whose
    /// server died is taken by another once its lease runs out.
    pub job_lease_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 86_400,
            max_body_bytes: 1 << 20,
            request_timeout_secs: 300,
            cors_origins: Vec::new(),
            login_max_failures: 5,
            login_lockout_secs: 900,
            trust_forwarded_for: false,
            mcp_allowed_hosts: Vec::new(),
            mcp_allowed_origins: Vec::new(),
            job_workers: 2,
            job_lease_secs: 60,
        }
    }
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            provider: ProviderKind::Builtin,
            base_url: String::new(),
            api_key: Secret::default(),
            model: String::new(),
            timeout_secs: 60,
            max_retries: 3,
            temperature: 0.0,
            max_tokens: 1024,
            prices: BTreeMap::new(),
        }
    }
}

impl Default for AskConfig {
    fn default() -> Self {
        AskConfig {
            max_rows: 1000,
            timeout_secs: 30,
            max_attempts: 3,
            schema_budget_tokens: 6000,
            summary: true,
            schema_max_age_secs: 86_400,
            builtin_first: false,
        }
    }
}

fn redacted<S: serde::Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if secret.is_empty() { "" } else { "[redacted]" })
}

/// Where configuration comes from. The binary fills it from the process; tests fill it by hand.
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    /// An explicit file (`--config`): it must exist.
    pub explicit_file: Option<PathBuf>,
    /// The platform default file: used when it exists.
    pub default_file: Option<PathBuf>,
    /// The environment, as (name, value) pairs.
    pub env: Vec<(String, String)>,
}

impl ConfigSources {
    /// The process environment and the platform config directory.
    pub fn from_process(explicit_file: Option<PathBuf>) -> Self {
        ConfigSources {
            explicit_file,
            default_file: directories::ProjectDirs::from("", "", "datagenie")
                .map(|d| d.config_dir().join("datagenie.toml")),
            env: std::env::vars().collect(),
        }
    }
}

impl Config {
    pub fn load(sources: &ConfigSources) -> Result<Config, Error> {
        let mut table = toml::Table::new();
        let file = match &sources.explicit_file {
            Some(p) => Some(p.clone()),
            None => sources.default_file.clone().filter(|p| p.is_file()),
        };
        if let Some(path) = &file {
            table = read_file(path)?;
        }
        let llm_in_file = |key: Option<&str>| {
            table.get("llm").and_then(toml::Value::as_table).is_some_and(|t| match key {
                Some(k) => t.contains_key(k),
                None => !t.is_empty(),
            })
        };
        let mut llm_origin = match &file {
            Some(path) if llm_in_file(Some("provider")) => Origin::File(path.clone()),
            _ => Origin::Default,
        };
        let mut llm_given = llm_in_file(None);
        let from_env = env_layer(&sources.env)?;
        for (name, _) in &sources.env {
            if name == "DATAGENIE_LLM__PROVIDER" {
                llm_origin = Origin::Env(name.clone());
            }
            llm_given |= name.starts_with("DATAGENIE_LLM__");
        }
        merge(&mut table, from_env);
        let mut config = Config::deserialize(toml::Value::Table(table))
            .map_err(|e| Error::new(ErrorCode::InvalidConfig, format!("invalid configuration: {}", e.message())))?;
        config.llm_origin = llm_origin;
        config.file = file.clone();
        if !llm_given {
            config.apply_openai_fallback(&sources.env);
        }
        config.validate()?;
        Ok(config)
    }

    /// `OPENAI_API_KEY` / `OPENAI_BASE_URL` choose an OpenAI-compatible LLM. Called only when no LLM setting at all
    /// came from DataGenie's own file or `DATAGENIE_LLM__*` variables: a user who chose an LLM — or chose none with
    /// `provider = "builtin"` — is never overridden by another program's variables.
    fn apply_openai_fallback(&mut self, env: &[(String, String)]) {
        let get = |k: &str| env.iter().find(|(n, v)| n == k && !v.trim().is_empty()).map(|(_, v)| v.trim().to_string());
        let key = get("OPENAI_API_KEY");
        let base = get("OPENAI_BASE_URL");
        let origin = match (&key, &base) {
            (Some(_), _) => "OPENAI_API_KEY",
            (None, Some(_)) => "OPENAI_BASE_URL",
            (None, None) => return,
        };
        self.llm.provider = ProviderKind::Openai;
        self.llm_origin = Origin::Env(origin.to_string());
        if let Some(k) = key {
            self.llm.api_key = Secret::new(k);
        }
        if let Some(b) = base {
            self.llm.base_url = b;
        }
    }

    /// The LLM setting in force and where it came from.
    pub fn llm_in_force(&self) -> LlmInForce {
        let model = self.llm.model.trim();
        let model = match self.llm.provider {
            ProviderKind::Builtin => None,
            ProviderKind::Openai if model.is_empty() => Some(DEFAULT_OPENAI_MODEL.to_string()),
            ProviderKind::Anthropic if model.is_empty() => Some(DEFAULT_ANTHROPIC_MODEL.to_string()),
            _ => Some(model.to_string()),
        };
        LlmInForce { provider: self.llm.provider, model, from: self.llm_origin.clone() }
    }

    fn validate(&self) -> Result<(), Error> {
        crate::privacy::Privacy::from_config(self.pii.mask, &self.pii.columns)?;
        let bad = |m: String| Err(Error::new(ErrorCode::InvalidConfig, m));
        if self.knowledge.values_per_column > 100_000 {
            return bad("knowledge.values_per_column must be at most 100000".into());
        }
        if self.knowledge.budget_tokens > 100_000 {
            return bad("knowledge.budget_tokens must be at most 100000".into());
        }
        if self.ask.max_rows == 0 {
            return bad("ask.max_rows must be at least 1".into());
        }
        if self.ask.timeout_secs == 0 {
            return bad("ask.timeout_secs must be at least 1".into());
        }
        if self.ask.max_attempts == 0 {
            return bad("ask.max_attempts must be at least 1".into());
        }
        if self.ask.schema_budget_tokens < 200 {
            return bad("ask.schema_budget_tokens must be at least 200".into());
        }
        if !(0.0..=2.0).contains(&self.llm.temperature) {
            return bad("llm.temperature must be between 0 and 2".into());
        }
        if self.llm.timeout_secs == 0 {
            return bad("llm.timeout_secs must be at least 1".into());
        }
        Ok(())
    }

    pub fn price_table(&self) -> PriceTable {
        let mut t = PriceTable::default();
        for (model, price) in &self.llm.prices {
            t.insert(model.clone(), *price);
        }
        t
    }

    pub fn ask_timeout(&self) -> Duration {
        Duration::from_secs(self.ask.timeout_secs)
    }

    /// The directory the demo database lives in.
    pub fn data_dir(&self) -> Result<PathBuf, Error> {
        platform_dir(&self.paths.data_dir, |d| d.data_dir().to_path_buf(), "data")
    }

    /// The directory schema snapshots are cached in.
    pub fn cache_dir(&self) -> Result<PathBuf, Error> {
        platform_dir(&self.paths.cache_dir, |d| d.cache_dir().to_path_buf(), "cache")
    }

    /// The effective configuration as TOML, with secrets redacted (`datagenie config show`), headed by a comment
    /// saying which LLM is in force and where that choice came from.
    pub fn to_redacted_toml(&self) -> String {
        let in_force = self.llm_in_force();
        let what = match &in_force.model {
            None => "no LLM: verified templates and the built-in engine answer; nothing is sent to an LLM".to_string(),
            Some(model) => format!("questions and schema samples are sent to this LLM, model {model}"),
        };
        let body = toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot show the configuration: {e}\n"));
        format!("# llm.provider = \"{}\" (from {}): {what}\n\n{body}", in_force.provider.as_str(), in_force.from)
    }
}

fn platform_dir(
    configured: &str,
    pick: impl Fn(&directories::ProjectDirs) -> PathBuf,
    what: &str,
) -> Result<PathBuf, Error> {
    if !configured.trim().is_empty() {
        return Ok(PathBuf::from(configured.trim()));
    }
    directories::ProjectDirs::from("", "", "datagenie").map(|d| pick(&d)).ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidConfig,
            format!("no home directory to put the {what} directory in; set paths.{what}_dir"),
        )
    })
}

fn read_file(path: &Path) -> Result<toml::Table, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(ErrorCode::InvalidConfig, format!("cannot read configuration file {}: {e}", path.display()))
    })?;
    text.parse::<toml::Table>().map_err(|e| {
        Error::new(ErrorCode::InvalidConfig, format!("configuration file {} is not valid TOML: {e}", path.display()))
    })
}

/// Turns `DATAGENIE_SECTION__KEY=value` variables into a TOML table. Each value is typed by the default value at the
/// same path (so `DATAGENIE_ASK__MAX_ROWS=abc` is a clear error, and an API key that looks like a number stays text).
/// Variables without `__` (such as `DATAGENIE_LOG`) are not configuration keys and are ignored.
fn env_layer(env: &[(String, String)]) -> Result<toml::Table, Error> {
    let defaults = toml::Table::try_from(Config::default())
        .map_err(|e| Error::new(ErrorCode::Internal, format!("cannot describe the defaults: {e}")))?;
    let mut out = toml::Table::new();
    let mut vars: Vec<&(String, String)> = env.iter().filter(|(k, _)| k.starts_with("DATAGENIE_")).collect();
    vars.sort();
    for (name, raw) in vars {
        let rest = &name["DATAGENIE_".len()..];
        if !rest.contains("__") {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(|p| p.is_empty()) {
            return Err(Error::new(ErrorCode::InvalidConfig, format!("{name}: malformed configuration variable name")));
        }
        let value = typed_env_value(&defaults, &path, raw)
            .map_err(|m| Error::new(ErrorCode::InvalidConfig, format!("{name}: {m}")))?;
        insert_path(&mut out, &path, value);
    }
    Ok(out)
}

fn typed_env_value(defaults: &toml::Table, path: &[String], raw: &str) -> Result<toml::Value, String> {
    // Walk the defaults; a map-valued section (like llm.prices) accepts any key, typed as TOML.
    let mut node = defaults;
    for (i, key) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match node.get(key) {
            Some(toml::Value::Table(t)) if !last => {
                if t.is_empty() {
                    // A free-form map: the value is a TOML value, or else plain text.
                    return Ok(parse_toml_value(raw).unwrap_or_else(|_| toml::Value::String(raw.to_string())));
                }
                node = t;
            }
            Some(v) if last => return coerce(v, raw),
            _ => return Err(format!("unknown configuration key '{}'", path.join("."))),
        }
    }
    Err(format!("'{}' is a section, not a key", path.join(".")))
}

fn coerce(default: &toml::Value, raw: &str) -> Result<toml::Value, String> {
    let t = raw.trim();
    match default {
        toml::Value::String(_) => Ok(toml::Value::String(raw.to_string())),
        toml::Value::Integer(_) => {
            t.parse::<i64>().map(toml::Value::Integer).map_err(|_| format!("expected a whole number, got '{t}'"))
        }
        toml::Value::Float(_) => {
            t.parse::<f64>().map(toml::Value::Float).map_err(|_| format!("expected a number, got '{t}'"))
        }
        toml::Value::Boolean(_) => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("expected true or false, got '{t}'")),
        },
        _ => parse_toml_value(raw),
    }
}

fn parse_toml_value(raw: &str) -> Result<toml::Value, String> {
    let doc = format!("v = {raw}");
    doc.parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .ok_or_else(|| format!("'{raw}' is not a TOML value"))
}

fn insert_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut node = table;
    for p in parents {
        let entry = node.entry(p.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(t) = entry else { return };
        node = t;
    }
    node.insert(last.clone(), value);
}

/// Deep-merges `over` into `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn load(file: Option<&str>, vars: &[(&str, &str)]) -> Result<Config, Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
        let explicit_file = file.map(|text| {
            let p = dir.path().join("datagenie.toml");
            std::fs::write(&p, text).map(|_| p)
        });
        let explicit_file = match explicit_file {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => return Err(Error::new(ErrorCode::Internal, e.to_string())),
            None => None,
        };
        Config::load(&ConfigSources { explicit_file, default_file: None, env: env(vars) })
    }

    #[test]
    fn the_printed_default_is_the_default() {
        let parsed: Config = toml::from_str(DEFAULT_CONFIG_TOML).expect("default config parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn layers_apply_in_order() {
        let c = load(
            Some("[ask]\nmax_rows = 10\ntimeout_secs = 5\n[llm]\nmodel = \"from-file\"\n"),
            &[("DATAGENIE_ASK__MAX_ROWS", "20"), ("DATAGENIE_LLM__PROVIDER", "openai")],
        )
        .expect("loads");
        assert_eq!(c.ask.max_rows, 20, "env beats file");
        assert_eq!(c.ask.timeout_secs, 5, "file beats default");
        assert_eq!(c.llm.model, "from-file");
        assert_eq!(c.llm.provider, ProviderKind::Openai);
        assert_eq!(c.ask.max_attempts, 3, "default kept");
    }

    #[test]
    fn unknown_keys_are_rejected_everywhere() {
        let e = load(Some("[ask]\nmax_rowz = 1\n"), &[]).expect_err("unknown file key");
        assert_eq!(e.code, ErrorCode::InvalidConfig);
        assert!(e.message.contains("max_rowz"), "{}", e.message);
        let e = load(None, &[("DATAGENIE_ASK__NOPE", "1")]).expect_err("unknown env key");
        assert!(e.message.contains("DATAGENIE_ASK__NOPE"), "{}", e.message);
        let e = load(Some("[nope]\nx = 1\n"), &[]).expect_err("unknown section");
        assert_eq!(e.code, ErrorCode::InvalidConfig);
    }

    #[test]
    fn env_values_are_typed_by_the_defaults() {
        let e = load(None, &[("DATAGENIE_ASK__MAX_ROWS", "lots")]).expect_err("not a number");
        assert!(e.message.contains("whole number"), "{}", e.message);
        let c = load(None, &[("DATAGENIE_LLM__API_KEY", "12345"), ("DATAGENIE_ASK__SUMMARY", "false")]).expect("ok");
        assert_eq!(c.llm.api_key.expose(), "12345");
        assert!(!c.ask.summary);
        let c = load(None, &[("DATAGENIE_LLM__PRICES__MY_MODEL", "{ input_per_mtok = 1.0, output_per_mtok = 2.0 }")])
            .expect("price map from env");
        assert_eq!(c.price_table().price("my_model").map(|p| p.output_per_mtok), Some(2.0));
    }

    #[test]
    fn variables_without_a_section_are_not_config() {
        assert!(load(None, &[("DATAGENIE_LOG", "debug"), ("DATAGENIE_CONFIG", "/x")]).is_ok());
    }

    #[test]
    fn an_explicit_builtin_is_never_overridden_by_openai_variables() {
        let openai = [("OPENAI_API_KEY", "sk-from-elsewhere"), ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")];
        let env_choice: Vec<(&str, &str)> =
            openai.iter().copied().chain([("DATAGENIE_LLM__PROVIDER", "builtin")]).collect();
        let c = load(None, &env_choice).expect("ok");
        assert_eq!(c.llm.provider, ProviderKind::Builtin);
        assert!(c.llm.api_key.is_empty() && c.llm.base_url.is_empty());
        assert_eq!(c.llm_in_force().from, Origin::Env("DATAGENIE_LLM__PROVIDER".into()));
        assert_eq!(c.llm_in_force().model, None);

        let c = load(Some("[llm]\nprovider = \"builtin\"\n"), &openai).expect("ok");
        assert_eq!(c.llm.provider, ProviderKind::Builtin);
        assert!(matches!(c.llm_in_force().from, Origin::File(_)), "{:?}", c.llm_in_force());
        let shown = c.to_redacted_toml();
        assert!(shown.starts_with("# llm.provider = \"builtin\" (from file "), "{shown}");
        assert!(!shown.contains("sk-from-elsewhere"));

        // Any other LLM setting is a choice too: the model alone keeps OPENAI_* out.
        let c = load(None, &[openai[0], ("DATAGENIE_LLM__MODEL", "m")]).expect("ok");
        assert_eq!(c.llm.provider, ProviderKind::Builtin);
        assert_eq!(c.llm_in_force().from, Origin::Default);
    }

    #[test]
    fn openai_variables_are_honoured_only_when_nothing_else_is_set() {
        let c = load(None, &[("OPENAI_API_KEY", "sk-x"), ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")]).expect("ok");
        assert_eq!(c.llm.provider, ProviderKind::Openai);
        assert_eq!(c.llm.api_key.expose(), "sk-x");
        assert_eq!(c.llm.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(c.llm_in_force().from, Origin::Env("OPENAI_API_KEY".into()));
        assert_eq!(c.llm_in_force().model.as_deref(), Some("gpt-4o-mini"));
        let c = load(None, &[("OPENAI_API_KEY", "sk-x"), ("DATAGENIE_LLM__PROVIDER", "anthropic")]).expect("ok");
        assert_eq!(c.llm.provider, ProviderKind::Anthropic);
        assert!(c.llm.api_key.is_empty(), "OPENAI_API_KEY must not leak into another provider");
    }

    #[test]
    fn bad_values_and_missing_files_are_clear_errors() {
        let e = load(None, &[("DATAGENIE_LLM__PROVIDER", "gpt")]).expect_err("unknown provider");
        assert_eq!(e.code, ErrorCode::InvalidConfig);
        let e = load(None, &[("DATAGENIE_ASK__MAX_ROWS", "0")]).expect_err("zero rows");
        assert!(e.message.contains("max_rows"));
        let e = load(Some("this is = = not toml"), &[]).expect_err("bad toml");
        assert!(e.message.contains("not valid TOML"));
        let missing = Config::load(&ConfigSources {
            explicit_file: Some(PathBuf::from("/nonexistent/datagenie.toml")),
            ..Default::default()
        })
        .expect_err("missing explicit file");
        assert!(missing.message.contains("cannot read"));
    }

    #[test]
    fn pii_overrides_are_validated() {
        let c = load(Some("[pii]\nmask = false\n[pii.columns]\n\"users.memo\" = \"phone\"\n"), &[]).expect("ok");
        assert!(!c.pii.mask);
        let e = load(Some("[pii.columns]\n\"users.memo\" = \"shoe_size\"\n"), &[]).expect_err("bad kind");
        assert_eq!(e.code, ErrorCode::InvalidConfig);
        assert!(load(None, &[("DATAGENIE_PII__MASK", "false")]).is_ok_and(|c| !c.pii.mask));
    }

    #[test]
    fn secrets_never_show() {
        let c = load(None, &[("DATAGENIE_LLM__API_KEY", "sk-secret-value")]).expect("ok");
        assert!(!format!("{c:?}").contains("sk-secret-value"));
        assert!(!c.to_redacted_toml().contains("sk-secret-value"));
        assert!(c.to_redacted_toml().contains("[redacted]"));
    }

    #[test]
    fn database_passwords_never_show_from_any_layer() {
        let from_env = load(None, &[("DATAGENIE_DATABASE__URL", "postgres://bob:EnvPass1@db/shop")]).expect("ok");
        let from_file =
            load(Some("[database]\nurl = \"mysql://root:FilePass2@db:3306/shop?ssl-mode=REQUIRED\"\n"), &[])
                .expect("ok");
        let in_query = load(None, &[("DATAGENIE_DATABASE__URL", "postgresql://db/shop?user=bob&password=QueryPass3")])
            .expect("ok");
        for (c, pass) in [(&from_env, "EnvPass1"), (&from_file, "FilePass2"), (&in_query, "QueryPass3")] {
            assert!(c.database.url.expose().contains(pass), "the connector still gets the password");
            for shown in [format!("{c:?}"), format!("{c:#?}"), c.to_redacted_toml(), c.database.url.to_string()] {
                assert!(!shown.contains(pass), "{shown}");
            }
            assert!(c.to_redacted_toml().contains("[redacted]"));
        }
    }
}
