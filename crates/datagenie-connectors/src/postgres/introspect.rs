//! Schema introspection and the schema fingerprint, from the system catalogs in a few bulk statements.
//!
//! Only what the login can use is described: schemas it has `USAGE` on, relations it can `SELECT` from (some
//! column of), columns it can `SELECT`. System schemas (`pg_catalog`, `information_schema`, `pg_toast`, temporary
//! schemas) and partitions (their parent stands for them) are left out.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::truncate_chars;
use datagenie_core::connector::IntrospectOptions;
use datagenie_core::schema::{Column, ForeignKey, Schema, Table, TableKind};
use datagenie_core::{Dialect, Error, ErrorCode};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::error::SqlState;

use super::{Failure, timeout_ms};
use crate::sqlite::SAMPLE_MAX_CHARS;

/// Sampled columns per statement (each a branch of one UNION ALL).
const SAMPLE_COLUMNS_PER_STATEMENT: usize = 100;
/// Characters of a value compared when looking for distinct samples (bounds the work on long text).
const SAMPLE_COMPARE_CHARS: usize = 200;
/// Sampling stops when less than this is left before the deadline.
const SAMPLE_MIN_REMAINING: Duration = Duration::from_millis(20);

/// The relations introspection describes, as a FROM/WHERE fragment over `pg_class c` and `pg_namespace n`.
const VISIBLE_RELATIONS: &str = "pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition \
     AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' \
     AND has_schema_privilege(n.oid, 'USAGE') AND has_any_column_privilege(c.oid, 'SELECT')";

/// One relation as the catalog lists it.
struct Relation {
    oid: u32,
    /// `pg_class.relkind`: `r` table, `p` partitioned table, `v` view, `m` materialized view, `f` foreign table.
    kind: String,
    table: Table,
    /// Per column: a string or enum type, worth sampling.
    samplable: Vec<bool>,
}

/// One statement, in a read-only transaction with `statement_timeout` set to what is left before `deadline`:
/// the SHA-256 (computed by the server) of every visible relation's name, kind and comment, its columns (name,
/// type and modifier, nullability, column privileges, comment) and its primary and foreign keys. Built from plain
/// catalog columns and joins, ordered by OIDs, so a 1,000-table schema takes a few tens of milliseconds.
pub(super) async fn fingerprint(client: &mut ClientWrapper, deadline: Instant) -> Result<String, Failure> {
    let sql = format!(
        "START TRANSACTION READ ONLY; SET LOCAL statement_timeout = {}; \
         WITH rel AS (SELECT c.oid, n.nspname, c.relname, c.relkind FROM {VISIBLE_RELATIONS}), \
         descr AS (SELECT objoid, objsubid, description FROM pg_description \
                   WHERE classoid = 'pg_class'::regclass) \
         SELECT encode(sha256(convert_to(concat_ws(E'\\n', \
           (SELECT string_agg(concat_ws(',', r.oid, quote_literal(r.nspname), quote_literal(r.relname), \
                   r.relkind, quote_nullable(d.description)), E'\\n' ORDER BY r.oid) \
            FROM rel r LEFT JOIN descr d ON d.objoid = r.oid AND d.objsubid = 0), \
           (SELECT string_agg(concat_ws(',', a.attrelid, a.attnum, quote_literal(a.attname), a.atttypid, \
                   a.atttypmod, a.attndims, a.attnotnull, a.attisdropped, quote_nullable(a.attacl::text), \
                   quote_nullable(d.description)), E'\\n' ORDER BY a.attrelid, a.attnum) \
            FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid \
            LEFT JOIN descr d ON d.objoid = a.attrelid AND d.objsubid = a.attnum WHERE a.attnum > 0), \
           (SELECT string_agg(concat_ws(',', k.oid, k.conrelid, quote_literal(k.conname), k.contype, \
                   k.conkey::text, k.confrelid, k.confkey::text), E'\\n' ORDER BY k.oid) \
            FROM rel r JOIN pg_constraint k ON k.conrelid = r.oid \
            WHERE k.contype IN ('p', 'f') AND k.conparentid = 0)), 'UTF8')), 'hex'); \
         COMMIT",
        timeout_ms(remaining(deadline))
    );
    let messages = client.simple_query(&sql).await?;
    messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .ok_or_else(|| Failure::Ours(Error::new(ErrorCode::Internal, "the schema fingerprint query returned no row")))
}

/// Structure in one repeatable-read, read-only transaction (relations, columns, keys: three statements); then
/// samples, best effort until the deadline — a sample statement that runs out of time or fails only leaves
/// samples empty.
pub(super) async fn introspect(
    client: &mut ClientWrapper,
    options: &IntrospectOptions,
    deadline: Instant,
    server_version: &str,
) -> Result<Schema, Failure> {
    let mut relations = {
        let txn = client
            .build_transaction()
            .read_only(true)
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await?;
        txn.batch_execute(&format!("SET LOCAL statement_timeout = {}", timeout_ms(remaining(deadline)))).await?;
        let mut relations = list_relations(&txn).await?;
        let oids: Vec<u32> = relations.iter().map(|r| r.oid).collect();
        let mut columns = load_columns(&txn, &oids).await?;
        let mut keys = load_keys(&txn, &oids).await?;
        let _ = txn.rollback().await;
        for relation in &mut relations {
            let (cols, samplable) = columns.remove(&relation.oid).unwrap_or_default();
            relation.table.columns = cols;
            if let Some((primary_key, foreign_keys)) = keys.remove(&relation.oid) {
                relation.table.primary_key = primary_key;
                relation.table.foreign_keys = foreign_keys;
            }
            relation.samplable = samplable;
        }
        relations
    };
    if options.samples_per_column > 0 && options.sample_scan_rows > 0 {
        fill_samples(client, &mut relations, options, deadline).await?;
    }
    Ok(Schema {
        dialect: Dialect::Postgres,
        server_version: server_version.to_string(),
        tables: relations.into_iter().map(|r| r.table).collect(),
    })
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// Visible relations by schema and name, with their comments and estimated row counts (`reltuples`; -1, "never
/// analyzed", is unknown; a partitioned table sums its partitions; views and foreign tables have none).
async fn list_relations(txn: &tokio_postgres::Transaction<'_>) -> Result<Vec<Relation>, Failure> {
    let sql = format!(
        "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, \
           (SELECT d.description FROM pg_description d WHERE d.classoid = 'pg_class'::regclass \
              AND d.objoid = c.oid AND d.objsubid = 0), \
           CASE WHEN c.relkind IN ('v', 'f') THEN NULL \
                WHEN c.relkind = 'p' THEN (SELECT sum(k.reltuples)::float8 FROM pg_inherits i \
                     JOIN pg_class k ON k.oid = i.inhrelid WHERE i.inhparent = c.oid AND k.reltuples >= 0) \
                WHEN c.reltuples < 0 THEN NULL \
                ELSE c.reltuples::float8 END \
         FROM {VISIBLE_RELATIONS} ORDER BY n.nspname, c.relname"
    );
    let rows = txn.query(&sql, &[]).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let kind: String = row.try_get(3)?;
        let estimate: Option<f64> = row.try_get(5)?;
        out.push(Relation {
            oid: row.try_get(0)?,
            table: Table {
                schema: Some(row.try_get(1)?),
                name: row.try_get(2)?,
                kind: if matches!(kind.as_str(), "v" | "m") { TableKind::View } else { TableKind::Table },
                comment: row.try_get::<_, Option<String>>(4)?.filter(|c| !c.trim().is_empty()),
                columns: Vec::new(),
                primary_key: Vec::new(),
                foreign_keys: Vec::new(),
                row_count: estimate.filter(|n| n.is_finite() && *n >= 0.0).map(|n| n.round() as u64),
            },
            kind,
            samplable: Vec::new(),
        });
    }
    Ok(out)
}

/// Columns per relation in column order, and whether each is worth sampling (string and enum types, also
/// behind a domain).
async fn load_columns(
    txn: &tokio_postgres::Transaction<'_>,
    oids: &[u32],
) -> Result<HashMap<u32, (Vec<Column>, Vec<bool>)>, Failure> {
    // Comments by a join rather than col_description(), which looks each one up separately (most of the time on
    // big schemas).
    const SQL: &str = "SELECT a.attrelid, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
           d.description, coalesce(b.typcategory, t.typcategory) IN ('S', 'E') \
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype \
         LEFT JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = a.attrelid \
              AND d.objsubid = a.attnum \
         WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped \
           AND has_column_privilege(a.attrelid, a.attnum, 'SELECT') \
         ORDER BY a.attrelid, a.attnum";
    let rows = txn.query(SQL, &[&oids]).await?;
    let mut out: HashMap<u32, (Vec<Column>, Vec<bool>)> = HashMap::new();
    for row in rows {
        let entry = out.entry(row.try_get(0)?).or_default();
        entry.0.push(Column {
            name: row.try_get(1)?,
            data_type: row.try_get(2)?,
            nullable: !row.try_get::<_, bool>(3)?,
            comment: row.try_get::<_, Option<String>>(4)?.filter(|c| !c.trim().is_empty()),
            samples: Vec::new(),
        });
        entry.1.push(row.try_get::<_, Option<bool>>(5)?.unwrap_or(false));
    }
    Ok(out)
}

/// Primary key and foreign keys (multi-column, in key order) per relation. Foreign keys a partitioned parent
/// passes on to its partitions are left out.
async fn load_keys(
    txn: &tokio_postgres::Transaction<'_>,
    oids: &[u32],
) -> Result<HashMap<u32, (Vec<String>, Vec<ForeignKey>)>, Failure> {
    const SQL: &str = "SELECT k.conrelid, k.contype::text, \
           ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(num, pos) \
                 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num ORDER BY u.pos), \
           fn.nspname::text, fc.relname::text, \
           ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u(num, pos) \
                 JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num ORDER BY u.pos) \
         FROM pg_constraint k LEFT JOIN pg_class fc ON fc.oid = k.confrelid \
         LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace \
         WHERE k.contype IN ('p', 'f') AND k.conparentid = 0 AND k.conrelid = ANY($1) \
         ORDER BY k.conrelid, k.contype DESC, k.conname";
    let rows = txn.query(SQL, &[&oids]).await?;
    let mut out: HashMap<u32, (Vec<String>, Vec<ForeignKey>)> = HashMap::new();
    for row in rows {
        let entry = out.entry(row.try_get(0)?).or_default();
        let columns: Vec<String> = row.try_get(2)?;
        if row.try_get::<_, String>(1)? == "p" {
            entry.0 = columns;
            continue;
        }
        let Some(ref_table) = row.try_get::<_, Option<String>>(4)? else {
            continue;
        };
        entry.1.push(ForeignKey { columns, ref_schema: row.try_get(3)?, ref_table, ref_columns: row.try_get(5)? });
    }
    Ok(out)
}

/// Samples of string and enum columns of tables and materialized views: per column, up to
/// `samples_per_column` distinct non-null values among the first `sample_scan_rows` rows. Up to
/// [`SAMPLE_COLUMNS_PER_STATEMENT`] columns (of one or several tables) per statement; each statement runs in a
/// read-only transaction with the time that is left as its `statement_timeout`.
async fn fill_samples(
    client: &mut ClientWrapper,
    relations: &mut [Relation],
    options: &IntrospectOptions,
    deadline: Instant,
) -> Result<(), Failure> {
    // (relation index, column index) of every column to sample.
    let mut targets = Vec::new();
    for (r, relation) in relations.iter().enumerate() {
        if !matches!(relation.kind.as_str(), "r" | "p" | "m") {
            continue;
        }
        targets.extend(relation.samplable.iter().enumerate().filter(|(_, s)| **s).map(|(c, _)| (r, c)));
    }
    for batch in targets.chunks(SAMPLE_COLUMNS_PER_STATEMENT) {
        let left = remaining(deadline);
        if left < SAMPLE_MIN_REMAINING {
            tracing::debug!("introspection deadline reached; remaining columns keep no samples");
            break;
        }
        let sql = format!(
            "START TRANSACTION READ ONLY; SET LOCAL statement_timeout = {}; {}; ROLLBACK",
            timeout_ms(left),
            sample_sql(relations, batch, options)
        );
        match client.simple_query(&sql).await {
            Ok(messages) => {
                for message in messages {
                    let SimpleQueryMessage::Row(row) = message else {
                        continue;
                    };
                    let (Some(slot), Some(value)) = (row.get(0).and_then(|s| s.parse::<usize>().ok()), row.get(1))
                    else {
                        continue;
                    };
                    let Some(&(r, c)) = batch.get(slot) else {
                        continue;
                    };
                    if let Some(column) = relations[r].table.columns.get_mut(c) {
                        let sample = truncate_chars(value, SAMPLE_MAX_CHARS);
                        if !column.samples.contains(&sample) {
                            column.samples.push(sample);
                        }
                    }
                }
            }
            Err(e) => {
                let timed_out = e.code() == Some(&SqlState::QUERY_CANCELED);
                if e.is_closed() {
                    return Err(Failure::Pg(e));
                }
                // The failed statement left its transaction open and aborted.
                client.batch_execute("ROLLBACK").await?;
                if timed_out {
                    tracing::debug!("introspection deadline reached while sampling");
                    break;
                }
                tracing::warn!(error = %e, "sample values not read for some columns");
            }
        }
    }
    Ok(())
}

/// `WITH p0 AS MATERIALIZED (SELECT "a", "b" FROM "s"."t" LIMIT scan), … SELECT 0, v FROM (SELECT DISTINCT
/// left("a"::text, 200) AS v FROM p0 WHERE "a" IS NOT NULL LIMIT n) AS s0 UNION ALL …`: each table's prefix is read
/// once, each column's branch is numbered by its position in `batch`.
fn sample_sql(relations: &[Relation], batch: &[(usize, usize)], options: &IntrospectOptions) -> String {
    let mut ctes: Vec<(usize, Vec<usize>)> = Vec::new();
    for &(r, c) in batch {
        match ctes.last_mut() {
            Some((last, cols)) if *last == r => cols.push(c),
            _ => ctes.push((r, vec![c])),
        }
    }
    let column = |r: usize, c: usize| Dialect::Postgres.quote_ident(&relations[r].table.columns[c].name);
    let mut sql = String::from("WITH ");
    for (k, (r, cols)) in ctes.iter().enumerate() {
        let table = &relations[*r].table;
        let list: Vec<String> = cols.iter().map(|&c| column(*r, c)).collect();
        if k > 0 {
            sql.push_str(", ");
        }
        let _ = write!(
            sql,
            "p{k} AS MATERIALIZED (SELECT {} FROM {}.{} LIMIT {})",
            list.join(", "),
            Dialect::Postgres.quote_ident(table.schema.as_deref().unwrap_or("public")),
            Dialect::Postgres.quote_ident(&table.name),
            bigint(options.sample_scan_rows)
        );
    }
    sql.push(' ');
    let mut branch = 0usize;
    for (k, (r, cols)) in ctes.iter().enumerate() {
        for &c in cols {
            if branch > 0 {
                sql.push_str(" UNION ALL ");
            }
            let col = column(*r, c);
            let _ = write!(
                sql,
                "SELECT {branch}, v FROM (SELECT DISTINCT left({col}::text, {SAMPLE_COMPARE_CHARS}) AS v FROM p{k} \
                 WHERE {col} IS NOT NULL LIMIT {}) AS s{branch}",
                bigint(options.samples_per_column)
            );
            branch += 1;
        }
    }
    sql
}

/// A count as a LIMIT PostgreSQL accepts (a bigint).
fn bigint(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(schema: &str, name: &str, columns: &[&str]) -> Relation {
        Relation {
            oid: 1,
            kind: "r".into(),
            samplable: vec![true; columns.len()],
            table: Table {
                schema: Some(schema.into()),
                name: name.into(),
                kind: TableKind::Table,
                comment: None,
                columns: columns
                    .iter()
                    .map(|c| Column {
                        name: c.to_string(),
                        data_type: "text".into(),
                        nullable: true,
                        comment: None,
                        samples: vec![],
                    })
                    .collect(),
                primary_key: vec![],
                foreign_keys: vec![],
                row_count: None,
            },
        }
    }

    #[test]
    fn sample_sql_reads_each_prefix_once_and_quotes_names() {
        let relations = [relation("s", "t\"x", &["a", "b"]), relation("고객", "주문", &["c"])];
        let options = IntrospectOptions { samples_per_column: 3, sample_scan_rows: 100, ..Default::default() };
        let sql = sample_sql(&relations, &[(0, 0), (0, 1), (1, 0)], &options);
        assert_eq!(
            sql,
            "WITH p0 AS MATERIALIZED (SELECT \"a\", \"b\" FROM \"s\".\"t\"\"x\" LIMIT 100), \
             p1 AS MATERIALIZED (SELECT \"c\" FROM \"고객\".\"주문\" LIMIT 100) \
             SELECT 0, v FROM (SELECT DISTINCT left(\"a\"::text, 200) AS v FROM p0 WHERE \"a\" IS NOT NULL LIMIT 3) AS s0 \
             UNION ALL SELECT 1, v FROM (SELECT DISTINCT left(\"b\"::text, 200) AS v FROM p0 WHERE \"b\" IS NOT NULL LIMIT 3) AS s1 \
             UNION ALL SELECT 2, v FROM (SELECT DISTINCT left(\"c\"::text, 200) AS v FROM p1 WHERE \"c\" IS NOT NULL LIMIT 3) AS s2"
        );
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncate_chars("짧다", 60), "짧다");
        let cut = truncate_chars(&"한".repeat(61), 60);
        assert_eq!(cut.chars().count(), 60);
        assert!(cut.ends_with('…'));
    }
}
