//! The admin console's user functions (`service::admin::users`), called on the app's database
//! after users arrive the real ways: SAML sign-ins and SCIM requests.
use diesel::prelude::*;
use serde_json::{Value, json};
use ssogate::domain::tenant::Tenant;
use ssogate::service::admin::users::{
    self as admin_users, SignInQuery, UserPage, UserQuery, UserViewKind,
};
use ssogate::service::admin::{self, AdminError, TenantInput};
use ssogate::storage::schema::users;

use crate::helpers::{TestApp, spawn_app};
use crate::saml_fixtures::TestIdp;
use crate::support::sign_in::acme;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ADMIN: &str = "root@acme.test";

/// Tenant `acme`: users created on sign-in, acme.test whitelisted, SAML connection `okta`, the
/// SCIM `employeeNumber` as IWMS ID.
async fn setup() -> (TestApp, TestIdp) {
    let app = spawn_app().await;
    let idp = acme(
        &app,
        TenantInput {
            scim_iwms_attribute: Some(Some("employeeNumber".into())),
            ..Default::default()
        },
    );
    (app, idp)
}

fn tenant(app: &TestApp, slug: &str) -> Tenant {
    app.with_db(|c| admin::tenant_by_slug(c, slug))
        .expect("tenant")
}

/// A SCIM user of `tenant`; returns its id.
async fn scim_user(app: &TestApp, tenant: &str, user_name: &str, given: &str, family: &str) -> i64 {
    scim_user_with(app, tenant, user_name, given, family, None).await
}

async fn scim_user_with(
    app: &TestApp,
    tenant: &str,
    user_name: &str,
    given: &str,
    family: &str,
    employee_number: Option<&str>,
) -> i64 {
    let mut body = json!({
        "schemas": [USER, ENTERPRISE], "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
    });
    if let Some(e) = employee_number {
        body[ENTERPRISE] = json!({"employeeNumber": e});
    }
    let (s, u) = app.scim(tenant).post("/Users", body).await;
    assert_eq!(s, 201, "{u}");
    u["id"].as_str().unwrap().parse().unwrap()
}

async fn scim_set_active(app: &TestApp, id: i64, active: bool) {
    let (s, u) = app
        .scim("acme")
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": active}}]}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
}

async fn scim_delete(app: &TestApp, id: i64) {
    let (s, u) = app.scim("acme").delete(&format!("/Users/{id}")).await;
    assert_eq!(s, 204, "{u}");
}

fn list(
    app: &TestApp,
    view: UserViewKind,
    search: Option<&str>,
    limit: i64,
    after: Option<i64>,
) -> Result<UserPage, AdminError> {
    let t = tenant(app, "acme");
    app.with_db(|c| {
        admin_users::list_users(
            c,
            &t,
            &UserQuery {
                view,
                search: search.map(str::to_owned),
                limit,
                after,
            },
        )
    })
}

fn ids(app: &TestApp, view: UserViewKind, search: Option<&str>) -> Vec<i64> {
    let page = list(app, view, search, 200, None).expect("page");
    page.users.iter().map(|u| u.user.id).collect()
}

fn user_id_by_email(app: &TestApp, email: &str) -> i64 {
    app.users("acme")
        .into_iter()
        .find(|u| u.email == email)
        .unwrap_or_else(|| panic!("no user {email}"))
        .id
}

#[tokio::test]
async fn views_partition_the_users_and_counts_agree() {
    let (app, _) = setup().await;
    let active = scim_user(&app, "acme", "active@acme.test", "Ann", "Active").await;
    let deactivated = scim_user(&app, "acme", "off@acme.test", "Otto", "Off").await;
    let deprovisioned = scim_user(&app, "acme", "gone@acme.test", "Gina", "Gone").await;
    let stale = scim_user(&app, "acme", "stale@acme.test", "Sam", "Stale").await;
    let active2 = scim_user(&app, "acme", "active2@acme.test", "Abe", "Active").await;
    scim_set_active(&app, deactivated, false).await;
    scim_delete(&app, deprovisioned).await;
    // Nobody signed in for 100 days: the stale job flags the user.
    app.with_db(|c| {
        diesel::update(users::table.filter(users::id.eq(stale)))
            .set(users::created_at.eq(app.now() - 100 * 86_400))
            .execute(c)
    })
    .unwrap();
    let flagged = app
        .with_db(|c| ssogate::service::stale::flag_all(c, app.now()))
        .unwrap();
    assert_eq!(flagged[0].flagged, 1);

    assert_eq!(ids(&app, UserViewKind::Active, None), [active2, active]);
    assert_eq!(ids(&app, UserViewKind::Stale, None), [stale]);
    assert_eq!(ids(&app, UserViewKind::Deactivated, None), [deactivated]);
    assert_eq!(
        ids(&app, UserViewKind::Deprovisioned, None),
        [deprovisioned]
    );
    assert_eq!(
        ids(&app, UserViewKind::All, None),
        [active2, stale, deprovisioned, deactivated, active],
        "newest first"
    );
    let page = list(&app, UserViewKind::Stale, None, 10, None).unwrap();
    assert!(page.users[0].user.stale);
    assert_eq!(page.next_after, None);

    let t = tenant(&app, "acme");
    let counts = app.with_db(|c| admin_users::user_counts(c, &t)).unwrap();
    assert_eq!(
        (
            counts.active,
            counts.stale,
            counts.deactivated,
            counts.deprovisioned,
            counts.all
        ),
        (2, 1, 1, 1, 5)
    );
    let v = serde_json::to_value(counts).unwrap();
    assert_eq!(v["deprovisioned"], 1);
    assert_eq!(
        serde_json::to_value(UserViewKind::Deprovisioned).unwrap(),
        "deprovisioned"
    );
}

#[tokio::test]
async fn keyset_pages_return_every_user_exactly_once() {
    let (app, _) = setup().await;
    let mut created = Vec::new();
    for i in 0..23 {
        created.push(scim_user(&app, "acme", &format!("user{i:02}@acme.test"), "U", "Ser").await);
    }
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = list(&app, UserViewKind::All, None, 5, after).unwrap();
        pages += 1;
        assert!(page.users.len() <= 5);
        seen.extend(page.users.iter().map(|u| u.user.id));
        match page.next_after {
            Some(a) => {
                assert_eq!(Some(&a), seen.last(), "the cursor is the page's last id");
                after = Some(a);
            }
            None => break,
        }
    }
    assert_eq!(pages, 5);
    created.reverse();
    assert_eq!(seen, created, "each user once, newest first");

    // An exactly full last page says there is no next one.
    let page = list(&app, UserViewKind::All, None, 3, Some(created[19])).unwrap();
    assert_eq!(page.users.len(), 3);
    assert_eq!(page.next_after, None);

    for limit in [0, 201] {
        assert!(matches!(
            list(&app, UserViewKind::All, None, limit, None),
            Err(AdminError::Invalid { field: "limit", .. })
        ));
    }
    assert!(matches!(
        list(&app, UserViewKind::All, Some(&"a".repeat(201)), 10, None),
        Err(AdminError::Invalid { field: "q", .. })
    ));
    assert!(list(&app, UserViewKind::All, Some(&"a".repeat(200)), 10, None).is_ok());
}

#[tokio::test]
async fn search_matches_prefixes_case_insensitively() {
    let (app, _) = setup().await;
    let ann = scim_user(&app, "acme", "ann.smith@acme.test", "Ann", "Smith").await;
    let bob = scim_user(&app, "acme", "bob@acme.test", "Bob", "Annaberg").await;
    let carl = scim_user_with(
        &app,
        "acme",
        "carl@acme.test",
        "Carl",
        "Jones",
        Some("E-100"),
    )
    .await;

    let search = |q: &str| ids(&app, UserViewKind::All, Some(q));
    assert_eq!(search("ANN"), [bob, ann], "first name or last name");
    assert_eq!(search("  ann  "), [bob, ann], "trimmed");
    assert_eq!(search("Ann.S"), [ann], "email");
    assert_eq!(search("SMI"), [ann], "last name");
    assert_eq!(search("e-1"), [carl], "IWMS ID");
    assert_eq!(search("ann smi"), [ann], "first and last name");
    assert_eq!(search("nn"), Vec::<i64>::new(), "prefixes, not substrings");
    assert_eq!(search("zed"), Vec::<i64>::new());
    assert_eq!(search(""), [carl, bob, ann], "a blank term lists everyone");

    scim_set_active(&app, bob, false).await;
    assert_eq!(ids(&app, UserViewKind::Active, Some("ann")), [ann]);
    assert_eq!(ids(&app, UserViewKind::Deactivated, Some("ann")), [bob]);
}

#[tokio::test]
async fn last_sign_in_and_history_show_a_failure_with_its_reason() {
    let (app, idp) = setup().await;
    assert_eq!(
        app.sign_in(&idp)
            .name_id("subject-ada")
            .email("ada@acme.test")
            .first_name("Ada")
            .status()
            .await,
        303
    );
    let id = user_id_by_email(&app, "ada@acme.test");
    let t = tenant(&app, "acme");
    let item = &list(&app, UserViewKind::All, None, 10, None).unwrap().users[0];
    let last = item.last_sign_in.as_ref().expect("a sign-in");
    assert_eq!(
        (last.outcome.as_str(), last.reason.as_str()),
        ("success", "success")
    );

    app.with_db(|c| {
        admin_users::deactivate_user(
            c,
            &t,
            id,
            &ssogate::domain::audit::Actor::Console {
                email: ADMIN.into(),
            },
            app.now(),
        )
    })
    .unwrap();
    assert_eq!(
        app.sign_in(&idp)
            .name_id("subject-ada")
            .email("ada@acme.test")
            .first_name("Ada")
            .status()
            .await,
        403
    );
    let page = list(&app, UserViewKind::Deactivated, None, 10, None).unwrap();
    let last = page.users[0].last_sign_in.as_ref().expect("a sign-in");
    assert_eq!(
        (last.outcome.as_str(), last.reason.as_str()),
        ("failure", "user_deactivated")
    );
    let v = serde_json::to_value(&page).unwrap();
    assert_eq!(v["users"][0]["email"], "ada@acme.test", "flat JSON");
    assert_eq!(v["users"][0]["last_sign_in"]["reason"], "user_deactivated");

    // The history, filtered.
    let q = |q: SignInQuery| app.with_db(|c| admin_users::sign_ins(c, &t, &q));
    let failures = q(SignInQuery {
        outcome: Some("failure".into()),
        limit: 10,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(failures.items.len(), 1);
    let f = &failures.items[0];
    assert_eq!(
        (
            f.reason.as_str(),
            f.connection.as_deref(),
            f.user_id,
            f.email.as_deref(),
            f.subject.as_deref()
        ),
        (
            "user_deactivated",
            Some("okta"),
            Some(id),
            Some("ada@acme.test"),
            Some("subject-ada")
        )
    );
    let all = q(SignInQuery {
        connection: Some("okta".into()),
        user: Some(id),
        limit: 1,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(all.items[0].id, f.id, "newest first");
    let older = q(SignInQuery {
        limit: 1,
        before: all.next_before,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(older.items[0].reason, "success");
    assert_eq!(older.next_before, None);
    let by_reason = q(SignInQuery {
        reason: Some("success".into()),
        limit: 10,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(by_reason.items.len(), 1);

    assert!(matches!(
        q(SignInQuery {
            outcome: Some("failed".into()),
            limit: 10,
            ..Default::default()
        }),
        Err(AdminError::Invalid {
            field: "outcome",
            ..
        })
    ));
    assert!(matches!(
        q(SignInQuery {
            reason: Some("no_such_reason".into()),
            limit: 10,
            ..Default::default()
        }),
        Err(AdminError::Invalid {
            field: "reason",
            ..
        })
    ));
    assert!(matches!(
        q(SignInQuery {
            connection: Some("nope".into()),
            limit: 10,
            ..Default::default()
        }),
        Err(AdminError::NotFound(_))
    ));
    assert!(matches!(
        q(SignInQuery {
            limit: 0,
            ..Default::default()
        }),
        Err(AdminError::Invalid { field: "limit", .. })
    ));
    assert!(admin_users::reason_codes().contains(&"user_deactivated"));
}

fn kinds(timeline: &[admin_users::TimelineEntry]) -> Vec<&str> {
    timeline.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test]
async fn timeline_and_deactivation_end_to_end() {
    let (app, idp) = setup().await;
    let t = tenant(&app, "acme");
    assert_eq!(
        app.sign_in(&idp)
            .name_id("subject-ada")
            .email("ada@acme.test")
            .first_name("Ada")
            .status()
            .await,
        303
    );
    let id = user_id_by_email(&app, "ada@acme.test");
    // The next sign-in or event lands in a later second (timestamps are unix seconds).
    app.advance(1);
    assert_eq!(
        app.sign_in(&idp)
            .name_id("subject-ada")
            .email("ada@acme.test")
            .first_name("Adeline")
            .status()
            .await,
        303
    );
    assert_eq!(app.me().await.status(), 200);
    app.advance(1);

    let item = app
        .with_db(|c| {
            admin_users::deactivate_user(
                c,
                &t,
                id,
                &ssogate::domain::audit::Actor::Console {
                    email: ADMIN.into(),
                },
                app.now(),
            )
        })
        .unwrap();
    assert_eq!(item.user.status, "deactivated");
    assert_eq!(app.me().await.status(), 401, "the session ended");
    assert!(matches!(
        app.with_db(|c| admin_users::deactivate_user(
            c,
            &t,
            id,
            &ssogate::domain::audit::Actor::Console {
                email: ADMIN.into()
            },
            app.now()
        )),
        Err(AdminError::Conflict(_))
    ));
    assert_eq!(
        app.sign_in(&idp)
            .name_id("subject-ada")
            .email("ada@acme.test")
            .first_name("Adeline")
            .status()
            .await,
        403
    );
    app.advance(1);

    let item = app
        .with_db(|c| {
            admin_users::reactivate_user(
                c,
                &t,
                id,
                &ssogate::domain::audit::Actor::Console {
                    email: ADMIN.into(),
                },
                app.now(),
            )
        })
        .unwrap();
    assert_eq!(item.user.status, "active");
    assert!(matches!(
        app.with_db(|c| admin_users::reactivate_user(
            c,
            &t,
            id,
            &ssogate::domain::audit::Actor::Console {
                email: ADMIN.into()
            },
            app.now()
        )),
        Err(AdminError::Conflict(_))
    ));
    assert_eq!(
        app.sign_in(&idp)
            .name_id("subject-ada")
            .email("ada@acme.test")
            .first_name("Adeline")
            .status()
            .await,
        303
    );
    assert_eq!(app.me().await.status(), 200);

    let d = app
        .with_db(|c| admin_users::user_detail(c, &t, id))
        .unwrap();
    assert_eq!(
        kinds(&d.timeline),
        [
            "created",
            "sign_in_succeeded",
            "attributes_updated",
            "sign_in_succeeded",
            "deactivated",
            "sign_in_failed",
            "reactivated",
            "sign_in_succeeded"
        ]
    );
    let at: Vec<i64> = d.timeline.iter().map(|e| e.at).collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "chronological: {at:?}");
    assert!(!d.timeline_truncated);
    let summaries: Vec<&str> = d.timeline.iter().map(|e| e.summary.as_str()).collect();
    assert_eq!(
        summaries[0],
        "created by just-in-time provisioning (sign-in via okta)"
    );
    assert_eq!(summaries[1], "signed in (okta)");
    assert_eq!(summaries[2], "first name: Ada → Adeline");
    assert!(
        summaries[4].starts_with("deactivated by admin root@acme.test ("),
        "{summaries:?}"
    );
    assert_eq!(summaries[5], "sign-in failed: user_deactivated (okta)");
    assert_eq!(summaries[6], "reactivated by admin root@acme.test");
    assert_eq!(d.timeline[4].detail["via"], "admin");
    assert_eq!(d.timeline[4].detail["by"], ADMIN);
    assert!(d.timeline[4].detail["sessions_ended"].as_u64().unwrap() >= 1);
    assert_eq!(d.timeline[5].detail["reason"], "user_deactivated");

    assert_eq!(d.user.user.first_name.as_deref(), Some("Adeline"));
    assert_eq!(d.user.user.created_via, "sso");
    assert_eq!(d.identities.len(), 1);
    assert_eq!(
        (
            d.identities[0].connection.as_str(),
            d.identities[0].protocol.as_str(),
            d.identities[0].subject.as_str()
        ),
        ("okta", "saml", "subject-ada")
    );
    assert_eq!(d.last_sign_in.as_ref().unwrap().outcome, "success");
    let v: Value = serde_json::to_value(&d).unwrap();
    assert_eq!(v["user"]["email"], "ada@acme.test");
    assert_eq!(v["timeline"][2]["detail"]["changes"][0]["new"], "Adeline");
}

#[tokio::test]
async fn detail_shows_scim_attributes_and_groups() {
    let (app, _) = setup().await;
    let body = json!({
        "schemas": [USER, ENTERPRISE], "userName": "grace@acme.test", "externalId": "00u-grace",
        "displayName": "Grace H.", "nickName": "Amazing", "title": "Rear Admiral",
        "name": {"givenName": "Grace", "familyName": "Hopper"},
        "emails": [{"value": "grace@acme.test", "type": "work", "primary": true},
                   {"value": "grace@navy.example", "type": "home"}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        ENTERPRISE: {"employeeNumber": "E-7", "department": "Navy", "manager": {"value": "42"}},
    });
    let (s, u) = app.scim("acme").post("/Users", body).await;
    assert_eq!(s, 201, "{u}");
    let id: i64 = u["id"].as_str().unwrap().parse().unwrap();
    let (s, g) = app
        .scim("acme")
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "Engineering", "members": [{"value": id.to_string()}]}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let t = tenant(&app, "acme");
    let d = app
        .with_db(|c| admin_users::user_detail(c, &t, id))
        .unwrap();
    let r = &d.user;
    assert_eq!(
        (
            r.user_name.as_deref(),
            r.external_id.as_deref(),
            r.display_name.as_deref(),
            r.nick_name.as_deref(),
            r.title.as_deref(),
            r.department.as_deref(),
            r.employee_number.as_deref(),
            r.manager.as_deref(),
        ),
        (
            Some("grace@acme.test"),
            Some("00u-grace"),
            Some("Grace H."),
            Some("Amazing"),
            Some("Rear Admiral"),
            Some("Navy"),
            Some("E-7"),
            Some("42")
        )
    );
    assert_eq!(r.user.iwms_id.as_deref(), Some("E-7"));
    // Attributes without a column of their own are shown too: the whole SCIM document.
    let doc = r.scim_document.as_ref().expect("the SCIM document");
    assert_eq!(doc["phoneNumbers"][0]["value"], "+1 555 0100");
    assert_eq!(doc["emails"][1]["value"], "grace@navy.example");
    assert_eq!(d.groups, ["Engineering"]);
    assert_eq!(kinds(&d.timeline), ["created", "group_added"]);
    assert_eq!(d.timeline[0].summary, "created by SCIM");
    assert_eq!(d.timeline[1].summary, "added to group Engineering");
    assert!(d.last_sign_in.is_none());
}

#[tokio::test]
async fn a_deprovisioned_user_cannot_be_reactivated_by_an_admin() {
    let (app, _) = setup().await;
    let id = scim_user(&app, "acme", "gone@acme.test", "Gina", "Gone").await;
    scim_delete(&app, id).await;
    let t = tenant(&app, "acme");
    match app.with_db(|c| {
        admin_users::reactivate_user(
            c,
            &t,
            id,
            &ssogate::domain::audit::Actor::Console {
                email: ADMIN.into(),
            },
            app.now(),
        )
    }) {
        Err(AdminError::Conflict(m)) => {
            assert!(m.contains("deprovisioned by SCIM"), "{m}");
            assert!(m.contains("provision the user again"), "{m}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        app.with_db(|c| admin_users::deactivate_user(
            c,
            &t,
            id,
            &ssogate::domain::audit::Actor::Console {
                email: ADMIN.into()
            },
            app.now()
        )),
        Err(AdminError::Conflict(_))
    ));
    let d = app
        .with_db(|c| admin_users::user_detail(c, &t, id))
        .unwrap();
    assert_eq!(
        kinds(&d.timeline),
        ["created", "deprovisioned"],
        "nothing recorded"
    );

    // A user SCIM deactivated (not deleted) can be reactivated.
    let other = scim_user(&app, "acme", "off@acme.test", "Otto", "Off").await;
    scim_set_active(&app, other, false).await;
    let item = app
        .with_db(|c| {
            admin_users::reactivate_user(
                c,
                &t,
                other,
                &ssogate::domain::audit::Actor::Console {
                    email: ADMIN.into(),
                },
                app.now(),
            )
        })
        .unwrap();
    assert_eq!(item.user.status, "active");
    assert!(matches!(
        app.with_db(|c| admin_users::reactivate_user(
            c,
            &t,
            other,
            &ssogate::domain::audit::Actor::Console { email: " ".into() },
            app.now()
        )),
        Err(AdminError::Invalid { field: "actor", .. })
    ));
}

#[tokio::test]
async fn unlinking_removes_only_the_link_and_the_next_sign_in_matches_again() {
    let (app, idp) = setup().await;
    assert_eq!(
        app.sign_in(&idp)
            .name_id("subject-ada")
            .email("ada@acme.test")
            .first_name("Ada")
            .status()
            .await,
        303
    );
    assert_eq!(
        app.sign_in(&idp)
            .name_id("subject-bob")
            .email("bob@acme.test")
            .first_name("Bob")
            .status()
            .await,
        303
    );
    let (ada, bob) = (
        user_id_by_email(&app, "ada@acme.test"),
        user_id_by_email(&app, "bob@acme.test"),
    );
    let t = tenant(&app, "acme");
    let detail = |id| {
        app.with_db(|c| admin_users::user_detail(c, &t, id))
            .unwrap()
    };
    let ada_link = detail(ada).identities[0].id;
    let bob_link = detail(bob).identities[0].id;

    assert!(matches!(
        app.with_db(|c| admin_users::unlink_identity(
            c,
            &t,
            ada,
            bob_link,
            &ssogate::domain::audit::Actor::Console {
                email: ADMIN.into()
            },
            app.now()
        )),
        Err(AdminError::NotFound(_))
    ));
    assert_eq!(detail(bob).identities.len(), 1, "bob's link stays");

    app.with_db(|c| {
        admin_users::unlink_identity(
            c,
            &t,
            ada,
            ada_link,
            &ssogate::domain::audit::Actor::Console {
                email: ADMIN.into(),
            },
            app.now(),
        )
    })
    .unwrap();
    let d = detail(ada);
    assert!(d.identities.is_empty());
    let e = d
        .timeline
        .iter()
        .find(|e| e.kind == "identity_unlinked")
        .unwrap();
    assert_eq!(e.detail["connection"], "okta");
    assert_eq!(e.detail["subject"], "subject-ada");
    assert_eq!(e.detail["via"], "admin");
    assert_eq!(e.detail["by"], ADMIN);
    assert_eq!(
        e.summary,
        "identity on okta (subject subject-ada) unlinked by admin root@acme.test"
    );
    assert!(matches!(
        app.with_db(|c| admin_users::unlink_identity(
            c,
            &t,
            ada,
            ada_link,
            &ssogate::domain::audit::Actor::Console {
                email: ADMIN.into()
            },
            app.now()
        )),
        Err(AdminError::NotFound(_))
    ));

    // The same person signs in again: matched by email (acme.test is whitelisted), relinked.
    assert_eq!(
        app.sign_in(&idp)
            .name_id("subject-ada")
            .email("ada@acme.test")
            .first_name("Ada")
            .status()
            .await,
        303
    );
    assert_eq!(app.users("acme").len(), 2, "no new user");
    let d = detail(ada);
    assert_eq!(d.identities.len(), 1);
    assert_eq!(d.identities[0].subject, "subject-ada");
    assert_ne!(d.identities[0].id, ada_link);
    let relinked = d
        .timeline
        .iter()
        .rfind(|e| e.kind == "identity_linked")
        .unwrap();
    assert_eq!(relinked.detail["matched_by"], "email");
}

#[tokio::test]
async fn another_tenants_users_are_not_found() {
    let (app, idp) = setup().await;
    app.create_tenant("globex", TenantInput::default());
    let theirs = scim_user(&app, "globex", "hank@globex.test", "Hank", "Scorpio").await;
    assert_eq!(
        app.sign_in(&idp)
            .name_id("subject-ada")
            .email("ada@acme.test")
            .first_name("Ada")
            .status()
            .await,
        303
    );
    let ours = user_id_by_email(&app, "ada@acme.test");
    let t = tenant(&app, "acme");
    let ada_link = app
        .with_db(|c| admin_users::user_detail(c, &t, ours))
        .unwrap()
        .identities[0]
        .id;

    let not_found = |r: Result<(), AdminError>| matches!(r, Err(AdminError::NotFound(_)));
    assert!(not_found(
        app.with_db(|c| admin_users::user_detail(c, &t, theirs))
            .map(|_| ())
    ));
    assert!(not_found(
        app.with_db(|c| admin_users::deactivate_user(
            c,
            &t,
            theirs,
            &ssogate::domain::audit::Actor::Console {
                email: ADMIN.into()
            },
            app.now()
        ))
        .map(|_| ())
    ));
    assert!(not_found(
        app.with_db(|c| admin_users::reactivate_user(
            c,
            &t,
            theirs,
            &ssogate::domain::audit::Actor::Console {
                email: ADMIN.into()
            },
            app.now()
        ))
        .map(|_| ())
    ));
    assert!(not_found(app.with_db(|c| {
        admin_users::unlink_identity(
            c,
            &t,
            theirs,
            ada_link,
            &ssogate::domain::audit::Actor::Console {
                email: ADMIN.into(),
            },
            app.now(),
        )
    })));
    assert_eq!(ids(&app, UserViewKind::All, None), [ours]);
    assert_eq!(
        ids(&app, UserViewKind::All, Some("hank")),
        Vec::<i64>::new()
    );
    let g = tenant(&app, "globex");
    assert!(not_found(
        app.with_db(|c| admin_users::user_detail(c, &g, ours))
            .map(|_| ())
    ));
    let counts = app.with_db(|c| admin_users::user_counts(c, &g)).unwrap();
    assert_eq!((counts.all, counts.active), (1, 1));
    let history = app
        .with_db(|c| {
            admin_users::sign_ins(
                c,
                &g,
                &SignInQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
        })
        .unwrap();
    assert!(history.items.is_empty());
}
