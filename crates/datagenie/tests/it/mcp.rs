//! MCP: the official `rmcp` client talks to the real binary — `datagenie mcp` over stdio (a child process) and
//! `/mcp` on `datagenie serve` over streamable HTTP — and every tool is called, refusals included.

use std::process::Stdio;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ServiceError, ServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use datagenie_testkit::{Group, tests};

use crate::harness::{Env, shop_db};
use crate::scripted_llm::{ScriptedLlm, sql};
use crate::server::{World, world_with};

type Client = RunningService<RoleClient, ()>;

/// `tools/call` with `args` (a JSON object).
async fn call(client: &Client, tool: &str, args: Value) -> Result<CallToolResult, ServiceError> {
    let mut params = CallToolRequestParams::new(tool.to_string());
    if let Value::Object(map) = args {
        params = params.with_arguments(map.into_iter().collect::<JsonObject>());
    }
    client.call_tool(params).await
}

/// A successful tool result's structured content (its text must be there too, for text-only clients).
async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let r = call(client, tool, args.clone()).await.unwrap_or_else(|e| panic!("{tool} {args}: {e}"));
    assert_ne!(r.is_error, Some(true), "{tool} {args}: {:?}", r.structured_content);
    assert!(r.content.iter().any(|c| c.as_text().is_some_and(|t| !t.text.is_empty())), "{tool}: no text");
    r.structured_content.expect("structured content")
}

/// A tool error's code (and the whole structured content).
async fn refused(client: &Client, tool: &str, args: Value) -> (String, Value) {
    let r = call(client, tool, args.clone()).await.unwrap_or_else(|e| panic!("{tool} {args}: {e}"));
    assert_eq!(r.is_error, Some(true), "{tool} {args} should fail: {:?}", r.structured_content);
    let v = r.structured_content.expect("structured content");
    let text = r.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.clone()).collect::<String>();
    let code = v["error"]["code"].as_str().expect("a code").to_string();
    assert!(text.contains(&code), "the text names the code: {text}");
    (code, v)
}

fn names(tables: &Value) -> Vec<String> {
    let mut n: Vec<String> =
        tables.as_array().expect("tables").iter().filter_map(|t| t["name"].as_str().map(str::to_string)).collect();
    n.sort();
    n
}

async fn stdio_client(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Client {
    let mut cmd = env.command(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let (transport, _stderr) =
        TokioChildProcess::builder(cmd).stderr(Stdio::null()).spawn().expect("spawn datagenie mcp");
    tokio::time::timeout(Duration::from_secs(60), ().serve(transport))
        .await
        .expect("initialized within a minute")
        .expect("initialize")
}

async fn http_client(base: &str, key: &str) -> Client {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(key.to_string());
    ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("initialize over HTTP")
}

/// `datagenie mcp --db shop.db`: the one database, the local user, every tool but history.
async fn stdio_on_one_database_answers_and_refuses() {
    let env = Env::new();
    shop_db(&env.path("shop.db"));
    let db = env.path("shop.db").display().to_string();
    let client = stdio_client(&env, &["mcp", "--db", &db], &[]).await;
    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some("datagenie"));

    let tools: Vec<String> = client.list_all_tools().await.expect("tools").iter().map(|t| t.name.to_string()).collect();
    assert_eq!(tools, ["list_connections", "describe_schema", "ask", "run_sql", "list_templates"]);

    let listed = ok(&client, "list_connections", json!({})).await;
    let only = listed["connections"].as_array().expect("connections");
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["engine"], "sqlite");
    let listed_name = only[0]["name"].as_str().expect("name").to_string();

    let schema = ok(&client, "describe_schema", json!({})).await;
    assert_eq!(names(&schema["tables"]), ["customers", "orders", "products"]);
    assert_eq!(schema["selected_by"], "all");
    let one = ok(&client, "describe_schema", json!({"connection": db, "tables": ["orders"]})).await;
    assert_eq!(names(&one["tables"]), ["orders"]);
    assert_eq!(one["tables"][0]["foreign_keys"].as_array().map(Vec::len), Some(2));
    let (code, _) = refused(&client, "describe_schema", json!({"tables": ["payments"]})).await;
    assert_eq!(code, "not_found");

    // Own SQL: run when read-only, refused with the guard's code otherwise; the --db value and the listed name both
    // name the connection.
    let counted = ok(&client, "run_sql", json!({"sql": "SELECT COUNT(*) AS n FROM orders", "connection": db})).await;
    assert_eq!(counted["rows"], json!([[6]]));
    assert_eq!(counted["source"]["kind"], "sql");
    let by_name = ok(&client, "run_sql", json!({"sql": "SELECT name FROM products", "connection": listed_name})).await;
    assert_eq!(by_name["row_count"], 3);
    let capped = ok(&client, "run_sql", json!({"sql": "SELECT id FROM orders ORDER BY id", "max_rows": 2})).await;
    assert_eq!((capped["rows"].clone(), capped["truncated"].clone()), (json!([[1], [2]]), json!(true)));
    for (bad, expected) in [
        ("DELETE FROM orders", "not_a_query"),
        ("SELECT 1; DELETE FROM orders", "multiple_statements"),
        ("SELECT * FROM orders; SELECT * FROM customers", "multiple_statements"),
        ("SELECT load_extension('x')", "forbidden_function"),
        ("SELEC * FROM orders", "parse_error"),
    ] {
        let (code, v) = refused(&client, "run_sql", json!({"sql": bad})).await;
        assert_eq!(code, expected, "{bad}: {v}");
        assert_eq!(v["attempts"][0]["sql"], bad, "the refused SQL is reported as given");
    }
    let still = ok(&client, "run_sql", json!({"sql": "SELECT COUNT(*) FROM orders"})).await;
    assert_eq!(still["rows"], json!([[6]]), "nothing was deleted");

    // A question, answered by the built-in engine (no LLM is configured).
    let asked = ok(&client, "ask", json!({"question": "How many orders are there?"})).await;
    assert_eq!(asked["rows"], json!([[6]]));
    assert_eq!(asked["source"]["kind"], "builtin");
    let templates = ok(&client, "list_templates", json!({})).await;
    assert_eq!(templates["templates"], json!([]));

    // Bad input: coded tool errors, and an unknown tool is a protocol error.
    assert_eq!(refused(&client, "run_sql", json!({"sql": 42})).await.0, "invalid_argument");
    assert_eq!(refused(&client, "run_sql", json!({"sql": "SELECT 1", "max_rows": 0})).await.0, "invalid_argument");
    assert_eq!(refused(&client, "ask", json!({"question": "   "})).await.0, "invalid_question");
    assert_eq!(refused(&client, "ask", json!({"question": "x", "connection": "other"})).await.0, "not_found");
    assert!(call(&client, "search_history", json!({})).await.is_err(), "no history tool without a server");
    assert!(call(&client, "drop_everything", json!({})).await.is_err());
    client.cancel().await.expect("close");
}

/// Standard output carries JSON-RPC messages and nothing else, even with debug logs on (they go to stderr).
async fn stdio_writes_only_protocol_messages_to_stdout() {
    let mut env = Env::new();
    env.set("DATAGENIE_LOG", "debug");
    shop_db(&env.path("shop.db"));
    let db = env.path("shop.db").display().to_string();
    let mut cmd = env.command(&["mcp", "--db", &db]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
            "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "run_sql",
            "arguments": {"sql": "SELECT COUNT(*) FROM customers"}}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "run_sql",
            "arguments": {"sql": "DROP TABLE customers"}}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "ask",
            "arguments": {"question": "How many customers are there?"}}}),
    ];
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    for m in &messages {
        stdin.write_all(format!("{m}\n").as_bytes()).await.expect("write");
        stdin.flush().await.expect("flush");
        if m.get("id").is_none() {
            continue;
        }
        // Each request's answer is the next line; anything else on stdout would be read here first.
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("an answer within a minute")
            .expect("read")
            .expect("a line");
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_eq!(v["jsonrpc"], "2.0", "{line}");
        assert_eq!(v["id"], m["id"], "{line}");
        seen.push(v);
    }
    drop(stdin);
    let rest = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.expect("ends").expect("read");
    assert_eq!(rest, None, "nothing else on stdout");
    let out =
        tokio::time::timeout(Duration::from_secs(30), child.wait_with_output()).await.expect("exits").expect("wait");
    assert!(out.status.success(), "{:?}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("DEBUG") || log.contains("debug"), "the logs went to stderr: {log}");
    assert_eq!(seen[2]["result"]["structuredContent"]["rows"], json!([[4]]));
    assert_eq!(seen[3]["result"]["isError"], true);
    assert_eq!(seen[3]["result"]["structuredContent"]["error"]["code"], "not_a_query");
    assert_eq!(seen[4]["result"]["structuredContent"]["rows"], json!([[4]]));
}

/// A server with the scripted LLM, a viewer granted `orders` only, and an API key of theirs.
struct Agents {
    w: World,
    viewer_id: String,
    viewer: String,
    key: String,
    key_id: String,
    _llm: ScriptedLlm,
}

async fn agents() -> Agents {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) AS n FROM orders"))).await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_ASK__BUILTIN_FIRST", "true");
    let w = world_with(env).await;
    let (viewer_id, viewer) = w.user("agent-owner@example.com", "viewer").await;
    w.grant(&viewer_id, json!({"allowed_tables": ["orders"]})).await;
    let created = w.server.post("/api/v1/api-keys", &viewer, json!({"name": "claude"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = created.json["key"].as_str().expect("key").to_string();
    let key_id = created.json["id"].as_str().expect("id").to_string();
    Agents { w, viewer_id, viewer, key, key_id, _llm: llm }
}

/// A raw `initialize` POST to /mcp with `headers`.
async fn raw_initialize(base: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
            "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("send")
}

/// `/mcp` with a viewer's key: only granted tables, refusals with the guard's codes, the LLM pipeline, history and
/// audit naming the key, token limits; missing, wrong and revoked keys get 401 before any tool.
async fn http_mcp_acts_as_the_keys_user_within_their_grant() {
    let a = agents().await;
    let base = a.w.server.base.clone();

    // No key, a wrong key, an access token (not a key), a foreign Host or a browser Origin: refused before MCP.
    let none = raw_initialize(&base, &[]).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    let body: Value = none.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unauthenticated");
    let last = if a.key.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &a.key[..a.key.len() - 1]);
    let bearer = |k: &str| format!("Bearer {k}");
    assert_eq!(raw_initialize(&base, &[("authorization", &bearer(&wrong))]).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        raw_initialize(&base, &[("authorization", &bearer(&a.viewer))]).await.status(),
        StatusCode::UNAUTHORIZED,
        "an access token is not an API key"
    );
    let good = bearer(&a.key);
    assert_eq!(raw_initialize(&base, &[("authorization", &good)]).await.status(), StatusCode::OK);
    let rebinding = raw_initialize(&base, &[("authorization", &good), ("host", "evil.example.com")]).await;
    assert!(rebinding.status().is_client_error(), "foreign Host: {}", rebinding.status());
    let browser = raw_initialize(&base, &[("authorization", &good), ("origin", "https://evil.example.com")]).await;
    assert!(browser.status().is_client_error(), "browser Origin: {}", browser.status());

    let client = http_client(&base, &a.key).await;
    let tools = client.list_all_tools().await.expect("tools");
    assert_eq!(tools.len(), 6);
    let listed = ok(&client, "list_connections", json!({})).await;
    assert_eq!(listed["connections"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["connections"][0]["name"], "shop");

    // The viewer sees and queries only `orders`.
    let schema = ok(&client, "describe_schema", json!({"connection": "shop"})).await;
    assert_eq!(names(&schema["tables"]), ["orders"]);
    assert_eq!(schema["tables"][0]["foreign_keys"], json!([]), "no key names an unseen table");
    let linked = ok(&client, "describe_schema", json!({"question": "which customers ordered coffee?"})).await;
    assert_eq!(names(&linked["tables"]), ["orders"]);
    assert_eq!(refused(&client, "describe_schema", json!({"tables": ["customers"]})).await.0, "not_found");
    let n = ok(&client, "run_sql", json!({"connection": "shop", "sql": "SELECT COUNT(*) AS n FROM orders"})).await;
    assert_eq!(n["rows"], json!([[6]]));
    let sql_history_id = n["history_id"].as_str().expect("history_id").to_string();
    for (bad, expected) in [
        ("SELECT name FROM customers", "forbidden_table"),
        ("SELECT o.id FROM orders o JOIN products p ON p.id = o.product_id", "forbidden_table"),
        ("UPDATE orders SET quantity = 0", "not_a_query"),
        ("SELECT 1; DROP TABLE orders", "multiple_statements"),
    ] {
        let (code, v) = refused(&client, "run_sql", json!({"sql": bad})).await;
        assert_eq!(code, expected, "{bad}: {v}");
        assert!(v["history_id"].is_string(), "a refusal is recorded too: {v}");
    }
    // The built-in engine's SQL on `customers` is refused by the guard; the LLM then answers from `orders`.
    let around = ok(&client, "ask", json!({"question": "How many customers are there?"})).await;
    assert_eq!(around["attempts"][0]["error"]["code"], "forbidden_table", "{around}");
    assert!(!around["sql"].as_str().unwrap_or("").contains("customers"));

    // A question the built-in engine leaves to the (scripted) LLM.
    let asked = ok(&client, "ask", json!({"question": "xyzzy plugh frobnicate?", "max_rows": 5})).await;
    assert_eq!((asked["source"]["kind"].clone(), asked["rows"].clone()), (json!("llm"), json!([[6]])));
    assert!(asked["usage"]["prompt_tokens"].as_u64().unwrap_or(0) > 0);

    let found = ok(&client, "search_history", json!({"query": "COUNT(*) AS n", "limit": 5})).await;
    let entries = found["entries"].as_array().expect("entries");
    assert!(entries.iter().any(|e| e["id"] == sql_history_id.as_str()), "{found}");
    assert!(entries.iter().all(|e| e["user_id"] == a.viewer_id.as_str()));
    assert_eq!(refused(&client, "search_history", json!({"limit": 1000})).await.0, "invalid_argument");
    assert_eq!(ok(&client, "list_templates", json!({"connection": "shop"})).await["templates"], json!([]));
    // Public templates of the admin's: the viewer is shown only the one whose SQL stays within their grant.
    for (question, name) in [("How many orders are there?", "order count"), ("How many customers are there?", "people")]
    {
        let asked =
            a.w.server.post("/api/v1/ask", &a.w.admin, json!({"connection_id": "shop", "question": question})).await;
        assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
        let saved =
            a.w.server
                .post(
                    "/api/v1/templates",
                    &a.w.admin,
                    json!({"history_id": asked.json["history_id"], "name": name, "public": true}),
                )
                .await;
        assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text);
    }
    let shown = ok(&client, "list_templates", json!({})).await;
    let shown: Vec<&str> =
        shown["templates"].as_array().expect("templates").iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(shown, ["order count"]);

    // History, usage and audit name the key and the channel.
    let history = a.w.server.get(&format!("/api/v1/history?api_key_id={}", a.key_id), &a.w.admin).await;
    let items = history.json["items"].as_array().expect("items");
    assert_eq!(items.len(), 7, "run_sql ×5, ask ×2: {}", history.text);
    assert!(items.iter().all(|e| e["channel"] == "mcp" && e["api_key_id"] == a.key_id.as_str()));
    let usage = a.w.server.get("/api/v1/usage?group_by=api_key", &a.viewer).await;
    assert_eq!(usage.json["rows"][0]["key"], a.key_id.as_str(), "{}", usage.text);
    assert_eq!(usage.json["rows"][0]["questions"], 7);
    let audit = a.w.server.get("/api/v1/audit?limit=100", &a.w.admin).await;
    let rows = audit.json["items"].as_array().expect("items");
    let by_agent = |r: &&Value| r["new_values"]["channel"] == "mcp" || r["resource_type"] == "mcp_tool";
    let of = |action: &str| rows.iter().filter(by_agent).filter(|r| r["action"] == action).count();
    assert_eq!((of("question.sql"), of("question.ask")), (5, 2), "{}", audit.text);
    assert!(of("mcp.list_connections") >= 1 && of("mcp.describe_schema") >= 3 && of("mcp.search_history") >= 2);
    let sql_rows: Vec<&Value> = rows.iter().filter(|r| r["action"] == "question.sql").collect();
    assert!(
        sql_rows
            .iter()
            .all(|r| r["new_values"]["api_key_id"] == a.key_id.as_str() && r["new_values"]["channel"] == "mcp")
    );
    let failed_tool = rows.iter().find(|r| r["action"] == "mcp.describe_schema" && r["result"] == "failure");
    assert!(failed_tool.is_some(), "a failed tool call is audited as failed");

    // Token limits apply: with the hour's tokens used up, the LLM is not called again.
    let patch =
        a.w.server
            .request(
                Method::PATCH,
                &format!("/api/v1/users/{}", a.viewer_id),
                Some(&a.w.admin),
                Some(json!({"hourly_token_limit": 10})),
            )
            .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.text);
    assert_eq!(refused(&client, "ask", json!({"question": "xyzzy plugh frobnicate?"})).await.0, "quota_exceeded");

    // A key limited to `read` may look but not query.
    let ro = a.w.server.post("/api/v1/api-keys", &a.viewer, json!({"name": "ro", "scopes": ["read"]})).await;
    let ro_client = http_client(&base, ro.json["key"].as_str().expect("key")).await;
    assert_eq!(ok(&ro_client, "list_connections", json!({})).await["connections"][0]["name"], "shop");
    assert_eq!(refused(&ro_client, "run_sql", json!({"sql": "SELECT 1"})).await.0, "forbidden");

    // Revoked: the next request is refused at once.
    let revoke =
        a.w.server.request(Method::DELETE, &format!("/api/v1/api-keys/{}", a.key_id), Some(&a.viewer), None).await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT, "{}", revoke.text);
    assert!(call(&client, "list_connections", json!({})).await.is_err(), "a revoked key gets no tool");
    assert_eq!(raw_initialize(&base, &[("authorization", &good)]).await.status(), StatusCode::UNAUTHORIZED);
}

/// A real hostname and a browser origin are served once configured (and only those).
async fn configured_hosts_and_origins_are_served() {
    let mut env = Env::new();
    env.set("DATAGENIE_SERVER__MCP_ALLOWED_HOSTS", r#"["dg.example.com"]"#);
    env.set("DATAGENIE_SERVER__MCP_ALLOWED_ORIGINS", r#"["https://agents.example.com:443"]"#);
    let w = world_with(env).await;
    let created = w.server.post("/api/v1/api-keys", &w.admin, json!({"name": "ops"})).await;
    let key = format!("Bearer {}", created.json["key"].as_str().expect("key"));
    let base = &w.server.base;
    let status = |r: reqwest::Response| r.status();
    assert_eq!(
        status(raw_initialize(base, &[("authorization", &key), ("host", "dg.example.com")]).await),
        StatusCode::OK
    );
    let loopback = raw_initialize(base, &[("authorization", &key)]).await;
    assert!(loopback.status().is_client_error(), "only the listed hosts: {}", loopback.status());
    let allowed =
        [("authorization", key.as_str()), ("host", "dg.example.com"), ("origin", "https://agents.example.com")];
    assert_eq!(status(raw_initialize(base, &allowed).await), StatusCode::OK);
    let other = [("authorization", key.as_str()), ("host", "dg.example.com"), ("origin", "https://evil.example.com")];
    assert!(status(raw_initialize(base, &other).await).is_client_error());
}

/// `datagenie mcp --api-key`: the key's user on the system database, as /mcp; a bad key exits before serving.
async fn stdio_with_an_api_key_acts_as_its_user() {
    let a = agents().await;
    let client = stdio_client(&a.w.env, &["mcp"], &[("DATAGENIE_API_KEY", &a.key)]).await;
    let n = ok(&client, "run_sql", json!({"sql": "SELECT COUNT(*) AS n FROM orders"})).await;
    assert_eq!(n["rows"], json!([[6]]), "the only connection may go unnamed");
    assert_eq!(refused(&client, "run_sql", json!({"sql": "SELECT * FROM customers"})).await.0, "forbidden_table");
    let schema = ok(&client, "describe_schema", json!({})).await;
    assert_eq!(names(&schema["tables"]), ["orders"]);
    let history = a.w.server.get(&format!("/api/v1/history?api_key_id={}", a.key_id), &a.w.admin).await;
    assert_eq!(history.json["items"].as_array().map(Vec::len), Some(2), "{}", history.text);
    assert_eq!(history.json["items"][0]["channel"], "mcp");

    // Revoked while the session runs: the next call is refused with `unauthenticated`.
    let revoke =
        a.w.server.request(Method::DELETE, &format!("/api/v1/api-keys/{}", a.key_id), Some(&a.viewer), None).await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    assert_eq!(refused(&client, "list_connections", json!({})).await.0, "unauthenticated");
    client.cancel().await.expect("close");

    // A revoked or malformed key: exit 1 with the code on stderr, nothing on stdout.
    for bad in [a.key.as_str(), "not-a-key"] {
        let out = a.w.env.run(&["mcp", "--api-key", bad]).await;
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains("unauthenticated"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert!(!out.stderr.contains(&a.key[10..]), "the key is never printed");
    }
}

pub fn tests() -> Group {
    Group::new("mcp").tests(tests![
        stdio_on_one_database_answers_and_refuses,
        stdio_writes_only_protocol_messages_to_stdout,
        http_mcp_acts_as_the_keys_user_within_their_grant,
        configured_hosts_and_origins_are_served,
        stdio_with_an_api_key_acts_as_its_user,
    ])
}
