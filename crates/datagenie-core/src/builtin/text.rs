//! Question text → tokens: words (lower-cased and stemmed), Hangul words (particles stripped), numbers, quoted
//! strings and punctuation, each with its byte span in the question so value matching can read the original text.

use crate::hangul::is_hangul;
use crate::linking::{stem, strip_particles};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokKind {
    Word,
    Hangul,
    Number,
    Quoted,
    Punct,
}

#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub kind: TokKind,
    /// Lower-cased text (for `Quoted`: the content as written, not lower-cased).
    pub lower: String,
    /// English stem, or the Hangul word without trailing particles.
    pub stem: String,
    /// Byte span in the question (for `Quoted`: the content, without the quotes).
    pub start: usize,
    pub end: usize,
    /// The number a `Number` token holds, or a number word's value ("two").
    pub num: Option<f64>,
    /// Starts with an upper-case letter as written (a proper-noun hint for value matching).
    pub capitalized: bool,
    /// Hangul only: the word ended in 별 (per), 마다 or 당, i.e. "per X".
    pub per_suffix: bool,
}

/// Number words that are read as numbers where a number is expected ("at least two").
fn number_word(w: &str) -> Option<f64> {
    const WORDS: &[(&str, f64)] = &[
        ("zero", 0.0),
        ("one", 1.0),
        ("two", 2.0),
        ("three", 3.0),
        ("four", 4.0),
        ("five", 5.0),
        ("six", 6.0),
        ("seven", 7.0),
        ("eight", 8.0),
        ("nine", 9.0),
        ("ten", 10.0),
        ("eleven", 11.0),
        ("twelve", 12.0),
        ("fifteen", 15.0),
        ("twenty", 20.0),
        ("hundred", 100.0),
        ("once", 1.0),
        ("twice", 2.0),
    ];
    WORDS.iter().find(|(n, _)| *n == w).map(|(_, v)| *v)
}

/// Closing quote for an opening one.
fn closer(open: char) -> Option<&'static [char]> {
    match open {
        '"' => Some(&['"', '”']),
        '“' => Some(&['”', '"']),
        '\'' => Some(&['\'', '’']),
        '‘' => Some(&['’', '\'']),
        '`' => Some(&['`']),
        '「' => Some(&['」']),
        _ => None,
    }
}

pub(crate) fn tokenize(q: &str) -> Vec<Tok> {
    let chars: Vec<(usize, char)> = q.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map(|(b, _)| *b).unwrap_or(q.len());
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (b, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        // Quoted strings: an opening quote not glued to a word (so possessives stay words).
        if let Some(closers) = closer(c) {
            let glued = i > 0 && chars[i - 1].1.is_alphanumeric();
            if !glued {
                let mut j = i + 1;
                let mut found = None;
                while j < chars.len() && j <= i + 120 {
                    let cj = chars[j].1;
                    if closers.contains(&cj) {
                        let next_ok = chars.get(j + 1).is_none_or(|(_, n)| !n.is_alphanumeric());
                        if next_ok {
                            found = Some(j);
                            break;
                        }
                    }
                    j += 1;
                }
                if let Some(j) = found {
                    let content = q[end_of(i + 1)..chars[j].0].trim();
                    if !content.is_empty() {
                        let start = end_of(i + 1)
                            + (q[end_of(i + 1)..chars[j].0].len() - q[end_of(i + 1)..chars[j].0].trim_start().len());
                        out.push(Tok {
                            kind: TokKind::Quoted,
                            lower: content.to_string(),
                            stem: content.to_lowercase(),
                            start,
                            end: start + content.len(),
                            num: None,
                            capitalized: content.chars().next().is_some_and(char::is_uppercase),
                            per_suffix: false,
                        });
                    }
                    i = j + 1;
                    continue;
                }
            }
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            let mut text = String::new();
            let mut seen_dot = false;
            while j < chars.len() {
                let cj = chars[j].1;
                if cj.is_ascii_digit() {
                    text.push(cj);
                } else if cj == '.' && !seen_dot && chars.get(j + 1).is_some_and(|(_, n)| n.is_ascii_digit()) {
                    seen_dot = true;
                    text.push('.');
                } else if cj == ','
                    && !seen_dot
                    && (1..=3).all(|k| chars.get(j + k).is_some_and(|(_, n)| n.is_ascii_digit()))
                    && chars.get(j + 4).is_none_or(|(_, n)| !n.is_ascii_digit())
                {
                    // Thousands separator: 1,000.
                } else {
                    break;
                }
                j += 1;
            }
            // A number glued to letters (R22, 3rd) is a word, not a number; Hangul units (30일) split off.
            let glued_letter = chars.get(j).is_some_and(|(_, n)| n.is_alphabetic() && !is_hangul(*n));
            if glued_letter || (i > 0 && chars[i - 1].1.is_ascii_alphabetic()) {
                let mut k = j;
                while k < chars.len() && chars[k].1.is_alphanumeric() && !is_hangul(chars[k].1) {
                    k += 1;
                }
                let raw = &q[b..end_of(k)];
                push_word(&mut out, raw, b, end_of(k));
                i = k;
                continue;
            }
            let mut value: Option<f64> = text.parse().ok();
            // Korean large-number units glued to the number: "5만원" is 50,000, "3억" 300,000,000, "5천원" 5,000.
            let unit = chars.get(j).and_then(|(_, u)| match u {
                '만' => Some(1e4),
                '억' => Some(1e8),
                '천' => Some(1e3),
                _ => None,
            });
            let unit_ok =
                chars.get(j + 1).is_none_or(|(_, n)| !is_hangul(*n) || matches!(n, '원' | '명' | '건' | '개'));
            if let (Some(u), true, Some(v)) = (unit, unit_ok, value) {
                value = Some(v * u);
                text = crate::builtin::sql::number(v * u);
                j += 1;
            }
            out.push(Tok {
                kind: TokKind::Number,
                lower: text.clone(),
                stem: text,
                start: b,
                end: end_of(j),
                num: value,
                capitalized: false,
                per_suffix: false,
            });
            i = j;
            if chars.get(i).is_some_and(|(_, n)| *n == '%') {
                i += 1;
            }
            continue;
        }
        if is_hangul(c) {
            let mut j = i;
            while j < chars.len() && is_hangul(chars[j].1) {
                j += 1;
            }
            let raw = &q[b..end_of(j)];
            push_hangul(&mut out, raw, b, end_of(j));
            i = j;
            continue;
        }
        if c.is_alphabetic() {
            let mut j = i;
            while j < chars.len() {
                let cj = chars[j].1;
                if (cj.is_alphanumeric() && !is_hangul(cj))
                    || ((cj == '\'' || cj == '’')
                        && chars.get(j + 1).is_some_and(|(_, n)| n.is_alphabetic() && !is_hangul(*n)))
                {
                    j += 1;
                } else {
                    break;
                }
            }
            let raw = &q[b..end_of(j)];
            push_word(&mut out, raw, b, end_of(j));
            i = j;
            continue;
        }
        if matches!(c, ',' | '.' | '?' | ';' | ':' | '!' | '(' | ')' | '=' | '<' | '>' | '~' | '/' | '&') {
            let mut text = c.to_string();
            // Two-character comparison operators.
            if matches!(c, '<' | '>' | '!') && chars.get(i + 1).is_some_and(|(_, n)| *n == '=') {
                text.push('=');
                i += 1;
            }
            out.push(Tok {
                kind: TokKind::Punct,
                lower: text.clone(),
                stem: text,
                start: b,
                end: end_of(i + 1),
                num: None,
                capitalized: false,
                per_suffix: false,
            });
        }
        i += 1;
    }
    out
}

fn push_word(out: &mut Vec<Tok>, raw: &str, start: usize, end: usize) {
    let lower_full = raw.to_lowercase().replace('’', "'");
    // Possessives and contractions: manufacturer's → manufacturer; doesn't → does + not.
    let (lower, extra_not) = if let Some(base) = lower_full.strip_suffix("n't") {
        (base.to_string(), true)
    } else if let Some(base) = lower_full.strip_suffix("'s") {
        (base.to_string(), false)
    } else {
        (lower_full.trim_end_matches('\'').to_string(), false)
    };
    let lower = lower.replace('\'', "");
    if lower.is_empty() {
        return;
    }
    let mut st = lower.clone();
    stem(&mut st);
    // Short plurals the stemmer leaves alone.
    if matches!(st.as_str(), "ids" | "pcs") {
        st.pop();
    }
    out.push(Tok {
        kind: TokKind::Word,
        num: number_word(&lower),
        stem: st,
        lower,
        start,
        end,
        capitalized: raw.chars().next().is_some_and(char::is_uppercase),
        per_suffix: false,
    });
    if extra_not {
        out.push(Tok {
            kind: TokKind::Word,
            lower: "not".into(),
            stem: "not".into(),
            start: end,
            end,
            num: None,
            capitalized: false,
            per_suffix: false,
        });
    }
}

/// Suffixes that mean "per X" on a Hangul noun.
const PER_SUFFIXES: &[&str] = &["별로", "별", "마다", "당"];

/// Nouns that end in a per-suffix syllable but are words of their own ("성별" is gender, and "성별 고객 수" is a count
/// per gender).
const PER_NOUNS: &[&str] = &["성별", "개별", "특별", "구별", "차별", "식별", "정당", "식당"];

/// Whether a Hangul syllable ends in a consonant (has a final jamo).
fn has_final(c: char) -> bool {
    ('가'..='힣').contains(&c) && !(c as u32 - '가' as u32).is_multiple_of(28)
}

/// Words ending in 수 that are not "X + count" (a player, a professor, a score).
const SU_WORDS: &[&str] =
    &["선수", "교수", "점수", "변수", "함수", "정수", "횟수", "건수", "인수", "접수", "호수", "분수", "실수"];

/// `raw` (spanning `start..end`) as two tokens: `base` read as a word of its own, then the rest of it, whose stem is
/// `stem` ("고객수" → "고객", "수"; "가격보다" → "가격", "보다").
fn split_off(out: &mut Vec<Tok>, raw: &str, base: &str, start: usize, end: usize, stem: &str) {
    let at = start + base.len();
    push_hangul(out, base, start, at);
    out.push(Tok {
        kind: TokKind::Hangul,
        lower: raw[base.len()..].to_string(),
        stem: stem.to_string(),
        start: at,
        end,
        num: None,
        capitalized: false,
        per_suffix: false,
    });
}

fn push_hangul(out: &mut Vec<Tok>, raw: &str, start: usize, end: usize) {
    // "부산이나 대구", "대구나 부산": "or" glued to the first word.
    let or_split = raw
        .strip_suffix("이나")
        .filter(|b| b.chars().count() >= 1 && b.chars().last().is_some_and(has_final))
        .map(|b| (b, "이나"))
        .or_else(|| {
            raw.strip_suffix('나')
                .filter(|b| b.chars().count() >= 2 && b.chars().last().is_some_and(|c| !has_final(c) && is_hangul(c)))
                .map(|b| (b, "나"))
        });
    if let Some((base, or)) = or_split {
        split_off(out, raw, base, start, end, or);
        return;
    }
    // "고객수", "주문수": a noun and the count of it.
    if let Some(base) = raw.strip_suffix('수').or_else(|| raw.strip_suffix("수는")).or_else(|| raw.strip_suffix("수가"))
        && base.chars().count() >= 2
        && !SU_WORDS.iter().any(|w| raw.starts_with(w) || base.ends_with(&w[..w.len() - '수'.len_utf8()]))
        && !PER_SUFFIXES.iter().any(|p| base.ends_with(p))
    {
        split_off(out, raw, base, start, end, "수");
        return;
    }
    // "가격보다 비싼": the thing compared and the comparison's "보다" (than) are two tokens.
    if let Some(base) = raw.strip_suffix("보다")
        && !base.is_empty()
    {
        split_off(out, raw, base, start, end, "보다");
        return;
    }
    if let Some(noun) = PER_NOUNS.iter().find(|n| raw.starts_with(**n)) {
        // "성별", "성별로", "성별 고객": per gender; "개별", "특별": only the word.
        let per = noun.ends_with('별') && *noun == "성별";
        out.push(Tok {
            kind: TokKind::Hangul,
            lower: raw.to_string(),
            stem: noun.to_string(),
            start,
            end,
            num: None,
            capitalized: false,
            per_suffix: per,
        });
        return;
    }
    // "합계는요?", "매출은요?": the polite 요 after a topic particle ends an elliptical question; the noun is the
    // content (a word ending in 요 is otherwise a sentence-final predicate, "알려주세요").
    let mut word = match raw.strip_suffix('요') {
        Some(base) if base.ends_with('은') || base.ends_with('는') => base,
        _ => raw,
    };
    let mut per = false;
    for s in PER_SUFFIXES {
        if let Some(base) = word.strip_suffix(s)
            && !base.is_empty()
        {
            word = base;
            per = true;
            break;
        }
    }
    let stripped = if per { word } else { strip_particles(word) };
    out.push(Tok {
        kind: TokKind::Hangul,
        lower: raw.to_string(),
        stem: stripped.to_string(),
        start,
        end,
        num: None,
        capitalized: false,
        per_suffix: per,
    });
}

/// Splits an identifier into lower-case words: snake_case, camelCase, digits and punctuation are boundaries.
pub(crate) fn split_identifier(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in name.split(|c: char| !c.is_alphanumeric()) {
        if part.is_empty() {
            continue;
        }
        let chars: Vec<char> = part.chars().collect();
        let mut cur = String::new();
        for (k, &c) in chars.iter().enumerate() {
            if let Some(&p) = k.checked_sub(1).and_then(|j| chars.get(j)) {
                let next_lower = chars.get(k + 1).is_some_and(|n| n.is_lowercase());
                let boundary = (p.is_ascii_digit() != c.is_ascii_digit())
                    || (p.is_lowercase() && c.is_uppercase())
                    || (p.is_uppercase() && c.is_uppercase() && next_lower)
                    || (is_hangul(p) != is_hangul(c));
                if boundary && !cur.is_empty() {
                    words.push(std::mem::take(&mut cur).to_lowercase());
                }
            }
            cur.push(c);
        }
        if !cur.is_empty() {
            words.push(cur.to_lowercase());
        }
    }
    words
}

/// The stem of one lower-case English word (Hangul and digits unchanged).
pub(crate) fn stem_word(w: &str) -> String {
    let mut s = w.to_lowercase();
    if s.chars().any(is_hangul) {
        return strip_particles(&s).to_string();
    }
    stem(&mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(q: &str) -> Vec<(TokKind, String)> {
        tokenize(q).into_iter().map(|t| (t.kind, t.lower)).collect()
    }

    #[test]
    fn words_numbers_quotes() {
        let t = tokenize("How many heads are older than 56?");
        assert_eq!(t.len(), 8);
        assert_eq!(t[6].num, Some(56.0));
        assert_eq!(t[7].kind, TokKind::Punct);
        assert_eq!(t[2].stem, "head");
        let t = kinds("pilots from team \"Bradley\" or 'Fordham'.");
        assert!(t.contains(&(TokKind::Quoted, "Bradley".into())));
        assert!(t.contains(&(TokKind::Quoted, "Fordham".into())));
        // Possessives stay words.
        let t = kinds("students' first name and the manufacturer's code");
        assert_eq!(t[0], (TokKind::Word, "students".into()));
        assert!(t.contains(&(TokKind::Word, "manufacturer".into())));
        assert_eq!(tokenize("1,000 and 2.5%")[0].num, Some(1000.0));
        assert_eq!(tokenize("1,000 and 2.5%")[2].num, Some(2.5));
        // Glued alphanumerics are words.
        assert_eq!(kinds("R22")[0].0, TokKind::Word);
        assert_eq!(kinds("doesn't")[1], (TokKind::Word, "not".into()));
    }

    #[test]
    fn hangul_and_units() {
        let t = tokenize("지난 30일 동안 카테고리별 주문 수");
        assert_eq!(t[1].num, Some(30.0));
        assert_eq!(t[2].stem, "일");
        let per = t.iter().find(|t| t.per_suffix).map(|t| t.stem.clone());
        assert_eq!(per.as_deref(), Some("카테고리"));
        assert_eq!(tokenize("나이가")[0].stem, "나이");
    }

    #[test]
    fn identifiers_split() {
        assert_eq!(split_identifier("Num_Employees"), ["num", "employees"]);
        assert_eq!(split_identifier("roomName"), ["room", "name"]);
        assert_eq!(split_identifier("StuID"), ["stu", "id"]);
        assert_eq!(split_identifier("sales2023"), ["sales", "2023"]);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for q in ["\"", "'", "“unterminated", "1,", "1.", "..", "'s", "’", "가", "a'b'c", "5%", ">=", "e\u{301}"] {
            let _ = tokenize(q);
        }
    }
}
