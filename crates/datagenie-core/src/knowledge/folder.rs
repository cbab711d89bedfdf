//! The knowledge folder's files, parsed from their text (the caller reads them) and validated, and the bounds every
//! piece of knowledge is held to, whichever door it comes in by (folder, CLI, API).
//!
//! `glossary.toml`:
//! ```toml
//! [[term]]
//! term = "활성 고객"
//! synonyms = ["active customer", "active customers"]
//! definition = "A customer who ordered in the last 90 days"
//! sql = "last_order_date >= date('now','-90 day')"
//! table = "customers"
//! ```
//! `descriptions.toml`:
//! ```toml
//! [tables.orders]
//! description = "One row per order"
//! [tables.orders.columns]
//! status = "paid, refunded or cancelled"
//! ```
//!
//! Invariants: unknown keys are refused (a misspelt `synonym` never silently drops what it held); every failure is
//! `invalid_knowledge` with the file's line; messages quote at most a short excerpt of the input (a term's first
//! [`EXCERPT_CHARS`] characters, the parser's message cut to one line), never a whole field.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{Description, Document, GlossaryEntry};
use crate::error::{Error, ErrorCode};
use crate::schema_text::one_line;
use crate::values::normalize;

/// The longest term or synonym, in characters.
pub const MAX_TERM_CHARS: usize = 200;
/// The longest glossary definition, in characters.
pub const MAX_DEFINITION_CHARS: usize = 4000;
/// The longest glossary SQL expression, in characters.
pub const MAX_SQL_CHARS: usize = 2000;
/// The most synonyms of one term.
pub const MAX_SYNONYMS: usize = 50;
/// The longest table, column or document title name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest table or column description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// The largest document text, in bytes (1 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;
/// The largest `glossary.toml` or `descriptions.toml`, in bytes (4 MiB).
pub const MAX_TOML_BYTES: usize = 4 << 20;
/// How much of a user's text an error message quotes, in characters.
pub const EXCERPT_CHARS: usize = 40;

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidKnowledge, message)
}

/// A short, one-line quotation of user text for a message.
fn excerpt(text: &str) -> String {
    format!("\"{}\"", one_line(text, EXCERPT_CHARS))
}

/// Checks a glossary entry: a term with a letter or digit; at most [`MAX_SYNONYMS`] synonyms, each like a term;
/// a definition or an SQL expression (or both); every field within its bound; no control characters in names.
pub fn validate_entry(entry: &GlossaryEntry) -> Result<(), Error> {
    let what = || format!("glossary term {}", excerpt(&entry.term));
    name_like(&entry.term, "term", MAX_TERM_CHARS).map_err(|e| e.context(what()))?;
    if normalize(&entry.term).is_empty() {
        return Err(invalid("the term has no letter or digit").context(what()));
    }
    if entry.synonyms.len() > MAX_SYNONYMS {
        return Err(invalid(format!("{} synonyms; the most is {MAX_SYNONYMS}", entry.synonyms.len())).context(what()));
    }
    for (i, s) in entry.synonyms.iter().enumerate() {
        let field = format!("synonym {}", i + 1);
        name_like(s, &field, MAX_TERM_CHARS).map_err(|e| e.context(what()))?;
        if normalize(s).is_empty() {
            return Err(invalid(format!("{field} has no letter or digit")).context(what()));
        }
    }
    bounded(&entry.definition, "definition", MAX_DEFINITION_CHARS).map_err(|e| e.context(what()))?;
    if let Some(sql) = &entry.sql {
        if sql.trim().is_empty() {
            return Err(invalid("sql is empty (leave it out instead)").context(what()));
        }
        bounded(sql, "sql", MAX_SQL_CHARS).map_err(|e| e.context(what()))?;
    }
    if let Some(table) = &entry.table {
        name_like(table, "table", MAX_NAME_CHARS).map_err(|e| e.context(what()))?;
    }
    if entry.definition.trim().is_empty() && entry.sql.is_none() {
        return Err(invalid("it needs a definition or an sql expression").context(what()));
    }
    Ok(())
}

/// Checks a table or column description: names like [`validate_entry`]'s, a non-empty text within
/// [`MAX_DESCRIPTION_CHARS`].
pub fn validate_description(d: &Description) -> Result<(), Error> {
    let what = || match &d.column {
        Some(c) => format!("description of {}.{}", one_line(&d.table, EXCERPT_CHARS), one_line(c, EXCERPT_CHARS)),
        None => format!("description of {}", one_line(&d.table, EXCERPT_CHARS)),
    };
    name_like(&d.table, "table", MAX_NAME_CHARS).map_err(|e| e.context(what()))?;
    if let Some(c) = &d.column {
        name_like(c, "column", MAX_NAME_CHARS).map_err(|e| e.context(what()))?;
    }
    if d.text.trim().is_empty() {
        return Err(invalid("the description is empty").context(what()));
    }
    bounded(&d.text, "description", MAX_DESCRIPTION_CHARS).map_err(|e| e.context(what()))
}

/// Checks a document: a title like a name, a text of at most [`MAX_DOCUMENT_BYTES`] (an empty text is allowed: it
/// has no chunks).
pub fn validate_document(doc: &Document) -> Result<(), Error> {
    let what = || format!("document {}", excerpt(&doc.title));
    name_like(&doc.title, "title", MAX_NAME_CHARS).map_err(|e| e.context(what()))?;
    if doc.text.len() > MAX_DOCUMENT_BYTES {
        return Err(
            invalid(format!("the text is {} bytes; the most is {MAX_DOCUMENT_BYTES}", doc.text.len())).context(what())
        );
    }
    Ok(())
}

/// A non-blank single-line name within `max` characters.
fn name_like(text: &str, field: &str, max: usize) -> Result<(), Error> {
    if text.trim().is_empty() {
        return Err(invalid(format!("{field} is empty")));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(format!("{field} holds a control character (a line break or tab)")));
    }
    bounded(text, field, max)
}

fn bounded(text: &str, field: &str, max: usize) -> Result<(), Error> {
    match text.chars().nth(max) {
        Some(_) => Err(invalid(format!("{field} is {} characters; the most is {max}", text.chars().count()))),
        None => Ok(()),
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count() + 1
}

/// A TOML file's text deserialized, or `invalid_knowledge` naming the file, the line and the parser's complaint.
fn parse_toml<'de, T: Deserialize<'de>>(file: &str, text: &'de str) -> Result<T, Error> {
    if text.len() > MAX_TOML_BYTES {
        return Err(invalid(format!("{file} is {} bytes; the most is {MAX_TOML_BYTES}", text.len())));
    }
    toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| format!(" line {}", line_of(text, s.start))).unwrap_or_default();
        invalid(format!("{file}{at}: {}", one_line(&shorten_quotes(e.message()), 200)))
    })
}

/// A parser message with every double-quoted value in it (serde quotes the offending string) cut to
/// [`EXCERPT_CHARS`].
fn shorten_quotes(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(400));
    for (i, part) in message.split('"').enumerate() {
        if i > 0 {
            out.push('"');
        }
        // Odd parts are inside quotes.
        if i % 2 == 1 { out.push_str(&one_line(part, EXCERPT_CHARS)) } else { out.push_str(part) }
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GlossaryFile {
    #[serde(default)]
    term: Vec<toml::Spanned<GlossaryEntry>>,
}

/// Parses `glossary.toml` (see the module documentation): an array of `[[term]]` tables with the fields of
/// [`GlossaryEntry`] (`synonyms`, `sql` and `table` optional). Fields are trimmed; synonyms repeating the term or
/// each other (case and spacing aside) are dropped; each entry is validated ([`validate_entry`]); two entries with
/// the same term are refused.
pub fn parse_glossary(text: &str) -> Result<Vec<GlossaryEntry>, Error> {
    let file: GlossaryFile = parse_toml("glossary.toml", text)?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(file.term.len());
    for spanned in file.term {
        let line = line_of(text, spanned.span().start);
        let entry = tidy_entry(spanned.into_inner());
        validate_entry(&entry).map_err(|e| e.context(format!("glossary.toml line {line}")))?;
        if let Some(first) = seen.insert(normalize(&entry.term), line) {
            return Err(invalid(format!(
                "glossary.toml line {line}: term {} is already defined at line {first}",
                excerpt(&entry.term)
            )));
        }
        out.push(entry);
    }
    Ok(out)
}

/// Synonyms trimmed; one repeating the term or an earlier synonym (case and spacing aside) dropped. A blank one is
/// kept, for validation to refuse. The one rule for `glossary.toml`, `datagenie knowledge add` and the API.
pub fn tidy_synonyms(term: &str, synonyms: Vec<String>) -> Vec<String> {
    let mut keys = vec![normalize(term)];
    let mut out = Vec::with_capacity(synonyms.len());
    for s in synonyms {
        let s = s.trim().to_string();
        let key = normalize(&s);
        if key.is_empty() || !keys.contains(&key) {
            keys.push(key);
            out.push(s);
        }
    }
    out
}

fn tidy_entry(e: GlossaryEntry) -> GlossaryEntry {
    let term = e.term.trim().to_string();
    let synonyms = tidy_synonyms(&term, e.synonyms);
    GlossaryEntry {
        term,
        synonyms,
        definition: e.definition.trim().to_string(),
        sql: e.sql.map(|s| s.trim().to_string()),
        table: e.table.map(|t| t.trim().to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DescriptionsFile {
    #[serde(default)]
    tables: BTreeMap<String, toml::Spanned<TableDescriptions>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableDescriptions {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, toml::Spanned<String>>,
}

/// Parses `descriptions.toml` (see the module documentation): per table an optional `description` and a
/// `columns` table of column → description. Tables come in name order, each table's own description before its
/// columns' (in name order); texts are trimmed; each is validated ([`validate_description`]).
pub fn parse_descriptions(text: &str) -> Result<Vec<Description>, Error> {
    let file: DescriptionsFile = parse_toml("descriptions.toml", text)?;
    let mut out = Vec::new();
    for (table, spanned) in file.tables {
        let line = line_of(text, spanned.span().start);
        let t = spanned.into_inner();
        if let Some(d) = t.description {
            let d = Description { table: table.trim().to_string(), column: None, text: d.trim().to_string() };
            validate_description(&d).map_err(|e| e.context(format!("descriptions.toml line {line}")))?;
            out.push(d);
        }
        for (column, spanned) in t.columns {
            let line = line_of(text, spanned.span().start);
            let d = Description {
                table: table.trim().to_string(),
                column: Some(column.trim().to_string()),
                text: spanned.into_inner().trim().to_string(),
            };
            validate_description(&d).map_err(|e| e.context(format!("descriptions.toml line {line}")))?;
            out.push(d);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLOSSARY: &str = r#"
[[term]]
term = "활성 고객"
synonyms = ["active customer", "active customers", "Active Customer"]
definition = "A customer who ordered in the last 90 days"
sql = "last_order_date >= date('now','-90 day')"
table = "customers"

[[term]]
term = "GMV"
definition = """
Gross merchandise value: the total of paid orders.
"""
"#;

    fn code_and_message(r: Result<impl std::fmt::Debug, Error>) -> (ErrorCode, String) {
        match r {
            Err(e) => (e.code, e.message),
            Ok(v) => panic!("accepted: {v:?}"),
        }
    }

    fn entry(term: &str) -> GlossaryEntry {
        GlossaryEntry { term: term.into(), synonyms: vec![], definition: "something".into(), sql: None, table: None }
    }

    #[test]
    fn glossary_parses_and_is_tidied() {
        let g = parse_glossary(GLOSSARY).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].term, "활성 고객");
        assert_eq!(g[0].synonyms, vec!["active customer", "active customers"], "the case-only repeat is dropped");
        assert_eq!(g[0].sql.as_deref(), Some("last_order_date >= date('now','-90 day')"));
        assert_eq!(g[0].table.as_deref(), Some("customers"));
        assert_eq!(g[1].definition, "Gross merchandise value: the total of paid orders.");
        assert_eq!(g[1].sql, None);
        assert!(g[1].synonyms.is_empty());
        assert_eq!(parse_glossary("").unwrap_or_else(|e| panic!("{e}")), vec![]);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name_and_line() {
        let text = "[[term]]\nterm = \"GMV\"\ndefinition = \"x\"\nsynonym = [\"gross\"]\n";
        let (code, message) = code_and_message(parse_glossary(text));
        assert_eq!(code, ErrorCode::InvalidKnowledge);
        assert!(message.contains("synonym") && message.contains("line 4"), "{message}");
        let (code, message) = code_and_message(parse_glossary("[[terms]]\nterm = \"x\"\n"));
        assert_eq!(code, ErrorCode::InvalidKnowledge);
        assert!(message.contains("terms"), "{message}");
        let text = "[tables.orders]\ndescription = \"One row per order\"\ncomment = \"x\"\n";
        let (code, message) = code_and_message(parse_descriptions(text));
        assert_eq!(code, ErrorCode::InvalidKnowledge);
        assert!(message.contains("comment") && message.contains("line 3"), "{message}");
    }

    #[test]
    fn bad_toml_is_refused_without_echoing_the_input() {
        let secretish = "x".repeat(5000);
        let text = format!("[[term]]\nterm = \"GMV\ndefinition = \"{secretish}\"\n");
        let (code, message) = code_and_message(parse_glossary(&text));
        assert_eq!(code, ErrorCode::InvalidKnowledge);
        assert!(message.len() < 400, "{message}");
        assert!(message.contains("line"), "{message}");
        let (code, message) = code_and_message(parse_glossary(&format!("term = [\"{secretish}\"]")));
        assert_eq!(code, ErrorCode::InvalidKnowledge);
        assert!(message.contains(&format!("\"{}…\"", "x".repeat(EXCERPT_CHARS))), "{message}");
        assert!(message.len() < 200, "{message}");
        let (code, _) = code_and_message(parse_descriptions("[tables.orders\n"));
        assert_eq!(code, ErrorCode::InvalidKnowledge);
    }

    #[test]
    fn empty_terms_and_over_long_fields_are_refused() {
        let cases: Vec<(String, &str)> = vec![
            ("[[term]]\nterm = \"  \"\ndefinition = \"x\"\n".into(), "term is empty"),
            ("[[term]]\nterm = \"?!\"\ndefinition = \"x\"\n".into(), "no letter or digit"),
            ("[[term]]\ndefinition = \"x\"\n".into(), "term"),
            ("[[term]]\nterm = \"GMV\"\n".into(), "definition or an sql"),
            (format!("[[term]]\nterm = \"{}\"\ndefinition = \"x\"\n", "t".repeat(201)), "term is 201 characters"),
            (format!("[[term]]\nterm = \"GMV\"\ndefinition = \"{}\"\n", "d".repeat(4001)), "definition is 4001"),
            (format!("[[term]]\nterm = \"GMV\"\ndefinition = \"x\"\nsql = \"{}\"\n", "s".repeat(2001)), "sql is 2001"),
            (
                format!(
                    "[[term]]\nterm = \"GMV\"\ndefinition = \"x\"\nsynonyms = [{}]\n",
                    (0..51).map(|i| format!("\"s{i}\"")).collect::<Vec<_>>().join(",")
                ),
                "51 synonyms",
            ),
            ("[[term]]\nterm = \"GMV\"\ndefinition = \"x\"\nsynonyms = [\"\"]\n".into(), "synonym 1 is empty"),
            ("[[term]]\nterm = \"GMV\"\ndefinition = \"x\"\nsql = \" \"\n".into(), "sql is empty"),
            ("[[term]]\nterm = \"a\\nb\"\ndefinition = \"x\"\n".into(), "control character"),
            (
                "[[term]]\nterm = \"활성 고객\"\ndefinition = \"x\"\n[[term]]\nterm = \"활성고객\"\ndefinition = \"y\"\n"
                    .into(),
                "already defined at line 1",
            ),
        ];
        for (text, needle) in cases {
            let (code, message) = code_and_message(parse_glossary(&text));
            assert_eq!(code, ErrorCode::InvalidKnowledge, "{text}");
            assert!(message.contains(needle), "{needle:?} not in {message:?}");
            assert!(message.len() < 300, "{message}");
        }
    }

    #[test]
    fn descriptions_parse_in_name_order() {
        let text = r#"
[tables.orders]
description = "One row per order"
[tables.orders.columns]
status = "paid, refunded or cancelled"
amount = "  In won, VAT included "

[tables.customers.columns]
grade = "VIP, gold or basic"
"#;
        let d = parse_descriptions(text).unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<(&str, Option<&str>, &str)> =
            d.iter().map(|d| (d.table.as_str(), d.column.as_deref(), d.text.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("customers", Some("grade"), "VIP, gold or basic"),
                ("orders", None, "One row per order"),
                ("orders", Some("amount"), "In won, VAT included"),
                ("orders", Some("status"), "paid, refunded or cancelled"),
            ]
        );
        let (code, message) = code_and_message(parse_descriptions("[tables.orders]\ndescription = \"\"\n"));
        assert_eq!(code, ErrorCode::InvalidKnowledge);
        assert!(message.contains("line 1") && message.contains("empty"), "{message}");
        let long = format!("[tables.orders.columns]\nstatus = \"{}\"\n", "x".repeat(4001));
        let (code, message) = code_and_message(parse_descriptions(&long));
        assert_eq!(code, ErrorCode::InvalidKnowledge);
        assert!(message.contains("4001") && message.contains("line 2"), "{message}");
        assert_eq!(parse_descriptions("").unwrap_or_else(|e| panic!("{e}")), vec![]);
    }

    #[test]
    fn validators_bound_every_field() {
        assert!(validate_entry(&entry("GMV")).is_ok());
        let only_sql = GlossaryEntry { definition: String::new(), sql: Some("amount > 0".into()), ..entry("paid") };
        assert!(validate_entry(&only_sql).is_ok());
        let bad_table = GlossaryEntry { table: Some(String::new()), ..entry("GMV") };
        assert!(validate_entry(&bad_table).is_err());
        let doc = Document { title: "handbook.md".into(), text: "x".repeat(MAX_DOCUMENT_BYTES) };
        assert!(validate_document(&doc).is_ok());
        let big = Document { text: "x".repeat(MAX_DOCUMENT_BYTES + 1), ..doc.clone() };
        let (code, message) = code_and_message(validate_document(&big));
        assert_eq!(code, ErrorCode::InvalidKnowledge);
        assert!(message.contains("1048577 bytes") && message.len() < 200, "{message}");
        assert!(validate_document(&Document { title: " ".into(), text: String::new() }).is_err());
        assert!(validate_document(&Document { title: "empty.md".into(), text: String::new() }).is_ok());
        let d = Description { table: "orders".into(), column: Some("a\tb".into()), text: "x".into() };
        assert!(validate_description(&d).is_err());
        // A long term is quoted, not echoed.
        let long = GlossaryEntry { definition: "d".repeat(5000), ..entry(&"t".repeat(150)) };
        let (_, message) = code_and_message(validate_entry(&long));
        assert!(message.len() < 200, "{message}");
    }

    #[test]
    fn deep_or_huge_toml_never_panics() {
        for text in ["[".repeat(100_000), "a = ".to_string() + &"[".repeat(100_000), "\u{0}\u{FEFF}".into()] {
            assert!(parse_glossary(&text).is_err());
            assert!(parse_descriptions(&text).is_err());
        }
        let huge = "#".repeat(MAX_TOML_BYTES + 1);
        let (_, message) = code_and_message(parse_glossary(&huge));
        assert!(message.contains("bytes"), "{message}");
    }
}
