//! Values and result sets as they leave a connector: typed, engine-independent.

use base64::Engine as _;
use serde::Serialize;

/// One cell. Integers stay integers, exact decimals stay exact (as their decimal text), blobs are bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// An exact decimal number in its canonical text form (e.g. `"12.50"`), never rounded through a float.
    Decimal(String),
    Text(String),
    Blob(Vec<u8>),
    /// A JSON document (PostgreSQL json/jsonb, MySQL JSON).
    Json(serde_json::Value),
}

impl Value {
    /// True for values a chart can place on a quantitative axis.
    pub fn is_numeric(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Float(_) | Value::Decimal(_))
    }

    /// The value as a float, for charts and summaries. `None` for non-numbers.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Decimal(d) => d.parse().ok(),
            _ => None,
        }
    }

    /// The value as a JSON value: integers and floats as numbers, decimals as numbers when they round-trip exactly
    /// and as strings otherwise, blobs as base64 text. Non-finite floats become null (JSON has no NaN).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
            Value::Decimal(d) => match d.parse::<serde_json::Number>() {
                Ok(n) if n.to_string() == *d => J::Number(n),
                _ => J::String(d.clone()),
            },
            Value::Text(s) => J::String(s.clone()),
            Value::Blob(b) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
            Value::Json(j) => j.clone(),
        }
    }

    /// The value as text for people (tables, CSV). Null is the empty string here; callers that need to show null
    /// differently check for it first.
    pub fn to_display(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Decimal(d) => d.clone(),
            Value::Text(s) => s.clone(),
            Value::Blob(b) => base64::engine::general_purpose::STANDARD.encode(b),
            Value::Json(j) => j.to_string(),
        }
    }
}

/// Floats print in their shortest round-trip form, without a trailing `.0` noise for whole numbers beyond 1e15.
pub fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 { format!("{f:.1}") } else { format!("{f}") }
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// A result column: its name and, when the engine reports one, its declared type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultColumn {
    pub name: String,
    pub decl_type: Option<String>,
}

/// Rows returned by a connector. `truncated` is true when the query had more rows than the row cap allowed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultSet {
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<Value>>,
    pub truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_types() {
        assert_eq!(Value::Int(7).to_json(), serde_json::json!(7));
        assert_eq!(Value::Float(1.5).to_json(), serde_json::json!(1.5));
        assert_eq!(Value::Float(f64::NAN).to_json(), serde_json::Value::Null);
        assert_eq!(Value::Text("a".into()).to_json(), serde_json::json!("a"));
        assert_eq!(Value::Blob(vec![0, 255]).to_json(), serde_json::json!("AP8="));
        assert_eq!(Value::Null.to_json(), serde_json::Value::Null);
    }

    #[test]
    fn decimals_never_lose_digits() {
        assert_eq!(Value::Decimal("12.5".into()).to_json(), serde_json::json!(12.5));
        // More digits than an f64 holds: kept as text rather than rounded.
        let long = "12345678901234567890.123456789";
        assert_eq!(Value::Decimal(long.into()).to_json(), serde_json::json!(long));
    }
}
