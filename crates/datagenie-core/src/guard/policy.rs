//! What one user may read through one connection: allowed schemas, allowed tables (optionally columns), system
//! catalog access, extra functions, and row filters with the user attributes they bind.
//!
//! A `Policy` is dialect-free data. Names in it are the names as the database stores them (what introspection
//! returns): they are compared with the dialect's rules when a query is checked — exactly for PostgreSQL (a query's
//! unquoted names are folded to lower case first), ASCII case-insensitively for SQLite, case-insensitively for MySQL.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, ErrorCode};
use crate::schema::Schema;

/// Which system catalogs a query may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CatalogAccess {
    /// No system catalog at all (the default).
    #[default]
    None,
    /// Schema metadata only: `information_schema.tables`/`columns`/…, `pg_catalog.pg_class`/`pg_attribute`/…,
    /// `sqlite_schema`, `pragma_table_info(…)`. Never credentials, server state, or statistics holding data values.
    Metadata,
    /// Every system catalog, including `pg_shadow`, `mysql.user`, `information_schema.processlist`.
    All,
}

/// A possibly schema-qualified table name as the database stores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName {
    /// `None` matches the table in any schema the policy allows.
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    /// Parses `name` or `schema.name`. A part may be double-quoted to hold a dot (`"my.schema".t`); `""` inside
    /// quotes is a literal quote. Surrounding whitespace is ignored.
    pub fn parse(spec: &str) -> Result<TableName, Error> {
        let parts = split_name(spec)?;
        match parts.as_slice() {
            [name] => Ok(TableName { schema: None, name: name.clone() }),
            [schema, name] => Ok(TableName { schema: Some(schema.clone()), name: name.clone() }),
            _ => Err(bad_spec(spec, "expected `table` or `schema.table`")),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

fn bad_spec(spec: &str, why: &str) -> Error {
    Error::new(ErrorCode::InvalidArgument, format!("invalid table name '{spec}': {why}"))
}

/// Splits a dotted name into parts, honouring double quotes. Every part is non-empty.
fn split_name(spec: &str) -> Result<Vec<String>, Error> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = spec.trim().chars().peekable();
    let mut quoted_part = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if current.is_empty() && !quoted_part => {
                quoted_part = true;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            current.push('"');
                        }
                        Some('"') => break,
                        Some(other) => current.push(other),
                        None => return Err(bad_spec(spec, "unterminated quote")),
                    }
                }
            }
            '.' => {
                parts.push(finish_part(spec, &mut current, quoted_part)?);
                quoted_part = false;
            }
            _ if quoted_part => return Err(bad_spec(spec, "text after a closing quote")),
            _ => current.push(c),
        }
    }
    parts.push(finish_part(spec, &mut current, quoted_part)?);
    Ok(parts)
}

fn finish_part(spec: &str, current: &mut String, quoted: bool) -> Result<String, Error> {
    let part = if quoted { std::mem::take(current) } else { std::mem::take(current).trim().to_string() };
    if part.is_empty() {
        return Err(bad_spec(spec, "empty name part"));
    }
    Ok(part)
}

/// One table the policy names, with the columns a query may read when restricted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableRule {
    pub(crate) table: TableName,
    /// `None`: every column. `Some`: only these (stored names).
    pub(crate) columns: Option<Vec<String>>,
}

/// A user attribute bound into row filters as a literal, e.g. `{user.customer_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    Text(String),
    Integer(i64),
    Bool(bool),
    Null,
}

impl From<&str> for AttrValue {
    fn from(v: &str) -> Self {
        AttrValue::Text(v.to_string())
    }
}
impl From<String> for AttrValue {
    fn from(v: String) -> Self {
        AttrValue::Text(v)
    }
}
impl From<i64> for AttrValue {
    fn from(v: i64) -> Self {
        AttrValue::Integer(v)
    }
}
impl From<bool> for AttrValue {
    fn from(v: bool) -> Self {
        AttrValue::Bool(v)
    }
}

/// A row filter: every read of `table` sees only rows where `expr` holds. `expr` is an SQL boolean expression over
/// the table's columns (bare, or qualified with the table's own name) in the connection's dialect; `{user.NAME}`
/// placeholders are bound from the policy's user attributes as quoted literals. Functions must be on the guard's
/// allow-list; subqueries are not allowed in a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowFilter {
    pub(crate) table: TableName,
    pub(crate) expr: String,
}

/// What a user may read through one connection. Build it with the methods below; every method returns the updated
/// policy.
///
/// `Policy::default()` allows every table and column of the user's database (any non-system schema), refuses every
/// system catalog, and has no row filters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// `None`: any non-system schema. `Some`: only these schemas (databases in MySQL).
    pub(crate) schemas: Option<Vec<String>>,
    /// The schema unqualified names resolve to; `None` means the dialect's default (`main`, `public`) or, for MySQL,
    /// the connection's database (treated as allowed).
    pub(crate) current_schema: Option<String>,
    /// When true, only tables matched by `rules` may be read.
    pub(crate) only_listed_tables: bool,
    pub(crate) rules: Vec<TableRule>,
    pub(crate) catalogs: CatalogAccess,
    /// Functions allowed in addition to the dialect's allow-list (lower case, unqualified).
    pub(crate) extra_functions: Vec<String>,
    pub(crate) row_filters: Vec<RowFilter>,
    pub(crate) attributes: BTreeMap<String, AttrValue>,
    /// Every column of every table, when known (from introspection): lets column checks resolve unqualified names
    /// the way the engine does instead of refusing whenever a restricted table is in scope.
    pub(crate) known_columns: Vec<(TableName, Vec<String>)>,
}

impl Policy {
    /// Same as `Policy::default()`.
    pub fn new() -> Policy {
        Policy::default()
    }

    /// Restricts reads to these schemas (databases in MySQL). Can be called more than once; the lists add up.
    pub fn allow_schema(mut self, schema: &str) -> Policy {
        self.schemas.get_or_insert_with(Vec::new).push(schema.trim().to_string());
        self
    }

    /// Sets the schema unqualified table names resolve to (PostgreSQL `search_path` head, MySQL database).
    pub fn current_schema(mut self, schema: &str) -> Policy {
        self.current_schema = Some(schema.trim().to_string());
        self
    }

    /// Allows the table (`name` or `schema.name`) and switches the policy to "listed tables only".
    pub fn allow_table(mut self, spec: &str) -> Result<Policy, Error> {
        let table = TableName::parse(spec)?;
        self.only_listed_tables = true;
        self.rules.push(TableRule { table, columns: None });
        Ok(self)
    }

    /// Allows the table with only these columns and switches the policy to "listed tables only".
    pub fn allow_table_columns(mut self, spec: &str, columns: &[&str]) -> Result<Policy, Error> {
        self = self.restrict_columns(spec, columns)?;
        self.only_listed_tables = true;
        Ok(self)
    }

    /// Restricts the table to these columns without changing which tables are allowed.
    pub fn restrict_columns(mut self, spec: &str, columns: &[&str]) -> Result<Policy, Error> {
        let table = TableName::parse(spec)?;
        let columns = columns.iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
        self.rules.push(TableRule { table, columns: Some(columns) });
        Ok(self)
    }

    /// Parses a comma-separated table list as the CLI takes it: `orders, sales.items, customers(id, name)`.
    /// A parenthesised list restricts that table's columns. Switches to "listed tables only".
    pub fn allow_tables_spec(mut self, spec: &str) -> Result<Policy, Error> {
        for entry in split_top_level(spec) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            self = match entry.split_once('(') {
                Some((table, rest)) => {
                    let columns =
                        rest.strip_suffix(')').ok_or_else(|| bad_spec(entry, "missing ')' after the column list"))?;
                    let columns: Vec<&str> = columns.split(',').collect();
                    self.allow_table_columns(table, &columns)?
                }
                None => self.allow_table(entry)?,
            };
        }
        if !self.only_listed_tables {
            return Err(Error::new(ErrorCode::InvalidArgument, "the table list is empty"));
        }
        Ok(self)
    }

    /// Sets which system catalogs may be read.
    pub fn catalogs(mut self, access: CatalogAccess) -> Policy {
        self.catalogs = access;
        self
    }

    /// `true` allows every system catalog ([`CatalogAccess::All`]); `false` none.
    pub fn allow_system_catalogs(self, allow: bool) -> Policy {
        self.catalogs(if allow { CatalogAccess::All } else { CatalogAccess::None })
    }

    /// Allows one more function by its unqualified name (e.g. a side-effect-free user-defined function).
    pub fn allow_function(mut self, name: &str) -> Policy {
        self.extra_functions.push(name.trim().to_lowercase());
        self
    }

    /// Adds a row filter on `table` (see [`Policy`] docs for the expression rules). Several filters on one table
    /// all apply. The expression is parsed in the connection's dialect when a query is checked; the placeholder
    /// syntax is checked here.
    pub fn row_filter(mut self, table: &str, expr: &str) -> Result<Policy, Error> {
        let table = TableName::parse(table)?;
        let expr = expr.trim();
        if expr.is_empty() {
            return Err(Error::new(ErrorCode::InvalidArgument, format!("the row filter for {table} is empty")));
        }
        self.row_filters.push(RowFilter { table, expr: expr.to_string() });
        Ok(self)
    }

    /// Parses `table: expr`, the CLI's `--row-filter` form.
    pub fn row_filter_spec(self, spec: &str) -> Result<Policy, Error> {
        let (table, expr) = spec.split_once(':').ok_or_else(|| {
            Error::new(ErrorCode::InvalidArgument, format!("invalid row filter '{spec}': expected `table: expression`"))
        })?;
        self.row_filter(table, expr)
    }

    /// Sets a user attribute that row filters bind as `{user.NAME}`.
    pub fn user_attribute(mut self, name: &str, value: impl Into<AttrValue>) -> Policy {
        self.attributes.insert(name.to_string(), value.into());
        self
    }

    /// Records the full column lists of `schema`'s tables. Only column checks use it: with it, an unqualified column
    /// that a restricted table does not have is not attributed to that table.
    pub fn with_schema(mut self, schema: &Schema) -> Policy {
        for t in &schema.tables {
            let name = TableName { schema: t.schema.clone(), name: t.name.clone() };
            self.known_columns.push((name, t.columns.iter().map(|c| c.name.clone()).collect()));
        }
        self
    }

    /// True when the policy keeps some table, schema or column from being read: then what a user may see of a
    /// schema is less than the schema.
    pub fn limits_reading(&self) -> bool {
        self.schemas.is_some() || self.only_listed_tables || self.restricts_columns()
    }

    /// True when some table's rows are filtered: then what a user may see of the data is less than the data, and
    /// nothing read without the filters (cached cell values) may be shown to them.
    pub fn filters_rows(&self) -> bool {
        !self.row_filters.is_empty()
    }

    /// True when some table has a column restriction (then [`Policy::with_schema`] lets unqualified columns resolve
    /// as the engine resolves them).
    pub fn restricts_columns(&self) -> bool {
        self.rules.iter().any(|r| r.columns.is_some())
    }
}

/// Splits on commas that are not inside parentheses or double quotes.
fn split_top_level(spec: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0usize);
    for (i, c) in spec.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                out.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&spec[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_parse_with_quotes_and_schemas() {
        assert_eq!(TableName::parse(" orders ").ok(), Some(TableName { schema: None, name: "orders".into() }));
        assert_eq!(
            TableName::parse("sales.orders").ok(),
            Some(TableName { schema: Some("sales".into()), name: "orders".into() })
        );
        assert_eq!(
            TableName::parse("\"my.schema\".\"Odd\"\"Name\"").ok(),
            Some(TableName { schema: Some("my.schema".into()), name: "Odd\"Name".into() })
        );
        for bad in ["", "a..b", "a.b.c", "\"open", "\"a\"b", "."] {
            let err = TableName::parse(bad).err();
            assert_eq!(err.map(|e| e.code), Some(ErrorCode::InvalidArgument), "{bad:?}");
        }
    }

    #[test]
    fn table_spec_lists_tables_and_columns() {
        let p = Policy::default().allow_tables_spec("orders, sales.items, customers(id, name)").ok();
        let p = p.as_ref();
        assert!(p.is_some_and(|p| p.only_listed_tables));
        let rules: Vec<_> = p.map(|p| p.rules.clone()).unwrap_or_default();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[2].columns, Some(vec!["id".to_string(), "name".to_string()]));
        assert!(Policy::default().allow_tables_spec(" , ").is_err());
        assert!(Policy::default().allow_tables_spec("customers(id").is_err());
    }

    #[test]
    fn row_filter_spec_needs_a_colon_and_an_expression() {
        assert!(Policy::default().row_filter_spec("orders: region = 'APAC'").is_ok());
        assert!(Policy::default().row_filter_spec("orders region").is_err());
        assert!(Policy::default().row_filter_spec("orders:   ").is_err());
    }
}
