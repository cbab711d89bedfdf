//! `datagenie serve`: the real binary on port 0 with a temporary data directory, driven over real HTTP; the LLM is
//! the scripted OpenAI-compatible server.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use datagenie_testkit::{Group, tests};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::harness::{Env, shop_db};
use crate::scripted_llm::{ScriptedLlm, Step, sql};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery";

/// A running server, killed when dropped. Its standard error (the log) is collected.
pub struct Server {
    pub base: String,
    child: tokio::process::Child,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    http: reqwest::Client,
}

impl Server {
    /// Starts `datagenie serve --bind 127.0.0.1:0` and waits for the address it prints (no sleeping).
    pub async fn start(env: &Env) -> Server {
        let mut cmd = env.command(&["serve", "--bind", "127.0.0.1:0"]);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn datagenie serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the server prints its address within a minute")
            .expect("read stdout")
            .expect("a first line");
        let base = first.strip_prefix("listening on ").expect("listening on …").trim().to_string();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mut l) = sink.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
        Server { base, child, log, http: reqwest::Client::new() }
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id().expect("running")).expect("pid")
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        Reply::read(resp).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.request(Method::POST, "/api/v1/auth/login", None, Some(json!({"email": email, "password": password})))
            .await
    }

    /// The access token of a successful login.
    pub async fn token(&self, email: &str, password: &str) -> String {
        let r = self.login(email, password).await;
        assert_eq!(r.status, StatusCode::OK, "login {email}: {}", r.text);
        r.json["access_token"].as_str().expect("access_token").to_string()
    }

    /// Stops the server with SIGTERM and returns its exit code.
    pub async fn terminate(mut self) -> i32 {
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(self.pid()).expect("pid"),
            rustix::process::Signal::TERM,
        )
        .expect("SIGTERM");
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the server stops within 30 s")
            .expect("wait");
        status.code().unwrap_or(-1)
    }

    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    async fn read(resp: reqwest::Response) -> Reply {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, text, json }
    }

    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

/// `datagenie user create … --password-stdin` with `password` on standard input.
pub async fn cli_user(env: &Env, email: &str, role: &str, password: &str) -> crate::harness::Output {
    let mut cmd = env.command(&["user", "create", "--email", email, "--role", role, "--password-stdin"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(format!("{password}\n").as_bytes()).await.expect("write password");
    drop(stdin);
    let out =
        tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await.expect("ends").expect("run");
    crate::harness::Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A server with an admin, the shop database as connection `shop`, and the admin's token.
pub struct World {
    pub env: Env,
    pub server: Server,
    pub admin: String,
    pub connection_id: String,
}

pub async fn world_with(mut env: Env) -> World {
    if !env.has("DATAGENIE_ASK__SUMMARY") {
        env.set("DATAGENIE_ASK__SUMMARY", "false");
    }
    let out = cli_user(&env, ADMIN_EMAIL, "admin", ADMIN_PASSWORD).await;
    assert_eq!(out.code, 0, "{out:?}");
    shop_db(&env.path("shop.db"));
    let server = Server::start(&env).await;
    let admin = server.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let db = env.path("shop.db").display().to_string();
    let c = server.post("/api/v1/connections", &admin, json!({"name": "shop", "url": db})).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let connection_id = c.json["id"].as_str().expect("id").to_string();
    World { env, server, admin, connection_id }
}

pub async fn world() -> World {
    world_with(Env::new()).await
}

impl World {
    /// Turns the result and LLM caches off (`cache_ttl_seconds` 0): for tests that count LLM calls or tokens.
    pub async fn no_cache(&self) {
        let path = "/api/v1/settings/cache_ttl_seconds";
        let r = self.server.request(Method::PUT, path, Some(&self.admin), Some(json!({"value": 0}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }

    /// A user created by the admin over the API; returns (id, token).
    pub async fn user(&self, email: &str, role: &str) -> (String, String) {
        let r = self
            .server
            .post("/api/v1/users", &self.admin, json!({"email": email, "password": "password-of-user", "role": role}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let id = r.json["id"].as_str().expect("id").to_string();
        (id, self.server.token(email, "password-of-user").await)
    }

    pub async fn grant(&self, user_id: &str, body: Value) {
        let path = format!("/api/v1/connections/{}/permissions/{user_id}", self.connection_id);
        let r = self.server.request(Method::PUT, &path, Some(&self.admin), Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }

    async fn ask(&self, token: &str, question: &str) -> Reply {
        self.server.post("/api/v1/ask", token, json!({"connection_id": "shop", "question": question})).await
    }
}

/// The body has exactly the properties the OpenAPI document gives its schema, and every required one.
async fn documented_as(server: &Server, body: &Value, schema: &str) {
    let doc: Value =
        reqwest::get(format!("{}/api/openapi.json", server.base)).await.expect("openapi").json().await.expect("json");
    let documented = &doc["components"]["schemas"][schema];
    let props: Vec<&String> = documented["properties"].as_object().expect("properties").keys().collect();
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    for k in &keys {
        assert!(props.contains(k), "{schema} does not document '{k}'");
    }
    for r in documented["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        assert!(body.get(r).is_some(), "{schema} requires '{r}', the body lacks it: {body}");
    }
}

/// The README's walk: first admin, a SQLite connection, a viewer granted one table, their question about another
/// table refused with the table named, then seen in history and in the audit log.
async fn the_readme_walk() {
    let w = world().await;
    let (viewer_id, viewer) = w.user("viewer@example.com", "viewer").await;
    w.grant(&viewer_id, json!({"allowed_tables": ["orders"]})).await;

    let ok = w.ask(&viewer, "How many orders are there?").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.json["rows"], json!([[6]]));
    assert!(ok.json["history_id"].is_string());
    documented_as(&w.server, &ok.json, "AnswerDoc").await;

    let refused = w.ask(&viewer, "How many customers are there?").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.code(), "forbidden_table");
    assert!(refused.json["error"]["message"].as_str().unwrap_or("").contains("customers"), "{}", refused.text);
    let refused_id = refused.json["history_id"].as_str().expect("recorded").to_string();
    documented_as(&w.server, &refused.json, "FailureDoc").await;

    let history = w.server.get("/api/v1/history", &viewer).await;
    assert_eq!(history.status, StatusCode::OK);
    let items = history.json["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!((items[0]["id"].as_str(), items[0]["status"].as_str()), (Some(refused_id.as_str()), Some("refused")));
    assert_eq!(items[0]["error_code"], "forbidden_table");

    for (query, n) in [("status=refused", 1), ("text=customers", 1), ("status=success", 1)] {
        let found = w.server.get(&format!("/api/v1/history?{query}"), &viewer).await;
        assert_eq!(found.json["items"].as_array().map(Vec::len), Some(n), "{query}: {}", found.text);
    }
    let by_user =
        w.server.get(&format!("/api/v1/history?user_id={viewer_id}&connection_id={}", w.connection_id), &w.admin).await;
    assert_eq!(by_user.json["items"].as_array().map(Vec::len), Some(2), "{}", by_user.text);
    let bad = w.server.get("/api/v1/history?status=maybe", &viewer).await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "invalid_argument"));
    let metrics =
        reqwest::get(format!("{}/metrics", w.server.base)).await.expect("metrics").text().await.expect("text");
    for line in [
        r#"datagenie_questions_total{source="builtin",outcome="answered"} 1"#,
        r#"datagenie_questions_total{source="none",outcome="refused"} 1"#,
        r#"datagenie_guard_refusals_total{code="forbidden_table"} 1"#,
        r#"datagenie_logins_total{outcome="success"} 2"#,
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }

    let audit = w.server.get("/api/v1/audit?action=question.ask", &w.admin).await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let last = &audit.json["items"][0];
    assert_eq!(last["user_id"], viewer_id.as_str());
    assert_eq!(last["result"], "failure");
    assert!(last["reason"].as_str().unwrap_or("").contains("forbidden_table"), "{last}");
    assert!(last["request_id"].is_string() && last["ip_address"] == "127.0.0.1", "{last}");

    // The viewer sees only the granted part of the schema; viewers may not read the audit log.
    let schema = w.server.get("/api/v1/connections/shop/schema", &viewer).await;
    assert_eq!(schema.status, StatusCode::OK, "{}", schema.text);
    let tables: Vec<&str> =
        schema.json["schema"]["tables"].as_array().expect("tables").iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(tables, vec!["orders"]);
    assert_eq!(schema.json["pii"], json!([]), "no personal column is in the viewer's part");
    let full = w.server.get("/api/v1/connections/shop/schema", &w.admin).await;
    assert_eq!(
        full.json["pii"],
        json!([{"table": "customers", "column": "name", "kind": "person_name"}]),
        "{}",
        full.text
    );
    // Personal values are shown masked (classified on the real ones), to an admin without can_unmask too.
    let customers = full.json["schema"]["tables"].as_array().expect("tables").iter().find(|t| t["name"] == "customers");
    let names = customers.and_then(|t| t["columns"].as_array()).and_then(|c| c.iter().find(|c| c["name"] == "name"));
    let samples = names.map(|c| c["samples"].clone()).unwrap_or_default();
    assert!(samples.as_array().is_some_and(|s| !s.is_empty()), "{samples}");
    assert!(!full.text.contains("Alice Park") && !full.text.contains("김민준"), "{samples}");
    assert_eq!(w.server.get("/api/v1/audit", &viewer).await.status, StatusCode::FORBIDDEN);

    let verify = w.env.run(&["audit", "verify"]).await;
    assert_eq!(verify.code, 0, "{verify:?}");
    assert_eq!(w.server.terminate().await, 0, "SIGTERM: a clean exit");
    let db = rusqlite::Connection::open(env_data(&w.env).join("datagenie.db")).expect("open");
    let events: Vec<String> = db
        .prepare("SELECT event_type FROM events ORDER BY created_at")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(events, vec!["server.start", "server.stop"]);
}

async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_login() {
    let w = world().await;
    let login = w.server.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let first = login.json["refresh_token"].as_str().expect("refresh").to_string();
    assert_eq!(login.json["token_type"], "Bearer");
    assert!(login.json["expires_in"].as_u64().is_some_and(|s| s > 0));
    let refresh =
        |t: &str| w.server.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": t})));
    let second = refresh(&first).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let second_token = second.json["refresh_token"].as_str().expect("new refresh").to_string();
    assert_ne!(second_token, first);
    let me = w.server.get("/api/v1/me", second.json["access_token"].as_str().expect("access")).await;
    assert_eq!(me.json["email"], ADMIN_EMAIL);

    // The first token again: refused, and the whole family with it.
    let reused = refresh(&first).await;
    assert_eq!((reused.status, reused.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let after = refresh(&second_token).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "the family is revoked: {}", after.text);
    let garbage = refresh("dgr_nothing").await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);

    // Logout ends a login's refresh tokens.
    let login = w.server.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (access, refresh_token) = (
        login.json["access_token"].as_str().expect("a").to_string(),
        login.json["refresh_token"].as_str().expect("r").to_string(),
    );
    let out = w.server.post("/api/v1/auth/logout", &access, json!({"refresh_token": refresh_token})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    assert_eq!(refresh(&refresh_token).await.status, StatusCode::UNAUTHORIZED);
    let after = w.server.get("/api/v1/me", &access).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "the login's access token ends with it: {}", after.text);
    // The reused token's login ended too: its access token stops at once.
    let reused_access = second.json["access_token"].as_str().expect("access");
    assert_eq!(w.server.get("/api/v1/me", reused_access).await.status, StatusCode::UNAUTHORIZED);
    // A logout without a body ends the login of the access token presented.
    let other = w.server.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let out = w.server.request(Method::POST, "/api/v1/auth/logout", Some(&other), None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    assert_eq!(w.server.get("/api/v1/me", &other).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(w.server.get("/api/v1/me", &w.admin).await.status, StatusCode::OK, "other logins go on");
}

async fn api_keys_work_until_revoked_and_never_show_their_secret_again() {
    let w = world().await;
    let (_, user) = w.user("dev@example.com", "user").await;
    let created = w.server.post("/api/v1/api-keys", &user, json!({"name": "ci"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = created.json["key"].as_str().expect("key").to_string();
    assert!(key.starts_with("dg_"));
    let id = created.json["id"].as_str().expect("id").to_string();

    assert_eq!(w.server.get("/api/v1/me", &key).await.json["email"], "dev@example.com");
    let by_header = reqwest::Client::new()
        .get(format!("{}/api/v1/me", w.server.base))
        .header("X-API-Key", &key)
        .send()
        .await
        .expect("send");
    assert_eq!(by_header.status(), StatusCode::OK);
    let list = w.server.get("/api/v1/api-keys", &user).await;
    assert!(!list.text.contains(&key[10..]), "the list never shows the secret");
    assert_eq!(list.json["items"][0]["usage_count"].as_i64().map(|n| n >= 0), Some(true));

    // A read-only key may read but not write.
    let read_only = w.server.post("/api/v1/api-keys", &user, json!({"name": "ro", "scopes": ["read"]})).await;
    let ro = read_only.json["key"].as_str().expect("key").to_string();
    assert_eq!(w.server.get("/api/v1/history", &ro).await.status, StatusCode::OK);
    assert_eq!(
        w.server.post("/api/v1/sessions", &ro, json!({"connection_id": "shop"})).await.status,
        StatusCode::FORBIDDEN
    );
    let bad = w.server.post("/api/v1/api-keys", &user, json!({"name": "x", "scopes": ["root"]})).await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "invalid_argument"));

    let revoke = w.server.request(Method::DELETE, &format!("/api/v1/api-keys/{id}"), Some(&user), None).await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT, "{}", revoke.text);
    let after = w.server.get("/api/v1/me", &key).await;
    assert_eq!((after.status, after.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let tampered = format!("{}0", &key[..key.len() - 1]);
    assert_eq!(w.server.get("/api/v1/me", &tampered).await.status, StatusCode::UNAUTHORIZED);
    let audit = w.server.get("/api/v1/audit?resource_type=api_key", &w.admin).await;
    let actions: Vec<&str> =
        audit.json["items"].as_array().expect("items").iter().filter_map(|a| a["action"].as_str()).collect();
    assert!(actions.contains(&"api_key.create") && actions.contains(&"api_key.revoke"), "{actions:?}");
}

async fn repeated_failed_logins_are_refused_for_a_while() {
    let w = world().await;
    for _ in 0..5 {
        let r = w.server.login(ADMIN_EMAIL, "wrong password!").await;
        assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    }
    let locked = w.server.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!((locked.status, locked.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"), "{}", locked.text);
    let wait: u64 = locked.headers["retry-after"].to_str().expect("text").parse().expect("seconds");
    assert!(wait > 0 && wait <= 900);
    let metrics =
        reqwest::get(format!("{}/metrics", w.server.base)).await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains(r#"datagenie_logins_total{outcome="failure"} 5"#), "{metrics}");
    assert!(metrics.contains(r#"datagenie_logins_total{outcome="locked"} 1"#));
    let audit = w.server.get("/api/v1/audit?action=auth.login", &w.admin).await;
    let failures = audit.json["items"].as_array().expect("items").iter().filter(|a| a["result"] == "failure").count();
    assert_eq!(failures, 6);
}

/// (method, route as documented, path, body, status for an admin, a user, a viewer).
type MatrixRow<'a> = (Method, &'a str, String, Option<Value>, u16, u16, u16);

/// Every role × every route × own and someone else's resource, with the expected status; every route of the
/// OpenAPI document is in the table (a new route without a row fails this test).
async fn the_authorization_matrix() {
    let w = world().await;
    let (user_id, user) = w.user("user@example.com", "user").await;
    let (viewer_id, viewer) = w.user("viewer@example.com", "viewer").await;
    let (doomed_id, _) = w.user("doomed@example.com", "viewer").await;
    w.grant(&user_id, json!({})).await;
    w.grant(&viewer_id, json!({"allowed_tables": ["orders"]})).await;
    let spare = w
        .server
        .post(
            "/api/v1/connections",
            &w.admin,
            json!({"name": "spare", "url": w.env.path("shop.db").display().to_string()}),
        )
        .await;
    let spare = spare.json["id"].as_str().expect("spare").to_string();
    w.server
        .request(
            Method::PUT,
            &format!("/api/v1/connections/{spare}/permissions/{doomed_id}"),
            Some(&w.admin),
            Some(json!({})),
        )
        .await;
    let admin = w.admin.clone();
    // Each non-admin's session, answered question (with a chart), API key and template.
    let mut mine: BTreeMap<(&str, &str), String> = BTreeMap::new();
    for (name, token) in [("user", &user), ("viewer", &viewer)] {
        let s = w.server.post("/api/v1/sessions", token, json!({"connection_id": "shop"})).await;
        assert_eq!(s.status, StatusCode::CREATED, "{}", s.text);
        mine.insert((name, "session"), s.json["id"].as_str().expect("id").to_string());
        let a = w.ask(token, "How many orders are there per customer_id?").await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert!(a.json["chart"].is_object(), "a chart to serve: {}", a.text);
        mine.insert((name, "history"), a.json["history_id"].as_str().expect("history").to_string());
        let k = w.server.post("/api/v1/api-keys", token, json!({"name": "k"})).await;
        mine.insert((name, "key"), k.json["id"].as_str().expect("key id").to_string());
    }
    let t = w
        .server
        .post("/api/v1/templates", &user, json!({"history_id": mine[&("user", "history")], "name": "per customer"}))
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.text);
    let ut = t.json["id"].as_str().expect("template").to_string();
    let k = w
        .server
        .post(
            "/api/v1/knowledge",
            &w.admin,
            json!({"connection": "shop", "kind": "glossary", "term": "doomed", "definition": "d"}),
        )
        .await;
    assert_eq!(k.status, StatusCode::CREATED, "{}", k.text);
    let kid = k.json["id"].as_str().expect("knowledge item").to_string();
    let c = &w.connection_id;
    let (us, vs, uh, vh, uk) = (
        &mine[&("user", "session")],
        &mine[&("viewer", "session")],
        &mine[&("user", "history")],
        &mine[&("viewer", "history")],
        &mine[&("user", "key")],
    );
    let ask = json!({"connection_id": "shop", "question": "How many orders are there?"});
    let uj = w.server.post("/api/v1/jobs", &user, ask.clone()).await;
    assert_eq!(uj.status, StatusCode::ACCEPTED, "{}", uj.text);
    let uj = uj.json["id"].as_str().expect("job").to_string();
    // (method, route as documented, path, body, admin, user, viewer); rows run in order, viewer then user then admin.
    let rows: Vec<MatrixRow> = vec![
        (Method::GET, "/api/v1/me", "/api/v1/me".into(), None, 200, 200, 200),
        (Method::PATCH, "/api/v1/me", "/api/v1/me".into(), Some(json!({"full_name": "Me"})), 200, 200, 200),
        (Method::GET, "/api/v1/api-keys", "/api/v1/api-keys".into(), None, 200, 200, 200),
        (Method::POST, "/api/v1/api-keys", "/api/v1/api-keys".into(), Some(json!({"name": "m"})), 201, 201, 201),
        (Method::DELETE, "/api/v1/api-keys/{id}", format!("/api/v1/api-keys/{uk}"), None, 204, 204, 404),
        (Method::GET, "/api/v1/users", "/api/v1/users".into(), None, 200, 403, 403),
        (
            Method::POST,
            "/api/v1/users",
            "/api/v1/users".into(),
            Some(json!({"email": "n@example.com", "password": "12345678"})),
            201,
            403,
            403,
        ),
        (Method::GET, "/api/v1/users/{id}", format!("/api/v1/users/{user_id}"), None, 200, 200, 403),
        (Method::GET, "/api/v1/users/{id}/credits", format!("/api/v1/users/{user_id}/credits"), None, 200, 200, 403),
        (
            Method::POST,
            "/api/v1/users/{id}/credits",
            format!("/api/v1/users/{user_id}/credits"),
            Some(json!({"amount": 10})),
            201,
            403,
            403,
        ),
        (
            Method::PATCH,
            "/api/v1/users/{id}",
            format!("/api/v1/users/{viewer_id}"),
            Some(json!({"daily_token_limit": 5000})),
            200,
            403,
            403,
        ),
        (Method::DELETE, "/api/v1/users/{id}", format!("/api/v1/users/{doomed_id}"), None, 204, 403, 403),
        (Method::GET, "/api/v1/connections", "/api/v1/connections".into(), None, 200, 200, 200),
        (
            Method::POST,
            "/api/v1/connections",
            "/api/v1/connections".into(),
            Some(json!({"name": "other", "url": "/nonexistent/x.db"})),
            404,
            403,
            403,
        ),
        (Method::POST, "/api/v1/files", "/api/v1/files".into(), Some(json!({"not": "multipart"})), 400, 400, 403),
        (Method::GET, "/api/v1/connections/{id}", format!("/api/v1/connections/{c}"), None, 200, 200, 200),
        (Method::GET, "/api/v1/connections/{id}", format!("/api/v1/connections/{spare}"), None, 200, 404, 404),
        (
            Method::PATCH,
            "/api/v1/connections/{id}",
            format!("/api/v1/connections/{c}"),
            Some(json!({"description": "d"})),
            200,
            403,
            403,
        ),
        (Method::POST, "/api/v1/connections/{id}/test", format!("/api/v1/connections/{c}/test"), None, 200, 403, 403),
        (Method::POST, "/api/v1/connections/{id}/sync", format!("/api/v1/connections/{c}/sync"), None, 200, 403, 403),
        (
            Method::DELETE,
            "/api/v1/connections/{id}/cache",
            format!("/api/v1/connections/{c}/cache"),
            None,
            200,
            403,
            403,
        ),
        (
            Method::GET,
            "/api/v1/connections/{id}/schema",
            format!("/api/v1/connections/{c}/schema"),
            None,
            200,
            200,
            200,
        ),
        (
            Method::GET,
            "/api/v1/connections/{id}/schema",
            format!("/api/v1/connections/{spare}/schema"),
            None,
            200,
            404,
            404,
        ),
        (
            Method::GET,
            "/api/v1/connections/{id}/suggestions",
            format!("/api/v1/connections/{c}/suggestions?lang=ko"),
            None,
            200,
            200,
            200,
        ),
        (
            Method::GET,
            "/api/v1/connections/{id}/suggestions",
            format!("/api/v1/connections/{spare}/suggestions"),
            None,
            200,
            404,
            404,
        ),
        (
            Method::GET,
            "/api/v1/connections/{id}/permissions",
            format!("/api/v1/connections/{c}/permissions"),
            None,
            200,
            403,
            403,
        ),
        (
            Method::PUT,
            "/api/v1/connections/{id}/permissions/{user_id}",
            format!("/api/v1/connections/{c}/permissions/{viewer_id}"),
            Some(json!({"allowed_tables": ["orders"]})),
            200,
            403,
            403,
        ),
        (
            Method::DELETE,
            "/api/v1/connections/{id}/permissions/{user_id}",
            format!("/api/v1/connections/{spare}/permissions/{doomed_id}"),
            None,
            404,
            403,
            403,
        ),
        (Method::DELETE, "/api/v1/connections/{id}", format!("/api/v1/connections/{spare}"), None, 204, 403, 403),
        (Method::GET, "/api/v1/sessions", "/api/v1/sessions".into(), None, 200, 200, 200),
        (
            Method::POST,
            "/api/v1/sessions",
            "/api/v1/sessions".into(),
            Some(json!({"connection_id": "shop"})),
            201,
            201,
            201,
        ),
        (Method::GET, "/api/v1/sessions/{id}", format!("/api/v1/sessions/{us}"), None, 404, 200, 404),
        (Method::GET, "/api/v1/sessions/{id}/messages", format!("/api/v1/sessions/{vs}/messages"), None, 404, 404, 200),
        (
            Method::PATCH,
            "/api/v1/sessions/{id}",
            format!("/api/v1/sessions/{us}"),
            Some(json!({"title": "t"})),
            404,
            200,
            404,
        ),
        (Method::DELETE, "/api/v1/sessions/{id}", format!("/api/v1/sessions/{vs}"), None, 404, 404, 204),
        (Method::POST, "/api/v1/ask", "/api/v1/ask".into(), Some(ask.clone()), 200, 200, 200),
        (Method::POST, "/api/v1/jobs", "/api/v1/jobs".into(), Some(ask), 202, 202, 202),
        (Method::GET, "/api/v1/jobs/{id}", format!("/api/v1/jobs/{uj}"), None, 200, 200, 404),
        (Method::DELETE, "/api/v1/jobs/{id}", "/api/v1/jobs/no-such-job".into(), None, 404, 404, 404),
        // a question's job has no output; another user's job is not there at all
        (Method::GET, "/api/v1/jobs/{id}/output.csv", format!("/api/v1/jobs/{uj}/output.csv"), None, 404, 404, 404),
        (Method::GET, "/api/v1/history", "/api/v1/history".into(), None, 200, 200, 200),
        (Method::GET, "/api/v1/history", format!("/api/v1/history?user_id={viewer_id}"), None, 200, 403, 200),
        (Method::GET, "/api/v1/history/{id}", format!("/api/v1/history/{uh}"), None, 200, 200, 404),
        (Method::GET, "/api/v1/history/{id}", format!("/api/v1/history/{vh}"), None, 200, 404, 200),
        (Method::GET, "/api/v1/history/{id}/chart.svg", format!("/api/v1/history/{vh}/chart.svg"), None, 200, 404, 200),
        (Method::GET, "/api/v1/history/{id}/chart.png", format!("/api/v1/history/{uh}/chart.png"), None, 200, 200, 404),
        (Method::GET, "/api/v1/history/{id}/rows.csv", format!("/api/v1/history/{vh}/rows.csv"), None, 200, 404, 200),
        (Method::GET, "/api/v1/templates", "/api/v1/templates?connection_id=shop".into(), None, 200, 200, 200),
        (
            Method::POST,
            "/api/v1/templates",
            "/api/v1/templates".into(),
            Some(json!({"history_id": uh, "name": "t"})),
            409,
            201,
            403,
        ),
        (Method::POST, "/api/v1/templates/{id}/verify", format!("/api/v1/templates/{ut}/verify"), None, 200, 403, 403),
        (Method::DELETE, "/api/v1/templates/{id}", format!("/api/v1/templates/{ut}"), None, 404, 204, 404),
        (Method::GET, "/api/v1/usage", "/api/v1/usage".into(), None, 200, 200, 200),
        (Method::GET, "/api/v1/usage", "/api/v1/usage?user_id=all".into(), None, 200, 403, 403),
        (Method::GET, "/api/v1/audit", "/api/v1/audit".into(), None, 200, 403, 403),
        (Method::GET, "/api/v1/audit/verify", "/api/v1/audit/verify".into(), None, 200, 403, 403),
        (Method::GET, "/api/v1/settings", "/api/v1/settings".into(), None, 200, 403, 403),
        (
            Method::PUT,
            "/api/v1/settings/{key}",
            "/api/v1/settings/max_query_rows".into(),
            Some(json!({"value": 5000})),
            200,
            403,
            403,
        ),
        (
            Method::POST,
            "/api/v1/history/{id}/verify",
            format!("/api/v1/history/{uh}/verify"),
            Some(json!({"verified": true})),
            200,
            200,
            404,
        ),
        (
            Method::POST,
            "/api/v1/history/{id}/verify",
            format!("/api/v1/history/{vh}/verify"),
            Some(json!({"verified": true})),
            200,
            404,
            200,
        ),
        (Method::GET, "/api/v1/knowledge", "/api/v1/knowledge?connection=shop".into(), None, 200, 200, 200),
        (
            Method::POST,
            "/api/v1/knowledge",
            "/api/v1/knowledge".into(),
            Some(json!({"connection": "shop", "kind": "glossary", "term": "t", "definition": "d"})),
            201,
            403,
            403,
        ),
        (
            Method::GET,
            "/api/v1/knowledge/search",
            "/api/v1/knowledge/search?connection=shop&q=orders".into(),
            None,
            200,
            200,
            200,
        ),
        (Method::DELETE, "/api/v1/knowledge/{id}", format!("/api/v1/knowledge/{kid}"), None, 204, 403, 403),
        (Method::POST, "/api/v1/auth/logout", "/api/v1/auth/logout".into(), None, 204, 204, 204),
    ];
    let mut wrong = Vec::new();
    for (method, _, path, body, a, u, v) in &rows {
        for (role, token, expected) in [("viewer", &viewer, v), ("user", &user, u), ("admin", &admin, a)] {
            if *path == "/api/v1/auth/logout" {
                continue; // last: it ends the logins the other rows use
            }
            let r = w.server.request(method.clone(), path, Some(token), body.clone()).await;
            if r.status.as_u16() != *expected {
                wrong.push(format!("{role} {method} {path}: {} (expected {expected}) {}", r.status.as_u16(), r.text));
            }
        }
    }
    // Without credentials, or with a malformed or foreign token, every one is 401.
    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    for (method, _, path, body, ..) in &rows {
        for token in [None, Some(forged), Some("dg_000000000000_ffff")] {
            let r = w.server.request(method.clone(), path, token, body.clone()).await;
            if r.status != StatusCode::UNAUTHORIZED || r.code() != "unauthenticated" {
                wrong.push(format!("{token:?} {method} {path}: {}", r.status));
            }
        }
    }
    for (token, expected) in [(&viewer, 204), (&user, 204), (&admin, 204)] {
        let r = w.server.request(Method::POST, "/api/v1/auth/logout", Some(token), None).await;
        if r.status.as_u16() != expected {
            wrong.push(format!("logout: {}", r.status));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Every documented operation has a row (the public ones are listed here).
    let public = [
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /api/openapi.json",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/refresh",
    ];
    let covered: std::collections::BTreeSet<String> =
        rows.iter().map(|(m, route, ..)| format!("{m} {route}")).chain(public.iter().map(|s| s.to_string())).collect();
    let doc: Value =
        reqwest::get(format!("{}/api/openapi.json", w.server.base)).await.expect("doc").json().await.expect("json");
    let mut missing = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            let op = format!("{} {path}", method.to_uppercase());
            if !covered.contains(&op) {
                missing.push(op);
            }
        }
    }
    assert!(missing.is_empty(), "routes without a row in the matrix: {missing:?}");
}

async fn token_limits_stop_llm_questions_but_not_free_answers() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) AS n FROM customers"))).await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_ASK__BUILTIN_FIRST", "true");
    let w = world_with(env).await;
    let (user_id, user) = w.user("limited@example.com", "user").await;
    w.grant(&user_id, json!({})).await;
    let patch = w
        .server
        .request(
            Method::PATCH,
            &format!("/api/v1/users/{user_id}"),
            Some(&w.admin),
            Some(json!({"hourly_token_limit": 50})),
        )
        .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.text);
    // The first LLM question fits (nothing used yet) and costs 120 tokens.
    let first = w.ask(&user, "xyzzy plugh frobnicate?").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json["source"]["kind"], "llm");
    let second = w.ask(&user, "xyzzy plugh frobnicate?").await;
    assert_eq!((second.status, second.code()), (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"), "{}", second.text);
    assert!(second.headers.contains_key("retry-after"));
    // The built-in engine still answers: free answers are not blocked.
    let free = w.ask(&user, "How many orders are there?").await;
    assert_eq!(free.status, StatusCode::OK, "{}", free.text);
    assert_ne!(free.json["source"]["kind"], "llm");
    let usage = w.server.get("/api/v1/usage?group_by=model", &user).await;
    let tokens: i64 = usage.json["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["prompt_tokens"].as_i64().unwrap_or(0) + r["completion_tokens"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(tokens, 120, "{}", usage.text);
    let history = w.server.get("/api/v1/history?status=refused", &user).await;
    assert_eq!(history.json["items"][0]["error_code"], "quota_exceeded", "{}", history.text);
}

async fn the_event_stream_reports_progress_in_order() {
    let llm = ScriptedLlm::start(vec![sql("SELECT nope FROM orders"), sql("SELECT COUNT(*) AS n FROM orders")]).await;
    let w = world_with(Env::with_openai(&llm.base_url)).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/ask", w.server.base))
        .bearer_auth(&w.admin)
        .header("Accept", "text/event-stream")
        .json(&json!({"connection_id": "shop", "question": "how many orders"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap_or("").starts_with("text/event-stream"));
    let text = resp.text().await.expect("stream");
    let events: Vec<(String, Value)> = text
        .split("\n\n")
        .filter_map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((name.to_string(), serde_json::from_str(data).ok()?))
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"source"), "{names:?}");
    let attempts: Vec<&Value> = events.iter().filter(|(n, _)| n == "attempt").map(|(_, v)| v).collect();
    assert_eq!(attempts.len(), 2, "{names:?}");
    assert_eq!(attempts[0]["error"]["code"], "query_failed");
    assert!(attempts[1]["error"].is_null());
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap_or(usize::MAX);
    assert!(pos("attempt") < pos("rows") && pos("rows") < pos("answer"), "{names:?}");
    assert_eq!(names.last(), Some(&"answer"));
    let answer = &events.last().expect("answer").1;
    assert_eq!(answer["rows"], json!([[6]]));
    assert!(answer["history_id"].is_string());
}

async fn a_follow_up_carries_the_earlier_turn_to_the_llm() {
    let llm = ScriptedLlm::start(vec![
        sql("SELECT customer_id, COUNT(*) AS orders FROM orders GROUP BY customer_id"),
        sql("SELECT customer_id, COUNT(*) AS orders FROM orders WHERE order_date >= '2024-02-01' GROUP BY customer_id"),
    ])
    .await;
    let w = world_with(Env::with_openai(&llm.base_url)).await;
    let s = w.server.post("/api/v1/sessions", &w.admin, json!({"connection_id": "shop", "title": "orders"})).await;
    let sid = s.json["id"].as_str().expect("session").to_string();
    let ask = |q: &str| {
        w.server.post("/api/v1/ask", &w.admin, json!({"connection_id": "shop", "question": q, "session_id": sid}))
    };
    let first = ask("orders per customer").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json["session_id"], sid.as_str());
    let second = ask("now only from February").await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let prompts = llm.requests();
    assert_eq!(prompts.len(), 2);
    let follow_up = prompts[1].text();
    assert!(follow_up.contains("orders per customer"), "the earlier question: {follow_up}");
    assert!(follow_up.contains("GROUP BY customer_id"), "the earlier SQL: {follow_up}");
    assert!(!prompts[0].text().contains("now only from February"));
    let messages = w.server.get(&format!("/api/v1/sessions/{sid}/messages"), &w.admin).await;
    let roles: Vec<&str> =
        messages.json["items"].as_array().expect("items").iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, vec!["user", "assistant", "user", "assistant"]);
}

async fn faults_give_stable_codes_and_lose_nothing() {
    let llm = ScriptedLlm::start(vec![
        Step::Status(500, "boom".into()),
        Step::Garbage,
        Step::Slow(Duration::from_secs(30), "SELECT 1".into()),
        Step::Reply("I would rather not write SQL for that.".into()),
    ])
    .await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_LLM__TIMEOUT_SECS", "1");
    env.set("DATAGENIE_ASK__MAX_ATTEMPTS", "1");
    let w = world_with(env).await;
    let q = "list the customers with their cities and order counts";
    let codes: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            let r = w.ask(&w.admin, q).await;
            assert!(r.status.is_server_error() || r.status.is_client_error(), "{}", r.text);
            v.push(r.code().to_string());
        }
        v
    };
    assert_eq!(codes, vec!["llm_unreachable", "llm_bad_response", "llm_timeout", "llm_no_sql"]);
    // A failed question's tokens count: the reply without SQL used 100 + 20.
    let usage = w.server.get("/api/v1/usage?group_by=model", &w.admin).await;
    let tokens: i64 = usage.json["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["prompt_tokens"].as_i64().unwrap_or(0) + r["completion_tokens"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(tokens, 120, "{}", usage.text);
    // The user's database gone: a clear error too.
    std::fs::copy(w.env.path("shop.db"), w.env.path("copy.db")).expect("copy");
    let db = w.env.path("copy.db").display().to_string();
    let c = w.server.post("/api/v1/connections", &w.admin, json!({"name": "copy", "url": db})).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    std::fs::remove_file(w.env.path("copy.db")).expect("remove");
    let gone = w
        .server
        .post("/api/v1/ask", &w.admin, json!({"connection_id": "copy", "question": "How many orders are there?"}))
        .await;
    assert!(gone.status.is_client_error() || gone.status.is_server_error());
    assert_eq!(gone.code(), "database_not_found", "{}", gone.text);
    let history = w.server.get("/api/v1/history", &w.admin).await;
    assert_eq!(history.json["items"].as_array().map(Vec::len), Some(5), "every failure is recorded");
    let bad = w.server.request(Method::POST, "/api/v1/ask", Some(&w.admin), None).await;
    assert_eq!((bad.status.as_u16() / 100, bad.code()), (4, "invalid_argument"), "{}", bad.text);
    let empty = w.server.post("/api/v1/ask", &w.admin, json!({"connection_id": "shop", "question": "  "})).await;
    assert_eq!(empty.code(), "invalid_question");
    let unknown = w.server.post("/api/v1/ask", &w.admin, json!({"connection_id": "nope", "question": "x?"})).await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::NOT_FOUND, "not_found"));
}

async fn two_hundred_questions_from_twenty_users_are_all_recorded() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) AS n FROM orders"))).await;
    let w = world_with(Env::with_openai(&llm.base_url)).await;
    w.no_cache().await; // every user is charged for each question
    let mut users = Vec::new();
    for i in 0..20 {
        let (id, token) = w.user(&format!("u{i}@example.com"), "user").await;
        w.grant(&id, json!({})).await;
        let none = json!({"hourly_token_limit": null, "daily_token_limit": null, "monthly_token_limit": null});
        w.server.request(Method::PATCH, &format!("/api/v1/users/{id}"), Some(&w.admin), Some(none)).await;
        users.push((id, token));
    }
    let mut tasks = Vec::new();
    for (_, token) in &users {
        for j in 0..10 {
            let (server, token) = (w.server.base.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let r = reqwest::Client::new()
                    .post(format!("{server}/api/v1/ask"))
                    .bearer_auth(token)
                    .json(&json!({"connection_id": "shop", "question": format!("how many orders, take {j}")}))
                    .send()
                    .await
                    .expect("send");
                r.status()
            }));
        }
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), StatusCode::OK);
    }
    let mut total = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/history?limit=500&cursor={c}"),
            None => "/api/v1/history?limit=500".into(),
        };
        let page = w.server.get(&path, &w.admin).await;
        total += page.json["items"].as_array().map_or(0, Vec::len);
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(total, 200);
    let usage = w.server.get("/api/v1/usage?group_by=user&user_id=all", &w.admin).await;
    let rows = usage.json["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 20, "{}", usage.text);
    for r in rows {
        assert_eq!(r["questions"], 10, "{r}");
        assert_eq!(
            r["prompt_tokens"].as_i64().unwrap_or(0) + r["completion_tokens"].as_i64().unwrap_or(0),
            1200,
            "{r}"
        );
    }
}

async fn a_killed_server_restarts_with_its_history_and_an_intact_audit_chain() {
    let w = world().await;
    let mut answered = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (base, token) = (w.server.base.clone(), w.admin.clone());
        tasks.push(tokio::spawn(async move {
            let r = reqwest::Client::new()
                .post(format!("{base}/api/v1/ask"))
                .bearer_auth(token)
                .json(&json!({"connection_id": "shop", "question": "How many orders are there?"}))
                .send()
                .await;
            match r {
                Ok(r) if r.status() == StatusCode::OK => {
                    r.json::<Value>().await.ok().and_then(|v| v["history_id"].as_str().map(str::to_string))
                }
                _ => None,
            }
        }));
        if i == 20 {
            // Kill it mid-burst: some questions are answered, some cut off.
            let first = tasks.remove(0).await.expect("task");
            answered.extend(first);
        }
    }
    let World { env, server, .. } = w;
    server.kill().await;
    for t in tasks {
        answered.extend(t.await.expect("task"));
    }
    assert!(!answered.is_empty());
    let verify = env.run(&["audit", "verify"]).await;
    assert_eq!(verify.code, 0, "{verify:?}");
    let server = Server::start(&env).await;
    let admin = server.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for id in &answered {
        let r = server.get(&format!("/api/v1/history/{id}"), &admin).await;
        assert_eq!(r.status, StatusCode::OK, "answered {id} is in history");
    }
}

async fn secrets_never_appear_in_responses_logs_or_the_data_dir() {
    let llm = ScriptedLlm::start(vec![sql("SELECT COUNT(*) FROM orders")]).await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_LOG", "debug");
    let w = world_with(env).await;
    let pg_password = "pg-Pa55word-XYZ";
    let c = w
        .server
        .post(
            "/api/v1/connections",
            &w.admin,
            json!({"name": "warehouse", "engine": "postgres", "host": "127.0.0.1", "port": 1, "database": "dw",
                   "username": "reader", "password": pg_password}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let shown = c.json["display_url"].as_str().unwrap_or("");
    assert!(shown.starts_with("postgres://reader:") && shown.ends_with("@127.0.0.1:1/dw"), "{}", c.text);
    let key = w.server.post("/api/v1/api-keys", &w.admin, json!({"name": "k"})).await.json["key"]
        .as_str()
        .expect("key")
        .to_string();
    let login = w.server.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let refresh = login.json["refresh_token"].as_str().expect("refresh").to_string();
    let mut bodies = String::new();
    for path in [
        "/api/v1/connections",
        "/api/v1/connections/warehouse",
        "/api/v1/audit?limit=500",
        "/api/v1/settings",
        "/api/v1/me",
        "/api/v1/api-keys",
        "/api/v1/users",
    ] {
        bodies.push_str(&w.server.get(path, &w.admin).await.text);
    }
    bodies.push_str(&w.server.post("/api/v1/connections/warehouse/test", &w.admin, json!({})).await.text);
    bodies.push_str(&w.ask(&w.admin, "count orders").await.text);
    bodies.push_str(
        &w.server.post("/api/v1/ask", &w.admin, json!({"connection_id": "warehouse", "question": "count"})).await.text,
    );
    let secrets = [pg_password, ADMIN_PASSWORD, "password-of-user", &key, &key[16..], &refresh, "sk-test-SECRET-123"];
    let log = w.server.log();
    assert!(log.contains("request"), "the log is captured: {log}");
    for s in secrets {
        assert!(!bodies.contains(s), "a response shows {s}");
        assert!(!log.contains(s), "the log shows {s}");
    }
    // The data directory: no secret in clear in any file.
    let mut files = vec![env_data(&w.env)];
    let mut bytes = Vec::new();
    while let Some(dir) = files.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let p = entry.path();
            if p.is_dir() { files.push(p) } else { bytes.extend(std::fs::read(&p).unwrap_or_default()) }
        }
    }
    let haystack = String::from_utf8_lossy(&bytes);
    for s in [pg_password, ADMIN_PASSWORD, &key, &refresh] {
        assert!(!haystack.contains(s), "the data dir holds {s} in clear");
    }
}

/// A 2 MiB body (the limit is 1 MiB) written on a raw connection while the answer is read: the server may answer
/// before reading it all, which an HTTP client reports as a broken pipe instead of the answer.
async fn oversized_request(server: &Server, token: &str) -> (String, String) {
    use tokio::io::AsyncReadExt;
    let addr = server.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    let len = 2 << 20;
    let head = format!(
        "POST /api/v1/ask HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    tokio::spawn(async move {
        let _ = write.write_all(head.as_bytes()).await;
        let _ = write.write_all(&vec![b' '; len]).await;
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), read.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.lines().next().unwrap_or_default().to_string();
    (status, text)
}

fn env_data(env: &Env) -> std::path::PathBuf {
    env.path("data")
}

async fn operations_endpoints_and_the_openapi_document() {
    let w = world().await;
    let get = |p: &str| reqwest::get(format!("{}{p}", w.server.base));
    let health = get("/healthz").await.expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.headers().contains_key("x-request-id"));
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
    let ready: Value = get("/readyz").await.expect("readyz").json().await.expect("json");
    assert_eq!(ready["status"], "ready");
    let doc: Value = get("/api/openapi.json").await.expect("openapi").json().await.expect("json");
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/ask",
        "/api/v1/auth/login",
        "/api/v1/connections/{id}/permissions/{user_id}",
        "/api/v1/history/{id}/chart.svg",
        "/metrics",
    ] {
        assert!(paths.contains_key(p), "{p} is documented");
    }
    assert!(
        doc["components"]["schemas"]
            .as_object()
            .is_some_and(|s| s.contains_key("User") && s.contains_key("HistoryEntry"))
    );
    // An unknown route and a wrong body are JSON errors with stable codes; a big body is refused.
    let r = w.server.get("/api/v1/nothing-here", &w.admin).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = w.server.post("/api/v1/users", &w.admin, json!({"email": 5})).await;
    assert_eq!(r.code(), "invalid_argument", "{}", r.text);
    let (status, body) = oversized_request(&w.server, &w.admin).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert!(body.contains("payload_too_large"), "{body}");
    let dup = w.server.post("/api/v1/users", &w.admin, json!({"email": ADMIN_EMAIL, "password": "12345678"})).await;
    assert_eq!((dup.status, dup.code()), (StatusCode::CONFLICT, "already_exists"));
    // The max_query_rows setting caps every answer; a request may ask for fewer rows, never more.
    let grouped = "How many orders are there per customer_id?";
    let full = w.ask(&w.admin, grouped).await;
    assert_eq!((full.json["rows"].as_array().map(Vec::len), full.json["truncated"].as_bool()), (Some(4), Some(false)));
    let put = w
        .server
        .request(Method::PUT, "/api/v1/settings/max_query_rows", Some(&w.admin), Some(json!({"value": 2})))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let capped = w.ask(&w.admin, grouped).await;
    assert_eq!(
        (capped.json["rows"].as_array().map(Vec::len), capped.json["truncated"].as_bool()),
        (Some(2), Some(true))
    );
    let more = w
        .server
        .post("/api/v1/ask", &w.admin, json!({"connection_id": "shop", "question": grouped, "max_rows": 3}))
        .await;
    assert_eq!(more.json["rows"].as_array().map(Vec::len), Some(2), "not past the setting");
    let fewer = w
        .server
        .post("/api/v1/ask", &w.admin, json!({"connection_id": "shop", "question": grouped, "max_rows": 1}))
        .await;
    assert_eq!(fewer.json["rows"].as_array().map(Vec::len), Some(1));
    let bad = w
        .server
        .request(Method::PUT, "/api/v1/settings/max_query_rows", Some(&w.admin), Some(json!({"value": "lots"})))
        .await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "invalid_argument"));

    let weak = cli_user(&w.env, "weak@example.com", "user", "short").await;
    assert_eq!(weak.code, 2, "{weak:?}");
    let metrics = get("/metrics").await.expect("metrics").text().await.expect("text");
    assert!(
        metrics.contains("datagenie_http_requests_total{route=\"/api/v1/users\",method=\"POST\",status=\"409\"} 1"),
        "{metrics}"
    );
}

async fn templates_are_saved_from_history_verified_by_an_admin_and_then_answer_without_the_llm() {
    let llm = ScriptedLlm::start(vec![sql("SELECT COUNT(*) AS big_orders FROM orders WHERE quantity > 1")]).await;
    let w = world_with(Env::with_openai(&llm.base_url)).await;
    w.no_cache().await; // what answers must be the template or the (gone) LLM, never a cached reply
    let (user_id, user) = w.user("analyst@example.com", "user").await;
    let (viewer_id, viewer) = w.user("viewer@example.com", "viewer").await;
    let (other_id, other) = w.user("other@example.com", "user").await;
    for id in [&user_id, &viewer_id, &other_id] {
        w.grant(id, json!({})).await;
    }
    let asked = w.ask(&user, "how many big orders").await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    let history_id = asked.json["history_id"].as_str().expect("history").to_string();
    let body = json!({"history_id": history_id, "name": "big orders"});
    let viewer_try = w.server.post("/api/v1/templates", &viewer, body.clone()).await;
    assert_eq!(viewer_try.status, StatusCode::FORBIDDEN, "viewers do not save templates");
    let not_theirs = w.server.post("/api/v1/templates", &other, body.clone()).await;
    assert_eq!(not_theirs.status, StatusCode::NOT_FOUND, "someone else's history: {}", not_theirs.text);
    let self_verified = w
        .server
        .post("/api/v1/templates", &user, json!({"history_id": history_id, "name": "x", "verified": true}))
        .await;
    assert_eq!(self_verified.status, StatusCode::FORBIDDEN);
    let created = w.server.post("/api/v1/templates", &user, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.json["id"].as_str().expect("id").to_string();
    assert_eq!(
        (created.json["verified"].as_bool(), created.json["owner"].as_str()),
        (Some(false), Some(user_id.as_str()))
    );

    // Private: the other user does not see it; its owner does.
    let path = "/api/v1/templates?connection_id=shop";
    assert_eq!(w.server.get(path, &other).await.json["items"].as_array().map(Vec::len), Some(0));
    assert_eq!(w.server.get(path, &user).await.json["items"].as_array().map(Vec::len), Some(1));
    let unverified = w.ask(&user, "how many big orders").await;
    assert_eq!(unverified.code(), "llm_unreachable", "an unverified template answers nothing: {}", unverified.text);

    assert_eq!(
        w.server.post(&format!("/api/v1/templates/{id}/verify"), &user, json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    let verified = w.server.post(&format!("/api/v1/templates/{id}/verify"), &w.admin, json!({})).await;
    assert_eq!(
        (verified.status, verified.json["verified"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{}",
        verified.text
    );
    let answered = w.ask(&other, "How many big orders?").await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text);
    assert_eq!(answered.json["source"]["kind"], "template");
    assert_eq!(answered.json["usage"]["prompt_tokens"], 0);
    assert_eq!(llm.requests().len(), 2, "the template answered without the LLM");

    assert_eq!(
        w.server.request(Method::DELETE, &format!("/api/v1/templates/{id}"), Some(&other), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.server.request(Method::DELETE, &format!("/api/v1/templates/{id}"), Some(&user), None).await.status,
        StatusCode::NO_CONTENT
    );
    let audit = w.server.get("/api/v1/audit?resource_type=query_template", &w.admin).await;
    let actions: Vec<&str> =
        audit.json["items"].as_array().expect("items").iter().filter_map(|a| a["action"].as_str()).collect();
    assert_eq!(actions, vec!["template.delete", "template.verify", "template.create"]);
}

async fn the_llm_is_shown_only_what_the_asker_may_read() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) FROM orders"))).await;
    let w = world_with(Env::with_openai(&llm.base_url)).await;
    let (viewer_id, viewer) = w.user("viewer@example.com", "viewer").await;
    w.grant(&viewer_id, json!({"allowed_tables": ["orders(id,quantity,order_date)"]})).await;
    let r = w.ask(&viewer, "how many orders").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let admin = w.ask(&w.admin, "how many orders").await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.text);
    let prompts = llm.requests();
    let (theirs, full) = (prompts[0].text(), prompts[1].text());
    for hidden in ["customers", "products", "customer_id", "product_id", "Alice Park", "노트북"] {
        assert!(!theirs.contains(hidden), "the viewer's prompt shows {hidden}:\n{theirs}");
    }
    assert!(theirs.contains("quantity") && theirs.contains("order_date"));
    assert!(full.contains("customers") && full.contains("product_id"), "the admin's prompt has everything:\n{full}");
}

async fn sigterm_lets_a_question_in_flight_finish() {
    let llm = ScriptedLlm::start(vec![Step::Slow(
        Duration::from_millis(1500),
        "```sql\nSELECT COUNT(*) FROM orders\n```".into(),
    )])
    .await;
    let w = world_with(Env::with_openai(&llm.base_url)).await;
    let (base, token) = (w.server.base.clone(), w.admin.clone());
    let question = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{base}/api/v1/ask"))
            .bearer_auth(token)
            .json(&json!({"connection_id": "shop", "question": "count the orders"}))
            .send()
            .await
            .expect("send")
            .status()
    });
    llm.received(1).await;
    let World { server, .. } = w;
    let code = server.terminate().await;
    assert_eq!(question.await.expect("task"), StatusCode::OK, "the question in flight was answered");
    assert_eq!(code, 0);
}

async fn a_locked_system_database_gives_a_clear_error_and_loses_nothing() {
    let w = world().await;
    let first = w.ask(&w.admin, "How many orders are there?").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    // Another process holds the write lock past the store's busy timeout.
    let other = rusqlite::Connection::open(env_data(&w.env).join("datagenie.db")).expect("open");
    other.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let locked = w.ask(&w.admin, "How many orders are there?").await;
    assert_eq!(
        (locked.status, locked.code()),
        (StatusCode::INTERNAL_SERVER_ERROR, "system_database"),
        "{}",
        locked.text
    );
    assert!(!locked.text.contains("datagenie.db"), "no server path in the answer: {}", locked.text);
    let read = w.server.get("/api/v1/history", &w.admin).await;
    assert_eq!(read.status, StatusCode::OK, "reads go on beside the lock: {}", read.text);
    other.execute_batch("ROLLBACK").expect("unlock");
    let after = w.ask(&w.admin, "How many orders are there?").await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    let history = w.server.get("/api/v1/history", &w.admin).await;
    let ids: Vec<&str> =
        history.json["items"].as_array().expect("items").iter().filter_map(|h| h["id"].as_str()).collect();
    assert_eq!(
        ids,
        vec![after.json["history_id"].as_str().expect("id"), first.json["history_id"].as_str().expect("id")]
    );
    let verify = w.env.run(&["audit", "verify"]).await;
    assert_eq!(verify.code, 0, "{verify:?}");
}

async fn a_changed_connection_is_reopened() {
    let w = world().await;
    assert_eq!(w.ask(&w.admin, "How many orders are there?").await.json["rows"], json!([[6]]));
    let smaller = w.env.path("smaller.db");
    let c = rusqlite::Connection::open(&smaller).expect("create");
    c.execute_batch(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, quantity INTEGER); INSERT INTO orders VALUES (1, 1), (2, 5);",
    )
    .expect("fill");
    drop(c);
    let url = smaller.display().to_string();
    let patch =
        w.server.request(Method::PATCH, "/api/v1/connections/shop", Some(&w.admin), Some(json!({"url": url}))).await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.text);
    assert_eq!(
        w.ask(&w.admin, "How many orders are there?").await.json["rows"],
        json!([[2]]),
        "the new database answers"
    );
    let engine = w
        .server
        .request(
            Method::PATCH,
            "/api/v1/connections/shop",
            Some(&w.admin),
            Some(json!({"url": "postgres://x@127.0.0.1:1/db"})),
        )
        .await;
    assert_eq!(
        (engine.status, engine.code()),
        (StatusCode::BAD_REQUEST, "invalid_argument"),
        "a connection keeps its engine"
    );
    let audit = w.server.get("/api/v1/audit?action=connection.update", &w.admin).await;
    let entry = &audit.json["items"][0];
    assert!(entry["old_values"]["display_url"].as_str().unwrap_or("").ends_with("shop.db"), "{entry}");
    assert!(entry["new_values"]["display_url"].as_str().unwrap_or("").ends_with("smaller.db"), "{entry}");
}

async fn cors_is_off_unless_configured_and_slow_requests_time_out() {
    let w = world().await;
    let preflight = |base: String, origin: &'static str| async move {
        reqwest::Client::new()
            .request(Method::OPTIONS, format!("{base}/api/v1/ask"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .expect("preflight")
    };
    let off = preflight(w.server.base.clone(), "https://bi.example.com").await;
    assert!(!off.headers().contains_key("access-control-allow-origin"), "{:?}", off.headers());

    let llm = ScriptedLlm::start(vec![Step::Slow(Duration::from_secs(5), "```sql\nSELECT 1\n```".into())]).await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_SERVER__CORS_ORIGINS", r#"["https://bi.example.com"]"#);
    env.set("DATAGENIE_SERVER__REQUEST_TIMEOUT_SECS", "1");
    let w = world_with(env).await;
    let allowed = preflight(w.server.base.clone(), "https://bi.example.com").await;
    assert_eq!(
        allowed.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap_or("")),
        Some("https://bi.example.com")
    );
    let other = preflight(w.server.base.clone(), "https://evil.example.com").await;
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    let slow = w.ask(&w.admin, "count the orders").await;
    assert_eq!((slow.status, slow.code()), (StatusCode::SERVICE_UNAVAILABLE, "request_timeout"), "{}", slow.text);
}

/// `datagenie user …`, `migrate` and `audit verify` at the command line, with `--data-dir`.
async fn account_commands_and_audit_verify_at_the_command_line() {
    let env = Env::new();
    let dir = env.path("elsewhere");
    let dir_arg = dir.display().to_string();
    let migrate = env.run(&["--data-dir", &dir_arg, "migrate"]).await;
    assert_eq!(migrate.code, 0, "{migrate:?}");
    assert!(migrate.stdout.contains("schema version"), "{}", migrate.stdout);
    assert!(dir.join("datagenie.db").is_file() && dir.join("secret.key").is_file(), "--data-dir holds the state");

    let mut with_dir = Env::new();
    with_dir.set("DATAGENIE_PATHS__DATA_DIR", &dir_arg);
    for (email, role) in [(ADMIN_EMAIL, "admin"), ("ana@example.com", "user")] {
        let out = cli_user(&with_dir, email, role, ADMIN_PASSWORD).await;
        assert_eq!(out.code, 0, "{out:?}");
    }
    let again = cli_user(&with_dir, "ana@example.com", "user", ADMIN_PASSWORD).await;
    assert_eq!(again.code, 2, "a taken email: {again:?}");
    assert!(again.stderr.contains("already_exists"), "{}", again.stderr);
    let list = with_dir.run(&["user", "list", "--format", "json"]).await;
    let users: Value = serde_json::from_str(&list.stdout).expect("json");
    let emails: Vec<&str> = users.as_array().expect("array").iter().filter_map(|u| u["email"].as_str()).collect();
    assert_eq!(emails.len(), 2);
    assert!(!list.stdout.contains("argon2"), "no password hash in the list");

    let server = Server::start(&with_dir).await;
    let ana = server.token("ana@example.com", ADMIN_PASSWORD).await;
    let mut cmd = with_dir.command(&["user", "set-password", "ana@example.com", "--password-stdin"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"a new password for ana\n").await.expect("write");
    drop(stdin);
    let out = child.wait_with_output().await.expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(server.get("/api/v1/me", &ana).await.status, StatusCode::UNAUTHORIZED, "a new password ends the logins");
    assert_eq!(server.login("ana@example.com", ADMIN_PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    let ana = server.token("ana@example.com", "a new password for ana").await;
    let disable = with_dir.run(&["user", "disable", "ana@example.com"]).await;
    assert_eq!(disable.code, 0, "{disable:?}");
    assert_eq!(
        server.get("/api/v1/me", &ana).await.status,
        StatusCode::UNAUTHORIZED,
        "a disabled account stops at once"
    );
    assert_eq!(server.login("ana@example.com", "a new password for ana").await.status, StatusCode::UNAUTHORIZED);
    let unknown = with_dir.run(&["user", "disable", "nobody@example.com"]).await;
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("not_found"), "{}", unknown.stderr);
    drop(server);

    // An intact chain, then one edited row: exit 1 naming it.
    let ok = with_dir.run(&["audit", "verify"]).await;
    assert_eq!(ok.code, 0, "{ok:?}");
    let db = rusqlite::Connection::open(dir.join("datagenie.db")).expect("open");
    db.execute_batch(
        "DROP TRIGGER audit_logs_no_update; UPDATE audit_logs SET reason = 'nothing to see' WHERE seq = 2;",
    )
    .expect("tamper");
    drop(db);
    let broken = with_dir.run(&["audit", "verify"]).await;
    assert_eq!(broken.code, 1, "{broken:?}");
    assert!(broken.stdout.contains("row 2"), "{}", broken.stdout);
}

/// `GET /api/v1/audit/verify`: an admin sees the chain intact with its row count; anyone else is refused; after a row
/// is edited in the system database it names the first broken row and why.
async fn the_audit_chain_is_verified_over_the_api() {
    let w = world().await;
    let (_, user) = w.user("ana@example.com", "user").await;
    let ok = w.server.get("/api/v1/audit/verify", &w.admin).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.json["ok"], json!(true), "{}", ok.text);
    assert!(ok.json["rows"].as_i64().is_some_and(|n| n > 0), "{}", ok.text);
    documented_as(&w.server, &ok.json, "AuditVerification").await;
    let refused = w.server.get("/api/v1/audit/verify", &user).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::FORBIDDEN, "forbidden"), "{}", refused.text);

    let db = rusqlite::Connection::open(env_data(&w.env).join("datagenie.db")).expect("open");
    let id: String = db.query_row("SELECT id FROM audit_logs WHERE seq = 2", [], |r| r.get(0)).expect("row 2");
    db.execute_batch(
        "DROP TRIGGER audit_logs_no_update; UPDATE audit_logs SET reason = 'nothing to see' WHERE seq = 2;",
    )
    .expect("tamper");
    drop(db);
    let broken = w.server.get("/api/v1/audit/verify", &w.admin).await;
    assert_eq!(broken.status, StatusCode::OK, "{}", broken.text);
    assert_eq!(
        (&broken.json["ok"], &broken.json["broken_at"], &broken.json["id"], &broken.json["rows"]),
        (&json!(false), &json!(2), &json!(id), &json!(1)),
        "{}",
        broken.text
    );
    assert!(broken.json["reason"].as_str().is_some_and(|r| r.contains("hash")), "{}", broken.text);
    documented_as(&w.server, &broken.json, "AuditVerification").await;
}

/// The web UI's files come from the binary with the server's security headers, and revalidate by ETag; a UI login
/// keeps its refresh token in an HttpOnly cookie that refreshes only with the CSRF header, rotates, is revoked with
/// its whole login when an old value comes back, and is cleared at logout.
async fn the_web_ui_is_served_and_its_session_lives_in_a_cookie() {
    let w = world().await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", w.server.base);
    let page = http.get(url("/")).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let csp = page.headers()["content-security-policy"].to_str().expect("csp").to_string();
    assert!(csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(page.text().await.expect("html").contains("src=\"/ui/app.js\""));
    let js = http.get(url("/ui/app.js")).send().await.expect("js");
    assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");
    let etag = js.headers()["etag"].clone();
    let again = http.get(url("/ui/app.js")).header("if-none-match", etag).send().await.expect("js again");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    for missing in ["/ui/nope.js", "/ui/index.html", "/ui/..%2Fsrc%2Flib.rs"] {
        let r = http.get(url(missing)).send().await.expect("missing");
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{missing}");
    }

    let login = |session: &'static str| {
        let body = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "session": session});
        http.post(url("/api/v1/auth/login")).json(&body).send()
    };
    let bad = login("sometimes").await.expect("login");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let cookie_of = |r: &reqwest::Response| -> String {
        let set = r.headers()["set-cookie"].to_str().expect("cookie").to_string();
        for part in ["HttpOnly", "SameSite=Strict", "Path=/api/v1/auth"] {
            assert!(set.contains(part), "{set}");
        }
        set.split(';').next().expect("name=value").to_string()
    };
    let r = login("cookie").await.expect("login");
    assert_eq!(r.status(), StatusCode::OK);
    let first = cookie_of(&r);
    assert!(first.starts_with("dg_refresh=dgr_"), "{first}");
    let body: Value = r.json().await.expect("json");
    assert!(body.get("refresh_token").is_none() && body["access_token"].is_string(), "{body}");

    let refresh = |cookie: String, csrf: bool| {
        let mut req = http.post(url("/api/v1/auth/refresh")).header("cookie", cookie);
        if csrf {
            req = req.header("x-datagenie-csrf", "1");
        }
        req.send()
    };
    let r = refresh(first.clone(), false).await.expect("refresh");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF header, no refresh");
    let r = http.post(url("/api/v1/auth/refresh")).header("x-datagenie-csrf", "1").send().await.expect("refresh");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no cookie, no body");
    let r = refresh(first.clone(), true).await.expect("refresh");
    assert_eq!(r.status(), StatusCode::OK);
    let second = cookie_of(&r);
    assert_ne!(second, first, "the cookie rotates");
    let body: Value = r.json().await.expect("json");
    assert!(body.get("refresh_token").is_none());
    let me = w.server.get("/api/v1/me", body["access_token"].as_str().expect("access")).await;
    assert_eq!(me.status, StatusCode::OK);
    // The first value again: refused, the cookie cleared, and the whole login revoked (the second value too).
    let r = refresh(first, true).await.expect("reuse");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["set-cookie"].to_str().expect("cookie").contains("Max-Age=0"));
    assert_eq!(refresh(second, true).await.expect("after reuse").status(), StatusCode::UNAUTHORIZED);

    // Logout with the cookie ends that login and clears the cookie.
    let r = login("cookie").await.expect("login");
    let cookie = cookie_of(&r);
    let access = r.json::<Value>().await.expect("json")["access_token"].as_str().expect("access").to_string();
    let out = http
        .post(url("/api/v1/auth/logout"))
        .bearer_auth(&access)
        .header("cookie", cookie.clone())
        .header("x-datagenie-csrf", "1")
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(out.headers()["set-cookie"].to_str().expect("cookie").contains("Max-Age=0"));
    assert_eq!(refresh(cookie, true).await.expect("after logout").status(), StatusCode::UNAUTHORIZED);
    assert_eq!(w.server.get("/api/v1/me", &access).await.status, StatusCode::UNAUTHORIZED);
}

/// Suggestions are questions the built-in engine answers about what the caller may read: a viewer granted `orders`
/// is offered questions about orders only, in the language asked for; a verified template comes first, but only
/// when its SQL reads what the caller may read.
async fn suggestions_stay_within_the_grant_and_are_answered_without_an_llm() {
    let w = world().await;
    let (viewer_id, viewer) = w.user("viewer@example.com", "viewer").await;
    w.grant(&viewer_id, json!({"allowed_tables": ["orders"]})).await;
    let path = format!("/api/v1/connections/{}/suggestions", w.connection_id);
    let mine = w.server.get(&path, &viewer).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    let questions: Vec<String> = mine.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["question"].as_str().expect("question").to_string())
        .collect();
    assert!(!questions.is_empty());
    for q in &questions {
        assert!(q.contains("orders") && !q.contains("customers") && !q.contains("products"), "{q}");
        let r = w.ask(&viewer, q).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
        assert_eq!(r.json["source"]["kind"], "builtin", "{q}: {}", r.text);
    }
    let korean = w.server.get(&format!("{path}?lang=ko"), &viewer).await;
    let first = korean.json["items"][0]["question"].as_str().unwrap_or_default().to_string();
    assert!(first.chars().any(|c| ('가'..='힣').contains(&c)), "{}", korean.text);
    assert_eq!(w.ask(&viewer, &first).await.json["source"]["kind"], "builtin", "{first}");
    // Templates: one on customers (not the viewer's) and one on orders, both verified by the admin.
    for (question, name) in [("How many customers are there?", "customers"), ("How many orders are there?", "orders")] {
        let answered = w.ask(&w.admin, question).await;
        let id = answered.json["history_id"].as_str().expect("history").to_string();
        let body = json!({"history_id": id, "name": name, "questions": [format!("{name} in total")], "public": true, "verified": true});
        let t = w.server.post("/api/v1/templates", &w.admin, body).await;
        assert_eq!(t.status, StatusCode::CREATED, "{}", t.text);
    }
    let mine = w.server.get(&path, &viewer).await;
    let items = mine.json["items"].as_array().expect("items");
    assert_eq!(items[0], json!({"question": "orders in total", "source": "template"}), "{}", mine.text);
    assert!(
        items.iter().skip(1).all(|s| s["source"] == "schema"),
        "the customers template is not the viewer's: {}",
        mine.text
    );
    let all = w.server.get(&path, &w.admin).await;
    let templates = all.json["items"].as_array().expect("items").iter().filter(|s| s["source"] == "template").count();
    assert_eq!(templates, 2, "{}", all.text);
    // Bad input: an unknown parameter, a connection that is not there.
    let bad = w.server.get(&format!("{path}?language=ko"), &viewer).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let missing = w.server.get("/api/v1/connections/nope/suggestions", &viewer).await;
    assert_eq!((missing.status, missing.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", missing.text);
}

/// The result cache (seed 000) answers a repeated question without running its query, and never across
/// permission scopes: a user whose grant filters rows, and one whose grant lists tables, each get entries of their
/// own even where the SQL text is the same; an admin's purge empties a connection's; hits and misses are counted.
async fn the_result_cache_never_crosses_permission_scopes() {
    let w = world().await;
    let (all_id, all) = w.user("all@example.com", "user").await;
    w.grant(&all_id, json!({})).await;
    let (mine_id, mine) = w.user("mine@example.com", "user").await;
    w.grant(&mine_id, json!({"row_filters": [{"table": "orders", "condition": "customer_id = 1"}]})).await;
    let (listed_id, listed) = w.user("listed@example.com", "user").await;
    w.grant(&listed_id, json!({"allowed_tables": ["orders", "customers", "products"]})).await;
    let q = "How many orders are there?";
    let cached = |r: &Reply| (r.json["rows"].clone(), r.json["cache"]["rows"].as_str().unwrap_or("none").to_string());

    let first = w.ask(&all, q).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(cached(&first), (json!([[6]]), "miss".to_string()));
    let again = w.ask(&all, q).await;
    assert_eq!(cached(&again), (json!([[6]]), "hit".to_string()));
    assert!(again.json["cache"]["rows_cached_at"].is_string(), "{}", again.text);
    assert_eq!(again.json["sql"], first.json["sql"]);

    // a row filter: another SQL text, another scope — never the 6 rows of the unfiltered grant
    let filtered = w.ask(&mine, q).await;
    assert_eq!(cached(&filtered), (json!([[2]]), "miss".to_string()), "{}", filtered.text);
    assert_eq!(cached(&w.ask(&mine, q).await), (json!([[2]]), "hit".to_string()));
    // the same SQL text under another grant is another scope too
    let other = w.ask(&listed, q).await;
    assert_eq!(other.json["sql"], first.json["sql"], "the same text");
    assert_eq!(cached(&other), (json!([[6]]), "miss".to_string()));

    // a purge empties the connection's entries: the next question runs its query again
    let purge = w
        .server
        .request(Method::DELETE, &format!("/api/v1/connections/{}/cache", w.connection_id), Some(&w.admin), None)
        .await;
    assert_eq!(purge.status, StatusCode::OK, "{}", purge.text);
    assert_eq!((purge.json["purged"].as_u64(), purge.json["cache"].as_str()), (Some(3), Some("memory")));
    assert_eq!(cached(&w.ask(&all, q).await).1, "miss");
    let denied = w
        .server
        .request(Method::DELETE, &format!("/api/v1/connections/{}/cache", w.connection_id), Some(&all), None)
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    let metrics =
        reqwest::get(format!("{}/metrics", w.server.base)).await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("datagenie_cache_total{kind=\"rows\",outcome=\"hit\"} 2"), "{metrics}");
    assert!(metrics.contains("datagenie_cache_total{kind=\"rows\",outcome=\"miss\"} 4"), "{metrics}");

    // a time to live of 0 turns the cache off
    w.no_cache().await;
    let off = w.ask(&all, q).await;
    assert!(off.json.get("cache").is_none(), "{}", off.text);
}

/// The LLM's reply to a deterministic request (temperature 0) is kept: the same question asked again is answered
/// without calling the LLM, costing no tokens; its SQL still passes the asker's guard.
async fn a_repeated_question_reuses_the_llms_reply() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) AS n FROM customers"))).await;
    let w = world_with(Env::with_openai(&llm.base_url)).await;
    let q = "count the customers for me";
    let first = w.ask(&w.admin, q).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json["cache"]["llm_misses"], 1, "{}", first.text);
    assert!(first.json["usage"]["prompt_tokens"].as_u64().is_some_and(|n| n > 0));
    let second = w.ask(&w.admin, q).await;
    assert_eq!(second.json["cache"]["llm_hits"], 1, "{}", second.text);
    assert_eq!(second.json["usage"]["prompt_tokens"], 0);
    assert_eq!(second.json["rows"], first.json["rows"]);
    assert_eq!(llm.requests().len(), 1, "the LLM was asked once");
    // a viewer who may not read customers gets the cached reply's SQL refused by the guard, not its rows
    let (viewer_id, viewer) = w.user("v@example.com", "viewer").await;
    w.grant(&viewer_id, json!({"allowed_tables": ["orders"]})).await;
    let refused = w.ask(&viewer, q).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
}

/// Tiers and credits (seed 004), with billing on: an LLM-answered question costs a credit (the tier's monthly
/// credits come first); a failed one and one answered from the LLM-reply cache are refunded; with none left, a
/// question that needs the LLM is refused (402) and the balance never goes below 0; an admin grants and takes back
/// credits and changes tiers; admins themselves are exempt.
async fn credits_pay_for_llm_answers_and_failures_are_refunded() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) AS n FROM customers"))).await;
    let w = world_with(Env::with_openai(&llm.base_url)).await;
    let put = |key: &'static str, value: Value| {
        let path = format!("/api/v1/settings/{key}");
        let admin = w.admin.clone();
        let server = &w.server;
        async move { server.request(Method::PUT, &path, Some(&admin), Some(json!({"value": value}))).await }
    };
    let mut tiers = w.server.get("/api/v1/settings", &w.admin).await.json["items"]
        .as_array()
        .and_then(|items| items.iter().find(|s| s["key"] == "tiers").map(|s| s["value"].clone()))
        .expect("the tiers setting");
    tiers["free"]["monthly_credits"] = json!(3);
    assert_eq!(put("tiers", tiers).await.status, StatusCode::OK);
    let bad = put("tiers", json!({"Gold Plan": {}})).await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "invalid_argument"), "{}", bad.text);
    assert_eq!(put("billing_enabled", json!(true)).await.status, StatusCode::OK);
    let (u_id, u) = w.user("payer@example.com", "user").await;
    w.grant(&u_id, json!({})).await;
    let credits = |id: String| {
        let admin = w.admin.clone();
        let server = &w.server;
        async move { server.get(&format!("/api/v1/users/{id}/credits"), &admin).await }
    };

    let first = w.ask(&u, "how many customers are there, roughly").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let view = credits(u_id.clone()).await;
    assert_eq!((view.json["balance"].as_i64(), view.json["tier"].as_str()), (Some(2), Some("free")), "{}", view.text);
    let kinds: Vec<&str> =
        view.json["transactions"].as_array().expect("rows").iter().filter_map(|t| t["kind"].as_str()).collect();
    assert_eq!(kinds, ["question", "monthly_grant"], "newest first");

    // the same question again: the LLM's reply comes from the cache, so it is free
    let again = w.ask(&u, "how many customers are there, roughly").await;
    assert_eq!(again.json["cache"]["llm_hits"], 1, "{}", again.text);
    assert_eq!(credits(u_id.clone()).await.json["balance"], 2);

    // a question that fails (the LLM's SQL reads a table this grant does not) is refunded
    let (v_id, v) = w.user("narrow@example.com", "user").await;
    w.grant(&v_id, json!({"allowed_tables": ["orders"]})).await;
    let failed = w.ask(&v, "count customers please").await;
    assert_eq!(failed.status, StatusCode::FORBIDDEN, "{}", failed.text);
    let view = credits(v_id.clone()).await;
    assert_eq!(view.json["balance"], 3, "{}", view.text);
    assert_eq!(view.json["transactions"][0]["kind"], "refund");
    assert!(view.json["transactions"][0]["history_id"].is_string());

    // spent to 0, then refused; never below 0
    w.no_cache().await;
    for _ in 0..2 {
        assert_eq!(w.ask(&u, "how many customers are there, roughly").await.status, StatusCode::OK);
    }
    let broke = w.ask(&u, "how many customers are there, roughly").await;
    assert_eq!((broke.status, broke.code()), (StatusCode::PAYMENT_REQUIRED, "insufficient_credits"), "{}", broke.text);
    assert_eq!(credits(u_id.clone()).await.json["balance"], 0);

    // an admin grants, and cannot take back more than there is
    let grant = w
        .server
        .post(&format!("/api/v1/users/{u_id}/credits"), &w.admin, json!({"amount": 5, "description": "top-up"}))
        .await;
    assert_eq!((grant.status, grant.json["balance_after"].as_i64()), (StatusCode::CREATED, Some(5)), "{}", grant.text);
    let take = w.server.post(&format!("/api/v1/users/{u_id}/credits"), &w.admin, json!({"amount": -10})).await;
    assert_eq!((take.status, take.code()), (StatusCode::PAYMENT_REQUIRED, "insufficient_credits"));
    assert_eq!(credits(u_id.clone()).await.json["balance"], 5);
    let zero = w.server.post(&format!("/api/v1/users/{u_id}/credits"), &w.admin, json!({"amount": 0})).await;
    assert_eq!(zero.status, StatusCode::BAD_REQUEST);
    let own = w.server.post(&format!("/api/v1/users/{u_id}/credits"), &u, json!({"amount": 100})).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "a user cannot grant themselves credits");
    assert_eq!(w.server.get(&format!("/api/v1/users/{v_id}/credits"), &u).await.status, StatusCode::FORBIDDEN);
    assert_eq!(w.server.get(&format!("/api/v1/users/{u_id}/credits"), &u).await.status, StatusCode::OK);

    // tiers: an admin moves a user to another one; an unknown one is refused
    let path = format!("/api/v1/users/{u_id}");
    let pro = w.server.request(Method::PATCH, &path, Some(&w.admin), Some(json!({"tier": "pro"}))).await;
    assert_eq!((pro.status, pro.json["tier"].as_str()), (StatusCode::OK, Some("pro")), "{}", pro.text);
    let gold = w.server.request(Method::PATCH, &path, Some(&w.admin), Some(json!({"tier": "gold"}))).await;
    assert_eq!(gold.status, StatusCode::BAD_REQUEST, "{}", gold.text);

    // the admin is exempt: their questions touch no credits
    assert_eq!(w.ask(&w.admin, "how many customers are there, roughly").await.status, StatusCode::OK);
    let me = w.server.get("/api/v1/me", &w.admin).await;
    let admin_id = me.json["id"].as_str().expect("id").to_string();
    let view = credits(admin_id).await;
    assert_eq!((view.json["billing_applies"].as_bool(), view.json["balance"].as_i64()), (Some(false), Some(0)));
}

/// Polls a job through `server` until it ends (at most 60 s): its final state.
async fn job_outcome(server: &Server, token: &str, id: &str) -> Reply {
    let ended = async {
        loop {
            let r = server.get(&format!("/api/v1/jobs/{id}"), token).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            if matches!(r.json["status"].as_str(), Some("succeeded" | "failed" | "cancelled")) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), ended).await.expect("the job ends within a minute")
}

/// The job queue (seed 004): a queued question is answered by a worker and lands in the history under the job's
/// id; a job on an unknown connection fails with the reason; someone else's job is not found; a job that ended
/// cannot be cancelled; on a server whose workers are off a queued job waits, and is cancelled.
async fn jobs_are_answered_in_the_history_and_can_be_cancelled() {
    let w = world().await;
    let (u_id, u) = w.user("queuer@example.com", "user").await;
    w.grant(&u_id, json!({})).await;
    let queued = w
        .server
        .post("/api/v1/jobs", &u, json!({"connection_id": "shop", "question": "How many orders are there?"}))
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
    let id = queued.json["id"].as_str().expect("id").to_string();
    let done = job_outcome(&w.server, &u, &id).await;
    assert_eq!(
        (done.json["status"].as_str(), done.json["attempts"].as_i64()),
        (Some("succeeded"), Some(1)),
        "{}",
        done.text
    );
    assert_eq!(done.json["history_id"].as_str(), Some(id.as_str()), "the answer is the history row with the job's id");
    let entry = w.server.get(&format!("/api/v1/history/{id}"), &u).await;
    assert_eq!(entry.status, StatusCode::OK, "{}", entry.text);
    assert_eq!(entry.json["status"], "success", "{}", entry.text);
    let again = w.server.request(Method::DELETE, &format!("/api/v1/jobs/{id}"), Some(&u), None).await;
    assert_eq!((again.status, again.code()), (StatusCode::BAD_REQUEST, "invalid_argument"), "{}", again.text);
    let (_, other) = w.user("other@example.com", "user").await;
    assert_eq!(w.server.get(&format!("/api/v1/jobs/{id}"), &other).await.status, StatusCode::NOT_FOUND);

    let lost =
        w.server.post("/api/v1/jobs", &u, json!({"connection_id": "nowhere", "question": "How many orders?"})).await;
    let lost = job_outcome(&w.server, &u, lost.json["id"].as_str().expect("id")).await;
    assert_eq!((lost.json["status"].as_str(), lost.json["error_code"].as_str()), (Some("failed"), Some("not_found")));
    let empty = w.server.post("/api/v1/jobs", &u, json!({"connection_id": "shop", "question": "  "})).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.text);

    let mut idle = Env::new();
    idle.set("DATAGENIE_SERVER__JOB_WORKERS", "0");
    let idle = world_with(idle).await;
    let waiting = idle
        .server
        .post("/api/v1/jobs", &idle.admin, json!({"connection_id": "shop", "question": "How many orders are there?"}))
        .await;
    let wid = waiting.json["id"].as_str().expect("id").to_string();
    assert_eq!(idle.server.get(&format!("/api/v1/jobs/{wid}"), &idle.admin).await.json["status"], "queued");
    let cancelled = idle.server.request(Method::DELETE, &format!("/api/v1/jobs/{wid}"), Some(&idle.admin), None).await;
    assert_eq!(
        (cancelled.status, cancelled.json["status"].as_str()),
        (StatusCode::OK, Some("cancelled")),
        "{}",
        cancelled.text
    );
}

/// A long export: a job with `export_rows` answers beyond the interactive row cap (`ask.max_rows` 2 here), within
/// the grant's own row limit, and keeps its rows as CSV; the output is its asker's (and an admin's) once the job
/// succeeded; a question's job has none; caps beyond the `max_export_rows` setting, and bad settings, are refused.
async fn long_exports_keep_their_rows_as_csv() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT id, quantity FROM orders ORDER BY id"))).await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_ASK__MAX_ROWS", "2");
    let w = world_with(env).await;
    w.no_cache().await;
    let (u_id, u) = w.user("exporter@example.com", "user").await;
    w.grant(&u_id, json!({})).await;
    let question = "every order's quantity";
    let asked = w.ask(&u, question).await;
    assert_eq!(asked.json["rows"], json!([[1, 1], [2, 2]]), "interactive: the cap of 2: {}", asked.text);

    let export = |n: Value| json!({"connection_id": "shop", "question": question, "export_rows": n});
    let queued = w.server.post("/api/v1/jobs", &u, export(json!(100))).await;
    assert_eq!((queued.status, &queued.json["export_rows"]), (StatusCode::ACCEPTED, &json!(100)), "{}", queued.text);
    let id = queued.json["id"].as_str().expect("id").to_string();
    let done = job_outcome(&w.server, &u, &id).await;
    assert_eq!(done.json["status"], "succeeded", "{}", done.text);
    let path = format!("/api/v1/jobs/{id}/output.csv");
    let csv = w.server.get(&path, &u).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert_eq!(csv.text, "id,quantity\n1,1\n2,2\n3,10\n4,1\n5,3\n6,1\n");
    assert_eq!(csv.headers.get("x-datagenie-rows").and_then(|v| v.to_str().ok()), Some("6"));
    assert_eq!(csv.headers.get("x-datagenie-truncated").and_then(|v| v.to_str().ok()), Some("false"));
    assert!(csv.headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/csv")));
    assert_eq!(w.server.get(&path, &w.admin).await.status, StatusCode::OK, "an admin reads anyone's");
    let (_, other) = w.user("nosy@example.com", "user").await;
    assert_eq!(w.server.get(&path, &other).await.status, StatusCode::NOT_FOUND, "not another user's");
    let history = w.server.get(&format!("/api/v1/history/{id}"), &u).await;
    assert_eq!((history.status, &history.json["row_count"]), (StatusCode::OK, &json!(6)), "{}", history.text);

    // the grant's row limit binds an export too
    w.grant(&u_id, json!({"max_rows": 4})).await;
    let capped = w.server.post("/api/v1/jobs", &u, export(json!(100))).await;
    let capped = job_outcome(&w.server, &u, capped.json["id"].as_str().expect("id")).await;
    let capped_csv =
        w.server.get(&format!("/api/v1/jobs/{}/output.csv", capped.json["id"].as_str().expect("id")), &u).await;
    assert_eq!(capped_csv.text.lines().count(), 5, "a header and the grant's 4 rows: {}", capped_csv.text);
    assert_eq!(capped_csv.headers.get("x-datagenie-truncated").and_then(|v| v.to_str().ok()), Some("true"));

    // a question's job keeps no output
    let plain = w.server.post("/api/v1/jobs", &u, json!({"connection_id": "shop", "question": question})).await;
    let plain = job_outcome(&w.server, &u, plain.json["id"].as_str().expect("id")).await;
    let none = w.server.get(&format!("/api/v1/jobs/{}/output.csv", plain.json["id"].as_str().expect("id")), &u).await;
    assert_eq!((none.status, none.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", none.text);
    assert!(plain.json.get("export_rows").is_none(), "a question's job shows no export_rows: {}", plain.text);

    // refused caps, and the setting that bounds them
    for bad in [json!(0), json!(-5), json!(100_001), json!("all"), json!(2.5)] {
        let r = w.server.post("/api/v1/jobs", &u, export(bad.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "export_rows {bad}: {}", r.text);
    }
    let setting = |v: Value| {
        let server = &w.server;
        let admin = w.admin.clone();
        async move {
            server
                .request(Method::PUT, "/api/v1/settings/max_export_rows", Some(&admin), Some(json!({"value": v})))
                .await
        }
    };
    for bad in [json!(0), json!(10_000_001), json!("many")] {
        let r = setting(bad.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_argument"), "{bad}: {}", r.text);
    }
    assert_eq!(setting(json!(5)).await.status, StatusCode::OK);
    let over = w.server.post("/api/v1/jobs", &u, export(json!(6))).await;
    assert_eq!((over.status, over.code()), (StatusCode::BAD_REQUEST, "invalid_argument"), "{}", over.text);
    assert!(over.text.contains("max_export_rows"), "{}", over.text);
    assert_eq!(w.server.post("/api/v1/jobs", &u, export(json!(5))).await.status, StatusCode::ACCEPTED);
}

/// `datagenie backup` copies the system database while the server runs, and never overwrites a file; `datagenie
/// restore` refuses to replace an installation without --force, then puts the backup in place and keeps what it
/// replaced; a file that is not a backup is refused; a PostgreSQL system database is pointed to pg_dump.
async fn backup_and_restore_an_installation() {
    let w = world().await;
    w.user("kept@example.com", "user").await;
    let backup = w.env.path("backups").join("dg.db");
    let b = backup.display().to_string();
    let out = w.env.run(&["backup", &b]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("2 users") && out.stdout.contains("(checked)"), "{}", out.stdout);
    let again = w.env.run(&["backup", &b]).await;
    assert_ne!(again.code, 0);
    assert!(again.stderr.contains("already_exists") || again.stderr.contains("never overwrites"), "{}", again.stderr);
    w.user("later@example.com", "user").await;
    let World { env, server, .. } = w;
    assert_eq!(server.terminate().await, 0);

    let refused = env.run(&["restore", &b]).await;
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    let junk = env.path("junk.db");
    std::fs::write(&junk, b"not a database at all").expect("junk");
    let bad = env.run(&["restore", "--force", &junk.display().to_string()]).await;
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("not a DataGenie system database backup"), "{}", bad.stderr);
    let restored = env.run(&["restore", "--force", &b]).await;
    assert_eq!(restored.code, 0, "{restored:?}");
    assert!(
        restored.stdout.contains("the audit chain verifies") && restored.stdout.contains("kept as"),
        "{}",
        restored.stdout
    );
    let users = env.run(&["user", "list", "--format", "json"]).await;
    let emails: Vec<String> = users
        .json()
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["email"].as_str().map(str::to_string))
        .collect();
    assert!(
        emails.contains(&"kept@example.com".to_string()) && !emails.contains(&"later@example.com".to_string()),
        "{emails:?}"
    );

    let mut pg = Env::new();
    pg.set("DATAGENIE_SYSTEM_DB__URL", "postgres://dg:Hunter22@db.internal:5432/state");
    let told = pg.run(&["backup", &env.path("pg.dump").display().to_string()]).await;
    assert_ne!(told.code, 0);
    assert!(told.stderr.contains("pg_dump") && !told.stderr.contains("Hunter22"), "{}", told.stderr);
}

pub fn tests() -> Group {
    Group::new("server").tests(tests![
        backup_and_restore_an_installation,
        jobs_are_answered_in_the_history_and_can_be_cancelled,
        long_exports_keep_their_rows_as_csv,
        credits_pay_for_llm_answers_and_failures_are_refunded,
        the_readme_walk,
        the_result_cache_never_crosses_permission_scopes,
        a_repeated_question_reuses_the_llms_reply,
        refresh_tokens_rotate_and_a_reused_one_revokes_the_login,
        api_keys_work_until_revoked_and_never_show_their_secret_again,
        repeated_failed_logins_are_refused_for_a_while,
        the_authorization_matrix,
        token_limits_stop_llm_questions_but_not_free_answers,
        the_event_stream_reports_progress_in_order,
        a_follow_up_carries_the_earlier_turn_to_the_llm,
        faults_give_stable_codes_and_lose_nothing,
        two_hundred_questions_from_twenty_users_are_all_recorded,
        a_killed_server_restarts_with_its_history_and_an_intact_audit_chain,
        secrets_never_appear_in_responses_logs_or_the_data_dir,
        operations_endpoints_and_the_openapi_document,
        templates_are_saved_from_history_verified_by_an_admin_and_then_answer_without_the_llm,
        the_llm_is_shown_only_what_the_asker_may_read,
        sigterm_lets_a_question_in_flight_finish,
        a_locked_system_database_gives_a_clear_error_and_loses_nothing,
        a_changed_connection_is_reopened,
        cors_is_off_unless_configured_and_slow_requests_time_out,
        account_commands_and_audit_verify_at_the_command_line,
        suggestions_stay_within_the_grant_and_are_answered_without_an_llm,
        the_audit_chain_is_verified_over_the_api,
        the_web_ui_is_served_and_its_session_lives_in_a_cookie,
    ])
}
