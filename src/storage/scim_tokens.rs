use diesel::prelude::*;

use super::schema::scim_tokens;
use super::{DbConnection, StorageError};
use crate::domain::ids::TenantId;

#[derive(Debug, Clone, serde::Serialize, Queryable, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub fn create(
    conn: &mut DbConnection,
    tenant: TenantId,
    label: &str,
    token_hash: &str,
    now: i64,
) -> Result<i64, StorageError> {
    diesel::insert_into(scim_tokens::table)
        .values((
            scim_tokens::tenant_id.eq(tenant.0),
            scim_tokens::label.eq(label),
            scim_tokens::token_hash.eq(token_hash),
            scim_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(scim_tokens::table
        .filter(scim_tokens::token_hash.eq(token_hash))
        .select(scim_tokens::id)
        .first(conn)?)
}

pub fn list(conn: &mut DbConnection, tenant: TenantId) -> Result<Vec<TokenInfo>, StorageError> {
    Ok(scim_tokens::table
        .filter(scim_tokens::tenant_id.eq(tenant.0))
        .order(scim_tokens::id.asc())
        .select((
            scim_tokens::id,
            scim_tokens::label,
            scim_tokens::created_at,
            scim_tokens::last_used_at,
            scim_tokens::revoked_at,
        ))
        .load(conn)?)
}

/// Returns false when the token is unknown for this tenant or already revoked.
pub fn revoke(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: i64,
    now: i64,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        scim_tokens::table
            .filter(scim_tokens::tenant_id.eq(tenant.0))
            .filter(scim_tokens::id.eq(id))
            .filter(scim_tokens::revoked_at.is_null()),
    )
    .set(scim_tokens::revoked_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// An active token by hash: (token id, tenant, last_used_at).
pub fn lookup(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<(i64, TenantId, Option<i64>)>, StorageError> {
    Ok(scim_tokens::table
        .filter(scim_tokens::token_hash.eq(token_hash))
        .filter(scim_tokens::revoked_at.is_null())
        .select((
            scim_tokens::id,
            scim_tokens::tenant_id,
            scim_tokens::last_used_at,
        ))
        .first::<(i64, i64, Option<i64>)>(conn)
        .optional()?
        .map(|(id, t, used)| (id, TenantId(t), used)))
}

pub fn touch(conn: &mut DbConnection, id: i64, now: i64) -> Result<(), StorageError> {
    diesel::update(scim_tokens::table.filter(scim_tokens::id.eq(id)))
        .set(scim_tokens::last_used_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}
