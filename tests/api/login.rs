//! Sign-in entry points and home-realm discovery.
use ssogate::service::admin::TenantInput;

use crate::helpers::{default_saml_input, spawn_app};
use crate::saml_fixtures::TestIdp;

#[tokio::test]
async fn sign_in_page_asks_for_the_work_email() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"));
    let body = res.text().await.unwrap();
    assert!(body.contains("Sign in with SSO") && body.contains("name=\"email\""));
    let css = app
        .client
        .get(app.url("/assets/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
}

#[tokio::test]
async fn unknown_domain_gets_a_clear_message_revealing_no_accounts() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[("email", "someone@nowhere.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(body.contains("not set up for nowhere.test"), "{body}");
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[("email", "not an email")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("Enter your work email"));
}

#[tokio::test]
async fn several_connections_offer_a_choice_and_one_goes_straight_there() {
    let app = spawn_app().await;
    app.create_tenant(
        "acme",
        TenantInput {
            display_name: Some("Acme <Corp>".into()),
            ..Default::default()
        },
    );
    app.add_domain("acme", "acme.test");
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[("email", "a@acme.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503, "no connection yet");
    app.add_connection(
        "acme",
        default_saml_input("okta", &TestIdp::new("http://okta.test/m")),
    );
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[("email", "a@acme.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://idp.example.test/sso?SAMLRequest=")
    );
    app.add_connection(
        "acme",
        default_saml_input("entra", &TestIdp::new("http://entra.test/m")),
    );
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", "a@acme.test"),
            ("return_to", "https://app.acme.test/x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Acme &#60;Corp&#62;"),
        "names are escaped: {body}"
    );
    assert!(
        body.contains(
            "/t/acme/login?connection=entra&#38;return_to=https%3A%2F%2Fapp.acme.test%2Fx"
        ),
        "{body}"
    );
    assert!(body.contains("connection=okta"));
}

/// Spacewell's "Workplace ID or e-mail address": `/` takes the tenant ID too, with no
/// whitelisted domain, and an unknown ID says no more than `/t/{id}/login` does.
#[tokio::test]
async fn tenant_id_at_the_sign_in_form_goes_to_that_tenant() {
    let app = spawn_app().await;
    app.create_tenant("acme", TenantInput::default());
    let post = |typed: &'static str| {
        app.client
            .post(app.url("/login"))
            .form(&[("email", typed), ("return_to", "https://app.acme.test/x")])
            .send()
    };
    assert_eq!(
        post("acme").await.unwrap().status(),
        503,
        "no connection yet"
    );
    app.add_connection(
        "acme",
        default_saml_input("okta", &TestIdp::new("http://okta.test/m")),
    );
    for typed in ["acme", "  ACME "] {
        let res = post(typed).await.unwrap();
        assert_eq!(res.status(), 303, "{typed}");
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("https://idp.example.test/sso?SAMLRequest="),
            "{typed}"
        );
        let binding = res.headers()["set-cookie"].to_str().unwrap();
        assert!(binding.contains("Path=/t/acme/saml/okta/acs"), "{binding}");
    }
    let res = post("nope").await.unwrap();
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(body.contains("no workplace with the ID nope"), "{body}");
    assert!(
        !body.contains("/t/acme"),
        "other tenants stay unnamed: {body}"
    );
    for junk in ["-acme", "acme/../x", "ac me"] {
        let res = post(junk).await.unwrap();
        assert_eq!(res.status(), 400, "{junk}");
        assert!(res.text().await.unwrap().contains("workplace ID"));
    }
    // An address still goes by its domain: acme has none whitelisted.
    let res = post("a@acme.test").await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("not set up for acme.test")
    );
}

#[tokio::test]
async fn tenant_url_and_unknown_tenants() {
    let app = spawn_app().await;
    assert_eq!(
        app.client
            .get(app.url("/t/nope/login"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.client
            .get(app.url("/t/..%2F/login"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.create_tenant("acme", TenantInput::default());
    app.add_connection(
        "acme",
        default_saml_input("okta", &TestIdp::new("http://okta.test/m")),
    );
    let start = app
        .client
        .get(app.url("/t/acme/login"))
        .send()
        .await
        .unwrap();
    let binding = start.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(binding.starts_with("ssogate_authn_"), "{binding}");
    for attr in [
        "HttpOnly",
        "Path=/t/acme/saml/okta/acs",
        "SameSite=Lax",
        "Max-Age=600",
    ] {
        assert!(
            binding.contains(attr),
            "binding cookie lacks {attr}: {binding}"
        );
    }
    let (id, relay) = app.start_login("acme", "okta", None).await;
    assert!(
        id.len() >= 33,
        "at least 128 random bits in the request ID: {id}"
    );
    assert!(relay.len() >= 22);
    assert_eq!(
        app.client
            .get(app.url("/t/acme/login?connection=missing"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn sp_metadata_describes_the_connection() {
    let app = spawn_app().await;
    app.create_tenant("acme", TenantInput::default());
    app.add_connection(
        "acme",
        default_saml_input("okta", &TestIdp::new("http://okta.test/m")),
    );
    let res = app
        .client
        .get(app.sp_entity_id("acme", "okta"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    let xml = res.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        doc.root_element().attribute("entityID"),
        Some(app.sp_entity_id("acme", "okta").as_str())
    );
    let acs = doc
        .descendants()
        .find(|n| n.tag_name().name() == "AssertionConsumerService")
        .unwrap();
    assert_eq!(
        acs.attribute("Location"),
        Some(app.acs_url("acme", "okta").as_str())
    );
    assert_eq!(
        acs.attribute("Binding"),
        Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
    );
    assert!(
        !xml.contains("KeyDescriptor"),
        "no SP certificate when requests are not signed"
    );
    assert_eq!(
        app.client
            .get(app.sp_entity_id("acme", "nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn signed_authn_requests_verify_and_metadata_carries_the_certificate() {
    let sp = TestIdp::new("ssogate SP");
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (
        dir.path().join("sp-key.pem"),
        dir.path().join("sp-cert.pem"),
    );
    std::fs::write(&key, &sp.key_pem).unwrap();
    std::fs::write(&cert, &sp.cert_pem).unwrap();
    let app = crate::helpers::spawn_app_with(|s| {
        s.saml.sp_private_key_file = Some(key.clone());
        s.saml.sp_certificate_file = Some(cert.clone());
    })
    .await;
    app.create_tenant("acme", TenantInput::default());
    let mut input = default_saml_input("okta", &TestIdp::new("http://okta.test/m"));
    input.sign_requests = true;
    app.with_db(|c| {
        ssogate::service::admin::add_saml_connection(
            c,
            "acme",
            &input,
            true,
            &ssogate::domain::audit::Actor::Cli,
            crate::helpers::now(),
        )
    })
    .unwrap();

    let res = app
        .client
        .get(app.url("/t/acme/login"))
        .send()
        .await
        .unwrap();
    let location = reqwest::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(
        query["SigAlg"],
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    );
    // samael's verifier, not ours, checks the Redirect-binding signature.
    let verifier =
        samael::crypto::UrlVerifier::from_x509_cert_pem(std::str::from_utf8(&sp.cert_pem).unwrap())
            .unwrap();
    assert!(
        verifier.verify_signed_request_url(&location).unwrap(),
        "the AuthnRequest signature verifies"
    );
    let tampered =
        reqwest::Url::parse(&location.as_str().replace("RelayState=", "RelayState=x")).unwrap();
    assert!(!verifier.verify_signed_request_url(&tampered).unwrap());

    let xml = app
        .client
        .get(app.sp_entity_id("acme", "okta"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains(r#"AuthnRequestsSigned="true""#));
    assert!(
        xml.contains(&sp.cert_b64()),
        "the SP certificate is in the metadata"
    );
}
