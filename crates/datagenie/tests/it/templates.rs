//! `datagenie template add|list|remove|test` against a real system database in the test's data directory.

use datagenie_testkit::{Group, tests};
use serde_json::json;

use crate::harness::{Env, Output, shop_db};
use crate::scripted_llm::ScriptedLlm;

const MONTHLY_SQL: &str = "SELECT strftime('%m', order_date) AS month, count(*) AS orders FROM orders \
                           WHERE strftime('%Y', order_date) = CAST({year} AS TEXT) GROUP BY 1 ORDER BY 1";

async fn add(env: &Env, db: &str, name: &str, question: &str, sql: &str) -> Output {
    env.run(&["template", "add", "--db", db, "--name", name, "--question", question, "--sql", sql]).await
}

fn shop(env: &Env) -> String {
    let db = env.path("shop.db");
    shop_db(&db);
    db.display().to_string()
}

async fn add_list_test_and_remove_a_template() {
    let env = Env::new();
    let db = shop(&env);
    let out = env
        .run(&[
            "template",
            "add",
            "--db",
            &db,
            "--name",
            "monthly orders",
            "--question",
            "monthly orders in {year:int}",
            "--question",
            "{year:int}년 월별 주문 수",
            "--sql",
            MONTHLY_SQL,
            "--category",
            "sales",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let added = out.json();
    let id = added["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(added["verified"], true);
    assert_eq!(added["usage_count"], 0);
    assert!(added["connection"].as_str().is_some_and(|c| c.starts_with("sqlite:///") && c.ends_with("shop.db")));
    assert!(env.path("data").join("datagenie.db").is_file(), "the system database lives in the data directory");

    let out = env.run(&["template", "list"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    for needle in ["monthly orders", &id, "verified", "{year:int}년 월별 주문 수", "category: sales"] {
        assert!(out.stdout.contains(needle), "missing {needle:?} in:\n{}", out.stdout);
    }
    let out = env.run(&["template", "list", "--db", &db, "--format", "json"]).await;
    assert_eq!(out.json().as_array().map(Vec::len), Some(1));

    // The Korean question matches (the English phrasing would too); the year is bound as a literal.
    let out = env.run(&["template", "test", "--db", &db, "--format", "json", "2024년 월별 주문 수 알려줘"]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let v = out.json();
    assert_eq!(v["matched"], true);
    assert_eq!(v["template"]["id"], id.as_str());
    assert_eq!(v["values"]["year"], 2024);
    assert_eq!(v["accepted"], true);
    let sql = v["sql"].as_str().unwrap_or_default().to_string();
    assert!(sql.contains("CAST(2024 AS TEXT)"), "{sql}");
    // The bound SQL runs on the database and answers the question: January–March 2024, 2 orders each.
    let conn = rusqlite::Connection::open(env.path("shop.db")).expect("open fixture");
    let mut stmt = conn.prepare(&sql).expect("bound SQL prepares");
    let rows: Vec<(String, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).and_then(|rows| rows.collect()).expect("bound SQL runs");
    assert_eq!(rows, vec![("01".into(), 2), ("02".into(), 2), ("03".into(), 2)]);

    let out = env.run(&["template", "test", "--db", &db, "Monthly orders in 2023?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("slots: year = 2023") && out.stdout.contains("template: monthly orders"));

    // Questions it must not answer: exit 1.
    for q in ["monthly revenue in 2024", "monthly orders", "2024년 월별 주문 수 추이", "weekly orders in 2024"]
    {
        let out = env.run(&["template", "test", "--db", &db, q]).await;
        assert_eq!(out.code, 1, "{q}: {}", out.stdout);
        assert!(out.stdout.contains("no verified template"), "{}", out.stdout);
    }

    let out = env.run(&["template", "remove", "monthly orders"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(&id));
    let out = env.run(&["template", "list", "--format", "json"]).await;
    assert_eq!(out.json().as_array().map(Vec::len), Some(0));
    let out = env.run(&["template", "remove", &id]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("template_not_found"), "{}", out.stderr);
}

async fn bad_templates_are_refused() {
    let env = Env::new();
    let db = shop(&env);
    for (question, sql, needle) in [
        ("orders in {year:int}", "DELETE FROM orders WHERE {year} = 1", "refused by the guard"),
        ("orders in {year:int}", "SELECT * FROM orders", "not used in the SQL"),
        ("orders", "SELECT * FROM orders WHERE id = {id}", "no question declares"),
        ("orders in {year:float}", "SELECT {year}", "unknown slot type"),
        ("orders in {year:int}", "SELECT load_extension('x') WHERE {year}", "forbidden_function"),
    ] {
        let out = add(&env, &db, "bad", question, sql).await;
        assert_eq!(out.code, 2, "{sql}: {}", out.stderr);
        assert!(out.stderr.contains("invalid_template") && out.stderr.contains(needle), "{sql}: {}", out.stderr);
    }
    let ok = add(&env, &db, "orders", "all orders", "SELECT * FROM orders").await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let dup = add(&env, &db, "orders", "every order", "SELECT id FROM orders").await;
    assert_eq!(dup.code, 2);
    assert!(dup.stderr.contains("already_exists") && dup.stderr.contains("already exists"), "{}", dup.stderr);

    // A database that does not exist is an error before anything is stored.
    let out = env
        .run(&["template", "add", "--db", "/no/such.db", "--name", "x", "--question", "x", "--sql", "SELECT 1"])
        .await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("database_not_found"), "{}", out.stderr);
    // Usage errors (a missing --question) exit 2 as well.
    let out = env.run(&["template", "add", "--name", "x", "--sql", "SELECT 1"]).await;
    assert_eq!(out.code, 2);
}

async fn templates_belong_to_their_database_and_default_to_the_demo_one() {
    let mut env = Env::new();
    let db = shop(&env);
    // No --db: the demo database (not built for this), as `ask` would choose.
    let out = env
        .run(&[
            "template",
            "add",
            "--name",
            "demo count",
            "--question",
            "how many customers",
            "--sql",
            "SELECT count(*) FROM customers",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("demo-retail.sqlite"), "{}", out.stdout);
    assert!(!env.path("data").join("demo-retail.sqlite").exists(), "adding a template does not build the demo");

    let out = env.run(&["template", "test", "고객 수는?"]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("template: demo count"), "{}", out.stdout);
    // Another database has no templates.
    let out = env.run(&["template", "test", "--db", &db, "how many customers"]).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    // The configured database is the default when set.
    env.set("DATAGENIE_DATABASE__URL", &format!("sqlite://{db}"));
    let out = env.run(&["template", "test", "how many customers"]).await;
    assert_eq!(out.code, 1, "now the shop database is the default: {}", out.stdout);

    // An unverified template is stored but answers nothing; `test` says so.
    let out = env
        .run(&[
            "template",
            "add",
            "--name",
            "draft",
            "--unverified",
            "--question",
            "how many customers",
            "--sql",
            "SELECT count(*) FROM customers",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = env.run(&["template", "test", "--format", "json", "how many customers"]).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    let v = out.json();
    assert_eq!(v["matched"], false);
    assert_eq!(v["unverified_matches"], serde_json::json!(["draft"]));
    assert_eq!(v["normalized"], "count customer");
}

/// The acceptance test: a matching question is answered from the template with no LLM call — the scripted
/// LLM has an empty script, and the test fails if it received any request — and every use is counted.
async fn ask_answers_from_a_verified_template_without_calling_the_llm() {
    let llm = ScriptedLlm::start(vec![]).await;
    let env = Env::with_openai(&llm.base_url);
    let db = shop(&env);
    let out = env
        .run(&[
            "template",
            "add",
            "--db",
            &db,
            "--name",
            "monthly orders",
            "--question",
            "monthly orders in {year:int}",
            "--question",
            "{year:int}년 월별 주문 수",
            "--sql",
            MONTHLY_SQL,
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    for (n, question) in ["2024년 월별 주문 수", "Monthly orders in 2024?"].into_iter().enumerate() {
        let out = env.run(&["ask", "--db", &db, "--format", "json", question]).await;
        assert_eq!(out.code, 0, "{question}: {}\n{}", out.stdout, out.stderr);
        let v = out.json();
        assert_eq!(v["source"]["kind"], "template", "{v}");
        assert_eq!(v["source"]["name"], "monthly orders");
        assert_eq!(v["source"]["values"]["year"], 2024);
        assert_eq!(v["source"]["uses"], n as u64 + 1);
        assert_eq!(v["rows"], json!([["01", 2], ["02", 2], ["03", 2]]));
        assert_eq!(v["usage"]["prompt_tokens"], 0);
    }
    let out = env.run(&["ask", "--db", &db, "--format", "table", "2024년 월별 주문 수"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("verified template \"monthly orders\"") && out.stdout.contains("no LLM call"),
        "{}",
        out.stdout
    );
    assert!(
        llm.requests().is_empty(),
        "the LLM was called: {:?}",
        llm.requests().iter().map(|r| r.text()).collect::<Vec<_>>()
    );

    let out = env.run(&["template", "list", "--db", &db, "--format", "json"]).await;
    assert_eq!(out.json()[0]["usage_count"], 3);
}

pub fn tests() -> Group {
    Group::new("templates").tests(tests![
        add_list_test_and_remove_a_template,
        bad_templates_are_refused,
        templates_belong_to_their_database_and_default_to_the_demo_one,
        ask_answers_from_a_verified_template_without_calling_the_llm,
    ])
}
