//! DataGenie's core: domain types, the SQL guard, schema linking, prompt building, SQL extraction, chart choice and
//! the error-code table. This crate performs no IO (no files, no network, no clock, no environment) and knows no
//! wire format beyond the Vega-Lite chart spec it produces.

pub mod analysis;
pub mod builtin;
pub mod calendar;
pub mod chart;
pub mod connector;
pub mod ddl_comments;
pub mod dialect;
pub mod error;
pub mod extract;
pub mod guard;
pub mod hangul;
pub mod knowledge;
pub mod linking;
pub mod llm;
pub mod pii;
pub mod prompt;
pub mod question;
pub mod schema;
pub mod schema_text;
pub mod secret;
pub mod sheet;
pub mod template;
pub mod value;
pub mod values;

pub use dialect::Dialect;
pub use error::{Error, ErrorCode, ErrorKind, Result};
pub use guard::GuardedSql;
pub use question::Question;
pub use secret::{Secret, SecretUrl};
