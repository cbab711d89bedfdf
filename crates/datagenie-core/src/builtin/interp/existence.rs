//! Existence: "X that have Y", "X without any Y" as IN / NOT IN subqueries.

use super::{Ctx, Res, is_cue};
use crate::builtin::link::ItemKind;
use crate::builtin::sql::Cond;
use crate::builtin::vocab::Cue;

impl Ctx<'_> {
    /// "X that have Y" / "X without any Y": existence of related rows, without multiplying X's rows.
    pub(super) fn existence_pass(&mut self) {
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let Some(t) = self.table_at(i) else { continue };
            if t == self.subject {
                continue;
            }
            // "have", "with", "has no" just before the table (fillers allowed in between).
            let mut k = i.saturating_sub(1);
            let mut cue_seen = false;
            let mut neg = false;
            let mut words = 0;
            while i > 0 && k < i {
                let it = &self.items[k];
                if is_cue(it, |c| matches!(c, Cue::Has | Cue::Filter)) || (is_cue(it, |c| *c == Cue::Which) && k > 0) {
                    cue_seen = true;
                } else if is_cue(it, |c| *c == Cue::Not) {
                    neg = true;
                    // "products without an order", "students who never attend": the negation says it alone.
                    if matches!(it.text.as_str(), "without" | "never" | "no") {
                        cue_seen = true;
                    }
                } else if it.kind == ItemKind::Word && words < 2 && !cue_seen {
                    // A verb: "that have not held any competition".
                    words += 1;
                } else if !matches!(it.kind, ItemKind::Free | ItemKind::Punct) && !is_cue(it, |c| *c == Cue::Equal) {
                    break;
                }
                if k == 0 {
                    break;
                }
                k -= 1;
            }
            // Korean negates after the table: "주문하지 않은 고객", or with the verb apart: "주문을 한 번도 하지 않은".
            let verb = self.next_sig(i).filter(|&v| {
                self.korean
                    && !self.used[v]
                    && self.items[v].kind == ItemKind::Word
                    && self.items[v].text.ends_with('지')
            });
            let korean_neg = self.korean
                && verb.or(Some(i)).and_then(|v| self.next_sig(v)).is_some_and(|n| self.cue_at(n) == Some(Cue::Not));
            let mut neg_item = None;
            if korean_neg && let Some(n) = verb.or(Some(i)).and_then(|v| self.next_sig(v)) {
                neg = true;
                cue_seen = true;
                neg_item = Some(n);
            }
            if !cue_seen {
                continue;
            }
            // Only when no column of that table is used elsewhere (then a join is needed instead).
            let other_cols_used = self
                .res
                .iter()
                .enumerate()
                .any(|(j, r)| matches!(r, Res::Col(c) if self.lex.cols[*c].table == t && j != i));
            let filtered = self.filters.iter().any(|(_, f)| match f {
                Cond::Cmp(c, ..)
                | Cond::Between(c, ..)
                | Cond::Like(c, ..)
                | Cond::Range(c, ..)
                | Cond::CmpAgg(c, ..)
                | Cond::InHierarchy { fk: c, .. } => self.lex.cols[*c].table == t,
                _ => false,
            });
            // "placed no orders in 2025": a condition said of the related rows belongs inside the subquery, which this
            // reading does not write.
            let qualified_after = self.filters.iter().any(|(pos, cond)| {
                (*pos > i && *pos <= i + 3)
                    // Korean says it before: "2025년에 한 번도 주문되지 않은 상품".
                    || (self.korean && *pos < i && *pos + 3 >= i && matches!(cond, Cond::Range(..)))
            });
            if qualified_after && !neg {
                // "employees who have certificates of Boeing 737-800": the related rows are joined through.
                self.used[i] = true;
                if !self.plan.extra_tables.contains(&t) {
                    self.plan.extra_tables.push(t);
                }
                continue;
            }
            if other_cols_used || filtered || qualified_after {
                continue;
            }
            let Some((sc, oc)) = self.direct_link(self.subject, t) else { continue };
            if let Some(n) = neg_item {
                self.used[n] = true;
                if let Some(v) = verb {
                    self.used[v] = true;
                }
            }
            self.used[i] = true;
            for j in k..i {
                if (neg && is_cue(&self.items[j], |c| *c == Cue::Not)) || self.items[j].kind == ItemKind::Word {
                    self.used[j] = true;
                }
            }
            self.filters.push((i, Cond::Exists { col: sc, other_col: oc, negated: neg }));
        }
    }
}
