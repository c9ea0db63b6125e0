//! A user's detail: every stored attribute, identities, groups, and the timeline that merges
//! lifecycle events (typed, [`UserEvent`]) and sign-in attempts.
use serde::Serialize;
use serde_json::{Value, json};

use super::{AdminError, LastSignIn, SignInItem, UserView, get_user};
use crate::domain::tenant::Tenant;
use crate::domain::user_event::UserEvent;
use crate::storage::events::{self, Recorded};
use crate::storage::identities::{self, IdentityLink};
use crate::storage::login_attempts::{self, Listed};
use crate::storage::{DbConnection, scim_groups, users::scim as scim_users};

/// How many sign-in attempts a user's timeline shows (the newest; the sign-in history, filtered
/// by user, pages through all of them).
pub const TIMELINE_SIGN_INS: usize = 100;
/// How many lifecycle events it shows (the newest, and always the first: the creation).
/// Events are written on changes only, so this is years of a busy account.
pub const TIMELINE_EVENTS: usize = 2000;

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
    /// Attributes outside the SCIM schema the directory sent (an extra mapping in Entra ID or
    /// Okta): ignored, not stored; the paths as sent. PUT and POST replace the list, PATCH
    /// adds to it.
    pub scim_ignored_attributes: Vec<String>,
}

impl UserRecord {
    /// Every value of the SCIM document, as `path: value` (e.g. `phoneNumbers[0].value`).
    pub fn scim_values(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(doc) = &self.scim_document {
            flatten("", doc, &mut out);
        }
        out
    }
}

/// A JSON document as (path, value) lines, in key order; `schemas` and `meta` are
/// bookkeeping, not attributes.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if prefix.is_empty() && (k == "schemas" || k == "meta") {
                    continue;
                }
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        Value::Null => {}
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

/// What a timeline entry is, typed (the JSON carries it as `kind` and `detail`).
#[derive(Debug, Clone, PartialEq)]
pub enum Happening {
    Event(UserEvent),
    SignIn(SignInItem),
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
    #[serde(skip)]
    pub what: Happening,
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
    /// The user's roles (from groups and set by hand), as apps receive them.
    pub roles: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
    pub timeline_truncated: bool,
}

impl UserDetailView {
    /// The lifecycle events of the timeline, oldest first.
    pub fn events(&self) -> impl Iterator<Item = (&TimelineEntry, &UserEvent)> {
        self.timeline.iter().filter_map(|e| match &e.what {
            Happening::Event(ev) => Some((e, ev)),
            Happening::SignIn(_) => None,
        })
    }

    /// The sign-in attempts of the timeline, oldest first.
    pub fn sign_ins(&self) -> impl DoubleEndedIterator<Item = &SignInItem> {
        self.timeline.iter().filter_map(|e| match &e.what {
            Happening::SignIn(a) => Some(a),
            Happening::Event(_) => None,
        })
    }

    /// Deactivation applies to active users only (deprovisioned ones are deactivated).
    pub fn can_deactivate(&self) -> bool {
        self.user.user.shown_status() == "active"
    }

    /// Reactivation applies to deactivated users SCIM did not deprovision.
    pub fn can_reactivate(&self) -> bool {
        self.user.user.shown_status() == "deactivated"
    }
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
        roles: crate::storage::roles::computed(conn, tenant.id, u.id)?.roles,
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
            scim_ignored_attributes: scim_users::ignored(conn, tenant.id, u.id)?,
        },
        last_sign_in,
        timeline,
        timeline_truncated,
    })
}

fn event_entry(e: Recorded) -> TimelineEntry {
    TimelineEntry {
        at: e.created_at,
        kind: e.event.kind().to_owned(),
        summary: e.event.summary(),
        detail: e.detail,
        what: Happening::Event(e.event),
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
        what: Happening::SignIn(SignInItem::from(a)),
    }
}

/// The newest `cap` of each list (both read newest first, one past the cap to tell whether
/// more exist), plus `first` (the creation) when events were left out; and whether anything
/// was left out.
fn timeline(
    (mut events, event_cap): (Vec<Recorded>, usize),
    first: Vec<Recorded>,
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
fn merge_timeline(events: Vec<Recorded>, attempts: Vec<Listed>) -> Vec<TimelineEntry> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, detail: Value, at: i64) -> Recorded {
        Recorded {
            event: UserEvent::decode(kind, &detail),
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
    fn a_scim_document_reads_as_paths_and_values() {
        let doc = json!({"schemas": ["x"], "userName": "ann", "active": true,
            "phoneNumbers": [{"value": "+1 555", "type": "work"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"},
            "nickName": null, "meta": {"created": "2026"}});
        let mut out = Vec::new();
        flatten("", &doc, &mut out);
        let got: Vec<(&str, &str)> = out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            [
                ("active", "true"),
                ("phoneNumbers[0].type", "work"),
                ("phoneNumbers[0].value", "+1 555"),
                (
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department",
                    "R&D"
                ),
                ("userName", "ann"),
            ]
        );
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
        assert_eq!(t[3].summary, "deactivated by admin a");
        assert!(matches!(
            &t[3].what,
            Happening::Event(UserEvent::Deactivated { .. })
        ));
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
}
