//! A question as a person asked it: trimmed, non-empty, bounded.

use crate::error::{Error, ErrorCode};

/// The longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question(String);

impl Question {
    pub fn parse(raw: &str) -> Result<Question, Error> {
        let q = raw.trim();
        if q.is_empty() {
            return Err(Error::new(ErrorCode::InvalidQuestion, "the question is empty"));
        }
        let n = q.chars().count();
        if n > MAX_QUESTION_CHARS {
            return Err(Error::new(
                ErrorCode::InvalidQuestion,
                format!("the question is {n} characters long; the limit is {MAX_QUESTION_CHARS}"),
            ));
        }
        if q.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
            return Err(Error::new(ErrorCode::InvalidQuestion, "the question contains control characters"));
        }
        Ok(Question(q.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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
}
