//! The whole OpenID Connect flow against `oidc-provider` (npm), an OP no one here wrote:
//! /t/{tenant}/login -> OP login -> callback -> /me.
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::json;
use ssogate::service::admin::{self, NewOidc, TenantInput};

use crate::helpers::{TestApp, form_action, form_value, now, spawn_app};

pub struct NodeOp {
    child: Child,
    pub issuer: String,
    _dir: tempfile::TempDir,
}

impl NodeOp {
    pub fn start(redirect_uri: &str, extra: &[&str]) -> Self {
        Self::start_with(redirect_uri, extra, json!({}))
    }

    /// [`NodeOp::start`] with more claims for ada (e.g. `groups`, `department`).
    pub fn start_with(redirect_uri: &str, extra: &[&str], ada_claims: serde_json::Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users.json");
        let mut ada = json!({"sub": "ada-sub-1", "email": "ada@acme.test", "email_verified": true, "given_name": "Ada",
                             "family_name": "Lovelace", "employee_number": "IW-42"});
        if let (Some(a), Some(more)) = (ada.as_object_mut(), ada_claims.as_object()) {
            a.extend(more.clone());
        }
        std::fs::write(&users, json!({ "ada": ada }).to_string()).unwrap();
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        assert!(
            root.join("tests/op/node_modules/oidc-provider").exists(),
            "run `make test-deps` (npm ci in tests/op)"
        );
        let mut child = Command::new("node")
            .arg(root.join("tests/op/op.mjs"))
            .args([
                "--port",
                "0",
                "--client-id",
                "ssogate",
                "--client-secret",
                "op-secret+/%=",
                "--redirect-uri",
                redirect_uri,
            ])
            .arg("--users")
            .arg(&users)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node oidc-provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("OP announces itself");
        let info: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("OP start line {line:?}: {e}"));
        NodeOp {
            child,
            issuer: info["issuer"].as_str().unwrap().to_owned(),
            _dir: dir,
        }
    }
}

impl Drop for NodeOp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn connect(app: &TestApp, op: &NodeOp, userinfo: bool) {
    connect_with(app, op, |i| i.use_userinfo = userinfo).await
}

/// Adds connection `okta` for `op`, with `adjust` applied to the usual input.
pub async fn connect_with(app: &TestApp, op: &NodeOp, adjust: impl FnOnce(&mut NewOidc)) {
    let http =
        ssogate::protocol::oidc::client::http_client(std::time::Duration::from_secs(5), true)
            .unwrap();
    let metadata = ssogate::protocol::oidc::client::discover(&http, &op.issuer, true)
        .await
        .expect("discovery");
    let jwks_json = ssogate::protocol::oidc::client::fetch_jwks(&http, &metadata.jwks_uri)
        .await
        .expect("jwks");
    let mut input = NewOidc {
        slug: "okta".into(),
        display_name: Some("Okta".into()),
        issuer: op.issuer.clone(),
        client_id: "ssogate".into(),
        client_secret: "op-secret+/%=".into(),
        client_auth: None,
        scopes: None,
        allowed_algorithms: None,
        allow_hs256: false,
        use_userinfo: true,
        clock_skew_secs: None,
        attr_email: Some(vec!["email".into()]),
        attr_first_name: Some(vec!["given_name".into()]),
        attr_last_name: Some(vec!["family_name".into()]),
        attr_iwms_id: Some("employee_number".into()),
        admin_role: None,
        metadata,
        jwks_json,
    };
    adjust(&mut input);
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

/// Follows redirects by hand (the client keeps cookies) until one leaves for `stop_prefix`.
async fn follow(client: &reqwest::Client, mut url: String, stop_prefix: &str) -> String {
    for _ in 0..10 {
        if url.starts_with(stop_prefix) {
            return url;
        }
        let res = client.get(&url).send().await.unwrap();
        if res.status().is_redirection() {
            let loc = res.headers()["location"].to_str().unwrap();
            url = reqwest::Url::parse(&url)
                .unwrap()
                .join(loc)
                .unwrap()
                .to_string();
            continue;
        }
        // The OP's login form: sign in as ada.
        let page_url = url.clone();
        let html = res.text().await.unwrap();
        let action = form_action(&html).expect("login form");
        let post_url = reqwest::Url::parse(&page_url)
            .unwrap()
            .join(&action)
            .unwrap();
        let res = client
            .post(post_url)
            .form(&[("login", "ada")])
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_redirection(),
            "OP login answered {}",
            res.status()
        );
        let loc = res.headers()["location"].to_str().unwrap();
        url = reqwest::Url::parse(&page_url)
            .unwrap()
            .join(loc)
            .unwrap()
            .to_string();
    }
    panic!("too many redirects");
}

/// Starts a sign-in at tenant acme's login, follows it through the OP's login form and
/// requests the callback it leads to: the callback's answer.
pub async fn sign_in(app: &TestApp, callback: &str) -> reqwest::Response {
    let res = app
        .client
        .get(app.url("/t/acme/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let authorize = res.headers()["location"].to_str().unwrap().to_owned();
    let back = follow(&app.client, authorize, callback).await;
    app.client.get(&back).send().await.unwrap()
}

async fn tenant_app() -> TestApp {
    let app = spawn_app().await;
    app.create_tenant(
        "acme",
        TenantInput {
            auto_create_users: Some(true),
            allowed_return_origins: Some(vec!["https://app.acme.test".into()]),
            ..Default::default()
        },
    );
    app.add_domain("acme", "acme.test");
    app
}

#[tokio::test]
async fn sign_in_through_oidc_provider_end_to_end() {
    let app = tenant_app().await;
    let callback = app.url("/t/acme/oidc/okta/callback");
    let op = NodeOp::start(&callback, &[]);
    connect(&app, &op, true).await;

    // Home-realm discovery picks the OIDC connection like a SAML one.
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", "ada@acme.test"),
            ("return_to", "https://app.acme.test/desk"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let authorize = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        authorize.starts_with(&format!("{}/auth?", op.issuer)),
        "{authorize}"
    );
    let back = follow(&app.client, authorize, &callback).await;
    let res = app.client.get(&back).send().await.unwrap();
    assert_eq!(
        res.status(),
        303,
        "callback refused: {}",
        app.last_reason("acme")
    );
    assert_eq!(res.headers()["location"], "https://app.acme.test/desk");
    let me: serde_json::Value = app.me().await.json().await.unwrap();
    assert_eq!(me["email"], "ada@acme.test");
    assert_eq!(me["first_name"], "Ada");
    assert_eq!(me["last_name"], "Lovelace");
    assert_eq!(me["iwms_id"], "IW-42");
    let verify = app
        .client
        .get(app.url("/auth/verify?tenant=acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(verify.headers()["x-auth-request-iwms-id"], "IW-42");
    let history = app.sign_ins("acme");
    assert_eq!(history[0].subject.as_deref(), Some("ada-sub-1"));
    assert_eq!(history[0].outcome, "success");
}

#[tokio::test]
async fn provider_access_denied_is_a_clear_refusal() {
    let app = tenant_app().await;
    let callback = app.url("/t/acme/oidc/okta/callback");
    let op = NodeOp::start(&callback, &["--error", "access_denied"]);
    connect(&app, &op, false).await;
    let res = sign_in(&app, &callback).await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("did not sign you in"));
    assert_eq!(app.last_reason("acme"), "op_error");
}

/// A console test sign-in through an OpenID provider: the callback answers with the claims
/// the provider sent and what a sign-in would do, and nothing is created.
#[tokio::test]
async fn a_test_sign_in_through_the_provider_reports_its_claims() {
    let app = tenant_app().await;
    let callback = app.url("/t/acme/oidc/okta/callback");
    let op = NodeOp::start(&callback, &[]);
    connect(&app, &op, true).await;
    let token = app
        .with_db(|c| admin::access::create_bootstrap_link(c, now(), 600))
        .expect("bootstrap link");
    let res = app
        .client
        .post(app.url("/admin/bootstrap"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "console session");
    let html = app
        .client
        .get(app.url("/admin/t/acme/connections/okta"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_value(&html, "csrf").expect("csrf");
    let res = app
        .client
        .post(app.url("/admin/t/acme/connections/okta/test"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let authorize = res.headers()["location"].to_str().unwrap().to_owned();
    let back = follow(&app.client, authorize, &callback).await;
    let res = app.client.get(&back).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", app.last_reason("acme"));
    let report = res.text().await.unwrap();
    for text in [
        "Would create a new user, ada@acme.test.",
        "<code>ada-sub-1</code>",
        "<code>employee_number</code>",
        "IW-42",
    ] {
        assert!(report.contains(text), "{text:?} in {report}");
    }
    assert!(app.users("acme").is_empty(), "nothing was created");
    assert!(app.sign_ins("acme").is_empty(), "a test is no sign-in");
    let me = app.me().await;
    assert_eq!(me.status(), 401, "nobody was signed in");
}
