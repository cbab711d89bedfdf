//! Comparisons: "more than N", "older than", "between A and B"; a count compared becomes HAVING.

use super::{Ctx, is_cue};
use crate::builtin::doubt::F;
use crate::builtin::sql::{Cond, Lit};
use crate::builtin::text::stem_word;
use crate::builtin::vocab::{Agg, Concept, Cue, Op};
use crate::schema::TypeClass;

impl Ctx<'_> {
    pub(super) fn comparison_pass(&mut self) {
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            match self.cue_at(i) {
                Some(Cue::Cmp { op, concept }) => self.comparison(i, op, concept, false),
                Some(Cue::CmpPost { op }) => self.comparison(i, op, Concept::None, true),
                Some(Cue::Between) => self.between(i),
                _ => {}
            }
        }
    }

    fn comparison(&mut self, i: usize, op: Op, concept: Concept, post: bool) {
        // "in year 2001 or before", "2002 or after": the number before, the bound included.
        if !post
            && concept == Concept::Time
            && let Some(or) = self.prev_sig(i).filter(|&k| matches!(self.cue_at(k), Some(Cue::Or)))
            && self.prev_sig(or).is_some_and(|k| self.num_at(k).is_some())
            && self
                .next_sig(i)
                .is_none_or(|k| self.num_at(k).is_none() && self.next_sig(k).is_none_or(|m| self.num_at(m).is_none()))
        {
            self.used[or] = true;
            let op = match op {
                Op::Lt => Op::Le,
                Op::Gt => Op::Ge,
                o => o,
            };
            return self.comparison(i, op, Concept::Time, true);
        }
        // The number: after the cue (English), before it (Korean and "5 or more").
        let mut num_idx = if post { self.prev_sig(i) } else { self.next_sig(i) };
        // "2019 or before": the number before the "or".
        if post && let Some(o) = num_idx.filter(|&o| self.used[o] && matches!(self.cue_at(o), Some(Cue::Or))) {
            num_idx = self.prev_sig(o);
        }
        // "hired in year 2019 or before": the word "year" before the number names no column; the column is before it.
        let mut year_word = None;
        if post
            && let Some(y) = num_idx.and_then(|n| self.prev_sig(n))
            && self.items[y].text.eq_ignore_ascii_case("year")
            && self.col_at(y).is_none()
        {
            self.used[y] = true;
            year_word = Some(y);
        }
        // "1995년 이후": the number before its year unit.
        if post
            && let Some(u) = num_idx
            && matches!(self.items[u].text.as_str(), "년" | "년도" | "연도")
            && let Some(p) = self.prev_sig(u).filter(|&p| self.num_at(p).is_some())
        {
            self.used[u] = true;
            num_idx = Some(p);
        }
        let Some(mut ni) = num_idx else { return };
        // "before the year of 2010", "after year 2008", "higher than score 90": the column named between the cue and
        // the number.
        let mut named = None;
        if !post
            && self.num_at(ni).is_none()
            && !self.used[ni]
            && let Some(k) = self.next_sig(ni).filter(|&k| self.num_at(k).is_some())
        {
            if let Some(c) = self.col_at(ni) {
                named = Some((ni, c));
                ni = k;
            } else if self.items[ni].text.eq_ignore_ascii_case("year") && concept == Concept::Time {
                self.used[ni] = true;
                ni = k;
            }
        }
        let Some(n) = self.num_at(ni) else {
            // "above the average price", "평균 가격보다 비싼": compared with an aggregate of a column.
            self.aggregate_comparison(i, op, concept, post);
            return;
        };
        let neg = self.negated_before(i);
        let op = if neg { op.negate() } else { op };
        // A count condition: "more than 2 employees", "직원이 5명 이상".
        let after_num = self.next_sig(ni);
        let table_after = after_num.and_then(|k| self.table_at(k).map(|t| (k, t)));
        let times_after = after_num.filter(|&k| matches!(self.items[k].text.as_str(), "times" | "번" | "회" | "건"));
        let table_before = if post { self.prev_sig(ni).and_then(|k| self.table_at(k).map(|t| (k, t))) } else { None };
        if let Some((k, t)) = table_after.or(table_before) {
            self.used[i] = true;
            self.used[ni] = true;
            self.used[k] = true;
            match self.count_column(t) {
                Some(c) => self.filters.push((i, Cond::Cmp(c, op, Lit::Num(n)))),
                None => self.having(op, n, t),
            }
            return;
        }
        // "albums (that) have the number of tracks greater than 10": the count said before the comparison.
        if !post
            && let Some(k) = self.prev_sig(i).filter(|&k| !self.used[k])
            && let Some(t) = self.table_at(k)
            && (k + 1..i).all(|m| self.cue_at(m).is_none())
            && let Some(c) = self.prev_sig(k).filter(|&c| {
                !self.used[c]
                    && matches!(self.cue_at(c), Some(Cue::Count))
                    && self.items[c].text.to_lowercase().contains("number")
            })
        {
            for m in [c, k, i, ni] {
                self.used[m] = true;
            }
            match self.count_column(t) {
                Some(col) => self.filters.push((i, Cond::Cmp(col, op, Lit::Num(n)))),
                None => self.having(op, n, t),
            }
            return;
        }
        if let Some(k) = times_after {
            self.used[i] = true;
            self.used[ni] = true;
            self.used[k] = true;
            self.having(op, n, self.subject);
            return;
        }
        // The column: just before the cue, else named by the adjective, else just after the number.
        let anchor = if post { year_word.unwrap_or(ni) } else { i };
        let before = named
            .or_else(|| self.prev_sig(anchor).filter(|&k| !self.used[k]).and_then(|k| self.col_at(k).map(|c| (k, c))));
        // "bigger than 1500 or smaller than 500": the column of the comparison before.
        let chained =
            self.prev_sig(anchor).filter(|&k| matches!(self.cue_at(k), Some(Cue::Or | Cue::And))).and_then(|_| {
                match self.filters.last() {
                    Some((_, Cond::Cmp(c, _, Lit::Num(_)) | Cond::Between(c, ..))) => Some(*c),
                    _ => None,
                }
            });
        let after_col = after_num.filter(|&k| !self.used[k]).and_then(|k| self.col_at(k).map(|c| (k, c)));
        // "products (that) cost more than": the verb says price; a column called `cost` beside a `price` column is a
        // guess.
        if let Some((k, c)) = before {
            self.cost_as_verb(k, c);
        }
        let col = match before {
            Some((k, c)) => {
                self.used[k] = true;
                // "earn more than 30000 in salary": the column said again after the number.
                if let Some(a) = after_num
                    && !self.used[a]
                    && (self.col_at(a) == Some(c) || self.col_cands(a).contains(&c))
                {
                    self.used[a] = true;
                }
                Some(c)
            }
            None if chained.is_some() && after_col.is_none() => chained,
            // "3만원 미만 상품", "orders over 50,000 won": an amount of money measures the price or amount.
            None if concept == Concept::None && self.money_after(ni) => {
                let unit = ni + 1;
                self.used[unit] = true;
                self.concept_col(Concept::Price)
            }
            None => match self.concept_col(concept) {
                Some(c) => Some(c),
                None => {
                    // Korean names the column after the comparison: "1995년 이후 출생한 고객".
                    let after_cmp = if post { self.next_sig(i) } else { after_num };
                    let after = after_cmp.filter(|&k| !self.used[k]).and_then(|k| self.col_at(k).map(|c| (k, c)));
                    match after {
                        Some((k, c)) => {
                            self.used[k] = true;
                            Some(c)
                        }
                        None => None,
                    }
                }
            },
        };
        let Some(c) = col else {
            self.doubt(F::CmpNoCol, "a comparison without a column");
            return;
        };
        // A number compared with a text column named after it ("more than 2 faults"): rows are counted.
        if after_col.is_some_and(|(_, ac)| ac == c) && matches!(self.lex.cols[c].class, TypeClass::Text) {
            self.used[i] = true;
            self.used[ni] = true;
            let t = self.table_of(c);
            self.doubt(F::Loose, "a number of rows read from a column name");
            self.having(op, n, t);
            return;
        }
        if matches!(self.lex.cols[c].class, TypeClass::Text) {
            self.doubt(F::TextComparedWithNumber, "a text column compared with a number");
        }
        self.used[i] = true;
        self.used[ni] = true;
        if self.money_after(ni) {
            self.used[ni + 1] = true;
        }
        let reversed = concept == Concept::Age && self.reversed_age(c);
        let op = if reversed { op.flip() } else { op };
        let cond = self.numeric_cond(c, op, n);
        self.filters.push((i, cond));
    }

    /// A comparison with an aggregate: English "price above the average (product) price", "costs more than the
    /// average"; Korean "(원가가) 평균 원가보다 낮은". The compared column is the one before the comparison, else
    /// the aggregate's own column; the aggregate is over the whole table (a subquery).
    fn aggregate_comparison(&mut self, i: usize, op: Op, concept: Concept, post: bool) {
        let agg_of = |s: &Self, k: usize| match s.cue_at(k) {
            Some(Cue::Agg(a @ (Agg::Avg | Agg::Max | Agg::Min))) => Some(a),
            _ => None,
        };
        // (aggregate item, its column item if named, the item before the whole phrase)
        let (ai, agg, col_item, before) = if post {
            // Korean: [column] [table] 평균 [column]보다 비싼.
            let Some(ci) = self.prev_sig(i) else { return };
            let (col_item, ai) = match agg_of(self, ci) {
                Some(_) => (None, ci),
                None => match self.prev_sig(ci) {
                    Some(a) if self.col_at(ci).is_some() => (Some(ci), a),
                    _ => return,
                },
            };
            let Some(agg) = agg_of(self, ai) else { return };
            (ai, agg, col_item, self.prev_sig(ai))
        } else {
            // English: [column] above the average [table] [column].
            let Some(ai) = self.next_sig(i) else { return };
            let Some(agg) = agg_of(self, ai) else { return };
            let mut k = self.next_sig(ai);
            let mut table_item = None;
            if let Some(t) = k.filter(|&t| self.table_at(t).is_some()) {
                table_item = Some(t);
                k = self.next_sig(t);
            }
            let col_item = match k.filter(|&c| !self.used[c] && self.col_at(c).is_some()) {
                Some(c) => Some(c),
                None => {
                    if let Some(t) = table_item {
                        self.used[t] = true;
                    }
                    None
                }
            };
            if let (Some(t), Some(_)) = (table_item, col_item) {
                self.used[t] = true;
            }
            (ai, agg, col_item, self.prev_sig(i))
        };
        // The compared column: right before (over a table mention in Korean: "원가가 전체 상품의 평균 원가보다").
        let mut b = before;
        if post && let Some(t) = b.filter(|&t| self.table_at(t).is_some() && !self.used[t]) {
            self.used[t] = true;
            b = self.prev_sig(t);
        }
        let compared = b.filter(|&k| !self.used[k]).and_then(|k| self.col_at(k).map(|c| (k, c)));
        if let Some((k, c)) = compared {
            self.cost_as_verb(k, c);
        }
        let agg_col = col_item.and_then(|k| self.col_at(k));
        let (c, other) = match (compared, agg_col) {
            (Some((_, c)), Some(o)) => (c, o),
            (Some((_, c)), None) => (c, c),
            (None, Some(o)) => (o, o),
            (None, None) => match self.concept_col(concept) {
                Some(c) => (c, c),
                None => {
                    self.doubt(F::CmpNoCol, "a comparison without a column");
                    return;
                }
            },
        };
        if !self.is_numeric(c) || !self.is_numeric(other) {
            self.doubt(F::TextComparedWithNumber, "a comparison with an aggregate of a column that is not a number");
            return;
        }
        if let Some((k, _)) = compared {
            self.used[k] = true;
        }
        if let Some(k) = col_item {
            self.used[k] = true;
        }
        self.used[i] = true;
        self.used[ai] = true;
        let neg = self.negated_before(i);
        let op = if neg { op.negate() } else { op };
        // "전체 상품 평균 판매가보다", "the average price of all products", "the overall average": every row.
        let all_word = |k: usize| {
            let t = self.items[k].text.to_lowercase();
            t.starts_with("전체") || t.starts_with("모든") || matches!(t.as_str(), "all" | "overall" | "every")
        };
        self.agg_over_all |= (ai.saturating_sub(3)..ai).any(all_word)
            || (!post && (ai + 1..(ai + 5).min(self.items.len())).any(all_word));
        self.filters.push((i, Cond::CmpAgg(c, op, agg, other)));
    }

    /// A currency unit right after the number at `ni` ("원", "won", "krw", "dollars").
    fn money_after(&self, ni: usize) -> bool {
        self.items.get(ni + 1).is_some_and(|it| {
            matches!(it.text.to_lowercase().as_str(), "원" | "won" | "krw" | "dollars" | "usd" | "euros")
        })
    }

    /// "products (that) cost more than …": the verb says price; the column called `cost` beside a `price` column
    /// is a guess.
    fn cost_as_verb(&mut self, k: usize, c: usize) {
        if matches!(self.items[k].text.to_lowercase().as_str(), "cost" | "costs")
            && self
                .prev_sig(k)
                .is_some_and(|p| self.table_at(p).is_some() || is_cue(&self.items[p], |x| *x == Cue::Filter))
            && self.lex.tables[self.table_of(c)]
                .cols
                .iter()
                .any(|&o| o != c && self.lex.cols[o].stems == [stem_word("price")])
        {
            self.doubt(F::Ambiguous, "'cost' said as a verb: the price, or the cost column");
        }
    }

    /// `col op n`, reading a year against a date column as a date.
    fn numeric_cond(&self, c: usize, op: Op, n: f64) -> Cond {
        let info = &self.lex.cols[c];
        let year_like = n.fract() == 0.0 && (1000.0..=2999.0).contains(&n);
        let date_col = info.class == TypeClass::Temporal && !info.stems.iter().any(|s| s == "year");
        if year_like && date_col {
            let y = n as i64;
            let start = format!("{y:04}-01-01");
            let next = format!("{:04}-01-01", y + 1);
            return match op {
                Op::Gt => Cond::Cmp(c, Op::Ge, Lit::Date(next)),
                Op::Ge => Cond::Cmp(c, Op::Ge, Lit::Date(start)),
                Op::Lt => Cond::Cmp(c, Op::Lt, Lit::Date(start)),
                Op::Le => Cond::Cmp(c, Op::Lt, Lit::Date(next)),
                Op::Eq => Cond::Range(c, Lit::Date(start), Lit::Date(next)),
                Op::Ne => Cond::Cmp(c, Op::Ne, Lit::Num(n)),
            };
        }
        Cond::Cmp(c, op, Lit::Num(n))
    }

    fn having(&mut self, op: Op, n: f64, counted: usize) {
        if counted != self.subject {
            self.count_group(counted);
        } else if self.plan.group_by.is_empty() {
            // "types of documents with more than 4 documents": grouped by the projected column, found later.
            self.group_table = None;
        }
        self.plan.having = Some((op, n));
    }

    fn between(&mut self, i: usize) {
        // Korean puts the range first: "급여가 3000에서 5000 사이".
        if let Some(b) = self.prev_sig(i)
            && let Some(y) = self.num_at(b)
            && let Some(a) = self.prev_sig(b)
            && let Some(x) = self.num_at(a)
            && let Some(k) = self.prev_sig(a)
            && let Some(c) = self.col_at(k)
        {
            for m in [i, a, b, k] {
                self.used[m] = true;
            }
            let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
            self.filters.push((i, Cond::Between(c, Lit::Num(lo), Lit::Num(hi), false)));
            return;
        }
        let Some(a) = self.next_sig(i) else { return };
        let Some(x) = self.num_at(a) else { return };
        let Some(and) = self.next_sig(a) else { return };
        let and_ok = matches!(self.cue_at(and), Some(Cue::And)) || self.items[and].text == "~";
        let (b, y) = if and_ok {
            let Some(b) = self.next_sig(and) else { return };
            let Some(y) = self.num_at(b) else { return };
            (b, y)
        } else if let Some(y) = self.num_at(and) {
            // Korean "A B 사이": the cue after both numbers is handled by the caller's scan.
            (and, y)
        } else {
            return;
        };
        let neg = self.negated_before(i);
        let col = self.prev_sig(i).filter(|&k| !self.used[k]).and_then(|k| self.col_at(k).map(|c| (k, c)));
        let c = match col {
            Some((k, c)) => {
                self.used[k] = true;
                c
            }
            None => {
                let after = self.next_sig(b).and_then(|k| self.col_at(k).map(|c| (k, c)));
                match after {
                    Some((k, c)) => {
                        self.used[k] = true;
                        c
                    }
                    None => {
                        self.doubt(F::RangeNoCol, "a range without a column");
                        return;
                    }
                }
            }
        };
        self.used[i] = true;
        self.used[a] = true;
        self.used[and] = true;
        self.used[b] = true;
        if self.money_after(b) {
            self.used[b + 1] = true;
        }
        let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
        let info = &self.lex.cols[c];
        let cond = if info.class == TypeClass::Temporal
            && lo.fract() == 0.0
            && (1000.0..=2999.0).contains(&lo)
            && !info.stems.iter().any(|s| s == "year")
        {
            Cond::Range(
                c,
                Lit::Date(format!("{:04}-01-01", lo as i64)),
                Lit::Date(format!("{:04}-01-01", hi as i64 + 1)),
            )
        } else {
            Cond::Between(c, Lit::Num(lo), Lit::Num(hi), neg)
        };
        self.filters.push((i, cond));
    }
}
