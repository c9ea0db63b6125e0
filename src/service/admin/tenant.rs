//! Tenants: their settings (user creation, the IWMS ID attribute, feed and join key, staleness,
//! return_to origins) and the read model every front door shows.
use serde::Serialize;

use super::audit::{self, Change, snapshot};
use super::fields::parse_attribute_name;
use super::{AdminError, invalid, parse_slug, tenant_by_slug};
use crate::domain::audit::{Actor, AuditAction};
use crate::domain::iwms::{ALL_EVENTS, IwmsFeed, JoinKey, SecretSource, parse_events};
use crate::domain::return_to::AllowedOrigin;
use crate::domain::roles::ForwardedAttribute;
use crate::domain::scim::user::IwmsSource;
use crate::domain::tenant::{self, DEFAULT_STALE_AFTER_DAYS, Tenant};
use crate::storage::tenants::TenantFields;
use crate::storage::{self, DbConnection, connections, domains, tenants};

fn parse_origins(raw: &[String]) -> Result<Vec<AllowedOrigin>, AdminError> {
    raw.iter()
        .map(|o| AllowedOrigin::parse(o).map_err(|e| invalid("allowed_return_origins", e)))
        .collect()
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
    let join_key = match &input.iwms_join_key {
        Some(Some(k)) => JoinKey::parse(k).map_err(|e| invalid("iwms_join_key", e))?,
        Some(None) => None,
        None => current.join_key,
    };
    let feed = IwmsFeed {
        auto_create: input.auto_create_iwms.unwrap_or(current.auto_create),
        endpoint,
        secret,
        events,
        join_key,
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
    /// The IWMS field a person is looked up by before an account is created (`iwms_id`,
    /// `email`, `employee_number`, `user_name`, or `none`); Some(None) clears it.
    pub iwms_join_key: Option<Option<String>>,
    pub stale_after_days: Option<i64>,
    pub allowed_return_origins: Option<Vec<String>>,
    /// Which attributes `/auth/verify` sends as `X-Auth-Request-*` headers: any of
    /// `department`, `title`, `employee-number`, `manager`; empty sends none.
    pub forward_attributes: Option<Vec<String>>,
}

/// The stored form of `forward_attributes`, each name checked.
fn parse_forwarded(raw: &[String]) -> Result<String, AdminError> {
    let list = raw
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.trim().is_empty())
        .map(|s| ForwardedAttribute::parse(s).map_err(|e| invalid("forward_attributes", e)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ForwardedAttribute::join(&list))
}

pub fn create_tenant(
    conn: &mut DbConnection,
    slug: &str,
    input: &TenantInput,
    actor: &Actor,
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
    let forwarded = input
        .forward_attributes
        .as_deref()
        .map(parse_forwarded)
        .transpose()?;
    storage::transaction_with(conn, |c| {
        let t = tenants::create(c, &slug, &fields, now)?;
        if let Some(f) = &forwarded {
            storage::roles::set_forward_attributes(c, t.id, f, now)?;
        }
        let change = Change {
            action: AuditAction::TenantCreated,
            target: t.slug.as_str(),
            before: None,
            after: snapshot(&tenant_view(c, &t)?),
        };
        audit::record(c, Some(t.id), actor, change, now)?;
        Ok(t)
    })
}

pub fn update_tenant(
    conn: &mut DbConnection,
    slug: &str,
    input: &TenantInput,
    actor: &Actor,
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
    let forwarded = input
        .forward_attributes
        .as_deref()
        .map(parse_forwarded)
        .transpose()?;
    storage::transaction_with(conn, |c| {
        let before = tenant_view(c, &t)?;
        tenants::update(c, t.id, &fields, now)?;
        if let Some(f) = &forwarded {
            storage::roles::set_forward_attributes(c, t.id, f, now)?;
        }
        let updated = tenants::get(c, t.id)?;
        let change = Change {
            action: AuditAction::TenantUpdated,
            target: t.slug.as_str(),
            before: snapshot(&before),
            after: snapshot(&tenant_view(c, &updated)?),
        };
        audit::record(c, Some(t.id), actor, change, now)?;
        Ok(updated)
    })
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
    /// The IWMS field a person is looked up by before an account is created: `iwms_id`,
    /// `email`, `employee_number` or `user_name`; null: accounts are created without a lookup.
    pub iwms_join_key: Option<&'static str>,
    pub stale_after_days: u32,
    pub allowed_return_origins: Vec<String>,
    /// The attributes sent to apps as `X-Auth-Request-*` headers (`department`, `title`,
    /// `employee-number`, `manager`).
    pub forward_attributes: Vec<&'static str>,
    pub domains: Vec<String>,
    pub connections: Vec<String>,
}

impl TenantView {
    /// Auto-create is on and no domain is whitelisted: anyone the IdP signs in gets an account.
    pub fn open_enrolment(&self) -> bool {
        self.auto_create_users && self.domains.is_empty()
    }
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
        iwms_join_key: t.iwms.join_key.map(JoinKey::as_str),
        stale_after_days: t.stale_after_days,
        allowed_return_origins: t
            .allowed_return_origins
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect(),
        forward_attributes: ForwardedAttribute::split(&storage::roles::forward_attributes(
            conn, t.id,
        )?)
        .into_iter()
        .map(ForwardedAttribute::as_str)
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
