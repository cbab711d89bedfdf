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

use crate::server::{ADMIN_EMAIL, ADMIN_PASSWORD, World, world};

/// Chromium through chromedriver, named by `DATAGENIE_TEST_CHROMEDRIVER`.
pub const BROWSER: Needed =
    Needed { var: "DATAGENIE_TEST_CHROMEDRIVER", name: "Chromium (chromedriver)", example: "/usr/bin/chromedriver" };

/// The key of an element reference in WebDriver's JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process (killed when dropped) and one browser session on it.
struct Browser {
    _driver: tokio::process::Child,
    http: reqwest::Client,
    session: String,
}

impl Browser {
    /// Starts chromedriver on a free port, waits for its "started" line, and opens a headless session whose
    /// browser prefers `language`.
    async fn start(language: &str) -> Browser {
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

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
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

    async fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({"url": url})).await;
    }

    async fn reload(&self) {
        self.call("POST", "/refresh", json!({})).await;
    }

    /// The first element matching `css`, waiting for it (the implicit wait).
    async fn find(&self, css: &str) -> String {
        let v = self.call("POST", "/element", json!({"using": "css selector", "value": css})).await;
        v[ELEMENT].as_str().expect("element").to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call("POST", &format!("/element/{e}/clear"), json!({})).await;
        self.call("POST", &format!("/element/{e}/value"), json!({"text": text})).await;
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call("POST", &format!("/element/{e}/click"), json!({})).await;
    }

    async fn script(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/sync", json!({"script": script, "args": args})).await
    }

    /// The visible text of the first element matching `css` ("" when there is none).
    async fn text(&self, css: &str) -> String {
        let v =
            self.script("const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", json!([css]));
        v.await.as_str().unwrap_or_default().to_string()
    }

    /// Waits (in the page, on every DOM change, up to the script timeout) until the JavaScript expression `condition`
    /// is true.
    async fn wait_for(&self, condition: &str) {
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
    async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("DATAGENIE_SCREENSHOTS") else { return };
        let png = self.call("GET", "/screenshot", Value::Null).await;
        let bytes = base64_decode(png.as_str().expect("base64"));
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), bytes).expect("write screenshot");
    }

    async fn close(self) {
        self.call("DELETE", "", Value::Null).await;
    }

    async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.goto(base).await;
        self.type_into("#email", email).await;
        self.type_into("#password", password).await;
        self.click("form.signin button[type=submit]").await;
        self.find("#question").await;
    }

    /// Asks `question` and waits until its answer (or failure) is complete: a new result, not there before, whose
    /// usage line is written or that shows an alert.
    async fn ask(&self, question: &str) {
        self.script(
            "document.querySelectorAll('.answer .result').forEach((r) => { r.dataset.seen = '1'; })",
            json!([]),
        )
        .await;
        self.type_into("#question", question).await;
        self.click("form.ask button[type=submit]").await;
        self.wait_for(
            "[...document.querySelectorAll('.answer .result:not([data-seen])')].some((r) => \
             r.querySelector('.usage')?.innerText.includes('ms') || r.querySelector('[role=alert]'))",
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
    b.screenshot("answer").await;
    b.reload().await;
    b.find("#question").await;
    assert!(b.text("header .who").await.contains("admin"), "still signed in after a reload");
    b.click("header button.quiet").await;
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
    // The chart of the answer: the server's PNG, decoded, with a text alternative.
    b.wait_for("document.querySelector('.answer .result:last-child .chart img')?.naturalWidth > 0").await;
    let alt = b.script("return document.querySelector('.answer .result:last-child .chart img').alt", json!([])).await;
    assert!(alt.as_str().is_some_and(|a| a.starts_with("Chart: ")), "{alt}");
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

pub fn tests() -> Group {
    Group::new("browser").needs(
        BROWSER,
        tests![
            signing_in_and_asking_shows_the_sql_and_the_rows,
            refusals_are_named_and_text_stays_text,
            the_korean_ui,
            conversations_keep_their_turns
        ],
    )
}
