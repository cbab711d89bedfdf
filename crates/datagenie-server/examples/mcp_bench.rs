//! MCP round trips over streamable HTTP, timed: `tools/list` and `run_sql` on a small SQLite table, through the
//! real router (API-key authentication, the MCP service, the question service with its guard, execution, history
//! and audit writes) on 127.0.0.1, with the official rmcp client.
//!
//! ```text
//! cargo run --release -p datagenie-server --example mcp_bench [-- CALLS]
//! ```
//!
//! Prints p50/p95/p99 per call kind. The server and the client share this process (two runtimes' worth of work on
//! the machine's cores), so the figures include the client's own JSON work.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datagenie_app::config::Config;
use datagenie_server::auth::{new_api_key, secret_hash};
use datagenie_server::state::{AppState, master_key};
use datagenie_store::model::{Engine, NewApiKey, NewConnection, NewUser, Role, TokenLimits};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, JsonObject};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<10} n={:<6} p50 {:.3} ms   p95 {:.3} ms   p99 {:.3} ms",
        samples.len(),
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.95)),
        ms(percentile(&samples, 0.99))
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("items.db");
    {
        let c = rusqlite::Connection::open(&db)?;
        c.execute_batch("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL);")?;
        let mut insert = c.prepare("INSERT INTO items VALUES (?1, ?2, ?3)")?;
        for i in 1..=100 {
            insert.execute(rusqlite::params![i, format!("item {i}"), f64::from(i) * 1.5])?;
        }
    }
    let mut config = Config::default();
    config.paths.data_dir = dir.path().join("data").display().to_string();
    config.ask.summary = false;
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data)?;
    let master = master_key(None, &data)?;
    let state = Arc::new(AppState::open(&config, &data, &master).await?);
    let store = state.store.clone();
    for key in ["questions_per_minute_per_user", "requests_per_minute_per_address"] {
        store.set_setting(key, serde_json::json!(100_000_000), None).await?;
    }
    state.reload_runtime().await?;
    let user = store
        .create_user(NewUser {
            username: "bench".into(),
            email: "bench@example.com".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
            full_name: None,
            role: Role::Admin,
            limits: TokenLimits::default(),
        })
        .await?;
    store
        .create_connection(NewConnection {
            file: None,
            name: "items".into(),
            display_name: "Items".into(),
            description: None,
            engine: Engine::Sqlite,
            url: db.display().to_string().parse()?,
            display_url: db.display().to_string(),
            pool_size: 4,
            created_by: None,
        })
        .await?;
    let (key, prefix) = new_api_key()?;
    store
        .create_api_key(NewApiKey {
            user_id: user.id.clone(),
            name: "bench".into(),
            prefix,
            key_hash: secret_hash(&key),
            scopes: vec![],
            expires_at: None,
        })
        .await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(datagenie_server::serve(listener, state.clone(), std::future::pending()));
    let config = StreamableHttpClientTransportConfig::with_uri(format!("http://{addr}/mcp")).auth_header(key);
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await?;

    let mut args = JsonObject::new();
    args.insert("connection".into(), "items".into());
    args.insert("sql".into(), "SELECT name, price FROM items WHERE id = 7".into());
    let run_sql = CallToolRequestParams::new("run_sql").with_arguments(args);
    let first = client.call_tool(run_sql.clone()).await?;
    assert_eq!(first.is_error, Some(false), "{:?}", first.structured_content);

    for _ in 0..(calls / 10).max(20) {
        client.list_tools(None).await?;
        client.call_tool(run_sql.clone()).await?;
    }
    let mut list = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        client.list_tools(None).await?;
        list.push(t.elapsed());
    }
    let mut sql = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        let r = client.call_tool(run_sql.clone()).await?;
        sql.push(t.elapsed());
        assert_eq!(r.is_error, Some(false));
    }
    println!("MCP over streamable HTTP on {addr} ({calls} calls each, after warm-up):");
    report("tools/list", list);
    report("run_sql", sql);
    client.cancel().await?;
    Ok(())
}
