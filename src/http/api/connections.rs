//! /api/v1/tenants/{tenant}/connections: the tenant's SAML IdPs and OpenID providers, with the
//! values to configure at the IdP. Secrets (the OIDC client secret) are never returned.
use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiAdmin, ApiError, ApiJson, ErrorBody};
use crate::domain::claims::{DEFAULT_EMAIL, DEFAULT_FIRST_NAME, DEFAULT_LAST_NAME, default_list};
use crate::domain::connection::{Connection, Protocol};
use crate::domain::oidc::{
    DEFAULT_EMAIL_CLAIMS, DEFAULT_FIRST_NAME_CLAIMS, DEFAULT_LAST_NAME_CLAIMS, ProviderMetadata,
};
use crate::domain::slug::Slug;
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::protocol::saml::idp_metadata::{IdpMetadata, parse_certificate_b64};
use crate::service::admin::{
    self, OidcConnectionInput, OidcConnectionPatch, SamlConnectionInput, SamlConnectionPatch,
    access, metadata,
};
use crate::storage::{self, DbConnection, connections, oidc};

// ---------------------------------------------------------------------------------------------
// Views.

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolName {
    Saml,
    Oidc,
}

impl From<Protocol> for ProtocolName {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::Saml => ProtocolName::Saml,
            Protocol::Oidc => ProtocolName::Oidc,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionSummary {
    pub slug: String,
    pub display_name: String,
    pub protocol: ProtocolName,
    pub created_at: i64,
}

impl From<&Connection> for ConnectionSummary {
    fn from(c: &Connection) -> Self {
        ConnectionSummary {
            slug: c.slug.to_string(),
            display_name: c.display_name.clone(),
            protocol: c.protocol.into(),
            created_at: c.created_at,
        }
    }
}

/// Which IdP attributes (SAML) or claims (OIDC) fill the user's fields; the first present wins.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeMapping {
    pub email: Vec<String>,
    pub first_name: Vec<String>,
    pub last_name: Vec<String>,
    /// This connection's IWMS ID attribute; `null` uses the tenant's `iwms_attribute`.
    pub iwms_id: Option<String>,
}

/// A user is an admin of the tenant when the IdP's `attribute` holds `value` (exact match).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminRole {
    #[schema(example = "groups")]
    pub attribute: String,
    #[schema(example = "ssogate-admins")]
    pub value: String,
}

/// A trusted IdP signing certificate.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    /// e.g. `CN=idp.example.com, O=Example`.
    pub subject: String,
    pub issuer: String,
    pub not_before: i64,
    /// The expiry; rotate before it.
    pub not_after: i64,
    pub expired: bool,
    /// SHA-256 fingerprint of the DER certificate, hex.
    pub sha256: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SamlSettingsView {
    pub idp_entity_id: String,
    pub idp_sso_url: String,
    pub idp_certificates: Vec<CertificateView>,
    /// Accepted signature algorithms (rsa-sha256, rsa-sha384, rsa-sha512, ecdsa-sha256,
    /// ecdsa-sha384, ecdsa-sha512).
    pub allowed_algorithms: Vec<String>,
    pub allow_idp_initiated: bool,
    pub allow_unbound_responses: bool,
    pub sign_requests: bool,
    pub clock_skew_secs: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OidcSettingsView {
    pub issuer: String,
    pub client_id: String,
    /// client_secret_basic or client_secret_post.
    pub client_auth: String,
    pub scopes: Vec<String>,
    /// Accepted ID-token algorithms (RS256/384/512, PS256/384/512, ES256/384, HS256).
    pub allowed_algorithms: Vec<String>,
    pub use_userinfo: bool,
    pub clock_skew_secs: i64,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
    /// When the provider's keys were last read.
    pub jwks_fetched_at: i64,
}

/// What to enter at the identity provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdpSetup {
    /// SAML: the Assertion Consumer Service (single sign-on) URL.
    pub acs_url: Option<String>,
    /// SAML: the SP entity ID (audience).
    pub sp_entity_id: Option<String>,
    /// SAML: where the IdP can read the SP metadata.
    pub sp_metadata_url: Option<String>,
    /// OIDC: the redirect URI to register.
    pub redirect_uri: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    pub slug: String,
    pub display_name: String,
    pub protocol: ProtocolName,
    pub created_at: i64,
    pub attribute_mapping: AttributeMapping,
    pub admin_role: Option<AdminRole>,
    /// Set for SAML connections.
    pub saml: Option<SamlSettingsView>,
    /// Set for OpenID Connect connections.
    pub oidc: Option<OidcSettingsView>,
    pub idp_setup: IdpSetup,
    /// The console page whose "Test sign-in" button runs a test in the browser: the IdP's
    /// response is validated and reported (what arrived, how it maps, what a sign-in would
    /// do); nothing is created and nobody is signed in.
    pub test_sign_in_url: String,
}

fn asn1_unix(t: &openssl::asn1::Asn1TimeRef) -> Option<i64> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    Some(i64::from(d.days) * 86_400 + i64::from(d.secs))
}

fn name_text(name: &openssl::x509::X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn certificate_view(der: &[u8], now: i64) -> CertificateView {
    use sha2::Digest;
    let sha256 = hex::encode(sha2::Sha256::digest(der));
    match openssl::x509::X509::from_der(der) {
        Ok(x) => {
            let not_after = asn1_unix(x.not_after()).unwrap_or(0);
            CertificateView {
                subject: name_text(x.subject_name()),
                issuer: name_text(x.issuer_name()),
                not_before: asn1_unix(x.not_before()).unwrap_or(0),
                not_after,
                expired: not_after <= now,
                sha256,
            }
        }
        Err(_) => CertificateView {
            subject: "(not a valid X.509 certificate)".into(),
            issuer: String::new(),
            not_before: 0,
            not_after: 0,
            expired: true,
            sha256,
        },
    }
}

fn connection_view(
    conn: &mut DbConnection,
    base_url: &str,
    t: &Tenant,
    c: &Connection,
    now: i64,
) -> Result<ConnectionView, ApiError> {
    let (tenant, slug) = (t.slug.as_str(), c.slug.as_str());
    let (saml, oidc, idp_setup) = match c.protocol {
        Protocol::Saml => {
            let s = connections::saml_settings(conn, t.id, c.id)?;
            let sp = crate::protocol::saml::SpEndpoints::new(base_url, tenant, slug);
            (
                Some(SamlSettingsView {
                    idp_entity_id: s.idp_entity_id,
                    idp_sso_url: s.idp_sso_url,
                    idp_certificates: s
                        .idp_certificates
                        .iter()
                        .map(|d| certificate_view(d, now))
                        .collect(),
                    allowed_algorithms: s
                        .allowed_algorithms
                        .iter()
                        .map(|a| a.name().to_owned())
                        .collect(),
                    allow_idp_initiated: s.allow_idp_initiated,
                    allow_unbound_responses: s.allow_unbound_responses,
                    sign_requests: s.sign_requests,
                    clock_skew_secs: s.clock_skew_secs,
                }),
                None,
                IdpSetup {
                    acs_url: Some(sp.acs_url),
                    sp_entity_id: Some(sp.entity_id),
                    sp_metadata_url: Some(sp.metadata_url),
                    redirect_uri: None,
                },
            )
        }
        Protocol::Oidc => {
            let s = oidc::settings(conn, t.id, c.id)?;
            let ProviderMetadata {
                authorization_endpoint,
                token_endpoint,
                jwks_uri,
                userinfo_endpoint,
                ..
            } = s.metadata;
            (
                None,
                Some(OidcSettingsView {
                    issuer: s.issuer,
                    client_id: s.client_id,
                    client_auth: s.client_auth.name().to_owned(),
                    scopes: s.scopes,
                    allowed_algorithms: s
                        .allowed_algorithms
                        .iter()
                        .map(|a| a.name().to_owned())
                        .collect(),
                    use_userinfo: s.use_userinfo,
                    clock_skew_secs: s.clock_skew_secs,
                    authorization_endpoint,
                    token_endpoint,
                    jwks_uri,
                    userinfo_endpoint,
                    jwks_fetched_at: s.jwks_fetched_at,
                }),
                IdpSetup {
                    acs_url: None,
                    sp_entity_id: None,
                    sp_metadata_url: None,
                    redirect_uri: Some(crate::protocol::oidc::redirect_uri(base_url, tenant, slug)),
                },
            )
        }
    };
    let test_sign_in = url::Url::parse(&format!(
        "{}/admin/t/{tenant}/connections/{slug}#test-sign-in",
        base_url.trim_end_matches('/')
    ))
    .map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(ConnectionView {
        slug: slug.to_owned(),
        display_name: c.display_name.clone(),
        protocol: c.protocol.into(),
        created_at: c.created_at,
        attribute_mapping: AttributeMapping {
            email: c.attr_email.clone(),
            first_name: c.attr_first_name.clone(),
            last_name: c.attr_last_name.clone(),
            iwms_id: c.attr_iwms_id.clone(),
        },
        admin_role: c.admin_role.as_ref().map(|r| AdminRole {
            attribute: r.attribute.clone(),
            value: r.value.clone(),
        }),
        saml,
        oidc,
        idp_setup,
        test_sign_in_url: test_sign_in.to_string(),
    })
}

/// The connection in the path; a segment that is not a slug is simply not found.
fn connection_slug(raw: String) -> Result<String, ApiError> {
    match Slug::parse(&raw) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => Err(ApiError::not_found(format!(
            "connection `{}`",
            raw.chars().take(64).collect::<String>()
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// Input helpers.

/// PEM text holding one or more certificates, or one certificate as bare base64 DER.
fn parse_pem_certificates(field: &str, items: &[String]) -> Result<Vec<Vec<u8>>, ApiError> {
    let mut out = Vec::new();
    for (i, raw) in items.iter().enumerate() {
        let bad = || {
            ApiError::invalid(
                &format!("{field}[{i}]"),
                "is not a PEM (or base64 DER) X.509 certificate",
            )
        };
        if raw.contains("-----BEGIN") {
            let stack = openssl::x509::X509::stack_from_pem(raw.as_bytes()).map_err(|_| bad())?;
            if stack.is_empty() {
                return Err(bad());
            }
            for c in stack {
                out.push(c.to_der().map_err(|_| bad())?);
            }
        } else {
            out.push(parse_certificate_b64(raw).ok_or_else(bad)?);
        }
    }
    Ok(out)
}

fn check_role(role: &AdminRole) -> Result<(), ApiError> {
    for (field, v) in [
        ("admin_role.attribute", &role.attribute),
        ("admin_role.value", &role.value),
    ] {
        let t = v.trim();
        if t.is_empty() || t.chars().count() > 256 || t.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                field,
                "must be 1-256 printable characters",
            ));
        }
    }
    Ok(())
}

fn names_or(v: Option<Vec<String>>, defaults: &[&str]) -> Vec<String> {
    v.unwrap_or_else(|| default_list(defaults))
}

/// The IdP metadata from pasted XML or a URL the server fetches (https only, no redirects, no
/// internal addresses), or None when neither was given.
async fn read_metadata(
    state: &AppState,
    xml: Option<&str>,
    url: Option<&str>,
) -> Result<Option<IdpMetadata>, ApiError> {
    match (xml, url) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "metadata_url",
            "give metadata_xml or metadata_url, not both",
        )),
        (Some(x), None) => Ok(Some(metadata::parse("metadata_xml", x)?)),
        (None, Some(u)) => Ok(Some(
            metadata::fetch(&state.oidc_http, u, state.settings.oidc.allow_http_loopback).await?,
        )),
        (None, None) => Ok(None),
    }
}

fn sp_can_sign(state: &AppState) -> bool {
    state.sp_signing.is_some()
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
    let list = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(connections::list_active(c, t.id)?
            .iter()
            .map(ConnectionSummary::from)
            .collect())
    })
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
    let slug = connection_slug(connection)?;
    let (base, now) = (state.base_url.clone(), state.clock.unix());
    let view = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        let conn = admin::connection_by_slug(c, &t, &slug)?;
        connection_view(c, &base, &t, &conn, now)
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

async fn saml_input(
    state: &AppState,
    b: NewSamlConnection,
) -> Result<SamlConnectionInput, ApiError> {
    let extra = parse_pem_certificates(
        "idp_certificates",
        b.idp_certificates.as_deref().unwrap_or_default(),
    )?;
    let (entity_id, sso_url, certs) =
        match read_metadata(state, b.metadata_xml.as_deref(), b.metadata_url.as_deref()).await? {
            Some(m) => {
                for (field, given) in [
                    ("idp_entity_id", b.idp_entity_id.is_some()),
                    ("idp_sso_url", b.idp_sso_url.is_some()),
                ] {
                    if given {
                        return Err(ApiError::invalid(
                            field,
                            "comes from the metadata; leave it out or give no metadata",
                        ));
                    }
                }
                let mut certs = m.signing_certificates;
                certs.extend(
                    extra
                        .into_iter()
                        .filter(|d| !certs.contains(d))
                        .collect::<Vec<_>>(),
                );
                (m.entity_id, m.sso_url, certs)
            }
            None => (
                b.idp_entity_id.ok_or_else(|| {
                    ApiError::invalid(
                        "idp_entity_id",
                        "is required without metadata_xml or metadata_url",
                    )
                })?,
                b.idp_sso_url.ok_or_else(|| {
                    ApiError::invalid(
                        "idp_sso_url",
                        "is required without metadata_xml or metadata_url",
                    )
                })?,
                extra,
            ),
        };
    Ok(SamlConnectionInput {
        slug: b.slug,
        display_name: b.display_name,
        idp_entity_id: entity_id,
        idp_sso_url: sso_url,
        idp_certificates: certs,
        allowed_algorithms: b.allowed_algorithms,
        allow_idp_initiated: b.allow_idp_initiated.unwrap_or(false),
        allow_unbound_responses: b.allow_unbound_responses.unwrap_or(false),
        sign_requests: b.sign_requests.unwrap_or(false),
        clock_skew_secs: b.clock_skew_secs,
        attr_email: names_or(b.attr_email, DEFAULT_EMAIL),
        attr_first_name: names_or(b.attr_first_name, DEFAULT_FIRST_NAME),
        attr_last_name: names_or(b.attr_last_name, DEFAULT_LAST_NAME),
        attr_iwms_id: b.attr_iwms_id,
    })
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
    let role = body.admin_role.clone();
    if let Some(r) = &role {
        check_role(r)?;
    }
    let input = saml_input(&state, body).await?;
    let (base, now, can_sign) = (
        state.base_url.clone(),
        state.clock.unix(),
        sp_can_sign(&state),
    );
    let view = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        let conn = admin::add_saml_connection(c, t.slug.as_str(), &input, can_sign, now)?;
        finish_create(c, &base, &t, conn, role.as_ref(), now)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

fn finish_create(
    c: &mut DbConnection,
    base: &str,
    t: &Tenant,
    conn: Connection,
    role: Option<&AdminRole>,
    now: i64,
) -> Result<ConnectionView, ApiError> {
    let conn = match role {
        Some(r) => {
            access::set_admin_role(
                c,
                t,
                conn.slug.as_str(),
                Some((&r.attribute, &r.value)),
                now,
            )?;
            admin::connection_by_slug(c, t, conn.slug.as_str())?
        }
        None => conn,
    };
    connection_view(c, base, t, &conn, now)
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

/// Discovery and keys for `issuer`, read by the server.
async fn discover(state: &AppState, issuer: &str) -> Result<(ProviderMetadata, String), ApiError> {
    Ok(metadata::discover_oidc(
        &state.oidc_http,
        issuer,
        state.settings.oidc.allow_http_loopback,
    )
    .await?)
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
    if let Some(r) = &b.admin_role {
        check_role(r)?;
    }
    let slug = admin::parse_slug("slug", &b.slug)?;
    let issuer = b.issuer.trim().to_owned();
    let (metadata, jwks_json) = discover(&state, &issuer).await?;
    let input = OidcConnectionInput {
        slug: slug.to_string(),
        display_name: b.display_name,
        issuer,
        client_id: b.client_id,
        client_secret: b.client_secret,
        client_auth: b.client_auth,
        scopes: b.scopes,
        allowed_algorithms: b.allowed_algorithms,
        allow_hs256: b.allow_hs256.unwrap_or(false),
        use_userinfo: b.use_userinfo.unwrap_or(false),
        clock_skew_secs: b.clock_skew_secs,
        attr_email: names_or(b.attr_email, DEFAULT_EMAIL_CLAIMS),
        attr_first_name: names_or(b.attr_first_name, DEFAULT_FIRST_NAME_CLAIMS),
        attr_last_name: names_or(b.attr_last_name, DEFAULT_LAST_NAME_CLAIMS),
        attr_iwms_id: b.attr_iwms_id,
        metadata,
        jwks_json,
    };
    let role = b.admin_role;
    let (base, now) = (state.base_url.clone(), state.clock.unix());
    let view = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        let conn = admin::add_oidc_connection(c, t.slug.as_str(), &input, now)?;
        finish_create(c, &base, &t, conn, role.as_ref(), now)
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
    fn saml_only(&self) -> Option<&'static str> {
        [
            ("metadata_xml", self.metadata_xml.is_some()),
            ("metadata_url", self.metadata_url.is_some()),
            ("idp_entity_id", self.idp_entity_id.is_some()),
            ("idp_sso_url", self.idp_sso_url.is_some()),
            ("idp_certificates", self.idp_certificates.is_some()),
            ("add_idp_certificates", self.add_idp_certificates.is_some()),
            ("allow_idp_initiated", self.allow_idp_initiated.is_some()),
            (
                "allow_unbound_responses",
                self.allow_unbound_responses.is_some(),
            ),
            ("sign_requests", self.sign_requests.is_some()),
        ]
        .into_iter()
        .find_map(|(f, set)| set.then_some(f))
    }

    fn oidc_only(&self) -> Option<&'static str> {
        [
            ("client_id", self.client_id.is_some()),
            ("client_secret", self.client_secret.is_some()),
            ("client_auth", self.client_auth.is_some()),
            ("scopes", self.scopes.is_some()),
            ("allow_hs256", self.allow_hs256.is_some()),
            ("use_userinfo", self.use_userinfo.is_some()),
            ("rediscover", self.rediscover.is_some()),
        ]
        .into_iter()
        .find_map(|(f, set)| set.then_some(f))
    }
}

/// The change to apply, with everything the server had to fetch already fetched.
enum Change {
    Saml(SamlConnectionPatch),
    Oidc(OidcConnectionPatch),
}

async fn saml_patch(
    state: &AppState,
    current: &Connection,
    t: &Tenant,
    p: &ConnectionPatch,
) -> Result<SamlConnectionPatch, ApiError> {
    let mut patch = SamlConnectionPatch {
        display_name: p.display_name.clone(),
        idp_entity_id: p.idp_entity_id.clone(),
        idp_sso_url: p.idp_sso_url.clone(),
        allowed_algorithms: p.allowed_algorithms.clone(),
        allow_idp_initiated: p.allow_idp_initiated,
        allow_unbound_responses: p.allow_unbound_responses,
        sign_requests: p.sign_requests,
        clock_skew_secs: p.clock_skew_secs,
        attr_email: p.attr_email.clone(),
        attr_first_name: p.attr_first_name.clone(),
        attr_last_name: p.attr_last_name.clone(),
        attr_iwms_id: p.attr_iwms_id.clone(),
        ..Default::default()
    };
    let replace = p
        .idp_certificates
        .as_deref()
        .map(|c| parse_pem_certificates("idp_certificates", c))
        .transpose()?;
    let add = p
        .add_idp_certificates
        .as_deref()
        .map(|c| parse_pem_certificates("add_idp_certificates", c))
        .transpose()?;
    let mut certs = None;
    if let Some(m) =
        read_metadata(state, p.metadata_xml.as_deref(), p.metadata_url.as_deref()).await?
    {
        for (field, given) in [
            ("idp_entity_id", p.idp_entity_id.is_some()),
            ("idp_sso_url", p.idp_sso_url.is_some()),
        ] {
            if given {
                return Err(ApiError::invalid(
                    field,
                    "comes from the metadata; leave it out or give no metadata",
                ));
            }
        }
        patch.idp_entity_id = Some(m.entity_id);
        patch.idp_sso_url = Some(m.sso_url);
        certs = Some(m.signing_certificates);
    }
    if let Some(r) = replace {
        let mut c = certs.unwrap_or_default();
        c.extend(r);
        certs = Some(c);
    }
    if let Some(add) = add {
        let mut c = match certs {
            Some(c) => c,
            None => {
                let (tid, cid) = (t.id, current.id);
                storage::block::<_, ApiError, _>(&state.pool, move |db| {
                    Ok(connections::saml_settings(db, tid, cid)?.idp_certificates)
                })
                .await?
            }
        };
        for der in add {
            if !c.contains(&der) {
                c.push(der);
            }
        }
        certs = Some(c);
    }
    patch.idp_certificates = certs;
    Ok(patch)
}

async fn oidc_patch(
    state: &AppState,
    current: &Connection,
    t: &Tenant,
    p: &ConnectionPatch,
) -> Result<OidcConnectionPatch, ApiError> {
    let rediscovered = if p.rediscover == Some(true) {
        let (tid, cid) = (t.id, current.id);
        let issuer = storage::block::<_, ApiError, _>(&state.pool, move |db| {
            Ok(oidc::settings(db, tid, cid)?.issuer)
        })
        .await?;
        Some(discover(state, &issuer).await?)
    } else {
        None
    };
    Ok(OidcConnectionPatch {
        display_name: p.display_name.clone(),
        client_id: p.client_id.clone(),
        client_secret: p.client_secret.clone(),
        client_auth: p.client_auth.clone(),
        scopes: p.scopes.clone(),
        allowed_algorithms: p.allowed_algorithms.clone(),
        allow_hs256: p.allow_hs256,
        use_userinfo: p.use_userinfo,
        clock_skew_secs: p.clock_skew_secs,
        attr_email: p.attr_email.clone(),
        attr_first_name: p.attr_first_name.clone(),
        attr_last_name: p.attr_last_name.clone(),
        attr_iwms_id: p.attr_iwms_id.clone(),
        rediscovered,
    })
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
    let slug = connection_slug(connection)?;
    let p = body.into_inner();
    if let Some(Some(r)) = &p.admin_role {
        check_role(r)?;
    }
    let current = {
        let (t, slug) = (t.clone(), slug.clone());
        storage::block::<_, ApiError, _>(&state.pool, move |c| {
            Ok(admin::connection_by_slug(c, &t, &slug)?)
        })
        .await?
    };
    let change = match current.protocol {
        Protocol::Saml => {
            if let Some(f) = p.oidc_only() {
                return Err(ApiError::invalid(
                    f,
                    "applies only to OpenID Connect connections",
                ));
            }
            Change::Saml(saml_patch(&state, &current, &t, &p).await?)
        }
        Protocol::Oidc => {
            if let Some(f) = p.saml_only() {
                return Err(ApiError::invalid(f, "applies only to SAML connections"));
            }
            Change::Oidc(oidc_patch(&state, &current, &t, &p).await?)
        }
    };
    let role = p.admin_role;
    let (base, now, can_sign) = (
        state.base_url.clone(),
        state.clock.unix(),
        sp_can_sign(&state),
    );
    let view = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        let tenant = t.slug.as_str();
        let mut conn = match &change {
            Change::Saml(patch) => {
                admin::update_saml_connection(c, tenant, &slug, patch, can_sign, now)?
            }
            Change::Oidc(patch) => admin::update_oidc_connection(c, tenant, &slug, patch, now)?,
        };
        if let Some(rule) = &role {
            access::set_admin_role(
                c,
                &t,
                &slug,
                rule.as_ref()
                    .map(|r| (r.attribute.as_str(), r.value.as_str())),
                now,
            )?;
            conn = admin::connection_by_slug(c, &t, &slug)?;
        }
        connection_view(c, &base, &t, &conn, now)
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
    let slug = connection_slug(connection)?;
    let now = state.clock.unix();
    storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(admin::remove_connection(c, t.slug.as_str(), &slug, now)?)
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
