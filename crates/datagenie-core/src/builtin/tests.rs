use super::*;
use crate::Dialect;
use crate::schema::{Column, ForeignKey, Table, TableKind};

fn col(name: &str, ty: &str) -> Column {
    Column { name: name.into(), data_type: ty.into(), nullable: true, comment: None, samples: vec![] }
}

fn table(name: &str, columns: Vec<Column>, pk: &str, fks: Vec<(&str, &str, &str)>) -> Table {
    Table {
        schema: None,
        name: name.into(),
        kind: TableKind::Table,
        comment: None,
        columns,
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
    }
}

fn engine() -> Engine {
    let schema = Schema {
        dialect: Dialect::Sqlite,
        server_version: "SQLite".into(),
        tables: vec![
            table(
                "head",
                vec![col("head_ID", "int"), col("name", "text"), col("born_state", "text"), col("age", "real")],
                "head_ID",
                vec![],
            ),
        ],
    };
    let mut v = ValueIndex::default();
    v.add("head", "born_state", ["California".to_string(), "Alabama".to_string()]);
    Engine::new(&schema, v)
}

fn sql(e: &Engine, q: &str) -> String {
    match e.answer(&Question::parse(q).expect("question"), "2024-05-15") {
        Outcome::Answer(a) => a.sql,
        Outcome::Abstain(a) => format!("ABSTAIN {}", a.reason),
    }
}

#[test]
fn smoke() {
    let e = engine();
    assert_eq!(sql(&e, "How many heads are older than 56?"), "SELECT COUNT(*) FROM \"head\" WHERE \"age\" > 56");
}
