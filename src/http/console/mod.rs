//! The admin console under /admin: server-rendered pages (askama), usable without
//! JavaScript. Every form that changes something carries the session's CSRF token.
mod audit;
mod auth;
mod connections;
mod domains;
mod outbox;
mod pages;
mod roles;
mod scim_tokens;
mod sign_in;
mod sign_ins;
mod tenant;
pub(crate) mod test_sign_in;
mod users;
mod workbench;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use serde::Deserialize;

pub use auth::{COOKIE, ConsoleAdmin};

use crate::http::AppState;
use crate::http::error::{Failure, opaque_page};
use crate::http::pages::MessagePage;
use crate::service::admin::AdminError;
use crate::storage::{self, DbConnection, StorageError};

/// Stricter than the site default: the console runs its own script file only.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'";

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("not signed in")]
    SignIn,
    #[error("the form has expired")]
    Csrf,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StorageError> for ConsoleError {
    fn from(e: StorageError) -> Self {
        ConsoleError::Admin(e.into())
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn => StatusCode::SEE_OTHER,
            ConsoleError::Csrf | ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::Admin(AdminError::Invalid { .. }) => StatusCode::BAD_REQUEST,
            ConsoleError::Admin(AdminError::NotFound(_)) => StatusCode::NOT_FOUND,
            ConsoleError::Admin(AdminError::Conflict(_)) => StatusCode::CONFLICT,
            ConsoleError::Admin(AdminError::Storage(e)) => match Failure::of(e) {
                Failure::NotFound => StatusCode::NOT_FOUND,
                Failure::Conflict => StatusCode::CONFLICT,
                Failure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let page = match self {
            ConsoleError::SignIn => {
                return HttpResponse::SeeOther()
                    .insert_header(("Location", "/admin/login"))
                    .finish();
            }
            ConsoleError::Csrf => MessagePage::new(
                "Form expired",
                "This form was not sent from your current console session. Reload the page and try again.",
            ),
            ConsoleError::Forbidden(m) => MessagePage::new("Not allowed", m.clone()),
            ConsoleError::Admin(AdminError::Invalid { field, message }) => {
                MessagePage::new("Check the form", format!("{field}: {message}"))
            }
            ConsoleError::Admin(AdminError::NotFound(what)) => {
                MessagePage::new("Not found", format!("{what} was not found."))
            }
            ConsoleError::Admin(AdminError::Conflict(m)) => {
                MessagePage::new("Not possible", m.clone())
            }
            ConsoleError::Admin(AdminError::Storage(e)) => Failure::of(e).page(e),
            ConsoleError::Internal(e) => opaque_page(e.as_ref()),
        };
        let mut res = page.error_response(self.status_code());
        res.headers_mut().insert(
            actix_web::http::header::CONTENT_SECURITY_POLICY,
            actix_web::http::header::HeaderValue::from_static(CSP),
        );
        res
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(audit::for_tenant)
        .service(audit::everywhere)
        .service(sign_in::login_page)
        .service(sign_in::login)
        .service(sign_in::sso_handoff)
        .service(sign_in::bootstrap_page)
        .service(sign_in::bootstrap)
        .service(sign_in::logout)
        .service(sign_in::home)
        .service(tenant::create)
        .service(tenant::show)
        .service(tenant::save)
        .service(domains::list)
        .service(domains::add)
        .service(domains::remove)
        .service(roles::show)
        .service(roles::add_rule)
        .service(roles::remove_rule)
        .service(roles::set_user_roles)
        .service(roles::save_forwarded)
        .service(connections::list)
        // Pasted IdP metadata can be far larger than the 16 KiB other forms are held to. The
        // guard is on the resource, so a GET falls through to `show` (a connection may be
        // called `saml`).
        .service(
            web::resource("/admin/t/{tenant}/connections/saml")
                .guard(actix_web::guard::Post())
                .app_data(web::FormConfig::default().limit(connections::MAX_METADATA_BYTES))
                .route(web::post().to(connections::add_saml)),
        )
        .service(connections::add_oidc)
        .service(connections::show)
        .service(connections::save_mapping)
        .service(connections::remove)
        .service(test_sign_in::start)
        .service(users::list)
        .service(users::new_form)
        .service(users::create)
        .service(users::show)
        .service(users::deactivate)
        .service(users::reactivate)
        .service(users::unlink)
        .service(workbench::show)
        .service(workbench::save)
        .service(sign_ins::list)
        .service(scim_tokens::list)
        .service(scim_tokens::create)
        .service(scim_tokens::revoke)
        .service(outbox::list)
        .service(outbox::retry);
}

/// Runs a use case on a pooled connection off the async executor.
async fn db<T, F>(state: &AppState, f: F) -> Result<T, ConsoleError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, AdminError> + Send + 'static,
{
    storage::block::<_, ConsoleError, _>(&state.pool, move |c| Ok(f(c)?)).await
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location.to_owned()))
        .finish()
}

/// The `?done=` a page is redirected to after a successful change.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Done {
    done: String,
}

/// A form that carries nothing but the session's CSRF token (action buttons).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}
