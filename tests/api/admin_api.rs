//! The admin JSON API (/api/v1) from the outside, with real admin tokens: authentication and
//! tenant isolation, every resource's round trip, and the error bodies. Users arrive the real
//! ways (SAML sign-ins, SCIM).
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};
use ssogate::service::admin::{TenantInput, access};
use ssogate::storage::schema::outbox_events;

use crate::helpers::{TestApp, now, spawn_app, spawn_app_with};
use crate::oidc_flow::NodeOp;
use crate::saml_fixtures::TestIdp;
use crate::support::sign_in::acme;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Requests with one bearer token (or none).
pub(crate) struct Api<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

impl Api<'_> {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let res = self.raw(method, path, body).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        if status >= 400 {
            assert_error_shape(&v);
        }
        (status, v)
    }

    async fn raw(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut rb = self
            .app
            .client
            .request(method, self.app.url(&format!("/api/v1{path}")));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send().await.expect("API request")
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None).await
    }
    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::POST, path, Some(body)).await
    }
    pub(crate) async fn post_empty(&self, path: &str) -> (u16, Value) {
        self.send(Method::POST, path, None).await
    }
    pub(crate) async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub(crate) async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub(crate) async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(Method::DELETE, path, None).await
    }
}

/// Every error body is `{error, message, field?, reference?}` and nothing else.
fn assert_error_shape(v: &Value) {
    let o = v.as_object().unwrap_or_else(|| panic!("error body {v}"));
    assert!(o["error"].is_string(), "{v}");
    assert!(o["message"].is_string(), "{v}");
    for k in o.keys() {
        assert!(
            ["error", "message", "field", "reference"].contains(&k.as_str()),
            "unexpected key {k} in {v}"
        );
    }
}

/// 400 naming `field`.
#[track_caller]
fn assert_invalid(r: &(u16, Value), field: &str) {
    assert_eq!(r.0, 400, "{}", r.1);
    assert_eq!(r.1["error"], "invalid_request", "{}", r.1);
    assert_eq!(r.1["field"], field, "{}", r.1);
}

fn token(app: &TestApp, tenant: Option<&str>) -> String {
    app.with_db(|c| {
        access::create_token(
            c,
            tenant,
            "tests",
            Some(90),
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .expect("admin token")
    .token
}

pub(crate) fn api<'a>(app: &'a TestApp, tenant: Option<&str>) -> Api<'a> {
    Api {
        app,
        token: Some(token(app, tenant)),
    }
}

/// Tenants `acme` (users created on sign-in, acme.test, SAML connection `okta`) and `globex`.
async fn setup_on(app: TestApp) -> (TestApp, TestIdp) {
    let idp = acme(&app, TenantInput::default());
    app.create_tenant("globex", TenantInput::default());
    (app, idp)
}

async fn setup() -> (TestApp, TestIdp) {
    setup_on(spawn_app().await).await
}

fn idp_metadata(idp: &TestIdp) -> String {
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.globex.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        idp.entity_id,
        idp.cert_b64()
    )
}

fn pem(idp: &TestIdp) -> String {
    String::from_utf8(idp.cert_pem.clone()).unwrap()
}

#[tokio::test]
async fn requests_without_a_live_admin_token_are_401() {
    let (app, _) = setup().await;
    let live = app
        .with_db(|c| {
            access::create_token(
                c,
                None,
                "soon revoked",
                Some(90),
                &ssogate::domain::audit::Actor::Cli,
                now(),
            )
        })
        .unwrap();
    let ok = Api {
        app: &app,
        token: Some(live.token.clone()),
    };
    assert_eq!(ok.get("/tenants").await.0, 200);
    app.with_db(|c| access::revoke_token(c, live.id, &ssogate::domain::audit::Actor::Cli, now()))
        .unwrap();
    // Created 91 days ago with the default 90-day lifetime: expired a day ago.
    let expired = app
        .with_db(|c| {
            access::create_token(
                c,
                None,
                "expired",
                Some(90),
                &ssogate::domain::audit::Actor::Cli,
                now() - 91 * 86_400,
            )
        })
        .unwrap();
    let scim = app.scim_token("acme");
    for t in [
        None,
        Some("ssg_admin_not-a-real-token".to_owned()),
        Some(live.token.clone()),
        Some(expired.token.clone()),
        Some(scim),
        Some(format!("ssg_admin_{}", "x".repeat(5000))),
    ] {
        let a = Api {
            app: &app,
            token: t.clone(),
        };
        let res = a.raw(Method::GET, "/tenants/acme/users", None).await;
        assert_eq!(res.status(), 401, "{t:?}");
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer realm=\"ssogate-admin\""
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");
        assert_error_shape(&body);
    }
    // Basic credentials are not a bearer token.
    let res = app
        .client
        .get(app.url("/api/v1/tenants"))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_tenant_token_sees_only_its_tenant() {
    let (app, _) = setup().await;
    let acme = api(&app, Some("acme"));
    let (s, list) = acme.get("/tenants").await;
    assert_eq!(s, 200);
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme"]);

    // Another tenant looks exactly like one that does not exist.
    for path in [
        "/tenants/globex",
        "/tenants/globex/domains",
        "/tenants/globex/connections",
        "/tenants/globex/users",
        "/tenants/globex/users/counts",
        "/tenants/globex/sign-ins",
        "/tenants/globex/scim-tokens",
        "/tenants/globex/admins",
        "/tenants/globex/outbox",
    ] {
        let (s, b) = acme.get(path).await;
        assert_eq!(s, 404, "{path}: {b}");
        assert_eq!(b["error"], "not_found");
        assert_eq!(b["message"], "tenant `globex` not found");
        let (s, nb) = acme.get(&path.replace("globex", "nope")).await;
        assert_eq!(
            (s, nb["message"].as_str()),
            (404, Some("tenant `nope` not found"))
        );
    }
    let (s, _) = acme
        .post("/tenants/globex/domains", json!({"domain": "globex.test"}))
        .await;
    assert_eq!(s, 404);
    let (s, _) = acme.delete("/tenants/globex/connections/okta").await;
    assert_eq!(s, 404);

    // Super-admin only.
    let (s, b) = acme.post("/tenants", json!({"slug": "mine"})).await;
    assert_eq!((s, b["error"].as_str()), (403, Some("forbidden")), "{b}");
    let (s, b) = acme
        .patch(
            "/tenants/acme",
            json!({"iwms_endpoint": "https://iwms.acme.test/hook", "iwms_secret": "env:X"}),
        )
        .await;
    assert_eq!(s, 403, "{b}");

    let root = api(&app, None);
    let (s, list) = root.get("/tenants").await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(root.get("/tenants/globex").await.0, 200);
}

#[tokio::test]
async fn tenants_are_created_changed_and_read() {
    let (app, _) = setup().await;
    let root = api(&app, None);
    let (s, t) = root
        .post(
            "/tenants",
            json!({"slug": "initech", "display_name": "Initech", "stale_after_days": 30}),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["display_name"], "Initech");
    assert_eq!(t["stale_after_days"], 30);
    assert_eq!(t["auto_create_users"], false);
    let (s, b) = root.post("/tenants", json!({"slug": "initech"})).await;
    assert_eq!((s, b["error"].as_str()), (409, Some("conflict")), "{b}");
    assert_invalid(
        &root.post("/tenants", json!({"slug": "Not A Slug"})).await,
        "slug",
    );

    let (s, t) = root
        .patch(
            "/tenants/initech",
            json!({"auto_create_users": true, "iwms_attribute": "employeeId",
                   "allowed_return_origins": ["https://app.initech.test"]}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["auto_create_users"], true);
    assert_eq!(t["iwms_attribute"], "employeeId");
    assert_eq!(
        t["display_name"], "Initech",
        "absent fields keep their value"
    );
    let (_, t) = root
        .patch("/tenants/initech", json!({"iwms_attribute": null}))
        .await;
    assert_eq!(t["iwms_attribute"], Value::Null, "null clears");
    assert_invalid(
        &root
            .patch("/tenants/initech", json!({"stale_after_days": 0}))
            .await,
        "stale_after_days",
    );
    assert_invalid(
        &root
            .patch(
                "/tenants/initech",
                json!({"stale_after_days": 99999999999999999999999_f64}),
            )
            .await,
        "stale_after_days",
    );
    assert_invalid(
        &root
            .patch(
                "/tenants/initech",
                json!({"display_name": "x".repeat(10_000)}),
            )
            .await,
        "display_name",
    );
    assert_invalid(
        &root
            .patch("/tenants/initech", json!({"auto_create_users": "yes"}))
            .await,
        "auto_create_users",
    );
    assert_invalid(
        &root
            .patch(
                "/tenants/initech",
                json!({"allowed_return_origins": ["https://ok.test", "javascript:alert(1)"]}),
            )
            .await,
        "allowed_return_origins",
    );
    let (s, b) = root
        .patch("/tenants/initech", json!({"no_such_setting": 1}))
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("no_such_setting"),
        "{b}"
    );
    let (s, t) = root.get("/tenants/initech").await;
    assert_eq!((s, t["slug"].as_str()), (200, Some("initech")));
}

#[tokio::test]
async fn domains_are_added_listed_and_removed_one_owner_each() {
    let (app, _) = setup().await;
    let acme = api(&app, Some("acme"));
    let (s, d) = acme
        .post("/tenants/acme/domains", json!({"domain": "Acme-Labs.TEST"}))
        .await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d, json!({"tenant": "acme", "domain": "acme-labs.test"}));
    let (s, list) = acme.get("/tenants/acme/domains").await;
    assert_eq!(s, 200);
    assert_eq!(
        list,
        json!([{"tenant": "acme", "domain": "acme-labs.test"}, {"tenant": "acme", "domain": "acme.test"}])
    );
    let (s, b) = acme
        .post("/tenants/acme/domains", json!({"domain": "acme.test"}))
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("already whitelisted")
    );

    let globex = api(&app, Some("globex"));
    let (s, b) = globex
        .post("/tenants/globex/domains", json!({"domain": "acme.test"}))
        .await;
    assert_eq!((s, b["error"].as_str()), (409, Some("conflict")));
    assert_eq!(
        b["message"],
        "acme.test already belongs to another tenant; a domain belongs to at most one tenant"
    );
    assert_invalid(
        &globex
            .post("/tenants/globex/domains", json!({"domain": "*.evil"}))
            .await,
        "domain",
    );
    assert_invalid(
        &globex
            .post("/tenants/globex/domains", json!({"domain": 7}))
            .await,
        "domain",
    );

    assert_eq!(
        acme.delete("/tenants/acme/domains/acme-labs.test").await.0,
        204
    );
    let (s, b) = acme.delete("/tenants/acme/domains/acme-labs.test").await;
    assert_eq!((s, b["error"].as_str()), (404, Some("not_found")));
    // Now another tenant may take it.
    let (s, _) = globex
        .post(
            "/tenants/globex/domains",
            json!({"domain": "acme-labs.test"}),
        )
        .await;
    assert_eq!(s, 201);
}

#[tokio::test]
async fn saml_connection_from_metadata_shows_what_it_parsed() {
    let (app, _) = setup().await;
    let acme = api(&app, Some("acme"));
    let idp = TestIdp::new("https://idp.globex.test/saml");
    let (s, c) = acme
        .post(
            "/tenants/acme/connections/saml",
            json!({"slug": "entra", "display_name": "Entra ID", "metadata_xml": idp_metadata(&idp),
                   "attr_iwms_id": "employeeId", "admin_role": {"attribute": "groups", "value": "sso-admins"}}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["protocol"], "saml");
    assert_eq!(c["saml"]["idp_entity_id"], "https://idp.globex.test/saml");
    assert_eq!(c["saml"]["idp_sso_url"], "https://idp.globex.test/sso");
    let cert = &c["saml"]["idp_certificates"][0];
    let expiry = cert["not_after"].as_i64().unwrap();
    assert!(
        (expiry - (now() + 30 * 86_400)).abs() < 2 * 86_400,
        "the fixture certificate lasts 30 days: {cert}"
    );
    assert_eq!(cert["expired"], false);
    assert!(cert["subject"].as_str().unwrap().contains("CN="), "{cert}");
    assert_eq!(cert["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(c["oidc"], Value::Null);
    assert_eq!(
        c["idp_setup"]["acs_url"],
        app.url("/t/acme/saml/entra/acs").as_str()
    );
    assert_eq!(
        c["idp_setup"]["sp_entity_id"],
        app.sp_entity_id("acme", "entra").as_str()
    );
    assert_eq!(
        c["idp_setup"]["sp_metadata_url"],
        app.url("/t/acme/saml/entra/metadata").as_str()
    );
    assert_eq!(c["idp_setup"]["redirect_uri"], Value::Null);
    assert_eq!(c["attribute_mapping"]["iwms_id"], "employeeId");
    assert!(
        c["attribute_mapping"]["email"]
            .as_array()
            .unwrap()
            .contains(&json!("email"))
    );
    assert_eq!(
        c["admin_role"],
        json!({"attribute": "groups", "value": "sso-admins"})
    );
    assert_eq!(
        c["test_sign_in_url"],
        app.url("/admin/t/acme/connections/entra#test-sign-in")
            .as_str()
    );

    let (s, list) = acme.get("/tenants/acme/connections").await;
    assert_eq!(s, 200);
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["entra", "okta"]);
    let (s, shown) = acme.get("/tenants/acme/connections/entra").await;
    assert_eq!((s, &shown), (200, &c));

    // The mapping, the admin role rule, and a certificate rotation.
    let next = TestIdp::new("https://idp.globex.test/saml-next");
    let (s, c) = acme
        .patch(
            "/tenants/acme/connections/entra",
            json!({"attr_email": ["mail"], "attr_iwms_id": null, "admin_role": null,
                   "add_idp_certificates": [pem(&next)], "display_name": "Entra"}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["attribute_mapping"]["email"], json!(["mail"]));
    assert_eq!(c["attribute_mapping"]["iwms_id"], Value::Null);
    assert_eq!(c["admin_role"], Value::Null);
    assert_eq!(c["display_name"], "Entra");
    assert_eq!(c["saml"]["idp_certificates"].as_array().unwrap().len(), 2);
    let (_, c) = acme
        .patch(
            "/tenants/acme/connections/entra",
            json!({"idp_certificates": [pem(&next)], "admin_role": {"attribute": "role", "value": "admin"}}),
        )
        .await;
    assert_eq!(c["saml"]["idp_certificates"].as_array().unwrap().len(), 1);
    assert_eq!(c["admin_role"]["attribute"], "role");
    assert_invalid(
        &acme
            .patch("/tenants/acme/connections/entra", json!({"client_id": "x"}))
            .await,
        "client_id",
    );
    assert_invalid(
        &acme
            .patch(
                "/tenants/acme/connections/entra",
                json!({"add_idp_certificates": ["-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"]}),
            )
            .await,
        "add_idp_certificates[0]",
    );
    assert_invalid(
        &acme
            .patch("/tenants/acme/connections/entra", json!({"attr_email": []}))
            .await,
        "attr_email",
    );
    assert_invalid(
        &acme
            .patch(
                "/tenants/acme/connections/entra",
                json!({"admin_role": {"attribute": "", "value": "x"}}),
            )
            .await,
        "admin_role.attribute",
    );

    // Removal: gone from the list, the slug stays reserved.
    assert_eq!(acme.delete("/tenants/acme/connections/entra").await.0, 204);
    assert_eq!(acme.get("/tenants/acme/connections/entra").await.0, 404);
    assert_eq!(acme.delete("/tenants/acme/connections/entra").await.0, 404);
    let (s, b) = acme
        .post(
            "/tenants/acme/connections/saml",
            json!({"slug": "entra", "metadata_xml": idp_metadata(&idp)}),
        )
        .await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(
        acme.get("/tenants/acme/connections/NOT%20A%20SLUG").await.0,
        404
    );
}

#[tokio::test]
async fn saml_connection_from_explicit_settings_and_refused_sources() {
    let (app, _) = setup().await;
    let acme = api(&app, Some("acme"));
    let idp = TestIdp::new("https://idp.acme.test/explicit");
    let (s, c) = acme
        .post(
            "/tenants/acme/connections/saml",
            json!({"slug": "adfs", "idp_entity_id": idp.entity_id, "idp_sso_url": "https://adfs.acme.test/adfs/ls",
                   "idp_certificates": [pem(&idp)], "allowed_algorithms": ["rsa-sha256"], "clock_skew_secs": 30}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["saml"]["allowed_algorithms"], json!(["rsa-sha256"]));
    assert_eq!(c["saml"]["clock_skew_secs"], 30);

    let post = |body: Value| acme.post("/tenants/acme/connections/saml", body);
    assert_invalid(&post(json!({"slug": "a1"})).await, "idp_entity_id");
    assert_invalid(
        &post(json!({"slug": "a1", "idp_entity_id": "x", "idp_sso_url": "https://x.test/sso"}))
            .await,
        "idp_certificates",
    );
    assert_invalid(
        &post(json!({"slug": "a1", "metadata_xml": "<nope/>"})).await,
        "metadata_xml",
    );
    assert_invalid(
        &post(json!({"slug": "a1", "metadata_xml": idp_metadata(&idp), "metadata_url": "https://x.test/m"}))
            .await,
        "metadata_url",
    );
    assert_invalid(
        &post(json!({"slug": "a1", "metadata_xml": idp_metadata(&idp), "idp_entity_id": "x"}))
            .await,
        "idp_entity_id",
    );
    assert_invalid(
        &post(json!({"slug": "a1", "metadata_xml": idp_metadata(&idp), "allowed_algorithms": ["rsa-sha1"]}))
            .await,
        "allowed_algorithms",
    );
    assert_invalid(
        &post(json!({"slug": "a1", "metadata_xml": idp_metadata(&idp), "clock_skew_secs": 601}))
            .await,
        "clock_skew_secs",
    );
    assert_invalid(
        &post(json!({"slug": "a1", "metadata_xml": idp_metadata(&idp), "sign_requests": true}))
            .await,
        "sign_requests",
    );
    assert_invalid(
        &post(json!({"slug": "a1", "metadata_xml": idp_metadata(&idp), "attr_email": ["ok", "x\u{1}"]}))
            .await,
        "attr_email",
    );
    // The server fetches metadata only over https and never from internal addresses (this app
    // does not allow loopback): nothing is requested here.
    for url in [
        "http://idp.acme.test/metadata",
        "https://127.0.0.1:1/metadata",
        "https://10.0.0.1/metadata",
        "https://[::1]/metadata",
        "https://localhost/metadata",
        "file:///etc/passwd",
        "not a url",
    ] {
        let r = post(json!({"slug": "a1", "metadata_url": url})).await;
        assert_invalid(&r, "metadata_url");
    }
    // Neither protocol's fields go to the other.
    assert_invalid(
        &acme
            .patch(
                "/tenants/acme/connections/adfs",
                json!({"rediscover": true}),
            )
            .await,
        "rediscover",
    );
}

/// A one-response-per-connection HTTP server on loopback.
async fn serve(body: String, content_type: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = s.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(body.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn saml_metadata_is_fetched_from_a_url() {
    let app = spawn_app_with(|s| s.oidc.allow_http_loopback = true).await;
    let (app, _) = setup_on(app).await;
    let idp = TestIdp::new("https://idp.globex.test/fetched");
    let base = serve(idp_metadata(&idp), "application/samlmetadata+xml").await;
    let acme = api(&app, Some("acme"));
    let (s, c) = acme
        .post(
            "/tenants/acme/connections/saml",
            json!({"slug": "fetched", "metadata_url": format!("{base}/idp.xml")}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(
        c["saml"]["idp_entity_id"],
        "https://idp.globex.test/fetched"
    );
    // New metadata replaces the entity ID, SSO URL and certificates.
    let other = TestIdp::new("https://idp.globex.test/other");
    let base2 = serve(idp_metadata(&other), "text/xml").await;
    let (s, c) = acme
        .patch(
            "/tenants/acme/connections/fetched",
            json!({"metadata_url": format!("{base2}/m")}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["saml"]["idp_entity_id"], "https://idp.globex.test/other");
    // Private addresses stay refused even here.
    assert_invalid(
        &acme
            .post(
                "/tenants/acme/connections/saml",
                json!({"slug": "private", "metadata_url": "https://192.168.1.1/m"}),
            )
            .await,
        "metadata_url",
    );
}

#[tokio::test]
async fn oidc_connection_from_issuer_discovery() {
    let app = spawn_app_with(|s| s.oidc.allow_http_loopback = true).await;
    let (app, _) = setup_on(app).await;
    let redirect = ssogate::protocol::oidc::redirect_uri(&app.address, "acme", "op");
    let op = NodeOp::start(&redirect, &[]);
    let acme = api(&app, Some("acme"));
    let (s, c) = acme
        .post(
            "/tenants/acme/connections/oidc",
            json!({"slug": "op", "issuer": op.issuer, "client_id": "ssogate",
                   "client_secret": "op-secret+/%=", "attr_iwms_id": "employee_number"}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["protocol"], "oidc");
    assert_eq!(c["oidc"]["issuer"], op.issuer.as_str());
    assert_eq!(c["oidc"]["client_id"], "ssogate");
    assert!(
        c["oidc"]["jwks_uri"]
            .as_str()
            .unwrap()
            .starts_with(&op.issuer)
    );
    assert_eq!(c["idp_setup"]["redirect_uri"], redirect.as_str());
    assert_eq!(c["idp_setup"]["acs_url"], Value::Null);
    assert_eq!(
        c["attribute_mapping"]["email"],
        json!(["email"]),
        "only the email claim by default, never preferred_username"
    );
    assert_eq!(c["saml"], Value::Null);
    assert!(
        !c.to_string().contains("op-secret"),
        "the client secret is never returned"
    );
    let (s, c) = acme
        .patch(
            "/tenants/acme/connections/op",
            json!({"scopes": ["openid", "email"], "rediscover": true, "client_secret": "rotated"}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["oidc"]["scopes"], json!(["openid", "email"]));
    assert_invalid(
        &acme
            .patch("/tenants/acme/connections/op", json!({"scopes": ["email"]}))
            .await,
        "scopes",
    );
    assert_invalid(
        &acme
            .patch(
                "/tenants/acme/connections/op",
                json!({"add_idp_certificates": []}),
            )
            .await,
        "add_idp_certificates",
    );
    let (s, b) = acme
        .post(
            "/tenants/acme/connections/oidc",
            json!({"slug": "op", "issuer": op.issuer, "client_id": "x", "client_secret": "y"}),
        )
        .await;
    assert_eq!(s, 409, "{b}");
}

#[tokio::test]
async fn oidc_issuers_must_be_public_https() {
    let (app, _) = setup().await;
    let acme = api(&app, Some("acme"));
    for issuer in [
        "http://op.acme.test",
        "https://127.0.0.1:1",
        "https://169.254.169.254/latest",
        "ftp://op.acme.test",
    ] {
        let r = acme
            .post(
                "/tenants/acme/connections/oidc",
                json!({"slug": "op", "issuer": issuer, "client_id": "x", "client_secret": "y"}),
            )
            .await;
        assert_invalid(&r, "issuer");
    }
    assert_invalid(
        &acme
            .post(
                "/tenants/acme/connections/oidc",
                json!({"slug": "Bad Slug", "issuer": "https://op.acme.test", "client_id": "x", "client_secret": "y"}),
            )
            .await,
        "slug",
    );
}

fn user_id(page: &Value, email: &str) -> i64 {
    page["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap_or_else(|| panic!("no {email} in {page}"))["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn users_are_listed_searched_paged_and_changed() {
    let (app, idp) = setup().await;
    for (sub, email, first) in [
        ("s-ada", "ada@acme.test", "Ada"),
        ("s-bob", "bob@acme.test", "Bob"),
        ("s-cy", "cy@acme.test", "Cy"),
    ] {
        assert_eq!(
            app.sign_in(&idp)
                .name_id(sub)
                .email(email)
                .first_name(first)
                .status()
                .await,
            303
        );
    }
    let (s, u) = app
        .scim("acme")
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "dee@acme.test", "name": {"givenName": "Dee", "familyName": "Doe"},
                   "emails": [{"value": "dee@acme.test", "primary": true}]}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let acme = api(&app, Some("acme"));

    let (s, all) = acme.get("/tenants/acme/users?view=all").await;
    assert_eq!(s, 200, "{all}");
    let emails: Vec<&str> = all["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            "dee@acme.test",
            "cy@acme.test",
            "bob@acme.test",
            "ada@acme.test"
        ]
    );
    assert_eq!(all["next_after"], Value::Null);
    let ada = user_id(&all, "ada@acme.test");
    let ada_row = &all["users"][3];
    assert_eq!(ada_row["status"], "active");
    assert_eq!(ada_row["last_sign_in"]["outcome"], "success");
    assert_eq!(all["users"][0]["last_sign_in"], Value::Null);

    // Keyset paging.
    let (_, p1) = acme.get("/tenants/acme/users?view=all&limit=3").await;
    assert_eq!(p1["users"].as_array().unwrap().len(), 3);
    let after = p1["next_after"].as_i64().unwrap();
    let (_, p2) = acme
        .get(&format!(
            "/tenants/acme/users?view=all&limit=3&after={after}"
        ))
        .await;
    assert_eq!(p2["users"].as_array().unwrap().len(), 1);
    assert_eq!(p2["users"][0]["id"], ada);
    assert_eq!(p2["next_after"], Value::Null);
    // Search.
    let (_, found) = acme.get("/tenants/acme/users?view=all&q=BO").await;
    assert_eq!(found["users"].as_array().unwrap().len(), 1);
    assert_eq!(found["users"][0]["email"], "bob@acme.test");

    // Deactivate, reactivate.
    let (s, d) = acme
        .post_empty(&format!("/tenants/acme/users/{ada}/deactivate"))
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["status"], "deactivated");
    let (s, b) = acme
        .post_empty(&format!("/tenants/acme/users/{ada}/deactivate"))
        .await;
    assert_eq!((s, b["error"].as_str()), (409, Some("conflict")));
    let (_, off) = acme.get("/tenants/acme/users?view=deactivated").await;
    assert_eq!(off["users"][0]["id"], ada);
    let (_, active) = acme.get("/tenants/acme/users").await;
    assert_eq!(
        active["users"].as_array().unwrap().len(),
        3,
        "default view: active"
    );
    let (s, counts) = acme.get("/tenants/acme/users/counts").await;
    assert_eq!(s, 200);
    assert_eq!(
        counts,
        json!({"active": 3, "stale": 0, "deactivated": 1, "deprovisioned": 0, "all": 4})
    );
    // A deactivated user's sign-in fails, and the history says why.
    assert_eq!(
        app.sign_in(&idp)
            .name_id("s-ada")
            .email("ada@acme.test")
            .first_name("Ada")
            .status()
            .await,
        403
    );
    let (s, r) = acme
        .post_empty(&format!("/tenants/acme/users/{ada}/reactivate"))
        .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("active")), "{r}");
    assert_eq!(
        acme.post_empty(&format!("/tenants/acme/users/{ada}/reactivate"))
            .await
            .0,
        409
    );

    // The detail: identities, timeline with the actor.
    let (s, detail) = acme.get(&format!("/tenants/acme/users/{ada}")).await;
    assert_eq!(s, 200, "{detail}");
    assert_eq!(detail["user"]["email"], "ada@acme.test");
    assert_eq!(detail["user"]["first_name"], "Ada");
    let identities = detail["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 1);
    assert_eq!(identities[0]["connection"], "okta");
    assert_eq!(identities[0]["subject"], "s-ada");
    let kinds: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "created",
        "sign_in_succeeded",
        "deactivated",
        "sign_in_failed",
        "reactivated",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let deactivated = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "deactivated")
        .unwrap();
    assert!(
        deactivated["summary"]
            .as_str()
            .unwrap()
            .contains("by admin api token"),
        "{deactivated}"
    );
    assert_eq!(detail["last_sign_in"]["reason"], "user_deactivated");

    // Unlink the identity.
    let identity = identities[0]["id"].as_i64().unwrap();
    assert_eq!(
        acme.delete(&format!("/tenants/acme/users/{ada}/identities/{identity}"))
            .await
            .0,
        204
    );
    assert_eq!(
        acme.delete(&format!("/tenants/acme/users/{ada}/identities/{identity}"))
            .await
            .0,
        404
    );
    let (_, detail) = acme.get(&format!("/tenants/acme/users/{ada}")).await;
    assert_eq!(detail["identities"], json!([]));
    assert!(
        detail["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "identity_unlinked"),
        "{detail}"
    );

    // Bad input is a 400 naming the parameter; unknown users are 404.
    assert_invalid(&acme.get("/tenants/acme/users?view=bogus").await, "view");
    assert_invalid(&acme.get("/tenants/acme/users?limit=0").await, "limit");
    assert_invalid(&acme.get("/tenants/acme/users?limit=201").await, "limit");
    assert_invalid(
        &acme
            .get("/tenants/acme/users?limit=99999999999999999999999")
            .await,
        "limit",
    );
    assert_invalid(&acme.get("/tenants/acme/users?after=-1").await, "after");
    assert_invalid(
        &acme
            .get(&format!("/tenants/acme/users?q={}", "a".repeat(201)))
            .await,
        "q",
    );
    assert_invalid(&acme.get("/tenants/acme/users?q=%00").await, "q");
    assert_eq!(acme.get("/tenants/acme/users/999999").await.0, 404);
    assert_eq!(acme.get("/tenants/acme/users/abc").await.0, 400);
    assert_eq!(
        acme.get("/tenants/acme/users/99999999999999999999999")
            .await
            .0,
        400
    );
    // Another tenant's user is not found, even with a super-admin token.
    let root = api(&app, None);
    assert_eq!(
        root.get(&format!("/tenants/globex/users/{ada}")).await.0,
        404
    );
    assert_eq!(
        root.post_empty(&format!("/tenants/globex/users/{ada}/deactivate"))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn sign_in_history_filters() {
    let (app, idp) = setup().await;
    assert_eq!(
        app.sign_in(&idp)
            .name_id("s-ada")
            .email("ada@acme.test")
            .first_name("Ada")
            .status()
            .await,
        303
    );
    assert_eq!(
        app.sign_in(&idp)
            .name_id("s-eve")
            .email("eve@evil.test")
            .first_name("Eve")
            .status()
            .await,
        403
    );
    assert_eq!(
        app.sign_in(&idp)
            .name_id("s-bob")
            .email("bob@acme.test")
            .first_name("Bob")
            .status()
            .await,
        303
    );
    let acme = api(&app, Some("acme"));
    let (s, all) = acme.get("/tenants/acme/sign-ins").await;
    assert_eq!(s, 200, "{all}");
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    assert_eq!(all["items"][0]["email"], "bob@acme.test", "newest first");

    let (_, failed) = acme.get("/tenants/acme/sign-ins?outcome=failure").await;
    let items = failed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["reason"], "email_domain_not_allowed");
    assert_eq!(items[0]["connection"], "okta");
    let (_, by_reason) = acme
        .get("/tenants/acme/sign-ins?reason=email_domain_not_allowed&connection=okta")
        .await;
    assert_eq!(by_reason["items"].as_array().unwrap().len(), 1);
    let (_, ok) = acme
        .get("/tenants/acme/sign-ins?outcome=success&limit=1")
        .await;
    assert_eq!(ok["items"].as_array().unwrap().len(), 1);
    let before = ok["next_before"].as_i64().unwrap();
    let (_, older) = acme
        .get(&format!(
            "/tenants/acme/sign-ins?outcome=success&limit=1&before={before}"
        ))
        .await;
    assert_eq!(older["items"][0]["email"], "ada@acme.test");
    assert_eq!(older["next_before"], Value::Null);
    let ada = older["items"][0]["user_id"].as_i64().unwrap();
    let (_, mine) = acme
        .get(&format!("/tenants/acme/sign-ins?user={ada}"))
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    assert_invalid(
        &acme.get("/tenants/acme/sign-ins?outcome=failed").await,
        "outcome",
    );
    assert_invalid(
        &acme.get("/tenants/acme/sign-ins?reason=nope").await,
        "reason",
    );
    assert_invalid(&acme.get("/tenants/acme/sign-ins?user=x").await, "user");
    assert_invalid(&acme.get("/tenants/acme/sign-ins?before=0").await, "before");
    let (s, b) = acme.get("/tenants/acme/sign-ins?connection=nope").await;
    assert_eq!((s, b["error"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn scim_tokens_from_the_api_provision_users_until_revoked() {
    let (app, _) = setup().await;
    let acme = api(&app, Some("acme"));
    let (s, created) = acme
        .post(
            "/tenants/acme/scim-tokens",
            json!({"label": "Okta provisioning"}),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("scim_"));
    assert_eq!(created["base_url"], app.url("/t/acme/scim/v2").as_str());
    let users = format!("{}/Users", created["base_url"].as_str().unwrap());
    let res = app
        .client
        .get(&users)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let (_, list) = acme.get("/tenants/acme/scim-tokens").await;
    let listed = &list.as_array().unwrap()[0];
    assert_eq!(listed["label"], "Okta provisioning");
    assert!(listed["last_used_at"].is_i64(), "{listed}");
    assert!(
        !list.to_string().contains(&token),
        "the token is shown once"
    );

    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        acme.delete(&format!("/tenants/acme/scim-tokens/{id}"))
            .await
            .0,
        204
    );
    let res = app
        .client
        .get(&users)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        acme.delete(&format!("/tenants/acme/scim-tokens/{id}"))
            .await
            .0,
        404
    );
    // Another tenant cannot revoke acme's tokens.
    let (_, other) = acme
        .post("/tenants/acme/scim-tokens", json!({"label": "second"}))
        .await;
    let root = api(&app, None);
    assert_eq!(
        root.delete(&format!("/tenants/globex/scim-tokens/{}", other["id"]))
            .await
            .0,
        404
    );
    assert_invalid(
        &acme
            .post("/tenants/acme/scim-tokens", json!({"label": "  "}))
            .await,
        "label",
    );
    assert_invalid(
        &acme
            .post(
                "/tenants/acme/scim-tokens",
                json!({"label": "x".repeat(101)}),
            )
            .await,
        "label",
    );
    assert_invalid(
        &acme.post("/tenants/acme/scim-tokens", json!({})).await,
        "label",
    );
}

#[tokio::test]
async fn admin_grants_round_trip() {
    let (app, _) = setup().await;
    let acme = api(&app, Some("acme"));
    let (s, g) = acme
        .post("/tenants/acme/admins", json!({"email": "Ann@Acme.test"}))
        .await;
    assert_eq!(s, 201, "{g}");
    assert_eq!(g["email"], "ann@acme.test");
    assert!(g["granted_by"].as_str().unwrap().starts_with("api token "));
    let (s, again) = acme
        .post("/tenants/acme/admins", json!({"email": "ann@acme.test"}))
        .await;
    assert_eq!((s, &again), (200, &g));
    let (_, list) = acme.get("/tenants/acme/admins").await;
    assert_eq!(list, json!([g]));
    // Racing grants of one email: one creates it, the others find it; none fails.
    let racing = futures_util::future::join_all(
        (0..16).map(|_| acme.post("/tenants/acme/admins", json!({"email": "bob@acme.test"}))),
    )
    .await;
    let created = racing.iter().filter(|(s, _)| *s == 201).count();
    assert!(
        racing.iter().all(|(s, _)| *s == 200 || *s == 201),
        "{racing:?}"
    );
    assert!(created >= 1, "{racing:?}");
    assert_eq!(
        acme.delete("/tenants/acme/admins/bob@acme.test").await.0,
        204
    );
    assert_eq!(
        acme.delete("/tenants/acme/admins/ann@acme.test").await.0,
        204
    );
    assert_eq!(
        acme.delete("/tenants/acme/admins/ann%40acme.test").await.0,
        404
    );
    assert_invalid(
        &acme
            .post("/tenants/acme/admins", json!({"email": "not-an-email"}))
            .await,
        "email",
    );
    assert_eq!(acme.get("/tenants/acme/admins").await.1, json!([]));
}

#[tokio::test]
async fn dead_iwms_events_can_be_retried() {
    let (app, idp) = setup().await;
    let root = api(&app, None);
    let (s, t) = root
        .patch(
            "/tenants/acme",
            json!({"iwms_endpoint": "http://127.0.0.1:9/iwms", "iwms_secret": "env:IWMS_TEST_SECRET"}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(
        app.sign_in(&idp)
            .name_id("s-ada")
            .email("ada@acme.test")
            .first_name("Ada")
            .status()
            .await,
        303
    );
    let acme = api(&app, Some("acme"));
    let (s, events) = acme.get("/tenants/acme/outbox").await;
    assert_eq!(s, 200, "{events}");
    let first = &events.as_array().unwrap()[0];
    assert_eq!(first["event"], "user.created");
    assert_eq!(first["status"], "pending");
    let id = first["id"].as_i64().unwrap();
    assert_eq!(
        acme.post_empty(&format!("/tenants/acme/outbox/{id}/retry"))
            .await
            .0,
        404,
        "only dead events are retried"
    );
    app.with_db(|c| {
        diesel::update(outbox_events::table.filter(outbox_events::id.eq(id)))
            .set((
                outbox_events::status.eq("dead"),
                outbox_events::attempts.eq(12),
            ))
            .execute(c)
    })
    .unwrap();
    let (_, dead) = acme.get("/tenants/acme/outbox?status=dead").await;
    assert_eq!(dead.as_array().unwrap().len(), 1);
    let (_, pending) = acme
        .get("/tenants/acme/outbox?status=pending&limit=5")
        .await;
    assert_eq!(pending, json!([]));
    assert_eq!(
        root.post_empty(&format!("/tenants/globex/outbox/{id}/retry"))
            .await
            .0,
        404,
        "another tenant's event"
    );
    assert_eq!(
        acme.post_empty(&format!("/tenants/acme/outbox/{id}/retry"))
            .await
            .0,
        204
    );
    let (_, again) = acme.get("/tenants/acme/outbox?status=pending").await;
    assert_eq!(again[0]["id"], id);
    assert_eq!(again[0]["attempts"], 0);
    assert_invalid(
        &acme.get("/tenants/acme/outbox?status=lost").await,
        "status",
    );
    assert_invalid(&acme.get("/tenants/acme/outbox?limit=1001").await, "limit");
}

#[tokio::test]
async fn malformed_requests_are_400_and_unknown_routes_404_in_the_error_format() {
    let (app, _) = setup().await;
    let acme = api(&app, Some("acme"));
    let url = app.url("/api/v1/tenants/acme/domains");
    let bearer = acme.token.clone().unwrap();
    let send = |body: &'static str, ct: Option<&'static str>| {
        let mut rb = app.client.post(&url).bearer_auth(&bearer).body(body);
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        rb.send()
    };
    for (body, ct) in [
        ("{", Some("application/json")),
        ("", Some("application/json")),
        ("[1,2]", Some("application/json")),
        ("null", Some("application/json")),
        (r#"{"domain": "a.test"} trailing"#, Some("application/json")),
        (r#"{"domain": "a.test"}"#, Some("text/plain")),
        (r#"{"domain": "a.test"}"#, None),
        (r#"{"domain": "a\u0000.test"}"#, Some("application/json")),
        (
            r#"{"domain": "a.test", "extra": 1}"#,
            Some("application/json"),
        ),
    ] {
        let res = send(body, ct).await.unwrap();
        assert_eq!(res.status(), 400, "{body} as {ct:?}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"], "invalid_request", "{v}");
        assert_error_shape(&v);
    }
    let res = app
        .client
        .post(&url)
        .bearer_auth(&bearer)
        .header("content-type", "application/json")
        .body(format!(r#"{{"domain": "{}"}}"#, "a".repeat(300 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let (s, ok) = acme
        .post("/tenants/acme/domains", json!({"domain": "ok.test"}))
        .await;
    assert_eq!(s, 201, "{ok}");

    let (s, b) = acme.get("/no/such/route").await;
    assert_eq!((s, b["error"].as_str()), (404, Some("not_found")));
    let res = acme.raw(Method::PUT, "/tenants/acme", None).await;
    assert_eq!(res.status(), 405);
    let allow = res.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("PATCH"), "{allow}");
    let (s, _) = acme.delete("/tenants/acme/users/1").await;
    assert_eq!(s, 405, "users are never deleted");
    // Path segments that are not slugs.
    assert_eq!(acme.get("/tenants/..%2F..%2Fetc").await.0, 404);
    assert_eq!(
        acme.get(&format!("/tenants/{}", "a".repeat(5000))).await.0,
        404
    );
}

/// An admin adds a person before their first sign-in ("created by admin"); the sign-in then
/// links to that user by email, even where sign-ins create nobody. Bad and taken values are
/// refused with the field named; another tenant's token sees nothing.
#[tokio::test]
async fn an_admin_adds_a_user_whose_first_sign_in_links_to_them() {
    let (app, idp) = setup().await;
    let acme = api(&app, Some("acme"));
    let (s, _) = acme
        .patch("/tenants/acme", json!({"auto_create_users": false}))
        .await;
    assert_eq!(s, 200);
    let (s, u) = acme
        .post(
            "/tenants/acme/users",
            json!({"email": "Ada@Acme.test", "first_name": " Ada ", "iwms_id": "IW-7"}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    assert_eq!(u["email"], "ada@acme.test");
    assert_eq!(u["first_name"], "Ada");
    assert_eq!(u["iwms_id"], "IW-7");
    assert_eq!(u["created_via"], "admin");
    let id = u["id"].as_i64().unwrap();

    assert_invalid(
        &acme
            .post("/tenants/acme/users", json!({"email": "not an address"}))
            .await,
        "email",
    );
    assert_invalid(
        &acme
            .post(
                "/tenants/acme/users",
                json!({"email": "eve@elsewhere.test"}),
            )
            .await,
        "email",
    );
    assert_invalid(
        &acme
            .post(
                "/tenants/acme/users",
                json!({"email": "bob@acme.test", "iwms_id": "IW\n8"}),
            )
            .await,
        "iwms_id",
    );
    let (s, e) = acme
        .post("/tenants/acme/users", json!({"email": "ada@acme.test"}))
        .await;
    assert_eq!((s, e["error"].as_str()), (409, Some("conflict")), "{e}");
    let (s, e) = acme
        .post(
            "/tenants/acme/users",
            json!({"email": "bob@acme.test", "iwms_id": "IW-7"}),
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (409, Some("conflict")), "{e}");
    let (s, _) = api(&app, Some("globex"))
        .post("/tenants/acme/users", json!({"email": "mal@acme.test"}))
        .await;
    assert_eq!(s, 404, "another tenant's token");
    assert_eq!(app.users("acme").len(), 1);

    assert_eq!(
        app.sign_in(&idp)
            .name_id("ada-1")
            .email("ada@acme.test")
            .first_name("Ada")
            .status()
            .await,
        303
    );
    assert_eq!(app.users("acme").len(), 1, "linked, not created");
    let (s, d) = acme.get(&format!("/tenants/acme/users/{id}")).await;
    assert_eq!(s, 200);
    let kinds: Vec<&str> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "created", "{kinds:?}");
    assert!(
        d["timeline"][0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("created by admin"),
        "{d}"
    );
    assert!(kinds.contains(&"identity_linked"), "{kinds:?}");
    assert_eq!(d["last_sign_in"]["outcome"], "success");
    // Adding her again says what to do instead.
    let (s, _) = acme
        .post_empty(&format!("/tenants/acme/users/{id}/deactivate"))
        .await;
    assert_eq!(s, 200);
    let (s, e) = acme
        .post("/tenants/acme/users", json!({"email": "ada@acme.test"}))
        .await;
    assert_eq!(s, 409, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains(
            "(deactivated) already has the email ada@acme.test; reactivate that user instead"
        ),
        "{e}"
    );
}
