//! Accounts never seen again are flagged (never deleted), and un-flagged by a sign-in.
use diesel::prelude::*;
use ssogate::service::admin::{self, TenantInput};
use ssogate::storage::schema::users;

use crate::cli::Cli;
use crate::helpers::{TestApp, default_saml_input, now, spawn_app, spawn_app_with};
use crate::saml_fixtures::TestIdp;
use crate::support::poll::eventually;

async fn signed_in_user(app: &TestApp, idp: &TestIdp, stale_days: i64) {
    app.create_tenant(
        "acme",
        TenantInput {
            auto_create_users: Some(true),
            stale_after_days: Some(stale_days),
            ..Default::default()
        },
    );
    app.add_connection("acme", default_saml_input("okta", idp));
    assert_eq!(app.sign_in(idp).status().await, 303);
}

fn age_user(app: &TestApp, days: i64) {
    app.with_db(|c| {
        diesel::update(users::table)
            .set((
                users::last_login_at.eq(Some(now() - days * 86_400)),
                users::created_at.eq(now() - 400 * 86_400),
            ))
            .execute(c)
    })
    .unwrap();
}

#[tokio::test]
async fn flag_stale_command_flags_only_and_sign_in_clears() {
    let app = spawn_app().await;
    let idp = TestIdp::new("http://idp.test/m");
    signed_in_user(&app, &idp, 30).await;
    let cli = Cli::with_db(&app.db_url);

    age_user(&app, 29);
    let r = cli.json(&["flag-stale", "--json"]);
    assert_eq!(r[0]["flagged"], 0, "29 days is not stale at 30");

    age_user(&app, 31);
    let before = app.users("acme").remove(0);
    let r = cli.json(&["flag-stale", "--json"]);
    assert_eq!(r[0]["tenant"], "acme");
    assert_eq!(r[0]["flagged"], 1);
    assert_eq!(
        cli.json(&["flag-stale", "--json"])[0]["flagged"],
        0,
        "already flagged"
    );
    let after = app.users("acme").remove(0);
    assert!(after.stale);
    assert_eq!(
        (
            after.status,
            &after.email,
            &after.first_name,
            after.last_login_at
        ),
        (
            before.status,
            &before.email,
            &before.first_name,
            before.last_login_at
        ),
        "flagging changes nothing else"
    );
    let stale = cli.json(&[
        "user", "list", "--tenant", "acme", "--status", "stale", "--json",
    ]);
    assert_eq!(stale.as_array().unwrap().len(), 1);

    assert_eq!(app.sign_in(&idp).status().await, 303);
    assert!(!app.users("acme")[0].stale);
    let d = app.user_detail("acme", &after.email);
    let kinds: Vec<_> = d.events().map(|(e, _)| e.kind.as_str()).collect();
    assert!(
        kinds.ends_with(&["stale_flagged", "stale_cleared"]),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn periodic_job_flags_in_process() {
    let app = spawn_app_with(|s| s.jobs.stale_check_interval_secs = 1).await;
    let idp = TestIdp::new("http://idp.test/m");
    signed_in_user(&app, &idp, 90).await;
    age_user(&app, 91);
    // The job's own timer is what this test is about: wait for its next round.
    eventually(6, || {
        (app.users("acme")[0].stale)
            .then_some(())
            .ok_or("the in-process job did not flag the stale user".to_owned())
    })
    .await;
}

/// The flagging job reads its candidates first and flags them one by one: a user who signs
/// in (or is deactivated) in between is not flagged, and a flag set between a sign-in's read
/// and its write is still cleared and reported (`stale_cleared`).
#[tokio::test]
async fn flagging_re_checks_each_user_and_sign_ins_report_the_flag_they_clear() {
    use ssogate::domain::ids::UserId;
    use ssogate::storage::users as store;
    let app = spawn_app().await;
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    signed_in_user(&app, &idp, 30).await;
    age_user(&app, 40);
    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    let cutoff = now() - 30 * 86_400;
    let ids = app
        .with_db(|c| store::stale_candidates(c, t.id, cutoff))
        .unwrap();
    assert_eq!(ids.len(), 1);
    let id: UserId = ids[0];
    // Signed in after the candidates were read: no flag.
    let cleared = app
        .with_db(|c| store::record_sign_in(c, t.id, id, now()))
        .unwrap();
    assert_eq!(cleared, Some(false), "there was no flag to clear");
    assert!(
        !app.with_db(|c| store::flag_stale(c, t.id, id, cutoff, now()))
            .unwrap(),
        "a fresh sign-in is not stale"
    );
    // Aged again and flagged: the next sign-in clears it and says so.
    age_user(&app, 40);
    assert!(
        app.with_db(|c| store::flag_stale(c, t.id, id, cutoff, now()))
            .unwrap()
    );
    assert_eq!(
        app.with_db(|c| store::record_sign_in(c, t.id, id, now()))
            .unwrap(),
        Some(true),
        "the flag was cleared"
    );
    assert_eq!(
        app.with_db(|c| store::record_sign_in(c, t.id, id, now()))
            .unwrap(),
        Some(false)
    );
    // Deactivated between a sign-in's read and its write: the write says so.
    let users = ssogate::service::admin::users::deactivate_user;
    app.with_db(|c| {
        users(
            c,
            &t,
            id.0,
            &ssogate::domain::audit::Actor::Console {
                email: "test".into(),
            },
            now(),
        )
    })
    .unwrap();
    assert_eq!(
        app.with_db(|c| store::record_sign_in(c, t.id, id, now()))
            .unwrap(),
        None
    );
}
