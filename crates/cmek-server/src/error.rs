//! Every failure leaves the server as an `ErrorResponse` with its documented status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cmek_core::{ErrorCode, ErrorResponse, FieldError, RuleError};

/// An error answer: the status and the v1beta `ErrorResponse` body.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorResponse,
    /// Seconds for a `Retry-After` header (a 429 that knows when to come back).
    pub retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            body: ErrorResponse::new(code, message),
            retry_after: None,
        }
    }

    pub fn fields(code: ErrorCode, fields: Vec<FieldError>) -> Self {
        RuleError::fields(code, fields).into()
    }

    pub fn project_not_found(id: u64) -> Self {
        Self::new(ErrorCode::ProjectNotFound, format!("project {id} does not exist"))
    }

    pub fn cluster_not_found(project_id: u64, id: u64) -> Self {
        Self::new(ErrorCode::ClusterNotFound, format!("cluster {id} does not exist in project {project_id}"))
    }

    /// A failure that is the server's, not the caller's: logged in full, answered briefly.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(%err, "{context}");
        Self::new(
            ErrorCode::Internal,
            format!(
                "{context} failed on the server; nothing was changed by this request. The server log has the details."
            ),
        )
    }

    pub fn with_retry_after(mut self, secs: i64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn code(&self) -> Option<ErrorCode> {
        self.body.error_code()
    }
}

impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> Self {
        Self {
            status: StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            body: e.to_response(),
            retry_after: None,
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal("storage", e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(self.body)).into_response();
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
