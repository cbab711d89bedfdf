//! How the records' types are written to and read from SQLite columns: times as RFC 3339 text with milliseconds,
//! the text enums by their names, JSON as text. A stored value that does not read back (a row edited by hand) is a
//! conversion error, hence `system_database`, never a panic.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::*;

impl ToSql for Timestamp {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_rfc3339()))
    }
}

impl FromSql for Timestamp {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Timestamp::parse(value.as_str()?).map_err(|e| FromSqlError::Other(e.message.into()))
    }
}

macro_rules! text_enum_sql {
    ($($name:ident),+) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value.as_str()?.parse().map_err(|e: datagenie_core::Error| FromSqlError::Other(e.message.into()))
            }
        }
    )+};
}

text_enum_sql!(Role, Engine, QueryType, QueryStatus, MessageRole, AuditResult, Channel);

/// A value stored as JSON text.
pub(crate) struct Json<T>(pub T);

impl<T: Serialize> ToSql for Json<T> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        serde_json::to_string(&self.0)
            .map(ToSqlOutput::from)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    }
}

impl<T: DeserializeOwned> FromSql for Json<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        serde_json::from_str(value.as_str()?).map(Json).map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// A nullable JSON column.
pub(crate) fn json_opt<T: DeserializeOwned>(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<T>> {
    Ok(row.get::<_, Option<Json<T>>>(idx)?.map(|j| j.0))
}

pub(crate) fn json<T: DeserializeOwned>(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<T> {
    Ok(row.get::<_, Json<T>>(idx)?.0)
}

/// The present moment, at the stored precision (milliseconds), so what a method returns equals what it stored.
pub(crate) fn now() -> Timestamp {
    ms(Timestamp::now())
}

/// `t` at millisecond precision, in UTC.
pub(crate) fn ms(t: Timestamp) -> Timestamp {
    let utc = t.0.to_offset(time::UtcOffset::UTC);
    Timestamp(utc.replace_nanosecond(u32::from(utc.millisecond()) * 1_000_000).unwrap_or(utc))
}

/// The start of the hour `t` falls in (UTC).
pub(crate) fn hour_start(t: Timestamp) -> Timestamp {
    let utc = t.0.to_offset(time::UtcOffset::UTC);
    let start = utc.replace_minute(0).and_then(|u| u.replace_second(0)).and_then(|u| u.replace_nanosecond(0));
    Timestamp(start.unwrap_or(utc))
}

/// An `i64` from a count or limit (`usize`), saturating.
pub(crate) fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Splits `limit + 1` rows read into a page: the first `limit` items, and the cursor after the last one when there
/// was more.
pub(crate) fn page_of<T>(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next_cursor = if more { items.last().map(cursor) } else { None };
    Page { items, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_to_milliseconds_and_hours() {
        let t = Timestamp::parse("2025-06-24T10:30:59.123456789+09:00").expect("time");
        assert_eq!(ms(t).to_rfc3339(), "2025-06-24T01:30:59.123Z");
        assert_eq!(hour_start(t).to_rfc3339(), "2025-06-24T01:00:00.000Z");
        assert_eq!(hour_start(hour_start(t)), hour_start(t));
        assert_eq!(now().0.nanosecond() % 1_000_000, 0, "now() is at millisecond precision");
    }
}
