//! Unit tests of the guard's API: reports, policy resolution, column restrictions and row filters. The attack and
//! legal-query corpora live in `tests/corpus/` (see `tests/guard_corpus.rs`).

use std::collections::HashSet;

use super::*;
use crate::schema::{Column, Schema, Table, TableKind};

fn ok(sql: &str, dialect: Dialect, policy: &Policy) -> String {
    match check(sql, dialect, policy) {
        Ok(g) => g.as_str().to_string(),
        Err(e) => panic!("refused {sql:?}: {} {}", e.code, e.message),
    }
}

fn refused(sql: &str, dialect: Dialect, policy: &Policy) -> Error {
    match check(sql, dialect, policy) {
        Ok(g) => panic!("accepted {sql:?} as {:?}", g.as_str()),
        Err(e) => e,
    }
}

fn policy(f: impl FnOnce(Policy) -> Result<Policy, Error>) -> Policy {
    f(Policy::default()).unwrap_or_else(|e| panic!("bad test policy: {}", e.message))
}

fn table(name: &str, columns: &[&str]) -> Table {
    Table {
        schema: None,
        name: name.to_string(),
        kind: TableKind::Table,
        comment: None,
        columns: columns
            .iter()
            .map(|c| Column {
                name: c.to_string(),
                data_type: String::new(),
                nullable: true,
                comment: None,
                samples: Vec::new(),
            })
            .collect(),
        primary_key: Vec::new(),
        foreign_keys: Vec::new(),
        row_count: None,
    }
}

fn shop_schema(dialect: Dialect) -> Schema {
    Schema {
        dialect,
        server_version: String::new(),
        tables: vec![
            table("customers", &["id", "name", "ssn", "region"]),
            table("orders", &["id", "customer_id", "total", "region"]),
        ],
    }
}

#[test]
fn accepts_a_simple_query_verbatim() {
    let g = check("  SELECT 1;  ", Dialect::Sqlite, &Policy::default());
    assert_eq!(g.as_ref().map(|g| g.as_str()), Ok("SELECT 1"));
    assert_eq!(g.map(|g| g.dialect()), Ok(Dialect::Sqlite));
}

#[test]
fn empty_input_is_empty_sql() {
    for sql in ["", "   ", ";", " ; ;", "-- only a comment", "/* c */"] {
        assert_eq!(refused(sql, Dialect::Postgres, &Policy::default()).code, ErrorCode::EmptySql, "{sql:?}");
    }
}

#[test]
fn report_lists_tables_and_functions_but_not_ctes() {
    let sql = "WITH big AS (SELECT * FROM orders WHERE total > 10) \
               SELECT lower(c.name), count(*) FROM big JOIN main.customers c ON c.id = big.customer_id \
               WHERE c.id IN (SELECT customer_id FROM (SELECT customer_id FROM refunds) r) GROUP BY 1";
    let report = check_report(sql, Dialect::Sqlite, &Policy::default()).map_err(|e| e.message);
    let report = report.as_ref().ok();
    let names: Vec<String> = report.map(|r| r.tables.iter().map(|t| t.to_string()).collect()).unwrap_or_default();
    assert_eq!(names, ["main.customers", "main.orders", "main.refunds"]);
    assert_eq!(report.map(|r| r.functions.clone()), Some(vec!["count".to_string(), "lower".to_string()]));
    assert_eq!(report.map(|r| r.rewritten), Some(false));
    assert_eq!(report.map(|r| r.sql.as_str()), Some(sql));
}

#[test]
fn mysql_unqualified_tables_have_no_schema_unless_the_policy_names_one() {
    let report = check_report("SELECT * FROM orders", Dialect::Mysql, &Policy::default()).ok();
    assert_eq!(report.map(|r| r.tables), Some(vec![TableRef { schema: None, name: "orders".into() }]));
    let p = Policy::default().current_schema("Shop");
    let report = check_report("SELECT * FROM ORDERS", Dialect::Mysql, &p).ok();
    assert_eq!(report.map(|r| r.tables), Some(vec![TableRef { schema: Some("shop".into()), name: "orders".into() }]));
}

#[test]
fn schema_lists_follow_the_dialect() {
    let p = Policy::default().allow_schema("shop");
    ok("SELECT * FROM orders", Dialect::Mysql, &p);
    ok("SELECT * FROM SHOP.orders", Dialect::Mysql, &p);
    assert_eq!(refused("SELECT * FROM hr.pay", Dialect::Mysql, &p).code, ErrorCode::ForbiddenTable);
    // PostgreSQL resolves unqualified names to `public` unless told otherwise.
    assert_eq!(refused("SELECT * FROM orders", Dialect::Postgres, &p).code, ErrorCode::ForbiddenTable);
    ok("SELECT * FROM orders", Dialect::Postgres, &p.clone().current_schema("shop"));
    // Quoted names keep their case in PostgreSQL.
    assert_eq!(refused("SELECT * FROM \"SHOP\".orders", Dialect::Postgres, &p).code, ErrorCode::ForbiddenTable);
}

#[test]
fn catalog_access_levels() {
    let none = Policy::default();
    let meta = Policy::default().catalogs(CatalogAccess::Metadata);
    let all = Policy::default().allow_system_catalogs(true);
    let sql = "SELECT usename FROM pg_shadow";
    assert_eq!(refused(sql, Dialect::Postgres, &none).code, ErrorCode::ForbiddenTable);
    assert_eq!(refused(sql, Dialect::Postgres, &meta).code, ErrorCode::ForbiddenTable);
    ok(sql, Dialect::Postgres, &all);
    ok("SELECT relname FROM pg_catalog.pg_class", Dialect::Postgres, &meta);
    // Catalogs are allowed by catalog access even when a table list is in force.
    let listed = policy(|p| p.allow_table("orders")).catalogs(CatalogAccess::Metadata);
    ok("SELECT table_name FROM information_schema.tables", Dialect::Mysql, &listed);
    // A CTE named like a catalog is the CTE.
    ok("WITH pg_shadow AS (SELECT 1 AS usename) SELECT usename FROM pg_shadow", Dialect::Postgres, &none);
}

#[test]
fn extra_functions_can_be_allowed() {
    let sql = "SELECT fiscal_quarter(created_at) FROM orders";
    assert_eq!(refused(sql, Dialect::Postgres, &Policy::default()).code, ErrorCode::ForbiddenFunction);
    ok(sql, Dialect::Postgres, &Policy::default().allow_function("FISCAL_QUARTER"));
}

#[test]
fn restricted_columns_are_resolved_through_aliases_and_scopes() {
    let p = policy(|p| p.restrict_columns("customers", &["id", "name"]));
    let d = Dialect::Sqlite;
    ok("SELECT c.name AS ssn FROM customers c ORDER BY ssn", d, &p);
    ok("SELECT name FROM customers WHERE id IN (SELECT o.customer_id FROM orders o)", d, &p);
    ok("SELECT o.total FROM orders o JOIN customers c ON c.id = o.customer_id", d, &p);
    ok("SELECT count(*) FROM customers", d, &p);
    let e = refused("SELECT name FROM customers WHERE id IN (SELECT customer_id FROM orders)", d, &p);
    assert_eq!(e.code, ErrorCode::ForbiddenColumn, "without the schema, customer_id may be a customers column");
    assert!(e.message.contains("customer_id"), "{}", e.message);
    let e = refused("SELECT * FROM customers c JOIN orders o ON o.customer_id = c.id", d, &p);
    assert!(e.message.contains("allowed: id, name"), "{}", e.message);
    ok("SELECT o.* FROM customers c JOIN orders o ON o.customer_id = c.id", d, &p);
}

#[test]
fn known_schema_makes_unqualified_columns_precise() {
    let p = policy(|p| p.restrict_columns("customers", &["id", "name"]));
    let sql = "SELECT name FROM customers WHERE EXISTS (SELECT 1 FROM orders WHERE customer_id = customers.id)";
    assert_eq!(refused(sql, Dialect::Sqlite, &p).code, ErrorCode::ForbiddenColumn);
    let known = p.clone().with_schema(&shop_schema(Dialect::Sqlite));
    ok(sql, Dialect::Sqlite, &known);
    ok("SELECT total FROM orders JOIN customers ON customers.id = orders.customer_id", Dialect::Sqlite, &known);
    // A column both tables have stays ambiguous, and the restricted table does not allow it.
    let e = refused(
        "SELECT region FROM orders JOIN customers ON customers.id = orders.customer_id",
        Dialect::Sqlite,
        &known,
    );
    assert_eq!(e.code, ErrorCode::ForbiddenColumn);
    // The restricted column itself is refused however it is reached.
    let e =
        refused("SELECT 1 FROM orders WHERE EXISTS (SELECT 1 FROM customers WHERE ssn = '1')", Dialect::Sqlite, &known);
    assert_eq!(e.code, ErrorCode::ForbiddenColumn);
}

#[test]
fn postgres_attribute_notation_is_refused_when_the_schema_is_known() {
    let known = Policy::default().with_schema(&shop_schema(Dialect::Postgres));
    ok("SELECT o.total FROM orders o", Dialect::Postgres, &known);
    let e = refused("SELECT o.evil_function FROM orders o", Dialect::Postgres, &known);
    assert_eq!(e.code, ErrorCode::ForbiddenConstruct);
    assert!(e.message.contains("o.evil_function"), "{}", e.message);
}

#[test]
fn postgres_whole_row_references_to_restricted_tables_are_refused() {
    let p = policy(|p| p.restrict_columns("customers", &["id", "name"]));
    for sql in
        ["SELECT c FROM customers c", "SELECT row_to_json(c) FROM customers c", "SELECT to_json(c.*) FROM customers c"]
    {
        assert_eq!(refused(sql, Dialect::Postgres, &p).code, ErrorCode::ForbiddenColumn, "{sql}");
    }
}

#[test]
fn row_filter_rewrites_every_reference_and_keeps_the_rest_verbatim() {
    let p = policy(|p| p.row_filter("orders", "region = 'APAC'"));
    let sql = "WITH recent AS (SELECT * FROM orders WHERE created > '2024-01-01') \
               SELECT c.name, (SELECT count(*) FROM orders o2 WHERE o2.customer_id = c.id) AS n \
               FROM customers c JOIN recent r ON r.customer_id = c.id \
               WHERE NOT EXISTS (SELECT 1 FROM Orders WHERE Orders.customer_id = c.id AND note = 'it''s; \\') \
               UNION ALL SELECT 'x', 1 FROM main.orders";
    let report = check_report(sql, Dialect::Sqlite, &p).map_err(|e| e.message);
    let Ok(report) = report else { panic!("{report:?}") };
    let f = "region = 'APAC'";
    let expected = format!(
        "WITH recent AS (SELECT * FROM (SELECT * FROM orders WHERE orders.{f}) AS orders WHERE created > '2024-01-01') \
         SELECT c.name, (SELECT count(*) FROM (SELECT * FROM orders WHERE orders.{f}) o2 WHERE o2.customer_id = c.id) AS n \
         FROM customers c JOIN recent r ON r.customer_id = c.id \
         WHERE NOT EXISTS (SELECT 1 FROM (SELECT * FROM Orders WHERE Orders.{f}) AS Orders WHERE Orders.customer_id = c.id AND note = 'it''s; \\') \
         UNION ALL SELECT 'x', 1 FROM (SELECT * FROM main.orders WHERE orders.{f}) AS orders"
    );
    assert_eq!(report.sql.as_str(), expected);
    assert!(report.rewritten);
    assert_eq!(report.row_filtered, vec![TableRef { schema: Some("main".into()), name: "orders".into() }]);
}

#[test]
fn row_filter_values_are_bound_as_literals() {
    let p = policy(|p| p.row_filter("orders", "customer_id = {user.id} AND {user.id} IS NOT NULL"))
        .user_attribute("id", "x' OR '1'='1");
    let sql = ok("SELECT * FROM orders", Dialect::Postgres, &p);
    assert_eq!(
        sql,
        "SELECT * FROM (SELECT * FROM orders WHERE orders.customer_id = 'x'' OR ''1''=''1' AND 'x'' OR ''1''=''1' \
         IS NOT NULL) AS orders"
    );
    let p = policy(|p| p.row_filter("orders", "customer_id = {user.id}")).user_attribute("id", -7i64);
    assert!(ok("SELECT * FROM orders", Dialect::Mysql, &p).contains("orders.customer_id = (-7)"));
    let p = policy(|p| p.row_filter("orders", "customer_id = {user.id}"));
    let e = refused("SELECT * FROM orders", Dialect::Mysql, &p);
    assert_eq!(e.code, ErrorCode::InvalidConfig);
    assert!(e.message.contains("user attribute id"), "{}", e.message);
}

#[test]
fn row_filters_on_one_table_all_apply() {
    let p =
        policy(|p| p.row_filter("orders", "region = 'APAC'")?.row_filter("main.orders", "total < 100 -- small ones"));
    let sql = ok("SELECT id FROM orders o", Dialect::Sqlite, &p);
    assert_eq!(sql, "SELECT id FROM (SELECT * FROM orders WHERE (orders.region = 'APAC') AND (orders.total < 100)) o");
}

#[test]
fn row_filters_respect_schemas_and_column_lists() {
    let p = policy(|p| p.row_filter("sales.orders", "region = 'EU'"));
    // MySQL without a current schema: an unqualified reference may be sales.orders, so it is filtered.
    assert!(ok("SELECT * FROM orders", Dialect::Mysql, &p).contains("region = 'EU'"));
    assert!(ok("SELECT * FROM sales.orders", Dialect::Mysql, &p).contains("region = 'EU'"));
    assert_eq!(ok("SELECT * FROM archive.orders", Dialect::Mysql, &p), "SELECT * FROM archive.orders");
    // PostgreSQL resolves unqualified names to public: not the filtered table.
    assert_eq!(ok("SELECT * FROM orders", Dialect::Postgres, &p), "SELECT * FROM orders");
    // Column aliases stay on the derived table.
    let p = policy(|p| p.row_filter("orders", "region = 'EU'"));
    assert_eq!(
        ok("SELECT a FROM orders AS o(a, b)", Dialect::Postgres, &p),
        "SELECT a FROM (SELECT * FROM orders WHERE orders.region = 'EU') AS o(a, b)"
    );
    // A filter may use columns the user may not read; the user's query still may not.
    let p = policy(|p| p.row_filter("orders", "region = 'EU'")?.restrict_columns("orders", &["id", "total"]));
    ok("SELECT id, total FROM orders", Dialect::Sqlite, &p);
    assert_eq!(refused("SELECT region FROM orders", Dialect::Sqlite, &p).code, ErrorCode::ForbiddenColumn);
}

#[test]
fn the_recheck_refuses_an_unfiltered_reference() {
    let p = policy(|p| p.row_filter("orders", "region = 'EU'"));
    let statement =
        Parser::parse_sql(parser_dialect(Dialect::Sqlite), "SELECT * FROM orders").ok().and_then(|mut s| s.pop());
    let Some(statement) = statement else { panic!("test SQL does not parse") };
    let sealed = HashSet::new();
    let mut verifier = walk::Walker::new(Dialect::Sqlite, &p, walk::Mode::Verify(&sealed));
    let e = walk_statement(&mut verifier, &statement).err();
    assert_eq!(e.map(|e| e.code), Some(ErrorCode::ForbiddenTable));
}

#[test]
fn nesting_depth_is_bounded() {
    let shallow = format!("SELECT 1{}", " + 1".repeat(150));
    ok(&shallow, Dialect::Sqlite, &Policy::default());
    let deep = format!("SELECT 1{}", " + 1".repeat(walk::MAX_DEPTH + 10));
    let e = refused(&deep, Dialect::Sqlite, &Policy::default());
    assert_eq!(e.code, ErrorCode::ForbiddenConstruct);
    assert!(e.message.contains("nesting"), "{}", e.message);
    let nested = format!("SELECT {}1{}", "(SELECT ".repeat(12), ")".repeat(12));
    ok(&nested, Dialect::Postgres, &Policy::default());
}

#[test]
fn refusals_name_the_statement_kind() {
    let e = refused("VACUUM", Dialect::Postgres, &Policy::default());
    assert_eq!(
        e.message,
        "VACUUM statements are not allowed; only read-only queries (SELECT, WITH … SELECT, VALUES) are"
    );
    let e = refused("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", Dialect::Postgres, &Policy::default());
    assert!(e.message.starts_with("INSERT"), "{}", e.message);
}

#[test]
fn deeply_nested_input_is_refused_without_overflowing_the_stack() {
    let n = lex::MAX_TOKENS / 2 - 10;
    let cases = [
        format!("SELECT * FROM {}t{}", "(".repeat(n), ")".repeat(n)),
        format!("SELECT {}1{}", "(".repeat(n), ")".repeat(n)),
        format!("SELECT {}1", "- ".repeat(n - 10)),
        format!("SELECT {}1", "NOT ".repeat(n)),
        format!("SELECT 1{}", "::int".repeat(n / 2)),
        format!("SELECT a{}", "[1]".repeat(n / 2)),
        format!("SELECT {}1{}", "CASE WHEN 1 THEN ".repeat(n / 5), " END".repeat(n / 5)),
        format!("SELECT * FROM t{}", " JOIN t ON 1".repeat(n / 4)),
        format!("SELECT 1{}", " UNION SELECT 1".repeat(n / 3)),
        format!(
            "SELECT x FROM t WHERE x IN ({}1{})",
            "SELECT x FROM t WHERE x IN (".repeat(n / 10),
            ")".repeat(n / 10)
        ),
    ];
    for sql in &cases {
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            // Refused or accepted, but it returns.
            let _ = check(sql, dialect, &Policy::default());
        }
    }
}

#[test]
fn the_function_allow_list_is_public_for_connectors() {
    assert!(is_allowed_function(Dialect::Sqlite, "STRFTIME"));
    assert!(is_allowed_function(Dialect::Sqlite, "json_each"));
    assert!(!is_allowed_function(Dialect::Sqlite, "load_extension"));
    assert!(!is_allowed_function(Dialect::Postgres, "pg_sleep"));
}

/// The guard runs on tokio worker threads, whose stacks are 2 MiB. sqlparser's `recursive-protection` moves deep
/// parses onto the heap; the guard's own walk is bounded by `walk::MAX_DEPTH`, and the lexer's token limit bounds
/// the depth of every tree the parser builds (and so of dropping it, and of printing part of it in a message).
/// Each input here is the deepest of its kind the limits let through (or far past them); every one must come back,
/// accepted or refused, on a thread with a 2 MiB stack — in debug builds as in release.
#[test]
fn deepest_inputs_fit_a_two_mebibyte_stack() {
    let stack: usize = std::env::var("GUARD_STACK").ok().and_then(|v| v.parse().ok()).unwrap_or(2 * 1024 * 1024);
    let handle = std::thread::Builder::new().stack_size(stack).spawn(|| {
        let cases: Vec<(&str, String, Option<ErrorCode>)> = deepest_inputs();
        for (what, sql, expected) in &cases {
            for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
                eprintln!("start {what} {dialect}");
                let got = check(sql, dialect, &Policy::default()).err().map(|e| e.code);
                eprintln!("{what} {dialect}: {:?} ({} bytes)", check(sql, dialect, &Policy::default()).err().map(|e| e.message.chars().take(150).collect::<String>()), sql.len());
                if let Some(code) = expected {
                    assert_eq!(got, Some(*code), "{what} in {dialect}");
                }
            }
        }
        cases.len()
    });
    let ran = handle.and_then(|h| h.join().map_err(|_| std::io::Error::other("the guard thread panicked")));
    assert_eq!(ran.ok(), Some(deepest_inputs().len()), "the guard overflowed or panicked on a 2 MiB stack");
}

/// (what, SQL, the refusal every dialect must give, if one).
fn deepest_inputs() -> Vec<(&'static str, String, Option<ErrorCode>)> {
    let forbidden = Some(ErrorCode::ForbiddenConstruct);
    let _ = forbidden;
    // Sizes that just fit the lexer's limits: significant tokens (whitespace excluded) and bytes.
    let tokens = lex::MAX_TOKENS;
    let parens = (tokens - 2) / 2;
    // 16-byte terms: `c00000000000042 +` — 2 tokens each, so the chain reaches 64 KiB within the token limit.
    let terms = (tokens - 1) / 2;
    let chain: Vec<String> = (0..terms).map(|i| format!("c{i:014}")).collect();
    let chain = chain.join("+");
    vec![
        ("10,000 nested parentheses", format!("SELECT {}1{}", "(".repeat(10_000), ")".repeat(10_000)), None),
        ("parentheses up to the token limit", format!("SELECT {}1{}", "(".repeat(parens), ")".repeat(parens)), None),
        (
            "1,000 nested scalar subqueries",
            format!("SELECT {}1{}", "(SELECT ".repeat(1_000), ")".repeat(1_000)),
            None,
        ),
        (
            "1,000 nested derived tables",
            format!("SELECT * FROM {}t{}", "(SELECT * FROM ".repeat(1_000), ") AS d".repeat(1_000)),
            None,
        ),
        ("a 64 KiB expression chain", format!("SELECT {chain} FROM t"), None),
        ("a 64 KiB chain in a refused FROM item", format!("SELECT * FROM (t JOIN u ON {chain}) AS x"), None),
        ("a 64 KiB chain of ANDs", format!("SELECT 1 WHERE {}", vec!["1=1"; terms / 2].join(" AND ")), None),
        ("a 64 KiB unary chain", format!("SELECT {}1", "- ".repeat(tokens - 3)), None),
        ("a 64 KiB CASE nest", format!("SELECT {}1{}", "CASE WHEN 1 THEN ".repeat(tokens / 5), " END".repeat(tokens / 5)), None),
    ]
}
