use diesel::prelude::*;

use super::error::corrupt;
use super::schema::users;
use super::{DbConnection, StorageError};
use crate::domain::email::EmailAddress;
use crate::domain::ids::{TenantId, UserId};
use crate::domain::provisioning::NewUser;
use crate::domain::user::{CreatedVia, User, UserStatus};

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: i64,
    tenant_id: i64,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    iwms_id: Option<String>,
    status: String,
    created_via: String,
    stale_since: Option<i64>,
    last_login_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    deprovisioned_at: Option<i64>,
}

impl TryFrom<UserRow> for User {
    type Error = StorageError;
    fn try_from(r: UserRow) -> Result<Self, StorageError> {
        Ok(User {
            id: UserId(r.id),
            tenant_id: TenantId(r.tenant_id),
            email: EmailAddress::parse(&r.email).map_err(|e| corrupt("users.email", e))?,
            first_name: r.first_name,
            last_name: r.last_name,
            iwms_id: r.iwms_id,
            status: UserStatus::parse(&r.status)
                .ok_or_else(|| corrupt("users.status", &r.status))?,
            created_via: r.created_via,
            stale_since: r.stale_since,
            last_login_at: r.last_login_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deprovisioned_at: r.deprovisioned_at,
        })
    }
}

fn one(q: Option<UserRow>) -> Result<Option<User>, StorageError> {
    q.map(User::try_from).transpose()
}

pub fn get(conn: &mut DbConnection, tenant: TenantId, id: UserId) -> Result<User, StorageError> {
    users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::id.eq(id.0))
        .select(UserRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn find_by_email(
    conn: &mut DbConnection,
    tenant: TenantId,
    email: &EmailAddress,
) -> Result<Option<User>, StorageError> {
    one(users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::email.eq(email.as_str()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_iwms_id(
    conn: &mut DbConnection,
    tenant: TenantId,
    iwms_id: &str,
) -> Result<Option<User>, StorageError> {
    one(users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::iwms_id.eq(iwms_id))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(
    conn: &mut DbConnection,
    tenant: TenantId,
    u: &NewUser,
    via: CreatedVia,
    now: i64,
) -> Result<User, StorageError> {
    diesel::insert_into(users::table)
        .values((
            users::tenant_id.eq(tenant.0),
            users::email.eq(u.email.as_str()),
            users::first_name.eq(&u.first_name),
            users::last_name.eq(&u.last_name),
            users::iwms_id.eq(&u.iwms_id),
            users::status.eq(UserStatus::Active.as_str()),
            users::created_via.eq(via.as_str()),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    find_by_email(conn, tenant, &u.email)?.ok_or(StorageError::NotFound)
}

pub struct AttributeUpdate<'a> {
    pub first_name: &'a Option<String>,
    pub last_name: &'a Option<String>,
    pub iwms_id: &'a Option<String>,
}

pub fn update_attributes(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
    a: &AttributeUpdate<'_>,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(id.0)),
    )
    .set((
        users::first_name.eq(a.first_name),
        users::last_name.eq(a.last_name),
        users::iwms_id.eq(a.iwms_id),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// A successful sign-in: last_login_at moves and any stale flag clears.
pub fn record_sign_in(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(id.0)),
    )
    .set((
        users::last_login_at.eq(Some(now)),
        users::stale_since.eq(None::<i64>),
    ))
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    All,
    Active,
    Stale,
    Deactivated,
}

pub fn list(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: StatusFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<User>, StorageError> {
    let mut q = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .select(UserRow::as_select())
        .order(users::id.asc())
        .limit(limit)
        .offset(offset)
        .into_boxed();
    q = match filter {
        StatusFilter::All => q,
        StatusFilter::Active => q
            .filter(users::status.eq("active"))
            .filter(users::stale_since.is_null()),
        StatusFilter::Stale => q.filter(users::stale_since.is_not_null()),
        StatusFilter::Deactivated => q.filter(users::status.eq("deactivated")),
    };
    q.load(conn)?.into_iter().map(User::try_from).collect()
}

/// Active, unflagged users whose last activity is before `cutoff`.
pub fn stale_candidates(
    conn: &mut DbConnection,
    tenant: TenantId,
    cutoff: i64,
) -> Result<Vec<UserId>, StorageError> {
    Ok(users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::stale_since.is_null())
        .filter(users::status.eq("active"))
        .filter(
            users::last_login_at.lt(cutoff).or(users::last_login_at
                .is_null()
                .and(users::created_at.lt(cutoff))),
        )
        .select(users::id)
        .load::<i64>(conn)?
        .into_iter()
        .map(UserId)
        .collect())
}

/// Flags one user; the `stale_since IS NULL` guard keeps concurrent runs from double-flagging.
pub fn flag_stale(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
    now: i64,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(id.0))
            .filter(users::stale_since.is_null()),
    )
    .set(users::stale_since.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}
