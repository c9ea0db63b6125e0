//! A workbench row: a refused person or a user, as every surface shows it.
use std::collections::HashMap;

use serde::Serialize;

use super::WorkbenchView;
use super::apply::ActionKind;
use super::key::RowKey;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::service::admin::AdminError;
use crate::service::admin::roles::user_roles;
use crate::service::admin::users::{LastSignIn, UserView};
use crate::storage::identities::{self, IdentityLink};
use crate::storage::workbench::Refused;
use crate::storage::{DbConnection, login_attempts, workbench as store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// A person whose sign-in was refused (no user is linked to their identity).
    Refused,
    /// A user SCIM pushed who never signed in.
    Scim,
    /// A user with a linked identity (Existing), or one the directory removed (Deleted).
    User,
}

// One row of a workbench view (no doc comment: it would become the OpenAPI description).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkbenchRow {
    /// Names the row in actions: `attempt:<id>` or `user:<id>`.
    #[schema(example = "attempt:42")]
    pub key: String,
    pub kind: RowKind,
    /// The asserted email (refused) or the user's.
    pub email: Option<String>,
    /// Refused: the connection and subject of the identity that was refused.
    pub connection: Option<String>,
    pub subject: Option<String>,
    /// Refused: the reason code of the newest refusal (`not_set_up`,
    /// `email_domain_not_allowed`, `identity_conflict`, `iwms_id_conflict`).
    pub reason: Option<String>,
    /// Refused: what the sign-in record says of it.
    pub detail: Option<String>,
    /// Refused: how many times this person's sign-in was refused for these reasons.
    pub attempts: Option<i64>,
    /// Refused: the newest try, Unix seconds.
    pub last_try: Option<i64>,
    /// The newest refused attempt's id (its sign-in record).
    pub attempt_id: Option<i64>,
    /// A conflict: the user the identity matched and conflicts with.
    pub conflicts_with: Option<i64>,
    /// Users: the user.
    pub user: Option<UserView>,
    /// Users: their linked identities.
    pub identities: Vec<IdentityLink>,
    /// Users: their newest sign-in attempt, successful or not.
    pub last_sign_in: Option<LastSignIn>,
    /// Users: every role, sorted (what `X-Auth-Request-Roles` carries).
    pub roles: Vec<String>,
    /// Users: the roles set by hand (the `roles` action replaces these).
    pub manual_roles: Vec<String>,
    /// The actions this row accepts.
    pub actions: Vec<ActionKind>,
}

impl WorkbenchRow {
    fn empty(key: RowKey, kind: RowKind) -> Self {
        WorkbenchRow {
            key: key.to_string(),
            kind,
            email: None,
            connection: None,
            subject: None,
            reason: None,
            detail: None,
            attempts: None,
            last_try: None,
            attempt_id: None,
            conflicts_with: None,
            user: None,
            identities: Vec::new(),
            last_sign_in: None,
            roles: Vec::new(),
            manual_roles: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// Refused: `connection / subject`.
    pub fn identity_label(&self) -> String {
        match (&self.connection, &self.subject) {
            (Some(c), Some(s)) => format!("{c} / {s}"),
            _ => String::new(),
        }
    }
}

fn is_conflict(reason: &str) -> bool {
    matches!(reason, "identity_conflict" | "iwms_id_conflict")
}

pub(super) fn refused_rows(
    conn: &mut DbConnection,
    tenant: &Tenant,
    refused: Vec<Refused>,
) -> Result<Vec<WorkbenchRow>, AdminError> {
    let people: Vec<(i64, String)> = refused
        .iter()
        .map(|r| (r.connection_id, r.subject.clone()))
        .collect();
    let totals: HashMap<(i64, String), i64> = store::refusal_totals(conn, tenant.id, &people)?
        .into_iter()
        .map(|(c, s, n)| ((c, s), n))
        .collect();
    Ok(refused
        .into_iter()
        .map(|r| {
            let attempts = totals
                .get(&(r.connection_id, r.subject.clone()))
                .copied()
                .unwrap_or(1);
            WorkbenchRow {
                email: r.email,
                connection: Some(r.connection),
                conflicts_with: r.user_id.filter(|_| is_conflict(&r.reason)),
                subject: Some(r.subject),
                reason: Some(r.reason),
                detail: Some(r.detail),
                attempts: Some(attempts),
                last_try: Some(r.created_at),
                attempt_id: Some(r.id),
                actions: vec![ActionKind::Create, ActionKind::Link],
                ..WorkbenchRow::empty(RowKey::Attempt(r.id), RowKind::Refused)
            }
        })
        .collect())
}

pub(super) fn user_rows(
    conn: &mut DbConnection,
    tenant: &Tenant,
    view: WorkbenchView,
    users: Vec<User>,
) -> Result<Vec<WorkbenchRow>, AdminError> {
    let ids: Vec<i64> = users.iter().map(|u| u.id.0).collect();
    let mut latest: HashMap<i64, LastSignIn> =
        login_attempts::latest_for_users(conn, tenant.id, &ids)?
            .into_iter()
            .filter_map(|l| Some((l.user_id?, LastSignIn::from(l))))
            .collect();
    let (kind, actions) = match view {
        WorkbenchView::New => (
            RowKind::Scim,
            vec![ActionKind::Link, ActionKind::Roles, ActionKind::Deactivate],
        ),
        WorkbenchView::Existing => (
            RowKind::User,
            vec![
                ActionKind::Link,
                ActionKind::Roles,
                ActionKind::Unlink,
                ActionKind::Deactivate,
            ],
        ),
        WorkbenchView::Deleted => (RowKind::User, vec![ActionKind::Unlink]),
    };
    let mut rows = Vec::with_capacity(users.len());
    for u in &users {
        let roles = user_roles(conn, tenant, u.id.0)?;
        rows.push(WorkbenchRow {
            roles: roles.roles,
            manual_roles: roles.manual,
            email: Some(u.email.to_string()),
            user: Some(UserView::from(u)),
            identities: identities::links_of_user(conn, tenant.id, u.id)?,
            last_sign_in: latest.remove(&u.id.0),
            actions: actions.clone(),
            ..WorkbenchRow::empty(RowKey::User(u.id.0), kind)
        });
    }
    Ok(rows)
}
