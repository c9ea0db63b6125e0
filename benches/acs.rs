//! ACS throughput: completed sign-ins per second through `POST /t/{tenant}/saml/{conn}/acs`
//! (SAML validation + request binding + replay cache + just-in-time provisioning + session),
//! with latency percentiles, plus a single-threaded `validate_response` micro-measure that
//! separates the XML-signature work from the database work.
//!
//! ```text
//! cargo bench --bench acs                              # SQLite file in a tempdir
//! TEST_DB=postgres cargo bench --bench acs     # throwaway DB on postgres://postgres@127.0.0.1:5432
//! BENCH_LOGINS=2000 BENCH_CONCURRENCY=16 BENCH_VALIDATE_ITERS=1000 cargo bench --bench acs
//! ```
//!
//! The server and the load generator share the machine (and this process), so the numbers are
//! a floor for what the server alone would do.
mod common;

use common::saml::{
    CONN, IDP_ENTITY_ID, IDP_SSO_URL, Idp, Person, TENANT, VALIDITY_SECS, acs_form, setup_tenant,
    signed_response,
};
use common::{Db, env_usize, now, percentile};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ssogate::clock::SystemClock;
use ssogate::config::{LogSettings, Secret, Settings};
use ssogate::domain::connection::{SamlIdpSettings, SignatureAlgorithm};
use ssogate::protocol::saml::{AcsContext, SpEndpoints, validate_response};
use ssogate::service::admin;
use ssogate::startup::Application;
use ssogate::storage;

/// Reads the ID and RelayState out of a Redirect-binding AuthnRequest URL.
fn parse_authn_redirect(location: &str) -> (String, String) {
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
    (
        doc.root_element().attribute("ID").expect("ID").to_owned(),
        q["RelayState"].clone(),
    )
}

// ---------------------------------------------------------------------------------------------
// App and database.

fn settings(db_url: &str) -> Settings {
    let mut s = Settings::default();
    s.server.port = 0;
    s.server.workers = 2;
    s.database.url = db_url.to_owned();
    s.database.pool_size = 8;
    s.session.secret = Some(Secret::new(
        "bench-session-secret-with-at-least-32-chars".into(),
    ));
    s.saml.request_ttl_secs = VALIDITY_SECS;
    s.log.level = "error".into();
    // A load test is a flood from one address (and one token): the built-in rate limits
    // would refuse most of it, so they are off here, explicitly.
    s.rate_limit.enabled = false;
    s
}

// ---------------------------------------------------------------------------------------------
// Load generation.

/// `count` SP-initiated starts (GET /t/acme/login?connection=okta), `concurrency` at a time.
async fn start_logins(
    client: &reqwest::Client,
    base: &str,
    count: usize,
    concurrency: usize,
) -> Vec<(String, String, String)> {
    let url = Arc::new(format!("{base}/t/{TENANT}/login?connection={CONN}"));
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.min(count.max(1)) {
        let (client, url, next) = (client.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return out;
                }
                let res = client
                    .get(url.as_str())
                    .send()
                    .await
                    .expect("login start request");
                assert_eq!(res.status(), 303, "login start should redirect to the IdP");
                let location = res.headers()["location"].to_str().unwrap().to_owned();
                // The browser-binding cookie (login CSRF) must come back with the response.
                let cookie = res.headers()["set-cookie"].to_str().unwrap();
                let cookie = cookie.split(';').next().unwrap().to_owned();
                let (id, rs) = parse_authn_redirect(&location);
                out.push((i, (id, rs, cookie)));
            }
        }));
    }
    let mut all = Vec::with_capacity(count);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

struct Outcome {
    latency: Duration,
    ok: bool,
    status: u16,
    body: String,
}

/// POSTs every form body to the ACS, `concurrency` at a time. Returns outcomes in body order
/// and the wall time.
async fn post_all(
    client: &reqwest::Client,
    acs_url: &str,
    bodies: Vec<(String, String)>,
    concurrency: usize,
) -> (Vec<Outcome>, Duration) {
    let count = bodies.len();
    let bodies = Arc::new(bodies);
    let url = Arc::new(acs_url.to_owned());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.min(count.max(1)) {
        let (client, url, next, bodies) =
            (client.clone(), url.clone(), next.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return out;
                }
                let t0 = Instant::now();
                let res = client
                    .post(url.as_str())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("cookie", bodies[i].1.as_str())
                    .body(bodies[i].0.clone())
                    .send()
                    .await;
                let outcome = match res {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let has_cookie = res.headers().contains_key("set-cookie");
                        let body = res.text().await.unwrap_or_default();
                        let ok = status == 303 && has_cookie;
                        let body = if ok {
                            String::new()
                        } else if has_cookie {
                            body
                        } else {
                            format!("(no Set-Cookie) {body}")
                        };
                        Outcome {
                            latency: t0.elapsed(),
                            ok,
                            status,
                            body,
                        }
                    }
                    Err(e) => Outcome {
                        latency: t0.elapsed(),
                        ok: false,
                        status: 0,
                        body: format!("transport error: {e}"),
                    },
                };
                out.push((i, outcome));
            }
        }));
    }
    let mut all = Vec::with_capacity(count);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = started.elapsed();
    all.sort_by_key(|(i, _)| *i);
    (all.into_iter().map(|(_, o)| o).collect(), wall)
}

fn print_errors(label: &str, outcomes: &[Outcome]) -> usize {
    let errors: Vec<&Outcome> = outcomes.iter().filter(|o| !o.ok).collect();
    for o in errors.iter().take(5) {
        let body: String = o.body.chars().take(300).collect();
        eprintln!(
            "  {label} error after {:.0} ms: status {} body: {}",
            o.latency.as_secs_f64() * 1000.0,
            o.status,
            body.replace('\n', " ")
        );
    }
    errors.len()
}

fn new_person(i: usize) -> Person {
    Person {
        subject: format!("bench-new-{i}"),
        email: format!("new{i}@acme.test"),
        first: "Grace",
        last: "Hopper",
    }
}

fn existing_person(i: usize, first: &'static str) -> Person {
    Person {
        subject: format!("bench-old-{i}"),
        email: format!("old{i}@acme.test"),
        first,
        last: "Lovelace",
    }
}

// ---------------------------------------------------------------------------------------------

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(run());
}

async fn run() {
    let n = env_usize("BENCH_LOGINS", 2000).max(2);
    let concurrency = env_usize("BENCH_CONCURRENCY", 16).max(1);
    let validate_iters = env_usize("BENCH_VALIDATE_ITERS", 1000).max(1);
    let n_existing = n / 2;
    let n_new = n - n_existing;

    ssogate::telemetry::init(&LogSettings {
        format: Default::default(),
        level: "error".into(),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::fresh(dir.path(), "ssogate");
    let app = Application::build_with_clock(settings(db.url()), Arc::new(SystemClock))
        .await
        .expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let pool = storage::build_pool(db.url(), 2).expect("pool");
    let idp = Idp::new();
    setup_tenant(&pool, &idp, false);
    let sp = SpEndpoints::new(&base, TENANT, CONN);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    println!("ssogate ACS benchmark");
    println!("  backend      {}", db.backend());
    println!(
        "  server       2 workers, pool_size 8, log level error; load generator in the same process"
    );
    println!(
        "  mix          {n} sign-ins: {n_new} first sign-ins of new users (JIT create) + {n_existing} repeat sign-ins \
         of existing users (linked identity, firstName changed -> attribute update), interleaved"
    );

    // Untimed: the existing users sign in once (firstName "Ada"), one at a time so that
    // SQLite lock contention cannot spoil the set-up.
    let prep = Instant::now();
    let starts = start_logins(&client, &base, n_existing, concurrency).await;
    let bodies: Vec<(String, String)> = starts
        .iter()
        .enumerate()
        .map(|(i, (id, rs, cookie))| {
            let form = acs_form(
                &signed_response(&idp, &sp, Some(id), &existing_person(i, "Ada")),
                Some(rs),
            );
            (form, cookie.clone())
        })
        .collect();
    let (outcomes, _) = post_all(&client, &sp.acs_url, bodies, 1).await;
    let pre_errors = print_errors("pre-create", &outcomes);
    assert_eq!(pre_errors, 0, "pre-creating the existing users failed");
    println!(
        "  pre-created  {n_existing} users in {:.1}s (untimed)",
        prep.elapsed().as_secs_f64()
    );

    // Untimed: N pending requests, and N signed responses answering them.
    let prep = Instant::now();
    let starts = start_logins(&client, &base, n, concurrency).await;
    let (mut next_new, mut next_old) = (0, 0);
    let bodies: Vec<(String, String)> = starts
        .iter()
        .enumerate()
        .map(|(i, (id, rs, cookie))| {
            let who = if i % 2 == 0 && next_new < n_new || next_old >= n_existing {
                next_new += 1;
                new_person(next_new - 1)
            } else {
                next_old += 1;
                existing_person(next_old - 1, "Augusta")
            };
            (
                acs_form(&signed_response(&idp, &sp, Some(id), &who), Some(rs)),
                cookie.clone(),
            )
        })
        .collect();
    let sample_body = bodies[0].0.clone();
    println!(
        "  prepared     {n} login starts + signed responses in {:.1}s (untimed)",
        prep.elapsed().as_secs_f64()
    );

    // Timed.
    let (outcomes, wall) = post_all(&client, &sp.acs_url, bodies, concurrency).await;
    let errors = print_errors("timed", &outcomes);
    let mut lat: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    lat.sort();
    let ok = n - errors;
    let rate = ok as f64 / wall.as_secs_f64();

    // Sanity: every user exists and the repeat sign-ins updated the first name.
    let (mut users, mut renamed) = (0, 0);
    {
        let mut c = pool.get().expect("db connection");
        let mut offset = 0;
        loop {
            let tenant = admin::tenant_by_slug(&mut c, TENANT).expect("tenant");
            let page = admin::users::list_users_by_offset(
                &mut c,
                &tenant,
                admin::users::UserViewKind::All,
                1000,
                offset,
            )
            .expect("list users");
            users += page.len();
            renamed += page
                .iter()
                .filter(|u| u.first_name.as_deref() == Some("Augusta"))
                .count();
            if page.len() < 1000 {
                break;
            }
            offset += 1000;
        }
    }

    println!();
    println!("ACS sign-ins ({})", db.backend());
    println!("  N            {n}");
    println!("  concurrency  {concurrency}");
    println!("  wall time    {:.2} s", wall.as_secs_f64());
    println!("  logins/s     {rate:.1}");
    println!(
        "  latency ms   p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        percentile(&lat, 50.0),
        percentile(&lat, 90.0),
        percentile(&lat, 99.0),
        percentile(&lat, 100.0)
    );
    println!("  errors       {errors}");
    println!(
        "  check        {users} users in tenant (expected {}), {renamed} renamed (expected {n_existing})",
        n_new + n_existing
    );

    // Validation only: one response, validated repeatedly on this thread (no database).
    let saml_response = url::form_urlencoded::parse(sample_body.as_bytes())
        .find(|(k, _)| k == "SAMLResponse")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let idp_settings = SamlIdpSettings {
        idp_entity_id: IDP_ENTITY_ID.into(),
        idp_sso_url: IDP_SSO_URL.into(),
        idp_certificates: vec![idp.cert_der.clone()],
        allowed_algorithms: SignatureAlgorithm::ALL.to_vec(),
        allow_idp_initiated: false,
        allow_unbound_responses: false,
        sign_requests: false,
        clock_skew_secs: 60,
    };
    let max_response_bytes = Settings::default().saml.max_response_bytes;
    let ctx = AcsContext {
        idp: &idp_settings,
        sp: &sp,
        now: now(),
        max_response_bytes,
    };
    validate_response(&saml_response, &ctx).expect("the sample response validates");
    let t0 = Instant::now();
    for _ in 0..validate_iters {
        std::hint::black_box(
            validate_response(std::hint::black_box(&saml_response), &ctx).expect("validates"),
        );
    }
    let per = t0.elapsed().as_secs_f64() / validate_iters as f64;
    println!();
    println!(
        "validate_response only (one thread, one {}-byte response, {validate_iters} iterations)",
        saml_response.len()
    );
    println!("  per call     {:.3} ms", per * 1000.0);
    println!("  calls/s      {:.1}", 1.0 / per);
    println!(
        "  share        validation is ~{:.0}% of the ACS's per-login budget at the measured rate on 2 cores ({:.2} ms CPU-equivalent each)",
        100.0 * per * rate / 2.0,
        2000.0 / rate
    );

    server.abort();
    drop(pool);
    db.drop_database();
    if errors > 0 {
        std::process::exit(1);
    }
}
