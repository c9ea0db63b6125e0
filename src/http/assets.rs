use actix_web::{HttpResponse, get};

const APP_CSS: &str = include_str!("../../static/app.css");
const ADMIN_CSS: &str = include_str!("../../static/admin.css");
const ADMIN_JS: &str = include_str!("../../static/admin.js");

#[get("/assets/app.css")]
pub async fn app_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(APP_CSS)
}

#[get("/assets/admin.css")]
pub async fn admin_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(ADMIN_CSS)
}

#[get("/assets/admin.js")]
pub async fn admin_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(ADMIN_JS)
}

/// Browsers ask for it on every first visit; an empty answer keeps logs free of 404s.
#[get("/favicon.ico")]
pub async fn favicon() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .finish()
}
