//! How answers look: a table for people, CSV, and the JSON object the README documents.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use datagenie_app::ask::{Answer, AnswerSource, Attempt, Usage};
use datagenie_core::knowledge::{Chunk, Example, ExampleOrigin, GlossaryEntry, Retrieval, Scored};
use datagenie_core::pii::PiiKind;
use datagenie_core::schema::{Schema, TableKind};
use datagenie_core::schema_text::one_line;
use datagenie_core::value::Value;
use datagenie_core::values::{MatchKind, ValueMatch};

/// Rows printed in the people's table; the JSON and CSV formats carry every returned row.
const TABLE_ROWS: usize = 50;
/// Longest cell shown in the people's table, in characters.
const CELL_CHARS: usize = 60;
/// The narrowest terminal the people's table is wrapped to; narrower ones get it unwrapped.
const MIN_WRAP_WIDTH: u16 = 20;

pub fn json(out: &mut impl Write, answer: &Answer) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &answer.to_json()).map_err(io::Error::other)?;
    writeln!(out)
}

/// The answer's JSON with `knowledge`: the tables and the knowledge its prompt was given (`ask --explain`).
pub fn json_explained(out: &mut impl Write, answer: &Answer) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &answer.to_json_explained()).map_err(io::Error::other)?;
    writeln!(out)
}

pub fn csv(out: &mut impl Write, answer: &Answer) -> io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(answer.columns.iter().map(|c| c.name.as_str())).map_err(io::Error::other)?;
    for row in &answer.rows {
        w.write_record(row.iter().map(Value::to_display)).map_err(io::Error::other)?;
    }
    w.flush()
}

pub fn table(out: &mut impl Write, answer: &Answer, chart_file: Option<&Path>) -> io::Result<()> {
    for (i, a) in answer.attempts.iter().enumerate() {
        if let Some(e) = &a.error {
            writeln!(out, "attempt {} failed [{}]: {}", i + 1, e.code, e.message)?;
        }
    }
    writeln!(out, "SQL ({}):\n  {}\n", answer.source.describe(), answer.sql.replace('\n', "\n  "))?;
    if !answer.executed {
        writeln!(out, "(dry run: the guard accepted this SQL; it was not executed)")?;
        return usage_line(out, answer);
    }
    if answer.columns.is_empty() || answer.rows.is_empty() {
        writeln!(out, "(no rows)")?;
    } else {
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED);
        match wrap_width() {
            Some(width) => {
                t.set_content_arrangement(ContentArrangement::Dynamic).set_width(width);
            }
            None => {
                t.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        t.set_header(answer.columns.iter().map(|c| c.name.clone()));
        for row in answer.rows.iter().take(TABLE_ROWS) {
            t.add_row(row.iter().map(cell));
        }
        // Numbers read best right-aligned: align a column right when every non-null value in it is a number.
        for (i, column) in t.column_iter_mut().enumerate() {
            let numeric = answer
                .rows
                .iter()
                .take(TABLE_ROWS)
                .all(|r| r.get(i).is_none_or(|v| v.is_numeric() || matches!(v, Value::Null)));
            if numeric {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        writeln!(out, "{t}")?;
    }
    let shown = answer.rows.len().min(TABLE_ROWS);
    let mut status = format!("{} row{}", answer.rows.len(), if answer.rows.len() == 1 { "" } else { "s" });
    if answer.truncated {
        status.push_str(" (truncated: the query has more rows; raise --max-rows to see them)");
    }
    if shown < answer.rows.len() {
        status.push_str(&format!("; first {shown} shown (use --format csv or json for all)"));
    }
    writeln!(out, "{status}")?;
    if !answer.masked.is_empty() {
        let cols: Vec<String> = answer.masked.iter().map(|m| format!("{} ({})", m.column, m.kind)).collect();
        writeln!(out, "personal data masked: {} (--unmask to show)", cols.join(", "))?;
    }
    if let Some(summary) = &answer.summary {
        writeln!(out, "\n{summary}")?;
    }
    match (chart_file, &answer.chart) {
        (Some(p), Some(_)) => writeln!(out, "\nChart written to {}", p.display())?,
        (Some(_), None) => writeln!(out, "\nNo chart: this result reads best as a table.")?,
        _ => {}
    }
    usage_line(out, answer)
}

/// The width to wrap the people's table to: that of the terminal stdout writes to, when stdout is one and says how
/// wide it is. `None` — the table unwrapped, one line per row — when stdout is a pipe or a file (`--format table |
/// less`) or a terminal that reports no width (a pseudo-terminal nobody sized, as under `script -qc "datagenie demo"`
/// and in some CI logs, has 0 columns: wrapping to it put one character per line).
fn wrap_width() -> Option<u16> {
    terminal_width().filter(|&width| width >= MIN_WRAP_WIDTH)
}

/// The column count of the terminal on stdout (not of `/dev/tty`, which output redirected to another terminal does
/// not go to).
#[cfg(unix)]
fn terminal_width() -> Option<u16> {
    use std::io::IsTerminal;
    let stdout = io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    rustix::termios::tcgetwinsize(&stdout).ok().map(|size| size.ws_col)
}

/// The console's width when stdout is one (comfy-table asks the console).
#[cfg(not(unix))]
fn terminal_width() -> Option<u16> {
    Table::new().width()
}

/// Tokens, cost, time, and which LLM was in force and where that choice came from.
fn usage_line(out: &mut impl Write, answer: &Answer) -> io::Result<()> {
    let (usage, llm) = (&answer.usage, &answer.llm);
    let in_force = match &llm.model {
        None => "no LLM (builtin)".to_string(),
        Some(model) => format!("{} {model}", llm.provider.as_str()),
    };
    writeln!(
        out,
        "\n{} prompt + {} completion tokens, ~${:.4}, {} ms; {in_force}, from {}",
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cost_usd,
        answer.timings.total.as_millis(),
        llm.from
    )
}

fn cell(v: &Value) -> String {
    let s = match v {
        Value::Null => "NULL".to_string(),
        other => other.to_display(),
    };
    if s.chars().count() > CELL_CHARS {
        let mut t: String = s.chars().take(CELL_CHARS - 1).collect();
        t.push('…');
        t
    } else {
        s
    }
}

/// Attempts of a failed question, for people (on stderr).
pub fn failed_attempts(out: &mut impl Write, attempts: &[Attempt], usage: &Usage) {
    for (i, a) in attempts.iter().enumerate() {
        let sql = a.sql.as_deref().unwrap_or("(no SQL)");
        let err = a.error.as_ref().map(|e| format!("[{}] {}", e.code, e.message)).unwrap_or_default();
        let _ = writeln!(out, "attempt {}: {}\n  {}", i + 1, sql.replace('\n', " "), err);
    }
    if usage.prompt_tokens + usage.completion_tokens > 0 {
        let _ = writeln!(
            out,
            "{} prompt + {} completion tokens, ~${:.4}",
            usage.prompt_tokens, usage.completion_tokens, usage.cost_usd
        );
    }
}

/// The schema for people; `pii` is the personal-data classification per (table, column).
pub fn schema_text(out: &mut impl Write, schema: &Schema, pii: &BTreeMap<(String, String), PiiKind>) -> io::Result<()> {
    writeln!(out, "{} — {} tables and views", schema.server_version, schema.tables.len())?;
    for t in &schema.tables {
        let kind = match t.kind {
            TableKind::Table => "table",
            TableKind::View => "view",
        };
        let rows = t.row_count.map(|n| format!(", {n} rows")).unwrap_or_default();
        writeln!(out, "\n{} ({kind}{rows})", t.qualified_name())?;
        if let Some(c) = &t.comment {
            writeln!(out, "  -- {c}")?;
        }
        for c in &t.columns {
            let mut notes = Vec::new();
            if t.primary_key.iter().any(|k| k == &c.name) {
                notes.push("PK".to_string());
            }
            for fk in &t.foreign_keys {
                if let Some(i) = fk.columns.iter().position(|k| k == &c.name) {
                    let target = fk.ref_columns.get(i).map(String::as_str).unwrap_or("?");
                    notes.push(format!("→ {}.{}", fk.ref_table, target));
                }
            }
            if !c.nullable {
                notes.push("NOT NULL".into());
            }
            if let Some(kind) = pii.get(&(t.name.clone(), c.name.clone())) {
                notes.push(format!("PII:{kind}"));
            }
            let ty = if c.data_type.is_empty() { "ANY" } else { &c.data_type };
            let mut line = format!("  {:<24} {:<14} {}", c.name, ty, notes.join(" "));
            if !c.samples.is_empty() {
                line.push_str(&format!("  e.g. {}", c.samples.join(", ")));
            }
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    Ok(())
}

pub fn demo_intro_offline(out: &mut impl Write, database: &str, schema: &Schema) -> io::Result<()> {
    writeln!(out, "The demo database is ready: {database}\n")?;
    for t in &schema.tables {
        let rows = t.row_count.map(|n| format!("{n:>8} rows")).unwrap_or_default();
        let cols: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        writeln!(out, "  {:<14} {rows}  {}", t.name, cols.join(", "))?;
    }
    writeln!(
        out,
        "\nNo LLM is configured: verified templates and the built-in engine answer what they can, and say so when a \
         question needs an LLM. To answer any question, point DataGenie at one, e.g.\n\n\
         \x20 # a local Ollama (ollama pull qwen2.5-coder:7b)\n\
         \x20 export DATAGENIE_LLM__PROVIDER=openai\n\
         \x20 export DATAGENIE_LLM__BASE_URL=http://localhost:11434/v1\n\
         \x20 export DATAGENIE_LLM__MODEL=qwen2.5-coder:7b\n\n\
         \x20 # or OpenAI / Anthropic\n\
         \x20 export OPENAI_API_KEY=sk-...\n\
         \x20 export DATAGENIE_LLM__PROVIDER=anthropic DATAGENIE_LLM__API_KEY=sk-ant-...\n\n\
         All settings: datagenie config default"
    )
}

/// Characters of a name, a definition or a question that an explanation line shows.
const EXPLAIN_CHARS: usize = 160;
/// Characters of a term's SQL shown: as many as the prompt shows.
const EXPLAIN_SQL_CHARS: usize = 400;

/// `ask --explain` for people: what the LLM's prompt was given beyond the question — the tables shown, matched
/// values, business terms, documentation chunks and verified examples, each with its score — or, for an answer that
/// did not come from the LLM, that no prompt was built.
pub fn explanation(out: &mut impl Write, answer: &Answer) -> io::Result<()> {
    let not_built = match &answer.source {
        AnswerSource::Llm { .. } => None,
        AnswerSource::Template { name, .. } => Some(format!("the answer came from the verified template \"{name}\"")),
        AnswerSource::Builtin { .. } => Some("the answer came from the built-in engine".to_string()),
        AnswerSource::Sql => Some("the SQL was the caller's own".to_string()),
    };
    if let Some(why) = not_built {
        return writeln!(out, "Knowledge: no prompt was built: {why}; no LLM call.");
    }
    writeln!(out, "Knowledge in the prompt:")?;
    let tables =
        if answer.tables_in_prompt.is_empty() { "(none)".to_string() } else { answer.tables_in_prompt.join(", ") };
    writeln!(out, "  tables: {tables}")?;
    let k = &answer.knowledge;
    if k.is_empty() {
        return writeln!(out, "  nothing beyond the schema: no matched values, terms, documentation or examples");
    }
    knowledge_lines(out, "  ", &k.values, &k.terms, &k.chunks, &k.examples, &|_| None)
}

/// Which list an item is in, for [`knowledge_lines`]'s note on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    Value(usize),
    Term(usize),
    Chunk(usize),
    Example(usize),
}

/// Sections of knowledge items (values, terms, documentation, examples), one line each (two for a term with SQL),
/// indented by `indent`; `note` adds a remark after an item's line (`knowledge search`: why it was left out).
pub fn knowledge_lines(
    out: &mut impl Write,
    indent: &str,
    values: &[ValueMatch],
    terms: &[Scored<GlossaryEntry>],
    chunks: &[Scored<Chunk>],
    examples: &[Scored<Example>],
    note: &dyn Fn(Listed) -> Option<String>,
) -> io::Result<()> {
    let noted = |line: String, at: Listed| match note(at) {
        Some(n) => format!("{line}  [{n}]"),
        None => line,
    };
    if !values.is_empty() {
        writeln!(out, "{indent}values:")?;
        for (i, m) in values.iter().enumerate() {
            writeln!(out, "{indent}  {}", noted(value_line(m), Listed::Value(i)))?;
        }
    }
    if !terms.is_empty() {
        writeln!(out, "{indent}terms:")?;
        for (i, t) in terms.iter().enumerate() {
            writeln!(out, "{indent}  {}", noted(term_line(t), Listed::Term(i)))?;
            if let Some(sql) = &t.item.sql {
                let on = t.item.table.as_deref().map(|t| format!(" on {t}")).unwrap_or_default();
                writeln!(out, "{indent}    SQL{on}: {}", one_line(sql, EXPLAIN_SQL_CHARS))?;
            }
        }
    }
    if !chunks.is_empty() {
        writeln!(out, "{indent}documentation:")?;
        for (i, c) in chunks.iter().enumerate() {
            writeln!(out, "{indent}  {}", noted(chunk_line(c), Listed::Chunk(i)))?;
        }
    }
    if !examples.is_empty() {
        writeln!(out, "{indent}examples:")?;
        for (i, e) in examples.iter().enumerate() {
            writeln!(out, "{indent}  {}", noted(example_line(e), Listed::Example(i)))?;
        }
    }
    Ok(())
}

/// A matched value: `singer.country = 'France' ← "French" (derived, 0.70)`.
pub fn value_line(m: &ValueMatch) -> String {
    format!(
        "{}.{} = '{}' ← \"{}\" ({}, {:.2})",
        m.table,
        m.column,
        one_line(&m.value, EXPLAIN_CHARS).replace('\'', "''"),
        one_line(&m.matched, EXPLAIN_CHARS),
        match_kind(m.kind),
        m.score
    )
}

/// `exact`, `word`, `derived` or `fuzzy`, as the JSON says.
pub fn match_kind(kind: MatchKind) -> &'static str {
    match kind {
        MatchKind::Exact => "exact",
        MatchKind::Word => "word",
        MatchKind::Derived => "derived",
        MatchKind::Fuzzy => "fuzzy",
    }
}

/// How an item was retrieved, with its score: `lexical, 0.61`.
fn how(how: Retrieval, score: f32) -> String {
    let path = match how {
        Retrieval::Lexical => "lexical",
        Retrieval::Semantic => "semantic",
        Retrieval::Both => "lexical+semantic",
    };
    format!("{path}, {score:.2}")
}

/// A business term: `활성 고객 (lexical, 2.00) — a customer who ordered in the last 90 days`.
pub fn term_line(t: &Scored<GlossaryEntry>) -> String {
    let mut line = format!("{} ({})", one_line(&t.item.term, EXPLAIN_CHARS), how(t.how, t.score));
    if !t.item.definition.trim().is_empty() {
        line.push_str(&format!(" — {}", one_line(&t.item.definition, EXPLAIN_CHARS)));
    }
    line
}

/// A documentation chunk by its document and heading path: `refunds.md › Refunds › Deadlines (lexical, 0.61)`.
pub fn chunk_line(c: &Scored<Chunk>) -> String {
    let source = if c.item.heading.is_empty() {
        one_line(&c.item.document, EXPLAIN_CHARS)
    } else {
        format!("{} › {}", one_line(&c.item.document, EXPLAIN_CHARS), one_line(&c.item.heading, EXPLAIN_CHARS))
    };
    format!("{source} ({})", how(c.how, c.score))
}

/// A verified example: `"monthly revenue in {year:int}" (lexical, 0.83) — template "monthly revenue"`.
pub fn example_line(e: &Scored<Example>) -> String {
    let origin = match &e.item.origin {
        ExampleOrigin::Template { name, .. } => format!("template \"{}\"", one_line(name, EXPLAIN_CHARS)),
        ExampleOrigin::History { id } => format!("verified history {id}"),
    };
    format!("\"{}\" ({}) — {origin}", one_line(&e.item.question, EXPLAIN_CHARS), how(e.how, e.score))
}
