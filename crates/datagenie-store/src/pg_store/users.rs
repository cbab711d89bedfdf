//! Accounts, login sessions, refresh tokens and API keys (the PostgreSQL version of `sqlite_store/users.rs`).
//!
//! # Concurrency
//!
//! SQLite ran every write on one writer, so a method could read and then write. Here writers run concurrently in
//! `READ COMMITTED`, so what a write depends on is locked before it is read, always in the same order — a login
//! session (the rotation family) before its refresh tokens — so concurrent callers wait for each other and never
//! deadlock: a rotation locks the family and then the presented token (`FOR UPDATE`), a logout or a revocation of a
//! user's tokens locks the families first, storing a token holds its family against ending meanwhile, and a patch
//! of a user locks the user's row. Counting a use of an API key and revoking one are single statements.

use tokio_postgres::Row;

use super::sql::{execute, json, ms, now, page_of, query, query_one, query_opt, to_i64, to_json};
use super::{Fail, R, Tx, invalid, not_found};
use crate::model::*;
use crate::page;

const USER_COLUMNS: &str = "id, username, email, full_name, role, is_active, created_at, updated_at, last_login_at, \
                            preferences, token_usage, hourly_token_limit, daily_token_limit, monthly_token_limit, tier";

/// [`USER_COLUMNS`] of the table aliased `u`.
const U_USER_COLUMNS: &str = "u.id, u.username, u.email, u.full_name, u.role, u.is_active, u.created_at, \
                              u.updated_at, u.last_login_at, u.preferences, u.token_usage, u.hourly_token_limit, \
                              u.daily_token_limit, u.monthly_token_limit, u.tier";

fn user_row(r: &Row) -> R<User> {
    Ok(User {
        id: r.try_get(0)?,
        username: r.try_get(1)?,
        email: r.try_get(2)?,
        full_name: r.try_get(3)?,
        role: r.try_get(4)?,
        active: r.try_get(5)?,
        created_at: r.try_get(6)?,
        updated_at: r.try_get(7)?,
        last_login_at: r.try_get(8)?,
        preferences: json(r, 9)?,
        token_usage: r.try_get(10)?,
        limits: TokenLimits { hourly: r.try_get(11)?, daily: r.try_get(12)?, monthly: r.try_get(13)? },
        tier: r.try_get(14)?,
    })
}

fn no_user(id: &str) -> Fail {
    not_found(format!("no user with the id '{id}'"))
}

fn bad_cursor() -> Fail {
    invalid("the page cursor is not valid for this list")
}

pub(super) async fn create_user(tx: &Tx<'_>, new: NewUser) -> R<User> {
    let id = new_id();
    let at = now();
    let empty = serde_json::Value::Object(serde_json::Map::new());
    execute(
        tx,
        "INSERT INTO users (id, username, email, password_hash, full_name, role, is_active, created_at, updated_at,
             last_login_at, preferences, token_usage, hourly_token_limit, daily_token_limit, monthly_token_limit)
         VALUES ($1, $2, $3, $4, $5, $6, true, $7, $7, NULL, $8, 0, $9, $10, $11)",
        &[
            &id,
            &new.username.trim(),
            &new.email.trim().to_lowercase(),
            &new.password_hash,
            &new.full_name,
            &new.role,
            &at,
            &empty,
            &new.limits.hourly,
            &new.limits.daily,
            &new.limits.monthly,
        ],
    )
    .await?;
    user(tx, &id).await?.ok_or_else(|| no_user(&id))
}

pub(super) async fn user(tx: &Tx<'_>, id: &str) -> R<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    query_opt(tx, &sql, &[&id]).await?.as_ref().map(user_row).transpose()
}

pub(super) async fn credentials(tx: &Tx<'_>, email: &str) -> R<Option<Credentials>> {
    let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1");
    let Some(r) = query_opt(tx, &sql, &[&email.trim().to_lowercase()]).await? else { return Ok(None) };
    Ok(Some(Credentials { user: user_row(&r)?, password_hash: r.try_get(15)? }))
}

/// Users by username without regard to ASCII case, as SQLite's `COLLATE NOCASE` orders them: ASCII letters folded
/// to lower case (`lower` under the "C" collation folds only those), then byte-wise.
pub(super) async fn list_users(tx: &Tx<'_>, req: &PageRequest) -> R<Page<User>> {
    let limit = page::limit(req);
    let after = req.cursor.as_deref().map(|c| page::decode("users", c)).transpose()?.map(|(name, _)| name);
    let n = to_i64(limit + 1);
    let rows = match &after {
        None => {
            let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY lower(username COLLATE \"C\") LIMIT $1");
            query(tx, &sql, &[&n]).await?
        }
        Some(name) => {
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users WHERE lower(username COLLATE \"C\") > lower($1::text COLLATE \"C\")
                 ORDER BY lower(username COLLATE \"C\") LIMIT $2"
            );
            query(tx, &sql, &[name, &n]).await?
        }
    };
    let users = rows.iter().map(user_row).collect::<R<Vec<_>>>()?;
    Ok(page_of(users, limit, |u| page::encode("users", &u.username, &u.id)))
}

/// The patch is applied to the row as it is once locked: concurrent patches of one user each keep the other's.
pub(super) async fn update_user(tx: &Tx<'_>, id: &str, patch: UserPatch) -> R<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 FOR NO KEY UPDATE");
    let found = query_opt(tx, &sql, &[&id]).await?;
    let mut u = found.as_ref().map(user_row).transpose()?.ok_or_else(|| no_user(id))?;
    crate::common::apply_user_patch(&mut u, patch);
    execute(
        tx,
        "UPDATE users SET role = $2, is_active = $3, full_name = $4, hourly_token_limit = $5, daily_token_limit = $6,
             monthly_token_limit = $7, preferences = $8, updated_at = $9, tier = $10
         WHERE id = $1",
        &[
            &id,
            &u.role,
            &u.active,
            &u.full_name,
            &u.limits.hourly,
            &u.limits.daily,
            &u.limits.monthly,
            &u.preferences,
            &u.updated_at,
            &u.tier,
        ],
    )
    .await?;
    Ok(u)
}

pub(super) async fn set_password_hash(tx: &Tx<'_>, id: &str, hash: &str) -> R<()> {
    let n = execute(tx, "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1", &[&id, &hash, &now()])
        .await?;
    if n == 0 {
        return Err(no_user(id));
    }
    Ok(())
}

pub(super) async fn record_login(tx: &Tx<'_>, id: &str, at: Timestamp) -> R<()> {
    let n = execute(tx, "UPDATE users SET last_login_at = $2 WHERE id = $1", &[&id, &ms(at)]).await?;
    if n == 0 {
        return Err(no_user(id));
    }
    Ok(())
}

/// The foreign keys remove the rest: login sessions and their tokens, API keys, permissions, chat sessions and
/// their messages (cascade); connections and settings keep a NULL author.
pub(super) async fn delete_user(tx: &Tx<'_>, id: &str) -> R<()> {
    if execute(tx, "DELETE FROM users WHERE id = $1", &[&id]).await? == 0 {
        return Err(no_user(id));
    }
    Ok(())
}

pub(super) async fn count_admins(tx: &Tx<'_>) -> R<i64> {
    let r = query_one(tx, "SELECT count(*) FROM users WHERE role = 'admin' AND is_active", &[]).await?;
    Ok(r.try_get(0)?)
}

// --- logins and refresh tokens

pub(super) async fn create_login_session(
    tx: &Tx<'_>,
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
        expires_at: ms(expires_at),
        ended_at: None,
    };
    execute(
        tx,
        "INSERT INTO user_sessions (id, user_id, ip_address, user_agent, created_at, expires_at, last_activity_at,
             ended_at)
         VALUES ($1, $2, $3, $4, $5, $6, $5, NULL)",
        &[
            &session.id,
            &session.user_id,
            &session.ip_address,
            &session.user_agent,
            &session.created_at,
            &session.expires_at,
        ],
    )
    .await?;
    Ok(session)
}

pub(super) async fn session_user(tx: &Tx<'_>, user_id: &str, session_id: &str, now: Timestamp) -> R<Option<User>> {
    let sql = format!(
        "SELECT {U_USER_COLUMNS} FROM users u JOIN user_sessions s ON s.user_id = u.id
         WHERE u.id = $1 AND s.id = $2 AND s.ended_at IS NULL AND s.expires_at > $3"
    );
    query_opt(tx, &sql, &[&user_id, &session_id, &ms(now)]).await?.as_ref().map(user_row).transpose()
}

/// The login session a token joins must be the token's user's and still open. Its row stays share-locked until
/// the transaction ends, so it cannot end (logout) between this check and the token's insertion.
async fn check_family(tx: &Tx<'_>, family_id: &str, user_id: &str) -> R<()> {
    let found =
        query_opt(tx, "SELECT user_id, ended_at FROM user_sessions WHERE id = $1 FOR SHARE", &[&family_id]).await?;
    let Some(r) = found else {
        return Err(not_found(format!("no login session with the id '{family_id}'")));
    };
    let owner: String = r.try_get(0)?;
    let ended_at: Option<Timestamp> = r.try_get(1)?;
    if owner != user_id {
        return Err(invalid("the login session belongs to another user"));
    }
    if ended_at.is_some() {
        return Err(invalid("the login session has ended"));
    }
    Ok(())
}

async fn insert_token(tx: &Tx<'_>, id: &str, t: &NewRefreshToken, created_at: Timestamp) -> R<()> {
    execute(
        tx,
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at, revoked_at,
             replaced_by, device_info)
         VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7)",
        &[&id, &t.user_id, &t.family_id, &t.token_hash, &ms(created_at), &ms(t.expires_at), &to_json(&t.device_info)?],
    )
    .await?;
    Ok(())
}

pub(super) async fn insert_refresh_token(tx: &Tx<'_>, token: NewRefreshToken) -> R<()> {
    lock_user(tx, &token.user_id).await?;
    check_family(tx, &token.family_id, &token.user_id).await?;
    insert_token(tx, &new_id(), &token, now()).await
}

/// Holds a user's row against deletion until the transaction ends (the lock a foreign key's check takes), taken
/// before the user's login session is locked: deleting a user locks the user and then its sessions (the cascade),
/// so a writer that locked a session first and then checked the user's key would deadlock with it. Nothing when
/// there is no such user (the statements that follow say so).
async fn lock_user(tx: &Tx<'_>, user_id: &str) -> R<()> {
    query_opt(tx, "SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE", &[&user_id]).await?;
    Ok(())
}

/// Locks a login session (a rotation family) against every other rotation, logout or revocation touching it,
/// until the transaction ends. Locking the family before its tokens is the order every writer here keeps.
async fn lock_family(tx: &Tx<'_>, family_id: &str) -> R<()> {
    query_opt(tx, "SELECT 1 FROM user_sessions WHERE id = $1 FOR NO KEY UPDATE", &[&family_id]).await?;
    Ok(())
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

/// See [`crate::Store::rotate_refresh_token`]. The presented token's family is locked, then the token itself
/// (`FOR UPDATE`), before its state is read: of two concurrent presentations the second waits for the first to
/// commit and then reads the token spent (a reuse), never the state before the first spent it.
pub(super) async fn rotate(
    tx: &Tx<'_>,
    presented: &str,
    mut replacement: NewRefreshToken,
    at: Timestamp,
) -> R<Rotation> {
    // A token's user and family never change: read them to lock the user and the family first, then read the token
    // under its own lock.
    let sql = "SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1";
    let Some(owner) = query_opt(tx, sql, &[&presented]).await? else { return Ok(Rotation::Unknown) };
    let (user_id, family_id): (String, String) = (owner.try_get(0)?, owner.try_get(1)?);
    lock_user(tx, &user_id).await?;
    lock_family(tx, &family_id).await?;
    let found = query_opt(
        tx,
        "SELECT t.id, t.user_id, t.family_id, t.expires_at, t.revoked_at, s.expires_at, s.ended_at
         FROM refresh_tokens t JOIN user_sessions s ON s.id = t.family_id
         WHERE t.token_hash = $1
         FOR UPDATE OF t",
        &[&presented],
    )
    .await?;
    // gone meanwhile (its user deleted): as if never issued
    let Some(r) = found else { return Ok(Rotation::Unknown) };
    let t = Presented {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        family_id: r.try_get(2)?,
        expires_at: r.try_get(3)?,
        revoked_at: r.try_get(4)?,
        session_expires_at: r.try_get(5)?,
        session_ended_at: r.try_get(6)?,
    };
    if t.revoked_at.is_some() || t.session_ended_at.is_some() {
        // Spent or revoked, presented again: whoever holds it is not the one who rotated it. End the whole login.
        revoke_family(tx, &t.family_id, at).await?;
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
    let at_ms = ms(at);
    let spent = execute(
        tx,
        "UPDATE refresh_tokens SET revoked_at = $2, replaced_by = $3 WHERE id = $1 AND revoked_at IS NULL",
        &[&t.id, &at_ms, &successor],
    )
    .await?;
    if spent != 1 {
        // Cannot happen with the token locked; if it did, the token was spent meanwhile.
        revoke_family(tx, &t.family_id, at).await?;
        return Ok(Rotation::Reused { user_id: t.user_id, family_id: t.family_id });
    }
    insert_token(tx, &successor, &replacement, at).await?;
    execute(tx, "UPDATE user_sessions SET last_activity_at = $2 WHERE id = $1", &[&t.family_id, &at_ms]).await?;
    Ok(Rotation::Rotated { user_id: t.user_id, family_id: t.family_id })
}

pub(super) async fn revoke_family(tx: &Tx<'_>, family_id: &str, at: Timestamp) -> R<()> {
    let at = ms(at);
    // the family first (even an ended one), then its tokens: a rotation in flight finishes before, or starts after
    lock_family(tx, family_id).await?;
    execute(
        tx,
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
        &[&family_id, &at],
    )
    .await?;
    execute(tx, "UPDATE user_sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL", &[&family_id, &at])
        .await?;
    Ok(())
}

pub(super) async fn revoke_user_tokens(tx: &Tx<'_>, user_id: &str, at: Timestamp) -> R<()> {
    let at = ms(at);
    // every family of the user first, in one order (two revocations at once wait, never deadlock), then the tokens
    query(
        tx,
        "SELECT id FROM user_sessions WHERE user_id = $1 ORDER BY id COLLATE \"C\" FOR NO KEY UPDATE",
        &[&user_id],
    )
    .await?;
    execute(
        tx,
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        &[&user_id, &at],
    )
    .await?;
    execute(tx, "UPDATE user_sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL", &[&user_id, &at])
        .await?;
    Ok(())
}

pub(super) async fn token_family(tx: &Tx<'_>, token_hash: &str) -> R<Option<(String, String)>> {
    let found = query_opt(
        tx,
        "SELECT t.family_id, t.user_id FROM refresh_tokens t JOIN user_sessions s ON s.id = t.family_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND s.ended_at IS NULL",
        &[&token_hash],
    )
    .await?;
    let Some(r) = found else { return Ok(None) };
    Ok(Some((r.try_get(0)?, r.try_get(1)?)))
}

// --- API keys

const KEY_COLUMNS: &str =
    "id, user_id, key_name, key_prefix, scopes, created_at, expires_at, last_used, usage_count, revoked_at";

fn key_row(r: &Row) -> R<ApiKey> {
    Ok(ApiKey {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        name: r.try_get(2)?,
        prefix: r.try_get(3)?,
        scopes: json(r, 4)?,
        created_at: r.try_get(5)?,
        expires_at: r.try_get(6)?,
        last_used_at: r.try_get(7)?,
        usage_count: r.try_get(8)?,
        revoked_at: r.try_get(9)?,
    })
}

pub(super) async fn create_api_key(tx: &Tx<'_>, new: NewApiKey) -> R<ApiKey> {
    let key = ApiKey {
        id: new_id(),
        user_id: new.user_id,
        name: new.name.trim().to_string(),
        prefix: new.prefix,
        scopes: new.scopes,
        created_at: now(),
        expires_at: new.expires_at.map(ms),
        last_used_at: None,
        usage_count: 0,
        revoked_at: None,
    };
    execute(
        tx,
        "INSERT INTO api_keys (id, user_id, key_name, key_prefix, key_hash, scopes, created_at, expires_at, last_used,
             usage_count, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, 0, NULL)",
        &[
            &key.id,
            &key.user_id,
            &key.name,
            &key.prefix,
            &new.key_hash,
            &to_json(&key.scopes)?,
            &key.created_at,
            &key.expires_at,
        ],
    )
    .await?;
    Ok(key)
}

pub(super) async fn api_key_by_prefix(tx: &Tx<'_>, prefix: &str) -> R<Option<(ApiKey, String)>> {
    let sql = format!("SELECT {KEY_COLUMNS}, key_hash FROM api_keys WHERE key_prefix = $1");
    let Some(r) = query_opt(tx, &sql, &[&prefix]).await? else { return Ok(None) };
    Ok(Some((key_row(&r)?, r.try_get(10)?)))
}

/// One more use; `last_used` never moves back when uses are counted out of order. One statement: concurrent uses
/// of a key wait for each other and each counts.
pub(super) async fn touch_api_key(tx: &Tx<'_>, id: &str, at: Timestamp) -> R<()> {
    let n = execute(
        tx,
        "UPDATE api_keys SET usage_count = usage_count + 1,
             last_used = CASE WHEN last_used IS NULL OR last_used < $2 THEN $2 ELSE last_used END
         WHERE id = $1",
        &[&id, &ms(at)],
    )
    .await?;
    if n == 0 {
        return Err(not_found(format!("no API key with the id '{id}'")));
    }
    Ok(())
}

/// Newest first; ties on the time broken by id, byte-wise (as SQLite compares).
pub(super) async fn list_api_keys(tx: &Tx<'_>, user_id: &str, req: &PageRequest) -> R<Page<ApiKey>> {
    let limit = page::limit(req);
    let after = match req.cursor.as_deref() {
        None => None,
        Some(c) => {
            let (key, id) = page::decode("api_keys", c)?;
            Some((Timestamp::parse(&key).map_err(|_| bad_cursor())?, id))
        }
    };
    let n = to_i64(limit + 1);
    let rows = match &after {
        None => {
            let sql = format!(
                "SELECT {KEY_COLUMNS} FROM api_keys
                 WHERE user_id = $1
                 ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $2"
            );
            query(tx, &sql, &[&user_id, &n]).await?
        }
        Some((at, id)) => {
            let sql = format!(
                "SELECT {KEY_COLUMNS} FROM api_keys
                 WHERE user_id = $1 AND (created_at < $2 OR (created_at = $2 AND id COLLATE \"C\" < $3))
                 ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $4"
            );
            query(tx, &sql, &[&user_id, at, id, &n]).await?
        }
    };
    let keys = rows.iter().map(key_row).collect::<R<Vec<_>>>()?;
    Ok(page_of(keys, limit, |k| page::encode("api_keys", &k.created_at.to_rfc3339(), &k.id)))
}

/// Revoking a revoked key changes nothing (its first revocation time stays).
pub(super) async fn revoke_api_key(tx: &Tx<'_>, id: &str, user_id: Option<&str>, at: Timestamp) -> R<ApiKey> {
    let sql = format!(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3)
         WHERE id = $1 AND ($2::text IS NULL OR user_id = $2)
         RETURNING {KEY_COLUMNS}"
    );
    query_opt(tx, &sql, &[&id, &user_id, &ms(at)])
        .await?
        .as_ref()
        .map(key_row)
        .transpose()?
        .ok_or_else(|| not_found(format!("no API key with the id '{id}'")))
}
