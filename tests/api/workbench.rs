//! The provisioning workbench (`service::admin::workbench`) through the API, the CLI and the
//! console in Chromium, with its three views filled the real ways: a SCIM user who never signs
//! in, refused SAML sign-ins, a signed-in user, a SCIM-deprovisioned one.
use serde_json::{Value, json};
use ssogate::service::admin::TenantInput;

use crate::admin_api::api;
use crate::cli::Cli;
use crate::helpers::{TestApp, spawn_app};
use crate::saml_fixtures::TestIdp;
use crate::support::browser::{assert_screenshots, fresh_artifacts, root, run_script};
use crate::support::sign_in::acme;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

async fn scim_user(app: &TestApp, email: &str) -> i64 {
    let body = json!({
        "schemas": [USER], "userName": email,
        "emails": [{"value": email, "type": "work", "primary": true}],
    });
    let (s, u) = app.scim("acme").post("/Users", body).await;
    assert_eq!(s, 201, "{u}");
    u["id"].as_str().unwrap().parse().unwrap()
}

/// What the views hold after the flows of [`fill`].
struct Filled {
    ada: i64,
    bob: i64,
    carol: i64,
}

/// Tenant `acme` (users created on sign-in, acme.test whitelisted, SAML `okta`):
/// - bob@acme.test pushed by SCIM, never signs in (New);
/// - eve@other.test refused `email_domain_not_allowed` three times (New, 3 attempts);
/// - ada signs in (Existing), then a second identity of hers is refused `identity_conflict`
///   (New, conflicting with ada);
/// - carol pushed by SCIM, signs in, then SCIM deprovisions her (Deleted).
async fn fill(app: &TestApp, idp: &TestIdp) -> Filled {
    let bob = scim_user(app, "bob@acme.test").await;
    for _ in 0..3 {
        let s = app
            .sign_in(idp)
            .name_id("eve-1")
            .email("eve@other.test")
            .status()
            .await;
        assert_ne!(s, 303);
        app.advance(60);
    }
    assert_eq!(app.last_reason("acme"), "email_domain_not_allowed");
    let ada = app.sign_in(idp).user_id().await;
    let s = app.sign_in(idp).name_id("ada-2").status().await;
    assert_ne!(s, 303);
    assert_eq!(app.last_reason("acme"), "identity_conflict");
    let carol = scim_user(app, "carol@acme.test").await;
    let s = app
        .sign_in(idp)
        .name_id("carol-1")
        .email("carol@acme.test")
        .status()
        .await;
    assert_eq!(s, 303, "{}", app.last_reason("acme"));
    let (s, _) = app.scim("acme").delete(&format!("/Users/{carol}")).await;
    assert_eq!(s, 204);
    Filled { ada, bob, carol }
}

async fn setup() -> (TestApp, TestIdp, Filled) {
    let app = spawn_app().await;
    let idp = acme(&app, TenantInput::default());
    let filled = fill(&app, &idp).await;
    (app, idp, filled)
}

fn row(page: &Value, pred: impl Fn(&Value) -> bool) -> &Value {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| pred(r))
        .unwrap_or_else(|| panic!("no such row in {page:#}"))
}

fn by_subject(subject: &'static str) -> impl Fn(&Value) -> bool {
    move |r: &Value| r["subject"] == subject
}

fn by_user(id: i64) -> impl Fn(&Value) -> bool {
    move |r: &Value| r["user"]["id"] == id
}

fn audit_actions(app: &TestApp) -> Vec<String> {
    app.with_db(|c| {
        let t = ssogate::service::admin::tenant_by_slug(c, "acme").unwrap();
        ssogate::service::admin::audit::list(
            c,
            Some(&t),
            &ssogate::service::admin::audit::AuditQuery {
                limit: 200,
                before: None,
            },
        )
    })
    .unwrap()
    .items
    .into_iter()
    .map(|i| i.action)
    .collect()
}

#[tokio::test]
async fn the_three_views_are_filled_by_real_flows() {
    let (app, _idp, f) = setup().await;
    let a = api(&app, Some("acme"));

    let (s, new) = a.get("/tenants/acme/workbench/new").await;
    assert_eq!(s, 200, "{new}");
    assert_eq!(new["rows"].as_array().unwrap().len(), 3, "{new:#}");
    let eve = row(&new, by_subject("eve-1"));
    assert_eq!(eve["kind"], "refused");
    assert_eq!(eve["reason"], "email_domain_not_allowed");
    assert_eq!(eve["email"], "eve@other.test");
    assert_eq!(eve["connection"], "okta");
    assert_eq!(eve["attempts"], 3, "{eve}");
    assert!(eve["last_try"].as_i64().unwrap() >= app.now() - 200);
    assert_eq!(eve["actions"], json!(["create", "link"]));
    let conflict = row(&new, by_subject("ada-2"));
    assert_eq!(conflict["reason"], "identity_conflict");
    assert_eq!(conflict["conflicts_with"], f.ada);
    assert_eq!(conflict["attempts"], 1);
    let bob = row(&new, by_user(f.bob));
    assert_eq!(bob["kind"], "scim");
    assert_eq!(bob["key"], format!("user:{}", f.bob));
    // The refused people come first, newest first.
    assert_eq!(new["rows"][0]["subject"], "ada-2");
    assert_eq!(
        new["counts"],
        json!({"new": 3, "existing": 1, "deleted": 1})
    );

    let (s, existing) = a.get("/tenants/acme/workbench/existing").await;
    assert_eq!(s, 200);
    assert_eq!(
        existing["rows"].as_array().unwrap().len(),
        1,
        "{existing:#}"
    );
    let ada = row(&existing, by_user(f.ada));
    // Ada's newest attempt is the refused second identity: the icon shows the failure.
    assert_eq!(ada["last_sign_in"]["outcome"], "failure");
    assert_eq!(ada["last_sign_in"]["reason"], "identity_conflict");
    assert_eq!(ada["identities"][0]["subject"], "subject-ada");

    let (s, deleted) = a.get("/tenants/acme/workbench/deleted").await;
    assert_eq!(s, 200);
    let carol = row(&deleted, by_user(f.carol));
    assert_eq!(carol["user"]["status"], "deactivated");
    assert!(carol["user"]["deprovisioned_at"].is_i64());
    assert_eq!(carol["identities"][0]["subject"], "carol-1");
    assert_eq!(carol["actions"], json!(["unlink"]));

    // Paging: one row at a time walks the refused people, then the SCIM user, each once.
    let mut seen = Vec::new();
    let mut path = "/tenants/acme/workbench/new?limit=1".to_owned();
    loop {
        let (s, page) = a.get(&path).await;
        assert_eq!(s, 200, "{page}");
        seen.extend(
            page["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["key"].clone()),
        );
        match page["next_after"].as_str() {
            Some(next) => path = format!("/tenants/acme/workbench/new?limit=1&after={next}"),
            None => break,
        }
    }
    let all: Vec<Value> = new["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].clone())
        .collect();
    assert_eq!(seen, all);

    // Bad input is a clear 400 / 404.
    let (s, e) = a.get("/tenants/acme/workbench/new?after=nonsense").await;
    assert_eq!((s, e["field"].as_str()), (400, Some("after")), "{e}");
    let (s, _) = a.get("/tenants/acme/workbench/archived").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn save_applies_every_action_in_one_transaction_or_none() {
    let (app, idp, f) = setup().await;
    let a = api(&app, Some("acme"));
    let (_, new) = a.get("/tenants/acme/workbench/new").await;
    let eve_row = row(&new, by_subject("eve-1"))["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let conflict_row = row(&new, by_subject("ada-2"))["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let audit_before = audit_actions(&app).len();

    // The third action is refused: Ada is linked to another identity on okta. Nothing of the
    // first two stays, and the answer names the action and its row.
    let mut actions = json!([
        {"row": eve_row, "action": "create"},
        {"row": format!("user:{}", f.bob), "action": "deactivate"},
        {"row": conflict_row, "action": "link", "user": f.ada},
    ]);
    let (s, e) = a
        .post("/tenants/acme/workbench", json!({"actions": actions}))
        .await;
    assert_eq!(s, 409, "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("action 3 ({conflict_row})")),
        "{message}"
    );
    assert!(message.contains("replace"), "{message}");
    assert!(
        app.users("acme")
            .iter()
            .all(|u| u.email != "eve@other.test")
    );
    let bob = app
        .users("acme")
        .into_iter()
        .find(|u| u.id == f.bob)
        .unwrap();
    assert_eq!(bob.status, "active");
    assert_eq!(audit_actions(&app).len(), audit_before);

    // A row that is not one: 400 naming it, nothing applied.
    let (s, e) = a
        .post(
            "/tenants/acme/workbench",
            json!({"actions": [{"row": format!("user:{}", f.bob), "action": "deactivate"},
                               {"row": "user:999999", "action": "deactivate"}]}),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("action 2 (user:999999)"),
        "{e}"
    );
    assert_eq!(audit_actions(&app).len(), audit_before);

    // With replace, the conflict resolves: Ada's old identity is unlinked, the new one linked.
    actions[2]["replace"] = json!(true);
    let (s, done) = a
        .post("/tenants/acme/workbench", json!({"actions": actions}))
        .await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["applied"].as_array().unwrap().len(), 3);
    let eve = app
        .users("acme")
        .into_iter()
        .find(|u| u.email == "eve@other.test")
        .expect("eve created");
    assert_eq!(done["applied"][0]["user_id"], eve.id);
    assert_eq!(eve.created_via, "admin");
    let bob = app
        .users("acme")
        .into_iter()
        .find(|u| u.id == f.bob)
        .unwrap();
    assert_eq!(bob.status, "deactivated");
    let ada = app.user_detail("acme", &f.ada.to_string());
    let subjects: Vec<&str> = ada.identities.iter().map(|i| i.subject.as_str()).collect();
    assert_eq!(subjects, ["ada-2"]);
    let trail = audit_actions(&app);
    let added: Vec<&str> = trail[..trail.len() - audit_before]
        .iter()
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        added,
        [
            "user.created",
            "user.identity_linked",
            "user.deactivated",
            "user.identity_unlinked",
            "user.identity_linked"
        ]
    );

    // The views moved: New is empty, Eve and Ada are existing, Bob (SCIM's) is gone.
    let (_, new) = a.get("/tenants/acme/workbench/new").await;
    assert_eq!(new["rows"], json!([]), "{new:#}");
    let (_, existing) = a.get("/tenants/acme/workbench/existing").await;
    row(&existing, by_user(eve.id));
    row(&existing, by_user(f.ada));
    let (_, deleted) = a.get("/tenants/acme/workbench/deleted").await;
    row(&deleted, by_user(f.bob));
    row(&deleted, by_user(f.carol));

    // Eve's sign-in is no longer refused: her identity is linked to her new user.
    let s = app
        .sign_in(&idp)
        .name_id("eve-1")
        .email("eve@other.test")
        .status()
        .await;
    assert_eq!(s, 303, "{}", app.last_reason("acme"));
    assert_eq!(app.sign_ins("acme")[0].user_id, Some(eve.id));
    // Ada's second identity now signs her in.
    let s = app.sign_in(&idp).name_id("ada-2").status().await;
    assert_eq!(s, 303, "{}", app.last_reason("acme"));
    assert_eq!(app.sign_ins("acme")[0].user_id, Some(f.ada));
}

#[tokio::test]
async fn link_joins_a_refused_person_to_an_existing_user_and_their_sign_in_lands_there() {
    let (app, idp, f) = setup().await;
    let a = api(&app, Some("acme"));
    let (_, new) = a.get("/tenants/acme/workbench/new").await;
    let eve_row = row(&new, by_subject("eve-1"))["key"].clone();
    let (s, done) = a
        .post(
            "/tenants/acme/workbench",
            json!({"actions": [{"row": eve_row, "action": "link", "user": f.bob}]}),
        )
        .await;
    assert_eq!(s, 200, "{done}");
    let s = app
        .sign_in(&idp)
        .name_id("eve-1")
        .email("eve@other.test")
        .status()
        .await;
    assert_eq!(s, 303, "{}", app.last_reason("acme"));
    let last = &app.sign_ins("acme")[0];
    assert_eq!(
        (last.outcome.as_str(), last.user_id),
        ("success", Some(f.bob))
    );
    // Bob is linked now: Existing, no longer New.
    let (_, new) = a.get("/tenants/acme/workbench/new").await;
    assert!(
        new["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["user"]["id"] != f.bob)
    );
    let (_, existing) = a.get("/tenants/acme/workbench/existing").await;
    let bob = row(&existing, by_user(f.bob));
    assert_eq!(bob["last_sign_in"]["outcome"], "success");
    let timeline = app.user_detail("acme", "bob@acme.test").timeline;
    assert!(
        timeline.iter().any(|e| e.kind == "identity_linked"),
        "{timeline:?}"
    );
    // Linking it again is a conflict that changes nothing.
    let (s, e) = a
        .post(
            "/tenants/acme/workbench",
            json!({"actions": [{"row": format!("user:{}", f.ada), "action": "link",
                                "connection": "okta", "subject": "eve-1"}]}),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains(&format!("linked to user {}", f.bob))
    );
    // Unknown fields and empty saves are refused.
    let (s, _) = a
        .post(
            "/tenants/acme/workbench",
            json!({"actions": [{"row": eve_row, "action": "link", "colour": "x"}]}),
        )
        .await;
    assert_eq!(s, 400);
    let (s, e) = a
        .post("/tenants/acme/workbench", json!({"actions": []}))
        .await;
    assert_eq!((s, e["field"].as_str()), (400, Some("actions")), "{e}");
}

#[tokio::test]
async fn the_cli_lists_applies_and_links() {
    let (app, idp, f) = setup().await;
    let cli = Cli::with_db(&app.db_url);
    let new = cli.json(&[
        "workbench",
        "list",
        "--tenant",
        "acme",
        "--view",
        "new",
        "--json",
    ]);
    let eve = row(&new, by_subject("eve-1"));
    assert_eq!(eve["attempts"], 3);
    let text = cli.ok(&[
        "workbench",
        "list",
        "--tenant",
        "acme",
        "--view",
        "existing",
    ]);
    assert!(
        text.contains("ada@acme.test") && text.contains("okta / subject-ada"),
        "{text}"
    );
    let deleted = cli.json(&[
        "workbench",
        "list",
        "--tenant",
        "acme",
        "--view",
        "deleted",
        "--json",
    ]);
    row(&deleted, by_user(f.carol));

    // apply: all or nothing here too.
    let file = cli.path("actions.json");
    let bad = json!({"actions": [
        {"row": format!("user:{}", f.bob), "action": "deactivate"},
        {"row": format!("user:{}", f.bob), "action": "deactivate"},
    ]});
    std::fs::write(&file, bad.to_string()).unwrap();
    let err = cli.fails(&[
        "workbench",
        "apply",
        "--tenant",
        "acme",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(
        err.contains("action 2") && err.contains("already deactivated"),
        "{err}"
    );
    assert_eq!(
        app.users("acme")
            .into_iter()
            .find(|u| u.id == f.bob)
            .unwrap()
            .status,
        "active"
    );
    let good = json!({"actions": [{"row": eve["key"], "action": "create"}]});
    std::fs::write(&file, good.to_string()).unwrap();
    let done = cli.json(&[
        "workbench",
        "apply",
        "--tenant",
        "acme",
        "--file",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(done["applied"][0]["action"], "create");

    // user link: an identity named by connection and subject, to Bob (by email).
    let out = cli.ok(&[
        "user",
        "link",
        "--tenant",
        "acme",
        "bob@acme.test",
        "--connection",
        "okta",
        "--subject",
        "bob-okta",
    ]);
    assert!(out.contains("link"), "{out}");
    let s = app
        .sign_in(&idp)
        .name_id("bob-okta")
        .email("bob@acme.test")
        .status()
        .await;
    assert_eq!(s, 303, "{}", app.last_reason("acme"));
    assert_eq!(app.sign_ins("acme")[0].user_id, Some(f.bob));
    let err = cli.fails(&["user", "link", "--tenant", "acme", "bob@acme.test"]);
    assert!(err.contains("--attempt"), "{err}");
    // Audited as the CLI.
    let trail = cli.json(&["audit", "--tenant", "acme", "--json"]);
    let first = &trail["items"][0];
    assert_eq!(
        (first["action"].as_str(), first["actor"]["kind"].as_str()),
        (Some("user.identity_linked"), Some("cli"))
    );
}

/// The console in Chromium (tests/browser/workbench.mjs): the New tab, one refused person
/// created and the SCIM user deactivated with one Save, a refused Save that changes nothing,
/// then the Existing and Deleted tabs. Screenshots: tests/artifacts/workbench/.
#[tokio::test]
async fn chromium_saves_the_workbench() {
    let root = root();
    let (app, _idp, f) = setup().await;
    let bootstrap = app
        .with_db(|c| {
            ssogate::service::admin::access::create_bootstrap_link(c, crate::helpers::now(), 600)
        })
        .expect("bootstrap link");
    let (_, new) = api(&app, Some("acme"))
        .get("/tenants/acme/workbench/new")
        .await;
    let eve_row = row(&new, by_subject("eve-1"))["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let conflict_row = row(&new, by_subject("ada-2"))["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob_row = format!("user:{}", f.bob);
    let artifacts = fresh_artifacts(&root, "tests/artifacts/workbench");
    let result = run_script(
        &app,
        "workbench.mjs",
        &[
            "--bootstrap",
            &bootstrap,
            "--tenant",
            "acme",
            "--create",
            &eve_row,
            "--deactivate",
            &bob_row,
            "--conflict",
            &conflict_row,
        ],
        &artifacts,
    )
    .await;
    assert_eq!(result["refused"], true);
    assert_screenshots(
        &artifacts,
        &[
            "01-new.png",
            "02-refused.png",
            "03-saved.png",
            "04-existing.png",
            "05-deleted.png",
        ],
    );
    let users = app.users("acme");
    let eve = users
        .iter()
        .find(|u| u.email == "eve@other.test")
        .expect("eve created");
    assert_eq!(eve.created_via, "admin");
    let (s, roles) = api(&app, Some("acme"))
        .get(&format!("/tenants/acme/users/{}/roles", eve.id))
        .await;
    assert_eq!(s, 200, "{roles}");
    assert_eq!(roles["manual"], json!(["employee", "manager"]), "{roles}");
    assert_eq!(
        users.iter().find(|u| u.id == f.bob).unwrap().status,
        "deactivated"
    );
    // The refused Save changed nothing: Ada keeps her identity.
    let ada = app.user_detail("acme", &f.ada.to_string());
    assert_eq!(ada.identities[0].subject, "subject-ada");
    let trail = audit_actions(&app);
    assert!(
        trail.iter().take(3).any(|a| a == "user.deactivated"),
        "{trail:?}"
    );
}

/// An `iwms_id_conflict`: Grace's identity is linked to her user, but her IdP record now asserts
/// Ada's IWMS ID. She stays in New (her link is the conflict) until the identity is moved to
/// the user who holds the IWMS ID; then her sign-in lands on that user.
#[tokio::test]
async fn an_iwms_id_conflict_is_resolved_by_moving_the_identity() {
    let app = spawn_app().await;
    let idp = acme(
        &app,
        TenantInput {
            iwms_attribute: Some(Some("iwmsId".into())),
            ..Default::default()
        },
    );
    let ada = app.sign_in(&idp).attr("iwmsId", "IW-1").user_id().await;
    let grace = app
        .sign_in(&idp)
        .name_id("grace")
        .email("grace@acme.test")
        .user_id()
        .await;
    let grace_with_ada_iwms = || {
        app.sign_in(&idp)
            .name_id("grace")
            .email("grace@acme.test")
            .attr("iwmsId", "IW-1")
    };
    assert_ne!(grace_with_ada_iwms().status().await, 303);
    assert_eq!(app.last_reason("acme"), "iwms_id_conflict");

    let a = api(&app, Some("acme"));
    let (_, new) = a.get("/tenants/acme/workbench/new").await;
    let conflict = row(&new, by_subject("grace"));
    assert_eq!(conflict["reason"], "iwms_id_conflict");
    assert_eq!(conflict["conflicts_with"], grace);
    let key = conflict["key"].clone();
    let (s, e) = a
        .post(
            "/tenants/acme/workbench",
            json!({"actions": [{"row": key, "action": "link", "user": ada}]}),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains(&format!("linked to user {grace}")),
        "{e}"
    );
    let (s, done) = a
        .post(
            "/tenants/acme/workbench",
            json!({"actions": [{"row": key, "action": "link", "user": ada, "replace": true}]}),
        )
        .await;
    assert_eq!(s, 200, "{done}");
    let (_, new) = a.get("/tenants/acme/workbench/new").await;
    assert_eq!(new["rows"], json!([]), "{new:#}");
    assert_eq!(
        grace_with_ada_iwms().status().await,
        303,
        "{}",
        app.last_reason("acme")
    );
    assert_eq!(app.sign_ins("acme")[0].user_id, Some(ada));
}

/// Every refusal names its action and row, and nothing of the Save stays.
#[tokio::test]
async fn refused_actions_say_which_and_why() {
    let (app, _idp, f) = setup().await;
    let a = api(&app, Some("acme"));
    let (_, new) = a.get("/tenants/acme/workbench/new").await;
    let eve = row(&new, by_subject("eve-1"))["key"].clone();
    let conflict = row(&new, by_subject("ada-2"))["key"].clone();
    let success = app
        .sign_ins("acme")
        .into_iter()
        .find(|s| s.outcome == "success")
        .unwrap()
        .id;
    let bob = format!("user:{}", f.bob);
    let carol = format!("user:{}", f.carol);
    let before = audit_actions(&app).len();
    let cases = [
        (json!({"row": "person:1", "action": "create"}), 400, "row"),
        (json!({"row": eve, "action": "unlink"}), 400, "action"),
        (json!({"row": bob, "action": "create"}), 400, "action"),
        (json!({"row": eve, "action": "link"}), 400, "user"),
        (
            json!({"row": format!("attempt:{success}"), "action": "create"}),
            400,
            "row",
        ),
        (
            json!({"row": bob, "action": "link", "user": f.ada, "connection": "okta", "subject": "x"}),
            400,
            "user",
        ),
        (
            json!({"row": bob, "action": "link", "connection": "okta"}),
            400,
            "connection",
        ),
        (
            json!({"row": bob, "action": "link", "connection": "okta", "subject": "a\u{7}b"}),
            400,
            "subject",
        ),
        (
            json!({"row": bob, "action": "link", "connection": "nope", "subject": "x"}),
            400,
            "actions",
        ),
        (
            json!({"row": eve, "action": "link", "user": f.carol}),
            409,
            "",
        ),
        (json!({"row": conflict, "action": "create"}), 409, ""),
        (json!({"row": bob, "action": "unlink"}), 409, ""),
        (json!({"row": carol, "action": "deactivate"}), 409, ""),
    ];
    for (action, status, field) in cases {
        let body = json!({"actions": [{"row": bob, "action": "deactivate"}, action]});
        let (s, e) = a.post("/tenants/acme/workbench", body).await;
        assert_eq!(s, status, "{action}: {e}");
        assert!(
            e["message"].as_str().unwrap().contains("action 2 ("),
            "{action}: {e}"
        );
        if !field.is_empty() {
            assert_eq!(e["field"], field, "{action}: {e}");
        }
    }
    let too_many: Vec<Value> = (0..201)
        .map(|_| json!({"row": bob, "action": "deactivate"}))
        .collect();
    let (s, e) = a
        .post("/tenants/acme/workbench", json!({"actions": too_many}))
        .await;
    assert_eq!((s, e["field"].as_str()), (400, Some("actions")), "{e}");
    assert_eq!(audit_actions(&app).len(), before);
    let bob = app
        .users("acme")
        .into_iter()
        .find(|u| u.id == f.bob)
        .unwrap();
    assert_eq!(bob.status, "active");
    // A removed connection's refusals can no longer be acted on.
    let (s, _) = a.delete("/tenants/acme/connections/okta").await;
    assert_eq!(s, 204);
    let (s, e) = a
        .post(
            "/tenants/acme/workbench",
            json!({"actions": [{"row": eve, "action": "create"}]}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (400, Some("row")), "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("was removed"),
        "{e}"
    );
}

/// The console page without a browser: the CSRF token is required, a selected row without an
/// action refuses the whole Save, an action on a row that is not selected is not applied.
#[tokio::test]
async fn the_console_form_needs_its_csrf_token_and_saves_only_selected_rows() {
    let (app, _idp, f) = setup().await;
    let console = crate::console::Console::super_admin(&app).await;
    let page = console.get("/admin/t/acme/workbench").await;
    page.has("eve@other.test")
        .has("SCIM, never signed in")
        .has("identity_conflict");
    let (_, new) = api(&app, Some("acme"))
        .get("/tenants/acme/workbench/new")
        .await;
    let eve = row(&new, by_subject("eve-1"))["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = format!("user:{}", f.bob);
    let (eve_action, bob_action) = (format!("action:{eve}"), format!("action:{bob}"));
    let created = || {
        app.users("acme")
            .iter()
            .any(|u| u.email == "eve@other.test")
    };

    let forged = console
        .post_raw(
            "/admin/t/acme/workbench",
            &[
                ("csrf", "forged"),
                ("select", &eve),
                (&eve_action, "create"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(!created());

    let refused = console
        .post(
            "/admin/t/acme/workbench",
            &[
                ("view", "new"),
                ("select", &eve),
                (&eve_action, "create"),
                ("select", &bob),
            ],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    refused.has("Nothing was saved").has(&format!("({bob})"));
    // What was staged is shown again.
    refused
        .has(&format!("value=\"{eve}\" checked"))
        .has("value=\"create\" selected");
    assert!(!created());

    let saved = console
        .post(
            "/admin/t/acme/workbench",
            &[
                ("view", "new"),
                ("select", &eve),
                (&eve_action, "create"),
                (&bob_action, "deactivate"),
            ],
        )
        .await;
    saved.redirects_to("/admin/t/acme/workbench?view=new&done=workbench-saved");
    assert!(created());
    let bob = app
        .users("acme")
        .into_iter()
        .find(|u| u.id == f.bob)
        .unwrap();
    assert_eq!(bob.status, "active", "bob's row was not selected");
    console
        .get("/admin/t/acme/workbench?view=existing")
        .await
        .has("eve@other.test");
    console
        .get("/admin/t/acme/workbench?view=deleted")
        .await
        .has("carol@acme.test");
    assert_eq!(
        console
            .get("/admin/t/acme/workbench?view=archived")
            .await
            .status,
        400
    );
}

/// X-Auth-Request-Roles of the app client's current session.
async fn roles_header(app: &TestApp) -> String {
    let res = app
        .client
        .get(app.url("/auth/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.headers()["x-auth-request-roles"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// WhenToWork's "provision as employee and/or manager": `create` and `link` set the hand-set
/// roles with the identity, `roles` alone on a user; the app sees them at the next verify,
/// each on the timeline and the trail; a bad role name or roles on another action roll the
/// whole Save back.
#[tokio::test]
async fn save_provisions_people_as_employee_and_or_manager() {
    let (app, idp, f) = setup().await;
    let a = api(&app, Some("acme"));
    let (_, new) = a.get("/tenants/acme/workbench/new").await;
    let eve_row = row(&new, by_subject("eve-1"))["key"].clone();
    let bob_row = row(&new, by_user(f.bob));
    assert!(
        bob_row["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("roles")),
        "{bob_row}"
    );

    // One bad action (an invalid role name) refuses the whole Save.
    let (s, e) = a
        .post(
            "/tenants/acme/workbench",
            json!({"actions": [
                {"row": eve_row, "action": "create", "roles": ["employee"]},
                {"row": format!("user:{}", f.ada), "action": "roles", "roles": ["no spaces"]},
            ]}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (400, Some("roles")), "{e}");
    for (action, body) in [
        (
            "deactivate",
            json!({"row": format!("user:{}", f.ada), "action": "deactivate", "roles": ["x"]}),
        ),
        (
            "roles without roles",
            json!({"row": format!("user:{}", f.ada), "action": "roles"}),
        ),
    ] {
        let (s, e) = a
            .post("/tenants/acme/workbench", json!({"actions": [body]}))
            .await;
        assert_eq!(
            (s, e["field"].as_str()),
            (400, Some("roles")),
            "{action}: {e}"
        );
    }
    assert!(!audit_actions(&app).contains(&"user.roles_set".to_owned()));

    let (s, done) = a
        .post(
            "/tenants/acme/workbench",
            json!({"actions": [
                {"row": eve_row, "action": "create", "roles": ["employee", "manager"]},
                {"row": format!("user:{}", f.ada), "action": "roles", "roles": ["manager"]},
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{done}");
    let eve = done["applied"][0]["user_id"].as_i64().unwrap();
    let (_, existing) = a.get("/tenants/acme/workbench/existing").await;
    assert_eq!(row(&existing, by_user(f.ada))["roles"], json!(["manager"]));
    assert_eq!(
        row(&existing, by_user(eve))["manual_roles"],
        json!(["employee", "manager"])
    );
    assert_eq!(
        audit_actions(&app)
            .iter()
            .filter(|a| *a == "user.roles_set")
            .count(),
        2
    );

    // Eve signs in: the app sees both roles; ada's session sees hers after a sign-in too.
    let s = app
        .sign_in(&idp)
        .name_id("eve-1")
        .email("eve@other.test")
        .status()
        .await;
    assert_eq!(s, 303, "{}", app.last_reason("acme"));
    assert_eq!(roles_header(&app).await, "employee,manager");
    let timeline = app.user_detail("acme", "eve@other.test").timeline;
    assert!(
        timeline.iter().filter(|e| e.kind == "role_added").count() == 2,
        "{timeline:?}"
    );

    // An empty list takes the hand-set roles away again.
    let (s, done) = a
        .post(
            "/tenants/acme/workbench",
            json!({"actions": [{"row": format!("user:{eve}"), "action": "roles", "roles": []}]}),
        )
        .await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(roles_header(&app).await, "");

    // Roles go to active users only.
    let (s, e) = a
        .post(
            "/tenants/acme/workbench",
            json!({"actions": [{"row": format!("user:{}", f.carol), "action": "roles", "roles": ["employee"]}]}),
        )
        .await;
    assert_eq!(s, 409, "{e}");
}
