//! `datagenie eval`: execution accuracy of a question set in Spider's format (`[{db_id, question, query}]`, databases
//! at `DIR/<db_id>/<db_id>.sqlite`). A prediction is right when its rows equal the gold query's rows as a multiset
//! (in order when the gold query has a top-level ORDER BY), whatever the column order, numbers compared with a
//! small tolerance (the rules are in [`crate::rows`]). Both queries run through the guard and the connector, like
//! every statement DataGenie sends.
//!
//! Spider's training databases are split once, by [`spider_split`], into a tuning part (the only data the built-in
//! engine's confidence table is fitted on: [`calibrate`]) and a validation part it never sees, so the engine's
//! figure on the validation part is an out-of-sample one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datagenie_core::builtin::{Engine, calibrate as fit};
use datagenie_core::connector::{Connector, IntrospectOptions, Limits};
use datagenie_core::guard::{self, Policy};
use datagenie_core::schema::Schema;
use datagenie_core::template::QueryTemplate;
use datagenie_core::value::ResultSet;
use datagenie_core::{Error, ErrorCode, Question};
use serde::{Deserialize, Serialize};

use crate::ask::{AnswerSource, AskContext, AskOptions, AskRequest, Connection, RequestKind};
use crate::config::Config;
use crate::privacy::Privacy;
use crate::rows;
use crate::schema_cache::SchemaCache;

/// Schema snapshots stay valid for the run (the databases are not expected to change under the benchmark).
const SCHEMA_MAX_AGE: Duration = Duration::from_secs(86_400);
/// Rows read per query; a result beyond it cannot be compared.
pub const EVAL_MAX_ROWS: usize = 100_000;

/// What produces the predictions. Both go through the ask pipeline (`AskContext::ask`), as users get answers.
pub enum Predictor {
    /// The built-in engine (no LLM).
    Builtin,
    /// The configured LLM provider.
    Ask(Box<Config>),
}

/// The questions and where their databases are.
pub enum QuestionSet {
    /// Spider's format: a JSON array of `{db_id, question, query}`, databases at `DIR/<db_id>/<db_id>.sqlite`.
    Spider { questions: PathBuf, db_dir: PathBuf },
    /// A team's verified templates of one database (`--templates`): each phrasing with its slots filled by example
    /// values is a question, and the template's SQL bound to the same values is its gold query. The predictions come
    /// from the provider with the templates themselves set aside, so the score says how well the provider answers
    /// the questions a person has verified — a regression gate for a model, prompt or engine change — and a template
    /// that no longer runs on the current schema shows up as a `gold_error`.
    Templates { store: std::sync::Arc<datagenie_store::TemplateStore>, database: crate::database::DatabaseChoice },
}

pub struct EvalOptions {
    pub set: QuestionSet,
    pub predictor: Predictor,
    /// Only the first N questions (after the database filter).
    pub limit: Option<usize>,
    /// Only questions on this database.
    pub db_id: Option<String>,
    /// `YYYY-MM-DD`, for relative dates.
    pub today: String,
    /// Per-query time limit.
    pub timeout: Duration,
    /// Record the built-in engine's reading of each question in the report.
    pub explain: bool,
    /// Where the built-in predictor keeps schema snapshots (a scratch directory).
    pub cache_dir: PathBuf,
    /// Only the questions on databases of this part of Spider's training split ([`spider_split`]).
    pub split: Option<Split>,
}

/// A part of Spider's training databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// What the built-in engine's confidence table is fitted on (about 70 % of the databases).
    Tune,
    /// Held out: no choice about the engine's confidence is made on it.
    Validation,
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Tune => "tune",
            Split::Validation => "validation",
        }
    }
}

/// The part of Spider's training split a database belongs to, by its `db_id` alone: the 64-bit FNV-1a hash of the
/// id's UTF-8 bytes, modulo 10; 0–6 is [`Split::Tune`], 7–9 [`Split::Validation`]. Whole databases, never single
/// questions, so no validation question shares a schema or cell values with a tuning one. Fixed: changing it would
/// let the validation part leak into the fit.
pub fn spider_split(db_id: &str) -> Split {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in db_id.as_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    if hash % 10 < 7 { Split::Tune } else { Split::Validation }
}

#[derive(Debug, Clone, Deserialize)]
struct RawQuestion {
    db_id: String,
    question: String,
    query: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalOutcome {
    Right,
    Wrong,
    Abstained,
    /// The prediction failed (refused by the guard, failed to run) or the question could not be asked.
    Error,
    /// The gold query failed or its result exceeds the row cap: not scored.
    GoldError,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuestionResult {
    pub db_id: String,
    pub question: String,
    pub gold: String,
    pub predicted: Option<String>,
    pub outcome: EvalOutcome,
    pub confidence: Option<f32>,
    pub ms: f64,
    /// With the built-in predictor: the engine's own time to read the question (linking, interpretation, SQL and
    /// the guard's check), without running the query — what the engine's speed target is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_ms: Option<f64>,
    pub error: Option<String>,
    /// The built-in engine's reading of the question (`--explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    pub questions: usize,
    /// Right + wrong + errors.
    pub answered: usize,
    pub right: usize,
    /// Answered but incorrect, including predictions that failed to run.
    pub wrong: usize,
    /// Of `wrong`: predictions that failed to run.
    pub errors: usize,
    pub abstained: usize,
    pub gold_errors: usize,
    /// right / (questions − gold_errors).
    pub accuracy: f64,
    /// wrong / (questions − gold_errors).
    pub wrong_rate: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// The built-in engine's reading time alone ([`QuestionResult::engine_ms`]); zero for other predictors.
    pub engine_p50_ms: f64,
    pub engine_p95_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DbSummary {
    pub db_id: String,
    #[serde(flatten)]
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub provider: String,
    pub overall: Summary,
    pub per_database: Vec<DbSummary>,
    pub questions: Vec<QuestionResult>,
}

/// The questions of `--templates`: for every verified template of the database, one question per phrasing (see
/// [`QuestionSet::Templates`]). `db_id` is the template's name, so the report breaks accuracy down per template.
async fn template_questions(
    store: &datagenie_store::TemplateStore,
    database: &crate::database::DatabaseChoice,
) -> Result<Vec<RawQuestion>, Error> {
    let connection = database.key()?;
    let mut out = Vec::new();
    for t in store.list(Some(&connection)).await?.into_iter().filter(|t| t.verified) {
        let parsed = QueryTemplate::from_stored(&t.questions, &t.sql, t.dialect)?;
        for (question, values) in parsed.examples() {
            out.push(RawQuestion { db_id: t.name.clone(), question, query: parsed.bind(&values)? });
        }
    }
    if out.is_empty() {
        return Err(Error::new(
            ErrorCode::TemplateNotFound,
            format!("{connection} has no verified templates to evaluate (see `datagenie template add`)"),
        ));
    }
    Ok(out)
}

/// Keeps the questions `options` asks for: on the split's databases, on `db_id`, the first `limit`.
fn select(questions: &mut Vec<RawQuestion>, options: &EvalOptions) {
    if let Some(split) = options.split {
        questions.retain(|q| spider_split(&q.db_id) == split);
    }
    if let Some(db) = &options.db_id {
        questions.retain(|q| &q.db_id == db);
    }
    if let Some(n) = options.limit {
        questions.truncate(n);
    }
}

/// Reads a question file: a JSON array of `{db_id, question, query}`.
fn read_questions(path: &Path) -> Result<Vec<RawQuestion>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str::<Vec<RawQuestion>>(&text).map_err(|e| {
        Error::new(
            ErrorCode::InvalidArgument,
            format!("{} is not a JSON array of {{db_id, question, query}} objects: {e}", path.display()),
        )
    })
}

/// A database of the set, opened once.
struct Db {
    connector: Arc<dyn Connector>,
    schema: Schema,
    ask: AskContext,
    connection: Connection,
    /// The engine, for `--explain` only (answers come from `ask`).
    explainer: Option<Engine>,
}

pub async fn run(options: &EvalOptions) -> Result<EvalReport, Error> {
    let mut questions = match &options.set {
        QuestionSet::Spider { questions, .. } => read_questions(questions)?,
        QuestionSet::Templates { store, database } => template_questions(store, database).await?,
    };
    select(&mut questions, options);
    let provider = match &options.predictor {
        Predictor::Builtin => "builtin".to_string(),
        Predictor::Ask(config) => config.llm.provider.as_str().to_string(),
    };
    let mut dbs: HashMap<String, Result<Db, Error>> = HashMap::new();
    let mut results = Vec::with_capacity(questions.len());
    for q in &questions {
        // Templates' questions all run on one database, whatever their (template-name) db_id.
        let key = match &options.set {
            QuestionSet::Spider { .. } => q.db_id.clone(),
            QuestionSet::Templates { .. } => String::new(),
        };
        if !dbs.contains_key(&key) {
            let db = open_db(options, &q.db_id).await;
            dbs.insert(key.clone(), db);
        }
        let result = match dbs.get(&key) {
            Some(Ok(db)) => evaluate(options, db, q).await,
            Some(Err(e)) => QuestionResult {
                db_id: q.db_id.clone(),
                question: q.question.clone(),
                gold: q.query.clone(),
                predicted: None,
                outcome: EvalOutcome::Error,
                confidence: None,
                ms: 0.0,
                engine_ms: None,
                error: Some(format!("{}: {}", e.code, e.message)),
                explanation: None,
            },
            None => continue,
        };
        results.push(result);
    }
    let overall = summarize(results.iter());
    let mut order: Vec<String> = Vec::new();
    for r in &results {
        if !order.contains(&r.db_id) {
            order.push(r.db_id.clone());
        }
    }
    let per_database = order
        .into_iter()
        .map(|db| {
            let summary = summarize(results.iter().filter(|r| r.db_id == db));
            DbSummary { db_id: db, summary }
        })
        .collect();
    Ok(EvalReport { provider, overall, per_database, questions: results })
}

fn db_path(dir: &Path, db_id: &str) -> PathBuf {
    dir.join(db_id).join(format!("{db_id}.sqlite"))
}

async fn open_db(options: &EvalOptions, db_id: &str) -> Result<Db, Error> {
    let connector: Arc<dyn Connector> = match &options.set {
        QuestionSet::Spider { db_dir, .. } => {
            if db_id.is_empty() || db_id.contains(['/', '\\']) || db_id == ".." || db_id == "." {
                return Err(Error::new(ErrorCode::InvalidArgument, format!("'{db_id}' is not a database id")));
            }
            let path = db_path(db_dir, db_id);
            if !path.is_file() {
                return Err(Error::new(ErrorCode::DatabaseNotFound, format!("no database at {}", path.display())));
            }
            Arc::new(datagenie_connectors::sqlite::SqliteConnector::open(&path)?)
        }
        // Every template question is on the one database.
        QuestionSet::Templates { database, .. } => database.connect().await?,
    };
    let schema = connector.introspect(&IntrospectOptions::default()).await?;
    let (llm, prices, cache) = match &options.predictor {
        Predictor::Builtin => (None, Default::default(), SchemaCache::new(&options.cache_dir, SCHEMA_MAX_AGE)),
        Predictor::Ask(config) => (
            crate::providers::build(config)?,
            config.price_table(),
            SchemaCache::new(config.cache_dir()?, Duration::from_secs(config.ask.schema_max_age_secs)),
        ),
    };
    let llm_in_force = match &options.predictor {
        Predictor::Builtin => crate::config::LlmInForce {
            provider: crate::config::ProviderKind::Builtin,
            model: None,
            from: crate::config::Origin::Flag("--provider".into()),
        },
        Predictor::Ask(config) => config.llm_in_force(),
    };
    let ask = AskContext {
        llm,
        llm_in_force,
        prices,
        cache,
        // Rows are compared with the gold query's: unmasked.
        privacy: Privacy { mask: false, policy: Default::default() },
        // Scored as the provider answers: no templates, no engine shortcut in front of an LLM.
        templates: None,
        builtin_first: false,
        knowledge: Default::default(),
        library: None,
    };
    let connection = Connection::new(connector.clone(), String::new());
    let explainer = if options.explain || matches!(options.predictor, Predictor::Builtin) {
        let values = crate::builtin::load_values(connector.as_ref(), &schema, &Policy::default()).await;
        Some(Engine::new(&schema, values))
    } else {
        None
    };
    Ok(Db { connector, schema, ask, connection, explainer })
}

/// Runs one query through the guard and the connector.
async fn run_sql(db: &Db, sql: &str, timeout: Duration) -> Result<ResultSet, Error> {
    let guarded = guard::check(sql, db.schema.dialect, &Policy::default())?;
    db.connector.execute(&guarded, &Limits { max_rows: EVAL_MAX_ROWS, timeout }).await
}

async fn evaluate(options: &EvalOptions, db: &Db, q: &RawQuestion) -> QuestionResult {
    let mut result = QuestionResult {
        db_id: q.db_id.clone(),
        question: q.question.clone(),
        gold: q.query.clone(),
        predicted: None,
        outcome: EvalOutcome::Error,
        confidence: None,
        ms: 0.0,
        engine_ms: None,
        error: None,
        explanation: None,
    };
    let gold = match run_sql(db, &q.query, options.timeout).await {
        Ok(rows) if rows.truncated => {
            result.outcome = EvalOutcome::GoldError;
            result.error = Some(format!("the gold result exceeds {EVAL_MAX_ROWS} rows: not comparable"));
            return result;
        }
        Ok(rows) => rows,
        Err(e) => {
            result.outcome = EvalOutcome::GoldError;
            result.error = Some(format!("{}: {}", e.code, e.message));
            return result;
        }
    };
    let question = match Question::parse(&q.question) {
        Ok(question) => question,
        Err(e) => {
            result.error = Some(format!("{}: {}", e.code, e.message));
            return result;
        }
    };
    if let Some(engine) = &db.explainer {
        if options.explain {
            result.explanation = Some(engine.explain(&question, &options.today));
        }
        if matches!(options.predictor, Predictor::Builtin) {
            let started = Instant::now();
            let outcome = engine.answer(&question, &options.today);
            result.engine_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
            drop(outcome);
        }
    }
    let started = Instant::now();
    let ask_options = AskOptions {
        limits: Limits { max_rows: EVAL_MAX_ROWS, timeout: options.timeout },
        max_attempts: 3,
        summary: false,
        dry_run: false,
        unmask: true,
        schema_budget_tokens: 6000,
        today: options.today.clone(),
        temperature: 0.0,
        max_tokens: 1024,
        token_budget: None,
        cache: None,
        llm_refusal: None,
    };
    let request = AskRequest {
        question,
        kind: RequestKind::Question,
        connection: &db.connection,
        policy: Policy::default(),
        user: None,
        session: Default::default(),
        options: ask_options,
        progress: None,
    };
    let predicted: Result<ResultSet, Error> = match db.ask.ask(&request).await {
        Ok(answer) => {
            result.predicted = Some(answer.sql.clone());
            if let AnswerSource::Builtin { confidence, .. } = &answer.source {
                result.confidence = Some(*confidence);
            }
            Ok(ResultSet { columns: answer.columns, rows: answer.rows, truncated: answer.truncated })
        }
        Err(f) if f.error.code == ErrorCode::NotUnderstood => {
            result.outcome = EvalOutcome::Abstained;
            result.error = Some(f.error.message);
            result.ms = started.elapsed().as_secs_f64() * 1000.0;
            return result;
        }
        Err(f) => {
            result.predicted = f.attempts.iter().rev().find_map(|a| a.sql.clone());
            Err(f.error)
        }
    };
    result.ms = started.elapsed().as_secs_f64() * 1000.0;
    match predicted {
        Ok(pred) => {
            let ordered = rows::orders_at_top_level(&q.query, db.schema.dialect);
            if !pred.truncated && rows::same_rows(&gold.rows, &pred.rows, ordered) {
                result.outcome = EvalOutcome::Right;
            } else {
                result.outcome = EvalOutcome::Wrong;
                if pred.truncated {
                    result.error = Some(format!("the prediction returned more than {EVAL_MAX_ROWS} rows"));
                }
            }
        }
        Err(e) => {
            result.outcome = EvalOutcome::Error;
            result.error = Some(format!("{}: {}", e.code, e.message));
        }
    }
    result
}

fn summarize<'a>(results: impl Iterator<Item = &'a QuestionResult>) -> Summary {
    let mut s = Summary::default();
    let mut times = Vec::new();
    let mut engine_times = Vec::new();
    for r in results {
        s.questions += 1;
        match r.outcome {
            EvalOutcome::Right => s.right += 1,
            EvalOutcome::Wrong => s.wrong += 1,
            EvalOutcome::Error => {
                s.wrong += 1;
                s.errors += 1;
            }
            EvalOutcome::Abstained => s.abstained += 1,
            EvalOutcome::GoldError => s.gold_errors += 1,
        }
        if r.outcome != EvalOutcome::GoldError {
            times.push(r.ms);
            if let Some(e) = r.engine_ms {
                engine_times.push(e);
            }
        }
    }
    s.answered = s.right + s.wrong;
    let scored = (s.questions - s.gold_errors) as f64;
    if scored > 0.0 {
        s.accuracy = s.right as f64 / scored;
        s.wrong_rate = s.wrong as f64 / scored;
    }
    if !times.is_empty() {
        times.sort_by(f64::total_cmp);
        s.mean_ms = times.iter().sum::<f64>() / times.len() as f64;
        let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        s.p50_ms = at(0.5);
        s.p95_ms = at(0.95);
    }
    if !engine_times.is_empty() {
        engine_times.sort_by(f64::total_cmp);
        let at = |p: f64| engine_times[((engine_times.len() - 1) as f64 * p).round() as usize];
        s.engine_p50_ms = at(0.5);
        s.engine_p95_ms = at(0.95);
    }
    s
}

/// One question's reading taken before the threshold, in the calibration report: what an engine change moves.
#[derive(Debug, Clone, Serialize)]
pub struct ReadingRow {
    pub db_id: String,
    pub question: String,
    pub gold: String,
    pub sql: String,
    pub confidence: f32,
    pub right: bool,
    pub doubts: Vec<String>,
    /// The reading's features that are present, by name, with their counts (what the confidence is the product over).
    pub features: std::collections::BTreeMap<&'static str, f32>,
}

/// What `datagenie eval --calibrate` found (see [`calibrate`]).
#[derive(Debug, Clone)]
pub struct CalibrationReport {
    pub split: Option<Split>,
    pub databases: usize,
    pub questions: usize,
    /// Gold queries that failed or exceeded the row cap: not scored.
    pub gold_errors: usize,
    /// Scored questions the engine could build no query for.
    pub unreadable: usize,
    /// Of the readings: their results equal the gold results.
    pub readings_right: usize,
    pub calibration: fit::Calibration,
    /// Every reading, whether it was right and how confident the current table is of it (`--calibrate --report`).
    pub readings: Vec<ReadingRow>,
    pub seconds: f64,
}

/// Fits the built-in engine's confidence table (`doubt.rs`) on the selected Spider questions — with `--split tune`,
/// the tuning databases only. Each question's gold query and the engine's reading, taken before the threshold
/// ([`Engine::read`]), run through the guard and the connector; the reading is right when the rows are the same
/// ([`rows::same_rows`]). The features of every reading and whether it was right go to [`fit::fit`].
pub async fn calibrate(options: &EvalOptions, fit_options: &fit::Options) -> Result<CalibrationReport, Error> {
    let started = Instant::now();
    let QuestionSet::Spider { questions, .. } = &options.set else {
        return Err(Error::new(ErrorCode::InvalidArgument, "calibration needs a Spider question set (--questions)"));
    };
    let mut questions = read_questions(questions)?;
    select(&mut questions, options);
    let (mut samples, mut readings) = (Vec::new(), Vec::new());
    let (mut gold_errors, mut unreadable, mut databases) = (0usize, 0usize, 0usize);
    let names = datagenie_core::builtin::feature_names();
    let mut current: Option<(String, Db, Engine)> = None;
    for q in &questions {
        if current.as_ref().map(|(id, _, _)| id != &q.db_id).unwrap_or(true) {
            current = None;
            databases += 1;
            if let Ok(db) = open_db(options, &q.db_id).await {
                let values = crate::builtin::load_values(db.connector.as_ref(), &db.schema, &Policy::default()).await;
                let engine = Engine::new(&db.schema, values);
                current = Some((q.db_id.clone(), db, engine));
            }
        }
        let Some((_, db, engine)) = current.as_ref().filter(|(id, _, _)| id == &q.db_id) else {
            // The database did not open: every question on it is one the engine cannot read.
            unreadable += 1;
            continue;
        };
        let gold = match run_sql(db, &q.query, options.timeout).await {
            Ok(rows) if !rows.truncated => rows,
            _ => {
                gold_errors += 1;
                continue;
            }
        };
        let reading =
            Question::parse(&q.question).ok().and_then(|question| engine.read(&question, &options.today).ok());
        let Some(reading) = reading else {
            unreadable += 1;
            continue;
        };
        let right = match run_sql(db, &reading.sql, options.timeout).await {
            Ok(pred) => {
                !pred.truncated
                    && rows::same_rows(&gold.rows, &pred.rows, rows::orders_at_top_level(&q.query, db.schema.dialect))
            }
            Err(_) => false,
        };
        readings.push(ReadingRow {
            db_id: q.db_id.clone(),
            question: q.question.clone(),
            gold: q.query.clone(),
            sql: reading.sql.clone(),
            confidence: reading.confidence,
            right,
            doubts: reading.doubts.clone(),
            features: names.iter().zip(&reading.features).filter(|(_, c)| **c != 0.0).map(|(n, c)| (*n, *c)).collect(),
        });
        samples.push(fit::Sample { features: reading.features, right });
    }
    let readings_right = samples.iter().filter(|s| s.right).count();
    let calibration = fit::fit(&samples, unreadable, fit_options);
    Ok(CalibrationReport {
        split: options.split,
        databases,
        questions: questions.len(),
        gold_errors,
        unreadable,
        readings_right,
        calibration,
        readings,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_fixed_by_the_db_id_alone() {
        // FNV-1a 64 of the empty string is its offset basis, 0xcbf29ce484222325 = 14695981039346656037 (… 7 → validation).
        assert_eq!(spider_split(""), Split::Validation);
        // "a": 0xaf63dc4c8601ec8c = 12638187200555641996 (… 6 → tune).
        assert_eq!(spider_split("a"), Split::Tune);
        // Deterministic, and case matters (db_ids are exact).
        assert_eq!(spider_split("concert_singer"), spider_split("concert_singer"));
        // About 70/30 over many ids.
        let tune = (0..1000).filter(|i| spider_split(&format!("db_{i}")) == Split::Tune).count();
        assert!((650..=750).contains(&tune), "{tune} of 1000 ids in the tuning part");
    }

    #[test]
    fn questions_are_selected_by_split_then_database_then_limit() {
        let q = |db: &str| RawQuestion { db_id: db.into(), question: "q".into(), query: "SELECT 1".into() };
        let mut qs = vec![q("a"), q(""), q("a"), q("")];
        let mut options = EvalOptions {
            set: QuestionSet::Spider { questions: PathBuf::new(), db_dir: PathBuf::new() },
            predictor: Predictor::Builtin,
            limit: Some(1),
            db_id: None,
            today: "2024-01-01".into(),
            timeout: Duration::from_secs(1),
            explain: false,
            cache_dir: PathBuf::new(),
            split: Some(Split::Tune),
        };
        select(&mut qs, &options);
        assert_eq!(qs.len(), 1);
        assert_eq!(qs[0].db_id, "a");
        let mut qs = vec![q("a"), q(""), q("a"), q("")];
        options.split = Some(Split::Validation);
        options.limit = None;
        select(&mut qs, &options);
        assert!(qs.iter().all(|q| q.db_id.is_empty()) && qs.len() == 2);
    }
}
