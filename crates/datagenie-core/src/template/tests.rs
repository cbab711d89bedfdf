//! Unit tests of templates: matching across languages and spellings, slot types, binding per dialect, validation.

use super::*;

fn template(phrasings: &[&str], sql: &str) -> QueryTemplate {
    match QueryTemplate::new(phrasings, sql, Dialect::Sqlite) {
        Ok(t) => t,
        Err(e) => panic!("template {phrasings:?} refused: {e}"),
    }
}

fn matched(t: &QueryTemplate, question: &str) -> Option<Vec<(String, String)>> {
    t.match_question(&NormalizedQuestion::new(question))
        .map(|m| m.values.into_iter().map(|b| (b.name, b.value.to_string())).collect())
}

fn values(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())
}

fn canonical(q: &str) -> String {
    NormalizedQuestion::new(q).canonical()
}

const MONTHLY_SQL: &str = "SELECT strftime('%m', order_date) AS month, sum(amount) AS revenue FROM orders \
                           WHERE strftime('%Y', order_date) = CAST({year} AS TEXT) GROUP BY 1 ORDER BY 1";

#[test]
fn the_issue_example_matches_across_languages() {
    let t = template(&["monthly revenue in {year:int}"], MONTHLY_SQL);
    assert_eq!(matched(&t, "2023년 월별 매출"), values(&[("year", "2023")]));
    assert_eq!(matched(&t, "monthly revenue in 2024"), values(&[("year", "2024")]));
    assert_eq!(matched(&t, "Monthly  Revenue, in 2024?"), values(&[("year", "2024")]));
    assert_eq!(matched(&t, "What was the monthly revenue in 2022"), values(&[("year", "2022")]));
    assert_eq!(matched(&t, "revenue by month for year 2021"), values(&[("year", "2021")]));
    assert_eq!(matched(&t, "2023년 월별매출을 알려줘"), values(&[("year", "2023")]));
    assert_eq!(matched(&t, "2023 년 월별 매출액 보여 줘"), values(&[("year", "2023")]));
    assert_eq!(matched(&t, "월별 매출 2020년도"), values(&[("year", "2020")]));
    // Both forms reduce to the same items.
    assert_eq!(canonical("2023년 월별 매출"), "2023<year> 월 매출");
    assert_eq!(t.canonical_phrasings(), vec!["month revenu {year:int}".to_string()]);
}

/// Each example question is answered by its own template with the example's values (what `eval --templates`
/// relies on), for every slot type and for Korean units glued to a slot.
#[test]
fn examples_fill_every_slot_and_match_their_template() {
    let t = template(
        &["top {n:int} products in {category:text} for {year:year}", "{year:year}년 {category:text} 상위 {n:int}개"],
        "SELECT name FROM products WHERE category = {category} AND year = {year} LIMIT {n}",
    );
    let examples = t.examples();
    assert_eq!(examples.len(), 2);
    assert_eq!(examples[0].0, "top 1 products in sample for 2024");
    assert_eq!(examples[1].0, "2024년 sample 상위 1개");
    for (question, values) in &examples {
        let m = t.match_question(&NormalizedQuestion::new(question)).expect(question);
        assert_eq!(&m.values, values, "{question}");
        let sql = t.bind(values).expect("bind");
        assert!(sql.contains("= 'sample'") && sql.ends_with("LIMIT 1"), "{sql}");
    }
    let dated = template(&["orders on {day:date} in month {m:month}"], "SELECT 1 WHERE {day} > '' AND {m} > 0");
    assert_eq!(dated.examples()[0].0, "orders on 2024-01-31 in month 1");
}

#[test]
fn a_korean_phrasing_matches_english_and_spacing_variants() {
    let t = template(&["{year:int}년 월별 매출"], MONTHLY_SQL);
    assert_eq!(matched(&t, "2023년월별매출"), values(&[("year", "2023")]));
    assert_eq!(matched(&t, "2023년 월별 매출은?"), values(&[("year", "2023")]));
    assert_eq!(matched(&t, "monthly sales in 2023"), values(&[("year", "2023")]));
    assert_eq!(matched(&t, "2023년 월간 매출액 좀 보여주세요"), values(&[("year", "2023")]));
    // The written unit makes {year} a year: a month number does not fill it.
    assert_eq!(matched(&t, "3월 월별 매출"), None);
}

#[test]
fn several_phrasings_and_the_first_that_matches() {
    let t = template(
        &["top {n:int} products by revenue", "매출 상위 {n:int}개 상품"],
        "SELECT name FROM products ORDER BY price DESC LIMIT {n}",
    );
    assert_eq!(matched(&t, "매출 상위 5개 상품"), values(&[("n", "5")]));
    assert_eq!(matched(&t, "상위 10개 상품 매출 알려줘"), values(&[("n", "10")]));
    assert_eq!(matched(&t, "Top 3 products by revenue"), values(&[("n", "3")]));
    assert_eq!(t.match_question(&NormalizedQuestion::new("매출 상위 5개 상품")).map(|m| m.phrasing), Some(0));
    assert_eq!(matched(&t, "top 3 customers by revenue"), None);
}

#[test]
fn questions_that_must_not_match() {
    let t = template(&["monthly revenue in {year:int}"], MONTHLY_SQL);
    for q in [
        "monthly revenue",                     // the slot has no value
        "monthly revenue in 2023 by category", // an extra word
        "monthly revenue in 2023 and 2024",    // an extra number
        "weekly revenue in 2023",              // another word
        "monthly orders in 2023",              // another word
        "2023년 월별 주문",                    // another word
        "2023년 월별 매출 추이",               // an extra word
        "2023년 3월 매출",                     // month 3 is no "monthly"
        "monthly revenue in March",            // a month name is no year
        "monthly revenue in 2023.5",           // not an integer
        "revenue in 2023",                     // a word missing
        "알려줘",                              // nothing at all
        "",
    ] {
        assert_eq!(matched(&t, q), None, "{q:?} must not match");
    }
    let count = template(&["how many customers"], "SELECT count(*) FROM customers");
    assert!(matched(&count, "number of customers").is_some());
    assert!(matched(&count, "고객 수").is_some());
    assert!(matched(&count, "고객 몇 명?").is_some());
    assert_eq!(matched(&count, "list customers"), None);
    assert_eq!(matched(&count, "고객 목록"), None);
}

#[test]
fn normalisation_of_case_spacing_punctuation_particles_and_jamo() {
    assert_eq!(canonical("Show me the ORDERS, please!"), "order");
    assert_eq!(canonical("고객들의 주문을"), "고객 주문");
    assert_eq!(canonical("고객별로 주문 수는?"), "고객 주문 수");
    assert_eq!(canonical("카테고리별 매출"), canonical("카테고리별매출"));
    assert_eq!(canonical("삼성 이마트 매출"), canonical("삼성이마트 매출"));
    assert_eq!(canonical("삼성 이마트 매출"), "삼성이마트 매출");
    // decomposed jamo (as macOS writes file names) and full-width digits
    assert_eq!(canonical("\u{1106}\u{1162}\u{110E}\u{116E}\u{11AF}"), "매출");
    assert_eq!(canonical("２０２３년"), "2023<year>");
    // 나이 (age) keeps its final 이; a one-syllable term is whole words only: 월요일 is not 월.
    assert_eq!(canonical("나이"), "나이");
    assert_eq!(canonical("월요일 매출"), "월요일 매출");
    // 5 주문 is five orders, not five weeks
    assert_eq!(canonical("5 주문"), "5 주문");
    assert_eq!(canonical("3개월"), "3<count> 월");
    assert_eq!(canonical("customer's orders in Q2"), "customer order 2<quarter>");
    assert_eq!(canonical("1,000 and 2.50 and -3 and 007"), "1000 2.5 -3 7");
    assert_eq!(canonical("2024-02-29 2023-02-29"), "2024-02-29 2023-02-29");
}

#[test]
fn slot_types_accept_their_values_and_refuse_bad_ones() {
    let t = template(&["orders on {d:date}"], "SELECT count(*) FROM orders WHERE order_date = {d}");
    assert_eq!(matched(&t, "orders on 2024-03-01"), values(&[("d", "2024-03-01")]));
    assert_eq!(matched(&t, "orders on 2024/3/1"), values(&[("d", "2024-03-01")]));
    assert_eq!(matched(&t, "orders on 2023-02-29"), None);
    assert_eq!(matched(&t, "orders on 2024-13-01"), None);
    assert_eq!(matched(&t, "orders on yesterday"), None);

    let t = template(&["revenue in {m:month}"], "SELECT sum(amount) FROM orders WHERE month = {m}");
    assert_eq!(matched(&t, "revenue in March"), values(&[("m", "3")]));
    assert_eq!(matched(&t, "3월 매출"), values(&[("m", "3")]));
    assert_eq!(matched(&t, "revenue in 12"), values(&[("m", "12")]));
    assert_eq!(matched(&t, "revenue in 13"), None);
    assert_eq!(matched(&t, "2023년 매출"), None);

    let t = template(&["revenue in {y:year}"], "SELECT sum(amount) FROM orders WHERE y = {y}");
    assert_eq!(matched(&t, "revenue in 2024"), values(&[("y", "2024")]));
    assert_eq!(matched(&t, "revenue in 24"), None);
    assert_eq!(matched(&t, "revenue in 5개"), None);

    let t = template(&["products cheaper than {p:number}"], "SELECT name FROM products WHERE price < {p}");
    assert_eq!(matched(&t, "products cheaper than 2.50"), values(&[("p", "2.5")]));
    assert_eq!(matched(&t, "products cheaper than 1,200"), values(&[("p", "1200")]));
    assert_eq!(matched(&t, "products cheaper than cheap"), None);

    let t = template(&["orders of customer {name:text}"], "SELECT * FROM orders WHERE customer = {name}");
    assert_eq!(matched(&t, "orders of customer 'Alice Park'"), values(&[("name", "Alice Park")]));
    assert_eq!(matched(&t, "orders of customer O'Brien"), values(&[("name", "O'Brien")]));
    assert_eq!(matched(&t, "orders of customer \"O'Brien\""), values(&[("name", "O'Brien")]));
    assert_eq!(matched(&t, "orders of customer Alice Park"), None);
    assert_eq!(matched(&t, "orders of customer 42"), None);

    let t = template(&["{city:text} 지역 매출"], "SELECT sum(amount) FROM orders WHERE city = {city}");
    assert_eq!(matched(&t, "서울 지역 매출"), values(&[("city", "서울")]));
    assert_eq!(matched(&t, "서울의 지역 매출은?"), values(&[("city", "서울")]));
}

#[test]
fn same_typed_slots_take_values_in_question_order() {
    let t = template(
        &["revenue from {start:year} to {end:year}", "{start:year}년부터 {end:year}년까지 매출"],
        "SELECT sum(amount) FROM orders WHERE y BETWEEN {start} AND {end}",
    );
    assert_eq!(matched(&t, "revenue from 2021 to 2023"), values(&[("start", "2021"), ("end", "2023")]));
    assert_eq!(matched(&t, "2020년부터 2022년까지 매출"), values(&[("start", "2020"), ("end", "2022")]));
    // types tell slots apart whatever the order
    let t = template(&["top {n:int} products in {year:year}"], "SELECT name FROM products WHERE y = {year} LIMIT {n}");
    assert_eq!(matched(&t, "2024년 상위 5개 상품"), values(&[("n", "5"), ("year", "2024")]));
    assert_eq!(matched(&t, "in 2024 top 5 products"), values(&[("n", "5"), ("year", "2024")]));
    // {n} comes first, but 5 is no year: the assignment that fits both wins
    assert_eq!(matched(&t, "top 2024 products in 5"), values(&[("n", "5"), ("year", "2024")]));
}

#[test]
fn invalid_templates_are_refused_with_invalid_template() {
    let bad = |phrasings: &[&str], sql: &str| {
        QueryTemplate::new(phrasings, sql, Dialect::Sqlite).err().map(|e| (e.code, e.message))
    };
    let cases: &[(&[&str], &str, &str)] = &[
        (&["revenue in {year:int}"], "DELETE FROM orders WHERE y = {year}", "refused by the guard"),
        (&["revenue in {year:int}"], "SELECT * FROM orders WHERE y = {year}; DROP TABLE x", "guard"),
        (&["revenue in {year:int}"], "SELEC * FROM orders WHERE y = {year}", "guard"),
        (&["revenue in {year:int}"], "SELECT * FROM orders", "not used in the SQL"),
        (&["revenue"], "SELECT * FROM orders WHERE y = {year}", "no question declares"),
        (&["revenue in {year:int}"], "SELECT * FROM orders WHERE y = { year }", "no spaces inside"),
        (&["revenue in {year:int}"], "SELECT * FROM orders WHERE y = {year} }", "without its placeholder"),
        (&["revenue in {year:float}"], "SELECT {year}", "unknown slot type"),
        (&["revenue in {1year:int}"], "SELECT {1year}", "invalid slot name"),
        (&["revenue {a:int} {a:int}"], "SELECT {a}", "appears twice"),
        (&["revenue in {year:int"], "SELECT 1", "must start a slot"),
        (&["{year:int}"], "SELECT {year}", "no words"),
        (&["revenue in {y:int}", "매출"], "SELECT {y}", "same slots"),
        (&[], "SELECT 1", "at least one question"),
        (&["revenue"], "   ", "empty"),
    ];
    for (phrasings, sql, needle) in cases {
        match bad(phrasings, sql) {
            Some((code, message)) => {
                assert_eq!(code, ErrorCode::InvalidTemplate, "{phrasings:?} {sql}");
                assert!(message.contains(needle), "{phrasings:?} {sql}: {message}");
            }
            None => panic!("{phrasings:?} / {sql} was accepted"),
        }
    }
}

#[test]
fn binding_quotes_values_and_leaves_string_literals_alone() {
    let t = template(
        &["orders of {name:text}"],
        "SELECT '{name}' AS label, name FROM customers WHERE name = {name} -- {name}\n",
    );
    let bound = t.bind(&[SlotBinding { name: "name".into(), value: SlotValue::Text("O'Brien".into()) }]);
    assert_eq!(
        bound.as_deref().ok(),
        Some("SELECT '{name}' AS label, name FROM customers WHERE name = 'O''Brien' -- {name}")
    );
    let injection = SlotValue::Text("x' OR '1'='1".into());
    let bound = t.bind(&[SlotBinding { name: "name".into(), value: injection }]).unwrap_or_default();
    assert!(bound.contains("= 'x'' OR ''1''=''1'"), "{bound}");
    assert!(guard::check(&bound, Dialect::Sqlite, &Policy::default()).is_ok());
    // a missing or mistyped value is refused
    assert!(t.bind(&[]).is_err());
    assert!(t.bind(&[SlotBinding { name: "name".into(), value: SlotValue::Int(1) }]).is_err());
}

#[test]
fn literals_per_dialect_including_mysql_backslashes() {
    let text = SlotValue::Text("a\\'b".into());
    assert_eq!(slot_literal(Dialect::Sqlite, &text).ok().as_deref(), Some("'a\\''b'"));
    assert_eq!(slot_literal(Dialect::Mysql, &text).ok().as_deref(), Some("'a\\\\''b'"));
    assert_eq!(slot_literal(Dialect::Postgres, &text).ok().as_deref(), Some("E'a\\\\''b'"));
    assert_eq!(slot_literal(Dialect::Mysql, &SlotValue::Int(5)).ok().as_deref(), Some("5"));
    assert_eq!(slot_literal(Dialect::Sqlite, &SlotValue::Int(-5)).ok().as_deref(), Some("(-5)"));
    assert_eq!(slot_literal(Dialect::Sqlite, &SlotValue::Number("-0.5".into())).ok().as_deref(), Some("(-0.5)"));
    assert!(slot_literal(Dialect::Sqlite, &SlotValue::Number("1; DROP".into())).is_err());
    assert_eq!(
        slot_literal(Dialect::Sqlite, &SlotValue::Date("2024-03-01".into())).ok().as_deref(),
        Some("'2024-03-01'")
    );

    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
        let t = QueryTemplate::new(&["customer {name:text}"], "SELECT id FROM customers WHERE name = {name}", dialect);
        let t = t.unwrap_or_else(|e| panic!("{dialect}: {e}"));
        let value = SlotValue::Text("O'Brien \\' OR 1=1 -- ".into());
        let bound = t.bind(&[SlotBinding { name: "name".into(), value }]).unwrap_or_default();
        // the bound SQL is still one query comparing name with one literal
        assert!(guard::check(&bound, dialect, &Policy::default()).is_ok(), "{dialect}: {bound}");
        assert!(!bound.contains("= {name}"), "{bound}");
    }
}

#[test]
fn numbers_keep_clear_of_comments_and_neighbours() {
    let t = template(&["orders minus {n:int}"], "SELECT id -{n} FROM orders LIMIT{n}");
    let bound = t.bind(&[SlotBinding { name: "n".into(), value: SlotValue::Int(-1) }]).unwrap_or_default();
    assert_eq!(bound, "SELECT id -(-1) FROM orders LIMIT (-1)");
    let bound = t.bind(&[SlotBinding { name: "n".into(), value: SlotValue::Int(7) }]).unwrap_or_default();
    assert_eq!(bound, "SELECT id -7 FROM orders LIMIT 7");
}

#[test]
fn stored_templates_read_without_the_guard_but_still_check_structure() {
    assert!(QueryTemplate::from_stored(&["revenue"], "DELETE FROM x", Dialect::Sqlite).is_ok());
    assert!(QueryTemplate::from_stored(&["revenue {y:int}"], "SELECT 1", Dialect::Sqlite).is_err());
}

proptest::proptest! {
    /// Arbitrary text (and text built from the characters the rules care about) never panics the reader, and a
    /// phrasing always matches itself when its slot is filled the way a question writes it.
    #[test]
    fn reading_never_panics_and_a_phrasing_matches_itself(
        q in proptest::prop_oneof![
            "\\PC{0,60}",
            "[0-9a-zA-Z{}:,.'\"“” \u{1100}\u{1161}\u{11a8}월별매출년의을가알려줘-]{0,30}"
        ],
        words in proptest::collection::vec("[a-z]{2,8}|매출|고객|주문|월별|서울", 1..5),
        year in 1000i64..=9999,
    ) {
        let _ = NormalizedQuestion::new(&q).canonical();
        let _ = QueryTemplate::from_stored(&[q.as_str()], "SELECT {x}", Dialect::Sqlite);
        let phrasing = format!("{} {{y:year}}", words.join(" "));
        if let Ok(t) = QueryTemplate::from_stored(&[phrasing.as_str()], "SELECT {y}", Dialect::Sqlite) {
            let question = format!("{} {year}", words.join(" "));
            let m = t.match_question(&NormalizedQuestion::new(&question));
            proptest::prop_assert_eq!(
                m.map(|m| m.values),
                Some(vec![SlotBinding { name: "y".into(), value: SlotValue::Year(year) }]),
                "{}", question
            );
        }
    }
}

#[test]
fn matching_is_bounded_and_never_panics_on_odd_input() {
    let t = template(&["monthly revenue in {year:int}"], MONTHLY_SQL);
    for q in [
        "{",
        "}",
        "'",
        "\"unclosed",
        "‘",
        "-",
        "--5",
        "9".repeat(40).as_str(),
        "ㅋㅋㅋ",
        "\u{1100}",
        "q5",
        "0.",
        "1,00",
    ] {
        let _ = matched(&t, q);
    }
    let long = "매출 ".repeat(600);
    assert_eq!(matched(&t, &long), None);
}
