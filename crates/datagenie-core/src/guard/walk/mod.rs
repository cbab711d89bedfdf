//! The AST walk: an allow-list of known shapes. Every node the walk does not explicitly understand is refused, and
//! the structs that matter (`Query`, `Select`, `Function`, table factors) are destructured field by field, so a new
//! sqlparser field fails to compile here instead of slipping through.
//!
//! Along the way the walk resolves names the way the engine does — CTE names (with their visibility rules per
//! dialect), aliases, quoting and case folding, schema qualification — and checks every base table against the
//! policy and system catalogs, every function and operator against the dialect's allow-lists, and every column
//! reference against column restrictions. In [`Mode::Check`] it records which table references need a row filter; in
//! [`Mode::Verify`] (re-checking the guard's own rewrite) any unfiltered reference to a filtered table is refused.
//!
//! One [`Walker`], its methods spread over one file per concern:
//!
//! - `mod.rs` (here) — the walker's state, the entry point [`Walker::check_query`], depth and stack;
//! - `query` — query bodies: `WITH` (CTE visibility), set operations, `SELECT` clauses, `ORDER BY`, `LIMIT`;
//! - `from` — FROM items and joins: base tables (and the row-filter rewrite targets), derived tables, `UNNEST`,
//!   table functions, join operators and constraints;
//! - `expr` — expressions, literals and operators (the operator allow-lists are `guard::operators`);
//! - `call` — function calls, their arguments, clauses and windows; table-valued functions; function names;
//! - `scope` — names and what they refer to: identifier folding, CTE names and FROM relations in scope, table
//!   resolution against catalogs and the policy, column references against column restrictions.
//!
//! # Stack safety
//!
//! The walk recurses as deep as the tree, and the tree can be as deep as the token limit allows. Every step that
//! recurses into a query, a query body or an expression goes through [`Walker::deeper`]: it counts the level
//! (refusing more than [`MAX_DEPTH`]) and, at the first level and every [`STACK_CHECK_INTERVAL`] levels after it,
//! makes sure [`STACK_RED_ZONE`] bytes of stack remain or continues on a new heap-allocated segment (`stacker`).
//! Parenthesised joins nest without counting a level, so each one checks the stack itself
//! ([`Walker::with_stack`]). A new recursive path, in whichever file, must go through one of the two — so the walk
//! cannot overflow whatever thread runs it.

use std::collections::{BTreeSet, HashSet};

use sqlparser::ast::Query;
use sqlparser::tokenizer::Span;

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode};

use super::TableRef;
use super::policy::Policy;

mod call;
mod expr;
mod from;
mod query;
mod scope;

use scope::{CteName, Rel};

/// How deep queries and expressions may nest. Keeps the walk (and printing a rewrite) far from the stack's end.
pub(crate) const MAX_DEPTH: usize = 200;

/// Stack the walk keeps free: at the first level and every [`STACK_CHECK_INTERVAL`] levels after it, it makes sure
/// this much remains, or continues on a new segment of [`STACK_SEGMENT`] bytes (see [`stacker::maybe_grow`]). A
/// level takes about 6 KiB in a debug build and 0.5 KiB in release, so the interval fits with a wide margin, and
/// the walk cannot overflow whatever thread runs it (tokio workers have 2 MiB).
const STACK_RED_ZONE: usize = 256 * 1024;
const STACK_CHECK_INTERVAL: usize = 16;
/// The size of a stack segment the guard allocates when the current stack runs low.
pub(crate) const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// Whether the walk checks user SQL or re-checks the guard's own rewrite.
#[derive(Clone, Copy)]
pub(crate) enum Mode<'a> {
    /// Check user SQL; record references to row-filtered tables.
    Check,
    /// Re-check a rewrite: derived tables whose text is in the set are the guard's filtered subqueries.
    Verify(&'a HashSet<String>),
}

/// A table reference the rewrite must replace with a filtered subquery, located by source spans.
pub(crate) struct RewriteTarget {
    pub(crate) table: TableRef,
    /// The span of the whole (possibly qualified) table name.
    pub(crate) name_span: Span,
    /// The span of its last part, which qualifies the filter's columns and becomes the alias when there is none.
    pub(crate) last_span: Span,
    pub(crate) has_alias: bool,
}

/// What a successful walk found.
#[derive(Default)]
pub(crate) struct Findings {
    pub(crate) tables: BTreeSet<TableRef>,
    pub(crate) functions: BTreeSet<String>,
    pub(crate) rewrites: Vec<RewriteTarget>,
}

type R<T = ()> = Result<T, Error>;

fn refuse(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::new(code, message)
}

fn construct(what: impl std::fmt::Display) -> Error {
    refuse(ErrorCode::ForbiddenConstruct, format!("{what} is not allowed"))
}

/// Shortens a construct's SQL for an error message.
fn snippet(node: &impl std::fmt::Display) -> String {
    let text = node.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The walker. One per check; not reused.
pub(crate) struct Walker<'a> {
    dialect: Dialect,
    policy: &'a Policy,
    mode: Mode<'a>,
    /// Column checks are on only when some table has a column restriction.
    columns_enforced: bool,
    /// Subqueries refused (row filter expressions).
    forbid_subqueries: bool,
    ctes: Vec<CteName>,
    frames: Vec<Vec<Rel>>,
    depth: usize,
    /// Whether `findings.tables` and `findings.functions` are recorded (rewrite targets always are).
    collect: bool,
    pub(crate) findings: Findings,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(dialect: Dialect, policy: &'a Policy, mode: Mode<'a>) -> Walker<'a> {
        Walker {
            dialect,
            policy,
            mode,
            columns_enforced: policy.restricts_columns(),
            forbid_subqueries: false,
            ctes: Vec::new(),
            frames: Vec::new(),
            depth: 0,
            collect: true,
            findings: Findings::default(),
        }
    }

    /// Sets whether the walk records the tables and functions it sees (it does by default). They only feed the
    /// report; no decision depends on them.
    pub(crate) fn with_findings(mut self, findings: super::Findings) -> Walker<'a> {
        self.collect = findings == super::Findings::Collect;
        self
    }

    /// A walker for row filter expressions: no subqueries, no column checks.
    pub(crate) fn for_filter(dialect: Dialect, policy: &'a Policy) -> Walker<'a> {
        let mut w = Walker::new(dialect, policy, Mode::Check);
        w.columns_enforced = false;
        w.forbid_subqueries = true;
        w
    }

    fn descend(&mut self) -> R {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(construct(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn ascend(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Runs `f` one level deeper, on enough stack (see [`STACK_RED_ZONE`]).
    fn deeper<T>(&mut self, f: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        self.descend()?;
        let out = match self.depth % STACK_CHECK_INTERVAL {
            1 => self.with_stack(f),
            _ => f(self),
        }?;
        self.ascend();
        Ok(out)
    }

    /// Runs `f` with at least [`STACK_RED_ZONE`] bytes of stack, on a new segment if the current one is short.
    fn with_stack<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || f(self))
    }

    /// Checks a top-level query.
    pub(crate) fn check_query(&mut self, q: &Query) -> R {
        self.walk_query(q).map(drop)
    }
}
