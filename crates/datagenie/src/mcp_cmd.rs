//! `datagenie mcp`: DataGenie as an MCP server on standard input and output, for an agent on this machine (Claude
//! Desktop, Claude Code, Cursor, …). Standard output carries protocol messages only; logs and errors go to standard
//! error.
//!
//! - `--api-key KEY` (or `DATAGENIE_API_KEY`): the tools act as that key's user on the system database in the data
//!   directory — their connections, grants, token limits, history and audit, exactly as `/mcp` on the server. The
//!   key is checked at start (a bad key exits 1 with `unauthenticated`) and again at every call.
//! - otherwise: one database, as `datagenie ask` would use it (`--db`, else the configured one, else the demo), and
//!   the configured LLM.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use datagenie_app::Session;
use datagenie_app::ask::AskOptions;
use datagenie_app::config::Config;
use datagenie_core::connector::Limits;
use datagenie_core::{Error, ErrorCode, Secret, SecretUrl};
use datagenie_server::auth::{ClientInfo, authenticate_api_key};
use datagenie_server::mcp::{Backend, Identity, Local, McpServer};
use datagenie_server::state::AppState;
use rmcp::ServiceExt;

#[derive(Args)]
pub struct McpArgs {
    /// The database to serve: a SQLite path or sqlite://, postgres://, mysql:// URL (default: the configured
    /// database, else the demo). Accepted as the connection's name by the tools.
    #[arg(long, value_name = "URL", conflicts_with = "api_key")]
    db: Option<SecretUrl>,
    /// Act as this API key's user on the system database in the data directory (--data-dir).
    #[arg(long, value_name = "KEY", env = "DATAGENIE_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

pub async fn run(config_path: Option<std::path::PathBuf>, args: McpArgs) -> Result<u8, Error> {
    let config = crate::load_config(config_path)?;
    let backend = match args.api_key.filter(|k| !k.trim().is_empty()) {
        Some(key) => {
            let dir = crate::server_cmd::data_dir(&config)?;
            let location = datagenie_app::system::SystemLocation::of(&config)?;
            let master = crate::server_cmd::master_for(&config, &location)?;
            let state = Arc::new(AppState::open(&config, &dir, &master).await?);
            let client = ClientInfo { ip: None, user_agent: Some("datagenie mcp (stdio)".into()), request_id: None };
            let auth = authenticate_api_key(&state, &key, client).await.map_err(|e| e.error)?;
            tracing::info!(user = %auth.user().username, data_dir = %dir.display(), "datagenie mcp: serving on stdio");
            Backend::Server { state, identity: Identity::Key(Secret::new(key)) }
        }
        None => {
            let session = Session::open(&config, args.db.as_ref()).await?;
            let local = Local::new(session, options(&config)?, args.db.map(|d| d.expose().to_string()));
            tracing::info!(database = %local.name(), "datagenie mcp: serving on stdio");
            Backend::Local(Arc::new(local))
        }
    };
    let running = McpServer::new(backend)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Error::new(ErrorCode::Internal, format!("the MCP session did not start: {e}")))?;
    running.waiting().await.map_err(|e| Error::new(ErrorCode::Internal, format!("the MCP session failed: {e}")))?;
    Ok(0)
}

/// `ask`'s options from configuration alone (the tools' arguments lower the row cap per call).
fn options(config: &Config) -> Result<AskOptions, Error> {
    if config.ask.max_rows == 0 || config.ask.timeout_secs == 0 {
        return Err(Error::new(ErrorCode::InvalidConfig, "ask.max_rows and ask.timeout_secs must be at least 1"));
    }
    Ok(AskOptions {
        limits: Limits { max_rows: config.ask.max_rows, timeout: Duration::from_secs(config.ask.timeout_secs) },
        max_attempts: config.ask.max_attempts,
        summary: config.ask.summary,
        dry_run: false,
        unmask: false,
        schema_budget_tokens: config.ask.schema_budget_tokens,
        today: datagenie_app::today(),
        temperature: config.llm.temperature as f32,
        max_tokens: config.llm.max_tokens,
        token_budget: None,
        cache: None,
        llm_refusal: None,
    })
}
