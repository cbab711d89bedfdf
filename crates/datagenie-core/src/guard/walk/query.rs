//! Query bodies: `WITH` (CTE visibility per dialect), set operations, `VALUES`, `SELECT` and its clauses, `ORDER BY`
//! (output names first) and `LIMIT`/`OFFSET`/`FETCH`. Data-modifying bodies, `INTO` and locking clauses are refused
//! here.

use std::rc::Rc;

use sqlparser::ast::{
    Cte, Distinct, Expr, GroupByExpr, GroupByWithModifier, LimitClause, NamedWindowExpr, OrderBy, OrderByExpr,
    OrderByKind, OrderBySort, Query, Select, SelectFlavor, SelectItem, SelectItemQualifiedWildcardKind, SetExpr,
    SetOperator, SetQuantifier, WildcardAdditionalOptions, With,
};

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode};

use super::scope::CteName;
use super::{R, Walker, construct, refuse, snippet};

/// Output columns of a query body: names (folded) when every item has one, and whether it is a set operation.
#[derive(Default)]
pub(super) struct Outputs {
    pub(super) names: Vec<String>,
    pub(super) complete: bool,
    set_operation: bool,
}

impl Walker<'_> {
    /// Walks a whole query: CTEs, body, ORDER BY, LIMIT/OFFSET/FETCH. Returns its output columns.
    pub(super) fn walk_query(&mut self, q: &Query) -> R<Outputs> {
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
    pub(super) fn walk_order_by_expr(&mut self, e: &OrderByExpr, outputs: Option<&Outputs>) -> R {
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
}

fn data_modifying(what: &str) -> Error {
    refuse(ErrorCode::DataModifyingQuery, format!("{what} inside a query is not allowed (data-modifying statement)"))
}
