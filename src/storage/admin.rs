//! Admin grants, API tokens, console sessions and bootstrap links. Tokens are stored as
//! HMACs; a NULL tenant means every tenant (super-admin).
use diesel::prelude::*;

use super::schema::{admin_grants, admin_sessions, admin_tokens, bootstrap_links};
use super::{DbConnection, StorageError};
use crate::domain::ids::TenantId;

#[derive(Debug, Clone, serde::Serialize, Queryable, utoipa::ToSchema)]
pub struct Grant {
    /// The address the grant was made for.
    pub email: String,
    pub granted_by: String,
    pub created_at: i64,
    /// The user the grant admitted first, and belongs to from then on (whatever their email
    /// becomes); null until a console sign-in whose IdP asserted `email` claims it.
    pub user_id: Option<i64>,
}

/// Idempotent: granting twice keeps the first grant (false). One statement that skips an
/// existing grant, so it can run inside a transaction on PostgreSQL too.
pub fn grant(
    conn: &mut DbConnection,
    tenant: TenantId,
    email: &str,
    granted_by: &str,
    now: i64,
) -> Result<bool, StorageError> {
    let row = (
        admin_grants::tenant_id.eq(tenant.0),
        admin_grants::email.eq(email),
        admin_grants::granted_by.eq(granted_by),
        admin_grants::created_at.eq(now),
    );
    let inserted = match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(admin_grants::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Pg(c) => diesel::insert_into(admin_grants::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted > 0)
}

/// Removes the grant; None when there was none, else the user it was bound to.
pub fn revoke_grant(
    conn: &mut DbConnection,
    tenant: TenantId,
    email: &str,
) -> Result<Option<Option<i64>>, StorageError> {
    let scoped = admin_grants::table
        .filter(admin_grants::tenant_id.eq(tenant.0))
        .filter(admin_grants::email.eq(email));
    let Some(bound) = scoped
        .select(admin_grants::user_id)
        .first::<Option<i64>>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    Ok((diesel::delete(scoped).execute(conn)? > 0).then_some(bound))
}

pub fn is_granted(
    conn: &mut DbConnection,
    tenant: TenantId,
    email: &str,
) -> Result<bool, StorageError> {
    Ok(admin_grants::table
        .filter(admin_grants::tenant_id.eq(tenant.0))
        .filter(admin_grants::email.eq(email))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Whether a grant for `email` waits for its first console sign-in (no user claimed it).
pub fn has_unclaimed_grant(
    conn: &mut DbConnection,
    tenant: TenantId,
    email: &str,
) -> Result<bool, StorageError> {
    Ok(admin_grants::table
        .filter(admin_grants::tenant_id.eq(tenant.0))
        .filter(admin_grants::email.eq(email))
        .filter(admin_grants::user_id.is_null())
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Whether a grant belongs to this user (claimed at an earlier console sign-in).
pub fn is_granted_to_user(
    conn: &mut DbConnection,
    tenant: TenantId,
    user_id: i64,
) -> Result<bool, StorageError> {
    Ok(admin_grants::table
        .filter(admin_grants::tenant_id.eq(tenant.0))
        .filter(admin_grants::user_id.eq(user_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Binds the unclaimed grant for `email` to `user_id`; true only for the one caller whose
/// guarded UPDATE claimed it.
pub fn claim_grant(
    conn: &mut DbConnection,
    tenant: TenantId,
    email: &str,
    user_id: i64,
) -> Result<bool, StorageError> {
    Ok(diesel::update(
        admin_grants::table
            .filter(admin_grants::tenant_id.eq(tenant.0))
            .filter(admin_grants::email.eq(email))
            .filter(admin_grants::user_id.is_null()),
    )
    .set(admin_grants::user_id.eq(user_id))
    .execute(conn)?
        == 1)
}

pub fn grants(conn: &mut DbConnection, tenant: TenantId) -> Result<Vec<Grant>, StorageError> {
    Ok(admin_grants::table
        .filter(admin_grants::tenant_id.eq(tenant.0))
        .order(admin_grants::email.asc())
        .select((
            admin_grants::email,
            admin_grants::granted_by,
            admin_grants::created_at,
            admin_grants::user_id,
        ))
        .load(conn)?)
}

#[derive(Debug, Clone, serde::Serialize, Queryable)]
pub struct AdminToken {
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub expires_at: Option<i64>,
}

pub fn create_token(
    conn: &mut DbConnection,
    tenant: Option<TenantId>,
    label: &str,
    token_hash: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Result<i64, StorageError> {
    diesel::insert_into(admin_tokens::table)
        .values((
            admin_tokens::tenant_id.eq(tenant.map(|t| t.0)),
            admin_tokens::label.eq(label),
            admin_tokens::token_hash.eq(token_hash),
            admin_tokens::created_at.eq(now),
            admin_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(admin_tokens::table
        .filter(admin_tokens::token_hash.eq(token_hash))
        .select(admin_tokens::id)
        .first(conn)?)
}

type TokenColumns = (
    admin_tokens::id,
    admin_tokens::tenant_id,
    admin_tokens::label,
    admin_tokens::created_at,
    admin_tokens::last_used_at,
    admin_tokens::revoked_at,
    admin_tokens::expires_at,
);
const TOKEN_COLUMNS: TokenColumns = (
    admin_tokens::id,
    admin_tokens::tenant_id,
    admin_tokens::label,
    admin_tokens::created_at,
    admin_tokens::last_used_at,
    admin_tokens::revoked_at,
    admin_tokens::expires_at,
);

/// Every token, newest first (a handful per tenant).
pub fn tokens(conn: &mut DbConnection) -> Result<Vec<AdminToken>, StorageError> {
    Ok(admin_tokens::table
        .order(admin_tokens::id.desc())
        .select(TOKEN_COLUMNS)
        .load(conn)?)
}

pub fn revoke_token(conn: &mut DbConnection, id: i64, now: i64) -> Result<bool, StorageError> {
    Ok(diesel::update(
        admin_tokens::table
            .filter(admin_tokens::id.eq(id))
            .filter(admin_tokens::revoked_at.is_null()),
    )
    .set(admin_tokens::revoked_at.eq(now))
    .execute(conn)?
        > 0)
}

/// A live (unrevoked, unexpired) token by its hash.
pub fn live_token(
    conn: &mut DbConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<AdminToken>, StorageError> {
    Ok(admin_tokens::table
        .filter(admin_tokens::token_hash.eq(token_hash))
        .filter(admin_tokens::revoked_at.is_null())
        .filter(
            admin_tokens::expires_at
                .is_null()
                .or(admin_tokens::expires_at.gt(now)),
        )
        .select(TOKEN_COLUMNS)
        .first(conn)
        .optional()?)
}

pub fn touch_token(conn: &mut DbConnection, id: i64, now: i64) -> Result<(), StorageError> {
    diesel::update(admin_tokens::table.filter(admin_tokens::id.eq(id)))
        .set(admin_tokens::last_used_at.eq(now))
        .execute(conn)?;
    Ok(())
}

pub struct NewAdminSession<'a> {
    pub token_hash: &'a str,
    pub tenant: Option<TenantId>,
    pub user_id: Option<i64>,
    pub actor: &'a str,
    pub csrf_token: &'a str,
    pub expires_at: i64,
}

pub fn create_session(
    conn: &mut DbConnection,
    s: &NewAdminSession<'_>,
    now: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(admin_sessions::table)
        .values((
            admin_sessions::token_hash.eq(s.token_hash),
            admin_sessions::tenant_id.eq(s.tenant.map(|t| t.0)),
            admin_sessions::user_id.eq(s.user_id),
            admin_sessions::actor.eq(s.actor),
            admin_sessions::csrf_token.eq(s.csrf_token),
            admin_sessions::created_at.eq(now),
            admin_sessions::expires_at.eq(s.expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable)]
pub struct AdminSessionRow {
    pub tenant_id: Option<i64>,
    pub user_id: Option<i64>,
    pub actor: String,
    pub csrf_token: String,
    pub expires_at: i64,
}

pub fn session(
    conn: &mut DbConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<AdminSessionRow>, StorageError> {
    Ok(admin_sessions::table
        .filter(admin_sessions::token_hash.eq(token_hash))
        .filter(admin_sessions::expires_at.gt(now))
        .select((
            admin_sessions::tenant_id,
            admin_sessions::user_id,
            admin_sessions::actor,
            admin_sessions::csrf_token,
            admin_sessions::expires_at,
        ))
        .first(conn)
        .optional()?)
}

pub fn delete_session(conn: &mut DbConnection, token_hash: &str) -> Result<(), StorageError> {
    diesel::delete(admin_sessions::table.filter(admin_sessions::token_hash.eq(token_hash)))
        .execute(conn)?;
    Ok(())
}

/// Ends a user's console sessions (deactivation, revoked grant).
pub fn delete_sessions_of_user(
    conn: &mut DbConnection,
    user_id: i64,
) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(admin_sessions::table.filter(admin_sessions::user_id.eq(user_id)))
            .execute(conn)?,
    )
}

pub fn purge_expired_sessions(conn: &mut DbConnection, now: i64) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(admin_sessions::table.filter(admin_sessions::expires_at.le(now)))
            .execute(conn)?,
    )
}

/// Links past their expiry, used or not (a used link's row has done its job).
pub fn purge_expired_bootstrap_links(
    conn: &mut DbConnection,
    now: i64,
) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(bootstrap_links::table.filter(bootstrap_links::expires_at.le(now)))
            .execute(conn)?,
    )
}

pub fn create_bootstrap_link(
    conn: &mut DbConnection,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(bootstrap_links::table)
        .values((
            bootstrap_links::token_hash.eq(token_hash),
            bootstrap_links::created_at.eq(now),
            bootstrap_links::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks a live, unused link used; true only for the one caller that spent it (the guarded
/// UPDATE makes concurrent redemptions race safely).
pub fn spend_bootstrap_link(
    conn: &mut DbConnection,
    token_hash: &str,
    now: i64,
) -> Result<bool, StorageError> {
    Ok(diesel::update(
        bootstrap_links::table
            .filter(bootstrap_links::token_hash.eq(token_hash))
            .filter(bootstrap_links::used_at.is_null())
            .filter(bootstrap_links::expires_at.gt(now)),
    )
    .set(bootstrap_links::used_at.eq(now))
    .execute(conn)?
        > 0)
}
