//! `datagenie eval`: execution accuracy of a question set in Spider's format (`[{db_id, question, query}]`, databases
//! at `DIR/<db_id>/<db_id>.sqlite`). A prediction is right when its rows equal the gold query's rows as a multiset
//! (in order when the gold query has a top-level ORDER BY), whatever the column order, numbers compared with a
//! small tolerance. Both queries run through the guard and the connector, like every statement DataGenie sends.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datagenie_core::builtin::Engine;
use datagenie_core::connector::{Connector, IntrospectOptions, Limits};
use datagenie_core::guard::{self, Policy};
use datagenie_core::schema::Schema;
use datagenie_core::template::QueryTemplate;
use datagenie_core::value::{ResultSet, Value};
use datagenie_core::{Dialect, Error, ErrorCode, Question};
use serde::{Deserialize, Serialize};

use crate::ask::{AnswerSource, AskContext, AskOptions, AskRequest, Connection};
use crate::config::Config;
use crate::privacy::Privacy;
use crate::schema_cache::SchemaCache;

/// Schema snapshots stay valid for the run (the databases are not expected to change under the benchmark).
const SCHEMA_MAX_AGE: Duration = Duration::from_secs(86_400);
/// Rows read per query; a result beyond it cannot be compared.
pub const EVAL_MAX_ROWS: usize = 100_000;
/// Relative and absolute tolerance for numbers.
const REL_TOL: f64 = 1e-6;
const ABS_TOL: f64 = 1e-9;
/// Column assignments tried when several columns have the same values.
const MAX_PERMUTATIONS: usize = 5000;

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
    Templates { store: PathBuf, database: crate::database::DatabaseChoice },
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
fn template_questions(store: &Path, database: &crate::database::DatabaseChoice) -> Result<Vec<RawQuestion>, Error> {
    let connection = database.key()?;
    let store = datagenie_store::TemplateStore::open(store)?;
    let mut out = Vec::new();
    for t in store.list(Some(&connection))?.into_iter().filter(|t| t.verified) {
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
        QuestionSet::Templates { store, database } => template_questions(store, database)?,
    };
    if let Some(db) = &options.db_id {
        questions.retain(|q| &q.db_id == db);
    }
    if let Some(n) = options.limit {
        questions.truncate(n);
    }
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
    };
    let connection = Connection::new(connector.clone(), String::new());
    let explainer = if options.explain {
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
        result.explanation = Some(engine.explain(&question, &options.today));
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
    };
    let request = AskRequest {
        question,
        connection: &db.connection,
        policy: Policy::default(),
        user: None,
        session: Default::default(),
        options: ask_options,
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
        Ok(rows) => {
            let ordered = orders_at_top_level(&q.query, db.schema.dialect);
            if !rows.truncated && same_result(&gold, &rows, ordered) {
                result.outcome = EvalOutcome::Right;
            } else {
                result.outcome = EvalOutcome::Wrong;
                if rows.truncated {
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
    s
}

/// True when the query's outermost level has an ORDER BY (then row order is part of the answer). Decided on the
/// parsed query, not on its text: an ORDER BY inside a subquery does not count.
pub fn orders_at_top_level(sql: &str, dialect: Dialect) -> bool {
    use sqlparser::ast::Statement;
    use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect, SQLiteDialect};
    use sqlparser::parser::Parser;
    let parsed = match dialect {
        Dialect::Sqlite => Parser::parse_sql(&SQLiteDialect {}, sql),
        Dialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, sql),
        Dialect::Mysql => Parser::parse_sql(&MySqlDialect {}, sql),
    };
    match parsed.ok().as_deref() {
        Some([Statement::Query(q)]) => q.order_by.is_some(),
        _ => false,
    }
}

/// A cell for comparison: numbers (integers, floats, decimals, booleans) as f64, the rest as text or bytes.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Num(f64),
    Text(String),
    Bytes(Vec<u8>),
}

fn cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Num(if *b { 1.0 } else { 0.0 }),
        Value::Int(i) => Cell::Num(*i as f64),
        Value::Float(f) => Cell::Num(*f),
        Value::Decimal(d) => d.parse().map(Cell::Num).unwrap_or_else(|_| Cell::Text(d.clone())),
        Value::Text(s) => Cell::Text(s.clone()),
        Value::Blob(b) => Cell::Bytes(b.clone()),
        Value::Json(j) => Cell::Text(j.to_string()),
    }
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    let d = (a - b).abs();
    d <= ABS_TOL || d <= REL_TOL * a.abs().max(b.abs())
}

fn cell_eq(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Num(x), Cell::Num(y)) => close(*x, *y),
        _ => a == b,
    }
}

fn rank(c: &Cell) -> u8 {
    match c {
        Cell::Null => 0,
        Cell::Num(_) => 1,
        Cell::Text(_) => 2,
        Cell::Bytes(_) => 3,
    }
}

fn cell_cmp(a: &Cell, b: &Cell) -> std::cmp::Ordering {
    match (a, b) {
        (Cell::Num(x), Cell::Num(y)) => x.total_cmp(y),
        (Cell::Text(x), Cell::Text(y)) => x.cmp(y),
        (Cell::Bytes(x), Cell::Bytes(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn row_cmp(a: &[Cell], b: &[Cell]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = cell_cmp(x, y);
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn rows_eq(a: &[Vec<Cell>], b: &[Vec<Cell>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| cell_eq(p, q)))
}

/// Equal results: same number of columns; some assignment of the prediction's columns to the gold's makes the rows
/// equal — in order when `ordered`, as multisets otherwise. Columns are only paired when their values, sorted, are
/// equal, so the assignments tried are few; a mapping is then checked on whole rows (values that match column by
/// column but are paired differently across rows do not count as equal).
pub fn same_result(gold: &ResultSet, pred: &ResultSet, ordered: bool) -> bool {
    let g: Vec<Vec<Cell>> = gold.rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    let p: Vec<Vec<Cell>> = pred.rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    if g.len() != p.len() {
        return false;
    }
    let width = |rows: &[Vec<Cell>], set: &ResultSet| rows.first().map(Vec::len).unwrap_or(set.columns.len());
    let (gw, pw) = (width(&g, gold), width(&p, pred));
    if gw != pw {
        return false;
    }
    if g.is_empty() {
        return true;
    }
    let column = |rows: &[Vec<Cell>], j: usize| {
        let mut c: Vec<Cell> = rows.iter().map(|r| r.get(j).cloned().unwrap_or(Cell::Null)).collect();
        c.sort_by(cell_cmp);
        c
    };
    let gcols: Vec<Vec<Cell>> = (0..gw).map(|j| column(&g, j)).collect();
    let pcols: Vec<Vec<Cell>> = (0..pw).map(|j| column(&p, j)).collect();
    let compatible: Vec<Vec<usize>> = gcols
        .iter()
        .map(|gc| {
            (0..pw)
                .filter(|&j| gc.len() == pcols[j].len() && gc.iter().zip(&pcols[j]).all(|(a, b)| cell_eq(a, b)))
                .collect()
        })
        .collect();
    if compatible.iter().any(Vec::is_empty) {
        return false;
    }
    let mut gold_rows = g;
    if !ordered {
        gold_rows.sort_by(|a, b| row_cmp(a, b));
    }
    let mut assignment = vec![usize::MAX; gw];
    let mut taken = vec![false; pw];
    let mut tries = 0usize;
    search(0, &compatible, &mut assignment, &mut taken, &mut tries, &mut |perm| {
        let mut rows: Vec<Vec<Cell>> = p.iter().map(|r| perm.iter().map(|&j| r[j].clone()).collect()).collect();
        if !ordered {
            rows.sort_by(|a, b| row_cmp(a, b));
        }
        rows_eq(&gold_rows, &rows)
    })
}

/// Backtracking over column assignments; stops at the first that `check` accepts or after [`MAX_PERMUTATIONS`].
fn search(
    i: usize,
    compatible: &[Vec<usize>],
    assignment: &mut Vec<usize>,
    taken: &mut Vec<bool>,
    tries: &mut usize,
    check: &mut dyn FnMut(&[usize]) -> bool,
) -> bool {
    if i == compatible.len() {
        *tries += 1;
        return check(assignment);
    }
    for &j in &compatible[i] {
        if taken[j] || *tries >= MAX_PERMUTATIONS {
            continue;
        }
        taken[j] = true;
        assignment[i] = j;
        if search(i + 1, compatible, assignment, taken, tries, check) {
            return true;
        }
        taken[j] = false;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_core::value::ResultColumn;

    fn rs(rows: Vec<Vec<Value>>) -> ResultSet {
        let n = rows.first().map(Vec::len).unwrap_or(0);
        ResultSet {
            columns: (0..n).map(|i| ResultColumn { name: format!("c{i}"), decl_type: None }).collect(),
            rows,
            truncated: false,
        }
    }

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn multiset_column_order_and_tolerance() {
        let gold = rs(vec![vec![t("a"), Value::Int(1)], vec![t("b"), Value::Int(2)]]);
        // Rows in another order, columns swapped, a float for an int.
        let pred = rs(vec![vec![Value::Float(2.0), t("b")], vec![Value::Float(1.0000000001), t("a")]]);
        assert!(same_result(&gold, &pred, false));
        // Order matters when the gold query orders.
        assert!(!same_result(&gold, &pred, true));
        let pred_in_order = rs(vec![vec![Value::Int(1), t("a")], vec![Value::Int(2), t("b")]]);
        assert!(same_result(&gold, &pred_in_order, true));
        // Beyond the tolerance.
        let off = rs(vec![vec![t("a"), Value::Float(1.001)], vec![t("b"), Value::Int(2)]]);
        assert!(!same_result(&gold, &off, false));
    }

    #[test]
    fn pairing_across_rows_matters() {
        // Same column values, paired differently.
        let gold = rs(vec![vec![t("a"), Value::Int(1)], vec![t("b"), Value::Int(2)]]);
        let pred = rs(vec![vec![t("a"), Value::Int(2)], vec![t("b"), Value::Int(1)]]);
        assert!(!same_result(&gold, &pred, false));
        // Duplicates count: a multiset, not a set.
        let gold = rs(vec![vec![t("a")], vec![t("a")]]);
        let pred = rs(vec![vec![t("a")]]);
        assert!(!same_result(&gold, &pred, false));
        // Extra column.
        let gold = rs(vec![vec![t("a")]]);
        let pred = rs(vec![vec![t("a"), t("a")]]);
        assert!(!same_result(&gold, &pred, false));
        // Identical columns: any assignment.
        let gold = rs(vec![vec![t("x"), t("x")]]);
        assert!(same_result(&gold, &gold.clone(), true));
        // Empty results with the same shape.
        assert!(same_result(&rs(vec![]), &rs(vec![]), false));
    }

    #[test]
    fn top_level_order_by_is_parsed() {
        assert!(orders_at_top_level("SELECT a FROM t ORDER BY a", Dialect::Sqlite));
        assert!(!orders_at_top_level("SELECT a FROM (SELECT a FROM t ORDER BY a) AS s", Dialect::Sqlite));
        assert!(!orders_at_top_level("SELECT 'ORDER BY' FROM t", Dialect::Sqlite));
        assert!(orders_at_top_level("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1", Dialect::Sqlite));
        assert!(!orders_at_top_level("not sql", Dialect::Sqlite));
    }
}
