//! The sign-in history (every attempt, filtered, in keyset pages) and the refusals that
//! nothing tied to a sign-in, counted per connection, reason and hour.
use serde::{Deserialize, Serialize};

use super::{AdminError, check_cursor, check_limit};
use crate::domain::ids::{ConnectionId, UserId};
use crate::domain::reason::Reason;
use crate::domain::tenant::Tenant;
use crate::service::admin::{invalid, parse_slug};
use crate::storage::login_attempts::{self, Listed};
use crate::storage::{DbConnection, connections, refusal_counts};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct SignInQuery {
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// A reason code (see [`reason_codes`]).
    pub reason: Option<String>,
    /// A connection slug of the tenant (removed connections included).
    pub connection: Option<String>,
    pub user: Option<i64>,
    /// 1..=200.
    pub limit: i64,
    /// The last id of the previous page (`next_before`); `None` for the newest.
    pub before: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SignInItem {
    pub id: i64,
    pub at: i64,
    pub outcome: String,
    pub reason: String,
    pub detail: String,
    /// The connection's slug; `None` when the attempt named none.
    pub connection: Option<String>,
    pub user_id: Option<i64>,
    /// The email the IdP asserted, else the matched user's.
    pub email: Option<String>,
    pub subject: Option<String>,
    /// The connection's id (the CLI's JSON shows it).
    #[serde(skip)]
    pub connection_id: Option<i64>,
    /// The email the IdP asserted, if any (the CLI's JSON shows it as `email`).
    #[serde(skip)]
    pub asserted_email: Option<String>,
}

impl SignInItem {
    pub fn succeeded(&self) -> bool {
        self.outcome == "success"
    }
}

impl From<Listed> for SignInItem {
    fn from(a: Listed) -> Self {
        SignInItem {
            id: a.id,
            at: a.created_at,
            outcome: a.outcome,
            reason: a.reason,
            detail: a.detail,
            connection: a.connection,
            user_id: a.user_id,
            email: a.email.clone().or(a.user_email),
            subject: a.subject,
            connection_id: a.connection_id,
            asserted_email: a.email,
        }
    }
}

/// Attempts newest first (by id, descending).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SignInPage {
    pub items: Vec<SignInItem>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

fn blank_to_none(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_outcome(raw: Option<&str>) -> Result<Option<bool>, AdminError> {
    match raw {
        None => Ok(None),
        Some("success") => Ok(Some(true)),
        Some("failure") => Ok(Some(false)),
        Some(_) => Err(invalid("outcome", "must be `success` or `failure`")),
    }
}

fn parse_reason(raw: Option<&str>) -> Result<Option<String>, AdminError> {
    match raw {
        None => Ok(None),
        Some(r) if reason_codes().contains(&r) => Ok(Some(r.to_owned())),
        Some(r) => Err(invalid(
            "reason",
            format!(
                "`{}` is not a reason code",
                r.chars().take(64).collect::<String>()
            ),
        )),
    }
}

pub fn sign_ins(
    conn: &mut DbConnection,
    tenant: &Tenant,
    q: &SignInQuery,
) -> Result<SignInPage, AdminError> {
    let limit = check_limit(q.limit)?;
    let before = check_cursor("before", q.before)?;
    let connection = connection_filter(conn, tenant, &q.connection)?;
    let filter = login_attempts::Filter {
        success: parse_outcome(blank_to_none(&q.outcome))?,
        reason: parse_reason(blank_to_none(&q.reason))?,
        connection,
        user: q.user.map(UserId),
    };
    let mut rows = login_attempts::page(conn, tenant.id, &filter, before, limit + 1)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_before = more.then(|| rows.last().map(|a| a.id)).flatten();
    Ok(SignInPage {
        items: rows.into_iter().map(SignInItem::from).collect(),
        next_before,
    })
}

/// A connection the history can be filtered by; removed ones keep their history, so they stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionChoice {
    pub slug: String,
    pub removed: bool,
}

/// Every connection of the tenant, removed ones included, for the history's filter.
pub fn connection_choices(
    conn: &mut DbConnection,
    tenant: &Tenant,
) -> Result<Vec<ConnectionChoice>, AdminError> {
    Ok(connections::list_all(conn, tenant.id)?
        .into_iter()
        .map(|c| ConnectionChoice {
            slug: c.slug.to_string(),
            removed: c.removed_at.is_some(),
        })
        .collect())
}

/// A connection filter's slug as the tenant's connection id (removed connections included).
fn connection_filter(
    conn: &mut DbConnection,
    tenant: &Tenant,
    raw: &Option<String>,
) -> Result<Option<ConnectionId>, AdminError> {
    match blank_to_none(raw) {
        Some(raw) => {
            let slug = parse_slug("connection", raw)?;
            let c = connections::find(conn, tenant.id, &slug)?.ok_or_else(|| {
                AdminError::NotFound(format!("connection `{slug}` in tenant `{}`", tenant.slug))
            })?;
            Ok(Some(c.id))
        }
        None => Ok(None),
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RefusalCountQuery {
    /// A reason code (see [`reason_codes`]).
    pub reason: Option<String>,
    /// A connection slug of the tenant (removed connections included).
    pub connection: Option<String>,
    /// 1..=200.
    pub limit: i64,
    /// The last id of the previous page (`next_before`); `None` for the newest.
    pub before: Option<i64>,
}

/// Refusals that nothing tied to a sign-in (no valid signature, no pending request of the
/// browser), counted per connection, reason and hour instead of listed one by one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RefusalCountItem {
    pub id: i64,
    /// The connection's slug.
    pub connection: String,
    pub reason: String,
    /// The first second of the hour counted (Unix seconds, UTC).
    pub hour: i64,
    /// How many refusals of this reason the connection had in that hour.
    pub count: i64,
    /// When the latest of them arrived (Unix seconds).
    pub last_at: i64,
    /// The latest one's detail (at most 300 characters).
    pub detail: String,
}

impl From<refusal_counts::Counted> for RefusalCountItem {
    fn from(c: refusal_counts::Counted) -> Self {
        RefusalCountItem {
            id: c.id,
            connection: c.connection,
            reason: c.reason,
            hour: c.hour_start,
            count: c.refusals,
            last_at: c.last_at,
            detail: c.detail,
        }
    }
}

/// Counts newest first (by id: each is created in the hour it counts).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RefusalCountPage {
    pub items: Vec<RefusalCountItem>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

pub fn refusal_counts(
    conn: &mut DbConnection,
    tenant: &Tenant,
    q: &RefusalCountQuery,
) -> Result<RefusalCountPage, AdminError> {
    let limit = check_limit(q.limit)?;
    let before = check_cursor("before", q.before)?;
    let filter = refusal_counts::Filter {
        reason: parse_reason(blank_to_none(&q.reason))?,
        connection: connection_filter(conn, tenant, &q.connection)?,
    };
    let mut rows = refusal_counts::page(conn, tenant.id, &filter, before, limit + 1)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_before = more.then(|| rows.last().map(|c| c.id)).flatten();
    Ok(RefusalCountPage {
        items: rows.into_iter().map(RefusalCountItem::from).collect(),
        next_before,
    })
}

pub fn reason_codes() -> Vec<&'static str> {
    Reason::ALL.iter().map(|r| r.code()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked() {
        assert_eq!(parse_outcome(Some("failure")).unwrap(), Some(false));
        assert!(matches!(
            parse_outcome(Some("failed")),
            Err(AdminError::Invalid {
                field: "outcome",
                ..
            })
        ));
        assert_eq!(
            parse_reason(Some("user_deactivated")).unwrap().as_deref(),
            Some("user_deactivated")
        );
        assert!(matches!(
            parse_reason(Some("nope")),
            Err(AdminError::Invalid {
                field: "reason",
                ..
            })
        ));
        assert!(matches!(
            check_limit(0),
            Err(AdminError::Invalid { field: "limit", .. })
        ));
        assert!(matches!(
            check_limit(201),
            Err(AdminError::Invalid { field: "limit", .. })
        ));
        assert_eq!(check_limit(200).unwrap(), 200);
        assert!(check_cursor("after", Some(0)).is_err());
    }
}
