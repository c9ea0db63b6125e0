//! Save: the staged actions, checked first, then applied in order in one transaction, each
//! on the timeline (and the IWMS feed) and the audit trail. One refusal rolls all of them
//! back and names its action and row.
//!
//! Adding an action is a variant of [`ActionKind`], its fields on [`StagedAction`], a
//! [`Step`] and its arm in `run`. Roles ride along: `create` and `link` may set the user's
//! hand-set roles ("provision as employee and/or manager"), `roles` sets them alone.
use serde::{Deserialize, Serialize};

use super::key::RowKey;
use crate::domain::audit::{Actor as AuditActor, AuditAction};
use crate::domain::email::EmailAddress;
use crate::domain::ids::{ConnectionId, UserId};
use crate::domain::provisioning::NewUser;
use crate::domain::roles::RoleName;
use crate::domain::tenant::Tenant;
use crate::domain::user_event::UserEvent;
use crate::service::admin::audit::{self, Change};
use crate::service::admin::roles::{parse_roles, set_manual};
use crate::service::admin::users::lifecycle::{
    Tx, conflict, deactivate_in, in_transaction, insert_user_in, locked_user, parse_actor,
    unlink_in,
};
use crate::service::admin::{AdminError, connection_by_slug, invalid};
use crate::service::outbox;
use crate::storage::workbench::{self as store, Refused};
use crate::storage::{DbConnection, identities, users};

/// The most actions one Save applies.
pub const MAX_ACTIONS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// A refused person: a new user with the asserted email, linked to their identity.
    Create,
    /// Joins an identity to an existing user: a refused person's (to `user`), or the one
    /// named by `connection` and `subject` (to the row's user).
    Link,
    /// Removes the user's identity `identity`, or every one of them.
    Unlink,
    /// Deactivates the user and ends their sessions.
    Deactivate,
    /// Sets the user's hand-set roles to `roles` (provisions them as employee, manager, …).
    Roles,
}

impl ActionKind {
    pub const ALL: [ActionKind; 5] = [
        ActionKind::Create,
        ActionKind::Link,
        ActionKind::Unlink,
        ActionKind::Deactivate,
        ActionKind::Roles,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Link => "link",
            ActionKind::Unlink => "unlink",
            ActionKind::Deactivate => "deactivate",
            ActionKind::Roles => "roles",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

/// One staged action on one row.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StagedAction {
    /// The row's `key` (`attempt:<id>` or `user:<id>`).
    #[schema(example = "attempt:42")]
    pub row: String,
    #[schema(value_type = ActionKind)]
    pub action: Option<ActionKind>,
    /// `link` on a refused row: the user to link the identity to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<i64>,
    /// `link` on a user row: the identity's connection (slug) …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// … and its subject (SAML NameID, OIDC `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `unlink`: the identity's id (from the row's `identities`); absent: every identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<i64>,
    /// `link`: unlink what stands in the way (the identity's link to another user, the
    /// user's other identity on that connection), each on the trail. Without it, either is a
    /// conflict: this is how an `identity_conflict` or `iwms_id_conflict` is resolved.
    #[serde(default)]
    pub replace: bool,
    /// `create`, `link`, `roles`: the user's hand-set roles afterwards (they replace the
    /// current hand-set ones; roles from groups stay), e.g. `["employee", "manager"]`.
    /// Absent on `create` and `link`: the hand-set roles are left as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["employee", "manager"]))]
    pub roles: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// Applied in this order, all or none (at most 200).
    pub actions: Vec<StagedAction>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AppliedAction {
    pub row: String,
    pub action: ActionKind,
    /// The user the action changed (for `create`, the new user).
    pub user_id: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApplyResult {
    pub applied: Vec<AppliedAction>,
}

/// The identity a link joins: its connection and subject.
#[derive(Debug, Clone)]
struct Identity {
    connection: ConnectionId,
    slug: String,
    subject: String,
}

impl Identity {
    fn of(r: &Refused) -> Self {
        Identity {
            connection: ConnectionId(r.connection_id),
            slug: r.connection.clone(),
            subject: r.subject.clone(),
        }
    }
}

/// An action checked against its row.
#[derive(Debug)]
enum Step {
    Create {
        email: EmailAddress,
        identity: Identity,
    },
    Link {
        user: i64,
        identity: Identity,
        replace: bool,
    },
    Unlink {
        user: i64,
        identity: Option<i64>,
    },
    Deactivate {
        user: i64,
    },
    Roles {
        user: i64,
    },
}

/// A checked action: its step, and the hand-set roles it leaves the user with, if it sets
/// them.
#[derive(Debug)]
struct Checked {
    step: Step,
    roles: Option<Vec<RoleName>>,
}

/// Names the action in a refusal: `action 2 (attempt:42): …`.
fn about(i: usize, row: &str, e: AdminError) -> AdminError {
    let at = format!(
        "action {} ({})",
        i + 1,
        row.chars().take(40).collect::<String>()
    );
    match e {
        AdminError::Invalid { field, message } => AdminError::Invalid {
            field,
            message: format!("{at}: {message}"),
        },
        AdminError::NotFound(what) => invalid("actions", format!("{at}: {what} not found")),
        AdminError::Conflict(m) => AdminError::Conflict(format!("{at}: {m}")),
        other => other,
    }
}

fn refused_row(conn: &mut DbConnection, tenant: &Tenant, id: i64) -> Result<Refused, AdminError> {
    let r = store::refused(conn, tenant.id, id)?.ok_or_else(|| {
        invalid(
            "row",
            format!("attempt {id} is no refused sign-in of this tenant the workbench resolves"),
        )
    })?;
    if r.connection_removed {
        return Err(invalid(
            "row",
            format!("connection `{}` was removed", r.connection),
        ));
    }
    Ok(r)
}

fn check(
    conn: &mut DbConnection,
    tenant: &Tenant,
    a: &StagedAction,
) -> Result<Checked, AdminError> {
    let action = a
        .action
        .ok_or_else(|| invalid("action", "choose create, link, unlink, deactivate or roles"))?;
    let roles = match (&a.roles, action) {
        (Some(r), ActionKind::Create | ActionKind::Link | ActionKind::Roles) => {
            Some(parse_roles(r)?)
        }
        (Some(_), _) => {
            return Err(invalid(
                "roles",
                format!("is not used by {}", action.as_str()),
            ));
        }
        (None, ActionKind::Roles) => {
            return Err(invalid(
                "roles",
                "name the roles to set (an empty list removes the hand-set ones)",
            ));
        }
        (None, _) => None,
    };
    Ok(Checked {
        step: step(conn, tenant, a, action)?,
        roles,
    })
}

fn step(
    conn: &mut DbConnection,
    tenant: &Tenant,
    a: &StagedAction,
    action: ActionKind,
) -> Result<Step, AdminError> {
    let key = RowKey::parse(&a.row)
        .ok_or_else(|| invalid("row", "must be a row key: attempt:<id> or user:<id>"))?;
    let unused = |present: bool, field: &'static str| -> Result<(), AdminError> {
        if present {
            Err(invalid(
                field,
                format!("is not used by {}", action.as_str()),
            ))
        } else {
            Ok(())
        }
    };
    match (key, action) {
        (RowKey::Attempt(id), ActionKind::Create) => {
            let r = refused_row(conn, tenant, id)?;
            let email = r.email.as_deref().and_then(|e| EmailAddress::parse(e).ok());
            let email = email.ok_or_else(|| {
                invalid(
                    "action",
                    "the sign-in asserted no usable email; link it to an existing user instead",
                )
            })?;
            Ok(Step::Create {
                email,
                identity: Identity::of(&r),
            })
        }
        (RowKey::Attempt(id), ActionKind::Link) => {
            unused(a.connection.is_some() || a.subject.is_some(), "connection")?;
            let user = a
                .user
                .ok_or_else(|| invalid("user", "name the user to link this identity to"))?;
            let r = refused_row(conn, tenant, id)?;
            Ok(Step::Link {
                user,
                identity: Identity::of(&r),
                replace: a.replace,
            })
        }
        (RowKey::Attempt(_), _) => Err(invalid(
            "action",
            "a refused sign-in has no user yet: choose create or link",
        )),
        (RowKey::User(_), ActionKind::Create) => Err(invalid(
            "action",
            "the row is a user already: choose link, unlink, deactivate or roles",
        )),
        (RowKey::User(user), ActionKind::Link) => {
            unused(a.user.is_some(), "user")?;
            let (Some(slug), Some(subject)) = (a.connection.as_deref(), a.subject.as_deref())
            else {
                return Err(invalid(
                    "connection",
                    "name the identity to link: connection and subject",
                ));
            };
            let subject = subject.trim();
            if subject.is_empty()
                || subject.chars().count() > 512
                || subject.chars().any(char::is_control)
            {
                return Err(invalid("subject", "must be 1-512 printable characters"));
            }
            let c = connection_by_slug(conn, tenant, slug)?;
            Ok(Step::Link {
                user,
                identity: Identity {
                    connection: c.id,
                    slug: c.slug.to_string(),
                    subject: subject.to_owned(),
                },
                replace: a.replace,
            })
        }
        (RowKey::User(user), ActionKind::Unlink) => Ok(Step::Unlink {
            user,
            identity: a.identity,
        }),
        (RowKey::User(user), ActionKind::Deactivate) => Ok(Step::Deactivate { user }),
        (RowKey::User(user), ActionKind::Roles) => Ok(Step::Roles { user }),
    }
}

/// Applies `req`'s actions in one transaction: all, or none and a refusal that names the
/// action (`action <n> (<row>): …`).
pub fn apply(
    conn: &mut DbConnection,
    tenant: &Tenant,
    req: &ApplyRequest,
    who: &AuditActor,
    now: i64,
) -> Result<ApplyResult, AdminError> {
    let label = who.label();
    let actor = parse_actor(&label)?;
    if req.actions.is_empty() {
        return Err(invalid("actions", "select at least one row and its action"));
    }
    if req.actions.len() > MAX_ACTIONS {
        return Err(invalid(
            "actions",
            format!("at most {MAX_ACTIONS} actions at once"),
        ));
    }
    let mut steps = Vec::with_capacity(req.actions.len());
    for (i, a) in req.actions.iter().enumerate() {
        steps.push(check(conn, tenant, a).map_err(|e| about(i, &a.row, e))?);
    }
    in_transaction(conn, |c| {
        let mut applied = Vec::with_capacity(steps.len());
        for (i, (checked, a)) in steps.iter().zip(&req.actions).enumerate() {
            let user_id = run(c, tenant, checked, who, actor, now).map_err(|e| match e {
                Tx::Refused(e) => Tx::Refused(about(i, &a.row, e)),
                storage => storage,
            })?;
            applied.push(AppliedAction {
                row: a.row.clone(),
                action: a.action.unwrap_or(ActionKind::Link),
                user_id,
            });
        }
        Ok(ApplyResult { applied })
    })
}

fn run(
    c: &mut DbConnection,
    tenant: &Tenant,
    checked: &Checked,
    who: &AuditActor,
    actor: &str,
    now: i64,
) -> Result<i64, Tx> {
    let user = run_step(c, tenant, &checked.step, who, actor, now)?;
    if let Some(roles) = &checked.roles {
        let u = locked_user(c, tenant, user)?;
        set_manual(c, tenant, u.id, roles, who, now)?;
    }
    Ok(user)
}

fn run_step(
    c: &mut DbConnection,
    tenant: &Tenant,
    step: &Step,
    who: &AuditActor,
    actor: &str,
    now: i64,
) -> Result<i64, Tx> {
    match step {
        Step::Create { email, identity } => {
            if let Some(u) = users::find_by_email(c, tenant.id, email)? {
                return Err(conflict(format!(
                    "user {} already has the email {email}; link the identity to that user instead",
                    u.id
                )));
            }
            let new_user = NewUser {
                email: email.clone(),
                first_name: None,
                last_name: None,
                iwms_id: None,
            };
            let u = insert_user_in(c, tenant, &new_user, who, actor, now)?;
            link_in(c, tenant, u.id.0, identity, false, (who, actor), now)?;
            Ok(u.id.0)
        }
        Step::Link {
            user,
            identity,
            replace,
        } => {
            link_in(c, tenant, *user, identity, *replace, (who, actor), now)?;
            Ok(*user)
        }
        Step::Unlink { user, identity } => {
            let u = locked_user(c, tenant, *user)?;
            let links: Vec<_> = identities::links_of_user(c, tenant.id, u.id)?
                .into_iter()
                .filter(|l| identity.is_none_or(|id| l.id == id))
                .collect();
            if links.is_empty() {
                return Err(conflict(match identity {
                    Some(id) => format!("identity {id} is not linked to user {user}"),
                    None => format!("user {user} has no linked identity"),
                }));
            }
            for l in &links {
                unlink_in(c, tenant, &u, l, who, actor, now)?;
            }
            Ok(*user)
        }
        Step::Deactivate { user } => {
            deactivate_in(c, tenant, *user, who, actor, now)?;
            Ok(*user)
        }
        Step::Roles { user } => {
            let u = locked_user(c, tenant, *user)?;
            if u.status.as_str() != "active" || u.deprovisioned_at.is_some() {
                return Err(conflict(format!(
                    "user {user} is not active; roles are given to active users"
                )));
            }
            Ok(*user)
        }
    }
}

/// Unlinks the link `id` of user `owner`.
fn unlink_one(
    c: &mut DbConnection,
    tenant: &Tenant,
    owner: UserId,
    id: i64,
    who: &AuditActor,
    actor: &str,
    now: i64,
) -> Result<(), Tx> {
    let u = locked_user(c, tenant, owner.0)?;
    let link = identities::links_of_user(c, tenant.id, u.id)?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or_else(|| conflict(format!("identity {id} changed meanwhile; try again")))?;
    unlink_in(c, tenant, &u, &link, who, actor, now)
}

/// Links `identity` to user `user_id`; with `replace`, first unlinks the identity from
/// another user and the user's other identity on that connection. Every check runs before
/// the insert, so no statement fails inside the transaction.
fn link_in(
    c: &mut DbConnection,
    tenant: &Tenant,
    user_id: i64,
    identity: &Identity,
    replace: bool,
    (who, actor): (&AuditActor, &str),
    now: i64,
) -> Result<(), Tx> {
    let u = locked_user(c, tenant, user_id)?;
    if u.deprovisioned_at.is_some() {
        return Err(conflict(format!(
            "user {user_id} was deprovisioned by SCIM; the identity provider must provision them again"
        )));
    }
    let (conn_id, slug, subject) = (identity.connection, &identity.slug, &identity.subject);
    if let Some((id, owner)) = store::identity(c, tenant.id, conn_id.0, subject)? {
        if owner == u.id {
            return Err(conflict(format!(
                "the identity {slug} / {subject} is already linked to user {user_id}"
            )));
        }
        if !replace {
            return Err(conflict(format!(
                "the identity {slug} / {subject} is linked to user {owner}; choose replace to move it"
            )));
        }
        unlink_one(c, tenant, owner, id, who, actor, now)?;
    }
    if let Some((id, old)) = store::identity_of_user(c, tenant.id, conn_id.0, u.id)? {
        if !replace {
            return Err(conflict(format!(
                "user {user_id} is linked to another identity on {slug} ({old}); choose replace to unlink it"
            )));
        }
        unlink_one(c, tenant, u.id, id, who, actor, now)?;
    }
    identities::link(c, tenant.id, conn_id, subject, u.id, now)?;
    outbox::record(
        c,
        tenant,
        u.id,
        &UserEvent::IdentityLinked {
            connection: Some(slug.clone()),
            matched_by: Some("admin".into()),
        },
        now,
    )?;
    let change = Change {
        action: AuditAction::IdentityLinked,
        target: u.email.as_str(),
        before: None,
        after: Some(serde_json::json!({
            "user_id": u.id.0, "connection": slug, "subject": subject,
        })),
    };
    Ok(audit::record(c, Some(tenant.id), who, change, now)?)
}
