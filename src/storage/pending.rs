//! AuthnRequests in flight. Stored (not in memory) so any instance can finish a sign-in.
use diesel::prelude::*;

use super::schema::pending_authn_requests as p;
use super::{DbConnection, StorageError};
use crate::domain::ids::{ConnectionId, TenantId};

pub struct NewPending<'a> {
    pub request_id: &'a str,
    pub tenant: TenantId,
    pub connection: ConnectionId,
    pub relay_state: &'a str,
    pub return_to: Option<&'a str>,
    pub expires_at: i64,
    /// SHA-256 (hex) of the browser-binding cookie value.
    pub browser_binding: &'a str,
    /// A console test sign-in: the admin who started it.
    pub test_by: Option<&'a str>,
    /// A console sign-in: SHA-256 of its hand-off value.
    pub console_handoff: Option<&'a str>,
    /// Who started it (`domain::client::ClientKey`), for the bound on requests per client.
    pub client_key: Option<&'a str>,
}

pub fn insert(conn: &mut DbConnection, n: &NewPending<'_>, now: i64) -> Result<(), StorageError> {
    diesel::insert_into(p::table)
        .values((
            p::request_id.eq(n.request_id),
            p::tenant_id.eq(n.tenant.0),
            p::connection_id.eq(n.connection.0),
            p::relay_state.eq(n.relay_state),
            p::return_to.eq(n.return_to),
            p::created_at.eq(now),
            p::expires_at.eq(n.expires_at),
            p::browser_binding.eq(Some(n.browser_binding)),
            p::test_by.eq(n.test_by),
            p::console_handoff.eq(n.console_handoff),
            p::client_key.eq(n.client_key),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Pending {
    pub relay_state: String,
    pub return_to: Option<String>,
    pub browser_binding: Option<String>,
    pub test_by: Option<String>,
    pub console_handoff: Option<String>,
}

/// The request, if it is pending (not expired), without consuming it.
pub fn peek(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    request_id: &str,
    now: i64,
) -> Result<Option<Pending>, StorageError> {
    type Row = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    Ok(p::table
        .filter(p::request_id.eq(request_id))
        .filter(p::tenant_id.eq(tenant.0))
        .filter(p::connection_id.eq(connection.0))
        .filter(p::expires_at.gt(now))
        .select((
            p::relay_state,
            p::return_to,
            p::browser_binding,
            p::test_by,
            p::console_handoff,
        ))
        .first::<Row>(conn)
        .optional()?
        .map(
            |(relay_state, return_to, browser_binding, test_by, console_handoff)| Pending {
                relay_state,
                return_to,
                browser_binding,
                test_by,
                console_handoff,
            },
        ))
}

/// Notes that an (unsigned) refusal answered the request; true only the first time, so such
/// refusals earn one row per request. The request stays pending.
pub fn mark_refused(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    request_id: &str,
    now: i64,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        p::table
            .filter(p::request_id.eq(request_id))
            .filter(p::tenant_id.eq(tenant.0))
            .filter(p::connection_id.eq(connection.0))
            .filter(p::refused_at.is_null()),
    )
    .set(p::refused_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// How many unexpired requests `client_key` has in flight, and when the first of them
/// expires.
pub fn in_flight_for_client(
    conn: &mut DbConnection,
    client_key: &str,
    now: i64,
) -> Result<(i64, Option<i64>), StorageError> {
    use diesel::dsl::{count_star, min};
    Ok(p::table
        .filter(p::client_key.eq(client_key))
        .filter(p::expires_at.gt(now))
        .select((count_star(), min(p::expires_at)))
        .first(conn)?)
}

/// Consumes the request: the delete that removes the row is the one that wins, so a request
/// is used at most once even across instances. Expired rows are never returned.
pub fn take(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    request_id: &str,
    now: i64,
) -> Result<Option<Pending>, StorageError> {
    let scoped = p::table
        .filter(p::request_id.eq(request_id))
        .filter(p::tenant_id.eq(tenant.0))
        .filter(p::connection_id.eq(connection.0));
    type Row = (
        String,
        Option<String>,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let Some((relay_state, return_to, expires_at, browser_binding, test_by, console_handoff)) =
        scoped
            .select((
                p::relay_state,
                p::return_to,
                p::expires_at,
                p::browser_binding,
                p::test_by,
                p::console_handoff,
            ))
            .first::<Row>(conn)
            .optional()?
    else {
        return Ok(None);
    };
    let deleted = diesel::delete(scoped).execute(conn)?;
    Ok((deleted == 1 && expires_at > now).then_some(Pending {
        relay_state,
        return_to,
        browser_binding,
        test_by,
        console_handoff,
    }))
}

pub fn purge_expired(conn: &mut DbConnection, now: i64) -> Result<usize, StorageError> {
    Ok(diesel::delete(p::table.filter(p::expires_at.le(now))).execute(conn)?)
}
