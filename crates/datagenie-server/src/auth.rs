//! Who is calling: passwords (Argon2id, hashed off the async runtime), access tokens (HS256 JWTs signed with a key
//! derived from the master key, so servers sharing the key accept each other's tokens), refresh tokens (random,
//! stored hashed, rotated at each use) and API keys (`dg_<prefix>_<secret>`, stored hashed, found by prefix).
//!
//! [`Auth`] is the extractor every protected handler takes: a `Bearer` access token or API key, or `X-API-Key`.
//! The user is read from the store on each request (with the login session, for an access token), so a disabled
//! account, a revoked key or a login that ended stops at once.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use base64::Engine as _;
use datagenie_app::service::Caller;
use datagenie_core::schema::hex;
use datagenie_core::{Error, ErrorCode};
use datagenie_store::crypto::random_bytes;
use datagenie_store::model::{Channel, Role, Timestamp, User};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

// --- passwords

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest (Argon2 accepts more; a megabyte password is an attack on the hasher).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Checks a new password's length. Errors: `invalid_argument`.
pub fn validate_password(password: &str) -> Result<(), Error> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("a password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("a password has at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// An Argon2id hash (PHC string) of `password`, with the crate's default parameters (OWASP's m=19 MiB, t=2, p=1),
/// computed on a blocking thread.
pub async fn hash_password(password: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || hash_password_now(&password))
        .await
        .map_err(|e| Error::new(ErrorCode::Internal, format!("the password hasher stopped: {e}")))?
}

/// [`hash_password`] on the calling thread (the CLI).
pub fn hash_password_now(password: &str) -> Result<String, Error> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::new(ErrorCode::Internal, format!("cannot hash the password: {e}")))
}

/// Whether `password` matches the stored hash, on a blocking thread. A stored hash that does not parse never matches.
pub async fn verify_password(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A hash of a password nobody has, verified when the email is unknown so that a login takes as long either way.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password_now("not a password anyone has").unwrap_or_default())
}

// --- access tokens

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    iat: i64,
    exp: i64,
    /// The login session (refresh-token family) it belongs to.
    sid: String,
    typ: String,
}

/// Signs and checks access tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub ttl: Duration,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys").field("keys", &"[redacted]").field("ttl", &self.ttl).finish()
    }
}

const ACCESS: &str = "access";

impl TokenKeys {
    pub fn new(secret: &[u8; 32], ttl: Duration) -> Result<TokenKeys, Error> {
        let bad = |e: jsonwebtoken::errors::Error| {
            Error::new(ErrorCode::Internal, format!("cannot use the signing key: {e}"))
        };
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(secret).map_err(bad)?,
            decoding: DecodingKey::from_secret(secret).map_err(bad)?,
            ttl,
        })
    }

    /// A token for `user` in the login session `family`.
    pub fn issue(&self, user: &User, family: &str) -> Result<String, Error> {
        self.issue_at(user, family, time::OffsetDateTime::now_utc().unix_timestamp())
    }

    fn issue_at(&self, user: &User, family: &str, now: i64) -> Result<String, Error> {
        let claims = Claims {
            sub: user.id.clone(),
            role: user.role.as_str().to_string(),
            iat: now,
            exp: now + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2),
            sid: family.to_string(),
            typ: ACCESS.into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::new(ErrorCode::Internal, format!("cannot sign a token: {e}")))
    }

    /// The user id and login session of a valid, unexpired access token. Errors: `unauthenticated`.
    fn verify(&self, token: &str) -> Result<(String, String), Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|e| {
            let why = match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the access token has expired; refresh it",
                _ => "the access token is not valid",
            };
            Error::new(ErrorCode::Unauthenticated, why)
        })?;
        if data.claims.typ != ACCESS {
            return Err(Error::new(ErrorCode::Unauthenticated, "the access token is not valid"));
        }
        Ok((data.claims.sub, data.claims.sid))
    }
}

// --- opaque secrets: refresh tokens and API keys

/// `n` random bytes, base64url without padding.
fn random_text<const N: usize>() -> Result<String, Error> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<N>()?))
}

/// SHA-256 of a high-entropy secret, hex: how refresh tokens and API keys are stored (a slow hash adds nothing to
/// 256 random bits).
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A new refresh token: `dgr_` and 32 random bytes.
pub fn new_refresh_token() -> Result<String, Error> {
    Ok(format!("dgr_{}", random_text::<32>()?))
}

/// A new API key and its public prefix: `dg_<prefix>_<secret>`, prefix 12 hex characters, secret 32 random bytes.
pub fn new_api_key() -> Result<(String, String), Error> {
    let prefix = hex(&random_bytes::<6>()?);
    let secret = hex(&random_bytes::<32>()?);
    Ok((format!("dg_{prefix}_{secret}"), prefix))
}

/// The prefix of something shaped like an API key.
fn api_key_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("dg_")?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 12 && !secret.is_empty()).then_some(prefix)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// --- the extractor

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    /// An access token of the login session `family`.
    AccessToken {
        family: String,
    },
    ApiKey {
        id: String,
        scopes: Vec<String>,
    },
}

/// An authenticated caller: the user (as stored now) and where the request came from.
#[derive(Debug, Clone)]
pub struct Auth {
    pub caller: Caller,
    pub credential: Credential,
}

impl Auth {
    pub fn user(&self) -> &User {
        &self.caller.user
    }

    /// The login session of an access token.
    pub fn session_family(&self) -> Option<String> {
        match &self.credential {
            Credential::AccessToken { family } => Some(family.clone()),
            Credential::ApiKey { .. } => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.caller.user.role == Role::Admin
    }

    /// Admins only. Errors: `forbidden`.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() { Ok(()) } else { Err(ApiError::forbidden("only an admin may do this")) }
    }

    /// Admins and users (viewers may not). Errors: `forbidden`.
    pub fn require_user(&self) -> Result<(), ApiError> {
        match self.caller.user.role {
            Role::Admin | Role::User => Ok(()),
            Role::Viewer => Err(ApiError::forbidden("a viewer may not do this")),
        }
    }
}

/// Where a request came from, for the audit trail and the per-address limits.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(client_info(parts))
    }
}

pub fn client_info(parts: &Parts) -> ClientInfo {
    let text = |name: &str| {
        parts.headers.get(name).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(500).collect::<String>())
    };
    ClientInfo {
        ip: parts.extensions.get::<crate::middleware::ClientIp>().map(|ip| ip.0.to_string()),
        user_agent: text(header::USER_AGENT.as_str()),
        request_id: text(crate::middleware::REQUEST_ID),
    }
}

/// The presented credential: `Authorization: Bearer …` or `X-API-Key: …`.
fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then_some(token.trim());
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

impl FromRequestParts<Arc<AppState>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let client = client_info(parts);
        let Some(token) = presented(&parts.headers) else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "sign in first: send an access token or API key as 'Authorization: Bearer …'",
            ));
        };
        let (user, credential) = if let Some(prefix) = api_key_prefix(token) {
            let (key, user) = authenticate_key(state, prefix, token).await?;
            let scopes = key.scopes.clone();
            check_scopes(&scopes, &parts.method, parts.uri.path())?;
            (user, Credential::ApiKey { id: key.id, scopes })
        } else {
            let (id, family) = state.tokens.verify(token)?;
            // The login must still be open: a logout, a reused refresh token or a revocation ends its access
            // tokens at once, not when they expire.
            let user = match state.store.session_user(&id, &family, Timestamp::now()).await? {
                Some(user) if user.active => user,
                Some(_) => return Err(unauthenticated("this account is disabled")),
                None => return Err(unauthenticated("this login has ended; sign in again")),
            };
            (user, Credential::AccessToken { family })
        };
        let auth = Auth {
            caller: Caller {
                user,
                ip_address: client.ip,
                user_agent: client.user_agent,
                request_id: client.request_id,
                api_key_id: match &credential {
                    Credential::ApiKey { id, .. } => Some(id.clone()),
                    Credential::AccessToken { .. } => None,
                },
                channel: Channel::Http,
            },
            credential,
        };
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// The caller behind an API key (`dg_…`), for MCP: only API keys are taken (access tokens are the web UI's).
/// Errors: `unauthenticated` — not an API key, unknown, revoked, expired, or its account disabled.
pub async fn authenticate_api_key(state: &AppState, key: &str, client: ClientInfo) -> Result<Auth, ApiError> {
    let Some(prefix) = api_key_prefix(key.trim()) else {
        return Err(unauthenticated("MCP takes an API key: send 'Authorization: Bearer dg_…'"));
    };
    let (key, user) = authenticate_key(state, prefix, key.trim()).await?;
    Ok(Auth {
        caller: Caller {
            user,
            ip_address: client.ip,
            user_agent: client.user_agent,
            request_id: client.request_id,
            api_key_id: Some(key.id.clone()),
            channel: Channel::Mcp,
        },
        credential: Credential::ApiKey { id: key.id, scopes: key.scopes },
    })
}

/// The presented credential of a request, for MCP's authentication (the same headers the API reads).
pub fn presented_credential(headers: &HeaderMap) -> Option<&str> {
    presented(headers)
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}

async fn active_user(state: &AppState, id: &str) -> Result<User, ApiError> {
    match state.store.user(id).await? {
        Some(user) if user.active => Ok(user),
        Some(_) => Err(unauthenticated("this account is disabled")),
        None => Err(unauthenticated("the account no longer exists")),
    }
}

async fn authenticate_key(
    state: &AppState,
    prefix: &str,
    presented: &str,
) -> Result<(datagenie_store::model::ApiKey, User), ApiError> {
    let invalid = || unauthenticated("the API key is not valid");
    let Some((key, stored_hash)) = state.store.api_key_by_prefix(prefix).await? else {
        return Err(invalid());
    };
    if !constant_time_eq(secret_hash(presented).as_bytes(), stored_hash.as_bytes()) {
        return Err(invalid());
    }
    if key.revoked_at.is_some() {
        return Err(unauthenticated("the API key has been revoked"));
    }
    let now = Timestamp::now();
    if key.expires_at.as_ref().is_some_and(|at| *at <= now) {
        return Err(unauthenticated("the API key has expired"));
    }
    let user = active_user(state, &key.user_id).await?;
    // Counting the use is bookkeeping: it does not hold up the request.
    let (store, id) = (state.store.clone(), key.id.clone());
    tokio::spawn(async move {
        if let Err(e) = store.touch_api_key(&id, now).await {
            tracing::warn!(code = %e.code, error = %e.message, "cannot count an API key's use");
        }
    });
    Ok((key, user))
}

/// The scopes an API key may carry. No scopes: everything its owner may do.
pub const SCOPES: [&str; 3] = ["read", "ask", "write"];

/// `read`: GET requests; `ask`: questions; `write`: every other change.
fn check_scopes(scopes: &[String], method: &Method, path: &str) -> Result<(), ApiError> {
    if scopes.is_empty() {
        return Ok(());
    }
    let needed = if method == Method::GET || method == Method::HEAD {
        "read"
    } else if path == "/api/v1/ask" {
        "ask"
    } else {
        "write"
    };
    if scopes.iter().any(|s| s == needed) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("this API key lacks the scope '{needed}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_have_their_shape_and_prefix() {
        let (key, prefix) = new_api_key().expect("key");
        assert_eq!(api_key_prefix(&key), Some(prefix.as_str()));
        assert!(key.starts_with("dg_") && key.len() == 3 + 12 + 1 + 64);
        for bad in ["dg_", "dg_short_x", "dg_0123456789ab_", "xx_0123456789ab_secret", "eyJhbGciOi.x.y"] {
            assert_eq!(api_key_prefix(bad), None, "{bad}");
        }
    }

    #[test]
    fn access_tokens_verify_and_reject_tampering_and_other_keys() {
        let keys = TokenKeys::new(&[1u8; 32], Duration::from_secs(60)).expect("keys");
        let user = User {
            id: "u1".into(),
            username: "u".into(),
            email: "u@example.com".into(),
            full_name: None,
            role: Role::Viewer,
            active: true,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            last_login_at: None,
            preferences: serde_json::json!({}),
            token_usage: 0,
            limits: Default::default(),
            tier: "free".into(),
        };
        let token = keys.issue(&user, "fam").expect("token");
        assert_eq!(keys.verify(&token).ok(), Some(("u1".to_string(), "fam".to_string())));
        let other = TokenKeys::new(&[2u8; 32], Duration::from_secs(60)).expect("keys");
        assert_eq!(other.verify(&token).err().map(|e| e.code), Some(ErrorCode::Unauthenticated));
        let mut tampered = token.clone();
        tampered.pop();
        assert!(keys.verify(&tampered).is_err());
        assert!(keys.verify("garbage").is_err());
        let an_hour_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
        let expired = keys.issue_at(&user, "fam", an_hour_ago).expect("token");
        let e = keys.verify(&expired).expect_err("expired");
        assert!(e.message.contains("expired"), "{}", e.message);
    }

    #[test]
    fn scopes_limit_what_a_key_may_do() {
        let scopes = vec!["read".to_string()];
        assert!(check_scopes(&scopes, &Method::GET, "/api/v1/history").is_ok());
        assert!(check_scopes(&scopes, &Method::POST, "/api/v1/ask").is_err());
        assert!(check_scopes(&["ask".into()], &Method::POST, "/api/v1/ask").is_ok());
        assert!(check_scopes(&[], &Method::DELETE, "/api/v1/api-keys/x").is_ok());
    }

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password_now("correct horse").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("rt");
        assert!(rt.block_on(verify_password("correct horse".into(), hash.clone())));
        assert!(!rt.block_on(verify_password("wrong horse".into(), hash)));
        assert!(!rt.block_on(verify_password("x".into(), "not a hash".into())));
        assert!(validate_password("short").is_err());
        assert!(validate_password(&"x".repeat(2000)).is_err());
    }
}
