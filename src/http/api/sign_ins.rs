//! /api/v1/tenants/{tenant}/sign-ins: every sign-in attempt, successful or not, with its
//! reason code; /api/v1/tenants/{tenant}/refusal-counts: the refusals that nothing tied to a
//! sign-in, counted per connection, reason and hour.
use actix_web::{get, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{ApiAdmin, ApiError, ApiQuery, ErrorBody};
use crate::http::AppState;
use crate::service::admin::users::{
    self as admin_users, RefusalCountPage, RefusalCountQuery, SignInPage, SignInQuery,
};
use crate::storage;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignInParams {
    #[param(inline)]
    pub outcome: Option<Outcome>,
    /// A reason code such as `user_deactivated` or `invalid_signature` (`success` for
    /// successful sign-ins).
    #[param(max_length = 64)]
    pub reason: Option<String>,
    /// A connection slug of the tenant (removed connections included).
    #[param(max_length = 64)]
    pub connection: Option<String>,
    /// A user id.
    pub user: Option<i64>,
    /// Page size, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_before` of the previous page.
    #[param(minimum = 1)]
    pub before: Option<i64>,
}

/// Sign-in attempts newest first, filtered, a page at a time.
#[utoipa::path(operation_id = "list_sign_ins", tag = "sign-ins", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"), SignInParams),
    responses((status = 200, body = SignInPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such tenant, or no such connection")))]
#[get("/tenants/{tenant}/sign-ins")]
pub async fn list(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: ApiQuery<SignInParams>,
) -> Result<web::Json<SignInPage>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let p = query.into_inner();
    let q = SignInQuery {
        outcome: p.outcome.map(|o| {
            match o {
                Outcome::Success => "success",
                Outcome::Failure => "failure",
            }
            .to_owned()
        }),
        reason: p.reason,
        connection: p.connection,
        user: p.user,
        limit: p.limit.unwrap_or(super::users::DEFAULT_LIMIT),
        before: p.before,
    };
    let page = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(admin_users::sign_ins(c, &t, &q)?)
    })
    .await?;
    Ok(web::Json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefusalCountParams {
    /// A reason code such as `destination_mismatch` or `unknown_state`.
    #[param(max_length = 64)]
    pub reason: Option<String>,
    /// A connection slug of the tenant (removed connections included).
    #[param(max_length = 64)]
    pub connection: Option<String>,
    /// Page size, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_before` of the previous page.
    #[param(minimum = 1)]
    pub before: Option<i64>,
}

/// Refusals that nothing tied to a sign-in (no valid IdP signature, no pending request of the
/// browser: an unsigned post, an unknown OIDC `state`), counted per connection, reason and
/// hour instead of listed one by one; newest first, a page at a time.
#[utoipa::path(operation_id = "list_refusal_counts", tag = "sign-ins", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"), RefusalCountParams),
    responses((status = 200, body = RefusalCountPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such tenant, or no such connection")))]
#[get("/tenants/{tenant}/refusal-counts")]
pub async fn refusal_counts(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: ApiQuery<RefusalCountParams>,
) -> Result<web::Json<RefusalCountPage>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let p = query.into_inner();
    let q = RefusalCountQuery {
        reason: p.reason,
        connection: p.connection,
        limit: p.limit.unwrap_or(super::users::DEFAULT_LIMIT),
        before: p.before,
    };
    let page = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(admin_users::refusal_counts(c, &t, &q)?)
    })
    .await?;
    Ok(web::Json(page))
}
