//! Tokens → items: each stretch of the question becomes a schema mention (tables and columns it may name), a cell
//! value (with the columns holding it), a number, a cue word (count, average, more than, ordered by, …), a free
//! word, or an unexplained content word. Overlapping readings compete: quoted text first, then multi-word and
//! proper-noun values, then the longest reading.

use super::lexicon::{Lexicon, is_generic, normalize_value, word_match};
use super::text::{Tok, TokKind, stem_word};
use super::vocab::{
    Cue, EN_CUES, EN_VALUE_WORDS, FREE_WORDS, GENDER_WORDS, KO_CUES, KO_GLOSSARY_EXTRA, KO_VALUE_WORDS, SKIPPABLE,
    SYNONYMS,
};
use crate::hangul::is_hangul;
use crate::linking::GLOSSARY;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ItemKind {
    /// Tables and columns this stretch may name, with match scores.
    Schema {
        tables: Vec<(usize, f32)>,
        cols: Vec<(usize, f32)>,
    },
    /// A value: the columns holding it (stored text), or none (a quoted string found nowhere).
    Value {
        cands: Vec<(usize, String, f32)>,
        quoted: bool,
    },
    Num(f64),
    Cue(Cue),
    /// A content word nothing explains.
    Word,
    /// A word that needs no explanation.
    Free,
    /// A sentence boundary.
    Stop,
    Punct,
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub kind: ItemKind,
    /// The question's text for the span (lower-cased for words).
    pub text: String,
}

/// A question token with the schema stems it may stand for.
struct QTok {
    /// The word's own stem first, then (from `synonyms`) the stems of its English synonyms.
    alts: Vec<String>,
    synonyms: usize,
    /// A word a phrase match may skip ("the", "of").
    skippable: bool,
    /// "카테고리별": a phrase may end at this word but not run past it ("카테고리별 상품" is two things).
    ends_phrase: bool,
    /// A word a schema phrase may match at all.
    matchable: bool,
    hangul: bool,
}

#[derive(Debug, Clone)]
enum CandKind {
    Quoted,
    Value(Vec<(usize, String, f32)>),
    Schema {
        tables: Vec<(usize, f32)>,
        cols: Vec<(usize, f32)>,
    },
    Cue(Cue),
    /// A measure the schema defines (`Lexicon::metrics`).
    Metric(usize),
}

#[derive(Debug, Clone)]
struct Cand {
    t0: usize,
    t1: usize,
    /// Lower sorts first.
    tier: u8,
    /// Content tokens covered (longer wins).
    len: usize,
    score: f32,
    /// Among equal length and score: cues, then schema, then values.
    class: u8,
    kind: CandKind,
}

fn qtoks(toks: &[Tok]) -> Vec<QTok> {
    toks.iter()
        .enumerate()
        .map(|(i, t)| {
            // "총 몇 건": "in all" before a count, not the word "total" of a column's name.
            let total_count = t.lower == "총" && toks.get(i + 1).is_some_and(|n| n.lower == "몇");
            let mut alts = vec![t.stem.clone()];
            let mut synonyms = usize::MAX;
            match t.kind {
                TokKind::Word => {
                    synonyms = 1;
                    for (w, syn) in SYNONYMS {
                        if t.lower == *w || t.stem == stem_word(w) {
                            alts.extend(syn.iter().map(|s| stem_word(s)));
                        }
                    }
                }
                // "환불률", "증가율": a rate computed from things, not the thing itself; only a column named exactly
                // so ("할인율") matches.
                TokKind::Hangul
                    if t.stem.chars().count() >= 3 && (t.stem.ends_with('률') || t.stem.ends_with('율')) => {}
                TokKind::Hangul => {
                    // The word's own glossary meaning ("주문" → order) counts as the word; a term inside a longer
                    // word ("주문일" holds 주문) only as a synonym, so the column "주문일" beats the table "주문".
                    let mut inside = Vec::new();
                    // "판매가" (selling price), "원가": a noun whose last syllable looks like a particle is the word as
                    // written, not "판매" + 가.
                    if let Some((ko, _)) = KO_GLOSSARY_EXTRA.iter().find(|(ko, _)| {
                        ko.len() > t.stem.len()
                            && t.lower
                                .strip_prefix(ko)
                                .is_some_and(|rest| rest.is_empty() || crate::linking::PARTICLES.contains(&rest))
                    }) {
                        alts[0] = ko.to_string();
                    }
                    let stem = alts[0].clone();
                    for (ko, en) in GLOSSARY.iter().chain(KO_GLOSSARY_EXTRA) {
                        // "비활성" is the negated word itself (read as a negation where it is used).
                        if stem == *ko || stem.strip_prefix('비') == Some(*ko) {
                            alts.extend(en.iter().map(|s| stem_word(s)));
                        } else if ko.chars().count() > 1 && stem.contains(ko) {
                            inside.extend(en.iter().map(|s| stem_word(s)));
                        }
                    }
                    // "출생한", "가입된": the noun of a 하다/되다 verb names the same thing.
                    for e in ["하는", "했던", "하신", "한", "된", "되는"] {
                        if let Some(noun) = stem.strip_suffix(e)
                            && noun.chars().count() >= 2
                        {
                            alts.push(noun.to_string());
                        }
                    }
                    synonyms = alts.len();
                    alts.extend(inside);
                }
                _ => {}
            }
            let skippable = t.kind == TokKind::Word && SKIPPABLE.contains(&t.lower.as_str());
            // Ordering verbs are never schema words ("ordered" is not `authOrder`).
            let order_word =
                matches!(t.lower.as_str(), "ordered" | "sorted" | "sort" | "ranked" | "arranged" | "listed");
            let matchable =
                matches!(t.kind, TokKind::Word | TokKind::Hangul) && !skippable && !order_word && !total_count;
            QTok {
                synonyms: synonyms.min(alts.len()),
                alts,
                skippable,
                // "카테고리의 상품" (the category's products) is not the phrase "상품 카테고리".
                ends_phrase: t.per_suffix
                    || (t.kind == TokKind::Hangul && t.lower.ends_with('의') && t.stem != t.lower),
                matchable,
                hangul: t.kind == TokKind::Hangul,
            }
        })
        .collect()
}

/// How well question token `t` matches a schema stem: as [`word_match`], with a match through a synonym a little
/// below the word itself, so "price" prefers `price` to `cost` rather than tie.
fn tok_match(t: &QTok, stem: &str) -> f32 {
    let own = word_match(&t.alts[..t.synonyms], stem);
    if own == 1.0 {
        return own;
    }
    own.max(0.9 * word_match(&t.alts[t.synonyms..], stem))
}

/// A Korean compound ("주문번호") matching a word of a longer phrase only through a term inside it ("주문"): the
/// rest of the compound ("번호") is another thing, so "주문번호와 금액" is not the phrase "주문 금액".
fn part_of_compound(t: &QTok, stem: &str, phrase_len: usize) -> bool {
    t.hangul && phrase_len > 1 && word_match(&t.alts[..t.synonyms], stem) == 0.0
}

/// Ordered match of `phrase` starting at token `i`, skipping skippable words inside.
fn match_ordered(q: &[QTok], i: usize, phrase: &[String]) -> Option<(usize, f32, usize)> {
    let mut j = i;
    let mut total = 0.0;
    for (k, p) in phrase.iter().enumerate() {
        if k > 0 {
            while q.get(j).is_some_and(|t| t.skippable) {
                j += 1;
            }
        }
        let t = q.get(j)?;
        if !t.matchable {
            return None;
        }
        let s = tok_match(t, p);
        if s == 0.0 || (t.ends_phrase && k + 1 < phrase.len()) || part_of_compound(t, p, phrase.len()) {
            return None;
        }
        total += s;
        j += 1;
    }
    Some((j, total / phrase.len() as f32, phrase.len()))
}

/// The same words in another order ("amount settled" for "settled amount"), two or three words.
fn match_unordered(q: &[QTok], i: usize, phrase: &[String]) -> Option<(usize, f32, usize)> {
    if !(2..=3).contains(&phrase.len()) {
        return None;
    }
    let mut used = vec![false; phrase.len()];
    let mut j = i;
    let mut total = 0.0;
    for k in 0..phrase.len() {
        if k > 0 {
            while q.get(j).is_some_and(|t| t.skippable) {
                j += 1;
            }
        }
        let t = q.get(j)?;
        if !t.matchable {
            return None;
        }
        let mut best: Option<(usize, f32)> = None;
        for (pi, p) in phrase.iter().enumerate() {
            if used[pi] {
                continue;
            }
            let s = tok_match(t, p);
            if s > 0.0 && !part_of_compound(t, p, phrase.len()) && best.is_none_or(|(_, b)| s > b) {
                best = Some((pi, s));
            }
        }
        let (pi, s) = best?;
        if t.ends_phrase && k + 1 < phrase.len() {
            return None;
        }
        used[pi] = true;
        total += s;
        j += 1;
    }
    Some((j, 0.9 * total / phrase.len() as f32, phrase.len()))
}

/// A part of a longer name ("market value" for `Market_Value_in_Billion`): question words matching a run of the
/// phrase, at least one of them specific.
fn match_partial(q: &[QTok], i: usize, phrase: &[String]) -> Option<(usize, f32, usize)> {
    if phrase.len() < 2 {
        return None;
    }
    let first = q.get(i)?;
    if !first.matchable {
        return None;
    }
    let mut best: Option<(usize, f32, usize)> = None;
    for start in 0..phrase.len() {
        if tok_match(first, &phrase[start]) == 0.0 {
            continue;
        }
        let mut j = i;
        let mut end = i;
        let mut k = start;
        let mut total = 0.0;
        let mut specific = false;
        let mut n = 0;
        while k < phrase.len() {
            if n > 0 {
                while q.get(j).is_some_and(|t| t.skippable) {
                    j += 1;
                }
            }
            let Some(t) = q.get(j) else { break };
            if !t.matchable {
                break;
            }
            let s = tok_match(t, &phrase[k]);
            // A compound matching through a term inside it stands alone (see `part_of_compound`).
            let compound = part_of_compound(t, &phrase[k], 2);
            if s == 0.0 || (compound && n > 0) {
                break;
            }
            // A Korean word reaches a column through the glossary, generic words included ("매출" → amount).
            specific |= !is_generic(&phrase[k]) || t.hangul;
            total += s;
            n += 1;
            j += 1;
            end = j;
            k += 1;
            if t.ends_phrase || compound {
                break;
            }
        }
        let j = end;
        if n == 0 || n >= phrase.len() || !specific {
            continue;
        }
        let quality = total / n as f32 * (0.45 + 0.35 * n as f32 / phrase.len() as f32);
        if best.is_none_or(|(_, b, bn)| n > bn || (n == bn && quality > b)) {
            // The end index must skip back over the skippables consumed after the last match.
            best = Some((j, quality, n));
        }
    }
    best
}

fn cue_table(hangul: bool) -> &'static [(&'static [&'static str], Cue)] {
    if hangul { KO_CUES } else { EN_CUES }
}

fn is_cue_word(w: &str) -> bool {
    EN_CUES.iter().any(|(p, _)| p.len() == 1 && p[0] == w)
}

pub(crate) fn link(question: &str, toks: &[Tok], lex: &Lexicon) -> Vec<Item> {
    let q = qtoks(toks);
    let n = toks.len();
    let korean = toks.iter().any(|t| t.kind == TokKind::Hangul);
    // Columns in the other language of a pair (`name_en` for a Korean question): never candidates.
    let other_language: Vec<bool> = (0..lex.cols.len()).map(|c| lex.other_language(c, korean)).collect();
    let mut cands: Vec<Cand> = Vec::new();

    // Quoted strings: values (with the columns holding them, if any).
    for (i, t) in toks.iter().enumerate() {
        if t.kind == TokKind::Quoted {
            let norm = normalize_value(&t.lower);
            let found: Vec<(usize, String, f32)> = lex
                .values
                .get(&norm)
                .map(|v| v.iter().map(|(c, s)| (*c, s.clone(), 1.0)).collect())
                .unwrap_or_default();
            let kind = if found.is_empty() { CandKind::Quoted } else { CandKind::Value(found) };
            cands.push(Cand { t0: i, t1: i + 1, tier: 0, len: 1, score: 1.0, class: 0, kind });
        }
    }

    // Cell values: n-grams of the question's text.
    let max_words = lex.max_value_words.max(2);
    for i in 0..n {
        if !matches!(toks[i].kind, TokKind::Word | TokKind::Hangul | TokKind::Number) {
            continue;
        }
        for len in 1..=max_words.min(n - i) {
            let j = i + len;
            let last = &toks[j - 1];
            if matches!(last.kind, TokKind::Quoted) || toks[i..j].iter().any(|t| t.kind == TokKind::Quoted) {
                break;
            }
            if matches!(last.kind, TokKind::Punct) && !matches!(last.lower.as_str(), "." | "-" | "&" | "/") {
                break;
            }
            let Some(span) = question.get(toks[i].start..last.end) else { break };
            let norm = normalize_value(span);
            let content = toks[i..j].iter().any(|t| {
                matches!(t.kind, TokKind::Word | TokKind::Hangul)
                    && !FREE_WORDS.contains(&t.lower.as_str())
                    && !is_cue_word(&t.lower)
                    && (t.lower.chars().count() >= 2 || ko_one_syllable_word(&t.stem))
            });
            if !content {
                continue;
            }
            let mut found: Vec<(usize, String, f32)> = lex
                .values
                .get(&norm)
                .map(|v| v.iter().map(|(c, s)| (*c, s.clone(), 1.0)).collect())
                .unwrap_or_default();
            // A plural of a value ("professors" for "Professor"); not other inflections ("shipped" is not "Ship").
            let plural = toks[i].lower.ends_with('s') && toks[i].lower.len() > toks[i].stem.len();
            let mut via_stem = false;
            if found.is_empty() && len == 1 && toks[i].kind == TokKind::Word && plural && !is_generic(&toks[i].stem) {
                via_stem = true;
                if let Some(v) = lex.stem_values.get(&toks[i].stem) {
                    found = v.iter().map(|(c, s)| (*c, s.clone(), 0.8)).collect();
                } else if let Some(v) = lex.values.get(&toks[i].stem) {
                    found = v.iter().map(|(c, s)| (*c, s.clone(), 0.8)).collect();
                }
            }
            // A Korean word with its particle: "서울에" holds the value "서울"; "제주권인" the value "제주권".
            if found.is_empty() && len == 1 && toks[i].kind == TokKind::Hangul {
                let base = KO_GLOSS_ENDINGS
                    .iter()
                    .find_map(|e| toks[i].lower.strip_suffix(e).filter(|b| b.chars().count() >= 2));
                found = [Some(toks[i].stem.as_str()), base]
                    .into_iter()
                    .flatten()
                    .find_map(|w| lex.values.get(w))
                    .map(|v| v.iter().map(|(c, s)| (*c, s.clone(), 1.0)).collect())
                    .unwrap_or_default();
            }
            if found.is_empty() && len == 1 {
                found = gender_values(&toks[i].lower, lex);
            }
            if found.is_empty() && len == 1 && toks[i].kind == TokKind::Word {
                let word = toks[i].lower.as_str();
                let stem = toks[i].stem.as_str();
                if let Some((_, forms)) =
                    EN_VALUE_WORDS.iter().find(|(w, _)| !w.contains(' ') && (*w == word || stem_word(w) == stem))
                {
                    found = coded_values(forms, 30, lex);
                }
            }
            // "mobile app": a code said in two words.
            if found.is_empty() && len == 2 && toks[i..j].iter().all(|t| t.kind == TokKind::Word) {
                let said = format!("{} {}", toks[i].lower, toks[i + 1].lower);
                if let Some((_, forms)) = EN_VALUE_WORDS.iter().find(|(w, _)| *w == said) {
                    found = coded_values(forms, 30, lex);
                }
            }
            // "여성은": the word without its particle.
            if found.is_empty() && len == 1 && toks[i].kind == TokKind::Hangul {
                found = gender_values(&toks[i].stem, lex);
            }
            if found.is_empty() && len == 1 && toks[i].kind == TokKind::Hangul {
                found = korean_values(&toks[i].stem, lex);
                // "웹으로": the particle stripping leaves "웹으"; the word as written has the value and its ending.
                if found.is_empty() {
                    found = korean_values(&toks[i].lower, lex);
                }
            }
            // "배송 중인", "결제 완료된": two words of one state ("환불 건수" is the state and a count).
            if found.is_empty()
                && len == 2
                && toks[i..j].iter().all(|t| t.kind == TokKind::Hangul)
                && !toks[i + 1].lower.starts_with('건')
            {
                found = korean_values(&format!("{}{}", toks[i].lower, toks[i + 1].lower), lex);
            }
            if found.is_empty() {
                continue;
            }
            let capitalized = toks[i].capitalized && i > 0;
            // "refunded payments": a participle that is exactly a code of a column of few values is that state,
            // not a column named like it (`refunded_at`).
            let state = len == 1
                && !via_stem
                && toks[i].kind == TokKind::Word
                && toks[i].lower.len() >= 5
                && toks[i].lower.ends_with("ed")
                && found.iter().all(|(c, _, _)| lex.col_values.get(c).is_some_and(|v| v.len() <= 30));
            let tier = if via_stem {
                3
            } else if len >= 2 || capitalized || state || toks[i].kind == TokKind::Hangul {
                1
            } else {
                2
            };
            // A number alone is read as a number, not a value, unless a text column holds it.
            if len == 1 && toks[i].kind == TokKind::Number {
                continue;
            }
            cands.push(Cand { t0: i, t1: j, tier, len, score: 1.0, class: 3, kind: CandKind::Value(found) });
        }
    }

    // Measures a table's comment defines ("revenue", "매출", "매출액").
    for (i, t) in toks.iter().enumerate() {
        for (m, metric) in lex.metrics.iter().enumerate() {
            let hit = match t.kind {
                TokKind::Word => metric.name.is_ascii() && t.stem == stem_word(&metric.name),
                TokKind::Hangul => t.lower.strip_prefix(metric.name.as_str()).is_some_and(|rest| {
                    rest.is_empty()
                        || KO_GLOSS_ENDINGS.contains(&rest)
                        || rest.strip_prefix('액').is_some_and(|r| r.is_empty() || KO_GLOSS_ENDINGS.contains(&r))
                }),
                _ => false,
            };
            if hit {
                cands.push(Cand { t0: i, t1: i + 1, tier: 1, len: 1, score: 1.0, class: 0, kind: CandKind::Metric(m) });
            }
        }
    }

    // Glosses of coded values from column comments ("판매 중인" is `active` = 1, "discontinued" is 0).
    for i in 0..n {
        for g in &lex.glosses {
            if let Some(j) = gloss_match(toks, i, &g.words) {
                // "마케팅 수신에 동의한": words of the column's own name before its value belong to it.
                let col_stems: Vec<&String> = lex.cols[g.col].phrases.iter().flat_map(|p| p.stems.iter()).collect();
                let mut t0 = i;
                while t0 > 0
                    && i - t0 < 3
                    && q[t0 - 1].matchable
                    && !is_generic(&toks[t0 - 1].stem)
                    && q[t0 - 1].alts[..q[t0 - 1].synonyms.max(1)].iter().any(|a| col_stems.contains(&a))
                {
                    t0 -= 1;
                }
                cands.push(Cand {
                    t0,
                    t1: j,
                    tier: 1,
                    len: j - t0,
                    score: 1.0,
                    class: 3,
                    kind: CandKind::Value(vec![(g.col, g.value.clone(), 0.95)]),
                });
            }
        }
    }

    // Schema phrases.
    for i in 0..n {
        if !q[i].matchable {
            continue;
        }
        // "500,000 won": a currency after a number, never a column.
        if i > 0
            && toks[i - 1].kind == TokKind::Number
            && matches!(toks[i].lower.as_str(), "won" | "krw" | "usd" | "dollars" | "dollar" | "euros" | "yen")
        {
            continue;
        }
        // "2024년", "3월", "30일": a unit after a number, never a column.
        if q[i].hangul
            && i > 0
            && toks[i - 1].kind == TokKind::Number
            && matches!(toks[i].stem.as_str(), "년" | "년도" | "월" | "일" | "개월" | "주" | "분기")
        {
            continue;
        }
        for (ti, t) in lex.tables.iter().enumerate() {
            for p in &t.phrases {
                // Korean word order carries meaning: "카테고리 상품" (a category's products) is not "상품 카테고리".
                let unordered = if p.stems.iter().any(|s| s.chars().any(is_hangul)) {
                    None
                } else {
                    match_unordered(&q, i, &p.stems)
                };
                for (j, quality, _) in [match_ordered(&q, i, &p.stems), unordered].into_iter().flatten() {
                    cands.push(Cand {
                        t0: i,
                        t1: j,
                        tier: 2,
                        len: j - i,
                        score: quality * p.weight,
                        // An exact name beats a cue of the same length ("total" is the column `Total`).
                        class: if quality * p.weight >= 0.95 { 0 } else { 2 },
                        kind: CandKind::Schema { tables: vec![(ti, quality * p.weight)], cols: vec![] },
                    });
                }
            }
        }
        for (ci, c) in lex.cols.iter().enumerate() {
            if other_language[ci] {
                continue;
            }
            for p in &c.phrases {
                let full = match_ordered(&q, i, &p.stems).or_else(|| {
                    if p.stems.iter().any(|s| s.chars().any(is_hangul)) {
                        None
                    } else {
                        match_unordered(&q, i, &p.stems)
                    }
                });
                // "branch" names the branch, not `branch_id`: keys are matched whole.
                let partial_ok = !c.is_pk && !c.is_fk;
                let m = full.or_else(|| if partial_ok { match_partial(&q, i, &p.stems) } else { None });
                if let Some((j, quality, _)) = m {
                    cands.push(Cand {
                        t0: i,
                        t1: j,
                        tier: 2,
                        len: j - i,
                        score: quality * p.weight,
                        // An exact name beats a cue of the same length ("total" is the column `Total`).
                        class: if quality * p.weight >= 0.95 { 0 } else { 2 },
                        kind: CandKind::Schema { tables: vec![], cols: vec![(ci, quality * p.weight)] },
                    });
                }
            }
        }
    }

    // Cue phrases (English on lower-case words, Korean on particle-stripped words).
    for i in 0..n {
        let hangul = toks[i].kind == TokKind::Hangul;
        for (phrase, cue) in cue_table(hangul) {
            let mut ok = true;
            for (k, w) in phrase.iter().enumerate() {
                match toks.get(i + k) {
                    // "배송 중인" (in progress) is not the "중" of "among".
                    Some(t)
                        if t.lower == *w
                            || (t.kind == TokKind::Hangul
                                && ko_cue_form(&t.stem, w)
                                && !(*w == "중" && t.lower.starts_with("중인"))) => {}
                    Some(t) if symbol_matches(t, w) => {}
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                // A leading "the" or a trailing "of" does not make a cue longer than the reading it competes with
                // ("the most recent", "access count of").
                let padding = usize::from(phrase.first() == Some(&"the")) + usize::from(phrase.last() == Some(&"of"));
                cands.push(Cand {
                    t0: i,
                    t1: i + phrase.len(),
                    tier: 2,
                    len: phrase.len().saturating_sub(padding).max(1),
                    score: 1.0,
                    // A column called `last_year` is meant before "last year" the date.
                    class: if matches!(cue, Cue::Date(_)) { 4 } else { 1 },
                    kind: CandKind::Cue(*cue),
                });
            }
        }
        // Comparison symbols.
        if toks[i].kind == TokKind::Punct {
            let op = match toks[i].lower.as_str() {
                ">" => Some(super::vocab::Op::Gt),
                ">=" => Some(super::vocab::Op::Ge),
                "<" => Some(super::vocab::Op::Lt),
                "<=" => Some(super::vocab::Op::Le),
                "=" => Some(super::vocab::Op::Eq),
                "!=" => Some(super::vocab::Op::Ne),
                _ => None,
            };
            if let Some(op) = op {
                cands.push(Cand {
                    t0: i,
                    t1: i + 1,
                    tier: 2,
                    len: 1,
                    score: 1.0,
                    class: 0,
                    kind: CandKind::Cue(Cue::Cmp { op, concept: super::vocab::Concept::None }),
                });
            }
        }
    }

    // Choose non-overlapping readings: tier, then length, then score, then class.
    cands.sort_by(|a, b| {
        a.tier
            .cmp(&b.tier)
            .then(b.len.cmp(&a.len))
            .then(b.score.total_cmp(&a.score))
            .then(a.class.cmp(&b.class))
            .then(a.t0.cmp(&b.t0))
    });
    let mut owner: Vec<Option<usize>> = vec![None; n];
    let mut chosen: Vec<Cand> = Vec::new();
    for c in cands {
        if c.t1 <= c.t0 || c.t1 > n {
            continue;
        }
        // Same span as an accepted schema reading: merge it as another candidate of that mention.
        if let Some(k) = owner[c.t0]
            && chosen[k].t0 == c.t0
            && chosen[k].t1 == c.t1
        {
            merge(&mut chosen[k], &c);
            continue;
        }
        if (c.t0..c.t1).any(|t| owner[t].is_some()) {
            continue;
        }
        let k = chosen.len();
        for o in owner.iter_mut().take(c.t1).skip(c.t0) {
            *o = Some(k);
        }
        chosen.push(c);
    }

    // Items in question order.
    let mut items = Vec::new();
    let mut i = 0;
    while i < n {
        if let Some(k) = owner[i] {
            let c = &chosen[k];
            if toks[c.t0].per_suffix {
                items.push(Item { kind: ItemKind::Cue(Cue::Each), text: String::new() });
            }
            let text = question.get(toks[c.t0].start..toks[c.t1 - 1].end).unwrap_or_default().to_string();
            if let CandKind::Metric(m) = c.kind {
                // The schema's own definition, spelled out: the aggregate of its column over its rows.
                let metric = &lex.metrics[m];
                items.push(Item { kind: ItemKind::Cue(Cue::Agg(metric.agg)), text: text.clone() });
                let col = metric.col;
                items.push(Item {
                    kind: ItemKind::Schema { tables: vec![], cols: vec![(col, 1.0)] },
                    text: lex.cols[col].name.clone(),
                });
                if let Some((fc, values)) = &metric.filter {
                    for (n, v) in values.iter().enumerate() {
                        if n > 0 {
                            items.push(Item { kind: ItemKind::Cue(Cue::Or), text: "or".into() });
                        }
                        items.push(Item {
                            kind: ItemKind::Value { cands: vec![(*fc, v.clone(), 1.0)], quoted: false },
                            text: v.clone(),
                        });
                    }
                }
                i = c.t1;
                continue;
            }
            items.push(Item { kind: to_item(c), text });
            i = c.t1;
            continue;
        }
        let t = &toks[i];
        // "Order/Sort all X by Y" opens with the verb.
        if i == 0 && t.kind == TokKind::Word && matches!(t.lower.as_str(), "order" | "sort" | "rank" | "arrange") {
            items.push(Item { kind: ItemKind::Cue(Cue::OrderBy), text: t.lower.clone() });
            i += 1;
            continue;
        }
        let kind = match t.kind {
            TokKind::Number => ItemKind::Num(t.num.unwrap_or(0.0)),
            TokKind::Punct => match t.lower.as_str() {
                "?" | "." | ";" | "!" if i + 1 < n => ItemKind::Stop,
                _ => ItemKind::Punct,
            },
            TokKind::Quoted => ItemKind::Value { cands: vec![], quoted: true },
            TokKind::Word => {
                // "from the US": a word written in capitals is a name, not the free word it spells ("us").
                let written = question.get(t.start..t.end).unwrap_or_default();
                let acronym = written.chars().count() >= 2 && written.chars().all(|c| c.is_ascii_uppercase());
                if !acronym && (FREE_WORDS.contains(&t.lower.as_str()) || SKIPPABLE.contains(&t.lower.as_str())) {
                    ItemKind::Free
                } else {
                    ItemKind::Word
                }
            }
            TokKind::Hangul => {
                if (t.stem.chars().count() <= 1 && !ko_one_syllable_word(&t.stem))
                    || t.stem.chars().all(|c| !is_hangul(c))
                    || ko_free(&t.stem)
                {
                    ItemKind::Free
                } else {
                    ItemKind::Word
                }
            }
        };
        // "monthly revenue": per month.
        if t.per_suffix || matches!(t.lower.as_str(), "monthly" | "yearly" | "annual" | "daily") {
            items.push(Item { kind: ItemKind::Cue(Cue::Each), text: String::new() });
        }
        items.push(Item { kind, text: t.lower.clone() });
        i += 1;
    }
    for k in 1..items.len() {
        // "top-level category": a level of a hierarchy (read in `finish`), not a ranking.
        if items[k].text == "level" && items[k - 1].text == "top" {
            items[k - 1].kind = ItemKind::Word;
        }
        // "총 몇 건": the count in all, not a sum.
        if items[k].kind == ItemKind::Cue(Cue::Count) && items[k - 1].text == "총" {
            items[k - 1].kind = ItemKind::Free;
        }
    }
    items
}

/// A Korean word matching a cue, allowing the adnominal and particle endings cues take in a sentence
/// ("이상인", "사이의", "포함하는").
fn ko_cue_form(stem: &str, cue: &str) -> bool {
    if stem == cue {
        return true;
    }
    // "나" (or) takes no ending: "나이" is age.
    if cue == "나" {
        return false;
    }
    // "제일 비싼" is "가장 비싼".
    if cue == "가장" && stem == "제일" {
        return true;
    }
    // The past form of an adjective: "높았던", "많았던", "적었던" are "높은", "많은", "적은".
    if let Some(root) = cue.strip_suffix('은')
        && !root.is_empty()
        && stem.strip_prefix(root).is_some_and(|rest| rest == "았던" || rest == "었던")
    {
        return true;
    }
    const ENDINGS: &[&str] = &[
        "인",
        "의",
        "한",
        "하는",
        "된",
        "으로",
        "로",
        "에",
        "이",
        "을",
        "를",
        "은",
        "는",
        "이면서",
        "이며",
        "이고",
        "이면",
    ];
    ENDINGS.iter().any(|e| stem.strip_suffix(e) == Some(cue))
}

fn symbol_matches(t: &Tok, w: &str) -> bool {
    t.kind == TokKind::Punct && t.lower == w
}

/// Korean words (verb forms and endings) that carry no content for the engine.
fn ko_free(stem: &str) -> bool {
    // Sentence-final predicates ("인가요", "있나요", "알려줘") carry no content the schema could name.
    const ENDINGS: &[&str] = &["요", "까", "줘", "니", "야"];
    if ENDINGS.iter().any(|e| stem.ends_with(e)) {
        return true;
    }
    // A counter with its particle after a number ("5개와", "3명의", "10건을").
    const COUNTERS: &[&str] = &["개", "명", "건", "곳", "종", "번"];
    if let Some(first) = stem.chars().next().map(String::from)
        && COUNTERS.contains(&first.as_str())
        && stem.chars().count() == 2
        && crate::linking::PARTICLES.contains(&&stem[first.len()..])
    {
        return true;
    }
    const FREE: &[&str] = &[
        // "한 번이라도 주문한 고객" (who ordered at all), "한 번도 주문하지 않은" (the negation says never)
        "번이라도",
        "번이라",
        "번도",
        "에서",
        "부터",
        "까지",
        "사는",
        "살고",
        "속한",
        "소속",
        "보여줘",
        "보여주세요",
        "알려줘",
        "알려주세요",
        "뭐야",
        "무엇인가요",
        "인가요",
        "입니까",
        "있나요",
        "되나요",
        "해줘",
        "해주세요",
        "구해줘",
        "구하시오",
        "나열해줘",
        "출력해줘",
        "찾아줘",
        "조회해줘",
        "계산해줘",
        "얼마야",
        "얼마인가요",
        "몇이야",
        "있어",
        "있는지",
        "어떻게",
        "되는",
        "된",
        "하는",
        "한",
        "있는",
        "대한",
        "관련",
        "각각",
        "모두",
        "전부",
        "그",
        "이",
        "저",
        "것",
        "중에서",
        "중",
        "현재",
        "동안",
        "기준으로",
        "기준",
        "들어온",
        "중인",
        "상태인",
        "상태의",
        "대해",
        "대해서",
        "위한",
        "같은",
        "정보",
    ];
    FREE.contains(&stem)
}

/// A one-syllable Korean word that carries meaning ("앱", "웹", "키"): a value word or a glossary noun. Other single
/// syllables ("수", "개", "명") are counters and particles.
fn ko_one_syllable_word(stem: &str) -> bool {
    KO_VALUE_WORDS.iter().any(|(w, _)| *w == stem) || GLOSSARY.iter().chain(KO_GLOSSARY_EXTRA).any(|(w, _)| *w == stem)
}

/// Endings a Korean gloss takes in a question: particles and the adnominal forms of 하다/되다/이다 ("취소된",
/// "동의한", "판매 중인", "앱으로").
const KO_GLOSS_ENDINGS: &[&str] = &[
    "되었던",
    "되었는",
    "됐던",
    "됐는",
    "했던",
    "하는",
    "하신",
    "하고",
    "되고",
    "이면서",
    "이며",
    "이고",
    "에서",
    "으로",
    "된",
    "인",
    "한",
    "은",
    "는",
    "이",
    "가",
    "을",
    "를",
    "의",
    "에",
    "로",
    "과",
    "와",
    "도",
    "만",
];

/// English words a gloss may leave out or the question may add ("agreed to receive marketing messages" for the
/// gloss "agreed to marketing messages").
const GLOSS_GAP: usize = 2;

/// Where the gloss `words` said at token `i` ends (exclusive), if it is said there. English: the gloss's words in
/// order as stems, with up to [`GLOSS_GAP`] other words between them and its small words optional. Korean: the
/// tokens' text run together equals the gloss run together, the last token with a particle or adnominal ending.
fn gloss_match(toks: &[Tok], i: usize, words: &[String]) -> Option<usize> {
    let hangul = words.iter().any(|w| w.chars().any(is_hangul));
    if hangul {
        if toks[i].kind != TokKind::Hangul {
            return None;
        }
        let whole: String = words.concat();
        let mut run = String::new();
        for (k, t) in toks.iter().enumerate().skip(i).take(4) {
            if t.kind != TokKind::Hangul {
                return None;
            }
            let forms = std::iter::once(t.lower.as_str())
                .chain(std::iter::once(t.stem.as_str()))
                .chain(KO_GLOSS_ENDINGS.iter().filter_map(|e| t.lower.strip_suffix(e)));
            for f in forms {
                if !f.is_empty() && format!("{run}{f}") == whole {
                    return Some(k + 1);
                }
            }
            run.push_str(&t.lower);
            if !whole.starts_with(&run) {
                return None;
            }
        }
        return None;
    }
    const SMALL: &[&str] = &["to", "the", "a", "an", "of", "in", "on", "for", "by", "with", "at"];
    let content: Vec<&String> = words.iter().filter(|w| !SMALL.contains(&w.as_str())).collect();
    let first = content.first()?;
    // The span starts at the gloss's first word, small or not ("on sale").
    let lead = words.first().filter(|w| SMALL.contains(&w.as_str()) && toks[i].lower == **w).is_some();
    // A gloss of one word behind a small one ("on sale") needs both: "sales channel" is not on sale.
    if content.len() == 1 && words.len() > 1 && !lead {
        return None;
    }
    let start = if lead { i + 1 } else { i };
    let same = |t: &Tok, w: &str| t.kind == TokKind::Word && (t.lower == w || t.stem == stem_word(w));
    if !toks.get(start).is_some_and(|t| same(t, first)) {
        return None;
    }
    let mut at = start + 1;
    for w in &content[1..] {
        let found = (at..toks.len().min(at + GLOSS_GAP + 1)).find(|&k| same(&toks[k], w))?;
        if toks[at..found].iter().any(|t| t.kind != TokKind::Word) {
            return None;
        }
        at = found + 1;
    }
    Some(at)
}

/// The English code a Korean word stands for ("취소된" → `cancelled`) in a column of few values.
fn korean_values(stem: &str, lex: &Lexicon) -> Vec<(usize, String, f32)> {
    // "취소된", "반품건" are the state; "환불률" (refund rate) is not.
    let Some((_, forms)) = KO_VALUE_WORDS.iter().find(|(w, _)| {
        stem.strip_prefix(w).is_some_and(|rest| {
            rest.is_empty()
                || KO_GLOSS_ENDINGS.contains(&rest)
                || matches!(rest, "건" | "됨" | "중" | "중인" | "상태" | "되지" | "하지" | "된건" | "건수")
        })
    }) else {
        return Vec::new();
    };
    coded_values(forms, 30, lex)
}

fn gender_values(word: &str, lex: &Lexicon) -> Vec<(usize, String, f32)> {
    let Some((_, forms)) = GENDER_WORDS.iter().find(|(w, _)| *w == word) else { return Vec::new() };
    // Only columns that look like a gender code: few distinct values.
    coded_values(forms, 4, lex)
}

/// The cells equal to one of `forms` (ignoring case) in columns of at most `max_distinct` values, by column.
fn coded_values(forms: &[&str], max_distinct: usize, lex: &Lexicon) -> Vec<(usize, String, f32)> {
    let mut out = Vec::new();
    for (ci, vals) in lex.col_values.iter().filter(|(_, vals)| vals.len() <= max_distinct) {
        for v in vals.iter().filter(|v| forms.iter().any(|f| v.eq_ignore_ascii_case(f))) {
            out.push((*ci, v.clone(), 0.9));
        }
    }
    out.sort_by_key(|a| a.0);
    out
}

fn merge(into: &mut Cand, other: &Cand) {
    match (&mut into.kind, &other.kind) {
        (CandKind::Value(a), CandKind::Value(b)) => {
            for x in b {
                if !a.iter().any(|y| y.0 == x.0) {
                    a.push(x.clone());
                }
            }
        }
        (CandKind::Schema { tables, cols }, CandKind::Schema { tables: t2, cols: c2 }) => {
            for &(t, s) in t2 {
                if !tables.iter().any(|(x, _)| *x == t) {
                    tables.push((t, s));
                }
            }
            for &(c, s) in c2 {
                if !cols.iter().any(|(x, _)| *x == c) {
                    cols.push((c, s));
                }
            }
        }
        _ => {}
    }
}

fn to_item(c: &Cand) -> ItemKind {
    match &c.kind {
        CandKind::Quoted => ItemKind::Value { cands: vec![], quoted: true },
        CandKind::Value(v) => ItemKind::Value { cands: v.clone(), quoted: c.tier == 0 },
        CandKind::Schema { tables, cols } => ItemKind::Schema { tables: tables.clone(), cols: cols.clone() },
        CandKind::Cue(cue) => ItemKind::Cue(*cue),
        // Expanded where the items are built.
        CandKind::Metric(_) => ItemKind::Free,
    }
}
