//! Expressions: every `Expr` variant the guard understands, walked into; literals (no placeholders); operators
//! checked against the dialect's allow-lists (`guard::operators`). Any other expression is refused.

use sqlparser::ast::{AccessExpr, CaseWhen, Expr, Ident, Subscript, Value, ValueWithSpan};

use crate::dialect::Dialect;
use crate::guard::operators;

use super::{R, Walker, construct, snippet};

impl Walker<'_> {
    pub(super) fn walk_exprs(&mut self, exprs: &[Expr]) -> R {
        exprs.iter().try_for_each(|e| self.walk_expr(e))
    }

    pub(super) fn walk_opt(&mut self, e: &Option<Box<Expr>>) -> R {
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
            | Expr::Extract { expr: x, field: _, syntax: _ }
            | Expr::Ceil { expr: x, field: _ }
            | Expr::Floor { expr: x, field: _ }
            | Expr::Collate { expr: x, collation: _ }
            | Expr::IsJson { expr: x, .. }
            | Expr::IsNormalized { expr: x, .. } => self.walk_expr(x),
            Expr::UnaryOp { op, expr } => {
                operators::check_unary(self.dialect, op)?;
                self.walk_expr(expr)
            }
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
                operators::check_binary(self.dialect, op)?;
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
                operators::check_binary(self.dialect, compare_op)?;
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
}
