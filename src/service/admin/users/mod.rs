//! Users, their timelines and sign-in history: the one read model of the users wing, used by
//! the admin API, the console and the CLI, and its lifecycle actions.
//!
//! Callers have resolved and authorised the tenant; every query carries its id, so an id of
//! another tenant's user or identity is `NotFound`. There is no deletion of users anywhere:
//! deactivation, reactivation and unlinking an identity are the only changes made here.
//! - this file: the user's view, the list (console/API pages, the CLI's listing) and counts;
//! - `timeline`: a user's detail and timeline; `lifecycle`: the actions;
//! - `history`: the sign-in history and the counted refusals.
mod history;
pub(crate) mod lifecycle;
mod timeline;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub use self::history::{
    ConnectionChoice, RefusalCountItem, RefusalCountPage, RefusalCountQuery, SignInItem,
    SignInPage, SignInQuery, connection_choices, reason_codes, refusal_counts, sign_ins,
};
pub use self::lifecycle::{
    NewUserInput, create_user, deactivate_user, reactivate_user, unlink_identity,
};
pub use self::timeline::{
    Happening, TIMELINE_EVENTS, TIMELINE_SIGN_INS, TimelineEntry, UserDetailView, UserRecord,
    sign_in_summary, user_detail,
};
use super::{AdminError, invalid};
use crate::domain::email::EmailAddress;
use crate::domain::ids::UserId;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
pub use crate::domain::user::UserViewKind;
use crate::storage::login_attempts;
use crate::storage::users::Search;
use crate::storage::{DbConnection, StorageError, users};

pub use super::paging::MAX_LIMIT;
use super::paging::{check_cursor, check_limit};
/// The largest listing the CLI prints at once.
pub const MAX_LISTING: i64 = 1000;

fn user_not_found(tenant: &Tenant, id: i64) -> AdminError {
    AdminError::NotFound(format!("user {id} in tenant `{}`", tenant.slug))
}

fn get_user(conn: &mut DbConnection, tenant: &Tenant, id: i64) -> Result<User, AdminError> {
    match users::get(conn, tenant.id, UserId(id)) {
        Err(StorageError::NotFound) => Err(user_not_found(tenant, id)),
        other => Ok(other?),
    }
}

/// `who` is an email address or a numeric user id (the CLI's `user show`): the user's id.
pub fn find_user(conn: &mut DbConnection, tenant: &Tenant, who: &str) -> Result<i64, AdminError> {
    let user = match who.parse::<i64>() {
        Ok(id) => match users::get(conn, tenant.id, UserId(id)) {
            Err(StorageError::NotFound) => None,
            other => Some(other?),
        },
        Err(_) => {
            let e = EmailAddress::parse(who).map_err(|e| invalid("user", e))?;
            users::find_by_email(conn, tenant.id, &e)?
        }
    };
    user.map(|u| u.id.0)
        .ok_or_else(|| AdminError::NotFound(format!("user `{who}` in tenant `{}`", tenant.slug)))
}

// ---------------------------------------------------------------------------------------------
// The user.

// A user as every surface shows them (no doc comment: it would become the OpenAPI description).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub iwms_id: Option<String>,
    pub status: &'static str,
    pub stale: bool,
    pub stale_since: Option<i64>,
    pub created_via: String,
    pub last_login_at: Option<i64>,
    pub created_at: i64,
    /// When SCIM deprovisioned the user (DELETE); the record stays.
    pub deprovisioned_at: Option<i64>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id.0,
            email: u.email.to_string(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            iwms_id: u.iwms_id.clone(),
            status: u.status.as_str(),
            stale: u.stale_since.is_some(),
            stale_since: u.stale_since,
            created_via: u.created_via.clone(),
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            deprovisioned_at: u.deprovisioned_at,
        }
    }
}

impl UserView {
    /// `active`, `deactivated`, or `deprovisioned` (SCIM deleted the user; the record stays).
    pub fn shown_status(&self) -> &'static str {
        if self.deprovisioned_at.is_some() {
            "deprovisioned"
        } else {
            self.status
        }
    }

    /// First and last name, as far as known.
    pub fn full_name(&self) -> String {
        [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

// ---------------------------------------------------------------------------------------------
// The list.

/// One page of a view.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct UserQuery {
    pub view: UserViewKind,
    /// Case-insensitive **prefix** search, trimmed, at most 200 characters (longer is
    /// `Invalid { field: "q" }`). A user matches when their email, first name, last name or
    /// IWMS ID starts with the term, or, for a term of several words, when the first name
    /// starts with the first word and the last name with the rest ("ada love"). Prefixes are
    /// ranges of expression indexes, so a search costs about as much as its matches; substring
    /// matching would read every user of the tenant (see README Benchmarks). Emails are folded
    /// ASCII-only (as stored); names and IWMS IDs as the database's `lower()` folds them
    /// (ASCII only on SQLite, all of Unicode on PostgreSQL).
    pub search: Option<String>,
    /// 1..=200.
    pub limit: i64,
    /// The last id of the previous page (`next_after`); `None` for the first page.
    pub after: Option<i64>,
}

/// Users newest first (by id, descending).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserPage {
    pub users: Vec<UserListItem>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserListItem {
    #[serde(flatten)]
    pub user: UserView,
    /// The user's most recent sign-in attempt, successful or not.
    pub last_sign_in: Option<LastSignIn>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LastSignIn {
    pub attempt_id: i64,
    /// `success` or `failure`.
    pub outcome: String,
    /// The reason code (`success` for a successful sign-in).
    pub reason: String,
    pub at: i64,
}

impl LastSignIn {
    pub fn succeeded(&self) -> bool {
        self.outcome == "success"
    }
}

impl From<login_attempts::Latest> for LastSignIn {
    fn from(l: login_attempts::Latest) -> Self {
        LastSignIn {
            attempt_id: l.id,
            outcome: l.outcome,
            reason: l.reason,
            at: l.created_at,
        }
    }
}

/// Each user with their latest attempt, fetched for the whole page in one query.
fn with_last_sign_in(
    conn: &mut DbConnection,
    tenant: &Tenant,
    list: Vec<User>,
) -> Result<Vec<UserListItem>, AdminError> {
    let ids: Vec<i64> = list.iter().map(|u| u.id.0).collect();
    let mut latest: HashMap<i64, LastSignIn> =
        login_attempts::latest_for_users(conn, tenant.id, &ids)?
            .into_iter()
            .filter_map(|l| Some((l.user_id?, LastSignIn::from(l))))
            .collect();
    Ok(list
        .iter()
        .map(|u| UserListItem {
            user: UserView::from(u),
            last_sign_in: latest.remove(&u.id.0),
        })
        .collect())
}

pub fn list_users(
    conn: &mut DbConnection,
    tenant: &Tenant,
    q: &UserQuery,
) -> Result<UserPage, AdminError> {
    let limit = check_limit(q.limit)?;
    let after = check_cursor("after", q.after)?.map(UserId);
    let search = Search::parse(q.search.as_deref().unwrap_or("")).map_err(|m| invalid("q", m))?;
    let mut rows = users::page(conn, tenant.id, q.view, search.as_ref(), after, limit + 1)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_after = more.then(|| rows.last().map(|u| u.id.0)).flatten();
    Ok(UserPage {
        users: with_last_sign_in(conn, tenant, rows)?,
        next_after,
    })
}

/// A view's users oldest first, `limit` (1..=1000) from `offset` on: the CLI's `user list`.
pub fn list_users_by_offset(
    conn: &mut DbConnection,
    tenant: &Tenant,
    view: UserViewKind,
    limit: i64,
    offset: i64,
) -> Result<Vec<UserView>, AdminError> {
    if !(1..=MAX_LISTING).contains(&limit) {
        return Err(invalid(
            "limit",
            format!("must be between 1 and {MAX_LISTING}"),
        ));
    }
    if offset < 0 {
        return Err(invalid("offset", "must not be negative"));
    }
    Ok(users::list(conn, tenant.id, view, limit, offset)?
        .iter()
        .map(UserView::from)
        .collect())
}

/// The console's tab labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UserCounts {
    pub active: i64,
    pub stale: i64,
    pub deactivated: i64,
    pub deprovisioned: i64,
    /// Every user of the tenant (the views overlap: a deactivated user may also be stale).
    pub all: i64,
}

impl UserCounts {
    pub fn of(&self, view: UserViewKind) -> i64 {
        match view {
            UserViewKind::Active => self.active,
            UserViewKind::Stale => self.stale,
            UserViewKind::Deactivated => self.deactivated,
            UserViewKind::Deprovisioned => self.deprovisioned,
            UserViewKind::All => self.all,
        }
    }
}

/// Counts of each view's partial index, in one statement (no table rows are read).
pub fn user_counts(conn: &mut DbConnection, tenant: &Tenant) -> Result<UserCounts, AdminError> {
    let c = users::count_views(conn, tenant.id)?;
    Ok(UserCounts {
        active: c.active,
        stale: c.stale,
        deactivated: c.deactivated,
        deprovisioned: c.deprovisioned,
        all: c.all,
    })
}

fn list_item(
    conn: &mut DbConnection,
    tenant: &Tenant,
    id: i64,
) -> Result<UserListItem, AdminError> {
    let u = get_user(conn, tenant, id)?;
    let mut items = with_last_sign_in(conn, tenant, vec![u])?;
    items.pop().ok_or_else(|| user_not_found(tenant, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_status_vocabulary() {
        for v in UserViewKind::ALL {
            assert_eq!(UserViewKind::parse(v.as_str()), Some(v));
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::json!(v.as_str())
            );
        }
    }
}
