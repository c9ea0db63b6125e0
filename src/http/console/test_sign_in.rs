//! The connection page's "Test sign-in": the admin goes through the IdP like a user, and the
//! ACS or callback answers with a report of what arrived instead of signing anyone in.
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use askama::Template;
use askama_web::WebTemplate;

use super::{ConsoleAdmin, CsrfOnly, db};
use crate::http::AppState;
use crate::http::pages::page;
use crate::service::admin;
use crate::service::test_sign_in::TestReport;

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

#[derive(Template, WebTemplate)]
#[template(path = "admin/test_sign_in.html")]
struct ReportPage {
    r: TestReport,
    back: String,
}

/// The report, in the tab the test ran in.
pub fn report_page(req: &HttpRequest, r: TestReport) -> HttpResponse {
    let back = format!("/admin/t/{}/connections/{}", r.tenant, r.connection);
    page(req, ReportPage { r, back }, StatusCode::OK)
}
