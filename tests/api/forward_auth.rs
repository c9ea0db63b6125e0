//! /auth/verify, /me and /logout: the session contract with reverse proxies.
use ssogate::service::admin::TenantInput;

use crate::helpers::{default_saml_input, spawn_app};
use crate::saml_fixtures::{Resp, TestIdp};

#[tokio::test]
async fn anonymous_requests_get_401() {
    let app = spawn_app().await;
    assert_eq!(
        app.client
            .get(app.url("/auth/verify"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let me = app.me().await;
    assert_eq!(me.status(), 401);
    assert_eq!(
        me.json::<serde_json::Value>().await.unwrap()["error"],
        "not_signed_in"
    );
    let forged = app
        .client
        .get(app.url("/auth/verify"))
        .header("cookie", "ssogate_session=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
}

#[tokio::test]
async fn session_headers_then_logout() {
    let app = spawn_app().await;
    let idp = TestIdp::new("http://idp.test/m");
    app.create_tenant(
        "acme",
        TenantInput {
            auto_create_users: Some(true),
            allowed_return_origins: Some(vec!["https://app.acme.test".into()]),
            ..Default::default()
        },
    );
    app.add_connection("acme", default_saml_input("okta", &idp));
    let (req, rs) = app
        .start_login("acme", "okta", Some("https://app.acme.test/after"))
        .await;
    // DEL is a control character XML 1.0 allows (C0 controls such as BEL cannot reach a
    // SAML value: the strict parser refuses them as malformed_xml).
    let r = Resp::valid(&app, "acme", "okta", &idp, Some(&req)).attr("firstName", "Zoë\u{7f}");
    let res = app
        .post_acs("acme", "okta", &r.signed(&idp), Some(&rs))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "https://app.acme.test/after");
    let v = app
        .client
        .get(app.url("/auth/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(v.status(), 200);
    assert_eq!(
        v.headers()["x-auth-request-given-name"].as_bytes(),
        "Zoë".as_bytes(),
        "UTF-8 kept, control characters removed"
    );
    assert_eq!(
        v.headers()["x-auth-request-iwms-id"],
        "",
        "absent values are sent empty"
    );
    let scoped = app
        .client
        .get(app.url("/auth/verify?tenant=acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(scoped.status(), 200);
    let other = app
        .client
        .get(app.url("/auth/verify?tenant=globex"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        401,
        "a session of another tenant does not pass a pinned check"
    );
    let twice = app
        .client
        .get(app.url("/auth/verify?tenant=globex&tenant=acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 401, "an ambiguous pin fails closed");
    for typo in ["Tenant=acme", "tenant_=acme", "tenant=acme&rd=/x"] {
        let res = app
            .client
            .get(app.url(&format!("/auth/verify?{typo}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            401,
            "{typo}: an unknown parameter never unpins"
        );
    }
    // Another site's form cannot sign the user out.
    let forged = app
        .client
        .post(app.url("/logout"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("set-cookie").is_none());
    assert_eq!(
        app.client
            .get(app.url("/auth/verify"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "still signed in"
    );
    let res = app
        .client
        .post(app.url("/logout"))
        .header("sec-fetch-site", "same-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.client
            .get(app.url("/auth/verify"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}
