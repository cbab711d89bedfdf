//! The SQL guard: the only code that constructs [`GuardedSql`], the only type a connector executes.
//! It parses the SQL in the connection's dialect and accepts exactly one read-only query.

use sqlparser::ast::{Statement, SetExpr};
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode};

/// SQL the guard accepted. The field is private: only [`check`] makes one, and connectors accept nothing else.
/// The text is exactly what the guard approved (or the guard's own rewrite, re-checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardedSql {
    sql: String,
    dialect: Dialect,
}

impl GuardedSql {
    pub fn as_str(&self) -> &str {
        &self.sql
    }
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
}

/// What a user may read through one connection. The default allows every table of the database but no system
/// catalog.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {}

/// Checks `sql` in `dialect` under `policy`; on success returns the SQL to execute.
pub fn check(sql: &str, dialect: Dialect, _policy: &Policy) -> Result<GuardedSql, Error> {
    let trimmed = sql.trim();
    if trimmed.is_empty() {
        return Err(Error::new(ErrorCode::EmptySql, "there is no SQL statement"));
    }
    let statements = match dialect {
        Dialect::Sqlite => Parser::parse_sql(&SQLiteDialect {}, trimmed),
        Dialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, trimmed),
        Dialect::Mysql => Parser::parse_sql(&MySqlDialect {}, trimmed),
    }
    .map_err(|e| Error::new(ErrorCode::ParseError, format!("the SQL does not parse: {e}")))?;
    match statements.as_slice() {
        [] => Err(Error::new(ErrorCode::EmptySql, "there is no SQL statement")),
        [Statement::Query(q)] => {
            if !matches!(*q.body, SetExpr::Select(_) | SetExpr::SetOperation { .. } | SetExpr::Values(_) | SetExpr::Query(_)) {
                return Err(Error::new(ErrorCode::NotAQuery, "only read-only queries are allowed"));
            }
            Ok(GuardedSql { sql: trimmed.trim_end_matches(';').trim_end().to_string(), dialect })
        }
        [_] => Err(Error::new(ErrorCode::NotAQuery, "only read-only queries are allowed")),
        _ => Err(Error::new(ErrorCode::MultipleStatements, "exactly one statement is allowed")),
    }
}
