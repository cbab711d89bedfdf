//! `/api/v1/users`: admins manage accounts. Every change is audited with its old and new values.

use std::sync::Arc;

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use datagenie_core::ErrorCode;
use datagenie_store::model::{NewUser, Role, Timestamp, TokenLimits, User, UserPatch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Audit, audit};
use crate::auth::{self, Auth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::routes::{ListQuery, Listed, page_of};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    pub email: String,
    /// Default: the part of the email before `@`.
    pub username: Option<String>,
    pub password: String,
    /// `admin`, `user` or `viewer` (default `user`).
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    pub full_name: Option<String>,
}

/// Parses and checks an email address (one `@`, something on each side, no spaces).
pub fn valid_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && !email.chars().any(char::is_whitespace);
    if ok { Ok(email) } else { Err(ApiError::bad_request("the email address is not valid")) }
}

/// Creates a user (the CLI's `user create` does the same through [`create_user_record`]).
pub async fn create_user_record(
    store: &dyn datagenie_store::Store,
    email: &str,
    username: Option<&str>,
    password: String,
    role: Role,
    full_name: Option<String>,
    limits: TokenLimits,
) -> Result<User, ApiError> {
    let email = valid_email(email)?;
    // Default: the email's local part, or the whole address when that is shorter than a username may be.
    let username = match username.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => u.to_string(),
        None => {
            let local = email.split('@').next().unwrap_or_default();
            if local.chars().count() >= 3 { local.to_string() } else { email.clone() }
        }
    };
    let n = username.chars().count();
    if !(3..=50).contains(&n) || username.chars().any(char::is_whitespace) {
        return Err(ApiError::bad_request("a username is 3 to 50 characters without spaces"));
    }
    auth::validate_password(&password)?;
    let password_hash = auth::hash_password(password).await?;
    Ok(store.create_user(NewUser { username, email, password_hash, full_name, role, limits }).await?)
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserRequest,
    responses((status = 201, body = User), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Json(body): Json<NewUserRequest>,
) -> ApiResult<(StatusCode, JsonOut<User>)> {
    auth.require_admin()?;
    let user = create_user_record(
        state.store.as_ref(),
        &body.email,
        body.username.as_deref(),
        body.password,
        body.role.unwrap_or(Role::User),
        body.full_name,
        state.runtime().default_limits,
    )
    .await?;
    audit(
        &state,
        Audit::new("user.create", "user")
            .caller(&auth)
            .resource(&user.id)
            .values(None, serde_json::to_value(&user).ok()),
    )
    .await?;
    Ok((StatusCode::CREATED, JsonOut(user)))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListQuery), responses((status = 200, body = inline(Listed<User>))))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<JsonOut<Listed<User>>> {
    auth.require_admin()?;
    Ok(JsonOut(state.store.list_users(&page_of(&q)?).await?.into()))
}

async fn user_or_404(state: &AppState, id: &str) -> ApiResult<User> {
    state.store.user(id).await?.ok_or_else(|| ApiError::not_found(format!("user '{id}'")))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)), responses((status = 200, body = User)))]
pub async fn get(State(state): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<JsonOut<User>> {
    if !auth.is_admin() && auth.user().id != id {
        return Err(ApiError::forbidden("only an admin may see other users"));
    }
    Ok(JsonOut(user_or_404(&state, &id).await?))
}

/// A change to a user; a limit of `null` removes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchRequest {
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub full_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub hourly_token_limit: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub daily_token_limit: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<i64>)]
    pub monthly_token_limit: Option<Option<i64>>,
    /// A new password (the user's logins end).
    pub password: Option<String>,
    /// The user's tier: one of the `tiers` setting's.
    pub tier: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)), request_body = UserPatchRequest,
    responses((status = 200, body = User)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<UserPatchRequest>,
) -> ApiResult<JsonOut<User>> {
    auth.require_admin()?;
    let before = user_or_404(&state, &id).await?;
    for limit in
        [body.hourly_token_limit, body.daily_token_limit, body.monthly_token_limit].into_iter().flatten().flatten()
    {
        if limit < 0 {
            return Err(ApiError::bad_request("token limits are zero or more (null: no limit)"));
        }
    }
    // The last active admin stays an active admin.
    let demoted = body.role.is_some_and(|r| r != Role::Admin) || body.active == Some(false);
    if before.role == Role::Admin && before.active && demoted && state.store.count_admins().await? <= 1 {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            "this is the last active admin; make another admin first",
        ));
    }
    if let Some(tier) = &body.tier {
        let tiers = state.runtime().billing.tiers;
        if !tiers.contains_key(tier) {
            let known: Vec<&str> = tiers.keys().map(String::as_str).collect();
            return Err(ApiError::bad_request(format!("no tier '{tier}' (the tiers: {})", known.join(", "))));
        }
    }
    if let Some(password) = body.password {
        auth::validate_password(&password)?;
        state.store.set_password_hash(&id, &auth::hash_password(password).await?).await?;
        state.store.revoke_user_tokens(&id, Timestamp::now()).await?;
    }
    let patch = UserPatch {
        role: body.role,
        active: body.active,
        full_name: body.full_name,
        hourly_token_limit: body.hourly_token_limit,
        daily_token_limit: body.daily_token_limit,
        monthly_token_limit: body.monthly_token_limit,
        preferences: None,
        tier: body.tier,
    };
    let after = state.store.update_user(&id, patch).await?;
    if !after.active {
        state.store.revoke_user_tokens(&id, Timestamp::now()).await?;
    }
    audit(
        &state,
        Audit::new("user.update", "user")
            .caller(&auth)
            .resource(&id)
            .values(serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()),
    )
    .await?;
    Ok(JsonOut(after))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)), responses((status = 204)))]
pub async fn delete(State(state): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    auth.require_admin()?;
    let before = user_or_404(&state, &id).await?;
    if before.id == auth.user().id {
        return Err(ApiError::bad_request("you cannot delete your own account"));
    }
    if before.role == Role::Admin && before.active && state.store.count_admins().await? <= 1 {
        return Err(ApiError::bad_request("this is the last active admin"));
    }
    state.store.delete_user(&id).await?;
    audit(
        &state,
        Audit::new("user.delete", "user").caller(&auth).resource(&id).values(serde_json::to_value(&before).ok(), None),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

crate::debug_without_secrets!(NewUserRequest { email, username, role, full_name });

crate::debug_without_secrets!(UserPatchRequest {
    role,
    active,
    hourly_token_limit,
    daily_token_limit,
    monthly_token_limit
});

/// A user's credits: their tier, their balance and their latest ledger rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditsView {
    pub user_id: String,
    pub tier: String,
    /// Whether tiers and credits apply to this user now (the `billing_enabled` setting; admins are exempt unless
    /// `admins_exempt` is off).
    pub billing_applies: bool,
    pub balance: i64,
    pub last_granted_at: Option<Timestamp>,
    pub transactions: Vec<datagenie_store::model::CreditTransaction>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct CreditsQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// A user's credits (an admin: anyone's; a user: their own).
#[utoipa::path(get, path = "/api/v1/users/{id}/credits", tag = "users", params(("id" = String, Path), CreditsQuery),
    responses((status = 200, body = CreditsView)))]
pub async fn credits(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<CreditsQuery>,
) -> ApiResult<JsonOut<CreditsView>> {
    if !auth.is_admin() && auth.user().id != id {
        return Err(ApiError::forbidden("only an admin may see other users' credits"));
    }
    let user = user_or_404(&state, &id).await?;
    let balance = state.store.credit_balance(&id).await?;
    let page = datagenie_store::model::PageRequest { limit: q.limit.unwrap_or(50), cursor: q.cursor };
    let ledger = state.store.list_credit_transactions(&id, &page).await?;
    let billing = state.questions.billing();
    Ok(JsonOut(CreditsView {
        billing_applies: billing.applies_to(&user),
        user_id: user.id,
        tier: user.tier,
        balance: balance.as_ref().map_or(0, |b| b.balance),
        last_granted_at: balance.and_then(|b| b.last_granted_at),
        transactions: ledger.items,
        next_cursor: ledger.next_cursor,
    }))
}

/// Credits an admin grants (a positive amount) or takes back (a negative one; never below 0).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditGrant {
    pub amount: i64,
    pub description: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/users/{id}/credits", tag = "users", params(("id" = String, Path)),
    request_body = CreditGrant, responses((status = 201, body = datagenie_store::model::CreditTransaction),
    (status = 402, body = crate::error::ErrorBody)))]
pub async fn grant_credits(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<CreditGrant>,
) -> ApiResult<(StatusCode, JsonOut<datagenie_store::model::CreditTransaction>)> {
    auth.require_admin()?;
    if body.amount == 0 || body.amount.unsigned_abs() > 1_000_000_000 {
        return Err(ApiError::bad_request(
            "the amount is a whole number of credits, not 0, at most 1,000,000,000 either way",
        ));
    }
    let description =
        body.description.map(|d| d.trim().chars().take(500).collect::<String>()).filter(|d| !d.is_empty());
    user_or_404(&state, &id).await?;
    let row = state
        .store
        .apply_credits(datagenie_store::model::CreditChange {
            user_id: id.clone(),
            amount: body.amount,
            kind: datagenie_store::model::CreditKind::AdminAdjustment,
            history_id: None,
            description,
            by: Some(auth.user().id.clone()),
            monthly: None,
        })
        .await?;
    audit(
        &state,
        Audit::new("user.credits", "user")
            .caller(&auth)
            .resource(&id)
            .values(None, Some(serde_json::json!({"amount": row.amount, "balance_after": row.balance_after}))),
    )
    .await?;
    Ok((StatusCode::CREATED, JsonOut(row)))
}
