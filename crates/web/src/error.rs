//! The web layer's one error, mapped to HTTP once: as JSON for the API, as a page for
//! browsers. Internal details are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// From the store: not found, invalid rows, a bad field, forbidden, …
    #[error(transparent)]
    Store(#[from] store::Error),
    /// No valid sign-in.
    #[error("sign in first")]
    Unauthorized,
    /// A form without its token, or with a stale one.
    #[error("the form token is missing or stale: reload the page and try again")]
    Csrf,
    /// Too many failed sign-ins.
    #[error("too many failed sign-ins from here: try again in {0} s")]
    Throttled(u64),
    /// A request whose field is malformed before it reaches the store.
    #[error("{field}: {message}")]
    BadField {
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A request that is malformed as a whole.
    #[error("{0}")]
    BadRequest(String),
    /// Something that is our fault.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    /// A bad field.
    pub fn field(field: &str, message: impl Into<String>) -> AppError {
        AppError::BadField { field: field.to_owned(), message: message.into() }
    }

    /// The status code this error answers with.
    pub fn status(&self) -> StatusCode {
        use store::Error as S;
        match self {
            AppError::Store(S::NotFound { .. }) => StatusCode::NOT_FOUND,
            AppError::Store(S::Invalid { .. } | S::Field { .. } | S::Rejected(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Store(S::Conflict(_)) => StatusCode::CONFLICT,
            AppError::Store(S::Forbidden(_)) => StatusCode::FORBIDDEN,
            AppError::Store(S::Busy) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Store(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::BadField { .. } | AppError::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// The message a user may see: ours, never a database's.
    pub fn public_message(&self) -> String {
        if self.status() == StatusCode::INTERNAL_SERVER_ERROR {
            eprintln!("error: {self:#}");
            return "internal error (logged on the server)".into();
        }
        self.to_string()
    }

    /// How many seconds to wait before trying again, for a refusal that passes.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::Throttled(secs) => Some(*secs),
            AppError::Store(store::Error::Busy) => Some(BUSY_RETRY),
            _ => None,
        }
    }

    /// The field at fault, if one is.
    pub fn field_name(&self) -> Option<&str> {
        match self {
            AppError::Store(store::Error::Field { field, .. }) | AppError::BadField { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Row errors of a refused import: (file, line, field, message).
    pub fn rows(&self) -> Vec<RowJson> {
        match self {
            AppError::Store(store::Error::Invalid { errors, .. }) => errors
                .iter()
                .map(|e| RowJson { file: e.file.clone(), line: e.line, field: e.field.clone(), message: e.message.clone() })
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> AppError {
        AppError::Internal(e.to_string())
    }
}

/// One bad row of an import, as the API gives it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RowJson {
    /// The file's name.
    pub file: String,
    /// The line, from 1 (the header is line 1).
    pub line: u64,
    /// The column.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The API's error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorJson {
    /// What went wrong, in English.
    pub message: String,
    /// The field at fault, for a validation error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The bad rows of a refused import.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<RowJson>,
}

/// Seconds a client is told to wait when the database is busy with another writer.
pub(crate) const BUSY_RETRY: u64 = 5;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorJson { message: self.public_message(), field: self.field_name().map(str::to_owned), rows: self.rows() };
        let mut res = (self.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after() {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}
