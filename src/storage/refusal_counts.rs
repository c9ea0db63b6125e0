//! Refusals counted per connection, reason and hour (see `domain::history`): one row per
//! key, whatever the number of requests behind it.
use diesel::prelude::*;

use super::schema::{connections, refusal_counts as r};
use super::{DbConnection, StorageError};
use crate::domain::ids::{ConnectionId, TenantId};

pub struct NewRefusal<'a> {
    pub tenant: TenantId,
    pub connection: ConnectionId,
    pub reason: &'a str,
    pub hour_start: i64,
    /// Already capped; the row keeps the latest one.
    pub detail: &'a str,
}

/// Adds one to the count of `n`'s key, creating it at 1. One statement (an upsert on the
/// key), so concurrent refusals never lose a count; the update touches no indexed column.
pub fn bump(conn: &mut DbConnection, n: &NewRefusal<'_>, now: i64) -> Result<(), StorageError> {
    let row = (
        r::tenant_id.eq(n.tenant.0),
        r::connection_id.eq(n.connection.0),
        r::reason.eq(n.reason),
        r::hour_start.eq(n.hour_start),
        r::refusals.eq(1_i64),
        r::last_at.eq(now),
        r::detail.eq(n.detail),
    );
    let key = (r::tenant_id, r::connection_id, r::reason, r::hour_start);
    let grow = (
        r::refusals.eq(r::refusals + 1_i64),
        r::last_at.eq(now),
        r::detail.eq(n.detail),
    );
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(r::table)
            .values(row)
            .on_conflict(key)
            .do_update()
            .set(grow)
            .execute(c)?,
        DbConnection::Pg(c) => diesel::insert_into(r::table)
            .values(row)
            .on_conflict(key)
            .do_update()
            .set(grow)
            .execute(c)?,
    };
    Ok(())
}

/// A count with the slug of its connection.
#[derive(Debug, Clone, serde::Serialize, Queryable)]
pub struct Counted {
    pub id: i64,
    pub connection: String,
    pub reason: String,
    pub hour_start: i64,
    pub refusals: i64,
    pub last_at: i64,
    pub detail: String,
}

/// Which counts to list; `None` matches any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub reason: Option<String>,
    pub connection: Option<ConnectionId>,
}

/// Newest first (by id: a key's row is created in its own hour), ids below `before`.
pub fn page(
    conn: &mut DbConnection,
    tenant: TenantId,
    f: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Counted>, StorageError> {
    let mut q = r::table
        .inner_join(connections::table.on(connections::id.eq(r::connection_id)))
        .filter(r::tenant_id.eq(tenant.0))
        .select((
            r::id,
            connections::slug,
            r::reason,
            r::hour_start,
            r::refusals,
            r::last_at,
            r::detail,
        ))
        .order(r::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(reason) = &f.reason {
        q = q.filter(r::reason.eq(reason.clone()));
    }
    if let Some(c) = f.connection {
        q = q.filter(r::connection_id.eq(c.0));
    }
    if let Some(b) = before {
        q = q.filter(r::id.lt(b));
    }
    Ok(q.load(conn)?)
}

/// Deletes up to `batch` counts of hours that ended before `cutoff`; returns how many.
pub fn purge_before(
    conn: &mut DbConnection,
    cutoff: i64,
    batch: i64,
) -> Result<usize, StorageError> {
    let oldest: Vec<i64> = r::table
        .filter(r::hour_start.le(cutoff - 3600))
        .order(r::hour_start.asc())
        .select(r::id)
        .limit(batch)
        .load(conn)?;
    if oldest.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(r::table.filter(r::id.eq_any(&oldest))).execute(conn)?)
}
