//! `datagenie schema`, `config`, `demo`.

use datagenie_testkit::{Group, tests};
use serde_json::json;

use crate::harness::{Env, shop_db};
use crate::scripted_llm::{ScriptedLlm, reply, sql};

async fn schema_prints_tables_columns_keys_and_counts() {
    let env = Env::new();
    let db = env.path("shop.db");
    shop_db(&db);
    let url = format!("sqlite://{}", db.display());
    let out = env.run(&["schema", "--db", &url]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    for needle in ["customers (table, 4 rows)", "orders (table, 6 rows)", "→ customers.id", "PK", "서울"] {
        assert!(out.stdout.contains(needle), "missing {needle:?} in:\n{}", out.stdout);
    }
    let out = env.run(&["schema", "--db", &url, "--format", "json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["dialect"], "sqlite");
    let orders = v["tables"].as_array().and_then(|t| t.iter().find(|t| t["name"] == "orders")).cloned();
    let orders = orders.expect("orders table");
    assert_eq!(orders["row_count"], 6);
    assert_eq!(orders["foreign_keys"].as_array().map(Vec::len), Some(2));

    let out = env.run(&["schema", "--db", "/no/such/file.db"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("database_not_found"), "{}", out.stderr);
}

async fn config_default_prints_a_valid_commented_config() {
    let env = Env::new();
    let out = env.run(&["config", "default"]).await;
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("# DataGenie configuration"));
    // Used as a config file, it is accepted as is.
    let path = env.path("datagenie.toml");
    std::fs::write(&path, &out.stdout).expect("write");
    let shown = env.run(&["--config", path.to_str().unwrap_or_default(), "config", "show"]).await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(shown.stdout.contains("max_rows = 1000"));
    // Unknown keys are refused with a stable code.
    std::fs::write(&path, "[ask]\nmax_rowz = 3\n").expect("write");
    let bad = env.run(&["--config", path.to_str().unwrap_or_default(), "config", "show"]).await;
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("invalid_config") && bad.stderr.contains("max_rowz"), "{}", bad.stderr);
}

async fn config_show_redacts_the_key() {
    let mut env = Env::new();
    env.set("DATAGENIE_LLM__API_KEY", "sk-very-SECRET");
    let out = env.run(&["config", "show"]).await;
    assert_eq!(out.code, 0);
    assert!(!out.stdout.contains("SECRET") && out.stdout.contains("[redacted]"));
}

/// The README's first command on a fresh machine: no key, no model server. The demo's verified templates and the
/// built-in engine answer its questions in Korean and English, and the output says how to add an LLM.
async fn demo_without_an_llm_answers_in_both_languages() {
    let env = Env::new();
    let out = env.run(&["demo", "--format", "table"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("order_items"), "{}", out.stdout);
    assert!(out.stdout.contains("DATAGENIE_LLM__BASE_URL=http://localhost:11434/v1"));
    assert!(out.stdout.contains("from the verified template \"monthly revenue\""), "{}", out.stdout);
    assert!(out.stdout.contains("from the built-in engine"), "{}", out.stdout);
    assert!(env.path("data").join("demo-retail.sqlite").is_file());

    let out = env.run(&["demo", "--format", "json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let answers: Vec<serde_json::Value> =
        out.stdout.lines().map(|l| serde_json::from_str(l).expect("one JSON answer per line")).collect();
    let sources: Vec<&str> = answers.iter().map(|a| a["source"]["kind"].as_str().unwrap_or_default()).collect();
    assert_eq!(sources, ["template", "template", "builtin", "builtin"], "{}", out.stdout);
    assert_eq!(answers[0]["row_count"], 12, "twelve months of 2024");
    assert_eq!(answers[1]["row_count"], 5, "top 5 products");
    assert!(answers.iter().all(|a| a["usage"]["prompt_tokens"] == 0));
    // Installing the demo templates twice keeps one copy of each.
    let out = env.run(&["template", "list", "--format", "json"]).await;
    assert_eq!(out.json().as_array().map(Vec::len), Some(2), "{}", out.stdout);
}

async fn demo_answers_a_question_and_ask_defaults_to_the_demo_database() {
    let llm = ScriptedLlm::start(vec![
        sql("SELECT strftime('%Y', order_date) AS year, COUNT(*) AS orders FROM orders GROUP BY year ORDER BY year"),
        reply("Orders grew every year."),
        sql("SELECT COUNT(*) AS n FROM order_items"),
    ])
    .await;
    let env = Env::with_openai(&llm.base_url);
    let out = env.run(&["demo", "--format", "json", "연도별 주문 수"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    let years: Vec<String> =
        v["rows"].as_array().map(|r| r.iter().map(|r| r[0].to_string()).collect()).unwrap_or_default();
    assert_eq!(years, ["\"2022\"", "\"2023\"", "\"2024\"", "\"2025\""]);
    assert_eq!(v["chart"]["mark"]["type"].as_str().or(v["chart"]["mark"].as_str()), Some("line"));
    // `ask` without --db uses the same demo database.
    let out = env.run(&["ask", "--format", "json", "--no-summary", "How many order lines are there?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let n = out.json()["rows"][0][0].as_i64().unwrap_or(0);
    assert!(n >= 50_000, "the demo has at least 50,000 order lines, got {n}");
    assert_eq!(out.json()["truncated"], json!(false));
}

async fn sql_check_accepts_rewrites_and_refuses() {
    let env = Env::new();
    let out =
        env.run(&["sql", "check", "--dialect", "sqlite", "SELECT name FROM t WHERE note = 'a; DROP TABLE t';"]).await;
    assert_eq!((out.code, out.stdout.trim()), (0, "SELECT name FROM t WHERE note = 'a; DROP TABLE t'"));

    let out = env.run(&["sql", "check", "--dialect", "postgres", "--format", "json", "SELECT pg_sleep(10)"]).await;
    assert_eq!(out.code, 1);
    let v = out.json();
    assert_eq!((v["accepted"].as_bool(), v["code"].as_str()), (Some(false), Some("forbidden_function")));
    assert!(v["reason"].as_str().unwrap_or_default().contains("pg_sleep"));

    let out = env
        .run(&[
            "sql",
            "check",
            "--dialect",
            "mysql",
            "--allow-tables",
            "orders",
            "--format",
            "json",
            "SELECT * FROM orders o JOIN mysql.user u ON 1 = 1",
        ])
        .await;
    assert_eq!((out.code, out.json()["code"].as_str()), (1, Some("forbidden_table")));

    // Row-level security: every reference is filtered, the bound value quoted.
    let out = env
        .run(&[
            "sql",
            "check",
            "--dialect",
            "sqlite",
            "--row-filter",
            "orders: customer_id = {user.customer_id}",
            "--user",
            "customer_id=7",
            "--format",
            "json",
            "SELECT count(*) FROM orders UNION ALL SELECT count(*) FROM (SELECT * FROM orders) x",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    let v = out.json();
    let sql = v["sql"].as_str().unwrap_or_default();
    assert_eq!(sql.matches("orders.customer_id = (7)").count(), 2, "{sql}");
    assert_eq!(v["rewritten"], true);

    // Standard input; usage errors exit 2.
    let out = env.run(&["sql", "check", "--dialect", "oracle", "SELECT 1"]).await;
    assert_eq!(out.code, 2);
    let out = env.run(&["sql", "check", "--dialect", "sqlite", "--row-filter", "no colon", "SELECT 1"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("invalid_argument"), "{}", out.stderr);
}

pub fn tests() -> Group {
    Group::new("commands").tests(tests![
        schema_prints_tables_columns_keys_and_counts,
        config_default_prints_a_valid_commented_config,
        config_show_redacts_the_key,
        demo_without_an_llm_answers_in_both_languages,
        demo_answers_a_question_and_ask_defaults_to_the_demo_database,
        sql_check_accepts_rewrites_and_refuses,
    ])
}
