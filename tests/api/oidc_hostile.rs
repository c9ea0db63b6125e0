//! Every ID-token and callback check against a provider that lies. Each test asserts the
//! specific reason code, so removing a check makes its test fail.
use serde_json::{Value, json};
use ssogate::domain::oidc::ProviderMetadata;
use ssogate::service::admin::{self, NewOidc, TenantInput};

use crate::helpers::{TestApp, now, spawn_app, spawn_app_with};
use crate::hostile_op::{HostileOp, Key, sign, sign_header};

pub const CLIENT: &str = "ssogate-client";
pub const SECRET: &str = "client-secret-0123456789-0123456789-abcdef";

pub struct Setup {
    pub app: TestApp,
    pub op: HostileOp,
    pub key: Key,
}

pub async fn connect(app: &TestApp, op: &HostileOp, slug: &str, edit: impl FnOnce(&mut NewOidc)) {
    let mut input = oidc_input(op, slug).await;
    edit(&mut input);
    app.with_db(|c| {
        admin::add_oidc_connection(
            c,
            "acme",
            &input,
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .expect("add oidc connection");
}

/// A connection to `op`, its discovery document and keys fetched as an admin's would be.
pub async fn oidc_input(op: &HostileOp, slug: &str) -> NewOidc {
    let http =
        ssogate::protocol::oidc::client::http_client(std::time::Duration::from_secs(5), true)
            .unwrap();
    let metadata: ProviderMetadata =
        ssogate::protocol::oidc::client::discover(&http, &op.issuer, true)
            .await
            .expect("discovery");
    let jwks_json = ssogate::protocol::oidc::client::fetch_jwks(&http, &metadata.jwks_uri)
        .await
        .expect("jwks");
    NewOidc {
        slug: slug.into(),
        display_name: None,
        issuer: op.issuer.clone(),
        client_id: CLIENT.into(),
        client_secret: SECRET.into(),
        client_auth: None,
        scopes: None,
        allowed_algorithms: None,
        allow_hs256: false,
        use_userinfo: false,
        clock_skew_secs: None,
        attr_email: Some(vec!["email".into()]),
        attr_first_name: Some(vec!["given_name".into()]),
        attr_last_name: Some(vec!["family_name".into()]),
        attr_iwms_id: None,
        admin_role: None,
        metadata,
        jwks_json,
    }
}

pub async fn setup_with(edit: impl FnOnce(&mut NewOidc)) -> Setup {
    let app = spawn_app_with(|s| {
        s.oidc.http_timeout_secs = 2;
        s.oidc.jwks_refetch_interval_secs = 30;
    })
    .await;
    app.create_tenant(
        "acme",
        TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    app.add_domain("acme", "acme.test");
    let op = HostileOp::start();
    let key = Key::rsa("k1");
    op.with(|s| s.jwks = json!({"keys": [key.jwk()]}));
    connect(&app, &op, "op", edit).await;
    Setup { app, op, key }
}

pub async fn setup() -> Setup {
    setup_with(|_| {}).await
}

pub struct Flow {
    pub state: String,
    pub nonce: String,
}

pub async fn start(app: &TestApp, conn: &str) -> Flow {
    let res = app
        .client
        .get(app.url(&format!("/t/acme/login?connection={conn}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let binding = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(binding.starts_with("ssogate_oidc_"), "{binding}");
    assert!(
        binding.contains(&format!("Path=/t/acme/oidc/{conn}/callback"))
            && binding.contains("HttpOnly")
            && binding.contains("SameSite=Lax"),
        "{binding}"
    );
    let url = reqwest::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["code_challenge"].len() >= 43);
    Flow {
        state: q["state"].clone(),
        nonce: q["nonce"].clone(),
    }
}

pub fn claims(op: &HostileOp, flow: &Flow) -> Value {
    let t = now();
    json!({
        "iss": op.issuer, "aud": CLIENT, "sub": "user-1", "exp": t + 300, "iat": t, "nonce": flow.nonce,
        "email": "ada@acme.test", "email_verified": true, "given_name": "Ada", "family_name": "Lovelace",
    })
}

pub fn serve_token(op: &HostileOp, id_token: String) {
    op.with(|s| {
        s.token_response =
            json!({"access_token": "at-123", "token_type": "Bearer", "id_token": id_token})
    });
}

pub async fn callback(app: &TestApp, conn: &str, query: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/t/acme/oidc/{conn}/callback?{query}")))
        .send()
        .await
        .unwrap()
}

/// Signs `claims` RS256 with the setup key, completes the flow, returns the status.
async fn complete(s: &Setup, flow: &Flow, token: String) -> u16 {
    serve_token(&s.op, token);
    callback(&s.app, "op", &format!("code=c0de&state={}", flow.state))
        .await
        .status()
        .as_u16()
}

async fn refused(s: &Setup, flow: &Flow, token: String, reason: &str) {
    let users = s.app.users("acme").len();
    assert_eq!(
        complete(s, flow, token).await,
        403,
        "expected a refusal for {reason}"
    );
    assert_eq!(s.app.last_reason("acme"), reason);
    assert_eq!(s.app.users("acme").len(), users);
}

fn rs256(s: &Setup, c: &Value) -> String {
    sign("RS256", Some(&s.key), b"", Some("k1"), c)
}

#[tokio::test]
async fn a_valid_token_signs_in_and_the_exchange_is_well_formed() {
    let s = setup().await;
    let flow = start(&s.app, "op").await;
    assert_eq!(
        complete(&s, &flow, rs256(&s, &claims(&s.op, &flow))).await,
        303,
        "{}",
        s.app.last_reason("acme")
    );
    let me: Value = s.app.me().await.json().await.unwrap();
    assert_eq!(me["email"], "ada@acme.test");
    assert_eq!(me["first_name"], "Ada");
    let (auth, body) = s.op.with(|o| o.token_requests[0].clone());
    let expected = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{CLIENT}:{SECRET}")
        )
    );
    assert_eq!(
        auth.as_deref(),
        Some(expected.as_str()),
        "client_secret_basic"
    );
    assert!(
        body.contains("grant_type=authorization_code")
            && body.contains("code=c0de")
            && body.contains("code_verifier=")
    );
}

#[tokio::test]
async fn es256_and_ps256_verify() {
    let s = setup().await;
    let (ec, ps) = (Key::ec("e1"), Key::rsa("p1"));
    s.op.with(|o| o.jwks = json!({"keys": [s.key.jwk(), ec.jwk(), ps.jwk()]}));
    // The new keys arrive by the unknown-kid refetch.
    let flow = start(&s.app, "op").await;
    assert_eq!(
        complete(
            &s,
            &flow,
            sign("ES256", Some(&ec), b"", Some("e1"), &claims(&s.op, &flow))
        )
        .await,
        303,
        "{}",
        s.app.last_reason("acme")
    );
    let flow = start(&s.app, "op").await;
    assert_eq!(
        complete(
            &s,
            &flow,
            sign("PS256", Some(&ps), b"", Some("p1"), &claims(&s.op, &flow))
        )
        .await,
        303,
        "{}",
        s.app.last_reason("acme")
    );
}

#[tokio::test]
async fn bad_signature_is_refused() {
    let s = setup().await;
    let flow = start(&s.app, "op").await;
    let token = rs256(&s, &claims(&s.op, &flow));
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut c = claims(&s.op, &flow);
    c["email"] = json!("eve@acme.test");
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        c.to_string(),
    );
    refused(&s, &flow, parts.join("."), "id_token_signature").await;
}

#[tokio::test]
async fn alg_none_is_refused() {
    let s = setup().await;
    let flow = start(&s.app, "op").await;
    refused(
        &s,
        &flow,
        sign("none", None, b"", Some("k1"), &claims(&s.op, &flow)),
        "id_token_algorithm",
    )
    .await;
}

/// JOSE `alg` names compare exactly: a header saying `" RS256"` (or `"rs256"`) names no
/// algorithm, although a correct RS256 signature follows.
#[tokio::test]
async fn an_alg_that_only_resembles_an_allowed_one_is_refused() {
    let s = setup().await;
    for alg in [" RS256", "RS256 ", "rs256", "RS256\n"] {
        let flow = start(&s.app, "op").await;
        let header = json!({"alg": alg, "typ": "JWT", "kid": "k1"});
        let token = sign_header(&header, "RS256", Some(&s.key), b"", &claims(&s.op, &flow));
        refused(&s, &flow, token, "id_token_algorithm").await;
    }
    let flow = start(&s.app, "op").await;
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "k1"});
    let token = sign_header(&header, "RS256", Some(&s.key), b"", &claims(&s.op, &flow));
    assert_eq!(
        complete(&s, &flow, token).await,
        303,
        "the exact name passes"
    );
}

#[tokio::test]
async fn hs256_with_the_public_key_is_refused() {
    // The classic confusion: HMAC keyed with the provider's public key.
    let s = setup().await;
    let flow = start(&s.app, "op").await;
    let forged = sign(
        "HS256",
        None,
        &s.key.public_pem(),
        Some("k1"),
        &claims(&s.op, &flow),
    );
    refused(&s, &flow, forged, "id_token_algorithm").await;
    // Even where HS256 is enabled, only the client secret is an HMAC key.
    let s = setup_with(|i| i.allow_hs256 = true).await;
    let flow = start(&s.app, "op").await;
    let forged = sign(
        "HS256",
        None,
        &s.key.public_pem(),
        Some("k1"),
        &claims(&s.op, &flow),
    );
    refused(&s, &flow, forged, "id_token_signature").await;
    let flow = start(&s.app, "op").await;
    let genuine = sign(
        "HS256",
        None,
        SECRET.as_bytes(),
        None,
        &claims(&s.op, &flow),
    );
    assert_eq!(
        complete(&s, &flow, genuine).await,
        303,
        "{}",
        s.app.last_reason("acme")
    );
}

#[tokio::test]
async fn issuer_audience_and_azp() {
    let s = setup().await;
    for (field, value, reason) in [
        ("iss", json!("http://evil.test"), "issuer_mismatch"),
        ("aud", json!("another-client"), "audience_mismatch"),
        ("aud", json!([CLIENT, "untrusted"]), "audience_mismatch"),
        ("azp", json!("another-client"), "azp_mismatch"),
    ] {
        let flow = start(&s.app, "op").await;
        let mut c = claims(&s.op, &flow);
        c[field] = value;
        refused(&s, &flow, rs256(&s, &c), reason).await;
    }
}

#[tokio::test]
async fn expired_and_future_tokens_are_refused() {
    let s = setup().await;
    let flow = start(&s.app, "op").await;
    let mut c = claims(&s.op, &flow);
    c["exp"] = json!(now() - 61);
    refused(&s, &flow, rs256(&s, &c), "expired").await;
    let flow = start(&s.app, "op").await;
    let mut c = claims(&s.op, &flow);
    c["iat"] = json!(now() + 120);
    refused(&s, &flow, rs256(&s, &c), "not_yet_valid").await;
}

#[tokio::test]
async fn wrong_nonce_and_at_hash_are_refused() {
    let s = setup().await;
    let flow = start(&s.app, "op").await;
    let mut c = claims(&s.op, &flow);
    c["nonce"] = json!("someone-elses-nonce");
    refused(&s, &flow, rs256(&s, &c), "nonce_mismatch").await;
    let flow = start(&s.app, "op").await;
    let mut c = claims(&s.op, &flow);
    c["at_hash"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    refused(&s, &flow, rs256(&s, &c), "at_hash_mismatch").await;
}

/// Two sign-ins in flight in one browser (two tabs) both complete: finishing one expires
/// only its own binding cookie.
#[tokio::test]
async fn two_sign_ins_in_flight_in_one_browser_both_complete() {
    let s = setup().await;
    let first = start(&s.app, "op").await;
    let second = start(&s.app, "op").await;
    let c = claims(&s.op, &first);
    assert_eq!(complete(&s, &first, rs256(&s, &c)).await, 303);
    let c = claims(&s.op, &second);
    assert_eq!(
        complete(&s, &second, rs256(&s, &c)).await,
        303,
        "{}",
        s.app.last_reason("acme")
    );
}

#[tokio::test]
async fn state_is_single_use_and_bound_to_the_browser() {
    let s = setup().await;
    let flow = start(&s.app, "op").await;
    assert_eq!(
        complete(&s, &flow, rs256(&s, &claims(&s.op, &flow))).await,
        303
    );
    // Replayed state.
    let res = callback(&s.app, "op", &format!("code=c0de&state={}", flow.state)).await;
    assert_eq!(res.status(), 403);
    assert_eq!(s.app.last_reason("acme"), "unknown_state");
    // Login CSRF: the callback in another browser (no binding cookie).
    let flow = start(&s.app, "op").await;
    serve_token(&s.op, rs256(&s, &claims(&s.op, &flow)));
    let other = crate::helpers::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = other
        .get(s.app.url(&format!(
            "/t/acme/oidc/op/callback?code=c0de&state={}",
            flow.state
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(s.app.last_reason("acme"), "browser_mismatch");
    // No state at all.
    assert_eq!(callback(&s.app, "op", "code=c0de").await.status(), 403);
    assert_eq!(s.app.last_reason("acme"), "unknown_state");
}

/// Callbacks whose state names no pending request are anyone's to send: they are counted per
/// connection, reason and hour, never stored one row each, and the provider's words in them
/// (error_description) are never shown. A callback for this browser's own request keeps its
/// row and shows them.
#[tokio::test]
async fn callbacks_answering_no_request_of_this_browser_are_counted_and_say_nothing() {
    let s = setup().await;
    let rows = s.app.sign_ins("acme").len();
    for query in [
        "code=c0de&state=made-up",
        "code=c0de",
        "error=access_denied&error_description=Call+us+at+555-0100&state=made-up",
    ] {
        let res = callback(&s.app, "op", query).await;
        assert_eq!(res.status(), 403, "{query}");
        let body = res.text().await.unwrap();
        assert!(!body.contains("555-0100"), "{query}: {body}");
    }
    assert_eq!(s.app.sign_ins("acme").len(), rows, "no row for any of them");
    assert_eq!(s.app.refusal_count("acme", "unknown_state"), 3);
    let counted = s.app.counted_refusals("acme");
    assert_eq!(counted.len(), 1, "one key: connection, reason, hour");
    assert_eq!(counted[0].connection, "op");
    // A callback for a request started in another browser (the state is real, the binding
    // cookie missing) used that request up: it keeps a row, and says nothing either.
    let flow = start(&s.app, "op").await;
    let other = crate::helpers::client_builder().build().unwrap();
    let res = other
        .get(s.app.url(&format!(
            "/t/acme/oidc/op/callback?error=access_denied&error_description=Call+us+at+555-0100&state={}",
            flow.state
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(!res.text().await.unwrap().contains("555-0100"));
    assert_eq!(s.app.sign_ins("acme")[0].reason, "browser_mismatch");
    // This browser's own request: a row, and the provider's words.
    let flow = start(&s.app, "op").await;
    let res = callback(
        &s.app,
        "op",
        &format!(
            "error=access_denied&error_description=Call+us+at+555-0100&state={}",
            flow.state
        ),
    )
    .await;
    assert!(res.text().await.unwrap().contains("555-0100"));
    assert_eq!(s.app.sign_ins("acme")[0].reason, "op_error");
    assert_eq!(s.app.sign_ins("acme").len(), rows + 2);
}

#[tokio::test]
async fn key_rotation_is_picked_up_and_refetches_are_rate_limited() {
    let s = setup().await;
    let k2 = Key::rsa("k2");
    s.op.with(|o| o.jwks = json!({"keys": [k2.jwk()]}));
    let fetches = s.op.with(|o| o.jwks_fetches);
    let flow = start(&s.app, "op").await;
    assert_eq!(
        complete(
            &s,
            &flow,
            sign("RS256", Some(&k2), b"", Some("k2"), &claims(&s.op, &flow))
        )
        .await,
        303,
        "{}",
        s.app.last_reason("acme")
    );
    assert_eq!(
        s.op.with(|o| o.jwks_fetches),
        fetches + 1,
        "one refetch for the unknown kid"
    );
    // Another unknown kid right after: no second fetch within the interval.
    let k3 = Key::rsa("k3");
    s.op.with(|o| o.jwks = json!({"keys": [k2.jwk(), k3.jwk()]}));
    let flow = start(&s.app, "op").await;
    refused(
        &s,
        &flow,
        sign("RS256", Some(&k3), b"", Some("k3"), &claims(&s.op, &flow)),
        "unknown_signing_key",
    )
    .await;
    assert_eq!(s.op.with(|o| o.jwks_fetches), fetches + 1);
}

#[tokio::test]
async fn missing_kid_with_several_keys_is_refused() {
    let s = setup().await;
    let k2 = Key::rsa("k2");
    s.op.with(|o| o.jwks = json!({"keys": [s.key.jwk(), k2.jwk()]}));
    // Get the two-key JWKS cached first.
    let flow = start(&s.app, "op").await;
    assert_eq!(
        complete(
            &s,
            &flow,
            sign("RS256", Some(&k2), b"", Some("k2"), &claims(&s.op, &flow))
        )
        .await,
        303
    );
    let flow = start(&s.app, "op").await;
    refused(
        &s,
        &flow,
        sign("RS256", Some(&s.key), b"", None, &claims(&s.op, &flow)),
        "unknown_signing_key",
    )
    .await;
}

#[tokio::test]
async fn userinfo_sub_must_match() {
    let s = setup_with(|i| i.use_userinfo = true).await;
    s.op.with(|o| o.userinfo = json!({"sub": "someone-else", "email": "eve@acme.test"}));
    let flow = start(&s.app, "op").await;
    refused(
        &s,
        &flow,
        rs256(&s, &claims(&s.op, &flow)),
        "userinfo_sub_mismatch",
    )
    .await;
    s.op.with(|o| o.userinfo = json!({"sub": "user-1", "employee_number": "IW-7"}));
    let flow = start(&s.app, "op").await;
    assert_eq!(
        complete(&s, &flow, rs256(&s, &claims(&s.op, &flow))).await,
        303,
        "{}",
        s.app.last_reason("acme")
    );
}

#[tokio::test]
async fn provider_errors_end_on_a_clear_page_with_a_reason() {
    let s = setup().await;
    let flow = start(&s.app, "op").await;
    let res = callback(
        &s.app,
        "op",
        &format!(
            "error=access_denied&error_description=User+not+assigned&state={}",
            flow.state
        ),
    )
    .await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("User not assigned"));
    assert_eq!(s.app.last_reason("acme"), "op_error");
    // invalid_client at the token endpoint.
    let flow = start(&s.app, "op").await;
    s.op.with(|o| {
        o.token_status = 401;
        o.token_response = json!({"error": "invalid_client", "error_description": "bad secret"});
    });
    assert_eq!(
        callback(&s.app, "op", &format!("code=c0de&state={}", flow.state))
            .await
            .status(),
        403
    );
    assert_eq!(s.app.last_reason("acme"), "token_exchange_failed");
}

#[tokio::test]
async fn a_slow_provider_times_out_instead_of_hanging() {
    let s = setup().await;
    let flow = start(&s.app, "op").await;
    s.op.with(|o| o.token_delay = std::time::Duration::from_secs(5));
    serve_token(&s.op, rs256(&s, &claims(&s.op, &flow)));
    let started = std::time::Instant::now();
    let res = callback(&s.app, "op", &format!("code=c0de&state={}", flow.state)).await;
    assert_eq!(res.status(), 403);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "the 2 s timeout applies"
    );
    assert_eq!(s.app.last_reason("acme"), "op_unreachable");
}

#[tokio::test]
async fn unverified_email_does_not_link_to_an_existing_account() {
    let s = setup().await;
    connect(&s.app, &s.op, "op2", |_| {}).await;
    let flow = start(&s.app, "op").await;
    assert_eq!(
        complete(&s, &flow, rs256(&s, &claims(&s.op, &flow))).await,
        303
    );
    // A second provider connection asserts the same email, unverified.
    let flow = start(&s.app, "op2").await;
    let mut c = claims(&s.op, &flow);
    c["sub"] = json!("other-sub");
    c["email_verified"] = json!(false);
    serve_token(&s.op, rs256(&s, &c));
    assert_eq!(
        callback(&s.app, "op2", &format!("code=c0de&state={}", flow.state))
            .await
            .status(),
        403
    );
    assert_eq!(s.app.last_reason("acme"), "email_not_verified");
}

/// `email_verified` counts as verified only as `true` or `"true"`; any other value the
/// provider sends (a number, another string, another case, null) says "not verified", so it
/// neither links to the existing account nor creates one.
#[tokio::test]
async fn every_email_verified_but_true_is_unverified() {
    let s = setup().await;
    connect(&s.app, &s.op, "op2", |_| {}).await;
    let flow = start(&s.app, "op").await;
    assert_eq!(
        complete(&s, &flow, rs256(&s, &claims(&s.op, &flow))).await,
        303
    );
    let values = [
        json!(0),
        json!(1),
        json!("0"),
        json!("1"),
        json!("no"),
        json!("yes"),
        json!("TRUE"),
        json!("True"),
        json!(null),
        json!(""),
        json!([true]),
        json!({"verified": true}),
    ];
    for (i, v) in values.iter().enumerate() {
        for (sub, email) in [
            (format!("link-{i}"), "ada@acme.test"),
            (format!("new-{i}"), "grace@acme.test"),
        ] {
            let flow = start(&s.app, "op2").await;
            let mut c = claims(&s.op, &flow);
            c["sub"] = json!(sub);
            c["email"] = json!(email);
            c["email_verified"] = v.clone();
            serve_token(&s.op, rs256(&s, &c));
            let res = callback(&s.app, "op2", &format!("code=c0de&state={}", flow.state)).await;
            assert_eq!(res.status(), 403, "email_verified {v} for {email}");
            assert_eq!(s.app.last_reason("acme"), "email_not_verified", "{v}");
        }
    }
    assert_eq!(s.app.users("acme").len(), 1, "no account was created");
    // The string "true" is a yes: the second provider links to the same account.
    let flow = start(&s.app, "op2").await;
    let mut c = claims(&s.op, &flow);
    c["sub"] = json!("other-sub");
    c["email_verified"] = json!("true");
    serve_token(&s.op, rs256(&s, &c));
    let res = callback(&s.app, "op2", &format!("code=c0de&state={}", flow.state)).await;
    assert_eq!(res.status(), 303, "{}", s.app.last_reason("acme"));
    assert_eq!(s.app.users("acme").len(), 1);
}

/// The console's sign-in through an OpenID provider: the hand-off travels with the pending
/// authorization request to the session the callback opens, and /admin/sso spends it.
#[tokio::test]
async fn a_console_sign_in_through_oidc_opens_the_console() {
    let s = setup().await;
    s.app
        .with_db(|c| {
            ssogate::service::admin::access::grant(
                c,
                "acme",
                "ada@acme.test",
                &ssogate::domain::audit::Actor::Cli,
                now(),
            )
        })
        .unwrap();
    let res = s.app.admin_login(&s.app.client, "ada@acme.test").await;
    assert_eq!(res.status(), 303);
    let handoff = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("ssogate_admin_handoff="))
        .expect("hand-off cookie");
    assert!(handoff.contains("Path=/admin/sso"), "{handoff}");
    let url = reqwest::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    let flow = Flow {
        state: q["state"].clone(),
        nonce: q["nonce"].clone(),
    };
    serve_token(&s.op, rs256(&s, &claims(&s.op, &flow)));
    let back = callback(&s.app, "op", &format!("code=c0de&state={}", flow.state)).await;
    assert_eq!(back.status(), 303, "{}", s.app.last_reason("acme"));
    assert_eq!(back.headers()["location"], "/admin/sso");
    let console = s
        .app
        .client
        .get(s.app.url("/admin/sso"))
        .send()
        .await
        .unwrap();
    assert_eq!(console.headers()["location"], "/admin/t/acme");
    // Spent: the same browser's next visit has no hand-off left.
    let again = s
        .app
        .client
        .get(s.app.url("/admin/sso"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["location"], "/admin/login");
}

/// An address the provider calls unverified never becomes an account: it would be trusted
/// from then on (forward-auth headers, admin grants by email, later email matches).
#[tokio::test]
async fn unverified_email_creates_no_account_and_no_admin() {
    let s = setup().await;
    s.app
        .with_db(|c| {
            ssogate::service::admin::access::grant(
                c,
                "acme",
                "ada@acme.test",
                &ssogate::domain::audit::Actor::Cli,
                now(),
            )
        })
        .unwrap();
    let flow = start(&s.app, "op").await;
    let mut c = claims(&s.op, &flow);
    c["email_verified"] = json!(false);
    refused(&s, &flow, rs256(&s, &c), "email_not_verified").await;
    assert!(s.app.users("acme").is_empty());
    let console = s
        .app
        .client
        .get(s.app.url("/admin/sso"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        console.headers()["location"],
        "/admin/login",
        "no SSO session to hand off"
    );
    assert!(console.headers().get("set-cookie").is_none());
    // Verified, the same person signs in (and is the admin the grant names).
    let flow = start(&s.app, "op").await;
    assert_eq!(
        complete(&s, &flow, rs256(&s, &claims(&s.op, &flow))).await,
        303
    );
    assert_eq!(s.app.users("acme").len(), 1);
}

#[tokio::test]
async fn configuration_refuses_none_and_unrequested_hs256() {
    let app = spawn_app().await;
    app.create_tenant("acme", TenantInput::default());
    let op = HostileOp::start();
    op.with(|s| s.jwks = json!({"keys": [Key::rsa("k1").jwk()]}));
    let http =
        ssogate::protocol::oidc::client::http_client(std::time::Duration::from_secs(5), true)
            .unwrap();
    let metadata = ssogate::protocol::oidc::client::discover(&http, &op.issuer, true)
        .await
        .unwrap();
    let base = NewOidc {
        slug: "op".into(),
        display_name: None,
        issuer: op.issuer.clone(),
        client_id: CLIENT.into(),
        client_secret: SECRET.into(),
        client_auth: None,
        scopes: None,
        allowed_algorithms: Some(vec!["none".into()]),
        allow_hs256: false,
        use_userinfo: false,
        clock_skew_secs: None,
        attr_email: Some(vec!["email".into()]),
        attr_first_name: Some(vec!["given_name".into()]),
        attr_last_name: Some(vec!["family_name".into()]),
        attr_iwms_id: None,
        admin_role: None,
        metadata,
        jwks_json: r#"{"keys":[]}"#.into(),
    };
    let e = app
        .with_db(|c| {
            admin::add_oidc_connection(c, "acme", &base, &ssogate::domain::audit::Actor::Cli, now())
        })
        .unwrap_err();
    assert!(e.to_string().contains("allowed_algorithms"), "{e}");
    let mut hs = base.clone();
    hs.allowed_algorithms = Some(vec!["HS256".into()]);
    let e = app
        .with_db(|c| {
            admin::add_oidc_connection(c, "acme", &hs, &ssogate::domain::audit::Actor::Cli, now())
        })
        .unwrap_err();
    assert!(e.to_string().contains("HS256"), "{e}");
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_recorded() {
    let s = setup().await;
    // A second connection whose token endpoint nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/token", closed.local_addr().unwrap());
    drop(closed);
    connect(&s.app, &s.op, "dead", |i| {
        i.metadata.token_endpoint = dead.clone()
    })
    .await;
    let flow = start(&s.app, "dead").await;
    let res = callback(&s.app, "dead", &format!("code=c0de&state={}", flow.state)).await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("could not be reached"));
    assert_eq!(s.app.last_reason("acme"), "op_unreachable");
}

#[tokio::test]
async fn state_is_scoped_to_its_connection_and_expires() {
    use diesel::prelude::*;
    use ssogate::storage::schema::pending_oidc_requests as p;
    let s = setup().await;
    connect(&s.app, &s.op, "op2", |_| {}).await;
    // A state issued for one connection is unknown at another's callback.
    let flow = start(&s.app, "op").await;
    serve_token(&s.op, rs256(&s, &claims(&s.op, &flow)));
    assert_eq!(
        callback(&s.app, "op2", &format!("code=c0de&state={}", flow.state))
            .await
            .status(),
        403
    );
    assert_eq!(s.app.last_reason("acme"), "unknown_state");
    // An expired one is unknown too.
    let flow = start(&s.app, "op").await;
    s.app
        .with_db(|c| {
            diesel::update(p::table)
                .set(p::expires_at.eq(now() - 1))
                .execute(c)
        })
        .unwrap();
    assert_eq!(
        complete(&s, &flow, rs256(&s, &claims(&s.op, &flow))).await,
        403
    );
    assert_eq!(s.app.last_reason("acme"), "unknown_state");
}

#[tokio::test]
async fn client_secret_post_sends_the_credentials_in_the_body() {
    let s = setup_with(|i| i.client_auth = Some("client_secret_post".into())).await;
    let flow = start(&s.app, "op").await;
    assert_eq!(
        complete(&s, &flow, rs256(&s, &claims(&s.op, &flow))).await,
        303,
        "{}",
        s.app.last_reason("acme")
    );
    let (auth, body) = s.op.with(|o| o.token_requests[0].clone());
    assert_eq!(
        auth, None,
        "no Authorization header with client_secret_post"
    );
    assert!(
        body.contains(&format!("client_id={CLIENT}")) && body.contains("client_secret="),
        "{body}"
    );
}

/// A linked user's sign-in may carry an address the provider calls unverified (the user set
/// it themselves at some providers): it signs them in as who they are, but claims no admin
/// grant for that address.
#[tokio::test]
async fn an_unverified_address_of_a_linked_user_claims_no_grant() {
    let s = setup().await;
    // Bob signs in once, verified, and is linked by subject.
    let flow = start(&s.app, "op").await;
    let mut bob = claims(&s.op, &flow);
    bob["sub"] = json!("bob-1");
    bob["email"] = json!("bob@acme.test");
    assert_eq!(complete(&s, &flow, rs256(&s, &bob)).await, 303);
    s.app
        .with_db(|c| {
            ssogate::service::admin::access::grant(
                c,
                "acme",
                "cfo@acme.test",
                &ssogate::domain::audit::Actor::Cli,
                now(),
            )
        })
        .unwrap();
    // Through the console's sign-in, the provider now says "cfo@acme.test", unverified.
    let res = s.app.admin_login(&s.app.client, "bob@acme.test").await;
    assert_eq!(res.status(), 303);
    let url = reqwest::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    let flow = Flow {
        state: q["state"].clone(),
        nonce: q["nonce"].clone(),
    };
    let mut c = claims(&s.op, &flow);
    c["sub"] = json!("bob-1");
    c["email"] = json!("cfo@acme.test");
    c["email_verified"] = json!(false);
    serve_token(&s.op, rs256(&s, &c));
    let back = callback(&s.app, "op", &format!("code=c0de&state={}", flow.state)).await;
    assert_eq!(back.status(), 303, "{}", s.app.last_reason("acme"));
    let console = s
        .app
        .client
        .get(s.app.url("/admin/sso"))
        .send()
        .await
        .unwrap();
    assert_ne!(
        console
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap()),
        Some("/admin/t/acme"),
        "an unverified address opened the console"
    );
    let grants = s
        .app
        .with_db(|c| ssogate::service::admin::access::grants(c, "acme"))
        .unwrap();
    assert!(
        grants.iter().all(|g| g.user_id.is_none()),
        "the grant was claimed: {grants:?}"
    );
}
