//! The tools on the system database, as an API key's user: the HTTP API's rules and service functions — visible
//! connections, readable schema, the question service, templates, history — with the channel `mcp`.

use std::sync::Arc;

use axum::http::request::Parts;
use datagenie_app::ask::RequestKind;
use datagenie_app::service::AskParams;
use datagenie_core::template::QueryTemplate;
use datagenie_core::{Error, ErrorCode};
use datagenie_store::model::{Channel, Connection, HistoryFilter, PageRequest};
use rmcp::model::JsonObject;
use serde_json::json;

use super::view::{self, ConnectionItem};
use super::{
    AskArgs, ConnectionArgs, DescribeArgs, Done, Failed, HistoryArgs, Identity, NoArgs, Outcome, RunSqlArgs, ToolName,
    args, max_rows,
};
use crate::audit::{Audit, audit};
use crate::auth::{Auth, ClientInfo, Credential, authenticate_api_key};
use crate::routes::connections::{readable_schema, visible_connection};
use crate::routes::templates;
use crate::state::AppState;

/// History entries `search_history` returns unless asked for fewer, and at most.
const HISTORY_DEFAULT: u64 = 20;
const HISTORY_MAX: u64 = 100;

/// One tool call: who is calling, whether their key may, then the tool. Every call leaves an audit row: a question
/// or query its own (with its history row), anything else an `mcp.<tool>` row.
pub(super) async fn call(
    state: &Arc<AppState>,
    identity: &Identity,
    parts: Option<&Parts>,
    tool: ToolName,
    arguments: Option<JsonObject>,
) -> Outcome {
    let auth = caller(state, identity, parts).await?;
    let audited = json!({ "tool": tool.as_str(), "arguments": arguments, "api_key_id": auth.caller.api_key_id });
    let outcome = match check_scope(&auth, tool) {
        Ok(()) => run(state, &auth, tool, arguments).await,
        Err(e) => Err(Failed::from(e)),
    };
    let recorded = matches!(&outcome, Ok(done) if done.value.get("history_id").is_some())
        || matches!(&outcome, Err(f) if f.details.as_ref().is_some_and(|d| d.get("history_id").is_some()));
    if !recorded {
        let mut row =
            Audit::new(&format!("mcp.{}", tool.as_str()), "mcp_tool").caller(&auth).values(None, Some(audited));
        if let Some(id) = outcome.as_ref().ok().and_then(|d| d.value.get("connection_id")).and_then(|v| v.as_str()) {
            row = row.resource(id);
        }
        if let Err(f) = &outcome {
            row = row.failed(&format!("{}: {}", f.error.code, f.error.message));
        }
        if let Err(e) = audit(state, row).await {
            tracing::error!(code = %e.code, error = %e.message, "cannot audit an MCP call");
            return Err(Failed::from(e));
        }
    }
    outcome
}

async fn caller(state: &AppState, identity: &Identity, parts: Option<&Parts>) -> Result<Auth, Failed> {
    match identity {
        Identity::Request => {
            let mut auth = parts.and_then(|p| p.extensions.get::<Auth>()).cloned().ok_or_else(|| {
                Error::new(ErrorCode::Unauthenticated, "this MCP request carries no authenticated API key")
            })?;
            auth.caller.channel = Channel::Mcp;
            Ok(auth)
        }
        Identity::Key(key) => {
            let client = ClientInfo { ip: None, user_agent: Some("datagenie mcp (stdio)".into()), request_id: None };
            authenticate_api_key(state, key.expose(), client).await.map_err(|e| Failed::from(e.error))
        }
    }
}

/// A key with scopes may use a tool only when it holds the tool's scope (`read` or `ask`); no scopes: everything
/// its user may do.
fn check_scope(auth: &Auth, tool: ToolName) -> Result<(), Error> {
    let Credential::ApiKey { scopes, .. } = &auth.credential else { return Ok(()) };
    if scopes.is_empty() || scopes.iter().any(|s| s == tool.scope()) {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::Forbidden,
        format!("this API key lacks the scope '{}' that {} needs", tool.scope(), tool.as_str()),
    ))
}

async fn run(state: &Arc<AppState>, auth: &Auth, tool: ToolName, arguments: Option<JsonObject>) -> Outcome {
    match tool {
        ToolName::ListConnections => {
            let NoArgs {} = args(tool, arguments)?;
            let items = connections(state, auth).await?;
            let shown: Vec<ConnectionItem> = items.iter().map(item).collect();
            Ok(view::connections(&shown))
        }
        ToolName::DescribeSchema => {
            let a: DescribeArgs = args(tool, arguments)?;
            let c = connection(state, auth, a.connection.as_deref()).await?;
            let readable = readable_schema(state, auth, &c).await.map_err(|e| e.error)?;
            let mut schema = readable.schema;
            if !readable.unmask {
                state.questions.context.privacy.redact_samples(&mut schema);
            }
            let mut done = view::describe(&c.name, &schema, &a, state.questions.defaults.schema_budget_tokens)?;
            set(&mut done, "connection_id", &c.id);
            Ok(done)
        }
        ToolName::Ask => {
            let a: AskArgs = args(tool, arguments)?;
            let rows = max_rows(a.max_rows)?;
            let params = AskParams {
                row_ceiling: None,
                connection: String::new(),
                question: a.question,
                session_id: a.session_id.filter(|s| !s.is_empty()),
                max_rows: Some(rows),
                kind: RequestKind::Question,
                history_id: None,
            };
            question(state, auth, a.connection.as_deref(), params).await
        }
        ToolName::RunSql => {
            let a: RunSqlArgs = args(tool, arguments)?;
            let rows = max_rows(a.max_rows)?;
            let params = AskParams {
                row_ceiling: None,
                connection: String::new(),
                question: a.sql,
                session_id: None,
                max_rows: Some(rows),
                kind: RequestKind::Sql,
                history_id: None,
            };
            question(state, auth, a.connection.as_deref(), params).await
        }
        ToolName::ListTemplates => {
            let a: ConnectionArgs = args(tool, arguments)?;
            let c = connection(state, auth, a.connection.as_deref()).await?;
            let key = templates::key_of(state, &c).await.map_err(|e| e.error)?;
            let mut items = templates::store(state).map_err(|e| e.error)?.list(Some(&key)).await?;
            // Only templates whose SQL the guard lets this caller run: a template must not show a table or column
            // outside their grant.
            let policy = readable_schema(state, auth, &c).await.map_err(|e| e.error)?.policy;
            items.retain(|t| templates::may_see(auth, t) && runnable(t, &policy));
            let mut text = match items.len() {
                0 => format!("No templates on '{}'.", c.name),
                n => format!("{n} template{} on '{}':", if n == 1 { "" } else { "s" }, c.name),
            };
            for t in &items {
                let state = if t.verified { "verified" } else { "not verified" };
                text.push_str(&format!(
                    "\n- {} ({state}, used {} times): {}",
                    t.name,
                    t.usage_count,
                    t.questions.join(" / ")
                ));
                text.push_str(&format!("\n  {}", view::one_line(&t.sql, 400)));
            }
            let value = json!({ "connection": c.name, "connection_id": c.id, "templates": items });
            Ok(Done { value, text })
        }
        ToolName::SearchHistory => {
            let a: HistoryArgs = args(tool, arguments)?;
            let limit = match a.limit {
                None => HISTORY_DEFAULT,
                Some(n) if (1..=HISTORY_MAX).contains(&n) => n,
                Some(_) => return Err(Error::new(ErrorCode::InvalidArgument, "limit must be 1 to 100").into()),
            };
            let connection_id = match a.connection.as_deref().filter(|c| !c.is_empty()) {
                Some(name) => Some(visible_connection(state, auth, name).await.map_err(|e| e.error)?.id),
                None => None,
            };
            let filter = HistoryFilter {
                user_id: Some(auth.user().id.clone()),
                connection_id,
                text: a.query.filter(|q| !q.trim().is_empty()),
                ..Default::default()
            };
            let page = state.store.list_history(&filter, &PageRequest::first(limit as usize)).await?;
            let mut text = match page.items.len() {
                0 => "No history matches.".to_string(),
                n => format!("{n} entr{}, newest first:", if n == 1 { "y" } else { "ies" }),
            };
            for e in &page.items {
                text.push_str(&format!(
                    "\n- [{}] {} {}: {}",
                    e.created_at.to_rfc3339(),
                    e.status.as_str(),
                    e.row_count.map(|n| format!("{n} rows")).unwrap_or_default(),
                    view::one_line(&e.question, 200)
                ));
                if let Some(sql) = &e.sql {
                    text.push_str(&format!("\n  {}", view::one_line(sql, 300)));
                }
            }
            Ok(Done { value: json!({ "entries": page.items }), text })
        }
    }
}

/// A question or the caller's SQL, through the question service as `POST /api/v1/ask` takes it: the per-user rate,
/// the server's row cap, then the grant, the token limits, the guard and the records.
async fn question(state: &Arc<AppState>, auth: &Auth, connection: Option<&str>, mut params: AskParams) -> Outcome {
    crate::routes::ask::check_rate(state, auth).await.map_err(|e| e.error)?;
    params.connection = connection_ref(state, auth, connection).await?;
    let cap = state.runtime().max_query_rows;
    params.max_rows = params.max_rows.map(|n| n.min(cap));
    // In its own task, as the HTTP API does: a client that hangs up does not cut a question short.
    let task = {
        let (state, caller) = (state.clone(), auth.caller.clone());
        tokio::spawn(async move { state.questions.ask(&caller, params, None).await })
    };
    let asked = task.await.map_err(|e| Error::new(ErrorCode::Internal, format!("the question stopped: {e}")))??;
    crate::routes::ask::observe(state, &asked);
    let mut recorded = serde_json::Map::new();
    recorded.insert("history_id".into(), asked.recorded.history_id.clone().into());
    recorded.insert("connection_id".into(), asked.connection_id.clone().into());
    if let Some(s) = &asked.session_id {
        recorded.insert("session_id".into(), s.clone().into());
    }
    match &asked.outcome {
        Ok(answer) => Ok(view::answer(answer, recorded)),
        Err(f) => Err(view::failure(f, recorded)),
    }
}

/// The connections the caller may query (admins: all; others: granted and active), every page.
async fn connections(state: &AppState, auth: &Auth) -> Result<Vec<Connection>, Error> {
    let granted_to = if auth.is_admin() { None } else { Some(auth.user().id.as_str()) };
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = state
            .store
            .list_connections(granted_to, &PageRequest { limit: datagenie_store::model::MAX_PAGE, cursor })
            .await?;
        all.extend(page.items.into_iter().filter(|c| c.active || auth.is_admin()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// The connection named (or, when none is named, the caller's only one).
async fn connection(state: &AppState, auth: &Auth, named: Option<&str>) -> Result<Connection, Error> {
    let id = connection_ref(state, auth, named).await?;
    visible_connection(state, auth, &id).await.map_err(|e| e.error)
}

async fn connection_ref(state: &AppState, auth: &Auth, named: Option<&str>) -> Result<String, Error> {
    if let Some(name) = named.map(str::trim).filter(|n| !n.is_empty()) {
        return Ok(name.to_string());
    }
    let mine = connections(state, auth).await?;
    match mine.as_slice() {
        [only] => Ok(only.id.clone()),
        [] => Err(Error::new(ErrorCode::Forbidden, "you may query no connection; ask an admin for access")),
        many => {
            let names: Vec<&str> = many.iter().map(|c| c.name.as_str()).take(20).collect();
            Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("give `connection`: you may query {} connections ({})", many.len(), names.join(", ")),
            ))
        }
    }
}

fn item(c: &Connection) -> ConnectionItem {
    ConnectionItem {
        id: c.id.clone(),
        name: c.name.clone(),
        engine: c.engine.as_str().to_string(),
        description: c.description.clone().or_else(|| (c.display_name != c.name).then(|| c.display_name.clone())),
    }
}

/// The template's SQL, its slots bound to sample values, passes the guard under `policy`.
fn runnable(t: &datagenie_store::Template, policy: &datagenie_core::guard::Policy) -> bool {
    let Ok(template) = QueryTemplate::from_stored(&t.questions, &t.sql, t.dialect) else { return false };
    let Some((_, values)) = template.examples().into_iter().next() else { return false };
    template.bind(&values).is_ok_and(|sql| datagenie_core::guard::check(&sql, t.dialect, policy).is_ok())
}

fn set(done: &mut Done, key: &str, value: &str) {
    if let Some(map) = done.value.as_object_mut() {
        map.insert(key.into(), value.into());
    }
}
