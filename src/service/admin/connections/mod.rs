//! A tenant's IdP connections (SAML IdPs and OpenID providers). The API, the console, the CLI
//! and the demo all go through these commands; each writes the connection and its admin role
//! rule in one transaction, and every front door shows the one [`ConnectionView`].
pub mod oidc;
pub mod saml;
pub mod view;

pub use oidc::{NewOidc, OidcPatch, add_oidc_connection, require_before_discovery};
pub use saml::{NewSaml, SamlPatch, add_saml_connection};
pub use view::{
    AdminRole, AttributeMapping, CertificateView, ConnectionSummary, ConnectionView, IdpSetup,
    OidcSettingsView, ProtocolName, SamlSettingsView, connection_view,
};

use super::audit::{self, Change, snapshot};
use super::metadata::{self, Fetcher};
use super::{AdminError, invalid, parse_attribute_name, parse_slug, tenant_by_slug};
use crate::domain::audit::{Actor, AuditAction};
use crate::domain::claims::AdminRoleRule;
use crate::domain::connection::{Connection, DirectoryAttributes, Protocol, SamlIdpSettings};
use crate::domain::oidc::{OidcSettings, ProviderMetadata};
use crate::domain::slug::Slug;
use crate::domain::tenant::Tenant;
use crate::protocol::saml::idp_metadata::IdpMetadata;
use crate::storage::connections::NewConnection;
use crate::storage::{self, DbConnection, DbPool, connections};

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

/// The connection named in a URL path: a segment that is not a slug is simply not found.
pub fn path_slug(raw: &str) -> Result<Slug, AdminError> {
    Slug::parse(raw).map_err(|_| {
        AdminError::NotFound(format!(
            "connection `{}`",
            raw.chars().take(64).collect::<String>()
        ))
    })
}

/// The tenant's active connections (removed ones are left out), by slug.
pub fn list_connections(
    conn: &mut DbConnection,
    t: &Tenant,
) -> Result<Vec<ConnectionSummary>, AdminError> {
    Ok(connections::list_active(conn, t.id)?
        .iter()
        .map(ConnectionSummary::from)
        .collect())
}

/// Every active connection of the tenant, as shown to admins.
pub fn connection_views(
    conn: &mut DbConnection,
    base_url: &str,
    t: &Tenant,
    now: i64,
) -> Result<Vec<ConnectionView>, AdminError> {
    connections::list_active(conn, t.id)?
        .iter()
        .map(|c| connection_view(conn, base_url, t, c, now))
        .collect()
}

pub fn show_connection(
    conn: &mut DbConnection,
    base_url: &str,
    t: &Tenant,
    slug: &str,
    now: i64,
) -> Result<ConnectionView, AdminError> {
    let c = connection_by_slug(conn, t, slug)?;
    connection_view(conn, base_url, t, &c, now)
}

pub fn remove_connection(
    conn: &mut DbConnection,
    tenant: &str,
    slug: &str,
    actor: &Actor,
    now: i64,
) -> Result<(), AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let c = connection_by_slug(conn, &t, slug)?;
    storage::transaction_with(conn, |db| {
        let before = audit_view(db, &t, &c, now)?;
        connections::mark_removed(db, t.id, c.id, now)?;
        let change = Change {
            action: AuditAction::ConnectionRemoved,
            target: c.slug.as_str(),
            before,
            after: None,
        };
        audit::record(db, Some(t.id), actor, change, now)?;
        Ok(())
    })
}

/// A user is an admin of the tenant when the IdP's `attribute` holds `value` (exact match).
pub fn admin_role_rule(r: &AdminRole) -> Result<AdminRoleRule, AdminError> {
    let check = |field: &'static str, v: &str| {
        let t = v.trim();
        if t.is_empty() || t.chars().count() > 256 || t.chars().any(char::is_control) {
            return Err(invalid(field, "must be 1-256 printable characters"));
        }
        Ok(t.to_owned())
    };
    Ok(AdminRoleRule {
        attribute: check("admin_role_attribute", &r.attribute)?,
        value: check("admin_role_value", &r.value)?,
    })
}

/// The rule from two separate fields (the console's form): both halves or neither.
pub fn admin_role_from_halves(
    attribute: &str,
    value: &str,
) -> Result<Option<AdminRole>, AdminError> {
    match (attribute.trim().is_empty(), value.trim().is_empty()) {
        (true, true) => Ok(None),
        (false, false) => {
            let role = AdminRole {
                attribute: attribute.to_owned(),
                value: value.to_owned(),
            };
            admin_role_rule(&role)?;
            Ok(Some(role))
        }
        (false, true) => Err(invalid(
            "admin_role_value",
            "enter the value that makes a user an admin, or clear the attribute too",
        )),
        (true, false) => Err(invalid(
            "admin_role_attribute",
            "enter the attribute that carries the value, or clear the value too",
        )),
    }
}

fn role_rule(role: Option<&AdminRole>) -> Result<Option<AdminRoleRule>, AdminError> {
    role.map(admin_role_rule).transpose()
}

/// Changes to a connection; `None` keeps the current value. The common fields apply to both
/// protocols, `saml` and `oidc` only to their own (refused otherwise).
#[derive(Debug, Default, Clone)]
pub struct ConnectionPatch {
    /// The protocol the caller means (the CLI's update-saml / update-oidc); `None`: whichever
    /// the connection has.
    pub protocol: Option<Protocol>,
    pub display_name: Option<String>,
    pub attr_email: Option<Vec<String>>,
    pub attr_first_name: Option<Vec<String>>,
    pub attr_last_name: Option<Vec<String>>,
    /// Some(None) falls back to the tenant's IWMS attribute.
    pub attr_iwms_id: Option<Option<String>>,
    /// Some(None) removes the rule (admins then come only from grants).
    pub admin_role: Option<Option<AdminRole>>,
    pub allowed_algorithms: Option<Vec<String>>,
    pub clock_skew_secs: Option<i64>,
    /// The groups and directory attribute names.
    pub directory: DirectoryPatch,
    pub saml: SamlPatch,
    pub oidc: OidcPatch,
}

/// Changes to the names of the groups attribute / claim and the directory attributes;
/// `None` keeps the current name, `Some(None)` goes back to the defaults.
#[derive(Debug, Default, Clone)]
pub struct DirectoryPatch {
    pub groups_attribute: Option<Option<String>>,
    pub department_attribute: Option<Option<String>>,
    pub title_attribute: Option<Option<String>>,
    pub employee_number_attribute: Option<Option<String>>,
    pub manager_attribute: Option<Option<String>>,
}

impl DirectoryPatch {
    fn is_empty(&self) -> bool {
        self.groups_attribute.is_none()
            && self.department_attribute.is_none()
            && self.title_attribute.is_none()
            && self.employee_number_attribute.is_none()
            && self.manager_attribute.is_none()
    }

    /// `current` with this patch applied, each name checked.
    pub fn merge(&self, current: &DirectoryAttributes) -> Result<DirectoryAttributes, AdminError> {
        let one = |field: &'static str, v: &Option<Option<String>>, cur: &Option<String>| match v {
            Some(v) => parse_attribute_name(field, v.as_deref()),
            None => Ok(cur.clone()),
        };
        Ok(DirectoryAttributes {
            groups: one("groups_attribute", &self.groups_attribute, &current.groups)?,
            department: one(
                "department_attribute",
                &self.department_attribute,
                &current.department,
            )?,
            title: one("title_attribute", &self.title_attribute, &current.title)?,
            employee_number: one(
                "employee_number_attribute",
                &self.employee_number_attribute,
                &current.employee_number,
            )?,
            manager: one(
                "manager_attribute",
                &self.manager_attribute,
                &current.manager,
            )?,
        })
    }
}

impl ConnectionPatch {
    fn check_protocol(&self, c: &Connection) -> Result<(), AdminError> {
        match (self.protocol, c.protocol) {
            (Some(Protocol::Saml), Protocol::Oidc) => {
                return Err(invalid(
                    "connection",
                    format!("`{}` is not a SAML connection", c.slug),
                ));
            }
            (Some(Protocol::Oidc), Protocol::Saml) => {
                return Err(invalid(
                    "connection",
                    format!("`{}` is not an OpenID Connect connection", c.slug),
                ));
            }
            _ => {}
        }
        match c.protocol {
            Protocol::Saml => match self.oidc.first_set() {
                Some(f) => Err(invalid(f, "applies only to OpenID Connect connections")),
                None => Ok(()),
            },
            Protocol::Oidc => match self.saml.first_set() {
                Some(f) => Err(invalid(f, "applies only to SAML connections")),
                None => Ok(()),
            },
        }
    }
}

/// What the server read for a patch before its transaction.
#[derive(Debug, Default)]
pub struct Fetched {
    pub metadata: Option<IdpMetadata>,
    pub discovery: Option<(ProviderMetadata, String)>,
}

/// Applies `patch`: reads what it names (SAML metadata, OIDC rediscovery) through the server's
/// fetch policy, then writes connection and admin role rule in one transaction.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the one update command"
)]
pub async fn update_connection(
    pool: &DbPool,
    fetcher: &Fetcher,
    t: &Tenant,
    slug: &str,
    patch: ConnectionPatch,
    sp_can_sign: bool,
    actor: &Actor,
    now: i64,
) -> Result<Connection, AdminError> {
    if let Some(Some(r)) = &patch.admin_role {
        admin_role_rule(r)?;
    }
    let (tenant, name) = (t.clone(), slug.to_owned());
    let (current, issuer) = storage::block::<_, AdminError, _>(pool, move |c| {
        let current = connection_by_slug(c, &tenant, &name)?;
        let issuer = match current.protocol {
            Protocol::Oidc => Some(storage::oidc::settings(c, tenant.id, current.id)?.issuer),
            Protocol::Saml => None,
        };
        Ok((current, issuer))
    })
    .await?;
    patch.check_protocol(&current)?;
    let mut fetched = Fetched::default();
    match (current.protocol, issuer) {
        (Protocol::Saml, _) => {
            let s = &patch.saml;
            fetched.metadata = metadata::read(
                fetcher,
                s.metadata_xml.as_deref(),
                s.metadata_url.as_deref(),
            )
            .await?;
        }
        (Protocol::Oidc, Some(issuer)) if patch.oidc.rediscover == Some(true) => {
            fetched.discovery = Some(metadata::discover_oidc(fetcher, &issuer).await?);
        }
        (Protocol::Oidc, _) => {}
    }
    let (tenant, name, actor) = (t.clone(), slug.to_owned(), actor.clone());
    storage::block(pool, move |c| {
        apply_update(c, &tenant, &name, &patch, fetched, sp_can_sign, &actor, now)
    })
    .await
}

/// [`update_connection`] once everything it needed is read; no network I/O.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the one update command"
)]
pub(crate) fn apply_update(
    conn: &mut DbConnection,
    t: &Tenant,
    slug: &str,
    patch: &ConnectionPatch,
    fetched: Fetched,
    sp_can_sign: bool,
    actor: &Actor,
    now: i64,
) -> Result<Connection, AdminError> {
    let role = match &patch.admin_role {
        Some(r) => Some(role_rule(r.as_ref())?),
        None => None,
    };
    let c = connection_by_slug(conn, t, slug)?;
    patch.check_protocol(&c)?;
    let directory = (!patch.directory.is_empty())
        .then(|| patch.directory.merge(&c.directory))
        .transpose()?;
    let valid = match c.protocol {
        Protocol::Saml => saml::merge(conn, t, &c, patch, fetched.metadata, sp_can_sign)?,
        Protocol::Oidc => oidc::merge(conn, t, &c, patch, fetched.discovery, now)?,
    };
    storage::transaction_with(conn, |db| {
        let before = audit_view(db, t, &c, now)?;
        let fields = valid.common.fields(&c.slug);
        match &valid.settings {
            Settings::Saml(s) => connections::update_saml(db, t.id, c.id, &fields, s, now)?,
            Settings::Oidc(s) => {
                connections::update_common(db, t.id, c.id, &fields, now)?;
                storage::oidc::update(db, t.id, c.id, s)?;
            }
        }
        if let Some(rule) = &role {
            connections::set_admin_role(db, t.id, c.id, rule.as_ref(), now)?;
        }
        if let Some(d) = &directory {
            connections::set_directory_attributes(db, t.id, c.id, d, now)?;
        }
        let updated = connection_by_slug(db, t, slug)?;
        let change = Change {
            action: AuditAction::ConnectionUpdated,
            target: c.slug.as_str(),
            before,
            after: audit_view(db, t, &updated, now)?,
        };
        audit::record(db, Some(t.id), actor, change, now)?;
        Ok(updated)
    })
}

/// The settings every connection has, validated.
struct Common {
    display: String,
    attr_email: Vec<String>,
    attr_first_name: Vec<String>,
    attr_last_name: Vec<String>,
    /// The IWMS ID attribute override.
    iwms: Option<String>,
}

impl Common {
    fn fields<'a>(&'a self, slug: &'a Slug) -> NewConnection<'a> {
        NewConnection {
            slug,
            display_name: &self.display,
            attr_email: &self.attr_email,
            attr_first_name: &self.attr_first_name,
            attr_last_name: &self.attr_last_name,
            attr_iwms_id: self.iwms.as_deref(),
        }
    }
}

enum Settings {
    Saml(SamlIdpSettings),
    Oidc(OidcSettings),
}

/// A connection ready to be written.
struct Valid {
    common: Common,
    settings: Settings,
}

/// Writes a new connection and its admin role rule in one transaction, then reads it back.
fn create(
    conn: &mut DbConnection,
    t: &Tenant,
    slug: &Slug,
    valid: &Valid,
    role: Option<&AdminRoleRule>,
    actor: &Actor,
    now: i64,
) -> Result<Connection, AdminError> {
    storage::transaction_with(conn, |db| {
        let fields = valid.common.fields(slug);
        let id = match &valid.settings {
            Settings::Saml(s) => connections::create_saml(db, t.id, &fields, s, now)?,
            Settings::Oidc(s) => {
                let id = connections::create(db, t.id, &fields, Protocol::Oidc, now)?;
                storage::oidc::insert(db, t.id, id, s)?;
                id
            }
        };
        if role.is_some() {
            connections::set_admin_role(db, t.id, id, role, now)?;
        }
        let created = connections::find(db, t.id, slug)?
            .ok_or_else(|| AdminError::NotFound(format!("connection `{slug}`")))?;
        let change = Change {
            action: AuditAction::ConnectionCreated,
            target: slug.as_str(),
            before: None,
            after: audit_view(db, t, &created, now)?,
        };
        audit::record(db, Some(t.id), actor, change, now)?;
        Ok(created)
    })
}

/// A connection's admin view for the audit trail: its settings, certificates and mapping,
/// without the URLs derived from the server's base URL.
pub(crate) fn audit_view(
    conn: &mut DbConnection,
    t: &Tenant,
    c: &Connection,
    now: i64,
) -> Result<Option<serde_json::Value>, AdminError> {
    let mut v = snapshot(&connection_view(conn, "", t, c, now)?);
    if let Some(map) = v.as_mut().and_then(serde_json::Value::as_object_mut) {
        map.remove("idp_setup");
        map.remove("test_sign_in_url");
    }
    Ok(v)
}
