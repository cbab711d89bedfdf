//! Verified query templates: a question (in one or more phrasings) with its SQL, checked by a person. A question
//! that matches a template is answered from the template's SQL without asking an LLM.
//!
//! One file per concern: `slots` (slot types, `{name:type}`, values), `items` (what normalisation produces),
//! `vocab` (the English and Korean words it knows), `normalize`, `matching`, `binding` (values as dialect literals
//! on the SQL tokenizer's tokens); this file reads and validates a template.
//!
//! # Phrasings and slots
//!
//! A template has one or more phrasings, e.g. `monthly revenue in {year:int}` and `{year:int}년 월별 매출`. A slot
//! is `{name:type}` (`{name}` means `{name:text}`); names are ASCII identifiers, unique within a phrasing, and every
//! phrasing has the same slots. Types and what fills them:
//!
//! | type | fills from the question | value |
//! |---|---|---|
//! | `int` | an integer: `5`, `1,000`, `-3`, `2023년`, `5개`, `3rd` | integer |
//! | `number` | an integer or a decimal: `2.5`, `-0.75` | decimal text, exactly as written (normalised) |
//! | `year` | a four-digit year: `2024`, `2023년`, `year 2023` | integer |
//! | `month` | `3월`, `March`, `mar`, `month 3`, or a bare 1–12 | integer 1–12 |
//! | `date` | `2024-03-01` (also `/` or `.` separators), a real calendar date | `YYYY-MM-DD` |
//! | `text` | a quoted phrase (`'…'`, `"…"`, `“…”`, `「…」`) or exactly one word | the words as written |
//!
//! Units bind numbers to meanings: a Korean unit after a number (`2023년` year, `3월` month, `1분기` quarter,
//! `2주` week, `5일` day; `개`, `명`, `건`, `위`, … are plain counters) or an English unit word before it (`year
//! 2023`, `quarter 2`, `q2`). A number with a time unit fills a slot only when the slot means that unit — by its type
//! (`year`, `month`), by its name (`{year:int}`, `{start_month:int}`), or by a unit written after it in the phrasing
//! (`{n:int}년`); so `3월` never fills `{year:int}`. Numbers without a unit, and counters, fill any numeric slot.
//!
//! # Normalisation
//!
//! Question and phrasing are reduced to a sequence of *items* by the same rules:
//!
//! - Hangul written as separate jamo is composed; full-width ASCII becomes ASCII; case is folded; punctuation
//!   separates words and is otherwise dropped (quotes delimit a text value; `{…}` is a slot in a phrasing only).
//! - English words: `how many` → `count`; `how much` is dropped; a few analytic synonyms (`monthly` → `month`,
//!   `annual` → `year`, `number` → `count`, `sum` → `total`, `avg` → `average`, …); stop words dropped (`the`, `in`,
//!   `of`, `by`, `per`, `show`, `me`, `list`, `what`, `please`, …); light stemming (`orders` → `order`,
//!   [`crate::linking::stem`]). Month names become month items.
//! - Korean: every word loses its trailing particles ([`crate::linking::strip_particles`]). The words of a Hangul run
//!   are then read without their spaces, so `월별매출` and `월별 매출` are the same: known terms are taken longest
//!   first — the linking glossary's terms of two or more syllables (within one word), this module's compound and
//!   synonym words (`월별` → 월, `매출액` → 매출, `몇` → 수, …) and request phrases that carry no meaning
//!   (`알려줘`, `보여주세요`, `뭐야`, …, dropped). What remains between terms is, per word: nothing (particles only),
//!   a one-syllable term with particles (`월별` → 월, `수` → count), a filler word (`좀`, `각`, `전체`, `조회`, …,
//!   dropped), or an unknown word; adjacent unknown words are joined (`삼성 이마트` = `삼성이마트`).
//! - A Korean term carries the English words the glossary gives it (`매출` → revenue, sales, amount); it matches an
//!   English word when that word is one of them, and a Korean word only when both are the same term (after the
//!   synonyms above). So `2023년 월별 매출` and `monthly revenue in {year:int}` reduce to the same three items:
//!   month, revenue and a year-number.
//!
//! # Matching
//!
//! A question matches a phrasing when its items can be paired one to one with the phrasing's items: every item of
//! the question is accounted for, and every item of the phrasing (word, literal number, slot) is used exactly once;
//! word order does not matter (Korean and English order differ). Slots take the items their type accepts; when
//! several slots could take the same items, values are assigned in the order they appear in the question. A
//! phrasing needs at least one word, so a bare `{x:text}` matches nothing.
//!
//! # Binding
//!
//! The SQL names slots as `{name}` placeholders: exactly the tokens `{`, an unquoted word and `}` in the dialect's
//! tokenizer (sqlparser). A placeholder inside a string literal or a comment is text. Each placeholder is replaced by
//! the value's literal — text through [`crate::guard::literal`] (quotes doubled, backslashes escaped where the
//! dialect reads them), numbers as validated digits (negative ones parenthesised) — and every other byte of the SQL
//! stays as written. The bound SQL is still only a candidate: it goes through the guard like any other SQL.

use std::collections::BTreeSet;

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode};
use crate::guard::{self, Policy};

mod binding;
mod items;
mod matching;
mod normalize;
mod slots;
mod vocab;

pub use binding::slot_literal;
pub use matching::NormalizedQuestion;
pub use slots::{Slot, SlotBinding, SlotType, SlotValue};

use binding::rewrite_placeholders;
use items::Item;
use matching::Phrasing;
use normalize::normalize;

/// The most phrasings one template may have.
pub const MAX_PHRASINGS: usize = 20;
/// The longest phrasing, in characters.
pub const MAX_PHRASING_CHARS: usize = 500;
/// The most slots one template may have.
pub const MAX_SLOTS: usize = 8;
/// The longest template SQL, in bytes (the guard's own limit).
pub const MAX_SQL_BYTES: usize = 64 * 1024;

/// A template's phrasings and SQL, read and checked. Build it with [`QueryTemplate::new`] when a person adds a
/// template (everything is validated, the SQL included), or [`QueryTemplate::from_stored`] for one read back from
/// storage (structure only; the bound SQL goes through the guard at use anyway).
#[derive(Debug, Clone)]
pub struct QueryTemplate {
    phrasings: Vec<Phrasing>,
    slots: Vec<Slot>,
    sql: String,
    dialect: Dialect,
}

/// A question matched to a template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Matched {
    /// Which phrasing matched (index into [`QueryTemplate::phrasings`]).
    pub phrasing: usize,
    /// The slot values, in the template's slot order.
    pub values: Vec<SlotBinding>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidTemplate, message)
}

impl QueryTemplate {
    /// Reads and validates a template: the phrasings parse and have the same slots, the SQL's placeholders are
    /// exactly the slots, and the SQL, with a sample value bound to every slot, passes the guard in `dialect`
    /// (default policy). Errors are [`ErrorCode::InvalidTemplate`].
    pub fn new<S: AsRef<str>>(phrasings: &[S], sql: &str, dialect: Dialect) -> Result<QueryTemplate, Error> {
        let template = QueryTemplate::from_stored(phrasings, sql, dialect)?;
        let samples: Vec<SlotBinding> =
            template.slots.iter().map(|s| SlotBinding { name: s.name.clone(), value: s.ty.sample() }).collect();
        let bound = template.bind(&samples)?;
        guard::check(&bound, dialect, &Policy::default())
            .map_err(|e| invalid(format!("the template's SQL is refused by the guard ({}): {}", e.code, e.message)))?;
        Ok(template)
    }

    /// Reads a template without running the guard. Errors are [`ErrorCode::InvalidTemplate`].
    pub fn from_stored<S: AsRef<str>>(phrasings: &[S], sql: &str, dialect: Dialect) -> Result<QueryTemplate, Error> {
        let texts: Vec<&str> = phrasings.iter().map(|p| p.as_ref().trim()).filter(|p| !p.is_empty()).collect();
        if texts.is_empty() {
            return Err(invalid("a template needs at least one question"));
        }
        if texts.len() > MAX_PHRASINGS {
            return Err(invalid(format!("a template has at most {MAX_PHRASINGS} questions")));
        }
        let mut read: Vec<Phrasing> = Vec::with_capacity(texts.len());
        for text in texts {
            let chars = text.chars().count();
            if chars > MAX_PHRASING_CHARS {
                return Err(invalid(format!("a question is {chars} characters long; at most {MAX_PHRASING_CHARS}")));
            }
            if text.chars().any(char::is_control) {
                return Err(invalid("a question cannot contain control characters or line breaks"));
            }
            let (items, slots) = normalize(text, true).map_err(|m| invalid(format!("in '{text}': {m}")))?;
            if !items.iter().any(|i| matches!(i, Item::Word(_))) {
                return Err(invalid(format!(
                    "'{text}' has no words to match (only slots, numbers or request phrases)"
                )));
            }
            read.push(Phrasing { text: text.to_string(), items, slots });
        }
        let slots = read[0].slots.clone();
        let key = |s: &[Slot]| -> BTreeSet<(String, SlotType)> { s.iter().map(|s| (s.name.clone(), s.ty)).collect() };
        for p in &read[1..] {
            if key(&p.slots) != key(&slots) {
                return Err(invalid(format!(
                    "every question must have the same slots: '{}' and '{}' differ",
                    read[0].text, p.text
                )));
            }
        }
        let sql = sql.trim();
        if sql.is_empty() {
            return Err(invalid("the template's SQL is empty"));
        }
        if sql.len() > MAX_SQL_BYTES {
            return Err(invalid(format!("the template's SQL is longer than {MAX_SQL_BYTES} bytes")));
        }
        let mut used: Vec<String> = Vec::new();
        rewrite_placeholders(sql, dialect, &mut |name| {
            used.push(name.to_string());
            Ok(String::new())
        })?;
        let used: BTreeSet<String> = used.into_iter().collect();
        let declared: BTreeSet<String> = slots.iter().map(|s| s.name.clone()).collect();
        if let Some(missing) = declared.difference(&used).next() {
            return Err(invalid(format!("the slot {{{missing}}} is not used in the SQL")));
        }
        if let Some(unknown) = used.difference(&declared).next() {
            return Err(invalid(format!("the SQL uses {{{unknown}}}, which no question declares as a slot")));
        }
        Ok(QueryTemplate { phrasings: read, slots, sql: sql.to_string(), dialect })
    }

    pub fn phrasings(&self) -> impl Iterator<Item = &str> {
        self.phrasings.iter().map(|p| p.text.as_str())
    }

    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The normalised form of each phrasing, e.g. `month revenu {year:int}<year>`.
    pub fn canonical_phrasings(&self) -> Vec<String> {
        self.phrasings
            .iter()
            .map(|p| {
                p.items
                    .iter()
                    .map(|i| match i {
                        Item::Slot(_, Some(u)) => format!("{}<{}>", i.canonical(&p.slots), u.as_str()),
                        _ => i.canonical(&p.slots),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// One example question per phrasing: each slot written as its type's sample value (a year as 2024, an int as 1,
    /// text as `sample`, …), with those values. `datagenie eval --templates` asks these and compares the answers
    /// with this template's SQL bound to the same values.
    pub fn examples(&self) -> Vec<(String, Vec<SlotBinding>)> {
        let values: Vec<SlotBinding> =
            self.slots.iter().map(|s| SlotBinding { name: s.name.clone(), value: s.ty.sample() }).collect();
        self.phrasings
            .iter()
            .map(|p| {
                let mut question = String::with_capacity(p.text.len());
                let mut rest = p.text.as_str();
                while let Some(open) = rest.find('{') {
                    question.push_str(&rest[..open]);
                    let Some(close) = rest[open..].find('}') else { break };
                    let spec = &rest[open + 1..open + close];
                    let name = spec.split(':').next().unwrap_or_default().trim();
                    match values.iter().find(|v| v.name == name) {
                        Some(v) => question.push_str(&v.value.to_string()),
                        None => question.push_str(&rest[open..=open + close]),
                    }
                    rest = &rest[open + close + 1..];
                }
                question.push_str(rest);
                (question, values.clone())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
