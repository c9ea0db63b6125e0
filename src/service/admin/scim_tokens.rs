//! A tenant's SCIM bearer tokens as admins manage them: created (shown once) and revoked,
//! each change on the audit trail. Authentication with them is `service::scim::tokens`.
use super::audit::{self, Change, snapshot};
use super::{AdminError, invalid};
use crate::domain::audit::{Actor, AuditAction};
use crate::domain::tenant::Tenant;
use crate::service::scim::tokens::{self as scim, Created};
use crate::storage::scim_tokens::{self as store, TokenInfo};
use crate::storage::{self, DbConnection, StorageError};

/// A label: 1-100 printable characters, trimmed.
pub fn parse_label(raw: &str) -> Result<String, AdminError> {
    let label = raw.trim();
    if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Err(invalid("label", "must be 1-100 printable characters"));
    }
    Ok(label.to_owned())
}

fn view(
    conn: &mut DbConnection,
    tenant: &Tenant,
    id: i64,
) -> Result<Option<TokenInfo>, StorageError> {
    Ok(store::list(conn, tenant.id)?
        .into_iter()
        .find(|t| t.id == id))
}

pub fn create(
    conn: &mut DbConnection,
    tenant: &Tenant,
    label: &str,
    actor: &Actor,
    now: i64,
) -> Result<Created, AdminError> {
    let label = parse_label(label)?;
    Ok(storage::transaction(conn, |c| {
        let created = scim::create(c, tenant.id, &label, now)?;
        let change = Change {
            action: AuditAction::ScimTokenCreated,
            target: &label,
            before: None,
            after: view(c, tenant, created.id)?.as_ref().and_then(snapshot),
        };
        audit::record(c, Some(tenant.id), actor, change, now)?;
        Ok::<_, StorageError>(created)
    })?)
}

pub fn list(conn: &mut DbConnection, tenant: &Tenant) -> Result<Vec<TokenInfo>, AdminError> {
    Ok(store::list(conn, tenant.id)?)
}

/// NotFound when the tenant has no live token `id`.
pub fn revoke(
    conn: &mut DbConnection,
    tenant: &Tenant,
    id: i64,
    actor: &Actor,
    now: i64,
) -> Result<(), AdminError> {
    let revoked = storage::transaction(conn, |c| {
        let Some(before) = view(c, tenant, id)? else {
            return Ok(false);
        };
        if !store::revoke(c, tenant.id, id, now)? {
            return Ok(false);
        }
        // The revocation changes only `revoked_at`; the rest is what was just read.
        let after = TokenInfo {
            revoked_at: Some(now),
            ..before.clone()
        };
        let change = Change {
            action: AuditAction::ScimTokenRevoked,
            target: &before.label,
            before: snapshot(&before),
            after: snapshot(&after),
        };
        audit::record(c, Some(tenant.id), actor, change, now)?;
        Ok::<_, StorageError>(true)
    })?;
    if revoked {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!(
            "live SCIM token {id} in tenant `{}`",
            tenant.slug
        )))
    }
}
