//! Opening what a command needs from configuration: the database (as [`DatabaseChoice`] resolves it), the LLM
//! provider, the schema cache and the template store.

use std::sync::Arc;
use std::time::Duration;

use datagenie_core::{Error, SecretUrl};
use datagenie_store::{KnowledgeStore, TemplateStore};

use crate::ask::{AskContext, Connection};
use crate::config::Config;
use crate::database::{DatabaseChoice, system_database_path};
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
        let templates = open_templates(config);
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
        context.library = Some(Arc::new(library(config, templates)?));
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
/// templates. The system database failing leaves its part out (logged), as for templates.
pub fn library(config: &Config, templates: Option<Arc<TemplateStore>>) -> Result<Library, Error> {
    let store = match system_database_path(config).and_then(|path| KnowledgeStore::open(&path)) {
        Ok(store) => Some(store),
        Err(e) => {
            tracing::warn!(code = %e.code, error = %e.message, "answering without stored knowledge");
            None
        }
    };
    let folder = crate::knowledge::configured_folder(&config.knowledge.dir, config.file.as_deref());
    Ok(Library::new(store, folder, templates, None, providers::build_embeddings(config)?))
}

/// The system database's template store. Templates are an addition: when the system database cannot be opened the
/// question is still answered, without them (and the reason is logged).
fn open_templates(config: &Config) -> Option<Arc<TemplateStore>> {
    match system_database_path(config).and_then(|path| TemplateStore::open(&path)) {
        Ok(store) => Some(Arc::new(store)),
        Err(e) => {
            tracing::warn!(code = %e.code, error = %e.message, "answering without templates");
            None
        }
    }
}

/// Today's date (UTC), `YYYY-MM-DD`, for relative dates in questions.
pub fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}
