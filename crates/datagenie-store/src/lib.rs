//! DataGenie's system database: where DataGenie keeps its own state (templates today; users, keys, connections,
//! history, audit and usage as the server grows), apart from the users' databases it answers questions about.
//!
//! - [`migrations`]: the schema as an append-only list of SQL files, checked by checksum;
//! - [`sqlite`]: the SQLite implementation ([`SystemDb`], `<data_dir>/datagenie.db`, WAL);
//! - [`model`] and [`store`]: the records and the `Store` interface the server uses, engine-independent;
//! - [`templates`]: the verified query templates, the first store built on it.
//!
//! Every error here is [`datagenie_core::ErrorCode::SystemDatabase`] (or a validation code of the store's own
//! domain), never a panic.

pub mod migrations;
pub mod model;
pub mod sqlite;
pub mod store;
pub mod templates;

pub use sqlite::{SYSTEM_DB_FILE, SystemDb};
pub use store::Store;
pub use templates::{NewTemplate, Template, TemplateMatch, TemplateStore};
