//! The admin console under /admin, driven as a browser without JavaScript would: pages are
//! fetched, forms posted with the session's CSRF token, redirects read. A super-admin signs in
//! with a bootstrap link; a tenant admin through the tenant's SAML sign-in.
use serde_json::json;
use ssogate::service::admin::access;
use ssogate::service::admin::{self, TenantInput};
use ssogate::storage;

use crate::helpers::{TestApp, default_saml_input, form_value, now, spawn_app};
use crate::saml_fixtures::TestIdp;
use crate::support::sign_in::{SignIn, acme};

const CONSOLE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// A browser with a console session.
pub(crate) struct Console<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    csrf: String,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    location: Option<String>,
    pub(crate) body: String,
    csp: Option<String>,
}

impl Page {
    #[track_caller]
    pub(crate) fn ok(&self) -> &str {
        assert_eq!(self.status, 200, "{}", self.body);
        &self.body
    }

    #[track_caller]
    pub(crate) fn has(&self, text: &str) -> &Self {
        assert!(
            self.body.contains(text),
            "expected {text:?} in the page:\n{}",
            self.body
        );
        self
    }

    #[track_caller]
    pub(crate) fn redirects_to(&self, prefix: &str) -> String {
        assert_eq!(self.status, 303, "{}", self.body);
        let l = self.location.clone().unwrap_or_default();
        assert!(l.starts_with(prefix), "redirect to {l}, expected {prefix}…");
        l
    }
}

fn browser() -> reqwest::Client {
    crate::helpers::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn page(res: reqwest::Response) -> Page {
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (location, csp) = (header("location"), header("content-security-policy"));
    Page {
        status: res.status().as_u16(),
        location,
        csp,
        body: res.text().await.unwrap(),
    }
}

impl<'a> Console<'a> {
    /// Signs in as super-admin the way the first admin does: a bootstrap link, its button.
    pub(crate) async fn super_admin(app: &'a TestApp) -> Console<'a> {
        let token = app
            .with_db(|c| access::create_bootstrap_link(c, now(), 600))
            .expect("bootstrap link");
        let client = browser();
        let link = client
            .get(app.url(&format!("/admin/bootstrap?token={token}")))
            .send()
            .await
            .unwrap();
        let html = page(link).await;
        html.ok();
        let posted = client
            .post(app.url("/admin/bootstrap"))
            .form(&[("token", form_value(&html.body, "token").unwrap())])
            .send()
            .await
            .unwrap();
        let cookie = posted
            .cookies()
            .find(|c| c.name() == "ssogate_admin")
            .expect("console cookie");
        assert_eq!(cookie.path(), Some("/admin"));
        assert!(cookie.http_only());
        page(posted).await.redirects_to("/admin");
        Self::with(app, client).await
    }

    /// A client that already holds a console cookie; reads the CSRF token off /admin.
    async fn with(app: &'a TestApp, client: reqwest::Client) -> Console<'a> {
        let mut c = Console {
            app,
            client,
            csrf: String::new(),
        };
        let home = c.get("/admin").await;
        let body = if home.status == 303 {
            c.get(&home.location.unwrap()).await.body
        } else {
            home.body
        };
        c.csrf = form_value(&body, "csrf").expect("csrf token in the console page");
        c
    }

    pub(crate) async fn get(&self, path: &str) -> Page {
        page(self.client.get(self.app.url(path)).send().await.unwrap()).await
    }

    /// Posts `fields` with this session's CSRF token.
    pub(crate) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        self.post_raw(path, &form).await
    }

    pub(crate) async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Page {
        page(
            self.client
                .post(self.app.url(path))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// Tenant `acme` (users created on sign-in, acme.test whitelisted, SAML connection `okta`)
/// and tenant `globex` (globex.test).
async fn setup() -> (TestApp, TestIdp) {
    let app = spawn_app().await;
    let idp = acme(
        &app,
        TenantInput {
            display_name: Some("Acme Corp".into()),
            ..Default::default()
        },
    );
    app.create_tenant(
        "globex",
        TenantInput {
            display_name: Some("Globex".into()),
            ..Default::default()
        },
    );
    app.add_domain("globex", "globex.test");
    (app, idp)
}

/// Links to users' pages (not to "Add a user").
fn user_links(html: &str) -> usize {
    html.split("href=\"/admin/t/acme/users/")
        .skip(1)
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        .count()
}

fn user_id(app: &TestApp, email: &str) -> i64 {
    app.users("acme")
        .into_iter()
        .find(|u| u.email == email)
        .unwrap_or_else(|| panic!("no user {email}"))
        .id
}

fn status_of(app: &TestApp, id: i64) -> String {
    app.users("acme")
        .into_iter()
        .find(|u| u.id == id)
        .expect("user")
        .status
        .to_owned()
}

/// What a page shows between `<code id="{id}">` and `</code>`.
fn code_by_id(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let from = start + html[start..].find('>').unwrap() + 1;
    let end = from + html[from..].find('<').unwrap();
    html[from..end].trim().to_owned()
}

fn idp_metadata(idp: &TestIdp, sso_url: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso_url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#,
        idp.entity_id,
        idp.cert_b64()
    )
}

#[tokio::test]
async fn every_page_renders_for_a_super_admin() {
    let (app, idp) = setup().await;
    let ada = app
        .sign_in(&idp)
        .on(&browser())
        .name_id("ada-1")
        .email("ada@acme.test")
        .user_id()
        .await;
    let console = Console::super_admin(&app).await;

    let tenants = console.get("/admin").await;
    tenants.ok();
    tenants.has("Acme Corp").has("Globex").has("super-admin");
    assert_eq!(tenants.csp.as_deref(), Some(CONSOLE_CSP));

    let settings = console.get("/admin/t/acme").await;
    settings.ok();
    settings
        .has("Local attribute mapping of the IWMS user ID")
        .has("name=\"iwms_endpoint\"")
        .has("value=\"Acme Corp\"");
    assert_eq!(settings.csp.as_deref(), Some(CONSOLE_CSP));
    assert!(!settings.body.contains("Anyone can get an account"));

    console
        .get("/admin/t/acme/domains")
        .await
        .has("acme.test")
        .ok();
    console
        .get("/admin/t/acme/connections")
        .await
        .has("/admin/t/acme/connections/okta")
        .has("Add a SAML identity provider")
        .has("Add an OpenID Connect provider")
        .ok();
    let okta = console.get("/admin/t/acme/connections/okta").await;
    okta.ok();
    okta.has(&app.acs_url("acme", "okta"))
        .has(&app.sp_entity_id("acme", "okta"))
        .has("data-copy=\"#acs-url\"")
        .has("action=\"/admin/t/acme/connections/okta/test\"")
        .has("http://idp.acme.test/metadata");

    let users = console.get("/admin/t/acme/users").await;
    users.ok();
    users
        .has("ada@acme.test")
        .has(&format!("/admin/t/acme/users/{ada}"))
        .has("Active <span class=\"count\">1</span>")
        .has("badge success");
    let user = console.get(&format!("/admin/t/acme/users/{ada}")).await;
    user.ok();
    user.has("ada-1")
        .has("created by just-in-time provisioning")
        .has("signed in (okta)")
        .has("Deactivate")
        .has("Unlink");

    let history = console.get("/admin/t/acme/sign-ins").await;
    history.ok();
    history
        .has("ada@acme.test")
        .has(&format!("href=\"/admin/t/acme/users/{ada}\""))
        .has("<option value=\"user_deactivated\"")
        .has("<option value=\"okta\"");

    console
        .get("/admin/t/acme/scim-tokens")
        .await
        .has(&app.url("/t/acme/scim/v2"))
        .ok();
    console
        .get("/admin/t/acme/outbox")
        .await
        .has("no IWMS endpoint")
        .ok();

    // Not signed in: every page sends to the sign-in.
    let anonymous = browser()
        .get(app.url("/admin/t/acme/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()["location"], "/admin/login");
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_change_nothing() {
    let (app, idp) = setup().await;
    let ada = app
        .sign_in(&idp)
        .on(&browser())
        .name_id("ada-1")
        .email("ada@acme.test")
        .user_id()
        .await;
    let console = Console::super_admin(&app).await;
    let deactivate = format!("/admin/t/acme/users/{ada}/deactivate");
    let idp_xml = idp_metadata(&TestIdp::new("https://evil.test/"), "https://evil.test/sso");
    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/admin/t/acme/domains", vec![("domain", "new.test")]),
        (
            "/admin/t/acme/domains/remove",
            vec![("domain", "acme.test")],
        ),
        (
            "/admin/t/acme",
            vec![("display_name", "Hacked"), ("stale_after_days", "5")],
        ),
        (&deactivate, vec![]),
        ("/admin/t/acme/scim-tokens", vec![("label", "stolen")]),
        ("/admin/tenants", vec![("slug", "forged")]),
        ("/admin/t/acme/connections/okta/remove", vec![]),
        (
            "/admin/t/acme/connections/saml",
            vec![("slug", "evil"), ("metadata_xml", &idp_xml)],
        ),
        (
            "/admin/t/acme/connections/okta/mapping",
            vec![
                ("attr_email", "x"),
                ("attr_first_name", "x"),
                ("attr_last_name", "x"),
            ],
        ),
        ("/admin/logout", vec![]),
    ];
    for (path, fields) in &attempts {
        let none = console.post_raw(path, fields).await;
        assert_eq!(none.status, 403, "{path} without csrf: {}", none.body);
        none.has("Form expired");
        let mut wrong = fields.clone();
        wrong.push(("csrf", "not-the-token"));
        assert_eq!(console.post_raw(path, &wrong).await.status, 403, "{path}");
    }
    let domains = app
        .with_db(|c| admin::list_domains(c, Some("acme")))
        .unwrap();
    assert_eq!(domains.len(), 1);
    assert_eq!(status_of(&app, ada), "active");
    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    assert_eq!(t.display_name, "Acme Corp");
    let okta = app
        .with_db(|c| admin::connection_by_slug(c, &t, "okta"))
        .unwrap();
    assert_ne!(okta.attr_email, ["x"]);
    assert!(
        app.with_db(|c| admin::connection_by_slug(c, &t, "evil"))
            .is_err()
    );
    assert!(app.with_db(|c| admin::tenant_by_slug(c, "forged")).is_err());
    assert!(
        app.with_db(|c| admin::connection_by_slug(c, &t, "okta"))
            .is_ok()
    );
    assert!(
        app.with_db(|c| ssogate::service::admin::scim_tokens::list(c, &t))
            .unwrap()
            .is_empty()
    );
    // The session survived the forged sign-out.
    console.get("/admin/t/acme").await.ok();
}

#[tokio::test]
async fn a_tenant_admin_signs_in_through_sso_and_sees_only_their_tenant() {
    let (app, idp) = setup().await;
    app.with_db(|c| {
        access::grant(
            c,
            "acme",
            "boss@acme.test",
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    // The console's sign-in: email → the tenant's SSO → back to /admin/sso.
    let client = browser();
    // Without the form's token (another site's form) nothing starts.
    let forged = client
        .post(app.url("/admin/login"))
        .form(&[("email", "boss@acme.test"), ("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("location").is_none());
    let start = app.admin_login(&client, "boss@acme.test").await;
    assert_eq!(start.status(), 303);
    let idp_location = start.headers()["location"].to_str().unwrap().to_owned();
    let acs = app
        .sign_in(&idp)
        .on(&client)
        .answering(&idp_location)
        .name_id("boss-1")
        .email("boss@acme.test")
        .send()
        .await;
    assert_eq!(acs.status(), 303, "{}", app.last_reason("acme"));
    let handoff = acs.headers()["location"].to_str().unwrap().to_owned();
    assert!(handoff.ends_with("/admin/sso"), "{handoff}");
    let opened = client.get(app.url("/admin/sso")).send().await.unwrap();
    assert_eq!(opened.status(), 303);
    assert_eq!(opened.headers()["location"], "/admin/t/acme");
    let console = Console::with(&app, client).await;

    let home = console.get("/admin").await;
    home.redirects_to("/admin/t/acme");
    let settings = console.get("/admin/t/acme").await;
    settings.ok();
    settings.has("boss@acme.test");
    // The IWMS feed is the operator's: shown, not editable.
    assert!(!settings.body.contains("name=\"iwms_endpoint\""));
    settings.has("Only a super-admin can change where IWMS events are sent");

    for path in [
        "/admin/t/globex",
        "/admin/t/globex/domains",
        "/admin/t/globex/connections",
        "/admin/t/globex/users",
        "/admin/t/globex/sign-ins",
        "/admin/t/globex/scim-tokens",
        "/admin/t/globex/outbox",
        "/admin/t/nobody",
    ] {
        assert_eq!(console.get(path).await.status, 404, "{path}");
    }
    let forged = console
        .post("/admin/t/globex/domains", &[("domain", "evil.test")])
        .await;
    assert_eq!(forged.status, 404);
    // Creating tenants is the super-admin's: no form, and the endpoint refuses.
    assert!(
        !console
            .get("/admin/t/acme")
            .await
            .body
            .contains("/admin/tenants")
    );
    let created = console.post("/admin/tenants", &[("slug", "initech")]).await;
    assert_eq!(created.status, 403);
    created.has("Only a super-admin can create tenants.");
    assert!(
        app.with_db(|c| admin::tenant_by_slug(c, "initech"))
            .is_err()
    );
    assert_eq!(
        app.with_db(|c| admin::list_domains(c, Some("globex")))
            .unwrap()
            .len(),
        1
    );
    // Server-side too: the feed's fields are refused from a tenant admin.
    let iwms = console
        .post(
            "/admin/t/acme",
            &[
                ("display_name", "Acme Corp"),
                ("auto_create_users", "on"),
                ("stale_after_days", "90"),
                ("iwms_endpoint", "https://evil.example/hook"),
            ],
        )
        .await;
    assert_eq!(iwms.status, 403);
    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    assert_eq!(t.iwms.endpoint, None);
    // Their own settings they can change, the feed's choice of events included (as in
    // the API).
    console
        .post(
            "/admin/t/acme",
            &[
                ("display_name", "Acme Corporation"),
                ("auto_create_users", "on"),
                ("stale_after_days", "30"),
                ("iwms_events", "user.created, user.deactivated"),
            ],
        )
        .await
        .redirects_to("/admin/t/acme?done=saved");
    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    assert_eq!(
        (t.display_name.as_str(), t.stale_after_days),
        ("Acme Corporation", 30)
    );
    assert_eq!(t.iwms.events.len(), 2, "{:?}", t.iwms.events);
    assert!(!t.iwms.auto_create);
}

#[tokio::test]
async fn settings_save_and_refuse_bad_values_next_to_the_form() {
    let (app, _) = setup().await;
    let console = Console::super_admin(&app).await;
    let saved = console
        .post(
            "/admin/t/acme",
            &[
                ("display_name", "Acme Inc"),
                ("iwms_attribute", "employeeNumber"),
                ("scim_iwms_attribute", "externalId"),
                ("stale_after_days", "45"),
                (
                    "allowed_return_origins",
                    "https://app.acme.test\r\nhttps://wiki.acme.test\r\n",
                ),
                ("iwms_endpoint", ""),
                ("iwms_secret", ""),
                ("iwms_events", ""),
            ],
        )
        .await;
    saved.redirects_to("/admin/t/acme?done=saved");
    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    assert_eq!(t.display_name, "Acme Inc");
    assert!(!t.auto_create_users, "an unticked box is off");
    assert_eq!(t.iwms_attribute.as_deref(), Some("employeeNumber"));
    assert_eq!(t.stale_after_days, 45);
    assert_eq!(t.allowed_return_origins.len(), 2);
    let shown = console.get("/admin/t/acme?done=saved").await;
    shown.ok();
    shown
        .has("Settings saved.")
        .has("value=\"employeeNumber\"")
        .has("https://app.acme.test\nhttps://wiki.acme.test");

    for (field, value, message) in [
        ("stale_after_days", "soon", "enter a whole number of days"),
        ("stale_after_days", "0", "between 1 and 3650"),
        ("display_name", "   ", "display name must be"),
        (
            "allowed_return_origins",
            "not a url",
            "Allowed return_to origins",
        ),
        (
            "scim_iwms_attribute",
            "password",
            "cannot carry the IWMS ID",
        ),
        ("iwms_endpoint", "http://iwms.example.com/", "https"),
        ("iwms_join_key", "phone", "not an IWMS join key"),
    ] {
        let mut form = vec![("display_name", "Acme Inc"), ("stale_after_days", "45")];
        form.retain(|(k, _)| *k != field);
        form.push((field, value));
        let refused = console.post("/admin/t/acme", &form).await;
        assert_eq!(refused.status, 400, "{field}={value}: {}", refused.body);
        refused
            .has(message)
            .has("aria-invalid=\"true\"")
            .has("role=\"alert\"");
    }
    console
        .post(
            "/admin/t/acme",
            &[("display_name", "Acme Inc"), ("stale_after_days", "soon")],
        )
        .await
        .has("value=\"soon\"");
    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    assert_eq!(t.stale_after_days, 45, "nothing refused was saved");

    // The IWMS join key is a choice of the form; `none` clears it.
    console
        .post(
            "/admin/t/acme",
            &[
                ("display_name", "Acme Inc"),
                ("stale_after_days", "45"),
                ("iwms_join_key", "employee_number"),
            ],
        )
        .await
        .redirects_to("/admin/t/acme?done=saved");
    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    assert_eq!(
        t.iwms.join_key,
        Some(ssogate::domain::iwms::JoinKey::EmployeeNumber)
    );
    console
        .get("/admin/t/acme")
        .await
        .has("<option value=\"employee_number\" selected>");
    console
        .post(
            "/admin/t/acme",
            &[
                ("display_name", "Acme Inc"),
                ("stale_after_days", "45"),
                ("iwms_join_key", "none"),
            ],
        )
        .await
        .redirects_to("/admin/t/acme?done=saved");
    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    assert_eq!(t.iwms.join_key, None);

    // Auto-create without a whitelisted domain: everyone the IdP signs in gets an account.
    console
        .post("/admin/t/acme/domains/remove", &[("domain", "acme.test")])
        .await
        .redirects_to("/admin/t/acme/domains?done=domain-removed");
    console
        .post(
            "/admin/t/acme",
            &[
                ("display_name", "Acme Inc"),
                ("auto_create_users", "on"),
                ("stale_after_days", "45"),
            ],
        )
        .await
        .redirects_to("/admin/t/acme");
    console
        .get("/admin/t/acme")
        .await
        .has("Anyone can get an account")
        .ok();
    console
        .get("/admin/t/acme/domains")
        .await
        .has("Anyone can get an account")
        .ok();
}

#[tokio::test]
async fn domains_are_added_removed_and_another_tenants_are_refused() {
    let (app, _) = setup().await;
    let console = Console::super_admin(&app).await;
    console
        .post("/admin/t/acme/domains", &[("domain", "Acme-Labs.test")])
        .await
        .redirects_to("/admin/t/acme/domains?done=domain-added");
    console
        .get("/admin/t/acme/domains?done=domain-added")
        .await
        .has("acme-labs.test")
        .has("Domain added.")
        .ok();

    let taken = console
        .post("/admin/t/acme/domains", &[("domain", "globex.test")])
        .await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    taken
        .has("globex.test already belongs to another tenant")
        .has("value=\"globex.test\"");
    let again = console
        .post("/admin/t/acme/domains", &[("domain", "acme.test")])
        .await;
    assert_eq!(again.status, 409);
    again.has("already whitelisted for this tenant");
    let bad = console
        .post("/admin/t/acme/domains", &[("domain", "not a domain")])
        .await;
    assert_eq!(bad.status, 400);
    bad.has("Domain:").has("aria-invalid=\"true\"");
    let domains: Vec<_> = app
        .with_db(|c| admin::list_domains(c, Some("acme")))
        .unwrap()
        .into_iter()
        .map(|d| d.domain)
        .collect();
    assert_eq!(domains, ["acme-labs.test", "acme.test"]);

    console
        .post(
            "/admin/t/acme/domains/remove",
            &[("domain", "acme-labs.test")],
        )
        .await
        .redirects_to("/admin/t/acme/domains?done=domain-removed");
    let gone = console
        .post(
            "/admin/t/acme/domains/remove",
            &[("domain", "acme-labs.test")],
        )
        .await;
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn a_saml_connection_from_pasted_metadata_shows_what_was_read() {
    let (app, _) = setup().await;
    let console = Console::super_admin(&app).await;
    let entra = TestIdp::new("https://sts.windows.test/tenant-1/");
    // Pasted metadata may be far larger than the 16 KiB other forms are held to.
    let xml = idp_metadata(&entra, "https://login.entra.test/saml2").replace(
        "<md:IDPSSODescriptor",
        &format!("{}<md:IDPSSODescriptor", " ".repeat(64 * 1024)),
    );
    let added = console
        .post(
            "/admin/t/acme/connections/saml",
            &[
                ("slug", "entra"),
                ("display_name", "Microsoft Entra ID"),
                ("metadata_url", ""),
                ("metadata_xml", &xml),
            ],
        )
        .await;
    added.redirects_to("/admin/t/acme/connections/entra?done=connection-added");
    let shown = console.get("/admin/t/acme/connections/entra").await;
    shown.ok();
    let expires = (time::OffsetDateTime::now_utc() + time::Duration::days(30))
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap();
    shown
        .has("Microsoft Entra ID")
        .has("https://sts.windows.test/tenant-1/")
        .has("https://login.entra.test/saml2")
        .has("CN=https://sts.windows.test/tenant-1/")
        .has(&expires)
        .has("expires soon")
        .has(&app.acs_url("acme", "entra"))
        .has(&app.sp_entity_id("acme", "entra"))
        .has("data-copy=\"#sp-metadata-url\"")
        .has("action=\"/admin/t/acme/connections/entra/test\"");
    assert_eq!(
        code_by_id(&shown.body, "acs-url"),
        app.acs_url("acme", "entra")
    );
    // The SP metadata URL shown is live.
    let sp = reqwest::get(code_by_id(&shown.body, "sp-metadata-url"))
        .await
        .unwrap();
    assert_eq!(sp.status(), 200);

    // A connection may be called `saml` (or `oidc`), like the paths its forms post to.
    for slug in ["saml", "oidc"] {
        let idp = TestIdp::new(&format!("https://{slug}.idp.test/"));
        let xml = idp_metadata(&idp, &format!("https://{slug}.idp.test/sso"));
        console
            .post(
                "/admin/t/acme/connections/saml",
                &[("slug", slug), ("metadata_xml", &xml)],
            )
            .await
            .redirects_to(&format!(
                "/admin/t/acme/connections/{slug}?done=connection-added"
            ));
        let page = console
            .get(&format!("/admin/t/acme/connections/{slug}"))
            .await;
        page.ok();
        page.has(&format!("https://{slug}.idp.test/sso"));
    }

    // Refusals, next to the form, with what was typed kept.
    for (fields, status, message) in [
        (
            vec![("slug", "x1"), ("metadata_xml", "<nope")],
            400,
            "Metadata XML: metadata is not acceptable XML",
        ),
        (
            vec![("slug", "x2")],
            400,
            "metadata URL, or paste its metadata XML",
        ),
        (
            vec![("slug", "x3"), ("metadata_url", "http://10.0.0.7/metadata")],
            400,
            "must be https",
        ),
        (
            vec![("slug", "Bad Slug"), ("metadata_xml", &xml)],
            400,
            "Connection slug:",
        ),
        (
            vec![("slug", "entra"), ("metadata_xml", &xml)],
            409,
            "entra",
        ),
    ] {
        let refused = console
            .post("/admin/t/acme/connections/saml", &fields)
            .await;
        assert_eq!(refused.status, status, "{fields:?}: {}", refused.body);
        refused.has(message);
    }
    let no_cert = xml.replace(&entra.cert_b64(), "");
    console
        .post(
            "/admin/t/acme/connections/saml",
            &[("slug", "x4"), ("metadata_xml", &no_cert)],
        )
        .await
        .has("Metadata XML:");

    // OpenID Connect: discovery fails on an internal address, next to the form.
    let oidc = console
        .post(
            "/admin/t/acme/connections/oidc",
            &[
                ("slug", "google"),
                ("issuer", "https://10.1.2.3"),
                ("client_id", "abc"),
                ("client_secret", "shh-secret"),
            ],
        )
        .await;
    assert_eq!(oidc.status, 400, "{}", oidc.body);
    oidc.has("Issuer:").has("value=\"abc\"");
    assert!(
        !oidc.body.contains("shh-secret"),
        "the secret is not echoed"
    );
}

#[tokio::test]
async fn the_attribute_mapping_and_admin_role_are_edited_on_the_connection_page() {
    let (app, _) = setup().await;
    let console = Console::super_admin(&app).await;
    console
        .post(
            "/admin/t/acme/connections/okta/mapping",
            &[
                ("attr_email", "mail\r\nemail\r\n"),
                ("attr_first_name", "givenName"),
                ("attr_last_name", "sn"),
                ("attr_iwms_id", "employeeNumber"),
                ("admin_role_attribute", "groups"),
                ("admin_role_value", "ssogate-admins"),
            ],
        )
        .await
        .redirects_to("/admin/t/acme/connections/okta?done=mapping-saved");
    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    let c = app
        .with_db(|c| admin::connection_by_slug(c, &t, "okta"))
        .unwrap();
    assert_eq!(c.attr_email, ["mail", "email"]);
    assert_eq!(c.attr_iwms_id.as_deref(), Some("employeeNumber"));
    let role = c.admin_role.expect("admin role");
    assert_eq!(
        (role.attribute.as_str(), role.value.as_str()),
        ("groups", "ssogate-admins")
    );
    console
        .get("/admin/t/acme/connections/okta")
        .await
        .has("mail\nemail</textarea>")
        .has("value=\"ssogate-admins\"")
        .ok();

    let half = console
        .post(
            "/admin/t/acme/connections/okta/mapping",
            &[
                ("attr_email", "mail"),
                ("attr_first_name", "givenName"),
                ("attr_last_name", "sn"),
                ("admin_role_attribute", "roles"),
            ],
        )
        .await;
    assert_eq!(half.status, 400);
    half.has("Admin role value:").has("value=\"roles\"");
    let empty = console
        .post(
            "/admin/t/acme/connections/okta/mapping",
            &[
                ("attr_email", " "),
                ("attr_first_name", "a"),
                ("attr_last_name", "b"),
            ],
        )
        .await;
    assert_eq!(empty.status, 400);
    empty.has("Email attributes:");
    let c = app
        .with_db(|c| admin::connection_by_slug(c, &t, "okta"))
        .unwrap();
    assert_eq!(c.attr_email, ["mail", "email"], "nothing refused was saved");
    assert!(c.admin_role.is_some());

    // Clearing both halves removes the rule.
    console
        .post(
            "/admin/t/acme/connections/okta/mapping",
            &[
                ("attr_email", "mail"),
                ("attr_first_name", "a"),
                ("attr_last_name", "b"),
            ],
        )
        .await
        .redirects_to("/admin/t/acme/connections/okta");
    let c = app
        .with_db(|c| admin::connection_by_slug(c, &t, "okta"))
        .unwrap();
    assert!(c.admin_role.is_none() && c.attr_iwms_id.is_none());
    assert_eq!(
        console.get("/admin/t/acme/connections/nope").await.status,
        404
    );
}

#[tokio::test]
async fn deactivate_and_reactivate_through_the_forms() {
    let (app, idp) = setup().await;
    let ada = app
        .sign_in(&idp)
        .on(&browser())
        .name_id("ada-1")
        .email("ada@acme.test")
        .user_id()
        .await;
    let console = Console::super_admin(&app).await;
    let user = format!("/admin/t/acme/users/{ada}");
    // The page asks before it acts: the deactivate form sits inside a closed confirmation.
    let page = console.get(&user).await;
    page.ok();
    page.has("<details class=\"confirm\" id=\"confirm-deactivate\">")
        .has("Deactivate…</summary>")
        .has(">Yes, deactivate</button>")
        .has("Unlink…</summary>")
        .has(">Yes, unlink</button>");
    assert!(
        !page
            .body
            .contains("<details class=\"confirm\" id=\"confirm-deactivate\" open")
    );

    console
        .post(&format!("{user}/deactivate"), &[])
        .await
        .redirects_to(&format!("{user}?done=deactivated"));
    assert_eq!(status_of(&app, ada), "deactivated");
    let shown = console.get(&format!("{user}?done=deactivated")).await;
    shown.ok();
    shown
        .has("User deactivated")
        .has("id=\"user-status\">deactivated<")
        .has("deactivated by admin super-admin (bootstrap link)")
        .has("Reactivate");
    assert!(!shown.body.contains("Deactivate…<"));
    // Deactivated users cannot sign in; the failure shows on the timeline and in the list.
    let client = browser();
    let start = client
        .get(app.url("/t/acme/login?connection=okta"))
        .send()
        .await
        .unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    app.sign_in(&idp)
        .on(&client)
        .answering(&location)
        .name_id("ada-1")
        .email("ada@acme.test")
        .send()
        .await;
    console
        .get(&user)
        .await
        .has("sign-in failed: user_deactivated (okta)")
        .ok();
    let list = console.get("/admin/t/acme/users?view=deactivated").await;
    list.ok();
    list.has("ada@acme.test")
        .has("badge failure")
        .has("user_deactivated")
        .has("Deactivated <span class=\"count\">1</span>");
    assert!(
        !console
            .get("/admin/t/acme/users")
            .await
            .body
            .contains("ada@acme.test")
    );

    let twice = console.post(&format!("{user}/deactivate"), &[]).await;
    assert_eq!(twice.status, 409);
    twice.has("already deactivated");

    console
        .post(&format!("{user}/reactivate"), &[])
        .await
        .redirects_to(&format!("{user}?done=reactivated"));
    assert_eq!(status_of(&app, ada), "active");
    let back = console.get(&user).await;
    back.ok();
    back.has("reactivated by admin super-admin (bootstrap link)")
        .has("id=\"user-status\">active<");
    // Newest first: the reactivation above the deactivation above the creation.
    let (r, d, c) = (
        back.body.find("reactivated by admin").unwrap(),
        back.body.find("deactivated by admin").unwrap(),
        back.body.find("created by just-in-time").unwrap(),
    );
    assert!(r < d && d < c, "timeline order");

    // Unlink the identity: the user stays, the link goes, the timeline says so.
    let identity = app
        .with_db(|c| {
            let t = admin::tenant_by_slug(c, "acme")?;
            Ok::<_, admin::AdminError>(storage::identities::links_of_user(
                c,
                t.id,
                ssogate::domain::ids::UserId(ada),
            )?)
        })
        .unwrap();
    assert_eq!(identity.len(), 1);
    console
        .post(&format!("{user}/identities/{}/unlink", identity[0].id), &[])
        .await
        .redirects_to(&format!("{user}?done=unlinked"));
    console
        .get(&user)
        .await
        .has("identity on okta (subject ada-1) unlinked by admin")
        .ok();
    assert_eq!(console.get("/admin/t/acme/users/999999").await.status, 404);
    assert_eq!(
        console
            .post("/admin/t/acme/users/999999/deactivate", &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn users_are_searched_and_paged_and_link_to_their_last_sign_in() {
    let (app, idp) = setup().await;
    let scim = app.scim("acme");
    for i in 0..52 {
        let (s, u) = scim
            .post(
                "/Users",
                json!({"schemas": [USER], "userName": format!("user{i:02}@acme.test"),
                       "name": {"givenName": format!("Given{i:02}"), "familyName": "Paged"}}),
            )
            .await;
        assert_eq!(s, 201, "{u}");
    }
    let ada = app
        .sign_in(&idp)
        .on(&browser())
        .name_id("ada-1")
        .email("ada@acme.test")
        .user_id()
        .await;
    let console = Console::super_admin(&app).await;

    let first = console.get("/admin/t/acme/users").await;
    first.ok();
    first
        .has("Active <span class=\"count\">53</span>")
        .has("ada@acme.test");
    assert_eq!(user_links(&first.body), 50);
    let next = first
        .body
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("after="))
        .expect("a Next page link")
        .replace("&#38;", "&");
    let second = console.get(&next).await;
    second.ok();
    second.has("First page");
    assert_eq!(user_links(&second.body), 3);
    assert!(!second.body.contains("ada@acme.test"));
    assert!(!second.body.contains("after="), "no Next page on the last");

    let found = console.get("/admin/t/acme/users?q=user07").await;
    found.ok();
    found.has("user07@acme.test").has("value=\"user07\"");
    assert_eq!(user_links(&found.body), 1);
    let by_name = console.get("/admin/t/acme/users?q=given1").await;
    assert_eq!(user_links(&by_name.body), 10);
    console
        .get("/admin/t/acme/users?q=nobody")
        .await
        .has("No user matches")
        .ok();
    let long = "x".repeat(201);
    let refused = console.get(&format!("/admin/t/acme/users?q={long}")).await;
    assert_eq!(refused.status, 400);
    refused.has("Search:");
    assert_eq!(
        console.get("/admin/t/acme/users?q=a%00b").await.status,
        400,
        "NUL never reaches the database (PostgreSQL would fail with it)"
    );
    assert_eq!(
        console.get("/admin/t/acme/users?view=bogus").await.status,
        400
    );
    assert_eq!(
        console.get("/admin/t/acme/users?after=zz").await.status,
        400
    );

    // The last sign-in badge links to that attempt in the history, marked.
    let attempt = app.sign_ins("acme")[0].id;
    let href = format!(
        "/admin/t/acme/sign-ins?before={}&#38;highlight={attempt}#attempt-{attempt}",
        attempt + 1
    );
    first.has(&href);
    let history = console.get(&href.replace("&#38;", "&")).await;
    history.ok();
    history
        .has(&format!("id=\"attempt-{attempt}\" class=\"highlight\""))
        .has(&format!("/admin/t/acme/users/{ada}"));
}

#[tokio::test]
async fn the_sign_in_history_filters_by_outcome_reason_and_connection() {
    let (app, idp) = setup().await;
    let ada = app
        .sign_in(&idp)
        .on(&browser())
        .name_id("ada-1")
        .email("ada@acme.test")
        .user_id()
        .await;
    // A refused sign-in: a domain no tenant whitelisted.
    let client = browser();
    let start = client
        .get(app.url("/t/acme/login?connection=okta"))
        .send()
        .await
        .unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    app.sign_in(&idp)
        .on(&client)
        .answering(&location)
        .name_id("eve-1")
        .email("eve@elsewhere.test")
        .send()
        .await;
    assert_eq!(app.last_reason("acme"), "email_domain_not_allowed");
    let console = Console::super_admin(&app).await;

    let all = console.get("/admin/t/acme/sign-ins").await;
    all.ok();
    all.has("eve@elsewhere.test").has("ada@acme.test");
    let failed = console.get("/admin/t/acme/sign-ins?outcome=failure").await;
    failed.ok();
    failed
        .has("eve@elsewhere.test")
        .has("email_domain_not_allowed");
    assert!(!failed.body.contains("ada@acme.test"));
    let by_reason = console
        .get("/admin/t/acme/sign-ins?reason=success&connection=okta")
        .await;
    by_reason.ok();
    by_reason
        .has("ada@acme.test")
        .has("<option value=\"success\" selected>");
    assert!(!by_reason.body.contains("eve@elsewhere.test"));
    let of_user = console
        .get(&format!("/admin/t/acme/sign-ins?user={ada}"))
        .await;
    of_user.ok();
    of_user.has("Only the sign-ins of");
    assert!(!of_user.body.contains("eve@elsewhere.test"));

    for bad in [
        "outcome=maybe",
        "reason=not_a_reason",
        "connection=nope",
        "before=x",
        "user=x",
    ] {
        let r = console.get(&format!("/admin/t/acme/sign-ins?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        r.has("role=\"alert\"");
    }
}

#[tokio::test]
async fn a_scim_token_created_in_the_console_works_and_is_shown_once() {
    let (app, _) = setup().await;
    let console = Console::super_admin(&app).await;
    let created = console
        .post(
            "/admin/t/acme/scim-tokens",
            &[("label", "Okta provisioning")],
        )
        .await;
    created.ok();
    created
        .has("shown only on this page")
        .has(&app.url("/t/acme/scim/v2"));
    let token = code_by_id(&created.body, "scim-token");
    assert!(token.starts_with("scim_"), "{token}");
    assert_eq!(
        code_by_id(&created.body, "scim-base-url"),
        app.url("/t/acme/scim/v2")
    );

    let users = app
        .client
        .get(app.url("/t/acme/scim/v2/Users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200);

    let list = console.get("/admin/t/acme/scim-tokens").await;
    list.ok();
    list.has("Okta provisioning").has("badge success");
    assert!(
        !list.body.contains(&token),
        "the token is never shown again"
    );
    assert!(!list.body.contains("never"), "its use is recorded");

    let refused = console
        .post("/admin/t/acme/scim-tokens", &[("label", " ")])
        .await;
    assert_eq!(refused.status, 400);
    refused.has("Label:");

    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    let id = app
        .with_db(|c| ssogate::service::admin::scim_tokens::list(c, &t))
        .unwrap()[0]
        .id;
    console
        .post(&format!("/admin/t/acme/scim-tokens/{id}/revoke"), &[])
        .await
        .redirects_to("/admin/t/acme/scim-tokens?done=token-revoked");
    let after = app
        .client
        .get(app.url("/t/acme/scim/v2/Users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    console
        .get("/admin/t/acme/scim-tokens")
        .await
        .has("revoked")
        .ok();
    let twice = console
        .post(&format!("/admin/t/acme/scim-tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(twice.status, 404);
}

#[tokio::test]
async fn dead_iwms_events_are_retried_from_the_outbox_page() {
    let (app, idp) = setup().await;
    let ada = app
        .sign_in(&idp)
        .on(&browser())
        .name_id("ada-1")
        .email("ada@acme.test")
        .user_id()
        .await;
    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    // An event that ran out of attempts.
    let id = app.dead_outbox_event("acme", ada, "HTTP 500 from the IWMS");
    let console = Console::super_admin(&app).await;
    let shown = console.get("/admin/t/acme/outbox").await;
    shown.ok();
    shown.has("HTTP 500 from the IWMS").has("Retry");
    console
        .post(&format!("/admin/t/acme/outbox/{id}/retry"), &[])
        .await
        .redirects_to("/admin/t/acme/outbox?done=retried");
    let rows = app.with_db(|c| storage::outbox::list(c, Some(t.id), Some("dead"), 10).unwrap());
    assert!(rows.is_empty());
    assert_eq!(
        console
            .post(&format!("/admin/t/acme/outbox/{id}/retry"), &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn an_openid_provider_is_added_by_its_issuer() {
    // The OP runs on loopback over http, as in development.
    let app = crate::helpers::spawn_app_with(|s| s.oidc.allow_http_loopback = true).await;
    app.create_tenant("acme", TenantInput::default());
    let op = crate::oidc_flow::NodeOp::start(&app.url("/t/acme/oidc/google/callback"), &[]);
    let console = Console::super_admin(&app).await;
    console
        .post(
            "/admin/t/acme/connections/oidc",
            &[
                ("slug", "google"),
                ("display_name", "Google Workspace"),
                ("issuer", &op.issuer),
                ("client_id", "ssogate"),
                ("client_secret", "op-secret+/%="),
            ],
        )
        .await
        .redirects_to("/admin/t/acme/connections/google?done=connection-added");
    let shown = console.get("/admin/t/acme/connections/google").await;
    shown.ok();
    shown
        .has("Google Workspace")
        .has("OpenID Connect")
        .has(&op.issuer)
        .has("data-copy=\"#redirect-uri\"")
        .has("action=\"/admin/t/acme/connections/google/test\"");
    assert_eq!(
        code_by_id(&shown.body, "redirect-uri"),
        app.url("/t/acme/oidc/google/callback")
    );
    assert!(
        !shown.body.contains("op-secret"),
        "the secret is never shown"
    );
    // The mapping form works for OpenID connections too.
    console
        .post(
            "/admin/t/acme/connections/google/mapping",
            &[
                ("attr_email", "email"),
                ("attr_first_name", "given_name"),
                ("attr_last_name", "family_name"),
                ("attr_iwms_id", "employee_number"),
            ],
        )
        .await
        .redirects_to("/admin/t/acme/connections/google?done=mapping-saved");
    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    let c = app
        .with_db(|c| admin::connection_by_slug(c, &t, "google"))
        .unwrap();
    assert_eq!(c.attr_iwms_id.as_deref(), Some("employee_number"));
}

#[tokio::test]
async fn a_super_admin_creates_a_tenant_from_the_console() {
    let (app, _) = setup().await;
    let console = Console::super_admin(&app).await;
    let list = console.get("/admin").await;
    list.ok();
    list.has("<form method=\"post\" action=\"/admin/tenants\"")
        .has("Create tenant");

    // Refusals keep what was typed and say which field is wrong.
    let bad = console
        .post(
            "/admin/tenants",
            &[("slug", "Not A Slug"), ("display_name", "Initech")],
        )
        .await;
    assert_eq!(bad.status, 400);
    bad.has("Tenant slug:")
        .has("value=\"Not A Slug\"")
        .has("value=\"Initech\"")
        .has("aria-invalid=\"true\"");
    let taken = console
        .post(
            "/admin/tenants",
            &[("slug", "acme"), ("display_name", "Again")],
        )
        .await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    taken.has("acme");
    let t = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
    assert_eq!(
        t.display_name, "Acme Corp",
        "the existing tenant is untouched"
    );

    let created = console
        .post(
            "/admin/tenants",
            &[("slug", "initech"), ("display_name", " Initech ")],
        )
        .await;
    created.redirects_to("/admin/t/initech?done=tenant-created");
    let t = app
        .with_db(|c| admin::tenant_by_slug(c, "initech"))
        .unwrap();
    assert_eq!(t.display_name, "Initech");
    assert!(!t.auto_create_users, "strict by default");
    let settings = console.get("/admin/t/initech?done=tenant-created").await;
    settings.ok();
    settings.has("Tenant created.");
    console.get("/admin").await.has("/admin/t/initech");
}

#[tokio::test]
async fn a_connection_is_removed_after_a_confirmation_and_its_history_stays() {
    let (app, idp) = setup().await;
    let ada = app
        .sign_in(&idp)
        .on(&browser())
        .name_id("ada-1")
        .email("ada@acme.test")
        .user_id()
        .await;
    let console = Console::super_admin(&app).await;
    let page = console.get("/admin/t/acme/connections/okta").await;
    page.ok();
    page.has("Remove connection…</summary>")
        .has("action=\"/admin/t/acme/connections/okta/remove\"")
        .has(">Yes, remove</button>");

    // Another tenant's admin cannot reach it.
    let other = console
        .post("/admin/t/globex/connections/okta/remove", &[])
        .await;
    assert_eq!(other.status, 404);

    console
        .post("/admin/t/acme/connections/okta/remove", &[])
        .await
        .redirects_to("/admin/t/acme/connections?done=connection-removed");
    let list = console
        .get("/admin/t/acme/connections?done=connection-removed")
        .await;
    list.ok();
    list.has("Connection removed.");
    assert!(
        !list.body.contains("/admin/t/acme/connections/okta\""),
        "{}",
        list.body
    );
    assert_eq!(
        console.get("/admin/t/acme/connections/okta").await.status,
        404
    );
    let again = console
        .post("/admin/t/acme/connections/okta/remove", &[])
        .await;
    assert_eq!(again.status, 404, "already removed");

    // Sign-ins through it stop; the user and their history stay.
    let start = browser()
        .get(app.url("/t/acme/login?connection=okta"))
        .send()
        .await
        .unwrap();
    assert!(start.status().is_client_error(), "{}", start.status());
    assert_eq!(status_of(&app, ada), "active");
    console
        .get(&format!("/admin/t/acme/users/{ada}"))
        .await
        .has("signed in (okta)")
        .ok();
    // Its sign-ins stay in the history, and the history's filter still offers it.
    let history = console.get("/admin/t/acme/sign-ins?connection=okta").await;
    history.ok();
    history.has(">okta (removed)</option>").has("ada@acme.test");
}

/// Starts a test sign-in of `connection` in the console's browser; its answer as `idp` would
/// give it for Ada (NameID `ada-1`) with last name `last`, to post from any browser (`on`).
async fn test_answer<'a>(
    console: &Console<'a>,
    idp: &'a TestIdp,
    connection: &'a str,
    last: &str,
) -> SignIn<'a> {
    let path = format!("/admin/t/acme/connections/{connection}/test");
    let start = console.post(&path, &[]).await;
    assert_eq!(start.status, 303);
    console
        .app
        .sign_in(idp)
        .at("acme", connection)
        .answering(&start.location.unwrap())
        .name_id("ada-1")
        .email("ada@acme.test")
        .attr("lastName", last)
}

#[tokio::test]
async fn a_test_sign_in_reports_what_arrived_and_provisions_nothing() {
    let (app, idp) = setup().await;
    let console = Console::super_admin(&app).await;
    console
        .get("/admin/t/acme/connections/okta")
        .await
        .has("action=\"/admin/t/acme/connections/okta/test\"")
        .ok();
    let forged = console
        .post_raw("/admin/t/acme/connections/okta/test", &[("csrf", "forged")])
        .await;
    assert_eq!(
        forged.status, 403,
        "no test without the session's CSRF token"
    );
    let other = console
        .post("/admin/t/globex/connections/okta/test", &[])
        .await;
    assert_eq!(other.status, 404);

    let start = console
        .post("/admin/t/acme/connections/okta/test", &[])
        .await;
    assert_eq!(start.status, 303);
    let idp_location = start.location.unwrap();
    let res = app
        .sign_in(&idp)
        .on(&console.client)
        .answering(&idp_location)
        .name_id("ada-1")
        .email("ada@acme.test")
        .send()
        .await;
    assert!(
        res.cookies().all(|c| c.name() != "ssogate_session"),
        "no session"
    );
    let report = page(res).await;
    report.ok();
    report
        .has("Would create a new user, ada@acme.test.")
        .has("<code>ada-1</code>")
        .has("<code>email</code>")
        .has("Nothing was created or changed");
    assert!(app.users("acme").is_empty(), "nothing was created");
    assert!(app.sign_ins("acme").is_empty(), "a test is no sign-in");

    // Once Ada exists, the report names her user and what the IdP would change.
    let ada = app
        .sign_in(&idp)
        .on(&browser())
        .name_id("ada-1")
        .email("ada@acme.test")
        .user_id()
        .await;
    // Another browser cannot use the test's request.
    let stolen = test_answer(&console, &idp, "okta", "King")
        .await
        .on(&browser())
        .send()
        .await;
    assert_eq!(stolen.status(), 403);
    assert_eq!(app.last_reason("acme"), "browser_mismatch");
    let answer = test_answer(&console, &idp, "okta", "King").await;
    let report = page(answer.on(&console.client).send().await).await;
    report.ok();
    report.has(&format!(
        "Would sign in user {ada} (matched by link); last name: Lovelace → King."
    ));
    let users = app.users("acme");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].last_name.as_deref(), Some("Lovelace"), "unchanged");
}

/// A user's page shows every attribute, those SCIM sent without a column of their own too.
#[tokio::test]
async fn a_users_page_shows_everything_scim_sent() {
    let (app, _) = setup().await;
    let (s, u) = app
        .scim("acme")
        .post(
            "/Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                   "userName": "grace@acme.test",
                   "emails": [{"value": "grace@acme.test", "type": "work", "primary": true}],
                   "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}]}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let console = Console::super_admin(&app).await;
    let id = u["id"].as_str().unwrap();
    console
        .get(&format!("/admin/t/acme/users/{id}"))
        .await
        .has("Everything SCIM sent")
        .has("<code>phoneNumbers[0].value</code></dt><dd>+1 555 0100</dd>")
        .ok();
}

/// "Add a user": the form creates the user (created by admin) and opens their page; a bad
/// value comes back next to the form with what was typed.
#[tokio::test]
async fn an_admin_adds_a_user_from_the_users_page() {
    let (app, _) = setup().await;
    let console = Console::super_admin(&app).await;
    console
        .get("/admin/t/acme/users")
        .await
        .has("href=\"/admin/t/acme/users/new\"")
        .ok();
    console
        .get("/admin/t/acme/users/new")
        .await
        .has("Add a user")
        .ok();
    let bad = console
        .post(
            "/admin/t/acme/users",
            &[("email", "eve@elsewhere.test"), ("first_name", "Eve")],
        )
        .await;
    assert_eq!(bad.status, 400);
    bad.has("Email: elsewhere.test is not a whitelisted domain")
        .has("value=\"Eve\"");
    let forged = console
        .post_raw(
            "/admin/t/acme/users",
            &[("csrf", "x"), ("email", "ann@acme.test")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(app.users("acme").is_empty());

    let done = console
        .post(
            "/admin/t/acme/users",
            &[
                ("email", "ann@acme.test"),
                ("first_name", "Ann"),
                ("iwms_id", "IW-1"),
            ],
        )
        .await;
    let id = user_id(&app, "ann@acme.test");
    done.redirects_to(&format!("/admin/t/acme/users/{id}?done=user-created"));
    console
        .get(&format!("/admin/t/acme/users/{id}?done=user-created"))
        .await
        .has("User added.")
        .has("created by admin super-admin (bootstrap link)")
        .ok();
}

/// A test sign-in's report names users, so its response must come back to the admin's own
/// browser even on a connection that accepts unbound responses.
#[tokio::test]
async fn a_test_sign_in_needs_the_admins_browser_even_where_responses_may_be_unbound() {
    let (app, _) = setup().await;
    let idp = TestIdp::new("http://dev-idp.test/metadata");
    let mut input = default_saml_input("dev", &idp);
    input.allow_unbound_responses = true;
    app.add_connection("acme", input);
    let console = Console::super_admin(&app).await;
    let res = test_answer(&console, &idp, "dev", "Lovelace")
        .await
        .on(&browser())
        .send()
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.last_reason("acme"), "browser_mismatch");
}
