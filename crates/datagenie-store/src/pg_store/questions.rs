//! Questions: the history row and what hangs off it (analysis, stored rows, chat messages), and token usage.
//!
//! Usage is kept twice, in the same transaction: per question in `query_history`, and summed per user, hour and
//! model in `token_usage` (and per API key, hour and model in `api_key_usage`). A window's usage reads the hour
//! buckets that lie wholly inside it — one row per hour and model, whatever the number of questions — plus, when the
//! window starts inside an hour, that hour's questions from the history after the start (at most one hour of one
//! user's questions). The total is exact for any start.
//!
//! Concurrent writers (several servers, READ COMMITTED): the buckets and the user's counter are added to in single
//! statements (`INSERT … ON CONFLICT DO UPDATE`, `UPDATE … SET n = n + …`); the chat session a question is appended
//! to is locked before its last sequence number is read, so concurrent questions in one session are numbered one
//! after the other; an answer being marked right is locked before its outcome is checked. Locks are always taken
//! in the same order (usage buckets, the user, the session, the audit chain's head), so writers wait, never
//! deadlock. The statements that take those locks are sent one at a time, never pipelined: a statement prepared on
//! its first use on a connection waits for the prepare, so one sent after it can reach the server first and take
//! its lock out of order (measured: deadlocks between two servers). Ids and text keys sort byte-wise (`COLLATE "C"`), as on SQLite.

use serde_json::json;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::sql::{execute, hour_start, json, json_opt, ms, now, page_of, query, query_one, query_opt, to_i64, to_json};
use super::{R, Tx, invalid, not_found};
use crate::model::*;
use crate::page;

const COLUMNS: &str = "id, user_id, connection_id, session_id, question, generated_sql, query_type, status, \
                       error_code, error_message, row_count, execution_time_ms, total_time_ms, prompt_tokens, \
                       completion_tokens, llm_model, cost_usd, source, result_hash, created_at, api_key_id, channel, \
                       file_info, verified_by, verified_at";

fn row(r: &Row) -> R<HistoryEntry> {
    Ok(HistoryEntry {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        connection_id: r.try_get(2)?,
        session_id: r.try_get(3)?,
        question: r.try_get(4)?,
        sql: r.try_get(5)?,
        query_type: r.try_get(6)?,
        status: r.try_get(7)?,
        error_code: r.try_get(8)?,
        error_message: r.try_get(9)?,
        row_count: r.try_get(10)?,
        execution_ms: r.try_get(11)?,
        total_ms: r.try_get(12)?,
        prompt_tokens: r.try_get(13)?,
        completion_tokens: r.try_get(14)?,
        model: r.try_get(15)?,
        cost_usd: r.try_get(16)?,
        source: json_opt(r, 17)?,
        result_hash: r.try_get(18)?,
        created_at: r.try_get(19)?,
        api_key_id: r.try_get(20)?,
        channel: r.try_get(21)?,
        file_info: json_opt(r, 22)?,
        verified_by: r.try_get(23)?,
        verified_at: r.try_get(24)?,
    })
}

/// Values refused before anything is written (as on SQLite, where the schema cannot check them all).
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
/// sequence numbers: the session is locked first, so concurrent records into one session are numbered one after
/// the other, never twice the same (the UNIQUE constraint stands behind that).
pub(super) async fn record(tx: &Tx<'_>, record: QuestionRecord) -> R<RecordedQuestion> {
    let QuestionRecord { mut entry, analysis, result, answer_text, result_sketch, audit } = record;
    check(&entry)?;
    if entry.id.is_empty() {
        entry.id = new_id();
    }
    entry.created_at = ms(entry.created_at);
    entry.verified_at = entry.verified_at.map(ms);
    let e = &entry;
    let (source, file_info) = (e.source.as_ref(), e.file_info.as_ref());
    execute(
        tx,
        "INSERT INTO query_history (id, user_id, connection_id, session_id, question, generated_sql, query_type,
             status, error_code, error_message, row_count, execution_time_ms, total_time_ms, prompt_tokens,
             completion_tokens, llm_model, cost_usd, source, result_hash, created_at, api_key_id, channel, file_info,
             verified_by, verified_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
             $23, $24, $25)",
        &[
            &e.id,
            &e.user_id,
            &e.connection_id,
            &e.session_id,
            &e.question,
            &e.sql,
            &e.query_type,
            &e.status,
            &e.error_code,
            &e.error_message,
            &e.row_count,
            &e.execution_ms,
            &e.total_ms,
            &e.prompt_tokens,
            &e.completion_tokens,
            &e.model,
            &e.cost_usd,
            &source,
            &e.result_hash,
            &e.created_at,
            &e.api_key_id,
            &e.channel,
            &file_info,
            &e.verified_by,
            &e.verified_at,
        ],
    )
    .await?;
    if let Some(a) = &analysis {
        execute(
            tx,
            "INSERT INTO analysis_results (id, query_history_id, chart_type, chart_config, summary_text, insights,
                 created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&new_id(), &e.id, &a.chart_type, &a.chart_spec, &a.summary, &a.insights, &e.created_at],
        )
        .await?;
    }
    if let Some(r) = &result {
        execute(
            tx,
            "INSERT INTO query_results (query_history_id, result_columns, result_rows, truncated, created_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[&e.id, &to_json(&r.columns)?, &r.rows, &r.truncated, &e.created_at],
        )
        .await?;
    }
    add_usage(tx, UsageBucket::User, &e.user_id, e).await?;
    if let Some(key) = &e.api_key_id {
        add_usage(tx, UsageBucket::ApiKey, key, e).await?;
    }
    let counted = execute(
        tx,
        "UPDATE users SET token_usage = token_usage + $2 WHERE id = $1",
        &[&e.user_id, &e.prompt_tokens.saturating_add(e.completion_tokens)],
    )
    .await?;
    if counted == 0 {
        return Err(not_found(format!("no user with the id '{}'", e.user_id)));
    }
    let message_id = match &e.session_id {
        None => None,
        Some(session) => Some(append_messages(tx, e, session, answer_text, result_sketch).await?),
    };
    if let Some(mut audit) = audit {
        let mut values = match audit.new_values.take() {
            Some(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        values.insert("history_id".into(), e.id.clone().into());
        audit.new_values = Some(serde_json::Value::Object(values));
        super::records::append_audit(tx, audit).await?;
    }
    Ok(RecordedQuestion { history_id: entry.id, message_id })
}

/// The hourly usage buckets a question is counted in: its user's, and its API key's when it came with one.
#[derive(Clone, Copy)]
enum UsageBucket {
    User,
    ApiKey,
}

/// Adds the question `e` to `owner`'s bucket of its hour and model, in one statement (concurrent questions of the
/// same bucket wait for each other and both count).
async fn add_usage(tx: &Tx<'_>, bucket: UsageBucket, owner: &str, e: &HistoryEntry) -> R<()> {
    let sql = match bucket {
        UsageBucket::User => {
            "INSERT INTO token_usage (user_id, hour, model, questions, prompt_tokens, completion_tokens, cost_usd)
             VALUES ($1, $2, $3, 1, $4, $5, $6)
             ON CONFLICT (user_id, hour, model) DO UPDATE SET
                 questions = token_usage.questions + 1,
                 prompt_tokens = token_usage.prompt_tokens + excluded.prompt_tokens,
                 completion_tokens = token_usage.completion_tokens + excluded.completion_tokens,
                 cost_usd = token_usage.cost_usd + excluded.cost_usd"
        }
        UsageBucket::ApiKey => {
            "INSERT INTO api_key_usage (api_key_id, hour, model, questions, prompt_tokens, completion_tokens,
                 cost_usd)
             VALUES ($1, $2, $3, 1, $4, $5, $6)
             ON CONFLICT (api_key_id, hour, model) DO UPDATE SET
                 questions = api_key_usage.questions + 1,
                 prompt_tokens = api_key_usage.prompt_tokens + excluded.prompt_tokens,
                 completion_tokens = api_key_usage.completion_tokens + excluded.completion_tokens,
                 cost_usd = api_key_usage.cost_usd + excluded.cost_usd"
        }
    };
    let model = e.model.as_deref().unwrap_or("");
    execute(tx, sql, &[&owner, &hour_start(e.created_at), &model, &e.prompt_tokens, &e.completion_tokens, &e.cost_usd])
        .await?;
    Ok(())
}

/// The question and its answer as the next two messages of `session`; the answer's id. The session is locked
/// before its last sequence number is read.
async fn append_messages(
    tx: &Tx<'_>,
    e: &HistoryEntry,
    session: &str,
    answer_text: Option<String>,
    result_sketch: Option<serde_json::Value>,
) -> R<String> {
    let owner = query_opt(tx, "SELECT user_id FROM chat_sessions WHERE id = $1 FOR UPDATE", &[&session]).await?;
    let owner: String = match owner {
        None => return Err(not_found(format!("no chat session with the id '{session}'"))),
        Some(r) => r.try_get(0)?,
    };
    if owner != e.user_id {
        return Err(invalid("the chat session belongs to another user"));
    }
    let last: i64 = query_one(
        tx,
        "SELECT coalesce(max(sequence_number), 0)::bigint FROM chat_messages WHERE session_id = $1",
        &[&session],
    )
    .await?
    .try_get(0)?;
    let error = (e.status != QueryStatus::Success || e.error_code.is_some())
        .then(|| json!({ "code": e.error_code, "message": e.error_message }));
    let content = answer_text.or_else(|| e.error_message.clone()).unwrap_or_default();
    let answer_id = new_id();
    let insert = "INSERT INTO chat_messages (id, session_id, sequence_number, message_type, content, query_id,
                      sql_query, query_result, error_message, created_at)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let none_text = None::<String>;
    let none_json = None::<serde_json::Value>;
    execute(
        tx,
        insert,
        &[
            &new_id(),
            &session,
            &(last + 1),
            &MessageRole::User,
            &e.question,
            &e.id,
            &none_text,
            &none_json,
            &none_json,
            &e.created_at,
        ],
    )
    .await?;
    execute(
        tx,
        insert,
        &[
            &answer_id,
            &session,
            &(last + 2),
            &MessageRole::Assistant,
            &content,
            &e.id,
            &e.sql,
            &result_sketch,
            &error,
            &e.created_at,
        ],
    )
    .await?;
    execute(
        tx,
        "UPDATE chat_sessions SET message_count = message_count + 2, last_message_at = $2, updated_at = $3
         WHERE id = $1",
        &[&session, &e.created_at, &now()],
    )
    .await?;
    Ok(answer_id)
}

pub(super) async fn entry(tx: &Tx<'_>, id: &str) -> R<Option<HistoryEntry>> {
    let sql = format!("SELECT {COLUMNS} FROM query_history WHERE id = $1");
    query_opt(tx, &sql, &[&id]).await?.as_ref().map(row).transpose()
}

pub(super) async fn analysis(tx: &Tx<'_>, history_id: &str) -> R<Option<Analysis>> {
    let found = query_opt(
        tx,
        "SELECT chart_type, chart_config, summary_text, insights FROM analysis_results WHERE query_history_id = $1",
        &[&history_id],
    )
    .await?;
    let Some(r) = found else {
        return Ok(None);
    };
    Ok(Some(Analysis {
        chart_type: r.try_get(0)?,
        chart_spec: json_opt(&r, 1)?,
        summary: r.try_get(2)?,
        insights: json_opt(&r, 3)?,
    }))
}

pub(super) async fn stored_result(tx: &Tx<'_>, history_id: &str) -> R<Option<StoredResult>> {
    let found = query_opt(
        tx,
        "SELECT result_columns, result_rows, truncated FROM query_results WHERE query_history_id = $1",
        &[&history_id],
    )
    .await?;
    let Some(r) = found else {
        return Ok(None);
    };
    Ok(Some(StoredResult { columns: json(&r, 0)?, rows: json(&r, 1)?, truncated: r.try_get(2)? }))
}

/// A value bound to a statement built at run time.
type Arg = Box<dyn ToSql + Sync + Send>;

/// Newest first (`created_at`, then id byte-wise). The statement is built from the filters that are set, so each
/// shape uses its index; the shapes are few and each is prepared once per connection.
pub(super) async fn list(tx: &Tx<'_>, f: &HistoryFilter, req: &PageRequest) -> R<Page<HistoryEntry>> {
    let limit = page::limit(req);
    let mut sql = format!("SELECT {COLUMNS} FROM query_history WHERE true");
    let mut args: Vec<Arg> = Vec::new();
    // `clause` names its value `$?`, replaced by the value's number (a value used twice is bound once).
    fn add(clause: &str, value: Arg, sql: &mut String, args: &mut Vec<Arg>) {
        args.push(value);
        sql.push_str(" AND ");
        sql.push_str(&clause.replace("$?", &format!("${}", args.len())));
    }
    if let Some(u) = &f.user_id {
        add("user_id = $?", Box::new(u.clone()), &mut sql, &mut args);
    }
    if let Some(c) = &f.connection_id {
        add("connection_id = $?", Box::new(c.clone()), &mut sql, &mut args);
    }
    if let Some(k) = &f.api_key_id {
        add("api_key_id = $?", Box::new(k.clone()), &mut sql, &mut args);
    }
    if let Some(s) = f.status {
        add("status = $?", Box::new(s), &mut sql, &mut args);
    }
    if let Some(t) = f.since {
        add("created_at >= $?", Box::new(ms(t)), &mut sql, &mut args);
    }
    if let Some(t) = f.until {
        add("created_at < $?", Box::new(ms(t)), &mut sql, &mut args);
    }
    if let Some(text) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // As on SQLite, whose lower() folds ASCII only: the text and the needle are folded the same way.
        let needle = text.to_ascii_lowercase();
        add(
            "(strpos(translate(question, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), $?) > 0
              OR strpos(translate(coalesce(generated_sql, ''), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
                                  'abcdefghijklmnopqrstuvwxyz'), $?) > 0)",
            Box::new(needle),
            &mut sql,
            &mut args,
        );
    }
    if let Some(c) = req.cursor.as_deref() {
        let (key, id) = page::decode("history", c)?;
        let at = Timestamp::parse(&key).map_err(|_| invalid("the page cursor is not valid for this list"))?;
        // (created_at, id) < (at, id), written so that the time bound uses the index
        add("created_at <= $?", Box::new(at), &mut sql, &mut args);
        let n = args.len();
        add(&format!("(created_at < ${n} OR id COLLATE \"C\" < $?)"), Box::new(id), &mut sql, &mut args);
    }
    args.push(Box::new(to_i64(limit + 1)));
    sql.push_str(&format!(" ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT ${}", args.len()));
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| &**a as &(dyn ToSql + Sync)).collect();
    let rows = query(tx, &sql, &params).await?.iter().map(row).collect::<R<Vec<_>>>()?;
    Ok(page_of(rows, limit, |h| page::encode("history", &h.created_at.to_rfc3339(), &h.id)))
}

/// Whether a question was answered: what may be marked right.
fn answered(status: QueryStatus, sql: Option<&str>) -> bool {
    status == QueryStatus::Success && sql.is_some()
}

/// See [`crate::Store::set_history_verified`]. The entry is locked before its outcome is checked, the marker's user
/// row (key-share) so that it cannot vanish before the mark is committed.
pub(super) async fn set_verified(tx: &Tx<'_>, id: &str, by: Option<&str>, at: Timestamp) -> R<HistoryEntry> {
    let found =
        query_opt(tx, "SELECT status, generated_sql FROM query_history WHERE id = $1 FOR UPDATE", &[&id]).await?;
    let Some(found) = found else {
        return Err(not_found(format!("no question with the id '{id}' in the history")));
    };
    let status: QueryStatus = found.try_get(0)?;
    let sql: Option<String> = found.try_get(1)?;
    match by {
        Some(user) => {
            if !answered(status, sql.as_deref()) {
                return Err(invalid(format!(
                    "only an answered question can be marked right; this one ended as '{status}'{}",
                    if status == QueryStatus::Success { " without SQL" } else { "" }
                )));
            }
            let known = query_opt(tx, "SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE", &[&user]).await?;
            if known.is_none() {
                return Err(not_found(format!("no user with the id '{user}'")));
            }
            execute(
                tx,
                "UPDATE query_history SET verified_by = $2, verified_at = $3 WHERE id = $1",
                &[&id, &user, &ms(at)],
            )
            .await?;
        }
        None => {
            execute(tx, "UPDATE query_history SET verified_by = NULL, verified_at = NULL WHERE id = $1", &[&id])
                .await?;
        }
    }
    entry(tx, id).await?.ok_or_else(|| not_found(format!("no question with the id '{id}' in the history")))
}

/// See [`crate::Store::verified_examples`]: on the partial index of verified answers, the newest per question.
pub(super) async fn verified_examples(tx: &Tx<'_>, connection_id: &str, limit: usize) -> R<Vec<VerifiedExample>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let rows = query(
        tx,
        "SELECT id, question, generated_sql, verified_at FROM (
             SELECT id, question, generated_sql, verified_at,
                 row_number() OVER (PARTITION BY question ORDER BY verified_at DESC, id COLLATE \"C\" DESC) AS n
             FROM query_history
             WHERE connection_id = $1 AND verified_at IS NOT NULL
                 AND status = 'success' AND generated_sql IS NOT NULL
         ) AS newest
         WHERE n = 1
         ORDER BY verified_at DESC, id COLLATE \"C\" DESC
         LIMIT $2",
        &[&connection_id, &to_i64(limit)],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(VerifiedExample {
                history_id: r.try_get(0)?,
                question: r.try_get(1)?,
                sql: r.try_get(2)?,
                verified_at: r.try_get(3)?,
            })
        })
        .collect()
}

/// Totals from the columns `offset..offset + 4` (questions, prompt and completion tokens as bigint, cost).
fn totals(r: &Row, offset: usize) -> R<UsageTotals> {
    Ok(UsageTotals {
        questions: r.try_get(offset)?,
        prompt_tokens: r.try_get(offset + 1)?,
        completion_tokens: r.try_get(offset + 2)?,
        cost_usd: r.try_get(offset + 3)?,
    })
}

/// See the module documentation: whole hours from the buckets, the partial first hour from the history.
pub(super) async fn usage_since(tx: &Tx<'_>, user_id: &str, since: Timestamp) -> R<UsageTotals> {
    let since = ms(since);
    let start = hour_start(since);
    let whole_from = if start == since { start } else { start.plus(time::Duration::HOUR) };
    let row = query_one(
        tx,
        "SELECT coalesce(sum(questions), 0)::bigint, coalesce(sum(prompt_tokens), 0)::bigint,
             coalesce(sum(completion_tokens), 0)::bigint, coalesce(sum(cost_usd), 0)::double precision
         FROM token_usage WHERE user_id = $1 AND hour >= $2",
        &[&user_id, &whole_from],
    )
    .await?;
    let mut sum = totals(&row, 0)?;
    if whole_from != since {
        let row = query_one(
            tx,
            "SELECT count(*), coalesce(sum(prompt_tokens), 0)::bigint, coalesce(sum(completion_tokens), 0)::bigint,
                 coalesce(sum(cost_usd), 0)::double precision
             FROM query_history WHERE user_id = $1 AND created_at >= $2 AND created_at < $3",
            &[&user_id, &since, &whole_from],
        )
        .await?;
        let part = totals(&row, 0)?;
        sum.questions += part.questions;
        sum.prompt_tokens += part.prompt_tokens;
        sum.completion_tokens += part.completion_tokens;
        sum.cost_usd += part.cost_usd;
    }
    Ok(sum)
}

/// Grouped by day (`2025-06-24`, UTC), model (`''`: no LLM), user or API key, ordered by the key (byte-wise). The
/// report's resolution is the hour: a bucket counts when its hour starts in `[hour_start(since), until)`.
pub(super) async fn usage_report(
    tx: &Tx<'_>,
    user_id: Option<&str>,
    group: UsageGroup,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> R<Vec<UsageRow>> {
    let key = match group {
        UsageGroup::Day => "to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        UsageGroup::Model => "model",
        UsageGroup::User => "user_id",
        UsageGroup::ApiKey => "api_key_id",
    };
    // By key: the keys' own buckets; one user's keys are those the api_keys table gives them (a deleted key's usage
    // stays in the everyone report).
    let (table, owner) = match group {
        UsageGroup::ApiKey => ("api_key_usage", "api_key_id IN (SELECT id FROM api_keys WHERE user_id = $1)"),
        _ => ("token_usage", "user_id = $1"),
    };
    let sql = format!(
        "SELECT ({key}) COLLATE \"C\" AS k, coalesce(sum(questions), 0)::bigint,
             coalesce(sum(prompt_tokens), 0)::bigint, coalesce(sum(completion_tokens), 0)::bigint,
             coalesce(sum(cost_usd), 0)::double precision
         FROM {table}
         WHERE ($1::text IS NULL OR {owner}) AND ($2::timestamptz IS NULL OR hour >= $2)
             AND ($3::timestamptz IS NULL OR hour < $3)
         GROUP BY k ORDER BY k"
    );
    let rows = query(tx, &sql, &[&user_id, &since.map(hour_start), &until.map(ms)]).await?;
    rows.iter().map(|r| Ok(UsageRow { key: r.try_get(0)?, totals: totals(r, 1)? })).collect()
}
