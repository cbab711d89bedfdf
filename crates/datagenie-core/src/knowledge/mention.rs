//! Which glossary terms a question names, literally: the term or one of its synonyms, whatever the case and spacing,
//! with Korean particles after it and English plural (and other light) endings.
//!
//! A phrase's *key* is its words (runs of letters and digits, split where Hangul meets other script) lower-cased and
//! concatenated, the last word stemmed ([`crate::linking::stem`]). The question matches a key with a run of its own
//! words starting at a word: so `활성고객` and `활성 고객` both match `활성 고객`, `active customers` matches
//! `active customer`, and `activate` or `reactive customers` do not. The run's last word is tried as written and
//! without trailing particles ([`crate::linking::strip_particles`]); a key ending in Hangul (two or more characters)
//! also matches the start of a longer Hangul word (`활성고객수` holds `활성 고객`), as Korean compounds are written
//! without spaces. Lookups are hash probes, so the cost does not grow with the glossary; a question's scan is
//! linear in its words (runs of at most [`MAX_KEY_WORDS`] + [`SPACING_SLACK`] words, keys of at most
//! [`MAX_KEY_BYTES`]).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::GlossaryEntry;
use crate::hangul::is_hangul;
use crate::linking::{stem, strip_particles};

/// The keys of every term and synonym of a glossary.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mentions {
    /// Key → glossary entries holding it (ascending).
    exact: HashMap<String, Vec<usize>>,
    /// Keys that end in Hangul and have two or more characters: they also match a prefix of a Hangul word.
    prefix: HashMap<String, Vec<usize>>,
    /// The byte lengths of `exact`'s and `prefix`'s keys: a candidate of another length is not looked up.
    exact_lengths: HashSet<usize>,
    prefix_lengths: HashSet<usize>,
    /// The longest key, in bytes: a run of question words longer than this cannot match.
    max_len: usize,
    /// The most words in a key, plus [`SPACING_SLACK`]: a run of more question words is not tried.
    max_words: usize,
}

/// Extra words a question's run may have over the key's, for spaces the question puts inside a term's word.
const SPACING_SLACK: usize = 3;
/// Phrases of more words, or longer keys (bytes), are not looked for: no one writes such a term in a question, and
/// they would make every question's scan long. (Validated terms have at most 200 characters.)
const MAX_KEY_WORDS: usize = 16;
const MAX_KEY_BYTES: usize = 1024;

/// A question word as a run's last word is compared: stemmed as written and stemmed without particles, and where a
/// Hangul prefix may end (byte offsets with Hangul on both sides).
struct QuestionWord {
    text: String,
    last: Vec<String>,
    cuts: Vec<usize>,
}

impl Mentions {
    pub(crate) fn build(glossary: &[GlossaryEntry]) -> Mentions {
        let mut m = Mentions::default();
        for (i, entry) in glossary.iter().enumerate() {
            for phrase in std::iter::once(&entry.term).chain(&entry.synonyms) {
                let Some(key) = phrase_key(phrase) else { continue };
                let n_words = words(phrase).len();
                if n_words > MAX_KEY_WORDS || key.len() > MAX_KEY_BYTES {
                    continue;
                }
                m.max_len = m.max_len.max(key.len());
                m.max_words = m.max_words.max(n_words + SPACING_SLACK);
                if key.chars().count() >= 2 && key.chars().next_back().is_some_and(is_hangul) {
                    m.prefix_lengths.insert(key.len());
                    push_unique(m.prefix.entry(key.clone()).or_default(), i);
                }
                m.exact_lengths.insert(key.len());
                push_unique(m.exact.entry(key).or_default(), i);
            }
        }
        m
    }

    /// The glossary entries the question mentions, ascending.
    pub(crate) fn find(&self, question: &str) -> Vec<usize> {
        if self.exact.is_empty() {
            return Vec::new();
        }
        let words: Vec<QuestionWord> = words(question).into_iter().map(|w| self.question_word(w)).collect();
        let mut hits: BTreeSet<usize> = BTreeSet::new();
        let mut candidate = String::new();
        let mut before = String::new(); // the run's words before its last, concatenated
        for start in 0..words.len() {
            before.clear();
            for word in words.iter().skip(start).take(self.max_words) {
                if before.len() >= self.max_len {
                    break;
                }
                for last in &word.last {
                    if self.exact_lengths.contains(&(before.len() + last.len())) {
                        candidate.clear();
                        candidate.push_str(&before);
                        candidate.push_str(last);
                        hits.extend(self.exact.get(&candidate).into_iter().flatten());
                    }
                }
                for &cut in &word.cuts {
                    if self.prefix_lengths.contains(&(before.len() + cut)) {
                        candidate.clear();
                        candidate.push_str(&before);
                        candidate.push_str(&word.text[..cut]);
                        hits.extend(self.prefix.get(&candidate).into_iter().flatten());
                    }
                }
                before.push_str(&word.text);
            }
        }
        hits.into_iter().collect()
    }

    fn question_word(&self, text: String) -> QuestionWord {
        let mut last = Vec::with_capacity(2);
        for variant in [text.as_str(), strip_particles(&text)] {
            let mut v = variant.to_string();
            stem(&mut v);
            if !last.contains(&v) {
                last.push(v);
            }
        }
        let mut cuts = Vec::new();
        if !self.prefix.is_empty() {
            let mut prev: Option<char> = None;
            for (cut, c) in text.char_indices() {
                if cut > self.max_len {
                    break;
                }
                if prev.is_some_and(is_hangul) && is_hangul(c) {
                    cuts.push(cut);
                }
                prev = Some(c);
            }
        }
        QuestionWord { text, last, cuts }
    }
}

fn push_unique(list: &mut Vec<usize>, i: usize) {
    if list.last() != Some(&i) {
        list.push(i);
    }
}

/// A phrase's key (see the module documentation); `None` when it has no letter or digit.
pub(crate) fn phrase_key(phrase: &str) -> Option<String> {
    let mut words = words(phrase);
    let mut last = words.pop()?;
    stem(&mut last);
    let mut key = words.concat();
    key.push_str(&last);
    Some(key)
}

/// Runs of letters and digits, lower-cased, split where Hangul meets another script.
fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut hangul_run = false;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let h = is_hangul(c);
        if !current.is_empty() && h != hangul_run {
            out.push(std::mem::take(&mut current));
        }
        hangul_run = h;
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(term: &str, synonyms: &[&str]) -> GlossaryEntry {
        GlossaryEntry {
            term: term.into(),
            synonyms: synonyms.iter().map(|s| s.to_string()).collect(),
            definition: String::new(),
            sql: None,
            table: None,
        }
    }

    fn glossary() -> Vec<GlossaryEntry> {
        vec![
            entry("활성 고객", &["active customer", "active customers"]),
            entry("GMV", &["총 거래액"]),
            entry("Q1 revenue", &[]),
            entry("churn rate", &["이탈률"]),
            entry("VIP", &[]),
        ]
    }

    fn found(question: &str) -> Vec<usize> {
        Mentions::build(&glossary()).find(question)
    }

    #[test]
    fn korean_terms_with_particles_and_any_spacing() {
        assert_eq!(found("활성 고객은 몇 명이야?"), vec![0]);
        assert_eq!(found("활성고객은 몇 명이야?"), vec![0]);
        assert_eq!(found("지난달 활성고객수를 보여줘"), vec![0], "a compound starting with the term");
        assert_eq!(found("이탈률이 가장 높은 달은?"), vec![3]);
        assert_eq!(found("총거래액 추이"), vec![1]);
        assert!(found("고객 수").is_empty(), "half a term is not a mention");
        assert!(found("비활성 고객").is_empty(), "a term is matched from the start of a word");
    }

    #[test]
    fn english_terms_case_plurals_and_word_bounds() {
        assert_eq!(found("How many active customers?"), vec![0]);
        assert_eq!(found("ACTIVE CUSTOMER count"), vec![0]);
        assert_eq!(found("What was the gmv last month"), vec![1]);
        assert_eq!(found("q1 revenues by region"), vec![2]);
        assert_eq!(found("churn-rate by month"), vec![3]);
        assert!(found("activate the customers").is_empty());
        assert!(found("reactive customers").is_empty());
        assert_eq!(found("gmvs and churn"), vec![1]);
        assert_eq!(found("VIP고객은 몇 명?"), vec![4], "Latin next to Hangul is its own word");
    }

    #[test]
    fn several_terms_in_glossary_order() {
        assert_eq!(found("이탈률 of active customers and GMV"), vec![0, 1, 3]);
    }

    #[test]
    fn keys_are_spacing_and_case_insensitive() {
        assert_eq!(phrase_key("Active  Customers"), phrase_key("active customer"));
        assert_eq!(phrase_key("활성고객"), phrase_key("활성 고객"));
        assert_eq!(phrase_key("?!"), None);
    }

    #[test]
    fn odd_input_never_panics() {
        let long = entry(&"a ".repeat(500), &["b ".repeat(16).as_str()]);
        let m = Mentions::build(&[entry("", &["", "  ", "-"]), entry("한", &["x"]), long]);
        for q in ["", "\u{0}", "한한한한", &"한".repeat(50_000), &"a ".repeat(20_000), "\u{1F600}\u{0301}x"] {
            let _ = m.find(q);
        }
        assert_eq!(m.find("한 이다"), vec![1]);
        assert_eq!(m.find(&"b ".repeat(17)), vec![2], "a 16-word synonym is still looked for");
        assert!(m.find(&"a ".repeat(500)).is_empty(), "a 500-word term is not");
    }
}
