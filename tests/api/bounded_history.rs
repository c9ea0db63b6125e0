//! Unauthenticated input never grows storage without bound: refusals nothing ties to a sign-in
//! are counted per connection, reason and hour (and still shown: API, console, CLI), every
//! stored string is capped, the sign-in history has a retention, and sign-ins in progress are
//! bounded per client address.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use ssogate::domain::history::{CUT_MARK, STORED_TEXT_MAX};
use ssogate::service::admin::{TenantInput, access};
use ssogate::service::maintenance;
use ssogate::storage::DbConnection;

use crate::cli::Cli;
use crate::helpers::{
    TestApp, default_saml_input, form_value, now, spawn_app, spawn_app_at, spawn_app_with,
};
use crate::saml_fixtures::{Resp, SignWhat, TestIdp};

const T: &str = "acme";
const C: &str = "okta";

fn setup_tenant(app: &TestApp) -> TestIdp {
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    app.create_tenant(
        T,
        TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    app.add_domain(T, "acme.test");
    app.add_connection(T, default_saml_input(C, &idp));
    idp
}

#[derive(QueryableByName)]
struct Bytes {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The database's size as the backend counts it: SQLite's pages (WAL frames included),
/// PostgreSQL's `pg_database_size`.
pub fn database_bytes(c: &mut DbConnection) -> i64 {
    match c {
        DbConnection::Sqlite(s) => diesel::sql_query(
            "SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()",
        )
        .get_result::<Bytes>(s),
        DbConnection::Pg(p) => {
            diesel::sql_query("SELECT pg_database_size(current_database()) AS n")
                .get_result::<Bytes>(p)
        }
    }
    .expect("database size")
    .n
}

/// The attack of issue 13: an unsigned Response whose Destination is 190 KB, from a browser
/// that started nothing.
fn hostile_destination_post(app: &TestApp, idp: &TestIdp) -> String {
    let mut r = Resp::valid(app, T, C, idp, None);
    r.destination = Some(format!("https://evil.example/{}", "x".repeat(190_000)));
    r.sign = SignWhat::Nothing;
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", &STANDARD.encode(r.signed(idp)))
        .finish();
    assert!(body.len() > 190_000);
    body
}

async fn post_raw(client: &reqwest::Client, app: &TestApp, body: &str) -> u16 {
    client
        .post(app.acs_url(T, C))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Issue 13's target: 10,000 hostile ACS posts of 190 KB grow the database by under 5 MB,
/// and the sign-in history still says what happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_hostile_acs_posts_grow_the_database_by_under_5_mb() {
    const POSTS: usize = 10_000;
    let app = spawn_app_with(|s| {
        s.server.workers = 2;
        // This measures what the history stores, not the rate limits (tests/api/rate_limits.rs):
        // every post must reach the ACS.
        s.rate_limit.enabled = false;
    })
    .await;
    let idp = setup_tenant(&app);
    let body = Arc::new(hostile_destination_post(&app, &idp));
    let rows_before = app.sign_ins(T).len();
    let before = app.with_db(database_bytes);
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let app = Arc::new(app);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (app, body, next) = (app.clone(), body.clone(), next.clone());
            tokio::spawn(async move {
                let client = crate::helpers::client_builder().build().unwrap();
                let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
                while next.fetch_add(1, Ordering::Relaxed) < POSTS {
                    *statuses
                        .entry(post_raw(&client, &app, &body).await)
                        .or_default() += 1;
                }
                statuses
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for w in workers {
        for (s, n) in w.await.unwrap() {
            *statuses.entry(s).or_default() += n;
        }
    }
    let took = started.elapsed();
    let after = app.with_db(database_bytes);
    let grown = after - before;
    println!(
        "{POSTS} hostile ACS posts of {} bytes in {took:?}: database {before} -> {after} bytes (+{grown})",
        body.len()
    );
    assert_eq!(statuses, [(403, POSTS)].into(), "every post refused");
    assert!(
        grown < 5 * 1024 * 1024,
        "the database grew by {grown} bytes"
    );
    // Nothing of them is a row; the history counts them.
    assert_eq!(app.sign_ins(T).len(), rows_before, "no row per post");
    let counted = app.counted_refusals(T);
    let total: i64 = counted.iter().map(|c| c.refusals).sum();
    assert_eq!(total, POSTS as i64, "{counted:?}");
    assert!(
        counted
            .iter()
            .all(|c| c.reason == "destination_mismatch" && c.connection == C),
        "{counted:?}"
    );
    assert!(counted.len() <= 2, "one count per hour: {counted:?}");
    let detail = &counted[0].detail;
    assert!(
        detail.starts_with("Destination `https://evil.example/xxx") && detail.contains(CUT_MARK),
        "{detail}"
    );
    assert!(detail.chars().count() <= STORED_TEXT_MAX);
}

/// Rows keep what tells admins what happened, never more than 300 characters of it.
#[tokio::test]
async fn every_string_stored_from_a_request_is_capped_and_marked() {
    let app = spawn_app().await;
    let idp = setup_tenant(&app);
    let capped = |s: &str| s.chars().count() <= STORED_TEXT_MAX && s.contains(CUT_MARK);
    // The browser's own request answered by an unsigned response with a 190 KB Destination:
    // a row (it answers a sign-in of this browser), its detail cut.
    let (req, rs) = app.start_login(T, C, None).await;
    let mut r = Resp::valid(&app, T, C, &idp, Some(&req));
    r.destination = Some(format!("https://evil.example/{}", "y".repeat(190_000)));
    r.sign = SignWhat::Nothing;
    assert_eq!(
        app.post_acs(T, C, &r.signed(&idp), Some(&rs))
            .await
            .status(),
        403
    );
    let row = &app.sign_ins(T)[0];
    assert_eq!(row.reason, "destination_mismatch");
    assert!(capped(&row.detail), "{}", row.detail);
    // A signed response whose NameID and email are huge, refused at provisioning: subject,
    // email and detail all within the cap.
    let (req, rs) = app.start_login(T, C, None).await;
    let long_email = format!("{}@elsewhere.example", "e".repeat(5_000));
    let mut r = Resp::valid(&app, T, C, &idp, Some(&req)).attr("email", &long_email);
    r.name_id = "n".repeat(5_000);
    assert_eq!(
        app.post_acs(T, C, &r.signed(&idp), Some(&rs))
            .await
            .status(),
        403
    );
    let row = &app.sign_ins(T)[0];
    let subject = row.subject.as_deref().unwrap_or_default();
    let email = row.email.as_deref().unwrap_or_default();
    assert!(capped(subject), "{subject}");
    assert!(email.chars().count() <= STORED_TEXT_MAX, "{email}");
    assert!(row.detail.chars().count() <= STORED_TEXT_MAX);
    // A signed response to an unknown request, with a 190 KB Audience.
    let mut r = Resp::valid(&app, T, C, &idp, Some("_no-such-request"));
    r.audience = Some("z".repeat(190_000));
    assert_eq!(
        app.post_acs(T, C, &r.signed(&idp), None).await.status(),
        403
    );
    let row = &app.sign_ins(T)[0];
    assert_eq!(row.reason, "audience_mismatch", "signed: a row");
    assert!(capped(&row.detail), "{}", row.detail);
}

fn hour(t: i64) -> i64 {
    t - t.rem_euclid(3600)
}

/// Counted per connection, reason and hour, and shown by every history view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_counted_per_connection_reason_and_hour_in_every_view() {
    let t0 = now();
    let app = spawn_app_at(t0, |_| {}).await;
    let idp = setup_tenant(&app);
    app.add_connection(T, default_saml_input("entra", &idp));
    let hostile = hostile_destination_post(&app, &idp);
    let client = crate::helpers::client_builder().build().unwrap();
    for _ in 0..2 {
        assert_eq!(post_raw(&client, &app, &hostile).await, 403);
    }
    // A body far over the cap is cut off while reading: counted too.
    let huge = "A".repeat(2 * 1024 * 1024);
    let res = client
        .post(app.acs_url(T, C))
        .form(&[("SAMLResponse", huge)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // Another connection, garbage.
    let res = client
        .post(app.acs_url(T, "entra"))
        .form(&[("SAMLResponse", "!!!")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    app.advance(3600);
    assert_eq!(post_raw(&client, &app, &hostile).await, 403);
    assert!(app.sign_ins(T).is_empty(), "no rows");

    let mut got: Vec<(String, String, i64, i64)> = app
        .counted_refusals(T)
        .into_iter()
        .map(|c| (c.connection, c.reason, c.hour_start, c.refusals))
        .collect();
    got.sort();
    let h0 = hour(t0);
    assert_eq!(
        got,
        [
            ("entra".into(), "malformed_encoding".into(), h0, 1),
            (C.into(), "destination_mismatch".into(), h0, 2),
            (C.into(), "destination_mismatch".into(), h0 + 3600, 1),
            (C.into(), "response_too_large".into(), h0, 1),
        ]
    );

    // The API: newest first, filtered, paged.
    let token = app
        .with_db(|c| {
            access::create_token(
                c,
                Some(T),
                "tests",
                Some(90),
                &ssogate::domain::audit::Actor::Cli,
                now(),
            )
        })
        .unwrap()
        .token;
    let get = |path: String| {
        let (client, token) = (client.clone(), token.clone());
        let url = app.url(&format!("/api/v1/tenants/{T}/{path}"));
        async move {
            let res = client.get(url).bearer_auth(token).send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (s, page) = get("refusal-counts".into()).await;
    assert_eq!(s, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{page}");
    assert_eq!(items[0]["hour"], h0 + 3600, "newest first: {page}");
    assert_eq!(
        (
            &items[0]["reason"],
            &items[0]["connection"],
            &items[0]["count"]
        ),
        (&"destination_mismatch".into(), &C.into(), &1.into())
    );
    let (_, page) = get("refusal-counts?reason=destination_mismatch&connection=okta".into()).await;
    let counts: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [1, 2]);
    let (_, first) = get("refusal-counts?limit=3".into()).await;
    let before = first["next_before"].as_i64().expect("a next page");
    let (_, rest) = get(format!("refusal-counts?limit=3&before={before}")).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_before"].is_null());
    assert_eq!(get("refusal-counts?connection=nope".into()).await.0, 404);
    assert_eq!(get("refusal-counts?reason=nope".into()).await.0, 400);
    let (_, attempts) = get("sign-ins".into()).await;
    assert!(attempts["items"].as_array().unwrap().is_empty());

    // The console's sign-in history.
    let browser = crate::helpers::client_builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let link = app
        .with_db(|c| access::create_bootstrap_link(c, app.now(), 600))
        .unwrap();
    let html = browser
        .get(app.url(&format!("/admin/bootstrap?token={link}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = browser
        .post(app.url("/admin/bootstrap"))
        .form(&[("token", form_value(&html, "token").unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let history = browser
        .get(app.url("/admin/t/acme/sign-ins?connection=okta"))
        .send()
        .await
        .unwrap();
    assert_eq!(history.status(), 200);
    let html = history.text().await.unwrap();
    assert!(html.contains("Refusals counted per hour"), "{html}");
    for text in [
        "destination_mismatch",
        "response_too_large",
        "<td class=\"count\">2</td>",
    ] {
        assert!(html.contains(text), "{text} in {html}");
    }
    assert!(!html.contains("<td>entra</td>"), "filtered to okta: {html}");
    // One user's sign-ins, or successes, have no counts.
    let only_successes = browser
        .get(app.url("/admin/t/acme/sign-ins?outcome=success"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!only_successes.contains("Refusals counted per hour"));

    // The CLI.
    let cli = Cli::with_db(&app.db_url);
    let out = cli.ok(&["sign-ins", "--tenant", T]);
    assert!(out.contains("Refusals counted per hour"), "{out}");
    assert!(out.contains("destination_mismatch"), "{out}");
    let json = cli.json(&["sign-ins", "--tenant", T, "--json"]);
    assert_eq!(json["attempts"].as_array().unwrap().len(), 0, "{json}");
    let counted = json["counted_refusals"].as_array().unwrap();
    assert_eq!(counted.len(), 4, "{json}");
    assert_eq!(counted[0]["refusals"], 1);
}

/// `sign_ins.retention_days` (default 180): the cleanup job purges older attempts and counts,
/// and nothing younger.
#[tokio::test]
async fn the_cleanup_job_purges_sign_in_history_past_its_retention() {
    let t0 = now();
    let mut retention = None;
    let app = spawn_app_at(t0, |s| {
        assert_eq!(s.sign_ins.retention_days, 180, "the default");
        retention = Some(ssogate::service::maintenance::Retention::from_settings(s));
    })
    .await;
    let idp = setup_tenant(&app);
    let client = crate::helpers::client_builder().build().unwrap();
    let hostile = hostile_destination_post(&app, &idp);
    // Day 0: a row and a count.
    let (req, rs) = app.start_login(T, C, None).await;
    let r = Resp::valid(&app, T, C, &idp, Some(&req));
    assert_eq!(
        app.post_acs(T, C, &r.signed(&idp), Some(&rs))
            .await
            .status(),
        303
    );
    assert_eq!(post_raw(&client, &app, &hostile).await, 403);
    // Day 179: another count.
    app.advance(179 * 86_400);
    assert_eq!(post_raw(&client, &app, &hostile).await, 403);
    // Day 181: day 0 is past the retention, day 179 is not.
    app.advance(2 * 86_400);
    let day179 = hour(t0 + 179 * 86_400);
    // One run of the cleanup job, called as `jobs::spawn` calls it on its timer (that timer
    // is waited for in iwms_outbox.rs's retention test).
    app.with_db(|c| maintenance::purge_expired(c, app.now(), retention.unwrap()))
        .expect("purge");
    let counts: Vec<i64> = app
        .counted_refusals(T)
        .iter()
        .map(|c| c.hour_start)
        .collect();
    assert!(
        app.sign_ins(T).is_empty() && counts == [day179],
        "not purged: {counts:?}, {:?}",
        app.sign_ins(T)
    );
    // The user the day-0 sign-in created stays: only the history is purged.
    assert_eq!(app.users(T).len(), 1);
}

/// `sign_ins.max_pending_per_client`: one client address cannot fill the database with
/// sign-ins it never finishes; a further start is 429 with Retry-After until one expires.
#[tokio::test]
async fn sign_ins_in_progress_are_bounded_per_client_address() {
    let t0 = now();
    let app = spawn_app_at(t0, |s| s.sign_ins.max_pending_per_client = 3).await;
    setup_tenant(&app);
    for _ in 0..3 {
        app.start_login(T, C, None).await;
    }
    let res = app
        .client
        .get(app.url(&format!("/t/{T}/login?connection={C}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    assert!(res.headers().get("set-cookie").is_none());
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = res.text().await.unwrap();
    // The rate limits' page (tests/api/rate_limits.rs), with its own words.
    assert!(
        body.contains("Too many requests") && body.contains("Too many sign-ins"),
        "{body}"
    );
    // Home-realm discovery and the console's sign-in start the same way.
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[("email", "ada@acme.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let pending: i64 = app.with_db(|c| {
        use ssogate::storage::schema::pending_authn_requests as p;
        p::table.count().get_result(c).unwrap()
    });
    assert_eq!(pending, 3, "nothing stored for the refused starts");
    // Once the requests expire (saml.request_ttl_secs), the client may start again.
    app.advance(601);
    app.start_login(T, C, None).await;
}

/// A sign-in start from `forwarded_for`, as a proxy at 127.0.0.1 would forward it.
async fn start_from(app: &TestApp, forwarded_for: Option<&str>) -> u16 {
    let mut req = app
        .client
        .get(app.url(&format!("/t/{T}/login?connection={C}")));
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.unwrap().status().as_u16()
}

/// The bound counts the client `http::client_addr` finds: behind a trusted proxy
/// (`server.trusted_proxies`) each client it names has its own bound (IPv6 per /64), so
/// people behind one proxy do not share one; from an untrusted peer `X-Forwarded-For`
/// changes nothing.
#[tokio::test]
async fn the_pending_bound_counts_the_client_a_trusted_proxy_names() {
    let trusted = |proxies: &'static [&'static str]| {
        move |s: &mut ssogate::config::Settings| {
            s.sign_ins.max_pending_per_client = 2;
            s.server.trusted_proxies =
                ssogate::config::TrustedProxies::parse(proxies.iter().copied()).unwrap();
        }
    };
    let app = spawn_app_at(now(), trusted(&["127.0.0.1"])).await;
    setup_tenant(&app);
    for client in ["198.51.100.1", "198.51.100.1"] {
        assert_eq!(start_from(&app, Some(client)).await, 303, "{client}");
    }
    assert_eq!(start_from(&app, Some("198.51.100.1")).await, 429);
    // What a client writes to the left of its own address is not its address.
    assert_eq!(
        start_from(&app, Some("203.0.113.9, 198.51.100.1")).await,
        429
    );
    assert_eq!(start_from(&app, Some("198.51.100.2")).await, 303);
    // One IPv6 /64 is one client.
    for client in ["2001:db8:1:2::1", "2001:db8:1:2:ffff::2"] {
        assert_eq!(start_from(&app, Some(client)).await, 303, "{client}");
    }
    assert_eq!(start_from(&app, Some("2001:db8:1:2::3")).await, 429);
    assert_eq!(start_from(&app, Some("2001:db8:1:3::1")).await, 303);
    // The proxy's own requests are the proxy's.
    assert_eq!(start_from(&app, None).await, 303);
    let mut keys: Vec<Option<String>> = app.with_db(|c| {
        use ssogate::storage::schema::pending_authn_requests as p;
        p::table.select(p::client_key).load(c).unwrap()
    });
    keys.sort();
    assert_eq!(
        keys,
        [
            "127.0.0.1",
            "198.51.100.1",
            "198.51.100.1",
            "198.51.100.2",
            "2001:db8:1:2::/64",
            "2001:db8:1:2::/64",
            "2001:db8:1:3::/64",
        ]
        .map(|k| Some(k.to_owned()))
    );

    let app = spawn_app_at(now(), trusted(&[])).await;
    setup_tenant(&app);
    assert_eq!(start_from(&app, Some("198.51.100.1")).await, 303);
    assert_eq!(start_from(&app, Some("198.51.100.2")).await, 303);
    assert_eq!(
        start_from(&app, Some("198.51.100.3")).await,
        429,
        "every request came from 127.0.0.1, whatever it claimed"
    );
}
