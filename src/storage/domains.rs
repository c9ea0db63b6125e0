use diesel::prelude::*;

use super::error::corrupt;
use super::schema::{email_domains, tenants};
use super::{DbConnection, StorageError};
use crate::domain::email::EmailDomain;
use crate::domain::ids::TenantId;

pub fn add(
    conn: &mut DbConnection,
    tenant: TenantId,
    domain: &EmailDomain,
    now: i64,
) -> Result<(), StorageError> {
    // Looked up first: on PostgreSQL a failed insert aborts the surrounding transaction, so
    // the owner could not be read after it. A concurrent insert still fails on the unique key
    // (and the caller's transaction retries, then sees the owner here).
    let owner = email_domains::table
        .filter(email_domains::domain.eq(domain.as_str()))
        .select(email_domains::tenant_id)
        .first::<i64>(conn)
        .optional()?;
    if let Some(owner) = owner {
        return Err(StorageError::Conflict(if owner == tenant.0 {
            format!("{domain} is already whitelisted for this tenant")
        } else {
            format!(
                "{domain} already belongs to another tenant; a domain belongs to at most one tenant"
            )
        }));
    }
    diesel::insert_into(email_domains::table)
        .values((
            email_domains::tenant_id.eq(tenant.0),
            email_domains::domain.eq(domain.as_str()),
            email_domains::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Returns false when the tenant did not have the domain.
pub fn remove(
    conn: &mut DbConnection,
    tenant: TenantId,
    domain: &EmailDomain,
) -> Result<bool, StorageError> {
    let n = diesel::delete(
        email_domains::table
            .filter(email_domains::tenant_id.eq(tenant.0))
            .filter(email_domains::domain.eq(domain.as_str())),
    )
    .execute(conn)?;
    Ok(n > 0)
}

pub fn list_for_tenant(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<Vec<EmailDomain>, StorageError> {
    email_domains::table
        .filter(email_domains::tenant_id.eq(tenant.0))
        .order(email_domains::domain.asc())
        .select(email_domains::domain)
        .load::<String>(conn)?
        .iter()
        .map(|d| EmailDomain::parse(d).map_err(|e| corrupt("email_domains.domain", e)))
        .collect()
}

/// Home-realm discovery: which tenant whitelisted this domain?
pub fn tenant_for_domain(
    conn: &mut DbConnection,
    domain: &EmailDomain,
) -> Result<Option<TenantId>, StorageError> {
    Ok(email_domains::table
        .filter(email_domains::domain.eq(domain.as_str()))
        .select(email_domains::tenant_id)
        .first::<i64>(conn)
        .optional()?
        .map(TenantId))
}

/// All (tenant slug, domain) pairs, for listing across tenants.
pub fn list_all(conn: &mut DbConnection) -> Result<Vec<(String, String)>, StorageError> {
    Ok(email_domains::table
        .inner_join(tenants::table)
        .order((tenants::slug.asc(), email_domains::domain.asc()))
        .select((tenants::slug, email_domains::domain))
        .load(conn)?)
}
