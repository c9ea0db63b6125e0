use diesel::prelude::*;

use super::schema::{connections, identities};
use super::{DbConnection, StorageError};
use crate::domain::ids::{ConnectionId, TenantId, UserId};

/// The user linked to (connection, subject).
pub fn user_for_subject(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    subject: &str,
) -> Result<Option<UserId>, StorageError> {
    Ok(identities::table
        .filter(identities::tenant_id.eq(tenant.0))
        .filter(identities::connection_id.eq(connection.0))
        .filter(identities::subject.eq(subject))
        .select(identities::user_id)
        .first::<i64>(conn)
        .optional()?
        .map(UserId))
}

/// The subject a user is linked to on a connection.
pub fn subject_for_user(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    user: UserId,
) -> Result<Option<String>, StorageError> {
    Ok(identities::table
        .filter(identities::tenant_id.eq(tenant.0))
        .filter(identities::connection_id.eq(connection.0))
        .filter(identities::user_id.eq(user.0))
        .select(identities::subject)
        .first(conn)
        .optional()?)
}

pub fn link(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    subject: &str,
    user: UserId,
    now: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(identities::table)
        .values((
            identities::tenant_id.eq(tenant.0),
            identities::connection_id.eq(connection.0),
            identities::subject.eq(subject),
            identities::user_id.eq(user.0),
            identities::created_at.eq(now),
            identities::last_used_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn touch(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    subject: &str,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        identities::table
            .filter(identities::tenant_id.eq(tenant.0))
            .filter(identities::connection_id.eq(connection.0))
            .filter(identities::subject.eq(subject)),
    )
    .set(identities::last_used_at.eq(now))
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LinkedIdentity {
    pub connection_id: i64,
    pub subject: String,
    pub created_at: i64,
    pub last_used_at: i64,
}

pub fn for_user(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<LinkedIdentity>, StorageError> {
    Ok(identities::table
        .filter(identities::tenant_id.eq(tenant.0))
        .filter(identities::user_id.eq(user.0))
        .order(identities::id.asc())
        .select((
            identities::connection_id,
            identities::subject,
            identities::created_at,
            identities::last_used_at,
        ))
        .load::<(i64, String, i64, i64)>(conn)?
        .into_iter()
        .map(
            |(connection_id, subject, created_at, last_used_at)| LinkedIdentity {
                connection_id,
                subject,
                created_at,
                last_used_at,
            },
        )
        .collect())
}

/// A link with its connection, as the admin console shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Queryable, utoipa::ToSchema)]
pub struct IdentityLink {
    pub id: i64,
    pub connection_id: i64,
    /// The connection's slug.
    pub connection: String,
    /// `saml` or `oidc`.
    pub protocol: String,
    pub subject: String,
    pub created_at: i64,
    pub last_used_at: i64,
}

const LINK_COLUMNS: (
    identities::id,
    identities::connection_id,
    connections::slug,
    connections::protocol,
    identities::subject,
    identities::created_at,
    identities::last_used_at,
) = (
    identities::id,
    identities::connection_id,
    connections::slug,
    connections::protocol,
    identities::subject,
    identities::created_at,
    identities::last_used_at,
);

/// The user's links, oldest first.
pub fn links_of_user(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<IdentityLink>, StorageError> {
    Ok(identities::table
        .inner_join(connections::table)
        .filter(identities::tenant_id.eq(tenant.0))
        .filter(identities::user_id.eq(user.0))
        .order(identities::id.asc())
        .select(LINK_COLUMNS)
        .load(conn)?)
}

/// Removes one link (the user stays); false when there was none.
pub fn unlink(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    id: i64,
) -> Result<bool, StorageError> {
    let n = diesel::delete(
        identities::table
            .filter(identities::tenant_id.eq(tenant.0))
            .filter(identities::user_id.eq(user.0))
            .filter(identities::id.eq(id)),
    )
    .execute(conn)?;
    Ok(n == 1)
}
