//! The audit trail of admin changes: written by every admin command in its own transaction,
//! read by tenant admins (their tenant) and super-admins (every tenant).
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AdminError;
use super::paging::{check_cursor, check_limit, finish};
use crate::domain::audit::{Actor, AuditAction, redact};
use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;
use crate::storage::audit::{self as store, NewEntry};
use crate::storage::{DbConnection, StorageError};

/// One change as the caller describes it; snapshots are admin views (secrets are redacted
/// again here, whatever the view holds).
pub struct Change<'a> {
    pub action: AuditAction,
    /// What was changed, in the words an admin searches for (`okta`, `alice@corp.example`).
    pub target: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Appends `change` to the trail. Call it inside the change's transaction, so that a change
/// and its entry commit or fail together.
pub fn record(
    conn: &mut DbConnection,
    tenant: Option<TenantId>,
    actor: &Actor,
    change: Change<'_>,
    now: i64,
) -> Result<(), StorageError> {
    let text = |v: Option<Value>| v.map(|v| redact(v).to_string());
    store::append(
        conn,
        &NewEntry {
            tenant,
            actor_kind: actor.kind(),
            actor: actor.name(),
            action: change.action.as_str(),
            target: change.target,
            before: text(change.before),
            after: text(change.after),
        },
        now,
    )
}

/// Serializes an admin view for a snapshot; a view that cannot be serialized is recorded as
/// absent rather than failing the change.
pub fn snapshot(view: &impl Serialize) -> Option<Value> {
    serde_json::to_value(view).ok()
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    /// 1..=200.
    pub limit: i64,
    /// `next_before` of the previous page; `None` for the newest.
    pub before: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditActor {
    /// `console`, `api` or `cli`.
    pub kind: String,
    /// The admin's email (console), the API token's label (api), or `cli`.
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditItem {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// The tenant's slug; `None` for changes that belong to no tenant.
    pub tenant: Option<String>,
    pub actor: AuditActor,
    /// For example `connection.updated`, `admin.granted`, `scim_token.created`.
    pub action: String,
    pub target: String,
    /// The resource's admin view before the change (`None` when it was created).
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// Its admin view after the change (`None` when it was removed). Secrets never appear.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

/// Entries newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditItem>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

impl From<store::Entry> for AuditItem {
    fn from(e: store::Entry) -> Self {
        let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        AuditItem {
            id: e.id,
            at: e.created_at,
            tenant: e.tenant,
            actor: AuditActor {
                kind: e.actor_kind,
                name: e.actor,
            },
            action: e.action,
            target: e.target,
            before: json(e.before),
            after: json(e.after),
        }
    }
}

/// One tenant's trail, or every tenant's when `tenant` is `None` (super-admins only; the
/// caller checks).
pub fn list(
    conn: &mut DbConnection,
    tenant: Option<&Tenant>,
    q: &AuditQuery,
) -> Result<AuditPage, AdminError> {
    let limit = check_limit(q.limit)?;
    let before = check_cursor("before", q.before)?;
    let rows = store::page(conn, tenant.map(|t| t.id), before, limit + 1)?;
    let (rows, next_before) = finish(rows, limit, |e| e.id);
    Ok(AuditPage {
        items: rows.into_iter().map(AuditItem::from).collect(),
        next_before,
    })
}
