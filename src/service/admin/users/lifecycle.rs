//! Lifecycle actions: each one transaction, recorded on the timeline (and in the IWMS outbox).
use serde::Deserialize;

use super::{AdminError, UserListItem, get_user, invalid, list_item};
use crate::domain::audit::{Actor as AuditActor, AuditAction};
use crate::domain::email::EmailAddress;
use crate::domain::ids::UserId;
use crate::domain::provisioning::NewUser;
use crate::domain::tenant::Tenant;
use crate::domain::user::{CreatedVia, User, UserStatus};
use crate::domain::user_event::{Actor, UserEvent};
use crate::service::admin::audit::{self, Change};
use crate::service::outbox;
use crate::storage::{self, DbConnection, StorageError, TxError, domains, identities, users};

/// A transaction's failure: the database's (maybe worth a retry) or the action's refusal.
pub(crate) enum Tx {
    Storage(StorageError),
    Refused(AdminError),
}

impl From<StorageError> for Tx {
    fn from(e: StorageError) -> Self {
        Tx::Storage(e)
    }
}

impl TxError for Tx {
    fn is_retryable(&self) -> bool {
        matches!(self, Tx::Storage(e) if e.is_retryable())
    }
}

impl From<Tx> for AdminError {
    fn from(e: Tx) -> Self {
        match e {
            Tx::Storage(e) => AdminError::from(e),
            Tx::Refused(e) => e,
        }
    }
}

pub(crate) fn in_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnMut(&mut DbConnection) -> Result<T, Tx>,
) -> Result<T, AdminError> {
    storage::transaction_with(conn, f).map_err(AdminError::from)
}

/// The user, locked until the transaction ends.
pub(crate) fn locked_user(c: &mut DbConnection, tenant: &Tenant, id: i64) -> Result<User, Tx> {
    users::lock(c, tenant.id, UserId(id))?;
    get_user(c, tenant, id).map_err(|e| match e {
        AdminError::Storage(s) => Tx::Storage(s),
        refused => Tx::Refused(refused),
    })
}

pub(crate) fn parse_actor(actor: &str) -> Result<&str, AdminError> {
    let a = actor.trim();
    if a.is_empty() || a.chars().count() > 256 || a.chars().any(char::is_control) {
        return Err(invalid("actor", "must be 1-256 printable characters"));
    }
    Ok(a)
}

/// The user as the audit trail shows them before and after an admin's change.
fn user_snapshot(u: &User) -> serde_json::Value {
    serde_json::json!({
        "id": u.id.0,
        "email": u.email.as_str(),
        "first_name": u.first_name,
        "last_name": u.last_name,
        "iwms_id": u.iwms_id,
        "status": u.status.as_str(),
        "deprovisioned": u.deprovisioned_at.is_some(),
    })
}

pub(crate) fn audit_user(
    c: &mut DbConnection,
    tenant: &Tenant,
    who: &AuditActor,
    action: AuditAction,
    before: Option<&User>,
    after: Option<UserId>,
    now: i64,
) -> Result<(), Tx> {
    let after = match after {
        Some(id) => Some(users::get(c, tenant.id, id)?),
        None => None,
    };
    let target = after
        .as_ref()
        .or(before)
        .map(|u| u.email.to_string())
        .unwrap_or_default();
    let change = Change {
        action,
        target: &target,
        before: before.map(user_snapshot),
        after: after.as_ref().map(user_snapshot),
    };
    Ok(audit::record(c, Some(tenant.id), who, change, now)?)
}

pub(crate) fn conflict(message: String) -> Tx {
    Tx::Refused(AdminError::Conflict(message))
}

/// Deactivates the user and ends their sessions at once. `Conflict` when already
/// deactivated (deprovisioned users are). The timeline gets `deactivated` with
/// `{"via": "admin", "by": actor, "sessions_ended": n}`.
pub fn deactivate_user(
    conn: &mut DbConnection,
    tenant: &Tenant,
    id: i64,
    who: &AuditActor,
    now: i64,
) -> Result<UserListItem, AdminError> {
    let label = who.label();
    let actor = parse_actor(&label)?;
    in_transaction(conn, |c| deactivate_in(c, tenant, id, who, actor, now))?;
    list_item(conn, tenant, id)
}

/// [`deactivate_user`]'s change, in the caller's transaction.
pub(crate) fn deactivate_in(
    c: &mut DbConnection,
    tenant: &Tenant,
    id: i64,
    who: &AuditActor,
    actor: &str,
    now: i64,
) -> Result<(), Tx> {
    let u = locked_user(c, tenant, id)?;
    if u.status == UserStatus::Deactivated {
        return Err(conflict(format!("user {id} is already deactivated")));
    }
    if !users::change_status(c, tenant.id, u.id, u.status, UserStatus::Deactivated, now)? {
        return Err(conflict(format!("user {id} changed meanwhile; try again")));
    }
    let ended = crate::service::session::end_all(c, tenant.id, u.id)?;
    outbox::record(
        c,
        tenant,
        u.id,
        &UserEvent::Deactivated {
            by: Actor::admin(actor),
            sessions_ended: Some(ended as u64),
        },
        now,
    )?;
    audit_user(
        c,
        tenant,
        who,
        AuditAction::UserDeactivated,
        Some(&u),
        Some(u.id),
        now,
    )
}

/// A user an admin adds by hand, before their first sign-in.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserInput {
    /// Their work email, in a domain whitelisted for the tenant: their first sign-in is
    /// linked to this user by it.
    #[schema(example = "ada@acme.test")]
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// The IWMS ID, when the person already has one.
    #[serde(default)]
    pub iwms_id: Option<String>,
}

/// 1-256 printable characters, trimmed; blank is absent. Longer or control characters are
/// refused rather than cut (a cut IWMS ID would name someone else).
fn optional_text(field: &'static str, v: &Option<String>) -> Result<Option<String>, AdminError> {
    let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > 256 || v.chars().any(char::is_control) {
        return Err(invalid(field, "must be at most 256 printable characters"));
    }
    Ok(Some(v.to_owned()))
}

/// Adds a user by hand (created by admin). The email's domain must be whitelisted, so the
/// person's first sign-in links to this user; the email and IWMS ID must be free. The IWMS
/// hears `user.created` (and is asked for an account when the tenant says so), as for any
/// other new user.
pub fn create_user(
    conn: &mut DbConnection,
    tenant: &Tenant,
    input: &NewUserInput,
    who: &AuditActor,
    now: i64,
) -> Result<UserListItem, AdminError> {
    let label = who.label();
    let actor = parse_actor(&label)?;
    let email = EmailAddress::parse(&input.email).map_err(|e| invalid("email", e))?;
    let new_user = NewUser {
        first_name: optional_text("first_name", &input.first_name)?,
        last_name: optional_text("last_name", &input.last_name)?,
        iwms_id: optional_text("iwms_id", &input.iwms_id)?,
        email,
    };
    if !domains::list_for_tenant(conn, tenant.id)?.contains(&new_user.email.domain()) {
        return Err(invalid(
            "email",
            format!(
                "{} is not a whitelisted domain of the tenant; add it first, or the person's \
                 sign-in could not be linked to this user",
                new_user.email.domain()
            ),
        ));
    }
    let id = in_transaction(conn, |c| {
        if let Some(u) = users::find_by_email(c, tenant.id, &new_user.email)? {
            let next = if u.deprovisioned_at.is_some() {
                "; SCIM deprovisioned them, so the identity provider must provision them again"
            } else if u.status == UserStatus::Deactivated {
                "; reactivate that user instead"
            } else {
                ""
            };
            return Err(conflict(format!(
                "user {} ({}) already has the email {}{next}",
                u.id,
                u.status.as_str(),
                new_user.email
            )));
        }
        if let Some(iwms) = &new_user.iwms_id
            && let Some(u) = users::find_by_iwms_id(c, tenant.id, iwms)?
        {
            return Err(conflict(format!("user {} already has this IWMS ID", u.id)));
        }
        let u = insert_user_in(c, tenant, &new_user, who, actor, now)?;
        Ok(u.id.0)
    })?;
    list_item(conn, tenant, id)
}

/// Inserts a user created by an admin, tells the IWMS and records it on the trail, in the
/// caller's transaction (which has checked that the email and IWMS ID are free).
pub(crate) fn insert_user_in(
    c: &mut DbConnection,
    tenant: &Tenant,
    new_user: &NewUser,
    who: &AuditActor,
    actor: &str,
    now: i64,
) -> Result<User, Tx> {
    let u = users::insert(c, tenant.id, new_user, CreatedVia::Admin, now)?;
    outbox::record(
        c,
        tenant,
        u.id,
        &UserEvent::Created {
            by: Actor::admin(actor),
            connection: None,
            user_name: None,
            email: Some(u.email.to_string()),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            iwms_id: u.iwms_id.clone(),
            active: None,
        },
        now,
    )?;
    audit_user(
        c,
        tenant,
        who,
        AuditAction::UserCreated,
        None,
        Some(u.id),
        now,
    )?;
    Ok(u)
}

/// Makes a deactivated user active again. `Conflict` when already active, and when SCIM
/// deprovisioned the user: the IdP is the source of truth and must provision them again. (A
/// user SCIM deactivated with `active: false` can be reactivated here; the IdP may deactivate
/// them again on its next push.)
pub fn reactivate_user(
    conn: &mut DbConnection,
    tenant: &Tenant,
    id: i64,
    who: &AuditActor,
    now: i64,
) -> Result<UserListItem, AdminError> {
    let label = who.label();
    let actor = parse_actor(&label)?;
    in_transaction(conn, |c| {
        let u = locked_user(c, tenant, id)?;
        if u.deprovisioned_at.is_some() {
            return Err(conflict(format!(
                "user {id} was deprovisioned by SCIM; the identity provider is the source of \
                 truth, so it must provision the user again"
            )));
        }
        if u.status == UserStatus::Active {
            return Err(conflict(format!("user {id} is already active")));
        }
        if !users::change_status(c, tenant.id, u.id, u.status, UserStatus::Active, now)? {
            return Err(conflict(format!("user {id} changed meanwhile; try again")));
        }
        outbox::record(
            c,
            tenant,
            u.id,
            &UserEvent::Reactivated {
                by: Actor::admin(actor),
            },
            now,
        )?;
        audit_user(
            c,
            tenant,
            who,
            AuditAction::UserReactivated,
            Some(&u),
            Some(u.id),
            now,
        )
    })?;
    list_item(conn, tenant, id)
}

/// Removes the link between the user and one IdP identity (connection, subject); the user
/// and their history stay. The next sign-in with that identity is matched again by the
/// provisioning rules (IWMS ID, SCIM userName/externalId, email), or refused or creates a
/// user as the tenant allows. `NotFound` unless the identity is this user's in this tenant.
/// The timeline gets `identity_unlinked` with the connection's slug and the subject.
pub fn unlink_identity(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user_id: i64,
    identity_id: i64,
    who: &AuditActor,
    now: i64,
) -> Result<(), AdminError> {
    let label = who.label();
    let actor = parse_actor(&label)?;
    in_transaction(conn, |c| {
        let u = locked_user(c, tenant, user_id)?;
        let link = identities::links_of_user(c, tenant.id, u.id)?
            .into_iter()
            .find(|l| l.id == identity_id)
            .ok_or_else(|| {
                Tx::Refused(AdminError::NotFound(format!(
                    "identity {identity_id} of user {user_id} in tenant `{}`",
                    tenant.slug
                )))
            })?;
        unlink_in(c, tenant, &u, &link, who, actor, now)
    })
}

/// Removes one of the user's links, on the timeline and the trail, in the caller's
/// transaction.
pub(crate) fn unlink_in(
    c: &mut DbConnection,
    tenant: &Tenant,
    u: &User,
    link: &identities::IdentityLink,
    who: &AuditActor,
    actor: &str,
    now: i64,
) -> Result<(), Tx> {
    identities::unlink(c, tenant.id, u.id, link.id)?;
    outbox::record(
        c,
        tenant,
        u.id,
        &UserEvent::IdentityUnlinked {
            by: Actor::admin(actor),
            identity_id: Some(link.id),
            connection: Some(link.connection.clone()),
            subject: Some(link.subject.clone()),
        },
        now,
    )?;
    let change = Change {
        action: AuditAction::IdentityUnlinked,
        target: u.email.as_str(),
        before: Some(serde_json::json!({
            "user_id": u.id.0, "identity_id": link.id,
            "connection": link.connection, "subject": link.subject,
        })),
        after: None,
    };
    Ok(audit::record(c, Some(tenant.id), who, change, now)?)
}
