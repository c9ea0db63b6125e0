//! Server-rendered pages (askama; every value is HTML-escaped by the template engine).
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder};
use askama::Template;
use askama_web::WebTemplate;

use crate::service::sign_in::TestReport;

/// Renders a page through askama_web with `status`.
pub fn page<T: Responder>(req: &HttpRequest, page: T, status: StatusCode) -> HttpResponse {
    page.customize()
        .with_status(status)
        .respond_to(req)
        .map_into_boxed_body()
}

fn html(status: StatusCode, body: Result<String, askama::Error>) -> HttpResponse {
    match body {
        Ok(b) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(b),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain")
                .body("internal error")
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/index.html")]
pub struct IndexPage {
    pub error: Option<String>,
    pub email: String,
    pub return_to: Option<String>,
}

pub struct Choice {
    pub label: String,
    pub href: String,
    /// The connection's slug (the button's value when the choice is posted).
    pub value: String,
}

/// A form field carried along unchanged.
pub struct Hidden {
    pub name: &'static str,
    pub value: String,
}

/// Choices posted back to a form (the console's sign-in) instead of followed as links.
pub struct PostChoice {
    pub action: &'static str,
    pub fields: Vec<Hidden>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/choose.html")]
pub struct ChoosePage {
    pub tenant: String,
    pub choices: Vec<Choice>,
    pub post: Option<PostChoice>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/message.html")]
pub struct MessagePage {
    pub title: String,
    pub message: String,
    pub idp_message: Option<String>,
    pub reference: Option<String>,
}

impl MessagePage {
    /// The page carries the request id as its reference, so a person can quote it and an
    /// operator find the request's log lines.
    pub fn new(title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            message: message.into(),
            idp_message: None,
            reference: super::request_id::current(),
        }
    }

    /// For `ResponseError`, which renders without a request at hand.
    pub fn error_response(&self, status: StatusCode) -> HttpResponse {
        html(status, self.render())
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/signed_in.html")]
pub struct SignedInPage {
    pub email: String,
    pub name: Option<String>,
    pub tenant: String,
}

/// A console test sign-in's report, in the tab the test ran in: the ACS or callback that
/// finished the test renders it instead of signing anyone in.
#[derive(Template, WebTemplate)]
#[template(path = "admin/test_sign_in.html")]
struct TestReportPage {
    r: TestReport,
    back: String,
}

pub fn test_report(req: &HttpRequest, r: TestReport) -> HttpResponse {
    let back = format!("/admin/t/{}/connections/{}", r.tenant, r.connection);
    page(req, TestReportPage { r, back }, StatusCode::OK)
}
