//! The projection: columns, aggregates and counts the question asks for, from what the constructs left.

use super::{Ctx, KIND_WORDS, is_cue};
use crate::builtin::doubt::F;
use crate::builtin::link::ItemKind;
use crate::builtin::sql::{Cond, Lit, OrderKey, Sel};
use crate::builtin::text::stem_word;
use crate::builtin::vocab::{Agg, Cue, Op};

impl Ctx<'_> {
    /// Where the requested columns end in an English question: the first relative clause ("… that/who/with …")
    /// after the subject. Columns after it describe rows rather than name output.
    fn head_end(&self) -> usize {
        if self.korean {
            return self.items.len();
        }
        let mut seen_entity = false;
        for (i, it) in self.items.iter().enumerate() {
            if it.kind == ItemKind::Stop {
                return i;
            }
            if self.table_at(i).is_some() || self.col_at(i).is_some() {
                seen_entity = true;
                continue;
            }
            if seen_entity && i > 0 && is_cue(it, |c| matches!(c, Cue::Filter | Cue::Has)) {
                return i;
            }
        }
        self.items.len()
    }

    pub(super) fn projection_pass(&mut self) {
        let start = self.proj_from.unwrap_or(0);
        let head_end = if self.proj_from.is_some() { self.items.len() } else { self.head_end() };
        let mut pending_aggs: Vec<(usize, Agg)> = Vec::new();
        let mut pending_count: Option<usize> = None;
        let mut pending_distinct: Option<usize> = None;
        let mut which_pending = false;
        let mut last_table: Option<usize> = None;
        let mut carry: Option<(Vec<Agg>, usize)> = None;
        let mut with_their_at: Option<usize> = None;
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            if i < start {
                // Before a projection override: columns there are part of the question, not the output.
                if self.col_at(i).is_some() {
                    self.used[i] = true;
                }
                continue;
            }
            let it = &self.items[i];
            match &it.kind {
                ItemKind::Cue(Cue::Agg(a)) => pending_aggs.push((i, *a)),
                ItemKind::Cue(Cue::Count) => {
                    // "phone numbers of all employees": part of a column's name, not a count.
                    let glued = i > 0
                        && (self.col_at(i - 1).is_some()
                            || self.table_at(i - 1).is_some()
                            || self.items[i - 1].kind == ItemKind::Word)
                        && self.items[i].text.starts_with("number");
                    if glued {
                        self.used[i] = true;
                    } else if pending_count.is_some() && self.korean {
                        // "고객 수는 몇 명": one count said twice.
                        self.used[i] = true;
                    } else {
                        pending_count = Some(i);
                    }
                }
                ItemKind::Cue(Cue::Distinct) => pending_distinct = Some(i),
                // "how many kinds of different ratings": left alone by the grouping pass, a distinct count.
                ItemKind::Cue(Cue::Each) if self.counted_different(i) => pending_distinct = Some(i),
                ItemKind::Word
                    if pending_count.is_some()
                        && KIND_WORDS.contains(&it.text.to_lowercase().as_str())
                        // "how many kinds of (different) categories"
                        && self
                            .next_sig(i)
                            .and_then(|k| if self.cue_at(k) == Some(Cue::Each) { self.next_sig(k) } else { Some(k) })
                            .and_then(|k| self.col_at(k))
                            .is_some() =>
                {
                    self.used[i] = true;
                }
                ItemKind::Cue(Cue::Which) => {
                    // A relative "who/which" in mid-sentence is not a question word.
                    let sentence_start =
                        self.items[..i].iter().rev().take_while(|x| x.kind != ItemKind::Stop).all(|x| {
                            matches!(x.kind, ItemKind::Free | ItemKind::Punct) || is_cue(x, |c| matches!(c, Cue::Free))
                        });
                    which_pending = sentence_start;
                }
                ItemKind::Cue(Cue::Star) => {
                    self.used[i] = true;
                    self.plan.select.push(Sel::Star);
                }
                ItemKind::Stop => {
                    which_pending = false;
                }
                _ => {}
            }
            // "top 3 customers by total order amount, with their totals": the ranking's aggregate, shown beside them.
            if !self.used[i]
                && matches!(it.kind, ItemKind::Word | ItemKind::Cue(Cue::Agg(_)))
                && i > 1
                && matches!(self.items[i - 1].text.as_str(), "its" | "their" | "the")
                && self.items[i - 2].text.eq_ignore_ascii_case("with")
                && let Some((OrderKey::Agg(a, c), _)) = self.plan.order.first().cloned()
                && match a {
                    Agg::Sum => matches!(it.text.to_lowercase().as_str(), "totals" | "total" | "sums" | "amounts"),
                    Agg::Avg => matches!(it.text.to_lowercase().as_str(), "averages" | "average"),
                    Agg::Max | Agg::Min => false,
                }
            {
                self.used[i] = true;
                if !self.plan.select.contains(&Sel::Agg(a, c)) {
                    self.plan.select.push(Sel::Agg(a, c));
                }
                continue;
            }
            // "committees that have delegates": a column after "have" qualifies, it is not shown.
            if self.col_at(i).is_some()
                && pending_aggs.is_empty()
                && pending_count.is_none()
                && i > 0
                && self
                    .prev_sig(i)
                    .is_none_or(|p| p + 1 == i || self.items[p + 1..i].iter().all(|x| x.kind == ItemKind::Free))
                && self.items[..i]
                    .iter()
                    .rev()
                    .find(|x| x.kind != ItemKind::Free)
                    .is_some_and(|x| is_cue(x, |c| *c == Cue::Has))
                && !self.plan.select.is_empty()
            {
                self.used[i] = true;
                self.doubt(F::HaveCol, "a column read as a condition of having it");
                continue;
            }
            let counting_rows = self.plan.select.len() == 1 && self.plan.select[0] == Sel::Count;
            // "How many products are active?", "활성 상품": a yes/no column named as an adjective is a filter.
            // A column named right before a table describes its rows ("active products", Korean "활성 상품").
            let modifies = self.col_at(i).is_some()
                && self.next_sig(i).filter(|&k| self.korean || k == i + 1).and_then(|k| self.table_at(k)).is_some();
            if let Some(c) = self.col_at(i).filter(|&c| self.is_flag(c) && self.col_score(i) >= 0.95)
                && (modifies
                    || ((i > head_end || counting_rows)
                        && pending_aggs.is_empty()
                        && pending_count.is_none()
                        && !self.plan.select.is_empty()))
            {
                self.used[i] = true;
                let negated = self.negated_before(i) || self.items[i].text.starts_with('비');
                let yes = if negated { 0.0 } else { 1.0 };
                self.filters.push((i, Cond::Cmp(c, Op::Eq, Lit::Num(yes))));
                continue;
            }
            // "refunded payments" with `refunded_at`: a column in front of the table describes the rows, and no
            // filter here says how — not something to show.
            if modifies && !self.korean && pending_aggs.is_empty() && pending_count.is_none() {
                self.used[i] = true;
                self.doubt(
                    F::Describing,
                    format!("'{}' describes the rows, but no filter says how", self.items[i].text),
                );
                continue;
            }
            // "the 5 most expensive products with their prices": a column of the rows, shown beside them.
            let with_their = !self.korean
                && i > 1
                && ((matches!(self.items[i - 1].text.as_str(), "its" | "their")
                    && self.items[i - 2].text.eq_ignore_ascii_case("with"))
                    // "with its parent category name": the name of the thing just named.
                    || (with_their_at == Some(i - 1) && self.col_at(i).is_some_and(|c| self.lex.is_name_like(c))));
            if with_their && let Some(c) = self.col_at(i) {
                self.used[i] = true;
                with_their_at = Some(i);
                self.each_row = Some(0);
                self.plan.select.push(Sel::Col(c));
                continue;
            }
            if (i > head_end || counting_rows)
                && self.col_at(i).is_some()
                && pending_aggs.is_empty()
                && pending_count.is_none()
                && !self.plan.select.is_empty()
            {
                self.used[i] = true;
                self.doubt(F::Describing, format!("'{}' read as describing the rows", self.items[i].text));
                continue;
            }
            // "the total amount of refunded payments": `total_amount` of another table is not what is asked when the
            // subject has an `amount` column: that column, summed.
            if let Some(c) = self.col_at(i)
                && self.table_of(c) != self.subject
                && pending_aggs.is_empty()
                && let Some(rest) = self.items[i].text.to_lowercase().strip_prefix("total ").map(str::to_string)
                && let Some(own) = self.subject_col_named(&rest)
                && self.is_numeric(own)
            {
                self.used[i] = true;
                self.plan.select.push(Sel::Agg(Agg::Sum, own));
                continue;
            }
            if let Some(c) = self.col_at(i) {
                self.used[i] = true;
                which_pending = false;
                // "order amount": the table just named holds a column the word is part of (`total_amount`).
                let qualified = i > 0
                    && self.table_at(i - 1) == Some(self.table_of(c))
                    && self.items[i].text.split_whitespace().all(|w| self.lex.cols[c].stems.contains(&stem_word(w)))
                    && self.lex.tables[self.table_of(c)]
                        .cols
                        .iter()
                        .filter(|&&o| {
                            self.items[i]
                                .text
                                .split_whitespace()
                                .all(|w| self.lex.cols[o].stems.contains(&stem_word(w)))
                        })
                        .count()
                        == 1;
                if self.col_score(i) < 0.7 && !qualified {
                    self.doubt(F::ReadLoosely, format!("'{}' read loosely as a column", self.items[i].text));
                }
                if !pending_aggs.is_empty() {
                    let aggs: Vec<Agg> = pending_aggs.iter().map(|x| x.1).collect();
                    for (k, a) in pending_aggs.drain(..) {
                        self.used[k] = true;
                        self.plan.select.push(Sel::Agg(a, c));
                    }
                    carry = Some((aggs, i));
                    pending_count = None;
                } else if pending_count.is_some()
                    && self.is_numeric(c)
                    && !self.lex.cols[c].is_pk
                    && !self.lex.cols[c].is_fk
                    && pending_distinct.is_none()
                {
                    // "the number of floors" where `Floors` is a number already.
                    if let Some(k) = pending_count.take() {
                        self.used[k] = true;
                    }
                    self.plan.select.push(Sel::Col(c));
                } else if let Some(k) = pending_count.take() {
                    self.used[k] = true;
                    let distinct = pending_distinct.take();
                    if let Some(d) = distinct {
                        self.used[d] = true;
                    }
                    let exact = self.col_score(i) >= 0.9 && !self.lex.cols[c].is_pk;
                    if distinct.is_some() || exact {
                        if distinct.is_none() {
                            self.doubt(F::CountDistinctGuess, "counting distinct values of a column");
                        }
                        self.plan.select.push(Sel::CountDistinct(c));
                    } else {
                        // "How many rooms …" where "rooms" only loosely names a column: rows are counted.
                        self.doubt(F::CountRowsGuess, "counting rows of the table a column belongs to");
                        self.count_of(self.table_of(c));
                    }
                } else if let Some((aggs, _)) =
                    // Not to a text column: "the average stars and title" lists the title.
                    carry.as_ref().filter(|(_, at)| self.only_list_between(*at, i) && self.is_numeric(c))
                {
                    // "the average rating and resolution": the aggregate applies to both.
                    for a in aggs.clone() {
                        self.plan.select.push(Sel::Agg(a, c));
                    }
                    carry = Some((aggs.clone(), i));
                } else {
                    if let Some(d) = pending_distinct.take() {
                        self.used[d] = true;
                        self.plan.distinct = true;
                    }
                    self.plan.select.push(Sel::Col(c));
                    carry = None;
                }
                continue;
            }
            if let Some(t) = self.table_at(i) {
                last_table = Some(t);
                // "total tracks": how many.
                // Only for the table's own name: "total revenue" (a table found through its comment) is a sum of
                // something, not a count of rows.
                let own_name = matches!(&self.items[i].kind,
                    ItemKind::Schema { tables, .. } if tables.iter().any(|&(x, s)| x == t && s >= 0.95));
                // "the total payment amount", "average product price": the table names whose column follows.
                if pending_count.is_none()
                    && !pending_aggs.is_empty()
                    && self.items.get(i + 1).is_some()
                    && self.col_in_table_at(i + 1, t).is_some()
                {
                    self.used[i] = true;
                    continue;
                }
                if pending_count.is_none()
                    && own_name
                    && let Some(&(k, Agg::Sum)) = pending_aggs.last()
                    && self.items[k].text.eq_ignore_ascii_case("total")
                {
                    pending_aggs.pop();
                    pending_count = Some(k);
                }
                if let Some(k) = pending_count.take() {
                    self.used[k] = true;
                    self.used[i] = true;
                    if let Some(d) = pending_distinct.take() {
                        self.used[d] = true;
                    }
                    self.count_of(t);
                    continue;
                }
                if self.counted.contains(&i) {
                    self.used[i] = true;
                    self.count_of(t);
                    continue;
                }
                // "Show the players and the years played": a table named like one of its columns, listed with
                // other columns, is that column.
                if self.list_member(i)
                    && let Some(c) = self.col_cands(i).into_iter().find(|&c| self.table_of(c) == t)
                {
                    self.used[i] = true;
                    self.plan.select.push(Sel::Col(c));
                    continue;
                }
                let qualifier = self.items.get(i + 1).is_some() && self.col_in_table_at(i + 1, t).is_some();
                if qualifier {
                    self.used[i] = true;
                    continue;
                }
                if which_pending {
                    which_pending = false;
                    // "What is the most common birth place of people?": the group read by the superlative answers.
                    let answered = t == self.subject && !self.plan.group_by.is_empty();
                    if (t != self.subject || self.plan.select.is_empty()) && !answered {
                        match self.lex.name_column_in(t, self.korean) {
                            Some(c) => {
                                self.used[i] = true;
                                self.plan.select.push(Sel::Col(c));
                            }
                            None => {
                                if let Some(pk) = self.lex.pk(t) {
                                    self.used[i] = true;
                                    self.plan.select.push(Sel::Col(pk));
                                    self.doubt(F::NoNameCol, "an entity without a name column");
                                }
                            }
                        }
                    }
                }
            }
        }
        // Korean puts the count after the noun: "고객 수".
        if let Some(k) = pending_count {
            self.used[k] = true;
            let t = last_table.unwrap_or(self.subject);
            self.count_of(t);
        }
        if self.korean && !pending_aggs.is_empty() {
            // "주문 금액 합계": the aggregate follows the column.
            if let Some(pos) = self.plan.select.iter().rposition(|x| matches!(x, Sel::Col(_)))
                && let Sel::Col(c) = self.plan.select[pos]
                && self.is_numeric(c)
            {
                let aggs: Vec<Agg> = pending_aggs.iter().map(|x| x.1).collect();
                for (k, _) in pending_aggs.drain(..) {
                    self.used[k] = true;
                }
                self.plan.select.remove(pos);
                for (n, a) in aggs.into_iter().enumerate() {
                    self.plan.select.insert(pos + n, Sel::Agg(a, c));
                }
            }
        }
        // "매출 합계": the sum a measure already is, said again.
        if let Some(Sel::Agg(last, _)) = self.plan.select.last().cloned() {
            for &(k, a) in &pending_aggs {
                if a == last {
                    self.used[k] = true;
                }
            }
        }
        for (k, _) in pending_aggs {
            if !self.used[k] {
                // "What is the highest age" style aggregates are read by the superlative; an aggregate without a
                // column is unexplained.
                self.doubt(F::AggNoCol, "an aggregate without a column");
            }
        }
    }

    /// The subject's column whose name is exactly `words` ("amount" → `amount`).
    fn subject_col_named(&self, words: &str) -> Option<usize> {
        let stems: Vec<String> = words.split_whitespace().map(stem_word).collect();
        self.lex.tables[self.subject].cols.iter().copied().find(|&c| self.lex.cols[c].stems == stems)
    }

    /// Only list separators ("and", ",") between items `a` and `b`.
    fn only_list_between(&self, a: usize, b: usize) -> bool {
        (a + 1..b).all(|k| {
            let it = &self.items[k];
            matches!(it.kind, ItemKind::Free | ItemKind::Punct) || is_cue(it, |c| *c == Cue::And)
        }) && (a + 1..b).any(|k| is_cue(&self.items[k], |c| *c == Cue::And) || self.items[k].text == ",")
    }

    /// Item `i` is one of a list of columns: "X and Y", "X, Y".
    fn list_member(&self, i: usize) -> bool {
        let sep = |k: usize| {
            let it = &self.items[k];
            is_cue(it, |c| *c == Cue::And) || it.text == ","
        };
        let skip_free_back = |mut k: usize| {
            while k > 0 && matches!(self.items[k].kind, ItemKind::Free) {
                k -= 1;
            }
            k
        };
        let skip_free_fwd = |mut k: usize| {
            while k < self.items.len() && matches!(self.items[k].kind, ItemKind::Free) {
                k += 1;
            }
            k
        };
        if i > 0 {
            let p = skip_free_back(i - 1);
            if sep(p) && p > 0 && self.col_at(skip_free_back(p - 1)).is_some() {
                return true;
            }
        }
        let n = skip_free_fwd(i + 1);
        if n < self.items.len() && sep(n) {
            let m = skip_free_fwd(n + 1);
            return m < self.items.len() && self.col_at(m).is_some();
        }
        false
    }

    fn count_of(&mut self, t: usize) {
        self.plan.select.push(Sel::Count);
        if t != self.subject {
            if self.plan.group_by.is_empty() && self.group_table.is_none() {
                // "How many employees does the department X have": count the other table's rows.
                self.plan.count_table = Some(t);
            } else {
                self.plan.count_table = Some(t);
            }
            if !self.plan.extra_tables.contains(&t) {
                self.plan.extra_tables.push(t);
            }
        }
    }
}
