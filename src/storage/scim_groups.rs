//! SCIM groups and their members (users of the same tenant).
use diesel::prelude::*;

use super::schema::{group_members, scim_groups, users};
use super::scim_filter::Where;
use super::{DbConnection, MultiBackend, StorageError};
use crate::domain::ids::TenantId;
use crate::domain::scim::group::{GroupFields, Member, StoredGroup};

type Row = (i64, String, Option<String>, i64, i64);

fn stored((id, display_name, external_id, created_at, updated_at): Row) -> StoredGroup {
    StoredGroup {
        id,
        display_name,
        external_id,
        created_at,
        updated_at,
    }
}

fn of_tenant(tenant: TenantId) -> scim_groups::BoxedQuery<'static, MultiBackend> {
    scim_groups::table
        .filter(scim_groups::tenant_id.eq(tenant.0))
        .into_boxed()
}

const COLUMNS: (
    scim_groups::id,
    scim_groups::display_name,
    scim_groups::external_id,
    scim_groups::created_at,
    scim_groups::updated_at,
) = (
    scim_groups::id,
    scim_groups::display_name,
    scim_groups::external_id,
    scim_groups::created_at,
    scim_groups::updated_at,
);

pub fn get(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: i64,
) -> Result<Option<StoredGroup>, StorageError> {
    Ok(of_tenant(tenant)
        .filter(scim_groups::id.eq(id))
        .select(COLUMNS)
        .first::<Row>(conn)
        .optional()?
        .map(stored))
}

pub fn count(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: Option<Where>,
) -> Result<i64, StorageError> {
    let mut q = of_tenant(tenant).count();
    if let Some(w) = filter {
        q = q.filter(w);
    }
    Ok(q.get_result(conn)?)
}

pub fn page(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: Option<Where>,
    offset: i64,
    limit: i64,
) -> Result<Vec<StoredGroup>, StorageError> {
    let mut q = of_tenant(tenant)
        .select(COLUMNS)
        .order(scim_groups::id.asc())
        .offset(offset)
        .limit(limit);
    if let Some(w) = filter {
        q = q.filter(w);
    }
    Ok(q.load::<Row>(conn)?.into_iter().map(stored).collect())
}

pub fn insert(
    conn: &mut DbConnection,
    tenant: TenantId,
    f: &GroupFields,
    now: i64,
) -> Result<i64, StorageError> {
    Ok(diesel::insert_into(scim_groups::table)
        .values((
            scim_groups::tenant_id.eq(tenant.0),
            scim_groups::display_name.eq(&f.display_name),
            scim_groups::external_id.eq(&f.external_id),
            scim_groups::created_at.eq(now),
            scim_groups::updated_at.eq(now),
        ))
        .returning(scim_groups::id)
        .get_result(conn)?)
}

pub fn update(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: i64,
    f: &GroupFields,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        scim_groups::table
            .filter(scim_groups::tenant_id.eq(tenant.0))
            .filter(scim_groups::id.eq(id)),
    )
    .set((
        scim_groups::display_name.eq(&f.display_name),
        scim_groups::external_id.eq(&f.external_id),
        scim_groups::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Members with the display name SCIM shows for them.
pub fn members(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: i64,
) -> Result<Vec<Member>, StorageError> {
    Ok(group_members::table
        .inner_join(users::table.on(users::id.eq(group_members::user_id)))
        .filter(group_members::tenant_id.eq(tenant.0))
        .filter(group_members::group_id.eq(id))
        .order(group_members::user_id.asc())
        .select((group_members::user_id, users::display_name))
        .load::<(i64, Option<String>)>(conn)?
        .into_iter()
        .map(|(user_id, display)| Member { user_id, display })
        .collect())
}

pub fn member_ids(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: i64,
) -> Result<Vec<i64>, StorageError> {
    Ok(group_members::table
        .filter(group_members::tenant_id.eq(tenant.0))
        .filter(group_members::group_id.eq(id))
        .order(group_members::user_id.asc())
        .select(group_members::user_id)
        .load(conn)?)
}

pub fn add_member(
    conn: &mut DbConnection,
    tenant: TenantId,
    group: i64,
    user: i64,
    now: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(group_members::table)
        .values((
            group_members::tenant_id.eq(tenant.0),
            group_members::group_id.eq(group),
            group_members::user_id.eq(user),
            group_members::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn remove_member(
    conn: &mut DbConnection,
    tenant: TenantId,
    group: i64,
    user: i64,
) -> Result<(), StorageError> {
    diesel::delete(
        group_members::table
            .filter(group_members::tenant_id.eq(tenant.0))
            .filter(group_members::group_id.eq(group))
            .filter(group_members::user_id.eq(user)),
    )
    .execute(conn)?;
    Ok(())
}

/// Removes the group itself; the caller has removed (and recorded) its members first.
pub fn delete(conn: &mut DbConnection, tenant: TenantId, id: i64) -> Result<(), StorageError> {
    diesel::delete(
        scim_groups::table
            .filter(scim_groups::tenant_id.eq(tenant.0))
            .filter(scim_groups::id.eq(id)),
    )
    .execute(conn)?;
    Ok(())
}

/// The groups a user is in (for removing a deprovisioned user's memberships).
pub fn groups_of_user(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: i64,
) -> Result<Vec<(i64, String)>, StorageError> {
    Ok(group_members::table
        .inner_join(scim_groups::table.on(scim_groups::id.eq(group_members::group_id)))
        .filter(group_members::tenant_id.eq(tenant.0))
        .filter(group_members::user_id.eq(user))
        .select((scim_groups::id, scim_groups::display_name))
        .load(conn)?)
}

/// Holds the group's row until the transaction ends: concurrent member changes to one group
/// apply one after the other.
pub fn lock(conn: &mut DbConnection, tenant: TenantId, id: i64) -> Result<(), StorageError> {
    super::lock_row(
        conn,
        "SELECT id FROM scim_groups WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant,
        id,
    )
}

/// The members of each group in `ids`, in one query (list pages).
pub fn members_of(
    conn: &mut DbConnection,
    tenant: TenantId,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<Member>>, StorageError> {
    let rows = group_members::table
        .inner_join(users::table.on(users::id.eq(group_members::user_id)))
        .filter(group_members::tenant_id.eq(tenant.0))
        .filter(group_members::group_id.eq_any(ids))
        .order((group_members::group_id.asc(), group_members::user_id.asc()))
        .select((
            group_members::group_id,
            group_members::user_id,
            users::display_name,
        ))
        .load::<(i64, i64, Option<String>)>(conn)?;
    let mut out: std::collections::HashMap<i64, Vec<Member>> = std::collections::HashMap::new();
    for (g, user_id, display) in rows {
        out.entry(g).or_default().push(Member { user_id, display });
    }
    Ok(out)
}
