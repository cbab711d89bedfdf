//! The ask pipeline — the one path from a question to an answer, shared by the CLI, the HTTP API and MCP:
//! schema (cached) → schema linking and prompt → LLM → SQL extraction → guard → execution (with repair attempts) →
//! chart → analysis. Every LLM call is metered; every attempt is reported.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datagenie_core::analysis;
use datagenie_core::chart;
use datagenie_core::connector::{Connector, IntrospectOptions, Limits};
use datagenie_core::extract::extract_sql;
use datagenie_core::guard::{self, Policy, TableRef};
use datagenie_core::linking::SchemaIndex;
use datagenie_core::llm::{LlmProvider, PriceTable, TokenUsage};
use datagenie_core::prompt::{SqlPromptInput, repair_messages, sql_request};
use datagenie_core::schema::Schema;
use datagenie_core::value::{ResultColumn, ResultSet, Value};
use datagenie_core::{Error, ErrorCode, Question};
use serde::Serialize;

use crate::privacy::{MaskedColumn, Privacy};
use crate::schema_cache::{SchemaCache, SchemaSource};

/// Everything one question needs, built once per process (or per request in the server) from configuration.
pub struct AskContext {
    pub connector: Arc<dyn Connector>,
    /// `None` when no LLM is configured.
    pub llm: Option<Arc<dyn LlmProvider>>,
    pub prices: PriceTable,
    pub cache: SchemaCache,
    pub policy: Policy,
    pub privacy: Privacy,
    /// The last schema as prompts see it (personal samples masked), reused while the schema is unchanged.
    pub prompt_schema: PromptSchemaMemo,
}

/// A one-entry memo: (the schema, its prompt form). Classifying every column's samples is the costliest step of
/// building a prompt, and its input rarely changes between questions.
#[derive(Default)]
pub struct PromptSchemaMemo(std::sync::Mutex<Option<(Schema, Arc<Schema>)>>);

impl PromptSchemaMemo {
    fn get_or_build(&self, schema: &Schema, privacy: &Privacy) -> Arc<Schema> {
        if let Ok(memo) = self.0.lock()
            && let Some((raw, prompt)) = memo.as_ref()
            && raw == schema
        {
            return prompt.clone();
        }
        let mut prompt = schema.clone();
        privacy.redact_samples(&mut prompt);
        let prompt = Arc::new(prompt);
        if let Ok(mut memo) = self.0.lock() {
            *memo = Some((schema.clone(), prompt.clone()));
        }
        prompt
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
    pub schema_budget_tokens: usize,
    /// Today's date, `YYYY-MM-DD`, for relative dates in questions. The caller reads the clock.
    pub today: String,
    /// Sampling temperature and answer length for every LLM call.
    pub temperature: f32,
    pub max_tokens: u32,
}

/// One LLM round: the SQL it produced (if any) and why it failed (if it did).
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

#[derive(Debug, Clone)]
pub struct Answer {
    pub question: String,
    pub sql: String,
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
    pub schema_source: SchemaSource,
    /// Columns whose personal data was masked.
    pub masked: Vec<MaskedColumn>,
}

/// A failed question: the error, plus what was spent and tried on the way.
#[derive(Debug, Clone)]
pub struct AskFailure {
    pub error: Error,
    pub attempts: Vec<Attempt>,
    pub usage: Usage,
}

impl From<Error> for AskFailure {
    fn from(error: Error) -> Self {
        AskFailure { error, attempts: Vec::new(), usage: Usage::default() }
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
    fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.tokens.prompt_tokens,
            completion_tokens: self.tokens.completion_tokens,
            cost_usd: self.cost_usd,
        }
    }
}

impl AskContext {
    /// The schema of the connected database (cached by structure hash).
    pub async fn schema(&self) -> Result<(Schema, SchemaSource), Error> {
        self.cache.load(self.connector.as_ref(), &IntrospectOptions::default()).await
    }

    pub async fn ask(&self, question: &Question, options: &AskOptions) -> Result<Answer, AskFailure> {
        let started = Instant::now();
        let mut timings = Timings::default();
        let Some(llm) = self.llm.as_deref() else {
            return Err(Error::new(
                ErrorCode::LlmNotConfigured,
                "no LLM is configured: set DATAGENIE_LLM__PROVIDER (openai or anthropic), DATAGENIE_LLM__BASE_URL, \
                 DATAGENIE_LLM__MODEL and, for hosted APIs, DATAGENIE_LLM__API_KEY (see `datagenie config default`)",
            )
            .into());
        };

        let t = Instant::now();
        let (schema, schema_source) = self.schema().await?;
        timings.schema = t.elapsed();
        timings.schema_introspected = schema_source == SchemaSource::Introspected;

        // The LLM sees personal columns' sample values masked; classification uses the real ones.
        let prompt_schema = if self.privacy.mask {
            self.prompt_schema.get_or_build(&schema, &self.privacy)
        } else {
            Arc::new(schema.clone())
        };
        let index = SchemaIndex::new(&prompt_schema);
        let prompt = sql_request(&SqlPromptInput {
            question,
            schema: &prompt_schema,
            index: &index,
            today: &options.today,
            schema_budget_tokens: options.schema_budget_tokens,
        });
        let mut request = prompt.request;
        request.temperature = options.temperature;
        request.max_tokens = options.max_tokens;
        let mut meter =
            Meter { prices: &self.prices, configured_model: llm.model(), tokens: TokenUsage::default(), cost_usd: 0.0 };
        let mut attempts: Vec<Attempt> = Vec::new();
        let fail =
            |error: Error, attempts: Vec<Attempt>, meter: &Meter| AskFailure { error, attempts, usage: meter.usage() };

        let max_attempts = options.max_attempts.max(1);
        let mut outcome: Option<(String, Vec<TableRef>, Option<ResultSet>)> = None;
        let mut last_error: Option<Error> = None;
        for n in 1..=max_attempts {
            let t = Instant::now();
            let reply = llm.complete(&request).await;
            timings.llm += t.elapsed();
            let reply = match reply {
                Ok(r) => r,
                // The endpoint itself failed (after its own retries): a repair cannot help.
                Err(e) => return Err(fail(e, attempts, &meter)),
            };
            meter.add(&reply.model, reply.usage);

            let Some(sql) = extract_sql(&reply.text) else {
                let e = Error::new(ErrorCode::LlmNoSql, "the LLM's reply contained no SQL query");
                attempts.push(Attempt { sql: None, error: Some((&e).into()) });
                repair_messages(&mut request, &reply.text, None, &e);
                last_error = Some(e);
                continue;
            };
            let (guarded, tables) = match guard::check_report(&sql, schema.dialect, &self.policy) {
                Ok(report) => (report.sql, report.tables),
                Err(e) => {
                    tracing::debug!(attempt = n, code = %e.code, "guard refused the SQL");
                    attempts.push(Attempt { sql: Some(sql.clone()), error: Some((&e).into()) });
                    repair_messages(&mut request, &reply.text, Some(&sql), &e);
                    last_error = Some(e);
                    continue;
                }
            };
            if options.dry_run {
                attempts.push(Attempt { sql: Some(guarded.as_str().to_string()), error: None });
                outcome = Some((guarded.as_str().to_string(), tables, None));
                break;
            }
            let t = Instant::now();
            let executed = self.connector.execute(&guarded, &options.limits).await;
            timings.database += t.elapsed();
            match executed {
                Ok(result) => {
                    attempts.push(Attempt { sql: Some(guarded.as_str().to_string()), error: None });
                    outcome = Some((guarded.as_str().to_string(), tables, Some(result)));
                    break;
                }
                Err(e) => {
                    attempts.push(Attempt { sql: Some(guarded.as_str().to_string()), error: Some((&e).into()) });
                    if !repairable(e.code) {
                        return Err(fail(e, attempts, &meter));
                    }
                    repair_messages(&mut request, &reply.text, Some(&sql), &e);
                    last_error = Some(e);
                }
            }
        }

        let Some((sql, tables, result)) = outcome else {
            let e = last_error.unwrap_or_else(|| Error::new(ErrorCode::Internal, "no attempt was made"));
            let e = Error::new(
                e.code,
                format!("no usable SQL after {max_attempts} attempt{}: {}", plural(max_attempts), e.message),
            );
            return Err(fail(e, attempts, &meter));
        };

        let executed = result.is_some();
        let mut result = result.unwrap_or_default();
        // Masked before anything else sees the rows: the chart, the analysis prompt and the output.
        let masked = self.privacy.mask_result(&schema, &tables, &mut result);
        let chart = if executed { chart::choose_chart(question.as_str(), &result) } else { None };

        let (summary, summary_source) = if executed && options.summary && !result.rows.is_empty() {
            let t = Instant::now();
            let s = summarize(llm, question.as_str(), &sql, &result, options, &mut meter).await;
            timings.llm += t.elapsed();
            (Some(s.0), Some(s.1))
        } else {
            (None, None)
        };

        timings.total = started.elapsed();
        Ok(Answer {
            question: question.as_str().to_string(),
            sql,
            columns: result.columns,
            rows: result.rows,
            truncated: result.truncated,
            executed,
            chart,
            summary,
            summary_source,
            attempts,
            usage: meter.usage(),
            timings,
            tables_in_prompt: prompt.tables,
            schema_source,
            masked,
        })
    }
}

/// Errors the LLM can fix by writing different SQL. Time limits, lost connections and write refusals are final:
/// repeating them would only multiply the wait or the risk.
fn repairable(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::QueryFailed)
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
) -> (String, SummarySource) {
    let facts = analysis::facts(result).with_context(question, sql);
    let mut request = analysis::summary_request(question, sql, result, &facts, SUMMARY_SAMPLE_ROWS);
    request.temperature = options.temperature;
    request.max_tokens = request.max_tokens.min(options.max_tokens);
    match llm.complete(&request).await {
        Ok(reply) => {
            meter.add(&reply.model, reply.usage);
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
    pub columns: Vec<&'a str>,
    pub rows: &'a [Vec<Value>],
    pub row_count: usize,
    pub truncated: bool,
    pub chart: Option<&'a serde_json::Value>,
    pub summary: Option<&'a str>,
    pub attempts: &'a [Attempt],
    pub usage: Usage,
    pub elapsed_ms: u64,
}

impl Answer {
    pub fn to_json(&self) -> AnswerJson<'_> {
        AnswerJson {
            question: &self.question,
            sql: &self.sql,
            columns: self.columns.iter().map(|c| c.name.as_str()).collect(),
            rows: &self.rows,
            row_count: self.rows.len(),
            truncated: self.truncated,
            chart: self.chart.as_ref(),
            summary: self.summary.as_deref(),
            attempts: &self.attempts,
            usage: self.usage,
            elapsed_ms: self.timings.total.as_millis() as u64,
        }
    }
}

/// The JSON shape of a failure: `{"error": {"code", "message"}}`.
pub fn failure_json(error: &Error) -> serde_json::Value {
    serde_json::json!({ "error": { "code": error.code.as_str(), "message": error.message } })
}

#[cfg(test)]
mod tests {
    use super::*;

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
