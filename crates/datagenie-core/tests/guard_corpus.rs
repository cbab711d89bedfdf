//! The guard's data-driven tests: `tests/corpus/<dialect>/{reject,accept}.sql`.
//!
//! An entry is a block of lines; entries are separated by a line `-- ---`. Leading directive lines configure it:
//!
//! - `-- expect: <code>` — (reject files, required) the error code the guard must answer with;
//! - `-- contains: <text>` — the refusal message (reject) or the approved SQL (accept) must contain this text;
//! - `-- policy: <directive>` — builds the entry's policy: `allow-tables <spec>`, `restrict <table>(<cols>)`,
//!   `schemas <a,b>`, `current-schema <s>`, `catalogs none|metadata|all`, `function <name>`,
//!   `row-filter <table>: <expr>`, `attr <name> = <int>|'<text>'`;
//! - `-- why: <text>` — a note for readers.
//!
//! Everything after the directives is the SQL, verbatim. An accept entry must come back as one query that
//! re-parses; without a row filter its text must be the input minus surrounding blanks and trailing `;`.
//!
//! Only in-repo data: whether every Spider gold query passes the guard needs the Spider data set, so it is a fidelity
//! command (`cargo run --release -p datagenie-core --example guard_gold -- PATH/gold.sql`, in the README's
//! "Benchmarks and fidelity checks"); `sqlite/accept.sql` and `sqlite/reject.sql` keep the shapes of those queries.

use std::path::{Path, PathBuf};

use datagenie_core::guard::{self, AttrValue, CatalogAccess, Policy};
use datagenie_core::{Dialect, ErrorCode};
use sqlparser::ast::Statement;
use sqlparser::parser::Parser;

struct Entry {
    file: String,
    line: usize,
    expect: Option<String>,
    contains: Vec<String>,
    policy: Vec<String>,
    sql: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("corpus")
}

fn read_entries(path: &Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file = path.display().to_string();
    let mut entries = Vec::new();
    let mut block: Vec<(usize, &str)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_end() == "-- ---" {
            entries.extend(parse_entry(&file, &block));
            block.clear();
        } else {
            block.push((n + 1, line));
        }
    }
    entries.extend(parse_entry(&file, &block));
    entries
}

fn parse_entry(file: &str, block: &[(usize, &str)]) -> Option<Entry> {
    let mut entry = Entry {
        file: file.to_string(),
        line: block.first()?.0,
        expect: None,
        contains: Vec::new(),
        policy: Vec::new(),
        sql: String::new(),
    };
    let mut body_start = block.len();
    for (i, (_, line)) in block.iter().enumerate() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("-- expect:") {
            entry.expect = Some(v.trim().to_string());
        } else if let Some(v) = t.strip_prefix("-- contains:") {
            entry.contains.push(v.trim().to_string());
        } else if let Some(v) = t.strip_prefix("-- policy:") {
            entry.policy.push(v.trim().to_string());
        } else if t.starts_with("-- why:") || t.is_empty() {
        } else {
            body_start = i;
            break;
        }
    }
    let body: Vec<&str> = block[body_start..].iter().map(|(_, l)| *l).collect();
    entry.sql = body.join("\n").trim().to_string();
    let only_comments = entry.sql.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with("--"));
    if only_comments && entry.expect.is_none() {
        return None;
    }
    Some(entry)
}

fn build_policy(directives: &[String]) -> Policy {
    let mut p = Policy::default();
    for d in directives {
        let (key, rest) = d.split_once(' ').unwrap_or((d.as_str(), ""));
        let rest = rest.trim();
        p = match key {
            "allow-tables" => p.allow_tables_spec(rest).expect("allow-tables"),
            "restrict" => {
                let (table, cols) = rest.split_once('(').expect("restrict t(cols)");
                let cols: Vec<&str> = cols.trim_end_matches(')').split(',').collect();
                p.restrict_columns(table, &cols).expect("restrict")
            }
            "schemas" => rest.split(',').fold(p, |p, s| p.allow_schema(s)),
            "current-schema" => p.current_schema(rest),
            "catalogs" => p.catalogs(match rest {
                "metadata" => CatalogAccess::Metadata,
                "all" => CatalogAccess::All,
                _ => CatalogAccess::None,
            }),
            "function" => p.allow_function(rest),
            "row-filter" => p.row_filter_spec(rest).expect("row-filter"),
            "attr" => {
                let (name, value) = rest.split_once('=').expect("attr name = value");
                let value = value.trim();
                let value = match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                    Some(text) => AttrValue::Text(text.to_string()),
                    None => AttrValue::Integer(value.parse().expect("attr integer")),
                };
                p.user_attribute(name.trim(), value)
            }
            other => panic!("unknown policy directive {other}"),
        };
    }
    p
}

fn code_name(code: ErrorCode) -> &'static str {
    code.as_str()
}

/// The approved text must parse back, in the dialect, to exactly one query.
fn reparses_as_one_query(sql: &str, dialect: Dialect) -> bool {
    let d: Box<dyn sqlparser::dialect::Dialect> = match dialect {
        Dialect::Sqlite => Box::new(sqlparser::dialect::SQLiteDialect {}),
        Dialect::Postgres => Box::new(sqlparser::dialect::PostgreSqlDialect {}),
        Dialect::Mysql => Box::new(sqlparser::dialect::MySqlDialect {}),
    };
    matches!(Parser::parse_sql(d.as_ref(), sql).as_deref(), Ok([Statement::Query(_)]))
}

/// The approved text must be the input itself, cut only before trailing semicolons, blanks and comments.
fn is_verbatim_prefix(input: &str, approved: &str) -> bool {
    let Some(rest) = input.trim_start().strip_prefix(approved) else { return false };
    let rest = rest.trim_start();
    rest.is_empty() || [";", "--", "/*", "#"].iter().any(|p| rest.starts_with(p))
}

fn run_file(dialect: Dialect, name: &str) -> (usize, Vec<String>) {
    let path = corpus_dir().join(dialect.as_str()).join(name);
    let entries = read_entries(&path);
    let rejecting = name.starts_with("reject");
    let mut failures = Vec::new();
    for e in &entries {
        let at = format!("{}:{}", e.file, e.line);
        let policy = build_policy(&e.policy);
        let result = guard::check(&e.sql, dialect, &policy);
        match (rejecting, result) {
            (true, Ok(g)) => failures.push(format!("{at}: accepted, expected {:?}: {}", e.expect, g.as_str())),
            (true, Err(err)) => {
                let expected = e.expect.as_deref().unwrap_or("<missing -- expect:>");
                if code_name(err.code) != expected {
                    failures.push(format!("{at}: got {} ({}), expected {expected}", err.code, err.message));
                }
                if err.message.is_empty() {
                    failures.push(format!("{at}: empty refusal message"));
                }
                for c in &e.contains {
                    if !err.message.contains(c.as_str()) {
                        failures.push(format!("{at}: message {:?} lacks {c:?}", err.message));
                    }
                }
            }
            (false, Err(err)) => failures.push(format!("{at}: refused {} ({})", err.code, err.message)),
            (false, Ok(g)) => {
                let text = g.as_str();
                if !reparses_as_one_query(text, dialect) {
                    failures.push(format!("{at}: approved text is not one query: {text}"));
                }
                let filtered = e.policy.iter().any(|d| d.starts_with("row-filter"));
                if !filtered && !is_verbatim_prefix(&e.sql, text) {
                    failures.push(format!("{at}: approved text changed: {text:?}"));
                }
                for c in &e.contains {
                    if !text.contains(c.as_str()) {
                        failures.push(format!("{at}: approved SQL {text:?} lacks {c:?}"));
                    }
                }
            }
        }
    }
    (entries.len(), failures)
}

fn run_all(name: &str, minimum: usize) {
    let mut total = 0;
    let mut failures = Vec::new();
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
        let (n, f) = run_file(dialect, name);
        println!("{dialect}/{name}: {n} entries");
        total += n;
        failures.extend(f);
    }
    assert!(failures.is_empty(), "{} corpus failures:\n{}", failures.len(), failures.join("\n"));
    assert!(total >= minimum, "only {total} entries in {name} files; at least {minimum} expected");
}

#[test]
fn attacks_are_refused_with_their_codes() {
    run_all("reject.sql", 150);
}

#[test]
fn tricky_legal_queries_are_accepted_verbatim() {
    run_all("accept.sql", 100);
}
