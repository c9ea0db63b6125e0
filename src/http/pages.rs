//! Server-rendered pages (askama; every value is HTML-escaped by the template engine).
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

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

#[derive(Template)]
#[template(path = "pages/index.html")]
pub struct IndexPage {
    pub error: Option<String>,
    pub email: String,
    pub return_to: Option<String>,
}

impl IndexPage {
    pub fn respond(&self, status: StatusCode) -> HttpResponse {
        html(status, self.render())
    }
}

pub struct Choice {
    pub label: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "pages/choose.html")]
pub struct ChoosePage {
    pub tenant: String,
    pub choices: Vec<Choice>,
}

impl ChoosePage {
    pub fn respond(&self) -> HttpResponse {
        html(StatusCode::OK, self.render())
    }
}

#[derive(Template)]
#[template(path = "pages/message.html")]
pub struct MessagePage {
    pub title: String,
    pub message: String,
    pub idp_message: Option<String>,
    pub reference: Option<String>,
}

impl MessagePage {
    pub fn new(title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            message: message.into(),
            idp_message: None,
            reference: None,
        }
    }

    pub fn respond(&self, status: StatusCode) -> HttpResponse {
        html(status, self.render())
    }
}

#[derive(Template)]
#[template(path = "pages/signed_in.html")]
pub struct SignedInPage {
    pub email: String,
    pub name: Option<String>,
    pub tenant: String,
}

impl SignedInPage {
    pub fn respond(&self) -> HttpResponse {
        html(StatusCode::OK, self.render())
    }
}
