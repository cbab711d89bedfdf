use super::*;
use crate::Dialect;
use crate::schema::{Column, ForeignKey, Table};

fn col(name: &str, ty: &str) -> Column {
    Column::new(name, ty)
}

fn table(name: &str, columns: Vec<Column>, pk: &str, fks: Vec<(&str, &str, &str)>) -> Table {
    Table {
        primary_key: vec![pk.into()],
        foreign_keys: fks
            .into_iter()
            .map(|(c, t, r)| ForeignKey {
                columns: vec![c.into()],
                ref_schema: None,
                ref_table: t.into(),
                ref_columns: vec![r.into()],
            })
            .collect(),
        row_count: Some(10),
        ..Table::new(name, columns)
    }
}

fn schema() -> Schema {
    Schema {
        dialect: Dialect::Sqlite,
        server_version: "SQLite".into(),
        tables: vec![
            table(
                "head",
                vec![col("head_ID", "int"), col("name", "text"), col("born_state", "text"), col("age", "real")],
                "head_ID",
                vec![],
            ),
            table(
                "management",
                vec![col("department_ID", "int"), col("head_ID", "int"), col("temporary_acting", "text")],
                "department_ID",
                vec![("head_ID", "head", "head_ID")],
            ),
        ],
    }
}

fn engine() -> Engine {
    let mut v = ValueIndex::default();
    v.add("head", "born_state", ["California".to_string(), "Alabama".to_string()]);
    Engine::new(&schema(), v)
}

fn answer(e: &Engine, q: &str) -> Outcome {
    e.answer(&Question::parse(q).expect("question"), "2024-05-15")
}

#[test]
fn counts_with_a_comparison() {
    let Outcome::Answer(a) = answer(&engine(), "How many heads are older than 56?") else { panic!("abstained") };
    assert_eq!(a.sql, r#"SELECT COUNT(*) AS head_count FROM "head" WHERE "age" > 56"#);
    assert!(a.confidence >= MIN_CONFIDENCE);
    assert_eq!(a.interpretation, "count of head from head where head.age > 56");
}

#[test]
fn links_values_and_abbreviated_columns() {
    let Outcome::Answer(a) = answer(&engine(), "List the names of heads born in California.") else { panic!() };
    assert_eq!(a.sql, r#"SELECT "name" FROM "head" WHERE "born_state" = 'California'"#);
}

#[test]
fn abstains_with_a_reason_that_suggests_an_llm() {
    let Outcome::Abstain(a) = answer(&engine(), "What is the meaning of life?") else { panic!("answered") };
    assert!(a.confidence < MIN_CONFIDENCE);
    assert!(a.reason.contains("LLM"), "{}", a.reason);
    let empty = Engine::new(
        &Schema { dialect: Dialect::Sqlite, server_version: String::new(), tables: vec![] },
        ValueIndex::default(),
    );
    assert!(matches!(answer(&empty, "How many heads are there?"), Outcome::Abstain(_)));
}

#[test]
fn explain_shows_items_and_plan() {
    let e = engine();
    let text = e.explain(&Question::parse("How many heads are older than 56?").expect("question"), "2024-05-15");
    assert!(text.contains("Cue(Count)") && text.contains("plan:"), "{text}");
}

#[test]
fn value_index_is_bounded_and_deduplicated() {
    let mut v = ValueIndex::default();
    v.add("t", "c", ["a".to_string(), "a".to_string(), " ".to_string(), "x".repeat(MAX_VALUE_CHARS + 1)]);
    assert_eq!(v.values("t", "c"), Some(&["a".to_string()][..]));
    v.add("t", "c", (0..MAX_VALUES_PER_COLUMN * 2).map(|i| i.to_string()));
    assert_eq!(v.values("t", "c").map(<[String]>::len), Some(MAX_VALUES_PER_COLUMN));
    assert_eq!(v.len(), MAX_VALUES_PER_COLUMN);
    assert!(!v.is_empty());
}

#[test]
fn value_columns_skip_numbers_and_long_text() {
    let mut s = schema();
    s.tables[0].columns[2].samples = vec!["y".repeat(MAX_VALUE_CHARS * 2)];
    let cols = value_columns(&s);
    assert!(cols.contains(&("head".to_string(), "name".to_string())));
    assert!(!cols.contains(&("head".to_string(), "born_state".to_string())), "long samples: free text");
    assert!(!cols.contains(&("head".to_string(), "age".to_string())));
}

#[test]
fn engine_is_send_and_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Engine>();
    check::<ValueIndex>();
}

#[test]
fn deterministic() {
    let e = engine();
    let q = "Show the name and born state of heads ordered by age descending.";
    let first = answer(&e, q);
    for _ in 0..5 {
        assert_eq!(answer(&e, q), first);
    }
}

proptest::proptest! {
    #[test]
    fn never_panics_and_answers_pass_the_guard(q in "\\PC{1,80}") {
        let e = engine();
        if let Ok(question) = Question::parse(&q)
            && let Outcome::Answer(a) = e.answer(&question, "2024-05-15")
        {
            proptest::prop_assert!(crate::guard::check(&a.sql, Dialect::Sqlite, &crate::guard::Policy::default()).is_ok());
        }
    }

    #[test]
    fn never_panics_on_question_like_text(
        words in proptest::collection::vec(
            proptest::sample::select(vec![
                "how", "many", "heads", "older", "than", "56", "age", "name", "average", "each", "state",
                "between", "and", "or", "not", "top", "3", "most", "'California'", "별", "나이가", "이상", "순으로",
                "지난달", "last", "30", "days", "ordered", "by", "desc", "the", "of", "per", "가장", "많은", "수",
                "?", ",", "\"", "2024", "년", "월별", "have", "without", "distinct", "management",
            ]),
            1..14,
        ),
        today in proptest::sample::select(vec!["2024-05-15", "2024-02-29", "garbage", ""]),
    ) {
        let q = words.join(" ");
        let e = engine();
        if let Ok(question) = Question::parse(&q) {
            match e.answer(&question, today) {
                Outcome::Answer(a) => {
                    proptest::prop_assert!(a.confidence >= MIN_CONFIDENCE);
                    proptest::prop_assert!(
                        crate::guard::check(&a.sql, Dialect::Sqlite, &crate::guard::Policy::default()).is_ok(),
                        "{}", a.sql
                    );
                }
                Outcome::Abstain(a) => proptest::prop_assert!(a.confidence < MIN_CONFIDENCE || a.confidence == 0.0),
            }
        }
    }
}

#[test]
fn a_glossary_terms_condition_is_added_or_the_engine_abstains() {
    let shop = Schema {
        dialect: Dialect::Sqlite,
        server_version: "SQLite".into(),
        tables: vec![table(
            "customers",
            vec![col("id", "int"), col("name", "text"), col("last_order_date", "text")],
            "id",
            vec![],
        )],
    };
    let e = Engine::new(&shop, ValueIndex::default());
    let term = |mention: &str, table: &str| TermCondition {
        mentions: vec!["active customers".into(), mention.into()],
        term: "활성 고객".into(),
        table: table.into(),
        sql: "last_order_date >= date('now', '-90 day')".into(),
    };
    let q = Question::parse("활성고객은 몇 명이야?").expect("question");
    let Outcome::Answer(a) = e.answer_with_terms(&q, "2024-05-15", &[term("활성 고객", "customers")]) else {
        panic!("abstained")
    };
    assert!(
        a.sql.contains("FROM \"customers\"") && a.sql.contains("(last_order_date >= date('now', '-90 day'))"),
        "{}",
        a.sql
    );
    assert!(a.sql.contains("COUNT(*)"), "{}", a.sql);
    assert!(a.interpretation.contains("활성 고객"), "{}", a.interpretation);
    // The same question without the glossary counts every customer: the term is what adds the condition.
    let Outcome::Answer(plain) = e.answer(&Question::parse("고객은 몇 명이야?").expect("q"), "2024-05-15")
    else {
        panic!("abstained")
    };
    assert!(!plain.sql.contains("last_order_date"), "{}", plain.sql);
    // A term on a table that is not there is an abstention, never a query without the condition.
    assert!(matches!(e.answer_with_terms(&q, "2024-05-15", &[term("활성 고객", "ghosts")]), Outcome::Abstain(_)));
    assert_eq!(
        replace_mention("How many Active  Customers?", "active customers", "customers").as_deref(),
        Some("How many  customers ?")
    );
    assert_eq!(replace_mention("nothing here", "active customers", "customers"), None);
}
