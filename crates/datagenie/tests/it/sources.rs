//! Where an answer's SQL comes from: verified templates first (no LLM call), then the built-in engine (without an
//! LLM, or first when `ask.builtin_first` is set), then the LLM. Whatever the source, the guard runs.

use datagenie_testkit::{Group, tests};
use serde_json::json;

use crate::harness::{Env, Output, file_bytes, shop_db};
use crate::scripted_llm::{ScriptedLlm, sql};

const ORDERS_IN_YEAR: &str =
    "SELECT COUNT(*) AS orders FROM orders WHERE CAST(substr(order_date, 1, 4) AS INTEGER) = {year}";

async fn add_template(env: &Env, db: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "template",
        "add",
        "--db",
        db,
        "--name",
        "orders in a year",
        "--question",
        "number of orders in {year:year}",
        "--question",
        "{year:year}년 주문 수",
        "--sql",
        ORDERS_IN_YEAR,
    ];
    args.extend_from_slice(extra);
    env.run(&args).await
}

/// The bar: a question matching a verified template is answered with no LLM call — the scripted LLM has
/// no steps, so any call would fail the answer — and the use is counted.
async fn a_verified_template_answers_without_calling_the_llm() {
    let llm = ScriptedLlm::start(vec![]).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let dbs = db.to_str().unwrap_or_default();
    let out = add_template(&env, dbs, &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let out = env.run(&["ask", "--db", dbs, "--format", "json", "2024년 주문 수는?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["source"]["kind"], "template", "{v}");
    assert_eq!(v["source"]["name"], "orders in a year");
    assert_eq!(v["source"]["values"], json!({"year": 2024}));
    assert_eq!(v["source"]["uses"], 1);
    assert_eq!(v["rows"], json!([[6]]));
    assert!(v["sql"].as_str().unwrap_or_default().contains("= 2024"), "{}", v["sql"]);
    assert_eq!(v["usage"], json!({"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}));
    assert!(v["summary"].as_str().is_some_and(|s| !s.is_empty()), "an analysis from facts: {v}");

    // The English phrasing, another year: same template, counted again.
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "Number of orders in 2023"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!((out.json()["rows"].clone(), out.json()["source"]["uses"].clone()), (json!([[0]]), json!(2)));
    assert!(llm.requests().is_empty(), "the LLM was called: {:?}", llm.requests().len());

    let out = env.run(&["template", "list", "--db", dbs, "--format", "json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()[0]["usage_count"], 2, "{}", out.stdout);
    // A dry run shows the bound SQL without running it (and without counting a use).
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "--dry-run", "2022년 주문 수"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["rows"], json!([]));
    assert_eq!(out.json()["source"]["uses"], 2);
    assert!(llm.requests().is_empty());
}

/// An unverified template answers nothing: the question goes to the LLM.
async fn an_unverified_template_leaves_the_question_to_the_llm() {
    let llm = ScriptedLlm::start(vec![sql("SELECT COUNT(*) AS n FROM orders")]).await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_ASK__SUMMARY", "false");
    let db = env.path("shop.db");
    shop_db(&db);
    let dbs = db.to_str().unwrap_or_default();
    assert_eq!(add_template(&env, dbs, &["--unverified"]).await.code, 0);
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "2024년 주문 수"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.json()["source"],
        json!({"kind": "llm", "model": "test-model",
               "llm": {"provider": "openai", "model": "gpt-4o-mini", "from": "env DATAGENIE_LLM__PROVIDER"}})
    );
    assert_eq!(llm.requests().len(), 1);
}

/// With no LLM configured, the built-in engine answers what it understands — in English and Korean — and abstains
/// with a clear code and advice otherwise. The database file is never changed.
async fn without_an_llm_the_builtin_engine_answers_or_abstains() {
    let env = Env::new();
    let db = env.path("shop.db");
    shop_db(&db);
    let before = file_bytes(&db);
    let dbs = db.to_str().unwrap_or_default();
    for question in ["How many customers are there?", "고객 수는?"] {
        let out = env.run(&["ask", "--db", dbs, "--format", "json", question]).await;
        assert_eq!(out.code, 0, "{question}: {}", out.stderr);
        let v = out.json();
        assert_eq!(v["source"]["kind"], "builtin", "{question}: {v}");
        assert_eq!(v["rows"], json!([[4]]), "{question}: {v}");
        let confidence = v["source"]["confidence"].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&confidence), "{confidence}");
        assert!(v["source"]["interpretation"].as_str().is_some_and(|s| !s.is_empty()));
    }
    // A dry run: the engine's SQL, guarded, not executed.
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "--dry-run", "How many products are there?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!((out.json()["rows"].clone(), out.json()["source"]["kind"].clone()), (json!([]), json!("builtin")));

    let out = env.run(&["ask", "--db", dbs, "--format", "json", "Why do people in cold places feel happier?"]).await;
    assert_eq!((out.code, out.error_code().as_str()), (2, "not_understood"), "{}", out.stdout);
    let message = out.json()["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("LLM"), "the message suggests an LLM: {message}");
    // In the table format the refusal is one clear line on stderr, stdout stays empty.
    let out = env.run(&["ask", "--db", dbs, "--format", "table", "Why do people in cold places feel happier?"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty() && out.stderr.contains("not_understood"), "{}", out.stderr);
    assert_eq!(file_bytes(&db), before, "the database file changed");
}

/// `ask.builtin_first`: a confident built-in answer needs no LLM call; the LLM answers what the engine cannot.
async fn builtin_first_answers_confident_questions_and_leaves_the_rest_to_the_llm() {
    let llm = ScriptedLlm::start(vec![sql(
        "SELECT c.name FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) ORDER BY c.id",
    )])
    .await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_ASK__BUILTIN_FIRST", "true");
    env.set("DATAGENIE_ASK__SUMMARY", "false");
    let db = env.path("shop.db");
    shop_db(&db);
    let dbs = db.to_str().unwrap_or_default();

    let out = env.run(&["ask", "--db", dbs, "--format", "json", "How many products are there?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!((out.json()["source"]["kind"].clone(), out.json()["rows"].clone()), (json!("builtin"), json!([[3]])));
    assert!(llm.requests().is_empty(), "a confident built-in answer called the LLM");

    let out = env
        .run(&["ask", "--db", dbs, "--format", "json", "Why would customers who ordered something be loyal ones?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["source"]["kind"], "llm");
    assert_eq!(out.json()["rows"].as_array().map(Vec::len), Some(4));
    assert_eq!(llm.requests().len(), 1);
}

pub fn tests() -> Group {
    Group::new("sources").tests(tests![
        a_verified_template_answers_without_calling_the_llm,
        an_unverified_template_leaves_the_question_to_the_llm,
        without_an_llm_the_builtin_engine_answers_or_abstains,
        builtin_first_answers_confident_questions_and_leaves_the_rest_to_the_llm,
    ])
}
