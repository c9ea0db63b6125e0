//! /Groups: a display name and member users. Membership changes go on each user's timeline.
use std::collections::HashSet;

use serde_json::Value;

use super::{Result, ScimContext, list_response};
use crate::domain::ids::UserId;
use crate::domain::scim::error::ScimError;
use crate::domain::scim::group::{GroupFields, render};
use crate::domain::scim::patch;
use crate::domain::scim::query::{ListQuery, Projection, project, wants};
use crate::domain::scim::schema::GROUP_RESOURCE;
use crate::domain::user_event::{Actor, UserEvent};
use crate::service::roles;
use crate::storage::{DbConnection, events, scim_filter, scim_groups, users::scim as scim_users};

fn not_found() -> ScimError {
    ScimError::not_found("no such group")
}

fn parse_id(raw: &str) -> std::result::Result<i64, ScimError> {
    super::parse_id(raw, "group")
}

pub fn rendered(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    id: i64,
    p: &Projection,
) -> Result<Value> {
    let g = scim_groups::get(conn, ctx.tenant.id, id)?.ok_or_else(not_found)?;
    let members = if wants(p, &GROUP_RESOURCE, "members") {
        Some(scim_groups::members(conn, ctx.tenant.id, id)?)
    } else {
        None
    };
    Ok(project(
        render(&g, members.as_deref(), &ctx.base),
        p,
        &GROUP_RESOURCE,
    ))
}

pub fn get(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    raw_id: &str,
    p: &Projection,
) -> Result<Value> {
    rendered(conn, ctx, parse_id(raw_id)?, p)
}

pub fn list(conn: &mut DbConnection, ctx: &ScimContext, q: &ListQuery) -> Result<Value> {
    let (total, page) = page(conn, ctx, q, q.offset(), q.count)?;
    Ok(list_response(total, q.start_index, page))
}

pub fn page(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    q: &ListQuery,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<Value>)> {
    let filter = match &q.filter {
        Some(f) => Some(scim_filter::groups(f, ctx.tenant.id)?),
        None => None,
    };
    let total = scim_groups::count(conn, ctx.tenant.id, filter.clone())?;
    if limit == 0 || offset >= total {
        return Ok((total, Vec::new()));
    }
    let with_members = wants(&q.projection, &GROUP_RESOURCE, "members");
    let groups = scim_groups::page(conn, ctx.tenant.id, filter, offset, limit)?;
    let mut members = if with_members {
        let ids: Vec<i64> = groups.iter().map(|g| g.id).collect();
        scim_groups::members_of(conn, ctx.tenant.id, &ids)?
    } else {
        Default::default()
    };
    let out = groups
        .iter()
        .map(|g| {
            let m = with_members.then(|| members.remove(&g.id).unwrap_or_default());
            project(
                render(g, m.as_deref(), &ctx.base),
                &q.projection,
                &GROUP_RESOURCE,
            )
        })
        .collect();
    Ok((total, out))
}

/// Brings the stored members to `wanted`, recording each change on the user's timeline;
/// then recomputes the roles of the users whose groups changed (every member when the group
/// was renamed: `renamed`).
fn sync_members(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    group: i64,
    name: &str,
    wanted: &[i64],
    renamed: bool,
) -> Result<()> {
    let t = ctx.tenant.id;
    let current: HashSet<i64> = scim_groups::member_ids(conn, t, group)?
        .into_iter()
        .collect();
    // Only new members need checking: current ones were checked when they were added.
    let added: Vec<i64> = wanted
        .iter()
        .copied()
        .filter(|u| !current.contains(u))
        .collect();
    if let Some(missing) = scim_users::first_missing(conn, t, &added)? {
        return Err(ScimError::invalid_value(format!(
            "member `{missing}` is not a user of this tenant"
        ))
        .into());
    }
    let wanted_set: HashSet<i64> = wanted.iter().copied().collect();
    let removed: Vec<i64> = current
        .iter()
        .copied()
        .filter(|u| !wanted_set.contains(u))
        .collect();
    for u in &added {
        scim_groups::add_member(conn, t, group, *u, ctx.now)?;
        events::record(
            conn,
            t,
            UserId(*u),
            &UserEvent::GroupAdded {
                by: Actor::Scim,
                group: Some(name.to_owned()),
            },
            ctx.now,
        )?;
    }
    for u in &removed {
        scim_groups::remove_member(conn, t, group, *u)?;
        events::record(
            conn,
            t,
            UserId(*u),
            &UserEvent::GroupRemoved {
                by: Actor::Scim,
                group: Some(name.to_owned()),
            },
            ctx.now,
        )?;
    }
    let mut changed: Vec<i64> = added.into_iter().chain(removed).collect();
    if renamed {
        changed.extend(wanted_set.iter().copied());
    }
    changed.sort_unstable();
    changed.dedup();
    for u in changed {
        roles::recompute(conn, &ctx.tenant, UserId(u), &Actor::Scim, ctx.now)?;
    }
    Ok(())
}

pub fn create(conn: &mut DbConnection, ctx: &ScimContext, body: &Value) -> Result<Value> {
    let f = GroupFields::from_body(body)?;
    f.check_refs(&ctx.base)?;
    let id = super::transaction(conn, |c| {
        let id = scim_groups::insert(c, ctx.tenant.id, &f, ctx.now)?;
        sync_members(c, ctx, id, &f.display_name, &f.members, false)?;
        Ok(id)
    })?;
    rendered(conn, ctx, id, &Projection::default())
}

fn write_existing(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    id: i64,
    derive: impl Fn(Value) -> std::result::Result<GroupFields, ScimError>,
) -> Result<()> {
    super::transaction(conn, |c| {
        scim_groups::lock(c, ctx.tenant.id, id)?;
        let current = rendered(c, ctx, id, &Projection::default())?;
        let old_name = current
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let f = derive(current)?;
        f.check_refs(&ctx.base)?;
        scim_groups::update(c, ctx.tenant.id, id, &f, ctx.now)?;
        let renamed = old_name.as_deref() != Some(f.display_name.as_str());
        sync_members(c, ctx, id, &f.display_name, &f.members, renamed)
    })
}

pub fn replace(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    raw_id: &str,
    body: &Value,
) -> Result<Value> {
    let id = parse_id(raw_id)?;
    let f = GroupFields::from_body(body)?;
    write_existing(conn, ctx, id, |_| Ok(f.clone()))?;
    rendered(conn, ctx, id, &Projection::default())
}

/// Applies a PATCH; the caller decides whether to answer 204 or with the group.
pub fn patch(
    conn: &mut DbConnection,
    ctx: &ScimContext,
    raw_id: &str,
    body: &Value,
) -> Result<i64> {
    let id = parse_id(raw_id)?;
    let ops = patch::parse_request(body)?;
    write_existing(conn, ctx, id, |current| {
        let Value::Object(mut doc) = current else {
            return Err(ScimError::invalid_value("stored group is not an object"));
        };
        patch::apply(&mut doc, &ops, &GROUP_RESOURCE)?;
        GroupFields::from_body(&Value::Object(doc))
    })?;
    Ok(id)
}

/// Groups belong to the IdP: DELETE removes the group and its memberships (each recorded
/// on the member's timeline); users are untouched.
pub fn delete(conn: &mut DbConnection, ctx: &ScimContext, raw_id: &str) -> Result<()> {
    let id = parse_id(raw_id)?;
    super::transaction(conn, |c| {
        scim_groups::lock(c, ctx.tenant.id, id)?;
        let g = scim_groups::get(c, ctx.tenant.id, id)?.ok_or_else(not_found)?;
        sync_members(c, ctx, id, &g.display_name, &[], false)?;
        scim_groups::delete(c, ctx.tenant.id, id)?;
        Ok(())
    })
}
