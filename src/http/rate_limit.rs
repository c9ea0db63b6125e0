//! The rate limits at the HTTP edge: the key comes from the request (the tenant a handler
//! found, [`client_addr`], the bearer token), the decision from `service::rate_limit`, and
//! each surface's error type renders the refusal as `429` with `Retry-After`: an HTML page on
//! browser routes, the SCIM error on SCIM, JSON on the admin API.
use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};

use super::{AppState, HttpError, client_addr};
use crate::service::rate_limit::Limited;

/// A request on a browser sign-in route, for the tenant it names (its slug) when that exists.
pub fn sign_in(req: &HttpRequest, state: &AppState, tenant: Option<&str>) -> Result<(), HttpError> {
    Ok(state.limits.sign_in(tenant, client_addr(req))?)
}

/// Sets `Retry-After` (seconds) on a 429.
pub fn retry_after(res: &mut HttpResponse, limited: Limited) {
    res.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(limited.retry_after_secs));
}

/// "1 second", "60 seconds": the wait in the words of a 429's message.
pub fn wait(limited: Limited) -> String {
    match limited.retry_after_secs {
        1 => "1 second".to_owned(),
        n => format!("{n} seconds"),
    }
}
