//! What every request goes through: its id and log span, the security headers, one
//! access-log line, and the request metrics (by route template, never the raw path).
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use tracing::Instrument;

use super::AppState;
use super::client_addr::client_addr;
use super::request_id;
use crate::metrics;

const HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

/// A request that may have ended or changed a session: any method but GET, HEAD and OPTIONS,
/// and the OpenID Connect callback (a sign-in arriving as a GET). After it, this instance
/// answers no `/auth/verify` from memory it had before.
fn may_write(method: &actix_web::http::Method, req: &actix_web::HttpRequest) -> bool {
    use actix_web::http::Method;
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || req
            .match_pattern()
            .is_some_and(|p| p.ends_with("/callback"))
}

/// Gives the request its id and a span (id, tenant, client address) that every log line
/// written while handling it carries; sets the security headers and `X-Request-Id`; writes
/// one access-log line: method, path (the query string is left out: it can carry codes and
/// tokens), status, duration; counts the request in `ssogate_http_requests_total` and
/// `ssogate_http_request_duration_seconds` under its route template (`unmatched` when no
/// route matched).
pub async fn security_and_access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id::of(req.request());
    let client = client_addr(req.request()).map(|a| a.to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        tenant = request_id::tenant_of(req.path()),
        client = client.as_deref(),
    );
    let method = req.method().clone();
    let path = req.path().to_owned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let handled = request_id::scope(id.clone(), next.call(req).instrument(span.clone()));
    let mut res = handled.await?;
    if let Some(s) = &state
        && may_write(&method, res.request())
    {
        s.verify_cache.invalidate();
    }
    let headers = res.headers_mut();
    for (name, value) in HEADERS {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(HeaderName::from_static(request_id::HEADER), v);
    }
    if let Some(m) = state.as_ref().map(|s| &s.metrics) {
        let route = res.request().match_pattern();
        m.http_request(
            route.as_deref().unwrap_or(metrics::UNMATCHED),
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            path = %path,
            status = res.status().as_u16(),
            duration_ms = started.elapsed().as_millis() as u64,
            "request"
        )
    });
    Ok(res)
}
