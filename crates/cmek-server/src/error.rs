//! Every failure leaves the server as an `ErrorResponse` with its documented status.
//!
//! The layers below the handlers have their own errors (`db::StorageError`,
//! `kms::sandbox::SandboxError`, `key_access::KeyAccessError`); the `From` impls here turn them
//! into an `ApiError` at the handler boundary. A failure that is the server's is logged once,
//! where its answer is made (`IntoResponse`), as axum's error-handling example does.

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
    /// An internal failure's context and cause: logged when the answer is made, never sent.
    /// (Boxed: most answers have none, and every `Result` carries the error's size.)
    pub internal: Option<Box<(String, String)>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            body: ErrorResponse::new(code, message),
            retry_after: None,
            internal: None,
        }
    }

    /// An answer with this status and body as they are (e.g. an upstream's own refusal).
    pub fn with_body(status: StatusCode, body: ErrorResponse) -> Self {
        Self { status, body, retry_after: None, internal: None }
    }

    pub fn fields(code: ErrorCode, fields: Vec<FieldError>) -> Self {
        RuleError::fields(code, fields).into()
    }

    /// A failure that is the server's, not the caller's: answered briefly, logged in full when
    /// the answer is made.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            ErrorCode::Internal,
            format!(
                "{context} failed on the server; nothing was changed by this request. The server log has the details."
            ),
        );
        e.internal = Some(Box::new((context.to_owned(), err.to_string())));
        e
    }

    pub fn with_retry_after(mut self, secs: i64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Logs an internal failure's cause; called once, by whatever makes the answer.
    pub fn log_internal(&self) {
        if let Some((context, cause)) = self.internal.as_deref() {
            tracing::error!(error = %cause, "{context}");
        }
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
            internal: None,
        }
    }
}

impl From<crate::db::StorageError> for ApiError {
    fn from(e: crate::db::StorageError) -> Self {
        use crate::db::StorageError as S;
        match e {
            S::Rule(rule) => rule.into(),
            S::ProjectNotFound { .. } => Self::new(ErrorCode::ProjectNotFound, e.to_string()),
            S::ClusterNotFound { .. } => Self::new(ErrorCode::ClusterNotFound, e.to_string()),
            S::BackupNotFound { .. } => Self::new(ErrorCode::BackupNotFound, e.to_string()),
            S::RestoreNotFound { .. } => Self::new(ErrorCode::RestoreNotFound, e.to_string()),
            S::Reader(_) => Self::internal("opening a reader", e),
            S::Task(_) => Self::internal("a storage task", e),
            S::Sql(_) => Self::internal("storage", e),
            S::Inconsistent { doing, .. } => Self::internal(doing, e),
        }
    }
}

impl From<crate::kms::sandbox::SandboxError> for ApiError {
    fn from(e: crate::kms::sandbox::SandboxError) -> Self {
        use crate::kms::sandbox::SandboxError as S;
        match e {
            S::NotFound { .. } => Self::new(ErrorCode::SandboxKeyNotFound, e.to_string()),
            S::InvalidState { .. } | S::RotationLimit { .. } => Self::new(ErrorCode::KmsInvalidState, e.to_string()),
            S::Invalid(rule) => rule.into(),
            S::Storage(s) => s.into(),
        }
    }
}

impl From<crate::key_access::KeyRefusal> for ApiError {
    fn from(r: crate::key_access::KeyRefusal) -> Self {
        let mut e = Self::new(r.code, r.message);
        e.body.details = r.causes;
        e
    }
}

impl From<crate::key_access::KeyAccessError> for ApiError {
    fn from(e: crate::key_access::KeyAccessError) -> Self {
        match e {
            crate::key_access::KeyAccessError::Refused(r) => r.into(),
            crate::key_access::KeyAccessError::Storage(s) => s.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log_internal();
        let mut res = (self.status, axum::Json(self.body)).into_response();
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
