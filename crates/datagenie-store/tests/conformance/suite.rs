//! The generic checks every store passes, written against `Arc<dyn Store>`, and the traits an engine implements to
//! run them.
//!
//! # Taking part
//!
//! An engine module implements [`Engine`] (builds a fresh, empty, migrated system database and its store) and
//! [`Fixture`] (the store under test, plus the raw operations below, which go around the store as someone with
//! access to the database would), then expands `crate::suite::conformance_tests!(engine_expr);`. Each check below
//! becomes a test of the same name in the engine's module.
//!
//! The raw SQL the checks send through [`Fixture::tamper`] and [`Fixture::count`] is plain SQL that SQLite and
//! PostgreSQL both read (UPDATE, DELETE, INSERT … SELECT, CREATE TABLE … AS SELECT, count(*)).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use datagenie_core::{ErrorCode, SecretUrl};
use datagenie_store::MasterKey;
use datagenie_store::Store;
use datagenie_store::audit::row_hash;
use datagenie_store::model::*;
use datagenie_store::retention::{PurgeReport, RetentionPolicy};
use serde_json::json;

/// A password that must never be found at rest, in an error or in debug output.
pub const SECRET: &str = "Sup3r-s3cret-pw";

/// An engine taking part in the suite.
#[async_trait]
pub trait Engine: Send + Sync {
    /// For messages: `SQLite`, `PostgreSQL`.
    fn name(&self) -> &'static str;

    /// A fresh, empty system database with its migrations applied, and a store on it.
    async fn create_fixture(&self) -> Result<Box<dyn Fixture>, String>;
}

/// One fresh system database.
#[async_trait]
pub trait Fixture: Send + Sync {
    /// The store under test.
    fn store(&self) -> Arc<dyn Store>;

    /// Runs SQL on the database directly, around the store and around any guard the engine puts on the audit table
    /// (triggers, grants): what someone with the database's files or admin login could do.
    async fn tamper(&self, sql: &str) -> Result<(), String>;

    /// The single integer a query returns (a count), read directly.
    async fn count(&self, sql: &str) -> Result<i64, String>;

    /// Whether the bytes the engine keeps at rest (files, journal) contain `needle`.
    async fn at_rest_contains(&self, needle: &[u8]) -> Result<bool, String>;

    /// A second store on the same database whose master key is `key`.
    async fn reopen_with(&self, key: &MasterKey) -> Result<Arc<dyn Store>, String>;

    /// Drops the database (best effort, never panics).
    async fn cleanup(&self);
}

/// Expands to one async test function per generic check, for the engine `$engine` (an expression of a type
/// implementing [`Engine`], evaluated in each test), and to `fn suite_tests() -> Vec<Test>` listing them.
macro_rules! conformance_tests {
    ($engine:expr) => {
        $crate::suite::conformance_tests!(@each $engine;
            basics, users, refresh_rotation, concurrent_rotation, api_keys, connections, permissions,
            record_question, concurrent_writes_fail_alone, chat_sequences, history_pagination, verified_history,
            usage_windows, settings, audit_chain, audit_tampering, events, counters, credits, credits_race,
            jobs_queue, jobs_race, retention, retention_race, file_contents, job_exports);
    };
    (@each $engine:expr; $($check:ident),+ $(,)?) => {
        $(
            async fn $check() {
                $crate::suite::run(&$engine, $crate::suite::$check).await;
            }
        )+

        /// The generic checks, as tests of this module.
        fn suite_tests() -> ::std::vec::Vec<::datagenie_testkit::Test> {
            ::datagenie_testkit::tests![$($check),+]
        }
    };
}
pub(crate) use conformance_tests;

/// A check's future.
pub type BoxedCheck<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A check: runs against one fixture, panicking on failure.
pub type Check = for<'a> fn(&'a dyn Fixture) -> BoxedCheck<'a>;

/// Builds a fixture, runs `check` on it and cleans up — also when the check panics (the panic then goes on).
pub async fn run<E: Engine>(engine: &E, check: Check) {
    let fixture = match engine.create_fixture().await {
        Ok(f) => f,
        Err(e) => panic!("{}: building the fixture failed: {e}", engine.name()),
    };
    let outcome = CatchUnwind { inner: check(fixture.as_ref()) }.await;
    fixture.cleanup().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

struct CatchUnwind<'a> {
    inner: BoxedCheck<'a>,
}

impl Future for CatchUnwind<'_> {
    type Output = std::thread::Result<()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

// --- helpers

pub fn t(text: &str) -> Timestamp {
    Timestamp::parse(text).expect("a test time")
}

fn minutes(n: i64) -> time::Duration {
    time::Duration::minutes(n)
}

/// The present moment at millisecond precision (what stores keep).
fn now_ms() -> Timestamp {
    Timestamp::parse(&Timestamp::now().to_rfc3339()).expect("time")
}

/// A hash-shaped string (64 hex characters) for `label`: refresh-token and API-key hashes.
pub fn h(label: &str) -> String {
    let hex: String = label.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{hex:0>64}")
}

pub fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        email: format!("{name}@example.com"),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${name}hash"),
        full_name: Some(format!("{name} Kim")),
        role: Role::User,
        limits: TokenLimits::default(),
    }
}

pub async fn user(s: &dyn Store, name: &str) -> User {
    s.create_user(new_user(name)).await.expect("create user")
}

pub fn new_connection(name: &str, password: &str) -> NewConnection {
    NewConnection {
        file: None,
        name: name.into(),
        display_name: format!("{name} database"),
        description: Some("for tests".into()),
        engine: Engine_::Postgres,
        url: SecretUrl::new(format!("postgres://reader:{password}@db.internal:5432/{name}")),
        display_url: format!("postgres://reader@db.internal:5432/{name}"),
        pool_size: 5,
        created_by: None,
    }
}

/// `Engine` of the model (this module's `Engine` is the suite's trait).
use datagenie_store::model::Engine as Engine_;

pub fn question(user_id: &str, at: Timestamp, prompt: i64, completion: i64, model: Option<&str>) -> QuestionRecord {
    QuestionRecord {
        entry: HistoryEntry {
            id: new_id(),
            user_id: user_id.into(),
            connection_id: None,
            session_id: None,
            question: "How many orders were placed?".into(),
            sql: Some("SELECT count(*) FROM orders".into()),
            query_type: QueryType::Database,
            status: QueryStatus::Success,
            error_code: None,
            error_message: None,
            row_count: Some(1),
            execution_ms: Some(3),
            total_ms: 12,
            prompt_tokens: prompt,
            completion_tokens: completion,
            model: model.map(str::to_string),
            cost_usd: 0.25,
            source: Some(json!({"kind": "llm"})),
            result_hash: None,
            api_key_id: None,
            channel: None,
            file_info: None,
            created_at: at,
            verified_by: None,
            verified_at: None,
        },
        audit: None,
        analysis: None,
        result: None,
        answer_text: Some("There were 4 orders.".into()),
        result_sketch: None,
    }
}

fn token(user_id: &str, family: &str, label: &str, expires_at: Timestamp) -> NewRefreshToken {
    NewRefreshToken {
        user_id: user_id.into(),
        family_id: family.into(),
        token_hash: h(label),
        expires_at,
        device_info: json!({"agent": "test"}),
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, datagenie_core::Error>) -> ErrorCode {
    r.expect_err("an error was expected").code
}

/// Every item of a list, page after page of `limit`.
async fn all_pages<T, F, Fut>(limit: usize, mut fetch: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, datagenie_core::Error>>,
{
    let mut out = Vec::new();
    let mut req = PageRequest { limit, cursor: None };
    for _ in 0..10_000 {
        let page = fetch(req.clone()).await.expect("page");
        assert!(page.items.len() <= limit.clamp(1, MAX_PAGE), "a page holds more than its limit");
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => req.cursor = Some(c),
            None => return out,
        }
    }
    panic!("the pages never end");
}

// --- the checks

/// Health, schema version, unknown ids, page limits and bad cursors: answers, never panics.
pub fn basics(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        s.ping().await.expect("ping");
        assert!(s.schema_version().await.expect("version") >= 1);
        let nobody = new_id();
        assert_eq!(s.user(&nobody).await.expect("user"), None);
        assert_eq!(s.user("").await.expect("user"), None);
        assert!(s.user_credentials("nobody@example.com").await.expect("credentials").is_none());
        assert_eq!(s.connection("no-such").await.expect("connection"), None);
        assert_eq!(s.chat_session(&nobody).await.expect("chat"), None);
        assert_eq!(s.history_entry(&nobody).await.expect("history"), None);
        assert_eq!(s.analysis(&nobody).await.expect("analysis"), None);
        assert_eq!(s.stored_result(&nobody).await.expect("result"), None);
        assert_eq!(s.schema_snapshot(&nobody).await.expect("snapshot"), None);
        assert_eq!(s.permission(&nobody, &nobody).await.expect("permission"), None);
        assert!(s.list_permissions(&nobody).await.expect("permissions").is_empty());
        assert!(s.recent_chat_messages(&nobody, 10).await.expect("recent").is_empty());
        assert_eq!(s.refresh_token_family(&h("none")).await.expect("family"), None);
        assert!(s.api_key_by_prefix("none").await.expect("key").is_none());
        for e in [
            code(s.delete_user(&nobody).await),
            code(s.delete_connection(&nobody).await),
            code(s.delete_chat_session(&nobody).await),
            code(s.delete_permission(&nobody, &nobody).await),
            code(s.set_password_hash(&nobody, "x").await),
            code(s.record_login(&nobody, Timestamp::now()).await),
            code(s.touch_api_key(&nobody, Timestamp::now()).await),
            code(s.revoke_api_key(&nobody, None, Timestamp::now()).await),
            code(s.connection_url(&nobody).await),
            code(s.rename_chat_session(&nobody, Some("x")).await),
            code(s.update_user(&nobody, UserPatch::default()).await),
            code(s.update_connection(&nobody, ConnectionPatch::default()).await),
        ] {
            assert_eq!(e, ErrorCode::NotFound);
        }
        // revoking what does not exist is a no-op (logout is idempotent)
        s.revoke_family(&nobody, Timestamp::now()).await.expect("revoke unknown family");
        s.revoke_user_tokens(&nobody, Timestamp::now()).await.expect("revoke unknown user");

        for i in 0..3 {
            user(s.as_ref(), &format!("user{i}")).await;
        }
        // limit 0 reads one item; a huge one is clamped
        let one = s.list_users(&PageRequest { limit: 0, cursor: None }).await.expect("page");
        assert_eq!(one.items.len(), 1);
        assert!(one.next_cursor.is_some());
        let all = s.list_users(&PageRequest { limit: usize::MAX, cursor: None }).await.expect("page");
        assert_eq!((all.items.len(), all.next_cursor), (3, None));
        // a cursor of another list, or junk, is the caller's mistake
        let history_cursor = {
            let u = &all.items[0];
            s.record_question(question(&u.id, now_ms(), 1, 1, None)).await.expect("record");
            s.record_question(question(&u.id, now_ms(), 1, 1, None)).await.expect("record");
            let p = s.list_history(&HistoryFilter::default(), &PageRequest::first(1)).await.expect("history");
            p.next_cursor.expect("a second page")
        };
        for bad in [history_cursor.as_str(), "", "%%%", "bm90IGpzb24", &"A".repeat(10_000)] {
            let r = s.list_users(&PageRequest { limit: 2, cursor: Some(bad.to_string()) }).await;
            assert_eq!(code(r), ErrorCode::InvalidArgument, "cursor {bad:.20}");
        }
        let users_cursor = one.next_cursor.clone();
        let r = s.list_history(&HistoryFilter::default(), &PageRequest { limit: 1, cursor: users_cursor }).await;
        assert_eq!(code(r), ErrorCode::InvalidArgument);
        let r = s.list_audit(&AuditFilter::default(), &PageRequest { limit: 1, cursor: Some("x".into()) }).await;
        assert_eq!(code(r), ErrorCode::InvalidArgument);
    })
}

/// Users: create, duplicates, case-insensitive email, patch (incl. removing a limit), login, delete cascades.
pub fn users(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let mut new = new_user("alice");
        new.email = "  Alice@Example.COM ".into();
        new.limits = TokenLimits { hourly: Some(100), daily: Some(1000), monthly: None };
        let alice = s.create_user(new.clone()).await.expect("create");
        assert_eq!(alice.id.len(), 36);
        assert_eq!((alice.username.as_str(), alice.email.as_str()), ("alice", "alice@example.com"));
        assert_eq!((alice.role, alice.active, alice.token_usage), (Role::User, true, 0));
        assert_eq!(alice.preferences, json!({}));
        assert_eq!(alice.limits, new.limits);
        assert_eq!(alice.last_login_at, None);
        assert_eq!(alice.created_at, alice.updated_at);
        assert_eq!(s.user(&alice.id).await.expect("read"), Some(alice.clone()));

        // duplicates: the email whatever its case, the username whatever its case
        let dup = NewUser { username: "alice2".into(), email: "ALICE@example.com".into(), ..new.clone() };
        let e = s.create_user(dup).await.expect_err("duplicate email");
        assert_eq!(e.code, ErrorCode::AlreadyExists);
        assert!(e.message.contains("email"), "{}", e.message);
        let dup = NewUser { username: "ALICE".into(), email: "other@example.com".into(), ..new.clone() };
        let e = s.create_user(dup).await.expect_err("duplicate username");
        assert_eq!(e.code, ErrorCode::AlreadyExists);
        assert!(e.message.contains("username"), "{}", e.message);
        // values the schema refuses
        for bad in [
            NewUser { username: "ab".into(), ..new_user("x1") },
            NewUser { email: "no-at-sign".into(), ..new_user("x2") },
            NewUser { limits: TokenLimits { hourly: Some(-1), ..TokenLimits::default() }, ..new_user("x3") },
        ] {
            assert_eq!(code(s.create_user(bad).await), ErrorCode::InvalidArgument);
        }
        assert_eq!(s.list_users(&PageRequest::first(50)).await.expect("list").items.len(), 1, "nothing half-made");

        // login lookup, case-insensitive; the hash comes with it but never in Debug
        let c = s.user_credentials("ALICE@EXAMPLE.com").await.expect("read").expect("found");
        assert_eq!(c.user, alice);
        assert_eq!(c.password_hash, new.password_hash);
        assert!(!format!("{c:?}").contains("argon2"), "{c:?}");
        s.set_password_hash(&alice.id, "$argon2id$changed").await.expect("set hash");
        let c = s.user_credentials("alice@example.com").await.expect("read").expect("found");
        assert_eq!(c.password_hash, "$argon2id$changed");
        let at = t("2025-06-24T10:30:00.123Z");
        s.record_login(&alice.id, at).await.expect("login");
        assert_eq!(s.user(&alice.id).await.expect("read").expect("found").last_login_at, Some(at));

        // patch: a limit removed, one changed, one untouched; names, role, preferences
        let patch = UserPatch {
            role: Some(Role::Admin),
            full_name: Some(None),
            hourly_token_limit: Some(None),
            daily_token_limit: Some(Some(5)),
            preferences: Some(json!({"theme": "dark", "lang": "ko"})),
            ..UserPatch::default()
        };
        let patched = s.update_user(&alice.id, patch).await.expect("patch");
        assert_eq!(patched.limits, TokenLimits { hourly: None, daily: Some(5), monthly: None });
        assert_eq!((patched.role, patched.full_name.clone()), (Role::Admin, None));
        assert_eq!(patched.preferences, json!({"theme": "dark", "lang": "ko"}));
        assert!(patched.updated_at >= alice.updated_at);
        assert_eq!(s.user(&alice.id).await.expect("read"), Some(patched.clone()));
        let unchanged = s.update_user(&alice.id, UserPatch::default()).await.expect("empty patch");
        assert_eq!((unchanged.limits, unchanged.role), (patched.limits, patched.role));
        let bad = UserPatch { monthly_token_limit: Some(Some(-5)), ..UserPatch::default() };
        assert_eq!(code(s.update_user(&alice.id, bad).await), ErrorCode::InvalidArgument);

        // admins: only active ones count
        assert_eq!(s.count_admins().await.expect("count"), 1);
        s.update_user(&alice.id, UserPatch { active: Some(false), ..UserPatch::default() }).await.expect("disable");
        assert_eq!(s.count_admins().await.expect("count"), 0);

        // the list: by username, case-insensitively, every user once
        for name in ["Carol", "bob", "dave", "Erin", "frank", "grace"] {
            user(s.as_ref(), name).await;
        }
        let listed = all_pages(3, |p| {
            let s = s.clone();
            async move { s.list_users(&p).await }
        })
        .await;
        let names: Vec<String> = listed.iter().map(|u| u.username.clone()).collect();
        assert_eq!(names, ["alice", "bob", "Carol", "dave", "Erin", "frank", "grace"]);

        // delete: what is theirs goes, history and audit keep the id
        let bob = listed.iter().find(|u| u.username == "bob").expect("bob").clone();
        let admin = user(s.as_ref(), "admin").await;
        let mut conn = new_connection("shop", SECRET);
        conn.created_by = Some(bob.id.clone());
        let shop = s.create_connection(conn).await.expect("connection");
        let session = s
            .create_login_session(&bob.id, None, None, Timestamp::now().plus(time::Duration::days(1)))
            .await
            .expect("login");
        s.insert_refresh_token(token(&bob.id, &session.id, "bob-1", Timestamp::now().plus(time::Duration::days(1))))
            .await
            .expect("token");
        let key = NewApiKey {
            user_id: bob.id.clone(),
            name: "ci".into(),
            prefix: "bobkey01".into(),
            key_hash: h("bob-key"),
            scopes: vec!["ask".into()],
            expires_at: None,
        };
        s.create_api_key(key).await.expect("key");
        s.put_permission(permission(&bob.id, &shop.id)).await.expect("permission");
        s.put_permission(permission(&admin.id, &shop.id)).await.expect("permission");
        let chat = s.create_chat_session(&bob.id, Some(&shop.id), Some("bob's")).await.expect("chat");
        let mut q = question(&bob.id, now_ms(), 10, 5, Some("gpt-4o"));
        q.entry.session_id = Some(chat.id.clone());
        let recorded = s.record_question(q).await.expect("record");
        s.append_audit(NewAuditEntry {
            user_id: Some(bob.id.clone()),
            action: "user.login".into(),
            resource_type: "user".into(),
            success: true,
            ..NewAuditEntry::default()
        })
        .await
        .expect("audit");
        s.set_setting("max_query_rows", json!(500), Some(&bob.id)).await.expect("setting");

        s.delete_user(&bob.id).await.expect("delete");
        assert_eq!(s.user(&bob.id).await.expect("read"), None);
        assert_eq!(s.refresh_token_family(&h("bob-1")).await.expect("family"), None);
        assert!(s.api_key_by_prefix("bobkey01").await.expect("key").is_none());
        assert_eq!(s.permission(&bob.id, &shop.id).await.expect("permission"), None);
        assert_eq!(s.list_permissions(&shop.id).await.expect("list").len(), 1, "admin's stays");
        assert_eq!(s.chat_session(&chat.id).await.expect("chat"), None);
        assert!(s.recent_chat_messages(&chat.id, 10).await.expect("messages").is_empty());
        for table in ["user_sessions", "refresh_tokens", "api_keys", "connection_permissions", "chat_sessions"] {
            let n =
                f.count(&format!("SELECT count(*) FROM {table} WHERE user_id = '{}'", bob.id)).await.expect("count");
            assert_eq!(n, 0, "{table} keeps rows of a deleted user");
        }
        let n = f.count(&format!("SELECT count(*) FROM chat_messages WHERE session_id = '{}'", chat.id)).await;
        assert_eq!(n.expect("count"), 0);
        let kept = s.history_entry(&recorded.history_id).await.expect("history").expect("history stays");
        assert_eq!(kept.user_id, bob.id);
        let audit = AuditFilter { user_id: Some(bob.id.clone()), ..AuditFilter::default() };
        assert_eq!(s.list_audit(&audit, &PageRequest::first(10)).await.expect("audit").items.len(), 1);
        assert_eq!(s.usage_since(&bob.id, t("2000-01-01T00:00:00Z")).await.expect("usage").tokens(), 15);
        let shop = s.connection(&shop.id).await.expect("read").expect("connection stays");
        assert_eq!(shop.created_by, None);
        let setting = s.setting("max_query_rows").await.expect("setting").expect("exists");
        assert_eq!((setting.value, setting.updated_by), (json!(500), None));
        assert_eq!(code(s.delete_user(&bob.id).await), ErrorCode::NotFound);
    })
}

fn permission(user_id: &str, connection_id: &str) -> Permission {
    Permission {
        user_id: user_id.into(),
        connection_id: connection_id.into(),
        can_query: true,
        allowed_schemas: None,
        allowed_tables: None,
        row_filters: Vec::new(),
        attributes: BTreeMap::new(),
        max_rows: None,
        max_seconds: None,
        can_unmask: false,
        updated_at: Timestamp::now(),
    }
}

/// Refresh tokens: rotate, reuse revokes the family, expiry, unknown tokens, mismatched replacements.
pub fn refresh_rotation(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let u = user(s.as_ref(), "rita").await;
        let other = user(s.as_ref(), "otto").await;
        let now = now_ms();
        let later = |m: i64| now.plus(minutes(m));
        let day = later(24 * 60);
        let login = s
            .create_login_session(&u.id, Some("127.0.0.1"), Some("test-agent/1.0"), later(30 * 24 * 60))
            .await
            .expect("login");
        assert_eq!((login.user_id.as_str(), login.ended_at), (u.id.as_str(), None));
        assert_eq!(
            (login.ip_address.as_deref(), login.user_agent.as_deref()),
            (Some("127.0.0.1"), Some("test-agent/1.0"))
        );
        s.insert_refresh_token(token(&u.id, &login.id, "t1", day)).await.expect("insert");
        assert_eq!(s.refresh_token_family(&h("t1")).await.expect("family"), Some((login.id.clone(), u.id.clone())));

        // rotation: the replacement may leave user and family to the store
        let replacement =
            NewRefreshToken { user_id: String::new(), family_id: String::new(), ..token("", "", "t2", day) };
        let r = s.rotate_refresh_token(&h("t1"), replacement, later(1)).await.expect("rotate");
        assert_eq!(r, Rotation::Rotated { user_id: u.id.clone(), family_id: login.id.clone() });
        assert_eq!(s.refresh_token_family(&h("t1")).await.expect("family"), None, "t1 is spent");
        assert_eq!(s.refresh_token_family(&h("t2")).await.expect("family"), Some((login.id.clone(), u.id.clone())));
        let r = s.rotate_refresh_token(&h("t2"), token(&u.id, &login.id, "t3", day), later(2)).await.expect("rotate");
        assert!(matches!(r, Rotation::Rotated { .. }), "{r:?}");

        // t1 presented again: reuse; the whole family is revoked, the current t3 included
        let r = s.rotate_refresh_token(&h("t1"), token(&u.id, &login.id, "t4", day), later(3)).await.expect("reuse");
        assert_eq!(r, Rotation::Reused { user_id: u.id.clone(), family_id: login.id.clone() });
        assert_eq!(s.refresh_token_family(&h("t3")).await.expect("family"), None);
        let r = s.rotate_refresh_token(&h("t3"), token(&u.id, &login.id, "t5", day), later(4)).await.expect("reuse");
        assert!(matches!(r, Rotation::Reused { .. }), "{r:?}");
        assert_eq!(s.refresh_token_family(&h("t4")).await.expect("family"), None, "a reuse inserts nothing");
        assert_eq!(code(s.insert_refresh_token(token(&u.id, &login.id, "t6", day)).await), ErrorCode::InvalidArgument);

        // expiry: of the token, and of its login session
        let l2 = s.create_login_session(&u.id, None, None, later(30 * 24 * 60)).await.expect("login");
        s.insert_refresh_token(token(&u.id, &l2.id, "e1", later(60))).await.expect("insert");
        let r = s.rotate_refresh_token(&h("e1"), token(&u.id, &l2.id, "e2", day), later(61)).await.expect("expired");
        assert_eq!(r, Rotation::Expired);
        let r = s.rotate_refresh_token(&h("e1"), token(&u.id, &l2.id, "e2", day), later(60)).await.expect("expired");
        assert_eq!(r, Rotation::Expired, "a token is expired at its expiry time");
        assert!(s.refresh_token_family(&h("e1")).await.expect("family").is_some(), "expiry revokes nothing");
        let l3 = s.create_login_session(&u.id, None, None, later(30)).await.expect("login");
        s.insert_refresh_token(token(&u.id, &l3.id, "s1", day)).await.expect("insert");
        let r = s.rotate_refresh_token(&h("s1"), token(&u.id, &l3.id, "s2", day), later(31)).await.expect("expired");
        assert_eq!(r, Rotation::Expired, "the login session expired");
        let r = s.rotate_refresh_token(&h("nope"), token(&u.id, &l3.id, "s3", day), later(1)).await.expect("unknown");
        assert_eq!(r, Rotation::Unknown);

        // a replacement for another family or user is refused and nothing changes
        let l4 = s.create_login_session(&u.id, None, None, later(30 * 24 * 60)).await.expect("login");
        s.insert_refresh_token(token(&u.id, &l4.id, "m1", day)).await.expect("insert");
        for wrong in [token(&u.id, &l2.id, "m2", day), token(&other.id, &l4.id, "m2", day)] {
            let r = s.rotate_refresh_token(&h("m1"), wrong, later(1)).await;
            assert_eq!(code(r), ErrorCode::InvalidArgument);
        }
        // a replacement whose hash exists already: refused, nothing changes
        let r = s.rotate_refresh_token(&h("m1"), token(&u.id, &l4.id, "e1", day), later(1)).await;
        assert_eq!(code(r), ErrorCode::AlreadyExists);
        assert_eq!(s.refresh_token_family(&h("m1")).await.expect("family"), Some((l4.id.clone(), u.id.clone())));
        let r = s.rotate_refresh_token(&h("m1"), token(&u.id, &l4.id, "m3", day), later(1)).await.expect("rotate");
        assert!(matches!(r, Rotation::Rotated { .. }), "{r:?}");

        // inserting: into another user's login, an unknown one, with a duplicate hash
        assert_eq!(code(s.insert_refresh_token(token(&other.id, &l4.id, "x1", day)).await), ErrorCode::InvalidArgument);
        assert_eq!(code(s.insert_refresh_token(token(&u.id, &new_id(), "x2", day)).await), ErrorCode::NotFound);
        assert_eq!(code(s.insert_refresh_token(token(&u.id, &l4.id, "m3", day)).await), ErrorCode::AlreadyExists);
        // logins: an unknown user, an expiry not after the start
        assert_eq!(code(s.create_login_session(&new_id(), None, None, day).await), ErrorCode::NotFound);
        assert_eq!(code(s.create_login_session(&u.id, None, None, later(-1)).await), ErrorCode::InvalidArgument);

        // an open login acts as its user: not another user's, not after it ends or expires
        let open = s.session_user(&u.id, &l4.id, later(2)).await.expect("session user");
        assert_eq!(open.map(|x| x.id), Some(u.id.clone()));
        assert_eq!(s.session_user(&other.id, &l4.id, later(2)).await.expect("other"), None);
        assert_eq!(s.session_user(&u.id, &new_id(), later(2)).await.expect("unknown"), None);
        assert_eq!(s.session_user(&u.id, &l4.id, later(31 * 24 * 60)).await.expect("expired"), None);
        // logout ends one family; revoking a user's tokens ends all of theirs, and only theirs
        s.revoke_family(&l4.id, later(5)).await.expect("logout");
        assert_eq!(s.session_user(&u.id, &l4.id, later(6)).await.expect("ended"), None);
        assert_eq!(s.refresh_token_family(&h("m3")).await.expect("family"), None);
        let r =
            s.rotate_refresh_token(&h("m3"), token(&u.id, &l4.id, "m4", day), later(6)).await.expect("after logout");
        assert!(matches!(r, Rotation::Reused { .. }), "{r:?}");
        let lo = s.create_login_session(&other.id, None, None, later(30 * 24 * 60)).await.expect("login");
        s.insert_refresh_token(token(&other.id, &lo.id, "o1", day)).await.expect("insert");
        s.revoke_user_tokens(&u.id, later(7)).await.expect("revoke all");
        assert_eq!(s.refresh_token_family(&h("e1")).await.expect("family"), None);
        assert!(s.refresh_token_family(&h("o1")).await.expect("family").is_some(), "another user's token stays");
    })
}

/// Twenty concurrent presentations of one token: exactly one rotates; the others are reuses and end the family.
pub fn concurrent_rotation(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let u = user(s.as_ref(), "carl").await;
        let now = now_ms();
        let day = now.plus(time::Duration::days(1));
        let login = s.create_login_session(&u.id, None, None, day).await.expect("login");
        s.insert_refresh_token(token(&u.id, &login.id, "shared", day)).await.expect("insert");
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (s, uid, fid) = (s.clone(), u.id.clone(), login.id.clone());
                tokio::spawn(async move {
                    s.rotate_refresh_token(&h("shared"), token(&uid, &fid, &format!("next{i}"), day), now).await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.expect("task").expect("rotate"));
        }
        let rotated = outcomes.iter().filter(|o| matches!(o, Rotation::Rotated { .. })).count();
        let reused = outcomes.iter().filter(|o| matches!(o, Rotation::Reused { .. })).count();
        assert_eq!((rotated, reused), (1, 19), "{outcomes:?}");
        // the winner's new token was revoked by the reuses that followed
        for i in 0..20 {
            assert_eq!(s.refresh_token_family(&h(&format!("next{i}"))).await.expect("family"), None);
        }
        let live = f
            .count(&format!(
                "SELECT count(*) FROM refresh_tokens WHERE family_id = '{}' AND revoked_at IS NULL",
                login.id
            ))
            .await
            .expect("count");
        assert_eq!(live, 0);
        let all = f.count(&format!("SELECT count(*) FROM refresh_tokens WHERE family_id = '{}'", login.id)).await;
        assert_eq!(all.expect("count"), 2, "the presented token and exactly one successor");
    })
}

/// API keys: prefix lookup, counted uses, listing without the hash, revocation.
pub fn api_keys(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let u = user(s.as_ref(), "kim").await;
        let other = user(s.as_ref(), "lee").await;
        let expires = now_ms().plus(time::Duration::days(90));
        let new = NewApiKey {
            user_id: u.id.clone(),
            name: " reporting ".into(),
            prefix: "a1b2c3d4".into(),
            key_hash: h("secret-key-1"),
            scopes: vec!["ask".into(), "history:read".into()],
            expires_at: Some(expires),
        };
        let key = s.create_api_key(new.clone()).await.expect("create");
        assert_eq!((key.name.as_str(), key.prefix.as_str()), ("reporting", "a1b2c3d4"));
        assert_eq!((key.usage_count, key.last_used_at, key.revoked_at), (0, None, None));
        assert_eq!(key.expires_at, Some(expires));
        let (found, hash) = s.api_key_by_prefix("a1b2c3d4").await.expect("lookup").expect("found");
        assert_eq!((found, hash), (key.clone(), h("secret-key-1")));
        assert!(s.api_key_by_prefix("A1B2C3D4").await.expect("lookup").is_none(), "prefixes are exact");
        let dup = NewApiKey { key_hash: h("other"), ..new.clone() };
        assert_eq!(code(s.create_api_key(dup).await), ErrorCode::AlreadyExists);
        let dup = NewApiKey { prefix: "zzzz0000".into(), ..new.clone() };
        assert_eq!(code(s.create_api_key(dup).await), ErrorCode::AlreadyExists);
        let orphan = NewApiKey { user_id: new_id(), prefix: "orphan00".into(), key_hash: h("orphan"), ..new.clone() };
        assert_eq!(code(s.create_api_key(orphan).await), ErrorCode::NotFound);

        // every concurrent use counts; last_used is the latest, whatever the order of arrival
        let base = now_ms();
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let (s, id) = (s.clone(), key.id.clone());
                tokio::spawn(async move { s.touch_api_key(&id, base.plus(minutes(10 - i))).await })
            })
            .collect();
        for t in tasks {
            t.await.expect("task").expect("touch");
        }
        let (touched, _) = s.api_key_by_prefix("a1b2c3d4").await.expect("lookup").expect("found");
        assert_eq!((touched.usage_count, touched.last_used_at), (10, Some(base.plus(minutes(10)))));

        // listing: newest first, every key once, never the hash
        for i in 0..5 {
            let k = NewApiKey { prefix: format!("list{i:04}"), key_hash: h(&format!("list-{i}")), ..new.clone() };
            s.create_api_key(k).await.expect("create");
        }
        let ok = NewApiKey { user_id: other.id.clone(), prefix: "otherkey".into(), key_hash: h("o"), ..new.clone() };
        s.create_api_key(ok).await.expect("create");
        let listed = all_pages(2, |p| {
            let (s, uid) = (s.clone(), u.id.clone());
            async move { s.list_api_keys(&uid, &p).await }
        })
        .await;
        assert_eq!(listed.len(), 6);
        assert_eq!(listed.iter().map(|k| &k.id).collect::<HashSet<_>>().len(), 6);
        assert!(listed.windows(2).all(|w| (w[0].created_at, &w[0].id) > (w[1].created_at, &w[1].id)), "newest first");
        let shown = serde_json::to_string(&listed).expect("json");
        assert!(!shown.contains(&h("secret-key-1")) && !shown.contains(&h("list-0")), "a hash is listed");
        assert!(!shown.contains("otherkey"));

        // revocation: by its owner or anyone (None); not by another user; idempotent
        let at = now_ms();
        assert_eq!(code(s.revoke_api_key(&key.id, Some(&other.id), at).await), ErrorCode::NotFound);
        let revoked = s.revoke_api_key(&key.id, Some(&u.id), at).await.expect("revoke");
        assert_eq!(revoked.revoked_at, Some(at));
        let again = s.revoke_api_key(&key.id, None, at.plus(minutes(5))).await.expect("again");
        assert_eq!(again.revoked_at, Some(at), "the first revocation's time stays");
        let (looked_up, _) = s.api_key_by_prefix("a1b2c3d4").await.expect("lookup").expect("still found");
        assert_eq!(looked_up.revoked_at, Some(at));
    })
}

/// Connections: the URL encrypted at rest and bound to its row; lookups, renames, listing, snapshots, deletion.
pub fn connections(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let admin = user(s.as_ref(), "admin").await;
        let mut new = new_connection("sales", SECRET);
        new.created_by = Some(admin.id.clone());
        assert!(!format!("{new:?}").contains(SECRET));
        let sales = s.create_connection(new.clone()).await.expect("create");
        assert_eq!((sales.name.as_str(), sales.engine, sales.pool_size), ("sales", Engine_::Postgres, 5));
        assert!(sales.read_only && sales.active);
        assert_eq!(sales.display_url, "postgres://reader@db.internal:5432/sales");
        assert_eq!(sales.created_by.as_deref(), Some(admin.id.as_str()));
        assert_eq!((sales.schema_hash.clone(), sales.last_schema_sync), (None, None));
        let url = s.connection_url(&sales.id).await.expect("url");
        assert_eq!(url.expose(), new.url.expose());
        // at rest: the display form is there (the scan sees the data), the password is not
        assert!(f.at_rest_contains(b"reader@db.internal:5432/sales").await.expect("scan"), "the scan reads nothing");
        assert!(!f.at_rest_contains(SECRET.as_bytes()).await.expect("scan"), "the password is stored in clear");

        assert_eq!(s.connection("sales").await.expect("by name"), Some(sales.clone()));
        assert_eq!(s.connection(&sales.id).await.expect("by id"), Some(sales.clone()));
        let e = s.create_connection(new.clone()).await.expect_err("duplicate");
        assert_eq!(e.code, ErrorCode::AlreadyExists);
        assert!(e.message.contains("name") && !e.message.contains(SECRET), "{}", e.message);
        let info = FileInfo { name: "매출.xlsx".into(), size: 1234, sha256: "ab".repeat(32) };
        for bad in [
            NewConnection { pool_size: 0, ..new_connection("p0", SECRET) },
            NewConnection { name: "  ".into(), ..new_connection("blank", SECRET) },
            NewConnection { engine: Engine_::File, ..new_connection("no-file", SECRET) },
            NewConnection { file: Some(info.clone()), ..new_connection("not-file", SECRET) },
        ] {
            assert_eq!(code(s.create_connection(bad).await), ErrorCode::InvalidArgument);
        }
        // An uploaded spreadsheet: its engine is `file`, its details come back.
        let upload = NewConnection {
            file: Some(info.clone()),
            engine: Engine_::File,
            url: SecretUrl::new("/data/files/1/매출.xlsx"),
            display_url: "매출.xlsx".into(),
            ..new_connection("upload", SECRET)
        };
        let uploaded = s.create_connection(upload).await.expect("file connection");
        assert_eq!((uploaded.engine, uploaded.file.clone()), (Engine_::File, Some(info)));
        assert_eq!(s.connection("upload").await.expect("read").map(|c| c.engine), Some(Engine_::File));
        assert_eq!(s.connection_url(&uploaded.id).await.expect("url").expose(), "/data/files/1/매출.xlsx");
        s.delete_connection(&uploaded.id).await.expect("delete");

        // update: rename onto a taken name is refused and changes nothing, URL included
        let shop = s.create_connection(new_connection("shop", "shop-pw-1")).await.expect("create");
        let clash = ConnectionPatch {
            name: Some("sales".into()),
            url: Some((SecretUrl::new("postgres://x:other-pw@h/db"), "postgres://x@h/db".into())),
            ..ConnectionPatch::default()
        };
        let e = s.update_connection(&shop.id, clash).await.expect_err("rename conflict");
        assert_eq!(e.code, ErrorCode::AlreadyExists);
        assert_eq!(s.connection(&shop.id).await.expect("read"), Some(shop.clone()));
        assert!(s.connection_url(&shop.id).await.expect("url").expose().contains("shop-pw-1"));
        let second = format!("{SECRET}-2");
        let patch = ConnectionPatch {
            name: Some("store".into()),
            display_name: Some("The store".into()),
            description: Some(None),
            url: Some((
                SecretUrl::new(format!("mysql://app:{second}@replica:3306/store")),
                "mysql://app@replica:3306/store".into(),
            )),
            pool_size: Some(3),
            active: Some(false),
        };
        let store_conn = s.update_connection(&shop.id, patch).await.expect("update");
        assert_eq!(store_conn.name, "store");
        assert_eq!((store_conn.display_name.as_str(), store_conn.description.clone()), ("The store", None));
        assert_eq!((store_conn.pool_size, store_conn.active), (3, false));
        assert_eq!(store_conn.display_url, "mysql://app@replica:3306/store");
        assert_eq!(s.connection("store").await.expect("read"), Some(store_conn.clone()));
        assert_eq!(s.connection("shop").await.expect("read"), None);
        assert!(s.connection_url(&shop.id).await.expect("url").expose().contains(&second));
        assert!(!f.at_rest_contains(second.as_bytes()).await.expect("scan"));

        // a ciphertext moved to another row does not open there; another key opens nothing
        f.tamper(&format!(
            "UPDATE database_connections SET connection_config =
                (SELECT connection_config FROM database_connections WHERE id = '{}') WHERE id = '{}'",
            sales.id, shop.id
        ))
        .await
        .expect("move");
        let e = s.connection_url(&shop.id).await.expect_err("moved");
        assert_eq!(e.code, ErrorCode::SystemDatabase);
        assert!(!e.message.contains(SECRET), "{}", e.message);
        let stranger = f.reopen_with(&MasterKey::generate().expect("key")).await.expect("reopen");
        let e = stranger.connection_url(&sales.id).await.expect_err("wrong key");
        assert_eq!(e.code, ErrorCode::SystemDatabase);
        assert!(e.message.contains("key") && !e.message.contains(SECRET), "{}", e.message);
        assert_eq!(stranger.connection("sales").await.expect("metadata reads"), Some(sales.clone()));

        // lists: all by name, or those a user may query
        let reader = user(s.as_ref(), "reader").await;
        let third = s.create_connection(new_connection("archive", SECRET)).await.expect("create");
        s.put_permission(permission(&reader.id, &sales.id)).await.expect("grant");
        s.put_permission(Permission { can_query: false, ..permission(&reader.id, &third.id) }).await.expect("grant");
        let names = |page: Page<Connection>| page.items.into_iter().map(|c| c.name).collect::<Vec<_>>();
        assert_eq!(
            names(s.list_connections(None, &PageRequest::first(10)).await.expect("list")),
            ["archive", "sales", "store"]
        );
        let paged = all_pages(1, |p| {
            let s = s.clone();
            async move { s.list_connections(None, &p).await }
        })
        .await;
        assert_eq!(paged.len(), 3);
        let granted = s.list_connections(Some(&reader.id), &PageRequest::first(10)).await.expect("granted");
        assert_eq!(names(granted), ["sales"]);

        // schema snapshots
        assert_eq!(s.schema_snapshot(&sales.id).await.expect("snapshot"), None);
        let snap = SchemaSnapshot {
            hash: "abc123".into(),
            schema: json!({"tables": [{"name": "orders", "columns": ["id", "amount"]}]}),
            synced_at: now_ms(),
        };
        s.save_schema_snapshot(&sales.id, snap.clone()).await.expect("save");
        assert_eq!(s.schema_snapshot(&sales.id).await.expect("snapshot"), Some(snap.clone()));
        let synced = s.connection(&sales.id).await.expect("read").expect("found");
        assert_eq!((synced.schema_hash.as_deref(), synced.last_schema_sync), (Some("abc123"), Some(snap.synced_at)));
        assert_eq!(code(s.save_schema_snapshot(&new_id(), snap).await), ErrorCode::NotFound);

        // delete: its permissions go; a chat session on it stays, without it
        let chat = s.create_chat_session(&reader.id, Some(&sales.id), None).await.expect("chat");
        s.delete_connection(&sales.id).await.expect("delete");
        assert_eq!(s.connection(&sales.id).await.expect("read"), None);
        assert_eq!(s.permission(&reader.id, &sales.id).await.expect("permission"), None);
        assert_eq!(s.chat_session(&chat.id).await.expect("chat").expect("stays").connection_id, None);
        assert_eq!(code(s.connection_url(&sales.id).await), ErrorCode::NotFound);
        assert_eq!(code(s.delete_connection(&sales.id).await), ErrorCode::NotFound);
    })
}

/// Permissions: put creates then replaces every field; JSON fields round trip.
pub fn permissions(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let (u, v) = (user(s.as_ref(), "pat").await, user(s.as_ref(), "quinn").await);
        let c = s.create_connection(new_connection("crm", SECRET)).await.expect("connection");
        let mut attributes = BTreeMap::new();
        attributes.insert("region".to_string(), json!("EU"));
        attributes.insert("level".to_string(), json!(3));
        attributes.insert("nested".to_string(), json!({"tags": ["a", "b"], "none": null, "큰": 1.5}));
        let full = Permission {
            allowed_schemas: Some(vec!["public".into(), "sales".into()]),
            allowed_tables: Some(vec!["orders".into(), "sales.items".into(), "customers(id,name)".into()]),
            row_filters: vec![
                RowFilter { table: "orders".into(), condition: "region = {user.region}".into() },
                RowFilter { table: "customers".into(), condition: "owner_id = {user.id} AND note <> '\"x\"'".into() },
            ],
            attributes,
            max_rows: Some(500),
            max_seconds: Some(10),
            can_unmask: true,
            ..permission(&u.id, &c.id)
        };
        let stored = s.put_permission(full.clone()).await.expect("put");
        assert_eq!(Permission { updated_at: full.updated_at, ..stored.clone() }, full, "round trip");
        assert_eq!(s.permission(&u.id, &c.id).await.expect("read"), Some(stored.clone()));

        let narrow = permission(&u.id, &c.id);
        let narrow = Permission { can_query: false, ..narrow };
        let replaced = s.put_permission(narrow.clone()).await.expect("replace");
        assert_eq!(Permission { updated_at: narrow.updated_at, ..replaced.clone() }, narrow, "every field replaced");
        assert!(replaced.updated_at >= stored.updated_at);
        assert_eq!(s.permission(&u.id, &c.id).await.expect("read"), Some(replaced.clone()));

        s.put_permission(permission(&v.id, &c.id)).await.expect("put");
        let listed = s.list_permissions(&c.id).await.expect("list");
        let mut ids = vec![u.id.clone(), v.id.clone()];
        ids.sort();
        assert_eq!(listed.iter().map(|p| p.user_id.clone()).collect::<Vec<_>>(), ids);
        assert_eq!(
            f.count("SELECT count(*) FROM connection_permissions").await.expect("count"),
            2,
            "replaced, not added"
        );

        assert_eq!(code(s.put_permission(permission(&new_id(), &c.id)).await), ErrorCode::NotFound);
        assert_eq!(code(s.put_permission(permission(&u.id, &new_id())).await), ErrorCode::NotFound);
        let bad = Permission { max_rows: Some(0), ..permission(&u.id, &c.id) };
        assert_eq!(code(s.put_permission(bad).await), ErrorCode::InvalidArgument);
        assert_eq!(s.permission(&u.id, &c.id).await.expect("read"), Some(replaced), "a refused put changes nothing");

        s.delete_permission(&u.id, &c.id).await.expect("delete");
        assert_eq!(s.permission(&u.id, &c.id).await.expect("read"), None);
        assert_eq!(code(s.delete_permission(&u.id, &c.id).await), ErrorCode::NotFound);
    })
}

/// One question recorded with everything about it, atomically; a failing record leaves nothing behind.
pub fn record_question(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let u = user(s.as_ref(), "ruth").await;
        let c = s.create_connection(new_connection("ops", SECRET)).await.expect("connection");
        let chat = s.create_chat_session(&u.id, Some(&c.id), Some("ops")).await.expect("chat");
        let at = now_ms();
        let mut q = question(&u.id, at, 120, 30, Some("gpt-4o"));
        q.entry.connection_id = Some(c.id.clone());
        q.entry.session_id = Some(chat.id.clone());
        q.entry.result_hash = Some("f".repeat(64));
        q.analysis = Some(Analysis {
            chart_type: Some("bar".into()),
            chart_spec: Some(json!({"mark": "bar", "encoding": {"x": {"field": "month"}}})),
            summary: Some("Orders rose in March.".into()),
            insights: Some(json!(["March is the peak"])),
        });
        q.result = Some(StoredResult {
            columns: vec!["month".into(), "orders".into()],
            rows: json!([["2025-01", 3], ["2025-03", 9], [null, 0.5]]),
            truncated: true,
        });
        q.result_sketch = Some(json!({"columns": ["month", "orders"], "row_count": 3}));
        q.audit = Some(NewAuditEntry {
            user_id: Some(u.id.clone()),
            action: "question.ask".into(),
            resource_type: "connection".into(),
            resource_id: Some(c.id.clone()),
            old_values: None,
            new_values: Some(json!({"status": "success"})),
            ip_address: Some("10.1.2.3".into()),
            user_agent: None,
            request_id: Some("req-9".into()),
            success: true,
            reason: None,
        });
        let recorded = s.record_question(q.clone()).await.expect("record");
        assert_eq!(recorded.history_id, q.entry.id);
        // The audit row went in with it, naming the history entry.
        let audit = s.list_audit(&AuditFilter::default(), &PageRequest::first(5)).await.expect("audit");
        assert_eq!(audit.items.len(), 1);
        assert_eq!(audit.items[0].new_values, Some(json!({"status": "success", "history_id": q.entry.id})));
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(1));
        q.audit = None;
        assert_eq!(s.history_entry(&q.entry.id).await.expect("read"), Some(q.entry.clone()));
        assert_eq!(s.analysis(&q.entry.id).await.expect("read"), q.analysis);
        assert_eq!(s.stored_result(&q.entry.id).await.expect("read"), q.result);
        assert_eq!(s.user(&u.id).await.expect("read").expect("user").token_usage, 150);
        let usage = s.usage_since(&u.id, at).await.expect("usage");
        assert_eq!((usage.questions, usage.prompt_tokens, usage.completion_tokens), (1, 120, 30));
        assert!((usage.cost_usd - 0.25).abs() < 1e-9, "{usage:?}");
        let messages = s.recent_chat_messages(&chat.id, 10).await.expect("messages");
        assert_eq!(messages.len(), 2);
        let (asked, answered) = (&messages[0], &messages[1]);
        assert_eq!(
            (asked.sequence, asked.role, asked.content.as_str()),
            (1, MessageRole::User, q.entry.question.as_str())
        );
        assert_eq!((answered.sequence, answered.role), (2, MessageRole::Assistant));
        assert_eq!(Some(answered.id.clone()), recorded.message_id);
        assert_eq!(answered.content, "There were 4 orders.");
        assert_eq!(
            (answered.sql.clone(), answered.result_sketch.clone(), answered.error.clone()),
            (q.entry.sql.clone(), q.result_sketch.clone(), None)
        );
        assert_eq!(
            (asked.history_id.as_deref(), answered.history_id.as_deref()),
            (Some(q.entry.id.as_str()), Some(q.entry.id.as_str()))
        );
        let session = s.chat_session(&chat.id).await.expect("read").expect("found");
        assert_eq!((session.message_count, session.last_message_at), (2, Some(at)));

        // a refused question: no analysis, no rows; the answer carries the error
        let mut refused = question(&u.id, at, 0, 0, None);
        refused.entry.session_id = Some(chat.id.clone());
        refused.entry.status = QueryStatus::Refused;
        refused.entry.error_code = Some("guard_refused".into());
        refused.entry.error_message = Some("DELETE is not allowed".into());
        refused.answer_text = None;
        let r = s.record_question(refused.clone()).await.expect("record refused");
        assert_eq!(r.history_id, refused.entry.id);
        assert_eq!(s.analysis(&refused.entry.id).await.expect("read"), None);
        let last = s.recent_chat_messages(&chat.id, 1).await.expect("messages").pop().expect("one");
        assert_eq!(last.sequence, 4);
        assert_eq!(last.error, Some(json!({"code": "guard_refused", "message": "DELETE is not allowed"})));
        assert_eq!(last.content, "DELETE is not allowed");

        // failures change nothing: not a history row, not a token, not a message
        let count_all = || async {
            let h = f.count("SELECT count(*) FROM query_history").await.expect("count");
            let m = f.count("SELECT count(*) FROM chat_messages").await.expect("count");
            let a = f.count("SELECT count(*) FROM analysis_results").await.expect("count");
            let r = f.count("SELECT count(*) FROM query_results").await.expect("count");
            (h, m, a, r, s.user(&u.id).await.expect("read").expect("user").token_usage)
        };
        let before = count_all().await;
        let mut nan = q.clone();
        nan.entry.id = new_id();
        nan.entry.cost_usd = f64::NAN;
        let mut negative = q.clone();
        negative.entry.id = new_id();
        negative.entry.prompt_tokens = -1;
        let mut nobody = q.clone();
        nobody.entry.id = new_id();
        nobody.entry.user_id = new_id();
        nobody.entry.session_id = None;
        let mut lost = q.clone();
        lost.entry.id = new_id();
        lost.entry.session_id = Some(new_id());
        let stranger = user(s.as_ref(), "stranger").await;
        let mut foreign = question(&stranger.id, at, 5, 5, None);
        foreign.entry.session_id = Some(chat.id.clone());
        let mut duplicate = q.clone();
        duplicate.entry.session_id = None;
        for (record, expected) in [
            (nan, ErrorCode::InvalidArgument),
            (negative, ErrorCode::InvalidArgument),
            (nobody, ErrorCode::NotFound),
            (lost, ErrorCode::NotFound),
            (foreign, ErrorCode::InvalidArgument),
            (duplicate, ErrorCode::AlreadyExists),
        ] {
            let id = record.entry.id.clone();
            assert_eq!(code(s.record_question(record).await), expected);
            if expected != ErrorCode::AlreadyExists {
                assert_eq!(s.history_entry(&id).await.expect("read"), None);
            }
        }
        assert_eq!(count_all().await, before);
        assert_eq!(s.usage_since(&stranger.id, at).await.expect("usage"), UsageTotals::default());
    })
}

/// Concurrent writes of which some fail: each one succeeds or fails alone, and a failed one leaves nothing behind
/// (a store that batches writes must keep them apart).
pub fn concurrent_writes_fail_alone(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let owner = user(s.as_ref(), "owner").await;
        let mut tasks = Vec::new();
        for i in 0..40 {
            let s = s.clone();
            let owner = owner.id.clone();
            tasks.push(tokio::spawn(async move {
                match i % 4 {
                    // each name twice: one of the two is a duplicate
                    0 | 1 => s.create_user(new_user(&format!("twin{}", i / 4))).await.map(|_| "user"),
                    // a question of a user who does not exist: its history row must not survive
                    2 => s.record_question(question(&new_id(), now_ms(), 100, 100, None)).await.map(|_| "orphan"),
                    _ => s.record_question(question(&owner, now_ms(), 1, 2, Some("m"))).await.map(|_| "question"),
                }
            }));
        }
        let mut outcomes: HashMap<String, usize> = HashMap::new();
        for t in tasks {
            let key = match t.await.expect("task") {
                Ok(kind) => kind.to_string(),
                Err(e) => format!("{:?}", e.code),
            };
            *outcomes.entry(key).or_default() += 1;
        }
        let expected: HashMap<String, usize> =
            [("user", 10), ("AlreadyExists", 10), ("NotFound", 10), ("question", 10)]
                .into_iter()
                .map(|(k, n)| (k.to_string(), n))
                .collect();
        assert_eq!(outcomes, expected);
        assert_eq!(f.count("SELECT count(*) FROM users").await.expect("count"), 11);
        assert_eq!(f.count("SELECT count(*) FROM query_history").await.expect("count"), 10, "an orphan row survived");
        let usage = s.usage_since(&owner.id, t("2000-01-01T00:00:00Z")).await.expect("usage");
        assert_eq!((usage.questions, usage.prompt_tokens, usage.completion_tokens), (10, 10, 20));
        assert_eq!(s.user(&owner.id).await.expect("read").expect("owner").token_usage, 30);
        assert_eq!(f.count("SELECT coalesce(sum(questions), 0) FROM token_usage").await.expect("count"), 10);
    })
}

/// Fifty concurrent questions in one session: sequence numbers 1..=100, each question followed by its answer.
pub fn chat_sequences(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let u = user(s.as_ref(), "sam").await;
        let session = s.create_chat_session(&u.id, None, Some("Sales questions")).await.expect("chat");
        assert_eq!(
            (session.title.as_deref(), session.message_count, session.last_message_at),
            (Some("Sales questions"), 0, None)
        );
        assert_eq!(s.chat_session(&session.id).await.expect("read"), Some(session.clone()));
        let renamed = s.rename_chat_session(&session.id, Some("Renamed")).await.expect("rename");
        assert_eq!(renamed.title.as_deref(), Some("Renamed"));
        assert_eq!(s.rename_chat_session(&session.id, None).await.expect("rename").title, None);
        assert_eq!(code(s.rename_chat_session(&session.id, Some(&"t".repeat(300))).await), ErrorCode::InvalidArgument);

        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let (s, uid, sid) = (s.clone(), u.id.clone(), session.id.clone());
                tokio::spawn(async move {
                    let mut q = question(&uid, now_ms(), 1, 1, None);
                    q.entry.question = format!("question {i}");
                    q.entry.session_id = Some(sid);
                    q.answer_text = Some(format!("answer {i}"));
                    s.record_question(q).await
                })
            })
            .collect();
        let mut answers = HashSet::new();
        for t in tasks {
            answers.insert(t.await.expect("task").expect("record").message_id.expect("an answer message"));
        }
        assert_eq!(answers.len(), 50);
        let messages = all_pages(7, |p| {
            let (s, sid) = (s.clone(), session.id.clone());
            async move { s.list_chat_messages(&sid, &p).await }
        })
        .await;
        assert_eq!(messages.iter().map(|m| m.sequence).collect::<Vec<_>>(), (1..=100).collect::<Vec<i64>>());
        for pair in messages.chunks(2) {
            let (q, a) = (&pair[0], &pair[1]);
            assert_eq!((q.role, a.role), (MessageRole::User, MessageRole::Assistant));
            assert_eq!(q.history_id, a.history_id, "an answer follows its own question");
            let n = q.content.strip_prefix("question ").expect("question text");
            assert_eq!(a.content, format!("answer {n}"));
            assert!(answers.contains(&a.id));
        }
        let session = s.chat_session(&session.id).await.expect("read").expect("found");
        assert_eq!(session.message_count, 100);
        let recent = s.recent_chat_messages(&session.id, 4).await.expect("recent");
        assert_eq!(recent.iter().map(|m| m.sequence).collect::<Vec<_>>(), [97, 98, 99, 100]);
        assert!(s.recent_chat_messages(&session.id, 0).await.expect("recent").is_empty());
        assert_eq!(s.recent_chat_messages(&session.id, usize::MAX).await.expect("recent").len(), 100);

        // sessions: newest first, every one once
        for i in 0..4 {
            s.create_chat_session(&u.id, None, Some(&format!("s{i}"))).await.expect("chat");
        }
        let other = user(s.as_ref(), "tess").await;
        s.create_chat_session(&other.id, None, None).await.expect("chat");
        let listed = all_pages(2, |p| {
            let (s, uid) = (s.clone(), u.id.clone());
            async move { s.list_chat_sessions(&uid, &p).await }
        })
        .await;
        assert_eq!(listed.len(), 5);
        assert!(listed.windows(2).all(|w| (w[0].created_at, &w[0].id) > (w[1].created_at, &w[1].id)));
        assert!(listed.iter().all(|c| c.user_id == u.id));

        assert_eq!(code(s.create_chat_session(&new_id(), None, None).await), ErrorCode::NotFound);
        assert_eq!(code(s.create_chat_session(&u.id, Some(&new_id()), None).await), ErrorCode::NotFound);
        s.delete_chat_session(&session.id).await.expect("delete");
        assert_eq!(s.chat_session(&session.id).await.expect("read"), None);
        assert!(s.list_chat_messages(&session.id, &PageRequest::first(10)).await.expect("list").items.is_empty());
        assert_eq!(code(s.delete_chat_session(&session.id).await), ErrorCode::NotFound);
    })
}

/// History: filters, and pages that neither lose nor repeat an item while rows are inserted between them.
pub fn history_pagination(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let (u, v) = (user(s.as_ref(), "uma").await, user(s.as_ref(), "vic").await);
        let c = s.create_connection(new_connection("dw", SECRET)).await.expect("connection");
        let base = t("2025-03-01T12:00:00.000Z");
        let mut original = Vec::new();
        for i in 0..25i64 {
            // three share one instant: the id breaks the tie
            let at = base.plus(minutes(if i < 3 { 0 } else { i }));
            let mut q = question(&u.id, at, 1, 1, None);
            q.entry.question = format!("Revenue BY month #{i}");
            q.entry.sql = Some(format!("SELECT {i} AS Marker"));
            if i % 5 == 0 {
                q.entry.status = QueryStatus::Error;
                q.entry.error_code = Some("query_failed".into());
            }
            if i % 2 == 0 {
                q.entry.connection_id = Some(c.id.clone());
            }
            original.push(s.record_question(q).await.expect("record").history_id);
        }
        s.record_question(question(&v.id, base.plus(minutes(5)), 1, 1, None)).await.expect("record");

        let mine = HistoryFilter { user_id: Some(u.id.clone()), ..HistoryFilter::default() };
        let mut seen: Vec<HistoryEntry> = Vec::new();
        let mut req = PageRequest::first(7);
        for round in 0i64.. {
            let page = s.list_history(&mine, &req).await.expect("page");
            assert!(page.items.len() <= 7);
            seen.extend(page.items);
            // between pages: a newer row, an older row, and one at the instant of the last item seen
            for at in [
                base.plus(minutes(1000 + round)),
                base.plus(minutes(-1000 - round)),
                seen.last().expect("seen").created_at,
            ] {
                s.record_question(question(&u.id, at, 1, 1, None)).await.expect("insert between pages");
            }
            match page.next_cursor {
                Some(c) => req.cursor = Some(c),
                None => break,
            }
            assert!(round < 100, "the pages never end");
        }
        let ids: Vec<&str> = seen.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "an item repeated");
        for id in &original {
            assert_eq!(ids.iter().filter(|x| **x == id.as_str()).count(), 1, "{id} lost or repeated");
        }
        assert!(seen.windows(2).all(|w| (w[0].created_at, &w[0].id) > (w[1].created_at, &w[1].id)), "newest first");

        // filters
        let page = |filter: HistoryFilter| {
            let s = s.clone();
            async move { s.list_history(&filter, &PageRequest::first(MAX_PAGE)).await.expect("list").items }
        };
        let errors = page(HistoryFilter { status: Some(QueryStatus::Error), ..mine.clone() }).await;
        assert_eq!(errors.len(), 5);
        assert!(errors.iter().all(|h| h.status == QueryStatus::Error));
        let on_c = page(HistoryFilter { connection_id: Some(c.id.clone()), ..HistoryFilter::default() }).await;
        assert_eq!(on_c.len(), 13);
        let window =
            HistoryFilter { since: Some(base.plus(minutes(10))), until: Some(base.plus(minutes(20))), ..mine.clone() };
        let in_window = page(window).await;
        let originals = in_window.iter().filter(|h| original.contains(&h.id)).count();
        assert_eq!(originals, 10, "since inclusive, until exclusive");
        assert!(
            in_window.iter().all(|h| h.created_at >= base.plus(minutes(10)) && h.created_at < base.plus(minutes(20)))
        );
        let text = page(HistoryFilter { text: Some("revenue by MONTH #1".into()), ..HistoryFilter::default() }).await;
        assert_eq!(text.len(), 11, "#1 and #10..#19, case-insensitively");
        let by_sql = page(HistoryFilter { text: Some("as marker".into()), ..HistoryFilter::default() }).await;
        assert_eq!(by_sql.len(), 25, "the SQL is searched too");
        let theirs = page(HistoryFilter { user_id: Some(v.id.clone()), ..HistoryFilter::default() }).await;
        assert_eq!(theirs.len(), 1);
        let none = page(HistoryFilter {
            user_id: Some(v.id.clone()),
            status: Some(QueryStatus::Refused),
            ..HistoryFilter::default()
        })
        .await;
        assert!(none.is_empty());
    })
}

/// Verified history: marking an answer right and clearing the mark; only answered questions; a connection's verified
/// answers as examples, newest first, one per question text, within the limit, never another connection's.
pub fn verified_history(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let (u, reviewer) = (user(s.as_ref(), "yuna").await, user(s.as_ref(), "zed").await);
        let c = s.create_connection(new_connection("shop", SECRET)).await.expect("connection");
        let d = s.create_connection(new_connection("crm", SECRET)).await.expect("connection");
        let base = t("2025-04-01T09:00:00.000Z");
        let record = |on: Option<&str>, at: Timestamp, text: &str, sql: Option<&str>, status: QueryStatus| {
            let mut q = question(&u.id, at, 1, 1, None);
            q.entry.connection_id = on.map(str::to_string);
            q.entry.question = text.into();
            q.entry.sql = sql.map(str::to_string);
            q.entry.status = status;
            if status != QueryStatus::Success {
                q.entry.error_code = Some("query_failed".into());
            }
            let s = s.clone();
            async move {
                s.record_question(q.clone()).await.expect("record");
                q.entry
            }
        };
        let ok = QueryStatus::Success;
        let (cid, did) = (Some(c.id.as_str()), Some(d.id.as_str()));
        let orders = record(cid, base, "How many orders?", Some("SELECT count(*) FROM orders"), ok).await;
        let orders_again =
            record(cid, base.plus(minutes(1)), "How many orders?", Some("SELECT count(id) FROM orders"), ok).await;
        let revenue = record(cid, base.plus(minutes(2)), "Revenue by month", Some("SELECT m, sum(a) FROM r"), ok).await;
        let failed = record(cid, base.plus(minutes(3)), "Broken", Some("SELECT nope FROM x"), QueryStatus::Error).await;
        let refused = record(cid, base.plus(minutes(4)), "Drop it", None, QueryStatus::Refused).await;
        let no_sql = record(cid, base.plus(minutes(5)), "Hello", None, ok).await;
        let elsewhere = record(did, base, "How many orders?", Some("SELECT count(*) FROM deals"), ok).await;
        let nowhere = record(None, base, "How many orders?", Some("SELECT 1"), ok).await;
        assert_eq!((orders.verified_by.clone(), orders.verified_at), (None, None), "recorded unverified");
        assert_eq!(s.history_entry(&orders.id).await.expect("read"), Some(orders.clone()));
        assert!(s.verified_examples(&c.id, 10).await.expect("examples").is_empty());

        // marking: who and when (at the stored precision), nothing else changes
        let t1 = t("2025-04-02T10:00:00.123456Z");
        let marked = s.set_history_verified(&orders.id, Some(&reviewer.id), t1).await.expect("mark");
        let expected = HistoryEntry {
            verified_by: Some(reviewer.id.clone()),
            verified_at: Some(t("2025-04-02T10:00:00.123Z")),
            ..orders.clone()
        };
        assert_eq!(marked, expected);
        assert_eq!(s.history_entry(&orders.id).await.expect("read"), Some(expected.clone()));
        let example = |e: &HistoryEntry, at: &str| VerifiedExample {
            history_id: e.id.clone(),
            question: e.question.clone(),
            sql: e.sql.clone().expect("sql"),
            verified_at: t(at),
        };
        assert_eq!(
            s.verified_examples(&c.id, 10).await.expect("examples"),
            vec![example(&orders, "2025-04-02T10:00:00.123Z")]
        );

        // refused: what was not answered, what does not exist, a marker who does not exist; nothing changes
        for e in [&failed, &refused, &no_sql] {
            let r = s.set_history_verified(&e.id, Some(&reviewer.id), t1).await;
            assert_eq!(code(r), ErrorCode::InvalidArgument, "{}", e.question);
            assert_eq!(s.history_entry(&e.id).await.expect("read").as_ref(), Some(e));
        }
        assert_eq!(code(s.set_history_verified(&new_id(), Some(&reviewer.id), t1).await), ErrorCode::NotFound);
        assert_eq!(code(s.set_history_verified(&new_id(), None, t1).await), ErrorCode::NotFound);
        assert_eq!(code(s.set_history_verified(&revenue.id, Some(&new_id()), t1).await), ErrorCode::NotFound);
        assert_eq!(s.history_entry(&revenue.id).await.expect("read").as_ref(), Some(&revenue));
        // clearing a mark that is not there changes nothing, whatever the outcome of the question
        assert_eq!(s.set_history_verified(&failed.id, None, t1).await.expect("clear"), failed);
        assert_eq!(s.set_history_verified(&revenue.id, None, t1).await.expect("clear"), revenue);

        // newest first, one per question text (the most recently verified), within the limit
        s.set_history_verified(&revenue.id, Some(&reviewer.id), t("2025-04-03T00:00:00Z")).await.expect("mark");
        s.set_history_verified(&orders_again.id, Some(&u.id), t("2025-04-04T00:00:00Z")).await.expect("mark");
        s.set_history_verified(&elsewhere.id, Some(&u.id), t("2025-04-05T00:00:00Z")).await.expect("mark");
        s.set_history_verified(&nowhere.id, Some(&u.id), t("2025-04-06T00:00:00Z")).await.expect("mark");
        let on_c = vec![example(&orders_again, "2025-04-04T00:00:00Z"), example(&revenue, "2025-04-03T00:00:00Z")];
        assert_eq!(s.verified_examples(&c.id, 10).await.expect("examples"), on_c);
        assert_eq!(s.verified_examples(&c.id, 1).await.expect("examples"), on_c[..1].to_vec());
        assert!(s.verified_examples(&c.id, 0).await.expect("examples").is_empty());
        // another connection's verified answers are its own, even for the same question
        assert_eq!(
            s.verified_examples(&d.id, 10).await.expect("examples"),
            vec![example(&elsewhere, "2025-04-05T00:00:00Z")]
        );
        assert!(s.verified_examples(&new_id(), 10).await.expect("examples").is_empty());

        // marking again replaces who and when: the older answer to the same question is the newest example now
        let again = s.set_history_verified(&orders.id, Some(&u.id), t("2025-04-07T00:00:00Z")).await.expect("mark");
        assert_eq!(again.verified_by.as_deref(), Some(u.id.as_str()));
        assert_eq!(
            s.verified_examples(&c.id, 10).await.expect("examples"),
            vec![example(&orders, "2025-04-07T00:00:00Z"), example(&revenue, "2025-04-03T00:00:00Z")]
        );
        // clearing brings the other answer back
        let cleared = s.set_history_verified(&orders.id, None, t1).await.expect("clear");
        assert_eq!(cleared, orders);
        assert_eq!(s.verified_examples(&c.id, 10).await.expect("examples"), on_c);

        // the history list carries the marks
        let listed = s
            .list_history(
                &HistoryFilter { connection_id: Some(c.id.clone()), ..HistoryFilter::default() },
                &PageRequest::first(MAX_PAGE),
            )
            .await
            .expect("list");
        let verified: HashSet<&str> =
            listed.items.iter().filter(|e| e.verified_at.is_some()).map(|e| e.id.as_str()).collect();
        assert_eq!(verified, HashSet::from([orders_again.id.as_str(), revenue.id.as_str()]));

        // a record may arrive verified (both marks, on an answered question) and reads back as recorded
        let mut pre = question(&u.id, base, 1, 1, None);
        pre.entry.connection_id = Some(c.id.clone());
        pre.entry.verified_by = Some(reviewer.id.clone());
        pre.entry.verified_at = Some(t("2025-04-08T00:00:00Z"));
        s.record_question(pre.clone()).await.expect("record verified");
        assert_eq!(s.history_entry(&pre.entry.id).await.expect("read"), Some(pre.entry.clone()));
        assert_eq!(s.verified_examples(&c.id, 1).await.expect("examples")[0].history_id, pre.entry.id);
        let mut half = question(&u.id, base, 1, 1, None);
        half.entry.verified_by = Some(reviewer.id.clone());
        let mut unanswered = question(&u.id, base, 1, 1, None);
        unanswered.entry.status = QueryStatus::Error;
        unanswered.entry.verified_by = Some(reviewer.id.clone());
        unanswered.entry.verified_at = Some(base);
        for bad in [half, unanswered] {
            let id = bad.entry.id.clone();
            assert_eq!(code(s.record_question(bad).await), ErrorCode::InvalidArgument);
            assert_eq!(s.history_entry(&id).await.expect("read"), None);
        }
    })
}

/// Token usage: exact over hour, day and month boundaries and inside an hour; reports by day, model and user.
pub fn usage_windows(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let (u, v) = (user(s.as_ref(), "wendy").await, user(s.as_ref(), "xavier").await);
        let records = [
            ("2025-01-31T23:59:59.999Z", 1, Some("m1")),
            ("2025-02-01T00:00:00.000Z", 10, Some("m1")),
            ("2025-02-01T00:30:00.000Z", 100, Some("m2")),
            ("2025-02-01T01:00:00.000Z", 1000, None),
            ("2025-02-02T00:00:00.000Z", 10000, Some("m1")),
        ];
        for (at, n, model) in records {
            s.record_question(question(&u.id, t(at), n, 2 * n, model)).await.expect("record");
        }
        s.record_question(question(&v.id, t("2025-02-01T00:10:00Z"), 7, 7, Some("m2"))).await.expect("record");
        let prompt = |since: &str| {
            let (s, uid, since) = (s.clone(), u.id.clone(), t(since));
            async move { s.usage_since(&uid, since).await.expect("usage") }
        };
        let p = |since: &'static str| async move { prompt(since).await.prompt_tokens };
        assert_eq!(p("2025-02-01T00:00:00Z").await, 11110, "the month (and day, and hour) from its start");
        assert_eq!(p("2025-01-01T00:00:00Z").await, 11111);
        assert_eq!(p("2025-02-01T01:00:00Z").await, 11000, "from an hour's start");
        assert_eq!(p("2025-02-02T00:00:00Z").await, 10000, "a day");
        assert_eq!(p("2025-01-31T23:59:59.999Z").await, 11111, "the start is inclusive");
        assert_eq!(p("2025-02-01T00:00:00.001Z").await, 11100, "inside an hour: exact");
        assert_eq!(p("2025-02-01T00:30:00.000Z").await, 11100);
        assert_eq!(p("2025-02-01T00:30:00.001Z").await, 11000);
        assert_eq!(p("2025-02-02T00:00:00.001Z").await, 0);
        let all = prompt("2025-01-31T23:30:00Z").await;
        assert_eq!((all.questions, all.prompt_tokens, all.completion_tokens, all.tokens()), (5, 11111, 22222, 33333));

        // A question's context: the connection by name or id, the grant, the usage per moment — in one read.
        let c = s.create_connection(new_connection("finance", SECRET)).await.expect("connection");
        let since = [t("2025-02-01T01:00:00Z"), t("2025-02-02T00:00:00Z"), t("2025-01-01T00:00:00Z")];
        let ctx = s.question_context(&u.id, "finance", &since).await.expect("context").expect("found");
        assert_eq!((ctx.connection.id.as_str(), ctx.permission.as_ref()), (c.id.as_str(), None));
        let prompts: Vec<i64> = ctx.usage.iter().map(|x| x.prompt_tokens).collect();
        assert_eq!(prompts, vec![11000, 10000, 11111]);
        let granted = Permission {
            user_id: u.id.clone(),
            connection_id: c.id.clone(),
            can_query: true,
            allowed_schemas: None,
            allowed_tables: Some(vec!["ledger".into()]),
            row_filters: Vec::new(),
            attributes: BTreeMap::new(),
            max_rows: Some(10),
            max_seconds: None,
            can_unmask: false,
            updated_at: Timestamp::now(),
        };
        let stored = s.put_permission(granted).await.expect("grant");
        let ctx = s.question_context(&u.id, &c.id, &[]).await.expect("context").expect("found");
        assert_eq!((ctx.permission, ctx.usage.len()), (Some(stored), 0));
        let theirs = s.question_context(&v.id, "finance", &since[..1]).await.expect("context").expect("found");
        assert_eq!((theirs.permission, theirs.usage[0].prompt_tokens), (None, 0));
        assert_eq!(s.question_context(&u.id, "nope", &since).await.expect("context"), None);
        assert!((all.cost_usd - 1.25).abs() < 1e-9, "{all:?}");
        assert_eq!(s.usage_since(&new_id(), t("2000-01-01T00:00:00Z")).await.expect("usage"), UsageTotals::default());

        let report = |user: Option<String>, group, since: Option<&str>, until: Option<&str>| {
            let (s, since, until) = (s.clone(), since.map(t), until.map(t));
            async move {
                s.usage_report(user.as_deref(), group, since, until)
                    .await
                    .expect("report")
                    .into_iter()
                    .map(|r| (r.key, r.totals.questions, r.totals.prompt_tokens))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            report(Some(u.id.clone()), UsageGroup::Day, None, None).await,
            [("2025-01-31".to_string(), 1, 1), ("2025-02-01".into(), 3, 1110), ("2025-02-02".into(), 1, 10000)]
        );
        assert_eq!(
            report(None, UsageGroup::Model, Some("2025-02-01T00:00:00Z"), Some("2025-02-02T00:00:00Z")).await,
            [(String::new(), 1, 1000), ("m1".into(), 1, 10), ("m2".into(), 2, 107)]
        );
        let mut by_user = vec![(u.id.clone(), 5, 11111), (v.id.clone(), 1, 7)];
        by_user.sort();
        assert_eq!(report(None, UsageGroup::User, None, None).await, by_user);
        assert!(report(Some(new_id()), UsageGroup::Day, None, None).await.is_empty());

        // A question asked with an API key: named on its history row and counted under the key as well.
        let key = s
            .create_api_key(NewApiKey {
                user_id: v.id.clone(),
                name: "agent".into(),
                prefix: "0123456789ab".into(),
                key_hash: h("agent key"),
                scopes: vec![],
                expires_at: None,
            })
            .await
            .expect("key");
        let mut keyed = question(&v.id, t("2025-02-03T09:00:00Z"), 40, 2, Some("m1"));
        keyed.entry.api_key_id = Some(key.id.clone());
        keyed.entry.channel = Some(Channel::Mcp);
        let recorded = s.record_question(keyed).await.expect("record");
        assert_eq!(report(Some(v.id.clone()), UsageGroup::ApiKey, None, None).await, [(key.id.clone(), 1, 40)]);
        assert_eq!(report(None, UsageGroup::ApiKey, None, None).await, [(key.id.clone(), 1, 40)]);
        assert!(report(Some(u.id.clone()), UsageGroup::ApiKey, None, None).await.is_empty(), "not u's key");
        let filter = HistoryFilter { api_key_id: Some(key.id.clone()), ..Default::default() };
        let listed = s.list_history(&filter, &PageRequest::first(10)).await.expect("history");
        let ids: Vec<_> = listed.items.iter().map(|e| (e.id.clone(), e.api_key_id.clone(), e.channel)).collect();
        assert_eq!(ids, [(recorded.history_id.clone(), Some(key.id.clone()), Some(Channel::Mcp))]);
        let plain = s.history_entry(&listed.items[0].id).await.expect("entry").expect("found");
        assert_eq!(plain.channel, Some(Channel::Mcp));
    })
}

/// Settings: seeded with their defaults; only known keys can be set.
pub fn settings(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let all = s.settings().await.expect("settings");
        let by_key: HashMap<&str, &Setting> = all.iter().map(|x| (x.key.as_str(), x)).collect();
        let expected = [
            ("openai_model", json!("gpt-4"), "llm"),
            ("openai_temperature", json!(0.0), "llm"),
            ("max_file_size_mb", json!(50), "file"),
            ("max_query_rows", json!(10000), "query"),
            ("session_timeout_hours", json!(24), "auth"),
            ("cache_ttl_seconds", json!(3600), "cache"),
            ("default_hourly_token_limit", json!(1000), "quota"),
            ("default_daily_token_limit", json!(10000), "quota"),
            ("default_monthly_token_limit", json!(100000), "quota"),
            ("questions_per_minute_per_user", json!(60), "rate_limit"),
            ("requests_per_minute_per_address", json!(600), "rate_limit"),
            ("billing_enabled", json!(false), "billing"),
            ("credits_per_question", json!(1), "billing"),
            ("admins_exempt", json!(true), "billing"),
            ("tiers", by_key.get("tiers").map(|t| t.value.clone()).unwrap_or_default(), "billing"),
            ("history_retention_days", json!(90), "retention"),
            ("audit_retention_days", json!(180), "retention"),
            ("job_retention_days", json!(7), "retention"),
            ("max_export_rows", json!(100000), "query"),
        ];
        assert_eq!(all.len(), expected.len(), "{:?}", by_key.keys());
        let tiers = &by_key["tiers"].value;
        for tier in ["free", "starter", "pro", "studio", "enterprise"] {
            assert!(
                tiers[tier]["monthly_credits"].is_i64() && tiers[tier]["queue_priority"].is_i64(),
                "{tier}: {tiers}"
            );
        }
        for (key, value, category) in expected.clone() {
            let got = by_key.get(key).unwrap_or_else(|| panic!("{key} is not seeded"));
            assert_eq!((&got.value, got.category.as_str(), got.sensitive), (&value, category, false), "{key}");
            assert!(got.description.as_deref().is_some_and(|d| !d.is_empty()), "{key} has no description");
            assert_eq!(got.updated_by, None);
        }
        let admin = user(s.as_ref(), "yara").await;
        let set = s.set_setting("max_query_rows", json!(5000), Some(&admin.id)).await.expect("set");
        assert_eq!((set.value.clone(), set.updated_by.as_deref()), (json!(5000), Some(admin.id.as_str())));
        assert!(set.updated_at >= by_key["max_query_rows"].updated_at);
        assert_eq!(s.setting("max_query_rows").await.expect("read"), Some(set));
        let structured = json!({"nested": [1, "two", null]});
        assert_eq!(s.set_setting("openai_model", structured.clone(), None).await.expect("set").value, structured);
        assert_eq!(code(s.set_setting("no_such_key", json!(1), None).await), ErrorCode::NotFound);
        assert_eq!(s.setting("no_such_key").await.expect("read"), None);
        assert_eq!(code(s.set_setting("max_query_rows", json!(1), Some(&new_id())).await), ErrorCode::NotFound);
        assert_eq!(s.settings().await.expect("settings").len(), expected.len());
    })
}

fn audit_entry(i: usize) -> NewAuditEntry {
    NewAuditEntry {
        user_id: (!i.is_multiple_of(3)).then(|| format!("user-{}", i % 4)),
        action: if i.is_multiple_of(2) { "user.login".into() } else { "connection.update".into() },
        resource_type: if i.is_multiple_of(2) { "user".into() } else { "connection".into() },
        resource_id: (!i.is_multiple_of(5)).then(|| format!("res-{i}")),
        old_values: (i % 4 == 1).then(|| json!({"b": i, "a": [1, "x", null], "z": {"k": "v"}})),
        new_values: (i % 3 == 1).then(|| json!({"name": format!("n{i}"), "pool": 5})),
        ip_address: Some("127.0.0.1".into()),
        user_agent: i.is_multiple_of(2).then(|| "curl/8".to_string()),
        request_id: Some(format!("req-{i}")),
        success: !i.is_multiple_of(7),
        reason: i.is_multiple_of(7).then(|| "wrong password".to_string()),
    }
}

/// The audit chain under concurrent appends: seq 1..=100 without gaps, a chain that verifies, filtered pages.
pub fn audit_chain(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(0));
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move { s.append_audit(audit_entry(i)).await })
            })
            .collect();
        let mut appended = Vec::new();
        for t in tasks {
            appended.push(t.await.expect("task").expect("append"));
        }
        appended.sort_by_key(|e| e.seq);
        assert_eq!(appended.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=100).collect::<Vec<i64>>());
        let mut prev = datagenie_store::audit::GENESIS.to_string();
        for e in &appended {
            assert_eq!(e.prev_hash, prev, "row {}", e.seq);
            assert_eq!(row_hash(&prev, e), e.hash, "row {}: row_hash disagrees with the store", e.seq);
            prev = e.hash.clone();
        }
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(100));

        let listed = all_pages(30, |p| {
            let s = s.clone();
            async move { s.list_audit(&AuditFilter::default(), &p).await }
        })
        .await;
        let mut newest_first = appended.clone();
        newest_first.reverse();
        assert_eq!(listed, newest_first, "listed rows are the appended ones, newest first");
        let logins = AuditFilter { action: Some("user.login".into()), ..AuditFilter::default() };
        let page = s.list_audit(&logins, &PageRequest::first(MAX_PAGE)).await.expect("list");
        assert_eq!(page.items.len(), 50);
        let theirs = AuditFilter {
            user_id: Some("user-1".into()),
            resource_type: Some("connection".into()),
            ..AuditFilter::default()
        };
        let page = s.list_audit(&theirs, &PageRequest::first(MAX_PAGE)).await.expect("list");
        let expected = appended
            .iter()
            .filter(|e| e.user_id.as_deref() == Some("user-1") && e.resource_type == "connection")
            .count();
        assert!(expected > 0);
        assert_eq!(page.items.len(), expected);
        let future = AuditFilter { since: Some(now_ms().plus(minutes(60))), ..AuditFilter::default() };
        assert!(s.list_audit(&future, &PageRequest::first(10)).await.expect("list").items.is_empty());
        let past = AuditFilter { until: Some(t("2000-01-01T00:00:00Z")), ..AuditFilter::default() };
        assert!(s.list_audit(&past, &PageRequest::first(10)).await.expect("list").items.is_empty());

        let e = NewAuditEntry { action: " ".into(), resource_type: "user".into(), ..NewAuditEntry::default() };
        assert_eq!(code(s.append_audit(e).await), ErrorCode::InvalidArgument);
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(100), "a refused append leaves the chain as it was");
    })
}

/// Tampering with raw SQL — any column of any row edited, a row deleted, two rows swapped — is found at that row.
pub fn audit_tampering(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        for i in 0..10 {
            s.append_audit(audit_entry(i)).await.expect("append");
        }
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(10));
        f.tamper("CREATE TABLE audit_backup AS SELECT * FROM audit_logs").await.expect("backup");
        let restore = "DELETE FROM audit_logs; INSERT INTO audit_logs SELECT * FROM audit_backup;";

        let edits: [(&str, &str); 16] = [
            ("id", "'ffffffff-ffff-4fff-bfff-ffffffffffff'"),
            ("user_id", "CASE WHEN user_id IS NULL THEN 'someone' ELSE NULL END"),
            ("action", "action || '!'"),
            ("resource_type", "'other'"),
            ("resource_id", "CASE WHEN resource_id IS NULL THEN 'r' ELSE NULL END"),
            ("old_values", "'{\"a\": 1}'"),
            ("new_values", "CASE WHEN new_values IS NULL THEN '{}' ELSE NULL END"),
            ("ip_address", "'10.0.0.1'"),
            ("user_agent", "'evil/1'"),
            ("request_id", "'req-x'"),
            ("result", "CASE WHEN result = 'success' THEN 'failure' ELSE 'success' END"),
            ("reason", "'covered up'"),
            ("created_at", "'2000-01-01T00:00:00.000Z'"),
            ("prev_hash", "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"),
            ("hash", "'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'"),
            ("seq", "1000"),
        ];
        for (i, (column, value)) in edits.iter().enumerate() {
            let seq = i64::try_from(i % 10 + 1).expect("small");
            f.tamper(&format!("UPDATE audit_logs SET {column} = {value} WHERE seq = {seq}")).await.expect("edit");
            let broken = s.verify_audit().await.expect("verify").expect_err(&format!("editing {column} went unseen"));
            assert_eq!(broken.seq, seq, "editing {column} of row {seq}: {broken:?}");
            f.tamper(restore).await.expect("restore");
            assert_eq!(s.verify_audit().await.expect("verify"), Ok(10), "restored after {column}");
        }
        // a JSON edit that keeps its meaning is an edit too
        f.tamper("UPDATE audit_logs SET old_values = replace(old_values, ',', ', ') WHERE old_values IS NOT NULL")
            .await
            .expect("respace");
        let first_json = s
            .list_audit(&AuditFilter::default(), &PageRequest::first(MAX_PAGE))
            .await
            .expect("list")
            .items
            .iter()
            .filter(|e| e.old_values.is_some())
            .map(|e| e.seq)
            .min()
            .expect("a row with old values");
        assert_eq!(s.verify_audit().await.expect("verify").expect_err("respaced").seq, first_json);
        f.tamper(restore).await.expect("restore");

        for seq in [1, 5, 10] {
            f.tamper(&format!("DELETE FROM audit_logs WHERE seq = {seq}")).await.expect("delete");
            let broken = s.verify_audit().await.expect("verify").expect_err("deletion went unseen");
            assert_eq!((broken.seq, broken.id.clone()), (seq, None), "{broken:?}");
            f.tamper(restore).await.expect("restore");
        }
        f.tamper(
            "UPDATE audit_logs SET seq = 100000 WHERE seq = 3;
             UPDATE audit_logs SET seq = 3 WHERE seq = 6;
             UPDATE audit_logs SET seq = 6 WHERE seq = 100000;",
        )
        .await
        .expect("swap");
        assert_eq!(s.verify_audit().await.expect("verify").expect_err("swap went unseen").seq, 3);
        f.tamper(restore).await.expect("restore");
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(10));
        // the chain goes on after all that
        assert_eq!(s.append_audit(audit_entry(10)).await.expect("append").seq, 11);
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(11));
    })
}

/// Events are recorded; one without a type is refused.
pub fn events(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        s.record_event(NewEvent {
            event_type: "server.started".into(),
            user_id: None,
            data: Some(json!({"version": "0.1.0", "workers": 2})),
            ip_address: Some("127.0.0.1".into()),
            user_agent: None,
            session_id: None,
        })
        .await
        .expect("record");
        s.record_event(NewEvent { event_type: "login".into(), user_id: Some(new_id()), ..NewEvent::default() })
            .await
            .expect("record");
        assert_eq!(code(s.record_event(NewEvent::default()).await), ErrorCode::InvalidArgument);
        assert_eq!(f.count("SELECT count(*) FROM events").await.expect("count"), 2);
        assert_eq!(f.count("SELECT count(*) FROM events WHERE event_type = 'server.started'").await.expect("count"), 1);
    })
}

/// Window counters: 200 concurrent bumps of one window all count (each caller sees a different count), windows and
/// keys are apart, an expired counter starts again (a sliding one is kept alive by each bump), a clear forgets every
/// window of its key, and only expired windows are purged.
pub fn counters(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let (window, expires, now) = (t("2026-12-07T10:00:00Z"), t("2026-12-07T10:01:00Z"), t("2026-12-07T10:00:10Z"));
        let bumps: Vec<_> = (0..200)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.bump_counter("rate:ip:10.0.0.1", window, expires, now).await })
            })
            .collect();
        let mut seen = Vec::new();
        for b in bumps {
            seen.push(b.await.expect("task").expect("bump"));
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=200).collect::<Vec<i64>>());
        assert_eq!(s.counter("rate:ip:10.0.0.1", window, now).await.expect("read"), Some((200, expires)));
        assert_eq!(s.counter("rate:ip:10.0.0.1", window, expires).await.expect("read"), None, "expired");
        let next = t("2026-12-07T10:01:00Z");
        let later = t("2026-12-07T10:02:00Z");
        assert_eq!(s.bump_counter("rate:ip:10.0.0.1", next, later, next).await.expect("bump"), 1);
        assert_eq!(s.bump_counter("rate:ip:10.0.0.2", window, expires, now).await.expect("bump"), 1);
        assert_eq!(s.counter("rate:ip:10.0.0.3", window, now).await.expect("read"), None);
        // a sliding counter: one window, each bump pushes the expiry; once it runs out, it starts again
        let epoch = t("1970-01-01T00:00:00Z");
        let login = "login:email:a@example.com";
        assert_eq!(s.bump_counter(login, epoch, t("2026-12-07T10:15:00Z"), now).await.expect("bump"), 1);
        assert_eq!(
            s.bump_counter(login, epoch, t("2026-12-07T10:20:00Z"), t("2026-12-07T10:05:00Z")).await.expect("bump"),
            2
        );
        assert_eq!(
            s.counter(login, epoch, t("2026-12-07T10:17:00Z")).await.expect("read"),
            Some((2, t("2026-12-07T10:20:00Z")))
        );
        assert_eq!(
            s.bump_counter(login, epoch, t("2026-12-07T10:40:00Z"), t("2026-12-07T10:25:00Z")).await.expect("bump"),
            1
        );
        s.clear_counter("rate:ip:10.0.0.1").await.expect("clear");
        assert_eq!(s.counter("rate:ip:10.0.0.1", window, now).await.expect("read"), None);
        assert_eq!(s.counter("rate:ip:10.0.0.1", next, next).await.expect("read"), None);
        assert_eq!(
            s.counter("rate:ip:10.0.0.2", window, now).await.expect("read"),
            Some((1, expires)),
            "another key stays"
        );
        assert_eq!(s.purge_counters(t("2026-12-07T10:05:00Z")).await.expect("purge"), 1);
        assert_eq!(
            s.counter(login, epoch, t("2026-12-07T10:30:00Z")).await.expect("read").map(|c| c.0),
            Some(1),
            "not expired: kept"
        );
        let e = s.bump_counter("", window, expires, now).await.expect_err("empty key");
        assert_eq!(e.code, ErrorCode::InvalidArgument, "{e:?}");
    })
}

fn credit(user_id: &str, amount: i64, kind: CreditKind) -> CreditChange {
    CreditChange { user_id: user_id.into(), amount, kind, history_id: None, description: None, by: None, monthly: None }
}

/// Credits: every change writes its ledger row with the balance after it; the balance never goes below 0 (a
/// change that would is refused and changes nothing, its monthly grant included); a period's monthly credits are
/// granted once; the ledger lists newest first, paged.
pub fn credits(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let u = user(s.as_ref(), "payer").await;
        assert_eq!(u.tier, "free", "a new account's tier");
        assert_eq!(s.credit_balance(&u.id).await.expect("read"), None);
        let grant = CreditChange {
            description: Some("welcome".into()),
            by: Some(u.id.clone()),
            ..credit(&u.id, 100, CreditKind::AdminAdjustment)
        };
        let granted = s.apply_credits(grant).await.expect("grant");
        assert_eq!((granted.amount, granted.balance_after, granted.kind), (100, 100, CreditKind::AdminAdjustment));
        assert_eq!(granted.description.as_deref(), Some("welcome"));
        let spent = s.apply_credits(credit(&u.id, -30, CreditKind::Question)).await.expect("debit");
        assert_eq!(spent.balance_after, 70);
        let e = s.apply_credits(credit(&u.id, -71, CreditKind::Question)).await.expect_err("too much");
        assert_eq!(e.code, ErrorCode::InsufficientCredits, "{e:?}");
        assert_eq!(s.credit_balance(&u.id).await.expect("read").map(|b| b.balance), Some(70));
        // a monthly grant comes first, once per period
        let march = t("2026-03-01T00:00:00Z");
        let with_grant = CreditChange { monthly: Some((50, march)), ..credit(&u.id, -1, CreditKind::Question) };
        assert_eq!(s.apply_credits(with_grant.clone()).await.expect("debit").balance_after, 119);
        assert_eq!(s.apply_credits(with_grant.clone()).await.expect("debit").balance_after, 118, "granted once");
        let b = s.credit_balance(&u.id).await.expect("read").expect("balance");
        assert_eq!((b.balance, b.last_granted_at), (118, Some(march)));
        // a refused change takes its grant back with it
        let april = t("2026-04-01T00:00:00Z");
        let big = CreditChange { monthly: Some((50, april)), ..credit(&u.id, -1000, CreditKind::Question) };
        assert_eq!(s.apply_credits(big).await.expect_err("too much").code, ErrorCode::InsufficientCredits);
        assert_eq!(
            s.credit_balance(&u.id).await.expect("read").map(|b| (b.balance, b.last_granted_at)),
            Some((118, Some(march)))
        );
        let refund = CreditChange { history_id: Some("h-1".into()), ..credit(&u.id, 1, CreditKind::Refund) };
        assert_eq!(s.apply_credits(refund).await.expect("refund").history_id.as_deref(), Some("h-1"));
        // the ledger: newest first, and its amounts add up to the balance
        let all = all_pages(2, |p| {
            let (s, id) = (s.clone(), u.id.clone());
            async move { s.list_credit_transactions(&id, &p).await }
        })
        .await;
        let kinds: Vec<CreditKind> = all.iter().map(|x| x.kind).collect();
        use CreditKind::*;
        assert_eq!(kinds, [Refund, Question, Question, MonthlyGrant, Question, AdminAdjustment]);
        assert_eq!(all.iter().map(|x| x.amount).sum::<i64>(), 119);
        assert_eq!(all[0].balance_after, 119);
        assert_eq!(s.credit_balance(&u.id).await.expect("read").map(|b| b.balance), Some(119));
        assert_eq!(s.apply_credits(credit(&u.id, 0, Refund)).await.expect_err("zero").code, ErrorCode::InvalidArgument);
        assert_eq!(s.apply_credits(credit("nobody", 5, Refund)).await.expect_err("nobody").code, ErrorCode::NotFound);
        // the tier is the user's to change
        let patched =
            s.update_user(&u.id, UserPatch { tier: Some("pro".into()), ..UserPatch::default() }).await.expect("tier");
        assert_eq!(patched.tier, "pro");
        assert_eq!(s.user(&u.id).await.expect("read").map(|u| u.tier), Some("pro".into()));
        let bad = s.update_user(&u.id, UserPatch { tier: Some("Gold Plan".into()), ..UserPatch::default() }).await;
        assert_eq!(bad.expect_err("bad tier").code, ErrorCode::InvalidArgument);
    })
}

/// 500 concurrent debits of 1 against a balance of 300: exactly 300 go through, each seeing a different balance
/// after it; the rest are refused; the balance ends at 0 and equals the ledger's sum.
pub fn credits_race(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let u = user(s.as_ref(), "racer").await;
        s.apply_credits(credit(&u.id, 300, CreditKind::AdminAdjustment)).await.expect("grant");
        let debits: Vec<_> = (0..500)
            .map(|_| {
                let (s, id) = (s.clone(), u.id.clone());
                tokio::spawn(async move { s.apply_credits(credit(&id, -1, CreditKind::Question)).await })
            })
            .collect();
        let mut after = Vec::new();
        let mut refused = 0;
        for d in debits {
            match d.await.expect("task") {
                Ok(t) => after.push(t.balance_after),
                Err(e) if e.code == ErrorCode::InsufficientCredits => refused += 1,
                Err(e) => panic!("{e:?}"),
            }
        }
        after.sort_unstable();
        assert_eq!(after, (0..300).collect::<Vec<i64>>());
        assert_eq!(refused, 200);
        assert_eq!(s.credit_balance(&u.id).await.expect("read").map(|b| b.balance), Some(0));
        let sum = f.count(&format!("SELECT sum(amount) FROM credit_transactions WHERE user_id = '{}'", u.id)).await;
        assert_eq!(sum.expect("sum"), 0);
        assert_eq!(f.count("SELECT count(*) FROM credit_transactions").await.expect("count"), 301);
    })
}

fn new_job(user_id: &str, question: &str, priority: i32) -> NewJob {
    NewJob {
        user_id: user_id.into(),
        connection: "shop".into(),
        question: question.into(),
        tier: "free".into(),
        priority,
        max_attempts: 2,
        caller: json!({"ip": "10.0.0.1"}),
        export_rows: None,
    }
}

/// The job queue: the highest priority first, then the oldest; a lease renewed by its owner only; a job whose
/// lease ran out is taken again (its first worker can then neither renew nor finish it), and failed once no
/// attempts are left; cancelling and its refusals.
pub fn jobs_queue(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let u = user(s.as_ref(), "queuer").await;
        let low = s.create_job(new_job(&u.id, "low", 10)).await.expect("queue");
        assert_eq!((low.status, low.attempts, low.caller.clone()), (JobStatus::Queued, 0, json!({"ip": "10.0.0.1"})));
        let high1 = s.create_job(new_job(&u.id, "high 1", 50)).await.expect("queue");
        let high2 = s.create_job(new_job(&u.id, "high 2", 50)).await.expect("queue");
        let e = s.create_job(new_job(&u.id, "  ", 1)).await.expect_err("empty");
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert_eq!(s.create_job(new_job("nobody", "q", 1)).await.expect_err("nobody").code, ErrorCode::NotFound);

        let t0 = t("2026-12-07T10:00:00Z");
        let lease = |secs: i64| t0.plus(time::Duration::seconds(secs));
        let a = s.claim_job("w1", lease(30), t0).await.expect("claim").expect("a job");
        assert_eq!((a.id.as_str(), a.status, a.attempts), (high1.id.as_str(), JobStatus::Running, 1));
        let b = s.claim_job("w2", lease(30), t0).await.expect("claim").expect("a job");
        assert_eq!(b.id, high2.id, "then the next of the same priority, the older first");
        assert!(s.renew_job(&a.id, "w1", lease(60), Some(json!({"stage": "sql"}))).await.expect("renew"));
        assert!(!s.renew_job(&a.id, "w2", lease(60), None).await.expect("renew"), "not w2's");
        assert_eq!(s.job(&a.id).await.expect("read").and_then(|j| j.progress), Some(json!({"stage": "sql"})));
        let done = JobOutcome {
            status: JobStatus::Succeeded,
            history_id: Some(a.id.clone()),
            error_code: None,
            error_message: None,
            output: None,
        };
        assert!(s.finish_job(&a.id, "w1", done.clone()).await.expect("finish"));
        assert!(!s.finish_job(&a.id, "w1", done.clone()).await.expect("finish"), "once");
        let finished = s.job(&a.id).await.expect("read").expect("job");
        assert_eq!((finished.status, finished.history_id.as_deref()), (JobStatus::Succeeded, Some(a.id.as_str())));
        assert!(finished.finished_at.is_some() && finished.lease_owner.is_none());

        // w2 dies holding high2: after its lease, w3 takes it; w2 can neither renew nor finish it any more
        assert_eq!(s.claim_job("w3", lease(60), lease(10)).await.expect("claim").map(|j| j.id), Some(low.id.clone()));
        let low_done = JobOutcome {
            status: JobStatus::Failed,
            history_id: None,
            error_code: Some("query_failed".into()),
            error_message: Some("no".into()),
            output: None,
        };
        assert!(s.finish_job(&low.id, "w3", low_done).await.expect("finish"));
        let retaken = s.claim_job("w3", lease(90), lease(31)).await.expect("claim").expect("the expired one");
        assert_eq!((retaken.id.as_str(), retaken.attempts), (high2.id.as_str(), 2));
        assert!(!s.renew_job(&high2.id, "w2", lease(90), None).await.expect("renew"));
        assert!(!s.finish_job(&high2.id, "w2", done.clone()).await.expect("finish"));
        // w3 dies too: no attempts left, so the job fails rather than running a third time
        assert_eq!(s.claim_job("w4", lease(200), lease(91)).await.expect("claim").map(|j| j.id), None);
        let failed = s.job(&high2.id).await.expect("read").expect("job");
        assert_eq!((failed.status, failed.error_code.as_deref()), (JobStatus::Failed, Some("lease_expired")));

        // cancelling: a queued job, and a running one (its worker stops at its next renewal)
        let q = s.create_job(new_job(&u.id, "to cancel", 1)).await.expect("queue");
        let other = user(s.as_ref(), "stranger").await;
        assert_eq!(s.cancel_job(&q.id, Some(&other.id)).await.expect_err("not theirs").code, ErrorCode::NotFound);
        assert_eq!(s.cancel_job(&q.id, Some(&u.id)).await.expect("cancel").status, JobStatus::Cancelled);
        assert_eq!(s.cancel_job(&q.id, None).await.expect_err("ended").code, ErrorCode::InvalidArgument);
        assert_eq!(s.cancel_job("missing", None).await.expect_err("missing").code, ErrorCode::NotFound);
        let r = s.create_job(new_job(&u.id, "running", 1)).await.expect("queue");
        let running = s.claim_job("w5", lease(300), lease(100)).await.expect("claim").expect("job");
        assert_eq!(running.id, r.id);
        s.cancel_job(&r.id, None).await.expect("cancel");
        assert!(!s.renew_job(&r.id, "w5", lease(400), None).await.expect("renew"), "cancelled: the worker stops");
        assert!(!s.finish_job(&r.id, "w5", done).await.expect("finish"));
        assert_eq!(s.claim_job("w6", lease(900), lease(800)).await.expect("claim"), None, "nothing left");
    })
}

/// 100 jobs, 20 workers taking them at once until none is left: each job is taken exactly once.
pub fn jobs_race(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let u = user(s.as_ref(), "busy").await;
        for i in 0..100 {
            s.create_job(new_job(&u.id, &format!("q{i}"), i % 5)).await.expect("queue");
        }
        let now = Timestamp::now();
        let until = now.plus(time::Duration::minutes(5));
        let workers: Vec<_> = (0..20)
            .map(|w| {
                let s = s.clone();
                tokio::spawn(async move {
                    let mut taken = Vec::new();
                    while let Some(job) = s.claim_job(&format!("w{w}"), until, now).await.expect("claim") {
                        taken.push(job.id);
                    }
                    taken
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.expect("worker"));
        }
        let distinct: HashSet<&String> = all.iter().collect();
        assert_eq!((all.len(), distinct.len()), (100, 100), "every job taken once");
    })
}

/// An uploaded spreadsheet's bytes: kept (sealed at rest) only for a file connection and only when they are the file
/// its info describes; replaced; read back; gone with their connection.
pub fn file_contents(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        use sha2::Digest;
        let s = f.store();
        let bytes = b"region,amount\nJeju-north-conformance,10\n".to_vec();
        let sha256: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let info = FileInfo { name: "sales.csv".into(), size: bytes.len() as u64, sha256 };
        let upload = s
            .create_connection(NewConnection {
                file: Some(info.clone()),
                engine: Engine_::File,
                url: SecretUrl::new("/data/files/1/sales.csv"),
                display_url: "sales.csv".into(),
                ..new_connection("upload", SECRET)
            })
            .await
            .expect("create");
        assert_eq!(s.file_content(&upload.id).await.expect("none yet"), None);
        // other bytes than the file described: refused, nothing kept
        let mut other = bytes.clone();
        other[0] = b'R';
        assert_eq!(code(s.put_file_content(&upload.id, other).await), ErrorCode::InvalidArgument);
        assert_eq!(code(s.put_file_content(&upload.id, bytes[1..].to_vec()).await), ErrorCode::InvalidArgument);
        assert_eq!(s.file_content(&upload.id).await.expect("still none"), None);
        // a connection that is no file, and none at all
        let db = s.create_connection(new_connection("db", SECRET)).await.expect("create");
        assert_eq!(code(s.put_file_content(&db.id, bytes.clone()).await), ErrorCode::InvalidArgument);
        assert_eq!(code(s.put_file_content(&new_id(), bytes.clone()).await), ErrorCode::NotFound);

        s.put_file_content(&upload.id, bytes.clone()).await.expect("keep");
        s.put_file_content(&upload.id, bytes.clone()).await.expect("keep again: replaced");
        assert_eq!(s.file_content(&upload.id).await.expect("read").as_deref(), Some(bytes.as_slice()));
        assert!(!f.at_rest_contains(b"Jeju-north-conformance").await.expect("scan"), "the file is stored in clear");
        s.delete_connection(&upload.id).await.expect("delete");
        assert_eq!(s.file_content(&upload.id).await.expect("gone"), None);
    })
}

/// Appends `n` audit rows, then waits (without sleeping) until the clock has moved past the last one's
/// millisecond: rows appended later are strictly newer. Returns the rows.
pub async fn old_audit_rows(s: &dyn Store, n: usize) -> Vec<AuditEntry> {
    let mut rows = Vec::new();
    for i in 0..n {
        rows.push(s.append_audit(audit_entry(i)).await.expect("append"));
    }
    let last = rows.last().expect("a row").created_at;
    while now_ms() <= last {
        tokio::task::yield_now().await;
    }
    rows
}

/// The `audit.prune` rows, newest first.
async fn prune_rows(s: &dyn Store) -> Vec<AuditEntry> {
    let filter = AuditFilter { action: Some("audit.prune".into()), ..AuditFilter::default() };
    s.list_audit(&filter, &PageRequest::first(MAX_PAGE)).await.expect("list").items
}

/// Retention (seed 000's cleanup_old_data), run after run: a dry run counts and changes nothing; a run removes old
/// history (not the answers marked right; chat messages lose their link; the credit ledger loses nothing) with its
/// charts and rows, expired login sessions with their refresh tokens, finished jobs that are old or whose answer
/// went, expired counters, and the audit chain's old prefix — moving the anchor, after which the chain verifies and
/// the database refuses to delete past it or move it back; it records itself as an `audit.prune` row. A second run
/// at once changes nothing; 0 days keeps history, events, jobs and audit forever (expiry still ends logins). After
/// the anchor, an edit or a deletion still shows, a run refuses to remove a broken prefix, and an anchor moved
/// outside a run shows.
pub fn retention(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let t0 = now_ms();
        let old_audit = old_audit_rows(s.as_ref(), 5).await;
        for i in 5..8 {
            s.append_audit(audit_entry(i)).await.expect("append");
        }
        // the audit cutoff (1 day before `now`) falls just after row 5
        let now = old_audit[4].created_at.plus(time::Duration::milliseconds(1)).plus(time::Duration::days(1));
        let days = time::Duration::days;
        let u = user(s.as_ref(), "keeper").await;

        let ask = |at: Timestamp| question(&u.id, at, 10, 5, Some("gpt-4o"));
        let mut q = ask(now.plus(-days(100)));
        q.analysis = Some(Analysis {
            chart_type: Some("bar".into()),
            chart_spec: Some(json!({"mark": "bar"})),
            summary: None,
            insights: None,
        });
        q.result = Some(StoredResult { columns: vec!["n".into()], rows: json!([[4]]), truncated: false });
        let old1 = s.record_question(q).await.expect("record").history_id;
        let chat = s.create_chat_session(&u.id, None, Some("numbers")).await.expect("chat");
        let mut q = ask(now.plus(-days(100)));
        q.entry.session_id = Some(chat.id.clone());
        let old2 = s.record_question(q).await.expect("record").history_id;
        let marked = s.record_question(ask(now.plus(-days(100)))).await.expect("record").history_id;
        s.set_history_verified(&marked, Some(&u.id), Timestamp::now()).await.expect("mark");
        let recent1 = s.record_question(ask(now.plus(-days(10)))).await.expect("record").history_id;
        let recent2 = s.record_question(ask(now.plus(days(7)))).await.expect("record").history_id;
        s.apply_credits(credit(&u.id, 10, CreditKind::AdminAdjustment)).await.expect("grant");
        let refund = CreditChange { history_id: Some(old1.clone()), ..credit(&u.id, 1, CreditKind::Refund) };
        s.apply_credits(refund).await.expect("refund");

        let a = s.create_job(new_job(&u.id, "a", 50)).await.expect("job");
        let b = s.create_job(new_job(&u.id, "b", 40)).await.expect("job");
        let d = s.create_job(new_job(&u.id, "d", 30)).await.expect("job");
        let c = s.create_job(new_job(&u.id, "c", 1)).await.expect("job");
        let lease = Timestamp::now().plus(minutes(5));
        for (owner, job, answer) in [("w1", &a, &old1), ("w2", &b, &recent1)] {
            let taken = s.claim_job(owner, lease, Timestamp::now()).await.expect("claim").expect("a job");
            assert_eq!(taken.id, job.id);
            let done = JobOutcome {
                status: JobStatus::Succeeded,
                history_id: Some(answer.clone()),
                error_code: None,
                error_message: None,
                output: None,
            };
            assert!(s.finish_job(&job.id, owner, done).await.expect("finish"));
        }
        s.cancel_job(&d.id, None).await.expect("cancel");

        let expired = s.create_login_session(&u.id, None, None, t0.plus(minutes(60))).await.expect("login");
        let live = s.create_login_session(&u.id, None, None, t0.plus(days(30))).await.expect("login");
        for (family, label) in [(&expired, "t1"), (&expired, "t2"), (&live, "t3")] {
            s.insert_refresh_token(token(&u.id, &family.id, label, family.expires_at)).await.expect("token");
        }
        s.bump_counter("rate:a", t0, t0.plus(minutes(60)), t0).await.expect("bump");
        s.bump_counter("rate:b", t0, now.plus(minutes(60)), t0).await.expect("bump");
        s.record_event(NewEvent { event_type: "server.start".into(), ..NewEvent::default() }).await.expect("event");
        let rows = |table: &'static str| async move { f.count(&format!("SELECT count(*) FROM {table}")).await };

        // a dry run counts, and changes nothing
        let policy = RetentionPolicy { history_days: 90, audit_days: 1, job_days: 7 };
        let expected = PurgeReport {
            history: 2,
            events: 0,
            sessions: 1,
            refresh_tokens: 2,
            jobs: 1,
            counters: 1,
            audit_rows: 5,
            audit_anchor: 5,
            dry_run: true,
        };
        assert_eq!(s.purge_expired(policy, now, true).await.expect("dry run"), expected);
        for (table, n) in [("query_history", 5), ("audit_logs", 8), ("user_sessions", 2), ("jobs", 4)] {
            assert_eq!(rows(table).await.expect("count"), n, "{table} after a dry run");
        }
        assert_eq!(s.audit_anchor().await.expect("anchor"), None);

        let report = s.purge_expired(policy, now, false).await.expect("purge");
        assert_eq!(report, PurgeReport { dry_run: false, ..expected });
        for id in [&old1, &old2] {
            assert_eq!(s.history_entry(id).await.expect("read"), None, "old questions go");
        }
        for id in [&marked, &recent1, &recent2] {
            assert!(s.history_entry(id).await.expect("read").is_some(), "marked and recent questions stay");
        }
        assert_eq!(s.analysis(&old1).await.expect("read"), None);
        assert_eq!(s.stored_result(&old1).await.expect("read"), None);
        assert_eq!(
            (rows("analysis_results").await.expect("count"), rows("query_results").await.expect("count")),
            (0, 0)
        );
        let messages = s.list_chat_messages(&chat.id, &PageRequest::first(10)).await.expect("messages");
        assert_eq!(messages.items.len(), 2, "the conversation keeps its text");
        assert!(messages.items.iter().all(|m| m.history_id.is_none()), "{:?}", messages.items);
        let ledger = s.list_credit_transactions(&u.id, &PageRequest::first(10)).await.expect("ledger");
        assert_eq!(ledger.items.len(), 2, "the credit ledger loses nothing");
        assert_eq!(ledger.items[0].history_id.as_deref(), Some(old1.as_str()));
        assert_eq!(s.job(&a.id).await.expect("read"), None, "a job whose answer went goes with it");
        for job in [&b, &d, &c] {
            assert!(s.job(&job.id).await.expect("read").is_some());
        }
        assert_eq!((rows("user_sessions").await.expect("n"), rows("refresh_tokens").await.expect("n")), (1, 1));
        assert!(s.session_user(&u.id, &live.id, t0).await.expect("session").is_some(), "the live login works");
        assert_eq!(s.counter("rate:b", t0, t0).await.expect("counter").map(|c| c.0), Some(1));
        assert_eq!(rows("rate_counters").await.expect("count"), 1);
        assert_eq!(rows("events").await.expect("count"), 1);

        // the audit chain: rows 1..=5 gone, the anchor at row 5, the run recorded as row 9
        let anchor = s.audit_anchor().await.expect("anchor").expect("an anchor");
        assert_eq!((anchor.seq, anchor.hash.as_str()), (5, old_audit[4].hash.as_str()));
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(4));
        let pruned = prune_rows(s.as_ref()).await;
        assert_eq!(pruned.len(), 1);
        assert_eq!(pruned[0].seq, 9);
        let values = pruned[0].new_values.clone().expect("values");
        assert_eq!(
            (&values["history"], &values["audit_rows"], &values["anchor_seq"], &values["anchor_hash"]),
            (&json!(2), &json!(5), &json!(5), &json!(old_audit[4].hash)),
            "{values}"
        );
        assert_eq!(values["audit_retention_days"], json!(1));
        assert_eq!(rows("audit_logs").await.expect("count"), 4);
        // the database deletes audit rows only up to the anchor, and the anchor only moves forward, to a row of the
        // chain (these go straight to the database, around the store)
        for refused in [
            "DELETE FROM audit_logs WHERE seq = 6 RETURNING seq",
            "UPDATE audit_logs SET reason = 'x' WHERE seq = 6 RETURNING seq",
            "UPDATE audit_anchor SET seq = 4 RETURNING seq",
            // row 6's hash, not row 7's
            "UPDATE audit_anchor SET seq = 7, hash = (SELECT prev_hash FROM audit_logs WHERE seq = 7) RETURNING seq",
            "UPDATE audit_anchor SET seq = 100 RETURNING seq",
            "DELETE FROM audit_anchor RETURNING seq",
        ] {
            assert!(f.count(refused).await.is_err(), "the database let this through: {refused}");
        }
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(4));

        // a second run at once removes nothing, and leaves no trace
        let again = s.purge_expired(policy, now, false).await.expect("purge again");
        assert_eq!(again, PurgeReport { audit_anchor: 5, ..PurgeReport::default() });
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(4));

        // eight days on, with 5 days of history: the recent question, the event, the finished jobs and every audit
        // row (all older than a day: the chain is the new run's row alone)
        let later = now.plus(days(8));
        let policy = RetentionPolicy { history_days: 5, ..policy };
        let report = s.purge_expired(policy, later, false).await.expect("purge later");
        let expected = PurgeReport {
            history: 1,
            events: 1,
            sessions: 0,
            refresh_tokens: 0,
            jobs: 2,
            counters: 1,
            audit_rows: 4,
            audit_anchor: 9,
            dry_run: false,
        };
        assert_eq!(report, expected);
        assert_eq!(s.history_entry(&recent1).await.expect("read"), None);
        assert!(s.history_entry(&recent2).await.expect("read").is_some());
        assert!(s.job(&c.id).await.expect("read").is_some(), "a queued job stays");
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(1));
        assert_eq!(s.audit_anchor().await.expect("anchor").map(|a| a.seq), Some(9));

        // 0 days: history, events, jobs and audit are kept however old; an expired login still goes
        let e = s.create_job(new_job(&u.id, "e", 1)).await.expect("job");
        s.cancel_job(&e.id, None).await.expect("cancel");
        s.record_event(NewEvent { event_type: "server.stop".into(), ..NewEvent::default() }).await.expect("event");
        let far = later.plus(days(40_000));
        let would = s.purge_expired(RetentionPolicy::default(), far, true).await.expect("dry run");
        let expected = PurgeReport {
            history: 1,
            events: 1,
            sessions: 1,
            refresh_tokens: 1,
            jobs: 1,
            counters: 0,
            audit_rows: 1,
            audit_anchor: 10,
            dry_run: true,
        };
        assert_eq!(would, expected, "what the defaults would remove");
        let kept = s.purge_expired(RetentionPolicy::FOREVER, far, false).await.expect("purge forever");
        assert_eq!(kept, PurgeReport { sessions: 1, refresh_tokens: 1, audit_anchor: 9, ..PurgeReport::default() });
        assert!(s.history_entry(&recent2).await.expect("read").is_some());
        assert!(s.job(&e.id).await.expect("read").is_some());
        assert_eq!(rows("events").await.expect("count"), 1);
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(2), "rows 10 and 11 (this run)");

        // after the anchor, tampering still shows (from here on, around the guards)
        f.tamper("CREATE TABLE audit_backup AS SELECT * FROM audit_logs").await.expect("backup");
        let restore = "DELETE FROM audit_logs; INSERT INTO audit_logs SELECT * FROM audit_backup;";
        f.tamper("UPDATE audit_logs SET reason = 'covered up' WHERE seq = 11").await.expect("edit");
        let broken = s.verify_audit().await.expect("verify").expect_err("edited");
        assert_eq!((broken.seq, broken.intact), (11, 1), "{broken:?}");
        f.tamper(restore).await.expect("restore");
        f.tamper("DELETE FROM audit_logs WHERE seq = 10").await.expect("delete");
        let broken = s.verify_audit().await.expect("verify").expect_err("deleted");
        assert_eq!((broken.seq, broken.id.clone()), (10, None), "{broken:?}");
        f.tamper(restore).await.expect("restore");
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(2));
        // a run does not remove a broken prefix: it fails, and removes nothing
        f.tamper("UPDATE audit_logs SET action = 'hidden' WHERE seq = 10").await.expect("edit");
        let e = s.purge_expired(policy, far, false).await.expect_err("a broken prefix");
        assert_eq!(e.code, ErrorCode::SystemDatabase, "{e:?}");
        assert!(e.message.contains("row 10"), "{e:?}");
        assert_eq!(rows("audit_logs").await.expect("count"), 2);
        assert_eq!(rows("query_history").await.expect("count"), 2, "nothing else went either");
        assert_eq!(s.audit_anchor().await.expect("anchor").map(|a| a.seq), Some(9));
        f.tamper(restore).await.expect("restore");
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(2));
        // an anchor moved on outside a run (a row removed without trace): the last run's row names another
        f.tamper(
            "UPDATE audit_anchor SET seq = 10, hash = (SELECT hash FROM audit_logs WHERE seq = 10);
             DELETE FROM audit_logs WHERE seq = 10;",
        )
        .await
        .expect("forge");
        let broken = s.verify_audit().await.expect("verify").expect_err("forged anchor");
        assert_eq!((broken.seq, broken.id.clone()), (10, None), "{broken:?}");
        assert!(broken.reason.contains("outside a retention run"), "{broken:?}");
    })
}

/// Four runs at once from two stores on one database (two servers), beside 30 appends: the old rows go once (the
/// runs take turns: one removes them, the others find nothing), one `audit.prune` row is written, and the chain
/// verifies with every append in it.
pub fn retention_race(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let other = f.reopen_with(&MasterKey::generate().expect("key")).await.expect("second store");
        let old = old_audit_rows(s.as_ref(), 10).await;
        let now = old[9].created_at.plus(time::Duration::milliseconds(1)).plus(time::Duration::days(1));
        let u = user(s.as_ref(), "racer").await;
        for _ in 0..40 {
            s.record_question(question(&u.id, now.plus(time::Duration::days(-100)), 1, 1, None)).await.expect("record");
        }
        let policy = RetentionPolicy { history_days: 90, audit_days: 1, job_days: 7 };
        let runs: Vec<_> = (0..4)
            .map(|i| {
                let store = if i % 2 == 0 { s.clone() } else { other.clone() };
                tokio::spawn(async move { store.purge_expired(policy, now, false).await })
            })
            .collect();
        let appends: Vec<_> = (0..30)
            .map(|i| {
                let store = if i % 2 == 0 { s.clone() } else { other.clone() };
                tokio::spawn(async move { store.append_audit(audit_entry(i)).await })
            })
            .collect();
        let mut reports = Vec::new();
        for r in runs {
            reports.push(r.await.expect("task").expect("purge"));
        }
        for a in appends {
            a.await.expect("task").expect("append");
        }
        assert_eq!(reports.iter().map(|r| r.history).sum::<u64>(), 40, "{reports:?}");
        assert_eq!(reports.iter().map(|r| r.audit_rows).sum::<u64>(), 10, "{reports:?}");
        assert_eq!(reports.iter().filter(|r| r.records() > 0).count(), 1, "one run removed it all: {reports:?}");
        assert!(reports.iter().all(|r| r.audit_anchor == 10), "{reports:?}");
        assert_eq!(prune_rows(s.as_ref()).await.len(), 1);
        assert_eq!(s.verify_audit().await.expect("verify"), Ok(31));
        assert_eq!(other.verify_audit().await.expect("verify"), Ok(31));
        assert_eq!(f.count("SELECT count(*) FROM query_history").await.expect("count"), 0);
        assert_eq!(f.count("SELECT max(seq) FROM audit_logs").await.expect("count"), 41);
    })
}

/// A long export: its row cap kept with the job, its output kept with its outcome — only by the worker that still
/// holds it — read back whole, and gone with the job.
pub fn job_exports(f: &dyn Fixture) -> BoxedCheck<'_> {
    Box::pin(async move {
        let s = f.store();
        let u = user(s.as_ref(), "exporter").await;
        let bad = NewJob { export_rows: Some(0), ..new_job(&u.id, "all orders", 0) };
        assert_eq!(code(s.create_job(bad).await), ErrorCode::InvalidArgument);
        let job =
            s.create_job(NewJob { export_rows: Some(50_000), ..new_job(&u.id, "all orders", 0) }).await.expect("q");
        assert_eq!(job.export_rows, Some(50_000));
        let question = s.create_job(new_job(&u.id, "a question", 0)).await.expect("queue");
        assert_eq!(question.export_rows, None);
        let now = now_ms();
        let taken = s.claim_job("w1", now.plus(minutes(1)), now).await.expect("claim").expect("a job");
        assert_eq!(taken.id, job.id);
        assert_eq!(s.job_output(&job.id).await.expect("read"), None, "nothing before it ends");
        let csv = "id,amount\n1,10\n2,20\n".as_bytes().to_vec();
        let output = JobOutput { content: csv.clone(), rows: 2, truncated: true, created_at: now_ms() };
        assert!(!format!("{output:?}").contains("amount"), "Debug shows no data");
        let done = JobOutcome {
            status: JobStatus::Succeeded,
            history_id: Some(job.id.clone()),
            error_code: None,
            error_message: None,
            output: Some(output.clone()),
        };
        assert!(!s.finish_job(&job.id, "w2", done.clone()).await.expect("finish"), "not w2's");
        assert_eq!(s.job_output(&job.id).await.expect("read"), None, "a worker that lost the job keeps nothing");
        assert!(s.finish_job(&job.id, "w1", done.clone()).await.expect("finish"));
        assert_eq!(s.job_output(&job.id).await.expect("read"), Some(output));
        assert_eq!(s.job_output(&question.id).await.expect("read"), None);
        s.delete_user(&u.id).await.expect("delete the user");
        assert_eq!(s.job_output(&job.id).await.expect("read"), None, "gone with the job");
    })
}
