//! Questions to start from, for a new conversation: phrasings about the tables a user may read that the built-in
//! engine answers on its own (so a suggestion costs no tokens and never leads to a refusal or an abstention).
//!
//! Candidates are written from the schema — a count per table, a count per category-like column (the columns the
//! engine indexes values of: a grouped count draws a chart), an average of a numeric column — in English or Korean,
//! and only those the engine reads with its usual confidence are kept. IO-free: the caller passes the schema the user
//! may see and today's date.

use datagenie_core::Question;
use datagenie_core::builtin::{Engine, Outcome, ValueIndex, value_columns};
use datagenie_core::schema::Schema;

/// The language of the suggestions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Korean,
}

impl Language {
    /// `ko…` is Korean; anything else English.
    pub fn from_tag(tag: &str) -> Language {
        if tag.trim().to_ascii_lowercase().starts_with("ko") { Language::Korean } else { Language::English }
    }
}

/// A name as people say it: `order_items` → `order items`.
fn spoken(name: &str) -> String {
    name.replace(['_', '-'], " ").trim().to_string()
}

fn numeric(data_type: &str) -> bool {
    let t = data_type.to_ascii_lowercase();
    ["int", "real", "float", "double", "decimal", "numeric", "money"].iter().any(|k| t.contains(k))
}

/// Up to `max` questions about `schema` that the built-in engine answers, a grouped count first (it draws a chart),
/// at most two per table, tables in schema order.
pub fn suggestions(schema: &Schema, language: Language, today: &str, max: usize) -> Vec<String> {
    if max == 0 || schema.tables.is_empty() {
        return Vec::new();
    }
    let engine = Engine::new(schema, ValueIndex::default());
    let categories = value_columns(schema);
    let answers = |q: &str| {
        Question::parse(q).is_ok_and(|question| matches!(engine.answer(&question, today), Outcome::Answer(_)))
    };
    let mut per_table: Vec<Vec<String>> = Vec::new();
    for table in schema.tables.iter().take(50) {
        let t = spoken(&table.name);
        let key_like = |c: &str| {
            table.primary_key.iter().any(|k| k == c)
                || table.foreign_keys.iter().any(|f| f.columns.iter().any(|k| k == c))
                || c.eq_ignore_ascii_case("id")
                || c.to_ascii_lowercase().ends_with("_id")
        };
        let mut candidates = Vec::new();
        if let Some((_, col)) = categories.iter().find(|(tb, c)| tb == &table.name && !key_like(c)) {
            let c = spoken(col);
            candidates.push(match language {
                Language::English => format!("How many {t} are there per {c}?"),
                Language::Korean => format!("{c}별 {t} 수는?"),
            });
        }
        candidates.push(match language {
            Language::English => format!("How many {t} are there?"),
            Language::Korean => format!("{t}는 몇 개인가요?"),
        });
        if let Some(col) = table.columns.iter().find(|c| numeric(&c.data_type) && !key_like(&c.name)) {
            let c = spoken(&col.name);
            candidates.push(match language {
                Language::English => format!("What is the average {c} of {t}?"),
                Language::Korean => format!("{t}의 평균 {c}은?"),
            });
        }
        per_table.push(candidates.into_iter().filter(|q| answers(q)).take(2).collect());
    }
    // One per table first (the most useful of each), then the seconds.
    let mut out = Vec::new();
    for round in 0..2 {
        for list in &per_table {
            if out.len() >= max {
                return out;
            }
            if let Some(q) = list.get(round) {
                out.push(q.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_core::Dialect;
    use datagenie_core::schema::{Column, Table};

    fn col(name: &str, data_type: &str) -> Column {
        Column { name: name.into(), data_type: data_type.into(), nullable: true, comment: None, samples: Vec::new() }
    }

    fn shop() -> Schema {
        let mut orders = Table::new(
            "orders",
            vec![col("id", "INTEGER"), col("customer_id", "INTEGER"), col("status", "TEXT"), col("amount", "REAL")],
        );
        orders.primary_key = vec!["id".into()];
        let mut products = Table::new(
            "products",
            vec![col("id", "INTEGER"), col("name", "TEXT"), col("category", "TEXT"), col("price", "REAL")],
        );
        products.primary_key = vec!["id".into()];
        Schema { dialect: Dialect::Sqlite, server_version: String::new(), tables: vec![orders, products] }
    }

    #[test]
    fn every_suggestion_is_answered_by_the_engine_and_names_a_visible_table() {
        let schema = shop();
        let engine = Engine::new(&schema, ValueIndex::default());
        for language in [Language::English, Language::Korean] {
            let got = suggestions(&schema, language, "2026-12-07", 6);
            assert!(got.len() >= 2, "{language:?}: {got:?}");
            for q in &got {
                let outcome = engine.answer(&Question::parse(q).expect("a question"), "2026-12-07");
                assert!(matches!(outcome, Outcome::Answer(_)), "{q}");
                assert!(q.contains("orders") || q.contains("products"), "{q}");
            }
            // One per table first.
            assert!(got[0].contains("orders") && got[1].contains("products"), "{got:?}");
        }
    }

    #[test]
    fn the_limit_and_an_empty_schema_give_fewer() {
        assert_eq!(suggestions(&shop(), Language::English, "2026-12-07", 1).len(), 1);
        assert!(suggestions(&shop(), Language::English, "2026-12-07", 0).is_empty());
        let empty = Schema { dialect: Dialect::Sqlite, server_version: String::new(), tables: Vec::new() };
        assert!(suggestions(&empty, Language::Korean, "2026-12-07", 6).is_empty());
    }

    #[test]
    fn the_language_tag_picks_korean_only_for_ko() {
        assert_eq!(Language::from_tag("ko-KR"), Language::Korean);
        assert_eq!(Language::from_tag("KO"), Language::Korean);
        assert_eq!(Language::from_tag("en-US"), Language::English);
        assert_eq!(Language::from_tag(""), Language::English);
    }
}
