//! The API's one error type: a JSON body `{error, message, field?}` with a status that says
//! what went wrong. 5xx bodies are opaque, with a reference that is also logged.
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::{Failure, log_internal};
use crate::service::admin::AdminError;
use crate::service::rate_limit::Limited;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid admin token")]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// A request that cannot be read: malformed JSON, a wrong type, an unknown enum value.
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("too many requests")]
    TooManyRequests(Limited),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<Limited> for ApiError {
    fn from(l: Limited) -> Self {
        ApiError::TooManyRequests(l)
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        ApiError::Admin(AdminError::from(e))
    }
}

impl ApiError {
    /// A 400 naming the request field that is wrong.
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        ApiError::BadRequest {
            message: format!("{field}: {message}"),
            field: Some(field.to_owned()),
        }
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        ApiError::Admin(AdminError::NotFound(what.to_string()))
    }

    fn body(&self) -> ErrorBody {
        let plain = |error, message: String| ErrorBody {
            error,
            message,
            field: None,
            reference: None,
        };
        match self {
            ApiError::Unauthorized => plain("unauthorized", self.to_string()),
            ApiError::Forbidden(m) => plain("forbidden", (*m).to_owned()),
            ApiError::TooManyRequests(l) => plain(
                "too_many_requests",
                format!(
                    "too many requests; retry after {}",
                    crate::http::rate_limit::wait(*l)
                ),
            ),
            ApiError::BadRequest { message, field } => ErrorBody {
                error: "invalid_request",
                message: message.clone(),
                field: field.clone(),
                reference: None,
            },
            ApiError::Admin(AdminError::Invalid { field, message }) => ErrorBody {
                error: "invalid_request",
                message: format!("{field}: {message}"),
                field: Some((*field).to_owned()),
                reference: None,
            },
            ApiError::Admin(AdminError::NotFound(what)) => {
                plain("not_found", format!("{what} not found"))
            }
            ApiError::Admin(AdminError::Conflict(m)) => plain("conflict", m.clone()),
            ApiError::Admin(AdminError::Storage(e)) => match Failure::of(e) {
                Failure::NotFound => plain("not_found", "not found".into()),
                Failure::Conflict => plain("conflict", CONFLICT.into()),
                Failure::Internal => internal(e),
            },
            ApiError::Internal(e) => internal(e.as_ref()),
        }
    }
}

/// Every error response of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// unauthorized, forbidden, invalid_request, not_found, method_not_allowed, conflict,
    /// too_many_requests or internal_error.
    pub error: &'static str,
    pub message: String,
    /// The request field that is wrong, when there is one (a JSON path such as
    /// `attr_email[1]` for nested values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Quote it when reporting an internal error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// A unique violation that no service check caught first (a concurrent writer).
const CONFLICT: &str = "a record with the same unique value already exists";

fn internal(e: &dyn std::error::Error) -> ErrorBody {
    let reference = log_internal(e);
    ErrorBody {
        error: "internal_error",
        message: "the server could not complete the request".into(),
        field: None,
        reference: Some(reference),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadRequest { .. } | ApiError::Admin(AdminError::Invalid { .. }) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Admin(AdminError::NotFound(_)) => StatusCode::NOT_FOUND,
            ApiError::Admin(AdminError::Conflict(_)) => StatusCode::CONFLICT,
            ApiError::Admin(AdminError::Storage(e)) => match Failure::of(e) {
                Failure::NotFound => StatusCode::NOT_FOUND,
                Failure::Conflict => StatusCode::CONFLICT,
                Failure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized) {
            res.insert_header(("WWW-Authenticate", "Bearer realm=\"ssogate-admin\""));
        }
        if let ApiError::TooManyRequests(l) = self {
            res.insert_header(("Retry-After", l.retry_after_secs));
        }
        res.json(self.body())
    }
}

/// A path under /api/v1 that no route serves.
pub fn route_not_found() -> HttpResponse {
    HttpResponse::NotFound().json(ErrorBody {
        error: "not_found",
        message: "no such API route; see /api/v1/openapi.json".into(),
        field: None,
        reference: None,
    })
}

/// A documented path called with a method it does not have.
pub fn method_not_allowed(allow: &str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header(("Allow", allow.to_owned()))
        .json(ErrorBody {
            error: "method_not_allowed",
            message: format!("this path takes {allow}"),
            field: None,
            reference: None,
        })
}
