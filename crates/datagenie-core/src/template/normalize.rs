//! Normalisation: a question or a phrasing to items (see the module documentation of [`crate::template`]). Text is
//! folded (jamo composed, full-width ASCII), scanned into numbers with units, dates, quoted phrases, slots, Latin
//! words and Hangul runs, then interpreted: English phrases, stop words and synonyms; Korean words without their
//! particles, read without spaces into known terms, fillers and unknown words.

use crate::hangul::is_hangul;
use crate::linking::{stem, strip_particles};

use super::MAX_SLOTS;
use super::items::{Item, Lang, Num, Unit, Word};
use super::slots::{self, MAX_SLOT_NAME_CHARS, Slot};
use super::vocab::{EN_STOP, EN_SYNONYMS, KO_UNITS, Leftover, MONTHS, classify_leftover, ko_term_at, ko_word};

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

    /// Adds the slot `spec` (what is between the braces) declares; a name may appear once per phrasing.
    fn add_slot(&mut self, spec: &str) -> Result<usize, String> {
        let slot = slots::parse_spec(spec)?;
        if self.slots.iter().any(|s| s.name == slot.name) {
            return Err(format!("the slot {{{}}} appears twice in one phrasing", slot.name));
        }
        if self.slots.len() >= MAX_SLOTS {
            return Err(format!("a template has at most {MAX_SLOTS} slots"));
        }
        self.slots.push(slot);
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
    crate::calendar::is_valid_date(y, m, d)
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
pub(super) fn normalize(text: &str, template: bool) -> Result<(Vec<Item>, Vec<Slot>), String> {
    let folded = fold(text);
    let (raws, slots) = Scanner::new(&folded, template).scan()?;
    Ok((interpret(&folded, raws), slots))
}
