//! Items → a query plan. The passes, in order: decide which mentions are tables and which are columns, choose the
//! subject table, resolve every column and value to one schema column, then read the constructs — ordering, top-N
//! and superlatives, "most common", grouping, comparisons, ranges, LIKE, dates, values, existence — and finally the
//! projection from what is left. Every item a construct uses is marked; what stays unexplained lowers the
//! confidence, as does every guess (an ambiguous column, a default projection, a join).

mod comparison;
mod date;
mod existence;
mod finish;
mod generic;
mod group;
mod like;
mod order;
mod penalties;
mod projection;
mod resolve;
mod superlative;
mod top;
mod value;

use super::dates::Ymd;
use super::doubt::{F, Features, N};
use super::lexicon::Lexicon;
use super::link::{Item, ItemKind};
use super::sql::{Bucket, Cond, Plan};
use super::text::stem_word;
use super::vocab::{Concept, Cue};
use crate::schema::TypeClass;

pub(crate) struct Interp {
    pub plan: Plan,
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
    /// "each region with its area", "상품별 가격": one row per subject row, shown by its name — when the columns
    /// asked for come after this item ("the date and venue of each workshop" asks for those columns only).
    each_row: Option<usize>,
    /// An aggregate compared with is said to be over every row ("전체 상품 평균", "the average price of all
    /// products"), not only the rows the other conditions keep.
    agg_over_all: bool,
}

/// English words naming a level of a hierarchy before its table ("top-level", "parent", "sub category"), read in
/// `finish` (`hierarchy_level`) and skipped by the grouping pass on its way to the table.
const LEVEL_WORDS: &[&str] = &["top", "level", "parent", "main", "upper", "sub"];

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
    /// Records a doubt: its feature counts once more (its factor in `doubt::FACTORS` lowers the confidence).
    fn doubt(&mut self, feature: F, why: impl Into<String>) {
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

    /// A yes/no column: declared boolean, or a whole number named as a state (`active`, `is_deleted`, `has_vat`,
    /// `marketing_opt_in`, `paid_flag`).
    fn is_flag(&self, c: usize) -> bool {
        const STATES: &[&str] = &[
            "active",
            "enabled",
            "disabled",
            "deleted",
            "verified",
            "visible",
            "available",
            "published",
            "archived",
            "approved",
            "valid",
            "blocked",
            "locked",
            "banned",
            "subscribed",
            "confirmed",
        ];
        let col = &self.lex.cols[c];
        let s = &col.stems;
        match col.class {
            TypeClass::Boolean => true,
            TypeClass::Integer if !col.is_pk && !col.is_fk => {
                (s.len() == 1 && STATES.iter().any(|w| stem_word(w) == s[0]))
                    || s.first().is_some_and(|w| w == "is" || w == "has")
                    || s.last().is_some_and(|w| w == "flag")
                    || s.windows(2).any(|w| w[0] == "opt" && (w[1] == "in" || w[1] == "out"))
            }
            _ => false,
        }
    }

    /// A table with a foreign key to itself (`categories.parent_id`): its rows form a hierarchy.
    fn self_referencing(&self, t: usize) -> bool {
        self.parent_edge(t).is_some()
    }

    /// A hierarchy's parent column and the key it points at (`categories.parent_id`, `categories.category_id`).
    fn parent_edge(&self, t: usize) -> Option<(usize, usize)> {
        self.lex
            .edges
            .iter()
            .find(|e| self.table_of(e.from_col) == t && self.table_of(e.to_col) == t)
            .map(|e| (e.from_col, e.to_col))
    }

    fn is_numeric(&self, c: usize) -> bool {
        matches!(self.lex.cols[c].class, TypeClass::Integer | TypeClass::Real)
    }

    /// A Not cue just before item `i` (within two significant items); marks it used.
    fn negated_before(&mut self, i: usize) -> bool {
        // Korean negates after the word: "반품이 아닌 주문", "VIP가 아닌 고객".
        if self.korean {
            let Some(k) = self.next_sig(i) else { return false };
            if is_cue(&self.items[k], |c| *c == Cue::Not) && !self.used[k] && self.items[k].text != "없는" {
                self.used[k] = true;
                return true;
            }
            return false;
        }
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
                // "never ordered in a store", "without a store order": the rows' existence is denied, not the value.
                if matches!(it.text.as_str(), "never" | "without") {
                    return false;
                }
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
                && let Some(&c) = self.dates_of(t).first()
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
        // One describing word may come between: "the most registered students"; or a value of the rows counted,
        // which stays a filter (`mark_range` leaves values to the value pass): "the most store orders".
        if let ItemKind::Value { cands, quoted: false } = &self.items[k].kind {
            let n = self.next_sig(k)?;
            let t = self.table_at(n)?;
            return cands.iter().any(|(c, _, _)| self.table_of(*c) == t).then_some((t, n));
        }
        if self.items[k].kind == ItemKind::Word {
            k = self.next_sig(k)?;
        }
        let t = self.table_at(k)?;
        Some((t, k))
    }

    /// The column an aggregate cue at `j` is of, named after it: (the item of a table naming the column's rows, when
    /// one stands between — "the highest average (product) price", "total order amount" —, the column's item, the
    /// column).
    fn agg_col_after(&self, j: usize) -> Option<(Option<usize>, usize, usize)> {
        let k = self.next_sig(j)?;
        if let Some(c) = self.col_at(k) {
            return Some((None, k, c));
        }
        let t = self.table_at(k)?;
        let k2 = self.next_sig(k).filter(|&k2| k2 == k + 1)?;
        self.col_in_table_at(k2, t).map(|c| (Some(k), k2, c))
    }

    /// The date and time columns of table `t`, in schema order.
    fn dates_of(&self, t: usize) -> Vec<usize> {
        self.lex.tables[t].cols.iter().copied().filter(|&c| self.lex.cols[c].class == TypeClass::Temporal).collect()
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
        if let Some(c) = self.col_cands(k).into_iter().find(|&c| self.table_of(c) == t) {
            return Some(c);
        }
        // "order amount": the one column of the table whose name holds the word (`total_amount`).
        let word = stem_word(&self.items[k].text);
        let mut holding = self.lex.tables[t].cols.iter().copied().filter(|&c| self.lex.cols[c].stems.contains(&word));
        match (holding.next(), holding.next()) {
            (Some(c), None) if !self.items[k].text.contains(' ') => Some(c),
            _ => None,
        }
    }

    /// Marks items `a..=b` as explained, except values: a value inside a phrase is a filter still to be read.
    fn mark_range(&mut self, a: usize, b: usize) {
        for k in a..=b.min(self.items.len().saturating_sub(1)) {
            if !matches!(self.items[k].kind, ItemKind::Stop | ItemKind::Value { .. }) {
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
                self.doubt(F::CountNoKey, "the counted entity has no single-column key");
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

    /// Schema candidates of item `i` (columns), if it is a column mention.
    fn col_cands(&self, i: usize) -> Vec<usize> {
        match &self.items[i].kind {
            ItemKind::Schema { cols, .. } => cols.iter().map(|x| x.0).collect(),
            _ => Vec::new(),
        }
    }

    /// The match score of column mention `i` for the column it was resolved to.
    fn col_score(&self, i: usize) -> f32 {
        let Some(c) = self.col_at(i) else { return 0.0 };
        match &self.items[i].kind {
            // "id" and "name" read as the key and the name column, "금액" as the head noun of the subject's "주문
            // 금액": a reading by role, not a loose match.
            _ if self.by_role.contains(&i) => 0.9,
            ItemKind::Schema { cols, .. } => cols.iter().find(|x| x.0 == c).map(|x| x.1).unwrap_or(0.0),
            _ => 0.0,
        }
    }

    /// A direct foreign key between two tables: (column of `a`, column of `b`).
    fn direct_link(&self, a: usize, b: usize) -> Option<(usize, usize)> {
        let links: Vec<(usize, usize)> =
            self.lex.neighbours(a).into_iter().filter(|(t, _, _)| *t == b).map(|(_, x, y)| (x, y)).collect();
        if links.len() == 1 { links.first().copied() } else { None }
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
        agg_over_all: false,
        counted: Vec::new(),
        by_role: Vec::new(),
        each_row: None,
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
    Ok(Interp { plan: cx.plan, feats: cx.feats, doubts: cx.doubts })
}
