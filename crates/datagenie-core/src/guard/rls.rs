//! Row-level security for any engine, by rewriting: every reference to a row-filtered table — at any depth: joins,
//! subqueries, CTEs, set-operation arms, correlated subqueries — becomes
//! `(SELECT * FROM <table> WHERE <filter>) AS <alias>`, keeping the query's alias (or the table's name as alias),
//! so the rest of the query reads the same names and sees only permitted rows.
//!
//! The rewrite splices text: only the table name's source span is replaced, every other byte of the approved query
//! stays as written. (Printing a sqlparser AST back is lossy for string literals, so the guard never executes a
//! printed AST.) Filters are bound before they are parsed: each `{user.NAME}` placeholder token is replaced by the
//! attribute's literal, quoted for the dialect — a value is never spliced in as SQL. Comments are dropped from
//! filters, and bare column names are qualified with the table's name so an outer query cannot capture them. The
//! caller lexes, parses and checks the result again (see [`super::check_report`]); the set of printed filtered
//! subqueries returned here lets that re-check recognise the ones the guard produced.

use std::collections::{BTreeMap, HashSet};
use std::ops::{ControlFlow, Range};

use sqlparser::ast::{Expr, Query, Statement, Visit, Visitor};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode};

use super::policy::{AttrValue, Policy, RowFilter};
use super::walk::{RewriteTarget, Walker};
use super::{TableRef, lex, parser_dialect};

/// The rewritten query text and the printed form of each filtered subquery in it.
pub(crate) struct Rewritten {
    pub(crate) text: String,
    pub(crate) sealed: HashSet<String>,
}

fn internal(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::Internal, msg)
}

/// Rewrites every target inside `sql[approved]`. Target spans are locations in `sql` (what the lexer read).
pub(crate) fn apply(
    sql: &str,
    approved: Range<usize>,
    dialect: Dialect,
    policy: &Policy,
    targets: &[RewriteTarget],
) -> Result<Rewritten, Error> {
    let index = LineIndex::new(sql);
    let mut sealed = HashSet::new();
    let mut edits: Vec<(Range<usize>, String)> = Vec::with_capacity(targets.len());
    for target in targets {
        let (Some(name), Some(last)) = (index.range(target.name_span), index.range(target.last_span)) else {
            return Err(internal("a row-filtered table reference has no source location"));
        };
        let qualifier = &sql[last];
        let filter = table_filter(dialect, policy, &target.table, qualifier)?;
        let inner = format!("SELECT * FROM {} WHERE {filter}", &sql[name.clone()]);
        sealed.insert(parse_query(dialect, &inner)?.to_string());
        let replacement = if target.has_alias { format!("({inner})") } else { format!("({inner}) AS {qualifier}") };
        edits.push((name, replacement));
    }
    let text = splice(sql, approved, edits).ok_or_else(|| internal("row filter rewrites overlap"))?;
    Ok(Rewritten { text, sealed })
}

/// Applies non-overlapping edits (byte ranges of `text`) inside `within`; `None` if they overlap or stray outside.
fn splice(text: &str, within: Range<usize>, mut edits: Vec<(Range<usize>, String)>) -> Option<String> {
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(within.len() + edits.iter().map(|(_, r)| r.len()).sum::<usize>());
    let mut pos = within.start;
    for (range, replacement) in edits {
        if range.start < pos || range.end > within.end || range.start > range.end {
            return None;
        }
        out.push_str(text.get(pos..range.start)?);
        out.push_str(&replacement);
        pos = range.end;
    }
    out.push_str(text.get(pos..within.end)?);
    Some(out)
}

/// Maps tokenizer locations (1-based line and char column) to byte offsets.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> LineIndex<'a> {
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { text, line_starts }
    }

    pub(crate) fn offset(&self, loc: Location) -> Option<usize> {
        let line_index = usize::try_from(loc.line).ok()?.checked_sub(1)?;
        let column = usize::try_from(loc.column).ok()?.checked_sub(1)?;
        let start = *self.line_starts.get(line_index)?;
        let end = self.line_starts.get(line_index + 1).copied().unwrap_or(self.text.len());
        let line = self.text.get(start..end)?;
        match line.char_indices().nth(column) {
            Some((i, _)) => Some(start + i),
            None if line.chars().count() == column => Some(end),
            None => None,
        }
    }

    fn range(&self, span: Span) -> Option<Range<usize>> {
        let (start, end) = (self.offset(span.start)?, self.offset(span.end)?);
        (start < end).then_some(start..end)
    }
}

/// The conjunction of every filter on `table`, as SQL text, with columns qualified by `qualifier` (the table's last
/// name part as the query spells it).
fn table_filter(dialect: Dialect, policy: &Policy, table: &TableRef, qualifier: &str) -> Result<String, Error> {
    let walker = Walker::for_filter(dialect, policy);
    let filters = walker.row_filters_for(table);
    let bound: Vec<String> = filters.iter().map(|f| bind(dialect, policy, f, qualifier)).collect::<Result<_, _>>()?;
    match bound.as_slice() {
        [] => Err(internal(format!("no row filter found for table {table}"))),
        [one] => Ok(one.clone()),
        many => Ok(many.iter().map(|f| format!("({f})")).collect::<Vec<_>>().join(" AND ")),
    }
}

/// Binds, parses and validates one filter; returns its text with columns qualified by `qualifier`.
pub(crate) fn bind(dialect: Dialect, policy: &Policy, filter: &RowFilter, qualifier: &str) -> Result<String, Error> {
    let config = |msg: String| Error::new(ErrorCode::InvalidConfig, format!("row filter for {}: {msg}", filter.table));
    let text = substitute(dialect, &filter.expr, &policy.attributes).map_err(config)?;
    let expr = parse_expr(dialect, &text).map_err(config)?;
    let mut walker = Walker::for_filter(dialect, policy);
    walker.walk_expr(&expr).map_err(|e| config(e.message))?;
    let mut columns =
        ColumnEdits { walker: &walker, table: &filter.table.name, qualifier, edits: Vec::new(), error: None };
    let _ = Visit::visit(&expr, &mut columns);
    if let Some(msg) = columns.error {
        return Err(config(msg));
    }
    let index = LineIndex::new(&text);
    let edits: Option<Vec<(Range<usize>, String)>> = columns
        .edits
        .into_iter()
        .map(|(span, insert_only, replacement)| {
            let range = index.range(span)?;
            Some((if insert_only { range.start..range.start } else { range }, replacement))
        })
        .collect();
    let qualified = edits
        .and_then(|edits| splice(&text, 0..text.len(), edits))
        .ok_or_else(|| config("its column references could not be located".to_string()))?;
    parse_expr(dialect, &qualified).map_err(config)?;
    Ok(qualified.trim().to_string())
}

fn parse_expr(dialect: Dialect, text: &str) -> Result<Expr, String> {
    let mut parser =
        Parser::new(parser_dialect(dialect)).try_with_sql(text).map_err(|e| format!("it does not parse: {e}"))?;
    let expr = parser.parse_expr().map_err(|e| format!("it does not parse: {e}"))?;
    if parser.peek_token().token != Token::EOF {
        return Err("unexpected text after the expression".to_string());
    }
    Ok(expr)
}

/// Collects the edits that qualify a filter's columns, refusing qualifiers other than the table's own name.
struct ColumnEdits<'a> {
    walker: &'a Walker<'a>,
    table: &'a str,
    qualifier: &'a str,
    /// (span, insert before the span instead of replacing it, text)
    edits: Vec<(Span, bool, String)>,
    error: Option<String>,
}

impl Visitor for ColumnEdits<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(ident) => self.edits.push((ident.span, true, format!("{}.", self.qualifier))),
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, _] if self.walker.fold(q) == self.walker.fold_stored(self.table) => {
                    self.edits.push((q.span, false, self.qualifier.to_string()));
                }
                _ => {
                    let shown: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
                    self.error =
                        Some(format!("the column {} must be bare or qualified with {}", shown.join("."), self.table));
                    return ControlFlow::Break(());
                }
            },
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Rebuilds the filter from its tokens: comments become a space and each `{user.NAME}` placeholder (exactly these
/// five tokens) becomes the attribute's literal. Placeholders inside string literals are text. Any other brace is
/// an error.
fn substitute(dialect: Dialect, text: &str, attributes: &BTreeMap<String, AttrValue>) -> Result<String, String> {
    let tokens = Tokenizer::new(parser_dialect(dialect), text)
        .with_unescape(true)
        .tokenize_with_location()
        .map_err(|e| format!("it does not parse: {e}"))?;
    let offsets = lex::byte_offsets(text, &tokens).ok_or("it contains an executable comment")?;
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0usize;
    while i < tokens.len() {
        match &tokens[i].token {
            Token::LBrace => {
                let name = placeholder_name(&tokens[i..]).ok_or("a '{' must start a placeholder {user.NAME}")?;
                let value =
                    attributes.get(name).ok_or_else(|| format!("it needs user attribute {name}, which is not set"))?;
                // Spaces keep the literal from gluing to a neighbouring word (`x{user.v}`), only where needed.
                if out.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '\'' || c == '"') {
                    out.push(' ');
                }
                out.push_str(&literal(dialect, value)?);
                if matches!(tokens.get(i + 5).map(|t| &t.token), Some(Token::Word(_) | Token::SingleQuotedString(_))) {
                    out.push(' ');
                }
                i += 5;
            }
            Token::RBrace => return Err("unexpected '}'".to_string()),
            Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)) => {
                out.push(' ');
                i += 1;
            }
            _ => {
                out.push_str(&text[offsets[i]..offsets[i + 1]]);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// `NAME` when `tokens` starts with `{ user . NAME }`.
fn placeholder_name(tokens: &[TokenWithSpan]) -> Option<&str> {
    match tokens.get(..5)?.iter().map(|t| &t.token).collect::<Vec<_>>().as_slice() {
        [Token::LBrace, Token::Word(user), Token::Period, Token::Word(name), Token::RBrace]
            if user.quote_style.is_none() && user.value == "user" && name.quote_style.is_none() =>
        {
            Some(name.value.as_str())
        }
        _ => None,
    }
}

/// An attribute value as an SQL literal of the dialect. Text is single-quoted with quotes doubled; a backslash is
/// escaped where the dialect treats it specially (MySQL; PostgreSQL through an `E'…'` literal). Integers are
/// parenthesised so a negative value stays one operand.
pub fn literal(dialect: Dialect, value: &AttrValue) -> Result<String, String> {
    Ok(match value {
        AttrValue::Integer(i) => format!("({i})"),
        AttrValue::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        AttrValue::Null => "NULL".to_string(),
        AttrValue::Text(s) => {
            if s.contains('\0') {
                return Err("a user attribute contains a NUL character".to_string());
            }
            let quoted = s.replace('\'', "''");
            match dialect {
                Dialect::Sqlite => format!("'{quoted}'"),
                Dialect::Postgres if s.contains('\\') => format!("E'{}'", quoted.replace('\\', "\\\\")),
                Dialect::Postgres => format!("'{quoted}'"),
                Dialect::Mysql => format!("'{}'", quoted.replace('\\', "\\\\")),
            }
        }
    })
}

fn parse_query(dialect: Dialect, sql: &str) -> Result<Box<Query>, Error> {
    let invalid = |msg: String| internal(format!("the row filter subquery is invalid: {msg}"));
    let mut statements = Parser::parse_sql(parser_dialect(dialect), sql).map_err(|e| invalid(e.to_string()))?;
    match (statements.pop(), statements.is_empty()) {
        (Some(Statement::Query(q)), true) => Ok(q),
        _ => Err(invalid("not a single query".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_per_dialect() {
        let text = AttrValue::Text("O'Brien\\".to_string());
        assert_eq!(literal(Dialect::Sqlite, &text).ok().as_deref(), Some("'O''Brien\\'"));
        assert_eq!(literal(Dialect::Postgres, &text).ok().as_deref(), Some("E'O''Brien\\\\'"));
        assert_eq!(literal(Dialect::Mysql, &text).ok().as_deref(), Some("'O''Brien\\\\'"));
        assert_eq!(literal(Dialect::Postgres, &AttrValue::Integer(-5)).ok().as_deref(), Some("(-5)"));
        assert_eq!(literal(Dialect::Mysql, &AttrValue::Bool(true)).ok().as_deref(), Some("TRUE"));
        assert!(literal(Dialect::Sqlite, &AttrValue::Text("a\0b".into())).is_err());
    }

    #[test]
    fn placeholders_are_bound_only_as_whole_tokens_and_comments_dropped() {
        let attrs: BTreeMap<String, AttrValue> =
            [("id".to_string(), AttrValue::Text("x' OR '1'='1".to_string()))].into_iter().collect();
        let out = substitute(Dialect::Sqlite, "customer_id = {user.id} AND note <> '{user.id}' -- c", &attrs);
        assert_eq!(out.as_deref(), Ok("customer_id = 'x'' OR ''1''=''1' AND note <> '{user.id}'  "));
        assert_eq!(
            substitute(Dialect::Sqlite, "a={user.id}and b", &attrs).as_deref(),
            Ok("a='x'' OR ''1''=''1' and b")
        );
        assert!(substitute(Dialect::Sqlite, "a = {user.missing}", &attrs).is_err());
        assert!(substitute(Dialect::Sqlite, "a = { user.id }", &attrs).is_err());
        assert!(substitute(Dialect::Sqlite, "a = {other.id}", &attrs).is_err());
        assert!(substitute(Dialect::Sqlite, "a = 1 }", &attrs).is_err());
    }

    #[test]
    fn line_index_maps_locations_to_bytes() {
        let text = "ab\nçd\n";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(Location { line: 1, column: 1 }), Some(0));
        assert_eq!(index.offset(Location { line: 2, column: 2 }), Some(5));
        assert_eq!(index.offset(Location { line: 2, column: 4 }), Some(7));
        assert_eq!(index.offset(Location { line: 3, column: 1 }), Some(7));
        assert_eq!(index.offset(Location { line: 2, column: 9 }), None);
        assert_eq!(index.offset(Location { line: 0, column: 1 }), None);
    }

    #[test]
    fn splice_refuses_overlaps() {
        let edits = vec![(1..3, "X".to_string()), (2..4, "Y".to_string())];
        assert_eq!(splice("abcdef", 0..6, edits), None);
        assert_eq!(splice("abcdef", 1..5, vec![(2..3, "XY".to_string())]).as_deref(), Some("bXYde"));
    }
}
