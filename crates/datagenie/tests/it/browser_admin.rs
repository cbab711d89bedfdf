//! The administration screens in a real browser (headless Chromium, as in `browser.rs`): an admin adds a user, a
//! connection and a grant, and the user then asks within it; usage and the audit log (with the chain's verification);
//! a non-admin sees none of it; tiers and credits, from the settings to a user's ledger.

use datagenie_testkit::{Group, tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::{BROWSER, Browser, ENTER};
use crate::harness::{Env, shop_db};
use crate::server::{ADMIN_EMAIL, ADMIN_PASSWORD, Server, cli_user, world};

/// Opens `#/admin/<section>` and waits for its heading.
async fn open(b: &Browser, base: &str, section: &str, heading: &str) {
    b.goto(&format!("{base}/#/admin/{section}")).await;
    b.wait_for(&format!("document.querySelector('.admin h1')?.innerText === {}", json!(heading))).await;
}

/// Picks the option of the `<select>` at `css` whose text contains `text` (waiting for it), as a change by the user.
async fn choose(b: &Browser, css: &str, text: &str) {
    b.find(css).await;
    let has = format!(
        "[...document.querySelector({0}).options].some((o) => o.textContent.includes({1}))",
        json!(css),
        json!(text)
    );
    b.wait_for(&has).await;
    let picked = b
        .script(
            "const s = document.querySelector(arguments[0]);
             const o = [...s.options].find((o) => o.textContent.includes(arguments[1]));
             s.value = o.value;
             s.dispatchEvent(new Event('change', { bubbles: true }));
             return s.value;",
            json!([css, text]),
        )
        .await;
    assert!(picked.as_str().is_some_and(|v| !v.is_empty()), "{css}: {text}");
}

async fn value_of(b: &Browser, css: &str) -> Value {
    b.script("return document.querySelector(arguments[0]).value", json!([css])).await
}

/// Users → a new analyst; Connections → a second SQLite file, tested, a bad URL refused with the typing kept, the
/// schema browsed; Permissions → the analyst may read `orders` of shop only. Then the analyst, in a browser of their
/// own, sees one connection, gets the orders counted and is refused the customers.
async fn an_admin_adds_a_user_a_connection_and_a_grant_that_the_user_then_lives_by() {
    let w = world().await;
    let base = w.server.base.clone();
    let second = w.env.path("visits.db");
    let db = rusqlite::Connection::open(&second).expect("create visits.db");
    db.execute_batch(
        "CREATE TABLE visits (id INTEGER PRIMARY KEY, page TEXT NOT NULL, visited_at TEXT);
         INSERT INTO visits VALUES (1, '/', '2024-01-01'), (2, '/pricing', '2024-01-02');",
    )
    .expect("fill visits.db");
    drop(db);

    let b = Browser::start("en").await;
    b.sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // Users: add the analyst.
    open(&b, &base, "users", "Users").await;
    b.wait_for("document.querySelector('tr[data-user=admin]')").await;
    b.type_into("#admin-user-email", "analyst@example.com").await;
    b.type_into("#admin-user-username", "analyst").await;
    b.type_into("#admin-user-password", "password-of-analyst").await;
    assert_eq!(value_of(&b, "#admin-user-role").await, json!("user"));
    b.click("#admin-user-form button[type=submit]").await;
    b.wait_for("document.querySelector('tr[data-user=analyst]')").await;
    assert_eq!(b.text("#admin-user-form [role=status]").await, "User analyst added.");
    assert_eq!(value_of(&b, "#admin-user-email").await, json!(""), "the form is cleared after a success");
    // A second time: the server's refusal is shown and what was typed stays.
    b.type_into("#admin-user-email", "analyst@example.com").await;
    b.type_into("#admin-user-password", "password-of-analyst").await;
    b.click("#admin-user-form button[type=submit]").await;
    b.wait_for("document.querySelector('#admin-user-form [role=alert]:not([hidden])')").await;
    let code = b.script("return document.querySelector('#admin-user-form [role=alert]').dataset.code", json!([]));
    assert_eq!(code.await, json!("already_exists"));
    assert_eq!(value_of(&b, "#admin-user-email").await, json!("analyst@example.com"));
    b.screenshot("admin-users").await;

    // Connections: add one (tested at once), test it again, a bad URL, the schema.
    open(&b, &base, "connections", "Connections").await;
    b.wait_for("document.querySelector('tr[data-name=shop]')").await;
    b.type_into("#admin-connection-name", "visits").await;
    b.type_into("#admin-connection-url", &second.display().to_string()).await;
    b.click("#admin-connection-form button[type=submit]").await;
    b.wait_for("document.querySelector('#admin-connection-form .admin-test[data-ok=true]')").await;
    b.click("tr[data-name=visits] .admin-test-button").await;
    b.wait_for("document.querySelector('tr[data-name=visits] .admin-test[data-ok=true]')").await;
    let tested = b.text("tr[data-name=visits] .admin-test").await;
    assert!(tested.starts_with("Connected: ") && tested.contains("ms"), "{tested}");
    assert_eq!(value_of(&b, "#admin-connection-url").await, json!(""), "the URL is never shown back");
    assert!(!b.text("tr[data-name=visits]").await.is_empty());

    b.type_into("#admin-connection-name", "broken").await;
    b.type_into("#admin-connection-url", "/nonexistent/broken.db").await;
    b.click("#admin-connection-form button[type=submit]").await;
    b.wait_for("document.querySelector('#admin-connection-form [role=alert]:not([hidden])')").await;
    let alert = b.text("#admin-connection-form [role=alert]").await;
    assert!(alert.contains("no SQLite file"), "{alert}");
    assert_eq!(value_of(&b, "#admin-connection-name").await, json!("broken"), "what was typed stays");
    assert_eq!(value_of(&b, "#admin-connection-url").await, json!("/nonexistent/broken.db"));
    assert!(b.script("return document.querySelector('tr[data-name=broken]')", json!([])).await.is_null());

    b.click("tr[data-name=visits] .admin-schema-button").await;
    b.wait_for("document.querySelector('#admin-schema:not([hidden]) details[data-table=visits]')").await;
    b.click("#admin-schema details[data-table=visits] summary").await;
    b.wait_for("document.querySelector('#admin-schema details[data-table=visits]').open").await;
    let columns = b.text("#admin-schema details[data-table=visits] table").await;
    for expected in ["page", "visited_at", "TEXT", "primary key"] {
        assert!(columns.contains(expected), "{expected} in {columns}");
    }
    b.screenshot("admin-connections").await;

    // Permissions: the analyst may read orders of shop, nothing else.
    open(&b, &base, "permissions", "Permissions").await;
    choose(&b, "#admin-perm-connection", "shop").await;
    choose(&b, "#admin-perm-user", "analyst").await;
    b.wait_for("document.querySelector('#admin-perm-form input[name=table][value=orders]')").await;
    let every = b.script("return document.querySelector('#admin-perm-all').checked", json!([])).await;
    assert_eq!(every, json!(false), "a new grant starts with no table");
    b.click("#admin-perm-form input[name=table][value=orders]").await;
    b.click("#admin-perm-form button[type=submit]").await;
    b.wait_for("document.querySelector('#admin-perm-form [role=status]')?.innerText.startsWith('Saved')").await;
    assert!(b.text(".admin-grants").await.contains("analyst"), "{}", b.text(".admin-grants").await);
    b.screenshot("admin-permissions").await;
    let grants = w.server.get(&format!("/api/v1/connections/{}/permissions", w.connection_id), &w.admin).await;
    assert_eq!(grants.status, StatusCode::OK, "{}", grants.text);
    let analyst = w.server.get("/api/v1/users", &w.admin).await.json["items"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == "analyst")
        .expect("the analyst")["id"]
        .clone();
    let grant =
        grants.json["items"].as_array().expect("items").iter().find(|p| p["user_id"] == analyst).expect("grant");
    assert_eq!(grant["allowed_tables"], json!(["orders"]), "{grant}");
    b.close().await;

    // The analyst, in a browser of their own.
    let a = Browser::start("en").await;
    a.sign_in(&base, "analyst@example.com", "password-of-analyst").await;
    let options =
        a.script("return [...document.querySelectorAll('#connection option')].map((o) => o.textContent)", json!([]));
    assert_eq!(options.await, json!(["shop"]));
    assert!(a.script("return document.querySelector(\"a[href='#/admin/users']\")", json!([])).await.is_null());
    a.ask("How many orders are there?").await;
    let rows = a.text(".answer .result:last-child table tbody").await;
    assert_eq!(rows.trim(), "6", "{}", a.text(".answer .result:last-child").await);
    a.ask("How many customers are there?").await;
    let refused = a.text(".answer .result:last-child [role=alert]").await;
    assert!(refused.starts_with("Not allowed") && refused.contains("customers"), "{refused}");
    a.close().await;
}

/// After a question: the usage screen draws the day's numbers as a chart (an image with a name) and a table; the audit
/// screen says the chain is intact, lists the question, and filters by action.
async fn usage_and_audit_show_the_questions_asked() {
    let w = world().await;
    let base = w.server.base.clone();
    let b = Browser::start("en").await;
    b.sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.ask("How many orders are there?").await;

    open(&b, &base, "usage", "Usage").await;
    b.wait_for("document.querySelector('svg.admin-bars[role=img]')").await;
    let name = b.script("return document.querySelector('svg.admin-bars').getAttribute('aria-label')", json!([])).await;
    assert!(name.as_str().is_some_and(|n| n.starts_with("Tokens per day, ")), "{name}");
    // Today's row (UTC) in the per-day table: one question.
    let today = b
        .script(
            "const day = new Date().toISOString().slice(0, 10);
             const row = [...document.querySelectorAll('[aria-labelledby=admin-usage-per-day] tbody tr')]
               .find((r) => r.querySelector('th').textContent === day);
             return row ? [...row.children].map((c) => c.textContent) : null;",
            json!([]),
        )
        .await;
    assert_eq!(today[1], json!("1"), "{today}");
    let per_user = b.text("[aria-labelledby=admin-usage-per-user] table").await;
    assert!(per_user.contains("admin"), "{per_user}");
    let per_model = b.text("[aria-labelledby=admin-usage-per-model] table").await;
    assert!(per_model.contains("No LLM"), "{per_model}");
    choose(&b, "#admin-usage-metric", "Questions").await;
    b.wait_for("document.querySelector('svg.admin-bars')?.getAttribute('aria-label').startsWith('Questions per day')")
        .await;
    let bars = b.script("return document.querySelectorAll('svg.admin-bars rect.bar').length", json!([])).await;
    assert!(bars.as_u64().is_some_and(|n| n >= 1), "{bars}");
    b.screenshot("admin-usage").await;

    open(&b, &base, "audit", "Audit log").await;
    b.wait_for("document.querySelector('#admin-audit-chain[data-ok]')").await;
    let chain = b.text("#admin-audit-chain").await;
    assert!(chain.starts_with("The audit chain is intact: "), "{chain}");
    b.wait_for("document.querySelector('tr[data-action=\"question.ask\"]')").await;
    let all = b.script(
        "return new Set([...document.querySelectorAll('tr[data-action]')].map((r) => r.dataset.action)).size",
        json!([]),
    );
    assert!(all.await.as_u64().is_some_and(|n| n > 1), "several actions before filtering");
    b.type_into("#admin-audit-action", "question.ask").await;
    b.click("#admin-audit-form button[type=submit]").await;
    b.wait_for(
        "(() => { const r = [...document.querySelectorAll('tr[data-action]')];
                  return r.length === 1 && r[0].dataset.action === 'question.ask'; })()",
    )
    .await;
    b.screenshot("admin-audit").await;
    b.close().await;
}

/// A viewer who types `#/admin/users` gets a refusal and no administration: no navigation, no users; the module
/// itself, called for them, draws only the refusal.
async fn a_non_admin_sees_no_administration() {
    let w = world().await;
    let (viewer_id, _) = w.user("viewer@example.com", "viewer").await;
    w.grant(&viewer_id, json!({})).await;
    let b = Browser::start("en").await;
    b.sign_in(&w.server.base, "viewer@example.com", "password-of-user").await;
    assert!(b.script("return document.querySelector(\"a[href^='#/admin']\")", json!([])).await.is_null());
    b.goto(&format!("{}/#/admin/users", w.server.base)).await;
    b.wait_for("document.querySelector('main [role=alert]')").await;
    let refusal = b.text("main [role=alert]").await;
    assert!(refusal.contains("administrators"), "{refusal}");
    let shown = b.script(
        "return [document.querySelector('.admin-nav'), document.querySelector('[data-user]'),
                 document.querySelector('.admin h1')].every((e) => e === null)",
        json!([]),
    );
    assert_eq!(shown.await, json!(true));
    // The module, were it called anyway.
    let drawn = b
        .call(
            "POST",
            "/execute/async",
            json!({"script": "const done = arguments[arguments.length - 1];
                    import('/ui/admin.js').then(async (m) => {
                      const c = document.createElement('div');
                      await m.adminScreen('users', c);
                      done([c.textContent, c.querySelectorAll('table, form').length]);
                    }).catch((e) => done(String(e)));", "args": []}),
        )
        .await;
    assert_eq!(drawn, json!(["Only administrators can see this page.", 0]));
    b.close().await;
}

/// Every control on every screen has a label (a `<label for>`, one around it, an `aria-label`, or a button's text), and
/// no screen is wider than a phone.
async fn check_the_screen(b: &Browser, section: &str) {
    let unlabelled = b
        .script(
            "return [...document.querySelectorAll('.admin input, .admin select, .admin textarea, .admin button')]
               .filter((c) => !(c.getAttribute('aria-label')
                 || (c.id && document.querySelector(`label[for=\"${CSS.escape(c.id)}\"]`))
                 || c.closest('label') || (c.tagName === 'BUTTON' && c.textContent.trim())))
               .map((c) => `${c.tagName} #${c.id} .${c.className}`)",
            json!([]),
        )
        .await;
    assert_eq!(unlabelled, json!([]), "{section}: controls without a label");
    let widths = b.script("return [document.documentElement.scrollWidth, window.innerWidth]", json!([])).await;
    assert!(widths[0].as_u64() <= widths[1].as_u64(), "{section} is wider than the window: {widths}");
}

/// At a phone's width: every screen fits and labels its controls. A setting is edited with the keyboard only: a value
/// of the wrong type is refused with the server's message and stays typed; a right one is saved.
async fn every_screen_fits_a_phone_and_a_setting_is_edited_from_the_keyboard() {
    let w = world().await;
    let base = w.server.base.clone();
    let b = Browser::start("en").await;
    b.call("POST", "/window/rect", json!({"width": 390, "height": 844})).await;
    b.sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let width = b.script("return window.innerWidth", json!([])).await;
    assert!(width.as_u64().is_some_and(|w| w <= 400), "a phone's width: {width}");
    b.ask("How many orders are there per customer_id?").await;
    for (section, heading, ready) in [
        ("users", "Users", "tr[data-user=admin]"),
        ("connections", "Connections", "tr[data-name=shop]"),
        ("usage", "Usage", "svg.admin-bars"),
        ("audit", "Audit log", "#admin-audit-chain[data-ok=true]"),
        ("settings", "Settings", "tr[data-key=max_query_rows]"),
    ] {
        open(&b, &base, section, heading).await;
        b.wait_for(&format!("document.querySelector({})", json!(ready))).await;
        check_the_screen(&b, section).await;
    }
    open(&b, &base, "connections", "Connections").await;
    b.click("tr[data-name=shop] .admin-schema-button").await;
    b.wait_for("document.querySelector('#admin-schema:not([hidden]) details')").await;
    // Personal data is named in the schema: customers.name holds people's names.
    b.click("#admin-schema details[data-table=customers] summary").await;
    b.wait_for("document.querySelector('#admin-schema details[data-table=customers]').open").await;
    let name_row = b.script(
        "return [...document.querySelectorAll('#admin-schema details[data-table=customers] tbody tr')] \
         .map((r) => r.innerText).find((t) => t.startsWith('name')) ?? ''",
        json!([]),
    );
    let name_row = name_row.await;
    assert!(name_row.as_str().is_some_and(|r| r.contains("Person's name")), "{name_row}");
    b.click("tr[data-name=shop] button[aria-label='Edit shop']").await;
    b.wait_for("document.querySelector('.admin-editor form')").await;
    check_the_screen(&b, "connections (editing)").await;
    open(&b, &base, "permissions", "Permissions").await;
    choose(&b, "#admin-perm-connection", "shop").await;
    choose(&b, "#admin-perm-user", "admin").await;
    b.wait_for("document.querySelector('#admin-perm-form')").await;
    for add in ["Add a row filter", "Add an attribute"] {
        b.script(
            "[...document.querySelectorAll('#admin-perm-form button')].find((x) => x.textContent === arguments[0]).click()",
            json!([add]),
        )
        .await;
    }
    b.wait_for("document.querySelectorAll('#admin-perm-form .admin-rows li').length === 2").await;
    check_the_screen(&b, "permissions").await;
    b.screenshot("admin-phone-permissions").await;

    // Settings, from the keyboard: Enter on "Edit", a wrong value and Enter, then a right one.
    open(&b, &base, "settings", "Settings").await;
    let enter = "\u{E007}";
    let edit = b.find("tr[data-key=max_query_rows] button").await;
    b.call("POST", &format!("/element/{edit}/value"), json!({"text": enter})).await;
    b.wait_for("document.activeElement?.matches('tr[data-key=max_query_rows] input')").await;
    let input = b.find("tr[data-key=max_query_rows] input").await;
    b.call("POST", &format!("/element/{input}/clear"), json!({})).await;
    b.call("POST", &format!("/element/{input}/value"), json!({"text": format!("lots{enter}")})).await;
    b.wait_for("document.querySelector('tr[data-key=max_query_rows] [role=alert]:not([hidden])')").await;
    let alert = b.text("tr[data-key=max_query_rows] [role=alert]").await;
    assert!(alert.contains("does not take that value"), "{alert}");
    assert_eq!(value_of(&b, "tr[data-key=max_query_rows] input").await, json!("lots"), "what was typed stays");
    check_the_screen(&b, "settings (editing)").await;
    b.screenshot("admin-phone-settings").await;
    b.call("POST", &format!("/element/{input}/clear"), json!({})).await;
    b.call("POST", &format!("/element/{input}/value"), json!({"text": format!("5000{enter}")})).await;
    b.wait_for("document.querySelector('tr[data-key=max_query_rows] .admin-value code')?.innerText === '5000'").await;
    let settings = w.server.get("/api/v1/settings", &w.admin).await;
    let max_rows =
        settings.json["items"].as_array().expect("items").iter().find(|s| s["key"] == "max_query_rows").cloned();
    assert_eq!(max_rows.map(|s| s["value"].clone()), Some(json!(5000)));
    b.close().await;
}

/// The README's walk: a server with nothing on it but the admin made with `datagenie user create`; the admin signs
/// in, follows the empty screen's link to add a connection, and asks one question in English and one in Korean, each
/// with its table and its chart on screen (Hangul in both).
async fn the_readme_walk_from_an_empty_server_to_two_answers_with_charts() {
    let env = Env::new();
    let made = cli_user(&env, ADMIN_EMAIL, "admin", ADMIN_PASSWORD).await;
    assert_eq!(made.code, 0, "{made:?}");
    shop_db(&env.path("shop.db"));
    let server = Server::start(&env).await;
    let b = Browser::start("en").await;
    b.goto(&server.base).await;
    b.type_into("#email", ADMIN_EMAIL).await;
    b.type_into("#password", ADMIN_PASSWORD).await;
    b.click("form.signin button[type=submit]").await;
    b.wait_for("document.querySelector('.notice a[href=\"#/admin/connections\"]')").await;
    b.click(".notice a").await;
    b.wait_for("document.querySelector('.admin h1')?.innerText === 'Connections'").await;
    b.type_into("#admin-connection-name", "shop").await;
    b.type_into("#admin-connection-url", &env.path("shop.db").display().to_string()).await;
    b.click("#admin-connection-form button[type=submit]").await;
    b.wait_for("document.querySelector('#admin-connection-form .admin-test[data-ok=true]')").await;
    b.click("header nav a[href='#/']").await;
    b.find("#question").await;
    let picker = b.script("return [...document.querySelectorAll('#connection option')].map((o) => o.text)", json!([]));
    assert_eq!(picker.await, json!(["shop"]), "the only connection, chosen");
    for (question, cell) in [("How many customers are there per city?", "Busan"), ("도시별 고객 수는?", "서울")]
    {
        b.ask(question).await;
        let table = b.text(".answer .result:last-child table").await;
        assert!(table.contains(cell), "{question}: {table}");
        b.wait_for("document.querySelector('.answer .result:last-child .chart svg rect')").await;
        let chart =
            b.script("return document.querySelector('.answer .result:last-child .chart svg').textContent", json!([]));
        let chart = chart.await;
        assert!(chart.as_str().is_some_and(|c| c.contains("서울")), "{question}: Hangul in the chart: {chart}");
    }
    b.screenshot("walk").await;
    b.close().await;
}

/// The texts of the cells of the credits ledger's rows, newest first.
async fn ledger(b: &Browser) -> Value {
    b.script(
        "return [...document.querySelectorAll('#admin-credits-ledger tr[data-id]')]
           .map((r) => [...r.children].map((c) => c.innerText))",
        json!([]),
    )
    .await
}

/// Waits until the credits form's alert shows, with the error code `code` ("" for the page's own check): its text.
async fn credits_refusal(b: &Browser, code: &str) -> String {
    b.wait_for(&format!(
        "(() => {{ const a = document.querySelector('#admin-credits-form [role=alert]');
                  return !a.hidden && a.dataset.code === {}; }})()",
        json!(code)
    ))
    .await;
    b.text("#admin-credits-form [role=alert]").await
}

/// Tiers and credits through the UI. Settings: a `gold` tier added to `tiers`, edited as JSON (text that is not JSON
/// refused where it was typed), and billing switched on. Users → a user's credits: the tier changed from its select,
/// credits granted with a reason (balance and ledger follow), a deduction beyond the balance, an amount of 0 and one
/// in letters refused with what was typed kept, then a deduction from the keyboard; the API agrees (the balance is the
/// ledger's sum, the tier is gold). An admin's panel says admins are exempt; Escape gives the focus back. In Korean,
/// and at a phone's width, the panel reads and fits, and a long ledger comes a page at a time.
async fn an_admin_changes_a_tier_and_grants_and_deducts_credits() {
    let w = world().await;
    let base = w.server.base.clone();
    let (payer_id, _) = w.user("payer@example.com", "user").await;
    let b = Browser::start("en").await;
    b.sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // Settings: the tiers as JSON, a gold tier added; billing on.
    open(&b, &base, "settings", "Settings").await;
    b.click("tr[data-key=tiers] button").await;
    let json_box = "tr[data-key=tiers] textarea";
    let shown = value_of(&b, json_box).await;
    let mut tiers: Value = serde_json::from_str(shown.as_str().expect("text")).expect("the tiers shown as JSON");
    assert_eq!(tiers["free"]["monthly_credits"], json!(100), "{tiers}");
    b.type_into(json_box, "{\"gold\": ").await;
    b.click("tr[data-key=tiers] button[type=submit]").await;
    b.wait_for("document.querySelector('tr[data-key=tiers] [role=alert]:not([hidden])')").await;
    let alert = b.text("tr[data-key=tiers] [role=alert]").await;
    assert!(alert.starts_with("“tiers” is not JSON: "), "{alert}");
    assert_eq!(value_of(&b, json_box).await, json!("{\"gold\": "), "what was typed stays");
    tiers["gold"] = json!({"monthly_credits": 500, "questions_per_minute": 40, "hourly_token_limit": null,
        "daily_token_limit": null, "monthly_token_limit": null, "queue_priority": 60});
    b.type_into(json_box, &tiers.to_string()).await;
    b.click("tr[data-key=tiers] button[type=submit]").await;
    b.wait_for("document.querySelector('tr[data-key=tiers] .admin-value code')?.innerText.includes('\"gold\"')").await;
    b.click("tr[data-key=billing_enabled] button").await;
    choose(&b, "tr[data-key=billing_enabled] select", "true").await;
    b.click("tr[data-key=billing_enabled] button[type=submit]").await;
    b.wait_for("document.querySelector('tr[data-key=billing_enabled] .admin-value code')?.innerText === 'true'").await;

    // Users → the payer's credits.
    open(&b, &base, "users", "Users").await;
    b.wait_for("document.querySelector('tr[data-user=payer]')").await;
    assert_eq!(b.text("tr[data-user=payer] .admin-tier").await, "free");
    b.click("tr[data-user=payer] .admin-credits-button").await;
    b.wait_for("document.activeElement?.id === 'admin-credits-title'").await;
    assert_eq!(b.text("#admin-credits-title").await, "Credits and tier of payer");
    assert_eq!(value_of(&b, "#admin-credits-tier").await, json!("free"));
    let options =
        b.script("return [...document.querySelectorAll('#admin-credits-tier option')].map((o) => o.value)", json!([]));
    assert_eq!(options.await, json!(["free", "gold", "starter", "pro", "studio", "enterprise"]), "by monthly credits");
    assert_eq!(b.text("#admin-credits-balance").await, "0");
    let billing = b.text("#admin-credits-billing").await;
    assert_eq!(billing, "Yes: each question the LLM answers costs 1 (the credits_per_question setting).");
    assert_eq!(b.text("#admin-credits-ledger").await, "No credit changes yet.");

    // The tier: gold, from its select.
    choose(&b, "#admin-credits-tier", "gold").await;
    b.wait_for("document.querySelector('#admin-credits-status')?.innerText === \"payer's tier is now gold.\"").await;
    let facts = b.text("#admin-credits-tier-hint").await;
    assert_eq!(facts, "500 credits a month · 40 questions a minute · queue priority 60");
    assert_eq!(b.text("tr[data-user=payer] .admin-tier").await, "gold", "the list follows");

    // Grant 25 with a reason: the balance and the ledger follow, the form is emptied.
    b.type_into("#admin-credits-amount", "25").await;
    b.type_into("#admin-credits-reason", "welcome bonus").await;
    assert_eq!(b.text("#admin-credits-form button[type=submit]").await, "Grant credits");
    b.click("#admin-credits-form button[type=submit]").await;
    b.wait_for("document.querySelector('#admin-credits-balance')?.dataset.balance === '25'").await;
    assert_eq!(b.text("#admin-credits-status").await, "Granted 25 credits to payer: the balance is 25.");
    let rows = ledger(&b).await;
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(
        json!(rows[0].as_array().expect("cells")[1..]),
        json!(["+25", "25", "adjustment", "welcome bonus", "admin"])
    );
    assert_eq!(value_of(&b, "#admin-credits-amount").await, json!(""));

    // A deduction beyond the balance: the API's insufficient_credits, said plainly; nothing changed.
    b.click("#admin-credits-deduct").await;
    assert_eq!(b.text("#admin-credits-form button[type=submit]").await, "Deduct credits");
    b.type_into("#admin-credits-amount", "100").await;
    b.type_into("#admin-credits-reason", "too much").await;
    b.click("#admin-credits-form button[type=submit]").await;
    let refusal = credits_refusal(&b, "insufficient_credits").await;
    assert!(refusal.starts_with("The balance cannot go below 0 (") && refusal.contains("25 left"), "{refusal}");
    assert_eq!(value_of(&b, "#admin-credits-amount").await, json!("100"), "what was typed stays");
    assert_eq!(b.text("#admin-credits-balance").await, "25");
    assert_eq!(ledger(&b).await.as_array().map(Vec::len), Some(1));
    // An amount of 0: the API's invalid_argument; letters: refused before asking.
    b.type_into("#admin-credits-amount", "0").await;
    b.click("#admin-credits-form button[type=submit]").await;
    let refusal = credits_refusal(&b, "invalid_argument").await;
    assert!(refusal.contains("not 0"), "{refusal}");
    b.type_into("#admin-credits-amount", "ten").await;
    b.click("#admin-credits-form button[type=submit]").await;
    let refusal = credits_refusal(&b, "").await;
    assert_eq!(refusal, "“Amount” must be a whole number of credits, written in digits.");
    // From the keyboard: a reason, the amount, Enter.
    b.type_into("#admin-credits-reason", "correction").await;
    b.type_into("#admin-credits-amount", &format!("5{ENTER}")).await;
    b.wait_for("document.querySelector('#admin-credits-balance')?.dataset.balance === '20'").await;
    let quiet = b.script("return document.querySelector('#admin-credits-form [role=alert]').hidden", json!([]));
    assert_eq!(quiet.await, json!(true), "no alert after a success");
    assert_eq!(b.text("#admin-credits-status").await, "Deducted 5 credits from payer: the balance is 20.");
    let rows = ledger(&b).await;
    let changes: Vec<Value> = rows.as_array().expect("rows").iter().map(|r| json!([r[1], r[2], r[4]])).collect();
    assert_eq!(changes, [json!(["-5", "20", "correction"]), json!(["+25", "25", "welcome bonus"])]);
    assert_eq!(b.focused().await, "admin-credits-amount", "the focus stays in the form");
    b.screenshot("admin-credits").await;

    // The API agrees: the balance is the ledger's sum, made by the admin; the tier is gold.
    let me = w.server.get("/api/v1/me", &w.admin).await.json["id"].clone();
    let view = w.server.get(&format!("/api/v1/users/{payer_id}/credits"), &w.admin).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    let rows = view.json["transactions"].as_array().expect("ledger");
    let sum: i64 = rows.iter().filter_map(|r| r["amount"].as_i64()).sum();
    assert_eq!((view.json["balance"].as_i64(), sum), (Some(20), 20), "{}", view.text);
    let made: Vec<Value> =
        rows.iter().map(|r| json!([r["amount"], r["kind"], r["description"], r["created_by"]])).collect();
    assert_eq!(
        made,
        [json!([-5, "admin_adjustment", "correction", me]), json!([25, "admin_adjustment", "welcome bonus", me]),]
    );
    assert_eq!((view.json["tier"].as_str(), view.json["billing_applies"].as_bool()), (Some("gold"), Some(true)));
    assert_eq!(w.server.get(&format!("/api/v1/users/{payer_id}"), &w.admin).await.json["tier"], "gold");

    // An admin's credits: exempt. Escape closes the panel and gives the focus back to the row.
    b.click("tr[data-user=admin] .admin-credits-button").await;
    b.wait_for("document.querySelector('#admin-credits-title')?.innerText === 'Credits and tier of admin'").await;
    assert_eq!(b.text("#admin-credits-billing").await, "No: admins are exempt (the admins_exempt setting).");
    b.keys("\u{E00C}").await;
    b.wait_for("document.querySelector('#admin-credits').hidden").await;
    let back =
        b.script("return document.activeElement.matches('tr[data-user=admin] .admin-credits-button')", json!([]));
    assert_eq!(back.await, json!(true));

    // 19 more grants (over the API): the ledger shows 20 rows, then the 21st on "more".
    for _ in 0..19 {
        let one = w.server.post(&format!("/api/v1/users/{payer_id}/credits"), &w.admin, json!({"amount": 1})).await;
        assert_eq!(one.status, StatusCode::CREATED, "{}", one.text);
    }

    // In Korean, at a phone's width.
    b.window_size(390, 844).await;
    choose(&b, "#language", "한국어").await;
    b.wait_for("document.querySelector('.admin h1')?.innerText === '사용자'").await;
    b.click("tr[data-user=payer] .admin-credits-button").await;
    b.wait_for("document.activeElement?.id === 'admin-credits-title'").await;
    assert_eq!(b.text("#admin-credits-title").await, "payer의 크레딧과 등급");
    assert!(b.text("#admin-credits-billing").await.starts_with("예: "));
    assert_eq!(b.text("#admin-credits-balance").await, "39");
    let rows = ledger(&b).await;
    assert_eq!((rows.as_array().map(Vec::len), &rows[0][3]), (Some(20), &json!("조정")), "{rows}");
    assert_eq!(b.text("#admin-credits .admin-more").await, "더 보기");
    b.click("#admin-credits .admin-more").await;
    b.wait_for("document.querySelectorAll('#admin-credits-ledger tr[data-id]').length === 21").await;
    assert_eq!(ledger(&b).await[20][4], json!("welcome bonus"), "the oldest row last");
    let more = b.script("return document.querySelector('#admin-credits .admin-more').hidden", json!([]));
    assert_eq!(more.await, json!(true), "no more rows");
    b.click("#admin-credits-deduct").await;
    b.type_into("#admin-credits-amount", "1000").await;
    b.click("#admin-credits-form button[type=submit]").await;
    let refusal = credits_refusal(&b, "insufficient_credits").await;
    assert!(refusal.starts_with("잔액은 0 아래로 내려갈 수 없습니다"), "{refusal}");
    check_the_screen(&b, "credits (Korean, a phone)").await;
    b.screenshot("admin-phone-credits-ko").await;
    b.close().await;
}

pub fn tests() -> Group {
    Group::new("browser-admin").needs(
        BROWSER,
        tests![
            an_admin_adds_a_user_a_connection_and_a_grant_that_the_user_then_lives_by,
            usage_and_audit_show_the_questions_asked,
            a_non_admin_sees_no_administration,
            every_screen_fits_a_phone_and_a_setting_is_edited_from_the_keyboard,
            the_readme_walk_from_an_empty_server_to_two_answers_with_charts,
            an_admin_changes_a_tier_and_grants_and_deducts_credits
        ],
    )
}
