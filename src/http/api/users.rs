//! /api/v1/tenants/{tenant}/users: the console's user views, a user's detail with timeline,
//! adding a user by hand, and the lifecycle actions (deactivate, reactivate, unlink an
//! identity). Users are never deleted.
use actix_web::{HttpResponse, delete, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ApiAdmin, ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::http::AppState;
use crate::service::admin::users::{
    self as admin_users, NewUserInput, UserCounts, UserDetailView, UserListItem, UserPage,
    UserQuery, UserViewKind,
};
use crate::storage;

/// Rows per page when `limit` is not given.
pub const DEFAULT_LIMIT: i64 = 50;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Which users: active (default), stale (flagged), deactivated, deprovisioned (by SCIM),
    /// or all.
    #[param(inline)]
    pub view: Option<UserViewKind>,
    /// Case-insensitive prefix of the email, first name, last name or IWMS ID; or
    /// "first last" prefixes.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Page size, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_after` of the previous page.
    #[param(minimum = 1)]
    pub after: Option<i64>,
}

/// Users newest first, a page at a time; each with their latest sign-in attempt.
#[utoipa::path(operation_id = "list_users", tag = "users", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"), UserListParams),
    responses((status = 200, body = UserPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/users")]
pub async fn list(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: ApiQuery<UserListParams>,
) -> Result<web::Json<UserPage>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let p = query.into_inner();
    let q = UserQuery {
        view: p.view.unwrap_or(UserViewKind::Active),
        search: p.q,
        limit: p.limit.unwrap_or(DEFAULT_LIMIT),
        after: p.after,
    };
    let page = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(admin_users::list_users(c, &t, &q)?)
    })
    .await?;
    Ok(web::Json(page))
}

/// How many users each view holds.
#[utoipa::path(operation_id = "count_users", tag = "users", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = UserCounts), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/users/counts")]
pub async fn counts(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<UserCounts>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let counts = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(admin_users::user_counts(c, &t)?)
    })
    .await?;
    Ok(web::Json(counts))
}

/// Adds a user by hand ("created by admin"), before their first sign-in: their email's domain
/// must be whitelisted (the sign-in links to this user by it). The IWMS hears `user.created`.
#[utoipa::path(operation_id = "create_user", tag = "users", security(("admin_token" = [])),
    request_body = NewUserInput,
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = UserListItem), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Another user has this email or IWMS ID")))]
#[post("/tenants/{tenant}/users")]
pub async fn create(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<NewUserInput>,
) -> Result<HttpResponse, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let (actor, now, input) = (who.0.audit.clone(), state.clock.unix(), body.into_inner());
    let item = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(admin_users::create_user(c, &t, &input, &actor, now)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(item))
}

/// A user: every attribute (the whole SCIM document too), linked identities, groups, and the
/// lifecycle timeline, oldest first: every change (the newest 2,000 and the creation) and the
/// newest 100 sign-in attempts; `timeline_truncated` says more exist.
#[utoipa::path(operation_id = "get_user", tag = "users", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserDetailView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/users/{id}")]
pub async fn show(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> Result<web::Json<UserDetailView>, ApiError> {
    let (tenant, id) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let detail = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(admin_users::user_detail(c, &t, id)?)
    })
    .await?;
    Ok(web::Json(detail))
}

/// Deactivates the user: sign-ins are refused and their sessions end at once.
#[utoipa::path(operation_id = "deactivate_user", tag = "users", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserListItem), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Already deactivated")))]
#[post("/tenants/{tenant}/users/{id}/deactivate")]
pub async fn deactivate(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> Result<web::Json<UserListItem>, ApiError> {
    let (tenant, id) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let (actor, now) = (who.0.audit.clone(), state.clock.unix());
    let item = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(admin_users::deactivate_user(c, &t, id, &actor, now)?)
    })
    .await?;
    Ok(web::Json(item))
}

/// Makes a deactivated user active again. A user SCIM deprovisioned cannot be: the identity
/// provider must provision them again (409).
#[utoipa::path(operation_id = "reactivate_user", tag = "users", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserListItem), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Already active, or deprovisioned by SCIM")))]
#[post("/tenants/{tenant}/users/{id}/reactivate")]
pub async fn reactivate(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> Result<web::Json<UserListItem>, ApiError> {
    let (tenant, id) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let (actor, now) = (who.0.audit.clone(), state.clock.unix());
    let item = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(admin_users::reactivate_user(c, &t, id, &actor, now)?)
    })
    .await?;
    Ok(web::Json(item))
}

/// Unlinks one IdP identity from the user; the user and their history stay. The next sign-in
/// with that identity is matched again by the provisioning rules.
#[utoipa::path(operation_id = "unlink_identity", tag = "users", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("id" = i64, Path, description = "User id"),
        ("identity_id" = i64, Path, description = "Identity id (from the user's `identities`)")),
    responses((status = 204, description = "Unlinked"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/tenants/{tenant}/users/{id}/identities/{identity_id}")]
pub async fn unlink_identity(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id, identity_id) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let (actor, now) = (who.0.audit.clone(), state.clock.unix());
    storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(admin_users::unlink_identity(
            c,
            &t,
            id,
            identity_id,
            &actor,
            now,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
