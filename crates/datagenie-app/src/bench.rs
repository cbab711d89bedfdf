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
    /// The last request's system prompt and messages, as one text.
    last_prompt: Mutex<String>,
}

impl FixedReply {
    pub fn new() -> Arc<FixedReply> {
        Arc::new(FixedReply { text: Mutex::new(String::new()), last_prompt: Mutex::new(String::new()) })
    }

    /// The last request the LLM was sent, as one text (system prompt, then the messages).
    pub fn last_prompt(&self) -> String {
        self.last_prompt.lock().map(|t| t.clone()).unwrap_or_default()
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
        if let Ok(mut last) = self.last_prompt.lock() {
            *last = std::iter::once(request.system.as_str())
                .chain(request.messages.iter().map(|m| m.content.as_str()))
                .collect::<Vec<_>>()
                .join("\n");
        }
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
        knowledge: Default::default(),
        library: None,
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
        cache: None,
        llm_refusal: None,
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

/// A Spider question with its gold SQL.
#[derive(serde::Deserialize)]
struct SpiderQuestion {
    db_id: String,
    question: String,
    query: String,
}

/// Spider's `questions.json`, grouped by database (each database is opened once).
fn spider_questions(spider: &Path) -> Result<Vec<SpiderQuestion>, Error> {
    let path = spider.join("questions.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("cannot read {}: {e}", path.display())))?;
    let mut qs: Vec<SpiderQuestion> = serde_json::from_str(&text)
        .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("{}: {e}", path.display())))?;
    qs.sort_by(|a, b| a.db_id.cmp(&b.db_id));
    Ok(qs)
}

/// The pipeline's own work per question (everything but waiting for the LLM and running the query), over Spider's
/// questions with the gold SQL as the LLM's reply, schemas cached (each database is warmed once first).
pub async fn pipeline_bench(spider: &Path, cache_dir: &Path, summary: bool) -> Result<Percentiles, Error> {
    let qs = spider_questions(spider)?;
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

/// Value linking over a Spider-format set, per part of [`crate::eval::spider_split`].
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct ValueRecall {
    pub questions: usize,
    /// String literals of gold SQL that the question does not spell exactly (case-sensitive), LIKE patterns aside.
    pub literals: usize,
    /// Of those, the ones stored as a value of a column value linking reads (the others it cannot find: dates,
    /// numbers written as text, values of personal-data columns, values the question only implies).
    pub reachable: usize,
    /// Literals in the prompt without value linking (shown as sample values), of all and of reachable ones.
    pub baseline_all: usize,
    pub baseline_reachable: usize,
    /// Literals in the prompt with value linking.
    pub linked_all: usize,
    pub linked_reachable: usize,
    /// Prompt tokens (estimated) summed over the questions, without and with value linking.
    pub baseline_tokens: usize,
    pub linked_tokens: usize,
}

impl ValueRecall {
    fn add(&mut self, o: &ValueRecall) {
        self.questions += o.questions;
        self.literals += o.literals;
        self.reachable += o.reachable;
        self.baseline_all += o.baseline_all;
        self.baseline_reachable += o.baseline_reachable;
        self.linked_all += o.linked_all;
        self.linked_reachable += o.linked_reachable;
        self.baseline_tokens += o.baseline_tokens;
        self.linked_tokens += o.linked_tokens;
    }
}

/// The string literals of `sql` (SQLite tokenizer), without LIKE patterns (`%`). SQLite reads a double-quoted
/// word that names no column or table as a string, as Spider's gold queries use it: those count too (`names`: the
/// schema's table and column names, lower case).
fn gold_literals(sql: &str, names: &std::collections::HashSet<String>) -> Vec<String> {
    use sqlparser::dialect::SQLiteDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&SQLiteDialect {}, sql).tokenize() else { return Vec::new() };
    tokens
        .into_iter()
        .filter_map(|t| match t {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Some(s),
            Token::Word(w) if w.quote_style == Some('"') && !names.contains(&w.value.to_lowercase()) => Some(w.value),
            _ => None,
        })
        .filter(|s| !s.trim().is_empty() && !s.contains('%'))
        .collect()
}

/// For every question of `spider` whose gold SQL has a string literal the question does not spell exactly: is the
/// literal in the prompt the LLM is sent, without value linking and with it (the real pipeline, a dry run, the
/// gold SQL as the LLM's reply)? Personal-data masking on, as users run it. Returns (tune, validation).
pub async fn values_recall(spider: &Path, cache_dir: &Path) -> Result<(ValueRecall, ValueRecall), Error> {
    use crate::eval::{Split, spider_split};
    let qs = spider_questions(spider)?;
    let llm = FixedReply::new();
    let mut plain = context(llm.clone(), cache_dir, true);
    plain.knowledge.values_per_column = 0;
    let linked = context(llm.clone(), cache_dir, true);
    let (mut tune, mut validation) = (ValueRecall::default(), ValueRecall::default());
    type Current = (String, Connection, std::collections::HashSet<String>, std::collections::HashSet<String>);
    let mut current: Option<Current> = None;
    for q in &qs {
        if current.as_ref().map(|(id, ..)| id != &q.db_id).unwrap_or(true) {
            let connection = open(&spider_db(spider, &q.db_id)).await?;
            let (schema, _) = linked.schema(&connection).await?;
            // Every value of the columns value linking reads, to tell reachable literals from the others.
            let columns = crate::values::linked_columns(&schema, &linked.privacy, true);
            let (read, _) = crate::values::read_columns(
                connection.connector.as_ref(),
                &schema,
                &Policy::default(),
                &columns,
                linked.knowledge.values_per_column,
                crate::values::MAX_VALUE_CHARS,
                crate::values::BUILD_DEADLINE,
            )
            .await;
            let stored = read.into_iter().flat_map(|c| c.values).collect();
            let names = schema
                .tables
                .iter()
                .flat_map(|t| {
                    std::iter::once(t.name.to_lowercase()).chain(t.columns.iter().map(|c| c.name.to_lowercase()))
                })
                .collect();
            current = Some((q.db_id.clone(), connection, stored, names));
        }
        let Some((_, connection, stored, names)) = current.as_ref() else { continue };
        let literals: Vec<String> =
            gold_literals(&q.query, names).into_iter().filter(|l| !q.question.contains(l)).collect();
        if literals.is_empty() {
            continue;
        }
        let Ok(question) = Question::parse(&q.question) else { continue };
        llm.set(format!("```sql\n{}\n```", q.query));
        let mut one = ValueRecall { questions: 1, ..ValueRecall::default() };
        let mut prompts = Vec::new();
        for ctx in [&plain, &linked] {
            let mut req = request(question.clone(), connection, false, true);
            req.options.dry_run = true;
            let _ = ctx.ask(&req).await;
            prompts.push(llm.last_prompt());
        }
        one.baseline_tokens = estimate_tokens(&prompts[0]);
        one.linked_tokens = estimate_tokens(&prompts[1]);
        for l in &literals {
            let reachable = stored.contains(l);
            one.literals += 1;
            one.reachable += usize::from(reachable);
            let quoted = format!("'{}'", l.replace('\'', "''"));
            let (b, w) = (prompts[0].contains(&quoted), prompts[1].contains(&quoted));
            one.baseline_all += usize::from(b);
            one.linked_all += usize::from(w);
            one.baseline_reachable += usize::from(b && reachable);
            one.linked_reachable += usize::from(w && reachable);
            if !w && std::env::var_os("DATAGENIE_BENCH_MISSES").is_some() {
                eprintln!(
                    "MISS {} [{}] {l:?} stored={reachable} in: {}",
                    q.db_id,
                    spider_split(&q.db_id).as_str(),
                    q.question
                );
            }
        }
        match spider_split(&q.db_id) {
            Split::Tune => tune.add(&one),
            Split::Validation => validation.add(&one),
        }
    }
    Ok((tune, validation))
}

/// Value linking on a generated SQLite database of `tables` tables holding `values` distinct text values in all:
/// the first reading and indexing (through the guard), the snapshot's size, the index rebuilt from the snapshot
/// (a new process), and lookups for generated questions.
pub async fn values_scale_bench(dir: &Path, tables: usize, values: usize) -> Result<ValueScale, Error> {
    let path = dir.join(format!("bench-values-{tables}.sqlite"));
    let _ = std::fs::remove_file(&path);
    let per_table = values.div_ceil(tables.max(1));
    let words = [
        "north", "south", "east", "west", "river", "stone", "green", "silver", "harbor", "valley", "summit", "maple",
        "cedar", "falcon", "lotus", "amber", "coral", "delta", "ember", "fjord",
    ];
    let name = |i: usize| format!("{} {} {i}", words[i % words.len()], words[(i / words.len()) % words.len()]);
    let build = || -> rusqlite::Result<()> {
        let mut c = rusqlite::Connection::open(&path)?;
        let tx = c.transaction()?;
        for t in 0..tables {
            tx.execute_batch(&format!(
                "CREATE TABLE t{t} (id INTEGER PRIMARY KEY, label TEXT NOT NULL, kind VARCHAR(20), amount REAL);"
            ))?;
            let mut insert = tx.prepare(&format!("INSERT INTO t{t} (label, kind, amount) VALUES (?1, ?2, ?3)"))?;
            for i in 0..per_table {
                let n = t * per_table + i;
                insert.execute(rusqlite::params![name(n), words[n % 7], n as f64])?;
            }
        }
        tx.commit()
    };
    build().map_err(|e| Error::new(ErrorCode::Internal, format!("building the benchmark database: {e}")))?;
    let connection = open(&path).await?;
    let connector = connection.connector.as_ref();
    let schema = connector.introspect(&IntrospectOptions::default()).await?;
    let privacy = Privacy { mask: true, policy: Default::default() };
    let cache = crate::values::ValueCache::new(dir.join("cache"), Duration::from_secs(86_400));
    let started = Instant::now();
    let first = cache.load(connector, &schema, &privacy, 1000).await?;
    let first_build = started.elapsed();
    let started = Instant::now();
    let again = cache.load(connector, &schema, &privacy, 1000).await?;
    let from_snapshot = started.elapsed();
    let snapshot_bytes = crate::values::snapshot_size(&dir.join("cache"), connector, true).unwrap_or(0);
    let mut samples = Vec::new();
    let (mut asked, mut found) = (0usize, 0usize);
    for i in 0..2000usize {
        let n = (i * 7919) % (tables * per_table).max(1);
        let q = match i % 4 {
            0 => format!("how many orders came from {}", name(n)),
            1 => format!("total amount for {} last year", name(n).to_uppercase()),
            2 => format!("show everything about {}", name(n).replace(' ', "").replacen('e', "a", 1)),
            _ => "what is the average amount per kind".to_string(),
        };
        let t = Instant::now();
        let matches = std::hint::black_box(again.index.lookup(&q));
        samples.push(t.elapsed());
        if i % 4 != 3 {
            asked += 1;
            found += usize::from(matches.first().is_some_and(|m| m.value == name(n)));
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(ValueScale {
        tables: schema.tables.len(),
        values: first.count,
        columns_read: first.report.columns,
        complete: first.report.complete,
        first_build,
        from_snapshot,
        from_disk: again.from_disk,
        snapshot_bytes,
        lookup: percentiles(samples),
        asked,
        found,
    })
}

/// What [`values_scale_bench`] measured.
#[derive(Debug)]
pub struct ValueScale {
    pub tables: usize,
    pub values: usize,
    pub columns_read: usize,
    pub complete: bool,
    pub first_build: Duration,
    pub from_snapshot: Duration,
    pub from_disk: bool,
    pub snapshot_bytes: u64,
    pub lookup: Percentiles,
    /// Lookups for a stored value (as stored, in capitals, misspelled without spaces), and how many put it first.
    pub asked: usize,
    pub found: usize,
}
