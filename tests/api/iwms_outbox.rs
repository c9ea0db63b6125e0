//! The IWMS feed end to end, against the fake IWMS of `support::iwms_receiver`, which checks
//! every signature and records every delivery.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ssogate::config::Settings;
use ssogate::service::admin::{self, TenantInput};

use crate::cli::Cli;
use crate::helpers::{
    TestApp, default_saml_input, now, spawn_app_with, start_instance, test_settings,
};
use crate::saml_fixtures::{Resp, TestIdp};
use crate::support::iwms_receiver::{Delivery, Mode, Receiver, summary};
use crate::support::poll::eventually;

/// The receiver's secret; the tenant's secret file holds it with a trailing newline, as
/// `openssl rand -base64 32 > file` writes it.
const SECRET: &str = "iwms-receiver-secret-0123456789abcdef";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

// ---------------------------------------------------------------------------------------
// Test helpers
// ---------------------------------------------------------------------------------------

/// Runs a test on its own runtime, and drops what it returns (the app, and with it the
/// database) only once the runtime is shut down without waiting for blocking work. Dropping a
/// PostgreSQL test database under a running app would otherwise hold the test up for the
/// pool's 10 s connection timeout: the app's outbox worker (polling every 50 ms here) is then
/// blocked in `pool.get()`, and a runtime being dropped waits for its blocking threads.
pub(crate) fn run<T>(test: impl std::future::Future<Output = T>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let keep = rt.block_on(test);
    // Blocking threads still in libpq when the process exits can crash it: wait for them.
    rt.shutdown_timeout(Duration::from_secs(15));
    drop(keep);
}

/// A tempdir holding the tenant's signing secret file.
pub(crate) struct SecretFile {
    _dir: tempfile::TempDir,
    pub(crate) path: PathBuf,
}

impl SecretFile {
    pub(crate) fn new(secret: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("iwms.secret");
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        SecretFile { _dir: dir, path }
    }

    fn source(&self) -> String {
        format!("file:{}", self.path.display())
    }
}

fn feed(r: &Receiver, secret: &SecretFile, auto_create_iwms: bool) -> TenantInput {
    TenantInput {
        auto_create_users: Some(true),
        auto_create_iwms: Some(auto_create_iwms),
        iwms_endpoint: Some(Some(r.url())),
        iwms_secret: Some(Some(secret.source())),
        ..Default::default()
    }
}

/// Quick worker rounds and short backoffs.
fn fast(s: &mut Settings) {
    s.iwms.poll_interval_ms = 50;
    s.iwms.backoff_base_secs = 1;
    s.iwms.backoff_max_secs = 2;
    s.iwms.http_timeout_secs = 2;
}

fn scim_user_body(email: &str, given: &str, family: &str) -> Value {
    json!({"schemas": [USER_SCHEMA], "userName": email,
           "name": {"givenName": given, "familyName": family},
           "emails": [{"value": email, "type": "work", "primary": true}], "active": true})
}

fn rename(given: &str) -> Value {
    json!({"schemas": [PATCH_OP],
           "Operations": [{"op": "replace", "path": "name.givenName", "value": given}]})
}

fn set_active(active: bool) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": active}}]})
}

async fn scim_create(scim: &crate::helpers::Scim<'_>, email: &str, given: &str) -> i64 {
    let (s, u) = scim
        .post("/Users", scim_user_body(email, given, "Tester"))
        .await;
    assert_eq!(s, 201, "{u}");
    u["id"].as_str().unwrap().parse().unwrap()
}

async fn scim_patch(scim: &crate::helpers::Scim<'_>, id: i64, body: Value) {
    let (s, u) = scim.patch(&format!("/Users/{id}"), body).await;
    assert_eq!(s, 200, "{u}");
}

/// The outbox rows straight from the database (for polling), oldest first.
fn outbox_rows(app: &TestApp, status: Option<&str>) -> Vec<ssogate::storage::outbox::OutboxRow> {
    let mut rows = app
        .with_db(|c| ssogate::storage::outbox::list(c, None, status, 10_000))
        .expect("outbox list");
    rows.reverse();
    rows
}

/// `ssogate outbox list --json` (newest first), run without blocking the runtime.
fn cli_outbox(db_url: &str, status: &str) -> Vec<Value> {
    let v = tokio::task::block_in_place(|| {
        Cli::with_db(db_url).json(&[
            "outbox", "list", "--status", status, "--limit", "1000", "--json",
        ])
    });
    v.as_array().expect("a JSON array").clone()
}

fn cli_ok(db_url: &str, args: &[&str]) -> String {
    tokio::task::block_in_place(|| Cli::with_db(db_url).ok(args))
}

fn cli_fails(db_url: &str, args: &[&str]) -> String {
    tokio::task::block_in_place(|| Cli::with_db(db_url).fails(args))
}

fn iwms_id_of(app: &TestApp, user: i64) -> Option<String> {
    app.users("acme")
        .into_iter()
        .find(|u| u.id == user)
        .unwrap_or_else(|| panic!("no user {user}"))
        .iwms_id
}

/// Every event in the outbox was delivered, each user's events arrived in id order, and the
/// successful deliveries cover exactly the outbox (nothing lost, nothing invented).
fn assert_all_delivered_in_order(r: &Receiver, rows: &[ssogate::storage::outbox::OutboxRow]) {
    let mut expected: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for row in rows {
        assert_eq!(row.status, "delivered", "{row:?}");
        expected.entry(row.user_id).or_default().push(row.id);
    }
    for (user, ids) in &expected {
        let mut firsts: Vec<i64> = Vec::new();
        for d in r.delivered().into_iter().filter(|d| d.user_id == *user) {
            if !firsts.contains(&d.number()) {
                firsts.push(d.number());
            }
        }
        assert_eq!(
            &firsts,
            ids,
            "user {user}: deliveries vs outbox: {}",
            summary(&r.deliveries())
        );
    }
    let users_seen: Vec<i64> = {
        let mut u: Vec<i64> = r.deliveries().iter().map(|d| d.user_id).collect();
        u.sort();
        u.dedup();
        u
    };
    assert_eq!(
        users_seen,
        expected.keys().copied().collect::<Vec<_>>(),
        "deliveries only for users with events"
    );
    r.assert_in_order();
}

async fn verify_header(app: &TestApp) -> String {
    let res = app
        .client
        .get(app.url("/auth/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.headers()["x-auth-request-iwms-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// The receiver used below really refuses what it should: a wrong secret, a stale or future
/// timestamp, a missing header. (A receiver that accepted anything would prove nothing.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_receiver_refuses_bad_and_stale_signatures() {
    let r = Receiver::start(SECRET).await;
    let client = crate::helpers::client_builder().build().unwrap();
    let body = json!({"id": "evt_1", "type": "user.updated", "idempotency_key": "k1",
        "occurred_at": "2026-01-01T00:00:00Z", "create_iwms_account": false,
        "data": {"tenant": "acme", "user": {"id": 1}}})
    .to_string();
    let post = |sig: Option<String>| {
        let mut rb = client
            .post(r.url())
            .header("content-type", "application/json")
            .header("idempotency-key", "k1")
            .header("x-ssogate-event", "user.updated")
            .header("x-ssogate-event-id", "evt_1")
            .body(body.clone());
        if let Some(s) = sig {
            rb = rb.header("x-ssogate-signature", s);
        }
        async move { rb.send().await.unwrap().status().as_u16() }
    };
    let t = now();
    let sign = |secret: &[u8], t: i64| ssogate::domain::iwms::signature(secret, t, body.as_bytes());
    assert_eq!(
        post(Some(sign(b"some-other-secret-0123456789", t))).await,
        401
    );
    assert_eq!(post(Some(sign(SECRET.as_bytes(), t - 301))).await, 401);
    assert_eq!(post(Some(sign(SECRET.as_bytes(), t + 301))).await, 401);
    assert_eq!(post(None).await, 401);
    let tampered = sign(SECRET.as_bytes(), t).replace("v1=", "v1=00");
    assert_eq!(post(Some(tampered)).await, 401);
    assert_eq!(r.refused().len(), 5, "{:?}", r.refused());
    assert!(r.deliveries().is_empty());
    // ssogate's signature (HMAC over "<t>.<body>") is what the receiver computes itself.
    assert_eq!(post(Some(sign(SECRET.as_bytes(), t - 250))).await, 200);
    assert_eq!(r.delivered().len(), 1);
    assert!(r.with(|s| s.problems.is_empty()));
}

/// Test 1: the first SAML sign-in comes back with the IWMS ID already stored.
#[test]
fn first_sign_in_comes_back_with_the_iwms_id() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        // The worker stays idle (its first round is a minute away): the
        // account must be created by the sign-in itself.
        let app = spawn_app_with(|s| {
            fast(s);
            s.iwms.poll_interval_ms = 60_000;
            s.iwms.first_sign_in_wait_ms = 10_000;
        })
        .await;
        app.create_tenant("acme", feed(&r, &secret, true));
        let idp = TestIdp::new("http://idp.acme.test/metadata");
        app.add_connection("acme", default_saml_input("okta", &idp));

        let res = app.sign_in(&idp).send().await;
        assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("/signed-in"),
            "signed in"
        );

        let me: Value = app.me().await.json().await.unwrap();
        assert_eq!(me["iwms_id"], "IWMS-1", "{me}");
        assert_eq!(verify_header(&app).await, "IWMS-1");
        let user = me["user_id"].as_i64().unwrap();
        assert_eq!(iwms_id_of(&app, user).as_deref(), Some("IWMS-1"));

        let ds = r.deliveries();
        assert_eq!(ds.len(), 1, "exactly one delivery: {}", summary(&ds));
        let d = &ds[0];
        assert_eq!(d.kind, "user.created");
        assert!(d.create, "create_iwms_account");
        assert_eq!(d.user_id, user);
        assert!(d.ok());
        assert_eq!(d.body["data"]["tenant"], "acme");
        let u = &d.body["data"]["user"];
        assert_eq!(u["email"], "ada@acme.test");
        assert_eq!(u["first_name"], "Ada");
        assert_eq!(u["last_name"], "Lovelace");
        assert_eq!(u["iwms_id"], Value::Null);
        assert_eq!(u["status"], "active");
        assert_eq!(u["stale"], false);
        assert_eq!(u["created_via"], "sso");
        assert!(u["attributes"].is_object(), "{u}");
        assert!(d.body.get("changes").is_none() && d.body["data"].get("changes").is_none());
        assert!(d.key.starts_with("ssogate-"), "{}", d.key);
        assert_eq!(r.accounts_of(user), ["IWMS-1"]);
        r.assert_clean();

        let detail = app.user_detail("acme", &user.to_string());
        let created: Vec<_> = detail
            .timeline
            .iter()
            .filter(|e| e.kind == "iwms_account_created")
            .collect();
        assert_eq!(created.len(), 1, "{:?}", detail.timeline);
        assert_eq!(created[0].detail["iwms_id"], "IWMS-1");

        let rows = cli_outbox(&app.db_url, "all");
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["status"], "delivered");
        assert_eq!(rows[0]["attempts"], 1);
        assert_eq!(rows[0]["event"], "user.created");

        // A second sign-in neither sends nor creates anything again.
        let res = app.sign_in(&idp).send().await;
        assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
        assert_eq!(r.deliveries().len(), 1);
        assert_eq!(app.users("acme").len(), 1);
        app
    });
}

/// The first sign-in must come back with the IWMS ID even when the delivery worker leased
/// the account-creation event a moment before the sign-in asked for it (with a busy worker
/// that is common). Many first sign-ins against a quick worker and a slightly slow IWMS.
#[test]
fn first_sign_in_gets_the_iwms_id_even_when_the_worker_took_the_event() {
    run(async {
        let r = Receiver::start(SECRET).await;
        r.set_mode(Mode::Slow(Duration::from_millis(150)));
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(|s| {
            fast(s);
            s.iwms.poll_interval_ms = 10;
            // The race is the point, not the wait: room for a loaded CI machine.
            s.iwms.first_sign_in_wait_ms = 10_000;
        })
        .await;
        app.create_tenant("acme", feed(&r, &secret, true));
        let idp = TestIdp::new("http://idp.acme.test/metadata");
        app.add_connection("acme", default_saml_input("okta", &idp));

        let mut missing = Vec::new();
        for i in 0..12 {
            let email = format!("person{i}@acme.test");
            let res = app
                .sign_in(&idp)
                .name_id(&format!("subject-{i}"))
                .email(&email)
                .send()
                .await;
            assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
            let me: Value = app.me().await.json().await.unwrap();
            assert_eq!(me["email"], email.as_str());
            if me["iwms_id"].is_null() {
                missing.push(email);
            }
        }
        assert!(
            missing.is_empty(),
            "these first sign-ins came back without their IWMS ID: {missing:?}; {}",
            summary(&r.deliveries())
        );
        r.assert_clean();
        app
    });
}

/// Test 2: a slow IWMS. The sign-in gives up waiting after first_sign_in_wait_ms and
/// succeeds without an IWMS ID; the worker keeps trying with the same idempotency key, and the
/// person ends up with exactly one IWMS account.
#[test]
fn slow_iwms_sign_in_does_not_wait_and_the_account_is_created_once() {
    run(async {
        let r = Receiver::start(SECRET).await;
        r.set_mode(Mode::Slow(Duration::from_secs(3)));
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(|s| {
            fast(s);
            s.iwms.first_sign_in_wait_ms = 300;
            s.iwms.http_timeout_secs = 2;
            s.iwms.backoff_max_secs = 1;
        })
        .await;
        app.create_tenant("acme", feed(&r, &secret, true));
        let idp = TestIdp::new("http://idp.acme.test/metadata");
        app.add_connection("acme", default_saml_input("okta", &idp));

        let (req, rs) = app.start_login("acme", "okta", None).await;
        let xml = Resp::valid(&app, "acme", "okta", &idp, Some(&req)).signed(&idp);
        let started = Instant::now();
        let res = app.post_acs("acme", "okta", &xml, Some(&rs)).await;
        let took = started.elapsed();
        assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
        // It waited about 300 ms, not the IWMS's 3 s nor the 2 s HTTP timeout.
        assert!(
            took < Duration::from_millis(1500),
            "the sign-in took {took:?}"
        );
        let me: Value = app.me().await.json().await.unwrap();
        assert_eq!(me["iwms_id"], Value::Null, "{me}");
        assert_eq!(verify_header(&app).await, "");
        let user = me["user_id"].as_i64().unwrap();
        assert_eq!(
            r.of_user(user).len(),
            1,
            "the sign-in's attempt reached the IWMS"
        );

        // The worker tries again (and times out again); then the IWMS becomes quick.
        eventually(15, || {
            let n = r.of_user(user).len();
            (n >= 2).then_some(()).ok_or(format!("{n} attempt(s)"))
        })
        .await;
        r.set_mode(Mode::Ok);
        let id = eventually(15, || {
            iwms_id_of(&app, user).ok_or(format!("no IWMS ID yet: {}", summary(&r.deliveries())))
        })
        .await;
        assert_eq!(id, "IWMS-1", "the account created by the first attempt");
        let me: Value = app.me().await.json().await.unwrap();
        assert_eq!(me["iwms_id"], "IWMS-1");
        assert_eq!(verify_header(&app).await, "IWMS-1");

        let attempts = r.of_user(user);
        assert!(attempts.len() >= 3, "{}", summary(&attempts));
        assert!(
            attempts.iter().all(|d| d.key == attempts[0].key
                && d.event_id == attempts[0].event_id
                && d.create),
            "every attempt is the same event with the same idempotency key: {attempts:?}"
        );
        assert!(attempts.last().unwrap().ok());
        assert_eq!(
            r.accounts_of(user),
            ["IWMS-1"],
            "one account for the person"
        );
        r.assert_clean();
        r.assert_never_concurrent();
        let row = &cli_outbox(&app.db_url, "all")[0];
        assert_eq!(row["status"], "delivered");
        assert!(row["attempts"].as_i64().unwrap() >= 3, "{row}");
        let t = app.user_detail("acme", &user.to_string()).timeline;
        assert_eq!(
            t.iter()
                .filter(|e| e.kind == "iwms_account_created")
                .count(),
            1,
            "{t:?}"
        );
        app
    });
}

/// One tenant's IWMS hangs; another tenant's events still go out meanwhile: the worker keeps
/// at most `iwms.tenant_concurrency` deliveries of one tenant in flight and claims again as
/// slots free up, instead of waiting for a whole batch.
#[test]
fn a_hanging_iwms_holds_back_only_its_own_tenant() {
    run(async {
        let slow = Receiver::start(SECRET).await;
        slow.set_mode(Mode::Slow(Duration::from_secs(60)));
        let quick = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(|s| {
            fast(s);
            s.iwms.http_timeout_secs = 30;
            s.iwms.batch_size = 4;
            s.iwms.tenant_concurrency = 2;
        })
        .await;
        app.create_tenant("slow", feed(&slow, &secret, false));
        app.create_tenant("quick", feed(&quick, &secret, false));
        let slow_scim = app.scim("slow");
        for i in 0..6 {
            scim_create(&slow_scim, &format!("s{i}@slow.test"), "Slow").await;
        }
        eventually(10, || {
            let n = slow.deliveries().len();
            (n >= 2)
                .then_some(())
                .ok_or(format!("{n} at the slow IWMS"))
        })
        .await;
        let quick_scim = app.scim("quick");
        for i in 0..3 {
            scim_create(&quick_scim, &format!("q{i}@quick.test"), "Quick").await;
        }
        // The slow IWMS holds its requests for 60 s (the HTTP timeout is 30 s): the quick
        // tenant's events arrive long before either.
        eventually(10, || {
            let n = quick.delivered().len();
            (n == 3)
                .then_some(())
                .ok_or(format!("{n} of 3 at the quick IWMS"))
        })
        .await;
        assert_eq!(
            slow.deliveries().len(),
            2,
            "the slow tenant never has more than tenant_concurrency in flight"
        );
        quick.assert_clean();
        quick.assert_in_order();
        app
    });
}

/// Test 3: the IWMS answers 500 for a while, then recovers: everything arrives, nothing is
/// lost, the retries show in `outbox list`.
#[test]
fn failing_iwms_recovers_and_everything_arrives() {
    run(async {
        let r = Receiver::start(SECRET).await;
        r.set_mode(Mode::Fail);
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(fast).await;
        app.create_tenant("acme", feed(&r, &secret, true));
        let scim = app.scim("acme");
        let mut users = Vec::new();
        for (i, name) in ["ada", "grace", "linus"].iter().enumerate() {
            let id = scim_create(&scim, &format!("{name}@acme.test"), name).await;
            scim_patch(&scim, id, rename(&format!("{name}-{i}"))).await;
            users.push(id);
        }
        // Each account creation fails at least twice.
        eventually(15, || {
            let fails: Vec<usize> = users
                .iter()
                .map(|u| r.of_user(*u).iter().filter(|d| d.status == 500).count())
                .collect();
            fails
                .iter()
                .all(|n| *n >= 2)
                .then_some(())
                .ok_or(format!("failed attempts per user: {fails:?}"))
        })
        .await;
        assert!(
            r.deliveries().iter().all(|d| d.kind == "user.created"),
            "updates wait behind the undelivered creation: {}",
            summary(&r.deliveries())
        );
        let pending = cli_outbox(&app.db_url, "pending");
        assert_eq!(pending.len(), 6, "{pending:?}");
        for row in pending.iter().filter(|p| p["event"] == "user.created") {
            assert!(
                row["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("HTTP 500")),
                "{row}"
            );
            assert!(row["attempts"].as_i64().unwrap() >= 2, "{row}");
        }
        for u in &users {
            assert_eq!(iwms_id_of(&app, *u), None);
        }

        r.set_mode(Mode::Ok);
        eventually(15, || {
            let left = outbox_rows(&app, Some("pending")).len();
            (left == 0)
                .then_some(())
                .ok_or(format!("{left} pending: {}", summary(&r.deliveries())))
        })
        .await;
        let rows = outbox_rows(&app, None);
        assert_eq!(rows.len(), 6);
        assert_all_delivered_in_order(&r, &rows);
        let listed = cli_outbox(&app.db_url, "all");
        assert_eq!(listed.len(), 6);
        for row in &listed {
            assert_eq!(row["status"], "delivered", "{row}");
            assert_eq!(row["last_error"], Value::Null, "{row}");
            if row["event"] == "user.created" {
                assert!(row["attempts"].as_i64().unwrap() > 1, "{row}");
            }
        }
        for u in &users {
            let accounts = r.accounts_of(*u);
            assert_eq!(accounts.len(), 1, "user {u}: {accounts:?}");
            assert_eq!(iwms_id_of(&app, *u).as_ref(), Some(&accounts[0]));
            assert_eq!(
                r.delivered_kinds(*u),
                ["user.created", "user.updated"],
                "user {u}"
            );
        }
        r.assert_clean();
        r.assert_never_concurrent();
        app
    });
}

/// Test 4: dead-lettering. After max_attempts the event is parked as dead (with its last
/// error), later events of the same user wait behind it, and `outbox retry` (one id, then
/// --all-dead) gets everything delivered in order once the IWMS is back.
#[test]
fn dead_events_hold_back_the_user_and_retry_delivers_in_order() {
    run(async {
        let r = Receiver::start(SECRET).await;
        r.set_mode(Mode::Fail);
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(|s| {
            fast(s);
            s.iwms.max_attempts = 2;
            s.iwms.backoff_max_secs = 1;
        })
        .await;
        app.create_tenant("acme", feed(&r, &secret, true));
        let scim = app.scim("acme");
        let ada = scim_create(&scim, "ada@acme.test", "Ada").await;
        let bob = scim_create(&scim, "bob@acme.test", "Bob").await;

        let dead = eventually(15, || {
            let d = outbox_rows(&app, Some("dead"));
            (d.len() == 2)
                .then_some(d)
                .ok_or(format!("dead so far: {}", summary(&r.deliveries())))
        })
        .await;
        // Changes after the creation died: queued, but never sent ahead of it.
        scim_patch(&scim, ada, rename("Augusta")).await;
        scim_patch(&scim, bob, rename("Robert")).await;
        scim_patch(&scim, bob, set_active(false)).await;
        let ada_created = dead.iter().find(|e| e.user_id == ada).unwrap().id;
        tokio::time::sleep(Duration::from_millis(1500)).await;

        let listed = cli_outbox(&app.db_url, "dead");
        assert_eq!(listed.len(), 2, "{listed:?}");
        for row in &listed {
            assert_eq!(row["event"], "user.created");
            assert_eq!(row["status"], "dead");
            assert_eq!(row["attempts"], 2, "max_attempts");
            let err = row["last_error"].as_str().unwrap_or_default();
            assert!(err.contains("HTTP 500") && err.contains(&r.url()), "{row}");
        }
        let pending = cli_outbox(&app.db_url, "pending");
        assert_eq!(pending.len(), 3, "{pending:?}");
        assert!(pending.iter().all(|p| p["attempts"] == 0), "{pending:?}");
        let ds = r.deliveries();
        assert_eq!(ds.len(), 4, "two attempts per creation: {}", summary(&ds));
        assert!(
            ds.iter()
                .all(|d| d.kind == "user.created" && d.status == 500),
            "nothing overtook the dead event: {}",
            summary(&ds)
        );

        // The IWMS is back; only Ada's dead event is retried.
        r.set_mode(Mode::Ok);
        let out = cli_ok(&app.db_url, &["outbox", "retry", &ada_created.to_string()]);
        assert!(out.contains("1 event(s) queued again"), "{out}");
        eventually(15, || {
            let k = r.delivered_kinds(ada);
            (k == ["user.created", "user.updated"])
                .then_some(())
                .ok_or(format!("ada: {k:?}"))
        })
        .await;
        assert_eq!(iwms_id_of(&app, ada).as_deref(), Some("IWMS-1"));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            r.delivered_kinds(bob).is_empty(),
            "Bob's events still wait behind his dead one"
        );
        let dead_now = cli_outbox(&app.db_url, "dead");
        assert_eq!(dead_now.len(), 1, "{dead_now:?}");
        assert_eq!(dead_now[0]["user_id"], bob);

        let out = cli_ok(&app.db_url, &["outbox", "retry", "--all-dead"]);
        assert!(out.contains("1 event(s) queued again"), "{out}");
        eventually(15, || {
            let left =
                outbox_rows(&app, Some("pending")).len() + outbox_rows(&app, Some("dead")).len();
            (left == 0)
                .then_some(())
                .ok_or(format!("{left} left: {}", summary(&r.deliveries())))
        })
        .await;
        assert_eq!(
            r.delivered_kinds(bob),
            ["user.created", "user.updated", "user.deactivated"]
        );
        assert_all_delivered_in_order(&r, &outbox_rows(&app, None));
        assert_eq!(iwms_id_of(&app, bob).as_deref(), Some("IWMS-2"));
        assert_eq!(r.accounts_of(ada).len(), 1);
        assert_eq!(r.accounts_of(bob).len(), 1);
        r.assert_clean();
        app
    });
}

/// Test 5: with the IWMS unreachable (port closed), two users are created, renamed,
/// deactivated and reactivated; when it comes back, each user's events arrive exactly in
/// that order, the update carrying old -> new.
#[test]
fn events_of_a_user_arrive_in_order_after_an_outage() {
    run(async {
        let r = Receiver::start_refusing(SECRET).await;
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(fast).await;
        // Feed only: no account creation.
        app.create_tenant("acme", feed(&r, &secret, false));
        let scim = app.scim("acme");
        let ada = scim_create(&scim, "ada@acme.test", "Ada").await;
        let bob = scim_create(&scim, "bob@acme.test", "Bob").await;
        scim_patch(&scim, ada, rename("Adeline")).await;
        scim_patch(&scim, bob, rename("Robert")).await;
        scim_patch(&scim, bob, set_active(false)).await;
        scim_patch(&scim, ada, set_active(false)).await;
        scim_patch(&scim, ada, set_active(true)).await;
        scim_patch(&scim, bob, set_active(true)).await;

        // The worker has tried and failed to connect.
        eventually(15, || {
            let rows = outbox_rows(&app, Some("pending"));
            rows.iter()
                .filter(|e| e.event == "user.created")
                .all(|e| {
                    e.attempts >= 1
                        && e.last_error
                            .as_deref()
                            .is_some_and(|m| m.contains("connection failed"))
                })
                .then_some(())
                .ok_or(format!("{rows:?}"))
        })
        .await;
        assert_eq!(outbox_rows(&app, Some("pending")).len(), 8);

        r.resume().await;
        eventually(15, || {
            let left = outbox_rows(&app, Some("pending")).len();
            (left == 0)
                .then_some(())
                .ok_or(format!("{left} pending: {}", summary(&r.deliveries())))
        })
        .await;
        let order = [
            "user.created",
            "user.updated",
            "user.deactivated",
            "user.reactivated",
        ];
        for (user, old, new) in [(ada, "Ada", "Adeline"), (bob, "Bob", "Robert")] {
            let ds: Vec<Delivery> = r.of_user(user);
            let kinds: Vec<&str> = ds.iter().map(|d| d.kind.as_str()).collect();
            assert_eq!(kinds, order, "user {user}: exactly once each, in order");
            assert!(ds.iter().all(Delivery::ok));
            assert!(ds.iter().all(|d| !d.create), "no account creation asked");
            let updated = &ds[1].body["data"];
            assert_eq!(
                updated["changes"],
                json!([{"field": "first_name", "old": old, "new": new}]),
                "{updated}"
            );
            assert_eq!(updated["user"]["first_name"], new);
            assert_eq!(ds[2].body["data"]["user"]["status"], "deactivated");
            assert_eq!(ds[3].body["data"]["user"]["status"], "active");
            assert_eq!(ds[0].body["data"]["user"]["created_via"], "scim");
            assert_eq!(
                ds[0].body["data"]["user"]["attributes"]["user_name"],
                if user == ada {
                    "ada@acme.test"
                } else {
                    "bob@acme.test"
                }
            );
            assert_eq!(iwms_id_of(&app, user), None);
        }
        assert_all_delivered_in_order(&r, &outbox_rows(&app, None));
        r.assert_clean();
        r.assert_never_concurrent();
        app
    });
}

/// A wrong signing secret is refused by the IWMS and retried; the secret file is read at
/// every delivery, so fixing it is enough.
#[test]
fn a_wrong_secret_is_refused_and_a_fixed_secret_file_is_picked_up() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new("not-the-receivers-secret-0123456789");
        let app = spawn_app_with(fast).await;
        app.create_tenant("acme", feed(&r, &secret, true));
        let scim = app.scim("acme");
        let ada = scim_create(&scim, "ada@acme.test", "Ada").await;
        eventually(15, || {
            let rows = outbox_rows(&app, Some("pending"));
            (r.refused().len() >= 2
                && rows[0]
                    .last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("HTTP 401")))
            .then_some(())
            .ok_or(format!("{:?} {rows:?}", r.refused()))
        })
        .await;
        assert!(r.deliveries().is_empty());
        assert!(
            r.refused().iter().all(|w| w == "signature mismatch"),
            "{:?}",
            r.refused()
        );
        std::fs::write(&secret.path, format!("{SECRET}\n")).unwrap();
        let id = eventually(15, || {
            iwms_id_of(&app, ada).ok_or("no IWMS ID yet".to_owned())
        })
        .await;
        assert_eq!(id, "IWMS-1");
        assert_eq!(r.delivered().len(), 1);
        assert!(r.with(|s| s.problems.is_empty()));
        app
    });
}

/// Test 7: two instances on one database never have one event in flight twice, and
/// together deliver everything, each event once, in order per user.
#[test]
fn two_instances_never_deliver_an_event_twice_at_once() {
    run(async {
        let r = Receiver::start(SECRET).await;
        r.set_mode(Mode::Slow(Duration::from_millis(150)));
        let secret = SecretFile::new(SECRET);
        let tune = |s: &mut Settings| {
            fast(s);
            s.iwms.poll_interval_ms = 10;
            s.iwms.batch_size = 4;
        };
        let app = spawn_app_with(tune).await;
        let b = start_instance({
            let mut s = test_settings(&app.db_url);
            tune(&mut s);
            s
        })
        .await;
        app.create_tenant("acme", feed(&r, &secret, true));
        let scim = app.scim("acme");
        // Half of the SCIM traffic goes to the second instance.
        let b_scim = |method: reqwest::Method, path: String, body: Value| {
            let (client, token) = (app.client.clone(), scim.token.clone());
            let url = format!("{b}/t/acme/scim/v2{path}");
            async move {
                let res = client
                    .request(method, url)
                    .bearer_auth(token)
                    .header("content-type", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap())
            }
        };
        let mut users = Vec::new();
        for i in 0..8 {
            let email = format!("user{i}@acme.test");
            let id = if i % 2 == 0 {
                scim_create(&scim, &email, "First").await
            } else {
                let (s, u) = b_scim(
                    reqwest::Method::POST,
                    "/Users".into(),
                    scim_user_body(&email, "First", "Tester"),
                )
                .await;
                assert_eq!(s, 201, "{u}");
                u["id"].as_str().unwrap().parse().unwrap()
            };
            users.push(id);
        }
        for (i, id) in users.iter().enumerate() {
            if i % 2 == 0 {
                let (s, _) = b_scim(
                    reqwest::Method::PATCH,
                    format!("/Users/{id}"),
                    rename("Second"),
                )
                .await;
                assert_eq!(s, 200);
            } else {
                scim_patch(&scim, *id, rename("Second")).await;
            }
            scim_patch(&scim, *id, set_active(false)).await;
        }
        eventually(20, || {
            let left = outbox_rows(&app, Some("pending")).len();
            (left == 0)
                .then_some(())
                .ok_or(format!("{left} pending: {}", summary(&r.deliveries())))
        })
        .await;
        let rows = outbox_rows(&app, None);
        assert_eq!(rows.len(), 24);
        r.assert_never_concurrent();
        assert_all_delivered_in_order(&r, &rows);
        let ds = r.deliveries();
        assert_eq!(
            ds.len(),
            24,
            "each event delivered exactly once: {}",
            summary(&ds)
        );
        assert!(
            r.with(|s| s.max_total_in_flight) >= 2,
            "deliveries ran concurrently"
        );
        for u in &users {
            assert_eq!(r.accounts_of(*u).len(), 1);
            assert!(iwms_id_of(&app, *u).is_some());
            assert_eq!(
                r.delivered_kinds(*u),
                ["user.created", "user.updated", "user.deactivated"]
            );
        }
        r.assert_clean();
        app
    });
}

/// The real `ssogate serve`, configured through the environment.
struct Server {
    child: std::process::Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(cli: &Cli) -> Self {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ssogate"))
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
            .env("SSOGATE_IWMS__POLL_INTERVAL_MS", "50")
            .env("SSOGATE_IWMS__HTTP_TIMEOUT_SECS", "1")
            .env("SSOGATE_IWMS__BACKOFF_BASE_SECS", "1")
            .env("SSOGATE_IWMS__BACKOFF_MAX_SECS", "1")
            .env("SSOGATE_IWMS__LEASE_GRACE_SECS", "2")
            // The receiver is on loopback, which deliveries reach only when listed.
            .env("SSOGATE_IWMS__ALLOWED_NETWORKS", "127.0.0.0/8, ::1")
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && let Some(p) = v["port"].as_u64()
                {
                    let _ = tx.send(p);
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the server did not start: {}", log.lock().unwrap()));
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The last lines the server logged, for failure messages.
    fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli_rows(cli: &Cli) -> Vec<Value> {
    tokio::task::block_in_place(|| cli.json(&["outbox", "list", "--limit", "1000", "--json"]))
        .as_array()
        .unwrap()
        .clone()
}

/// Test 6: the real binary is killed while account creations are in flight and started
/// again: every event arrives at least once, in order per user, and each person gets exactly
/// one IWMS account (the redelivery carries the same idempotency key). The in-flight events'
/// leases (http_timeout_secs + 30 s) must expire first, so this test takes about 35 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_mid_delivery_and_restarted_nothing_is_lost_or_created_twice() {
    let r = Receiver::start(SECRET).await;
    r.set_mode(Mode::Slow(Duration::from_millis(600)));
    let cli = Cli::new();
    std::fs::write(cli.path("iwms.secret"), format!("{SECRET}\n")).unwrap();
    let secret_path = cli.path("iwms.secret");
    tokio::task::block_in_place(|| {
        cli.ok(&[
            "tenant",
            "create",
            "acme",
            "--auto-create-users",
            "on",
            "--auto-create-iwms",
            "on",
            "--iwms-endpoint",
            &r.url(),
            "--iwms-secret-file",
            secret_path.to_str().unwrap(),
        ])
    });
    let token = tokio::task::block_in_place(|| {
        cli.json(&["scim-token", "create", "--tenant", "acme", "--json"])
    })["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut server = Server::start(&cli);
    let client = crate::helpers::client_builder().build().unwrap();
    let scim = |base: String, method: reqwest::Method, path: String, body: Value| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let res = client
                .request(method, format!("{base}/t/acme/scim/v2{path}"))
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let mut users = Vec::new();
    for name in ["ada", "grace", "linus"] {
        let (s, u) = scim(
            server.base.clone(),
            reqwest::Method::POST,
            "/Users".into(),
            scim_user_body(&format!("{name}@acme.test"), name, "Tester"),
        )
        .await;
        assert_eq!(s, 201, "{u}");
        let id: i64 = u["id"].as_str().unwrap().parse().unwrap();
        for body in [rename(&format!("{name}-renamed")), set_active(false)] {
            let (s, u) = scim(
                server.base.clone(),
                reqwest::Method::PATCH,
                format!("/Users/{id}"),
                body,
            )
            .await;
            assert_eq!(s, 200, "{u}");
        }
        users.push(id);
    }
    // Kill it while the account creations are in flight (they arrived, unanswered).
    eventually(15, || {
        let (inflight, arrived) = r.with(|s| (s.total_in_flight, s.deliveries.len()));
        (inflight >= 2 && arrived >= 2)
            .then_some(())
            .ok_or_else(|| summary(&r.deliveries()))
    })
    .await;
    server.kill();
    let before_restart = r.deliveries();
    assert!(
        before_restart
            .iter()
            .any(|d| d.answered.is_none() && d.create),
        "an account creation was cut off by the kill: {}",
        summary(&before_restart)
    );
    eventually(5, || {
        let n = r.with(|s| s.total_in_flight);
        (n == 0).then_some(()).ok_or(format!("{n} still in flight"))
    })
    .await;

    // The killed instance's leases (http_timeout_secs + 30 s) expire, then everything goes.
    let server = Server::start(&cli);
    eventually(60, || {
        let mut ok: Vec<String> = r.delivered().into_iter().map(|d| d.event_id).collect();
        ok.sort();
        ok.dedup();
        (ok.len() == 9).then_some(()).ok_or_else(|| {
            format!(
                "{} event(s) delivered: {}\nserver log: {}",
                ok.len(),
                summary(&r.deliveries()),
                server.log_tail()
            )
        })
    })
    .await;
    eventually(10, || {
        let rows = cli_rows(&cli);
        let left: Vec<_> = rows.iter().filter(|e| e["status"] != "delivered").collect();
        (rows.len() == 9 && left.is_empty())
            .then_some(())
            .ok_or(format!("undelivered: {left:?}"))
    })
    .await;
    let rows = cli_rows(&cli);
    let mut expected: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    for row in rows.iter().rev() {
        expected
            .entry(row["user_id"].as_i64().unwrap())
            .or_default()
            .push((
                row["id"].as_i64().unwrap(),
                row["event"].as_str().unwrap().to_owned(),
            ));
    }
    for u in &users {
        let kinds: Vec<&str> = expected[u].iter().map(|(_, k)| k.as_str()).collect();
        assert_eq!(
            kinds,
            ["user.created", "user.updated", "user.deactivated"],
            "outbox of user {u}"
        );
        let mut firsts: Vec<i64> = Vec::new();
        for d in r.delivered().iter().filter(|d| d.user_id == *u) {
            if !firsts.contains(&d.number()) {
                firsts.push(d.number());
            }
        }
        assert_eq!(
            firsts,
            expected[u].iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            "user {u}: {}",
            summary(&r.deliveries())
        );
        let accounts = r.accounts_of(*u);
        assert_eq!(accounts.len(), 1, "user {u}: {accounts:?}");
    }
    r.assert_in_order();
    r.assert_clean();
    r.assert_never_concurrent();
    // Some event really was delivered twice (before and after the kill), with one key.
    let ds = r.deliveries();
    let twice: Vec<&Delivery> = ds
        .iter()
        .filter(|d| ds.iter().filter(|e| e.event_id == d.event_id).count() > 1)
        .collect();
    assert!(!twice.is_empty(), "{}", summary(&ds));
    for d in &twice {
        assert!(
            ds.iter()
                .filter(|e| e.event_id == d.event_id)
                .all(|e| e.key == d.key),
            "same idempotency key on redelivery"
        );
    }
    // The IDs the IWMS handed out are the users' IDs.
    let listed =
        tokio::task::block_in_place(|| cli.json(&["user", "list", "--tenant", "acme", "--json"]));
    for u in &users {
        let row = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == *u)
            .unwrap();
        assert_eq!(row["iwms_id"].as_str(), Some(r.accounts_of(*u)[0].as_str()));
    }
    drop(server);
}

/// Test 8: configuration mistakes fail and name the key; `outbox retry` refuses what is not
/// dead.
#[test]
fn configuration_errors_name_the_key() {
    run(async {
        let cli = Cli::new();
        let good = cli.path("good.secret");
        std::fs::write(&good, "a-long-enough-secret-0123456789\n").unwrap();
        let short = cli.path("short.secret");
        std::fs::write(&short, "short\n").unwrap();
        let (good, short) = (good.to_str().unwrap(), short.to_str().unwrap());
        let fails = |args: &[&str]| tokio::task::block_in_place(|| cli.fails(args));

        let e = fails(&[
            "tenant",
            "create",
            "x",
            "--auto-create-iwms",
            "on",
            "--iwms-endpoint",
            "https://iwms.example.com/hook",
            "--iwms-secret-file",
            good,
        ]);
        assert!(
            e.contains("auto_create_iwms") && e.contains("auto_create_users"),
            "{e}"
        );
        let e = fails(&[
            "tenant",
            "create",
            "x",
            "--auto-create-users",
            "on",
            "--auto-create-iwms",
            "on",
        ]);
        assert!(e.contains("auto_create_iwms"), "{e}");
        let e = fails(&[
            "tenant",
            "create",
            "x",
            "--iwms-endpoint",
            "http://iwms.example.com/hook",
            "--iwms-secret-file",
            good,
        ]);
        assert!(e.contains("iwms_endpoint"), "{e}");
        let e = fails(&[
            "tenant",
            "create",
            "x",
            "--iwms-endpoint",
            "https://user:pw@iwms.example.com/hook",
            "--iwms-secret-file",
            good,
        ]);
        assert!(e.contains("iwms_endpoint"), "{e}");
        let e = fails(&[
            "tenant",
            "create",
            "x",
            "--iwms-endpoint",
            "https://iwms.example.com/hook",
        ]);
        assert!(e.contains("iwms_secret"), "{e}");
        let e = fails(&[
            "tenant",
            "create",
            "x",
            "--iwms-endpoint",
            "https://iwms.example.com/hook",
            "--iwms-secret-file",
            short,
        ]);
        assert!(e.contains("iwms_secret"), "{e}");
        let e = fails(&[
            "tenant",
            "create",
            "x",
            "--iwms-endpoint",
            "https://iwms.example.com/hook",
            "--iwms-secret-file",
            good,
            "--iwms-events",
            "user.created,user.deleted",
        ]);
        assert!(
            e.contains("iwms_events") && e.contains("user.deleted"),
            "{e}"
        );
        let e = tokio::task::block_in_place(|| {
            let out = cli.run_env(&["outbox", "list"], &[("SSOGATE_IWMS__MAX_ATTEMPTS", "0")]);
            assert!(!out.status.success());
            String::from_utf8(out.stderr).unwrap()
        });
        assert!(e.contains("iwms.max_attempts"), "{e}");
        // None of the refused tenants exists; loopback http and https are accepted.
        let listed = tokio::task::block_in_place(|| cli.json(&["tenant", "list", "--json"]));
        assert_eq!(listed.as_array().unwrap().len(), 0, "{listed}");
        let t = tokio::task::block_in_place(|| {
            cli.json(&[
                "tenant",
                "create",
                "acme",
                "--auto-create-users",
                "on",
                "--auto-create-iwms",
                "on",
                "--iwms-endpoint",
                "http://127.0.0.1:9/hook",
                "--iwms-secret-file",
                good,
                "--json",
            ])
        });
        assert_eq!(t["auto_create_iwms"], true);
        assert_eq!(t["iwms_secret"], format!("file:{}", abs(good)));
        assert!(!t.to_string().contains("a-long-enough-secret"), "{t}");
        assert_eq!(t["iwms_events"].as_array().unwrap().len(), 6, "all events");

        // `outbox retry` of an event that is not dead.
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(fast).await;
        app.create_tenant("acme", feed(&r, &secret, true));
        let scim = app.scim("acme");
        let ada = scim_create(&scim, "ada@acme.test", "Ada").await;
        eventually(15, || {
            iwms_id_of(&app, ada).ok_or("no IWMS ID yet".to_owned())
        })
        .await;
        let id = outbox_rows(&app, None)[0].id.to_string();
        let e = cli_fails(&app.db_url, &["outbox", "retry", &id]);
        assert!(
            e.contains(&format!("event {id} is not dead")),
            "clear refusal: {e}"
        );
        let e = cli_fails(&app.db_url, &["outbox", "retry", "999999"]);
        assert!(e.contains("999999") && e.contains("not dead"), "{e}");
        let out = cli_ok(&app.db_url, &["outbox", "retry", "--all-dead"]);
        assert!(out.contains("0 event(s)"), "{out}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(r.deliveries().len(), 1, "nothing was sent again");
        assert_eq!(cli_outbox(&app.db_url, "all")[0]["status"], "delivered");
        app
    });
}

fn abs(p: &str) -> String {
    std::fs::canonicalize(Path::new(p))
        .unwrap()
        .display()
        .to_string()
}

/// Stale flagging and the sign-in that clears it reach the IWMS as user.flagged_stale and
/// user.unflagged, after the user.created of the first sign-in.
#[test]
fn stale_flag_and_unflag_are_sent() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(fast).await;
        let mut input = feed(&r, &secret, false);
        input.stale_after_days = Some(30);
        app.create_tenant("acme", input);
        let idp = TestIdp::new("http://idp.acme.test/metadata");
        app.add_connection("acme", crate::helpers::default_saml_input("okta", &idp));
        assert_eq!(app.sign_in(&idp).send().await.status(), 303);
        let user = app.users("acme")[0].id;
        app.with_db(|c| {
            use diesel::prelude::*;
            use ssogate::storage::schema::users;
            diesel::update(users::table)
                .set((
                    users::last_login_at.eq(Some(crate::helpers::now() - 40 * 86_400)),
                    users::created_at.eq(crate::helpers::now() - 400 * 86_400),
                ))
                .execute(c)
        })
        .unwrap();
        cli_ok(&app.db_url, &["flag-stale"]);
        assert_eq!(app.sign_in(&idp).send().await.status(), 303);
        eventually(15, || {
            let kinds = r.delivered_kinds(user);
            (kinds == ["user.created", "user.flagged_stale", "user.unflagged"])
                .then_some(())
                .ok_or(format!("{kinds:?}"))
        })
        .await;
        // Each event's copy of the user matches the change it reports.
        let stale_in = |kind: &str| {
            let d = r
                .of_user(user)
                .into_iter()
                .find(|d| d.kind == kind)
                .unwrap();
            d.body["data"]["user"]["stale"].clone()
        };
        assert_eq!(stale_in("user.flagged_stale"), true);
        assert_eq!(stale_in("user.unflagged"), false);
        r.assert_clean();
    });
}

/// The console/API's deactivate and reactivate and SCIM's DELETE reach the IWMS (a DELETE of
/// a user already deactivated sends nothing more), and a tenant that chose some kinds of event
/// gets only those.
#[test]
fn admin_and_scim_delete_changes_are_sent_and_the_chosen_kinds_only() {
    use ssogate::service::admin::users as admin_users;
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(fast).await;
        app.create_tenant("acme", feed(&r, &secret, false));
        let mut some = feed(&r, &secret, false);
        some.iwms_events = Some("user.deactivated".into());
        app.create_tenant("globex", some);

        let scim = app.scim("acme");
        let ann = scim_create(&scim, "ann@acme.test", "Ann").await;
        let bob = scim_create(&scim, "bob@acme.test", "Bob").await;
        let acme = app.with_db(|c| admin::tenant_by_slug(c, "acme")).unwrap();
        app.with_db(|c| {
            admin_users::deactivate_user(
                c,
                &acme,
                ann,
                &ssogate::domain::audit::Actor::Console {
                    email: "boss@acme.test".into(),
                },
                now(),
            )
        })
        .unwrap();
        app.with_db(|c| {
            admin_users::reactivate_user(
                c,
                &acme,
                ann,
                &ssogate::domain::audit::Actor::Console {
                    email: "boss@acme.test".into(),
                },
                now(),
            )
        })
        .unwrap();
        let (s, e) = scim.delete(&format!("/Users/{ann}")).await;
        assert_eq!(s, 204, "{e}");
        scim_patch(&scim, bob, set_active(false)).await;
        let (s, e) = scim.delete(&format!("/Users/{bob}")).await;
        assert_eq!(s, 204, "{e}");

        let globex = app.scim("globex");
        let cy = scim_create(&globex, "cy@globex.test", "Cy").await;
        scim_patch(&globex, cy, rename("Cyril")).await;
        scim_patch(&globex, cy, set_active(false)).await;

        let want: [(i64, &[&str]); 3] = [
            (
                ann,
                &[
                    "user.created",
                    "user.deactivated",
                    "user.reactivated",
                    "user.deactivated",
                ],
            ),
            (bob, &["user.created", "user.deactivated"]),
            (cy, &["user.deactivated"]),
        ];
        eventually(15, || {
            let pending = outbox_rows(&app, Some("pending")).len();
            let got: Vec<_> = want.iter().map(|(u, _)| r.delivered_kinds(*u)).collect();
            (pending == 0 && want.iter().zip(&got).all(|((_, w), g)| g == w))
                .then_some(())
                .ok_or(format!("{got:?}, {pending} pending"))
        })
        .await;
        assert_eq!(outbox_rows(&app, None).len(), 7, "nothing else was queued");
        r.assert_clean();
        r.assert_in_order();
        app
    });
}

/// The `last_error` of the first event parked as dead, once there is one.
async fn first_dead_error(app: &TestApp) -> String {
    let dead = eventually(15, || {
        let rows = outbox_rows(app, Some("dead"));
        (!rows.is_empty())
            .then_some(rows)
            .ok_or("not dead yet".to_owned())
    })
    .await;
    dead[0].last_error.clone().unwrap_or_default()
}

/// A secret source saved before the rules tightened (here: one of ssogate's own variables)
/// still loads, but nothing is signed with it: the delivery fails and says why.
#[test]
fn a_stored_secret_source_that_breaks_todays_rules_is_not_used() {
    use diesel::prelude::*;
    use ssogate::storage::schema::tenants;
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(|s| {
            fast(s);
            s.iwms.max_attempts = 1;
        })
        .await;
        app.create_tenant("acme", feed(&r, &secret, false));
        app.with_db(|c| {
            diesel::update(tenants::table)
                .set(tenants::iwms_secret_source.eq("env:SSOGATE_SESSION__SECRET"))
                .execute(c)
        })
        .unwrap();
        let scim = app.scim("acme");
        scim_create(&scim, "ann@acme.test", "Ann").await;
        let why = first_dead_error(&app).await;
        assert!(why.contains("signing secret source is refused"), "{why}");
        assert!(r.deliveries().is_empty(), "nothing was signed with it");
        app
    });
}

/// A signing secret shorter than 16 characters signs nothing: the delivery fails and says
/// why (the API and console accept a file whose content they cannot read at that moment).
#[test]
fn a_short_signing_secret_is_not_used() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let short = SecretFile::new("too-short");
        let app = spawn_app_with(|s| {
            fast(s);
            s.iwms.max_attempts = 1;
        })
        .await;
        app.create_tenant("acme", feed(&r, &short, false));
        scim_create(&app.scim("acme"), "ann@acme.test", "Ann").await;
        let why = first_dead_error(&app).await;
        assert!(why.contains("at least 16 characters"), "{why}");
        assert!(r.deliveries().is_empty(), "nothing was signed with it");
        app
    });
}

/// The cleanup job purges delivered events once they are older than
/// `iwms.delivered_retention_days`; younger delivered events, pending and dead ones stay.
#[test]
fn delivered_events_past_their_retention_are_purged_and_nothing_else() {
    use diesel::prelude::*;
    use ssogate::storage::schema::outbox_events;
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(|s| {
            fast(s);
            s.iwms.max_attempts = 1;
            s.jobs.cleanup_interval_secs = 1;
            assert_eq!(s.iwms.delivered_retention_days, 30, "the default");
        })
        .await;
        app.create_tenant("acme", feed(&r, &secret, false));
        let scim = app.scim("acme");
        let ada = scim_create(&scim, "ada@acme.test", "Ada").await;
        scim_patch(&scim, ada, rename("Augusta")).await;
        eventually(15, || {
            let d = outbox_rows(&app, Some("delivered"));
            (d.len() == 2)
                .then_some(d)
                .ok_or("not yet delivered".to_owned())
        })
        .await;
        // Bob's creation dies (the IWMS answers 500) and his rename waits behind it.
        r.set_mode(Mode::Fail);
        let bob = scim_create(&scim, "bob@acme.test", "Bob").await;
        eventually(15, || {
            (outbox_rows(&app, Some("dead")).len() == 1)
                .then_some(())
                .ok_or("not dead yet".to_owned())
        })
        .await;
        scim_patch(&scim, bob, rename("Robert")).await;

        // Ada's creation was delivered 31 days ago, her update 29 days ago; Bob's events are
        // older still but undelivered.
        let day = 86_400;
        app.with_db(|c| {
            let rows = outbox_rows_of(c, ada);
            for (id, age) in [(rows[0], 31 * day), (rows[1], 29 * day)] {
                diesel::update(outbox_events::table.find(id))
                    .set(outbox_events::delivered_at.eq(now() - age))
                    .execute(c)?;
            }
            diesel::update(outbox_events::table.filter(outbox_events::user_id.eq(bob)))
                .set(outbox_events::created_at.eq(now() - 90 * day))
                .execute(c)
        })
        .unwrap();
        let kept = eventually(10, || {
            let all = outbox_rows(&app, None);
            (all.len() == 3)
                .then_some(all)
                .ok_or("the old delivered event is still there".to_owned())
        })
        .await;
        let summary: Vec<(i64, &str, &str)> = kept
            .iter()
            .map(|e| (e.user_id, e.event.as_str(), e.status.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (ada, "user.updated", "delivered"),
                (bob, "user.created", "dead"),
                (bob, "user.updated", "pending"),
            ]
        );
        // The purge is of delivery records only: Ada's account and timeline stay.
        assert_eq!(app.users("acme").len(), 2);
        app
    });
}

fn outbox_rows_of(c: &mut ssogate::storage::DbConnection, user: i64) -> Vec<i64> {
    use diesel::prelude::*;
    use ssogate::storage::schema::outbox_events;
    outbox_events::table
        .filter(outbox_events::user_id.eq(user))
        .order(outbox_events::id.asc())
        .select(outbox_events::id)
        .load(c)
        .unwrap()
}

/// Signs `ada` (the OP's user, who has no IWMS ID claim mapped) in through OpenID Connect.
async fn oidc_sign_in(app: &TestApp) -> reqwest::Response {
    crate::oidc_flow::sign_in(app, &app.url("/t/acme/oidc/okta/callback")).await
}

async fn oidc_app(
    r: &Receiver,
    secret: &SecretFile,
    wait_ms: u64,
    poll_ms: u64,
) -> (TestApp, crate::oidc_flow::NodeOp) {
    let app = spawn_app_with(|s| {
        fast(s);
        s.iwms.poll_interval_ms = poll_ms;
        s.iwms.first_sign_in_wait_ms = wait_ms;
    })
    .await;
    app.create_tenant("acme", feed(r, secret, true));
    let op = crate::oidc_flow::NodeOp::start(&app.url("/t/acme/oidc/okta/callback"), &[]);
    crate::oidc_flow::connect_with(&app, &op, |i| i.attr_iwms_id = None).await;
    (app, op)
}

/// Test 1 through OpenID Connect: the first sign-in at a real OP comes back with the IWMS ID.
#[test]
fn first_oidc_sign_in_comes_back_with_the_iwms_id() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        // The worker stays idle (a minute between rounds): only the sign-in itself can
        // create the account in time.
        let (app, _op) = oidc_app(&r, &secret, 10_000, 60_000).await;

        let res = oidc_sign_in(&app).await;
        assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
        let me: Value = app.me().await.json().await.unwrap();
        assert_eq!(me["email"], "ada@acme.test");
        assert_eq!(me["iwms_id"], "IWMS-1", "{me}");
        assert_eq!(verify_header(&app).await, "IWMS-1");
        let user = me["user_id"].as_i64().unwrap();

        let ds = r.deliveries();
        assert_eq!(ds.len(), 1, "exactly one delivery: {}", summary(&ds));
        assert_eq!(ds[0].kind, "user.created");
        assert!(ds[0].create && ds[0].ok());
        assert_eq!(ds[0].body["data"]["user"]["first_name"], "Ada");
        assert_eq!(r.accounts_of(user), ["IWMS-1"]);
        r.assert_clean();
        app
    });
}

/// Test 2 through OpenID Connect: a slow IWMS does not hold the sign-in past
/// first_sign_in_wait_ms; the worker finishes the creation later, with one account.
#[test]
fn slow_iwms_does_not_hold_an_oidc_sign_in() {
    run(async {
        let r = Receiver::start(SECRET).await;
        r.set_mode(Mode::Slow(Duration::from_secs(3)));
        let secret = SecretFile::new(SECRET);
        let (app, _op) = oidc_app(&r, &secret, 300, 50).await;

        let started = Instant::now();
        let res = oidc_sign_in(&app).await;
        let took = started.elapsed();
        assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
        // The whole round trip through the OP, with about 300 ms of waiting, not 3 s.
        assert!(
            took < Duration::from_millis(2500),
            "the sign-in took {took:?}"
        );
        let me: Value = app.me().await.json().await.unwrap();
        assert_eq!(me["email"], "ada@acme.test");
        assert!(me["iwms_id"].is_null(), "not waited for: {me}");
        let user = me["user_id"].as_i64().unwrap();

        r.set_mode(Mode::Ok);
        let id = eventually(20, || {
            iwms_id_of(&app, user).ok_or(format!("no IWMS ID yet: {}", summary(&r.deliveries())))
        })
        .await;
        assert_eq!(id, "IWMS-1");
        let me: Value = app.me().await.json().await.unwrap();
        assert_eq!(me["iwms_id"], "IWMS-1");
        assert_eq!(
            r.accounts_of(user),
            ["IWMS-1"],
            "one account for the person"
        );
        let attempts = r.of_user(user);
        assert!(
            attempts
                .iter()
                .all(|d| d.key == attempts[0].key && d.create),
            "every attempt is the same creation: {attempts:?}"
        );
        r.assert_clean();
        app
    });
}

/// An account creation that waited (the IWMS was down) while SCIM gave the user an IWMS ID
/// goes out as a plain user.created: asking then would make a second account.
#[test]
fn a_creation_that_waited_while_the_user_got_an_iwms_id_creates_nothing() {
    run(async {
        let r = Receiver::start(SECRET).await;
        r.set_mode(Mode::Fail);
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(fast).await;
        let mut input = feed(&r, &secret, true);
        input.scim_iwms_attribute = Some(Some("employeeNumber".into()));
        app.create_tenant("acme", input);
        let scim = app.scim("acme");
        let ada = scim_create(&scim, "ada@acme.test", "Ada").await;
        eventually(15, || {
            let n = r.of_user(ada).len();
            (n >= 1).then_some(()).ok_or("no attempt yet".to_owned())
        })
        .await;
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        scim_patch(
            &scim,
            ada,
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "add", "path": format!("{ext}:employeeNumber"), "value": "E-1"}]}),
        )
        .await;
        assert_eq!(iwms_id_of(&app, ada).as_deref(), Some("E-1"));

        r.set_mode(Mode::Ok);
        eventually(20, || {
            let k = r.delivered_kinds(ada);
            (k == ["user.created", "user.updated"])
                .then_some(())
                .ok_or(format!("{k:?}"))
        })
        .await;
        let created = r
            .of_user(ada)
            .into_iter()
            .filter(|d| d.kind == "user.created" && d.ok())
            .collect::<Vec<_>>();
        assert_eq!(created.len(), 1);
        assert!(!created[0].create, "no account asked for");
        assert!(r.accounts_of(ada).is_empty(), "no IWMS account created");
        assert_eq!(iwms_id_of(&app, ada).as_deref(), Some("E-1"));
        r.assert_clean();
        app
    });
}

/// An IWMS answer over 64 KiB is not read to the end nor believed: the attempt fails (the
/// IWMS ID is not taken from it) and a later, well-formed answer for the same idempotency key
/// stores the one account.
#[test]
fn an_oversized_iwms_answer_is_refused_and_retried() {
    run(async {
        let r = Receiver::start(SECRET).await;
        r.set_mode(Mode::Oversized);
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(fast).await;
        app.create_tenant("acme", feed(&r, &secret, true));
        let scim = app.scim("acme");
        let ada = scim_create(&scim, "ada@acme.test", "Ada").await;
        let row = eventually(15, || {
            outbox_rows(&app, Some("pending"))
                .into_iter()
                .find(|e| e.attempts >= 1)
                .ok_or("no failed attempt yet".to_owned())
        })
        .await;
        let err = row.last_error.unwrap_or_default();
        assert!(err.contains("without a usable `iwms_id`"), "{err}");
        assert_eq!(iwms_id_of(&app, ada), None);

        r.set_mode(Mode::Ok);
        let id = eventually(20, || {
            iwms_id_of(&app, ada).ok_or("no IWMS ID yet".to_owned())
        })
        .await;
        assert_eq!(id, "IWMS-1");
        assert_eq!(r.accounts_of(ada), ["IWMS-1"], "one account");
        r.assert_clean();
        app
    });
}

/// Deliveries pass the same address filter as calls to OpenID providers: an endpoint on an
/// internal address (loopback here) outside `iwms.allowed_networks` is never contacted,
/// whether it is named (`localhost`, refused when it resolves) or literal (`127.0.0.1`,
/// refused before any connection); the event waits with the refusal as its last error. With
/// the network listed, the same receiver gets everything.
#[test]
fn deliveries_reach_no_internal_address_outside_the_allowed_networks() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(|s| {
            fast(s);
            s.iwms.allowed_networks.clear();
        })
        .await;
        app.create_tenant("acme", feed(&r, &secret, false));
        let mut by_name = feed(&r, &secret, false);
        by_name.iwms_endpoint = Some(Some(r.url().replace("127.0.0.1", "localhost")));
        app.create_tenant("globex", by_name);
        scim_create(&app.scim("acme"), "ada@acme.test", "Ada").await;
        scim_create(&app.scim("globex"), "grace@globex.test", "Grace").await;
        let refused = eventually(15, || {
            let rows = outbox_rows(&app, Some("pending"));
            let errors: Vec<String> = rows.iter().filter_map(|r| r.last_error.clone()).collect();
            (errors.len() == 2 && errors.iter().all(|e| e.starts_with("refused:")))
                .then_some(errors.clone())
                .ok_or(format!("pending: {errors:?} of {}", rows.len()))
        })
        .await;
        assert!(
            refused
                .iter()
                .any(|e| e.contains("internal address outside"))
                && refused
                    .iter()
                    .any(|e| e.contains("resolves only to internal")),
            "{refused:?}"
        );
        assert!(
            r.deliveries().is_empty(),
            "nothing reached the receiver: {}",
            summary(&r.deliveries())
        );

        // Listed, the loopback receiver gets both events.
        let app = spawn_app_with(fast).await;
        app.create_tenant("acme", feed(&r, &secret, false));
        let id = scim_create(&app.scim("acme"), "ada@acme.test", "Ada").await;
        eventually(15, || {
            (r.delivered_kinds(id) == ["user.created"])
                .then_some(())
                .ok_or(summary(&r.deliveries()))
        })
        .await;
    });
}
