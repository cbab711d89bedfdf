//! The ask pipeline — the one path from a question to an answer, shared by the CLI, the HTTP API and MCP:
//! schema (cached) → SQL from the first source that has it → guard → execution → chart → analysis.
//!
//! The sources, in order: a verified query template of this database (a person's SQL, no LLM call); the built-in
//! engine when no LLM is configured, or first when `builtin_first` is set and it is confident (no LLM call); the LLM
//! (schema linking and prompt → LLM → SQL extraction, with repair attempts). Whatever the source, its SQL passes the
//! guard before it runs. Every LLM call is metered; every attempt is reported.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datagenie_core::analysis;
use datagenie_core::builtin::{self, Engine, Outcome, TermCondition};
use datagenie_core::chart;
use datagenie_core::connector::{Connector, IntrospectOptions, Limits};
use datagenie_core::extract::extract_sql;
use datagenie_core::guard::{self, AttrValue, Policy, TableRef};
use datagenie_core::knowledge::{Chunk, Example, GlossaryEntry, KnowledgeIndex, RetrieveLimits, Retrieved, Scored};
use datagenie_core::linking::SchemaIndex;
use datagenie_core::llm::{ChatRequest, ChatResponse, LlmProvider, PriceTable, TokenUsage};
use datagenie_core::prompt::{
    ExampleNote, Excerpt, PromptKnowledge, SqlPromptInput, TermNote, Turn, repair_messages, sql_request,
};
use datagenie_core::schema::Schema;
use datagenie_core::value::{ResultColumn, ResultSet, Value};
use datagenie_core::values::{ValueIndex, ValueMatch};
use datagenie_core::{Error, ErrorCode, Question};
use datagenie_store::{TemplateMatch, TemplateStore};
use serde::Serialize;

use crate::answer_cache::{CacheKind, decode_rows, digest, encode_rows};
use crate::config::LlmInForce;
use crate::privacy::{MaskedColumn, Privacy};
use crate::schema_cache::{SchemaCache, SchemaSource};

/// What every question shares, built once per process (the CLI) or once per server: the LLM, prices, the schema
/// cache, masking settings and the template store. Per-question inputs come in an [`AskRequest`].
pub struct AskContext {
    /// `None` when no LLM is configured.
    pub llm: Option<Arc<dyn LlmProvider>>,
    /// Which LLM setting is in force and where it came from (reported in every answer's `source`).
    pub llm_in_force: LlmInForce,
    pub prices: PriceTable,
    pub cache: SchemaCache,
    pub privacy: Privacy,
    /// Verified query templates, tried before anything else. `None`: no system database.
    pub templates: Option<Arc<TemplateStore>>,
    /// With an LLM configured, try the built-in engine first and take its answer when it is confident (instant and
    /// free). Without an LLM the engine is always used.
    pub builtin_first: bool,
    /// What the LLM is given beyond the schema: value linking, and the knowledge sections' budget.
    pub knowledge: KnowledgeSettings,
    /// Business terms, descriptions, documents and verified examples. `None`: none.
    pub library: Option<Arc<crate::knowledge::Library>>,
}

/// Knowledge settings (`[knowledge]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeSettings {
    /// Distinct values per text column indexed for value linking; 0 turns value linking off.
    pub values_per_column: usize,
    /// The most prompt tokens the knowledge sections (values, terms, documentation, examples) take together.
    pub budget_tokens: usize,
}

impl Default for KnowledgeSettings {
    fn default() -> Self {
        KnowledgeSettings { values_per_column: 1000, budget_tokens: 1200 }
    }
}

/// What knowledge an answer's prompt was given (`ask --explain`; the API's `explain`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct KnowledgeUsed {
    /// Cell values the question's words linked to, as shown in the prompt, with what they matched and how.
    pub values: Vec<ValueMatch>,
    /// Business terms shown, with their retrieval scores.
    pub terms: Vec<Scored<GlossaryEntry>>,
    /// Documentation chunks shown.
    pub chunks: Vec<Scored<Chunk>>,
    /// Verified examples shown.
    pub examples: Vec<Scored<Example>>,
}

impl KnowledgeUsed {
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.terms.is_empty() && self.chunks.is_empty() && self.examples.is_empty()
    }
}

/// A database as the pipeline uses it: the connector, the key its templates are filed under, and what is built per
/// schema (the built-in engine, the prompt's view of the schema). One per database; shared by every request on it.
pub struct Connection {
    pub connector: Arc<dyn Connector>,
    /// The key its templates are filed under (`database::connection_key`): never a secret.
    pub key: String,
    /// The server's stored connection id (its verified history is read as examples); `None` from the CLI.
    pub stored_id: Option<String>,
    engine: EngineMemo,
    prompt_schema: PromptSchemaMemo,
    visible: VisibleMemo,
    values: tokio::sync::Mutex<ValuesMemo>,
    /// The schema the last question used and when its fingerprint was checked.
    checked: std::sync::Mutex<Option<(Instant, Arc<Schema>)>>,
    /// The structure hash of the last schema asked about (result-cache keys), computed once per snapshot.
    structure: std::sync::Mutex<Option<(Arc<Schema>, String)>>,
}

/// How long a question trusts the schema the previous one checked, before asking the database for its fingerprint
/// again: a server answering many questions a second asks once, and sees a change to the database within this.
const SCHEMA_RECHECK: Duration = Duration::from_secs(1);

impl Connection {
    pub fn new(connector: Arc<dyn Connector>, key: impl Into<String>) -> Connection {
        Connection {
            connector,
            key: key.into(),
            stored_id: None,
            engine: EngineMemo::default(),
            prompt_schema: Default::default(),
            visible: Default::default(),
            values: Default::default(),
            checked: std::sync::Mutex::new(None),
            structure: std::sync::Mutex::new(None),
        }
    }

    /// `schema`'s structure hash, computed once per snapshot.
    fn structure_of(&self, schema: &Arc<Schema>) -> String {
        let mut memo = self.structure.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((s, hash)) = memo.as_ref()
            && Arc::ptr_eq(s, schema)
        {
            return hash.clone();
        }
        let hash = schema.structure_hash();
        *memo = Some((Arc::clone(schema), hash.clone()));
        hash
    }

    /// The same, for the server's stored connection `id`.
    pub fn with_stored_id(mut self, id: impl Into<String>) -> Connection {
        self.stored_id = Some(id.into());
        self
    }

    /// The database, described without secrets.
    pub fn describe(&self) -> String {
        self.connector.describe()
    }
}

/// Who is asking: the person or key a server authenticated. Their attributes fill the policy's `{user.NAME}`
/// placeholders (row filters), bound as literals by the guard.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Requester {
    pub id: String,
    pub attributes: BTreeMap<String, AttrValue>,
}

/// The conversation a question belongs to: what a follow-up ("and by month?") refers to. Empty for a question asked
/// on its own (the CLI); a chat session fills it with its earlier questions and their SQL.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionContext {
    /// Earlier questions and the SQL that answered them, oldest first.
    pub earlier: Vec<Turn>,
}

/// What a request carries: a question for the sources to answer, or SQL its caller wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestKind {
    /// A question in plain language: a template, the built-in engine or the LLM writes the SQL.
    #[default]
    Question,
    /// `question` holds SQL the caller wrote (an agent's `run_sql`): no source is tried, no LLM is called; the
    /// guard decides on the text as written, with the caller's policy, exactly as for any source's SQL.
    Sql,
}

/// One question, as every door (CLI, HTTP, MCP) hands it to [`AskContext::ask`].
pub struct AskRequest<'a> {
    /// The question, or with [`RequestKind::Sql`] the caller's SQL.
    pub question: Question,
    pub kind: RequestKind,
    pub connection: &'a Connection,
    /// What the asker may read through this connection: tables, columns, row filters.
    pub policy: Policy,
    /// `None`: the local user of the CLI.
    pub user: Option<Requester>,
    pub session: SessionContext,
    pub options: AskOptions,
    /// Where to report progress as it happens (the server's event stream). `None`: nobody listens.
    pub progress: Option<tokio::sync::mpsc::UnboundedSender<Progress>>,
}

/// What the pipeline reports while it works, in this order: the source trying (possibly several: a template, the
/// built-in engine, the LLM), every attempt with its SQL and, when it failed, why (the LLM's repair follows), then
/// the rows, the chart and the summary of the answer. A failure ends the stream without the last three.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// A source starts: `template`, `builtin` or `llm` (with its model), or `sql` (the caller's own SQL).
    Source { kind: &'static str, model: Option<String> },
    /// One guarded run: the SQL as run (or as given, when refused) and the error, if it failed.
    Attempt { number: usize, sql: Option<String>, error: Option<ErrorBody> },
    /// The rows, masked as the answer shows them.
    Rows { columns: Vec<String>, rows: Vec<Vec<Value>>, truncated: bool },
    /// The chart's Vega-Lite spec.
    Chart { spec: serde_json::Value },
    /// The written analysis and who wrote it.
    Summary { text: String, source: SummarySource },
}

impl AskRequest<'_> {
    fn report(&self, event: Progress) {
        if let Some(tx) = &self.progress {
            // A listener that went away (a closed stream) does not stop the question.
            let _ = tx.send(event);
        }
    }
}

impl AskRequest<'_> {
    /// The policy with the asker's attributes bound in.
    fn effective_policy(&self) -> Policy {
        let mut policy = self.policy.clone();
        if let Some(user) = &self.user {
            for (name, value) in &user.attributes {
                policy = policy.user_attribute(name, value.clone());
            }
        }
        policy
    }
}

/// Entries a per-connection memo keeps (one per policy in use, typically) before it starts afresh.
const MEMO_ENTRIES: usize = 256;

/// The same schema: the same shared snapshot (the schema cache hands out one `Arc` per snapshot), or equal.
fn same_schema(a: &Arc<Schema>, b: &Arc<Schema>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// The built-in engine per policy fingerprint, for the schema it was built on. Building one reads cell values
/// from the database, so it is kept while neither changes.
#[derive(Default)]
struct EngineMemo(tokio::sync::Mutex<PerPolicy<Arc<Engine>>>);

/// A memo by policy fingerprint: (the schema it was worked out for, the result).
type PerPolicy<T> = std::collections::HashMap<String, (Arc<Schema>, T)>;

/// A prompt view: (the schema shown, its masked form, its link index).
type PromptView = (Arc<Schema>, Arc<Schema>, Arc<SchemaIndex>);

/// The LLM's view of a schema (personal columns' samples masked) and its link index, per schema shown (the whole
/// schema, or what one policy may see). Classifying samples and indexing are the costliest steps of a prompt.
#[derive(Default)]
struct PromptSchemaMemo(std::sync::Mutex<Vec<PromptView>>);

/// Value linking's indexes: the shared one (from the snapshot on disk), the personal-data columns' one (memory only,
/// for askers who may unmask), and one per policy that filters rows. Each for the schema it was built on.
#[derive(Default)]
struct ValuesMemo {
    shared: Option<(Arc<Schema>, Arc<ValueIndex>)>,
    personal: Option<(Arc<Schema>, Arc<ValueIndex>)>,
    filtered: PerPolicy<Arc<ValueIndex>>,
}

/// What each policy may see of the schema (`access::visible_schema`), by policy fingerprint: the guard decides it
/// table by table, so it is worked out once per schema and policy. Bounded; a changed schema rebuilds.
#[derive(Default)]
struct VisibleMemo(std::sync::Mutex<PerPolicy<Arc<Schema>>>);

impl VisibleMemo {
    fn get_or_build(&self, schema: &Arc<Schema>, policy: &Policy, key: &str) -> Arc<Schema> {
        if let Ok(memo) = self.0.lock()
            && let Some((raw, visible)) = memo.get(key)
            && same_schema(raw, schema)
        {
            return visible.clone();
        }
        let visible = Arc::new(crate::access::visible_schema(schema, policy));
        if let Ok(mut memo) = self.0.lock() {
            if memo.len() >= MEMO_ENTRIES {
                memo.clear();
            }
            memo.insert(key.to_string(), (schema.clone(), visible.clone()));
        }
        visible
    }
}

impl PromptSchemaMemo {
    /// `schema`'s prompt form (masked when `privacy` is given) and its index.
    fn get_or_build(&self, schema: &Arc<Schema>, privacy: Option<&Privacy>) -> (Arc<Schema>, Arc<SchemaIndex>) {
        // Unmasked views are not kept: they are the rare `unmask` case, and must never be served as masked ones.
        let Some(privacy) = privacy else {
            let index = Arc::new(SchemaIndex::new(schema));
            return (schema.clone(), index);
        };
        if let Ok(memo) = self.0.lock()
            && let Some((_, prompt, index)) = memo.iter().find(|(raw, ..)| Arc::ptr_eq(raw, schema))
        {
            return (prompt.clone(), index.clone());
        }
        let mut prompt = Schema::clone(schema);
        privacy.redact_samples(&mut prompt);
        let prompt = Arc::new(prompt);
        let index = Arc::new(SchemaIndex::new(&prompt));
        if let Ok(mut memo) = self.0.lock() {
            // Entries for snapshots that were replaced go first; the memo stays small.
            memo.retain(|(raw, ..)| Arc::strong_count(raw) > 1);
            if memo.len() >= MEMO_ENTRIES {
                memo.clear();
            }
            memo.push((schema.clone(), prompt.clone(), index.clone()));
        }
        (prompt, index)
    }
}

#[derive(Debug, Clone)]
pub struct AskOptions {
    pub limits: Limits,
    /// LLM attempts in all (first try plus repairs); at least 1.
    pub max_attempts: u32,
    pub summary: bool,
    /// Stop after the guard: return the SQL that would run, without running it.
    pub dry_run: bool,
    /// Show personal data unmasked (the asker holds that permission).
    pub unmask: bool,
    pub schema_budget_tokens: usize,
    /// Today's date, `YYYY-MM-DD`, for relative dates in questions. The caller reads the clock.
    pub today: String,
    /// Sampling temperature and answer length for every LLM call.
    pub temperature: f32,
    pub max_tokens: u32,
    /// The asker's token limit: no LLM call starts once it is used up. `None`: no limit (the CLI).
    pub token_budget: Option<TokenBudget>,
    /// The result and LLM-reply caches and their times to live (`None`: nothing cached, e.g. the CLI).
    pub cache: Option<crate::answer_cache::CachePlan>,
    /// Why the LLM may not be called for this question (no credits left): the free sources still answer.
    pub llm_refusal: Option<Error>,
}

/// What the caches did for an answer (`cache` in its JSON; absent when nothing was cached).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CacheUse {
    /// `hit`: the rows came from the result cache, read from the database at `rows_cached_at`; `miss`: read now
    /// and kept. Absent when rows are not cached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_cached_at: Option<String>,
    /// LLM replies taken from the cache (costing no tokens) and asked for now.
    #[serde(skip_serializing_if = "is_zero")]
    pub llm_hits: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub llm_misses: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl CacheUse {
    pub fn is_empty(&self) -> bool {
        self.rows.is_none() && self.llm_hits == 0 && self.llm_misses == 0
    }
}

/// What is left of the tightest of a user's token limits. The LLM is not called when nothing is left (templates
/// and the built-in engine still answer: they cost no tokens); a call already started always finishes and is
/// counted, so a question may end a little over the limit, never start over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBudget {
    /// Tokens still allowed (≤ 0: none).
    pub remaining: i64,
    /// Which limit this is, for the message (`hourly`, `daily`, `monthly`).
    pub window: String,
    /// The limit's size, for the message.
    pub limit: i64,
    /// When the window frees again.
    pub resets_in: Duration,
}

impl TokenBudget {
    /// The refusal when `spent` tokens of this question have used up what was left.
    fn check(&self, spent: u64) -> Result<(), Error> {
        if self.remaining - i64::try_from(spent).unwrap_or(i64::MAX) > 0 {
            return Ok(());
        }
        let minutes = self.resets_in.as_secs().div_ceil(60);
        Err(Error::new(
            ErrorCode::QuotaExceeded,
            format!(
                "the {} token limit ({}) is used up; it resets in {minutes} min. Verified templates and the built-in \
                 engine still answer without tokens",
                self.window, self.limit
            ),
        ))
    }
}

/// One round of a source: the SQL it produced (if any) and why it failed (if it did).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub sql: Option<String>,
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

impl From<&Error> for ErrorBody {
    fn from(e: &Error) -> Self {
        ErrorBody { code: e.code, message: e.message.clone() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
}

/// Where the time went. `own` is the pipeline's own work: everything but waiting for the LLM and for query execution
/// (reading a cached schema counts as own work; a fresh introspection is in `schema`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timings {
    pub total: Duration,
    pub schema: Duration,
    pub llm: Duration,
    pub database: Duration,
    pub schema_introspected: bool,
}

impl Timings {
    pub fn own(&self) -> Duration {
        let introspection = if self.schema_introspected { self.schema } else { Duration::ZERO };
        self.total.saturating_sub(introspection + self.llm + self.database)
    }
}

/// Where the summary came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SummarySource {
    Llm,
    /// Written from computed facts: the LLM was unavailable, failed, or stated numbers the result does not hold.
    Facts,
}

/// Who wrote the SQL of an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnswerSource {
    /// The configured LLM.
    Llm { model: String },
    /// A verified query template: a person's SQL, with the question's values bound into its slots.
    Template { id: String, name: String, values: BTreeMap<String, serde_json::Value>, uses: u64 },
    /// The built-in engine, with how sure it was and what it understood.
    Builtin { confidence: f32, interpretation: String },
    /// The caller's own SQL (`run_sql`), as the guard approved it.
    Sql,
}

impl AnswerSource {
    /// One line for people: where the answer came from.
    pub fn describe(&self) -> String {
        match self {
            AnswerSource::Llm { model } => format!("written by the LLM, {model}"),
            AnswerSource::Template { name, uses, .. } => {
                let times = if *uses == 1 { "time" } else { "times" };
                format!("from the verified template \"{name}\", used {uses} {times}; no LLM call")
            }
            AnswerSource::Builtin { confidence, interpretation } => {
                format!(
                    "from the built-in engine, confidence {confidence:.2}; no LLM call — understood as: {interpretation}"
                )
            }
            AnswerSource::Sql => "the caller's own SQL, approved by the guard; no LLM call".to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub question: String,
    pub sql: String,
    pub source: AnswerSource,
    /// The LLM setting in force when the question was asked, and where it came from.
    pub llm: LlmInForce,
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<Value>>,
    pub truncated: bool,
    pub executed: bool,
    pub chart: Option<serde_json::Value>,
    pub summary: Option<String>,
    pub summary_source: Option<SummarySource>,
    pub attempts: Vec<Attempt>,
    pub usage: Usage,
    pub timings: Timings,
    /// Tables shown to the LLM.
    pub tables_in_prompt: Vec<String>,
    /// The knowledge the LLM's prompt was given (empty for other sources).
    pub knowledge: KnowledgeUsed,
    pub schema_source: SchemaSource,
    /// Columns whose personal data was masked.
    pub masked: Vec<MaskedColumn>,
    /// What the result and LLM caches did.
    pub cache: CacheUse,
}

/// A failed question: the error, plus what was spent and tried on the way — a failure costs what it cost.
#[derive(Debug, Clone)]
pub struct AskFailure {
    pub error: Error,
    pub attempts: Vec<Attempt>,
    pub usage: Usage,
    pub elapsed: Duration,
}

impl From<Error> for AskFailure {
    fn from(error: Error) -> Self {
        AskFailure { error, attempts: Vec::new(), usage: Usage::default(), elapsed: Duration::ZERO }
    }
}

impl AskFailure {
    /// The JSON shape of a failed question, shared by `ask --format json`, the HTTP API and MCP:
    /// `{"error": {"code", "message"}, "attempts": [...], "usage": {...}, "elapsed_ms": N}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": { "code": self.error.code.as_str(), "message": self.error.message },
            "attempts": self.attempts,
            "usage": self.usage,
            "elapsed_ms": self.elapsed.as_millis() as u64,
        })
    }
}

struct Meter<'a> {
    prices: &'a PriceTable,
    /// The configured model: priced when the model the provider reports has no price of its own.
    configured_model: &'a str,
    tokens: TokenUsage,
    cost_usd: f64,
}

impl Meter<'_> {
    /// Counts one call. The model the provider reports (e.g. `gpt-4o-mini-2024-07-18`) is priced first.
    fn add(&mut self, reported_model: &str, usage: TokenUsage) {
        self.tokens += usage;
        let model = if self.prices.price(reported_model).is_some() { reported_model } else { self.configured_model };
        self.cost_usd += self.prices.cost_usd(model, usage);
    }
    /// Counts an embeddings call: its tokens always, its cost when the embedding model has a price (it is never
    /// priced as the chat model).
    fn add_embedding(&mut self, model: &str, usage: TokenUsage) {
        self.tokens += usage;
        if self.prices.price(model).is_some() {
            self.cost_usd += self.prices.cost_usd(model, usage);
        }
    }
    fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.tokens.prompt_tokens,
            completion_tokens: self.tokens.completion_tokens,
            cost_usd: self.cost_usd,
        }
    }
}

/// What one question has done so far: time, attempts, tokens. Whatever ends the question — an answer or a failure —
/// reports all of it.
struct Trip<'a> {
    started: Instant,
    timings: Timings,
    attempts: Vec<Attempt>,
    meter: Meter<'a>,
    cache: CacheUse,
}

impl Trip<'_> {
    fn fail(self, error: Error) -> AskFailure {
        AskFailure { error, attempts: self.attempts, usage: self.meter.usage(), elapsed: self.started.elapsed() }
    }
}

/// One question being answered: the request, the policy with the asker's attributes bound, the schema.
struct Job<'a> {
    req: &'a AskRequest<'a>,
    policy: Policy,
    schema: Arc<Schema>,
    /// The database's knowledge (terms, descriptions, documents, examples), when a library is configured.
    knowledge: Option<Arc<KnowledgeIndex>>,
}

/// What a source produced, on its way to becoming an [`Answer`].
struct Produced {
    run: Run,
    source: AnswerSource,
    tables_in_prompt: Vec<String>,
    knowledge: KnowledgeUsed,
}

impl Produced {
    /// SQL from a source without a prompt.
    fn without_prompt(run: Run, source: AnswerSource) -> Produced {
        Produced { run, source, tables_in_prompt: Vec::new(), knowledge: KnowledgeUsed::default() }
    }
}

/// SQL that passed the guard, what it reads, and its rows (`None` in a dry run).
struct Run {
    sql: String,
    tables: Vec<TableRef>,
    result: Option<ResultSet>,
}

impl AskContext {
    /// The schema of a connection's database (cached by structure hash), its fingerprint checked now.
    pub async fn schema(&self, connection: &Connection) -> Result<(Arc<Schema>, SchemaSource), Error> {
        let (schema, source) = self.cache.load(connection.connector.as_ref(), &IntrospectOptions::default()).await?;
        if let Ok(mut checked) = connection.checked.lock() {
            *checked = Some((Instant::now(), schema.clone()));
        }
        Ok((schema, source))
    }

    /// The schema for a question: the one checked less than [`SCHEMA_RECHECK`] ago, else [`AskContext::schema`].
    async fn question_schema(&self, connection: &Connection) -> Result<(Arc<Schema>, SchemaSource), Error> {
        if let Ok(checked) = connection.checked.lock()
            && let Some((at, schema)) = checked.as_ref()
            && at.elapsed() < SCHEMA_RECHECK
        {
            return Ok((schema.clone(), SchemaSource::Cache));
        }
        self.schema(connection).await
    }

    /// THE pipeline: schema → SQL from the first source that has it → guard → execution → chart → analysis.
    pub async fn ask(&self, req: &AskRequest<'_>) -> Result<Answer, AskFailure> {
        let configured_model = self.llm.as_deref().map(|l| l.model()).unwrap_or_default();
        let mut trip = Trip {
            started: Instant::now(),
            timings: Timings::default(),
            attempts: Vec::new(),
            meter: Meter { prices: &self.prices, configured_model, tokens: TokenUsage::default(), cost_usd: 0.0 },
            cache: CacheUse::default(),
        };
        let policy = req.effective_policy();
        let t = Instant::now();
        let (schema, schema_source) = match self.question_schema(req.connection).await {
            Ok(s) => s,
            Err(e) => return Err(trip.fail(e)),
        };
        trip.timings.schema = t.elapsed();
        trip.timings.schema_introspected = schema_source == SchemaSource::Introspected;
        // Column restrictions resolve unqualified names as the engine does only when the guard knows every column.
        let policy = if policy.restricts_columns() { policy.with_schema(&schema) } else { policy };
        // The knowledge index (its embeddings, when computed now, are metered in this question).
        let knowledge = match (&self.library, req.kind) {
            (Some(library), RequestKind::Question) => {
                let mut spend = Vec::new();
                let connection = req.connection;
                let index = library.index_for(&connection.key, connection.stored_id.as_deref(), &mut spend).await;
                for s in spend {
                    trip.meter.add_embedding(&s.model, s.usage);
                }
                Some(index)
            }
            _ => None,
        };
        let job = Job { req, policy, schema, knowledge };
        match self.produce(&job, &mut trip).await {
            Ok(produced) => Ok(self.finish(&job, schema_source, produced, trip).await),
            Err(e) => Err(trip.fail(e)),
        }
    }

    /// The SQL from the first source that has it, guarded and run: a verified template, the built-in engine (always
    /// without an LLM; first, when asked to, with one), the LLM.
    async fn produce(&self, job: &Job<'_>, trip: &mut Trip<'_>) -> Result<Produced, Error> {
        if job.req.kind == RequestKind::Sql {
            job.req.report(Progress::Source { kind: "sql", model: None });
            let run = self.run_sql(job.req.question.as_str(), job, trip).await?;
            return Ok(Produced::without_prompt(run, AnswerSource::Sql));
        }
        if let Some(found) = self.find_template(job).await {
            return self.by_template(job, found, trip).await;
        }
        if (self.llm.is_none() || self.builtin_first)
            && let Some(produced) = self.by_builtin(job, trip).await?
        {
            return Ok(produced);
        }
        self.by_llm(job, trip).await
    }

    /// A verified template: a person's SQL, answered without generating anything.
    async fn by_template(
        &self,
        job: &Job<'_>,
        (store, found): (&TemplateStore, TemplateMatch),
        trip: &mut Trip<'_>,
    ) -> Result<Produced, Error> {
        job.req.report(Progress::Source { kind: "template", model: None });
        let run = self.run_sql(&found.sql, job, trip).await;
        let run = run.map_err(|e| e.context(format!("the verified template \"{}\"", found.template.name)))?;
        // Counted when it answered; a failure to count never fails the answer.
        let uses = if run.result.is_some() {
            store.record_use(&found.template.id).await.unwrap_or_else(|e| {
                tracing::warn!(code = %e.code, "could not count a template's use");
                found.template.usage_count
            })
        } else {
            found.template.usage_count
        };
        let values = found
            .values
            .iter()
            .map(|b| (b.name.clone(), serde_json::to_value(&b.value).unwrap_or(serde_json::Value::Null)))
            .collect();
        let source =
            AnswerSource::Template { id: found.template.id.clone(), name: found.template.name.clone(), values, uses };
        Ok(Produced::without_prompt(run, source))
    }

    /// The built-in engine's answer, or `None` to leave the question to the LLM. Without an LLM, its abstention
    /// or failure is the question's failure.
    async fn by_builtin(&self, job: &Job<'_>, trip: &mut Trip<'_>) -> Result<Option<Produced>, Error> {
        let t = Instant::now();
        let engine = self.engine_for(job).await;
        trip.timings.database += t.elapsed();
        let terms = self.term_conditions(job);
        let answer = match engine.answer_with_terms(&job.req.question, &job.req.options.today, &terms) {
            Outcome::Answer(answer) => answer,
            Outcome::Abstain(abstention) if self.llm.is_none() => {
                return Err(Error::new(ErrorCode::NotUnderstood, abstention.reason));
            }
            Outcome::Abstain(_) => return Ok(None),
        };
        job.req.report(Progress::Source { kind: "builtin", model: None });
        match self.run_sql(&answer.sql, job, trip).await {
            Ok(run) => {
                let source =
                    AnswerSource::Builtin { confidence: answer.confidence, interpretation: answer.interpretation };
                Ok(Some(Produced::without_prompt(run, source)))
            }
            Err(error) if self.llm.is_none() => Err(error),
            // The LLM gets its turn; the failed attempt stays on the record.
            Err(_) => Ok(None),
        }
    }

    /// The LLM: schema linking and prompt → reply → SQL extraction → guard → run, repairing up to `max_attempts`.
    async fn by_llm(&self, job: &Job<'_>, trip: &mut Trip<'_>) -> Result<Produced, Error> {
        let Some(llm) = self.llm.as_deref() else {
            return Err(Error::new(ErrorCode::LlmNotConfigured, "no LLM is configured"));
        };
        let (req, schema) = (job.req, &job.schema);
        let options = &req.options;
        req.report(Progress::Source { kind: "llm", model: Some(llm.model().to_string()) });
        // The LLM is shown only what the asker may read: no ungranted table, column or sample value reaches it.
        let schema = if job.policy.limits_reading() {
            let key = crate::builtin::policy_fingerprint(&job.policy);
            req.connection.visible.get_or_build(schema, &job.policy, &key)
        } else {
            schema.clone()
        };
        // What the organisation knows: terms, descriptions, documents, verified examples (their embeddings, when
        // configured, are metered in this question).
        let mut spend = Vec::new();
        let (retrieved, schema) = match (&self.library, &job.knowledge) {
            (Some(library), Some(index)) => {
                let key = &req.connection.key;
                let vector = if index.vector_count() > 0 {
                    library.embed_question(req.question.as_str(), index, &mut spend).await
                } else {
                    None
                };
                let mut retrieved =
                    index.retrieve(req.question.as_str(), vector.as_deref(), &RetrieveLimits::default());
                // An example whose SQL the asker may not run would show them what they may not read.
                retrieved.examples.retain(|e| example_allowed(&e.item.sql, schema.dialect, &job.policy));
                (retrieved, library.described(key, &schema, index))
            }
            _ => (Retrieved::default(), schema),
        };
        for s in spend {
            trip.meter.add_embedding(&s.model, s.usage);
        }
        // The LLM sees personal columns' sample values masked; classification uses the real ones.
        let masked = (self.privacy.mask && !options.unmask).then_some(&self.privacy);
        let (prompt_schema, index) = req.connection.prompt_schema.get_or_build(&schema, masked);
        let t = Instant::now();
        let values = self.linked_values(job, &schema).await;
        trip.timings.database += t.elapsed();
        let knowledge = prompt_knowledge(&retrieved, values, self.knowledge.budget_tokens);
        let prompt = sql_request(&SqlPromptInput {
            question: &req.question,
            schema: &prompt_schema,
            index: &index,
            today: &options.today,
            schema_budget_tokens: options.schema_budget_tokens,
            earlier: &req.session.earlier,
            knowledge: &knowledge,
        });
        let shown = &prompt.shown;
        let used = KnowledgeUsed {
            values: shown.values.iter().filter_map(|&i| knowledge.values.get(i).cloned()).collect(),
            terms: retrieved.glossary.into_iter().take(shown.terms).collect(),
            chunks: retrieved.chunks.into_iter().take(shown.excerpts).collect(),
            examples: retrieved.examples.into_iter().take(shown.examples).collect(),
        };
        let mut request = prompt.request;
        request.temperature = options.temperature;
        request.max_tokens = options.max_tokens;

        let max_attempts = options.max_attempts.max(1);
        let mut last_error: Option<Error> = None;
        for n in 1..=max_attempts {
            if let Some(refusal) = &options.llm_refusal {
                return Err(refusal.clone());
            }
            if let Some(budget) = &options.token_budget {
                budget.check(trip.meter.tokens.total())?;
            }
            let t = Instant::now();
            let reply = complete(llm, &request, options, &mut trip.cache).await;
            trip.timings.llm += t.elapsed();
            // The endpoint itself failed (after its own retries): a repair cannot help.
            let (reply, cached) = reply?;
            if !cached {
                trip.meter.add(&reply.model, reply.usage);
            }

            let Some(sql) = extract_sql(&reply.text) else {
                let e = Error::new(ErrorCode::LlmNoSql, "the LLM's reply contained no SQL query");
                trip.attempts.push(Attempt { sql: None, error: Some((&e).into()) });
                req.report(Progress::Attempt { number: trip.attempts.len(), sql: None, error: Some((&e).into()) });
                repair_messages(&mut request, &reply.text, None, &e);
                last_error = Some(e);
                continue;
            };
            match self.run_sql(&sql, job, trip).await {
                Ok(run) => {
                    let model = if reply.model.is_empty() { llm.model().to_string() } else { reply.model.clone() };
                    let source = AnswerSource::Llm { model };
                    return Ok(Produced { run, source, tables_in_prompt: prompt.tables, knowledge: used });
                }
                Err(e) => {
                    tracing::debug!(attempt = n, code = %e.code, "the LLM's SQL failed");
                    if !repairable(e.code) {
                        return Err(e);
                    }
                    repair_messages(&mut request, &reply.text, Some(&sql), &e);
                    last_error = Some(e);
                }
            }
        }
        let e = last_error.unwrap_or_else(|| Error::new(ErrorCode::Internal, "no attempt was made"));
        Err(Error::new(
            e.code,
            format!("no usable SQL after {max_attempts} attempt{}: {}", plural(max_attempts), e.message),
        ))
    }

    /// The verified template that answers `question` on this database, if any — asked as written, then with the
    /// glossary's synonyms it uses written as their terms (a template phrased "활성 고객 수" answers "active
    /// customers count" when the glossary says they are one term). The system database failing is logged and
    /// skipped: the other sources can still answer.
    async fn find_template(&self, job: &Job<'_>) -> Option<(&TemplateStore, TemplateMatch)> {
        let store = self.templates.as_deref()?;
        let mut questions = vec![job.req.question.clone()];
        if let Some(index) = &job.knowledge {
            let mut text = job.req.question.as_str().to_string();
            for entry in index.mentioned_terms(&text.clone()) {
                if let Some(t) = entry.synonyms.iter().find_map(|s| builtin::replace_mention(&text, s, &entry.term)) {
                    text = t;
                }
            }
            if let Ok(q) = Question::parse(&text)
                && q.as_str() != job.req.question.as_str()
            {
                questions.push(q);
            }
        }
        for question in &questions {
            match store.find_match(&job.req.connection.key, job.schema.dialect, question).await {
                Ok(Some(m)) => return Some((store, m)),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(code = %e.code, error = %e.message, "templates unavailable");
                    return None;
                }
            }
        }
        None
    }

    /// The glossary's conditions for the terms the question uses (terms with an SQL expression and a table).
    fn term_conditions(&self, job: &Job<'_>) -> Vec<TermCondition> {
        let Some(index) = &job.knowledge else { return Vec::new() };
        index
            .mentioned_terms(job.req.question.as_str())
            .into_iter()
            .filter_map(|e| {
                let (sql, table) = (e.sql.as_ref()?, e.table.as_ref()?);
                Some(TermCondition {
                    mentions: std::iter::once(e.term.clone()).chain(e.synonyms.iter().cloned()).collect(),
                    term: e.term.clone(),
                    table: table.clone(),
                    sql: sql.clone(),
                })
            })
            .collect()
    }

    /// The cell values the question's words link to, that the asker may read (`visible`: what their policy shows
    /// of the schema). See [`crate::values`] for what is read for whom.
    async fn linked_values(&self, job: &Job<'_>, visible: &Schema) -> Vec<ValueMatch> {
        let per_column = self.knowledge.values_per_column;
        if per_column == 0 {
            return Vec::new();
        }
        let (connection, schema, policy) = (job.req.connection, &job.schema, &job.policy);
        let connector = connection.connector.as_ref();
        let question = job.req.question.as_str();
        // Personal columns are linked only for an asker who sees them unmasked.
        let personal_ok = job.req.options.unmask || !self.privacy.mask;
        let mut memo = connection.values.lock().await;
        if policy.filters_rows() {
            let key = format!("{}\u{0}{personal_ok}", crate::builtin::policy_fingerprint(policy));
            let index = match memo.filtered.get(&key) {
                Some((built_for, index)) if same_schema(built_for, schema) => index.clone(),
                _ => {
                    let columns = crate::values::linked_columns(schema, &self.privacy, !personal_ok);
                    let index =
                        Arc::new(crate::values::read_index(connector, schema, policy, &columns, per_column).await);
                    if memo.filtered.len() >= MEMO_ENTRIES {
                        memo.filtered.clear();
                    }
                    memo.filtered.insert(key, (schema.clone(), index.clone()));
                    index
                }
            };
            return index.lookup(question);
        }
        let shared = match &memo.shared {
            Some((built_for, index)) if same_schema(built_for, schema) => index.clone(),
            _ => {
                let cache = crate::values::ValueCache::new(self.cache.dir(), self.cache.max_age());
                let index = match cache.load(connector, schema, &self.privacy, per_column).await {
                    Ok(shared) => Arc::new(shared.index),
                    Err(e) => {
                        tracing::warn!(code = %e.code, "value linking unavailable");
                        return Vec::new();
                    }
                };
                memo.shared = Some((schema.clone(), index.clone()));
                index
            }
        };
        let mut matches = shared.lookup(question);
        if personal_ok && self.privacy.mask {
            let personal = match &memo.personal {
                Some((built_for, index)) if same_schema(built_for, schema) => index.clone(),
                _ => {
                    let columns = crate::values::personal_columns(schema, &self.privacy);
                    let policy = Policy::default();
                    let index =
                        Arc::new(crate::values::read_index(connector, schema, &policy, &columns, per_column).await);
                    memo.personal = Some((schema.clone(), index.clone()));
                    index
                }
            };
            matches.extend(personal.lookup(question));
            matches.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.kind.cmp(&b.kind)));
            matches.truncate(datagenie_core::values::MAX_MATCHES);
        }
        if policy.limits_reading() {
            crate::values::keep_visible(&mut matches, visible);
        }
        matches
    }

    /// The built-in engine for `schema` and `policy`, built on first use with the database's cell values (read
    /// through the guard, within the policy) and kept while neither changes.
    async fn engine_for(&self, job: &Job<'_>) -> Arc<Engine> {
        let (connection, schema, policy) = (job.req.connection, &job.schema, &job.policy);
        let key = crate::builtin::policy_fingerprint(policy);
        let mut memo = connection.engine.0.lock().await;
        if let Some((built_for, engine)) = memo.get(&key)
            && same_schema(built_for, schema)
        {
            return engine.clone();
        }
        let values = crate::builtin::load_values(connection.connector.as_ref(), schema, policy).await;
        let engine = Arc::new(Engine::new(schema, values));
        if memo.len() >= MEMO_ENTRIES {
            memo.clear();
        }
        memo.insert(key, (schema.clone(), engine.clone()));
        engine
    }

    /// Guards `sql` and runs it on the request's connection (or, in a dry run, only guards it), recording the
    /// attempt. The only way SQL from any source reaches the database.
    async fn run_sql(&self, sql: &str, job: &Job<'_>, trip: &mut Trip<'_>) -> Result<Run, Error> {
        let run = guard_and_run(sql, job, trip).await;
        trip.attempts.push(match &run {
            Ok(run) => Attempt { sql: Some(run.sql.clone()), error: None },
            Err(e) => Attempt { sql: Some(sql.to_string()), error: Some(e.into()) },
        });
        if let Some(last) = trip.attempts.last() {
            let event =
                Progress::Attempt { number: trip.attempts.len(), sql: last.sql.clone(), error: last.error.clone() };
            job.req.report(event);
        }
        run
    }

    /// Masking, chart and analysis, the same for every source. The analysis is the LLM's only when the LLM wrote
    /// the SQL; templates and the engine never call it, so their analysis is written from computed facts.
    async fn finish(
        &self,
        job: &Job<'_>,
        schema_source: SchemaSource,
        produced: Produced,
        mut trip: Trip<'_>,
    ) -> Answer {
        let Produced { run, source, tables_in_prompt, knowledge } = produced;
        let (req, schema) = (job.req, &job.schema);
        let question = req.question.as_str();
        let executed = run.result.is_some();
        let mut result = run.result.unwrap_or_default();
        // Masked before anything else sees the rows: the chart, the analysis prompt and the output.
        let masked =
            if req.options.unmask { Vec::new() } else { self.privacy.mask_result(schema, &run.tables, &mut result) };
        let chart = if executed { chart::choose_chart(question, &result) } else { None };
        if executed {
            req.report(Progress::Rows {
                columns: result.columns.iter().map(|c| c.name.clone()).collect(),
                rows: result.rows.clone(),
                truncated: result.truncated,
            });
        }
        if let Some(spec) = &chart {
            req.report(Progress::Chart { spec: spec.clone() });
        }

        let llm = match source {
            AnswerSource::Llm { .. } => self.llm.as_deref(),
            _ => None,
        };
        // The summary is an LLM call too: with the budget used up, it is written from the facts instead.
        let within_budget =
            req.options.token_budget.as_ref().is_none_or(|b| b.check(trip.meter.tokens.total()).is_ok());
        let llm = llm.filter(|_| within_budget);
        let (summary, summary_source) = if executed && req.options.summary && !result.rows.is_empty() {
            match llm {
                Some(llm) => {
                    let t = Instant::now();
                    let s = summarize(llm, question, &run.sql, &result, &req.options, &mut trip.meter, &mut trip.cache)
                        .await;
                    trip.timings.llm += t.elapsed();
                    (Some(s.0), Some(s.1))
                }
                None => {
                    let facts = analysis::facts(&result).with_context(question, &run.sql);
                    (Some(analysis::fallback_summary(question, &facts)), Some(SummarySource::Facts))
                }
            }
        } else {
            (None, None)
        };

        if let (Some(text), Some(source)) = (&summary, summary_source) {
            req.report(Progress::Summary { text: text.clone(), source });
        }
        trip.timings.total = trip.started.elapsed();
        Answer {
            question: question.to_string(),
            sql: run.sql,
            source,
            llm: self.llm_in_force.clone(),
            columns: result.columns,
            rows: result.rows,
            truncated: result.truncated,
            executed,
            chart,
            summary,
            summary_source,
            attempts: trip.attempts,
            usage: trip.meter.usage(),
            timings: trip.timings,
            tables_in_prompt,
            knowledge,
            schema_source,
            masked,
            cache: trip.cache,
        }
    }
}

/// What the prompt is given of retrieved knowledge and linked values (each list best first; the prompt's budget
/// cuts from the end).
pub fn prompt_knowledge(retrieved: &Retrieved, values: Vec<ValueMatch>, budget_tokens: usize) -> PromptKnowledge {
    PromptKnowledge {
        values,
        terms: retrieved
            .glossary
            .iter()
            .map(|g| TermNote {
                term: g.item.term.clone(),
                synonyms: g.item.synonyms.clone(),
                definition: g.item.definition.clone(),
                sql: g.item.sql.clone(),
                table: g.item.table.clone(),
            })
            .collect(),
        excerpts: retrieved
            .chunks
            .iter()
            .map(|c| Excerpt {
                source: if c.item.heading.is_empty() {
                    c.item.document.clone()
                } else {
                    format!("{} › {}", c.item.document, c.item.heading)
                },
                text: c.item.text.clone(),
            })
            .collect(),
        examples: retrieved
            .examples
            .iter()
            .map(|e| ExampleNote { question: e.item.question.clone(), sql: e.item.sql.clone() })
            .collect(),
        budget_tokens,
    }
}

/// Whether an asker with `policy` may see an example whose SQL is `sql` (a template's slots read as NULL): the
/// guard would let them run it. An example they could not run would show them what they may not read.
pub fn example_allowed(sql: &str, dialect: datagenie_core::Dialect, policy: &Policy) -> bool {
    guard::check(&checkable(sql), dialect, policy).is_ok()
}

/// A template's SQL with its `{slot}` placeholders as NULL, so the guard can say which tables and columns it reads
/// (only to decide whether an asker may see it as an example; it never runs).
fn checkable(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(open) = rest.find('{') {
        match rest[open..].find('}') {
            Some(close) if !rest[open + 1..open + close].contains('{') => {
                out.push_str(&rest[..open]);
                out.push_str("NULL");
                rest = &rest[open + close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The guard, then the connector.
async fn guard_and_run(sql: &str, job: &Job<'_>, trip: &mut Trip<'_>) -> Result<Run, Error> {
    let report = guard::check_report(sql, job.schema.dialect, &job.policy)?;
    let text = report.sql.as_str().to_string();
    if job.req.options.dry_run {
        return Ok(Run { sql: text, tables: report.tables, result: None });
    }
    let t = Instant::now();
    let cache = job.req.options.cache.as_ref().and_then(|plan| Some((plan, plan.rows_ttl?)));
    let place = cache.map(|_| rows_place(job, &text));
    if let (Some((plan, _)), Some((scope, key))) = (cache, &place)
        && let Some(bytes) = plan.cache.get(CacheKind::Rows, scope, key).await
        && let Some((result, at)) = decode_rows(&bytes)
    {
        trip.timings.database += t.elapsed();
        trip.cache.rows = Some("hit");
        trip.cache.rows_cached_at = Some(at);
        return Ok(Run { sql: text, tables: report.tables, result: Some(result) });
    }
    let executed = job.req.connection.connector.execute(&report.sql, &job.req.options.limits).await;
    trip.timings.database += t.elapsed();
    let result = executed?;
    if let (Some((plan, ttl)), Some((scope, key))) = (cache, &place) {
        let at = datagenie_store::model::Timestamp::now().to_rfc3339();
        plan.cache.put(CacheKind::Rows, scope, key, encode_rows(&result, &at), ttl).await;
        trip.cache.rows = Some("miss");
    }
    Ok(Run { sql: text, tables: report.tables, result: Some(result) })
}

/// Where a guarded query's rows are cached: the connection (what a purge removes) and the key — the connection,
/// the schema's structure, the exact SQL, the asker's permission scope and the row cap.
fn rows_place(job: &Job<'_>, sql: &str) -> (String, String) {
    let connection = job.req.connection;
    let scope = connection.stored_id.clone().unwrap_or_else(|| connection.key.clone());
    let structure = connection.structure_of(&job.schema);
    let policy = crate::builtin::policy_fingerprint(&job.policy);
    let max_rows = job.req.options.limits.max_rows.to_string();
    let key = digest(&[&scope, &connection.key, &structure, job.schema.dialect.as_str(), sql, &policy, &max_rows]);
    (scope, key)
}

/// An LLM call through the reply cache: a deterministic request (temperature 0) asked before is answered from it
/// (`true`: costing no tokens); a fresh reply is kept.
async fn complete(
    llm: &dyn LlmProvider,
    request: &ChatRequest,
    options: &AskOptions,
    used: &mut CacheUse,
) -> Result<(ChatResponse, bool), Error> {
    let plan = options.cache.as_ref().and_then(|p| Some((p, p.llm_ttl?))).filter(|_| request.temperature == 0.0);
    let Some((plan, ttl)) = plan else {
        return Ok((llm.complete(request).await?, false));
    };
    let messages = serde_json::to_string(&request.messages).unwrap_or_default();
    let key = digest(&[llm.provider_name(), llm.model(), &request.system, &messages, &request.max_tokens.to_string()]);
    if let Some(bytes) = plan.cache.get(CacheKind::Llm, "llm", &key).await
        && let Ok(stored) = serde_json::from_slice::<serde_json::Value>(&bytes)
        && let (Some(text), Some(model)) = (stored["text"].as_str(), stored["model"].as_str())
    {
        used.llm_hits += 1;
        let reply = ChatResponse { text: text.to_string(), usage: TokenUsage::default(), model: model.to_string() };
        return Ok((reply, true));
    }
    let reply = llm.complete(request).await?;
    let stored = serde_json::json!({"text": reply.text, "model": reply.model}).to_string().into_bytes();
    plan.cache.put(CacheKind::Llm, "llm", &key, stored, ttl).await;
    used.llm_misses += 1;
    Ok((reply, false))
}

/// Errors the LLM can fix by writing different SQL: the guard's refusals and the database's query errors. Time
/// limits, lost connections, configuration errors and the connection's own write refusals are final: repeating them
/// would only multiply the wait or the risk.
fn repairable(code: ErrorCode) -> bool {
    code == ErrorCode::QueryFailed || code.is_guard_refusal()
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Rows of the result shown to the LLM for the analysis.
const SUMMARY_SAMPLE_ROWS: usize = 30;

/// The analysis: the LLM's text when it states only numbers the result supports, else a summary written from the
/// computed facts. A failing summary never fails the answer.
async fn summarize(
    llm: &dyn LlmProvider,
    question: &str,
    sql: &str,
    result: &ResultSet,
    options: &AskOptions,
    meter: &mut Meter<'_>,
    cache: &mut CacheUse,
) -> (String, SummarySource) {
    let facts = analysis::facts(result).with_context(question, sql);
    let mut request = analysis::summary_request(question, sql, result, &facts, SUMMARY_SAMPLE_ROWS);
    request.temperature = options.temperature;
    request.max_tokens = request.max_tokens.min(options.max_tokens);
    match complete(llm, &request, options, cache).await {
        Ok((reply, cached)) => {
            if !cached {
                meter.add(&reply.model, reply.usage);
            }
            let text = reply.text.trim().to_string();
            match analysis::verify_summary(&text, result, &facts) {
                Ok(()) if plausible_summary(&text) => (text, SummarySource::Llm),
                Ok(()) => (analysis::fallback_summary(question, &facts), SummarySource::Facts),
                Err(unsupported) => {
                    tracing::info!(
                        count = unsupported.len(),
                        "the LLM's summary stated unsupported numbers; using facts"
                    );
                    (analysis::fallback_summary(question, &facts), SummarySource::Facts)
                }
            }
        }
        Err(e) => {
            tracing::warn!(code = %e.code, "the summary call failed; using facts");
            (analysis::fallback_summary(question, &facts), SummarySource::Facts)
        }
    }
}

/// The longest summary accepted from the LLM, in characters (2–4 sentences fit easily).
const MAX_SUMMARY_CHARS: usize = 1200;

/// A summary is prose: not empty, not overlong, and holding no code block or SQL.
fn plausible_summary(text: &str) -> bool {
    !text.is_empty()
        && text.chars().count() <= MAX_SUMMARY_CHARS
        && !text.contains("```")
        && !text.contains("<think>")
        && extract_sql(text).is_none()
}

/// The JSON shape of an answer, shared by `ask --format json`, the HTTP API and MCP.
#[derive(Debug, Serialize)]
pub struct AnswerJson<'a> {
    pub question: &'a str,
    pub sql: &'a str,
    pub source: SourceJson<'a>,
    pub columns: Vec<&'a str>,
    pub rows: &'a [Vec<Value>],
    pub row_count: usize,
    pub truncated: bool,
    pub chart: Option<&'a serde_json::Value>,
    pub summary: Option<&'a str>,
    pub attempts: &'a [Attempt],
    pub usage: Usage,
    pub elapsed_ms: u64,
    /// What the result and LLM caches did (absent when nothing was cached).
    #[serde(skip_serializing_if = "CacheUse::is_empty")]
    pub cache: &'a CacheUse,
    /// What knowledge the prompt was given (`ask --explain`, the API's `explain`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knowledge: Option<ExplainJson<'a>>,
}

/// `knowledge` of an explained answer: the tables the prompt showed and the knowledge it was given.
#[derive(Debug, Serialize)]
pub struct ExplainJson<'a> {
    pub tables: &'a [String],
    #[serde(flatten)]
    pub used: &'a KnowledgeUsed,
}

/// `source`: who wrote the SQL (`kind` and its details), and which LLM setting was in force and where it came from
/// (`"llm": {"provider": "builtin", "from": "env DATAGENIE_LLM__PROVIDER"}`) — so an answer shows that a user who
/// chose no LLM got none.
#[derive(Debug, Serialize)]
pub struct SourceJson<'a> {
    #[serde(flatten)]
    pub source: &'a AnswerSource,
    pub llm: &'a LlmInForce,
}

impl Answer {
    pub fn to_json(&self) -> AnswerJson<'_> {
        AnswerJson {
            question: &self.question,
            sql: &self.sql,
            source: SourceJson { source: &self.source, llm: &self.llm },
            columns: self.columns.iter().map(|c| c.name.as_str()).collect(),
            rows: &self.rows,
            row_count: self.rows.len(),
            truncated: self.truncated,
            chart: self.chart.as_ref(),
            summary: self.summary.as_deref(),
            attempts: &self.attempts,
            usage: self.usage,
            elapsed_ms: self.timings.total.as_millis() as u64,
            cache: &self.cache,
            knowledge: None,
        }
    }

    /// [`Answer::to_json`] with what knowledge the prompt was given.
    pub fn to_json_explained(&self) -> AnswerJson<'_> {
        AnswerJson {
            knowledge: Some(ExplainJson { tables: &self.tables_in_prompt, used: &self.knowledge }),
            ..self.to_json()
        }
    }
}

/// The JSON shape of a failure that is not a question's (`{"error": {"code", "message"}}`); a question's failure is
/// [`AskFailure::to_json`], which adds what it cost.
pub fn failure_json(error: &Error) -> serde_json::Value {
    serde_json::json!({ "error": { "code": error.code.as_str(), "message": error.message } })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shop with two customers' orders, the pipeline without an LLM, and a request for `question`.
    fn shop(dir: &std::path::Path) -> (AskContext, Connection) {
        let path = dir.join("shop.db");
        let c = rusqlite::Connection::open(&path).expect("create");
        c.execute_batch(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, amount REAL NOT NULL);
             INSERT INTO orders VALUES (1, 1, 10.0), (2, 1, 20.0), (3, 2, 5.0), (4, 2, 7.5), (5, 2, 1.0);",
        )
        .expect("fill");
        drop(c);
        let connector = datagenie_connectors::sqlite::SqliteConnector::open(&path).expect("open");
        let context = AskContext {
            llm: None,
            llm_in_force: crate::config::Config::default().llm_in_force(),
            prices: PriceTable::default(),
            cache: SchemaCache::new(dir.join("cache"), Duration::from_secs(60)),
            privacy: Privacy::default(),
            templates: None,
            builtin_first: false,
            knowledge: Default::default(),
            library: None,
        };
        (context, Connection::new(Arc::new(connector), "sqlite:///shop.db"))
    }

    fn options() -> AskOptions {
        AskOptions {
            limits: Limits { max_rows: 100, timeout: Duration::from_secs(5) },
            max_attempts: 1,
            summary: false,
            dry_run: false,
            unmask: false,
            schema_budget_tokens: 6000,
            today: "2025-01-01".into(),
            temperature: 0.0,
            max_tokens: 256,
            token_budget: None,
            cache: None,
            llm_refusal: None,
        }
    }

    /// An LLM that answers every request with one query and keeps the requests.
    struct Recording(std::sync::Mutex<Vec<datagenie_core::llm::ChatRequest>>);

    /// An LLM that replies with the given texts in order, then with the last one.
    struct Replies(std::sync::Mutex<Vec<&'static str>>);

    #[async_trait::async_trait]
    impl LlmProvider for Replies {
        fn provider_name(&self) -> &str {
            "replies"
        }
        fn model(&self) -> &str {
            "m"
        }
        async fn complete(
            &self,
            _: &datagenie_core::llm::ChatRequest,
        ) -> Result<datagenie_core::llm::ChatResponse, Error> {
            let mut texts = self.0.lock().expect("lock");
            let text = if texts.len() > 1 { texts.remove(0) } else { texts[0] };
            let usage = TokenUsage { prompt_tokens: 10, completion_tokens: 5 };
            Ok(datagenie_core::llm::ChatResponse { text: text.into(), usage, model: "m".into() })
        }
    }

    #[tokio::test]
    async fn progress_is_reported_in_order_with_each_repair() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut context, connection) = shop(dir.path());
        context.llm = Some(Arc::new(Replies(std::sync::Mutex::new(vec![
            "```sql\nSELECT nope FROM orders\n```",
            "```sql\nSELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id\n```",
            "Customer 1 spent 30.",
        ]))));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let req = AskRequest {
            question: Question::parse("total spent per customer").expect("question"),
            kind: RequestKind::Question,
            connection: &connection,
            policy: Policy::default(),
            user: None,
            session: SessionContext::default(),
            options: AskOptions { summary: true, max_attempts: 3, ..options() },
            progress: Some(tx),
        };
        let answer = context.ask(&req).await.expect("answered");
        drop(req);
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        let kinds: Vec<String> = events
            .iter()
            .map(|e| match e {
                Progress::Source { kind, .. } => format!("source:{kind}"),
                Progress::Attempt { number, error, .. } => format!("attempt{number}:{}", error.is_some()),
                Progress::Rows { rows, .. } => format!("rows:{}", rows.len()),
                Progress::Chart { .. } => "chart".into(),
                Progress::Summary { .. } => "summary".into(),
            })
            .collect();
        assert_eq!(kinds, ["source:llm", "attempt1:true", "attempt2:false", "rows:2", "chart", "summary"]);
        assert_eq!(answer.attempts.len(), 2);
        let Some(Progress::Attempt { error: Some(e), .. }) = events.get(1) else { panic!("{events:?}") };
        assert_eq!(e.code, ErrorCode::QueryFailed);
    }

    #[async_trait::async_trait]
    impl LlmProvider for Recording {
        fn provider_name(&self) -> &str {
            "recording"
        }
        fn model(&self) -> &str {
            "m"
        }
        async fn complete(
            &self,
            request: &datagenie_core::llm::ChatRequest,
        ) -> Result<datagenie_core::llm::ChatResponse, Error> {
            self.0.lock().expect("lock").push(request.clone());
            let usage = TokenUsage { prompt_tokens: 10, completion_tokens: 5 };
            Ok(datagenie_core::llm::ChatResponse {
                text: "```sql\nSELECT count(*) AS n FROM orders WHERE customer_id = 2\n```".into(),
                usage,
                model: "m".into(),
            })
        }
    }

    #[tokio::test]
    async fn a_follow_up_carries_its_conversation_to_the_llm() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut context, connection) = shop(dir.path());
        let llm = Arc::new(Recording(Default::default()));
        context.llm = Some(llm.clone());
        let earlier = vec![Turn {
            question: "orders per customer".into(),
            sql: "SELECT customer_id, count(*) FROM orders GROUP BY 1".into(),
            result: None,
        }];
        let req = AskRequest {
            question: Question::parse("and only customer 2?").expect("question"),
            kind: RequestKind::Question,
            connection: &connection,
            policy: Policy::default(),
            user: None,
            session: SessionContext { earlier },
            options: options(),
            progress: None,
        };
        let answer = context.ask(&req).await.expect("answered");
        assert_eq!(answer.rows, vec![vec![Value::Int(3)]]);
        assert_eq!(answer.usage.prompt_tokens, 10);
        let sent = llm.0.lock().expect("lock");
        let user = &sent[0].messages[0].content;
        assert!(user.contains("orders per customer") && user.contains("GROUP BY 1"), "{user}");
    }

    #[tokio::test]
    async fn a_used_up_token_budget_stops_the_llm_but_not_the_free_sources() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut context, connection) = shop(dir.path());
        let llm = Arc::new(Recording(Default::default()));
        context.llm = Some(llm.clone());
        context.builtin_first = true;
        let spent =
            TokenBudget { remaining: 0, window: "hourly".into(), limit: 1000, resets_in: Duration::from_secs(610) };
        let ask = |question: &str, budget: TokenBudget| AskRequest {
            question: Question::parse(question).expect("question"),
            kind: RequestKind::Question,
            connection: &connection,
            policy: Policy::default(),
            user: None,
            session: SessionContext::default(),
            options: AskOptions { token_budget: Some(budget), ..options() },
            progress: None,
        };
        // The built-in engine answers at no cost, whatever the budget.
        let answer = context.ask(&ask("How many orders are there?", spent.clone())).await.expect("free");
        assert!(matches!(answer.source, AnswerSource::Builtin { .. }));
        // A question for the LLM is refused before any call, with the limit and the wait named.
        let failure = context.ask(&ask("orders of customer 2 please", spent)).await.expect_err("over");
        assert_eq!(failure.error.code, ErrorCode::QuotaExceeded);
        assert!(
            failure.error.message.contains("hourly token limit (1000)") && failure.error.message.contains("11 min")
        );
        assert!(llm.0.lock().expect("lock").is_empty(), "no LLM call once the budget is used up");
        // Some budget left: the call is made (15 tokens), then the summary is written from facts, not by the LLM.
        let some = TokenBudget { remaining: 10, window: "daily".into(), limit: 10, resets_in: Duration::from_secs(60) };
        let mut req = ask("orders of customer 2 please", some);
        req.options.summary = true;
        let answer = context.ask(&req).await.expect("answered");
        assert_eq!(answer.usage.prompt_tokens + answer.usage.completion_tokens, 15);
        assert_eq!(answer.summary_source, Some(SummarySource::Facts));
        assert_eq!(llm.0.lock().expect("lock").len(), 1);
    }

    #[tokio::test]
    async fn the_askers_attributes_fill_the_policys_row_filters() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (context, connection) = shop(dir.path());
        let policy = Policy::default().row_filter("orders", "customer_id = {user.customer}").expect("filter");
        let question = Question::parse("How many orders are there?").expect("question");
        let asker = |id: i64| Requester {
            id: format!("user-{id}"),
            attributes: BTreeMap::from([("customer".to_string(), AttrValue::Integer(id))]),
        };
        let mut counts = Vec::new();
        for user in [asker(1), asker(2)] {
            let req = AskRequest {
                question: question.clone(),
                kind: RequestKind::Question,
                connection: &connection,
                policy: policy.clone(),
                user: Some(user),
                session: SessionContext::default(),
                options: options(),
                progress: None,
            };
            let answer = context.ask(&req).await.expect("answered");
            assert!(answer.sql.contains("customer_id = (") && matches!(answer.source, AnswerSource::Builtin { .. }));
            counts.push(answer.rows[0][0].clone());
        }
        assert_eq!(counts, vec![Value::Int(2), Value::Int(3)], "each asker sees only their rows");

        // A filter that needs an attribute the asker lacks stops the question, never runs unfiltered.
        let req = AskRequest {
            question,
            kind: RequestKind::Question,
            connection: &connection,
            policy,
            user: None,
            session: SessionContext::default(),
            options: options(),
            progress: None,
        };
        let failure = context.ask(&req).await.expect_err("no attribute");
        assert_eq!(failure.error.code, ErrorCode::InvalidConfig, "{:?}", failure.error);
        assert!(failure.error.message.contains("user attribute customer"), "{}", failure.error.message);
        assert_eq!(failure.attempts.len(), 1, "the refused SQL is on the record");
    }

    #[test]
    fn only_prose_is_a_summary() {
        assert!(plausible_summary("Delivered orders dominate with 33,736 of 36,882."));
        assert!(plausible_summary("배송 완료 주문이 33,736건으로 가장 많습니다."));
        assert!(!plausible_summary(""));
        assert!(!plausible_summary("```sql\nSELECT 1\n```"));
        assert!(!plausible_summary("SELECT status, COUNT(*) FROM orders GROUP BY status"));
        assert!(!plausible_summary(&"word ".repeat(400)));
    }
}
