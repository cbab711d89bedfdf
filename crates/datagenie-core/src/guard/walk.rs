//! The AST walk: an allow-list of known shapes. Every node the walk does not explicitly understand is refused, and
//! the structs that matter (`Query`, `Select`, `Function`, table factors) are destructured field by field, so a new
//! sqlparser field fails to compile here instead of slipping through.
//!
//! Along the way the walk resolves names the way the engine does — CTE names (with their visibility rules per
//! dialect), aliases, quoting and case folding, schema qualification — and checks every base table against the
//! policy and system catalogs, every function against the dialect's allow-list, and every column reference against
//! column restrictions. In [`Mode::Check`] it records which table references need a row filter; in
//! [`Mode::Verify`] (re-checking the guard's own rewrite) any unfiltered reference to a filtered table is refused.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::rc::Rc;

use sqlparser::ast::{
    AccessExpr, CaseWhen, Cte, Distinct, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
    FunctionArgumentList, FunctionArguments, GroupByExpr, GroupByWithModifier, Ident, Join, JoinConstraint,
    JoinOperator, LimitClause, NamedWindowExpr, ObjectName, ObjectNamePart, OrderBy, OrderByExpr, OrderByKind,
    OrderBySort, Query, Select, SelectFlavor, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, SetOperator,
    SetQuantifier, Spanned, Subscript, TableAlias, TableFactor, TableWithJoins, Value, ValueWithSpan,
    WildcardAdditionalOptions, WindowFrameBound, WindowSpec, WindowType, With,
};

use sqlparser::tokenizer::Span;

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode};

use super::TableRef;
use super::catalogs::{self, CatalogKind};
use super::functions;
use super::policy::{CatalogAccess, Policy, RowFilter, TableName};

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

/// Three-valued answer to "does this relation have that column?".
#[derive(Clone, Copy, PartialEq, Eq)]
enum Has {
    Yes,
    No,
    Maybe,
}

/// A table's column restriction.
struct Restriction {
    /// The table as the query spelled it, for messages.
    shown: String,
    /// Allowed column names as the policy lists them (for messages).
    listed: Vec<String>,
    /// The same, folded for comparison.
    folded: Vec<String>,
}

impl Restriction {
    fn allows(&self, column: &str) -> bool {
        self.folded.iter().any(|c| c == column)
    }
    fn listed(&self) -> String {
        if self.listed.is_empty() { "none".to_string() } else { self.listed.join(", ") }
    }
}

/// One relation of a FROM clause, as column references see it.
struct Rel {
    /// The name qualifiers use: the alias, else the table's last name part (folded). Empty when unaddressable.
    name: String,
    /// For an unaliased base table, its schema (folded), so `schema.table.column` resolves.
    schema: Option<String>,
    /// The relation's columns (folded) when known.
    columns: Option<Rc<Vec<String>>>,
    restricted: Option<Rc<Restriction>>,
    /// True for a base table or view (not a CTE, derived table or function).
    base: bool,
}

impl Rel {
    fn derived(alias: Option<&TableAlias>, fallback: String, columns: Option<Rc<Vec<String>>>, walker: &Walker) -> Rel {
        let name = alias.map(|a| walker.fold(&a.name)).unwrap_or(fallback);
        let columns = match alias {
            Some(a) if !a.columns.is_empty() => Some(Rc::new(a.columns.iter().map(|c| walker.fold(&c.name)).collect())),
            _ => columns,
        };
        Rel { name, schema: None, columns, restricted: None, base: false }
    }

    fn has(&self, column: &str) -> Has {
        match &self.columns {
            Some(cols) if cols.iter().any(|c| c == column) => Has::Yes,
            Some(_) => Has::No,
            None => Has::Maybe,
        }
    }
}

/// A CTE name in scope with its output columns when known.
struct CteName {
    name: String,
    columns: Option<Rc<Vec<String>>>,
}

/// Output columns of a query body: names (folded) when every item has one, and whether it is a set operation.
#[derive(Default)]
struct Outputs {
    names: Vec<String>,
    complete: bool,
    set_operation: bool,
}

/// How a table reference resolved. `'n` borrows from the query and the policy.
enum Resolved<'n> {
    Cte(Option<Rc<Vec<String>>>),
    /// MySQL's `DUAL`: no table at all.
    Dual,
    Base(BaseTable<'n>),
}

struct BaseTable<'n> {
    /// Effective schema (folded) used for qualifier matching: the name's, else the current one.
    schema: Option<Cow<'n, str>>,
    /// The table's name, folded.
    name: Cow<'n, str>,
    /// Every column of the table as the policy stores them, when known.
    known: Option<&'n [String]>,
    restricted: Option<Rc<Restriction>>,
    filtered: bool,
}

impl BaseTable<'_> {
    /// The table as reports and rewrites name it.
    fn table_ref(&self) -> TableRef {
        TableRef { schema: self.schema.as_deref().map(str::to_string), name: self.name.to_string() }
    }

    /// The table's columns (folded) when known.
    fn columns(&self, walker: &Walker) -> Option<Vec<String>> {
        self.known.map(|cols| cols.iter().map(|c| walker.fold_stored(c)).collect())
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
            columns_enforced: policy.has_column_rules(),
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

    // ----- names

    /// Folds an identifier the way the dialect compares names.
    pub(crate) fn fold(&self, ident: &Ident) -> String {
        match self.dialect {
            Dialect::Postgres if ident.quote_style.is_some() => ident.value.clone(),
            Dialect::Postgres | Dialect::Sqlite => ident.value.to_ascii_lowercase(),
            Dialect::Mysql => ident.value.to_lowercase(),
        }
    }

    /// [`Self::fold`] without allocating when the identifier is already in folded form.
    fn fold_cow<'i>(&self, ident: &'i Ident) -> Cow<'i, str> {
        match self.dialect {
            Dialect::Postgres if ident.quote_style.is_some() => Cow::Borrowed(ident.value.as_str()),
            Dialect::Postgres | Dialect::Sqlite => ascii_lowercase(&ident.value),
            Dialect::Mysql => lowercase(&ident.value),
        }
    }

    /// Folds a name from the policy (stored spelling) for comparison with folded query names.
    pub(crate) fn fold_stored(&self, name: &str) -> String {
        self.fold_stored_cow(name).into_owned()
    }

    /// [`Self::fold_stored`] without allocating when the name is already in folded form.
    fn fold_stored_cow<'n>(&self, name: &'n str) -> Cow<'n, str> {
        match self.dialect {
            Dialect::Postgres => Cow::Borrowed(name),
            Dialect::Sqlite => ascii_lowercase(name),
            Dialect::Mysql => lowercase(name),
        }
    }

    /// Refuses a name with a part that is not an identifier (as [`Self::idents`] does), without collecting.
    fn check_idents(&self, name: &ObjectName) -> R {
        match name.0.iter().all(|part| matches!(part, ObjectNamePart::Identifier(_))) {
            true => Ok(()),
            false => Err(construct(format!("the name {}", snippet(name)))),
        }
    }

    fn idents<'n>(&self, name: &'n ObjectName) -> R<Vec<&'n Ident>> {
        name.0
            .iter()
            .map(|part| match part {
                ObjectNamePart::Identifier(ident) => Ok(ident),
                ObjectNamePart::Function(_) => Err(construct(format!("the name {}", snippet(name)))),
            })
            .collect()
    }

    fn current_schema(&self) -> Option<Cow<'a, str>> {
        let policy: &'a Policy = self.policy;
        match &policy.current_schema {
            Some(s) => Some(self.fold_stored_cow(s)),
            None => match self.dialect {
                Dialect::Sqlite => Some(Cow::Borrowed("main")),
                Dialect::Postgres => Some(Cow::Borrowed("public")),
                Dialect::Mysql => None,
            },
        }
    }

    fn table_matches(&self, rule: &TableName, schema: Option<&str>, name: &str, unknown_schema_matches: bool) -> bool {
        self.fold_stored_cow(&rule.name) == name
            && match (&rule.schema, schema) {
                (None, _) => true,
                (Some(rs), Some(s)) => self.fold_stored_cow(rs) == s,
                (Some(_), None) => unknown_schema_matches,
            }
    }

    /// The row filters that apply to a resolved table.
    pub(crate) fn row_filters_for(&self, table: &TableRef) -> Vec<&'a RowFilter> {
        let policy: &'a Policy = self.policy;
        policy
            .row_filters
            .iter()
            .filter(|f| self.table_matches(&f.table, table.schema.as_deref(), &table.name, true))
            .collect()
    }

    // ----- depth

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

    // ----- queries

    /// Checks a top-level query.
    pub(crate) fn check_query(&mut self, q: &Query) -> R {
        self.walk_query(q).map(drop)
    }

    /// Walks a whole query: CTEs, body, ORDER BY, LIMIT/OFFSET/FETCH. Returns its output columns.
    fn walk_query(&mut self, q: &Query) -> R<Outputs> {
        if self.forbid_subqueries {
            return Err(refuse(ErrorCode::InvalidConfig, "subqueries are not allowed in a row filter"));
        }
        self.deeper(|w| w.walk_query_parts(q))
    }

    /// [`Self::walk_query`], one level down.
    fn walk_query_parts(&mut self, q: &Query) -> R<Outputs> {
        let Query {
            with,
            body,
            order_by,
            limit_clause,
            fetch,
            locks,
            for_clause,
            settings,
            format_clause,
            pipe_operators,
        } = q;
        if let Some(lock) = locks.first() {
            return Err(refuse(ErrorCode::LockingClause, format!("{lock} is not allowed (locking clause)")));
        }
        if let Some(f) = for_clause {
            return Err(construct(format!("{f}")));
        }
        if settings.is_some() {
            return Err(construct("SETTINGS"));
        }
        if let Some(f) = format_clause {
            return Err(construct(format!("FORMAT {f}")));
        }
        if !pipe_operators.is_empty() {
            return Err(construct("the pipe operator |>"));
        }
        let (cte_mark, frame_mark) = (self.ctes.len(), self.frames.len());
        if let Some(with) = with {
            self.walk_with(with)?;
        }
        let outputs = self.walk_body(body, true)?;
        if let Some(order_by) = order_by {
            self.walk_order_by(order_by, &outputs)?;
        }
        if let Some(limit) = limit_clause {
            self.walk_limit(limit)?;
        }
        if let Some(fetch) = fetch
            && let Some(quantity) = &fetch.quantity
        {
            self.walk_expr(quantity)?;
        }
        self.frames.truncate(frame_mark);
        self.ctes.truncate(cte_mark);
        Ok(outputs)
    }

    /// CTE visibility, as each engine resolves names: MySQL — the CTEs before it, and itself under `RECURSIVE`;
    /// PostgreSQL — the same, but every CTE of the list under `WITH RECURSIVE`; SQLite — every CTE of the list
    /// (forward references and self-references resolve to CTEs even without `RECURSIVE`). Where a name might be
    /// either a CTE or a table, it is treated as the table, so the policy applies to it.
    fn walk_with(&mut self, with: &With) -> R {
        let all_visible = (with.recursive && self.dialect == Dialect::Postgres) || self.dialect == Dialect::Sqlite;
        let self_visible = with.recursive;
        if all_visible {
            for cte in &with.cte_tables {
                let columns = self.alias_columns(&cte.alias).map(Rc::new);
                self.ctes.push(CteName { name: self.fold(&cte.alias.name), columns });
            }
        }
        for cte in &with.cte_tables {
            let Cte { alias, query, from, materialized: _, closing_paren_token: _ } = cte;
            if from.is_some() {
                return Err(construct("CTE … FROM"));
            }
            let name = self.fold(&alias.name);
            let declared = self.alias_columns(alias).map(Rc::new);
            let own_entry = !all_visible && self_visible;
            if own_entry {
                self.ctes.push(CteName { name: name.clone(), columns: declared.clone() });
            }
            let outputs = self.walk_query(query)?;
            let columns = declared.or_else(|| outputs.complete.then(|| Rc::new(outputs.names)));
            if own_entry {
                self.ctes.pop();
            }
            if !all_visible {
                self.ctes.push(CteName { name, columns });
            }
        }
        Ok(())
    }

    fn alias_columns(&self, alias: &TableAlias) -> Option<Vec<String>> {
        (!alias.columns.is_empty()).then(|| alias.columns.iter().map(|c| self.fold(&c.name)).collect())
    }

    /// Walks a query body. With `keep_frame`, a SELECT's FROM scope stays pushed for the caller's ORDER BY.
    fn walk_body(&mut self, body: &SetExpr, keep_frame: bool) -> R<Outputs> {
        self.deeper(|w| w.walk_body_parts(body, keep_frame))
    }

    /// [`Self::walk_body`], one level down.
    fn walk_body_parts(&mut self, body: &SetExpr, keep_frame: bool) -> R<Outputs> {
        let outputs = match body {
            SetExpr::Select(select) => self.walk_select(select, keep_frame)?,
            SetExpr::Query(q) => self.walk_query(q)?,
            SetExpr::SetOperation { left, op, set_quantifier, right } => {
                if !matches!(op, SetOperator::Union | SetOperator::Except | SetOperator::Intersect) {
                    return Err(construct(format!("the set operator {op}")));
                }
                if !matches!(set_quantifier, SetQuantifier::All | SetQuantifier::Distinct | SetQuantifier::None) {
                    return Err(construct(format!("{op} {set_quantifier}")));
                }
                let first = self.walk_body(left, false)?;
                self.walk_body(right, false)?;
                Outputs { set_operation: true, ..first }
            }
            SetExpr::Values(values) => {
                for row in &values.rows {
                    for e in &row.content {
                        self.walk_expr(e)?;
                    }
                }
                Outputs::default()
            }
            SetExpr::Insert(_) => return Err(data_modifying("INSERT")),
            SetExpr::Update(_) => return Err(data_modifying("UPDATE")),
            SetExpr::Delete(_) => return Err(data_modifying("DELETE")),
            SetExpr::Merge(_) => return Err(data_modifying("MERGE")),
            SetExpr::Table(t) => return Err(construct(format!("{t}"))),
        };
        Ok(outputs)
    }

    fn walk_select(&mut self, s: &Select, keep_frame: bool) -> R<Outputs> {
        let Select {
            select_token: _,
            optimizer_hints,
            distinct,
            select_modifiers: _,
            top,
            top_before_distinct: _,
            projection,
            exclude,
            into,
            from,
            lateral_views,
            prewhere,
            selection,
            connect_by,
            group_by,
            cluster_by,
            distribute_by,
            sort_by,
            having,
            named_window,
            qualify,
            window_before_qualify: _,
            value_table_mode,
            flavor,
        } = s;
        if into.is_some() {
            return Err(refuse(ErrorCode::IntoClause, "SELECT … INTO is not allowed"));
        }
        if !optimizer_hints.is_empty() {
            return Err(construct("an optimizer hint /*+ … */"));
        }
        let unsupported = [
            (top.is_some(), "TOP"),
            (exclude.is_some(), "EXCLUDE"),
            (!lateral_views.is_empty(), "LATERAL VIEW"),
            (prewhere.is_some(), "PREWHERE"),
            (!connect_by.is_empty(), "CONNECT BY"),
            (!cluster_by.is_empty(), "CLUSTER BY"),
            (!distribute_by.is_empty(), "DISTRIBUTE BY"),
            (!sort_by.is_empty(), "SORT BY"),
            (qualify.is_some(), "QUALIFY"),
            (value_table_mode.is_some(), "SELECT AS STRUCT/VALUE"),
            (*flavor != SelectFlavor::Standard, "FROM-first SELECT"),
        ];
        if let Some((_, what)) = unsupported.iter().find(|(present, _)| *present) {
            return Err(construct(what));
        }
        self.frames.push(Vec::new());
        for table in from {
            self.walk_table_with_joins(table)?;
        }
        if let Some(Distinct::On(exprs)) = distinct {
            self.walk_exprs(exprs)?;
        }
        let mut outputs = Outputs { complete: true, ..Outputs::default() };
        for item in projection {
            match self.walk_select_item(item)? {
                Some(name) => outputs.names.push(name),
                None => outputs.complete = false,
            }
        }
        if let Some(e) = selection {
            self.walk_expr(e)?;
        }
        self.walk_group_by(group_by)?;
        if let Some(e) = having {
            self.walk_expr(e)?;
        }
        for window in named_window {
            if let NamedWindowExpr::WindowSpec(spec) = &window.1 {
                self.walk_window_spec(spec)?;
            }
        }
        if !keep_frame {
            self.frames.pop();
        }
        Ok(outputs)
    }

    /// Returns the item's output name when it has one.
    fn walk_select_item(&mut self, item: &SelectItem) -> R<Option<String>> {
        match item {
            SelectItem::UnnamedExpr(e) => {
                self.walk_expr(e)?;
                Ok(match e {
                    Expr::Identifier(ident) => Some(self.fold(ident)),
                    Expr::CompoundIdentifier(parts) => parts.last().map(|i| self.fold(i)),
                    _ => None,
                })
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                self.walk_expr(expr)?;
                Ok(Some(self.fold(alias)))
            }
            SelectItem::ExprWithAliases { .. } => Err(construct(format!("the select item {}", snippet(item)))),
            SelectItem::Wildcard(options) => {
                self.check_wildcard_options(options)?;
                self.check_star(None)?;
                Ok(None)
            }
            SelectItem::QualifiedWildcard(kind, options) => {
                self.check_wildcard_options(options)?;
                match kind {
                    SelectItemQualifiedWildcardKind::ObjectName(name) => self.check_star(Some(name))?,
                    SelectItemQualifiedWildcardKind::Expr(_) => {
                        return Err(construct(format!("the select item {}", snippet(item))));
                    }
                }
                Ok(None)
            }
        }
    }

    fn check_wildcard_options(&self, o: &WildcardAdditionalOptions) -> R {
        let WildcardAdditionalOptions {
            wildcard_token: _,
            opt_ilike,
            opt_exclude,
            opt_except,
            opt_replace,
            opt_rename,
            opt_alias,
        } = o;
        if opt_ilike.is_some()
            || opt_exclude.is_some()
            || opt_except.is_some()
            || opt_replace.is_some()
            || opt_rename.is_some()
            || opt_alias.is_some()
        {
            return Err(construct(format!("* {}", snippet(o).trim())));
        }
        Ok(())
    }

    fn walk_group_by(&mut self, group_by: &GroupByExpr) -> R {
        match group_by {
            GroupByExpr::All(_) => Err(construct("GROUP BY ALL")),
            GroupByExpr::Expressions(exprs, modifiers) => {
                self.walk_exprs(exprs)?;
                for m in modifiers {
                    match m {
                        GroupByWithModifier::Rollup | GroupByWithModifier::Cube => {}
                        GroupByWithModifier::GroupingSets(e) => self.walk_expr(e)?,
                        GroupByWithModifier::Totals => return Err(construct("WITH TOTALS")),
                    }
                }
                Ok(())
            }
        }
    }

    fn walk_order_by(&mut self, order_by: &OrderBy, outputs: &Outputs) -> R {
        if order_by.interpolate.is_some() {
            return Err(construct("INTERPOLATE"));
        }
        match &order_by.kind {
            OrderByKind::All(_) => Err(construct("ORDER BY ALL")),
            OrderByKind::Expressions(exprs) => {
                for e in exprs {
                    self.walk_order_by_expr(e, Some(outputs))?;
                }
                Ok(())
            }
        }
    }

    /// A bare name in a query's ORDER BY names an output column first in all three engines (for set operations,
    /// only output columns), so it is not checked as an input column.
    fn walk_order_by_expr(&mut self, e: &OrderByExpr, outputs: Option<&Outputs>) -> R {
        let OrderByExpr { expr, options, with_fill } = e;
        if with_fill.is_some() {
            return Err(construct("WITH FILL"));
        }
        if let Some(OrderBySort::Using(op)) = &options.sort {
            return Err(construct(format!("ORDER BY … USING {op}")));
        }
        if let (Some(outputs), Expr::Identifier(ident)) = (outputs, expr)
            && (outputs.set_operation || outputs.names.contains(&self.fold(ident)))
        {
            return Ok(());
        }
        self.walk_expr(expr)
    }

    fn walk_limit(&mut self, limit: &LimitClause) -> R {
        match limit {
            LimitClause::LimitOffset { limit, offset, limit_by } => {
                if !limit_by.is_empty() {
                    return Err(construct("LIMIT … BY"));
                }
                if let Some(e) = limit {
                    self.walk_expr(e)?;
                }
                if let Some(o) = offset {
                    self.walk_expr(&o.value)?;
                }
                Ok(())
            }
            LimitClause::OffsetCommaLimit { offset, limit } => {
                self.walk_expr(offset)?;
                self.walk_expr(limit)
            }
        }
    }

    // ----- FROM

    /// True when column checks can run, the only readers of the relations in `frames`: some table has a column
    /// restriction, or PostgreSQL attribute notation is checked against known columns.
    fn tracks_relations(&self) -> bool {
        self.columns_enforced || (self.dialect == Dialect::Postgres && !self.policy.known_columns.is_empty())
    }

    /// Adds the relation `build` makes to the innermost FROM scope — only when [`Self::tracks_relations`]: no
    /// other walk reads relations, so building them would be wasted work.
    fn push_rel(&mut self, build: impl FnOnce(&Self) -> Rel) {
        if !self.tracks_relations() {
            return;
        }
        let rel = build(self);
        if let Some(frame) = self.frames.last_mut() {
            frame.push(rel);
        }
    }

    fn walk_table_with_joins(&mut self, t: &TableWithJoins) -> R {
        self.walk_table_factor(&t.relation)?;
        for join in &t.joins {
            self.walk_join(join)?;
        }
        Ok(())
    }

    fn walk_join(&mut self, join: &Join) -> R {
        let Join { relation, global, join_operator } = join;
        if *global {
            return Err(construct("GLOBAL JOIN"));
        }
        self.walk_table_factor(relation)?;
        match join_operator {
            JoinOperator::Join(c)
            | JoinOperator::Inner(c)
            | JoinOperator::Left(c)
            | JoinOperator::LeftOuter(c)
            | JoinOperator::Right(c)
            | JoinOperator::RightOuter(c)
            | JoinOperator::FullOuter(c)
            | JoinOperator::CrossJoin(c)
            | JoinOperator::StraightJoin(c) => self.walk_join_constraint(c),
            other => Err(construct(format!("the join {}", snippet(&JoinKind(other))))),
        }
    }

    fn walk_join_constraint(&mut self, c: &JoinConstraint) -> R {
        match c {
            JoinConstraint::On(e) => self.walk_expr(e),
            JoinConstraint::Using(names) => {
                for name in names {
                    let idents = self.idents(name)?;
                    match idents.as_slice() {
                        [column] => self.check_column(&[], column)?,
                        _ => return Err(construct(format!("USING ({})", snippet(name)))),
                    }
                }
                Ok(())
            }
            JoinConstraint::Natural => {
                if self.columns_enforced {
                    let frame = self.frames.last().map(|f| f.as_slice()).unwrap_or_default();
                    if let Some(r) = frame.iter().find_map(|rel| rel.restricted.as_ref()) {
                        return Err(refuse(
                            ErrorCode::ForbiddenColumn,
                            format!(
                                "NATURAL JOIN is not allowed with {}, which has column restrictions; join with ON",
                                r.shown
                            ),
                        ));
                    }
                }
                Ok(())
            }
            JoinConstraint::None => Ok(()),
        }
    }

    fn walk_table_factor(&mut self, tf: &TableFactor) -> R {
        match tf {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_hints,
            } => {
                let unsupported = [
                    (!with_hints.is_empty(), "table hints WITH (…)"),
                    (version.is_some(), "time travel (AS OF)"),
                    (!partitions.is_empty(), "PARTITION (…)"),
                    (json_path.is_some(), "a JSON path on a table"),
                    (sample.is_some(), "TABLESAMPLE"),
                    (*with_ordinality && args.is_none(), "WITH ORDINALITY on a table"),
                ];
                if let Some((_, what)) = unsupported.iter().find(|(present, _)| *present) {
                    return Err(construct(what));
                }
                if let Some(args) = args {
                    if args.settings.is_some() {
                        return Err(construct("SETTINGS in a table function"));
                    }
                    self.walk_table_function(name, &args.args)?;
                    self.push_rel(|w| Rel::derived(alias.as_ref(), w.last_name(name), None, w));
                    return Ok(());
                }
                self.walk_table(name, alias.as_ref(), !index_hints.is_empty())
            }
            TableFactor::Derived { lateral, subquery, alias, sample } => {
                if sample.is_some() {
                    return Err(construct("TABLESAMPLE"));
                }
                if let Mode::Verify(sealed) = self.mode
                    && !*lateral
                    && sealed.contains(&subquery.to_string())
                {
                    self.push_rel(|w| Rel::derived(alias.as_ref(), String::new(), None, w));
                    return Ok(());
                }
                let outputs = self.walk_query(subquery)?;
                let columns = outputs.complete.then_some(outputs.names);
                self.push_rel(|w| Rel::derived(alias.as_ref(), String::new(), columns.map(Rc::new), w));
                Ok(())
            }
            TableFactor::Function { lateral: _, name, args, with_ordinality: _, alias } => {
                self.walk_table_function(name, args)?;
                self.push_rel(|w| Rel::derived(alias.as_ref(), w.last_name(name), None, w));
                Ok(())
            }
            TableFactor::UNNEST { alias, array_exprs, with_offset, with_offset_alias: _, with_ordinality: _ } => {
                if *with_offset {
                    return Err(construct("UNNEST … WITH OFFSET"));
                }
                self.walk_exprs(array_exprs)?;
                self.push_rel(|w| Rel::derived(alias.as_ref(), "unnest".to_string(), None, w));
                Ok(())
            }
            TableFactor::JsonTable { json_expr, json_path: _, columns: _, alias } => {
                self.walk_expr(json_expr)?;
                self.push_rel(|w| Rel::derived(alias.as_ref(), String::new(), None, w));
                Ok(())
            }
            // Parenthesised joins nest without counting as depth (the parser bounds them): check the stack each time.
            TableFactor::NestedJoin { table_with_joins, alias: None } => {
                self.with_stack(|w| w.walk_table_with_joins(table_with_joins))
            }
            other => Err(construct(format!("the FROM item {}", snippet(other)))),
        }
    }

    fn last_name(&self, name: &ObjectName) -> String {
        match name.0.last() {
            Some(ObjectNamePart::Identifier(ident)) => self.fold(ident),
            _ => String::new(),
        }
    }

    /// A plain table reference: a CTE, `DUAL`, or a base table checked against catalogs and the policy.
    fn walk_table(&mut self, name: &ObjectName, alias: Option<&TableAlias>, index_hints: bool) -> R {
        match self.resolve_table(name)? {
            Resolved::Dual => Ok(()),
            Resolved::Cte(columns) => {
                self.push_rel(|w| Rel::derived(alias, w.last_name(name), columns, w));
                Ok(())
            }
            Resolved::Base(base) => {
                if base.filtered {
                    match self.mode {
                        Mode::Check => {
                            if index_hints {
                                return Err(construct(format!("an index hint on the row-filtered table {name}")));
                            }
                            // sqlparser gives no source location to a name part it took from a string token
                            // (MySQL `"orders"`): the rewrite could not splice it, so refuse it here.
                            if name.0.iter().any(|part| part.span() == Span::empty()) {
                                return Err(construct(format!(
                                    "the row-filtered table name {name} (quote names with backticks in MySQL)"
                                )));
                            }
                            let last_span = name.0.last().map(|part| part.span()).unwrap_or(Span::empty());
                            self.findings.rewrites.push(RewriteTarget {
                                table: base.table_ref(),
                                name_span: name.span(),
                                last_span,
                                has_alias: alias.is_some(),
                            });
                        }
                        Mode::Verify(_) => {
                            return Err(refuse(
                                ErrorCode::ForbiddenTable,
                                format!("the row filter on table {name} could not be applied"),
                            ));
                        }
                    }
                }
                if self.collect {
                    self.findings.tables.insert(base.table_ref());
                }
                self.push_rel(|w| Rel {
                    name: alias.map(|a| w.fold(&a.name)).unwrap_or_else(|| w.last_name(name)),
                    columns: match alias {
                        Some(a) if !a.columns.is_empty() => w.alias_columns(a).map(Rc::new),
                        _ => base.columns(w).map(Rc::new),
                    },
                    schema: if alias.is_some() { None } else { base.schema.map(Cow::into_owned) },
                    restricted: base.restricted,
                    base: true,
                });
                Ok(())
            }
        }
    }

    /// Resolves a table name: CTE in scope, MySQL `DUAL`, or a base table the policy allows.
    fn resolve_table<'n>(&self, name: &'n ObjectName) -> R<Resolved<'n>>
    where
        'a: 'n,
    {
        self.check_idents(name)?;
        let parts = name.0.as_slice();
        let Some(ObjectNamePart::Identifier(last)) = parts.last() else {
            return Err(construct("an empty table name"));
        };
        let folded = self.fold_cow(last);
        if parts.len() == 1 {
            if let Some(cte) = self.ctes.iter().rev().find(|c| c.name == *folded) {
                return Ok(Resolved::Cte(cte.columns.clone()));
            }
            if self.dialect == Dialect::Mysql && folded == "dual" {
                return Ok(Resolved::Dual);
            }
            if self.dialect == Dialect::Postgres && last.quote_style.is_none() && folded == "only" {
                return Err(construct("FROM ONLY"));
            }
        }
        if parts.len() > 2 {
            return Err(refuse(
                ErrorCode::ForbiddenTable,
                format!("table {name} is not allowed: names with more than two parts are not supported"),
            ));
        }
        let schema = match parts {
            [ObjectNamePart::Identifier(schema), _] => Some(self.fold_cow(schema)),
            _ => None,
        };
        let qualified = schema.is_some();
        let effective = schema.or_else(|| self.current_schema());
        self.check_base_table(name, qualified, effective, folded)
    }

    /// Checks a base table (`schema` is the one it resolves to, `name` folded) against catalogs and the policy.
    fn check_base_table<'n>(
        &self,
        shown: &ObjectName,
        qualified: bool,
        schema: Option<Cow<'n, str>>,
        name: Cow<'n, str>,
    ) -> R<Resolved<'n>>
    where
        'a: 'n,
    {
        let lower_schema = schema.as_deref().map(lowercase);
        if let Some(kind) = catalogs::classify(self.dialect, lower_schema.as_deref(), &lowercase(&name)) {
            if !self.catalog_allowed(kind) {
                return Err(refuse(
                    ErrorCode::ForbiddenTable,
                    format!("table {shown} is not allowed: it is a system catalog"),
                ));
            }
            let (restricted, filtered, known) = (None, false, None);
            return Ok(Resolved::Base(BaseTable { schema, name, known, restricted, filtered }));
        }
        if let Some(s) = &lower_schema
            && catalogs::is_system_schema(self.dialect, s)
        {
            return Err(refuse(
                ErrorCode::ForbiddenTable,
                format!("table {shown} is not allowed: it is a system catalog"),
            ));
        }
        // An unqualified MySQL name with no known current schema is in the connection's database: allowed.
        if let (Some(allowed), Some(s)) = (&self.policy.schemas, &schema)
            && (qualified || self.policy.current_schema.is_some() || self.dialect != Dialect::Mysql)
            && !allowed.iter().any(|a| self.fold_stored_cow(a) == *s)
        {
            return Err(refuse(
                ErrorCode::ForbiddenTable,
                format!("table {shown} is not allowed: schema {s} is not allowed"),
            ));
        }
        let rules: Vec<_> = self
            .policy
            .rules
            .iter()
            .filter(|r| self.table_matches(&r.table, schema.as_deref(), &name, false))
            .collect();
        if self.policy.only_listed_tables && rules.is_empty() {
            return Err(refuse(ErrorCode::ForbiddenTable, format!("table {shown} is not allowed")));
        }
        let restricted = self.restriction(shown, &rules);
        let filtered =
            self.policy.row_filters.iter().any(|f| self.table_matches(&f.table, schema.as_deref(), &name, true));
        let known = self
            .policy
            .known_columns
            .iter()
            .find(|(t, _)| self.table_matches(t, schema.as_deref(), &name, false))
            .map(|(_, cols)| cols.as_slice());
        Ok(Resolved::Base(BaseTable { schema, name, known, restricted, filtered }))
    }

    fn catalog_allowed(&self, kind: CatalogKind) -> bool {
        match self.policy.catalogs {
            CatalogAccess::None => false,
            CatalogAccess::Metadata => kind == CatalogKind::Metadata,
            CatalogAccess::All => true,
        }
    }

    /// The intersection of the column lists of every matching rule that restricts columns.
    fn restriction(&self, shown: &ObjectName, rules: &[&super::policy::TableRule]) -> Option<Rc<Restriction>> {
        let mut lists = rules.iter().filter_map(|r| r.columns.as_ref());
        let first = lists.next()?;
        let mut listed: Vec<String> = first.clone();
        for other in lists {
            listed.retain(|c| other.iter().any(|o| self.fold_stored(o) == self.fold_stored(c)));
        }
        let folded = listed.iter().map(|c| self.fold_stored(c)).collect();
        Some(Rc::new(Restriction { shown: shown.to_string(), listed, folded }))
    }

    /// A table-valued function in FROM: SQLite's `pragma_*` functions are catalogs; others must be on the
    /// dialect's table-function allow-list.
    fn walk_table_function(&mut self, name: &ObjectName, args: &[FunctionArg]) -> R {
        let lname = self.function_name(name)?;
        if self.dialect == Dialect::Sqlite
            && let Some(kind) = catalogs::classify(self.dialect, None, &lname)
        {
            if !self.catalog_allowed(kind) {
                return Err(refuse(
                    ErrorCode::ForbiddenTable,
                    format!("table-valued function {name} is not allowed: it is a system catalog"),
                ));
            }
            return self.walk_function_args(args, &lname);
        }
        if !functions::is_table_function(self.dialect, &lname) && !self.is_extra_function(&lname) {
            return Err(refuse(ErrorCode::ForbiddenFunction, format!("function {name} is not allowed")));
        }
        self.record_function(&lname);
        self.walk_function_args(args, &lname)
    }

    fn is_extra_function(&self, lname: &str) -> bool {
        self.policy.extra_functions.iter().any(|f| f == lname)
    }

    fn record_function(&mut self, lname: &str) {
        if self.collect && !self.findings.functions.contains(lname) {
            self.findings.functions.insert(lname.to_string());
        }
    }

    /// The function's lower-cased unqualified name. Qualified names are refused except PostgreSQL's
    /// `pg_catalog.f`; a quoted PostgreSQL name keeps its case (so `"ABS"` is not `abs`).
    fn function_name<'n>(&self, name: &'n ObjectName) -> R<Cow<'n, str>> {
        self.check_idents(name)?;
        let forbidden = || refuse(ErrorCode::ForbiddenFunction, format!("function {name} is not allowed"));
        let (qualifier, last) = match name.0.as_slice() {
            [ObjectNamePart::Identifier(last)] => (None, last),
            [ObjectNamePart::Identifier(qualifier), ObjectNamePart::Identifier(last)] => (Some(qualifier), last),
            _ => return Err(forbidden()),
        };
        if let Some(q) = qualifier
            && !(self.dialect == Dialect::Postgres && self.fold_cow(q) == "pg_catalog")
        {
            return Err(forbidden());
        }
        Ok(match self.dialect {
            Dialect::Postgres if last.quote_style.is_some() => Cow::Borrowed(last.value.as_str()),
            _ => lowercase(&last.value),
        })
    }

    // ----- expressions

    fn walk_exprs(&mut self, exprs: &[Expr]) -> R {
        exprs.iter().try_for_each(|e| self.walk_expr(e))
    }

    fn walk_opt(&mut self, e: &Option<Box<Expr>>) -> R {
        match e {
            Some(e) => self.walk_expr(e),
            None => Ok(()),
        }
    }

    pub(crate) fn walk_expr(&mut self, e: &Expr) -> R {
        self.deeper(|w| w.walk_expr_inner(e))
    }

    fn walk_expr_inner(&mut self, e: &Expr) -> R {
        match e {
            Expr::Identifier(ident) => self.check_identifier(ident),
            Expr::CompoundIdentifier(parts) => self.check_compound(parts),
            Expr::CompoundFieldAccess { root, access_chain } => {
                self.walk_expr(root)?;
                for access in access_chain {
                    match access {
                        AccessExpr::Dot(Expr::Identifier(_)) => {}
                        AccessExpr::Dot(other) => {
                            return Err(construct(format!("the field access .{}", snippet(other))));
                        }
                        AccessExpr::Subscript(Subscript::Index { index }) => self.walk_expr(index)?,
                        AccessExpr::Subscript(Subscript::Slice { lower_bound, upper_bound, stride }) => {
                            for bound in [lower_bound, upper_bound, stride].into_iter().flatten() {
                                self.walk_expr(bound)?;
                            }
                        }
                    }
                }
                Ok(())
            }
            Expr::IsFalse(x)
            | Expr::IsNotFalse(x)
            | Expr::IsTrue(x)
            | Expr::IsNotTrue(x)
            | Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotUnknown(x)
            | Expr::Nested(x)
            | Expr::UnaryOp { expr: x, op: _ }
            | Expr::Extract { expr: x, field: _, syntax: _ }
            | Expr::Ceil { expr: x, field: _ }
            | Expr::Floor { expr: x, field: _ }
            | Expr::Collate { expr: x, collation: _ }
            | Expr::IsJson { expr: x, .. }
            | Expr::IsNormalized { expr: x, .. } => self.walk_expr(x),
            Expr::Prefixed { prefix, value } => {
                if self.dialect != Dialect::Mysql || !prefix.value.starts_with('_') {
                    return Err(construct(format!("the expression {}", snippet(e))));
                }
                self.walk_expr(value)
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                self.walk_expr(a)?;
                self.walk_expr(b)
            }
            Expr::InList { expr, list, negated: _ } => {
                self.walk_expr(expr)?;
                self.walk_exprs(list)
            }
            Expr::InSubquery { expr, subquery, negated: _ } => {
                self.walk_expr(expr)?;
                self.walk_query(subquery).map(drop)
            }
            Expr::Between { expr, negated: _, low, high } => {
                self.walk_expr(expr)?;
                self.walk_expr(low)?;
                self.walk_expr(high)
            }
            Expr::BinaryOp { left, op, right } => {
                check_operator(op)?;
                self.walk_expr(left)?;
                self.walk_expr(right)
            }
            Expr::Like { expr, pattern, escape_char, .. }
            | Expr::ILike { expr, pattern, escape_char, .. }
            | Expr::SimilarTo { expr, pattern, escape_char, .. } => {
                self.walk_expr(expr)?;
                self.walk_expr(pattern)?;
                self.walk_opt(escape_char)
            }
            Expr::RLike { expr, pattern, .. } => {
                self.walk_expr(expr)?;
                self.walk_expr(pattern)
            }
            Expr::AnyOp { left, compare_op, right, .. } | Expr::AllOp { left, compare_op, right } => {
                check_operator(compare_op)?;
                self.walk_expr(left)?;
                self.walk_expr(right)
            }
            Expr::Convert { is_try: _, expr, data_type: _, charset: _, target_before_value: _, styles } => {
                self.walk_expr(expr)?;
                self.walk_exprs(styles)
            }
            Expr::Cast { kind: _, expr, data_type: _, format } => {
                if format.is_some() {
                    return Err(construct("CAST … FORMAT"));
                }
                self.walk_expr(expr)
            }
            Expr::AtTimeZone { timestamp, time_zone } => {
                self.walk_expr(timestamp)?;
                self.walk_expr(time_zone)
            }
            Expr::Position { expr, r#in } => {
                self.walk_expr(expr)?;
                self.walk_expr(r#in)
            }
            Expr::Substring { expr, substring_from, substring_for, .. } => {
                self.walk_expr(expr)?;
                self.walk_opt(substring_from)?;
                self.walk_opt(substring_for)
            }
            Expr::Trim { expr, trim_where: _, trim_what, trim_characters } => {
                self.walk_expr(expr)?;
                self.walk_opt(trim_what)?;
                match trim_characters {
                    Some(chars) => self.walk_exprs(chars),
                    None => Ok(()),
                }
            }
            Expr::Overlay { expr, overlay_what, overlay_from, overlay_for } => {
                self.walk_expr(expr)?;
                self.walk_expr(overlay_what)?;
                self.walk_expr(overlay_from)?;
                self.walk_opt(overlay_for)
            }
            Expr::Value(v) => self.check_value(v),
            Expr::TypedString(ts) => {
                if ts.uses_odbc_syntax {
                    return Err(construct("ODBC escapes {…}"));
                }
                self.check_value(&ts.value)
            }
            Expr::Function(f) => self.walk_function(f),
            Expr::Case { case_token: _, end_token: _, operand, conditions, else_result } => {
                self.walk_opt(operand)?;
                for CaseWhen { condition, result } in conditions {
                    self.walk_expr(condition)?;
                    self.walk_expr(result)?;
                }
                self.walk_opt(else_result)
            }
            Expr::Exists { subquery, negated: _ } | Expr::Subquery(subquery) => self.walk_query(subquery).map(drop),
            Expr::GroupingSets(sets) | Expr::Cube(sets) | Expr::Rollup(sets) => {
                sets.iter().try_for_each(|set| self.walk_exprs(set))
            }
            Expr::Tuple(items) => self.walk_exprs(items),
            Expr::Array(array) => self.walk_exprs(&array.elem),
            Expr::Interval(interval) => self.walk_expr(&interval.value),
            Expr::MatchAgainst { columns, match_value, opt_search_modifier: _ } => {
                for column in columns {
                    let idents: Vec<Ident> = self.idents(column)?.into_iter().cloned().collect();
                    self.check_compound(&idents)?;
                }
                self.check_value(match_value)
            }
            Expr::MemberOf(m) => {
                self.walk_expr(&m.value)?;
                self.walk_expr(&m.array)
            }
            other => Err(construct(format!("the expression {}", snippet(other)))),
        }
    }

    fn check_value(&self, v: &ValueWithSpan) -> R {
        match &v.value {
            Value::Placeholder(p) => Err(construct(format!("the parameter placeholder {p}"))),
            Value::DoubleQuotedString(_) if self.dialect == Dialect::Mysql && self.columns_enforced => Err(construct(
                "double-quoted text in MySQL when columns are restricted (it is a column name under ANSI_QUOTES); \
                 use single quotes",
            )),
            _ => Ok(()),
        }
    }

    fn walk_function(&mut self, f: &Function) -> R {
        let Function { name, uses_odbc_syntax, parameters, args, within_group, filter, null_treatment: _, over } = f;
        if *uses_odbc_syntax {
            return Err(construct("ODBC escapes {fn …}"));
        }
        if !matches!(parameters, FunctionArguments::None) {
            return Err(construct(format!("parametric function {name}(…)(…)")));
        }
        let lname = self.function_name(name)?;
        if !functions::is_allowed(self.dialect, &lname) && !self.is_extra_function(&lname) {
            return Err(refuse(ErrorCode::ForbiddenFunction, format!("function {name} is not allowed")));
        }
        self.record_function(&lname);
        match args {
            FunctionArguments::None => {}
            FunctionArguments::Subquery(q) => {
                self.walk_query(q)?;
            }
            FunctionArguments::List(FunctionArgumentList { duplicate_treatment: _, args, clauses }) => {
                self.walk_function_args(args, &lname)?;
                for clause in clauses {
                    match clause {
                        FunctionArgumentClause::IgnoreOrRespectNulls(_)
                        | FunctionArgumentClause::Separator(_)
                        | FunctionArgumentClause::JsonNullClause(_)
                        | FunctionArgumentClause::JsonReturningClause(_) => {}
                        FunctionArgumentClause::OrderBy(exprs) => {
                            for e in exprs {
                                self.walk_order_by_expr(e, None)?;
                            }
                        }
                        other => return Err(construct(format!("the function clause {}", snippet(other)))),
                    }
                }
            }
        }
        for e in within_group {
            self.walk_order_by_expr(e, None)?;
        }
        self.walk_opt(filter)?;
        match over {
            Some(WindowType::WindowSpec(spec)) => self.walk_window_spec(spec),
            Some(WindowType::NamedWindow(_)) | None => Ok(()),
        }
    }

    fn walk_function_args(&mut self, args: &[FunctionArg], lname: &str) -> R {
        for arg in args {
            let value = match arg {
                FunctionArg::Unnamed(value) | FunctionArg::Named { arg: value, .. } => value,
                FunctionArg::ExprNamed { .. } => return Err(construct(format!("the argument {}", snippet(arg)))),
            };
            match value {
                FunctionArgExpr::Expr(e) => self.walk_expr(e)?,
                // count(*) reads no column; any other f(*) may expose every column.
                FunctionArgExpr::Wildcard if lname == "count" => {}
                FunctionArgExpr::Wildcard => self.check_star(None)?,
                FunctionArgExpr::QualifiedWildcard(q) => self.check_star(Some(q))?,
                FunctionArgExpr::WildcardWithOptions(_) => {
                    return Err(construct(format!("the argument {}", snippet(arg))));
                }
            }
        }
        Ok(())
    }

    fn walk_window_spec(&mut self, spec: &WindowSpec) -> R {
        let WindowSpec { window_name: _, partition_by, order_by, window_frame } = spec;
        self.walk_exprs(partition_by)?;
        for e in order_by {
            self.walk_order_by_expr(e, None)?;
        }
        if let Some(frame) = window_frame {
            for bound in std::iter::once(&frame.start_bound).chain(frame.end_bound.as_ref()) {
                if let WindowFrameBound::Preceding(Some(e)) | WindowFrameBound::Following(Some(e)) = bound {
                    self.walk_expr(e)?;
                }
            }
        }
        Ok(())
    }

    // ----- columns

    fn check_identifier(&self, ident: &Ident) -> R {
        if ident.quote_style.is_none() && ident.value.starts_with('@') {
            return Err(construct(format!("the variable {}", ident.value)));
        }
        self.check_column(&[], ident)
    }

    fn check_compound(&self, parts: &[Ident]) -> R {
        if let Some(var) = parts.iter().find(|p| p.quote_style.is_none() && p.value.starts_with('@')) {
            return Err(construct(format!("the variable {}", var.value)));
        }
        match parts {
            [] => Ok(()),
            [column] => self.check_column(&[], column),
            [qualifier @ .., column] if qualifier.len() <= 2 => self.check_column(qualifier, column),
            _ => Err(construct(format!(
                "the name {}",
                parts.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(".")
            ))),
        }
    }

    /// Checks one column reference against column restrictions.
    ///
    /// Qualified: the relations the qualifier names in the innermost scope that has one. Unqualified: scopes from the
    /// innermost outwards, as the engine resolves; a relation that certainly has the column ends the search, one
    /// that might have it does not. A restricted relation that has or might have the column must allow it. In
    /// PostgreSQL a bare name can also be a whole-row reference to a relation of that name.
    fn check_column(&self, qualifier: &[Ident], column: &Ident) -> R {
        let attribute_check = self.dialect == Dialect::Postgres && !self.policy.known_columns.is_empty();
        if !self.columns_enforced && !attribute_check {
            return Ok(());
        }
        let c = self.fold(column);
        if !qualifier.is_empty() {
            let rels = self.resolve_qualifier(qualifier);
            if !rels.is_empty() {
                for rel in rels {
                    // In PostgreSQL `t.f` calls f(t) when t has no column f ("attribute notation").
                    if attribute_check && rel.base && rel.has(&c) == Has::No {
                        return Err(construct(format!(
                            "{}.{column}, which is not a column of the table (attribute-notation function call),",
                            join_idents(qualifier)
                        )));
                    }
                    if let Some(r) = &rel.restricted
                        && rel.has(&c) != Has::No
                        && !r.allows(&c)
                    {
                        return Err(forbidden_column(r, &format!("{}.{column}", join_idents(qualifier))));
                    }
                }
                return Ok(());
            }
        }
        if !self.columns_enforced {
            return Ok(());
        }
        if self.dialect == Dialect::Postgres && qualifier.is_empty() {
            for rel in self.frames.iter().rev().flatten() {
                if let Some(r) = &rel.restricted
                    && rel.name == c
                    && (rel.has(&c) != Has::Yes || !r.allows(&c))
                {
                    return Err(refuse(
                        ErrorCode::ForbiddenColumn,
                        format!("the whole-row reference {column} is not allowed: {} has column restrictions", r.shown),
                    ));
                }
            }
        }
        for frame in self.frames.iter().rev() {
            for rel in frame {
                if let Some(r) = &rel.restricted
                    && rel.has(&c) != Has::No
                    && !r.allows(&c)
                {
                    return Err(forbidden_column(r, &column.to_string()));
                }
            }
            if frame.iter().any(|rel| rel.has(&c) == Has::Yes) {
                break;
            }
        }
        Ok(())
    }

    /// Relations a qualifier (`t`, `schema.t`) names, from the innermost scope that has any.
    fn resolve_qualifier(&self, qualifier: &[Ident]) -> Vec<&Rel> {
        let (schema, name) = match qualifier {
            [name] => (None, self.fold(name)),
            [schema, name] => (Some(self.fold(schema)), self.fold(name)),
            _ => return Vec::new(),
        };
        for frame in self.frames.iter().rev() {
            let found: Vec<&Rel> = frame
                .iter()
                .filter(|rel| {
                    !rel.name.is_empty()
                        && rel.name == name
                        && schema.as_ref().is_none_or(|s| rel.schema.as_ref() == Some(s))
                })
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    /// `*` (when `qualifier` is `None`, over the innermost FROM) or `q.*` must not cover a restricted table.
    fn check_star(&self, qualifier: Option<&ObjectName>) -> R {
        if !self.columns_enforced {
            return Ok(());
        }
        let restricted: Option<&Rc<Restriction>> = match qualifier {
            None => self.frames.last().and_then(|f| f.iter().find_map(|rel| rel.restricted.as_ref())),
            Some(q) => {
                let idents: Vec<Ident> = self.idents(q)?.into_iter().cloned().collect();
                let rels = self.resolve_qualifier(&idents);
                if rels.is_empty() {
                    self.frames.iter().flatten().find_map(|rel| rel.restricted.as_ref())
                } else {
                    rels.into_iter().find_map(|rel| rel.restricted.as_ref())
                }
            }
        };
        match restricted {
            Some(r) => Err(refuse(
                ErrorCode::ForbiddenColumn,
                format!(
                    "{}* is not allowed on {}, which has column restrictions; name the columns (allowed: {})",
                    qualifier.map(|q| format!("{q}.")).unwrap_or_default(),
                    r.shown,
                    r.listed()
                ),
            )),
            None => Ok(()),
        }
    }
}

/// `text.to_lowercase()`, borrowed when that changes nothing (ASCII text without upper-case letters).
fn lowercase(text: &str) -> Cow<'_, str> {
    match text.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        true => Cow::Borrowed(text),
        false => Cow::Owned(text.to_lowercase()),
    }
}

/// `text.to_ascii_lowercase()`, borrowed when that changes nothing.
fn ascii_lowercase(text: &str) -> Cow<'_, str> {
    match text.bytes().any(|b| b.is_ascii_uppercase()) {
        true => Cow::Owned(text.to_ascii_lowercase()),
        false => Cow::Borrowed(text),
    }
}

fn forbidden_column(r: &Restriction, shown: &str) -> Error {
    refuse(
        ErrorCode::ForbiddenColumn,
        format!("column {shown} is not allowed (table {} allows only: {})", r.shown, r.listed()),
    )
}

fn join_idents(idents: &[Ident]) -> String {
    idents.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(".")
}

fn data_modifying(what: &str) -> Error {
    refuse(ErrorCode::DataModifyingQuery, format!("{what} inside a query is not allowed (data-modifying statement)"))
}

/// Operators that are not plain built-ins are refused: user-defined operators run arbitrary functions, and MySQL's
/// `:=` assigns a session variable.
fn check_operator(op: &sqlparser::ast::BinaryOperator) -> R {
    use sqlparser::ast::BinaryOperator as B;
    match op {
        B::Custom(_) | B::PGCustomBinaryOperator(_) => Err(construct(format!("the operator {op}"))),
        B::Assignment => Err(construct("the assignment operator :=")),
        _ => Ok(()),
    }
}

/// Displays a join operator's kind for messages.
struct JoinKind<'a>(&'a JoinOperator);

impl std::fmt::Display for JoinKind<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.0 {
            JoinOperator::Semi(_) | JoinOperator::LeftSemi(_) | JoinOperator::RightSemi(_) => "SEMI JOIN",
            JoinOperator::Anti(_) | JoinOperator::LeftAnti(_) | JoinOperator::RightAnti(_) => "ANTI JOIN",
            JoinOperator::CrossApply | JoinOperator::OuterApply => "APPLY",
            JoinOperator::AsOf { .. } => "ASOF JOIN",
            JoinOperator::ArrayJoin | JoinOperator::LeftArrayJoin | JoinOperator::InnerArrayJoin => "ARRAY JOIN",
            _ => "join",
        };
        f.write_str(name)
    }
}
