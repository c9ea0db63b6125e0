//! The SCIM 2.0 server under `/t/{tenant}/scim/v2` (RFC 7644). Every request needs one of the
//! tenant's bearer tokens; every error has a SCIM body.
mod discovery;
mod handlers;
pub(crate) mod response;

use actix_web::web;

pub use response::ScimHttpError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use crate::service::scim::{Groups, Users};
    use handlers::*;
    cfg.service(
        web::scope("/t/{tenant}/scim/v2")
            .service(
                web::resource("/ServiceProviderConfig")
                    .route(web::get().to(service_provider_config))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/ResourceTypes")
                    .route(web::get().to(resource_types))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/ResourceTypes/{id}")
                    .route(web::get().to(resource_type))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Schemas")
                    .route(web::get().to(schemas))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Schemas/{id}")
                    .route(web::get().to(schema))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/.search")
                    .route(web::post().to(search_all))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Users/.search")
                    .route(web::post().to(search::<Users>))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Users")
                    .route(web::get().to(list::<Users>))
                    .route(web::post().to(create::<Users>))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Users/{id}")
                    .route(web::get().to(get::<Users>))
                    .route(web::put().to(replace::<Users>))
                    .route(web::patch().to(users_patch))
                    .route(web::delete().to(delete::<Users>))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Groups/.search")
                    .route(web::post().to(search::<Groups>))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Groups")
                    .route(web::get().to(list::<Groups>))
                    .route(web::post().to(create::<Groups>))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Groups/{id}")
                    .route(web::get().to(get::<Groups>))
                    .route(web::put().to(replace::<Groups>))
                    .route(web::patch().to(groups_patch))
                    .route(web::delete().to(delete::<Groups>))
                    .default_service(web::to(method_not_allowed)),
            )
            .default_service(web::to(not_found)),
    );
}
