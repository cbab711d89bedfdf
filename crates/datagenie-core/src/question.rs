//! A question as a person asked it: trimmed, non-empty, bounded.

use crate::error::{Error, ErrorCode};

/// The longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 2000;
/// The longest SQL text accepted in place of a question (an agent's own SQL, `run_sql`), in characters.
pub const MAX_SQL_CHARS: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question(String);

impl Question {
    pub fn parse(raw: &str) -> Result<Question, Error> {
        bounded(raw, MAX_QUESTION_CHARS, ErrorCode::InvalidQuestion, "question")
    }

    /// SQL a caller wrote, carried where a question goes (the history's question is the SQL itself): trimmed,
    /// non-empty, at most [`MAX_SQL_CHARS`], no control characters but line breaks and tabs. Whether it may run is
    /// the guard's decision, not this one's.
    pub fn sql(raw: &str) -> Result<Question, Error> {
        bounded(raw, MAX_SQL_CHARS, ErrorCode::InvalidArgument, "SQL")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `raw` trimmed, non-empty, at most `max` characters, without control characters but line breaks and tabs;
/// otherwise `code`, naming `what`.
fn bounded(raw: &str, max: usize, code: ErrorCode, what: &str) -> Result<Question, Error> {
    let q = raw.trim();
    if q.is_empty() {
        return Err(Error::new(code, format!("the {what} is empty")));
    }
    let n = q.chars().count();
    if n > max {
        return Err(Error::new(code, format!("the {what} is {n} characters long; the limit is {max}")));
    }
    if q.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(Error::new(code, format!("the {what} contains control characters")));
    }
    Ok(Question(q.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(Question::parse("  how many?  ").map(|q| q.0), Ok("how many?".to_string()));
        assert_eq!(Question::parse("   ").map_err(|e| e.code), Err(ErrorCode::InvalidQuestion));
        let long = "가".repeat(MAX_QUESTION_CHARS + 1);
        assert_eq!(Question::parse(&long).map_err(|e| e.code), Err(ErrorCode::InvalidQuestion));
        assert!(Question::parse(&"가".repeat(MAX_QUESTION_CHARS)).is_ok());
        assert_eq!(Question::parse("a\u{0}b").map_err(|e| e.code), Err(ErrorCode::InvalidQuestion));
    }

    #[test]
    fn sql_in_place_of_a_question_is_bounded_too() {
        assert_eq!(Question::sql(" SELECT 1\n").map(|q| q.0), Ok("SELECT 1".to_string()));
        assert_eq!(Question::sql(" ").map_err(|e| e.code), Err(ErrorCode::InvalidArgument));
        let long = format!("SELECT '{}'", "x".repeat(MAX_SQL_CHARS));
        assert_eq!(Question::sql(&long).map_err(|e| e.code), Err(ErrorCode::InvalidArgument));
        assert!(Question::sql(&format!("SELECT '{}'", "x".repeat(MAX_QUESTION_CHARS * 2))).is_ok());
        assert_eq!(Question::sql("SELECT 1\u{1b}").map_err(|e| e.code), Err(ErrorCode::InvalidArgument));
    }
}
