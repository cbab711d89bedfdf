//! The system database a command or the server works on — DataGenie's own state, apart from the users' databases:
//! the SQLite file `<data_dir>/datagenie.db` by default, or the PostgreSQL database of `system_db.url`
//! (`DATAGENIE_SYSTEM_DB__URL`), which several servers share. The ONE place the choice is made and the store, the
//! template store and the knowledge store are opened on it.

use std::path::PathBuf;
use std::sync::Arc;

use datagenie_connectors::postgres::{PostgresUrl, parse_postgres_url};
use datagenie_core::{Dialect, Error, ErrorCode, SecretUrl};
use datagenie_store::{KnowledgeStore, MasterKey, PgStore, SecretBox, SqliteStore, Store, TemplateStore};

use crate::config::Config;
use crate::database::system_database_path;

/// Where the system database is.
#[derive(Debug, Clone)]
pub enum SystemLocation {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database (its password is in the URL, never printed).
    Postgres(PostgresUrl),
}

impl SystemLocation {
    /// Reads a system database URL: `sqlite:///path`, a plain path, or `postgres://…`. Errors:
    /// [`ErrorCode::InvalidConfig`] for another scheme or a malformed URL (the message never shows a password).
    pub fn parse(url: &SecretUrl) -> Result<SystemLocation, Error> {
        let text = url.expose().trim();
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return parse_postgres_url(text)
                .map(SystemLocation::Postgres)
                .map_err(|e| Error::new(ErrorCode::InvalidConfig, format!("system_db.url: {}", e.message)));
        }
        if let Some(path) = lower.strip_prefix("sqlite://").map(|_| &text["sqlite://".len()..]) {
            if path.is_empty() {
                return Err(Error::new(ErrorCode::InvalidConfig, "system_db.url: sqlite:// needs a file path"));
            }
            return Ok(SystemLocation::Sqlite(PathBuf::from(path)));
        }
        if text.contains("://") {
            return Err(Error::new(
                ErrorCode::InvalidConfig,
                format!(
                    "system_db.url: '{}' is neither sqlite:///path nor postgres://… (the system database is SQLite \
                     or PostgreSQL)",
                    url.redacted()
                ),
            ));
        }
        Ok(SystemLocation::Sqlite(PathBuf::from(text)))
    }

    /// The configured location: `system_db.url`, else the SQLite file in the data directory.
    pub fn of(config: &Config) -> Result<SystemLocation, Error> {
        if config.system_db.url.expose().trim().is_empty() {
            return Ok(SystemLocation::Sqlite(system_database_path(config)?));
        }
        SystemLocation::parse(&config.system_db.url)
    }

    /// For messages: the file's path, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            SystemLocation::Sqlite(path) => path.display().to_string(),
            SystemLocation::Postgres(url) => url.describe(),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        match self {
            SystemLocation::Sqlite(_) => "sqlite",
            SystemLocation::Postgres(_) => "postgres",
        }
    }
}

/// The opened system database: the store and the template and knowledge stores on the same connections.
#[derive(Clone)]
pub struct System {
    pub location: SystemLocation,
    pub store: Arc<dyn Store>,
    pub templates: Arc<TemplateStore>,
    pub knowledge: KnowledgeStore,
    /// The engine-specific store, for what only it does (backups, copies).
    pub engine: EngineStore,
}

/// The store by engine.
#[derive(Clone)]
pub enum EngineStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl std::fmt::Debug for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("System").field("location", &self.location.describe()).finish_non_exhaustive()
    }
}

/// Opens (creating and migrating as needed) the system database at `location`, with connection URLs sealed by
/// `master`'s key. `pool_size`: connections to PostgreSQL.
pub async fn open_at(location: &SystemLocation, master: &MasterKey, pool_size: usize) -> Result<System, Error> {
    let secrets = SecretBox::for_connections(master);
    match location {
        SystemLocation::Sqlite(path) => {
            let (path, secrets) = (path.clone(), secrets.clone());
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path, secrets))
                .await
                .map_err(|e| Error::new(ErrorCode::Internal, format!("opening the system database failed: {e}")))??;
            Ok(System {
                location: location.clone(),
                templates: Arc::new(store.templates()),
                knowledge: store.knowledge(),
                store: Arc::new(store.clone()),
                engine: EngineStore::Sqlite(store),
            })
        }
        SystemLocation::Postgres(url) => {
            let store = open_postgres(url, secrets, pool_size).await?;
            Ok(System {
                location: location.clone(),
                templates: Arc::new(store.templates()),
                knowledge: store.knowledge(),
                store: Arc::new(store.clone()),
                engine: EngineStore::Postgres(store),
            })
        }
    }
}

/// Opens the configured system database (see [`SystemLocation::of`]).
pub async fn open(config: &Config, master: &MasterKey) -> Result<System, Error> {
    open_at(&SystemLocation::of(config)?, master, config.system_db.pool_size).await
}

/// What the command line reads and writes of the system database besides the server's records: verified templates
/// and knowledge items, on the configured system database (the same ones the servers use).
#[derive(Clone)]
pub struct Catalog {
    pub templates: Arc<TemplateStore>,
    pub knowledge: KnowledgeStore,
}

/// Opens the templates and knowledge of the configured system database. They never touch connection URLs, so on
/// PostgreSQL no shared key is needed: `DATAGENIE_SECRET_KEY` is used when set, else a key of the moment.
pub async fn open_catalog(config: &Config) -> Result<Catalog, Error> {
    match SystemLocation::of(config)? {
        SystemLocation::Sqlite(path) => {
            let db = tokio::task::spawn_blocking(move || datagenie_store::SystemDb::open(&path))
                .await
                .map_err(|e| Error::new(ErrorCode::Internal, format!("opening the system database failed: {e}")))??;
            let db = Arc::new(db);
            Ok(Catalog { templates: Arc::new(TemplateStore::new(Arc::clone(&db))), knowledge: KnowledgeStore::new(db) })
        }
        SystemLocation::Postgres(url) => {
            let key = match std::env::var("DATAGENIE_SECRET_KEY").ok().filter(|k| !k.trim().is_empty()) {
                Some(hex) => MasterKey::from_hex(&hex)?,
                None => MasterKey::generate()?,
            };
            let store = open_postgres(&url, SecretBox::for_connections(&key), 4).await?;
            Ok(Catalog { templates: Arc::new(store.templates()), knowledge: store.knowledge() })
        }
    }
}

/// The PostgreSQL store on `url`: its schema created when the URL names one that does not exist yet, then put first
/// on every session's search path.
pub async fn open_postgres(url: &PostgresUrl, secrets: SecretBox, pool_size: usize) -> Result<PgStore, Error> {
    let tls = url.tls_connector()?;
    let mut config = url.client_config("datagenie");
    if url.schema != "public" {
        ensure_schema(url, &config, tls.clone()).await?;
        config.options(format!("-c search_path={}", escape_option(&Dialect::Postgres.quote_ident(&url.schema))));
    }
    PgStore::connect(config, tls, secrets, url.describe(), pool_size).await
}

/// `CREATE SCHEMA IF NOT EXISTS` on a session of its own.
async fn ensure_schema(
    url: &PostgresUrl,
    config: &tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
) -> Result<(), Error> {
    let fail = |what: &str, e: tokio_postgres::Error| {
        let message = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string());
        Error::new(ErrorCode::SystemDatabase, format!("the system database {}: {what}: {message}", url.describe()))
    };
    let (client, connection) = config.connect(tls).await.map_err(|e| fail("cannot connect", e))?;
    let task = tokio::spawn(connection);
    let sql = format!("CREATE SCHEMA IF NOT EXISTS {}", Dialect::Postgres.quote_ident(&url.schema));
    let out = client.batch_execute(&sql).await.map_err(|e| fail("cannot create its schema", e));
    drop(client);
    let _ = task.await;
    out
}

/// A value in a libpq `options` string: spaces and backslashes escaped.
fn escape_option(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_whitespace() || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_never_show_a_password() {
        let pg = SystemLocation::parse(&SecretUrl::new("postgres://dg:Hunter22@db:5432/state?schema=dg")).expect("pg");
        assert_eq!(pg.engine(), "postgres");
        assert!(!pg.describe().contains("Hunter22") && !format!("{pg:?}").contains("Hunter22"), "{}", pg.describe());
        assert!(pg.describe().contains("schema=dg"));
        let file = SystemLocation::parse(&SecretUrl::new("sqlite:///var/lib/dg/datagenie.db")).expect("file");
        assert_eq!(file.describe(), "/var/lib/dg/datagenie.db");
        assert_eq!(SystemLocation::parse(&SecretUrl::new("/tmp/x.db")).expect("path").engine(), "sqlite");
        for bad in ["mysql://root:Hunter22@db/x", "sqlite://", "postgres://u:Hunter22@db:notaport/x"] {
            let e = SystemLocation::parse(&SecretUrl::new(bad)).expect_err(bad);
            assert_eq!(e.code, ErrorCode::InvalidConfig, "{bad}");
            assert!(!e.message.contains("Hunter22"), "{}", e.message);
        }
        assert_eq!(escape_option("\"a b\\c\""), "\"a\\ b\\\\c\"");
    }
}
