//! The newcomer demo: the built-in development IdP signs a user in end to end.
use crate::helpers::{form_action, form_value, spawn_app_with};

#[tokio::test]
async fn demo_tenant_signs_in_through_the_development_idp() {
    let app = spawn_app_with(|s| s.demo.enabled = true).await;
    let res = app
        .client
        .get(app.url("/t/demo/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let idp = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(idp.starts_with(&app.url("/demo-idp/sso?SAMLRequest=")));
    let form = app
        .client
        .get(&idp)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let fields = [
        ("request_id", form_value(&form, "request_id").unwrap()),
        ("relay_state", form_value(&form, "relay_state").unwrap()),
        ("email", "newcomer@demo.example".to_owned()),
        ("first_name", "New".to_owned()),
        ("last_name", "Comer".to_owned()),
        ("iwms_id", "IWMS-42".to_owned()),
    ];
    let post = app
        .client
        .post(app.url("/demo-idp/sso"))
        .form(&fields)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let acs = form_action(&post).unwrap();
    assert_eq!(acs, app.acs_url("demo", "dev-idp"));
    let res = app
        .client
        .post(&acs)
        .form(&[
            ("SAMLResponse", form_value(&post, "SAMLResponse").unwrap()),
            ("RelayState", form_value(&post, "RelayState").unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", app.last_reason("demo"));
    let me: serde_json::Value = app.me().await.json().await.unwrap();
    assert_eq!(me["email"], "newcomer@demo.example");
    assert_eq!(me["iwms_id"], "IWMS-42");
}

#[tokio::test]
async fn development_idp_is_absent_unless_enabled() {
    let app = crate::helpers::spawn_app().await;
    assert_eq!(
        app.client
            .get(app.url("/demo-idp/sso?SAMLRequest=x"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.client
            .get(app.url("/t/demo/login"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
