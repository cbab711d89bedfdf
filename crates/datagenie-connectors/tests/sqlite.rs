//! The SQLite connector through its public API. Every fixture database is built in a temp dir with a separate,
//! writable rusqlite connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datagenie_connectors::{SqliteConnector, parse_sqlite_target};
use datagenie_core::connector::{Connector, IntrospectOptions, Limits};
use datagenie_core::guard::{self, Policy};
use datagenie_core::schema::{ForeignKey, TableKind};
use datagenie_core::value::Value;
use datagenie_core::{Dialect, Error, ErrorCode, GuardedSql};
use tempfile::TempDir;

/// A fixture: a temp dir holding `db.sqlite` made by running `ddl` on a writable connection.
fn fixture(ddl: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db.sqlite");
    let conn = rusqlite::Connection::open(&path).expect("create fixture");
    conn.execute_batch(ddl).expect("fixture DDL");
    (dir, path)
}

fn open(path: &Path) -> SqliteConnector {
    SqliteConnector::open(path).expect("open fixture")
}

fn guarded(sql: &str) -> GuardedSql {
    guard::check(sql, Dialect::Sqlite, &Policy::default()).expect("the guard accepts this SQL")
}

fn limits(max_rows: usize) -> Limits {
    Limits { max_rows, timeout: Duration::from_secs(10) }
}

async fn run(c: &SqliteConnector, sql: &str, limits: Limits) -> Result<datagenie_core::value::ResultSet, Error> {
    c.execute(&guarded(sql), &limits).await
}

fn open_err(path: &Path) -> Error {
    match SqliteConnector::open(path) {
        Ok(c) => panic!("opening {} should fail, got {c:?}", path.display()),
        Err(e) => e,
    }
}

// --- values and rows ----------------------------------------------------------------------------------------

#[tokio::test]
async fn values_round_trip_with_their_types() {
    let (_dir, path) = fixture(
        "CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n NUMERIC);
         INSERT INTO t VALUES (-9223372036854775808, 2.5, '서울특별시 강남구', x'00ff10', NULL);",
    );
    let c = open(&path);
    let rs = run(&c, "SELECT i, r, s, b, n, i + 1 AS next FROM t", limits(10)).await.expect("query runs");
    assert_eq!(
        rs.rows,
        vec![vec![
            Value::Int(i64::MIN),
            Value::Float(2.5),
            Value::Text("서울특별시 강남구".into()),
            Value::Blob(vec![0, 255, 16]),
            Value::Null,
            Value::Int(i64::MIN + 1),
        ]]
    );
    let names: Vec<&str> = rs.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["i", "r", "s", "b", "n", "next"]);
    let types: Vec<Option<&str>> = rs.columns.iter().map(|c| c.decl_type.as_deref()).collect();
    assert_eq!(types, [Some("INTEGER"), Some("REAL"), Some("TEXT"), Some("BLOB"), Some("NUMERIC"), None]);
    assert!(!rs.truncated);
}

#[tokio::test]
async fn row_cap_reads_one_extra_row_to_mark_truncation() {
    let (_dir, path) = fixture(
        "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3), (4), (5); CREATE TABLE empty (x INTEGER);",
    );
    let c = open(&path);
    let exact = run(&c, "SELECT x FROM t ORDER BY x", limits(5)).await.expect("query runs");
    assert_eq!(exact.rows.len(), 5);
    assert!(!exact.truncated, "exactly max_rows rows is not truncated");

    let cut = run(&c, "SELECT x FROM t ORDER BY x", limits(4)).await.expect("query runs");
    assert_eq!(cut.rows, vec![vec![Value::Int(1)], vec![Value::Int(2)], vec![Value::Int(3)], vec![Value::Int(4)]]);
    assert!(cut.truncated, "max_rows + 1 rows is truncated");

    let none = run(&c, "SELECT x FROM t", limits(0)).await.expect("query runs");
    assert!(none.rows.is_empty() && none.truncated);
    let empty = run(&c, "SELECT x FROM empty", limits(0)).await.expect("query runs");
    assert!(empty.rows.is_empty() && !empty.truncated);
    assert_eq!(empty.columns.len(), 1, "columns are reported even without rows");
}

#[tokio::test]
async fn the_sql_text_is_not_rewritten_for_the_row_cap() {
    // A LIMIT/OFFSET written by the user keeps its meaning: rows 3..4, not the first rows of the table.
    let (_dir, path) = fixture("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3), (4), (5);");
    let c = open(&path);
    let rs = run(&c, "SELECT x FROM t ORDER BY x LIMIT 2 OFFSET 2", limits(1)).await.expect("query runs");
    assert_eq!(rs.rows, vec![vec![Value::Int(3)]]);
    assert!(rs.truncated);
}

#[tokio::test]
async fn sqlite_errors_come_back_with_sqlites_message() {
    let (_dir, path) = fixture("CREATE TABLE t (a INTEGER);");
    let c = open(&path);
    let e = run(&c, "SELECT x FROM t", limits(10)).await.expect_err("unknown column");
    assert_eq!(e.code, ErrorCode::QueryFailed);
    assert_eq!(e.message, "no such column: x");
    let e = run(&c, "SELECT a FROM missing", limits(10)).await.expect_err("unknown table");
    assert_eq!((e.code, e.message.as_str()), (ErrorCode::QueryFailed, "no such table: missing"));
}

#[tokio::test]
async fn sql_checked_for_another_dialect_is_refused() {
    let (_dir, path) = fixture("CREATE TABLE t (a INTEGER);");
    let c = open(&path);
    let pg = guard::check("SELECT 1", Dialect::Postgres, &Policy::default()).expect("guard accepts");
    let e = c.execute(&pg, &limits(10)).await.expect_err("wrong dialect");
    assert_eq!(e.code, ErrorCode::Internal);
}

// --- limits -------------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_endless_query_stops_at_its_deadline() {
    let (_dir, path) = fixture("CREATE TABLE t (a INTEGER);");
    let c = open(&path);
    let started = Instant::now();
    let e = run(
        &c,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c",
        Limits { max_rows: 10, timeout: Duration::from_millis(200) },
    )
    .await
    .expect_err("the query never ends by itself");
    let elapsed = started.elapsed();
    assert_eq!(e.code, ErrorCode::QueryTimeout);
    assert_eq!(e.message, "the query ran longer than 0.2 s and was stopped");
    assert!(elapsed >= Duration::from_millis(200), "stopped too early: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "stopped too late: {elapsed:?}");
    // The connection is usable afterwards.
    let rs = run(&c, "SELECT 1", limits(1)).await.expect("next query runs");
    assert_eq!(rs.rows, vec![vec![Value::Int(1)]]);
}

#[tokio::test]
async fn an_endless_scan_that_returns_rows_also_stops() {
    // Rows stream out while the limit is not reached: the deadline applies while rows are read, too.
    let (_dir, path) = fixture("CREATE TABLE t (a INTEGER);");
    let c = open(&path);
    let e = run(
        &c,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c WHERE x < 0",
        Limits { max_rows: 10, timeout: Duration::from_millis(150) },
    )
    .await
    .expect_err("no row ever matches");
    assert_eq!(e.code, ErrorCode::QueryTimeout);
}

#[tokio::test]
async fn concurrent_calls_share_the_connection_safely() {
    let (_dir, path) = fixture("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3);");
    let c: Arc<dyn Connector> = Arc::new(open(&path));
    let mut tasks = Vec::new();
    for k in 0..8i64 {
        let c = Arc::clone(&c);
        tasks.push(tokio::spawn(async move {
            let sql = format!("SELECT sum(x) + {k} FROM t");
            c.execute(&guarded(&sql), &limits(1)).await
        }));
    }
    for (k, task) in tasks.into_iter().enumerate() {
        let rs = task.await.expect("task ran").expect("query ran");
        assert_eq!(rs.rows, vec![vec![Value::Int(6 + k as i64)]]);
    }
}

// --- read-only ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn writes_never_reach_the_file_whatever_the_guard_lets_through() {
    let (_dir, path) = fixture("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);");
    let before = std::fs::read(&path).expect("read fixture");
    let c = open(&path);
    let attempts = [
        "WITH d AS (DELETE FROM t RETURNING x) SELECT * FROM d",
        "WITH i AS (INSERT INTO t VALUES (2) RETURNING x) SELECT * FROM i",
        "SELECT load_extension('/tmp/evil.so')",
        "SELECT * FROM t; DELETE FROM t",
        "DELETE FROM t",
        "UPDATE t SET x = 5",
        "INSERT INTO t VALUES (3)",
        "DROP TABLE t",
        "CREATE TABLE u (y)",
        "ATTACH DATABASE '/tmp/other.db' AS o",
        "PRAGMA writable_schema = 1",
        "VACUUM",
    ];
    for sql in attempts {
        match guard::check(sql, Dialect::Sqlite, &Policy::default()) {
            Err(e) => assert_eq!(e.code.kind(), datagenie_core::ErrorKind::Refused, "{sql}: {e:?}"),
            Ok(g) => {
                let result = c.execute(&g, &limits(10)).await;
                assert!(result.is_err(), "{sql} ran: {result:?}");
            }
        }
    }
    drop(c);
    assert_eq!(std::fs::read(&path).expect("read fixture"), before, "the database file changed");
}

// --- opening ------------------------------------------------------------------------------------------------

#[test]
fn a_missing_file_is_not_found_and_never_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("missing.db");
    let e = open_err(&path);
    assert_eq!(e.code, ErrorCode::DatabaseNotFound);
    assert!(e.message.contains("missing.db"), "{}", e.message);
    assert!(!path.exists(), "open created the file");
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0, "open left files behind");
}

#[test]
fn files_that_are_not_sqlite_databases_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = dir.path().join("notes.db");
    std::fs::write(
        &text,
        "이것은 데이터베이스가 아닙니다. This is plain text, long enough to fill a header. ".repeat(20),
    )
    .expect("write text file");
    let e = open_err(&text);
    assert_eq!(e.code, ErrorCode::NotADatabase, "{e:?}");
    assert!(e.message.contains("not a database"), "{}", e.message);

    let e = open_err(dir.path());
    assert_eq!(e.code, ErrorCode::NotADatabase, "{e:?}");
    assert!(e.message.contains("directory"), "{}", e.message);

    let e = open_err(Path::new(""));
    assert_eq!(e.code, ErrorCode::InvalidDatabaseUrl, "{e:?}");
}

#[cfg(unix)]
#[test]
fn devices_are_refused_without_blocking() {
    let e = open_err(Path::new("/dev/null"));
    assert_eq!(e.code, ErrorCode::NotADatabase, "{e:?}");
}

#[test]
fn a_damaged_database_is_refused() {
    let (_dir, path) = fixture("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);");
    let mut bytes = std::fs::read(&path).expect("read");
    // Keep the 16-byte magic header, scribble over the rest of page 1 (header fields and the schema b-tree).
    for b in bytes.iter_mut().skip(16).take(200) {
        *b = 0xA5;
    }
    std::fs::write(&path, bytes).expect("write");
    let e = open_err(&path);
    assert!(matches!(e.code, ErrorCode::NotADatabase), "{e:?}");
}

#[tokio::test]
async fn describe_gives_a_url_that_parses_back_to_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("매출 100%? #1.db");
    rusqlite::Connection::open(&path).and_then(|c| c.execute_batch("CREATE TABLE t (x);")).expect("fixture");
    let c = open(&path);
    let url = c.describe();
    assert!(url.starts_with("sqlite:///"), "{url}");
    assert_eq!(parse_sqlite_target(&url).expect("parses"), path);
    assert_eq!(c.dialect(), Dialect::Sqlite);
    c.healthcheck().await.expect("healthy");
    // Through a relative path and a URL, the same file.
    let via_url = SqliteConnector::open(&parse_sqlite_target(&url).expect("parses")).expect("opens");
    assert_eq!(via_url.describe(), url);
}

#[tokio::test]
async fn healthcheck_notices_a_deleted_file() {
    let (dir, path) = fixture("CREATE TABLE t (x);");
    let c = open(&path);
    c.healthcheck().await.expect("healthy");
    std::fs::remove_file(&path).expect("delete");
    let e = c.healthcheck().await.expect_err("file gone");
    assert_eq!(e.code, ErrorCode::DatabaseUnavailable);
    drop(dir);
}

// --- fingerprint --------------------------------------------------------------------------------------------

#[tokio::test]
async fn fingerprint_follows_structure_not_data() {
    let (_dir, path) = fixture("CREATE TABLE t (x INTEGER); CREATE INDEX t_x ON t (x);");
    let c = open(&path);
    let first = c.schema_fingerprint().await.expect("fingerprint");
    assert_eq!(first.len(), 64);
    assert!(first.chars().all(|ch| ch.is_ascii_hexdigit()));
    assert_eq!(c.schema_fingerprint().await.expect("fingerprint"), first, "stable across calls");

    let writer = rusqlite::Connection::open(&path).expect("writer");
    writer.execute_batch("INSERT INTO t VALUES (1), (2);").expect("insert");
    assert_eq!(c.schema_fingerprint().await.expect("fingerprint"), first, "rows do not change it");

    writer.execute_batch("ALTER TABLE t ADD COLUMN y TEXT;").expect("alter");
    let second = c.schema_fingerprint().await.expect("fingerprint");
    assert_ne!(second, first, "a new column changes it");

    writer.execute_batch("CREATE VIEW v AS SELECT x FROM t;").expect("view");
    assert_ne!(c.schema_fingerprint().await.expect("fingerprint"), second, "a new view changes it");
}

// --- introspection ------------------------------------------------------------------------------------------

const SHOP: &str = r#"
    CREATE TABLE "고객" ("고객번호" INTEGER PRIMARY KEY, "이름" VARCHAR(40) NOT NULL, "도시" TEXT, "메모" TEXT);
    INSERT INTO "고객" VALUES (1, '김민준', '서울', NULL), (2, '이서연', '부산', NULL), (3, '박지호', '서울', NULL),
                              (4, '최수아', '대구', NULL), (5, '정우진', '인천', NULL);
    CREATE TABLE orders (
        region TEXT NOT NULL,
        order_no INTEGER NOT NULL,
        customer INTEGER REFERENCES "고객",
        note TEXT,
        PRIMARY KEY (order_no, region)
    );
    INSERT INTO orders VALUES ('kr', 1, 1, 'first'), ('kr', 2, 1, NULL), ('jp', 1, 2, NULL);
    CREATE TABLE order_items (
        item_id INTEGER PRIMARY KEY AUTOINCREMENT,
        o_region TEXT,
        o_no INTEGER,
        qty INTEGER,
        FOREIGN KEY (o_no, o_region) REFERENCES orders (order_no, region)
    );
    INSERT INTO order_items (o_region, o_no, qty) VALUES ('kr', 1, 2), ('kr', 1, 1), ('jp', 1, 5), ('kr', 2, 1);
    CREATE VIEW "서울_고객" AS SELECT "고객번호", "이름" FROM "고객" WHERE "도시" = '서울';
    CREATE TABLE "we""ird" ("a""b" TEXT, plain);
    INSERT INTO "we""ird" VALUES ('x"y', 1), (NULL, 'untyped');
    CREATE INDEX orders_customer ON orders (customer);
    ANALYZE;
"#;

fn options() -> IntrospectOptions {
    IntrospectOptions { samples_per_column: 3, sample_scan_rows: 100, timeout: Duration::from_secs(10) }
}

#[tokio::test]
async fn introspection_reads_tables_views_keys_counts_and_samples() {
    let (_dir, path) = fixture(SHOP);
    let c = open(&path);
    let schema = c.introspect(&options()).await.expect("introspect");
    assert_eq!(schema.dialect, Dialect::Sqlite);
    assert!(schema.server_version.starts_with("SQLite 3."), "{}", schema.server_version);

    let names: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
    // Byte order; sqlite_sequence and sqlite_stat1 are internal and left out.
    assert_eq!(names, ["order_items", "orders", "we\"ird", "고객", "서울_고객"]);

    let customers = schema.table("고객").expect("고객");
    assert_eq!(customers.kind, TableKind::Table);
    assert_eq!(customers.row_count, Some(5));
    assert_eq!(customers.primary_key, ["고객번호"]);
    let cols: Vec<(&str, &str, bool)> =
        customers.columns.iter().map(|c| (c.name.as_str(), c.data_type.as_str(), c.nullable)).collect();
    assert_eq!(
        cols,
        [
            ("고객번호", "INTEGER", false),
            ("이름", "VARCHAR(40)", false),
            ("도시", "TEXT", true),
            ("메모", "TEXT", true)
        ]
    );
    let name = customers.column("이름").expect("이름");
    assert_eq!(name.samples, ["김민준", "이서연", "박지호"], "first distinct values, capped at 3");
    assert_eq!(customers.column("도시").expect("도시").samples, ["서울", "부산", "대구"], "distinct");
    assert!(customers.column("메모").expect("메모").samples.is_empty(), "nulls are not samples");
    assert!(customers.column("고객번호").expect("id").samples.is_empty(), "only text columns are sampled");

    let orders = schema.table("orders").expect("orders");
    assert_eq!(orders.primary_key, ["order_no", "region"], "key order, not column order");
    assert_eq!(orders.row_count, Some(3));
    assert_eq!(
        orders.foreign_keys,
        [ForeignKey {
            columns: vec!["customer".into()],
            ref_schema: None,
            ref_table: "고객".into(),
            ref_columns: vec!["고객번호".into()],
        }],
        "a reference without columns points at the parent's primary key"
    );
    assert_eq!(orders.column("note").expect("note").samples, ["first"]);

    let items = schema.table("order_items").expect("order_items");
    assert_eq!(
        items.foreign_keys,
        [ForeignKey {
            columns: vec!["o_no".into(), "o_region".into()],
            ref_schema: None,
            ref_table: "orders".into(),
            ref_columns: vec!["order_no".into(), "region".into()],
        }],
        "one multi-column key, columns in key order"
    );
    assert_eq!(items.row_count, Some(4));

    let view = schema.table("서울_고객").expect("view");
    assert_eq!(view.kind, TableKind::View);
    assert_eq!(view.row_count, None);
    let view_cols: Vec<&str> = view.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(view_cols, ["고객번호", "이름"]);
    assert!(view.primary_key.is_empty() && view.foreign_keys.is_empty());

    let weird = schema.table("we\"ird").expect("quoted names");
    assert_eq!(weird.row_count, Some(2));
    assert_eq!(weird.column("a\"b").expect("a\"b").samples, ["x\"y"]);
    let untyped = weird.column("plain").expect("plain");
    assert_eq!(untyped.data_type, "");
    assert_eq!(untyped.samples, ["1", "untyped"], "untyped columns are sampled, numbers as text");
}

#[tokio::test]
async fn samples_come_from_a_bounded_prefix_and_long_values_are_cut() {
    let long = "가나다라마바사아자차".repeat(10); // 100 characters
    let (_dir, path) = fixture(&format!(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT);
         INSERT INTO t (s) VALUES ('a'), ('a'), ('b');
         INSERT INTO t (s) VALUES ('beyond the prefix');
         CREATE TABLE l (s TEXT); INSERT INTO l VALUES ('{long}');"
    ));
    let c = open(&path);
    let opts = IntrospectOptions { samples_per_column: 10, sample_scan_rows: 3, timeout: Duration::from_secs(10) };
    let schema = c.introspect(&opts).await.expect("introspect");
    let t = schema.table("t").expect("t");
    assert_eq!(t.column("s").expect("s").samples, ["a", "b"], "only the first 3 rows are read");
    assert_eq!(t.row_count, Some(4), "the count is exact, not bounded by the sample prefix");
    let cut = &schema.table("l").expect("l").column("s").expect("s").samples[0];
    assert_eq!(cut.chars().count(), 60);
    assert!(cut.ends_with('…'));
    assert!(long.starts_with(cut.trim_end_matches('…')));

    let none = IntrospectOptions { samples_per_column: 0, ..opts };
    let schema = c.introspect(&none).await.expect("introspect");
    assert!(schema.tables.iter().flat_map(|t| &t.columns).all(|c| c.samples.is_empty()));
}

#[tokio::test]
async fn broken_views_and_virtual_table_internals_do_not_spoil_introspection() {
    let (_dir, path) = fixture(
        "CREATE TABLE a (x TEXT); INSERT INTO a VALUES ('one');
         CREATE TABLE gone (y); CREATE VIEW broken AS SELECT y FROM gone; DROP TABLE gone;
         CREATE VIRTUAL TABLE docs USING fts5(title, body);
         INSERT INTO docs VALUES ('제목', '본문');
         CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1);",
    );
    let c = open(&path);
    // FTS5 reads its shadow tables itself; user SQL reaches them through the virtual table.
    let rs = run(&c, "SELECT title FROM docs WHERE docs MATCH '본문'", limits(10)).await.expect("fts5 query");
    assert_eq!(rs.rows, vec![vec![Value::Text("제목".into())]]);
    let schema = c.introspect(&options()).await.expect("introspect");
    let names: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
    // The broken view is left out; so are FTS5's shadow tables, and the R-Tree table, whose module prepares write
    // statements the authorizer refuses.
    assert_eq!(names, ["a", "docs"]);
    let docs = schema.table("docs").expect("docs");
    assert_eq!(docs.row_count, Some(1));
    let cols: Vec<&str> = docs.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cols, ["title", "body"], "hidden virtual-table columns are left out");
    assert_eq!(schema.table("a").expect("a").column("x").expect("x").samples, ["one"]);
}

#[tokio::test]
async fn introspection_without_time_fails_with_a_timeout() {
    let (_dir, path) = fixture(SHOP);
    let c = open(&path);
    let opts = IntrospectOptions { timeout: Duration::ZERO, ..options() };
    let e = c.introspect(&opts).await.expect_err("no time at all");
    assert_eq!(e.code, ErrorCode::QueryTimeout);
    assert!(e.message.starts_with("schema introspection ran longer than 0 s"), "{}", e.message);
}

#[tokio::test]
async fn an_empty_database_has_an_empty_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").expect("empty file");
    let c = open(&path);
    let schema = c.introspect(&options()).await.expect("introspect");
    assert!(schema.tables.is_empty());
    assert_eq!(std::fs::metadata(&path).expect("meta").len(), 0, "still untouched");
}

// --- comments written in CREATE statements -----------------------------------------------------------------

#[tokio::test]
async fn comments_in_create_statements_become_table_and_column_comments() {
    let (_dir, path) = fixture(
        "CREATE TABLE regions ( -- 지역(광역시·도) / Regions of Korea
             region_id INTEGER PRIMARY KEY, -- 지역 ID / region id
             name_ko TEXT NOT NULL UNIQUE, /* 지역명(한국어) */
             -- 권역(영어)
             \"Area_EN\" TEXT NOT NULL,
             note TEXT DEFAULT '-- not a comment',
             CHECK (length(name_ko) > 0) -- a constraint, not a column
         );
         ALTER TABLE regions ADD COLUMN population INTEGER /* 인구 */;
         INSERT INTO regions VALUES (1, '서울', 'Capital', NULL, 9400000);
         CREATE TABLE plain (a INTEGER, b TEXT);
         CREATE VIEW region_names AS -- 지역 이름 목록
         SELECT name_ko FROM regions;",
    );
    let c = open(&path);
    let schema = c.introspect(&options()).await.expect("introspect");
    let comments = |table: &str| -> (Option<String>, Vec<(String, Option<String>)>) {
        let t = schema.table(table).expect("table");
        (t.comment.clone(), t.columns.iter().map(|c| (c.name.clone(), c.comment.clone())).collect())
    };
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        comments("regions"),
        (
            some("지역(광역시·도) / Regions of Korea"),
            vec![
                ("region_id".into(), some("지역 ID / region id")),
                ("name_ko".into(), some("지역명(한국어)")),
                ("Area_EN".into(), some("권역(영어)")),
                ("note".into(), None),
                ("population".into(), some("인구")),
            ]
        )
    );
    assert_eq!(comments("region_names"), (some("지역 이름 목록"), vec![("name_ko".into(), None)]));
    assert_eq!(comments("plain"), (None, vec![("a".into(), None), ("b".into(), None)]));
    let regions = schema.table("regions").expect("regions");
    assert_eq!(regions.row_count, Some(1), "comments do not disturb the rest of introspection");
    assert_eq!(regions.column("name_ko").expect("name_ko").samples, ["서울"]);
}
