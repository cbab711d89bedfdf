//! Opening what a command needs from configuration: the database (as [`DatabaseChoice`] resolves it), the LLM
//! provider, the schema cache and the template store.

use std::sync::Arc;
use std::time::Duration;

use datagenie_core::{Error, SecretUrl};
use datagenie_store::{KnowledgeStore, TemplateStore};

use crate::ask::{AskContext, Connection};
use crate::config::Config;
use crate::database::DatabaseChoice;
use crate::knowledge::Library;
use crate::privacy::Privacy;
use crate::providers;
use crate::schema_cache::SchemaCache;

pub struct Session {
    pub context: AskContext,
    pub connection: Connection,
    /// The database, described without secrets (e.g. `sqlite:///home/me/shop.db`).
    pub database: String,
}

impl Session {
    /// Opens the database given by `db` (a flag), else the configured one, else the demo database (built on first
    /// use), and the configured LLM.
    pub async fn open(config: &Config, db: Option<&SecretUrl>) -> Result<Session, Error> {
        Session::open_choice(config, &DatabaseChoice::resolve(config, db)?).await
    }

    /// Opens an already resolved database choice.
    pub async fn open_choice(config: &Config, choice: &DatabaseChoice) -> Result<Session, Error> {
        let connector = choice.connect().await?;
        let database = connector.describe();
        let catalog = open_catalog_or_log(config).await;
        let templates = catalog.as_ref().map(|c| Arc::clone(&c.templates));
        // Templates are filed under the database's key; without one (or without the system database) the question
        // is still answered, without templates.
        let key = match choice.key() {
            Ok(key) => key,
            Err(e) => {
                tracing::warn!(code = %e.code, error = %e.message, "answering without templates");
                String::new()
            }
        };
        let mut context = context(config, templates.clone())?;
        let knowledge = catalog.map(|c| c.knowledge);
        context.library = Some(Arc::new(library(config, knowledge, templates)?));
        Ok(Session { context, connection: Connection::new(connector, key), database })
    }
}

/// The shared part of asking, from configuration.
pub fn context(config: &Config, templates: Option<Arc<TemplateStore>>) -> Result<AskContext, Error> {
    Ok(AskContext {
        llm: providers::build(config)?,
        llm_in_force: config.llm_in_force(),
        prices: config.price_table(),
        cache: SchemaCache::new(config.cache_dir()?, Duration::from_secs(config.ask.schema_max_age_secs)),
        privacy: Privacy::from_config(config.pii.mask, &config.pii.columns)?,
        templates,
        builtin_first: config.ask.builtin_first,
        knowledge: crate::ask::KnowledgeSettings {
            values_per_column: config.knowledge.values_per_column,
            budget_tokens: config.knowledge.budget_tokens,
        },
        library: None,
    })
}

/// The CLI's knowledge library: the knowledge folder, the system database's knowledge items and the verified
/// templates (`None`: the system database could not be opened; its part is left out).
pub fn library(
    config: &Config,
    store: Option<KnowledgeStore>,
    templates: Option<Arc<TemplateStore>>,
) -> Result<Library, Error> {
    let folder = crate::knowledge::configured_folder(&config.knowledge.dir, config.file.as_deref());
    Ok(Library::new(store, folder, templates, None, providers::build_embeddings(config)?))
}

/// The system database's templates and knowledge. They are an addition: when the system database cannot be opened
/// the question is still answered, without them (and the reason is logged).
async fn open_catalog_or_log(config: &Config) -> Option<crate::system::Catalog> {
    match crate::system::open_catalog(config).await {
        Ok(catalog) => Some(catalog),
        Err(e) => {
            tracing::warn!(code = %e.code, error = %e.message, "answering without templates and stored knowledge");
            None
        }
    }
}

/// Today's date (UTC), `YYYY-MM-DD`, for relative dates in questions.
pub fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}
