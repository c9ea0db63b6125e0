use diesel::prelude::*;

use super::schema::login_attempts;
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
