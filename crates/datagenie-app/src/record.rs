//! What the system database keeps of a question: the history row (with its cost, whatever the outcome), the chart
//! and summary, the rows as the user saw them, and — for follow-ups in a chat session — a one-line sketch of the
//! result. Also the other direction: a session's stored messages as the earlier turns a follow-up is given.

use datagenie_core::prompt::Turn;
use datagenie_core::value::Value;
use datagenie_core::{Error, ErrorCode};
use datagenie_store::model::{
    Analysis, Channel, ChatMessage, HistoryEntry, MessageRole, QueryStatus, QueryType, QuestionRecord, StoredResult,
    Timestamp, new_id,
};
use sha2::{Digest, Sha256};

use crate::ask::{Answer, AnswerJson, AnswerSource, AskFailure};

/// The most bytes of result rows kept per question (larger results keep their first rows and are marked
/// truncated): enough for the CSV download of any result a person reads, bounded for the system database.
pub const MAX_STORED_RESULT_BYTES: usize = 4 * 1024 * 1024;
/// Rows shown in a follow-up's sketch of an earlier result.
const SKETCH_ROWS: usize = 3;

/// Who asked what, where.
#[derive(Debug, Clone, PartialEq)]
pub struct Asked<'a> {
    pub user_id: &'a str,
    pub connection_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    /// The question, or the caller's SQL when `sql`.
    pub question: &'a str,
    /// The caller's own SQL (`run_sql`): a failure is filed with the source `{"kind": "sql"}` too.
    pub sql: bool,
    /// The API key it was asked with, if any.
    pub api_key_id: Option<&'a str>,
    pub channel: Option<Channel>,
    /// The uploaded spreadsheet asked of: the question is filed as `excel` with it.
    pub file_info: Option<&'a serde_json::Value>,
}

/// The record of an answered question.
pub fn answered(asked: &Asked<'_>, answer: &Answer) -> QuestionRecord {
    let json = answer.to_json();
    let (rows, truncated) = stored_rows(&answer.rows, answer.truncated, MAX_STORED_RESULT_BYTES);
    let model = match &answer.source {
        AnswerSource::Llm { model } => Some(model.clone()),
        _ => None,
    };
    let entry = HistoryEntry {
        status: QueryStatus::Success,
        sql: Some(answer.sql.clone()),
        error_code: None,
        error_message: None,
        row_count: Some(answer.rows.len() as i64),
        execution_ms: Some(answer.timings.database.as_millis() as i64),
        total_ms: answer.timings.total.as_millis() as i64,
        prompt_tokens: answer.usage.prompt_tokens as i64,
        completion_tokens: answer.usage.completion_tokens as i64,
        model,
        cost_usd: answer.usage.cost_usd,
        source: serde_json::to_value(&json.source).ok(),
        result_hash: Some(result_hash(&answer.rows)),
        ..entry(asked)
    };
    let chart_type = answer
        .chart
        .as_ref()
        .and_then(|c| c.get("mark"))
        .and_then(|m| m.get("type").or(Some(m)))
        .and_then(|m| m.as_str().map(str::to_string));
    QuestionRecord {
        entry,
        analysis: Some(Analysis {
            chart_type,
            chart_spec: answer.chart.clone(),
            summary: answer.summary.clone(),
            insights: None,
        }),
        result: Some(StoredResult {
            columns: answer.columns.iter().map(|c| c.name.clone()).collect(),
            rows,
            truncated,
        }),
        answer_text: Some(answer.summary.clone().unwrap_or_else(|| sketch_line(&json))),
        result_sketch: Some(serde_json::json!({
            "columns": json.columns,
            "row_count": json.row_count,
            "rows": answer.rows.iter().take(SKETCH_ROWS).collect::<Vec<_>>(),
        })),
        audit: None,
    }
}

/// The record of a question that failed or was refused, with what it cost.
pub fn failed(asked: &Asked<'_>, failure: &AskFailure) -> QuestionRecord {
    let e = &failure.error;
    let entry = HistoryEntry {
        status: status_of(e),
        sql: failure.attempts.iter().rev().find_map(|a| a.sql.clone()),
        error_code: Some(e.code.as_str().to_string()),
        error_message: Some(e.message.clone()),
        total_ms: failure.elapsed.as_millis() as i64,
        prompt_tokens: failure.usage.prompt_tokens as i64,
        completion_tokens: failure.usage.completion_tokens as i64,
        cost_usd: failure.usage.cost_usd,
        ..entry(asked)
    };
    QuestionRecord {
        entry,
        analysis: None,
        result: None,
        answer_text: Some(format!("{}: {}", e.code, e.message)),
        result_sketch: Some(serde_json::json!({ "error": { "code": e.code.as_str(), "message": e.message } })),
        audit: None,
    }
}

/// How a failure is filed: refused (the guard or a permission declined), timeout, or error.
pub fn status_of(e: &Error) -> QueryStatus {
    match e.code {
        code if code.is_guard_refusal() => QueryStatus::Refused,
        ErrorCode::Forbidden | ErrorCode::ReadOnlyViolation | ErrorCode::QuotaExceeded | ErrorCode::RateLimited => {
            QueryStatus::Refused
        }
        ErrorCode::QueryTimeout | ErrorCode::LlmTimeout => QueryStatus::Timeout,
        _ => QueryStatus::Error,
    }
}

fn entry(asked: &Asked<'_>) -> HistoryEntry {
    HistoryEntry {
        id: new_id(),
        user_id: asked.user_id.to_string(),
        connection_id: asked.connection_id.map(str::to_string),
        session_id: asked.session_id.map(str::to_string),
        question: asked.question.to_string(),
        sql: None,
        query_type: if asked.file_info.is_some() { QueryType::Excel } else { QueryType::Database },
        status: QueryStatus::Error,
        error_code: None,
        error_message: None,
        row_count: None,
        execution_ms: None,
        total_ms: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        model: None,
        cost_usd: 0.0,
        source: asked.sql.then(|| serde_json::json!({ "kind": "sql" })),
        result_hash: None,
        api_key_id: asked.api_key_id.map(str::to_string),
        channel: asked.channel,
        file_info: asked.file_info.cloned(),
        verified_by: None,
        verified_at: None,
        created_at: Timestamp::now(),
    }
}

/// The rows as JSON, cut to [`MAX_STORED_RESULT_BYTES`]; `true` when cut (or already truncated by the row cap).
fn stored_rows(rows: &[Vec<Value>], truncated: bool, max_bytes: usize) -> (serde_json::Value, bool) {
    let mut kept = Vec::with_capacity(rows.len());
    let mut bytes = 0usize;
    for row in rows {
        let v = serde_json::to_value(row).unwrap_or(serde_json::Value::Null);
        bytes += v.to_string().len();
        if bytes > max_bytes {
            return (serde_json::Value::Array(kept), true);
        }
        kept.push(v);
    }
    (serde_json::Value::Array(kept), truncated)
}

/// SHA-256 (hex) of the rows in their JSON form: equal results, equal hashes (a cache key, a change detector).
pub fn result_hash(rows: &[Vec<Value>]) -> String {
    let text = serde_json::to_string(rows).unwrap_or_default();
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// `3 rows (channel, order_count); first: app, 16391`.
fn sketch_line(json: &AnswerJson<'_>) -> String {
    let first = json
        .rows
        .first()
        .map(|r| format!("; first: {}", r.iter().map(Value::to_display).collect::<Vec<_>>().join(", ")))
        .unwrap_or_default();
    let n = json.row_count;
    format!("{n} row{} ({}){first}", if n == 1 { "" } else { "s" }, json.columns.join(", "))
}

/// The earlier turns of a session for a follow-up: each question with the SQL that answered it and a line about
/// its result. Questions that failed are left out (their SQL answered nothing).
pub fn earlier_turns(messages: &[ChatMessage]) -> Vec<Turn> {
    let mut turns = Vec::new();
    let mut question: Option<&str> = None;
    for m in messages {
        match m.role {
            MessageRole::User => question = Some(&m.content),
            MessageRole::Assistant => {
                if let (Some(q), Some(sql), None) = (question.take(), &m.sql, &m.error) {
                    turns.push(Turn { question: q.to_string(), sql: sql.clone(), result: sketch_of(m) });
                }
            }
        }
    }
    turns
}

fn sketch_of(m: &ChatMessage) -> Option<String> {
    let s = m.result_sketch.as_ref()?;
    let columns: Vec<&str> = s.get("columns")?.as_array()?.iter().filter_map(|c| c.as_str()).collect();
    let n = s.get("row_count")?.as_u64()?;
    let first = s
        .get("rows")
        .and_then(|r| r.as_array())
        .and_then(|r| r.first())
        .and_then(|r| r.as_array())
        .map(|cells| {
            let cells: Vec<String> =
                cells.iter().map(|c| c.as_str().map(str::to_string).unwrap_or_else(|| c.to_string())).collect();
            format!("; first: {}", cells.join(", "))
        })
        .unwrap_or_default();
    Some(format!("{n} row{} ({}){first}", if n == 1 { "" } else { "s" }, columns.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use datagenie_core::value::ResultColumn;

    use crate::ask::{Attempt, ErrorBody, Timings, Usage};
    use crate::config::{LlmInForce, Origin, ProviderKind};
    use crate::schema_cache::SchemaSource;

    const ASKED: Asked<'static> = Asked {
        user_id: "u-1",
        connection_id: Some("c-1"),
        session_id: Some("s-1"),
        question: "orders per channel",
        sql: false,
        api_key_id: None,
        channel: None,
        file_info: None,
    };

    fn answer() -> Answer {
        Answer {
            question: "orders per channel".into(),
            sql: "SELECT channel, count(*) AS order_count FROM orders GROUP BY channel".into(),
            source: AnswerSource::Llm { model: "gpt-4o-mini-2024-07-18".into() },
            llm: LlmInForce {
                provider: ProviderKind::Openai,
                model: Some("gpt-4o-mini".into()),
                from: Origin::Default,
            },
            columns: vec![
                ResultColumn { name: "channel".into(), decl_type: None },
                ResultColumn { name: "order_count".into(), decl_type: None },
            ],
            rows: vec![
                vec![Value::Text("app".into()), Value::Int(16391)],
                vec![Value::Text("web".into()), Value::Int(15626)],
            ],
            truncated: false,
            executed: true,
            chart: Some(serde_json::json!({"mark": {"type": "bar"}})),
            summary: Some("App leads.".into()),
            summary_source: None,
            attempts: vec![Attempt { sql: Some("SELECT …".into()), error: None }],
            usage: Usage { prompt_tokens: 800, completion_tokens: 60, cost_usd: 0.0002 },
            timings: Timings {
                total: Duration::from_millis(930),
                database: Duration::from_millis(12),
                ..Default::default()
            },
            tables_in_prompt: vec![],
            knowledge: Default::default(),
            schema_source: SchemaSource::Cache,
            masked: vec![],
            cache: Default::default(),
        }
    }

    #[test]
    fn an_answer_is_recorded_with_its_cost_rows_chart_and_sketch() {
        let r = answered(&ASKED, &answer());
        let e = &r.entry;
        assert_eq!((e.status, e.row_count, e.total_ms, e.execution_ms), (QueryStatus::Success, Some(2), 930, Some(12)));
        assert_eq!(
            (e.prompt_tokens, e.completion_tokens, e.model.as_deref()),
            (800, 60, Some("gpt-4o-mini-2024-07-18"))
        );
        assert_eq!(e.source.as_ref().and_then(|s| s.get("kind")), Some(&serde_json::json!("llm")));
        assert_eq!(e.result_hash.as_ref().map(String::len), Some(64));
        assert_eq!(r.analysis.as_ref().and_then(|a| a.chart_type.as_deref()), Some("bar"));
        assert_eq!(
            r.result.as_ref().map(|s| s.rows.clone()),
            Some(serde_json::json!([["app", 16391], ["web", 15626]]))
        );
        assert_eq!(r.answer_text.as_deref(), Some("App leads."));
        // The sketch reads back as the earlier turn of a follow-up.
        let message = |role, content: &str, sql: Option<&str>, sketch| ChatMessage {
            id: new_id(),
            session_id: "s-1".into(),
            sequence: 1,
            role,
            content: content.into(),
            sql: sql.map(str::to_string),
            result_sketch: sketch,
            error: None,
            history_id: None,
            created_at: Timestamp::now(),
        };
        let turns = earlier_turns(&[
            message(MessageRole::User, "orders per channel", None, None),
            message(MessageRole::Assistant, "App leads.", e.sql.as_deref(), r.result_sketch.clone()),
        ]);
        assert_eq!(turns.len(), 1);
        assert_eq!(turns[0].result.as_deref(), Some("2 rows (channel, order_count); first: app, 16391"));
    }

    #[test]
    fn failures_are_filed_by_kind_with_what_they_cost() {
        let failure = |code, usage| AskFailure {
            error: Error::new(code, "why"),
            attempts: vec![Attempt {
                sql: Some("SELECT * FROM payments".into()),
                error: Some(ErrorBody { code, message: "why".into() }),
            }],
            usage,
            elapsed: Duration::from_millis(40),
        };
        let spent = Usage { prompt_tokens: 500, completion_tokens: 20, cost_usd: 0.001 };
        let r = failed(&ASKED, &failure(ErrorCode::ForbiddenTable, spent));
        assert_eq!((r.entry.status, r.entry.prompt_tokens, r.entry.total_ms), (QueryStatus::Refused, 500, 40));
        assert_eq!(r.entry.sql.as_deref(), Some("SELECT * FROM payments"));
        assert_eq!(r.entry.error_code.as_deref(), Some("forbidden_table"));
        for (code, status) in [
            (ErrorCode::Forbidden, QueryStatus::Refused),
            (ErrorCode::QueryTimeout, QueryStatus::Timeout),
            (ErrorCode::LlmTimeout, QueryStatus::Timeout),
            (ErrorCode::LlmNoSql, QueryStatus::Error),
            (ErrorCode::DatabaseUnavailable, QueryStatus::Error),
        ] {
            assert_eq!(status_of(&Error::new(code, "x")), status, "{code}");
        }
    }

    #[test]
    fn large_results_keep_their_first_rows_and_say_so() {
        let rows: Vec<Vec<Value>> =
            (0..100).map(|i| vec![Value::Text(format!("row {i:03} {}", "x".repeat(90)))]).collect();
        let (kept, cut) = stored_rows(&rows, false, 1000);
        assert!(cut);
        assert!(kept.as_array().is_some_and(|a| !a.is_empty() && a.len() < 100));
        let (all, cut) = stored_rows(&rows, false, usize::MAX);
        assert!(!cut && all.as_array().is_some_and(|a| a.len() == 100));
    }
}
