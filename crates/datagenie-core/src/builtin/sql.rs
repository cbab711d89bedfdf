//! The engine's query plan and its rendering to SQL in a dialect: quoted identifiers, quoted literals, joins along
//! foreign keys, date ranges as literals computed from `today`.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::alias::aliases;
use super::lexicon::Lexicon;
use super::vocab::{Agg, LikeKind, Op};
use crate::dialect::Dialect;
use crate::schema::Schema;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Num(f64),
    Text(String),
    /// A calendar date `YYYY-MM-DD`.
    Date(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Sel {
    Col(usize),
    Agg(Agg, usize),
    /// COUNT(*) of the counted table's rows.
    Count,
    CountDistinct(usize),
    Star,
    /// A column of the row's parent in its own table's hierarchy (`Plan::parent`): "each subcategory with its parent
    /// category's name".
    Parent(usize),
    /// The share of the rows meeting `cond` (an OR group) among all the rows, times `scale` (100 for a percentage,
    /// 1 for a ratio): "What percentage of orders were cancelled?", "전체 고객 중 VIP 고객 비율".
    Share {
        cond: Vec<Cond>,
        scale: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OrderKey {
    Col(usize),
    Count,
    Agg(Agg, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    Cmp(usize, Op, Lit),
    Between(usize, Lit, Lit, bool),
    Like(usize, LikeKind, String, bool),
    /// `col >= from AND col < to` (dates as literals).
    Range(usize, Lit, Lit),
    /// `col op (SELECT agg(other) FROM other's table)`: "above the average price".
    CmpAgg(usize, Op, Agg, usize),
    /// A row of a hierarchy named by its name, at whatever level: `fk` (a key to the hierarchy's table) is the
    /// named row or one below it, up to three levels down ("Electronics" holds "Audio", which holds products).
    InHierarchy {
        fk: usize,
        pk: usize,
        parent: usize,
        name: usize,
        value: String,
    },
    /// `subject.pk [NOT] IN (SELECT fk FROM other)`.
    Exists {
        col: usize,
        other_col: usize,
        negated: bool,
    },
    /// A business term's condition from the glossary (`last_order_date >= date('now','-90 day')`), on the table of
    /// `col` (its first column), which must be the only table the query reads; the guard checks the query it is in.
    Term {
        col: usize,
        term: String,
        sql: String,
    },
}

impl Cond {
    /// The column of the row the condition is on (the key, for `InHierarchy` and `Exists`).
    pub fn col(&self) -> usize {
        match self {
            Cond::Cmp(col, ..)
            | Cond::Between(col, ..)
            | Cond::Like(col, ..)
            | Cond::Range(col, ..)
            | Cond::CmpAgg(col, ..)
            | Cond::InHierarchy { fk: col, .. }
            | Cond::Exists { col, .. }
            | Cond::Term { col, .. } => *col,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Plan {
    pub from: usize,
    pub select: Vec<Sel>,
    pub distinct: bool,
    /// AND of ORs.
    pub filters: Vec<Vec<Cond>>,
    pub group_by: Vec<usize>,
    pub having: Option<(Op, f64)>,
    pub order: Vec<(OrderKey, bool)>,
    pub limit: Option<u64>,
    /// Tables that must be joined although no column of theirs is selected (counted or filtered through).
    pub extra_tables: Vec<usize>,
    /// The table whose rows COUNT(*) counts (the subject unless the question counts another table).
    pub count_table: Option<usize>,
    /// Rows grouped by a period of a date column ("per month", "월별"), shown first and in time order.
    pub bucket: Option<(usize, Bucket)>,
    /// "both A and B" on one column: filter groups `(a, b)` hold `col = A` and `col = B`; the rows are those meeting
    /// the other filters and `a`, INTERSECT those meeting them and `b`.
    pub intersect: Option<(usize, usize)>,
    /// The subject table joined to itself: `(parent column, key)`, as `JOIN t AS parent ON t.parent = parent.key`.
    pub parent: Option<(usize, usize)>,
    /// The rows of this plan (the subject's keys, grouped and kept by `having`) counted by an outer query: "how many
    /// customers have placed more than 15 orders".
    pub count_groups: bool,
}

/// The alias of the parent row in a self-join (`Plan::parent`).
pub(crate) const PARENT_ALIAS: &str = "parent";

/// A period a date column is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bucket {
    Year,
    Month,
    Day,
}

/// A join step: join `table` on `left_col = right_col` (left already joined).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JoinStep {
    pub table: usize,
    pub left_col: usize,
    pub right_col: usize,
}

pub(crate) fn table_ref(schema: &Schema, t: usize) -> String {
    let Some(table) = schema.tables.get(t) else { return String::new() };
    match &table.schema {
        Some(s) => format!("{}.{}", schema.dialect.quote_ident(s), schema.dialect.quote_ident(&table.name)),
        None => schema.dialect.quote_ident(&table.name),
    }
}

pub(crate) fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

/// A text literal: single quotes doubled. `None` when the dialect would read it differently by server mode
/// (MySQL backslashes), so the engine does not guess.
pub(crate) fn text_literal(s: &str, dialect: Dialect) -> Option<String> {
    if dialect == Dialect::Mysql && s.contains('\\') {
        return None;
    }
    Some(format!("'{}'", s.replace('\'', "''")))
}

pub(crate) fn literal(l: &Lit, dialect: Dialect) -> Option<String> {
    match l {
        Lit::Num(n) => Some(number(*n)),
        Lit::Text(s) => text_literal(s, dialect),
        Lit::Date(d) => match dialect {
            Dialect::Sqlite => text_literal(d, dialect),
            Dialect::Postgres | Dialect::Mysql => Some(format!("DATE '{d}'")),
        },
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Renderer<'a> {
    pub schema: &'a Schema,
    pub lex: &'a Lexicon,
    pub qualify: bool,
    /// Name aggregate columns in Korean (see `alias`).
    pub korean: bool,
}

impl Renderer<'_> {
    fn col(&self, c: usize) -> String {
        let info = &self.lex.cols[c];
        let name = self.schema.dialect.quote_ident(&info.name);
        if self.qualify { format!("{}.{name}", table_ref(self.schema, info.table)) } else { name }
    }

    pub fn bucket_expr(&self, c: usize, b: Bucket) -> String {
        let col = self.col(c);
        match (self.schema.dialect, b) {
            (Dialect::Sqlite, Bucket::Year) => format!("strftime('%Y', {col})"),
            (Dialect::Sqlite, Bucket::Month) => format!("strftime('%Y-%m', {col})"),
            (Dialect::Sqlite, Bucket::Day) => format!("date({col})"),
            (Dialect::Postgres, Bucket::Year) => format!("to_char({col}, 'YYYY')"),
            (Dialect::Postgres, Bucket::Month) => format!("to_char({col}, 'YYYY-MM')"),
            (Dialect::Postgres, Bucket::Day) => format!("to_char({col}, 'YYYY-MM-DD')"),
            (Dialect::Mysql, Bucket::Year) => format!("DATE_FORMAT({col}, '%Y')"),
            (Dialect::Mysql, Bucket::Month) => format!("DATE_FORMAT({col}, '%Y-%m')"),
            (Dialect::Mysql, Bucket::Day) => format!("DATE_FORMAT({col}, '%Y-%m-%d')"),
        }
    }

    fn cond(&self, c: &Cond) -> Option<String> {
        let d = self.schema.dialect;
        Some(match c {
            Cond::Cmp(col, op, lit) => format!("{} {} {}", self.col(*col), op.sql(), literal(lit, d)?),
            Cond::Between(col, a, b, neg) => format!(
                "{} {}BETWEEN {} AND {}",
                self.col(*col),
                if *neg { "NOT " } else { "" },
                literal(a, d)?,
                literal(b, d)?
            ),
            Cond::Like(col, kind, text, neg) => {
                let escaped = text.replace(['%', '_'], "");
                if escaped.is_empty() {
                    return None;
                }
                let pattern = match kind {
                    LikeKind::Contains => format!("%{escaped}%"),
                    LikeKind::Starts => format!("{escaped}%"),
                    LikeKind::Ends => format!("%{escaped}"),
                };
                format!("{} {}LIKE {}", self.col(*col), if *neg { "NOT " } else { "" }, text_literal(&pattern, d)?)
            }
            Cond::Range(col, from, to) => {
                let c = self.col(*col);
                format!("{c} >= {} AND {c} < {}", literal(from, d)?, literal(to, d)?)
            }
            Cond::CmpAgg(col, op, agg, other) => {
                let o = &self.lex.cols[*other];
                format!(
                    "{} {} (SELECT {}({}) FROM {})",
                    self.col(*col),
                    op.sql(),
                    agg.sql(),
                    d.quote_ident(&o.name),
                    table_ref(self.schema, o.table)
                )
            }
            Cond::InHierarchy { fk, pk, parent, name, value } => {
                let t = table_ref(self.schema, self.lex.cols[*pk].table);
                let (pk, parent, name) = (
                    d.quote_ident(&self.lex.cols[*pk].name),
                    d.quote_ident(&self.lex.cols[*parent].name),
                    d.quote_ident(&self.lex.cols[*name].name),
                );
                let v = text_literal(value, d)?;
                // The named row, its children, their children: each level is "named, or under the level above".
                let one = format!("SELECT {pk} FROM {t} WHERE {name} = {v}");
                let two = format!("SELECT {pk} FROM {t} WHERE {name} = {v} OR {parent} IN ({one})");
                let three = format!("SELECT {pk} FROM {t} WHERE {name} = {v} OR {parent} IN ({two})");
                format!("{} IN ({three})", self.col(*fk))
            }
            Cond::Exists { col, other_col, negated } => {
                let other = &self.lex.cols[*other_col];
                let name = d.quote_ident(&other.name);
                let t = table_ref(self.schema, other.table);
                if *negated {
                    // `x NOT IN (… NULL …)` is never true: one NULL would empty the answer.
                    let not_null = if other.nullable { format!(" WHERE {name} IS NOT NULL") } else { String::new() };
                    format!("{} NOT IN (SELECT {name} FROM {t}{not_null})", self.col(*col))
                } else {
                    format!("{} IN (SELECT {name} FROM {t})", self.col(*col))
                }
            }
            Cond::Term { sql, .. } => format!("({sql})"),
        })
    }

    fn sel(&self, s: &Sel, count_distinct: Option<usize>) -> Option<String> {
        Some(match s {
            Sel::Col(c) => self.col(*c),
            Sel::Agg(a, c) => format!("{}({})", a.sql(), self.col(*c)),
            Sel::Count => match count_distinct {
                Some(pk) => format!("COUNT(DISTINCT {})", self.col(pk)),
                None => "COUNT(*)".to_string(),
            },
            Sel::CountDistinct(c) => format!("COUNT(DISTINCT {})", self.col(*c)),
            Sel::Star => match (self.qualify, self.lex.cols.first()) {
                (true, _) => "*".to_string(),
                _ => "*".to_string(),
            },
            Sel::Parent(c) => {
                let d = self.schema.dialect;
                let name = &self.lex.cols[*c].name;
                format!(
                    "{}.{} AS {}",
                    d.quote_ident(PARENT_ALIAS),
                    d.quote_ident(name),
                    d.ident(&format!("parent_{name}"))
                )
            }
            Sel::Share { cond, scale } => {
                let parts: Option<Vec<String>> = cond.iter().map(|c| self.cond(c)).collect();
                let parts = parts?;
                if parts.is_empty() {
                    return None;
                }
                let when = if parts.len() == 1 { parts[0].clone() } else { format!("({})", parts.join(" OR ")) };
                // NULLIF: no rows is no share, not a division error (PostgreSQL raises one).
                format!("{}.0 * SUM(CASE WHEN {when} THEN 1 ELSE 0 END) / NULLIF(COUNT(*), 0)", number(scale.trunc()))
            }
        })
    }

    /// The SQL for `plan` joined along `joins`; `None` when a literal cannot be written safely.
    pub fn render(&self, plan: &Plan, joins: &[JoinStep], count_distinct: Option<usize>) -> Option<String> {
        if plan.parent.is_some() && !self.qualify {
            return Renderer { qualify: true, ..*self }.render(plan, joins, count_distinct);
        }
        if plan.count_groups {
            let inner = self.render(&Plan { count_groups: false, ..plan.clone() }, joins, None)?;
            let alias = aliases(self.schema, self.lex, &[Sel::Count], plan.from, self.korean, &[])
                .pop()
                .flatten()
                .unwrap_or_else(|| "row_count".into());
            return Some(format!(
                "SELECT COUNT(*) AS {} FROM ({inner}) AS {}",
                self.schema.dialect.ident(&alias),
                self.schema.dialect.quote_ident("counted")
            ));
        }
        if let Some((a, b)) = plan.intersect {
            let without = |skip: usize| {
                let mut p = plan.clone();
                p.intersect = None;
                p.filters =
                    plan.filters.iter().enumerate().filter(|(k, _)| *k != skip).map(|(_, g)| g.clone()).collect();
                p
            };
            let first = self.render(&without(b), joins, count_distinct)?;
            let second = self.render(&without(a), joins, count_distinct)?;
            return Some(format!("{first} INTERSECT {second}"));
        }
        let mut sql = String::from("SELECT ");
        if plan.distinct {
            sql.push_str("DISTINCT ");
        }
        let star_only = plan.select.len() == 1 && plan.select[0] == Sel::Star;
        let bucket = plan.bucket.map(|(c, b)| self.bucket_expr(c, b));
        let mut items: Vec<String> = if star_only && !joins.is_empty() {
            vec![format!("{}.*", table_ref(self.schema, plan.from))]
        } else {
            let taken: &[&str] = if bucket.is_some() { &["period"] } else { &[] };
            let counted = plan.count_table.unwrap_or(plan.from);
            let names = aliases(self.schema, self.lex, &plan.select, counted, self.korean, taken);
            let items: Option<Vec<String>> = plan
                .select
                .iter()
                .zip(names)
                .map(|(s, alias)| {
                    let e = self.sel(s, count_distinct)?;
                    Some(match alias {
                        Some(a) => format!("{e} AS {}", self.schema.dialect.ident(&a)),
                        None => e,
                    })
                })
                .collect();
            items?
        };
        if let Some(b) = &bucket {
            items.insert(0, format!("{b} AS period"));
        }
        sql.push_str(&items.join(", "));
        let _ = write!(sql, " FROM {}", table_ref(self.schema, plan.from));
        for j in joins {
            let _ = write!(
                sql,
                " JOIN {} ON {} = {}",
                table_ref(self.schema, j.table),
                self.col(j.left_col),
                self.col(j.right_col)
            );
        }
        // The parent row, once the table holding the parent column is joined.
        if let Some((pc, pk)) = plan.parent {
            let d = self.schema.dialect;
            let _ = write!(
                sql,
                " JOIN {} AS {} ON {} = {}.{}",
                table_ref(self.schema, self.lex.cols[pk].table),
                d.quote_ident(PARENT_ALIAS),
                self.col(pc),
                d.quote_ident(PARENT_ALIAS),
                d.quote_ident(&self.lex.cols[pk].name)
            );
        }
        let mut wheres = Vec::new();
        for group in &plan.filters {
            let parts: Option<Vec<String>> = group.iter().map(|c| self.cond(c)).collect();
            let parts = parts?;
            if parts.is_empty() {
                continue;
            }
            if parts.len() == 1 && !matches!(group[0], Cond::Range(..)) {
                wheres.push(parts[0].clone());
            } else {
                wheres.push(format!("({})", parts.join(" OR ")));
            }
        }
        if !wheres.is_empty() {
            let _ = write!(sql, " WHERE {}", wheres.join(" AND "));
        }
        if !plan.group_by.is_empty() || bucket.is_some() {
            let mut g: Vec<String> = plan.group_by.iter().map(|c| self.col(*c)).collect();
            // A shown column that names a group (a name beside its key) is grouped too, as PostgreSQL and MySQL's
            // ONLY_FULL_GROUP_BY require; it depends on the key, so the groups are the same.
            for s in &plan.select {
                let name = match s {
                    Sel::Col(c) if !plan.group_by.contains(c) => self.col(*c),
                    Sel::Parent(c) => {
                        let d = self.schema.dialect;
                        format!("{}.{}", d.quote_ident(PARENT_ALIAS), d.quote_ident(&self.lex.cols[*c].name))
                    }
                    _ => continue,
                };
                if !g.contains(&name) {
                    g.push(name);
                }
            }
            if let Some(b) = &bucket {
                g.insert(0, b.clone());
            }
            let _ = write!(sql, " GROUP BY {}", g.join(", "));
        }
        if let Some((op, n)) = plan.having {
            let _ = write!(sql, " HAVING COUNT(*) {} {}", op.sql(), number(n));
        }
        if let (Some(b), true) = (&bucket, plan.order.is_empty()) {
            let _ = write!(sql, " ORDER BY {b}");
        }
        if !plan.order.is_empty() {
            let o: Vec<String> = plan
                .order
                .iter()
                .map(|(k, desc)| {
                    let e = match k {
                        OrderKey::Col(c) => self.col(*c),
                        OrderKey::Count => "COUNT(*)".to_string(),
                        OrderKey::Agg(a, c) => format!("{}({})", a.sql(), self.col(*c)),
                    };
                    format!("{e} {}", if *desc { "DESC" } else { "ASC" })
                })
                .collect();
            let _ = write!(sql, " ORDER BY {}", o.join(", "));
        }
        if let Some(n) = plan.limit {
            let _ = write!(sql, " LIMIT {n}");
        }
        Some(sql)
    }
}

/// Tables a plan reads columns of.
pub(crate) fn plan_tables(plan: &Plan, lex: &Lexicon) -> Vec<usize> {
    let mut cols: Vec<usize> = Vec::new();
    for s in &plan.select {
        match s {
            Sel::Col(c) | Sel::Agg(_, c) | Sel::CountDistinct(c) | Sel::Parent(c) => cols.push(*c),
            Sel::Share { cond, .. } => cols.extend(cond.iter().map(Cond::col)),
            Sel::Count | Sel::Star => {}
        }
    }
    cols.extend(plan.filters.iter().flatten().map(Cond::col));
    cols.extend(plan.group_by.iter().copied());
    cols.extend(plan.bucket.map(|(c, _)| c));
    for (k, _) in &plan.order {
        if let OrderKey::Col(c) | OrderKey::Agg(_, c) = k {
            cols.push(*c);
        }
    }
    let mut seen = HashSet::new();
    let mut tables = Vec::new();
    for t in std::iter::once(plan.from)
        .chain(cols.iter().filter_map(|c| lex.cols.get(*c).map(|i| i.table)))
        .chain(plan.extra_tables.iter().copied())
        .chain(plan.count_table)
    {
        if seen.insert(t) {
            tables.push(t);
        }
    }
    tables
}
