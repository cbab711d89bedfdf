//! Benchmarks and fidelity checks behind `datagenie bench`. They run the real pipeline; only the LLM is replaced by
//! [`FixedReply`], an LLM that answers instantly with a given query, so what is measured is DataGenie's own work.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datagenie_core::connector::{IntrospectOptions, Limits};
use datagenie_core::guard::Policy;
use datagenie_core::llm::{ChatRequest, ChatResponse, LlmProvider, PriceTable, TokenUsage, estimate_tokens};
use datagenie_core::value::Value;
use datagenie_core::{Error, ErrorCode, Question};

use crate::ask::{AskContext, AskOptions, AskRequest, Connection, RequestKind};
use crate::privacy::Privacy;
use crate::schema_cache::SchemaCache;

/// An LLM that answers every request at once with the current scripted text.
pub struct FixedReply {
    text: Mutex<String>,
}

impl FixedReply {
    pub fn new() -> Arc<FixedReply> {
        Arc::new(FixedReply { text: Mutex::new(String::new()) })
    }
    pub fn set(&self, text: String) {
        if let Ok(mut t) = self.text.lock() {
            *t = text;
        }
    }
}

#[async_trait]
impl LlmProvider for FixedReply {
    fn provider_name(&self) -> &str {
        "fixed"
    }
    fn model(&self) -> &str {
        "fixed"
    }
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, Error> {
        let text = self.text.lock().map(|t| t.clone()).unwrap_or_default();
        let prompt: usize = estimate_tokens(&request.system)
            + request.messages.iter().map(|m| estimate_tokens(&m.content)).sum::<usize>();
        Ok(ChatResponse {
            usage: TokenUsage { prompt_tokens: prompt as u64, completion_tokens: estimate_tokens(&text) as u64 },
            text,
            model: "fixed".into(),
        })
    }
}

/// One gold query: SQL and the database it belongs to.
pub struct GoldQuery {
    pub sql: String,
    pub db_id: String,
}

/// Reads Spider's `gold.sql` (`SQL<TAB>db_id` per line).
pub fn read_gold(path: &Path) -> Result<Vec<GoldQuery>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("cannot read {}: {e}", path.display())))?;
    Ok(text
        .lines()
        .filter_map(|l| l.rsplit_once('\t'))
        .map(|(sql, db)| GoldQuery { sql: sql.trim().to_string(), db_id: db.trim().to_string() })
        .filter(|g| !g.sql.is_empty())
        .collect())
}

fn spider_db(dir: &Path, db_id: &str) -> PathBuf {
    dir.join("database").join(db_id).join(format!("{db_id}.sqlite"))
}

/// `mask`: personal-data masking (on for timing, as users run it; off for fidelity, which compares raw rows).
fn context(llm: Arc<FixedReply>, cache_dir: &Path, mask: bool) -> AskContext {
    AskContext {
        llm: Some(llm),
        llm_in_force: crate::config::LlmInForce {
            provider: crate::config::ProviderKind::Openai,
            model: Some("fixed-reply".into()),
            from: crate::config::Origin::Default,
        },
        prices: PriceTable::default(),
        cache: SchemaCache::new(cache_dir, Duration::from_secs(86_400)),
        privacy: Privacy { mask, policy: Default::default() },
        templates: None,
        builtin_first: false,
    }
}

/// The database of a Spider question, as the pipeline opens it.
async fn open(path: &Path) -> Result<Connection, Error> {
    let connector = datagenie_connectors::parse_target(&path.display().to_string())?.connect().await?;
    Ok(Connection::new(connector, String::new()))
}

fn request<'a>(question: Question, connection: &'a Connection, summary: bool, mask: bool) -> AskRequest<'a> {
    AskRequest {
        question,
        kind: RequestKind::Question,
        connection,
        policy: Policy::default(),
        user: None,
        session: Default::default(),
        options: options(summary, mask),
        progress: None,
    }
}

fn options(summary: bool, mask: bool) -> AskOptions {
    AskOptions {
        limits: Limits { max_rows: 1_000_000, timeout: Duration::from_secs(60) },
        max_attempts: 1,
        summary,
        dry_run: false,
        unmask: !mask,
        schema_budget_tokens: 6000,
        today: "2026-01-01".into(),
        temperature: 0.0,
        max_tokens: 1024,
        token_budget: None,
    }
}

#[derive(Debug, Default)]
pub struct GoldReport {
    pub total: usize,
    /// Gold queries that SQLite itself runs.
    pub runnable: usize,
    /// Of those, the ones `ask` answered with exactly the same rows.
    pub identical: usize,
    /// Gold queries SQLite itself rejects; `ask` must fail on them too.
    pub not_runnable: Vec<String>,
    pub failures: Vec<String>,
}

/// For every gold query: the rows `ask` returns when the LLM replies with it, against the rows of the same query run
/// directly with SQLite — equal in order when the query orders, as multisets otherwise.
pub async fn gold_check(spider: &Path, cache_dir: &Path, limit: Option<usize>) -> Result<GoldReport, Error> {
    let mut gold = read_gold(&spider.join("gold.sql"))?;
    if let Some(n) = limit {
        gold.truncate(n);
    }
    let llm = FixedReply::new();
    let mut report = GoldReport::default();
    let ctx = context(llm.clone(), cache_dir, false);
    let mut current: Option<(String, Connection)> = None;
    for g in &gold {
        report.total += 1;
        let path = spider_db(spider, &g.db_id);
        if current.as_ref().map(|(id, _)| id != &g.db_id).unwrap_or(true) {
            current = Some((g.db_id.clone(), open(&path).await?));
        }
        let Some((_, connection)) = current.as_ref() else { continue };
        llm.set(format!("```sql\n{}\n```", g.sql));
        let question = Question::parse("gold")?;
        let via_ask = ctx.ask(&request(question, connection, false, false)).await;
        let direct = match run_direct(&path, &g.sql) {
            Ok(rows) => rows,
            Err(e) => {
                let outcome = match &via_ask {
                    Ok(_) => {
                        report
                            .failures
                            .push(format!("{}: {} — SQLite rejects it ({e}) but ask answered", g.db_id, g.sql));
                        continue;
                    }
                    Err(f) => f.error.code,
                };
                report.not_runnable.push(format!("{}: {} — SQLite: {e}; ask: {outcome}", g.db_id, g.sql));
                continue;
            }
        };
        report.runnable += 1;
        let answer = match via_ask {
            Ok(a) => a,
            Err(f) => {
                report.failures.push(format!("{}: {} — [{}] {}", g.db_id, g.sql, f.error.code, f.error.message));
                continue;
            }
        };
        let ordered = crate::rows::orders_at_top_level(&g.sql, datagenie_core::Dialect::Sqlite);
        if crate::rows::same_rows(&direct, &answer.rows, ordered) && !answer.truncated {
            report.identical += 1;
        } else {
            report.failures.push(format!(
                "{}: {} — rows differ ({} via ask, {} direct)",
                g.db_id,
                g.sql,
                answer.rows.len(),
                direct.len()
            ));
        }
    }
    Ok(report)
}

fn run_direct(path: &Path, sql: &str) -> Result<Vec<Vec<Value>>, rusqlite::Error> {
    // These statements never went through the guard: the connector's protections (read-only, query_only, the
    // authorizer, no attaching or extensions, limits) refuse what would write, e.g. `VACUUM INTO 'copy.db'`.
    let conn = datagenie_connectors::sqlite::open_protected(path)
        .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?;
    let mut stmt = conn.prepare(sql)?;
    let n = stmt.column_count();
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(n);
        for i in 0..n {
            row.push(match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(v) => Value::Int(v),
                rusqlite::types::ValueRef::Real(v) => Value::Float(v),
                rusqlite::types::ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        out.push(row);
    }
    Ok(out)
}

/// Percentiles of a set of durations, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    pub n: usize,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

pub fn percentiles(mut samples: Vec<Duration>) -> Percentiles {
    samples.sort();
    let n = samples.len();
    let at = |q: f64| -> f64 {
        if n == 0 {
            return 0.0;
        }
        let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
        samples[i].as_secs_f64() * 1e6
    };
    Percentiles { n, p50_us: at(0.5), p90_us: at(0.9), p99_us: at(0.99), max_us: at(1.0) }
}

/// The pipeline's own work per question (everything but waiting for the LLM and running the query), over Spider's
/// questions with the gold SQL as the LLM's reply, schemas cached (each database is warmed once first).
pub async fn pipeline_bench(spider: &Path, cache_dir: &Path, summary: bool) -> Result<Percentiles, Error> {
    #[derive(serde::Deserialize)]
    struct Q {
        db_id: String,
        question: String,
        query: String,
    }
    let path = spider.join("questions.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("cannot read {}: {e}", path.display())))?;
    let mut qs: Vec<Q> = serde_json::from_str(&text)
        .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("{}: {e}", path.display())))?;
    qs.sort_by(|a, b| a.db_id.cmp(&b.db_id));
    let llm = FixedReply::new();
    let mut samples = Vec::with_capacity(qs.len());
    let ctx = context(llm.clone(), cache_dir, true);
    let mut current: Option<(String, Connection)> = None;
    for q in &qs {
        if current.as_ref().map(|(id, _)| id != &q.db_id).unwrap_or(true) {
            let connection = open(&spider_db(spider, &q.db_id)).await?;
            ctx.schema(&connection).await?; // warm the cache: the measured runs read the snapshot
            current = Some((q.db_id.clone(), connection));
        }
        let Some((_, connection)) = current.as_ref() else { continue };
        llm.set(format!("Here is the SQL:\n```sql\n{}\n```", q.query));
        let Ok(question) = Question::parse(&q.question) else { continue };
        if let Ok(answer) = ctx.ask(&request(question, connection, summary, true)).await {
            samples.push(answer.timings.own());
        }
    }
    Ok(percentiles(samples))
}

/// Builds a SQLite database with `tables` tables (a realistic mix of columns, keys and a few rows each) and times a
/// full introspection of it.
pub async fn introspect_bench(dir: &Path, tables: usize) -> Result<(Duration, usize), Error> {
    let path = dir.join(format!("bench-{tables}-tables.sqlite"));
    let _ = std::fs::remove_file(&path);
    let build = || -> rusqlite::Result<()> {
        let mut c = rusqlite::Connection::open(&path)?;
        let tx = c.transaction()?;
        for i in 0..tables {
            let fk = if i > 0 { format!(", parent_id INTEGER REFERENCES t{}(id)", i - 1) } else { String::new() };
            tx.execute_batch(&format!(
                "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, status VARCHAR(20), amount REAL,
                 created_at DATETIME{fk});
                 INSERT INTO t{i} (name, status, amount, created_at) VALUES
                   ('alpha', 'open', 1.5, '2024-01-01'), ('beta', 'closed', 2.5, '2024-02-01'),
                   ('gamma', 'open', 3.5, '2024-03-01');"
            ))?;
        }
        tx.commit()
    };
    build().map_err(|e| Error::new(ErrorCode::Internal, format!("building the benchmark database: {e}")))?;
    let connector = open(&path).await?.connector;
    let started = Instant::now();
    let schema = connector.introspect(&IntrospectOptions::default()).await?;
    let took = started.elapsed();
    let _ = std::fs::remove_file(&path);
    Ok((took, schema.tables.len()))
}
