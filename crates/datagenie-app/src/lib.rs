//! DataGenie's service layer: configuration, the ask pipeline, the schema cache, the demo database

pub mod demo;
