use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::prelude::*;

use super::error::corrupt;
use super::schema::{connections, saml_idps};
use super::{DbConnection, StorageError};
use crate::domain::claims::AdminRoleRule;
use crate::domain::connection::{
    Connection, DirectoryAttributes, Protocol, SamlIdpSettings, SignatureAlgorithm,
};
use crate::domain::ids::{ConnectionId, TenantId};
use crate::domain::slug::Slug;

#[derive(Queryable, Selectable)]
#[diesel(table_name = connections)]
struct ConnectionRow {
    id: i64,
    tenant_id: i64,
    slug: String,
    protocol: String,
    display_name: String,
    attr_email: String,
    attr_first_name: String,
    attr_last_name: String,
    attr_iwms_id: Option<String>,
    admin_role_attribute: Option<String>,
    admin_role_value: Option<String>,
    removed_at: Option<i64>,
    created_at: i64,
    groups_attribute: Option<String>,
    department_attribute: Option<String>,
    title_attribute: Option<String>,
    employee_number_attribute: Option<String>,
    manager_attribute: Option<String>,
}

fn names(column: &'static str, raw: &str) -> Result<Vec<String>, StorageError> {
    serde_json::from_str(raw).map_err(|e| corrupt(column, e))
}

impl TryFrom<ConnectionRow> for Connection {
    type Error = StorageError;
    fn try_from(r: ConnectionRow) -> Result<Self, StorageError> {
        Ok(Connection {
            id: ConnectionId(r.id),
            tenant_id: TenantId(r.tenant_id),
            slug: Slug::parse(&r.slug).map_err(|e| corrupt("connections.slug", e))?,
            protocol: Protocol::parse(&r.protocol)
                .ok_or_else(|| corrupt("connections.protocol", &r.protocol))?,
            display_name: r.display_name,
            attr_email: names("connections.attr_email", &r.attr_email)?,
            attr_first_name: names("connections.attr_first_name", &r.attr_first_name)?,
            attr_last_name: names("connections.attr_last_name", &r.attr_last_name)?,
            attr_iwms_id: r.attr_iwms_id,
            admin_role: match (r.admin_role_attribute, r.admin_role_value) {
                (Some(attribute), Some(value)) => Some(AdminRoleRule { attribute, value }),
                _ => None,
            },
            directory: DirectoryAttributes {
                groups: r.groups_attribute,
                department: r.department_attribute,
                title: r.title_attribute,
                employee_number: r.employee_number_attribute,
                manager: r.manager_attribute,
            },
            removed_at: r.removed_at,
            created_at: r.created_at,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = saml_idps)]
struct SamlRow {
    idp_entity_id: String,
    idp_sso_url: String,
    idp_certificates: String,
    allowed_algorithms: String,
    allow_idp_initiated: bool,
    sign_requests: bool,
    clock_skew_secs: i64,
    allow_unbound_responses: bool,
}

impl TryFrom<SamlRow> for SamlIdpSettings {
    type Error = StorageError;
    fn try_from(r: SamlRow) -> Result<Self, StorageError> {
        let certs = names("saml_idps.idp_certificates", &r.idp_certificates)?
            .iter()
            .map(|b| {
                STANDARD
                    .decode(b)
                    .map_err(|e| corrupt("saml_idps.idp_certificates", e))
            })
            .collect::<Result<_, _>>()?;
        let algs = names("saml_idps.allowed_algorithms", &r.allowed_algorithms)?
            .iter()
            .map(|a| {
                SignatureAlgorithm::parse(a).map_err(|e| corrupt("saml_idps.allowed_algorithms", e))
            })
            .collect::<Result<_, _>>()?;
        Ok(SamlIdpSettings {
            idp_entity_id: r.idp_entity_id,
            idp_sso_url: r.idp_sso_url,
            idp_certificates: certs,
            allowed_algorithms: algs,
            allow_idp_initiated: r.allow_idp_initiated,
            sign_requests: r.sign_requests,
            clock_skew_secs: r.clock_skew_secs,
            allow_unbound_responses: r.allow_unbound_responses,
        })
    }
}

pub struct NewConnection<'a> {
    pub slug: &'a Slug,
    pub display_name: &'a str,
    pub attr_email: &'a [String],
    pub attr_first_name: &'a [String],
    pub attr_last_name: &'a [String],
    pub attr_iwms_id: Option<&'a str>,
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

pub fn create_saml(
    conn: &mut DbConnection,
    tenant: TenantId,
    c: &NewConnection<'_>,
    s: &SamlIdpSettings,
    now: i64,
) -> Result<ConnectionId, StorageError> {
    let id = create(conn, tenant, c, Protocol::Saml, now)?.0;
    let certs: Vec<String> = s
        .idp_certificates
        .iter()
        .map(|d| STANDARD.encode(d))
        .collect();
    let algs: Vec<&str> = s.allowed_algorithms.iter().map(|a| a.name()).collect();
    diesel::insert_into(saml_idps::table)
        .values((
            saml_idps::connection_id.eq(id),
            saml_idps::tenant_id.eq(tenant.0),
            saml_idps::idp_entity_id.eq(&s.idp_entity_id),
            saml_idps::idp_sso_url.eq(&s.idp_sso_url),
            saml_idps::idp_certificates.eq(json(&certs)),
            saml_idps::allowed_algorithms.eq(json(&algs)),
            saml_idps::allow_idp_initiated.eq(s.allow_idp_initiated),
            saml_idps::sign_requests.eq(s.sign_requests),
            saml_idps::clock_skew_secs.eq(s.clock_skew_secs),
            saml_idps::allow_unbound_responses.eq(s.allow_unbound_responses),
        ))
        .execute(conn)?;
    Ok(ConnectionId(id))
}

/// The protocol-independent row; the caller adds the protocol's settings in the same
/// transaction.
pub fn create(
    conn: &mut DbConnection,
    tenant: TenantId,
    c: &NewConnection<'_>,
    protocol: Protocol,
    now: i64,
) -> Result<ConnectionId, StorageError> {
    let inserted = diesel::insert_into(connections::table)
        .values((
            connections::tenant_id.eq(tenant.0),
            connections::slug.eq(c.slug.as_str()),
            connections::protocol.eq(protocol.as_str()),
            connections::display_name.eq(c.display_name),
            connections::attr_email.eq(json(&c.attr_email)),
            connections::attr_first_name.eq(json(&c.attr_first_name)),
            connections::attr_last_name.eq(json(&c.attr_last_name)),
            connections::attr_iwms_id.eq(c.attr_iwms_id),
            connections::created_at.eq(now),
            connections::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(StorageError::from);
    match inserted {
        Err(e) if e.is_unique_violation() => {
            return Err(StorageError::Conflict(format!(
                "connection `{}` already exists in this tenant (slugs of removed connections stay reserved)",
                c.slug
            )));
        }
        other => other?,
    };
    Ok(ConnectionId(
        connections::table
            .filter(connections::tenant_id.eq(tenant.0))
            .filter(connections::slug.eq(c.slug.as_str()))
            .select(connections::id)
            .first(conn)?,
    ))
}

/// Active (not removed) connections of a tenant, by slug.
pub fn list_active(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<Vec<Connection>, StorageError> {
    connections::table
        .filter(connections::tenant_id.eq(tenant.0))
        .filter(connections::removed_at.is_null())
        .order(connections::slug.asc())
        .select(ConnectionRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Connection::try_from)
        .collect()
}

/// Every connection the tenant ever had, removed ones too (their sign-ins stay in the
/// history), by slug.
pub fn list_all(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<Vec<Connection>, StorageError> {
    connections::table
        .filter(connections::tenant_id.eq(tenant.0))
        .order(connections::slug.asc())
        .select(ConnectionRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Connection::try_from)
        .collect()
}

/// Finds a connection, removed or not: the ACS must be able to say "removed".
pub fn find(
    conn: &mut DbConnection,
    tenant: TenantId,
    slug: &Slug,
) -> Result<Option<Connection>, StorageError> {
    connections::table
        .filter(connections::tenant_id.eq(tenant.0))
        .filter(connections::slug.eq(slug.as_str()))
        .select(ConnectionRow::as_select())
        .first(conn)
        .optional()?
        .map(Connection::try_from)
        .transpose()
}

pub fn saml_settings(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: ConnectionId,
) -> Result<SamlIdpSettings, StorageError> {
    saml_idps::table
        .filter(saml_idps::tenant_id.eq(tenant.0))
        .filter(saml_idps::connection_id.eq(id.0))
        .select(SamlRow::as_select())
        .first(conn)?
        .try_into()
}

/// Removal keeps the row (identities and sign-in history point at it); the slug stays taken.
pub fn mark_removed(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: ConnectionId,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        connections::table
            .filter(connections::tenant_id.eq(tenant.0))
            .filter(connections::id.eq(id.0)),
    )
    .set((
        connections::removed_at.eq(Some(now)),
        connections::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Overwrites a connection's settings (the slug never changes: it is in IdP configuration).
pub fn update_saml(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: ConnectionId,
    c: &NewConnection<'_>,
    s: &SamlIdpSettings,
    now: i64,
) -> Result<(), StorageError> {
    update_common(conn, tenant, id, c, now)?;
    let certs: Vec<String> = s
        .idp_certificates
        .iter()
        .map(|d| STANDARD.encode(d))
        .collect();
    let algs: Vec<&str> = s.allowed_algorithms.iter().map(|a| a.name()).collect();
    diesel::update(
        saml_idps::table
            .filter(saml_idps::tenant_id.eq(tenant.0))
            .filter(saml_idps::connection_id.eq(id.0)),
    )
    .set((
        saml_idps::idp_entity_id.eq(&s.idp_entity_id),
        saml_idps::idp_sso_url.eq(&s.idp_sso_url),
        saml_idps::idp_certificates.eq(json(&certs)),
        saml_idps::allowed_algorithms.eq(json(&algs)),
        saml_idps::allow_idp_initiated.eq(s.allow_idp_initiated),
        saml_idps::sign_requests.eq(s.sign_requests),
        saml_idps::clock_skew_secs.eq(s.clock_skew_secs),
        saml_idps::allow_unbound_responses.eq(s.allow_unbound_responses),
    ))
    .execute(conn)?;
    Ok(())
}

/// The protocol-independent fields (the slug never changes: it is in IdP configuration).
pub fn update_common(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: ConnectionId,
    c: &NewConnection<'_>,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        connections::table
            .filter(connections::tenant_id.eq(tenant.0))
            .filter(connections::id.eq(id.0)),
    )
    .set((
        connections::display_name.eq(c.display_name),
        connections::attr_email.eq(json(&c.attr_email)),
        connections::attr_first_name.eq(json(&c.attr_first_name)),
        connections::attr_last_name.eq(json(&c.attr_last_name)),
        connections::attr_iwms_id.eq(c.attr_iwms_id),
        connections::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Which IdP attribute value makes a user an admin of the tenant (`None`: none does).
pub fn set_admin_role(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: ConnectionId,
    rule: Option<&AdminRoleRule>,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        connections::table
            .filter(connections::tenant_id.eq(tenant.0))
            .filter(connections::id.eq(id.0)),
    )
    .set((
        connections::admin_role_attribute.eq(rule.map(|r| r.attribute.as_str())),
        connections::admin_role_value.eq(rule.map(|r| r.value.as_str())),
        connections::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// The connection's groups and directory attribute names (`None`: the defaults).
pub fn set_directory_attributes(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: ConnectionId,
    d: &DirectoryAttributes,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        connections::table
            .filter(connections::tenant_id.eq(tenant.0))
            .filter(connections::id.eq(id.0)),
    )
    .set((
        connections::groups_attribute.eq(d.groups.as_deref()),
        connections::department_attribute.eq(d.department.as_deref()),
        connections::title_attribute.eq(d.title.as_deref()),
        connections::employee_number_attribute.eq(d.employee_number.as_deref()),
        connections::manager_attribute.eq(d.manager.as_deref()),
        connections::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}
