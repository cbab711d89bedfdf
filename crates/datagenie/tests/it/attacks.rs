//! Attack statements from the guard's corpus, replied by a scripted LLM, drive `ask` on a real SQLite file: nothing
//! may change the file, every run ends within its time limit, and SQLite's own attacks are all refused (exit 1).

use std::path::{Path, PathBuf};
use std::time::Duration;

use datagenie_testkit::{Group, tests};

use crate::harness::{Env, file_bytes, shop_db};
use crate::scripted_llm::{ScriptedLlm, reply};

pub(crate) struct Attack {
    pub(crate) origin: String,
    pub(crate) sql: String,
}

fn corpus(dialect: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../datagenie-core/tests/corpus").join(dialect).join("reject.sql")
}

/// Entries of a reject corpus file that are refused under the default policy (entries with a `-- policy:` line
/// are refusals only under that policy).
pub(crate) fn attacks(dialect: &str) -> Vec<Attack> {
    let path = corpus(dialect);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for (i, block) in text.split("\n-- ---\n").enumerate() {
        let mut lines = block.lines().peekable();
        let (mut expect, mut policy) = (false, false);
        while let Some(l) = lines.peek() {
            let directive = ["-- expect:", "-- contains:", "-- why:", "-- policy:"].iter().find(|d| l.starts_with(**d));
            match directive {
                Some(d) => {
                    expect |= *d == "-- expect:";
                    policy |= *d == "-- policy:";
                    lines.next();
                }
                None => break,
            }
        }
        let sql: Vec<&str> = lines.collect();
        if expect && !policy {
            out.push(Attack { origin: format!("{dialect} entry {i}"), sql: sql.join("\n") });
        }
    }
    out
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), file_bytes(&e.path())))
        .collect();
    files.sort();
    files
}

async fn attack_replies_never_change_the_database() {
    let llm = ScriptedLlm::start(vec![]).await;
    let mut env = Env::with_openai(&llm.base_url);
    env.set("DATAGENIE_ASK__MAX_ATTEMPTS", "1");
    let dbdir = env.path("db");
    std::fs::create_dir_all(&dbdir).expect("mkdir");
    let db = dbdir.join("shop.db");
    shop_db(&db);
    // The attacks name tables such as `users`; give them one, with a secret to steal.
    rusqlite::Connection::open(&db)
        .and_then(|c| c.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, password TEXT, is_admin INT); INSERT INTO users VALUES (1, 'admin', 'hunter2', 1);"))
        .expect("users");
    let before = snapshot(&dbdir);
    let dbs = db.to_str().unwrap_or_default().to_string();

    let mut total = 0;
    for dialect in ["sqlite", "postgres", "mysql"] {
        let list = attacks(dialect);
        assert!(list.len() >= 40, "{dialect}: only {} attacks read", list.len());
        for attack in list {
            total += 1;
            let llm = ScriptedLlm::start(vec![reply(format!("```sql\n{}\n```", attack.sql))]).await;
            env.set("DATAGENIE_LLM__BASE_URL", &llm.base_url);
            let out = env
                .run_within(
                    &["ask", "--db", &dbs, "--format", "json", "--no-summary", "--timeout", "2", "show me everything"],
                    Duration::from_secs(30),
                )
                .await;
            if dialect == "sqlite" {
                assert_eq!(out.code, 1, "{}: not refused:\n{}\n{}", attack.origin, attack.sql, out.stdout);
            } else {
                assert!([0, 1, 2].contains(&out.code), "{}: crashed: {}", attack.origin, out.stderr);
            }
            assert!(!out.stdout.contains("hunter2") || dialect != "sqlite", "{}: leaked a password", attack.origin);
            assert_eq!(snapshot(&dbdir), before, "{} changed the database directory:\n{}", attack.origin, attack.sql);
        }
    }
    assert!(total >= 150, "only {total} attacks ran");
}

pub fn tests() -> Group {
    Group::new("attacks").tests(tests![attack_replies_never_change_the_database])
}
