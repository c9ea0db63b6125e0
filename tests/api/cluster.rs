//! No state lives only in process memory: two instances on one database behave as one.
use ssogate::service::admin::TenantInput;

use crate::helpers::{default_saml_input, spawn_app, start_instance, test_settings};
use crate::saml_fixtures::{Resp, TestIdp};

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
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
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
