//! Grouping: "for each X", "by X", "per month", "월별".

use super::{Ctx, is_cue};
use crate::builtin::doubt::F;
use crate::builtin::link::ItemKind;
use crate::builtin::sql::{Bucket, OrderKey};
use crate::builtin::text::stem_word;
use crate::builtin::vocab::{Concept, Cue};

impl Ctx<'_> {
    pub(super) fn group_pass(&mut self) {
        let has_agg = self
            .items
            .iter()
            .enumerate()
            .any(|(i, it)| !self.used[i] && is_cue(it, |c| matches!(c, Cue::Count | Cue::Agg(_))))
            || self.plan.order.iter().any(|(k, _)| matches!(k, OrderKey::Count | OrderKey::Agg(..)));
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let by = match self.cue_at(i) {
                Some(Cue::Each) if self.counted_different(i) => continue,
                Some(Cue::Each) => false,
                Some(Cue::By) => true,
                _ => continue,
            };
            let right_after = (i + 1 < self.items.len()).then_some(i + 1).filter(|&k| self.bucket_word(k).is_some());
            let mut next = right_after.or_else(|| self.next_sig(i));
            // "in each top-level category": the level (read in `finish`) comes before the table.
            while let Some(j) = next
                && self.items[j].kind == ItemKind::Word
                && super::LEVEL_WORDS.contains(&self.items[j].text.as_str())
            {
                next = self.next_sig(j);
            }
            let Some(j) = next else {
                if !by {
                    self.used[i] = true;
                }
                continue;
            };
            if let Some(b) = self.bucket_word(j)
                && let Some(c) = self.concept_col(Concept::Time)
            {
                self.used[i] = true;
                self.used[j] = true;
                self.bucket = Some((c, b));
                continue;
            }
            let word_col = (self.items[j].kind == ItemKind::Word)
                .then(|| {
                    let st = stem_word(&self.items[j].text);
                    let found: Vec<usize> = self.lex.tables[self.subject]
                        .cols
                        .iter()
                        .copied()
                        .filter(|&c| self.lex.cols[c].stems.contains(&st) && !self.lex.cols[c].is_pk)
                        .collect();
                    (found.len() == 1).then(|| found[0])
                })
                .flatten();
            if let Some(c) = self.col_at(j).or(word_col) {
                // "원가가 가장 낮은 상품 5개와 각 원가": "each" of the rows listed, not a group of the measure.
                let ranked = self.super_col.is_some_and(|(sc, _)| sc == c)
                    || self
                        .plan
                        .order
                        .iter()
                        .any(|(k, _)| matches!(k, OrderKey::Col(x) | OrderKey::Agg(_, x) if *x == c));
                if !by && ranked {
                    self.used[i] = true;
                    self.each_row = Some(0);
                    continue;
                }
                // "customers by city" ending the question: a breakdown (counted in `finish`); elsewhere "by"
                // without an aggregate is more often "ordered by" or "made by".
                let breakdown = self.prev_sig(i).and_then(|p| self.table_at(p)) == Some(self.subject)
                    && self.table_of(c) == self.subject
                    && self.next_sig(j).is_none_or(|k| self.items[k].kind == ItemKind::Punct);
                if by && !has_agg && !breakdown {
                    continue;
                }
                self.used[i] = true;
                self.used[j] = true;
                if !self.plan.group_by.contains(&c) {
                    self.plan.group_by.push(c);
                }
                // "customer count by segment and gender": a second column of the same rows ends the question.
                if by
                    && let Some(a) = self.next_sig(j).filter(|&a| matches!(self.cue_at(a), Some(Cue::And)))
                    && let Some(k) = self.next_sig(a).filter(|&k| !self.used[k])
                    && let Some(c2) = self.col_at(k)
                    && self.table_of(c2) == self.table_of(c)
                    && !self.lex.cols[c2].is_pk
                    && self.next_sig(k).is_none_or(|m| self.items[m].kind == ItemKind::Punct)
                {
                    self.used[a] = true;
                    self.used[k] = true;
                    if !self.plan.group_by.contains(&c2) {
                        self.plan.group_by.push(c2);
                    }
                }
                continue;
            }
            if let Some(t) = self.table_at(j) {
                self.used[i] = true;
                self.used[j] = true;
                if t == self.subject {
                    // "for each department, its name and budget": one row per subject row already; with a count,
                    // the listed columns group it (see `finish`). "the total revenue for each manufacturer": an
                    // aggregate per subject row, which only means something grouped by that entity.
                    let agg_left = self
                        .items
                        .iter()
                        .enumerate()
                        .any(|(k, it)| !self.used[k] && is_cue(it, |c| matches!(c, Cue::Agg(_))));
                    if agg_left
                        && let Some(pk) = self.lex.pk(t)
                        && self.lex.name_column_in(t, self.korean).is_some()
                    {
                        if !self.plan.group_by.contains(&pk) {
                            self.plan.group_by.push(pk);
                        }
                        self.group_table = Some(t);
                    } else if !agg_left && !has_agg && !by {
                        self.each_row = Some(j);
                    }
                    continue;
                }
                // "each product in the Camping category with its price", "상품별 가격과 원가": nothing computed, so
                // not groups: that table's rows, by their name.
                let agg_left = self
                    .items
                    .iter()
                    .enumerate()
                    .any(|(k, it)| !self.used[k] && is_cue(it, |c| matches!(c, Cue::Agg(_) | Cue::Count)));
                // Only when the subject so far has no column of its own asked for ("the name and date for each race"
                // keeps its reading).
                let subject_cols = (0..self.items.len())
                    .any(|k| matches!(self.res[k], super::Res::Col(c) if self.table_of(c) == self.subject))
                    && (0..j).any(|k| matches!(self.res[k], super::Res::Col(_)));
                if !has_agg
                    && !agg_left
                    && !by
                    && !subject_cols
                    && self.plan.order.is_empty()
                    && self.lex.name_column_in(t, self.korean).is_some()
                {
                    self.subject = t;
                    self.each_row = Some(j);
                    continue;
                }
                // The subject's foreign key to that table groups without a join ("in each department").
                let fk = self
                    .direct_link(self.subject, t)
                    .filter(|(sc, oc)| self.lex.edges.iter().any(|e| e.from_col == *sc && e.to_col == *oc));
                match (fk, self.lex.pk(t)) {
                    (Some((sc, _)), _) => {
                        if !self.plan.group_by.contains(&sc) {
                            self.plan.group_by.push(sc);
                        }
                        self.group_table = Some(t);
                    }
                    (None, Some(pk)) => {
                        if !self.plan.group_by.contains(&pk) {
                            self.plan.group_by.push(pk);
                        }
                        self.group_table = Some(t);
                        if !self.plan.extra_tables.contains(&t) {
                            self.plan.extra_tables.push(t);
                        }
                    }
                    (None, None) => self.doubt(F::GroupNoKey, "grouping by a table without a single-column key"),
                }
                continue;
            }
            if !by {
                self.used[i] = true;
            }
        }
    }

    fn bucket_word(&self, j: usize) -> Option<Bucket> {
        let t = self.items[j].text.as_str();
        let t = t.strip_suffix("별로").or_else(|| t.strip_suffix('별')).or_else(|| t.strip_suffix("마다")).unwrap_or(t);
        period_of_word(t)
    }
}

/// The period a word names: "month", "monthly", "월", "달"; "year", "연도", "해"; "day", "일자", "날".
pub(super) fn period_of_word(word: &str) -> Option<Bucket> {
    match word {
        "month" | "months" | "monthly" | "월" | "달" => Some(Bucket::Month),
        "year" | "years" | "yearly" | "annual" | "annually" | "연도" | "년도" | "년" | "연" | "해" => {
            Some(Bucket::Year)
        }
        "day" | "days" | "daily" | "date" | "일" | "일자" | "날짜" | "날" => Some(Bucket::Day),
        _ => None,
    }
}
