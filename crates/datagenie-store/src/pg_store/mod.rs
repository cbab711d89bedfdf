//! [`PgStore`]: the [`Store`] on a PostgreSQL system database (`DATAGENIE_SYSTEM_DB__URL=postgres://…`), for
//! several DataGenie servers sharing one state.
//!
//! # Connections and transactions
//!
//! A pool of connections (deadpool; each checked with a round trip before it is handed out, so a connection the
//! server dropped is replaced, not used). Every method is one transaction on one connection: reads in a
//! `REPEATABLE READ, READ ONLY` transaction (what a method reads in several statements is one snapshot), writes in
//! `READ COMMITTED` with the rows they depend on locked (`SELECT … FOR UPDATE`) before they are read, so
//! concurrent writers from any number of servers wait for each other instead of failing: the refresh-token
//! rotation locks the presented token, a chat message its session, an audit append the chain's head. Statements
//! are prepared once per connection and cached.
//!
//! # Schema
//!
//! `migrations/postgres/`, applied at open under a transaction-scoped advisory lock (two servers starting together
//! migrate once), checked against their checksums like SQLite's (an edited applied migration, or a database written
//! by a newer DataGenie, refuses to start).
//!
//! # Errors
//!
//! As on SQLite: a unique value taken is `already_exists` (naming what), a reference to a missing row `not_found`, a
//! value a CHECK refuses `invalid_argument`, anything else `system_database` naming the server (never its password:
//! the pool is built from a parsed configuration, and only the redacted URL is kept for messages).

mod chat;
mod connections;
mod credits;
mod jobs;
pub(crate) mod knowledge;
mod questions;
mod records;
mod retention;
pub(crate) mod sql;
pub(crate) mod templates;
mod users;

use std::time::Duration;

use async_trait::async_trait;
use datagenie_core::{Error, ErrorCode, SecretUrl};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{IsolationLevel, Socket};

use crate::crypto::SecretBox;
use crate::migrations::{self, Migration};
use crate::model::*;
use crate::store::Store;

/// A transaction of a method.
pub(crate) type Tx<'a> = deadpool_postgres::Transaction<'a>;

/// The store on PostgreSQL. Cheap to clone; every clone shares the pool.
#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: Pool,
    pub(crate) ctx: std::sync::Arc<Ctx>,
}

/// What a method may need besides its transaction.
pub(crate) struct Ctx {
    pub secrets: SecretBox,
    /// The server and database, without credentials: for messages.
    pub server: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("server", &self.ctx.server).finish_non_exhaustive()
    }
}

/// What an area's work fails with: PostgreSQL's error (mapped by [`Fail::into_error`]) or the store's own.
pub(crate) enum Fail {
    Pg(tokio_postgres::Error),
    Pool(String),
    App(Error),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::App(e)
    }
}

pub(crate) type R<T> = Result<T, Fail>;

pub(crate) fn not_found(message: impl Into<String>) -> Fail {
    Fail::App(Error::new(ErrorCode::NotFound, message))
}

pub(crate) fn invalid(message: impl Into<String>) -> Fail {
    Fail::App(Error::new(ErrorCode::InvalidArgument, message))
}

/// An error of the system database on `server`, with what was being done.
pub(crate) fn system_error(server: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::SystemDatabase, format!("the system database {server}: {what}: {e}"))
}

/// The server's message (tokio-postgres's `Display` says only "db error"), or the error and its causes.
pub(crate) fn pg_message(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl Fail {
    /// The error a caller sees: constraint violations become the caller's mistake, other failures
    /// `system_database` naming the server.
    pub(crate) fn into_error(self, server: &str, what: &str) -> Error {
        let e = match self {
            Fail::App(e) => return e,
            Fail::Pool(message) => return system_error(server, what, message),
            Fail::Pg(e) => e,
        };
        if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            match code {
                "23505" => {
                    return Error::new(
                        ErrorCode::AlreadyExists,
                        format!("{what}: {}", taken(db.constraint().unwrap_or(""))),
                    );
                }
                "23503" => {
                    return Error::new(
                        ErrorCode::NotFound,
                        format!("{what}: it refers to a user, connection or session that does not exist"),
                    );
                }
                "23514" | "23502" | "22001" | "22003" | "22P02" | "22023" | "22007" | "22008" | "22021" | "22P05" => {
                    return Error::new(
                        ErrorCode::InvalidArgument,
                        format!("{what}: a value is out of range ({})", db.message()),
                    );
                }
                _ => {}
            }
        }
        system_error(server, what, pg_message(&e))
    }
}

/// What a unique constraint (by its name) means to a person.
fn taken(constraint: &str) -> String {
    match constraint {
        "users_email_key" => "a user with this email already exists".into(),
        "users_username_key" => "a user with this username already exists".into(),
        "database_connections_name_key" => "a connection with this name already exists".into(),
        "api_keys_key_prefix_key" => "an API key with this prefix already exists".into(),
        "api_keys_key_hash_key" => "an API key with this hash already exists".into(),
        "refresh_tokens_token_hash_key" => "a refresh token with this hash already exists".into(),
        "query_history_pkey" => "a question with this id is already recorded".into(),
        "query_templates_connection_name_key" => "a template with this name already exists for this database".into(),
        other => format!("a row with the same value already exists ({other})"),
    }
}

/// Which kind of transaction a method runs in.
#[derive(Clone, Copy)]
pub(crate) enum Mode {
    Read,
    Write,
}

/// Runs an area's work (`$body`, an expression of `tx: &Tx` and `ctx: &Ctx` that is a future of `R<T>`) in one
/// transaction of the kind named (`read` or `write`), committed when it succeeds; a future of `Result<T, Error>`.
macro_rules! run {
    ($store:expr, read, $what:expr, |$tx:ident, $ctx:pat_param| $body:expr) => {
        $crate::pg_store::run!(@go $store, $crate::pg_store::Mode::Read, $what, |$tx, $ctx| $body)
    };
    ($store:expr, write, $what:expr, |$tx:ident, $ctx:pat_param| $body:expr) => {
        $crate::pg_store::run!(@go $store, $crate::pg_store::Mode::Write, $what, |$tx, $ctx| $body)
    };
    (@go $store:expr, $mode:expr, $what:expr, |$tx:ident, $ctx:pat_param| $body:expr) => {{
        let store: &$crate::pg_store::PgStore = $store;
        let what: &'static str = $what;
        async move {
            let result: $crate::pg_store::R<_> = async {
                let mut client = store.client().await?;
                let transaction = $crate::pg_store::begin(&mut client, $mode).await?;
                let out = {
                    let $tx = &transaction;
                    let $ctx = &*store.ctx;
                    $body.await?
                };
                transaction.commit().await?;
                Ok(out)
            }
            .await;
            result.map_err(|e| e.into_error(&store.ctx.server, what))
        }
    }};
}
pub(crate) use run;

pub(crate) async fn begin(client: &mut deadpool_postgres::Object, mode: Mode) -> R<Tx<'_>> {
    let builder = client.build_transaction();
    let builder = match mode {
        Mode::Read => builder.isolation_level(IsolationLevel::RepeatableRead).read_only(true),
        Mode::Write => builder.isolation_level(IsolationLevel::ReadCommitted),
    };
    Ok(builder.start().await?)
}

/// The most connections one server keeps to the system database unless configured otherwise.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long a method waits for a pooled connection (all busy) before failing.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

/// A 64-bit key for the advisory lock migrations hold ("datagenie" in ASCII, as a number).
const MIGRATION_LOCK: i64 = 0x0064_6174_6167_656e;

impl PgStore {
    /// Connects to the system database that `config` names (TLS through `tls` when the configuration asks for it),
    /// applies the migrations this build has and the database lacks, and keeps connection URLs sealed with
    /// `secrets`. `server` names the server in messages (a redacted URL).
    ///
    /// Errors: `system_database` when the server cannot be reached, refuses the login, or holds a schema that is
    /// newer or was edited.
    pub async fn connect<T>(
        config: tokio_postgres::Config,
        tls: T,
        secrets: SecretBox,
        server: String,
        pool_size: usize,
    ) -> Result<PgStore, Error>
    where
        T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
        T::Stream: Sync + Send,
        T::TlsConnect: Sync + Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let mut config = config;
        if config.get_application_name().is_none() {
            config.application_name("datagenie");
        }
        let connect_timeout = config.get_connect_timeout().copied().unwrap_or(Duration::from_secs(10));
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(connect_timeout);
        }
        config.keepalives(true);
        let manager = Manager::from_config(config, tls, ManagerConfig { recycling_method: RecyclingMethod::Verified });
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CHECKOUT_TIMEOUT))
            .create_timeout(Some(connect_timeout + Duration::from_secs(1)))
            .recycle_timeout(Some(connect_timeout))
            .build()
            .map_err(|e| Error::new(ErrorCode::Internal, format!("the system database's pool: {e}")))?;
        let store = PgStore { pool, ctx: std::sync::Arc::new(Ctx { secrets, server }) };
        store.migrate(migrations::POSTGRES).await?;
        Ok(store)
    }

    /// Closes the pool: calls after this fail; open connections end as they come back.
    pub fn close(&self) {
        self.pool.close();
    }

    /// The server and database, without credentials.
    pub fn server(&self) -> &str {
        &self.ctx.server
    }

    /// The template store on the same database and pool.
    pub fn templates(&self) -> crate::TemplateStore {
        crate::TemplateStore::postgres(self.clone())
    }

    /// The knowledge store on the same database and pool.
    pub fn knowledge(&self) -> crate::KnowledgeStore {
        crate::KnowledgeStore::postgres(self.clone())
    }

    /// A pooled connection.
    pub(crate) async fn client(&self) -> R<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => Fail::Pg(e),
            deadpool_postgres::PoolError::Timeout(_) => {
                Fail::Pool("no connection to it became free in time (the pool is exhausted)".into())
            }
            other => Fail::Pool(other.to_string()),
        })
    }

    /// Applies the migrations of `list` the database lacks, under an advisory lock, after checking the applied ones.
    pub(crate) async fn migrate(&self, list: &[Migration]) -> Result<(), Error> {
        let server = self.ctx.server.clone();
        let fail = |e: Fail| e.into_error(&server, "cannot bring its schema up to date");
        let mut client = self.client().await.map_err(fail)?;
        let tx = begin(&mut client, Mode::Write).await.map_err(fail)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(|e| fail(e.into()))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS datagenie_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(|e| fail(e.into()))?;
        let rows = tx
            .query("SELECT version, name, checksum FROM datagenie_migrations ORDER BY version", &[])
            .await
            .map_err(|e| fail(e.into()))?;
        let mut applied = 0usize;
        for row in &rows {
            let version: i32 = row.get(0);
            let checksum: String = row.get(2);
            let Some(m) = usize::try_from(version).ok().and_then(|v| v.checked_sub(1)).and_then(|i| list.get(i)) else {
                return Err(Error::new(
                    ErrorCode::SystemDatabase,
                    format!(
                        "the system database {server} has schema version {version}, newer than this DataGenie knows \
                         ({}): upgrade DataGenie",
                        list.len()
                    ),
                ));
            };
            if checksum != m.checksum() {
                return Err(Error::new(
                    ErrorCode::SystemDatabase,
                    format!(
                        "the system database {server}: migration {} ({}) differs from the one applied to this \
                         database; an applied migration must never be edited",
                        m.version, m.name
                    ),
                ));
            }
            applied += 1;
        }
        for m in &list[applied.min(list.len())..] {
            tx.batch_execute(m.sql).await.map_err(|e| fail(e.into()))?;
            let version = i32::try_from(m.version).unwrap_or(i32::MAX);
            tx.execute(
                "INSERT INTO datagenie_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                &[&version, &m.name, &m.checksum()],
            )
            .await
            .map_err(|e| fail(e.into()))?;
            tracing::info!(version = m.version, name = m.name, "system database migrated");
        }
        tx.commit().await.map_err(|e| fail(e.into()))?;
        Ok(())
    }
}

/// `&str` arguments become owned (kept for symmetry with the SQLite store's methods).
fn own(s: &str) -> String {
    s.to_string()
}

fn own_opt(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<(), Error> {
        run!(self, read, "cannot reach the system database", |tx, _| async {
            tx.simple_query("SELECT 1").await?;
            R::Ok(())
        })
        .await
    }

    async fn schema_version(&self) -> Result<u32, Error> {
        run!(self, read, "cannot read the schema version", |tx, _| async {
            let v: i64 = sql::query_one(tx, "SELECT count(*) FROM datagenie_migrations", &[]).await?.try_get(0)?;
            R::Ok(u32::try_from(v).unwrap_or(0))
        })
        .await
    }

    // --- users

    async fn create_user(&self, new: NewUser) -> Result<User, Error> {
        run!(self, write, "cannot create the user", |tx, _| users::create_user(tx, new)).await
    }

    async fn user(&self, id: &str) -> Result<Option<User>, Error> {
        let id = own(id);
        run!(self, read, "cannot read the user", |tx, _| users::user(tx, &id)).await
    }

    async fn user_credentials(&self, email: &str) -> Result<Option<Credentials>, Error> {
        let email = own(email);
        run!(self, read, "cannot read the user", |tx, _| users::credentials(tx, &email)).await
    }

    async fn list_users(&self, page: &PageRequest) -> Result<Page<User>, Error> {
        let page = page.clone();
        run!(self, read, "cannot list users", |tx, _| users::list_users(tx, &page)).await
    }

    async fn update_user(&self, id: &str, patch: UserPatch) -> Result<User, Error> {
        let id = own(id);
        run!(self, write, "cannot update the user", |tx, _| users::update_user(tx, &id, patch)).await
    }

    async fn set_password_hash(&self, id: &str, password_hash: &str) -> Result<(), Error> {
        let (id, hash) = (own(id), own(password_hash));
        run!(self, write, "cannot set the password", |tx, _| users::set_password_hash(tx, &id, &hash)).await
    }

    async fn record_login(&self, id: &str, at: Timestamp) -> Result<(), Error> {
        let id = own(id);
        run!(self, write, "cannot record the login", |tx, _| users::record_login(tx, &id, at)).await
    }

    async fn delete_user(&self, id: &str) -> Result<(), Error> {
        let id = own(id);
        run!(self, write, "cannot delete the user", |tx, _| users::delete_user(tx, &id)).await
    }

    async fn count_admins(&self) -> Result<i64, Error> {
        run!(self, read, "cannot count admins", |tx, _| users::count_admins(tx)).await
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
        run!(self, write, "cannot create the login session", |tx, _| {
            users::create_login_session(tx, user_id, ip, agent, expires_at)
        })
        .await
    }

    async fn session_user(&self, user_id: &str, session_id: &str, now: Timestamp) -> Result<Option<User>, Error> {
        let (user_id, session_id) = (own(user_id), own(session_id));
        run!(self, read, "cannot read the login", |tx, _| users::session_user(tx, &user_id, &session_id, now)).await
    }

    async fn insert_refresh_token(&self, token: NewRefreshToken) -> Result<(), Error> {
        run!(self, write, "cannot store the refresh token", |tx, _| users::insert_refresh_token(tx, token)).await
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        replacement: NewRefreshToken,
        now: Timestamp,
    ) -> Result<Rotation, Error> {
        let hash = own(presented_hash);
        run!(self, write, "cannot rotate the refresh token", |tx, _| users::rotate(tx, &hash, replacement, now)).await
    }

    async fn revoke_family(&self, family_id: &str, now: Timestamp) -> Result<(), Error> {
        let family = own(family_id);
        run!(self, write, "cannot revoke the login", |tx, _| users::revoke_family(tx, &family, now)).await
    }

    async fn revoke_user_tokens(&self, user_id: &str, now: Timestamp) -> Result<(), Error> {
        let user = own(user_id);
        run!(self, write, "cannot revoke the user's tokens", |tx, _| users::revoke_user_tokens(tx, &user, now)).await
    }

    async fn refresh_token_family(&self, token_hash: &str) -> Result<Option<(String, String)>, Error> {
        let hash = own(token_hash);
        run!(self, read, "cannot read the refresh token", |tx, _| users::token_family(tx, &hash)).await
    }

    // --- API keys

    async fn create_api_key(&self, new: NewApiKey) -> Result<ApiKey, Error> {
        run!(self, write, "cannot create the API key", |tx, _| users::create_api_key(tx, new)).await
    }

    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<(ApiKey, String)>, Error> {
        let prefix = own(prefix);
        run!(self, read, "cannot read the API key", |tx, _| users::api_key_by_prefix(tx, &prefix)).await
    }

    async fn touch_api_key(&self, id: &str, at: Timestamp) -> Result<(), Error> {
        let id = own(id);
        run!(self, write, "cannot count the API key's use", |tx, _| users::touch_api_key(tx, &id, at)).await
    }

    async fn list_api_keys(&self, user_id: &str, page: &PageRequest) -> Result<Page<ApiKey>, Error> {
        let (user, page) = (own(user_id), page.clone());
        run!(self, read, "cannot list API keys", |tx, _| users::list_api_keys(tx, &user, &page)).await
    }

    async fn revoke_api_key(&self, id: &str, user_id: Option<&str>, at: Timestamp) -> Result<ApiKey, Error> {
        let (id, user) = (own(id), own_opt(user_id));
        run!(self, write, "cannot revoke the API key", |tx, _| users::revoke_api_key(tx, &id, user.as_deref(), at))
            .await
    }

    // --- connections

    async fn create_connection(&self, new: NewConnection) -> Result<Connection, Error> {
        run!(self, write, "cannot create the connection", |tx, ctx| connections::create(tx, ctx, new)).await
    }

    async fn connection(&self, id_or_name: &str) -> Result<Option<Connection>, Error> {
        let key = own(id_or_name);
        run!(self, read, "cannot read the connection", |tx, _| connections::get(tx, &key)).await
    }

    async fn list_connections(&self, granted_to: Option<&str>, page: &PageRequest) -> Result<Page<Connection>, Error> {
        let (user, page) = (own_opt(granted_to), page.clone());
        run!(self, read, "cannot list connections", |tx, _| connections::list(tx, user.as_deref(), &page)).await
    }

    async fn update_connection(&self, id: &str, patch: ConnectionPatch) -> Result<Connection, Error> {
        let id = own(id);
        run!(self, write, "cannot update the connection", |tx, ctx| connections::update(tx, ctx, &id, patch)).await
    }

    async fn delete_connection(&self, id: &str) -> Result<(), Error> {
        let id = own(id);
        run!(self, write, "cannot delete the connection", |tx, _| connections::delete(tx, &id)).await
    }

    async fn connection_url(&self, id: &str) -> Result<SecretUrl, Error> {
        let id = own(id);
        run!(self, read, "cannot read the connection's URL", |tx, ctx| connections::url(tx, ctx, &id)).await
    }

    async fn put_file_content(&self, connection_id: &str, content: Vec<u8>) -> Result<(), Error> {
        let id = own(connection_id);
        run!(self, write, "cannot keep the file", |tx, ctx| connections::put_file_content(tx, ctx, &id, &content)).await
    }

    async fn file_content(&self, connection_id: &str) -> Result<Option<Vec<u8>>, Error> {
        let id = own(connection_id);
        run!(self, read, "cannot read the file", |tx, ctx| connections::file_content(tx, ctx, &id)).await
    }

    async fn save_schema_snapshot(&self, connection_id: &str, snapshot: SchemaSnapshot) -> Result<(), Error> {
        let id = own(connection_id);
        run!(self, write, "cannot save the schema", |tx, _| connections::save_snapshot(tx, &id, snapshot)).await
    }

    async fn schema_snapshot(&self, connection_id: &str) -> Result<Option<SchemaSnapshot>, Error> {
        let id = own(connection_id);
        run!(self, read, "cannot read the schema", |tx, _| connections::snapshot(tx, &id)).await
    }

    // --- permissions

    async fn put_permission(&self, permission: Permission) -> Result<Permission, Error> {
        run!(self, write, "cannot store the permission", |tx, _| connections::put_permission(tx, permission)).await
    }

    async fn permission(&self, user_id: &str, connection_id: &str) -> Result<Option<Permission>, Error> {
        let (user, conn) = (own(user_id), own(connection_id));
        run!(self, read, "cannot read the permission", |tx, _| connections::permission(tx, &user, &conn)).await
    }

    async fn list_permissions(&self, connection_id: &str) -> Result<Vec<Permission>, Error> {
        let conn = own(connection_id);
        run!(self, read, "cannot list permissions", |tx, _| connections::list_permissions(tx, &conn)).await
    }

    async fn delete_permission(&self, user_id: &str, connection_id: &str) -> Result<(), Error> {
        let (user, conn) = (own(user_id), own(connection_id));
        run!(self, write, "cannot delete the permission", |tx, _| connections::delete_permission(tx, &user, &conn))
            .await
    }

    // --- chat sessions

    async fn create_chat_session(
        &self,
        user_id: &str,
        connection_id: Option<&str>,
        title: Option<&str>,
    ) -> Result<ChatSession, Error> {
        let (user, conn, title) = (own(user_id), own_opt(connection_id), own_opt(title));
        run!(self, write, "cannot create the chat session", |tx, _| chat::create(tx, user, conn, title)).await
    }

    async fn chat_session(&self, id: &str) -> Result<Option<ChatSession>, Error> {
        let id = own(id);
        run!(self, read, "cannot read the chat session", |tx, _| chat::get(tx, &id)).await
    }

    async fn list_chat_sessions(&self, user_id: &str, page: &PageRequest) -> Result<Page<ChatSession>, Error> {
        let (user, page) = (own(user_id), page.clone());
        run!(self, read, "cannot list chat sessions", |tx, _| chat::list(tx, &user, &page)).await
    }

    async fn rename_chat_session(&self, id: &str, title: Option<&str>) -> Result<ChatSession, Error> {
        let (id, title) = (own(id), own_opt(title));
        run!(self, write, "cannot rename the chat session", |tx, _| chat::rename(tx, &id, title)).await
    }

    async fn delete_chat_session(&self, id: &str) -> Result<(), Error> {
        let id = own(id);
        run!(self, write, "cannot delete the chat session", |tx, _| chat::delete(tx, &id)).await
    }

    async fn list_chat_messages(&self, session_id: &str, page: &PageRequest) -> Result<Page<ChatMessage>, Error> {
        let (session, page) = (own(session_id), page.clone());
        run!(self, read, "cannot list chat messages", |tx, _| chat::messages(tx, &session, &page)).await
    }

    async fn recent_chat_messages(&self, session_id: &str, n: usize) -> Result<Vec<ChatMessage>, Error> {
        let session = own(session_id);
        run!(self, read, "cannot read chat messages", |tx, _| chat::recent(tx, &session, n)).await
    }

    // --- questions: history, analysis, usage

    async fn record_question(&self, record: QuestionRecord) -> Result<RecordedQuestion, Error> {
        run!(self, write, "cannot record the question", |tx, _| questions::record(tx, record)).await
    }

    async fn history_entry(&self, id: &str) -> Result<Option<HistoryEntry>, Error> {
        let id = own(id);
        run!(self, read, "cannot read the history", |tx, _| questions::entry(tx, &id)).await
    }

    async fn analysis(&self, history_id: &str) -> Result<Option<Analysis>, Error> {
        let id = own(history_id);
        run!(self, read, "cannot read the analysis", |tx, _| questions::analysis(tx, &id)).await
    }

    async fn stored_result(&self, history_id: &str) -> Result<Option<StoredResult>, Error> {
        let id = own(history_id);
        run!(self, read, "cannot read the stored result", |tx, _| questions::stored_result(tx, &id)).await
    }

    async fn list_history(&self, filter: &HistoryFilter, page: &PageRequest) -> Result<Page<HistoryEntry>, Error> {
        let (filter, page) = (filter.clone(), page.clone());
        run!(self, read, "cannot list the history", |tx, _| questions::list(tx, &filter, &page)).await
    }

    async fn set_history_verified(&self, id: &str, by: Option<&str>, at: Timestamp) -> Result<HistoryEntry, Error> {
        let (id, by) = (own(id), own_opt(by));
        run!(self, write, "cannot mark the answer", |tx, _| questions::set_verified(tx, &id, by.as_deref(), at)).await
    }

    async fn verified_examples(&self, connection_id: &str, limit: usize) -> Result<Vec<VerifiedExample>, Error> {
        let id = own(connection_id);
        run!(self, read, "cannot read verified answers", |tx, _| questions::verified_examples(tx, &id, limit)).await
    }

    async fn question_context(
        &self,
        user_id: &str,
        connection: &str,
        since: &[Timestamp],
    ) -> Result<Option<QuestionContext>, Error> {
        let (user, key, since) = (own(user_id), own(connection), since.to_vec());
        run!(self, read, "cannot read the question's context", |tx, _| async {
            // the connection and every window's usage at once (one round trip for them all), then the grant
            let usage =
                futures_util::future::try_join_all(since.iter().map(|at| questions::usage_since(tx, &user, *at)));
            let (connection, usage) = tokio::try_join!(connections::get(tx, &key), usage)?;
            let Some(connection) = connection else {
                return R::Ok(None);
            };
            let permission = connections::permission(tx, &user, &connection.id).await?;
            R::Ok(Some(QuestionContext { connection, permission, usage }))
        })
        .await
    }

    async fn usage_since(&self, user_id: &str, since: Timestamp) -> Result<UsageTotals, Error> {
        let user = own(user_id);
        run!(self, read, "cannot read token usage", |tx, _| questions::usage_since(tx, &user, since)).await
    }

    async fn usage_report(
        &self,
        user_id: Option<&str>,
        group: UsageGroup,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<Vec<UsageRow>, Error> {
        let user = own_opt(user_id);
        run!(self, read, "cannot report token usage", |tx, _| questions::usage_report(
            tx,
            user.as_deref(),
            group,
            since,
            until
        ))
        .await
    }

    // --- settings

    async fn settings(&self) -> Result<Vec<Setting>, Error> {
        run!(self, read, "cannot read settings", |tx, _| records::settings(tx)).await
    }

    async fn setting(&self, key: &str) -> Result<Option<Setting>, Error> {
        let key = own(key);
        run!(self, read, "cannot read the setting", |tx, _| records::setting(tx, &key)).await
    }

    async fn set_setting(&self, key: &str, value: serde_json::Value, by: Option<&str>) -> Result<Setting, Error> {
        let (key, by) = (own(key), own_opt(by));
        run!(self, write, "cannot change the setting", |tx, _| records::set_setting(tx, &key, value, by.as_deref()))
            .await
    }

    // --- audit and events

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, Error> {
        run!(self, write, "cannot append to the audit log", |tx, _| records::append_audit(tx, entry)).await
    }

    async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest) -> Result<Page<AuditEntry>, Error> {
        let (filter, page) = (filter.clone(), page.clone());
        run!(self, read, "cannot list the audit log", |tx, _| records::list_audit(tx, &filter, &page)).await
    }

    async fn verify_audit(&self) -> Result<Result<i64, AuditBreak>, Error> {
        run!(self, read, "cannot verify the audit log", |tx, _| records::verify_audit(tx)).await
    }

    async fn audit_anchor(&self) -> Result<Option<AuditAnchor>, Error> {
        run!(self, read, "cannot read the audit anchor", |tx, _| records::anchor(tx)).await
    }

    async fn record_event(&self, event: NewEvent) -> Result<(), Error> {
        run!(self, write, "cannot record the event", |tx, _| records::record_event(tx, event)).await
    }

    // --- credits

    async fn apply_credits(&self, change: CreditChange) -> Result<CreditTransaction, Error> {
        run!(self, write, "cannot change the credits", |tx, _| credits::apply(tx, &change)).await
    }

    async fn credit_balance(&self, user_id: &str) -> Result<Option<CreditBalance>, Error> {
        run!(self, read, "cannot read the credits", |tx, _| credits::balance(tx, user_id)).await
    }

    async fn list_credit_transactions(
        &self,
        user_id: &str,
        page: &PageRequest,
    ) -> Result<Page<CreditTransaction>, Error> {
        run!(self, read, "cannot list credit changes", |tx, _| credits::list(tx, user_id, page)).await
    }

    // --- the job queue

    async fn create_job(&self, job: NewJob) -> Result<Job, Error> {
        run!(self, write, "cannot queue the job", |tx, _| jobs::create(tx, &job)).await
    }

    async fn job(&self, id: &str) -> Result<Option<Job>, Error> {
        run!(self, read, "cannot read the job", |tx, _| jobs::get(tx, id)).await
    }

    async fn claim_job(&self, owner: &str, lease_until: Timestamp, now: Timestamp) -> Result<Option<Job>, Error> {
        run!(self, write, "cannot take a job", |tx, _| jobs::claim(tx, owner, lease_until, now)).await
    }

    async fn renew_job(
        &self,
        id: &str,
        owner: &str,
        lease_until: Timestamp,
        progress: Option<serde_json::Value>,
    ) -> Result<bool, Error> {
        run!(self, write, "cannot renew the job's lease", |tx, _| jobs::renew(
            tx,
            id,
            owner,
            lease_until,
            progress.as_ref()
        ))
        .await
    }

    async fn finish_job(&self, id: &str, owner: &str, outcome: JobOutcome) -> Result<bool, Error> {
        run!(self, write, "cannot finish the job", |tx, _| jobs::finish(tx, id, owner, &outcome)).await
    }

    async fn job_output(&self, id: &str) -> Result<Option<JobOutput>, Error> {
        run!(self, read, "cannot read the job's output", |tx, _| jobs::output(tx, id)).await
    }

    async fn cancel_job(&self, id: &str, user_id: Option<&str>) -> Result<Job, Error> {
        run!(self, write, "cannot cancel the job", |tx, _| jobs::cancel(tx, id, user_id)).await
    }

    // --- counters

    async fn bump_counter(
        &self,
        key: &str,
        window: Timestamp,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<i64, Error> {
        run!(self, write, "cannot count", |tx, _| records::bump_counter(tx, key, window, expires, now)).await
    }

    async fn counter(&self, key: &str, window: Timestamp, now: Timestamp) -> Result<Option<(i64, Timestamp)>, Error> {
        run!(self, read, "cannot read a counter", |tx, _| records::counter(tx, key, window, now)).await
    }

    async fn clear_counter(&self, key: &str) -> Result<(), Error> {
        run!(self, write, "cannot clear a counter", |tx, _| records::clear_counter(tx, key)).await
    }

    async fn purge_counters(&self, now: Timestamp) -> Result<u64, Error> {
        run!(self, write, "cannot remove expired counters", |tx, _| records::purge_counters(tx, now)).await
    }

    // --- retention

    async fn purge_expired(
        &self,
        policy: crate::retention::RetentionPolicy,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<crate::retention::PurgeReport, Error> {
        if dry_run {
            run!(self, read, "cannot count what retention would remove", |tx, _| retention::purge(
                tx, policy, now, true
            ))
            .await
        } else {
            run!(self, write, "cannot remove old records", |tx, _| retention::purge(tx, policy, now, false)).await
        }
    }
}
