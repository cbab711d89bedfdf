//! What stays unexplained lowers the confidence; the query's shape is recorded.

use super::{Ctx, Res};
use crate::builtin::doubt::F;
use crate::builtin::link::ItemKind;
use crate::builtin::sql::Sel;
use crate::builtin::vocab::Cue;

impl Ctx<'_> {
    pub(super) fn penalties(&mut self) {
        // "the phone numbers of all customers and suppliers": rows of two tables together (a union), not written.
        for i in 0..self.items.len() {
            if !self.used[i]
                && let Some(t) = self.table_at(i)
                && t != self.subject
                && let Some(a) = self.prev_sig(i).filter(|&a| self.cue_at(a) == Some(Cue::And))
                && self.prev_sig(a).and_then(|b| self.table_at(b)).is_some_and(|u| u != t)
            {
                self.doubt(F::TablesListed, "two tables listed together");
            }
        }
        let mut words = Vec::new();
        for (i, it) in self.items.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let verb = it.text.ends_with("ed") || it.text.ends_with("ing");
            // "completed Kakao Pay payments": a participle right before the rows or a value describes them; left
            // unexplained, it is a filter dropped, not a verb of the sentence.
            let auxiliary = i.checked_sub(1).and_then(|p| self.items.get(p)).is_some_and(|p| {
                matches!(p.text.as_str(), "have" | "has" | "had" | "been" | "be" | "is" | "are" | "was" | "were")
            });
            let attributive = verb
                && !auxiliary
                && self.items.get(i + 1).is_some_and(|n| {
                    matches!(n.kind, ItemKind::Value { .. })
                        || matches!(self.res.get(i + 1), Some(Res::Table(t)) if *t == self.subject)
                });
            let feature = match &it.kind {
                ItemKind::Word if attributive => Some(F::UWord),
                ItemKind::Word if verb => Some(F::UVerb),
                ItemKind::Word => Some(F::UWord),
                ItemKind::Num(_) => Some(F::UNum),
                ItemKind::Value { .. } => Some(F::UValue),
                ItemKind::Schema { .. } => match self.res[i] {
                    Res::Table(t) if t == self.subject || self.plan.extra_tables.contains(&t) => None,
                    Res::Table(t) if self.mentioned.contains(&t) => Some(F::UTableMentioned),
                    Res::Col(_) => Some(F::UCol),
                    _ => Some(F::UTableOther),
                },
                ItemKind::Cue(c) => match c {
                    Cue::Count | Cue::Agg(_) | Cue::Cmp { .. } | Cue::CmpPost { .. } | Cue::Between => {
                        Some(F::UCueStrong)
                    }
                    Cue::Super { .. } | Cue::MostCommon { .. } | Cue::Like(_) | Cue::Date(_) => Some(F::UCueSuper),
                    Cue::OrderBy | Cue::Top | Cue::Bottom => Some(F::UCueOrder),
                    Cue::Not => Some(F::UNot),
                    Cue::Dir { .. } | Cue::Alpha | Cue::Distinct => Some(F::UCueWeak),
                    Cue::Each => Some(F::UEach),
                    _ => None,
                },
                _ => None,
            };
            if let Some(f) = feature {
                words.push(it.text.clone());
                self.feats[f as usize] += 1.0;
            }
        }
        if !words.is_empty() {
            self.doubts.push(format!("not understood: {}", words.join(", ")));
        }
        // "매출", "revenue", "profit": a business's own definition (which orders count, net of what). A column is
        // trusted for it only when its own name says so.
        const METRICS: &[(&str, &[&str])] = &[
            ("revenue", &["revenu"]),
            ("sales", &["sale", "revenu"]),
            ("profit", &["profit"]),
            ("margin", &["margin"]),
            ("매출", &["revenu", "sale"]),
            ("매출액", &["revenu", "sale"]),
            ("수익", &["revenu", "profit", "income"]),
            ("이익", &["profit"]),
            ("순이익", &["profit"]),
        ];
        for (i, it) in self.items.iter().enumerate() {
            let Res::Col(c) = self.res[i] else { continue };
            let word = it.text.to_lowercase();
            let Some((_, own)) = METRICS.iter().find(|(m, _)| word.split_whitespace().any(|w| w.starts_with(m))) else {
                continue;
            };
            // "sales channel" naming `channel` (its comment says so): the column, with the measure as a modifier.
            let head = word.split_whitespace().last().map(crate::builtin::text::stem_word);
            let modifier = word.split_whitespace().count() > 1
                && head.is_some_and(|h| {
                    self.lex.cols[c].stems.contains(&h) && !METRICS.iter().any(|(m, _)| h.starts_with(m))
                });
            if !modifier && !self.lex.cols[c].stems.iter().any(|s| own.contains(&s.as_str())) {
                self.feats[F::MetricGuess as usize] += 1.0;
                self.doubts.push(format!("'{}' is a business measure this schema does not name", it.text));
            }
        }
        // A measure the schema defines on one table ("revenue" = a sum over orders) counted through a table that
        // holds several rows per row of it (order lines): each order would count once per line.
        // (The plan's table is set after this pass: the subject.)
        let tables = {
            let mut p = self.plan.clone();
            p.from = self.subject;
            crate::builtin::sql::plan_tables(&p, self.lex)
        };
        for (i, it) in self.items.iter().enumerate() {
            if !matches!(it.kind, ItemKind::Cue(Cue::Agg(_))) {
                continue;
            }
            let word = it.text.to_lowercase();
            let Some(m) = self.lex.metrics.iter().find(|m| word.starts_with(&m.name)) else { continue };
            // Safe: the tables reached from the measure's table along its foreign keys (each of its rows has one
            // customer, one region); any other table is joined through rows that may repeat it.
            let mut safe = vec![m.table];
            let mut k = 0;
            while k < safe.len() {
                let from = safe[k];
                for e in &self.lex.edges {
                    let (a, b) = (self.lex.cols[e.from_col].table, self.lex.cols[e.to_col].table);
                    if a == from && !safe.contains(&b) {
                        safe.push(b);
                    }
                }
                k += 1;
            }
            let fans_out = tables.iter().any(|t| !safe.contains(t));
            if fans_out && self.used[i] {
                self.feats[F::MetricGuess as usize] += 1.0;
                self.doubts.push(format!(
                    "'{}' is defined per row of {}; counted per row of a table with several rows each, it would \
                     be counted more than once",
                    it.text,
                    self.lex.tables[m.table].stems.join(" ")
                ));
            }
        }
        // The shape of the query.
        let p = &self.plan;
        let content = self
            .items
            .iter()
            .filter(|it| !matches!(it.kind, ItemKind::Free | ItemKind::Punct | ItemKind::Stop))
            .count();
        self.feats[F::Filters as usize] = p.filters.len() as f32;
        self.feats[F::Grouped as usize] = if p.group_by.is_empty() && p.bucket.is_none() { 0.0 } else { 1.0 };
        self.feats[F::Ordered as usize] = if p.order.is_empty() { 0.0 } else { 1.0 };
        self.feats[F::Limited as usize] = if p.limit.is_some() { 1.0 } else { 0.0 };
        self.feats[F::SelectCols as usize] = p.select.len() as f32;
        self.feats[F::Aggregates as usize] = p
            .select
            .iter()
            .filter(|x| matches!(x, Sel::Agg(..) | Sel::Count | Sel::CountDistinct(_) | Sel::Share { .. }))
            .count() as f32;
        self.feats[F::Words as usize] = content as f32 / 10.0;
    }
}
