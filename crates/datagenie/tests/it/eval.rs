//! `datagenie eval`: execution accuracy over a question set in Spider's format, on generated SQLite databases.

use std::path::Path;

use datagenie_testkit::{Group, tests};
use serde_json::{Value, json};

use crate::harness::Env;

/// DIR/singers/singers.sqlite: four singers with countries, ages and a float column.
fn singers_db(dir: &Path) {
    let db_dir = dir.join("singers");
    std::fs::create_dir_all(&db_dir).expect("create db dir");
    let c = rusqlite::Connection::open(db_dir.join("singers.sqlite")).expect("create fixture");
    c.execute_batch(
        "CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, country TEXT, age INTEGER, net_worth REAL);
         INSERT INTO singer VALUES (1, 'Alice', 'France', 30, 1.5), (2, 'Bob', 'France', 45, 2.25),
                                   (3, 'Chen', 'China', 25, 0.75), (4, 'Dana', 'USA', 52, 3.1);",
    )
    .expect("fill fixture");
}

fn q(db: &str, question: &str, gold: &str) -> Value {
    json!({ "db_id": db, "question": question, "query": gold })
}

/// One question per outcome the report distinguishes.
fn question_set() -> Value {
    json!([
        // right
        q("singers", "How many singers are there?", "SELECT count(*) FROM singer"),
        // wrong: the gold query asks something else
        q("singers", "How many singers are there?", "SELECT count(*) FROM singer WHERE age > 30"),
        // abstained
        q("singers", "Why is the sky blue?", "SELECT count(*) FROM singer"),
        // the gold orders: the same rows in the same order are right…
        q("singers", "List the names of singers ordered by age.", "SELECT name FROM singer ORDER BY age"),
        // …and in another order wrong
        q("singers", "List the names of singers ordered by age.", "SELECT name FROM singer ORDER BY age DESC"),
        // floats within tolerance
        q("singers", "What is the average net worth of singers?", "SELECT avg(net_worth) * (1 + 1e-12) FROM singer"),
        // column order ignored, row order ignored without ORDER BY
        q(
            "singers",
            "What are the names and ages of singers from France?",
            "SELECT age, name FROM singer WHERE country = 'France'",
        ),
        // a database that is not there: an error, counted
        q("nope", "How many singers are there?", "SELECT count(*) FROM singer"),
        // a gold query that fails: not scored
        q("singers", "How many singers are there?", "SELECT no_such_column FROM singer"),
    ])
}

fn write(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).expect("json")).expect("write");
}

async fn scores_every_outcome_and_writes_the_report() {
    let env = Env::new();
    let dir = env.path("dbs");
    singers_db(&dir);
    let questions = env.path("questions.json");
    write(&questions, &question_set());
    let report = env.path("report.json");
    let args = [
        "eval",
        "--questions",
        questions.to_str().unwrap_or_default(),
        "--db-dir",
        dir.to_str().unwrap_or_default(),
        "--provider",
        "builtin",
        "--report",
        report.to_str().unwrap_or_default(),
        "--today",
        "2024-01-01",
        "--format",
        "json",
    ];
    let out = env.run(&args).await;
    assert_eq!(out.code, 0, "stdout: {}\nstderr: {}", out.stdout, out.stderr);
    let v = out.json();
    let o = &v["overall"];
    assert_eq!(o["questions"], 9, "{v}");
    assert_eq!(o["gold_errors"], 1, "{v}");
    assert_eq!(o["right"], 4, "{v}");
    assert_eq!(o["wrong"], 3, "{v}");
    assert_eq!(o["errors"], 1, "{v}");
    assert_eq!(o["abstained"], 1, "{v}");
    assert_eq!(o["answered"], 7, "{v}");
    assert_eq!(o["accuracy"], 0.5, "{v}");
    assert_eq!(o["wrong_rate"], 0.375, "{v}");
    assert!(o["p95_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{v}");
    let dbs: Vec<&str> =
        v["per_database"].as_array().into_iter().flatten().filter_map(|d| d["db_id"].as_str()).collect();
    assert_eq!(dbs, ["singers", "nope"]);

    let text = std::fs::read_to_string(&report).expect("report written");
    let r: Value = serde_json::from_str(&text).expect("report is JSON");
    let outcomes: Vec<&str> =
        r["questions"].as_array().into_iter().flatten().filter_map(|q| q["outcome"].as_str()).collect();
    assert_eq!(
        outcomes,
        ["right", "wrong", "abstained", "right", "wrong", "right", "right", "error", "gold_error"],
        "{text}"
    );
    let first = &r["questions"][0];
    assert_eq!(first["predicted"], r#"SELECT COUNT(*) AS singer_count FROM "singer""#);
    assert!(first["confidence"].as_f64().is_some_and(|c| c > 0.0 && c <= 1.0));
    assert!(r["questions"][2]["error"].as_str().is_some_and(|e| e.contains("LLM")), "{text}");
    assert!(r["questions"][7]["error"].as_str().is_some_and(|e| e.contains("database_not_found")), "{text}");
    assert!(r["questions"][8]["error"].as_str().is_some_and(|e| e.contains("query_failed")), "{text}");

    // The text summary names the numbers too.
    let text_args: Vec<&str> = args.iter().copied().take(args.len() - 2).collect();
    let out = env.run(&text_args).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("accuracy") && out.stdout.contains("50.0%"), "{}", out.stdout);
}

async fn min_accuracy_is_a_gate() {
    let env = Env::new();
    let dir = env.path("dbs");
    singers_db(&dir);
    let questions = env.path("questions.json");
    write(&questions, &question_set());
    let run = |min: &'static str| {
        let env = &env;
        let questions = questions.clone();
        let dir = dir.clone();
        async move {
            env.run(&[
                "eval",
                "--questions",
                questions.to_str().unwrap_or_default(),
                "--db-dir",
                dir.to_str().unwrap_or_default(),
                "--provider",
                "builtin",
                "--today",
                "2024-01-01",
                "--min-accuracy",
                min,
            ])
            .await
        }
    };
    let below = run("0.9").await;
    assert_eq!(below.code, 1, "stdout: {}\nstderr: {}", below.stdout, below.stderr);
    assert!(below.stderr.contains("accuracy_below_threshold"), "{}", below.stderr);
    // The summary is still printed before the verdict.
    assert!(below.stdout.contains("accuracy"), "{}", below.stdout);
    let above = run("0.4").await;
    assert_eq!(above.code, 0, "stdout: {}\nstderr: {}", above.stdout, above.stderr);
    let nonsense = run("1.5").await;
    assert_eq!(nonsense.code, 2);
    assert!(nonsense.stderr.contains("invalid_argument"), "{}", nonsense.stderr);
}

async fn malformed_question_files_are_refused() {
    let env = Env::new();
    let dir = env.path("dbs");
    singers_db(&dir);
    let cases = [
        ("not-json.json", "this is not json"),
        ("not-an-array.json", r#"{"db_id": "singers"}"#),
        ("missing-field.json", r#"[{"db_id": "singers", "question": "How many singers are there?"}]"#),
    ];
    for (name, text) in cases {
        let path = env.path(name);
        std::fs::write(&path, text).expect("write");
        let out = env
            .run(&[
                "eval",
                "--questions",
                path.to_str().unwrap_or_default(),
                "--db-dir",
                dir.to_str().unwrap_or_default(),
            ])
            .await;
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert!(out.stderr.contains("invalid_argument"), "{name}: {}", out.stderr);
    }
    let missing = env.path("absent.json");
    let out = env
        .run(&[
            "eval",
            "--questions",
            missing.to_str().unwrap_or_default(),
            "--db-dir",
            dir.to_str().unwrap_or_default(),
        ])
        .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
}

async fn filters_by_database_and_limit() {
    let env = Env::new();
    let dir = env.path("dbs");
    singers_db(&dir);
    let questions = env.path("questions.json");
    write(&questions, &question_set());
    let out = env
        .run(&[
            "eval",
            "--questions",
            questions.to_str().unwrap_or_default(),
            "--db-dir",
            dir.to_str().unwrap_or_default(),
            "--provider",
            "builtin",
            "--db-id",
            "singers",
            "--limit",
            "2",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["overall"]["questions"], 2);
    assert_eq!(v["overall"]["right"], 1);
    assert_eq!(v["overall"]["wrong"], 1);
}

/// `eval --templates`: a team's verified templates as a regression gate. Each phrasing is asked with example slot
/// values (the templates themselves set aside) and compared with the template's own SQL; a template that no longer
/// runs is a gold error, not a silent pass.
async fn templates_are_a_regression_gate() {
    let env = Env::new();
    let dir = env.path("dbs");
    singers_db(&dir);
    let db = dir.join("singers").join("singers.sqlite");
    let dbs = db.to_str().unwrap_or_default();

    // No verified templates yet: a clear error, not an empty 100 %.
    let out = env.run(&["eval", "--templates", "--db", dbs, "--provider", "builtin"]).await;
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stderr.contains("template_not_found"), "{}", out.stderr);

    let add = |name: &'static str, question: &'static str, sql: &'static str| {
        let env = &env;
        async move {
            let out =
                env.run(&["template", "add", "--db", dbs, "--name", name, "--question", question, "--sql", sql]).await;
            assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        }
    };
    add("count", "How many singers are there?", "SELECT count(*) FROM singer").await;
    add("older", "singers older than {age:int}", "SELECT name FROM singer WHERE age > {age} ORDER BY name").await;
    // A question only a person (or an LLM) reads right: the built-in engine must not get it.
    add("odd", "which singers make the sky blue", "SELECT name FROM singer WHERE age > 40").await;
    rusqlite::Connection::open(&db).and_then(|c| c.execute_batch("CREATE TABLE album (id INTEGER)")).expect("album");
    add("gone", "how many albums are there", "SELECT count(*) FROM album").await;
    // The schema moves on: the "gone" template's table is dropped, so its SQL no longer runs.
    rusqlite::Connection::open(&db).and_then(|c| c.execute_batch("DROP TABLE album")).expect("schema change");

    let report = env.path("templates.json");
    let out = env
        .run(&[
            "eval",
            "--templates",
            "--db",
            dbs,
            "--provider",
            "builtin",
            "--format",
            "json",
            "--report",
            report.to_str().unwrap_or_default(),
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["overall"]["questions"], 4, "{v}");
    assert_eq!(v["overall"]["right"], 2, "{v}");
    assert_eq!(v["overall"]["gold_errors"], 1, "the dropped table's template: {v}");
    let mut per: Vec<&str> =
        v["per_database"].as_array().into_iter().flatten().filter_map(|d| d["db_id"].as_str()).collect();
    per.sort_unstable();
    assert_eq!(per, ["count", "gone", "odd", "older"], "one line per template");
    let text = std::fs::read_to_string(&report).expect("report");
    let full: Value = serde_json::from_str(&text).expect("report JSON");
    let by_template = |name: &str| {
        full["questions"].as_array().into_iter().flatten().find(|q| q["db_id"] == name).cloned().unwrap_or_default()
    };
    let count = by_template("count");
    assert_eq!(
        (count["question"].as_str(), count["outcome"].as_str()),
        (Some("How many singers are there?"), Some("right"))
    );
    // The example value of an int slot is 1: the question asked is the phrasing with it filled in.
    let older = by_template("older");
    assert_eq!(older["question"], "singers older than 1");
    assert_eq!(older["gold"], "SELECT name FROM singer WHERE age > 1 ORDER BY name");
    assert_eq!(by_template("gone")["outcome"], "gold_error");

    // A gate the provider does not meet exits 1 with its code.
    let out = env
        .run(&["eval", "--templates", "--db", dbs, "--provider", "builtin", "--min-accuracy", "1", "--format", "json"])
        .await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("accuracy_below_threshold"), "{}", out.stderr);
    let out = env.run(&["eval", "--templates", "--db", dbs, "--provider", "builtin", "--min-accuracy", "0.6"]).await;
    assert_eq!(out.code, 0, "2 of 3 scored is above 0.6: {}", out.stderr);
    // Both kinds of question set at once is a usage error.
    let out = env.run(&["eval", "--templates", "--questions", "q.json", "--db-dir", "d"]).await;
    assert_eq!(out.code, 2);
}

pub fn tests() -> Group {
    Group::new("eval").tests(tests![
        scores_every_outcome_and_writes_the_report,
        min_accuracy_is_a_gate,
        malformed_question_files_are_refused,
        filters_by_database_and_limit,
        templates_are_a_regression_gate,
    ])
}
