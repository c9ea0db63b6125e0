//! The connection page's "Test sign-in": the admin goes through the IdP like a user, and the
//! ACS or callback answers with a report of what arrived instead of signing anyone in (see
//! `http::pages::test_report`).
use actix_web::{HttpRequest, HttpResponse, post, web};

use super::{ConsoleAdmin, CsrfOnly, db};
use crate::http::AppState;
use crate::service::admin;

/// Starts a test sign-in of the connection in this browser.
#[post("/admin/t/{tenant}/connections/{connection}/test")]
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, actix_web::Error> {
    admin.check_csrf(&form.csrf)?;
    let (tenant, connection) = path.into_inner();
    let t = admin.tenant(&state, tenant).await?;
    let tc = t.clone();
    let c = db(&state, move |c| {
        admin::connection_by_slug(c, &tc, &connection)
    })
    .await?;
    let by = admin.principal.actor.clone();
    let opts = crate::http::login::StartOptions {
        test_by: Some(by),
        ..Default::default()
    };
    Ok(crate::http::login::start(&req, state, t, c, opts).await?)
}
