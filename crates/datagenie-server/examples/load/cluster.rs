//! `--system-db postgres://…`: several `datagenie serve` processes on one PostgreSQL system database (and Redis,
//! with `--redis`) behave as one service under load.
//!
//! 1. **Burst** across the servers (question `i` to server `i % servers`), the result cache off
//!    (`cache_ttl_seconds` 0) so every question runs its SQL; then the history rows in PostgreSQL are counted against
//!    the questions accepted (each 200 must be exactly one row).
//! 2. **Cached**: the cache on; one question asked again and again, one at a time, alternating servers: its rows and
//!    its LLM reply come from the cache (Redis: shared; without: each server's own), and the LLM is not called.
//!
//! Each server has a data directory of its own (nothing on local disk is shared); the system database lives in a
//! schema made for the run and dropped after it, the Redis keys under a prefix made for the run, deleted after it.

use super::*;

/// What a cluster run needs beyond [`Args`].
pub struct ClusterArgs {
    pub system_db: String,
    pub redis: Option<String>,
    pub servers: usize,
}

/// A run's own place in the shared services: a schema, a Redis key prefix and a key.
struct Place {
    schema: String,
    system_url: String,
    prefix: String,
    secret: String,
}

impl Place {
    fn new(base: &str) -> Place {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let schema = format!("dg_load_{}", &id[..12]);
        let sep = if base.contains('?') { '&' } else { '?' };
        let secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        Place {
            system_url: format!("{base}{sep}schema={schema}"),
            schema,
            prefix: format!("dg-load-{}:", &id[..12]),
            secret,
        }
    }

    /// The schema and the Redis keys of the run, gone.
    async fn remove(&self, base: &str, redis: Option<&str>) -> Result<()> {
        let (client, conn) =
            tokio_postgres::connect(base, tokio_postgres::NoTls).await.context("connect to drop the run's schema")?;
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema))
            .await
            .context("drop the run's schema")?;
        if let Some(url) = redis {
            let client = redis::Client::open(url).context("the Redis URL")?;
            let mut c = client.get_multiplexed_async_connection().await.context("connect to Redis")?;
            let keys: Vec<String> =
                redis::cmd("KEYS").arg(format!("{}*", self.prefix)).query_async(&mut c).await.context("KEYS")?;
            for chunk in keys.chunks(500) {
                let _: i64 = redis::cmd("DEL").arg(chunk).query_async(&mut c).await.context("DEL")?;
            }
        }
        Ok(())
    }
}

/// `(rows, distinct questions)` of the burst's questions in the history.
async fn history_rows(place: &Place, base: &str) -> Result<(i64, i64)> {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls).await.context("connect to count")?;
    tokio::spawn(conn);
    let sql = format!(
        "SELECT count(*), count(DISTINCT question) FROM \"{}\".query_history WHERE question LIKE 'bench question %'",
        place.schema
    );
    let row = client.query_one(&sql, &[]).await.context("count the history rows")?;
    Ok((row.get(0), row.get(1)))
}

/// Sets a setting through `api` (the other servers read it within a second: see [`ask_until`]).
async fn set_setting(api: &Api, admin: &str, key: &str, value: Value) -> Result<()> {
    let path = format!("/api/v1/settings/{key}");
    api.expect(Method::PUT, &path, Some(admin), Some(json!({"value": value})), StatusCode::OK).await?;
    Ok(())
}

/// Asks `question` on `api` until `ok` holds of the answer (a setting changed through another server applies within
/// a second of it); at most 10 s.
async fn ask_until(
    api: &Api,
    token: &str,
    connection: &str,
    question: &str,
    ok: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = api.ask(token, connection, question).await;
        if let Some(problem) = check_answer(&r, "llm") {
            bail!("{question}: {problem}");
        }
        let (_, json) = r?;
        if ok(&json) {
            return Ok(json);
        }
        if Instant::now() > deadline {
            bail!("{question}: after 10 s the server still answers {}", json["cache"]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn run(args: &Args, cluster: &ClusterArgs) -> Result<bool> {
    let temp = tempfile::tempdir().context("a temporary directory")?;
    let db = temp.path().join("bench.db");
    make_db(&db)?;
    let query = query_time(&db)?;
    let (llm, llm_url) = start_llm(args.llm_delay).await?;
    let place = Place::new(&cluster.system_db);
    let shared: Vec<(&str, &str)> = {
        let mut v = vec![
            ("DATAGENIE_SYSTEM_DB__URL", place.system_url.as_str()),
            ("DATAGENIE_SECRET_KEY", place.secret.as_str()),
            ("DATAGENIE_REDIS__KEY_PREFIX", place.prefix.as_str()),
            ("DATAGENIE_LLM__PROVIDER", "openai"),
            ("DATAGENIE_LLM__BASE_URL", llm_url.as_str()),
            ("DATAGENIE_LLM__MODEL", "bench-model"),
            ("DATAGENIE_LLM__API_KEY", "sk-bench"),
            ("DATAGENIE_LLM__MAX_RETRIES", "0"),
        ];
        if let Some(r) = &cluster.redis {
            v.push(("DATAGENIE_REDIS__URL", r.as_str()));
        }
        v
    };
    let outcome = async {
        let mut servers = Vec::with_capacity(cluster.servers);
        for i in 0..cluster.servers {
            let dir = temp.path().join(format!("server-{i}"));
            for d in ["home", "config", "data", "cache"] {
                std::fs::create_dir_all(dir.join(d)).context("create the server's directories")?;
            }
            let vars = Env::new(&dir).with(&shared);
            if i == 0 {
                create_admin(&args.bin, &vars).await?;
            }
            eprintln!("load: starting server {} of {} on the shared system database", i + 1, cluster.servers);
            servers.push(Server::start(&args.bin, &vars, dir.join("serve.log")).await?);
        }
        let started_mem = servers.iter().map(Server::mem).collect::<Result<Vec<_>>>()?;
        let apis = servers.iter().map(|s| Api::new(&s.base)).collect::<Result<Vec<_>>>()?;
        let s = setup(&apis[0], &db, args.users).await?;
        let admin = apis[0].login(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        set_setting(&apis[0], &admin, "cache_ttl_seconds", json!(0)).await?;
        let (_, token) = s.users.first().context("no bench user")?.clone();
        for api in &apis {
            // the cache off everywhere: an answer that says nothing of a cache
            ask_until(api, &token, &s.connection_id, "warm-up: how big is the order book?", |a| a["cache"].is_null())
                .await?;
        }
        warm_up(&apis, &s, "warm-up: what is the size of the order book?").await?;
        let idle = servers.iter().map(Server::mem).collect::<Result<Vec<_>>>()?;
        let llm_calls_before = llm.calls.load(Ordering::Relaxed);
        llm.max_in_flight.store(0, Ordering::Relaxed);
        eprintln!(
            "load: {} questions, {} at once, {} users, across {} servers",
            args.questions, args.concurrency, args.users, cluster.servers
        );
        let targets: Vec<(&Api, &Server)> = apis.iter().zip(servers.iter()).collect();
        let b = burst(&targets, &s, args.questions, args.concurrency, args.rate).await?;
        let llm_calls = llm.calls.load(Ordering::Relaxed) - llm_calls_before;
        let llm_max_in_flight = llm.max_in_flight.load(Ordering::Relaxed);
        let (history, distinct) = history_rows(&place, &cluster.system_db).await?;

        // Phase 2: one question again and again, served from the cache.
        set_setting(&apis[0], &admin, "cache_ttl_seconds", json!(3600)).await?;
        let question = "bench cached: what is the size of the order book?";
        for api in &apis {
            ask_until(api, &token, &s.connection_id, question, |a| a["cache"]["rows"] == "hit").await?;
        }
        let calls_before_cached = llm.calls.load(Ordering::Relaxed);
        let apis_ref = &apis;
        let (token_ref, c_ref) = (token.as_str(), s.connection_id.as_str());
        let (cached, cached_errors) = sequential(args.sequential, |i| async move {
            let r = apis_ref[i % apis_ref.len()].ask(token_ref, c_ref, question).await;
            check_answer(&r, "llm").or_else(|| match &r {
                Ok((_, a)) if a["cache"]["rows"] != "hit" || a["cache"]["llm_hits"] != 1 => {
                    Some(format!("not from the cache: {}", a["cache"]))
                }
                _ => None,
            })
        })
        .await;
        let cached_llm_calls = llm.calls.load(Ordering::Relaxed) - calls_before_cached;
        let after = servers.iter().map(Server::mem).collect::<Result<Vec<_>>>()?;
        for server in servers {
            server.stop().await?;
        }

        // The table.
        let lat = spread(b.latencies.clone());
        let base = args.llm_delay + query;
        let target_p99 = base.mul_f64(1.1);
        let cached = spread(cached);
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
        println!();
        println!(
            "DataGenie cluster load test: {} servers, system database PostgreSQL, {} ({} cores, shared by the servers, \
             PostgreSQL, Redis, the client and the scripted LLM)",
            cluster.servers,
            if cluster.redis.is_some() { "Redis" } else { "no Redis" },
            cores
        );
        println!();
        println!("Phase 1: burst across the servers, scripted LLM, result cache off");
        row("questions / at once / users", format!("{} / {} / {}", args.questions, args.concurrency, args.users));
        row("LLM delay; the SQL's own time (p50)", format!("{} ms; {}", args.llm_delay.as_millis(), ms(query)));
        row("errors (non-200, wrong answer, transport)", b.errors.len());
        row("accepted (200) / history rows / distinct", format!("{} / {history} / {distinct}", b.accepted));
        row("in flight at once: client / at the LLM", format!("{} / {llm_max_in_flight}", b.max_in_flight));
        row("LLM calls", llm_calls);
        spread_row("latency", &lat);
        row(
            "wall time; throughput",
            format!("{}; {:.0} questions/s", ms(b.wall), args.questions as f64 / b.wall.as_secs_f64()),
        );
        let per_q = |d: Duration| ms(d / args.questions as u32);
        row(
            "CPU per question: servers / PostgreSQL+Redis / load",
            format!("{} / {} / {}", per_q(b.server_cpu), per_q(b.services_cpu), per_q(b.own_cpu)),
        );
        let all_cpu = b.server_cpu + b.services_cpu + b.own_cpu;
        row(
            "all CPU per question; the rate it allows",
            format!(
                "{}; {:.0} questions/s on {cores} cores (the target's rate: {:.0}/s)",
                per_q(all_cpu),
                cores as f64 / (all_cpu.as_secs_f64() / args.questions as f64),
                args.concurrency as f64 / (args.llm_delay + query).as_secs_f64()
            ),
        );
        for i in 0..cluster.servers {
            row(
                &format!("server {} RSS: start / idle / peak / VmHWM", i + 1),
                format!(
                    "{} / {} / {} / {}",
                    mb(started_mem[i].rss_kb),
                    mb(idle[i].rss_kb),
                    mb(b.peak_rss_kb[i]),
                    mb(b.hwm_kb[i])
                ),
            );
        }
        println!();
        println!("Phase 2: one question repeated, {} times one at a time, alternating servers", args.sequential);
        row("errors (or not from the cache)", cached_errors.len());
        row("LLM calls during the repeats", cached_llm_calls);
        spread_row("latency (HTTP, auth, cache, history write)", &cached);
        for (i, m) in after.iter().enumerate() {
            row(&format!("server {} RSS after", i + 1), mb(m.rss_kb));
        }
        println!();
        println!("Targets");
        let errors = b.errors.len() + cached_errors.len();
        row("errors = 0", format!("{} ({errors})", verdict(errors == 0)));
        row(
            &format!("burst p99 <= 1.1 x (LLM + query) = {}", ms(target_p99)),
            format!("{} ({})", verdict(lat.p99 <= target_p99), ms(lat.p99)),
        );
        let rows_ok = history == b.accepted as i64 && distinct == history;
        row("history rows = accepted questions", format!("{} ({history} of {})", verdict(rows_ok), b.accepted));
        let cached_ok = cached.p50 <= Duration::from_millis(2) && cached_llm_calls == 0;
        row("cached question p50 <= 2 ms, no LLM call", format!("{} ({})", verdict(cached_ok), ms(cached.p50)));
        let all: Vec<&String> = b.errors.iter().chain(cached_errors.iter()).collect();
        if !all.is_empty() {
            println!();
            println!("First errors:");
            for e in all.iter().take(10) {
                println!("  {e}");
            }
        }
        anyhow::Ok(errors == 0 && rows_ok && cached_ok && lat.p99 <= target_p99)
    }
    .await;
    let removed = place.remove(&cluster.system_db, cluster.redis.as_deref()).await;
    let ok = outcome?;
    removed?;
    Ok(ok)
}
