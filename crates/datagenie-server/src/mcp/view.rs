//! What the tools return, the same for both backends: the structured content and its compact text.

use datagenie_app::ask::{Answer, AskFailure};
use datagenie_core::linking::SchemaIndex;
use datagenie_core::llm::estimate_tokens;
use datagenie_core::schema::Schema;
use datagenie_core::schema_text::render_tables;
use datagenie_core::value::Value;
use datagenie_core::{Error, ErrorCode};
use serde_json::json;

use super::{DescribeArgs, Done, Failed, TEXT_ROWS};

/// A connection as `list_connections` shows it.
pub struct ConnectionItem {
    pub id: String,
    pub name: String,
    pub engine: String,
    pub description: Option<String>,
}

pub fn connections(items: &[ConnectionItem]) -> Done {
    let value = json!({
        "connections": items.iter().map(|c| json!({
            "id": c.id, "name": c.name, "engine": c.engine, "description": c.description,
        })).collect::<Vec<_>>(),
    });
    let mut text = match items.len() {
        0 => "You may query no connection.".to_string(),
        1 => "1 connection:".to_string(),
        n => format!("{n} connections:"),
    };
    for c in items {
        text.push_str(&format!("\n- {} ({})", c.name, c.engine));
        if let Some(d) = c.description.as_deref().filter(|d| !d.trim().is_empty()) {
            text.push_str(": ");
            text.push_str(&one_line(d, 200));
        }
    }
    Done { value, text }
}

/// `describe_schema` on the part of the schema the caller may read (`schema`, already filtered and masked):
/// the tables named, the tables linked to a question within `budget` tokens, the whole schema when it fits the
/// budget, else a list of the tables (as many as fit) and how to get more.
pub fn describe(connection: &str, schema: &Schema, args: &DescribeArgs, budget: usize) -> Result<Done, Error> {
    let (chosen, mode, complete) = if let Some(names) = args.tables.as_ref().filter(|n| !n.is_empty()) {
        let mut chosen = Vec::new();
        for name in names {
            let wanted = name.trim();
            let found = schema
                .tables
                .iter()
                .position(|t| t.name.eq_ignore_ascii_case(wanted) || t.qualified_name().eq_ignore_ascii_case(wanted));
            match found {
                Some(i) if !chosen.contains(&i) => chosen.push(i),
                Some(_) => {}
                None => {
                    return Err(Error::new(
                        ErrorCode::NotFound,
                        format!("no table '{wanted}' that you may read in '{connection}'"),
                    ));
                }
            }
        }
        (chosen, "tables", false)
    } else if let Some(q) = args.question.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let selection = SchemaIndex::new(schema).select(q, budget);
        (selection.tables, "question", selection.complete)
    } else if SchemaIndex::new(schema).total_tokens() <= budget {
        ((0..schema.tables.len()).collect(), "all", true)
    } else {
        return Ok(overview(connection, schema, budget));
    };
    let tables: Vec<&datagenie_core::schema::Table> = chosen.iter().filter_map(|&i| schema.tables.get(i)).collect();
    let value = json!({
        "connection": connection,
        "dialect": schema.dialect.as_str(),
        "selected_by": mode,
        "complete": complete,
        "tables_total": schema.tables.len(),
        "tables": tables,
    });
    let scope = match mode {
        "all" => format!("all {} tables", schema.tables.len()),
        "question" if complete => format!("all {} tables (the whole schema fits)", schema.tables.len()),
        "question" => format!("{} of {} tables, chosen for the question", tables.len(), schema.tables.len()),
        _ => format!("{} of {} tables, as asked", tables.len(), schema.tables.len()),
    };
    let text = format!("-- {connection} ({}), {scope}\n{}", schema.dialect.as_str(), render_tables(schema, &chosen));
    Ok(Done { value, text })
}

/// Too large to show whole: table names with their comments and sizes, as many as fit the budget.
fn overview(connection: &str, schema: &Schema, budget: usize) -> Done {
    let mut used = 0usize;
    let mut listed = Vec::new();
    let mut text = String::new();
    for t in &schema.tables {
        let mut line = format!("- {} ({} columns", t.qualified_name(), t.columns.len());
        if let Some(n) = t.row_count {
            line.push_str(&format!(", ~{n} rows"));
        }
        line.push(')');
        if let Some(c) = t.comment.as_deref().filter(|c| !c.trim().is_empty()) {
            line.push_str(": ");
            line.push_str(&one_line(c, 120));
        }
        used += estimate_tokens(&line) + 1;
        if used > budget && !listed.is_empty() {
            break;
        }
        text.push('\n');
        text.push_str(&line);
        listed.push(json!({
            "name": t.qualified_name(), "comment": t.comment, "columns": t.columns.len(), "row_count": t.row_count,
        }));
    }
    let more = schema.tables.len() - listed.len();
    let mut head = format!(
        "-- {connection} ({}): {} tables, too many to describe at once. Call describe_schema again with `question` \
         (the tables a question needs) or `tables` (those in full).",
        schema.dialect.as_str(),
        schema.tables.len()
    );
    if more > 0 {
        head.push_str(&format!(" {more} more tables are not listed here."));
    }
    let value = json!({
        "connection": connection,
        "dialect": schema.dialect.as_str(),
        "selected_by": "overview",
        "complete": false,
        "tables_total": schema.tables.len(),
        "tables_listed": listed.len(),
        "overview": listed,
    });
    Done { value, text: head + &text }
}

/// An answered question (or query): the pipeline's JSON plus where it was recorded.
pub fn answer(answer: &Answer, recorded: serde_json::Map<String, serde_json::Value>) -> Done {
    let mut value = serde_json::to_value(answer.to_json()).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.extend(recorded.clone());
    }
    let mut text = format!("SQL ({}):\n{}\n", answer.source.describe(), answer.sql);
    let names: Vec<&str> = answer.columns.iter().map(|c| c.name.as_str()).collect();
    let n = answer.rows.len();
    text.push_str(&format!(
        "{n} row{}{}",
        if n == 1 { "" } else { "s" },
        if answer.truncated { " (truncated: more rows exist; raise max_rows or narrow the question)" } else { "" }
    ));
    if !names.is_empty() {
        text.push_str(&format!("\n{}", names.join(" | ")));
    }
    for row in answer.rows.iter().take(TEXT_ROWS) {
        let cells: Vec<String> = row.iter().map(cell).collect();
        text.push('\n');
        text.push_str(&cells.join(" | "));
    }
    if n > TEXT_ROWS {
        text.push_str(&format!("\n… {} more rows in the structured result", n - TEXT_ROWS));
    }
    if let Some(summary) = &answer.summary {
        text.push_str(&format!("\nSummary: {summary}"));
    }
    let tokens = answer.usage.prompt_tokens + answer.usage.completion_tokens;
    if tokens > 0 {
        text.push_str(&format!("\nTokens: {tokens} (${:.6})", answer.usage.cost_usd));
    }
    for (k, v) in &recorded {
        if let Some(s) = v.as_str() {
            text.push_str(&format!("\n{k}: {s}"));
        }
    }
    Done { value, text }
}

/// A question (or query) that failed: its error, what it tried and cost, where it was recorded.
pub fn failure(f: &AskFailure, recorded: serde_json::Map<String, serde_json::Value>) -> Failed {
    let mut details = f.to_json();
    if let Some(map) = details.as_object_mut() {
        map.extend(recorded);
    }
    Failed { error: f.error.clone(), details: Some(details) }
}

fn cell(v: &Value) -> String {
    let text = match v {
        Value::Null => "NULL".to_string(),
        Value::Text(s) => s.clone(),
        other => match serde_json::to_value(other) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(v) => v.to_string(),
            Err(_) => String::new(),
        },
    };
    one_line(&text, 200)
}

pub use datagenie_core::schema_text::one_line;

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_core::Dialect;
    use datagenie_core::schema::{Column, ForeignKey, Table};

    /// A warehouse of `n` tables of eight columns, each pointing at the one before it.
    fn warehouse(n: usize) -> Schema {
        let tables = (0..n)
            .map(|i| {
                let columns = ["id", "parent_id", "region", "amount", "status", "created_at", "note", "code"]
                    .iter()
                    .map(|c| Column {
                        name: if *c == "amount" { format!("amount_{i}") } else { (*c).to_string() },
                        data_type: "TEXT".into(),
                        nullable: true,
                        comment: None,
                        samples: vec![],
                    })
                    .collect();
                Table {
                    comment: Some(format!("facts of unit {i}")),
                    primary_key: vec!["id".into()],
                    foreign_keys: (i > 0)
                        .then(|| ForeignKey {
                            columns: vec!["parent_id".into()],
                            ref_schema: None,
                            ref_table: format!("unit_{}", i - 1),
                            ref_columns: vec!["id".into()],
                        })
                        .into_iter()
                        .collect(),
                    row_count: Some(10),
                    ..Table::new(format!("unit_{i}"), columns)
                }
            })
            .collect();
        Schema { dialect: Dialect::Postgres, server_version: "test".into(), tables }
    }

    #[test]
    fn a_two_thousand_table_warehouse_is_a_page_not_a_dump() {
        let schema = warehouse(2000);
        let budget = 4000;
        let listed = describe("dw", &schema, &DescribeArgs::default(), budget).expect("overview");
        assert_eq!(listed.value["selected_by"], "overview");
        let shown = listed.value["tables_listed"].as_u64().expect("listed") as usize;
        assert!(shown > 50 && shown < 2000, "{shown}");
        assert!(estimate_tokens(&listed.text) <= budget + 200, "{}", estimate_tokens(&listed.text));
        assert!(listed.text.contains("more tables are not listed"));

        let args = DescribeArgs { question: Some("total amount_1234 by region".into()), ..Default::default() };
        let linked = describe("dw", &schema, &args, budget).expect("linked");
        let names: Vec<&str> =
            linked.value["tables"].as_array().expect("tables").iter().filter_map(|t| t["name"].as_str()).collect();
        assert!(names.contains(&"unit_1234"), "{names:?}");
        assert!(names.len() < 40, "{}", names.len());
        assert!(estimate_tokens(&linked.text) <= budget + 100);

        let args = DescribeArgs { tables: Some(vec!["UNIT_7".into(), "unit_7".into()]), ..Default::default() };
        let named = describe("dw", &schema, &args, budget).expect("named");
        assert_eq!(named.value["tables"].as_array().map(Vec::len), Some(1), "named twice, shown once");
        let args = DescribeArgs { tables: Some(vec!["unit_9999".into()]), ..Default::default() };
        assert_eq!(describe("dw", &schema, &args, budget).err().map(|e| e.code), Some(ErrorCode::NotFound));
    }

    #[test]
    fn a_small_schema_is_described_whole_and_text_is_one_line_per_cell() {
        let schema = warehouse(3);
        let all = describe("small", &schema, &DescribeArgs::default(), 4000).expect("all");
        assert_eq!((all.value["selected_by"].as_str(), all.value["complete"].as_bool()), (Some("all"), Some(true)));
        assert!(all.text.contains("CREATE TABLE unit_2"), "{}", all.text);
        assert_eq!(one_line("a\nb\u{7}c", 10), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(cell(&Value::Null), "NULL");
        assert_eq!(cell(&Value::Text("x\ny".into())), "x y");
        assert_eq!(cell(&Value::Int(7)), "7");
    }
}
