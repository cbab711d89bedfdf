//! Errors as the API answers them: `{"error": {"code", "message"}}` with the status of the one error table
//! (`datagenie_core::ErrorCode::http_status`), and `Retry-After` on 429. Messages come from the error table's
//! errors, which never carry a secret; an internal error's details go to the log, not to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datagenie_core::{Error, ErrorCode};
use serde::Serialize;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    pub error: Error,
    /// Seconds until a refused request may be retried (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { error: Error::new(code, message), retry_after: None }
    }

    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn not_found(what: impl std::fmt::Display) -> ApiError {
        ApiError::new(ErrorCode::NotFound, format!("{what} was not found"))
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Forbidden, message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidArgument, message)
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        ApiError { error, retry_after: None }
    }
}

/// The body of every error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable code from the error table, e.g. `forbidden_table`, `quota_exceeded`.
    pub code: String,
    pub message: String,
}

/// Server-side failures are logged in full and answered with their code and a generic message.
pub(crate) fn public_message(error: &Error) -> String {
    match error.code {
        ErrorCode::Internal => "an internal error occurred; the request id in the logs has the details".to_string(),
        ErrorCode::SystemDatabase => {
            "the system database is busy or failing; try again (the request id in the logs has the details)".to_string()
        }
        _ => error.message.clone(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = %self.error.code, error = %self.error.message, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail { code: self.error.code.to_string(), message: public_message(&self.error) },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Request bodies and query strings that do not parse: 400 or 422 with the code `invalid_argument`, never axum's
/// plain-text rejection.
pub fn rejection(status: StatusCode, message: String) -> ApiError {
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        ErrorCode::PayloadTooLarge
    } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE || status.is_client_error() {
        ErrorCode::InvalidArgument
    } else {
        ErrorCode::Internal
    };
    ApiError::new(code, message)
}
