//! Function calls: the name (unqualified, or PostgreSQL's `pg_catalog.`) against the dialect's allow-list or the
//! policy's extra functions, the arguments, the clauses inside the parentheses, `WITHIN GROUP`, `FILTER` and `OVER`;
//! table-valued functions in FROM (SQLite's `pragma_*` ones are catalogs).

use std::borrow::Cow;

use sqlparser::ast::{
    Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArgumentList, FunctionArguments,
    ObjectName, ObjectNamePart, WindowFrameBound, WindowSpec, WindowType,
};

use crate::dialect::Dialect;
use crate::error::ErrorCode;
use crate::guard::catalogs;
use crate::guard::functions;

use super::scope::lowercase;
use super::{R, Walker, construct, refuse, snippet};

impl Walker<'_> {
    pub(super) fn walk_function(&mut self, f: &Function) -> R {
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

    pub(super) fn walk_window_spec(&mut self, spec: &WindowSpec) -> R {
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

    /// A table-valued function in FROM: SQLite's `pragma_*` functions are catalogs; others must be on the
    /// dialect's table-function allow-list.
    pub(super) fn walk_table_function(&mut self, name: &ObjectName, args: &[FunctionArg]) -> R {
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
}
