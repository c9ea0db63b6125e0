//! /api/v1/tenants/{tenant}/audit: the tenant's admin changes; /api/v1/audit: every tenant's
//! (super-admins). Newest first, a page at a time.
use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ApiAdmin, ApiError, ApiQuery, ErrorBody};
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::service::admin::audit::{self, AuditPage, AuditQuery};
use crate::storage;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Page size, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_before` of the previous page.
    #[param(minimum = 1)]
    pub before: Option<i64>,
}

async fn page(
    state: &AppState,
    tenant: Option<Tenant>,
    p: AuditParams,
) -> Result<web::Json<AuditPage>, ApiError> {
    let q = AuditQuery {
        limit: p.limit.unwrap_or(super::users::DEFAULT_LIMIT),
        before: p.before,
    };
    let page = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(audit::list(c, tenant.as_ref(), &q)?)
    })
    .await?;
    Ok(web::Json(page))
}

/// Who changed what in the tenant (console, API or CLI), with the resource before and after;
/// newest first. Secrets are never recorded.
#[utoipa::path(operation_id = "list_tenant_audit", tag = "audit", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"), AuditParams),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/audit")]
pub async fn for_tenant(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: ApiQuery<AuditParams>,
) -> Result<web::Json<AuditPage>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    page(&state, Some(t), query.into_inner()).await
}

/// Every tenant's admin changes, and those that belong to no tenant (super-admins only).
#[utoipa::path(operation_id = "list_audit", tag = "audit", security(("admin_token" = [])),
    params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/audit")]
pub async fn everywhere(
    who: ApiAdmin,
    state: web::Data<AppState>,
    query: ApiQuery<AuditParams>,
) -> Result<web::Json<AuditPage>, ApiError> {
    who.require_super()?;
    page(&state, None, query.into_inner()).await
}
