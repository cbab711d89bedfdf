//! The web UI in a real headless Chromium: Debian's `chromium` driven through `chromedriver` (W3C WebDriver) against
//! the real server. Switched on by `DATAGENIE_TEST_CHROMEDRIVER` (the chromedriver executable; `.ci/run` installs
//! the packages and sets it); without it the group shows one "skipped" line.
//!
//! The WebDriver client is the few commands these tests use, over reqwest: the fantoccini crate would add 23 crates
//! to the lock file (second copies of icu, http and thiserror among them) for the same handful of calls.
//! Waiting is the browser's own: an implicit wait for elements, and `wait_for`, a script that resolves when a
//! condition holds (checked on every DOM change) — never a sleep here.

use std::process::Stdio;
use std::time::Duration;

use datagenie_testkit::{Group, Server as Needed, tests};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::harness::Env;
use crate::scripted_llm::{ScriptedLlm, Step, reply, sql};
use crate::server::{ADMIN_EMAIL, ADMIN_PASSWORD, World, world, world_with};

/// Chromium through chromedriver, named by `DATAGENIE_TEST_CHROMEDRIVER`.
/// WebDriver's key codes.
pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";

pub const BROWSER: Needed =
    Needed { var: "DATAGENIE_TEST_CHROMEDRIVER", name: "Chromium (chromedriver)", example: "/usr/bin/chromedriver" };

/// The key of an element reference in WebDriver's JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process (killed when dropped) and one browser session on it.
pub struct Browser {
    _driver: tokio::process::Child,
    http: reqwest::Client,
    session: String,
}

impl Browser {
    /// Starts chromedriver on a free port, waits for its "started" line, and opens a headless session whose
    /// browser prefers `language`.
    pub async fn start(language: &str) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let mut driver = tokio::process::Command::new(BROWSER.admin_url())
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn chromedriver");
        let mut lines = BufReader::new(driver.stdout.take().expect("stdout")).lines();
        tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("read chromedriver") {
                if line.contains("started successfully") {
                    return;
                }
            }
            panic!("chromedriver ended before it started");
        })
        .await
        .expect("chromedriver starts within a minute");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let http = reqwest::Client::new();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": std::env::var("DATAGENIE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,900",
                         format!("--lang={language}")],
                "prefs": {"intl.accept_languages": language},
            },
        }}});
        let base = format!("http://127.0.0.1:{port}");
        let r = http.post(format!("{base}/session")).json(&caps).send().await.expect("new session");
        let status = r.status();
        let body: Value = r.json().await.expect("session json");
        assert_eq!(status, StatusCode::OK, "{body}");
        let id = body["value"]["sessionId"].as_str().expect("sessionId");
        let b = Browser { _driver: driver, http, session: format!("{base}/session/{id}") };
        b.call("POST", "/timeouts", json!({"implicit": 15_000, "script": 30_000})).await;
        b
    }

    pub async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.session);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let r = req.send().await.expect("webdriver");
        let status = r.status();
        let v: Value = r.json().await.expect("webdriver json");
        assert!(status.is_success(), "{method} {path}: {v}");
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({"url": url})).await;
    }

    pub async fn reload(&self) {
        self.call("POST", "/refresh", json!({})).await;
    }

    /// The first element matching `css`, waiting for it (the implicit wait).
    pub async fn find(&self, css: &str) -> String {
        let v = self.call("POST", "/element", json!({"using": "css selector", "value": css})).await;
        v[ELEMENT].as_str().expect("element").to_string()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call("POST", &format!("/element/{e}/clear"), json!({})).await;
        self.call("POST", &format!("/element/{e}/value"), json!({"text": text})).await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call("POST", &format!("/element/{e}/click"), json!({})).await;
    }

    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/sync", json!({"script": script, "args": args})).await
    }

    /// The visible text of the first element matching `css` ("" when there is none).
    pub async fn text(&self, css: &str) -> String {
        let v =
            self.script("const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", json!([css]));
        v.await.as_str().unwrap_or_default().to_string()
    }

    /// Waits (in the page, on every DOM change, up to the script timeout) until the JavaScript expression `condition`
    /// is true.
    pub async fn wait_for(&self, condition: &str) {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             const ok = () => {{ try {{ return Boolean({condition}); }} catch (_) {{ return false; }} }};
             if (ok()) {{ done(true); return; }}
             const watch = new MutationObserver(() => {{ if (ok()) {{ watch.disconnect(); done(true); }} }});
             watch.observe(document, {{subtree: true, childList: true, characterData: true, attributes: true}});"
        );
        let v = self.call("POST", "/execute/async", json!({"script": script, "args": []})).await;
        assert_eq!(v, json!(true), "waiting for {condition}");
    }

    /// Saves a screenshot as `<DATAGENIE_SCREENSHOTS>/<name>.png` when that directory is set (the README's
    /// pictures: see `docs/`).
    pub async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("DATAGENIE_SCREENSHOTS") else { return };
        let png = self.call("GET", "/screenshot", Value::Null).await;
        let bytes = base64_decode(png.as_str().expect("base64"));
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), bytes).expect("write screenshot");
    }

    /// Key presses sent to whatever has the focus (WebDriver actions: what a keyboard does, nothing aimed at an
    /// element). `keys` are characters, WebDriver's codes among them (`TAB`, `ENTER`).
    pub async fn keys(&self, keys: &str) {
        let mut actions = Vec::new();
        for k in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": k.to_string()}));
            actions.push(json!({"type": "keyUp", "value": k.to_string()}));
        }
        self.call("POST", "/actions", json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}))
            .await;
    }

    /// The `id` (or, without one, the text) of the focused element.
    pub async fn focused(&self) -> String {
        let v = self
            .script("const e = document.activeElement; return e ? (e.id || e.innerText || e.tagName) : ''", json!([]));
        v.await.as_str().unwrap_or_default().to_string()
    }

    pub async fn window_size(&self, width: u32, height: u32) {
        self.call("POST", "/window/rect", json!({"width": width, "height": height})).await;
    }

    pub async fn close(self) {
        self.call("DELETE", "", Value::Null).await;
    }

    pub async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.goto(base).await;
        self.type_into("#email", email).await;
        self.type_into("#password", password).await;
        self.click("form.signin button[type=submit]").await;
        self.find("#question").await;
    }

    /// Asks `question` and waits until its answer (or failure) is complete — a new result, not there before, whose
    /// usage line is written or that shows an alert — and the page is done with it (the conversation list redrawn:
    /// the form is no longer `aria-busy`).
    pub async fn ask(&self, question: &str) {
        self.script(
            "document.querySelectorAll('.answer .result').forEach((r) => { r.dataset.seen = '1'; })",
            json!([]),
        )
        .await;
        self.type_into("#question", question).await;
        self.click("form.ask button[type=submit]").await;
        self.wait_for(
            "[...document.querySelectorAll('.answer .result:not([data-seen])')].some((r) => \
             r.querySelector('.usage')?.innerText.includes('ms') || r.querySelector('[role=alert]')) && \
             !document.querySelector('form.ask[aria-busy]')",
        )
        .await;
    }
}

/// Standard base64 (the screenshot), without a crate for it.
fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        acc = (acc << 6) | value(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).expect("a byte"));
        }
    }
    out
}

/// Sign in (a wrong password first), ask, and see the source, the SQL, the rows and the usage; a reload keeps the
/// login (the refresh cookie).
async fn signing_in_and_asking_shows_the_sql_and_the_rows() {
    let w = world().await;
    let b = Browser::start("en").await;
    b.goto(&w.server.base).await;
    b.type_into("#email", ADMIN_EMAIL).await;
    b.type_into("#password", "not the password").await;
    b.click("form.signin button[type=submit]").await;
    b.wait_for("document.querySelector('.signin [role=alert]:not([hidden])')").await;
    assert_eq!(b.text(".signin [role=alert]").await, "The email or password is wrong.");
    b.screenshot("sign-in").await;
    b.sign_in(&w.server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.ask("How many orders are there?").await;
    assert_eq!(b.text(".answer .result:last-child .source").await, "Answered by the built-in engine (no LLM)");
    assert!(
        b.text(".answer .result:last-child .sql code").await.starts_with("SELECT COUNT(*)"),
        "{}",
        b.text(".answer .result:last-child .sql").await
    );
    assert!(
        b.text(".answer .result:last-child table tbody").await.contains('6'),
        "{}",
        b.text(".answer .result:last-child table").await
    );
    assert_eq!(b.text("label[for=connection]").await, "Connection");
    // Marked as the right answer (the server's reply sets the state), then withdrawn.
    assert_eq!(b.text(".answer .result:last-child .verify").await, "Mark as the right answer");
    b.click(".answer .result:last-child .verify").await;
    b.wait_for("document.querySelector('.answer .result:last-child .verify[aria-pressed=true]:not([disabled])')").await;
    assert_eq!(b.text(".answer .result:last-child .verify").await, "✓ Marked as the right answer");
    b.click(".answer .result:last-child .verify").await;
    b.wait_for("document.querySelector('.answer .result:last-child .verify[aria-pressed=false]:not([disabled])')")
        .await;
    b.click(".answer .result:last-child .verify").await;
    b.wait_for("document.querySelector('.answer .result:last-child .verify[aria-pressed=true]:not([disabled])')").await;
    b.screenshot("answer").await;
    b.reload().await;
    b.find("#question").await;
    assert!(b.text("header .who").await.contains("admin"), "still signed in after a reload");
    b.click("#sign-out").await;
    b.find("#email").await;
    b.reload().await;
    b.find("#email").await;
    b.close().await;
}

/// A viewer granted one table asks about another: an alert that names the table; and nothing a user or a database
/// wrote runs as HTML (a question and a cell value carrying an `onerror` probe).
async fn refusals_are_named_and_text_stays_text() {
    let w: World = world().await;
    let (viewer_id, _) = w.user("viewer@example.com", "viewer").await;
    w.grant(&viewer_id, json!({"allowed_tables": ["orders", "products"]})).await;
    let probe = "<img src=x onerror=\"window.__probe = 1\">";
    let db = rusqlite::Connection::open(w.env.path("shop.db")).expect("open shop");
    db.execute("UPDATE products SET category = ?1 WHERE id = 3", [probe]).expect("plant the probe");
    drop(db);
    let b = Browser::start("en").await;
    b.sign_in(&w.server.base, "viewer@example.com", "password-of-user").await;
    b.ask("How many customers are there?").await;
    let alert = b.text(".answer .result:last-child [role=alert]").await;
    assert!(alert.starts_with("Not allowed") && alert.contains("customers"), "{alert}");
    b.screenshot("refusal").await;
    // In a question (the engine does not understand it: the failure shows it, as text).
    b.ask(&format!("{probe} How many products are there per category?")).await;
    assert!(b.text(".answer .result:last-child h2").await.starts_with(probe), "the question is shown as text");
    // In a cell value.
    b.ask("How many products are there per category?").await;
    assert!(
        b.text(".answer .result:last-child table").await.contains(probe),
        "{}",
        b.text(".answer .result:last-child").await
    );
    // The chart of the answer: the server's SVG, inline, with a text alternative; the probe in a label stays text.
    b.wait_for("document.querySelector('.answer .result:last-child .chart svg rect')").await;
    let label = b.script(
        "return document.querySelector('.answer .result:last-child .chart svg').getAttribute('aria-label')",
        json!([]),
    );
    let label = label.await;
    assert!(label.as_str().is_some_and(|a| a.starts_with("Chart: ")), "{label}");
    let svg_text = b.script(
        "const s = document.querySelector('.answer .result:last-child .chart svg'); \
         return s.querySelectorAll('img, script, foreignObject, [onerror], [href]').length",
        json!([]),
    );
    assert_eq!(svg_text.await, json!(0), "nothing in the chart can load or run");
    let injected = b.script(
        "return [window.__probe ?? null, document.querySelectorAll('.answer .result:last-child img[src=x]').length]",
        json!([]),
    );
    assert_eq!(injected.await, json!([null, 0]));
    b.close().await;
}

/// A browser that prefers Korean gets the Korean UI, and a question in Korean its answer.
async fn the_korean_ui() {
    let w = world().await;
    let b = Browser::start("ko").await;
    b.goto(&w.server.base).await;
    b.find("#email").await;
    assert_eq!(b.text("label[for=email]").await, "이메일");
    assert_eq!(b.text("form.signin button[type=submit]").await, "로그인");
    b.sign_in(&w.server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(b.text("label[for=question]").await, "질문");
    b.ask("주문은 몇 건인가요?").await;
    assert_eq!(b.text(".answer .result:last-child .source").await, "내장 엔진의 답 (LLM 없음)");
    assert!(
        b.text(".answer .result:last-child table tbody").await.contains('6'),
        "{}",
        b.text(".answer .result:last-child").await
    );
    b.screenshot("answer-ko").await;
    // The switch is remembered over the browser's preference.
    let picker = b.find("#language").await;
    b.call("POST", &format!("/element/{picker}/value"), json!({"text": "English"})).await;
    b.wait_for("document.querySelector('label[for=question]')?.innerText === 'Question'").await;
    b.reload().await;
    b.find("#question").await;
    assert_eq!(b.text("label[for=question]").await, "Question");
    b.close().await;
}

/// Questions open a conversation in the sidebar; a new one starts empty; an old one shows its earlier turns; it can be
/// renamed and deleted.
async fn conversations_keep_their_turns() {
    let w = world().await;
    let b = Browser::start("en").await;
    b.sign_in(&w.server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(b.text(".sessions .muted").await, "No conversations yet: your first question starts one.");
    b.ask("How many orders are there?").await;
    b.ask("How many products are there?").await;
    b.wait_for("document.querySelectorAll('.session-list .session-title').length === 1").await;
    assert_eq!(b.text(".session-list .session-title").await, "How many orders are there?");
    b.click("#new-conversation").await;
    b.wait_for("document.querySelectorAll('.answer .result').length === 0").await;
    b.click(".session-list .session-title").await;
    b.wait_for("document.querySelectorAll('.answer .result.past').length === 2").await;
    let turns =
        b.script("return [...document.querySelectorAll('.answer .result.past h2')].map((h) => h.innerText)", json!([]));
    assert_eq!(turns.await, json!(["How many orders are there?", "How many products are there?"]));
    // Rename, then delete (accepting the browser's confirmation).
    b.click(".session-actions button:first-child").await;
    b.type_into(".rename input", "Order counts").await;
    b.click(".rename button[type=submit]").await;
    b.wait_for("document.querySelector('.session-list .session-title')?.innerText === 'Order counts'").await;
    b.click(".session-actions button:last-child").await;
    b.call("POST", "/alert/accept", json!({})).await;
    b.wait_for("document.querySelector('.sessions .muted') !== null").await;
    let listed = w.server.get("/api/v1/sessions", &w.admin).await;
    assert_eq!(listed.json["items"], json!([]), "{}", listed.text);
    b.close().await;
}

/// With an LLM: the answer arrives as the server streams it — its SQL is on screen before the summary has been
/// written (the scripted summary is slow) — and a follow-up in the same conversation carries the first turn to the
/// LLM. A summary carrying an `onerror` probe is shown as text. A question whose attempts all fail lists them.
async fn a_streamed_answer_shows_its_sql_before_its_summary_and_a_follow_up_stays_in_the_conversation() {
    let probe = "<img src=x onerror=\"window.__probe = 2\">";
    let llm = ScriptedLlm::start(vec![
        sql("SELECT customer_id, COUNT(*) AS orders FROM orders GROUP BY customer_id"),
        Step::Slow(Duration::from_millis(1500), format!("Customer counts differ. {probe}")),
        sql("SELECT customer_id, COUNT(*) AS orders FROM orders WHERE order_date >= '2024-02-01' GROUP BY customer_id"),
        reply("Fewer orders since February."),
        sql("SELECT most_expensive FROM orders"),
        sql("SELECT customer_id FROM orders WHERE price = (SELECT MAX(price) FROM nowhere)"),
    ])
    .await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_ASK__SUMMARY", "true");
    env.set("DATAGENIE_ASK__MAX_ATTEMPTS", "2");
    let w = world_with(env).await;
    let b = Browser::start("en").await;
    b.sign_in(&w.server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // Note the moment each part of the coming answer first shows.
    b.script(
        "window.__seen = {}; new MutationObserver(() => { const r = document.querySelector('.answer .result'); \
         if (!r) return; for (const part of ['sql', 'rows', 'summary']) { const e = r.querySelector('.' + part); \
         if (e && !e.hidden && !(part in window.__seen)) window.__seen[part] = performance.now(); } }) \
         .observe(document, {subtree: true, childList: true, attributes: true})",
        json!([]),
    )
    .await;
    b.ask("orders per customer").await;
    let seen = b.script("return window.__seen", json!([])).await;
    let at = |part: &str| seen[part].as_f64().unwrap_or_else(|| panic!("{part} never showed: {seen}"));
    assert!(at("sql") < at("summary") && at("rows") < at("summary"), "SQL and rows before the summary: {seen}");
    let source = b.text(".answer .result:last-child .source").await;
    assert!(source.starts_with("Written by the LLM"), "{source}");
    let summary = b.text(".answer .result:last-child .summary p").await;
    assert_eq!(summary, format!("Customer counts differ. {probe}"), "the summary as text");
    b.screenshot("answer-llm").await;
    // The follow-up, in the same conversation.
    b.ask("now only from February").await;
    assert_eq!(b.text(".answer .result:last-child .summary p").await, "Fewer orders since February.");
    let results = b.script("return document.querySelectorAll('.answer .result').length", json!([]));
    assert_eq!(results.await, json!(2));
    b.wait_for("document.querySelectorAll('.session-list .session-title').length === 1").await;
    let prompts = llm.requests();
    assert_eq!(prompts.len(), 4, "two SQL calls and two summaries");
    assert!(prompts[2].text().contains("orders per customer"), "the follow-up carries the first turn");
    // A question whose every attempt fails shows each attempt and why, then the failure.
    b.ask("which customers ordered the most expensive product").await;
    let attempts = b.script(
        "return [...document.querySelectorAll('.answer .result:last-child .attempt')].map((a) => a.innerText)",
        json!([]),
    );
    let attempts = attempts.await;
    let listed = attempts.as_array().expect("attempts");
    assert_eq!(listed.len(), 2, "{attempts}");
    assert!(listed.iter().all(|a| a.as_str().is_some_and(|a| a.contains("This attempt failed"))), "{attempts}");
    assert!(b.text(".answer .result:last-child [role=alert]").await.starts_with("No answer"));
    let injected =
        b.script("return [window.__probe ?? null, document.querySelectorAll('.summary img').length]", json!([]));
    assert_eq!(injected.await, json!([null, 0]));
    b.close().await;
}

/// A new conversation suggests questions the built-in engine answers; choosing one asks it. An answer saved as a
/// verified template becomes the first suggestion, and asking it again is answered by the template.
async fn suggestions_start_a_conversation_and_saved_templates_join_them() {
    let w = world().await;
    let b = Browser::start("en").await;
    b.sign_in(&w.server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_for("document.querySelectorAll('.suggestions button.suggestion').length >= 2").await;
    let listed = b.script(
        "return [...document.querySelectorAll('.suggestions button.suggestion')].map((s) => s.innerText)",
        json!([]),
    );
    let listed = listed.await;
    assert!(
        listed.as_array().is_some_and(|l| l.iter().all(|q| q.as_str().is_some_and(|q| q.ends_with('?')))),
        "{listed}"
    );
    let first = listed[0].as_str().expect("a suggestion").to_string();
    b.script("document.querySelectorAll('.answer .result').forEach((r) => { r.dataset.seen = '1'; })", json!([])).await;
    b.click(".suggestions button.suggestion").await;
    b.wait_for("document.querySelector('.answer .result[data-state=answered]') && !document.querySelector('form.ask[aria-busy]')").await;
    assert_eq!(b.text(".answer .result h2").await, first);
    assert_eq!(b.text(".answer .result .source").await, "Answered by the built-in engine (no LLM)");
    assert_eq!(b.text(".suggestions").await, "", "suggestions go once the conversation has started");
    // Save it as a verified template.
    b.click(".answer .result .save-template button").await;
    b.type_into(".template-form input[type=text]", "Order count").await;
    b.click(".template-form button[type=submit]").await;
    b.wait_for("document.querySelector('.save-template .saved')").await;
    assert_eq!(b.text(".save-template .saved").await, "Saved as the template “Order count”.");
    b.click("#new-conversation").await;
    b.wait_for("document.querySelector('.suggestions button.suggestion[data-source=template]')").await;
    assert_eq!(b.text(".suggestions button.suggestion").await, first, "the template comes first");
    b.click(".suggestions button.suggestion").await;
    b.wait_for("document.querySelector('.answer .result[data-state=answered]') && !document.querySelector('form.ask[aria-busy]')").await;
    assert_eq!(b.text(".answer .result .source").await, "Answered by the verified template “Order count”");
    // The suggestions in Korean.
    let picker = b.find("#language").await;
    b.call("POST", &format!("/element/{picker}/value"), json!({"text": "한국어"})).await;
    b.click("#new-conversation").await;
    b.wait_for("[...document.querySelectorAll('.suggestions button.suggestion[data-source=schema]')].some((s) => /[가-힣]/.test(s.innerText))").await;
    b.close().await;
}

/// History: an admin sees everyone's questions, a viewer only their own; search and the status filter narrow the
/// list; an entry opens again with its rows; "Ask again" asks it on the main screen.
async fn history_is_searched_opened_and_asked_again() {
    let w = world().await;
    let (viewer_id, viewer) = w.user("viewer@example.com", "viewer").await;
    w.grant(&viewer_id, json!({"allowed_tables": ["orders", "products"]})).await;
    let mut asked = Vec::new();
    for q in ["How many orders are there?", "How many customers are there?"] {
        asked.push(w.server.post("/api/v1/ask", &viewer, json!({"connection_id": "shop", "question": q})).await);
    }
    // The viewer marked their orders answer right: it opens marked.
    let orders = asked[0].json["history_id"].as_str().expect("answered").to_string();
    let marked = w.server.post(&format!("/api/v1/history/{orders}/verify"), &viewer, json!({"verified": true})).await;
    assert_eq!(marked.status, StatusCode::OK, "{}", marked.text);
    w.server
        .post("/api/v1/ask", &w.admin, json!({"connection_id": "shop", "question": "How many products are there?"}))
        .await;
    let b = Browser::start("en").await;
    b.sign_in(&w.server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.click("header nav a[href='#/history']").await;
    b.wait_for("document.querySelectorAll('.history-table tbody tr').length === 3").await;
    assert!(b.text(".history-table tbody").await.contains("viewer"), "an admin sees who asked");
    b.screenshot("history").await;
    b.type_into("#history-text", "customers").await;
    b.click(".filters button[type=submit]").await;
    b.wait_for("document.querySelectorAll('.history-table tbody tr').length === 1").await;
    assert!(b.text(".history-table tbody tr").await.contains("Refused"));
    b.type_into("#history-text", "").await;
    let status = b.find("#history-status").await;
    // Choosing a status filters at once (no button to press; pressing it too would draw the rows twice).
    b.call("POST", &format!("/element/{status}/value"), json!({"text": "Answered"})).await;
    b.wait_for("document.querySelectorAll('.history-table tbody tr').length === 2").await;
    // Open an answer again: its recorded rows.
    b.click(".history-table tbody tr:last-child .row-actions button:first-child").await;
    b.wait_for("document.querySelector('.history-detail .result table')").await;
    assert_eq!(b.text(".history-detail .result h2").await, "How many orders are there?");
    assert!(b.text(".history-detail .result table tbody").await.contains('6'));
    assert_eq!(b.text(".history-detail .result .verify").await, "✓ Marked as the right answer");
    // Ask it again: the main screen, a new conversation, the question answered.
    b.click(".history-detail .result .actions button").await;
    b.wait_for("document.querySelector('.answer .result[data-state=answered]') && !document.querySelector('form.ask[aria-busy]')").await;
    assert_eq!(b.text(".answer .result h2").await, "How many orders are there?");
    b.close().await;
    // A viewer sees only their own.
    let b = Browser::start("en").await;
    b.sign_in(&w.server.base, "viewer@example.com", "password-of-user").await;
    b.click("header nav a[href='#/history']").await;
    b.wait_for("document.querySelectorAll('.history-table tbody tr').length === 2").await;
    assert!(!b.text(".history-table").await.contains("How many products"), "not the admin's question");
    assert!(b.script("return document.querySelector('header nav a[href^=\"#/admin\"]')", json!([])).await.is_null());
    b.close().await;
}

/// Keyboard only: sign in, ask, and reach the answer's controls with Tab and Enter; and on a phone-sized screen
/// the page needs no sideways scrolling.
async fn keyboard_only_and_a_phone_sized_screen() {
    let w = world().await;
    let b = Browser::start("en").await;
    b.goto(&w.server.base).await;
    b.find("#email").await;
    assert_eq!(b.focused().await, "email", "the email field has the focus");
    b.keys(ADMIN_EMAIL).await;
    b.keys(TAB).await;
    assert_eq!(b.focused().await, "password");
    b.keys(&format!("{ADMIN_PASSWORD}{ENTER}")).await;
    b.find("#question").await;
    b.wait_for("document.activeElement?.id === 'question'").await;
    b.keys(&format!("How many orders are there?{ENTER}")).await;
    b.wait_for("document.querySelector('.answer .result[data-state=answered]') && !document.querySelector('form.ask[aria-busy]')").await;
    // Tab from the question box reaches the Ask button, then (past the suggestions, which are gone) the answer's
    // Copy button; Enter on it copies.
    b.script("document.getElementById('question').focus()", json!([])).await;
    b.keys(TAB).await;
    assert_eq!(b.focused().await, "Ask");
    b.keys(TAB).await;
    assert_eq!(b.focused().await, "Copy");
    b.close().await;
    let b = Browser::start("en").await;
    b.window_size(390, 844).await;
    b.sign_in(&w.server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.ask("How many products are there per category?").await;
    let fits = b.script("return [document.documentElement.scrollWidth, window.innerWidth]", json!([])).await;
    assert!(fits[0].as_f64() <= fits[1].as_f64(), "no sideways scrolling on a phone: {fits}");
    b.screenshot("phone").await;
    b.close().await;
}

/// The sign-in screen's messages: repeated wrong passwords end in the lockout message; a login ended elsewhere (the
/// admin changed the password) sends the page back to sign-in saying the session has ended.
async fn lockout_and_an_ended_session_are_explained() {
    let w = world().await;
    let (viewer_id, _) = w.user("viewer@example.com", "viewer").await;
    w.grant(&viewer_id, json!({"allowed_tables": ["orders"]})).await;
    // An ended session: signed in as the admin, whose password is then changed over the API.
    let b = Browser::start("en").await;
    b.sign_in(&w.server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me = w.server.get("/api/v1/me", &w.admin).await;
    let id = me.json["id"].as_str().expect("id");
    let changed = w
        .server
        .request(
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(&w.admin),
            Some(json!({"password": "a new admin password"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    b.click("header nav a[href='#/history']").await;
    b.find("#email").await;
    assert_eq!(b.text(".signin [role=alert]").await, "Your session has ended. Please sign in again.");
    b.close().await;
    // Then the lockout (last: it locks this address out too).
    let b = Browser::start("en").await;
    b.goto(&w.server.base).await;
    let mut messages = Vec::new();
    for _ in 0..8 {
        b.type_into("#email", "viewer@example.com").await;
        b.type_into("#password", "a wrong password").await;
        b.click("form.signin button[type=submit]").await;
        b.wait_for("!document.querySelector('form.signin button[type=submit]').disabled").await;
        let message = b.text(".signin [role=alert]").await;
        let locked = message.starts_with("Too many failed sign-ins");
        messages.push(message);
        if locked {
            break;
        }
    }
    let last = messages.last().expect("a message");
    assert!(last.starts_with("Too many failed sign-ins. Try again in "), "{messages:?}");
    assert!(messages[..messages.len() - 1].iter().all(|m| m == "The email or password is wrong."), "{messages:?}");
    b.close().await;
}

pub fn tests() -> Group {
    Group::new("browser").needs(
        BROWSER,
        tests![
            signing_in_and_asking_shows_the_sql_and_the_rows,
            refusals_are_named_and_text_stays_text,
            the_korean_ui,
            conversations_keep_their_turns,
            a_streamed_answer_shows_its_sql_before_its_summary_and_a_follow_up_stays_in_the_conversation,
            suggestions_start_a_conversation_and_saved_templates_join_them,
            history_is_searched_opened_and_asked_again,
            keyboard_only_and_a_phone_sized_screen,
            lockout_and_an_ended_session_are_explained
        ],
    )
}
