//! /api/v1/tenants/{tenant}/role-rules and /api/v1/tenants/{tenant}/users/{id}/roles: the
//! rules mapping groups to roles, and the roles an admin sets by hand on a user.
use actix_web::{HttpResponse, delete, get, post, put, web};

use super::{ApiAdmin, ApiError, ApiJson, ErrorBody};
use crate::http::AppState;
use crate::service::admin::roles::{
    self, ManualRolesInput, RoleRuleInput, RoleRuleView, UserRolesView,
};
use crate::storage;

/// The tenant's role rules, by group then role.
#[utoipa::path(operation_id = "list_role_rules", tag = "roles", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = Vec<RoleRuleView>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/role-rules")]
pub async fn list_rules(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<Vec<RoleRuleView>>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let views =
        storage::block::<_, ApiError, _>(&state.pool, move |c| Ok(roles::list_rules(c, &t)?))
            .await?;
    Ok(web::Json(views))
}

/// Adds a rule: members of `group` (from the IdP's groups attribute or SCIM; matched
/// case-insensitively) get `role`. The roles of every user with a group are recomputed now.
#[utoipa::path(operation_id = "add_role_rule", tag = "roles", security(("admin_token" = [])), request_body = RoleRuleInput,
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = RoleRuleView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The same rule exists")))]
#[post("/tenants/{tenant}/role-rules")]
pub async fn add_rule(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<RoleRuleInput>,
) -> Result<HttpResponse, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let (now, actor) = (state.clock.unix(), who.0.audit.clone());
    let input = body.into_inner();
    let v = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(roles::add_rule(c, &t, &input, &actor, now)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(v))
}

/// Removes a rule; the roles it gave are removed from users (roles set by hand stay).
#[utoipa::path(operation_id = "remove_role_rule", tag = "roles", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("id" = i64, Path, description = "Rule id")),
    responses((status = 204, description = "Removed"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/tenants/{tenant}/role-rules/{id}")]
pub async fn remove_rule(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let (now, actor) = (state.clock.unix(), who.0.audit.clone());
    storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(roles::remove_rule(c, &t, id, &actor, now)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A user's groups and roles, and where each role comes from.
#[utoipa::path(operation_id = "get_user_roles", tag = "roles", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserRolesView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/users/{id}/roles")]
pub async fn user_roles(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> Result<web::Json<UserRolesView>, ApiError> {
    let (tenant, id) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let v =
        storage::block::<_, ApiError, _>(&state.pool, move |c| Ok(roles::user_roles(c, &t, id)?))
            .await?;
    Ok(web::Json(v))
}

/// Replaces the roles set by hand on the user (kept at every sign-in and SCIM change,
/// whatever the groups say); roles from groups are untouched. `{"roles": []}` clears them.
#[utoipa::path(operation_id = "set_user_roles", tag = "roles", security(("admin_token" = [])), request_body = ManualRolesInput,
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserRolesView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/tenants/{tenant}/users/{id}/roles")]
pub async fn set_user_roles(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
    body: ApiJson<ManualRolesInput>,
) -> Result<web::Json<UserRolesView>, ApiError> {
    let (tenant, id) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let (now, actor) = (state.clock.unix(), who.0.audit.clone());
    let input = body.into_inner();
    let v = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(roles::set_user_roles(c, &t, id, &input, &actor, now)?)
    })
    .await?;
    Ok(web::Json(v))
}
