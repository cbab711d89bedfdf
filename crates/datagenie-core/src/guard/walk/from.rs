//! FROM items and joins: base tables and views (recording the references a row filter must rewrite), derived
//! tables, `UNNEST`, `JSON_TABLE`, table functions and parenthesised joins; the join operators and constraints
//! allowed.

use std::borrow::Cow;
use std::rc::Rc;

use sqlparser::ast::{
    Join, JoinConstraint, JoinOperator, ObjectName, Spanned, TableAlias, TableFactor, TableWithJoins,
};
use sqlparser::tokenizer::Span;

use crate::error::ErrorCode;

use super::scope::{Rel, Resolved};
use super::{Mode, R, RewriteTarget, Walker, construct, refuse, snippet};

impl Walker<'_> {
    pub(super) fn walk_table_with_joins(&mut self, t: &TableWithJoins) -> R {
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
