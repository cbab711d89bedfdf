//! The SQL guard: the only code that constructs [`GuardedSql`], the only type a connector executes.
//!
//! [`check`] accepts exactly one read-only query that the [`Policy`] permits, in the connection's dialect, and
//! refuses everything else with a stable [`ErrorCode`] and a message naming the construct. It fails closed: what it
//! does not understand, it refuses. The stages, each in its own module:
//!
//! 1. `lex` — tokenize with the dialect's rules; refuse executable comments, stacked statements, mode-dependent
//!    string literals, oversized input; find the approved text (trailing `;` and comments dropped).
//! 2. parse with sqlparser in the dialect; every token must be consumed (sqlparser stops early at some keywords,
//!    e.g. `END`, which would let unparsed text reach the engine).
//! 3. `walk` — the allow-list walk over the whole tree: statement kind, data-modifying bodies, `INTO`, locking,
//!    functions (`functions`), operators (`operators`), tables and catalogs (`catalogs`, `policy`), columns.
//! 4. `rls` — when the policy filters rows of a referenced table, splice filtered subqueries into the approved
//!    text in place of those table names (nothing else changes; an AST is never printed back), then lex, parse and
//!    walk that text again (without rewriting) before returning it.
//!
//! Refused by default ([`Policy::default`]): every statement but a query; stacked statements; data-modifying CTEs
//! and bodies; `SELECT … INTO`, `INTO OUTFILE/DUMPFILE`; `FOR UPDATE/SHARE`, `LOCK IN SHARE MODE`; any function
//! not on the dialect's allow-list (so file access, sleeps, locks, sequences, config, admin, extensions, dblink,
//! large objects, query-executing helpers); every system catalog (`sqlite_*`, `pragma_*`, `pg_*`,
//! `information_schema`, `mysql.*`, `performance_schema`, `sys`); MySQL executable comments, optimizer hints and
//! session variables; parameter placeholders; any operator not on the dialect's allow-list (so user-defined
//! operators and MySQL's `:=`); string literals whose extent depends on a server mode; Unicode-escaped identifiers;
//! non-ASCII whitespace and NUL; more than 64 KiB, 8192 tokens or 200 levels of nesting; and whatever does not
//! parse.
//!
//! Invariants: a [`GuardedSql`] holds either the exact approved input text or the guard's own re-checked rewrite;
//! no input makes the guard panic or overflow the stack of the thread that runs it (sqlparser's
//! `recursive-protection` and the walk move deep recursion onto heap-allocated stack segments, and a check starts
//! with stack to spare for dropping the deepest tree); the guard performs no IO.
//!
//! Cost: a check is one tokenization (the parser reuses the lexer's tokens), one parse, one walk that allocates
//! little (names are compared in place, relations are tracked only when column checks need them); about 8% above
//! sqlparser's own `parse_sql` on typical analytic queries (`cargo bench -p datagenie-core --bench guard`).
//!
//! Engine settings the guard relies on, which connectors pin: PostgreSQL `standard_conforming_strings = on` and a
//! `search_path` that starts with `pg_catalog`; MySQL `sql_mode` without `ANSI_QUOTES`/`NO_BACKSLASH_ESCAPES` and a
//! default database that is not a system schema. The guard refuses the constructs whose meaning would change
//! otherwise, as a second line.

mod catalogs;
mod functions;
mod lex;
mod operators;
mod policy;
mod rls;
mod walk;

use std::fmt;

use sqlparser::ast::{Query, Statement};
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::{Parser, ParserOptions};
use sqlparser::tokenizer::Token;

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode};

pub use policy::{AttrValue, CatalogAccess, Policy, TableName};
pub(crate) use rls::LineIndex;
pub use rls::literal;

/// SQL the guard accepted. The field is private: only [`check`] makes one, and connectors accept nothing else.
/// The text is exactly what the guard approved (or the guard's own rewrite, re-checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardedSql {
    sql: String,
    dialect: Dialect,
}

impl GuardedSql {
    /// The SQL to execute: one query, no trailing `;`.
    pub fn as_str(&self) -> &str {
        &self.sql
    }
    /// The dialect it was checked in.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
}

/// A base table (or view) a query reads, as the guard resolved it: folded names, and the schema an unqualified
/// name resolves to (`main`, `public`, the policy's current schema; `None` for MySQL's connection database).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct TableRef {
    pub schema: Option<String>,
    pub name: String,
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Everything [`check_report`] learned about an accepted query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// What to execute.
    pub sql: GuardedSql,
    /// True when row filters rewrote the query (then `sql` is the guard's re-checked rewrite).
    pub rewritten: bool,
    /// Base tables and views read, sorted, without CTEs and derived tables.
    pub tables: Vec<TableRef>,
    /// Functions called (lower-case, unqualified), sorted.
    pub functions: Vec<String>,
    /// Tables whose rows were filtered, sorted.
    pub row_filtered: Vec<TableRef>,
}

/// Checks `sql` in `dialect` under `policy`; on success returns the SQL to execute.
pub fn check(sql: &str, dialect: Dialect, policy: &Policy) -> Result<GuardedSql, Error> {
    on_enough_stack(|| run(sql, dialect, policy, Findings::Skip)).map(|report| report.sql)
}

/// Like [`check`], and also reports what the query reads, for audit logs, PII masking and `sql check`.
pub fn check_report(sql: &str, dialect: Dialect, policy: &Policy) -> Result<Report, Error> {
    on_enough_stack(|| run(sql, dialect, policy, Findings::Collect))
}

/// Stack a check needs besides what sqlparser and the walk secure for themselves (they grow the stack onto the
/// heap where they recurse): mostly dropping a syntax tree, which recurses as deep as the tree — for the deepest
/// the token limit admits, about 300 KiB.
const RED_ZONE: usize = 1024 * 1024;

/// Runs `f` with at least [`RED_ZONE`] bytes of stack: on the current stack when it has them (a fresh tokio worker
/// does), else on a new segment. So no input overflows the stack of the thread that checks it.
fn on_enough_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(RED_ZONE, walk::STACK_SEGMENT, f)
}

/// Whether a check records the tables and functions a query uses. Skipping them changes no decision: they only
/// feed [`Report`]; what the rewrite needs is always recorded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Findings {
    Collect,
    Skip,
}

/// The whole check. With [`Findings::Skip`], the report's `tables` and `functions` are empty.
fn run(sql: &str, dialect: Dialect, policy: &Policy, findings: Findings) -> Result<Report, Error> {
    let lexed = lex::lex(sql, dialect)?;
    let lexed_text = lexed.text.clone();
    let approved = &sql[lexed_text.clone()];
    let query = parse(dialect, sql, lexed)?;
    let mut walker = walk::Walker::new(dialect, policy, walk::Mode::Check).with_findings(findings);
    walker.check_query(&query)?;
    let findings = walker.findings;
    let tables: Vec<TableRef> = findings.tables.into_iter().collect();
    let functions: Vec<String> = findings.functions.into_iter().collect();
    if findings.rewrites.is_empty() {
        let sql = GuardedSql { sql: approved.to_string(), dialect };
        return Ok(Report { sql, rewritten: false, tables, functions, row_filtered: Vec::new() });
    }
    let mut row_filtered: Vec<TableRef> = findings.rewrites.iter().map(|r| r.table.clone()).collect();
    row_filtered.sort();
    row_filtered.dedup();
    let rewrite = rls::apply(sql, lexed_text, dialect, policy, &findings.rewrites)?;
    let relexed = lex::lex(&rewrite.text, dialect).map_err(|e| e.context("the row-filtered query"))?;
    let text = rewrite.text[relexed.text.clone()].to_string();
    let reparsed = parse(dialect, &rewrite.text, relexed).map_err(|e| e.context("the row-filtered query"))?;
    let mut verifier =
        walk::Walker::new(dialect, policy, walk::Mode::Verify(&rewrite.sealed)).with_findings(Findings::Skip);
    verifier.check_query(&reparsed).map_err(|e| e.context("the row-filtered query"))?;
    Ok(Report { sql: GuardedSql { sql: text, dialect }, rewritten: true, tables, functions, row_filtered })
}

/// True when `name` (any case, unqualified) is on the dialect's allow-list of side-effect-free scalar, aggregate,
/// window or table-valued functions — the same list the guard enforces. Connectors use it for defence in depth
/// (e.g. a SQLite authorizer denying other function calls).
pub fn is_allowed_function(dialect: Dialect, name: &str) -> bool {
    let name = name.to_lowercase();
    functions::is_allowed(dialect, &name) || functions::is_table_function(dialect, &name)
}

#[cfg(test)]
fn walk_statement(walker: &mut walk::Walker, statement: &Statement) -> Result<(), Error> {
    match statement {
        Statement::Query(query) => walker.check_query(query),
        _ => Err(Error::new(ErrorCode::NotAQuery, "only read-only queries are allowed")),
    }
}

static SQLITE: SQLiteDialect = SQLiteDialect {};
static POSTGRES: PostgreSqlDialect = PostgreSqlDialect {};
static MYSQL: MySqlDialect = MySqlDialect {};

/// sqlparser's dialect for ours.
pub(crate) fn parser_dialect(dialect: Dialect) -> &'static dyn sqlparser::dialect::Dialect {
    match dialect {
        Dialect::Sqlite => &SQLITE,
        Dialect::Postgres => &POSTGRES,
        Dialect::Mysql => &MYSQL,
    }
}

/// Parses the lexed tokens into exactly one statement that is a query, and returns the query. Every token must be
/// consumed. `sql` is the text `lexed` came from; it is tokenized again only to explain a refusal.
fn parse(dialect: Dialect, sql: &str, lexed: lex::Lexed) -> Result<Box<Query>, Error> {
    let mut parser = Parser::new(parser_dialect(dialect))
        .with_options(ParserOptions::new())
        .with_tokens_with_locations(lexed.tokens);
    let parsed = parser.parse_statements();
    let mut statements = match parsed {
        Ok(statements) => statements,
        Err(e) => {
            return Err(lex::explain_parse_failure(sql, dialect)
                .unwrap_or_else(|| Error::new(ErrorCode::ParseError, format!("the SQL does not parse: {e}"))));
        }
    };
    let next = parser.peek_token_ref();
    if next.token != Token::EOF {
        return Err(Error::new(
            ErrorCode::ParseError,
            format!("the SQL does not parse: unexpected {} at {}", next.token, next.span.start),
        ));
    }
    if statements.len() > 1 {
        return Err(Error::new(ErrorCode::MultipleStatements, "only one statement is allowed"));
    }
    match statements.pop() {
        None => Err(Error::new(ErrorCode::EmptySql, "there is no SQL statement")),
        Some(Statement::Query(query)) => Ok(query),
        Some(other) => Err(not_a_query(&other, lex::first_word(sql, dialect).as_deref())),
    }
}

fn not_a_query(statement: &Statement, first_word: Option<&str>) -> Error {
    let kind = match statement {
        Statement::Insert { .. } => Some("INSERT"),
        Statement::Update { .. } => Some("UPDATE"),
        Statement::Delete { .. } => Some("DELETE"),
        Statement::Merge { .. } => Some("MERGE"),
        _ => first_word.filter(|w| *w != "WITH"),
    };
    let subject = match kind {
        Some(kind) => format!("{kind} statements are"),
        None => "this statement is".to_string(),
    };
    Error::new(
        ErrorCode::NotAQuery,
        format!("{subject} not allowed; only read-only queries (SELECT, WITH … SELECT, VALUES) are"),
    )
}

#[cfg(test)]
mod tests;
