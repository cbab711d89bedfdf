//! DataGenie as an MCP server: the same questions, guard, permissions, limits and records as the HTTP API, as tools
//! an agent calls. One handler ([`McpServer`]) serves both transports — stdio (`datagenie mcp`) and streamable HTTP
//! (`/mcp` on `datagenie serve`, [`http`]) — over one of two backends:
//!
//! - [`Backend::Server`]: the system database. The caller is an API key's user — on HTTP the key of each request
//!   (checked by [`http::authenticate`] before any tool runs), on stdio the key given at start, checked again at
//!   every call so a revocation takes effect at once. Questions and SQL go through
//!   [`datagenie_app::service::QuestionService`] exactly as `POST /api/v1/ask` does: recorded in history (with the key
//!   and the channel `mcp`), metered against the user's token limits, audited.
//! - [`Backend::Local`]: one database from the CLI's configuration (`datagenie mcp --db URL`), the local user, as
//!   `datagenie ask` answers. No system database: no history tool.
//!
//! Tool failures (a refusal of the guard, an unknown connection, a bad argument) are tool results with
//! `isError: true` and `{"error": {"code", "message"}}` — the code is the error table's, so an agent can act on it.
//! Only an unknown tool name is a protocol error.

pub mod http;
mod local;
mod server;
mod view;

use std::sync::{Arc, LazyLock};

use datagenie_core::{Error, ErrorCode, Secret};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::schemars::JsonSchema;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde::Deserialize;

pub use local::Local;

use crate::state::AppState;

/// Rows a question or query returns to an agent unless it asks for more (within the server's and the grant's
/// limits): an agent's context is precious, and `truncated` tells it there is more.
pub const DEFAULT_MAX_ROWS: usize = 100;

/// Rows of a result written into the text rendering (the structured content has them all).
const TEXT_ROWS: usize = 50;

/// Who the tools act for.
#[derive(Clone)]
pub enum Backend {
    /// The server's system database; see the module docs.
    Server { state: Arc<AppState>, identity: Identity },
    /// One database from the CLI's configuration.
    Local(Arc<Local>),
}

/// How a server-backed call learns its caller.
#[derive(Clone)]
pub enum Identity {
    /// From the HTTP request: [`http::authenticate`] put the [`crate::auth::Auth`] in its extensions.
    Request,
    /// An API key given at start (stdio), authenticated again at every call.
    Key(Secret),
}

/// The MCP handler.
#[derive(Clone)]
pub struct McpServer {
    backend: Backend,
}

impl McpServer {
    pub fn new(backend: Backend) -> McpServer {
        McpServer { backend }
    }

    fn tools(&self) -> &'static [Tool] {
        match self.backend {
            Backend::Server { .. } => &TOOLS,
            // Without a system database there is no history to search.
            Backend::Local(_) => &TOOLS[..TOOLS.len() - 1],
        }
    }
}

// --- the tools: names, arguments, descriptions

/// The tools, in the order `tools/list` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolName {
    ListConnections,
    DescribeSchema,
    Ask,
    RunSql,
    ListTemplates,
    SearchHistory,
}

impl ToolName {
    pub const ALL: [ToolName; 6] = [
        ToolName::ListConnections,
        ToolName::DescribeSchema,
        ToolName::Ask,
        ToolName::RunSql,
        ToolName::ListTemplates,
        ToolName::SearchHistory,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ToolName::ListConnections => "list_connections",
            ToolName::DescribeSchema => "describe_schema",
            ToolName::Ask => "ask",
            ToolName::RunSql => "run_sql",
            ToolName::ListTemplates => "list_templates",
            ToolName::SearchHistory => "search_history",
        }
    }

    fn parse(name: &str) -> Option<ToolName> {
        ToolName::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The API key scope a tool needs: `ask` runs queries, the others only read.
    pub fn scope(self) -> &'static str {
        match self {
            ToolName::Ask | ToolName::RunSql => "ask",
            _ => "read",
        }
    }
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// `describe_schema` and `list_templates`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub struct ConnectionArgs {
    /// The connection's name or id, as list_connections gives it. May be omitted when you have exactly one.
    pub connection: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub struct DescribeArgs {
    /// The connection's name or id, as list_connections gives it. May be omitted when you have exactly one.
    pub connection: Option<String>,
    /// The question you want to answer: only the tables it needs (and the tables joining them) are described,
    /// chosen as DataGenie chooses them for its own SQL. Best for large databases.
    pub question: Option<String>,
    /// These tables in full, by name (`orders` or `sales.orders`).
    pub tables: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub struct AskArgs {
    /// The connection's name or id, as list_connections gives it. May be omitted when you have exactly one.
    pub connection: Option<String>,
    /// The question in plain language (English or Korean), e.g. "revenue by region last month".
    pub question: String,
    /// A chat session id: the question is a follow-up to that session's earlier questions ("and by month?").
    pub session_id: Option<String>,
    /// At most this many rows (default 100; never more than your grant and the server allow).
    #[schemars(range(min = 1))]
    pub max_rows: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub struct RunSqlArgs {
    /// The connection's name or id, as list_connections gives it. May be omitted when you have exactly one.
    pub connection: Option<String>,
    /// One read-only SELECT (or WITH … SELECT) in the connection's dialect.
    pub sql: String,
    /// At most this many rows (default 100; never more than your grant and the server allow).
    #[schemars(range(min = 1))]
    pub max_rows: Option<u64>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub struct HistoryArgs {
    /// Words to find in the question or its SQL.
    pub query: Option<String>,
    /// Only questions asked of this connection (name or id).
    pub connection: Option<String>,
    /// At most this many entries, newest first (default 20, at most 100).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u64>,
}

fn tool<T: JsonSchema + 'static>(name: ToolName, title: &str, description: &str, idempotent: bool) -> Tool {
    let schema = rmcp::handler::server::common::schema_for_input::<T>().unwrap_or_else(|e| {
        // The argument types are ours and fixed: a test lists the tools, so this cannot reach a user.
        tracing::error!(tool = name.as_str(), error = %e, "an argument schema is invalid");
        Arc::new(JsonObject::new())
    });
    Tool::new(name.as_str(), description.to_string(), schema).with_title(title).with_annotations(
        ToolAnnotations::with_title(title).read_only(true).destructive(false).idempotent(idempotent).open_world(false),
    )
}

/// Built once: `tools/list` is answered from here.
static TOOLS: LazyLock<Vec<Tool>> = LazyLock::new(|| {
    vec![
        tool::<NoArgs>(
            ToolName::ListConnections,
            "List connections",
            "The databases you may query: name, id, engine (sqlite, postgres, mysql) and description. Start here; \
             pass a name as `connection` to the other tools.",
            true,
        ),
        tool::<DescribeArgs>(
            ToolName::DescribeSchema,
            "Describe schema",
            "Tables, columns (types, comments, sample values), primary and foreign keys of a connection — only what \
             you may read. Give `question` to get just the tables that question needs (recommended on large \
             databases), or `tables` to get those in full. Without either, a small database is described whole and a \
             large one as a list of tables.",
            true,
        ),
        tool::<AskArgs>(
            ToolName::Ask,
            "Ask a question",
            "Answer a question in plain language (English or Korean) from the data: DataGenie writes the SQL (from a \
             verified template, its built-in engine or its LLM), checks it with its read-only SQL guard under your \
             permissions, runs it and returns the SQL, columns, rows, a Vega-Lite chart spec, a short summary, where \
             the SQL came from and the tokens used. Prefer this to run_sql unless you need exact control of the SQL.",
            false,
        ),
        tool::<RunSqlArgs>(
            ToolName::RunSql,
            "Run SQL",
            "Run your own read-only SQL (one SELECT, in the connection's dialect). The same SQL guard decides as for \
             DataGenie's own SQL: writes, several statements, side-effecting functions and tables or columns you may \
             not read are refused with a code (forbidden_table, data_modifying_query, multiple_statements, …) and a \
             reason. Row filters of your grant are applied. Returns the SQL as run, columns, rows and a chart spec.",
            false,
        ),
        tool::<ConnectionArgs>(
            ToolName::ListTemplates,
            "List templates",
            "The verified question templates of a connection: phrasings people check, with their SQL. A question that \
             matches one is answered from it (no LLM call); their SQL is also a good model of the database's usage.",
            true,
        ),
        tool::<HistoryArgs>(
            ToolName::SearchHistory,
            "Search history",
            "Your earlier questions and queries, newest first: question, SQL, status, rows, when. Filter by words \
             and connection.",
            true,
        ),
    ]
});

// --- outcomes

/// A tool's successful result: the structured content and its compact text.
pub struct Done {
    pub value: serde_json::Value,
    pub text: String,
}

/// A tool's failure: the error and, for a question, what it cost and where it was recorded.
pub struct Failed {
    pub error: Error,
    pub details: Option<serde_json::Value>,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed { error, details: None }
    }
}

pub type Outcome = Result<Done, Failed>;

/// The arguments as `T`; a bad argument is the tool's `invalid_argument` error, naming the field.
pub fn args<T: for<'de> Deserialize<'de>>(tool: ToolName, arguments: Option<JsonObject>) -> Result<T, Error> {
    let value = serde_json::Value::Object(arguments.unwrap_or_default());
    serde_json::from_value(value)
        .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("{}: invalid arguments: {e}", tool.as_str())))
}

/// `max_rows` as given: at least 1, [`DEFAULT_MAX_ROWS`] when absent.
pub fn max_rows(given: Option<u64>) -> Result<usize, Error> {
    match given {
        None => Ok(DEFAULT_MAX_ROWS),
        Some(0) => Err(Error::new(ErrorCode::InvalidArgument, "max_rows must be at least 1")),
        Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
    }
}

fn render(outcome: Outcome) -> CallToolResult {
    match outcome {
        Ok(done) => {
            let mut result = CallToolResult::structured(done.value);
            result.content = vec![ContentBlock::text(done.text)];
            result
        }
        Err(failed) => {
            let (code, message) = (failed.error.code.as_str(), crate::error::public_message(&failed.error));
            let mut value = serde_json::json!({ "error": { "code": code, "message": message } });
            if let (Some(serde_json::Value::Object(details)), Some(map)) = (failed.details, value.as_object_mut()) {
                for (k, v) in details {
                    if k != "error" {
                        map.insert(k, v);
                    }
                }
            }
            let mut result = CallToolResult::structured_error(value);
            result.content = vec![ContentBlock::text(format!("error {code}: {message}"))];
            result
        }
    }
}

const INSTRUCTIONS: &str = "DataGenie answers questions about databases, read-only and within your permissions. \
    Call list_connections first, then ask (a question in plain language) or describe_schema + run_sql (your own \
    SELECT). Every call is checked by a SQL guard, recorded and audited; refusals come back as errors with a code.";

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("datagenie", env!("CARGO_PKG_VERSION"))
                    .with_title("DataGenie")
                    .with_description("Governed questions and read-only SQL over your databases"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools().to_vec()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(tool) = ToolName::parse(&request.name).filter(|t| self.tools().iter().any(|d| d.name == t.as_str()))
        else {
            return Err(ErrorData::invalid_params(format!("there is no tool '{}'", request.name), None));
        };
        let outcome = match &self.backend {
            Backend::Server { state, identity } => {
                let parts = context.extensions.get::<axum::http::request::Parts>();
                server::call(state, identity, parts, tool, request.arguments).await
            }
            Backend::Local(local) => local.call(tool, request.arguments).await,
        };
        Ok(render(outcome).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema_and_a_description() {
        assert_eq!(TOOLS.len(), ToolName::ALL.len());
        for (tool, name) in TOOLS.iter().zip(ToolName::ALL) {
            assert_eq!(tool.name, name.as_str());
            assert_eq!(tool.input_schema.get("type").and_then(|t| t.as_str()), Some("object"), "{}", tool.name);
            assert!(tool.description.as_deref().is_some_and(|d| d.len() > 80), "{}", tool.name);
            assert_eq!(tool.annotations.as_ref().and_then(|a| a.read_only_hint), Some(true));
        }
        let ask = &TOOLS[2].input_schema;
        let required: Vec<&str> =
            ask["required"].as_array().expect("required").iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(required, ["question"]);
        assert!(ask["properties"]["max_rows"].is_object());
    }

    #[test]
    fn bad_arguments_are_invalid_argument_errors_naming_the_tool() {
        let mut wrong = JsonObject::new();
        wrong.insert("sql".into(), serde_json::json!(42));
        let e = args::<RunSqlArgs>(ToolName::RunSql, Some(wrong)).expect_err("a number is no SQL");
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert!(e.message.starts_with("run_sql: invalid arguments"), "{}", e.message);
        let mut unknown = JsonObject::new();
        unknown.insert("sql".into(), serde_json::json!("SELECT 1"));
        unknown.insert("database".into(), serde_json::json!("x"));
        let e = args::<RunSqlArgs>(ToolName::RunSql, Some(unknown)).expect_err("unknown field");
        assert!(e.message.contains("database"), "{}", e.message);
        assert_eq!(args::<AskArgs>(ToolName::Ask, None).err().map(|e| e.code), Some(ErrorCode::InvalidArgument));
        assert_eq!(max_rows(Some(0)).err().map(|e| e.code), Some(ErrorCode::InvalidArgument));
        assert_eq!(max_rows(None).ok(), Some(DEFAULT_MAX_ROWS));
    }

    #[test]
    fn a_failure_keeps_its_code_and_hides_internal_details() {
        let r = render(Err(Failed {
            error: Error::new(ErrorCode::ForbiddenTable, "the table 'payments' is not allowed"),
            details: Some(serde_json::json!({"history_id": "h-1", "error": "ignored"})),
        }));
        assert_eq!(r.is_error, Some(true));
        let v = r.structured_content.expect("structured");
        assert_eq!(v["error"]["code"], "forbidden_table");
        assert_eq!(v["history_id"], "h-1");
        let r = render(Err(Error::new(ErrorCode::Internal, "disk /var/secret failed").into()));
        let v = r.structured_content.expect("structured");
        assert!(!v.to_string().contains("/var/secret"), "{v}");
    }
}
