//! The one error type handlers return. Client errors carry a message written for the
//! person reading it; server errors are opaque, with a reference that is also logged.
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use super::pages::MessagePage;
use crate::domain::reason::Reason;
use crate::service::rate_limit::Limited;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("sign-in refused: {}", .reason.code())]
    SignInRefused {
        reason: Reason,
        idp_message: Option<String>,
    },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("conflict")]
    Conflict,
    #[error("not signed in")]
    Unauthorized,
    #[error("rate limited")]
    TooManyRequests(Limited),
    /// `sign_ins.max_pending_per_client`: a 429 like a rate limit's, until the client's oldest
    /// sign-in in progress expires.
    #[error("too many sign-ins in progress from this client")]
    TooManySignIns(Limited),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl HttpError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        HttpError::Internal(Box::new(e))
    }
}

impl From<Limited> for HttpError {
    fn from(l: Limited) -> Self {
        HttpError::TooManyRequests(l)
    }
}

impl From<StorageError> for HttpError {
    fn from(e: StorageError) -> Self {
        match Failure::of(&e) {
            Failure::NotFound => HttpError::NotFound("The record was not found."),
            Failure::Conflict => HttpError::Conflict,
            Failure::Internal => HttpError::internal(e),
        }
    }
}

/// What a storage failure means to a client, the same on every surface (HTML, admin JSON,
/// SCIM): a missing row is 404, a unique violation 409, anything else an opaque 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    NotFound,
    Conflict,
    Internal,
}

impl Failure {
    pub(crate) fn of(e: &StorageError) -> Self {
        match e {
            StorageError::NotFound => Failure::NotFound,
            StorageError::Conflict(_) => Failure::Conflict,
            e if e.is_unique_violation() => Failure::Conflict,
            _ => Failure::Internal,
        }
    }
}

impl Failure {
    /// The HTML page for this failure; an internal one logs `cause` under the reference shown.
    pub(crate) fn page(self, cause: &dyn std::error::Error) -> MessagePage {
        match self {
            Failure::NotFound => MessagePage::new("Not found", "The record was not found."),
            Failure::Conflict => conflict_page(),
            Failure::Internal => opaque_page(cause),
        }
    }
}

fn conflict_page() -> MessagePage {
    MessagePage::new(
        "Not possible",
        "The change conflicts with a record that already exists.",
    )
}

/// The opaque 500 page: no cause, only the reference under which it is logged.
pub(crate) fn opaque_page(cause: &dyn std::error::Error) -> MessagePage {
    let mut p = MessagePage::new(
        "Something went wrong",
        "The server could not complete the request. Please try again.",
    );
    p.reference = Some(log_internal(cause));
    p
}

/// Logs an internal error's whole cause chain once, under a reference the client is shown
/// instead of the cause: the request id (outside a request, a fresh one).
pub(crate) fn log_internal(e: &dyn std::error::Error) -> String {
    let reference =
        super::request_id::current().unwrap_or_else(|| crate::random::saml_id()[1..13].to_owned());
    tracing::error!(reference = %reference, error = %chain(e), "internal error");
    reference
}

impl From<crate::service::sign_in::StartError> for HttpError {
    fn from(e: crate::service::sign_in::StartError) -> Self {
        match e {
            crate::service::sign_in::StartError::TooManyInFlight {
                retry_after_secs, ..
            } => HttpError::TooManySignIns(Limited {
                retry_after_secs: u64::try_from(retry_after_secs).unwrap_or(0).max(1),
            }),
            other => HttpError::internal(other),
        }
    }
}

impl From<askama::Error> for HttpError {
    fn from(e: askama::Error) -> Self {
        HttpError::internal(e)
    }
}

/// Full cause chain for the log; never sent to the client.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        match self {
            HttpError::NotFound(_) => StatusCode::NOT_FOUND,
            HttpError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HttpError::SignInRefused { .. } => StatusCode::FORBIDDEN,
            HttpError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::Conflict => StatusCode::CONFLICT,
            HttpError::Unauthorized => StatusCode::UNAUTHORIZED,
            HttpError::TooManyRequests(_) | HttpError::TooManySignIns(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            HttpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let page = match self {
            HttpError::NotFound(what) => MessagePage::new("Not found", *what),
            HttpError::BadRequest(msg) => MessagePage::new("Bad request", msg.clone()),
            HttpError::SignInRefused {
                reason,
                idp_message,
            } => {
                let mut p = MessagePage::new("Sign-in failed", reason.user_message());
                p.idp_message = idp_message.clone();
                p
            }
            HttpError::PayloadTooLarge => MessagePage::new(
                "Too large",
                "The request is larger than this server accepts.",
            ),
            HttpError::Conflict => conflict_page(),
            HttpError::Unauthorized => {
                return HttpResponse::Unauthorized()
                    .json(serde_json::json!({ "error": "not_signed_in" }));
            }
            HttpError::TooManyRequests(l) => {
                return too_many(
                    format!(
                        "Too many sign-in requests came from your network. Wait {}, then try again.",
                        super::rate_limit::wait(*l)
                    ),
                    *l,
                );
            }
            HttpError::TooManySignIns(l) => {
                return too_many(
                    format!(
                        "Too many sign-ins were started from your network and not finished yet. Finish the one you started, or wait {} and try again.",
                        super::rate_limit::wait(*l)
                    ),
                    *l,
                );
            }
            HttpError::Internal(e) => opaque_page(e.as_ref()),
        };
        page.error_response(self.status_code())
    }
}

/// Every browser 429 (a rate limit, the bound on sign-ins in progress): the same page, with
/// `Retry-After`.
fn too_many(message: String, limited: Limited) -> HttpResponse {
    let mut res = MessagePage::new("Too many requests", message)
        .error_response(StatusCode::TOO_MANY_REQUESTS);
    super::rate_limit::retry_after(&mut res, limited);
    res
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use diesel::result::{DatabaseErrorKind, Error as DieselError};

    use super::*;
    use crate::http::api::ApiError;
    use crate::http::console::ConsoleError;
    use crate::http::scim::response::ScimHttpError;
    use crate::service::admin::AdminError;

    fn missing() -> StorageError {
        StorageError::NotFound
    }

    fn unique() -> StorageError {
        StorageError::from(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new(String::from("UNIQUE constraint failed")),
        ))
    }

    fn broken() -> StorageError {
        StorageError::from(DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new(String::from("gone")),
        ))
    }

    /// Every surface answers a storage failure the same way: 404, 409 or an opaque 500.
    #[test]
    fn storage_failures_map_the_same_on_every_surface() {
        for (make, status) in [
            (missing as fn() -> StorageError, 404),
            (unique, 409),
            (broken, 500),
        ] {
            let statuses = [
                HttpError::from(make()).status_code().as_u16(),
                ApiError::from(make()).status_code().as_u16(),
                ApiError::Admin(AdminError::Storage(make()))
                    .status_code()
                    .as_u16(),
                ConsoleError::from(make()).status_code().as_u16(),
                ConsoleError::Admin(AdminError::Storage(make()))
                    .status_code()
                    .as_u16(),
                ScimHttpError::from(make()).status_code().as_u16(),
            ];
            assert!(
                statuses.iter().all(|s| *s == status),
                "{statuses:?} for {status}"
            );
        }
    }

    #[actix_web::test]
    async fn an_internal_error_shows_a_reference_and_no_cause() {
        for res in [
            HttpError::from(broken()).error_response(),
            ConsoleError::from(broken()).error_response(),
            ApiError::from(broken()).error_response(),
            ScimHttpError::from(broken()).error_response(),
        ] {
            let bytes = actix_web::body::to_bytes(res.into_body()).await.unwrap();
            let body = String::from_utf8_lossy(&bytes);
            assert!(!body.contains("gone"), "{body}");
            assert!(body.contains("reference"), "{body}");
        }
    }
}
