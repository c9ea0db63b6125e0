//! The admin JSON API under /api/v1: the console's capabilities for scripts, with admin
//! bearer tokens. Handlers carry `#[utoipa::path]`, so the OpenAPI document served at
//! /api/v1/openapi.json is generated from the routes themselves; `openapi.json` in the
//! repository is that document, and a test fails when the two differ.
mod admins;
mod audit;
mod auth;
mod connections;
mod domains;
mod error;
mod extract;
mod outbox;
mod roles;
mod scim_tokens;
mod sign_ins;
pub mod tenants;
mod users;
mod workbench;

use std::sync::OnceLock;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Deserializer};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_actix_web::service_config::ServiceConfig;

pub use auth::ApiAdmin;
pub use error::{ApiError, ErrorBody};
pub use extract::{ApiJson, ApiQuery};

/// Absent → None, `null` → Some(None), a value → Some(Some(v)): lets PATCH bodies clear.
pub(crate) fn nullable<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "ssogate admin API", description = "Tenants, domains, connections, users, roles, sign-in history, SCIM tokens, admins, the IWMS outbox and the audit trail of admin changes.\n\nAuthenticate with `Authorization: Bearer ssg_admin_...` (from `ssogate admin token create --tenant T` or `--all-tenants`). A tenant token sees only its tenant: other tenants answer 404, and super-admin operations 403.\n\nTimes are Unix seconds. Errors are `{error, message, field?, reference?}`: `error` is one of unauthorized, forbidden, invalid_request, not_found, conflict, too_many_requests, internal_error; `field` names the request field that is wrong.\n\nRequests are rate-limited per token (and per client address while a token is refused): over the limit the answer is 429 with `Retry-After` in seconds."),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// Every operation may answer 429 (`rate_limit.api_token_*` per token, `rate_limit.client_*`
/// per client address while the token is refused), with `Retry-After`.
struct RateLimited;

impl utoipa::Modify for RateLimited {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            ContentBuilder, HeaderBuilder, Ref, ResponseBuilder, Type, schema::ObjectBuilder,
        };
        let response = ResponseBuilder::new()
            .description("Too many requests: wait `Retry-After` seconds.")
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1)),
                    )
                    .description(Some("Seconds to wait before the next request."))
                    .build(),
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for item in api.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .insert("429".into(), response.clone().into());
            }
        }
    }
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = api.components.as_mut() {
            c.add_security_scheme(
                "admin_token",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// Every documented API route (paths relative to /api/v1).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(tenants::list)
        .service(tenants::create)
        .service(tenants::show)
        .service(tenants::update)
        .service(domains::list)
        .service(domains::add)
        .service(domains::remove)
        .service(connections::list)
        .service(connections::add_saml)
        .service(connections::add_oidc)
        .service(connections::show)
        .service(connections::update)
        .service(connections::remove)
        .service(users::counts)
        .service(users::list)
        .service(users::create)
        .service(users::show)
        .service(users::deactivate)
        .service(users::reactivate)
        .service(users::unlink_identity)
        .service(workbench::list)
        .service(workbench::apply)
        .service(sign_ins::list)
        .service(sign_ins::refusal_counts)
        .service(scim_tokens::list)
        .service(scim_tokens::create)
        .service(scim_tokens::revoke)
        .service(admins::list)
        .service(admins::grant)
        .service(admins::revoke)
        .service(outbox::list)
        .service(outbox::retry)
        .service(roles::list_rules)
        .service(roles::add_rule)
        .service(roles::remove_rule)
        .service(roles::user_roles)
        .service(roles::set_user_roles)
        .service(audit::for_tenant)
        .service(audit::everywhere);
}

fn config(cfg: &mut ServiceConfig) {
    // Path parameters are strings or integers; a segment that is not an integer is a 400.
    cfg.app_data(web::PathConfig::default().error_handler(|e, _| {
        ApiError::BadRequest {
            message: format!("path: {e}"),
            field: None,
        }
        .into()
    }))
    .default_service(web::to(no_route));
}

/// Every path under /api/v1 that no route takes: 405 with `Allow` when the path exists with
/// other methods, 404 otherwise, both in the API's error format.
async fn no_route(req: HttpRequest) -> HttpResponse {
    let path = req.path().strip_prefix("/api/v1").unwrap_or(req.path());
    let allowed = documented_routes()
        .iter()
        .filter(|(_, template)| template_matches(template, path))
        .map(|(m, _)| m.as_str())
        .collect::<Vec<_>>();
    if allowed.is_empty() || allowed.contains(&req.method().as_str()) {
        return error::route_not_found();
    }
    error::method_not_allowed(&allowed.join(", "))
}

/// (method, path template) of every documented operation.
fn documented_routes() -> &'static [(Method, String)] {
    static ROUTES: OnceLock<Vec<(Method, String)>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let (_, doc) = mount(actix_web::App::new());
        let mut out = Vec::new();
        for (path, item) in doc.paths.paths {
            let template = path.strip_prefix("/api/v1").unwrap_or(&path).to_owned();
            let ops = [
                (Method::GET, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::PATCH, item.patch.is_some()),
                (Method::DELETE, item.delete.is_some()),
            ];
            out.extend(
                ops.into_iter()
                    .filter(|(_, present)| *present)
                    .map(|(m, _)| (m, template.clone())),
            );
        }
        out
    })
}

/// `/tenants/{tenant}/domains` matches `/tenants/acme/domains`.
fn template_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (
        template.trim_matches('/').split('/').collect(),
        path.trim_matches('/').split('/').collect(),
    );
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// Mounts the API on an actix app and returns the OpenAPI document it describes.
pub fn mount<T>(app: actix_web::App<T>) -> (actix_web::App<T>, utoipa::openapi::OpenApi)
where
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Error = actix_web::Error,
            InitError = (),
        >,
{
    use utoipa::Modify;
    use utoipa_actix_web::AppExt;
    let (app, mut doc) = app
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(
            utoipa_actix_web::scope("/api/v1")
                .configure(config)
                .configure(routes)
                .wrap(actix_web::middleware::from_fn(auth::authenticate)),
        )
        .split_for_parts();
    // The paths exist only now: a modifier on ApiDoc runs before they are collected.
    RateLimited.modify(&mut doc);
    (app, doc)
}

/// The OpenAPI document as served and committed (pretty JSON, trailing newline).
pub fn openapi_json() -> String {
    let (_, doc) = mount(actix_web::App::new());
    let mut s = doc.to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}

#[get("/api/v1/openapi.json")]
pub async fn openapi_document(doc: web::Data<OpenApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}

/// The generated document, rendered once at start-up.
pub struct OpenApiDocument(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_templates_match_concrete_paths() {
        assert!(template_matches(
            "/tenants/{tenant}/domains",
            "/tenants/acme/domains"
        ));
        assert!(!template_matches(
            "/tenants/{tenant}/domains",
            "/tenants/acme"
        ));
        assert!(!template_matches("/tenants/{tenant}", "/tenants/"));
        assert!(template_matches("/tenants", "/tenants/"));
    }

    #[test]
    fn every_route_is_documented() {
        let routes = documented_routes();
        assert!(routes.len() >= 28, "{routes:?}");
        assert!(
            routes
                .iter()
                .any(|(m, p)| *m == Method::DELETE && p == "/tenants/{tenant}/domains/{domain}")
        );
    }
}
