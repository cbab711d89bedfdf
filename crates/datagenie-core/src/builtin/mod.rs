//! The built-in question engine: answers common analytic questions in English and Korean without an LLM,
//! deterministically, and abstains when it is not confident rather than guess.
//!
//! Pipeline (each stage its own module):
//! 1. `text` — tokens: words (stemmed), Hangul words (particles stripped, 별/마다 noted), numbers, quoted strings;
//! 2. `link` — items: every stretch of the question read as a table or column mention (`lexicon`: names split and
//!    stemmed, abbreviations expanded, table prefixes removed, comments; Korean through a glossary), a cell value
//!    ([`ValueIndex`]), a number, or a cue (`vocab`: how many, average, more than, ordered by, 지난달, …);
//! 3. `interp` — a query plan: subject table, projection, filters, grouping, ordering, limit (one file per pass);
//!    each item a construct uses is marked, and what is left unexplained — or guessed — is counted as a feature of
//!    the reading;
//! 4. `sql` — the plan in the schema's dialect, joined along foreign keys, aggregates named for people (`alias`),
//!    then checked by the guard;
//! 5. `doubt` — the confidence: one factor per feature, in ONE table with the threshold, fitted by `calibrate` on
//!    the tuning databases of Spider train (`datagenie eval --calibrate --split tune`).
//!
//! The engine does no IO and reads no clock: today's date is an argument. It never panics on any input (a
//! panic inside a stage would be a bug; it is caught and becomes an abstention).

mod alias;
pub mod calibrate;
mod dates;
mod doubt;
mod interp;
mod lexicon;
mod link;
mod sql;
mod text;
mod vocab;

use std::collections::{BTreeMap, HashSet, VecDeque};

use crate::Question;
use crate::guard::{self, Policy};
use crate::schema::{Schema, TypeClass};

use lexicon::Lexicon;
use sql::{Cond, Plan, Renderer, Sel, plan_tables};

/// `text` with the first occurrence of `mention` (case and spacing ignored) replaced by ` name `; `None` when it does
/// not occur.
pub fn replace_mention(text: &str, mention: &str, name: &str) -> Option<String> {
    let target: Vec<char> = mention.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect();
    if target.is_empty() {
        return None;
    }
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for start in 0..chars.len() {
        if chars[start].1.is_whitespace() {
            continue;
        }
        let (mut i, mut k) = (start, 0);
        while i < chars.len() && k < target.len() {
            let c = chars[i].1;
            if c.is_whitespace() {
                i += 1;
                continue;
            }
            if c.to_lowercase().ne(std::iter::once(target[k])) {
                break;
            }
            i += 1;
            k += 1;
        }
        if k == target.len() {
            let from = chars[start].0;
            let to = chars.get(i).map(|x| x.0).unwrap_or(text.len());
            return Some(format!("{} {name} {}", &text[..from], &text[to..]));
        }
    }
    None
}

/// Answers below this confidence are withheld. It is `doubt::THRESHOLD`, fitted with the confidence factors on the
/// tuning databases of Spider's training split only (`datagenie eval --calibrate --split tune`); the figures it gives
/// on those and on the held-out validation databases are in docs/builtin-engine-spider.md.
pub const MIN_CONFIDENCE: f32 = doubt::THRESHOLD;

/// Distinct values kept per column.
pub const MAX_VALUES_PER_COLUMN: usize = 1000;
/// Values longer than this (characters) are not kept: people do not type paragraphs as filter values.
pub const MAX_VALUE_CHARS: usize = 80;
/// Columns `value_columns` proposes at most.
pub const MAX_VALUE_COLUMNS: usize = 2000;

/// Distinct cell values per (table, column), for linking values mentioned in a question ("from France").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValueIndex {
    columns: BTreeMap<(String, String), Vec<String>>,
}

impl ValueIndex {
    /// Adds values of `table.column` (deduplicated; bounded per column; long values skipped).
    pub fn add(&mut self, table: &str, column: &str, values: impl IntoIterator<Item = String>) {
        let list = self.columns.entry((table.to_string(), column.to_string())).or_default();
        let mut seen: HashSet<String> = list.iter().cloned().collect();
        for v in values {
            if list.len() >= MAX_VALUES_PER_COLUMN {
                break;
            }
            let trimmed = v.trim();
            if trimmed.is_empty() || trimmed.chars().count() > MAX_VALUE_CHARS {
                continue;
            }
            if seen.insert(v.clone()) {
                list.push(v);
            }
        }
    }

    /// Number of values held.
    pub fn len(&self) -> usize {
        self.columns.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values of one column (exact names).
    pub fn values(&self, table: &str, column: &str) -> Option<&[String]> {
        self.columns.get(&(table.to_string(), column.to_string())).map(Vec::as_slice)
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = (&(String, String), &Vec<String>)> {
        self.columns.iter()
    }
}

/// Which columns the engine wants distinct values of (text-like, low-cardinality candidates), as (table, column).
pub fn value_columns(schema: &Schema) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in &schema.tables {
        for c in &t.columns {
            if out.len() >= MAX_VALUE_COLUMNS {
                return out;
            }
            let text_like = matches!(c.type_class(), TypeClass::Text | TypeClass::Other);
            // Long free text (descriptions, notes) is not something people quote whole in a question.
            let long_samples = !c.samples.is_empty()
                && c.samples.iter().map(|s| s.chars().count()).sum::<usize>() / c.samples.len() > MAX_VALUE_CHARS;
            if text_like && !long_samples {
                out.push((t.name.clone(), c.name.clone()));
            }
        }
    }
    out
}

/// What the engine understood and the SQL for it.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinAnswer {
    pub sql: String,
    pub confidence: f32,
    /// A short sentence of what was understood, e.g. `count of head where age > 56`.
    pub interpretation: String,
}

/// Why the engine did not answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Abstention {
    pub reason: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Answer(BuiltinAnswer),
    Abstain(Abstention),
}

/// A reading before the confidence threshold ([`Engine::read`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub sql: String,
    /// `Π factor ^ count` over `features` (see [`calibrate::Table`]).
    pub confidence: f32,
    pub interpretation: String,
    /// How many times each feature occurs in this reading, in the order of [`feature_names`].
    pub features: Vec<f32>,
    /// Why the confidence dropped, for people.
    pub doubts: Vec<String>,
}

/// The names of the features a reading is described by, in the order of [`Reading::features`].
pub fn feature_names() -> Vec<&'static str> {
    doubt::FACTORS.iter().map(|r| r.1).collect()
}

fn not_confident(reason: &str) -> String {
    format!(
        "the built-in engine is not confident enough ({reason}); rephrase the question, or configure an LLM provider \
         (openai or anthropic) for questions like this"
    )
}

/// A business term of the glossary that a question uses, and the rows it means: `sql`, a condition on `table`'s
/// columns. The engine reads the question with the term standing for the table, then adds the condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermCondition {
    /// The ways the question may write it (the term and its synonyms; found case- and spacing-insensitively).
    pub mentions: Vec<String>,
    pub term: String,
    pub table: String,
    pub sql: String,
}

/// The engine for one schema. Build once per schema; answering is cheap and deterministic.
#[derive(Debug, Clone)]
pub struct Engine {
    schema: Schema,
    lex: Lexicon,
}

impl Engine {
    pub fn new(schema: &Schema, values: ValueIndex) -> Engine {
        Engine { lex: Lexicon::build(schema, &values), schema: schema.clone() }
    }

    /// Deterministic. `today` is "YYYY-MM-DD" (for relative dates). Never panics on any input.
    pub fn answer(&self, question: &Question, today: &str) -> Outcome {
        self.answer_with_terms(question, today, &[])
    }

    /// [`Engine::answer`], with the glossary's conditions for the business terms the question uses: the query reads
    /// the term's table and holds its condition, or the engine abstains (a term's condition never silently drops).
    pub fn answer_with_terms(&self, question: &Question, today: &str, terms: &[TermCondition]) -> Outcome {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.answer_inner(question, today, terms)));
        match run {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Abstain(Abstention {
                reason: "the built-in engine could not read this question; configure an LLM provider to ask it".into(),
                confidence: 0.0,
            }),
        }
    }

    /// What the engine read in `question`: its items, the plan and the doubts, one per line (for debugging an
    /// abstention or a wrong answer; the format is not stable).
    #[doc(hidden)]
    pub fn explain(&self, question: &Question, today: &str) -> String {
        let q = question.as_str();
        let toks = text::tokenize(q);
        let hangul = toks.iter().filter(|t| t.kind == text::TokKind::Hangul).count();
        let words = toks.iter().filter(|t| t.kind == text::TokKind::Word).count();
        let items = link::link(q, &toks, &self.lex);
        let mut out = String::new();
        for it in &items {
            let kind = match &it.kind {
                link::ItemKind::Schema { tables, cols } => {
                    let t: Vec<String> = tables
                        .iter()
                        .map(|(t, s)| {
                            format!("T:{}({s:.2})", self.schema.tables.get(*t).map(|x| x.name.as_str()).unwrap_or("?"))
                        })
                        .collect();
                    let c: Vec<String> = cols.iter().map(|(c, s)| format!("C:{}({s:.2})", self.col_name(*c))).collect();
                    format!("{} {}", t.join(" "), c.join(" "))
                }
                link::ItemKind::Value { cands, quoted } => {
                    let c: Vec<String> = cands.iter().map(|(c, v, _)| format!("{}='{v}'", self.col_name(*c))).collect();
                    format!("value{} {}", if *quoted { "(quoted)" } else { "" }, c.join(" "))
                }
                other => format!("{other:?}"),
            };
            out.push_str(&format!("  [{}] {kind}\n", it.text));
        }
        match interp::interpret(&items, &self.lex, dates::Ymd::parse(today), hangul > words) {
            Ok(i) => {
                let mut feats = i.feats;
                if let Ok((joins, ambiguous)) = self.joins(&i.plan) {
                    feats[doubt::F::Joins as usize] = joins.len() as f32;
                    feats[doubt::F::JoinAmbiguous as usize] = if ambiguous { 1.0 } else { 0.0 };
                }
                out.push_str(&format!(
                    "plan: {:?}\nconfidence {:.3}; doubts: {}\nfeatures: {}\n",
                    i.plan,
                    doubt::confidence(&feats),
                    i.doubts.join("; "),
                    doubt::describe(&feats)
                ))
            }
            Err(e) => out.push_str(&format!("no plan: {e}\n")),
        }
        out
    }

    /// The engine's reading of `question` whatever its confidence (`answer` withholds it below [`MIN_CONFIDENCE`]);
    /// an abstention only when no query could be built. What `datagenie eval --calibrate` fits the confidence on.
    /// Deterministic; never panics on any input.
    pub fn read(&self, question: &Question, today: &str) -> Result<Reading, Abstention> {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.read_inner(question, today, &[])));
        match run {
            Ok(reading) => reading.map_err(|reason| Abstention { reason: not_confident(&reason), confidence: 0.0 }),
            Err(_) => Err(Abstention {
                reason: "the built-in engine could not read this question; configure an LLM provider to ask it".into(),
                confidence: 0.0,
            }),
        }
    }

    fn answer_inner(&self, question: &Question, today: &str, terms: &[TermCondition]) -> Outcome {
        let reading = match self.read_inner(question, today, terms) {
            Ok(r) => r,
            Err(reason) => return Outcome::Abstain(Abstention { reason: not_confident(&reason), confidence: 0.0 }),
        };
        if reading.confidence < MIN_CONFIDENCE {
            let why =
                if reading.doubts.is_empty() { "unclear question".to_string() } else { reading.doubts.join("; ") };
            return Outcome::Abstain(Abstention { reason: not_confident(&why), confidence: reading.confidence });
        }
        Outcome::Answer(BuiltinAnswer {
            sql: reading.sql,
            confidence: reading.confidence,
            interpretation: reading.interpretation,
        })
    }

    fn read_inner(&self, question: &Question, today: &str, terms: &[TermCondition]) -> Result<Reading, String> {
        if self.schema.tables.is_empty() {
            return Err("the database has no tables".into());
        }
        // Each term stands for its table in the reading; its condition is added to the plan below.
        let mut text = question.as_str().to_string();
        let mut conditions = Vec::new();
        for t in terms {
            let Some(ti) = self.schema.tables.iter().position(|x| x.name.eq_ignore_ascii_case(&t.table)) else {
                return Err(format!("the business term \"{}\" names a table that is not there", t.term));
            };
            let Some(&col) = self.lex.tables.get(ti).and_then(|x| x.cols.first()) else {
                return Err(format!("the business term \"{}\" names a table without columns", t.term));
            };
            let name = &self.schema.tables[ti].name;
            let Some(replaced) = t.mentions.iter().find_map(|m| replace_mention(&text, m, name)) else {
                continue;
            };
            text = replaced;
            conditions.push((ti, Cond::Term { col, term: t.term.clone(), sql: t.sql.clone() }));
        }
        let q = text.as_str();
        let toks = text::tokenize(q);
        let hangul = toks.iter().filter(|t| t.kind == text::TokKind::Hangul).count();
        let words = toks.iter().filter(|t| t.kind == text::TokKind::Word).count();
        let korean = hangul > words;
        let items = link::link(q, &toks, &self.lex);
        let today = dates::Ymd::parse(today);
        let mut interp = interp::interpret(&items, &self.lex, today, korean)?;
        for (table, cond) in conditions {
            if interp.plan.from != table {
                return Err("a business term's condition is on another table than the question's subject".into());
            }
            interp.plan.filters.push(vec![cond]);
        }
        let (joins, ambiguous) = self.joins(&interp.plan)?;
        if !joins.is_empty() && interp.plan.filters.iter().flatten().any(|c| matches!(c, Cond::Term { .. })) {
            return Err("a business term's condition cannot be placed in a query that joins tables".into());
        }
        interp.feats[doubt::F::Joins as usize] = joins.len() as f32;
        if ambiguous {
            interp.feats[doubt::F::JoinAmbiguous as usize] = 1.0;
            interp.doubts.push("more than one way to join the tables".into());
        }
        let count_distinct = self.count_distinct(&interp.plan, &joins);
        let renderer = Renderer { schema: &self.schema, lex: &self.lex, qualify: !joins.is_empty(), korean };
        let Some(sql) = renderer.render(&interp.plan, &joins, count_distinct) else {
            return Err("a value cannot be written safely as a literal".into());
        };
        if guard::check(&sql, self.schema.dialect, &Policy::default()).is_err() {
            return Err("the query it built did not pass the SQL guard".into());
        }
        Ok(Reading {
            sql,
            confidence: doubt::confidence(&interp.feats).clamp(0.0, 1.0),
            interpretation: self.describe(&interp.plan, &joins),
            features: interp.feats.to_vec(),
            doubts: interp.doubts,
        })
    }

    /// Join steps reaching every table the plan reads, shortest paths along foreign keys from the subject.
    /// The flag is true when two tables are linked by more than one foreign key (a guess was made).
    fn joins(&self, plan: &Plan) -> Result<(Vec<sql::JoinStep>, bool), String> {
        let needed = plan_tables(plan, &self.lex);
        let mut joined: Vec<usize> = vec![plan.from];
        let mut steps = Vec::new();
        let mut ambiguous = false;
        for &t in &needed {
            if joined.contains(&t) {
                continue;
            }
            // Breadth-first from every joined table.
            let mut prev: BTreeMap<usize, (usize, usize, usize)> = BTreeMap::new(); // table → (from table, col, col)
            let mut queue: VecDeque<(usize, usize)> = joined.iter().map(|&j| (j, 0)).collect();
            let mut seen: HashSet<usize> = joined.iter().copied().collect();
            let mut found = false;
            while let Some((cur, depth)) = queue.pop_front() {
                if depth >= 4 {
                    continue;
                }
                let mut nbs = self.lex.neighbours(cur);
                nbs.sort();
                for (nb, a, b) in nbs {
                    if seen.contains(&nb) {
                        continue;
                    }
                    seen.insert(nb);
                    prev.insert(nb, (cur, a, b));
                    if nb == t {
                        found = true;
                        break;
                    }
                    queue.push_back((nb, depth + 1));
                }
                if found {
                    break;
                }
            }
            if !found {
                let name = self.schema.tables.get(t).map(|x| x.name.as_str()).unwrap_or("?");
                return Err(format!("no foreign-key path reaches {name}"));
            }
            let mut path = Vec::new();
            let mut cur = t;
            while let Some(&(from, a, b)) = prev.get(&cur) {
                path.push(sql::JoinStep { table: cur, left_col: a, right_col: b });
                let links = self.lex.neighbours(from).into_iter().filter(|(x, _, _)| *x == cur).count();
                ambiguous |= links > 1;
                cur = from;
                if joined.contains(&cur) {
                    break;
                }
            }
            path.reverse();
            for s in path {
                joined.push(s.table);
                steps.push(s);
            }
        }
        Ok((steps, ambiguous))
    }

    /// COUNT(*) would count a row several times when a join fans out from the counted table: count its key.
    fn count_distinct(&self, plan: &Plan, joins: &[sql::JoinStep]) -> Option<usize> {
        if !plan.select.contains(&Sel::Count) {
            return None;
        }
        let counted = plan.count_table.unwrap_or(plan.from);
        let pk = self.lex.pk(counted)?;
        let fans_out = joins.iter().any(|j| {
            // The new table references the joined one: one-to-many.
            j.table != counted && self.lex.edges.iter().any(|e| e.from_col == j.right_col && e.to_col == j.left_col)
        });
        fans_out.then_some(pk)
    }

    /// One condition in words.
    fn cond_text(&self, c: &sql::Cond) -> String {
        use sql::{Cond, Lit};
        let lit = |l: &Lit| match l {
            Lit::Num(n) => sql::number(*n),
            Lit::Text(s) | Lit::Date(s) => format!("'{s}'"),
        };
        let table = |t: usize| self.schema.tables.get(t).map(|x| x.name.clone()).unwrap_or_default();
        match c {
            Cond::Cmp(col, op, l) => format!("{} {} {}", self.col_name(*col), op.sql(), lit(l)),
            Cond::Between(col, a, b, neg) => {
                format!("{} {}between {} and {}", self.col_name(*col), if *neg { "not " } else { "" }, lit(a), lit(b))
            }
            Cond::Like(col, kind, text, neg) => format!(
                "{} {}{} '{text}'",
                self.col_name(*col),
                if *neg { "not " } else { "" },
                match kind {
                    vocab::LikeKind::Contains => "contains",
                    vocab::LikeKind::Starts => "starts with",
                    vocab::LikeKind::Ends => "ends with",
                }
            ),
            Cond::Range(col, a, b) => format!("{} from {} until {}", self.col_name(*col), lit(a), lit(b)),
            Cond::CmpAgg(col, op, agg, other) => format!(
                "{} {} the {} {} of all {}",
                self.col_name(*col),
                op.sql(),
                agg.word(),
                self.col_name(*other),
                table(self.lex.cols[*other].table)
            ),
            Cond::InHierarchy { name, value, .. } => {
                format!("{} is '{value}' or under it", self.col_name(*name))
            }
            Cond::Exists { other_col, negated, .. } => format!(
                "{} related {}",
                if *negated { "without" } else { "with" },
                table(self.lex.cols[*other_col].table)
            ),
            Cond::Term { term, .. } => format!("{term} (glossary)"),
        }
    }

    fn col_name(&self, c: usize) -> String {
        let info = &self.lex.cols[c];
        let table = self.schema.tables.get(info.table).map(|t| t.name.as_str()).unwrap_or("?");
        format!("{table}.{}", info.name)
    }

    /// A short sentence of the plan, for people.
    fn describe(&self, plan: &Plan, joins: &[sql::JoinStep]) -> String {
        use sql::OrderKey;
        let table = |t: usize| self.schema.tables.get(t).map(|x| x.name.clone()).unwrap_or_default();
        let mut parts: Vec<String> = plan
            .select
            .iter()
            .map(|s| match s {
                Sel::Col(c) => self.col_name(*c),
                Sel::Agg(a, c) => format!("{} of {}", a.word(), self.col_name(*c)),
                Sel::Count => format!("count of {}", table(plan.count_table.unwrap_or(plan.from))),
                Sel::CountDistinct(c) => format!("number of distinct {}", self.col_name(*c)),
                Sel::Star => format!("every column of {}", table(plan.from)),
                Sel::Parent(c) => format!("the parent's {}", self.col_name(*c)),
                Sel::Share { cond, scale } => format!(
                    "{} of {} rows where {}",
                    if *scale == 100.0 { "percentage" } else { "share" },
                    table(plan.count_table.unwrap_or(plan.from)),
                    cond.iter().map(|c| self.cond_text(c)).collect::<Vec<_>>().join(" or ")
                ),
            })
            .collect();
        if let Some((c, b)) = plan.bucket {
            parts.insert(0, format!("{} by {}", self.col_name(c), format!("{b:?}").to_lowercase()));
        }
        let mut out = format!("{}{}", if plan.distinct { "distinct " } else { "" }, parts.join(", "));
        out.push_str(&format!(" from {}", table(plan.from)));
        if !joins.is_empty() {
            let names: Vec<String> = joins.iter().map(|j| table(j.table)).collect();
            out.push_str(&format!(" (joined with {})", names.join(", ")));
        }
        let conds: Vec<String> = plan
            .filters
            .iter()
            .map(|g| {
                let parts: Vec<String> = g.iter().map(|c| self.cond_text(c)).collect();
                parts.join(" or ")
            })
            .collect();
        if let Some((a, b)) = plan.intersect {
            // "both A and B": values found among the rows with A and among the rows with B.
            let rest: Vec<&String> =
                conds.iter().enumerate().filter(|(k, _)| *k != a && *k != b).map(|(_, c)| c).collect();
            let (ca, cb) = (conds.get(a).cloned().unwrap_or_default(), conds.get(b).cloned().unwrap_or_default());
            let common = rest.iter().map(|c| format!(" and {c}")).collect::<String>();
            out.push_str(&format!(" found both where {ca}{common} and where {cb}{common}"));
        } else if !conds.is_empty() {
            out.push_str(&format!(" where {}", conds.join(" and ")));
        }
        if !plan.group_by.is_empty() {
            let g: Vec<String> = plan.group_by.iter().map(|c| self.col_name(*c)).collect();
            out.push_str(&format!(" per {}", g.join(", ")));
        }
        if let Some((op, n)) = plan.having {
            out.push_str(&format!(" having count {} {}", op.sql(), sql::number(n)));
        }
        if plan.count_groups {
            out.push_str(", counted");
        }
        if !plan.order.is_empty() {
            let o: Vec<String> = plan
                .order
                .iter()
                .map(|(k, desc)| {
                    let k = match k {
                        OrderKey::Col(c) => self.col_name(*c),
                        OrderKey::Count => "count".into(),
                        OrderKey::Agg(a, c) => format!("{} of {}", a.word(), self.col_name(*c)),
                    };
                    format!("{k} {}", if *desc { "descending" } else { "ascending" })
                })
                .collect();
            out.push_str(&format!(" ordered by {}", o.join(", ")));
        }
        if let Some(n) = plan.limit {
            out.push_str(&format!(", first {n}"));
        }
        out
    }
}

#[cfg(test)]
mod tests;
