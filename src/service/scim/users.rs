//! /Users: create (or take over the matching existing user), read, list, replace, patch,
//! deprovision. There is no deletion: DELETE hides the user from SCIM and deactivates it.
use serde_json::Value;

use super::{Result, ScimContext, diff, list_response};
use crate::domain::email::EmailAddress;
use crate::domain::ids::UserId;
use crate::domain::scim::error::ScimError;
use crate::domain::scim::patch;
use crate::domain::scim::query::{ListQuery, Projection, project};
use crate::domain::scim::schema::USER_RESOURCE;
use crate::domain::scim::user::{
    DomainHolder, UserFields, check_own_address, render, user_name_key,
};
use crate::domain::user::UserStatus;
use crate::domain::user_event::{Actor, AttributeChange, UserEvent};
use crate::service::outbox;
use crate::storage::scim_filter::Narrowing;
use crate::storage::users::scim::{self as scim_users, Tracked};
use crate::storage::{DbConnection, domains, events, scim_filter, scim_groups, users};

fn not_found() -> ScimError {
    ScimError::not_found("no such user")
}

fn parse_id(raw: &str) -> std::result::Result<i64, ScimError> {
    super::parse_id(raw, "user")
}

pub fn rendered(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    id: i64,
    p: &Projection,
) -> Result<Value> {
    let u = scim_users::get(conn, ctx.tenant.id, id)?.ok_or_else(not_found)?;
    let groups = scim_users::groups_of(conn, ctx.tenant.id, &[id])?
        .remove(&id)
        .unwrap_or_default();
    Ok(project(
        render(&u, &groups, &ctx.base, ctx.iwms()),
        p,
        &USER_RESOURCE,
    ))
}

pub fn get(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    raw_id: &str,
    p: &Projection,
) -> Result<Value> {
    let id = parse_id(raw_id)?;
    rendered(conn, ctx, id, p)
}

pub fn list(conn: &mut DbConnection, ctx: &ScimContext, q: &ListQuery) -> Result<Value> {
    let (total, page) = page(conn, ctx, q, q.offset(), q.count)?;
    Ok(list_response(total, q.start_index, page))
}

/// The total and one page of projected users; shared with the root `/.search`.
pub fn page(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    q: &ListQuery,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<Value>)> {
    let filter = match &q.filter {
        Some(f) => Some(scim_filter::users(f, ctx.tenant.id, ctx.iwms())?),
        None => None,
    };
    let bound = ctx.max_scanned;
    let too_many = |what: &str| {
        ScimError::too_many(format!(
            "the filter {what}; narrow it with an eq condition on id, userName, externalId, emails.value, name.givenName, name.familyName, displayName or groups, or a co, sw or ew condition on one of these (except id and groups) with three letters or digits in a row"
        ))
    };
    let narrowing = q.filter.as_ref().map_or(Narrowing::Index, |f| {
        scim_filter::users_narrowing(f, ctx.iwms())
    });
    let total = match narrowing {
        Narrowing::Index => scim_users::count(conn, ctx.tenant.id, filter.clone())?,
        // The trigram index may pick many candidates (`ew "@example.com"`): each of its
        // conditions is counted through the index, no further than the bound, before the
        // whole filter is.
        Narrowing::Trigram => {
            let most = match &q.filter {
                Some(f) => scim_filter::users_trigram_matches(
                    conn,
                    f,
                    ctx.tenant.id,
                    ctx.iwms(),
                    bound + 1,
                )?,
                None => 0,
            };
            if most > bound {
                return Err(too_many(&format!(
                    "may match more than {bound} users (its co, sw or ew conditions do)"
                ))
                .into());
            }
            scim_users::count(conn, ctx.tenant.id, filter.clone())?
        }
        // No index narrows such a filter: it is refused before any scan unless the tenant
        // is small enough to be read row by row (an index-only probe of at most bound + 1
        // entries decides).
        Narrowing::Scan => {
            if scim_users::count_up_to(conn, ctx.tenant.id, None, bound + 1)? > bound {
                return Err(too_many(&format!(
                    "cannot be answered from an index and the tenant has more than {bound} users"
                ))
                .into());
            }
            scim_users::count(conn, ctx.tenant.id, filter.clone())?
        }
    };
    if limit == 0 || offset >= total {
        return Ok((total, Vec::new()));
    }
    let users = scim_users::page(conn, ctx.tenant.id, filter, offset, limit)?;
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let mut groups = scim_users::groups_of(conn, ctx.tenant.id, &ids)?;
    let out = users
        .iter()
        .map(|u| {
            let g = groups.remove(&u.id).unwrap_or_default();
            project(
                render(u, &g, &ctx.base, ctx.iwms()),
                &q.projection,
                &USER_RESOURCE,
            )
        })
        .collect();
    Ok((total, out))
}

/// The existing user a POST describes: the userName (a deprovisioned user comes back), then
/// a user a sign-in or an admin created whose userName (its email) this is (SCIM already lists
/// it under that userName, so the POST is the same resource; any tenant configuration), then
/// the email under just-in-time provisioning's rule (its domain whitelisted for the tenant).
/// Never an SSO identity's subject: that would let a SCIM client rename any account.
fn takeover_target(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    f: &UserFields,
) -> Result<Option<(UserId, &'static str)>> {
    let t = ctx.tenant.id;
    if let Some(h) = scim_users::by_user_name(conn, t, &f.user_name)? {
        if h.scim_managed && !h.deprovisioned {
            return Err(ScimError::uniqueness(format!(
                "userName `{}` is already taken",
                f.user_name
            ))
            .into());
        }
        return Ok(Some((h.id, "user_name")));
    }
    if let Some(id) = scim_users::unmanaged_by_user_name(conn, t, &f.user_name)? {
        return Ok(Some((id, "user_name_email")));
    }
    if let Some(h) = scim_users::by_email(conn, t, f.email.as_str())? {
        if h.scim_managed && !h.deprovisioned {
            return Err(ScimError::uniqueness(format!(
                "email `{}` belongs to another user",
                f.email
            ))
            .into());
        }
        // A user SCIM itself created and deprovisioned comes back; others need the rule.
        if h.scim_managed {
            return Ok(Some((h.id, "email")));
        }
        if !domains::list_for_tenant(conn, t)?.contains(&f.email.domain()) {
            return Err(ScimError::uniqueness(format!(
                "a user with email `{}` exists, but {} is not a whitelisted domain of the tenant, so it is not linked",
                f.email,
                f.email.domain()
            ))
            .into());
        }
        return Ok(Some((h.id, "email")));
    }
    Ok(None)
}

/// The addresses the body gives as the person's own (userName when it is one, the sign-in
/// email) that are new for this user (all of them for a new user): none may be in another
/// tenant's domain, and when the tenant has whitelisted domains each must be in one of them.
/// Unchanged addresses are not judged again, so a user stored before a domain rule changed
/// can still be updated.
fn check_own_addresses(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    old: Option<&Tracked>,
    f: &UserFields,
) -> Result<()> {
    let own: Vec<_> = f
        .own_addresses()
        .into_iter()
        .filter(|(_, a)| match old {
            None => true,
            Some(o) => {
                let was_user_name = o
                    .scim_user_name
                    .as_deref()
                    .is_some_and(|u| user_name_key(u) == a.as_str());
                o.email != a.as_str() && !was_user_name
            }
        })
        .collect();
    if own.is_empty() {
        return Ok(());
    }
    let tenant_has_domains = !domains::list_for_tenant(conn, ctx.tenant.id)?.is_empty();
    for (what, address) in own {
        let holder = match domains::tenant_for_domain(conn, &address.domain())? {
            Some(t) if t == ctx.tenant.id => DomainHolder::ThisTenant,
            Some(_) => DomainHolder::OtherTenant,
            None => DomainHolder::Nobody,
        };
        check_own_address(what, &address, holder, tenant_has_domains)?;
    }
    Ok(())
}

/// Unique values held by a user other than `me`: 409 before the database would refuse.
fn check_unique(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    me: Option<UserId>,
    f: &UserFields,
) -> Result<()> {
    let t = ctx.tenant.id;
    let other = |h: Option<UserId>| h.is_some_and(|h| Some(h) != me);
    if other(scim_users::by_user_name(conn, t, &f.user_name)?.map(|h| h.id))
        || other(scim_users::unmanaged_by_user_name(conn, t, &f.user_name)?)
    {
        return Err(
            ScimError::uniqueness(format!("userName `{}` is already taken", f.user_name)).into(),
        );
    }
    if other(scim_users::by_email(conn, t, f.email.as_str())?.map(|h| h.id)) {
        return Err(
            ScimError::uniqueness(format!("email `{}` belongs to another user", f.email)).into(),
        );
    }
    if let Some(iwms) = &f.iwms_id
        && other(users::find_by_iwms_id(conn, t, iwms)?.map(|u| u.id))
    {
        return Err(
            ScimError::uniqueness(format!("IWMS ID `{iwms}` belongs to another user")).into(),
        );
    }
    Ok(())
}

fn changes(old: &Tracked, f: &UserFields, iwms_mapped: bool) -> Vec<AttributeChange> {
    let mut fields = vec![
        ("email", Some(old.email.as_str()), Some(f.email.as_str())),
        (
            "user_name",
            old.scim_user_name.as_deref(),
            Some(f.user_name.as_str()),
        ),
        (
            "external_id",
            old.external_id.as_deref(),
            f.external_id.as_deref(),
        ),
        (
            "first_name",
            old.first_name.as_deref(),
            f.first_name.as_deref(),
        ),
        (
            "last_name",
            old.last_name.as_deref(),
            f.last_name.as_deref(),
        ),
        (
            "display_name",
            old.display_name.as_deref(),
            f.display_name.as_deref(),
        ),
        (
            "nick_name",
            old.nick_name.as_deref(),
            f.nick_name.as_deref(),
        ),
        ("title", old.title.as_deref(), f.title.as_deref()),
        (
            "department",
            old.department.as_deref(),
            f.department.as_deref(),
        ),
        (
            "employee_number",
            old.employee_number.as_deref(),
            f.employee_number.as_deref(),
        ),
        (
            "manager",
            old.manager_id.as_deref(),
            f.manager_id.as_deref(),
        ),
    ];
    if iwms_mapped {
        fields.insert(5, ("iwms_id", old.iwms_id.as_deref(), f.iwms_id.as_deref()));
    }
    let mut c = Vec::new();
    for (field, old, new) in fields {
        diff(&mut c, field, old, new);
    }
    c
}

/// Deactivation ends the user's sessions; both directions go on the timeline.
fn apply_active(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    id: UserId,
    was_active: bool,
    active: Option<bool>,
) -> Result<()> {
    let t = ctx.tenant.id;
    match active {
        Some(false) if was_active => {
            scim_users::set_status(conn, t, id, UserStatus::Deactivated, ctx.now)?;
            let ended = crate::service::session::end_all(conn, t, id)?;
            outbox::record(
                conn,
                &ctx.tenant,
                id,
                &UserEvent::Deactivated {
                    by: Actor::Scim,
                    sessions_ended: Some(ended as u64),
                },
                ctx.now,
            )?;
        }
        Some(true) if !was_active => {
            scim_users::set_status(conn, t, id, UserStatus::Active, ctx.now)?;
            outbox::record(
                conn,
                &ctx.tenant,
                id,
                &UserEvent::Reactivated { by: Actor::Scim },
                ctx.now,
            )?;
        }
        _ => {}
    }
    Ok(())
}

/// Writes `f` onto an existing user and records what changed. A new email ends the user's
/// sessions: forward-auth headers and console rights must not carry an address to a session
/// opened under another.
fn store(conn: &mut DbConnection, ctx: &ScimContext, id: UserId, f: &UserFields) -> Result<()> {
    let t = ctx.tenant.id;
    let old = scim_users::tracked(conn, t, id)?;
    let iwms_mapped = ctx.iwms().is_some();
    check_own_addresses(conn, ctx, Some(&old), f)?;
    check_unique(conn, ctx, Some(id), f)?;
    scim_users::write(conn, t, id, f, ctx.now)?;
    scim_users::set_ignored(conn, t, id, &f.ignored)?;
    if iwms_mapped {
        scim_users::set_iwms_id(conn, t, id, f.iwms_id.as_deref())?;
    }
    let c = changes(&old, f, iwms_mapped);
    if !c.is_empty() {
        let sessions_ended = if old.email != f.email.as_str() {
            Some(crate::service::session::end_all(conn, t, id)? as u64)
        } else {
            None
        };
        outbox::record(
            conn,
            &ctx.tenant,
            id,
            &UserEvent::AttributesUpdated {
                by: Actor::Scim,
                changes: c,
                sessions_ended,
            },
            ctx.now,
        )?;
    }
    let was_active = old.status == UserStatus::Active.as_str();
    // A deprovisioned user taken back by SCIM is active unless the body says otherwise.
    let active = f
        .active
        .or((old.deprovisioned_at.is_some()).then_some(true));
    apply_active(conn, ctx, id, was_active, active)
}

pub fn create(conn: &mut DbConnection, ctx: &ScimContext, body: &Value) -> Result<Value> {
    let f = UserFields::from_body(body, ctx.iwms())?;
    let t = ctx.tenant.id;
    let id = super::transaction(conn, |c| match takeover_target(c, ctx, &f)? {
        Some((id, matched_by)) => {
            scim_users::lock(c, t, id.0)?;
            events::record(
                c,
                t,
                id,
                &UserEvent::ScimLinked {
                    matched_by: Some(matched_by.to_owned()),
                },
                ctx.now,
            )?;
            store(c, ctx, id, &f)?;
            Ok(id)
        }
        None => {
            check_own_addresses(c, ctx, None, &f)?;
            check_unique(c, ctx, None, &f)?;
            let id = scim_users::insert(c, t, &f, ctx.now)?;
            scim_users::set_ignored(c, t, id, &f.ignored)?;
            if ctx.iwms().is_some() {
                scim_users::set_iwms_id(c, t, id, f.iwms_id.as_deref())?;
            }
            outbox::record(
                c,
                &ctx.tenant,
                id,
                &UserEvent::Created {
                    by: Actor::Scim,
                    connection: None,
                    user_name: Some(f.user_name.clone()),
                    email: Some(f.email.to_string()),
                    first_name: f.first_name.clone(),
                    last_name: f.last_name.clone(),
                    iwms_id: f.iwms_id.clone(),
                    active: Some(f.active != Some(false)),
                },
                ctx.now,
            )?;
            Ok(id)
        }
    })?;
    rendered(conn, ctx, id.0, &Projection::default())
}

pub fn replace(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    raw_id: &str,
    body: &Value,
) -> Result<Value> {
    let id = parse_id(raw_id)?;
    let iwms = ctx.iwms();
    write_existing(conn, ctx, id, |_, email, _| {
        UserFields::from_body_replacing(body, iwms, email)
    })
}

pub fn patch(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    raw_id: &str,
    body: &Value,
) -> Result<Value> {
    let id = parse_id(raw_id)?;
    let ops = patch::parse_request(body)?;
    let iwms = ctx.iwms();
    write_existing(conn, ctx, id, |current, email, before| {
        let Value::Object(mut doc) = current else {
            return Err(ScimError::invalid_value("stored user is not an object"));
        };
        let skipped = patch::apply_ignoring_unknown(&mut doc, &ops, &USER_RESOURCE)?;
        let mut f = UserFields::from_body_replacing(&Value::Object(doc), iwms, email)?;
        // A PATCH changes part of the user: what earlier writes sent stays listed.
        f.ignored = merge_ignored(before, skipped);
        Ok(f)
    })
}

/// The attributes outside the schema listed before and those a PATCH skipped, capped.
fn merge_ignored(before: Vec<String>, skipped: Vec<String>) -> Vec<String> {
    let mut out = before;
    for s in skipped {
        if out.len() < crate::domain::scim::normalize::MAX_UNKNOWN && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Loads the user as SCIM shows it (its sign-in email, the attributes ignored so far),
/// derives the new fields from it, stores them: one transaction, so concurrent PATCHes cannot
/// lose each other's changes. A user SCIM never wrote is taken under SCIM by the write.
fn write_existing(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    id: i64,
    derive: impl Fn(
        Value,
        Option<&EmailAddress>,
        Vec<String>,
    ) -> std::result::Result<UserFields, ScimError>,
) -> Result<Value> {
    let t = ctx.tenant.id;
    super::transaction(conn, |c| {
        scim_users::lock(c, t, id)?;
        let current = rendered(c, ctx, id, &Projection::default())?;
        let old = scim_users::tracked(c, t, UserId(id))?;
        let email = EmailAddress::parse(&old.email).ok();
        let f = derive(
            current,
            email.as_ref(),
            scim_users::ignored(c, t, UserId(id))?,
        )?;
        if old.scim_user_name.is_none() {
            events::record(
                c,
                t,
                UserId(id),
                &UserEvent::ScimLinked {
                    matched_by: Some("id".to_owned()),
                },
                ctx.now,
            )?;
        }
        store(c, ctx, UserId(id), &f)
    })?;
    rendered(conn, ctx, id, &Projection::default())
}

pub fn deprovision(conn: &mut DbConnection, ctx: &ScimContext, raw_id: &str) -> Result<()> {
    let id = parse_id(raw_id)?;
    let t = ctx.tenant.id;
    super::transaction(conn, |c| {
        scim_users::lock(c, t, id)?;
        let u = scim_users::get(c, t, id)?.ok_or_else(not_found)?;
        let uid = UserId(u.id);
        for (gid, name) in scim_groups::groups_of_user(c, t, u.id)? {
            scim_groups::remove_member(c, t, gid, u.id)?;
            events::record(
                c,
                t,
                uid,
                &UserEvent::GroupRemoved {
                    by: Actor::Scim,
                    group: Some(name),
                },
                ctx.now,
            )?;
        }
        crate::service::roles::recompute(c, &ctx.tenant, uid, &Actor::Scim, ctx.now)?;
        scim_users::deprovision(c, t, uid, ctx.now)?;
        let ended = crate::service::session::end_all(c, t, uid)?;
        let event = UserEvent::Deprovisioned {
            by: Actor::Scim,
            sessions_ended: Some(ended as u64),
        };
        if u.active {
            outbox::record(c, &ctx.tenant, uid, &event, ctx.now)?;
        } else {
            // Already deactivated: the IWMS heard user.deactivated then, not a second time.
            events::record(c, t, uid, &event, ctx.now)?;
        }
        Ok(())
    })
}
