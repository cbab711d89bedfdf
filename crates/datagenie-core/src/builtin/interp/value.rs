//! Cell values mentioned in the question ("from France") as equality filters on their column.

use super::{Ctx, is_cue, is_filler};
use crate::builtin::doubt::F;
use crate::builtin::link::ItemKind;
use crate::builtin::sql::{Cond, Lit};
use crate::builtin::text::stem_word;
use crate::builtin::vocab::{Cue, Op};
use crate::schema::TypeClass;

impl Ctx<'_> {
    /// The value reading of item `i`: (column, stored value) preferring `near` (a column just before it).
    fn pick_value(&mut self, i: usize, near: Option<usize>) -> Option<(usize, String)> {
        let ItemKind::Value { cands, .. } = &self.items[i].kind else { return None };
        if let Some(c) = near
            && let Some((col, v, _)) = cands.iter().find(|(col, _, _)| *col == c)
        {
            return Some((*col, v.clone()));
        }
        let mut scored: Vec<(usize, String, f32)> = cands
            .iter()
            .filter_map(|(c, v, s)| {
                let tier = self.tier(self.lex.cols[*c].table)?;
                Some((*c, v.clone(), s - 0.2 * tier as f32))
            })
            .collect();
        scored.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        let first = scored.first()?.clone();
        if let Some(second) = scored.get(1)
            && first.2 - second.2 < 0.05
        {
            self.doubt(F::ValueAmbiguous, format!("'{}' appears in several columns", self.items[i].text));
        }
        Some((first.0, first.1))
    }

    /// An unused column mention next to item `i` that may name column `col` (or, with `None`, any column): up to
    /// three items back over fillers and linking cues ("whose country is not France"), or the item right after it
    /// ("the Lamberton building").
    fn mention_near(&self, i: usize, col: Option<usize>) -> Option<usize> {
        let fits = |k: usize| {
            !self.used[k]
                && match col {
                    Some(c) => {
                        self.col_at(k) == Some(c)
                            || self.col_cands(k).contains(&c)
                            || (self.items[k].kind == ItemKind::Word
                                && self.lex.cols[c].stems.contains(&stem_word(&self.items[k].text)))
                    }
                    None => self.col_at(k).is_some(),
                }
        };
        let mut k = i;
        let mut steps = 0;
        while k > 0 && steps < 4 {
            k -= 1;
            let it = &self.items[k];
            if it.kind == ItemKind::Stop {
                break;
            }
            if fits(k) {
                return Some(k);
            }
            let linking = is_filler(it) || is_cue(it, |c| matches!(c, Cue::Not | Cue::By | Cue::Equal));
            if !linking {
                break;
            }
            if !matches!(it.kind, ItemKind::Free | ItemKind::Punct) {
                steps += 1;
            }
        }
        let mut k = i + 1;
        while k < self.items.len() && matches!(self.items[k].kind, ItemKind::Free) && k <= i + 4 {
            k += 1;
        }
        if k < self.items.len() && col.is_some() && fits(k) {
            return Some(k);
        }
        None
    }

    /// An unused mention of a foreign key of the subject just before value item `i` (over fillers and "is") or just
    /// after it ("Busan as their shipping region"), pointing at the one table among `cols`' tables: (item, the
    /// value's column there).
    fn key_beside(&self, i: usize, cols: &[usize]) -> Option<(usize, usize)> {
        let at = |k: usize| {
            if self.used[k] {
                return None;
            }
            // A key of the rows asked about, to another table (not a row's own parent: "report to Nancy").
            let fk = self.col_at(k).filter(|&c| self.lex.cols[c].is_fk && self.table_of(c) == self.subject)?;
            let target = self.lex.edges.iter().find(|e| e.from_col == fk).map(|e| self.lex.cols[e.to_col].table)?;
            if target == self.subject {
                return None;
            }
            let own: Vec<usize> = cols.iter().copied().filter(|&c| self.table_of(c) == target).collect();
            (own.len() == 1).then(|| (k, own[0]))
        };
        // Before: over fillers and "is" only ("배송 지역이 제주인", "shipping region is Busan").
        let mut p = i.checked_sub(1);
        while let Some(k) = p
            && (matches!(self.items[k].kind, ItemKind::Free) || self.cue_at(k) == Some(Cue::Equal))
            && k + 3 > i
        {
            p = k.checked_sub(1);
        }
        let before = p.and_then(at);
        before.or_else(|| {
            let mut k = i + 1;
            while k < self.items.len() && k <= i + 3 && matches!(self.items[k].kind, ItemKind::Free) {
                k += 1;
            }
            (k < self.items.len()).then_some(k).and_then(at)
        })
    }

    pub(super) fn value_pass(&mut self) {
        let mut last_value_col: Option<(usize, usize)> = None; // (item, col)
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let ItemKind::Value { cands, quoted } = &self.items[i].kind else {
                continue;
            };
            let (cands_empty, quoted) = (cands.is_empty(), *quoted);
            let value_cols: Vec<usize> = cands.iter().map(|c| c.0).collect();
            let prev = self.prev_sig(i);
            // A value after "A or": the same column as A.
            let chained = prev
                .filter(|&p| matches!(self.cue_at(p), Some(Cue::Or | Cue::And)))
                .and(last_value_col)
                .map(|(_, c)| c);
            let neg = self.negated_before(i);
            let picked = if cands_empty {
                let near = self.mention_near(i, None);
                match (near, chained) {
                    (Some(p), _) => {
                        self.used[p] = true;
                        self.col_at(p).map(|c| (c, self.items[i].text.clone()))
                    }
                    (None, Some(c)) => Some((c, self.items[i].text.clone())),
                    (None, None) => {
                        // A quoted name: "named 'X'", "the film 'X'".
                        match self.lex.name_column_in(self.subject, self.korean) {
                            Some(c) if quoted => {
                                self.doubt(F::QuotedNowhere, "a quoted value found in no column");
                                Some((c, self.items[i].text.clone()))
                            }
                            _ => None,
                        }
                    }
                }
            } else {
                // A mention of one of the columns holding the value decides between them; so does a table named
                // right before it ("track Balls to the Wall").
                let mut by_tier = value_cols.clone();
                by_tier.sort_by_key(|&c| self.tier(self.table_of(c)).unwrap_or(9));
                let near = by_tier.iter().find_map(|&c| self.mention_near(i, Some(c)).map(|k| (k, c)));
                let by_table = prev.and_then(|p| {
                    let t = self.table_at(p)?;
                    let own: Vec<usize> = value_cols.iter().copied().filter(|&c| self.table_of(c) == t).collect();
                    (own.len() == 1).then(|| own[0])
                });
                // "배송 지역이 제주인 주문", "orders with Busan as their shipping region": a key named beside the value
                // says which table's value it is, and is the way to it.
                let by_key = self.key_beside(i, &value_cols);
                let near_col = near.map(|(_, c)| c).or(by_key.map(|(_, c)| c)).or(by_table).or(chained);
                let v = self.pick_value(i, near_col);
                if let Some((k, _)) = near {
                    self.used[k] = true;
                }
                // "a shipping region in the Honam area": the key is the way to the column named.
                if let (Some((k, kc)), Some((c, _))) = (by_key, &v)
                    && self.table_of(kc) == self.table_of(*c)
                {
                    self.used[k] = true;
                }
                v
            };
            let Some((c, v)) = picked else {
                self.doubt(F::ValueNoCol, format!("'{}' matches no column", self.items[i].text));
                continue;
            };
            // "Sejong city" where `city` does not hold "Sejong" (a region does): the value is not where the question
            // says it is.
            if !self.korean
                && let Some(k) = (i + 1 < self.items.len()).then_some(i + 1).filter(|&k| !self.used[k])
                && let Some(c2) = self.col_at(k)
                && c2 != c
                && !self.items[k].text.ends_with("ed")
                && matches!(self.lex.cols[c2].class, TypeClass::Text)
                && !self.lex.cols[c2].is_pk
                && !self.lex.cols[c2].is_fk
                && self.lex.col_values.contains_key(&c2)
            {
                self.doubt(F::UValue, format!("'{}' is not a value of {}", self.items[i].text, self.items[k].text));
            }
            // A value of a table that holds its own hierarchy (`categories.parent_id`): a name may be at any level
            // ("Electronics" is a top category, products belong to subcategories), which this engine cannot tell.
            let t = self.table_of(c);
            if t != self.subject && self.self_referencing(t) {
                // The row named may be at any level ("Electronics" is a top category, products belong to
                // subcategories): the subject's key to that table is the named row or one below it.
                let parent = self
                    .lex
                    .edges
                    .iter()
                    .find(|e| self.table_of(e.from_col) == t && self.table_of(e.to_col) == t)
                    .map(|e| (e.from_col, e.to_col));
                let link = self.direct_link(self.subject, t).filter(|(sc, _)| self.lex.cols[*sc].is_fk);
                match (parent, link) {
                    (Some((parent, pk)), Some((fk, to))) if to == pk && !neg => {
                        self.used[i] = true;
                        last_value_col = Some((i, c));
                        self.filters.push((i, Cond::InHierarchy { fk, pk, parent, name: c, value: v }));
                        continue;
                    }
                    _ => self.doubt(
                        F::Hierarchy,
                        format!("'{}' may name a row at another level of its hierarchy", self.items[i].text),
                    ),
                }
            }
            self.used[i] = true;
            // "mobile app": two values side by side from columns of different tables (a payment method, an order
            // channel) are one phrase this engine cannot place, not two filters.
            if let Some((pi, pc)) = last_value_col
                && self.prev_sig(i) == Some(pi)
                && (pi + 1..i).all(|k| matches!(self.items[k].kind, ItemKind::Free))
                && self.table_of(pc) != self.table_of(c)
            {
                self.doubt(
                    F::UValue,
                    format!("'{}' and '{}' are values of different tables", self.items[pi].text, self.items[i].text),
                );
            }
            last_value_col = Some((i, c));
            let op = if neg { Op::Ne } else { Op::Eq };
            // A numeric code ("0 = discontinued") compares as a number.
            let lit = match v.parse::<f64>() {
                Ok(n) if self.is_numeric(c) => Lit::Num(n),
                _ => Lit::Text(v),
            };
            self.filters.push((i, Cond::Cmp(c, op, lit)));
        }
        // A short word after "column is" that the column holds ("sex is F"), or right before it ("F gender").
        for i in 0..self.items.len() {
            if self.used[i] || self.items[i].kind != ItemKind::Word {
                continue;
            }
            let before = self.prev_sig(i).filter(|&p| {
                self.col_at(p).is_some() && (p + 1..i).any(|k| is_cue(&self.items[k], |x| *x == Cue::Equal))
            });
            let after = (i + 1 < self.items.len() && self.col_at(i + 1).is_some()).then_some(i + 1);
            let Some(p) = before.or(after) else { continue };
            let Some(c) = self.col_at(p) else { continue };
            let word = self.items[i].text.clone();
            let stored =
                self.lex.col_values.get(&c).and_then(|vals| vals.iter().find(|v| v.eq_ignore_ascii_case(&word)));
            if let Some(v) = stored.cloned() {
                self.used[i] = true;
                self.used[p] = true;
                self.filters.push((i, Cond::Cmp(c, Op::Eq, Lit::Text(v))));
            }
        }
        // A column followed by a number: "with id 12", "room 108", "department 80".
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let ItemKind::Num(n) = self.items[i].kind else { continue };
            let Some(p) = self.prev_sig(i) else { continue };
            if self.used[p] {
                // "A or 5": the same column as the comparison or value before.
                if matches!(self.cue_at(p), Some(Cue::Or))
                    && let Some((_, Cond::Cmp(c, Op::Eq, Lit::Num(_)))) = self.filters.last()
                {
                    let c = *c;
                    self.used[i] = true;
                    self.filters.push((i, Cond::Cmp(c, Op::Eq, Lit::Num(n))));
                }
                continue;
            }
            let Some(c) = self.col_at(p) else { continue };
            let info = &self.lex.cols[c];
            if !self.is_numeric(c) && !info.is_pk && !info.is_fk && info.class != TypeClass::Other {
                // A text column and a number: compare as text ("room 108" stored as text).
                self.used[i] = true;
                self.used[p] = true;
                self.filters.push((i, Cond::Cmp(c, Op::Eq, Lit::Text(crate::builtin::sql::number(n)))));
                continue;
            }
            let neg = self.negated_before(p);
            self.used[i] = true;
            self.used[p] = true;
            self.filters.push((i, Cond::Cmp(c, if neg { Op::Ne } else { Op::Eq }, Lit::Num(n))));
        }
    }
}
