//! Questions: the history row and what hangs off it (analysis, stored rows, chat messages), and token usage.
//!
//! Usage is kept twice, in the same transaction: per question in `query_history`, and summed per user, hour and
//! model in `token_usage`. A window's usage reads the hour buckets that lie wholly inside it — one row per hour and
//! model, whatever the number of questions — plus, when the window starts inside an hour, that hour's questions
//! from the history after the start (at most one hour of one user's questions). The total is exact for any start.

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};
use serde_json::json;

use super::sql::{Json, hour_start, json, json_opt, ms, now, page_of, to_i64};
use super::{Db, R, invalid, not_found};
use crate::model::*;
use crate::page;

const COLUMNS: &str = "id, user_id, connection_id, session_id, question, generated_sql, query_type, status, \
                       error_code, error_message, row_count, execution_time_ms, total_time_ms, prompt_tokens, \
                       completion_tokens, llm_model, cost_usd, source, result_hash, created_at, api_key_id, channel, \
                       file_info, verified_by, verified_at";

fn row(r: &Row<'_>) -> rusqlite::Result<HistoryEntry> {
    Ok(HistoryEntry {
        id: r.get(0)?,
        user_id: r.get(1)?,
        connection_id: r.get(2)?,
        session_id: r.get(3)?,
        question: r.get(4)?,
        sql: r.get(5)?,
        query_type: r.get(6)?,
        status: r.get(7)?,
        error_code: r.get(8)?,
        error_message: r.get(9)?,
        row_count: r.get(10)?,
        execution_ms: r.get(11)?,
        total_ms: r.get(12)?,
        prompt_tokens: r.get(13)?,
        completion_tokens: r.get(14)?,
        model: r.get(15)?,
        cost_usd: r.get(16)?,
        source: json_opt(r, 17)?,
        result_hash: r.get(18)?,
        created_at: r.get(19)?,
        api_key_id: r.get(20)?,
        channel: r.get(21)?,
        file_info: json_opt(r, 22)?,
        verified_by: r.get(23)?,
        verified_at: r.get(24)?,
    })
}

/// Values the schema cannot check for itself (SQLite stores NaN as NULL).
fn check(e: &HistoryEntry) -> R<()> {
    if !e.cost_usd.is_finite() || e.cost_usd < 0.0 {
        return Err(invalid("the cost must be a finite amount of at least 0"));
    }
    if e.prompt_tokens < 0 || e.completion_tokens < 0 {
        return Err(invalid("token counts must be at least 0"));
    }
    if e.verified_by.is_some() != e.verified_at.is_some() {
        return Err(invalid("an answer is verified by someone at some time: both or neither"));
    }
    if e.verified_at.is_some() && !answered(e.status, e.sql.as_deref()) {
        return Err(invalid("only an answered question (status success, with its SQL) can be verified"));
    }
    Ok(())
}

/// See [`crate::Store::record_question`]. In a chat session the question and the answer take the next two
/// sequence numbers: the transaction is IMMEDIATE, so concurrent records into one session are numbered one after
/// the other, never twice the same (the UNIQUE constraint stands behind that).
pub(super) fn record(tx: &Db, record: QuestionRecord) -> R<RecordedQuestion> {
    let QuestionRecord { mut entry, analysis, result, answer_text, result_sketch, audit } = record;
    check(&entry)?;
    if entry.id.is_empty() {
        entry.id = new_id();
    }
    entry.created_at = ms(entry.created_at);
    entry.verified_at = entry.verified_at.map(ms);
    let e = &entry;
    tx.prepare_cached(
        "INSERT INTO query_history (id, user_id, connection_id, session_id, question, generated_sql, query_type,
             status, error_code, error_message, row_count, execution_time_ms, total_time_ms, prompt_tokens,
             completion_tokens, llm_model, cost_usd, source, result_hash, created_at, api_key_id, channel, file_info,
             verified_by, verified_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
             ?23, ?24, ?25)",
    )?
    .execute(params![
        e.id,
        e.user_id,
        e.connection_id,
        e.session_id,
        e.question,
        e.sql,
        e.query_type,
        e.status,
        e.error_code,
        e.error_message,
        e.row_count,
        e.execution_ms,
        e.total_ms,
        e.prompt_tokens,
        e.completion_tokens,
        e.model,
        e.cost_usd,
        e.source.as_ref().map(Json),
        e.result_hash,
        e.created_at,
        e.api_key_id,
        e.channel,
        e.file_info.as_ref().map(Json),
        e.verified_by,
        e.verified_at
    ])?;
    if let Some(a) = &analysis {
        tx.prepare_cached(
            "INSERT INTO analysis_results (id, query_history_id, chart_type, chart_config, summary_text, insights,
                 created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            new_id(),
            e.id,
            a.chart_type,
            a.chart_spec.as_ref().map(Json),
            a.summary,
            a.insights.as_ref().map(Json),
            e.created_at
        ])?;
    }
    if let Some(r) = &result {
        tx.prepare_cached(
            "INSERT INTO query_results (query_history_id, result_columns, result_rows, truncated, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![e.id, Json(&r.columns), Json(&r.rows), r.truncated, e.created_at])?;
    }
    add_usage(tx, UsageBucket::User, &e.user_id, e)?;
    if let Some(key) = &e.api_key_id {
        add_usage(tx, UsageBucket::ApiKey, key, e)?;
    }
    let counted = tx
        .prepare_cached("UPDATE users SET token_usage = token_usage + ?2 WHERE id = ?1")?
        .execute(params![e.user_id, e.prompt_tokens.saturating_add(e.completion_tokens)])?;
    if counted == 0 {
        return Err(not_found(format!("no user with the id '{}'", e.user_id)));
    }
    let message_id = match &e.session_id {
        None => None,
        Some(session) => Some(append_messages(tx, e, session, answer_text, result_sketch)?),
    };
    if let Some(mut audit) = audit {
        let mut values = match audit.new_values.take() {
            Some(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        values.insert("history_id".into(), e.id.clone().into());
        audit.new_values = Some(serde_json::Value::Object(values));
        super::records::append_audit(tx, audit)?;
    }
    Ok(RecordedQuestion { history_id: entry.id, message_id })
}

/// The hourly usage buckets a question is counted in: its user's, and its API key's when it came with one.
#[derive(Clone, Copy)]
enum UsageBucket {
    User,
    ApiKey,
}

/// Adds the question `e` to `owner`'s bucket of its hour and model.
fn add_usage(tx: &Db, bucket: UsageBucket, owner: &str, e: &HistoryEntry) -> R<()> {
    let sql = match bucket {
        UsageBucket::User => {
            "INSERT INTO token_usage (user_id, hour, model, questions, prompt_tokens, completion_tokens, cost_usd)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6)
             ON CONFLICT (user_id, hour, model) DO UPDATE SET
                 questions = questions + 1, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
                 completion_tokens = completion_tokens + excluded.completion_tokens,
                 cost_usd = cost_usd + excluded.cost_usd"
        }
        UsageBucket::ApiKey => {
            "INSERT INTO api_key_usage (api_key_id, hour, model, questions, prompt_tokens, completion_tokens,
                 cost_usd)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6)
             ON CONFLICT (api_key_id, hour, model) DO UPDATE SET
                 questions = questions + 1, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
                 completion_tokens = completion_tokens + excluded.completion_tokens,
                 cost_usd = cost_usd + excluded.cost_usd"
        }
    };
    tx.prepare_cached(sql)?.execute(params![
        owner,
        hour_start(e.created_at),
        e.model.as_deref().unwrap_or(""),
        e.prompt_tokens,
        e.completion_tokens,
        e.cost_usd
    ])?;
    Ok(())
}

/// The question and its answer as the next two messages of `session`; the answer's id.
fn append_messages(
    tx: &Db,
    e: &HistoryEntry,
    session: &str,
    answer_text: Option<String>,
    result_sketch: Option<serde_json::Value>,
) -> R<String> {
    let owner: Option<String> = tx
        .prepare_cached("SELECT user_id FROM chat_sessions WHERE id = ?1")?
        .query_row([session], |r| r.get(0))
        .optional()?;
    match owner {
        None => return Err(not_found(format!("no chat session with the id '{session}'"))),
        Some(owner) if owner != e.user_id => return Err(invalid("the chat session belongs to another user")),
        Some(_) => {}
    }
    let last: i64 = tx
        .prepare_cached("SELECT coalesce(max(sequence_number), 0) FROM chat_messages WHERE session_id = ?1")?
        .query_row([session], |r| r.get(0))?;
    let error = (e.status != QueryStatus::Success || e.error_code.is_some())
        .then(|| json!({ "code": e.error_code, "message": e.error_message }));
    let content = answer_text.or_else(|| e.error_message.clone()).unwrap_or_default();
    let answer_id = new_id();
    let mut insert = tx.prepare_cached(
        "INSERT INTO chat_messages (id, session_id, sequence_number, message_type, content, query_id, sql_query,
             query_result, error_message, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let none = None::<Json<&serde_json::Value>>;
    insert.execute(params![
        new_id(),
        session,
        last + 1,
        MessageRole::User,
        e.question,
        e.id,
        None::<String>,
        none,
        none,
        e.created_at
    ])?;
    insert.execute(params![
        answer_id,
        session,
        last + 2,
        MessageRole::Assistant,
        content,
        e.id,
        e.sql,
        result_sketch.as_ref().map(Json),
        error.as_ref().map(Json),
        e.created_at
    ])?;
    tx.prepare_cached(
        "UPDATE chat_sessions SET message_count = message_count + 2, last_message_at = ?2, updated_at = ?3
         WHERE id = ?1",
    )?
    .execute(params![session, e.created_at, now()])?;
    Ok(answer_id)
}

pub(super) fn entry(tx: &Db, id: &str) -> R<Option<HistoryEntry>> {
    let sql = format!("SELECT {COLUMNS} FROM query_history WHERE id = ?1");
    Ok(tx.prepare_cached(&sql)?.query_row([id], row).optional()?)
}

pub(super) fn analysis(tx: &Db, history_id: &str) -> R<Option<Analysis>> {
    Ok(tx
        .prepare_cached(
            "SELECT chart_type, chart_config, summary_text, insights FROM analysis_results
             WHERE query_history_id = ?1",
        )?
        .query_row([history_id], |r| {
            Ok(Analysis {
                chart_type: r.get(0)?,
                chart_spec: json_opt(r, 1)?,
                summary: r.get(2)?,
                insights: json_opt(r, 3)?,
            })
        })
        .optional()?)
}

pub(super) fn stored_result(tx: &Db, history_id: &str) -> R<Option<StoredResult>> {
    Ok(tx
        .prepare_cached("SELECT result_columns, result_rows, truncated FROM query_results WHERE query_history_id = ?1")?
        .query_row([history_id], |r| Ok(StoredResult { columns: json(r, 0)?, rows: json(r, 1)?, truncated: r.get(2)? }))
        .optional()?)
}

/// Newest first (`created_at`, then id). The statement is built from the filters that are set, so each shape uses
/// its index; the shapes are few and each is prepared once.
pub(super) fn list(tx: &Db, f: &HistoryFilter, req: &PageRequest) -> R<Page<HistoryEntry>> {
    let limit = page::limit(req);
    let mut sql = format!("SELECT {COLUMNS} FROM query_history WHERE 1 = 1");
    let mut args: Vec<SqlValue> = Vec::new();
    let mut add = |clause: &str, values: Vec<SqlValue>, sql: &mut String| {
        sql.push_str(" AND ");
        sql.push_str(clause);
        args.extend(values);
    };
    if let Some(u) = &f.user_id {
        add("user_id = ?", vec![u.clone().into()], &mut sql);
    }
    if let Some(c) = &f.connection_id {
        add("connection_id = ?", vec![c.clone().into()], &mut sql);
    }
    if let Some(k) = &f.api_key_id {
        add("api_key_id = ?", vec![k.clone().into()], &mut sql);
    }
    if let Some(s) = f.status {
        add("status = ?", vec![s.as_str().to_string().into()], &mut sql);
    }
    if let Some(t) = f.since {
        add("created_at >= ?", vec![t.to_rfc3339().into()], &mut sql);
    }
    if let Some(t) = f.until {
        add("created_at < ?", vec![t.to_rfc3339().into()], &mut sql);
    }
    if let Some(text) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // SQLite's lower() folds ASCII only; the needle is folded the same way.
        let needle = text.to_ascii_lowercase();
        add(
            "(instr(lower(question), ?) > 0 OR instr(lower(coalesce(generated_sql, '')), ?) > 0)",
            vec![needle.clone().into(), needle.into()],
            &mut sql,
        );
    }
    if let Some(c) = req.cursor.as_deref() {
        let (key, id) = page::decode("history", c)?;
        add("(created_at, id) < (?, ?)", vec![key.into(), id.into()], &mut sql);
    }
    sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
    args.push(to_i64(limit + 1).into());
    let rows =
        tx.prepare_cached(&sql)?.query_map(params_from_iter(args), row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(page_of(rows, limit, |h| page::encode("history", &h.created_at.to_rfc3339(), &h.id)))
}

/// Whether a question was answered: what may be marked right.
fn answered(status: QueryStatus, sql: Option<&str>) -> bool {
    status == QueryStatus::Success && sql.is_some()
}

/// See [`crate::Store::set_history_verified`].
pub(super) fn set_verified(tx: &Db, id: &str, by: Option<&str>, at: Timestamp) -> R<HistoryEntry> {
    let found: Option<(QueryStatus, Option<String>)> = tx
        .prepare_cached("SELECT status, generated_sql FROM query_history WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((status, sql)) = found else {
        return Err(not_found(format!("no question with the id '{id}' in the history")));
    };
    match by {
        Some(user) => {
            if !answered(status, sql.as_deref()) {
                return Err(invalid(format!(
                    "only an answered question can be marked right; this one ended as '{status}'{}",
                    if status == QueryStatus::Success { " without SQL" } else { "" }
                )));
            }
            let known =
                tx.prepare_cached("SELECT 1 FROM users WHERE id = ?1")?.query_row([user], |_| Ok(())).optional()?;
            if known.is_none() {
                return Err(not_found(format!("no user with the id '{user}'")));
            }
            tx.prepare_cached("UPDATE query_history SET verified_by = ?2, verified_at = ?3 WHERE id = ?1")?
                .execute(params![id, user, ms(at)])?;
        }
        None => {
            tx.prepare_cached("UPDATE query_history SET verified_by = NULL, verified_at = NULL WHERE id = ?1")?
                .execute([id])?;
        }
    }
    entry(tx, id)?.ok_or_else(|| not_found(format!("no question with the id '{id}' in the history")))
}

/// See [`crate::Store::verified_examples`]: on the partial index of verified answers, the newest per question.
pub(super) fn verified_examples(tx: &Db, connection_id: &str, limit: usize) -> R<Vec<VerifiedExample>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let rows = tx
        .prepare_cached(
            "SELECT id, question, generated_sql, verified_at FROM (
                 SELECT id, question, generated_sql, verified_at,
                     row_number() OVER (PARTITION BY question ORDER BY verified_at DESC, id DESC) AS n
                 FROM query_history
                 WHERE connection_id = ?1 AND verified_at IS NOT NULL
                     AND status = 'success' AND generated_sql IS NOT NULL
             ) AS newest
             WHERE n = 1
             ORDER BY verified_at DESC, id DESC
             LIMIT ?2",
        )?
        .query_map(params![connection_id, to_i64(limit)], |r| {
            Ok(VerifiedExample { history_id: r.get(0)?, question: r.get(1)?, sql: r.get(2)?, verified_at: r.get(3)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn totals(r: &Row<'_>) -> rusqlite::Result<UsageTotals> {
    Ok(UsageTotals {
        questions: r.get(0)?,
        prompt_tokens: r.get(1)?,
        completion_tokens: r.get(2)?,
        cost_usd: r.get(3)?,
    })
}

/// See the module documentation: whole hours from the buckets, the partial first hour from the history.
pub(super) fn usage_since(tx: &Db, user_id: &str, since: Timestamp) -> R<UsageTotals> {
    let since = ms(since);
    let start = hour_start(since);
    let whole_from = if start == since { start } else { start.plus(time::Duration::HOUR) };
    let mut sum = tx
        .prepare_cached(
            "SELECT coalesce(sum(questions), 0), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0),
                 coalesce(sum(cost_usd), 0.0)
             FROM token_usage WHERE user_id = ?1 AND hour >= ?2",
        )?
        .query_row(params![user_id, whole_from], totals)?;
    if whole_from != since {
        let part = tx
            .prepare_cached(
                "SELECT count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0),
                     coalesce(sum(cost_usd), 0.0)
                 FROM query_history WHERE user_id = ?1 AND created_at >= ?2 AND created_at < ?3",
            )?
            .query_row(params![user_id, since, whole_from], totals)?;
        sum.questions += part.questions;
        sum.prompt_tokens += part.prompt_tokens;
        sum.completion_tokens += part.completion_tokens;
        sum.cost_usd += part.cost_usd;
    }
    Ok(sum)
}

/// Grouped by day (`2025-06-24`, UTC), model (`''`: no LLM) or user, ordered by the key. The report's resolution is
/// the hour: a bucket counts when its hour starts in `[hour_start(since), until)`.
pub(super) fn usage_report(
    tx: &Db,
    user_id: Option<&str>,
    group: UsageGroup,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> R<Vec<UsageRow>> {
    let key = match group {
        UsageGroup::Day => "substr(hour, 1, 10)",
        UsageGroup::Model => "model",
        UsageGroup::User => "user_id",
        UsageGroup::ApiKey => "api_key_id",
    };
    // By key: the keys' own buckets; one user's keys are those the api_keys table gives them (a deleted key's usage
    // stays in the everyone report).
    let (table, owner) = match group {
        UsageGroup::ApiKey => ("api_key_usage", "api_key_id IN (SELECT id FROM api_keys WHERE user_id = ?1)"),
        _ => ("token_usage", "user_id = ?1"),
    };
    let sql = format!(
        "SELECT {key} AS k, coalesce(sum(questions), 0), coalesce(sum(prompt_tokens), 0),
             coalesce(sum(completion_tokens), 0), coalesce(sum(cost_usd), 0.0)
         FROM {table}
         WHERE (?1 IS NULL OR {owner}) AND (?2 IS NULL OR hour >= ?2) AND (?3 IS NULL OR hour < ?3)
         GROUP BY k ORDER BY k"
    );
    let rows = tx
        .prepare_cached(&sql)?
        .query_map(params![user_id, since.map(hour_start), until.map(ms)], |r| {
            Ok(UsageRow {
                key: r.get(0)?,
                totals: UsageTotals {
                    questions: r.get(1)?,
                    prompt_tokens: r.get(2)?,
                    completion_tokens: r.get(3)?,
                    cost_usd: r.get(4)?,
                },
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
