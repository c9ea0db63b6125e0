//! SCIM responses: `application/scim+json` bodies, and errors in the RFC 7644 §3.12 shape,
//! including 401, 404, 405, 413 and opaque 500s (with a reference that is also logged).
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::Value;

use crate::domain::scim::error::ScimError;
use crate::http::error::{Failure, log_internal};
use crate::service::rate_limit::Limited;
use crate::service::scim::ScimServiceError;
use crate::storage::StorageError;

pub const CONTENT_TYPE: &str = "application/scim+json";

pub fn json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(CONTENT_TYPE)
        .body(body.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum ScimHttpError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error("rate limited")]
    TooManyRequests(Limited),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<ScimServiceError> for ScimHttpError {
    fn from(e: ScimServiceError) -> Self {
        match e {
            ScimServiceError::Scim(s) => ScimHttpError::Scim(s),
            ScimServiceError::Storage(s) => s.into(),
        }
    }
}

impl From<Limited> for ScimHttpError {
    fn from(l: Limited) -> Self {
        ScimHttpError::TooManyRequests(l)
    }
}

impl From<StorageError> for ScimHttpError {
    fn from(e: StorageError) -> Self {
        match Failure::of(&e) {
            Failure::NotFound => ScimError::new(404, None, "resource not found").into(),
            Failure::Conflict => {
                ScimError::uniqueness("a resource with the same unique value already exists").into()
            }
            Failure::Internal => ScimHttpError::Internal(Box::new(e)),
        }
    }
}

impl ResponseError for ScimHttpError {
    fn status_code(&self) -> StatusCode {
        match self {
            ScimHttpError::Scim(e) => {
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            ScimHttpError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ScimHttpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let e = match self {
            ScimHttpError::Scim(e) => e.clone(),
            ScimHttpError::TooManyRequests(l) => {
                let e = ScimError::new(
                    429,
                    None,
                    format!(
                        "too many requests; retry after {}",
                        crate::http::rate_limit::wait(*l)
                    ),
                );
                let mut res = json(self.status_code(), &e.json());
                crate::http::rate_limit::retry_after(&mut res, *l);
                return res;
            }
            ScimHttpError::Internal(cause) => {
                let reference = log_internal(cause.as_ref());
                ScimError::new(
                    500,
                    None,
                    format!("the server could not complete the request (reference {reference})"),
                )
            }
        };
        let mut res = json(self.status_code(), &e.json());
        if e.status == 401 {
            res.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static("Bearer realm=\"ssogate SCIM\""),
            );
        }
        res
    }
}
