//! Conversations and their messages. Messages are appended by [`super::questions::record`], in the same
//! transaction as the question they belong to.

use tokio_postgres::Row;

use super::sql::{execute, json_opt, now, page_of, query, query_opt, to_i64};
use super::{Fail, R, Tx, invalid, not_found};
use crate::model::*;
use crate::page;

const SESSION_COLUMNS: &str =
    "id, user_id, connection_id, title, created_at, updated_at, last_message_at, message_count";

fn session_row(r: &Row) -> R<ChatSession> {
    Ok(ChatSession {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        connection_id: r.try_get(2)?,
        title: r.try_get(3)?,
        created_at: r.try_get(4)?,
        updated_at: r.try_get(5)?,
        last_message_at: r.try_get(6)?,
        message_count: r.try_get(7)?,
    })
}

/// The columns [`message_row`] reads, in its order.
pub(super) const MESSAGE_COLUMNS: &str = "id, session_id, sequence_number, message_type, content, sql_query, \
                                          query_result, error_message, query_id, created_at";

/// A row of [`MESSAGE_COLUMNS`].
pub(super) fn message_row(r: &Row) -> R<ChatMessage> {
    Ok(ChatMessage {
        id: r.try_get(0)?,
        session_id: r.try_get(1)?,
        sequence: r.try_get(2)?,
        role: r.try_get(3)?,
        content: r.try_get(4)?,
        sql: r.try_get(5)?,
        result_sketch: json_opt(r, 6)?,
        error: json_opt(r, 7)?,
        history_id: r.try_get(8)?,
        created_at: r.try_get(9)?,
    })
}

fn no_session(id: &str) -> Fail {
    not_found(format!("no chat session with the id '{id}'"))
}

fn bad_cursor() -> Fail {
    invalid("the page cursor is not valid for this list")
}

pub(super) async fn create(
    tx: &Tx<'_>,
    user_id: String,
    connection_id: Option<String>,
    title: Option<String>,
) -> R<ChatSession> {
    let at = now();
    let session = ChatSession {
        id: new_id(),
        user_id,
        connection_id,
        title,
        created_at: at,
        updated_at: at,
        last_message_at: None,
        message_count: 0,
    };
    execute(
        tx,
        "INSERT INTO chat_sessions (id, user_id, connection_id, title, created_at, updated_at, last_message_at,
             message_count)
         VALUES ($1, $2, $3, $4, $5, $5, NULL, 0)",
        &[&session.id, &session.user_id, &session.connection_id, &session.title, &at],
    )
    .await?;
    Ok(session)
}

pub(super) async fn get(tx: &Tx<'_>, id: &str) -> R<Option<ChatSession>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM chat_sessions WHERE id = $1");
    query_opt(tx, &sql, &[&id]).await?.as_ref().map(session_row).transpose()
}

/// Newest first, by creation: a session that gets a new message does not move between pages. Ties on the time
/// are broken by id, byte-wise (as SQLite compares).
pub(super) async fn list(tx: &Tx<'_>, user_id: &str, req: &PageRequest) -> R<Page<ChatSession>> {
    let limit = page::limit(req);
    let after = match req.cursor.as_deref() {
        None => None,
        Some(c) => {
            let (key, id) = page::decode("chat_sessions", c)?;
            Some((Timestamp::parse(&key).map_err(|_| bad_cursor())?, id))
        }
    };
    let n = to_i64(limit + 1);
    let rows = match &after {
        None => {
            let sql = format!(
                "SELECT {SESSION_COLUMNS} FROM chat_sessions WHERE user_id = $1
                 ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $2"
            );
            query(tx, &sql, &[&user_id, &n]).await?
        }
        Some((at, id)) => {
            let sql = format!(
                "SELECT {SESSION_COLUMNS} FROM chat_sessions
                 WHERE user_id = $1 AND (created_at < $2 OR (created_at = $2 AND id COLLATE \"C\" < $3))
                 ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $4"
            );
            query(tx, &sql, &[&user_id, at, id, &n]).await?
        }
    };
    let rows = rows.iter().map(session_row).collect::<R<Vec<_>>>()?;
    Ok(page_of(rows, limit, |s| page::encode("chat_sessions", &s.created_at.to_rfc3339(), &s.id)))
}

pub(super) async fn rename(tx: &Tx<'_>, id: &str, title: Option<String>) -> R<ChatSession> {
    let sql = format!("UPDATE chat_sessions SET title = $2, updated_at = $3 WHERE id = $1 RETURNING {SESSION_COLUMNS}");
    query_opt(tx, &sql, &[&id, &title, &now()])
        .await?
        .as_ref()
        .map(session_row)
        .transpose()?
        .ok_or_else(|| no_session(id))
}

pub(super) async fn delete(tx: &Tx<'_>, id: &str) -> R<()> {
    if execute(tx, "DELETE FROM chat_sessions WHERE id = $1", &[&id]).await? == 0 {
        return Err(no_session(id));
    }
    Ok(())
}

/// In order, `sequence` ascending.
pub(super) async fn messages(tx: &Tx<'_>, session_id: &str, req: &PageRequest) -> R<Page<ChatMessage>> {
    let limit = page::limit(req);
    let after = match req.cursor.as_deref() {
        None => 0,
        Some(c) => {
            let (key, _) = page::decode("chat_messages", c)?;
            key.parse::<i64>().map_err(|_| bad_cursor())?
        }
    };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE session_id = $1 AND sequence_number > $2
         ORDER BY sequence_number LIMIT $3"
    );
    let rows = query(tx, &sql, &[&session_id, &after, &to_i64(limit + 1)]).await?;
    let rows = rows.iter().map(message_row).collect::<R<Vec<_>>>()?;
    Ok(page_of(rows, limit, |m| page::encode("chat_messages", &m.sequence.to_string(), &m.id)))
}

/// The last `n` (at most [`MAX_PAGE`]) messages, in order.
pub(super) async fn recent(tx: &Tx<'_>, session_id: &str, n: usize) -> R<Vec<ChatMessage>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE session_id = $1 ORDER BY sequence_number DESC LIMIT $2"
    );
    let rows = query(tx, &sql, &[&session_id, &to_i64(n.min(MAX_PAGE))]).await?;
    let mut messages = rows.iter().map(message_row).collect::<R<Vec<_>>>()?;
    messages.reverse();
    Ok(messages)
}
