//! SCIM provisioning and SSO sign-ins meet on one user record: a SCIM user signs in, a
//! signed-in user is taken over by SCIM, and SCIM deactivation shuts sign-in and sessions.
use serde_json::{Value, json};
use ssogate::service::admin::TenantInput;

use crate::helpers::{TestApp, default_saml_input, spawn_app};
use crate::saml_fixtures::TestIdp;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// What the fixture IdP asserts by default.
const NAME_ID: &str = "subject-ada";
const EMAIL: &str = "ada@acme.test";

async fn tenant(input: TenantInput, domains: &[&str]) -> (TestApp, TestIdp) {
    let app = spawn_app().await;
    app.create_tenant("acme", input);
    for d in domains {
        app.add_domain("acme", d);
    }
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    app.add_connection("acme", default_saml_input("okta", &idp));
    (app, idp)
}

/// A tenant that never creates users on sign-in (a sign-in can only find a user), with the
/// domain whitelisted as linking by userName/externalId requires.
async fn scim_only_tenant() -> (TestApp, TestIdp) {
    tenant(TenantInput::default(), &["acme.test"]).await
}

fn timeline(app: &TestApp, id: &str) -> Vec<(String, Value)> {
    app.user_detail("acme", id)
        .events()
        .map(|(e, _)| (e.kind.clone(), e.detail.clone()))
        .collect()
}

fn event<'a>(t: &'a [(String, Value)], kind: &str) -> &'a Value {
    &t.iter()
        .find(|(k, _)| k == kind)
        .unwrap_or_else(|| panic!("no {kind} in {t:?}"))
        .1
}

fn deactivate() -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]})
}

async fn scim_user_signs_in_onto_the_same_record(body: Value) {
    let (app, idp) = scim_only_tenant().await;
    let scim = app.scim("acme");
    let (s, u) = scim.post("/Users", body).await;
    assert_eq!(s, 201, "{u}");
    let id = u["id"].as_str().unwrap().to_owned();

    assert_eq!(
        app.sign_in(&idp).status().await,
        303,
        "{}",
        app.last_reason("acme")
    );
    let users = app.users("acme");
    assert_eq!(users.len(), 1, "no second user");
    assert_eq!(users[0].id.to_string(), id);
    assert_eq!(
        users[0].first_name.as_deref(),
        Some("Ada"),
        "from the claims"
    );
    assert_eq!(users[0].last_name.as_deref(), Some("Lovelace"));
    let me: Value = app.me().await.json().await.unwrap();
    assert_eq!(me["user_id"].to_string(), id);

    let d = app.user_detail("acme", &id);
    assert_eq!(d.identities.len(), 1, "linked");
    assert_eq!(d.identities[0].subject, NAME_ID);
    let t = timeline(&app, &id);
    assert_eq!(event(&t, "created")["via"], "scim");
    assert_eq!(event(&t, "identity_linked")["matched_by"], "scim_id");
    let changes = &event(&t, "attributes_updated")["changes"];
    assert_eq!(
        changes,
        &json!([
            {"field": "first_name", "old": "Adeline", "new": "Ada"},
            {"field": "last_name", "old": "L.", "new": "Lovelace"}
        ])
    );

    // SCIM sees what the sign-in changed; a second sign-in uses the link.
    let (_, got) = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(got["name"]["givenName"], "Ada");
    assert_eq!(got["name"]["familyName"], "Lovelace");
    assert_eq!(app.sign_in(&idp).status().await, 303);
    assert_eq!(app.users("acme").len(), 1);
}

#[tokio::test]
async fn scim_user_named_by_the_name_id_signs_in_as_the_same_user() {
    scim_user_signs_in_onto_the_same_record(json!({
        "schemas": [USER],
        "userName": NAME_ID,
        "name": {"givenName": "Adeline", "familyName": "L."},
        "emails": [{"value": EMAIL, "type": "work", "primary": true}]
    }))
    .await;
}

#[tokio::test]
async fn scim_user_with_the_name_id_as_external_id_signs_in_as_the_same_user() {
    scim_user_signs_in_onto_the_same_record(json!({
        "schemas": [USER],
        "userName": "ada.lovelace@acme.test",
        "externalId": NAME_ID,
        "name": {"givenName": "Adeline", "familyName": "L."},
        "emails": [{"value": EMAIL, "type": "work", "primary": true}]
    }))
    .await;
}

#[tokio::test]
async fn scim_user_created_inactive_cannot_sign_in() {
    let (app, idp) = scim_only_tenant().await;
    let (s, u) = app
        .scim("acme")
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": NAME_ID, "active": false,
                   "emails": [{"value": EMAIL, "type": "work"}]}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    assert_eq!(u["active"], false);

    assert_eq!(app.sign_in(&idp).status().await, 403);
    assert_eq!(app.last_reason("acme"), "user_deactivated");
    assert_eq!(app.me().await.status(), 401);
    let users = app.users("acme");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].status, "deactivated");
    assert_eq!(users[0].last_login_at, None);
}

#[tokio::test]
async fn scim_deactivation_and_delete_end_the_open_session() {
    let (app, idp) = scim_only_tenant().await;
    let scim = app.scim("acme");
    let (s, u) = scim
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": NAME_ID,
                   "emails": [{"value": EMAIL, "type": "work"}]}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let path = format!("/Users/{}", u["id"].as_str().unwrap());

    assert_eq!(
        app.sign_in(&idp).status().await,
        303,
        "{}",
        app.last_reason("acme")
    );
    assert_eq!(app.me().await.status(), 200);
    let (s, u) = scim.patch(&path, deactivate()).await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(app.me().await.status(), 401, "the session ended");
    assert_eq!(app.sign_in(&idp).status().await, 403);
    assert_eq!(app.last_reason("acme"), "user_deactivated");

    // Reactivated, signed in again, then deleted (deprovisioned) over SCIM.
    let (s, _) = scim
        .patch(
            &path,
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": true}}]}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.sign_in(&idp).status().await,
        303,
        "{}",
        app.last_reason("acme")
    );
    assert_eq!(app.me().await.status(), 200);
    let (s, _) = scim.delete(&path).await;
    assert_eq!(s, 204);
    assert_eq!(app.me().await.status(), 401, "the session ended");
    assert_eq!(app.sign_in(&idp).status().await, 403);
    assert_eq!(app.last_reason("acme"), "user_deactivated");

    let id = path.trim_start_matches("/Users/");
    let t = timeline(&app, id);
    let ended: Vec<(&str, &Value)> = t
        .iter()
        .filter(|(k, _)| k == "deactivated" || k == "deprovisioned")
        .map(|(k, d)| (k.as_str(), &d["sessions_ended"]))
        .collect();
    assert_eq!(
        ended,
        [("deactivated", &json!(1)), ("deprovisioned", &json!(1))]
    );
}

#[tokio::test]
async fn scim_post_takes_over_a_signed_in_user_by_email_on_a_whitelisted_domain() {
    let (app, idp) = tenant(
        TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
        &["acme.test"],
    )
    .await;
    assert_eq!(
        app.sign_in(&idp).status().await,
        303,
        "{}",
        app.last_reason("acme")
    );
    let before = app.users("acme");
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].created_via, "sso");
    let existing = before[0].id.to_string();

    // Neither userName nor externalId is the NameID: only the email matches. (The userName is
    // an address too, so it must be in the tenant's domains as well.)
    let scim = app.scim("acme");
    let (s, u) = scim
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "ada.l@acme.test", "externalId": "00u-ada",
                   "name": {"givenName": "Ada", "familyName": "King"},
                   "emails": [{"value": EMAIL, "type": "work", "primary": true}]}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    assert_eq!(u["id"], existing.as_str(), "the existing user");
    assert_eq!(u["userName"], "ada.l@acme.test");
    assert_eq!(u["name"]["familyName"], "King");

    let after = app.users("acme");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].last_name.as_deref(), Some("King"));
    let (_, list) = scim
        .get("/Users?filter=userName%20eq%20%22ada.l%40acme.test%22")
        .await;
    assert_eq!(list["totalResults"], json!(1));
    assert_eq!(list["Resources"][0]["id"], existing.as_str());
    let t = timeline(&app, &existing);
    assert_eq!(event(&t, "created")["via"], "sso");
    assert_eq!(event(&t, "scim_linked")["matched_by"], "email");

    // The SSO identity still leads to this user.
    assert_eq!(
        app.sign_in(&idp).status().await,
        303,
        "{}",
        app.last_reason("acme")
    );
    assert_eq!(app.users("acme").len(), 1);
    let me: Value = app.me().await.json().await.unwrap();
    assert_eq!(me["user_id"].to_string(), existing);
}

/// Okta's default userName is the person's address; the work email it pushes may be another
/// one. A user SSO created under that address is taken over, not duplicated.
#[tokio::test]
async fn scim_post_takes_over_a_signed_in_user_whose_email_is_the_user_name() {
    let (app, idp) = tenant(
        TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
        &["acme.test"],
    )
    .await;
    assert_eq!(
        app.sign_in(&idp).status().await,
        303,
        "{}",
        app.last_reason("acme")
    );
    let existing = app.users("acme")[0].id.to_string();
    let scim = app.scim("acme");
    // Taking her over would move her address out of the tenant's domains: refused.
    let (s, e) = scim
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "ada@acme.test",
                   "emails": [{"value": "ada@evil.example", "type": "work", "primary": true}]}),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["scimType"], "invalidValue");
    assert_eq!(app.users("acme")[0].email, "ada@acme.test", "untouched");
    let (s, u) = scim
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "ADA@acme.test",
                   "emails": [{"value": "ada.lovelace@acme.test", "type": "work", "primary": true}]}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    assert_eq!(u["id"], existing.as_str(), "the existing user");
    assert_eq!(app.users("acme").len(), 1, "no second user");
    let t = timeline(&app, &existing);
    assert_eq!(event(&t, "scim_linked")["matched_by"], "user_name_email");
    // The SSO identity still leads to this user.
    assert_eq!(
        app.sign_in(&idp).status().await,
        303,
        "{}",
        app.last_reason("acme")
    );
    assert_eq!(app.users("acme").len(), 1);
}

#[tokio::test]
async fn scim_post_with_the_email_of_a_user_on_an_unlisted_domain_is_409() {
    let (app, idp) = tenant(
        TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
        &[],
    )
    .await;
    assert_eq!(
        app.sign_in(&idp).status().await,
        303,
        "{}",
        app.last_reason("acme")
    );
    let id = app.users("acme")[0].id.to_string();
    let before = timeline(&app, &id);

    let scim = app.scim("acme");
    let (s, e) = scim
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "ada.l@acme.test",
                   "name": {"givenName": "Mallory", "familyName": "X"},
                   "emails": [{"value": EMAIL, "type": "work", "primary": true}]}),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["scimType"], "uniqueness");
    assert_eq!(e["status"], "409");

    let users = app.users("acme");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].created_via, "sso");
    assert_eq!(users[0].first_name.as_deref(), Some("Ada"));
    assert_eq!(users[0].last_name.as_deref(), Some("Lovelace"));
    assert_eq!(timeline(&app, &id).len(), before.len(), "no event");
    // Listed all along (userName: her email), so a POST with that userName links her.
    let (_, list) = scim.get("/Users").await;
    assert_eq!(list["totalResults"], json!(1), "{list}");
    assert_eq!(list["Resources"][0]["userName"], EMAIL, "{list}");
}

#[tokio::test]
async fn scim_iwms_attribute_maps_employee_number_to_the_iwms_id() {
    let (app, idp) = tenant(
        TenantInput {
            scim_iwms_attribute: Some(Some("employeeNumber".into())),
            ..Default::default()
        },
        &["acme.test"],
    )
    .await;
    let scim = app.scim("acme");
    let (s, u) = scim
        .post(
            "/Users",
            json!({"schemas": [USER, ENTERPRISE], "userName": NAME_ID,
                   "emails": [{"value": EMAIL, "type": "work"}],
                   ENTERPRISE: {"employeeNumber": "E-1001"}}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    assert_eq!(u[ENTERPRISE]["employeeNumber"], "E-1001");
    let id = u["id"].as_str().unwrap().to_owned();
    assert_eq!(app.users("acme")[0].iwms_id.as_deref(), Some("E-1001"));

    assert_eq!(
        app.sign_in(&idp).status().await,
        303,
        "{}",
        app.last_reason("acme")
    );
    let me: Value = app.me().await.json().await.unwrap();
    assert_eq!(me["iwms_id"], "E-1001");

    // A change over SCIM reaches the record, /me and the SCIM view.
    let (s, u) = scim
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace",
                "path": format!("{ENTERPRISE}:employeeNumber"), "value": "E-1002"}]}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let (_, got) = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(got[ENTERPRISE]["employeeNumber"], "E-1002");
    let me: Value = app.me().await.json().await.unwrap();
    assert_eq!(me["iwms_id"], "E-1002");
    assert_eq!(app.users("acme")[0].iwms_id.as_deref(), Some("E-1002"));
    let (_, list) = scim
        .get(&format!(
            "/Users?filter={ENTERPRISE}:employeeNumber%20eq%20%22E-1002%22"
        ))
        .await;
    assert_eq!(list["totalResults"], json!(1), "{list}");
    let t = timeline(&app, &id);
    let changes = &t
        .iter()
        .rev()
        .find(|(k, _)| k == "attributes_updated")
        .unwrap()
        .1["changes"];
    assert!(
        changes
            .as_array()
            .unwrap()
            .contains(&json!({"field": "iwms_id", "old": "E-1001", "new": "E-1002"})),
        "{changes}"
    );
}

/// Whichever attribute carries the IWMS ID, it must fit a header: one line, at most 256
/// characters. Otherwise /auth/verify could never send it and every check would fail.
#[tokio::test]
async fn an_iwms_id_that_cannot_be_a_header_is_refused_whatever_attribute_carries_it() {
    let (app, idp) = tenant(
        TenantInput {
            scim_iwms_attribute: Some(Some("costCenter".into())),
            ..Default::default()
        },
        &["acme.test"],
    )
    .await;
    let scim = app.scim("acme");
    let body = |cost: &str| {
        json!({"schemas": [USER, ENTERPRISE], "userName": NAME_ID,
               "emails": [{"value": EMAIL, "type": "work"}],
               ENTERPRISE: {"costCenter": cost}})
    };
    for bad in [
        "CC-1\r\nX-Auth-Request-User: ceo@acme.test".to_owned(),
        "CC\t1".to_owned(),
        "C".repeat(257),
    ] {
        let (s, e) = scim.post("/Users", body(&bad)).await;
        assert_eq!(s, 400, "{bad:?}: {e}");
        assert_eq!(e["scimType"], "invalidValue");
    }
    assert!(app.users("acme").is_empty());
    let (s, u) = scim.post("/Users", body("CC-1")).await;
    assert_eq!(s, 201, "{u}");
    let id = u["id"].as_str().unwrap().to_owned();
    let (s, e) = scim
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace",
                "path": format!("{ENTERPRISE}:costCenter"), "value": "CC-2\nX: y"}]}),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(
        app.sign_in(&idp).status().await,
        303,
        "{}",
        app.last_reason("acme")
    );
    let verify = app
        .client
        .get(app.url("/auth/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(verify.status(), 200);
    assert_eq!(verify.headers()["x-auth-request-iwms-id"], "CC-1");
}
