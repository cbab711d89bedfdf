//! What the engine knows about one schema: every table and column as word phrases (name split and stemmed,
//! abbreviations expanded, table prefixes removed, short comment segments), the foreign-key graph, and the cell
//! values, indexed for lookup by their normalised text.

use std::collections::HashMap;

use super::ValueIndex;
use super::text::{split_identifier, stem_word};
use super::vocab::{ABBREVIATIONS, GENERIC_SCHEMA_WORDS};
use crate::hangul::is_hangul;
use crate::schema::{Schema, TypeClass};

/// One way to say a table or column: stems in order, and how much a match on it is worth.
#[derive(Debug, Clone)]
pub(crate) struct Phrase {
    pub stems: Vec<String>,
    pub weight: f32,
}

#[derive(Debug, Clone)]
pub(crate) struct ColInfo {
    pub table: usize,
    pub name: String,
    /// Stems of the name's words, abbreviations expanded.
    pub stems: Vec<String>,
    pub class: TypeClass,
    pub is_pk: bool,
    pub is_fk: bool,
    /// The column may hold NULL (a primary key never does): `NOT IN` over it needs the NULLs left out.
    pub nullable: bool,
    pub phrases: Vec<Phrase>,
    /// The comment names the lower level of a hierarchy ("subcategory", "하위 카테고리"): a key to a hierarchy's
    /// table that says it points at the level below the top.
    pub lower_level: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct TableInfo {
    pub stems: Vec<String>,
    pub phrases: Vec<Phrase>,
    /// Column ids (indices into `Lexicon::cols`), in table order.
    pub cols: Vec<usize>,
    pub pk: Vec<usize>,
    /// The comment says the table's rows form two levels ("in two levels", "2단계").
    pub two_levels: bool,
}

/// A comment saying its table's rows form two levels: "in two levels", "two-level", "2단계".
fn says_two_levels(comment: &str) -> bool {
    let c = comment.to_lowercase();
    ["two levels", "two-level", "two level", "2 levels", "2-level", "2단계", "두 단계", "2계층"]
        .iter()
        .any(|p| c.contains(p))
}

/// A comment naming the lower level of a hierarchy: a word `sub…` ("subcategory", "sub-region"), "하위", "소분류".
fn names_lower_level(comment: &str) -> bool {
    let c = comment.to_lowercase();
    c.contains("하위")
        || c.contains("소분류")
        || c.split(|ch: char| !ch.is_alphanumeric() && ch != '-').any(|w| {
            w.len() > 5
                && w.starts_with("sub")
                && !w.starts_with("subject")
                && !w.starts_with("subscri")
                && !w.starts_with("submi")
        })
}

/// One foreign-key edge: `from` columns of one table reference `to` columns of another (single-column keys only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edge {
    pub from_col: usize,
    pub to_col: usize,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Lexicon {
    pub tables: Vec<TableInfo>,
    pub cols: Vec<ColInfo>,
    pub edges: Vec<Edge>,
    /// Normalised value text → (column id, the value as stored).
    pub values: HashMap<String, Vec<(usize, String)>>,
    /// Stemmed one-word value → (column id, the value as stored), for plurals ("professors").
    pub stem_values: HashMap<String, Vec<(usize, String)>>,
    /// Column id → its distinct values (as loaded).
    pub col_values: HashMap<usize, Vec<String>>,
    /// The longest value in words, bounding the n-grams looked up.
    pub max_value_words: usize,
    /// What coded values mean, from the columns' comments ("pending=입금 대기", "1 = on sale").
    pub glosses: Vec<Gloss>,
    /// Business measures a table's comment defines ("revenue = SUM(total_amount) over delivered and shipped orders").
    pub metrics: Vec<Metric>,
}

/// A measure the schema itself defines in a table's comment: its name, the aggregate of one column, and the rows it
/// counts (a coded column's values).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Metric {
    /// The name as written, lower-cased ("revenue", "매출").
    pub name: String,
    pub table: usize,
    pub agg: super::vocab::Agg,
    pub col: usize,
    /// `col IN (values)` of the rows it is over, if it says.
    pub filter: Option<(usize, Vec<String>)>,
}

/// The measures one table comment defines, in the forms "NAME = SUM(col) over v1 and v2 rows" and
/// "NAME = col2 IN ('v1', 'v2') …의 col 합계": a name of one word before `=`, an aggregate of a numeric column of the
/// table (`SUM(col)`, `AVG(col)`, or the column followed by 합계/합/평균), and the rows as a coded column's values
/// (quoted, or said as words). Anything else is not a definition.
fn parse_metrics(lex: &Lexicon, table: usize, comment: &str) -> Vec<Metric> {
    use super::vocab::Agg;
    let cols = &lex.tables[table].cols;
    let col_named = |w: &str| cols.iter().copied().find(|&c| lex.cols[c].name.eq_ignore_ascii_case(w));
    let mut out = Vec::new();
    for (eq, _) in comment.match_indices('=') {
        let before = &comment[..eq];
        if before.ends_with(['<', '>', '!', '=']) || comment[eq + 1..].starts_with('=') {
            continue;
        }
        let Some(name) = before.split(|c: char| !c.is_alphanumeric() && c != '_').rev().find(|w| !w.is_empty()) else {
            continue;
        };
        let name = name.to_lowercase();
        if col_named(&name).is_some() || name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        // The definition runs to the next '/' (the other language) or '=' (the next definition).
        let rest = &comment[eq + 1..];
        let end = rest.find(['/', '=', '\n']).unwrap_or(rest.len());
        let expr = &rest[..end];
        let words: Vec<&str> =
            expr.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
        let lower = expr.to_lowercase();
        // The aggregate: SUM(col) / AVG(col), or Korean "col 합계" / "col 평균".
        let mut agg = None;
        for (f, a) in [("sum(", Agg::Sum), ("avg(", Agg::Avg)] {
            if let Some(k) = lower.find(f) {
                let inner = &expr[k + f.len()..];
                let ident: String = inner.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if let Some(c) = col_named(&ident) {
                    agg = Some((a, c));
                }
            }
        }
        if agg.is_none() {
            for (n, w) in words.iter().enumerate() {
                let next = words.get(n + 1).copied().unwrap_or("");
                let a = match next {
                    "합계" | "합" | "총합" | "총액" => Agg::Sum,
                    "평균" => Agg::Avg,
                    _ => continue,
                };
                if let Some(c) = col_named(w) {
                    agg = Some((a, c));
                }
            }
        }
        let Some((agg, col)) = agg else { continue };
        if !matches!(lex.cols[col].class, TypeClass::Integer | TypeClass::Real | TypeClass::Other) {
            continue;
        }
        // The rows: values of one coded column of the table, quoted or as words.
        let mut filter: Option<(usize, Vec<String>)> = None;
        for &c in cols {
            let Some(vals) = lex.col_values.get(&c).filter(|v| v.len() <= 30) else { continue };
            let found: Vec<String> = vals
                .iter()
                .filter(|v| {
                    words.iter().any(|w| w.eq_ignore_ascii_case(v)) && !v.eq_ignore_ascii_case(&lex.cols[col].name)
                })
                .cloned()
                .collect();
            if !found.is_empty() && filter.as_ref().is_none_or(|(_, f)| found.len() > f.len()) {
                filter = Some((c, found));
            }
        }
        let m = Metric { name, table, agg, col, filter };
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// One meaning of a coded value, from its column's comment: `status` "cancelled=취소" is the gloss "취소" of
/// `cancelled`; `active` "0 = discontinued" is the gloss "discontinued" of 0.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gloss {
    pub col: usize,
    /// The value as stored (a number for numeric codes).
    pub value: String,
    /// The gloss's words, lower-cased.
    pub words: Vec<String>,
}

/// The `code=gloss` pairs of a comment: "주문 상태: pending=입금 대기, shipped=배송 중" → (pending, 입금 대기),
/// (shipped, 배송 중); "1 = on sale, 0 = discontinued" → (1, on sale), (0, discontinued). A code is the word right
/// before `=`; its gloss runs to the next separator or the next code. Formulas ("= SUM(…)") yield pairs whose code
/// is no value of the column, which the caller drops.
pub(crate) fn value_glosses(comment: &str) -> Vec<(String, String)> {
    gloss_spans(comment).into_iter().map(|(_, code, gloss)| (code.to_string(), gloss.to_string())).collect()
}

/// As [`value_glosses`], with each pair's byte span in the comment (from its code to the end of its gloss).
fn gloss_spans(comment: &str) -> Vec<(std::ops::Range<usize>, &str, &str)> {
    let code_at = |eq: usize| -> Option<(usize, &str)> {
        let left = comment[..eq].trim_end();
        let start = left
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == '-')
            .last()
            .map(|(k, _)| k)?;
        let code = &left[start..];
        (!code.is_empty() && code.chars().count() <= 30).then_some((start, code))
    };
    let eqs: Vec<usize> = comment
        .char_indices()
        .filter(|&(k, c)| {
            c == '=' && !comment[..k].ends_with(['<', '>', '!', '=']) && !comment[k + 1..].starts_with('=')
        })
        .map(|(k, _)| k)
        .collect();
    let mut out = Vec::new();
    for (n, &eq) in eqs.iter().enumerate() {
        let Some((start, code)) = code_at(eq) else { continue };
        let rest_end = eqs.get(n + 1).and_then(|&next| code_at(next).map(|(s, _)| s)).unwrap_or(comment.len());
        let rest = &comment[eq + 1..rest_end.max(eq + 1)];
        let end = rest.find([',', ';', '/', '|', '(', ')', '\n', '、', '[', ']']).unwrap_or(rest.len());
        let gloss = rest[..end].trim().trim_end_matches(['.', ':']).trim();
        let words = gloss.split_whitespace().count();
        if gloss.is_empty() || words > 6 || gloss.chars().count() > 40 {
            continue;
        }
        out.push((start..eq + 1 + end, code, gloss));
    }
    out
}

/// Last words of a column name that say which language it holds (`name_ko`, `title_en`).
const LANGUAGE_SUFFIXES: &[&str] = &["ko", "kr", "kor", "korean", "en", "eng", "english"];

/// Words dropped from names before matching.
const NAME_SKIP: &[&str] = &["of", "the", "a", "an", "in", "for", "to", "on", "at", "by", "and", "is", "per"];
/// Table-name prefixes that carry no meaning.
const TABLE_PREFIXES: &[&str] = &["ref", "tbl", "lu", "lk", "dim", "fact", "t"];

/// True for a stem too generic to identify a column on its own ("id", "name", "code").
pub(crate) fn is_generic(stem: &str) -> bool {
    static GENERIC: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| GENERIC_SCHEMA_WORDS.iter().map(|w| stem_word(w)).collect());
    GENERIC.iter().any(|g| g == stem)
}

pub(crate) fn normalize_value(s: &str) -> String {
    let lower = s.trim().to_lowercase();
    let mut out = String::with_capacity(lower.len());
    for w in lower.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

fn stems_of(words: &[String]) -> Vec<String> {
    words.iter().filter(|w| !NAME_SKIP.contains(&w.as_str())).map(|w| stem_word(w)).collect()
}

fn expand(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (k, w) in words.iter().enumerate() {
        // `LName`, `FName`: a one-letter prefix of "name".
        if words.get(k + 1).is_some_and(|n| n == "name") {
            let full = match w.as_str() {
                "f" => Some("first"),
                "l" => Some("last"),
                "m" => Some("middle"),
                _ => None,
            };
            if let Some(f) = full {
                out.push(f.to_string());
                continue;
            }
        }
        match ABBREVIATIONS.iter().find(|(a, _)| *a == w.as_str()) {
            // "no" alone is rarely "number"; only as part of a longer name.
            Some((a, exp)) if !(*a == "no" && words.len() == 1) => out.extend(exp.iter().map(|e| e.to_string())),
            _ => out.push(w.clone()),
        }
    }
    out
}

fn push_phrase(list: &mut Vec<Phrase>, stems: Vec<String>, weight: f32) {
    if stems.is_empty() || stems.iter().all(|s| s.is_empty()) {
        return;
    }
    match list.iter_mut().find(|p| p.stems == stems) {
        Some(p) => p.weight = p.weight.max(weight),
        None => list.push(Phrase { stems, weight }),
    }
}

/// Short segments of a comment ("고객 이름(한국어) / full name in Korean" → "고객 이름", "한국어", …) as phrases.
fn comment_phrases(comment: &str, list: &mut Vec<Phrase>) {
    // "web=웹사이트, app=모바일 앱" says what values mean, not what the column is called.
    let mut cleaned = String::with_capacity(comment.len());
    let mut at = 0;
    for (span, _, _) in gloss_spans(comment) {
        if span.start < at {
            continue;
        }
        cleaned.push_str(&comment[at..span.start]);
        cleaned.push(',');
        at = span.end;
    }
    cleaned.push_str(&comment[at..]);
    for seg in cleaned.split(['/', ',', ';', ':', '(', ')', '|', '·', '=', '.']) {
        let words: Vec<String> = seg
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .map(|w| w.to_lowercase())
            .collect();
        if words.is_empty() || words.len() > 4 {
            continue;
        }
        let stems: Vec<String> = words
            .iter()
            // Format placeholders ("YYYY-MM-DD") name nothing.
            .filter(|w| {
                !matches!(
                    w.as_str(),
                    "e" | "g" | "eg" | "예" | "예를" | "yyyy" | "yy" | "mm" | "dd" | "hh" | "mi" | "ss"
                )
            })
            .filter(|w| w.as_str() == "in" || !NAME_SKIP.contains(&w.as_str()))
            .map(|w| stem_word(w))
            .filter(|s| !s.is_empty())
            .collect();
        if stems.is_empty() || (stems.len() == 1 && stems[0].chars().count() < 2) || stems == ["in"] {
            continue;
        }
        // A Korean comment is the column's Korean name ("주문일"); several English words say exactly what it holds
        // ("unit cost"); one English word is only a hint.
        let weight = if seg.chars().any(is_hangul) {
            0.95
        } else if stems.iter().filter(|s| *s != "in").count() >= 2 {
            0.96
        } else {
            0.85
        };
        // "unit cost in won": also without the unit it is measured in.
        if let Some(k) = stems.iter().position(|s| s == "in")
            && k >= 1
            && stems.len() - k <= 3
        {
            push_phrase(list, stems[..k].to_vec(), weight);
        }
        let stems: Vec<String> = stems.into_iter().filter(|s| s != "in").collect();
        push_phrase(list, stems, weight);
    }
}

impl Lexicon {
    pub fn build(schema: &Schema, values: &ValueIndex) -> Lexicon {
        let mut lex = Lexicon::default();
        for (ti, t) in schema.tables.iter().enumerate() {
            let mut words = split_identifier(&t.name);
            if words.len() > 1 && TABLE_PREFIXES.contains(&words[0].as_str()) {
                words.remove(0);
            }
            let raw = stems_of(&words);
            let expanded = stems_of(&expand(&words));
            let mut phrases = Vec::new();
            push_phrase(&mut phrases, expanded.clone(), 1.0);
            push_phrase(&mut phrases, raw.clone(), 1.0);
            if expanded.len() >= 2 {
                // "Maintenance_Engineers" is also "engineers"; weaker, since other tables may share the head word.
                if let Some(last) = expanded.last()
                    && !is_generic(last)
                    && last.len() >= 3
                {
                    push_phrase(&mut phrases, vec![last.clone()], 0.6);
                }
                // "festival_detail" is also "festivals" when its other words are generic.
                if let Some(first) = expanded.first()
                    && !is_generic(first)
                    && first.len() >= 4
                    && expanded[1..].iter().all(|w| is_generic(w))
                {
                    push_phrase(&mut phrases, vec![first.clone()], 0.6);
                }
            }
            if let Some(c) = &t.comment {
                comment_phrases(c, &mut phrases);
            }
            let two_levels = t.comment.as_deref().is_some_and(says_two_levels);
            let mut info = TableInfo { stems: expanded.clone(), phrases, cols: Vec::new(), pk: Vec::new(), two_levels };
            for c in &t.columns {
                let id = lex.cols.len();
                let cwords = split_identifier(&c.name);
                let craw = stems_of(&cwords);
                let cexp = stems_of(&expand(&cwords));
                let mut cphrases = Vec::new();
                push_phrase(&mut cphrases, cexp.clone(), 1.0);
                push_phrase(&mut cphrases, craw.clone(), 1.0);
                // Without the table's own name in front: singer.Singer_Name is "name" too.
                for variant in [&cexp, &craw] {
                    for prefix in [&expanded, &raw] {
                        if !prefix.is_empty() && variant.len() > prefix.len() && variant.starts_with(prefix) {
                            push_phrase(&mut cphrases, variant[prefix.len()..].to_vec(), 0.95);
                        }
                    }
                    if let Some(last) = expanded.last()
                        && variant.len() > 1
                        && variant.first() == Some(last)
                    {
                        push_phrase(&mut cphrases, variant[1..].to_vec(), 0.9);
                    }
                }
                // `name_ko`, `area_en`: "name", "area" (the question's language picks the variant when linking).
                if cexp.len() >= 2 && cexp.last().is_some_and(|l| LANGUAGE_SUFFIXES.contains(&l.as_str())) {
                    push_phrase(&mut cphrases, cexp[..cexp.len() - 1].to_vec(), 1.0);
                }
                // `orders.total_amount` is, less surely, "amount" ("the order amount": the table names it).
                if cexp.len() == 2 && cexp[0] == "total" && !is_generic(&cexp[1]) {
                    push_phrase(&mut cphrases, vec![cexp[1].clone()], 0.9);
                }
                // `room_count` is "number of rooms".
                if cexp.len() == 2 && (cexp[1] == "count" || cexp[1] == "number") && cexp[0] != "number" {
                    push_phrase(&mut cphrases, vec!["number".to_string(), cexp[0].clone()], 0.95);
                }
                if let Some(cm) = &c.comment {
                    comment_phrases(cm, &mut cphrases);
                }
                let is_pk = t.primary_key.iter().any(|k| k.eq_ignore_ascii_case(&c.name));
                let is_fk = t.foreign_keys.iter().any(|fk| fk.columns.iter().any(|k| k.eq_ignore_ascii_case(&c.name)));
                if is_pk {
                    info.pk.push(id);
                }
                info.cols.push(id);
                lex.cols.push(ColInfo {
                    table: ti,
                    name: c.name.clone(),
                    stems: cexp,
                    class: c.type_class(),
                    is_pk,
                    is_fk,
                    nullable: c.nullable && !is_pk,
                    phrases: cphrases,
                    lower_level: c.comment.as_deref().is_some_and(names_lower_level),
                });
            }
            lex.tables.push(info);
        }
        // Foreign keys (single-column), resolved by table and column name.
        for (ti, t) in schema.tables.iter().enumerate() {
            for fk in &t.foreign_keys {
                if fk.columns.len() != 1 {
                    continue;
                }
                let Some(to_t) = schema.tables.iter().position(|x| {
                    x.name.eq_ignore_ascii_case(&fk.ref_table)
                        && (fk.ref_schema.is_none() || x.schema.as_deref() == fk.ref_schema.as_deref())
                }) else {
                    continue;
                };
                let Some(from_col) = lex.col_in(ti, &fk.columns[0]) else { continue };
                // SQLite allows a foreign key without referenced columns: the primary key then.
                let to_col = match fk.ref_columns.first() {
                    Some(name) => lex.col_in(to_t, name),
                    None => lex.tables[to_t].pk.first().copied(),
                };
                let Some(to_col) = to_col else { continue };
                let edge = Edge { from_col, to_col };
                if !lex.edges.contains(&edge) {
                    lex.edges.push(edge);
                }
            }
        }
        lex.add_values(schema, values);
        lex.add_glosses(schema);
        for (ti, t) in schema.tables.iter().enumerate() {
            if let Some(c) = &t.comment {
                let found = parse_metrics(&lex, ti, c);
                lex.metrics.extend(found);
            }
        }
        lex
    }

    /// Glosses of coded values from column comments, for the codes the column holds (text codes among its loaded
    /// values; numeric codes of a numeric column).
    fn add_glosses(&mut self, schema: &Schema) {
        for (ti, t) in schema.tables.iter().enumerate() {
            for c in &t.columns {
                let Some(comment) = c.comment.as_deref() else { continue };
                let Some(ci) = self.col_in(ti, &c.name) else { continue };
                let numeric = matches!(self.cols[ci].class, TypeClass::Integer | TypeClass::Boolean)
                    && !self.cols[ci].is_pk
                    && !self.cols[ci].is_fk;
                for (code, gloss) in value_glosses(comment) {
                    let stored = match self.col_values.get(&ci) {
                        Some(vals) => vals.iter().find(|v| v.eq_ignore_ascii_case(&code)).cloned(),
                        None if numeric && code.parse::<i64>().is_ok() => Some(code.clone()),
                        None => None,
                    };
                    let Some(value) = stored else { continue };
                    let words: Vec<String> = gloss.split_whitespace().map(str::to_lowercase).collect();
                    if words.iter().all(|w| w.eq_ignore_ascii_case(&value)) {
                        continue;
                    }
                    let g = Gloss { col: ci, value, words };
                    if !self.glosses.contains(&g) {
                        self.glosses.push(g);
                    }
                }
            }
        }
    }

    pub fn col_in(&self, table: usize, name: &str) -> Option<usize> {
        self.tables.get(table)?.cols.iter().copied().find(|&c| self.cols[c].name.eq_ignore_ascii_case(name))
    }

    fn add_values(&mut self, schema: &Schema, values: &ValueIndex) {
        for ((table, column), vals) in values.entries() {
            let Some(ti) = schema.tables.iter().position(|t| t.name.eq_ignore_ascii_case(table)) else { continue };
            let Some(ci) = self.col_in(ti, column) else { continue };
            let mut kept = Vec::new();
            for v in vals {
                let norm = normalize_value(v);
                if norm.is_empty() || norm.chars().count() > 80 {
                    continue;
                }
                kept.push(v.clone());
                let words = norm.split(' ').count();
                self.max_value_words = self.max_value_words.max(words.min(8));
                let entry = self.values.entry(norm.clone()).or_default();
                if !entry.iter().any(|(c, _)| *c == ci) {
                    entry.push((ci, v.clone()));
                }
                // A code in snake case is said with spaces: "Kakao Pay" is `kakao_pay`.
                if norm.contains('_') {
                    let spoken = normalize_value(&norm.replace('_', " "));
                    self.max_value_words = self.max_value_words.max(spoken.split(' ').count().min(8));
                    let entry = self.values.entry(spoken).or_default();
                    if !entry.iter().any(|(c, _)| *c == ci) {
                        entry.push((ci, v.clone()));
                    }
                }
                if words == 1 && !norm.chars().any(is_hangul) {
                    let st = stem_word(&norm);
                    if st != norm {
                        let e = self.stem_values.entry(st).or_default();
                        if !e.iter().any(|(c, _)| *c == ci) {
                            e.push((ci, v.clone()));
                        }
                    }
                }
            }
            self.col_values.insert(ci, kept);
        }
    }

    /// Columns that can be joined from `col`'s table directly: (other table, join columns a → b).
    pub fn neighbours(&self, table: usize) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        for e in &self.edges {
            let (ta, tb) = (self.cols[e.from_col].table, self.cols[e.to_col].table);
            if ta == table && tb != table {
                out.push((tb, e.from_col, e.to_col));
            } else if tb == table && ta != table {
                out.push((ta, e.to_col, e.from_col));
            }
        }
        out
    }

    /// The column that names a row of `table`: `name`, `*_name`, `title`, … (None when there is no clear one).
    pub fn name_column(&self, table: usize) -> Option<usize> {
        let cols = &self.tables.get(table)?.cols;
        let text = |c: usize| matches!(self.cols[c].class, TypeClass::Text | TypeClass::Other);
        let tstems = &self.tables[table].stems;
        let exact = cols.iter().copied().find(|&c| {
            let s = &self.cols[c].stems;
            text(c) && (s == &["name"] || s == &["titl"] || (!tstems.is_empty() && s == tstems))
        });
        if exact.is_some() {
            return exact;
        }
        let named: Vec<usize> = cols
            .iter()
            .copied()
            .filter(|&c| {
                let s = &self.cols[c].stems;
                text(c)
                    && s.last().is_some_and(|w| w == "name" || w == "titl")
                    && !s.contains(&"first".to_string())
                    && !s.contains(&"last".to_string())
            })
            .collect();
        if named.len() == 1 {
            return named.first().copied();
        }
        // Prefer the one that repeats the table's name ("pilot_name" in "pilot").
        named.iter().copied().find(|&c| self.cols[c].stems.iter().any(|s| tstems.contains(s)))
    }

    /// As [`Lexicon::name_column`], and where a table names its rows in two languages (`name_ko`, `name_en`), the
    /// one in the question's language.
    pub fn name_column_in(&self, table: usize, korean: bool) -> Option<usize> {
        if let Some(c) = self.name_column(table) {
            return Some(c);
        }
        let langs: &[&str] = if korean { &["ko", "kr", "kor", "korean"] } else { &["en", "eng", "english"] };
        self.tables.get(table)?.cols.iter().copied().find(|&c| {
            let s = &self.cols[c].stems;
            matches!(self.cols[c].class, TypeClass::Text | TypeClass::Other)
                && s.len() == 2
                && (s[0] == "name" || s[0] == "titl")
                && langs.contains(&s[1].as_str())
        })
    }

    /// True when column `c` is one of a pair that differs only by a language suffix (`name_ko` / `name_en`) and is
    /// not in the question's language: a Korean question means `name_ko`, an English one `name_en`.
    pub fn other_language(&self, c: usize, korean: bool) -> bool {
        const KO: &[&str] = &["ko", "kr", "kor", "korean"];
        const EN: &[&str] = &["en", "eng", "english"];
        let col = &self.cols[c];
        let Some((last, head)) = col.stems.split_last() else { return false };
        let (mine, other) = if korean { (EN, KO) } else { (KO, EN) };
        if head.is_empty() || !mine.contains(&last.as_str()) {
            return false;
        }
        self.tables[col.table].cols.iter().any(|&o| {
            let s = &self.cols[o].stems;
            o != c && s.len() == col.stems.len() && s[..head.len()] == *head && other.contains(&s[head.len()].as_str())
        })
    }

    /// A column that names its row by what it is called: `name`, `*_name`, `title`, `name_ko` (not a column that
    /// repeats its table's name, like `Allergy_Type.AllergyType`, which may be a category).
    pub fn is_name_like(&self, c: usize) -> bool {
        let s = &self.cols[c].stems;
        let name = |w: &String| w == "name" || w == "titl";
        s.last().is_some_and(name) || (s.len() == 2 && name(&s[0]) && LANGUAGE_SUFFIXES.contains(&s[1].as_str()))
    }

    /// Single-column primary key of `table`.
    pub fn pk(&self, table: usize) -> Option<usize> {
        let t = self.tables.get(table)?;
        if t.pk.len() == 1 { t.pk.first().copied() } else { None }
    }
}

/// How well a question word (its alternatives) matches a schema stem: 1 exact, 0.8 for a close prefix, else 0.
pub(crate) fn word_match(alts: &[String], stem: &str) -> f32 {
    let mut best = 0.0f32;
    for a in alts {
        if a == stem {
            return 1.0;
        }
        let (s, l) = if a.len() <= stem.len() { (a.as_str(), stem) } else { (stem, a.as_str()) };
        if s.len() >= 5 && l.len() - s.len() <= 3 && l.starts_with(s) && s.is_ascii() {
            best = best.max(0.8);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;
    use crate::schema::{Column, ForeignKey, Table, TableKind};

    fn col(name: &str, ty: &str) -> Column {
        Column { name: name.into(), data_type: ty.into(), nullable: true, comment: None, samples: vec![] }
    }

    #[test]
    fn phrases_strip_table_prefix_and_expand() {
        let schema = Schema {
            dialect: Dialect::Sqlite,
            server_version: String::new(),
            tables: vec![
                Table {
                    schema: None,
                    name: "pilot".into(),
                    kind: TableKind::Table,
                    comment: None,
                    columns: vec![col("Pilot_ID", "INT"), col("Pilot_name", "TEXT"), col("Num_Flights", "INT")],
                    primary_key: vec!["Pilot_ID".into()],
                    foreign_keys: vec![],
                    row_count: Some(3),
                },
                Table {
                    schema: None,
                    name: "flight".into(),
                    kind: TableKind::Table,
                    comment: None,
                    columns: vec![col("id", "INT"), col("pilot_id", "INT")],
                    primary_key: vec!["id".into()],
                    foreign_keys: vec![ForeignKey {
                        columns: vec!["pilot_id".into()],
                        ref_schema: None,
                        ref_table: "pilot".into(),
                        ref_columns: vec![],
                    }],
                    row_count: Some(3),
                },
            ],
        };
        let mut v = ValueIndex::default();
        v.add("pilot", "Pilot_name", ["Ann Lee".to_string(), "Bo".to_string()]);
        let lex = Lexicon::build(&schema, &v);
        let name = &lex.cols[1];
        assert!(name.phrases.iter().any(|p| p.stems == ["name"]), "{:?}", name.phrases);
        assert!(lex.cols[2].phrases.iter().any(|p| p.stems == ["number", "flight"]));
        assert_eq!(lex.edges, vec![Edge { from_col: 4, to_col: 0 }]);
        assert_eq!(lex.name_column(0), Some(1));
        assert!(lex.values.contains_key("ann lee"));
        assert_eq!(lex.neighbours(0), vec![(1, 0, 4)]);
    }

    #[test]
    fn hierarchy_levels_said_in_comments() {
        assert!(says_two_levels("상품 카테고리(2단계: 대분류와 하위 분류)"));
        assert!(says_two_levels("Product categories in two levels: top categories and subcategories"));
        assert!(!says_two_levels("Product categories, any depth"));
        assert!(names_lower_level("하위 카테고리"));
        assert!(names_lower_level("subcategory (its parent_id is the top category)"));
        assert!(names_lower_level("the sub-region"));
        assert!(!names_lower_level("the subject of the course"));
        assert!(!names_lower_level("subscription plan"));
        assert!(!names_lower_level("the category"));
    }

    #[test]
    fn measures_defined_in_a_table_comment() {
        let orders = Table {
            schema: None,
            name: "orders".into(),
            kind: TableKind::Table,
            comment: Some(
                "주문. 매출 = status IN ('delivered', 'shipped') 주문의 total_amount 합계 / revenue = SUM(total_amount) \
                 over delivered and shipped orders; aov = AVG(total_amount); total_amount = sum of lines; x = y"
                    .into(),
            ),
            columns: vec![col("id", "INT"), col("status", "TEXT"), col("total_amount", "INT")],
            primary_key: vec!["id".into()],
            foreign_keys: vec![],
            row_count: Some(3),
        };
        let schema = Schema { dialect: Dialect::Sqlite, server_version: String::new(), tables: vec![orders] };
        let mut v = ValueIndex::default();
        v.add("orders", "status", ["delivered", "shipped", "cancelled"].map(String::from));
        let lex = Lexicon::build(&schema, &v);
        use super::super::vocab::Agg;
        let over = Some((1, vec!["delivered".to_string(), "shipped".to_string()]));
        let m = |name: &str, agg, filter| Metric { name: name.into(), table: 0, agg, col: 2, filter };
        assert_eq!(
            lex.metrics,
            vec![m("매출", Agg::Sum, over.clone()), m("revenue", Agg::Sum, over), m("aov", Agg::Avg, None)],
            "a column's own name, and a definition without an aggregate of a column, define nothing"
        );
    }

    #[test]
    fn fuzzy_word_match() {
        assert_eq!(word_match(&["employe".into()], "employe"), 1.0);
        assert_eq!(word_match(&["settl".into()], "settlement"), 0.0);
        assert_eq!(word_match(&["employ".into()], "employe"), 0.8);
        assert_eq!(word_match(&["auth".into()], "author"), 0.0);
        assert_eq!(word_match(&["age".into()], "ages"), 0.0);
    }
}
