//! SQL dialects DataGenie speaks.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Sqlite,
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        }
    }

    /// `name` quoted as an identifier of this dialect, always (`"name"`, or `` `name` `` for MySQL), with the quote
    /// character doubled inside: safe for any identifier the engine can hold. The one quoting every SQL DataGenie
    /// writes uses (MySQL sessions are pinned to a `sql_mode` without `ANSI_QUOTES`, so backticks are its quote).
    pub fn quote_ident(self, name: &str) -> String {
        match self {
            Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
            Dialect::Sqlite | Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// `name` as a person would write it in this dialect: bare when it is a plain ASCII identifier that is not a
    /// reserved word (and, for PostgreSQL, has no upper-case letters, which would fold); otherwise
    /// [`quote_ident`](Self::quote_ident). For SQL people read (prompts, aliases in generated queries).
    pub fn ident(self, name: &str) -> String {
        let plain = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
            && !(self == Dialect::Postgres && name.chars().any(|c| c.is_ascii_uppercase()));
        if plain { name.to_string() } else { self.quote_ident(name) }
    }

    /// The name the prompt uses to tell the LLM which SQL to write.
    pub fn display_name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
            Dialect::Mysql => "MySQL",
        }
    }
}

/// Words quoted when used as identifiers: reserved in at least one of the three dialects and likely as a column name.
const RESERVED: &[&str] = &[
    "all",
    "and",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "check",
    "column",
    "constraint",
    "create",
    "cross",
    "current",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "end",
    "except",
    "exists",
    "fetch",
    "for",
    "from",
    "full",
    "grant",
    "group",
    "groups",
    "having",
    "in",
    "index",
    "inner",
    "insert",
    "intersect",
    "interval",
    "into",
    "is",
    "join",
    "key",
    "left",
    "like",
    "limit",
    "natural",
    "not",
    "null",
    "offset",
    "on",
    "or",
    "order",
    "outer",
    "primary",
    "range",
    "rank",
    "references",
    "right",
    "row",
    "rows",
    "select",
    "set",
    "table",
    "then",
    "to",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "when",
    "where",
    "window",
    "with",
];

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dialect {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => Ok(Dialect::Sqlite),
            "postgres" | "postgresql" | "pg" => Ok(Dialect::Postgres),
            "mysql" | "mariadb" => Ok(Dialect::Mysql),
            other => Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("unknown SQL dialect '{other}' (expected sqlite, postgres or mysql)"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote_character() {
        assert_eq!(Dialect::Sqlite.quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Postgres.quote_ident("주문"), "\"주문\"");
        assert_eq!(Dialect::Mysql.quote_ident("a`b"), "`a``b`");
    }

    #[test]
    fn plain_names_stay_bare_only_when_safe() {
        assert_eq!(Dialect::Sqlite.ident("order_count"), "order_count");
        assert_eq!(Dialect::Sqlite.ident("order"), "\"order\"");
        assert_eq!(Dialect::Postgres.ident("Total"), "\"Total\"");
        assert_eq!(Dialect::Mysql.ident("Total"), "Total");
        assert_eq!(Dialect::Mysql.ident("주문 수"), "`주문 수`");
        assert_eq!(Dialect::Sqlite.ident("1st"), "\"1st\"");
    }
}
