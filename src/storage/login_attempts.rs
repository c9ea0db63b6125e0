use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::schema::{connections, login_attempts, users};
use super::{DbConnection, StorageError};
use crate::domain::ids::{ConnectionId, TenantId, UserId};

#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    pub tenant: TenantId,
    pub connection: Option<ConnectionId>,
    pub user: Option<UserId>,
    pub success: bool,
    pub reason: &'a str,
    pub detail: &'a str,
    pub subject: Option<&'a str>,
    pub email: Option<&'a str>,
}

pub fn record(conn: &mut DbConnection, a: &NewAttempt<'_>, now: i64) -> Result<(), StorageError> {
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::tenant_id.eq(a.tenant.0),
            login_attempts::connection_id.eq(a.connection.map(|c| c.0)),
            login_attempts::user_id.eq(a.user.map(|u| u.0)),
            login_attempts::outcome.eq(if a.success { "success" } else { "failure" }),
            login_attempts::reason.eq(a.reason),
            login_attempts::detail.eq(a.detail),
            login_attempts::subject.eq(a.subject),
            login_attempts::email.eq(a.email),
            login_attempts::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes up to `batch` of the oldest attempts made before `cutoff`; returns how many.
pub fn purge_before(
    conn: &mut DbConnection,
    cutoff: i64,
    batch: i64,
) -> Result<usize, StorageError> {
    let oldest: Vec<i64> = login_attempts::table
        .filter(login_attempts::created_at.lt(cutoff))
        .order(login_attempts::created_at.asc())
        .select(login_attempts::id)
        .limit(batch)
        .load(conn)?;
    if oldest.is_empty() {
        return Ok(0);
    }
    Ok(
        diesel::delete(login_attempts::table.filter(login_attempts::id.eq_any(&oldest)))
            .execute(conn)?,
    )
}

#[derive(Debug, Clone, serde::Serialize, Queryable)]
pub struct Attempt {
    pub id: i64,
    pub connection_id: Option<i64>,
    pub user_id: Option<i64>,
    pub outcome: String,
    pub reason: String,
    pub detail: String,
    pub subject: Option<String>,
    pub email: Option<String>,
    pub created_at: i64,
}

/// Newest first; optionally only one user's attempts.
pub fn list(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: Option<UserId>,
    limit: i64,
) -> Result<Vec<Attempt>, StorageError> {
    let mut q = login_attempts::table
        .filter(login_attempts::tenant_id.eq(tenant.0))
        .order(login_attempts::id.desc())
        .limit(limit)
        .select((
            login_attempts::id,
            login_attempts::connection_id,
            login_attempts::user_id,
            login_attempts::outcome,
            login_attempts::reason,
            login_attempts::detail,
            login_attempts::subject,
            login_attempts::email,
            login_attempts::created_at,
        ))
        .into_boxed();
    if let Some(u) = user {
        q = q.filter(login_attempts::user_id.eq(u.0));
    }
    Ok(q.load(conn)?)
}

/// A user's most recent attempt, for the admin console's user list.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Latest {
    pub id: i64,
    pub user_id: Option<i64>,
    pub outcome: String,
    pub reason: String,
    pub created_at: i64,
}

/// `(SELECT la.id … ORDER BY la.id DESC LIMIT 1)` for the row of `users` at hand. Fixed SQL
/// (unlike `diesel::dsl::sql`), so the statement is cached.
#[derive(Debug, Clone, Copy)]
struct NewestAttemptId;

impl diesel::expression::Expression for NewestAttemptId {
    type SqlType = BigInt;
}
impl diesel::expression::AppearsOnTable<users::table> for NewestAttemptId {}
impl diesel::expression::SelectableExpression<users::table> for NewestAttemptId {}
impl diesel::expression::ValidGrouping<()> for NewestAttemptId {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}
impl diesel::query_builder::QueryId for NewestAttemptId {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}
impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for NewestAttemptId {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        out.push_sql(
            "(SELECT la.id FROM login_attempts la WHERE la.tenant_id = users.tenant_id \
             AND la.user_id = users.id ORDER BY la.id DESC LIMIT 1)",
        );
        Ok(())
    }
}

/// The newest attempt of each user in `users` (ids of this tenant), in one query: a
/// correlated `ORDER BY id DESC LIMIT 1` per user walks login_attempts_user backwards and
/// stops at its first entry, so users with long histories cost no more than others.
pub fn latest_for_users(
    conn: &mut DbConnection,
    tenant: TenantId,
    users: &[i64],
) -> Result<Vec<Latest>, StorageError> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let newest = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::id.eq_any(users))
        .select(NewestAttemptId);
    Ok(login_attempts::table
        .filter(login_attempts::tenant_id.eq(tenant.0))
        .filter(login_attempts::id.eq_any(newest))
        .select((
            login_attempts::id,
            login_attempts::user_id,
            login_attempts::outcome,
            login_attempts::reason,
            login_attempts::created_at,
        ))
        .load(conn)?)
}

/// An attempt with the slug of its connection and the email of its user, as the admin
/// console lists them.
#[derive(Debug, Clone, Queryable)]
pub struct Listed {
    pub id: i64,
    pub connection_id: Option<i64>,
    pub connection: Option<String>,
    pub user_id: Option<i64>,
    pub user_email: Option<String>,
    pub outcome: String,
    pub reason: String,
    pub detail: String,
    pub subject: Option<String>,
    pub email: Option<String>,
    pub created_at: i64,
}

/// Which attempts to list; `None` matches any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub success: Option<bool>,
    pub reason: Option<String>,
    pub connection: Option<ConnectionId>,
    pub user: Option<UserId>,
}

/// Newest first, ids below `before` (keyset paging). Each filter has an index on
/// `(tenant_id, <column>, id)` (migrations 000001 and 000008).
pub fn page(
    conn: &mut DbConnection,
    tenant: TenantId,
    f: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Listed>, StorageError> {
    let mut q = login_attempts::table
        .left_join(
            connections::table.on(connections::id.nullable().eq(login_attempts::connection_id)),
        )
        .left_join(
            users::table.on(users::id
                .nullable()
                .eq(login_attempts::user_id)
                .and(users::tenant_id.eq(login_attempts::tenant_id))),
        )
        .filter(login_attempts::tenant_id.eq(tenant.0))
        .select((
            login_attempts::id,
            login_attempts::connection_id,
            connections::slug.nullable(),
            login_attempts::user_id,
            users::email.nullable(),
            login_attempts::outcome,
            login_attempts::reason,
            login_attempts::detail,
            login_attempts::subject,
            login_attempts::email,
            login_attempts::created_at,
        ))
        .order(login_attempts::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(s) = f.success {
        q = q.filter(login_attempts::outcome.eq(if s { "success" } else { "failure" }));
    }
    if let Some(r) = &f.reason {
        q = q.filter(login_attempts::reason.eq(r.clone()));
    }
    if let Some(c) = f.connection {
        q = q.filter(login_attempts::connection_id.eq(c.0));
    }
    if let Some(u) = f.user {
        q = q.filter(login_attempts::user_id.eq(u.0));
    }
    if let Some(b) = before {
        q = q.filter(login_attempts::id.lt(b));
    }
    Ok(q.load(conn)?)
}
