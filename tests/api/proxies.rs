//! Real reverse proxies in front of ssogate: Debian's `nginx` (auth_request) and `caddy`
//! (forward_auth), each run with the README's example configuration as written there (only the
//! addresses, the listener and TLS changed, every change asserted to apply), in front of a test
//! app that echoes the request it gets. Through each: an anonymous browser is sent to sign in
//! with the whole original URL as return_to (on a non-default port), a signed-in one reaches the
//! app with every `X-Auth-Request-*` header `/auth/verify` sends and none the client sent, and a
//! stopped ssogate keeps the app closed.
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use ssogate::config::TrustedProxies;
use ssogate::service::admin::TenantInput;

use crate::admin_api::api;
use crate::helpers::{TestApp, spawn_app_with};
use crate::support::poll::eventually;
use crate::support::sign_in::acme;

const README: &str = include_str!("../../docs/reverse-proxies.md");

/// The README's first fenced block of `lang` under the heading `heading`.
fn readme_block(heading: &str, lang: &str) -> String {
    let start = README
        .find(heading)
        .unwrap_or_else(|| panic!("docs/reverse-proxies.md has no {heading}"));
    let fence = format!("```{lang}\n");
    let body = start
        + README[start..]
            .find(&fence)
            .unwrap_or_else(|| panic!("no {lang} block under {heading}"))
        + fence.len();
    let end = body + README[body..].find("```").expect("closing fence");
    README[body..end].to_owned()
}

/// `text` with each `(from, to)` replaced; every `from` must occur, so a README change that
/// the test no longer follows fails here instead of testing something else.
fn adapted(text: &str, changes: &[(&str, String)]) -> String {
    let mut out = text.to_owned();
    for (from, to) in changes {
        assert!(
            out.contains(from),
            "the README example no longer has {from:?}"
        );
        out = out.replace(from, to);
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A proxy process; stopped (by its own pid) when the test ends.
struct Proxy {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    log: &'static str,
}

impl Drop for Proxy {
    /// SIGTERM, not SIGKILL: nginx's master then stops its workers (killed outright, it would
    /// leave them running, orphaned). SIGKILL only if `kill` itself cannot be run.
    fn drop(&mut self) {
        let termed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !termed {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Proxy {
    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(self.log)).unwrap_or_default()
    }

    async fn ready(mut self) -> Self {
        let port = self.port;
        let exited = eventually(10, || {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Ok(Some(status));
            }
            TcpStream::connect(("127.0.0.1", port))
                .map(|_| None)
                .map_err(|e| format!("port {port}: {e}"))
        })
        .await;
        if let Some(status) = exited {
            panic!("the proxy exited ({status}):\n{}", self.log());
        }
        self
    }
}

/// Which proxy, with the README's configuration for it.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Nginx,
    Caddy,
}

/// The README's nginx example: the two `listen`s on free loopback ports (plain HTTP: the TLS
/// lines go), ssogate and the app at their test addresses. `sso` is `http://host:port`.
fn nginx_config(sso: &str, app_port: u16, port: u16, dir: &Path) -> String {
    let sso_hostport = sso.trim_start_matches("http://");
    let site = adapted(
        &readme_block("### nginx (`auth_request`)", "nginx"),
        &[
            ("server 127.0.0.1:8080;", format!("server {sso_hostport};")),
            (
                "server 127.0.0.1:3000;",
                format!("server 127.0.0.1:{app_port};"),
            ),
            ("listen 80;", format!("listen 127.0.0.1:{};", free_port())),
            ("listen 443 ssl;", format!("listen 127.0.0.1:{port};")),
            (
                "    ssl_certificate     /etc/nginx/tls/app.example.com.crt;\n",
                String::new(),
            ),
            (
                "    ssl_certificate_key /etc/nginx/tls/app.example.com.key;\n",
                String::new(),
            ),
            ("https://sso.example.com", sso.to_owned()),
        ],
    );
    let d = dir.display();
    format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n\
         access_log {d}/access.log;\nclient_body_temp_path {d}/body;\nproxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
         {site}}}\n"
    )
}

/// The README's Caddy example: the site on a free loopback port over plain HTTP, admin API
/// and automatic HTTPS off, ssogate and the app at their test addresses.
fn caddy_config(sso: &str, app_port: u16, port: u16) -> String {
    let sso_hostport = sso.trim_start_matches("http://");
    let site = adapted(
        &readme_block("### Caddy (`forward_auth`)", "caddyfile"),
        &[
            ("app.example.com {", format!("http://127.0.0.1:{port} {{")),
            (
                "forward_auth 127.0.0.1:8080 {",
                format!("forward_auth {sso_hostport} {{"),
            ),
            (
                "reverse_proxy 127.0.0.1:3000",
                format!("reverse_proxy 127.0.0.1:{app_port}"),
            ),
        ],
    );
    format!("{{\n\tadmin off\n\tauto_https off\n}}\n\n{site}")
}

impl Kind {
    /// Starts this proxy, as the current user, in front of ssogate at `sso` and the app.
    async fn start(self, sso: &str, app_port: u16) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let (child, log) = match self {
            Kind::Nginx => {
                let conf = dir.path().join("nginx.conf");
                std::fs::write(&conf, nginx_config(sso, app_port, port, dir.path())).unwrap();
                let child = Command::new("nginx")
                    .arg("-p")
                    .arg(dir.path())
                    .arg("-e")
                    .arg(dir.path().join("error.log"))
                    .arg("-c")
                    .arg(&conf)
                    .args(["-g", "daemon off;"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("nginx runs (make system-test-deps installs it)");
                (child, "error.log")
            }
            Kind::Caddy => {
                let conf = dir.path().join("Caddyfile");
                std::fs::write(&conf, caddy_config(sso, app_port, port)).unwrap();
                let log = std::fs::File::create(dir.path().join("caddy.log")).unwrap();
                let child = Command::new("caddy")
                    .arg("run")
                    .arg("--config")
                    .arg(&conf)
                    .args(["--adapter", "caddyfile"])
                    // Caddy keeps its state under $HOME / XDG: the test's directory.
                    .env("HOME", dir.path())
                    .env("XDG_DATA_HOME", dir.path())
                    .env("XDG_CONFIG_HOME", dir.path())
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .expect("caddy runs (make system-test-deps installs it)");
                (child, "caddy.log")
            }
        };
        Proxy {
            child,
            port,
            dir,
            log,
        }
        .ready()
        .await
    }
}

/// The app behind the proxy: answers every request with its path and query and its headers
/// (as received, in order, repeats kept), and counts the requests it got.
struct Upstream {
    port: u16,
    seen: Arc<Mutex<usize>>,
    server: actix_web::dev::ServerHandle,
}

impl Upstream {
    async fn start() -> Self {
        let seen = Arc::new(Mutex::new(0usize));
        let counter = seen.clone();
        let server = HttpServer::new(move || {
            let counter = counter.clone();
            App::new().default_service(web::to(move |req: HttpRequest| {
                *counter.lock().unwrap() += 1;
                let headers: Vec<(String, String)> = req
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                let uri = req.uri().to_string();
                async move { HttpResponse::Ok().json(json!({"uri": uri, "headers": headers})) }
            }))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            port,
            seen,
            server: handle,
        }
    }

    fn requests(&self) -> usize {
        *self.seen.lock().unwrap()
    }
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .expect("a Location")
        .to_str()
        .unwrap()
        .to_owned()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The `X-Auth-Request-*` headers of a response (names lower-case), in order.
fn auth_headers(res: &reqwest::Response) -> Vec<(String, String)> {
    res.headers()
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-auth-request-"))
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

/// What a client puts in the `X-Auth-Request-*` headers to pass for someone else: names
/// ssogate sends for this tenant, names it does not (title, employee number: not chosen), and
/// one it never sends.
const SPOOFED: &[(&str, &str)] = &[
    ("X-Auth-Request-User", "mallory@evil.test"),
    ("X-Auth-Request-Email", "mallory@evil.test"),
    ("X-Auth-Request-Roles", "admin"),
    ("X-Auth-Request-Groups", "Admins"),
    ("X-Auth-Request-Tenant", "globex"),
    ("X-Auth-Request-Title", "CEO"),
    ("X-Auth-Request-Employee-Number", "E-SPOOF"),
    ("X-Auth-Request-Redirect", "https://evil.test/"),
];

async fn through(kind: Kind) {
    let app = spawn_app_with(|s| {
        s.server.trusted_proxies = TrustedProxies::parse(["127.0.0.1"]).unwrap();
    })
    .await;
    let upstream = Upstream::start().await;
    let proxy = kind.start(&app.address, upstream.port).await;
    let origin = proxy.origin();
    let idp = acme(
        &app,
        TenantInput {
            allowed_return_origins: Some(vec![origin.clone()]),
            forward_attributes: Some(vec!["department".into(), "manager".into()]),
            ..Default::default()
        },
    );
    let (s, v) = api(&app, Some("acme"))
        .post(
            "/tenants/acme/role-rules",
            json!({"group": "Staff", "role": "employee"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    // Bob, Ada's manager, signs in elsewhere and has an IWMS ID.
    let elsewhere = crate::helpers::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let bob = app
        .sign_in(&idp)
        .on(&elsewhere)
        .name_id("subject-bob")
        .email("bob@acme.test")
        .user_id()
        .await;
    set_iwms_id(&app, bob, "IW-BOB");

    // Anonymous, on a non-default port, with a query nginx alone would cut at the first `&`.
    let original = format!("{origin}/app/page?a=1&b=2&c=%26x");
    let res = app.client.get(&original).send().await.unwrap();
    assert_eq!(res.status(), 302, "{kind:?}: {}", proxy.log());
    let sign_in = location(&res);
    assert_eq!(
        sign_in,
        format!("{}/t/acme/login?return_to={}", app.address, enc(&original)),
        "{kind:?}: ssogate's sign-in location, the whole URL percent-encoded once"
    );
    assert_eq!(upstream.requests(), 0, "the app is not reached anonymously");

    // The browser follows it and signs in; the ACS sends it back to the very URL.
    let start = app.client.get(&sign_in).send().await.unwrap();
    assert_eq!(start.status(), 303, "the sign-in starts at the IdP");
    let done = app
        .sign_in(&idp)
        .answering(&location(&start))
        .attr("department", "Facilities")
        .attr("manager", "bob@acme.test")
        .attr("groups", "Staff")
        .send()
        .await;
    assert_eq!(done.status(), 303, "{}", app.last_reason("acme"));
    assert_eq!(location(&done), original, "{kind:?}: back to the whole URL");
    let ada = app
        .users("acme")
        .into_iter()
        .find(|u| u.email == "ada@acme.test")
        .unwrap()
        .id;
    set_iwms_id(&app, ada, "IW-ADA");

    // What ssogate tells a proxy about this session (the test reads it directly).
    let verify = app
        .client
        .get(app.url("/auth/verify?tenant=acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(verify.status(), 200);
    let sent = auth_headers(&verify);
    let value = |name: &str| {
        sent.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    for (name, want) in [
        ("x-auth-request-user", "ada@acme.test"),
        ("x-auth-request-email", "ada@acme.test"),
        ("x-auth-request-given-name", "Ada"),
        ("x-auth-request-family-name", "Lovelace"),
        ("x-auth-request-iwms-id", "IW-ADA"),
        ("x-auth-request-tenant", "acme"),
        ("x-auth-request-groups", "Staff"),
        ("x-auth-request-roles", "employee"),
        ("x-auth-request-department", "Facilities"),
        ("x-auth-request-manager-email", "bob@acme.test"),
        ("x-auth-request-manager-iwms-id", "IW-BOB"),
    ] {
        assert_eq!(value(name), Some(want), "{name}");
    }
    assert_eq!(
        value("x-auth-request-manager-id"),
        Some(bob.to_string().as_str())
    );
    assert_eq!(value("x-auth-request-title"), None, "not chosen: not sent");
    assert_eq!(value("x-auth-request-employee-number"), None);

    // Signed in, through the proxy, with forged headers.
    let mut rb = app.client.get(&original);
    for (k, v) in SPOOFED {
        rb = rb.header(*k, *v);
    }
    let res = rb.send().await.unwrap();
    assert_eq!(res.status(), 200, "{kind:?}: {}", proxy.log());
    let seen: Value = res.json().await.unwrap();
    assert_eq!(seen["uri"], "/app/page?a=1&b=2&c=%26x");
    let got: Vec<(String, String)> = seen["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let host: Vec<&str> = got
        .iter()
        .filter(|(k, _)| k == "host")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        host,
        [&origin["http://".len()..]],
        "{kind:?}: the app sees the host with its port"
    );
    for (name, want) in &sent {
        let values: Vec<&str> = got
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect();
        if want.is_empty() {
            assert!(
                values.iter().all(|v| v.is_empty()),
                "{kind:?}: {name} empty at ssogate, {values:?} at the app"
            );
        } else {
            assert_eq!(values, [want.as_str()], "{kind:?}: {name} at the app");
        }
    }
    for (name, v) in got.iter().filter(|(k, _)| k.starts_with("x-auth-request-")) {
        assert!(
            v.is_empty() || value(name) == Some(v.as_str()),
            "{kind:?}: the client's {name}: {v} reached the app"
        );
    }
    assert_eq!(upstream.requests(), 1);

    // ssogate down: the proxy fails closed, whatever cookie the browser has.
    app.stop().await;
    let res = app.client.get(&original).send().await.unwrap();
    assert!(
        res.status().is_server_error(),
        "{kind:?}: {} with ssogate down",
        res.status()
    );
    assert_eq!(upstream.requests(), 1, "{kind:?}: the app is not reached");
    upstream.server.stop(false).await;
}

fn set_iwms_id(app: &TestApp, user: i64, iwms_id: &str) {
    use diesel::prelude::*;
    use ssogate::storage::schema::users;
    app.with_db(|c| {
        diesel::update(users::table.filter(users::id.eq(user)))
            .set(users::iwms_id.eq(iwms_id))
            .execute(c)
    })
    .unwrap();
}

#[tokio::test]
async fn nginx_auth_request_as_the_readme_configures_it() {
    through(Kind::Nginx).await;
}

#[tokio::test]
async fn caddy_forward_auth_as_the_readme_configures_it() {
    through(Kind::Caddy).await;
}

/// `/auth/verify?…` as a proxy at 127.0.0.1 asks it, anonymously, forwarding `headers`.
async fn anonymous_verify(
    app: &TestApp,
    query: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut rb = crate::helpers::client_builder()
        .build()
        .unwrap()
        .get(app.url(&format!("/auth/verify{query}")));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let res = rb.send().await.unwrap();
    assert_eq!(res.status(), 401);
    res
}

fn redirect_header(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("x-auth-request-redirect")
        .map(|v| v.to_str().unwrap().to_owned())
}

const FORWARDED: &[(&str, &str)] = &[
    ("x-forwarded-proto", "https"),
    ("x-forwarded-host", "app.acme.test:8443"),
    ("x-forwarded-uri", "/p?a=1&b=2"),
];

#[tokio::test]
async fn the_sign_in_location_is_named_only_for_a_trusted_proxy() {
    // Not listed: the forwarded URL is not believed, the 401 is bare as before.
    let app = crate::helpers::spawn_app().await;
    let res = anonymous_verify(&app, "?tenant=acme", FORWARDED).await;
    assert_eq!(redirect_header(&res), None);

    let app = spawn_app_with(|s| {
        s.server.trusted_proxies = TrustedProxies::parse(["127.0.0.1"]).unwrap();
    })
    .await;
    let idp = acme(
        &app,
        TenantInput {
            allowed_return_origins: Some(vec!["https://app.acme.test:8443".into()]),
            ..Default::default()
        },
    );
    let want = |path: &str| {
        format!(
            "{}{path}return_to={}",
            app.address,
            enc("https://app.acme.test:8443/p?a=1&b=2")
        )
    };
    let res = anonymous_verify(&app, "?tenant=acme", FORWARDED).await;
    assert_eq!(redirect_header(&res), Some(want("/t/acme/login?")));
    // Unpinned: the email form, which carries return_to on.
    let res = anonymous_verify(&app, "", FORWARDED).await;
    assert_eq!(redirect_header(&res), Some(want("/?")));
    // No location when the query is refused, or the forwarded URL is partial, repeated or odd.
    let res = anonymous_verify(&app, "?Tenant=acme", FORWARDED).await;
    assert_eq!(redirect_header(&res), None, "a refused query");
    let res = anonymous_verify(&app, "?tenant=acme", &FORWARDED[..2]).await;
    assert_eq!(redirect_header(&res), None, "no X-Forwarded-Uri");
    let mut twice = FORWARDED.to_vec();
    twice.push(("x-forwarded-host", "evil.test"));
    let res = anonymous_verify(&app, "?tenant=acme", &twice).await;
    assert_eq!(redirect_header(&res), None, "two hosts");
    let res = anonymous_verify(
        &app,
        "?tenant=acme",
        &[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "app.acme.test"),
            ("x-forwarded-uri", "//evil.test/"),
        ],
    )
    .await;
    assert_eq!(redirect_header(&res), None, "a path that is a host");

    // A forged host is named (the proxy passes what the browser sent), but sign-in still
    // checks return_to against the tenant's allowed origins: no open redirect.
    let res = anonymous_verify(
        &app,
        "?tenant=acme",
        &[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.test"),
            ("x-forwarded-uri", "/steal"),
        ],
    )
    .await;
    let sign_in = redirect_header(&res).unwrap();
    assert!(
        sign_in.ends_with(&enc("https://evil.test/steal")),
        "{sign_in}"
    );
    let start = app.client.get(&sign_in).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let done = app.sign_in(&idp).answering(&location(&start)).send().await;
    assert_eq!(done.status(), 303, "{}", app.last_reason("acme"));
    assert_eq!(location(&done), "/signed-in");
}

#[tokio::test]
async fn nginx_without_a_trusted_proxy_falls_back_to_the_plain_sign_in_page() {
    let app = crate::helpers::spawn_app().await;
    let upstream = Upstream::start().await;
    let proxy = Kind::Nginx.start(&app.address, upstream.port).await;
    let res = app
        .client
        .get(format!("{}/app/page?a=1", proxy.origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "{}", proxy.log());
    assert_eq!(location(&res), format!("{}/t/acme/login", app.address));
    assert_eq!(upstream.requests(), 0);
}
