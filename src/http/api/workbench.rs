//! /api/v1/tenants/{tenant}/workbench: the provisioning workbench's views (new, existing,
//! deleted) and Save, which applies a list of actions in one transaction.
use actix_web::{get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ApiAdmin, ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::http::AppState;
use crate::service::admin::workbench::{
    self, ApplyRequest, ApplyResult, WorkbenchPage, WorkbenchQuery, WorkbenchView,
};
use crate::storage;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkbenchParams {
    /// Page size, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_after` of the previous page (a row key).
    #[param(max_length = 40)]
    pub after: Option<String>,
}

/// One view of the workbench, a page at a time: `new` (sign-ins refused `not_set_up`,
/// `email_domain_not_allowed`, `identity_conflict` or `iwms_id_conflict`, one row per
/// person with the number of refusals and the last try, then SCIM users who never signed
/// in), `existing` (active users with a linked identity and their latest sign-in) or
/// `deleted` (deprovisioned or deactivated users the directory knows). Each row says which
/// actions it accepts.
#[utoipa::path(operation_id = "list_workbench", tag = "workbench", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("view" = WorkbenchView, Path, description = "new, existing or deleted"), WorkbenchParams),
    responses((status = 200, body = WorkbenchPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/workbench/{view}")]
pub async fn list(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: ApiQuery<WorkbenchParams>,
) -> Result<web::Json<WorkbenchPage>, ApiError> {
    let (tenant, view) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let view = WorkbenchView::parse(&view).ok_or_else(|| {
        ApiError::not_found(format!(
            "workbench view `{}`",
            view.chars().take(40).collect::<String>()
        ))
    })?;
    let p = query.into_inner();
    let q = WorkbenchQuery {
        view,
        limit: p.limit.unwrap_or(super::users::DEFAULT_LIMIT),
        after: p.after,
    };
    let page =
        storage::block::<_, ApiError, _>(&state.pool, move |c| Ok(workbench::list(c, &t, &q)?))
            .await?;
    Ok(web::Json(page))
}

/// Save: applies the actions in order, in one transaction, each on the audit trail. When one
/// is refused, none is applied and the answer names it (`action <n> (<row>): …`).
#[utoipa::path(operation_id = "apply_workbench", tag = "workbench", security(("admin_token" = [])),
    request_body = ApplyRequest,
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = ApplyResult), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "An action conflicts with what exists; nothing was applied")))]
#[post("/tenants/{tenant}/workbench")]
pub async fn apply(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<ApplyRequest>,
) -> Result<web::Json<ApplyResult>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let (actor, now, req) = (who.0.audit.clone(), state.clock.unix(), body.into_inner());
    let done = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(workbench::apply(c, &t, &req, &actor, now)?)
    })
    .await?;
    Ok(web::Json(done))
}
