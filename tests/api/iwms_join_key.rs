//! The IWMS join key: before asking the IWMS to create an account, ssogate looks the person up
//! (a signed `POST <endpoint>/lookup`) by the tenant's key, links to the ID found, and creates
//! only when the IWMS answers 404. Against the fake IWMS of `support::iwms_receiver`.
use std::time::Duration;

use serde_json::{Value, json};
use ssogate::config::Settings;
use ssogate::service::admin::{self, TenantInput};

use crate::cli::Cli;
use crate::helpers::{TestApp, default_saml_input, now, spawn_app_with};
use crate::iwms_outbox::{SecretFile, run};
use crate::saml_fixtures::TestIdp;
use crate::support::iwms_receiver::{LookupMode, Mode, Receiver, summary};
use crate::support::poll::eventually;

const SECRET: &str = "iwms-join-key-secret-0123456789abcdef";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A tenant that creates users and IWMS accounts, looking people up by `key` first; the IWMS
/// ID also comes from SCIM's externalId.
fn tenant(r: &Receiver, secret: &SecretFile, key: Option<&str>) -> TenantInput {
    TenantInput {
        auto_create_users: Some(true),
        auto_create_iwms: Some(true),
        iwms_endpoint: Some(Some(r.url())),
        iwms_secret: Some(Some(format!("file:{}", secret.path.display()))),
        scim_iwms_attribute: Some(Some("externalId".into())),
        iwms_join_key: Some(key.map(str::to_owned)),
        ..Default::default()
    }
}

/// Quick worker rounds; retries wait 20-40 s of the app's (movable) clock, so a test decides
/// when one is due with `app.advance`. Signatures stay within the receiver's 300 s window.
fn settings(s: &mut Settings) {
    s.iwms.poll_interval_ms = 50;
    s.iwms.backoff_base_secs = 20;
    s.iwms.backoff_max_secs = 40;
    s.iwms.http_timeout_secs = 2;
    s.iwms.first_sign_in_wait_ms = 10_000;
}

async fn scim_create(app: &TestApp, body: Value) -> i64 {
    let (s, u) = app.scim("acme").post("/Users", body).await;
    assert_eq!(s, 201, "{u}");
    u["id"].as_str().unwrap().parse().unwrap()
}

fn person(user_name: &str, email: &str, extra: Value) -> Value {
    let mut b = json!({"schemas": [USER_SCHEMA, ENTERPRISE], "userName": user_name,
        "name": {"givenName": "Test", "familyName": "Person"},
        "emails": [{"value": email, "type": "work", "primary": true}], "active": true});
    if let (Some(b), Some(x)) = (b.as_object_mut(), extra.as_object()) {
        b.extend(x.clone());
    }
    b
}

fn iwms_id_of(app: &TestApp, user: i64) -> Option<String> {
    app.users("acme")
        .into_iter()
        .find(|u| u.id == user)
        .unwrap_or_else(|| panic!("no user {user}"))
        .iwms_id
}

fn timeline(app: &TestApp, user: i64, kind: &str) -> Vec<Value> {
    app.user_detail("acme", &user.to_string())
        .timeline
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.detail)
        .collect()
}

fn outbox_rows(app: &TestApp) -> Vec<ssogate::storage::outbox::OutboxRow> {
    app.with_db(|c| ssogate::storage::outbox::list(c, None, None, 1000))
        .expect("outbox list")
}

/// The user's account-creation event as the outbox holds it now.
fn created_row(app: &TestApp, user: i64) -> ssogate::storage::outbox::OutboxRow {
    outbox_rows(app)
        .into_iter()
        .find(|r| r.user_id == user && r.event == "user.created")
        .unwrap_or_else(|| panic!("no user.created for {user}"))
}

async fn until_delivered(app: &TestApp, r: &Receiver, user: i64) {
    eventually(15, || {
        let row = created_row(app, user);
        (row.status == "delivered")
            .then_some(())
            .ok_or(format!("{row:?}; {}", summary(&r.deliveries())))
    })
    .await;
}

/// The lookup finds the person: a first SAML sign-in comes back linked to the IWMS ID the IWMS
/// already had, no account is created, the timeline says it was linked, and the lookup's
/// signature is the tenant secret's HMAC over its timestamp and body.
#[test]
fn a_person_the_iwms_knows_is_linked_without_a_create_request() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        r.add_person("email", "ada@acme.test", "W-100");
        // The worker stays idle: the sign-in itself looks up and links.
        let app = spawn_app_with(|s| {
            settings(s);
            s.iwms.poll_interval_ms = 60_000;
        })
        .await;
        app.create_tenant("acme", tenant(&r, &secret, Some("email")));
        let idp = TestIdp::new("http://idp.acme.test/metadata");
        app.add_connection("acme", default_saml_input("okta", &idp));

        let res = app.sign_in(&idp).send().await;
        assert_eq!(res.status(), 303, "{}", app.last_reason("acme"));
        let me: Value = app.me().await.json().await.unwrap();
        assert_eq!(me["iwms_id"], "W-100", "{me}");
        let user = me["user_id"].as_i64().unwrap();
        assert_eq!(iwms_id_of(&app, user).as_deref(), Some("W-100"));

        assert!(
            r.create_requests().is_empty(),
            "no create request: {}",
            summary(&r.deliveries())
        );
        let ds = r.deliveries();
        assert_eq!(ds.len(), 1, "{}", summary(&ds));
        assert_eq!(ds[0].kind, "user.created");
        assert!(ds[0].ok() && !ds[0].create);
        assert_eq!(ds[0].body["data"]["user"]["iwms_id"], "W-100");
        assert!(r.accounts_of(user).is_empty());

        let lookups = r.lookups();
        assert_eq!(lookups.len(), 1, "{lookups:?}");
        let l = &lookups[0];
        assert_eq!(
            (l.field.as_str(), l.value.as_str()),
            ("email", "ada@acme.test")
        );
        assert_eq!(l.user_id, user);
        assert_eq!(l.status, 200);
        assert_eq!(l.body["tenant"], "acme");
        assert_eq!(
            l.event_id, ds[0].event_id,
            "the lookup names its creation event"
        );
        // The signature is verifiable with the tenant's secret.
        let t: i64 = l
            .signature
            .split(',')
            .find_map(|p| p.strip_prefix("t="))
            .and_then(|t| t.parse().ok())
            .expect("t=");
        assert!((now() - t).abs() < 300);
        assert_eq!(
            l.signature,
            ssogate::domain::iwms::signature(SECRET.as_bytes(), t, &l.raw_body)
        );
        r.assert_clean();

        let linked = timeline(&app, user, "iwms_account_linked");
        assert_eq!(linked.len(), 1);
        assert_eq!(linked[0]["iwms_id"], "W-100");
        assert_eq!(linked[0]["matched_by"], "email");
        assert!(timeline(&app, user, "iwms_account_created").is_empty());
        app
    });
}

/// 404: the IWMS does not know the person, so the account is created as without a join key.
#[test]
fn a_person_the_iwms_does_not_know_gets_an_account() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        r.add_person("email", "someone-else@acme.test", "W-1");
        let app = spawn_app_with(settings).await;
        app.create_tenant("acme", tenant(&r, &secret, Some("email")));
        let user = scim_create(&app, person("grace", "grace@acme.test", json!({}))).await;
        until_delivered(&app, &r, user).await;

        let lookups = r.lookups();
        assert_eq!(lookups.len(), 1, "{lookups:?}");
        assert_eq!(lookups[0].status, 404);
        assert_eq!(lookups[0].value, "grace@acme.test");
        let creates = r.create_requests();
        assert_eq!(creates.len(), 1, "{}", summary(&r.deliveries()));
        assert_eq!(r.accounts_of(user), ["IWMS-1"]);
        assert_eq!(iwms_id_of(&app, user).as_deref(), Some("IWMS-1"));
        assert_eq!(timeline(&app, user, "iwms_account_created").len(), 1);
        assert!(timeline(&app, user, "iwms_account_linked").is_empty());
        r.assert_clean();
        app
    });
}

/// A lookup that gets no usable answer (an error status, a malformed or oversized answer, a
/// timeout) is retried with backoff, and nothing is created until a lookup answers.
#[test]
fn failed_lookups_are_retried_and_nothing_is_created_meanwhile() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        r.set_lookup_mode(LookupMode::Fail);
        let app = spawn_app_with(settings).await;
        app.create_tenant("acme", tenant(&r, &secret, Some("employee_number")));
        let user = scim_create(
            &app,
            person(
                "linus",
                "linus@acme.test",
                json!({ENTERPRISE: {"employeeNumber": "E-42"}}),
            ),
        )
        .await;

        // Each failure is recorded with its reason and waits for its backoff; the movable
        // clock makes the next try due.
        let mut seen = 0;
        for (mode, reason) in [
            (LookupMode::Fail, "HTTP 503"),
            (LookupMode::Malformed, "without a usable `iwms_id`"),
            (LookupMode::Oversized, "larger than 64 KiB"),
            (LookupMode::Slow(Duration::from_secs(5)), "timed out"),
        ] {
            r.set_lookup_mode(mode);
            if seen > 0 {
                app.advance(41);
            }
            seen += 1;
            let row = eventually(15, || {
                let row = created_row(&app, user);
                (row.attempts == seen && row.status == "pending")
                    .then_some(row.clone())
                    .ok_or(format!("{row:?}"))
            })
            .await;
            let err = row.last_error.clone().unwrap_or_default();
            assert!(err.contains(reason), "{mode:?}: {err}");
            assert!(row.next_attempt_at > app.now(), "waits for its backoff");
            assert_eq!(r.lookups().len(), seen as usize);
            assert!(
                r.deliveries().is_empty(),
                "nothing sent while the lookup fails: {}",
                summary(&r.deliveries())
            );
        }
        assert_eq!(iwms_id_of(&app, user), None);
        assert!(r.lookups().iter().all(|l| l.value == "E-42"));

        // The IWMS answers again and knows the person: linked, still nothing created.
        r.add_person("employee_number", "E-42", "W-42");
        r.set_lookup_mode(LookupMode::Directory);
        app.advance(41);
        until_delivered(&app, &r, user).await;
        assert_eq!(iwms_id_of(&app, user).as_deref(), Some("W-42"));
        assert!(
            r.create_requests().is_empty(),
            "{}",
            summary(&r.deliveries())
        );
        assert_eq!(r.lookups().len(), 5);
        assert_eq!(created_row(&app, user).last_error, None);
        r.assert_clean();
        app
    });
}

/// A lookup that answers so late that the event's own request could outlive the lease ends the
/// attempt: nothing is sent that another worker might send at the same time.
#[test]
fn a_lookup_that_eats_the_lease_ends_the_attempt() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        r.set_lookup_mode(LookupMode::Slow(Duration::from_millis(1100)));
        let app = spawn_app_with(|s| {
            settings(s);
            s.iwms.lease_grace_secs = 30;
        })
        .await;
        app.create_tenant("acme", tenant(&r, &secret, Some("email")));
        let user = scim_create(&app, person("ada", "ada@acme.test", json!({}))).await;
        eventually(15, || {
            (r.lookups().len() == 1)
                .then_some(())
                .ok_or("no lookup yet".to_owned())
        })
        .await;
        // While the IWMS thinks (1.1 s), the lease (2 s timeout + 30 s grace, from the claim)
        // comes within the timeout of its end: 29 + 1.1 s leaves less than 2 s, and the lease
        // itself has about 2 s left, so the worker does not take the event again meanwhile.
        app.advance(29);
        let row = eventually(15, || {
            let row = created_row(&app, user);
            (row.attempts == 1)
                .then_some(row.clone())
                .ok_or(format!("{row:?}"))
        })
        .await;
        assert!(
            row.last_error
                .as_deref()
                .is_some_and(|e| e.contains("too late")),
            "{row:?}"
        );
        assert!(r.deliveries().is_empty(), "{}", summary(&r.deliveries()));
        r.set_lookup_mode(LookupMode::Directory);
        app.advance(41);
        until_delivered(&app, &r, user).await;
        assert_eq!(r.create_requests().len(), 1);
        r.assert_clean();
        app
    });
}

/// Each join key sends its own value: the email, SCIM's userName (the email for a user SCIM
/// never wrote), the enterprise employeeNumber, and the IWMS ID SCIM delivered (confirmed by
/// the IWMS: linked, nothing created).
#[test]
fn each_join_key_sends_its_value() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(settings).await;
        app.create_tenant("acme", tenant(&r, &secret, None));
        r.add_person("iwms_id", "X-4", "X-4");
        let cases = [
            ("email", "u1", "u1@acme.test", json!({}), "u1@acme.test"),
            ("user_name", "u2-name", "u2@acme.test", json!({}), "u2-name"),
            (
                "employee_number",
                "u3",
                "u3@acme.test",
                json!({ENTERPRISE: {"employeeNumber": "E-3"}}),
                "E-3",
            ),
            (
                "iwms_id",
                "u4",
                "u4@acme.test",
                json!({"externalId": "X-4"}),
                "X-4",
            ),
        ];
        for (key, user_name, email, extra, expected) in cases {
            app.with_db(|c| {
                admin::update_tenant(
                    c,
                    "acme",
                    &TenantInput {
                        iwms_join_key: Some(Some(key.into())),
                        ..Default::default()
                    },
                    &ssogate::domain::audit::Actor::Cli,
                    now(),
                )
            })
            .expect("join key set");
            let user = scim_create(&app, person(user_name, email, extra)).await;
            until_delivered(&app, &r, user).await;
            let l: Vec<_> = r
                .lookups()
                .into_iter()
                .filter(|l| l.user_id == user)
                .collect();
            assert_eq!(l.len(), 1, "{key}: {l:?}");
            assert_eq!(l[0].field, key);
            assert_eq!(l[0].value, expected, "{key}");
        }
        // The IWMS ID SCIM sent was confirmed: linked, no second account.
        let u4 = app
            .users("acme")
            .into_iter()
            .find(|u| u.email == "u4@acme.test")
            .unwrap();
        assert_eq!(u4.iwms_id.as_deref(), Some("X-4"));
        assert!(r.accounts_of(u4.id).is_empty());
        assert_eq!(timeline(&app, u4.id, "iwms_account_linked").len(), 1);
        // The others were not known: one account each.
        assert_eq!(r.create_requests().len(), 3, "{}", summary(&r.deliveries()));
        // No value for the key (`iwms_id`, and SCIM sent none): created without a lookup.
        let user = scim_create(&app, person("u6", "u6@acme.test", json!({}))).await;
        until_delivered(&app, &r, user).await;
        assert!(r.lookups().iter().all(|l| l.user_id != user));
        assert_eq!(r.accounts_of(user).len(), 1);

        // Without a join key there is no lookup.
        app.with_db(|c| {
            admin::update_tenant(
                c,
                "acme",
                &TenantInput {
                    iwms_join_key: Some(None),
                    ..Default::default()
                },
                &ssogate::domain::audit::Actor::Cli,
                now(),
            )
        })
        .expect("join key cleared");
        let user = scim_create(&app, person("u5", "u5@acme.test", json!({}))).await;
        until_delivered(&app, &r, user).await;
        assert!(r.lookups().iter().all(|l| l.user_id != user));
        assert!(iwms_id_of(&app, user).is_some());
        r.assert_clean();
        app
    });
}

/// The IWMS finds the person under an IWMS ID another local user holds: nothing is stolen or
/// created, the event is parked as dead with an `iwms_id_conflict` reason and the user's
/// timeline says so; once the IWMS's records are fixed, `outbox retry` links the user.
#[test]
fn an_iwms_id_held_by_another_user_is_refused_not_stolen() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        let app = spawn_app_with(settings).await;
        app.create_tenant("acme", tenant(&r, &secret, Some("email")));
        let grace = scim_create(
            &app,
            person("grace", "grace@acme.test", json!({"externalId": "W-7"})),
        )
        .await;
        until_delivered(&app, &r, grace).await;
        assert!(r.lookups().is_empty(), "grace had an IWMS ID: no lookup");

        r.add_person("email", "ada@acme.test", "W-7");
        let ada = scim_create(&app, person("ada", "ada@acme.test", json!({}))).await;
        let row = eventually(15, || {
            let row = created_row(&app, ada);
            (row.status == "dead")
                .then_some(row.clone())
                .ok_or(format!("{row:?}"))
        })
        .await;
        let err = row.last_error.unwrap_or_default();
        assert!(err.starts_with("iwms_id_conflict: "), "{err}");
        assert!(err.contains(&format!("user {grace}")), "{err}");
        assert_eq!(iwms_id_of(&app, ada), None, "nothing stolen");
        assert_eq!(iwms_id_of(&app, grace).as_deref(), Some("W-7"));
        assert!(r.create_requests().is_empty(), "nothing created");
        assert!(r.of_user(ada).is_empty(), "{}", summary(&r.deliveries()));
        let refused = timeline(&app, ada, "iwms_link_refused");
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0]["reason"], "iwms_id_conflict");
        assert_eq!(refused[0]["iwms_id"], "W-7");
        assert_eq!(refused[0]["holder"], grace);
        assert_eq!(refused[0]["matched_by"], "email");

        // The IWMS's record is corrected; an admin queues the event again.
        r.add_person("email", "ada@acme.test", "W-8");
        let out = tokio::task::block_in_place(|| {
            Cli::with_db(&app.db_url).ok(&["outbox", "retry", &row.id.to_string()])
        });
        assert!(!out.is_empty());
        until_delivered(&app, &r, ada).await;
        assert_eq!(iwms_id_of(&app, ada).as_deref(), Some("W-8"));
        assert!(r.create_requests().is_empty());
        r.assert_clean();
        app
    });
}

/// A creation that reached the IWMS but whose answer was lost, for a user who then got an IWMS
/// ID from SCIM: the retry creates nothing (the user has an ID), and its lookup finds the
/// account the lost answer named, so the timeline shows it unused instead of nobody knowing.
#[test]
fn an_account_whose_answer_was_lost_is_found_and_shown_unused() {
    run(async {
        let r = Receiver::start(SECRET).await;
        let secret = SecretFile::new(SECRET);
        // The IWMS creates the account, then answers after the client gave up.
        r.set_mode(Mode::Slow(Duration::from_secs(5)));
        let app = spawn_app_with(settings).await;
        app.create_tenant("acme", tenant(&r, &secret, Some("email")));
        let user = scim_create(&app, person("ada", "ada@acme.test", json!({}))).await;
        eventually(15, || {
            let row = created_row(&app, user);
            (row.attempts == 1 && row.status == "pending")
                .then_some(())
                .ok_or(format!("{row:?}"))
        })
        .await;
        assert_eq!(r.accounts_of(user), ["IWMS-1"], "created, answer lost");
        assert_eq!(r.lookups().len(), 1, "looked up before creating");
        // SCIM gives the user an IWMS ID meanwhile.
        let (s, body) = app
            .scim("acme")
            .patch(
                &format!("/Users/{user}"),
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "externalId", "value": "W-SCIM"}]}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        r.set_mode(Mode::Ok);
        app.advance(41);
        until_delivered(&app, &r, user).await;
        assert_eq!(iwms_id_of(&app, user).as_deref(), Some("W-SCIM"), "kept");
        assert_eq!(r.accounts_of(user), ["IWMS-1"], "no second account");
        let lookups = r.lookups();
        assert_eq!(lookups.len(), 2, "{lookups:?}");
        assert_eq!(lookups[1].status, 200);
        let last = r.of_user(user).pop().unwrap();
        assert!(last.ok() && !last.create, "{}", summary(&r.deliveries()));
        let unused = timeline(&app, user, "iwms_account_ignored");
        assert_eq!(unused.len(), 1, "{unused:?}");
        assert_eq!(unused[0]["iwms_id"], "IWMS-1");
        assert_eq!(unused[0]["kept"], "W-SCIM");
        assert!(
            unused[0]["why"]
                .as_str()
                .is_some_and(|w| w.contains("earlier creation attempt")),
            "{unused:?}"
        );
        r.assert_clean();
        app
    });
}

/// The setting goes through the one front door: the API (validated, audited, in its view),
/// the CLI, and the console form.
#[test]
fn the_join_key_is_set_through_every_front_door() {
    run(front_doors());
}

async fn front_doors() -> TestApp {
    let app = spawn_app_with(settings).await;
    app.create_tenant("acme", TenantInput::default());
    let token = app
        .with_db(|c| {
            admin::access::create_token(
                c,
                Some("acme"),
                "tests",
                Some(90),
                &ssogate::domain::audit::Actor::Cli,
                now(),
            )
        })
        .expect("admin token")
        .token;
    let patch = |body: Value| {
        let rb = app
            .client
            .patch(app.url("/api/v1/tenants/acme"))
            .bearer_auth(&token)
            .json(&body);
        async move {
            let res = rb.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let (s, body) = patch(json!({"iwms_join_key": "phone"})).await;
    assert_eq!(s, 400, "{body}");
    assert!(body.to_string().contains("iwms_join_key"), "{body}");
    let (s, body) = patch(json!({"iwms_join_key": "employee_number"})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["iwms_join_key"], "employee_number");
    let res = app
        .client
        .get(app.url("/api/v1/tenants/acme/audit"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let audit: Value = res.json().await.unwrap();
    let last = &audit["items"][0];
    assert_eq!(last["action"], "tenant.updated", "{audit}");
    assert_eq!(last["before"]["iwms_join_key"], Value::Null);
    assert_eq!(last["after"]["iwms_join_key"], "employee_number");
    let (s, body) = patch(json!({"iwms_join_key": null})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["iwms_join_key"], Value::Null);

    let cli = Cli::with_db(&app.db_url);
    let out = tokio::task::block_in_place(|| {
        cli.ok(&["tenant", "update", "acme", "--iwms-join-key", "user_name"])
    });
    assert!(out.contains("IWMS join key:          user_name"), "{out}");
    let err = tokio::task::block_in_place(|| {
        cli.fails(&["tenant", "update", "acme", "--iwms-join-key", "phone"])
    });
    assert!(err.contains("iwms_join_key"), "{err}");
    let v = tokio::task::block_in_place(|| cli.json(&["tenant", "show", "acme", "--json"]));
    assert_eq!(v["iwms_join_key"], "user_name");
    let out = tokio::task::block_in_place(|| {
        cli.ok(&["tenant", "update", "acme", "--iwms-join-key", "none"])
    });
    assert!(out.contains("IWMS join key:          none"), "{out}");
    app
}
