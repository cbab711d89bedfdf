//! MySQL/MariaDB result columns and cells as DataGenie values. The binary protocol (prepared statements) delivers
//! typed cells; the column definition (type, flags, character set, decimals) says how to read each one.
//!
//! - integers stay integers (`TINYINT(1)` too: MySQL has no real boolean, and `BOOL` is only an alias of it);
//!   `BIGINT UNSIGNED` beyond `i64` becomes an exact [`Value::Decimal`];
//! - `DECIMAL` is exact ([`Value::Decimal`] with the server's digits); `FLOAT` is read through its shortest decimal
//!   form (so `1.1` stays `1.1`, not `1.100000023841858`); `DOUBLE` as is;
//! - `DATE`, `DATETIME`, `TIMESTAMP` in ISO 8601 (`2024-05-01T12:00:00.250`); `TIMESTAMP` ends in `Z` because the
//!   session's `time_zone` is pinned to `+00:00`; zero dates keep MySQL's text (`0000-00-00`), which ISO cannot
//!   express; `TIME` within a day as `HH:MM:SS[.ffffff]`, beyond a day or negative as an ISO 8601 duration
//!   (`PT838H59M59S`, `-PT1H30M`); `YEAR` as an integer;
//! - `JSON` as JSON (MariaDB's JSON is `LONGTEXT` with a `json_valid` check: the connector tells which columns those
//!   are); `BIT(n)` as text of `n` zeros and ones; `ENUM`/`SET` as text;
//! - binary strings (character set 63: `BINARY`, `VARBINARY`, `BLOB`) and geometry as bytes; other strings as text;
//! - anything else as its text form, never an error.

use datagenie_core::value::Value;
use mysql_async::Column;
use mysql_async::consts::{ColumnFlags, ColumnType};

/// The character set number of binary strings.
const BINARY_CHARSET: u16 = 63;

/// How one result column's cells are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Integer,
    Float32,
    Double,
    Decimal,
    Date,
    DateTime { fsp: Option<u8> },
    Timestamp { fsp: Option<u8> },
    Time { fsp: Option<u8> },
    Json,
    Bit { bits: u32 },
    Text,
    Blob,
}

/// The reading of a result column: its kind and the declared type reported in [`ResultColumn`].
///
/// [`ResultColumn`]: datagenie_core::value::ResultColumn
pub(crate) fn column_kind(column: &Column, is_json_column: bool) -> (Kind, Option<String>) {
    use ColumnType as T;
    let flags = column.flags();
    let unsigned = if flags.contains(ColumnFlags::UNSIGNED_FLAG) { " UNSIGNED" } else { "" };
    let binary = column.character_set() == BINARY_CHARSET;
    let fsp = match column.decimals() {
        d @ 1..=6 => Some(d),
        0 => Some(0),
        // 31 (`NOT_FIXED_DEC`) for expressions: show the fraction only when it is not zero.
        _ => None,
    };
    let (kind, name): (Kind, &str) = match column.column_type() {
        T::MYSQL_TYPE_TINY => (Kind::Integer, "TINYINT"),
        T::MYSQL_TYPE_SHORT => (Kind::Integer, "SMALLINT"),
        T::MYSQL_TYPE_INT24 => (Kind::Integer, "MEDIUMINT"),
        T::MYSQL_TYPE_LONG => (Kind::Integer, "INT"),
        T::MYSQL_TYPE_LONGLONG => (Kind::Integer, "BIGINT"),
        T::MYSQL_TYPE_YEAR => return (Kind::Integer, Some("YEAR".into())),
        T::MYSQL_TYPE_FLOAT => (Kind::Float32, "FLOAT"),
        T::MYSQL_TYPE_DOUBLE => (Kind::Double, "DOUBLE"),
        T::MYSQL_TYPE_DECIMAL | T::MYSQL_TYPE_NEWDECIMAL => (Kind::Decimal, "DECIMAL"),
        T::MYSQL_TYPE_DATE | T::MYSQL_TYPE_NEWDATE => return (Kind::Date, Some("DATE".into())),
        T::MYSQL_TYPE_DATETIME | T::MYSQL_TYPE_DATETIME2 => {
            return (Kind::DateTime { fsp }, Some("DATETIME".into()));
        }
        T::MYSQL_TYPE_TIMESTAMP | T::MYSQL_TYPE_TIMESTAMP2 => {
            return (Kind::Timestamp { fsp }, Some("TIMESTAMP".into()));
        }
        T::MYSQL_TYPE_TIME | T::MYSQL_TYPE_TIME2 => return (Kind::Time { fsp }, Some("TIME".into())),
        T::MYSQL_TYPE_JSON => return (Kind::Json, Some("JSON".into())),
        T::MYSQL_TYPE_BIT => return (Kind::Bit { bits: column.column_length() }, Some("BIT".into())),
        T::MYSQL_TYPE_NULL => return (Kind::Text, None),
        T::MYSQL_TYPE_GEOMETRY => return (Kind::Blob, Some("GEOMETRY".into())),
        T::MYSQL_TYPE_ENUM => return (Kind::Text, Some("ENUM".into())),
        T::MYSQL_TYPE_SET => return (Kind::Text, Some("SET".into())),
        T::MYSQL_TYPE_STRING | T::MYSQL_TYPE_VAR_STRING | T::MYSQL_TYPE_VARCHAR => {
            // ENUM and SET columns arrive as strings with a flag.
            if flags.contains(ColumnFlags::ENUM_FLAG) {
                return (Kind::Text, Some("ENUM".into()));
            }
            if flags.contains(ColumnFlags::SET_FLAG) {
                return (Kind::Text, Some("SET".into()));
            }
            let fixed = column.column_type() == T::MYSQL_TYPE_STRING;
            return match (binary, fixed) {
                (true, true) => (Kind::Blob, Some("BINARY".into())),
                (true, false) => (Kind::Blob, Some("VARBINARY".into())),
                (false, true) => (Kind::Text, Some("CHAR".into())),
                (false, false) => (Kind::Text, Some("VARCHAR".into())),
            };
        }
        T::MYSQL_TYPE_TINY_BLOB | T::MYSQL_TYPE_MEDIUM_BLOB | T::MYSQL_TYPE_LONG_BLOB | T::MYSQL_TYPE_BLOB => {
            return if binary {
                (Kind::Blob, Some("BLOB".into()))
            } else if is_json_column {
                (Kind::Json, Some("JSON".into()))
            } else {
                (Kind::Text, Some("TEXT".into()))
            };
        }
        T::MYSQL_TYPE_VECTOR => return (Kind::Blob, Some("VECTOR".into())),
        // Types the server does not send to clients, and any future one: their text form.
        _ => return (if binary { Kind::Blob } else { Kind::Text }, None),
    };
    (kind, Some(format!("{name}{unsigned}")))
}

/// One cell. Tolerant of a cell that does not have the form its column announced: it is then shown as text.
pub(crate) fn to_value(kind: Kind, cell: Option<mysql_async::Value>) -> Value {
    use mysql_async::Value as M;
    let Some(cell) = cell else { return Value::Null };
    match (kind, cell) {
        (_, M::NULL) => Value::Null,
        (_, M::Int(i)) => Value::Int(i),
        (_, M::UInt(u)) => match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Decimal(u.to_string()),
        },
        // The shortest text that reads back as this f32 is what the user stored; widen that, not the binary value.
        (_, M::Float(f)) => Value::Float(f.to_string().parse::<f64>().unwrap_or(f64::from(f))),
        (_, M::Double(d)) => Value::Float(d),
        (_, M::Date(y, mo, d, h, mi, s, us)) => {
            Value::Text(format_date(kind, [y, mo.into(), d.into()], [h, mi, s], us))
        }
        (kind, M::Time(negative, days, h, m, s, us)) => {
            let fsp = match kind {
                Kind::Time { fsp } => fsp,
                _ => None,
            };
            Value::Text(format_time(negative, days, h, m, s, us, fsp))
        }
        (Kind::Decimal, M::Bytes(b)) => match String::from_utf8(b) {
            Ok(s) => Value::Decimal(s),
            Err(e) => Value::Text(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        },
        (Kind::Json, M::Bytes(b)) => match serde_json::from_slice(&b) {
            Ok(j) => Value::Json(j),
            Err(_) => Value::Text(String::from_utf8_lossy(&b).into_owned()),
        },
        (Kind::Bit { bits }, M::Bytes(b)) => Value::Text(bit_string(&b, bits)),
        (Kind::Blob, M::Bytes(b)) => Value::Blob(b),
        (Kind::Integer, M::Bytes(b)) => {
            // Only the text protocol sends integers as text.
            let s = String::from_utf8_lossy(&b).into_owned();
            s.parse::<i64>().map(Value::Int).unwrap_or(Value::Decimal(s))
        }
        (_, M::Bytes(b)) => Value::Text(match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }),
    }
}

/// `YYYY-MM-DD`, or with a time `YYYY-MM-DDTHH:MM:SS[.f]`, plus `Z` for TIMESTAMP. All-zero dates keep MySQL's form.
fn format_date(kind: Kind, ymd: [u16; 3], hms: [u8; 3], micros: u32) -> String {
    let [y, mo, d] = ymd;
    let date = format!("{y:04}-{mo:02}-{d:02}");
    let (fsp, zone) = match kind {
        Kind::Date => return date,
        Kind::DateTime { fsp } => (fsp, ""),
        Kind::Timestamp { fsp } => (fsp, "Z"),
        // A date-time cell in a column of another kind (e.g. text protocol leftovers): ISO without a zone.
        _ => (None, ""),
    };
    let [h, mi, s] = hms;
    let time = format!("{h:02}:{mi:02}:{s:02}{}", fraction(micros, fsp));
    if y == 0 && mo == 0 && d == 0 {
        return format!("{date} {time}");
    }
    format!("{date}T{time}{zone}")
}

fn format_time(negative: bool, days: u32, h: u8, m: u8, s: u8, micros: u32, fsp: Option<u8>) -> String {
    let frac = fraction(micros, fsp);
    if !negative && days == 0 {
        return format!("{h:02}:{m:02}:{s:02}{frac}");
    }
    // Beyond a day or negative: an elapsed time, written as an ISO 8601 duration.
    let hours = u64::from(days) * 24 + u64::from(h);
    let mut out = String::from(if negative { "-PT" } else { "PT" });
    if hours > 0 {
        out.push_str(&format!("{hours}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 || micros > 0 || (hours == 0 && m == 0) {
        out.push_str(&format!("{s}{frac}S"));
    }
    out
}

/// `.ffffff` cut to the column's fractional digits; with no fixed precision, the digits that are not zero.
fn fraction(micros: u32, fsp: Option<u8>) -> String {
    let digits = format!("{micros:06}");
    match fsp {
        Some(0) => String::new(),
        Some(n) => format!(".{}", &digits[..usize::from(n.min(6))]),
        None if micros == 0 => String::new(),
        None => format!(".{}", digits.trim_end_matches('0')),
    }
}

/// The `bits` lowest bits of a big-endian value as `0`/`1` text (`BIT(3)` b'101' is `"101"`).
fn bit_string(bytes: &[u8], bits: u32) -> String {
    let total = bytes.len() * 8;
    let width = usize::try_from(bits).unwrap_or(total).clamp(1, total.max(1));
    let mut out = String::with_capacity(width);
    for i in (0..width).rev() {
        let byte = bytes.len().checked_sub(1 + i / 8).and_then(|k| bytes.get(k)).copied().unwrap_or(0);
        out.push(if byte >> (i % 8) & 1 == 1 { '1' } else { '0' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_async::Value as M;

    #[test]
    fn numbers() {
        assert_eq!(to_value(Kind::Integer, Some(M::Int(-5))), Value::Int(-5));
        assert_eq!(to_value(Kind::Integer, Some(M::UInt(7))), Value::Int(7));
        assert_eq!(to_value(Kind::Integer, Some(M::UInt(u64::MAX))), Value::Decimal("18446744073709551615".into()));
        assert_eq!(to_value(Kind::Float32, Some(M::Float(1.1))), Value::Float(1.1));
        assert_eq!(to_value(Kind::Double, Some(M::Double(2.5))), Value::Float(2.5));
        assert_eq!(
            to_value(Kind::Decimal, Some(M::Bytes(b"12345678901234567890.123456789".to_vec()))),
            Value::Decimal("12345678901234567890.123456789".into())
        );
        assert_eq!(to_value(Kind::Integer, None), Value::Null);
        assert_eq!(to_value(Kind::Text, Some(M::NULL)), Value::Null);
    }

    #[test]
    fn dates_and_times_in_iso_8601() {
        let dt = |kind, us| to_value(kind, Some(M::Date(2024, 5, 1, 13, 4, 5, us)));
        assert_eq!(to_value(Kind::Date, Some(M::Date(2024, 5, 1, 0, 0, 0, 0))), Value::Text("2024-05-01".into()));
        assert_eq!(dt(Kind::DateTime { fsp: Some(0) }, 0), Value::Text("2024-05-01T13:04:05".into()));
        assert_eq!(dt(Kind::DateTime { fsp: Some(3) }, 250_000), Value::Text("2024-05-01T13:04:05.250".into()));
        assert_eq!(dt(Kind::Timestamp { fsp: Some(6) }, 7), Value::Text("2024-05-01T13:04:05.000007Z".into()));
        assert_eq!(dt(Kind::DateTime { fsp: None }, 120_000), Value::Text("2024-05-01T13:04:05.12".into()));
        assert_eq!(
            to_value(Kind::DateTime { fsp: Some(0) }, Some(M::Date(0, 0, 0, 0, 0, 0, 0))),
            Value::Text("0000-00-00 00:00:00".into())
        );
        let time = |neg, d, h, m, s, us| to_value(Kind::Time { fsp: Some(0) }, Some(M::Time(neg, d, h, m, s, us)));
        assert_eq!(time(false, 0, 9, 30, 0, 0), Value::Text("09:30:00".into()));
        assert_eq!(time(false, 34, 22, 59, 59, 0), Value::Text("PT838H59M59S".into()));
        assert_eq!(time(true, 0, 1, 30, 0, 0), Value::Text("-PT1H30M".into()));
        assert_eq!(time(true, 0, 0, 0, 0, 0), Value::Text("-PT0S".into()));
        assert_eq!(
            to_value(Kind::Time { fsp: Some(2) }, Some(M::Time(true, 1, 0, 0, 5, 500_000))),
            Value::Text("-PT24H5.50S".into())
        );
    }

    #[test]
    fn json_bits_blobs_and_text() {
        assert_eq!(
            to_value(Kind::Json, Some(M::Bytes(br#"{"a": [1, "x"]}"#.to_vec()))),
            Value::Json(serde_json::json!({"a": [1, "x"]}))
        );
        assert_eq!(to_value(Kind::Json, Some(M::Bytes(b"not json".to_vec()))), Value::Text("not json".into()));
        assert_eq!(to_value(Kind::Bit { bits: 3 }, Some(M::Bytes(vec![5]))), Value::Text("101".into()));
        assert_eq!(to_value(Kind::Bit { bits: 1 }, Some(M::Bytes(vec![1]))), Value::Text("1".into()));
        assert_eq!(to_value(Kind::Bit { bits: 10 }, Some(M::Bytes(vec![2, 1]))), Value::Text("1000000001".into()));
        assert_eq!(to_value(Kind::Blob, Some(M::Bytes(vec![0, 255]))), Value::Blob(vec![0, 255]));
        assert_eq!(to_value(Kind::Text, Some(M::Bytes("서울".as_bytes().to_vec()))), Value::Text("서울".into()));
        assert_eq!(to_value(Kind::Text, Some(M::Bytes(vec![0xff, b'a']))), Value::Text("\u{fffd}a".into()));
    }

    #[test]
    fn declared_types_from_column_definitions() {
        let col = |t: ColumnType, flags: ColumnFlags, charset: u16| {
            Column::new(t).with_flags(flags).with_character_set(charset).with_decimals(0)
        };
        let none = ColumnFlags::empty();
        let (k, name) = column_kind(&col(ColumnType::MYSQL_TYPE_LONGLONG, ColumnFlags::UNSIGNED_FLAG, 63), false);
        assert_eq!((k, name.as_deref()), (Kind::Integer, Some("BIGINT UNSIGNED")));
        let (k, name) = column_kind(&col(ColumnType::MYSQL_TYPE_VAR_STRING, none, 45), false);
        assert_eq!((k, name.as_deref()), (Kind::Text, Some("VARCHAR")));
        let (k, name) = column_kind(&col(ColumnType::MYSQL_TYPE_VAR_STRING, none, 63), false);
        assert_eq!((k, name.as_deref()), (Kind::Blob, Some("VARBINARY")));
        let (k, name) = column_kind(&col(ColumnType::MYSQL_TYPE_STRING, ColumnFlags::ENUM_FLAG, 45), false);
        assert_eq!((k, name.as_deref()), (Kind::Text, Some("ENUM")));
        let (k, name) = column_kind(&col(ColumnType::MYSQL_TYPE_BLOB, none, 45), true);
        assert_eq!((k, name.as_deref()), (Kind::Json, Some("JSON")));
        let (k, _) = column_kind(&col(ColumnType::MYSQL_TYPE_BLOB, none, 45), false);
        assert_eq!(k, Kind::Text);
        let (k, _) = column_kind(&col(ColumnType::MYSQL_TYPE_BLOB, none, 63), true);
        assert_eq!(k, Kind::Blob, "binary strings are never JSON");
        let (k, _) = column_kind(&col(ColumnType::MYSQL_TYPE_TIMESTAMP, none, 63).with_decimals(3), false);
        assert_eq!(k, Kind::Timestamp { fsp: Some(3) });
    }
}
