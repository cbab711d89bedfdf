//! The schema of a user's database as DataGenie sees it: what introspection produces, what the schema cache stores,
//! and what schema linking and prompt building read.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dialect::Dialect;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    pub dialect: Dialect,
    /// Engine and version as the server reports it, e.g. `SQLite 3.50.2`.
    pub server_version: String,
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    Table,
    View,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Schema (namespace) for engines that have them; `None` for SQLite's main database.
    pub schema: Option<String>,
    pub name: String,
    pub kind: TableKind,
    pub comment: Option<String>,
    pub columns: Vec<Column>,
    /// Column names of the primary key, in key order. Empty when there is none.
    pub primary_key: Vec<String>,
    pub foreign_keys: Vec<ForeignKey>,
    /// Exact for SQLite, an estimate from statistics for server engines. `None` when unknown (e.g. views).
    pub row_count: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The declared type as written in the DDL (`VARCHAR(20)`, `INTEGER`); empty when none was declared.
    pub data_type: String,
    pub nullable: bool,
    pub comment: Option<String>,
    /// A few distinct values, for text columns only (bounded work: read from a prefix of the table).
    pub samples: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub ref_schema: Option<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
}

impl Table {
    /// A table of `name` with `columns`: no schema, comment, keys or row count (fill those in with struct update).
    pub fn new(name: impl Into<String>, columns: Vec<Column>) -> Table {
        Table {
            schema: None,
            name: name.into(),
            kind: TableKind::Table,
            comment: None,
            columns,
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
            row_count: None,
        }
    }

    /// `schema.name` when a schema is set, else `name`.
    pub fn qualified_name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

impl Column {
    /// A nullable column of `name` and declared type, without comment or samples.
    pub fn new(name: impl Into<String>, data_type: impl Into<String>) -> Column {
        Column { name: name.into(), data_type: data_type.into(), nullable: true, comment: None, samples: Vec::new() }
    }

    /// A coarse type class from the declared type, using SQLite's affinity rules, which also read well for the
    /// type names of other engines.
    pub fn type_class(&self) -> TypeClass {
        TypeClass::of(&self.data_type)
    }
}

/// Coarse type classes, for sampling, schema linking and charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeClass {
    Integer,
    Real,
    Text,
    Temporal,
    Boolean,
    Blob,
    Other,
}

impl TypeClass {
    pub fn of(declared: &str) -> TypeClass {
        let t = declared.to_ascii_lowercase();
        if t.contains("bool") {
            TypeClass::Boolean
        } else if t.contains("date") || t.contains("time") || t.contains("year") {
            TypeClass::Temporal
        } else if t.contains("int") || t == "serial" || t == "bigserial" {
            TypeClass::Integer
        } else if t.contains("char")
            || t.contains("clob")
            || t.contains("text")
            || t.contains("enum")
            || t.contains("uuid")
        {
            TypeClass::Text
        } else if t.contains("real")
            || t.contains("floa")
            || t.contains("doub")
            || t.contains("dec")
            || t.contains("numeric")
            || t.contains("money")
        {
            TypeClass::Real
        } else if t.contains("blob") || t.contains("bytea") || t.contains("binary") {
            TypeClass::Blob
        } else if t.is_empty() {
            // SQLite columns without a declared type hold anything; treat them as text for sampling.
            TypeClass::Text
        } else {
            TypeClass::Other
        }
    }
}

impl Schema {
    /// A stable hash of the schema's structure (tables, columns, types, keys) — not of row counts or samples — so the
    /// cache can tell when a database's structure changed (seed 001 `database_schemas.schema_hash`).
    pub fn structure_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.dialect.as_str());
        for t in &self.tables {
            h.update([0u8]);
            h.update(t.qualified_name());
            h.update(match t.kind {
                TableKind::Table => "t",
                TableKind::View => "v",
            });
            for c in &t.columns {
                h.update([1u8]);
                h.update(&c.name);
                h.update([2u8]);
                h.update(&c.data_type);
                h.update([c.nullable as u8]);
            }
            h.update(t.primary_key.join(","));
            for fk in &t.foreign_keys {
                h.update([3u8]);
                h.update(fk.columns.join(","));
                h.update(&fk.ref_table);
                h.update(fk.ref_columns.join(","));
            }
        }
        hex(&h.finalize())
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name.eq_ignore_ascii_case(name))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_classes() {
        assert_eq!(TypeClass::of("VARCHAR(20)"), TypeClass::Text);
        assert_eq!(TypeClass::of("INTEGER"), TypeClass::Integer);
        assert_eq!(TypeClass::of("decimal(10,2)"), TypeClass::Real);
        assert_eq!(TypeClass::of("DATETIME"), TypeClass::Temporal);
        assert_eq!(TypeClass::of("timestamp with time zone"), TypeClass::Temporal);
        assert_eq!(TypeClass::of(""), TypeClass::Text);
        assert_eq!(TypeClass::of("BLOB"), TypeClass::Blob);
    }

    #[test]
    fn hash_ignores_row_counts_but_not_columns() {
        let mut s = Schema {
            dialect: Dialect::Sqlite,
            server_version: "SQLite".into(),
            tables: vec![Table {
                schema: None,
                name: "t".into(),
                kind: TableKind::Table,
                comment: None,
                columns: vec![Column {
                    name: "a".into(),
                    data_type: "INT".into(),
                    nullable: true,
                    comment: None,
                    samples: vec![],
                }],
                primary_key: vec![],
                foreign_keys: vec![],
                row_count: Some(1),
            }],
        };
        let h1 = s.structure_hash();
        s.tables[0].row_count = Some(100);
        assert_eq!(h1, s.structure_hash());
        s.tables[0].columns[0].name = "b".into();
        assert_ne!(h1, s.structure_hash());
    }
}
