//! The email domains a tenant owns (a domain belongs to one tenant at most).
use serde::Serialize;

use super::{AdminError, invalid, tenant_by_slug};
use crate::domain::email::EmailDomain;
use crate::storage::{DbConnection, domains};

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
