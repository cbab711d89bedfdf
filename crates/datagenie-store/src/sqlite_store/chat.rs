//! Conversations and their messages. Messages are appended by [`super::questions::record`], in the same
//! transaction as the question they belong to.

use rusqlite::{OptionalExtension, Row, params};

use super::sql::{json_opt, now, page_of, to_i64};
use super::{Db, R, not_found};
use crate::model::*;
use crate::page;

const SESSION_COLUMNS: &str =
    "id, user_id, connection_id, title, created_at, updated_at, last_message_at, message_count";

fn session_row(r: &Row<'_>) -> rusqlite::Result<ChatSession> {
    Ok(ChatSession {
        id: r.get(0)?,
        user_id: r.get(1)?,
        connection_id: r.get(2)?,
        title: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
        last_message_at: r.get(6)?,
        message_count: r.get(7)?,
    })
}

pub(super) const MESSAGE_COLUMNS: &str = "id, session_id, sequence_number, message_type, content, sql_query, query_result, error_message, query_id, \
     created_at";

fn message_row(r: &Row<'_>) -> rusqlite::Result<ChatMessage> {
    Ok(ChatMessage {
        id: r.get(0)?,
        session_id: r.get(1)?,
        sequence: r.get(2)?,
        role: r.get(3)?,
        content: r.get(4)?,
        sql: r.get(5)?,
        result_sketch: json_opt(r, 6)?,
        error: json_opt(r, 7)?,
        history_id: r.get(8)?,
        created_at: r.get(9)?,
    })
}

fn no_session(id: &str) -> super::Fail {
    not_found(format!("no chat session with the id '{id}'"))
}

pub(super) fn create(tx: &Db, user_id: String, connection_id: Option<String>, title: Option<String>) -> R<ChatSession> {
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
    tx.prepare_cached(
        "INSERT INTO chat_sessions (id, user_id, connection_id, title, created_at, updated_at, last_message_at,
             message_count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, NULL, 0)",
    )?
    .execute(params![session.id, session.user_id, session.connection_id, session.title, at])?;
    Ok(session)
}

pub(super) fn get(tx: &Db, id: &str) -> R<Option<ChatSession>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM chat_sessions WHERE id = ?1");
    Ok(tx.prepare_cached(&sql)?.query_row([id], session_row).optional()?)
}

/// Newest first, by creation: a session that gets a new message does not move between pages.
pub(super) fn list(tx: &Db, user_id: &str, req: &PageRequest) -> R<Page<ChatSession>> {
    let limit = page::limit(req);
    let (key, id) = req.cursor.as_deref().map(|c| page::decode("chat_sessions", c)).transpose()?.unzip();
    let from = if key.is_some() { "(created_at, id) < (?2, ?3)" } else { "?2 IS NULL AND ?3 IS NULL" };
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM chat_sessions
         WHERE user_id = ?1 AND {from}
         ORDER BY created_at DESC, id DESC LIMIT ?4"
    );
    let rows = tx
        .prepare_cached(&sql)?
        .query_map(params![user_id, key, id, to_i64(limit + 1)], session_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(page_of(rows, limit, |s| page::encode("chat_sessions", &s.created_at.to_rfc3339(), &s.id)))
}

pub(super) fn rename(tx: &Db, id: &str, title: Option<String>) -> R<ChatSession> {
    let sql = format!("UPDATE chat_sessions SET title = ?2, updated_at = ?3 WHERE id = ?1 RETURNING {SESSION_COLUMNS}");
    tx.prepare_cached(&sql)?.query_row(params![id, title, now()], session_row).optional()?.ok_or_else(|| no_session(id))
}

pub(super) fn delete(tx: &Db, id: &str) -> R<()> {
    if tx.prepare_cached("DELETE FROM chat_sessions WHERE id = ?1")?.execute([id])? == 0 {
        return Err(no_session(id));
    }
    Ok(())
}

/// In order, `sequence` ascending.
pub(super) fn messages(tx: &Db, session_id: &str, req: &PageRequest) -> R<Page<ChatMessage>> {
    let limit = page::limit(req);
    let after = match req.cursor.as_deref() {
        None => 0,
        Some(c) => {
            let (key, _) = page::decode("chat_messages", c)?;
            key.parse::<i64>().map_err(|_| super::invalid("the page cursor is not valid for this list"))?
        }
    };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE session_id = ?1 AND sequence_number > ?2
         ORDER BY sequence_number LIMIT ?3"
    );
    let rows = tx
        .prepare_cached(&sql)?
        .query_map(params![session_id, after, to_i64(limit + 1)], message_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(page_of(rows, limit, |m| page::encode("chat_messages", &m.sequence.to_string(), &m.id)))
}

/// The last `n` (at most [`MAX_PAGE`]) messages, in order.
pub(super) fn recent(tx: &Db, session_id: &str, n: usize) -> R<Vec<ChatMessage>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE session_id = ?1 ORDER BY sequence_number DESC LIMIT ?2"
    );
    let mut rows = tx
        .prepare_cached(&sql)?
        .query_map(params![session_id, to_i64(n.min(MAX_PAGE))], message_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.reverse();
    Ok(rows)
}
