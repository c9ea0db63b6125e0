//! Assertion IDs already accepted, kept until the assertion could no longer be valid.
use diesel::prelude::*;

use super::schema::used_assertions as u;
use super::{DbConnection, StorageError};
use crate::domain::ids::{ConnectionId, TenantId};

/// Returns false when the assertion was seen before (the primary key says so, atomically).
pub fn remember(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    assertion_id: &str,
    expires_at: i64,
) -> Result<bool, StorageError> {
    let res = diesel::insert_into(u::table)
        .values((
            u::tenant_id.eq(tenant.0),
            u::connection_id.eq(connection.0),
            u::assertion_id.eq(assertion_id),
            u::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map_err(StorageError::from);
    match res {
        Ok(_) => Ok(true),
        Err(e) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn purge_expired(conn: &mut DbConnection, now: i64) -> Result<usize, StorageError> {
    Ok(diesel::delete(u::table.filter(u::expires_at.le(now))).execute(conn)?)
}
