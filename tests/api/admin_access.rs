//! Who gets into the console and the API: the bootstrap link, SSO sign-in with a grant or the
//! IdP's admin role, admin tokens, tenant isolation, and the CLI that manages them.
use ssogate::service::admin::{TenantInput, access};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::cli::Cli;
use crate::helpers::{
    TestApp, default_saml_input, form_action, form_value, now, parse_authn_redirect, spawn_app,
};
use crate::saml_fixtures::{Resp, TestIdp};

/// Two tenants; acme has a SAML connection `okta` whose `groups` value `ssogate-admins`
/// makes an admin.
async fn two_tenants() -> (TestApp, TestIdp) {
    two_tenants_with(true).await
}

async fn two_tenants_with(auto_create_users: bool) -> (TestApp, TestIdp) {
    let app = spawn_app().await;
    for t in ["acme", "globex"] {
        app.create_tenant(
            t,
            TenantInput {
                auto_create_users: Some(auto_create_users),
                ..Default::default()
            },
        );
        app.add_domain(t, &format!("{t}.test"));
    }
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    app.add_connection("acme", default_saml_input("okta", &idp));
    app.with_db(|c| {
        let t = ssogate::service::admin::tenant_by_slug(c, "acme")?;
        access::set_admin_role(
            c,
            &t,
            "okta",
            Some(("groups", "ssogate-admins")),
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    (app, idp)
}

/// The console's SSO sign-in from /admin/login to the answer of /admin/sso.
async fn console_sso(
    app: &TestApp,
    idp: &TestIdp,
    edit: impl FnOnce(Resp) -> Resp,
) -> reqwest::Response {
    let res = app.admin_login(&app.client, "ada@acme.test").await;
    assert_eq!(res.status(), 303);
    let (req, rs) = parse_authn_redirect(res.headers()["location"].to_str().unwrap());
    let r = edit(Resp::valid(app, "acme", "okta", idp, Some(&req)));
    let res = app
        .post_acs("acme", "okta", &r.signed(idp), Some(&rs))
        .await;
    assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
    assert_eq!(
        res.headers()["location"],
        "/admin/sso",
        "the ACS returns to the console"
    );
    app.client.get(app.url("/admin/sso")).send().await.unwrap()
}

fn admin_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("ssogate_admin="))
        .expect("console session cookie")
}

/// Where GET /admin sends this client: the sign-in page without a console session.
async fn signed_in(app: &TestApp) -> bool {
    let res = app.client.get(app.url("/admin")).send().await.unwrap();
    res.headers().get("location").map(|l| l.to_str().unwrap()) != Some("/admin/login")
}

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn a_granted_user_signs_in_to_the_console_through_sso_and_sees_only_their_tenant() {
    let (app, idp) = two_tenants().await;
    assert_eq!(
        get(&app, "/admin").await.0,
        303,
        "no session: to the sign-in page"
    );
    app.with_db(|c| {
        access::grant(
            c,
            "acme",
            "Ada@Acme.test",
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    let res = console_sso(&app, &idp, |r| r).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/t/acme");
    let cookie = admin_cookie(&res);
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/admin"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    let (status, _) = get(&app, "/admin").await;
    assert_eq!(status, 303, "a tenant admin goes straight to their tenant");
    let (status, body) = get(&app, "/admin/t/globex").await;
    assert_eq!(status, 404, "another tenant's console is invisible: {body}");
}

#[tokio::test]
async fn the_idp_admin_role_admits_and_its_absence_refuses() {
    let (app, idp) = two_tenants().await;
    let res = console_sso(&app, &idp, |r| r.attr("groups", "staff")).await;
    assert_eq!(res.status(), 403, "a plain user is refused");
    assert!(res.text().await.unwrap().contains("not an administrator"));
    assert!(!signed_in(&app).await, "and gets no console session");

    let res = console_sso(&app, &idp, |r| r.attr("groups", "ssogate-admins")).await;
    assert_eq!(res.status(), 303, "the mapped group admits");
    assert_eq!(res.headers()["location"], "/admin/t/acme");
}

/// A tenant that creates no users on sign-in still lets its admins in: a grant or the IdP's
/// admin role creates their account at their first sign-in; anyone else is not set up.
#[tokio::test]
async fn admins_get_an_account_where_sign_ins_create_none() {
    let (app, idp) = two_tenants_with(false).await;
    let (req, rs) = app.start_login("acme", "okta", None).await;
    let r = Resp::valid(&app, "acme", "okta", &idp, Some(&req)).attr("groups", "staff");
    let res = app
        .post_acs("acme", "okta", &r.signed(&idp), Some(&rs))
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason("acme"), "not_set_up");
    assert!(app.users("acme").is_empty());

    app.with_db(|c| {
        access::grant(
            c,
            "acme",
            "ada@acme.test",
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    let res = console_sso(&app, &idp, |r| r.attr("groups", "staff")).await;
    assert_eq!(res.status(), 303, "the grant admits");
    assert_eq!(res.headers()["location"], "/admin/t/acme");
    assert_eq!(app.users("acme").len(), 1);

    let (app, idp) = two_tenants_with(false).await;
    let res = console_sso(&app, &idp, |r| r.attr("groups", "ssogate-admins")).await;
    assert_eq!(res.status(), 303, "the mapped group admits");
    assert_eq!(app.users("acme")[0].email, "ada@acme.test");
}

/// The console session never outlives the sign-in it came from: signing out of SSO ends it.
#[tokio::test]
async fn signing_out_of_sso_ends_the_console_session() {
    let (app, idp) = two_tenants().await;
    app.with_db(|c| {
        access::grant(
            c,
            "acme",
            "ada@acme.test",
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    assert_eq!(console_sso(&app, &idp, |r| r).await.status(), 303);
    assert!(signed_in(&app).await);
    let out = app.client.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(out.status(), 200);
    assert!(!signed_in(&app).await, "the console session ended too");
}

#[tokio::test]
async fn revoking_the_grant_or_deactivating_the_user_ends_the_console_session() {
    let (app, idp) = two_tenants().await;
    app.with_db(|c| {
        access::grant(
            c,
            "acme",
            "ada@acme.test",
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    assert_eq!(console_sso(&app, &idp, |r| r).await.status(), 303);
    assert!(signed_in(&app).await);
    app.with_db(|c| {
        access::revoke(
            c,
            "acme",
            "ada@acme.test",
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    assert!(!signed_in(&app).await, "revoked: signed out");

    app.with_db(|c| {
        access::grant(
            c,
            "acme",
            "ada@acme.test",
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    assert_eq!(console_sso(&app, &idp, |r| r).await.status(), 303);
    assert!(signed_in(&app).await);
    let id = app.users("acme")[0].id;
    let t = app
        .with_db(|c| ssogate::service::admin::tenant_by_slug(c, "acme"))
        .unwrap();
    let users = ssogate::service::admin::users::deactivate_user;
    app.with_db(|c| {
        users(
            c,
            &t,
            id,
            &ssogate::domain::audit::Actor::Console {
                email: "test".into(),
            },
            now(),
        )
    })
    .unwrap();
    assert!(!signed_in(&app).await, "deactivated: signed out");
    // The session ended; it does not come back with a reactivation.
    let reactivate = ssogate::service::admin::users::reactivate_user;
    app.with_db(|c| {
        reactivate(
            c,
            &t,
            id,
            &ssogate::domain::audit::Actor::Console {
                email: "test".into(),
            },
            now(),
        )
    })
    .unwrap();
    assert!(!signed_in(&app).await, "reactivated: still signed out");
}

#[tokio::test]
async fn a_bootstrap_link_signs_in_once_as_super_admin() {
    let (app, _) = two_tenants().await;
    let token = app
        .with_db(|c| access::create_bootstrap_link(c, now(), 900))
        .unwrap();
    let (status, page) = get(&app, &format!("/admin/bootstrap?token={token}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Sign in as super-admin"),
        "GET only shows a button"
    );
    let redeem = || async {
        app.client
            .post(app.url("/admin/bootstrap"))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap()
    };
    let res = redeem().await;
    assert_eq!(res.status(), 303);
    admin_cookie(&res);
    let (status, tenants) = get(&app, "/admin").await;
    assert_eq!(status, 200);
    assert!(tenants.contains("/admin/t/acme") && tenants.contains("/admin/t/globex"));
    assert_eq!(get(&app, "/admin/t/globex").await.0, 200);

    let again = redeem().await;
    assert_eq!(again.status(), 400, "single use");
    let expired = app
        .with_db(|c| access::create_bootstrap_link(c, now() - 1000, 60))
        .unwrap();
    let res = app
        .client
        .post(app.url("/admin/bootstrap"))
        .form(&[("token", expired.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "short-lived");
}

#[tokio::test]
async fn admin_tokens_authenticate_the_api_within_their_scope() {
    let (app, _) = two_tenants().await;
    let api = |token: Option<String>, path: &'static str| {
        let mut r = app.client.get(app.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move { r.send().await.unwrap() }
    };
    let res = api(None, "/api/v1/tenants").await;
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    assert_eq!(
        api(Some("ssg_admin_not-a-token".into()), "/api/v1/tenants")
            .await
            .status(),
        401
    );
    let session_cookie_is_not_a_token = api(Some("x".repeat(10_000)), "/api/v1/tenants").await;
    assert_eq!(session_cookie_is_not_a_token.status(), 401);

    let acme = app
        .with_db(|c| {
            access::create_token(
                c,
                Some("acme"),
                "ci",
                Some(90),
                &ssogate::domain::audit::Actor::Cli,
                now(),
            )
        })
        .unwrap();
    let res = api(Some(acme.token.clone()), "/api/v1/tenants").await;
    assert_eq!(res.status(), 200);
    let list: serde_json::Value = res.json().await.unwrap();
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme"], "a tenant token lists only its tenant");
    assert_eq!(
        api(Some(acme.token.clone()), "/api/v1/tenants/globex")
            .await
            .status(),
        404
    );
    let res = app
        .client
        .post(app.url("/api/v1/tenants"))
        .bearer_auth(&acme.token)
        .json(&serde_json::json!({"slug": "initech"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "creating tenants is for super-admins");
    let res = app
        .client
        .patch(app.url("/api/v1/tenants/acme"))
        .bearer_auth(&acme.token)
        .json(&serde_json::json!({"iwms_secret": "file:/etc/shadow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "server-side secrets are for super-admins"
    );

    let root = app
        .with_db(|c| {
            access::create_token(
                c,
                None,
                "root",
                Some(90),
                &ssogate::domain::audit::Actor::Cli,
                now(),
            )
        })
        .unwrap();
    let res = app
        .client
        .post(app.url("/api/v1/tenants"))
        .bearer_auth(&root.token)
        .json(&serde_json::json!({"slug": "initech", "display_name": "Initech"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    app.with_db(|c| access::revoke_token(c, acme.id, &ssogate::domain::audit::Actor::Cli, now()))
        .unwrap();
    assert_eq!(
        api(Some(acme.token), "/api/v1/tenants").await.status(),
        401,
        "revoked"
    );
    let listed = app.with_db(access::tokens).unwrap();
    let used = listed.iter().find(|t| t.id == root.id).unwrap();
    assert!(used.last_used_at.is_some(), "last use is recorded");
    assert_eq!(used.tenant, "*");
}

#[tokio::test]
async fn the_cli_grants_maps_roles_mints_tokens_and_prints_a_bootstrap_link() {
    let (app, _) = two_tenants().await;
    let cli = Cli::with_db(&app.db_url);
    cli.ok(&[
        "admin",
        "grant",
        "--tenant",
        "acme",
        "--email",
        "bob@acme.test",
    ]);
    let grants = cli.json(&["admin", "list", "--tenant", "acme", "--json"]);
    assert_eq!(grants[0]["email"], "bob@acme.test");
    assert!(
        cli.fails(&[
            "admin",
            "grant",
            "--tenant",
            "acme",
            "--email",
            "not-an-email"
        ])
        .contains("email")
    );
    cli.ok(&[
        "admin",
        "revoke",
        "--tenant",
        "acme",
        "--email",
        "bob@acme.test",
    ]);
    assert!(
        cli.fails(&[
            "admin",
            "revoke",
            "--tenant",
            "acme",
            "--email",
            "bob@acme.test"
        ])
        .contains("not found")
    );

    cli.ok(&[
        "admin",
        "role",
        "--tenant",
        "acme",
        "--connection",
        "okta",
        "--clear",
    ]);
    cli.ok(&[
        "admin",
        "role",
        "--tenant",
        "acme",
        "--connection",
        "okta",
        "--attribute",
        "roles",
        "--value",
        "admin",
    ]);

    let t = cli.json(&[
        "admin", "token", "create", "--tenant", "acme", "--label", "ci", "--json",
    ]);
    let token = t["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("ssg_admin_"));
    let ninety_days = now() + 90 * 86_400;
    let expires = t["expires_at"].as_i64().expect("expires by default");
    assert!((ninety_days - 60..=ninety_days).contains(&expires), "{t}");
    let forever = cli.json(&[
        "admin",
        "token",
        "create",
        "--all-tenants",
        "--no-expiry",
        "--json",
    ]);
    assert!(forever["expires_at"].is_null(), "{forever}");
    let err = cli.fails(&[
        "admin",
        "token",
        "create",
        "--tenant",
        "acme",
        "--expires-in-days",
        "0",
    ]);
    assert!(err.contains("expires_in_days"), "{err}");
    let err = cli.fails(&[
        "admin",
        "token",
        "create",
        "--tenant",
        "acme",
        "--expires-in-days",
        "5",
        "--no-expiry",
    ]);
    assert!(err.contains("--no-expiry"), "{err}");
    let res = app
        .client
        .get(app.url("/api/v1/tenants/acme"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let listed = cli.ok(&["admin", "token", "list"]);
    assert!(
        listed.contains("ci") && !listed.contains(&token),
        "never shown again"
    );
    cli.ok(&["admin", "token", "revoke", &t["id"].to_string()]);

    let link = cli.json(&["admin", "bootstrap-link", "--json"]);
    let link = link["link"].as_str().unwrap();
    assert!(link.contains("/admin/bootstrap?token="), "{link}");
    let token = link.split("token=").nth(1).unwrap();
    let res = app
        .client
        .post(app.url("/admin/bootstrap"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "the printed link works");
}

/// A browser whose cookies the test holds: every cookie it was given goes with every request
/// (paths and domains ignored), so a test can copy one to another browser as an app behind
/// the proxy could.
struct Browser {
    client: reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
    /// Every Set-Cookie line received, in order.
    set_cookies: Vec<String>,
}

impl Browser {
    fn new() -> Self {
        Browser {
            client: crate::helpers::client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Default::default(),
            set_cookies: Vec::new(),
        }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.get(name).cloned()
    }

    async fn send(&mut self, rb: reqwest::RequestBuilder) -> reqwest::Response {
        let header: Vec<String> = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let res = rb.header("cookie", header.join("; ")).send().await.unwrap();
        for line in res.headers().get_all("set-cookie") {
            let line = line.to_str().unwrap().to_owned();
            let pair = line.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = value.is_empty() || line.contains("Max-Age=0");
            if removed {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
            self.set_cookies.push(line);
        }
        res
    }

    async fn get(&mut self, app: &TestApp, path: &str) -> reqwest::Response {
        let rb = self.client.get(app.url(path));
        self.send(rb).await
    }

    /// The console's sign-in form, filled in and posted: the answer (to the IdP, or the
    /// connection chooser).
    async fn admin_login(&mut self, app: &TestApp, email: &str) -> reqwest::Response {
        let form = self.get(app, "/admin/login").await;
        let csrf = form_value(&form.text().await.unwrap(), "csrf").unwrap();
        let rb = self
            .client
            .post(app.url("/admin/login"))
            .form(&[("email", email), ("csrf", csrf.as_str())]);
        self.send(rb).await
    }

    /// The IdP's answer to the AuthnRequest `to_idp` pointed at, posted to `connection`'s ACS.
    async fn idp_answers(
        &mut self,
        app: &TestApp,
        idp: &TestIdp,
        connection: &str,
        to_idp: &reqwest::Response,
        edit: impl FnOnce(Resp) -> Resp,
    ) -> reqwest::Response {
        assert_eq!(to_idp.status(), 303);
        let (req, rs) = parse_authn_redirect(to_idp.headers()["location"].to_str().unwrap());
        let r = edit(Resp::valid(app, "acme", connection, idp, Some(&req)));
        let xml = r.signed(idp);
        let form = [("SAMLResponse", STANDARD.encode(xml)), ("RelayState", rs)];
        let rb = self
            .client
            .post(app.acs_url("acme", connection))
            .form(&form);
        self.send(rb).await
    }
}

fn location(res: &reqwest::Response) -> &str {
    res.headers()
        .get("location")
        .map_or("", |l| l.to_str().unwrap())
}

fn opened_console(res: &reqwest::Response) -> bool {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("ssogate_admin="))
}

/// With forward auth the SSO cookie is shared with every app behind the proxy
/// (`session.cookie_domain`): an app that sees an admin's cookie must not be able to turn it
/// into a console session. Only a sign-in this browser started at /admin/login ends in one,
/// through a one-time value in a host-only cookie that /admin/sso spends.
#[tokio::test]
async fn an_app_sign_ins_cookie_replayed_at_admin_sso_opens_no_console() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.session.cookie_domain = Some("apps.example.test".into());
    })
    .await;
    app.create_tenant("acme", TenantInput::default());
    app.add_domain("acme", "acme.test");
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    app.add_connection("acme", default_saml_input("okta", &idp));
    app.with_db(|c| {
        access::grant(
            c,
            "acme",
            "ada@acme.test",
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();

    // The admin signs in to an app: an SSO cookie for every app under the shared domain.
    let mut ada = Browser::new();
    let start = ada.get(&app, "/t/acme/login?connection=okta").await;
    let signed_in = ada.idp_answers(&app, &idp, "okta", &start, |r| r).await;
    assert_eq!(signed_in.status(), 303, "{}", app.last_reason("acme"));
    let sso = ada.cookie("ssogate_session").expect("SSO cookie");
    assert!(
        ada.set_cookies
            .iter()
            .any(|c| c.starts_with("ssogate_session=") && c.contains("Domain=apps.example.test")),
        "{:?}",
        ada.set_cookies
    );
    // Neither her own browser nor an app replaying her cookie gets a console from it.
    let res = ada.get(&app, "/admin/sso").await;
    assert_eq!(location(&res), "/admin/login");
    assert!(!opened_console(&res));
    let mut app_server = Browser::new();
    app_server
        .cookies
        .insert("ssogate_session".into(), sso.clone());
    let res = app_server.get(&app, "/admin/sso").await;
    assert_eq!(location(&res), "/admin/login");
    assert!(!opened_console(&res));
    // Nor does a console sign-in of the attacker's own, with her cookie swapped in.
    let mut mallory = Browser::new();
    let to_idp = mallory.admin_login(&app, "mallory@acme.test").await;
    assert_eq!(to_idp.status(), 303);
    assert!(mallory.cookie("ssogate_admin_handoff").is_some());
    mallory
        .cookies
        .insert("ssogate_session".into(), sso.clone());
    let res = mallory.get(&app, "/admin/sso").await;
    assert_eq!(location(&res), "/admin/login");
    assert!(!opened_console(&res));
    assert_eq!(
        mallory.cookie("ssogate_admin_handoff"),
        None,
        "a presented hand-off is spent"
    );

    // Her console sign-in opens the console; its hand-off cookie is host-only, HttpOnly and
    // goes only to /admin/sso.
    let to_idp = ada.admin_login(&app, "ada@acme.test").await;
    let handoff = ada
        .cookie("ssogate_admin_handoff")
        .expect("hand-off cookie");
    let line = ada
        .set_cookies
        .iter()
        .rfind(|c| c.starts_with("ssogate_admin_handoff="))
        .unwrap()
        .clone();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/admin/sso"] {
        assert!(line.contains(flag), "{line} lacks {flag}");
    }
    assert!(!line.contains("Domain"), "host-only: {line}");
    let back = ada.idp_answers(&app, &idp, "okta", &to_idp, |r| r).await;
    assert_eq!(location(&back), "/admin/sso");
    let console_sso = ada.cookie("ssogate_session").unwrap();
    let res = ada.get(&app, "/admin/sso").await;
    assert_eq!(location(&res), "/admin/t/acme");
    assert!(opened_console(&res));
    // Once: the same pair of values again opens nothing.
    let mut replay = Browser::new();
    replay.cookies.insert("ssogate_session".into(), console_sso);
    replay
        .cookies
        .insert("ssogate_admin_handoff".into(), handoff.clone());
    let res = replay.get(&app, "/admin/sso").await;
    assert_eq!(location(&res), "/admin/login");
    assert!(!opened_console(&res));
    // And the hand-off belongs to the session its sign-in opened, not to another one.
    let mut other = Browser::new();
    other.cookies.insert("ssogate_session".into(), sso);
    other
        .cookies
        .insert("ssogate_admin_handoff".into(), handoff);
    let res = other.get(&app, "/admin/sso").await;
    assert!(!opened_console(&res));
}

/// A tenant with several connections: the console's chooser posts the sign-in form again
/// with the pick, so the hand-off still comes from the console's own (CSRF-checked) form.
#[tokio::test]
async fn the_console_chooser_keeps_the_sign_in_a_console_one() {
    let (app, idp) = two_tenants().await;
    let idp2 = TestIdp::new("http://idp2.acme.test/metadata");
    app.add_connection("acme", default_saml_input("entra", &idp2));
    app.with_db(|c| {
        access::grant(
            c,
            "acme",
            "ada@acme.test",
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    let mut ada = Browser::new();
    let chooser = ada.admin_login(&app, "ada@acme.test").await;
    assert_eq!(chooser.status(), 200);
    assert!(ada.cookie("ssogate_admin_handoff").is_none());
    let html = chooser.text().await.unwrap();
    assert_eq!(
        form_action(&html).as_deref(),
        Some("/admin/login"),
        "{html}"
    );
    assert!(
        html.contains(r#"name="connection" value="entra""#),
        "{html}"
    );
    let csrf = form_value(&html, "csrf").unwrap();
    assert_eq!(form_value(&html, "email").as_deref(), Some("ada@acme.test"));
    let rb = ada.client.post(app.url("/admin/login")).form(&[
        ("email", "ada@acme.test"),
        ("csrf", csrf.as_str()),
        ("connection", "entra"),
    ]);
    let to_idp = ada.send(rb).await;
    assert_eq!(to_idp.status(), 303);
    assert!(ada.cookie("ssogate_admin_handoff").is_some());
    let back = ada.idp_answers(&app, &idp2, "entra", &to_idp, |r| r).await;
    assert_eq!(location(&back), "/admin/sso", "{}", app.last_reason("acme"));
    let res = ada.get(&app, "/admin/sso").await;
    assert_eq!(location(&res), "/admin/t/acme");
    assert!(opened_console(&res));
    let _ = idp;
    // The pick goes through the form's CSRF check like the email does.
    let rb = ada.client.post(app.url("/admin/login")).form(&[
        ("email", "ada@acme.test"),
        ("csrf", "forged"),
        ("connection", "entra"),
    ]);
    let forged = ada.send(rb).await;
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("location").is_none());
}

fn grant_holder(app: &TestApp, email: &str) -> Option<i64> {
    app.with_db(|c| access::grants(c, "acme"))
        .unwrap()
        .into_iter()
        .find(|g| g.email == email)
        .expect("grant")
        .user_id
}

fn scim_rename(address: &str) -> serde_json::Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": "userName", "value": address},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": address}
        ]
    })
}

fn scim_user(address: &str) -> serde_json::Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": address,
        "emails": [{"value": address, "type": "work", "primary": true}]
    })
}

/// A grant is claimed by the first console sign-in whose IdP asserted its address, and from
/// then on belongs to that user by id: a SCIM rename ends their sessions but not their
/// rights, and the old address no longer names anyone.
#[tokio::test]
async fn a_bound_admin_renamed_by_scim_keeps_the_grant() {
    let (app, idp) = two_tenants_with(false).await;
    app.with_db(|c| {
        access::grant(
            c,
            "acme",
            "ada@acme.test",
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    let scim = app.scim("acme");
    let (s, u) = scim.post("/Users", scim_user("ada@acme.test")).await;
    assert_eq!(s, 201, "{u}");
    let id: i64 = u["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(grant_holder(&app, "ada@acme.test"), None, "unclaimed");
    assert_eq!(console_sso(&app, &idp, |r| r).await.status(), 303);
    assert_eq!(grant_holder(&app, "ada@acme.test"), Some(id), "claimed");
    assert!(signed_in(&app).await);

    let (s, u) = scim
        .patch(&format!("/Users/{id}"), scim_rename("ada.king@acme.test"))
        .await;
    assert_eq!(s, 200, "{u}");
    assert!(
        !signed_in(&app).await,
        "the rename ended the console session"
    );
    assert_eq!(app.me().await.status(), 401, "and the SSO session");
    let res = console_sso(&app, &idp, |r| r.attr("email", "ada.king@acme.test")).await;
    assert_eq!(res.status(), 303, "the grant follows her");
    assert_eq!(res.headers()["location"], "/admin/t/acme");
    assert_eq!(grant_holder(&app, "ada@acme.test"), Some(id));

    // Her old address names no one now: a newcomer asserting it gets no account from it.
    let (req, rs) = app.start_login("acme", "okta", None).await;
    let r = Resp::valid(&app, "acme", "okta", &idp, Some(&req)).attr("email", "ada@acme.test");
    let mut r = r;
    r.name_id = "subject-eve".into();
    let res = app
        .post_acs("acme", "okta", &r.signed(&idp), Some(&rs))
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason("acme"), "not_set_up");
}

/// A SCIM token cannot make someone an admin: moving an ordinary user onto the address of a
/// grant that waits for its first sign-in ends their sessions, and no later sign-in of theirs
/// claims it (their IdP asserts their own address); the person the grant names, signing in,
/// is not linked to the renamed user either. Nobody is admitted.
#[tokio::test]
async fn a_scim_rename_onto_a_granted_address_admits_nobody() {
    let (app, idp) = two_tenants().await;
    app.with_db(|c| {
        access::grant(
            c,
            "acme",
            "cfo@acme.test",
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    let scim = app.scim("acme");
    let (s, u) = scim.post("/Users", scim_user("bob@acme.test")).await;
    assert_eq!(s, 201, "{u}");
    let bob = |r: Resp| {
        let mut r = r.attr("email", "bob@acme.test");
        r.name_id = "subject-bob".into();
        r
    };
    let res = console_sso(&app, &idp, bob).await;
    assert_eq!(res.status(), 403, "bob is no admin");
    assert_eq!(app.me().await.status(), 200);
    let verify = app
        .client
        .get(app.url("/auth/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(verify.status(), 200);

    let id = u["id"].as_str().unwrap();
    let (s, u) = scim
        .patch(&format!("/Users/{id}"), scim_rename("cfo@acme.test"))
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(
        app.me().await.status(),
        401,
        "the rename ended bob's session"
    );
    let verify = app
        .client
        .get(app.url("/auth/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        verify.status(),
        401,
        "the old cookie asserts no new address"
    );
    let res = app.client.get(app.url("/admin/sso")).send().await.unwrap();
    assert_eq!(location(&res), "/admin/login");

    // Bob signs in again: his IdP asserts his own address, which no grant names.
    let res = console_sso(&app, &idp, bob).await;
    assert_eq!(res.status(), 403, "still no admin");
    assert_eq!(grant_holder(&app, "cfo@acme.test"), None);
    // The CFO signs in: the address is bob's record now, linked to bob's identity.
    let res = app.admin_login(&app.client, "cfo@acme.test").await;
    let (req, rs) = parse_authn_redirect(res.headers()["location"].to_str().unwrap());
    let mut r = Resp::valid(&app, "acme", "okta", &idp, Some(&req)).attr("email", "cfo@acme.test");
    r.name_id = "subject-cfo".into();
    let res = app
        .post_acs("acme", "okta", &r.signed(&idp), Some(&rs))
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason("acme"), "identity_conflict");
    assert_eq!(
        grant_holder(&app, "cfo@acme.test"),
        None,
        "nobody claimed it"
    );
}

/// A connection that allows unbound responses (plain-http development) still binds a console
/// sign-in to the browser that started it: otherwise an attacker who started one at
/// /admin/login could have a victim's browser finish it and hand off the victim's session.
#[tokio::test]
async fn a_console_sign_in_is_bound_to_its_browser_even_where_responses_may_be_unbound() {
    let (app, _) = two_tenants().await;
    let idp = TestIdp::new("http://dev-idp.acme.test/metadata");
    let mut input = default_saml_input("dev", &idp);
    input.allow_unbound_responses = true;
    app.add_connection("acme", input);
    app.with_db(|c| {
        let t = ssogate::service::admin::tenant_by_slug(c, "acme")?;
        access::set_admin_role(
            c,
            &t,
            "dev",
            Some(("groups", "ssogate-admins")),
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    // The attacker starts a console sign-in from their own client.
    let attacker = crate::helpers::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let res = app.admin_login(&attacker, "ada@acme.test").await;
    assert_eq!(res.status(), 200, "two connections: a choice first");
    let html = res.text().await.unwrap();
    let csrf = form_value(&html, "csrf").expect("csrf");
    let res = attacker
        .post(app.url("/admin/login"))
        .form(&[
            ("email", "ada@acme.test"),
            ("csrf", csrf.as_str()),
            ("connection", "dev"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let (req, rs) = parse_authn_redirect(res.headers()["location"].to_str().unwrap());
    // The victim's browser (no binding cookie) finishes it at the IdP and posts the answer.
    let r = Resp::valid(&app, "acme", "dev", &idp, Some(&req)).attr("groups", "ssogate-admins");
    let res = app
        .post_acs("acme", "dev", &r.signed(&idp), Some(&rs))
        .await;
    assert_eq!(app.last_reason("acme"), "browser_mismatch");
    assert_ne!(res.status(), 303);
}

fn set_cookie(res: &reqwest::Response, prefix: &str) -> Option<(String, String)> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(prefix))
        .map(|c| {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_owned(), value.to_owned())
        })
}

/// With forward-auth's shared cookie domain, an app behind the proxy sees the SSO cookie and
/// may set cookies on the parent domain. It starts a console sign-in itself (so it holds
/// the hand-off value), plants that sign-in's binding cookie in a victim's browser and sends
/// the victim through the IdP. The victim's browser finishes the sign-in; the app now holds
/// the victim's SSO cookie and the hand-off value, but not the ticket the ACS gave the
/// victim's browser, and /admin/sso needs all three.
#[tokio::test]
async fn a_console_sign_in_finished_by_another_browser_opens_no_console_for_its_starter() {
    let (app, idp) = two_tenants().await;
    let app_client = || {
        crate::helpers::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap()
    };
    let attacker = app_client();
    let started = app.admin_login(&attacker, "ada@acme.test").await;
    assert_eq!(started.status(), 303);
    let (binding_name, binding_value) =
        set_cookie(&started, "ssogate_authn_").expect("binding cookie");
    let (handoff_name, handoff_value) =
        set_cookie(&started, "ssogate_admin_handoff=").expect("hand-off cookie");
    let (req, rs) = parse_authn_redirect(started.headers()["location"].to_str().unwrap());

    // The victim's browser, carrying the planted binding cookie, finishes at the ACS.
    let victim = app_client();
    let r = Resp::valid(&app, "acme", "okta", &idp, Some(&req)).attr("groups", "ssogate-admins");
    let finished = victim
        .post(app.acs_url("acme", "okta"))
        .header("cookie", format!("{binding_name}={binding_value}"))
        .form(&[
            ("SAMLResponse", STANDARD.encode(r.signed(&idp))),
            ("RelayState", rs),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status(), 303, "{}", app.last_reason("acme"));
    let (session_name, session_value) =
        set_cookie(&finished, "ssogate_session=").expect("SSO session cookie");

    // The attacker presents the victim's SSO cookie with its own hand-off value.
    let replay = app_client()
        .get(app.url("/admin/sso"))
        .header(
            "cookie",
            format!("{session_name}={session_value}; {handoff_name}={handoff_value}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(replay.headers()["location"], "/admin/login");
    assert!(set_cookie(&replay, "ssogate_admin=").is_none());
    assert!(set_cookie(&finished, "ssogate_admin_ticket=").is_some());
    // The victim's browser has no hand-off of its own: no console there either.
    let victims = victim.get(app.url("/admin/sso")).send().await.unwrap();
    assert_eq!(victims.headers()["location"], "/admin/login");
}
