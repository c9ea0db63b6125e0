//! Every ACS check, one hostile response each. Each test asserts the specific reason code,
//! so removing a check makes its test fail (the response would be accepted or refused later
//! for another reason).
use ssogate::service::admin::TenantInput;

use crate::helpers::{TestApp, default_saml_input, spawn_app};
use crate::saml_fixtures::*;
use crate::support::canary::Canary;
use crate::support::sign_in::acme;

pub const T: &str = "acme";
pub const C: &str = "okta";

pub async fn setup() -> (TestApp, TestIdp) {
    let app = spawn_app().await;
    let idp = acme(&app, TenantInput::default());
    (app, idp)
}

/// Posts `xml` and asserts the sign-in was refused with `reason`.
pub async fn assert_refused(app: &TestApp, xml: &str, relay_state: Option<&str>, reason: &str) {
    let users_before = app.users(T).len();
    let res = app.post_acs(T, C, xml, relay_state).await;
    let status = res.status().as_u16();
    assert!(
        res.headers().get("set-cookie").is_none(),
        "a refused sign-in must not set a session cookie"
    );
    assert!(
        (400..500).contains(&status),
        "expected a client error, got {status}"
    );
    assert_eq!(app.last_reason(T), reason);
    assert_eq!(
        app.users(T).len(),
        users_before,
        "no user may be created by a refused response"
    );
}

async fn fresh(app: &TestApp, idp: &TestIdp) -> (Resp, String) {
    let (req, rs) = app.start_login(T, C, None).await;
    (Resp::valid(app, T, C, idp, Some(&req)), rs)
}

#[tokio::test]
async fn the_valid_fixture_is_accepted() {
    // Guards the other tests: each breaks exactly one thing of this response.
    let (app, idp) = setup().await;
    for sign in [SignWhat::Assertion, SignWhat::Response, SignWhat::Both] {
        let (mut r, rs) = fresh(&app, &idp).await;
        r.sign = sign;
        let res = app.post_acs(T, C, &r.signed(&idp), Some(&rs)).await;
        assert_eq!(res.status(), 303, "{sign:?}: {}", app.last_reason(T));
        assert_eq!(app.last_reason(T), "success");
    }
}

#[tokio::test]
async fn doctype_is_refused() {
    let (app, idp) = setup().await;
    let (r, rs) = fresh(&app, &idp).await;
    let xml = format!(
        "<!DOCTYPE r [<!ENTITY x \"ada@acme.test\">]>{}",
        r.signed(&idp)
    );
    assert_refused(&app, &xml, Some(&rs), "doctype_forbidden").await;
}

#[tokio::test]
async fn malformed_xml_and_encoding_are_refused() {
    let (app, _idp) = setup().await;
    assert_refused(
        &app,
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"><unclosed>",
        None,
        "malformed_xml",
    )
    .await;
    let res = app
        .client
        .post(app.acs_url(T, C))
        .form(&[("SAMLResponse", "!!!not base64!!!")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason(T), "malformed_encoding");
}

#[tokio::test]
async fn oversized_responses_are_refused_and_recorded() {
    let (app, idp) = setup().await;
    let (r, rs) = fresh(&app, &idp).await;
    let padded = r.clone().attr("padding", &"x".repeat(300 * 1024));
    assert_refused(&app, &padded.signed(&idp), Some(&rs), "response_too_large").await;
    // A body far above the cap is cut off while reading, and still recorded.
    let huge = "A".repeat(2 * 1024 * 1024);
    let res = app
        .client
        .post(app.acs_url(T, C))
        .form(&[("SAMLResponse", huge)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(app.last_reason(T), "response_too_large");
}

#[tokio::test]
async fn external_reference_uri_is_refused_without_fetching() {
    let (app, idp) = setup().await;
    let canary = Canary::start();
    let url = format!("{}x", canary.url);
    let (mut r, rs) = fresh(&app, &idp).await;
    r.reference_uri = Some(url);
    // Signed as a template; xmlsec would dereference the URI while signing, so sign an
    // honest response and swap the URI in afterwards.
    let honest = r.clone();
    let xml = {
        let mut h = honest;
        h.reference_uri = None;
        h.signed(&idp).replace(
            &format!("URI=\"#{}\"", r.assertion_id),
            &format!("URI=\"{}\"", r.reference_uri.as_ref().unwrap()),
        )
    };
    assert_refused(&app, &xml, Some(&rs), "invalid_reference").await;
    assert_eq!(canary.hits(), 0, "the SP fetched an external Reference URI");
}

#[tokio::test]
async fn reference_to_another_element_is_refused() {
    let (app, idp) = setup().await;
    let (r, rs) = fresh(&app, &idp).await;
    // The assertion's signature pointing at the Response (not its own parent).
    let xml = r.signed(&idp).replace(
        &format!("URI=\"#{}\"", r.assertion_id),
        &format!("URI=\"#{}\"", r.response_id),
    );
    assert_refused(&app, &xml, Some(&rs), "invalid_reference").await;
    let xml = r
        .signed(&idp)
        .replace(&format!("URI=\"#{}\"", r.assertion_id), "URI=\"\"");
    assert_refused(&app, &xml, Some(&rs), "invalid_reference").await;
}

#[tokio::test]
async fn xslt_and_comment_transforms_are_refused() {
    let (app, idp) = setup().await;
    let canary = Canary::start();
    let url = format!("{}x", canary.url);
    let (r, rs) = fresh(&app, &idp).await;
    let xslt = format!(
        r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:copy-of select="document('{url}')"/></xsl:template></xsl:stylesheet></ds:Transform>"#
    );
    let xml = r
        .signed(&idp)
        .replacen("<ds:Transforms>", &format!("<ds:Transforms>{xslt}"), 1);
    assert_refused(&app, &xml, Some(&rs), "forbidden_xml_construct").await;
    let xpath = r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>1</ds:XPath></ds:Transform>"#;
    let xml = r
        .signed(&idp)
        .replacen("<ds:Transforms>", &format!("<ds:Transforms>{xpath}"), 1);
    assert_refused(&app, &xml, Some(&rs), "forbidden_transform").await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.transforms = vec![
        ENVELOPED.into(),
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments".into(),
    ];
    assert_refused(&app, &r.signed(&idp), Some(&rs), "forbidden_transform").await;
    assert_eq!(canary.hits(), 0, "the SP ran a fetching transform");
}

#[tokio::test]
async fn object_manifest_and_retrieval_method_are_refused() {
    let (app, idp) = setup().await;
    let canary = Canary::start();
    let url = format!("{}x", canary.url);
    for extra in [
        "<ds:Object><x>payload</x></ds:Object>".to_owned(),
        format!(
            r##"<ds:Object><ds:Manifest><ds:Reference URI="{url}"><ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:Manifest></ds:Object>"##
        ),
    ] {
        let (r, rs) = fresh(&app, &idp).await;
        let xml = r.signed(&idp).replacen(
            "</ds:SignatureValue>",
            &format!("</ds:SignatureValue>{extra}"),
            1,
        );
        assert_refused(&app, &xml, Some(&rs), "forbidden_xml_construct").await;
    }
    let (r, rs) = fresh(&app, &idp).await;
    let ki = format!(
        r#"<ds:KeyInfo><ds:RetrievalMethod URI="{url}" Type="http://www.w3.org/2000/09/xmldsig#X509Data"/></ds:KeyInfo>"#
    );
    let xml = r.signed(&idp).replacen(
        "</ds:SignatureValue>",
        &format!("</ds:SignatureValue>{ki}"),
        1,
    );
    assert_refused(&app, &xml, Some(&rs), "forbidden_xml_construct").await;
    assert_eq!(canary.hits(), 0);
}

#[tokio::test]
async fn unsigned_responses_are_refused() {
    let (app, idp) = setup().await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.sign = SignWhat::Nothing;
    assert_refused(&app, &r.signed(&idp), Some(&rs), "unsigned").await;
}

#[tokio::test]
async fn signature_by_another_key_is_refused_even_with_its_cert_inside() {
    let (app, idp) = setup().await;
    let attacker = TestIdp::new("http://idp.acme.test/metadata");
    let (mut r, rs) = fresh(&app, &idp).await;
    r.key_info = format!(
        "<ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data>",
        attacker.cert_b64()
    );
    assert_refused(&app, &r.signed(&attacker), Some(&rs), "invalid_signature").await;
}

#[tokio::test]
async fn tampered_signed_content_is_refused() {
    let (app, idp) = setup().await;
    let (r, rs) = fresh(&app, &idp).await;
    let xml = r.signed(&idp).replace("ada@acme.test", "eve@acme.test");
    assert_refused(&app, &xml, Some(&rs), "invalid_signature").await;
}

#[tokio::test]
async fn sha1_is_refused() {
    let (app, idp) = setup().await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.sig_alg = RSA_SHA1.into();
    r.digest_alg = SHA1.into();
    assert_refused(&app, &r.signed(&idp), Some(&rs), "weak_algorithm").await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.digest_alg = SHA1.into();
    assert_refused(&app, &r.signed(&idp), Some(&rs), "weak_algorithm").await;
}

#[tokio::test]
async fn per_connection_algorithm_allowlist_is_enforced() {
    let app = spawn_app().await;
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    app.create_tenant(
        T,
        TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    let mut input = default_saml_input(C, &idp);
    input.allowed_algorithms = Some(vec!["rsa-sha512".into()]);
    app.add_connection(T, input);
    let (r, rs) = fresh(&app, &idp).await;
    assert_refused(&app, &r.signed(&idp), Some(&rs), "weak_algorithm").await;
}

#[tokio::test]
async fn connection_without_certificate_is_refused_at_config_and_at_sign_in() {
    let (app, idp) = setup().await;
    let mut input = default_saml_input("nocert", &idp);
    input.idp_certificates.clear();
    let err = app
        .with_db(|c| {
            ssogate::service::admin::add_saml_connection(
                c,
                T,
                &input,
                false,
                &ssogate::domain::audit::Actor::Cli,
                crate::helpers::now(),
            )
        })
        .unwrap_err();
    assert!(err.to_string().contains("idp_certificates"), "{err}");
    // A row that slipped in anyway (older data, manual SQL) must still never verify.
    app.with_db(|c| {
        use ssogate::storage::connections;
        let t = ssogate::service::admin::tenant_by_slug(c, T).unwrap();

        connections::create_saml(
            c,
            t.id,
            &connections::NewConnection {
                slug: &ssogate::domain::slug::Slug::parse("nocert").unwrap(),
                display_name: "nocert",
                attr_email: input.attr_email.as_deref().unwrap_or_default(),
                attr_first_name: input.attr_first_name.as_deref().unwrap_or_default(),
                attr_last_name: input.attr_last_name.as_deref().unwrap_or_default(),
                attr_iwms_id: None,
            },
            &ssogate::domain::connection::SamlIdpSettings {
                idp_entity_id: idp.entity_id.clone(),
                idp_sso_url: "https://idp.example.test/sso".into(),
                idp_certificates: vec![],
                allowed_algorithms: ssogate::domain::connection::SignatureAlgorithm::ALL.to_vec(),
                allow_idp_initiated: false,
                allow_unbound_responses: false,
                sign_requests: false,
                clock_skew_secs: 60,
            },
            crate::helpers::now(),
        )
        .unwrap()
    });
    let (req, rs) = app.start_login(T, "nocert", None).await;
    let r = Resp::valid(&app, T, "nocert", &idp, Some(&req));
    let res = app.post_acs(T, "nocert", &r.signed(&idp), Some(&rs)).await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason(T), "no_idp_certificate");
}

#[tokio::test]
async fn exactly_one_assertion() {
    let (app, idp) = setup().await;
    let (r, rs) = fresh(&app, &idp).await;
    let mut second = r.clone();
    second.assertion_id = ssogate::random::saml_id();
    second.sign = SignWhat::Nothing;
    let mut two = r.clone();
    two.response_extra = second.assertion_xml();
    assert_refused(&app, &two.signed(&idp), Some(&rs), "assertion_count").await;
    let (mut none, rs) = fresh(&app, &idp).await;
    none.omit_assertion = true;
    none.sign = SignWhat::Response;
    assert_refused(&app, &none.signed(&idp), Some(&rs), "assertion_count").await;
}

#[tokio::test]
async fn signature_wrapping_is_refused() {
    // A genuinely signed assertion kept, plus an unsigned evil one placed first.
    let (app, idp) = setup().await;
    let (r, rs) = fresh(&app, &idp).await;
    let signed = r.signed(&idp);
    let mut evil = r.clone();
    evil.name_id = "evil".into();
    evil.sign = SignWhat::Nothing;
    let evil_xml = evil.assertion_xml();
    let wrapped = signed.replacen("<saml:Assertion", &format!("{evil_xml}<saml:Assertion"), 1);
    assert_refused(&app, &wrapped, Some(&rs), "forbidden_xml_construct").await; // duplicate ID
    let mut evil2 = evil.clone();
    evil2.assertion_id = ssogate::random::saml_id();
    let wrapped = signed.replacen(
        "<saml:Assertion",
        &format!("{}<saml:Assertion", evil2.assertion_xml()),
        1,
    );
    assert_refused(&app, &wrapped, Some(&rs), "assertion_count").await;
}

#[tokio::test]
async fn issuer_must_be_the_configured_idp() {
    let (app, idp) = setup().await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.assertion_issuer = "http://evil.test/metadata".into();
    r.response_issuer = None;
    assert_refused(&app, &r.signed(&idp), Some(&rs), "issuer_mismatch").await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.response_issuer = Some("http://evil.test/metadata".into());
    assert_refused(&app, &r.signed(&idp), Some(&rs), "issuer_mismatch").await;
}

#[tokio::test]
async fn audience_must_be_present_and_this_sp() {
    let (app, idp) = setup().await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.audience = None;
    assert_refused(&app, &r.signed(&idp), Some(&rs), "audience_missing").await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.audience = Some(app.sp_entity_id(T, "other"));
    assert_refused(&app, &r.signed(&idp), Some(&rs), "audience_mismatch").await;
}

#[tokio::test]
async fn destination_must_be_this_acs_signed_or_not() {
    let (app, idp) = setup().await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.destination = Some(app.acs_url(T, "other"));
    r.sign = SignWhat::Both;
    assert_refused(&app, &r.signed(&idp), Some(&rs), "destination_mismatch").await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.destination = Some("https://evil.test/acs".into());
    r.sign = SignWhat::Assertion; // Destination on the unsigned envelope
    assert_refused(&app, &r.signed(&idp), Some(&rs), "destination_mismatch").await;
}

#[tokio::test]
async fn recipient_must_be_this_acs() {
    let (app, idp) = setup().await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.recipient = Some(app.acs_url(T, "other"));
    assert_refused(&app, &r.signed(&idp), Some(&rs), "recipient_mismatch").await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.recipient = None;
    assert_refused(&app, &r.signed(&idp), Some(&rs), "recipient_mismatch").await;
}

#[tokio::test]
async fn in_response_to_must_match_a_pending_request_of_this_connection() {
    let (app, idp) = setup().await;
    app.add_connection(
        T,
        default_saml_input("entra", &TestIdp::new("http://idp2.test/metadata")),
    );
    let (mut r, rs) = fresh(&app, &idp).await;
    r.scd_in_response_to = Some("_unknown".into());
    r.response_in_response_to = Some("_unknown".into());
    assert_refused(&app, &r.signed(&idp), Some(&rs), "unknown_in_response_to").await;
    // A request started for another connection of the tenant does not count.
    let (other_req, other_rs) = app.start_login(T, "entra", None).await;
    let r = Resp::valid(&app, T, C, &idp, Some(&other_req));
    assert_refused(
        &app,
        &r.signed(&idp),
        Some(&other_rs),
        "unknown_in_response_to",
    )
    .await;
    // The Response's unsigned InResponseTo must agree with the signed one.
    let (mut r, rs) = fresh(&app, &idp).await;
    r.response_in_response_to = Some("_something_else".into());
    assert_refused(&app, &r.signed(&idp), Some(&rs), "unknown_in_response_to").await;
}

#[tokio::test]
async fn pending_requests_are_single_use() {
    let (app, idp) = setup().await;
    let (r, rs) = fresh(&app, &idp).await;
    let xml = r.signed(&idp);
    assert_eq!(app.post_acs(T, C, &xml, Some(&rs)).await.status(), 303);
    let mut again = r.clone();
    again.assertion_id = ssogate::random::saml_id();
    assert_refused(
        &app,
        &again.signed(&idp),
        Some(&rs),
        "unknown_in_response_to",
    )
    .await;
}

#[tokio::test]
async fn relay_state_must_match_the_request() {
    let (app, idp) = setup().await;
    let (r, _rs) = fresh(&app, &idp).await;
    assert_refused(
        &app,
        &r.signed(&idp),
        Some("forged-relay-state"),
        "relay_state_mismatch",
    )
    .await;
}

#[tokio::test]
async fn time_window_with_clock_skew() {
    let (app, idp) = setup().await;
    let now = crate::helpers::now();
    let (mut r, rs) = fresh(&app, &idp).await;
    r.not_on_or_after = now - 61;
    assert_refused(&app, &r.signed(&idp), Some(&rs), "expired").await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.scd_not_on_or_after = Some(now - 61);
    assert_refused(&app, &r.signed(&idp), Some(&rs), "expired").await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.not_before = now + 90;
    assert_refused(&app, &r.signed(&idp), Some(&rs), "not_yet_valid").await;
    // The IdP's session already over: no session born expired (the browser would loop).
    let (mut r, rs) = fresh(&app, &idp).await;
    r.session_not_on_or_after = Some(now - 1);
    assert_refused(&app, &r.signed(&idp), Some(&rs), "expired").await;
    // A live one caps the session.
    let (mut r, rs) = fresh(&app, &idp).await;
    r.session_not_on_or_after = Some(now + 600);
    let res = app.post_acs(T, C, &r.signed(&idp), Some(&rs)).await;
    assert_eq!(res.status(), 303, "{}", app.last_reason(T));
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("ssogate_session="))
        .expect("session cookie");
    let max_age: i64 = session
        .split("Max-Age=")
        .nth(1)
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.parse().ok())
        .expect("Max-Age");
    assert!((590..=600).contains(&max_age), "{session}");
    // Within the default 60 s skew: accepted.
    let (mut r, rs) = fresh(&app, &idp).await;
    r.not_before = now + 30;
    r.not_on_or_after = now + 300;
    assert_eq!(
        app.post_acs(T, C, &r.signed(&idp), Some(&rs))
            .await
            .status(),
        303,
        "{}",
        app.last_reason(T)
    );
}

#[tokio::test]
async fn bearer_confirmation_needs_an_expiry() {
    let (app, idp) = setup().await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.scd_not_on_or_after = None;
    assert_refused(&app, &r.signed(&idp), Some(&rs), "no_bearer_confirmation").await;
}

#[tokio::test]
async fn assertion_ids_are_never_accepted_twice() {
    let (app, idp) = setup().await;
    let (r, rs) = fresh(&app, &idp).await;
    assert_eq!(
        app.post_acs(T, C, &r.signed(&idp), Some(&rs))
            .await
            .status(),
        303
    );
    // Same assertion ID, answering a new, genuine request.
    let (req2, rs2) = app.start_login(T, C, None).await;
    let mut replay = r.clone();
    replay.scd_in_response_to = Some(req2.clone());
    replay.response_in_response_to = Some(req2);
    let res = app.post_acs(T, C, &replay.signed(&idp), Some(&rs2)).await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason(T), "assertion_replay");
}

#[tokio::test]
async fn idp_error_status_is_shown_and_recorded() {
    let (app, idp) = setup().await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.status = "urn:oasis:names:tc:SAML:2.0:status:Responder".into();
    r.status_message = Some("User is not assigned to this application".into());
    r.omit_assertion = true;
    r.sign = SignWhat::Nothing;
    let res = app.post_acs(T, C, &r.signed(&idp), Some(&rs)).await;
    assert_eq!(res.status(), 403);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("User is not assigned to this application"),
        "{body}"
    );
    assert_eq!(app.last_reason(T), "idp_status");
}

/// The IdP's StatusMessage is unsigned: any page can post a Status with any text. It is shown
/// only to the browser whose own pending request the response answers; everyone else sees the
/// generic reason, and such posts are only counted.
#[tokio::test]
async fn idp_status_message_is_shown_only_to_the_browser_whose_request_it_answers() {
    let (app, idp) = setup().await;
    let lure = "Your account is locked: call +1 555 0100 and read out your code";
    let status_only = |request: Option<&str>| {
        let mut r = Resp::valid(&app, T, C, &idp, request);
        r.status = "urn:oasis:names:tc:SAML:2.0:status:Responder".into();
        r.status_message = Some(lure.into());
        r.omit_assertion = true;
        r.sign = SignWhat::Nothing;
        r.signed(&idp)
    };
    let shows_lure = |body: &str| body.contains("call +1 555 0100");
    // A victim's sign-in is in flight (in app.client); another site has a browser post a
    // Status naming that request (the page cannot read the victim's cookie, or it can post
    // from a browser without it)...
    let (req, rs) = app.start_login(T, C, None).await;
    let mark = app.history_mark(T);
    let res = post_from(
        &other_browser(),
        &app,
        C,
        &status_only(Some(&req)),
        &rs,
        None,
    )
    .await;
    assert_eq!(res.status(), 403);
    let body = res.text().await.unwrap();
    assert!(!shows_lure(&body), "{body}");
    assert!(
        body.contains("Your identity provider did not sign you in."),
        "{body}"
    );
    // ...nor with no InResponseTo, nor one naming no request, in the victim's own browser.
    for request in [None, Some("_unknown-request-id")] {
        let res = app.post_acs(T, C, &status_only(request), None).await;
        assert_eq!(res.status(), 403);
        let body = res.text().await.unwrap();
        assert!(!shows_lure(&body), "{request:?}: {body}");
    }
    let recorded = app.recorded_since(T, &mark);
    assert_eq!(recorded.len(), 3, "{recorded:?}");
    assert!(
        recorded
            .iter()
            .all(|r| r.counted && r.reason == "idp_status"),
        "counted, not rows: {recorded:?}"
    );
    // The victim's request was not used up by those posts: their own sign-in completes.
    let ok = Resp::valid(&app, T, C, &idp, Some(&req));
    let res = app.post_acs(T, C, &ok.signed(&idp), Some(&rs)).await;
    assert_eq!(res.status(), 303, "{}", app.last_reason(T));
    // The browser's own request answered with a Status shows the IdP's words, and earns a
    // row once; later answers to it are counted. Unsigned, they do not cancel the request.
    let (req, rs) = app.start_login(T, C, None).await;
    let res = app
        .post_acs(T, C, &status_only(Some(&req)), Some(&rs))
        .await;
    assert_eq!(res.status(), 403);
    assert!(shows_lure(&res.text().await.unwrap()));
    assert_eq!(app.sign_ins(T)[0].reason, "idp_status", "a row of its own");
    let mark = app.history_mark(T);
    let res = app
        .post_acs(T, C, &status_only(Some(&req)), Some(&rs))
        .await;
    assert!(shows_lure(&res.text().await.unwrap()));
    let recorded = app.recorded_since(T, &mark);
    assert!(recorded.len() == 1 && recorded[0].counted, "{recorded:?}");
    let ok = Resp::valid(&app, T, C, &idp, Some(&req));
    let res = app.post_acs(T, C, &ok.signed(&idp), Some(&rs)).await;
    assert_eq!(res.status(), 303, "{}", app.last_reason(T));
}

#[tokio::test]
async fn idp_initiated_is_off_by_default_and_replay_protected_when_on() {
    let (app, idp) = setup().await;
    let r = Resp::valid(&app, T, C, &idp, None);
    assert_refused(&app, &r.signed(&idp), None, "unsolicited_disabled").await;

    let idp2 = TestIdp::new("http://idp-init.test/metadata");
    let mut input = default_saml_input("unsolicited", &idp2);
    input.allow_idp_initiated = true;
    app.add_connection(T, input);
    let r = Resp::valid(&app, T, "unsolicited", &idp2, None);
    let xml = r.signed(&idp2);
    let res = app.post_acs(T, "unsolicited", &xml, None).await;
    assert_eq!(res.status(), 303, "{}", app.last_reason(T));
    let res = app.post_acs(T, "unsolicited", &xml, None).await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason(T), "assertion_replay");
}

#[tokio::test]
async fn encrypted_assertions_are_refused_clearly() {
    let (app, idp) = setup().await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.omit_assertion = true;
    r.sign = SignWhat::Response;
    r.response_extra = r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><x/></saml:EncryptedAssertion>"#.into();
    assert_refused(
        &app,
        &r.signed(&idp),
        Some(&rs),
        "encrypted_assertion_unsupported",
    )
    .await;
}

#[tokio::test]
async fn assertion_must_carry_an_authn_statement() {
    let (app, idp) = setup().await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.omit_authn_statement = true;
    assert_refused(&app, &r.signed(&idp), Some(&rs), "missing_authn_statement").await;
}

#[tokio::test]
async fn declared_encodings_other_than_utf8_are_refused_before_xmlsec() {
    // In UTF-7, "+ADw-" is "<": roxmltree would see text where libxml2 sees a ds:Signature
    // whose Reference points at the canary.
    let (app, idp) = setup().await;
    let canary = Canary::start();
    let url = format!("{}x", canary.url);
    let (r, rs) = fresh(&app, &idp).await;
    let hidden = format!(
        "+ADw-ds:Signature xmlns:ds=+ACI-http://www.w3.org/2000/09/xmldsig#+ACI-+AD4-+ADw-ds:SignedInfo+AD4-\
         +ADw-ds:CanonicalizationMethod Algorithm=+ACI-{EXC_C14N}+ACI-/+AD4-\
         +ADw-ds:SignatureMethod Algorithm=+ACI-{RSA_SHA256}+ACI-/+AD4-\
         +ADw-ds:Reference URI=+ACI-{url}+ACI-+AD4-+ADw-ds:DigestMethod Algorithm=+ACI-{SHA256}+ACI-/+AD4-\
         +ADw-ds:DigestValue+AD4-AA==+ADw-/ds:DigestValue+AD4-+ADw-/ds:Reference+AD4-+ADw-/ds:SignedInfo+AD4-\
         +ADw-ds:SignatureValue+AD4-AA==+ADw-/ds:SignatureValue+AD4-+ADw-/ds:Signature+AD4-"
    );
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-7\"?>{}",
        r.signed(&idp).replacen(
            "<samlp:Status>",
            &format!("<samlp:Extensions><x>{hidden}</x></samlp:Extensions><samlp:Status>"),
            1
        )
    );
    assert_refused(&app, &xml, Some(&rs), "malformed_encoding").await;
    assert_eq!(
        canary.hits(),
        0,
        "xmlsec dereferenced a Reference hidden by the encoding"
    );
    // A UTF-8 declaration is fine.
    let (r, rs) = fresh(&app, &idp).await;
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}",
        r.signed(&idp)
    );
    assert_eq!(
        app.post_acs(T, C, &xml, Some(&rs)).await.status(),
        303,
        "{}",
        app.last_reason(T)
    );
}

#[tokio::test]
async fn namespaced_id_attributes_are_refused() {
    let (app, idp) = setup().await;
    for attr in [r#"xmlns:x="urn:x" x:ID="_shadow""#, r#"xml:id="_shadow""#] {
        let (r, rs) = fresh(&app, &idp).await;
        let xml = r
            .signed(&idp)
            .replacen("<samlp:Status>", &format!("<samlp:Status {attr}>"), 1);
        assert_refused(&app, &xml, Some(&rs), "forbidden_xml_construct").await;
    }
}

fn other_browser() -> reqwest::Client {
    crate::helpers::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn post_from(
    client: &reqwest::Client,
    app: &TestApp,
    conn: &str,
    xml: &str,
    rs: &str,
    cookie: Option<String>,
) -> reqwest::Response {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(xml);
    let mut req = client
        .post(app.acs_url(T, conn))
        .form(&[("SAMLResponse", encoded.as_str()), ("RelayState", rs)]);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn login_csrf_response_posted_by_another_browser_is_refused() {
    let (app, idp) = setup().await;
    // The attacker signs in to their own account in their browser, keeps the response...
    let (r, rs) = fresh(&app, &idp).await;
    let xml = r.signed(&idp);
    // ...and has the victim's browser post it.
    let res = post_from(&other_browser(), &app, C, &xml, &rs, None).await;
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(app.last_reason(T), "browser_mismatch");
    // A made-up binding cookie does not help.
    let (r, rs) = fresh(&app, &idp).await;
    let forged = format!(
        "{}=forged",
        ssogate::service::sign_in::binding_cookie_name(
            ssogate::service::sign_in::SAML_BINDING_PREFIX,
            &rs
        )
    );
    let res = post_from(
        &other_browser(),
        &app,
        C,
        &r.signed(&idp),
        &rs,
        Some(forged),
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason(T), "browser_mismatch");
    assert!(app.users(T).is_empty());
}

#[tokio::test]
async fn unbound_responses_are_an_explicit_per_connection_setting() {
    let (app, _) = setup().await;
    let idp2 = TestIdp::new("http://dev-idp.test/metadata");
    let mut input = default_saml_input("dev", &idp2);
    input.allow_unbound_responses = true;
    app.add_connection(T, input);
    let (req, rs) = app.start_login(T, "dev", None).await;
    let r = Resp::valid(&app, T, "dev", &idp2, Some(&req));
    let res = post_from(&other_browser(), &app, "dev", &r.signed(&idp2), &rs, None).await;
    assert_eq!(res.status(), 303, "{}", app.last_reason(T));
}

#[tokio::test]
async fn root_must_be_a_response() {
    let (app, _) = setup().await;
    let xml = r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0"/>"#;
    assert_refused(&app, xml, None, "malformed_xml").await;
}

#[tokio::test]
async fn processing_instructions_and_stray_signatures_are_refused() {
    let (app, idp) = setup().await;
    let (r, rs) = fresh(&app, &idp).await;
    let xml = r
        .signed(&idp)
        .replacen("<samlp:Status>", "<?evil payload?><samlp:Status>", 1);
    assert_refused(&app, &xml, Some(&rs), "forbidden_xml_construct").await;
    let (r, rs) = fresh(&app, &idp).await;
    let stray = r#"<samlp:Extensions><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/></ds:Signature></samlp:Extensions>"#;
    let xml = r
        .signed(&idp)
        .replacen("<samlp:Status>", &format!("{stray}<samlp:Status>"), 1);
    assert_refused(&app, &xml, Some(&rs), "forbidden_xml_construct").await;
}

#[tokio::test]
async fn canonicalization_with_comments_is_refused() {
    let (app, idp) = setup().await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.c14n = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments".into();
    assert_refused(&app, &r.signed(&idp), Some(&rs), "forbidden_transform").await;
}

#[tokio::test]
async fn exactly_one_reference_and_no_transform_parameters() {
    let (app, idp) = setup().await;
    let (r, rs) = fresh(&app, &idp).await;
    let signed = r.signed(&idp);
    let start = signed.find("<ds:Reference ").unwrap();
    let end = signed.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
    let reference = &signed[start..end];
    let xml = signed.replacen(reference, &format!("{reference}{reference}"), 1);
    assert_refused(&app, &xml, Some(&rs), "invalid_reference").await;
    let (r, rs) = fresh(&app, &idp).await;
    let xml = r.signed(&idp).replacen(
        &format!(r#"<ds:Transform Algorithm="{EXC_C14N}"/>"#),
        &format!(r#"<ds:Transform Algorithm="{EXC_C14N}"><ds:XPath>1</ds:XPath></ds:Transform>"#),
        1,
    );
    assert_refused(&app, &xml, Some(&rs), "forbidden_transform").await;
}

#[tokio::test]
async fn subject_and_confirmation_rules() {
    let (app, idp) = setup().await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.name_id = String::new();
    assert_refused(&app, &r.signed(&idp), Some(&rs), "missing_subject").await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.scd_not_before = Some(crate::helpers::now() + 600);
    assert_refused(&app, &r.signed(&idp), Some(&rs), "not_yet_valid").await;
    let (mut r, rs) = fresh(&app, &idp).await;
    r.confirmation_method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key".into();
    assert_refused(&app, &r.signed(&idp), Some(&rs), "no_bearer_confirmation").await;
    // InResponseTo only on the unsigned Response does not bind the signed assertion.
    let (mut r, rs) = fresh(&app, &idp).await;
    r.scd_in_response_to = None;
    assert_refused(&app, &r.signed(&idp), Some(&rs), "unknown_in_response_to").await;
}

#[tokio::test]
async fn expired_pending_requests_and_removed_connections() {
    use diesel::prelude::*;
    use ssogate::storage::schema::pending_authn_requests as p;
    let (app, idp) = setup().await;
    let (r, rs) = fresh(&app, &idp).await;
    app.with_db(|c| {
        diesel::update(p::table)
            .set(p::expires_at.eq(crate::helpers::now() - 1))
            .execute(c)
    })
    .unwrap();
    assert_refused(&app, &r.signed(&idp), Some(&rs), "unknown_in_response_to").await;
    let (r, rs) = fresh(&app, &idp).await;
    app.with_db(|c| {
        ssogate::service::admin::remove_connection(
            c,
            T,
            C,
            &ssogate::domain::audit::Actor::Cli,
            crate::helpers::now(),
        )
    })
    .unwrap();
    assert_refused(&app, &r.signed(&idp), Some(&rs), "connection_removed").await;
}

/// Two sign-ins in flight in one browser (two tabs): finishing the first expires only its
/// own binding cookie, so the second still completes.
#[tokio::test]
async fn two_sign_ins_in_flight_in_one_browser_both_complete() {
    let (app, idp) = setup().await;
    let (first, first_rs) = fresh(&app, &idp).await;
    let (second, second_rs) = fresh(&app, &idp).await;
    let res = app
        .post_acs(T, C, &first.signed(&idp), Some(&first_rs))
        .await;
    assert_eq!(res.status(), 303, "{}", app.last_reason(T));
    let expired: Vec<_> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|c| c.starts_with(ssogate::service::sign_in::SAML_BINDING_PREFIX))
        .collect();
    let own = ssogate::service::sign_in::binding_cookie_name(
        ssogate::service::sign_in::SAML_BINDING_PREFIX,
        &first_rs,
    );
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert!(expired[0].starts_with(&format!("{own}=")), "{expired:?}");
    let res = app
        .post_acs(T, C, &second.signed(&idp), Some(&second_rs))
        .await;
    assert_eq!(res.status(), 303, "{}", app.last_reason(T));
}
