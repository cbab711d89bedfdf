//! `datagenie bench gold`: it runs each gold query directly on the user's file to compare its rows with `ask`'s —
//! the one place where SQL the guard has not approved reaches a database. That connection carries the connector's
//! protections: a gold query that would write is refused and leaves no file behind, and the database is unchanged.

use datagenie_testkit::{Group, tests};

use crate::harness::{Env, file_bytes, shop_db};

async fn gold_queries_that_would_write_are_refused_and_create_no_file() {
    let env = Env::new();
    let spider = env.path("spider");
    let db_dir = spider.join("database").join("shop");
    std::fs::create_dir_all(&db_dir).expect("database dir");
    let db = db_dir.join("shop.sqlite");
    shop_db(&db);
    let before = file_bytes(&db);
    // Both write a new file even on a connection opened read-only; VACUUM INTO would copy the whole database.
    let copy = env.path("copy.db");
    let attached = env.path("attached.db");
    let writes = [
        format!("VACUUM INTO '{}'", copy.display()),
        format!("ATTACH DATABASE '{}' AS x", attached.display()),
        "CREATE TEMP TABLE scratch AS SELECT 1 AS x".to_string(),
        "INSERT INTO customers (id, name) VALUES (99, 'intruder')".to_string(),
    ];
    let reads = ["SELECT count(*) FROM orders", "SELECT name FROM customers ORDER BY id"];
    let gold: String =
        reads.iter().map(|s| s.to_string()).chain(writes.iter().cloned()).map(|sql| format!("{sql}\tshop\n")).collect();
    std::fs::write(spider.join("gold.sql"), gold).expect("gold.sql");

    let spider_arg = spider.display().to_string();
    let out = env.run(&["bench", "gold", "--spider", &spider_arg]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for sql in &writes {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with("NOT RUNNABLE ON SQLITE") && l.contains(sql.as_str()))
            .unwrap_or_else(|| panic!("{sql} is not reported as refused:\n{}", out.stdout));
        // SQLite's words for the authorizer's refusal at prepare time (SQLITE_AUTH, or a plain error for an action).
        let refused = ["SQLite: not authorized", "SQLite: authorization denied"];
        assert!(refused.iter().any(|r| line.contains(r)), "{line}");
    }
    assert!(!out.stdout.contains("MISMATCH"), "{}", out.stdout);
    assert!(out.stdout.contains("gold queries: 6 in all; 2 run on SQLite"), "{}", out.stdout);
    assert!(!copy.exists(), "VACUUM INTO wrote {}", copy.display());
    assert!(!attached.exists(), "ATTACH created {}", attached.display());
    assert_eq!(file_bytes(&db), before, "the database file changed");
}

pub fn tests() -> Group {
    Group::new("bench").tests(tests![gold_queries_that_would_write_are_refused_and_create_no_file])
}
