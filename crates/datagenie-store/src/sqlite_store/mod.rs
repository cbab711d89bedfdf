//! [`SqliteStore`]: the [`Store`] on the SQLite system database, `<data_dir>/datagenie.db`.
//!
//! # Threads and connections
//!
//! rusqlite blocks, so no statement runs on the async runtime's threads.
//!
//! Reads go to the pool of read-only connections through `tokio::task::spawn_blocking`,
//! [`READERS`](crate::sqlite::READERS) at a time, each in a (deferred) transaction: in WAL mode they see the last
//! commit and never wait for the writer. Callers beyond that limit wait on an async semaphore, not on a thread.
//!
//! Writes go to one writer thread that owns the [`SystemDb`]'s writable connection while it works (SQLite has one
//! writer). It takes the writes queued so far (up to [`MAX_BATCH`]) and runs them in ONE `IMMEDIATE` transaction —
//! the write lock is taken at `BEGIN`, so what a write reads cannot change before it commits, even against another
//! process on the same file — each write inside its own savepoint. A write that fails is rolled back to its
//! savepoint and leaves no trace; the others go on. Each caller is answered only after the COMMIT (or with the
//! COMMIT's error). That is group commit: under load, one commit serves many writes. Every method is still one
//! atomic unit: all of its changes are committed, or none.
//!
//! Statements are prepared once per connection and cached (`prepare_cached`).
//!
//! # Errors
//!
//! A unique value taken is `already_exists` (naming what), a reference to a missing user, connection or session
//! `not_found`, a value the schema's CHECKs refuse `invalid_argument`; every other failure is `system_database` with
//! the file's path. No message carries a secret: URLs are sealed before they reach SQL, and SQLite's messages name
//! constraints, not values.
//!
//! The modules hold the blocking work per area: `users` (accounts, logins, refresh tokens, API keys),
//! `connections` (connections, schema snapshots, permissions), `chat`, `questions` (history, analysis, results,
//! usage), `records` (settings, audit, events) and `retention` (what stops being kept).

mod chat;
mod connections;
mod credits;
mod jobs;
mod questions;
mod records;
mod retention;
mod sql;
mod users;

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

use async_trait::async_trait;
use datagenie_core::{Error, ErrorCode, SecretUrl};
use rusqlite::TransactionBehavior;
use tokio::sync::{Semaphore, oneshot};

use crate::crypto::SecretBox;
use crate::knowledge::KnowledgeStore;
use crate::model::*;
use crate::sqlite::{READERS, SystemDb, system_error};
use crate::store::Store;
use crate::templates::TemplateStore;

/// The SQLite store. Cheap to clone (an `Arc`); every clone uses the same connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<SystemDb>,
    secrets: SecretBox,
    /// One permit per reading connection.
    readers: Arc<Semaphore>,
    /// The writer thread's queue; the thread ends when the last store (clone) drops it.
    jobs: mpsc::Sender<Job>,
}

/// The connection a method's blocking work runs on: a read transaction, or a savepoint of the writer's.
pub(crate) type Db = rusqlite::Connection;

/// The most writes one transaction of the writer thread takes.
pub const MAX_BATCH: usize = 64;

/// A queued write: runs on the writer's connection (or is told why it cannot), and says whether it succeeded and
/// how to answer its caller once the transaction's fate is known.
type Job = Box<dyn FnOnce(Result<(&Db, &Ctx<'_>), &Error>) -> (bool, Deliver) + Send>;

/// Answers a write's caller: with the COMMIT's error when there is one (`Some`), else with the write's own outcome.
type Deliver = Box<dyn FnOnce(Option<&Error>) + Send>;

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.inner.db.path()).finish_non_exhaustive()
    }
}

/// What the blocking work of a method fails with: SQLite's error (mapped by [`Fail::into_error`]) or the store's
/// own.
pub(crate) enum Fail {
    Sql(rusqlite::Error),
    App(Error),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::App(e)
    }
}

pub(crate) type R<T> = Result<T, Fail>;

impl Fail {
    /// The error a caller sees: constraint violations become the caller's mistake, other SQLite errors
    /// `system_database` with the path.
    fn into_error(self, path: &Path, what: &str) -> Error {
        let e = match self {
            Fail::App(e) => return e,
            Fail::Sql(e) => e,
        };
        if let rusqlite::Error::SqliteFailure(f, msg) = &e
            && f.code == rusqlite::ErrorCode::ConstraintViolation
        {
            let msg = msg.as_deref().unwrap_or("");
            let columns = msg.split_once(": ").map_or("", |(_, c)| c);
            match f.extended_code {
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return Error::new(ErrorCode::AlreadyExists, format!("{what}: {}", taken(columns)));
                }
                rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                    return Error::new(
                        ErrorCode::NotFound,
                        format!("{what}: it refers to a user, connection or session that does not exist"),
                    );
                }
                rusqlite::ffi::SQLITE_CONSTRAINT_CHECK
                | rusqlite::ffi::SQLITE_CONSTRAINT_NOTNULL
                | rusqlite::ffi::SQLITE_CONSTRAINT_DATATYPE => {
                    return Error::new(ErrorCode::InvalidArgument, format!("{what}: a value is out of range ({msg})"));
                }
                _ => {}
            }
        }
        system_error(path, what, e)
    }
}

/// What a unique constraint on `columns` (`users.email`) means to a person.
fn taken(columns: &str) -> String {
    match columns {
        "users.email" => "a user with this email already exists".into(),
        "users.username" => "a user with this username already exists".into(),
        "database_connections.name" => "a connection with this name already exists".into(),
        "api_keys.key_prefix" => "an API key with this prefix already exists".into(),
        "api_keys.key_hash" => "an API key with this hash already exists".into(),
        "refresh_tokens.token_hash" => "a refresh token with this hash already exists".into(),
        "query_history.id" => "a question with this id is already recorded".into(),
        other => format!("a row with the same {other} already exists"),
    }
}

pub(crate) fn not_found(message: impl Into<String>) -> Fail {
    Fail::App(Error::new(ErrorCode::NotFound, message))
}

pub(crate) fn invalid(message: impl Into<String>) -> Fail {
    Fail::App(Error::new(ErrorCode::InvalidArgument, message))
}

/// Runs blocking work off the async runtime's threads (inline when there is no tokio runtime).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, Error> + Send + 'static) -> Result<T, Error> {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    match tokio::task::spawn_blocking(f).await {
        Ok(out) => out,
        Err(e) => Err(Error::new(ErrorCode::Internal, format!("a system-database task failed: {e}"))),
    }
}

fn closed() -> Error {
    Error::new(ErrorCode::Internal, "the system database is closed")
}

impl SqliteStore {
    /// Opens (creating when missing) the system database at `path`, brings its schema up to date, and keeps
    /// connection URLs sealed with `secrets` (see [`SecretBox::for_connections`]). Blocks: call it before serving,
    /// or from `spawn_blocking`.
    pub fn open(path: &Path, secrets: SecretBox) -> Result<SqliteStore, Error> {
        SqliteStore::new(Arc::new(SystemDb::open(path)?), secrets)
    }

    /// The store on an open system database (shared with a [`TemplateStore`], say). Starts the writer thread.
    pub fn new(db: Arc<SystemDb>, secrets: SecretBox) -> Result<SqliteStore, Error> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (thread_db, thread_secrets) = (Arc::clone(&db), secrets.clone());
        std::thread::Builder::new()
            .name("datagenie-store-writer".into())
            .spawn(move || writer_thread(&thread_db, &thread_secrets, &queue))
            .map_err(|e| system_error(db.path(), "cannot start the writer thread", e))?;
        Ok(SqliteStore { inner: Arc::new(Inner { db, secrets, readers: Arc::new(Semaphore::new(READERS)), jobs }) })
    }

    /// The template store on the same file and connections.
    pub fn templates(&self) -> TemplateStore {
        TemplateStore::new(Arc::clone(&self.inner.db))
    }

    /// The knowledge store on the same file and connections.
    pub fn knowledge(&self) -> KnowledgeStore {
        KnowledgeStore::new(Arc::clone(&self.inner.db))
    }

    pub fn system_db(&self) -> &Arc<SystemDb> {
        &self.inner.db
    }

    pub fn path(&self) -> &Path {
        self.inner.db.path()
    }

    /// Runs `f` in a read transaction on a reading connection, off the runtime's threads.
    async fn read<T, F>(&self, what: &'static str, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Db, &Ctx<'_>) -> R<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.inner.readers).acquire_owned().await.map_err(|_| closed())?;
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let _permit = permit;
            let ctx = Ctx { path: inner.db.path(), secrets: &inner.secrets };
            let out = inner.db.with_reader(|conn| -> R<T> {
                let tx = conn.transaction()?;
                let out = f(&tx, &ctx)?;
                tx.commit()?;
                Ok(out)
            })?;
            out.map_err(|e| e.into_error(ctx.path, what))
        })
        .await
    }

    /// Queues `f` for the writer thread (see the module documentation) and waits for the answer, which comes after
    /// the transaction that ran it has committed.
    async fn write<T, F>(&self, what: &'static str, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Db, &Ctx<'_>) -> R<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, Error>>();
        let job: Job = Box::new(move |on| -> (bool, Deliver) {
            let out = match on {
                Ok((conn, ctx)) => f(conn, ctx).map_err(|e| e.into_error(ctx.path, what)),
                Err(e) => Err(e.clone().context(what)),
            };
            let ok = out.is_ok();
            let deliver: Deliver = Box::new(move |commit: Option<&Error>| {
                let answer = match (out, commit) {
                    (Ok(_), Some(e)) => Err(e.clone().context(what)),
                    (out, _) => out,
                };
                // the caller may have gone away (a dropped request): the write stands all the same
                let _ = reply.send(answer);
            });
            (ok, deliver)
        });
        self.inner.jobs.send(job).map_err(|_| closed())?;
        answer
            .await
            .map_err(|_| Error::new(ErrorCode::Internal, format!("{what}: the system database's writer stopped")))?
    }
}

/// The writer thread: waits for a write, takes it and every write queued behind it (up to [`MAX_BATCH`]), runs
/// them in one transaction, and answers each. Ends when every store has dropped the queue's sender.
fn writer_thread(db: &SystemDb, secrets: &SecretBox, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let ctx = Ctx { path: db.path(), secrets };
        run_batch(&mut db.writer(), &ctx, batch);
    }
}

/// One IMMEDIATE transaction; each job in a savepoint; the answers after the COMMIT.
fn run_batch(conn: &mut rusqlite::Connection, ctx: &Ctx<'_>, batch: Vec<Job>) {
    let fail_all = |batch: Vec<Job>, e: &Error| {
        for job in batch {
            let (_, deliver) = job(Err(e));
            deliver(None);
        }
    };
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch, &system_error(ctx.path, "cannot start a write", e)),
    };
    let mut batch = batch;
    if batch.len() == 1
        && let Some(job) = batch.pop()
    {
        // A batch of one needs no savepoint: its transaction is its unit (two statements fewer when idle).
        match std::panic::catch_unwind(AssertUnwindSafe(|| job(Ok((&*tx, ctx))))) {
            Ok((true, deliver)) => {
                let commit = tx.commit().err().map(|e| system_error(ctx.path, "cannot commit", e));
                deliver(commit.as_ref());
            }
            // dropping the transaction rolls it back
            Ok((false, deliver)) => {
                drop(tx);
                deliver(None);
            }
            Err(_) => drop(tx),
        }
        return;
    }
    let mut answers: Vec<Deliver> = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    while let Some(job) = jobs.next() {
        let sp = match tx.savepoint() {
            Ok(sp) => sp,
            Err(e) => {
                let (_, deliver) = job(Err(&system_error(ctx.path, "cannot start a write", e)));
                answers.push(deliver);
                continue;
            }
        };
        // A panic is a bug; it costs its own write (its caller sees the writer stop) and nothing else.
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| job(Ok((&*sp, ctx)))));
        match ran {
            Ok((true, deliver)) => match sp.commit() {
                Ok(()) => answers.push(deliver),
                Err(e) => deliver(Some(&system_error(ctx.path, "cannot finish a write", e))),
            },
            // rolled back to the savepoint as it drops: the failed write leaves nothing behind
            Ok((false, deliver)) => {
                drop(sp);
                answers.push(deliver);
            }
            Err(_) => drop(sp),
        }
        // Some errors (I/O, a full disk) make SQLite roll the whole transaction back: then nothing of this batch
        // stands, and the writes not yet run are refused rather than run outside a transaction.
        if tx.is_autocommit() {
            let e = system_error(ctx.path, "a write was rolled back", "the transaction ended early (I/O error?)");
            for deliver in answers {
                deliver(Some(&e));
            }
            return fail_all(jobs.collect(), &e);
        }
    }
    let commit = tx.commit().err().map(|e| system_error(ctx.path, "cannot commit", e));
    for deliver in answers {
        deliver(commit.as_ref());
    }
}

/// What a method's blocking work may need besides its transaction.
pub(crate) struct Ctx<'a> {
    pub path: &'a Path,
    pub secrets: &'a SecretBox,
}

/// `&str` arguments become owned for the blocking closure.
fn own(s: &str) -> String {
    s.to_string()
}

fn own_opt(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), Error> {
        self.read("cannot reach the system database", |tx, _| Ok(tx.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    async fn schema_version(&self) -> Result<u32, Error> {
        self.read("cannot read the schema version", |tx, _| {
            let v: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            Ok(u32::try_from(v).unwrap_or(0))
        })
        .await
    }

    // --- users

    async fn create_user(&self, new: NewUser) -> Result<User, Error> {
        self.write("cannot create the user", move |tx, _| users::create_user(tx, new)).await
    }

    async fn user(&self, id: &str) -> Result<Option<User>, Error> {
        let id = own(id);
        self.read("cannot read the user", move |tx, _| users::user(tx, &id)).await
    }

    async fn user_credentials(&self, email: &str) -> Result<Option<Credentials>, Error> {
        let email = own(email);
        self.read("cannot read the user", move |tx, _| users::credentials(tx, &email)).await
    }

    async fn list_users(&self, page: &PageRequest) -> Result<Page<User>, Error> {
        let page = page.clone();
        self.read("cannot list users", move |tx, _| users::list_users(tx, &page)).await
    }

    async fn update_user(&self, id: &str, patch: UserPatch) -> Result<User, Error> {
        let id = own(id);
        self.write("cannot update the user", move |tx, _| users::update_user(tx, &id, patch)).await
    }

    async fn set_password_hash(&self, id: &str, password_hash: &str) -> Result<(), Error> {
        let (id, hash) = (own(id), own(password_hash));
        self.write("cannot set the password", move |tx, _| users::set_password_hash(tx, &id, &hash)).await
    }

    async fn record_login(&self, id: &str, at: Timestamp) -> Result<(), Error> {
        let id = own(id);
        self.write("cannot record the login", move |tx, _| users::record_login(tx, &id, at)).await
    }

    async fn delete_user(&self, id: &str) -> Result<(), Error> {
        let id = own(id);
        self.write("cannot delete the user", move |tx, _| users::delete_user(tx, &id)).await
    }

    async fn count_admins(&self) -> Result<i64, Error> {
        self.read("cannot count admins", |tx, _| users::count_admins(tx)).await
    }

    // --- logins and refresh tokens

    async fn create_login_session(
        &self,
        user_id: &str,
        ip_address: Option<&str>,
        user_agent: Option<&str>,
        expires_at: Timestamp,
    ) -> Result<LoginSession, Error> {
        let (user_id, ip, agent) = (own(user_id), own_opt(ip_address), own_opt(user_agent));
        self.write("cannot create the login session", move |tx, _| {
            users::create_login_session(tx, user_id, ip, agent, expires_at)
        })
        .await
    }

    async fn session_user(&self, user_id: &str, session_id: &str, now: Timestamp) -> Result<Option<User>, Error> {
        let (user_id, session_id) = (own(user_id), own(session_id));
        self.read("cannot read the login", move |tx, _| users::session_user(tx, &user_id, &session_id, now)).await
    }

    async fn insert_refresh_token(&self, token: NewRefreshToken) -> Result<(), Error> {
        self.write("cannot store the refresh token", move |tx, _| users::insert_refresh_token(tx, token)).await
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        replacement: NewRefreshToken,
        now: Timestamp,
    ) -> Result<Rotation, Error> {
        let hash = own(presented_hash);
        self.write("cannot rotate the refresh token", move |tx, _| users::rotate(tx, &hash, replacement, now)).await
    }

    async fn revoke_family(&self, family_id: &str, now: Timestamp) -> Result<(), Error> {
        let family = own(family_id);
        self.write("cannot revoke the login", move |tx, _| users::revoke_family(tx, &family, now)).await
    }

    async fn revoke_user_tokens(&self, user_id: &str, now: Timestamp) -> Result<(), Error> {
        let user = own(user_id);
        self.write("cannot revoke the user's tokens", move |tx, _| users::revoke_user_tokens(tx, &user, now)).await
    }

    async fn refresh_token_family(&self, token_hash: &str) -> Result<Option<(String, String)>, Error> {
        let hash = own(token_hash);
        self.read("cannot read the refresh token", move |tx, _| users::token_family(tx, &hash)).await
    }

    // --- API keys

    async fn create_api_key(&self, new: NewApiKey) -> Result<ApiKey, Error> {
        self.write("cannot create the API key", move |tx, _| users::create_api_key(tx, new)).await
    }

    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<(ApiKey, String)>, Error> {
        let prefix = own(prefix);
        self.read("cannot read the API key", move |tx, _| users::api_key_by_prefix(tx, &prefix)).await
    }

    async fn touch_api_key(&self, id: &str, at: Timestamp) -> Result<(), Error> {
        let id = own(id);
        self.write("cannot count the API key's use", move |tx, _| users::touch_api_key(tx, &id, at)).await
    }

    async fn list_api_keys(&self, user_id: &str, page: &PageRequest) -> Result<Page<ApiKey>, Error> {
        let (user, page) = (own(user_id), page.clone());
        self.read("cannot list API keys", move |tx, _| users::list_api_keys(tx, &user, &page)).await
    }

    async fn revoke_api_key(&self, id: &str, user_id: Option<&str>, at: Timestamp) -> Result<ApiKey, Error> {
        let (id, user) = (own(id), own_opt(user_id));
        self.write("cannot revoke the API key", move |tx, _| users::revoke_api_key(tx, &id, user.as_deref(), at)).await
    }

    // --- connections

    async fn create_connection(&self, new: NewConnection) -> Result<Connection, Error> {
        self.write("cannot create the connection", move |tx, ctx| connections::create(tx, ctx, new)).await
    }

    async fn connection(&self, id_or_name: &str) -> Result<Option<Connection>, Error> {
        let key = own(id_or_name);
        self.read("cannot read the connection", move |tx, _| connections::get(tx, &key)).await
    }

    async fn list_connections(&self, granted_to: Option<&str>, page: &PageRequest) -> Result<Page<Connection>, Error> {
        let (user, page) = (own_opt(granted_to), page.clone());
        self.read("cannot list connections", move |tx, _| connections::list(tx, user.as_deref(), &page)).await
    }

    async fn update_connection(&self, id: &str, patch: ConnectionPatch) -> Result<Connection, Error> {
        let id = own(id);
        self.write("cannot update the connection", move |tx, ctx| connections::update(tx, ctx, &id, patch)).await
    }

    async fn delete_connection(&self, id: &str) -> Result<(), Error> {
        let id = own(id);
        self.write("cannot delete the connection", move |tx, _| connections::delete(tx, &id)).await
    }

    async fn connection_url(&self, id: &str) -> Result<SecretUrl, Error> {
        let id = own(id);
        self.read("cannot read the connection's URL", move |tx, ctx| connections::url(tx, ctx, &id)).await
    }

    async fn put_file_content(&self, connection_id: &str, content: Vec<u8>) -> Result<(), Error> {
        let id = own(connection_id);
        self.write("cannot keep the file", move |tx, ctx| connections::put_file_content(tx, ctx, &id, &content)).await
    }

    async fn file_content(&self, connection_id: &str) -> Result<Option<Vec<u8>>, Error> {
        let id = own(connection_id);
        self.read("cannot read the file", move |tx, ctx| connections::file_content(tx, ctx, &id)).await
    }

    async fn save_schema_snapshot(&self, connection_id: &str, snapshot: SchemaSnapshot) -> Result<(), Error> {
        let id = own(connection_id);
        self.write("cannot save the schema", move |tx, _| connections::save_snapshot(tx, &id, snapshot)).await
    }

    async fn schema_snapshot(&self, connection_id: &str) -> Result<Option<SchemaSnapshot>, Error> {
        let id = own(connection_id);
        self.read("cannot read the schema", move |tx, _| connections::snapshot(tx, &id)).await
    }

    // --- permissions

    async fn put_permission(&self, permission: Permission) -> Result<Permission, Error> {
        self.write("cannot store the permission", move |tx, _| connections::put_permission(tx, permission)).await
    }

    async fn permission(&self, user_id: &str, connection_id: &str) -> Result<Option<Permission>, Error> {
        let (user, conn) = (own(user_id), own(connection_id));
        self.read("cannot read the permission", move |tx, _| connections::permission(tx, &user, &conn)).await
    }

    async fn list_permissions(&self, connection_id: &str) -> Result<Vec<Permission>, Error> {
        let conn = own(connection_id);
        self.read("cannot list permissions", move |tx, _| connections::list_permissions(tx, &conn)).await
    }

    async fn delete_permission(&self, user_id: &str, connection_id: &str) -> Result<(), Error> {
        let (user, conn) = (own(user_id), own(connection_id));
        self.write("cannot delete the permission", move |tx, _| connections::delete_permission(tx, &user, &conn)).await
    }

    // --- chat sessions

    async fn create_chat_session(
        &self,
        user_id: &str,
        connection_id: Option<&str>,
        title: Option<&str>,
    ) -> Result<ChatSession, Error> {
        let (user, conn, title) = (own(user_id), own_opt(connection_id), own_opt(title));
        self.write("cannot create the chat session", move |tx, _| chat::create(tx, user, conn, title)).await
    }

    async fn chat_session(&self, id: &str) -> Result<Option<ChatSession>, Error> {
        let id = own(id);
        self.read("cannot read the chat session", move |tx, _| chat::get(tx, &id)).await
    }

    async fn list_chat_sessions(&self, user_id: &str, page: &PageRequest) -> Result<Page<ChatSession>, Error> {
        let (user, page) = (own(user_id), page.clone());
        self.read("cannot list chat sessions", move |tx, _| chat::list(tx, &user, &page)).await
    }

    async fn rename_chat_session(&self, id: &str, title: Option<&str>) -> Result<ChatSession, Error> {
        let (id, title) = (own(id), own_opt(title));
        self.write("cannot rename the chat session", move |tx, _| chat::rename(tx, &id, title)).await
    }

    async fn delete_chat_session(&self, id: &str) -> Result<(), Error> {
        let id = own(id);
        self.write("cannot delete the chat session", move |tx, _| chat::delete(tx, &id)).await
    }

    async fn list_chat_messages(&self, session_id: &str, page: &PageRequest) -> Result<Page<ChatMessage>, Error> {
        let (session, page) = (own(session_id), page.clone());
        self.read("cannot list chat messages", move |tx, _| chat::messages(tx, &session, &page)).await
    }

    async fn recent_chat_messages(&self, session_id: &str, n: usize) -> Result<Vec<ChatMessage>, Error> {
        let session = own(session_id);
        self.read("cannot read chat messages", move |tx, _| chat::recent(tx, &session, n)).await
    }

    // --- questions: history, analysis, usage

    async fn record_question(&self, record: QuestionRecord) -> Result<RecordedQuestion, Error> {
        self.write("cannot record the question", move |tx, _| questions::record(tx, record)).await
    }

    async fn history_entry(&self, id: &str) -> Result<Option<HistoryEntry>, Error> {
        let id = own(id);
        self.read("cannot read the history", move |tx, _| questions::entry(tx, &id)).await
    }

    async fn analysis(&self, history_id: &str) -> Result<Option<Analysis>, Error> {
        let id = own(history_id);
        self.read("cannot read the analysis", move |tx, _| questions::analysis(tx, &id)).await
    }

    async fn stored_result(&self, history_id: &str) -> Result<Option<StoredResult>, Error> {
        let id = own(history_id);
        self.read("cannot read the stored result", move |tx, _| questions::stored_result(tx, &id)).await
    }

    async fn list_history(&self, filter: &HistoryFilter, page: &PageRequest) -> Result<Page<HistoryEntry>, Error> {
        let (filter, page) = (filter.clone(), page.clone());
        self.read("cannot list the history", move |tx, _| questions::list(tx, &filter, &page)).await
    }

    async fn set_history_verified(&self, id: &str, by: Option<&str>, at: Timestamp) -> Result<HistoryEntry, Error> {
        let (id, by) = (own(id), own_opt(by));
        self.write("cannot mark the answer", move |tx, _| questions::set_verified(tx, &id, by.as_deref(), at)).await
    }

    async fn verified_examples(&self, connection_id: &str, limit: usize) -> Result<Vec<VerifiedExample>, Error> {
        let id = own(connection_id);
        self.read("cannot read verified answers", move |tx, _| questions::verified_examples(tx, &id, limit)).await
    }

    async fn question_context(
        &self,
        user_id: &str,
        connection: &str,
        since: &[Timestamp],
    ) -> Result<Option<QuestionContext>, Error> {
        let (user, key, since) = (own(user_id), own(connection), since.to_vec());
        self.read("cannot read the question's context", move |tx, _| {
            let Some(connection) = connections::get(tx, &key)? else {
                return Ok(None);
            };
            let permission = connections::permission(tx, &user, &connection.id)?;
            let usage = since.iter().map(|at| questions::usage_since(tx, &user, *at)).collect::<Result<Vec<_>, _>>()?;
            Ok(Some(QuestionContext { connection, permission, usage }))
        })
        .await
    }

    async fn usage_since(&self, user_id: &str, since: Timestamp) -> Result<UsageTotals, Error> {
        let user = own(user_id);
        self.read("cannot read token usage", move |tx, _| questions::usage_since(tx, &user, since)).await
    }

    async fn usage_report(
        &self,
        user_id: Option<&str>,
        group: UsageGroup,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<Vec<UsageRow>, Error> {
        let user = own_opt(user_id);
        self.read("cannot report token usage", move |tx, _| {
            questions::usage_report(tx, user.as_deref(), group, since, until)
        })
        .await
    }

    // --- settings

    async fn settings(&self) -> Result<Vec<Setting>, Error> {
        self.read("cannot read settings", |tx, _| records::settings(tx)).await
    }

    async fn setting(&self, key: &str) -> Result<Option<Setting>, Error> {
        let key = own(key);
        self.read("cannot read the setting", move |tx, _| records::setting(tx, &key)).await
    }

    async fn set_setting(&self, key: &str, value: serde_json::Value, by: Option<&str>) -> Result<Setting, Error> {
        let (key, by) = (own(key), own_opt(by));
        self.write("cannot change the setting", move |tx, _| records::set_setting(tx, &key, value, by.as_deref())).await
    }

    // --- audit and events

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, Error> {
        self.write("cannot append to the audit log", move |tx, _| records::append_audit(tx, entry)).await
    }

    async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest) -> Result<Page<AuditEntry>, Error> {
        let (filter, page) = (filter.clone(), page.clone());
        self.read("cannot list the audit log", move |tx, _| records::list_audit(tx, &filter, &page)).await
    }

    async fn verify_audit(&self) -> Result<Result<i64, AuditBreak>, Error> {
        self.read("cannot verify the audit log", |tx, _| records::verify_audit(tx)).await
    }

    async fn audit_anchor(&self) -> Result<Option<AuditAnchor>, Error> {
        self.read("cannot read the audit anchor", |tx, _| records::anchor(tx)).await
    }

    async fn record_event(&self, event: NewEvent) -> Result<(), Error> {
        self.write("cannot record the event", move |tx, _| records::record_event(tx, event)).await
    }

    // --- credits

    async fn apply_credits(&self, change: CreditChange) -> Result<CreditTransaction, Error> {
        self.write("cannot change the credits", move |tx, _| credits::apply(tx, change)).await
    }

    async fn credit_balance(&self, user_id: &str) -> Result<Option<CreditBalance>, Error> {
        let user = own(user_id);
        self.read("cannot read the credits", move |tx, _| credits::balance(tx, &user)).await
    }

    async fn list_credit_transactions(
        &self,
        user_id: &str,
        page: &PageRequest,
    ) -> Result<Page<CreditTransaction>, Error> {
        let (user, page) = (own(user_id), page.clone());
        self.read("cannot list credit changes", move |tx, _| credits::list(tx, &user, &page)).await
    }

    // --- the job queue

    async fn create_job(&self, job: NewJob) -> Result<crate::model::Job, Error> {
        self.write("cannot queue the job", move |tx, _| jobs::create(tx, job)).await
    }

    async fn job(&self, id: &str) -> Result<Option<crate::model::Job>, Error> {
        let id = own(id);
        self.read("cannot read the job", move |tx, _| jobs::get(tx, &id)).await
    }

    async fn claim_job(
        &self,
        owner: &str,
        lease_until: Timestamp,
        now: Timestamp,
    ) -> Result<Option<crate::model::Job>, Error> {
        let owner = own(owner);
        self.write("cannot take a job", move |tx, _| jobs::claim(tx, &owner, lease_until, now)).await
    }

    async fn renew_job(
        &self,
        id: &str,
        owner: &str,
        lease_until: Timestamp,
        progress: Option<serde_json::Value>,
    ) -> Result<bool, Error> {
        let (id, owner) = (own(id), own(owner));
        self.write("cannot renew the job's lease", move |tx, _| jobs::renew(tx, &id, &owner, lease_until, progress))
            .await
    }

    async fn finish_job(&self, id: &str, owner: &str, outcome: JobOutcome) -> Result<bool, Error> {
        let (id, owner) = (own(id), own(owner));
        self.write("cannot finish the job", move |tx, _| jobs::finish(tx, &id, &owner, outcome)).await
    }

    async fn job_output(&self, id: &str) -> Result<Option<crate::model::JobOutput>, Error> {
        let id = own(id);
        self.read("cannot read the job's output", move |tx, _| jobs::output(tx, &id)).await
    }

    async fn cancel_job(&self, id: &str, user_id: Option<&str>) -> Result<crate::model::Job, Error> {
        let (id, user) = (own(id), own_opt(user_id));
        self.write("cannot cancel the job", move |tx, _| jobs::cancel(tx, &id, user.as_deref())).await
    }

    // --- counters

    async fn bump_counter(
        &self,
        key: &str,
        window: Timestamp,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<i64, Error> {
        let key = own(key);
        self.write("cannot count", move |tx, _| records::bump_counter(tx, &key, window, expires, now)).await
    }

    async fn counter(&self, key: &str, window: Timestamp, now: Timestamp) -> Result<Option<(i64, Timestamp)>, Error> {
        let key = own(key);
        self.read("cannot read a counter", move |tx, _| records::counter(tx, &key, window, now)).await
    }

    async fn clear_counter(&self, key: &str) -> Result<(), Error> {
        let key = own(key);
        self.write("cannot clear a counter", move |tx, _| records::clear_counter(tx, &key)).await
    }

    async fn purge_counters(&self, now: Timestamp) -> Result<u64, Error> {
        self.write("cannot remove expired counters", move |tx, _| records::purge_counters(tx, now)).await
    }

    // --- retention

    async fn purge_expired(
        &self,
        policy: crate::retention::RetentionPolicy,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<crate::retention::PurgeReport, Error> {
        if dry_run {
            self.read("cannot count what retention would remove", move |tx, _| retention::purge(tx, policy, now, true))
                .await
        } else {
            self.write("cannot remove old records", move |tx, _| retention::purge(tx, policy, now, false)).await
        }
    }
}
