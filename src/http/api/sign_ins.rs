//! /api/v1/tenants/{tenant}/sign-ins: every sign-in attempt, successful or not, with its
//! reason code.
use actix_web::{get, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{ApiAdmin, ApiError, ApiQuery, ErrorBody};
use crate::http::AppState;
use crate::service::admin::users::{self as admin_users, SignInPage, SignInQuery};
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
