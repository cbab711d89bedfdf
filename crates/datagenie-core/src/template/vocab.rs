//! The words normalisation knows: English stop words and synonyms, month names, Korean compounds and synonyms, the
//! English words of Korean terms beyond the linking glossary, Korean request phrases and fillers, and Korean units;
//! and the lookups over them together with the glossary ([`crate::linking::GLOSSARY`]) and its particles.

use crate::linking::{GLOSSARY, PARTICLES, stem};

use super::items::{Item, Lang, Unit, Word};

/// English words that carry no meaning for matching (compared after lower-casing, before stemming).
pub(super) const EN_STOP: &[&str] = &[
    "a", "an", "the", "of", "for", "in", "on", "at", "by", "to", "from", "with", "and", "is", "are", "was", "were",
    "be", "been", "being", "what", "whats", "which", "who", "whom", "show", "list", "give", "me", "find", "get",
    "tell", "display", "return", "fetch", "see", "please", "can", "could", "would", "will", "you", "your", "i", "we",
    "us", "our", "my", "want", "need", "know", "do", "does", "did", "that", "this", "these", "those", "there", "their",
    "it", "its", "each", "every", "per", "all", "as", "some", "any", "about", "let", "lets",
];

/// English synonyms folded to one word before stemming.
pub(super) const EN_SYNONYMS: &[(&str, &str)] = &[
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

pub(super) const MONTHS: &[(&str, u8)] = &[
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
pub(super) const KO_UNITS: &[(&str, Unit, &str, bool)] = &[
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

pub(super) fn ko_word(term: &str, surface: String) -> Item {
    let key = ko_key(term).to_string();
    let alts = ko_alts(&key);
    Item::Word(Word { key, lang: Lang::Ko, alts, surface })
}

/// The longest known multi-syllable Korean term at the start of `s`: (length in chars, key; `None` for a request
/// phrase). Glossary terms must lie within the first `word_len` chars (one word); this module's words and request
/// phrases may span words (`알려 줘`).
pub(super) fn ko_term_at(s: &[char], word_len: usize) -> Option<(usize, Option<&'static str>)> {
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
pub(super) enum Leftover {
    Drop,
    Term(&'static str),
    Unknown,
}

pub(super) fn classify_leftover(s: &str) -> Leftover {
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
