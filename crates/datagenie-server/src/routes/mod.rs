//! The API's handlers, one module per resource; [`crate::router`] wires them.

pub mod ask;
pub mod auth;
pub mod connections;
pub mod files;
pub mod history;
pub mod jobs;
pub mod knowledge;
pub mod ops;
pub mod sessions;
pub mod suggestions;
pub mod system;
pub mod templates;
pub mod users;

use datagenie_store::model::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};

/// `?limit=N&cursor=…` of every list.
#[derive(Debug, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Every list's body: the items and, when there are more, the cursor of the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> From<Page<T>> for Listed<T> {
    fn from(p: Page<T>) -> Self {
        Listed { items: p.items, next_cursor: p.next_cursor }
    }
}

pub const DEFAULT_PAGE: usize = 50;

pub fn page_of(q: &ListQuery) -> ApiResult<PageRequest> {
    page(q.limit, q.cursor.clone())
}

pub fn page(limit: Option<usize>, cursor: Option<String>) -> ApiResult<PageRequest> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=datagenie_store::model::MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit must be 1 to {}", datagenie_store::model::MAX_PAGE)));
    }
    Ok(PageRequest { limit, cursor: cursor.filter(|c| !c.is_empty()) })
}

/// A field that may be absent (`None`: unchanged), `null` (`Some(None)`: cleared) or a value.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
