//! Names for the aggregate columns the engine writes, as a person would head a table with them: `order_count`,
//! `total_amount`, `average_price`, `max_age` — or, for a Korean question, `주문 수`, `총 금액`, `평균 가격`,
//! `최대 나이`, from the Korean glossary (the shared one first, then the engine's own); a name with a word the
//! glossary does not know keeps its English alias.
//!
//! An alias never equals another output column or any column name of the schema (compared without case), so an
//! `ORDER BY`, `GROUP BY` or `HAVING` naming a column can never be read as the alias instead: a taken name is
//! numbered (`order_count_2`).

use std::collections::HashSet;

use super::lexicon::Lexicon;
use super::sql::Sel;
use super::text::split_identifier;
use super::vocab::{Agg, KO_GLOSSARY_EXTRA};
use crate::linking::{GLOSSARY, stem};
use crate::schema::Schema;

/// Table-name prefixes that carry no meaning (as in the lexicon).
const TABLE_PREFIXES: &[&str] = &["ref", "tbl", "lu", "lk", "dim", "fact", "t"];

/// The alias of each select item (`None` for plain columns and `*`), in order. `count_table` is the table a
/// `COUNT(*)` counts; `korean` names them in Korean where the glossary allows.
pub(crate) fn aliases(
    schema: &Schema,
    lex: &Lexicon,
    select: &[Sel],
    count_table: usize,
    korean: bool,
    taken_extra: &[&str],
) -> Vec<Option<String>> {
    let mut taken: HashSet<String> = HashSet::new();
    for t in &schema.tables {
        for c in &t.columns {
            taken.insert(c.name.to_lowercase());
        }
    }
    for s in taken_extra {
        taken.insert(s.to_lowercase());
    }
    select
        .iter()
        .map(|s| {
            let (first, second) = names(schema, lex, s, count_table, korean)?;
            let (first, second) = (bounded(first), bounded(second));
            let base = if taken.contains(&first.to_lowercase()) { second } else { first };
            let mut alias = base.clone();
            let mut n = 2;
            while taken.contains(&alias.to_lowercase()) {
                alias = format!("{base}{}{n}", if korean && !base.is_ascii() { " " } else { "_" });
                n += 1;
            }
            taken.insert(alias.to_lowercase());
            Some(alias)
        })
        .collect()
}

/// Identifiers longer than PostgreSQL's 63 bytes are cut there silently: names stay well below it.
const MAX_ALIAS_BYTES: usize = 48;

fn bounded(mut s: String) -> String {
    if s.len() > MAX_ALIAS_BYTES {
        let mut end = MAX_ALIAS_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        let trimmed = s.trim_end_matches(['_', ' ']).len();
        s.truncate(trimmed);
    }
    s
}

/// The alias of one select item: a natural name, then a more explicit one for when the first is taken.
fn names(schema: &Schema, lex: &Lexicon, s: &Sel, count_table: usize, korean: bool) -> Option<(String, String)> {
    // The column's words in full, for the explicit name (`sum_total_amount`).
    let mut full: Vec<String> = Vec::new();
    let (prefix, words): ((&str, &str), Vec<String>) = match s {
        Sel::Col(_) | Sel::Star | Sel::Parent(_) => return None,
        Sel::Share { scale, .. } => {
            let (en, ko) = if *scale == 100.0 { ("percentage", "비율(%)") } else { ("ratio", "비율") };
            let name = if korean { ko } else { en };
            return Some((name.to_string(), format!("{name}_2")));
        }
        Sel::Count => (("", ""), table_words(schema, count_table)),
        Sel::CountDistinct(c) => (("", ""), entity_words(&lex.cols.get(*c)?.name)),
        Sel::Agg(a, c) => {
            let (en, ko, own): (&str, &str, &[&str]) = match a {
                Agg::Avg => ("average", "평균", &["average", "avg", "mean"]),
                Agg::Sum => ("total", "총", &["total", "sum"]),
                Agg::Max => ("max", "최대", &["max", "maximum"]),
                Agg::Min => ("min", "최소", &["min", "minimum"]),
            };
            // SUM(total_amount) is the total amount, not the "total total amount".
            let mut words = split_identifier(&lex.cols.get(*c)?.name);
            full = words.clone();
            if words.len() > 1 && own.contains(&words[0].as_str()) {
                words.remove(0);
            }
            ((en, ko), words)
        }
    };
    let count = matches!(s, Sel::Count | Sel::CountDistinct(_));
    if korean
        && !words.is_empty()
        && let Some(ko) = korean_words(&words)
    {
        let name = if count { format!("{ko} 수") } else { format!("{} {ko}", prefix.1) };
        return Some((name.clone(), name));
    }
    let joined = words.join("_");
    Some(match s {
        _ if count && joined.is_empty() => ("row_count".into(), "row_count".into()),
        Sel::Count => {
            let table = schema.tables.get(count_table).map(|t| split_identifier(&t.name).join("_")).unwrap_or_default();
            (format!("{joined}_count"), format!("number_of_{table}"))
        }
        _ if count => (format!("{joined}_count"), format!("distinct_{joined}_count")),
        Sel::Agg(a, _) => (format!("{}_{joined}", prefix.0), format!("{}_{}", a.sql().to_lowercase(), full.join("_"))),
        _ => return None,
    })
}

/// The words of a table's name, the last one singular ("order_items" → order, item).
fn table_words(schema: &Schema, t: usize) -> Vec<String> {
    let Some(table) = schema.tables.get(t) else { return Vec::new() };
    let mut words = split_identifier(&table.name);
    if words.len() > 1 && TABLE_PREFIXES.contains(&words[0].as_str()) {
        words.remove(0);
    }
    singular_last(words)
}

/// What a counted column counts: `customer_id` → customer; `country` → country.
fn entity_words(column: &str) -> Vec<String> {
    let mut words = split_identifier(column);
    if words.len() > 1 && matches!(words.last().map(String::as_str), Some("id" | "code" | "no" | "num" | "number")) {
        words.pop();
    }
    singular_last(words)
}

fn singular_last(mut words: Vec<String>) -> Vec<String> {
    if let Some(last) = words.last_mut() {
        *last = singular(last);
    }
    words
}

/// An English plural made singular, for names (`categories` → category, `addresses` → address, `orders` → order).
fn singular(w: &str) -> String {
    let n = w.len();
    if !w.is_ascii() || n <= 3 {
        return w.to_string();
    }
    if let Some(stem) = w.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for end in ["sses", "xes", "ches", "shes"] {
        if w.ends_with(end) {
            return w[..n - 2].to_string();
        }
    }
    if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        return w[..n - 1].to_string();
    }
    w.to_string()
}

/// The Korean for a name's English words: the glossary entry whose English words are exactly these, else one entry per
/// word (an entry that gives the word first is preferred: 금액 for amount over 매출). `None` when a word has none.
fn korean_words(words: &[String]) -> Option<String> {
    let stems: Vec<String> = words.iter().map(|w| stemmed(w)).collect();
    let entries = || GLOSSARY.iter().chain(KO_GLOSSARY_EXTRA);
    if stems.len() > 1
        && let Some((ko, _)) = entries().find(|(_, en)| en.iter().map(|e| stemmed(e)).eq(stems.iter().cloned()))
    {
        return Some((*ko).to_string());
    }
    let mut out: Vec<&str> = Vec::new();
    for s in &stems {
        let first = entries().find(|(_, en)| en.first().is_some_and(|e| stemmed(e) == *s));
        let any = || entries().find(|(_, en)| en.iter().any(|e| stemmed(e) == *s));
        let (ko, _) = first.or_else(any)?;
        if out.last() != Some(ko) {
            out.push(ko);
        }
    }
    Some(out.join(" "))
}

fn stemmed(w: &str) -> String {
    let mut s = w.to_lowercase();
    stem(&mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;
    use crate::builtin::ValueIndex;
    use crate::schema::{Column, Table, TableKind};

    fn schema() -> Schema {
        let col = |n: &str, t: &str| Column {
            name: n.into(),
            data_type: t.into(),
            nullable: true,
            comment: None,
            samples: vec![],
        };
        Schema {
            dialect: Dialect::Postgres,
            server_version: String::new(),
            tables: vec![Table {
                schema: None,
                name: "Singers".into(),
                kind: TableKind::Table,
                comment: None,
                columns: vec![
                    col("id", "int"),
                    col("Age", "int"),
                    col("singer_count", "int"),
                    col("Total_Sales", "real"),
                ],
                primary_key: vec!["id".into()],
                foreign_keys: vec![],
                row_count: None,
            }],
        }
    }

    #[test]
    fn aliases_never_collide() {
        let schema = schema();
        let lex = Lexicon::build(&schema, &ValueIndex::default());
        let age = lex.col_in(0, "Age").expect("age");
        let sales = lex.col_in(0, "Total_Sales").expect("sales");
        let select = [
            Sel::Col(age),
            Sel::Agg(Agg::Max, age),
            Sel::Agg(Agg::Max, age),
            // The natural "singer_count" is a column: the explicit name.
            Sel::Count,
            // SUM(total_sales) is the total sales — a column's name — so "sum_total_sales".
            Sel::Agg(Agg::Sum, sales),
            Sel::Agg(Agg::Avg, sales),
            Sel::Star,
        ];
        let got = aliases(&schema, &lex, &select, 0, false, &["period"]);
        let want = [
            None,
            Some("max_age"),
            Some("max_age_2"),
            Some("number_of_singers"),
            Some("sum_total_sales"),
            Some("average_total_sales"),
            None,
        ];
        assert_eq!(got, want.map(|w| w.map(String::from)));
        let ko = aliases(&schema, &lex, &select[1..3], 0, true, &[]);
        assert_eq!(ko, [Some("최대 나이".to_string()), Some("최대 나이 2".to_string())]);
    }

    #[test]
    fn singular_names() {
        assert_eq!(singular("orders"), "order");
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("addresses"), "address");
        assert_eq!(singular("status"), "status");
        assert_eq!(singular("class"), "class");
        assert_eq!(singular("age"), "age");
        assert_eq!(entity_words("customer_id"), vec!["customer"]);
        assert_eq!(entity_words("Country"), vec!["country"]);
    }

    #[test]
    fn korean_from_the_glossary() {
        let w = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(korean_words(&w(&["order"])).as_deref(), Some("주문"));
        assert_eq!(korean_words(&w(&["amount"])).as_deref(), Some("금액"));
        assert_eq!(korean_words(&w(&["price"])).as_deref(), Some("가격"));
        assert_eq!(korean_words(&w(&["customer"])).as_deref(), Some("고객"));
        assert_eq!(korean_words(&w(&["unit", "price"])).as_deref(), Some("단가"));
        assert_eq!(korean_words(&w(&["order", "item"])).as_deref(), Some("주문 품목"));
        assert_eq!(korean_words(&w(&["zorblax"])), None);
    }
}
