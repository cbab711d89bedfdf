//! `datagenie ask` end to end.

use std::time::Duration;

use datagenie_testkit::{Group, tests};
use serde_json::json;

use crate::harness::{Env, file_bytes, shop_db};
use crate::scripted_llm::{ScriptedLlm, Step, reply, sql};

fn summary(text: &str) -> Step {
    reply(text)
}

async fn answers_with_the_documented_json_shape() {
    let llm = ScriptedLlm::start(vec![
        sql("SELECT category, SUM(price) AS total FROM products GROUP BY category ORDER BY total DESC"),
        summary("Electronics leads with 1225.5, ahead of Food at 4.5."),
    ])
    .await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let out =
        env.run(&["ask", "--db", db.to_str().unwrap_or_default(), "--format", "json", "Revenue by category?"]).await;
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let v = out.json();
    let keys: Vec<&str> = v.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    assert_eq!(
        keys,
        [
            "question",
            "sql",
            "source",
            "columns",
            "rows",
            "row_count",
            "truncated",
            "chart",
            "summary",
            "attempts",
            "usage",
            "elapsed_ms"
        ]
    );
    assert_eq!(v["question"], "Revenue by category?");
    assert_eq!(v["columns"], json!(["category", "total"]));
    assert_eq!(v["rows"], json!([["Electronics", 1225.5], ["Food", 4.5]]));
    assert_eq!(v["row_count"], 2);
    assert_eq!(v["truncated"], false);
    assert_eq!(v["chart"]["mark"]["type"].as_str().or(v["chart"]["mark"].as_str()), Some("bar"));
    assert_eq!(v["summary"], "Electronics leads with 1225.5, ahead of Food at 4.5.");
    assert_eq!(v["attempts"], json!([{"sql": v["sql"], "error": null}]));
    assert_eq!(v["usage"]["prompt_tokens"], 200, "two metered calls: SQL and summary");
    assert_eq!(v["usage"]["completion_tokens"], 40);
    // gpt-4o-mini: $0.15 / $0.60 per million tokens.
    let cost = v["usage"]["cost_usd"].as_f64().unwrap_or(-1.0);
    assert!((cost - (200.0 * 0.15 + 40.0 * 0.6) / 1e6).abs() < 1e-12, "cost {cost}");
    assert!(v["elapsed_ms"].is_u64());

    // The LLM saw the schema, the dialect and the question; the key went only into the auth header.
    let reqs = llm.requests();
    assert_eq!(reqs.len(), 2);
    let prompt = reqs[0].text();
    assert!(prompt.contains("SQLite"), "{prompt}");
    assert!(prompt.contains("products") && prompt.contains("category"), "{prompt}");
    assert!(prompt.contains("Revenue by category?"));
    assert_eq!(reqs[0].headers.get("authorization").and_then(|h| h.to_str().ok()), Some("Bearer sk-test-SECRET-123"));
    assert!(!out.stdout.contains("SECRET") && !out.stderr.contains("SECRET"));
}

async fn values_keep_their_types() {
    let llm = ScriptedLlm::start(vec![sql(
        "SELECT id, name, price, photo, category FROM products WHERE id IN (1, 2) ORDER BY id",
    )])
    .await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let out = env
        .run(&["ask", "--db", db.to_str().unwrap_or_default(), "--format", "json", "--no-summary", "products?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(
        v["rows"],
        json!([[1, "노트북", 1200.5, "AP8Q", "Electronics"], [2, "Mouse", 25.0, null, "Electronics"]])
    );
    assert_eq!(v["summary"], json!(null));
    assert_eq!(llm.requests().len(), 1, "--no-summary makes no summary call");
}

async fn repairs_sql_that_fails_and_reports_every_attempt() {
    let llm = ScriptedLlm::start(vec![
        sql("SELECT nme FROM customers"),
        reply("I cannot help with that."),
        sql("SELECT name FROM customers ORDER BY id"),
    ])
    .await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let out = env
        .run(&["ask", "--db", db.to_str().unwrap_or_default(), "--format", "json", "--no-summary", "고객 이름 목록"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    let attempts = v["attempts"].as_array().cloned().unwrap_or_default();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[0]["sql"], "SELECT nme FROM customers");
    assert_eq!(attempts[0]["error"]["code"], "query_failed");
    assert!(attempts[0]["error"]["message"].as_str().unwrap_or_default().contains("nme"));
    assert_eq!(attempts[1]["sql"], json!(null));
    assert_eq!(attempts[1]["error"]["code"], "llm_no_sql");
    assert_eq!(attempts[2]["error"], json!(null));
    assert_eq!(v["rows"], json!([["김*준"], ["A*** P***"], ["이*연"], ["B*** L***"]]), "names are masked by default");
    // The database's complaint went back to the LLM with the failed SQL.
    let reqs = llm.requests();
    assert_eq!(reqs.len(), 3);
    let second = reqs[1].text();
    assert!(second.contains("SELECT nme FROM customers") && second.contains("nme"), "{second}");
    assert!(reqs[0].text().contains("고객 이름 목록"));
}

async fn refuses_writes_after_all_attempts_and_leaves_the_file_unchanged() {
    let llm = ScriptedLlm::start(vec![
        sql("DELETE FROM customers"),
        sql("SELECT 1; DROP TABLE customers"),
        sql("WITH x AS (SELECT 1) UPDATE customers SET name = 'x'"),
    ])
    .await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let before = file_bytes(&db);
    let out = env.run(&["ask", "--db", db.to_str().unwrap_or_default(), "--format", "json", "delete everyone"]).await;
    assert_eq!(out.code, 1, "a refusal exits 1: {}", out.stdout);
    let code = out.error_code();
    assert!(["not_a_query", "multiple_statements", "data_modifying_query"].contains(&code.as_str()), "{code}");
    assert!(out.json()["error"]["message"].as_str().unwrap_or_default().contains("3 attempts"));
    assert_eq!(llm.requests().len(), 3);
    assert_eq!(file_bytes(&db), before, "the database file must be byte-for-byte unchanged");
}

async fn a_reply_without_sql_every_time_is_llm_no_sql() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(reply("Sorry, I don't know."))).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let out = env.run(&["ask", "--db", db.to_str().unwrap_or_default(), "--format", "json", "why?"]).await;
    assert_eq!(out.code, 2);
    assert_eq!(out.error_code(), "llm_no_sql");
    assert_eq!(llm.requests().len(), 3, "default: 3 attempts in all");
}

async fn a_query_past_its_time_limit_is_stopped() {
    let llm = ScriptedLlm::start(vec![sql(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
    )])
    .await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let out = env
        .run_within(
            &["ask", "--db", db.to_str().unwrap_or_default(), "--format", "json", "--timeout", "1", "count forever"],
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert_eq!(out.error_code(), "query_timeout");
    assert_eq!(llm.requests().len(), 1, "a timeout is not retried");
}

async fn the_row_cap_truncates_without_changing_the_query() {
    let llm = ScriptedLlm::start(vec![sql("SELECT id FROM orders ORDER BY id")]).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let out = env
        .run(&[
            "ask",
            "--db",
            db.to_str().unwrap_or_default(),
            "--format",
            "json",
            "--no-summary",
            "--max-rows",
            "4",
            "ids",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["rows"], json!([[1], [2], [3], [4]]));
    assert_eq!(v["truncated"], true);
    assert_eq!(v["sql"], "SELECT id FROM orders ORDER BY id", "the SQL is not rewritten for the cap");

    let llm = ScriptedLlm::start(vec![sql("SELECT id FROM orders ORDER BY id")]).await;
    let env2 = Env::with_openai(&llm.base_url);
    let out = env2
        .run(&[
            "ask",
            "--db",
            db.to_str().unwrap_or_default(),
            "--format",
            "json",
            "--no-summary",
            "--max-rows",
            "6",
            "ids",
        ])
        .await;
    assert_eq!(out.json()["truncated"], false, "exactly max rows is not truncated");
}

async fn dry_run_stops_after_the_guard() {
    // The column does not exist: executing would fail, so success proves nothing ran.
    let llm = ScriptedLlm::start(vec![sql("SELECT no_such_column FROM customers")]).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let out = env.run(&["ask", "--db", db.to_str().unwrap_or_default(), "--format", "table", "--dry-run", "q"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("SELECT no_such_column FROM customers"), "{}", out.stdout);
    assert!(out.stdout.contains("dry run"));
    assert_eq!(llm.requests().len(), 1);
}

async fn csv_and_table_formats() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT name, city FROM customers ORDER BY id"))).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let dbs = db.to_str().unwrap_or_default();
    let out = env.run(&["ask", "--db", dbs, "--format", "csv", "--no-summary", "--unmask", "who"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "name,city\n김민준,서울\nAlice Park,Busan\n이서연,서울\nBob Lee,\n");
    let out = env.run(&["ask", "--db", dbs, "--format", "table", "--no-summary", "who"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("김*준") && out.stdout.contains("NULL") && out.stdout.contains("4 rows"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("personal data masked: name (person_name)"), "{}", out.stdout);
}

async fn charts_render_to_svg_and_png() {
    let q = "SELECT category, SUM(price) AS total FROM products GROUP BY category ORDER BY total DESC";
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql(q))).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let dbs = db.to_str().unwrap_or_default();
    for file in ["chart.svg", "chart.png"] {
        let path = env.path(file);
        let out = env
            .run(&[
                "ask",
                "--db",
                dbs,
                "--no-summary",
                "--format",
                "json",
                "--chart",
                path.to_str().unwrap_or_default(),
                "카테고리별 매출",
            ])
            .await;
        assert_eq!(out.code, 0, "{file}: {}", out.stderr);
        let bytes = file_bytes(&path);
        if file.ends_with(".svg") {
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.starts_with("<svg") || text.starts_with("<?xml"), "{}", &text[..text.len().min(80)]);
            assert!(text.contains("Electronics"));
        } else {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        }
    }
    // An unsupported extension is refused before any work.
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "--chart", "chart.gif", "q"]).await;
    assert_eq!(out.code, 2);
    assert_eq!(out.error_code(), "invalid_argument");
}

async fn bad_input_gets_stable_codes() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT 1"))).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let dbs = db.to_str().unwrap_or_default();
    let long = "x".repeat(5000);
    let not_sqlite = env.path("notes.txt");
    std::fs::write(&not_sqlite, "hello, this is not a database at all, just words and more words").expect("write");
    let missing = env.path("missing.db");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["ask", "--db", dbs, "--format", "json", "   "], "invalid_question"),
        (vec!["ask", "--db", dbs, "--format", "json", &long], "invalid_question"),
        (vec!["ask", "--db", missing.to_str().unwrap_or_default(), "--format", "json", "q"], "database_not_found"),
        (vec!["ask", "--db", not_sqlite.to_str().unwrap_or_default(), "--format", "json", "q"], "not_a_database"),
        (vec!["ask", "--db", "oracle://x/y", "--format", "json", "q"], "invalid_database_url"),
        (vec!["ask", "--db", dbs, "--format", "json", "--max-rows", "0", "q"], "invalid_argument"),
    ];
    for (args, code) in cases {
        let out = env.run(&args).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stdout);
        assert_eq!(out.error_code(), code, "{args:?}");
    }
    assert!(!missing.exists(), "a missing database is never created");
    assert!(llm.requests().is_empty(), "bad input never reaches the LLM");
    // Usage errors (clap) exit 2 too.
    let out = env.run(&["ask", "--format", "yaml", "q"]).await;
    assert_eq!(out.code, 2);
}

async fn llm_failures_are_clear() {
    let env_db = Env::new();
    let db = env_db.path("shop.db");
    shop_db(&db);
    let dbs = db.to_str().unwrap_or_default();

    // Unreachable: a port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let env = Env::with_openai(&format!("http://127.0.0.1:{port}/v1"));
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "q"]).await;
    assert_eq!((out.code, out.error_code().as_str()), (2, "llm_unreachable"), "{}", out.stdout);

    // A refused key: the body echoes the key; it must not reach the output.
    let llm = ScriptedLlm::start(vec![Step::Status(
        401,
        r#"{"error":{"message":"Incorrect API key provided: sk-test-SECRET-123"}}"#.into(),
    )])
    .await;
    let env = Env::with_openai(&llm.base_url);
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "q"]).await;
    assert_eq!((out.code, out.error_code().as_str()), (2, "llm_auth_failed"));
    assert!(!out.stdout.contains("SECRET") && !out.stderr.contains("SECRET"));

    // A reply slower than the configured LLM timeout.
    let llm = ScriptedLlm::start(vec![Step::Slow(Duration::from_secs(30), "SELECT 1".into())]).await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_LLM__TIMEOUT_SECS", "1");
    let out = env.run_within(&["ask", "--db", dbs, "--format", "json", "q"], Duration::from_secs(20)).await;
    assert_eq!((out.code, out.error_code().as_str()), (2, "llm_timeout"));

    // Garbage instead of JSON.
    let llm = ScriptedLlm::start(vec![Step::Garbage]).await;
    let env = Env::with_openai(&llm.base_url);
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "q"]).await;
    assert_eq!((out.code, out.error_code().as_str()), (2, "llm_bad_response"));

    // No LLM configured at all: the built-in engine does not understand "q" and says so.
    let out = env_db.run(&["ask", "--db", dbs, "--format", "json", "q"]).await;
    assert_eq!((out.code, out.error_code().as_str()), (2, "not_understood"));
}

async fn anthropic_and_openai_environment_fallback() {
    let llm = ScriptedLlm::start(vec![sql("SELECT COUNT(*) AS n FROM orders")]).await;
    let mut env = Env::new();
    env.set("DATAGENIE_LLM__PROVIDER", "anthropic");
    env.set("DATAGENIE_LLM__BASE_URL", &llm.anthropic_base());
    env.set("DATAGENIE_LLM__API_KEY", "sk-ant-SECRET");
    env.set("DATAGENIE_LLM__MODEL", "claude-3-5-haiku-latest");
    let db = env.path("shop.db");
    shop_db(&db);
    let dbs = db.to_str().unwrap_or_default();
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "--no-summary", "how many orders"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["rows"], json!([[6]]));
    let r = &llm.requests()[0];
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.headers.get("x-api-key").and_then(|h| h.to_str().ok()), Some("sk-ant-SECRET"));
    assert!(r.body["system"].as_str().unwrap_or_default().contains("SQLite"));

    // OPENAI_API_KEY / OPENAI_BASE_URL alone are enough.
    let llm = ScriptedLlm::start(vec![sql("SELECT COUNT(*) AS n FROM customers")]).await;
    let mut env = Env::new();
    env.set("OPENAI_API_KEY", "sk-env-SECRET");
    env.set("OPENAI_BASE_URL", &llm.base_url);
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "--no-summary", "how many customers"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["rows"], json!([[4]]));
    assert_eq!(
        llm.requests()[0].headers.get("authorization").and_then(|h| h.to_str().ok()),
        Some("Bearer sk-env-SECRET")
    );
}

async fn the_schema_cache_follows_schema_changes() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) FROM customers"))).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let dbs = db.to_str().unwrap_or_default();
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "--no-summary", "q"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let cached: Vec<_> = std::fs::read_dir(env.path("cache").join("schemas")).expect("cache dir").collect();
    assert_eq!(cached.len(), 1, "one snapshot per database");
    // A new column must reach the prompt on the next question.
    rusqlite::Connection::open(&db)
        .and_then(|c| c.execute_batch("ALTER TABLE customers ADD COLUMN loyalty_tier TEXT"))
        .expect("alter");
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "--no-summary", "q"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let reqs = llm.requests();
    assert!(!reqs[0].text().contains("loyalty_tier"));
    assert!(reqs[1].text().contains("loyalty_tier"), "the refreshed schema is in the prompt");
}

async fn personal_data_is_masked_in_results_and_prompts() {
    let llm =
        ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT name AS who, email FROM people ORDER BY id"))).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("people.db");
    rusqlite::Connection::open(&db)
        .and_then(|c| {
            c.execute_batch(
                "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, email TEXT, phone TEXT, rrn TEXT, memo TEXT);
                 INSERT INTO people VALUES
                   (1, '김민준', 'minjun@example.com', '010-1234-5678', '900101-1234567', '010-0000-0000'),
                   (2, '박서연', 'seoyeon@naver.com', '010-9876-5432', '950505-2345678', '010-1111-1111');",
            )
        })
        .expect("fixture");
    let dbs = db.to_str().unwrap_or_default();
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "--no-summary", "who are our people?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["rows"], json!([["김*준", "m***@example.com"], ["박*연", "s***@naver.com"]]));
    // The LLM saw masked samples only.
    let prompt = llm.requests()[0].text();
    for secret in ["김민준", "minjun@example.com", "010-1234-5678", "900101-1234567"] {
        assert!(!prompt.contains(secret), "{secret} reached the prompt");
    }
    assert!(prompt.contains("people"), "{prompt}");

    // --unmask shows the data; the schema shows the classification.
    let out = env.run(&["ask", "--db", dbs, "--format", "json", "--no-summary", "--unmask", "who?"]).await;
    assert_eq!(out.json()["rows"][0], json!(["김민준", "minjun@example.com"]));
    let out = env.run(&["schema", "--db", dbs]).await;
    for tag in ["PII:person_name", "PII:email", "PII:phone", "PII:national_id"] {
        assert!(out.stdout.contains(tag), "{tag} missing:\n{}", out.stdout);
    }

    // A configured override turns a column's masking off.
    let mut env2 = Env::with_openai(&llm.base_url);
    env2.set("DATAGENIE_PII__COLUMNS__EMAIL", "none");
    let out = env2.run(&["ask", "--db", dbs, "--format", "json", "--no-summary", "who?"]).await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.json()["rows"][0], json!(["김*준", "minjun@example.com"]));
}

pub fn tests() -> Group {
    Group::new("ask").tests(tests![
        answers_with_the_documented_json_shape,
        values_keep_their_types,
        repairs_sql_that_fails_and_reports_every_attempt,
        refuses_writes_after_all_attempts_and_leaves_the_file_unchanged,
        a_reply_without_sql_every_time_is_llm_no_sql,
        a_query_past_its_time_limit_is_stopped,
        the_row_cap_truncates_without_changing_the_query,
        dry_run_stops_after_the_guard,
        csv_and_table_formats,
        charts_render_to_svg_and_png,
        bad_input_gets_stable_codes,
        llm_failures_are_clear,
        anthropic_and_openai_environment_fallback,
        the_schema_cache_follows_schema_changes,
        personal_data_is_masked_in_results_and_prompts,
    ])
}
