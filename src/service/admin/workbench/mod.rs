//! The provisioning workbench: the people the directory knows, in three views, and the actions
//! an admin stages on them and applies with one Save (`apply`), for the console, the API and
//! the CLI alike.
//!
//! - **New**: people not linked to an active user yet: sign-ins refused `not_set_up`,
//!   `email_domain_not_allowed`, `identity_conflict` or `iwms_id_conflict` (one row per
//!   person, i.e. connection and subject, with the number of refusals and the last try),
//!   then users SCIM pushed who never signed in and have no linked identity.
//! - **Existing**: active users with a linked identity, with their latest sign-in.
//! - **Deleted**: users deprovisioned or deactivated who are known to the directory (a linked
//!   identity, or created by SCIM).
//!
//! Rows are named by a key, `attempt:<id>` (the person's newest refused attempt) or
//! `user:<id>`; actions name the row they act on by it.
mod apply;
mod key;
mod row;

use serde::{Deserialize, Serialize};

pub use self::apply::{
    ActionKind, AppliedAction, ApplyRequest, ApplyResult, MAX_ACTIONS, StagedAction, apply,
};
pub use self::key::RowKey;
pub use self::row::{RowKind, WorkbenchRow};
use super::paging::check_limit;
use super::{AdminError, invalid};
use crate::domain::ids::UserId;
use crate::domain::tenant::Tenant;
use crate::storage::DbConnection;
use crate::storage::workbench::{self as store, UserSet};

/// The workbench's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum WorkbenchView {
    /// Refused sign-ins (not set up, domain not allowed, identity or IWMS ID conflicts) and
    /// SCIM users who never signed in.
    #[default]
    New,
    /// Active users with a linked identity.
    Existing,
    /// Deprovisioned or deactivated users the directory knows.
    Deleted,
}

impl WorkbenchView {
    pub const ALL: [WorkbenchView; 3] = [
        WorkbenchView::New,
        WorkbenchView::Existing,
        WorkbenchView::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkbenchView::New => "new",
            WorkbenchView::Existing => "existing",
            WorkbenchView::Deleted => "deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == raw)
    }
}

/// How many rows each view holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WorkbenchCounts {
    pub new: i64,
    pub existing: i64,
    pub deleted: i64,
}

impl WorkbenchCounts {
    pub fn of(&self, view: WorkbenchView) -> i64 {
        match view {
            WorkbenchView::New => self.new,
            WorkbenchView::Existing => self.existing,
            WorkbenchView::Deleted => self.deleted,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct WorkbenchQuery {
    pub view: WorkbenchView,
    /// 1..=200.
    pub limit: i64,
    /// `next_after` of the previous page.
    pub after: Option<String>,
}

/// One page of a view: New lists refused people newest first, then SCIM users newest first;
/// Existing and Deleted list users newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkbenchPage {
    pub view: WorkbenchView,
    pub rows: Vec<WorkbenchRow>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<String>,
    pub counts: WorkbenchCounts,
}

pub fn counts(conn: &mut DbConnection, tenant: &Tenant) -> Result<WorkbenchCounts, AdminError> {
    Ok(WorkbenchCounts {
        new: store::refused_count(conn, tenant.id)?
            + store::users_count(conn, tenant.id, UserSet::NeverSignedIn)?,
        existing: store::users_count(conn, tenant.id, UserSet::Linked)?,
        deleted: store::users_count(conn, tenant.id, UserSet::Gone)?,
    })
}

pub fn list(
    conn: &mut DbConnection,
    tenant: &Tenant,
    q: &WorkbenchQuery,
) -> Result<WorkbenchPage, AdminError> {
    let limit = check_limit(q.limit)?;
    let after = match q.after.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(
            RowKey::parse(raw)
                .ok_or_else(|| invalid("after", "must be a row key of the previous page"))?,
        ),
    };
    let mut rows = Vec::new();
    if q.view == WorkbenchView::New && !matches!(after, Some(RowKey::User(_))) {
        let before = match after {
            Some(RowKey::Attempt(id)) => Some(id),
            _ => None,
        };
        let refused = store::refused_page(conn, tenant.id, before, limit + 1)?;
        rows = row::refused_rows(conn, tenant, refused)?;
    }
    if rows.len() as i64 <= limit {
        let set = match q.view {
            WorkbenchView::New => UserSet::NeverSignedIn,
            WorkbenchView::Existing => UserSet::Linked,
            WorkbenchView::Deleted => UserSet::Gone,
        };
        let after_user = match after {
            Some(RowKey::User(id)) => Some(UserId(id)),
            Some(RowKey::Attempt(_)) if q.view != WorkbenchView::New => {
                return Err(invalid("after", "must be a row key of the previous page"));
            }
            _ => None,
        };
        let want = limit + 1 - rows.len() as i64;
        let users = store::users_page(conn, tenant.id, set, after_user, want)?;
        rows.extend(row::user_rows(conn, tenant, q.view, users)?);
    }
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_after = if more {
        rows.last().map(|r| r.key.clone())
    } else {
        None
    };
    Ok(WorkbenchPage {
        view: q.view,
        rows,
        next_after,
        counts: counts(conn, tenant)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_view_vocabulary() {
        for v in WorkbenchView::ALL {
            assert_eq!(WorkbenchView::parse(v.as_str()), Some(v));
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::json!(v.as_str())
            );
        }
    }
}
