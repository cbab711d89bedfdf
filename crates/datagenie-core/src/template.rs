//! Verified query templates: a question (in one or more phrasings) with its SQL, checked by a person. A question
//! that matches a template is answered from the template's SQL without asking an LLM.
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
use std::fmt;

use sqlparser::tokenizer::{Token, Tokenizer};

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode};
use crate::guard::{self, AttrValue, Policy};
use crate::hangul::is_hangul;
use crate::linking::{GLOSSARY, PARTICLES, stem, strip_particles};

/// The most phrasings one template may have.
pub const MAX_PHRASINGS: usize = 20;
/// The longest phrasing, in characters.
pub const MAX_PHRASING_CHARS: usize = 500;
/// The most slots one template may have.
pub const MAX_SLOTS: usize = 8;
/// The longest template SQL, in bytes (the guard's own limit).
pub const MAX_SQL_BYTES: usize = 64 * 1024;
const MAX_SLOT_NAME_CHARS: usize = 40;
/// The longest text a `text` slot takes from a question.
const MAX_TEXT_VALUE_CHARS: usize = 200;

// ---------------------------------------------------------------------------------------------------------------
// Slots and values

/// The type of a slot: what it accepts from a question and how its value is written into SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotType {
    Int,
    Number,
    Text,
    Date,
    Year,
    Month,
}

impl SlotType {
    pub fn as_str(self) -> &'static str {
        match self {
            SlotType::Int => "int",
            SlotType::Number => "number",
            SlotType::Text => "text",
            SlotType::Date => "date",
            SlotType::Year => "year",
            SlotType::Month => "month",
        }
    }

    fn parse(s: &str) -> Option<SlotType> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "int" | "integer" => SlotType::Int,
            "number" | "num" | "decimal" => SlotType::Number,
            "text" | "string" | "str" => SlotType::Text,
            "date" => SlotType::Date,
            "year" => SlotType::Year,
            "month" => SlotType::Month,
            _ => return None,
        })
    }

    /// A value of this type, bound when the template's SQL is validated.
    fn sample(self) -> SlotValue {
        match self {
            SlotType::Int => SlotValue::Int(1),
            SlotType::Number => SlotValue::Number("1.5".to_string()),
            SlotType::Text => SlotValue::Text("sample".to_string()),
            SlotType::Date => SlotValue::Date("2024-01-31".to_string()),
            SlotType::Year => SlotValue::Year(2024),
            SlotType::Month => SlotValue::Month(1),
        }
    }
}

impl fmt::Display for SlotType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named, typed slot of a template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Slot {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: SlotType,
}

/// A value taken from a question for a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotValue {
    Int(i64),
    /// A decimal as validated text: optional `-`, digits, optionally `.` and digits (no exponent, no grouping).
    Number(String),
    Text(String),
    /// `YYYY-MM-DD`, a real calendar date.
    Date(String),
    Year(i64),
    /// 1–12.
    Month(u8),
}

impl fmt::Display for SlotValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlotValue::Int(i) | SlotValue::Year(i) => write!(f, "{i}"),
            SlotValue::Month(m) => write!(f, "{m}"),
            SlotValue::Number(s) | SlotValue::Text(s) | SlotValue::Date(s) => f.write_str(s),
        }
    }
}

impl serde::Serialize for SlotValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SlotValue::Int(i) | SlotValue::Year(i) => s.serialize_i64(*i),
            SlotValue::Month(m) => s.serialize_u8(*m),
            SlotValue::Number(n) => match n.parse::<f64>() {
                Ok(f) if f.is_finite() => s.serialize_f64(f),
                _ => s.serialize_str(n),
            },
            SlotValue::Text(t) | SlotValue::Date(t) => s.serialize_str(t),
        }
    }
}

/// One slot's value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SlotBinding {
    pub name: String,
    pub value: SlotValue,
}

/// Writes a slot value as an SQL literal of the dialect. Text and dates are quoted by [`guard::literal`]; numbers are
/// validated digits, parenthesised when negative so `x -{n}` cannot become a `--` comment (non-negative numbers stay
/// bare because MySQL's `LIMIT` takes only a bare integer).
pub fn slot_literal(dialect: Dialect, value: &SlotValue) -> Result<String, Error> {
    let number = |text: String, negative: bool| if negative { format!("({text})") } else { text };
    Ok(match value {
        SlotValue::Int(i) | SlotValue::Year(i) => number(i.to_string(), *i < 0),
        SlotValue::Month(m) => m.to_string(),
        SlotValue::Number(n) => {
            if !is_decimal_text(n) {
                return Err(Error::new(ErrorCode::InvalidTemplate, format!("'{n}' is not a number")));
            }
            number(n.clone(), n.starts_with('-'))
        }
        SlotValue::Text(s) | SlotValue::Date(s) => guard::literal(dialect, &AttrValue::Text(s.clone()))
            .map_err(|m| Error::new(ErrorCode::InvalidTemplate, m))?,
    })
}

/// `-?digits(.digits)?`
fn is_decimal_text(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

// ---------------------------------------------------------------------------------------------------------------
// Items: what normalisation produces

/// What a number means, from the unit written with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Year,
    Month,
    Day,
    Week,
    Quarter,
    /// A plain counter: 개, 명, 건, 위, %, an English ordinal suffix.
    Count,
}

impl Unit {
    fn as_str(self) -> &'static str {
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
    fn from_slot_name(name: &str) -> Option<Unit> {
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
enum Lang {
    En,
    Ko,
    Other,
}

/// A content word. `key` is its canonical form (an English stem, a Korean term, or an unknown word); a Korean term
/// also carries the English stems the glossary gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    key: String,
    lang: Lang,
    alts: Vec<String>,
    /// The word as written (Korean: without trailing particles), for `text` slots.
    surface: String,
}

/// A number as written: `text` is normalised (no grouping commas, no leading zeros, no trailing fraction zeros).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Num {
    text: String,
    int: Option<i64>,
    unit: Option<Unit>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
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
    fn canonical(&self, slots: &[Slot]) -> String {
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

// ---------------------------------------------------------------------------------------------------------------
// Vocabulary

/// English words that carry no meaning for matching (compared after lower-casing, before stemming).
const EN_STOP: &[&str] = &[
    "a", "an", "the", "of", "for", "in", "on", "at", "by", "to", "from", "with", "and", "is", "are", "was", "were",
    "be", "been", "being", "what", "whats", "which", "who", "whom", "show", "list", "give", "me", "find", "get",
    "tell", "display", "return", "fetch", "see", "please", "can", "could", "would", "will", "you", "your", "i", "we",
    "us", "our", "my", "want", "need", "know", "do", "does", "did", "that", "this", "these", "those", "there", "their",
    "it", "its", "each", "every", "per", "all", "as", "some", "any", "about", "let", "lets",
];

/// English synonyms folded to one word before stemming.
const EN_SYNONYMS: &[(&str, &str)] = &[
    ("monthly", "month"),
    ("yearly", "year"),
    ("annual", "year"),
    ("annually", "year"),
    ("daily", "day"),
    ("weekly", "week"),
    ("quarterly", "quarter"),
    ("number", "count"),
    ("numbers", "count"),
    ("cnt", "count"),
    ("sum", "total"),
    ("avg", "average"),
    ("mean", "average"),
    ("qty", "quantity"),
    ("max", "maximum"),
    ("min", "minimum"),
];

const MONTHS: &[(&str, u8)] = &[
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
];

/// Korean words beyond the linking glossary, and synonyms of its terms: (word, key). A key that is a glossary term
/// brings the glossary's English words; other keys get theirs from [`KO_ENGLISH`].
const KO_WORDS: &[(&str, &str)] = &[
    ("월별", "월"),
    ("매월", "월"),
    ("월간", "월"),
    ("일별", "일"),
    ("매일", "일"),
    ("일간", "일"),
    ("날짜별", "날짜"),
    ("일자별", "일자"),
    ("주별", "주"),
    ("매주", "주"),
    ("주간", "주"),
    ("분기별", "분기"),
    ("연도별", "연도"),
    ("년도별", "연도"),
    ("연별", "연도"),
    ("년별", "연도"),
    ("연간", "연도"),
    ("매년", "연도"),
    ("년도", "연도"),
    ("년", "연도"),
    ("개수", "수"),
    ("갯수", "수"),
    ("건수", "수"),
    ("몇", "수"),
    ("몇개", "수"),
    ("몇명", "수"),
    ("몇건", "수"),
    ("총", "합계"),
    ("총합", "합계"),
    ("합", "합계"),
    ("매출액", "매출"),
    ("판매액", "매출"),
    ("판매량", "판매"),
    ("상위", "상위"),
    ("하위", "하위"),
    ("최근", "최근"),
    ("추이", "추이"),
    ("가장", "가장"),
];

/// English words of [`KO_WORDS`] keys that are not glossary terms.
const KO_ENGLISH: &[(&str, &[&str])] = &[
    ("상위", &["top", "highest"]),
    ("하위", &["bottom", "lowest"]),
    ("최근", &["recent", "last", "latest"]),
    ("추이", &["trend"]),
    ("가장", &["most"]),
];

/// Request phrases that carry no meaning; matched anywhere in a Hangul run, across spaces (`알려 줘`).
const KO_STOP_PHRASES: &[&str] = &[
    "알려줘",
    "알려주세요",
    "알려줄래",
    "알려줄래요",
    "알려주실래요",
    "보여줘",
    "보여주세요",
    "보여줄래",
    "보여줄래요",
    "해줘",
    "해주세요",
    "구해줘",
    "구해주세요",
    "찾아줘",
    "찾아주세요",
    "뽑아줘",
    "뽑아주세요",
    "정리해줘",
    "계산해줘",
    "조회해줘",
    "조회해주세요",
    "출력해줘",
    "나열해줘",
    "뭐야",
    "뭐예요",
    "뭔가요",
    "무엇인가요",
    "무엇인지",
    "얼마야",
    "얼마예요",
    "얼마인가요",
    "얼마인지",
    "얼마나",
    "어떻게",
    "어떤가요",
    "알고싶어",
    "알고싶어요",
    "알고싶습니다",
    "궁금해",
    "궁금해요",
    "궁금합니다",
    "주세요",
];

/// Filler words dropped only when they are a whole word (with particles): inside other words they are not filler.
const KO_FILLER: &[&str] = &[
    "좀", "각", "모든", "전체", "대한", "관한", "해당", "조회", "출력", "나열", "계산", "무엇", "얼마", "뭐", "줘",
    "현황",
];

/// Korean units after a number: (unit word, what it means, the key of the time word it is, whether it also says
/// "months" as a word — `3개월` is three months).
const KO_UNITS: &[(&str, Unit, &str, bool)] = &[
    ("분기", Unit::Quarter, "분기", false),
    ("개월", Unit::Count, "", true),
    ("주차", Unit::Week, "주", false),
    ("시간", Unit::Count, "", false),
    ("퍼센트", Unit::Count, "", false),
    ("년", Unit::Year, "연도", false),
    ("월", Unit::Month, "월", false),
    ("일", Unit::Day, "일", false),
    ("주", Unit::Week, "주", false),
    ("개", Unit::Count, "", false),
    ("명", Unit::Count, "", false),
    ("건", Unit::Count, "", false),
    ("위", Unit::Count, "", false),
    ("번", Unit::Count, "", false),
    ("회", Unit::Count, "", false),
    ("원", Unit::Count, "", false),
    ("배", Unit::Count, "", false),
    ("등", Unit::Count, "", false),
];

/// The key of a Korean term: its synonym's key when it has one, else itself.
fn ko_key(term: &str) -> &str {
    KO_WORDS.iter().find(|(w, _)| *w == term).map_or(term, |(_, k)| k)
}

/// The English stems a Korean key stands for.
fn ko_alts(key: &str) -> Vec<String> {
    let glossary = GLOSSARY.iter().filter(|(t, _)| *t == key).flat_map(|(_, e)| e.iter());
    let extra = KO_ENGLISH.iter().filter(|(t, _)| *t == key).flat_map(|(_, e)| e.iter());
    let mut out: Vec<String> = glossary
        .chain(extra)
        .map(|e| {
            let mut s = e.to_string();
            stem(&mut s);
            s
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn ko_word(term: &str, surface: String) -> Item {
    let key = ko_key(term).to_string();
    let alts = ko_alts(&key);
    Item::Word(Word { key, lang: Lang::Ko, alts, surface })
}

/// The longest known multi-syllable Korean term at the start of `s`: (length in chars, key; `None` for a request
/// phrase). Glossary terms must lie within the first `word_len` chars (one word); this module's words and request
/// phrases may span words (`알려 줘`).
fn ko_term_at(s: &[char], word_len: usize) -> Option<(usize, Option<&'static str>)> {
    let starts = |t: &str| {
        let n = t.chars().count();
        (n >= 2 && s.len() >= n && t.chars().zip(s).all(|(a, b)| a == *b)).then_some(n)
    };
    let mut best: Option<(usize, Option<&'static str>)> = None;
    let mut consider = |cand: Option<(usize, Option<&'static str>)>| {
        if let Some(c) = cand
            && best.is_none_or(|b| c.0 > b.0)
        {
            best = Some(c);
        }
    };
    for (term, _) in GLOSSARY {
        consider(starts(term).filter(|n| *n <= word_len).map(|n| (n, Some(ko_key(term)))));
    }
    for (word, key) in KO_WORDS {
        consider(starts(word).map(|n| (n, Some(*key))));
    }
    for phrase in KO_STOP_PHRASES {
        consider(starts(phrase).map(|n| (n, None)));
    }
    best
}

/// True when `s` is one or more particles.
fn all_particles(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    let mut reach = vec![false; s.len() + 1];
    reach[0] = true;
    for i in 0..s.len() {
        if !reach[i] || !s.is_char_boundary(i) {
            continue;
        }
        for p in PARTICLES {
            if s[i..].starts_with(p) {
                reach[i + p.len()] = true;
            }
        }
    }
    reach[s.len()]
}

/// A leftover Korean word that is a one-syllable term or filler, possibly followed by particles (`월별`, `수는`).
enum Leftover {
    Drop,
    Term(&'static str),
    Unknown,
}

fn classify_leftover(s: &str) -> Leftover {
    if all_particles(s) {
        return Leftover::Drop;
    }
    let one_syllable = |w: &str| w.chars().count() == 1;
    let with_particles = |w: &str| s.strip_prefix(w).is_some_and(|rest| rest.is_empty() || all_particles(rest));
    if KO_FILLER.iter().any(|f| with_particles(f)) {
        return Leftover::Drop;
    }
    for (term, _) in GLOSSARY.iter().filter(|(t, _)| one_syllable(t)) {
        if with_particles(term) {
            return Leftover::Term(ko_key(term));
        }
    }
    for (word, key) in KO_WORDS.iter().filter(|(w, _)| one_syllable(w)) {
        if with_particles(word) {
            return Leftover::Term(key);
        }
    }
    Leftover::Unknown
}

// ---------------------------------------------------------------------------------------------------------------
// Normalisation

/// Composes Hangul jamo into syllables, folds full-width ASCII and odd spaces. The text keeps its case (values are
/// taken as written).
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' | '\u{00A0}' => ' ',
            _ => c,
        };
        let last = out.chars().next_back();
        let composed = match (last, c as u32) {
            // leading consonant + vowel
            (Some(l), v @ 0x1161..=0x1175) if (0x1100..=0x1112).contains(&(l as u32)) => {
                char::from_u32(0xAC00 + ((l as u32 - 0x1100) * 21 + (v - 0x1161)) * 28)
            }
            // syllable without a final + final consonant
            (Some(s), t @ 0x11A8..=0x11C2)
                if (0xAC00..=0xD7A3).contains(&(s as u32)) && (s as u32 - 0xAC00).is_multiple_of(28) =>
            {
                char::from_u32(s as u32 + (t - 0x11A7))
            }
            _ => None,
        };
        match composed {
            Some(sy) => {
                out.pop();
                out.push(sy);
            }
            None => out.push(c),
        }
    }
    out
}

/// What the scanner reads before words are interpreted.
enum Raw {
    Item(Item),
    /// A Latin (or other alphabetic) word: lower-cased, and as written.
    Alpha(String, String),
    /// Whitespace-separated Hangul words: (byte offset in the folded text, word).
    Hangul(Vec<(usize, String)>),
}

struct Scanner<'a> {
    text: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    template: bool,
    raws: Vec<Raw>,
    run: Vec<(usize, String)>,
    slots: Vec<Slot>,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, template: bool) -> Scanner<'a> {
        Scanner {
            text,
            chars: text.char_indices().collect(),
            i: 0,
            template,
            raws: Vec::new(),
            run: Vec::new(),
            slots: Vec::new(),
        }
    }

    fn ch(&self, i: usize) -> Option<char> {
        self.chars.get(i).map(|(_, c)| *c)
    }

    fn byte(&self, i: usize) -> usize {
        self.chars.get(i).map_or(self.text.len(), |(b, _)| *b)
    }

    fn flush_run(&mut self) {
        if !self.run.is_empty() {
            self.raws.push(Raw::Hangul(std::mem::take(&mut self.run)));
        }
    }

    fn scan(mut self) -> Result<(Vec<Raw>, Vec<Slot>), String> {
        while let Some(c) = self.ch(self.i) {
            if c.is_whitespace() {
                self.i += 1;
                continue;
            }
            if is_hangul(c) {
                let start = self.i;
                while self.ch(self.i).is_some_and(is_hangul) {
                    self.i += 1;
                }
                let word = self.text[self.byte(start)..self.byte(self.i)].to_string();
                self.run.push((self.byte(start), word));
                continue;
            }
            self.flush_run();
            let prev_alnum = self.i > 0 && self.ch(self.i - 1).is_some_and(char::is_alphanumeric);
            if self.template && c == '{' {
                self.slot()?;
            } else if self.template && c == '}' {
                return Err("a '}' without its '{'".to_string());
            } else if let Some(close) = closing_quote(c)
                && !(c == '\'' && prev_alnum)
                && self.quoted(close)?
            {
            } else if c.is_ascii_digit()
                || (c == '-' && !prev_alnum && self.ch(self.i + 1).is_some_and(|d| d.is_ascii_digit()))
            {
                self.number();
            } else if c.is_alphanumeric() {
                self.alpha();
            } else {
                self.i += 1;
            }
        }
        self.flush_run();
        Ok((self.raws, self.slots))
    }

    /// `{name:type}` at the cursor, then an optional Korean unit.
    fn slot(&mut self) -> Result<(), String> {
        let start = self.i + 1;
        let mut end = start;
        while self.ch(end).is_some_and(|c| c != '}' && c != '{') && end - start <= MAX_SLOT_NAME_CHARS + 12 {
            end += 1;
        }
        if self.ch(end) != Some('}') {
            return Err("a '{' must start a slot {name:type}".to_string());
        }
        let spec = self.text[self.byte(start)..self.byte(end)].to_string();
        self.i = end + 1;
        let index = self.add_slot(&spec)?;
        let unit = self.korean_unit().map(|(u, _)| u);
        self.raws.push(Raw::Item(Item::Slot(index, unit)));
        Ok(())
    }

    fn add_slot(&mut self, spec: &str) -> Result<usize, String> {
        let (name, ty) = match spec.split_once(':') {
            Some((n, t)) => (
                n.trim(),
                SlotType::parse(t).ok_or_else(|| {
                    format!(
                        "unknown slot type '{}' in {{{spec}}} (expected int, number, text, date, year or month)",
                        t.trim()
                    )
                })?,
            ),
            None => (spec.trim(), SlotType::Text),
        };
        let valid = !name.is_empty()
            && name.chars().count() <= MAX_SLOT_NAME_CHARS
            && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "invalid slot name '{name}': use letters, digits and _ (at most {MAX_SLOT_NAME_CHARS}), starting with a letter"
            ));
        }
        if self.slots.iter().any(|s| s.name == name) {
            return Err(format!("the slot {{{name}}} appears twice in one phrasing"));
        }
        if self.slots.len() >= MAX_SLOTS {
            return Err(format!("a template has at most {MAX_SLOTS} slots"));
        }
        self.slots.push(Slot { name: name.to_string(), ty });
        Ok(self.slots.len() - 1)
    }

    /// A quoted phrase starting at the cursor, closed by `close`; false (nothing consumed) when it is not closed.
    fn quoted(&mut self, close: char) -> Result<bool, String> {
        let start = self.i + 1;
        let mut j = start;
        loop {
            match self.ch(j) {
                None => return Ok(false),
                // An apostrophe inside a word (O'Brien) does not close a '…' quote.
                Some(c) if c == close && !(close == '\'' && self.ch(j + 1).is_some_and(char::is_alphanumeric)) => break,
                Some(_) => j += 1,
            }
        }
        let inner = self.text[self.byte(start)..self.byte(j)].trim().to_string();
        self.i = j + 1;
        if inner.is_empty() {
            return Ok(true);
        }
        // In a phrasing, quotes around a lone slot are presentation: '{name}' is the slot.
        if self.template && inner.starts_with('{') && inner.ends_with('}') && inner.matches('{').count() == 1 {
            let index = self.add_slot(&inner[1..inner.len() - 1])?;
            self.raws.push(Raw::Item(Item::Slot(index, None)));
            return Ok(true);
        }
        if self.template && (inner.contains('{') || inner.contains('}')) {
            return Err("a slot inside a quoted phrase must be the whole phrase".to_string());
        }
        self.raws.push(Raw::Item(Item::Quoted(inner)));
        Ok(true)
    }

    fn digits(&mut self) -> String {
        let start = self.i;
        while self.ch(self.i).is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.text[self.byte(start)..self.byte(self.i)].to_string()
    }

    /// A date (`2024-03-01`) or a number with its unit.
    fn number(&mut self) {
        let negative = self.ch(self.i) == Some('-');
        if negative {
            self.i += 1;
        }
        let start = self.i;
        let first = self.digits();
        if !negative
            && first.len() == 4
            && let Some(date) = self.date_rest(&first)
        {
            self.raws.push(Raw::Item(date));
            return;
        }
        self.i = start + first.chars().count();
        let mut int = first;
        // Grouping commas: 1,000,000 (groups of exactly three digits).
        if int.len() <= 3 {
            while self.ch(self.i) == Some(',')
                && (1..=3).all(|k| self.ch(self.i + k).is_some_and(|c| c.is_ascii_digit()))
                && !self.ch(self.i + 4).is_some_and(|c| c.is_ascii_digit())
            {
                self.i += 1;
                int.push_str(&self.digits());
            }
        }
        let mut frac = String::new();
        if self.ch(self.i) == Some('.') && self.ch(self.i + 1).is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
            frac = self.digits();
        }
        let mut unit = None;
        let mut months_word = false;
        let next_two: String = (0..2).filter_map(|k| self.ch(self.i + k)).collect::<String>().to_ascii_lowercase();
        if matches!(next_two.as_str(), "st" | "nd" | "rd" | "th")
            && !self.ch(self.i + 2).is_some_and(char::is_alphanumeric)
        {
            self.i += 2;
            unit = Some(Unit::Count);
        } else if self.ch(self.i) == Some('%') {
            self.i += 1;
            unit = Some(Unit::Count);
        } else if let Some((u, months)) = self.korean_unit() {
            unit = Some(u);
            months_word = months;
        }
        self.raws.push(Raw::Item(Item::Num(make_num(negative, &int, &frac, unit))));
        if months_word {
            self.raws.push(Raw::Item(ko_word("월", "개월".to_string())));
        }
    }

    /// After four digits at the cursor: `-MM-DD` (or `/`, `.`), a calendar date.
    fn date_rest(&mut self, year: &str) -> Option<Item> {
        let sep = self.ch(self.i).filter(|c| matches!(c, '-' | '/' | '.'))?;
        let save = self.i;
        self.i += 1;
        let month = self.digits();
        let ok_month = (1..=2).contains(&month.len()) && self.ch(self.i) == Some(sep);
        if !ok_month {
            self.i = save;
            return None;
        }
        self.i += 1;
        let day = self.digits();
        if !(1..=2).contains(&day.len()) || self.ch(self.i).is_some_and(char::is_alphanumeric) {
            self.i = save;
            return None;
        }
        let (y, m, d) = (year.parse::<i32>().ok()?, month.parse::<u32>().ok()?, day.parse::<u32>().ok()?);
        if valid_date(y, m, d) {
            Some(Item::Date(format!("{y:04}-{m:02}-{d:02}")))
        } else {
            // Date-shaped but not a date: a word no slot takes.
            let surface = self.text[self.byte(save - 4)..self.byte(self.i)].to_string();
            Some(Item::Word(Word { key: surface.clone(), lang: Lang::Other, alts: Vec::new(), surface }))
        }
    }

    /// A Korean unit right after a number or slot (spaces allowed: `2023 년`), unless it starts a longer known word
    /// (`5 주문` is five orders, not five weeks).
    fn korean_unit(&mut self) -> Option<(Unit, bool)> {
        let mut j = self.i;
        while self.ch(j).is_some_and(char::is_whitespace) {
            j += 1;
        }
        let mut end = j;
        while self.ch(end).is_some_and(is_hangul) {
            end += 1;
        }
        let word: Vec<char> = (j..end).filter_map(|k| self.ch(k)).collect();
        if word.is_empty() {
            return None;
        }
        for (text, unit, key, months) in KO_UNITS {
            let n = text.chars().count();
            if word.len() < n || !text.chars().zip(&word).all(|(a, b)| a == *b) {
                continue;
            }
            if let Some((len, term_key)) = ko_term_at(&word, word.len())
                && len > n
                && term_key != Some(*key)
            {
                return None;
            }
            self.i = j + n;
            return Some((*unit, *months));
        }
        None
    }

    /// A run of letters (any script but Hangul), with apostrophes inside it dropped (`customer's`).
    fn alpha(&mut self) {
        let start = self.i;
        let mut word = String::new();
        while let Some(c) = self.ch(self.i) {
            if c.is_alphabetic() && !is_hangul(c) {
                word.push(c);
                self.i += 1;
            } else if matches!(c, '\'' | '’')
                && self.ch(self.i + 1).is_some_and(|n| n.is_alphabetic() && !is_hangul(n))
                && !word.is_empty()
            {
                self.i += 1;
            } else {
                break;
            }
        }
        if word.is_empty() {
            // A digit-like character that is not ASCII (e.g. superscripts): skip it.
            self.i = start + 1;
            return;
        }
        let lower = word.to_lowercase();
        // q1..q4: a quarter.
        if lower == "q"
            && let Some(d) = self.ch(self.i).and_then(|c| c.to_digit(10)).filter(|d| (1..=4).contains(d))
            && !self.ch(self.i + 1).is_some_and(char::is_alphanumeric)
        {
            self.i += 1;
            self.raws.push(Raw::Item(Item::Num(make_num(false, &d.to_string(), "", Some(Unit::Quarter)))));
            return;
        }
        let surface = self.text[self.byte(start)..self.byte(self.i)].to_string();
        self.raws.push(Raw::Alpha(lower, surface));
    }
}

fn closing_quote(c: char) -> Option<char> {
    Some(match c {
        '"' => '"',
        '\'' => '\'',
        '“' => '”',
        '‘' => '’',
        '「' => '」',
        '『' => '』',
        _ => return None,
    })
}

fn valid_date(y: i32, m: u32, d: u32) -> bool {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=9999).contains(&y) && (1..=days).contains(&d)
}

fn make_num(negative: bool, int: &str, frac: &str, unit: Option<Unit>) -> Num {
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.trim_end_matches('0');
    let zero = int == "0" && frac.is_empty();
    let mut text = String::new();
    if negative && !zero {
        text.push('-');
    }
    text.push_str(int);
    if !frac.is_empty() {
        text.push('.');
        text.push_str(frac);
    }
    let int = if frac.is_empty() { text.parse::<i64>().ok() } else { None };
    Num { text, int, unit }
}

/// Turns scanned words into items: English phrases and stop words, unit words before numbers, Hangul runs.
fn interpret(text: &str, raws: Vec<Raw>) -> Vec<Item> {
    let mut out = Vec::with_capacity(raws.len());
    let mut i = 0;
    while i < raws.len() {
        match &raws[i] {
            Raw::Item(item) => out.push(item.clone()),
            Raw::Hangul(words) => hangul_items(text, words, &mut out),
            Raw::Alpha(lower, surface) => {
                let next_alpha = match raws.get(i + 1) {
                    Some(Raw::Alpha(n, _)) => Some(n.as_str()),
                    _ => None,
                };
                if lower == "how" && next_alpha == Some("many") {
                    out.push(en_word("count", "how many".to_string()));
                    i += 2;
                    continue;
                }
                if lower == "how" && next_alpha == Some("much") {
                    i += 2;
                    continue;
                }
                // `year 2023`, `month {m:int}`: the word is the number's unit.
                let unit = match lower.as_str() {
                    "year" => Some(Unit::Year),
                    "month" => Some(Unit::Month),
                    "day" => Some(Unit::Day),
                    "week" => Some(Unit::Week),
                    "quarter" => Some(Unit::Quarter),
                    _ => None,
                };
                if let Some(unit) = unit {
                    match raws.get(i + 1) {
                        Some(Raw::Item(Item::Num(n))) if n.unit.is_none() => {
                            out.push(Item::Num(Num { unit: Some(unit), ..n.clone() }));
                            i += 2;
                            continue;
                        }
                        Some(Raw::Item(Item::Slot(s, None))) => {
                            out.push(Item::Slot(*s, Some(unit)));
                            i += 2;
                            continue;
                        }
                        _ => {}
                    }
                }
                if let Some((_, m)) = MONTHS.iter().find(|(name, _)| *name == lower.as_str()) {
                    out.push(Item::MonthName(*m));
                } else if !EN_STOP.contains(&lower.as_str()) {
                    let canonical =
                        EN_SYNONYMS.iter().find(|(w, _)| *w == lower.as_str()).map_or(lower.as_str(), |(_, c)| c);
                    out.push(en_word(canonical, surface.clone()));
                }
            }
        }
        i += 1;
    }
    out
}

fn en_word(word: &str, surface: String) -> Item {
    let latin = word.chars().all(|c| c.is_ascii_alphabetic() || ('\u{C0}'..='\u{24F}').contains(&c));
    let mut key = word.to_string();
    stem(&mut key);
    Item::Word(Word { key, lang: if latin { Lang::En } else { Lang::Other }, alts: Vec::new(), surface })
}

/// One character of a Hangul run after particle stripping: where it is in the text and which word it came from.
struct HChar {
    c: char,
    start: usize,
    end: usize,
    word: usize,
}

/// A Hangul run's items (see the module documentation).
fn hangul_items(text: &str, words: &[(usize, String)], out: &mut Vec<Item>) {
    let mut chars: Vec<HChar> = Vec::new();
    for (w, (offset, word)) in words.iter().enumerate() {
        let kept = strip_particles(word);
        for (i, c) in kept.char_indices() {
            chars.push(HChar { c, start: offset + i, end: offset + i + c.len_utf8(), word: w });
        }
    }
    let plain: Vec<char> = chars.iter().map(|h| h.c).collect();
    // Pieces in order: a known term (Some(key)) or request phrase (None) over a char range, or leftover chars.
    enum Piece {
        Known(Option<&'static str>, usize, usize),
        Left(usize, usize),
    }
    let mut pieces: Vec<Piece> = Vec::new();
    let mut i = 0;
    let mut left_start: Option<usize> = None;
    while i < plain.len() {
        let word_len = chars[i..].iter().take_while(|h| h.word == chars[i].word).count();
        match ko_term_at(&plain[i..], word_len) {
            Some((n, key)) => {
                if let Some(s) = left_start.take() {
                    pieces.push(Piece::Left(s, i));
                }
                pieces.push(Piece::Known(key, i, i + n));
                i += n;
            }
            None => {
                left_start.get_or_insert(i);
                i += 1;
            }
        }
    }
    if let Some(s) = left_start {
        pieces.push(Piece::Left(s, plain.len()));
    }

    let surface = |a: usize, b: usize| -> String {
        match (chars.get(a), b.checked_sub(1).and_then(|e| chars.get(e))) {
            (Some(first), Some(last)) => text.get(first.start..last.end).unwrap_or_default().to_string(),
            _ => String::new(),
        }
    };
    // Unknown words waiting to be joined with the next unknown word: (key, first char, end char).
    let mut unknown: Option<(String, usize, usize)> = None;
    let flush = |unknown: &mut Option<(String, usize, usize)>, out: &mut Vec<Item>| {
        if let Some((key, a, b)) = unknown.take() {
            out.push(Item::Word(Word { key, lang: Lang::Ko, alts: Vec::new(), surface: surface(a, b) }));
        }
    };
    for piece in pieces {
        match piece {
            Piece::Known(None, _, _) => flush(&mut unknown, out),
            Piece::Known(Some(key), a, b) => {
                flush(&mut unknown, out);
                out.push(ko_word(key, surface(a, b)));
            }
            Piece::Left(a, b) => {
                // Leftovers are judged word by word.
                let mut s = a;
                while s < b {
                    let mut e = s;
                    while e < b && chars[e].word == chars[s].word {
                        e += 1;
                    }
                    let piece: String = plain[s..e].iter().collect();
                    let trimmed = strip_particles(&piece);
                    let trimmed_end = s + trimmed.chars().count();
                    match classify_leftover(&piece) {
                        Leftover::Drop => flush(&mut unknown, out),
                        Leftover::Term(key) => {
                            flush(&mut unknown, out);
                            out.push(ko_word(key, surface(s, e)));
                        }
                        Leftover::Unknown => match &mut unknown {
                            Some((key, _, end)) => {
                                key.push_str(trimmed);
                                *end = trimmed_end;
                            }
                            None => unknown = Some((trimmed.to_string(), s, trimmed_end)),
                        },
                    }
                    s = e;
                }
            }
        }
    }
    flush(&mut unknown, out);
}

/// Items and slots of a text; `template` reads `{name:type}` slots.
fn normalize(text: &str, template: bool) -> Result<(Vec<Item>, Vec<Slot>), String> {
    let folded = fold(text);
    let (raws, slots) = Scanner::new(&folded, template).scan()?;
    Ok((interpret(&folded, raws), slots))
}

// ---------------------------------------------------------------------------------------------------------------
// Matching

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
struct Phrasing {
    text: String,
    items: Vec<Item>,
    slots: Vec<Slot>,
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

// ---------------------------------------------------------------------------------------------------------------
// Templates

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

    /// The SQL with every placeholder replaced by its value's literal. Every slot must have a value of its type.
    pub fn bind(&self, values: &[SlotBinding]) -> Result<String, Error> {
        for slot in &self.slots {
            let value = values.iter().find(|v| v.name == slot.name).map(|v| &v.value);
            let fits = matches!(
                (slot.ty, value),
                (SlotType::Int, Some(SlotValue::Int(_)))
                    | (SlotType::Number, Some(SlotValue::Number(_)))
                    | (SlotType::Text, Some(SlotValue::Text(_)))
                    | (SlotType::Date, Some(SlotValue::Date(_)))
                    | (SlotType::Year, Some(SlotValue::Year(_)))
                    | (SlotType::Month, Some(SlotValue::Month(_)))
            );
            if !fits {
                return Err(invalid(format!("the slot {{{}}} needs a value of type {}", slot.name, slot.ty)));
            }
        }
        let dialect = self.dialect;
        rewrite_placeholders(&self.sql, dialect, &mut |name| {
            let value = values
                .iter()
                .find(|v| v.name == name)
                .ok_or_else(|| invalid(format!("no value for the slot {{{name}}}")))?;
            slot_literal(dialect, &value.value)
        })
    }
}

/// Rebuilds `sql` with each `{name}` placeholder (the three tokens `{`, an unquoted word, `}`) replaced by
/// `replace(name)`; every other byte is kept. Any other brace is an error.
fn rewrite_placeholders(
    sql: &str,
    dialect: Dialect,
    replace: &mut dyn FnMut(&str) -> Result<String, Error>,
) -> Result<String, Error> {
    let tokens = Tokenizer::new(guard::parser_dialect(dialect), sql)
        .with_unescape(true)
        .tokenize_with_location()
        .map_err(|e| invalid(format!("the template's SQL does not parse: {e}")))?;
    let index = guard::LineIndex::new(sql);
    let mut offsets: Vec<usize> = Vec::with_capacity(tokens.len() + 1);
    for t in &tokens {
        let at = index.offset(t.span.start).ok_or_else(|| invalid("the template's SQL could not be located"))?;
        if offsets.last().is_some_and(|prev| at < *prev) {
            return Err(invalid("the template's SQL could not be located"));
        }
        offsets.push(at);
    }
    offsets.push(sql.len());
    let mut out = String::with_capacity(sql.len() + 16);
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].token {
            Token::LBrace => {
                let name = match (tokens.get(i + 1).map(|t| &t.token), tokens.get(i + 2).map(|t| &t.token)) {
                    (Some(Token::Word(w)), Some(Token::RBrace)) if w.quote_style.is_none() => w.value.clone(),
                    _ => {
                        return Err(invalid("a '{' in the SQL must start a placeholder {name}, with no spaces inside"));
                    }
                };
                let literal = replace(&name)?;
                // Keep the literal from gluing to a neighbouring word or quote.
                if out.ends_with(|c: char| c.is_alphanumeric() || matches!(c, '_' | '\'' | '"' | '`' | '$')) {
                    out.push(' ');
                }
                out.push_str(&literal);
                let rest = sql.get(offsets[i + 3]..).unwrap_or_default();
                if rest.starts_with(|c: char| c.is_alphanumeric() || matches!(c, '_' | '\'' | '"' | '`' | '$')) {
                    out.push(' ');
                }
                i += 3;
            }
            Token::RBrace => return Err(invalid("a '}' in the SQL without its placeholder '{'")),
            _ => {
                out.push_str(sql.get(offsets[i]..offsets[i + 1]).unwrap_or_default());
                i += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(phrasings: &[&str], sql: &str) -> QueryTemplate {
        match QueryTemplate::new(phrasings, sql, Dialect::Sqlite) {
            Ok(t) => t,
            Err(e) => panic!("template {phrasings:?} refused: {e}"),
        }
    }

    fn matched(t: &QueryTemplate, question: &str) -> Option<Vec<(String, String)>> {
        t.match_question(&NormalizedQuestion::new(question))
            .map(|m| m.values.into_iter().map(|b| (b.name, b.value.to_string())).collect())
    }

    fn values(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())
    }

    fn canonical(q: &str) -> String {
        NormalizedQuestion::new(q).canonical()
    }

    const MONTHLY_SQL: &str = "SELECT strftime('%m', order_date) AS month, sum(amount) AS revenue FROM orders \
                               WHERE strftime('%Y', order_date) = CAST({year} AS TEXT) GROUP BY 1 ORDER BY 1";

    #[test]
    fn the_issue_example_matches_across_languages() {
        let t = template(&["monthly revenue in {year:int}"], MONTHLY_SQL);
        assert_eq!(matched(&t, "2023년 월별 매출"), values(&[("year", "2023")]));
        assert_eq!(matched(&t, "monthly revenue in 2024"), values(&[("year", "2024")]));
        assert_eq!(matched(&t, "Monthly  Revenue, in 2024?"), values(&[("year", "2024")]));
        assert_eq!(matched(&t, "What was the monthly revenue in 2022"), values(&[("year", "2022")]));
        assert_eq!(matched(&t, "revenue by month for year 2021"), values(&[("year", "2021")]));
        assert_eq!(matched(&t, "2023년 월별매출을 알려줘"), values(&[("year", "2023")]));
        assert_eq!(matched(&t, "2023 년 월별 매출액 보여 줘"), values(&[("year", "2023")]));
        assert_eq!(matched(&t, "월별 매출 2020년도"), values(&[("year", "2020")]));
        // Both forms reduce to the same items.
        assert_eq!(canonical("2023년 월별 매출"), "2023<year> 월 매출");
        assert_eq!(t.canonical_phrasings(), vec!["month revenu {year:int}".to_string()]);
    }

    /// Each example question is answered by its own template with the example's values (what `eval --templates`
    /// relies on), for every slot type and for Korean units glued to a slot.
    #[test]
    fn examples_fill_every_slot_and_match_their_template() {
        let t = template(
            &[
                "top {n:int} products in {category:text} for {year:year}",
                "{year:year}년 {category:text} 상위 {n:int}개",
            ],
            "SELECT name FROM products WHERE category = {category} AND year = {year} LIMIT {n}",
        );
        let examples = t.examples();
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[0].0, "top 1 products in sample for 2024");
        assert_eq!(examples[1].0, "2024년 sample 상위 1개");
        for (question, values) in &examples {
            let m = t.match_question(&NormalizedQuestion::new(question)).expect(question);
            assert_eq!(&m.values, values, "{question}");
            let sql = t.bind(values).expect("bind");
            assert!(sql.contains("= 'sample'") && sql.ends_with("LIMIT 1"), "{sql}");
        }
        let dated = template(&["orders on {day:date} in month {m:month}"], "SELECT 1 WHERE {day} > '' AND {m} > 0");
        assert_eq!(dated.examples()[0].0, "orders on 2024-01-31 in month 1");
    }

    #[test]
    fn a_korean_phrasing_matches_english_and_spacing_variants() {
        let t = template(&["{year:int}년 월별 매출"], MONTHLY_SQL);
        assert_eq!(matched(&t, "2023년월별매출"), values(&[("year", "2023")]));
        assert_eq!(matched(&t, "2023년 월별 매출은?"), values(&[("year", "2023")]));
        assert_eq!(matched(&t, "monthly sales in 2023"), values(&[("year", "2023")]));
        assert_eq!(matched(&t, "2023년 월간 매출액 좀 보여주세요"), values(&[("year", "2023")]));
        // The written unit makes {year} a year: a month number does not fill it.
        assert_eq!(matched(&t, "3월 월별 매출"), None);
    }

    #[test]
    fn several_phrasings_and_the_first_that_matches() {
        let t = template(
            &["top {n:int} products by revenue", "매출 상위 {n:int}개 상품"],
            "SELECT name FROM products ORDER BY price DESC LIMIT {n}",
        );
        assert_eq!(matched(&t, "매출 상위 5개 상품"), values(&[("n", "5")]));
        assert_eq!(matched(&t, "상위 10개 상품 매출 알려줘"), values(&[("n", "10")]));
        assert_eq!(matched(&t, "Top 3 products by revenue"), values(&[("n", "3")]));
        assert_eq!(t.match_question(&NormalizedQuestion::new("매출 상위 5개 상품")).map(|m| m.phrasing), Some(0));
        assert_eq!(matched(&t, "top 3 customers by revenue"), None);
    }

    #[test]
    fn questions_that_must_not_match() {
        let t = template(&["monthly revenue in {year:int}"], MONTHLY_SQL);
        for q in [
            "monthly revenue",                     // the slot has no value
            "monthly revenue in 2023 by category", // an extra word
            "monthly revenue in 2023 and 2024",    // an extra number
            "weekly revenue in 2023",              // another word
            "monthly orders in 2023",              // another word
            "2023년 월별 주문",                    // another word
            "2023년 월별 매출 추이",               // an extra word
            "2023년 3월 매출",                     // month 3 is no "monthly"
            "monthly revenue in March",            // a month name is no year
            "monthly revenue in 2023.5",           // not an integer
            "revenue in 2023",                     // a word missing
            "알려줘",                              // nothing at all
            "",
        ] {
            assert_eq!(matched(&t, q), None, "{q:?} must not match");
        }
        let count = template(&["how many customers"], "SELECT count(*) FROM customers");
        assert!(matched(&count, "number of customers").is_some());
        assert!(matched(&count, "고객 수").is_some());
        assert!(matched(&count, "고객 몇 명?").is_some());
        assert_eq!(matched(&count, "list customers"), None);
        assert_eq!(matched(&count, "고객 목록"), None);
    }

    #[test]
    fn normalisation_of_case_spacing_punctuation_particles_and_jamo() {
        assert_eq!(canonical("Show me the ORDERS, please!"), "order");
        assert_eq!(canonical("고객들의 주문을"), "고객 주문");
        assert_eq!(canonical("고객별로 주문 수는?"), "고객 주문 수");
        assert_eq!(canonical("카테고리별 매출"), canonical("카테고리별매출"));
        assert_eq!(canonical("삼성 이마트 매출"), canonical("삼성이마트 매출"));
        assert_eq!(canonical("삼성 이마트 매출"), "삼성이마트 매출");
        // decomposed jamo (as macOS writes file names) and full-width digits
        assert_eq!(canonical("\u{1106}\u{1162}\u{110E}\u{116E}\u{11AF}"), "매출");
        assert_eq!(canonical("２０２３년"), "2023<year>");
        // 나이 (age) keeps its final 이; a one-syllable term is whole words only: 월요일 is not 월.
        assert_eq!(canonical("나이"), "나이");
        assert_eq!(canonical("월요일 매출"), "월요일 매출");
        // 5 주문 is five orders, not five weeks
        assert_eq!(canonical("5 주문"), "5 주문");
        assert_eq!(canonical("3개월"), "3<count> 월");
        assert_eq!(canonical("customer's orders in Q2"), "customer order 2<quarter>");
        assert_eq!(canonical("1,000 and 2.50 and -3 and 007"), "1000 2.5 -3 7");
        assert_eq!(canonical("2024-02-29 2023-02-29"), "2024-02-29 2023-02-29");
    }

    #[test]
    fn slot_types_accept_their_values_and_refuse_bad_ones() {
        let t = template(&["orders on {d:date}"], "SELECT count(*) FROM orders WHERE order_date = {d}");
        assert_eq!(matched(&t, "orders on 2024-03-01"), values(&[("d", "2024-03-01")]));
        assert_eq!(matched(&t, "orders on 2024/3/1"), values(&[("d", "2024-03-01")]));
        assert_eq!(matched(&t, "orders on 2023-02-29"), None);
        assert_eq!(matched(&t, "orders on 2024-13-01"), None);
        assert_eq!(matched(&t, "orders on yesterday"), None);

        let t = template(&["revenue in {m:month}"], "SELECT sum(amount) FROM orders WHERE month = {m}");
        assert_eq!(matched(&t, "revenue in March"), values(&[("m", "3")]));
        assert_eq!(matched(&t, "3월 매출"), values(&[("m", "3")]));
        assert_eq!(matched(&t, "revenue in 12"), values(&[("m", "12")]));
        assert_eq!(matched(&t, "revenue in 13"), None);
        assert_eq!(matched(&t, "2023년 매출"), None);

        let t = template(&["revenue in {y:year}"], "SELECT sum(amount) FROM orders WHERE y = {y}");
        assert_eq!(matched(&t, "revenue in 2024"), values(&[("y", "2024")]));
        assert_eq!(matched(&t, "revenue in 24"), None);
        assert_eq!(matched(&t, "revenue in 5개"), None);

        let t = template(&["products cheaper than {p:number}"], "SELECT name FROM products WHERE price < {p}");
        assert_eq!(matched(&t, "products cheaper than 2.50"), values(&[("p", "2.5")]));
        assert_eq!(matched(&t, "products cheaper than 1,200"), values(&[("p", "1200")]));
        assert_eq!(matched(&t, "products cheaper than cheap"), None);

        let t = template(&["orders of customer {name:text}"], "SELECT * FROM orders WHERE customer = {name}");
        assert_eq!(matched(&t, "orders of customer 'Alice Park'"), values(&[("name", "Alice Park")]));
        assert_eq!(matched(&t, "orders of customer O'Brien"), values(&[("name", "O'Brien")]));
        assert_eq!(matched(&t, "orders of customer \"O'Brien\""), values(&[("name", "O'Brien")]));
        assert_eq!(matched(&t, "orders of customer Alice Park"), None);
        assert_eq!(matched(&t, "orders of customer 42"), None);

        let t = template(&["{city:text} 지역 매출"], "SELECT sum(amount) FROM orders WHERE city = {city}");
        assert_eq!(matched(&t, "서울 지역 매출"), values(&[("city", "서울")]));
        assert_eq!(matched(&t, "서울의 지역 매출은?"), values(&[("city", "서울")]));
    }

    #[test]
    fn same_typed_slots_take_values_in_question_order() {
        let t = template(
            &["revenue from {start:year} to {end:year}", "{start:year}년부터 {end:year}년까지 매출"],
            "SELECT sum(amount) FROM orders WHERE y BETWEEN {start} AND {end}",
        );
        assert_eq!(matched(&t, "revenue from 2021 to 2023"), values(&[("start", "2021"), ("end", "2023")]));
        assert_eq!(matched(&t, "2020년부터 2022년까지 매출"), values(&[("start", "2020"), ("end", "2022")]));
        // types tell slots apart whatever the order
        let t =
            template(&["top {n:int} products in {year:year}"], "SELECT name FROM products WHERE y = {year} LIMIT {n}");
        assert_eq!(matched(&t, "2024년 상위 5개 상품"), values(&[("n", "5"), ("year", "2024")]));
        assert_eq!(matched(&t, "in 2024 top 5 products"), values(&[("n", "5"), ("year", "2024")]));
        // {n} comes first, but 5 is no year: the assignment that fits both wins
        assert_eq!(matched(&t, "top 2024 products in 5"), values(&[("n", "5"), ("year", "2024")]));
    }

    #[test]
    fn invalid_templates_are_refused_with_invalid_template() {
        let bad = |phrasings: &[&str], sql: &str| {
            QueryTemplate::new(phrasings, sql, Dialect::Sqlite).err().map(|e| (e.code, e.message))
        };
        let cases: &[(&[&str], &str, &str)] = &[
            (&["revenue in {year:int}"], "DELETE FROM orders WHERE y = {year}", "refused by the guard"),
            (&["revenue in {year:int}"], "SELECT * FROM orders WHERE y = {year}; DROP TABLE x", "guard"),
            (&["revenue in {year:int}"], "SELEC * FROM orders WHERE y = {year}", "guard"),
            (&["revenue in {year:int}"], "SELECT * FROM orders", "not used in the SQL"),
            (&["revenue"], "SELECT * FROM orders WHERE y = {year}", "no question declares"),
            (&["revenue in {year:int}"], "SELECT * FROM orders WHERE y = { year }", "no spaces inside"),
            (&["revenue in {year:int}"], "SELECT * FROM orders WHERE y = {year} }", "without its placeholder"),
            (&["revenue in {year:float}"], "SELECT {year}", "unknown slot type"),
            (&["revenue in {1year:int}"], "SELECT {1year}", "invalid slot name"),
            (&["revenue {a:int} {a:int}"], "SELECT {a}", "appears twice"),
            (&["revenue in {year:int"], "SELECT 1", "must start a slot"),
            (&["{year:int}"], "SELECT {year}", "no words"),
            (&["revenue in {y:int}", "매출"], "SELECT {y}", "same slots"),
            (&[], "SELECT 1", "at least one question"),
            (&["revenue"], "   ", "empty"),
        ];
        for (phrasings, sql, needle) in cases {
            match bad(phrasings, sql) {
                Some((code, message)) => {
                    assert_eq!(code, ErrorCode::InvalidTemplate, "{phrasings:?} {sql}");
                    assert!(message.contains(needle), "{phrasings:?} {sql}: {message}");
                }
                None => panic!("{phrasings:?} / {sql} was accepted"),
            }
        }
    }

    #[test]
    fn binding_quotes_values_and_leaves_string_literals_alone() {
        let t = template(
            &["orders of {name:text}"],
            "SELECT '{name}' AS label, name FROM customers WHERE name = {name} -- {name}\n",
        );
        let bound = t.bind(&[SlotBinding { name: "name".into(), value: SlotValue::Text("O'Brien".into()) }]);
        assert_eq!(
            bound.as_deref().ok(),
            Some("SELECT '{name}' AS label, name FROM customers WHERE name = 'O''Brien' -- {name}")
        );
        let injection = SlotValue::Text("x' OR '1'='1".into());
        let bound = t.bind(&[SlotBinding { name: "name".into(), value: injection }]).unwrap_or_default();
        assert!(bound.contains("= 'x'' OR ''1''=''1'"), "{bound}");
        assert!(guard::check(&bound, Dialect::Sqlite, &Policy::default()).is_ok());
        // a missing or mistyped value is refused
        assert!(t.bind(&[]).is_err());
        assert!(t.bind(&[SlotBinding { name: "name".into(), value: SlotValue::Int(1) }]).is_err());
    }

    #[test]
    fn literals_per_dialect_including_mysql_backslashes() {
        let text = SlotValue::Text("a\\'b".into());
        assert_eq!(slot_literal(Dialect::Sqlite, &text).ok().as_deref(), Some("'a\\''b'"));
        assert_eq!(slot_literal(Dialect::Mysql, &text).ok().as_deref(), Some("'a\\\\''b'"));
        assert_eq!(slot_literal(Dialect::Postgres, &text).ok().as_deref(), Some("E'a\\\\''b'"));
        assert_eq!(slot_literal(Dialect::Mysql, &SlotValue::Int(5)).ok().as_deref(), Some("5"));
        assert_eq!(slot_literal(Dialect::Sqlite, &SlotValue::Int(-5)).ok().as_deref(), Some("(-5)"));
        assert_eq!(slot_literal(Dialect::Sqlite, &SlotValue::Number("-0.5".into())).ok().as_deref(), Some("(-0.5)"));
        assert!(slot_literal(Dialect::Sqlite, &SlotValue::Number("1; DROP".into())).is_err());
        assert_eq!(
            slot_literal(Dialect::Sqlite, &SlotValue::Date("2024-03-01".into())).ok().as_deref(),
            Some("'2024-03-01'")
        );

        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            let t =
                QueryTemplate::new(&["customer {name:text}"], "SELECT id FROM customers WHERE name = {name}", dialect);
            let t = t.unwrap_or_else(|e| panic!("{dialect}: {e}"));
            let value = SlotValue::Text("O'Brien \\' OR 1=1 -- ".into());
            let bound = t.bind(&[SlotBinding { name: "name".into(), value }]).unwrap_or_default();
            // the bound SQL is still one query comparing name with one literal
            assert!(guard::check(&bound, dialect, &Policy::default()).is_ok(), "{dialect}: {bound}");
            assert!(!bound.contains("= {name}"), "{bound}");
        }
    }

    #[test]
    fn numbers_keep_clear_of_comments_and_neighbours() {
        let t = template(&["orders minus {n:int}"], "SELECT id -{n} FROM orders LIMIT{n}");
        let bound = t.bind(&[SlotBinding { name: "n".into(), value: SlotValue::Int(-1) }]).unwrap_or_default();
        assert_eq!(bound, "SELECT id -(-1) FROM orders LIMIT (-1)");
        let bound = t.bind(&[SlotBinding { name: "n".into(), value: SlotValue::Int(7) }]).unwrap_or_default();
        assert_eq!(bound, "SELECT id -7 FROM orders LIMIT 7");
    }

    #[test]
    fn stored_templates_read_without_the_guard_but_still_check_structure() {
        assert!(QueryTemplate::from_stored(&["revenue"], "DELETE FROM x", Dialect::Sqlite).is_ok());
        assert!(QueryTemplate::from_stored(&["revenue {y:int}"], "SELECT 1", Dialect::Sqlite).is_err());
    }

    proptest::proptest! {
        /// Arbitrary text (and text built from the characters the rules care about) never panics the reader, and a
        /// phrasing always matches itself when its slot is filled the way a question writes it.
        #[test]
        fn reading_never_panics_and_a_phrasing_matches_itself(
            q in proptest::prop_oneof![
                "\\PC{0,60}",
                "[0-9a-zA-Z{}:,.'\"“” \u{1100}\u{1161}\u{11a8}월별매출년의을가알려줘-]{0,30}"
            ],
            words in proptest::collection::vec("[a-z]{2,8}|매출|고객|주문|월별|서울", 1..5),
            year in 1000i64..=9999,
        ) {
            let _ = NormalizedQuestion::new(&q).canonical();
            let _ = QueryTemplate::from_stored(&[q.as_str()], "SELECT {x}", Dialect::Sqlite);
            let phrasing = format!("{} {{y:year}}", words.join(" "));
            if let Ok(t) = QueryTemplate::from_stored(&[phrasing.as_str()], "SELECT {y}", Dialect::Sqlite) {
                let question = format!("{} {year}", words.join(" "));
                let m = t.match_question(&NormalizedQuestion::new(&question));
                proptest::prop_assert_eq!(
                    m.map(|m| m.values),
                    Some(vec![SlotBinding { name: "y".into(), value: SlotValue::Year(year) }]),
                    "{}", question
                );
            }
        }
    }

    #[test]
    fn matching_is_bounded_and_never_panics_on_odd_input() {
        let t = template(&["monthly revenue in {year:int}"], MONTHLY_SQL);
        for q in [
            "{",
            "}",
            "'",
            "\"unclosed",
            "‘",
            "-",
            "--5",
            "9".repeat(40).as_str(),
            "ㅋㅋㅋ",
            "\u{1100}",
            "q5",
            "0.",
            "1,00",
        ] {
            let _ = matched(&t, q);
        }
        let long = "매출 ".repeat(600);
        assert_eq!(matched(&t, &long), None);
    }
}
