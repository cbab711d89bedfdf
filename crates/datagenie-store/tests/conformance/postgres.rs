//! PostgreSQL in the store conformance suite, on the server named by `DATAGENIE_TEST_POSTGRES_URL` (an admin login,
//! e.g. `postgres://postgres@127.0.0.1:5432/postgres`). Each fixture is a fresh schema of that database, put first
//! on the store's search path (`options=-csearch_path=…`, as an installation kept in a schema of its own would be):
//! the store migrates it from nothing. Raw operations go through a separate admin session on the same schema, with
//! `session_replication_role = replica` for tampering (which switches the audit table's append-only triggers off,
//! as an owner of the database could). What is kept at rest is read as the tables' binary COPY: the bytes of every
//! stored value, bytea included.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use datagenie_store::{MasterKey, PgStore, SecretBox, Store};
use datagenie_testkit::{Group, POSTGRES};
use futures_util::TryStreamExt;

use crate::suite::{self, Engine, Fixture};

pub struct PgEngine;

struct PgFixture {
    schema: String,
    config: tokio_postgres::Config,
    store: Arc<PgStore>,
}

/// A name no other test (or test process) uses at the same time.
fn unique_schema() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("dg_store_{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos % 1_000_000)
}

fn admin_config() -> Result<tokio_postgres::Config, String> {
    POSTGRES.admin_url().parse().map_err(|e| format!("{}: {e}", POSTGRES.var))
}

/// The server's message (tokio-postgres's `Display` says only "db error").
fn pg_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|db| db.message().to_string()).unwrap_or_else(|| e.to_string())
}

/// An admin session whose search path is `schema`. Its connection task runs on the test's runtime.
async fn session(config: &tokio_postgres::Config) -> Result<tokio_postgres::Client, String> {
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("cannot reach the PostgreSQL server of {}: {}", POSTGRES.var, pg_message(&e)))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The store's configuration: the admin URL with `schema` first on the search path.
pub fn schema_config(schema: &str) -> Result<tokio_postgres::Config, String> {
    let mut config = admin_config()?;
    config.options(format!("-csearch_path={schema}"));
    Ok(config)
}

/// A fresh, empty schema; the configuration that puts it first on the search path.
pub async fn fresh_schema() -> Result<(String, tokio_postgres::Config), String> {
    let schema = unique_schema();
    let admin = session(&admin_config()?).await?;
    admin.batch_execute(&format!("CREATE SCHEMA {schema}")).await.map_err(|e| pg_message(&e))?;
    Ok((schema.clone(), schema_config(&schema)?))
}

pub async fn drop_schema(schema: &str) {
    if let Ok(config) = admin_config()
        && let Ok(admin) = session(&config).await
    {
        let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    }
}

/// A store on `config` with `key`.
pub async fn open(config: &tokio_postgres::Config, key: &MasterKey) -> Result<PgStore, String> {
    PgStore::connect(config.clone(), tokio_postgres::NoTls, SecretBox::for_connections(key), "test".into(), 8)
        .await
        .map_err(|e| e.message)
}

#[async_trait]
impl Engine for PgEngine {
    fn name(&self) -> &'static str {
        "PostgreSQL"
    }

    async fn create_fixture(&self) -> Result<Box<dyn Fixture>, String> {
        let (schema, config) = fresh_schema().await?;
        let key = MasterKey::generate().map_err(|e| e.message)?;
        match open(&config, &key).await {
            Ok(store) => Ok(Box::new(PgFixture { schema, config, store: Arc::new(store) })),
            Err(e) => {
                drop_schema(&schema).await;
                Err(e)
            }
        }
    }
}

#[async_trait]
impl Fixture for PgFixture {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    async fn tamper(&self, sql: &str) -> Result<(), String> {
        let c = session(&self.config).await?;
        c.batch_execute("SET session_replication_role = replica").await.map_err(|e| pg_message(&e))?;
        c.batch_execute(sql).await.map_err(|e| pg_message(&e))
    }

    async fn count(&self, sql: &str) -> Result<i64, String> {
        let c = session(&self.config).await?;
        let row = c.query_one(sql, &[]).await.map_err(|e| pg_message(&e))?;
        // count(*) is bigint; a sum of bigints is numeric: read either as an integer
        match row.try_get::<_, i64>(0) {
            Ok(n) => Ok(n),
            Err(_) => {
                let text = c
                    .query_one(&format!("SELECT ({sql})::text"), &[])
                    .await
                    .map_err(|e| pg_message(&e))?
                    .try_get::<_, String>(0)
                    .map_err(|e| e.to_string())?;
                text.parse().map_err(|e| format!("{text}: {e}"))
            }
        }
    }

    async fn at_rest_contains(&self, needle: &[u8]) -> Result<bool, String> {
        let c = session(&self.config).await?;
        let tables = c
            .query("SELECT tablename FROM pg_tables WHERE schemaname = $1", &[&self.schema])
            .await
            .map_err(|e| pg_message(&e))?;
        for row in tables {
            let table: String = row.try_get(0).map_err(|e| e.to_string())?;
            let stream = c
                .copy_out(&format!("COPY {}.{table} TO STDOUT (FORMAT binary)", self.schema))
                .await
                .map_err(|e| pg_message(&e))?;
            let chunks: Vec<bytes::Bytes> = stream.try_collect().await.map_err(|e| pg_message(&e))?;
            let all: Vec<u8> = chunks.concat();
            if all.windows(needle.len()).any(|w| w == needle) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn reopen_with(&self, key: &MasterKey) -> Result<Arc<dyn Store>, String> {
        Ok(Arc::new(open(&self.config, key).await?))
    }

    async fn cleanup(&self) {
        self.store.close();
        drop_schema(&self.schema).await;
    }
}

suite::conformance_tests!(PgEngine);

/// Two servers starting together on one empty schema migrate it once; a third later finds it up to date.
async fn concurrent_servers_migrate_once() {
    let (schema, config) = fresh_schema().await.expect("schema");
    let key = MasterKey::generate().expect("key");
    let (a, b) = tokio::join!(open(&config, &key), open(&config, &key));
    let (a, b) = (a.expect("server a"), b.expect("server b"));
    assert_eq!(a.schema_version().await.expect("version"), b.schema_version().await.expect("version"));
    let c = open(&config, &key).await.expect("server c");
    assert_eq!(
        c.schema_version().await.expect("version"),
        u32::try_from(datagenie_store::migrations::POSTGRES.len()).expect("small")
    );
    let admin = session(&config).await.expect("admin");
    let n: i64 = admin.query_one("SELECT count(*) FROM datagenie_migrations", &[]).await.expect("count").get(0);
    assert_eq!(n, i64::try_from(datagenie_store::migrations::POSTGRES.len()).expect("small"));
    // an edited migration, and a database from a newer DataGenie, refuse to start
    admin.batch_execute("UPDATE datagenie_migrations SET checksum = 'x' WHERE version = 1").await.expect("edit");
    let e = open(&config, &key).await.expect_err("edited");
    assert!(e.contains("must never be edited"), "{e}");
    admin
        .batch_execute(&format!(
            "UPDATE datagenie_migrations SET checksum = '{}' WHERE version = 1;
             INSERT INTO datagenie_migrations (version, name, checksum) VALUES (999, 'future', 'f')",
            datagenie_store::migrations::POSTGRES[0].checksum()
        ))
        .await
        .expect("future");
    let e = open(&config, &key).await.expect_err("newer");
    assert!(e.contains("newer than this DataGenie knows"), "{e}");
    for s in [a, b, c] {
        s.close();
    }
    drop_schema(&schema).await;
}

/// A server that cannot be reached is a `system_database` error naming no password.
async fn an_unreachable_server_is_a_clear_error() {
    let mut config = admin_config().expect("config");
    config.port(1).password(suite::SECRET).connect_timeout(std::time::Duration::from_secs(2));
    let key = MasterKey::generate().expect("key");
    let e = PgStore::connect(
        config,
        tokio_postgres::NoTls,
        SecretBox::for_connections(&key),
        "postgres://postgres@127.0.0.1:1/postgres".into(),
        2,
    )
    .await
    .expect_err("unreachable");
    assert_eq!(e.code, datagenie_core::ErrorCode::SystemDatabase, "{e:?}");
    assert!(e.message.contains("127.0.0.1:1"), "{}", e.message);
    assert!(!e.message.contains(suite::SECRET) && !format!("{e:?}").contains(suite::SECRET));
}

/// A connection the server drops (an administrator's `pg_terminate_backend`, a restart) is replaced: the next
/// calls succeed on a new one.
async fn a_dropped_connection_is_replaced() {
    let (schema, mut config) = fresh_schema().await.expect("schema");
    // a name of its own: the other tests' stores, running beside it, keep their connections
    config.application_name(&schema);
    let key = MasterKey::generate().expect("key");
    let store = open(&config, &key).await.expect("open");
    store.ping().await.expect("ping");
    let admin = session(&admin_config().expect("config")).await.expect("admin");
    let killed: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
            &[&schema],
        )
        .await
        .expect("terminate")
        .get(0);
    assert!(killed >= 1, "no store connection was open");
    for _ in 0..5 {
        store.ping().await.expect("ping after the drop");
        assert!(store.settings().await.expect("settings").len() >= 5);
    }
    store.close();
    drop_schema(&schema).await;
}

/// Everything a reader sees through the store, templates and knowledge, for comparing two installations.
async fn snapshot(
    s: &dyn Store,
    templates: &datagenie_store::TemplateStore,
    knowledge: &datagenie_store::KnowledgeStore,
    connection: &str,
) -> String {
    use datagenie_store::model::{AuditFilter, HistoryFilter, PageRequest};
    let big = PageRequest::first(datagenie_store::model::MAX_PAGE);
    let users = s.list_users(&big).await.expect("users").items;
    let mut out = Vec::new();
    out.push(format!("{users:?}"));
    for u in &users {
        out.push(format!("{:?}", s.list_api_keys(&u.id, &big).await.expect("keys").items));
        out.push(format!("{:?}", s.list_chat_sessions(&u.id, &big).await.expect("chats").items));
        for chat in s.list_chat_sessions(&u.id, &big).await.expect("chats").items {
            out.push(format!("{:?}", s.list_chat_messages(&chat.id, &big).await.expect("messages").items));
        }
        out.push(format!("{:?}", s.usage_since(&u.id, suite::t("2000-01-01T00:00:00Z")).await.expect("usage")));
    }
    let connections = s.list_connections(None, &big).await.expect("connections").items;
    out.push(format!("{connections:?}"));
    for c in &connections {
        out.push(s.connection_url(&c.id).await.expect("url").expose().to_string());
        out.push(format!("{:?}", s.list_permissions(&c.id).await.expect("permissions")));
        out.push(format!("{:?}", s.schema_snapshot(&c.id).await.expect("snapshot")));
        out.push(format!("{:?}", s.verified_examples(&c.id, 10).await.expect("examples")));
    }
    let history = s.list_history(&HistoryFilter::default(), &big).await.expect("history").items;
    for h in &history {
        out.push(format!("{:?}", s.analysis(&h.id).await.expect("analysis")));
        out.push(format!("{:?}", s.stored_result(&h.id).await.expect("result")));
    }
    out.push(format!("{history:?}"));
    out.push(format!(
        "{:?}",
        s.settings().await.expect("settings").into_iter().map(|x| (x.key, x.value)).collect::<Vec<_>>()
    ));
    out.push(format!("{:?}", s.list_audit(&AuditFilter::default(), &big).await.expect("audit").items));
    out.push(format!("{:?}", s.verify_audit().await.expect("verify")));
    out.push(format!(
        "{:?}",
        s.usage_report(None, datagenie_store::model::UsageGroup::Model, None, None).await.expect("report")
    ));
    out.push(format!("{:?}", templates.list(None).await.expect("templates")));
    let items = knowledge.list(connection, None).await.expect("knowledge");
    out.push(format!("{items:?}"));
    out.push(knowledge.version(connection).await.expect("version"));
    let keys: Vec<String> = vec![datagenie_store::knowledge::content_key("revenue")];
    let mut vectors: Vec<_> = knowledge.vectors("m", &keys).await.expect("vectors").into_iter().collect();
    vectors.sort_by(|a, b| a.0.cmp(&b.0));
    out.push(format!("{vectors:?}"));
    out.join("\n")
}

/// `datagenie system-db copy`: an installation on SQLite moves to PostgreSQL and back, and reads the same through
/// the store on each; a target that is not empty is refused and left as it was.
async fn an_installation_moves_between_engines() {
    use datagenie_store::copy::{Side, copy};
    use datagenie_store::model::*;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = MasterKey::generate().expect("key");
    let sqlite =
        datagenie_store::SqliteStore::open(&dir.path().join("a.db"), SecretBox::for_connections(&key)).expect("open");
    let s: &dyn Store = &sqlite;
    let u = suite::user(s, "mover").await;
    let c = s.create_connection(suite::new_connection("shop", suite::SECRET)).await.expect("connection");
    s.put_permission(Permission {
        user_id: u.id.clone(),
        connection_id: c.id.clone(),
        can_query: true,
        allowed_schemas: None,
        allowed_tables: Some(vec!["orders".into()]),
        row_filters: vec![],
        attributes: [("region".to_string(), serde_json::json!("KR"))].into_iter().collect(),
        max_rows: Some(10),
        max_seconds: None,
        can_unmask: false,
        updated_at: Timestamp::now(),
    })
    .await
    .expect("permission");
    let day = Timestamp::now().plus(time::Duration::days(1));
    let login = s.create_login_session(&u.id, Some("10.0.0.1"), Some("agent"), day).await.expect("login");
    let token = |hash: String| NewRefreshToken {
        user_id: u.id.clone(),
        family_id: login.id.clone(),
        token_hash: hash,
        expires_at: day,
        device_info: serde_json::json!({"os": "x"}),
    };
    s.insert_refresh_token(token(suite::h("first"))).await.expect("token");
    let chat = s.create_chat_session(&u.id, Some(&c.id), Some("numbers")).await.expect("chat");
    for i in 0..3 {
        let mut q =
            suite::question(&u.id, suite::t(&format!("2026-01-0{}T10:00:00.123Z", i + 1)), 100 + i, 10, Some("gpt-4o"));
        q.entry.connection_id = Some(c.id.clone());
        q.entry.session_id = (i == 0).then(|| chat.id.clone());
        q.analysis = Some(Analysis {
            chart_type: Some("bar".into()),
            chart_spec: Some(serde_json::json!({"mark": "bar", "a": [1, 2.5]})),
            summary: Some("up".into()),
            insights: None,
        });
        q.result =
            Some(StoredResult { columns: vec!["n".into()], rows: serde_json::json!([[1], [null]]), truncated: false });
        q.audit = Some(NewAuditEntry {
            action: "question.ask".into(),
            resource_type: "connection".into(),
            new_values: Some(serde_json::json!({"b": 1, "a": [true]})),
            ..NewAuditEntry::default()
        });
        let recorded = s.record_question(q).await.expect("record");
        if i == 1 {
            s.set_history_verified(&recorded.history_id, Some(&u.id), Timestamp::now()).await.expect("verify");
        }
    }
    s.set_setting("max_query_rows", serde_json::json!(500), Some(&u.id)).await.expect("setting");
    s.record_event(NewEvent {
        event_type: "server.start".into(),
        user_id: None,
        data: Some(serde_json::json!({"v": 1})),
        ip_address: None,
        user_agent: None,
        session_id: None,
    })
    .await
    .expect("event");
    let templates = sqlite.templates();
    templates
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
            owner: Some(u.id.clone()),
        })
        .await
        .expect("template");
    let knowledge = sqlite.knowledge();
    knowledge
        .upsert(datagenie_store::NewKnowledgeItem {
            connection: "sqlite:///shop.db".into(),
            kind: datagenie_store::KnowledgeKind::Glossary,
            name: "revenue".into(),
            body: serde_json::json!({"definition": "paid orders", "synonyms": ["sales"]}),
            created_by: Some(u.id.clone()),
        })
        .await
        .expect("knowledge");
    knowledge
        .put_vectors("m", &[(datagenie_store::knowledge::content_key("revenue"), vec![0.5, -1.25, 3.0])])
        .await
        .expect("vectors");
    let before = snapshot(s, &templates, &knowledge, "sqlite:///shop.db").await;

    let (schema, config) = fresh_schema().await.expect("schema");
    let pg = open(&config, &key).await.expect("pg");
    let report = copy(Side::Sqlite(&sqlite), Side::Postgres(&pg)).await.expect("copy to PostgreSQL");
    let rows = |table: &str| report.tables.iter().find(|(t, _)| t == table).map(|(_, n)| *n);
    assert_eq!(
        (rows("users"), rows("query_history"), rows("audit_logs"), rows("chat_messages")),
        (Some(1), Some(3), Some(3), Some(2))
    );
    assert_eq!(report.audit_rows, 3);
    let on_pg = snapshot(&pg, &pg.templates(), &pg.knowledge(), "sqlite:///shop.db").await;
    assert_eq!(on_pg, before, "PostgreSQL reads differently");
    // the copied login still works there, and the chain goes on
    let next =
        pg.rotate_refresh_token(&suite::h("first"), token(suite::h("second")), Timestamp::now()).await.expect("rotate");
    assert!(matches!(next, Rotation::Rotated { .. }), "{next:?}");
    assert_eq!(
        pg.append_audit(NewAuditEntry {
            action: "after".into(),
            resource_type: "t".into(),
            ..NewAuditEntry::default()
        })
        .await
        .expect("append")
        .seq,
        4
    );

    // a second copy into the same database is refused, and changes nothing
    let again = copy(Side::Sqlite(&sqlite), Side::Postgres(&pg)).await.expect_err("not empty");
    assert_eq!(again.code, datagenie_core::ErrorCode::AlreadyExists, "{again:?}");
    assert_eq!(pg.verify_audit().await.expect("verify"), Ok(4));
    let same = copy(Side::Sqlite(&sqlite), Side::Sqlite(&sqlite)).await.expect_err("same engine");
    assert_eq!(same.code, datagenie_core::ErrorCode::InvalidArgument);

    // and back, into a fresh SQLite file
    let back =
        datagenie_store::SqliteStore::open(&dir.path().join("b.db"), SecretBox::for_connections(&key)).expect("open b");
    let report = copy(Side::Postgres(&pg), Side::Sqlite(&back)).await.expect("copy back");
    assert_eq!(report.audit_rows, 4);
    let after = snapshot(&back, &back.templates(), &back.knowledge(), "sqlite:///shop.db").await;
    assert_eq!(
        after,
        snapshot(&pg, &pg.templates(), &pg.knowledge(), "sqlite:///shop.db").await,
        "the way back reads differently"
    );
    pg.close();
    drop_schema(&schema).await;
}

/// `datagenie system-db copy` of an installation whose audit chain retention pruned: the anchor moves with the
/// rows, the chain verifies on the other side (the copy checks it) and goes on there, and back; the copy's list of
/// tables is every table of both engines.
async fn a_pruned_chain_moves_between_engines() {
    use datagenie_store::copy::{Side, TABLES, copy};
    use datagenie_store::retention::RetentionPolicy;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = MasterKey::generate().expect("key");
    let sqlite =
        datagenie_store::SqliteStore::open(&dir.path().join("a.db"), SecretBox::for_connections(&key)).expect("open");
    let old = suite::old_audit_rows(&sqlite, 5).await;
    for i in 0..3 {
        sqlite
            .append_audit(datagenie_store::model::NewAuditEntry {
                action: format!("recent.{i}"),
                resource_type: "t".into(),
                ..Default::default()
            })
            .await
            .expect("append");
    }
    let now = old[4].created_at.plus(time::Duration::milliseconds(1)).plus(time::Duration::days(1));
    let policy = RetentionPolicy { history_days: 90, audit_days: 1, job_days: 7 };
    let pruned = sqlite.purge_expired(policy, now, false).await.expect("purge");
    assert_eq!((pruned.audit_rows, pruned.audit_anchor), (5, 5));
    let anchor = sqlite.audit_anchor().await.expect("anchor").expect("an anchor");

    let (schema, config) = fresh_schema().await.expect("schema");
    let pg = open(&config, &key).await.expect("pg");
    let report = copy(Side::Sqlite(&sqlite), Side::Postgres(&pg)).await.expect("copy to PostgreSQL");
    assert_eq!(report.audit_rows, 4, "rows 6..=8 and the run's row 9");
    assert_eq!(report.tables.iter().find(|(t, _)| t == "audit_anchor").map(|(_, n)| *n), Some(1));
    assert_eq!(pg.audit_anchor().await.expect("anchor"), Some(anchor.clone()));
    let next = pg
        .append_audit(datagenie_store::model::NewAuditEntry {
            action: "after".into(),
            resource_type: "t".into(),
            ..Default::default()
        })
        .await
        .expect("append");
    assert_eq!(next.seq, 10);
    assert_eq!(pg.verify_audit().await.expect("verify"), Ok(5));

    let back =
        datagenie_store::SqliteStore::open(&dir.path().join("b.db"), SecretBox::for_connections(&key)).expect("open b");
    let report = copy(Side::Postgres(&pg), Side::Sqlite(&back)).await.expect("copy back");
    assert_eq!(report.audit_rows, 5);
    assert_eq!(back.audit_anchor().await.expect("anchor"), Some(anchor));
    assert_eq!(back.verify_audit().await.expect("verify"), Ok(5));

    // the list of tables is both engines' tables, each once
    let mut listed: Vec<String> = TABLES.iter().map(|t| (*t).to_string()).collect();
    listed.sort();
    let on_sqlite: Vec<String> = back
        .system_db()
        .read("list tables", |c| {
            let mut stmt = c.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                   AND name <> 'datagenie_migrations' ORDER BY name",
            )?;
            stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()
        })
        .expect("sqlite tables");
    assert_eq!(on_sqlite, listed, "SQLite's tables");
    let admin = session(&config).await.expect("admin");
    let on_pg: Vec<String> = admin
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 AND tablename <> 'datagenie_migrations'
             ORDER BY tablename COLLATE \"C\"",
            &[&schema],
        )
        .await
        .expect("pg tables")
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    assert_eq!(on_pg, listed, "PostgreSQL's tables");
    pg.close();
    drop_schema(&schema).await;
}

/// Two servers (two stores, each its own pool) debit one balance 500 times at once: exactly the balance goes
/// through, and it ends equal to the ledger's sum.
async fn credits_race_across_two_servers() {
    use datagenie_store::model::{CreditChange, CreditKind};
    let (schema, config) = fresh_schema().await.expect("schema");
    let key = MasterKey::generate().expect("key");
    let (a, b) = (open(&config, &key).await.expect("a"), open(&config, &key).await.expect("b"));
    let (a, b): (Arc<dyn Store>, Arc<dyn Store>) = (Arc::new(a), Arc::new(b));
    let u = suite::user(a.as_ref(), "shared").await;
    let change = |amount, kind| CreditChange {
        user_id: u.id.clone(),
        amount,
        kind,
        history_id: None,
        description: None,
        by: None,
        monthly: None,
    };
    a.apply_credits(change(250, CreditKind::AdminAdjustment)).await.expect("grant");
    let debits: Vec<_> = (0..500)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            let c = change(-1, CreditKind::Question);
            tokio::spawn(async move { s.apply_credits(c).await })
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for d in debits {
        match d.await.expect("task") {
            Ok(_) => ok += 1,
            Err(e) if e.code == datagenie_core::ErrorCode::InsufficientCredits => refused += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((ok, refused), (250, 250));
    assert_eq!(b.credit_balance(&u.id).await.expect("read").map(|x| x.balance), Some(0));
    let admin = session(&config).await.expect("admin");
    let sum: i64 = admin
        .query_one("SELECT sum(amount)::bigint FROM credit_transactions WHERE user_id = $1", &[&u.id])
        .await
        .expect("sum")
        .get(0);
    assert_eq!(sum, 0);
    drop_schema(&schema).await;
}

/// The template store on PostgreSQL behaves as on SQLite.
async fn side_templates() {
    let (schema, config) = fresh_schema().await.expect("schema");
    let store = open(&config, &MasterKey::generate().expect("key")).await.expect("open");
    crate::side_stores::templates_behave(store.templates()).await;
    store.close();
    drop_schema(&schema).await;
}

/// The knowledge store on PostgreSQL behaves as on SQLite.
async fn side_knowledge() {
    let (schema, config) = fresh_schema().await.expect("schema");
    let store = open(&config, &MasterKey::generate().expect("key")).await.expect("open");
    crate::side_stores::knowledge_behaves(store.knowledge()).await;
    store.close();
    drop_schema(&schema).await;
}

pub fn tests() -> Group {
    Group::new("postgres store conformance").needs(
        POSTGRES,
        suite_tests()
            .into_iter()
            .chain(datagenie_testkit::tests![
                concurrent_servers_migrate_once,
                an_unreachable_server_is_a_clear_error,
                a_dropped_connection_is_replaced,
                an_installation_moves_between_engines,
                a_pruned_chain_moves_between_engines,
                side_templates,
                side_knowledge,
                credits_race_across_two_servers
            ])
            .collect(),
    )
}
