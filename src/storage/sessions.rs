use diesel::prelude::*;

use super::schema::{sessions, tenants, users};
use super::{DbConnection, StorageError};
use crate::domain::ids::{TenantId, UserId};

pub fn create(
    conn: &mut DbConnection,
    token_hash: &str,
    tenant: TenantId,
    user: UserId,
    now: i64,
    expires_at: i64,
    idp_admin: bool,
) -> Result<(), StorageError> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(token_hash),
            sessions::tenant_id.eq(tenant.0),
            sessions::user_id.eq(user.0),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(expires_at),
            sessions::idp_admin.eq(idp_admin),
        ))
        .execute(conn)?;
    Ok(())
}

/// The signed-in person behind a session, when the session is live and the user active.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionUser {
    pub user_id: i64,
    pub tenant: String,
    pub tenant_name: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub iwms_id: Option<String>,
    pub expires_at: i64,
    /// The IdP mapped the admin role at this sign-in (not part of /me).
    #[serde(skip)]
    pub idp_admin: bool,
}

pub fn lookup(
    conn: &mut DbConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<SessionUser>, StorageError> {
    Ok(sessions::table
        .inner_join(
            users::table.on(users::id
                .eq(sessions::user_id)
                .and(users::tenant_id.eq(sessions::tenant_id))),
        )
        .inner_join(tenants::table.on(tenants::id.eq(sessions::tenant_id)))
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(now))
        .filter(users::status.eq("active"))
        .select((
            users::id,
            tenants::slug,
            tenants::display_name,
            users::email,
            users::first_name,
            users::last_name,
            users::iwms_id,
            sessions::expires_at,
            sessions::idp_admin,
        ))
        .first::<(
            i64,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
            bool,
        )>(conn)
        .optional()?
        .map(
            |(
                user_id,
                tenant,
                tenant_name,
                email,
                first_name,
                last_name,
                iwms_id,
                expires_at,
                idp_admin,
            )| {
                SessionUser {
                    user_id,
                    tenant,
                    tenant_name,
                    email,
                    first_name,
                    last_name,
                    iwms_id,
                    expires_at,
                    idp_admin,
                }
            },
        ))
}

/// Ends one session; returns its user, if it existed.
pub fn delete(conn: &mut DbConnection, token_hash: &str) -> Result<Option<i64>, StorageError> {
    let user = sessions::table
        .filter(sessions::token_hash.eq(token_hash))
        .select(sessions::user_id)
        .first::<i64>(conn)
        .optional()?;
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_hash))).execute(conn)?;
    Ok(user)
}

pub fn purge_expired(conn: &mut DbConnection, now: i64) -> Result<usize, StorageError> {
    Ok(diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)?)
}

/// Ends every session of a user (deactivation); returns how many there were.
pub fn delete_for_user(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<usize, StorageError> {
    Ok(diesel::delete(
        sessions::table
            .filter(sessions::tenant_id.eq(tenant.0))
            .filter(sessions::user_id.eq(user.0)),
    )
    .execute(conn)?)
}
