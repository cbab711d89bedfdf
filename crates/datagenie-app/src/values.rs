//! Value linking's data: the distinct cell values of the text columns people filter on, read from the database
//! through the guard, indexed ([`datagenie_core::values::ValueIndex`]) and kept with the schema snapshot.
//!
//! What is read, and for whom:
//! - the columns are the built-in engine's value columns (short text, not free text), at most `values_per_column`
//!   distinct values each, [`COLUMN_TIMEOUT`] per column and [`BUILD_DEADLINE`] for the whole database (columns past
//!   it are left out, and the snapshot says it is partial);
//! - personal-data columns are left out of the shared index whenever masking is on; an asker allowed to unmask gets
//!   them from a second index kept in memory only (never written to disk);
//! - the shared index is read with the connector's whole view (no table or column policy) and stored on disk beside
//!   the schema snapshot, keyed by the database and valid while its fingerprint and structure hash match and it is
//!   younger than the schema cache's age; each question's matches are then kept only when the asker's policy lets
//!   them read that column (the guard decides, through `access::visible_schema`);
//! - an asker whose policy filters rows never gets values read without their filters: their index is read through
//!   the guard with their policy (the row filters spliced in) and kept in memory per policy.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use datagenie_core::Error;
use datagenie_core::builtin::value_columns;
use datagenie_core::connector::{Connector, Limits};
use datagenie_core::guard::{self, Policy};
use datagenie_core::schema::{Schema, hex};
use datagenie_core::value::Value;
use datagenie_core::values::{IndexedValue, ValueIndex};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::privacy::Privacy;
use crate::schema_cache::{now_secs, write_atomically};

/// Time limit for one column's query: a slow column is skipped, not waited for.
pub const COLUMN_TIMEOUT: Duration = Duration::from_secs(2);
/// The most time reading one database's values may take; columns after it are left out.
pub const BUILD_DEADLINE: Duration = Duration::from_secs(60);
/// Values longer than this are free text, not something a question names: not indexed.
pub const MAX_VALUE_CHARS: usize = 100;

/// One column's distinct values, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnValues {
    pub table: String,
    pub column: String,
    pub values: Vec<String>,
}

/// How a reading went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReadReport {
    /// Columns read.
    pub columns: usize,
    /// Columns skipped: refused by the policy, failed or timed out.
    pub skipped: usize,
    /// False when the deadline stopped the reading.
    pub complete: bool,
}

/// Reads the distinct short text values of `columns` through the guard with `policy` (whose row filters the guard
/// splices in) and the connector: at most `per_column` values per column. A column the policy refuses, or whose
/// query fails or times out, is skipped; the reading stops at `deadline`.
pub async fn read_columns(
    connector: &dyn Connector,
    schema: &Schema,
    policy: &Policy,
    columns: &[(String, String)],
    per_column: usize,
    max_chars: usize,
    deadline: Duration,
) -> (Vec<ColumnValues>, ReadReport) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut report = ReadReport { complete: true, ..ReadReport::default() };
    let limits = Limits { max_rows: per_column, timeout: COLUMN_TIMEOUT };
    for (table, column) in columns {
        if started.elapsed() >= deadline {
            report.complete = false;
            break;
        }
        let Some(t) = schema.table(table) else {
            report.skipped += 1;
            continue;
        };
        let d = schema.dialect;
        let table_ref = match &t.schema {
            Some(s) => format!("{}.{}", d.quote_ident(s), d.quote_ident(&t.name)),
            None => d.quote_ident(&t.name),
        };
        let col = d.quote_ident(column);
        let sql = format!("SELECT DISTINCT {col} FROM {table_ref} WHERE {col} IS NOT NULL LIMIT {}", per_column + 1);
        // Every statement goes through the guard, which also applies the policy (what it refuses is skipped).
        let Ok(guarded) = guard::check(&sql, d, policy) else {
            report.skipped += 1;
            continue;
        };
        let Ok(rows) = connector.execute(&guarded, &limits).await else {
            tracing::debug!(table = %table, column = %column, "value reading skipped a column");
            report.skipped += 1;
            continue;
        };
        let values: Vec<String> = rows
            .rows
            .into_iter()
            .filter_map(|r| match r.into_iter().next() {
                Some(Value::Text(s)) if !s.trim().is_empty() && s.chars().count() <= max_chars => Some(s),
                _ => None,
            })
            .take(per_column)
            .collect();
        report.columns += 1;
        out.push(ColumnValues { table: table.clone(), column: column.clone(), values });
    }
    (out, report)
}

/// The index of `columns`' values read through the guard with `policy` (see [`read_columns`]): what is kept in memory
/// only — an asker's row-filtered values, the personal-data columns of one who may unmask.
pub async fn read_index(
    connector: &dyn Connector,
    schema: &Schema,
    policy: &Policy,
    columns: &[(String, String)],
    per_column: usize,
) -> ValueIndex {
    let (read, _) = read_columns(connector, schema, policy, columns, per_column, MAX_VALUE_CHARS, BUILD_DEADLINE).await;
    index_of(&read)
}

/// The index of read values.
pub fn index_of(columns: &[ColumnValues]) -> ValueIndex {
    ValueIndex::build(columns.iter().flat_map(|c| {
        c.values.iter().map(move |v| IndexedValue {
            table: c.table.clone(),
            column: c.column.clone(),
            value: v.clone(),
        })
    }))
}

/// The columns value linking reads: the built-in engine's value columns, without personal-data columns when
/// `exclude_personal` (classified by `privacy`).
pub fn linked_columns(schema: &Schema, privacy: &Privacy, exclude_personal: bool) -> Vec<(String, String)> {
    let personal = if exclude_personal { privacy.classify_schema(schema) } else { Default::default() };
    value_columns(schema).into_iter().filter(|key| !personal.contains_key(key)).collect()
}

/// The personal-data columns among the value columns (what an unmasking asker adds).
pub fn personal_columns(schema: &Schema, privacy: &Privacy) -> Vec<(String, String)> {
    let personal = privacy.classify_schema(schema);
    value_columns(schema).into_iter().filter(|key| personal.contains_key(key)).collect()
}

/// Values kept on disk beside the schema snapshots.
#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    fingerprint: String,
    schema_hash: String,
    per_column: usize,
    /// The personal-data columns were left out.
    personal_excluded: bool,
    taken_at: u64,
    report: ReadReport,
    columns: Vec<ColumnValues>,
}

const SNAPSHOT_VERSION: u32 = 1;

/// What [`ValueCache::load`] returns.
#[derive(Debug)]
pub struct SharedValues {
    pub index: ValueIndex,
    pub report: ReadReport,
    /// Values indexed.
    pub count: usize,
    /// True when read from the snapshot on disk.
    pub from_disk: bool,
}

/// The on-disk value snapshots (`<cache dir>/values/<key>.json`), under the schema snapshots' rule.
pub struct ValueCache {
    dir: PathBuf,
    max_age: Duration,
}

impl ValueCache {
    pub fn new(dir: impl Into<PathBuf>, max_age: Duration) -> ValueCache {
        ValueCache { dir: dir.into(), max_age }
    }

    fn path_for(&self, connector: &dyn Connector, personal_excluded: bool) -> PathBuf {
        let key = hex(&Sha256::digest(connector.describe().as_bytes()));
        let suffix = if personal_excluded { "" } else { "-all" };
        self.dir.join("values").join(format!("{}{suffix}.json", &key[..32]))
    }

    /// The shared value index of `schema`'s database: from the snapshot while valid, else read (through the guard,
    /// with the connector's whole view) and saved. Failing to save is logged; the index is still returned.
    pub async fn load(
        &self,
        connector: &dyn Connector,
        schema: &Schema,
        privacy: &Privacy,
        per_column: usize,
    ) -> Result<SharedValues, Error> {
        let personal_excluded = privacy.mask;
        let fingerprint = connector.schema_fingerprint().await?;
        let schema_hash = schema.structure_hash();
        let path = self.path_for(connector, personal_excluded);
        if let Some(snap) = self.read_valid(&path, &fingerprint, &schema_hash, per_column, personal_excluded) {
            let count = snap.columns.iter().map(|c| c.values.len()).sum();
            return Ok(SharedValues { index: index_of(&snap.columns), report: snap.report, count, from_disk: true });
        }
        let columns = linked_columns(schema, privacy, personal_excluded);
        let (columns, report) =
            read_columns(connector, schema, &Policy::default(), &columns, per_column, MAX_VALUE_CHARS, BUILD_DEADLINE)
                .await;
        let index = index_of(&columns);
        let count = columns.iter().map(|c| c.values.len()).sum();
        let snap = Snapshot {
            version: SNAPSHOT_VERSION,
            fingerprint,
            schema_hash,
            per_column,
            personal_excluded,
            taken_at: now_secs(),
            report,
            columns,
        };
        if let Err(e) = write_atomically(&path, &snap) {
            tracing::warn!(error = %e, "could not write the value snapshot");
        }
        Ok(SharedValues { index, report, count, from_disk: false })
    }

    fn read_valid(
        &self,
        path: &Path,
        fingerprint: &str,
        schema_hash: &str,
        per_column: usize,
        personal_excluded: bool,
    ) -> Option<Snapshot> {
        let bytes = std::fs::read(path).ok()?;
        let snap: Snapshot = match serde_json::from_slice(&bytes) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable value snapshot");
                return None;
            }
        };
        let fresh = now_secs().saturating_sub(snap.taken_at) <= self.max_age.as_secs();
        let valid = snap.version == SNAPSHOT_VERSION
            && snap.fingerprint == fingerprint
            && snap.schema_hash == schema_hash
            && snap.per_column == per_column
            && snap.personal_excluded == personal_excluded;
        (fresh && valid).then_some(snap)
    }
}

/// Keeps the matches whose column `visible` (what the asker may read) holds.
pub fn keep_visible(matches: &mut Vec<datagenie_core::values::ValueMatch>, visible: &Schema) {
    let readable: BTreeSet<(&str, &str)> =
        visible.tables.iter().flat_map(|t| t.columns.iter().map(move |c| (t.name.as_str(), c.name.as_str()))).collect();
    matches.retain(|m| readable.contains(&(m.table.as_str(), m.column.as_str())));
}

/// The values' own share of a cache directory, for `datagenie doctor`-like reports: the snapshot's size in bytes.
pub fn snapshot_size(cache_dir: &Path, connector: &dyn Connector, personal_excluded: bool) -> Option<u64> {
    let cache = ValueCache::new(cache_dir, Duration::ZERO);
    std::fs::metadata(cache.path_for(connector, personal_excluded)).ok().map(|m| m.len())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datagenie_core::guard::Policy;
    use datagenie_core::llm::PriceTable;
    use datagenie_core::{Error, Question};

    use crate::ask::{AskContext, AskOptions, AskRequest, Connection, RequestKind};
    use crate::bench::FixedReply;
    use crate::privacy::Privacy;
    use crate::schema_cache::SchemaCache;

    /// Singers from 30 countries (France last, so no sample shows it), airlines, cities, customers with emails.
    fn fixture(dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("music.db");
        let c = rusqlite::Connection::open(&path).expect("create");
        let mut sql = String::from(
            "CREATE TABLE singer (id INTEGER PRIMARY KEY, stage_code TEXT, country TEXT);
             CREATE TABLE airlines (id INTEGER PRIMARY KEY, airline TEXT);
             CREATE TABLE stores (id INTEGER PRIMARY KEY, city TEXT, sales REAL);
             CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, tier TEXT);",
        );
        for i in 0..30 {
            let country = if i == 29 { "France".to_string() } else { format!("Country{i:02}") };
            sql.push_str(&format!("INSERT INTO singer VALUES ({i}, 'S{i}', '{country}');"));
            let airline = if i == 29 { "JetBlue Airways".to_string() } else { format!("Airline{i:02}") };
            sql.push_str(&format!("INSERT INTO airlines VALUES ({i}, '{airline}');"));
            let city = if i == 29 { "서울".to_string() } else { format!("도시{i:02}") };
            sql.push_str(&format!("INSERT INTO stores VALUES ({i}, '{city}', {i}.5);"));
            sql.push_str(&format!("INSERT INTO customers VALUES ({i}, 'person{i}@example.com', 'gold');"));
        }
        c.execute_batch(&sql).expect("fill");
        path
    }

    fn context(llm: Arc<FixedReply>, cache: &std::path::Path) -> AskContext {
        AskContext {
            llm: Some(llm),
            llm_in_force: crate::config::LlmInForce {
                provider: crate::config::ProviderKind::Openai,
                model: Some("fixed".into()),
                from: crate::config::Origin::Default,
            },
            prices: PriceTable::default(),
            cache: SchemaCache::new(cache, std::time::Duration::from_secs(3600)),
            privacy: Privacy { mask: true, policy: Default::default() },
            templates: None,
            builtin_first: false,
            knowledge: Default::default(),
            library: None,
        }
    }

    /// The prompt the LLM is sent for `question` (a dry run).
    async fn prompt(
        ctx: &AskContext,
        llm: &FixedReply,
        connection: &Connection,
        question: &str,
        policy: Policy,
        unmask: bool,
    ) -> Result<String, Error> {
        llm.set("```sql\nSELECT 1\n```".into());
        let req = AskRequest {
            question: Question::parse(question)?,
            kind: RequestKind::Question,
            connection,
            policy,
            user: None,
            session: Default::default(),
            options: AskOptions {
                limits: datagenie_core::connector::Limits::default(),
                max_attempts: 1,
                summary: false,
                dry_run: true,
                unmask,
                schema_budget_tokens: 6000,
                today: "2026-01-01".into(),
                temperature: 0.0,
                max_tokens: 512,
                token_budget: None,
                cache: None,
                llm_refusal: None,
            },
            progress: None,
        };
        ctx.ask(&req).await.map_err(|f| f.error)?;
        Ok(llm.last_prompt())
    }

    async fn open(path: &std::path::Path) -> Connection {
        let connector = datagenie_connectors::parse_target(&path.display().to_string())
            .expect("target")
            .connect()
            .await
            .expect("connect");
        Connection::new(connector, "test")
    }

    #[tokio::test]
    async fn the_prompt_holds_the_values_a_question_means_however_it_spells_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let llm = FixedReply::new();
        let ctx = context(llm.clone(), &dir.path().join("cache"));
        let connection = open(&fixture(dir.path())).await;
        for (question, line) in [
            ("How many French singers are there?", "singer.country = 'France'  -- matches \"French\""),
            ("flights of jetblue", "airlines.airline = 'JetBlue Airways'"),
            ("flights of Jetbleu Airwais", "airlines.airline = 'JetBlue Airways'"),
            ("singers from FRANCE", "singer.country = 'France'"),
            ("서울에서 매출 합계", "stores.city = '서울'"),
        ] {
            let p = prompt(&ctx, &llm, &connection, question, Policy::default(), false).await.expect("asked");
            assert!(p.contains(line), "{question}: {line} not in\n{p}");
        }
        // Without value linking the value is nowhere in the prompt: the section is what puts it there.
        let mut off = context(llm.clone(), &dir.path().join("cache"));
        off.knowledge.values_per_column = 0;
        let p = prompt(&off, &llm, &connection, "How many French singers?", Policy::default(), false).await.expect("q");
        assert!(!p.contains("'France'"), "{p}");
        // The snapshot was written: a new process (a new context and connection) reads it.
        assert!(crate::values::snapshot_size(&dir.path().join("cache"), connection.connector.as_ref(), true).is_some());
    }

    #[tokio::test]
    async fn personal_values_and_unreadable_columns_never_reach_the_prompt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let llm = FixedReply::new();
        let ctx = context(llm.clone(), &dir.path().join("cache"));
        let connection = open(&fixture(dir.path())).await;
        let q = "orders of person29@exampel.com";
        let p = prompt(&ctx, &llm, &connection, q, Policy::default(), false).await.expect("asked");
        assert!(!p.contains("person29@example.com"), "a personal value leaked:\n{p}");
        // An asker allowed to unmask gets it (from the in-memory index of personal columns).
        let p = prompt(&ctx, &llm, &connection, q, Policy::default(), true).await.expect("asked");
        assert!(p.contains("customers.email = 'person29@example.com'"), "{p}");
        // A column outside the asker's policy links nothing.
        let policy = Policy::new().restrict_columns("singer", &["id", "stage_code"]).expect("policy");
        let p = prompt(&ctx, &llm, &connection, "How many French singers?", policy, false).await.expect("asked");
        assert!(!p.contains("'France'"), "{p}");
        // A row filter: values are read through it, so a value of another's rows is not shown.
        let policy = Policy::new().row_filter("singer", "country <> 'France'").expect("policy");
        let p = prompt(&ctx, &llm, &connection, "How many French singers?", policy, false).await.expect("asked");
        assert!(!p.contains("'France'"), "{p}");
        let policy = Policy::new().row_filter("singer", "country = 'France'").expect("policy");
        let p = prompt(&ctx, &llm, &connection, "How many French singers?", policy, false).await.expect("asked");
        assert!(p.contains("singer.country = 'France'"), "read with the filter, the value is there: {p}");
    }

    #[tokio::test]
    async fn a_stale_or_corrupt_value_snapshot_is_rebuilt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = fixture(dir.path());
        let connection = open(&path).await;
        let connector = connection.connector.as_ref();
        let schema = connector.introspect(&Default::default()).await.expect("schema");
        let privacy = Privacy { mask: true, policy: Default::default() };
        let cache = super::ValueCache::new(dir.path().join("cache"), std::time::Duration::from_secs(3600));
        let first = cache.load(connector, &schema, &privacy, 1000).await.expect("first");
        assert!(!first.from_disk && first.report.complete);
        assert!(first.count >= 90, "{}", first.count);
        let again = cache.load(connector, &schema, &privacy, 1000).await.expect("again");
        assert!(again.from_disk);
        // Another bound per column is another index.
        assert!(!cache.load(connector, &schema, &privacy, 5).await.expect("bound").from_disk);
        let file = cache.path_for(connector, true);
        std::fs::write(&file, b"{not json").expect("corrupt");
        let rebuilt = cache.load(connector, &schema, &privacy, 1000).await.expect("rebuilt");
        assert!(!rebuilt.from_disk && rebuilt.count == first.count);
        // Personal columns are in the snapshot only when masking is off (a separate file).
        let open_privacy = Privacy { mask: false, policy: Default::default() };
        let all = cache.load(connector, &schema, &open_privacy, 1000).await.expect("all");
        assert!(all.count > first.count, "{} vs {}", all.count, first.count);
        assert!(all.index.lookup("person3@example.com").iter().any(|m| m.column == "email"));
        assert!(first.index.lookup("person3@example.com").iter().all(|m| m.column != "email"));
    }
}
