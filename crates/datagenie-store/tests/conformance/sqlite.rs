//! SQLite in the store conformance suite: each fixture is a fresh `datagenie.db` in a temp dir, opened by
//! [`SqliteStore`] with a random master key; raw operations go through a separate rusqlite connection on the file.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use datagenie_store::{MasterKey, SYSTEM_DB_FILE, SecretBox, SqliteStore, Store};
use datagenie_testkit::Group;
use tempfile::TempDir;

use crate::suite::{self, Engine, Fixture};

pub struct SqliteEngine;

struct SqliteFixture {
    // kept for its lifetime: the directory goes when the fixture does
    _dir: TempDir,
    path: PathBuf,
    store: Arc<SqliteStore>,
}

fn raw(path: &PathBuf) -> Result<rusqlite::Connection, String> {
    let c = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
    c.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
    Ok(c)
}

#[async_trait]
impl Engine for SqliteEngine {
    fn name(&self) -> &'static str {
        "SQLite"
    }

    async fn create_fixture(&self) -> Result<Box<dyn Fixture>, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("data").join(SYSTEM_DB_FILE);
        let key = MasterKey::generate().map_err(|e| e.message)?;
        let store = SqliteStore::open(&path, SecretBox::for_connections(&key)).map_err(|e| e.message)?;
        Ok(Box::new(SqliteFixture { _dir: dir, path, store: Arc::new(store) }))
    }
}

#[async_trait]
impl Fixture for SqliteFixture {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    async fn tamper(&self, sql: &str) -> Result<(), String> {
        // around the append-only triggers, as someone with the file would
        let c = raw(&self.path)?;
        c.execute_batch("DROP TRIGGER IF EXISTS audit_logs_no_update; DROP TRIGGER IF EXISTS audit_logs_no_delete;")
            .map_err(|e| e.to_string())?;
        c.execute_batch(sql).map_err(|e| e.to_string())
    }

    async fn count(&self, sql: &str) -> Result<i64, String> {
        raw(&self.path)?.query_row(sql, [], |r| r.get(0)).map_err(|e| e.to_string())
    }

    async fn at_rest_contains(&self, needle: &[u8]) -> Result<bool, String> {
        let mut found = false;
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", self.path.display()));
            match std::fs::read(&file) {
                Ok(bytes) => found |= bytes.windows(needle.len()).any(|w| w == needle),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{}: {e}", file.display())),
            }
        }
        Ok(found)
    }

    async fn reopen_with(&self, key: &MasterKey) -> Result<Arc<dyn Store>, String> {
        Ok(Arc::new(SqliteStore::open(&self.path, SecretBox::for_connections(key)).map_err(|e| e.message)?))
    }

    async fn cleanup(&self) {}
}

suite::conformance_tests!(SqliteEngine);

/// The store shares its file and connections with the template store the CLI uses.
async fn templates_share_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(SYSTEM_DB_FILE);
    let key = MasterKey::generate().expect("key");
    let store = SqliteStore::open(&path, SecretBox::for_connections(&key)).expect("open");
    let templates = store.templates();
    assert_eq!(templates.path(), Some(path.as_path()));
    let added = templates
        .add(datagenie_store::NewTemplate {
            name: "count".into(),
            description: None,
            questions: vec!["how many orders".into()],
            sql: "SELECT count(*) FROM orders".into(),
            category: None,
            public: true,
            verified: true,
            connection: "sqlite:///shop.db".into(),
            dialect: datagenie_core::Dialect::Sqlite,
            owner: None,
        })
        .await
        .expect("add");
    // the CLI opens the same file on its own and sees the template; the store keeps working beside it
    let cli = datagenie_store::TemplateStore::open(&path).expect("cli open");
    assert_eq!(cli.get(&added.id).await.expect("get").map(|t| t.name), Some("count".to_string()));
    assert_eq!(
        store.schema_version().await.expect("version"),
        u32::try_from(datagenie_store::migrations::SQLITE.len()).expect("small")
    );
    store.ping().await.expect("ping");
}

/// The knowledge store, likewise: the server's (from the store) and the CLI's (opened alone) see the same items.
async fn knowledge_shares_the_store() {
    use datagenie_store::{KnowledgeKind, KnowledgeStore, NewKnowledgeItem};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(SYSTEM_DB_FILE);
    let key = MasterKey::generate().expect("key");
    let store = SqliteStore::open(&path, SecretBox::for_connections(&key)).expect("open");
    let owner = store.create_user(suite::new_user("teacher")).await.expect("user").id;
    let (knowledge, by) = (store.knowledge(), Some(owner.clone()));
    assert_eq!(knowledge.path(), Some(path.as_path()));
    let (added, created) = knowledge
        .upsert(NewKnowledgeItem {
            connection: "sqlite:///shop.db".into(),
            kind: KnowledgeKind::Glossary,
            name: "revenue".into(),
            body: serde_json::json!({"definition": "sum of paid orders"}),
            created_by: by,
        })
        .await
        .expect("upsert");
    assert!(created);
    let cli = KnowledgeStore::open(&path).expect("cli open");
    assert_eq!(cli.list("sqlite:///shop.db", None).await.expect("list"), vec![added]);
    assert_eq!(cli.version("sqlite:///shop.db").await.expect("version"), "1");
    // deleting the user who taught it keeps the item
    store.delete_user(&owner).await.expect("delete");
    assert_eq!(cli.list("sqlite:///shop.db", None).await.expect("list")[0].created_by, None);
}

/// Two stores on one file, as two processes (the CLI beside the server) have: each its own writer connection. The
/// IMMEDIATE transactions make them wait for each other instead of failing or interleaving: of 20 presentations of
/// one token spread over both, exactly one rotates, and 60 audit appends get seq 1..=60.
async fn two_stores_on_one_file_take_turns() {
    use datagenie_store::model::{NewAuditEntry, NewRefreshToken, NewUser, Role, Rotation, Timestamp, TokenLimits};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(SYSTEM_DB_FILE);
    let key = MasterKey::generate().expect("key");
    let a: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, SecretBox::for_connections(&key)).expect("open a"));
    let b: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, SecretBox::for_connections(&key)).expect("open b"));
    let u = a
        .create_user(NewUser {
            username: "dual".into(),
            email: "dual@example.com".into(),
            password_hash: "$argon2id$x".into(),
            full_name: None,
            role: Role::User,
            limits: TokenLimits::default(),
        })
        .await
        .expect("user");
    let day = Timestamp::now().plus(time::Duration::days(1));
    let login = b.create_login_session(&u.id, None, None, day).await.expect("login");
    let token = |hash: String| NewRefreshToken {
        user_id: u.id.clone(),
        family_id: login.id.clone(),
        token_hash: hash,
        expires_at: day,
        device_info: serde_json::json!({}),
    };
    a.insert_refresh_token(token(suite::h("dual"))).await.expect("insert");
    let now = Timestamp::now();
    let rotations: Vec<_> = (0..20)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            let next = token(suite::h(&format!("dual{i}")));
            tokio::spawn(async move { s.rotate_refresh_token(&suite::h("dual"), next, now).await })
        })
        .collect();
    let appends: Vec<_> = (0..60)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                let e =
                    NewAuditEntry { action: format!("a{i}"), resource_type: "t".into(), ..NewAuditEntry::default() };
                s.append_audit(e).await
            })
        })
        .collect();
    let mut rotated = 0;
    for r in rotations {
        match r.await.expect("task").expect("rotate: a store failed instead of waiting its turn") {
            Rotation::Rotated { .. } => rotated += 1,
            Rotation::Reused { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(rotated, 1);
    let mut seqs = Vec::new();
    for r in appends {
        seqs.push(r.await.expect("task").expect("append: a store failed instead of waiting its turn").seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=60).collect::<Vec<i64>>());
    assert_eq!(b.verify_audit().await.expect("verify"), Ok(60));
}

/// A fresh store in a temp dir (kept while the test runs).
fn fresh() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = MasterKey::generate().expect("key");
    let store = SqliteStore::open(&dir.path().join(SYSTEM_DB_FILE), SecretBox::for_connections(&key)).expect("open");
    (dir, store)
}

async fn side_templates() {
    let (_dir, store) = fresh();
    crate::side_stores::templates_behave(store.templates()).await;
}

async fn side_knowledge() {
    let (_dir, store) = fresh();
    crate::side_stores::knowledge_behaves(store.knowledge()).await;
}

pub fn tests() -> Group {
    Group::new("sqlite store conformance").tests(suite_tests()).tests(datagenie_testkit::tests![
        templates_share_the_store,
        knowledge_shares_the_store,
        two_stores_on_one_file_take_turns,
        side_templates,
        side_knowledge
    ])
}
