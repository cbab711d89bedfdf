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

text_enum_sql!(Role, Engine, QueryType, QueryStatus, MessageRole, AuditResult, Channel, CreditKind, JobStatus);

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

pub(crate) use crate::common::{hour_start, ms, now, page_of, to_i64};
