//! Prometheus metrics on their own listener (`metrics.bind`): scraped and parsed after real
//! sign-ins, SCIM requests and a refresh of the database gauges. Each test app has its own
//! registry, so the values read here are this app's alone.
use std::collections::BTreeMap;

use serde_json::json;
use ssogate::service::admin::TenantInput;
use ssogate::storage;

use crate::helpers::{TestApp, now, spawn_app, spawn_app_at};
use crate::oidc_flow::{self, NodeOp};

const ACS_ROUTE: &str = "/t/{tenant}/saml/{connection}/acs";

/// One sample of the text exposition format.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A small parser of the Prometheus text format: `name{k="v",...} value`, comments skipped.
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => panic!("no value: {line}"),
        };
        let mut labels = BTreeMap::new();
        let mut rest = rest;
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices();
            let mut key = String::new();
            let end = loop {
                let (i, c) = chars.next().unwrap_or_else(|| panic!("unclosed: {line}"));
                match c {
                    '}' => break i,
                    ',' | ' ' => {}
                    '=' => {
                        assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                        let mut value = String::new();
                        loop {
                            match chars.next().map(|(_, c)| c) {
                                Some('"') => break,
                                Some('\\') => match chars.next().map(|(_, c)| c) {
                                    Some('n') => value.push('\n'),
                                    Some(c) => value.push(c),
                                    None => panic!("bad escape: {line}"),
                                },
                                Some(c) => value.push(c),
                                None => panic!("unclosed value: {line}"),
                            }
                        }
                        labels.insert(std::mem::take(&mut key), value);
                    }
                    c => key.push(c),
                }
            };
            rest = &body[end + 1..];
        }
        let value = rest.split_whitespace().next().expect("a value");
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        out.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    out
}

struct Scrape(Vec<Sample>);

impl Scrape {
    /// The value of the one sample of `name` with these labels (others may be present).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<&Sample> = self
            .0
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?}: several samples");
        found.first().map(|s| s.value)
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|s| s.name == name)
    }

    /// Whether any label of any sample contains `text`.
    fn any_label_contains(&self, text: &str) -> bool {
        self.0
            .iter()
            .any(|s| s.labels.values().any(|v| v.contains(text)))
    }
}

async fn metrics_app(t0: i64) -> TestApp {
    spawn_app_at(t0, |s| {
        s.metrics.bind = "127.0.0.1:0".into();
        s.metrics.refresh_interval_secs = 1;
    })
    .await
}

async fn get(url: &str) -> (u16, String) {
    let res = reqwest::get(url).await.expect("metrics listener answers");
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn scrape(app: &TestApp) -> Scrape {
    let base = app.metrics_address.as_deref().expect("metrics listener on");
    let (status, body) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200, "{body}");
    Scrape(parse(&body))
}

/// Scrapes until `check` holds (the gauges are refreshed by a job every second).
async fn scrape_until(app: &TestApp, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
    let base = app.metrics_address.clone().expect("metrics listener on");
    let url = format!("{base}/metrics");
    let mut last = None;
    for _ in 0..400 {
        let (_, body) = get(&url).await;
        let s = Scrape(parse(&body));
        if check(&s) {
            return s;
        }
        last = Some(body);
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!(
        "{what} never held; last scrape:\n{}",
        last.unwrap_or_default()
    );
}

fn sign_ins(s: &Scrape, outcome: &str, reason: &str) -> Option<f64> {
    s.value(
        "ssogate_sign_ins_total",
        &[
            ("tenant", "acme"),
            ("connection", "okta"),
            ("protocol", "saml"),
            ("outcome", outcome),
            ("reason", reason),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_and_requests_are_counted_by_route_template() {
    let app = metrics_app(now()).await;
    let idp = crate::support::sign_in::acme(&app, TenantInput::default());
    let before = scrape(&app).await;
    assert_eq!(sign_ins(&before, "success", "success"), None);

    assert_eq!(app.sign_in(&idp).status().await, 303);
    let refused = app
        .sign_in(&idp)
        .edit(|r| r.audience = Some("https://someone-else.example".into()))
        .status()
        .await;
    assert_eq!(refused, 403);
    assert_eq!(app.last_reason("acme"), "audience_mismatch");
    // A body far over the cap is refused while reading, and counted too.
    let res = reqwest::Client::new()
        .post(app.acs_url("acme", "okta"))
        .form(&[("SAMLResponse", "A".repeat(2 * 1024 * 1024))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);

    let s = scrape(&app).await;
    assert_eq!(sign_ins(&s, "success", "success"), Some(1.0));
    assert_eq!(sign_ins(&s, "refused", "audience_mismatch"), Some(1.0));
    assert_eq!(sign_ins(&s, "refused", "response_too_large"), Some(1.0));
    // The ACS is counted under its route template, never its path.
    assert_eq!(
        s.value(
            "ssogate_http_requests_total",
            &[("route", ACS_ROUTE), ("status", "303")]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.value(
            "ssogate_http_requests_total",
            &[("route", ACS_ROUTE), ("status", "403")]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.value(
            "ssogate_http_request_duration_seconds_count",
            &[("route", ACS_ROUTE)]
        ),
        Some(3.0)
    );
    assert_eq!(
        s.value(
            "ssogate_http_requests_total",
            &[("route", ACS_ROUTE), ("status", "413")]
        ),
        Some(1.0)
    );
    assert!(
        !s.any_label_contains("/t/acme/"),
        "a raw path became a label"
    );

    // Process metrics.
    for name in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(s.has(name), "{name} missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_tenants_and_connections_add_no_series() {
    let app = metrics_app(now()).await;
    let idp = crate::support::sign_in::acme(&app, TenantInput::default());
    let _ = idp;
    for path in [
        "/no/such/page-x7",
        "/t/evil-tenant-x7/saml/evil-conn-x7/acs",
        "/t/acme/saml/evil-conn-x7/acs",
    ] {
        let res = app.client.post(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    let res = app
        .client
        .get(app.url("/t/evil-tenant-x7/scim/v2/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let s = scrape(&app).await;
    assert!(
        !s.any_label_contains("x7"),
        "a client's words became a label"
    );
    assert_eq!(
        s.value(
            "ssogate_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.value(
            "ssogate_http_requests_total",
            &[("route", ACS_ROUTE), ("status", "404")]
        ),
        Some(2.0)
    );
    assert_eq!(
        s.value(
            "ssogate_scim_requests_total",
            &[
                ("tenant", "unknown"),
                ("operation", "users.list"),
                ("status", "401")
            ]
        ),
        Some(1.0)
    );
    // No sign-in was recorded, so none is counted.
    assert!(!s.has("ssogate_sign_ins_total"));

    // The metrics listener serves /metrics only.
    let base = app.metrics_address.clone().unwrap();
    assert_eq!(get(&format!("{base}/")).await.0, 404);
    assert_eq!(get(&format!("{base}/metrics/x")).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_requests_are_counted_per_tenant_and_operation() {
    let app = metrics_app(now()).await;
    crate::support::sign_in::acme(&app, TenantInput::default());
    let scim = app.scim("acme");
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "grace@acme.test",
        "emails": [{"value": "grace@acme.test", "primary": true}],
    });
    let (status, user) = scim.post("/Users", body).await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(scim.get(&format!("/Users/{id}")).await.0, 200);
    assert_eq!(scim.get("/Users").await.0, 200);
    assert_eq!(scim.get("/ServiceProviderConfig").await.0, 200);
    assert_eq!(scim.delete(&format!("/Users/{id}")).await.0, 204);

    let s = scrape(&app).await;
    for (op, status) in [
        ("users.create", "201"),
        ("users.get", "200"),
        ("users.list", "200"),
        ("discovery", "200"),
        ("users.delete", "204"),
    ] {
        assert_eq!(
            s.value(
                "ssogate_scim_requests_total",
                &[("tenant", "acme"), ("operation", op), ("status", status)]
            ),
            Some(1.0),
            "{op}"
        );
    }
    assert!(
        !s.any_label_contains(&format!("/{id}")),
        "a SCIM path became a label"
    );
    assert_eq!(
        s.value(
            "ssogate_http_requests_total",
            &[
                ("route", "/t/{tenant}/scim/v2/Users/{id}"),
                ("status", "204")
            ]
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresh_job_reports_outbox_users_and_certificate_expiry() {
    let t0 = now();
    let app = metrics_app(t0).await;
    let idp = crate::support::sign_in::acme(&app, TenantInput::default());
    let user = app.sign_in(&idp).user_id().await;
    let tenant = app
        .with_db(|c| ssogate::service::admin::tenant_by_slug(c, "acme"))
        .unwrap();
    app.with_db(|c| {
        storage::outbox::enqueue(
            c,
            &storage::outbox::NewEvent {
                tenant: tenant.id,
                user: ssogate::domain::ids::UserId(user),
                event: "user.updated",
                payload: "{}",
                create_iwms: false,
            },
            t0,
        )
    })
    .unwrap();
    app.dead_outbox_event("acme", user, "refused");
    // The job reads the app's clock: the pending event is 600 s old once it has moved.
    app.advance(600);

    let s = scrape_until(&app, "the gauges refreshed", |s| {
        s.value("ssogate_outbox_oldest_pending_seconds", &[]) == Some(600.0)
            && s.value("ssogate_users", &[("tenant", "acme"), ("view", "active")]) == Some(1.0)
    })
    .await;
    assert_eq!(
        s.value("ssogate_outbox_events", &[("state", "pending")]),
        Some(1.0)
    );
    assert_eq!(
        s.value("ssogate_outbox_events", &[("state", "dead")]),
        Some(1.0)
    );
    assert_eq!(
        s.value("ssogate_outbox_events", &[("state", "delivered")]),
        Some(0.0)
    );
    for (view, n) in [("stale", 0.0), ("deactivated", 0.0), ("all", 1.0)] {
        assert_eq!(
            s.value("ssogate_users", &[("tenant", "acme"), ("view", view)]),
            Some(n),
            "{view}"
        );
    }
    let cert = ssogate::protocol::saml::certificate::summary(&idp.cert_der).unwrap();
    let expected = (cert.not_after - (t0 + 600)) as f64 / 86_400.0;
    let days = s
        .value(
            "ssogate_saml_certificate_expiry_days",
            &[("tenant", "acme"), ("connection", "okta")],
        )
        .expect("certificate gauge");
    assert!((days - expected).abs() < 1e-6, "{days} != {expected}");
}

/// OpenID Connect sign-ins are counted like SAML ones, under `protocol="oidc"`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_sign_ins_are_counted() {
    let app = metrics_app(now()).await;
    app.create_tenant(
        "acme",
        TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    app.add_domain("acme", "acme.test");
    let callback = app.url("/t/acme/oidc/okta/callback");
    let op = NodeOp::start(&callback, &[]);
    oidc_flow::connect(&app, &op, true).await;
    let res = oidc_flow::sign_in(&app, &callback).await;
    assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
    // A callback no sign-in started is refused (and recorded).
    let res = app
        .client
        .get(format!("{callback}?state=made-up&code=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let s = scrape(&app).await;
    let oidc = |outcome: &str| -> f64 {
        s.0.iter()
            .filter(|x| x.name == "ssogate_sign_ins_total")
            .filter(|x| x.labels.get("protocol").map(String::as_str) == Some("oidc"))
            .filter(|x| x.labels.get("outcome").map(String::as_str) == Some(outcome))
            .filter(|x| x.labels.get("tenant").map(String::as_str) == Some("acme"))
            .filter(|x| x.labels.get("connection").map(String::as_str) == Some("okta"))
            .map(|x| x.value)
            .sum()
    };
    assert_eq!(oidc("success"), 1.0);
    assert_eq!(oidc("refused"), 1.0);
    assert!(!s.any_label_contains("made-up"));
}

#[tokio::test]
async fn an_empty_bind_turns_the_listener_off() {
    // test_settings leaves `metrics.bind` empty.
    let app = spawn_app().await;
    assert!(app.metrics_address.is_none());
    let settings = ssogate::config::Settings::load(
        None,
        vec![("SSOGATE_METRICS__BIND".to_owned(), String::new())],
    )
    .unwrap();
    assert_eq!(settings.metrics.bind_addr().unwrap(), None);
}

/// A metrics address that cannot be bound stops start-up with an error naming the key.
#[tokio::test]
async fn an_unusable_bind_names_the_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (db_url, _db) = crate::helpers::fresh_database(dir.path());
    let mut settings = crate::helpers::test_settings(&db_url);
    settings.metrics.bind = taken.local_addr().unwrap().to_string();
    let err = match ssogate::startup::Application::build(settings).await {
        Ok(_) => panic!("started on a port in use"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("metrics.bind"), "{err}");
}
