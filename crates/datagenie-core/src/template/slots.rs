//! Typed slots: the types a slot can have, a slot as a phrasing declares it (`{name:type}`), the values a question
//! fills them with.

use std::fmt;

/// The longest slot name, in characters.
pub(super) const MAX_SLOT_NAME_CHARS: usize = 40;

/// The type of a slot: what it accepts from a question and how its value is written into SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotType {
    Int,
    Number,
    Text,
    Date,
    Year,
    Month,
}

impl SlotType {
    pub fn as_str(self) -> &'static str {
        match self {
            SlotType::Int => "int",
            SlotType::Number => "number",
            SlotType::Text => "text",
            SlotType::Date => "date",
            SlotType::Year => "year",
            SlotType::Month => "month",
        }
    }

    fn parse(s: &str) -> Option<SlotType> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "int" | "integer" => SlotType::Int,
            "number" | "num" | "decimal" => SlotType::Number,
            "text" | "string" | "str" => SlotType::Text,
            "date" => SlotType::Date,
            "year" => SlotType::Year,
            "month" => SlotType::Month,
            _ => return None,
        })
    }

    /// A value of this type, bound when the template's SQL is validated.
    pub(super) fn sample(self) -> SlotValue {
        match self {
            SlotType::Int => SlotValue::Int(1),
            SlotType::Number => SlotValue::Number("1.5".to_string()),
            SlotType::Text => SlotValue::Text("sample".to_string()),
            SlotType::Date => SlotValue::Date("2024-01-31".to_string()),
            SlotType::Year => SlotValue::Year(2024),
            SlotType::Month => SlotValue::Month(1),
        }
    }
}

impl fmt::Display for SlotType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named, typed slot of a template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Slot {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: SlotType,
}

/// A value taken from a question for a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotValue {
    Int(i64),
    /// A decimal as validated text: optional `-`, digits, optionally `.` and digits (no exponent, no grouping).
    Number(String),
    Text(String),
    /// `YYYY-MM-DD`, a real calendar date.
    Date(String),
    Year(i64),
    /// 1–12.
    Month(u8),
}

impl fmt::Display for SlotValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlotValue::Int(i) | SlotValue::Year(i) => write!(f, "{i}"),
            SlotValue::Month(m) => write!(f, "{m}"),
            SlotValue::Number(s) | SlotValue::Text(s) | SlotValue::Date(s) => f.write_str(s),
        }
    }
}

impl serde::Serialize for SlotValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SlotValue::Int(i) | SlotValue::Year(i) => s.serialize_i64(*i),
            SlotValue::Month(m) => s.serialize_u8(*m),
            SlotValue::Number(n) => match n.parse::<f64>() {
                Ok(f) if f.is_finite() => s.serialize_f64(f),
                _ => s.serialize_str(n),
            },
            SlotValue::Text(t) | SlotValue::Date(t) => s.serialize_str(t),
        }
    }
}

/// One slot's value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SlotBinding {
    pub name: String,
    pub value: SlotValue,
}

/// Reads a slot's declaration, the text between `{` and `}`: `name:type`, or `name` alone for a text slot. Names are
/// ASCII identifiers of at most [`MAX_SLOT_NAME_CHARS`] characters.
pub(super) fn parse_spec(spec: &str) -> Result<Slot, String> {
    let (name, ty) = match spec.split_once(':') {
        Some((n, t)) => (
            n.trim(),
            SlotType::parse(t).ok_or_else(|| {
                format!(
                    "unknown slot type '{}' in {{{spec}}} (expected int, number, text, date, year or month)",
                    t.trim()
                )
            })?,
        ),
        None => (spec.trim(), SlotType::Text),
    };
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_SLOT_NAME_CHARS
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "invalid slot name '{name}': use letters, digits and _ (at most {MAX_SLOT_NAME_CHARS}), starting with a letter"
        ));
    }
    Ok(Slot { name: name.to_string(), ty })
}
