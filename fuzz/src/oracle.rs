//! An oracle independent of the guard: what must hold of any SQL text the guard accepted, judged only by
//! re-parsing it with sqlparser in the same dialect and walking the tree.
//!
//! [`audit`] returns every violation it finds; an empty list means the text is exactly one read-only query:
//! - it parses, every token is consumed, into exactly one `Statement::Query`;
//! - the visitor sees no statement but that one (no DML hidden in a CTE or a query body);
//! - at every query depth: no `SetExpr::{Insert, Update, Delete, Merge}` (set-operation arms included), no
//!   `SELECT … INTO`, no locking clause;
//! - no call (scalar or table-valued) of a function from [`FORBIDDEN_FUNCTIONS`], no system catalog read;
//! - for each row filter: every reference to the filtered table is the only `FROM` item of a
//!   `(SELECT * FROM <table> WHERE <table>.<column> = <value>)` subquery.
//!
//! The oracle errs toward reporting: a name it cannot tell apart from a forbidden one (a CTE aside) is reported.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datagenie_core::Dialect;
use sqlparser::ast::{
    BinaryOperator, Expr, Ident, ObjectName, ObjectNamePart, Query, Select, SetExpr, Statement, TableFactor, Value,
    Visit, Visitor,
};
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::policies::{Filter, Literal};

/// Functions with side effects or access outside the query (files, sleeps, locks, sequences, config, admin,
/// extensions, dblink, large objects, query-executing helpers) that the guard's allow-lists must never let through.
pub const FORBIDDEN_FUNCTIONS: &[&str] = &[
    "benchmark",
    "dblink",
    "dblink_exec",
    "edit",
    "fts3_tokenizer",
    "get_lock",
    "load_extension",
    "load_file",
    "lo_export",
    "lo_import",
    "nextval",
    "pg_advisory_lock",
    "pg_cancel_backend",
    "pg_ls_dir",
    "pg_read_binary_file",
    "pg_read_file",
    "pg_reload_conf",
    "pg_sleep",
    "pg_terminate_backend",
    "query_to_xml",
    "randomblob",
    "readfile",
    "release_lock",
    "set_config",
    "setval",
    "sleep",
    "sys_exec",
    "writefile",
];

/// sqlparser's dialect for ours.
pub fn parser_dialect(dialect: Dialect) -> &'static dyn sqlparser::dialect::Dialect {
    static SQLITE: SQLiteDialect = SQLiteDialect {};
    static POSTGRES: PostgreSqlDialect = PostgreSqlDialect {};
    static MYSQL: MySqlDialect = MySqlDialect {};
    match dialect {
        Dialect::Sqlite => &SQLITE,
        Dialect::Postgres => &POSTGRES,
        Dialect::Mysql => &MYSQL,
    }
}

/// Every violation of the read-only invariants in `sql` (see the module docs), in `dialect`, given the row
/// `filters` the policy held. Empty when the text is one permitted read-only query.
pub fn audit(sql: &str, dialect: Dialect, filters: &[Filter]) -> Vec<String> {
    let statements = match parse_all(sql, dialect) {
        Ok(statements) => statements,
        Err(e) => return vec![format!("does not re-parse: {e}")],
    };
    let mut problems = Vec::new();
    if !matches!(statements.as_slice(), [Statement::Query(_)]) {
        problems.push(format!("{} statements, expected one query", statements.len()));
    }
    let mut walker = Walker::new(dialect, filters);
    let _ = statements.visit(&mut walker);
    if walker.statements != 1 {
        problems.push(format!("the visitor saw {} statements", walker.statements));
    }
    problems.append(&mut walker.problems);
    problems.extend(walker.unfiltered_reads());
    problems
}

/// Parses `sql` into statements, requiring every token to be consumed (sqlparser may stop early, e.g. at `END`).
fn parse_all(sql: &str, dialect: Dialect) -> Result<Vec<Statement>, String> {
    let mut parser = Parser::new(parser_dialect(dialect)).try_with_sql(sql).map_err(|e| e.to_string())?;
    let statements = parser.parse_statements().map_err(|e| e.to_string())?;
    match parser.peek_token().token {
        Token::EOF => Ok(statements),
        other => Err(format!("unconsumed token {other}")),
    }
}

/// One pass over the tree collecting violations and the facts the row-filter check needs.
struct Walker<'f> {
    dialect: Dialect,
    filters: &'f [Filter],
    statements: usize,
    problems: Vec<String>,
    /// Lower-cased names of every CTE anywhere in the query.
    cte_names: HashSet<String>,
    /// Addresses of table factors that are the sole `FROM` item of a filtered subquery of the right shape.
    sealed: HashSet<usize>,
    /// `(address, table)` of every plain reference to a filtered table.
    filtered_refs: Vec<(usize, &'f str)>,
}

impl<'f> Walker<'f> {
    fn new(dialect: Dialect, filters: &'f [Filter]) -> Self {
        Walker {
            dialect,
            filters,
            statements: 0,
            problems: Vec::new(),
            cte_names: HashSet::new(),
            sealed: HashSet::new(),
            filtered_refs: Vec::new(),
        }
    }

    /// References to a filtered table outside a filtered subquery. A CTE with the table's name makes the check
    /// undecidable without scoping, so it is skipped for that table.
    fn unfiltered_reads(&self) -> Vec<String> {
        self.filtered_refs
            .iter()
            .filter(|(addr, table)| !self.sealed.contains(addr) && !self.cte_names.contains(*table))
            .map(|(_, table)| format!("unfiltered read of row-filtered table {table}"))
            .collect()
    }

    /// The filter whose table `name` denotes (schema ignored: a policy table without schema matches any).
    fn filter_for(&self, name: &ObjectName) -> Option<&'f Filter> {
        let last = last_ident(name)?;
        self.filters.iter().find(|f| names_table(self.dialect, last, f.table))
    }

    /// Records a `(SELECT * FROM t WHERE t.col = value)` subquery's table factor as sealed.
    fn note_filtered_subquery(&mut self, subquery: &Query) {
        let SetExpr::Select(select) = subquery.body.as_ref() else { return };
        let [from] = select.from.as_slice() else { return };
        if !from.joins.is_empty() || subquery.with.is_some() {
            return;
        }
        let TableFactor::Table { name, alias: None, args: None, .. } = &from.relation else { return };
        let (Some(filter), Some(last), Some(selection)) = (self.filter_for(name), last_ident(name), &select.selection)
        else {
            return;
        };
        if is_filter_expr(selection, last, filter) {
            self.sealed.insert(&from.relation as *const TableFactor as usize);
        }
    }

    fn check_set_expr(&mut self, body: &SetExpr) {
        match body {
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
                self.problems.push("data-modifying query body".into());
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.check_set_expr(left);
                self.check_set_expr(right);
            }
            SetExpr::Select(select) => self.check_select(select),
            // nested queries are visited on their own; VALUES and TABLE hold no statement
            _ => {}
        }
    }

    fn check_select(&mut self, select: &Select) {
        if select.into.is_some() {
            self.problems.push("SELECT … INTO".into());
        }
    }

    fn check_name(&mut self, parts: &[String], what: &str) {
        let Some(last) = parts.last() else { return };
        if parts.len() == 1 && self.cte_names.contains(last) {
            return;
        }
        if FORBIDDEN_FUNCTIONS.contains(&last.as_str()) {
            self.problems.push(format!("forbidden function {last} as {what}"));
        }
        if is_catalog(self.dialect, parts) {
            self.problems.push(format!("system catalog {} read", parts.join(".")));
        }
    }
}

impl Visitor for Walker<'_> {
    type Break = ();

    fn pre_visit_statement(&mut self, _: &Statement) -> ControlFlow<()> {
        self.statements += 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if !query.locks.is_empty() {
            self.problems.push("locking clause".into());
        }
        if let Some(with) = &query.with {
            self.cte_names.extend(with.cte_tables.iter().map(|c| c.alias.name.value.to_lowercase()));
        }
        self.check_set_expr(&query.body);
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        self.check_select(select);
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, name: &ObjectName) -> ControlFlow<()> {
        let parts = lower_parts(name);
        self.check_name(&parts, "a relation");
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        match factor {
            TableFactor::Derived { subquery, .. } => self.note_filtered_subquery(subquery),
            TableFactor::Table { name, args: None, .. } => {
                if let Some(filter) = self.filter_for(name) {
                    self.filtered_refs.push((factor as *const TableFactor as usize, filter.table));
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr {
            let parts = lower_parts(&f.name);
            if let Some(last) = parts.last().filter(|l| FORBIDDEN_FUNCTIONS.contains(&l.as_str())) {
                self.problems.push(format!("forbidden function {last}"));
            }
        }
        ControlFlow::Continue(())
    }
}

fn lower_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.to_lowercase(),
            ObjectNamePart::Function(f) => f.name.value.to_lowercase(),
        })
        .collect()
}

fn last_ident(name: &ObjectName) -> Option<&Ident> {
    match name.0.last()? {
        ObjectNamePart::Identifier(i) => Some(i),
        ObjectNamePart::Function(_) => None,
    }
}

/// True when `ident` names `table` (lower-case ASCII) by the dialect's rules: PostgreSQL folds unquoted names to
/// lower case and compares quoted ones exactly; SQLite and MySQL compare case-insensitively.
fn names_table(dialect: Dialect, ident: &Ident, table: &str) -> bool {
    match (dialect, ident.quote_style) {
        (Dialect::Postgres, Some(_)) => ident.value == table,
        _ => ident.value.eq_ignore_ascii_case(table),
    }
}

/// True when `expr` is `<qualifier>.<column> = <value>` (possibly parenthesised) with the filter's column and bound
/// literal, and the qualifier is the filtered table's own (unaliased) name as written.
fn is_filter_expr(expr: &Expr, qualifier: &Ident, filter: &Filter) -> bool {
    let expr = unnest(expr);
    let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = expr else { return false };
    let Expr::CompoundIdentifier(parts) = unnest(left) else { return false };
    let [q, column] = parts.as_slice() else { return false };
    let same_qualifier = q.value == qualifier.value && q.quote_style == qualifier.quote_style;
    let same_column = column.quote_style.is_none() && column.value.eq_ignore_ascii_case(filter.column);
    let Expr::Value(v) = unnest(right) else { return false };
    let same_value = match (&v.value, filter.value) {
        (Value::Number(n, _), Literal::Integer(i)) => *n == i.to_string(),
        (Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s), Literal::Text(t)) => s == t,
        _ => false,
    };
    same_qualifier && same_column && same_value
}

fn unnest(mut expr: &Expr) -> &Expr {
    while let Expr::Nested(inner) = expr {
        expr = inner;
    }
    expr
}

/// True when a relation name (parts lower-cased) is one of the dialect's system catalogs.
fn is_catalog(dialect: Dialect, parts: &[String]) -> bool {
    let Some((last, qualifiers)) = parts.split_last() else { return false };
    match dialect {
        Dialect::Sqlite => last.starts_with("sqlite_") || last.starts_with("pragma_") || last == "dbstat",
        Dialect::Postgres => {
            last.starts_with("pg_") || qualifiers.iter().any(|q| q.starts_with("pg_") || q == "information_schema")
        }
        Dialect::Mysql => qualifiers
            .iter()
            .any(|q| ["mysql", "information_schema", "performance_schema", "sys"].contains(&q.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policies::Variant;

    const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

    fn clean(sql: &str, dialect: Dialect, filters: &[Filter]) -> bool {
        audit(sql, dialect, filters).is_empty()
    }

    #[test]
    fn plain_queries_pass() {
        for d in ALL {
            for sql in [
                "SELECT 1",
                "WITH x AS (SELECT id FROM orders) SELECT * FROM x UNION SELECT 2",
                "SELECT * FROM (SELECT a FROM t) AS s WHERE a IN (SELECT b FROM u)",
                "SELECT count(*) FROM t",
            ] {
                assert_eq!(audit(sql, d, &[]), Vec::<String>::new(), "{d}: {sql}");
            }
        }
    }

    #[test]
    fn hidden_writes_and_locks_are_reported() {
        let bad = [
            "WITH gone AS (DELETE FROM users RETURNING *) SELECT * FROM gone",
            "SELECT * FROM t FOR UPDATE",
            "SELECT * FROM (SELECT * FROM t FOR UPDATE) AS s",
            "SELECT * INTO copy FROM t",
            "SELECT 1; SELECT 2",
            "DELETE FROM t",
            "SELECT 1 END DELETE FROM t",
            "SELECT 1 FROM",
        ];
        for sql in bad {
            assert!(!clean(sql, Dialect::Postgres, &[]), "{sql}");
        }
        assert!(!clean("SELECT 1 UNION SELECT 2 FOR UPDATE", Dialect::Mysql, &[]));
    }

    #[test]
    fn forbidden_functions_and_catalogs_are_reported_unless_a_cte_shadows_them() {
        assert!(!clean("SELECT pg_catalog.pg_sleep(1)", Dialect::Postgres, &[]));
        assert!(!clean("SELECT * FROM pg_read_file('/etc/passwd')", Dialect::Postgres, &[]));
        assert!(!clean("SELECT * FROM pg_shadow", Dialect::Postgres, &[]));
        assert!(!clean("SELECT * FROM \"information_schema\".tables", Dialect::Postgres, &[]));
        assert!(!clean("SELECT * FROM sqlite_master", Dialect::Sqlite, &[]));
        assert!(!clean("SELECT * FROM mysql.user", Dialect::Mysql, &[]));
        assert!(!clean("SELECT SLEEP(1)", Dialect::Mysql, &[]));
        assert!(clean("WITH pg_shadow AS (SELECT 1 AS x) SELECT * FROM pg_shadow", Dialect::Postgres, &[]));
        assert!(clean("SELECT * FROM mysql_user", Dialect::Mysql, &[]));
    }

    #[test]
    fn row_filtered_tables_must_be_read_through_the_filter() {
        let filters = Variant::AllowListRowFilter.filters();
        let ok = [
            "SELECT * FROM (SELECT * FROM orders WHERE orders.customer_id = 42) AS orders",
            "SELECT o.id FROM (SELECT * FROM main.orders WHERE orders.customer_id = 42) AS o JOIN t ON t.id = o.id",
            "SELECT * FROM (SELECT * FROM ORDERS WHERE ORDERS.customer_id = (42)) AS x",
            "WITH orders AS (SELECT 1) SELECT * FROM orders",
        ];
        for sql in ok {
            assert_eq!(audit(sql, Dialect::Sqlite, filters), Vec::<String>::new(), "{sql}");
        }
        let bad = [
            "SELECT * FROM orders",
            "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM Orders)",
            "SELECT * FROM (SELECT * FROM orders WHERE orders.customer_id = 43) AS orders",
            "SELECT * FROM (SELECT * FROM orders WHERE orders.customer_id = 42 OR 1 = 1) AS orders",
            "SELECT * FROM (SELECT * FROM orders AS o WHERE orders.customer_id = 42) AS orders",
            "SELECT * FROM (SELECT * FROM orders, t WHERE orders.customer_id = 42) AS orders",
            "SELECT * FROM (SELECT * FROM orders WHERE orders.customer_id = 42 UNION SELECT * FROM orders) AS x",
        ];
        for sql in bad {
            assert!(!clean(sql, Dialect::Sqlite, filters), "{sql}");
        }
        // PostgreSQL: a quoted name is compared exactly, so "Orders" is another table.
        assert!(clean("SELECT * FROM \"Orders\"", Dialect::Postgres, filters));
        assert!(!clean("SELECT * FROM ORDERS", Dialect::Postgres, filters));
    }

    #[test]
    fn text_filters_compare_the_unescaped_literal() {
        let filters = Variant::RowFilter.filters();
        let pg = "SELECT * FROM (SELECT * FROM customers WHERE customers.region = E'AP''AC\\\\') AS customers";
        assert_eq!(audit(pg, Dialect::Postgres, filters), Vec::<String>::new());
        let my = "SELECT * FROM (SELECT * FROM customers WHERE customers.region = 'AP''AC\\\\') AS customers";
        assert_eq!(audit(my, Dialect::Mysql, filters), Vec::<String>::new());
        let wrong = "SELECT * FROM (SELECT * FROM customers WHERE customers.region = 'AP''AC') AS customers";
        assert!(!clean(wrong, Dialect::Sqlite, filters));
    }
}
