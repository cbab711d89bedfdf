//! A compact BM25 index over one collection of short items (examples, glossary entries, chunks), on the tokenizer of
//! schema linking ([`crate::linking::tokenize`]: English stemming, Hangul bigrams, particles stripped).
//!
//! Scores are *coverage*: the share of the question's words an item accounts for, each word weighted by its IDF.
//! A question word is a run of letters and digits; its tokens are the tokenizer's (one for an English word, the
//! bigrams and the particle-stripped form for a Korean one). A word counts once, with the best of its tokens: its
//! weight is `IDF + 1` of its rarest token the collection knows, and an item covers it by that token's BM25
//! saturation (1.0 for one occurrence in an item of average length, at most `K1 + 1`). A word none of whose tokens
//! the collection holds weighs the most a word can (`IDF + 1` of a term no item has) and is covered by nothing; so a
//! question about something the collection never mentions scores low however well one incidental word matches,
//! while a Korean word is not penalised for the bigrams a particle leaves behind (`주문이` is covered by `주문`).
//! The `+ 1` keeps words every item holds from counting for nothing: the threshold asks "is this about the
//! question", where IDF alone asks "which item is it".
//!
//! The scale is therefore absolute — comparable across questions and collections — which lets one threshold
//! (`RetrieveLimits::min_score`) mean the same thing everywhere. A plain BM25 sum grows with the question's length
//! and the collection's size, and a per-question normalisation (divide by the best) would make the best item of an
//! unrelated question score 1.

use std::collections::{HashMap, HashSet};

use crate::linking::tokenize;

/// BM25 term-frequency saturation.
const K1: f32 = 1.2;
/// BM25 length normalisation.
const B: f32 = 0.75;

/// Every question word weighs at least this much over its IDF (see the module documentation).
const WORD_FLOOR: f32 = 1.0;

/// A question's words, each as its distinct tokens; tokenized once and scored against every collection. Words
/// with no token (stop words, single letters) are left out, and a word whose tokens repeat an earlier word's once.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryTerms(Vec<Vec<String>>);

impl QueryTerms {
    pub(crate) fn new(question: &str) -> QueryTerms {
        let mut seen: HashSet<Vec<String>> = HashSet::new();
        let mut words = Vec::new();
        for word in question.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            let mut tokens: Vec<String> = Vec::new();
            tokenize(word, &mut |t| {
                if !tokens.iter().any(|x| x == t) {
                    tokens.push(t.to_string());
                }
            });
            tokens.sort_unstable();
            if !tokens.is_empty() && seen.insert(tokens.clone()) {
                words.push(tokens);
            }
        }
        QueryTerms(words)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The BM25 index of one collection. Items are numbered in the order they were given.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bm25 {
    /// Term → id.
    terms: HashMap<String, u32>,
    /// Per term id: (item, weighted term frequency), items ascending.
    postings: Vec<Vec<(u32, f32)>>,
    /// Per term id: its inverse document frequency.
    idf: Vec<f32>,
    /// Per item: `K1 * (1 - B + B * len / avg_len)`, the BM25 length term.
    norm: Vec<f32>,
    /// The IDF of a term no item holds: what a question word the collection lacks weighs in the denominator.
    unknown_idf: f32,
}

impl Bm25 {
    /// Indexes items, each given as its fields: (text, weight). A token's frequency in an item is the sum of the
    /// weights of the fields it occurs in.
    pub(crate) fn build<'a, I, F>(items: I) -> Bm25
    where
        I: IntoIterator<Item = F>,
        F: IntoIterator<Item = (&'a str, f32)>,
    {
        let mut terms: HashMap<String, u32> = HashMap::new();
        let mut postings: Vec<Vec<(u32, f32)>> = Vec::new();
        let mut lengths: Vec<f32> = Vec::new();
        let mut current: Vec<(u32, f32)> = Vec::new();
        for (item, fields) in items.into_iter().enumerate() {
            current.clear();
            for (text, weight) in fields {
                tokenize(text, &mut |token| {
                    let id = match terms.get(token) {
                        Some(&id) => id,
                        None => {
                            let id = postings.len() as u32;
                            terms.insert(token.to_string(), id);
                            postings.push(Vec::new());
                            id
                        }
                    };
                    current.push((id, weight));
                });
            }
            current.sort_unstable_by_key(|(term, _)| *term);
            let mut length = 0.0;
            let mut i = 0;
            while i < current.len() {
                let (term, mut tf) = current[i];
                let mut j = i + 1;
                while j < current.len() && current[j].0 == term {
                    tf += current[j].1;
                    j += 1;
                }
                if tf > 0.0 {
                    postings[term as usize].push((item as u32, tf));
                    length += tf;
                }
                i = j;
            }
            lengths.push(length);
        }
        let n = lengths.len() as f32;
        let idf_of = |df: f32| (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        let idf = postings.iter().map(|p| idf_of(p.len() as f32)).collect();
        let avg = if lengths.is_empty() { 1.0 } else { lengths.iter().sum::<f32>() / n };
        let avg = if avg > 0.0 { avg } else { 1.0 };
        let norm = lengths.iter().map(|l| K1 * (1.0 - B + B * l / avg)).collect();
        Bm25 { terms, postings, idf, norm, unknown_idf: idf_of(0.0) }
    }

    /// Number of items indexed.
    pub(crate) fn len(&self) -> usize {
        self.norm.len()
    }

    /// Every item with a positive coverage score for the question (see the module documentation), in item order.
    pub(crate) fn scores(&self, query: &QueryTerms) -> Vec<(usize, f32)> {
        if query.is_empty() || self.len() == 0 {
            return Vec::new();
        }
        let mut acc = vec![0f32; self.len()];
        let mut best = vec![0f32; self.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut word_touched: Vec<u32> = Vec::new();
        let mut total = 0.0;
        for word in &query.0 {
            let known: Vec<u32> = word.iter().filter_map(|t| self.terms.get(t).copied()).collect();
            let Some(weight) = known.iter().map(|&id| self.idf[id as usize] + WORD_FLOOR).reduce(f32::max) else {
                total += self.unknown_idf + WORD_FLOOR;
                continue;
            };
            total += weight;
            for id in known {
                let w = self.idf[id as usize] + WORD_FLOOR;
                for &(item, tf) in &self.postings[id as usize] {
                    let s = w * tf * (K1 + 1.0) / (tf + self.norm[item as usize]);
                    let slot = &mut best[item as usize];
                    if *slot == 0.0 {
                        word_touched.push(item);
                    }
                    *slot = slot.max(s);
                }
            }
            for item in word_touched.drain(..) {
                let i = item as usize;
                if acc[i] == 0.0 {
                    touched.push(item);
                }
                acc[i] += best[i];
                best[i] = 0.0;
            }
        }
        if total <= 0.0 {
            return Vec::new();
        }
        touched.sort_unstable();
        touched.into_iter().map(|i| (i as usize, acc[i as usize] / total)).filter(|(_, s)| *s > 0.0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(items: &[&str]) -> Bm25 {
        Bm25::build(items.iter().map(|t| [(*t, 1.0)]))
    }

    #[test]
    fn full_coverage_scores_about_one_and_partial_less() {
        let bm = index(&["monthly revenue by region", "refund policy for damaged goods", "employee salaries"]);
        let full = bm.scores(&QueryTerms::new("revenue by region"));
        assert_eq!(full.len(), 1);
        assert_eq!(full[0].0, 0);
        assert!(full[0].1 > 0.8 && full[0].1 < 1.5, "{full:?}");
        let partial = bm.scores(&QueryTerms::new("revenue forecast for tomorrow's weather"));
        assert_eq!(partial.len(), 1);
        assert!(partial[0].1 < 0.4, "{partial:?}");
        assert!(bm.scores(&QueryTerms::new("weather")).is_empty());
    }

    #[test]
    fn rare_terms_weigh_more_than_common_ones() {
        let bm = index(&["order total", "order status", "order date", "refund total"]);
        let s = bm.scores(&QueryTerms::new("refund order"));
        let of = |i: usize| s.iter().find(|(j, _)| *j == i).map_or(0.0, |x| x.1);
        assert!(of(3) > of(0), "{s:?}");
    }

    #[test]
    fn korean_words_match_through_bigrams_and_particles() {
        let bm = index(&["환불 정책과 절차", "월별 매출 보고서", "주문 목록"]);
        let s = bm.scores(&QueryTerms::new("환불은 어떻게 처리해?"));
        assert_eq!(s.first().map(|x| x.0), Some(0), "{s:?}");
        // One word, one unit: 주문이 is covered by 주문 whatever its leftover bigram.
        let s = bm.scores(&QueryTerms::new("주문이"));
        assert_eq!(s.len(), 1);
        assert!(s[0].1 > 0.8, "{s:?}");
    }

    #[test]
    fn a_term_every_item_holds_still_counts() {
        let bm = index(&["monthly revenue by region"; 10]);
        let s = bm.scores(&QueryTerms::new("revenue by region"));
        assert_eq!(s.len(), 10);
        assert!(s.iter().all(|x| x.1 > 0.8), "{s:?}");
    }

    #[test]
    fn empty_inputs_score_nothing() {
        assert!(index(&[]).scores(&QueryTerms::new("anything")).is_empty());
        assert!(index(&["", "  "]).scores(&QueryTerms::new("anything")).is_empty());
        assert!(index(&["orders"]).scores(&QueryTerms::new("")).is_empty());
    }
}
