//! `datagenie eval`: execution accuracy over a question set in Spider's format, on generated SQLite databases.

use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// `--calibrate --report`: every reading taken before the threshold, with its SQL, confidence, doubts and whether its
/// rows equal the gold rows; questions the engine cannot read and gold queries that fail are not readings.
async fn calibration_writes_every_reading() {
    let env = Env::new();
    let dir = env.path("dbs");
    singers_db(&dir);
    let questions = env.path("questions.json");
    write(
        &questions,
        &json!([
            q("singers", "How many singers are there?", "SELECT count(*) FROM singer"),
            q("singers", "How many singers are there?", "SELECT count(*) FROM singer WHERE age > 30"),
            q("singers", "Why is the sky blue?", "SELECT count(*) FROM singer"),
            q("singers", "How many singers are there?", "SELECT no_such_column FROM singer"),
        ]),
    );
    let report = env.path("readings.json");
    let out = env
        .run(&[
            "eval",
            "--questions",
            questions.to_str().unwrap_or_default(),
            "--db-dir",
            dir.to_str().unwrap_or_default(),
            "--calibrate",
            "--report",
            report.to_str().unwrap_or_default(),
            "--today",
            "2024-01-01",
        ])
        .await;
    assert_eq!(out.code, 0, "stdout: {}\nstderr: {}", out.stdout, out.stderr);
    assert!(out.stdout.contains("readings: 2 of 3 scored questions (1 right ungated)"), "{}", out.stdout);
    let text = std::fs::read_to_string(&report).expect("readings written");
    let rows: Value = serde_json::from_str(&text).expect("readings are JSON");
    let rows = rows.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{text}");
    let right: Vec<bool> = rows.iter().filter_map(|r| r["right"].as_bool()).collect();
    assert_eq!(right, [true, false], "{text}");
    for r in &rows {
        assert_eq!(r["db_id"], "singers", "{text}");
        assert_eq!(r["sql"], r#"SELECT COUNT(*) AS singer_count FROM "singer""#, "{text}");
        assert!(r["confidence"].as_f64().is_some_and(|c| c > 0.0 && c <= 1.0), "{text}");
        assert!(r["doubts"].is_array() && r["gold"].is_string(), "{text}");
        // The features present, by name: a one-table count has an aggregate and no join.
        assert_eq!(r["features"]["aggregates"], 1.0, "{text}");
        assert!(r["features"].get("joins").is_none(), "{text}");
    }
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
    add("older", "names of singers older than {age:int}", "SELECT name FROM singer WHERE age > {age} ORDER BY name")
        .await;
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
    assert_eq!(older["question"], "names of singers older than 1");
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

/// The repository's root (the question sets live in `<root>/eval`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the demo database with the real binary (into the environment's data directory) and lays it out for
/// `--db-dir`: returns DIR with DIR/demo-retail/demo-retail.sqlite.
async fn demo_db_dir(env: &Env) -> PathBuf {
    let out = env.run_within(&["demo", "--format", "json"], Duration::from_secs(300)).await;
    assert_eq!(out.code, 0, "datagenie demo: {}", out.stderr);
    let dir = env.path("dbs");
    std::fs::create_dir_all(dir.join("demo-retail")).expect("create db dir");
    std::fs::copy(env.path("data").join("demo-retail.sqlite"), dir.join("demo-retail").join("demo-retail.sqlite"))
        .expect("copy the demo database");
    dir
}

/// `datagenie eval` of `eval/<file>` on the demo database with the built-in engine, relative dates read from the
/// pinned 2026-01-01; returns the JSON summary.
async fn eval_demo_set(env: &Env, dir: &Path, file: &str, report: Option<&Path>) -> Value {
    let questions = repo_root().join("eval").join(file);
    let mut args = vec![
        "eval".to_string(),
        "--questions".to_string(),
        questions.display().to_string(),
        "--db-dir".to_string(),
        dir.display().to_string(),
        "--provider".to_string(),
        "builtin".to_string(),
        "--today".to_string(),
        "2026-01-01".to_string(),
        "--format".to_string(),
        "json".to_string(),
    ];
    if let Some(report) = report {
        args.extend(["--report".to_string(), report.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = env.run_within(&args, Duration::from_secs(300)).await;
    assert_eq!(out.code, 0, "eval {file}: stdout: {}\nstderr: {}", out.stdout, out.stderr);
    out.json()
}

/// The questions of `eval/<file>`, parsed.
fn demo_set(file: &str) -> Vec<Value> {
    let path = repo_root().join("eval").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    v.as_array().cloned().unwrap_or_else(|| panic!("{} is not a JSON array", path.display()))
}

fn is_korean(question: &str) -> bool {
    question.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c))
}

/// The demo database's question set (eval/demo-questions.json, written by a person who did not tune the engine) as a
/// regression gate for the built-in engine: every gold query runs, and the engine is at least as right and at most
/// as wrong as when the gate was last raised. The held-out set (eval/demo-holdout.json) is only checked to parse and
/// to have gold queries that run: its accuracy is measured for reports (eval/run-demo.sh), never gated or tuned on.
async fn demo_question_set_is_a_regression_gate() {
    // The sets the engine may be tuned on (eval/README.md), each with the right rate (rounded down to the whole
    // percent) and a wrong rate a little above the one measured with the built-in engine when this gate was last set
    // (set 1: 59 of 68 right, none wrong; the development sets: 71 of 90, 57 of 80, 51 of 72, 53 of 72, none wrong).
    // Raise the right rates and lower the wrong rates as the engine improves.
    const SETS: &[(&str, f64, f64)] = &[
        ("demo-questions.json", 0.86, 0.02),
        ("demo-dev.json", 0.79, 0.02),
        ("demo-dev2.json", 0.72, 0.02),
        ("demo-dev3.json", 0.70, 0.02),
        ("demo-dev4.json", 0.77, 0.02),
        ("demo-dev5.json", 0.83, 0.02),
    ];
    let env = Env::new();
    let dir = demo_db_dir(&env).await;
    for &(file, min_right, max_wrong) in SETS {
        let set = demo_set(file);
        assert!(set.len() >= 64, "eval/{file} has {} questions", set.len());
        let korean = set.iter().filter(|q| is_korean(q["question"].as_str().unwrap_or_default())).count();
        assert_eq!(korean * 2, set.len(), "half of eval/{file} is in Korean");
        assert!(set.iter().all(|q| q["db_id"] == "demo-retail"), "every question of {file} is on demo-retail");

        let report = env.path(&format!("{file}.report.json"));
        let v = eval_demo_set(&env, &dir, file, Some(&report)).await;
        let o = &v["overall"];
        assert_eq!(o["questions"], set.len(), "{file}: {v}");
        assert_eq!(o["gold_errors"], 0, "every gold query of {file} runs on the demo database: {v}");
        let right = o["accuracy"].as_f64().unwrap_or_default();
        let wrong = o["wrong_rate"].as_f64().unwrap_or_default();
        // On failure, the questions answered wrongly: what to look at.
        let wrong_answers = || {
            let text = std::fs::read_to_string(&report).unwrap_or_default();
            let r: Value = serde_json::from_str(&text).unwrap_or_default();
            r["questions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|q| q["outcome"] == "wrong")
                .map(|q| {
                    format!("  {}\n    predicted: {}\n    gold:      {}", q["question"], q["predicted"], q["gold"])
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(
            right >= min_right,
            "{file}: right {:.1} % is below {:.0} %: {v}\nwrong answers:\n{}",
            right * 100.0,
            min_right * 100.0,
            wrong_answers()
        );
        assert!(
            wrong <= max_wrong,
            "{file}: wrong {:.1} % is above {:.0} %: {v}\nwrong answers:\n{}",
            wrong * 100.0,
            max_wrong * 100.0,
            wrong_answers()
        );
    }

    // The held-out set: it parses, is big enough, and its gold queries run. Its questions are never printed here.
    let holdout = demo_set("demo-holdout.json");
    assert!(holdout.len() >= 40, "eval/demo-holdout.json has {} questions", holdout.len());
    let korean = holdout.iter().filter(|q| is_korean(q["question"].as_str().unwrap_or_default())).count();
    assert_eq!(korean * 2, holdout.len(), "half of eval/demo-holdout.json is in Korean");
    let v = eval_demo_set(&env, &dir, "demo-holdout.json", None).await;
    assert_eq!(v["overall"]["questions"], holdout.len(), "{}", v["overall"]);
    assert_eq!(v["overall"]["gold_errors"], 0, "every held-out gold query runs: {}", v["overall"]);
}

pub fn tests() -> Group {
    Group::new("eval").tests(tests![
        scores_every_outcome_and_writes_the_report,
        calibration_writes_every_reading,
        min_accuracy_is_a_gate,
        malformed_question_files_are_refused,
        filters_by_database_and_limit,
        templates_are_a_regression_gate,
        demo_question_set_is_a_regression_gate,
    ])
}
