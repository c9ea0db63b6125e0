use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::{Connection, PgConnection, RunQueryDsl};
use ssogate::clock::{Clock, SystemClock};
use ssogate::config::{Secret, Settings};
use ssogate::domain::claims::{DEFAULT_EMAIL, DEFAULT_FIRST_NAME, DEFAULT_LAST_NAME, default_list};
use ssogate::service::admin::{self, NewSaml, TenantInput};
use ssogate::startup::Application;
use ssogate::storage::login_attempts::Attempt;
use ssogate::storage::refusal_counts::Counted;
use ssogate::storage::{self, DbConnection, DbPool};

pub use crate::support::clock::TestClock;

pub const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432";

pub struct TestApp {
    pub address: String,
    /// `http://127.0.0.1:port` of the metrics listener, when the test turned it on
    /// (`metrics.bind`; test_settings leaves it off).
    pub metrics_address: Option<String>,
    /// The app's time: tests move it (`advance`) instead of sleeping.
    pub clock: Arc<TestClock>,
    pub pool: DbPool,
    pub db_url: String,
    pub client: reqwest::Client,
    /// Stops this app's server ([`TestApp::stop`]).
    server: actix_web::dev::ServerHandle,
    /// Per tenant: the history as `last_reason` last saw it, and what it answered.
    seen: Mutex<HashMap<String, (HistoryMark, Option<String>)>>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

/// Drops a test's PostgreSQL database when the test ends (SQLite files go with the tempdir).
pub struct TestDb(Option<(String, String)>);

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, name)) = self.0.take()
            && let Ok(mut c) = PgConnection::establish(&format!("{base}/postgres"))
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c);
        }
    }
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A fresh database: a SQLite file, or a new PostgreSQL database. Never skips: if
/// PostgreSQL was asked for and is unreachable, the test fails.
pub fn fresh_database(dir: &std::path::Path) -> (String, TestDb) {
    // Before the first libpq connection of this process; see storage::init_tls.
    storage::init_tls();
    match std::env::var("TEST_DB").as_deref() {
        Ok("postgres") => {
            let base = std::env::var("TEST_PG_URL").unwrap_or_else(|_| PG_DEFAULT.to_owned());
            let name = format!(
                "ssogate_test_{}",
                hex::encode(ssogate::random::bytes::<8>())
            );
            let mut admin = PgConnection::establish(&format!("{base}/postgres"))
                .unwrap_or_else(|e| panic!("PostgreSQL at {base} is unreachable ({e}); the PostgreSQL run must not skip"));
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .expect("create test database");
            (format!("{base}/{name}"), TestDb(Some((base, name))))
        }
        Ok("sqlite") | Err(_) => (
            format!("sqlite://{}", dir.join("ssogate.db").display()),
            TestDb(None),
        ),
        Ok(other) => panic!("TEST_DB must be sqlite or postgres, not {other}"),
    }
}

pub fn test_settings(db_url: &str) -> Settings {
    let mut s = Settings::default();
    s.server.port = 0;
    s.server.workers = 1;
    s.database.url = db_url.to_owned();
    s.database.pool_size = 4;
    s.session.secret = Some(Secret::new(
        "test-session-secret-with-at-least-32-chars".into(),
    ));
    s.log.level = "warn".into();
    // The IWMS worker stays idle unless a test asks for it (tests/api/iwms_outbox.rs): no
    // database work left running when a test's runtime goes away.
    s.iwms.poll_interval_ms = 60_000;
    // The tests' IWMS receivers listen on loopback, which deliveries reach only when listed
    // (tests/api/iwms_outbox.rs checks that an unlisted address is refused).
    s.iwms.allowed_networks = vec!["127.0.0.0/8".parse().unwrap()];
    // No metrics listener unless a test asks (tests/api/metrics.rs binds 127.0.0.1:0).
    s.metrics.bind = String::new();
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_clock(Arc::new(TestClock::real()), customize).await
}

/// An app whose time stands still at `unix` until the test moves it.
pub async fn spawn_app_at(unix: i64, customize: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_clock(Arc::new(TestClock::frozen_at(unix)), customize).await
}

pub async fn spawn_app_with_clock(
    clock: Arc<TestClock>,
    customize: impl FnOnce(&mut Settings),
) -> TestApp {
    ssogate::telemetry::init(&ssogate::config::LogSettings {
        format: Default::default(),
        level: "warn".into(),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (db_url, db_guard) = fresh_database(dir.path());
    let mut settings = test_settings(&db_url);
    customize(&mut settings);
    let pool_size = settings.database.pool_size;
    let (address, server, metrics_address) = start_app(settings, clock.clone()).await;
    let pool = storage::build_pool(&db_url, pool_size).expect("pool");
    let client = client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    TestApp {
        address,
        metrics_address,
        clock,
        pool,
        db_url,
        client,
        server,
        seen: Mutex::default(),
        _db: db_guard,
        _dir: dir,
    }
}

/// Starts one more server on `settings`; returns its address.
pub async fn start_instance(settings: Settings) -> String {
    start_instance_with_clock(settings, Arc::new(SystemClock)).await
}

pub async fn start_instance_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> String {
    start_app(settings, clock).await.0
}

/// Starts a server; returns its address, its handle (to stop it) and its metrics
/// listener's address, if on.
async fn start_app(
    settings: Settings,
    clock: Arc<dyn Clock>,
) -> (String, actix_web::dev::ServerHandle, Option<String>) {
    let app = Application::build_with_clock(settings, clock)
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let metrics = app.metrics_port().map(|p| format!("http://127.0.0.1:{p}"));
    tokio::spawn(app.run_until_stopped());
    (address, handle, metrics)
}

pub fn default_saml_input(slug: &str, idp: &crate::saml_fixtures::TestIdp) -> NewSaml {
    NewSaml {
        slug: slug.into(),
        display_name: None,
        idp_entity_id: Some(idp.entity_id.clone()),
        idp_sso_url: Some("https://idp.example.test/sso".into()),
        idp_certificates: vec![idp.cert_der.clone()],
        attr_email: Some(default_list(DEFAULT_EMAIL)),
        attr_first_name: Some(default_list(DEFAULT_FIRST_NAME)),
        attr_last_name: Some(default_list(DEFAULT_LAST_NAME)),
        ..Default::default()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Takes the server down and waits until it is: a forced stop returns before its workers
    /// have exited, and one of them could still answer a proxy's kept-alive connection. A
    /// graceful stop waits for the open connections to end (an idle one at its keep-alive
    /// timeout). The database stays.
    pub async fn stop(&self) {
        self.server.stop(true).await;
    }

    /// The app's now, in Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.unix()
    }

    /// Moves the app's time on by `secs`.
    pub fn advance(&self, secs: i64) {
        self.clock.advance(secs);
    }

    /// The console's sign-in form as a browser sends it: GET the form (its CSRF cookie and
    /// hidden field), then POST the email with the field.
    pub async fn admin_login(&self, client: &reqwest::Client, email: &str) -> reqwest::Response {
        let form = client.get(self.url("/admin/login")).send().await.unwrap();
        assert_eq!(form.status(), 200);
        let html = form.text().await.unwrap();
        let csrf = form_value(&html, "csrf").expect("the form's csrf field");
        client
            .post(self.url("/admin/login"))
            .form(&[("email", email), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap()
    }

    pub fn with_db<T>(&self, f: impl FnOnce(&mut DbConnection) -> T) -> T {
        let mut c = self.pool.get().expect("db connection");
        f(&mut c)
    }

    pub fn create_tenant(&self, slug: &str, input: TenantInput) {
        self.with_db(|c| {
            admin::create_tenant(
                c,
                slug,
                &input,
                &ssogate::domain::audit::Actor::Cli,
                self.now(),
            )
        })
        .expect("create tenant");
    }

    pub fn add_domain(&self, tenant: &str, domain: &str) {
        self.with_db(|c| {
            admin::add_domain(
                c,
                tenant,
                domain,
                &ssogate::domain::audit::Actor::Cli,
                self.now(),
            )
        })
        .expect("add domain");
    }

    /// An IWMS event of `user` in `tenant` that ran out of attempts (`last_error` from the
    /// IWMS), for the retry paths.
    pub fn dead_outbox_event(&self, tenant: &str, user: i64, last_error: &str) -> i64 {
        use diesel::{ExpressionMethods, QueryDsl};
        use ssogate::storage::schema::outbox_events as e;
        let t = self
            .with_db(|c| admin::tenant_by_slug(c, tenant))
            .expect("tenant");
        let id = self
            .with_db(|c| {
                storage::outbox::enqueue(
                    c,
                    &storage::outbox::NewEvent {
                        tenant: t.id,
                        user: ssogate::domain::ids::UserId(user),
                        event: "user.updated",
                        payload: "{}",
                        create_iwms: false,
                    },
                    self.now(),
                )
            })
            .expect("enqueue");
        self.with_db(|c| {
            diesel::update(e::table.find(id))
                .set((
                    e::status.eq("dead"),
                    e::attempts.eq(12),
                    e::last_error.eq(Some(last_error)),
                ))
                .execute(c)
        })
        .expect("mark dead");
        id
    }

    pub fn add_connection(&self, tenant: &str, input: NewSaml) {
        self.with_db(|c| {
            admin::add_saml_connection(
                c,
                tenant,
                &input,
                false,
                &ssogate::domain::audit::Actor::Cli,
                self.now(),
            )
        })
        .expect("add connection");
    }

    pub fn sp_entity_id(&self, tenant: &str, conn: &str) -> String {
        self.url(&format!("/t/{tenant}/saml/{conn}/metadata"))
    }

    pub fn acs_url(&self, tenant: &str, conn: &str) -> String {
        self.url(&format!("/t/{tenant}/saml/{conn}/acs"))
    }

    /// Starts an SP-initiated sign-in; returns the AuthnRequest ID and RelayState.
    pub async fn start_login(
        &self,
        tenant: &str,
        conn: &str,
        return_to: Option<&str>,
    ) -> (String, String) {
        self.start_login_on(&self.client, tenant, conn, return_to)
            .await
    }

    /// `start_login` in another browser.
    pub async fn start_login_on(
        &self,
        client: &reqwest::Client,
        tenant: &str,
        conn: &str,
        return_to: Option<&str>,
    ) -> (String, String) {
        let mut url = reqwest::Url::parse(&self.url(&format!("/t/{tenant}/login"))).unwrap();
        url.query_pairs_mut().append_pair("connection", conn);
        if let Some(r) = return_to {
            url.query_pairs_mut().append_pair("return_to", r);
        }
        let res = client.get(url).send().await.unwrap();
        assert_eq!(res.status(), 303, "login start should redirect to the IdP");
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        parse_authn_redirect(&location)
    }

    pub async fn post_acs(
        &self,
        tenant: &str,
        conn: &str,
        saml_response_xml: &str,
        relay_state: Option<&str>,
    ) -> reqwest::Response {
        self.post_acs_on(&self.client, tenant, conn, saml_response_xml, relay_state)
            .await
    }

    /// `post_acs` in another browser.
    pub async fn post_acs_on(
        &self,
        client: &reqwest::Client,
        tenant: &str,
        conn: &str,
        saml_response_xml: &str,
        relay_state: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![(
            "SAMLResponse".to_owned(),
            STANDARD.encode(saml_response_xml),
        )];
        if let Some(rs) = relay_state {
            form.push(("RelayState".to_owned(), rs.to_owned()));
        }
        client
            .post(self.acs_url(tenant, conn))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Newest first.
    pub fn sign_ins(&self, tenant: &str) -> Vec<Attempt> {
        self.with_db(|c| {
            let t = admin::tenant_by_slug(c, tenant).expect("tenant");
            storage::login_attempts::list(c, t.id, None, 100)
        })
        .expect("sign-in history")
    }

    /// The refusals counted per connection, reason and hour (those nothing tied to a
    /// sign-in), newest first.
    pub fn counted_refusals(&self, tenant: &str) -> Vec<Counted> {
        self.with_db(|c| {
            let t = admin::tenant_by_slug(c, tenant).expect("tenant");
            storage::refusal_counts::page(c, t.id, &Default::default(), None, 1000)
        })
        .expect("refusal counts")
    }

    /// How many refusals of `reason` were counted (all connections and hours).
    pub fn refusal_count(&self, tenant: &str, reason: &str) -> i64 {
        self.counted_refusals(tenant)
            .iter()
            .filter(|c| c.reason == reason)
            .map(|c| c.refusals)
            .sum()
    }

    /// Where the tenant's sign-in history stands now.
    pub fn history_mark(&self, tenant: &str) -> HistoryMark {
        HistoryMark::of(&self.sign_ins(tenant), &self.counted_refusals(tenant))
    }

    /// What the history recorded after `mark`, newest first.
    pub fn recorded_since(&self, tenant: &str, mark: &HistoryMark) -> Vec<Recorded> {
        mark.recorded_in(&self.sign_ins(tenant), &self.counted_refusals(tenant))
    }

    /// The reason of the newest outcome in the sign-in history: an attempt's row, or, for a
    /// refusal nothing tied to a sign-in (no valid signature, no pending request of the
    /// browser), one more in its hour's count. Counts have no order among rows, so "newest"
    /// is "recorded since this method last looked" (the newest of those by time, a count
    /// before a row at the same second); when nothing was recorded since, the answer stays
    /// what it was.
    pub fn last_reason(&self, tenant: &str) -> String {
        let (attempts, counts) = (self.sign_ins(tenant), self.counted_refusals(tenant));
        let mut seen = self.seen.lock().unwrap();
        let (mark, last) = seen.entry(tenant.to_owned()).or_default();
        if let Some(newest) = mark.recorded_in(&attempts, &counts).first() {
            *last = Some(newest.reason.clone());
        }
        *mark = HistoryMark::of(&attempts, &counts);
        last.clone()
            .unwrap_or_else(|| "(no sign-in recorded)".into())
    }

    pub fn users(&self, tenant: &str) -> Vec<admin::users::UserView> {
        self.with_db(|c| {
            let t = admin::tenant_by_slug(c, tenant)?;
            admin::users::list_users_by_offset(c, &t, admin::users::UserViewKind::All, 1000, 0)
        })
        .expect("users")
    }

    /// A user (by email or id) as the admin API, the console and the CLI show them.
    pub fn user_detail(&self, tenant: &str, who: &str) -> admin::users::UserDetailView {
        self.with_db(|c| {
            let t = admin::tenant_by_slug(c, tenant)?;
            let id = admin::users::find_user(c, &t, who)?;
            admin::users::user_detail(c, &t, id)
        })
        .expect("user")
    }

    pub async fn me(&self) -> reqwest::Response {
        self.client.get(self.url("/me")).send().await.unwrap()
    }
}

/// A point in a tenant's sign-in history: its newest attempt and every count.
#[derive(Debug, Clone, Default)]
pub struct HistoryMark {
    newest_attempt: i64,
    counts: HashMap<i64, i64>,
}

/// One outcome the history recorded: a row, or one more in a count.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub reason: String,
    pub detail: String,
    pub counted: bool,
}

impl HistoryMark {
    fn of(attempts: &[Attempt], counts: &[Counted]) -> Self {
        HistoryMark {
            newest_attempt: attempts.iter().map(|a| a.id).max().unwrap_or(0),
            counts: counts.iter().map(|c| (c.id, c.refusals)).collect(),
        }
    }

    /// What `attempts` and `counts` (the history now) hold beyond this mark, newest first.
    fn recorded_in(&self, attempts: &[Attempt], counts: &[Counted]) -> Vec<Recorded> {
        let mut out: Vec<(i64, bool, i64, Recorded)> = Vec::new();
        for a in attempts.iter().filter(|a| a.id > self.newest_attempt) {
            out.push((
                a.created_at,
                false,
                a.id,
                Recorded {
                    reason: a.reason.clone(),
                    detail: a.detail.clone(),
                    counted: false,
                },
            ));
        }
        for c in counts {
            let before = self.counts.get(&c.id).copied().unwrap_or(0);
            for _ in before..c.refusals {
                out.push((
                    c.last_at,
                    true,
                    c.id,
                    Recorded {
                        reason: c.reason.clone(),
                        detail: c.detail.clone(),
                        counted: true,
                    },
                ));
            }
        }
        out.sort_by_key(|r| std::cmp::Reverse((r.0, r.1, r.2)));
        out.into_iter().map(|(_, _, _, r)| r).collect()
    }
}

/// Reads the ID out of a Redirect-binding AuthnRequest URL.
pub fn parse_authn_redirect(location: &str) -> (String, String) {
    let url = reqwest::Url::parse(location).expect("absolute IdP URL");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    let deflated = STANDARD
        .decode(&q["SAMLRequest"])
        .expect("base64 SAMLRequest");
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .read_to_string(&mut xml)
        .expect("deflated");
    let doc = roxmltree::Document::parse(&xml).expect("AuthnRequest XML");
    let id = doc.root_element().attribute("ID").expect("ID").to_owned();
    (id, q["RelayState"].clone())
}

/// The value of a hidden/text input in an HTML form.
pub fn form_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let at = html.find(&needle)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + 7;
    let end = tag[v..].find('"')? + v;
    Some(html_unescape(&tag[v..end]))
}

pub fn form_action(html: &str) -> Option<String> {
    let at = html.find("action=\"")? + 8;
    let end = html[at..].find('"')? + at;
    Some(html_unescape(&html[at..end]))
}

fn html_unescape(s: &str) -> String {
    s.replace("&#43;", "+")
        .replace("&#x2b;", "+")
        .replace("&#x2B;", "+")
        .replace("&#61;", "=")
        .replace("&#x3d;", "=")
        .replace("&#x3D;", "=")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// SCIM requests against one tenant with one of its bearer tokens.
pub struct Scim<'a> {
    pub app: &'a TestApp,
    pub tenant: String,
    pub token: String,
}

impl TestApp {
    /// A new SCIM token for `tenant` (which must exist).
    pub fn scim_token(&self, tenant: &str) -> String {
        self.with_db(|c| {
            let t = admin::tenant_by_slug(c, tenant).expect("tenant");
            ssogate::service::scim::tokens::create(c, t.id, "test", self.now())
        })
        .expect("scim token")
        .token
    }

    pub fn scim(&self, tenant: &str) -> Scim<'_> {
        Scim {
            app: self,
            tenant: tenant.to_owned(),
            token: self.scim_token(tenant),
        }
    }
}

impl Scim<'_> {
    pub fn url(&self, path: &str) -> String {
        self.app.url(&format!("/t/{}/scim/v2{path}", self.tenant))
    }

    /// Sends `body` (if any) as application/scim+json; returns status and JSON body
    /// (Null when empty).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut rb = self
            .app
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        let res = rb.send().await.expect("scim request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let v = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, b: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::POST, path, Some(b)).await
    }
    pub async fn patch(&self, path: &str, b: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::PATCH, path, Some(b)).await
    }
    pub async fn delete(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

/// `name=value` of the first cookie a response sets (the session cookie of an ACS answer),
/// ready for a `Cookie` header.
pub fn first_cookie(res: &reqwest::Response) -> String {
    let set = res.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// A test client that never reuses a connection the server may be closing: actix ends an idle
/// keep-alive connection after 5 s, and a request sent on it at that moment fails with
/// `IncompleteMessage` (seen on a loaded machine). Idle connections are dropped after 2 s.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().pool_idle_timeout(std::time::Duration::from_secs(2))
}
