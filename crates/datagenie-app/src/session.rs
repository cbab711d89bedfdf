//! Opening what a command needs from configuration: the database connector, the LLM provider, the schema cache.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use datagenie_core::connector::Connector;
use datagenie_core::guard::Policy;
use datagenie_core::{Error, ErrorCode};

use crate::ask::{AskContext, Templates};
use crate::config::Config;
use crate::privacy::Privacy;
use crate::schema_cache::SchemaCache;
use crate::templates::{TemplateStore, connection_key, system_database_path};
use crate::{demo, providers};

/// File name of the demo database inside the data directory.
pub const DEMO_DB_FILE: &str = "demo-retail.sqlite";

pub struct Session {
    pub context: AskContext,
    /// The database, described without secrets (e.g. `sqlite:///home/me/shop.db`).
    pub database: String,
}

impl Session {
    /// Opens the database given by `db` (a flag), else the configured one, else the demo database (built on first
    /// use), and the configured LLM.
    pub async fn open(config: &Config, db: Option<&str>) -> Result<Session, Error> {
        let configured = Some(config.database.url.trim()).filter(|s| !s.is_empty());
        let connector: Arc<dyn Connector> = match db.or(configured) {
            Some(url) => open_connector(url).await?,
            None => {
                let path = demo_database_path(config)?;
                let ready = tokio::task::spawn_blocking(move || demo::ensure_demo_database(&path))
                    .await
                    .map_err(|e| Error::new(ErrorCode::Internal, format!("building the demo database: {e}")))??;
                Arc::new(datagenie_connectors::sqlite::SqliteConnector::open(&ready)?)
            }
        };
        let cache = SchemaCache::new(config.cache_dir()?, Duration::from_secs(config.ask.schema_max_age_secs));
        let llm = providers::build(config)?;
        let database = connector.describe();
        let templates = open_templates(config, &database);
        Ok(Session {
            context: AskContext {
                connector,
                llm,
                prices: config.price_table(),
                cache,
                policy: Policy::default(),
                privacy: Privacy::from_config(config.pii.mask, &config.pii.columns)?,
                prompt_schema: Default::default(),
                templates,
                builtin_first: config.ask.builtin_first,
                engine: Default::default(),
            },
            database,
        })
    }
}

/// The system database's templates for this database. Templates are an addition: when the system database cannot
/// be opened the question is still answered, without them (and the reason is logged).
fn open_templates(config: &Config, database: &str) -> Option<Templates> {
    let opened = system_database_path(config)
        .and_then(|path| TemplateStore::open(&path))
        .and_then(|store| Ok((store, connection_key(database)?)));
    match opened {
        Ok((store, connection)) => Some(Templates { store: Arc::new(store), connection }),
        Err(e) => {
            tracing::warn!(code = %e.code, error = %e.message, "answering without templates");
            None
        }
    }
}

pub fn demo_database_path(config: &Config) -> Result<PathBuf, Error> {
    Ok(config.data_dir()?.join(DEMO_DB_FILE))
}

/// Opens a connector for a database URL or path: `postgres://…`, `mysql://…` / `mariadb://…`, or a SQLite file.
pub async fn open_connector(url: &str) -> Result<Arc<dyn Connector>, Error> {
    datagenie_connectors::parse_target(url)?.connect().await
}

/// Today's date (UTC), `YYYY-MM-DD`, for relative dates in questions.
pub fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}
