//! Storing the IWMS ID an account creation returned or a lookup found, without overwriting
//! or stealing one: every outcome is on the user's timeline.
use crate::domain::ids::{TenantId, UserId};
use crate::domain::iwms::JoinKey;
use crate::domain::reason::Reason;
use crate::domain::user_event::UserEvent;
use crate::storage::{DbConnection, StorageError, events, users, users::scim as scim_users};

/// The IWMS created an account, or a lookup found the person (`linked`): its ID becomes the
/// user's, unless the user got one meanwhile or another user holds it (both recorded, nothing
/// overwritten).
pub(super) fn store_iwms_id(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    iwms_id: &str,
    linked: Option<JoinKey>,
    now: i64,
) -> Result<(), StorageError> {
    // A SCIM write may be setting the IdP's IWMS ID right now: lock the row before reading it.
    users::lock(conn, tenant, user)?;
    let u = users::get(conn, tenant, user)?;
    let holder = users::find_by_iwms_id(conn, tenant, iwms_id)?.map(|h| h.id);
    let matched_by = linked.map(|k| k.as_str().to_owned());
    let event = match (&u.iwms_id, holder) {
        // The IWMS confirmed the IWMS ID the user has (join key `iwms_id`).
        (Some(existing), _) if linked.is_some() && existing == iwms_id => {
            UserEvent::IwmsAccountLinked {
                iwms_id: Some(iwms_id.to_owned()),
                matched_by,
            }
        }
        (None, Some(other)) if other != user && linked.is_some() => UserEvent::IwmsLinkRefused {
            iwms_id: Some(iwms_id.to_owned()),
            matched_by,
            reason: Some(Reason::IwmsIdConflict.code().to_owned()),
            holder: Some(other.0),
        },
        (Some(existing), _) => UserEvent::IwmsAccountIgnored {
            iwms_id: Some(iwms_id.to_owned()),
            kept: Some(existing.clone()),
            why: Some(match linked {
                Some(k) => format!(
                    "found by {k} after an earlier creation attempt; the user already has an IWMS ID"
                ),
                None => "the user already has an IWMS ID".into(),
            }),
        },
        (None, Some(other)) if other != user => UserEvent::IwmsAccountIgnored {
            iwms_id: Some(iwms_id.to_owned()),
            kept: None,
            why: Some(format!("user {other} holds this IWMS ID")),
        },
        (None, _) => {
            scim_users::set_iwms_id(conn, tenant, user, Some(iwms_id))?;
            match linked {
                Some(_) => UserEvent::IwmsAccountLinked {
                    iwms_id: Some(iwms_id.to_owned()),
                    matched_by,
                },
                None => UserEvent::IwmsAccountCreated {
                    iwms_id: Some(iwms_id.to_owned()),
                },
            }
        }
    };
    events::record(conn, tenant, user, &event, now)
}
