//! Property tests of the built-in engine: any question — word soups of analytic vocabulary in English and Korean,
//! schema names, values, numbers, dates, quotes and SQL fragments, or arbitrary text — never makes it panic, gives
//! the same outcome twice, keeps its confidence in [0, 1], and whatever SQL it answers with passes the guard in the
//! schema's dialect. The engine catches a panic and abstains as a last resort; a panic hook here turns any panic into
//! a failure, so that safety net is never what keeps these properties true.

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use datagenie_core::builtin::{Engine, Outcome, ValueIndex};
use datagenie_core::guard::{self, Policy};
use datagenie_core::schema::{Column, ForeignKey, Schema, Table, TableKind};
use datagenie_core::{Dialect, Question};
use proptest::prelude::*;

static PANICS: AtomicUsize = AtomicUsize::new(0);
static HOOK: Once = Once::new();

/// Counts every panic in this test binary (the engine's own `catch_unwind` would otherwise hide them).
fn count_panics() {
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            default(info);
        }));
    });
}

fn col(name: &str, ty: &str, samples: &[&str]) -> Column {
    Column {
        name: name.into(),
        data_type: ty.into(),
        nullable: true,
        comment: None,
        samples: samples.iter().map(|s| s.to_string()).collect(),
    }
}

fn schema(dialect: Dialect) -> Schema {
    let table = |name: &str, comment: &str, columns: Vec<Column>, fks: Vec<ForeignKey>| Table {
        schema: None,
        name: name.into(),
        kind: TableKind::Table,
        comment: Some(comment.into()),
        columns,
        primary_key: vec!["id".into()],
        foreign_keys: fks,
        row_count: Some(50),
    };
    let fk = |column: &str, target: &str| ForeignKey {
        columns: vec![column.into()],
        ref_schema: None,
        ref_table: target.into(),
        ref_columns: vec!["id".into()],
    };
    Schema {
        dialect,
        server_version: String::new(),
        tables: vec![
            table(
                "customers",
                "고객 / customers",
                vec![
                    col("id", "INTEGER", &[]),
                    col("name", "TEXT", &["Kim", "Lee"]),
                    col("city", "TEXT", &["서울", "Busan"]),
                    col("signup_date", "DATE", &["2024-01-05"]),
                ],
                vec![],
            ),
            table(
                "products",
                "상품 / products",
                vec![
                    col("id", "INTEGER", &[]),
                    col("name", "TEXT", &["Mouse"]),
                    col("category", "TEXT", &["Electronics", "Food"]),
                    col("price", "REAL", &[]),
                ],
                vec![],
            ),
            table(
                "orders",
                "주문 / orders",
                vec![
                    col("id", "INTEGER", &[]),
                    col("customer_id", "INTEGER", &[]),
                    col("product_id", "INTEGER", &[]),
                    col("quantity", "INTEGER", &[]),
                    col("status", "TEXT", &["delivered", "returned"]),
                    col("order_date", "DATE", &["2024-02-01"]),
                ],
                vec![fk("customer_id", "customers"), fk("product_id", "products")],
            ),
        ],
    }
}

fn values() -> ValueIndex {
    let mut v = ValueIndex::default();
    v.add("customers", "city", ["서울".to_string(), "Busan".to_string(), "O'Hare".to_string()]);
    v.add("products", "category", ["Electronics".to_string(), "Food".to_string()]);
    v.add("orders", "status", ["delivered".to_string(), "returned".to_string(), "cancelled".to_string()]);
    v
}

const WORDS: &[&str] = &[
    "how",
    "many",
    "what",
    "which",
    "show",
    "list",
    "the",
    "of",
    "each",
    "per",
    "by",
    "for",
    "with",
    "without",
    "total",
    "sum",
    "average",
    "avg",
    "max",
    "maximum",
    "min",
    "lowest",
    "highest",
    "most",
    "least",
    "top",
    "bottom",
    "count",
    "number",
    "distinct",
    "different",
    "more",
    "than",
    "less",
    "at",
    "least",
    "between",
    "and",
    "or",
    "not",
    "in",
    "last",
    "days",
    "month",
    "year",
    "ordered",
    "descending",
    "ascending",
    "first",
    "have",
    "has",
    "no",
    "any",
    "customers",
    "customer",
    "orders",
    "order",
    "products",
    "product",
    "city",
    "cities",
    "name",
    "names",
    "price",
    "category",
    "quantity",
    "status",
    "date",
    "signup",
    "Busan",
    "Electronics",
    "delivered",
    "O'Hare",
    "'",
    "\"",
    "?",
    ",",
    ".",
    "(",
    ")",
    "%",
    "-",
    "0",
    "5",
    "2024",
    "2024-02-01",
    "3.5",
    "-7",
    "99999999999999999999",
    "1e9",
    "고객",
    "주문",
    "상품",
    "도시",
    "도시별",
    "카테고리별",
    "월별",
    "연도별",
    "수",
    "몇",
    "명",
    "개",
    "건",
    "합계",
    "평균",
    "최대",
    "최소",
    "가장",
    "많은",
    "적은",
    "상위",
    "하위",
    "이상",
    "이하",
    "초과",
    "미만",
    "사이",
    "지난달",
    "지난",
    "30일",
    "2024년",
    "3월",
    "서울",
    "의",
    "은",
    "는",
    "이",
    "가",
    "을",
    "를",
    "에서",
    "보여줘",
    "알려줘",
    "SELECT",
    "DROP TABLE",
    ";",
    "--",
    "/*",
    "*/",
    "UNION",
    "\\",
    "\u{0}",
    "🙂",
    "ｆｕｌｌ",
    "\t",
    "\n",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 1..16).prop_map(|w| w.join(" "))
}

fn check(engine: &Engine, dialect: Dialect, text: &str) -> Result<(), TestCaseError> {
    let Ok(question) = Question::parse(text) else { return Ok(()) };
    let before = PANICS.load(Ordering::SeqCst);
    let first = engine.answer(&question, "2024-03-15");
    prop_assert_eq!(PANICS.load(Ordering::SeqCst), before, "the engine panicked on {:?}", text);
    let second = engine.answer(&question, "2024-03-15");
    prop_assert_eq!(&first, &second, "not deterministic on {:?}", text);
    match first {
        Outcome::Answer(a) => {
            prop_assert!((0.0..=1.0).contains(&a.confidence), "confidence {} on {:?}", a.confidence, text);
            prop_assert!(!a.interpretation.is_empty());
            let checked = guard::check(&a.sql, dialect, &Policy::default());
            prop_assert!(checked.is_ok(), "{:?} -> {} refused: {:?}", text, a.sql, checked.err());
        }
        Outcome::Abstain(ab) => {
            prop_assert!((0.0..=1.0).contains(&ab.confidence), "confidence {} on {:?}", ab.confidence, text);
            prop_assert!(!ab.reason.is_empty());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn word_soups_never_panic_and_answers_pass_the_guard(text in soup(), d in 0usize..3) {
        count_panics();
        let dialect = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql][d];
        let engine = Engine::new(&schema(dialect), values());
        check(&engine, dialect, &text)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        count_panics();
        let engine = Engine::new(&schema(Dialect::Sqlite), values());
        check(&engine, Dialect::Sqlite, &text)?;
    }
}
