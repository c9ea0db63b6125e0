//! /api/v1/tenants/{tenant}/domains: the email domains whose users the tenant signs in. A
//! domain belongs to at most one tenant.
use actix_web::{HttpResponse, delete, get, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApiAdmin, ApiError, ApiJson, ErrorBody};
use crate::http::AppState;
use crate::service::admin::{self, DomainView};
use crate::storage::{self, domains};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainBody {
    /// An email domain such as `acme.test` (lower-cased; no wildcards).
    #[schema(example = "acme.test")]
    pub domain: String,
}

/// The tenant's whitelisted email domains, in alphabetical order.
#[utoipa::path(operation_id = "list_domains", tag = "domains", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = Vec<DomainView>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/domains")]
pub async fn list(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<Vec<DomainView>>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let views = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(domains::list_for_tenant(c, t.id)?
            .iter()
            .map(|d| DomainView {
                tenant: t.slug.to_string(),
                domain: d.to_string(),
            })
            .collect())
    })
    .await?;
    Ok(web::Json(views))
}

/// Whitelists a domain. 409 when this tenant already has it or another tenant owns it.
#[utoipa::path(operation_id = "add_domain", tag = "domains", security(("admin_token" = [])), request_body = DomainBody,
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = DomainView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The domain is already whitelisted here, or belongs to another tenant")))]
#[post("/tenants/{tenant}/domains")]
pub async fn add(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<DomainBody>,
) -> Result<HttpResponse, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let (now, actor) = (state.clock.unix(), who.0.audit.clone());
    let domain = body.into_inner().domain;
    let d = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(
            admin::add_domain(c, t.slug.as_str(), &domain, &actor, now).map(|d| DomainView {
                tenant: t.slug.to_string(),
                domain: d.to_string(),
            })?,
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(d))
}

/// Removes a domain from the whitelist; its users stay.
#[utoipa::path(operation_id = "remove_domain", tag = "domains", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("domain" = String, Path, description = "The email domain")),
    responses((status = 204, description = "Removed"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/tenants/{tenant}/domains/{domain}")]
pub async fn remove(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, domain) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let (now, actor) = (state.clock.unix(), who.0.audit.clone());
    storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(admin::remove_domain(
            c,
            t.slug.as_str(),
            &domain,
            &actor,
            now,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
