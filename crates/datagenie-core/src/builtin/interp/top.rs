//! Top-N: "the top 5 X", "the 3 lowest" — a limit with an ordering.

use super::{Ctx, is_cue};
use crate::builtin::doubt::F;
use crate::builtin::sql::OrderKey;
use crate::builtin::vocab::Cue;

impl Ctx<'_> {
    /// "top 5" / "상위 5": the number, marking the cue and number used.
    pub(super) fn top_n_before(&mut self, i: usize) -> Option<u64> {
        // "the top 5 students with the highest gpa": the number may be a few items back.
        let mut k = i;
        for _ in 0..4 {
            let p = self.prev_sig(k)?;
            if let Some(n) = self.num_at(p) {
                let q = self.prev_sig(p);
                let top = q.filter(|&q| matches!(self.cue_at(q), Some(Cue::Top | Cue::Bottom)));
                // "the 2 employees with the lowest salary": a count right before the entity.
                let counted_entity = self.items.get(p + 1).is_some_and(|_| self.table_at(p + 1).is_some())
                    // "Which 3 cities have the most customers": the number of values asked for.
                    || (p > 0 && self.cue_at(p - 1) == Some(Cue::Which) && self.col_at(p + 1).is_some());
                let ok = (1.0..=10_000.0).contains(&n)
                    && n.fract() == 0.0
                    && (top.is_some() || p + 1 == i || counted_entity);
                if !ok {
                    return None;
                }
                if let Some(q) = top {
                    self.used[q] = true;
                }
                self.used[p] = true;
                return Some(n as u64);
            }
            k = p;
        }
        None
    }

    /// "상위 3명", "top 3" elsewhere in the question: its number, marking both used.
    pub(super) fn top_n_anywhere(&mut self) -> Option<u64> {
        for k in 0..self.items.len() {
            if self.used[k] || !matches!(self.cue_at(k), Some(Cue::Top | Cue::Bottom)) {
                continue;
            }
            let n = self.next_sig(k).and_then(|j| self.num_at(j).map(|n| (j, n)));
            if let Some((j, n)) = n
                && (1.0..=10_000.0).contains(&n)
                && n.fract() == 0.0
            {
                self.used[k] = true;
                self.used[j] = true;
                return Some(n as u64);
            }
        }
        None
    }

    /// Korean counts the rows asked for after the noun: "원가가 가장 낮은 상품 3개", "주문 3건", "고객 5명".
    pub(super) fn ko_counted_n(&mut self, after: usize) -> Option<u64> {
        if !self.korean {
            return None;
        }
        for k in after + 1..self.items.len() {
            if self.used[k] {
                continue;
            }
            let Some(n) = self.num_at(k) else { continue };
            let counter = self
                .items
                .get(k + 1)
                .is_some_and(|c| ["개", "건", "명", "곳", "가지"].iter().any(|u| c.text.starts_with(u)));
            if counter && (1.0..=10_000.0).contains(&n) && n.fract() == 0.0 {
                self.used[k] = true;
                self.used[k + 1] = true;
                return Some(n as u64);
            }
        }
        None
    }

    pub(super) fn top_pass(&mut self) {
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let desc = match self.cue_at(i) {
                Some(Cue::Top) => true,
                Some(Cue::Bottom) => false,
                _ => continue,
            };
            let Some(j) = self.next_sig(i) else { continue };
            let n = match self.num_at(j) {
                Some(n) if n >= 1.0 && n.fract() == 0.0 && n <= 10_000.0 => n as u64,
                _ => {
                    // "top" alone: one.
                    1
                }
            };
            if self.items.iter().any(|it| is_cue(it, |c| matches!(c, Cue::Super { .. } | Cue::MostCommon { .. }))) {
                // A superlative elsewhere ("급여가 가장 높은 직원 상위 3명") takes this number as its limit.
                continue;
            }
            self.used[i] = true;
            if self.num_at(j).is_some() {
                self.used[j] = true;
            }
            // The measure: "by X" or a superlative later, else the next column.
            let mut key = None;
            let mut k = j;
            for _ in 0..6 {
                let Some(m) = self.next_sig(k) else { break };
                if let Some(Cue::By | Cue::OrderBy) = self.cue_at(m) {
                    self.used[m] = true;
                    if let Some(x) = self.next_sig(m) {
                        // "top 3 shipping regions by revenue": an aggregate per the rows listed.
                        if let Some(Cue::Agg(a)) = self.cue_at(x)
                            && let Some((ty, y, c)) = self.agg_col_after(x).filter(|&(_, _, c)| self.is_numeric(c))
                        {
                            self.used[x] = true;
                            self.used[y] = true;
                            if let Some(ty) = ty {
                                self.used[ty] = true;
                            }
                            key = Some(OrderKey::Agg(a, c));
                            let t = self.table_of(c);
                            let per_key = self.names_a_group(i..m, c);
                            if t != self.subject {
                                self.count_group(t);
                            } else if !per_key {
                                self.doubt(F::AggSuperSubject, "an aggregate ranking over the subject itself");
                            }
                        } else if let Some(c) = self.col_at(x) {
                            key = Some(OrderKey::Col(c));
                            self.used[x] = true;
                        } else if let Some((t, e)) = self.count_target(x) {
                            self.mark_range(x, e);
                            self.count_group(t);
                            key = Some(OrderKey::Count);
                        }
                    }
                    break;
                }
                if matches!(self.cue_at(m), Some(Cue::Super { .. } | Cue::MostCommon { .. })) {
                    // The superlative pass reads it, with this limit.
                    self.used[i] = false;
                    break;
                }

                k = m;
            }
            if !self.used[i] {
                continue;
            }
            match key {
                Some(key) => {
                    self.plan.order.push((key, desc));
                    self.plan.limit = Some(n);
                }
                None => {
                    self.plan.limit = Some(n);
                    self.plan.order.push((OrderKey::Col(usize::MAX), desc));
                    self.doubt(F::TopNoMeasure, "top N without a measure");
                }
            }
        }
    }
}
