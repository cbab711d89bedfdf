//! How a schema is written for the LLM, and what that costs: one table as compact DDL-like text
//! ([`render_table`]), tables joined by blank lines ([`render_tables`]), and token estimates of those texts
//! ([`table_tokens`], [`joined_tokens`]). The prompt shows this text and schema linking budgets with these estimates,
//! so the two measure the same rendering.
//!
//! Comments and sample values are untrusted data from the database: each is put on one line (control characters
//! become spaces) and truncated, and samples are SQL string literals.

use crate::dialect::Dialect;
use crate::llm::estimate_tokens;
use crate::schema::{Column, ForeignKey, Schema, Table, TableKind};

/// Sample values shown per column, at most.
const MAX_SAMPLES: usize = 5;
/// Characters of one sample value shown before it is cut (marked with `…` after the closing quote).
const MAX_SAMPLE_CHARS: usize = 40;
/// Once a column's sample list is this long (in characters), no more samples are added.
const MAX_SAMPLES_CHARS: usize = 100;
/// Characters of a table or column comment shown.
const MAX_COMMENT_CHARS: usize = 160;

/// The tables at `indices` (out-of-range indices skipped), rendered and joined by blank lines.
pub fn render_tables(schema: &Schema, indices: &[usize]) -> String {
    let mut out = String::new();
    for table in indices.iter().filter_map(|&i| schema.tables.get(i)) {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&render_table(table, schema.dialect));
    }
    out
}

/// One table as compact DDL-like text:
///
/// ```text
/// CREATE TABLE orders (  -- 주문
///   id INTEGER PRIMARY KEY,
///   customer_id INTEGER NOT NULL REFERENCES customers(id),
///   status TEXT  -- e.g. 'paid', 'shipped'
/// );  -- ~5000 rows
/// ```
///
/// Names are quoted for `dialect` when they need it. Comments and sample values are untrusted: each is put on one
/// line (control characters become spaces) and truncated, and samples are SQL string literals.
pub fn render_table(table: &Table, dialect: Dialect) -> String {
    let keyword = match table.kind {
        TableKind::Table => "TABLE",
        TableKind::View => "VIEW",
    };
    let mut out = format!("CREATE {keyword} {} (", qualified(table.schema.as_deref(), &table.name, dialect));
    if let Some(c) = table.comment.as_deref().filter(|c| !c.trim().is_empty()) {
        out.push_str("  -- ");
        out.push_str(&one_line(c, MAX_COMMENT_CHARS));
    }
    let mut items: Vec<(String, Option<String>)> =
        table.columns.iter().map(|c| (column_line(table, c, dialect), column_note(c))).collect();
    if table.primary_key.len() > 1 {
        let cols = ident_list(&table.primary_key, dialect);
        items.push((format!("PRIMARY KEY ({cols})"), None));
    }
    for fk in table.foreign_keys.iter().filter(|fk| fk.columns.len() != 1) {
        let cols = ident_list(&fk.columns, dialect);
        items.push((format!("FOREIGN KEY ({cols}) {}", references(fk, dialect)), None));
    }
    let last = items.len().saturating_sub(1);
    for (i, (line, note)) in items.iter().enumerate() {
        out.push_str("\n  ");
        out.push_str(line);
        if i < last {
            out.push(',');
        }
        if let Some(note) = note {
            out.push_str("  -- ");
            out.push_str(note);
        }
    }
    out.push_str(if items.is_empty() { ");" } else { "\n);" });
    if let Some(rows) = table.row_count {
        out.push_str(&format!("  -- ~{rows} rows"));
    }
    out
}

/// `name TYPE [PRIMARY KEY] [NOT NULL] [REFERENCES t(c)]`.
fn column_line(table: &Table, c: &Column, dialect: Dialect) -> String {
    let mut line = dialect.ident(&c.name);
    let ty = one_line(&c.data_type, 40);
    if !ty.is_empty() {
        line.push(' ');
        line.push_str(&ty);
    }
    let sole_pk = table.primary_key.len() == 1 && table.primary_key[0].eq_ignore_ascii_case(&c.name);
    if sole_pk {
        line.push_str(" PRIMARY KEY");
    } else if !c.nullable {
        line.push_str(" NOT NULL");
    }
    let single_fk =
        table.foreign_keys.iter().find(|fk| fk.columns.len() == 1 && fk.columns[0].eq_ignore_ascii_case(&c.name));
    if let Some(fk) = single_fk {
        line.push(' ');
        line.push_str(&references(fk, dialect));
    }
    line
}

/// `REFERENCES t(c)`, or `REFERENCES t` when the referenced columns are implicit.
fn references(fk: &ForeignKey, dialect: Dialect) -> String {
    let target = qualified(fk.ref_schema.as_deref(), &fk.ref_table, dialect);
    if fk.ref_columns.is_empty() {
        format!("REFERENCES {target}")
    } else {
        format!("REFERENCES {target}({})", ident_list(&fk.ref_columns, dialect))
    }
}

/// The comment after a column: its own comment, then `e.g.` and sample values; `None` when it has neither.
fn column_note(c: &Column) -> Option<String> {
    let mut note = c.comment.as_deref().map(|s| one_line(s, MAX_COMMENT_CHARS)).unwrap_or_default();
    let mut samples = String::new();
    for s in c.samples.iter().take(MAX_SAMPLES) {
        if samples.chars().count() >= MAX_SAMPLES_CHARS {
            break;
        }
        if !samples.is_empty() {
            samples.push_str(", ");
        }
        samples.push_str(&sample_literal(s));
    }
    if !samples.is_empty() {
        if !note.is_empty() {
            note.push_str("; ");
        }
        note.push_str("e.g. ");
        note.push_str(&samples);
    }
    (!note.is_empty()).then_some(note)
}

/// A sample value as a one-line SQL string literal; a long value is cut and marked with `…` after the quote, so the
/// literal is visibly incomplete.
pub(crate) fn sample_literal(value: &str) -> String {
    let flat: String = value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let cut: String = flat.chars().take(MAX_SAMPLE_CHARS).collect();
    let mut lit = format!("'{}'", cut.replace('\'', "''"));
    if cut.len() < flat.len() {
        lit.push('…');
    }
    lit
}

/// `text` on one line (runs of whitespace and control characters become one space), at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    truncate(&out, max)
}

/// `text` cut to at most `max` characters, ending in `…` when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn qualified(schema: Option<&str>, name: &str, dialect: Dialect) -> String {
    match schema {
        Some(s) => format!("{}.{}", dialect.ident(s), dialect.ident(name)),
        None => dialect.ident(name),
    }
}

fn ident_list(names: &[String], dialect: Dialect) -> String {
    names.iter().map(|n| dialect.ident(n)).collect::<Vec<_>>().join(", ")
}

/// Estimated tokens of [`render_table`]'s text for `table`.
pub(crate) fn table_tokens(table: &Table, dialect: Dialect) -> usize {
    estimate_tokens(&render_table(table, dialect))
}

/// Tokens counted for the blank line between two rendered tables (an upper bound).
pub(crate) const SEPARATOR_TOKENS: usize = 1;

/// Upper bound of the tokens of renderings joined by blank lines (as [`render_tables`] joins them), given each
/// rendering's estimate in order.
pub(crate) fn joined_tokens(sizes: impl Iterator<Item = usize>) -> usize {
    let mut total = 0;
    for (i, size) in sizes.enumerate() {
        total += size + if i > 0 { SEPARATOR_TOKENS } else { 0 };
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: &str, nullable: bool) -> Column {
        Column { nullable, ..Column::new(name, ty) }
    }

    fn table(name: &str, columns: Vec<Column>, rows: Option<u64>) -> Table {
        Table { primary_key: vec!["id".into()], row_count: rows, ..Table::new(name, columns) }
    }

    #[test]
    fn render_table_annotations() {
        let mut t = table("order items", vec![col("order", "INT", false), col("sku", "", true)], None);
        t.primary_key = vec!["order".into(), "sku".into()];
        t.foreign_keys.push(ForeignKey {
            columns: vec!["order".into(), "sku".into()],
            ref_schema: Some("Sales".into()),
            ref_table: "lines".into(),
            ref_columns: vec![],
        });
        t.kind = TableKind::View;
        let sqlite = render_table(&t, Dialect::Sqlite);
        assert_eq!(
            sqlite,
            "CREATE VIEW \"order items\" (\n  \"order\" INT NOT NULL,\n  sku,\n  PRIMARY KEY (\"order\", sku),\n  \
             FOREIGN KEY (\"order\", sku) REFERENCES Sales.lines\n);"
        );
        let mysql = render_table(&t, Dialect::Mysql);
        assert!(mysql.starts_with("CREATE VIEW `order items` (\n  `order` INT NOT NULL,"));
        let pg = render_table(&t, Dialect::Postgres);
        assert!(pg.contains("REFERENCES \"Sales\".lines"));
        let empty = table("e", vec![], Some(0));
        assert_eq!(render_table(&empty, Dialect::Sqlite), "CREATE TABLE e ();  -- ~0 rows");
    }

    #[test]
    fn samples_are_escaped_and_cut() {
        assert_eq!(sample_literal("O'Fallon"), "'O''Fallon'");
        assert_eq!(sample_literal("a\tb\nc"), "'a b c'");
        let long = "가".repeat(50);
        assert_eq!(sample_literal(&long), format!("'{}'…", "가".repeat(40)));
        let mut c = col("c", "TEXT", true);
        c.samples = (0..10).map(|i| format!("value number {i:02} with some length")).collect();
        let note = column_note(&c).expect("has samples");
        assert!(note.matches('\'').count() / 2 < MAX_SAMPLES, "{note}");
        assert!(note.chars().count() < MAX_SAMPLES_CHARS + 50, "{note}");
    }

    #[test]
    fn joined_estimates_bound_the_joined_rendering() {
        let mut tables: Vec<Table> = (0..5)
            .map(|i| table(&format!("t{i}"), vec![col("id", "INTEGER", false), col("이름", "TEXT", true)], Some(i)))
            .collect();
        tables[1].comment = Some("고객 목록".into());
        tables[2].columns[1].samples = vec!["서울".into(), "a'b".into()];
        let schema = Schema { dialect: Dialect::Postgres, server_version: String::new(), tables };
        let sizes: Vec<usize> = schema.tables.iter().map(|t| table_tokens(t, schema.dialect)).collect();
        for n in 0..=sizes.len() {
            let shown: Vec<usize> = (0..n).collect();
            let text = render_tables(&schema, &shown);
            assert!(estimate_tokens(&text) <= joined_tokens(sizes[..n].iter().copied()), "{n} tables");
        }
        assert_eq!(joined_tokens([3, 4].into_iter()), 3 + SEPARATOR_TOKENS + 4);
        assert_eq!(render_tables(&schema, &[0, 99, 1]), render_tables(&schema, &[0, 1]));
    }
}
