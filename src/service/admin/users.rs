//! Users, their timelines and sign-in history, for the admin console and API.
//!
//! Callers have resolved and authorised the tenant; every query carries its id, so an id of
//! another tenant's user or identity is `NotFound`. There is no deletion of users anywhere:
//! deactivation, reactivation and unlinking an identity are the only changes made here.
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{AdminError, UserView, invalid, parse_slug};
use crate::domain::email::EmailAddress;
use crate::domain::ids::{ConnectionId, UserId};
use crate::domain::provisioning::NewUser;
use crate::domain::reason::Reason;
use crate::domain::tenant::Tenant;
use crate::domain::user::{CreatedVia, User, UserStatus};
use crate::service::outbox;
use crate::storage::identities::IdentityLink;
use crate::storage::login_attempts::{self, Listed};
use crate::storage::refusal_counts;
use crate::storage::users::{Search, View};
use crate::storage::{
    self, DbConnection, StorageError, TxError, connections, domains, events, identities,
    scim_groups, scim_users, users,
};

/// The largest page of users or sign-ins.
pub const MAX_LIMIT: i64 = 200;
/// How many sign-in attempts a user's timeline shows (the newest; the sign-in history, filtered
/// by user, pages through all of them).
pub const TIMELINE_SIGN_INS: usize = 100;
/// How many lifecycle events it shows (the newest, and always the first: the creation).
/// Events are written on changes only, so this is years of a busy account.
pub const TIMELINE_EVENTS: usize = 2000;

fn check_limit(limit: i64) -> Result<i64, AdminError> {
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ))
    }
}

fn check_cursor(field: &'static str, cursor: Option<i64>) -> Result<Option<i64>, AdminError> {
    match cursor {
        Some(c) if c < 1 => Err(invalid(field, "must be an id from the previous page")),
        other => Ok(other),
    }
}

fn user_not_found(tenant: &Tenant, id: i64) -> AdminError {
    AdminError::NotFound(format!("user {id} in tenant `{}`", tenant.slug))
}

fn get_user(conn: &mut DbConnection, tenant: &Tenant, id: i64) -> Result<User, AdminError> {
    match users::get(conn, tenant.id, UserId(id)) {
        Err(StorageError::NotFound) => Err(user_not_found(tenant, id)),
        other => Ok(other?),
    }
}

// ---------------------------------------------------------------------------------------------
// The list.

/// The console's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserViewKind {
    /// Status active, not flagged stale, not deprovisioned.
    Active,
    /// Flagged stale (no sign-in for the tenant's `stale_after_days`), not deprovisioned.
    Stale,
    /// Status deactivated (by SCIM or an admin), not deprovisioned.
    Deactivated,
    /// Deprovisioned by SCIM DELETE.
    Deprovisioned,
    All,
}

impl UserViewKind {
    fn storage(self) -> View {
        match self {
            UserViewKind::Active => View::Active,
            UserViewKind::Stale => View::Stale,
            UserViewKind::Deactivated => View::Deactivated,
            UserViewKind::Deprovisioned => View::Deprovisioned,
            UserViewKind::All => View::All,
        }
    }
}

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
    let mut rows = users::page(
        conn,
        tenant.id,
        q.view.storage(),
        search.as_ref(),
        after,
        limit + 1,
    )?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_after = more.then(|| rows.last().map(|u| u.id.0)).flatten();
    Ok(UserPage {
        users: with_last_sign_in(conn, tenant, rows)?,
        next_after,
    })
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

// ---------------------------------------------------------------------------------------------
// The detail.

/// Every stored attribute of a user, SCIM's included.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserRecord {
    #[serde(flatten)]
    pub user: UserView,
    pub updated_at: i64,
    /// SCIM `userName`; `None` for a user SCIM never managed.
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub nick_name: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub employee_number: Option<String>,
    /// The manager's id as SCIM sent it (enterprise `manager.value`).
    pub manager: Option<String>,
    /// The whole SCIM resource as last provisioned (phone numbers, addresses, every email,
    /// extension attributes, …); absent for a user SCIM never wrote.
    #[schema(value_type = Option<Object>)]
    pub scim_document: Option<Value>,
}

/// One entry of a user's timeline: a lifecycle event or a sign-in attempt.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub at: i64,
    /// The event kind (`created`, `attributes_updated`, `deactivated`, …), or
    /// `sign_in_succeeded` / `sign_in_failed` for an attempt.
    pub kind: String,
    /// For people: e.g. "first name: Ann → Anne", "sign-in failed: user_deactivated (okta)".
    pub summary: String,
    /// The stored detail; for attempts `attempt_id`, `outcome`, `reason`, `connection`,
    /// `detail`, `subject`, `email`.
    pub detail: Value,
}

/// A user's page in the console. The timeline merges the user's lifecycle events and
/// sign-in attempts in one chronological order (oldest first; at equal times, a sign-in's own
/// events come before the attempt they belong to). It holds the newest [`TIMELINE_SIGN_INS`]
/// (100) sign-in attempts and the newest [`TIMELINE_EVENTS`] (2,000) lifecycle events plus the
/// first one (the creation); `timeline_truncated` says older ones were left out (the sign-in
/// history, filtered by user, has every attempt).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserDetailView {
    pub user: UserRecord,
    pub last_sign_in: Option<LastSignIn>,
    pub identities: Vec<IdentityLink>,
    /// SCIM groups the user belongs to.
    pub groups: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
    pub timeline_truncated: bool,
}

pub fn user_detail(
    conn: &mut DbConnection,
    tenant: &Tenant,
    id: i64,
) -> Result<UserDetailView, AdminError> {
    let u = get_user(conn, tenant, id)?;
    let s = scim_users::tracked(conn, tenant.id, u.id)?;
    let evs = events::newest_for_user(conn, tenant.id, u.id, TIMELINE_EVENTS as i64 + 1)?;
    let first = if evs.len() > TIMELINE_EVENTS {
        events::oldest_for_user(conn, tenant.id, u.id)?
    } else {
        Vec::new()
    };
    let attempts = login_attempts::page(
        conn,
        tenant.id,
        &login_attempts::Filter {
            user: Some(u.id),
            ..Default::default()
        },
        None,
        TIMELINE_SIGN_INS as i64 + 1,
    )?;
    let last_sign_in = attempts.first().map(|a| LastSignIn {
        attempt_id: a.id,
        outcome: a.outcome.clone(),
        reason: a.reason.clone(),
        at: a.created_at,
    });
    let (timeline, timeline_truncated) =
        timeline((evs, TIMELINE_EVENTS), first, (attempts, TIMELINE_SIGN_INS));
    Ok(UserDetailView {
        identities: identities::links_of_user(conn, tenant.id, u.id)?,
        groups: scim_groups::groups_of_user(conn, tenant.id, u.id.0)?
            .into_iter()
            .map(|(_, name)| name)
            .collect(),
        user: UserRecord {
            user: UserView::from(&u),
            updated_at: u.updated_at,
            user_name: s.scim_user_name,
            external_id: s.external_id,
            display_name: s.display_name,
            nick_name: s.nick_name,
            title: s.title,
            department: s.department,
            employee_number: s.employee_number,
            manager: s.manager_id,
            scim_document: scim_users::document(conn, tenant.id, u.id)?.map(Value::Object),
        },
        last_sign_in,
        timeline,
        timeline_truncated,
    })
}

fn event_entry(e: events::UserEvent) -> TimelineEntry {
    TimelineEntry {
        at: e.created_at,
        summary: event_summary(&e.kind, &e.detail),
        kind: e.kind,
        detail: e.detail,
    }
}

fn attempt_entry(a: Listed) -> TimelineEntry {
    let success = a.outcome == "success";
    TimelineEntry {
        at: a.created_at,
        kind: if success {
            "sign_in_succeeded"
        } else {
            "sign_in_failed"
        }
        .to_owned(),
        summary: sign_in_summary(success, &a.reason, a.connection.as_deref()),
        detail: json!({
            "attempt_id": a.id, "outcome": a.outcome, "reason": a.reason,
            "connection": a.connection, "detail": a.detail, "subject": a.subject, "email": a.email,
        }),
    }
}

/// The newest `cap` of each list (both read newest first, one past the cap to tell whether
/// more exist), plus `first` (the creation) when events were left out; and whether anything
/// was left out.
fn timeline(
    (mut events, event_cap): (Vec<events::UserEvent>, usize),
    first: Vec<events::UserEvent>,
    (mut attempts, attempt_cap): (Vec<Listed>, usize),
) -> (Vec<TimelineEntry>, bool) {
    let truncated = events.len() > event_cap || attempts.len() > attempt_cap;
    if events.len() > event_cap {
        events.truncate(event_cap);
        events.extend(first);
    }
    attempts.truncate(attempt_cap);
    (merge_timeline(events, attempts), truncated)
}

/// Merges events and attempts (each newest first, as read) into one list, oldest first.
fn merge_timeline(events: Vec<events::UserEvent>, attempts: Vec<Listed>) -> Vec<TimelineEntry> {
    let mut evs = events.into_iter().rev().map(event_entry).peekable();
    let mut ats = attempts.into_iter().rev().map(attempt_entry).peekable();
    let mut out = Vec::with_capacity(evs.len() + ats.len());
    loop {
        // At equal times the event goes first: a sign-in writes its events, then its attempt.
        let take_event = match (evs.peek(), ats.peek()) {
            (Some(e), Some(a)) => e.at <= a.at,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.extend(if take_event { evs.next() } else { ats.next() });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Timeline summaries (pure).

fn text<'a>(detail: &'a Value, key: &str) -> Option<&'a str> {
    detail.get(key).and_then(Value::as_str)
}

/// " by SCIM", " by admin ann@acme.test", " by a sign-in", or nothing.
fn by_whom(detail: &Value) -> String {
    match text(detail, "via") {
        Some("scim") => " by SCIM".into(),
        Some("sso") => " by a sign-in".into(),
        Some("admin") => match text(detail, "by") {
            Some(who) => format!(" by admin {who}"),
            None => " by an admin".into(),
        },
        _ => String::new(),
    }
}

fn sessions_ended(detail: &Value) -> String {
    match detail.get("sessions_ended").and_then(Value::as_u64) {
        Some(1) => " (1 session ended)".into(),
        Some(n) if n > 1 => format!(" ({n} sessions ended)"),
        _ => String::new(),
    }
}

/// The label people read for a stored field name.
fn field_label(field: &str) -> String {
    match field {
        "iwms_id" => "IWMS ID".into(),
        "external_id" => "external ID".into(),
        other => other.replace('_', " "),
    }
}

fn shown(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(empty)".into(),
        Some(Value::String(s)) if s.is_empty() => "(empty)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// "first name: Ann → Anne; IWMS ID: (empty) → E1".
fn changes_summary(changes: &[Value]) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                field_label(text(c, "field").unwrap_or("?")),
                shown(c.get("old")),
                shown(c.get("new"))
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn created_summary(detail: &Value) -> String {
    match text(detail, "via") {
        Some("sso") => match text(detail, "connection") {
            Some(c) => format!("created by just-in-time provisioning (sign-in via {c})"),
            None => "created by just-in-time provisioning".into(),
        },
        _ => format!("created{}", by_whom(detail)),
    }
}

/// A lifecycle event as one line.
pub fn event_summary(kind: &str, detail: &Value) -> String {
    let d = detail;
    let or_q = |k: &str| text(d, k).unwrap_or("?").to_owned();
    match kind {
        "created" => created_summary(d),
        "attributes_updated" => match d.get("changes").and_then(Value::as_array) {
            Some(c) if !c.is_empty() => changes_summary(c),
            _ => format!("attributes updated{}", by_whom(d)),
        },
        "deactivated" => format!("deactivated{}{}", by_whom(d), sessions_ended(d)),
        "reactivated" => format!("reactivated{}", by_whom(d)),
        "deprovisioned" => format!("deprovisioned{}{}", by_whom(d), sessions_ended(d)),
        "stale_flagged" => match d.get("stale_after_days").and_then(Value::as_u64) {
            Some(n) => format!("flagged stale: no sign-in for {n} days"),
            None => "flagged stale".into(),
        },
        "stale_cleared" => format!("stale flag cleared{}", by_whom(d)),
        "scim_linked" => format!("taken under SCIM (matched by {})", or_q("matched_by")),
        "identity_linked" => format!(
            "identity on {} linked (matched by {})",
            or_q("connection"),
            or_q("matched_by")
        ),
        "identity_unlinked" => format!(
            "identity on {} (subject {}) unlinked{}",
            or_q("connection"),
            or_q("subject"),
            by_whom(d)
        ),
        "group_added" => format!("added to group {}", or_q("group")),
        "group_removed" => format!("removed from group {}", or_q("group")),
        "iwms_account_created" => format!("IWMS account created: {}", or_q("iwms_id")),
        "iwms_account_ignored" => {
            format!("IWMS account {} ignored: {}", or_q("iwms_id"), or_q("why"))
        }
        other => other.replace('_', " "),
    }
}

/// "signed in (okta)", "sign-in failed: user_deactivated (okta)".
pub fn sign_in_summary(success: bool, reason: &str, connection: Option<&str>) -> String {
    let head = if success {
        "signed in".to_owned()
    } else {
        format!("sign-in failed: {reason}")
    };
    match connection {
        Some(c) => format!("{head} ({c})"),
        None => head,
    }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle actions: each one transaction, recorded on the timeline (and in the IWMS outbox).

/// A transaction's failure: the database's (maybe worth a retry) or the action's refusal.
enum Tx {
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

fn in_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnMut(&mut DbConnection) -> Result<T, Tx>,
) -> Result<T, AdminError> {
    storage::transaction_with(conn, f).map_err(AdminError::from)
}

/// The user, locked until the transaction ends.
fn locked_user(c: &mut DbConnection, tenant: &Tenant, id: i64) -> Result<User, Tx> {
    users::lock(c, tenant.id, UserId(id))?;
    get_user(c, tenant, id).map_err(|e| match e {
        AdminError::Storage(s) => Tx::Storage(s),
        refused => Tx::Refused(refused),
    })
}

fn parse_actor(actor: &str) -> Result<&str, AdminError> {
    let a = actor.trim();
    if a.is_empty() || a.chars().count() > 256 || a.chars().any(char::is_control) {
        return Err(invalid("actor", "must be 1-256 printable characters"));
    }
    Ok(a)
}

fn conflict(message: String) -> Tx {
    Tx::Refused(AdminError::Conflict(message))
}

/// Deactivates the user and ends their sessions at once. `Conflict` when already
/// deactivated (deprovisioned users are). The timeline gets `deactivated` with
/// `{"via": "admin", "by": actor, "sessions_ended": n}`.
pub fn deactivate_user(
    conn: &mut DbConnection,
    tenant: &Tenant,
    id: i64,
    actor: &str,
    now: i64,
) -> Result<UserListItem, AdminError> {
    let actor = parse_actor(actor)?;
    in_transaction(conn, |c| {
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
            "deactivated",
            &json!({"via": "admin", "by": actor, "sessions_ended": ended}),
            now,
        )?;
        Ok(())
    })?;
    list_item(conn, tenant, id)
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
    actor: &str,
    now: i64,
) -> Result<UserListItem, AdminError> {
    let actor = parse_actor(actor)?;
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
        let u = users::insert(c, tenant.id, &new_user, CreatedVia::Admin, now)?;
        outbox::record(
            c,
            tenant,
            u.id,
            "created",
            &json!({"via": "admin", "by": actor, "email": u.email.as_str(),
                    "first_name": u.first_name, "last_name": u.last_name, "iwms_id": u.iwms_id}),
            now,
        )?;
        Ok(u.id.0)
    })?;
    list_item(conn, tenant, id)
}

/// Makes a deactivated user active again. `Conflict` when already active, and when SCIM
/// deprovisioned the user: the IdP is the source of truth and must provision them again. (A
/// user SCIM deactivated with `active: false` can be reactivated here; the IdP may deactivate
/// them again on its next push.)
pub fn reactivate_user(
    conn: &mut DbConnection,
    tenant: &Tenant,
    id: i64,
    actor: &str,
    now: i64,
) -> Result<UserListItem, AdminError> {
    let actor = parse_actor(actor)?;
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
            "reactivated",
            &json!({"via": "admin", "by": actor}),
            now,
        )?;
        Ok(())
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
    actor: &str,
    now: i64,
) -> Result<(), AdminError> {
    let actor = parse_actor(actor)?;
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
        identities::unlink(c, tenant.id, u.id, link.id)?;
        outbox::record(
            c,
            tenant,
            u.id,
            "identity_unlinked",
            &json!({"via": "admin", "by": actor, "identity_id": link.id,
                    "connection": link.connection, "subject": link.subject}),
            now,
        )?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Sign-in history.

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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
            email: a.email.or(a.user_email),
            subject: a.subject,
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

    fn ev(kind: &str, detail: Value, at: i64) -> events::UserEvent {
        events::UserEvent {
            kind: kind.into(),
            detail,
            created_at: at,
        }
    }

    fn attempt(id: i64, ok: bool, reason: &str, at: i64) -> Listed {
        Listed {
            id,
            connection_id: Some(1),
            connection: Some("okta".into()),
            user_id: Some(7),
            user_email: Some("ann@acme.test".into()),
            outcome: if ok { "success" } else { "failure" }.into(),
            reason: reason.into(),
            detail: String::new(),
            subject: Some("s".into()),
            email: None,
            created_at: at,
        }
    }

    #[test]
    fn attribute_changes_read_old_to_new() {
        let d = json!({"via": "sso", "changes": [
            {"field": "first_name", "old": "Ann", "new": "Anne"},
            {"field": "iwms_id", "old": null, "new": "E1"},
            {"field": "external_id", "old": "x", "new": null},
        ]});
        assert_eq!(
            event_summary("attributes_updated", &d),
            "first name: Ann → Anne; IWMS ID: (empty) → E1; external ID: x → (empty)"
        );
        assert_eq!(
            event_summary("attributes_updated", &json!({"via": "scim", "changes": []})),
            "attributes updated by SCIM"
        );
    }

    #[test]
    fn lifecycle_events_say_who_did_it() {
        assert_eq!(
            event_summary("created", &json!({"via": "scim"})),
            "created by SCIM"
        );
        assert_eq!(
            event_summary("created", &json!({"via": "sso", "connection": "okta"})),
            "created by just-in-time provisioning (sign-in via okta)"
        );
        assert_eq!(
            event_summary(
                "deactivated",
                &json!({"via": "admin", "by": "root@acme.test", "sessions_ended": 2})
            ),
            "deactivated by admin root@acme.test (2 sessions ended)"
        );
        assert_eq!(
            event_summary("deactivated", &json!({"via": "scim", "sessions_ended": 0})),
            "deactivated by SCIM"
        );
        assert_eq!(
            event_summary("reactivated", &json!({"via": "admin", "by": "a"})),
            "reactivated by admin a"
        );
        assert_eq!(
            event_summary(
                "deprovisioned",
                &json!({"via": "scim", "sessions_ended": 1})
            ),
            "deprovisioned by SCIM (1 session ended)"
        );
        assert_eq!(
            event_summary("stale_flagged", &json!({"stale_after_days": 90})),
            "flagged stale: no sign-in for 90 days"
        );
        assert_eq!(
            event_summary("stale_cleared", &json!({"via": "sso"})),
            "stale flag cleared by a sign-in"
        );
        assert_eq!(
            event_summary(
                "identity_linked",
                &json!({"connection": "okta", "matched_by": "email"})
            ),
            "identity on okta linked (matched by email)"
        );
        assert_eq!(
            event_summary(
                "identity_unlinked",
                &json!({"via": "admin", "by": "a", "connection": "okta", "subject": "s1"})
            ),
            "identity on okta (subject s1) unlinked by admin a"
        );
        assert_eq!(
            event_summary("group_added", &json!({"via": "scim", "group": "Ops"})),
            "added to group Ops"
        );
        assert_eq!(
            event_summary("scim_linked", &json!({"matched_by": "email"})),
            "taken under SCIM (matched by email)"
        );
        assert_eq!(
            event_summary("iwms_account_created", &json!({"iwms_id": "W-1"})),
            "IWMS account created: W-1"
        );
        assert_eq!(event_summary("iwms_linked", &json!({})), "iwms linked");
    }

    #[test]
    fn sign_ins_name_outcome_reason_and_connection() {
        assert_eq!(
            sign_in_summary(true, "success", Some("okta")),
            "signed in (okta)"
        );
        assert_eq!(
            sign_in_summary(false, "user_deactivated", Some("okta")),
            "sign-in failed: user_deactivated (okta)"
        );
        assert_eq!(
            sign_in_summary(false, "invalid_signature", None),
            "sign-in failed: invalid_signature"
        );
    }

    #[test]
    fn timeline_is_chronological_with_a_sign_ins_events_before_its_attempt() {
        // As read: newest first.
        let events = vec![
            ev("deactivated", json!({"via": "admin", "by": "a"}), 30),
            ev("attributes_updated", json!({"changes": []}), 20),
            ev("created", json!({"via": "sso"}), 10),
        ];
        let attempts = vec![
            attempt(2, false, "user_deactivated", 30),
            attempt(1, true, "success", 10),
        ];
        let (t, truncated) = timeline((events, 500), Vec::new(), (attempts, 100));
        assert!(!truncated);
        let kinds: Vec<_> = t.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "created",
                "sign_in_succeeded",
                "attributes_updated",
                "deactivated",
                "sign_in_failed"
            ]
        );
        assert_eq!(t[4].summary, "sign-in failed: user_deactivated (okta)");
        assert_eq!(t[4].detail["attempt_id"], 2);
    }

    #[test]
    fn timeline_keeps_the_newest_of_each_kind_and_the_creation() {
        // Events at even times, attempts at odd ones; as read, newest first.
        let events = || {
            (1..=4)
                .rev()
                .map(|i| ev("attributes_updated", json!({}), i * 2))
        };
        let attempts = || (0..4).rev().map(|i| attempt(i, true, "success", i * 2 + 1));
        let created = vec![ev("created", json!({"via": "scim"}), 0)];
        // Fetched one past each cap: three events and two sign-ins are shown, then the
        // creation, which is always kept.
        let (t, truncated) = timeline(
            (events().collect(), 3),
            created.clone(),
            (attempts().collect(), 2),
        );
        assert!(truncated);
        assert_eq!(
            t.iter().map(|e| e.at).collect::<Vec<_>>(),
            [0, 4, 5, 6, 7, 8]
        );
        assert_eq!(t[0].kind, "created");
        // Within the caps nothing is left out, and the creation is not added twice.
        let (t, truncated) = timeline((events().collect(), 4), created, (attempts().collect(), 4));
        assert!(!truncated);
        assert_eq!(t.len(), 8);
    }

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
