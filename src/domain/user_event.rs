//! A user's lifecycle events: what the timeline shows and what the IWMS feed hears. Stored as
//! a `kind` and a `detail` JSON object (`user_events`); the serde shape below is that stored
//! format, so rows written by any earlier version still decode, and a row that does not (an
//! unknown kind, a detail of another shape) becomes [`UserEvent::Unknown`] instead of an error.
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::iwms::EventKind;

/// Who made a change: `via` (and, for an admin, `by`) in the event's detail.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "ActorFields", into = "ActorFields")]
pub enum Actor {
    /// A sign-in (just-in-time provisioning, attribute updates from claims).
    Sso,
    Scim,
    /// An admin, by their actor name (older rows may lack it).
    Admin(Option<String>),
    /// No `via` recorded.
    #[default]
    Unnamed,
    /// A `via` this version does not know, kept as stored.
    Other(String),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ActorFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    via: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    by: Option<String>,
}

impl From<ActorFields> for Actor {
    fn from(f: ActorFields) -> Self {
        match f.via.as_deref() {
            Some("sso") => Actor::Sso,
            Some("scim") => Actor::Scim,
            Some("admin") => Actor::Admin(f.by),
            Some(other) => Actor::Other(other.to_owned()),
            None => Actor::Unnamed,
        }
    }
}

impl From<Actor> for ActorFields {
    fn from(a: Actor) -> Self {
        let (via, by) = match a {
            Actor::Sso => (Some("sso".to_owned()), None),
            Actor::Scim => (Some("scim".to_owned()), None),
            Actor::Admin(by) => (Some("admin".to_owned()), by),
            Actor::Unnamed => (None, None),
            Actor::Other(v) => (Some(v), None),
        };
        ActorFields { via, by }
    }
}

impl Actor {
    pub fn admin(by: &str) -> Self {
        Actor::Admin(Some(by.to_owned()))
    }

    /// " by SCIM", " by admin ann@acme.test", " by a sign-in", or nothing.
    fn by_whom(&self) -> String {
        match self {
            Actor::Scim => " by SCIM".into(),
            Actor::Sso => " by a sign-in".into(),
            Actor::Admin(Some(who)) => format!(" by admin {who}"),
            Actor::Admin(None) => " by an admin".into(),
            Actor::Unnamed | Actor::Other(_) => String::new(),
        }
    }
}

/// One changed attribute: its stored field name, the old and the new value (`null` = empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl AttributeChange {
    pub fn new(field: &str, old: Option<&str>, new: Option<&str>) -> Self {
        AttributeChange {
            field: field.to_owned(),
            old: old.map(str::to_owned),
            new: new.map(str::to_owned),
        }
    }
}

/// Every kind of lifecycle event. Fields an earlier version may not have written are
/// optional; absent ones are left out when written, except where today's rows hold `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum UserEvent {
    Created {
        #[serde(flatten)]
        by: Actor,
        /// The connection of the sign-in that created the user (just-in-time provisioning).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connection: Option<String>,
        /// SCIM `userName` (created by SCIM).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
        #[serde(default)]
        first_name: Option<String>,
        #[serde(default)]
        last_name: Option<String>,
        #[serde(default)]
        iwms_id: Option<String>,
        /// SCIM `active` (created by SCIM).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        active: Option<bool>,
    },
    AttributesUpdated {
        #[serde(flatten)]
        by: Actor,
        #[serde(default)]
        changes: Vec<AttributeChange>,
        /// A new email ends the user's sessions (SCIM).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sessions_ended: Option<u64>,
    },
    Deactivated {
        #[serde(flatten)]
        by: Actor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sessions_ended: Option<u64>,
    },
    Reactivated {
        #[serde(flatten)]
        by: Actor,
    },
    /// SCIM DELETE: the record stays, deactivated.
    Deprovisioned {
        #[serde(flatten)]
        by: Actor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sessions_ended: Option<u64>,
    },
    StaleFlagged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stale_after_days: Option<u64>,
    },
    StaleCleared {
        #[serde(flatten)]
        by: Actor,
    },
    /// SCIM took over a user that existed before (by email, IWMS ID, …).
    ScimLinked {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        matched_by: Option<String>,
    },
    IdentityLinked {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connection: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        matched_by: Option<String>,
    },
    IdentityUnlinked {
        #[serde(flatten)]
        by: Actor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity_id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connection: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
    },
    GroupAdded {
        #[serde(flatten)]
        by: Actor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
    },
    GroupRemoved {
        #[serde(flatten)]
        by: Actor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
    },
    /// A role was added: `source` is `idp` (a group of the sign-in), `scim` (a SCIM group) or
    /// `manual` (set by an admin).
    RoleAdded {
        #[serde(flatten)]
        by: Actor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
    },
    /// A role was removed (its source group is gone, or an admin took it away).
    RoleRemoved {
        #[serde(flatten)]
        by: Actor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
    },
    /// The IWMS created an account and its ID became the user's.
    IwmsAccountCreated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iwms_id: Option<String>,
    },
    /// The IWMS created an account that was not stored (the user had an ID, or another holds it).
    IwmsAccountIgnored {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iwms_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kept: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        why: Option<String>,
    },
    /// The IWMS already knew the person (found by the tenant's join key): its ID became the
    /// user's, and no account was created.
    IwmsAccountLinked {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iwms_id: Option<String>,
        /// The join key the IWMS found the person by (`email`, `employee_number`, …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        matched_by: Option<String>,
    },
    /// The IWMS found the person, but its ID could not become the user's: `reason` is
    /// `iwms_id_conflict` (another user holds it). Nothing was linked or created.
    IwmsLinkRefused {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iwms_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        matched_by: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The user who holds the IWMS ID.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        holder: Option<i64>,
    },
    /// A stored row this version cannot read, kept as it is; never written.
    #[serde(skip)]
    Unknown { kind: String, detail: Value },
}

impl UserEvent {
    /// The stored `kind`.
    pub fn kind(&self) -> &str {
        match self {
            UserEvent::Created { .. } => "created",
            UserEvent::AttributesUpdated { .. } => "attributes_updated",
            UserEvent::Deactivated { .. } => "deactivated",
            UserEvent::Reactivated { .. } => "reactivated",
            UserEvent::Deprovisioned { .. } => "deprovisioned",
            UserEvent::StaleFlagged { .. } => "stale_flagged",
            UserEvent::StaleCleared { .. } => "stale_cleared",
            UserEvent::ScimLinked { .. } => "scim_linked",
            UserEvent::IdentityLinked { .. } => "identity_linked",
            UserEvent::IdentityUnlinked { .. } => "identity_unlinked",
            UserEvent::GroupAdded { .. } => "group_added",
            UserEvent::GroupRemoved { .. } => "group_removed",
            UserEvent::RoleAdded { .. } => "role_added",
            UserEvent::RoleRemoved { .. } => "role_removed",
            UserEvent::IwmsAccountCreated { .. } => "iwms_account_created",
            UserEvent::IwmsAccountIgnored { .. } => "iwms_account_ignored",
            UserEvent::IwmsAccountLinked { .. } => "iwms_account_linked",
            UserEvent::IwmsLinkRefused { .. } => "iwms_link_refused",
            UserEvent::Unknown { kind, .. } => kind,
        }
    }

    /// The stored `detail` object.
    pub fn detail(&self) -> Value {
        if let UserEvent::Unknown { detail, .. } = self {
            return detail.clone();
        }
        match serde_json::to_value(self) {
            Ok(Value::Object(mut m)) => m.remove("detail").unwrap_or(Value::Null),
            // Every field is a string, number, bool or list of them: this cannot fail.
            _ => Value::Null,
        }
    }

    /// A stored row; one this version cannot read is kept as [`UserEvent::Unknown`].
    pub fn decode(kind: &str, detail: &Value) -> Self {
        let tagged = serde_json::json!({ "kind": kind, "detail": detail });
        serde_json::from_value(tagged).unwrap_or_else(|_| UserEvent::Unknown {
            kind: kind.to_owned(),
            detail: detail.clone(),
        })
    }

    /// The IWMS event this change is, if the feed hears about it.
    pub fn iwms_event(&self) -> Option<EventKind> {
        Some(match self {
            UserEvent::Created { .. } => EventKind::Created,
            UserEvent::AttributesUpdated { .. } => EventKind::Updated,
            UserEvent::Deactivated { .. } | UserEvent::Deprovisioned { .. } => {
                EventKind::Deactivated
            }
            UserEvent::Reactivated { .. } => EventKind::Reactivated,
            UserEvent::StaleFlagged { .. } => EventKind::FlaggedStale,
            UserEvent::StaleCleared { .. } => EventKind::Unflagged,
            _ => return None,
        })
    }

    /// The attribute changes the IWMS event carries (`changes` of its payload).
    pub fn iwms_changes(&self) -> Option<Value> {
        match self {
            UserEvent::AttributesUpdated { changes, .. } => serde_json::to_value(changes).ok(),
            _ => None,
        }
    }

    /// The event as one line for people, e.g. "first name: Ann → Anne",
    /// "deactivated by admin root@acme.test (2 sessions ended)".
    pub fn summary(&self) -> String {
        let q = |v: &Option<String>| v.as_deref().unwrap_or("?").to_owned();
        match self {
            UserEvent::Created {
                by: Actor::Sso,
                connection,
                ..
            } => match connection {
                Some(c) => format!("created by just-in-time provisioning (sign-in via {c})"),
                None => "created by just-in-time provisioning".into(),
            },
            UserEvent::Created { by, .. } => format!("created{}", by.by_whom()),
            UserEvent::AttributesUpdated { by, changes, .. } => {
                if changes.is_empty() {
                    format!("attributes updated{}", by.by_whom())
                } else {
                    changes_summary(changes)
                }
            }
            UserEvent::Deactivated { by, sessions_ended } => format!(
                "deactivated{}{}",
                by.by_whom(),
                sessions_text(*sessions_ended)
            ),
            UserEvent::Reactivated { by } => format!("reactivated{}", by.by_whom()),
            UserEvent::Deprovisioned { by, sessions_ended } => format!(
                "deprovisioned{}{}",
                by.by_whom(),
                sessions_text(*sessions_ended)
            ),
            UserEvent::StaleFlagged { stale_after_days } => match stale_after_days {
                Some(n) => format!("flagged stale: no sign-in for {n} days"),
                None => "flagged stale".into(),
            },
            UserEvent::StaleCleared { by } => format!("stale flag cleared{}", by.by_whom()),
            UserEvent::ScimLinked { matched_by } => {
                format!("taken under SCIM (matched by {})", q(matched_by))
            }
            UserEvent::IdentityLinked {
                connection,
                matched_by,
            } => format!(
                "identity on {} linked (matched by {})",
                q(connection),
                q(matched_by)
            ),
            UserEvent::IdentityUnlinked {
                by,
                connection,
                subject,
                ..
            } => format!(
                "identity on {} (subject {}) unlinked{}",
                q(connection),
                q(subject),
                by.by_whom()
            ),
            UserEvent::GroupAdded { group, .. } => format!("added to group {}", q(group)),
            UserEvent::GroupRemoved { group, .. } => format!("removed from group {}", q(group)),
            UserEvent::RoleAdded { by, role, source } => format!(
                "role {} added ({}){}",
                q(role),
                role_source_text(source),
                by.by_whom()
            ),
            UserEvent::RoleRemoved { by, role, source } => format!(
                "role {} removed ({}){}",
                q(role),
                role_source_text(source),
                by.by_whom()
            ),
            UserEvent::IwmsAccountCreated { iwms_id } => {
                format!("IWMS account created: {}", q(iwms_id))
            }
            UserEvent::IwmsAccountIgnored { iwms_id, why, .. } => {
                format!("IWMS account {} ignored: {}", q(iwms_id), q(why))
            }
            UserEvent::IwmsAccountLinked {
                iwms_id,
                matched_by,
            } => format!(
                "linked to existing IWMS account {} (matched by {})",
                q(iwms_id),
                q(matched_by)
            ),
            UserEvent::IwmsLinkRefused {
                iwms_id,
                matched_by,
                reason,
                holder,
            } => format!(
                "IWMS account {} (matched by {}) not linked: {}{}",
                q(iwms_id),
                q(matched_by),
                q(reason),
                holder
                    .map(|h| format!(", user {h} holds this IWMS ID"))
                    .unwrap_or_default()
            ),
            UserEvent::Unknown { kind, .. } => kind.replace('_', " "),
        }
    }
}

fn role_source_text(source: &Option<String>) -> &'static str {
    match source.as_deref() {
        Some("idp") => "from an IdP group",
        Some("scim") => "from a SCIM group",
        Some("manual") => "set by hand",
        _ => "unknown source",
    }
}

fn sessions_text(n: Option<u64>) -> String {
    match n {
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

fn shown(v: &Option<String>) -> &str {
    match v.as_deref() {
        None | Some("") => "(empty)",
        Some(s) => s,
    }
}

/// "first name: Ann → Anne; IWMS ID: (empty) → E1".
fn changes_summary(changes: &[AttributeChange]) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                field_label(&c.field),
                shown(&c.old),
                shown(&c.new)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;
