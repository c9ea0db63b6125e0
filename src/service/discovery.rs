//! Finding where a sign-in goes: the tenant of an email, the connection of a tenant, the
//! connection behind an ACS or metadata URL.
use crate::domain::connection::{self, Connection, Entry, Protocol, SamlIdpSettings};
use crate::domain::email::EmailAddress;
use crate::domain::sign_in_name::SignInName;
use crate::domain::slug::Slug;
use crate::domain::tenant::Tenant;
use crate::storage::{DbConnection, StorageError, connections, domains, tenants};

/// Home-realm discovery: only a whitelisted domain names a tenant.
pub fn tenant_for_email(
    conn: &mut DbConnection,
    email: &EmailAddress,
) -> Result<Option<Tenant>, StorageError> {
    match domains::tenant_for_domain(conn, &email.domain())? {
        Some(id) => Ok(Some(tenants::get(conn, id)?)),
        None => Ok(None),
    }
}

/// The tenant a name typed at `/` leads to: the whitelisted domain of an email, or the
/// tenant a tenant ID names (whitelisted domains or not: the tenant URL reveals as much).
pub fn tenant_for_name(
    conn: &mut DbConnection,
    name: &SignInName,
) -> Result<Option<Tenant>, StorageError> {
    match name {
        SignInName::Email(email) => tenant_for_email(conn, email),
        SignInName::TenantId(slug) => tenants::find_by_slug(conn, slug),
    }
}

pub fn tenant(conn: &mut DbConnection, slug: &str) -> Result<Option<Tenant>, StorageError> {
    match Slug::parse(slug) {
        Ok(s) => tenants::find_by_slug(conn, &s),
        Err(_) => Ok(None),
    }
}

pub fn entry(
    conn: &mut DbConnection,
    tenant: &Tenant,
    choice: Option<&str>,
) -> Result<Entry, StorageError> {
    Ok(connection::pick(
        connections::list_active(conn, tenant.id)?,
        choice,
    ))
}

/// A SAML connection addressed by URL, with its IdP settings; removed ones included, so
/// that a late response can be recorded as such.
pub struct SamlTarget {
    pub tenant: Tenant,
    pub connection: Connection,
    pub idp: SamlIdpSettings,
}

pub fn saml_target(
    conn: &mut DbConnection,
    tenant: &str,
    connection: &str,
) -> Result<Option<SamlTarget>, StorageError> {
    let (Ok(t), Ok(c)) = (Slug::parse(tenant), Slug::parse(connection)) else {
        return Ok(None);
    };
    let Some(tenant) = tenants::find_by_slug(conn, &t)? else {
        return Ok(None);
    };
    let Some(connection) =
        connections::find(conn, tenant.id, &c)?.filter(|c| c.protocol == Protocol::Saml)
    else {
        return Ok(None);
    };
    let idp = connections::saml_settings(conn, tenant.id, connection.id)?;
    Ok(Some(SamlTarget {
        tenant,
        connection,
        idp,
    }))
}

/// An OIDC connection addressed by its callback URL (removed ones included, as for SAML).
pub fn oidc_target(
    conn: &mut DbConnection,
    tenant: &str,
    connection: &str,
) -> Result<Option<(Tenant, Connection)>, StorageError> {
    let (Ok(t), Ok(c)) = (Slug::parse(tenant), Slug::parse(connection)) else {
        return Ok(None);
    };
    let Some(tenant) = tenants::find_by_slug(conn, &t)? else {
        return Ok(None);
    };
    Ok(connections::find(conn, tenant.id, &c)?
        .filter(|c| c.protocol == Protocol::Oidc)
        .map(|c| (tenant, c)))
}
