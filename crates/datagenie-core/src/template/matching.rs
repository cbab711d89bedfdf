//! Matching: a normalised question against a template's phrasings — every item of the question paired one to one
//! with an item of the phrasing (a perfect bipartite matching, word order free), slots filled by the items their type
//! and unit accept, in question order.

use super::items::{Item, Lang, Unit, Word};
use super::normalize::normalize;
use super::slots::{Slot, SlotBinding, SlotType, SlotValue};
use super::{Matched, QueryTemplate};

/// The longest text a `text` slot takes from a question.
const MAX_TEXT_VALUE_CHARS: usize = 200;

/// A question, normalised once and matched against any number of templates.
#[derive(Debug, Clone)]
pub struct NormalizedQuestion {
    items: Vec<Item>,
}

impl NormalizedQuestion {
    pub fn new(question: &str) -> NormalizedQuestion {
        // A question has no slots, so reading it cannot fail.
        let items = normalize(question, false).map(|(items, _)| items).unwrap_or_default();
        NormalizedQuestion { items }
    }

    /// The items as text, e.g. `2023<year> month 매출`, for showing why something did or did not match.
    pub fn canonical(&self) -> String {
        self.items.iter().map(|i| i.canonical(&[])).collect::<Vec<_>>().join(" ")
    }
}

fn word_compat(a: &Word, b: &Word) -> bool {
    match (a.lang, b.lang) {
        (x, y) if x == y => a.key == b.key,
        (Lang::Ko, Lang::En) => a.alts.contains(&b.key),
        (Lang::En, Lang::Ko) => b.alts.contains(&a.key),
        _ => false,
    }
}

fn unit_compat(a: Option<Unit>, b: Option<Unit>) -> bool {
    a == b || a.is_none() || b.is_none()
}

/// Whether a phrasing's literal item (not a slot) stands for the question's item.
fn literal_compat(t: &Item, q: &Item) -> bool {
    match (t, q) {
        (Item::Word(a), Item::Word(b)) => word_compat(a, b),
        (Item::Num(a), Item::Num(b)) => a.text == b.text && unit_compat(a.unit, b.unit),
        (Item::MonthName(a), Item::MonthName(b)) => a == b,
        (Item::MonthName(m), Item::Num(n)) | (Item::Num(n), Item::MonthName(m)) => {
            n.unit == Some(Unit::Month) && n.int == Some(i64::from(*m))
        }
        (Item::Date(a), Item::Date(b)) => a == b,
        (Item::Quoted(a), Item::Quoted(b)) => a.to_lowercase() == b.to_lowercase(),
        _ => false,
    }
}

/// The value a slot takes from a question item, if the item fits the slot's type and unit.
fn slot_value(slot: &Slot, written_unit: Option<Unit>, item: &Item) -> Option<SlotValue> {
    let implied = match slot.ty {
        SlotType::Year => Some(Unit::Year),
        SlotType::Month => Some(Unit::Month),
        _ => None,
    };
    let required = written_unit.or(implied).or_else(|| Unit::from_slot_name(&slot.name));
    let unit_ok = |u: Option<Unit>| match u {
        None => true,
        Some(Unit::Count) => required.is_none() || required == Some(Unit::Count),
        Some(u) => required == Some(u),
    };
    match (slot.ty, item) {
        (SlotType::Int, Item::Num(n)) if unit_ok(n.unit) => n.int.map(SlotValue::Int),
        (SlotType::Int, Item::MonthName(m)) if required == Some(Unit::Month) => Some(SlotValue::Int(i64::from(*m))),
        (SlotType::Number, Item::Num(n)) if unit_ok(n.unit) => Some(SlotValue::Number(n.text.clone())),
        (SlotType::Year, Item::Num(n)) if unit_ok(n.unit) => {
            n.int.filter(|y| (1000..=9999).contains(y)).map(SlotValue::Year)
        }
        (SlotType::Month, Item::Num(n)) if unit_ok(n.unit) => {
            n.int.filter(|m| (1..=12).contains(m)).and_then(|m| u8::try_from(m).ok()).map(SlotValue::Month)
        }
        (SlotType::Month, Item::MonthName(m)) => Some(SlotValue::Month(*m)),
        (SlotType::Date, Item::Date(d)) => Some(SlotValue::Date(d.clone())),
        (SlotType::Text, Item::Quoted(q)) => text_value(q),
        (SlotType::Text, Item::Word(w)) => text_value(&w.surface),
        _ => None,
    }
}

fn text_value(s: &str) -> Option<SlotValue> {
    let s = s.trim();
    (!s.is_empty() && s.chars().count() <= MAX_TEXT_VALUE_CHARS && !s.contains('\0'))
        .then(|| SlotValue::Text(s.to_string()))
}

/// One phrasing of a template, read.
#[derive(Debug, Clone)]
pub(super) struct Phrasing {
    pub(super) text: String,
    pub(super) items: Vec<Item>,
    pub(super) slots: Vec<Slot>,
}

impl Phrasing {
    /// Pairs every item of the question with an item of the phrasing; returns the slot values in phrasing slot
    /// order, or `None`.
    fn match_items(&self, question: &[Item]) -> Option<Vec<SlotValue>> {
        let t = &self.items;
        if t.len() != question.len() {
            return None;
        }
        let accepts = |ti: usize, qi: usize| -> bool {
            match &t[ti] {
                Item::Slot(s, unit) => {
                    self.slots.get(*s).is_some_and(|slot| slot_value(slot, *unit, &question[qi]).is_some())
                }
                lit => literal_compat(lit, &question[qi]),
            }
        };
        let pairing = perfect_matching(t.len(), &accepts)?;
        // Slots take, in their order, the items the pairing gave to slots, earliest in the question first.
        let slot_items: Vec<usize> = {
            let mut v: Vec<usize> = t
                .iter()
                .enumerate()
                .filter(|(_, it)| matches!(it, Item::Slot(..)))
                .map(|(ti, _)| pairing[ti])
                .collect();
            v.sort_unstable();
            v
        };
        let slot_positions: Vec<usize> =
            t.iter().enumerate().filter(|(_, it)| matches!(it, Item::Slot(..))).map(|(ti, _)| ti).collect();
        let mut used = vec![false; slot_items.len()];
        let mut chosen = vec![0usize; slot_positions.len()];
        if !assign_slots(0, &slot_positions, &slot_items, &accepts, &mut used, &mut chosen) {
            return None;
        }
        let mut values: Vec<Option<SlotValue>> = vec![None; self.slots.len()];
        for (k, &ti) in slot_positions.iter().enumerate() {
            if let Item::Slot(s, unit) = &t[ti] {
                let slot = self.slots.get(*s)?;
                values[*s] = slot_value(slot, *unit, &question[chosen[k]]);
            }
        }
        values.into_iter().collect()
    }
}

/// Backtracking over slots in phrasing order, items in question order: the first complete assignment.
fn assign_slots(
    k: usize,
    slots: &[usize],
    items: &[usize],
    accepts: &dyn Fn(usize, usize) -> bool,
    used: &mut [bool],
    chosen: &mut [usize],
) -> bool {
    let Some(&ti) = slots.get(k) else { return true };
    for (j, &qi) in items.iter().enumerate() {
        if !used[j] && accepts(ti, qi) {
            used[j] = true;
            chosen[k] = qi;
            if assign_slots(k + 1, slots, items, accepts, used, chosen) {
                return true;
            }
            used[j] = false;
        }
    }
    false
}

/// A perfect matching of `n` left vertices to `n` right vertices (Kuhn's augmenting paths; `n` is small). Returns
/// the right vertex of each left vertex.
fn perfect_matching(n: usize, accepts: &dyn Fn(usize, usize) -> bool) -> Option<Vec<usize>> {
    fn augment(
        l: usize,
        n: usize,
        accepts: &dyn Fn(usize, usize) -> bool,
        seen: &mut [bool],
        right_of: &mut [Option<usize>],
    ) -> bool {
        for r in 0..n {
            if seen[r] || !accepts(l, r) {
                continue;
            }
            seen[r] = true;
            if right_of[r].is_none_or(|other| augment(other, n, accepts, seen, right_of)) {
                right_of[r] = Some(l);
                return true;
            }
        }
        false
    }
    let mut right_of: Vec<Option<usize>> = vec![None; n];
    for l in 0..n {
        let mut seen = vec![false; n];
        if !augment(l, n, accepts, &mut seen, &mut right_of) {
            return None;
        }
    }
    let mut left = vec![0usize; n];
    for (r, l) in right_of.iter().enumerate() {
        left[(*l)?] = r;
    }
    Some(left)
}

impl QueryTemplate {
    /// Matches a question against the phrasings, in order; the first that matches wins.
    pub fn match_question(&self, question: &NormalizedQuestion) -> Option<Matched> {
        self.phrasings.iter().enumerate().find_map(|(index, p)| {
            let values = p.match_items(&question.items)?;
            let values = p
                .slots
                .iter()
                .zip(values)
                .map(|(slot, value)| SlotBinding { name: slot.name.clone(), value })
                .collect::<Vec<_>>();
            // Report values in the template's slot order, whichever phrasing matched.
            let ordered =
                self.slots.iter().filter_map(|s| values.iter().find(|v| v.name == s.name).cloned()).collect::<Vec<_>>();
            Some(Matched { phrasing: index, values: ordered })
        })
    }
}
