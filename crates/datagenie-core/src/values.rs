//! Value linking: the cell values of a database's text columns, indexed so a question's words find the values they
//! mean even when the question does not spell them as the data does — another case or spacing (`jetblue` →
//! `JetBlue Airways`, `north carolina` → `NorthCarolina`), a misspelling (`Jetbleu`), a derived form (`French` →
//! `France`, `Korean` → `Korea` / `한국`), Korean with its particles (`서울에서` → `서울`). No IO: the values come from
//! the caller (read through the guard, within the asker's policy, personal-data columns left out unless allowed).
//!
//! Lookup, for each word and each run of up to three words of the question: whole values by normalized text (case,
//! spaces and punctuation ignored), then the words of values, then derived forms through a small cross-lingual
//! lexicon, then near spellings (character n-grams to find candidates, edit distance to confirm). The best few
//! matches are returned with what they matched and how.

use std::collections::HashMap;

use crate::hangul::contains_hangul;

/// One indexed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedValue {
    pub table: String,
    pub column: String,
    pub value: String,
}

/// How a value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The value itself, in another case or spacing.
    Exact,
    /// A word of the value.
    Word,
    /// A derived form (`French` for `France`).
    Derived,
    /// A near spelling.
    Fuzzy,
}

/// A value a question's phrase links to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ValueMatch {
    pub table: String,
    pub column: String,
    pub value: String,
    /// The question's words it matched.
    pub matched: String,
    pub kind: MatchKind,
    /// 1.0 for an exact match, lower for weaker ones.
    pub score: f32,
}

/// The most matches a lookup returns.
pub const MAX_MATCHES: usize = 12;
/// Trigram postings longer than this carry no information (too common) and are skipped in fuzzy lookup.
const MAX_POSTING: usize = 2_000;
/// A word shared by more values than this singles none of them out ("United" in a thousand airline names): it is
/// not linked on its own (the whole value still is).
const MAX_WORD_VALUES: usize = 64;
/// Values one key contributes to a lookup at most (a value repeated in hundreds of columns).
const MAX_PER_KEY: usize = 4 * MAX_MATCHES;

/// The index of one database's values.
#[derive(Debug, Default)]
pub struct ValueIndex {
    values: Vec<IndexedValue>,
    /// Normalized whole value → value ids.
    whole: HashMap<String, Vec<u32>>,
    /// Normalized word of a multi-word value → value ids.
    words: HashMap<String, Vec<u32>>,
    /// Character n-gram of a normalized key (whole values and words) → key ids in `keys`.
    grams: HashMap<String, Vec<u32>>,
    /// Keys the n-grams point to: the normalized text and the values it stands for.
    keys: Vec<(String, Vec<u32>)>,
}

/// Lower case, letters, digits and Hangul only: `North Carolina` and `NorthCarolina` are both `northcarolina`.
pub fn normalize(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// The words of a text: runs of letters, digits and Hangul.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect()
}

/// Character n-grams of a normalized key: bigrams for Hangul (its words are short), trigrams otherwise.
fn grams(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let n = if contains_hangul(key) { 2 } else { 3 };
    if chars.len() < n {
        return vec![key.to_string()];
    }
    chars.windows(n).map(|w| w.iter().collect()).collect()
}

/// Demonyms and adjectives to the names data stores (both directions are tried), English and Korean.
const LEXICON: &[(&str, &[&str])] = &[
    ("french", &["france", "프랑스"]),
    ("korean", &["korea", "southkorea", "한국", "대한민국"]),
    ("american", &["usa", "us", "unitedstates", "america", "미국"]),
    ("british", &["uk", "unitedkingdom", "britain", "england", "영국"]),
    ("english", &["england", "uk", "영국"]),
    ("german", &["germany", "독일"]),
    ("japanese", &["japan", "일본"]),
    ("chinese", &["china", "중국"]),
    ("italian", &["italy", "이탈리아"]),
    ("spanish", &["spain", "스페인"]),
    ("canadian", &["canada", "캐나다"]),
    ("dutch", &["netherlands", "holland", "네덜란드"]),
    ("australian", &["australia", "호주"]),
    ("brazilian", &["brazil", "브라질"]),
    ("mexican", &["mexico", "멕시코"]),
    ("indian", &["india", "인도"]),
    ("russian", &["russia", "러시아"]),
    ("swedish", &["sweden", "스웨덴"]),
    ("swiss", &["switzerland", "스위스"]),
    ("belgian", &["belgium", "벨기에"]),
    ("irish", &["ireland", "아일랜드"]),
    ("polish", &["poland", "폴란드"]),
    ("greek", &["greece", "그리스"]),
    ("turkish", &["turkey", "터키"]),
    ("vietnamese", &["vietnam", "베트남"]),
    ("한국인", &["한국", "korea"]),
    ("일본인", &["일본", "japan"]),
    ("미국인", &["미국", "usa"]),
    ("중국인", &["중국", "china"]),
];

/// The forms a normalized word may stand for: the lexicon's names, and singular forms of an English plural.
fn derived(word: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (adjective, names) in LEXICON {
        if *adjective == word {
            out.extend(names.iter().map(|n| n.to_string()));
        }
        if names.contains(&word) {
            out.push(adjective.to_string());
        }
    }
    if word.is_ascii() && word.len() > 3 {
        if let Some(stem) = word.strip_suffix("ies") {
            out.push(format!("{stem}y"));
        } else if let Some(stem) = word.strip_suffix("es") {
            out.push(stem.to_string());
            out.push(format!("{stem}e"));
        } else if let Some(stem) = word.strip_suffix('s') {
            out.push(stem.to_string());
        }
    }
    out
}

/// Whether the edit distance of `a` and `b` is at most `max`: insertions, deletions, substitutions and swaps of two
/// neighbouring characters (`jetbleu` → `jetblue` is one edit) — optimal string alignment, stopping early once the
/// distance must exceed `max`.
fn within_distance(a: &str, b: &str, max: usize) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut best = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let mut d = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost);
            if i > 0 && j > 0 && *ca == b[j - 1] && a[i - 1] == *cb {
                d = d.min(before[j - 1] + 1);
            }
            cur[j + 1] = d;
            best = best.min(d);
        }
        if best > max {
            return false;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()] <= max
}

impl ValueIndex {
    /// Indexes `values` (empty and over-long values are skipped; repeats within a column are kept once).
    pub fn build(values: impl IntoIterator<Item = IndexedValue>) -> ValueIndex {
        let mut index = ValueIndex::default();
        let mut seen: HashMap<(String, String, String), ()> = HashMap::new();
        let mut key_ids: HashMap<String, u32> = HashMap::new();
        for v in values {
            let norm = normalize(&v.value);
            if norm.is_empty() || v.value.chars().count() > 100 {
                continue;
            }
            if seen.insert((v.table.clone(), v.column.clone(), norm.clone()), ()).is_some() {
                continue;
            }
            let id = index.values.len() as u32;
            let mut keys = vec![norm.clone()];
            index.whole.entry(norm).or_default().push(id);
            let parts = words(&v.value);
            if parts.len() > 1 {
                for w in parts {
                    let w = normalize(w);
                    // Numbers inside values (`10` of `2024-10-01`) name nothing on their own.
                    if w.chars().count() >= 2 && !w.chars().all(|c| c.is_ascii_digit()) {
                        index.words.entry(w.clone()).or_default().push(id);
                        keys.push(w);
                    }
                }
            }
            for key in keys {
                let next = index.keys.len() as u32;
                let k = *key_ids.entry(key.clone()).or_insert(next);
                if k == next {
                    for g in grams(&key) {
                        index.grams.entry(g).or_default().push(k);
                    }
                    index.keys.push((key, vec![id]));
                } else if let Some((_, ids)) = index.keys.get_mut(k as usize) {
                    ids.push(id);
                }
            }
            index.values.push(v);
        }
        index
    }

    /// Values indexed.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values `question` links to, best first, at most [`MAX_MATCHES`].
    pub fn lookup(&self, question: &str) -> Vec<ValueMatch> {
        let raw: Vec<&str> = words(question);
        // Korean words without their particles (`서울에서` → `서울`).
        let tokens: Vec<String> =
            raw.iter().map(|w| crate::linking::strip_particles(w).to_string()).filter(|w| !w.is_empty()).collect();
        let mut found: Vec<ValueMatch> = Vec::new();
        let push = |ids: &[u32], matched: &str, kind: MatchKind, score: f32, found: &mut Vec<ValueMatch>| {
            for &id in ids.iter().take(MAX_PER_KEY) {
                if let Some(v) = self.values.get(id as usize) {
                    found.push(ValueMatch {
                        table: v.table.clone(),
                        column: v.column.clone(),
                        value: v.value.clone(),
                        matched: matched.to_string(),
                        kind,
                        score,
                    });
                }
            }
        };
        // Runs of one to three words, as whole values.
        for n in (1..=3).rev() {
            for run in tokens.windows(n) {
                let text = run.join(" ");
                let norm = normalize(&text);
                if norm.chars().count() < 2 {
                    continue;
                }
                if let Some(ids) = self.whole.get(&norm) {
                    push(ids, &text, MatchKind::Exact, 1.0, &mut found);
                }
            }
        }
        for token in &tokens {
            let norm = normalize(token);
            if norm.chars().count() < 2 || STOP_WORDS.contains(&norm.as_str()) {
                continue;
            }
            if let Some(ids) = self.words.get(&norm).filter(|ids| ids.len() <= MAX_WORD_VALUES) {
                push(ids, token, MatchKind::Word, 0.8, &mut found);
            }
            for form in derived(&norm) {
                if let Some(ids) = self.whole.get(&form) {
                    push(ids, token, MatchKind::Derived, 0.7, &mut found);
                }
                if let Some(ids) = self.words.get(&form).filter(|ids| ids.len() <= MAX_WORD_VALUES) {
                    push(ids, token, MatchKind::Derived, 0.6, &mut found);
                }
            }
            if !self.whole.contains_key(&norm) && !self.words.contains_key(&norm) {
                for (key, ids) in self.near(&norm) {
                    let score = 0.5 * similarity(&norm, key);
                    push(ids, token, MatchKind::Fuzzy, score, &mut found);
                }
            }
        }
        // Best first; one match per value.
        found.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.kind.cmp(&b.kind)));
        let mut seen = std::collections::HashSet::new();
        found.retain(|m| seen.insert((m.table.clone(), m.column.clone(), m.value.clone())));
        found.truncate(MAX_MATCHES);
        found
    }

    /// Keys within a small edit distance of `word` (at least four characters; one edit per four characters).
    fn near(&self, word: &str) -> Vec<(&str, &[u32])> {
        let len = word.chars().count();
        // Short words are near too many others ("they" → "the", "live" → "olive"); Hangul words are short.
        let shortest = if contains_hangul(word) { 3 } else { 5 };
        if len < shortest || word.chars().all(|c| c.is_ascii_digit()) {
            return Vec::new();
        }
        let max = (len / 4).max(1);
        let mut counts: HashMap<u32, u32> = HashMap::new();
        let word_grams = grams(word);
        // Grams too common to tell keys apart are not counted, and not required either.
        let mut consulted = 0u32;
        for g in &word_grams {
            if let Some(posting) = self.grams.get(g)
                && posting.len() <= MAX_POSTING
            {
                consulted += 1;
                for &k in posting {
                    *counts.entry(k).or_default() += 1;
                }
            }
        }
        let needed = consulted.saturating_sub(max as u32 * 3).max(1);
        let mut near: Vec<(&str, &[u32])> = counts
            .into_iter()
            .filter(|(_, c)| *c >= needed)
            .filter_map(|(k, _)| self.keys.get(k as usize))
            .filter(|(key, ids)| ids.len() <= MAX_WORD_VALUES && key.chars().count() >= shortest)
            .filter(|(key, _)| within_distance(word, key, max))
            .map(|(key, ids)| (key.as_str(), ids.as_slice()))
            .collect();
        near.sort_by(|a, b| a.0.cmp(b.0));
        near.truncate(MAX_MATCHES);
        near
    }
}

/// How alike two keys are, 0 to 1 (shared n-grams, Dice).
fn similarity(a: &str, b: &str) -> f32 {
    let (ga, gb) = (grams(a), grams(b));
    let shared = ga.iter().filter(|g| gb.contains(g)).count();
    (2 * shared) as f32 / (ga.len() + gb.len()).max(1) as f32
}

/// Words too common to link on their own.
const STOP_WORDS: &[&str] = &[
    "the", "and", "for", "with", "from", "what", "which", "who", "how", "many", "much", "are", "is", "of", "in", "by",
    "all", "each", "per", "show", "list", "number", "count", "total", "average", "name", "names",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn v(table: &str, column: &str, value: &str) -> IndexedValue {
        IndexedValue { table: table.into(), column: column.into(), value: value.into() }
    }

    fn index() -> ValueIndex {
        ValueIndex::build([
            v("singer", "country", "France"),
            v("singer", "country", "United States"),
            v("singer", "country", "Korea"),
            v("airlines", "name", "JetBlue Airways"),
            v("airlines", "name", "United Airlines"),
            v("state", "name", "NorthCarolina"),
            v("stores", "city", "서울"),
            v("stores", "city", "부산"),
            v("pets", "type", "dog"),
            v("pets", "type", "dog"),
            v("pets", "type", ""),
        ])
    }

    fn first(index: &ValueIndex, q: &str) -> Option<(String, MatchKind)> {
        index.lookup(q).into_iter().next().map(|m| (m.value, m.kind))
    }

    #[test]
    fn values_are_found_as_people_write_them() {
        let i = index();
        assert_eq!(i.len(), 9, "empty and repeated values are not indexed");
        assert_eq!(first(&i, "singers from france"), Some(("France".into(), MatchKind::Exact)));
        assert_eq!(first(&i, "cities in north carolina"), Some(("NorthCarolina".into(), MatchKind::Exact)));
        assert_eq!(first(&i, "flights of Jetblue"), Some(("JetBlue Airways".into(), MatchKind::Word)));
        assert_eq!(first(&i, "How many French singers?"), Some(("France".into(), MatchKind::Derived)));
        assert_eq!(first(&i, "Korean singers"), Some(("Korea".into(), MatchKind::Derived)));
        assert_eq!(first(&i, "서울에서 매출"), Some(("서울".into(), MatchKind::Exact)));
        assert_eq!(first(&i, "how many dogs"), Some(("dog".into(), MatchKind::Derived)));
        assert_eq!(first(&i, "flights of Jetbleu Airwais"), Some(("JetBlue Airways".into(), MatchKind::Fuzzy)));
        assert_eq!(first(&i, "average age of all singers"), None);
        let m = &i.lookup("singers from France")[0];
        assert_eq!(
            (m.table.as_str(), m.column.as_str(), m.matched.as_str()),
            ("singer", "country", "France"),
            "the words as the question wrote them"
        );
    }

    #[test]
    fn edit_distance_is_bounded() {
        assert!(within_distance("jetbleu", "jetblue", 1), "a swap of neighbours is one edit");
        assert!(!within_distance("jteblue", "jetblue", 0));
        assert!(!within_distance("bluejet", "jetblue", 2));
        assert!(within_distance("airwais", "airways", 1));
        assert!(!within_distance("abc", "abcdefgh", 2));
        assert!(within_distance("", "", 0));
    }
}
