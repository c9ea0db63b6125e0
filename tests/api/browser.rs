//! The sign-in as a person does it: headless Chromium (Debian's, driven by playwright-core
//! from tests/browser/) against ssogate and a real IdP: pysaml2 (screenshots in
//! tests/artifacts/browser/) and the npm oidc-provider OP (tests/artifacts/browser-oidc/).
use serde_json::json;
use ssogate::service::admin::TenantInput;

use crate::helpers::spawn_app;
use crate::oidc_flow::{NodeOp, connect};
use crate::pysaml2::PySaml2Idp;
use crate::support::browser::{assert_screenshots, fresh_artifacts, root, run_script};

fn users() -> serde_json::Value {
    json!({
        "ada": { "name_id": "ada-0001", "name_id_format": "persistent",
                 "attributes": { "mail": ["ada@acme.test"], "givenName": ["Ada"], "sn": ["Lovelace"], "employeeNumber": ["IW-1"] } }
    })
}

#[tokio::test]
async fn chromium_signs_in_through_pysaml2_and_signs_out() {
    let root = root();
    let app = spawn_app().await;
    app.create_tenant(
        "acme",
        TenantInput {
            display_name: Some("Acme Corp".into()),
            auto_create_users: Some(true),
            iwms_attribute: Some(Some("employeeNumber".into())),
            ..Default::default()
        },
    );
    app.add_domain("acme", "acme.test");
    let idp = PySaml2Idp::start(users());
    idp.connect(&app, "acme", "pysaml2").await;

    let artifacts = fresh_artifacts(&root, "tests/artifacts/browser");
    let result = run_script(
        &app,
        "signin.mjs",
        &[
            "--email",
            "ada@acme.test",
            "--username",
            "ada",
            "--iwms-id",
            "IW-1",
        ],
        &artifacts,
    )
    .await;
    assert_eq!(result["me"]["email"], "ada@acme.test");
    assert_eq!(result["me"]["tenant"], "acme");
    assert_eq!(result["verify_headers"]["x-auth-request-iwms-id"], "IW-1");
    assert_eq!(result["cookie"]["httpOnly"], true);
    assert_screenshots(
        &artifacts,
        &[
            "01-sign-in.png",
            "01-sign-in-390-light.png",
            "01-sign-in-390-dark.png",
            "01b-sign-in-error-390-light.png",
            "01b-sign-in-error-390-dark.png",
            "01c-error-page-390-light.png",
            "01c-error-page-390-dark.png",
            "02-idp-login.png",
            "03-signed-in.png",
            "04-signed-out.png",
        ],
    );

    let users = app.users("acme");
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].email, "ada@acme.test");
    assert_eq!(users[0].iwms_id.as_deref(), Some("IW-1"));
    assert_eq!(users[0].created_via, "sso");
}

#[tokio::test]
async fn chromium_signs_in_through_oidc_provider() {
    let root = root();
    let app = spawn_app().await;
    app.create_tenant(
        "acme",
        TenantInput {
            display_name: Some("Acme Corp".into()),
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    app.add_domain("acme", "acme.test");
    // The connection maps the OP's employee_number claim to the IWMS id.
    let op = NodeOp::start(&app.url("/t/acme/oidc/okta/callback"), &[]);
    connect(&app, &op, true).await;

    let artifacts = fresh_artifacts(&root, "tests/artifacts/browser-oidc");
    let result = run_script(
        &app,
        "oidc_signin.mjs",
        &[
            "--tenant",
            "acme",
            "--connection",
            "okta",
            "--login",
            "ada",
            "--email",
            "ada@acme.test",
            "--iwms-id",
            "IW-42",
        ],
        &artifacts,
    )
    .await;
    let op_login = result["op_login"].as_str().unwrap_or_default();
    assert!(
        op_login.starts_with(&format!("{}/", op.issuer)),
        "{op_login}"
    );
    assert_eq!(result["me"]["email"], "ada@acme.test");
    assert_eq!(result["me"]["tenant"], "acme");
    assert_eq!(result["me"]["iwms_id"], "IW-42");
    assert_eq!(result["cookie"]["httpOnly"], true);
    assert_eq!(
        result["binding_cookie"]["path"],
        "/t/acme/oidc/okta/callback"
    );
    assert_screenshots(
        &artifacts,
        &["oidc-01-op-login.png", "oidc-02-signed-in.png"],
    );

    let users = app.users("acme");
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].email, "ada@acme.test");
    assert_eq!(users[0].iwms_id.as_deref(), Some("IW-42"));
    assert_eq!(users[0].created_via, "sso");
    let history = app.sign_ins("acme");
    assert_eq!(history[0].subject.as_deref(), Some("ada-sub-1"));
    assert_eq!(history[0].outcome, "success");
}

/// The admin console in Chromium (tests/browser/admin.mjs): a super-admin signs in with a
/// bootstrap link, whitelists the domain, adds the pysaml2 IdP from its metadata URL, tests the
/// sign-in as Ada, finds her, deactivates and reactivates her, and creates a SCIM token.
/// Screenshots of every page: tests/artifacts/admin-console/.
#[tokio::test]
async fn chromium_drives_the_admin_console() {
    let root = root();
    // The IdP's metadata URL is on loopback over http, as in development.
    let app = crate::helpers::spawn_app_with(|s| s.oidc.allow_http_loopback = true).await;
    app.create_tenant(
        "acme",
        TenantInput {
            display_name: Some("Acme Corp".into()),
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    let idp = PySaml2Idp::start(users());
    let bootstrap = app
        .with_db(|c| {
            ssogate::service::admin::access::create_bootstrap_link(c, crate::helpers::now(), 600)
        })
        .expect("bootstrap link");

    let artifacts = fresh_artifacts(&root, "tests/artifacts/admin-console");
    let result = run_script(
        &app,
        "admin.mjs",
        &[
            "--bootstrap",
            &bootstrap,
            "--tenant",
            "acme",
            "--domain",
            "acme.test",
            "--idp-metadata-url",
            &idp.metadata_url,
            "--sp-metadata",
            idp.sp_metadata.to_str().unwrap(),
            "--connection",
            "pysaml2",
            "--username",
            "ada",
            "--email",
            "ada@acme.test",
        ],
        &artifacts,
    )
    .await;
    assert_eq!(result["entity_id"], idp.metadata_url.as_str());
    assert_screenshots(
        &artifacts,
        &[
            "01-tenants.png",
            "02-settings.png",
            "03-domains.png",
            "04-connections.png",
            "05-connection.png",
            "05b-test-sign-in.png",
            "06-users.png",
            "07-user.png",
            "07a-user-confirm-unlink.png",
            "07-user-390-light.png",
            "07-user-390-dark.png",
            "08-user-deactivated.png",
            "09-user-reactivated.png",
            "10-sign-ins.png",
            "10-sign-ins-390-light.png",
            "10-sign-ins-390-dark.png",
            "11-scim-token-created.png",
            "12-scim-tokens.png",
        ],
    );

    // What the clicks did, read back from the database.
    let users = app.users("acme");
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].email, "ada@acme.test");
    assert_eq!(users[0].status, "active");
    let timeline: Vec<String> = app
        .user_detail("acme", "ada@acme.test")
        .timeline
        .into_iter()
        .map(|e| e.kind)
        .collect();
    for kind in ["created", "deactivated", "reactivated"] {
        assert!(timeline.iter().any(|k| k == kind), "{kind} in {timeline:?}");
    }
    let domains = app
        .with_db(|c| ssogate::service::admin::list_domains(c, Some("acme")))
        .unwrap();
    assert_eq!(domains.len(), 1);
    // The token the console showed once provisions through SCIM.
    let scim = app
        .client
        .get(app.url("/t/acme/scim/v2/Users"))
        .bearer_auth(result["scim_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let status = scim.status();
    let headers = format!("{:?}", scim.headers());
    let body = scim.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{headers}\n{body}");
}
