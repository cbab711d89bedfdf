//! The Docker Compose setup at the repository's root (`docker-compose.yml`, `Dockerfile`, `.dockerignore`,
//! `deploy/`), checked without Docker. No YAML parser is a dependency, so the compose file keeps each server setting
//! on one `DATAGENIE_…: value` line and these tests read those lines, with Compose's `${…}` interpolation. What the
//! servers are given is configuration the real binary accepts, with the two secrets required; the files agree on
//! the port, the servers' names and the health probe; the image's probe tells a server that answers from one that
//! does not; and two servers started with the compose environment (the hosts `postgres` and `redis` replaced by the
//! test's) see each client behind the load balancer by its forwarded address. Two servers as one service is
//! `cluster.rs`.

use std::path::PathBuf;
use std::time::Duration;

use datagenie_testkit::{Group, POSTGRES, REDIS, tests};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use crate::harness::Env;
use crate::server::{ADMIN_EMAIL, ADMIN_PASSWORD, Server, cli_user};

/// What `.env` holds in these tests (a real key comes from `openssl rand -hex 32`).
const KEY: &str = "4b1f0c9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c";
const POSTGRES_PASSWORD: &str = "pg-Password-from-dot-env";

/// A file at the repository's root.
fn root_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `value` with Compose's interpolation: `${NAME}` and `${NAME:?message}` from `vars` (a missing one is the error
/// Compose gives, its message), `${NAME:-default}` from `vars` or else the default.
fn interpolate(value: &str, vars: &[(&str, &str)]) -> Result<String, String> {
    let lookup = |name: &str| vars.iter().find(|(n, v)| *n == name && !v.is_empty()).map(|(_, v)| v.to_string());
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or_else(|| format!("unclosed ${{ in {value}"))? + start;
        let inner = &rest[start + 2..end];
        let (name, fallback) = match (inner.split_once(":-"), inner.split_once(":?")) {
            (Some((name, default)), _) => (name, Ok(default.to_string())),
            (None, Some((name, message))) => (name, Err(format!("required variable {name} is missing: {message}"))),
            (None, None) => (inner, Err(format!("{inner} is not set"))),
        };
        out.push_str(&lookup(name).map_or(fallback, Ok)?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The servers' `DATAGENIE_*` settings in docker-compose.yml, interpolated with `vars` (the `.env` file).
fn compose_environment(vars: &[(&str, &str)]) -> Result<Vec<(String, String)>, String> {
    let mut settings = Vec::new();
    for line in root_file("docker-compose.yml").lines() {
        let Some((name, value)) = line.trim_start().split_once(": ") else { continue };
        if !name.starts_with("DATAGENIE_") {
            continue;
        }
        let value = value.trim().trim_matches('"');
        settings.push((name.to_string(), interpolate(value, vars)?));
    }
    Ok(settings)
}

fn dot_env() -> Vec<(&'static str, &'static str)> {
    vec![("DATAGENIE_SECRET_KEY", KEY), ("POSTGRES_PASSWORD", POSTGRES_PASSWORD)]
}

fn setting<'a>(settings: &'a [(String, String)], name: &str) -> &'a str {
    settings.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("{name} is not set"))
}

/// The servers' settings are configuration keys the binary accepts, the two secrets are required (Compose refuses
/// to start without them, saying how to make one), the URLs name the compose file's own services, and the LLM
/// chosen in `.env` reaches the servers. The database password is never printed.
async fn the_compose_settings_are_configuration() {
    let compose = root_file("docker-compose.yml");
    let settings = compose_environment(&dot_env()).expect("interpolated");
    let names: Vec<&str> = settings.iter().map(|(n, _)| n.as_str()).collect();
    for name in [
        "DATAGENIE_SYSTEM_DB__URL",
        "DATAGENIE_REDIS__URL",
        "DATAGENIE_SECRET_KEY",
        "DATAGENIE_SERVER__TRUST_FORWARDED_FOR",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert_eq!(
        setting(&settings, "DATAGENIE_SYSTEM_DB__URL"),
        format!("postgres://datagenie:{POSTGRES_PASSWORD}@postgres:5432/datagenie")
    );
    assert_eq!(setting(&settings, "DATAGENIE_REDIS__URL"), "redis://redis:6379");
    for service in ["postgres", "redis", "datagenie-1", "datagenie-2", "lb"] {
        assert!(compose.lines().any(|l| l == format!("  {service}:")), "the service {service}");
    }
    assert_eq!(compose.matches("<<: *datagenie").count(), 2, "both servers take the same settings");

    // each secret is required: without it, Compose stops with the file's message
    for missing in ["DATAGENIE_SECRET_KEY", "POSTGRES_PASSWORD"] {
        let vars: Vec<(&str, &str)> = dot_env().into_iter().filter(|(n, _)| *n != missing).collect();
        let e = compose_environment(&vars).expect_err("a required variable");
        assert!(e.contains(missing) && e.contains("openssl rand -hex"), "{e}");
    }

    let mut env = Env::new();
    for (name, value) in &settings {
        env.set(name, value);
    }
    let out = env.run(&["config", "show"]).await;
    assert_eq!(out.code, 0, "the real binary takes the compose file's settings: {out:?}");
    assert!(out.stdout.contains("trust_forwarded_for = true"), "{}", out.stdout);
    assert!(out.stdout.starts_with("# llm.provider = \"builtin\""), "{}", out.stdout);
    assert!(!out.stdout.contains(POSTGRES_PASSWORD) && !out.stderr.contains(POSTGRES_PASSWORD), "{out:?}");
    assert!(!out.stdout.contains(KEY) && !out.stderr.contains(KEY), "{out:?}");

    // the LLM set in .env
    let mut vars = dot_env();
    vars.extend([
        ("DATAGENIE_LLM__PROVIDER", "openai"),
        ("DATAGENIE_LLM__BASE_URL", "http://ollama:11434/v1"),
        ("DATAGENIE_LLM__MODEL", "qwen2.5-coder:7b"),
    ]);
    for (name, value) in compose_environment(&vars).expect("interpolated") {
        env.set(&name, &value);
    }
    let out = env.run(&["config", "show"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("# llm.provider = \"openai\""), "{}", out.stdout);
    assert!(out.stdout.contains("model = \"qwen2.5-coder:7b\""), "{}", out.stdout);

    // a misspelt setting would stop the servers at start: the same check, shown failing
    env.set("DATAGENIE_SERVER__TRUST_FORWARDED", "true");
    let out = env.run(&["config", "show"]).await;
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("DATAGENIE_SERVER__TRUST_FORWARDED"), "{}", out.stderr);
}

/// The port the image serves on is the one its probe, the compose file's port mappings and the load balancer use;
/// the balancer lists exactly the compose file's servers; the probe is in the build context and the image; and the
/// image's Rust is at least the workspace's.
fn the_deploy_files_agree() {
    let dockerfile = root_file("Dockerfile");
    let compose = root_file("docker-compose.yml");
    let caddyfile = root_file("deploy/Caddyfile");
    let ignore = root_file(".dockerignore");
    for line in [
        "ENTRYPOINT [\"datagenie\"]",
        "CMD [\"serve\", \"--bind\", \"0.0.0.0:8080\"]",
        "EXPOSE 8080",
        "USER datagenie",
        "COPY --chmod=0755 deploy/healthcheck.sh /usr/local/bin/datagenie-healthcheck",
    ] {
        assert!(dockerfile.lines().any(|l| l == line), "Dockerfile: {line}");
    }
    let probe = dockerfile.lines().find(|l| l.starts_with("HEALTHCHECK ")).expect("a HEALTHCHECK");
    assert!(probe.ends_with("CMD [\"datagenie-healthcheck\", \"8080\"]"), "{probe}");
    for allowed in ["!Cargo.toml", "!Cargo.lock", "!crates/", "!deploy/healthcheck.sh"] {
        assert!(ignore.lines().any(|l| l == allowed), ".dockerignore lets in {allowed}");
    }

    let servers: Vec<&str> = compose
        .lines()
        .filter_map(|l| l.strip_prefix("  datagenie-")?.strip_suffix(':'))
        .filter(|n| n.parse::<u32>().is_ok())
        .collect();
    assert_eq!(servers, ["1", "2"]);
    let upstreams: Vec<String> = servers.iter().map(|n| format!("datagenie-{n}:8080")).collect();
    let proxy = caddyfile.lines().find_map(|l| l.trim().strip_prefix("reverse_proxy ")).expect("reverse_proxy");
    assert_eq!(proxy, format!("{} {{", upstreams.join(" ")), "the balancer's servers are the compose file's");
    assert!(caddyfile.lines().any(|l| l == ":8080 {"), "the balancer listens on 8080");
    assert!(compose.contains("- \"8080:8080\"") && compose.contains("./deploy/Caddyfile:/etc/caddy/Caddyfile:ro"));
    for (i, n) in servers.iter().enumerate() {
        assert!(compose.contains(&format!("- \"127.0.0.1:808{}:8080\"", i + 1)), "datagenie-{n} on loopback only");
    }

    let version = |text: &str, prefix: &str| -> (u32, u32) {
        let v = text.lines().find_map(|l| l.strip_prefix(prefix)).expect(prefix).trim_matches('"');
        let mut parts = v.split('.').map(|p| p.parse::<u32>().expect("a number"));
        (parts.next().expect("major"), parts.next().expect("minor"))
    };
    let image = version(&dockerfile, "ARG RUST_VERSION=");
    let workspace = version(&root_file("Cargo.toml"), "rust-version = ");
    assert!(image >= workspace, "the image's Rust {image:?} builds the workspace's {workspace:?}");
}

/// Runs the image's health probe (`deploy/healthcheck.sh PORT`); its exit code.
async fn probe(port: u16) -> i32 {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/healthcheck.sh");
    let run = tokio::process::Command::new("bash").arg(&script).arg(port.to_string()).output();
    let out = tokio::time::timeout(Duration::from_secs(10), run).await.expect("the probe ends").expect("run bash");
    out.status.code().unwrap_or(-1)
}

/// A listener on a free port that reads each request's head and answers `reply` (nothing: it closes then).
async fn answering(reply: &'static str) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let mut socket = tokio::io::BufReader::new(socket);
            let mut line = String::new();
            while socket.read_line(&mut line).await.is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let _ = socket.get_mut().write_all(reply.as_bytes()).await;
        }
    });
    port
}

/// The image's HEALTHCHECK: 0 while the server answers /healthz, not 0 once it has stopped, for a port where nothing
/// listens, for another status and for a connection closed without an answer.
async fn the_health_probe_tells_up_from_down() {
    let env = Env::new();
    let server = Server::start(&env).await;
    let port: u16 = server.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("the server's port");
    assert_eq!(probe(port).await, 0, "a server that answers is healthy");
    assert_eq!(server.terminate().await, 0);
    assert_ne!(probe(port).await, 0, "a stopped server is not");
    assert_ne!(probe(answering("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n").await).await, 0);
    assert_ne!(probe(answering("").await).await, 0);
    assert_eq!(probe(answering("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await).await, 0, "the control");
}

/// A login through the balancer: as Caddy passes it on, with the client's address and scheme.
async fn login_from(base: &str, client: &str, scheme: &str, body: Value) -> (StatusCode, Value, String) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .header("x-forwarded-for", client)
        .header("x-forwarded-proto", scheme)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = r.status();
    let cookie = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, r.json().await.unwrap_or(Value::Null), cookie)
}

/// Two servers with the compose file's settings (the hosts `postgres` and `redis` replaced by the test's servers,
/// a key prefix of the test's own in the shared Redis), the first admin made as the README says
/// (`docker compose exec -T datagenie-1 datagenie user create … --password-stdin`): behind the balancer every
/// request comes from its address, and each client is still its own. One guessing passwords is locked out on both
/// servers; another signs in meanwhile (without the forwarded address both would be one address, and locked out
/// together). The audit log names the client, and a login over HTTPS at the balancer gets a Secure cookie.
async fn behind_the_balancer_each_client_is_its_own_address() {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let schema = format!("dg_it_deploy_{}_{nanos}", std::process::id());
    let admin_url = POSTGRES.admin_url();
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let settings = compose_environment(&dot_env()).expect("interpolated");
    let member = || {
        let mut env = Env::new();
        for (name, value) in &settings {
            let value = match name.as_str() {
                "DATAGENIE_SYSTEM_DB__URL" => format!("{admin_url}{sep}schema={schema}"),
                "DATAGENIE_REDIS__URL" => REDIS.admin_url(),
                _ => value.clone(),
            };
            env.set(name, &value);
        }
        env.set("DATAGENIE_REDIS__KEY_PREFIX", &format!("{schema}:"));
        env
    };
    let (a_env, b_env) = (member(), member());
    let out = cli_user(&a_env, ADMIN_EMAIL, "admin", ADMIN_PASSWORD).await;
    assert_eq!(out.code, 0, "{out:?}");
    let (a, b) = (Server::start(&a_env).await, Server::start(&b_env).await);
    for server in [&a, &b] {
        let ready = server.request(reqwest::Method::GET, "/readyz", None, None).await;
        assert_eq!((ready.status, &ready.json["counters"]), (StatusCode::OK, &json!("redis")), "{}", ready.text);
    }

    // 203.0.113.7 guesses, through both servers in turn: five failures lock it out, on both
    let guesser = "203.0.113.7";
    for i in 0..5 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let body = json!({"email": format!("guess-{i}@example.com"), "password": "not the password"});
        let (status, reply, _) = login_from(base, guesser, "http", body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {i}: {reply}");
    }
    let right = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    for base in [&a.base, &b.base] {
        let (status, reply, _) = login_from(base, guesser, "http", right.clone()).await;
        assert_eq!(
            (status, &reply["error"]["code"]),
            (StatusCode::TOO_MANY_REQUESTS, &json!("rate_limited")),
            "{reply}"
        );
    }
    // 198.51.100.20, behind the same balancer, signs in meanwhile; over HTTPS at the balancer the cookie is Secure
    let (status, reply, _) = login_from(&a.base, "198.51.100.20", "http", right.clone()).await;
    assert_eq!(status, StatusCode::OK, "another client is not locked out: {reply}");
    let admin = reply["access_token"].as_str().expect("access_token").to_string();
    let cookie_login = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "session": "cookie"});
    let (status, reply, cookie) = login_from(&b.base, "198.51.100.20", "https", cookie_login.clone()).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(cookie.starts_with("dg_refresh=") && cookie.ends_with("; Secure"), "{cookie}");
    let (status, _, cookie) = login_from(&b.base, "198.51.100.20", "http", cookie_login).await;
    assert_eq!(status, StatusCode::OK);
    assert!(cookie.starts_with("dg_refresh=") && !cookie.contains("Secure"), "plain HTTP: {cookie}");

    let audit = b.get("/api/v1/audit?action=auth.login&limit=100", &admin).await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let items = audit.json["items"].as_array().expect("items");
    let from = |ip: &str, result: &str| items.iter().filter(|e| e["ip_address"] == ip && e["result"] == result).count();
    assert_eq!(from(guesser, "failure"), 7, "five guesses and two refusals, by the client's address: {items:?}");
    assert_eq!(from("198.51.100.20", "success"), 3, "{items:?}");
    assert_eq!(from("127.0.0.1", "failure") + from("127.0.0.1", "success"), 0, "never the balancer's address");

    assert_eq!(a.terminate().await, 0);
    assert_eq!(b.terminate().await, 0);
    let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await.expect("admin session");
    tokio::spawn(connection);
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await.expect("drop schema");
}

pub fn tests() -> Group {
    Group::new("deploy")
        .tests(tests![
            the_compose_settings_are_configuration,
            the_deploy_files_agree,
            the_health_probe_tells_up_from_down
        ])
        .needs_all(&[POSTGRES, REDIS], tests![behind_the_balancer_each_client_is_its_own_address])
}
