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
fn operators_off_the_dialects_allow_list_are_refused_naming_the_operator() {
    // Each of these parses, and each passed the guard while only user-defined operators and `:=` were refused.
    let cases = [
        (Dialect::Sqlite, "SELECT a ^ b FROM t", "^"),
        (Dialect::Sqlite, "SELECT * FROM t WHERE name REGEXP 'a'", "REGEXP"),
        (Dialect::Sqlite, "SELECT * FROM t WHERE a ~ 'x'", "~"),
        (Dialect::Postgres, "SELECT a <-> b FROM t", "<->"),
        (Dialect::Postgres, "SELECT a <=> b FROM t", "<=>"),
        (Dialect::Postgres, "SELECT !! 5", "!!"),
        (Dialect::Postgres, "SELECT @-@ p FROM t", "@-@"),
        (Dialect::Mysql, "SELECT a @> b FROM t", "@>"),
        (Dialect::Mysql, "SELECT * FROM t WHERE a ~ ANY (SELECT b FROM u)", "~"),
        (Dialect::Mysql, "SELECT * FROM t WHERE (a, b) OVERLAPS (c, d)", "OVERLAPS"),
    ];
    for (dialect, sql, op) in cases {
        let e = refused(sql, dialect, &Policy::default());
        assert_eq!(e.code, ErrorCode::ForbiddenConstruct, "{sql}: {}", e.message);
        let named = format!("the operator {op} is not allowed in {}", dialect.display_name());
        assert!(e.message.contains(&named), "{sql}: {}", e.message);
    }
    // The same operators where they are the dialect's own.
    ok("SELECT a ^ b FROM t", Dialect::Mysql, &Policy::default());
    ok("SELECT * FROM t WHERE a ~ 'x'", Dialect::Postgres, &Policy::default());
    ok("SELECT * FROM t WHERE (a, b) OVERLAPS (c, d)", Dialect::Postgres, &Policy::default());
}

#[test]
fn an_operator_no_dialect_lists_is_refused_by_the_walk() {
    use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};
    // No dialect of ours parses DuckDB's `//` or Hive's `!`: they stand for operators a later sqlparser may add.
    let one = || Box::new(Expr::value(Value::Number("1".to_string(), false)));
    let binary = Expr::BinaryOp { left: one(), op: BinaryOperator::DuckIntegerDivide, right: one() };
    let unary = Expr::UnaryOp { op: UnaryOperator::BangNot, expr: one() };
    let nested = Expr::Nested(Box::new(Expr::BinaryOp {
        left: one(),
        op: BinaryOperator::Plus,
        right: Box::new(unary.clone()),
    }));
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
        let policy = Policy::default();
        for expr in [&binary, &unary, &nested] {
            let mut walker = walk::Walker::new(dialect, &policy, walk::Mode::Check);
            let e = walker.walk_expr(expr).err();
            assert_eq!(e.as_ref().map(|e| e.code), Some(ErrorCode::ForbiddenConstruct), "{expr} in {dialect}");
            assert!(e.is_some_and(|e| e.message.contains("the operator ")), "{expr} in {dialect}");
        }
        let mut walker = walk::Walker::new(dialect, &policy, walk::Mode::Check);
        let plus = Expr::BinaryOp { left: one(), op: BinaryOperator::Plus, right: one() };
        assert_eq!(walker.walk_expr(&plus).map_err(|e| e.message), Ok(()), "{dialect}");
    }
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

/// What a deep input must come to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Accepted,
    Refused(ErrorCode),
}

/// The deepest inputs of each kind the guard's limits let through, and some far past them: (what, SQL, policy,
/// outcome in every dialect). The token limit (8192) bounds every tree the parser builds, the parser's recursion
/// limit bounds nesting through parentheses, and `walk::MAX_DEPTH` bounds the walk.
fn deepest_inputs() -> Vec<(&'static str, String, Policy, Outcome)> {
    use Outcome::{Accepted, Refused};
    let default = Policy::default();
    let filtered = policy(|p| p.row_filter("t", "region = 'APAC'"));
    let tokens = lex::MAX_TOKENS;
    // `c00000000000042+`: 16 bytes and 2 tokens a term, so the longest chain is 64 KiB.
    let terms = |n: usize| (0..n).map(|i| format!("c{i:014}")).collect::<Vec<_>>().join("+");
    let longest = terms((tokens - 1) / 2);
    // The chain of `a+a+…` whose walk reaches exactly MAX_DEPTH (query, body, then one level per operator).
    let deepest = |n: usize| vec!["a"; n].join("+");
    let deep_ok = walk::MAX_DEPTH - 2;
    let (forbidden, parse) = (Refused(ErrorCode::ForbiddenConstruct), Refused(ErrorCode::ParseError));
    let p = |depth: usize| "(".repeat(depth);
    let c = |depth: usize| ")".repeat(depth);
    vec![
        ("10,000 nested parentheses", format!("SELECT {}1{}", p(10_000), c(10_000)), default.clone(), forbidden),
        ("parentheses up to the token limit", format!("SELECT {}1{}", p(4_095), c(4_095)), default.clone(), parse),
        (
            "1,000 nested scalar subqueries",
            format!("SELECT {}1{}", "(SELECT ".repeat(1_000), c(1_000)),
            default.clone(),
            parse,
        ),
        (
            "1,000 nested derived tables",
            format!("SELECT * FROM {}t{}", "(SELECT * FROM ".repeat(1_000), ") AS d".repeat(1_000)),
            default.clone(),
            parse,
        ),
        (
            "1,360 nested joins",
            format!("SELECT * FROM {}t{}", p(1_360), " JOIN t ON 1)".repeat(1_360)),
            default.clone(),
            parse,
        ),
        ("a 64 KiB expression chain", format!("SELECT {longest}"), default.clone(), forbidden),
        ("a 64 KiB chain of casts", format!("SELECT a{}", "::int".repeat(tokens / 2 - 2)), default.clone(), forbidden),
        (
            "a 64 KiB chain of unions",
            format!("SELECT 1{}", " UNION SELECT 1".repeat(tokens / 3 - 1)),
            default.clone(),
            forbidden,
        ),
        (
            "a long chain printed in a refusal",
            format!("SELECT * FROM (t JOIN u ON {}) AS x", terms(tokens / 2 - 8)),
            default.clone(),
            forbidden,
        ),
        ("the deepest accepted chain", format!("SELECT {} FROM t", deepest(deep_ok)), default.clone(), Accepted),
        ("one level deeper", format!("SELECT {} FROM t", deepest(deep_ok + 1)), default, forbidden),
        ("the deepest chain, row-filtered", format!("SELECT {} FROM t", deepest(deep_ok - 10)), filtered, Accepted),
    ]
}

/// Checks every deepest input in every dialect on a new thread with a stack of `stack` bytes; `None` when that
/// thread panicked (an overflow would abort the whole test process instead).
fn check_deepest_inputs_on(stack: usize) -> Option<usize> {
    let thread = std::thread::Builder::new().stack_size(stack).spawn(|| {
        let cases = deepest_inputs();
        for (what, sql, policy, expected) in &cases {
            assert!(sql.len() <= lex::MAX_SQL_BYTES, "{what}: {} bytes", sql.len());
            for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
                let got = match check(sql, dialect, policy) {
                    Ok(_) => Outcome::Accepted,
                    Err(e) => Outcome::Refused(e.code),
                };
                assert_eq!(got, *expected, "{what} in {dialect}");
            }
        }
        cases.len()
    });
    thread.ok()?.join().ok()
}

/// The guard runs on tokio worker threads, whose stacks are 2 MiB. sqlparser's `recursive-protection` keeps deep
/// parses (and printing deep expressions) off the end of the stack; the walk does the same for itself, and a check
/// starts only with 1 MiB of stack to spare (for dropping the tree). Every deepest input comes back — accepted or
/// refused — on a 2 MiB stack, in debug builds (where a walk level takes about 6 KiB) as in release.
#[test]
fn deepest_inputs_fit_a_two_mebibyte_stack() {
    assert_eq!(check_deepest_inputs_on(2 * 1024 * 1024), Some(deepest_inputs().len()));
}

/// The same on a stack far too small to hold the walk: the guard moves to stack segments of its own.
#[test]
fn deepest_inputs_fit_even_a_small_stack() {
    assert_eq!(check_deepest_inputs_on(128 * 1024), Some(deepest_inputs().len()));
}
