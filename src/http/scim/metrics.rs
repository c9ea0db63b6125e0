//! `ssogate_scim_requests_total{tenant,operation,status}`: every SCIM request, named by its
//! operation (`users.create`, `groups.patch`, `discovery`, ...). The tenant is the one whose
//! token was accepted (`unknown` before that), so no URL a client makes up adds a series.
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;

use crate::http::AppState;
use crate::metrics::UNKNOWN;

/// Set by `authorize` once the request's token is accepted.
pub struct ScimTenant(pub String);

const PREFIX: &str = "/t/{tenant}/scim/v2";

/// The operation of a request to the route template `pattern` (None: no route matched).
pub fn operation(method: &Method, pattern: Option<&str>) -> &'static str {
    let Some(pattern) = pattern else {
        return "other";
    };
    let route = pattern
        .strip_prefix(PREFIX)
        .unwrap_or(pattern)
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let m = method.as_str();
    match (route.as_str(), m) {
        ("/users", "GET") => "users.list",
        ("/users", "POST") => "users.create",
        ("/users/.search", "POST") => "users.search",
        ("/users/{id}", "GET") => "users.get",
        ("/users/{id}", "PUT") => "users.replace",
        ("/users/{id}", "PATCH") => "users.patch",
        ("/users/{id}", "DELETE") => "users.delete",
        ("/groups", "GET") => "groups.list",
        ("/groups", "POST") => "groups.create",
        ("/groups/.search", "POST") => "groups.search",
        ("/groups/{id}", "GET") => "groups.get",
        ("/groups/{id}", "PUT") => "groups.replace",
        ("/groups/{id}", "PATCH") => "groups.patch",
        ("/groups/{id}", "DELETE") => "groups.delete",
        ("/.search", "POST") => "search",
        (
            "/serviceproviderconfig"
            | "/resourcetypes"
            | "/resourcetypes/{id}"
            | "/schemas"
            | "/schemas/{id}",
            "GET",
        ) => "discovery",
        _ => "other",
    }
}

pub async fn count(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let recorder = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = req.method().clone();
    let res = next.call(req).await?;
    if let Some(m) = recorder {
        let r = res.request();
        let op = operation(&method, r.match_pattern().as_deref());
        let tenant = r.extensions().get::<ScimTenant>().map(|t| t.0.clone());
        m.scim_request(
            tenant.as_deref().unwrap_or(UNKNOWN),
            op,
            res.status().as_u16(),
        );
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_from_the_route_template() {
        let p = |s: &str| Some(format!("{PREFIX}{s}"));
        assert_eq!(
            operation(&Method::POST, p("/Users").as_deref()),
            "users.create"
        );
        assert_eq!(
            operation(&Method::GET, p("/users/").as_deref()),
            "users.list"
        );
        assert_eq!(
            operation(&Method::PATCH, p("/Users/{id}").as_deref()),
            "users.patch"
        );
        assert_eq!(
            operation(&Method::DELETE, p("/groups/{id}/").as_deref()),
            "groups.delete"
        );
        assert_eq!(
            operation(&Method::GET, p("/Schemas/{id}").as_deref()),
            "discovery"
        );
        assert_eq!(operation(&Method::POST, p("/Schemas").as_deref()), "other");
        assert_eq!(operation(&Method::GET, None), "other");
    }
}
