//! Cell values for the built-in engine, read from the database through the guard: the distinct values of the
//! columns [`value_columns`] proposes, bounded per column and in time (`values::read_columns`, the one reader of cell values), cached in memory per database and schema
//! structure.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datagenie_core::builtin::{MAX_VALUE_CHARS, MAX_VALUES_PER_COLUMN, ValueIndex, value_columns};
use datagenie_core::connector::Connector;
use datagenie_core::guard::Policy;
use datagenie_core::schema::Schema;
/// Databases whose values stay cached in memory.
const CACHE_ENTRIES: usize = 16;

static CACHE: Mutex<Option<HashMap<String, Arc<ValueIndex>>>> = Mutex::new(None);

/// Loads distinct values of `value_columns(schema)` through the guard and the connector (at most
/// [`MAX_VALUES_PER_COLUMN`] short values per column, `values::COLUMN_TIMEOUT` per query); a column that fails is
/// skipped.
pub async fn load_values(connector: &dyn Connector, schema: &Schema, policy: &Policy) -> ValueIndex {
    // The policy is part of the key: what one user may not read never links another's question.
    let key = format!("{}\u{0}{}\u{0}{}", connector.describe(), schema.structure_hash(), policy_fingerprint(policy));
    if let Ok(cache) = CACHE.lock()
        && let Some(hit) = cache.as_ref().and_then(|m| m.get(&key))
    {
        return hit.as_ref().clone();
    }
    let index = load_uncached(connector, schema, policy).await;
    if let Ok(mut cache) = CACHE.lock() {
        let map = cache.get_or_insert_with(HashMap::new);
        if map.len() >= CACHE_ENTRIES {
            map.clear();
        }
        map.insert(key, Arc::new(index.clone()));
    }
    index
}

/// A short, stable digest of a policy (cache keys).
pub(crate) fn policy_fingerprint(policy: &Policy) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{policy:?}").as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

async fn load_uncached(connector: &dyn Connector, schema: &Schema, policy: &Policy) -> ValueIndex {
    let mut index = ValueIndex::default();
    let columns = value_columns(schema);
    let (read, _) = crate::values::read_columns(
        connector,
        schema,
        policy,
        &columns,
        MAX_VALUES_PER_COLUMN,
        MAX_VALUE_CHARS,
        crate::values::BUILD_DEADLINE,
    )
    .await;
    for c in read {
        index.add(&c.table, &c.column, c.values);
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_connectors::sqlite::SqliteConnector;
    use datagenie_core::connector::IntrospectOptions;

    fn fixture(dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("values.db");
        let c = rusqlite::Connection::open(&path).expect("create");
        let long = "x".repeat(MAX_VALUE_CHARS + 1);
        c.execute_batch(&format!(
            "CREATE TABLE city (id INTEGER PRIMARY KEY, name TEXT, country TEXT, population INTEGER);
             INSERT INTO city VALUES (1, 'Seoul', 'Korea', 9700000), (2, 'Busan', 'Korea', 3400000),
                                     (3, 'Lyon', 'France', 500000), (4, '{long}', NULL, 1);
             CREATE TABLE secret (id INTEGER PRIMARY KEY, code TEXT);
             INSERT INTO secret VALUES (1, 'hidden');"
        ))
        .expect("fill");
        path
    }

    #[tokio::test]
    async fn loads_distinct_short_text_values_through_the_guard() {
        let dir = tempfile::tempdir().expect("tempdir");
        let connector = SqliteConnector::open(&fixture(dir.path())).expect("open");
        let schema = connector.introspect(&IntrospectOptions::default()).await.expect("introspect");
        let values = load_values(&connector, &schema, &Policy::default()).await;
        let mut countries = values.values("city", "country").map(<[String]>::to_vec).unwrap_or_default();
        countries.sort();
        assert_eq!(countries, ["France", "Korea"], "distinct, nulls skipped");
        let names = values.values("city", "name").unwrap_or_default();
        assert_eq!(names.len(), 3, "the over-long value is skipped: {names:?}");
        assert!(values.values("city", "population").is_none(), "numbers are not loaded");
        assert_eq!(values.values("secret", "code"), Some(&["hidden".to_string()][..]));

        // The policy applies: a table outside it is skipped, not fatal.
        let policy = Policy::new().allow_table("city").expect("policy");
        let schema2 = Schema { tables: schema.tables.clone(), ..schema.clone() };
        let limited = load_uncached(&connector, &schema2, &policy).await;
        assert!(limited.values("secret", "code").is_none());
        assert!(limited.values("city", "country").is_some());
    }

    #[tokio::test]
    async fn a_failing_column_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let connector = SqliteConnector::open(&fixture(dir.path())).expect("open");
        let mut schema = connector.introspect(&IntrospectOptions::default()).await.expect("introspect");
        // A table the schema claims but the database lacks: its query fails; the others still load.
        let mut ghost = schema.tables[0].clone();
        ghost.name = "ghost".into();
        schema.tables.insert(0, ghost);
        let values = load_uncached(&connector, &schema, &Policy::default()).await;
        assert!(values.values("ghost", "name").is_none());
        assert!(values.values("city", "country").is_some());
    }
}
