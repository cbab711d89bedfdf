//! Accounts, login sessions, refresh tokens and API keys.

use rusqlite::{OptionalExtension, Row, params};

use super::sql::{Json, json, now, page_of, to_i64};
use super::{Db, R, invalid, not_found};
use crate::model::*;
use crate::page;

const USER_COLUMNS: &str = "id, username, email, full_name, role, is_active, created_at, updated_at, last_login_at, \
                            preferences, token_usage, hourly_token_limit, daily_token_limit, monthly_token_limit, tier";

fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        email: r.get(2)?,
        full_name: r.get(3)?,
        role: r.get(4)?,
        active: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        last_login_at: r.get(8)?,
        preferences: json(r, 9)?,
        token_usage: r.get(10)?,
        limits: TokenLimits { hourly: r.get(11)?, daily: r.get(12)?, monthly: r.get(13)? },
        tier: r.get(14)?,
    })
}

fn no_user(id: &str) -> super::Fail {
    not_found(format!("no user with the id '{id}'"))
}

pub(super) fn create_user(tx: &Db, new: NewUser) -> R<User> {
    let id = new_id();
    let at = now();
    let empty = serde_json::Value::Object(serde_json::Map::new());
    tx.prepare_cached(
        "INSERT INTO users (id, username, email, password_hash, full_name, role, is_active, created_at, updated_at,
             last_login_at, preferences, token_usage, hourly_token_limit, daily_token_limit, monthly_token_limit)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7, NULL, ?8, 0, ?9, ?10, ?11)",
    )?
    .execute(params![
        id,
        new.username.trim(),
        new.email.trim().to_lowercase(),
        new.password_hash,
        new.full_name,
        new.role,
        at,
        Json(&empty),
        new.limits.hourly,
        new.limits.daily,
        new.limits.monthly,
    ])?;
    user(tx, &id)?.ok_or_else(|| no_user(&id))
}

pub(super) fn user(tx: &Db, id: &str) -> R<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
    Ok(tx.prepare_cached(&sql)?.query_row([id], user_row).optional()?)
}

pub(super) fn credentials(tx: &Db, email: &str) -> R<Option<Credentials>> {
    let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = ?1");
    let found = tx
        .prepare_cached(&sql)?
        .query_row([email.trim().to_lowercase()], |r| Ok(Credentials { user: user_row(r)?, password_hash: r.get(15)? }))
        .optional()?;
    Ok(found)
}

/// Users by username (case-insensitive order, as the unique index).
pub(super) fn list_users(tx: &Db, req: &PageRequest) -> R<Page<User>> {
    let limit = page::limit(req);
    let after = req.cursor.as_deref().map(|c| page::decode("users", c)).transpose()?.map(|(name, _)| name);
    // two statements, so a later page seeks to its cursor in the index instead of scanning to it
    let from = if after.is_some() { "username > ?1" } else { "?1 IS NULL" };
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {from} ORDER BY username LIMIT ?2");
    let rows = tx
        .prepare_cached(&sql)?
        .query_map(params![after, to_i64(limit + 1)], user_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(page_of(rows, limit, |u| page::encode("users", &u.username, &u.id)))
}

pub(super) fn update_user(tx: &Db, id: &str, patch: UserPatch) -> R<User> {
    let mut u = user(tx, id)?.ok_or_else(|| no_user(id))?;
    crate::common::apply_user_patch(&mut u, patch);
    tx.prepare_cached(
        "UPDATE users SET role = ?2, is_active = ?3, full_name = ?4, hourly_token_limit = ?5, daily_token_limit = ?6,
             monthly_token_limit = ?7, preferences = ?8, updated_at = ?9, tier = ?10
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        u.role,
        u.active,
        u.full_name,
        u.limits.hourly,
        u.limits.daily,
        u.limits.monthly,
        Json(&u.preferences),
        u.updated_at,
        u.tier
    ])?;
    Ok(u)
}

pub(super) fn set_password_hash(tx: &Db, id: &str, hash: &str) -> R<()> {
    let n = tx
        .prepare_cached("UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, hash, now()])?;
    if n == 0 {
        return Err(no_user(id));
    }
    Ok(())
}

pub(super) fn record_login(tx: &Db, id: &str, at: Timestamp) -> R<()> {
    let n = tx.prepare_cached("UPDATE users SET last_login_at = ?2 WHERE id = ?1")?.execute(params![id, at])?;
    if n == 0 {
        return Err(no_user(id));
    }
    Ok(())
}

/// The foreign keys remove the rest: login sessions and their tokens, API keys, permissions, chat sessions and
/// their messages (cascade); connections and settings keep a NULL author.
pub(super) fn delete_user(tx: &Db, id: &str) -> R<()> {
    if tx.prepare_cached("DELETE FROM users WHERE id = ?1")?.execute([id])? == 0 {
        return Err(no_user(id));
    }
    Ok(())
}

pub(super) fn count_admins(tx: &Db) -> R<i64> {
    Ok(tx
        .prepare_cached("SELECT count(*) FROM users WHERE role = 'admin' AND is_active = 1")?
        .query_row([], |r| r.get(0))?)
}

// --- logins and refresh tokens

pub(super) fn create_login_session(
    tx: &Db,
    user_id: String,
    ip_address: Option<String>,
    user_agent: Option<String>,
    expires_at: Timestamp,
) -> R<LoginSession> {
    let session = LoginSession {
        id: new_id(),
        user_id,
        ip_address,
        user_agent,
        created_at: now(),
        expires_at: super::sql::ms(expires_at),
        ended_at: None,
    };
    tx.prepare_cached(
        "INSERT INTO user_sessions (id, user_id, ip_address, user_agent, created_at, expires_at, last_activity_at,
             ended_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, NULL)",
    )?
    .execute(params![
        session.id,
        session.user_id,
        session.ip_address,
        session.user_agent,
        session.created_at,
        session.expires_at
    ])?;
    Ok(session)
}

pub(super) fn session_user(tx: &Db, user_id: &str, session_id: &str, now: Timestamp) -> R<Option<User>> {
    let columns = USER_COLUMNS.split(", ").map(|c| format!("u.{}", c.trim())).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT {columns} FROM users u JOIN user_sessions s ON s.user_id = u.id
         WHERE u.id = ?1 AND s.id = ?2 AND s.ended_at IS NULL AND s.expires_at > ?3"
    );
    Ok(tx.prepare_cached(&sql)?.query_row(params![user_id, session_id, super::sql::ms(now)], user_row).optional()?)
}

/// The login session a token joins must be the token's user's and still open.
fn check_family(tx: &Db, family_id: &str, user_id: &str) -> R<()> {
    let found: Option<(String, Option<Timestamp>)> = tx
        .prepare_cached("SELECT user_id, ended_at FROM user_sessions WHERE id = ?1")?
        .query_row([family_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match found {
        None => Err(not_found(format!("no login session with the id '{family_id}'"))),
        Some((owner, _)) if owner != user_id => Err(invalid("the login session belongs to another user")),
        Some((_, Some(_))) => Err(invalid("the login session has ended")),
        Some(_) => Ok(()),
    }
}

fn insert_token(tx: &Db, id: &str, t: &NewRefreshToken, created_at: Timestamp) -> R<()> {
    tx.prepare_cached(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at, revoked_at,
             replaced_by, device_info)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL, ?7)",
    )?
    .execute(params![id, t.user_id, t.family_id, t.token_hash, created_at, t.expires_at, Json(&t.device_info)])?;
    Ok(())
}

pub(super) fn insert_refresh_token(tx: &Db, token: NewRefreshToken) -> R<()> {
    check_family(tx, &token.family_id, &token.user_id)?;
    insert_token(tx, &new_id(), &token, now())
}

/// The presented token as stored, with its login session's state.
struct Presented {
    id: String,
    user_id: String,
    family_id: String,
    expires_at: Timestamp,
    revoked_at: Option<Timestamp>,
    session_expires_at: Timestamp,
    session_ended_at: Option<Timestamp>,
}

/// See [`crate::Store::rotate_refresh_token`]. The transaction is IMMEDIATE, so between the read of the token and
/// its update no other writer (thread or process) can spend it: of two presentations, the second sees it spent.
pub(super) fn rotate(tx: &Db, presented: &str, mut replacement: NewRefreshToken, at: Timestamp) -> R<Rotation> {
    let found = tx
        .prepare_cached(
            "SELECT t.id, t.user_id, t.family_id, t.expires_at, t.revoked_at, s.expires_at, s.ended_at
             FROM refresh_tokens t JOIN user_sessions s ON s.id = t.family_id
             WHERE t.token_hash = ?1",
        )?
        .query_row([presented], |r| {
            Ok(Presented {
                id: r.get(0)?,
                user_id: r.get(1)?,
                family_id: r.get(2)?,
                expires_at: r.get(3)?,
                revoked_at: r.get(4)?,
                session_expires_at: r.get(5)?,
                session_ended_at: r.get(6)?,
            })
        })
        .optional()?;
    let Some(t) = found else { return Ok(Rotation::Unknown) };
    if t.revoked_at.is_some() || t.session_ended_at.is_some() {
        // Spent or revoked, presented again: whoever holds it is not the one who rotated it. End the whole login.
        revoke_family(tx, &t.family_id, at)?;
        return Ok(Rotation::Reused { user_id: t.user_id, family_id: t.family_id });
    }
    if t.expires_at <= at || t.session_expires_at <= at {
        return Ok(Rotation::Expired);
    }
    for (field, given, actual) in
        [("user_id", &mut replacement.user_id, &t.user_id), ("family_id", &mut replacement.family_id, &t.family_id)]
    {
        if given.is_empty() {
            given.clone_from(actual);
        } else if given != actual {
            return Err(invalid(format!("the replacement token's {field} is not the presented token's")));
        }
    }
    let successor = new_id();
    let spent = tx
        .prepare_cached(
            "UPDATE refresh_tokens SET revoked_at = ?2, replaced_by = ?3 WHERE id = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![t.id, at, successor])?;
    if spent != 1 {
        // Cannot happen inside an IMMEDIATE transaction; if it did, the token was spent meanwhile.
        revoke_family(tx, &t.family_id, at)?;
        return Ok(Rotation::Reused { user_id: t.user_id, family_id: t.family_id });
    }
    insert_token(tx, &successor, &replacement, at)?;
    tx.prepare_cached("UPDATE user_sessions SET last_activity_at = ?2 WHERE id = ?1")?
        .execute(params![t.family_id, at])?;
    Ok(Rotation::Rotated { user_id: t.user_id, family_id: t.family_id })
}

pub(super) fn revoke_family(tx: &Db, family_id: &str, at: Timestamp) -> R<()> {
    tx.prepare_cached("UPDATE refresh_tokens SET revoked_at = ?2 WHERE family_id = ?1 AND revoked_at IS NULL")?
        .execute(params![family_id, at])?;
    tx.prepare_cached("UPDATE user_sessions SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL")?
        .execute(params![family_id, at])?;
    Ok(())
}

pub(super) fn revoke_user_tokens(tx: &Db, user_id: &str, at: Timestamp) -> R<()> {
    tx.prepare_cached("UPDATE refresh_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL")?
        .execute(params![user_id, at])?;
    tx.prepare_cached("UPDATE user_sessions SET ended_at = ?2 WHERE user_id = ?1 AND ended_at IS NULL")?
        .execute(params![user_id, at])?;
    Ok(())
}

pub(super) fn token_family(tx: &Db, token_hash: &str) -> R<Option<(String, String)>> {
    Ok(tx
        .prepare_cached(
            "SELECT t.family_id, t.user_id FROM refresh_tokens t JOIN user_sessions s ON s.id = t.family_id
             WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND s.ended_at IS NULL",
        )?
        .query_row([token_hash], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

// --- API keys

const KEY_COLUMNS: &str =
    "id, user_id, key_name, key_prefix, scopes, created_at, expires_at, last_used, usage_count, revoked_at";

fn key_row(r: &Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        prefix: r.get(3)?,
        scopes: json(r, 4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        last_used_at: r.get(7)?,
        usage_count: r.get(8)?,
        revoked_at: r.get(9)?,
    })
}

pub(super) fn create_api_key(tx: &Db, new: NewApiKey) -> R<ApiKey> {
    let key = ApiKey {
        id: new_id(),
        user_id: new.user_id,
        name: new.name.trim().to_string(),
        prefix: new.prefix,
        scopes: new.scopes,
        created_at: now(),
        expires_at: new.expires_at.map(super::sql::ms),
        last_used_at: None,
        usage_count: 0,
        revoked_at: None,
    };
    tx.prepare_cached(
        "INSERT INTO api_keys (id, user_id, key_name, key_prefix, key_hash, scopes, created_at, expires_at, last_used,
             usage_count, revoked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, 0, NULL)",
    )?
    .execute(params![
        key.id,
        key.user_id,
        key.name,
        key.prefix,
        new.key_hash,
        Json(&key.scopes),
        key.created_at,
        key.expires_at
    ])?;
    Ok(key)
}

pub(super) fn api_key_by_prefix(tx: &Db, prefix: &str) -> R<Option<(ApiKey, String)>> {
    let sql = format!("SELECT {KEY_COLUMNS}, key_hash FROM api_keys WHERE key_prefix = ?1");
    Ok(tx.prepare_cached(&sql)?.query_row([prefix], |r| Ok((key_row(r)?, r.get(10)?))).optional()?)
}

/// One more use; `last_used` never moves back when uses are counted out of order.
pub(super) fn touch_api_key(tx: &Db, id: &str, at: Timestamp) -> R<()> {
    let n = tx
        .prepare_cached(
            "UPDATE api_keys SET usage_count = usage_count + 1,
                 last_used = CASE WHEN last_used IS NULL OR last_used < ?2 THEN ?2 ELSE last_used END
             WHERE id = ?1",
        )?
        .execute(params![id, at])?;
    if n == 0 {
        return Err(not_found(format!("no API key with the id '{id}'")));
    }
    Ok(())
}

/// Newest first.
pub(super) fn list_api_keys(tx: &Db, user_id: &str, req: &PageRequest) -> R<Page<ApiKey>> {
    let limit = page::limit(req);
    let after = req.cursor.as_deref().map(|c| page::decode("api_keys", c)).transpose()?;
    let (key, id) = after.unzip();
    let from = if key.is_some() { "(created_at, id) < (?2, ?3)" } else { "?2 IS NULL AND ?3 IS NULL" };
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM api_keys
         WHERE user_id = ?1 AND {from}
         ORDER BY created_at DESC, id DESC LIMIT ?4"
    );
    let rows = tx
        .prepare_cached(&sql)?
        .query_map(params![user_id, key, id, to_i64(limit + 1)], key_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(page_of(rows, limit, |k| page::encode("api_keys", &k.created_at.to_rfc3339(), &k.id)))
}

/// Revoking a revoked key changes nothing (its first revocation time stays).
pub(super) fn revoke_api_key(tx: &Db, id: &str, user_id: Option<&str>, at: Timestamp) -> R<ApiKey> {
    let sql = format!(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?3) WHERE id = ?1 AND (?2 IS NULL OR user_id = ?2)
         RETURNING {KEY_COLUMNS}"
    );
    tx.prepare_cached(&sql)?
        .query_row(params![id, user_id, at], key_row)
        .optional()?
        .ok_or_else(|| not_found(format!("no API key with the id '{id}'")))
}
