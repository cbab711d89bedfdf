//! Logins, token refresh and logout, the caller's own account, and API keys.

use std::sync::Arc;

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datagenie_core::ErrorCode;
use datagenie_store::model::{ApiKey, NewApiKey, NewRefreshToken, Rotation, Timestamp, User, UserPatch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{Audit, audit};
use crate::auth::{self, Auth, ClientInfo, SCOPES};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, OptionalJson, Query};
use crate::routes::{ListQuery, Listed, page_of};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// `token` (default): the refresh token is in the body. `cookie` (the web UI): it is set as an `HttpOnly`,
    /// `SameSite=Strict` cookie for `/api/v1/auth/` only and left out of the body; refresh and logout then use the
    /// cookie, with the header `X-DataGenie-CSRF: 1`.
    #[serde(default)]
    pub session: SessionKind,
}

/// Where a login keeps its refresh token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    #[default]
    Token,
    Cookie,
}

/// The cookie that holds a web UI login's refresh token.
pub const REFRESH_COOKIE: &str = "dg_refresh";
/// The header a cookie-borne refresh or logout must carry: a page on another site cannot set it without CORS.
pub const CSRF_HEADER: &str = "x-datagenie-csrf";

/// The refresh token in the request's cookie, if any.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == REFRESH_COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn has_csrf_header(headers: &HeaderMap) -> bool {
    headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) == Some("1")
}

/// `Set-Cookie` for `token` (or, with `None`, one that removes the cookie). `Secure` when the request came over
/// HTTPS (as a trusted proxy says with `X-Forwarded-Proto`).
fn refresh_cookie(state: &AppState, headers: &HeaderMap, token: Option<&str>) -> HeaderValue {
    let https = state.server.trust_forwarded_for
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let (value, max_age) = match token {
        Some(t) => (t, state.refresh_ttl.as_secs()),
        None => ("", 0),
    };
    let secure = if https { "; Secure" } else { "" };
    let cookie =
        format!("{REFRESH_COOKIE}={value}; Path=/api/v1/auth; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie)
        .unwrap_or_else(|_| HeaderValue::from_static("dg_refresh=; Path=/api/v1/auth; Max-Age=0"))
}

/// The pair as the response: in the body, or (a cookie session) the refresh token as a cookie only.
fn pair_response(state: &AppState, headers: &HeaderMap, mut pair: TokenPair, kind: SessionKind) -> Response {
    if kind == SessionKind::Token {
        return JsonOut(pair).into_response();
    }
    let cookie = refresh_cookie(state, headers, pair.refresh_token.as_deref());
    pair.refresh_token = None;
    let mut response = JsonOut(pair).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// Tokens of a login: send `access_token` as `Authorization: Bearer …`; when it expires, trade `refresh_token`
/// for a new pair at `/api/v1/auth/refresh` (each refresh token works once).
#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Absent for a cookie session (`"session": "cookie"`): the token is in the `dg_refresh` cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// Without a body, the `dg_refresh` cookie of a cookie session is used (with `X-DataGenie-CSRF: 1`).
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// The refresh token of the login to end; without it, the login of the access token presented.
    pub refresh_token: Option<String>,
}

fn device_info(client: &ClientInfo) -> serde_json::Value {
    serde_json::json!({ "ip": client.ip, "user_agent": client.user_agent })
}

async fn issue_pair(
    state: &AppState,
    user: &User,
    family: Option<String>,
    client: &ClientInfo,
) -> ApiResult<TokenPair> {
    let refresh = auth::new_refresh_token()?;
    let expires_at = Timestamp::now()
        .plus(time::Duration::seconds(i64::try_from(state.refresh_ttl.as_secs()).unwrap_or(i64::MAX / 4)));
    let family = match family {
        Some(f) => f,
        None => {
            state
                .store
                .create_login_session(&user.id, client.ip.as_deref(), client.user_agent.as_deref(), expires_at)
                .await?
                .id
        }
    };
    state
        .store
        .insert_refresh_token(NewRefreshToken {
            user_id: user.id.clone(),
            family_id: family.clone(),
            token_hash: auth::secret_hash(&refresh),
            expires_at,
            device_info: device_info(client),
        })
        .await?;
    Ok(TokenPair {
        access_token: state.tokens.issue(user, &family)?,
        refresh_token: Some(refresh),
        token_type: "Bearer",
        expires_in: state.tokens.ttl.as_secs(),
    })
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody, description = "too many failed logins")))]
pub async fn login(
    State(state): State<Arc<AppState>>,
    client: ClientInfo,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Response> {
    tracing::debug!(request = ?body, "login");
    let email = body.email.trim().to_lowercase();
    let account_key = format!("email:{email}");
    let mut keys = vec![account_key.clone()];
    if let Some(ip) = &client.ip {
        keys.push(format!("ip:{ip}"));
    }
    if let Err(wait) = state.logins.check(&keys).await {
        state.metrics.login("locked");
        audit(
            &state,
            Audit::new("auth.login", "user")
                .client(&client)
                .failed("too many failed logins: locked")
                .values(None, Some(serde_json::json!({ "email": email }))),
        )
        .await?;
        return Err(ApiError::new(ErrorCode::RateLimited, "too many failed logins; try again later").retry_after(wait));
    }
    let credentials = state.store.user_credentials(&email).await?;
    let (hash, user) = match credentials {
        Some(c) => (c.password_hash, Some(c.user)),
        None => (auth::dummy_hash().to_string(), None),
    };
    let matches = auth::verify_password(body.password, hash).await;
    match user {
        Some(user) if matches && user.active => {
            state.logins.succeeded(&account_key).await;
            state.store.record_login(&user.id, Timestamp::now()).await?;
            let pair = issue_pair(&state, &user, None, &client).await?;
            state.metrics.login("success");
            audit(&state, Audit::new("auth.login", "user").actor(&user.id).resource(&user.id).client(&client)).await?;
            Ok(pair_response(&state, &headers, pair, body.session))
        }
        user => {
            let delay = state.logins.failed(&keys).await;
            state.metrics.login("failure");
            let reason = match &user {
                Some(u) if !u.active && matches => "the account is disabled",
                Some(_) => "wrong password",
                None => "unknown email",
            };
            let mut entry = Audit::new("auth.login", "user")
                .client(&client)
                .failed(reason)
                .values(None, Some(serde_json::json!({ "email": email })));
            if let Some(u) = &user {
                entry = entry.actor(&u.id).resource(&u.id);
            }
            audit(&state, entry).await?;
            tokio::time::sleep(delay).await;
            Err(ApiError::new(ErrorCode::Unauthenticated, "the email or password is wrong, or the account is disabled"))
        }
    }
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair),
              (status = 401, body = crate::error::ErrorBody, description = "unknown, expired, or already used (the whole login is then revoked)")))]
pub async fn refresh(
    State(state): State<Arc<AppState>>,
    client: ClientInfo,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<RefreshRequest>,
) -> ApiResult<Response> {
    let (presented, kind) = match body {
        Some(b) => (b.refresh_token, SessionKind::Token),
        None => {
            let Some(token) = cookie_token(&headers) else {
                return Err(ApiError::new(ErrorCode::Unauthenticated, "no refresh token: send one, or sign in again"));
            };
            if !has_csrf_header(&headers) {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "a cookie refresh needs the header X-DataGenie-CSRF: 1",
                ));
            }
            (token, SessionKind::Cookie)
        }
    };
    match rotate(&state, &client, &presented).await {
        Ok(pair) => Ok(pair_response(&state, &headers, pair, kind)),
        Err(e) if kind == SessionKind::Cookie => {
            // A cookie that no longer works is removed, so the page stops presenting it.
            let mut response = e.into_response();
            response.headers_mut().insert(header::SET_COOKIE, refresh_cookie(&state, &headers, None));
            Ok(response)
        }
        Err(e) => Err(e),
    }
}

/// Trades a refresh token for a new pair (see [`refresh`]).
async fn rotate(state: &Arc<AppState>, client: &ClientInfo, presented: &str) -> ApiResult<TokenPair> {
    let replacement = auth::new_refresh_token()?;
    let now = Timestamp::now();
    let expires_at =
        now.plus(time::Duration::seconds(i64::try_from(state.refresh_ttl.as_secs()).unwrap_or(i64::MAX / 4)));
    let rotation = state
        .store
        .rotate_refresh_token(
            &auth::secret_hash(presented.trim()),
            NewRefreshToken {
                user_id: String::new(),
                family_id: String::new(),
                token_hash: auth::secret_hash(&replacement),
                expires_at,
                device_info: device_info(client),
            },
            now,
        )
        .await?;
    let invalid = |why: &str| ApiError::new(ErrorCode::Unauthenticated, why);
    match rotation {
        Rotation::Rotated { user_id, family_id } => {
            let user = state
                .store
                .user(&user_id)
                .await?
                .filter(|u| u.active)
                .ok_or_else(|| invalid("the account is disabled"))?;
            Ok(TokenPair {
                access_token: state.tokens.issue(&user, &family_id)?,
                refresh_token: Some(replacement),
                token_type: "Bearer",
                expires_in: state.tokens.ttl.as_secs(),
            })
        }
        Rotation::Reused { user_id, family_id } => {
            audit(
                state,
                Audit::new("auth.refresh_reuse", "refresh_token")
                    .actor(&user_id)
                    .resource(&family_id)
                    .client(client)
                    .failed("a refresh token was presented twice: every token of its login is revoked"),
            )
            .await?;
            Err(invalid("this refresh token was already used; the login is revoked, sign in again"))
        }
        Rotation::Expired => Err(invalid("the refresh token has expired; sign in again")),
        Rotation::Unknown => Err(invalid("the refresh token is not valid")),
    }
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = LogoutRequest,
    responses((status = 204, description = "the login's refresh tokens are revoked")))]
pub async fn logout(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<LogoutRequest>,
) -> ApiResult<Response> {
    let cookie = cookie_token(&headers);
    let token = body.and_then(|b| b.refresh_token).or_else(|| cookie.clone());
    if let Some(token) = token {
        if let Some((family, owner)) = state.store.refresh_token_family(&auth::secret_hash(token.trim())).await?
            && owner == auth.user().id
        {
            state.store.revoke_family(&family, Timestamp::now()).await?;
        }
    } else if let Some(family) = auth.session_family() {
        state.store.revoke_family(&family, Timestamp::now()).await?;
    }
    audit(&state, Audit::new("auth.logout", "user").caller(&auth).resource(&auth.user().id)).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if cookie.is_some() {
        response.headers_mut().insert(header::SET_COOKIE, refresh_cookie(&state, &headers, None));
    }
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = User)))]
pub async fn me(auth: Auth) -> JsonOut<User> {
    JsonOut(auth.caller.user)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    pub full_name: Option<String>,
    pub preferences: Option<serde_json::Value>,
    /// With `current_password`: changes the password and ends every other login.
    pub password: Option<String>,
    pub current_password: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/me", tag = "auth", request_body = MePatch, responses((status = 200, body = User)))]
pub async fn update_me(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Json(body): Json<MePatch>,
) -> ApiResult<JsonOut<User>> {
    let user = auth.user().clone();
    if let Some(password) = body.password {
        auth::validate_password(&password)?;
        let current = body
            .current_password
            .ok_or_else(|| ApiError::bad_request("changing the password needs current_password"))?;
        let stored = state.store.user_credentials(&user.email).await?.map(|c| c.password_hash).unwrap_or_default();
        if !auth::verify_password(current, stored).await {
            return Err(ApiError::new(ErrorCode::Forbidden, "the current password is wrong"));
        }
        state.store.set_password_hash(&user.id, &auth::hash_password(password).await?).await?;
        state.store.revoke_user_tokens(&user.id, Timestamp::now()).await?;
        audit(&state, Audit::new("user.password", "user").caller(&auth).resource(&user.id)).await?;
    }
    if body.preferences.as_ref().is_some_and(|p| !p.is_object()) {
        return Err(ApiError::bad_request("preferences must be a JSON object"));
    }
    let patch =
        UserPatch { full_name: body.full_name.map(Some), preferences: body.preferences, ..UserPatch::default() };
    Ok(JsonOut(state.store.update_user(&user.id, patch).await?))
}

// --- API keys

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    pub name: String,
    /// `read`, `ask`, `write`; none: everything the owner may do.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// RFC 3339.
    pub expires_at: Option<String>,
}

/// A new key: `key` is shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedKey {
    pub key: String,
    #[serde(flatten)]
    pub api_key: ApiKey,
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", request_body = NewKeyRequest,
    responses((status = 201, body = CreatedKey)))]
pub async fn create_key(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Json(body): Json<NewKeyRequest>,
) -> ApiResult<(StatusCode, JsonOut<CreatedKey>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request("a key needs a name of 1 to 100 characters"));
    }
    if let Some(bad) = body.scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(ApiError::bad_request(format!("unknown scope '{bad}'; scopes are {}", SCOPES.join(", "))));
    }
    let expires_at = body.expires_at.as_deref().map(Timestamp::parse).transpose()?;
    if expires_at.as_ref().is_some_and(|at| *at <= Timestamp::now()) {
        return Err(ApiError::bad_request("expires_at is in the past"));
    }
    let (key, prefix) = auth::new_api_key()?;
    let created = state
        .store
        .create_api_key(NewApiKey {
            user_id: auth.user().id.clone(),
            name: name.to_string(),
            prefix,
            key_hash: auth::secret_hash(&key),
            scopes: body.scopes,
            expires_at,
        })
        .await?;
    audit(
        &state,
        Audit::new("api_key.create", "api_key").caller(&auth).resource(&created.id).values(
            None,
            Some(serde_json::json!({"name": created.name, "prefix": created.prefix, "scopes": created.scopes})),
        ),
    )
    .await?;
    Ok((StatusCode::CREATED, JsonOut(CreatedKey { key, api_key: created })))
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", params(ListQuery),
    responses((status = 200, body = inline(Listed<ApiKey>))))]
pub async fn list_keys(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<JsonOut<Listed<ApiKey>>> {
    Ok(JsonOut(state.store.list_api_keys(&auth.user().id, &page_of(&q)?).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_key(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    // Anyone revokes their own keys; an admin anyone's.
    let owner = if auth.is_admin() { None } else { Some(auth.user().id.as_str()) };
    let key = state.store.revoke_api_key(&id, owner, Timestamp::now()).await?;
    audit(
        &state,
        Audit::new("api_key.revoke", "api_key")
            .caller(&auth)
            .resource(&key.id)
            .values(Some(serde_json::json!({"name": key.name, "prefix": key.prefix, "owner": key.user_id})), None),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

crate::debug_without_secrets!(LoginRequest { email, session });

crate::debug_without_secrets!(TokenPair { token_type, expires_in });

crate::debug_without_secrets!(RefreshRequest {});

crate::debug_without_secrets!(LogoutRequest {});

crate::debug_without_secrets!(MePatch { full_name });

crate::debug_without_secrets!(CreatedKey { api_key });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let login = LoginRequest {
            email: "a@example.com".into(),
            password: "hunter2-secret".into(),
            session: SessionKind::Token,
        };
        let shown = format!("{login:?}");
        assert!(shown.contains("a@example.com") && !shown.contains("hunter2-secret"), "{shown}");
        let pair = TokenPair {
            access_token: "tok-A".into(),
            refresh_token: Some("tok-R".into()),
            token_type: "Bearer",
            expires_in: 9,
        };
        let shown = format!("{pair:?}");
        assert!(!shown.contains("tok-A") && !shown.contains("tok-R"), "{shown}");
        let refresh = RefreshRequest { refresh_token: "dgr_secret".into() };
        assert!(!format!("{refresh:?}").contains("dgr_secret"));
        let patch = MePatch {
            full_name: None,
            preferences: None,
            password: Some("p-secret".into()),
            current_password: Some("c-secret".into()),
        };
        let shown = format!("{patch:?}");
        assert!(!shown.contains("p-secret") && !shown.contains("c-secret"), "{shown}");
    }
}
