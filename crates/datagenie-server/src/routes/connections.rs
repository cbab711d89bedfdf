//! `/api/v1/connections`: the databases people ask about. Admins add, change and remove them and grant access;
//! everyone else sees the ones granted to them, and of their schema only the granted part. A connection's URL is
//! stored encrypted and never returned: responses carry `display_url`, with the password removed.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use datagenie_app::access::{access_for, validate_permission, visible_schema};
use datagenie_core::guard::Policy;
use datagenie_core::pii::PiiKind;
use datagenie_core::schema::Schema;
use datagenie_core::secret::redact_url;
use datagenie_core::{ErrorCode, SecretUrl};
use datagenie_store::model::{
    Connection, ConnectionPatch, Engine, NewConnection, Permission, RowFilter, SchemaSnapshot, Timestamp,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{Audit, audit};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::routes::{ListQuery, Listed, page_of};
use crate::state::AppState;

/// A new connection: a `url` (`postgres://…`, `mysql://…`, a SQLite path), or its parts.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnectionRequest {
    /// Lower-case letters, digits, `-` and `_`; unique.
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    /// With parts instead of `url`: `sqlite`, `postgres` or `mysql`.
    #[schema(value_type = Option<String>)]
    pub engine: Option<Engine>,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// The database name, or for SQLite the file's path.
    pub database: Option<String>,
    pub username: Option<String>,
    /// Write-only: never returned.
    pub password: Option<String>,
    /// Extra URL parameters, e.g. `{"sslmode": "require"}`.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    pub pool_size: Option<i64>,
}

/// Never printed with its password.
impl std::fmt::Debug for NewConnectionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewConnectionRequest").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Percent-encodes a URL component (RFC 3986 unreserved characters kept).
fn encode(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for b in part.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The URL of a request given by parts.
fn url_from_parts(r: &NewConnectionRequest) -> ApiResult<String> {
    let engine = r.engine.ok_or_else(|| ApiError::bad_request("give either 'url' or 'engine' with its parts"))?;
    let database = r.database.as_deref().map(str::trim).filter(|d| !d.is_empty());
    if engine == Engine::Sqlite {
        return database
            .map(str::to_string)
            .ok_or_else(|| ApiError::bad_request("a SQLite connection needs 'database': the file's path"));
    }
    let host = r
        .host
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ApiError::bad_request("'host' is required"))?;
    let scheme = if engine == Engine::Postgres { "postgres" } else { "mysql" };
    let mut url = format!("{scheme}://");
    if let Some(user) = r.username.as_deref().filter(|u| !u.is_empty()) {
        url.push_str(&encode(user));
        if let Some(password) = r.password.as_deref().filter(|p| !p.is_empty()) {
            url.push(':');
            url.push_str(&encode(password));
        }
        url.push('@');
    }
    if host.contains(':') && !host.starts_with('[') {
        url.push_str(&format!("[{host}]"));
    } else {
        url.push_str(&encode(host).replace("%5B", "[").replace("%5D", "]"));
    }
    if let Some(port) = r.port {
        url.push_str(&format!(":{port}"));
    }
    if let Some(db) = database {
        url.push('/');
        url.push_str(&encode(db));
    }
    let query: Vec<String> = r.options.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    Ok(url)
}

/// The engine of a URL, checked by the connectors' own parser. A SQLite file must exist (it is opened read-only:
/// a missing file is a mistyped path, not a new database).
fn engine_of(url: &str) -> ApiResult<Engine> {
    Ok(match datagenie_connectors::parse_target(url)? {
        datagenie_connectors::Target::Sqlite(path) => {
            if !path.is_file() {
                return Err(ApiError::new(
                    ErrorCode::DatabaseNotFound,
                    format!("no SQLite file at {}", path.display()),
                ));
            }
            Engine::Sqlite
        }
        datagenie_connectors::Target::File(path) => {
            return Err(ApiError::bad_request(format!(
                "{} is a spreadsheet: a server reads spreadsheets it was sent, not files on its disk",
                path.display()
            )));
        }
        datagenie_connectors::Target::Postgres(_) => Engine::Postgres,
        datagenie_connectors::Target::Mysql(_) => Engine::Mysql,
    })
}

pub(crate) fn valid_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(ApiError::bad_request("a connection name is 1 to 100 lower-case letters, digits, '-' or '_'"))
    }
}

#[utoipa::path(post, path = "/api/v1/connections", tag = "connections", request_body = NewConnectionRequest,
    responses((status = 201, body = Connection), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Json(body): Json<NewConnectionRequest>,
) -> ApiResult<(StatusCode, JsonOut<Connection>)> {
    auth.require_admin()?;
    let name = valid_name(&body.name)?;
    let url = match body.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) if body.host.is_none() && body.password.is_none() && body.engine.is_none() => url.to_string(),
        Some(_) => return Err(ApiError::bad_request("give either 'url' or the parts, not both")),
        None => url_from_parts(&body)?,
    };
    let engine = engine_of(&url)?;
    let pool_size = body.pool_size.unwrap_or(4);
    if !(1..=100).contains(&pool_size) {
        return Err(ApiError::bad_request("pool_size is 1 to 100"));
    }
    let created = state
        .store
        .create_connection(NewConnection {
            file: None,
            display_name: body.display_name.filter(|d| !d.trim().is_empty()).unwrap_or_else(|| name.clone()),
            name,
            description: body.description,
            engine,
            display_url: redact_url(&url),
            url: SecretUrl::new(url),
            pool_size,
            created_by: Some(auth.user().id.clone()),
        })
        .await?;
    audit(
        &state,
        Audit::new("connection.create", "connection")
            .caller(&auth)
            .resource(&created.id)
            .values(None, serde_json::to_value(&created).ok()),
    )
    .await?;
    Ok((StatusCode::CREATED, JsonOut(created)))
}

#[utoipa::path(get, path = "/api/v1/connections", tag = "connections", params(ListQuery),
    responses((status = 200, body = inline(Listed<Connection>))))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<JsonOut<Listed<Connection>>> {
    let granted_to = if auth.is_admin() { None } else { Some(auth.user().id.as_str()) };
    let mut page = state.store.list_connections(granted_to, &page_of(&q)?).await?;
    if !auth.is_admin() {
        page.items.retain(|c| c.active);
    }
    Ok(JsonOut(page.into()))
}

/// A connection the caller may delete and whose permissions they may manage: any, for an admin; for anyone else
/// only a spreadsheet they uploaded — every other id is the admin-only route's 403 (existing or not).
async fn managed_connection(state: &AppState, auth: &Auth, id: &str) -> ApiResult<Connection> {
    if auth.is_admin() {
        return visible_connection(state, auth, id).await;
    }
    let forbidden = || ApiError::forbidden("only an admin (or the uploader of a spreadsheet) may do this");
    let c = state.store.connection(id).await?.ok_or_else(forbidden)?;
    let owner = c.engine == Engine::File && c.created_by.as_deref() == Some(auth.user().id.as_str());
    if owner { Ok(c) } else { Err(forbidden()) }
}

/// The connection, if the caller may see it (admins: all; others: granted and active). Not visible is 404, so a
/// name does not reveal that a connection exists.
pub async fn visible_connection(state: &AppState, auth: &Auth, id: &str) -> ApiResult<Connection> {
    let not_found = || ApiError::not_found(format!("connection '{id}'"));
    let c = state.store.connection(id).await?.ok_or_else(not_found)?;
    if auth.is_admin() {
        return Ok(c);
    }
    let granted = state.store.permission(&auth.user().id, &c.id).await?.is_some_and(|p| p.can_query);
    if granted && c.active { Ok(c) } else { Err(not_found()) }
}

#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path, description = "id or name")),
    responses((status = 200, body = Connection), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<Connection>> {
    Ok(JsonOut(visible_connection(&state, &auth, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatchRequest {
    pub name: Option<String>,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// A new URL (write-only).
    pub url: Option<String>,
    pub pool_size: Option<i64>,
    pub active: Option<bool>,
}

impl std::fmt::Debug for ConnectionPatchRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionPatchRequest").field("name", &self.name).finish_non_exhaustive()
    }
}

#[utoipa::path(patch, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path)),
    request_body = ConnectionPatchRequest, responses((status = 200, body = Connection)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<ConnectionPatchRequest>,
) -> ApiResult<JsonOut<Connection>> {
    auth.require_admin()?;
    let before = visible_connection(&state, &auth, &id).await?;
    let url = match body.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => {
            if engine_of(url)? != before.engine {
                return Err(ApiError::bad_request("a connection keeps its engine; add a new connection instead"));
            }
            Some((SecretUrl::new(url), redact_url(url)))
        }
        None => None,
    };
    if body.pool_size.is_some_and(|n| !(1..=100).contains(&n)) {
        return Err(ApiError::bad_request("pool_size is 1 to 100"));
    }
    let patch = ConnectionPatch {
        name: body.name.as_deref().map(valid_name).transpose()?,
        display_name: body.display_name,
        description: body.description,
        url,
        pool_size: body.pool_size,
        active: body.active,
    };
    let after = state.store.update_connection(&before.id, patch).await?;
    state.questions.registry.invalidate(&after.id);
    audit(
        &state,
        Audit::new("connection.update", "connection")
            .caller(&auth)
            .resource(&after.id)
            .values(serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()),
    )
    .await?;
    Ok(JsonOut(after))
}

#[utoipa::path(delete, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path)), responses((status = 204)))]
pub async fn delete(State(state): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let before = managed_connection(&state, &auth, &id).await?;
    let stored_file = match before.engine {
        Engine::File => Some(state.store.connection_url(&before.id).await?),
        _ => None,
    };
    state.store.delete_connection(&before.id).await?;
    state.questions.registry.invalidate(&before.id);
    // An uploaded spreadsheet goes with its connection.
    if let Some(path) = stored_file {
        crate::routes::files::remove_file(&state, &before.id, path.expose());
    }
    audit(
        &state,
        Audit::new("connection.delete", "connection")
            .caller(&auth)
            .resource(&before.id)
            .values(serde_json::to_value(&before).ok(), None),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The outcome of a connection test.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    pub ok: bool,
    /// The server's engine and version, when reached.
    pub server_version: Option<String>,
    pub elapsed_ms: u64,
    pub error: Option<crate::error::ErrorDetail>,
}

#[utoipa::path(post, path = "/api/v1/connections/{id}/test", tag = "connections", params(("id" = String, Path)),
    responses((status = 200, body = TestResult)))]
pub async fn test(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<TestResult>> {
    auth.require_admin()?;
    let c = visible_connection(&state, &auth, &id).await?;
    let started = std::time::Instant::now();
    state.questions.registry.invalidate(&c.id);
    let outcome = async {
        let open = state.questions.registry.get(&c).await?;
        open.connector.healthcheck().await?;
        Ok::<_, datagenie_core::Error>(open)
    }
    .await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(JsonOut(match outcome {
        Ok(open) => TestResult { ok: true, server_version: Some(open.connector.describe()), elapsed_ms, error: None },
        Err(e) => TestResult {
            ok: false,
            server_version: None,
            elapsed_ms,
            error: Some(crate::error::ErrorDetail { code: e.code.to_string(), message: e.message }),
        },
    }))
}

/// A connection's schema, as synced.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchemaView {
    pub hash: String,
    pub synced_at: Timestamp,
    /// Tables, columns, keys and comments (for a non-admin only the granted part).
    #[schema(value_type = Object)]
    pub schema: Schema,
    /// The columns that hold personal data, and which kind (`email`, `phone`, `card_number`, `person_name`,
    /// `national_id`, `address`): masked in answers unless a grant unmasks them.
    pub pii: Vec<PiiColumn>,
}

/// A column classified as personal data.
#[derive(Debug, Serialize, ToSchema)]
pub struct PiiColumn {
    pub table: String,
    pub column: String,
    #[schema(value_type = String)]
    pub kind: PiiKind,
}

async fn sync_now(state: &AppState, c: &Connection) -> ApiResult<SchemaSnapshot> {
    let open = state.questions.registry.get(c).await?;
    let (schema, _) = state.questions.context.schema(&open).await?;
    let snapshot = SchemaSnapshot {
        hash: schema.structure_hash(),
        schema: serde_json::to_value(schema.as_ref())
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("cannot store the schema: {e}")))?,
        synced_at: Timestamp::now(),
    };
    state.store.save_schema_snapshot(&c.id, snapshot.clone()).await?;
    Ok(snapshot)
}

#[utoipa::path(post, path = "/api/v1/connections/{id}/sync", tag = "connections", params(("id" = String, Path)),
    responses((status = 200, body = SchemaView)))]
pub async fn sync(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<SchemaView>> {
    auth.require_admin()?;
    let c = visible_connection(&state, &auth, &id).await?;
    let snapshot = sync_now(&state, &c).await?;
    audit(
        &state,
        Audit::new("connection.sync", "connection")
            .caller(&auth)
            .resource(&c.id)
            .values(None, Some(serde_json::json!({"hash": snapshot.hash}))),
    )
    .await?;
    view(&state, &auth, &c, snapshot).await.map(JsonOut)
}

/// What a purge removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CachePurged {
    /// Cached results of the connection removed (in Redis, from every server's view; in memory, from this one).
    pub purged: u64,
    /// Where they were: `redis` or `memory`.
    pub cache: &'static str,
}

/// Forgets every cached result of a connection (after its data changed in a way its queries should see at once).
#[utoipa::path(delete, path = "/api/v1/connections/{id}/cache", tag = "connections", params(("id" = String, Path)),
    responses((status = 200, body = CachePurged), (status = 503, body = crate::error::ErrorBody)))]
pub async fn purge_cache(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<CachePurged>> {
    auth.require_admin()?;
    let c = visible_connection(&state, &auth, &id).await?;
    let purged = state.cache.purge(&c.id).await?;
    audit(
        &state,
        Audit::new("connection.cache_purge", "connection")
            .caller(&auth)
            .resource(&c.id)
            .values(None, Some(serde_json::json!({"purged": purged}))),
    )
    .await?;
    Ok(JsonOut(CachePurged { purged, cache: state.cache.name() }))
}

async fn view(state: &AppState, auth: &Auth, c: &Connection, snapshot: SchemaSnapshot) -> ApiResult<SchemaView> {
    let (hash, synced_at) = (snapshot.hash.clone(), snapshot.synced_at);
    let Readable { mut schema, unmask, .. } = readable(state, auth, c, snapshot).await?;
    let privacy = &state.questions.context.privacy;
    // Classified on the real samples, then shown masked to whoever may not see personal data.
    let pii = privacy
        .classify_schema(&schema)
        .into_iter()
        .map(|((table, column), kind)| PiiColumn { table, column, kind })
        .collect();
    if !unmask {
        privacy.redact_samples(&mut schema);
    }
    Ok(SchemaView { hash, synced_at, schema, pii })
}

/// What of a stored schema the caller may read, the guard's policy for them, and whether they may see personal data
/// unmasked (their grant's `can_unmask`; an admin without a grant row reads every table, masked).
pub(crate) struct Readable {
    pub schema: Schema,
    pub policy: Policy,
    pub unmask: bool,
}

/// The part of a stored schema the caller may read (an admin without a grant row reads everything).
async fn readable(state: &AppState, auth: &Auth, c: &Connection, snapshot: SchemaSnapshot) -> ApiResult<Readable> {
    let schema: Schema = serde_json::from_value(snapshot.schema)
        .map_err(|e| ApiError::new(ErrorCode::SystemDatabase, format!("the stored schema does not read back: {e}")))?;
    let permission = state.store.permission(&auth.user().id, &c.id).await?;
    let unmask = permission.as_ref().is_some_and(|p| p.can_unmask);
    Ok(match (&permission, auth.is_admin()) {
        (None, true) => Readable { schema, policy: Policy::default(), unmask },
        _ => {
            let access = access_for(auth.user(), &c.name, permission.as_ref())?;
            Readable { schema: visible_schema(&schema, &access.policy), policy: access.policy, unmask }
        }
    })
}

/// The schema of a connection the caller may read (synced first if it never was).
pub(crate) async fn readable_schema(state: &AppState, auth: &Auth, c: &Connection) -> ApiResult<Readable> {
    let snapshot = match state.store.schema_snapshot(&c.id).await? {
        Some(s) => s,
        None => sync_now(state, c).await?,
    };
    readable(state, auth, c, snapshot).await
}

#[utoipa::path(get, path = "/api/v1/connections/{id}/schema", tag = "connections", params(("id" = String, Path)),
    responses((status = 200, body = SchemaView)))]
pub async fn schema(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<SchemaView>> {
    let c = visible_connection(&state, &auth, &id).await?;
    let snapshot = match state.store.schema_snapshot(&c.id).await? {
        Some(s) => s,
        None => sync_now(&state, &c).await?,
    };
    view(&state, &auth, &c, snapshot).await.map(JsonOut)
}

/// A user's grant on a connection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionRequest {
    #[serde(default = "yes")]
    pub can_query: bool,
    /// Only these schemas (databases in MySQL); absent: any.
    pub allowed_schemas: Option<Vec<String>>,
    /// Only these tables, each `table`, `schema.table` or `table(col1,col2)`; absent: every table.
    pub allowed_tables: Option<Vec<String>>,
    /// Conditions added to every read of a table, e.g. `{"table": "orders", "condition": "region = {user.region}"}`.
    #[serde(default)]
    pub row_filters: Vec<RowFilter>,
    /// Values for `{user.NAME}` in row filters (`{user.id}` and `{user.email}` are the user's own).
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    pub max_rows: Option<i64>,
    pub max_seconds: Option<i64>,
    #[serde(default)]
    pub can_unmask: bool,
}

fn yes() -> bool {
    true
}

#[utoipa::path(put, path = "/api/v1/connections/{id}/permissions/{user_id}", tag = "connections",
    params(("id" = String, Path), ("user_id" = String, Path)), request_body = PermissionRequest,
    responses((status = 200, body = Permission), (status = 400, body = crate::error::ErrorBody)))]
pub async fn put_permission(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path((id, user_id)): Path<(String, String)>,
    Json(body): Json<PermissionRequest>,
) -> ApiResult<JsonOut<Permission>> {
    let c = managed_connection(&state, &auth, &id).await?;
    let user = state.store.user(&user_id).await?.ok_or_else(|| ApiError::not_found(format!("user '{user_id}'")))?;
    let before = state.store.permission(&user.id, &c.id).await?;
    let permission = Permission {
        user_id: user.id.clone(),
        connection_id: c.id.clone(),
        can_query: body.can_query,
        allowed_schemas: body.allowed_schemas,
        allowed_tables: body.allowed_tables,
        row_filters: body.row_filters,
        attributes: body.attributes,
        max_rows: body.max_rows,
        max_seconds: body.max_seconds,
        can_unmask: body.can_unmask,
        updated_at: Timestamp::now(),
    };
    validate_permission(&permission)?;
    let stored = state.store.put_permission(permission).await?;
    audit(
        &state,
        Audit::new("permission.put", "connection_permission")
            .caller(&auth)
            .resource(&format!("{}/{}", c.id, user.id))
            .values(before.and_then(|b| serde_json::to_value(b).ok()), serde_json::to_value(&stored).ok()),
    )
    .await?;
    Ok(JsonOut(stored))
}

#[utoipa::path(get, path = "/api/v1/connections/{id}/permissions", tag = "connections", params(("id" = String, Path)),
    responses((status = 200, body = inline(Listed<Permission>))))]
pub async fn list_permissions(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<Listed<Permission>>> {
    let c = managed_connection(&state, &auth, &id).await?;
    Ok(JsonOut(Listed { items: state.store.list_permissions(&c.id).await?, next_cursor: None }))
}

#[utoipa::path(delete, path = "/api/v1/connections/{id}/permissions/{user_id}", tag = "connections",
    params(("id" = String, Path), ("user_id" = String, Path)), responses((status = 204)))]
pub async fn delete_permission(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let c = managed_connection(&state, &auth, &id).await?;
    let before = state.store.permission(&user_id, &c.id).await?.ok_or_else(|| ApiError::not_found("the permission"))?;
    state.store.delete_permission(&user_id, &c.id).await?;
    audit(
        &state,
        Audit::new("permission.delete", "connection_permission")
            .caller(&auth)
            .resource(&format!("{}/{user_id}", c.id))
            .values(serde_json::to_value(before).ok(), None),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
