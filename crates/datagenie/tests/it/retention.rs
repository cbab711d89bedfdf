//! Retention (seed 000's cleanup_old_data): `datagenie system-db purge` on an installation holding old rows (written
//! straight into its SQLite file, the old audit rows with their real hashes), then the server's own scheduled run,
//! both checked through the CLI and the HTTP API — the audit chain verifying from its anchor throughout.

use std::time::Duration;

use datagenie_store::audit::{GENESIS, StoredAuditRow, row_hash};
use datagenie_store::model::{AuditEntry, AuditResult, Timestamp};
use datagenie_testkit::{Group, tests};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Env;
use crate::server::{ADMIN_EMAIL, ADMIN_PASSWORD, Server, cli_user};

fn ago(days: u64) -> String {
    Timestamp(Timestamp::now().0 - Duration::from_secs(days * 86_400)).to_rfc3339()
}

fn db(env: &Env) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(env.path("data").join("datagenie.db")).expect("open the system database");
    c.busy_timeout(Duration::from_secs(10)).expect("busy timeout");
    c
}

fn count(env: &Env, sql: &str) -> i64 {
    db(env).query_row(sql, [], |r| r.get(0)).expect("count")
}

/// Appends `n` audit rows created `days` ago to the empty chain of the file, hashed as the store hashes them, and
/// moves the chain's head: what a year-old installation holds.
fn old_audit_rows(env: &Env, n: i64, days: u64) {
    let c = db(env);
    let mut prev = GENESIS.to_string();
    for seq in 1..=n {
        let mut e = AuditEntry {
            seq,
            id: datagenie_store::model::new_id(),
            user_id: None,
            action: "connection.update".into(),
            resource_type: "connection".into(),
            resource_id: Some(format!("c{seq}")),
            old_values: None,
            new_values: Some(json!({"pool": seq})),
            ip_address: Some("10.0.0.1".into()),
            user_agent: None,
            request_id: None,
            result: AuditResult::Success,
            reason: None,
            created_at: Timestamp::parse(&ago(days)).expect("time"),
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        e.hash = row_hash(&prev, &e);
        let s = StoredAuditRow::from_entry(&e);
        c.execute(
            "INSERT INTO audit_logs (seq, id, user_id, action, resource_type, resource_id, old_values, new_values,
                 ip_address, user_agent, request_id, result, reason, created_at, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            rusqlite::params![
                s.seq,
                s.id,
                s.user_id,
                s.action,
                s.resource_type,
                s.resource_id,
                s.old_values,
                s.new_values,
                s.ip_address,
                s.user_agent,
                s.request_id,
                s.result,
                s.reason,
                s.created_at,
                s.prev_hash,
                s.hash
            ],
        )
        .expect("old audit row");
        prev = e.hash;
    }
    c.execute("UPDATE audit_chain_head SET seq = ?1, hash = ?2 WHERE id = 1", rusqlite::params![n, prev])
        .expect("head");
}

fn question(env: &Env, user_id: &str, text: &str, days: u64) -> String {
    let id = datagenie_store::model::new_id();
    db(env)
        .execute(
            "INSERT INTO query_history (id, user_id, question, generated_sql, query_type, status, total_time_ms,
                 created_at)
             VALUES (?1, ?2, ?3, 'SELECT 1', 'database', 'success', 5, ?4)",
            rusqlite::params![id, user_id, text, ago(days)],
        )
        .expect("question");
    id
}

async fn purge(env: &Env, args: &[&str]) -> crate::harness::Output {
    let mut all = vec!["system-db", "purge"];
    all.extend_from_slice(args);
    env.run(&all).await
}

/// The audit rows of `action`, newest first, through the API.
async fn audit_of(server: &Server, token: &str, action: &str) -> Vec<Value> {
    let r = server.get(&format!("/api/v1/audit?action={action}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["items"].as_array().expect("items").clone()
}

/// `datagenie system-db purge` removes old history, expired logins, old finished jobs and the audit chain's old
/// prefix — a dry run first, counting; refused while that prefix is broken; a second run removes nothing — and
/// `datagenie audit verify` finds the chain intact from its anchor. Then the server: its settings show and validate
/// the retention days, its own run (shortly after it starts) removes a question that became old, recorded as an
/// `audit.prune` row, and the chain verifies over the API.
async fn the_purge_command_and_the_servers_schedule_apply_retention() {
    let env = Env::new();
    assert_eq!(env.run(&["migrate"]).await.code, 0);
    old_audit_rows(&env, 5, 200);
    let out = cli_user(&env, ADMIN_EMAIL, "admin", ADMIN_PASSWORD).await;
    assert_eq!(out.code, 0, "{out:?}");
    let admin_id: String =
        db(&env).query_row("SELECT id FROM users WHERE email = ?1", [ADMIN_EMAIL], |r| r.get(0)).expect("admin");
    let old = question(&env, &admin_id, "how many orders last winter", 100);
    let recent = question(&env, &admin_id, "how many orders yesterday", 1);
    let c = db(&env);
    c.execute_batch(&format!(
        "INSERT INTO user_sessions (id, user_id, created_at, expires_at, last_activity_at)
             VALUES ('00000000-0000-4000-8000-000000000001', '{admin_id}', '{a}', '{b}', '{a}');
         INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at)
             VALUES ('00000000-0000-4000-8000-000000000002', '{admin_id}', '00000000-0000-4000-8000-000000000001',
                     '{hash}', '{a}', '{b}');
         INSERT INTO jobs (id, user_id, connection, question, tier, priority, status, attempts, max_attempts, caller,
                           created_at, finished_at, updated_at)
             VALUES ('00000000-0000-4000-8000-000000000003', '{admin_id}', 'shop', 'q', 'free', 10, 'succeeded', 1, 2,
                     '{{}}', '{j}', '{j}', '{j}');",
        a = ago(10),
        b = ago(9),
        j = ago(30),
        hash = "ab".repeat(32),
    ))
    .expect("an expired login and an old job");
    drop(c);

    // a dry run counts, and removes nothing
    let dry = purge(&env, &["--dry-run", "--format", "json"]).await;
    assert_eq!(dry.code, 0, "{dry:?}");
    let report = &dry.json()["report"];
    assert_eq!(
        (&report["history"], &report["sessions"], &report["refresh_tokens"], &report["jobs"]),
        (&json!(1), &json!(1), &json!(1), &json!(1)),
        "{report}"
    );
    assert_eq!(
        (&report["audit_rows"], &report["audit_anchor"], &report["dry_run"]),
        (&json!(5), &json!(5), &json!(true))
    );
    assert_eq!(dry.json()["policy"], json!({"history_days": 90, "audit_days": 180, "job_days": 7}));
    assert_eq!(count(&env, "SELECT count(*) FROM query_history"), 2);
    assert_eq!(count(&env, "SELECT count(*) FROM audit_logs"), 6);

    // a broken prefix is not removed: the run fails, and removes nothing
    let c = db(&env);
    c.execute_batch("DROP TRIGGER audit_logs_no_update; UPDATE audit_logs SET reason = 'covered up' WHERE seq = 3;")
        .expect("tamper");
    let refused = purge(&env, &[]).await;
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(refused.stderr.contains("system_database") && refused.stderr.contains("row 3"), "{refused:?}");
    assert_eq!(count(&env, "SELECT count(*) FROM query_history"), 2);
    assert_eq!(count(&env, "SELECT count(*) FROM jobs"), 1);
    c.execute_batch(
        "UPDATE audit_logs SET reason = NULL WHERE seq = 3;
         CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
             BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only'); END;",
    )
    .expect("put back");
    drop(c);

    let done = purge(&env, &[]).await;
    assert_eq!(done.code, 0, "{done:?}");
    let line = |kind: &str| done.stdout.lines().find(|l| l.starts_with(kind)).map(|l| l.split_whitespace().last());
    assert_eq!(line("questions"), Some(Some("1")), "{}", done.stdout);
    assert_eq!(line("audit rows"), Some(Some("5")), "{}", done.stdout);
    assert!(done.stdout.contains("removed") && done.stdout.contains("starts after row 5"), "{}", done.stdout);
    assert_eq!(count(&env, "SELECT count(*) FROM query_history"), 1);
    assert_eq!(count(&env, "SELECT count(*) FROM user_sessions"), 0);
    assert_eq!(count(&env, "SELECT count(*) FROM refresh_tokens"), 0);
    assert_eq!(count(&env, "SELECT count(*) FROM jobs"), 0);
    assert_eq!(count(&env, "SELECT seq FROM audit_anchor"), 5);
    let verified = env.run(&["audit", "verify"]).await;
    assert_eq!(verified.code, 0, "{verified:?}");
    assert!(verified.stdout.contains("intact: 2 rows"), "user.create and the run's row: {}", verified.stdout);
    // at once again: nothing to remove, and no trace of it
    let again = purge(&env, &["--format", "json"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    let report = &again.json()["report"];
    for kind in ["history", "events", "sessions", "refresh_tokens", "jobs", "audit_rows"] {
        assert_eq!(report[kind], json!(0), "{kind}: {report}");
    }
    assert!(env.run(&["audit", "verify"]).await.stdout.contains("intact: 2 rows"));

    // the server: a question that became old goes with its first run
    let stale = question(&env, &admin_id, "how many orders the winter before", 400);
    let server = Server::start(&env).await;
    let admin = server.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let second_run = async {
        loop {
            let runs = audit_of(&server, &admin, "audit.prune").await;
            if runs.len() == 2 {
                return runs;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let runs = tokio::time::timeout(Duration::from_secs(60), second_run).await.expect("the server's run");
    assert_eq!((&runs[0]["new_values"]["history"], &runs[0]["new_values"]["anchor_seq"]), (&json!(1), &json!(5)));
    assert_eq!((&runs[1]["new_values"]["history"], &runs[1]["new_values"]["audit_rows"]), (&json!(1), &json!(5)));
    assert!(server.log().contains("retention"), "{}", server.log());
    let history = server.get("/api/v1/history", &admin).await;
    let ids: Vec<&str> =
        history.json["items"].as_array().expect("items").iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids, [recent.as_str()], "{}", history.text);
    for gone in [&old, &stale] {
        assert_eq!(server.get(&format!("/api/v1/history/{gone}"), &admin).await.status, StatusCode::NOT_FOUND);
    }
    let chain = server.get("/api/v1/audit/verify", &admin).await;
    assert_eq!(chain.json["ok"], json!(true), "{}", chain.text);
    assert!(chain.json["rows"].as_i64().is_some_and(|n| n >= 3), "{}", chain.text);
    assert!(
        audit_of(&server, &admin, "connection.update").await.is_empty(),
        "the old audit rows are gone from the log"
    );

    // the retention settings: shown, and whole numbers of days only
    let settings = server.get("/api/v1/settings", &admin).await;
    let of = |key: &str| {
        settings.json["items"].as_array().expect("items").iter().find(|s| s["key"] == key).cloned().expect(key)
    };
    for (key, days) in [("history_retention_days", 90), ("audit_retention_days", 180), ("job_retention_days", 7)] {
        let s = of(key);
        assert_eq!((&s["value"], &s["category"]), (&json!(days), &json!("retention")), "{s}");
    }
    let put = |key: &'static str, value: Value| {
        let (server, admin) = (&server, &admin);
        async move {
            server
                .request(Method::PUT, &format!("/api/v1/settings/{key}"), Some(admin), Some(json!({"value": value})))
                .await
        }
    };
    for bad in [json!(-1), json!(1.5), json!("30"), json!(36_501), json!(null), json!(true)] {
        let r = put("history_retention_days", bad.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_argument"), "{bad}: {}", r.text);
    }
    let r = put("audit_retention_days", json!(0)).await;
    assert_eq!((r.status, &r.json["value"]), (StatusCode::OK, &json!(0)), "{}", r.text);
    let r = put("job_retention_days", json!(36_500)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let dry = purge(&env, &["--dry-run", "--format", "json"]).await;
    assert_eq!(dry.json()["policy"], json!({"history_days": 90, "audit_days": 0, "job_days": 36_500}), "{dry:?}");
    assert_eq!(server.terminate().await, 0);
}

pub fn tests() -> Group {
    Group::new("retention").tests(tests![the_purge_command_and_the_servers_schedule_apply_retention])
}
