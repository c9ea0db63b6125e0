use actix_web::{HttpResponse, get};

const APP_CSS: &str = include_str!("../../static/app.css");

#[get("/assets/app.css")]
pub async fn app_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(APP_CSS)
}

/// Browsers ask for it on every first visit; an empty answer keeps logs free of 404s.
#[get("/favicon.ico")]
pub async fn favicon() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .finish()
}
