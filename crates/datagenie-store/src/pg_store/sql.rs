//! How the records' types are written to and read from PostgreSQL columns: times as `timestamptz` (millisecond
//! precision, as on SQLite), the text enums by their names, JSON as `json` ([`tokio_postgres::types::Json`]), and
//! the few statements every area uses, prepared once per connection.

use std::error::Error as StdError;

use bytes::BytesMut;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use super::{R, Tx};
use crate::model::*;

type BoxError = Box<dyn StdError + Sync + Send>;

impl ToSql for Timestamp {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.0.to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <time::OffsetDateTime as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Timestamp {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Timestamp(time::OffsetDateTime::from_sql(ty, raw)?.to_offset(time::UtcOffset::UTC)))
    }

    fn accepts(ty: &Type) -> bool {
        <time::OffsetDateTime as FromSql>::accepts(ty)
    }
}

macro_rules! text_enum_pg {
    ($($name:ident),+) => {$(
        impl ToSql for $name {
            fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
                self.as_str().to_sql(ty, out)
            }

            fn accepts(ty: &Type) -> bool {
                <&str as ToSql>::accepts(ty)
            }

            to_sql_checked!();
        }

        impl<'a> FromSql<'a> for $name {
            fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
                let text = <&str as FromSql>::from_sql(ty, raw)?;
                text.parse().map_err(|e: datagenie_core::Error| e.message.into())
            }

            fn accepts(ty: &Type) -> bool {
                <&str as FromSql>::accepts(ty)
            }
        }
    )+};
}

text_enum_pg!(Role, Engine, QueryType, QueryStatus, MessageRole, AuditResult, Channel, CreditKind, JobStatus);

pub(crate) use crate::common::{hour_start, ms, now, page_of, to_i64};

/// A JSON column (`json`) read into `T`.
pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &Row, idx: usize) -> R<T> {
    let tokio_postgres::types::Json(v) = row.try_get::<_, tokio_postgres::types::Json<T>>(idx)?;
    Ok(v)
}

/// A nullable JSON column read into `T`.
pub(crate) fn json_opt<T: serde::de::DeserializeOwned>(row: &Row, idx: usize) -> R<Option<T>> {
    Ok(row.try_get::<_, Option<tokio_postgres::types::Json<T>>>(idx)?.map(|j| j.0))
}

/// A value to bind as `json`.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> R<serde_json::Value> {
    serde_json::to_value(value)
        .map_err(|e| super::Fail::App(datagenie_core::Error::new(datagenie_core::ErrorCode::Internal, e.to_string())))
}

/// The rows of `sql` (a statement prepared once per connection and cached).
pub(crate) async fn query(tx: &Tx<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> R<Vec<Row>> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query(&stmt, params).await?)
}

/// The one row of `sql`, or `None`.
pub(crate) async fn query_opt(tx: &Tx<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> R<Option<Row>> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query_opt(&stmt, params).await?)
}

/// The one row of `sql` (an error when there is none: a bug, reported as `system_database`).
pub(crate) async fn query_one(tx: &Tx<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> R<Row> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query_one(&stmt, params).await?)
}

/// Runs `sql`; the number of rows it changed.
pub(crate) async fn execute(tx: &Tx<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> R<u64> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&stmt, params).await?)
}
