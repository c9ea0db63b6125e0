//! The newcomer demo: the built-in development IdP signs a user in end to end.
use crate::helpers::{form_action, form_value, spawn_app_with};

use ssogate::domain::audit::Actor;
use ssogate::service::admin::metadata::Fetcher;
use ssogate::service::admin::{self, ConnectionPatch, TenantInput};

/// Follows a sign-in started by `start` (a 303 to the development IdP) through the IdP's
/// form with `email`, and returns the ACS's answer.
async fn through_the_idp(
    client: &reqwest::Client,
    base: &str,
    start: reqwest::Response,
    email: &str,
) -> reqwest::Response {
    assert_eq!(start.status(), 303);
    let idp = start.headers()["location"].to_str().unwrap().to_owned();
    let idp = if idp.starts_with('/') {
        format!("{base}{idp}")
    } else {
        idp
    };
    assert!(
        idp.starts_with(&format!("{base}/demo-idp/sso?SAMLRequest=")),
        "{idp}"
    );
    let form = client.get(&idp).send().await.unwrap().text().await.unwrap();
    let fields = [
        ("request_id", form_value(&form, "request_id").unwrap()),
        ("relay_state", form_value(&form, "relay_state").unwrap()),
        ("email", email.to_owned()),
        ("first_name", "New".to_owned()),
        ("last_name", "Comer".to_owned()),
        ("iwms_id", "IWMS-42".to_owned()),
    ];
    let post = client
        .post(format!("{base}/demo-idp/sso"))
        .form(&fields)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let acs = form_action(&post).unwrap();
    assert_eq!(acs, format!("{base}/t/demo/saml/dev-idp/acs"));
    client
        .post(&acs)
        .form(&[
            ("SAMLResponse", form_value(&post, "SAMLResponse").unwrap()),
            ("RelayState", form_value(&post, "RelayState").unwrap()),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn demo_tenant_signs_in_through_the_development_idp() {
    let app = spawn_app_with(|s| s.demo.enabled = true).await;
    let start = app
        .client
        .get(app.url("/t/demo/login"))
        .send()
        .await
        .unwrap();
    let res = through_the_idp(&app.client, &app.address, start, "newcomer@demo.example").await;
    assert_eq!(res.status(), 303, "{}", app.last_reason("demo"));
    let me: serde_json::Value = app.me().await.json().await.unwrap();
    assert_eq!(me["email"], "newcomer@demo.example");
    assert_eq!(me["iwms_id"], "IWMS-42");
}

#[tokio::test]
async fn the_demo_email_works_on_the_home_page() {
    let app = spawn_app_with(|s| s.demo.enabled = true).await;
    // The address the development IdP's form offers, typed at `/`.
    let form = app
        .client
        .get(app.url("/t/demo/login"))
        .send()
        .await
        .unwrap();
    let idp_form = app
        .client
        .get(form.headers()["location"].to_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let offered = form_value(&idp_form, "email").unwrap();
    assert!(
        offered.ends_with(&format!("@{}", ssogate::demo::DOMAIN)),
        "{offered}"
    );
    let start = app
        .client
        .post(app.url("/login"))
        .form(&[("email", offered.as_str())])
        .send()
        .await
        .unwrap();
    let res = through_the_idp(&app.client, &app.address, start, &offered).await;
    assert_eq!(res.status(), 303, "{}", app.last_reason("demo"));
    let me: serde_json::Value = app.me().await.json().await.unwrap();
    assert_eq!(me["email"], offered.as_str());
}

#[tokio::test]
async fn restarting_the_demo_keeps_what_an_admin_changed() {
    let app = spawn_app_with(|s| s.demo.enabled = true).await;
    let now = app.now();
    app.with_db(|c| {
        let input = TenantInput {
            display_name: Some("Renamed demo".into()),
            stale_after_days: Some(30),
            allowed_return_origins: Some(vec!["https://app.example.com".into()]),
            ..Default::default()
        };
        admin::update_tenant(c, "demo", &input, &Actor::Cli, now).unwrap();
        admin::add_domain(c, "demo", "demo2.example", &Actor::Cli, now).unwrap();
    });
    let t = app.with_db(|c| admin::tenant_by_slug(c, "demo")).unwrap();
    let patch = ConnectionPatch {
        display_name: Some("Our test IdP".into()),
        attr_iwms_id: Some(Some("employeeId".into())),
        ..Default::default()
    };
    let fetcher = Fetcher::new(reqwest::Client::new(), false);
    admin::connections::update_connection(
        &app.pool,
        &fetcher,
        &t,
        "dev-idp",
        patch,
        false,
        &Actor::Cli,
        now,
    )
    .await
    .unwrap();
    // The restart: a new server on the same database runs the demo setup again.
    let mut settings = crate::helpers::test_settings(&app.db_url);
    settings.demo.enabled = true;
    let again = crate::helpers::start_instance(settings).await;
    let t = app.with_db(|c| admin::tenant_by_slug(c, "demo")).unwrap();
    assert_eq!(t.display_name, "Renamed demo");
    assert_eq!(t.stale_after_days, 30);
    let origins: Vec<&str> = t
        .allowed_return_origins
        .iter()
        .map(|o| o.as_str())
        .collect();
    assert!(origins.contains(&"https://app.example.com"), "{origins:?}");
    assert!(origins.contains(&again.as_str()), "{origins:?}");
    let c = app
        .with_db(|c| admin::connection_by_slug(c, &t, "dev-idp"))
        .unwrap();
    assert_eq!(c.display_name, "Our test IdP");
    assert_eq!(c.attr_iwms_id.as_deref(), Some("employeeId"));
    let domains = app
        .with_db(|c| admin::list_domains(c, Some("demo")))
        .unwrap();
    assert_eq!(domains.len(), 2, "{domains:?}");
    // The restarted demo still signs in (its connection trusts the new key).
    let client = crate::helpers::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let start = client
        .get(format!("{again}/t/demo/login"))
        .send()
        .await
        .unwrap();
    let res = through_the_idp(&client, &again, start, "ada@demo.example").await;
    assert_eq!(res.status(), 303, "{}", app.last_reason("demo"));
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
