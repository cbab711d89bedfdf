//! Items → a query plan. The passes, in order: decide which mentions are tables and which are columns, choose the
//! subject table, resolve every column and value to one schema column, then read the constructs — ordering, top-N
//! and superlatives, "most common", grouping, comparisons, ranges, LIKE, dates, values, existence — and finally the
//! projection from what is left. Every item a construct uses is marked; what stays unexplained lowers the
//! confidence, as does every guess (an ambiguous column, a default projection, a join).

use super::dates::Ymd;
use super::lexicon::Lexicon;
use super::link::{Item, ItemKind};
use super::sql::{Bucket, Cond, Lit, OrderKey, Plan, Sel};
use super::text::stem_word;
use super::vocab::{Agg, Concept, Cue, DateCue, LikeKind, Op};
use crate::schema::TypeClass;

pub(crate) struct Interp {
    pub plan: Plan,
    pub conf: f32,
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
}

fn is_cue(item: &Item, f: impl Fn(&Cue) -> bool) -> bool {
    matches!(&item.kind, ItemKind::Cue(c) if f(c))
}

/// Items that only link others: skipped when looking for a neighbour.
fn is_filler(item: &Item) -> bool {
    matches!(item.kind, ItemKind::Free | ItemKind::Punct)
        || is_cue(item, |c| matches!(c, Cue::Free | Cue::Equal | Cue::Filter | Cue::Has | Cue::Which))
}

impl<'a> Ctx<'a> {
    fn doubt(&mut self, factor: f32, why: impl Into<String>) {
        self.conf *= factor;
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

    fn is_numeric(&self, c: usize) -> bool {
        matches!(self.lex.cols[c].class, TypeClass::Integer | TypeClass::Real)
    }

    /// A Not cue just before item `i` (within two significant items); marks it used.
    fn negated_before(&mut self, i: usize) -> bool {
        let mut j = i;
        for _ in 0..3 {
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
            if !is_filler(it) && !is_cue(it, |c| matches!(c, Cue::Not)) {
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
        let d = std::iter::once(self.subject).chain(self.mentioned.iter().copied()).filter_map(|m| self.hops(m, t)).min()?;
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
            self.doubt(0.8, format!("'{what}' could be several columns"));
        }
        if key < 0.5 {
            self.doubt(0.85, format!("'{what}' matches a column only loosely"));
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
        // Subject: the first table not introduced by "each"/"per" and not the object of a superlative (English);
        // the last such table in Korean, whose head noun comes last.
        let mut tables: Vec<(usize, usize)> = Vec::new();
        for (i, it) in self.items.iter().enumerate() {
            if kinds[i] == Some(true)
                && let ItemKind::Schema { tables: ts, .. } = &it.kind
                && let Some(best) = ts.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|x| x.0)
            {
                tables.push((i, best));
            }
        }
        for &(_, t) in &tables {
            if !self.mentioned.contains(&t) {
                self.mentioned.push(t);
            }
        }
        let prev_cue = |i: usize| self.prev_sig(i).and_then(|j| self.cue_at(j));
        let eligible: Vec<usize> = tables
            .iter()
            .filter(|(i, _)| {
                !matches!(prev_cue(*i), Some(Cue::Each | Cue::By | Cue::Super { .. } | Cue::MostCommon { .. }))
            })
            .map(|x| x.1)
            .collect();
        let subject = if self.korean { eligible.last().copied() } else { eligible.first().copied() }
            .or_else(|| tables.first().map(|x| x.1));
        self.subject = match subject {
            Some(t) => t,
            None => self.subject_by_coverage(&kinds).ok_or("no table of the schema is mentioned")?,
        };
        if !self.mentioned.contains(&self.subject) {
            self.mentioned.insert(0, self.subject);
        }
        // Resolve.
        for i in 0..self.items.len() {
            match (&self.items[i].kind, kinds[i]) {
                (ItemKind::Schema { tables, .. }, Some(true)) => {
                    let best = tables.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|x| x.0);
                    if let Some(t) = best {
                        self.res[i] = Res::Table(t);
                    }
                }
                (ItemKind::Schema { cols, .. }, Some(false)) => {
                    let cols = cols.clone();
                    let text = self.items[i].text.clone();
                    match self.pick_col(&cols, &text) {
                        Some(c) => self.res[i] = Res::Col(c),
                        None => self.doubt(0.5, format!("'{text}' is a column no join reaches")),
                    }
                }
                _ => {}
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
                        best[t] = best[t].max(s);
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
            self.doubt(0.75, format!("'{}' appears in several columns", self.items[i].text));
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
                    if info.stems.iter().any(|w| w == s) && !info.is_pk && !info.is_fk {
                        if concept == Concept::Time
                            || matches!(info.class, TypeClass::Integer | TypeClass::Real | TypeClass::Other)
                            || concept == Concept::Age
                        {
                            return Some(c);
                        }
                    }
                }
            }
            if concept == Concept::Time {
                if let Some(&c) = self.lex.tables[t].cols.iter().find(|&&c| self.lex.cols[c].class == TypeClass::Temporal)
                {
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
            if let Some(j) = self.next_sig(i) {
                if let Some(c) = self.col_at(j) {
                    key = Some(OrderKey::Col(c));
                    self.used[j] = true;
                    end = j;
                } else if let Some(Cue::Agg(a)) = self.cue_at(j)
                    && let Some(k) = self.next_sig(j)
                    && let Some(c) = self.col_at(k)
                {
                    key = Some(OrderKey::Agg(a, c));
                    self.used[j] = true;
                    self.used[k] = true;
                    end = k;
                } else if let Some((t, k)) = self.count_target(j) {
                    key = Some(OrderKey::Count);
                    self.mark_range(j, k);
                    self.count_group(t);
                    end = k;
                } else if matches!(self.cue_at(j), Some(Cue::Dir { .. } | Cue::Alpha | Cue::OrderBy)) {
                    // "in descending order of X": the next cue carries the key.
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
                            && self.lex.cols[*c].class != TypeClass::Integer
                            && self.lex.cols[*c].class != TypeClass::Real
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
            if let Cue::Dir { concept: Concept::Age, desc: d } = cue
                && let Some(OrderKey::Col(c)) = &key
                && !self.is_numeric(*c)
            {
                desc = !d;
            }
            match key {
                Some(key) => self.plan.order.push((key, desc)),
                None => {
                    // "in alphabetical order" / "in descending order": of the first projected column, decided later.
                    self.plan.order.push((OrderKey::Col(usize::MAX), desc));
                }
            }
        }
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
                self.doubt(0.5, "the counted entity has no single-column key");
            }
        } else {
            self.doubt(0.7, "counting the subject per itself");
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
                _ => continue,
            };
            self.used[i] = true;
            let limit = self.top_n_before(i).unwrap_or(1);
            let next = self.next_sig(i);
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
                self.doubt(0.4, "'most common' of what");
                continue;
            }
            // A measure named by the adjective ("oldest" → age) wins over the next word, which is then usually
            // the entity ("the oldest singer").
            if let Some(c) = self.concept_col(concept) {
                let reversed = concept == Concept::Age && !self.is_numeric(c);
                self.plan.order.push((OrderKey::Col(c), desc != reversed));
                self.plan.limit = Some(limit);
                self.super_col = Some((c, desc != reversed));
                continue;
            }
            let Some(j) = next else {
                self.doubt(0.5, "a superlative without a measure");
                continue;
            };
            if let Some(c) = self.col_at(j) {
                self.used[j] = true;
                self.plan.order.push((OrderKey::Col(c), desc));
                self.plan.limit = Some(limit);
                self.super_col = Some((c, desc));
                continue;
            }
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
                    self.doubt(0.6, "an aggregate superlative over the subject itself");
                }
                continue;
            }
            if let Some((t, k)) = self.count_target(j) {
                self.mark_range(j, k);
                self.plan.order.push((OrderKey::Count, desc));
                self.plan.limit = Some(limit);
                self.count_group(t);
                continue;
            }
            if matches!(self.items[j].text.as_str(), "times" | "often" | "frequently" | "번" | "회") {
                self.used[j] = true;
                self.plan.order.push((OrderKey::Count, desc));
                self.plan.limit = Some(limit);
                if self.plan.group_by.is_empty() {
                    if let Some(pk) = self.lex.pk(self.subject) {
                        self.plan.group_by.push(pk);
                        self.group_table = Some(self.subject);
                    }
                }
                continue;
            }
            self.doubt(0.5, "a superlative without a measure");
        }
    }

    /// "top 5" / "상위 5": the number, marking the cue and number used.
    fn top_n_before(&mut self, i: usize) -> Option<u64> {
        let p = self.prev_sig(i)?;
        let n = self.num_at(p)?;
        let q = self.prev_sig(p);
        let top = q.filter(|&q| matches!(self.cue_at(q), Some(Cue::Top | Cue::Bottom)));
        if let Some(q) = top {
            self.used[q] = true;
        }
        if n >= 1.0 && n <= 10_000.0 && n.fract() == 0.0 && (top.is_some() || self.korean) {
            self.used[p] = true;
            return Some(n as u64);
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
                    self.doubt(0.7, "top N without a measure");
                }
            }
        }
    }

    fn group_pass(&mut self) {
        let has_agg = self.items.iter().enumerate().any(|(i, it)| {
            !self.used[i] && is_cue(it, |c| matches!(c, Cue::Count | Cue::Agg(_)))
        }) || self.plan.order.iter().any(|(k, _)| matches!(k, OrderKey::Count | OrderKey::Agg(..)));
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let by = match self.cue_at(i) {
                Some(Cue::Each) => false,
                Some(Cue::By) => true,
                _ => continue,
            };
            let Some(j) = self.next_sig(i) else {
                if !by {
                    self.used[i] = true;
                }
                continue;
            };
            if let Some(b) = self.bucket_word(j) {
                if let Some(c) = self.concept_col(Concept::Time) {
                    self.used[i] = true;
                    self.used[j] = true;
                    self.bucket = Some((c, b));
                    continue;
                }
            }
            if let Some(c) = self.col_at(j) {
                if by && !has_agg {
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
                if t == self.subject && !has_agg {
                    // "for each department, its name and budget": one row per subject row already.
                    continue;
                }
                if t == self.subject {
                    if let Some(pk) = self.lex.pk(t) {
                        if !self.plan.group_by.contains(&pk) {
                            self.plan.group_by.push(pk);
                        }
                        self.group_table = Some(t);
                    }
                    continue;
                }
                match self.lex.pk(t) {
                    Some(pk) => {
                        if !self.plan.group_by.contains(&pk) {
                            self.plan.group_by.push(pk);
                        }
                        self.group_table = Some(t);
                        if !self.plan.extra_tables.contains(&t) {
                            self.plan.extra_tables.push(t);
                        }
                    }
                    None => self.doubt(0.5, "grouping by a table without a single-column key"),
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
        match t {
            "month" | "months" | "monthly" | "월" => Some(Bucket::Month),
            "year" | "years" | "yearly" | "annual" | "annually" | "연도" | "년도" | "년" | "연" => Some(Bucket::Year),
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
        let table_before =
            if post { self.prev_sig(ni).and_then(|k| self.table_at(k).map(|t| (k, t))) } else { None };
        if let Some((k, t)) = table_after.or(table_before) {
            self.used[i] = true;
            self.used[ni] = true;
            self.used[k] = true;
            self.having(op, n, t);
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
        let col = match before {
            Some((k, c)) => {
                self.used[k] = true;
                Some(c)
            }
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
            self.doubt(0.5, "a comparison without a column");
            return;
        };
        self.used[i] = true;
        self.used[ni] = true;
        let reversed = concept == Concept::Age && !self.is_numeric(c);
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
                        self.doubt(0.5, "a range without a column");
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
            Cond::Range(c, Lit::Date(format!("{:04}-01-01", lo as i64)), Lit::Date(format!("{:04}-01-01", hi as i64 + 1)))
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
            let Some(j) = self.next_sig(i) else { continue };
            let text = match &self.items[j].kind {
                ItemKind::Value { .. } | ItemKind::Word => self.items[j].text.clone(),
                ItemKind::Schema { .. } if kind != LikeKind::Contains || self.items[j].text.len() <= 2 => {
                    self.items[j].text.clone()
                }
                _ => continue,
            };
            let neg = self.negated_before(i);
            let col = self.prev_sig(i).and_then(|k| self.col_at(k).map(|c| (k, c)));
            let c = match col {
                Some((k, c)) if !self.used[k] => {
                    self.used[k] = true;
                    c
                }
                _ => match self.lex.name_column(self.subject) {
                    Some(c) => {
                        self.doubt(0.8, "LIKE on the name column by default");
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
                self.doubt(0.3, "a relative date without today's date");
                self.used[i] = true;
                continue;
            };
            let (from, to, extra) = match d {
                DateCue::LastDays => {
                    let Some(j) = self.next_sig(i) else { continue };
                    let Some(n) = self.num_at(j) else { continue };
                    if n < 1.0 || n > 36_600.0 || n.fract() != 0.0 {
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
                    (today.add_days(-(days - 1)), today.add_days(1), ())
                }
                DateCue::LastMonth => {
                    let this = today.first_of_month();
                    (this.add_months(-1), this, ())
                }
                DateCue::ThisMonth => {
                    let this = today.first_of_month();
                    (this, this.add_months(1), ())
                }
                DateCue::LastYear => {
                    let y = Ymd { y: today.y - 1, m: 1, d: 1 };
                    (y, Ymd { y: today.y, m: 1, d: 1 }, ())
                }
                DateCue::ThisYear => (Ymd { y: today.y, m: 1, d: 1 }, Ymd { y: today.y + 1, m: 1, d: 1 }, ()),
                DateCue::Today => (today, today.add_days(1), ()),
                DateCue::Yesterday => (today.add_days(-1), today, ()),
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
                            self.doubt(0.8, "a month without a year");
                            if m <= today.m { today.y } else { today.y - 1 }
                        }
                    };
                    let from = Ymd { y, m, d: 1 };
                    (from, from.add_months(1), ())
                }
            };
            let _ = extra;
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
            if (unit == "년" || unit == "년도" || unit == "연도") && n.fract() == 0.0 && (1000.0..=2999.0).contains(&n) {
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
            self.doubt(0.4, "a date without a date column");
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
            // A column named just before: "whose country is France", "with name 'X'".
            let prev = self.prev_sig(i);
            let near = prev.and_then(|p| self.col_at(p).map(|c| (p, c)));
            // A value after "A or": the same column as A.
            let chained = prev
                .filter(|&p| matches!(self.cue_at(p), Some(Cue::Or | Cue::And)))
                .and_then(|_| last_value_col)
                .map(|(_, c)| c);
            let neg = self.negated_before(i);
            let picked = if cands_empty {
                match (near, chained) {
                    (Some((p, c)), _) => {
                        self.used[p] = true;
                        Some((c, self.items[i].text.clone()))
                    }
                    (None, Some(c)) => Some((c, self.items[i].text.clone())),
                    (None, None) => {
                        // A quoted name: "named 'X'", "the film 'X'".
                        match self.lex.name_column(self.subject) {
                            Some(c) if quoted => {
                                self.doubt(0.75, "a quoted value found in no column");
                                Some((c, self.items[i].text.clone()))
                            }
                            _ => None,
                        }
                    }
                }
            } else {
                let near_col = near.map(|(_, c)| c).or(chained);
                let v = self.pick_value(i, near_col);
                if let (Some((p, c)), Some((vc, _))) = (near, &v)
                    && c == *vc
                {
                    self.used[p] = true;
                }
                v
            };
            let Some((c, v)) = picked else {
                self.doubt(0.5, format!("'{}' matches no column", self.items[i].text));
                continue;
            };
            self.used[i] = true;
            last_value_col = Some((i, c));
            let op = if neg { Op::Ne } else { Op::Eq };
            self.filters.push((i, Cond::Cmp(c, op, Lit::Text(v))));
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
            let Some(p) = i.checked_sub(1) else { continue };
            // "have", "with", "has no" just before the table (fillers allowed in between).
            let mut k = p;
            let mut cue_seen = false;
            let mut neg = false;
            loop {
                let it = &self.items[k];
                if is_cue(it, |c| matches!(c, Cue::Has | Cue::Filter)) {
                    cue_seen = true;
                } else if is_cue(it, |c| *c == Cue::Not) {
                    neg = true;
                } else if !matches!(it.kind, ItemKind::Free | ItemKind::Punct) {
                    break;
                }
                if k == 0 {
                    break;
                }
                k -= 1;
            }
            if !cue_seen {
                continue;
            }
            // Only when no column of that table is used elsewhere (then a join is needed instead).
            let other_cols_used = self.res.iter().enumerate().any(|(j, r)| {
                matches!(r, Res::Col(c) if self.lex.cols[*c].table == t && j != i)
            });
            if other_cols_used {
                continue;
            }
            let Some((sc, oc)) = self.direct_link(self.subject, t) else { continue };
            self.used[i] = true;
            if neg {
                for j in k..i {
                    if is_cue(&self.items[j], |c| *c == Cue::Not) {
                        self.used[j] = true;
                    }
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

    fn projection_pass(&mut self) {
        let start = self.proj_from.unwrap_or(0);
        let mut pending_aggs: Vec<(usize, Agg)> = Vec::new();
        let mut pending_count: Option<usize> = None;
        let mut pending_distinct: Option<usize> = None;
        let mut which_pending = false;
        let mut last_table: Option<usize> = None;
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
                ItemKind::Cue(Cue::Count) => pending_count = Some(i),
                ItemKind::Cue(Cue::Distinct) => pending_distinct = Some(i),
                ItemKind::Cue(Cue::Which) => which_pending = true,
                ItemKind::Cue(Cue::Star) => {
                    self.used[i] = true;
                    self.plan.select.push(Sel::Star);
                }
                ItemKind::Stop => {
                    which_pending = false;
                }
                _ => {}
            }
            if let Some(c) = self.col_at(i) {
                self.used[i] = true;
                which_pending = false;
                if !pending_aggs.is_empty() {
                    for (k, a) in pending_aggs.drain(..) {
                        self.used[k] = true;
                        self.plan.select.push(Sel::Agg(a, c));
                    }
                    pending_count = None;
                } else if let Some(k) = pending_count.take() {
                    self.used[k] = true;
                    if let Some(d) = pending_distinct.take() {
                        self.used[d] = true;
                    }
                    self.plan.select.push(Sel::CountDistinct(c));
                } else {
                    if let Some(d) = pending_distinct.take() {
                        self.used[d] = true;
                        self.plan.distinct = true;
                    }
                    self.plan.select.push(Sel::Col(c));
                }
                continue;
            }
            if let Some(t) = self.table_at(i) {
                last_table = Some(t);
                if let Some(k) = pending_count.take() {
                    self.used[k] = true;
                    self.used[i] = true;
                    if let Some(d) = pending_distinct.take() {
                        self.used[d] = true;
                    }
                    self.count_of(t);
                    continue;
                }
                if which_pending {
                    which_pending = false;
                    if t != self.subject || self.plan.select.is_empty() {
                        match self.lex.name_column(t) {
                            Some(c) => {
                                self.used[i] = true;
                                self.plan.select.push(Sel::Col(c));
                            }
                            None => {
                                if let Some(pk) = self.lex.pk(t) {
                                    self.used[i] = true;
                                    self.plan.select.push(Sel::Col(pk));
                                    self.doubt(0.8, "an entity without a name column");
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
        for (k, _) in pending_aggs {
            if !self.used[k] {
                // "What is the highest age" style aggregates are read by the superlative; an aggregate without a
                // column is unexplained.
                self.doubt(0.6, "an aggregate without a column");
            }
        }
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

        // Having without a group: grouped by the projected column(s).
        if self.plan.having.is_some() && self.plan.group_by.is_empty() {
            let cols: Vec<usize> = self
                .plan
                .select
                .iter()
                .filter_map(|s| match s {
                    Sel::Col(c) => Some(*c),
                    _ => None,
                })
                .collect();
            if cols.is_empty() {
                match self.lex.pk(self.subject) {
                    Some(pk) => {
                        self.plan.group_by.push(pk);
                        self.group_table = Some(self.subject);
                    }
                    None => return Err("a count condition without anything to group".into()),
                }
            } else {
                self.plan.group_by = cols;
            }
        }

        // Projection defaults.
        let has_agg_sel = self.plan.select.iter().any(|s| matches!(s, Sel::Agg(..) | Sel::Count | Sel::CountDistinct(_)));
        if self.plan.select.is_empty() {
            if let Some((c, desc)) = self.super_col.filter(|_| self.plan.group_by.is_empty()) {
                if self.question_asks_value() {
                    // "What is the highest age?": the value itself.
                    self.plan.select.push(Sel::Agg(if desc { Agg::Max } else { Agg::Min }, c));
                    self.plan.order.retain(|(k, _)| *k != OrderKey::Col(c));
                    self.plan.limit = None;
                } else {
                    self.default_projection()?;
                }
            } else if !self.plan.group_by.is_empty() {
                // Grouped: the groups themselves (added below).
            } else if self.bucket.is_none() {
                self.default_projection()?;
            }
        }
        // Grouped queries show their groups; a measure without an aggregate is summed.
        if !self.plan.group_by.is_empty() {
            let group_cols = self.plan.group_by.clone();
            let mut shown: Vec<Sel> = Vec::new();
            if let Some(t) = self.group_table {
                let already = self.plan.select.iter().any(|s| matches!(s, Sel::Col(c) if self.lex.cols[*c].table == t));
                if !already {
                    match self.lex.name_column(t) {
                        Some(n) => {
                            shown.push(Sel::Col(n));
                        }
                        None => {
                            for g in &group_cols {
                                shown.push(Sel::Col(*g));
                            }
                            self.doubt(0.85, "groups shown by their key");
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
            if !has_agg_sel && self.plan.order.iter().all(|(k, _)| !matches!(k, OrderKey::Count | OrderKey::Agg(..))) {
                let all_groups = self.plan.select.iter().all(|s| match s {
                    Sel::Col(c) => group_cols.contains(c) || Some(self.lex.cols[*c].table) == self.group_table,
                    _ => true,
                });
                if all_groups && self.plan.having.is_none() {
                    // "for each X" with nothing computed per group: a list of distinct X.
                    self.doubt(0.8, "grouping without an aggregate");
                }
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
                    None => self.doubt(0.6, "an order without a key"),
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
        if let Some(c) = self.lex.name_column(t) {
            self.plan.select.push(Sel::Col(c));
            self.doubt(0.8, "no column named: showing the name");
            return Ok(());
        }
        self.plan.select.push(Sel::Star);
        self.doubt(0.6, "no column named: showing every column");
        Ok(())
    }

    fn penalties(&mut self) {
        let mut words = Vec::new();
        for (i, it) in self.items.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let factor = match &it.kind {
                ItemKind::Word => 0.75,
                ItemKind::Num(_) => 0.5,
                ItemKind::Value { .. } => 0.5,
                ItemKind::Schema { .. } => match self.res[i] {
                    Res::Table(t) if t == self.subject || self.plan.extra_tables.contains(&t) => 1.0,
                    Res::Table(t) if self.mentioned.contains(&t) => 0.85,
                    Res::Col(_) => 0.6,
                    _ => 0.8,
                },
                ItemKind::Cue(c) => match c {
                    Cue::Count | Cue::Agg(_) | Cue::Cmp { .. } | Cue::CmpPost { .. } | Cue::Between => 0.5,
                    Cue::Super { .. } | Cue::MostCommon { .. } | Cue::Like(_) | Cue::Date(_) => 0.5,
                    Cue::OrderBy | Cue::Top | Cue::Bottom => 0.6,
                    Cue::Not => 0.5,
                    Cue::Dir { .. } | Cue::Alpha | Cue::Distinct => 0.85,
                    Cue::Each => 0.7,
                    _ => 1.0,
                },
                _ => 1.0,
            };
            if factor < 1.0 {
                words.push(it.text.clone());
                self.conf *= factor;
            }
        }
        if !words.is_empty() {
            self.doubts.push(format!("not understood: {}", words.join(", ")));
        }
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
const PROJECTION_VERBS: &[&str] =
    &["list", "show", "give", "return", "display", "find", "report", "print", "tell", "provide", "output", "include"];

pub(crate) fn interpret(items: &[Item], lex: &Lexicon, today: Option<Ymd>, korean: bool) -> Result<Interp, String> {
    let mut cx = Ctx {
        lex,
        items,
        used: vec![false; items.len()],
        res: vec![Res::None; items.len()],
        conf: 1.0,
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
    Ok(Interp { plan: cx.plan, conf: cx.conf, doubts: cx.doubts })
}
