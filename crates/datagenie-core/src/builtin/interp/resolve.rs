//! Which mentions are tables and which are columns, the subject table, and one schema column per mention.

use super::{Ctx, Res, is_cue};
use crate::builtin::doubt::F;
use crate::builtin::link::ItemKind;
use crate::builtin::text::stem_word;
use crate::builtin::vocab::{Concept, Cue};
use crate::schema::TypeClass;

impl Ctx<'_> {
    /// The column a mention stands for, and whether it was read as the head noun of the subject's own column (not a
    /// loose match, though its score is low).
    fn pick_col(&mut self, cands: &[(usize, f32)], what: &str) -> Option<(usize, bool)> {
        let mut scored: Vec<(usize, f32)> = cands
            .iter()
            .filter_map(|&(c, s)| {
                let tier = self.tier(self.table_of(c))?;
                Some((c, s - 0.15 * tier as f32))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        // The same column in two languages (`name_ko`, `name_en`): the one in the question's language.
        if let [(a, ka), (b, kb), ..] = scored[..]
            && (ka - kb).abs() < 0.04
            && let Some(pick) = self.language_variant(a, b)
        {
            scored.retain(|&(c, _)| c != if pick == a { b } else { a });
        }
        let (best, key) = *scored.first()?;
        if let Some(&(second, k2)) = scored.get(1)
            && second != best
            && key - k2 < 0.04
        {
            self.doubt(F::Ambiguous, format!("'{what}' could be several columns"));
        }
        if key < 0.5 {
            self.doubt(F::Loose, format!("'{what}' matches a column only loosely"));
        }
        // "주문의 … 금액": a column of a table no one named wins over the subject's own column that the word also
        // fits (`payments.amount` over `orders.total_amount`): a join the question may not mean.
        let foreign = self.table_of(best) != self.subject && !self.mentioned.contains(&self.table_of(best));
        let own: Vec<(usize, f32)> = cands
            .iter()
            .copied()
            .filter(|&(c, s)| c != best && self.table_of(c) == self.subject && s >= 0.5 && !self.lex.cols[c].is_pk)
            .collect();
        if foreign && !own.is_empty() {
            // The word heads one of the subject's column's own phrases ("금액" of `orders.total_amount`, "주문
            // 금액"): that column, the subject's, is meant.
            let word = stem_word(what);
            let heads: Vec<usize> = own
                .iter()
                .map(|&(c, _)| c)
                .filter(|&c| {
                    self.lex.cols[c].phrases.iter().any(|p| p.stems.len() > 1 && p.stems.last() == Some(&word))
                })
                .collect();
            if let [c] = heads[..] {
                return Some((c, true));
            }
            self.doubt(F::Ambiguous, format!("'{what}' could be a column of another table"));
        }
        // The word heads the subject's own column's phrase ("금액" of "주문 금액"), and no other column of the
        // subject has it: that column by its head noun, not a loose match.
        let word = stem_word(what);
        let heads =
            |c: usize| self.lex.cols[c].phrases.iter().any(|p| p.stems.len() > 1 && p.stems.last() == Some(&word));
        // (Korean only: an English word heading a column's name is as often a verb, "joined" of `Year_Join`.)
        let head = self.table_of(best) == self.subject
            && what.chars().any(crate::hangul::is_hangul)
            && heads(best)
            && self.lex.tables[self.subject].cols.iter().filter(|&&c| heads(c)).count() == 1;
        Some((best, head))
    }

    /// Of two columns of one table that differ only by a language suffix (`name_ko` / `name_en`, `area_kr` /
    /// `area_eng`), the one in the question's language.
    fn language_variant(&self, a: usize, b: usize) -> Option<usize> {
        const KO: &[&str] = &["ko", "kr", "kor", "korean"];
        const EN: &[&str] = &["en", "eng", "english"];
        let (ca, cb) = (&self.lex.cols[a], &self.lex.cols[b]);
        if ca.table != cb.table || ca.stems.len() != cb.stems.len() || ca.stems.len() < 2 {
            return None;
        }
        let n = ca.stems.len();
        if ca.stems[..n - 1] != cb.stems[..n - 1] {
            return None;
        }
        let lang = |c: &crate::builtin::lexicon::ColInfo| {
            let last = c.stems[n - 1].as_str();
            if KO.contains(&last) {
                Some(true)
            } else if EN.contains(&last) {
                Some(false)
            } else {
                None
            }
        };
        match (lang(ca), lang(cb)) {
            (Some(x), Some(y)) if x != y => Some(if x == self.korean { a } else { b }),
            _ => None,
        }
    }

    pub(super) fn resolve(&mut self) -> Result<(), String> {
        // Table or column?
        let mut kinds: Vec<Option<bool>> = vec![None; self.items.len()]; // Some(true) = table
        for (i, it) in self.items.iter().enumerate() {
            if let ItemKind::Schema { tables, cols } = &it.kind {
                let bt = tables.iter().map(|x| x.1).fold(0.0f32, f32::max);
                let bc = cols.iter().map(|x| x.1).fold(0.0f32, f32::max);
                let after_count = i > 0 && is_cue(&self.items[i - 1], |c| *c == Cue::Count);
                let table = !tables.is_empty() && (cols.is_empty() || bt >= bc - 0.02 || (after_count && bt >= 0.6));
                // "주문번호", "고객ID": the key of the table the word starts with, not the table.
                let key_word = it.text.chars().any(crate::hangul::is_hangul)
                    && ["번호", "아이디", "id", "코드"].iter().any(|k| it.text.to_lowercase().contains(k))
                    && !it.text.contains("전화번호")
                    && cols.iter().any(|&(c, s)| {
                        self.lex.cols[c].is_pk
                            && s >= bc - 0.02
                            && tables.iter().any(|&(t, ts)| t == self.table_of(c) && ts >= bt - 0.02)
                    });
                kinds[i] = Some(table && !key_word);
            }
        }
        // "the number of professors" linked to an identifier column (`PROF_NUM`, `invoice_number`): a count of the
        // table the last word names, not that column's values.
        let mut counted_table: Vec<Option<usize>> = vec![None; self.items.len()];
        for (i, it) in self.items.iter().enumerate() {
            if kinds[i] != Some(false) {
                continue;
            }
            let lower = it.text.to_lowercase();
            let Some(rest) = lower.strip_prefix("number of ").or_else(|| lower.strip_prefix("numbers of ")) else {
                continue;
            };
            let ItemKind::Schema { cols, .. } = &it.kind else { continue };
            let identifier = !cols.is_empty()
                && cols.iter().all(|(c, _)| {
                    let ci = &self.lex.cols[*c];
                    ci.is_pk || ci.is_fk || ci.class == TypeClass::Text
                });
            let last = rest.split_whitespace().last().map(stem_word);
            if !identifier || last.is_none() {
                continue;
            }
            let found: Vec<usize> =
                (0..self.lex.tables.len()).filter(|&t| self.lex.tables[t].stems.last() == last.as_ref()).collect();
            if let [t] = found.as_slice() {
                counted_table[i] = Some(*t);
                kinds[i] = Some(true);
            }
        }
        // Subject: the first table not introduced by "each"/"per" and not the object of a superlative (English);
        // the last such table in Korean, whose head noun comes last.
        let mut tables: Vec<(usize, usize)> = Vec::new();
        for (i, it) in self.items.iter().enumerate() {
            if let Some(t) = counted_table[i] {
                tables.push((i, t));
                continue;
            }
            if kinds[i] == Some(true)
                && let ItemKind::Schema { tables: ts, .. } = &it.kind
                && let Some(best) = ts.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|x| x.0)
            {
                tables.push((i, best));
            }
        }
        // A column phrase that spells its table ("descriptions of courses") mentions that table too.
        for (i, it) in self.items.iter().enumerate() {
            if kinds[i] != Some(false) || !it.text.contains(' ') {
                continue;
            }
            let ItemKind::Schema { cols, .. } = &it.kind else { continue };
            let words: Vec<String> = it.text.split_whitespace().map(stem_word).collect();
            let best = cols.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|x| x.0);
            if let Some(c) = best {
                let t = self.lex.cols[c].table;
                let spelled = self.lex.tables[t]
                    .phrases
                    .iter()
                    .any(|p| p.weight >= 0.85 && !p.stems.is_empty() && p.stems.iter().all(|w| words.contains(w)));
                if spelled && !tables.iter().any(|x| x.0 == i) {
                    tables.push((i, t));
                }
            }
        }
        tables.sort_by_key(|x| x.0);
        for &(_, t) in &tables {
            if !self.mentioned.contains(&t) {
                self.mentioned.push(t);
            }
        }
        let prev_cue = |i: usize| self.prev_sig(i).and_then(|j| self.cue_at(j));
        let next_cue = |i: usize| self.next_sig(i).and_then(|j| self.cue_at(j));
        let korean = self.korean;
        let eligible: Vec<usize> = tables
            .iter()
            .filter(|(i, _)| {
                // "the oldest singer" names the subject; "the most orders" counts another table. Korean puts the
                // counted noun first: "주문이 가장 많은 고객" counts orders per customer.
                let counted_ko = korean && matches!(next_cue(*i), Some(Cue::Super { concept: Concept::None, .. }));
                !counted_ko
                    && !matches!(prev_cue(*i), Some(Cue::Each | Cue::By | Cue::MostCommon { .. }))
                    && (korean || !matches!(prev_cue(*i), Some(Cue::Super { concept: Concept::None, .. })))
            })
            .map(|x| x.1)
            .collect();
        let subject = if self.korean { eligible.last().copied() } else { eligible.first().copied() }
            .or_else(|| if eligible.is_empty() && !tables.is_empty() { self.subject_by_coverage(&kinds) } else { None })
            .or_else(|| tables.first().map(|x| x.1));
        self.subject = match subject {
            Some(t) => t,
            None => {
                self.feats[F::SubjectByCoverage as usize] = 1.0;
                self.subject_by_coverage(&kinds).ok_or("no table of the schema is mentioned")?
            }
        };
        if !self.mentioned.contains(&self.subject) {
            self.mentioned.insert(0, self.subject);
        }
        // "the names of mountains": a column mention qualified by the table after it.
        let mut qualified: Vec<Option<usize>> = vec![None; self.items.len()];
        for i in 0..self.items.len() {
            if kinds[i] != Some(false) {
                continue;
            }
            let of_next = self.items.get(i + 1).is_some_and(|x| x.text == "of")
                || (self.items.get(i + 1).is_some_and(|x| x.text == "of")
                    && self.items.get(i + 2).is_some_and(|x| x.text == "the"));
            if !of_next {
                continue;
            }
            let mut k = i + 2;
            while self.items.get(k).is_some_and(|x| matches!(x.text.as_str(), "the" | "all" | "a" | "an" | "each")) {
                k += 1;
            }
            if kinds.get(k) != Some(&Some(true)) {
                continue;
            }
            let Some(t) = tables.iter().find(|x| x.0 == k).map(|x| x.1) else { continue };
            if let ItemKind::Schema { cols, .. } = &self.items[i].kind
                && let Some(&(c, _)) =
                    cols.iter().filter(|(c, _)| self.lex.cols[*c].table == t).max_by(|a, b| a.1.total_cmp(&b.1))
            {
                qualified[i] = Some(c);
            }
        }
        // Resolve.
        for i in 0..self.items.len() {
            if let Some(c) = qualified[i] {
                self.res[i] = Res::Col(c);
                continue;
            }
            if let Some(t) = counted_table[i] {
                self.res[i] = Res::Table(t);
                self.counted.push(i);
                continue;
            }
            match (&self.items[i].kind, kinds[i]) {
                (ItemKind::Schema { tables, .. }, Some(true)) => {
                    let best = tables.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|x| x.0);
                    if let Some(t) = best {
                        self.res[i] = Res::Table(t);
                    }
                }
                (ItemKind::Schema { cols, .. }, Some(false)) => {
                    let mut cols = cols.clone();
                    let text = self.items[i].text.clone();
                    // "names" of an entity whose name column is called otherwise (`title`): that column; likewise
                    // "id", "details", "description" for the subject's only such column.
                    let lower = text.to_lowercase();
                    let in_subject = cols.iter().any(|(c, _)| self.table_of(*c) == self.subject);
                    if !in_subject && !lower.contains(' ') {
                        if matches!(lower.as_str(), "name" | "names")
                            && let Some(n) = self.lex.name_column_in(self.subject, self.korean)
                        {
                            cols.push((n, 1.0));
                        } else {
                            let st = stem_word(&lower);
                            let own: Vec<usize> = self.lex.tables[self.subject]
                                .cols
                                .iter()
                                .copied()
                                .filter(|&c| self.lex.cols[c].stems.last() == Some(&st))
                                .collect();
                            if own.len() == 1 {
                                cols.push((own[0], 1.0));
                            }
                        }
                    }
                    match self.pick_col(&cols, &text) {
                        Some((c, head)) => {
                            self.res[i] = Res::Col(c);
                            if head {
                                self.by_role.push(i);
                            }
                        }
                        None => self.doubt(F::Unreachable, format!("'{text}' is a column no join reaches")),
                    }
                }
                _ => {}
            }
        }
        // "years working" read as two mentions of `Years_Working`: one.
        for i in 1..self.items.len() {
            if let (Res::Col(a), Res::Col(b)) = (self.res[i - 1], self.res[i])
                && a == b
            {
                self.res[i] = Res::None;
                self.used[i] = true;
            }
        }
        Ok(())
    }

    fn subject_by_coverage(&self, kinds: &[Option<bool>]) -> Option<usize> {
        let mut score = vec![0.0f32; self.lex.tables.len()];
        for (i, it) in self.items.iter().enumerate() {
            let mut best = vec![0.0f32; self.lex.tables.len()];
            match &it.kind {
                ItemKind::Schema { cols, .. } if kinds[i] == Some(false) => {
                    for &(c, s) in cols {
                        let t = self.lex.cols[c].table;
                        // A column named after its table ("role_code" in "roles") belongs there first.
                        let own = self.lex.tables[t].stems.iter().any(|w| self.lex.cols[c].stems.contains(w));
                        best[t] = best[t].max(s + if own { 0.05 } else { 0.0 });
                    }
                }
                ItemKind::Value { cands, .. } => {
                    for (c, _, s) in cands {
                        let t = self.lex.cols[*c].table;
                        best[t] = best[t].max(*s * 0.8);
                    }
                }
                _ => {}
            }
            for (t, b) in best.iter().enumerate() {
                score[t] += b;
            }
        }
        let max = score.iter().copied().fold(0.0f32, f32::max);
        if max <= 0.0 {
            return None;
        }
        score.iter().position(|s| *s == max)
    }
}
