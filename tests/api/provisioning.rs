//! Just-in-time provisioning end to end: matching, creation rules, updates, conflicts, races.
use ssogate::service::admin::{self, TenantInput};

use crate::helpers::{TestApp, default_saml_input, spawn_app};
use crate::saml_fixtures::{Resp, TestIdp};

async fn tenant(auto: bool, domains: &[&str], iwms: Option<&str>) -> (TestApp, TestIdp) {
    let app = spawn_app().await;
    app.create_tenant(
        "acme",
        TenantInput {
            auto_create_users: Some(auto),
            iwms_attribute: iwms.map(|i| Some(i.to_owned())),
            ..Default::default()
        },
    );
    for d in domains {
        app.add_domain("acme", d);
    }
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    app.add_connection("acme", default_saml_input("okta", &idp));
    (app, idp)
}

#[tokio::test]
async fn creates_then_updates_from_claims_and_records_changes() {
    let (app, idp) = tenant(true, &["acme.test"], Some("iwmsId")).await;
    let res = app
        .sign_in(&idp)
        .edit(|r| *r = r.clone().attr("iwmsId", "IW-1"))
        .send()
        .await;
    assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
    let res = app
        .sign_in(&idp)
        .edit(|r| {
            *r = r
                .clone()
                .attr("firstName", "Augusta")
                .attr("iwmsId", "IW-2");
            r.attributes.retain(|(n, _)| n != "lastName"); // an absent claim keeps the value
        })
        .send()
        .await;
    assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
    let users = app.users("acme");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].first_name.as_deref(), Some("Augusta"));
    assert_eq!(users[0].last_name.as_deref(), Some("Lovelace"));
    assert_eq!(users[0].iwms_id.as_deref(), Some("IW-2"));
    let detail = app.user_detail("acme", "ada@acme.test");
    let events: Vec<_> = detail.events().map(|(e, _)| e).collect();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["created", "attributes_updated"]);
    let changes = &events[1].detail["changes"];
    assert_eq!(changes[0]["field"], "first_name");
    assert_eq!(changes[0]["old"], "Ada");
    assert_eq!(changes[0]["new"], "Augusta");
    assert_eq!(changes[1]["field"], "iwms_id");
    assert_eq!(changes[1]["old"], "IW-1");
    assert_eq!(detail.sign_ins().count(), 2);
    assert!(detail.sign_ins().all(|a| a.outcome == "success"));
}

#[tokio::test]
async fn no_auto_create_means_not_set_up() {
    let (app, idp) = tenant(false, &[], None).await;
    let res = app.sign_in(&idp).send().await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("has not been set up"));
    assert_eq!(app.last_reason("acme"), "not_set_up");
    assert!(app.users("acme").is_empty());
}

#[tokio::test]
async fn auto_create_only_for_whitelisted_domains_when_there_are_some() {
    let (app, idp) = tenant(true, &["acme.test"], None).await;
    let res = app
        .sign_in(&idp)
        .edit(|r| *r = r.clone().attr("email", "eve@elsewhere.test"))
        .send()
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason("acme"), "email_domain_not_allowed");
    assert!(app.users("acme").is_empty());
}

#[tokio::test]
async fn missing_email_is_refused_with_a_reason() {
    let (app, idp) = tenant(true, &[], None).await;
    let res = app
        .sign_in(&idp)
        .edit(|r| r.attributes.retain(|(n, _)| n != "email"))
        .send()
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason("acme"), "missing_email");
}

#[tokio::test]
async fn second_connection_links_by_email_only_on_whitelisted_domain() {
    let (app, idp) = tenant(true, &["acme.test"], None).await;
    let idp2 = TestIdp::new("http://entra.test/metadata");
    app.add_connection("acme", default_saml_input("entra", &idp2));
    assert_eq!(app.sign_in(&idp).send().await.status(), 303);
    let res = app
        .sign_in(&idp2)
        .at("acme", "entra")
        .edit(|r| r.name_id = "entra-oid-1".into())
        .send()
        .await;
    assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
    assert_eq!(app.users("acme").len(), 1, "linked, not duplicated");
    let d = app.user_detail("acme", "ada@acme.test");
    assert_eq!(d.identities.len(), 2);

    // Without the domain whitelisted, an email match does not link.
    app.with_db(|c| {
        admin::remove_domain(
            c,
            "acme",
            "acme.test",
            &ssogate::domain::audit::Actor::Cli,
            crate::helpers::now(),
        )
    })
    .unwrap();
    let idp3 = TestIdp::new("http://google.test/metadata");
    app.add_connection("acme", default_saml_input("google", &idp3));
    let res = app
        .sign_in(&idp3)
        .at("acme", "google")
        .edit(|r| r.name_id = "g-1".into())
        .send()
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason("acme"), "email_link_not_allowed");
}

#[tokio::test]
async fn iwms_id_matches_before_email() {
    let (app, idp) = tenant(true, &["acme.test"], Some("iwmsId")).await;
    assert_eq!(
        app.sign_in(&idp)
            .edit(|r| *r = r.clone().attr("iwmsId", "IW-9"))
            .send()
            .await
            .status(),
        303
    );
    let idp2 = TestIdp::new("http://entra.test/metadata");
    app.add_connection("acme", default_saml_input("entra", &idp2));
    // New connection, different email, same IWMS ID: the same person.
    let res = app
        .sign_in(&idp2)
        .at("acme", "entra")
        .edit(|r| {
            r.name_id = "entra-1".into();
            *r = r
                .clone()
                .attr("email", "ada.lovelace@acme.test")
                .attr("iwmsId", "IW-9");
        })
        .send()
        .await;
    assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
    assert_eq!(app.users("acme").len(), 1);

    // Grace exists with her own email; a sign-in asserting Grace's email but Ada's IWMS ID is
    // matched to Ada: the IWMS ID wins over the email.
    assert_eq!(
        app.sign_in(&idp)
            .edit(|r| {
                r.name_id = "grace".into();
                *r = r.clone().attr("email", "grace@acme.test");
            })
            .send()
            .await
            .status(),
        303
    );
    let idp3 = TestIdp::new("http://google.test/metadata");
    app.add_connection("acme", default_saml_input("google", &idp3));
    let res = app
        .sign_in(&idp3)
        .at("acme", "google")
        .edit(|r| {
            r.name_id = "g-1".into();
            *r = r
                .clone()
                .attr("email", "grace@acme.test")
                .attr("iwmsId", "IW-9");
        })
        .send()
        .await;
    assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
    let ada = app.user_detail("acme", "ada@acme.test");
    assert_eq!(
        ada.identities.len(),
        3,
        "okta, entra and google all link to Ada"
    );
    let grace = app.user_detail("acme", "grace@acme.test");
    assert_eq!(grace.identities.len(), 1);
}

#[tokio::test]
async fn identity_linked_to_someone_else_is_never_relinked() {
    let (app, idp) = tenant(true, &["acme.test"], None).await;
    assert_eq!(app.sign_in(&idp).send().await.status(), 303);
    // Another subject of the same IdP claims Ada's email.
    let res = app
        .sign_in(&idp)
        .edit(|r| r.name_id = "someone-else".into())
        .send()
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason("acme"), "identity_conflict");
    let d = app.user_detail("acme", "ada@acme.test");
    assert_eq!(d.identities.len(), 1);
    assert_eq!(d.identities[0].subject, "subject-ada");
    assert_eq!(
        d.sign_ins().next_back().unwrap().reason,
        "identity_conflict",
        "the failure shows on the user's history"
    );
}

#[tokio::test]
async fn iwms_id_of_another_user_is_not_taken() {
    let (app, idp) = tenant(true, &[], Some("iwmsId")).await;
    assert_eq!(
        app.sign_in(&idp)
            .edit(|r| *r = r.clone().attr("iwmsId", "IW-1"))
            .send()
            .await
            .status(),
        303
    );
    let res = app
        .sign_in(&idp)
        .edit(|r| {
            r.name_id = "grace".into();
            *r = r.clone().attr("email", "grace@acme.test");
        })
        .send()
        .await;
    assert_eq!(res.status(), 303);
    // Grace's IdP record now claims Ada's IWMS ID: refused, nothing moves.
    let res = app
        .sign_in(&idp)
        .edit(|r| {
            r.name_id = "grace".into();
            *r = r
                .clone()
                .attr("email", "grace@acme.test")
                .attr("iwmsId", "IW-1");
        })
        .send()
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason("acme"), "iwms_id_conflict");
}

#[tokio::test]
async fn concurrent_first_sign_ins_create_exactly_one_user() {
    let (app, idp) = tenant(true, &["acme.test"], None).await;
    let mut posts = Vec::new();
    for _ in 0..8 {
        let (req, rs) = app.start_login("acme", "okta", None).await;
        let xml = Resp::valid(&app, "acme", "okta", &idp, Some(&req)).signed(&idp);
        posts.push((xml, rs));
    }
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = posts
        .into_iter()
        .map(|(xml, rs)| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post_acs("acme", "okta", &xml, Some(&rs))
                    .await
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 303, "every concurrent sign-in succeeds");
    }
    assert_eq!(app.users("acme").len(), 1);
    let successes = app
        .sign_ins("acme")
        .iter()
        .filter(|a| a.outcome == "success")
        .count();
    assert_eq!(successes, 8);
}

#[tokio::test]
async fn tenants_are_isolated() {
    let (app, idp) = tenant(true, &["acme.test"], None).await;
    app.create_tenant(
        "globex",
        TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    app.add_connection("globex", default_saml_input("okta", &idp));
    assert_eq!(app.sign_in(&idp).send().await.status(), 303);
    // The same IdP subject and email at another tenant is another user.
    assert_eq!(
        app.sign_in(&idp).at("globex", "okta").send().await.status(),
        303
    );
    assert_eq!(app.users("acme").len(), 1);
    assert_eq!(app.users("globex").len(), 1);
    // A response for acme posted to globex's ACS fails on audience.
    let (req, rs) = app.start_login("globex", "okta", None).await;
    let mut r = Resp::valid(&app, "acme", "okta", &idp, Some(&req));
    r.destination = None;
    let res = app
        .post_acs("globex", "okta", &r.signed(&idp), Some(&rs))
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason("globex"), "audience_mismatch");
}
