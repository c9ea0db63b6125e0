//! The email domains a tenant owns (a domain belongs to one tenant at most).
use serde::Serialize;

use super::audit::{self, Change};
use super::{AdminError, invalid, tenant_by_slug};
use crate::domain::audit::{Actor, AuditAction};
use crate::domain::email::EmailDomain;
use crate::domain::tenant::Tenant;
use crate::storage::{self, DbConnection, StorageError, domains};

pub fn add_domain(
    conn: &mut DbConnection,
    tenant: &str,
    domain: &str,
    actor: &Actor,
    now: i64,
) -> Result<EmailDomain, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let d = EmailDomain::parse(domain).map_err(|e| invalid("domain", e))?;
    storage::transaction(conn, |c| {
        domains::add(c, t.id, &d, now)?;
        record(c, &t, actor, AuditAction::DomainAdded, &d, now)
    })?;
    Ok(d)
}

pub fn remove_domain(
    conn: &mut DbConnection,
    tenant: &str,
    domain: &str,
    actor: &Actor,
    now: i64,
) -> Result<EmailDomain, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let d = EmailDomain::parse(domain).map_err(|e| invalid("domain", e))?;
    let removed = storage::transaction(conn, |c| {
        if !domains::remove(c, t.id, &d)? {
            return Ok(false);
        }
        record(c, &t, actor, AuditAction::DomainRemoved, &d, now)?;
        Ok::<_, StorageError>(true)
    })?;
    if !removed {
        return Err(AdminError::NotFound(format!(
            "domain {d} in tenant `{}`",
            t.slug
        )));
    }
    Ok(d)
}

fn record(
    conn: &mut DbConnection,
    t: &Tenant,
    actor: &Actor,
    action: AuditAction,
    d: &EmailDomain,
    now: i64,
) -> Result<(), StorageError> {
    let view = Some(serde_json::json!({ "domain": d.to_string() }));
    let (before, after) = match action {
        AuditAction::DomainRemoved => (view, None),
        _ => (None, view),
    };
    let change = Change {
        action,
        target: &d.to_string(),
        before,
        after,
    };
    audit::record(conn, Some(t.id), actor, change, now)
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
