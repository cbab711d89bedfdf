//! Items → a query plan. The passes, in order: decide which mentions are tables and which are columns, choose the
//! subject table, resolve every column and value to one schema column, then read the constructs — ordering, top-N
//! and superlatives, "most common", grouping, comparisons, ranges, LIKE, dates, values, existence — and finally the
//! projection from what is left. Every item a construct uses is marked; what stays unexplained lowers the
//! confidence, as does every guess (an ambiguous column, a default projection, a join).

use super::dates::Ymd;
use super::doubt::{F, Features, N};
use super::lexicon::Lexicon;
use super::link::{Item, ItemKind};
use super::sql::{Bucket, Cond, Lit, OrderKey, Plan, Sel};
use super::text::stem_word;
use super::vocab::{Agg, Concept, Cue, DateCue, Op};
use crate::schema::TypeClass;

pub(crate) struct Interp {
    pub plan: Plan,
    pub conf: f32,
    /// The doubts and the query's shape, counted (for `Engine::explain`).
    pub feats: Features,
    /// Why the confidence dropped (for the abstention message and debugging).
    pub doubts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Res {
    None,
    Table(usize),
    Col(usize),
}

struct Ctx<'a> {
    lex: &'a Lexicon,
    items: &'a [Item],
    used: Vec<bool>,
    res: Vec<Res>,
    conf: f32,
    feats: Features,
    doubts: Vec<String>,
    subject: usize,
    mentioned: Vec<usize>,
    today: Option<Ymd>,
    plan: Plan,
    /// Filters with the item position they came from (ORs are merged by position).
    filters: Vec<(usize, Cond)>,
    /// Positions of Or cues.
    korean: bool,
    /// The sentence a projection override starts at ("…? List the name and age.").
    proj_from: Option<usize>,
    /// Column a superlative was read on (for "What is the highest age?").
    super_col: Option<(usize, bool)>,
    /// The group entity table (grouping by a table's key).
    group_table: Option<usize>,
    bucket: Option<(usize, Bucket)>,
    /// Items "the number of X" read as a count of table X (see `resolve`).
    counted: Vec<usize>,
    /// Words resolved by the role of a column ("id" → the key, "name" → the name column).
    by_role: Vec<usize>,
}

fn is_cue(item: &Item, f: impl Fn(&Cue) -> bool) -> bool {
    matches!(&item.kind, ItemKind::Cue(c) if f(c))
}

/// Items that only link others: skipped when looking for a neighbour.
fn is_filler(item: &Item) -> bool {
    if number_word(&item.text).is_some() {
        return false;
    }
    matches!(item.kind, ItemKind::Free | ItemKind::Punct)
        || is_cue(item, |c| matches!(c, Cue::Free | Cue::Equal | Cue::Filter | Cue::Has | Cue::Which))
}

impl<'a> Ctx<'a> {
    fn doubt(&mut self, feature: F, factor: f32, why: impl Into<String>) {
        self.conf *= factor;
        self.feats[feature as usize] += 1.0;
        self.doubts.push(why.into());
    }

    fn next_sig(&self, i: usize) -> Option<usize> {
        let mut j = i + 1;
        while j < self.items.len() {
            let it = &self.items[j];
            if it.kind == ItemKind::Stop {
                return None;
            }
            if !is_filler(it) {
                return Some(j);
            }
            j += 1;
        }
        None
    }

    fn prev_sig(&self, i: usize) -> Option<usize> {
        let mut j = i;
        while j > 0 {
            j -= 1;
            let it = &self.items[j];
            if it.kind == ItemKind::Stop {
                return None;
            }
            if !is_filler(it) {
                return Some(j);
            }
        }
        None
    }

    fn col_at(&self, i: usize) -> Option<usize> {
        match self.res.get(i) {
            Some(Res::Col(c)) => Some(*c),
            _ => None,
        }
    }

    fn table_at(&self, i: usize) -> Option<usize> {
        match self.res.get(i) {
            Some(Res::Table(t)) => Some(*t),
            _ => None,
        }
    }

    fn num_at(&self, i: usize) -> Option<f64> {
        match &self.items.get(i)?.kind {
            ItemKind::Num(n) => Some(*n),
            ItemKind::Word | ItemKind::Free => {
                let w = self.items[i].text.as_str();
                number_word(w)
            }
            _ => None,
        }
    }

    fn cue_at(&self, i: usize) -> Option<Cue> {
        match &self.items.get(i)?.kind {
            ItemKind::Cue(c) => Some(*c),
            _ => None,
        }
    }

    fn table_of(&self, c: usize) -> usize {
        self.lex.cols[c].table
    }

    /// "older" on a column that is not an age (a birth date or year) compares the other way.
    fn reversed_age(&self, c: usize) -> bool {
        !self.lex.cols[c].stems.iter().any(|s| s == "age")
    }

    fn is_numeric(&self, c: usize) -> bool {
        matches!(self.lex.cols[c].class, TypeClass::Integer | TypeClass::Real)
    }

    /// A Not cue just before item `i` (within two significant items); marks it used.
    fn negated_before(&mut self, i: usize) -> bool {
        // "not in the country 'Iceland'", "whose software platforms are not": fillers and one column mention may
        // stand between the negation and what it negates.
        let mut j = i;
        let mut cols = 0;
        for _ in 0..6 {
            let Some(k) = j.checked_sub(1) else { return false };
            j = k;
            let it = &self.items[j];
            if it.kind == ItemKind::Stop {
                return false;
            }
            if is_cue(it, |c| *c == Cue::Not) && !self.used[j] {
                self.used[j] = true;
                return true;
            }
            if self.col_at(j).is_some() && cols == 0 {
                cols += 1;
                continue;
            }
            if !is_filler(it) {
                return false;
            }
        }
        false
    }

    // ----- resolution -----------------------------------------------------------------------------------------

    fn hops(&self, from: usize, to: usize) -> Option<usize> {
        if from == to {
            return Some(0);
        }
        let mut seen = vec![false; self.lex.tables.len()];
        let mut frontier = vec![from];
        seen[from] = true;
        for depth in 1..=3 {
            let mut next = Vec::new();
            for &t in &frontier {
                for (nb, _, _) in self.lex.neighbours(t) {
                    if nb == to {
                        return Some(depth);
                    }
                    if !seen[nb] {
                        seen[nb] = true;
                        next.push(nb);
                    }
                }
            }
            frontier = next;
        }
        None
    }

    /// How far a table is from the question's focus: 0 subject, 1 mentioned, 2 adjacent, 3 reachable.
    fn tier(&self, t: usize) -> Option<usize> {
        if t == self.subject {
            return Some(0);
        }
        if self.mentioned.contains(&t) {
            return Some(1);
        }
        let d = std::iter::once(self.subject)
            .chain(self.mentioned.iter().copied())
            .filter_map(|m| self.hops(m, t))
            .min()?;
        Some(if d == 1 { 2 } else { 3 })
    }

    fn pick_col(&mut self, cands: &[(usize, f32)], what: &str) -> Option<usize> {
        let mut scored: Vec<(usize, f32)> = cands
            .iter()
            .filter_map(|&(c, s)| {
                let tier = self.tier(self.table_of(c))?;
                Some((c, s - 0.15 * tier as f32))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let (best, key) = *scored.first()?;
        if let Some(&(second, k2)) = scored.get(1)
            && second != best
            && key - k2 < 0.04
        {
            self.doubt(F::Ambiguous, 0.8, format!("'{what}' could be several columns"));
        }
        if key < 0.5 {
            self.doubt(F::Loose, 0.85, format!("'{what}' matches a column only loosely"));
        }
        Some(best)
    }

    fn resolve(&mut self) -> Result<(), String> {
        // Table or column?
        let mut kinds: Vec<Option<bool>> = vec![None; self.items.len()]; // Some(true) = table
        for (i, it) in self.items.iter().enumerate() {
            if let ItemKind::Schema { tables, cols } = &it.kind {
                let bt = tables.iter().map(|x| x.1).fold(0.0f32, f32::max);
                let bc = cols.iter().map(|x| x.1).fold(0.0f32, f32::max);
                let after_count = i > 0 && is_cue(&self.items[i - 1], |c| *c == Cue::Count);
                let table = !tables.is_empty() && (cols.is_empty() || bt >= bc - 0.02 || (after_count && bt >= 0.6));
                kinds[i] = Some(table);
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
                            && let Some(n) = self.lex.name_column(self.subject)
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
                        Some(c) => self.res[i] = Res::Col(c),
                        None => self.doubt(F::Unreachable, 0.5, format!("'{text}' is a column no join reaches")),
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

    /// Words like "dates" or "code" that matched nothing: the subject's (or a mentioned table's) only column of
    /// that kind.
    fn resolve_generic_words(&mut self) {
        const GENERIC: &[&str] = &[
            "date",
            "dates",
            "code",
            "codes",
            "id",
            "ids",
            "details",
            "description",
            "descriptions",
            "type",
            "types",
            "status",
            "number",
            "numbers",
            "year",
            "years",
            "time",
            "times",
        ];
        for i in 0..self.items.len() {
            // "the name of the campuses" where the name column is `Campus`: the named table's name column.
            if self.items[i].kind == ItemKind::Word
                && self.res[i] == Res::None
                && matches!(self.items[i].text.to_lowercase().as_str(), "name" | "names")
            {
                // Not "the city name" (a column's own word), nor "the name of film studio" (a table qualifying
                // the column that follows).
                let next = self.next_sig(i);
                let after_col =
                    (i > 0 && self.col_at(i - 1).is_some()) || next.is_some_and(|k| self.col_at(k).is_some());
                let qualified = next.is_some_and(|k| {
                    self.table_at(k)
                        .is_some_and(|t| self.items.get(k + 1).is_some() && self.col_in_table_at(k + 1, t).is_some())
                });
                let t = next.and_then(|k| self.table_at(k)).unwrap_or(self.subject);
                if !after_col
                    && !qualified
                    && let Some(c) = self.lex.name_column(t)
                {
                    self.res[i] = Res::Col(c);
                    self.by_role.push(i);
                }
                continue;
            }
            if self.items[i].kind != ItemKind::Word || !GENERIC.contains(&self.items[i].text.to_lowercase().as_str()) {
                continue;
            }
            let st = stem_word(&self.items[i].text);
            let mut order = vec![self.subject];
            order.extend(self.mentioned.iter().copied().filter(|t| *t != self.subject));
            for t in order {
                let own: Vec<usize> = self.lex.tables[t]
                    .cols
                    .iter()
                    .copied()
                    .filter(|&c| self.lex.cols[c].stems.contains(&st) && !self.lex.cols[c].is_fk)
                    .collect();
                if own.len() == 1 {
                    self.res[i] = Res::Col(own[0]);
                    break;
                }
                if !own.is_empty() {
                    break;
                }
            }
            // "the id and name of the aircraft" where the key is `aid`: the subject's primary key.
            if self.res[i] == Res::None
                && matches!(self.items[i].text.to_lowercase().as_str(), "id" | "ids")
                && let Some(pk) = self.lex.pk(self.subject).filter(|&c| self.lex.cols[c].class != TypeClass::Text)
            {
                self.res[i] = Res::Col(pk);
                self.by_role.push(i);
            }
        }
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
            self.doubt(F::ValueAmbiguous, 0.75, format!("'{}' appears in several columns", self.items[i].text));
        }
        Some((first.0, first.1))
    }

    // ----- constructs ------------------------------------------------------------------------------------------

    /// Columns carrying a measure: in the subject first, then mentioned tables, then neighbours.
    fn concept_col(&self, concept: Concept) -> Option<usize> {
        if concept == Concept::None {
            return None;
        }
        let stems: Vec<String> = concept.stems().iter().map(|s| stem_word(s)).collect();
        let mut order: Vec<usize> = vec![self.subject];
        order.extend(self.mentioned.iter().copied().filter(|t| *t != self.subject));
        for t in order {
            for s in &stems {
                for &c in &self.lex.tables[t].cols {
                    let info = &self.lex.cols[c];
                    let measurable = concept == Concept::Time
                        || concept == Concept::Age
                        || matches!(info.class, TypeClass::Integer | TypeClass::Real | TypeClass::Other);
                    if info.stems.iter().any(|w| w == s) && !info.is_pk && !info.is_fk && measurable {
                        return Some(c);
                    }
                }
            }
            if concept == Concept::Time
                && let Some(&c) =
                    self.lex.tables[t].cols.iter().find(|&&c| self.lex.cols[c].class == TypeClass::Temporal)
            {
                return Some(c);
            }
        }
        // Last, a table one foreign key away ("the shortest song" when durations live with the files).
        if concept != Concept::Time {
            for (nb, _, _) in self.lex.neighbours(self.subject) {
                if let Some(c) = self.concept_col_in(concept, nb)
                    && self.is_numeric(c)
                {
                    return Some(c);
                }
            }
        }
        None
    }

    /// A column of the subject that already holds a count of `t`'s rows ("Number_of_hosts" for hosts).
    fn count_column(&self, t: usize) -> Option<usize> {
        if t == self.subject {
            return None;
        }
        let tstems = &self.lex.tables.get(t)?.stems;
        let head = tstems.last()?;
        self.lex.tables[self.subject].cols.iter().copied().find(|&c| {
            let st = &self.lex.cols[c].stems;
            self.is_numeric(c)
                && st.iter().any(|w| w == "number" || w == "count" || w == "total")
                && st.iter().any(|w| w == head)
        })
    }

    /// A column of table `t` carrying the measure.
    fn concept_col_in(&self, concept: Concept, t: usize) -> Option<usize> {
        if concept == Concept::None {
            return None;
        }
        let stems: Vec<String> = concept.stems().iter().map(|s| stem_word(s)).collect();
        for s in &stems {
            for &c in &self.lex.tables.get(t)?.cols {
                let info = &self.lex.cols[c];
                if info.stems.iter().any(|w| w == s) && !info.is_pk && !info.is_fk {
                    return Some(c);
                }
            }
        }
        None
    }

    /// The count-ordering target after a superlative or an order cue: "most orders", "the number of employees".
    fn count_target(&self, j: usize) -> Option<(usize, usize)> {
        // (table counted, items consumed up to)
        let mut k = j;
        if self.cue_at(k) == Some(Cue::Count) {
            k = self.next_sig(k)?;
        }
        // One describing word may come between: "the most registered students".
        if self.items[k].kind == ItemKind::Word {
            k = self.next_sig(k)?;
        }
        let t = self.table_at(k)?;
        Some((t, k))
    }

    fn order_pass(&mut self) {
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let Some(cue) = self.cue_at(i) else { continue };
            let (mut desc, is_order) = match cue {
                Cue::OrderBy => (false, true),
                Cue::Dir { desc, .. } => (desc, true),
                Cue::Alpha => (false, true),
                Cue::By => {
                    // "by X" orders only when a direction follows; grouping reads it otherwise.
                    let j = self.next_sig(i);
                    let dir_follows = j
                        .and_then(|j| self.next_sig(j))
                        .is_some_and(|k| matches!(self.cue_at(k), Some(Cue::Dir { .. } | Cue::Alpha)));
                    if !dir_follows {
                        continue;
                    }
                    (false, true)
                }
                _ => (false, false),
            };
            if !is_order {
                continue;
            }
            self.used[i] = true;
            let mut key: Option<OrderKey> = None;
            let mut end = i;
            // "Order/Sort all X by Y": the key follows the "by".
            let imperative = self.items[..i].iter().all(|it| matches!(it.kind, ItemKind::Free | ItemKind::Punct))
                && matches!(self.items[i].text.as_str(), "order" | "sort" | "rank");
            if imperative
                && let Some(b) = (i + 1..self.items.len()).find(|&k| !self.used[k] && self.cue_at(k) == Some(Cue::By))
            {
                self.used[b] = true;
                if let Some(j) = self.next_sig(b)
                    && let Some((k, e)) = self.order_key_at(j)
                {
                    key = Some(k);
                    end = e;
                }
            }
            // Skip further order words: "sort in descending order of X", "ordered alphabetically by name".
            let mut next = self.next_sig(i);
            while let Some(j) = next {
                match self.cue_at(j) {
                    Some(Cue::Dir { desc: d, .. }) => desc = d,
                    Some(Cue::Alpha | Cue::By | Cue::OrderBy) => {}
                    _ => break,
                }
                self.used[j] = true;
                end = j;
                next = self.next_sig(j);
            }
            if key.is_none()
                && let Some(j) = next
                && let Some((k, e)) = self.order_key_at(j)
            {
                key = Some(k);
                end = e;
            }
            // Korean names the key first: "나이 순으로".
            if key.is_none()
                && self.korean
                && let Some(p) = self.prev_sig(i)
                && let Some(c) = self.col_at(p).filter(|_| !self.used[p])
            {
                self.used[p] = true;
                key = Some(OrderKey::Col(c));
            }
            // "in the order of built year and class": more keys.
            let mut extra_keys = Vec::new();
            if key.is_some() {
                while let Some(a) = self.next_sig(end)
                    && self.cue_at(a) == Some(Cue::And)
                    && let Some(j) = self.next_sig(a)
                    && self.col_at(j).is_some()
                    && let Some((k, e)) = self.order_key_at(j)
                {
                    self.used[a] = true;
                    extra_keys.push(k);
                    end = e;
                }
            }
            // Direction: a Dir cue in the next few items (or the cue itself).
            let mut k = end;
            for _ in 0..4 {
                let Some(n) = self.next_sig(k) else { break };
                match self.cue_at(n) {
                    Some(Cue::Dir { desc: d, concept }) => {
                        desc = d;
                        if concept == Concept::Age
                            && let Some(OrderKey::Col(c)) = &key
                            && self.reversed_age(*c)
                        {
                            // From old to young on a date of birth is ascending.
                            desc = !d;
                        }
                        self.used[n] = true;
                        break;
                    }
                    Some(Cue::Alpha) => {
                        self.used[n] = true;
                        break;
                    }
                    Some(Cue::OrderBy) if key.is_none() => {
                        self.used[n] = true;
                        if let Some(m) = self.next_sig(n)
                            && let Some(c) = self.col_at(m)
                        {
                            key = Some(OrderKey::Col(c));
                            self.used[m] = true;
                            k = m;
                            continue;
                        }
                        k = n;
                        continue;
                    }
                    _ => {}
                }
                if key.is_none()
                    && let Some(c) = self.col_at(n)
                {
                    key = Some(OrderKey::Col(c));
                    self.used[n] = true;
                }
                k = n;
            }
            match key {
                Some(key) => {
                    self.plan.order.push((key, desc));
                    for k in extra_keys {
                        self.plan.order.push((k, desc));
                    }
                }
                None => {
                    // "in alphabetical order" / "in descending order": of the first projected column, decided later.
                    self.plan.order.push((OrderKey::Col(usize::MAX), desc));
                }
            }
        }
    }

    /// An ordering key starting at item `j`: a column, "publication price" (a table naming its column), an
    /// aggregate of a column, or a count of related rows. Marks what it uses; returns the key and its last item.
    fn order_key_at(&mut self, j: usize) -> Option<(OrderKey, usize)> {
        if let Some(c) = self.col_at(j) {
            self.used[j] = true;
            return Some((OrderKey::Col(c), j));
        }
        if let Some(t) = self.table_at(j)
            && let Some(k) = self.next_sig(j)
            && let Some(c) = self.col_in_table_at(k, t)
        {
            self.used[j] = true;
            self.used[k] = true;
            return Some((OrderKey::Col(c), k));
        }
        if let Some(Cue::Agg(a)) = self.cue_at(j)
            && let Some(k) = self.next_sig(j)
            && let Some(c) = self.col_at(k)
        {
            self.used[j] = true;
            self.used[k] = true;
            return Some((OrderKey::Agg(a, c), k));
        }
        if self.cue_at(j) == Some(Cue::Count)
            && let Some(k) = self.next_sig(j)
            && let Some(c) = self.col_at(k)
            && self.is_numeric(c)
        {
            self.used[j] = true;
            self.used[k] = true;
            return Some((OrderKey::Col(c), k));
        }
        if let Some((t, k)) = self.count_target(j) {
            self.mark_range(j, k);
            self.count_group(t);
            return Some((OrderKey::Count, k));
        }
        if self.cue_at(j) == Some(Cue::Count) {
            // "by the number of floors": a numeric column holds the number.
            if let Some(k) = self.next_sig(j)
                && let Some(c) = self.col_at(k)
                && self.is_numeric(c)
            {
                self.used[j] = true;
                self.used[k] = true;
                return Some((OrderKey::Col(c), k));
            }
            self.used[j] = true;
            return Some((OrderKey::Count, j));
        }
        None
    }

    /// Item `k` as a column of table `t`, when it may name one.
    fn col_in_table_at(&self, k: usize, t: usize) -> Option<usize> {
        if self.used[k] {
            return None;
        }
        if let Some(c) = self.col_at(k)
            && self.table_of(c) == t
        {
            return Some(c);
        }
        self.col_cands(k).into_iter().find(|&c| self.table_of(c) == t)
    }

    fn mark_range(&mut self, a: usize, b: usize) {
        for k in a..=b.min(self.items.len().saturating_sub(1)) {
            if !matches!(self.items[k].kind, ItemKind::Stop) {
                self.used[k] = true;
            }
        }
    }

    /// Rows are grouped by the entity whose related rows are counted: the subject, or `counted` itself when
    /// the subject is what is being counted per another table.
    fn count_group(&mut self, counted: usize) {
        if counted != self.subject {
            if let Some(pk) = self.lex.pk(self.subject) {
                if !self.plan.group_by.contains(&pk) {
                    self.plan.group_by.push(pk);
                }
                self.group_table = Some(self.subject);
                if !self.plan.extra_tables.contains(&counted) {
                    self.plan.extra_tables.push(counted);
                }
            } else {
                self.doubt(F::CountNoKey, 0.5, "the counted entity has no single-column key");
            }
        }
    }

    fn superlative_pass(&mut self) {
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
            let limit = self.top_n_before(i).or_else(|| self.top_n_anywhere()).unwrap_or(1);
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
                self.doubt(F::CommonOfWhat, 0.4, "'most common' of what");
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
                    !self.lex.cols[*c].stems.iter().any(|w| stems.contains(w))
                })
                && self.concept_col(concept).is_some();
            // "most number of books", "the most X" with X not a measure: how many rows, per the listed column.
            let word = self.items[i].text.as_str();
            let counting =
                word.contains("number") || matches!(word, "most" | "the most" | "least" | "the least" | "fewest");
            if counting
                && let Some((marks, c)) = &explicit
                && !self.is_numeric(*c)
                && self.table_of(*c) == self.subject
            {
                for m in marks {
                    self.used[*m] = true;
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
            let per_group = self.items.iter().any(|it| is_cue(it, |c| *c == Cue::Each));
            if per_group
                && let Some((marks, c)) = explicit.clone().filter(|_| !concept_first)
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
                self.doubt(F::SuperNoMeasure, 0.5, "a superlative without a measure");
                continue;
            };
            if let Some(Cue::Agg(a)) = self.cue_at(j)
                && let Some(k) = self.next_sig(j)
                && let Some(c) = self.col_at(k)
            {
                self.used[j] = true;
                self.used[k] = true;
                let t = self.table_of(c);
                self.plan.order.push((OrderKey::Agg(a, c), desc));
                self.plan.limit = Some(limit);
                if t != self.subject {
                    self.count_group(t);
                } else {
                    self.doubt(F::AggSuperSubject, 0.6, "an aggregate superlative over the subject itself");
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
            self.doubt(F::SuperNoMeasure, 0.5, "a superlative without a measure");
        }
    }

    /// "top 5" / "상위 5": the number, marking the cue and number used.
    fn top_n_before(&mut self, i: usize) -> Option<u64> {
        // "the top 5 students with the highest gpa": the number may be a few items back.
        let mut k = i;
        for _ in 0..4 {
            let p = self.prev_sig(k)?;
            if let Some(n) = self.num_at(p) {
                let q = self.prev_sig(p);
                let top = q.filter(|&q| matches!(self.cue_at(q), Some(Cue::Top | Cue::Bottom)));
                // "the 2 employees with the lowest salary": a count right before the entity.
                let counted_entity = self.items.get(p + 1).is_some_and(|_| self.table_at(p + 1).is_some());
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
    fn top_n_anywhere(&mut self) -> Option<u64> {
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

    fn top_pass(&mut self) {
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
                        if let Some(c) = self.col_at(x) {
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
                    self.doubt(F::TopNoMeasure, 0.7, "top N without a measure");
                }
            }
        }
    }

    fn group_pass(&mut self) {
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
            let Some(j) = right_after.or_else(|| self.next_sig(i)) else {
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
                        && self.lex.name_column(t).is_some()
                    {
                        if !self.plan.group_by.contains(&pk) {
                            self.plan.group_by.push(pk);
                        }
                        self.group_table = Some(t);
                    }
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
                    (None, None) => self.doubt(F::GroupNoKey, 0.5, "grouping by a table without a single-column key"),
                }
                continue;
            }
            if !by {
                self.used[i] = true;
            }
        }
    }

    /// "How many (kinds of) different X", "the number of different X": "different" after a count asks for
    /// distinct values, not a group per value.
    fn counted_different(&self, i: usize) -> bool {
        // Only right before the column: "different channel owners" is left to the projection as before.
        if !self.items[i].text.ends_with("different") || self.next_sig(i).and_then(|k| self.col_at(k)).is_none() {
            return false;
        }
        let mut k = i;
        while let Some(p) = self.prev_sig(k) {
            if self.items[p].kind == ItemKind::Word && KIND_WORDS.contains(&self.items[p].text.to_lowercase().as_str())
            {
                k = p;
                continue;
            }
            return self.cue_at(p) == Some(Cue::Count);
        }
        false
    }

    fn bucket_word(&self, j: usize) -> Option<Bucket> {
        let t = self.items[j].text.as_str();
        let t = t.strip_suffix("별로").or_else(|| t.strip_suffix('별')).or_else(|| t.strip_suffix("마다")).unwrap_or(t);
        match t {
            "month" | "months" | "monthly" | "월" => Some(Bucket::Month),
            "year" | "years" | "yearly" | "annual" | "annually" | "연도" | "년도" | "년" | "연" => {
                Some(Bucket::Year)
            }
            "day" | "days" | "daily" | "date" | "일" | "일자" | "날짜" => Some(Bucket::Day),
            _ => None,
        }
    }

    fn comparison_pass(&mut self) {
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
        // The number: after the cue (English), before it (Korean and "5 or more").
        let num_idx = if post { self.prev_sig(i) } else { self.next_sig(i) };
        let Some(ni) = num_idx else { return };
        let Some(n) = self.num_at(ni) else {
            // "older than the average" and other nested comparisons are beyond this engine.
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
        if let Some(k) = times_after {
            self.used[i] = true;
            self.used[ni] = true;
            self.used[k] = true;
            self.having(op, n, self.subject);
            return;
        }
        // The column: just before the cue, else named by the adjective, else just after the number.
        let anchor = if post { ni } else { i };
        let before = self.prev_sig(anchor).filter(|&k| !self.used[k]).and_then(|k| self.col_at(k).map(|c| (k, c)));
        // "bigger than 1500 or smaller than 500": the column of the comparison before.
        let chained =
            self.prev_sig(anchor).filter(|&k| matches!(self.cue_at(k), Some(Cue::Or | Cue::And))).and_then(|_| {
                match self.filters.last() {
                    Some((_, Cond::Cmp(c, _, Lit::Num(_)) | Cond::Between(c, ..))) => Some(*c),
                    _ => None,
                }
            });
        let after_col = after_num.filter(|&k| !self.used[k]).and_then(|k| self.col_at(k).map(|c| (k, c)));
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
            None => match self.concept_col(concept) {
                Some(c) => Some(c),
                None => {
                    let after = after_num.filter(|&k| !self.used[k]).and_then(|k| self.col_at(k).map(|c| (k, c)));
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
            self.doubt(F::CmpNoCol, 0.5, "a comparison without a column");
            return;
        };
        // A number compared with a text column named after it ("more than 2 faults"): rows are counted.
        if after_col.is_some_and(|(_, ac)| ac == c) && matches!(self.lex.cols[c].class, TypeClass::Text) {
            self.used[i] = true;
            self.used[ni] = true;
            let t = self.table_of(c);
            self.doubt(F::Loose, 0.85, "a number of rows read from a column name");
            self.having(op, n, t);
            return;
        }
        if matches!(self.lex.cols[c].class, TypeClass::Text) {
            self.doubt(F::Loose, 0.7, "a text column compared with a number");
        }
        self.used[i] = true;
        self.used[ni] = true;
        let reversed = concept == Concept::Age && self.reversed_age(c);
        let op = if reversed { op.flip() } else { op };
        let cond = self.numeric_cond(c, op, n);
        self.filters.push((i, cond));
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
                        self.doubt(F::RangeNoCol, 0.5, "a range without a column");
                        return;
                    }
                }
            }
        };
        self.used[i] = true;
        self.used[a] = true;
        self.used[and] = true;
        self.used[b] = true;
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

    fn like_pass(&mut self) {
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let Some(Cue::Like(kind)) = self.cue_at(i) else { continue };
            // The text: a quoted string or value within the next two items ("contain the letter 'a'"), else the
            // next word.
            let mut j = None;
            let mut k = i;
            for _ in 0..3 {
                let Some(n) = self.next_sig(k) else { break };
                if matches!(self.items[n].kind, ItemKind::Value { .. }) {
                    j = Some(n);
                    break;
                }
                if matches!(
                    self.items[n].text.as_str(),
                    "letter"
                        | "letters"
                        | "word"
                        | "words"
                        | "string"
                        | "character"
                        | "characters"
                        | "substring"
                        | "phrase"
                        | "term"
                        | "text"
                ) {
                    self.used[n] = true;
                    k = n;
                    continue;
                }
                if j.is_none() && matches!(self.items[n].kind, ItemKind::Word) {
                    j = Some(n);
                }
                break;
            }
            let Some(j) = j else { continue };
            let text = self.items[j].text.clone();
            let neg = self.negated_before(i);
            let col = self.prev_sig(i).and_then(|k| self.col_at(k).map(|c| (k, c)));
            let c = match col {
                Some((k, c)) if !self.used[k] => {
                    self.used[k] = true;
                    c
                }
                _ => match self.lex.name_column(self.subject) {
                    Some(c) => {
                        self.doubt(F::LikeDefault, 0.8, "LIKE on the name column by default");
                        c
                    }
                    None => continue,
                },
            };
            self.used[i] = true;
            self.used[j] = true;
            self.filters.push((i, Cond::Like(c, kind, text, neg)));
        }
    }

    fn date_pass(&mut self) {
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let Some(Cue::Date(d)) = self.cue_at(i) else { continue };
            let Some(today) = self.today else {
                self.doubt(F::NoToday, 0.3, "a relative date without today's date");
                self.used[i] = true;
                continue;
            };
            let (from, to) = match d {
                DateCue::LastDays => {
                    let Some(j) = self.next_sig(i) else { continue };
                    let Some(n) = self.num_at(j) else { continue };
                    if !(1.0..=36_600.0).contains(&n) || n.fract() != 0.0 {
                        continue;
                    }
                    let unit = self.next_sig(j);
                    let unit_text = unit.map(|u| self.items[u].text.clone()).unwrap_or_default();
                    let days = match unit_text.as_str() {
                        "day" | "days" | "일" | "일간" => n as i64,
                        "week" | "weeks" | "주" | "주간" => n as i64 * 7,
                        "month" | "months" | "개월" | "달" => {
                            let from = today.add_months(-(n as i64));
                            let span = today.add_days(1);
                            self.used[j] = true;
                            if let Some(u) = unit {
                                self.used[u] = true;
                            }
                            self.date_filter(i, from, span);
                            continue;
                        }
                        "year" | "years" | "년" | "년간" => n as i64 * 365,
                        _ => continue,
                    };
                    self.used[j] = true;
                    if let Some(u) = unit {
                        self.used[u] = true;
                    }
                    (today.add_days(-(days - 1)), today.add_days(1))
                }
                DateCue::LastMonth => {
                    let this = today.first_of_month();
                    (this.add_months(-1), this)
                }
                DateCue::ThisMonth => {
                    let this = today.first_of_month();
                    (this, this.add_months(1))
                }
                DateCue::LastYear => {
                    let y = Ymd { y: today.y - 1, m: 1, d: 1 };
                    (y, Ymd { y: today.y, m: 1, d: 1 })
                }
                DateCue::ThisYear => (Ymd { y: today.y, m: 1, d: 1 }, Ymd { y: today.y + 1, m: 1, d: 1 }),
                DateCue::Today => (today, today.add_days(1)),
                DateCue::Yesterday => (today.add_days(-1), today),
                DateCue::Month(m) => {
                    // "March 2024" / "in March of 2024"; without a year, the latest such month up to today.
                    let year = self.next_sig(i).and_then(|j| {
                        let n = self.num_at(j)?;
                        (n.fract() == 0.0 && (1000.0..=2999.0).contains(&n)).then_some((j, n as i64))
                    });
                    let y = match year {
                        Some((j, y)) => {
                            self.used[j] = true;
                            y
                        }
                        None => {
                            self.doubt(F::MonthNoYear, 0.8, "a month without a year");
                            if m <= today.m { today.y } else { today.y - 1 }
                        }
                    };
                    let from = Ymd { y, m, d: 1 };
                    (from, from.add_months(1))
                }
            };
            self.date_filter(i, from, to);
        }
        // Korean months: "3월" = Num then 월; years "2024년" = Num then 년.
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let Some(n) = (match self.items[i].kind {
                ItemKind::Num(n) => Some(n),
                _ => None,
            }) else {
                continue;
            };
            let Some(j) = self.items.get(i + 1).map(|_| i + 1) else { continue };
            let unit = self.items[j].text.as_str();
            if (unit == "년" || unit == "년도" || unit == "연도") && n.fract() == 0.0 && (1000.0..=2999.0).contains(&n)
            {
                // A month may follow: "2024년 3월".
                let month = self.items.get(j + 1).and_then(|_| {
                    let m = self.num_at(j + 1)?;
                    let u = self.items.get(j + 2)?;
                    (u.text == "월" && m.fract() == 0.0 && (1.0..=12.0).contains(&m)).then_some(m as u32)
                });
                self.used[i] = true;
                self.used[j] = true;
                match month {
                    Some(m) => {
                        self.used[j + 1] = true;
                        self.used[j + 2] = true;
                        let from = Ymd { y: n as i64, m, d: 1 };
                        self.date_filter(i, from, from.add_months(1));
                    }
                    None => self.year_filter(i, n as i64),
                }
            }
        }
        // English years: "in 2008", "during 2010", "of 2009".
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let ItemKind::Num(n) = self.items[i].kind else { continue };
            if n.fract() != 0.0 || !(1800.0..=2100.0).contains(&n) {
                continue;
            }
            let prev_word = i.checked_sub(1).map(|p| self.items[p].text.as_str()).unwrap_or("");
            if matches!(prev_word, "in" | "during" | "of" | "year") {
                self.used[i] = true;
                self.year_filter(i, n as i64);
            }
        }
    }

    fn date_column_near(&mut self, i: usize) -> Option<usize> {
        // A date column named just before ("ordered in 2024"), else the focus table's date column.
        if let Some(p) = self.prev_sig(i)
            && let Some(c) = self.col_at(p)
            && (self.lex.cols[c].class == TypeClass::Temporal
                || self.lex.cols[c].stems.iter().any(|s| s == "year" || s == "date"))
        {
            self.used[p] = true;
            return Some(c);
        }
        let c = self.concept_col(Concept::Time);
        if c.is_none() {
            self.doubt(F::DateNoCol, 0.4, "a date without a date column");
        }
        c
    }

    fn date_filter(&mut self, i: usize, from: Ymd, to: Ymd) {
        let Some(c) = self.date_column_near(i) else { return };
        self.used[i] = true;
        self.filters.push((i, Cond::Range(c, Lit::Date(from.fmt()), Lit::Date(to.fmt()))));
    }

    fn year_filter(&mut self, i: usize, y: i64) {
        let Some(c) = self.date_column_near(i) else { return };
        self.used[i] = true;
        let info = &self.lex.cols[c];
        let cond = if info.stems.iter().any(|s| s == "year") || self.is_numeric(c) {
            Cond::Cmp(c, Op::Eq, Lit::Num(y as f64))
        } else {
            Cond::Range(c, Lit::Date(format!("{y:04}-01-01")), Lit::Date(format!("{:04}-01-01", y + 1)))
        };
        self.filters.push((i, cond));
    }

    /// Schema candidates of item `i` (columns), if it is a column mention.
    fn col_cands(&self, i: usize) -> Vec<usize> {
        match &self.items[i].kind {
            ItemKind::Schema { cols, .. } => cols.iter().map(|x| x.0).collect(),
            _ => Vec::new(),
        }
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

    fn value_pass(&mut self) {
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
                        match self.lex.name_column(self.subject) {
                            Some(c) if quoted => {
                                self.doubt(F::QuotedNowhere, 0.75, "a quoted value found in no column");
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
                let near_col = near.map(|(_, c)| c).or(by_table).or(chained);
                let v = self.pick_value(i, near_col);
                if let Some((k, _)) = near {
                    self.used[k] = true;
                }
                v
            };
            let Some((c, v)) = picked else {
                self.doubt(F::ValueNoCol, 0.5, format!("'{}' matches no column", self.items[i].text));
                continue;
            };
            self.used[i] = true;
            last_value_col = Some((i, c));
            let op = if neg { Op::Ne } else { Op::Eq };
            self.filters.push((i, Cond::Cmp(c, op, Lit::Text(v))));
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
                self.filters.push((i, Cond::Cmp(c, Op::Eq, Lit::Text(super::sql::number(n)))));
                continue;
            }
            let neg = self.negated_before(p);
            self.used[i] = true;
            self.used[p] = true;
            self.filters.push((i, Cond::Cmp(c, if neg { Op::Ne } else { Op::Eq }, Lit::Num(n))));
        }
    }

    /// "X that have Y" / "X without any Y": existence of related rows, without multiplying X's rows.
    fn existence_pass(&mut self) {
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
            let korean_neg = self.korean && self.next_sig(i).is_some_and(|n| self.cue_at(n) == Some(Cue::Not));
            if korean_neg && let Some(n) = self.next_sig(i) {
                neg = true;
                cue_seen = true;
                self.used[n] = true;
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
                Cond::Cmp(c, ..) | Cond::Between(c, ..) | Cond::Like(c, ..) | Cond::Range(c, ..) => {
                    self.lex.cols[*c].table == t
                }
                _ => false,
            });
            if other_cols_used || filtered {
                continue;
            }
            let Some((sc, oc)) = self.direct_link(self.subject, t) else { continue };
            self.used[i] = true;
            for j in k..i {
                if (neg && is_cue(&self.items[j], |c| *c == Cue::Not)) || self.items[j].kind == ItemKind::Word {
                    self.used[j] = true;
                }
            }
            self.filters.push((i, Cond::Exists { col: sc, other_col: oc, negated: neg }));
        }
    }

    /// A direct foreign key between two tables: (column of `a`, column of `b`).
    fn direct_link(&self, a: usize, b: usize) -> Option<(usize, usize)> {
        let links: Vec<(usize, usize)> =
            self.lex.neighbours(a).into_iter().filter(|(t, _, _)| *t == b).map(|(_, x, y)| (x, y)).collect();
        if links.len() == 1 { links.first().copied() } else { None }
    }

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

    fn projection_pass(&mut self) {
        let start = self.proj_from.unwrap_or(0);
        let head_end = if self.proj_from.is_some() { self.items.len() } else { self.head_end() };
        let mut pending_aggs: Vec<(usize, Agg)> = Vec::new();
        let mut pending_count: Option<usize> = None;
        let mut pending_distinct: Option<usize> = None;
        let mut which_pending = false;
        let mut last_table: Option<usize> = None;
        let mut carry: Option<(Vec<Agg>, usize)> = None;
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
                        && self.next_sig(i).and_then(|k| self.col_at(k)).is_some() =>
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
                self.doubt(F::HaveCol, 0.9, "a column read as a condition of having it");
                continue;
            }
            let counting_rows = self.plan.select.len() == 1 && self.plan.select[0] == Sel::Count;
            if (i > head_end || counting_rows)
                && self.col_at(i).is_some()
                && pending_aggs.is_empty()
                && pending_count.is_none()
                && !self.plan.select.is_empty()
            {
                self.used[i] = true;
                self.doubt(F::Describing, 0.8, format!("'{}' read as describing the rows", self.items[i].text));
                continue;
            }
            if let Some(c) = self.col_at(i) {
                self.used[i] = true;
                which_pending = false;
                if self.col_score(i) < 0.7 {
                    self.doubt(F::ReadLoosely, 0.85, format!("'{}' read loosely as a column", self.items[i].text));
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
                            self.doubt(F::CountDistinctGuess, 0.85, "counting distinct values of a column");
                        }
                        self.plan.select.push(Sel::CountDistinct(c));
                    } else {
                        // "How many rooms …" where "rooms" only loosely names a column: rows are counted.
                        self.doubt(F::CountRowsGuess, 0.9, "counting rows of the table a column belongs to");
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
                if pending_count.is_none()
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
                        match self.lex.name_column(t) {
                            Some(c) => {
                                self.used[i] = true;
                                self.plan.select.push(Sel::Col(c));
                            }
                            None => {
                                if let Some(pk) = self.lex.pk(t) {
                                    self.used[i] = true;
                                    self.plan.select.push(Sel::Col(pk));
                                    self.doubt(F::NoNameCol, 0.7, "an entity without a name column");
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
        for (k, _) in pending_aggs {
            if !self.used[k] {
                // "What is the highest age" style aggregates are read by the superlative; an aggregate without a
                // column is unexplained.
                self.doubt(F::AggNoCol, 0.6, "an aggregate without a column");
            }
        }
    }

    /// The match score of column mention `i` for the column it was resolved to.
    fn col_score(&self, i: usize) -> f32 {
        let Some(c) = self.col_at(i) else { return 0.0 };
        match &self.items[i].kind {
            ItemKind::Schema { cols, .. } => cols.iter().find(|x| x.0 == c).map(|x| x.1).unwrap_or(0.0),
            // "id" and "name" read as the key and the name column: a reading by role, not a loose match.
            _ if self.by_role.contains(&i) => 0.9,
            _ => 0.0,
        }
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

    fn finish(&mut self) -> Result<(), String> {
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
        self.plan.filters = groups.into_iter().map(|(_, g)| g).collect();
        // "both A and B" on one column asks for an intersection of groups, which this engine does not write.
        let single_eq: Vec<usize> = self
            .plan
            .filters
            .iter()
            .filter_map(|g| match g.as_slice() {
                [Cond::Cmp(c, Op::Eq, _)] => Some(*c),
                _ => None,
            })
            .collect();
        let contradictory = single_eq.iter().enumerate().any(|(k, c)| single_eq[k + 1..].contains(c));
        if contradictory {
            return Err("two values required of one column at once (an intersection)".into());
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
            && self.lex.name_column(self.table_of(*c)) != Some(*c)
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
                if self.question_asks_value() && self.plan.limit == Some(1) {
                    // "What is the highest age?": the value itself.
                    self.plan.select.push(Sel::Agg(if desc { Agg::Max } else { Agg::Min }, c));
                    self.plan.order.retain(|(k, _)| *k != OrderKey::Col(c));
                    self.plan.limit = None;
                } else {
                    self.default_projection()?;
                }
            } else if !self.plan.group_by.is_empty() || self.bucket.is_some() {
                // Grouped: the groups themselves (added below).
            } else {
                self.default_projection()?;
            }
        }

        // Columns listed with a count or an aggregate, or ordered by a count: per value of those columns
        // ("countries and the number of members from each", "the governor most often").
        let aggregated =
            self.plan.select.iter().any(|x| matches!(x, Sel::Agg(..) | Sel::Count | Sel::CountDistinct(_)));
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
                self.plan.group_by = plain;
                self.plan.distinct = false;
                self.doubt(F::GroupedListed, 1.0, "grouped by the listed columns");
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
                self.doubt(F::GroupedListed, 1.0, "a measure per period summed");
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
                if !already {
                    match self.lex.name_column(t) {
                        Some(n) => shown.push(Sel::Col(n)),
                        None => {
                            for g in &group_cols {
                                shown.push(Sel::Col(*g));
                            }
                            self.doubt(F::GroupsByKey, 0.85, "groups shown by their key");
                        }
                    }
                }
            } else {
                for g in &group_cols {
                    if !self.plan.select.contains(&Sel::Col(*g)) {
                        shown.push(Sel::Col(*g));
                    }
                }
            }
            let mut sel = shown;
            sel.append(&mut self.plan.select);
            self.plan.select = sel;
            let computes =
                self.plan.select.iter().any(|x| matches!(x, Sel::Agg(..) | Sel::Count | Sel::CountDistinct(_)));
            if !computes && !counted_order && self.plan.having.is_none() {
                // "for each X" with nothing computed per group.
                self.doubt(F::GroupNoAgg, 0.7, "grouping without an aggregate");
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
                    None => self.doubt(F::OrderNoKey, 0.6, "an order without a key"),
                },
                k => {
                    if !order.iter().any(|(x, _)| *x == k) {
                        order.push((k, d));
                    }
                }
            }
        }
        self.plan.order = order;
        Ok(())
    }

    /// "What is the highest X" asks for the value; "Which/Who … the highest X" asks for the row.
    fn question_asks_value(&self) -> bool {
        let first = self.items.iter().find(|it| !matches!(it.kind, ItemKind::Free | ItemKind::Punct));
        match first {
            Some(it) => it.text == "what" || self.korean,
            None => false,
        }
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
            self.doubt(F::DefaultName, 0.9, "the table named like its column: showing that column");
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
            self.doubt(F::EveryColumn, 0.9, "every column");
            return Ok(());
        }
        if let Some(c) = self.lex.name_column(t) {
            self.plan.select.push(Sel::Col(c));
            self.doubt(F::DefaultName, 0.78, "no column named: showing the name");
            return Ok(());
        }
        self.plan.select.push(Sel::Star);
        self.doubt(F::DefaultStar, 0.6, "no column named: showing every column");
        Ok(())
    }

    fn penalties(&mut self) {
        // "the phone numbers of all customers and suppliers": rows of two tables together (a union), not written.
        for i in 0..self.items.len() {
            if !self.used[i]
                && let Some(t) = self.table_at(i)
                && t != self.subject
                && let Some(a) = self.prev_sig(i).filter(|&a| self.cue_at(a) == Some(Cue::And))
                && self.prev_sig(a).and_then(|b| self.table_at(b)).is_some_and(|u| u != t)
            {
                self.doubt(F::UTableMentioned, 0.6, "two tables listed together");
            }
        }
        let mut words = Vec::new();
        for (i, it) in self.items.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let verb = it.text.ends_with("ed") || it.text.ends_with("ing");
            let (factor, feature) = match &it.kind {
                ItemKind::Word if verb => (0.85, Some(F::UVerb)),
                ItemKind::Word => (0.75, Some(F::UWord)),
                ItemKind::Num(_) => (0.5, Some(F::UNum)),
                ItemKind::Value { .. } => (0.5, Some(F::UValue)),
                ItemKind::Schema { .. } => match self.res[i] {
                    Res::Table(t) if t == self.subject || self.plan.extra_tables.contains(&t) => (1.0, None),
                    Res::Table(t) if self.mentioned.contains(&t) => (0.85, Some(F::UTableMentioned)),
                    Res::Col(_) => (0.6, Some(F::UCol)),
                    _ => (0.8, Some(F::UTableOther)),
                },
                ItemKind::Cue(c) => match c {
                    Cue::Count | Cue::Agg(_) | Cue::Cmp { .. } | Cue::CmpPost { .. } | Cue::Between => {
                        (0.5, Some(F::UCueStrong))
                    }
                    Cue::Super { .. } | Cue::MostCommon { .. } | Cue::Like(_) | Cue::Date(_) => {
                        (0.5, Some(F::UCueSuper))
                    }
                    Cue::OrderBy | Cue::Top | Cue::Bottom => (0.6, Some(F::UCueOrder)),
                    Cue::Not => (0.5, Some(F::UNot)),
                    Cue::Dir { .. } | Cue::Alpha | Cue::Distinct => (0.85, Some(F::UCueWeak)),
                    Cue::Each => (0.7, Some(F::UEach)),
                    _ => (1.0, None),
                },
                _ => (1.0, None),
            };
            if let Some(f) = feature {
                words.push(it.text.clone());
                self.conf *= factor;
                self.feats[f as usize] += 1.0;
            }
        }
        if !words.is_empty() {
            self.doubts.push(format!("not understood: {}", words.join(", ")));
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
        self.feats[F::Aggregates as usize] =
            p.select.iter().filter(|x| matches!(x, Sel::Agg(..) | Sel::Count | Sel::CountDistinct(_))).count() as f32;
        self.feats[F::Words as usize] = content as f32 / 10.0;
    }
}

fn number_word(w: &str) -> Option<f64> {
    let v = match w {
        "one" => 1.0,
        "two" => 2.0,
        "three" => 3.0,
        "four" => 4.0,
        "five" => 5.0,
        "six" => 6.0,
        "seven" => 7.0,
        "eight" => 8.0,
        "nine" => 9.0,
        "ten" => 10.0,
        "twice" => 2.0,
        "once" => 1.0,
        _ => return None,
    };
    Some(v)
}

/// Verbs that start a request for columns: a later sentence starting with one names the output.
/// Words between a count and what is counted that only say "sorts of": "how many kinds of different ratings".
const KIND_WORDS: &[&str] = &["kind", "kinds", "type", "types", "sort", "sorts"];

const PROJECTION_VERBS: &[&str] =
    &["list", "show", "give", "return", "display", "find", "report", "print", "tell", "provide", "output", "include"];

/// "first and last name", "low and high estimates": a word coordinated with a column mention names the sibling
/// column of the same table (`first_name` beside `last_name`).
fn expand_ellipsis(items: &mut [Item], lex: &Lexicon) {
    for j in 2..items.len() {
        let and = is_cue(&items[j - 1], |c| *c == Cue::And) || items[j - 1].text == ",";
        if !and {
            continue;
        }
        let ItemKind::Schema { cols, .. } = &items[j].kind else { continue };
        let x = &items[j - 2];
        if !matches!(x.kind, ItemKind::Free | ItemKind::Word) || x.text.contains(' ') {
            continue;
        }
        let xs = stem_word(&x.text);
        let mut found = Vec::new();
        for &(c, score) in cols {
            let info = &lex.cols[c];
            if info.stems.len() < 2 {
                continue;
            }
            let mut want = info.stems.clone();
            want[0] = xs.clone();
            if let Some(&c2) = lex.tables[info.table].cols.iter().find(|&&k| lex.cols[k].stems == want) {
                found.push((c2, score));
            }
        }
        if !found.is_empty() {
            items[j - 2].kind = ItemKind::Schema { tables: vec![], cols: found };
        }
    }
}

pub(crate) fn interpret(items: &[Item], lex: &Lexicon, today: Option<Ymd>, korean: bool) -> Result<Interp, String> {
    let mut owned = items.to_vec();
    expand_ellipsis(&mut owned, lex);
    let items = owned.as_slice();
    let mut cx = Ctx {
        lex,
        items,
        used: vec![false; items.len()],
        res: vec![Res::None; items.len()],
        conf: 1.0,
        feats: [0.0; N],
        doubts: Vec::new(),
        subject: 0,
        mentioned: Vec::new(),
        today,
        plan: Plan::default(),
        filters: Vec::new(),
        korean,
        proj_from: None,
        super_col: None,
        group_table: None,
        bucket: None,
        counted: Vec::new(),
        by_role: Vec::new(),
    };
    // A later sentence starting with a projection verb names the output columns.
    for (i, it) in items.iter().enumerate() {
        if it.kind == ItemKind::Stop {
            let next = items[i + 1..].iter().position(|x| !matches!(x.kind, ItemKind::Punct)).map(|k| i + 1 + k);
            if let Some(n) = next {
                let w = items[n].text.as_str();
                let w2 = items.get(n + 1).map(|x| x.text.as_str()).unwrap_or("");
                if PROJECTION_VERBS.contains(&w) || (w == "please" && PROJECTION_VERBS.contains(&w2)) {
                    cx.proj_from = Some(n);
                }
            }
        }
    }
    cx.resolve()?;
    cx.resolve_generic_words();
    cx.order_pass();
    cx.top_pass();
    cx.superlative_pass();
    cx.date_pass();
    cx.comparison_pass();
    cx.like_pass();
    cx.value_pass();
    cx.existence_pass();
    cx.group_pass();
    cx.projection_pass();
    cx.finish()?;
    cx.penalties();
    cx.plan.from = cx.subject;
    cx.plan.bucket = cx.bucket;
    Ok(Interp { plan: cx.plan, conf: cx.conf, feats: cx.feats, doubts: cx.doubts })
}
