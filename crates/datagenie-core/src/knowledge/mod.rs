//! The knowledge base: what an organisation knows about its data beyond the schema — a glossary of business terms
//! (with an optional SQL expression each), table and column descriptions, documents (Markdown or plain text) and
//! verified question/SQL examples (from templates and from history) — and the retrieval that picks, per question,
//! the few pieces a prompt should quote. No IO: the caller reads files and the system database; this module parses
//! ([`folder`]), chunks ([`chunk_document`]), indexes and retrieves.
//!
//! [`KnowledgeIndex`] is built once from a [`KnowledgeBase`]: documents are cut into chunks (see [`chunk`]), and
//! each of the three retrievable collections gets a BM25 index on the linking tokenizer ([`crate::linking::tokenize`]:
//! English stemming, Hangul bigrams, particles stripped):
//! - examples, on their question;
//! - glossary entries, on term and synonyms (weight [`W_TERM`]) and definition, plus [`MENTION_BOOST`] when the
//!   question literally mentions the term or a synonym ([`KnowledgeIndex::mentioned_terms`]);
//! - chunks, on their heading path (weight [`W_HEADING`]), document title and text.
//!
//! Descriptions are kept in the base for the schema text; they are looked up by table, not retrieved.
//!
//! **Scores.** The lexical score is BM25 *coverage* (see `bm25.rs`): the share of the question's words an item
//! accounts for, each word weighted by its IDF — about 1.0 when every question word occurs once in an item of
//! average length, low when only an incidental word matches (a question word the collection has never seen counts
//! against every item). The semantic score is the cosine similarity of the question's vector with the item's. Both
//! are absolute scales, so each path has its own absolute gate — `min_score` for lexical, `min_similarity` for
//! semantic — and an unrelated question retrieves nothing. The two are fused by **CombSUM of the gated scores**:
//! an item's score is its lexical score (if it passes) plus its similarity (if it passes), and [`Scored::how`]
//! says which passed. Why not the usual alternatives: reciprocal-rank fusion discards magnitudes (the best of ten
//! poor matches ranks first with the same fused score as an excellent one), and min-max normalisation per question
//! makes the best item of any question score 1 — both defeat the threshold that keeps irrelevant knowledge out of
//! the prompt. CombSUM also ranks items both paths agree on above items only one path found, which is the point of a
//! hybrid. The lexical path does not cross languages (a Korean question finds English items only through shared
//! words such as numbers and names); the semantic path does, with a multilingual embedding model.
//!
//! **Vectors.** Items get vectors through [`KnowledgeIndex::set_vectors`] (the caller embeds
//! [`KnowledgeIndex::embedding_inputs`] and caches them by content key). All vectors of an index share one
//! dimension; others are ignored. Search is exact: a linear scan of unit-length vectors in one flat array per
//! collection, eight-lane dot products. `cargo bench -p datagenie-core --bench knowledge`, release build without
//! target-cpu flags, on the project's shared 2-core Xeon VM (4 MiB L2, 260 MiB L3, under a load of ~7.5):
//! 100,000 chunks × 768 dimensions (293 MiB of vectors) scan in ~50 ms wall, ~33 ms CPU per question (p50; p95
//! ~60 ms wall) — bound by memory bandwidth, as the vectors no longer fit the cache; 10,000 chunks (29 MiB, in
//! cache) in ~1.2 ms; 1,000 in ~0.1 ms. So the scan is fine up to some tens of thousands of items (a few ms, far
//! below an LLM call). Past that — 100k items, where every question reads the whole 300 MiB and concurrent questions
//! share the memory bus — quantised vectors (f16 or i8: 2–4× less to read) or an approximate index (HNSW) should
//! replace it.
//!
//! Invariants:
//! - retrieval is deterministic: ties break on collection order;
//! - building and retrieving never panic, whatever the input (bounds are enforced at the doors by
//!   [`folder::validate_entry`] and friends, not assumed here);
//! - [`KnowledgeIndex`] is `Send + Sync` and immutable while answering, so one index serves concurrent questions.

mod bm25;
pub mod chunk;
pub mod folder;
mod mention;
mod vectors;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use bm25::{Bm25, QueryTerms};
pub use chunk::{DEFAULT_CHUNK_TOKENS, chunk_document};
pub use folder::{
    MAX_DEFINITION_CHARS, MAX_DESCRIPTION_CHARS, MAX_DOCUMENT_BYTES, MAX_NAME_CHARS, MAX_SQL_CHARS, MAX_SYNONYMS,
    MAX_TERM_CHARS, parse_descriptions, parse_glossary, tidy_synonyms, validate_description, validate_document,
    validate_entry,
};
use mention::Mentions;
pub use vectors::cosine;
use vectors::{VectorSet, unit};

/// Weight of a glossary entry's term and synonyms in its BM25 document (the definition weighs 1).
pub const W_TERM: f32 = 2.0;
/// Weight of a chunk's heading path in its BM25 document (the text weighs 1, the document title 0.5).
pub const W_HEADING: f32 = 1.5;
const W_TITLE: f32 = 0.5;
/// Added to a glossary entry's lexical score when the question mentions its term or a synonym: a mentioned entry
/// passes any lexical gate up to 1.0 and ranks above entries that merely share words.
pub const MENTION_BOOST: f32 = 1.0;
/// Default lexical gate: the share of a question's information an item must cover (see the module documentation).
pub const DEFAULT_MIN_SCORE: f32 = 0.25;
/// Default semantic gate (cosine similarity). Embedding models differ in where unrelated text lands (about 0.1–0.3
/// for OpenAI's text-embedding-3, 0.3–0.5 for several open models), so this is a setting, not a constant of nature.
pub const DEFAULT_MIN_SIMILARITY: f32 = 0.5;

/// A business term and what it means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlossaryEntry {
    pub term: String,
    /// Other ways to say it (other languages, plurals, abbreviations).
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub definition: String,
    /// A SQL expression, e.g. `last_order_date >= date('now','-90 day')`.
    #[serde(default)]
    pub sql: Option<String>,
    /// The table the expression applies to, if any.
    #[serde(default)]
    pub table: Option<String>,
}

/// A description of a table (`column` is `None`) or of one of its columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    pub table: String,
    #[serde(default)]
    pub column: Option<String>,
    pub text: String,
}

/// A document: Markdown or plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub title: String,
    pub text: String,
}

/// A piece of a document, small enough to quote (see [`chunk`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// The document's title.
    pub document: String,
    /// The heading path of the chunk's section (`Sales › Refunds`); empty before the first heading.
    pub heading: String,
    /// The chunk's number within its document, from 0.
    pub ordinal: usize,
    pub text: String,
}

/// Where a verified example comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExampleOrigin {
    /// A verified query template.
    Template { id: String, name: String },
    /// A question answered before and marked good.
    History { id: String },
}

/// A verified question/SQL pair, for few-shot prompting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub question: String,
    pub sql: String,
    pub origin: ExampleOrigin,
}

/// Everything known, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KnowledgeBase {
    pub glossary: Vec<GlossaryEntry>,
    pub descriptions: Vec<Description>,
    pub documents: Vec<Document>,
    pub examples: Vec<Example>,
}

/// One retrievable item of an index: an example, a glossary entry or a chunk, by its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "index", rename_all = "snake_case")]
pub enum Item {
    Example(usize),
    Glossary(usize),
    Chunk(usize),
}

/// How many items of each collection to retrieve, and the gates an item must pass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrieveLimits {
    pub examples: usize,
    pub glossary: usize,
    pub chunks: usize,
    /// Lexical gate: the least coverage score (see the module documentation). Default [`DEFAULT_MIN_SCORE`].
    pub min_score: f32,
    /// Semantic gate: the least cosine similarity. Default [`DEFAULT_MIN_SIMILARITY`].
    pub min_similarity: f32,
}

impl Default for RetrieveLimits {
    fn default() -> Self {
        RetrieveLimits {
            examples: 3,
            glossary: 5,
            chunks: 3,
            min_score: DEFAULT_MIN_SCORE,
            min_similarity: DEFAULT_MIN_SIMILARITY,
        }
    }
}

/// Which path retrieved an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retrieval {
    Lexical,
    Semantic,
    Both,
}

/// A retrieved item with its fused score (lexical coverage plus cosine similarity, each counted when it passed its
/// gate) and the path(s) that found it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored<T> {
    pub item: T,
    pub score: f32,
    pub how: Retrieval,
}

/// What one question retrieved, best first in each collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Retrieved {
    pub examples: Vec<Scored<Example>>,
    pub glossary: Vec<Scored<GlossaryEntry>>,
    pub chunks: Vec<Scored<Chunk>>,
}

impl Retrieved {
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty() && self.glossary.is_empty() && self.chunks.is_empty()
    }
}

/// A knowledge base indexed for retrieval (see the module documentation).
#[derive(Debug, Clone)]
pub struct KnowledgeIndex {
    base: KnowledgeBase,
    chunks: Vec<Chunk>,
    examples_bm25: Bm25,
    glossary_bm25: Bm25,
    chunks_bm25: Bm25,
    mentions: Mentions,
    /// The dimension every vector has; `None` until the first vector is attached.
    dimension: Option<usize>,
    example_vectors: VectorSet,
    glossary_vectors: VectorSet,
    chunk_vectors: VectorSet,
}

impl KnowledgeIndex {
    /// Chunks the documents ([`DEFAULT_CHUNK_TOKENS`]) and indexes the three collections. No vectors yet.
    pub fn new(base: KnowledgeBase) -> KnowledgeIndex {
        let chunks: Vec<Chunk> = base.documents.iter().flat_map(|d| chunk_document(d, DEFAULT_CHUNK_TOKENS)).collect();
        let examples_bm25 = Bm25::build(base.examples.iter().map(|e| [(e.question.as_str(), 1.0)]));
        let glossary_bm25 = Bm25::build(base.glossary.iter().map(|g| {
            std::iter::once((g.term.as_str(), W_TERM))
                .chain(g.synonyms.iter().map(|s| (s.as_str(), W_TERM)))
                .chain(std::iter::once((g.definition.as_str(), 1.0)))
        }));
        // A title is indexed with each of its chunks: at most MAX_NAME_CHARS of it (the bound validation enforces).
        let title = |t: &str| t.char_indices().nth(MAX_NAME_CHARS).map_or(t.len(), |(i, _)| i);
        let chunks_bm25 = Bm25::build(chunks.iter().map(|c| {
            let t = &c.document[..title(&c.document)];
            [(c.heading.as_str(), W_HEADING), (t, W_TITLE), (c.text.as_str(), 1.0)]
        }));
        KnowledgeIndex {
            mentions: Mentions::build(&base.glossary),
            dimension: None,
            example_vectors: VectorSet::new(base.examples.len()),
            glossary_vectors: VectorSet::new(base.glossary.len()),
            chunk_vectors: VectorSet::new(chunks.len()),
            examples_bm25,
            glossary_bm25,
            chunks_bm25,
            chunks,
            base,
        }
    }

    pub fn base(&self) -> &KnowledgeBase {
        &self.base
    }

    /// The documents' chunks, document by document; [`Item::Chunk`] indexes this.
    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// True when the base holds nothing at all (no glossary entry, description, chunk or example).
    pub fn is_empty(&self) -> bool {
        self.base.glossary.is_empty()
            && self.base.descriptions.is_empty()
            && self.chunks.is_empty()
            && self.base.examples.is_empty()
    }

    /// The dimension of the attached vectors, once any is attached.
    pub fn dimension(&self) -> Option<usize> {
        self.dimension
    }

    /// How many items have a vector.
    pub fn vector_count(&self) -> usize {
        self.example_vectors.len() + self.glossary_vectors.len() + self.chunk_vectors.len()
    }

    /// Items needing a vector: (item, text to embed, content key = hex SHA-256 of that text), for examples (their
    /// question), glossary entries (term, synonyms and definition, one per line) and chunks (heading path, blank
    /// line, text). A cache keyed by content key stays valid however items move.
    pub fn embedding_inputs(&self) -> Vec<(Item, String, String)> {
        let examples = self.base.examples.iter().enumerate().map(|(i, e)| (Item::Example(i), e.question.clone()));
        let glossary = self.base.glossary.iter().enumerate().map(|(i, g)| {
            let mut text = g.term.clone();
            if !g.synonyms.is_empty() {
                text.push('\n');
                text.push_str(&g.synonyms.join(", "));
            }
            if !g.definition.is_empty() {
                text.push('\n');
                text.push_str(&g.definition);
            }
            (Item::Glossary(i), text)
        });
        let chunks = self.chunks.iter().enumerate().map(|(i, c)| {
            let text = if c.heading.is_empty() { c.text.clone() } else { format!("{}\n\n{}", c.heading, c.text) };
            (Item::Chunk(i), text)
        });
        examples
            .chain(glossary)
            .chain(chunks)
            .map(|(item, text)| {
                let key = Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
                (item, text, key)
            })
            .collect()
    }

    /// Attaches vectors by item (replacing an item's earlier vector). The index's dimension is fixed by the first
    /// call that attaches any: the most common length among that call's vectors (the first such on a tie). Vectors
    /// of another length, empty, zero or non-finite ones, and items out of range are ignored.
    pub fn set_vectors(&mut self, vectors: Vec<(Item, Vec<f32>)>) {
        let Some(dim) = self.dimension.or_else(|| most_common_len(&vectors)) else { return };
        let count = |f: fn(&Item) -> bool| vectors.iter().filter(|(i, v)| f(i) && v.len() == dim).count();
        self.example_vectors.reserve(count(|i| matches!(i, Item::Example(_))), dim);
        self.glossary_vectors.reserve(count(|i| matches!(i, Item::Glossary(_))), dim);
        self.chunk_vectors.reserve(count(|i| matches!(i, Item::Chunk(_))), dim);
        for (item, v) in vectors {
            if v.len() != dim {
                continue;
            }
            let Some(u) = unit(v) else { continue };
            let (set, i, len) = match item {
                Item::Example(i) => (&mut self.example_vectors, i, self.base.examples.len()),
                Item::Glossary(i) => (&mut self.glossary_vectors, i, self.base.glossary.len()),
                Item::Chunk(i) => (&mut self.chunk_vectors, i, self.chunks.len()),
            };
            if i < len {
                set.set(i, &u);
                self.dimension = Some(dim);
            }
        }
    }

    /// The examples, glossary entries and chunks for `question`, best first, at most `limits` of each (see the
    /// module documentation for scores and gates). `query_vector` is the question's embedding; it is used when it
    /// has the index's dimension, and ignored otherwise.
    pub fn retrieve(&self, question: &str, query_vector: Option<&[f32]>, limits: &RetrieveLimits) -> Retrieved {
        let terms = QueryTerms::new(question);
        let query = query_vector.filter(|v| Some(v.len()) == self.dimension).and_then(|v| unit(v.to_vec()));
        let semantic =
            |set: &VectorSet| query.as_deref().map(|q| set.scan(q, limits.min_similarity)).unwrap_or_default();

        let examples =
            fuse(self.examples_bm25.scores(&terms), semantic(&self.example_vectors), limits.examples, limits);
        let glossary_lexical = boost(self.glossary_bm25.scores(&terms), &self.mentions.find(question));
        let glossary = fuse(glossary_lexical, semantic(&self.glossary_vectors), limits.glossary, limits);
        let chunks = fuse(self.chunks_bm25.scores(&terms), semantic(&self.chunk_vectors), limits.chunks, limits);

        Retrieved {
            examples: scored(examples, &self.base.examples),
            glossary: scored(glossary, &self.base.glossary),
            chunks: scored(chunks, &self.chunks),
        }
    }

    /// Glossary entries whose term or a synonym the question mentions (case and spacing ignored, Korean particles
    /// stripped, English plurals), in glossary order: for the built-in engine and template matching.
    pub fn mentioned_terms(&self, question: &str) -> Vec<&GlossaryEntry> {
        self.mentions.find(question).into_iter().filter_map(|i| self.base.glossary.get(i)).collect()
    }
}

/// The fused list's items, cloned.
fn scored<T: Clone>(list: Vec<(usize, f32, Retrieval)>, items: &[T]) -> Vec<Scored<T>> {
    list.into_iter()
        .filter_map(|(i, score, how)| items.get(i).map(|item| Scored { item: item.clone(), score, how }))
        .collect()
}

/// The most common non-zero length among `vectors` (the first seen on a tie).
fn most_common_len(vectors: &[(Item, Vec<f32>)]) -> Option<usize> {
    let mut counts: HashMap<usize, (usize, usize)> = HashMap::new(); // len → (count, first position)
    for (pos, (_, v)) in vectors.iter().enumerate() {
        if !v.is_empty() {
            counts.entry(v.len()).or_insert((0, pos)).0 += 1;
        }
    }
    counts.into_iter().max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1))).map(|(len, _)| len)
}

/// Lexical glossary scores plus [`MENTION_BOOST`] for the mentioned entries (both lists in item order).
fn boost(scores: Vec<(usize, f32)>, mentioned: &[usize]) -> Vec<(usize, f32)> {
    if mentioned.is_empty() {
        return scores;
    }
    let mut out: Vec<(usize, f32)> = Vec::with_capacity(scores.len() + mentioned.len());
    let (mut a, mut b) = (scores.into_iter().peekable(), mentioned.iter().copied().peekable());
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (Some((i, s)), Some(m)) if i == m => {
                out.push((i, s + MENTION_BOOST));
                a.next();
                b.next();
            }
            (Some((i, s)), Some(m)) if i < m => {
                out.push((i, s));
                a.next();
            }
            (_, Some(m)) => {
                out.push((m, MENTION_BOOST));
                b.next();
            }
            (Some(x), None) => {
                out.push(x);
                a.next();
            }
            (None, None) => break,
        }
    }
    out
}

/// CombSUM of the gated scores (lexical and semantic lists in item order; semantic already gated), best `limit`
/// first, ties in item order.
fn fuse(
    lexical: Vec<(usize, f32)>,
    semantic: Vec<(usize, f32)>,
    limit: usize,
    limits: &RetrieveLimits,
) -> Vec<(usize, f32, Retrieval)> {
    if limit == 0 {
        return Vec::new();
    }
    let lexical = lexical.into_iter().filter(|(_, s)| *s >= limits.min_score && *s > 0.0);
    let mut out: Vec<(usize, f32, Retrieval)> = Vec::new();
    let (mut a, mut b) = (lexical.peekable(), semantic.into_iter().peekable());
    loop {
        let next = match (a.peek().copied(), b.peek().copied()) {
            (Some((i, l)), Some((j, s))) if i == j => {
                a.next();
                b.next();
                (i, l + s, Retrieval::Both)
            }
            (Some((i, l)), Some((j, _))) if i < j => {
                a.next();
                (i, l, Retrieval::Lexical)
            }
            (_, Some((j, s))) => {
                b.next();
                (j, s, Retrieval::Semantic)
            }
            (Some((i, l)), None) => {
                a.next();
                (i, l, Retrieval::Lexical)
            }
            (None, None) => break,
        };
        out.push(next);
    }
    let order = |x: &(usize, f32, Retrieval), y: &(usize, f32, Retrieval)| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0));
    if out.len() > limit {
        out.select_nth_unstable_by(limit - 1, order);
        out.truncate(limit);
    }
    out.sort_by(order);
    out
}
