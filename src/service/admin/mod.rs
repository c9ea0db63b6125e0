//! Configuration and inspection use cases shared by the CLI (and later the admin API).
//! Input is validated here; errors name the field that is wrong.
pub mod access;
pub mod metadata;
pub mod users;

use serde::Serialize;
use serde_json::json;

use crate::domain::connection::{
    Connection, DEFAULT_CLOCK_SKEW_SECS, Protocol, SamlIdpSettings, SignatureAlgorithm,
};
use crate::domain::email::EmailDomain;
use crate::domain::iwms::{ALL_EVENTS, IwmsFeed, SecretSource, parse_events};
use crate::domain::oidc::{
    ClientAuth, DEFAULT_SCOPES, JwsAlgorithm, OidcSettings, ProviderMetadata,
};
use crate::domain::return_to::AllowedOrigin;
use crate::domain::scim::user::IwmsSource;
use crate::domain::slug::Slug;
use crate::domain::tenant::{self, DEFAULT_STALE_AFTER_DAYS, Tenant};
use crate::storage::connections::NewConnection;
use crate::storage::tenants::TenantFields;
use crate::storage::{self, DbConnection, StorageError, connections, domains, oidc, tenants};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for AdminError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict(m) => AdminError::Conflict(m),
            other => AdminError::Storage(other),
        }
    }
}

pub(crate) fn invalid(field: &'static str, message: impl ToString) -> AdminError {
    AdminError::Invalid {
        field,
        message: message.to_string(),
    }
}

pub fn parse_slug(field: &'static str, raw: &str) -> Result<Slug, AdminError> {
    Slug::parse(raw).map_err(|e| invalid(field, e))
}

pub fn tenant_by_slug(conn: &mut DbConnection, raw: &str) -> Result<Tenant, AdminError> {
    let slug = parse_slug("tenant", raw)?;
    tenants::find_by_slug(conn, &slug)?
        .ok_or_else(|| AdminError::NotFound(format!("tenant `{slug}`")))
}

fn parse_origins(raw: &[String]) -> Result<Vec<AllowedOrigin>, AdminError> {
    raw.iter()
        .map(|o| AllowedOrigin::parse(o).map_err(|e| invalid("allowed_return_origins", e)))
        .collect()
}

pub(crate) fn parse_attribute_name(
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<String>, AdminError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.len() > 256 || s.chars().any(char::is_control) => {
            Err(invalid(field, "must be 1-256 printable characters"))
        }
        Some(s) => Ok(Some(s.to_owned())),
    }
}

/// https, or http to a loopback host (development and tests).
fn parse_iwms_endpoint(raw: &str) -> Result<String, AdminError> {
    let u = url::Url::parse(raw.trim()).map_err(|e| invalid("iwms_endpoint", e))?;
    let loopback = match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match u.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(invalid(
                "iwms_endpoint",
                "must be an https URL (http only for loopback)",
            ));
        }
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(invalid(
            "iwms_endpoint",
            "must not carry credentials; the requests are signed",
        ));
    }
    Ok(u.to_string())
}

/// The IWMS feed after applying `input` to `current`; the rules name the bad key.
fn iwms_feed(
    current: &IwmsFeed,
    input: &TenantInput,
    auto_create_users: bool,
) -> Result<IwmsFeed, AdminError> {
    let endpoint = match &input.iwms_endpoint {
        Some(Some(e)) => Some(parse_iwms_endpoint(e)?),
        Some(None) => None,
        None => current.endpoint.clone(),
    };
    let secret = match &input.iwms_secret {
        // Sent back unchanged (the console's form does): kept as stored.
        Some(Some(s))
            if current
                .secret
                .as_ref()
                .map(SecretSource::as_string)
                .as_ref()
                == Some(s) =>
        {
            current.secret.clone()
        }
        Some(Some(s)) => Some(SecretSource::parse(s).map_err(|e| invalid("iwms_secret", e))?),
        Some(None) => None,
        None => current.secret.clone(),
    };
    let events = match &input.iwms_events {
        Some(raw) => parse_events(raw).map_err(|e| invalid("iwms_events", e))?,
        // A feed set up without a choice sends everything.
        None if current.endpoint.is_none() && current.events.is_empty() && endpoint.is_some() => {
            ALL_EVENTS.to_vec()
        }
        None => current.events.clone(),
    };
    let feed = IwmsFeed {
        auto_create: input.auto_create_iwms.unwrap_or(current.auto_create),
        endpoint,
        secret,
        events,
    };
    if feed.endpoint.is_some() != feed.secret.is_some() {
        return Err(invalid(
            "iwms_secret",
            "set both the IWMS endpoint and its signing secret, or neither",
        ));
    }
    if feed.auto_create && !auto_create_users {
        return Err(invalid("auto_create_iwms", "needs auto_create_users on"));
    }
    if feed.auto_create && feed.endpoint.is_none() {
        return Err(invalid(
            "auto_create_iwms",
            "needs an IWMS endpoint and signing secret",
        ));
    }
    Ok(feed)
}

fn parse_scim_iwms(raw: Option<String>) -> Result<Option<IwmsSource>, AdminError> {
    raw.filter(|s| !s.trim().is_empty())
        .map(|s| IwmsSource::parse(&s).map_err(|e| invalid("scim_iwms_attribute", e)))
        .transpose()
}

#[derive(Debug, Default, Clone)]
pub struct TenantInput {
    pub display_name: Option<String>,
    pub auto_create_users: Option<bool>,
    /// Some(None) clears it.
    pub iwms_attribute: Option<Option<String>>,
    /// The SCIM attribute carrying the IWMS ID; Some(None) clears it.
    pub scim_iwms_attribute: Option<Option<String>>,
    pub auto_create_iwms: Option<bool>,
    /// The IWMS endpoint; Some(None) clears it (and stops the feed).
    pub iwms_endpoint: Option<Option<String>>,
    /// `file:/path` or `env:NAME`; Some(None) clears it.
    pub iwms_secret: Option<Option<String>>,
    /// Comma-separated event names, or `all`.
    pub iwms_events: Option<String>,
    pub stale_after_days: Option<i64>,
    pub allowed_return_origins: Option<Vec<String>>,
}

pub fn create_tenant(
    conn: &mut DbConnection,
    slug: &str,
    input: &TenantInput,
    now: i64,
) -> Result<Tenant, AdminError> {
    let slug = parse_slug("slug", slug)?;
    let fields = TenantFields {
        display_name: tenant::parse_display_name(
            input.display_name.as_deref().unwrap_or(slug.as_str()),
        )
        .map_err(|e| invalid("display_name", e))?,
        auto_create_users: input.auto_create_users.unwrap_or(false),
        iwms_attribute: parse_attribute_name(
            "iwms_attribute",
            input.iwms_attribute.clone().flatten().as_deref(),
        )?,
        scim_iwms_attribute: parse_scim_iwms(input.scim_iwms_attribute.clone().flatten())?,
        iwms: iwms_feed(
            &IwmsFeed::default(),
            input,
            input.auto_create_users.unwrap_or(false),
        )?,
        stale_after_days: tenant::parse_stale_after_days(
            input
                .stale_after_days
                .unwrap_or(i64::from(DEFAULT_STALE_AFTER_DAYS)),
        )
        .map_err(|e| invalid("stale_after_days", e))?,
        allowed_return_origins: parse_origins(
            input.allowed_return_origins.as_deref().unwrap_or_default(),
        )?,
    };
    Ok(tenants::create(conn, &slug, &fields, now)?)
}

pub fn update_tenant(
    conn: &mut DbConnection,
    slug: &str,
    input: &TenantInput,
    now: i64,
) -> Result<Tenant, AdminError> {
    let t = tenant_by_slug(conn, slug)?;
    let fields = TenantFields {
        display_name: match &input.display_name {
            Some(d) => tenant::parse_display_name(d).map_err(|e| invalid("display_name", e))?,
            None => t.display_name.clone(),
        },
        auto_create_users: input.auto_create_users.unwrap_or(t.auto_create_users),
        iwms_attribute: match &input.iwms_attribute {
            Some(v) => parse_attribute_name("iwms_attribute", v.as_deref())?,
            None => t.iwms_attribute.clone(),
        },
        scim_iwms_attribute: match &input.scim_iwms_attribute {
            Some(v) => parse_scim_iwms(v.clone())?,
            None => t.scim_iwms_attribute,
        },
        iwms: iwms_feed(
            &t.iwms,
            input,
            input.auto_create_users.unwrap_or(t.auto_create_users),
        )?,
        stale_after_days: match input.stale_after_days {
            Some(d) => {
                tenant::parse_stale_after_days(d).map_err(|e| invalid("stale_after_days", e))?
            }
            None => t.stale_after_days,
        },
        allowed_return_origins: match &input.allowed_return_origins {
            Some(o) => parse_origins(o)?,
            None => t.allowed_return_origins.clone(),
        },
    };
    tenants::update(conn, t.id, &fields, now)?;
    Ok(tenants::get(conn, t.id)?)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantView {
    pub slug: String,
    pub display_name: String,
    pub auto_create_users: bool,
    pub iwms_attribute: Option<String>,
    pub scim_iwms_attribute: Option<String>,
    pub auto_create_iwms: bool,
    pub iwms_endpoint: Option<String>,
    /// Where the signing secret is read from (never the secret).
    pub iwms_secret: Option<String>,
    pub iwms_events: Vec<&'static str>,
    pub stale_after_days: u32,
    pub allowed_return_origins: Vec<String>,
    pub domains: Vec<String>,
    pub connections: Vec<String>,
}

pub fn tenant_view(conn: &mut DbConnection, t: &Tenant) -> Result<TenantView, AdminError> {
    Ok(TenantView {
        slug: t.slug.to_string(),
        display_name: t.display_name.clone(),
        auto_create_users: t.auto_create_users,
        iwms_attribute: t.iwms_attribute.clone(),
        scim_iwms_attribute: t.scim_iwms_attribute.map(|s| s.as_string()),
        auto_create_iwms: t.iwms.auto_create,
        iwms_endpoint: t.iwms.endpoint.clone(),
        iwms_secret: t.iwms.secret.as_ref().map(SecretSource::as_string),
        iwms_events: t.iwms.events.iter().map(|e| e.as_str()).collect(),
        stale_after_days: t.stale_after_days,
        allowed_return_origins: t
            .allowed_return_origins
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect(),
        domains: domains::list_for_tenant(conn, t.id)?
            .iter()
            .map(ToString::to_string)
            .collect(),
        connections: connections::list_active(conn, t.id)?
            .iter()
            .map(|c| c.slug.to_string())
            .collect(),
    })
}

pub fn list_tenants(conn: &mut DbConnection) -> Result<Vec<TenantView>, AdminError> {
    tenants::list(conn)?
        .iter()
        .map(|t| tenant_view(conn, t))
        .collect()
}

pub fn add_domain(
    conn: &mut DbConnection,
    tenant: &str,
    domain: &str,
    now: i64,
) -> Result<EmailDomain, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let d = EmailDomain::parse(domain).map_err(|e| invalid("domain", e))?;
    domains::add(conn, t.id, &d, now)?;
    Ok(d)
}

pub fn remove_domain(
    conn: &mut DbConnection,
    tenant: &str,
    domain: &str,
) -> Result<EmailDomain, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let d = EmailDomain::parse(domain).map_err(|e| invalid("domain", e))?;
    if !domains::remove(conn, t.id, &d)? {
        return Err(AdminError::NotFound(format!(
            "domain {d} in tenant `{}`",
            t.slug
        )));
    }
    Ok(d)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DomainView {
    pub tenant: String,
    pub domain: String,
}

pub fn list_domains(
    conn: &mut DbConnection,
    tenant: Option<&str>,
) -> Result<Vec<DomainView>, AdminError> {
    let all = domains::list_all(conn)?;
    let filter = tenant.map(|t| tenant_by_slug(conn, t)).transpose()?;
    Ok(all
        .into_iter()
        .filter(|(t, _)| filter.as_ref().is_none_or(|f| f.slug.as_str() == t))
        .map(|(tenant, domain)| DomainView { tenant, domain })
        .collect())
}

#[derive(Debug, Clone)]
pub struct SamlConnectionInput {
    pub slug: String,
    pub display_name: Option<String>,
    pub idp_entity_id: String,
    pub idp_sso_url: String,
    pub idp_certificates: Vec<Vec<u8>>,
    pub allowed_algorithms: Option<Vec<String>>,
    pub allow_idp_initiated: bool,
    pub allow_unbound_responses: bool,
    pub sign_requests: bool,
    pub clock_skew_secs: Option<i64>,
    pub attr_email: Vec<String>,
    pub attr_first_name: Vec<String>,
    pub attr_last_name: Vec<String>,
    pub attr_iwms_id: Option<String>,
}

fn check_url(field: &'static str, raw: &str) -> Result<(), AdminError> {
    let u = url::Url::parse(raw).map_err(|e| invalid(field, e))?;
    if !matches!(u.scheme(), "https" | "http") || u.host_str().is_none() {
        return Err(invalid(field, "must be an http(s) URL"));
    }
    Ok(())
}

fn check_names(field: &'static str, names: &[String]) -> Result<(), AdminError> {
    if names.is_empty()
        || names
            .iter()
            .any(|n| n.trim().is_empty() || n.len() > 256 || n.chars().any(char::is_control))
    {
        return Err(invalid(
            field,
            "needs one or more attribute names of 1-256 printable characters",
        ));
    }
    Ok(())
}

/// A validated connection: display name, IdP settings, IWMS attribute override.
struct ValidSaml {
    display: String,
    settings: SamlIdpSettings,
    iwms: Option<String>,
}

fn validate_saml(
    input: &SamlConnectionInput,
    slug: &Slug,
    sp_can_sign: bool,
) -> Result<ValidSaml, AdminError> {
    let display =
        tenant::parse_display_name(input.display_name.as_deref().unwrap_or(slug.as_str()))
            .map_err(|e| invalid("display_name", e))?;
    if input.idp_entity_id.trim().is_empty() {
        return Err(invalid("idp_entity_id", "is required"));
    }
    check_url("idp_sso_url", &input.idp_sso_url)?;
    // samael skips signature checks when it has no certificate: never store such a connection.
    if input.idp_certificates.is_empty() {
        return Err(invalid(
            "idp_certificates",
            "at least one IdP signing certificate is required",
        ));
    }
    for (i, der) in input.idp_certificates.iter().enumerate() {
        openssl::x509::X509::from_der(der).map_err(|_| {
            invalid(
                "idp_certificates",
                format!("certificate #{} is not a valid X.509 certificate", i + 1),
            )
        })?;
    }
    let algs = match &input.allowed_algorithms {
        None => SignatureAlgorithm::ALL.to_vec(),
        Some(list) if list.is_empty() => {
            return Err(invalid("allowed_algorithms", "must not be empty"));
        }
        Some(list) => list
            .iter()
            .map(|a| SignatureAlgorithm::parse(a).map_err(|e| invalid("allowed_algorithms", e)))
            .collect::<Result<_, _>>()?,
    };
    let skew = input.clock_skew_secs.unwrap_or(DEFAULT_CLOCK_SKEW_SECS);
    if !(0..=600).contains(&skew) {
        return Err(invalid("clock_skew_secs", "must be between 0 and 600"));
    }
    if input.sign_requests && !sp_can_sign {
        return Err(invalid(
            "sign_requests",
            "requires saml.sp_private_key_file and saml.sp_certificate_file in the config",
        ));
    }
    check_names("attr_email", &input.attr_email)?;
    check_names("attr_first_name", &input.attr_first_name)?;
    check_names("attr_last_name", &input.attr_last_name)?;
    let iwms = parse_attribute_name("attr_iwms_id", input.attr_iwms_id.as_deref())?;
    let settings = SamlIdpSettings {
        idp_entity_id: input.idp_entity_id.trim().to_owned(),
        idp_sso_url: input.idp_sso_url.trim().to_owned(),
        idp_certificates: input.idp_certificates.clone(),
        allowed_algorithms: algs,
        allow_idp_initiated: input.allow_idp_initiated,
        sign_requests: input.sign_requests,
        clock_skew_secs: skew,
        allow_unbound_responses: input.allow_unbound_responses,
    };
    Ok(ValidSaml {
        display,
        settings,
        iwms,
    })
}

pub fn add_saml_connection(
    conn: &mut DbConnection,
    tenant: &str,
    input: &SamlConnectionInput,
    sp_can_sign: bool,
    now: i64,
) -> Result<Connection, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let slug = parse_slug("slug", &input.slug)?;
    let ValidSaml {
        display,
        settings,
        iwms,
    } = validate_saml(input, &slug, sp_can_sign)?;
    let new = NewConnection {
        slug: &slug,
        display_name: &display,
        attr_email: &input.attr_email,
        attr_first_name: &input.attr_first_name,
        attr_last_name: &input.attr_last_name,
        attr_iwms_id: iwms.as_deref(),
    };
    storage::transaction(conn, |c| {
        connections::create_saml(c, t.id, &new, &settings, now)
    })?;
    connections::find(conn, t.id, &slug)?
        .ok_or_else(|| AdminError::NotFound(format!("connection `{slug}`")))
}

/// Changes to a SAML connection; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct SamlConnectionPatch {
    pub display_name: Option<String>,
    pub idp_entity_id: Option<String>,
    pub idp_sso_url: Option<String>,
    /// Replaces the trusted certificates (certificate rotation).
    pub idp_certificates: Option<Vec<Vec<u8>>>,
    pub allowed_algorithms: Option<Vec<String>>,
    pub allow_idp_initiated: Option<bool>,
    pub allow_unbound_responses: Option<bool>,
    pub sign_requests: Option<bool>,
    pub clock_skew_secs: Option<i64>,
    pub attr_email: Option<Vec<String>>,
    pub attr_first_name: Option<Vec<String>>,
    pub attr_last_name: Option<Vec<String>>,
    /// Some(None) falls back to the tenant's IWMS attribute.
    pub attr_iwms_id: Option<Option<String>>,
}

pub fn update_saml_connection(
    conn: &mut DbConnection,
    tenant: &str,
    slug: &str,
    patch: &SamlConnectionPatch,
    sp_can_sign: bool,
    now: i64,
) -> Result<Connection, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let c = connection_by_slug(conn, &t, slug)?;
    if c.protocol != Protocol::Saml {
        return Err(invalid(
            "connection",
            format!("`{slug}` is not a SAML connection"),
        ));
    }
    let cur = connections::saml_settings(conn, t.id, c.id)?;
    let merged = SamlConnectionInput {
        slug: c.slug.to_string(),
        display_name: Some(
            patch
                .display_name
                .clone()
                .unwrap_or_else(|| c.display_name.clone()),
        ),
        idp_entity_id: patch.idp_entity_id.clone().unwrap_or(cur.idp_entity_id),
        idp_sso_url: patch.idp_sso_url.clone().unwrap_or(cur.idp_sso_url),
        idp_certificates: patch
            .idp_certificates
            .clone()
            .unwrap_or(cur.idp_certificates),
        allowed_algorithms: Some(patch.allowed_algorithms.clone().unwrap_or_else(|| {
            cur.allowed_algorithms
                .iter()
                .map(|a| a.name().to_owned())
                .collect()
        })),
        allow_idp_initiated: patch.allow_idp_initiated.unwrap_or(cur.allow_idp_initiated),
        allow_unbound_responses: patch
            .allow_unbound_responses
            .unwrap_or(cur.allow_unbound_responses),
        sign_requests: patch.sign_requests.unwrap_or(cur.sign_requests),
        clock_skew_secs: Some(patch.clock_skew_secs.unwrap_or(cur.clock_skew_secs)),
        attr_email: patch.attr_email.clone().unwrap_or(c.attr_email.clone()),
        attr_first_name: patch
            .attr_first_name
            .clone()
            .unwrap_or(c.attr_first_name.clone()),
        attr_last_name: patch
            .attr_last_name
            .clone()
            .unwrap_or(c.attr_last_name.clone()),
        attr_iwms_id: patch.attr_iwms_id.clone().unwrap_or(c.attr_iwms_id.clone()),
    };
    let ValidSaml {
        display,
        settings,
        iwms,
    } = validate_saml(&merged, &c.slug, sp_can_sign)?;
    let fields = NewConnection {
        slug: &c.slug,
        display_name: &display,
        attr_email: &merged.attr_email,
        attr_first_name: &merged.attr_first_name,
        attr_last_name: &merged.attr_last_name,
        attr_iwms_id: iwms.as_deref(),
    };
    storage::transaction(conn, |db| {
        connections::update_saml(db, t.id, c.id, &fields, &settings, now)
    })?;
    connection_by_slug(conn, &t, slug)
}

pub fn connection_by_slug(
    conn: &mut DbConnection,
    t: &Tenant,
    raw: &str,
) -> Result<Connection, AdminError> {
    let slug = parse_slug("connection", raw)?;
    connections::find(conn, t.id, &slug)?
        .filter(|c| c.removed_at.is_none())
        .ok_or_else(|| AdminError::NotFound(format!("connection `{slug}` in tenant `{}`", t.slug)))
}

pub fn remove_connection(
    conn: &mut DbConnection,
    tenant: &str,
    slug: &str,
    now: i64,
) -> Result<(), AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let c = connection_by_slug(conn, &t, slug)?;
    connections::mark_removed(conn, t.id, c.id, now)?;
    Ok(())
}

pub fn connection_json(
    c: &Connection,
    s: &SamlIdpSettings,
    sp: &crate::protocol::saml::SpEndpoints,
) -> serde_json::Value {
    json!({
        "slug": c.slug.as_str(),
        "display_name": c.display_name,
        "protocol": c.protocol.as_str(),
        "idp_entity_id": s.idp_entity_id,
        "idp_sso_url": s.idp_sso_url,
        "idp_certificates": s.idp_certificates.iter().map(|d| crate::service::admin::cert_summary(d)).collect::<Vec<_>>(),
        "allowed_algorithms": s.allowed_algorithms.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "allow_idp_initiated": s.allow_idp_initiated,
        "allow_unbound_responses": s.allow_unbound_responses,
        "sign_requests": s.sign_requests,
        "clock_skew_secs": s.clock_skew_secs,
        "attribute_mapping": {
            "email": c.attr_email, "first_name": c.attr_first_name, "last_name": c.attr_last_name, "iwms_id": c.attr_iwms_id,
        },
        "sp_entity_id": sp.entity_id,
        "acs_url": sp.acs_url,
        "metadata_url": sp.metadata_url,
    })
}

/// Subject and expiry of a certificate, for admins comparing with their IdP.
pub fn cert_summary(der: &[u8]) -> serde_json::Value {
    match openssl::x509::X509::from_der(der) {
        Ok(x) => {
            let subject = x
                .subject_name()
                .entries()
                .filter_map(|e| e.data().to_string().ok())
                .collect::<Vec<_>>()
                .join(", ");
            let sha256 = x
                .digest(openssl::hash::MessageDigest::sha256())
                .map(hex::encode)
                .unwrap_or_default();
            json!({ "subject": subject, "not_after": x.not_after().to_string(), "sha256": sha256 })
        }
        Err(_) => json!({ "error": "unparseable certificate" }),
    }
}

#[derive(Clone)]
pub struct OidcConnectionInput {
    pub slug: String,
    pub display_name: Option<String>,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub client_auth: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub allowed_algorithms: Option<Vec<String>>,
    /// HS256 (signed with the client secret) must be asked for explicitly.
    pub allow_hs256: bool,
    pub use_userinfo: bool,
    pub clock_skew_secs: Option<i64>,
    pub attr_email: Vec<String>,
    pub attr_first_name: Vec<String>,
    pub attr_last_name: Vec<String>,
    pub attr_iwms_id: Option<String>,
    /// From discovery, fetched by the caller (this function does no network I/O).
    pub metadata: ProviderMetadata,
    pub jwks_json: String,
}

/// A validated OIDC connection: display name, provider settings, IWMS claim override.
struct ValidOidc {
    display: String,
    settings: OidcSettings,
    iwms: Option<String>,
}

fn validate_oidc(
    input: &OidcConnectionInput,
    slug: &Slug,
    now: i64,
) -> Result<ValidOidc, AdminError> {
    let display =
        tenant::parse_display_name(input.display_name.as_deref().unwrap_or(slug.as_str()))
            .map_err(|e| invalid("display_name", e))?;
    if input.metadata.issuer != input.issuer {
        return Err(invalid(
            "issuer",
            "the discovery document names another issuer",
        ));
    }
    if input.client_id.trim().is_empty() {
        return Err(invalid("client_id", "is required"));
    }
    if input.client_secret.trim().is_empty() {
        return Err(invalid(
            "client_secret",
            "is required (from a file or an environment variable)",
        ));
    }
    let client_auth = ClientAuth::parse(
        input
            .client_auth
            .as_deref()
            .unwrap_or("client_secret_basic"),
    )
    .map_err(|e| invalid("client_auth", e))?;
    let scopes = input
        .scopes
        .clone()
        .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect());
    if !scopes.iter().any(|s| s == "openid")
        || scopes
            .iter()
            .any(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        return Err(invalid(
            "scopes",
            "must include `openid`; one scope per item, no spaces",
        ));
    }
    let algs: Vec<JwsAlgorithm> = match &input.allowed_algorithms {
        None => JwsAlgorithm::DEFAULT.to_vec(),
        Some(list) if list.is_empty() => {
            return Err(invalid("allowed_algorithms", "must not be empty"));
        }
        Some(list) => list
            .iter()
            .map(|a| JwsAlgorithm::parse(a).map_err(|e| invalid("allowed_algorithms", e)))
            .collect::<Result<_, _>>()?,
    };
    let mut algs = algs;
    if input.allow_hs256 && !algs.contains(&JwsAlgorithm::Hs256) {
        algs.push(JwsAlgorithm::Hs256);
    }
    if algs.contains(&JwsAlgorithm::Hs256) && !input.allow_hs256 {
        return Err(invalid(
            "allowed_algorithms",
            "HS256 needs the explicit allow_hs256 setting",
        ));
    }
    // An HS256 key is the client secret: short ones fall to offline guessing.
    if input.allow_hs256 && input.client_secret.trim().len() < 32 {
        return Err(invalid(
            "client_secret",
            "HS256 needs a client secret of at least 32 characters",
        ));
    }
    let skew = input.clock_skew_secs.unwrap_or(DEFAULT_CLOCK_SKEW_SECS);
    if !(0..=600).contains(&skew) {
        return Err(invalid("clock_skew_secs", "must be between 0 and 600"));
    }
    crate::protocol::oidc::jose::parse_jwks(&input.jwks_json)
        .map_err(|e| invalid("jwks", e.detail))?;
    check_names("attr_email", &input.attr_email)?;
    check_names("attr_first_name", &input.attr_first_name)?;
    check_names("attr_last_name", &input.attr_last_name)?;
    let iwms = parse_attribute_name("attr_iwms_id", input.attr_iwms_id.as_deref())?;
    let settings = OidcSettings {
        issuer: input.issuer.clone(),
        client_id: input.client_id.trim().to_owned(),
        client_secret: input.client_secret.trim().to_owned(),
        client_auth,
        scopes,
        allowed_algorithms: algs,
        use_userinfo: input.use_userinfo,
        clock_skew_secs: skew,
        metadata: input.metadata.clone(),
        jwks_json: input.jwks_json.clone(),
        jwks_fetched_at: now,
    };
    Ok(ValidOidc {
        display,
        settings,
        iwms,
    })
}

pub fn add_oidc_connection(
    conn: &mut DbConnection,
    tenant: &str,
    input: &OidcConnectionInput,
    now: i64,
) -> Result<Connection, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let slug = parse_slug("slug", &input.slug)?;
    let ValidOidc {
        display,
        settings,
        iwms,
    } = validate_oidc(input, &slug, now)?;
    let new = NewConnection {
        slug: &slug,
        display_name: &display,
        attr_email: &input.attr_email,
        attr_first_name: &input.attr_first_name,
        attr_last_name: &input.attr_last_name,
        attr_iwms_id: iwms.as_deref(),
    };
    storage::transaction(conn, |c| {
        let id = connections::create(c, t.id, &new, Protocol::Oidc, now)?;
        oidc::insert(c, t.id, id, &settings)
    })?;
    connections::find(conn, t.id, &slug)?
        .ok_or_else(|| AdminError::NotFound(format!("connection `{slug}`")))
}

/// Changes to an OIDC connection; `None` keeps the current value.
#[derive(Default, Clone)]
pub struct OidcConnectionPatch {
    pub display_name: Option<String>,
    pub client_id: Option<String>,
    /// A new client secret (rotation).
    pub client_secret: Option<String>,
    pub client_auth: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub allowed_algorithms: Option<Vec<String>>,
    pub allow_hs256: Option<bool>,
    pub use_userinfo: Option<bool>,
    pub clock_skew_secs: Option<i64>,
    pub attr_email: Option<Vec<String>>,
    pub attr_first_name: Option<Vec<String>>,
    pub attr_last_name: Option<Vec<String>>,
    pub attr_iwms_id: Option<Option<String>>,
    /// Freshly read discovery and JWKS (the caller fetched them).
    pub rediscovered: Option<(ProviderMetadata, String)>,
}

pub fn update_oidc_connection(
    conn: &mut DbConnection,
    tenant: &str,
    slug: &str,
    patch: &OidcConnectionPatch,
    now: i64,
) -> Result<Connection, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let c = connection_by_slug(conn, &t, slug)?;
    if c.protocol != Protocol::Oidc {
        return Err(invalid(
            "connection",
            format!("`{slug}` is not an OpenID Connect connection"),
        ));
    }
    let cur = oidc::settings(conn, t.id, c.id)?;
    let had_hs256 = cur.allowed_algorithms.contains(&JwsAlgorithm::Hs256);
    let (metadata, jwks_json, fetched_at) = match &patch.rediscovered {
        Some((m, j)) => (m.clone(), j.clone(), now),
        None => (
            cur.metadata.clone(),
            cur.jwks_json.clone(),
            cur.jwks_fetched_at,
        ),
    };
    let merged = OidcConnectionInput {
        slug: c.slug.to_string(),
        display_name: Some(
            patch
                .display_name
                .clone()
                .unwrap_or_else(|| c.display_name.clone()),
        ),
        issuer: cur.issuer.clone(),
        client_id: patch.client_id.clone().unwrap_or(cur.client_id.clone()),
        client_secret: patch
            .client_secret
            .clone()
            .unwrap_or(cur.client_secret.clone()),
        client_auth: Some(
            patch
                .client_auth
                .clone()
                .unwrap_or_else(|| cur.client_auth.name().to_owned()),
        ),
        scopes: Some(patch.scopes.clone().unwrap_or(cur.scopes.clone())),
        allowed_algorithms: Some(patch.allowed_algorithms.clone().unwrap_or_else(|| {
            cur.allowed_algorithms
                .iter()
                .filter(|a| **a != JwsAlgorithm::Hs256)
                .map(|a| a.name().to_owned())
                .collect()
        })),
        allow_hs256: patch.allow_hs256.unwrap_or(had_hs256),
        use_userinfo: patch.use_userinfo.unwrap_or(cur.use_userinfo),
        clock_skew_secs: Some(patch.clock_skew_secs.unwrap_or(cur.clock_skew_secs)),
        attr_email: patch.attr_email.clone().unwrap_or(c.attr_email.clone()),
        attr_first_name: patch
            .attr_first_name
            .clone()
            .unwrap_or(c.attr_first_name.clone()),
        attr_last_name: patch
            .attr_last_name
            .clone()
            .unwrap_or(c.attr_last_name.clone()),
        attr_iwms_id: patch.attr_iwms_id.clone().unwrap_or(c.attr_iwms_id.clone()),
        metadata,
        jwks_json,
    };
    let ValidOidc {
        display,
        mut settings,
        iwms,
    } = validate_oidc(&merged, &c.slug, now)?;
    settings.jwks_fetched_at = fetched_at;
    let fields = NewConnection {
        slug: &c.slug,
        display_name: &display,
        attr_email: &merged.attr_email,
        attr_first_name: &merged.attr_first_name,
        attr_last_name: &merged.attr_last_name,
        attr_iwms_id: iwms.as_deref(),
    };
    storage::transaction(conn, |db| {
        connections::update_common(db, t.id, c.id, &fields, now)?;
        oidc::update(db, t.id, c.id, &settings)
    })?;
    connection_by_slug(conn, &t, slug)
}

/// A connection as shown to admins, with the values to configure in the IdP. Secrets are
/// never included.
pub fn connection_view(
    conn: &mut DbConnection,
    base_url: &str,
    t: &Tenant,
    c: &Connection,
) -> Result<serde_json::Value, AdminError> {
    match c.protocol {
        Protocol::Saml => {
            let s = connections::saml_settings(conn, t.id, c.id)?;
            Ok(connection_json(
                c,
                &s,
                &crate::protocol::saml::SpEndpoints::new(
                    base_url,
                    t.slug.as_str(),
                    c.slug.as_str(),
                ),
            ))
        }
        Protocol::Oidc => {
            let s = oidc::settings(conn, t.id, c.id)?;
            Ok(json!({
                "slug": c.slug.as_str(),
                "display_name": c.display_name,
                "protocol": c.protocol.as_str(),
                "issuer": s.issuer,
                "client_id": s.client_id,
                "client_auth": s.client_auth.name(),
                "scopes": s.scopes,
                "allowed_algorithms": s.allowed_algorithms.iter().map(|a| a.name()).collect::<Vec<_>>(),
                "use_userinfo": s.use_userinfo,
                "clock_skew_secs": s.clock_skew_secs,
                "endpoints": s.metadata,
                "attribute_mapping": {
                    "email": c.attr_email, "first_name": c.attr_first_name, "last_name": c.attr_last_name, "iwms_id": c.attr_iwms_id,
                },
                "redirect_uri": crate::protocol::oidc::redirect_uri(base_url, t.slug.as_str(), c.slug.as_str()),
            }))
        }
    }
}

impl std::fmt::Debug for OidcConnectionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConnectionInput")
            .field("slug", &self.slug)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}
