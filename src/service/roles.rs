//! A user's groups and roles, kept in step with their sources: recomputed at every sign-in
//! (the IdP's groups), every SCIM group change, every rule change and every hand-set change,
//! in the caller's transaction. A role whose source group is gone is removed; a role set by
//! hand stays. Each change is a `role_added` / `role_removed` event on the timeline, and a
//! change of the user's roles is an IWMS `user.updated` event (field `roles`).
use std::collections::BTreeSet;

use serde_json::json;

use crate::domain::claims::MappedClaims;
use crate::domain::ids::UserId;
use crate::domain::iwms::EventKind;
use crate::domain::roles::{
    self, RoleName, RoleRule, RoleSource, bound_groups, derived_roles, effective_groups,
    effective_roles, group_key,
};
use crate::domain::tenant::Tenant;
use crate::domain::user_event::{Actor, AttributeChange, UserEvent};
use crate::service::outbox;
use crate::storage::roles::{self as store, Computed, Directory};
use crate::storage::{DbConnection, StorageError, events, users};

fn rules(conn: &mut DbConnection, tenant: &Tenant) -> Result<Vec<RoleRule>, StorageError> {
    Ok(store::rules(conn, tenant.id)?
        .into_iter()
        .map(|r| r.rule)
        .collect())
}

/// Where the events of a change go: recorded now (timeline, and the IWMS for a change of
/// roles or attributes), or collected for a user being created, whose creation event (which
/// the IWMS hears, with every attribute) must come first.
enum Sink {
    Record,
    Collect(Vec<UserEvent>),
}

impl Sink {
    fn event(
        &mut self,
        conn: &mut DbConnection,
        tenant: &Tenant,
        user: UserId,
        e: UserEvent,
        now: i64,
    ) -> Result<(), StorageError> {
        match self {
            Sink::Record => outbox::record(conn, tenant, user, &e, now),
            Sink::Collect(v) => {
                v.push(e);
                Ok(())
            }
        }
    }
}

/// What a sign-in says beyond names: stores the IdP's groups (bounded, see
/// [`roles::bound_groups`]) and the directory attributes it sent (an absent one keeps the
/// stored value; a user under SCIM keeps SCIM's), then recomputes the roles.
pub fn after_sign_in(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user: UserId,
    claims: &MappedClaims,
    now: i64,
) -> Result<(), StorageError> {
    from_sign_in(conn, tenant, user, claims, &mut Sink::Record, now)
}

/// [`after_sign_in`] for a user this sign-in creates, before the creation is recorded (so the
/// IWMS's `user.created` carries groups, roles and attributes): returns the role events to
/// record after the creation; no `user.updated` is sent.
pub fn for_new_user(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user: UserId,
    claims: &MappedClaims,
    now: i64,
) -> Result<Vec<UserEvent>, StorageError> {
    let mut sink = Sink::Collect(Vec::new());
    from_sign_in(conn, tenant, user, claims, &mut sink, now)?;
    Ok(match sink {
        Sink::Collect(v) => v
            .into_iter()
            .filter(|e| !matches!(e, UserEvent::AttributesUpdated { .. }))
            .collect(),
        Sink::Record => Vec::new(),
    })
}

fn from_sign_in(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user: UserId,
    claims: &MappedClaims,
    sink: &mut Sink,
    now: i64,
) -> Result<(), StorageError> {
    let rules = rules(conn, tenant)?;
    let ruled: BTreeSet<String> = rules.iter().map(|r| group_key(&r.group)).collect();
    let groups = bound_groups(claims.groups.iter().map(String::as_str), &ruled);
    // The sign-in has already written (so, on PostgreSQL, locked) the user row: what is read
    // here stays true until the transaction ends.
    let state = store::sign_in_state(conn, tenant.id, user)?;
    if state.idp_groups != groups {
        store::set_idp_groups(conn, tenant.id, user, &groups)?;
    }
    let known = Known {
        idp: groups,
        computed: state.computed,
    };
    // A user under SCIM gets the directory attributes from SCIM only: the sign-in's would
    // disagree with the SCIM resource the directory reads back.
    if !state.scim_managed {
        directory_from_sign_in(conn, tenant, user, claims, state.directory, sink, now)?;
    }
    recompute_with(
        conn,
        tenant,
        user,
        &rules,
        &Actor::Sso,
        sink,
        Some(known),
        now,
    )
}

/// The directory attributes a sign-in sent (an absent one keeps the stored value), written
/// with their event when they change.
fn directory_from_sign_in(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user: UserId,
    claims: &MappedClaims,
    old: Directory,
    sink: &mut Sink,
    now: i64,
) -> Result<(), StorageError> {
    let new = Directory {
        department: claims.department.clone().or(old.department.clone()),
        title: claims.title.clone().or(old.title.clone()),
        employee_number: claims
            .employee_number
            .clone()
            .or(old.employee_number.clone()),
        manager: claims.manager.clone().or(old.manager.clone()),
    };
    if new != old {
        let changes: Vec<AttributeChange> = [
            ("department", &old.department, &new.department),
            ("title", &old.title, &new.title),
            (
                "employee_number",
                &old.employee_number,
                &new.employee_number,
            ),
            ("manager", &old.manager, &new.manager),
        ]
        .into_iter()
        .filter(|(_, o, n)| o != n)
        .map(|(f, o, n)| AttributeChange::new(f, o.as_deref(), n.as_deref()))
        .collect();
        store::set_directory(conn, tenant.id, user, &new, now)?;
        let e = UserEvent::AttributesUpdated {
            by: Actor::Sso,
            changes,
            sessions_ended: None,
        };
        sink.event(conn, tenant, user, e, now)?;
    }
    Ok(())
}

/// What the caller already read of the user: its IdP groups and its computed groups and roles.
struct Known {
    idp: Vec<String>,
    computed: Computed,
}

/// Recomputes the group-derived roles of one user from the stored groups.
pub fn recompute(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user: UserId,
    by: &Actor,
    now: i64,
) -> Result<(), StorageError> {
    let rules = rules(conn, tenant)?;
    recompute_with(conn, tenant, user, &rules, by, &mut Sink::Record, None, now)
}

/// [`recompute`] for every user with a group (after a rule change).
pub fn recompute_tenant(
    conn: &mut DbConnection,
    tenant: &Tenant,
    by: &Actor,
    now: i64,
) -> Result<(), StorageError> {
    let rules = rules(conn, tenant)?;
    for user in store::users_with_groups(conn, tenant.id)? {
        recompute_with(conn, tenant, user, &rules, by, &mut Sink::Record, None, now)?;
    }
    Ok(())
}

fn role_event(by: &Actor, (role, source): &(String, RoleSource), added: bool) -> UserEvent {
    let (role, source) = (Some(role.clone()), Some(source.as_str().to_owned()));
    let by = by.clone();
    if added {
        UserEvent::RoleAdded { by, role, source }
    } else {
        UserEvent::RoleRemoved { by, role, source }
    }
}

/// Role events are timeline-only (the IWMS hears the change of roles as `user.updated`).
fn record_change(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user: UserId,
    by: &Actor,
    row: &(String, RoleSource),
    added: bool,
    now: i64,
) -> Result<(), StorageError> {
    events::record(conn, tenant.id, user, &role_event(by, row, added), now)
}

#[allow(clippy::too_many_arguments)]
fn recompute_with(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user: UserId,
    rules: &[RoleRule],
    by: &Actor,
    sink: &mut Sink,
    known: Option<Known>,
    now: i64,
) -> Result<(), StorageError> {
    // One recomputation of a user at a time (a sign-in, SCIM and a rule change may meet).
    users::lock(conn, tenant.id, user)?;
    let (idp, old) = match known {
        Some(k) => (k.idp, Some(k.computed)),
        None => (store::idp_groups(conn, tenant.id, user)?, None),
    };
    let scim = store::scim_groups_of(conn, tenant.id, user)?;
    let wanted = derived_roles(rules, &idp, &scim);
    let mut rows = store::rows(conn, tenant.id, user)?;
    let current: BTreeSet<_> = rows
        .iter()
        .filter(|(_, s)| *s != RoleSource::Manual)
        .cloned()
        .collect();
    let d = roles::diff(&current, &wanted);
    for (changed, added) in [(&d.removed, false), (&d.added, true)] {
        for row in changed {
            if added {
                store::add_row(conn, tenant.id, user, &row.0, row.1, now)?;
                rows.insert(row.clone());
            } else {
                store::remove_row(conn, tenant.id, user, &row.0, row.1)?;
                rows.remove(row);
            }
            match sink {
                Sink::Record => record_change(conn, tenant, user, by, row, added, now)?,
                Sink::Collect(v) => v.push(role_event(by, row, added)),
            }
        }
    }
    let notify = matches!(sink, Sink::Record);
    refresh(conn, tenant, user, &idp, &scim, &rows, old, notify, now)
}

/// Stores the groups and roles the app sees (from the user's role rows as they are now, and
/// the stored computed ones when the caller has read them); a change of roles goes to the
/// IWMS when `notify` (not for a user being created: their creation carries the roles).
#[allow(clippy::too_many_arguments)]
fn refresh(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user: UserId,
    idp: &[String],
    scim: &[String],
    rows: &BTreeSet<(String, RoleSource)>,
    old: Option<Computed>,
    notify: bool,
    now: i64,
) -> Result<(), StorageError> {
    let new = Computed {
        groups: effective_groups(idp, scim),
        roles: effective_roles(rows),
    };
    let old = match old {
        Some(c) => c,
        None => store::computed(conn, tenant.id, user)?,
    };
    if old == new {
        return Ok(());
    }
    store::set_computed(conn, tenant.id, user, &new)?;
    if notify && old.roles != new.roles {
        let changes = json!([{
            "field": "roles",
            "old": old.roles.join(","),
            "new": new.roles.join(","),
        }]);
        outbox::enqueue(conn, tenant, user, EventKind::Updated, Some(&changes), now)?;
    }
    Ok(())
}

/// Replaces the roles set by hand on a user, in the caller's transaction; the roles from
/// groups are untouched. Returns the (added, removed) hand-set roles.
pub fn set_manual(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user: UserId,
    wanted: &[RoleName],
    by: &Actor,
    now: i64,
) -> Result<(Vec<String>, Vec<String>), StorageError> {
    users::lock(conn, tenant.id, user)?;
    let current: BTreeSet<_> = store::rows(conn, tenant.id, user)?
        .into_iter()
        .filter(|(_, s)| *s == RoleSource::Manual)
        .collect();
    let wanted: BTreeSet<_> = wanted
        .iter()
        .map(|r| (r.as_str().to_owned(), RoleSource::Manual))
        .collect();
    let d = roles::diff(&current, &wanted);
    for row in &d.removed {
        store::remove_row(conn, tenant.id, user, &row.0, row.1)?;
        record_change(conn, tenant, user, by, row, false, now)?;
    }
    for row in &d.added {
        store::add_row(conn, tenant.id, user, &row.0, row.1, now)?;
        record_change(conn, tenant, user, by, row, true, now)?;
    }
    let idp = store::idp_groups(conn, tenant.id, user)?;
    let scim = store::scim_groups_of(conn, tenant.id, user)?;
    let rows = store::rows(conn, tenant.id, user)?;
    refresh(conn, tenant, user, &idp, &scim, &rows, None, true, now)?;
    let names = |v: Vec<(String, RoleSource)>| v.into_iter().map(|(r, _)| r).collect();
    Ok((names(d.added), names(d.removed)))
}

/// A user's roles with their sources, for admins.
pub fn of_user(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user: UserId,
) -> Result<Vec<(String, RoleSource)>, StorageError> {
    Ok(store::rows(conn, tenant.id, user)?.into_iter().collect())
}
