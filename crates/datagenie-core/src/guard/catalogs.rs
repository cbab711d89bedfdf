//! System catalogs per dialect: which relations are the engine's own, and which of those are harmless schema
//! metadata. Everything in a system schema that is not on a metadata list counts as sensitive (credentials, server
//! state, sessions, statistics that hold data values), so a new catalog table is refused until someone lists it.
//!
//! Inputs are lower-cased names; matching is case-insensitive on purpose (over-matching only refuses more).

use crate::dialect::Dialect;

/// How a system relation is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CatalogKind {
    /// Schema metadata (tables, columns, keys, views).
    Metadata,
    /// Credentials, server state, statistics or raw storage.
    Sensitive,
}

const SQLITE_METADATA: &[&str] = &[
    "pragma_foreign_key_list",
    "pragma_index_info",
    "pragma_index_list",
    "pragma_index_xinfo",
    "pragma_table_info",
    "pragma_table_list",
    "pragma_table_xinfo",
    "sqlite_master",
    "sqlite_schema",
    "sqlite_temp_master",
    "sqlite_temp_schema",
];

const PG_CATALOG_METADATA: &[&str] = &[
    "pg_am",
    "pg_attrdef",
    "pg_attribute",
    "pg_class",
    "pg_collation",
    "pg_constraint",
    "pg_depend",
    "pg_description",
    "pg_enum",
    "pg_index",
    "pg_indexes",
    "pg_inherits",
    "pg_matviews",
    "pg_namespace",
    "pg_tables",
    "pg_type",
    "pg_views",
];

const PG_INFORMATION_SCHEMA_METADATA: &[&str] = &[
    "check_constraints",
    "columns",
    "constraint_column_usage",
    "constraint_table_usage",
    "key_column_usage",
    "referential_constraints",
    "schemata",
    "table_constraints",
    "tables",
    "view_column_usage",
    "view_table_usage",
    "views",
];

const MYSQL_INFORMATION_SCHEMA_METADATA: &[&str] = &[
    "check_constraints",
    "columns",
    "key_column_usage",
    "referential_constraints",
    "schemata",
    "statistics",
    "table_constraints",
    "tables",
    "views",
];

const MYSQL_SYSTEM_SCHEMAS: &[&str] = &["information_schema", "mysql", "performance_schema", "sys"];

/// Classifies a relation. `schema` is the schema the reference resolves to (`None` when unknown); both inputs are
/// lower case. Returns `None` for a user relation.
pub(crate) fn classify(dialect: Dialect, schema: Option<&str>, name: &str) -> Option<CatalogKind> {
    match dialect {
        Dialect::Sqlite => classify_sqlite(name),
        Dialect::Postgres => classify_postgres(schema, name),
        Dialect::Mysql => classify_mysql(schema?, name),
    }
}

fn kind(metadata: &[&str], name: &str) -> CatalogKind {
    if metadata.binary_search(&name).is_ok() { CatalogKind::Metadata } else { CatalogKind::Sensitive }
}

fn classify_sqlite(name: &str) -> Option<CatalogKind> {
    let system = name.starts_with("sqlite_") || name.starts_with("pragma_") || name == "dbstat";
    system.then(|| kind(SQLITE_METADATA, name))
}

fn classify_postgres(schema: Option<&str>, name: &str) -> Option<CatalogKind> {
    match schema {
        Some("information_schema") => Some(kind(PG_INFORMATION_SCHEMA_METADATA, name)),
        // Schema names starting with pg_ are reserved for the system (pg_toast, pg_temp_N, …).
        Some(s) if s.starts_with("pg_") && s != "pg_catalog" => Some(CatalogKind::Sensitive),
        // pg_catalog is searched before the search_path, so an unqualified pg_* name is the catalog's; a user
        // table named pg_* is treated as a catalog too (refusing more is the safe side).
        Some("pg_catalog") => Some(kind(PG_CATALOG_METADATA, name)),
        _ if name.starts_with("pg_") => Some(kind(PG_CATALOG_METADATA, name)),
        _ => None,
    }
}

fn classify_mysql(schema: &str, name: &str) -> Option<CatalogKind> {
    if !MYSQL_SYSTEM_SCHEMAS.contains(&schema) {
        return None;
    }
    Some(if schema == "information_schema" {
        kind(MYSQL_INFORMATION_SCHEMA_METADATA, name)
    } else {
        CatalogKind::Sensitive
    })
}

/// True for schema names that belong to the engine.
pub(crate) fn is_system_schema(dialect: Dialect, schema: &str) -> bool {
    match dialect {
        Dialect::Sqlite => false,
        Dialect::Postgres => schema == "information_schema" || schema.starts_with("pg_"),
        Dialect::Mysql => MYSQL_SYSTEM_SCHEMAS.contains(&schema),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_lower_case() {
        for list in
            [SQLITE_METADATA, PG_CATALOG_METADATA, PG_INFORMATION_SCHEMA_METADATA, MYSQL_INFORMATION_SCHEMA_METADATA]
        {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
            assert!(list.iter().all(|n| *n == n.to_lowercase()));
        }
    }

    #[test]
    fn credentials_and_state_are_sensitive() {
        let s = Some(CatalogKind::Sensitive);
        assert_eq!(classify(Dialect::Postgres, None, "pg_shadow"), s);
        assert_eq!(classify(Dialect::Postgres, Some("pg_catalog"), "pg_authid"), s);
        assert_eq!(classify(Dialect::Postgres, Some("pg_catalog"), "pg_stats"), s);
        assert_eq!(classify(Dialect::Postgres, Some("pg_toast"), "pg_toast_1234"), s);
        assert_eq!(classify(Dialect::Postgres, Some("information_schema"), "user_mapping_options"), s);
        assert_eq!(classify(Dialect::Mysql, Some("mysql"), "user"), s);
        assert_eq!(classify(Dialect::Mysql, Some("information_schema"), "processlist"), s);
        assert_eq!(classify(Dialect::Mysql, Some("performance_schema"), "threads"), s);
        assert_eq!(classify(Dialect::Sqlite, Some("main"), "sqlite_dbpage"), s);
        assert_eq!(classify(Dialect::Sqlite, None, "pragma_compile_options"), s);
    }

    #[test]
    fn metadata_and_user_tables() {
        let m = Some(CatalogKind::Metadata);
        assert_eq!(classify(Dialect::Postgres, Some("information_schema"), "columns"), m);
        assert_eq!(classify(Dialect::Postgres, None, "pg_class"), m);
        assert_eq!(classify(Dialect::Mysql, Some("information_schema"), "tables"), m);
        assert_eq!(classify(Dialect::Sqlite, None, "sqlite_master"), m);
        assert_eq!(classify(Dialect::Postgres, Some("public"), "orders"), None);
        assert_eq!(classify(Dialect::Mysql, None, "user"), None);
        assert_eq!(classify(Dialect::Mysql, Some("shop"), "user"), None);
        assert_eq!(classify(Dialect::Sqlite, Some("main"), "orders"), None);
    }
}
