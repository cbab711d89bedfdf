//! Binding: slot values written as dialect literals on the placeholders the SQL tokenizer finds (`{`, a word, `}`);
//! every other byte of the SQL stays as written.

use sqlparser::tokenizer::{Token, Tokenizer};

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode};
use crate::guard::{self, AttrValue};

use super::slots::{SlotBinding, SlotType, SlotValue};
use super::{QueryTemplate, invalid};

/// Writes a slot value as an SQL literal of the dialect. Text and dates are quoted by [`guard::literal`]; numbers are
/// validated digits, parenthesised when negative so `x -{n}` cannot become a `--` comment (non-negative numbers stay
/// bare because MySQL's `LIMIT` takes only a bare integer).
pub fn slot_literal(dialect: Dialect, value: &SlotValue) -> Result<String, Error> {
    let number = |text: String, negative: bool| if negative { format!("({text})") } else { text };
    Ok(match value {
        SlotValue::Int(i) | SlotValue::Year(i) => number(i.to_string(), *i < 0),
        SlotValue::Month(m) => m.to_string(),
        SlotValue::Number(n) => {
            if !is_decimal_text(n) {
                return Err(Error::new(ErrorCode::InvalidTemplate, format!("'{n}' is not a number")));
            }
            number(n.clone(), n.starts_with('-'))
        }
        SlotValue::Text(s) | SlotValue::Date(s) => guard::literal(dialect, &AttrValue::Text(s.clone()))
            .map_err(|m| Error::new(ErrorCode::InvalidTemplate, m))?,
    })
}

/// `-?digits(.digits)?`
fn is_decimal_text(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

impl QueryTemplate {
    /// The SQL with every placeholder replaced by its value's literal. Every slot must have a value of its type.
    pub fn bind(&self, values: &[SlotBinding]) -> Result<String, Error> {
        for slot in &self.slots {
            let value = values.iter().find(|v| v.name == slot.name).map(|v| &v.value);
            let fits = matches!(
                (slot.ty, value),
                (SlotType::Int, Some(SlotValue::Int(_)))
                    | (SlotType::Number, Some(SlotValue::Number(_)))
                    | (SlotType::Text, Some(SlotValue::Text(_)))
                    | (SlotType::Date, Some(SlotValue::Date(_)))
                    | (SlotType::Year, Some(SlotValue::Year(_)))
                    | (SlotType::Month, Some(SlotValue::Month(_)))
            );
            if !fits {
                return Err(invalid(format!("the slot {{{}}} needs a value of type {}", slot.name, slot.ty)));
            }
        }
        let dialect = self.dialect;
        rewrite_placeholders(&self.sql, dialect, &mut |name| {
            let value = values
                .iter()
                .find(|v| v.name == name)
                .ok_or_else(|| invalid(format!("no value for the slot {{{name}}}")))?;
            slot_literal(dialect, &value.value)
        })
    }
}

/// Rebuilds `sql` with each `{name}` placeholder (the three tokens `{`, an unquoted word, `}`) replaced by
/// `replace(name)`; every other byte is kept. Any other brace is an error.
pub(super) fn rewrite_placeholders(
    sql: &str,
    dialect: Dialect,
    replace: &mut dyn FnMut(&str) -> Result<String, Error>,
) -> Result<String, Error> {
    let tokens = Tokenizer::new(guard::parser_dialect(dialect), sql)
        .with_unescape(true)
        .tokenize_with_location()
        .map_err(|e| invalid(format!("the template's SQL does not parse: {e}")))?;
    let index = guard::LineIndex::new(sql);
    let mut offsets: Vec<usize> = Vec::with_capacity(tokens.len() + 1);
    for t in &tokens {
        let at = index.offset(t.span.start).ok_or_else(|| invalid("the template's SQL could not be located"))?;
        if offsets.last().is_some_and(|prev| at < *prev) {
            return Err(invalid("the template's SQL could not be located"));
        }
        offsets.push(at);
    }
    offsets.push(sql.len());
    let mut out = String::with_capacity(sql.len() + 16);
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].token {
            Token::LBrace => {
                let name = match (tokens.get(i + 1).map(|t| &t.token), tokens.get(i + 2).map(|t| &t.token)) {
                    (Some(Token::Word(w)), Some(Token::RBrace)) if w.quote_style.is_none() => w.value.clone(),
                    _ => {
                        return Err(invalid("a '{' in the SQL must start a placeholder {name}, with no spaces inside"));
                    }
                };
                let literal = replace(&name)?;
                // Keep the literal from gluing to a neighbouring word or quote.
                if out.ends_with(|c: char| c.is_alphanumeric() || matches!(c, '_' | '\'' | '"' | '`' | '$')) {
                    out.push(' ');
                }
                out.push_str(&literal);
                let rest = sql.get(offsets[i + 3]..).unwrap_or_default();
                if rest.starts_with(|c: char| c.is_alphanumeric() || matches!(c, '_' | '\'' | '"' | '`' | '$')) {
                    out.push(' ');
                }
                i += 3;
            }
            Token::RBrace => return Err(invalid("a '}' in the SQL without its placeholder '{'")),
            _ => {
                out.push_str(sql.get(offsets[i]..offsets[i + 1]).unwrap_or_default());
                i += 1;
            }
        }
    }
    Ok(out)
}
