//! No state lives only in process memory: two instances on one database behave as one.
use ssogate::service::admin::TenantInput;

use serde_json::json;
use ssogate::domain::audit::Actor;

use crate::helpers::{
    TestApp, client_builder, default_saml_input, first_cookie, now, spawn_app, spawn_app_at,
    start_instance, start_instance_with_clock, test_settings,
};
use crate::saml_fixtures::{Resp, TestIdp};
use crate::support::sign_in::acme;

#[tokio::test]
async fn a_sign_in_started_on_one_instance_completes_on_another() {
    let a = spawn_app().await;
    let b = start_instance(test_settings(&a.db_url)).await;
    let idp = TestIdp::new("http://idp.test/m");
    a.create_tenant(
        "acme",
        TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    a.add_connection("acme", default_saml_input("okta", &idp));

    // The SP URLs (entity ID, ACS) are the first instance's; what matters is the shared
    // pending request, replay cache and session.
    let (req, rs) = a.start_login("acme", "okta", None).await;
    let first = Resp::valid(&a, "acme", "okta", &idp, Some(&req));
    let assertion_id = first.assertion_id.clone();
    let xml = first.signed(&idp);
    let b_settings_acs = format!("{b}/t/acme/saml/okta/acs");
    let post = |url: String, xml: String, rs: String| {
        let client = a.client.clone();
        async move {
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD.encode(xml);
            client
                .post(url)
                .form(&[("SAMLResponse", encoded), ("RelayState", rs)])
                .send()
                .await
                .unwrap()
        }
    };
    // Instance B validates against its own ACS URL, so it refuses A's Destination...
    let res = post(b_settings_acs, xml.clone(), rs.clone()).await;
    assert_eq!(res.status(), 403);
    assert_eq!(a.last_reason("acme"), "destination_mismatch");
    // ...which is why instances behind one load balancer share server.base_url. With it, B
    // completes A's request, and A honours B's session.
    let shared = start_instance({
        let mut s = test_settings(&a.db_url);
        s.server.base_url = Some(a.address.clone());
        s
    })
    .await;
    let res = post(
        format!("{shared}/t/acme/saml/okta/acs"),
        xml.clone(),
        rs.clone(),
    )
    .await;
    assert_eq!(res.status(), 303, "{}", a.last_reason("acme"));
    let cookie = first_cookie(&res);
    let me = a
        .client
        .get(a.url("/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // The same response again is refused on the first instance (its request was used up)...
    let res = post(a.acs_url("acme", "okta"), xml, rs).await;
    assert_eq!(res.status(), 403);
    assert_eq!(a.last_reason("acme"), "unknown_in_response_to");
    // ...and the same assertion answering a fresh request started on the first instance hits
    // the shared replay cache.
    let (req2, rs2) = a.start_login("acme", "okta", None).await;
    let mut replay = Resp::valid(&a, "acme", "okta", &idp, Some(&req2));
    replay.assertion_id = assertion_id;
    let res = post(a.acs_url("acme", "okta"), replay.signed(&idp), rs2).await;
    assert_eq!(res.status(), 403);
    assert_eq!(a.last_reason("acme"), "assertion_replay");
}

/// Two instances on one database, both answering /auth/verify from memory for up to
/// `session.verify_cache_ms`, on one frozen clock: A signs Ada in and both instances have
/// checked her session. Returns A, B's address, the session cookie and a cookie-less client.
async fn cached_pair(bound_ms: u64) -> (TestApp, String, String, reqwest::Client) {
    let a = spawn_app_at(now(), |s| s.session.verify_cache_ms = bound_ms).await;
    let mut settings = test_settings(&a.db_url);
    settings.session.verify_cache_ms = bound_ms;
    let b = start_instance_with_clock(settings, a.clock.clone()).await;
    let idp = acme(&a, TenantInput::default());
    let res = a.sign_in(&idp).send().await;
    assert_eq!(res.status(), 303, "{}", a.last_reason("acme"));
    let cookie = first_cookie(&res);
    let client = client_builder().build().unwrap();
    for base in [&a.address, &b] {
        assert_eq!(verify(&client, base, &cookie).await, 200);
    }
    (a, b, cookie, client)
}

async fn verify(client: &reqwest::Client, base: &str, cookie: &str) -> u16 {
    client
        .get(format!("{base}/auth/verify"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// What ends a session through instance A ends it on A at once and on B within the bound:
/// B may answer from memory until then, never after.
async fn ends_everywhere_within_the_bound(a: &TestApp, b: &str, cookie: &str, c: &reqwest::Client) {
    assert_eq!(
        verify(c, &a.address, cookie).await,
        401,
        "A wrote it: at once"
    );
    assert_eq!(verify(c, b, cookie).await, 200, "B answers from memory");
    a.clock.advance(1);
    assert_eq!(verify(c, b, cookie).await, 401, "B within the bound");
    assert_eq!(verify(c, &a.address, cookie).await, 401);
}

#[tokio::test]
async fn a_scim_deactivation_ends_the_session_on_every_instance_within_a_second() {
    let (a, b, cookie, client) = cached_pair(1000).await;
    let scim = a.scim("acme");
    let email = a.users("acme")[0].email.clone();
    let (status, list) = scim
        .get(&format!("/Users?filter=userName%20eq%20%22{email}%22"))
        .await;
    assert_eq!(status, 200, "{list}");
    let id = list["Resources"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = scim
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "value": {"active": false}}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    ends_everywhere_within_the_bound(&a, &b, &cookie, &client).await;
}

#[tokio::test]
async fn a_sign_out_ends_the_session_on_every_instance_within_a_second() {
    let (a, b, cookie, client) = cached_pair(1000).await;
    let res = client
        .post(a.url("/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection() || res.status().is_success());
    ends_everywhere_within_the_bound(&a, &b, &cookie, &client).await;
}

/// A deactivation by the CLI (another process) reaches both instances within the bound.
#[tokio::test]
async fn a_deactivation_elsewhere_reaches_every_instance_within_the_bound() {
    let (a, b, cookie, client) = cached_pair(500).await;
    deactivate_elsewhere(&a);
    for base in [&a.address, &b] {
        assert_eq!(verify(&client, base, &cookie).await, 200, "from memory");
    }
    a.clock.advance(1);
    for base in [&a.address, &b] {
        assert_eq!(verify(&client, base, &cookie).await, 401);
    }
}

/// With the cache off, every check reads the database.
#[tokio::test]
async fn with_the_cache_off_a_change_elsewhere_shows_at_once() {
    let (a, b, cookie, client) = cached_pair(0).await;
    deactivate_elsewhere(&a);
    for base in [&a.address, &b] {
        assert_eq!(verify(&client, base, &cookie).await, 401);
    }
}

/// Deactivates the tenant's user straight in the database, as the CLI or another instance
/// would: nothing tells the two instances.
fn deactivate_elsewhere(a: &TestApp) {
    let id = a.users("acme")[0].id;
    a.with_db(|c| {
        let t = ssogate::service::admin::tenant_by_slug(c, "acme")?;
        ssogate::service::admin::users::deactivate_user(c, &t, id, &Actor::Cli, a.now())
    })
    .unwrap();
}
