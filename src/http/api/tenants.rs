//! /api/v1/tenants: list, create (super-admin), read and change settings.
use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApiAdmin, ApiError, ApiJson};
use crate::http::AppState;
use crate::service::admin::{self, TenantInput, TenantView, access};
use crate::storage;

/// Tenant settings; absent fields keep their value, `null` clears a clearable one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantBody {
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    pub auto_create_users: Option<bool>,
    /// The IdP attribute carrying the IWMS ID ("local attribute mapping of the IWMS user ID").
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    pub iwms_attribute: Option<Option<String>>,
    /// The SCIM attribute carrying the IWMS ID (e.g. employeeNumber).
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    pub scim_iwms_attribute: Option<Option<String>>,
    pub auto_create_iwms: Option<bool>,
    /// Super-admin only: where IWMS events are POSTed.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    pub iwms_endpoint: Option<Option<String>>,
    /// Super-admin only: `file:/path` or `env:NAME` holding the signing secret.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    pub iwms_secret: Option<Option<String>>,
    /// Comma-separated event names, or `all`.
    pub iwms_events: Option<String>,
    /// The IWMS field a person is looked up by before an IWMS account is created:
    /// `iwms_id`, `email`, `employee_number`, `user_name`; `null` or `none`: no lookup.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>, example = "email")]
    pub iwms_join_key: Option<Option<String>>,
    /// Days without a sign-in before a user is flagged stale.
    #[schema(minimum = 1, maximum = 3650)]
    pub stale_after_days: Option<i64>,
    /// Origins (scheme://host[:port]) return_to may point at.
    pub allowed_return_origins: Option<Vec<String>>,
    /// Attributes `/auth/verify` sends as `X-Auth-Request-*` headers: any of `department`,
    /// `title`, `employee-number`, `manager`; `[]` sends none.
    #[schema(example = json!(["department", "manager"]))]
    pub forward_attributes: Option<Vec<String>>,
}

impl TenantBody {
    fn into_input(self, who: &ApiAdmin) -> Result<TenantInput, ApiError> {
        if (self.iwms_endpoint.is_some() || self.iwms_secret.is_some()) && !who.0.is_super() {
            // The server fetches and signs with these: a tenant admin must not point them at
            // internal hosts or server files.
            return Err(ApiError::Forbidden(
                "only a super-admin may set iwms_endpoint or iwms_secret",
            ));
        }
        Ok(TenantInput {
            display_name: self.display_name,
            auto_create_users: self.auto_create_users,
            iwms_attribute: self.iwms_attribute,
            scim_iwms_attribute: self.scim_iwms_attribute,
            auto_create_iwms: self.auto_create_iwms,
            iwms_endpoint: self.iwms_endpoint,
            iwms_secret: self.iwms_secret,
            iwms_events: self.iwms_events,
            iwms_join_key: self.iwms_join_key,
            stale_after_days: self.stale_after_days,
            allowed_return_origins: self.allowed_return_origins,
            forward_attributes: self.forward_attributes,
        })
    }
}

/// The tenants this token may administer.
#[utoipa::path(operation_id = "list_tenants", tag = "tenants", security(("admin_token" = [])),
    responses((status = 200, body = Vec<TenantView>), (status = 401, body = super::ErrorBody)))]
#[get("/tenants")]
pub async fn list(
    who: ApiAdmin,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<TenantView>>, ApiError> {
    let principal = who.0;
    let views = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        access::visible_tenants(c, &principal)?
            .iter()
            .map(|t| admin::tenant_view(c, t).map_err(ApiError::from))
            .collect()
    })
    .await?;
    Ok(web::Json(views))
}

/// A new tenant: its slug and any of the settings (defaults otherwise).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantBody {
    /// Lower-case letters, digits and dashes; it appears in URLs and never changes.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$", example = "acme")]
    pub slug: String,
    /// Defaults to the slug.
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    pub auto_create_users: Option<bool>,
    /// The IdP attribute carrying the IWMS ID ("local attribute mapping of the IWMS user ID").
    pub iwms_attribute: Option<String>,
    /// The SCIM attribute carrying the IWMS ID (e.g. employeeNumber).
    pub scim_iwms_attribute: Option<String>,
    pub auto_create_iwms: Option<bool>,
    /// Where IWMS events are POSTed.
    pub iwms_endpoint: Option<String>,
    /// `file:/path` or `env:NAME` holding the signing secret.
    pub iwms_secret: Option<String>,
    /// Comma-separated event names, or `all`.
    pub iwms_events: Option<String>,
    /// The IWMS field a person is looked up by before an IWMS account is created:
    /// `iwms_id`, `email`, `employee_number`, `user_name` (default: no lookup).
    #[schema(example = "email")]
    pub iwms_join_key: Option<String>,
    /// Days without a sign-in before a user is flagged stale (default 90).
    #[schema(minimum = 1, maximum = 3650)]
    pub stale_after_days: Option<i64>,
    /// Origins (scheme://host[:port]) return_to may point at.
    pub allowed_return_origins: Option<Vec<String>>,
    /// Attributes `/auth/verify` sends as `X-Auth-Request-*` headers: any of `department`,
    /// `title`, `employee-number`, `manager`.
    pub forward_attributes: Option<Vec<String>>,
}

impl NewTenantBody {
    fn split(self) -> (String, TenantBody) {
        (
            self.slug,
            TenantBody {
                display_name: self.display_name,
                auto_create_users: self.auto_create_users,
                iwms_attribute: self.iwms_attribute.map(Some),
                scim_iwms_attribute: self.scim_iwms_attribute.map(Some),
                auto_create_iwms: self.auto_create_iwms,
                iwms_endpoint: self.iwms_endpoint.map(Some),
                iwms_secret: self.iwms_secret.map(Some),
                iwms_events: self.iwms_events,
                iwms_join_key: self.iwms_join_key.map(Some),
                stale_after_days: self.stale_after_days,
                allowed_return_origins: self.allowed_return_origins,
                forward_attributes: self.forward_attributes,
            },
        )
    }
}

/// Creates a tenant (super-admin only).
#[utoipa::path(operation_id = "create_tenant", tag = "tenants", security(("admin_token" = [])), request_body = NewTenantBody,
    responses((status = 201, body = TenantView), (status = 400, body = super::ErrorBody),
        (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody)))]
#[post("/tenants")]
pub async fn create(
    who: ApiAdmin,
    state: web::Data<AppState>,
    body: ApiJson<NewTenantBody>,
) -> Result<HttpResponse, ApiError> {
    who.require_super()?;
    let (slug, settings) = body.into_inner().split();
    let input = settings.into_input(&who)?;
    let (now, actor) = (state.clock.unix(), who.0.audit.clone());
    let view = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        let t = admin::create_tenant(c, &slug, &input, &actor, now)?;
        Ok(admin::tenant_view(c, &t)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(operation_id = "get_tenant", tag = "tenants", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = TenantView), (status = 401, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody)))]
#[get("/tenants/{tenant}")]
pub async fn show(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<TenantView>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let view =
        storage::block::<_, ApiError, _>(&state.pool, move |c| Ok(admin::tenant_view(c, &t)?))
            .await?;
    Ok(web::Json(view))
}

/// Changes settings; absent fields keep their value, `null` clears a clearable one.
/// `iwms_endpoint` and `iwms_secret` are super-admin only (403 for a tenant token).
#[utoipa::path(operation_id = "update_tenant", tag = "tenants", security(("admin_token" = [])), request_body = TenantBody,
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = TenantView), (status = 400, body = super::ErrorBody),
        (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody)))]
#[patch("/tenants/{tenant}")]
pub async fn update(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<TenantBody>,
) -> Result<web::Json<TenantView>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let input = body.into_inner().into_input(&who)?;
    let (now, actor) = (state.clock.unix(), who.0.audit.clone());
    let view = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        let t = admin::update_tenant(c, t.slug.as_str(), &input, &actor, now)?;
        Ok(admin::tenant_view(c, &t)?)
    })
    .await?;
    Ok(web::Json(view))
}
