//! /api/v1/tenants/{tenant}/connections: the tenant's SAML IdPs and OpenID providers, with the
//! values to configure at the IdP. Secrets (the OIDC client secret) are never returned. The
//! request bodies here are the wire format only: each handler translates its body into one
//! `service::admin::connections` command and answers with its `ConnectionView`.
use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApiAdmin, ApiError, ApiJson, ErrorBody};
use crate::http::AppState;
use crate::protocol::saml::certificate;
use crate::service::admin::connections::{
    self as conns, AdminRole, ConnectionSummary, ConnectionView, NewOidc, NewSaml, OidcPatch,
    SamlPatch,
};
use crate::service::admin::metadata::{self, Fetcher};
use crate::service::admin::{self, AdminError};
use crate::storage;

fn fetcher(state: &AppState) -> Fetcher {
    Fetcher::new(
        state.oidc_http.clone(),
        state.settings.oidc.allow_http_loopback,
    )
}

fn sp_can_sign(state: &AppState) -> bool {
    state.sp_signing.is_some()
}

/// The service names the role's halves as the console's form fields; this API nests them.
fn role_fields(e: AdminError) -> ApiError {
    let nested = |field| match field {
        "admin_role_attribute" => "admin_role.attribute",
        "admin_role_value" => "admin_role.value",
        other => other,
    };
    match e {
        AdminError::Invalid { field, message } => AdminError::Invalid {
            field: nested(field),
            message,
        }
        .into(),
        other => other.into(),
    }
}

fn check_role(role: Option<&AdminRole>) -> Result<(), ApiError> {
    role.map(conns::admin_role_rule)
        .transpose()
        .map_err(role_fields)?;
    Ok(())
}

/// Each item: PEM text holding one or more certificates, or one certificate as bare base64 DER.
fn pem_certificates(field: &str, items: &[String]) -> Result<Vec<Vec<u8>>, ApiError> {
    let mut out = Vec::new();
    for (i, raw) in items.iter().enumerate() {
        out.extend(certificate::read(raw.as_bytes()).ok_or_else(|| {
            ApiError::invalid(
                &format!("{field}[{i}]"),
                "is not a PEM (or base64 DER) X.509 certificate",
            )
        })?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Handlers.

/// The tenant's active connections (removed ones are left out), by slug.
#[utoipa::path(operation_id = "list_connections", tag = "connections", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = Vec<ConnectionSummary>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/connections")]
pub async fn list(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<Vec<ConnectionSummary>>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let list =
        storage::block::<_, ApiError, _>(&state.pool, move |c| Ok(conns::list_connections(c, &t)?))
            .await?;
    Ok(web::Json(list))
}

/// A connection: its settings (certificates with subject and expiry for SAML), attribute
/// mapping, admin role rule, and the values to enter at the identity provider.
#[utoipa::path(operation_id = "get_connection", tag = "connections", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("connection" = String, Path, description = "Connection slug")),
    responses((status = 200, body = ConnectionView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/connections/{connection}")]
pub async fn show(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<web::Json<ConnectionView>, ApiError> {
    let (tenant, connection) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let slug = conns::path_slug(&connection)?;
    let (base, now) = (state.base_url.clone(), state.clock.unix());
    let view = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(conns::show_connection(c, &base, &t, slug.as_str(), now)?)
    })
    .await?;
    Ok(web::Json(view))
}

/// A new SAML connection. Give exactly one source of the IdP's settings: `metadata_xml`,
/// `metadata_url`, or `idp_entity_id` + `idp_sso_url` + `idp_certificates`. With metadata,
/// `idp_certificates` adds certificates (e.g. the next one during a rotation).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSamlConnection {
    /// Lower-case letters, digits and dashes; it appears in URLs and never changes.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$", example = "okta")]
    pub slug: String,
    /// Shown on the tenant's sign-in page; defaults to the slug.
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    /// The IdP's metadata document (one EntityDescriptor).
    pub metadata_xml: Option<String>,
    /// Where the server fetches the IdP's metadata (https).
    pub metadata_url: Option<String>,
    pub idp_entity_id: Option<String>,
    /// The IdP's HTTP-Redirect single sign-on URL.
    pub idp_sso_url: Option<String>,
    /// PEM certificates (each item may hold several) trusted to sign responses.
    pub idp_certificates: Option<Vec<String>>,
    /// Defaults to all of rsa-sha256, rsa-sha384, rsa-sha512, ecdsa-sha256, ecdsa-sha384,
    /// ecdsa-sha512.
    pub allowed_algorithms: Option<Vec<String>>,
    /// Accept unsolicited (IdP-initiated) responses. Default false.
    pub allow_idp_initiated: Option<bool>,
    /// Accept responses in a browser that lacks the cookie set when the sign-in started
    /// (login-CSRF protection off). Default false.
    pub allow_unbound_responses: Option<bool>,
    /// Sign AuthnRequests (needs the server's SP key). Default false.
    pub sign_requests: Option<bool>,
    /// 0-600, default 60.
    #[schema(minimum = 0, maximum = 600)]
    pub clock_skew_secs: Option<i64>,
    /// Attribute names carrying the email, first; defaults cover common IdPs.
    pub attr_email: Option<Vec<String>>,
    pub attr_first_name: Option<Vec<String>>,
    pub attr_last_name: Option<Vec<String>>,
    /// Overrides the tenant's IWMS ID attribute for this connection.
    pub attr_iwms_id: Option<String>,
    pub admin_role: Option<AdminRole>,
}

impl NewSamlConnection {
    async fn command(self, state: &AppState) -> Result<NewSaml, ApiError> {
        let extra = pem_certificates(
            "idp_certificates",
            self.idp_certificates.as_deref().unwrap_or_default(),
        )?;
        let metadata = metadata::read(
            &fetcher(state),
            self.metadata_xml.as_deref(),
            self.metadata_url.as_deref(),
        )
        .await?;
        Ok(NewSaml {
            slug: self.slug,
            display_name: self.display_name,
            metadata,
            idp_entity_id: self.idp_entity_id,
            idp_sso_url: self.idp_sso_url,
            idp_certificates: extra,
            allowed_algorithms: self.allowed_algorithms,
            allow_idp_initiated: self.allow_idp_initiated.unwrap_or(false),
            allow_unbound_responses: self.allow_unbound_responses.unwrap_or(false),
            sign_requests: self.sign_requests.unwrap_or(false),
            clock_skew_secs: self.clock_skew_secs,
            attr_email: self.attr_email,
            attr_first_name: self.attr_first_name,
            attr_last_name: self.attr_last_name,
            attr_iwms_id: self.attr_iwms_id,
            admin_role: self.admin_role,
        })
    }
}

/// Adds a SAML identity provider from its metadata (pasted or fetched) or explicit settings.
#[utoipa::path(operation_id = "add_saml_connection", tag = "connections", security(("admin_token" = [])),
    description = "Adds a SAML identity provider from its metadata (pasted `metadata_xml` or fetched from `metadata_url`) or from explicit `idp_entity_id`, `idp_sso_url` and `idp_certificates`. The answer shows the parsed entity ID, SSO URL and each certificate with its expiry, and the values to enter at the IdP.\n\nThe server fetches URLs given here itself; so that an admin cannot use it to reach internal hosts, a URL must be https (plain http only to loopback, and only when the server runs with `oidc.allow_http_loopback` for development), redirects are not followed, and host names that resolve to internal addresses are refused.",
    request_body = NewSamlConnection,
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = ConnectionView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The slug is taken (also by a removed connection)")))]
#[post("/tenants/{tenant}/connections/saml")]
pub async fn add_saml(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<NewSamlConnection>,
) -> Result<HttpResponse, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let body = body.into_inner();
    check_role(body.admin_role.as_ref())?;
    let cmd = body.command(&state).await?;
    let (base, now, can_sign) = (
        state.base_url.clone(),
        state.clock.unix(),
        sp_can_sign(&state),
    );
    let actor = who.0.audit.clone();
    let view = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        let conn = admin::add_saml_connection(c, t.slug.as_str(), &cmd, can_sign, &actor, now)
            .map_err(role_fields)?;
        Ok(conns::connection_view(c, &base, &t, &conn, now)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// A new OpenID Connect connection; the server reads the provider's discovery document and
/// keys from `issuer`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOidcConnection {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$", example = "entra")]
    pub slug: String,
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    /// The issuer URL (https); `/.well-known/openid-configuration` is read from it.
    #[schema(example = "https://login.example.com")]
    pub issuer: String,
    pub client_id: String,
    /// Stored, never returned.
    pub client_secret: String,
    /// client_secret_basic (default) or client_secret_post.
    pub client_auth: Option<String>,
    /// Must include `openid`; default openid, email, profile.
    pub scopes: Option<Vec<String>>,
    /// Default RS256, ES256, PS256.
    pub allowed_algorithms: Option<Vec<String>>,
    /// Accept HS256 ID tokens (signed with the client secret, which must then be at least 32
    /// characters). Default false.
    pub allow_hs256: Option<bool>,
    /// Read claims from the userinfo endpoint too. Default false.
    pub use_userinfo: Option<bool>,
    /// 0-600, default 60.
    #[schema(minimum = 0, maximum = 600)]
    pub clock_skew_secs: Option<i64>,
    pub attr_email: Option<Vec<String>>,
    pub attr_first_name: Option<Vec<String>>,
    pub attr_last_name: Option<Vec<String>>,
    pub attr_iwms_id: Option<String>,
    pub admin_role: Option<AdminRole>,
}

impl std::fmt::Debug for NewOidcConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOidcConnection")
            .field("slug", &self.slug)
            .field("issuer", &self.issuer)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Adds an OpenID provider by its issuer.
#[utoipa::path(operation_id = "add_oidc_connection", tag = "connections", security(("admin_token" = [])),
    description = "Adds an OpenID Connect provider: the server reads its discovery document and keys from `issuer`. The answer shows the redirect URI to register at the provider. The client secret is stored and never returned.\n\nThe server fetches URLs given here itself; so that an admin cannot use it to reach internal hosts, a URL must be https (plain http only to loopback, and only when the server runs with `oidc.allow_http_loopback` for development), redirects are not followed, and host names that resolve to internal addresses are refused.",
    request_body = NewOidcConnection,
    params(("tenant" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = ConnectionView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The slug is taken (also by a removed connection)")))]
#[post("/tenants/{tenant}/connections/oidc")]
pub async fn add_oidc(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<NewOidcConnection>,
) -> Result<HttpResponse, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let b = body.into_inner();
    check_role(b.admin_role.as_ref())?;
    admin::parse_slug("slug", &b.slug)?;
    let (metadata, jwks_json) = metadata::discover_oidc(&fetcher(&state), &b.issuer).await?;
    let cmd = NewOidc {
        slug: b.slug,
        display_name: b.display_name,
        issuer: b.issuer,
        client_id: b.client_id,
        client_secret: b.client_secret,
        client_auth: b.client_auth,
        scopes: b.scopes,
        allowed_algorithms: b.allowed_algorithms,
        allow_hs256: b.allow_hs256.unwrap_or(false),
        use_userinfo: b.use_userinfo.unwrap_or(false),
        clock_skew_secs: b.clock_skew_secs,
        attr_email: b.attr_email,
        attr_first_name: b.attr_first_name,
        attr_last_name: b.attr_last_name,
        attr_iwms_id: b.attr_iwms_id,
        admin_role: b.admin_role,
        metadata,
        jwks_json,
    };
    let (base, now) = (state.base_url.clone(), state.clock.unix());
    let actor = who.0.audit.clone();
    let view = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        let conn = admin::add_oidc_connection(c, t.slug.as_str(), &cmd, &actor, now)
            .map_err(role_fields)?;
        Ok(conns::connection_view(c, &base, &t, &conn, now)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Changes to a connection; absent fields keep their value. The mapping fields and
/// `admin_role` apply to both protocols; the SAML and OIDC groups only to their own (400
/// otherwise).
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    pub attr_email: Option<Vec<String>>,
    pub attr_first_name: Option<Vec<String>>,
    pub attr_last_name: Option<Vec<String>>,
    /// `null` falls back to the tenant's IWMS ID attribute.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    pub attr_iwms_id: Option<Option<String>>,
    /// `null` removes the rule (admins then come only from grants).
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<AdminRole>)]
    pub admin_role: Option<Option<AdminRole>>,
    pub allowed_algorithms: Option<Vec<String>>,
    /// 0-600.
    #[schema(minimum = 0, maximum = 600)]
    pub clock_skew_secs: Option<i64>,
    /// The attribute (SAML) or claim (OIDC) holding the user's groups; `null` goes back to
    /// the defaults (`groups`, and Entra ID's
    /// `http://schemas.microsoft.com/ws/2008/06/identity/claims/groups`).
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>, example = "groups")]
    pub groups_attribute: Option<Option<String>>,
    /// The department attribute; `null`: the defaults.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    pub department_attribute: Option<Option<String>>,
    /// The job title attribute; `null`: the defaults.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    pub title_attribute: Option<Option<String>>,
    /// The employee number attribute; `null`: the defaults.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    pub employee_number_attribute: Option<Option<String>>,
    /// The attribute holding the manager's SCIM id or email; `null`: the defaults.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    pub manager_attribute: Option<Option<String>>,
    /// SAML: new metadata (entity ID, SSO URL and certificates from it).
    pub metadata_xml: Option<String>,
    /// SAML: where the server fetches new metadata (https).
    pub metadata_url: Option<String>,
    /// SAML.
    pub idp_entity_id: Option<String>,
    /// SAML.
    pub idp_sso_url: Option<String>,
    /// SAML: replaces the trusted certificates (PEM).
    pub idp_certificates: Option<Vec<String>>,
    /// SAML: adds trusted certificates (PEM), e.g. the IdP's next one during a rotation.
    pub add_idp_certificates: Option<Vec<String>>,
    /// SAML.
    pub allow_idp_initiated: Option<bool>,
    /// SAML.
    pub allow_unbound_responses: Option<bool>,
    /// SAML.
    pub sign_requests: Option<bool>,
    /// OIDC.
    pub client_id: Option<String>,
    /// OIDC: a new client secret (rotation); never returned.
    pub client_secret: Option<String>,
    /// OIDC.
    pub client_auth: Option<String>,
    /// OIDC.
    pub scopes: Option<Vec<String>>,
    /// OIDC.
    pub allow_hs256: Option<bool>,
    /// OIDC.
    pub use_userinfo: Option<bool>,
    /// OIDC: read the discovery document and keys again.
    pub rediscover: Option<bool>,
}

impl ConnectionPatch {
    fn command(self) -> Result<admin::ConnectionPatch, ApiError> {
        let certs =
            |field, v: Option<Vec<String>>| v.map(|c| pem_certificates(field, &c)).transpose();
        Ok(admin::ConnectionPatch {
            protocol: None,
            display_name: self.display_name,
            attr_email: self.attr_email,
            attr_first_name: self.attr_first_name,
            attr_last_name: self.attr_last_name,
            attr_iwms_id: self.attr_iwms_id,
            admin_role: self.admin_role,
            allowed_algorithms: self.allowed_algorithms,
            clock_skew_secs: self.clock_skew_secs,
            directory: admin::DirectoryPatch {
                groups_attribute: self.groups_attribute,
                department_attribute: self.department_attribute,
                title_attribute: self.title_attribute,
                employee_number_attribute: self.employee_number_attribute,
                manager_attribute: self.manager_attribute,
            },
            saml: SamlPatch {
                metadata_xml: self.metadata_xml,
                metadata_url: self.metadata_url,
                idp_entity_id: self.idp_entity_id,
                idp_sso_url: self.idp_sso_url,
                idp_certificates: certs("idp_certificates", self.idp_certificates)?,
                add_idp_certificates: certs("add_idp_certificates", self.add_idp_certificates)?,
                allow_idp_initiated: self.allow_idp_initiated,
                allow_unbound_responses: self.allow_unbound_responses,
                sign_requests: self.sign_requests,
            },
            oidc: OidcPatch {
                client_id: self.client_id,
                client_secret: self.client_secret,
                client_auth: self.client_auth,
                scopes: self.scopes,
                allow_hs256: self.allow_hs256,
                use_userinfo: self.use_userinfo,
                rediscover: self.rediscover,
            },
        })
    }
}

/// Changes a connection's mapping, admin role rule or protocol settings.
#[utoipa::path(operation_id = "update_connection", tag = "connections", security(("admin_token" = [])),
    description = "Changes a connection; absent fields keep their value, `null` clears `attr_iwms_id` or `admin_role`. SAML certificate rotation: `add_idp_certificates` adds the IdP's next certificate, `idp_certificates` replaces the list, new `metadata_xml` / `metadata_url` replaces entity ID, SSO URL and certificates. Fields of the other protocol are refused.\n\nThe server fetches URLs given here itself; so that an admin cannot use it to reach internal hosts, a URL must be https (plain http only to loopback, and only when the server runs with `oidc.allow_http_loopback` for development), redirects are not followed, and host names that resolve to internal addresses are refused.",
    request_body = ConnectionPatch,
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("connection" = String, Path, description = "Connection slug")),
    responses((status = 200, body = ConnectionView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[patch("/tenants/{tenant}/connections/{connection}")]
pub async fn update(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: ApiJson<ConnectionPatch>,
) -> Result<web::Json<ConnectionView>, ApiError> {
    let (tenant, connection) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let slug = conns::path_slug(&connection)?;
    let p = body.into_inner();
    if let Some(r) = &p.admin_role {
        check_role(r.as_ref())?;
    }
    let patch = p.command()?;
    let (base, now, can_sign) = (
        state.base_url.clone(),
        state.clock.unix(),
        sp_can_sign(&state),
    );
    let conn = conns::update_connection(
        &state.pool,
        &fetcher(&state),
        &t,
        slug.as_str(),
        patch,
        can_sign,
        &who.0.audit,
        now,
    )
    .await
    .map_err(role_fields)?;
    let view = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(conns::connection_view(c, &base, &t, &conn, now)?)
    })
    .await?;
    Ok(web::Json(view))
}

/// Removes a connection: sign-ins through it stop at once; its slug stays reserved and its
/// users and history stay.
#[utoipa::path(operation_id = "remove_connection", tag = "connections", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("connection" = String, Path, description = "Connection slug")),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
#[delete("/tenants/{tenant}/connections/{connection}")]
pub async fn remove(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, connection) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let slug = conns::path_slug(&connection)?;
    let (now, actor) = (state.clock.unix(), who.0.audit.clone());
    storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(admin::remove_connection(
            c,
            t.slug.as_str(),
            slug.as_str(),
            &actor,
            now,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    #[test]
    fn fetch_policy_is_documented_on_every_fetching_operation() {
        let doc = super::super::openapi_json();
        assert_eq!(doc.matches("redirects are not followed").count(), 3);
    }
}
