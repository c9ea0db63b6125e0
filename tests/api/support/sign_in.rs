//! The SAML sign-in through the fixture IdP, and the tenant most tests sign in to.
use ssogate::service::admin::TenantInput;

use crate::helpers::{TestApp, default_saml_input, parse_authn_redirect};
use crate::saml_fixtures::{Resp, TestIdp};

/// Tenant `acme`: users created on sign-in (unless `input` says otherwise), acme.test
/// whitelisted, SAML connection `okta` to a fixture IdP; `input` sets the rest.
pub fn acme(app: &TestApp, input: TenantInput) -> TestIdp {
    app.create_tenant(
        "acme",
        TenantInput {
            auto_create_users: input.auto_create_users.or(Some(true)),
            ..input
        },
    );
    app.add_domain("acme", "acme.test");
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    app.add_connection("acme", default_saml_input("okta", &idp));
    idp
}

type Edit<'a> = Box<dyn FnOnce(&mut Resp) + 'a>;

/// A SAML sign-in at `acme`/`okta` (unless `at` says otherwise): started at the app, answered
/// by a valid signed response of the fixture IdP (NameID `subject-ada`, ada@acme.test, Ada
/// Lovelace, unless changed), posted to the ACS. Runs on the app's client unless `on` gives
/// another browser.
#[must_use]
pub struct SignIn<'a> {
    app: &'a TestApp,
    idp: &'a TestIdp,
    tenant: &'a str,
    conn: &'a str,
    client: Option<&'a reqwest::Client>,
    /// The IdP redirect to answer (a start made elsewhere); None: start one here.
    answering: Option<String>,
    email: String,
    edits: Vec<Edit<'a>>,
}

impl TestApp {
    pub fn sign_in<'a>(&'a self, idp: &'a TestIdp) -> SignIn<'a> {
        SignIn {
            app: self,
            idp,
            tenant: "acme",
            conn: "okta",
            client: None,
            answering: None,
            email: "ada@acme.test".into(),
            edits: Vec::new(),
        }
    }
}

impl<'a> SignIn<'a> {
    pub fn at(mut self, tenant: &'a str, conn: &'a str) -> Self {
        (self.tenant, self.conn) = (tenant, conn);
        self
    }

    /// In another browser than the app's client.
    pub fn on(mut self, client: &'a reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Answers the AuthnRequest of this IdP redirect (`Location`) instead of starting one.
    pub fn answering(mut self, idp_location: &str) -> Self {
        self.answering = Some(idp_location.to_owned());
        self
    }

    pub fn name_id(self, name_id: &str) -> Self {
        let name_id = name_id.to_owned();
        self.edit(move |r| r.name_id = name_id)
    }

    pub fn email(mut self, email: &str) -> Self {
        self.email = email.to_owned();
        self.attr("email", email)
    }

    pub fn first_name(self, first: &str) -> Self {
        self.attr("firstName", first)
    }

    /// An attribute with this one value (in place of the fixture's).
    pub fn attr(self, name: &str, value: &str) -> Self {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.edit(move |r| *r = r.clone().attr(&name, &value))
    }

    /// Any other change to the response before it is signed.
    pub fn edit(mut self, f: impl FnOnce(&mut Resp) + 'a) -> Self {
        self.edits.push(Box::new(f));
        self
    }

    /// The ACS's answer.
    pub async fn send(self) -> reqwest::Response {
        let (app, client) = (self.app, self.client.unwrap_or(&self.app.client));
        let (req, rs) = match &self.answering {
            Some(location) => parse_authn_redirect(location),
            None => {
                app.start_login_on(client, self.tenant, self.conn, None)
                    .await
            }
        };
        let mut r = Resp::valid(app, self.tenant, self.conn, self.idp, Some(&req));
        for edit in self.edits {
            edit(&mut r);
        }
        app.post_acs_on(
            client,
            self.tenant,
            self.conn,
            &r.signed(self.idp),
            Some(&rs),
        )
        .await
    }

    /// The ACS's status.
    pub async fn status(self) -> u16 {
        self.send().await.status().as_u16()
    }

    /// Asserts the sign-in succeeded (else says why it failed) and returns the id of the
    /// tenant's user with the asserted email.
    pub async fn user_id(self) -> i64 {
        let (app, tenant, email) = (self.app, self.tenant, self.email.clone());
        let res = self.send().await;
        assert_eq!(res.status(), 303, "{}", app.last_reason(tenant));
        app.users(tenant)
            .into_iter()
            .find(|u| u.email == email)
            .unwrap_or_else(|| panic!("no user {email}"))
            .id
    }
}
