//! The built-in rate limits from the outside: 429 with `Retry-After` on every limited surface,
//! each in its own body shape; none on /auth/verify; client addresses from trusted proxies
//! only; one tenant's burst never refuses another tenant; `rate_limit.enabled = false`.
//! The app's clock is frozen and moved by the tests: buckets refill only when a test says so.
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde_json::{Value, json};
use ssogate::config::{Settings, TrustedProxies};
use ssogate::service::admin::{TenantInput, access};

use crate::cli::Cli;
use crate::helpers::{TestApp, default_saml_input, form_value, now, spawn_app_at};
use crate::hostile_op::{HostileOp, Key};
use crate::saml_fixtures::{Resp, TestIdp};

/// Each client (and token) may send 3 at once, then one a minute; a tenant 1,000 at once.
const BURST: usize = 3;

struct Limited {
    app: TestApp,
    idp: TestIdp,
}

impl Limited {
    fn advance(&self, secs: i64) {
        self.app.advance(secs);
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.app.url(path))
            .send()
            .await
            .unwrap()
    }

    /// A request from `client`, as a proxy at 127.0.0.1 would forward it.
    async fn get_from(&self, path: &str, forwarded_for: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.app.url(path))
            .header("x-forwarded-for", forwarded_for)
            .send()
            .await
            .unwrap()
    }

    async fn start(&self, tenant: &str) -> u16 {
        self.get(&format!("/t/{tenant}/login?connection=idp"))
            .await
            .status()
            .as_u16()
    }
}

/// Tenants acme and globex (domains acme.test, globex.test), each with a SAML connection
/// `idp`; small limits (see BURST); `edit` changes the settings further.
async fn limited(edit: impl FnOnce(&mut Settings)) -> Limited {
    let app = spawn_app_at(now(), |s| {
        let r = &mut s.rate_limit;
        r.enabled = true;
        (r.client_per_minute, r.client_burst) = (1, BURST as u32);
        (r.tenant_per_minute, r.tenant_burst) = (1, 1000);
        (r.scim_token_per_minute, r.scim_token_burst) = (1, BURST as u32);
        (r.api_token_per_minute, r.api_token_burst) = (1, BURST as u32);
        edit(s);
    })
    .await;
    let idp = TestIdp::new("http://idp.test/metadata");
    for t in ["acme", "globex"] {
        app.create_tenant(
            t,
            TenantInput {
                auto_create_users: Some(true),
                ..Default::default()
            },
        );
        app.add_domain(t, &format!("{t}.test"));
        app.add_connection(t, default_saml_input("idp", &idp));
    }
    Limited { app, idp }
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get(RETRY_AFTER)
        .expect("Retry-After on a 429")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds")
}

fn content_type(res: &reqwest::Response) -> String {
    res.headers()[CONTENT_TYPE].to_str().unwrap().to_owned()
}

/// A 429 page for a browser: HTML, `Retry-After` in seconds, the wait in words.
async fn assert_html_429(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), 429, "{what}");
    assert_eq!(retry_after(&res), 60, "{what}: one request a minute");
    assert!(content_type(&res).starts_with("text/html"), "{what}");
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Too many requests") && body.contains("Wait 60 seconds"),
        "{what}: {body}"
    );
}

#[tokio::test]
async fn sign_in_starts_are_limited_per_client_and_tenant() {
    let l = limited(|_| {}).await;
    for _ in 0..BURST {
        assert_eq!(l.start("acme").await, 303);
    }
    let res = l.get("/t/acme/login?connection=idp").await;
    assert_html_429(res, "GET /t/acme/login").await;
    // Home-realm discovery that lands on acme counts against the same bucket.
    let res = l
        .app
        .client
        .post(l.app.url("/login"))
        .form(&[("email", "ada@acme.test")])
        .send()
        .await
        .unwrap();
    assert_html_429(res, "POST /login for acme").await;
    // The same client at another tenant has a bucket of its own.
    assert_eq!(l.start("globex").await, 303);
    // Time refills the bucket: one more a minute.
    l.advance(59);
    assert_eq!(l.start("acme").await, 429);
    l.advance(1);
    assert_eq!(l.start("acme").await, 303);
    assert_eq!(l.start("acme").await, 429);
}

#[tokio::test]
async fn requests_that_name_no_tenant_are_limited_per_client() {
    let l = limited(|_| {}).await;
    // The email form, an unknown domain and unknown tenants share the client's "no tenant"
    // bucket: inventing tenant names buys no fresh bucket.
    assert_eq!(l.get("/").await.status(), 200);
    let res = l
        .app
        .client
        .post(l.app.url("/login"))
        .form(&[("email", "someone@unknown.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(l.get("/t/nobody1/login").await.status(), 404);
    assert_html_429(l.get("/t/nobody2/login").await, "unknown tenant").await;
    assert_html_429(l.get("/").await, "GET /").await;
    let res = l
        .app
        .client
        .post(l.app.url("/login"))
        .form(&[("email", "not an address")])
        .send()
        .await
        .unwrap();
    assert_html_429(res, "POST /login, no address").await;
    // Tenants that exist are counted apart.
    assert_eq!(l.start("acme").await, 303);
}

#[tokio::test]
async fn the_acs_is_limited_per_client() {
    let l = limited(|_| {}).await;
    let garbage = &[("SAMLResponse", "PHg+"), ("RelayState", "x")];
    let l = &l;
    let post = move || async move {
        l.app
            .client
            .post(l.app.acs_url("acme", "idp"))
            .form(garbage)
            .send()
            .await
            .unwrap()
    };
    for _ in 0..BURST {
        let res = post().await;
        assert!(
            (400..500).contains(&res.status().as_u16()) && res.status() != 429,
            "{}",
            res.status()
        );
    }
    let before = l.app.sign_ins("acme").len();
    assert_html_429(post().await, "ACS").await;
    assert_eq!(
        l.app.sign_ins("acme").len(),
        before,
        "a refused post is not read, validated or recorded"
    );
    // Another tenant's ACS, same client: its own bucket.
    let res = l
        .app
        .client
        .post(l.app.acs_url("globex", "idp"))
        .form(garbage)
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 429);
}

#[tokio::test]
async fn the_oidc_callback_is_limited_per_client() {
    let l = limited(|_| {}).await;
    let op = HostileOp::start();
    let key = Key::rsa("k1");
    op.with(|s| s.jwks = json!({"keys": [key.jwk()]}));
    crate::oidc_hostile::connect(&l.app, &op, "op", |_| {}).await;
    for _ in 0..BURST {
        let res = l.get("/t/acme/oidc/op/callback?state=nope&code=x").await;
        assert!(
            (400..500).contains(&res.status().as_u16()) && res.status() != 429,
            "{}",
            res.status()
        );
    }
    let res = l.get("/t/acme/oidc/op/callback?state=nope&code=x").await;
    assert_html_429(res, "OIDC callback").await;
}

#[tokio::test]
async fn the_console_sign_in_is_limited_per_client() {
    let l = limited(|_| {}).await;
    let form = l.get("/admin/login").await;
    assert_eq!(form.status(), 200);
    let csrf = form_value(&form.text().await.unwrap(), "csrf").expect("csrf field");
    // POST /admin/login for acme: the client's acme bucket.
    let (l, csrf) = (&l, csrf.as_str());
    let post = move || async move {
        l.app
            .client
            .post(l.app.url("/admin/login"))
            .form(&[("email", "ada@acme.test"), ("csrf", csrf)])
            .send()
            .await
            .unwrap()
    };
    for _ in 0..BURST {
        assert_eq!(post().await.status(), 303);
    }
    assert_html_429(post().await, "POST /admin/login").await;
    // GET /admin/login names no tenant: one was used above, two more pass.
    for _ in 1..BURST {
        assert_eq!(l.get("/admin/login").await.status(), 200);
    }
    assert_html_429(l.get("/admin/login").await, "GET /admin/login").await;
    // Posts that find no tenant (a stale form, no address, an unknown domain) share it too.
    for (email, csrf) in [
        ("ada@acme.test", "stale"),
        ("not an address", csrf),
        ("ada@unknown.test", csrf),
    ] {
        let res = l
            .app
            .client
            .post(l.app.url("/admin/login"))
            .form(&[("email", email), ("csrf", csrf)])
            .send()
            .await
            .unwrap();
        assert_html_429(res, &format!("POST /admin/login {email} {csrf}")).await;
    }
}

#[tokio::test]
async fn the_console_hand_off_is_limited_per_client() {
    let l = limited(|_| {}).await;
    for _ in 0..BURST {
        let res = l.get("/admin/sso").await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/admin/login");
    }
    assert_html_429(l.get("/admin/sso").await, "GET /admin/sso").await;
}

async fn scim_get(l: &Limited, tenant: &str, token: &str) -> reqwest::Response {
    l.app
        .client
        .get(l.app.url(&format!("/t/{tenant}/scim/v2/Users")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn assert_scim_429(res: reqwest::Response) {
    assert_eq!(res.status(), 429);
    assert_eq!(retry_after(&res), 60);
    assert_eq!(content_type(&res), "application/scim+json");
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        v["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(v["status"], "429", "{v}");
    assert!(v["detail"].as_str().unwrap().contains("60 seconds"), "{v}");
}

#[tokio::test]
async fn scim_is_limited_per_token() {
    let l = limited(|_| {}).await;
    let (a, b) = (l.app.scim_token("acme"), l.app.scim_token("acme"));
    let g = l.app.scim_token("globex");
    for _ in 0..BURST {
        assert_eq!(scim_get(&l, "acme", &a).await.status(), 200);
    }
    assert_scim_429(scim_get(&l, "acme", &a).await).await;
    // Another token of the tenant, and another tenant's token, from the same client.
    assert_eq!(scim_get(&l, "acme", &b).await.status(), 200);
    assert_eq!(scim_get(&l, "globex", &g).await.status(), 200);
    l.advance(60);
    assert_eq!(scim_get(&l, "acme", &a).await.status(), 200);
    assert_eq!(scim_get(&l, "acme", &a).await.status(), 429);
}

#[tokio::test]
async fn refused_scim_tokens_are_limited_per_client() {
    let l = limited(|_| {}).await;
    for _ in 0..BURST {
        assert_eq!(scim_get(&l, "acme", "guess").await.status(), 401);
    }
    assert_scim_429(scim_get(&l, "acme", "guess2").await).await;
    // A valid token is counted by itself.
    let a = l.app.scim_token("acme");
    assert_eq!(scim_get(&l, "acme", &a).await.status(), 200);
}

fn admin_token(app: &TestApp, tenant: Option<&str>) -> String {
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

async fn api_get(l: &Limited, path: &str, token: &str) -> reqwest::Response {
    l.app
        .client
        .get(l.app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn assert_api_429(res: reqwest::Response) {
    assert_eq!(res.status(), 429);
    assert_eq!(retry_after(&res), 60);
    assert!(content_type(&res).starts_with("application/json"));
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"], "too_many_requests", "{v}");
    assert!(v["message"].as_str().unwrap().contains("60 seconds"), "{v}");
}

#[tokio::test]
async fn the_admin_api_is_limited_per_token() {
    let l = limited(|_| {}).await;
    let (a, b) = (
        admin_token(&l.app, Some("acme")),
        admin_token(&l.app, Some("acme")),
    );
    let g = admin_token(&l.app, Some("globex"));
    for _ in 0..BURST {
        assert_eq!(api_get(&l, "/api/v1/tenants/acme", &a).await.status(), 200);
    }
    assert_api_429(api_get(&l, "/api/v1/tenants/acme", &a).await).await;
    assert_eq!(api_get(&l, "/api/v1/tenants/acme", &b).await.status(), 200);
    assert_eq!(
        api_get(&l, "/api/v1/tenants/globex", &g).await.status(),
        200
    );
    // Refused tokens: per client address.
    for _ in 0..BURST {
        assert_eq!(
            api_get(&l, "/api/v1/tenants", "ssg_admin_guess")
                .await
                .status(),
            401
        );
    }
    assert_api_429(api_get(&l, "/api/v1/tenants", "ssg_admin_guess").await).await;
    l.advance(60);
    assert_eq!(api_get(&l, "/api/v1/tenants/acme", &a).await.status(), 200);
}

#[tokio::test]
async fn forward_auth_is_never_limited() {
    let l = limited(|s| {
        (s.rate_limit.client_burst, s.rate_limit.tenant_burst) = (2, 2);
    })
    .await;
    let (req, rs) = l.app.start_login("acme", "idp", None).await;
    let r = Resp::valid(&l.app, "acme", "idp", &l.idp, Some(&req));
    let res = l
        .app
        .post_acs("acme", "idp", &r.signed(&l.idp), Some(&rs))
        .await;
    assert_eq!(res.status(), 303, "{}", l.app.last_reason("acme"));
    // The sign-in used the client's and the tenant's whole burst.
    assert_eq!(l.start("acme").await, 429);
    for _ in 0..300 {
        let res = l.get("/auth/verify?tenant=acme").await;
        assert_eq!(res.status(), 200);
    }
    for _ in 0..50 {
        let res = l
            .app
            .client
            .get(l.app.url("/auth/verify"))
            .header("cookie", "ssogate_session=forged")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
}

fn trust(proxies: &[&str]) -> impl FnOnce(&mut Settings) {
    let parsed = TrustedProxies::parse(proxies.iter().copied()).unwrap();
    move |s| s.server.trusted_proxies = parsed
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client() {
    let l = limited(trust(&["127.0.0.1"])).await;
    let path = "/t/acme/login?connection=idp";
    for _ in 0..BURST {
        assert_eq!(l.get_from(path, "198.51.100.1").await.status(), 303);
    }
    assert_eq!(l.get_from(path, "198.51.100.1").await.status(), 429);
    // What a client writes to the left of its own address is not its address.
    assert_eq!(
        l.get_from(path, "203.0.113.66, 198.51.100.1")
            .await
            .status(),
        429
    );
    // Another client behind the same proxy, and the proxy itself, are counted apart.
    assert_eq!(l.get_from(path, "198.51.100.2").await.status(), 303);
    assert_eq!(l.start("acme").await, 303);
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let l = limited(trust(&["10.0.0.0/8"])).await;
    let path = "/t/acme/login?connection=idp";
    for i in 0..BURST {
        let res = l.get_from(path, &format!("198.51.100.{i}")).await;
        assert_eq!(res.status(), 303);
    }
    // Every request came from 127.0.0.1, whatever it claimed.
    assert_eq!(l.get_from(path, "198.51.100.99").await.status(), 429);
    assert_eq!(l.start("acme").await, 429);
}

#[tokio::test]
async fn one_tenants_burst_does_not_refuse_another_tenant() {
    let l = limited(|s| {
        trust(&["127.0.0.1"])(s);
        s.rate_limit.tenant_burst = 5;
    })
    .await;
    let acme = "/t/acme/login?connection=idp";
    let globex = "/t/globex/login?connection=idp";
    for _ in 0..BURST {
        assert_eq!(l.get_from(acme, "198.51.100.1").await.status(), 303);
    }
    // Over its own limit: refused before acme's shared bucket is touched.
    for _ in 0..10 {
        assert_eq!(l.get_from(acme, "198.51.100.1").await.status(), 429);
    }
    // So acme still has 2 of its 5 for other clients.
    assert_eq!(l.get_from(acme, "198.51.100.2").await.status(), 303);
    assert_eq!(l.get_from(acme, "198.51.100.2").await.status(), 303);
    // Now acme's burst is spent, for every client.
    let res = l.get_from(acme, "198.51.100.3").await;
    assert_html_429(res, "acme, all clients").await;
    // globex is untouched: the same clients, and new ones, get through.
    for c in [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
    ] {
        assert_eq!(l.get_from(globex, c).await.status(), 303, "{c}");
    }
}

#[tokio::test]
async fn rate_limit_enabled_false_turns_every_limit_off() {
    let l = limited(|s| {
        let r = &mut s.rate_limit;
        r.enabled = false;
        (
            r.client_burst,
            r.tenant_burst,
            r.scim_token_burst,
            r.api_token_burst,
        ) = (1, 1, 1, 1);
    })
    .await;
    let scim = l.app.scim_token("acme");
    let api = admin_token(&l.app, Some("acme"));
    for _ in 0..20 {
        assert_eq!(l.start("acme").await, 303);
        let res = l
            .app
            .client
            .post(l.app.acs_url("acme", "idp"))
            .form(&[("SAMLResponse", "PHg+")])
            .send()
            .await
            .unwrap();
        assert_ne!(res.status(), 429);
        assert_eq!(l.get("/admin/sso").await.status(), 303);
        assert_eq!(scim_get(&l, "acme", &scim).await.status(), 200);
        assert_eq!(scim_get(&l, "acme", "guess").await.status(), 401);
        assert_eq!(
            api_get(&l, "/api/v1/tenants/acme", &api).await.status(),
            200
        );
    }
}

#[test]
fn bad_settings_name_their_key() {
    let cli = Cli::new();
    for (var, value, key) in [
        (
            "SSOGATE_SERVER__TRUSTED_PROXIES",
            "10.0.0.1,proxy.internal",
            "server.trusted_proxies",
        ),
        (
            "SSOGATE_SERVER__TRUSTED_PROXIES",
            "10.0.0.0/40",
            "server.trusted_proxies",
        ),
        (
            "SSOGATE_RATE_LIMIT__ENABLED",
            "sometimes",
            "rate_limit.enabled",
        ),
        (
            "SSOGATE_RATE_LIMIT__CLIENT_BURST",
            "0",
            "rate_limit.client_burst",
        ),
        (
            "SSOGATE_RATE_LIMIT__SCIM_TOKEN_PER_MINUTE",
            "-5",
            "rate_limit.scim_token_per_minute",
        ),
    ] {
        let out = cli.run_env(&["tenant", "list"], &[(var, value)]);
        assert!(!out.status.success(), "{var}={value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("`{key}`")), "{var}={value}: {err}");
    }
    let out = cli.run_env(
        &["tenant", "list"],
        &[
            (
                "SSOGATE_SERVER__TRUSTED_PROXIES",
                "10.0.0.1, 192.168.0.0/16, ::1",
            ),
            ("SSOGATE_RATE_LIMIT__ENABLED", "false"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
