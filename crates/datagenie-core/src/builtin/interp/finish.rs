//! The plan's final shape: OR-merged filters, grouping and ordering made consistent, and the default projection when no column was asked for.

use super::{Ctx, Res, is_cue};
use crate::builtin::doubt::F;
use crate::builtin::link::ItemKind;
use crate::builtin::sql::{Cond, Lit, OrderKey, Sel};
use crate::builtin::vocab::{Agg, Cue, Op};
use crate::schema::TypeClass;

/// A hierarchy's level named by the question (see `Ctx::hierarchy_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Unsaid,
    Lower,
    Top,
    Both,
}

impl Ctx<'_> {
    pub(super) fn finish(&mut self) -> Result<(), String> {
        // Filters: merge "A or B" into one group.
        self.filters.sort_by_key(|(p, _)| *p);
        let mut groups: Vec<(usize, Vec<Cond>)> = Vec::new();
        for (pos, cond) in std::mem::take(&mut self.filters) {
            let or_between = groups.last().is_some_and(|(last, _)| {
                (*last..pos).any(|k| matches!(self.cue_at(k), Some(Cue::Or)))
                    && !(*last..pos).any(|k| self.items[k].kind == ItemKind::Stop)
            });
            if or_between && let Some((last, g)) = groups.last_mut() {
                for k in *last..pos {
                    if matches!(self.cue_at(k), Some(Cue::Or)) {
                        self.used[k] = true;
                    }
                }
                *last = pos;
                g.push(cond);
            } else {
                groups.push((pos, vec![cond]));
            }
        }
        self.share(&mut groups)?;
        // A measure the schema defines, said twice ("top 3 regions by revenue, with the revenue"), brings its
        // condition twice: once is enough.
        for (_, g) in groups {
            if !self.plan.filters.contains(&g) {
                self.plan.filters.push(g);
            }
        }
        // "both A and B" on one column asks for an intersection of groups, which this engine does not write.
        self.parent_rows();
        // "both A and B" on one column: the rows meeting each, intersected (checked below, once the output is known).
        let mut intersect = None;
        let groups_eq: Vec<(usize, usize)> = self
            .plan
            .filters
            .iter()
            .enumerate()
            .filter_map(|(k, g)| match g.as_slice() {
                [Cond::Cmp(c, Op::Eq, _)] => Some((k, *c)),
                _ => None,
            })
            .collect();
        let pairs: Vec<(usize, usize)> = groups_eq
            .iter()
            .enumerate()
            .flat_map(|(n, &(a, ca))| {
                groups_eq[n + 1..].iter().filter(move |(_, cb)| *cb == ca).map(move |&(b, _)| (a, b))
            })
            .collect();
        match pairs.as_slice() {
            [] => {}
            [(a, b)] => intersect = Some((*a, *b)),
            _ => return Err("two values required of one column at once (an intersection)".into()),
        }
        let bounds: Vec<(usize, Op, f64)> = self
            .plan
            .filters
            .iter()
            .filter_map(|g| match g.as_slice() {
                [Cond::Cmp(c, op, Lit::Num(n))] => Some((*c, *op, *n)),
                _ => None,
            })
            .collect();
        for (c, op, n) in &bounds {
            for (c2, op2, n2) in &bounds {
                let low = matches!(op, Op::Gt | Op::Ge);
                let high = matches!(op2, Op::Lt | Op::Le);
                if c == c2 && low && high && n >= n2 {
                    return Err("contradictory bounds on one column (an intersection)".into());
                }
            }
        }

        // Each column once.
        let mut seen = Vec::new();
        self.plan.select.retain(|x| {
            if seen.contains(x) {
                false
            } else {
                seen.push(x.clone());
                true
            }
        });
        // "distinct" said of the rows rather than of a column ("all distinct drivers").
        let distinct_left =
            self.items.iter().enumerate().any(|(i, it)| !self.used[i] && is_cue(it, |c| *c == Cue::Distinct));
        if distinct_left && !self.plan.select.is_empty() && self.plan.select.iter().all(|x| matches!(x, Sel::Col(_))) {
            for (i, it) in self.items.iter().enumerate() {
                if is_cue(it, |c| *c == Cue::Distinct) {
                    self.used[i] = true;
                }
            }
            self.plan.distinct = true;
        }

        // "Show all product sizes": a single non-key column listed over the whole table names its distinct values.
        if self.plan.select.len() == 1
            && let Some(Sel::Col(c)) = self.plan.select.first()
            && self.plan.filters.is_empty()
            && self.plan.order.is_empty()
            && self.plan.group_by.is_empty()
            && self.plan.having.is_none()
            && self.bucket.is_none()
            && !self.lex.cols[*c].is_pk
            && self.lex.name_column_in(self.table_of(*c), self.korean) != Some(*c)
        {
            self.plan.distinct = true;
        }
        // Projection defaults.
        let counted_order = self.plan.order.iter().any(|(k, _)| matches!(k, OrderKey::Count | OrderKey::Agg(..)));
        // "customers per city", "도시별 고객": a table named per a column of it, nothing else asked, counts its rows
        // per group.
        let subject_named = self.res.contains(&Res::Table(self.subject));
        if self.plan.select.is_empty()
            && subject_named
            && self.group_table.is_none()
            && self.bucket.is_none()
            && self.plan.having.is_none()
            && !counted_order
            && !self.plan.group_by.is_empty()
            && self.plan.group_by.iter().all(|&g| self.table_of(g) == self.subject)
        {
            self.plan.select.push(Sel::Count);
        }
        if self.plan.select.is_empty() {
            if let Some((c, desc)) = self.super_col.filter(|_| self.plan.group_by.is_empty() && !counted_order) {
                if self.question_asks_value(c) && self.plan.limit == Some(1) {
                    // "What is the highest age?": the value itself.
                    self.plan.select.push(Sel::Agg(if desc { Agg::Max } else { Agg::Min }, c));
                    self.plan.order.retain(|(k, _)| *k != OrderKey::Col(c));
                    self.plan.limit = None;
                } else if (self.korean || self.english_lists_rows())
                    && subject_named
                    && let Some(n) = self.lex.name_column_in(self.subject, self.korean)
                {
                    // "가장 비싼 상품은?", "List the 5 most expensive products (with their prices)": the rows asked
                    // for, by their name (and the measure, when asked "with their" measure).
                    self.plan.select.push(Sel::Col(n));
                    if self.with_their_col(c) {
                        self.plan.select.push(Sel::Col(c));
                    }
                } else {
                    self.default_projection()?;
                }
            } else if !self.plan.group_by.is_empty() || self.bucket.is_some() {
                // Grouped: the groups themselves (added below).
            } else if ((self.korean && self.korean_asks_rows()) || (!self.korean && self.english_lists_rows()))
                && let Some(n) = self.lex.name_column_in(self.subject, self.korean)
            {
                // "평균 가격보다 비싼 상품은?": the rows asked for, by their name.
                self.plan.select.push(Sel::Col(n));
            } else {
                self.default_projection()?;
            }
        }

        if let Some((a, b)) = intersect {
            // Only a list of plain columns of rows other than the ones filtered ("the parties that have both …"):
            // the value's own column would show the two values, which no row has at once.
            let filtered_col = match self.plan.filters[a].as_slice() {
                [Cond::Cmp(c, ..)] => Some(*c),
                _ => None,
            };
            let plain_list = !self.plan.select.is_empty()
                && self.plan.select.iter().all(|s| matches!(s, Sel::Col(c) if Some(*c) != filtered_col))
                && self.plan.group_by.is_empty()
                && self.plan.order.is_empty()
                && self.plan.limit.is_none()
                && self.plan.having.is_none()
                && self.bucket.is_none();
            if !plain_list {
                return Err("two values required of one column at once (an intersection)".into());
            }
            self.plan.intersect = Some((a, b));
            self.plan.distinct = false;
        }
        // "Books 카테고리의 평균 가격보다 비싼 상품": the average of all rows, or only of those the other conditions keep?
        let compares_aggregate = self.plan.filters.iter().flatten().any(|c| matches!(c, Cond::CmpAgg(..)));
        if compares_aggregate && self.plan.filters.len() > 1 && !self.agg_over_all {
            return Err("an aggregate compared within other conditions: over all rows or only those kept?".into());
        }
        // "How many customers have placed more than 15 orders?": a count of groups, a query inside a query that this
        // engine does not write.
        let subject_counted = self.plan.select.contains(&Sel::Count)
            && self.plan.count_table.is_none_or(|t| t == self.subject)
            && self.lex.pk(self.subject).is_some_and(|pk| self.plan.group_by.contains(&pk));
        if self.plan.having.is_some() && self.plan.select.iter().any(|s| matches!(s, Sel::CountDistinct(_))) {
            return Err("a count of groups (how many have more than N)".into());
        }
        // "How many customers have placed more than 15 orders?": the subject's rows grouped and kept by the count,
        // counted in an outer query (`Plan::count_groups`).
        if self.plan.having.is_some()
            && subject_counted
            && let Some(pk) = self.lex.pk(self.subject)
        {
            if self.plan.select.iter().any(|s| !matches!(s, Sel::Count | Sel::Col(_)))
                || self.plan.group_by != [pk]
                || !self.plan.order.is_empty()
                || self.plan.limit.is_some()
                || self.bucket.is_some()
            {
                return Err("a count of groups (how many have more than N)".into());
            }
            self.plan.select = vec![Sel::Col(pk)];
            self.plan.count_groups = true;
            self.plan.distinct = false;
            self.group_table = None;
            return Ok(());
        }
        // "the 3 products with the largest total quantity, each with its quantity": the measure ranked by its sum is
        // shown as that sum.
        let summed: Vec<(Agg, usize)> = self
            .plan
            .order
            .iter()
            .filter_map(|(k, _)| match k {
                OrderKey::Agg(a, c) => Some((*a, *c)),
                _ => None,
            })
            .collect();
        for s in self.plan.select.iter_mut() {
            if let Sel::Col(c) = *s
                && let Some((a, _)) = summed.iter().find(|(_, x)| *x == c)
            {
                *s = Sel::Agg(*a, c);
            }
        }
        // "each region with its wider area": the rows by their name, beside what was asked of them.
        let columns_after = |s: &Self, at: usize| {
            s.plan.select.iter().all(|x| match x {
                Sel::Col(c) => at == 0 || (0..s.items.len()).filter(|&k| s.res[k] == Res::Col(*c)).all(|k| k > at),
                _ => false,
            })
        };
        if self.each_row.is_some_and(|at| columns_after(self, at))
            && self.plan.group_by.is_empty()
            && self.bucket.is_none()
            && !self.plan.select.is_empty()
            && self.plan.select.iter().all(|s| matches!(s, Sel::Col(_)))
            && let Some(n) = self.lex.name_column_in(self.subject, self.korean)
            && !self.plan.select.contains(&Sel::Col(n))
        {
            self.plan.select.insert(0, Sel::Col(n));
            self.plan.distinct = false;
        }
        // "2025년에 주문한 고객은 몇 명" (`orders.customer_id` by its comment "주문 고객"): the people the key points
        // at, counted once each, not a count per key.
        if self.korean
            && let [Sel::Col(c), Sel::Count] = self.plan.select[..]
            && self.lex.cols[c].is_fk
            && self.table_of(c) == self.subject
            && self.plan.group_by.is_empty()
            && self.plan.order.is_empty()
            && self.plan.having.is_none()
            && self.bucket.is_none()
            && !self.items.iter().any(|it| is_cue(it, |x| *x == Cue::Each))
            && (0..self.items.len()).any(|k| {
                self.res[k] == Res::Col(c) && self.next_sig(k).is_some_and(|n| self.cue_at(n) == Some(Cue::Count))
            })
        {
            self.plan.select = vec![Sel::CountDistinct(c)];
        }
        // Columns listed with a count or an aggregate, or ordered by a count: per value of those columns
        // ("countries and the number of members from each", "the governor most often").
        let aggregated = self
            .plan
            .select
            .iter()
            .any(|x| matches!(x, Sel::Agg(..) | Sel::Count | Sel::CountDistinct(_) | Sel::Share { .. }));
        let plain: Vec<usize> = self
            .plan
            .select
            .iter()
            .filter_map(|x| match x {
                Sel::Col(c) => Some(*c),
                _ => None,
            })
            .collect();
        let needs_group = (aggregated && !plain.is_empty()) || counted_order || self.plan.having.is_some();
        if needs_group && self.plan.group_by.is_empty() && self.bucket.is_none() {
            if !plain.is_empty() {
                // A key said by its own name ("per shipping region", `orders.ship_region_id`), or as the level of a
                // hierarchy it points at ("Which subcategory has the most products?", `products.category_id` by its
                // comment): per key, shown by the name of the row it points at.
                let filters_through = |ctx: &Self, c: usize| {
                    let lex = ctx.lex;
                    let target = lex.edges.iter().find(|e| e.from_col == c).map(|e| lex.cols[e.to_col].table);
                    ctx.plan.filters.iter().flatten().any(|f| Some(lex.cols[f.col()].table) == target)
                };
                let level_key = if let [c] = plain[..]
                    && self.referenced_name(c).is_some()
                    && !counted_order
                    && self.plan.having.is_none()
                    && filters_through(self, c)
                {
                    // "배송 지역이 제주권인 주문의 평균 금액": the key is the way to the filter, not a group.
                    self.plan.select.retain(|x| *x != Sel::Col(c));
                    true
                } else if let [c] = plain[..]
                    && let Some(n) = self.referenced_name(c)
                    && (!self.self_referencing(self.table_of(n))
                        || self.lex.cols[c].lower_level && self.hierarchy_level(self.table_of(n)) == Level::Lower)
                {
                    self.plan.group_by = vec![c];
                    self.plan.distinct = false;
                    for x in self.plan.select.iter_mut() {
                        if *x == Sel::Col(c) {
                            *x = Sel::Col(n);
                        }
                    }
                    true
                } else if let [c] = plain[..]
                    && let Some((_, pk)) = self.parent_edge(self.table_of(c)).filter(|(pc, _)| *pc == c)
                    && let Some(n) = self.lex.name_column_in(self.table_of(c), self.korean)
                    && self.plan.parent.is_none()
                {
                    // "상위 카테고리별 상품 수" (`categories.parent_id` by its comment): per parent row, shown by the
                    // parent's name (the table joined to itself).
                    self.plan.group_by = vec![c];
                    self.plan.distinct = false;
                    self.plan.parent = Some((c, pk));
                    for x in self.plan.select.iter_mut() {
                        if *x == Sel::Col(c) {
                            *x = Sel::Parent(n);
                        }
                    }
                    true
                } else {
                    false
                };
                if !level_key {
                    // Listed identifiers ("고객의 주문" read as `orders.customer_id`) are rarely the groups asked for.
                    let keys = plain.iter().any(|&c| self.lex.cols[c].is_pk || self.lex.cols[c].is_fk);
                    // Rows listed by their name are counted per row, not per name: two customers may share a name.
                    let mut groups = Vec::new();
                    for &c in &plain {
                        let t = self.table_of(c);
                        if self.lex.name_column_in(t, self.korean) == Some(c)
                            && self.lex.is_name_like(c)
                            && let Some(pk) = self.lex.pk(t)
                            && !plain.contains(&pk)
                            && !groups.contains(&pk)
                        {
                            groups.push(pk);
                        }
                        groups.push(c);
                    }
                    self.plan.group_by = groups;
                    self.plan.distinct = false;
                    // "고객의 이름과 주문 건수": the names of another table's rows beside a count are a count per row.
                    let counted = self.plan.count_table.unwrap_or(self.subject);
                    let names_of_others = plain.iter().all(|&c| {
                        let t = self.table_of(c);
                        t != counted
                            && self.lex.name_column_in(t, self.korean) == Some(c)
                            && self.lex.is_name_like(c)
                            && self.lex.pk(t).is_some()
                            && self.res.contains(&Res::Col(c))
                    });
                    // "top 5 cities by number of customers": a ranked count of a column's values has no other reading.
                    let ranked_count = self.plan.limit.is_some()
                        && self.plan.order.iter().any(|(k, _)| matches!(k, OrderKey::Count | OrderKey::Agg(..)))
                        && plain.iter().all(|&c| {
                            let info = &self.lex.cols[c];
                            !info.is_pk && !info.is_fk && info.class == TypeClass::Text && self.table_of(c) == counted
                        });
                    if !names_of_others && !ranked_count {
                        self.doubt(F::GroupedListed, "grouped by the listed columns");
                    }
                    if keys {
                        self.doubt(F::GroupsByKey, "grouped by a listed key");
                    }
                }
            } else {
                match self.lex.pk(self.subject) {
                    Some(pk) => {
                        self.plan.group_by.push(pk);
                        self.group_table = Some(self.subject);
                    }
                    None => return Err("a count per row without a key to group by".into()),
                }
            }
        }

        // Per period ("월별 매출"): a measure named without an aggregate is summed.
        if self.bucket.is_some() {
            let mut summed = false;
            for x in self.plan.select.iter_mut() {
                if let Sel::Col(c) = *x
                    && matches!(self.lex.cols[c].class, TypeClass::Integer | TypeClass::Real)
                    && !self.lex.cols[c].is_pk
                    && !self.lex.cols[c].is_fk
                {
                    *x = Sel::Agg(Agg::Sum, c);
                    summed = true;
                }
            }
            if summed {
                self.doubt(F::GroupedListed, "a measure per period summed");
            }
        }
        // Grouped queries show their groups.
        if !self.plan.group_by.is_empty() {
            let group_cols = self.plan.group_by.clone();
            let mut shown: Vec<Sel> = Vec::new();
            if let Some(t) = self.group_table {
                let already = self.plan.select.iter().any(|s| match s {
                    Sel::Col(c) => {
                        self.lex.cols[*c].table == t
                            || group_cols
                                .iter()
                                .any(|g| self.lex.cols[*g].name.eq_ignore_ascii_case(&self.lex.cols[*c].name))
                    }
                    _ => false,
                });
                let mut top = false;
                if self.self_referencing(t) {
                    // Grouped by the hierarchy's own rows ("Which category has the most products?") is the level
                    // other tables point at, unless the question names another.
                    match self.hierarchy_level(t) {
                        Level::Lower => {}
                        Level::Top if self.regroup_at_top(t) => top = true,
                        Level::Unsaid if t == self.subject => {}
                        _ => self.doubt(F::Hierarchy, "groups of a hierarchy, at a level the question does not fix"),
                    }
                }
                if !already {
                    match self.lex.name_column_in(t, self.korean) {
                        Some(n) if top => shown.push(Sel::Parent(n)),
                        Some(n) => shown.push(Sel::Col(n)),
                        None => {
                            for g in &group_cols {
                                shown.push(Sel::Col(*g));
                            }
                            self.doubt(F::GroupsByKey, "groups shown by their key");
                        }
                    }
                }
                if top {
                    let lex = self.lex;
                    for x in self.plan.select.iter_mut() {
                        if let Sel::Col(c) = *x
                            && lex.cols[c].table == t
                        {
                            *x = Sel::Parent(c);
                        }
                    }
                }
            } else {
                for g in &group_cols {
                    if self.plan.select.contains(&Sel::Col(*g)) {
                        continue;
                    }
                    // Grouped by the parent column, the parent's name labels the group.
                    if self.plan.parent.is_some_and(|(pc, _)| pc == *g)
                        && self.plan.select.iter().any(|x| matches!(x, Sel::Parent(_)))
                    {
                        continue;
                    }
                    // The key grouping rows listed by their name stays out of sight.
                    if self.lex.cols[*g].is_pk
                        && self
                            .plan
                            .select
                            .iter()
                            .any(|s| matches!(s, Sel::Col(c) if self.table_of(*c) == self.table_of(*g)))
                    {
                        continue;
                    }
                    // A key to another table ("per shipping region" → `ship_region_id`): the group shows the name
                    // of the row it points to, joined along that key.
                    match self.referenced_name(*g) {
                        Some(n) if !self.plan.select.contains(&Sel::Col(n)) => {
                            let t = self.table_of(n);
                            if self.self_referencing(t) {
                                match self.hierarchy_level(t) {
                                    Level::Lower => {}
                                    Level::Top if self.regroup_at_top(t) => {
                                        shown.push(Sel::Parent(n));
                                        continue;
                                    }
                                    _ => self.doubt(
                                        F::Hierarchy,
                                        "groups of a hierarchy, at a level the question does not fix",
                                    ),
                                }
                            }
                            shown.push(Sel::Col(n))
                        }
                        Some(_) => {}
                        None => shown.push(Sel::Col(*g)),
                    }
                }
            }
            let mut sel = shown;
            sel.append(&mut self.plan.select);
            self.plan.select = sel;
            // A key listed beside the name it points to ("배송 지역 … 지역"): the name is the group's label.
            let mut keys_named: Vec<usize> = group_cols
                .iter()
                .copied()
                .filter(|&g| self.referenced_name(g).is_some_and(|n| self.plan.select.contains(&Sel::Col(n))))
                .collect();
            // "the wider area of the shipping region": the key is the way to the grouped column, not a column shown.
            for s in &self.plan.select {
                if let Sel::Col(k) = *s
                    && self.lex.cols[k].is_fk
                    && !group_cols.contains(&k)
                    && let Some(e) = self.lex.edges.iter().find(|e| e.from_col == k)
                    && group_cols.iter().any(|&g| self.table_of(g) == self.table_of(e.to_col))
                {
                    keys_named.push(k);
                }
            }
            self.plan.select.retain(|s| !matches!(s, Sel::Col(c) if keys_named.contains(c)));
            // The same for a key listed beside the name of the table it points to, grouped by that table.
            if let Some(t) = self.group_table {
                let name = self.lex.name_column_in(t, self.korean);
                let shown = name.is_some_and(|n| self.plan.select.contains(&Sel::Col(n)));
                let lex = self.lex;
                self.plan.select.retain(|s| {
                    !(shown
                        && matches!(s, Sel::Col(c) if lex.cols[*c].is_fk
                            && lex.edges.iter().any(|e| e.from_col == *c && lex.cols[e.to_col].table == t)))
                });
            }
            let computes = self
                .plan
                .select
                .iter()
                .any(|x| matches!(x, Sel::Agg(..) | Sel::Count | Sel::CountDistinct(_) | Sel::Share { .. }));
            if !computes && !counted_order && self.plan.having.is_none() {
                // "for each X" with nothing computed per group.
                self.doubt(F::GroupNoAgg, "grouping without an aggregate");
            }
        }
        // Order placeholders (alphabetical / descending without a key): the first projected column.
        let first_col = self.plan.select.iter().find_map(|s| match s {
            Sel::Col(c) => Some(*c),
            _ => None,
        });
        let mut order = Vec::new();
        for (k, d) in std::mem::take(&mut self.plan.order) {
            match k {
                OrderKey::Col(usize::MAX) => match first_col {
                    Some(c) => order.push((OrderKey::Col(c), d)),
                    None => self.doubt(F::OrderNoKey, "an order without a key"),
                },
                k => {
                    if !order.iter().any(|(x, _)| *x == k) {
                        order.push((k, d));
                    }
                }
            }
        }
        self.plan.order = order;
        // "List the subcategories of Electronics" read as `products.category_id`: a key shown as the answer, where the
        // rows it points to were meant (a key asked for says "id", "code", "번호").
        for s in self.plan.select.clone() {
            let Sel::Col(c) = s else { continue };
            let keyish = self.lex.cols[c].stems.iter().any(|w| matches!(w.as_str(), "id" | "code" | "no" | "key"));
            if !self.lex.cols[c].is_fk || self.lex.cols[c].is_pk || !keyish || self.plan.group_by.contains(&c) {
                continue;
            }
            let asked = (0..self.items.len()).filter(|&k| self.res[k] == Res::Col(c)).any(|k| {
                let text = self.items[k].text.to_lowercase();
                text.split(|ch: char| !ch.is_alphanumeric())
                    .any(|w| matches!(w, "id" | "ids" | "code" | "codes" | "key" | "no" | "number" | "numbers"))
                    || text.contains("번호")
                    || text.contains("코드")
                    || text.contains("아이디")
            });
            if !asked && (0..self.items.len()).any(|k| self.res[k] == Res::Col(c)) {
                self.doubt(F::KeyShown, format!("'{}' is a key to another table's rows", self.lex.cols[c].name));
            }
        }
        // "What is the total amount of all orders?", "2025년 주문 총 금액은?": a column named `total_…` asked for as one
        // value is summed ("List the total points of gymnasts" and "What are the totals" list it).
        if let [Sel::Col(c)] = self.plan.select[..]
            && self.lex.cols[c].stems.first().is_some_and(|w| w == "total")
            && self.is_numeric(c)
            && self.plan.group_by.is_empty()
            && self.plan.order.is_empty()
            && self.plan.limit.is_none()
            && self.bucket.is_none()
            && self.each_row.is_none()
            && !self.items.iter().any(|it| is_cue(it, |x| *x == Cue::Each))
        {
            let said =
                (0..self.items.len()).find(|&k| self.res[k] == Res::Col(c)).map(|k| self.items[k].text.to_lowercase());
            let one_value = if self.korean {
                said.as_deref().is_some_and(|t| t.contains('총'))
            } else {
                let words: Vec<String> = self.items.iter().take(2).map(|it| it.text.to_lowercase()).collect();
                said.as_deref().is_some_and(|t| t.starts_with("total"))
                    && (words == ["what", "is"]
                        || words == ["what", "was"]
                        || words.first().is_some_and(|w| w == "what's"))
            };
            if one_value {
                self.plan.select = vec![Sel::Agg(Agg::Sum, c)];
                self.plan.distinct = false;
            }
        }
        // Grouped by its own key with nothing joined, each group is one row: a count kept by HAVING means nothing
        // ("How many products have been ordered more than 1000 times?" with the order lines unread).
        if self.plan.having.is_some()
            && self.lex.pk(self.subject).is_some_and(|pk| self.plan.group_by.contains(&pk))
            && crate::builtin::sql::plan_tables(
                &crate::builtin::sql::Plan { from: self.subject, ..self.plan.clone() },
                self.lex,
            )
            .len()
                == 1
        {
            return Err("a count per row of the row itself".into());
        }
        // A sum or an average of a key to another table's rows ("거주 지역이 … 평균" as AVG(region_id)) measures
        // nothing: the aggregate's column was meant elsewhere.
        for s in self.plan.select.clone() {
            if let Sel::Agg(Agg::Avg | Agg::Sum, c) = s
                && self.lex.cols[c].is_fk
            {
                self.doubt(
                    F::KeyShown,
                    format!("a sum or average of '{}', a key to another table", self.lex.cols[c].name),
                );
            }
        }
        Ok(())
    }

    /// The name column of the row that foreign key `c` points to (in the question's language), if it has one.
    pub(super) fn referenced_name(&self, c: usize) -> Option<usize> {
        if !self.lex.cols[c].is_fk {
            return None;
        }
        // "per customer_id": the key itself was asked for.
        let named_key = self.items.iter().enumerate().any(|(i, it)| {
            self.res[i] == Res::Col(c)
                && it.text.split(|ch: char| !ch.is_alphanumeric()).any(|w| w.eq_ignore_ascii_case("id"))
        });
        if named_key {
            return None;
        }
        let edge = self.lex.edges.iter().find(|e| e.from_col == c)?;
        let target = self.table_of(edge.to_col);
        if target == self.table_of(c) {
            return None;
        }
        self.lex.name_column_in(target, self.korean)
    }

    /// "What is the highest X" asks for the value; "Which/Who … the highest X" asks for the row. In Korean, "가장 높은
    /// 가격은?" (the measure `c` named) asks for the value, "가장 비싼 상품은?" (only the thing named) for the row.
    fn question_asks_value(&self, c: usize) -> bool {
        if self.korean {
            // The last thing named decides: "가장 최근에 가입한 고객은?" (a table) asks for the customer.
            let last = (0..self.items.len()).rev().find(|&i| matches!(self.res[i], Res::Col(_) | Res::Table(_)));
            return last.is_some_and(|i| self.res[i] == Res::Col(c));
        }
        let first = self.items.iter().find(|it| !matches!(it.kind, ItemKind::Free | ItemKind::Punct));
        if first.is_some_and(|it| {
            matches!(it.text.to_lowercase().as_str(), "what" | "what's" | "whats" | "what’s" | "when" | "when's")
        }) {
            return true;
        }
        // A terse ask with no question word, the measure named right after the superlative: "latest signup date
        // among business customers".
        let sup = self.items.iter().position(|it| {
            !matches!(it.kind, ItemKind::Punct) && !matches!(it.text.to_lowercase().as_str(), "the" | "our")
        });
        sup.filter(|&k| is_cue(&self.items[k], |x| matches!(x, Cue::Super { .. })))
            .and_then(|k| self.next_sig(k))
            .is_some_and(|k| self.res[k] == Res::Col(c))
    }

    /// The level of a hierarchy (table `t`, with a key to itself) the question names, its words marked used:
    /// "subcategory", "하위 카테고리", "소분류" (the rows other tables point at); "top-level category", "parent
    /// category", "main category", "대분류", "상위 카테고리" (their parents).
    fn hierarchy_level(&mut self, t: usize) -> Level {
        let names_t = |ctx: &Self, k: usize| {
            ctx.res.get(k).is_some_and(|r| match *r {
                Res::Table(x) => x == t,
                Res::Col(c) => {
                    ctx.lex.cols[c].is_fk
                        && ctx.lex.edges.iter().any(|e| e.from_col == c && ctx.table_of(e.to_col) == t)
                }
                Res::None => false,
            })
        };
        let mut level = Level::Unsaid;
        let mut marks = Vec::new();
        for k in 0..self.items.len() {
            let w = self.items[k].text.as_str();
            let next_t = k + 1 < self.items.len() && names_t(self, k + 1);
            let lower = w.starts_with("하위") && (next_t || names_t(self, k))
                || w.starts_with("소분류")
                || w.len() > 5 && w.starts_with("sub") && names_t(self, k)
                || w == "sub" && next_t;
            let top_level = w == "top" && self.items.get(k + 1).is_some_and(|n| n.text == "level");
            let top = w.starts_with("대분류")
                || w.starts_with("최상위")
                || w.starts_with("상위") && next_t
                || matches!(w, "parent" | "main" | "top-level" | "upper") && next_t
                || top_level;
            let found = match (lower, top) {
                (true, _) => Level::Lower,
                (false, true) => Level::Top,
                (false, false) => continue,
            };
            if top_level {
                marks.push(k + 1);
            }
            if level != Level::Unsaid && level != found {
                return Level::Both;
            }
            level = found;
            marks.push(k);
        }
        if level != Level::Both {
            for k in marks {
                self.used[k] = true;
            }
        }
        level
    }

    /// "What percentage of orders were cancelled?", "전체 고객 중 VIP 고객 비율은 몇 퍼센트": the share of the rows
    /// meeting one value condition among the rows meeting the others (`Sel::Share`). The condition is the one said
    /// after the rows are named ("orders … cancelled", "고객 중 VIP 고객"); anything but a count or the groups
    /// asked for beside it, or more than one such condition, is beyond this reading.
    fn share(&mut self, groups: &mut Vec<(usize, Vec<Cond>)>) -> Result<(), String> {
        const SHARE: &[&str] =
            &["percentage", "percent", "proportion", "share", "fraction", "ratio", "비율", "비중", "퍼센트", "백분율"];
        // A share is a percentage when said so, and when said as Korean 비율/비중 or English "share", which business
        // reports give in percent; "ratio", "proportion" and "fraction" are between 0 and 1.
        const PERCENT: &[&str] = &["percentage", "percent", "퍼센트", "백분율", "%", "비율", "비중", "share"];
        let word = |t: &str| SHARE.iter().find(|w| t == **w || (!w.is_ascii() && t.starts_with(**w))).is_some();
        let Some(k) = (0..self.items.len()).find(|&k| {
            !self.used[k] && matches!(self.items[k].kind, ItemKind::Word | ItemKind::Free) && word(&self.items[k].text)
        }) else {
            return Ok(());
        };
        let percent = self.items.iter().any(|it| PERCENT.iter().any(|p| it.text.starts_with(p)));
        let value_group = |ctx: &Self, g: &[Cond]| {
            g.iter().all(|c| {
                matches!(c, Cond::Cmp(col, Op::Eq | Op::Ne, Lit::Text(_) | Lit::Num(_))
                    if ctx.lex.cols[*col].class != TypeClass::Temporal)
            })
        };
        // The rows are named first: the condition comes after them (or after the share word when they are not).
        let named = (0..self.items.len()).find(|&i| self.res[i] == Res::Table(self.subject)).unwrap_or(k);
        let after: Vec<usize> =
            (0..groups.len()).filter(|&g| groups[g].0 > named && value_group(self, &groups[g].1)).collect();
        // "VIP 고객 비율", "the share of VIP customers": the one condition, said of the rows, is what is shared.
        // Nothing said after the rows but the share itself ("… placed an order" is another condition).
        let said_after = (named + 1..self.items.len()).any(|m| {
            m != k
                && (matches!(self.items[m].kind, ItemKind::Word | ItemKind::Schema { .. } | ItemKind::Value { .. })
                    || self.table_at(m).is_some())
        });
        let only_before = (after.is_empty()
            && groups.len() == 1
            && groups[0].0 < named
            && !said_after
            && value_group(self, &groups[0].1))
        .then_some(0);
        let g = match (&after[..], only_before) {
            ([g], _) => *g,
            ([], Some(g)) => g,
            _ => return Err("a share, of rows meeting which condition is unclear".into()),
        };
        // Nothing computed beside it but the rows counted; the groups asked for stay.
        // The rows themselves, shown by their key or name ("the orders placed in 2025"), are what is counted.
        let own = [self.lex.pk(self.subject), self.lex.name_column_in(self.subject, self.korean)];
        let rest: Vec<Sel> = self
            .plan
            .select
            .iter()
            .filter(|x| match x {
                Sel::Count | Sel::Star => false,
                Sel::Col(c) => self.plan.group_by.contains(c) || !own.contains(&Some(*c)),
                _ => true,
            })
            .cloned()
            .collect();
        if rest.iter().any(|x| !matches!(x, Sel::Col(c) if self.plan.group_by.contains(c)))
            || !self.plan.order.is_empty()
            || self.plan.having.is_some()
            || self.plan.count_table.is_some_and(|t| t != self.subject)
        {
            return Err("a share beside other measures".into());
        }
        let (_, cond) = groups.remove(g);
        self.used[k] = true;
        // "몇 퍼센트": the "how many" of the percentage.
        for i in 0..self.items.len() {
            if !self.used[i] && is_cue(&self.items[i], |c| *c == Cue::Count) && self.items[i].text == "몇" {
                self.used[i] = true;
            }
        }
        self.plan.select = rest;
        self.plan.select.push(Sel::Share { cond, scale: if percent { 100.0 } else { 1.0 } });
        self.plan.distinct = false;
        self.plan.limit = None;
        Ok(())
    }

    /// Groups of a hierarchy's top level, one step up from the rows a key points at: the table's parent column
    /// groups, its parent row (the table joined to itself, `Plan::parent`) names the group. Only when the schema
    /// says the key points at the lower of two levels (its comment names a subcategory, or the table's says two
    /// levels); otherwise one step up is not the top.
    fn regroup_at_top(&mut self, t: usize) -> bool {
        let Some((pc, pk)) = self.parent_edge(t) else {
            return false;
        };
        if self.plan.parent.is_some() || self.plan.group_by.is_empty() {
            return false;
        }
        // Every group key is the hierarchy's key, or a key pointing at it that says so.
        let lex = self.lex;
        let keys_ok = self.plan.group_by.iter().all(|&g| {
            let info = &lex.cols[g];
            let points = info.is_fk && lex.edges.iter().any(|e| e.from_col == g && lex.cols[e.to_col].table == t);
            (g == pk || points) && (lex.tables[t].two_levels || (points && info.lower_level))
        });
        if !keys_ok {
            return false;
        }
        self.plan.group_by = vec![pc];
        self.plan.parent = Some((pc, pk));
        true
    }

    /// "each subcategory with its parent category (name)", "각 하위 카테고리와 그 상위 카테고리 이름": the subject's
    /// parent column named, nothing computed: each row beside its parent's name, the table joined to itself.
    fn parent_rows(&mut self) {
        let t = self.subject;
        let Some((pc, pk)) = self.parent_edge(t) else {
            return;
        };
        let Some(k) = (0..self.items.len()).find(|&k| self.res[k] == Res::Col(pc)) else { return };
        let Some(name) = self.lex.name_column_in(t, self.korean) else { return };
        let plain = !self.plan.select.is_empty()
            && self.plan.select.iter().all(|s| matches!(s, Sel::Col(_)))
            && self.plan.select.contains(&Sel::Col(pc))
            && self.plan.having.is_none()
            && self.plan.order.is_empty()
            && self.plan.limit.is_none()
            && self.bucket.is_none();
        if !plain {
            return;
        }
        // Only the rows' names and the parent's: other columns asked for are beyond this reading.
        let others = self.plan.select.iter().any(|s| match s {
            Sel::Col(c) => *c != pc && !self.lex.is_name_like(*c),
            _ => true,
        });
        if others {
            return;
        }
        self.used[k] = true;
        // The rows themselves, said through a key to this table ("each subcategory" as `products.category_id`).
        for j in 0..self.items.len() {
            if let Res::Col(c) = self.res[j]
                && self.lex.cols[c].is_fk
                && self.lex.edges.iter().any(|e| e.from_col == c && self.table_of(e.to_col) == t)
            {
                self.used[j] = true;
            }
        }
        self.plan.select = vec![Sel::Col(name), Sel::Parent(name)];
        self.plan.group_by.clear();
        self.group_table = None;
        self.each_row = None;
        self.plan.distinct = false;
        self.plan.parent = Some((pc, pk));
    }

    /// A Korean question that ends by naming the subject table ("…상품은?", "…고객을 보여줘"): it asks for those
    /// rows, as English "Which products …".
    fn korean_asks_rows(&self) -> bool {
        let Some(last) = (0..self.items.len()).rev().find(|&i| matches!(self.res[i], Res::Col(_) | Res::Table(_)))
        else {
            return false;
        };
        self.res[last] == Res::Table(self.subject)
            && self.items[last + 1..].iter().all(|it| {
                matches!(it.kind, ItemKind::Free | ItemKind::Punct | ItemKind::Stop) || is_cue(it, |c| *c == Cue::Free)
            })
    }

    /// An English request to list rows of the subject: "List the discontinued products", "Show the regions in …".
    fn english_lists_rows(&self) -> bool {
        if self.korean || !self.res.contains(&Res::Table(self.subject)) {
            return false;
        }
        let first = self.items.iter().find(|it| !matches!(it.kind, ItemKind::Punct));
        let verb =
            first.is_some_and(|it| matches!(it.text.to_lowercase().as_str(), "list" | "show" | "display" | "give"));
        // "List the discontinued products": the first thing named is the table; "Show all locations with …" names
        // a column first.
        let first_named = (0..self.items.len()).find(|&k| matches!(self.res[k], Res::Col(_) | Res::Table(_)));
        verb && first_named.is_some_and(|k| self.res[k] == Res::Table(self.subject))
            && self.lex.name_column_in(self.subject, false).is_some_and(|n| self.lex.is_name_like(n))
    }

    /// "… with their prices" names column `c` after "with its/their".
    fn with_their_col(&self, c: usize) -> bool {
        (2..self.items.len()).any(|i| {
            self.res[i] == Res::Col(c)
                && matches!(self.items[i - 1].text.as_str(), "its" | "their")
                && self.items[i - 2].text.eq_ignore_ascii_case("with")
        })
    }

    fn default_projection(&mut self) -> Result<(), String> {
        let t = self.group_table.unwrap_or(self.subject);
        let named_col = self.items.iter().enumerate().find_map(|(i, it)| {
            let ItemKind::Schema { cols, .. } = &it.kind else { return None };
            let tt = self.table_at(i)?;
            cols.iter()
                .find(|(c, s)| *s >= 0.95 && self.lex.cols[*c].table == tt && !self.lex.cols[*c].is_pk)
                .map(|x| x.0)
        });
        if let Some(c) = named_col {
            self.plan.select.push(Sel::Col(c));
            self.doubt(F::NamedLikeTable, "the table named like its column: showing that column");
            return Ok(());
        }
        let everything = self.items.iter().enumerate().any(|(i, it)| {
            !self.used[i] && matches!(it.text.as_str(), "details" | "information" | "info" | "everything" | "data")
        });
        if everything && self.group_table.is_none() {
            for (i, it) in self.items.iter().enumerate() {
                if matches!(it.text.as_str(), "details" | "information" | "info" | "everything" | "data") {
                    self.used[i] = true;
                }
            }
            self.plan.select.push(Sel::Star);
            self.doubt(F::EveryColumn, "every column");
            return Ok(());
        }
        if let Some(c) = self.lex.name_column_in(t, self.korean) {
            self.plan.select.push(Sel::Col(c));
            self.doubt(F::DefaultName, "no column named: showing the name");
            return Ok(());
        }
        self.plan.select.push(Sel::Star);
        self.doubt(F::DefaultStar, "no column named: showing every column");
        Ok(())
    }
}
