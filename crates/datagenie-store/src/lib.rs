//! DataGenie's system database: where DataGenie keeps its own state (templates, users, logins, API keys,
//! connections, permissions, conversations, history, usage, settings, audit, events), apart from the users'
//! databases it answers questions about.
//!
//! - [`migrations`]: the schema as an append-only list of SQL files, checked by checksum;
//! - [`sqlite`]: the SQLite file ([`SystemDb`], `<data_dir>/datagenie.db`, WAL; one writer, a pool of readers);
//! - [`model`] and [`store`]: the records and the `Store` interface the server uses, engine-independent;
//! - [`sqlite_store`]: [`SqliteStore`], the `Store` on SQLite;
//! - [`crypto`]: the master key, its derived keys, and the box that seals connection URLs;
//! - [`audit`]: the audit log's hash chain (encoding, verification); [`page`]: list cursors;
//! - [`retention`]: what stops being kept, and when (seed 000's `cleanup_old_data`);
//! - [`templates`]: the verified query templates (the CLI's store; the server shares the file);
//! - [`knowledge`]: what people teach about a database (glossary, descriptions, documents) and embeddings (likewise).
//!
//! Every error here is [`datagenie_core::ErrorCode::SystemDatabase`], or a code for the caller's mistake
//! (`already_exists`, `not_found`, `invalid_argument`; `invalid_config` for a bad key or key file) — never a panic.

pub mod audit;
pub mod backup;
mod common;
pub mod copy;
pub mod crypto;
pub mod knowledge;
pub mod migrations;
pub mod model;
pub mod page;
pub mod pg_store;
pub mod retention;
pub mod sqlite;
pub mod sqlite_store;
pub mod store;
pub mod templates;

pub use crypto::{MasterKey, SecretBox};
pub use knowledge::{KnowledgeItem, KnowledgeKind, KnowledgeStore, NewKnowledgeItem};
pub use pg_store::PgStore;
pub use sqlite::{SYSTEM_DB_FILE, SystemDb};
pub use sqlite_store::SqliteStore;
pub use store::Store;
pub use templates::{NewTemplate, Template, TemplateMatch, TemplateStore};
