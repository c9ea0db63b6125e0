use serde_json::{Value, json};

use super::*;

/// Each variant written as today's writers wrote it (kind, detail), and read back.
fn stored() -> Vec<(UserEvent, &'static str, Value)> {
    let ann = Some("Ann".to_owned());
    vec![
        (
            UserEvent::Created {
                by: Actor::Sso,
                connection: Some("okta".into()),
                user_name: None,
                email: Some("ann@acme.test".into()),
                first_name: ann.clone(),
                last_name: None,
                iwms_id: None,
                active: None,
            },
            "created",
            json!({"via": "sso", "connection": "okta", "email": "ann@acme.test",
                   "first_name": "Ann", "last_name": null, "iwms_id": null}),
        ),
        (
            UserEvent::Created {
                by: Actor::Scim,
                connection: None,
                user_name: Some("ann".into()),
                email: Some("ann@acme.test".into()),
                first_name: None,
                last_name: None,
                iwms_id: Some("W-1".into()),
                active: Some(true),
            },
            "created",
            json!({"via": "scim", "user_name": "ann", "email": "ann@acme.test",
                   "first_name": null, "last_name": null, "iwms_id": "W-1", "active": true}),
        ),
        (
            UserEvent::Created {
                by: Actor::admin("root@acme.test"),
                connection: None,
                user_name: None,
                email: Some("ann@acme.test".into()),
                first_name: None,
                last_name: ann,
                iwms_id: None,
                active: None,
            },
            "created",
            json!({"via": "admin", "by": "root@acme.test", "email": "ann@acme.test",
                   "first_name": null, "last_name": "Ann", "iwms_id": null}),
        ),
        (
            UserEvent::AttributesUpdated {
                by: Actor::Sso,
                changes: vec![AttributeChange::new(
                    "first_name",
                    Some("Ann"),
                    Some("Anne"),
                )],
                sessions_ended: None,
            },
            "attributes_updated",
            json!({"via": "sso", "changes": [{"field": "first_name", "old": "Ann", "new": "Anne"}]}),
        ),
        (
            UserEvent::AttributesUpdated {
                by: Actor::Scim,
                changes: vec![AttributeChange::new("email", Some("a@x.test"), None)],
                sessions_ended: Some(2),
            },
            "attributes_updated",
            json!({"via": "scim", "sessions_ended": 2,
                   "changes": [{"field": "email", "old": "a@x.test", "new": null}]}),
        ),
        (
            UserEvent::Deactivated {
                by: Actor::admin("a"),
                sessions_ended: Some(0),
            },
            "deactivated",
            json!({"via": "admin", "by": "a", "sessions_ended": 0}),
        ),
        (
            UserEvent::Deactivated {
                by: Actor::Scim,
                sessions_ended: Some(1),
            },
            "deactivated",
            json!({"via": "scim", "sessions_ended": 1}),
        ),
        (
            UserEvent::Reactivated { by: Actor::Scim },
            "reactivated",
            json!({"via": "scim"}),
        ),
        (
            UserEvent::Reactivated {
                by: Actor::admin("a"),
            },
            "reactivated",
            json!({"via": "admin", "by": "a"}),
        ),
        (
            UserEvent::Deprovisioned {
                by: Actor::Scim,
                sessions_ended: Some(3),
            },
            "deprovisioned",
            json!({"via": "scim", "sessions_ended": 3}),
        ),
        (
            UserEvent::StaleFlagged {
                stale_after_days: Some(90),
            },
            "stale_flagged",
            json!({"stale_after_days": 90}),
        ),
        (
            UserEvent::StaleCleared { by: Actor::Sso },
            "stale_cleared",
            json!({"via": "sso"}),
        ),
        (
            UserEvent::ScimLinked {
                matched_by: Some("email".into()),
            },
            "scim_linked",
            json!({"matched_by": "email"}),
        ),
        (
            UserEvent::IdentityLinked {
                connection: Some("okta".into()),
                matched_by: Some("iwms_id".into()),
            },
            "identity_linked",
            json!({"connection": "okta", "matched_by": "iwms_id"}),
        ),
        (
            UserEvent::IdentityUnlinked {
                by: Actor::admin("a"),
                identity_id: Some(4),
                connection: Some("okta".into()),
                subject: Some("s1".into()),
            },
            "identity_unlinked",
            json!({"via": "admin", "by": "a", "identity_id": 4, "connection": "okta", "subject": "s1"}),
        ),
        (
            UserEvent::GroupAdded {
                by: Actor::Scim,
                group: Some("Ops".into()),
            },
            "group_added",
            json!({"via": "scim", "group": "Ops"}),
        ),
        (
            UserEvent::GroupRemoved {
                by: Actor::Scim,
                group: Some("Ops".into()),
            },
            "group_removed",
            json!({"via": "scim", "group": "Ops"}),
        ),
        (
            UserEvent::IwmsAccountCreated {
                iwms_id: Some("W-1".into()),
            },
            "iwms_account_created",
            json!({"iwms_id": "W-1"}),
        ),
        (
            UserEvent::IwmsAccountIgnored {
                iwms_id: Some("W-2".into()),
                kept: Some("W-1".into()),
                why: Some("the user already has an IWMS ID".into()),
            },
            "iwms_account_ignored",
            json!({"iwms_id": "W-2", "kept": "W-1", "why": "the user already has an IWMS ID"}),
        ),
        (
            UserEvent::IwmsAccountIgnored {
                iwms_id: Some("W-2".into()),
                kept: None,
                why: Some("user 7 holds this IWMS ID".into()),
            },
            "iwms_account_ignored",
            json!({"iwms_id": "W-2", "why": "user 7 holds this IWMS ID"}),
        ),
    ]
}

#[test]
fn each_variant_is_stored_as_today_and_reads_back() {
    for (event, kind, detail) in stored() {
        assert_eq!(event.kind(), kind);
        // The stored text, byte for byte (serde_json sorts object keys).
        assert_eq!(event.detail().to_string(), detail.to_string(), "{kind}");
        assert_eq!(UserEvent::decode(kind, &detail), event, "{kind}");
    }
}

#[test]
fn a_row_this_version_cannot_read_is_kept_not_refused() {
    let odd = [
        ("iwms_linked", json!({})),
        ("deactivated", Value::String("not json".into())),
        ("attributes_updated", json!({"changes": [{"old": 1}]})),
    ];
    for (kind, detail) in odd {
        let e = UserEvent::decode(kind, &detail);
        assert!(matches!(e, UserEvent::Unknown { .. }), "{kind}: {e:?}");
        assert_eq!((e.kind(), e.detail()), (kind, detail));
        assert_eq!(e.iwms_event(), None);
    }
    assert_eq!(
        UserEvent::decode("iwms_linked", &json!({})).summary(),
        "iwms linked"
    );
    // Older rows without the fields added since still read.
    let e = UserEvent::decode("deactivated", &json!({"via": "scim"}));
    assert_eq!(e.summary(), "deactivated by SCIM");
    let e = UserEvent::decode("created", &json!({"via": "sso"}));
    assert_eq!(e.summary(), "created by just-in-time provisioning");
    let e = UserEvent::decode("reactivated", &json!({"via": "admin"}));
    assert_eq!(e.summary(), "reactivated by an admin");
}

#[test]
fn the_iwms_hears_the_lifecycle_and_the_changes() {
    let kinds: Vec<_> = stored()
        .into_iter()
        .map(|(e, kind, _)| (kind, e.iwms_event().map(EventKind::as_str)))
        .collect();
    for (kind, iwms) in kinds {
        let want = match kind {
            "created" => Some("user.created"),
            "attributes_updated" => Some("user.updated"),
            "deactivated" | "deprovisioned" => Some("user.deactivated"),
            "reactivated" => Some("user.reactivated"),
            "stale_flagged" => Some("user.flagged_stale"),
            "stale_cleared" => Some("user.unflagged"),
            _ => None,
        };
        assert_eq!(iwms, want, "{kind}");
    }
    let (e, _, detail) = &stored()[3];
    assert_eq!(e.iwms_changes().as_ref(), detail.get("changes"));
    assert_eq!(stored()[0].0.iwms_changes(), None);
}

#[test]
fn attribute_changes_read_old_to_new() {
    let e = UserEvent::decode(
        "attributes_updated",
        &json!({"via": "sso", "changes": [
            {"field": "first_name", "old": "Ann", "new": "Anne"},
            {"field": "iwms_id", "old": null, "new": "E1"},
            {"field": "external_id", "old": "x", "new": null},
        ]}),
    );
    assert_eq!(
        e.summary(),
        "first name: Ann → Anne; IWMS ID: (empty) → E1; external ID: x → (empty)"
    );
    let e = UserEvent::decode("attributes_updated", &json!({"via": "scim", "changes": []}));
    assert_eq!(e.summary(), "attributes updated by SCIM");
}

#[test]
fn lifecycle_events_say_who_did_it() {
    let s = |kind: &str, detail: Value| UserEvent::decode(kind, &detail).summary();
    assert_eq!(s("created", json!({"via": "scim"})), "created by SCIM");
    assert_eq!(
        s("created", json!({"via": "sso", "connection": "okta"})),
        "created by just-in-time provisioning (sign-in via okta)"
    );
    assert_eq!(
        s(
            "deactivated",
            json!({"via": "admin", "by": "root@acme.test", "sessions_ended": 2})
        ),
        "deactivated by admin root@acme.test (2 sessions ended)"
    );
    assert_eq!(
        s("deactivated", json!({"via": "scim", "sessions_ended": 0})),
        "deactivated by SCIM"
    );
    assert_eq!(
        s("reactivated", json!({"via": "admin", "by": "a"})),
        "reactivated by admin a"
    );
    assert_eq!(
        s("deprovisioned", json!({"via": "scim", "sessions_ended": 1})),
        "deprovisioned by SCIM (1 session ended)"
    );
    assert_eq!(
        s("stale_flagged", json!({"stale_after_days": 90})),
        "flagged stale: no sign-in for 90 days"
    );
    assert_eq!(
        s("stale_cleared", json!({"via": "sso"})),
        "stale flag cleared by a sign-in"
    );
    assert_eq!(
        s(
            "identity_linked",
            json!({"connection": "okta", "matched_by": "email"})
        ),
        "identity on okta linked (matched by email)"
    );
    assert_eq!(
        s(
            "identity_unlinked",
            json!({"via": "admin", "by": "a", "connection": "okta", "subject": "s1"})
        ),
        "identity on okta (subject s1) unlinked by admin a"
    );
    assert_eq!(
        s("group_added", json!({"via": "scim", "group": "Ops"})),
        "added to group Ops"
    );
    assert_eq!(
        s("scim_linked", json!({"matched_by": "email"})),
        "taken under SCIM (matched by email)"
    );
    assert_eq!(
        s("iwms_account_created", json!({"iwms_id": "W-1"})),
        "IWMS account created: W-1"
    );
    assert_eq!(
        s(
            "iwms_account_ignored",
            json!({"iwms_id": "W-1", "why": "taken"})
        ),
        "IWMS account W-1 ignored: taken"
    );
    assert_eq!(
        s(
            "iwms_account_linked",
            json!({"iwms_id": "W-2", "matched_by": "email"})
        ),
        "linked to existing IWMS account W-2 (matched by email)"
    );
    assert_eq!(
        s(
            "iwms_link_refused",
            json!({"iwms_id": "W-2", "matched_by": "email", "reason": "iwms_id_conflict", "holder": 4})
        ),
        "IWMS account W-2 (matched by email) not linked: iwms_id_conflict, user 4 holds this IWMS ID"
    );
}
