//! `GET /auth/verify` for nginx auth_request, Traefik ForwardAuth and Caddy forward_auth.
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};

use super::session::current_user;
use super::{AppState, HttpError};

/// `?tenant=slug` pins the check to one tenant: a session of any other tenant is a 401, as is
/// a query that does not parse or names anything else (fail closed: a mistyped `?Tenant=`
/// must not quietly unpin the check).
fn pinned_tenant(query: &str) -> Result<Option<String>, ()> {
    let mut tenant = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "tenant" if tenant.is_none() => tenant = Some(v.into_owned()),
            _ => return Err(()),
        }
    }
    Ok(tenant)
}

#[get("/auth/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let Ok(pinned) = pinned_tenant(req.query_string()) else {
        return Ok(HttpResponse::Unauthorized().finish());
    };
    let Some(u) = current_user(&state, &req).await? else {
        return Ok(HttpResponse::Unauthorized().finish());
    };
    if pinned.is_some_and(|t| t != u.tenant) {
        return Ok(HttpResponse::Unauthorized().finish());
    }
    let mut res = HttpResponse::Ok().finish();
    let h = res.headers_mut();
    let fields = [
        ("x-auth-request-user", Some(u.email.as_str())),
        ("x-auth-request-email", Some(u.email.as_str())),
        ("x-auth-request-given-name", u.first_name.as_deref()),
        ("x-auth-request-family-name", u.last_name.as_deref()),
        ("x-auth-request-iwms-id", u.iwms_id.as_deref()),
        ("x-auth-request-tenant", Some(u.tenant.as_str())),
    ];
    for (name, value) in fields {
        // Absent values are sent empty, so a stale header from the client can never survive
        // a proxy that copies only the headers it is told about. Values are UTF-8; control
        // characters were removed when they were stored.
        let v =
            HeaderValue::from_bytes(value.unwrap_or("").as_bytes()).map_err(HttpError::internal)?;
        h.insert(HeaderName::from_static(name), v);
    }
    Ok(res)
}
