//! Promises the README makes, tried as a user would: passwords never printed, an explicit "no LLM" never
//! overridden, a failed question reports what it cost, and check commands take their exit status from the error
//! table.

use datagenie_testkit::{Group, POSTGRES, tests};
use serde_json::json;

use crate::harness::{Env, Output, shop_db};
use crate::scripted_llm::{ScriptedLlm, reply, sql};

/// Every output of a run — stdout, stderr, debug logs — must be free of every password.
fn assert_no_secret(out: &Output, secrets: &[&str], what: &str) {
    for s in secrets {
        assert!(!out.stdout.contains(s), "{what}: stdout shows {s}:\n{}", out.stdout);
        assert!(!out.stderr.contains(s), "{what}: stderr shows {s}:\n{}", out.stderr);
    }
}

/// Passwords enter through the environment, the configuration file and `--db`, in every URL form each engine
/// accepts (user-info and query parameter, well-formed and malformed); every command that takes a database prints
/// none of them, in any format, with debug logging on. The servers are unreachable here (port 1), so the error
/// paths are the ones exercised; `secrets_on_a_live_server_never_show` covers the answering paths.
async fn database_passwords_never_show_in_any_output() {
    let mut env = Env::new();
    env.set("DATAGENIE_LOG", "debug");
    env.set("DATAGENIE_DATABASE__URL", "postgres://envuser:PwEnv1a@127.0.0.1:1/shop");
    let config = env.path("datagenie.toml");
    std::fs::write(&config, "[database]\nurl = \"mysql://fileuser:PwFile2b@127.0.0.1:1/shop\"\n").expect("config");
    let config = config.display().to_string();
    let flags = [
        "postgres://u:PwFlag3c@127.0.0.1:1/db?sslmode=disable",
        "postgresql://u:PwFlag4d@127.0.0.1:1/db",
        "mysql://u:PwFlag5e@127.0.0.1:1/db",
        "mariadb://u:PwFlag6f@127.0.0.1:1/db",
        "postgres://127.0.0.1:1/db?user=u&password=PwQuery7g",
        "postgres://u:PwBad8h@127.0.0.1:notaport/db",
        "mysql://u:PwBad9i@127.0.0.1:1/db?ssl-mode=NOPE",
        "oracle://u:PwOra10j@127.0.0.1:1/db",
        "postgres://u:Pw@Un/escaped11k@127.0.0.1:1/db",
    ];
    let secrets =
        ["PwEnv1a", "PwFile2b", "PwFlag3c", "PwFlag4d", "PwFlag5e", "PwFlag6f", "PwQuery7g", "PwBad8h", "PwBad9i"];
    let secrets: Vec<&str> = secrets.into_iter().chain(["PwOra10j", "Un/escaped11k"]).collect();

    // The configuration: from the environment (which wins) and from the file (env removed below).
    for format_args in [&["config", "show"][..], &["--config", &config, "config", "show"][..]] {
        let out = env.run(format_args).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stdout.contains("[redacted]"), "{}", out.stdout);
        assert_no_secret(&out, &secrets, "config show");
    }

    // Every command that takes a database, with the configured one and with each flag form.
    let mut runs: Vec<Vec<String>> = Vec::new();
    let commands: [&[&str]; 7] = [
        &["ask", "--format", "json", "how many orders"],
        &["ask", "--format", "table", "how many orders"],
        &["schema", "--format", "json"],
        &["doctor", "--format", "json"],
        &["doctor"],
        &["template", "list", "--format", "json"],
        &["eval", "--templates", "--provider", "builtin"],
    ];
    for command in commands {
        runs.push(command.iter().map(|s| s.to_string()).collect());
        runs.push(["--config", &config].iter().copied().chain(command.iter().copied()).map(String::from).collect());
        for flag in flags {
            let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
            // `--db` goes right after the subcommand (two words for `template list`).
            let at = if command[0] == "template" { 2 } else { 1 };
            args.insert(at, flag.to_string());
            args.insert(at, "--db".to_string());
            runs.push(args);
        }
    }
    let template = ["template", "add", "--name", "n", "--question", "how many orders", "--sql", "SELECT 1"];
    for flag in flags {
        let mut args: Vec<String> = template.iter().map(|s| s.to_string()).collect();
        args.extend(["--db".to_string(), flag.to_string()]);
        runs.push(args);
        runs.push(vec!["template".into(), "test".into(), "--db".into(), flag.into(), "how many orders".into()]);
        runs.push(vec!["demo".into(), "--load".into(), flag.into()]);
        runs.push(vec!["demo".into(), "--format".into(), "json".into(), "--load".into(), flag.into()]);
    }
    for args in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = env.run(&args).await;
        // (`template` files templates under the database's name without connecting to it.)
        if args[0] != "template" && !args.contains(&"template") {
            assert_ne!(out.code, 0, "{args:?} cannot succeed on an unreachable server: {}", out.stdout);
        }
        assert_no_secret(&out, &secrets, &format!("{args:?}"));
    }
}

/// With a reachable PostgreSQL (trust authentication accepts any password), the answering paths print no password
/// either: `ask`, `schema`, `doctor`, `template add/list/test`, and the debug logs of each.
async fn secrets_on_a_live_server_never_show() {
    let admin = POSTGRES.admin_url();
    // postgres://postgres@127.0.0.1:5432/postgres → postgres://postgres:PwLive12m@127.0.0.1:5432/postgres
    let (scheme, rest) = admin.split_once("://").expect("a URL");
    let (user, host) = rest.split_once('@').expect("user@host");
    let user = user.split(':').next().unwrap_or(user);
    let url = format!("{scheme}://{user}:PwLive12m@{host}");
    let secrets = ["PwLive12m"];
    let mut env = Env::new();
    env.set("DATAGENIE_LOG", "debug");
    let runs: [&[&str]; 6] = [
        &["ask", "--db", &url, "--format", "json", "how many tables"],
        &["schema", "--db", &url],
        &["doctor", "--db", &url, "--format", "json"],
        &["template", "add", "--db", &url, "--name", "one", "--question", "the number one", "--sql", "SELECT 1 AS one"],
        &["template", "list", "--db", &url, "--format", "json"],
        &["ask", "--db", &url, "--format", "json", "the number one"],
    ];
    for args in runs {
        let out = env.run(args).await;
        assert_no_secret(&out, &secrets, &format!("{args:?}"));
    }
    let out = env.run(&["ask", "--db", &url, "--format", "json", "the number one"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["rows"], json!([[1]]));
}

/// `DATAGENIE_LLM__PROVIDER=builtin` (or `provider = "builtin"` in the file) with `OPENAI_API_KEY` and
/// `OPENAI_BASE_URL` in the environment: nothing reaches the LLM, and the answer and `config show` say which
/// provider is in force and why. Without any LLM setting, the OpenAI variables do choose the LLM.
async fn an_explicit_no_llm_choice_is_never_overridden() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) AS n FROM orders"))).await;
    let mut env = Env::new();
    let db = env.path("shop.db");
    shop_db(&db);
    let db = db.display().to_string();
    env.set("OPENAI_API_KEY", "sk-openai-elsewhere");
    env.set("OPENAI_BASE_URL", &llm.base_url);
    env.set("DATAGENIE_ASK__SUMMARY", "false");

    let file = env.path("builtin.toml");
    std::fs::write(&file, "[llm]\nprovider = \"builtin\"\n").expect("config");
    let file = file.display().to_string();

    env.set("DATAGENIE_LLM__PROVIDER", "builtin");
    check_no_llm(&env, &db, None, "env DATAGENIE_LLM__PROVIDER").await;
    env.unset("DATAGENIE_LLM__PROVIDER");
    check_no_llm(&env, &db, Some(&file), &format!("file {file}")).await;
    assert!(llm.requests().is_empty(), "a user who chose no LLM had data sent to one");

    // No LLM setting at all: the OpenAI variables choose the LLM, and the answer says so.
    let out = env.run(&["ask", "--db", &db, "--format", "json", "Which customers would churn next year?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["source"]["llm"]["from"], "env OPENAI_API_KEY");
    assert_eq!(llm.requests().len(), 1);
}

/// A builtin answer, a refusal instead of an LLM call, and `config show`, all saying where the choice came from.
async fn check_no_llm(env: &Env, db: &str, config: Option<&str>, from: &str) {
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = config.map(|c| vec!["--config", c]).unwrap_or_default();
        all.extend_from_slice(args);
        let all: Vec<String> = all.into_iter().map(String::from).collect();
        async move {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            env.run(&all).await
        }
    };
    let out = run(&["ask", "--db", db, "--format", "json", "How many orders are there?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["source"]["kind"], "builtin", "{v}");
    assert_eq!(v["source"]["llm"], json!({"provider": "builtin", "model": null, "from": from}));
    let out = run(&["ask", "--db", db, "--format", "table", "How many orders are there?"]).await;
    assert!(out.stdout.contains(&format!("no LLM (builtin), from {from}")), "{}", out.stdout);
    // A question the engine cannot answer is refused, not sent.
    let out = run(&["ask", "--db", db, "--format", "json", "Which customers would churn next year?"]).await;
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert_eq!(out.error_code(), "not_understood");
    let out = run(&["config", "show"]).await;
    assert!(out.stdout.starts_with(&format!("# llm.provider = \"builtin\" (from {from}): no LLM")), "{}", out.stdout);
    assert!(!out.stdout.contains("sk-openai-elsewhere"));
}

/// A question the LLM could not answer reports, in JSON, the error and everything spent on the way: each attempt,
/// the tokens and cost of every call, and the time. The table format prints the attempts on stderr.
async fn a_failed_question_reports_what_it_cost() {
    let llm = ScriptedLlm::start(vec![
        reply("I would need to know more about your data."),
        sql("SELECT nope FROM orders"),
        reply("Sorry, I cannot write that query."),
    ])
    .await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_LLM__PRICES__GPT-4O-MINI", "{ input_per_mtok = 1000.0, output_per_mtok = 2000.0 }");
    let db = env.path("shop.db");
    shop_db(&db);
    let db = db.display().to_string();
    let out = env.run(&["ask", "--db", &db, "--format", "json", "what is the churn rate?"]).await;
    assert_eq!(out.code, 2, "{}", out.stdout);
    let v = out.json();
    assert_eq!(v["error"]["code"], "llm_no_sql", "{v}");
    let attempts = v["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 3, "{v}");
    assert_eq!(
        attempts[0],
        json!({"sql": null, "error": {"code": "llm_no_sql", "message": "the LLM's reply contained no SQL query"}})
    );
    assert_eq!(attempts[1]["sql"], "SELECT nope FROM orders");
    assert_eq!(attempts[1]["error"]["code"], "query_failed");
    let usage = &v["usage"];
    assert!(usage["prompt_tokens"].as_u64().is_some_and(|n| n > 0), "{v}");
    assert!(usage["completion_tokens"].as_u64().is_some_and(|n| n > 0), "{v}");
    assert!(usage["cost_usd"].as_f64().is_some_and(|c| c > 0.0), "{v}");
    assert!(v["elapsed_ms"].is_u64(), "{v}");
    assert_eq!(llm.requests().len(), 3);

    // Before any LLM call: the same shape, nothing spent.
    let out = env.run(&["ask", "--db", &db, "--format", "json", "   "]).await;
    assert_eq!(out.code, 2);
    let v = out.json();
    assert_eq!(v["error"]["code"], "invalid_question");
    assert_eq!((v["attempts"].clone(), v["usage"]["prompt_tokens"].clone()), (json!([]), json!(0)));
}

/// `template test` with no verified match exits with the table's status for `no_template_match` (1), and says so
/// in JSON; `sql check` refusals exit 1 and usage errors 2.
async fn check_commands_take_their_status_from_the_error_table() {
    let env = Env::new();
    let db = env.path("shop.db");
    shop_db(&db);
    let db = db.display().to_string();
    let out = env.run(&["template", "test", "--db", &db, "--format", "json", "how many orders"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.json()["code"], "no_template_match");
    let out = env.run(&["sql", "check", "--dialect", "sqlite", "DELETE FROM orders"]).await;
    assert_eq!(out.code, 1);
    let out = env.run(&["sql", "check", "--dialect", "sqlite", "--user", "nonsense", "SELECT 1"]).await;
    assert_eq!(out.code, 2);
}

pub fn tests() -> Group {
    Group::new("promises")
        .tests(tests![
            database_passwords_never_show_in_any_output,
            an_explicit_no_llm_choice_is_never_overridden,
            a_failed_question_reports_what_it_cost,
            check_commands_take_their_status_from_the_error_table,
        ])
        .needs(POSTGRES, tests![secrets_on_a_live_server_never_show])
}
