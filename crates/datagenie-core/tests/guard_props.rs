//! Property tests of the guard: arbitrary text, SQL-token soup and mutations of accepted queries never make it panic,
//! and whatever it accepts re-parses as exactly one read-only query with no forbidden function, no system catalog,
//! no locking or INTO clause, no data-modifying part — and, under a row filter, no unfiltered read of the table.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datagenie_core::Dialect;
use datagenie_core::guard::{self, Policy};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use sqlparser::ast::{
    Expr, ObjectName, ObjectNamePart, Query, Select, SetExpr, Statement, TableFactor, Visit, Visitor,
};
use sqlparser::parser::Parser;

const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

/// Pieces of SQL, attack fragments included, that token soups and mutations are built from.
const VOCAB: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "WITH",
    "AS",
    "UNION",
    "ALL",
    "JOIN",
    "ON",
    "LATERAL",
    "ORDER BY",
    "GROUP BY",
    "LIMIT",
    "INTO",
    "OUTFILE",
    "FOR UPDATE",
    "LOCK IN SHARE MODE",
    "DELETE",
    "INSERT",
    "UPDATE",
    "DROP TABLE",
    "ATTACH",
    "PRAGMA",
    "COPY",
    "CALL",
    "DO",
    "SET",
    "EXPLAIN",
    "VALUES",
    "RETURNING",
    "END",
    "BEGIN",
    "COMMIT",
    "ONLY",
    "orders",
    "customers",
    "t",
    "x",
    "\"orders\"",
    "`orders`",
    "[orders]",
    "main.orders",
    "public.orders",
    "sqlite_master",
    "pg_shadow",
    "pg_catalog.pg_authid",
    "mysql.user",
    "information_schema.processlist",
    "pg_sleep(1)",
    "sleep(1)",
    "load_extension('x')",
    "readfile('x')",
    "pg_read_file('x')",
    "benchmark(1,1)",
    "randomblob(9)",
    "count(*)",
    "lower(x)",
    "*",
    "1",
    "'a'",
    "'",
    "\"",
    "`",
    "\\",
    "\\'",
    "''",
    ";",
    ",",
    "(",
    ")",
    ".",
    "=",
    "+",
    "-",
    "--",
    "-- c\n",
    "/*",
    "*/",
    "/*!",
    "/*! sleep(1) */",
    "/*M!",
    "#",
    "$$",
    "$1",
    "?",
    "@x",
    "@@version",
    ":=",
    "U&",
    "E'\\''",
    "\n",
    " ",
    "\u{a0}",
    "::",
    "[",
    "]",
    "{",
    "}",
];

/// Accepted queries that mutations start from.
const SEEDS: &[&str] = &[
    "SELECT id, total FROM orders WHERE total > 10 ORDER BY id LIMIT 5",
    "SELECT c.name, count(*) FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.name",
    "WITH big AS (SELECT * FROM orders WHERE total > 100) SELECT * FROM big",
    "SELECT 'a;b', \"x\" FROM t WHERE x IN (SELECT x FROM orders)",
    "SELECT x FROM t UNION ALL SELECT total FROM orders",
    "SELECT lower(name) FROM customers WHERE EXISTS (SELECT 1 FROM orders WHERE orders.customer_id = customers.id)",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r",
    "SELECT * FROM (SELECT id FROM orders) AS s -- trailing",
];

const FORBIDDEN_FUNCTIONS: &[&str] =
    &["pg_sleep", "sleep", "load_extension", "readfile", "pg_read_file", "benchmark", "randomblob"];
/// True when a relation name is one of the dialect's system catalogs (parts lower-cased).
fn is_catalog(dialect: Dialect, parts: &[String]) -> bool {
    let last = parts.last().map(String::as_str).unwrap_or_default();
    let first = if parts.len() > 1 { parts.first().map(String::as_str) } else { None };
    match dialect {
        Dialect::Sqlite => last.starts_with("sqlite_") || last.starts_with("pragma_") || last == "dbstat",
        Dialect::Postgres => {
            last.starts_with("pg_") || first.is_some_and(|s| s.starts_with("pg_") || s == "information_schema")
        }
        Dialect::Mysql => {
            first.is_some_and(|s| ["mysql", "information_schema", "performance_schema", "sys"].contains(&s))
        }
    }
}

fn sqlparser_dialect(dialect: Dialect) -> Box<dyn sqlparser::dialect::Dialect> {
    match dialect {
        Dialect::Sqlite => Box::new(sqlparser::dialect::SQLiteDialect {}),
        Dialect::Postgres => Box::new(sqlparser::dialect::PostgreSqlDialect {}),
        Dialect::Mysql => Box::new(sqlparser::dialect::MySqlDialect {}),
    }
}

fn last_name(name: &ObjectName) -> String {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(i)) => i.value.to_lowercase(),
        _ => String::new(),
    }
}

/// Collects everything the invariants look at in one pass.
#[derive(Default)]
struct Audit {
    statements: usize,
    problems: Vec<String>,
    cte_names: HashSet<String>,
    relations: Vec<Vec<String>>,
    /// Addresses of `orders` table factors that sit inside a filtered subquery the guard produced.
    sealed_inner: HashSet<usize>,
    /// Addresses of every plain `orders` table factor.
    orders_refs: Vec<usize>,
}

impl Visitor for Audit {
    type Break = ();

    fn pre_visit_statement(&mut self, _: &Statement) -> ControlFlow<()> {
        self.statements += 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if !q.locks.is_empty() {
            self.problems.push("locking clause".into());
        }
        if matches!(*q.body, SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_)) {
            self.problems.push("data-modifying body".into());
        }
        if let Some(with) = &q.with {
            self.cte_names.extend(with.cte_tables.iter().map(|c| c.alias.name.value.to_lowercase()));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
        if s.into.is_some() {
            self.problems.push("SELECT INTO".into());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, name: &ObjectName) -> ControlFlow<()> {
        let parts = name
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => i.value.to_lowercase(),
                ObjectNamePart::Function(f) => f.name.value.to_lowercase(),
            })
            .collect();
        self.relations.push(parts);
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<()> {
        match tf {
            TableFactor::Derived { subquery, .. } => {
                if let SetExpr::Select(select) = subquery.body.as_ref() {
                    let filtered = select.selection.as_ref().is_some_and(|s| s.to_string().contains("region = 'APAC'"));
                    if let ([from], true) = (select.from.as_slice(), filtered) {
                        self.sealed_inner.insert(&from.relation as *const TableFactor as usize);
                    }
                }
            }
            TableFactor::Table { name, args: None, .. } if last_name(name) == "orders" => {
                self.orders_refs.push(tf as *const TableFactor as usize);
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            let name = last_name(&f.name);
            if FORBIDDEN_FUNCTIONS.contains(&name.as_str()) {
                self.problems.push(format!("function {name}"));
            }
        }
        ControlFlow::Continue(())
    }
}

/// Checks `sql`; when accepted, the approved text must satisfy every invariant.
fn check_invariants(sql: &str, dialect: Dialect, policy: &Policy, filtered: bool) -> Result<(), TestCaseError> {
    let Ok(guarded) = guard::check(sql, dialect, policy) else { return Ok(()) };
    let text = guarded.as_str();
    let d = sqlparser_dialect(dialect);
    let statements = Parser::parse_sql(d.as_ref(), text)
        .map_err(|e| TestCaseError::fail(format!("accepted text does not re-parse ({e}): {text:?}")))?;
    prop_assert!(matches!(statements.as_slice(), [Statement::Query(_)]), "accepted text is not one query: {text:?}");
    let mut audit = Audit::default();
    let _ = statements.visit(&mut audit);
    prop_assert_eq!(audit.statements, 1, "nested statement in {:?}", text);
    prop_assert!(audit.problems.is_empty(), "{:?} in accepted {:?}", audit.problems, text);
    for parts in &audit.relations {
        let cte = parts.len() == 1 && audit.cte_names.contains(&parts[0]);
        prop_assert!(!is_catalog(dialect, parts) || cte, "catalog {:?} read by accepted {:?}", parts, text);
    }
    if filtered && !audit.cte_names.contains("orders") {
        for r in &audit.orders_refs {
            prop_assert!(audit.sealed_inner.contains(r), "unfiltered orders in accepted {:?} (from {:?})", text, sql);
        }
    }
    Ok(())
}

fn policies() -> Vec<(Policy, bool)> {
    let filtered = Policy::default().row_filter("orders", "region = 'APAC'").ok();
    let restricted = Policy::default().restrict_columns("customers", &["id", "name"]).ok();
    let listed = Policy::default().allow_tables_spec("orders, t").ok();
    let mut out = vec![(Policy::default(), false)];
    out.extend(filtered.map(|p| (p, true)));
    out.extend(restricted.map(|p| (p, false)));
    out.extend(listed.map(|p| (p, false)));
    out
}

fn check_everywhere(sql: &str) -> Result<(), TestCaseError> {
    for (policy, filtered) in policies() {
        for dialect in DIALECTS {
            check_invariants(sql, dialect, &policy, filtered)?;
        }
    }
    Ok(())
}

/// Inserts `piece` at the char boundary nearest `at`, or deletes/duplicates a range.
fn mutate(sql: &str, ops: &[(usize, usize, u8)]) -> String {
    let mut s = sql.to_string();
    for &(at, piece, kind) in ops {
        let boundaries: Vec<usize> = s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len())).collect();
        let pos = boundaries[at % boundaries.len()];
        let end = boundaries[(at % boundaries.len() + 1 + piece % 7).min(boundaries.len() - 1)];
        match kind % 4 {
            0 | 1 => s.insert_str(pos, VOCAB[piece % VOCAB.len()]),
            2 => s.replace_range(pos..end, ""),
            _ => {
                let chunk = s[pos..end].to_string();
                s.insert_str(pos, &chunk);
            }
        }
    }
    s
}

proptest! {
    // PROPTEST_CASES=100000 runs a longer search.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1500),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_is_handled(sql in ".{0,200}") {
        check_everywhere(&sql)?;
    }

    #[test]
    fn token_soup_is_handled(pieces in prop::collection::vec((0..VOCAB.len(), 0u8..4), 1..24)) {
        let sql: String = pieces
            .iter()
            .map(|&(i, sep)| format!("{}{}", VOCAB[i], [" ", "", "\n", "  "][sep as usize]))
            .collect();
        check_everywhere(&sql)?;
        check_everywhere(&format!("SELECT {sql}"))?;
    }

    #[test]
    fn mutated_queries_are_handled(
        seed in 0..SEEDS.len(),
        ops in prop::collection::vec((0usize..400, 0usize..1000, 0u8..4), 1..5),
    ) {
        check_everywhere(&mutate(SEEDS[seed], &ops))?;
    }
}

#[test]
fn seeds_are_accepted_in_every_dialect() {
    for seed in SEEDS {
        for dialect in DIALECTS {
            let result = guard::check(seed, dialect, &Policy::default());
            assert!(result.is_ok(), "{dialect}: {seed}: {:?}", result.err());
        }
    }
}
