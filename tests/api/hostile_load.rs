//! A few seconds of garbage at every public route of the real `ssogate serve`, from this
//! process over loopback: no 5xx (429 is fine: rate limits may answer), no panic, the process
//! alive and ready, memory and database growth bounded.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use ssogate::service::admin::{self, TenantInput};
use ssogate::storage;

use crate::bounded_history::database_bytes;
use crate::cli::Cli;
use crate::helpers::{default_saml_input, now};
use crate::hostile_op::{HostileOp, Key};
use crate::saml_fixtures::{Resp, SignWhat, TestIdp};

const RUN_FOR: Duration = Duration::from_secs(4);
const CLIENTS: usize = 6;

/// A deterministic xorshift generator: the same garbage on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// Up to `max` random bytes.
    fn some_bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max);
        self.bytes(n)
    }
    fn text(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"abcXYZ0189%&=+/?#;:@<>\"'\\ \t{}[]$.-_~\xc3\xa9";
        String::from_utf8_lossy(&(0..n).map(|_| *self.pick(ALPHABET)).collect::<Vec<u8>>())
            .into_owned()
    }
}

const PATHS: &[&str] = &[
    "/",
    "/login",
    "/t/acme/login",
    "/t/acme/login?connection=okta&return_to=https%3A%2F%2Fapp.acme.test%2Fx",
    "/t/acme/login?connection=op",
    "/t/acme/login?connection=nope",
    "/t/nope/login",
    "/t/acme/saml/okta/metadata",
    "/t/acme/saml/okta/acs",
    "/t/acme/saml/nope/acs",
    "/t/acme/oidc/op/callback?code=c0de&state=garbage",
    "/t/acme/oidc/op/callback?error=access_denied&error_description=x&state=y",
    "/t/acme/oidc/op/callback",
    "/auth/verify",
    "/auth/verify?tenant=acme",
    "/me",
    "/logout",
    "/signed-in",
    "/healthz",
    "/readyz",
    "/admin",
    "/admin/login",
    "/admin/sso",
    "/admin/bootstrap?token=garbage",
    "/admin/bootstrap",
    "/admin/tenants",
    "/admin/t/acme/users",
    "/admin/t/acme/sign-ins?reason=x&before=-1",
    "/api/v1/tenants",
    "/api/v1/tenants/acme/users?limit=99999",
    "/api/v1/tenants/acme/refusal-counts",
    "/api/v1/openapi.json",
    "/t/acme/scim/v2/Users",
    "/t/acme/scim/v2/Users/1",
    "/t/acme/scim/v2/Groups?filter=displayName%20eq%20%22x%22",
    "/t/acme/scim/v2/.search",
    "/t/acme/scim/v2/ServiceProviderConfig",
    "/assets/admin.css",
    "/nope",
];

const METHODS: &[&str] = &[
    "GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
];

const CONTENT_TYPES: &[&str] = &[
    "application/x-www-form-urlencoded",
    "application/json",
    "application/scim+json",
    "text/xml",
    "multipart/form-data; boundary=x",
    "",
];

/// One request's worth of garbage: method, path, headers, body.
fn garbage(rng: &mut Rng, samlish: &[String]) -> (String, String, Vec<(String, String)>, Vec<u8>) {
    let method = rng.pick(METHODS).to_string();
    let mut path = rng.pick(PATHS).to_string();
    match rng.below(6) {
        0 => path.push_str(&format!(
            "/{}",
            rng.text(12).replace(['#', '?', ' '], "%20")
        )),
        1 => path.push_str(if path.contains('?') {
            "&%ff%fe=%"
        } else {
            "?%ff%fe=%"
        }),
        2 => path.push_str("/..%2f..%2fetc%2fpasswd"),
        _ => {}
    }
    let mut headers = vec![];
    let ct = rng.pick(CONTENT_TYPES);
    if !ct.is_empty() {
        headers.push(("content-type".to_owned(), (*ct).to_owned()));
    }
    if rng.below(2) == 0 {
        let cookie = format!(
            "ssogate_session={}; ssogate_admin={}; ssogate_authn_{}={}; ssogate_oidc_x={}",
            STANDARD.encode(rng.bytes(24)),
            STANDARD.encode(rng.bytes(24)),
            hex::encode(rng.bytes(8)),
            STANDARD.encode(rng.bytes(32)),
            rng.text(20).replace([';', ' ', '"', '\\', ','], "")
        );
        headers.push(("cookie".to_owned(), cookie));
    }
    if rng.below(3) == 0 {
        headers.push((
            "authorization".to_owned(),
            format!("Bearer ssg_admin_{}", hex::encode(rng.bytes(16))),
        ));
    }
    if rng.below(4) == 0 {
        headers.push(("sec-fetch-site".to_owned(), "cross-site".to_owned()));
        headers.push((
            "x-forwarded-for".to_owned(),
            "203.0.113.9, 10.0.0.1".to_owned(),
        ));
    }
    let body = match rng.below(8) {
        0 => vec![],
        1 => rng.some_bytes(64 * 1024),
        2 => format!(
            "SAMLResponse={}&RelayState={}",
            url::form_urlencoded::byte_serialize(rng.pick(samlish).as_bytes()).collect::<String>(),
            rng.text(40).replace(['&', '=', '#', '%', '+'], "")
        )
        .into_bytes(),
        3 => format!(
            "SAMLResponse={}",
            STANDARD.encode(rng.some_bytes(300 * 1024))
        )
        .into_bytes(),
        4 => json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": rng.text(300), "emails": [{"value": rng.text(30)}],
                    "Operations": [{"op": "replace", "path": rng.text(50), "value": null}]})
        .to_string()
        .into_bytes(),
        5 => format!(
            "email={}@acme.test&csrf={}&token={}",
            rng.text(8).replace(['&', '=', '#', '%', '+'], ""),
            hex::encode(rng.bytes(16)),
            hex::encode(rng.bytes(16))
        )
        .into_bytes(),
        6 => "{\"slug\": \"x\", \"metadata_url\": \"http://127.0.0.1:1/\", \"issuer\": \"file:///dev/zero\"}"
            .as_bytes()
            .to_vec(),
        _ => {
            let n = rng.below(4096);
            rng.text(n).into_bytes()
        }
    };
    (method, path, headers, body)
}

/// Raw bytes on a socket that are not HTTP (or barely): the answer, if any, is no 5xx.
fn raw_garbage(port: u16, rng: &mut Rng) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let payload: Vec<u8> = match rng.below(4) {
        0 => rng.bytes(2048),
        1 => b"GET /\x00\x01 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        2 => format!(
            "POST /t/acme/saml/okta/acs HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{}",
            rng.text(100)
        )
        .into_bytes(),
        _ => format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Long: {}\r\n\r\n",
            "a".repeat(64 * 1024)
        )
        .into_bytes(),
    };
    let _ = s.write_all(&payload);
    let mut head = [0u8; 12];
    match s.read(&mut head) {
        Ok(n) if n >= 12 => std::str::from_utf8(&head[9..12]).ok()?.parse().ok(),
        _ => None,
    }
}

struct Server {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(cli: &Cli) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ssogate"))
        .arg("serve")
        .current_dir(cli.path(""))
        .env_remove("SSOGATE_CONFIG")
        .env_remove("RUST_LOG")
        .env("SSOGATE_DATABASE__URL", cli.db_url())
        .env("SSOGATE_SERVER__PORT", "0")
        .env("SSOGATE_METRICS__BIND", "")
        .env(
            "SSOGATE_SESSION__SECRET",
            "a-very-secret-session-key-0123456789",
        )
        .env("SSOGATE_LOG__FORMAT", "json")
        .env("SSOGATE_LOG__LEVEL", "info")
        .env("SSOGATE_OIDC__ALLOW_HTTP_LOOPBACK", "true")
        .env("SSOGATE_IWMS__POLL_INTERVAL_MS", "60000")
        // Storage and liveness under garbage, not the rate limits (tests/api/rate_limits.rs):
        // all of it reaches the handlers.
        .env("SSOGATE_RATE_LIMIT__ENABLED", "false")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in stderr.lines() {
            let Ok(line) = line else { break };
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && let Some(p) = v["port"].as_u64()
            {
                let _ = tx.send(p as u16);
            }
            // Keep what matters (the access log would be large).
            if !line.contains("\"status\"") || line.contains("\"status\":5") {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("the server did not start: {}", log.lock().unwrap()));
    Server { child, port, log }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Tenant acme with the SAML connection `okta` and the OIDC connection `op` (a provider
/// in this process), written straight into the server's database.
async fn seed(cli: &Cli, op: &HostileOp) -> TestIdp {
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    let pool = storage::build_pool(cli.db_url(), 2).unwrap();
    let mut c = pool.get().unwrap();
    storage::run_migrations(&mut c).unwrap();
    admin::create_tenant(
        &mut c,
        "acme",
        &TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
        &ssogate::domain::audit::Actor::Cli,
        now(),
    )
    .unwrap();
    admin::add_domain(
        &mut c,
        "acme",
        "acme.test",
        &ssogate::domain::audit::Actor::Cli,
        now(),
    )
    .unwrap();
    admin::add_saml_connection(
        &mut c,
        "acme",
        &default_saml_input("okta", &idp),
        false,
        &ssogate::domain::audit::Actor::Cli,
        now(),
    )
    .unwrap();
    let input = crate::oidc_hostile::oidc_input(op, "op").await;
    admin::add_oidc_connection(
        &mut c,
        "acme",
        &input,
        &ssogate::domain::audit::Actor::Cli,
        now(),
    )
    .unwrap();
    idp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seconds_of_garbage_at_every_public_route_break_nothing() {
    let cli = Cli::new();
    let op = HostileOp::start();
    let key = Key::rsa("k1");
    op.with(|s| s.jwks = json!({"keys": [key.jwk()]}));
    let idp = seed(&cli, &op).await;
    let server = serve(&cli);
    let base = format!("http://127.0.0.1:{}", server.port);
    let pid = server.child.id();
    let pool = storage::build_pool(cli.db_url(), 1).unwrap();
    let db_before = database_bytes(&mut pool.get().unwrap());
    let rss_before = rss_kib(pid);

    // SAML-ish bodies: real responses for this ACS, unsigned or mangled.
    let acs = format!("{base}/t/acme/saml/okta/acs");
    let entity = format!("{base}/t/acme/saml/okta/metadata");
    let mut samlish = Vec::new();
    for i in 0..6 {
        let mut r = Resp::valid_at(&acs, &entity, &idp, Some("_garbage"));
        r.sign = if i % 2 == 0 {
            SignWhat::Nothing
        } else {
            SignWhat::Assertion
        };
        if i == 2 {
            r.destination = Some("x".repeat(150_000));
        }
        if i == 3 {
            r.status = "urn:oasis:names:tc:SAML:2.0:status:Responder".into();
            r.status_message = Some("phish".repeat(1000));
            r.omit_assertion = true;
        }
        let xml = r.signed(&idp);
        samlish.push(STANDARD.encode(if i == 5 {
            xml.replace("saml:", "x:")
        } else {
            xml
        }));
    }
    let samlish = Arc::new(samlish);

    let stop = Instant::now() + RUN_FOR;
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (base, samlish) = (base.clone(), samlish.clone());
            let port = server.port;
            tokio::spawn(async move {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((n as u64 + 1) * 0x1234_5678_9abc));
                let client = crate::helpers::client_builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                let (mut sent, mut transport_errors, mut bad) = (0usize, 0usize, Vec::new());
                while Instant::now() < stop {
                    if rng.below(50) == 0 {
                        let mut r = Rng(rng.next());
                        let status = tokio::task::spawn_blocking(move || raw_garbage(port, &mut r))
                            .await
                            .unwrap();
                        if let Some(s) = status.filter(|s| *s >= 500) {
                            bad.push(format!("raw socket garbage: {s}"));
                        }
                        continue;
                    }
                    let (method, path, headers, body) = garbage(&mut rng, &samlish);
                    let mut req = client.request(
                        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                        format!("{base}{path}"),
                    );
                    for (k, v) in &headers {
                        req = req.header(k, v);
                    }
                    sent += 1;
                    match req.body(body).send().await {
                        Ok(res) => {
                            let s = res.status().as_u16();
                            if s >= 500 {
                                let text = res.text().await.unwrap_or_default();
                                bad.push(format!(
                                    "{method} {path}: {s} {}",
                                    &text[..text.len().min(200)]
                                ));
                            }
                        }
                        // The server may close a connection whose body it refuses to read.
                        Err(_) => transport_errors += 1,
                    }
                }
                (sent, transport_errors, bad)
            })
        })
        .collect();
    let (mut sent, mut transport_errors, mut bad) = (0, 0, Vec::new());
    for t in tasks {
        let (s, e, b) = t.await.unwrap();
        sent += s;
        transport_errors += e;
        bad.extend(b);
    }

    let log = server.log.lock().unwrap().clone();
    let rss_after = rss_kib(pid);
    let mut c = pool.get().unwrap();
    let db_after = database_bytes(&mut c);
    let tenant = admin::tenant_by_slug(&mut c, "acme").unwrap();
    let counted: i64 =
        ssogate::storage::refusal_counts::page(&mut c, tenant.id, &Default::default(), None, 1000)
            .unwrap()
            .iter()
            .map(|r| r.refusals)
            .sum();
    let rows = ssogate::storage::login_attempts::list(&mut c, tenant.id, None, 1000)
        .unwrap()
        .len();
    let pending: i64 = {
        use diesel::prelude::*;
        use ssogate::storage::schema::{pending_authn_requests as s, pending_oidc_requests as o};
        s::table.count().get_result::<i64>(&mut c).unwrap()
            + o::table.count().get_result::<i64>(&mut c).unwrap()
    };
    println!(
        "{sent} garbage requests in {RUN_FOR:?} ({transport_errors} closed early): RSS {rss_before} -> {rss_after} KiB, database {db_before} -> {db_after} bytes; {counted} refusals counted, {rows} attempt rows, {pending} sign-ins pending"
    );
    assert!(counted > 0, "the garbage reached the ACS and the callback");
    assert!(
        pending <= 100,
        "sign-ins in progress stay bounded: {pending}"
    );
    assert!(bad.is_empty(), "5xx answers:\n{}", bad.join("\n"));
    assert!(sent > 200, "only {sent} requests went out");
    assert!(
        transport_errors * 20 < sent,
        "{transport_errors} of {sent} requests got no answer"
    );
    let mut server = server;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server died: {log}"
    );
    assert!(!log.contains("panicked"), "a panic: {log}");
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(
        db_after - db_before < 5 * 1024 * 1024,
        "the database grew by {} bytes",
        db_after - db_before
    );
    assert!(
        rss_after < rss_before + 128 * 1024,
        "memory grew from {rss_before} to {rss_after} KiB"
    );
}
