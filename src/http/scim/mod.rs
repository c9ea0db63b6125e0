//! The SCIM 2.0 server under `/t/{tenant}/scim/v2` (RFC 7644). Every request needs one of the
//! tenant's bearer tokens; every error has a SCIM body.
mod discovery;
mod handlers;
mod metrics;
pub(crate) mod response;

use actix_web::web;

pub use response::ScimHttpError;

/// The spellings of a path directories send: with and without a trailing slash, and the
/// resource types in lower case (`/users/`, `/Groups/{id}/`).
fn paths(p: &str) -> Vec<String> {
    let lower = p.replace("/Users", "/users").replace("/Groups", "/groups");
    let mut out = vec![p.to_owned(), format!("{p}/")];
    if lower != p {
        out.push(format!("{lower}/"));
        out.push(lower);
    }
    out
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    use crate::service::scim::{Groups, Users};
    use handlers::*;
    cfg.service(
        web::scope("/t/{tenant}/scim/v2")
            .wrap(actix_web::middleware::from_fn(metrics::count))
            .service(
                web::resource(paths("/ServiceProviderConfig"))
                    .route(web::get().to(service_provider_config))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource(paths("/ResourceTypes"))
                    .route(web::get().to(resource_types))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource(paths("/ResourceTypes/{id}"))
                    .route(web::get().to(resource_type))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource(paths("/Schemas"))
                    .route(web::get().to(schemas))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource(paths("/Schemas/{id}"))
                    .route(web::get().to(schema))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource(paths("/.search"))
                    .route(web::post().to(search_all))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource(paths("/Users/.search"))
                    .route(web::post().to(search::<Users>))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource(paths("/Users"))
                    .route(web::get().to(list::<Users>))
                    .route(web::post().to(create::<Users>))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource(paths("/Users/{id}"))
                    .route(web::get().to(get::<Users>))
                    .route(web::put().to(replace::<Users>))
                    .route(web::patch().to(users_patch))
                    .route(web::delete().to(delete::<Users>))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource(paths("/Groups/.search"))
                    .route(web::post().to(search::<Groups>))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource(paths("/Groups"))
                    .route(web::get().to(list::<Groups>))
                    .route(web::post().to(create::<Groups>))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource(paths("/Groups/{id}"))
                    .route(web::get().to(get::<Groups>))
                    .route(web::put().to(replace::<Groups>))
                    .route(web::patch().to(groups_patch))
                    .route(web::delete().to(delete::<Groups>))
                    .default_service(web::to(method_not_allowed)),
            )
            .default_service(web::to(not_found)),
    );
}
