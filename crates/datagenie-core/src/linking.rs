//! Lexical schema linking: choosing which tables a question's prompt shows, so a 2,000-table schema never overflows
//! the prompt.
//!
//! [`SchemaIndex`] is built once per schema: a BM25 index over one document per table (its name, column names,
//! comments and sample values) plus the foreign-key graph and each table's rendered size in tokens.
//! [`SchemaIndex::select`] answers, per question, which tables to show.
//!
//! Invariants:
//! - a schema whose rendering fits the budget is shown whole, in schema order (so the prompt prefix is the same for
//!   every question on that database, which providers cache);
//! - a selection is never empty when the schema has tables; it exceeds the budget only when its single most relevant
//!   table alone does;
//! - selection is deterministic: ties break on schema order.
//!
//! Tokenisation (shared by tables and questions): words split on punctuation, snake_case, camelCase and digit
//! boundaries, lower-cased and lightly stemmed (plurals, -ing, -ed, final -e, final -y); Hangul runs become
//! character bigrams plus the word with common particles (은/는/이/가/을/를/의/에/에서/로/으로/별/과/와/…) stripped.
//! Questions are also expanded through a small Korean→English glossary of analytic terms.

use std::collections::HashMap;

use crate::Dialect;
use crate::hangul::is_hangul;
use crate::schema::{Schema, Table};
use crate::schema_text::{SEPARATOR_TOKENS, joined_tokens, table_tokens};

/// BM25 term-frequency saturation.
const K1: f32 = 1.2;
/// BM25 length normalisation.
const B: f32 = 0.75;
/// Weight of a token by where it occurs in a table's document.
const W_TABLE_NAME: f32 = 3.0;
const W_TABLE_COMMENT: f32 = 1.5;
const W_COLUMN_NAME: f32 = 1.0;
const W_COLUMN_COMMENT: f32 = 1.0;
const W_SAMPLE: f32 = 0.5;
/// Extra score (times the term's IDF) when a question term is part of the table's own name: "orders" should rank
/// the `orders` table above tables that merely have an `order_id` column.
const NAME_BONUS: f32 = 1.0;
/// Weight of a question term that came from the glossary rather than the question's own words.
const W_GLOSSARY: f32 = 0.8;
/// Tables scoring at least this share of the best score are seeds: shown first, joined, and given neighbours.
const SEED_RATIO: f32 = 0.5;
const MAX_SEEDS: usize = 6;
/// Other tables scoring at least this share of the best score fill the remaining budget.
const TAIL_RATIO: f32 = 0.2;
/// Foreign-key neighbours added per seed table (hub tables can have hundreds).
const MAX_NEIGHBOURS_PER_SEED: usize = 6;
/// Longest join path (in foreign-key hops) searched between two seeds.
const MAX_PATH_HOPS: usize = 3;

/// Words that carry no meaning for linking (checked after lower-casing, before stemming).
const STOPWORDS: &[&str] = &[
    "the", "a", "an", "of", "for", "in", "on", "at", "by", "to", "from", "with", "and", "or", "is", "are", "was",
    "were", "be", "been", "what", "which", "who", "whom", "how", "many", "much", "show", "list", "give", "me", "find",
    "get", "all", "each", "every", "per", "do", "does", "did", "that", "this", "these", "those", "there", "their",
    "it", "its", "than", "as", "please", "tell", "us", "we", "our", "my", "i", "you", "your", "have", "has", "had",
];

/// Korean particles and suffixes stripped from the end of a Hangul word, longest first.
pub const PARTICLES: &[&str] = &[
    "에서", "으로", "까지", "부터", "은", "는", "이", "가", "을", "를", "의", "에", "로", "별", "과", "와", "들", "도",
    "만",
];

/// Korean analytic terms and the English schema words they usually stand for. Terms of two or more syllables match
/// inside a word ("월별매출" holds 매출); one-syllable terms match only a whole word after particle stripping.
pub const GLOSSARY: &[(&str, &[&str])] = &[
    ("매출", &["revenue", "sales", "amount"]),
    ("판매", &["sales", "sold"]),
    ("수익", &["revenue", "profit", "income"]),
    ("이익", &["profit"]),
    ("비용", &["cost", "expense"]),
    ("고객", &["customer", "client"]),
    ("회원", &["member", "user", "customer"]),
    ("사용자", &["user"]),
    ("주문", &["order"]),
    ("상품", &["product", "item"]),
    ("제품", &["product"]),
    ("품목", &["item", "product"]),
    ("카테고리", &["category"]),
    ("분류", &["category", "class"]),
    ("결제", &["payment"]),
    ("지불", &["payment"]),
    ("환불", &["refund"]),
    ("배송", &["shipping", "delivery", "shipment"]),
    ("지역", &["region", "area"]),
    ("도시", &["city"]),
    ("국가", &["country", "nation"]),
    ("나라", &["country"]),
    ("주소", &["address"]),
    ("월", &["month"]),
    ("연도", &["year"]),
    ("년", &["year"]),
    ("일", &["day", "date"]),
    ("일자", &["date", "day"]),
    ("날짜", &["date"]),
    ("기간", &["period", "date"]),
    ("주", &["week"]),
    ("분기", &["quarter"]),
    ("시간", &["time", "hour"]),
    ("수량", &["quantity", "qty"]),
    ("개수", &["count", "number"]),
    ("수", &["count", "number"]),
    ("가격", &["price"]),
    ("단가", &["unit", "price"]),
    ("금액", &["amount", "total", "price"]),
    ("합계", &["total", "sum"]),
    ("총", &["total"]),
    ("평균", &["average", "avg"]),
    ("최대", &["max", "maximum"]),
    ("최소", &["min", "minimum"]),
    ("비율", &["ratio", "rate", "percent"]),
    ("직원", &["employee", "staff"]),
    ("사원", &["employee"]),
    ("부서", &["department", "dept"]),
    ("급여", &["salary", "pay", "wage"]),
    ("연봉", &["salary"]),
    ("이름", &["name"]),
    ("성별", &["gender", "sex"]),
    ("나이", &["age"]),
    ("생일", &["birthday", "birth"]),
    ("전화", &["phone"]),
    ("이메일", &["email"]),
    ("학생", &["student"]),
    ("학교", &["school"]),
    ("교사", &["teacher"]),
    ("선생님", &["teacher"]),
    ("과목", &["subject", "course"]),
    ("강의", &["course", "lecture", "class"]),
    ("성적", &["grade", "score"]),
    ("점수", &["score", "point"]),
    ("병원", &["hospital"]),
    ("환자", &["patient"]),
    ("의사", &["doctor", "physician"]),
    ("공급", &["supplier", "vendor"]),
    ("재고", &["stock", "inventory"]),
    ("창고", &["warehouse"]),
    ("매장", &["store", "shop"]),
    ("지점", &["branch", "store"]),
    ("회사", &["company"]),
    ("브랜드", &["brand"]),
    ("리뷰", &["review"]),
    ("평점", &["rating", "score"]),
    ("상태", &["status", "state"]),
    ("유형", &["type", "kind"]),
    ("종류", &["type", "kind"]),
    ("설명", &["description"]),
    ("가입", &["signup", "join", "register"]),
    ("방문", &["visit"]),
    ("구매", &["purchase", "order", "buy"]),
    ("판매자", &["seller", "vendor"]),
    ("할인", &["discount"]),
    ("쿠폰", &["coupon"]),
    ("세금", &["tax"]),
    ("계좌", &["account"]),
    ("거래", &["transaction"]),
    ("송장", &["invoice"]),
    ("항공", &["flight", "airline"]),
    ("공항", &["airport"]),
    ("영화", &["movie", "film"]),
    ("가수", &["singer"]),
    ("노래", &["song"]),
    ("선수", &["player"]),
    ("팀", &["team"]),
    ("경기", &["game", "match"]),
    ("도서", &["book"]),
    ("책", &["book"]),
    ("저자", &["author"]),
];

/// Which tables a prompt shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Indices into `Schema::tables`: schema order when `complete`, relevance order otherwise. Never empty when the
    /// schema has tables.
    pub tables: Vec<usize>,
    /// True when every table is shown (the whole schema fits the budget).
    pub complete: bool,
    /// Estimated tokens of the rendered tables joined by blank lines: an upper bound of
    /// [`crate::llm::estimate_tokens`] over what [`crate::schema_text::render_tables`] produces for `tables`.
    pub tokens: usize,
}

/// A per-schema index for [`SchemaIndex::select`]. Built from one schema; use it only with that schema.
#[derive(Debug, Clone)]
pub struct SchemaIndex {
    dialect: Dialect,
    /// Term → id.
    terms: HashMap<String, u32>,
    /// Per term id: the tables holding it.
    postings: Vec<Vec<Posting>>,
    /// Per term id: its inverse document frequency.
    idf: Vec<f32>,
    /// Per table: `K1 * (1 - B + B * len / avg_len)`, the BM25 length term.
    norm: Vec<f32>,
    /// Per table: estimated tokens of its rendering.
    table_tokens: Vec<usize>,
    /// Sum of `table_tokens` plus separators: the whole schema's rendered size.
    total_tokens: usize,
    /// Per table: foreign-key neighbours in both directions, sorted, without self.
    neighbours: Vec<Vec<usize>>,
    /// Per table: its row count (0 when unknown), for the fallback order.
    row_counts: Vec<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Posting {
    table: u32,
    /// Weighted term frequency.
    tf: f32,
    /// True when the term is part of the table's name.
    in_name: bool,
}

impl SchemaIndex {
    /// Indexes `schema`: tokenises every table, renders it once to know its size, and resolves foreign keys.
    pub fn new(schema: &Schema) -> SchemaIndex {
        let mut builder = Builder::default();
        for (i, table) in schema.tables.iter().enumerate() {
            builder.add_table(i as u32, table);
        }
        let table_tokens: Vec<usize> = schema.tables.iter().map(|t| table_tokens(t, schema.dialect)).collect();
        let total_tokens = joined_tokens(table_tokens.iter().copied());
        let (terms, postings, idf, norm) = builder.finish(schema.tables.len());
        SchemaIndex {
            dialect: schema.dialect,
            terms,
            postings,
            idf,
            norm,
            table_tokens,
            total_tokens,
            neighbours: fk_neighbours(&schema.tables),
            row_counts: schema.tables.iter().map(|t| t.row_count.unwrap_or(0)).collect(),
        }
    }

    /// Number of tables indexed.
    pub fn len(&self) -> usize {
        self.table_tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table_tokens.is_empty()
    }

    /// Estimated tokens of the whole schema's rendering (tables joined by blank lines).
    pub fn total_tokens(&self) -> usize {
        self.total_tokens
    }

    /// Estimated tokens of one table's rendering; 0 for an index out of range.
    pub fn table_tokens(&self, table: usize) -> usize {
        self.table_tokens.get(table).copied().unwrap_or(0)
    }

    /// True when this index was plausibly built from `schema` (same dialect and number of tables).
    pub fn built_from(&self, schema: &Schema) -> bool {
        self.dialect == schema.dialect && self.len() == schema.tables.len()
    }

    /// Tables with a positive BM25 score for `question`, best first (ties in schema order).
    pub fn rank(&self, question: &str) -> Vec<(usize, f32)> {
        let mut scores = vec![0f32; self.len()];
        for (term, weight) in self.query_terms(question) {
            let idf = self.idf[term as usize];
            for p in &self.postings[term as usize] {
                let t = p.table as usize;
                let saturation = p.tf * (K1 + 1.0) / (p.tf + self.norm[t]);
                let bonus = if p.in_name { NAME_BONUS } else { 0.0 };
                scores[t] += weight * idf * (saturation + bonus);
            }
        }
        let mut ranked: Vec<(usize, f32)> = scores.into_iter().enumerate().filter(|(_, s)| *s > 0.0).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked
    }

    /// The tables to show for `question` within `budget_tokens` of rendered schema. The whole schema when it fits;
    /// otherwise the best-scoring tables, the join paths between them, their foreign-key neighbours and then other
    /// relevant tables, each added only while the total fits. With no lexical match at all, the most connected
    /// (then largest) tables are shown.
    pub fn select(&self, question: &str, budget_tokens: usize) -> Selection {
        if self.total_tokens <= budget_tokens {
            return Selection { tables: (0..self.len()).collect(), complete: true, tokens: self.total_tokens };
        }
        let mut picker = Picker::new(self, budget_tokens);
        let ranked = self.rank(question);
        match ranked.first() {
            Some(&(_, top)) => self.pick_relevant(&mut picker, &ranked, top),
            None => self.pick_central(&mut picker),
        }
        Selection { tables: picker.chosen, complete: false, tokens: picker.used }
    }

    fn pick_relevant(&self, picker: &mut Picker, ranked: &[(usize, f32)], top: f32) {
        let seeds: Vec<usize> =
            ranked.iter().take_while(|(_, s)| *s >= SEED_RATIO * top).take(MAX_SEEDS).map(|(t, _)| *t).collect();
        for &seed in &seeds {
            picker.add(seed);
        }
        let chosen_seeds: Vec<usize> = picker.chosen.clone();
        for (i, &a) in chosen_seeds.iter().enumerate() {
            for &b in &chosen_seeds[i + 1..] {
                for t in self.join_path(a, b) {
                    picker.add(t);
                }
            }
        }
        let score_of: HashMap<usize, f32> = ranked.iter().copied().collect();
        for &seed in &chosen_seeds {
            let mut nbs: Vec<usize> = self.neighbours[seed].clone();
            nbs.sort_by(|a, b| {
                let (sa, sb) = (score_of.get(a).unwrap_or(&0.0), score_of.get(b).unwrap_or(&0.0));
                sb.total_cmp(sa).then(a.cmp(b))
            });
            for nb in nbs.into_iter().take(MAX_NEIGHBOURS_PER_SEED) {
                picker.add(nb);
            }
        }
        for &(t, s) in ranked {
            if s < TAIL_RATIO * top {
                break;
            }
            picker.add(t);
        }
    }

    /// No table matches the question: show the hubs of the foreign-key graph, then the biggest tables.
    fn pick_central(&self, picker: &mut Picker) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| {
            self.neighbours[b]
                .len()
                .cmp(&self.neighbours[a].len())
                .then(self.row_counts[b].cmp(&self.row_counts[a]))
                .then(a.cmp(&b))
        });
        for t in order {
            picker.add(t);
        }
    }

    /// The tables strictly between `a` and `b` on a shortest foreign-key path of at most [`MAX_PATH_HOPS`] hops;
    /// empty when they are adjacent or not connected that closely.
    fn join_path(&self, a: usize, b: usize) -> Vec<usize> {
        let mut parent: HashMap<usize, usize> = HashMap::new();
        parent.insert(a, a);
        let mut frontier = vec![a];
        for _ in 0..MAX_PATH_HOPS {
            let mut next = Vec::new();
            for &t in &frontier {
                for &nb in &self.neighbours[t] {
                    if parent.contains_key(&nb) {
                        continue;
                    }
                    parent.insert(nb, t);
                    if nb == b {
                        return path_between(&parent, a, b);
                    }
                    next.push(nb);
                }
            }
            frontier = next;
        }
        Vec::new()
    }

    /// The question's terms with their weights: its own tokens (weight 1) and glossary expansions, each term once
    /// at its highest weight, kept only when the index knows it.
    fn query_terms(&self, question: &str) -> Vec<(u32, f32)> {
        let mut out: Vec<(u32, f32)> = Vec::new();
        let mut push = |token: &str, weight: f32| {
            if let Some(&id) = self.terms.get(token) {
                match out.iter_mut().find(|(t, _)| *t == id) {
                    Some(entry) => entry.1 = entry.1.max(weight),
                    None => out.push((id, weight)),
                }
            }
        };
        tokenize(question, &mut |t| push(t, 1.0));
        for english in glossary_expansions(question) {
            tokenize(english, &mut |t| push(t, W_GLOSSARY));
        }
        out
    }
}

fn path_between(parent: &HashMap<usize, usize>, a: usize, b: usize) -> Vec<usize> {
    let mut path = Vec::new();
    let mut at = parent.get(&b).copied().unwrap_or(a);
    while at != a {
        path.push(at);
        at = parent.get(&at).copied().unwrap_or(a);
    }
    path.reverse();
    path
}

/// Adds tables in order while they fit the budget; the first table is always added.
struct Picker<'a> {
    index: &'a SchemaIndex,
    budget: usize,
    chosen: Vec<usize>,
    used: usize,
}

impl<'a> Picker<'a> {
    fn new(index: &'a SchemaIndex, budget: usize) -> Self {
        Picker { index, budget, chosen: Vec::new(), used: 0 }
    }

    fn add(&mut self, table: usize) {
        if table >= self.index.len() || self.chosen.contains(&table) {
            return;
        }
        let cost = self.index.table_tokens[table] + if self.chosen.is_empty() { 0 } else { SEPARATOR_TOKENS };
        if self.chosen.is_empty() || self.used + cost <= self.budget {
            self.chosen.push(table);
            self.used += cost;
        }
    }
}

/// Foreign-key neighbours of every table, both directions. A reference resolves to the table with that name in the
/// referenced schema, else in the referencing table's schema, else anywhere; unresolved references are skipped.
fn fk_neighbours(tables: &[Table]) -> Vec<Vec<usize>> {
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, t) in tables.iter().enumerate() {
        by_name.entry(t.name.to_lowercase()).or_default().push(i);
    }
    let mut neighbours = vec![Vec::new(); tables.len()];
    for (i, t) in tables.iter().enumerate() {
        for fk in &t.foreign_keys {
            let Some(candidates) = by_name.get(&fk.ref_table.to_lowercase()) else { continue };
            let wanted_schema = fk.ref_schema.as_ref().or(t.schema.as_ref());
            let target = candidates
                .iter()
                .find(|&&c| tables[c].schema.as_ref() == wanted_schema)
                .or_else(|| candidates.first())
                .copied();
            if let Some(j) = target
                && j != i
            {
                neighbours[i].push(j);
                neighbours[j].push(i);
            }
        }
    }
    for list in &mut neighbours {
        list.sort_unstable();
        list.dedup();
    }
    neighbours
}

/// Accumulates per-table term frequencies while tokenising.
#[derive(Default)]
struct Builder {
    terms: HashMap<String, u32>,
    postings: Vec<Vec<Posting>>,
    lengths: Vec<f32>,
    /// Term frequencies of the table being added: (term, tf, in_name).
    current: Vec<(u32, f32, bool)>,
}

impl Builder {
    fn add_table(&mut self, table: u32, t: &Table) {
        self.current.clear();
        self.add_text(&t.name, W_TABLE_NAME, true);
        if let Some(c) = &t.comment {
            self.add_text(c, W_TABLE_COMMENT, false);
        }
        for col in &t.columns {
            self.add_text(&col.name, W_COLUMN_NAME, false);
            if let Some(c) = &col.comment {
                self.add_text(c, W_COLUMN_COMMENT, false);
            }
            for s in &col.samples {
                self.add_text(s, W_SAMPLE, false);
            }
        }
        self.current.sort_unstable_by_key(|(term, _, _)| *term);
        let mut length = 0.0;
        let mut i = 0;
        while i < self.current.len() {
            let (term, mut tf, mut in_name) = self.current[i];
            let mut j = i + 1;
            while j < self.current.len() && self.current[j].0 == term {
                tf += self.current[j].1;
                in_name |= self.current[j].2;
                j += 1;
            }
            self.postings[term as usize].push(Posting { table, tf, in_name });
            length += tf;
            i = j;
        }
        self.lengths.push(length);
    }

    fn add_text(&mut self, text: &str, weight: f32, in_name: bool) {
        let Builder { terms, postings, current, .. } = self;
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
            current.push((id, weight, in_name));
        });
    }

    #[allow(clippy::type_complexity)]
    fn finish(self, tables: usize) -> (HashMap<String, u32>, Vec<Vec<Posting>>, Vec<f32>, Vec<f32>) {
        let n = tables as f32;
        let idf = self
            .postings
            .iter()
            .map(|p| {
                let df = p.len() as f32;
                (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
            })
            .collect();
        let avg = if self.lengths.is_empty() { 1.0 } else { self.lengths.iter().sum::<f32>() / n };
        let avg = if avg > 0.0 { avg } else { 1.0 };
        let norm = self.lengths.iter().map(|l| K1 * (1.0 - B + B * l / avg)).collect();
        (self.terms, self.postings, idf, norm)
    }
}

/// Calls `emit` with every token of `text` (see the module documentation). Tokens are never empty.
pub fn tokenize(text: &str, emit: &mut dyn FnMut(&str)) {
    let mut buf = String::new();
    let mut run_start: Option<(usize, bool)> = None; // (byte offset, is Hangul)
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        let kind = if is_hangul(c) {
            Some(true)
        } else if c.is_alphanumeric() {
            Some(false)
        } else {
            None
        };
        match (run_start, kind) {
            (Some((_, h)), Some(k)) if h == k => {}
            _ => {
                if let Some((start, hangul)) = run_start {
                    let run = &text[start..i];
                    if hangul {
                        hangul_tokens(run, &mut buf, emit);
                    } else {
                        word_tokens(run, &mut buf, emit);
                    }
                }
                run_start = kind.map(|k| (i, k));
            }
        }
    }
}

/// Splits an alphanumeric run on camelCase and digit boundaries and emits each part, lower-cased and stemmed.
fn word_tokens(run: &str, buf: &mut String, emit: &mut dyn FnMut(&str)) {
    let mut start = 0;
    let mut prev: Option<char> = None;
    let mut iter = run.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if let Some(p) = prev {
            let next_lower = iter.peek().is_some_and(|(_, n)| n.is_lowercase());
            let boundary = p.is_numeric() != c.is_numeric()
                || (p.is_lowercase() && c.is_uppercase())
                || (p.is_uppercase() && c.is_uppercase() && next_lower);
            if boundary {
                emit_word(&run[start..i], buf, emit);
                start = i;
            }
        }
        prev = Some(c);
    }
    emit_word(&run[start..], buf, emit);
}

fn emit_word(word: &str, buf: &mut String, emit: &mut dyn FnMut(&str)) {
    buf.clear();
    buf.extend(word.chars().flat_map(char::to_lowercase));
    if buf.chars().count() < 2 || STOPWORDS.contains(&buf.as_str()) {
        return;
    }
    stem(buf);
    emit(buf);
}

/// Light English stemming, in place: plurals (-s, -es, -ies), -ing, -ed, then a final -e and a final -y (as -i), so
/// `categories`/`category`, `orders`/`ordered`/`ordering`/`order` and `prices`/`price` meet. Non-ASCII words and
/// words of three letters or fewer are left alone.
pub fn stem(w: &mut String) {
    if !w.is_ascii() || w.len() <= 3 || !w.bytes().all(|b| b.is_ascii_lowercase()) {
        return;
    }
    if w.ends_with("ies") && w.len() > 4 {
        w.truncate(w.len() - 2); // categories → categori
    } else if w.ends_with("sses") || w.ends_with("xes") || w.ends_with("ches") || w.ends_with("shes") {
        w.truncate(w.len() - 2);
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.truncate(w.len() - 1);
    }
    if w.ends_with("ing") && w.len() >= 7 {
        w.truncate(w.len() - 3);
        undouble(w);
    } else if w.ends_with("ed") && w.len() >= 6 {
        w.truncate(w.len() - 2);
        undouble(w);
    }
    if w.len() >= 5 && w.ends_with('e') {
        w.truncate(w.len() - 1);
    }
    if w.len() >= 4 && w.ends_with('y') && !w[..w.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']) {
        w.truncate(w.len() - 1);
        w.push('i');
    }
}

/// `shipp` → `ship`; `bill`, `class` and `buzz` keep their doubles.
fn undouble(w: &mut String) {
    let b = w.as_bytes();
    if b.len() >= 2 && b[b.len() - 1] == b[b.len() - 2] && !matches!(b[b.len() - 1], b'l' | b's' | b'z') {
        w.pop();
    }
}

/// Emits a Hangul run's character bigrams (the character itself for a one-character run) and the run with trailing
/// particles stripped when that differs and keeps at least two characters.
fn hangul_tokens(run: &str, buf: &mut String, emit: &mut dyn FnMut(&str)) {
    let chars: Vec<char> = run.chars().collect();
    if chars.len() == 1 {
        emit(run);
        return;
    }
    for pair in chars.windows(2) {
        buf.clear();
        buf.extend(pair);
        emit(buf);
    }
    let stripped = strip_particles(run);
    if stripped.len() < run.len() {
        emit(stripped);
    }
}

/// A Hangul word without up to two trailing particles; a particle is stripped only when two or more characters
/// remain, so 나이 ("age") keeps its 이.
pub fn strip_particles(word: &str) -> &str {
    let mut w = word;
    for _ in 0..2 {
        let Some(p) = PARTICLES.iter().find(|p| w.ends_with(**p) && w[..w.len() - p.len()].chars().count() >= 2) else {
            break;
        };
        w = &w[..w.len() - p.len()];
    }
    w
}

/// The English glossary words for the Korean terms in `question`.
fn glossary_expansions(question: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for word in question.split(|c: char| !is_hangul(c)).filter(|w| !w.is_empty()) {
        let stripped = strip_particles(word);
        for (term, english) in GLOSSARY {
            let one_syllable = term.chars().count() == 1;
            let hit = if one_syllable {
                // 월별 is 월 + 별 even though only one syllable remains: strip_particles keeps two.
                stripped == *term || word.strip_prefix(term).is_some_and(|rest| PARTICLES.contains(&rest))
            } else {
                word.contains(term)
            };
            if hit {
                out.extend_from_slice(english);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ForeignKey};

    fn col(name: &str, ty: &str) -> Column {
        Column::new(name, ty)
    }

    fn table(name: &str, columns: Vec<Column>) -> Table {
        Table { primary_key: vec!["id".into()], row_count: Some(100), ..Table::new(name, columns) }
    }

    fn fk(column: &str, to: &str) -> ForeignKey {
        ForeignKey {
            columns: vec![column.into()],
            ref_schema: None,
            ref_table: to.into(),
            ref_columns: vec!["id".into()],
        }
    }

    fn schema(tables: Vec<Table>) -> Schema {
        Schema { dialect: Dialect::Sqlite, server_version: "SQLite 3.50".into(), tables }
    }

    /// Deterministic filler words (a tiny LCG), so big schemas are reproducible without a random crate.
    struct Words(u64);
    impl Words {
        const POOL: &'static [&'static str] = &[
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
            "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor",
            "whiskey", "xray", "yankee", "zulu", "amber", "basalt", "cobalt", "dune", "ember", "fjord", "granite",
            "harbor", "iris", "jade", "karst", "lagoon", "marble", "nectar", "onyx", "prism", "quartz", "reef",
        ];
        fn next(&mut self) -> &'static str {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            Self::POOL[(self.0 >> 33) as usize % Self::POOL.len()]
        }
    }

    /// `n` filler tables named from the word pool, each with an id, a few filler columns and an FK to the previous.
    fn filler(n: usize, words: &mut Words) -> Vec<Table> {
        let names: Vec<String> = (0..n).map(|i| format!("{}_{}_{i}", words.next(), words.next())).collect();
        (0..n)
            .map(|i| {
                let name = names[i].clone();
                let mut columns = vec![col("id", "INTEGER")];
                for _ in 0..8 {
                    columns.push(col(&format!("{}_{}", words.next(), words.next()), "TEXT"));
                }
                let mut t = table(&name, columns);
                t.columns[1].samples = vec![words.next().to_string(), words.next().to_string()];
                if i > 0 {
                    t.columns.push(col("parent_id", "INTEGER"));
                    t.foreign_keys.push(fk("parent_id", &names[i - 1]));
                }
                t
            })
            .collect()
    }

    fn shop_tables() -> Vec<Table> {
        let mut customers = table("customers", vec![col("id", "INTEGER"), col("name", "TEXT"), col("city", "TEXT")]);
        customers.comment = Some("고객 정보".into());
        customers.columns[2].samples = vec!["서울".into(), "부산".into(), "대구".into()];
        let mut orders = table(
            "orders",
            vec![col("id", "INTEGER"), col("customer_id", "INTEGER"), col("ordered_at", "TEXT"), col("total", "REAL")],
        );
        orders.foreign_keys.push(fk("customer_id", "customers"));
        let mut items = table(
            "order_items",
            vec![col("id", "INTEGER"), col("order_id", "INTEGER"), col("product_id", "INTEGER"), col("qty", "INTEGER")],
        );
        items.foreign_keys.push(fk("order_id", "orders"));
        items.foreign_keys.push(fk("product_id", "products"));
        let mut products =
            table("products", vec![col("id", "INTEGER"), col("title", "TEXT"), col("category_name", "TEXT")]);
        products.columns[2].samples = vec!["전자제품".into(), "도서".into()];
        let mut employees = table("staff_members", vec![col("id", "INTEGER"), col("full_name", "TEXT")]);
        employees.columns[1].comment = Some("직원 이름".into());
        vec![customers, orders, items, products, employees]
    }

    /// The shop tables hidden among `n` filler tables, at spread-out positions.
    fn big_schema(n: usize) -> Schema {
        let mut words = Words(7);
        let mut tables = filler(n, &mut words);
        for (k, t) in shop_tables().into_iter().enumerate() {
            tables.insert((k * 397 + 101) % tables.len(), t);
        }
        schema(tables)
    }

    fn names(s: &Schema, sel: &Selection) -> Vec<String> {
        sel.tables.iter().map(|&i| s.tables[i].name.clone()).collect()
    }

    fn tokens(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        tokenize(text, &mut |t| out.push(t.to_string()));
        out
    }

    #[test]
    fn tokenizer_splits_case_digits_and_stems() {
        assert_eq!(tokens("OrderItems"), ["order", "item"]);
        assert_eq!(tokens("customer_id"), ["customer", "id"]);
        assert_eq!(tokens("HTTPServer2Log"), ["http", "server", "log"]);
        assert_eq!(tokens("sales2023"), ["sale", "2023"]);
        assert_eq!(tokens("the categories of products"), ["categori", "product"]);
        assert_eq!(tokens("category"), ["categori"]);
        assert_eq!(tokens("ordered ordering orders"), ["order", "order", "order"]);
        assert_eq!(tokens("shipped shipping"), ["ship", "ship"]);
        assert_eq!(tokens("prices price"), ["pric", "pric"]);
        assert_eq!(tokens("status address classes"), ["status", "address", "class"]);
        assert!(tokens("a I ! ,").is_empty());
    }

    #[test]
    fn tokenizer_handles_hangul() {
        // Bigrams plus the word without its particle.
        assert_eq!(tokens("고객별"), ["고객", "객별", "고객"]);
        assert_eq!(tokens("주문"), ["주문"]);
        assert_eq!(tokens("수"), ["수"]);
        // Mixed scripts split into runs.
        assert_eq!(tokens("2023년매출"), ["2023", "년매", "매출"]);
        assert_eq!(strip_particles("나이"), "나이");
        assert_eq!(strip_particles("직원이"), "직원");
        assert_eq!(strip_particles("고객들의"), "고객");
        assert_eq!(strip_particles("서울에서"), "서울");
    }

    proptest::proptest! {
        #[test]
        fn tokens_are_never_empty(text in "\\PC{0,60}") {
            tokenize(&text, &mut |t| assert!(!t.is_empty()));
            let _ = glossary_expansions(&text);
        }
    }

    #[test]
    fn glossary_maps_korean_terms() {
        let e = glossary_expansions("월별 매출과 고객 수");
        for w in ["month", "revenue", "sales", "customer", "count"] {
            assert!(e.contains(&w), "{w} missing from {e:?}");
        }
        // One-syllable terms match whole words only: 월요일 is not 월 ("month").
        assert!(!glossary_expansions("월요일").contains(&"month"));
        assert!(GLOSSARY.len() >= 80);
    }

    #[test]
    fn small_schema_is_shown_whole_in_schema_order() {
        let s = schema(shop_tables());
        let index = SchemaIndex::new(&s);
        let sel = index.select("anything at all", 100_000);
        assert!(sel.complete);
        assert_eq!(sel.tables, (0..s.tables.len()).collect::<Vec<_>>());
        assert_eq!(sel.tokens, index.total_tokens());
    }

    #[test]
    fn relevant_table_found_among_2000() {
        let s = big_schema(2000);
        let index = SchemaIndex::new(&s);
        assert_eq!(index.len(), 2005);
        let sel = index.select("which products are in each category?", 1500);
        assert!(!sel.complete);
        assert_eq!(names(&s, &sel).first().map(String::as_str), Some("products"));
        assert!(sel.tokens <= 1500);
        // The whole schema is far larger than the budget.
        assert!(index.total_tokens() > 50 * 1500);
    }

    #[test]
    fn fk_neighbours_and_join_paths_are_pulled_in() {
        let s = big_schema(2000);
        let index = SchemaIndex::new(&s);
        // "orders" alone: its neighbours customers (referenced) and order_items (referencing) come along.
        let n = names(&s, &index.select("how many orders were placed", 2000));
        assert_eq!(n[0], "orders");
        assert!(n.contains(&"customers".to_string()), "{n:?}");
        assert!(n.contains(&"order_items".to_string()), "{n:?}");
        // customers and products are two hops apart: the path through orders and order_items is included.
        let n = names(&s, &index.select("customers who bought products", 2000));
        for t in ["customers", "products", "orders", "order_items"] {
            assert!(n.contains(&t.to_string()), "{t} missing from {n:?}");
        }
    }

    #[test]
    fn korean_question_links_via_glossary() {
        let s = big_schema(2000);
        let index = SchemaIndex::new(&s);
        let n = names(&s, &index.select("고객별 주문 수", 2000));
        assert!(n[..2].contains(&"orders".to_string()), "{n:?}");
        assert!(n[..2].contains(&"customers".to_string()), "{n:?}");
        let n = names(&s, &index.select("직원 목록", 2000));
        assert_eq!(n[0], "staff_members", "{n:?}");
    }

    #[test]
    fn korean_question_links_via_sample_values_and_comments() {
        let s = big_schema(2000);
        let index = SchemaIndex::new(&s);
        // 전자제품 is only a sample value of products.category_name.
        let n = names(&s, &index.select("전자제품 카테고리의 판매량", 2000));
        assert_eq!(n[0], "products", "{n:?}");
        // 부산 is a sample value of customers.city.
        let n = names(&s, &index.select("부산에서 온 사람들", 2000));
        assert_eq!(n[0], "customers", "{n:?}");
    }

    #[test]
    fn budget_is_respected_and_never_empty() {
        let s = big_schema(2000);
        let index = SchemaIndex::new(&s);
        for budget in [0, 10, 200, 500, 3000] {
            let sel = index.select("orders of customers by product category", budget);
            assert!(!sel.tables.is_empty());
            let sizes: usize = sel.tables.iter().map(|&t| index.table_tokens(t)).sum();
            assert_eq!(sel.tokens, sizes + sel.tables.len() - 1);
            // Over budget only when the first table alone is.
            assert!(sel.tokens <= budget || sel.tables.len() == 1, "budget {budget}: {}", sel.tokens);
            let mut dedup = sel.tables.clone();
            dedup.sort_unstable();
            dedup.dedup();
            assert_eq!(dedup.len(), sel.tables.len(), "a table was chosen twice");
        }
    }

    #[test]
    fn unmatched_question_still_gets_tables() {
        let s = big_schema(300);
        let index = SchemaIndex::new(&s);
        let sel = index.select("zzzz qqqq", 800);
        assert!(!sel.tables.is_empty());
        assert!(sel.tokens <= 800);
        // The fallback prefers connected tables: every filler table has two FK neighbours except the chain ends.
        assert!(sel.tables.iter().all(|&t| !index.neighbours[t].is_empty()));
    }

    #[test]
    fn empty_schema_selects_nothing() {
        let s = schema(vec![]);
        let index = SchemaIndex::new(&s);
        let sel = index.select("orders", 0);
        assert!(sel.tables.is_empty());
        assert!(sel.complete);
        assert!(index.rank("orders").is_empty());
    }

    #[test]
    fn schema_qualified_foreign_keys_resolve_to_the_right_schema() {
        let mut a = table("orders", vec![col("id", "INTEGER")]);
        a.schema = Some("archive".into());
        let mut b = table("orders", vec![col("id", "INTEGER")]);
        b.schema = Some("sales".into());
        let mut c = table("refunds", vec![col("id", "INTEGER"), col("order_id", "INTEGER")]);
        c.schema = Some("sales".into());
        c.foreign_keys.push(fk("order_id", "orders"));
        let s = schema(vec![a, b, c]);
        let n = fk_neighbours(&s.tables);
        assert_eq!(n[2], vec![1], "an unqualified reference resolves in the referencing table's schema");
        assert!(n[0].is_empty());
    }

    #[test]
    fn build_and_select_scale_linearly() {
        // Loose bounds (debug build, shared machine): they catch accidental quadratic work, not micro-regressions.
        let s = big_schema(2000);
        let start = std::time::Instant::now();
        let index = SchemaIndex::new(&s);
        let built = start.elapsed();
        let start = std::time::Instant::now();
        for _ in 0..10 {
            let _ = index.select("고객별 주문 수와 월별 매출 by product category", 2000);
        }
        let selected = start.elapsed() / 10;
        assert!(built.as_millis() < 2000, "index build took {built:?}");
        assert!(selected.as_millis() < 50, "select took {selected:?}");
    }
}
