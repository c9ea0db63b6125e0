//! /api/v1/tenants/{tenant}/admins: who may administer the tenant by grant (besides the IdP's
//! mapped admin role). Grants are by email; the person signs in through the tenant's SSO.
use actix_web::{HttpResponse, delete, get, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApiAdmin, ApiError, ApiJson, ErrorBody};
use crate::http::AppState;
use crate::service::admin::access;
use crate::storage::{self, admin::Grant};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    #[schema(example = "ann@acme.test")]
    pub email: String,
}

/// The tenant's admin grants.
#[utoipa::path(operation_id = "list_admins", tag = "admins", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = Vec<Grant>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/admins")]
pub async fn list(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<Vec<Grant>>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let grants = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(access::grants(c, t.slug.as_str())?)
    })
    .await?;
    Ok(web::Json(grants))
}

/// Makes the person with this email an admin of the tenant (201), or confirms they already
/// are (200). `granted_by` records this token.
#[utoipa::path(operation_id = "grant_admin", tag = "admins", security(("admin_token" = [])), request_body = NewGrant,
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = Grant, description = "Granted"),
        (status = 200, body = Grant, description = "Already granted; the first grant stays"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
#[post("/tenants/{tenant}/admins")]
pub async fn grant(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<NewGrant>,
) -> Result<HttpResponse, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let email = body.into_inner().email;
    let (actor, now) = (who.0.audit.clone(), state.clock.unix());
    let (created, grant) = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        let created = access::grant(c, t.slug.as_str(), &email, &actor, now)?;
        let wanted = email.trim().to_ascii_lowercase();
        let grant = access::grants(c, t.slug.as_str())?
            .into_iter()
            .find(|g| g.email.eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| ApiError::not_found(format!("admin grant for `{wanted}`")))?;
        Ok((created, grant))
    })
    .await?;
    Ok(if created {
        HttpResponse::Created().json(grant)
    } else {
        HttpResponse::Ok().json(grant)
    })
}

/// Removes the grant and ends that person's console sessions in the tenant. (Someone the IdP
/// maps to the admin role is still an admin at their next sign-in.)
#[utoipa::path(operation_id = "revoke_admin", tag = "admins", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("email" = String, Path, description = "The admin's email")),
    responses((status = 204, description = "Revoked"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/tenants/{tenant}/admins/{email}")]
pub async fn revoke(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, email) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let (actor, now) = (who.0.audit.clone(), state.clock.unix());
    storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(access::revoke(c, t.slug.as_str(), &email, &actor, now)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
