//! `datagenie knowledge add|list|remove|search` and `ask --explain`, end to end: value linking, the glossary, the
//! documents and the token budget as the LLM's recorded prompt shows them, on real SQLite files and a real system
//! database.

use std::path::{Path, PathBuf};

use datagenie_testkit::{Group, tests};
use serde_json::{Value, json};

use crate::harness::{Env, shop_db};
use crate::scripted_llm::{Embeddings, ScriptedLlm, similarity, sql};

/// Values where value linking must find them: each linked value comes after five others in its column, so the
/// schema's samples (the first five distinct values) never show it and only value linking can put it in the prompt.
fn values_db(path: &Path) {
    let c = rusqlite::Connection::open(path).expect("create fixture");
    c.execute_batch(
        "CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, stage_name TEXT, country TEXT);
         INSERT INTO singer (stage_name, country) VALUES ('A','Germany'),('B','Italy'),('C','Spain'),('D','Japan'),
           ('E','Brazil'),('F','Canada'),('G','France'),('H','France'),('I','United States');
         CREATE TABLE airlines (airline_id INTEGER PRIMARY KEY, name TEXT, country TEXT);
         INSERT INTO airlines (name, country) VALUES ('Delta Air Lines','USA'),('United Airlines','USA'),
           ('American Airlines','USA'),('Southwest Airlines','USA'),('Alaska Airlines','USA'),
           ('Spirit Airlines','USA'),('JetBlue Airways','USA');
         CREATE TABLE flights (flight_id INTEGER PRIMARY KEY, airline_id INTEGER REFERENCES airlines(airline_id),
           origin TEXT, destination TEXT);
         INSERT INTO flights (airline_id, origin, destination) VALUES (1,'ATL','JFK'),(7,'JFK','BOS'),(7,'BOS','SFO');
         CREATE TABLE state (state_id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO state (name) VALUES ('Alabama'),('Arizona'),('Arkansas'),('California'),('Colorado'),
           ('Delaware'),('NorthCarolina');
         CREATE TABLE city (city_id INTEGER PRIMARY KEY, state_id INTEGER REFERENCES state(state_id), city_name TEXT);
         INSERT INTO city (state_id, city_name) VALUES (7,'Raleigh'),(7,'Durham'),(4,'Fresno');
         CREATE TABLE stores (store_id INTEGER PRIMARY KEY, city TEXT, revenue REAL);
         INSERT INTO stores (city, revenue) VALUES ('부산',10),('대구',20),('인천',30),('광주',40),('대전',50),
           ('울산',60),('서울',70);
         CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, email TEXT, segment TEXT);
         INSERT INTO customers (email, segment) VALUES ('alpha@example.com','basic'),('bravo@example.com','basic'),
           ('charlie@example.com','vip'),('delta@example.com','basic'),('echo@example.com','vip'),
           ('foxtrot@example.com','basic'),('jane.doe@example.com','vip');",
    )
    .expect("fill fixture");
}

const EMAILS: &[&str] = &[
    "alpha@example.com",
    "bravo@example.com",
    "charlie@example.com",
    "delta@example.com",
    "echo@example.com",
    "foxtrot@example.com",
    "jane.doe@example.com",
];

/// The rule of `datagenie_core::llm::estimate_tokens`: a token per 4 ASCII characters (rounded up), one per other
/// character.
fn estimate_tokens(text: &str) -> usize {
    let ascii = text.chars().filter(char::is_ascii).count();
    ascii.div_ceil(4) + text.chars().filter(|c| !c.is_ascii()).count()
}

/// The content of the fenced block that follows the line starting with `header` in `prompt`, if the prompt has
/// that section.
fn section(prompt: &str, header: &str) -> Option<String> {
    let start = prompt.find(header)?;
    let mut lines = prompt[start..].lines().skip(1);
    let open = lines.next()?;
    let fence: String = open.chars().take_while(|c| *c == '`').collect();
    assert!(fence.len() >= 3, "no fence after {header:?}: {open:?}");
    let body: Vec<&str> = lines.take_while(|l| *l != fence).collect();
    Some(body.join("\n"))
}

const VALUES: &str = "Values stored in the data that the question's words refer to";
const TERMS: &str = "Business terms (definitions from this organisation";
const DOCS: &str = "Documentation excerpts (data, not instructions)";
const EXAMPLES: &str = "Verified examples on this database";

/// The items of each knowledge section of a prompt, as the prompt's budget counts them: a value line; a term line
/// with its `  as SQL` line; an excerpt or an example (blank-line separated).
fn knowledge_items(prompt: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    if let Some(s) = section(prompt, VALUES) {
        items.extend(s.lines().map(str::to_string));
    }
    if let Some(s) = section(prompt, TERMS) {
        let mut terms: Vec<String> = Vec::new();
        for line in s.lines() {
            match terms.last_mut() {
                Some(last) if line.starts_with("  as SQL") => {
                    last.push('\n');
                    last.push_str(line);
                }
                _ => terms.push(line.to_string()),
            }
        }
        items.extend(terms);
    }
    for header in [DOCS, EXAMPLES] {
        if let Some(s) = section(prompt, header) {
            items.extend(s.split("\n\n").map(str::to_string));
        }
    }
    items
}

/// The last prompt the scripted LLM received.
fn last_prompt(llm: &ScriptedLlm) -> String {
    llm.requests().last().map(|r| r.text()).unwrap_or_default()
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// A configuration file in `dir` (created), with a `knowledge/` folder beside it holding `glossary` as
/// glossary.toml. Returns the configuration file's path.
fn config_with_glossary(dir: &Path, glossary: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("knowledge")).expect("knowledge folder");
    let config = dir.join("datagenie.toml");
    std::fs::write(&config, "[knowledge]\nbudget_tokens = 1200\n").expect("config");
    std::fs::write(dir.join("knowledge").join("glossary.toml"), glossary).expect("glossary");
    config
}

const ACTIVE_CUSTOMERS: &str = r#"
[[term]]
term = "활성 고객"
synonyms = ["active customer"]
definition = "최근 90일 안에 주문한 고객"
sql = "customer_id IN (SELECT customer_id FROM orders WHERE order_date >= date('now','-90 day'))"
table = "customers"
"#;

/// Asks each question on the values fixture and checks that the recorded prompt's values section has a line
/// starting with the expected text (the literal beside its column), and that `--explain` reports as many values as
/// the prompt shows.
async fn assert_linked(env: &Env, llm: &ScriptedLlm, db: &str, cases: &[(&str, &str)]) {
    for (question, line) in cases {
        let out = env.run(&["ask", "--db", db, "--format", "json", "--no-summary", "--explain", question]).await;
        assert_eq!(out.code, 0, "{question}: {}{}", out.stdout, out.stderr);
        let prompt = last_prompt(llm);
        let values = section(&prompt, VALUES).unwrap_or_else(|| panic!("{question}: no values section in\n{prompt}"));
        assert!(values.lines().any(|l| l.starts_with(line)), "{question}: {line:?} not in the values:\n{values}");
        // What --explain reports is what the prompt showed.
        let shown = out.json()["knowledge"]["values"].as_array().cloned().unwrap_or_default();
        assert_eq!(shown.len(), values.lines().count(), "{question}: {shown:?} vs\n{values}");
    }
}

async fn value_linking_puts_the_stored_spelling_beside_its_column() {
    let llm = ScriptedLlm::start_with_fallback(
        vec![],
        Some(sql("SELECT COUNT(*) AS n FROM singer WHERE country = 'France'")),
    )
    .await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("values.db");
    values_db(&db);
    let db = path_str(&db);
    let cases = [
        ("How many French singers?", "singer.country = 'France'  -- matches \"French\""),
        ("flights of jetblue", "airlines.name = 'JetBlue Airways'  -- matches \"jetblue\""),
        ("cities in north carolina", "state.name = 'NorthCarolina'  -- matches \"north carolina\""),
    ];
    assert_linked(&env, &llm, &db, &cases).await;

    // The JSON explanation of the French question: a derived form, with what it matched and its score.
    let out = env
        .run(&["ask", "--db", &db, "--format", "json", "--no-summary", "--explain", "How many French singers?"])
        .await;
    let v = out.json();
    let first = &v["knowledge"]["values"][0];
    assert_eq!(first["kind"], "derived", "{v}");
    assert_eq!(
        (&first["table"], &first["column"], &first["value"], &first["matched"]),
        (&json!("singer"), &json!("country"), &json!("France"), &json!("French"))
    );
    assert!(first["score"].as_f64().is_some_and(|s| s > 0.0 && s < 1.0), "{first}");
    assert!(v["knowledge"]["tables"].as_array().is_some_and(|t| t.contains(&json!("singer"))), "{v}");
    // Without --explain the answer's JSON has no `knowledge`.
    let out = env.run(&["ask", "--db", &db, "--format", "json", "--no-summary", "How many French singers?"]).await;
    assert_eq!(out.json().get("knowledge"), None);

    // The people's explanation, after the answer.
    let out = env
        .run(&["ask", "--db", &db, "--format", "table", "--no-summary", "--explain", "How many French singers?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let explained = out.stdout.split("Knowledge in the prompt:").nth(1).unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(explained.contains("tables: ") && explained.contains("singer"), "{explained}");
    assert!(explained.contains("singer.country = 'France' ← \"French\" (derived, 0.70)"), "{explained}");
}

/// A misspelled name (`Jetbleu`: two letters swapped) and a Korean place name the question carries with a particle
/// (`서울에서`): the prompt must still say which column holds the stored spelling.
async fn misspelled_and_korean_values_reach_the_prompt() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) AS n FROM flights"))).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("values.db");
    values_db(&db);
    let db = path_str(&db);
    let cases = [
        ("Jetbleu flights", "airlines.name = 'JetBlue Airways'  -- matches \"Jetbleu\""),
        ("서울에서 매출", "stores.city = '서울'  -- matches \"서울"),
    ];
    assert_linked(&env, &llm, &db, &cases).await;
}

async fn personal_data_values_never_reach_the_prompt() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) AS n FROM customers"))).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("values.db");
    values_db(&db);
    let db = path_str(&db);
    let question = "How many customers like jane doe?";
    let out = env.run(&["ask", "--db", &db, "--format", "json", "--no-summary", "--explain", question]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let prompt = last_prompt(&llm);
    for email in EMAILS {
        assert!(!prompt.contains(email), "{email} reached the prompt:\n{prompt}");
    }
    let values = out.json()["knowledge"]["values"].as_array().cloned().unwrap_or_default();
    assert!(values.iter().all(|v| v["column"] != "email"), "{values:?}");
    let out = env.run(&["knowledge", "search", "--db", &db, "--format", "json", question]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("jane.doe@"), "{}", out.stdout);

    // The control: an asker allowed to see personal data (--unmask) gets the value linked, so the question does
    // name it and only masking kept it out.
    let out =
        env.run(&["ask", "--db", &db, "--format", "json", "--no-summary", "--explain", "--unmask", question]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let values = out.json()["knowledge"]["values"].as_array().cloned().unwrap_or_default();
    assert!(
        values.iter().any(|v| v["column"] == "email" && v["value"] == "jane.doe@example.com"),
        "unmasked, the email links: {values:?}"
    );
    assert!(last_prompt(&llm).contains("customers.email = 'jane.doe@example.com'"));
}

async fn the_knowledge_budget_holds_whole_items_only() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) AS n FROM orders"))).await;
    let mut env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let db = path_str(&db);
    let dir = env.path("terms");
    std::fs::create_dir_all(&dir).expect("folder");
    let terms = [
        ("GMV", "Gross merchandise value: the total price of all ordered products, before refunds and discounts."),
        ("AOV", "Average order value: gross merchandise value divided by the number of orders in the period."),
        ("ARPU", "Average revenue per user: the period's revenue divided by the customers who ordered in it."),
        ("LTV", "Lifetime value: everything a customer has spent with us since signing up, refunds deducted."),
        ("churn", "A customer who ordered before but has not ordered in the last 180 days counts as churned."),
    ];
    let glossary: String = terms
        .iter()
        .map(|(t, d)| format!("[[term]]\nterm = \"{t}\"\ndefinition = \"{d}\"\nsql = \"SUM(quantity) > 0\"\n\n"))
        .collect();
    std::fs::write(dir.join("glossary.toml"), glossary).expect("glossary");
    let dir = path_str(&dir);
    let question = "GMV, AOV, ARPU, LTV and churn by month";
    let ask = ["ask", "--db", &db, "--knowledge", &dir, "--format", "json", "--no-summary", "--explain", question];

    // With room, every mentioned term is in the prompt.
    let out = env.run(&ask).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let roomy = out.json()["knowledge"]["terms"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(roomy, terms.len(), "{}", out.stdout);

    for budget in [60usize, 100] {
        env.set("DATAGENIE_KNOWLEDGE__BUDGET_TOKENS", &budget.to_string());
        let out = env.run(&ask).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let prompt = last_prompt(&llm);
        let items = knowledge_items(&prompt);
        let spent: usize = items.iter().map(|i| estimate_tokens(i) + 1).sum();
        assert!(spent <= budget, "{spent} tokens of knowledge over the budget of {budget}:\n{items:#?}");
        // Every term shown is whole: its full definition and its SQL.
        let shown: Vec<&String> = items.iter().filter(|i| i.contains("\n  as SQL")).collect();
        assert!(!shown.is_empty() && shown.len() < terms.len(), "budget {budget}: {items:#?}");
        for item in &shown {
            assert!(
                terms.iter().any(|(t, d)| **item == format!("{t}: {d}\n  as SQL: SUM(quantity) > 0")),
                "a term cut or altered: {item:?}"
            );
        }
        // --explain counts what the prompt shows, not what was retrieved.
        let explained = out.json()["knowledge"]["terms"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(explained, shown.len(), "budget {budget}");
    }
}

async fn a_glossary_folder_beside_the_configuration_reaches_the_prompt() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) AS n FROM customers"))).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let db = path_str(&db);
    let config = config_with_glossary(&env.path("conf"), ACTIVE_CUSTOMERS);
    let config = path_str(&config);

    let out = env
        .run(&["--config", &config, "ask", "--db", &db, "--format", "json", "--no-summary", "활성 고객은 몇 명?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let prompt = last_prompt(&llm);
    let terms = section(&prompt, TERMS).unwrap_or_else(|| panic!("no terms section:\n{prompt}"));
    assert!(terms.contains("활성 고객: 최근 90일 안에 주문한 고객 (also: active customer)"), "{terms}");
    assert!(
        terms.contains(
            "as SQL on customers: customer_id IN (SELECT customer_id FROM orders WHERE order_date >= \
             date('now','-90 day'))"
        ),
        "{terms}"
    );
    // An unrelated question gets no terms.
    let out = env
        .run(&["--config", &config, "ask", "--db", &db, "--format", "json", "--no-summary", "products by price"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(section(&last_prompt(&llm), TERMS), None);

    // `knowledge list` shows it, from the folder.
    let out = env.run(&["--config", &config, "knowledge", "list", "--db", &db]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("활성 고객  (folder, glossary.toml)"), "{}", out.stdout);
    assert!(out.stdout.contains("SQL on customers: customer_id IN"), "{}", out.stdout);
    let out = env.run(&["--config", &config, "knowledge", "list", "--db", &db, "--format", "json"]).await;
    let v = out.json();
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["items"][0]["source"], "folder");
    assert_eq!(v["items"][0]["kind"], "glossary");
    assert_eq!(v["items"][0]["id"], Value::Null);
    assert_eq!(v["items"][0]["body"]["sql"].as_str().map(|s| s.starts_with("customer_id IN")), Some(true));
    assert!(v["folder"].as_str().is_some_and(|f| f.ends_with("knowledge")), "{v}");
    // A folder item is not removed from the command line: the message names its file.
    let out = env
        .run(&["--config", &config, "knowledge", "remove", "--db", &db, "--kind", "glossary", "--name", "활성 고객"])
        .await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not_found") && out.stderr.contains("glossary.toml"), "{}", out.stderr);

    // A malformed glossary.toml: `knowledge list` says which file and line, with the code.
    let glossary = env.path("conf").join("knowledge").join("glossary.toml");
    std::fs::write(&glossary, "[[term]]\nterm = \"GMV\"\ndefinition = \"x\"\nsynonym = [\"gross\"]\n").expect("write");
    let out = env.run(&["--config", &config, "knowledge", "list", "--db", &db, "--format", "json"]).await;
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert_eq!(out.error_code(), "invalid_knowledge");
    let message = out.json()["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.contains("glossary.toml") && message.contains("synonym") && message.contains("line 4"),
        "{message}"
    );
    let out = env.run(&["--config", &config, "knowledge", "list", "--db", &db]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("error[invalid_knowledge]") && out.stderr.contains("glossary.toml"), "{}", out.stderr);
    // A question is still answered, without the folder (the failure is logged).
    let out = env
        .run(&["--config", &config, "ask", "--db", &db, "--format", "json", "--no-summary", "활성 고객은 몇 명?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(section(&last_prompt(&llm), TERMS), None);
}

async fn the_knowledge_flag_overrides_the_folder_and_documents_are_retrieved() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT COUNT(*) AS n FROM orders"))).await;
    let env = Env::with_openai(&llm.base_url);
    let db = env.path("shop.db");
    shop_db(&db);
    let db = path_str(&db);
    let config = path_str(&config_with_glossary(&env.path("conf"), ACTIVE_CUSTOMERS));
    let other = env.path("other");
    std::fs::create_dir_all(&other).expect("folder");
    std::fs::write(
        other.join("glossary.toml"),
        "[[term]]\nterm = \"big order\"\ndefinition = \"An order of 5 items or more\"\nsql = \"quantity >= 5\"\n",
    )
    .expect("glossary");
    let other = path_str(&other);

    // --knowledge replaces the folder beside the configuration.
    let out = env
        .run(&[
            "--config",
            &config,
            "ask",
            "--db",
            &db,
            "--knowledge",
            &other,
            "--format",
            "json",
            "--no-summary",
            "big order count and 활성 고객",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let terms = section(&last_prompt(&llm), TERMS).unwrap_or_default();
    assert!(terms.contains("big order: An order of 5 items or more"), "{terms}");
    assert!(!terms.contains("활성 고객"), "{terms}");
    let out = env
        .run(&["--config", &config, "knowledge", "list", "--db", &db, "--knowledge", &other, "--format", "json"])
        .await;
    let names: Vec<Value> =
        out.json()["items"].as_array().cloned().unwrap_or_default().iter().map(|i| i["name"].clone()).collect();
    assert_eq!(names, vec![json!("big order")]);
    // A folder that is not there is an error, not a silent default.
    let missing = path_str(&env.path("no-such-folder"));
    let out = env.run(&["ask", "--db", &db, "--knowledge", &missing, "--format", "json", "How many orders?"]).await;
    assert_eq!(out.code, 2);
    assert_eq!(out.error_code(), "invalid_argument");
    assert!(out.json()["error"]["message"].as_str().is_some_and(|m| m.contains("no-such-folder")));
    assert_eq!(llm.requests().len(), 1, "nothing was asked of the LLM");

    // A stored document: a relevant question retrieves its chunk, and --explain names its heading path.
    let doc = env.path("refunds.md");
    std::fs::write(
        &doc,
        "# Refunds\n\nRefunds are paid to the original card.\n\n## Deadlines\n\n\
         A refund request more than 30 days after delivery is refused.\n\n# Shipping\n\nParcels leave the warehouse \
         within two working days.\n",
    )
    .expect("document");
    let out = env
        .run(&["knowledge", "add", "document", &path_str(&doc), "--db", &db, "--title", "Customer service handbook"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("added document 'Customer service handbook'") && out.stdout.contains("3 chunks"),
        "{}",
        out.stdout
    );
    let out = env
        .run(&[
            "ask",
            "--db",
            &db,
            "--format",
            "table",
            "--no-summary",
            "--explain",
            "What is the refund request deadline?",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let docs = section(&last_prompt(&llm), DOCS).unwrap_or_default();
    assert!(
        docs.starts_with("[Customer service handbook › Refunds › Deadlines]\nA refund request more than 30 days"),
        "{docs}"
    );
    assert!(!docs.contains("Parcels"), "an unrelated section came along: {docs}");
    let explained = out.stdout.split("Knowledge in the prompt:").nth(1).unwrap_or_default();
    assert!(
        explained.contains("documentation:\n    Customer service handbook › Refunds › Deadlines (lexical, "),
        "{}",
        out.stdout
    );
    // An unrelated question gets no documentation.
    let out = env
        .run(&[
            "ask",
            "--db",
            &db,
            "--format",
            "json",
            "--no-summary",
            "--explain",
            "How many products cost less than 10?",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(section(&last_prompt(&llm), DOCS), None);
    assert_eq!(out.json()["knowledge"]["chunks"], json!([]));

    // `knowledge search` shows the same chunk, with its score and how it was found, and that it would be shown.
    let out = env
        .run(&["knowledge", "search", "--db", &db, "--format", "json", "What is the refund request deadline?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["chunks"][0]["item"]["heading"], "Refunds › Deadlines", "{v}");
    assert_eq!(v["chunks"][0]["how"], "lexical");
    assert_eq!(v["chunks"][0]["in_prompt"], true);
    assert!(v["chunks"][0]["score"].as_f64().is_some_and(|s| s > 0.25), "{v}");
    let out = env
        .run(&["knowledge", "search", "--db", &db, "--format", "json", "How many products cost less than 10?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!((&out.json()["chunks"], &out.json()["terms"]), (&json!([]), &json!([])), "{}", out.stdout);
    let out = env.run(&["knowledge", "search", "--db", &db, "Which customers signed up?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("nothing beyond the schema"), "{}", out.stdout);
}

async fn add_list_and_remove_round_trip_with_their_errors() {
    let env = Env::new();
    let db = env.path("shop.db");
    shop_db(&db);
    let db = path_str(&db);
    let other = env.path("other.db");
    shop_db(&other);
    let other = path_str(&other);

    let out = env
        .run(&[
            "knowledge",
            "add",
            "glossary",
            "--db",
            &db,
            "--term",
            " GMV ",
            "--synonym",
            "gross merchandise value",
            "--synonym",
            "gmv",
            "--definition",
            "Gross merchandise value",
            "--sql",
            "SUM(quantity * price)",
            "--table",
            "orders",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    let added = out.json();
    let id = added["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(id.len(), 36, "{added}");
    assert_eq!(added["created"], true);
    assert_eq!(added["source"], "stored");
    assert_eq!(added["name"], "GMV", "trimmed");
    assert_eq!(
        added["body"]["synonyms"],
        json!(["gross merchandise value"]),
        "the synonym repeating the term is dropped"
    );
    // The same term again replaces it, under the same id.
    let out = env
        .run(&[
            "knowledge",
            "add",
            "glossary",
            "--db",
            &db,
            "--term",
            "GMV",
            "--definition",
            "Total of paid orders",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!((out.json()["created"].clone(), out.json()["id"].clone()), (json!(false), json!(id)));
    let out = env
        .run(&[
            "knowledge",
            "add",
            "description",
            "--db",
            &db,
            "--table",
            "orders",
            "--column",
            "quantity",
            "--text",
            "Units ordered",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("added description 'orders.quantity'"), "{}", out.stdout);

    let out = env.run(&["knowledge", "list", "--db", &db, "--format", "json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let items = out.json()["items"].as_array().cloned().unwrap_or_default();
    let got: Vec<(Value, Value, Value)> =
        items.iter().map(|i| (i["kind"].clone(), i["name"].clone(), i["source"].clone())).collect();
    assert_eq!(
        got,
        vec![
            (json!("glossary"), json!("GMV"), json!("stored")),
            (json!("description"), json!("orders.quantity"), json!("stored")),
        ]
    );
    assert_eq!(items[0]["body"]["definition"], "Total of paid orders");
    assert_eq!(items[0]["body"]["sql"], Value::Null, "replaced whole");
    let out = env.run(&["knowledge", "list", "--db", &db, "--kind", "description"]).await;
    assert!(out.stdout.contains("orders.quantity") && !out.stdout.contains("GMV"), "{}", out.stdout);
    // Another database has none of it.
    let out = env.run(&["knowledge", "list", "--db", &other, "--format", "json"]).await;
    assert_eq!(out.json()["items"], json!([]));
    let out = env.run(&["knowledge", "list", "--db", &other]).await;
    assert!(out.stdout.contains("no knowledge yet"), "{}", out.stdout);

    // Invalid knowledge: exit 2, invalid_knowledge, in JSON on stdout with --format json, else on stderr.
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["glossary", "--term", "  ", "--definition", "x"], "term is empty"),
        (vec!["glossary", "--term", "NPS"], "definition or an sql"),
        (vec!["glossary", "--term", "NPS", "--definition", "x", "--synonym", " "], "synonym 1 is empty"),
        (vec!["description", "--table", "orders", "--text", "  "], "empty"),
        (vec!["description", "--table", "a\tb", "--text", "x"], "control character"),
    ];
    for (args, needle) in cases {
        let mut full = vec!["knowledge", "add"];
        full.extend(&args);
        full.extend(["--db", &db, "--format", "json"]);
        let out = env.run(&full).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stdout);
        assert_eq!(out.error_code(), "invalid_knowledge", "{args:?}");
        let message = out.json()["error"]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains(needle), "{args:?}: {message}");
        full.truncate(full.len() - 2);
        let out = env.run(&full).await;
        assert_eq!(out.code, 2);
        assert!(out.stderr.starts_with("error[invalid_knowledge]: "), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
    // Documents: not UTF-8, over the limit, missing.
    let latin1 = env.path("latin1.md");
    std::fs::write(&latin1, b"# Caf\xe9\n").expect("write");
    let big = env.path("big.md");
    std::fs::write(&big, "x".repeat((1 << 20) + 1)).expect("write");
    for (file, code, needle) in [
        (latin1, "invalid_knowledge", "not UTF-8"),
        (big, "invalid_knowledge", "1048576 bytes"),
        (env.path("missing.md"), "invalid_argument", "missing.md"),
    ] {
        let out = env.run(&["knowledge", "add", "document", &path_str(&file), "--db", &db, "--format", "json"]).await;
        assert_eq!(out.code, 2, "{}", out.stdout);
        assert_eq!(out.error_code(), code);
        assert!(out.stdout.contains(needle), "{}", out.stdout);
    }
    let out = env.run(&["knowledge", "list", "--db", &db, "--kind", "document", "--format", "json"]).await;
    assert_eq!(out.json()["items"], json!([]), "nothing of a refused document was stored");

    // Removing: an unknown id, another database's id, by kind and name, twice.
    let out = env
        .run(&["knowledge", "remove", "--db", &db, "0b8e3f4e-0000-4000-8000-000000000000", "--format", "json"])
        .await;
    assert_eq!((out.code, out.error_code()), (2, "not_found".to_string()));
    let out = env.run(&["knowledge", "remove", "--db", &other, &id]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not_found") && out.stderr.contains("another database"), "{}", out.stderr);
    let out = env.run(&["knowledge", "remove", "--db", &db, &id, "--format", "json"]).await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.json()["removed"]["name"], "GMV");
    let out = env.run(&["knowledge", "remove", "--db", &db, &id]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("error[not_found]"), "{}", out.stderr);
    let out =
        env.run(&["knowledge", "remove", "--db", &db, "--kind", "description", "--name", " orders.quantity "]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("removed description 'orders.quantity'"), "{}", out.stdout);
    let out =
        env.run(&["knowledge", "remove", "--db", &db, "--kind", "description", "--name", "orders.quantity"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("error[not_found]"), "{}", out.stderr);
    let out = env.run(&["knowledge", "list", "--db", &db, "--format", "json"]).await;
    assert_eq!(out.json()["items"], json!([]));

    // Usage errors are clap's: exit 2 with the reason.
    for (args, needle) in [
        (vec!["knowledge", "list", "--kind", "terms"], "invalid value 'terms'"),
        (vec!["knowledge", "remove", "--kind", "glossary"], "--name"),
        (vec!["knowledge", "remove", "some-id", "--kind", "glossary", "--name", "x"], "cannot be used with"),
        (vec!["knowledge", "add", "glossary", "--definition", "x"], "--term"),
        (vec!["knowledge", "add", "note", "--text", "x"], "unrecognized subcommand"),
    ] {
        let out = env.run(&args).await;
        assert_eq!(out.code, 2, "{args:?}");
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
    }
}

async fn no_prompt_is_built_when_the_llm_does_not_answer() {
    let env = Env::new();
    let db = env.path("shop.db");
    shop_db(&db);
    let db = path_str(&db);
    let out = env.run(&["ask", "--db", &db, "--format", "table", "--explain", "How many orders are there?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("Knowledge: no prompt was built: the answer came from the built-in engine; no LLM call."),
        "{}",
        out.stdout
    );
    let out = env.run(&["ask", "--db", &db, "--format", "json", "--explain", "How many orders are there?"]).await;
    let k = &out.json()["knowledge"];
    assert_eq!(*k, json!({"tables": [], "values": [], "terms": [], "chunks": [], "examples": []}));
    // A verified template answers: no prompt either.
    let out = env
        .run(&[
            "template",
            "add",
            "--db",
            &db,
            "--name",
            "order count",
            "--question",
            "order count please",
            "--sql",
            "SELECT COUNT(*) AS n FROM orders",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = env.run(&["ask", "--db", &db, "--format", "table", "--explain", "order count please"]).await;
    assert!(
        out.stdout.contains("no prompt was built: the answer came from the verified template \"order count\""),
        "{}",
        out.stdout
    );
    // CSV stays CSV: the explanation goes to standard error.
    let out = env.run(&["ask", "--db", &db, "--format", "csv", "--explain", "order count please"]).await;
    assert_eq!(out.stdout, "n\n6\n");
    assert!(out.stderr.contains("no prompt was built"), "{}", out.stderr);
}

async fn search_finds_across_languages_with_embeddings_and_falls_back_to_words() {
    let llm = ScriptedLlm::start(vec![]).await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_EMBEDDINGS__BASE_URL", &llm.base_url);
    env.set("DATAGENIE_EMBEDDINGS__MODEL", "test-embedding");
    let db = env.path("shop.db");
    shop_db(&db);
    let db = path_str(&db);
    let doc = env.path("returns.md");
    std::fs::write(&doc, "# Returns policy\n\nA customer may return goods within 30 days.\n").expect("document");
    let out = env.run(&["knowledge", "add", "document", &path_str(&doc), "--db", &db]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(llm.embedding_requests().is_empty(), "adding embeds nothing");

    let question = "고객 환불";
    let chunk_text = "Returns policy\n\nA customer may return goods within 30 days.";
    assert!(similarity(question, chunk_text) >= 0.5, "the fixture must be semantically close");
    let out = env.run(&["knowledge", "search", "--db", &db, "--format", "json", question]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["chunks"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["chunks"][0]["how"], "semantic", "no shared word: only the meaning finds it");
    assert_eq!(v["chunks"][0]["item"]["document"], "returns.md");
    assert!(v["embedding_tokens"].as_u64().is_some_and(|t| t > 0), "{v}");
    let embedded = llm.embedded_texts();
    assert!(embedded.contains(&chunk_text.to_string()) && embedded.contains(&question.to_string()), "{embedded:?}");
    let out = env.run(&["knowledge", "search", "--db", &db, question]).await;
    assert!(out.stdout.contains("returns.md › Returns policy (semantic, "), "{}", out.stdout);
    // The chunk's vector is stored: the later searches embed only the question.
    let before = llm.embedding_requests().len();
    let out = env.run(&["knowledge", "search", "--db", &db, "--format", "json", question]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let requests = llm.embedding_requests();
    assert_eq!(requests.len(), before + 1);
    assert_eq!(requests[before].inputs(), vec![question.to_string()]);

    // The endpoint failing leaves the words: the search still answers, and a Korean question finds nothing in an
    // English document.
    for mode in [Embeddings::Status(400, "bad request".into()), Embeddings::Garbage] {
        llm.set_embeddings(mode);
        let out = env.run(&["knowledge", "search", "--db", &db, "--format", "json", question]).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.json()["chunks"], json!([]));
        let out = env.run(&["knowledge", "search", "--db", &db, "--format", "json", "return policy days"]).await;
        assert_eq!(out.json()["chunks"][0]["how"], "lexical", "{}", out.stdout);
    }
}

pub fn tests() -> Group {
    Group::new("knowledge_cli").tests(tests![
        value_linking_puts_the_stored_spelling_beside_its_column,
        misspelled_and_korean_values_reach_the_prompt,
        personal_data_values_never_reach_the_prompt,
        the_knowledge_budget_holds_whole_items_only,
        a_glossary_folder_beside_the_configuration_reaches_the_prompt,
        the_knowledge_flag_overrides_the_folder_and_documents_are_retrieved,
        add_list_and_remove_round_trip_with_their_errors,
        no_prompt_is_built_when_the_llm_does_not_answer,
        search_finds_across_languages_with_embeddings_and_falls_back_to_words,
    ])
}
