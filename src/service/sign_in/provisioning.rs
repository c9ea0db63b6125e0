//! Just-in-time provisioning: who this person is among the tenant's users, and, for a real
//! sign-in, the writes that decision makes (user, identity link, events, session), all in
//! the caller's transaction.

use crate::config::Secret;
use crate::domain::claims::MappedClaims;
use crate::domain::connection::Connection;
use crate::domain::ids::UserId;
use crate::domain::provisioning::{self, Candidate, Candidates, Decision};
use crate::domain::reason::Reason;
use crate::domain::tenant::{Tenant, TenantPolicy};
use crate::domain::user::CreatedVia;
use crate::domain::user_event::{Actor, UserEvent};
use crate::service::session;
use crate::service::{outbox, roles};
use crate::storage::admin as admin_store;
use crate::storage::{
    DbConnection, StorageError, domains, events, identities, users, users::scim as scim_users,
};

use super::core::Refusal;

fn candidate(
    conn: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    user: Option<crate::domain::user::User>,
) -> Result<Option<Candidate>, StorageError> {
    user.map(|u| {
        let linked_subject = identities::subject_for_user(conn, tenant.id, connection.id, u.id)?;
        Ok(Candidate {
            user: u,
            linked_subject,
        })
    })
    .transpose()
}

/// What a successful sign-in's session is made of.
pub(crate) struct SessionIssue<'a> {
    pub secret: &'a Secret,
    pub now: i64,
    pub expires_at: i64,
    /// The console hand-off of a sign-in started at /admin/login.
    pub console_handoff: Option<&'a str>,
}

pub(crate) type Provisioned = Result<(UserId, String, String), Refusal>;

/// What the tenant's rules decide for this sign-in, from the users that could be this person.
/// Reads only: `provision` applies the decision, a test sign-in only describes it.
pub(crate) fn decide(
    c: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    subject: &str,
    claims: &MappedClaims,
) -> Result<Decision, StorageError> {
    let policy = TenantPolicy {
        auto_create_users: tenant.auto_create_users,
        whitelisted_domains: domains::list_for_tenant(c, tenant.id)?,
        iwms_attribute_configured: tenant.iwms_attribute.is_some()
            || connection.attr_iwms_id.is_some(),
    };
    let by_link = match identities::user_for_subject(c, tenant.id, connection.id, subject)? {
        Some(id) => Some(Candidate {
            user: users::get(c, tenant.id, id)?,
            linked_subject: Some(subject.to_owned()),
        }),
        None => None,
    };
    let by_iwms = match &claims.iwms_id {
        Some(iwms) => {
            let u = users::find_by_iwms_id(c, tenant.id, iwms)?;
            candidate(c, tenant, connection, u)?
        }
        None => None,
    };
    let by_scim = match scim_users::for_subject(c, tenant.id, subject)? {
        Some(id) => {
            let u = users::get(c, tenant.id, id)?;
            candidate(c, tenant, connection, Some(u))?
        }
        None => None,
    };
    let by_email = match &claims.email {
        Some(e) => {
            let u = users::find_by_email(c, tenant.id, e)?;
            candidate(c, tenant, connection, u)?
        }
        None => None,
    };
    // Only a grant no one has claimed yet names a person by the address asserted now; a
    // claimed grant belongs to its user, whatever address they have since.
    let email_granted_admin = match &claims.email {
        Some(e) if !tenant.auto_create_users => {
            admin_store::has_unclaimed_grant(c, tenant.id, e.as_str())?
        }
        _ => false,
    };
    let cands = Candidates {
        by_link,
        by_iwms,
        by_scim,
        by_email,
        email_granted_admin,
    };
    Ok(provisioning::decide(&policy, subject, claims, &cands))
}

pub(crate) fn provision(
    c: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    subject: &str,
    claims: &MappedClaims,
    session: &SessionIssue<'_>,
) -> Result<Provisioned, StorageError> {
    let (session_secret, now, session_expires_at) =
        (session.secret, session.now, session.expires_at);
    let (user_id, detail) = match decide(c, tenant, connection, subject, claims)? {
        Decision::Reject {
            reason,
            user_id,
            detail,
        } => {
            return Ok(Err(Refusal {
                user: user_id,
                ..Refusal::new(reason, detail)
            }));
        }
        Decision::Create(new_user) => {
            let u = users::insert(c, tenant.id, &new_user, CreatedVia::Sso, now)?;
            // Groups, roles and directory attributes first: `user.created` carries them.
            let role_events = roles::for_new_user(c, tenant, u.id, claims, now)?;
            outbox::record(
                c,
                tenant,
                u.id,
                &UserEvent::Created {
                    by: Actor::Sso,
                    connection: Some(connection.slug.to_string()),
                    user_name: None,
                    email: Some(u.email.to_string()),
                    first_name: u.first_name.clone(),
                    last_name: u.last_name.clone(),
                    iwms_id: u.iwms_id.clone(),
                    active: None,
                },
                now,
            )?;
            for e in &role_events {
                events::record(c, tenant.id, u.id, e, now)?;
            }
            // `users::insert` recorded this first sign-in on the row.
            identities::link(c, tenant.id, connection.id, subject, u.id, now)?;
            (u.id, "created by just-in-time provisioning".to_owned())
        }
        Decision::SignIn {
            user_id,
            matched_by,
            create_link,
            changes,
            // The row, not the earlier read behind the decision, says whether a flag is
            // cleared: the stale job may have flagged the user since.
            clear_stale: _,
        } => {
            // Write the user row first: on PostgreSQL that locks it, so this sign-in's events
            // queue behind (never beside) an admin's or SCIM's change to the same user, and
            // the stale flag is already cleared when `user.unflagged` copies the user.
            let Some(clear_stale) = users::record_sign_in(c, tenant.id, user_id, now)? else {
                return Ok(Err(Refusal {
                    user: Some(user_id),
                    ..Refusal::new(
                        Reason::UserDeactivated,
                        format!("user {user_id} was deactivated while signing in"),
                    )
                }));
            };
            if create_link {
                identities::link(c, tenant.id, connection.id, subject, user_id, now)?;
                outbox::record(
                    c,
                    tenant,
                    user_id,
                    &UserEvent::IdentityLinked {
                        connection: Some(connection.slug.to_string()),
                        matched_by: Some(matched_by.as_str().to_owned()),
                    },
                    now,
                )?;
            } else {
                identities::touch(c, tenant.id, connection.id, subject, now)?;
            }
            roles::after_sign_in(c, tenant, user_id, claims, now)?;
            if !changes.is_empty() {
                let u = users::get(c, tenant.id, user_id)?;
                let pick = |f, cur: &Option<String>| {
                    changes
                        .iter()
                        .find(|ch| ch.field == f)
                        .map_or(cur.clone(), |ch| ch.new.clone())
                };
                use provisioning::Field;
                users::update_attributes(
                    c,
                    tenant.id,
                    user_id,
                    &users::AttributeUpdate {
                        first_name: &pick(Field::FirstName, &u.first_name),
                        last_name: &pick(Field::LastName, &u.last_name),
                        iwms_id: &pick(Field::IwmsId, &u.iwms_id),
                    },
                    now,
                )?;
                outbox::record(
                    c,
                    tenant,
                    user_id,
                    &UserEvent::AttributesUpdated {
                        by: Actor::Sso,
                        changes: changes.iter().map(provisioning::Change::recorded).collect(),
                        sessions_ended: None,
                    },
                    now,
                )?;
            }
            if clear_stale {
                outbox::record(
                    c,
                    tenant,
                    user_id,
                    &UserEvent::StaleCleared { by: Actor::Sso },
                    now,
                )?;
            }
            (
                user_id,
                format!(
                    "matched by {}; {} attribute(s) changed",
                    matched_by.as_str(),
                    changes.len()
                ),
            )
        }
    };
    let token = session::open(
        c,
        session_secret,
        tenant.id,
        user_id,
        now,
        session_expires_at,
        session::SignInFacts {
            idp_admin: claims.admin_role,
            console_handoff: session.console_handoff,
            // An address the IdP did not vouch for claims no admin grant.
            asserted_email: claims
                .email
                .as_ref()
                .filter(|_| !claims.email_unverified)
                .map(|e| e.as_str()),
        },
    )?;
    Ok(Ok((user_id, token, detail)))
}
