//! Usage (tokens and cost), the audit log and the system settings.

use std::sync::Arc;

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use datagenie_store::model::{AuditEntry, AuditFilter, Setting, UsageGroup, UsageRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Audit, audit};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::routes::{Listed, page};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// `day` (default), `model` or `user`.
    pub group_by: Option<String>,
    /// A user's id (admins); `all` for everyone (admins). Default: yourself.
    pub user_id: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageReport {
    pub group_by: String,
    pub rows: Vec<UsageRow>,
}

fn moment(text: Option<&str>) -> ApiResult<Option<datagenie_store::model::Timestamp>> {
    text.map(crate::routes::history::moment).transpose()
}

#[utoipa::path(get, path = "/api/v1/usage", tag = "usage", params(UsageQuery), responses((status = 200, body = UsageReport)))]
pub async fn usage(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(q): Query<UsageQuery>,
) -> ApiResult<JsonOut<UsageReport>> {
    let group = match q.group_by.as_deref().unwrap_or("day") {
        "day" => UsageGroup::Day,
        "model" => UsageGroup::Model,
        "user" => UsageGroup::User,
        "api_key" => UsageGroup::ApiKey,
        other => return Err(ApiError::bad_request(format!("group_by '{other}': use day, model, user or api_key"))),
    };
    let user = match q.user_id.as_deref() {
        None => Some(auth.user().id.clone()),
        Some(id) if id == auth.user().id => Some(id.to_string()),
        Some(_) if !auth.is_admin() => return Err(ApiError::forbidden("only an admin may see others' usage")),
        Some("all") => None,
        Some(id) => Some(id.to_string()),
    };
    let rows = state
        .store
        .usage_report(user.as_deref(), group, moment(q.since.as_deref())?, moment(q.until.as_deref())?)
        .await?;
    Ok(JsonOut(UsageReport { group_by: q.group_by.unwrap_or_else(|| "day".into()), rows }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
    pub user_id: Option<String>,
    /// e.g. `question.ask`, `auth.login`, `user.update`.
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, body = inline(Listed<AuditEntry>))))]
pub async fn audit_log(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(q): Query<AuditQuery>,
) -> ApiResult<JsonOut<Listed<AuditEntry>>> {
    auth.require_admin()?;
    let filter = AuditFilter {
        user_id: q.user_id,
        action: q.action,
        resource_type: q.resource_type,
        since: moment(q.since.as_deref())?,
        until: moment(q.until.as_deref())?,
    };
    Ok(JsonOut(state.store.list_audit(&filter, &page(q.limit, q.cursor)?).await?.into()))
}

/// The audit chain's state: intact with `rows` rows, or broken at row `broken_at` (the first break).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerification {
    pub ok: bool,
    /// Rows checked and found intact (before the break, when there is one).
    pub rows: i64,
    /// The `seq` of the first broken row (absent when intact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<i64>,
    /// The broken row's id (absent when intact, or when the row is missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What is wrong with it (absent when intact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Walks the whole audit chain, as `datagenie audit verify` does.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = AuditVerification), (status = 403, body = crate::error::ErrorBody)))]
pub async fn verify_audit(State(state): State<Arc<AppState>>, auth: Auth) -> ApiResult<JsonOut<AuditVerification>> {
    auth.require_admin()?;
    Ok(JsonOut(match state.store.verify_audit().await? {
        Ok(rows) => AuditVerification { ok: true, rows, broken_at: None, id: None, reason: None },
        Err(b) => {
            AuditVerification { ok: false, rows: b.intact, broken_at: Some(b.seq), id: b.id, reason: Some(b.reason) }
        }
    }))
}

/// A setting as the API shows it: a sensitive value is never returned.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingView {
    pub key: String,
    /// `null` when sensitive.
    pub value: serde_json::Value,
    pub description: Option<String>,
    pub category: String,
    pub sensitive: bool,
    pub updated_at: datagenie_store::model::Timestamp,
}

impl From<Setting> for SettingView {
    fn from(s: Setting) -> Self {
        SettingView {
            value: if s.sensitive { serde_json::Value::Null } else { s.value },
            key: s.key,
            description: s.description,
            category: s.category,
            sensitive: s.sensitive,
            updated_at: s.updated_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", responses((status = 200, body = inline(Listed<SettingView>))))]
pub async fn settings(State(state): State<Arc<AppState>>, auth: Auth) -> ApiResult<JsonOut<Listed<SettingView>>> {
    auth.require_admin()?;
    let items = state.store.settings().await?.into_iter().map(SettingView::from).collect();
    Ok(JsonOut(Listed { items, next_cursor: None }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingRequest {
    pub value: serde_json::Value,
}

#[utoipa::path(put, path = "/api/v1/settings/{key}", tag = "settings", params(("key" = String, Path)), request_body = SettingRequest,
    responses((status = 200, body = SettingView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn put_setting(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(key): Path<String>,
    Json(body): Json<SettingRequest>,
) -> ApiResult<JsonOut<SettingView>> {
    auth.require_admin()?;
    let before = state.store.setting(&key).await?.ok_or_else(|| ApiError::not_found(format!("setting '{key}'")))?;
    check_setting(&key, &before.value, &body.value)?;
    let after = state.store.set_setting(&key, body.value, Some(&auth.user().id)).await?;
    state.reload_runtime().await?;
    let shown = |s: &Setting| if s.sensitive { serde_json::json!("[redacted]") } else { s.value.clone() };
    audit(
        &state,
        Audit::new("setting.update", "system_setting").caller(&auth).resource(&key).values(
            Some(serde_json::json!({"value": shown(&before)})),
            Some(serde_json::json!({"value": shown(&after)})),
        ),
    )
    .await?;
    Ok(JsonOut(after.into()))
}

/// The most a `max_export_rows` setting may allow.
pub const MAX_EXPORT_ROWS: i64 = 10_000_000;

/// A new value keeps the old one's type; limits and rates are whole numbers ≥ 0 (token limits may be null: none).
fn check_setting(key: &str, old: &serde_json::Value, new: &serde_json::Value) -> ApiResult<()> {
    if key == "tiers" {
        return datagenie_app::billing::parse_tiers(new).map(|_| ()).map_err(ApiError::from);
    }
    if key == "max_export_rows" && !new.as_i64().is_some_and(|n| (1..=MAX_EXPORT_ROWS).contains(&n)) {
        return Err(ApiError::bad_request("max_export_rows is a whole number from 1 to 10,000,000"));
    }
    if key == "credits_per_question" && !new.as_i64().is_some_and(|n| (0..=1_000_000).contains(&n)) {
        return Err(ApiError::bad_request("credits_per_question is a whole number from 0 to 1,000,000"));
    }
    if datagenie_store::retention::is_setting(key) && datagenie_store::retention::valid_days(new).is_none() {
        return Err(ApiError::bad_request(format!(
            "{key} is a whole number of days from 0 (keep forever) to {}",
            datagenie_store::retention::MAX_DAYS
        )));
    }
    let nullable = key.starts_with("default_") && key.ends_with("_token_limit");
    let same_type = match (old, new) {
        (_, serde_json::Value::Null) => nullable,
        (serde_json::Value::Number(_), serde_json::Value::Number(n)) => {
            !(key.contains("limit") || key.contains("per_") || key.starts_with("max_")) || n.as_u64().is_some()
        }
        (serde_json::Value::Null, serde_json::Value::Number(n)) => nullable && n.as_u64().is_some(),
        (serde_json::Value::String(_), serde_json::Value::String(_))
        | (serde_json::Value::Bool(_), serde_json::Value::Bool(_)) => true,
        _ => false,
    };
    if same_type {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("'{key}' does not take that value (its type is that of {old})")))
    }
}

crate::debug_without_secrets!(SettingRequest {});
