//! SCIM's security checks, each with a test that fails if the check is removed: bearer
//! tokens per tenant, tenant isolation, body and page limits, bounded and parameterised
//! filters, SCIM error bodies, no passwords kept, no deletion.
use diesel::prelude::*;
use serde_json::{Value, json};
use ssogate::service::admin::TenantInput;
use ssogate::storage::schema::users;

use crate::helpers::{Scim, TestApp, spawn_app, spawn_app_with};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

fn user(name: &str) -> Value {
    json!({"schemas": [USER], "userName": name, "emails": [{"value": name, "type": "work"}]})
}

fn assert_error(status: u16, body: &Value, want_status: u16, scim_type: Option<&str>) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["schemas"], json!([ERROR]), "{body}");
    assert_eq!(body["status"], want_status.to_string(), "{body}");
    assert_eq!(
        body.get("scimType").and_then(Value::as_str),
        scim_type,
        "{body}"
    );
}

async fn two_tenants() -> TestApp {
    let app = spawn_app().await;
    app.create_tenant("acme", TenantInput::default());
    app.create_tenant("globex", TenantInput::default());
    app
}

#[tokio::test]
async fn requests_without_a_valid_token_of_the_tenant_get_401() {
    let app = two_tenants().await;
    let acme = app.scim("acme");
    assert_eq!(acme.post("/Users", user("a@acme.test")).await.0, 201);
    let url = acme.url("/Users");

    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/scim+json");
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let body: Value = res.json().await.unwrap();
    assert_error(401, &body, 401, None);

    for bad in ["", "scim_wrong", &format!("{}x", acme.token)] {
        let res = app.client.get(&url).bearer_auth(bad).send().await.unwrap();
        assert_eq!(res.status(), 401, "token {bad:?}");
    }
    let basic = app
        .client
        .get(&url)
        .basic_auth("admin", Some(&acme.token))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401, "only the Bearer scheme is accepted");

    // Another tenant's token sees nothing of this tenant, not even that users exist.
    let globex_token = app.scim_token("globex");
    let cross = Scim {
        app: &app,
        tenant: "acme".into(),
        token: globex_token,
    };
    let (s, body) = cross.get("/Users").await;
    assert_error(s, &body, 401, None);
    let (s, _) = cross.get("/Users/1").await;
    assert_eq!(s, 401);
    let (s, _) = cross.post("/Users", user("intruder@acme.test")).await;
    assert_eq!(s, 401);
    assert_eq!(
        app.users("acme").len(),
        1,
        "nothing created through another tenant's token"
    );
}

#[tokio::test]
async fn revoked_tokens_stop_working_and_use_is_recorded() {
    let app = two_tenants().await;
    let acme = app.scim("acme");
    let second = app.scim_token("acme");
    assert_eq!(acme.get("/Users").await.0, 200);
    let (tenant, tokens) = app.with_db(|c| {
        let t = ssogate::service::admin::tenant_by_slug(c, "acme").unwrap();
        let list = ssogate::service::admin::scim_tokens::list(c, &t).unwrap();
        (t, list)
    });
    assert_eq!(tokens.len(), 2, "several tokens can be active (rotation)");
    assert!(tokens[0].last_used_at.is_some(), "last use is recorded");
    assert!(tokens[1].last_used_at.is_none());
    app.with_db(|c| {
        ssogate::service::admin::scim_tokens::revoke(
            c,
            &tenant,
            tokens[0].id,
            &ssogate::domain::audit::Actor::Cli,
            crate::helpers::now(),
        )
    })
    .unwrap();
    assert_eq!(acme.get("/Users").await.0, 401, "revoked");
    let rotated = Scim {
        app: &app,
        tenant: "acme".into(),
        token: second,
    };
    assert_eq!(
        rotated.get("/Users").await.0,
        200,
        "the other token still works"
    );
}

#[tokio::test]
async fn resources_of_another_tenant_are_invisible() {
    let app = two_tenants().await;
    let (acme, globex) = (app.scim("acme"), app.scim("globex"));
    let (_, a) = acme.post("/Users", user("a@acme.test")).await;
    let id = a["id"].as_str().unwrap();
    let (s, body) = globex.get(&format!("/Users/{id}")).await;
    assert_error(s, &body, 404, None);
    assert_eq!(globex.delete(&format!("/Users/{id}")).await.0, 404);
    assert_eq!(globex.get("/Users").await.1["totalResults"], 0);
    let (s, body) = globex
        .post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G", "members": [{"value": id}]}))
        .await;
    assert_error(s, &body, 400, Some("invalidValue"));
    // The same userName may exist in two tenants.
    assert_eq!(globex.post("/Users", user("a@acme.test")).await.0, 201);
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_parsing_and_nothing_is_stored() {
    let app = spawn_app_with(|s| s.scim.max_body_bytes = 4096).await;
    app.create_tenant("acme", TenantInput::default());
    let acme = app.scim("acme");
    let mut big = user("big@acme.test");
    big["displayName"] = json!("x".repeat(5000));
    let (s, body) = acme.post("/Users", big).await;
    assert_error(s, &body, 413, None);
    assert!(app.users("acme").is_empty());
}

#[tokio::test]
async fn pages_are_capped_and_paging_follows_the_rfc() {
    let app = spawn_app_with(|s| s.scim.max_page_size = 2).await;
    app.create_tenant("acme", TenantInput::default());
    let acme = app.scim("acme");
    for i in 0..3 {
        assert_eq!(
            acme.post("/Users", user(&format!("u{i}@acme.test")))
                .await
                .0,
            201
        );
    }
    let (_, page) = acme.get("/Users?count=1000").await;
    assert_eq!(
        (page["totalResults"].clone(), page["itemsPerPage"].clone()),
        (json!(3), json!(2))
    );
    let (_, page) = acme.get("/Users?startIndex=3&count=2").await;
    assert_eq!(page["Resources"][0]["userName"], "u2@acme.test");
    assert_eq!(
        (page["startIndex"].clone(), page["itemsPerPage"].clone()),
        (json!(3), json!(1))
    );
    let (_, page) = acme.get("/Users?count=0").await;
    assert_eq!(
        (
            page["totalResults"].clone(),
            page.get("Resources").map(|r| r.as_array().unwrap().len())
        ),
        (json!(3), Some(0))
    );
    let (s, body) = acme.get("/Users?startIndex=abc").await;
    assert_error(s, &body, 400, Some("invalidValue"));
}

#[tokio::test]
async fn filters_are_bounded_parameterised_and_checked() {
    let app = spawn_app().await;
    app.create_tenant("acme", TenantInput::default());
    let acme = app.scim("acme");
    for n in ["alice@acme.test", "bob@acme.test", "a_b@acme.test"] {
        assert_eq!(acme.post("/Users", user(n)).await.0, 201);
    }
    let q = |f: &str| format!("/Users?filter={}", url_encode(f));
    // Injection attempts are values, never SQL.
    for f in [
        r#"userName eq "x' OR '1'='1""#,
        r#"userName eq "x\" OR 1=1 --""#,
        r#"userName co "'); DROP TABLE users; --""#,
    ] {
        let (s, body) = acme.get(&q(f)).await;
        assert_eq!((s, body["totalResults"].clone()), (200, json!(0)), "{f}");
    }
    // LIKE wildcards in values are literal.
    let (_, body) = acme.get(&q(r#"userName sw "%""#)).await;
    assert_eq!(body["totalResults"], 0);
    let (_, body) = acme.get(&q(r#"userName co "_b@""#)).await;
    assert_eq!(
        body["totalResults"], 1,
        "only a_b@, not bob@ (underscore is literal)"
    );
    // Case rules: userName is case-insensitive.
    let (_, body) = acme.get(&q(r#"userName eq "ALICE@acme.TEST""#)).await;
    assert_eq!(body["totalResults"], 1);
    // Too complex, malformed, unsupported: 400 invalidFilter, never a scan.
    let many = (0..30)
        .map(|i| format!(r#"userName eq "u{i}""#))
        .collect::<Vec<_>>()
        .join(" or ");
    for f in [
        many.as_str(),
        "userName eq",
        r#"password eq "x""#,
        r#"phoneNumbers.value eq "1""#,
        r#"active gt true"#,
    ] {
        let (s, body) = acme.get(&q(f)).await;
        assert_error(s, &body, 400, Some("invalidFilter"));
    }
}

#[tokio::test]
async fn malformed_requests_get_scim_errors() {
    let app = spawn_app().await;
    app.create_tenant("acme", TenantInput::default());
    let acme = app.scim("acme");
    let res = app
        .client
        .post(acme.url("/Users"))
        .bearer_auth(&acme.token)
        .header("content-type", "application/scim+json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_error(400, &res.json().await.unwrap(), 400, Some("invalidSyntax"));
    let res = app
        .client
        .post(acme.url("/Users"))
        .bearer_auth(&acme.token)
        .header("content-type", "text/plain")
        .body(user("t@acme.test").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    // A known attribute of the wrong type (an unknown one is ignored: scim_directories.rs).
    let (s, body) = acme
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "x@acme.test", "active": "yes", "shoeSize": 44}),
        )
        .await;
    assert_error(s, &body, 400, Some("invalidValue"));
    let (s, body) = acme
        .post("/Users", json!({"schemas": [USER], "userName": "no-email"}))
        .await;
    assert_error(s, &body, 400, Some("invalidValue"));
    let (s, body) = acme.get("/Nope").await;
    assert_error(s, &body, 404, None);
    let (s, body) = acme.delete("/ServiceProviderConfig").await;
    assert_error(s, &body, 405, None);
    assert!(app.users("acme").is_empty());
}

#[tokio::test]
async fn passwords_are_never_kept_and_delete_keeps_the_record() {
    let app = spawn_app().await;
    app.create_tenant("acme", TenantInput::default());
    let acme = app.scim("acme");
    let mut body = user("p@acme.test");
    body["password"] = json!("hunter2-never-stored");
    let (s, created) = acme.post("/Users", body).await;
    assert_eq!(s, 201);
    assert!(!created.to_string().contains("hunter2"));
    let docs: Vec<String> = app
        .with_db(|c| users::table.select(users::scim_doc).load(c))
        .unwrap();
    assert!(
        !docs.concat().contains("hunter2"),
        "password stored: {docs:?}"
    );

    let id = created["id"].as_str().unwrap();
    assert_eq!(acme.delete(&format!("/Users/{id}")).await.0, 204);
    assert_eq!(acme.get(&format!("/Users/{id}")).await.0, 404);
    assert_eq!(acme.delete(&format!("/Users/{id}")).await.0, 404);
    let all = app.users("acme");
    assert_eq!(all.len(), 1, "the record stays");
    assert_eq!(all[0].status, "deactivated");
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Concurrent PATCHes to one group or one user all land (row lock on PostgreSQL; SQLite
/// serialises writers), and a PATCH after DELETE does not bring the user back.
#[tokio::test]
async fn concurrent_patches_lose_nothing() {
    let app = spawn_app().await;
    app.create_tenant("acme", TenantInput::default());
    let acme = app.scim("acme");
    let mut ids = Vec::new();
    for i in 0..12 {
        let (_, u) = acme.post("/Users", user(&format!("m{i}@acme.test"))).await;
        ids.push(u["id"].as_str().unwrap().to_owned());
    }
    let (_, g) = acme
        .post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "All"}))
        .await;
    let gid = g["id"].as_str().unwrap().to_owned();
    let patch = |body: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [body]});
    let path = format!("/Groups/{gid}");
    let adds = ids.iter().map(|id| {
        acme.patch(
            &path,
            patch(json!({"op": "add", "path": "members", "value": [{"value": id}]})),
        )
    });
    for (s, _) in futures_util::future::join_all(adds).await {
        assert_eq!(s, 204);
    }
    let (_, g) = acme.get(&format!("/Groups/{gid}")).await;
    assert_eq!(
        g["members"].as_array().map(Vec::len),
        Some(ids.len()),
        "{g}"
    );

    let uid = &ids[0];
    let attrs = [
        "title",
        "userType",
        "locale",
        "timezone",
        "preferredLanguage",
        "nickName",
    ];
    let upath = format!("/Users/{uid}");
    let sets = attrs.iter().map(|a| {
        acme.patch(
            &upath,
            patch(json!({"op": "replace", "path": a, "value": format!("v-{a}")})),
        )
    });
    for (s, body) in futures_util::future::join_all(sets).await {
        assert_eq!(s, 200, "{body}");
    }
    let (_, u) = acme.get(&format!("/Users/{uid}")).await;
    for a in attrs {
        assert_eq!(u[a], format!("v-{a}"), "{a} lost: {u}");
    }

    assert_eq!(acme.delete(&format!("/Users/{uid}")).await.0, 204);
    let (s, _) = acme
        .patch(
            &format!("/Users/{uid}"),
            patch(json!({"op": "replace", "path": "active", "value": true})),
        )
        .await;
    assert_eq!(s, 404, "a deprovisioned user stays deprovisioned");
}

/// A SCIM client cannot take over an SSO user by naming its subject, nor by an email whose
/// domain the tenant has not whitelisted.
#[tokio::test]
async fn scim_cannot_take_over_sso_users_outside_the_email_rule() {
    let app = spawn_app().await;
    app.create_tenant(
        "acme",
        TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    let idp = crate::saml_fixtures::TestIdp::new("http://idp.test/m");
    app.add_connection("acme", crate::helpers::default_saml_input("okta", &idp));
    let (req, rs) = app.start_login("acme", "okta", None).await;
    let r = crate::saml_fixtures::Resp::valid(&app, "acme", "okta", &idp, Some(&req));
    assert_eq!(
        app.post_acs("acme", "okta", &r.signed(&idp), Some(&rs))
            .await
            .status(),
        303
    );
    let before = app.users("acme");
    assert_eq!(before.len(), 1);
    let subject = app
        .with_db(|c| {
            ssogate::storage::identities::for_user(
                c,
                ssogate::domain::ids::TenantId(1),
                ssogate::domain::ids::UserId(before[0].id),
            )
        })
        .unwrap()[0]
        .subject
        .clone();

    let acme = app.scim("acme");
    let hijack = json!({"schemas": [USER], "userName": subject, "externalId": subject,
                        "emails": [{"value": "mallory@evil.test", "type": "work"}]});
    let (s, created) = acme.post("/Users", hijack).await;
    assert_eq!(s, 201, "a new user, not the SSO one: {created}");
    assert_ne!(created["id"], before[0].id.to_string());
    let after = app.users("acme");
    let sso = after.iter().find(|u| u.id == before[0].id).unwrap();
    assert_eq!(sso.email, before[0].email, "the SSO user is untouched");
    // Linking by an email other than the userName obeys the email rule (no whitelisted domain
    // here: refused)...
    let (s, body) = acme
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "ada.l@acme.test",
                   "emails": [{"value": before[0].email, "type": "work"}]}),
        )
        .await;
    assert_error(s, &body, 409, Some("uniqueness"));
    // ...while the userName SCIM lists the user under (its email) is that user, in any tenant
    // configuration: taken over, not duplicated.
    let (s, body) = acme.post("/Users", user(&before[0].email)).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["id"], before[0].id.to_string());
    assert_eq!(app.users("acme").len(), 2, "the SSO user and the new one");
}

/// A filter no index narrows (anything but `eq` on an indexed attribute, `userName sw`, or a
/// `co`/`sw`/`ew` with three letters or digits in a row on an attribute with a trigram index:
/// `ne`, `not`, `pr`, or `eq` on `title`, `active`, `emails.type`) is refused on a tenant of
/// more than `scim.max_scanned_matches` users, from its shape; a trigram filter may match at
/// most that many users. Beyond it the answer is `400 tooMany` instead of a count of the
/// whole tenant, on `/Users` and on the root `/.search` alike. `eq`-anchored filters are not
/// bounded.
#[tokio::test]
async fn scanning_filters_that_match_too_many_users_are_too_many() {
    let app = spawn_app_with(|s| s.scim.max_scanned_matches = 3).await;
    app.create_tenant("acme", TenantInput::default());
    let scim = app.scim("acme");
    for i in 0..5 {
        let (s, u) = scim
            .post("/Users", user(&format!("user{i}@acme.test")))
            .await;
        assert_eq!(s, 201, "{u}");
    }
    let list = |filter: &str| {
        let q = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>();
        let scim = &scim;
        async move { scim.get(&format!("/Users?filter={q}")).await }
    };
    for filter in [
        r#"userName co "acme""#,
        r#"userName ew "@acme.test""#,
        r#"userName ne "nobody@acme.test""#,
        r#"not (userName eq "user0@acme.test")"#,
        r#"title pr or userName co "user""#,
        r#"emails[value ew "acme.test"]"#,
        r#"active eq true"#,
        r#"emails[type eq "work"]"#,
        r#"userName eq "user0@acme.test" or active eq true"#,
    ] {
        let (s, e) = list(filter).await;
        assert_error(s, &e, 400, Some("tooMany"));
        assert!(
            e["detail"].as_str().unwrap().contains("more than 3 users"),
            "{filter}: {e}"
        );
    }
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                        "filter": "userName co \"acme\""});
    let (s, e) = scim.post("/.search", search).await;
    assert_error(s, &e, 400, Some("tooMany"));
    // Within the bound, or anchored by an index, they answer as usual.
    let (s, l) = list(r#"userName co "user1""#).await;
    assert_eq!((s, l["totalResults"].as_i64()), (200, Some(1)), "{l}");
    let (s, l) = list(r#"userName sw "user""#).await;
    assert_eq!((s, l["totalResults"].as_i64()), (200, Some(5)), "{l}");
    let anchored = r#"(userName eq "user0@acme.test" or emails[value eq "user1@acme.test"] or userName eq "user2@acme.test" or userName eq "user3@acme.test") and active eq true"#;
    let (s, l) = list(anchored).await;
    assert_eq!((s, l["totalResults"].as_i64()), (200, Some(4)), "{l}");
    let (s, l) = scim.get("/Users").await;
    assert_eq!((s, l["totalResults"].as_i64()), (200, Some(5)), "{l}");
}

/// `attributes`/`excludedAttributes` shape the answers of POST and PUT too (RFC 7644 §3.9);
/// `id` is always returned.
#[tokio::test]
async fn post_and_put_answers_honour_attributes() {
    let app = spawn_app().await;
    app.create_tenant("acme", TenantInput::default());
    let scim = app.scim("acme");
    let body = json!({"schemas": [USER], "userName": "ann@acme.test",
                      "name": {"givenName": "Ann", "familyName": "A"},
                      "emails": [{"value": "ann@acme.test", "type": "work"}]});
    let (s, u) = scim.post("/Users?attributes=userName", body.clone()).await;
    assert_eq!(s, 201, "{u}");
    assert_eq!(u["userName"], "ann@acme.test");
    assert!(u["id"].is_string(), "{u}");
    assert_eq!(u.get("name"), None, "{u}");
    assert_eq!(u.get("emails"), None, "{u}");
    let id = u["id"].as_str().unwrap();
    let (s, u) = scim
        .send(
            reqwest::Method::PUT,
            &format!("/Users/{id}?excludedAttributes=emails"),
            Some(body),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["name"]["givenName"], "Ann");
    assert_eq!(u.get("emails"), None, "{u}");
}

/// The addresses SCIM gives as the person's own (userName when it is an address, and the
/// primary or work email that linking, grants and forward-auth headers use) must be in the
/// tenant's whitelisted domains when it has any, and never in another tenant's: `400
/// invalidValue`, nothing stored or changed. A private address listed beside them is data.
#[tokio::test]
async fn scim_gives_no_one_an_address_outside_the_tenants_domains() {
    let app = spawn_app().await;
    for (t, domain) in [
        ("acme", Some("acme.test")),
        ("globex", Some("globex.test")),
        ("initech", None),
    ] {
        app.create_tenant(t, TenantInput::default());
        if let Some(d) = domain {
            app.add_domain(t, d);
        }
    }
    let acme = app.scim("acme");
    for body in [
        user("ceo@globex.test"),
        user("ceo@elsewhere.test"),
        json!({"schemas": [USER], "userName": "ceo@globex.test",
               "emails": [{"value": "ceo@acme.test", "type": "work"}]}),
        json!({"schemas": [USER], "userName": "ceo",
               "emails": [{"value": "ceo@elsewhere.test", "primary": true}]}),
        json!({"schemas": [USER], "userName": "ceo@acme.test",
               "emails": [{"value": "ceo@globex.test", "type": "work"}]}),
    ] {
        let (s, b) = acme.post("/Users", body.clone()).await;
        assert_error(s, &b, 400, Some("invalidValue"));
        assert!(b["detail"].as_str().unwrap().contains("ceo@"), "{b}");
    }
    let (_, list) = acme.get("/Users").await;
    assert_eq!(list["totalResults"], 0, "nothing stored: {list}");

    // A private address beside the work one is kept, and is not the sign-in email.
    let (s, u) = acme
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "bob@acme.test",
                   "emails": [{"value": "bob@home.test", "type": "home"},
                              {"value": "bob@globex.test", "type": "other"},
                              {"value": "bob@acme.test", "type": "work"}]}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let id = u["id"].as_str().unwrap().to_owned();
    assert_eq!(u["emails"].as_array().unwrap().len(), 3);
    let stored = |app: &TestApp| -> String {
        app.with_db(|c| {
            users::table
                .filter(users::id.eq(id.parse::<i64>().unwrap()))
                .select(users::email)
                .first::<String>(c)
        })
        .unwrap()
    };
    assert_eq!(stored(&app), "bob@acme.test");

    // Moving the user onto an address outside the domains changes nothing.
    for (path, value) in [
        ("userName", "bob@globex.test"),
        ("userName", "bob@elsewhere.test"),
        ("emails[type eq \"work\"].value", "bob@globex.test"),
        ("emails[type eq \"work\"].value", "bob@elsewhere.test"),
    ] {
        let (s, b) = acme
            .patch(
                &format!("/Users/{id}"),
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": path, "value": value}]}),
            )
            .await;
        assert_error(s, &b, 400, Some("invalidValue"));
    }
    let (_, now) = acme.get(&format!("/Users/{id}")).await;
    assert_eq!(now["userName"], "bob@acme.test");
    assert_eq!(now["emails"], u["emails"]);
    assert_eq!(stored(&app), "bob@acme.test");
    // Other attributes of the user still change (the private addresses are not judged).
    let (s, b) = acme
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "displayName", "value": "Bob"}]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    // A directory that lists only a private address for a stored user leaves its sign-in
    // email as it was (a new user needs one of their own).
    let (s, u) = acme
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "carol",
                   "emails": [{"value": "carol@acme.test", "type": "work"}]}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let carol: i64 = u["id"].as_str().unwrap().parse().unwrap();
    let (s, b) = acme
        .patch(
            &format!("/Users/{carol}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "emails",
                                   "value": [{"value": "carol@home.test", "type": "home"}]}]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["emails"],
        json!([{"value": "carol@home.test", "type": "home"}])
    );
    let email = app
        .with_db(|c| {
            users::table
                .filter(users::id.eq(carol))
                .select(users::email)
                .first::<String>(c)
        })
        .unwrap();
    assert_eq!(email, "carol@acme.test");
    let (s, b) = acme
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "dave",
                   "emails": [{"value": "dave@home.test", "type": "home"}]}),
        )
        .await;
    assert_error(s, &b, 400, Some("invalidValue"));

    // A tenant without whitelisted domains may use any address but another tenant's.
    let initech = app.scim("initech");
    let (s, b) = initech.post("/Users", user("pat@globex.test")).await;
    assert_error(s, &b, 400, Some("invalidValue"));
    assert!(
        b["detail"].as_str().unwrap().contains("another tenant"),
        "{b}"
    );
    assert_eq!(
        initech.post("/Users", user("pat@initech.test")).await.0,
        201
    );
}
