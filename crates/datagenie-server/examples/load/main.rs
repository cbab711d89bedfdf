//! A reproducible load test of `datagenie serve`: the real binary as a child process, a scripted OpenAI-compatible
//! LLM in this process, a small SQLite shop, bench users with their grants and no limits — then the figures.
//!
//! ```text
//! cargo build --release -p datagenie          # the server under test (target/release/datagenie)
//! cargo run --release -p datagenie-server --example load -- \
//!     [--questions 1000] [--concurrency N | --rate Q] [--llm-delay-ms 200] [--users 20] [--sequential 500] \
//!     [--bin PATH] [--system-db postgres://… [--redis redis://…] [--servers 2]]
//! ```
//!
//! Phases:
//!
//! 1. **Burst** (LLM configured, answering after `--llm-delay-ms`): `--questions` questions over `POST /api/v1/ask`,
//!    `--concurrency` at once (default: all of them), round-robin over `--users` users; each latency is timed from
//!    send to the last byte of the answer. With `--rate Q` the questions arrive open-loop instead, Q a second on a
//!    fixed schedule whatever the answers do (in flight ≈ Q × latency), and each latency is timed from the question's
//!    scheduled time — a late send counts against the server, not for it. The server's memory (`VmRSS`, `VmHWM` of `/proc/<pid>/status`) is read at
//!    start, idle after a warm-up, and every 5 ms during the burst.
//! 2. **Overhead** (a second server on the same data directory, no LLM: the built-in engine answers "How many
//!    orders are there?"): `--sequential` requests one at a time of `GET /healthz` (the HTTP round trip), `GET
//!    /api/v1/me` (plus authentication: the token checked, the user reloaded) and `POST /api/v1/ask`.
//! 3. **In process** (the server stopped; `AppState` opened here on the same data directory): the same question
//!    through the pipeline alone (`AskContext::ask`) and through the whole question service
//!    (`QuestionService::ask`: grant and token-usage reads, the pipeline, the history and audit writes), timed to
//!    the microsecond. The server's overhead per question is the HTTP ask less the pipeline.
//!
//! With `--system-db` the run is of several servers on one PostgreSQL system database instead (cluster.rs): the
//! burst across them, the history rows counted against the questions accepted, and a repeated question served from
//! the cache (`--sequential` times).
//!
//! The exit status is 1 when any request failed or was answered wrongly, 2 when the run itself could not be done.

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use axum::extract::State;
use datagenie_app::access::access_for;
use datagenie_app::ask::{AskOptions, AskRequest, RequestKind, SessionContext};
use datagenie_app::config::{Config, ConfigSources};
use datagenie_app::service::{AskParams, Caller};
use datagenie_core::Question;
use datagenie_core::connector::Limits;
use datagenie_server::state::{AppState, master_key};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

mod cluster;

const USAGE: &str = "usage: load [--questions N] [--concurrency C | --rate Q] [--llm-delay-ms MS] [--users U] \
                     [--sequential M] [--bin PATH] [--system-db postgres://… [--redis redis://…] [--servers S]]";
const ADMIN_EMAIL: &str = "admin@bench.example";
const ADMIN_PASSWORD: &str = "bench admin password";
const USER_PASSWORD: &str = "bench user password";
/// The SQL every LLM reply carries.
const LLM_SQL: &str = "SELECT COUNT(*) AS n FROM orders";
/// A question the built-in engine answers (phases 2 and 3).
const BUILTIN_QUESTION: &str = "How many orders are there?";
/// Rows of the bench database's orders table: every answer must be `[[ORDERS]]`.
const ORDERS: i64 = 5_000;

struct Args {
    questions: usize,
    concurrency: usize,
    /// Open loop: questions a second (`None`: all at once, `concurrency` at a time).
    rate: Option<f64>,
    llm_delay: Duration,
    users: usize,
    sequential: usize,
    bin: PathBuf,
    /// `--system-db`: the cluster run (cluster.rs).
    cluster: Option<cluster::ClusterArgs>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        questions: 1000,
        concurrency: 0,
        rate: None,
        llm_delay: Duration::from_millis(200),
        users: 20,
        sequential: 500,
        bin: PathBuf::new(),
        cluster: None,
    };
    let (mut system_db, mut redis, mut servers) = (None, None, 2);
    let mut bin = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = it.next().with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || value.parse::<usize>().with_context(|| format!("{flag}: '{value}' is not a whole number"));
        match flag.as_str() {
            "--questions" => args.questions = number()?,
            "--concurrency" => args.concurrency = number()?,
            "--rate" => {
                let q = value.parse::<f64>().with_context(|| format!("--rate: '{value}' is not a number"))?;
                if !(q.is_finite() && q > 0.0) {
                    bail!("--rate must be more than 0 questions a second");
                }
                args.rate = Some(q);
            }
            "--llm-delay-ms" => args.llm_delay = Duration::from_millis(number()? as u64),
            "--users" => args.users = number()?,
            "--sequential" => args.sequential = number()?,
            "--bin" => bin = Some(PathBuf::from(&value)),
            "--system-db" => system_db = Some(value),
            "--redis" => redis = Some(value),
            "--servers" => servers = number()?,
            other => bail!("unknown argument '{other}'\n{USAGE}"),
        }
    }
    if args.questions == 0 || args.users == 0 || args.sequential == 0 {
        bail!("--questions, --users and --sequential must be at least 1");
    }
    match system_db {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            if servers == 0 {
                bail!("--servers must be at least 1");
            }
            args.cluster = Some(cluster::ClusterArgs { system_db: url, redis, servers });
        }
        Some(_) => bail!("--system-db takes a postgres:// URL"),
        None if redis.is_some() => bail!("--redis goes with --system-db: a cluster run"),
        None => {}
    }
    if args.rate.is_some() && args.concurrency != 0 {
        bail!("--rate and --concurrency exclude each other: an open loop does not wait for answers");
    }
    if args.concurrency == 0 {
        args.concurrency = args.questions;
    }
    args.bin = match bin {
        Some(b) => b,
        // target/<profile>/examples/load -> target/<profile>/datagenie (follows CARGO_TARGET_DIR)
        None => std::env::current_exe()
            .context("the path of this program")?
            .parent()
            .and_then(Path::parent)
            .map(|dir| dir.join("datagenie"))
            .context("no default for --bin")?,
    };
    if !args.bin.is_file() {
        bail!(
            "{} does not exist: run `cargo build --release -p datagenie` first, or pass --bin PATH",
            args.bin.display()
        );
    }
    Ok(args)
}

// ---------------------------------------------------------------------------------------------------------------
// The scripted LLM: every chat completion is the fixed SQL, after the delay.

#[derive(Default)]
struct Llm {
    delay: Duration,
    calls: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

async fn completions(State(llm): State<Arc<Llm>>, _body: axum::body::Bytes) -> axum::Json<Value> {
    llm.calls.fetch_add(1, Ordering::Relaxed);
    let now = llm.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    llm.max_in_flight.fetch_max(now, Ordering::Relaxed);
    tokio::time::sleep(llm.delay).await;
    llm.in_flight.fetch_sub(1, Ordering::Relaxed);
    axum::Json(json!({
        "id": "chatcmpl-bench", "object": "chat.completion", "model": "bench-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": format!("Here is the query:\n```sql\n{LLM_SQL}\n```")}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    }))
}

/// Starts the scripted LLM on 127.0.0.1 port 0; returns it and its base URL (`…/v1`).
async fn start_llm(delay: Duration) -> Result<(Arc<Llm>, String)> {
    let llm = Arc::new(Llm { delay, ..Llm::default() });
    let app =
        axum::Router::new().route("/v1/chat/completions", axum::routing::post(completions)).with_state(llm.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("bind the scripted LLM")?;
    let addr = listener.local_addr().context("the scripted LLM's address")?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("load: the scripted LLM stopped: {e}");
        }
    });
    Ok((llm, format!("http://{addr}/v1")))
}

// ---------------------------------------------------------------------------------------------------------------
// The server under test.

/// The environment of every `datagenie` run (nothing else is inherited but PATH).
struct Env {
    dir: PathBuf,
    vars: Vec<(String, String)>,
}

impl Env {
    fn new(dir: &Path) -> Env {
        let p = |name: &str| dir.join(name).display().to_string();
        let vars = vec![
            ("HOME".into(), p("home")),
            ("XDG_CONFIG_HOME".into(), p("config")),
            ("DATAGENIE_PATHS__DATA_DIR".into(), p("data")),
            ("DATAGENIE_PATHS__CACHE_DIR".into(), p("cache")),
            ("DATAGENIE_ASK__SUMMARY".into(), "false".into()),
        ];
        Env { dir: dir.to_path_buf(), vars }
    }

    fn with(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut vars = self.vars.clone();
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        vars
    }

    fn command(bin: &Path, vars: &[(String, String)], args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(bin);
        cmd.args(args).env_clear().kill_on_drop(true);
        cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        cmd.envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }
}

/// `datagenie user create --email … --role admin --password-stdin`.
async fn create_admin(bin: &Path, vars: &[(String, String)]) -> Result<()> {
    let mut cmd =
        Env::command(bin, vars, &["user", "create", "--email", ADMIN_EMAIL, "--role", "admin", "--password-stdin"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("run {}", bin.display()))?;
    let mut stdin = child.stdin.take().context("the child's standard input")?;
    stdin.write_all(format!("{ADMIN_PASSWORD}\n").as_bytes()).await.context("write the admin password")?;
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .context("`datagenie user create` did not finish within 60 s")?
        .context("`datagenie user create`")?;
    if !out.status.success() {
        bail!("`datagenie user create` failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

struct Server {
    child: tokio::process::Child,
    pid: u32,
    base: String,
    log: PathBuf,
}

#[derive(Debug, Clone, Copy, Default)]
struct Mem {
    rss_kb: u64,
    hwm_kb: u64,
}

impl Server {
    /// `datagenie serve --bind 127.0.0.1:0`, its log in `log`; waits for the address it prints.
    async fn start(bin: &Path, vars: &[(String, String)], log: PathBuf) -> Result<Server> {
        let log_file = std::fs::File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let mut cmd = Env::command(bin, vars, &["serve", "--bind", "127.0.0.1:0"]);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::from(log_file));
        let mut child = cmd.spawn().with_context(|| format!("run {} serve", bin.display()))?;
        let pid = child.id().context("the server has no process id")?;
        let stdout = child.stdout.take().context("the server's standard output")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("the server did not print its address within 60 s")?
            .context("read the server's output")?;
        let Some(first) = first else {
            bail!("the server stopped before listening; its log:\n{}", tail(&log));
        };
        let base = first
            .strip_prefix("listening on ")
            .with_context(|| format!("unexpected first line from the server: {first}"))?
            .trim()
            .to_string();
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { child, pid, base, log })
    }

    fn mem(&self) -> Result<Mem> {
        Server::mem_of(self.pid)()
    }

    /// SIGTERM (graceful: questions in flight finish), then waits for the exit.
    async fn stop(mut self) -> Result<()> {
        let term = tokio::process::Command::new("kill").args(["-TERM", &self.pid.to_string()]).status().await;
        if !term.is_ok_and(|s| s.success()) {
            self.child.start_kill().context("kill the server")?;
        }
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .context("the server did not stop within 30 s of SIGTERM")?
            .context("wait for the server")?;
        if !status.success() {
            bail!("the server exited with {status}; its log:\n{}", tail(&self.log));
        }
        Ok(())
    }
}

/// CPU time (user + system, all threads) of a process so far; `self` for this one. Linux's USER_HZ is 100.
fn cpu_time(pid: &str) -> Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    // The fields after the command's closing parenthesis; utime and stime are the 14th and 15th of the line.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).with_context(|| format!("unexpected {path}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick =
        |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).with_context(|| format!("unexpected {path}"));
    Ok(Duration::from_millis((tick(11)? + tick(12)?) * 10))
}

/// The processes whose CPU time a burst also reports: the system database and Redis, when on this machine.
const SERVICES: &[&str] = &["postgres", "redis-server"];

/// CPU time so far of every process whose command name is one of `names` (processes that end meanwhile are lost).
fn cpu_of_named(names: &[&str]) -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Duration::ZERO };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())).map(str::to_string))
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| names.contains(&c.trim())))
        .filter_map(|pid| cpu_time(&pid).ok())
        .sum()
}

/// The last lines of a log file, for error messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP.

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(base: &str) -> Result<Api> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(usize::MAX)
            .timeout(Duration::from_secs(120))
            .build()
            .context("build the HTTP client")?;
        Ok(Api { http, base: base.to_string() })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value)> {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.with_context(|| format!("{method} {path}"))?;
        let status = resp.status();
        let text = resp.text().await.with_context(|| format!("{method} {path}: the body"))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// A call that must answer `want`; its JSON.
    async fn expect(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        want: StatusCode,
    ) -> Result<Value> {
        let (status, json) = self.call(method.clone(), path, token, body).await?;
        if status != want {
            bail!("{method} {path}: {status} (expected {want}): {json}");
        }
        Ok(json)
    }

    async fn login(&self, email: &str, password: &str) -> Result<String> {
        let body = json!({"email": email, "password": password});
        let r = self.expect(Method::POST, "/api/v1/auth/login", None, Some(body), StatusCode::OK).await?;
        r["access_token"].as_str().map(str::to_string).with_context(|| format!("login {email}: no access_token: {r}"))
    }

    async fn ask(&self, token: &str, connection: &str, question: &str) -> Result<(StatusCode, Value)> {
        let body = json!({"connection_id": connection, "question": question});
        self.call(Method::POST, "/api/v1/ask", Some(token), Some(body)).await
    }
}

/// What is wrong with an answer, if anything: not 200, another source, other rows.
fn check_answer(reply: &Result<(StatusCode, Value)>, source: &str) -> Option<String> {
    match reply {
        Err(e) => Some(format!("transport: {e:#}")),
        Ok((status, json)) if *status != StatusCode::OK => {
            Some(format!("{status} {}", json["error"]["code"].as_str().unwrap_or("?")))
        }
        Ok((_, json)) if json["source"]["kind"] != source => {
            Some(format!("answered by {} instead of {source}", json["source"]["kind"]))
        }
        Ok((_, json)) if json["rows"] != json!([[ORDERS]]) => Some(format!("rows {}", json["rows"])),
        Ok(_) => None,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Figures.

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

/// p50, p90, p99 and max of some latencies.
struct Spread {
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
}

fn spread(mut values: Vec<Duration>) -> Spread {
    values.sort();
    Spread {
        p50: pct(&values, 50.0),
        p90: pct(&values, 90.0),
        p99: pct(&values, 99.0),
        max: values.last().copied().unwrap_or_default(),
    }
}

fn row(name: &str, value: impl std::fmt::Display) {
    println!("  {name:<46} {value}");
}

fn spread_row(name: &str, s: &Spread) {
    row(name, format!("p50 {}  p90 {}  p99 {}  max {}", ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max)));
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// The median time of the LLM's SQL on the bench database, in this process.
fn query_time(db: &Path) -> Result<Duration> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .context("open the bench database")?;
    let mut stmt = c.prepare(LLM_SQL).context("prepare the LLM's SQL")?;
    let mut times = Vec::with_capacity(200);
    for _ in 0..200 {
        let t = Instant::now();
        let n: i64 = stmt.query_row([], |r| r.get(0)).context("run the LLM's SQL")?;
        times.push(t.elapsed());
        if n != ORDERS {
            bail!("the bench database has {n} orders, not {ORDERS}");
        }
    }
    Ok(spread(times).p50)
}

fn make_db(path: &Path) -> Result<()> {
    let mut c = rusqlite::Connection::open(path).context("create the bench database")?;
    c.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
                              amount REAL NOT NULL, status TEXT NOT NULL, ordered_at TEXT NOT NULL);",
    )
    .context("create the bench tables")?;
    let tx = c.transaction().context("begin")?;
    {
        let mut customer = tx.prepare("INSERT INTO customers VALUES (?1, ?2, ?3)").context("prepare")?;
        for i in 1..=200i64 {
            let city = ["Seoul", "Busan", "Incheon", "Daegu"][(i % 4) as usize];
            customer.execute(rusqlite::params![i, format!("customer {i}"), city]).context("insert a customer")?;
        }
        let mut order = tx.prepare("INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5)").context("prepare")?;
        for i in 1..=ORDERS {
            let status = ["paid", "shipped", "refunded"][(i % 3) as usize];
            let day = format!("2025-{:02}-{:02}", i % 12 + 1, i % 28 + 1);
            order
                .execute(rusqlite::params![i, i % 200 + 1, (i % 97) as f64 * 1.25, status, day])
                .context("insert an order")?;
        }
    }
    tx.commit().context("commit the bench data")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------

struct Setup {
    connection_id: String,
    /// (user id, access token) of each bench user.
    users: Vec<(String, String)>,
}

/// Limits off, the connection, the bench users with their grants and tokens.
async fn setup(api: &Api, db: &Path, users: usize) -> Result<Setup> {
    let admin = api.login(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    for key in ["questions_per_minute_per_user", "requests_per_minute_per_address"] {
        let path = format!("/api/v1/settings/{key}");
        api.expect(Method::PUT, &path, Some(&admin), Some(json!({"value": 0})), StatusCode::OK).await?;
    }
    for key in ["default_hourly_token_limit", "default_daily_token_limit", "default_monthly_token_limit"] {
        let path = format!("/api/v1/settings/{key}");
        api.expect(Method::PUT, &path, Some(&admin), Some(json!({"value": null})), StatusCode::OK).await?;
    }
    let body = json!({"name": "bench", "url": db.display().to_string()});
    let c = api.expect(Method::POST, "/api/v1/connections", Some(&admin), Some(body), StatusCode::CREATED).await?;
    let connection_id = c["id"].as_str().with_context(|| format!("the connection has no id: {c}"))?.to_string();
    let mut out = Vec::with_capacity(users);
    for i in 0..users {
        let email = format!("bench{i:04}@bench.example");
        let body = json!({"email": email, "password": USER_PASSWORD, "role": "user"});
        let u = api.expect(Method::POST, "/api/v1/users", Some(&admin), Some(body), StatusCode::CREATED).await?;
        let id = u["id"].as_str().with_context(|| format!("the user has no id: {u}"))?.to_string();
        let no_limits = json!({"hourly_token_limit": null, "daily_token_limit": null, "monthly_token_limit": null});
        let path = format!("/api/v1/users/{id}");
        api.expect(Method::PATCH, &path, Some(&admin), Some(no_limits), StatusCode::OK).await?;
        let path = format!("/api/v1/connections/{connection_id}/permissions/{id}");
        api.expect(Method::PUT, &path, Some(&admin), Some(json!({})), StatusCode::OK).await?;
        let token = api.login(&email, USER_PASSWORD).await?;
        out.push((id, token));
    }
    Ok(Setup { connection_id, users: out })
}

/// Every user asks `question` on every server at once; each must be answered by the LLM, rightly.
async fn warm_up(apis: &[Api], setup: &Setup, question: &'static str) -> Result<()> {
    let mut warm = tokio::task::JoinSet::new();
    for api in apis {
        for (_, token) in setup.users.clone() {
            let (api, c) = (api.clone(), setup.connection_id.clone());
            warm.spawn(async move { api.ask(&token, &c, question).await });
        }
    }
    while let Some(r) = warm.join_next().await {
        let r = r.map_err(|e| anyhow!("a warm-up task failed: {e}"))?;
        if let Some(problem) = check_answer(&r, "llm") {
            bail!("warm-up question failed: {problem}");
        }
    }
    Ok(())
}

struct Burst {
    latencies: Vec<Duration>,
    errors: Vec<String>,
    /// Questions answered 200 (rightly or not): each must be one history row.
    accepted: usize,
    wall: Duration,
    max_in_flight: usize,
    /// Per server, in the order given: the sampled peak RSS, the RSS when the most questions were in flight, and
    /// `VmHWM` after the burst.
    peak_rss_kb: Vec<u64>,
    rss_at_max_in_flight_kb: Vec<u64>,
    hwm_kb: Vec<u64>,
    /// CPU time of the servers (together), and of this process (the client and the scripted LLM), during the burst.
    server_cpu: Duration,
    own_cpu: Duration,
    /// CPU time of the machine's PostgreSQL and Redis processes during the burst (what they did for it, and anything
    /// else they did meanwhile).
    services_cpu: Duration,
}

/// `n` questions, `concurrency` at once or (`rate`) on an open-loop schedule, question `i` sent to server
/// `i % servers.len()`; each server's memory sampled every 5 ms.
async fn burst(
    servers: &[(&Api, &Server)],
    setup: &Setup,
    n: usize,
    concurrency: usize,
    rate: Option<f64>,
) -> Result<Burst> {
    let gate = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let pids: Vec<u32> = servers.iter().map(|(_, s)| s.pid).collect();
    let sampler = {
        let (in_flight, done) = (in_flight.clone(), done.clone());
        let probes: Vec<_> = pids.iter().map(|&pid| Server::mem_of(pid)).collect();
        tokio::spawn(async move {
            let (mut peak, mut at_max, mut max_seen) = (vec![0u64; probes.len()], vec![0u64; probes.len()], 0usize);
            while !done.load(Ordering::Relaxed) {
                let now = in_flight.load(Ordering::Relaxed);
                let at_most = now >= max_seen;
                if at_most {
                    max_seen = now;
                }
                for (i, probe) in probes.iter().enumerate() {
                    if let Ok(m) = probe() {
                        peak[i] = peak[i].max(m.rss_kb);
                        if at_most {
                            at_max[i] = m.rss_kb;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (peak, at_max)
        })
    };
    let servers_cpu = || -> Result<Duration> { pids.iter().map(|pid| cpu_time(&pid.to_string())).sum() };
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let (server_cpu, own_cpu, services_cpu) = (servers_cpu()?, cpu_time("self")?, cpu_of_named(SERVICES));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let api = servers[i % servers.len()].0.clone();
        let (gate, in_flight, max_in_flight) = (gate.clone(), in_flight.clone(), max_in_flight.clone());
        let token = setup.users[i % setup.users.len()].1.clone();
        let connection = setup.connection_id.clone();
        let scheduled = rate.map(|q| started + Duration::from_secs_f64(i as f64 / q));
        tasks.spawn(async move {
            if let Some(at) = scheduled {
                tokio::time::sleep_until(at.into()).await;
            }
            let _permit = gate.acquire_owned().await.map_err(|e| anyhow!("the gate closed: {e}"))?;
            let now = in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            max_in_flight.fetch_max(now, Ordering::Relaxed);
            let t = scheduled.unwrap_or_else(Instant::now);
            let reply =
                api.ask(&token, &connection, &format!("bench question {i}: what is the size of the order book?")).await;
            let elapsed = t.elapsed();
            in_flight.fetch_sub(1, Ordering::Relaxed);
            let accepted = matches!(&reply, Ok((status, _)) if *status == StatusCode::OK);
            anyhow::Ok((elapsed, accepted, check_answer(&reply, "llm")))
        });
    }
    let mut latencies = Vec::with_capacity(n);
    let mut errors = Vec::new();
    let mut accepted = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((elapsed, ok, problem))) => {
                latencies.push(elapsed);
                accepted += usize::from(ok);
                errors.extend(problem);
            }
            Ok(Err(e)) => errors.push(format!("{e:#}")),
            Err(e) => errors.push(format!("a request task failed: {e}")),
        }
    }
    let wall = started.elapsed();
    let server_cpu = servers_cpu()?.saturating_sub(server_cpu);
    let own_cpu = cpu_time("self")?.saturating_sub(own_cpu);
    let services_cpu = cpu_of_named(SERVICES).saturating_sub(services_cpu);
    done.store(true, Ordering::Relaxed);
    let (peak_rss_kb, rss_at_max_in_flight_kb) = sampler.await.context("the memory sampler")?;
    let hwm_kb = servers.iter().map(|(_, s)| s.mem().map(|m| m.hwm_kb)).collect::<Result<_>>()?;
    Ok(Burst {
        latencies,
        errors,
        accepted,
        wall,
        max_in_flight: max_in_flight.load(Ordering::Relaxed),
        peak_rss_kb,
        rss_at_max_in_flight_kb,
        hwm_kb,
        server_cpu,
        own_cpu,
        services_cpu,
    })
}

impl Server {
    /// A reader of this pid's memory that does not borrow the server.
    fn mem_of(pid: u32) -> impl Fn() -> Result<Mem> + Send + 'static {
        move || {
            let path = format!("/proc/{pid}/status");
            let status = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|kb| kb.parse::<u64>().ok())
                    .with_context(|| format!("no {name} in {path}"))
            };
            Ok(Mem { rss_kb: field("VmRSS:")?, hwm_kb: field("VmHWM:")? })
        }
    }
}

/// `m` sequential requests of one kind; their latencies, and the problems met.
async fn sequential<F, Fut>(m: usize, mut one: F) -> (Vec<Duration>, Vec<String>)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let mut times = Vec::with_capacity(m);
    let mut errors = Vec::new();
    for i in 0..m {
        let t = Instant::now();
        let problem = one(i).await;
        times.push(t.elapsed());
        errors.extend(problem);
    }
    (times, errors)
}

fn status_problem(r: Result<(StatusCode, Value)>) -> Option<String> {
    match r {
        Ok((s, _)) if s == StatusCode::OK => None,
        Ok((s, body)) => Some(format!("{s}: {body}")),
        Err(e) => Some(format!("transport: {e:#}")),
    }
}

/// Phase 3: the pipeline alone and the whole question service, in this process, on the stopped server's data, with
/// the configuration `vars`; every answer must come from `source`.
async fn in_process(
    env: &Env,
    vars: Vec<(String, String)>,
    setup: &Setup,
    question: &str,
    source: &str,
    m: usize,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let config = Config::load(&ConfigSources { env: vars, ..ConfigSources::default() })
        .map_err(|e| anyhow!("configuration: {e}"))?;
    let data = env.dir.join("data");
    let master = master_key(None, &data).map_err(|e| anyhow!("the master key: {e}"))?;
    let state = AppState::open(&config, &data, &master).await.map_err(|e| anyhow!("open the server's state: {e}"))?;
    let store = &state.store;
    let (user_id, _) = setup.users.first().context("no bench user")?;
    let user = store.user(user_id).await.map_err(|e| anyhow!("{e}"))?.context("the bench user is gone")?;
    let stored = store
        .connection(&setup.connection_id)
        .await
        .map_err(|e| anyhow!("{e}"))?
        .context("the bench connection is gone")?;
    let permission = store.permission(&user.id, &stored.id).await.map_err(|e| anyhow!("{e}"))?;
    let access = access_for(&user, &stored.name, permission.as_ref()).map_err(|e| anyhow!("{e}"))?;
    let open = state.questions.registry.get(&stored).await.map_err(|e| anyhow!("open the connection: {e}"))?;
    let defaults = state.questions.defaults.clone();
    let parsed = Question::parse(question).map_err(|e| anyhow!("{e}"))?;
    let source_of =
        |a: &datagenie_app::ask::Answer| serde_json::to_value(&a.source).unwrap_or_default()["kind"].clone();
    let caller = Caller {
        user: user.clone(),
        ip_address: Some("127.0.0.1".into()),
        user_agent: None,
        request_id: None,
        api_key_id: None,
        channel: datagenie_store::model::Channel::Http,
    };

    let pipeline_once = async || {
        let request = AskRequest {
            question: parsed.clone(),
            kind: RequestKind::Question,
            connection: &open,
            policy: access.policy.clone(),
            user: Some(access.requester.clone()),
            session: SessionContext::default(),
            options: AskOptions {
                limits: Limits { max_rows: access.rows(defaults.max_rows), timeout: access.time(defaults.timeout) },
                max_attempts: defaults.max_attempts,
                summary: defaults.summary,
                dry_run: false,
                unmask: access.unmask,
                schema_budget_tokens: defaults.schema_budget_tokens,
                today: datagenie_app::today(),
                temperature: defaults.temperature,
                max_tokens: defaults.max_tokens,
                token_budget: None,
                cache: None,
                llm_refusal: None,
            },
            progress: None,
        };
        let t = Instant::now();
        let answer = state.questions.context.ask(&request).await;
        let elapsed = t.elapsed();
        match answer {
            Ok(a) if a.rows.len() == 1 && source_of(&a) == source => Ok(elapsed),
            Ok(a) => Err(anyhow!("the pipeline answered {} rows from {}", a.rows.len(), source_of(&a))),
            Err(f) => Err(anyhow!("the pipeline failed: {}", f.error)),
        }
    };
    let service_once = async || {
        let params = AskParams {
            row_ceiling: None,
            connection: setup.connection_id.clone(),
            question: question.into(),
            session_id: None,
            max_rows: None,
            kind: RequestKind::Question,
            history_id: None,
        };
        let t = Instant::now();
        let asked = state.questions.ask(&caller, params, None).await;
        let elapsed = t.elapsed();
        match asked {
            Ok(a) if a.outcome.as_ref().is_ok_and(|a| source_of(a) == source) => Ok(elapsed),
            Ok(a) => Err(anyhow!("the service failed: {:?}", a.outcome.err().map(|f| f.error))),
            Err(e) => Err(anyhow!("the service failed: {e}")),
        }
    };
    for _ in 0..50 {
        pipeline_once().await?;
        service_once().await?;
    }
    let (mut pipeline, mut service) = (Vec::with_capacity(m), Vec::with_capacity(m));
    // Interleaved, so both see the same machine.
    for _ in 0..m {
        pipeline.push(pipeline_once().await?);
        service.push(service_once().await?);
    }
    Ok((pipeline, service))
}

async fn run() -> Result<bool> {
    let args = parse_args()?;
    if let Some(c) = &args.cluster {
        return cluster::run(&args, c).await;
    }
    let temp = tempfile::tempdir().context("a temporary directory")?;
    let env = Env::new(temp.path());
    for d in ["home", "config", "data", "cache"] {
        std::fs::create_dir_all(temp.path().join(d)).context("create the bench directories")?;
    }
    let db = temp.path().join("bench.db");
    make_db(&db)?;
    let query = query_time(&db)?;
    let (llm, llm_url) = start_llm(args.llm_delay).await?;
    create_admin(&args.bin, &env.vars).await?;

    // Phase 1: the burst, with the LLM.
    let with_llm = env.with(&[
        ("DATAGENIE_LLM__PROVIDER", "openai"),
        ("DATAGENIE_LLM__BASE_URL", &llm_url),
        ("DATAGENIE_LLM__MODEL", "bench-model"),
        ("DATAGENIE_LLM__API_KEY", "sk-bench"),
        ("DATAGENIE_LLM__MAX_RETRIES", "0"),
    ]);
    eprintln!("load: starting {} serve (with the scripted LLM, {} ms)", args.bin.display(), args.llm_delay.as_millis());
    let server = Server::start(&args.bin, &with_llm, temp.path().join("serve-llm.log")).await?;
    let started_mem = server.mem()?;
    let api = Api::new(&server.base)?;
    let s = setup(&api, &db, args.users).await?;
    // Warm-up: every user asks once, then one question each at once.
    for (_, token) in &s.users {
        let r = api.ask(token, &s.connection_id, "warm-up: what is the size of the order book?").await;
        if let Some(problem) = check_answer(&r, "llm") {
            bail!("warm-up question failed: {problem}; the server's log:\n{}", tail(&server.log));
        }
    }
    warm_up(std::slice::from_ref(&api), &s, "warm-up: how big is the order book?").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = server.mem()?;
    let llm_calls_before = llm.calls.load(Ordering::Relaxed);
    llm.max_in_flight.store(0, Ordering::Relaxed);
    eprintln!(
        "load: {} questions, {} at once (rate {:?}), {} users",
        args.questions, args.concurrency, args.rate, args.users
    );
    let b = burst(&[(&api, &server)], &s, args.questions, args.concurrency, args.rate).await?;
    let llm_calls = llm.calls.load(Ordering::Relaxed) - llm_calls_before;
    let llm_max_in_flight = llm.max_in_flight.load(Ordering::Relaxed);
    server.stop().await?;

    // Phase 2: the built-in engine answers (no LLM), one request at a time.
    let no_llm = env.with(&[("DATAGENIE_LLM__PROVIDER", "builtin")]);
    eprintln!("load: restarting the server without an LLM; {} sequential requests of each kind", args.sequential);
    let server = Server::start(&args.bin, &no_llm, temp.path().join("serve-builtin.log")).await?;
    let api = Api::new(&server.base)?;
    let token = s.users[0].1.clone();
    let c = s.connection_id.clone();
    for _ in 0..100 {
        let r = api.ask(&token, &c, BUILTIN_QUESTION).await;
        if let Some(problem) = check_answer(&r, "builtin") {
            bail!("the built-in engine did not answer '{BUILTIN_QUESTION}': {problem}");
        }
        let _ = api.call(Method::GET, "/healthz", None, None).await;
        let _ = api.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    }
    let builtin_idle = server.mem()?;
    let (api_ref, token_ref) = (&api, token.as_str());
    let (healthz, mut errors2) = sequential(args.sequential, |_| async move {
        status_problem(api_ref.call(Method::GET, "/healthz", None, None).await)
    })
    .await;
    let (me, e) = sequential(args.sequential, |_| async move {
        status_problem(api_ref.call(Method::GET, "/api/v1/me", Some(token_ref), None).await)
    })
    .await;
    errors2.extend(e);
    let reported = Arc::new(std::sync::Mutex::new(Vec::with_capacity(args.sequential)));
    let (asks, e) = sequential(args.sequential, |_| {
        let (api, token, c, reported) = (api.clone(), token.clone(), c.clone(), reported.clone());
        async move {
            let r = api.ask(&token, &c, BUILTIN_QUESTION).await;
            if let Ok((_, json)) = &r
                && let Some(ms) = json["elapsed_ms"].as_u64()
                && let Ok(mut v) = reported.lock()
            {
                v.push(Duration::from_millis(ms));
            }
            check_answer(&r, "builtin")
        }
    })
    .await;
    errors2.extend(e);
    server.stop().await?;
    let reported = reported.lock().map(|v| v.clone()).unwrap_or_default();

    // Phase 3: in process.
    eprintln!("load: the pipeline and the question service in process, {} each", args.sequential);
    let (pipeline, service) = in_process(&env, no_llm, &s, BUILTIN_QUESTION, "builtin", args.sequential).await?;
    // The same with the LLM path, an LLM that answers at once: what the server spends on an LLM question.
    let (_instant_llm, instant_url) = start_llm(Duration::ZERO).await?;
    let instant = env.with(&[
        ("DATAGENIE_LLM__PROVIDER", "openai"),
        ("DATAGENIE_LLM__BASE_URL", &instant_url),
        ("DATAGENIE_LLM__MODEL", "bench-model"),
        ("DATAGENIE_LLM__API_KEY", "sk-bench"),
        ("DATAGENIE_LLM__MAX_RETRIES", "0"),
    ]);
    let llm_question = "what is the size of the order book?";
    let (llm_pipeline, llm_service) = in_process(&env, instant, &s, llm_question, "llm", args.sequential).await?;

    // The table.
    let errors1 = b.errors.len();
    let lat = spread(b.latencies.clone());
    let target_p99 = args.llm_delay + Duration::from_millis(50) + query;
    let (healthz, me, asks, reported, pipeline, service) =
        (spread(healthz), spread(me), spread(asks), spread(reported), spread(pipeline), spread(service));
    let (llm_pipeline, llm_service) = (spread(llm_pipeline), spread(llm_service));
    let overhead = asks.p50.saturating_sub(pipeline.p50);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()))
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);

    println!();
    println!("DataGenie server load test ({} on {cores} cores: {cpu})", args.bin.display());
    println!();
    match args.rate {
        None => {
            println!("Phase 1: burst, scripted LLM");
            row("questions / at once / users", format!("{} / {} / {}", args.questions, args.concurrency, args.users));
        }
        Some(q) => {
            println!("Phase 1: open loop, scripted LLM");
            row("questions / offered rate / users", format!("{} / {q} a second / {}", args.questions, args.users));
        }
    }
    row("LLM delay; the SQL's own time (p50)", format!("{} ms; {}", args.llm_delay.as_millis(), ms(query)));
    row("errors (non-200, wrong answer, transport)", errors1);
    row("in flight at once: client / at the LLM", format!("{} / {llm_max_in_flight}", b.max_in_flight));
    row("LLM calls", llm_calls);
    spread_row("latency", &lat);
    row("latency less the LLM delay (p50)", ms(lat.p50.saturating_sub(args.llm_delay)));
    row(
        "wall time; throughput",
        format!("{}; {:.0} questions/s", ms(b.wall), args.questions as f64 / b.wall.as_secs_f64()),
    );
    let per_q = |d: Duration| ms(d / args.questions as u32);
    row(
        "CPU per question: server / load generator",
        format!(
            "{} / {} (server busy {:.0} % of {cores} cores)",
            per_q(b.server_cpu),
            per_q(b.own_cpu),
            100.0 * b.server_cpu.as_secs_f64() / b.wall.as_secs_f64() / cores as f64
        ),
    );
    row("server RSS at start", mb(started_mem.rss_kb));
    row("server RSS idle (after setup and warm-up)", mb(idle.rss_kb));
    row("server RSS at most in flight (sampled)", mb(b.rss_at_max_in_flight_kb[0]));
    row("server RSS peak: sampled / VmHWM", format!("{} / {}", mb(b.peak_rss_kb[0]), mb(b.hwm_kb[0])));
    println!();
    println!("Phase 2: one request at a time, built-in engine (no LLM), {} each", args.sequential);
    row("errors", errors2.len());
    row("server RSS idle (no LLM, after warm-up)", mb(builtin_idle.rss_kb));
    spread_row("GET /healthz (HTTP round trip)", &healthz);
    spread_row("GET /api/v1/me (+ token check, user reload)", &me);
    spread_row("POST /api/v1/ask", &asks);
    spread_row("  the answer's elapsed_ms (whole ms)", &reported);
    println!();
    println!("Phase 3: in process, the same question, {} each", args.sequential);
    spread_row("pipeline (AskContext::ask)", &pipeline);
    spread_row("question service (+ grant, usage, history, audit)", &service);
    spread_row("LLM path, instant LLM: pipeline", &llm_pipeline);
    spread_row("LLM path, instant LLM: question service", &llm_service);
    println!();
    println!("Server overhead per question (p50)");
    row("store work: service - pipeline", ms(service.p50.saturating_sub(pipeline.p50)));
    row("auth: /me - /healthz", ms(me.p50.saturating_sub(healthz.p50)));
    row("HTTP ask - service (HTTP, auth, routing, JSON)", ms(asks.p50.saturating_sub(service.p50)));
    row("HTTP ask - pipeline (all overhead, loopback incl.)", ms(overhead));
    row("  the same less the /healthz round trip", ms(overhead.saturating_sub(healthz.p50)));
    println!();
    println!("Targets");
    row(
        &format!("burst p99 <= {} (delay + 50 ms + query)", ms(target_p99)),
        format!("{} ({})", verdict(lat.p99 <= target_p99), ms(lat.p99)),
    );
    row("errors = 0", verdict(errors1 + errors2.len() == 0));
    row(
        "overhead p50 <= 1 ms (ask - pipeline)",
        format!("{} ({})", verdict(overhead <= Duration::from_millis(1)), ms(overhead)),
    );
    row("idle RSS <= 60 MB", format!("{} ({})", verdict(idle.rss_kb <= 60 * 1024), mb(idle.rss_kb)));

    let all: Vec<&String> = b.errors.iter().chain(errors2.iter()).collect();
    if !all.is_empty() {
        println!();
        println!("First errors:");
        for e in all.iter().take(10) {
            println!("  {e}");
        }
    }
    Ok(all.is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("load: {e:#}");
            ExitCode::from(2)
        }
    }
}
