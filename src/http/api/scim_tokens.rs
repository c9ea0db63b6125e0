//! /api/v1/tenants/{tenant}/scim-tokens: the bearer tokens an IdP provisions users with.
//! A token is shown once, when created; several may be live at once, for rotation.
use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiAdmin, ApiError, ApiJson, ErrorBody};
use crate::http::AppState;
use crate::service::admin::scim_tokens;
use crate::storage::{self, scim_tokens::TokenInfo};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScimToken {
    /// What the token is for, e.g. "Okta provisioning" (1-100 printable characters).
    #[schema(example = "Okta provisioning", min_length = 1, max_length = 100)]
    pub label: String,
}

/// A new token. `token` is shown only in this answer: store it in the IdP now.
#[derive(Serialize, ToSchema)]
pub struct CreatedScimToken {
    pub id: i64,
    pub label: String,
    pub token: String,
    /// The SCIM 2.0 base URL to give the IdP.
    pub base_url: String,
    pub created_at: i64,
}

/// The tenant's SCIM tokens (never the secrets), live and revoked, with when each was last
/// used.
#[utoipa::path(operation_id = "list_scim_tokens", tag = "scim-tokens", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = Vec<TokenInfo>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/scim-tokens")]
pub async fn list(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<Vec<TokenInfo>>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let list =
        storage::block::<_, ApiError, _>(&state.pool, move |c| Ok(scim_tokens::list(c, &t)?))
            .await?;
    Ok(web::Json(list))
}

/// Creates a SCIM token; the answer holds the token (shown once) and the SCIM base URL.
#[utoipa::path(operation_id = "create_scim_token", tag = "scim-tokens", security(("admin_token" = [])), request_body = NewScimToken,
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = CreatedScimToken), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/tenants/{tenant}/scim-tokens")]
pub async fn create(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<NewScimToken>,
) -> Result<HttpResponse, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let label = scim_tokens::parse_label(&body.into_inner().label)?;
    let (now, actor) = (state.clock.unix(), who.0.audit.clone());
    let base_url = format!(
        "{}/t/{}/scim/v2",
        state.base_url.trim_end_matches('/'),
        t.slug
    );
    let created = {
        let label = label.clone();
        storage::block::<_, ApiError, _>(&state.pool, move |c| {
            Ok(scim_tokens::create(c, &t, &label, &actor, now)?)
        })
        .await?
    };
    Ok(HttpResponse::Created().json(CreatedScimToken {
        id: created.id,
        label,
        token: created.token,
        base_url,
        created_at: now,
    }))
}

/// Revokes a SCIM token at once.
#[utoipa::path(operation_id = "revoke_scim_token", tag = "scim-tokens", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("id" = i64, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such live token in this tenant")))]
#[delete("/tenants/{tenant}/scim-tokens/{id}")]
pub async fn revoke(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let (now, actor) = (state.clock.unix(), who.0.audit.clone());
    storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(scim_tokens::revoke(c, &t, id, &actor, now)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
