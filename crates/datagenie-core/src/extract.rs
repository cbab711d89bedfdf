//! Finding the SQL in an LLM's reply.
//!
//! [`extract_sql`] returns *text*: it never parses, fixes or filters SQL — the guard decides what the text is. Two
//! invariants follow from that:
//! - it never drops a statement: `SELECT 1; DROP TABLE x` comes back whole, so the guard refuses it;
//! - it only cuts what is clearly not SQL: reasoning (`<think>…</think>`), prose around the query, markdown fences.
//!
//! Where the SQL is looked for, in order (the first place that holds any wins):
//! 1. `<sql>…</sql>` tags (the last one);
//! 2. fenced blocks (```` ``` ```` or `~~~`): the last block of the best kind — a block labelled `sql` (or a dialect
//!    name) beats an unlabelled block that starts like SQL, which beats a block with another label that starts like
//!    SQL (a block labelled `python` holding a query string does not start like SQL and is ignored);
//! 3. the text outside fences: the last run of lines that starts like SQL (an upper- or lower-case statement keyword
//!    at the start of a line, after a `SQL:`-style label, or after `: ` in a sentence) and continues until a line that
//!    is clearly prose, or a blank line not followed by more SQL;
//! 4. inline code spans (`` `SELECT …` ``).
//!
//! In every candidate, a `;` followed by prose ends the SQL (the prose is cut); a `;` followed by another statement
//! keeps both.

use crate::hangul::is_hangul;

/// Languages in a fence's info string that mean "this is SQL".
const SQL_LANGS: &[&str] = &[
    "sql",
    "sqlite",
    "sqlite3",
    "postgresql",
    "postgres",
    "pgsql",
    "psql",
    "plpgsql",
    "mysql",
    "mariadb",
    "tsql",
    "plsql",
    "ansi-sql",
];

/// Keywords that start a statement. The list is deliberately wider than what the guard accepts: a reply holding
/// `DELETE …` must reach the guard (and be refused), not vanish as "no SQL".
const STATEMENT_KEYWORDS: &[&str] = &[
    "select",
    "with",
    "values",
    "table",
    "insert",
    "update",
    "delete",
    "merge",
    "upsert",
    "replace",
    "drop",
    "create",
    "alter",
    "truncate",
    "rename",
    "grant",
    "revoke",
    "attach",
    "detach",
    "pragma",
    "explain",
    "describe",
    "desc",
    "show",
    "set",
    "reset",
    "use",
    "call",
    "exec",
    "execute",
    "copy",
    "load",
    "vacuum",
    "analyze",
    "analyse",
    "reindex",
    "cluster",
    "comment",
    "begin",
    "start",
    "commit",
    "rollback",
    "savepoint",
    "release",
    "lock",
    "unlock",
    "handler",
    "kill",
    "flush",
    "optimize",
    "prepare",
    "deallocate",
    "declare",
    "listen",
    "notify",
    "refresh",
    "import",
    "install",
    "shutdown",
];

/// Keywords that may start a continuation line of a statement (besides the statement keywords).
const CLAUSE_KEYWORDS: &[&str] = &[
    "from",
    "where",
    "join",
    "left",
    "right",
    "inner",
    "outer",
    "full",
    "cross",
    "natural",
    "on",
    "using",
    "and",
    "or",
    "not",
    "group",
    "order",
    "having",
    "limit",
    "offset",
    "fetch",
    "union",
    "intersect",
    "except",
    "case",
    "when",
    "then",
    "else",
    "end",
    "as",
    "window",
    "partition",
    "over",
    "lateral",
    "returning",
    "into",
    "is",
    "in",
    "between",
    "like",
    "ilike",
    "distinct",
    "asc",
    "filter",
    "qualify",
    "recursive",
    "all",
    "any",
    "exists",
    "null",
];

/// Words that, right after a lower-case statement keyword, show a sentence rather than SQL ("select the rows…").
const ENGLISH_AFTER_KEYWORD: &[&str] = &[
    "the", "a", "an", "this", "that", "these", "those", "it", "its", "your", "my", "our", "their", "which", "what",
    "some", "each", "every", "to", "me", "us", "them", "you", "of", "for", "is", "are", "was", "will", "can", "should",
];

/// Labels that may precede the SQL on the same line (`SQL: SELECT …`), compared case-insensitively.
const LABELS: &[&str] = &["sql query", "sql", "query", "final answer", "answer", "sql 쿼리", "쿼리", "정답", "답"];

/// The SQL in an LLM reply, or `None` when the reply holds none. See the module documentation for where it looks.
/// The result is trimmed and never empty.
pub fn extract_sql(reply: &str) -> Option<String> {
    let text = strip_reasoning(&reply.replace("\r\n", "\n"));
    let (tags, rest) = split_sql_tags(&text);
    if let Some(sql) = tags.iter().rev().find_map(|t| tag_content_sql(t)) {
        return Some(sql);
    }
    let (blocks, outside) = split_fences(&rest);
    best_block(&blocks).or_else(|| bare_sql(&outside)).or_else(|| inline_code_sql(&outside))
}

/// The reply without reasoning: `<think>…</think>` and `<thinking>…</thinking>` blocks are removed, an unclosed
/// opening tag removes everything after it, and a closing tag with no opening tag (some APIs drop the opening one)
/// removes everything before it.
pub(crate) fn strip_reasoning(reply: &str) -> String {
    let mut text = reply.to_string();
    for (open, close) in [("<think>", "</think>"), ("<thinking>", "</thinking>")] {
        text = strip_tag_blocks(&text, open, close);
    }
    text
}

fn strip_tag_blocks(text: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        let open_at = lower.find(open);
        let close_at = lower.find(close);
        match (open_at, close_at) {
            (Some(o), Some(c)) if o < c => {
                out.push_str(&rest[..o]);
                rest = &rest[c + close.len()..];
            }
            // A closing tag before any opening tag: everything before it was reasoning.
            (_, Some(c)) => rest = &rest[c + close.len()..],
            (Some(o), None) => {
                out.push_str(&rest[..o]);
                return out;
            }
            (None, None) => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// Splits out the contents of `<sql>…</sql>` tags (an unclosed tag runs to the end); returns them and the text
/// outside them.
fn split_sql_tags(text: &str) -> (Vec<String>, String) {
    let mut tags = Vec::new();
    let mut outside = String::new();
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(open) = lower.find("<sql>") else {
            outside.push_str(rest);
            return (tags, outside);
        };
        outside.push_str(&rest[..open]);
        let body = &rest[open + "<sql>".len()..];
        match body.to_ascii_lowercase().find("</sql>") {
            Some(close) => {
                tags.push(body[..close].to_string());
                rest = &body[close + "</sql>".len()..];
            }
            None => {
                tags.push(body.to_string());
                return (tags, outside);
            }
        }
    }
}

/// The SQL inside one `<sql>` tag, which may itself wrap a fence.
fn tag_content_sql(content: &str) -> Option<String> {
    let (blocks, outside) = split_fences(content);
    if let Some(sql) = best_block(&blocks) {
        return Some(sql);
    }
    if !outside.trim().is_empty() && starts_like_sql(outside.trim(), Strictness::AnyCase) {
        return finish(outside.trim());
    }
    None
}

/// A fenced block: its language (lower-cased first word of the info string, possibly empty) and its content.
#[derive(Debug)]
struct Block {
    lang: String,
    content: String,
}

/// Splits `text` into fenced blocks and the text outside them. Fences are found anywhere (also mid-line and on one
/// line, as LLMs write them); a fence closes at the next run of at least as many of the same character; an unclosed
/// fence (a truncated reply) runs to the end.
fn split_fences(text: &str) -> (Vec<Block>, String) {
    let mut blocks = Vec::new();
    let mut outside = String::new();
    let mut pos = 0;
    while let Some((start, ch, len)) = next_fence(text, pos) {
        outside.push_str(&text[pos..start]);
        outside.push('\n');
        let after = start + len;
        let line_end = text[after..].find('\n').map_or(text.len(), |i| after + i);
        let info = &text[after..line_end];
        let (lang, content_start) = match info.split_whitespace().next() {
            Some(word) if !is_statement_keyword(word) => {
                let lang = word.trim_start_matches(['{', '.']).trim_end_matches('}').to_ascii_lowercase();
                // A one-line fence: "```sql SELECT 1```".
                let word_end = after + info.find(word).unwrap_or(0) + word.len();
                if text[word_end..line_end].contains(&fence_str(ch, len)) { (lang, word_end) } else { (lang, line_end) }
            }
            // No info string, or the content starts on the fence line ("```SELECT 1```").
            _ => (String::new(), after),
        };
        match find_closing_fence(text, content_start, ch, len) {
            Some((close, close_len)) => {
                blocks.push(Block { lang, content: text[content_start..close].to_string() });
                pos = close + close_len;
            }
            None => {
                blocks.push(Block { lang, content: text[content_start..].to_string() });
                pos = text.len();
            }
        }
    }
    outside.push_str(&text[pos..]);
    (blocks, outside)
}

fn fence_str(ch: char, len: usize) -> String {
    std::iter::repeat_n(ch, len).collect()
}

/// The next run of three or more backticks or tildes at or after `from`: (byte offset, character, run length).
fn next_fence(text: &str, from: usize) -> Option<(usize, char, usize)> {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'`' || b == b'~' {
            let run = bytes[i..].iter().take_while(|&&c| c == b).count();
            if run >= 3 {
                return Some((i, b as char, run));
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}

/// The closing fence for an opening run of `len` `ch` characters: the next run of at least `len` of them.
fn find_closing_fence(text: &str, from: usize, ch: char, len: usize) -> Option<(usize, usize)> {
    let mut pos = from;
    while let Some((at, c, run)) = next_fence(text, pos) {
        if c == ch && run >= len {
            return Some((at, run));
        }
        pos = at + run;
    }
    None
}

/// How good a fenced block is as the answer; `None` when it holds no SQL.
fn block_rank(block: &Block) -> Option<u8> {
    let content = block.content.trim();
    if strip_leading_comments(content).is_empty() {
        return None;
    }
    if SQL_LANGS.contains(&block.lang.as_str()) {
        Some(3)
    } else if !starts_like_sql(content, Strictness::AnyCase) {
        None
    } else if block.lang.is_empty() {
        Some(2)
    } else {
        Some(1)
    }
}

/// The last block of the best rank, finished (trailing prose cut).
fn best_block(blocks: &[Block]) -> Option<String> {
    let mut best: Option<(u8, &Block)> = None;
    for block in blocks {
        if let Some(rank) = block_rank(block)
            && best.is_none_or(|(r, _)| rank >= r)
        {
            best = Some((rank, block));
        }
    }
    best.and_then(|(_, b)| finish(b.content.trim()))
}

/// How sure a keyword at a start position must look before it counts as SQL.
#[derive(Clone, Copy, PartialEq)]
enum Strictness {
    /// Inside a fence or tag: any case counts.
    AnyCase,
    /// In free text: `SELECT` or `select` (not a sentence's `Select`), and a lower-case keyword must not be followed
    /// by an English word such as "the".
    Prose,
    /// Mid-sentence, after `: `: only an upper-case keyword counts.
    Upper,
}

/// True when `text` (trimmed at the start, leading comments skipped) begins with a statement keyword.
fn starts_like_sql(text: &str, strictness: Strictness) -> bool {
    let text = strip_leading_comments(text);
    let word: String = text.chars().take_while(|c| c.is_ascii_alphabetic() || *c == '_').collect();
    if word.is_empty() || !is_statement_keyword(&word) {
        return false;
    }
    let after = &text[word.len()..];
    // The keyword must end there: "selection" is not "select".
    if !after.is_empty() && !after.starts_with(|c: char| c.is_whitespace() || matches!(c, '(' | '*' | ';')) {
        return false;
    }
    let upper = word.chars().all(|c| !c.is_ascii_lowercase());
    let lower = word.chars().all(|c| !c.is_ascii_uppercase());
    match strictness {
        Strictness::AnyCase => true,
        Strictness::Upper => upper && !after.trim().is_empty(),
        Strictness::Prose if upper => true,
        Strictness::Prose if lower => {
            let next = after.split_whitespace().next().unwrap_or("");
            let next = next.trim_end_matches([',', '.', ':']).to_ascii_lowercase();
            !next.is_empty() && !ENGLISH_AFTER_KEYWORD.contains(&next.as_str())
        }
        Strictness::Prose => false,
    }
}

fn is_statement_keyword(word: &str) -> bool {
    STATEMENT_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

fn is_clause_keyword(word: &str) -> bool {
    CLAUSE_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// `text` without leading whitespace, `--` line comments, `#` line comments and `/* */` block comments.
fn strip_leading_comments(text: &str) -> &str {
    let mut t = text.trim_start();
    loop {
        if let Some(rest) = t.strip_prefix("--").or_else(|| t.strip_prefix('#')) {
            t = rest.find('\n').map_or("", |i| &rest[i + 1..]).trim_start();
        } else if let Some(rest) = t.strip_prefix("/*") {
            t = rest.find("*/").map_or("", |i| &rest[i + 2..]).trim_start();
        } else {
            return t;
        }
    }
}

/// The last run of SQL lines in free text (outside fences and tags).
fn bare_sql(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut last = None;
    let mut i = 0;
    while i < lines.len() {
        let Some(col) = sql_start_in_line(lines[i]) else {
            i += 1;
            continue;
        };
        let mut segment = vec![&lines[i][col..]];
        let mut j = i + 1;
        while j < lines.len() {
            let line = lines[j];
            if line.trim().is_empty() {
                // A blank line ends the SQL unless the next non-blank line continues it.
                match (j..lines.len()).find(|&k| !lines[k].trim().is_empty()) {
                    Some(k) if continues_sql(lines[k]) => {
                        segment.extend_from_slice(&lines[j..k]);
                        j = k;
                    }
                    _ => break,
                }
            } else if is_prose_line(line) {
                break;
            } else {
                segment.push(line);
                j += 1;
            }
        }
        last = finish(segment.join("\n").trim()).or(last);
        i = j;
    }
    last
}

/// Where SQL starts in a free-text line: at its start, after a label such as `SQL:`, or after `: ` mid-sentence
/// (upper-case keywords only there).
fn sql_start_in_line(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    if starts_like_sql(trimmed, Strictness::Prose) && !trimmed.starts_with(['-', '#', '/']) {
        return Some(indent);
    }
    if let Some(after_label) = strip_label(trimmed) {
        let offset = line.len() - after_label.len();
        let rest = after_label.trim_start();
        if starts_like_sql(rest, Strictness::AnyCase) && !rest.starts_with(['-', '#', '/']) {
            return Some(offset + (after_label.len() - rest.len()));
        }
    }
    let mut search = 0;
    while let Some(i) = line[search..].find(": ").map(|i| search + i) {
        let rest = &line[i + 2..];
        let rest_trim = rest.trim_start();
        if starts_like_sql(rest_trim, Strictness::Upper) {
            return Some(line.len() - rest_trim.len());
        }
        search = i + 2;
    }
    None
}

/// The rest of the line after a leading label such as `SQL:`, `**Query:**` or `쿼리:`; `None` when there is none.
fn strip_label(line: &str) -> Option<&str> {
    let t = line.trim_start_matches(['*', '#', ' ', '>']);
    LABELS.iter().find_map(|label| {
        if !t.get(..label.len())?.eq_ignore_ascii_case(label) {
            return None;
        }
        let rest = t[label.len()..].trim_start_matches('*').trim_start();
        let rest = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：'))?;
        Some(rest.trim_start_matches('*'))
    })
}

/// True when a line after a blank line continues the statement: a keyword, a comment or SQL punctuation.
fn continues_sql(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("--") || t.starts_with("/*") || t.starts_with([')', '(', ',', ';']) {
        return true;
    }
    if starts_like_sql(t, Strictness::Prose) {
        return true;
    }
    let word: String = t.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let same_case = word.chars().all(|c| c.is_ascii_uppercase()) || word.chars().all(|c| c.is_ascii_lowercase());
    !word.is_empty() && same_case && is_clause_keyword(&word)
}

/// True for a line inside a run of SQL that is clearly prose: a markdown heading, list item or emphasis, an
/// English sentence ("This query …", "Note: …"), or a Korean sentence.
fn is_prose_line(line: &str) -> bool {
    let t = line.trim();
    if t.starts_with("--") || t.starts_with("/*") {
        return false;
    }
    if t.starts_with("**") || t.starts_with("> ") || t.starts_with("## ") || t.starts_with("- ") {
        return true;
    }
    if is_numbered_item(t) {
        return true;
    }
    let first = t.chars().next().unwrap_or(' ');
    if is_hangul(first) {
        return is_korean_sentence(t);
    }
    is_english_sentence(t)
}

fn is_numbered_item(t: &str) -> bool {
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && {
        let rest = &t[digits..];
        (rest.starts_with(". ") || rest.starts_with(") ")) && rest[2..].starts_with(|c: char| c.is_alphabetic())
    }
}

/// A line starting with Hangul that reads as a sentence rather than a continuation such as `고객명,`.
fn is_korean_sentence(t: &str) -> bool {
    let ends_sentence = t.ends_with(['.', '!', '?', ':', '다', '요', '。']);
    let words = t.split_whitespace().count();
    let has_sql_punct = t.contains([',', '(', ')', '=', '<', '>', '\'', '"']);
    ends_sentence || (words >= 3 && !has_sql_punct)
}

/// A line that starts like an English sentence: a capitalised word that is not a SQL keyword, followed by a
/// lower-case word or ending the line with sentence punctuation.
fn is_english_sentence(t: &str) -> bool {
    let mut words = t.split_whitespace();
    let Some(first) = words.next() else { return false };
    let first_clean = first.trim_end_matches([',', ':', '.']);
    if first_clean == "I" {
        return true;
    }
    let mut chars = first_clean.chars();
    let capitalised = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && first_clean.len() >= 2
        && chars.all(|c| c.is_ascii_lowercase());
    if !capitalised || is_statement_keyword(first_clean) || is_clause_keyword(first_clean) {
        return false;
    }
    if first.ends_with(':') {
        return true;
    }
    let second_lower = words.next().is_some_and(|w| w.chars().next().is_some_and(|c| c.is_ascii_lowercase()));
    second_lower || t.ends_with(['.', ':'])
}

/// The last inline code span (`` `…` ``) that starts like SQL.
fn inline_code_sql(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split('`').collect();
    // Odd-indexed parts are inside backticks (when balanced).
    parts
        .iter()
        .enumerate()
        .skip(1)
        .step_by(2)
        .filter(|(i, _)| *i < parts.len() - 1)
        .rev()
        .find(|(_, p)| starts_like_sql(p.trim(), Strictness::AnyCase) && p.trim().contains(char::is_whitespace))
        .and_then(|(_, p)| finish(p.trim()))
}

/// The candidate with prose after a statement-ending `;` cut off; `None` when nothing is left.
fn finish(candidate: &str) -> Option<String> {
    let cut = cut_prose_after_semicolon(candidate).trim();
    (!cut.is_empty()).then(|| cut.to_string())
}

/// Scans `sql` (aware of quotes and comments) for `;` outside them. After each, when the rest does not start
/// another statement (comments skipped), the rest is prose and is cut. Another statement is kept, whatever its case.
fn cut_prose_after_semicolon(sql: &str) -> &str {
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"' | b'`') => i = skip_quoted(bytes, i, q),
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map_or(bytes.len(), |j| i + 2 + j + 2);
            }
            b';' => {
                let rest = strip_leading_comments(&sql[i + 1..]);
                if rest.is_empty() {
                    return sql;
                }
                if !starts_like_sql(rest, Strictness::AnyCase) {
                    return &sql[..=i];
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    sql
}

/// The index just past the quoted run starting at `start` (doubled quotes and backslash escapes stay inside).
fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == b'\\' && quote != b'`' {
            i += 2;
        } else if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

fn skip_line(bytes: &[u8], start: usize) -> usize {
    bytes[start..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| start + p + 1)
}

#[cfg(test)]
mod tests {
    use super::extract_sql;

    /// (name, reply, expected SQL)
    const CASES: &[(&str, &str, Option<&str>)] = &[
        ("sql fence", "```sql\nSELECT * FROM users\n```", Some("SELECT * FROM users")),
        ("upper-case fence label", "```SQL\nSELECT 1\n```", Some("SELECT 1")),
        ("dialect fence label", "```postgresql\nSELECT now()\n```", Some("SELECT now()")),
        ("fence without language", "```\nSELECT id FROM t\n```", Some("SELECT id FROM t")),
        ("tilde fence", "~~~sql\nSELECT a FROM b\n~~~", Some("SELECT a FROM b")),
        ("tilde fence without language", "~~~\nselect a from b\n~~~", Some("select a from b")),
        (
            "prose around a fence",
            "Here is the query:\n\n```sql\nSELECT name\nFROM customers\nWHERE city = 'Seoul';\n```\n\nThis lists the customers in Seoul.",
            Some("SELECT name\nFROM customers\nWHERE city = 'Seoul';"),
        ),
        (
            "Korean prose around a fence",
            "다음은 고객별 주문 수를 구하는 쿼리입니다:\n```sql\nSELECT c.name, COUNT(o.id) AS order_count\nFROM customers c JOIN orders o ON o.customer_id = c.id\nGROUP BY c.name\n```\n이 쿼리는 고객마다 주문 수를 셉니다.",
            Some(
                "SELECT c.name, COUNT(o.id) AS order_count\nFROM customers c JOIN orders o ON o.customer_id = c.id\nGROUP BY c.name",
            ),
        ),
        (
            "last of several sql blocks",
            "First attempt:\n```sql\nSELECT 1\n```\nBetter:\n```sql\nSELECT 2\n```",
            Some("SELECT 2"),
        ),
        (
            "sql block beats a later result block",
            "```sql\nSELECT count(*) FROM t\n```\nExpected output:\n```\n| count |\n| 42 |\n```",
            Some("SELECT count(*) FROM t"),
        ),
        (
            "labelled block beats an unlabelled one",
            "```sql\nSELECT a FROM t\n```\n```\nSELECT b FROM t\n```",
            Some("SELECT a FROM t"),
        ),
        ("a python block with a query string is not SQL", "```python\ncur.execute(\"SELECT 1\")\n```", None),
        ("python block, then the sql block", "```python\nimport x\n```\n```sql\nSELECT 3\n```", Some("SELECT 3")),
        (
            "bare SQL reply",
            "SELECT id, name FROM products ORDER BY name",
            Some("SELECT id, name FROM products ORDER BY name"),
        ),
        ("bare lower-case SQL", "select count(*) from orders", Some("select count(*) from orders")),
        ("bare SQL with a trailing semicolon", "  SELECT 1;  \n", Some("SELECT 1;")),
        (
            "SQL after prose",
            "Here is the query:\nSELECT name FROM t WHERE x > 3",
            Some("SELECT name FROM t WHERE x > 3"),
        ),
        ("SQL then a blank line then prose", "SELECT a\nFROM t\n\nThis returns every a.", Some("SELECT a\nFROM t")),
        (
            "SQL then a prose line without a blank line",
            "SELECT a\nFROM t\nThis query returns every a.",
            Some("SELECT a\nFROM t"),
        ),
        (
            "SQL then a Korean prose line",
            "쿼리는 다음과 같습니다.\nSELECT region, SUM(amount) AS revenue\nFROM sales\nGROUP BY region\n이 쿼리는 지역별 매출 합계를 계산합니다.",
            Some("SELECT region, SUM(amount) AS revenue\nFROM sales\nGROUP BY region"),
        ),
        (
            "blank line inside the SQL is kept",
            "WITH x AS (\n  SELECT 1 AS a\n)\n\nSELECT a FROM x",
            Some("WITH x AS (\n  SELECT 1 AS a\n)\n\nSELECT a FROM x"),
        ),
        ("semicolon then prose", "SELECT 1; This returns one.", Some("SELECT 1;")),
        (
            "semicolon then Korean prose",
            "SELECT count(*) FROM 주문; 주문 수를 셉니다.",
            Some("SELECT count(*) FROM 주문;"),
        ),
        ("second statement is kept", "SELECT 1; DROP TABLE x", Some("SELECT 1; DROP TABLE x")),
        (
            "second statement on the next line is kept",
            "SELECT 1;\n\ndelete from users;",
            Some("SELECT 1;\n\ndelete from users;"),
        ),
        (
            "second statement in a fence is kept",
            "```sql\nSELECT 1;\nDROP TABLE users;\n```",
            Some("SELECT 1;\nDROP TABLE users;"),
        ),
        ("semicolon inside a string is not an end", "SELECT 'a; b' AS s", Some("SELECT 'a; b' AS s")),
        ("a write statement is returned for the guard to refuse", "DELETE FROM users", Some("DELETE FROM users")),
        ("sql tags", "<sql>SELECT 5</sql>", Some("SELECT 5")),
        ("sql tags with prose", "The answer is <SQL>\nSELECT x FROM y\n</SQL> as requested.", Some("SELECT x FROM y")),
        ("sql tags wrapping a fence", "<sql>\n```sql\nSELECT 6\n```\n</sql>", Some("SELECT 6")),
        ("SQL: label", "SQL: SELECT name FROM t", Some("SELECT name FROM t")),
        ("bold Query label", "**Query:** SELECT 7", Some("SELECT 7")),
        ("Korean label", "쿼리: SELECT 8", Some("SELECT 8")),
        ("SQL after a colon mid-sentence", "You can run this: SELECT 9 FROM t", Some("SELECT 9 FROM t")),
        (
            "think block is ignored",
            "<think>Maybe SELECT * FROM secrets? No.</think>\n```sql\nSELECT 10\n```",
            Some("SELECT 10"),
        ),
        ("only reasoning holds SQL", "<think>SELECT 1 FROM t</think>\nI cannot answer that.", None),
        ("unclosed think block", "<think>let me think: SELECT 1 FROM t", None),
        ("closing think tag only", "SELECT wrong FROM t</think>\nSELECT right FROM t", Some("SELECT right FROM t")),
        ("no SQL in English", "I'm sorry, the schema has no table about weather.", None),
        ("no SQL in Korean", "죄송합니다. 해당 질문에 답할 수 있는 테이블이 없습니다.", None),
        ("a sentence starting with Select is prose", "Select the rows you need from the table.", None),
        ("lower-case keyword followed by English", "select the best customers from the list", None),
        ("empty reply", "   ", None),
        ("empty sql fence", "```sql\n```", None),
        ("comment-only sql fence", "```sql\n-- cannot be answered\n```", None),
        ("unclosed fence (truncated reply)", "```sql\nSELECT a FROM t", Some("SELECT a FROM t")),
        ("one-line fence", "```sql SELECT 11 ```", Some("SELECT 11")),
        ("one-line fence without language", "```SELECT 12```", Some("SELECT 12")),
        ("CRLF line endings", "```sql\r\nSELECT 13\r\n```\r\n", Some("SELECT 13")),
        ("inline code", "Run `SELECT count(*) FROM t` to get it.", Some("SELECT count(*) FROM t")),
        (
            "comment before the SQL in a fence",
            "```sql\n-- 월별 매출\nSELECT strftime('%Y-%m', d) AS month FROM s\n```",
            Some("-- 월별 매출\nSELECT strftime('%Y-%m', d) AS month FROM s"),
        ),
        (
            "Korean string literal and alias stay",
            "SELECT city AS \"도시\", COUNT(*) FROM customers WHERE city = '서울'\n\n서울 고객 수입니다.",
            Some("SELECT city AS \"도시\", COUNT(*) FROM customers WHERE city = '서울'"),
        ),
        (
            "Korean identifier continuation line",
            "SELECT\n  고객명,\n  주소\nFROM 고객",
            Some("SELECT\n  고객명,\n  주소\nFROM 고객"),
        ),
        ("numbered explanation after the SQL", "SELECT a FROM t\n1. Selects a from t", Some("SELECT a FROM t")),
        ("last bare query wins", "Try:\nSELECT a FROM t\n\nOr better:\nSELECT b FROM t", Some("SELECT b FROM t")),
        ("WITH query", "WITH t AS (SELECT 1) SELECT * FROM t", Some("WITH t AS (SELECT 1) SELECT * FROM t")),
    ];

    #[test]
    fn extraction_table() {
        let mut failures = Vec::new();
        for (name, reply, expected) in CASES {
            let got = extract_sql(reply);
            if got.as_deref() != *expected {
                failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), CASES.len(), failures.join("\n"));
        assert!(CASES.len() >= 30);
    }

    proptest::proptest! {
        /// Any text, heavy in the characters the scanner cares about: no panic, and never an empty result.
        #[test]
        fn never_panics_on_any_reply(reply in "(?s)[`~;:'\"<>/*#\\\\ a-zA-Z0-9가-힣\\n-]{0,80}|(SELECT|select|```sql|<sql>|<think>|</think>|--|; |\\n|가나| )*") {
            if let Some(sql) = extract_sql(&reply) {
                proptest::prop_assert!(!sql.trim().is_empty());
            }
        }
    }

    #[test]
    fn never_returns_empty_and_never_panics_on_odd_input() {
        for reply in ["```", "~~~", "<sql>", "</think>", "<think>", ";", "SELECT", "```sql\n;\n```", "`", ": ", "가"] {
            if let Some(sql) = extract_sql(reply) {
                assert!(!sql.trim().is_empty(), "{reply:?} gave empty SQL");
            }
        }
    }
}
