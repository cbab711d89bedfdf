//! The lexical pass: tokenizes with sqlparser's tokenizer in the connection's dialect (so string and comment rules
//! are the dialect's, never a regex's) and refuses what must not reach the parser or the engine:
//!
//! - MySQL/MariaDB executable comments `/*! … */` and `/*M! … */` (refused in every dialect). The MySQL tokenizer
//!   expands `/*! … */` into tokens, so it is detected as text no token accounts for: every character of the input
//!   must belong to exactly one token, in order.
//! - text after a `;` that ends the first statement (stacked statements);
//! - string literals whose end depends on a server mode: in PostgreSQL (`standard_conforming_strings`) and MySQL
//!   (`NO_BACKSLASH_ESCAPES`) an odd run of backslashes before a quote means different things, so a literal could
//!   hide a second statement under the other reading;
//! - PostgreSQL `U&"…"` identifiers, which the parser reads as an expression but the engine as a name;
//! - inputs above [`MAX_SQL_BYTES`] or [`MAX_TOKENS`] (bounded work, bounded tree depth).
//!
//! It also finds the approved text: from the first token that is not whitespace to the end of the last token that is
//! neither whitespace, comment nor `;` — trailing semicolons and trailing comments are dropped.

use std::ops::Range;

use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode};

use super::parser_dialect;

/// The longest SQL text the guard reads.
pub(crate) const MAX_SQL_BYTES: usize = 64 * 1024;
/// The most tokens (whitespace excluded) the guard reads; it bounds the depth of left-nested expression trees.
pub(crate) const MAX_TOKENS: usize = 8_192;

/// The token stream of one input and what the lexical pass learned about it.
pub(crate) struct Lexed {
    pub(crate) tokens: Vec<TokenWithSpan>,
    /// Byte range of the approved text inside the input.
    pub(crate) text: Range<usize>,
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::new(code, message)
}

fn executable_comment() -> Error {
    refuse(ErrorCode::ForbiddenConstruct, "MySQL executable comments (/*! … */, /*M! … */) are not allowed")
}

/// How many tokens to reserve room for before tokenizing: about one per two bytes (whitespace tokens included),
/// which typical SQL does not exceed, so the token vector is not regrown; capped so a long input does not reserve
/// megabytes up front.
fn token_capacity(sql: &str) -> usize {
    (sql.len() / 2 + 16).min(4_096)
}

/// Runs the lexical pass over `sql`.
///
/// Refusals are checked in a fixed order, so an input with several faults always gets the same answer: NUL, size,
/// tokenizer error, unaccounted text, token count, then each token in order, then stacked statements, then
/// emptiness.
pub(crate) fn lex(sql: &str, dialect: Dialect) -> Result<Lexed, Error> {
    if sql.contains('\0') {
        return Err(refuse(ErrorCode::ForbiddenConstruct, "a NUL character is not allowed in SQL"));
    }
    if sql.len() > MAX_SQL_BYTES {
        return Err(refuse(
            ErrorCode::ForbiddenConstruct,
            format!("the SQL is {} bytes long; at most {MAX_SQL_BYTES} are allowed", sql.len()),
        ));
    }
    let mut tokens = Vec::with_capacity(token_capacity(sql));
    Tokenizer::new(parser_dialect(dialect), sql)
        .with_unescape(true)
        .tokenize_with_location_into_buf(&mut tokens)
        .map_err(|e| refuse(ErrorCode::ParseError, format!("the SQL does not parse: {e}")))?;
    let offsets = byte_offsets(sql, &tokens).ok_or_else(|| match dialect {
        Dialect::Mysql => executable_comment(),
        _ => refuse(ErrorCode::ForbiddenConstruct, "the SQL contains text the tokenizer did not account for"),
    })?;
    let significant = tokens.iter().filter(|t| is_significant(&t.token)).count();
    if significant > MAX_TOKENS {
        return Err(refuse(
            ErrorCode::ForbiddenConstruct,
            format!("the SQL has {significant} tokens; at most {MAX_TOKENS} are allowed"),
        ));
    }
    let mut shape = Shape::default();
    for (i, t) in tokens.iter().enumerate() {
        check_token(dialect, sql, &tokens, &offsets, i, &t.token)?;
        shape.add(i, &t.token);
    }
    if shape.stacked {
        return Err(refuse(
            ErrorCode::MultipleStatements,
            "only one statement is allowed, but there is more SQL after ';'",
        ));
    }
    let text = shape.approved(&offsets).ok_or_else(|| refuse(ErrorCode::EmptySql, "there is no SQL statement"))?;
    Ok(Lexed { tokens, text })
}

/// Whitespace and comments are not significant; every other token is.
fn is_significant(token: &Token) -> bool {
    !matches!(token, Token::Whitespace(_))
}

/// Where the statement lies in the token stream, gathered in one pass.
#[derive(Default)]
struct Shape {
    /// The first token that is not blank (a leading comment is not blank).
    first: Option<usize>,
    /// The last significant token that is not `;`.
    last: Option<usize>,
    seen_semicolon: bool,
    /// A significant token other than `;` follows a `;`.
    stacked: bool,
}

impl Shape {
    fn add(&mut self, i: usize, token: &Token) {
        let blank = matches!(token, Token::Whitespace(Whitespace::Space | Whitespace::Tab | Whitespace::Newline));
        if self.first.is_none() && !blank {
            self.first = Some(i);
        }
        match token {
            Token::SemiColon => self.seen_semicolon = true,
            t if is_significant(t) => {
                self.stacked |= self.seen_semicolon;
                self.last = Some(i);
            }
            _ => {}
        }
    }

    /// The approved byte range: from the first token that is not blank to the end of the last significant token
    /// that is not `;` (trailing semicolons, blanks and comments dropped). `None` when there is no such token.
    fn approved(&self, offsets: &[usize]) -> Option<Range<usize>> {
        let (first, last) = (self.first?, self.last?);
        Some(*offsets.get(first)?..*offsets.get(last + 1)?)
    }
}

/// The first significant token of `sql` when it is a word, upper-cased: it names a refused statement. Only
/// refusals need it, so it tokenizes again rather than cost every check an allocation.
pub(crate) fn first_word(sql: &str, dialect: Dialect) -> Option<String> {
    let tokens = Tokenizer::new(parser_dialect(dialect), sql).with_unescape(true).tokenize().ok()?;
    match tokens.iter().find(|t| is_significant(t))? {
        Token::Word(w) => Some(w.value.to_uppercase()),
        _ => None,
    }
}

/// Byte offsets of every token boundary: `out[i]` is where token `i` starts and `out[len]` where the last ends.
/// `None` when the tokens do not cover the input contiguously from its first to its last character.
pub(crate) fn byte_offsets(sql: &str, tokens: &[TokenWithSpan]) -> Option<Vec<usize>> {
    if sql.is_ascii() {
        offsets_with(
            sql,
            tokens,
            AsciiCursor { line: 1, line_start: 0, line_end: line_end(sql.as_bytes(), 0), byte: 0 },
        )
    } else {
        offsets_with(sql, tokens, Cursor { line: 1, column: 1, byte: 0 })
    }
}

fn offsets_with(sql: &str, tokens: &[TokenWithSpan], mut cursor: impl Locate) -> Option<Vec<usize>> {
    let bytes = sql.as_bytes();
    let mut out = Vec::with_capacity(tokens.len() + 1);
    let mut expected = Location { line: 1, column: 1 };
    for t in tokens {
        if t.span.start != expected {
            return None;
        }
        out.push(cursor.advance_to(bytes, t.span.start)?);
        expected = t.span.end;
    }
    let end = cursor.advance_to(bytes, expected)?;
    if end != sql.len() {
        return None;
    }
    out.push(end);
    Some(out)
}

/// Maps tokenizer locations to byte offsets, moving forward only: a `\n` starts a new line, every other char (not
/// byte) is a column. `advance_to` answers `None` when the target is behind the cursor or is no position of the
/// text (past the end of its line or of the input).
trait Locate {
    fn advance_to(&mut self, bytes: &[u8], target: Location) -> Option<usize>;
}

/// Any UTF-8 text: walks char by char. `byte` is always at a char boundary.
struct Cursor {
    line: u64,
    column: u64,
    byte: usize,
}

impl Locate for Cursor {
    fn advance_to(&mut self, bytes: &[u8], target: Location) -> Option<usize> {
        if (target.line, target.column) < (self.line, self.column) {
            return None;
        }
        while self.line < target.line {
            self.byte = line_end(bytes, self.byte).checked_add(1).filter(|&next| next <= bytes.len())?;
            self.line += 1;
            self.column = 1;
        }
        while self.column < target.column {
            let lead = *bytes.get(self.byte)?;
            if lead == b'\n' {
                return None;
            }
            self.byte += utf8_len(lead);
            self.column += 1;
        }
        ((self.line, self.column) == (target.line, target.column)).then_some(self.byte)
    }
}

/// ASCII text, where a column is a byte: a location is `line_start + column - 1`, found without walking the line.
struct AsciiCursor {
    line: u64,
    line_start: usize,
    /// Where the current line's `\n` is, or the text's length on the last line.
    line_end: usize,
    byte: usize,
}

impl Locate for AsciiCursor {
    fn advance_to(&mut self, bytes: &[u8], target: Location) -> Option<usize> {
        if target.line < self.line {
            return None;
        }
        while self.line < target.line {
            if self.line_end >= bytes.len() {
                return None;
            }
            self.line_start = self.line_end + 1;
            self.line_end = line_end(bytes, self.line_start);
            self.line += 1;
        }
        let column = usize::try_from(target.column).ok()?.checked_sub(1)?;
        if column > self.line_end - self.line_start {
            return None;
        }
        let byte = self.line_start + column;
        if byte < self.byte {
            return None;
        }
        self.byte = byte;
        Some(byte)
    }
}

/// The offset of the first `\n` at or after `from`, or the text's length when there is none.
fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes.get(from..).and_then(|rest| rest.iter().position(|&b| b == b'\n')).map_or(bytes.len(), |i| from + i)
}

/// The length of the UTF-8 sequence a lead byte starts.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..0xC0 => 1,
        0xC0..0xE0 => 2,
        0xE0..0xF0 => 3,
        _ => 4,
    }
}

fn check_token(
    dialect: Dialect,
    sql: &str,
    tokens: &[TokenWithSpan],
    offsets: &[usize],
    i: usize,
    token: &Token,
) -> Result<(), Error> {
    match token {
        Token::Whitespace(Whitespace::MultiLineComment(c)) if is_executable_comment(c) => Err(executable_comment()),
        // The tokenizer treats any Unicode space as whitespace; the engines read most of them as identifier
        // characters. MySQL starts a `--` comment only before an ASCII space or control character.
        Token::Whitespace(Whitespace::Space) if !sql[offsets[i]..offsets[i + 1]].is_ascii() => {
            Err(refuse(ErrorCode::ForbiddenConstruct, "non-ASCII whitespace outside strings is not allowed"))
        }
        Token::Whitespace(Whitespace::SingleLineComment { prefix, comment })
            if dialect == Dialect::Mysql
                && prefix == "--"
                && !comment.starts_with(|c: char| c.is_ascii())
                && !comment.is_empty() =>
        {
            Err(refuse(ErrorCode::ForbiddenConstruct, "a -- comment must be followed by an ASCII space"))
        }
        Token::SingleQuotedString(_) | Token::NationalStringLiteral(_) if dialect != Dialect::Sqlite => {
            check_backslashes(&sql[offsets[i]..offsets[i + 1]])
        }
        Token::DoubleQuotedString(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::DoubleQuotedByteStringLiteral(_)
            if dialect == Dialect::Mysql =>
        {
            check_backslashes(&sql[offsets[i]..offsets[i + 1]])
        }
        Token::DollarQuotedString(s) if !s.tag.as_deref().is_none_or(is_valid_dollar_tag) => Err(refuse(
            ErrorCode::ForbiddenConstruct,
            format!("the dollar-quote tag ${}$ is not a valid tag", s.tag.as_deref().unwrap_or_default()),
        )),
        Token::Word(w)
            if dialect == Dialect::Postgres && w.quote_style.is_none() && w.value.eq_ignore_ascii_case("u") =>
        {
            match (tokens.get(i + 1).map(|t| &t.token), tokens.get(i + 2).map(|t| &t.token)) {
                (Some(Token::Ampersand), Some(Token::Word(next))) if next.quote_style == Some('"') => {
                    Err(refuse(ErrorCode::ForbiddenConstruct, "Unicode-escaped identifiers (U&\"…\") are not allowed"))
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// PostgreSQL's rule: a tag is an identifier without `$` (no leading digit). The tokenizer is more lenient, and
/// where PostgreSQL reads `$1a$` as a parameter, a lenient tokenizer would read a string.
fn is_valid_dollar_tag(tag: &str) -> bool {
    !tag.starts_with(|c: char| c.is_ascii_digit())
        && tag.chars().all(|c| c.is_alphanumeric() || c == '_' || !c.is_ascii())
}

fn is_executable_comment(comment: &str) -> bool {
    comment.starts_with('!') || comment.starts_with("M!") || comment.starts_with("m!")
}

/// Refuses a string literal (raw source, quotes included) in which an odd run of backslashes precedes a quote
/// character or the closing quote: its extent depends on a server mode.
fn check_backslashes(raw: &str) -> Result<(), Error> {
    let Some(open) = raw.find(['\'', '"']) else { return Ok(()) };
    let content = raw.get(open + 1..raw.len().saturating_sub(1)).unwrap_or("");
    let mut run = 0usize;
    for c in content.chars() {
        if c == '\\' {
            run += 1;
            continue;
        }
        if (c == '\'' || c == '"') && run % 2 == 1 {
            return Err(ambiguous_backslash());
        }
        run = 0;
    }
    if run % 2 == 1 { Err(ambiguous_backslash()) } else { Ok(()) }
}

fn ambiguous_backslash() -> Error {
    refuse(
        ErrorCode::ForbiddenConstruct,
        "a backslash before a quote in a string literal is not allowed (its meaning depends on the server's \
         string mode); write a quote inside a string as ''",
    )
}

/// After a parse failure, names constructs the parser does not know but that are certainly refused, so the error
/// carries their code: `INTO OUTFILE`/`DUMPFILE` and `LOCK IN SHARE MODE`.
pub(crate) fn explain_parse_failure(sql: &str, dialect: Dialect) -> Option<Error> {
    let tokens = Tokenizer::new(parser_dialect(dialect), sql).tokenize().ok()?;
    let words: Vec<String> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .map(|t| match t {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_uppercase(),
            _ => String::new(),
        })
        .collect();
    for window in words.windows(2) {
        if window[0] == "INTO" && (window[1] == "OUTFILE" || window[1] == "DUMPFILE") {
            return Some(refuse(ErrorCode::IntoClause, format!("INTO {} is not allowed", window[1])));
        }
    }
    for window in words.windows(4) {
        if window == ["LOCK", "IN", "SHARE", "MODE"] {
            return Some(refuse(ErrorCode::LockingClause, "LOCK IN SHARE MODE is not allowed (locking clause)"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(sql: &str, dialect: Dialect) -> Option<ErrorCode> {
        lex(sql, dialect).err().map(|e| e.code)
    }

    fn approved(sql: &str, dialect: Dialect) -> Option<String> {
        lex(sql, dialect).ok().map(|l| sql[l.text].to_string())
    }

    #[test]
    fn executable_comments_are_refused_in_every_dialect() {
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            assert_eq!(code("SELECT 1 /*!, sleep(5)*/", d), Some(ErrorCode::ForbiddenConstruct), "{d}");
            assert_eq!(code("SELECT 1 /*!50000 , sleep(5)*/ FROM t", d), Some(ErrorCode::ForbiddenConstruct));
            assert_eq!(code("SELECT 1 /*M!100000 , sleep(5)*/", d), Some(ErrorCode::ForbiddenConstruct));
            assert_eq!(code("SELECT 1 /*!*/", d), Some(ErrorCode::ForbiddenConstruct));
            assert_eq!(code("SELECT 1 /* ordinary ! comment */", d), None);
        }
    }

    #[test]
    fn approved_text_drops_trailing_semicolons_and_comments_only() {
        let d = Dialect::Sqlite;
        assert_eq!(approved("  SELECT 1 ;; ", d).as_deref(), Some("SELECT 1"));
        assert_eq!(approved("SELECT 1 -- done", d).as_deref(), Some("SELECT 1"));
        assert_eq!(approved("/* lead */ SELECT ';' ; /* tail */", d).as_deref(), Some("/* lead */ SELECT ';'"));
        assert_eq!(approved("SELECT 'é;ü'\n;\n", d).as_deref(), Some("SELECT 'é;ü'"));
        assert_eq!(code(" ; -- nothing", d), Some(ErrorCode::EmptySql));
        assert_eq!(code("", d), Some(ErrorCode::EmptySql));
    }

    #[test]
    fn stacked_statements_are_refused_before_parsing() {
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            assert_eq!(code("SELECT 1; DROP TABLE t", d), Some(ErrorCode::MultipleStatements));
            assert_eq!(code("COMMIT; garbage ((", d), Some(ErrorCode::MultipleStatements));
            assert_eq!(code("SELECT ';' ; ", d), None);
        }
    }

    #[test]
    fn ambiguous_backslashes_follow_the_dialect() {
        assert_eq!(code(r"SELECT 'a\'; DROP TABLE t; --'", Dialect::Mysql), Some(ErrorCode::ForbiddenConstruct));
        assert_eq!(code(r"SELECT 'a\' ", Dialect::Postgres), Some(ErrorCode::ForbiddenConstruct));
        assert_eq!(code(r"SELECT 'a\''' ", Dialect::Postgres), Some(ErrorCode::ForbiddenConstruct));
        assert_eq!(code(r#"SELECT "a\"b""#, Dialect::Mysql), Some(ErrorCode::ForbiddenConstruct));
        assert_eq!(code(r"SELECT 'C:\\dir\\', '\d+', 'it''s'", Dialect::Mysql), None);
        assert_eq!(code(r"SELECT '\d+', 'a\\'", Dialect::Postgres), None);
        assert_eq!(code(r"SELECT E'a\'b'", Dialect::Postgres), None);
        assert_eq!(code(r"SELECT 'a\'", Dialect::Sqlite), None);
    }

    #[test]
    fn unicode_identifiers_are_refused_in_postgres() {
        assert_eq!(code(r#"SELECT * FROM U&"\0070g_shadow""#, Dialect::Postgres), Some(ErrorCode::ForbiddenConstruct));
        assert_eq!(code(r"SELECT U&'\0041'", Dialect::Postgres), None);
        assert_eq!(code("SELECT u & \"x\" FROM t", Dialect::Postgres), None);
    }

    #[test]
    fn unicode_whitespace_and_nul_are_refused() {
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            assert_eq!(code("SELECT 1\0; DROP TABLE t", d), Some(ErrorCode::ForbiddenConstruct));
            assert_eq!(code("SELECT 'a\u{a0}b' FROM \"x\u{a0}y\"", d), None);
        }
        assert_eq!(code("SELECT 1 --\u{a0}x, sleep(5)\nFROM t", Dialect::Mysql), Some(ErrorCode::ForbiddenConstruct));
        assert_eq!(code("SELECT 1 -- ok\nFROM t", Dialect::Mysql), None);
    }

    #[test]
    fn dollar_quote_tags_follow_postgres() {
        assert_eq!(code("SELECT $1a$ ; DROP TABLE t; $1a$", Dialect::Postgres), Some(ErrorCode::ForbiddenConstruct));
        assert_eq!(code("SELECT $_x$ ; $_x$, $é$ a $é$, $$ b $$", Dialect::Postgres), None);
    }

    #[test]
    fn size_limits_hold() {
        let long = format!("SELECT '{}'", "x".repeat(MAX_SQL_BYTES));
        assert_eq!(code(&long, Dialect::Sqlite), Some(ErrorCode::ForbiddenConstruct));
        let many = format!("SELECT 1{}", "+1".repeat(MAX_TOKENS));
        assert_eq!(code(&many, Dialect::Sqlite), Some(ErrorCode::ForbiddenConstruct));
    }

    #[test]
    fn tokenizer_errors_are_parse_errors() {
        assert_eq!(code("SELECT 'unterminated", Dialect::Sqlite), Some(ErrorCode::ParseError));
        assert_eq!(code("SELECT 1 /* open", Dialect::Postgres), Some(ErrorCode::ParseError));
    }

    /// The ASCII fast path must map every location exactly as the char-by-char cursor does, including the ones
    /// that are no position of the text (column 0, past a line's end, past the last line) and moving backwards.
    #[test]
    fn ascii_cursor_agrees_with_the_char_cursor() {
        let texts = ["", "x", "SELECT 1", "SELECT 1\n", "a\n\nbc\n d", "\n\n", "ab\r\ncd"];
        let grid: Vec<Location> =
            (0..=5).flat_map(|line| (0..=10).map(move |column| Location { line, column })).collect();
        for text in texts {
            let bytes = text.as_bytes();
            for &first in &grid {
                for &second in &grid {
                    let mut ascii = AsciiCursor { line: 1, line_start: 0, line_end: line_end(bytes, 0), byte: 0 };
                    let mut chars = Cursor { line: 1, column: 1, byte: 0 };
                    let a = (ascii.advance_to(bytes, first), ascii.advance_to(bytes, second));
                    let c = (chars.advance_to(bytes, first), chars.advance_to(bytes, second));
                    // After a `None` the cursor is abandoned, so only the answers up to it must agree.
                    let a = if a.0.is_none() { (None, None) } else { a };
                    let c = if c.0.is_none() { (None, None) } else { c };
                    assert_eq!(a, c, "{text:?}: {first} then {second}");
                }
            }
        }
    }

    #[test]
    fn offsets_cover_multi_byte_text_and_refuse_gaps() {
        let sql = "SELECT '한국',\n  \"이름\" FROM t";
        let tokens = Tokenizer::new(parser_dialect(Dialect::Sqlite), sql).tokenize_with_location().unwrap_or_default();
        let offsets = byte_offsets(sql, &tokens).unwrap_or_default();
        assert_eq!(offsets.len(), tokens.len() + 1);
        assert_eq!(offsets.last(), Some(&sql.len()));
        assert!(offsets.iter().all(|&o| sql.is_char_boundary(o)));
        assert_eq!(&sql[offsets[2]..offsets[3]], "'한국'");
        let mut gap = tokens.clone();
        gap.remove(1);
        assert_eq!(byte_offsets(sql, &gap), None);
        assert_eq!(byte_offsets(&sql[..sql.len() - 1], &tokens), None);
    }
}
