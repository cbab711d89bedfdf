//! DataGenie's service layer: configuration, the ask pipeline, the schema cache, the demo database. The CLI, the
//! HTTP server and the MCP server all call this crate; none has a pipeline of its own.

pub mod access;
pub mod answer_cache;
pub mod ask;
pub mod bench;
pub mod billing;
pub mod builtin;
pub mod config;
pub mod database;
pub mod demo;
pub mod demo_load;
pub mod eval;
pub mod knowledge;
pub mod privacy;
pub mod providers;
pub mod quota;
pub mod record;
pub mod redact;
pub mod registry;
pub mod rows;
pub mod schema_cache;
pub mod service;
pub mod session;
pub mod suggest;
pub mod system;
pub mod values;

pub use session::{Session, today};
