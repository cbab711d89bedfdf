//! `/api/v1/templates`: verified query templates saved from answered questions. Users and admins save them from
//! their own history; only admins verify (a verified template answers matching questions without the LLM, for
//! everyone on that connection); a template is private to its owner unless public. Viewers may list the public ones.

use std::sync::Arc;

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use datagenie_core::{Dialect, ErrorCode};
use datagenie_store::model::{Connection, Engine, QueryStatus};
use datagenie_store::{NewTemplate, Template};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Audit, audit};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, OptionalJson, Query};
use crate::routes::Listed;
use crate::routes::connections::visible_connection;
use crate::state::AppState;

pub(crate) fn store(state: &AppState) -> ApiResult<&datagenie_store::TemplateStore> {
    state
        .templates
        .as_deref()
        .ok_or_else(|| ApiError::new(ErrorCode::SystemDatabase, "templates are not available on this server"))
}

pub(crate) fn dialect_of(engine: Engine) -> Dialect {
    match engine {
        Engine::Sqlite | Engine::File => Dialect::Sqlite,
        Engine::Postgres => Dialect::Postgres,
        Engine::Mysql => Dialect::Mysql,
    }
}

/// The key templates of a stored connection are filed under (the same key `datagenie ask --db` uses), from its
/// URL, without connecting.
pub(crate) async fn key_of(state: &AppState, c: &Connection) -> ApiResult<String> {
    let url = state.store.connection_url(&c.id).await?;
    let target = datagenie_connectors::parse_target(url.expose())?;
    Ok(datagenie_app::database::key_of_target(&target)?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplateRequest {
    /// An answered question of yours (admins: anyone's).
    pub history_id: String,
    pub name: String,
    /// Phrasings that this template answers; default: the question as it was asked. Slots such as `{year:int}`
    /// need the SQL to use them, so a template saved from history answers its phrasings as written.
    #[serde(default)]
    pub questions: Vec<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    /// Visible to everyone on the connection (default: only to you and admins).
    #[serde(default)]
    pub public: bool,
    /// Admins only: verified at once.
    #[serde(default)]
    pub verified: bool,
}

#[utoipa::path(post, path = "/api/v1/templates", tag = "templates", request_body = NewTemplateRequest,
    responses((status = 201, body = Object, description = "the template"), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Json(body): Json<NewTemplateRequest>,
) -> ApiResult<(StatusCode, JsonOut<Template>)> {
    auth.require_user()?;
    if body.verified && !auth.is_admin() {
        return Err(ApiError::forbidden("only an admin may verify a template"));
    }
    let entry = state
        .store
        .history_entry(&body.history_id)
        .await?
        .filter(|e| auth.is_admin() || e.user_id == auth.user().id)
        .ok_or_else(|| ApiError::not_found(format!("history entry '{}'", body.history_id)))?;
    let (Some(sql), Some(connection_id)) = (entry.sql.clone(), entry.connection_id.clone()) else {
        return Err(ApiError::bad_request("that question has no SQL to save"));
    };
    if entry.status != QueryStatus::Success {
        return Err(ApiError::bad_request("only an answered question can become a template"));
    }
    let c = visible_connection(&state, &auth, &connection_id).await?;
    let questions = if body.questions.is_empty() { vec![entry.question.clone()] } else { body.questions };
    let new = NewTemplate {
        name: body.name,
        description: body.description,
        questions,
        sql,
        category: body.category,
        public: body.public,
        verified: body.verified,
        connection: key_of(&state, &c).await?,
        dialect: dialect_of(c.engine),
        owner: Some(auth.user().id.clone()),
    };
    let templates = state.templates.clone().ok_or_else(|| ApiError::new(ErrorCode::SystemDatabase, "no templates"))?;
    let template = templates.add(new).await?;
    forget_examples(&state, &template.connection);
    audit(
        &state,
        Audit::new("template.create", "query_template")
            .caller(&auth)
            .resource(&template.id)
            .values(None, serde_json::to_value(&template).ok()),
    )
    .await?;
    Ok((StatusCode::CREATED, JsonOut(template)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    /// A connection's id or name (required for non-admins).
    pub connection_id: Option<String>,
}

pub(crate) fn may_see(auth: &Auth, t: &Template) -> bool {
    auth.is_admin() || t.public || t.owner.as_deref() == Some(auth.user().id.as_str())
}

#[utoipa::path(get, path = "/api/v1/templates", tag = "templates", params(TemplateQuery),
    responses((status = 200, body = Object, description = "{items: [template], next_cursor: null}")))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(q): Query<TemplateQuery>,
) -> ApiResult<JsonOut<Listed<Template>>> {
    let key = match q.connection_id.as_deref() {
        Some(id) => Some(key_of(&state, &visible_connection(&state, &auth, id).await?).await?),
        None if auth.is_admin() => None,
        None => return Err(ApiError::bad_request("give connection_id: the templates of which connection?")),
    };
    let mut items = store(&state)?.list(key.as_deref()).await?;
    items.retain(|t| may_see(&auth, t));
    Ok(JsonOut(Listed { items, next_cursor: None }))
}

async fn template_or_404(state: &AppState, auth: &Auth, id: &str) -> ApiResult<Template> {
    store(state)?
        .get(id)
        .await?
        .filter(|t| may_see(auth, t))
        .ok_or_else(|| ApiError::new(ErrorCode::TemplateNotFound, format!("no template with the id '{id}'")))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    #[serde(default = "yes")]
    pub verified: bool,
}

fn yes() -> bool {
    true
}

#[utoipa::path(post, path = "/api/v1/templates/{id}/verify", tag = "templates", params(("id" = String, Path)),
    request_body = VerifyRequest, responses((status = 200, body = Object, description = "the template")))]
pub async fn verify(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<VerifyRequest>,
) -> ApiResult<JsonOut<Template>> {
    auth.require_admin()?;
    let verified = body.is_none_or(|b| b.verified);
    let before = template_or_404(&state, &auth, &id).await?;
    let after = store(&state)?.set_verified(&before.id, verified).await?;
    forget_examples(&state, &after.connection);
    audit(
        &state,
        Audit::new("template.verify", "query_template").caller(&auth).resource(&id).values(
            Some(serde_json::json!({"verified": before.verified})),
            Some(serde_json::json!({"verified": verified})),
        ),
    )
    .await?;
    Ok(JsonOut(after))
}

#[utoipa::path(delete, path = "/api/v1/templates/{id}", tag = "templates", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(State(state): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let t = template_or_404(&state, &auth, &id).await?;
    if !auth.is_admin() && t.owner.as_deref() != Some(auth.user().id.as_str()) {
        return Err(ApiError::forbidden("only its owner or an admin may delete a template"));
    }
    let removed = store(&state)?.remove(&t.id, None).await?;
    forget_examples(&state, &t.connection);
    audit(
        &state,
        Audit::new("template.delete", "query_template")
            .caller(&auth)
            .resource(&id)
            .values(serde_json::to_value(&removed).ok(), None),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A template added, verified or deleted changes its database's few-shot examples: the next question rebuilds them.
fn forget_examples(state: &AppState, key: &str) {
    if let Some(library) = &state.questions.context.library {
        library.forget(key);
    }
}
