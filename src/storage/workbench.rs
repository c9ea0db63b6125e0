//! The provisioning workbench's reads: refused sign-ins grouped by person (connection,
//! subject), and the users of its views. SQL text comes from code; values are bound.
use diesel::prelude::*;

use super::schema::{connections, identities, login_attempts};
use super::sql::Where;
use super::{DbConnection, StorageError, users as user_store};
use crate::domain::ids::{TenantId, UserId};
use crate::domain::user::User;

/// The refusals the workbench resolves: the person is not set up (or their domain is not
/// whitelisted), or their identity conflicts with an existing user.
pub const REASONS: [&str; 4] = [
    "not_set_up",
    "email_domain_not_allowed",
    "identity_conflict",
    "iwms_id_conflict",
];

/// The newest refused attempt of one person, with its connection.
#[derive(Debug, Clone, Queryable)]
pub struct Refused {
    pub id: i64,
    pub connection_id: i64,
    pub connection: String,
    pub connection_removed: bool,
    pub user_id: Option<i64>,
    pub reason: String,
    pub detail: String,
    pub subject: String,
    pub email: Option<String>,
    pub created_at: i64,
}

/// The attempt is the newest of its person (a later sign-in, successful or not, replaces it).
const NEWEST_OF_PERSON: &str = "login_attempts.id = (SELECT MAX(m.id) FROM login_attempts m \
     WHERE m.tenant_id = login_attempts.tenant_id AND m.connection_id = login_attempts.connection_id \
     AND m.subject = login_attempts.subject)";

/// Nobody linked the person's identity since, except to the user an `iwms_id_conflict`
/// matched (that link is the conflict).
const NOT_RESOLVED: &str = "NOT EXISTS (SELECT 1 FROM identities i \
     WHERE i.tenant_id = login_attempts.tenant_id AND i.connection_id = login_attempts.connection_id \
     AND i.subject = login_attempts.subject AND (login_attempts.reason <> 'iwms_id_conflict' \
     OR login_attempts.user_id IS NULL OR i.user_id <> login_attempts.user_id))";

macro_rules! refused_query {
    ($tenant:expr) => {
        login_attempts::table
            .inner_join(
                connections::table.on(connections::id.nullable().eq(login_attempts::connection_id)),
            )
            .filter(login_attempts::tenant_id.eq($tenant.0))
            .filter(login_attempts::outcome.eq("failure"))
            .filter(login_attempts::reason.eq_any(REASONS))
            .filter(login_attempts::subject.is_not_null())
            .select((
                login_attempts::id,
                connections::id,
                connections::slug,
                connections::removed_at.is_not_null(),
                login_attempts::user_id,
                login_attempts::reason,
                login_attempts::detail,
                login_attempts::subject.assume_not_null(),
                login_attempts::email,
                login_attempts::created_at,
            ))
    };
}

/// People whose newest sign-in was refused for one of [`REASONS`] and who are not resolved
/// yet, on connections not removed, newest first, attempts below `before`.
pub fn refused_page(
    conn: &mut DbConnection,
    tenant: TenantId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Refused>, StorageError> {
    let mut q = refused_query!(tenant)
        .filter(connections::removed_at.is_null())
        .filter(Where::default().sql(NEWEST_OF_PERSON))
        .filter(Where::default().sql(NOT_RESOLVED))
        .order(login_attempts::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(login_attempts::id.lt(b));
    }
    Ok(q.load(conn)?)
}

/// How many people [`refused_page`] lists in all.
pub fn refused_count(conn: &mut DbConnection, tenant: TenantId) -> Result<i64, StorageError> {
    Ok(refused_query!(tenant)
        .filter(connections::removed_at.is_null())
        .filter(Where::default().sql(NEWEST_OF_PERSON))
        .filter(Where::default().sql(NOT_RESOLVED))
        .count()
        .get_result(conn)?)
}

/// One refused attempt of the tenant with a workbench reason (whether resolved or not).
pub fn refused(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Refused>, StorageError> {
    Ok(refused_query!(tenant)
        .filter(login_attempts::id.eq(id))
        .first(conn)
        .optional()?)
}

/// How many refusals (of [`REASONS`]) each (connection, subject) of `people` has had.
pub fn refusal_totals(
    conn: &mut DbConnection,
    tenant: TenantId,
    people: &[(i64, String)],
) -> Result<Vec<(i64, String, i64)>, StorageError> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let connections: Vec<i64> = people.iter().map(|p| p.0).collect();
    let subjects: Vec<&str> = people.iter().map(|p| p.1.as_str()).collect();
    let rows: Vec<(Option<i64>, Option<String>, i64)> = login_attempts::table
        .filter(login_attempts::tenant_id.eq(tenant.0))
        .filter(login_attempts::outcome.eq("failure"))
        .filter(login_attempts::reason.eq_any(REASONS))
        .filter(login_attempts::connection_id.eq_any(connections))
        .filter(login_attempts::subject.eq_any(subjects))
        .group_by((login_attempts::connection_id, login_attempts::subject))
        .select((
            login_attempts::connection_id,
            login_attempts::subject,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, s, n)| Some((c?, s?, n)))
        .collect())
}

/// The link of (connection, subject): its id and user.
pub fn identity(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: i64,
    subject: &str,
) -> Result<Option<(i64, UserId)>, StorageError> {
    Ok(identities::table
        .filter(identities::tenant_id.eq(tenant.0))
        .filter(identities::connection_id.eq(connection))
        .filter(identities::subject.eq(subject))
        .select((identities::id, identities::user_id))
        .first::<(i64, i64)>(conn)
        .optional()?
        .map(|(id, u)| (id, UserId(u))))
}

/// The user's link on one connection: its id and subject.
pub fn identity_of_user(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: i64,
    user: UserId,
) -> Result<Option<(i64, String)>, StorageError> {
    Ok(identities::table
        .filter(identities::tenant_id.eq(tenant.0))
        .filter(identities::connection_id.eq(connection))
        .filter(identities::user_id.eq(user.0))
        .select((identities::id, identities::subject))
        .first(conn)
        .optional()?)
}

/// The workbench's views of users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSet {
    /// SCIM pushed them; they never signed in and no identity is linked.
    NeverSignedIn,
    /// Active, with a linked identity.
    Linked,
    /// Deprovisioned or deactivated, and known to the directory (a linked identity or SCIM).
    Gone,
}

const HAS_IDENTITY: &str = "EXISTS (SELECT 1 FROM identities i WHERE i.tenant_id = users.tenant_id AND i.user_id = users.id)";

fn predicate(set: UserSet) -> Where {
    let w = Where::default();
    match set {
        UserSet::NeverSignedIn => w
            .sql("users.status = 'active' AND users.deprovisioned_at IS NULL ")
            .sql("AND users.created_via = 'scim' AND users.last_login_at IS NULL AND NOT ")
            .sql(HAS_IDENTITY),
        UserSet::Linked => w
            .sql("users.status = 'active' AND users.deprovisioned_at IS NULL AND ")
            .sql(HAS_IDENTITY),
        UserSet::Gone => w
            .sql("(users.status = 'deactivated' OR users.deprovisioned_at IS NOT NULL) ")
            .sql("AND (users.created_via = 'scim' OR ")
            .sql(HAS_IDENTITY)
            .sql(")"),
    }
}

pub fn users_page(
    conn: &mut DbConnection,
    tenant: TenantId,
    set: UserSet,
    after: Option<UserId>,
    limit: i64,
) -> Result<Vec<User>, StorageError> {
    user_store::page_where(conn, tenant, predicate(set), after, limit)
}

pub fn users_count(
    conn: &mut DbConnection,
    tenant: TenantId,
    set: UserSet,
) -> Result<i64, StorageError> {
    user_store::count_where(conn, tenant, predicate(set))
}
