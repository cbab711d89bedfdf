//! Superlatives and "most common": the row (or value) with the highest or lowest measure, or the most frequent group.

use super::{Ctx, is_cue};
use crate::builtin::doubt::F;
use crate::builtin::link::ItemKind;
use crate::builtin::sql::{Bucket, OrderKey, Sel};
use crate::builtin::text::stem_word;
use crate::builtin::vocab::{Agg, Concept, Cue};
use crate::schema::TypeClass;

impl Ctx<'_> {
    pub(super) fn superlative_pass(&mut self) {
        self.superlatives();
        // "most expensive first", "가장 비싼 순": an order, not the one row at the top.
        for i in 0..self.items.len() {
            let Some(Cue::Super { .. }) = self.cue_at(i) else { continue };
            let k = (i + 1..self.items.len())
                .find(|&k| !matches!(self.items[k].kind, ItemKind::Free) || self.items[k].text == "first");
            if k.is_some_and(|k| self.items[k].text == "first") && self.plan.limit == Some(1) {
                if let Some(k) = k {
                    self.used[k] = true;
                }
                self.plan.limit = None;
                self.super_col = None;
            }
        }
    }

    fn superlatives(&mut self) {
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let (desc, concept, common) = match self.cue_at(i) {
                Some(Cue::Super { desc, concept }) => (desc, concept, false),
                Some(Cue::MostCommon { desc }) => (desc, Concept::None, true),
                // "the flight with (the) maximum price": a row, not an aggregate.
                Some(Cue::Agg(a @ (Agg::Max | Agg::Min)))
                    if self.items[..i]
                        .iter()
                        .rev()
                        .find(|x| x.kind != ItemKind::Free)
                        .is_some_and(|x| is_cue(x, |c| matches!(c, Cue::Filter | Cue::Has))) =>
                {
                    (a == Agg::Max, Concept::None, false)
                }
                _ => continue,
            };
            self.used[i] = true;
            let limit =
                self.top_n_before(i).or_else(|| self.top_n_anywhere()).or_else(|| self.ko_counted_n(i)).unwrap_or(1);
            if !common && self.period_superlative(i, desc, limit) {
                continue;
            }
            // Korean puts the measure first: "급여가 가장 높은 직원".
            let before = if self.korean {
                self.prev_sig(i).filter(|&p| self.col_at(p).is_some() && !self.used[p])
            } else {
                None
            };
            // "주문이 가장 많은 고객": a table before the superlative is counted per subject row.
            if self.korean
                && concept == Concept::None
                && !common
                && let Some(p) = self.prev_sig(i)
                && let Some(q) = Some(p)
                    .filter(|&p| self.cue_at(p) == Some(Cue::Count) && !self.used[p])
                    .and_then(|p| self.prev_sig(p))
                    .or(Some(p))
                && let Some(t) = self.table_at(q).filter(|&t| t != self.subject && !self.used[q])
            {
                self.mark_range(q, p);
                self.plan.limit = Some(limit);
                match self.count_column(t) {
                    Some(c) => self.plan.order.push((OrderKey::Col(c), desc)),
                    None => {
                        self.plan.order.push((OrderKey::Count, desc));
                        self.count_group(t);
                    }
                }
                continue;
            }
            // "the youngest organization" without an age column: the latest date it carries (founded, placed).
            if concept == Concept::Age
                && self.concept_col(Concept::Age).is_none()
                && let Some(c) = self.concept_col(Concept::Time)
                && self.table_of(c) == self.subject
            {
                self.plan.order.push((OrderKey::Col(c), !desc));
                self.plan.limit = Some(limit);
                self.super_col = Some((c, !desc));
                if let Some(j) = self.next_sig(i).filter(|&j| self.table_at(j) == Some(self.subject)) {
                    self.used[j] = true;
                }
                continue;
            }
            let next = before.or_else(|| self.next_sig(i));
            if common {
                if let Some(j) = next
                    && let Some(c) = self.col_at(j)
                {
                    self.used[j] = true;
                    self.plan.group_by.push(c);
                    self.plan.order.push((OrderKey::Count, desc));
                    self.plan.limit = Some(limit);
                    continue;
                }
                // "the most common X" with X a table: the column is elsewhere ("most common type of artworks").
                if let Some(j) = next
                    && self.table_at(j).is_some()
                    && let Some(k) = self.next_sig(j)
                    && let Some(c) = self.col_at(k)
                {
                    self.used[j] = true;
                    self.used[k] = true;
                    self.plan.group_by.push(c);
                    self.plan.order.push((OrderKey::Count, desc));
                    self.plan.limit = Some(limit);
                    continue;
                }
                self.doubt(F::CommonOfWhat, "'most common' of what");
                continue;
            }
            // A column named right after wins ("the largest population"); else the measure the adjective names
            // ("the oldest singer" → age); else a count ("the most orders").
            let explicit = next.and_then(|j| {
                if let Some(c) = self.col_at(j).filter(|_| !self.used[j]) {
                    return Some((vec![j], c));
                }
                let t = self.table_at(j)?;
                let k = self.next_sig(j)?;
                self.col_in_table_at(k, t).map(|c| (vec![j, k], c))
            });
            let concept_first = concept != Concept::None
                && explicit.as_ref().is_some_and(|(_, c)| {
                    let stems: Vec<String> = concept.stems().iter().map(|s| stem_word(s)).collect();
                    // "가장 먼저 출시된": a date column named after a time superlative is its measure.
                    let dated = concept == Concept::Time && self.lex.cols[*c].class == TypeClass::Temporal;
                    !dated && !self.lex.cols[*c].stems.iter().any(|w| stems.contains(w))
                })
                && self.concept_col(concept).is_some();
            // "most number of books", "the most X" with X not a measure: how many rows, per the listed column.
            let word = self.items[i].text.as_str();
            // "고객이 가장 많은 도시", "가장 적은": how many rows, as the English "most".
            let counting = word.contains("number")
                || matches!(word, "most" | "the most" | "least" | "the least" | "fewest")
                || (self.korean && (word.contains('많') || word.contains("적은")));
            if counting
                && let Some((marks, c)) = &explicit
                && (!self.is_numeric(*c) || self.lex.cols[*c].is_fk)
                && self.table_of(*c) == self.subject
            {
                for m in marks {
                    self.used[*m] = true;
                }
                // "고객이 가장 많은 도시는?": the column after the superlative is what is asked for.
                if self.korean && marks.first().is_some_and(|&m| m > i) && !self.plan.select.contains(&Sel::Col(*c)) {
                    self.plan.select.push(Sel::Col(*c));
                }
                self.plan.order.push((OrderKey::Count, desc));
                self.plan.limit = Some(limit);
                continue;
            }
            if let Some((marks, c)) = &explicit
                && self.table_of(*c) != self.subject
                && marks.len() == 1
                && self.col_score(marks[0]) < 0.7
                && matches!(self.items[i].text.as_str(), "most" | "the most" | "least" | "the least" | "fewest")
            {
                let t = self.table_of(*c);
                self.used[marks[0]] = true;
                self.plan.order.push((OrderKey::Count, desc));
                self.plan.limit = Some(limit);
                self.count_group(t);
                continue;
            }
            // An "each" before the superlative's own column ("가장 낮은 상품 5개와 각 원가") lists the rows' values;
            // a ranked list of N is not per group either.
            let per_group = |s: &Self, c: usize| {
                limit == 1
                    && s.items.iter().enumerate().any(|(k, it)| {
                        is_cue(it, |x| *x == Cue::Each) && s.next_sig(k).and_then(|n| s.col_at(n)) != Some(c)
                    })
            };
            if let Some((marks, c)) = explicit.clone().filter(|_| !concept_first)
                && per_group(self, c)
                && self.is_numeric(c)
            {
                // "for each city, the highest latitude": an aggregate per group.
                for m in marks {
                    self.used[m] = true;
                }
                self.plan.select.push(Sel::Agg(if desc { Agg::Max } else { Agg::Min }, c));
                continue;
            }
            if let Some((marks, c)) = explicit.filter(|_| !concept_first) {
                for m in marks {
                    self.used[m] = true;
                }
                self.plan.order.push((OrderKey::Col(c), desc));
                self.plan.limit = Some(limit);
                self.super_col = Some((c, desc));
                continue;
            }
            if let Some(c) = self.concept_col(concept) {
                let reversed = concept == Concept::Age && self.reversed_age(c);
                self.plan.order.push((OrderKey::Col(c), desc != reversed));
                self.plan.limit = Some(limit);
                self.super_col = Some((c, desc != reversed));
                continue;
            }
            let Some(j) = next else {
                self.doubt(F::SuperNoMeasure, "a superlative without a measure");
                continue;
            };
            if let Some(Cue::Agg(a)) = self.cue_at(j)
                && let Some((tk, k, c)) = self.agg_col_after(j)
            {
                self.used[j] = true;
                self.used[k] = true;
                if let Some(tk) = tk {
                    self.used[tk] = true;
                }
                let t = self.table_of(c);
                self.plan.order.push((OrderKey::Agg(a, c), desc));
                self.plan.limit = Some(limit);
                // "Which shipping region had the highest revenue": the subject's rows per the key asked about.
                // "Which sales channel brought in the most revenue": per value of a coded column of the subject.
                let per_key = self.names_a_group(0..i, c);
                if t != self.subject {
                    self.count_group(t);
                } else if !per_key {
                    self.doubt(F::AggSuperSubject, "an aggregate superlative over the subject itself");
                }
                continue;
            }
            // "the highest roller coaster": the height of one; "the most orders": how many.
            let measure = match self.items[i].text.as_str() {
                "highest" | "tallest" | "lowest" => Concept::Height,
                "largest" | "biggest" | "smallest" => Concept::Size,
                "longest" | "shortest" => Concept::Length,
                _ => Concept::None,
            };
            if let Some(t) = self.table_at(j)
                && let Some(c) = self.concept_col_in(measure, t)
            {
                self.used[j] = true;
                self.plan.order.push((OrderKey::Col(c), desc));
                self.plan.limit = Some(limit);
                self.super_col = Some((c, desc));
                continue;
            }
            if let Some((t, k)) = self.count_target(j) {
                self.mark_range(j, k);
                self.plan.limit = Some(limit);
                match self.count_column(t) {
                    Some(c) => self.plan.order.push((OrderKey::Col(c), desc)),
                    None => {
                        self.plan.order.push((OrderKey::Count, desc));
                        self.count_group(t);
                    }
                }
                continue;
            }
            if matches!(self.items[j].text.as_str(), "times" | "often" | "frequently" | "번" | "회") {
                self.used[j] = true;
                self.plan.order.push((OrderKey::Count, desc));
                self.plan.limit = Some(limit);
                continue;
            }
            self.doubt(F::SuperNoMeasure, "a superlative without a measure");
        }
    }

    /// Whether items `range` name a column of the subject that groups it, other than the measure `c`: a key shown by
    /// the name it points at ("Which shipping region had the highest revenue") or a coded column ("Which sales
    /// channel …"): an aggregate per such group, not of the subject's rows themselves.
    pub(super) fn names_a_group(&self, range: std::ops::Range<usize>, c: usize) -> bool {
        range.into_iter().any(|k| {
            self.col_at(k).is_some_and(|g| {
                self.table_of(g) == self.subject
                    && g != c
                    && (self.referenced_name(g).is_some()
                        || self.lex.col_values.get(&g).is_some_and(|v| !v.is_empty() && v.len() <= 30))
            })
        })
    }

    /// "Which month had the most orders?", "매출이 가장 높았던 달은?": the period (month, year, day) of the table's
    /// date with the highest measure: grouped by the period, ordered by the measure, the period alone shown.
    fn period_superlative(&mut self, i: usize, desc: bool, limit: u64) -> bool {
        let b = if self.korean {
            self.next_sig(i).filter(|&b| !self.used[b])
        } else {
            // "which month", "what year": asked before the superlative.
            (0..i)
                .filter(|&k| self.cue_at(k) == Some(Cue::Which))
                .find_map(|k| self.next_sig(k).filter(|&b| b < i && !self.used[b] && self.period_word(b).is_some()))
        };
        let Some(b) = b else { return false };
        let Some(bucket) = self.period_word(b) else { return false };
        let Some((key, table, marks)) = (if self.korean { self.measure_before(i) } else { self.measure_after(i) })
        else {
            return false;
        };
        let dates = self.dates_of(table);
        let Some(&date) = dates.first() else { return false };
        if dates.len() > 1 {
            self.doubt(F::Ambiguous, format!("the period of which date of {}", self.lex.tables[table].stems.join(" ")));
        }
        for m in marks {
            self.used[m] = true;
        }
        self.used[b] = true;
        self.subject = table;
        self.bucket = Some((date, bucket));
        self.plan.order.push((key, desc));
        self.plan.limit = Some(limit);
        true
    }

    /// A period named by a word: "month", "year", "day"; Korean "달", "월", "해", "연도", "날".
    fn period_word(&self, k: usize) -> Option<Bucket> {
        let text = self.items[k].text.to_lowercase();
        let word = if self.korean {
            ["은", "는", "이", "가", "을", "를", "에", "이었나요", "인가요", "였나요"]
                .iter()
                .find_map(|p| text.strip_suffix(p).filter(|w| !w.is_empty()))
                .unwrap_or(&text)
        } else {
            text.as_str()
        };
        super::group::period_of_word(word)
    }

    /// The measure said after an English superlative: "the most orders", "the highest revenue", "the largest total
    /// amount": (order key, its table, items to mark).
    fn measure_after(&self, i: usize) -> Option<(OrderKey, usize, Vec<usize>)> {
        let j = self.next_sig(i)?;
        if let Some(Cue::Agg(a)) = self.cue_at(j) {
            let k = self.next_sig(j)?;
            let c = self.col_at(k).filter(|&c| self.is_numeric(c) && !self.lex.cols[c].is_fk)?;
            return Some((OrderKey::Agg(a, c), self.table_of(c), vec![j, k]));
        }
        let (j, marks) = match self.cue_at(j) {
            Some(Cue::Count) => (self.next_sig(j)?, vec![j]),
            _ => (j, vec![]),
        };
        let t = self.table_at(j)?;
        Some((OrderKey::Count, t, [marks, vec![j]].concat()))
    }

    /// The measure said before a Korean superlative: "주문이 가장 많은", "주문 수가 가장 많은", "매출이 가장 높은"
    /// (a measure the schema defines: its filter values stand between).
    fn measure_before(&self, i: usize) -> Option<(OrderKey, usize, Vec<usize>)> {
        let mut p = self.prev_sig(i)?;
        while matches!(self.items[p].kind, ItemKind::Value { .. }) || self.cue_at(p) == Some(Cue::Or) {
            p = self.prev_sig(p)?;
        }
        if let Some(c) = self.col_at(p).filter(|&c| self.is_numeric(c) && !self.lex.cols[c].is_fk) {
            return match self.prev_sig(p).map(|a| (a, self.cue_at(a))) {
                Some((a, Some(Cue::Agg(agg)))) => Some((OrderKey::Agg(agg, c), self.table_of(c), vec![a, p])),
                _ => Some((OrderKey::Agg(Agg::Sum, c), self.table_of(c), vec![p])),
            };
        }
        let (t_item, marks) = match self.cue_at(p) {
            Some(Cue::Count) => (self.prev_sig(p)?, vec![p]),
            _ => (p, vec![]),
        };
        let t = self.table_at(t_item)?;
        Some((OrderKey::Count, t, [marks, vec![t_item]].concat()))
    }
}
