use super::*;
use crate::domain::email::EmailDomain;
use crate::domain::ids::TenantId;

fn policy(auto: bool, domains: &[&str], iwms: bool) -> TenantPolicy {
    TenantPolicy {
        auto_create_users: auto,
        whitelisted_domains: domains
            .iter()
            .map(|d| EmailDomain::parse(d).unwrap())
            .collect(),
        iwms_attribute_configured: iwms,
    }
}

fn user(id: i64, email: &str, iwms: Option<&str>) -> User {
    User {
        id: UserId(id),
        tenant_id: TenantId(1),
        email: EmailAddress::parse(email).unwrap(),
        first_name: Some("Old".into()),
        last_name: Some("Name".into()),
        iwms_id: iwms.map(str::to_owned),
        status: UserStatus::Active,
        created_via: "sso".into(),
        stale_since: None,
        last_login_at: None,
        created_at: 0,
        updated_at: 0,
        deprovisioned_at: None,
    }
}

fn cand(u: User, linked: Option<&str>) -> Option<Candidate> {
    Some(Candidate {
        user: u,
        linked_subject: linked.map(str::to_owned),
    })
}

fn claims(email: &str, iwms: Option<&str>) -> MappedClaims {
    MappedClaims {
        email: EmailAddress::parse(email).ok(),
        invalid_email: None,
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        iwms_id: iwms.map(str::to_owned),
        email_unverified: false,
        admin_role: false,
        ..Default::default()
    }
}

fn reason(d: &Decision) -> Option<Reason> {
    match d {
        Decision::Reject { reason, .. } => Some(*reason),
        _ => None,
    }
}

#[test]
fn existing_link_wins_and_updates_attributes() {
    let cands = Candidates {
        by_link: cand(user(1, "a@x.com", None), Some("sub")),
        ..Default::default()
    };
    let d = decide(
        &policy(false, &[], true),
        "sub",
        &claims("a@x.com", Some("W1")),
        &cands,
    );
    let Decision::SignIn {
        user_id,
        matched_by,
        create_link,
        changes,
        ..
    } = d
    else {
        panic!("{d:?}")
    };
    assert_eq!(
        (user_id, matched_by, create_link),
        (UserId(1), MatchedBy::Link, false)
    );
    let fields: Vec<_> = changes.iter().map(|c| c.field).collect();
    assert_eq!(fields, [Field::FirstName, Field::LastName, Field::IwmsId]);
    assert_eq!(changes[0].old.as_deref(), Some("Old"));
}

#[test]
fn absent_claims_do_not_blank_values() {
    let u = user(1, "a@x.com", Some("W1"));
    let c = MappedClaims {
        email: None,
        ..Default::default()
    };
    assert!(changes(&u, &c).is_empty());
}

#[test]
fn iwms_match_comes_before_email_match() {
    let cands = Candidates {
        by_iwms: cand(user(2, "other@x.com", Some("W1")), None),
        by_email: cand(user(3, "a@x.com", None), None),
        ..Default::default()
    };
    let d = decide(
        &policy(true, &["x.com"], true),
        "sub",
        &claims("a@x.com", Some("W1")),
        &cands,
    );
    assert!(
        matches!(
            d,
            Decision::SignIn {
                user_id: UserId(2),
                matched_by: MatchedBy::IwmsId,
                create_link: true,
                ..
            }
        ),
        "{d:?}"
    );
}

#[test]
fn email_match_when_no_iwms_id_is_asserted() {
    let cands = Candidates {
        by_email: cand(user(3, "a@x.com", None), None),
        ..Default::default()
    };
    let d = decide(
        &policy(true, &["x.com"], false),
        "sub",
        &claims("a@x.com", None),
        &cands,
    );
    assert!(
        matches!(
            d,
            Decision::SignIn {
                user_id: UserId(3),
                matched_by: MatchedBy::Email,
                ..
            }
        ),
        "{d:?}"
    );
}

#[test]
fn email_match_requires_whitelisted_domain() {
    let cands = Candidates {
        by_email: cand(user(3, "a@x.com", None), None),
        ..Default::default()
    };
    let d = decide(
        &policy(true, &[], false),
        "sub",
        &claims("a@x.com", None),
        &cands,
    );
    assert_eq!(reason(&d), Some(Reason::EmailLinkNotAllowed));
    let d = decide(
        &policy(true, &["y.com"], false),
        "sub",
        &claims("a@x.com", None),
        &cands,
    );
    assert_eq!(reason(&d), Some(Reason::EmailLinkNotAllowed));
}

#[test]
fn user_linked_to_another_identity_is_never_relinked() {
    let cands = Candidates {
        by_email: cand(user(3, "a@x.com", None), Some("someone-else")),
        ..Default::default()
    };
    let d = decide(
        &policy(true, &["x.com"], false),
        "sub",
        &claims("a@x.com", None),
        &cands,
    );
    assert_eq!(reason(&d), Some(Reason::IdentityConflict));
    let cands = Candidates {
        by_iwms: cand(user(3, "a@x.com", Some("W1")), Some("someone-else")),
        ..Default::default()
    };
    let d = decide(
        &policy(true, &["x.com"], true),
        "sub",
        &claims("a@x.com", Some("W1")),
        &cands,
    );
    assert_eq!(reason(&d), Some(Reason::IdentityConflict));
}

#[test]
fn iwms_id_held_by_someone_else_is_not_moved() {
    let cands = Candidates {
        by_link: cand(user(1, "a@x.com", None), Some("sub")),
        by_iwms: cand(user(2, "b@x.com", Some("W1")), None),
        ..Default::default()
    };
    let d = decide(
        &policy(true, &[], true),
        "sub",
        &claims("a@x.com", Some("W1")),
        &cands,
    );
    assert_eq!(reason(&d), Some(Reason::IwmsIdConflict));
}

#[test]
fn creation_rules() {
    let none = Candidates::default();
    assert_eq!(
        reason(&decide(
            &policy(false, &[], false),
            "s",
            &claims("a@x.com", None),
            &none
        )),
        Some(Reason::NotSetUp)
    );
    assert!(matches!(
        decide(
            &policy(true, &[], false),
            "s",
            &claims("a@x.com", None),
            &none
        ),
        Decision::Create(_)
    ));
    assert!(matches!(
        decide(
            &policy(true, &["x.com"], false),
            "s",
            &claims("a@x.com", None),
            &none
        ),
        Decision::Create(_)
    ));
    assert_eq!(
        reason(&decide(
            &policy(true, &["y.com"], false),
            "s",
            &claims("a@x.com", None),
            &none
        )),
        Some(Reason::EmailDomainNotAllowed)
    );
}

#[test]
fn missing_or_invalid_email_cannot_create() {
    let none = Candidates::default();
    let c = MappedClaims::default();
    assert_eq!(
        reason(&decide(&policy(true, &[], false), "s", &c, &none)),
        Some(Reason::MissingEmail)
    );
    let c = MappedClaims {
        invalid_email: Some("nope".into()),
        ..Default::default()
    };
    assert_eq!(
        reason(&decide(&policy(true, &[], false), "s", &c, &none)),
        Some(Reason::InvalidEmail)
    );
}

#[test]
fn deactivated_users_cannot_sign_in_and_stale_flag_clears() {
    let mut u = user(1, "a@x.com", None);
    u.status = UserStatus::Deactivated;
    let cands = Candidates {
        by_link: cand(u, Some("sub")),
        ..Default::default()
    };
    assert_eq!(
        reason(&decide(
            &policy(true, &[], false),
            "sub",
            &claims("a@x.com", None),
            &cands
        )),
        Some(Reason::UserDeactivated)
    );

    let mut u = user(1, "a@x.com", None);
    u.stale_since = Some(5);
    let cands = Candidates {
        by_link: cand(u, Some("sub")),
        ..Default::default()
    };
    assert!(matches!(
        decide(
            &policy(true, &[], false),
            "sub",
            &claims("a@x.com", None),
            &cands
        ),
        Decision::SignIn {
            clear_stale: true,
            ..
        }
    ));
}

#[test]
fn unverified_email_never_links() {
    let cands = Candidates {
        by_email: cand(user(3, "a@x.com", None), None),
        ..Default::default()
    };
    let mut c = claims("a@x.com", None);
    c.email_unverified = true;
    assert_eq!(
        reason(&decide(&policy(true, &["x.com"], false), "sub", &c, &cands)),
        Some(Reason::EmailNotVerified)
    );
    // Nor does it create an account: the address would be trusted from then on.
    assert_eq!(
        reason(&decide(
            &policy(true, &[], false),
            "sub",
            &c,
            &Candidates::default()
        )),
        Some(Reason::EmailNotVerified)
    );
    assert_eq!(
        reason(&decide(
            &policy(true, &["x.com"], false),
            "sub",
            &c,
            &Candidates::default()
        )),
        Some(Reason::EmailNotVerified)
    );
    // A user already linked to the subject still signs in (the link, not the email, is
    // what identifies them).
    let linked = Candidates {
        by_link: cand(user(3, "a@x.com", None), Some("sub")),
        ..Default::default()
    };
    assert!(matches!(
        decide(&policy(true, &["x.com"], false), "sub", &c, &linked),
        Decision::SignIn { .. }
    ));
}

#[test]
fn scim_user_is_matched_by_subject_only_under_the_email_rule() {
    let scim_user = || cand(user(4, "bob@x.com", None), None);
    let signed_in_as = |d: &Decision| match d {
        Decision::SignIn {
            user_id,
            matched_by,
            ..
        } => Some((*user_id, *matched_by)),
        _ => None,
    };
    let no_email = MappedClaims {
        email: None,
        ..claims("bob@x.com", None)
    };
    // The NameID is the SCIM userName/externalId, no email asserted (or the same one): linked.
    for c in [&no_email, &claims("BOB@x.com", None)] {
        let cands = Candidates {
            by_scim: scim_user(),
            ..Default::default()
        };
        let d = decide(&policy(false, &["x.com"], false), "bob", c, &cands);
        assert_eq!(signed_in_as(&d), Some((UserId(4), MatchedBy::ScimId)));
    }
    // The user's domain is not whitelisted: no link by subject (nor by email).
    let cands = Candidates {
        by_scim: scim_user(),
        ..Default::default()
    };
    let d = decide(&policy(false, &["y.com"], false), "bob", &no_email, &cands);
    assert_eq!(reason(&d), Some(Reason::MissingEmail));
    // Another email is asserted (a partner IdP sending the CEO's username as NameID).
    let cands = Candidates {
        by_scim: scim_user(),
        ..Default::default()
    };
    let d = decide(
        &policy(false, &["x.com"], false),
        "bob",
        &claims("mallory@evil.test", None),
        &cands,
    );
    assert!(signed_in_as(&d).is_none(), "{d:?}");
    // Unverified email: no link.
    let mut unverified = claims("bob@x.com", None);
    unverified.email_unverified = true;
    let cands = Candidates {
        by_scim: scim_user(),
        ..Default::default()
    };
    let d = decide(&policy(true, &["x.com"], false), "bob", &unverified, &cands);
    assert!(signed_in_as(&d).is_none(), "{d:?}");
    // Already linked to another identity on this connection: refused, not relinked.
    let cands = Candidates {
        by_scim: cand(user(4, "bob@x.com", None), Some("someone-else")),
        ..Default::default()
    };
    let d = decide(&policy(true, &["x.com"], false), "bob", &no_email, &cands);
    assert_eq!(reason(&d), Some(Reason::IdentityConflict));
    // A deactivated (SCIM active=false) user cannot sign in.
    let mut off = user(4, "bob@x.com", None);
    off.status = UserStatus::Deactivated;
    let cands = Candidates {
        by_scim: cand(off, None),
        ..Default::default()
    };
    let d = decide(&policy(true, &["x.com"], false), "bob", &no_email, &cands);
    assert_eq!(reason(&d), Some(Reason::UserDeactivated));
}

#[test]
fn admins_get_an_account_where_users_are_not_created() {
    let off = policy(false, &["x.com"], false);
    let none = Candidates::default();
    let granted = Candidates {
        email_granted_admin: true,
        ..Default::default()
    };
    let mut role = claims("a@x.com", None);
    role.admin_role = true;
    assert_eq!(
        reason(&decide(&off, "s", &claims("a@x.com", None), &none)),
        Some(Reason::NotSetUp)
    );
    assert!(matches!(
        decide(&off, "s", &claims("a@x.com", None), &granted),
        Decision::Create(_)
    ));
    assert!(matches!(
        decide(&off, "s", &role, &none),
        Decision::Create(_)
    ));
    // The other creation rules still hold for them.
    let mut unverified = claims("a@x.com", None);
    unverified.email_unverified = true;
    assert_eq!(
        reason(&decide(&off, "s", &unverified, &granted)),
        Some(Reason::EmailNotVerified)
    );
    assert_eq!(
        reason(&decide(&off, "s", &claims("a@y.com", None), &granted)),
        Some(Reason::EmailDomainNotAllowed)
    );
    // With no domain whitelisted, nobody is created this way.
    let open = policy(false, &[], false);
    assert_eq!(
        reason(&decide(&open, "s", &claims("a@x.com", None), &granted)),
        Some(Reason::EmailDomainNotAllowed)
    );
    assert_eq!(
        reason(&decide(&open, "s", &role, &none)),
        Some(Reason::EmailDomainNotAllowed)
    );
    assert_eq!(
        reason(&decide(&open, "s", &claims("a@x.com", None), &none)),
        Some(Reason::NotSetUp)
    );
}
