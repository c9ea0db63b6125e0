//! Okta's and Entra ID's "Import Users": every user of the tenant is a SCIM resource, whoever
//! created it (a sign-in, an admin, SCIM), with its email as userName; a POST naming that
//! userName takes the user over (same id, identities kept) in any tenant configuration.
use serde_json::{Value, json};
use ssogate::service::admin::TenantInput;

use crate::admin_api::api;
use crate::cli::Cli;
use crate::helpers::{Scim, TestApp, default_saml_input, spawn_app};
use crate::saml_fixtures::TestIdp;
use crate::support::sign_in::acme;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn body(user_name: &str, given: &str) -> Value {
    json!({"schemas": [USER], "userName": user_name, "active": true,
           "name": {"givenName": given, "familyName": "Imported"},
           "emails": [{"value": user_name, "type": "work", "primary": true}]})
}

/// Okta's import: pages of `count` from startIndex 1 until totalResults; every id once.
async fn import(scim: &Scim<'_>, count: usize) -> Vec<Value> {
    let mut all: Vec<Value> = Vec::new();
    let mut start = 1;
    loop {
        let (s, page) = scim
            .get(&format!("/Users?startIndex={start}&count={count}"))
            .await;
        assert_eq!(s, 200, "{page}");
        let items = page["Resources"].as_array().cloned().unwrap_or_default();
        let total = page["totalResults"].as_u64().unwrap() as usize;
        assert!(items.len() <= count, "{page}");
        all.extend(items.iter().cloned());
        start += items.len();
        if items.is_empty() || all.len() >= total {
            assert_eq!(all.len(), total, "the pages add up to totalResults");
            break;
        }
    }
    all
}

fn user_names(users: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = users
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

async fn sign_in(app: &TestApp, idp: &TestIdp, who: &str) -> i64 {
    app.sign_in(idp)
        .name_id(&format!("subject-{who}"))
        .email(&format!("{who}@acme.test"))
        .user_id()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_import_lists_every_user_once_whoever_created_it() {
    let app = spawn_app().await;
    let idp = acme(&app, TenantInput::default());
    let ada = sign_in(&app, &idp, "ada").await;
    sign_in(&app, &idp, "bob").await;
    sign_in(&app, &idp, "cy").await;
    let admin = api(&app, Some("acme"));
    for who in ["dee@acme.test", "eve@acme.test"] {
        let (s, v) = admin
            .post("/tenants/acme/users", json!({"email": who}))
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let scim = app.scim("acme");
    for who in ["fay@acme.test", "gus@acme.test"] {
        let (s, v) = scim.post("/Users", body(who, "Scim")).await;
        assert_eq!(s, 201, "{v}");
    }
    // An admin-deactivated user is listed too (inactive); a deprovisioned one is not.
    let (s, v) = admin
        .post_empty(&format!("/tenants/acme/users/{ada}/deactivate"))
        .await;
    assert_eq!(s, 200, "{v}");

    let expected = [
        "ada@acme.test",
        "bob@acme.test",
        "cy@acme.test",
        "dee@acme.test",
        "eve@acme.test",
        "fay@acme.test",
        "gus@acme.test",
    ];
    for count in [1, 2, 3, 100] {
        let all = import(&scim, count).await;
        assert_eq!(user_names(&all), expected, "count={count}");
        let mut ids: Vec<&str> = all.iter().map(|u| u["id"].as_str().unwrap()).collect();
        ids.dedup();
        assert_eq!(ids.len(), expected.len(), "each user once: {all:?}");
    }

    // Found by the filters Entra ID and Okta match with, and by id.
    for filter in [
        "userName eq \"Bob@acme.test\"",
        "emails[value eq \"bob@acme.test\"]",
        "emails.value eq \"bob@acme.test\"",
        "emails[type eq \"work\" and primary eq true].value eq \"bob@acme.test\"",
    ] {
        let q = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>();
        let (s, v) = scim.get(&format!("/Users?filter={q}")).await;
        assert_eq!(s, 200, "{filter}: {v}");
        assert_eq!(v["totalResults"], 1, "{filter}: {v}");
        assert_eq!(v["Resources"][0]["userName"], "bob@acme.test", "{filter}");
    }
    let (s, v) = scim.get("/Users?filter=userName%20sw%20%22d%22").await;
    assert_eq!((s, v["totalResults"].as_i64()), (200, Some(1)), "{v}");
    let (s, u) = scim.get(&format!("/Users/{ada}")).await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["userName"], "ada@acme.test");
    assert_eq!(u["active"], false, "deactivated by the admin");
    assert_eq!(
        u["emails"],
        json!([{"value": "ada@acme.test", "type": "work", "primary": true}])
    );
    assert_eq!(u["name"]["givenName"], "Ada", "from the sign-in");
    let (_, inactive) = scim.get("/Users?filter=active%20eq%20false").await;
    assert_eq!(inactive["totalResults"], 1, "{inactive}");

    // Entra ID, having matched bob by userName, PATCHes him: he is taken under SCIM.
    let bob = app.user_detail("acme", "bob@acme.test").user.user.id;
    let (s, v) = scim
        .patch(
            &format!("/Users/{bob}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "Replace", "path": "externalId", "value": "aad-bob"},
                                  {"op": "Replace", "path": "emails[type eq \"work\"].value",
                                   "value": "bob@acme.test"}]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["externalId"], "aad-bob");
    assert_eq!(v["userName"], "bob@acme.test");
    let d = app.user_detail("acme", "bob@acme.test");
    let linked: Vec<_> = d
        .events()
        .filter(|(e, _)| e.kind == "scim_linked")
        .map(|(e, _)| e.detail["matched_by"].clone())
        .collect();
    assert_eq!(linked, [json!("id")]);
    assert_eq!(import(&scim, 3).await.len(), expected.len(), "still once");

    // A deprovisioned user leaves the import, and the CLI lists it by its status.
    let (s, _) = scim.delete(&format!("/Users/{ada}")).await;
    assert_eq!(s, 204);
    let all = import(&scim, 4).await;
    assert_eq!(user_names(&all), expected[1..]);
    let cli = Cli::with_db(&app.db_url);
    let listed = tokio::task::block_in_place(|| {
        cli.json(&[
            "user",
            "list",
            "--tenant",
            "acme",
            "--status",
            "deprovisioned",
            "--json",
        ])
    });
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["email"], "ada@acme.test");
}

/// The user a POST took over: same id, no second row, the timeline and the IWMS heard it.
fn assert_taken_over(app: &TestApp, tenant: &str, email: &str, id: i64, users_before: usize) {
    assert_taken_over_heard(app, tenant, email, id, users_before, false)
}

fn assert_taken_over_heard(
    app: &TestApp,
    tenant: &str,
    email: &str,
    id: i64,
    users_before: usize,
    iwms: bool,
) {
    let users = app.users(tenant);
    assert_eq!(users.len(), users_before, "no duplicate");
    let d = app.user_detail(tenant, email);
    assert_eq!(d.user.user.id, id);
    assert_eq!(
        d.user
            .user_name
            .as_ref()
            .map(|u| u.to_ascii_lowercase())
            .as_deref(),
        Some(email)
    );
    let kinds: Vec<&str> = d.events().map(|(e, _)| e.kind.as_str()).collect();
    assert!(kinds.contains(&"scim_linked"), "{kinds:?}");
    assert!(kinds.contains(&"attributes_updated"), "{kinds:?}");
    if !iwms {
        return;
    }
    let queued = app.with_db(|c| {
        use diesel::prelude::*;
        use ssogate::storage::schema::outbox_events as outbox;
        outbox::table
            .filter(outbox::user_id.eq(id))
            .select(outbox::event)
            .load::<String>(c)
            .unwrap()
    });
    assert!(
        queued.iter().any(|e| e == "user.updated"),
        "the IWMS hears the takeover: {queued:?}"
    );
}

#[tokio::test]
async fn a_post_with_the_user_name_takes_over_the_signed_in_user() {
    let app = spawn_app().await;
    // An IWMS feed (never reached here: the events only need to be queued).
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("iwms.secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef\n").unwrap();
    let idp = acme(
        &app,
        TenantInput {
            iwms_endpoint: Some(Some("http://127.0.0.1:9/iwms".into())),
            iwms_secret: Some(Some(format!("file:{}", secret.display()))),
            ..Default::default()
        },
    );
    let ada = sign_in(&app, &idp, "ada").await;
    let scim = app.scim("acme");
    let (s, v) = scim.post("/Users", body("Ada@acme.test", "Adeline")).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["id"], ada.to_string(), "the same user: {v}");
    assert_taken_over_heard(&app, "acme", "ada@acme.test", ada, 1, true);
    // The sign-in identity still signs in to this user; SCIM's name stands until it does.
    assert_eq!(app.user_detail("acme", "ada@acme.test").identities.len(), 1);
    assert_eq!(sign_in(&app, &idp, "ada").await, ada);
    assert_eq!(app.users("acme").len(), 1);
    // Now under SCIM: a second POST is the conflict it is for any SCIM user.
    let (s, v) = scim.post("/Users", body("ada@acme.test", "Again")).await;
    assert_eq!(s, 409, "{v}");
}

#[tokio::test]
async fn takeover_works_without_whitelisted_domains_and_without_just_in_time_creation() {
    let app = spawn_app().await;
    let idp = acme(&app, TenantInput::default());
    let ada = sign_in(&app, &idp, "ada").await;
    // The tenant gives up its domains: the user stays, SCIM still links it by userName.
    let admin = api(&app, None);
    let (s, v) = admin.delete("/tenants/acme/domains/acme.test").await;
    assert_eq!(s, 204, "{v}");
    let scim = app.scim("acme");
    let (s, v) = scim.post("/Users", body("ada@acme.test", "Ada")).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["id"], ada.to_string());
    assert_taken_over(&app, "acme", "ada@acme.test", ada, 1);

    // A tenant that never creates users on sign-in: an admin-created user is taken over.
    app.create_tenant(
        "initech",
        TenantInput {
            auto_create_users: Some(false),
            ..Default::default()
        },
    );
    app.add_domain("initech", "initech.test");
    app.add_connection("initech", default_saml_input("okta", &idp));
    let (s, v) = api(&app, Some("initech"))
        .post(
            "/tenants/initech/users",
            json!({"email": "peter@initech.test", "first_name": "Peter"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let peter = v["id"].as_i64().unwrap();
    let scim = app.scim("initech");
    let all = import(&scim, 10).await;
    assert_eq!(user_names(&all), ["peter@initech.test"]);
    let (s, v) = scim
        .post("/Users", body("peter@initech.test", "Peter"))
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["id"], peter.to_string());
    assert_taken_over(&app, "initech", "peter@initech.test", peter, 1);
}
