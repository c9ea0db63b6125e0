//! Assertion IDs already accepted, kept until the assertion could no longer be valid.
use diesel::prelude::*;

use super::schema::used_assertions as u;
use super::{DbConnection, StorageError};
use crate::domain::ids::{ConnectionId, TenantId};

/// Returns false when the assertion was seen before (the primary key says so, atomically).
/// ON CONFLICT DO NOTHING, not a caught error: on PostgreSQL a failed statement would abort
/// the sign-in's transaction.
pub fn remember(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    assertion_id: &str,
    expires_at: i64,
) -> Result<bool, StorageError> {
    let row = (
        u::tenant_id.eq(tenant.0),
        u::connection_id.eq(connection.0),
        u::assertion_id.eq(assertion_id),
        u::expires_at.eq(expires_at),
    );
    let inserted = match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(u::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Pg(c) => diesel::insert_into(u::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted == 1)
}

pub fn purge_expired(conn: &mut DbConnection, now: i64) -> Result<usize, StorageError> {
    Ok(diesel::delete(u::table.filter(u::expires_at.le(now))).execute(conn)?)
}
