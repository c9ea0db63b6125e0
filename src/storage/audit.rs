//! The audit trail: one row per admin change, appended in the change's transaction and
//! never purged.
use diesel::prelude::*;

use super::schema::{audit_log as a, tenants};
use super::{DbConnection, StorageError};
use crate::domain::ids::TenantId;

pub struct NewEntry<'a> {
    pub tenant: Option<TenantId>,
    pub actor_kind: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub fn append(conn: &mut DbConnection, e: &NewEntry<'_>, now: i64) -> Result<(), StorageError> {
    diesel::insert_into(a::table)
        .values((
            a::tenant_id.eq(e.tenant.map(|t| t.0)),
            a::actor_kind.eq(e.actor_kind),
            a::actor.eq(e.actor),
            a::action.eq(e.action),
            a::target.eq(e.target),
            a::before.eq(e.before.as_deref()),
            a::after.eq(e.after.as_deref()),
            a::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// An entry with the slug of its tenant (`None` for changes that belong to no tenant).
#[derive(Debug, Clone, Queryable)]
pub struct Entry {
    pub id: i64,
    pub tenant: Option<String>,
    pub actor_kind: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub created_at: i64,
}

/// Newest first, ids below `before`; one tenant's entries, or every entry when `tenant` is
/// `None` (super-admins).
pub fn page(
    conn: &mut DbConnection,
    tenant: Option<TenantId>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Entry>, StorageError> {
    let mut q = a::table
        .left_join(tenants::table)
        .select((
            a::id,
            tenants::slug.nullable(),
            a::actor_kind,
            a::actor,
            a::action,
            a::target,
            a::before,
            a::after,
            a::created_at,
        ))
        .order(a::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(t) = tenant {
        q = q.filter(a::tenant_id.eq(t.0));
    }
    if let Some(b) = before {
        q = q.filter(a::id.lt(b));
    }
    Ok(q.load(conn)?)
}
