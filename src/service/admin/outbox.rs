//! The IWMS outbox as admins see it: the newest events, and dead events queued again (each
//! retry on the audit trail).
use serde::Deserialize;

use super::AdminError;
use super::audit::{self, Change};
use crate::domain::audit::{Actor, AuditAction};
use crate::domain::tenant::Tenant;
use crate::storage::outbox::{self, OutboxRow};
use crate::storage::{self, DbConnection, StorageError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutboxStatus {
    Pending,
    Delivered,
    Dead,
    All,
}

impl OutboxStatus {
    fn stored(self) -> Option<&'static str> {
        match self {
            OutboxStatus::Pending => Some("pending"),
            OutboxStatus::Delivered => Some("delivered"),
            OutboxStatus::Dead => Some("dead"),
            OutboxStatus::All => None,
        }
    }
}

/// The newest `limit` events of a tenant (or of every tenant), newest first.
pub fn list(
    conn: &mut DbConnection,
    tenant: Option<&Tenant>,
    status: OutboxStatus,
    limit: i64,
) -> Result<Vec<OutboxRow>, AdminError> {
    Ok(outbox::list(
        conn,
        tenant.map(|t| t.id),
        status.stored(),
        limit,
    )?)
}

/// Which dead events to queue again.
#[derive(Debug, Clone, Copy)]
pub enum Retry {
    One(i64),
    AllDead,
}

/// Queues dead events again, due now with their attempts reset; returns how many. Retrying
/// one event that is not dead (or not in `tenant`) is NotFound.
pub fn retry(
    conn: &mut DbConnection,
    tenant: Option<&Tenant>,
    which: Retry,
    actor: &Actor,
    now: i64,
) -> Result<usize, AdminError> {
    let scope = tenant.map(|t| t.id);
    let n = storage::transaction(conn, |c| {
        let (id, target) = match which {
            Retry::One(id) => (Some(id), format!("event {id}")),
            Retry::AllDead => (None, "every dead event".to_owned()),
        };
        // The audit entry belongs to the event's tenant even when the CLI names none.
        let owner = match (scope, id) {
            (Some(t), _) => Some(t),
            (None, Some(id)) => outbox::tenant_of(c, id)?,
            (None, None) => None,
        };
        let n = outbox::retry(c, id, scope, now)?;
        if n > 0 {
            let change = Change {
                action: AuditAction::OutboxRetried,
                target: &target,
                before: None,
                after: Some(serde_json::json!({ "queued_again": n })),
            };
            audit::record(c, owner, actor, change, now)?;
        }
        Ok::<_, StorageError>(n)
    })?;
    match which {
        Retry::One(id) if n == 0 => Err(AdminError::NotFound(match tenant {
            Some(t) => format!("dead event {id} in tenant `{}`", t.slug),
            None => format!("dead event {id}"),
        })),
        _ => Ok(n),
    }
}
