//! `GET /auth/verify` for nginx auth_request, Traefik ForwardAuth and Caddy forward_auth.
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};

use super::client_addr::peer_is_trusted_proxy;
use super::session::verified_user;
use super::{AppState, HttpError};
use crate::domain::return_to::forwarded_url;
use crate::domain::roles::ForwardedAttribute;
use crate::domain::slug::Slug;
use crate::storage::sessions::SessionUser;

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

/// The one value of header `name`, if it was sent exactly once.
fn single<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    let mut values = req.headers().get_all(name);
    let v = values.next()?.to_str().ok()?.trim();
    values.next().is_none().then_some(v)
}

/// Where the proxy should send an anonymous browser: the sign-in page (the pinned tenant's, else
/// the email form) with the URL that was asked for as return_to, percent-encoded whole. Only
/// when the socket peer is one of `server.trusted_proxies` and it forwarded that URL
/// (`X-Forwarded-Proto`, `-Host`, `-Uri`); the sign-in still checks return_to against the
/// tenant's allowed origins.
fn sign_in_location(state: &AppState, req: &HttpRequest, pinned: Option<&str>) -> Option<String> {
    if !peer_is_trusted_proxy(req) {
        return None;
    }
    let original = forwarded_url(
        single(req, "x-forwarded-proto")?,
        single(req, "x-forwarded-host")?,
        single(req, "x-forwarded-uri")?,
    )?;
    let return_to: String = url::form_urlencoded::byte_serialize(original.as_bytes()).collect();
    let base = state.base_url.trim_end_matches('/');
    Some(match pinned {
        Some(t) => {
            let tenant = Slug::parse(t).ok()?;
            format!("{base}/t/{}/login?return_to={return_to}", tenant.as_str())
        }
        None => format!("{base}/?return_to={return_to}"),
    })
}

/// 401, with `X-Auth-Request-Redirect` naming the sign-in page when the proxy said where the
/// browser was going (nginx: `auth_request_set` and `return 302`).
fn unauthorized(state: &AppState, req: &HttpRequest, pinned: Option<&str>) -> HttpResponse {
    let mut res = HttpResponse::Unauthorized();
    if let Some(location) = sign_in_location(state, req, pinned) {
        res.insert_header((REDIRECT_HEADER, location));
    }
    res.finish()
}

/// The header of a 401 that carries the sign-in location.
pub const REDIRECT_HEADER: &str = "x-auth-request-redirect";

fn forwards(u: &SessionUser, a: ForwardedAttribute) -> bool {
    ForwardedAttribute::split(&u.forward_attributes).contains(&a)
}

#[get("/auth/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let Ok(pinned) = pinned_tenant(req.query_string()) else {
        return Ok(HttpResponse::Unauthorized().finish());
    };
    let Some(verified) =
        verified_user(&state, &req, |u| forwards(u, ForwardedAttribute::Manager)).await?
    else {
        return Ok(unauthorized(&state, &req, pinned.as_deref()));
    };
    let (u, manager) = (&verified.0, &verified.1);
    if pinned.as_ref().is_some_and(|t| *t != u.tenant) {
        return Ok(unauthorized(&state, &req, pinned.as_deref()));
    }
    // Group and role names never hold a comma or control character (checked when stored), so
    // the comma-separated lists are unambiguous.
    let (groups, roles) = (u.groups.join(","), u.roles.join(","));
    let mut fields = vec![
        ("x-auth-request-user", Some(u.email.as_str())),
        ("x-auth-request-email", Some(u.email.as_str())),
        ("x-auth-request-given-name", u.first_name.as_deref()),
        ("x-auth-request-family-name", u.last_name.as_deref()),
        ("x-auth-request-iwms-id", u.iwms_id.as_deref()),
        ("x-auth-request-tenant", Some(u.tenant.as_str())),
        ("x-auth-request-groups", Some(groups.as_str())),
        ("x-auth-request-roles", Some(roles.as_str())),
    ];
    // The attributes the tenant chose; the others are not sent at all.
    let manager_id = manager.as_ref().map(|m| m.user_id.to_string());
    for a in ForwardedAttribute::split(&u.forward_attributes) {
        match a {
            ForwardedAttribute::Department => {
                fields.push(("x-auth-request-department", u.department.as_deref()));
            }
            ForwardedAttribute::Title => fields.push(("x-auth-request-title", u.title.as_deref())),
            ForwardedAttribute::EmployeeNumber => {
                fields.push((
                    "x-auth-request-employee-number",
                    u.employee_number.as_deref(),
                ));
            }
            ForwardedAttribute::Manager => {
                let m = manager.as_ref();
                fields.push(("x-auth-request-manager-id", manager_id.as_deref()));
                fields.push(("x-auth-request-manager-email", m.map(|m| m.email.as_str())));
                fields.push((
                    "x-auth-request-manager-iwms-id",
                    m.and_then(|m| m.iwms_id.as_deref()),
                ));
            }
        }
    }
    let mut res = HttpResponse::Ok().finish();
    let h = res.headers_mut();
    for (name, value) in fields {
        // Absent values are sent empty, so a stale header from the client can never survive
        // a proxy that copies only the headers it is told about. Values are UTF-8; control
        // characters were removed when they were stored. A value that still is no valid
        // header value (a SCIM attribute with a control character) is sent empty.
        let v = HeaderValue::from_bytes(value.unwrap_or("").as_bytes())
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        h.insert(HeaderName::from_static(name), v);
    }
    Ok(res)
}
