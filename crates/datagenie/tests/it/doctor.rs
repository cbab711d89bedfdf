//! `datagenie doctor`: on a SQLite file (always), and on the PostgreSQL and MySQL/MariaDB servers named by
//! `DATAGENIE_TEST_POSTGRES_URL` / `DATAGENIE_TEST_MYSQL_URL` (admin logins, so the report must say they could
//! write). Least-privilege logins on the servers are covered by the connectors' conformance check `access_report`.

use datagenie_testkit::{Group, MYSQL, POSTGRES, Server, tests};

use crate::harness::{Env, file_bytes, shop_db};

async fn a_sqlite_file_is_safe_and_left_untouched() {
    let env = Env::new();
    let db = env.path("shop.db");
    shop_db(&db);
    let before = file_bytes(&db);
    let url = format!("sqlite://{}", db.display());

    let out = env.run(&["doctor", "--db", &url]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for needle in [
        "server  SQLite 3.",
        "✓ the session is read-only",
        "✓ the time limit is enforced",
        "(information: DataGenie opens it read-only)",
        "safe: DataGenie can use this database as it is",
    ] {
        assert!(out.stdout.contains(needle), "missing {needle:?} in:\n{}", out.stdout);
    }
    assert!(!out.stdout.contains('✗'), "{}", out.stdout);

    let out = env.run(&["doctor", "--db", &url, "--format", "json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["engine"], "SQLite");
    assert_eq!(v["write_scope"], "file");
    assert_eq!(v["can_write"], true, "the test's own user may write the file it created");
    assert_eq!(v["login"], serde_json::Value::Null);
    assert_eq!((v["read_only_session"].as_bool(), v["time_limit_enforced"].as_bool()), (Some(true), Some(true)));
    assert!(v["time_limit_probe_ms"].as_u64().is_some_and(|ms| (250..2000).contains(&ms)), "{v}");
    assert_eq!((v["safe"].as_bool(), v["warning"].is_null()), (Some(true), true));
    assert_eq!(v["database"], url.as_str());
    assert_eq!(file_bytes(&db), before, "doctor changed the database file");
}

async fn errors_exit_2_with_a_stable_code_and_no_password() {
    let env = Env::new();
    let out = env.run(&["doctor", "--db", "/no/such/file.db", "--format", "json"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.error_code(), "database_not_found");

    // Nothing listens on port 1.
    let out = env.run(&["doctor", "--db", "postgres://u:Doctor-secret-9@127.0.0.1:1/x", "--format", "json"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.error_code(), "database_unavailable");
    assert!(!out.stdout.contains("Doctor-secret-9") && !out.stderr.contains("Doctor-secret-9"), "{out:?}");

    let out = env.run(&["doctor", "--db", "/no/such/file.db"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("error[database_not_found]"), "{}", out.stderr);
}

/// An admin login on a server: the report must say it could write, with evidence, and exit 1 (`unsafe_login`),
/// while the session is still read-only and the time limit enforced.
async fn admin_login_is_reported_unsafe(server: Server, engine_prefix: &[&str]) {
    let url = server.admin_url();
    let env = Env::new();
    let out = env.run(&["doctor", "--db", &url, "--format", "json"]).await;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let v = out.json();
    let engine = v["engine"].as_str().unwrap_or_default().to_string();
    assert!(engine_prefix.contains(&engine.as_str()), "{v}");
    assert!(v["server_version"].as_str().is_some_and(|s| s.starts_with(&engine)), "{v}");
    assert_eq!(v["write_scope"], "login");
    assert_eq!(v["can_write"], true, "{v}");
    assert!(v["write_evidence"].as_array().is_some_and(|e| !e.is_empty()), "{v}");
    assert_eq!(v["read_only_session"], true, "{v}");
    assert_eq!(v["time_limit_enforced"], true, "{v}");
    assert_eq!(v["safe"], false);
    assert_eq!(v["warning"]["code"], "unsafe_login");

    let out = env.run(&["doctor", "--db", &url]).await;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("✗ the login could write"), "{}", out.stdout);
    assert!(out.stdout.contains("A least-privilege login for DataGenie"), "{}", out.stdout);
    assert!(out.stdout.contains("✓ the time limit is enforced"), "{}", out.stdout);
    assert!(out.stderr.contains("warning[unsafe_login]"), "{}", out.stderr);
}

async fn postgres_admin_login_is_reported_unsafe() {
    admin_login_is_reported_unsafe(POSTGRES, &["PostgreSQL"]).await;
}

async fn mysql_admin_login_is_reported_unsafe() {
    admin_login_is_reported_unsafe(MYSQL, &["MySQL", "MariaDB"]).await;
}

pub fn tests() -> Group {
    Group::new("doctor")
        .tests(tests![a_sqlite_file_is_safe_and_left_untouched, errors_exit_2_with_a_stable_code_and_no_password,])
        .needs(POSTGRES, tests![postgres_admin_login_is_reported_unsafe])
        .needs(MYSQL, tests![mysql_admin_login_is_reported_unsafe])
}
