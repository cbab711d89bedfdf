//! Several servers on one PostgreSQL system database (`DATAGENIE_SYSTEM_DB__URL`), as behind a load balancer: two
//! real `datagenie serve` processes with data directories of their own (nothing shared on disk) and one
//! `DATAGENIE_SECRET_KEY` behave as one service. Each test gets a fresh schema of the server named by
//! `DATAGENIE_TEST_POSTGRES_URL` (`?schema=…`, created by the first server that opens it) and drops it at the end.
//! Also: `datagenie migrate` on PostgreSQL, and an installation moved from SQLite with `datagenie system-db copy`.

use std::sync::atomic::{AtomicU64, Ordering};

use datagenie_testkit::{Group, POSTGRES, REDIS, tests};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Env, shop_db};
use crate::server::{ADMIN_EMAIL, ADMIN_PASSWORD, Server, cli_user};

/// The key both servers share (a test value; a real one comes from `openssl rand -hex 32`).
const KEY: &str = "8f3c2a1b9d7e6f5a4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918f7e6d5c";

/// A schema name no other test (or test process) uses at the same time.
fn unique_schema() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("dg_it_{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos % 1_000_000)
}

/// The system database URL: the test server's database, in `schema`.
fn system_url(schema: &str) -> String {
    let admin = POSTGRES.admin_url();
    let sep = if admin.contains('?') { '&' } else { '?' };
    format!("{admin}{sep}schema={schema}")
}

async fn drop_schema(schema: &str) {
    let (client, connection) =
        tokio_postgres::connect(&POSTGRES.admin_url(), tokio_postgres::NoTls).await.expect("admin session");
    tokio::spawn(connection);
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await.expect("drop schema");
}

/// The first admin, made with the CLI on `env`'s system database.
async fn make_admin(env: &Env) {
    let out = cli_user(env, ADMIN_EMAIL, "admin", ADMIN_PASSWORD).await;
    assert_eq!(out.code, 0, "{out:?}");
}

/// An environment of its own (home, data and cache directories) on the shared system database.
fn member(schema: &str) -> Env {
    let mut env = Env::new();
    env.set("DATAGENIE_SYSTEM_DB__URL", &system_url(schema));
    env.set("DATAGENIE_SECRET_KEY", KEY);
    env.set("DATAGENIE_ASK__SUMMARY", "false");
    env
}

/// Two servers, one state: a login, a key or a question on one is seen, honoured or revoked on the other at once.
async fn two_servers_are_one_service() {
    let schema = unique_schema();
    let (a_env, b_env) = (member(&schema), member(&schema));
    make_admin(&a_env).await;
    let migrate = b_env.run(&["migrate"]).await;
    assert_eq!(migrate.code, 0, "{migrate:?}");
    assert!(migrate.stdout.contains("(postgres) at schema version"), "{}", migrate.stdout);
    shop_db(&a_env.path("shop.db"));
    let (a, b) = (Server::start(&a_env).await, Server::start(&b_env).await);

    // a token issued by one is accepted by the other
    let admin = a.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me = b.get("/api/v1/me", &admin).await;
    assert_eq!((me.status, me.json["email"].as_str()), (StatusCode::OK, Some(ADMIN_EMAIL)), "{}", me.text);

    // a connection made through one answers through the other, and the question is in the history of both
    let db = a_env.path("shop.db").display().to_string();
    let c = a.post("/api/v1/connections", &admin, json!({"name": "shop", "url": db})).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let user = a
        .post(
            "/api/v1/users",
            &admin,
            json!({"email": "ana@example.com", "password": "password-of-ana", "role": "user"}),
        )
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.text);
    let user_id = user.json["id"].as_str().expect("id").to_string();
    let grant = b
        .request(
            Method::PUT,
            &format!("/api/v1/connections/{}/permissions/{user_id}", c.json["id"].as_str().expect("id")),
            Some(&admin),
            Some(json!({"allowed_tables": ["orders"]})),
        )
        .await;
    assert_eq!(grant.status, StatusCode::OK, "{}", grant.text);
    let ana = b.token("ana@example.com", "password-of-ana").await;
    let asked =
        b.post("/api/v1/ask", &ana, json!({"connection_id": "shop", "question": "How many orders are there?"})).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    assert_eq!(asked.json["rows"], json!([[6]]));
    let history_id = asked.json["history_id"].as_str().expect("history id").to_string();
    let seen = a.get(&format!("/api/v1/history/{history_id}"), &ana).await;
    assert_eq!(seen.status, StatusCode::OK, "asked through B, read through A: {}", seen.text);
    // the permission set through B binds on A
    let refused = a
        .post("/api/v1/ask", &ana, json!({"connection_id": "shop", "question": "How many customers are there?"}))
        .await;
    assert_eq!((refused.status, refused.code()), (StatusCode::FORBIDDEN, "forbidden_table"), "{}", refused.text);

    // an API key made on A works on B until it is revoked on A; then B refuses it on the very next request
    let created = a.post("/api/v1/api-keys", &ana, json!({"name": "agent"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = created.json["key"].as_str().expect("key").to_string();
    assert_eq!(b.get("/api/v1/me", &key).await.status, StatusCode::OK);
    let id = created.json["id"].as_str().expect("id");
    let revoke = a.request(Method::DELETE, &format!("/api/v1/api-keys/{id}"), Some(&ana), None).await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT, "{}", revoke.text);
    let after = b.get("/api/v1/me", &key).await;
    assert_eq!((after.status, after.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{}", after.text);

    // a logout on B ends the login on A: its refresh token and its access token
    let login = a.login("ana@example.com", "password-of-ana").await;
    let (access, refresh) = (
        login.json["access_token"].as_str().expect("access").to_string(),
        login.json["refresh_token"].as_str().expect("refresh").to_string(),
    );
    let rotated = b.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await;
    assert_eq!(rotated.status, StatusCode::OK, "a refresh token of A rotates on B: {}", rotated.text);
    let next = rotated.json["refresh_token"].as_str().expect("refresh").to_string();
    let out = b.post("/api/v1/auth/logout", &access, json!({"refresh_token": next})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    assert_eq!(a.get("/api/v1/me", &access).await.status, StatusCode::UNAUTHORIZED);
    let again = a.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": next}))).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{}", again.text);

    // a user disabled through A is refused by B at once
    let disable = a
        .request(Method::PATCH, &format!("/api/v1/users/{user_id}"), Some(&admin), Some(json!({"active": false})))
        .await;
    assert_eq!(disable.status, StatusCode::OK, "{}", disable.text);
    assert_eq!(b.get("/api/v1/me", &ana).await.status, StatusCode::UNAUTHORIZED);

    // one audit chain, written by both, intact
    let verify = b.get("/api/v1/audit/verify", &admin).await;
    assert_eq!(verify.status, StatusCode::OK, "{}", verify.text);
    assert_eq!(verify.json["ok"], json!(true), "{}", verify.text);
    assert!(verify.json["rows"].as_i64().is_some_and(|n| n >= 5), "{}", verify.text);
    let cli = a_env.run(&["audit", "verify"]).await;
    assert_eq!(cli.code, 0, "{cli:?}");
    assert_eq!(a.terminate().await, 0);
    assert_eq!(b.terminate().await, 0);
    drop_schema(&schema).await;
}

/// A PostgreSQL system database needs the shared key: without DATAGENIE_SECRET_KEY a server refuses to start,
/// saying why; a URL of another engine, or a server that cannot be reached, is a clear error without the password.
async fn a_shared_system_database_needs_the_shared_key() {
    let schema = unique_schema();
    let mut env = member(&schema);
    env.unset("DATAGENIE_SECRET_KEY");
    let out = env.run(&["migrate"]).await;
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("DATAGENIE_SECRET_KEY"), "{}", out.stderr);
    let mut env = member(&schema);
    env.set("DATAGENIE_SYSTEM_DB__URL", "mysql://root:Hunter22@127.0.0.1:3306/x");
    let out = env.run(&["migrate"]).await;
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("system_db.url") && !out.stderr.contains("Hunter22"), "{}", out.stderr);
    env.set("DATAGENIE_SYSTEM_DB__URL", "postgres://dg:Hunter22@127.0.0.1:1/x?connect_timeout=2");
    let out = env.run(&["migrate"]).await;
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("127.0.0.1:1") && !out.stderr.contains("Hunter22"), "{}", out.stderr);
    drop_schema(&schema).await;
}

/// One server on SQLite outgrows its machine: `datagenie system-db copy` moves the installation to PostgreSQL, where
/// a server with the same key signs the same admin in, finds the history and still opens the connection (its URL
/// was sealed on SQLite). Copying again is refused: the target is no longer empty.
async fn an_installation_moves_from_sqlite_to_postgres() {
    let mut single = Env::new();
    single.set("DATAGENIE_ASK__SUMMARY", "false");
    make_admin(&single).await;
    shop_db(&single.path("shop.db"));
    let server = Server::start(&single).await;
    let admin = server.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let db = single.path("shop.db").display().to_string();
    let c = server.post("/api/v1/connections", &admin, json!({"name": "shop", "url": db})).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let asked = server
        .post("/api/v1/ask", &admin, json!({"connection_id": "shop", "question": "How many orders are there?"}))
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    assert_eq!(server.terminate().await, 0);

    // the key the single server made for itself becomes the shared key
    let data = single.path("data");
    let key = std::fs::read_to_string(data.join("secret.key")).expect("key file").trim().to_string();
    let schema = unique_schema();
    let from = format!("sqlite://{}", data.join("datagenie.db").display());
    let copy = single.run(&["system-db", "copy", "--from", &from, "--to", &system_url(&schema)]).await;
    assert_eq!(copy.code, 0, "{copy:?}");
    assert!(copy.stdout.contains("the audit chain verifies"), "{}", copy.stdout);
    assert!(copy.stdout.contains("query_history"), "{}", copy.stdout);

    let mut moved = member(&schema);
    moved.set("DATAGENIE_SECRET_KEY", &key);
    let server = Server::start(&moved).await;
    let admin = server.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let history = server.get("/api/v1/history", &admin).await;
    assert_eq!(history.json["items"].as_array().map(Vec::len), Some(1), "{}", history.text);
    let asked = server
        .post("/api/v1/ask", &admin, json!({"connection_id": "shop", "question": "How many orders are there?"}))
        .await;
    assert_eq!(asked.status, StatusCode::OK, "the sealed URL opens with the same key: {}", asked.text);
    assert_eq!(server.terminate().await, 0);

    let again = single.run(&["system-db", "copy", "--from", &from, "--to", &system_url(&schema)]).await;
    assert_ne!(again.code, 0, "{again:?}");
    assert!(again.stderr.contains("not empty"), "{}", again.stderr);
    drop_schema(&schema).await;
}

/// A Redis of the test's own (`redis-server` from PATH, on a free port, no persistence), so that it can be stopped
/// and started again without touching anyone else's.
struct OwnRedis {
    child: tokio::process::Child,
    port: u16,
}

impl OwnRedis {
    /// Starts one (on `port`, or a free one) and waits for it to say it accepts connections.
    async fn start(port: Option<u16>) -> OwnRedis {
        use tokio::io::AsyncBufReadExt;
        let port = port.unwrap_or_else(|| {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("addr").port()
        });
        let mut child = tokio::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server on PATH (DATAGENIE_TEST_REDIS_URL is set: this machine has Redis)");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        };
        let ok = tokio::time::timeout(std::time::Duration::from_secs(30), ready).await;
        assert_eq!(ok, Ok(true), "redis-server did not start on port {port}");
        // keep draining its output so that it never blocks on a full pipe
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        OwnRedis { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL: as a crash would) and returns its port.
    async fn kill(mut self) -> u16 {
        self.child.kill().await.expect("kill redis-server");
        self.port
    }
}

/// Requests to `/api/v1/me` alternately through `a` and `b` until each has refused at least once (at most 200):
/// how many were let through, and whether the clock's minute (the limit's window) stayed the same throughout.
async fn burst(a: &Server, b: &Server, token: &str) -> (usize, bool) {
    let minute = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() / 60).ok();
    let start = minute();
    let (mut ok, mut refused_a, mut refused_b) = (0, false, false);
    for i in 0..200 {
        let server = if i % 2 == 0 { a } else { b };
        let r = server.get("/api/v1/me", token).await;
        match r.status {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(r.code(), "rate_limited", "{}", r.text);
                assert!(r.headers.contains_key("retry-after"), "a refusal says when to come back");
                if i % 2 == 0 {
                    refused_a = true;
                } else {
                    refused_b = true;
                }
            }
            other => panic!("request {i}: {other}: {}", r.text),
        }
        if refused_a && refused_b {
            break;
        }
    }
    assert!(refused_a && refused_b, "both servers refuse once the shared limit is reached ({ok} let through)");
    (ok, start == minute())
}

/// Bursts until one fits inside a clock minute (a window that turns over mid-burst counts twice).
async fn burst_in_one_window(a: &Server, b: &Server, token: &str) -> usize {
    for _ in 0..3 {
        let (ok, same_window) = burst(a, b, token).await;
        if same_window {
            return ok;
        }
    }
    panic!("three bursts in a row crossed a minute boundary");
}

async fn counting_in(server: &Server) -> String {
    let r = server.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["counters"].as_str().unwrap_or_default().to_string()
}

/// Two servers with one Redis share the request-rate limit: 30 requests a minute per address hold across both
/// (each alone would let 30 through). Redis is killed mid-run: both keep answering, now counting in the system
/// database, and the limit still holds across them; Redis is started again: counting goes back to it.
async fn limits_are_shared_and_survive_redis() {
    let schema = unique_schema();
    let redis = OwnRedis::start(None).await;
    let with_redis = |url: &str| {
        let mut env = member(&schema);
        env.set("DATAGENIE_REDIS__URL", url);
        env
    };
    let (a_env, b_env) = (with_redis(&redis.url()), with_redis(&redis.url()));
    make_admin(&a_env).await;
    let a = Server::start(&a_env).await;
    let admin = a.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let set = a
        .request(
            Method::PUT,
            "/api/v1/settings/requests_per_minute_per_address",
            Some(&admin),
            Some(json!({"value": 30})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let b = Server::start(&b_env).await;
    assert_eq!((counting_in(&a).await, counting_in(&b).await), ("redis".to_string(), "redis".to_string()));
    let ok = burst_in_one_window(&a, &b, &admin).await;
    assert!((1..=30).contains(&ok), "{ok} requests let through by two servers sharing a limit of 30");

    let port = redis.kill().await;
    assert_eq!(counting_in(&a).await, "database", "A noticed Redis is gone");
    assert_eq!(counting_in(&b).await, "database", "B noticed Redis is gone");
    let ok = burst_in_one_window(&a, &b, &admin).await;
    assert!((1..=30).contains(&ok), "without Redis the limit holds across both servers: {ok} let through");

    let _redis = OwnRedis::start(Some(port)).await;
    // the servers retry Redis a second after it failed: wait for them to say they count there again
    for server in [&a, &b] {
        let back = async {
            loop {
                if counting_in(server).await == "redis" {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(15), back).await.expect("counting goes back to Redis");
    }
    let ok = burst_in_one_window(&a, &b, &admin).await;
    assert!((1..=30).contains(&ok), "{ok}");
    assert!(!a.log().contains("panicked") && !b.log().contains("panicked"));
    assert_eq!(a.terminate().await, 0);
    assert_eq!(b.terminate().await, 0);
    drop_schema(&schema).await;
}

/// The result cache lives in Redis, shared: a question answered through one server is served from the cache
/// through the other. What Redis holds is sealed (no column name or value in clear). With Redis down, questions are
/// still answered (the cache is bypassed) and a purge says it cannot be done now.
async fn the_cache_is_shared_sealed_and_bypassed_without_redis() {
    let schema = unique_schema();
    let redis = OwnRedis::start(None).await;
    let with_redis = || {
        let mut env = member(&schema);
        env.set("DATAGENIE_REDIS__URL", &redis.url());
        env
    };
    let (a_env, b_env) = (with_redis(), with_redis());
    make_admin(&a_env).await;
    shop_db(&a_env.path("shop.db"));
    let (a, b) = (Server::start(&a_env).await, Server::start(&b_env).await);
    let admin = a.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let db = a_env.path("shop.db").display().to_string();
    let c = a.post("/api/v1/connections", &admin, json!({"name": "shop", "url": db})).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let body = json!({"connection_id": "shop", "question": "How many orders are there?"});
    let first = a.post("/api/v1/ask", &admin, body.clone()).await;
    assert_eq!((first.status, first.json["cache"]["rows"].as_str()), (StatusCode::OK, Some("miss")), "{}", first.text);
    let second = b.post("/api/v1/ask", &admin, body.clone()).await;
    assert_eq!(second.json["cache"]["rows"].as_str(), Some("hit"), "served through B from A's entry: {}", second.text);
    assert_eq!(second.json["rows"], first.json["rows"]);

    // sealed at rest: the entry holds neither the column's name nor the JSON it was written as
    let column = first.json["columns"][0].as_str().expect("a column").to_string();
    let port = redis.port.to_string();
    let keys = tokio::process::Command::new("redis-cli")
        .args(["-p", &port, "--scan", "--pattern", "datagenie:cache:rows:*"])
        .output()
        .await
        .expect("redis-cli");
    let keys = String::from_utf8_lossy(&keys.stdout).to_string();
    let key = keys.lines().next().unwrap_or_else(|| panic!("no rows entry in Redis: {keys:?}")).to_string();
    let value = tokio::process::Command::new("redis-cli").args(["-p", &port, "GET", &key]).output().await.expect("get");
    let raw = String::from_utf8_lossy(&value.stdout);
    assert!(!raw.contains(&column) && !raw.contains("\"r\""), "sealed: {raw}");

    redis.kill().await;
    let without = b.post("/api/v1/ask", &admin, body.clone()).await;
    assert_eq!(without.status, StatusCode::OK, "answered with Redis down: {}", without.text);
    assert_eq!(without.json["rows"], first.json["rows"]);
    let purge = a
        .request(
            Method::DELETE,
            &format!("/api/v1/connections/{}/cache", c.json["id"].as_str().expect("id")),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((purge.status, purge.code()), (StatusCode::SERVICE_UNAVAILABLE, "cache_unavailable"), "{}", purge.text);
    assert_eq!(a.terminate().await, 0);
    assert_eq!(b.terminate().await, 0);
    drop_schema(&schema).await;
}

/// A job whose server is killed (SIGKILL) while answering it is taken by another server once its lease runs out,
/// and answered there — once: one history row, under the job's id.
async fn a_job_whose_server_dies_is_answered_once_elsewhere() {
    use crate::scripted_llm::{ScriptedLlm, Step, sql};
    let schema = unique_schema();
    let slow = Step::Slow(std::time::Duration::from_secs(300), "```sql\nSELECT COUNT(*) AS n FROM orders\n```".into());
    let llm = ScriptedLlm::start_with_fallback(vec![slow], Some(sql("SELECT COUNT(*) AS n FROM orders"))).await;
    let with_llm = || {
        let mut env = member(&schema);
        for (k, v) in [
            ("DATAGENIE_LLM__PROVIDER", "openai"),
            ("DATAGENIE_LLM__BASE_URL", llm.base_url.as_str()),
            ("DATAGENIE_LLM__MODEL", "gpt-4o-mini"),
            ("DATAGENIE_LLM__API_KEY", "sk-test-SECRET-123"),
            ("DATAGENIE_LLM__MAX_RETRIES", "0"),
            ("DATAGENIE_LLM__TIMEOUT_SECS", "600"),
            ("DATAGENIE_SERVER__JOB_LEASE_SECS", "2"),
        ] {
            env.set(k, v);
        }
        env
    };
    let (a_env, b_env) = (with_llm(), with_llm());
    make_admin(&a_env).await;
    shop_db(&a_env.path("shop.db"));
    let a = Server::start(&a_env).await;
    let admin = a.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let db = a_env.path("shop.db").display().to_string();
    let c = a.post("/api/v1/connections", &admin, json!({"name": "shop", "url": db})).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let queued =
        a.post("/api/v1/jobs", &admin, json!({"connection_id": "shop", "question": "count the orders, please"})).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
    let id = queued.json["id"].as_str().expect("id").to_string();
    // A's worker took it and is waiting on the (slow) LLM
    let taken = async {
        loop {
            let r = a.get(&format!("/api/v1/jobs/{id}"), &admin).await;
            if r.json["status"] == "running" && !llm.requests().is_empty() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), taken).await.expect("A takes the job");
    a.kill().await;

    let b = Server::start(&b_env).await;
    let ended = async {
        loop {
            let r = b.get(&format!("/api/v1/jobs/{id}"), &admin).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            if matches!(r.json["status"].as_str(), Some("succeeded" | "failed" | "cancelled")) {
                return r;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let done = tokio::time::timeout(std::time::Duration::from_secs(60), ended).await.expect("B finishes the job");
    assert_eq!(
        (done.json["status"].as_str(), done.json["attempts"].as_i64()),
        (Some("succeeded"), Some(2)),
        "{}",
        done.text
    );
    assert_eq!(done.json["history_id"].as_str(), Some(id.as_str()));
    let history = b.get("/api/v1/history", &admin).await;
    let rows: Vec<&serde_json::Value> = history.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|h| h["question"] == "count the orders, please")
        .collect();
    assert_eq!(rows.len(), 1, "answered once: {}", history.text);
    assert_eq!(rows[0]["id"].as_str(), Some(id.as_str()));
    assert_eq!(llm.requests().len(), 2, "asked by A (killed) and by B");
    assert_eq!(b.terminate().await, 0);
    drop_schema(&schema).await;
}

/// The system database's connections are dropped under a running server (an administrator's
/// `pg_terminate_backend`, a failover): the next requests are answered on new connections, none fails.
async fn a_dropped_system_database_connection_is_replaced() {
    let database = unique_schema();
    let (admin_db, connection) =
        tokio_postgres::connect(&POSTGRES.admin_url(), tokio_postgres::NoTls).await.expect("admin session");
    tokio::spawn(connection);
    admin_db.batch_execute(&format!("CREATE DATABASE {database}")).await.expect("create database");
    let mut url: tokio_postgres::Config = POSTGRES.admin_url().parse().expect("url");
    url.dbname(&database);
    let admin_url = POSTGRES.admin_url();
    let base = admin_url.split('?').next().unwrap_or(&admin_url);
    let system = format!("{}/{database}", base.rsplit_once('/').map_or(base, |(head, _)| head));
    let mut env = Env::new();
    env.set("DATAGENIE_SYSTEM_DB__URL", &system);
    env.set("DATAGENIE_SECRET_KEY", KEY);
    make_admin(&env).await;
    let server = Server::start(&env).await;
    let admin = server.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for _ in 0..3 {
        assert_eq!(server.get("/api/v1/history", &admin).await.status, StatusCode::OK);
    }
    let killed: i64 = admin_db
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&database],
        )
        .await
        .expect("terminate")
        .get(0);
    assert!(killed >= 1, "the server held connections to its system database");
    for i in 0..10 {
        let r = server.get("/api/v1/history", &admin).await;
        assert_eq!(r.status, StatusCode::OK, "request {i} after the drop: {}", r.text);
    }
    assert_eq!(server.terminate().await, 0);
    admin_db.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await.expect("drop database");
}

/// A spreadsheet uploaded through one server is answered through the other, which writes its own copy of the bytes
/// the system database keeps (sealed there); deleted through one server, the other's copy goes at its next start.
async fn an_upload_through_one_server_is_answered_by_the_other() {
    let schema = unique_schema();
    let (a_env, b_env) = (member(&schema), member(&schema));
    make_admin(&a_env).await;
    let (a, b) = (Server::start(&a_env).await, Server::start(&b_env).await);
    let admin = a.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csv = "id,region,amount\n1,Jeju-north,10\n2,Jeju-south,20\n3,Jeju-north,5\n";
    let (status, created) = crate::sheets::upload(&a.base, &admin, "orders.csv", csv.as_bytes(), None).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    let b_copy = b_env.path("data").join("files").join(&id).join("orders.csv");
    assert!(!b_copy.exists(), "B has no copy before it is asked");

    let asked =
        b.post("/api/v1/ask", &admin, json!({"connection_id": id, "question": "How many orders are there?"})).await;
    assert_eq!(asked.status, StatusCode::OK, "asked through B: {}", asked.text);
    assert_eq!(asked.json["rows"], json!([[3]]), "{}", asked.text);
    assert_eq!(std::fs::read(&b_copy).expect("B's copy"), csv.as_bytes(), "B's copy is the upload");

    // sealed in the system database: neither a cell nor a header is readable there
    let (client, connection) =
        tokio_postgres::connect(&POSTGRES.admin_url(), tokio_postgres::NoTls).await.expect("admin session");
    tokio::spawn(connection);
    let row = client
        .query_one(&format!("SELECT content FROM {schema}.file_contents WHERE connection_id = $1"), &[&id])
        .await
        .expect("the kept bytes");
    let sealed: Vec<u8> = row.get(0);
    let text = String::from_utf8_lossy(&sealed);
    assert!(!text.contains("Jeju") && !text.contains("region"), "the bytes are kept sealed");

    // a copy that went missing or was cut is written again from the system database
    std::fs::write(&b_copy, "id\n").expect("cut B's copy");
    let b = {
        assert_eq!(b.terminate().await, 0);
        Server::start(&b_env).await
    };
    let again =
        b.post("/api/v1/ask", &admin, json!({"connection_id": id, "question": "How many orders are there?"})).await;
    assert_eq!((again.status, &again.json["rows"]), (StatusCode::OK, &json!([[3]])), "{}", again.text);
    assert_eq!(std::fs::read(&b_copy).expect("B's copy"), csv.as_bytes());

    // deleted through A: A's file goes at once, B's copy at B's next start
    let gone = a.request(Method::DELETE, &format!("/api/v1/connections/{id}"), Some(&admin), None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    let a_files = std::fs::read_dir(a_env.path("data").join("files")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(a_files, 0, "A keeps nothing of a deleted upload");
    let after =
        b.post("/api/v1/ask", &admin, json!({"connection_id": id, "question": "How many orders are there?"})).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND, "{}", after.text);
    assert!(b_copy.exists());
    assert_eq!(b.terminate().await, 0);
    let b = Server::start(&b_env).await;
    assert!(!b_copy.exists() && !b_copy.parent().expect("folder").exists(), "B's copy went at its start");
    let left: i64 =
        client.query_one(&format!("SELECT count(*) FROM {schema}.file_contents"), &[]).await.expect("count").get(0);
    assert_eq!(left, 0, "the bytes went with their connection");
    assert_eq!(a.terminate().await, 0);
    assert_eq!(b.terminate().await, 0);
    drop_schema(&schema).await;
}

/// A connection changed through one server is used as changed by the other on its next question: each server reads
/// the connection from the system database with every question and reopens its pool when the connection moved.
async fn a_connection_changed_through_one_server_is_reopened_by_the_other() {
    let schema = unique_schema();
    let (a_env, b_env) = (member(&schema), member(&schema));
    make_admin(&a_env).await;
    shop_db(&a_env.path("shop.db"));
    shop_db(&a_env.path("bigger.db"));
    let bigger = rusqlite::Connection::open(a_env.path("bigger.db")).expect("open");
    bigger.execute_batch("INSERT INTO orders VALUES (7,1,1,1,'2024-04-01'),(8,2,2,2,'2024-04-02')").expect("add");
    drop(bigger);
    let (a, b) = (Server::start(&a_env).await, Server::start(&b_env).await);
    let admin = a.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let url = |name: &str| a_env.path(name).display().to_string();
    let c = a.post("/api/v1/connections", &admin, json!({"name": "shop", "url": url("shop.db")})).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let count =
        || b.post("/api/v1/ask", &admin, json!({"connection_id": "shop", "question": "How many orders are there?"}));
    let before = count().await;
    assert_eq!((before.status, &before.json["rows"]), (StatusCode::OK, &json!([[6]])), "{}", before.text);
    let moved = a
        .request(Method::PATCH, "/api/v1/connections/shop", Some(&admin), Some(json!({"url": url("bigger.db")})))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let after = count().await;
    assert_eq!(
        (after.status, &after.json["rows"]),
        (StatusCode::OK, &json!([[8]])),
        "B uses the new URL: {}",
        after.text
    );
    // deactivated through A: B refuses a non-admin at once
    let new_user = json!({"email": "ana@example.com", "password": "password-of-ana", "role": "user"});
    let user = a.post("/api/v1/users", &admin, new_user).await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.text);
    let user_id = user.json["id"].as_str().expect("id").to_string();
    let grant = a
        .request(Method::PUT, &format!("/api/v1/connections/shop/permissions/{user_id}"), Some(&admin), Some(json!({})))
        .await;
    assert_eq!(grant.status, StatusCode::OK, "{}", grant.text);
    let ana = b.token("ana@example.com", "password-of-ana").await;
    let ask = json!({"connection_id": "shop", "question": "How many orders are there?"});
    assert_eq!(b.post("/api/v1/ask", &ana, ask.clone()).await.status, StatusCode::OK);
    let off = a.request(Method::PATCH, "/api/v1/connections/shop", Some(&admin), Some(json!({"active": false}))).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text);
    let refused = b.post("/api/v1/ask", &ana, ask).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "an inactive connection, through B: {}", refused.text);
    assert_eq!(a.terminate().await, 0);
    assert_eq!(b.terminate().await, 0);
    drop_schema(&schema).await;
}

pub fn tests() -> Group {
    Group::new("cluster")
        .needs(
            POSTGRES,
            tests![
                two_servers_are_one_service,
                a_shared_system_database_needs_the_shared_key,
                an_installation_moves_from_sqlite_to_postgres,
                a_dropped_system_database_connection_is_replaced,
                a_job_whose_server_dies_is_answered_once_elsewhere,
                an_upload_through_one_server_is_answered_by_the_other,
                a_connection_changed_through_one_server_is_reopened_by_the_other
            ],
        )
        // two servers on one system database, and Redis
        .needs_all(
            &[POSTGRES, REDIS],
            tests![limits_are_shared_and_survive_redis, the_cache_is_shared_sealed_and_bypassed_without_redis],
        )
}
