//! Role rules (tenant), role rows (user, role, source), and the groups and roles stored on
//! the user row for `/auth/verify`.
use std::collections::BTreeSet;

use diesel::prelude::*;

use super::error::corrupt;
use super::schema::{group_members, role_rules, scim_groups, tenants, user_roles, users};
use super::{DbConnection, StorageError};
use crate::domain::ids::{TenantId, UserId};
use crate::domain::roles::{RoleName, RoleRule, RoleSource, group_key};

/// A stored rule with its id and creation time.
#[derive(Debug, Clone)]
pub struct StoredRule {
    pub id: i64,
    pub rule: RoleRule,
    pub created_at: i64,
}

pub fn rules(conn: &mut DbConnection, tenant: TenantId) -> Result<Vec<StoredRule>, StorageError> {
    role_rules::table
        .filter(role_rules::tenant_id.eq(tenant.0))
        .order((role_rules::group_name_lc.asc(), role_rules::role.asc()))
        .select((
            role_rules::id,
            role_rules::group_name,
            role_rules::role,
            role_rules::created_at,
        ))
        .load::<(i64, String, String, i64)>(conn)?
        .into_iter()
        .map(|(id, group, role, created_at)| {
            Ok(StoredRule {
                id,
                rule: RoleRule {
                    group,
                    role: RoleName::parse(&role).map_err(|e| corrupt("role_rules.role", e))?,
                },
                created_at,
            })
        })
        .collect()
}

pub fn rule_exists(
    conn: &mut DbConnection,
    tenant: TenantId,
    r: &RoleRule,
) -> Result<bool, StorageError> {
    Ok(role_rules::table
        .filter(role_rules::tenant_id.eq(tenant.0))
        .filter(role_rules::group_name_lc.eq(group_key(&r.group)))
        .filter(role_rules::role.eq(r.role.as_str()))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn insert_rule(
    conn: &mut DbConnection,
    tenant: TenantId,
    r: &RoleRule,
    now: i64,
) -> Result<i64, StorageError> {
    Ok(diesel::insert_into(role_rules::table)
        .values((
            role_rules::tenant_id.eq(tenant.0),
            role_rules::group_name.eq(&r.group),
            role_rules::group_name_lc.eq(group_key(&r.group)),
            role_rules::role.eq(r.role.as_str()),
            role_rules::created_at.eq(now),
        ))
        .returning(role_rules::id)
        .get_result(conn)?)
}

/// Returns whether a rule was removed.
pub fn delete_rule(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: i64,
) -> Result<bool, StorageError> {
    Ok(diesel::delete(
        role_rules::table
            .filter(role_rules::tenant_id.eq(tenant.0))
            .filter(role_rules::id.eq(id)),
    )
    .execute(conn)?
        == 1)
}

/// A user's role rows.
pub fn rows(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<BTreeSet<(String, RoleSource)>, StorageError> {
    user_roles::table
        .filter(user_roles::tenant_id.eq(tenant.0))
        .filter(user_roles::user_id.eq(user.0))
        .select((user_roles::role, user_roles::source))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(r, s)| {
            let s = RoleSource::parse(&s).ok_or_else(|| corrupt("user_roles.source", &s))?;
            Ok((r, s))
        })
        .collect()
}

pub fn add_row(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    role: &str,
    source: RoleSource,
    now: i64,
) -> Result<(), StorageError> {
    let row = (
        user_roles::tenant_id.eq(tenant.0),
        user_roles::user_id.eq(user.0),
        user_roles::role.eq(role),
        user_roles::source.eq(source.as_str()),
        user_roles::created_at.eq(now),
    );
    // The callers lock the user first; a row that exists anyway is what was wanted.
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(user_roles::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Pg(c) => diesel::insert_into(user_roles::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(())
}

pub fn remove_row(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    role: &str,
    source: RoleSource,
) -> Result<(), StorageError> {
    diesel::delete(
        user_roles::table
            .filter(user_roles::tenant_id.eq(tenant.0))
            .filter(user_roles::user_id.eq(user.0))
            .filter(user_roles::role.eq(role))
            .filter(user_roles::source.eq(source.as_str())),
    )
    .execute(conn)?;
    Ok(())
}

fn json_list(column: &'static str, raw: &str) -> Result<Vec<String>, StorageError> {
    serde_json::from_str(raw).map_err(|e| corrupt(column, e))
}

fn to_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// The groups the IdP sent at the user's last sign-in.
pub fn idp_groups(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<String>, StorageError> {
    let raw: String = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::id.eq(user.0))
        .select(users::idp_groups)
        .first(conn)?;
    json_list("users.idp_groups", &raw)
}

pub fn set_idp_groups(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    groups: &[String],
) -> Result<(), StorageError> {
    diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(user.0)),
    )
    .set(users::idp_groups.eq(to_json(groups)))
    .execute(conn)?;
    Ok(())
}

/// The names of the SCIM groups the user is a member of.
pub fn scim_groups_of(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<String>, StorageError> {
    Ok(group_members::table
        .inner_join(scim_groups::table.on(scim_groups::id.eq(group_members::group_id)))
        .filter(group_members::tenant_id.eq(tenant.0))
        .filter(group_members::user_id.eq(user.0))
        .select(scim_groups::display_name)
        .load(conn)?)
}

/// The computed groups and roles `/auth/verify` and `/me` read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Computed {
    pub groups: Vec<String>,
    pub roles: Vec<String>,
}

pub fn computed(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Computed, StorageError> {
    let (g, r): (String, String) = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::id.eq(user.0))
        .select((users::group_names, users::role_names))
        .first(conn)?;
    Ok(Computed {
        groups: json_list("users.group_names", &g)?,
        roles: json_list("users.role_names", &r)?,
    })
}

pub fn set_computed(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    c: &Computed,
) -> Result<(), StorageError> {
    diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(user.0)),
    )
    .set((
        users::group_names.eq(to_json(&c.groups)),
        users::role_names.eq(to_json(&c.roles)),
    ))
    .execute(conn)?;
    Ok(())
}

/// Decodes the stored JSON lists read with the session.
pub fn decode_list(column: &'static str, raw: &str) -> Result<Vec<String>, StorageError> {
    json_list(column, raw)
}

/// Users that have any group (a rule change can only change their roles).
pub fn users_with_groups(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<Vec<UserId>, StorageError> {
    Ok(users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::group_names.ne("[]"))
        .order(users::id.asc())
        .select(users::id)
        .load::<i64>(conn)?
        .into_iter()
        .map(UserId)
        .collect())
}

pub fn forward_attributes(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<String, StorageError> {
    Ok(tenants::table
        .filter(tenants::id.eq(tenant.0))
        .select(tenants::forward_attributes)
        .first(conn)?)
}

pub fn set_forward_attributes(
    conn: &mut DbConnection,
    tenant: TenantId,
    stored: &str,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(tenants::table.filter(tenants::id.eq(tenant.0)))
        .set((
            tenants::forward_attributes.eq(stored),
            tenants::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The directory attributes of a user as stored (SCIM or sign-in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    pub department: Option<String>,
    pub title: Option<String>,
    pub employee_number: Option<String>,
    /// The manager's SCIM id (the user id) or email address.
    pub manager: Option<String>,
}

/// What a sign-in's recomputation reads of its user, in one statement (`scim_managed`: SCIM
/// alone sets the directory attributes).
#[derive(Debug)]
pub struct SignInState {
    pub idp_groups: Vec<String>,
    pub scim_managed: bool,
    pub directory: Directory,
    pub computed: Computed,
}

pub fn sign_in_state(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<SignInState, StorageError> {
    #[allow(clippy::type_complexity)]
    let (idp, scim_managed, department, title, employee_number, manager, g, r): (
        String,
        bool,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
    ) = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::id.eq(user.0))
        .select((
            users::idp_groups,
            users::scim_user_name.is_not_null(),
            users::department,
            users::title,
            users::employee_number,
            users::manager_id,
            users::group_names,
            users::role_names,
        ))
        .first(conn)?;
    Ok(SignInState {
        idp_groups: json_list("users.idp_groups", &idp)?,
        scim_managed,
        directory: Directory {
            department,
            title,
            employee_number,
            manager,
        },
        computed: Computed {
            groups: json_list("users.group_names", &g)?,
            roles: json_list("users.role_names", &r)?,
        },
    })
}

pub fn set_directory(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    d: &Directory,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(user.0)),
    )
    .set((
        users::department.eq(&d.department),
        users::title.eq(&d.title),
        users::employee_number.eq(&d.employee_number),
        users::manager_id.eq(&d.manager),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// A user's manager as the app sees them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Manager {
    pub user_id: i64,
    pub email: String,
    pub iwms_id: Option<String>,
}

/// Resolves a stored manager reference: the SCIM id (a user id of the tenant) first, then
/// an email address of the tenant.
pub fn resolve_manager(
    conn: &mut DbConnection,
    tenant: TenantId,
    reference: &str,
) -> Result<Option<Manager>, StorageError> {
    let q = || {
        users::table.filter(users::tenant_id.eq(tenant.0)).select((
            users::id,
            users::email,
            users::iwms_id,
        ))
    };
    let by_id = match reference.trim().parse::<i64>() {
        Ok(id) => q()
            .filter(users::id.eq(id))
            .first::<(i64, String, Option<String>)>(conn)
            .optional()?,
        Err(_) => None,
    };
    let found = match by_id {
        Some(f) => Some(f),
        None => q()
            .filter(users::email.eq(reference.trim().to_lowercase()))
            .first::<(i64, String, Option<String>)>(conn)
            .optional()?,
    };
    Ok(found.map(|(user_id, email, iwms_id)| Manager {
        user_id,
        email,
        iwms_id,
    }))
}
