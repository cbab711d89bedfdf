//! `/api/v1/knowledge`: what an organisation teaches DataGenie about one of its databases — glossary terms (with an
//! SQL expression each, if wanted), table and column descriptions, documents — for the LLM's prompt. Admins add,
//! replace and remove items; everyone who may ask on a connection lists its items and searches them (the retrieval a
//! question gets: terms, documentation chunks and verified examples, with their scores).
//!
//! Items are filed under the database's connection key (the key templates use), so two stored connections to one
//! database share them, and `datagenie knowledge` at the command line sees the same items. Every item is checked by
//! the core's validators, whichever door it comes in by (`invalid_knowledge`, 422).

use std::sync::Arc;

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use datagenie_app::access::access_for;
use datagenie_app::knowledge::Library;
use datagenie_core::ErrorCode;
use datagenie_core::guard::Policy;
use datagenie_core::knowledge::{
    Description, Document, GlossaryEntry, RetrieveLimits, Retrieved, validate_description, validate_document,
    validate_entry,
};
use datagenie_store::model::Connection;
use datagenie_store::{KnowledgeItem, KnowledgeKind, KnowledgeStore, NewKnowledgeItem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Audit, audit};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::routes::Listed;
use crate::routes::connections::visible_connection;
use crate::routes::templates::key_of;
use crate::state::AppState;

/// The largest request body `POST /knowledge` accepts: a document of the most a document may hold
/// ([`datagenie_core::knowledge::MAX_DOCUMENT_BYTES`], 1 MiB) written as JSON, whose escapes can double it, and the
/// rest of the body. Above the server's `max_body_bytes` only for this route; bigger bodies are 413.
pub const MAX_REQUEST_BYTES: usize = 2 * datagenie_core::knowledge::MAX_DOCUMENT_BYTES + 64 * 1024;

/// The library of the server, with its store.
fn library(state: &AppState) -> ApiResult<&Arc<Library>> {
    state
        .questions
        .context
        .library
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::SystemDatabase, "knowledge is not available on this server"))
}

fn store(state: &AppState) -> ApiResult<KnowledgeStore> {
    library(state)?
        .store
        .clone()
        .ok_or_else(|| ApiError::new(ErrorCode::SystemDatabase, "knowledge is not available on this server"))
}

fn kind_of(text: Option<&str>) -> ApiResult<Option<KnowledgeKind>> {
    Ok(text.map(str::trim).filter(|k| !k.is_empty()).map(KnowledgeKind::parse).transpose()?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeQuery {
    /// The connection's id or name.
    pub connection: Option<String>,
    /// `glossary`, `description` or `document`; absent: all.
    pub kind: Option<String>,
}

fn connection_param(connection: Option<&str>) -> ApiResult<&str> {
    connection
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad_request("give connection: the id or name of the connection"))
}

/// A connection's items, by kind (glossary, description, document) then name. Anyone who may ask on the connection.
#[utoipa::path(get, path = "/api/v1/knowledge", tag = "knowledge", params(KnowledgeQuery),
    responses((status = 200, body = inline(Listed<KnowledgeItem>)),
        (status = 400, body = crate::error::ErrorBody, description = "no connection given, or an unknown kind"),
        (status = 404, body = crate::error::ErrorBody, description = "no such connection, or not yours to see")))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(q): Query<KnowledgeQuery>,
) -> ApiResult<JsonOut<Listed<KnowledgeItem>>> {
    let kind = kind_of(q.kind.as_deref())?;
    let c = visible_connection(&state, &auth, connection_param(q.connection.as_deref())?).await?;
    let key = key_of(&state, &c).await?;
    let store = store(&state)?;
    let items = store.list(&key, kind).await?;
    Ok(JsonOut(Listed { items, next_cursor: None }))
}

/// A new item (or the replacement of the item of the same connection, kind and name). `connection` and `kind`, and
/// the fields of the kind:
/// - `glossary`: `term`, `synonyms` (optional), `definition` and/or `sql` (an SQL expression), `table` (optional);
/// - `description`: `table`, `column` (optional: a table's description without it), `text`;
/// - `document`: `title`, `text` (Markdown or plain text, at most 1 MiB).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct NewKnowledgeDoc {
    /// The connection's id or name.
    connection: String,
    /// `glossary`, `description` or `document`.
    kind: String,
    term: Option<String>,
    synonyms: Option<Vec<String>>,
    definition: Option<String>,
    sql: Option<String>,
    table: Option<String>,
    column: Option<String>,
    title: Option<String>,
    text: Option<String>,
}

/// The body's item as stored — its name and its body, trimmed and validated — from the body's other fields.
fn item_of(
    kind: KnowledgeKind,
    fields: serde_json::Map<String, serde_json::Value>,
) -> ApiResult<(String, serde_json::Value)> {
    let fields = serde_json::Value::Object(fields);
    let misfit = |e: serde_json::Error| ApiError::bad_request(format!("the body does not fit a {kind}: {e}"));
    match kind {
        KnowledgeKind::Glossary => {
            let e: GlossaryEntry = serde_json::from_value(fields).map_err(misfit)?;
            let term = e.term.trim().to_string();
            let entry = GlossaryEntry {
                synonyms: datagenie_core::knowledge::tidy_synonyms(&term, e.synonyms),
                term,
                definition: e.definition.trim().to_string(),
                sql: e.sql.map(|s| s.trim().to_string()),
                table: e.table.map(|t| t.trim().to_string()),
            };
            validate_entry(&entry)?;
            Ok((entry.term.clone(), json_of(&entry)?))
        }
        KnowledgeKind::Description => {
            let d: Description = serde_json::from_value(fields).map_err(misfit)?;
            let d = Description {
                table: d.table.trim().to_string(),
                column: d.column.map(|c| c.trim().to_string()),
                text: d.text.trim().to_string(),
            };
            validate_description(&d)?;
            let name = match &d.column {
                Some(c) => format!("{}.{c}", d.table),
                None => d.table.clone(),
            };
            Ok((name, json_of(&d)?))
        }
        KnowledgeKind::Document => {
            let d: Document = serde_json::from_value(fields).map_err(misfit)?;
            let d = Document { title: d.title.trim().to_string(), text: d.text };
            validate_document(&d)?;
            Ok((d.title.clone(), json_of(&d)?))
        }
    }
}

fn json_of(item: &impl Serialize) -> ApiResult<serde_json::Value> {
    serde_json::to_value(item)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("cannot write the item as JSON: {e}")))
}

/// A required text field of the body, taken out of it.
fn take_text(fields: &mut serde_json::Map<String, serde_json::Value>, name: &str) -> ApiResult<String> {
    match fields.remove(name) {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(serde_json::Value::String(_)) | None => Err(ApiError::bad_request(format!("'{name}' is required"))),
        Some(other) => Err(ApiError::bad_request(format!("'{name}' must be text, not {other}"))),
    }
}

/// Adds an item, or replaces the body of the item with the same connection, kind and name. Admins only.
#[utoipa::path(post, path = "/api/v1/knowledge", tag = "knowledge", request_body = NewKnowledgeDoc,
    responses((status = 201, body = KnowledgeItem, description = "added"),
        (status = 200, body = KnowledgeItem, description = "replaced the item of the same kind and name"),
        (status = 400, body = crate::error::ErrorBody, description = "invalid_argument: an unknown kind or field"),
        (status = 403, body = crate::error::ErrorBody, description = "not an admin"),
        (status = 404, body = crate::error::ErrorBody, description = "no such connection"),
        (status = 413, body = crate::error::ErrorBody, description = "payload_too_large"),
        (status = 422, body = crate::error::ErrorBody, description = "invalid_knowledge: a field out of its bounds")))]
pub async fn add(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Json(body): Json<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<(StatusCode, JsonOut<KnowledgeItem>)> {
    auth.require_admin()?;
    let mut fields = body;
    let connection = take_text(&mut fields, "connection")?;
    let kind = KnowledgeKind::parse(take_text(&mut fields, "kind")?.trim())?;
    let (name, body) = item_of(kind, fields)?;
    let c = visible_connection(&state, &auth, connection.trim()).await?;
    let key = key_of(&state, &c).await?;
    let store = store(&state)?;
    let new = NewKnowledgeItem { connection: key.clone(), kind, name, body, created_by: Some(auth.user().id.clone()) };
    let (item, created) = store.upsert(new).await?;
    library(&state)?.forget(&key);
    audit(
        &state,
        Audit::new("knowledge.add", "knowledge_item").caller(&auth).resource(&item.id).values(
            None,
            Some(serde_json::json!({
                "connection_id": c.id, "kind": kind.as_str(), "name": item.name, "created": created,
            })),
        ),
    )
    .await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, JsonOut(item)))
}

/// Removes an item. Admins only.
#[utoipa::path(delete, path = "/api/v1/knowledge/{id}", tag = "knowledge", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn remove(State(state): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    auth.require_admin()?;
    let store = store(&state)?;
    let not_found = || ApiError::not_found(format!("knowledge item '{id}'"));
    let item = store.get(&id).await?.ok_or_else(not_found)?;
    let removed = store.remove(&item.id).await?;
    if !removed {
        return Err(not_found());
    }
    library(&state)?.forget(&item.connection);
    audit(
        &state,
        Audit::new("knowledge.remove", "knowledge_item").caller(&auth).resource(&item.id).values(
            Some(serde_json::json!({"connection": item.connection, "kind": item.kind.as_str(), "name": item.name})),
            None,
        ),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// The connection's id or name.
    pub connection: Option<String>,
    /// The question.
    pub q: Option<String>,
}

/// What a question retrieves: each list best first, each item with its score and the path(s) that found it
/// (`lexical`, `semantic`, `both`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    /// Verified question/SQL pairs (templates and verified answers) whose SQL you may run.
    #[schema(value_type = Vec<Object>)]
    pub examples: Vec<datagenie_core::knowledge::Scored<datagenie_core::knowledge::Example>>,
    /// Glossary terms.
    #[schema(value_type = Vec<Object>)]
    pub glossary: Vec<datagenie_core::knowledge::Scored<GlossaryEntry>>,
    /// Pieces of documents.
    #[schema(value_type = Vec<Object>)]
    pub chunks: Vec<datagenie_core::knowledge::Scored<datagenie_core::knowledge::Chunk>>,
    /// Whether the question was embedded (an embeddings endpoint is configured and answered): semantic retrieval
    /// took part. `false`: lexical only.
    pub semantic: bool,
    /// Tokens the embeddings endpoint counted for this search (the question, and items embedded for the first time).
    pub embedding_tokens: u64,
}

/// The longest question a search takes, in characters (a question's own limit).
const MAX_QUERY_CHARS: usize = 2000;

/// The knowledge a question would be given: the library's retrieval on the connection's items, verified templates
/// and verified answers, with the limits a prompt uses. Examples whose SQL the caller's grant would refuse are left
/// out, as the pipeline leaves them out of the caller's prompt. Anyone who may ask on the connection; counted in the
/// caller's question rate (it may call the embeddings endpoint).
#[utoipa::path(get, path = "/api/v1/knowledge/search", tag = "knowledge", params(SearchQuery),
    responses((status = 200, body = SearchResult),
        (status = 400, body = crate::error::ErrorBody, description = "no connection or question given"),
        (status = 404, body = crate::error::ErrorBody, description = "no such connection, or not yours to see")))]
pub async fn search(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(q): Query<SearchQuery>,
) -> ApiResult<JsonOut<SearchResult>> {
    let question = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let question = question.ok_or_else(|| ApiError::bad_request("give q: the question to search knowledge for"))?;
    if question.chars().nth(MAX_QUERY_CHARS).is_some() {
        return Err(ApiError::bad_request(format!("q is longer than {MAX_QUERY_CHARS} characters")));
    }
    let c = visible_connection(&state, &auth, connection_param(q.connection.as_deref())?).await?;
    crate::routes::ask::check_rate(&state, &auth).await?;
    let library = library(&state)?.clone();
    let policy = policy_of(&state, &auth, &c).await?;
    let open = state.questions.registry.get(&c).await?;
    let (schema, _) = state.questions.context.schema(&open).await?;
    let policy = if policy.restricts_columns() { policy.with_schema(&schema) } else { policy };

    let mut spend = Vec::new();
    let index = library.index_for(&open.key, Some(&c.id), &mut spend).await;
    let vector =
        if index.vector_count() > 0 { library.embed_question(question, &index, &mut spend).await } else { None };
    let Retrieved { mut examples, glossary, chunks } =
        index.retrieve(question, vector.as_deref(), &RetrieveLimits::default());
    // The pipeline's rule: an example whose SQL the caller may not run would show what they may not read.
    examples.retain(|e| datagenie_app::ask::example_allowed(&e.item.sql, schema.dialect, &policy));
    Ok(JsonOut(SearchResult {
        examples,
        glossary,
        chunks,
        semantic: vector.is_some(),
        embedding_tokens: spend.iter().map(|s| s.usage.prompt_tokens + s.usage.completion_tokens).sum(),
    }))
}

/// The caller's policy on `c`, with their attributes bound: what the pipeline checks their SQL against.
async fn policy_of(state: &AppState, auth: &Auth, c: &Connection) -> ApiResult<Policy> {
    let permission = state.store.permission(&auth.user().id, &c.id).await?;
    let access = access_for(auth.user(), &c.name, permission.as_ref())?;
    let mut policy = access.policy;
    for (name, value) in access.requester.attributes {
        policy = policy.user_attribute(&name, value);
    }
    Ok(policy)
}
