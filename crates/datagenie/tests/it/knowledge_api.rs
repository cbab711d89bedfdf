//! `/api/v1/knowledge`, verified answers and `explain` on the real server: what an admin teaches DataGenie about a
//! database reaches the LLM's prompt (read back from the scripted LLM's recorded requests), within each asker's grant,
//! and the routes refuse what they should with stable codes.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use datagenie_testkit::{Group, tests};

use crate::harness::Env;
use crate::scripted_llm::{Embeddings, ScriptedLlm, Step, reply, similarity, sql};
use crate::server::{Reply, Server, World, world_with};

/// A server whose LLM is `llm` (its embeddings endpoint too, with `embeddings`).
async fn world_on(llm: &ScriptedLlm, embeddings: bool, tune: impl FnOnce(&mut Env)) -> World {
    let mut env = Env::with_openai(&llm.base_url);
    if embeddings {
        env.set("DATAGENIE_EMBEDDINGS__BASE_URL", &llm.base_url);
        env.set("DATAGENIE_EMBEDDINGS__MODEL", "test-embedding");
    }
    tune(&mut env);
    world_with(env).await
}

/// A user created by the admin, granted `grant` on `connection`, without token limits; (id, token).
async fn member(w: &World, email: &str, role: &str, connection: &str, grant: Option<Value>) -> (String, String) {
    let (id, token) = w.user(email, role).await;
    let none = json!({"hourly_token_limit": null, "daily_token_limit": null, "monthly_token_limit": null});
    let r = w.server.request(Method::PATCH, &format!("/api/v1/users/{id}"), Some(&w.admin), Some(none)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    if let Some(grant) = grant {
        let path = format!("/api/v1/connections/{connection}/permissions/{id}");
        let r = w.server.request(Method::PUT, &path, Some(&w.admin), Some(grant)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    (id, token)
}

async fn add(server: &Server, token: &str, body: Value) -> Reply {
    server.post("/api/v1/knowledge", token, body).await
}

async fn ask_on(server: &Server, token: &str, connection: &str, question: &str, explain: bool) -> Reply {
    let body = json!({"connection_id": connection, "question": question, "explain": explain});
    server.post("/api/v1/ask", token, body).await
}

async fn ask(server: &Server, token: &str, question: &str, explain: bool) -> Reply {
    ask_on(server, token, "shop", question, explain).await
}

/// Percent-encodes a query-string value.
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn search(server: &Server, token: &str, connection: &str, q: &str) -> Reply {
    server.get(&format!("/api/v1/knowledge/search?connection={connection}&q={}", enc(q)), token).await
}

/// The text of the chat request the LLM received `n`th (from 0).
fn prompt(llm: &ScriptedLlm, n: usize) -> String {
    let requests = llm.requests();
    assert!(requests.len() > n, "only {} chat requests, wanted #{n}", requests.len());
    requests[n].text()
}

/// The glossary entries, chunks or examples of a search or an explained answer, as (item, score, how).
fn scored(list: &Value) -> Vec<(&Value, f64, &str)> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|s| (&s["item"], s["score"].as_f64().expect("a score"), s["how"].as_str().expect("how")))
        .collect()
}

/// Audit rows of `action`, newest first.
async fn audit_rows(w: &World, action: &str) -> Vec<Value> {
    let r = w.server.get(&format!("/api/v1/audit?action={action}"), &w.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["items"].as_array().expect("items").clone()
}

const SPENDER_SQL: &str = "SUM(orders.quantity) >= 5";

/// An admin's glossary term, with its SQL, reaches the prompt of another user's question that uses it; `explain`
/// lists it with its score (in JSON and in the event stream); replacing it keeps its id; removing it takes it out of
/// the very next prompt.
async fn a_glossary_term_reaches_the_prompt_and_the_explained_answer() {
    let answer = "SELECT customer_id FROM orders GROUP BY customer_id HAVING SUM(quantity) >= 5";
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql(answer))).await;
    let w = world_on(&llm, false, |_| {}).await;
    let (_, analyst) = member(&w, "analyst@example.com", "user", "shop", Some(json!({}))).await;

    let first = json!({"connection": "shop", "kind": "glossary", "term": " big spender ", "synonyms": ["whale", "Big  Spender"],
        "definition": "a customer who bought five items or more in all", "sql": SPENDER_SQL, "table": "orders"});
    let created = add(&w.server, &w.admin, first).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.json["id"].as_str().expect("id").to_string();
    assert_eq!((created.json["kind"].as_str(), created.json["name"].as_str()), (Some("glossary"), Some("big spender")));
    assert_eq!(created.json["body"]["synonyms"], json!(["whale"]), "trimmed, the term's repeat dropped");
    assert!(created.json["connection"].as_str().is_some_and(|k| k.starts_with("sqlite://") && k.ends_with("shop.db")));

    let replaced = add(
        &w.server,
        &w.admin,
        json!({"connection": "shop", "kind": "glossary", "term": "big spender", "synonyms": ["whale"],
            "definition": "a customer who bought at least five items over all their orders", "sql": SPENDER_SQL,
            "table": "orders"}),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "the same term replaces: {}", replaced.text);
    assert_eq!(replaced.json["id"], id.as_str());
    let listed = w.server.get("/api/v1/knowledge?connection=shop", &analyst).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let items = listed.json["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", listed.text);
    assert!(items[0]["body"]["definition"].as_str().is_some_and(|d| d.contains("at least five")));

    // The analyst's question uses the term (plural): its definition and SQL are in the prompt.
    let r = ask(&w.server, &analyst, "Which customers are big spenders?", true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["source"]["kind"], "llm");
    let text = prompt(&llm, 0);
    assert!(text.contains("Business terms"), "{text}");
    assert!(text.contains("at least five items over all their orders"), "the definition: {text}");
    assert!(text.contains(SPENDER_SQL), "the term's SQL: {text}");
    assert!(!text.contains("bought five items or more"), "the replaced definition is gone: {text}");
    let terms = scored(&r.json["knowledge"]["terms"]);
    assert_eq!(terms.len(), 1, "{}", r.json["knowledge"]);
    let (term, score, how) = terms[0];
    assert_eq!((term["term"].as_str(), term["sql"].as_str()), (Some("big spender"), Some(SPENDER_SQL)));
    assert!(score >= 1.0, "a mentioned term passes with the mention boost: {score}");
    assert_eq!(how, "lexical");
    assert!(r.json["knowledge"]["tables"].as_array().is_some_and(|t| t.iter().any(|t| t == "orders")), "{}", r.text);

    // Without explain, no knowledge in the answer.
    let plain = ask(&w.server, &analyst, "Which customers are big spenders?", false).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text);
    assert!(plain.json.get("knowledge").is_none(), "{}", plain.text);

    // The event stream's answer is explained too.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/ask", w.server.base))
        .bearer_auth(&analyst)
        .header("Accept", "text/event-stream")
        .json(&json!({"connection_id": "shop", "question": "Which customers are whales?", "explain": true}))
        .send()
        .await
        .expect("send");
    let stream = resp.text().await.expect("stream");
    let answer_event = stream
        .split("\n\n")
        .filter(|block| block.lines().any(|l| l == "event: answer"))
        .find_map(|block| block.lines().find_map(|l| l.strip_prefix("data: ")))
        .unwrap_or_else(|| panic!("an answer event: {stream}"));
    let answer_event: Value = serde_json::from_str(answer_event).expect("json");
    assert_eq!(answer_event["knowledge"]["terms"][0]["item"]["term"], "big spender", "by its synonym: {answer_event}");

    // The analyst may search; the term comes first.
    let found = search(&w.server, &analyst, "shop", "list the big spenders").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(scored(&found.json["glossary"])[0].0["term"], "big spender");
    assert_eq!(found.json["semantic"], false);

    // Removed: gone from the list and from the next prompt at once.
    let gone = w.server.request(Method::DELETE, &format!("/api/v1/knowledge/{id}"), Some(&w.admin), None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    let before = llm.requests().len();
    let r = ask(&w.server, &analyst, "Which customers are big spenders?", true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let text = prompt(&llm, before);
    assert!(!text.contains(SPENDER_SQL) && !text.contains("Business terms"), "{text}");
    assert_eq!(r.json["knowledge"]["terms"], json!([]));

    // Audited with kind and name, not the definition.
    let added = audit_rows(&w, "knowledge.add").await;
    assert_eq!(added.len(), 2);
    assert_eq!(added[0]["new_values"]["kind"], "glossary");
    assert_eq!(added[0]["new_values"]["name"], "big spender");
    assert_eq!(
        (added[0]["new_values"]["created"].as_bool(), added[1]["new_values"]["created"].as_bool()),
        (Some(false), Some(true))
    );
    assert!(!added[0].to_string().contains("at least five"), "{}", added[0]);
    let removed = audit_rows(&w, "knowledge.remove").await;
    assert_eq!((removed.len(), removed[0]["resource_id"].as_str()), (1, Some(id.as_str())));
}

/// A raw request with a body of `len` bytes (the client may not finish sending it: the server answers first).
async fn oversized(server: &Server, token: &str, path: &str, len: usize) -> String {
    let addr = server.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    tokio::spawn(async move {
        let _ = write.write_all(head.as_bytes()).await;
        let _ = write.write_all(&vec![b' '; len]).await;
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), read.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Roles, grants and bodies: only admins write; a connection the caller may not ask on is 404; malformed bodies
/// are coded 400s, out-of-bounds items 422 `invalid_knowledge`, bodies too large 413; nothing bad is stored.
async fn knowledge_routes_check_roles_grants_and_bodies() {
    let llm = ScriptedLlm::start(vec![]).await;
    let w = world_on(&llm, false, |_| {}).await;
    let (_, user) = member(&w, "user@example.com", "user", "shop", Some(json!({}))).await;
    let (_, viewer) =
        member(&w, "viewer@example.com", "viewer", "shop", Some(json!({"allowed_tables": ["orders"]}))).await;
    let (_, outsider) = member(&w, "outsider@example.com", "user", "shop", None).await;
    let term = json!({"connection": "shop", "kind": "glossary", "term": "repeat buyer", "definition": "a customer with two orders or more"});

    let stored = add(&w.server, &w.admin, term.clone()).await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.text);
    let id = stored.json["id"].as_str().expect("id").to_string();

    // Writing is for admins.
    for token in [&user, &viewer, &outsider] {
        let r = add(&w.server, token, term.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{}", r.text);
        let r = w.server.request(Method::DELETE, &format!("/api/v1/knowledge/{id}"), Some(token), None).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{}", r.text);
    }
    // Reading is for whoever may ask on the connection; to anyone else it does not exist.
    for token in [&user, &viewer] {
        let r = w.server.get("/api/v1/knowledge?connection=shop&kind=glossary", token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(search(&w.server, token, "shop", "repeat buyers").await.status, StatusCode::OK);
    }
    let r = w.server.get("/api/v1/knowledge?connection=shop", &outsider).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", r.text);
    let r = search(&w.server, &outsider, "shop", "repeat buyers").await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", r.text);
    assert!(!r.text.contains("repeat buyer"));
    let r = w.server.request(Method::GET, "/api/v1/knowledge?connection=shop", None, None).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"));

    // Queries: a connection is required, kinds are the three, nothing else is accepted.
    for (path, status, code) in [
        ("/api/v1/knowledge", 400, "invalid_argument"),
        ("/api/v1/knowledge?connection=shop&kind=faq", 400, "invalid_argument"),
        ("/api/v1/knowledge?connection=shop&limit=5", 400, "invalid_argument"),
        ("/api/v1/knowledge?connection=nope", 404, "not_found"),
        ("/api/v1/knowledge/search?connection=shop", 400, "invalid_argument"),
        ("/api/v1/knowledge/search?q=orders", 400, "invalid_argument"),
        ("/api/v1/knowledge/search?connection=nope&q=orders", 404, "not_found"),
    ] {
        let r = w.server.get(path, &w.admin).await;
        assert_eq!((r.status.as_u16(), r.code()), (status, code), "{path}: {}", r.text);
    }

    // Bodies.
    let long_term = "t".repeat(201);
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"connection": "shop", "kind": "faq", "term": "x", "definition": "y"}), 400, "invalid_argument"),
        (json!({"connection": "shop", "term": "x", "definition": "y"}), 400, "invalid_argument"),
        (json!({"kind": "glossary", "term": "x", "definition": "y"}), 400, "invalid_argument"),
        (json!({"connection": "nope", "kind": "glossary", "term": "x", "definition": "y"}), 404, "not_found"),
        (
            json!({"connection": "shop", "kind": "glossary", "term": "x", "definition": "y", "synonym": ["z"]}),
            400,
            "invalid_argument",
        ),
        (json!({"connection": "shop", "kind": "glossary", "term": "x", "definition": 5}), 400, "invalid_argument"),
        (json!({"connection": "shop", "kind": "description", "table": "orders"}), 400, "invalid_argument"),
        (
            json!({"connection": "shop", "kind": "document", "title": "t", "text": "x", "table": "orders"}),
            400,
            "invalid_argument",
        ),
        (
            json!({"connection": "shop", "kind": "glossary", "term": long_term, "definition": "y"}),
            422,
            "invalid_knowledge",
        ),
        (json!({"connection": "shop", "kind": "glossary", "term": "just a word"}), 422, "invalid_knowledge"),
        (json!({"connection": "shop", "kind": "glossary", "term": "!!!", "definition": "y"}), 422, "invalid_knowledge"),
        (
            json!({"connection": "shop", "kind": "glossary", "term": "x", "definition": "y", "sql": "  "}),
            422,
            "invalid_knowledge",
        ),
        (
            json!({"connection": "shop", "kind": "description", "table": "orders", "text": "   "}),
            422,
            "invalid_knowledge",
        ),
        (
            json!({"connection": "shop", "kind": "description", "table": "or\nders", "text": "t"}),
            422,
            "invalid_knowledge",
        ),
        (json!({"connection": "shop", "kind": "document", "title": "", "text": "x"}), 422, "invalid_knowledge"),
    ];
    for (body, status, code) in cases {
        let r = add(&w.server, &w.admin, body.clone()).await;
        assert_eq!((r.status.as_u16(), r.code()), (status, code), "{body}: {}", r.text);
        assert!(r.text.len() < 600, "a short message, not the input echoed: {}", r.text);
    }
    // A document one byte over 1 MiB: the body (over the server's usual 1 MiB) is read, the validator refuses it.
    let big = json!({"connection": "shop", "kind": "document", "title": "big", "text": "x".repeat((1 << 20) + 1)});
    let r = add(&w.server, &w.admin, big).await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_knowledge"), "{:.300}", r.text);
    // Exactly 1 MiB is accepted.
    let exact =
        json!({"connection": "shop", "kind": "document", "title": "exact", "text": "word ".repeat((1 << 20) / 5)});
    let r = add(&w.server, &w.admin, exact).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:.300}", r.text);
    // A body far over any document: 413 before it is read.
    let answer = oversized(&w.server, &w.admin, "/api/v1/knowledge", 5 << 20).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:.300}");
    assert!(answer.contains("payload_too_large"), "{answer:.300}");

    let listed = w.server.get("/api/v1/knowledge?connection=shop", &w.admin).await;
    let names: Vec<&str> =
        listed.json["items"].as_array().expect("items").iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(names, vec!["repeat buyer", "exact"], "nothing refused was stored");
    let docs = w.server.get("/api/v1/knowledge?connection=shop&kind=document", &w.admin).await;
    assert_eq!(docs.json["items"].as_array().map(Vec::len), Some(1));

    // Removing: 404 for an unknown id, and for one already removed.
    let r = w.server.request(Method::DELETE, "/api/v1/knowledge/no-such-item", Some(&w.admin), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", r.text);
    let path = format!("/api/v1/knowledge/{id}");
    assert_eq!(w.server.request(Method::DELETE, &path, Some(&w.admin), None).await.status, StatusCode::NO_CONTENT);
    let r = w.server.request(Method::DELETE, &path, Some(&w.admin), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", r.text);
    assert_eq!(audit_rows(&w, "knowledge.add").await.len(), 2, "refused writes are not audited as adds");
    assert!(llm.requests().is_empty(), "no LLM call in any of this");
}

const HANDBOOK: &str = "# Shipping\n\
Parcels leave the warehouse within two working days; the courier scans each parcel at pickup.\n\
\n\
# Refunds\n\
A refund is recorded as an extra order row with a negative quantity for the same product and customer. \
Net quantity therefore subtracts refunded units.\n\
\n\
# Loyalty programme\n\
Members collect one stamp per purchase; ten stamps earn a free coffee.\n";

/// A document added over the API is cut at its headings; a search finds the right piece for a relevant question and
/// nothing for an unrelated one; a question gets that piece in its prompt, not the others.
async fn a_document_is_chunked_and_searched() {
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql("SELECT SUM(quantity) AS net FROM orders"))).await;
    let w = world_on(&llm, false, |_| {}).await;
    let (_, user) = member(&w, "user@example.com", "user", "shop", Some(json!({}))).await;
    let doc = json!({"connection": "shop", "kind": "document", "title": "Shop handbook", "text": HANDBOOK});
    let r = add(&w.server, &w.admin, doc).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["body"]["text"], HANDBOOK, "stored as sent");

    let found = search(&w.server, &user, "shop", "how are refunds recorded?").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    let chunks = scored(&found.json["chunks"]);
    assert!(!chunks.is_empty(), "{}", found.text);
    let (chunk, score, how) = chunks[0];
    assert_eq!((chunk["document"].as_str(), chunk["heading"].as_str()), (Some("Shop handbook"), Some("Refunds")));
    assert!(chunk["text"].as_str().is_some_and(|t| t.contains("negative quantity") && !t.contains("courier")));
    assert_eq!(chunk["ordinal"], 1);
    assert!(score >= 0.25 && how == "lexical", "{score} {how}");
    assert!(chunks.iter().all(|(c, ..)| c["heading"] != "Loyalty programme"), "{}", found.text);

    let shipping = search(&w.server, &user, "shop", "when does the courier pick up parcels").await;
    assert_eq!(scored(&shipping.json["chunks"])[0].0["heading"], "Shipping", "{}", shipping.text);

    let unrelated = search(&w.server, &user, "shop", "what is the weather in Paris tomorrow").await;
    assert_eq!(unrelated.status, StatusCode::OK, "{}", unrelated.text);
    assert_eq!(
        (&unrelated.json["chunks"], &unrelated.json["glossary"], &unrelated.json["examples"]),
        (&json!([]), &json!([]), &json!([])),
        "{}",
        unrelated.text
    );

    let r = ask(&w.server, &user, "What is the net quantity after refunds?", true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let text = prompt(&llm, 0);
    assert!(text.contains("Documentation excerpts") && text.contains("Shop handbook › Refunds"), "{text}");
    assert!(text.contains("negative quantity"), "{text}");
    assert!(!text.contains("courier") && !text.contains("stamp"), "only the relevant piece: {text}");
    assert_eq!(r.json["knowledge"]["chunks"][0]["item"]["heading"], "Refunds");
}

async fn verify(server: &Server, id: &str, token: &str, body: Value) -> Reply {
    server.request(Method::POST, &format!("/api/v1/history/{id}/verify"), Some(token), Some(body)).await
}

const PER_CUSTOMER: &str = "SELECT customer_id, COUNT(*) AS order_count FROM orders GROUP BY customer_id";

/// A question marked right becomes a verified example in the prompts of later questions like it; only its asker or
/// an admin may mark it (others: 404); a failed question cannot be marked; withdrawing the mark removes it at once.
async fn a_verified_answer_becomes_an_example_until_withdrawn() {
    let llm = ScriptedLlm::start(vec![
        sql(PER_CUSTOMER),
        reply("I cannot tell from this schema."),
        sql(PER_CUSTOMER),
        sql(PER_CUSTOMER),
    ])
    .await;
    let w = world_on(&llm, false, |env| env.set("DATAGENIE_ASK__MAX_ATTEMPTS", "1")).await;
    let (user_id, user) = member(&w, "user@example.com", "user", "shop", Some(json!({}))).await;
    let (_, other) = member(&w, "other@example.com", "user", "shop", Some(json!({}))).await;
    let admin_id = w.server.get("/api/v1/me", &w.admin).await.json["id"].as_str().expect("admin id").to_string();

    let asked = ask(&w.server, &user, "How many orders did each customer place?", false).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    let h = asked.json["history_id"].as_str().expect("history").to_string();
    let failed = ask(&w.server, &user, "What is the meaning of the data?", false).await;
    assert_eq!(failed.code(), "llm_no_sql", "{}", failed.text);
    let failed_id = failed.json["history_id"].as_str().expect("recorded").to_string();

    // Someone else's question does not exist for them; a failed question cannot be marked; bodies are checked.
    let r = verify(&w.server, &h, &other, json!({"verified": true})).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", r.text);
    let r = verify(&w.server, "no-such-entry", &user, json!({"verified": true})).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", r.text);
    let r = verify(&w.server, &failed_id, &user, json!({"verified": true})).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_argument"), "{}", r.text);
    let r = verify(&w.server, &h, &user, json!({"verified": "yes"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_argument"), "{}", r.text);
    let r = verify(&w.server, &h, &user, json!({"verified": true, "note": "x"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_argument"), "{}", r.text);
    let entry = w.server.get(&format!("/api/v1/history/{h}"), &user).await;
    assert!(entry.json["verified_at"].is_null(), "nothing was marked: {}", entry.text);

    let r = verify(&w.server, &h, &user, json!({"verified": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.json["id"].as_str(), r.json["verified_by"].as_str()), (Some(h.as_str()), Some(user_id.as_str())));
    assert!(r.json["verified_at"].is_string(), "{}", r.text);

    // A paraphrase, right away (no waiting for the library to notice): the pair is in the prompt.
    let r = ask(&w.server, &other, "How many orders did every customer place?", true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let text = prompt(&llm, 2);
    assert!(text.contains("Verified examples"), "{text}");
    assert!(text.contains("question: How many orders did each customer place?"), "{text}");
    assert!(text.contains(&format!("SQL: {PER_CUSTOMER}")), "{text}");
    let examples = scored(&r.json["knowledge"]["examples"]);
    assert_eq!(examples.len(), 1, "{}", r.text);
    assert_eq!(examples[0].0["origin"], json!({"kind": "history", "id": h}));

    // An admin may mark anyone's; then withdraws it: the next prompt has no example.
    let r = verify(&w.server, &h, &w.admin, json!({})).await;
    assert_eq!((r.status, r.json["verified_by"].as_str()), (StatusCode::OK, Some(admin_id.as_str())), "{}", r.text);
    let r = verify(&w.server, &h, &user, json!({"verified": false})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["verified_by"].is_null() && r.json["verified_at"].is_null(), "{}", r.text);
    let r = ask(&w.server, &other, "How many orders did every customer place?", true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let text = prompt(&llm, 3);
    assert!(!text.contains("Verified examples") && !text.contains("each customer place"), "{text}");
    assert_eq!(r.json["knowledge"]["examples"], json!([]));

    let rows = audit_rows(&w, "history.verify").await;
    assert_eq!(rows.len(), 3, "only the changes that happened");
    assert_eq!(rows[0]["new_values"], json!({"verified": false}));
    assert_eq!(rows[0]["old_values"], json!({"verified": true}));
    assert_eq!(rows[2]["user_id"], user_id.as_str());
}

const FRUITS: [&str; 30] = [
    "apple",
    "banana",
    "cherry",
    "damson",
    "elderberry",
    "fig",
    "grape",
    "guava",
    "kiwi",
    "lemon",
    "lime",
    "lychee",
    "mango",
    "melon",
    "nectarine",
    "olive",
    "orange",
    "papaya",
    "peach",
    "pear",
    "persimmon",
    "plum",
    "pomelo",
    "quince",
    "raspberry",
    "rhubarb",
    "satsuma",
    "tangerine",
    "ugli",
    "yuzu",
];

/// Thirty verified answers: a paraphrase of one of them is given that one — first, and alone — not the others.
async fn the_right_example_is_picked_among_thirty() {
    let mut steps: Vec<Step> = FRUITS
        .iter()
        .enumerate()
        .map(|(i, f)| sql(&format!("SELECT COUNT(*) AS {f}_count FROM orders WHERE quantity > {i}")))
        .collect();
    steps.push(sql("SELECT COUNT(*) AS mango_count FROM orders WHERE quantity > 12"));
    let llm = ScriptedLlm::start(steps).await;
    let w = world_on(&llm, false, |_| {}).await;
    let (_, user) = member(&w, "user@example.com", "user", "shop", Some(json!({}))).await;
    for fruit in FRUITS {
        let r = ask(&w.server, &user, &format!("How many {fruit} orders were shipped?"), false).await;
        assert_eq!(r.status, StatusCode::OK, "{fruit}: {}", r.text);
        let h = r.json["history_id"].as_str().expect("history");
        let v = w.server.post(&format!("/api/v1/history/{h}/verify"), &user, json!({"verified": true})).await;
        assert_eq!(v.status, StatusCode::OK, "{}", v.text);
    }
    let r = ask(&w.server, &user, "Count the shipped mango orders", true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let examples = scored(&r.json["knowledge"]["examples"]);
    assert_eq!(examples.len(), 1, "only the one that fits: {}", r.json["knowledge"]["examples"]);
    assert_eq!(examples[0].0["question"], "How many mango orders were shipped?");
    let text = prompt(&llm, FRUITS.len());
    assert!(text.contains("AS mango_count FROM orders WHERE quantity > 12"), "{text}");
    for other in FRUITS.iter().filter(|f| **f != "mango") {
        assert!(!text.contains(&format!("{other}_count")), "{other} is not an example here: {text}");
    }
}

const SEOUL: &str = "SELECT COUNT(*) AS n FROM customers WHERE city = '서울'";
const JANUARY: &str = "SELECT COUNT(*) AS n FROM orders WHERE order_date LIKE '2024-01-%'";

/// A search shows only the examples the caller could be shown in a prompt: not one whose SQL their grant refuses
/// (nor does their prompt get it), not a private template.
async fn a_search_shows_only_examples_the_caller_may_see() {
    let llm = ScriptedLlm::start(vec![sql(JANUARY), sql(SEOUL), sql("SELECT COUNT(*) AS n FROM orders")]).await;
    let w = world_on(&llm, false, |_| {}).await;
    let (_, user) = member(&w, "user@example.com", "user", "shop", Some(json!({}))).await;
    let (_, other) = member(&w, "other@example.com", "user", "shop", Some(json!({}))).await;
    let (_, viewer) =
        member(&w, "viewer@example.com", "viewer", "shop", Some(json!({"allowed_tables": ["orders"]}))).await;

    // The template first: a verified template is seen by the library at its next check (within 2 s, no sooner);
    // marking an answer right below makes it look again at once.
    let january = ask(&w.server, &user, "How many orders were placed in January?", false).await;
    let jh = january.json["history_id"].as_str().expect("history").to_string();
    let t = w.server.post("/api/v1/templates", &user, json!({"history_id": jh, "name": "january orders"})).await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.text);
    let tid = t.json["id"].as_str().expect("template").to_string();
    let v = w.server.post(&format!("/api/v1/templates/{tid}/verify"), &w.admin, json!({})).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);

    let seoul = ask(&w.server, &user, "How many customers live in Seoul?", false).await;
    assert_eq!(seoul.status, StatusCode::OK, "{}", seoul.text);
    let h = seoul.json["history_id"].as_str().expect("history").to_string();
    assert_eq!(verify(&w.server, &h, &user, json!({"verified": true})).await.status, StatusCode::OK);
    let examples = |r: &Reply| -> Vec<Value> {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        scored(&r.json["examples"]).into_iter().map(|(item, ..)| item.clone()).collect()
    };
    // The customers example: the user and anyone granted customers see it; the viewer (orders only) does not.
    let theirs = examples(&search(&w.server, &user, "shop", "how many customers live in Seoul").await);
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!((theirs[0]["sql"].as_str(), &theirs[0]["origin"]), (Some(SEOUL), &json!({"kind": "history", "id": h})));
    assert_eq!(examples(&search(&w.server, &other, "shop", "how many customers live in Seoul").await).len(), 1);
    let found = search(&w.server, &viewer, "shop", "how many customers live in Seoul").await;
    assert_eq!(examples(&found), Vec::<Value>::new());
    assert!(!found.text.contains("customers WHERE"), "{}", found.text);
    // Nor is it in the viewer's prompt.
    let r = ask(&w.server, &viewer, "How many customers live in Busan?", true).await;
    let text = prompt(&llm, 2);
    assert!(!text.contains("customers WHERE city") && !text.contains("live in Seoul"), "{text}");
    assert!(r.json["knowledge"]["examples"].as_array().is_none_or(Vec::is_empty), "{}", r.text);

    // A private template is no one's example, its owner's included (it still answers questions that match it).
    for who in [&user, &w.admin, &other] {
        let found = examples(&search(&w.server, who, "shop", "how many orders were placed in January").await);
        assert_eq!(found, Vec::<Value>::new());
    }
    // Shared and verified, it is everyone's who may run its SQL.
    let t = w
        .server
        .post("/api/v1/templates", &user, json!({"history_id": jh, "name": "january orders, shared", "public": true}))
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.text);
    let shared = t.json["id"].as_str().expect("template").to_string();
    let v = w.server.post(&format!("/api/v1/templates/{shared}/verify"), &w.admin, json!({})).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);
    let theirs = examples(&search(&w.server, &other, "shop", "how many orders were placed in January").await);
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0]["origin"], json!({"kind": "template", "id": shared, "name": "january orders, shared"}));
}

/// Words of a text as the scripted embeddings endpoint counts them (its `usage.prompt_tokens`).
fn words(text: &str) -> u64 {
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).count() as u64
}

/// With an embeddings endpoint: a document sharing no word with the question, only its meaning (refunds and
/// returns), is found and quoted; the embedding calls are made and their tokens counted in the question's usage.
/// With the endpoint failing, questions are still answered, on lexical retrieval alone.
async fn embeddings_find_meaning_without_shared_words_and_failures_fall_back() {
    let answer = "SELECT COUNT(*) AS n FROM orders WHERE quantity < 0";
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql(answer))).await;
    let w = world_on(&llm, true, |_| {}).await;
    let (_, user) = member(&w, "user@example.com", "user", "shop", Some(json!({}))).await;
    let text = "Returned goods are booked as 반품 환불, never deleted.";
    let doc =
        json!({"connection": "shop", "kind": "document", "title": "Returns", "text": format!("# Returns\n{text}\n")});
    assert_eq!(add(&w.server, &w.admin, doc).await.status, StatusCode::CREATED);
    let question = "List refunds";
    assert!(similarity(question, &format!("Returns\n\n{text}")) > 0.5, "the scripted embedder relates them");

    let r = ask(&w.server, &user, question, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let chunks = scored(&r.json["knowledge"]["chunks"]);
    assert_eq!(chunks.len(), 1, "{}", r.json["knowledge"]);
    assert_eq!((chunks[0].0["heading"].as_str(), chunks[0].2), (Some("Returns"), "semantic"));
    assert!(chunks[0].1 > 0.5, "{}", chunks[0].1);
    assert!(prompt(&llm, 0).contains("반품 환불"), "quoted in the prompt: {}", prompt(&llm, 0));
    // The chunk was embedded once (building the index), then the question.
    let embedded = llm.embedded_texts();
    assert_eq!(embedded.len(), 2, "{embedded:?}");
    assert!(embedded[0].contains("반품 환불") && embedded[1] == question, "{embedded:?}");
    let embedding_tokens: u64 = embedded.iter().map(|t| words(t)).sum();
    assert_eq!(r.json["usage"]["prompt_tokens"].as_u64(), Some(100 + embedding_tokens), "{}", r.json["usage"]);
    assert_eq!(r.json["usage"]["completion_tokens"].as_u64(), Some(20));
    let requests = llm.embedding_requests();
    assert_eq!(requests[0].body["model"], "test-embedding");
    assert!(
        requests[0]
            .headers
            .get("authorization")
            .is_some_and(|v| v.to_str().unwrap_or("").ends_with("sk-test-SECRET-123")),
        "the LLM's key by default"
    );

    // Search: the same semantic hit; only the question is embedded now (the chunk's vector is kept).
    let found = search(&w.server, &user, "shop", question).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(
        (found.json["semantic"].as_bool(), found.json["embedding_tokens"].as_u64()),
        (Some(true), Some(words(question)))
    );
    assert_eq!(scored(&found.json["chunks"])[0].2, "semantic");
    assert_eq!(llm.embedded_texts().len(), 3);

    // The endpoint fails: the question is answered anyway, lexically — the meaning-only document is not found.
    llm.set_embeddings(Embeddings::Status(400, "{\"error\": {\"message\": \"model overloaded\"}}".into()));
    let before = llm.requests().len();
    let r = ask(&w.server, &user, question, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["knowledge"]["chunks"], json!([]), "{}", r.json["knowledge"]);
    assert!(!prompt(&llm, before).contains("반품"), "{}", prompt(&llm, before));
    assert_eq!(r.json["usage"]["prompt_tokens"].as_u64(), Some(100), "nothing counted for a failed call");
    let found = search(&w.server, &user, "shop", question).await;
    assert_eq!((found.status, found.json["semantic"].as_bool()), (StatusCode::OK, Some(false)), "{}", found.text);

    // A new document while it fails: the index is rebuilt without vectors, and a word it shares is still found.
    let doc = json!({"connection": "shop", "kind": "document", "title": "Refund desk", "text": "Refunds are approved by the desk manager."});
    assert_eq!(add(&w.server, &w.admin, doc).await.status, StatusCode::CREATED);
    let before = llm.requests().len();
    let r = ask(&w.server, &user, question, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(prompt(&llm, before).contains("approved by the desk manager"), "{}", prompt(&llm, before));
    assert_eq!(scored(&r.json["knowledge"]["chunks"])[0].2, "lexical");
    assert!(w.server.log().contains("lexical retrieval only"), "the failure is logged");
    assert!(!w.server.log().contains("sk-test-SECRET-123"));
}

/// A customer database where the sought person is not among the sampled values: only value linking could show them.
fn crm_db(path: &std::path::Path) {
    let c = rusqlite::Connection::open(path).expect("create");
    c.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, city TEXT);
         INSERT INTO customers VALUES
           (1, 'Minji Kim', 'minji@example.com', 'Seoul'), (2, 'Jisoo Lee', 'jisoo@example.com', 'Busan'),
           (3, 'Hana Choi', 'hana@example.com', 'Incheon'), (4, 'Dami Jung', 'dami@example.com', 'Daegu'),
           (5, 'Sora Kang', 'sora@example.com', 'Daejeon'), (6, 'Yuna Cho', 'yuna@example.com', 'Gwangju'),
           (7, 'Nari Yoon', 'nari@example.com', 'Ulsan'), (8, 'Bora Jang', 'bora@example.com', 'Suwon'),
           (9, 'Yoonseo Hwang', 'yoonseo@example.com', 'Gangneung');",
    )
    .expect("fill");
}

/// A personal-data column's values never reach the prompt of an asker who may not unmask, even when the question
/// nearly spells one; a non-personal column's value is linked for them (value linking works); with `can_unmask` the
/// personal value is linked too.
async fn personal_values_stay_out_of_the_prompt_without_unmask() {
    let answer = "SELECT city FROM customers WHERE name = 'Yoonseo Hwang'";
    let llm = ScriptedLlm::start_with_fallback(vec![], Some(sql(answer))).await;
    let w = world_on(&llm, false, |_| {}).await;
    crm_db(&w.env.path("crm.db"));
    let c = w
        .server
        .post(
            "/api/v1/connections",
            &w.admin,
            json!({"name": "crm", "url": w.env.path("crm.db").display().to_string()}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let (_, masked) = member(&w, "masked@example.com", "user", "crm", Some(json!({}))).await;
    let (_, unmasked) = member(&w, "unmasked@example.com", "user", "crm", Some(json!({"can_unmask": true}))).await;
    let schema = w.server.get("/api/v1/connections/crm/schema", &w.admin).await;
    let pii = schema.json["pii"].as_array().expect("pii").clone();
    assert!(pii.iter().any(|p| p["column"] == "name" && p["kind"] == "person_name"), "{pii:?}");

    let question = "Which city is yoonseo hwangg from, in gangneung?";
    let r = ask_on(&w.server, &masked, "crm", question, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let text = prompt(&llm, 0);
    assert!(text.contains("'Gangneung'"), "a non-personal value is linked: {text}");
    for hidden in ["Yoonseo", "Hwang", "yoonseo@example.com", "Minji Kim"] {
        assert!(!text.contains(hidden), "{hidden} reached the prompt of an asker who may not unmask:\n{text}");
    }
    let values = r.json["knowledge"]["values"].as_array().expect("values").clone();
    assert!(values.iter().all(|v| v["column"] != "name" && v["column"] != "email"), "{values:?}");
    assert!(!r.json["knowledge"].to_string().contains("Hwang"));

    let r = ask_on(&w.server, &unmasked, "crm", question, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let text = prompt(&llm, 1);
    assert!(text.contains("'Yoonseo Hwang'"), "linked for an asker who may unmask: {text}");
    let values = r.json["knowledge"]["values"].as_array().expect("values").clone();
    assert!(values.iter().any(|v| v["column"] == "name" && v["value"] == "Yoonseo Hwang"), "{values:?}");
}

pub fn tests() -> Group {
    Group::new("knowledge_api").tests(tests![
        a_glossary_term_reaches_the_prompt_and_the_explained_answer,
        knowledge_routes_check_roles_grants_and_bodies,
        a_document_is_chunked_and_searched,
        a_verified_answer_becomes_an_example_until_withdrawn,
        the_right_example_is_picked_among_thirty,
        a_search_shows_only_examples_the_caller_may_see,
        embeddings_find_meaning_without_shared_words_and_failures_fall_back,
        personal_values_stay_out_of_the_prompt_without_unmask,
    ])
}
