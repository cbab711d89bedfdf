//! Table and column comments recovered from SQLite `CREATE TABLE` / `CREATE VIEW` text.
//!
//! SQLite has no `COMMENT ON`, but it keeps each CREATE statement verbatim in `sqlite_schema.sql`, comments
//! included (from `CREATE` to the last token: comments before `CREATE` or after the closing parenthesis are gone).
//! People document tables there:
//!
//! ```sql
//! CREATE TABLE regions ( -- 지역(광역시·도) / Regions of Korea
//!     region_id INTEGER PRIMARY KEY, -- 지역 ID / region id
//!     -- 지역명(한국어)
//!     name_ko TEXT NOT NULL UNIQUE,
//!     area_en TEXT NOT NULL /* 권역(영어) */
//! )
//! ```
//!
//! [`ddl_comments`] reads such text with sqlparser's tokenizer, not by pattern matching (so `--` inside a string
//! literal or a quoted name is not a comment), and assigns each comment by where it sits:
//! - **table**: comments between `CREATE` and the opening parenthesis, on the opening parenthesis's line, and on
//!   their own lines before the first column definition (unless they are the first column's "above" comment);
//! - **column, same line**: comments inside a column definition, on the line where it starts (before it), or on the
//!   line of its trailing comma (after it) — for the last column, on the line of its last token. A comment after
//!   several definitions ending on one line goes to the first of them (that is where `ALTER TABLE … ADD COLUMN`
//!   leaves it: SQLite inserts the new definition right after the last one, before that one's comment);
//! - **continuation**: comments on their own lines right below a same-line comment (of the table or of a column),
//!   each starting in the same column as it, continue it — a long comment wrapped onto aligned lines;
//! - **column, above**: a block of comments on their own lines directly above a column definition (no blank line in
//!   between) belongs to that column only when the column has no same-line comment;
//! - **view** (and `CREATE TABLE … AS SELECT`), best effort: comments on the first line before `AS`, and those
//!   right after `AS`.
//!
//! Everything else (comments around table constraints, stray comments between columns) is dropped. Table
//! constraints (`PRIMARY KEY (…)`, `FOREIGN KEY`, `UNIQUE`, `CHECK`, `CONSTRAINT`) are never columns; parentheses
//! nested in a definition (`CHECK (a IN ('x', 'y'))`, `DECIMAL(10,2)`) do not end it.
//!
//! Invariants of the result: every comment text is non-empty, trimmed, has its whitespace (and control characters)
//! collapsed to single spaces and holds at most [`MAX_COMMENT_CHARS`] characters (a cut text ends with `…`); column
//! names are bare (quotes `"x"`, `[x]`, `` `x` ``, `'x'` removed, doubled quotes undone) and listed in definition
//! order. Text the tokenizer rejects, or that is not a CREATE TABLE / VIEW, gives an empty result — never a panic.

use sqlparser::dialect::SQLiteDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

/// The most characters a comment keeps; a longer one is cut on a character boundary and ends with `…`.
pub const MAX_COMMENT_CHARS: usize = 300;

/// Comments found in one CREATE statement. See the module documentation for the rules and invariants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DdlComments {
    /// The table's (or view's) comment.
    pub table: Option<String>,
    /// `(bare column name, comment)` for each commented column, in definition order.
    pub columns: Vec<(String, String)>,
}

impl DdlComments {
    /// The comment of column `name`, matched ASCII-case-insensitively as SQLite matches identifiers; the first
    /// match wins.
    pub fn column(&self, name: &str) -> Option<&str> {
        self.columns.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, c)| c.as_str())
    }

    /// True when neither the table nor any column has a comment.
    pub fn is_empty(&self) -> bool {
        self.table.is_none() && self.columns.is_empty()
    }
}

/// Table and column comments of one `CREATE TABLE` or `CREATE VIEW` statement (as stored in `sqlite_schema.sql`).
/// Never panics; anything it cannot read gives an empty result.
pub fn ddl_comments(create_sql: &str) -> DdlComments {
    // A shortcut, not a parse: in SQLite's syntax every comment starts with `--` or `/*`, so a text holding neither
    // has no comment token and need not be tokenized (most schemas; it keeps introspection cost flat for them).
    if !create_sql.contains("--") && !create_sql.contains("/*") {
        return DdlComments::default();
    }
    tokenized(create_sql)
}

/// [`ddl_comments`] without the shortcut.
fn tokenized(create_sql: &str) -> DdlComments {
    let Ok(tokens) = Tokenizer::new(&SQLiteDialect {}, create_sql).tokenize_with_location() else {
        return DdlComments::default();
    };
    let sigs: Vec<Sig<'_>> = tokens.iter().filter_map(Sig::of).collect();
    let Some(header) = Header::read(&sigs) else {
        return DdlComments::default();
    };
    match header.body {
        Body::ColumnList(open) => table_comments(&sigs, header.create_at, open),
        Body::AsQuery(as_at) => query_comments(&sigs, header.create_at, as_at),
        Body::Neither => DdlComments::default(),
    }
}

/// A comment's raw text (delimiters removed), the lines it starts and ends on and the column it starts at.
#[derive(Clone, Copy)]
struct Note<'a> {
    text: &'a str,
    first: u64,
    last: u64,
    column: u64,
}

/// A token that matters here: a comment, or anything but spaces, tabs and newlines (lines come from the spans).
enum Sig<'a> {
    Note(Note<'a>),
    Tok { tok: &'a Token, line: u64 },
}

impl<'a> Sig<'a> {
    fn of(t: &'a TokenWithSpan) -> Option<Self> {
        let (first, column) = (t.span.start.line, t.span.start.column);
        match &t.token {
            Token::Whitespace(Whitespace::SingleLineComment { comment, .. }) => {
                Some(Sig::Note(Note { text: comment, first, last: first, column }))
            }
            Token::Whitespace(Whitespace::MultiLineComment(text)) => {
                Some(Sig::Note(Note { text, first, last: t.span.end.line.max(first), column }))
            }
            Token::Whitespace(_) | Token::EOF => None,
            tok => Some(Sig::Tok { tok, line: first }),
        }
    }
}

/// What follows `CREATE [TEMP] [VIRTUAL] TABLE|VIEW name`.
enum Body {
    /// Index (in the significant tokens) of the parenthesis opening the column list.
    ColumnList(usize),
    /// Index of the `AS` that starts the query of a view or of `CREATE TABLE … AS SELECT`.
    AsQuery(usize),
    Neither,
}

struct Header {
    /// Index of the `CREATE` token.
    create_at: usize,
    body: Body,
}

impl Header {
    /// Reads `CREATE [TEMP|TEMPORARY] [VIRTUAL] TABLE|VIEW` and finds the body: for a table, the first `(` or `AS`
    /// at depth 0 after the keyword; for a view, the first `AS` at depth 0 (after an optional column list).
    fn read(sigs: &[Sig<'_>]) -> Option<Header> {
        let mut toks = sigs.iter().enumerate().filter_map(|(i, s)| match s {
            Sig::Tok { tok, .. } => Some((i, *tok)),
            Sig::Note(_) => None,
        });
        let (create_at, _) = toks.next().filter(|(_, t)| is_keyword(t, Keyword::CREATE))?;
        let is_view = loop {
            let (_, tok) = toks.next()?;
            if is_keyword(tok, Keyword::TABLE) {
                break false;
            }
            if is_keyword(tok, Keyword::VIEW) {
                break true;
            }
            if ![Keyword::TEMP, Keyword::TEMPORARY, Keyword::VIRTUAL].iter().any(|&k| is_keyword(tok, k)) {
                return None;
            }
        };
        let mut depth = 0usize;
        for (i, tok) in toks {
            match tok {
                Token::LParen if depth == 0 && !is_view => {
                    return Some(Header { create_at, body: Body::ColumnList(i) });
                }
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                t if depth == 0 && is_keyword(t, Keyword::AS) => {
                    return Some(Header { create_at, body: Body::AsQuery(i) });
                }
                _ => {}
            }
        }
        Some(Header { create_at, body: Body::Neither })
    }
}

fn is_keyword(tok: &Token, keyword: Keyword) -> bool {
    matches!(tok, Token::Word(w) if w.quote_style.is_none() && w.keyword == keyword)
}

fn sig_line(sig: &Sig<'_>) -> u64 {
    match sig {
        Sig::Note(n) => n.first,
        Sig::Tok { line, .. } => *line,
    }
}

/// Comments of a view or `CREATE TABLE … AS SELECT`: those before `AS` on the statement's first line, and the run
/// of comments right after `AS`.
fn query_comments(sigs: &[Sig<'_>], create_at: usize, as_at: usize) -> DdlComments {
    let first_line = sigs.get(create_at).map_or(0, sig_line);
    let before = sigs.get(create_at..as_at).unwrap_or_default().iter().filter_map(|s| match s {
        Sig::Note(n) if n.first == first_line => Some(n.text),
        _ => None,
    });
    let after = sigs.get(as_at + 1..).unwrap_or_default().iter().map_while(|s| match s {
        Sig::Note(n) => Some(n.text),
        Sig::Tok { .. } => None,
    });
    let parts: Vec<&str> = before.chain(after).collect();
    DdlComments { table: render(&parts), columns: Vec::new() }
}

/// One element of the column list: a column definition or a table constraint.
struct Item<'a> {
    /// The bare column name; `None` for a table constraint or anything that does not start with a name.
    name: Option<String>,
    /// Line of its first token.
    first: u64,
    /// Line of its last token so far (its trailing comma included).
    last: u64,
    /// Comments after its first token, in order; the first `settled` of them come before its last token.
    inside: Vec<Note<'a>>,
    settled: usize,
}

impl<'a> Item<'a> {
    fn start(tok: &Token, line: u64) -> Self {
        Item { name: column_name(tok), first: line, last: line, inside: Vec::new(), settled: 0 }
    }
}

/// The name a column definition starts with, or `None` for a table constraint (or an element that is neither).
fn column_name(tok: &Token) -> Option<String> {
    const CONSTRAINTS: [Keyword; 5] =
        [Keyword::CONSTRAINT, Keyword::PRIMARY, Keyword::FOREIGN, Keyword::UNIQUE, Keyword::CHECK];
    match tok {
        Token::Word(w) if w.quote_style.is_none() && CONSTRAINTS.contains(&w.keyword) => None,
        Token::Word(w) => Some(w.value.clone()),
        // SQLite accepts a string literal as a column name.
        Token::SingleQuotedString(s) => Some(s.clone()),
        _ => None,
    }
}

/// Where a comment goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dest {
    Table,
    /// Inside item `i`, or before it on the line where it starts.
    Same(usize),
    /// On its own line(s) directly above item `i`.
    Above(usize),
    /// After item `i` (and its comma) on the line where it ends: goes to the first column definition ending on
    /// that line — `ALTER TABLE … ADD COLUMN` inserts the new definition right after the last one, before its
    /// comment.
    After(usize),
    Drop,
}

/// Comments of a `CREATE TABLE` with a column list opening at `sigs[open]`.
fn table_comments(sigs: &[Sig<'_>], create_at: usize, open: usize) -> DdlComments {
    let open_line = sigs.get(open).map_or(0, sig_line);
    let mut notes: Vec<(Dest, Note<'_>)> = sigs
        .get(create_at..open)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| match s {
            Sig::Note(n) => Some((Dest::Table, *n)),
            Sig::Tok { .. } => None,
        })
        .collect();
    let (items, mut gaps) = split_items(sigs.get(open + 1..).unwrap_or_default());
    // Gap `i` precedes item `i`; the last one (`i == items.len()`) precedes the closing parenthesis.
    for i in 0..=items.len() {
        let prev_line = if i == 0 { open_line } else { items[i - 1].last };
        let gap = gaps.get_mut(i).map(std::mem::take).unwrap_or_default();
        let next = items.get(i);
        place_gap(&mut notes, gap, i, prev_line, next.map(|item| item.first));
        notes.extend(next.into_iter().flat_map(|item| item.inside.iter().map(|n| (Dest::Same(i), *n))));
    }
    assign(&items, notes)
}

/// Splits the tokens after the opening parenthesis into items (at commas of depth 1, up to the closing
/// parenthesis) and the comments between them: `gaps[i]` precedes item `i`; the last gap follows the last item.
/// Always returns `items.len() + 1` gaps.
fn split_items<'a>(sigs: &[Sig<'a>]) -> (Vec<Item<'a>>, Vec<Vec<Note<'a>>>) {
    let mut items = Vec::new();
    let mut gaps = vec![Vec::new()];
    let mut current: Option<Item<'a>> = None;
    let mut depth = 1usize;
    for sig in sigs {
        let (tok, line) = match sig {
            Sig::Note(n) => {
                match current.as_mut() {
                    Some(item) => item.inside.push(*n),
                    None => gaps.last_mut().into_iter().for_each(|g| g.push(*n)),
                }
                continue;
            }
            Sig::Tok { tok, line } => (*tok, *line),
        };
        match tok {
            Token::LParen => depth += 1,
            Token::RParen if depth == 1 => break,
            Token::RParen => depth -= 1,
            _ => {}
        }
        let item = current.get_or_insert_with(|| Item::start(tok, line));
        item.last = line;
        item.settled = item.inside.len();
        if depth == 1 && *tok == Token::Comma {
            items.extend(current.take());
            gaps.push(Vec::new());
        }
    }
    if let Some(mut item) = current {
        // Comments after the last item's last token form the gap before the closing parenthesis.
        let tail = item.inside.split_off(item.settled);
        items.push(item);
        gaps.push(tail);
    }
    (items, gaps)
}

/// Classifies the comments of the gap before item `i`: `prev_line` is the line of the previous item's last token
/// (its comma) or, for `i == 0`, of the opening parenthesis; `next_line` the line item `i` starts on, `None` for the
/// gap before the closing parenthesis.
fn place_gap<'a>(
    out: &mut Vec<(Dest, Note<'a>)>,
    gap: Vec<Note<'a>>,
    i: usize,
    prev_line: u64,
    next_line: Option<u64>,
) {
    let mut dests: Vec<Dest> = gap
        .iter()
        .map(|n| {
            if i == 0 && n.first == prev_line {
                Dest::Table
            } else if next_line == Some(n.last) {
                Dest::Same(i)
            } else if i > 0 && n.first == prev_line {
                Dest::After(i - 1)
            } else {
                Dest::Drop
            }
        })
        .collect();
    continue_trailing(&gap, &mut dests);
    if let Some(next_line) = next_line {
        mark_above(&gap, &mut dests, i, next_line);
    }
    for (dest, note) in dests.into_iter().zip(gap) {
        // Own-line comments before the first item that are not its "above" block document the table.
        let dest = if i == 0 && dest == Dest::Drop { Dest::Table } else { dest };
        out.push((dest, note));
    }
}

/// Own-line comments on the lines right below a trailing comment (of the table's opening line or of a column), each
/// starting in the same column as it, continue it: a long comment wrapped onto aligned lines.
fn continue_trailing(gap: &[Note<'_>], dests: &mut [Dest]) {
    let Some(k) = dests.iter().rposition(|d| matches!(d, Dest::Table | Dest::After(_))) else {
        return;
    };
    let (column, mut last) = (gap[k].column, gap[k].last);
    for j in k + 1..gap.len() {
        if dests[j] != Dest::Drop || gap[j].first != last.saturating_add(1) || gap[j].column != column {
            break;
        }
        dests[j] = dests[k];
        last = gap[j].last;
    }
}

/// Marks the block of own-line comments that ends on the line right above item `i` (starting on `next_line`), with
/// no blank line inside, as its "above" comment.
fn mark_above(gap: &[Note<'_>], dests: &mut [Dest], i: usize, next_line: u64) {
    let mut above_from = next_line;
    for k in (0..gap.len()).rev() {
        if dests[k] != Dest::Drop {
            continue;
        }
        if gap[k].last.saturating_add(1) < above_from {
            break;
        }
        dests[k] = Dest::Above(i);
        above_from = above_from.min(gap[k].first);
    }
}

/// Turns classified comments (in source order) into the result: an "above" block goes to its column when the column
/// has no same-line comment; otherwise, before the first item, it documents the table.
fn assign(items: &[Item<'_>], notes: Vec<(Dest, Note<'_>)>) -> DdlComments {
    let mut table: Vec<&str> = Vec::new();
    let mut same: Vec<Vec<&str>> = vec![Vec::new(); items.len()];
    let mut above: Vec<Vec<&str>> = vec![Vec::new(); items.len()];
    for (dest, note) in notes {
        match dest {
            Dest::Table => table.push(note.text),
            Dest::Same(i) => same.get_mut(i).into_iter().for_each(|v| v.push(note.text)),
            Dest::After(i) => same.get_mut(first_ending_with(items, i)).into_iter().for_each(|v| v.push(note.text)),
            Dest::Above(i) => above.get_mut(i).into_iter().for_each(|v| v.push(note.text)),
            Dest::Drop => {}
        }
    }
    let mut columns = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let uses_above = item.name.is_some() && same[i].is_empty();
        if i == 0 && !uses_above {
            table.append(&mut above[0]);
        }
        let parts = if uses_above { &above[i] } else { &same[i] };
        if let (Some(name), Some(text)) = (&item.name, render(parts)) {
            columns.push((name.clone(), text));
        }
    }
    DdlComments { table: render(&table), columns }
}

/// The first column definition that ends on the line where item `i` ends; `i` itself when none does before it.
fn first_ending_with(items: &[Item<'_>], i: usize) -> usize {
    let Some(line) = items.get(i).map(|item| item.last) else {
        return i;
    };
    let same_line = items[..=i].iter().enumerate().rev().take_while(|(_, item)| item.last == line);
    same_line.filter(|(_, item)| item.name.is_some()).last().map_or(i, |(j, _)| j)
}

/// Joins comment texts into one clean line: per line, Javadoc-style `*` borders trimmed and lines of pure
/// decoration (`-----`, `=====`) dropped; whitespace and control characters collapsed to single spaces; capped at
/// [`MAX_COMMENT_CHARS`]. `None` when nothing is left.
fn render(parts: &[&str]) -> Option<String> {
    // More bytes than this means more characters than the cap: stop reading a huge comment early.
    let byte_budget = MAX_COMMENT_CHARS.saturating_mul(4);
    let mut out = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>().min(byte_budget + 64));
    for line in parts.iter().flat_map(|p| p.lines()) {
        let line = line.trim().trim_matches('*');
        if line.chars().all(|c| c.is_whitespace() || "-=*#~_+/".contains(c)) {
            continue;
        }
        for word in line.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        if out.len() > byte_budget {
            break;
        }
    }
    if out.is_empty() { None } else { Some(cap_chars(out)) }
}

/// `text` cut to at most [`MAX_COMMENT_CHARS`] characters on a character boundary; a cut text ends with `…`.
fn cap_chars(mut text: String) -> String {
    if text.chars().nth(MAX_COMMENT_CHARS).is_none() {
        return text;
    }
    let keep = MAX_COMMENT_CHARS - 1;
    let cut = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    text.truncate(cut);
    text.truncate(text.trim_end().len());
    text.push('…');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected result: table comment and `(column, comment)` pairs.
    type Expected<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)]);

    fn check(what: &str, sql: &str, (table, columns): Expected<'_>) {
        let got = ddl_comments(sql);
        let want = DdlComments {
            table: table.map(str::to_string),
            columns: columns.iter().map(|(n, c)| (n.to_string(), c.to_string())).collect(),
        };
        assert_eq!(got, want, "case '{what}':\n{sql}");
    }

    #[test]
    fn the_documented_example() {
        check(
            "documented example",
            "CREATE TABLE regions ( -- 지역(광역시·도) / Regions of Korea
                region_id INTEGER PRIMARY KEY, -- 지역 ID / region id
                name_ko TEXT NOT NULL UNIQUE, -- 지역명(한국어)
                area_en TEXT NOT NULL -- 권역(영어)
            )",
            (
                Some("지역(광역시·도) / Regions of Korea"),
                &[("region_id", "지역 ID / region id"), ("name_ko", "지역명(한국어)"), ("area_en", "권역(영어)")],
            ),
        );
    }

    #[test]
    fn cases() {
        let cases: &[(&str, &str, Expected<'_>)] = &[
            ("no comments", "CREATE TABLE t (a INT, b TEXT)", (None, &[])),
            ("not a create statement", "SELECT 1 -- x", (None, &[])),
            ("an index is neither table nor view", "CREATE INDEX i ON t(a) -- x", (None, &[])),
            ("empty text", "", (None, &[])),
            ("only a comment", "-- just this", (None, &[])),
            (
                "block comments",
                "CREATE TABLE t ( /* 주문 / orders */\n a INT, /* 금액 */\n b TEXT /* last */\n)",
                (Some("주문 / orders"), &[("a", "금액"), ("b", "last")]),
            ),
            (
                "comment between CREATE and the parenthesis",
                "CREATE TABLE t -- 고객\n(\n a INT -- x\n)",
                (Some("고객"), &[("a", "x")]),
            ),
            (
                "own-line comment before the first column when it has a same-line one",
                "CREATE TABLE t (\n  -- Customers of the shop\n  id INTEGER PRIMARY KEY, -- id\n  name TEXT\n)",
                (Some("Customers of the shop"), &[("id", "id")]),
            ),
            (
                "comments above each column",
                "CREATE TABLE t (\n  -- 주문 번호\n  order_id INTEGER,\n  -- 고객 ID\n  -- references customers\n  \
                 customer_id INTEGER\n)",
                (None, &[("order_id", "주문 번호"), ("customer_id", "고객 ID references customers")]),
            ),
            (
                "a same-line comment wins over the one above",
                "CREATE TABLE t (\n a INT,\n -- section: money\n amount REAL -- 금액\n)",
                (None, &[("amount", "금액")]),
            ),
            (
                "a blank line separates a comment from the column below",
                "CREATE TABLE t (\n a INT,\n -- stray note\n\n b INT\n)",
                (None, &[]),
            ),
            (
                "before the first column, a comment not directly above it is the table's",
                "CREATE TABLE t (\n -- 테이블 설명\n\n -- a의 설명\n a INT\n)",
                (Some("테이블 설명"), &[("a", "a의 설명")]),
            ),
            (
                "the table comment and an above comment for the first column",
                "CREATE TABLE t ( -- table\n -- first column\n a INT,\n b INT -- second\n)",
                (Some("table"), &[("a", "first column"), ("b", "second")]),
            ),
            (
                "comment before the trailing comma",
                "CREATE TABLE t (\n a INT -- before comma\n , b INT\n)",
                (None, &[("a", "before comma")]),
            ),
            (
                "comment inside a multi-line definition",
                "CREATE TABLE t (\n status TEXT\n   /* allowed: a, b */\n   CHECK (status IN ('a', 'b')),\n n INT\n)",
                (None, &[("status", "allowed: a, b")]),
            ),
            (
                "a block comment before a definition on its line",
                "CREATE TABLE t (a INT, /* about b */ b INT)",
                (None, &[("b", "about b")]),
            ),
            (
                "quoted names",
                "CREATE TABLE \"t\" (\n \"order id\" INT, -- q\n [가격] REAL, -- b\n `x``y` TEXT, -- t\n \
                 \"a\"\"b\" INT, -- d\n 'lit' INT -- s\n)",
                (None, &[("order id", "q"), ("가격", "b"), ("x`y", "t"), ("a\"b", "d"), ("lit", "s")]),
            ),
            (
                "table constraints are not columns",
                "CREATE TABLE t (\n a INT, -- a\n b INT, -- b\n PRIMARY KEY (a, b), -- pk\n \
                 CONSTRAINT fk FOREIGN KEY (b) REFERENCES u(id), -- fk\n UNIQUE (a), -- uq\n \
                 CHECK (a > 0), -- ck\n FOREIGN KEY (a) REFERENCES u(id) -- fk2\n)",
                (None, &[("a", "a"), ("b", "b")]),
            ),
            (
                "quoted constraint keywords are column names",
                "CREATE TABLE t (\"check\" INT, -- c\n [primary] INT -- p\n)",
                (None, &[("check", "c"), ("primary", "p")]),
            ),
            (
                "nested parentheses",
                "CREATE TABLE t (\n price DECIMAL(10,2) NOT NULL, -- 가격\n kind TEXT CHECK (kind IN ('x','y')) \
                 DEFAULT ('x'), -- 종류\n z INT DEFAULT (abs(-1)) -- z\n)",
                (None, &[("price", "가격"), ("kind", "종류"), ("z", "z")]),
            ),
            (
                "comments containing commas, parentheses and dashes",
                "CREATE TABLE t ( -- a, b (c) -- d\n x INT, /* (, -- ) */\n y INT -- 1,2,(3\n)",
                (Some("a, b (c) -- d"), &[("x", "(, -- )"), ("y", "1,2,(3")]),
            ),
            (
                "dashes inside strings and quoted names are not comments",
                "CREATE TABLE t (\n \"a--b\" TEXT DEFAULT '-- no', -- yes\n c TEXT DEFAULT '/* no */'\n)",
                (None, &[("a--b", "yes")]),
            ),
            (
                "weird spacing",
                "CREATE   TABLE\tt(a INT,--   lots\t of   space   \n\n\n   b\tINT  --b\n\n)",
                (None, &[("a", "lots of space"), ("b", "b")]),
            ),
            (
                "CRLF line ends",
                "CREATE TABLE t ( -- 표\r\n a INT, -- 가\r\n b INT -- 나\r\n)",
                (Some("표"), &[("a", "가"), ("b", "나")]),
            ),
            (
                "empty and decorative comments are dropped",
                "CREATE TABLE t ( --\n a INT, /**/\n b INT -- ---------\n)",
                (None, &[]),
            ),
            (
                "javadoc-style block comment",
                "CREATE TABLE t ( /**\n * 회원\n * members\n */\n a INT\n)",
                (Some("회원 members"), &[]),
            ),
            (
                "a comment on the last line of a multi-line block comment stays with the next column",
                "CREATE TABLE t (\n a INT,\n /* note\n  about b */ b INT\n)",
                (None, &[("b", "note about b")]),
            ),
            (
                "a comment after several definitions on one line goes to the first",
                "CREATE TABLE t (\n a INT, b INT, -- about a\n c INT, d INT -- about c\n)",
                (None, &[("a", "about a"), ("c", "about c")]),
            ),
            (
                "text as SQLite leaves it after ALTER TABLE ADD COLUMN (twice)",
                "CREATE TABLE regions ( -- 지역\n  a INT, added INTEGER /* 추가된 열 */, -- a\n  CHECK (a > 0)\n)",
                (Some("지역"), &[("a", "a"), ("added", "추가된 열")]),
            ),
            (
                "the same, when the last column ends the list",
                "CREATE TABLE t (\n a INT, -- a\n b TEXT, c INT, d INT -- b\n)",
                (None, &[("a", "a"), ("b", "b")]),
            ),
            (
                "a comment after the last column on its own line is dropped",
                "CREATE TABLE t (\n a INT -- a\n -- closing remark\n)",
                (None, &[("a", "a")]),
            ),
            (
                "table options after the list",
                "CREATE TABLE t (\n a INT PRIMARY KEY -- a\n) /* opts */ WITHOUT ROWID",
                (None, &[("a", "a")]),
            ),
            (
                "temp table with qualified name and IF NOT EXISTS",
                "CREATE TEMP TABLE IF NOT EXISTS main.t ( -- 임시\n a -- untyped\n)",
                (Some("임시"), &[("a", "untyped")]),
            ),
            (
                "virtual table arguments",
                "CREATE VIRTUAL TABLE docs USING fts5( -- 문서 검색\n title, -- 제목\n body -- 본문\n)",
                (Some("문서 검색"), &[("title", "제목"), ("body", "본문")]),
            ),
            (
                "view: comment right after AS",
                "CREATE VIEW v AS -- 월별 매출 / monthly sales\nSELECT a -- not this\nFROM t",
                (Some("월별 매출 / monthly sales"), &[]),
            ),
            (
                "view: comment before AS on the first line",
                "CREATE VIEW v(a, b) -- 요약\nAS SELECT 1, 2",
                (Some("요약"), &[]),
            ),
            (
                "view: block comment after AS, nothing from the query",
                "CREATE VIEW IF NOT EXISTS v AS /* top customers */ SELECT * FROM t /* no */",
                (Some("top customers"), &[]),
            ),
            (
                "view: comment before AS on a later line is not taken",
                "CREATE VIEW v\n-- second line\nAS SELECT 1",
                (None, &[]),
            ),
            ("create table as select", "CREATE TABLE t AS -- 복사본\nSELECT * FROM u", (Some("복사본"), &[])),
            ("view without comments", "CREATE VIEW v AS SELECT 1", (None, &[])),
            (
                "unbalanced parentheses end the list at the end of the text",
                "CREATE TABLE t ( -- t\n a INT, -- a\n b DECIMAL(10 -- b",
                (Some("t"), &[("a", "a"), ("b", "b")]),
            ),
            (
                "aligned lines below a trailing comment continue it",
                r#"CREATE TABLE airports (
   apid integer PRIMARY KEY,      -- Id of the airport
   x real,                        -- Latitude: decimal degrees, usually to six
                                  -- significant digits
   y real,                        -- Longitude
   codeshare text,                -- "Y" if a codeshare (not operated by
                                  -- this airline), empty otherwise
   FOREIGN KEY(apid) REFERENCES b(id)
)"#,
                (
                    None,
                    &[
                        ("apid", "Id of the airport"),
                        ("x", "Latitude: decimal degrees, usually to six significant digits"),
                        ("y", "Longitude"),
                        ("codeshare", "\"Y\" if a codeshare (not operated by this airline), empty otherwise"),
                    ],
                ),
            ),
            (
                "continuation after the last column and of the table comment",
                "CREATE TABLE t ( -- 주문 내역:\n                 -- 취소 포함\n  a INT,\n  b INT -- 마지막\n        \
                 -- 열\n)",
                (Some("주문 내역: 취소 포함"), &[("b", "마지막 열")]),
            ),
            (
                "an unaligned own-line comment under a trailing one is the next column's",
                "CREATE TABLE t (\n  a INT, -- about a\n  -- about b\n  b INT\n)",
                (None, &[("a", "about a"), ("b", "about b")]),
            ),
            (
                "commented-out definitions between constraints are dropped",
                "CREATE TABLE t (\n  a INT,\n  PRIMARY KEY (a),\n  --FOREIGN KEY (a) REFERENCES s (a),\n  \
                 FOREIGN KEY (a) REFERENCES u (a)\n--    ON UPDATE NO ACTION\n)",
                (None, &[]),
            ),
            (
                "a backslash does not escape in SQLite strings",
                "CREATE TABLE t (\n p TEXT DEFAULT 'C:\\', -- 경로\n q INT\n)",
                (None, &[("p", "경로")]),
            ),
            ("tokenizer error: unterminated string", "CREATE TABLE t (a TEXT DEFAULT 'x -- c\n)", (None, &[])),
            ("tokenizer error: unterminated block comment", "CREATE TABLE t ( /* t\n a INT\n)", (None, &[])),
            (
                "control characters become spaces",
                "CREATE TABLE t (\n a INT -- x\u{7}y\u{0}z\n)",
                (None, &[("a", "x y z")]),
            ),
        ];
        for &(what, sql, expected) in cases {
            check(what, sql, expected);
        }
    }

    #[test]
    fn long_comments_are_cut_on_a_character_boundary() {
        let long = "가나다 ".repeat(200);
        let got = ddl_comments(&format!("CREATE TABLE t ( -- {long}\n a INT /* {long} */\n)"));
        for text in got.table.iter().chain(got.columns.iter().map(|(_, c)| c)) {
            assert_eq!(text.chars().count(), MAX_COMMENT_CHARS, "{text}");
            assert!(text.ends_with('…'), "{text}");
            assert!(text.starts_with("가나다 가나다"), "{text}");
        }
        assert_eq!(got.columns.len(), 1);
        let exact = "x".repeat(MAX_COMMENT_CHARS);
        let got = ddl_comments(&format!("CREATE TABLE t (a INT -- {exact}\n)"));
        assert_eq!(got.column("a"), Some(exact.as_str()), "a comment of exactly the cap is kept whole");
    }

    #[test]
    fn column_lookup_ignores_ascii_case() {
        let got = ddl_comments("CREATE TABLE t (\n Region_ID INT, -- id\n 이름 TEXT -- name\n)");
        assert_eq!(got.column("region_id"), Some("id"));
        assert_eq!(got.column("REGION_ID"), Some("id"));
        assert_eq!(got.column("이름"), Some("name"));
        assert_eq!(got.column("missing"), None);
        assert!(!got.is_empty());
        assert!(ddl_comments("CREATE TABLE t (a)").is_empty());
    }

    /// Results keep their invariants whatever the input.
    fn assert_invariants(sql: &str, got: &DdlComments) {
        for text in got.table.iter().chain(got.columns.iter().map(|(_, c)| c)) {
            assert!(!text.is_empty(), "empty comment from {sql:?}");
            assert!(text.chars().count() <= MAX_COMMENT_CHARS, "over the cap from {sql:?}");
            assert_eq!(text.trim(), text, "untrimmed comment from {sql:?}");
            assert!(!text.contains("  "), "uncollapsed whitespace from {sql:?}");
            assert!(!text.chars().any(|c| c.is_control()), "control character from {sql:?}");
        }
    }

    #[test]
    fn mutated_inputs_never_panic() {
        const SEEDS: &[&str] = &[
            "CREATE TABLE regions ( -- 지역 / Regions\n region_id INTEGER PRIMARY KEY, -- 지역 ID\n \
             name_ko TEXT NOT NULL UNIQUE, /* 이름 */\n price DECIMAL(10,2) CHECK (price IN (1, 2)),\n \
             -- above\n [x y] TEXT DEFAULT '--',\n PRIMARY KEY (region_id)\n)",
            "CREATE VIEW v(a) -- v\nAS /* c */ SELECT a FROM t",
            "CREATE VIRTUAL TABLE d USING fts5(a, -- a\n b)",
        ];
        const INSERTS: &[&str] = &[
            "(", ")", ",", "--", "/*", "*/", "\n", "'", "\"", "[", "]", "`", "한", "😀", "\\", "AS", "CHECK", " ",
            "\r\n",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as usize) % n.max(1)
        };
        let mut runs = 0;
        for seed in SEEDS {
            // Every prefix, cut on character boundaries.
            for (i, _) in seed.char_indices() {
                let got = ddl_comments(&seed[..i]);
                assert_invariants(&seed[..i], &got);
                runs += 1;
            }
            // Random insertions and deletions.
            for _ in 0..2000 {
                let mut text = seed.to_string();
                for _ in 0..1 + next(4) {
                    let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
                    let at = bounds[next(bounds.len())];
                    if next(3) == 0 {
                        if let Some(c) = text[at..].chars().next() {
                            text.replace_range(at..at + c.len_utf8(), "");
                        }
                    } else {
                        text.insert_str(at, INSERTS[next(INSERTS.len())]);
                    }
                }
                let got = ddl_comments(&text);
                assert_invariants(&text, &got);
                assert_eq!(got, tokenized(&text), "the shortcut changed the result for {text:?}");
                runs += 1;
            }
        }
        assert!(runs > 2000, "the loop ran {runs} times");
    }
}
