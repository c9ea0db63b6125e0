use diesel::prelude::*;

use super::schema::user_events;
use super::{DbConnection, StorageError};
use crate::domain::ids::{TenantId, UserId};
use crate::domain::user_event::UserEvent;

/// A stored event: typed, with the detail as stored (shown as it is, unknown keys too).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub event: UserEvent,
    pub detail: serde_json::Value,
    pub created_at: i64,
}

/// Appends to a user's lifecycle timeline (created, attribute changes, stale flag...).
pub fn record(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    event: &UserEvent,
    now: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(user_events::table)
        .values((
            user_events::tenant_id.eq(tenant.0),
            user_events::user_id.eq(user.0),
            user_events::kind.eq(event.kind()),
            user_events::detail.eq(event.detail().to_string()),
            user_events::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A user's newest `limit` events, newest first (user_events_user, read backwards).
pub fn newest_for_user(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    limit: i64,
) -> Result<Vec<Recorded>, StorageError> {
    read(conn, tenant, user, true, Some(limit))
}

/// The user's first event (their creation), for a timeline that shows only the newest.
pub fn oldest_for_user(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<Recorded>, StorageError> {
    read(conn, tenant, user, false, Some(1))
}

fn read(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    newest_first: bool,
    limit: Option<i64>,
) -> Result<Vec<Recorded>, StorageError> {
    let q = user_events::table
        .filter(user_events::tenant_id.eq(tenant.0))
        .filter(user_events::user_id.eq(user.0))
        .into_boxed();
    let q = if newest_first {
        q.order(user_events::id.desc())
    } else {
        q.order(user_events::id.asc())
    };
    let q = match limit {
        Some(n) => q.limit(n),
        None => q,
    };
    Ok(q.select((
        user_events::kind,
        user_events::detail,
        user_events::created_at,
    ))
    .load::<(String, String, i64)>(conn)?
    .into_iter()
    .map(|(kind, detail, created_at)| {
        let detail = serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail));
        Recorded {
            event: UserEvent::decode(&kind, &detail),
            detail,
            created_at,
        }
    })
    .collect())
}
