//! Items: what normalisation reduces a question or a phrasing to, and what matching pairs — words (English stems,
//! Korean terms with their English glossary words), numbers with their units, month names, dates, quoted phrases and
//! a phrasing's slots.

use super::slots::Slot;

/// What a number means, from the unit written with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Year,
    Month,
    Day,
    Week,
    Quarter,
    /// A plain counter: 개, 명, 건, 위, %, an English ordinal suffix.
    Count,
}

impl Unit {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Unit::Year => "year",
            Unit::Month => "month",
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Quarter => "quarter",
            Unit::Count => "count",
        }
    }

    /// The unit a slot's name implies (`{year:int}`, `{start_month:int}`).
    pub(super) fn from_slot_name(name: &str) -> Option<Unit> {
        let n = name.to_ascii_lowercase();
        if n.contains("year") || n == "yr" {
            Some(Unit::Year)
        } else if n.contains("month") {
            Some(Unit::Month)
        } else if n.contains("quarter") {
            Some(Unit::Quarter)
        } else if n.contains("week") {
            Some(Unit::Week)
        } else if n == "day" || n.ends_with("_day") || n.starts_with("day_") {
            Some(Unit::Day)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    En,
    Ko,
    Other,
}

/// A content word. `key` is its canonical form (an English stem, a Korean term, or an unknown word); a Korean term
/// also carries the English stems the glossary gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Word {
    pub(super) key: String,
    pub(super) lang: Lang,
    pub(super) alts: Vec<String>,
    /// The word as written (Korean: without trailing particles), for `text` slots.
    pub(super) surface: String,
}

/// A number as written: `text` is normalised (no grouping commas, no leading zeros, no trailing fraction zeros).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Num {
    pub(super) text: String,
    pub(super) int: Option<i64>,
    pub(super) unit: Option<Unit>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Item {
    Word(Word),
    Num(Num),
    /// A month written as a name (`March`, `mar`).
    MonthName(u8),
    Date(String),
    Quoted(String),
    /// A slot of a phrasing: index into the phrasing's slots, and a unit written with it (`{n:int}년`).
    Slot(usize, Option<Unit>),
}

impl Item {
    pub(super) fn canonical(&self, slots: &[Slot]) -> String {
        match self {
            Item::Word(w) => w.key.clone(),
            Item::Num(n) => match n.unit {
                Some(u) => format!("{}<{}>", n.text, u.as_str()),
                None => n.text.clone(),
            },
            Item::MonthName(m) => format!("{m}<month>"),
            Item::Date(d) => d.clone(),
            Item::Quoted(q) => format!("'{q}'"),
            Item::Slot(i, _) => match slots.get(*i) {
                Some(s) => format!("{{{}:{}}}", s.name, s.ty),
                None => "{?}".to_string(),
            },
        }
    }
}
