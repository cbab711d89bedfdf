//! Names and what they refer to: identifiers folded as the dialect compares them, the CTE names and FROM relations
//! in scope, table names resolved (CTE, MySQL `DUAL`, or a base table checked against system catalogs and the
//! policy), and column references checked against column restrictions the way the engine resolves them.

use std::borrow::Cow;
use std::rc::Rc;

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart, TableAlias};

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode};
use crate::guard::TableRef;
use crate::guard::catalogs::{self, CatalogKind};
use crate::guard::policy::{CatalogAccess, Policy, RowFilter, TableName, TableRule};

use super::{R, Walker, construct, refuse, snippet};

/// Three-valued answer to "does this relation have that column?".
#[derive(Clone, Copy, PartialEq, Eq)]
enum Has {
    Yes,
    No,
    Maybe,
}

/// A table's column restriction.
pub(super) struct Restriction {
    /// The table as the query spelled it, for messages.
    pub(super) shown: String,
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
pub(super) struct Rel {
    /// The name qualifiers use: the alias, else the table's last name part (folded). Empty when unaddressable.
    pub(super) name: String,
    /// For an unaliased base table, its schema (folded), so `schema.table.column` resolves.
    pub(super) schema: Option<String>,
    /// The relation's columns (folded) when known.
    pub(super) columns: Option<Rc<Vec<String>>>,
    pub(super) restricted: Option<Rc<Restriction>>,
    /// True for a base table or view (not a CTE, derived table or function).
    pub(super) base: bool,
}

impl Rel {
    pub(super) fn derived(
        alias: Option<&TableAlias>,
        fallback: String,
        columns: Option<Rc<Vec<String>>>,
        walker: &Walker,
    ) -> Rel {
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
pub(super) struct CteName {
    pub(super) name: String,
    pub(super) columns: Option<Rc<Vec<String>>>,
}

/// How a table reference resolved. `'n` borrows from the query and the policy.
pub(super) enum Resolved<'n> {
    Cte(Option<Rc<Vec<String>>>),
    /// MySQL's `DUAL`: no table at all.
    Dual,
    Base(BaseTable<'n>),
}

pub(super) struct BaseTable<'n> {
    /// Effective schema (folded) used for qualifier matching: the name's, else the current one.
    pub(super) schema: Option<Cow<'n, str>>,
    /// The table's name, folded.
    name: Cow<'n, str>,
    /// Every column of the table as the policy stores them, when known.
    known: Option<&'n [String]>,
    pub(super) restricted: Option<Rc<Restriction>>,
    pub(super) filtered: bool,
}

impl BaseTable<'_> {
    /// The table as reports and rewrites name it.
    pub(super) fn table_ref(&self) -> TableRef {
        TableRef { schema: self.schema.as_deref().map(str::to_string), name: self.name.to_string() }
    }

    /// The table's columns (folded) when known.
    pub(super) fn columns(&self, walker: &Walker) -> Option<Vec<String>> {
        self.known.map(|cols| cols.iter().map(|c| walker.fold_stored(c)).collect())
    }
}

impl<'a> Walker<'a> {
    /// Folds an identifier the way the dialect compares names.
    pub(crate) fn fold(&self, ident: &Ident) -> String {
        match self.dialect {
            Dialect::Postgres if ident.quote_style.is_some() => ident.value.clone(),
            Dialect::Postgres | Dialect::Sqlite => ident.value.to_ascii_lowercase(),
            Dialect::Mysql => ident.value.to_lowercase(),
        }
    }

    /// [`Self::fold`] without allocating when the identifier is already in folded form.
    pub(super) fn fold_cow<'i>(&self, ident: &'i Ident) -> Cow<'i, str> {
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
    pub(super) fn check_idents(&self, name: &ObjectName) -> R {
        match name.0.iter().all(|part| matches!(part, ObjectNamePart::Identifier(_))) {
            true => Ok(()),
            false => Err(construct(format!("the name {}", snippet(name)))),
        }
    }

    pub(super) fn idents<'n>(&self, name: &'n ObjectName) -> R<Vec<&'n Ident>> {
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

    pub(super) fn alias_columns(&self, alias: &TableAlias) -> Option<Vec<String>> {
        (!alias.columns.is_empty()).then(|| alias.columns.iter().map(|c| self.fold(&c.name)).collect())
    }

    /// True when column checks can run, the only readers of the relations in `frames`: some table has a column
    /// restriction, or PostgreSQL attribute notation is checked against known columns.
    fn tracks_relations(&self) -> bool {
        self.columns_enforced || (self.dialect == Dialect::Postgres && !self.policy.known_columns.is_empty())
    }

    /// Adds the relation `build` makes to the innermost FROM scope — only when [`Self::tracks_relations`]: no
    /// other walk reads relations, so building them would be wasted work.
    pub(super) fn push_rel(&mut self, build: impl FnOnce(&Self) -> Rel) {
        if !self.tracks_relations() {
            return;
        }
        let rel = build(self);
        if let Some(frame) = self.frames.last_mut() {
            frame.push(rel);
        }
    }

    pub(super) fn last_name(&self, name: &ObjectName) -> String {
        match name.0.last() {
            Some(ObjectNamePart::Identifier(ident)) => self.fold(ident),
            _ => String::new(),
        }
    }

    /// Resolves a table name: CTE in scope, MySQL `DUAL`, or a base table the policy allows.
    pub(super) fn resolve_table<'n>(&self, name: &'n ObjectName) -> R<Resolved<'n>>
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

    pub(super) fn catalog_allowed(&self, kind: CatalogKind) -> bool {
        match self.policy.catalogs {
            CatalogAccess::None => false,
            CatalogAccess::Metadata => kind == CatalogKind::Metadata,
            CatalogAccess::All => true,
        }
    }

    /// The intersection of the column lists of every matching rule that restricts columns.
    fn restriction(&self, shown: &ObjectName, rules: &[&TableRule]) -> Option<Rc<Restriction>> {
        let mut lists = rules.iter().filter_map(|r| r.columns.as_ref());
        let first = lists.next()?;
        let mut listed: Vec<String> = first.clone();
        for other in lists {
            listed.retain(|c| other.iter().any(|o| self.fold_stored(o) == self.fold_stored(c)));
        }
        let folded = listed.iter().map(|c| self.fold_stored(c)).collect();
        Some(Rc::new(Restriction { shown: shown.to_string(), listed, folded }))
    }

    pub(super) fn check_identifier(&self, ident: &Ident) -> R {
        if ident.quote_style.is_none() && ident.value.starts_with('@') {
            return Err(construct(format!("the variable {}", ident.value)));
        }
        self.check_column(&[], ident)
    }

    pub(super) fn check_compound(&self, parts: &[Ident]) -> R {
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
    pub(super) fn check_column(&self, qualifier: &[Ident], column: &Ident) -> R {
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
    pub(super) fn check_star(&self, qualifier: Option<&ObjectName>) -> R {
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
pub(super) fn lowercase(text: &str) -> Cow<'_, str> {
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
