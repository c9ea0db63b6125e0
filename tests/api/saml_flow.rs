//! The whole flow against pysaml2, as a browser walks it.
use serde_json::json;
use ssogate::service::admin::TenantInput;

use crate::helpers::spawn_app;
use crate::pysaml2::{PySaml2Idp, sign_in_at_idp};

fn users() -> serde_json::Value {
    json!({
        "ada": { "name_id": "ada-0001", "name_id_format": "persistent",
                 "attributes": { "mail": ["ada@acme.test"], "givenName": ["Ada"], "sn": ["Lovelace"], "employeeNumber": ["IW-1"] } },
        "grace": { "name_id": "grace@acme.test", "name_id_format": "email",
                   "attributes": { "givenName": ["Grace"], "sn": ["Hopper"] } }
    })
}

#[tokio::test]
async fn browser_walk_from_email_to_forward_auth() {
    let app = spawn_app().await;
    app.create_tenant(
        "acme",
        TenantInput {
            display_name: Some("Acme Corp".into()),
            auto_create_users: Some(true),
            iwms_attribute: Some(Some("employeeNumber".into())),
            allowed_return_origins: Some(vec!["https://app.acme.test".into()]),
            ..Default::default()
        },
    );
    app.add_domain("acme", "acme.test");
    let idp = PySaml2Idp::start(users());
    idp.connect(&app, "acme", "pysaml2").await;

    // Home-realm discovery from the email.
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", "Ada@ACME.test"),
            ("return_to", "https://app.acme.test/rooms?floor=3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let idp_url = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        idp_url.starts_with(idp.metadata_url.trim_end_matches("/metadata")),
        "{idp_url}"
    );

    let (acs, saml_response, relay_state) = sign_in_at_idp(&app.client, &idp_url, "ada").await;
    assert_eq!(acs, app.acs_url("acme", "pysaml2"));
    let res = app
        .client
        .post(&acs)
        .form(&[("SAMLResponse", saml_response), ("RelayState", relay_state)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        303,
        "ACS refused: {}",
        app.last_reason("acme")
    );
    assert_eq!(
        res.headers()["location"],
        "https://app.acme.test/rooms?floor=3"
    );
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let me: serde_json::Value = app.me().await.json().await.unwrap();
    assert_eq!(me["email"], "ada@acme.test");
    assert_eq!(me["first_name"], "Ada");
    assert_eq!(me["last_name"], "Lovelace");
    assert_eq!(me["iwms_id"], "IW-1");
    assert_eq!(me["tenant"], "acme");
    assert_eq!(me["tenant_name"], "Acme Corp");

    let v = app
        .client
        .get(app.url("/auth/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(v.status(), 200);
    let h = v.headers();
    assert_eq!(h["x-auth-request-user"], "ada@acme.test");
    assert_eq!(h["x-auth-request-email"], "ada@acme.test");
    assert_eq!(h["x-auth-request-given-name"], "Ada");
    assert_eq!(h["x-auth-request-family-name"], "Lovelace");
    assert_eq!(h["x-auth-request-iwms-id"], "IW-1");
    assert_eq!(h["x-auth-request-tenant"], "acme");

    let users = app.users("acme");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].created_via, "sso");
}

#[tokio::test]
async fn email_name_id_and_tenant_url_without_domains() {
    let app = spawn_app().await;
    app.create_tenant(
        "acme",
        TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    let idp = PySaml2Idp::start(users());
    idp.connect(&app, "acme", "pysaml2").await;
    let res = app
        .client
        .get(app.url("/t/acme/login?return_to=https://evil.test/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let idp_url = res.headers()["location"].to_str().unwrap().to_owned();
    let (acs, saml_response, relay_state) = sign_in_at_idp(&app.client, &idp_url, "grace").await;
    let res = app
        .client
        .post(&acs)
        .form(&[("SAMLResponse", saml_response), ("RelayState", relay_state)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        303,
        "ACS refused: {}",
        app.last_reason("acme")
    );
    // Not an allowed origin: the neutral page, never the foreign URL.
    assert_eq!(res.headers()["location"], "/signed-in");
    let me: serde_json::Value = app.me().await.json().await.unwrap();
    assert_eq!(me["email"], "grace@acme.test");
    assert_eq!(me["first_name"], "Grace");
    let page = app
        .client
        .get(app.url("/signed-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("grace@acme.test"));
}
