//! The request sequences Okta and Microsoft Entra ID send, replayed against the real app
//! with the bodies their documentation publishes (doc JSON typos fixed). Every change is
//! re-read over SCIM and checked on the user's record and timeline.
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};
use ssogate::service::admin::{self, TenantInput};
use ssogate::storage::schema::users;

use crate::helpers::{Scim, TestApp, spawn_app};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Request headers as each IdP sends them (Okta's spec test posts users as application/json).
#[derive(Clone, Copy)]
enum Vendor {
    Okta,
    Entra,
}

/// A SCIM client that also checks every response body is sent as application/scim+json.
struct Idp<'a> {
    scim: Scim<'a>,
    vendor: Vendor,
}

impl Idp<'_> {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self
            .scim
            .app
            .client
            .request(method.clone(), self.scim.url(path))
            .bearer_auth(&self.scim.token);
        if let Vendor::Okta = self.vendor {
            rb = rb.header("user-agent", "Okta SCIM Client 1.0.0");
        }
        if let Some(b) = body {
            let ct = match (self.vendor, &method) {
                (Vendor::Okta, &Method::POST) => "application/json",
                (Vendor::Okta, _) => "application/scim+json; charset=utf-8",
                (Vendor::Entra, _) => "application/scim+json",
            };
            rb = rb.header("content-type", ct).body(b.to_string());
        }
        let res = rb.send().await.expect("scim request");
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = res.text().await.unwrap();
        if text.is_empty() {
            assert_eq!(status, 204, "{method} {path}: empty body");
            return (status, Value::Null);
        }
        assert_eq!(
            ct.as_deref(),
            Some("application/scim+json"),
            "{method} {path}"
        );
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
        (status, v)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None).await
    }
    async fn post(&self, path: &str, b: Value) -> (u16, Value) {
        self.send(Method::POST, path, Some(b)).await
    }
    async fn put(&self, path: &str, b: Value) -> (u16, Value) {
        self.send(Method::PUT, path, Some(b)).await
    }
    async fn patch(&self, path: &str, b: Value) -> (u16, Value) {
        self.send(Method::PATCH, path, Some(b)).await
    }
    async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(Method::DELETE, path, None).await
    }

    /// GET /Users/{id}, which must succeed.
    async fn user(&self, id: &str) -> Value {
        let (s, u) = self.get(&format!("/Users/{id}")).await;
        assert_eq!(s, 200, "{u}");
        u
    }

    async fn group(&self, id: &str) -> Value {
        let (s, g) = self.get(&format!("/Groups/{id}")).await;
        assert_eq!(s, 200, "{g}");
        g
    }

    /// Creates a user; returns its id.
    async fn create(&self, body: Value) -> String {
        let (s, u) = self.post("/Users", body).await;
        assert_eq!(s, 201, "{u}");
        u["id"].as_str().expect("id").to_owned()
    }

    async fn create_group(&self, body: Value) -> String {
        let (s, g) = self.post("/Groups", body).await;
        assert_eq!(s, 201, "{g}");
        g["id"].as_str().expect("id").to_owned()
    }
}

async fn acme() -> TestApp {
    let app = spawn_app().await;
    app.create_tenant("acme", TenantInput::default());
    app
}

fn okta(app: &TestApp) -> Idp<'_> {
    Idp {
        scim: app.scim("acme"),
        vendor: Vendor::Okta,
    }
}

fn entra(app: &TestApp) -> Idp<'_> {
    Idp {
        scim: app.scim("acme"),
        vendor: Vendor::Entra,
    }
}

/// Percent-encodes a query value the way Okta's examples show it (`%20`, `%22`, `%40`).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn patch_ops(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// The user's timeline as (kind, detail), oldest first.
fn timeline(app: &TestApp, id: &str) -> Vec<(String, Value)> {
    app.user_detail("acme", id)
        .events()
        .map(|(e, _)| (e.kind.clone(), e.detail.clone()))
        .collect()
}

fn kinds(t: &[(String, Value)]) -> Vec<&str> {
    t.iter().map(|(k, _)| k.as_str()).collect()
}

/// The change of `field` in the last `attributes_updated` event, as (old, new).
fn last_change(app: &TestApp, id: &str, field: &str) -> (Value, Value) {
    let t = timeline(app, id);
    let (_, d) = t
        .iter()
        .rev()
        .find(|(k, _)| k == "attributes_updated")
        .unwrap_or_else(|| panic!("no attributes_updated in {:?}", kinds(&t)));
    assert_eq!(d["via"], "scim");
    let c = d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == field)
        .unwrap_or_else(|| panic!("no change of {field} in {d}"));
    (c["old"].clone(), c["new"].clone())
}

fn user_view(app: &TestApp, id: &str) -> admin::users::UserView {
    app.users("acme")
        .into_iter()
        .find(|u| u.id.to_string() == id)
        .expect("user row")
}

fn assert_empty_list(v: &Value) {
    assert_eq!(v["schemas"], json!([LIST]), "{v}");
    assert_eq!(v["totalResults"], json!(0), "{v}");
    assert_eq!(v["startIndex"], json!(1), "{v}");
    assert_eq!(v["itemsPerPage"], json!(0), "{v}");
    assert_eq!(v["Resources"], json!([]), "{v}");
}

fn assert_error(v: &Value, status: u16) {
    assert_eq!(v["schemas"], json!([ERROR]), "{v}");
    assert_eq!(v["status"], status.to_string(), "{v}");
    assert!(!v["detail"].as_str().unwrap_or_default().is_empty(), "{v}");
}

fn member_ids(g: &Value) -> Vec<String> {
    let mut ids: Vec<String> = g["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

// ----- Okta -----

const OKTA_USER_NAME: &str = "test.user@okta.local";
const OKTA_PASSWORD: &str = "1mz050nq";

/// O-U2, as published.
fn okta_create_body() -> Value {
    json!({
        "schemas": [USER],
        "userName": OKTA_USER_NAME,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": OKTA_USER_NAME, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": OKTA_PASSWORD,
        "active": true
    })
}

fn okta_lookup(user_name: &str) -> String {
    format!(
        "/Users?filter={}&startIndex=1&count=100",
        enc(&format!("userName eq \"{user_name}\""))
    )
}

fn assert_no_password(v: &Value) {
    let s = v.to_string();
    assert!(
        !s.contains("\"password\"")
            && !s.contains(OKTA_PASSWORD)
            && !s.contains("TkdFNVdIVkxhM2c9"),
        "a password is echoed: {s}"
    );
}

fn assert_okta_user(u: &Value, id: &str) {
    assert_eq!(u["id"], id);
    assert!(
        u["schemas"].as_array().unwrap().contains(&json!(USER)),
        "{u}"
    );
    assert_eq!(u["userName"], OKTA_USER_NAME);
    assert_eq!(u["name"]["givenName"], "Test");
    assert_eq!(u["name"]["familyName"], "User");
    assert_eq!(
        u["emails"],
        json!([{"primary": true, "value": OKTA_USER_NAME, "type": "work"}])
    );
    assert_eq!(u["displayName"], "Test User");
    assert_eq!(u["locale"], "en-US");
    assert_eq!(u["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(u["active"], true);
    assert_eq!(u["meta"]["resourceType"], "User");
    assert_no_password(u);
}

#[tokio::test]
async fn okta_assign_looks_up_by_user_name_creates_and_then_finds_the_user() {
    let app = acme().await;
    let okta = okta(&app);

    let (s, list) = okta.get(&okta_lookup(OKTA_USER_NAME)).await;
    assert_eq!(s, 200);
    assert_empty_list(&list);

    let (s, created) = okta.post("/Users", okta_create_body()).await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_okta_user(&created, &id);

    assert_okta_user(&okta.user(&id).await, &id);

    let (s, list) = okta.get(&okta_lookup(OKTA_USER_NAME)).await;
    assert_eq!(s, 200);
    assert_eq!(list["schemas"], json!([LIST]));
    assert_eq!(list["totalResults"], json!(1), "{list}");
    assert_eq!(list["startIndex"], json!(1));
    assert_eq!(list["itemsPerPage"], json!(1));
    assert_okta_user(&list["Resources"][0], &id);

    // userName is caseExact=false: the spec test's upper-case lookup, `+`-encoded as in
    // Okta's older examples, finds the same user.
    let (s, list) = okta
        .get("/Users?filter=userName+eq+%22TEST.USER%40OKTA.LOCAL%22&startIndex=1&count=100")
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["totalResults"], json!(1), "{list}");
    assert_eq!(list["Resources"][0]["id"], id.as_str());

    // Import, and the stored document: the placeholder password is nowhere.
    let (s, all) = okta.get("/Users?startIndex=1&count=100").await;
    assert_eq!(s, 200);
    assert_eq!(all["totalResults"], json!(1));
    assert_no_password(&all);
    let docs: Vec<String> = app.with_db(|c| users::table.select(users::scim_doc).load(c).unwrap());
    assert_eq!(docs.len(), 1);
    assert!(!docs[0].contains(OKTA_PASSWORD), "stored: {}", docs[0]);

    let view = user_view(&app, &id);
    assert_eq!(view.email, OKTA_USER_NAME);
    assert_eq!(view.first_name.as_deref(), Some("Test"));
    assert_eq!(view.last_name.as_deref(), Some("User"));
    assert_eq!(view.status, "active");
    assert_eq!(view.created_via, "scim");
    let t = timeline(&app, &id);
    assert_eq!(kinds(&t), ["created"]);
    assert_eq!(t[0].1["via"], "scim");
    assert_eq!(t[0].1["user_name"], OKTA_USER_NAME);
}

#[tokio::test]
async fn okta_recreating_an_existing_user_is_409_uniqueness() {
    let app = acme().await;
    let okta = okta(&app);
    let id = okta.create(okta_create_body()).await;

    let (s, e) = okta.post("/Users", okta_create_body()).await;
    assert_eq!(s, 409, "{e}");
    assert_error(&e, 409);
    assert_eq!(e["scimType"], "uniqueness");

    // The same userName in another case, with another email, is still taken.
    let mut body = okta_create_body();
    body["userName"] = json!("Test.User@OKTA.local");
    body["emails"] = json!([{"primary": true, "value": "other@okta.local", "type": "work"}]);
    let (s, e) = okta.post("/Users", body).await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["scimType"], "uniqueness");

    assert_eq!(app.users("acme").len(), 1);
    let (_, list) = okta.get(&okta_lookup(OKTA_USER_NAME)).await;
    assert_eq!(list["totalResults"], json!(1));
    assert_eq!(list["Resources"][0]["id"], id.as_str());
    assert_eq!(kinds(&timeline(&app, &id)), ["created"], "nothing changed");
}

#[tokio::test]
async fn okta_profile_update_gets_then_puts_the_whole_user() {
    let app = acme().await;
    let okta = okta(&app);
    let id = okta.create(okta_create_body()).await;

    // O-U4: Okta GETs the user and PUTs it back with its changes merged in, plus the
    // password placeholder and `groups: []`.
    let mut body = okta.user(&id).await;
    body["name"] = json!({"givenName": "Another", "middleName": "Excited", "familyName": "User"});
    body["password"] = json!("TkdFNVdIVkxhM2c9");
    body["groups"] = json!([]);
    let (s, put) = okta.put(&format!("/Users/{id}"), body).await;
    assert_eq!(s, 200, "{put}");
    let expect_name =
        json!({"givenName": "Another", "middleName": "Excited", "familyName": "User"});
    assert_eq!(put["name"], expect_name);
    assert_no_password(&put);
    let got = okta.user(&id).await;
    assert_eq!(got["name"], expect_name);
    assert_eq!(
        got["externalId"], "00ujl29u0le5T6Aj10h7",
        "kept: it was in the PUT"
    );
    assert_eq!(got["displayName"], "Test User");
    assert_eq!(got["userName"], OKTA_USER_NAME);
    assert_eq!(got["active"], true);
    assert_no_password(&got);
    assert_eq!(user_view(&app, &id).first_name.as_deref(), Some("Another"));
    assert_eq!(
        last_change(&app, &id, "first_name"),
        (json!("Test"), json!("Another"))
    );

    // The published PUT body as is: a full replace, so what it leaves out is cleared.
    let doc_put = json!({
        "schemas": [USER],
        "id": id,
        "userName": OKTA_USER_NAME,
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [{"primary": true, "value": OKTA_USER_NAME, "type": "work", "display": OKTA_USER_NAME}],
        "active": true,
        "groups": [],
        "meta": {"resourceType": "User"}
    });
    let (s, put) = okta.put(&format!("/Users/{id}"), doc_put).await;
    assert_eq!(s, 200, "{put}");
    let got = okta.user(&id).await;
    assert_eq!(got["emails"][0]["display"], OKTA_USER_NAME);
    assert_eq!(got.get("displayName"), None, "{got}");
    assert_eq!(got.get("locale"), None, "{got}");
    assert_eq!(got.get("externalId"), None, "{got}");
    assert_eq!(
        last_change(&app, &id, "display_name"),
        (json!("Test User"), Value::Null)
    );
}

#[tokio::test]
async fn okta_patch_deactivates_then_reactivates_the_user() {
    let app = acme().await;
    let okta = okta(&app);
    let id = okta.create(okta_create_body()).await;
    let path = format!("/Users/{id}");

    let (s, u) = okta
        .patch(
            &path,
            patch_ops(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {u}");
    if s == 200 {
        assert_eq!(u["active"], false, "{u}");
        assert_eq!(u["name"]["givenName"], "Test");
    }
    assert_eq!(okta.user(&id).await["active"], false);
    assert_eq!(user_view(&app, &id).status, "deactivated");
    // Still found by the lookup Okta runs before assigning again.
    let (_, list) = okta.get(&okta_lookup(OKTA_USER_NAME)).await;
    assert_eq!(list["totalResults"], json!(1));
    assert_eq!(list["Resources"][0]["active"], false);

    let (s, u) = okta
        .patch(
            &path,
            patch_ops(json!([{"op": "replace", "value": {"active": true}}])),
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {u}");
    let got = okta.user(&id).await;
    assert_eq!(got["active"], true);
    assert_eq!(got["name"]["givenName"], "Test", "nothing else moved");
    assert_eq!(user_view(&app, &id).status, "active");

    let t = timeline(&app, &id);
    assert_eq!(kinds(&t), ["created", "deactivated", "reactivated"]);
    assert_eq!(t[1].1["via"], "scim");
    assert_eq!(t[2].1["via"], "scim");
}

#[tokio::test]
async fn okta_aiw_put_with_active_false_deactivates_and_true_reactivates() {
    let app = acme().await;
    let okta = okta(&app);
    let id = okta.create(okta_create_body()).await;

    let mut body = okta.user(&id).await;
    body["active"] = json!(false);
    let (s, u) = okta.put(&format!("/Users/{id}"), body.clone()).await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["active"], false);
    assert_eq!(okta.user(&id).await["active"], false);
    assert_eq!(user_view(&app, &id).status, "deactivated");

    body["active"] = json!(true);
    let (s, u) = okta.put(&format!("/Users/{id}"), body).await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(okta.user(&id).await["active"], true);
    assert_eq!(user_view(&app, &id).status, "active");
    assert_eq!(
        kinds(&timeline(&app, &id)),
        ["created", "deactivated", "reactivated"]
    );
}

#[tokio::test]
async fn okta_group_push_creates_renames_changes_members_replaces_and_deletes() {
    let app = acme().await;
    let okta = okta(&app);
    let u1 = okta.create(okta_create_body()).await;
    let mut second = okta_create_body();
    second["userName"] = json!("second.user@okta.local");
    second["emails"] =
        json!([{"primary": true, "value": "second.user@okta.local", "type": "work"}]);
    second["externalId"] = json!("00ujl29u0le5T6Aj10h8");
    let u2 = okta.create(second).await;

    // O-G0: not there yet.
    let lookup = format!(
        "/Groups?filter={}&startIndex=1&count=100",
        enc("displayName eq \"Test SCIMv2\"")
    );
    let (s, list) = okta.get(&lookup).await;
    assert_eq!(s, 200);
    assert_empty_list(&list);

    // O-G1, with members (OKTA-OLD): `display` is read-only and ignored.
    let (s, g) = okta
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "Test SCIMv2",
                   "members": [{"value": u1, "display": OKTA_USER_NAME}]}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().expect("id").to_owned();
    let gpath = format!("/Groups/{gid}");
    assert_eq!(g["schemas"], json!([GROUP]));
    assert_eq!(g["displayName"], "Test SCIMv2");
    assert_eq!(g["meta"]["resourceType"], "Group");
    assert_eq!(member_ids(&g), sorted(&[&u1]));

    let (_, list) = okta.get(&lookup).await;
    assert_eq!(list["totalResults"], json!(1), "{list}");
    assert_eq!(list["Resources"][0]["id"], gid.as_str());
    assert_eq!(member_ids(&okta.group(&gid).await), sorted(&[&u1]));
    assert_eq!(okta.user(&u1).await["groups"][0]["value"], gid.as_str());

    // O-G3: rename, with the read-only id in the value.
    let (s, r) = okta
        .patch(
            &gpath,
            patch_ops(json!([{"op": "replace",
                "value": {"id": gid, "displayName": "Test SCIMv20"}}])),
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {r}");
    let g = okta.group(&gid).await;
    assert_eq!(g["displayName"], "Test SCIMv20");
    assert_eq!(member_ids(&g), sorted(&[&u1]), "a rename keeps the members");

    // O-G4: remove by value filter and add, in one PATCH.
    let (s, r) = okta
        .patch(
            &gpath,
            patch_ops(json!([
                {"op": "remove", "path": format!("members[value eq \"{u1}\"]")},
                {"op": "add", "path": "members",
                 "value": [{"value": u2, "display": "second.user@okta.local"}]}
            ])),
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {r}");
    assert_eq!(member_ids(&okta.group(&gid).await), sorted(&[&u2]));
    assert_eq!(okta.user(&u1).await.get("groups"), None);
    assert_eq!(okta.user(&u2).await["groups"][0]["display"], "Test SCIMv20");

    // O-G5: replace all members.
    let (s, r) = okta
        .patch(
            &gpath,
            patch_ops(json!([{"op": "replace", "path": "members",
                "value": [{"value": u1, "display": OKTA_USER_NAME},
                          {"value": u2, "display": "second.user@okta.local"}]}])),
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {r}");
    assert_eq!(member_ids(&okta.group(&gid).await), sorted(&[&u1, &u2]));

    // O-G6 (AIW): PUT the group.
    let (s, g) = okta
        .put(
            &gpath,
            json!({"schemas": [GROUP], "displayName": "Test SCIMv2",
                   "members": [{"value": u1, "display": OKTA_USER_NAME}]}),
        )
        .await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["id"], gid.as_str());
    assert_eq!(g["displayName"], "Test SCIMv2");
    assert_eq!(member_ids(&g), sorted(&[&u1]));
    let g = okta.group(&gid).await;
    assert_eq!(g["displayName"], "Test SCIMv2");
    assert_eq!(member_ids(&g), sorted(&[&u1]));

    // O-G7: delete; the users stay.
    let (s, body) = okta.delete(&gpath).await;
    assert_eq!((s, body), (204, Value::Null));
    let (s, e) = okta.get(&gpath).await;
    assert_eq!(s, 404);
    assert_error(&e, 404);
    let (_, list) = okta.get(&lookup).await;
    assert_eq!(list["totalResults"], json!(0));
    assert_eq!(okta.user(&u1).await.get("groups"), None);
    assert_eq!(okta.user(&u2).await.get("groups"), None);
    assert_eq!(app.users("acme").len(), 2);

    let groups_only = |id: &str| -> Vec<(String, Value)> {
        timeline(&app, id)
            .into_iter()
            .filter(|(k, _)| k.starts_with("group_"))
            .map(|(k, d)| (k, d["group"].clone()))
            .collect()
    };
    assert_eq!(
        groups_only(&u1),
        [
            ("group_added".to_owned(), json!("Test SCIMv2")),
            ("group_removed".to_owned(), json!("Test SCIMv20")),
            ("group_added".to_owned(), json!("Test SCIMv20")),
            ("group_removed".to_owned(), json!("Test SCIMv2")),
        ]
    );
    assert_eq!(
        groups_only(&u2),
        [
            ("group_added".to_owned(), json!("Test SCIMv20")),
            ("group_removed".to_owned(), json!("Test SCIMv2")),
        ]
    );
}

// ----- Microsoft Entra ID -----

const ENTRA_USER_NAME: &str = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee";
const ENTRA_EMAIL: &str = "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com";

/// E-U3, as published.
fn entra_create_body() -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": ENTRA_USER_NAME,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": ENTRA_EMAIL}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    })
}

fn entra_filter(filter: &str) -> String {
    format!("/Users?filter={}", enc(filter))
}

fn random_guid() -> String {
    let h = hex::encode(ssogate::random::bytes::<16>());
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[tokio::test]
async fn entra_test_connection_query_for_a_random_user_is_an_empty_list() {
    let app = acme().await;
    let entra = entra(&app);
    entra.create(entra_create_body()).await;

    let (s, list) = entra
        .get(&entra_filter(&format!("userName eq \"{}\"", random_guid())))
        .await;
    assert_eq!(s, 200);
    assert_empty_list(&list);
    let (s, list) = entra
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            enc(&format!("displayName eq \"{}\"", random_guid()))
        ))
        .await;
    assert_eq!(s, 200);
    assert_empty_list(&list);
}

/// The user E-U3 creates, as GET and the list responses must show it.
fn assert_entra_user(u: &Value, id: &str) {
    assert_eq!(u["id"], id);
    assert_eq!(u["userName"], ENTRA_USER_NAME);
    assert_eq!(u["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    assert_eq!(
        u["name"],
        json!({"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"})
    );
    assert_eq!(u["active"], true);
    assert_eq!(
        u["emails"],
        json!([{"primary": true, "type": "work", "value": ENTRA_EMAIL}])
    );
    assert_eq!(u["meta"]["resourceType"], "User");
}

#[tokio::test]
async fn entra_provisions_a_user_then_finds_and_reads_it() {
    let app = acme().await;
    let entra = entra(&app);

    // E-U2, E-U3, E-U4, E-U1.
    let by_user_name = entra_filter(&format!("userName eq \"{ENTRA_USER_NAME}\""));
    let (s, list) = entra.get(&by_user_name).await;
    assert_eq!(s, 200);
    assert_empty_list(&list);

    let (s, u) = entra.post("/Users", entra_create_body()).await;
    assert_eq!(s, 201, "{u}");
    let id = u["id"].as_str().expect("id").to_owned();
    assert_entra_user(&u, &id);
    assert_entra_user(&entra.user(&id).await, &id);

    let (s, list) = entra.get(&by_user_name).await;
    assert_eq!(s, 200);
    assert_eq!(list["schemas"], json!([LIST]));
    assert_eq!(list["totalResults"], json!(1), "{list}");
    assert_eq!(list["startIndex"], json!(1));
    assert_entra_user(&list["Resources"][0], &id);
    // ENTRA-TUT Example 1 matches on externalId.
    let (s, list) = entra
        .get(&entra_filter(
            "externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"",
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["totalResults"], json!(1), "{list}");
    assert_entra_user(&list["Resources"][0], &id);

    let view = user_view(&app, &id);
    assert!(view.email.eq_ignore_ascii_case(ENTRA_EMAIL));
    assert_eq!(view.created_via, "scim");
    let t = timeline(&app, &id);
    assert_eq!(kinds(&t), ["created"]);
    assert_eq!(t[0].1["via"], "scim");
}

/// ENTRA-TUT /Users: a uniqueness attribute must be filterable, "for both
/// userName eq ... and emails[type eq "work"].value eq ... queries".
#[tokio::test]
async fn entra_finds_a_user_by_work_email_filter() {
    let app = acme().await;
    let entra = entra(&app);
    let id = entra.create(entra_create_body()).await;
    entra
        .create(json!({"schemas": [USER], "userName": "other@testuser.com",
                       "emails": [{"type": "home", "value": ENTRA_EMAIL.replace("Test_User", "Home")}]}))
        .await;

    let (s, list) = entra
        .get(&entra_filter(&format!(
            "emails[type eq \"work\"].value eq \"{ENTRA_EMAIL}\""
        )))
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["totalResults"], json!(1), "{list}");
    assert_entra_user(&list["Resources"][0], &id);
    let (s, list) = entra
        .get(&entra_filter(&format!(
            "emails[type eq \"home\"].value eq \"{ENTRA_EMAIL}\""
        )))
        .await;
    assert_eq!(s, 200, "{list}");
    assert_empty_list(&list);
}

/// ENTRA-TUT Example 2 as published (its `enterprise:2.0User` typo fixed): null
/// attributes, including enterprise ones written at the top level, carry no value.
#[tokio::test]
async fn entra_provisions_the_tutorial_example_user_with_null_attributes() {
    let app = acme().await;
    let entra = entra(&app);
    let (s, joy) = entra
        .post(
            "/Users",
            json!({
                "schemas": [USER, ENTERPRISE],
                "externalId": "jyoung",
                "userName": "jyoung@testuser.com",
                "active": true,
                "addresses": null,
                "displayName": "Joy Young",
                "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
                "meta": {"resourceType": "User"},
                "name": {"familyName": "Young", "givenName": "Joy"},
                "phoneNumbers": null,
                "preferredLanguage": null,
                "title": null,
                "department": null,
                "manager": null
            }),
        )
        .await;
    assert_eq!(s, 201, "{joy}");
    let id = joy["id"].as_str().unwrap().to_owned();
    let got = entra.user(&id).await;
    assert_eq!(got["userName"], "jyoung@testuser.com");
    assert_eq!(got["displayName"], "Joy Young");
    assert_eq!(
        got["name"],
        json!({"familyName": "Young", "givenName": "Joy"})
    );
    assert_eq!(got["emails"][0]["value"], "jyoung@Contoso.com");
    for absent in [
        "addresses",
        "phoneNumbers",
        "title",
        "preferredLanguage",
        "department",
        "manager",
    ] {
        assert_eq!(got.get(absent), None, "{absent}: {got}");
    }
    let (_, list) = entra.get(&entra_filter("externalId eq \"jyoung\"")).await;
    assert_eq!(list["totalResults"], json!(1));
    assert_eq!(list["Resources"][0]["id"], id.as_str());
}

#[tokio::test]
async fn entra_disables_with_string_false_and_reenables_with_string_true() {
    let app = acme().await;
    let entra = entra(&app);
    let id = entra.create(entra_create_body()).await;
    let path = format!("/Users/{id}");

    // ENTRA-KI (a) without the flag: capitalised op, string boolean.
    let (s, u) = entra
        .patch(
            &path,
            patch_ops(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["active"], json!(false), "a boolean, not the string");
    assert_eq!(entra.user(&id).await["active"], json!(false));
    assert_eq!(user_view(&app, &id).status, "deactivated");
    // Inactive users are still returned by GET and by the matching query.
    let (_, list) = entra
        .get(&entra_filter(&format!("userName eq \"{ENTRA_USER_NAME}\"")))
        .await;
    assert_eq!(list["totalResults"], json!(1));

    let (s, u) = entra
        .patch(
            &path,
            patch_ops(json!([{"op": "Replace", "path": "active", "value": "True"}])),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(entra.user(&id).await["active"], json!(true));
    assert_eq!(user_view(&app, &id).status, "active");

    // ENTRA-TUT "Disable User": Operations before schemas, boolean value.
    let (s, u) = entra
        .patch(
            &path,
            json!({"Operations": [{"op": "Replace", "path": "active", "value": false}],
                   "schemas": [PATCH_OP]}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(entra.user(&id).await["active"], json!(false));

    // With aadOptscim062020: lower-case op, boolean.
    let (s, u) = entra
        .patch(
            &path,
            patch_ops(json!([{"op": "replace", "path": "active", "value": true}])),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(entra.user(&id).await["active"], json!(true));
    assert_eq!(user_view(&app, &id).status, "active");

    assert_eq!(
        kinds(&timeline(&app, &id)),
        [
            "created",
            "deactivated",
            "reactivated",
            "deactivated",
            "reactivated"
        ]
    );
}

#[tokio::test]
async fn entra_patch_replaces_work_email_family_name_and_user_name() {
    let app = acme().await;
    let entra = entra(&app);
    let id = entra.create(entra_create_body()).await;
    let path = format!("/Users/{id}");

    // E-U5, multi-valued and sub-attribute paths.
    let (s, u) = entra
        .patch(
            &path,
            patch_ops(json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
            ])),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let got = entra.user(&id).await;
    for u in [&u, &got] {
        assert_eq!(u["name"]["familyName"], "updatedFamilyName");
        assert_eq!(u["name"]["givenName"], "givenName");
        assert_eq!(
            u["emails"],
            json!([{"primary": true, "type": "work", "value": "updatedEmail@microsoft.com"}]),
            "the work email changed in place"
        );
    }
    let view = user_view(&app, &id);
    assert!(
        view.email
            .eq_ignore_ascii_case("updatedEmail@microsoft.com")
    );
    assert_eq!(view.last_name.as_deref(), Some("updatedFamilyName"));
    let (old, new) = last_change(&app, &id, "last_name");
    assert_eq!(
        (old, new),
        (json!("familyName"), json!("updatedFamilyName"))
    );
    let (old, new) = last_change(&app, &id, "email");
    assert!(
        old.as_str().unwrap().eq_ignore_ascii_case(ENTRA_EMAIL),
        "{old}"
    );
    assert!(
        new.as_str()
            .unwrap()
            .eq_ignore_ascii_case("updatedEmail@microsoft.com")
    );

    // Single-valued.
    let new_name = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com";
    let (s, u) = entra
        .patch(
            &path,
            patch_ops(json!([{"op": "Replace", "path": "userName", "value": new_name}])),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["userName"], new_name);
    assert_eq!(entra.user(&id).await["userName"], new_name);
    let (_, list) = entra
        .get(&entra_filter(&format!("userName eq \"{ENTRA_USER_NAME}\"")))
        .await;
    assert_eq!(list["totalResults"], json!(0));
    let (_, list) = entra
        .get(&entra_filter(&format!("userName eq \"{new_name}\"")))
        .await;
    assert_eq!(list["totalResults"], json!(1));
    assert_eq!(
        last_change(&app, &id, "user_name"),
        (json!(ENTRA_USER_NAME), json!(new_name))
    );
}

#[tokio::test]
async fn entra_add_on_attributes_that_already_have_a_value_replaces_them() {
    let app = acme().await;
    let entra = entra(&app);
    let id = entra.create(entra_create_body()).await;
    let path = format!("/Users/{id}");
    let ext_employee = format!("{ENTERPRISE}:employeeNumber");

    // ENTRA-KI (b), then the same ops again with new values for the now-set attributes.
    let (s, u) = entra
        .patch(
            &path,
            patch_ops(json!([
                {"op": "Add", "path": "nickName", "value": "Babs"},
                {"op": "Add", "path": ext_employee, "value": "100"}
            ])),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let got = entra.user(&id).await;
    assert_eq!(got["nickName"], "Babs");
    assert_eq!(got[ENTERPRISE]["employeeNumber"], "100");

    let (s, u) = entra
        .patch(
            &path,
            patch_ops(json!([
                {"op": "Add", "path": "nickName", "value": "Barbara"},
                {"op": "Add", "path": ext_employee, "value": "200"},
                {"op": "Add", "path": "name.givenName", "value": "Gina"},
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "changed@testuser.com"}
            ])),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let got = entra.user(&id).await;
    assert_eq!(got["nickName"], "Barbara");
    assert_eq!(got[ENTERPRISE]["employeeNumber"], "200");
    assert_eq!(got["name"]["givenName"], "Gina");
    assert_eq!(
        got["emails"],
        json!([{"primary": true, "type": "work", "value": "changed@testuser.com"}]),
        "one work email, changed; not a second one"
    );
    let view = user_view(&app, &id);
    assert_eq!(view.first_name.as_deref(), Some("Gina"));
    assert_eq!(view.email, "changed@testuser.com");
    assert_eq!(
        last_change(&app, &id, "nick_name"),
        (json!("Babs"), json!("Barbara"))
    );
    assert_eq!(
        last_change(&app, &id, "employee_number"),
        (json!("100"), json!("200"))
    );
    assert_eq!(
        last_change(&app, &id, "first_name"),
        (json!("givenName"), json!("Gina"))
    );
}

#[tokio::test]
async fn entra_replace_through_a_filter_that_matches_nothing_creates_the_value() {
    let app = acme().await;
    let entra = entra(&app);
    // No work email, no address, no phone yet.
    let id = entra
        .create(json!({
            "schemas": [USER],
            "userName": "jdoe@testuser.com",
            "emails": [{"type": "other", "value": "jdoe.private@mail.test"}],
            "name": {"givenName": "J", "familyName": "Doe"}
        }))
        .await;

    let (s, u) = entra
        .patch(
            &format!("/Users/{id}"),
            patch_ops(json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "jdoe@testuser.com"},
                {"op": "Replace", "path": "addresses[type eq \"work\"].formatted", "value": "1 Main St, Springfield"},
                {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
                {"op": "Replace", "path": "name.givenName", "value": "Jane"}
            ])),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let got = entra.user(&id).await;
    let emails = got["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2, "{got}");
    assert!(emails.contains(&json!({"type": "other", "value": "jdoe.private@mail.test"})));
    assert!(emails.contains(&json!({"type": "work", "value": "jdoe@testuser.com"})));
    assert_eq!(
        got["addresses"],
        json!([{"type": "work", "formatted": "1 Main St, Springfield"}])
    );
    assert_eq!(
        got["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
    assert_eq!(
        got["name"]["givenName"], "Jane",
        "the other ops applied too"
    );
    // The private ("other") address was never the sign-in email: the userName was, and the
    // work address that arrived is the same, so the email did not change.
    assert_eq!(user_view(&app, &id).email, "jdoe@testuser.com");
    assert_eq!(
        last_change(&app, &id, "first_name"),
        (json!("J"), json!("Jane"))
    );
    let t = timeline(&app, &id);
    assert!(
        !t.iter().any(|(k, d)| k == "attributes_updated"
            && d["changes"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["field"] == "email"))),
        "{t:?}"
    );
}

#[tokio::test]
async fn entra_enterprise_extension_paths_set_employee_number_department_and_manager() {
    let app = acme().await;
    let entra = entra(&app);
    let boss = entra
        .create(json!({"schemas": [USER], "userName": "boss@testuser.com"}))
        .await;
    let id = entra.create(entra_create_body()).await;
    let path = format!("/Users/{id}");

    let (s, u) = entra
        .patch(
            &path,
            patch_ops(json!([
                {"op": "Add", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "701984"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "R&D"},
                {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": {"value": boss}}
            ])),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let got = entra.user(&id).await;
    assert_eq!(got[ENTERPRISE]["employeeNumber"], "701984");
    assert_eq!(got[ENTERPRISE]["department"], "R&D");
    assert_eq!(got[ENTERPRISE]["manager"]["value"], boss.as_str(), "{got}");
    assert!(
        got["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(ENTERPRISE)),
        "{got}"
    );
    assert_eq!(
        last_change(&app, &id, "employee_number"),
        (Value::Null, json!("701984"))
    );
    assert_eq!(
        last_change(&app, &id, "department"),
        (Value::Null, json!("R&D"))
    );
    assert_eq!(
        last_change(&app, &id, "manager"),
        (Value::Null, json!(boss))
    );

    // The manager check of ENTRA-TUT Example 4 (attribute qualified by its URN).
    let check = |mgr: &str| {
        format!(
            "{}&attributes=id",
            entra_filter(&format!(
                "id eq \"{id}\" and {ENTERPRISE}:manager eq \"{mgr}\""
            ))
        )
    };
    let (s, list) = entra.get(&check(&boss)).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["totalResults"], json!(1), "{list}");
    assert_eq!(list["Resources"][0]["id"], id.as_str());
    let (s, list) = entra.get(&check(&id)).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["totalResults"], json!(0), "{list}");
}

/// The manager mapping's target is `urn:…:enterprise:2.0:User:manager` (ENTRA-TUT); its
/// value arrives as the manager's id, a plain string.
#[tokio::test]
async fn entra_manager_set_by_urn_path_with_a_plain_id_string() {
    let app = acme().await;
    let entra = entra(&app);
    let boss = entra
        .create(json!({"schemas": [USER], "userName": "boss@testuser.com"}))
        .await;
    let id = entra.create(entra_create_body()).await;

    let (s, u) = entra
        .patch(
            &format!("/Users/{id}"),
            patch_ops(
                json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": boss}]),
            ),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let got = entra.user(&id).await;
    assert_eq!(got[ENTERPRISE]["manager"]["value"], boss.as_str(), "{got}");
    assert_eq!(
        last_change(&app, &id, "manager"),
        (Value::Null, json!(boss))
    );
}

#[tokio::test]
async fn entra_path_less_replace_with_dotted_and_urn_keys_sets_each_attribute() {
    let app = acme().await;
    let entra = entra(&app);
    let id = entra.create(entra_create_body()).await;
    let path = format!("/Users/{id}");

    // ENTRA-KI (c) with aadOptscim062020.
    let (s, u) = entra
        .patch(
            &path,
            patch_ops(json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
                {"op": "replace", "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    format!("{ENTERPRISE}:employeeNumber"): "Aklq"
                }}
            ])),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let got = entra.user(&id).await;
    assert_eq!(got["displayName"], "Bjfe");
    assert_eq!(got["name"]["givenName"], "Kkom");
    assert_eq!(got["name"]["familyName"], "Unua");
    assert_eq!(got[ENTERPRISE]["employeeNumber"], "Aklq");
    assert_eq!(got["emails"][0]["value"], "TestMhvaes@test.microsoft.com");
    assert_eq!(got.get("name.givenName"), None, "not a literal key: {got}");
    assert_eq!(
        got.get(format!("{ENTERPRISE}:employeeNumber").as_str()),
        None
    );
    let view = user_view(&app, &id);
    assert_eq!(
        (view.first_name.as_deref(), view.last_name.as_deref()),
        (Some("Kkom"), Some("Unua"))
    );
    assert_eq!(
        last_change(&app, &id, "first_name"),
        (json!("givenName"), json!("Kkom"))
    );

    // ENTRA-KI (c) without the flag: one capitalised op per path.
    let (s, u) = entra
        .patch(
            &path,
            patch_ops(json!([
                {"op": "Replace", "path": "displayName", "value": "Pvlo"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "TestBcwqnm@test.microsoft.com"},
                {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
                {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
                {"op": "Replace", "path": "externalId", "value": "Eqpj"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "Eqpj"}
            ])),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let got = entra.user(&id).await;
    assert_eq!(got["displayName"], "Pvlo");
    assert_eq!(
        got["emails"],
        json!([{"primary": true, "type": "work", "value": "TestBcwqnm@test.microsoft.com"}])
    );
    assert_eq!(got["name"]["givenName"], "Gtfd");
    assert_eq!(got["name"]["familyName"], "Pkqf");
    assert_eq!(got["externalId"], "Eqpj");
    assert_eq!(got[ENTERPRISE]["employeeNumber"], "Eqpj");
    assert_eq!(
        last_change(&app, &id, "external_id"),
        (json!("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"), json!("Eqpj"))
    );
    assert_eq!(
        last_change(&app, &id, "display_name"),
        (json!("Bjfe"), json!("Pvlo"))
    );

    // A path-less value keyed by the extension's URN sets its attributes.
    let (s, u) = entra
        .patch(
            &path,
            patch_ops(json!([{"op": "replace", "value": {ENTERPRISE: {"department": "Ops"}}}])),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let got = entra.user(&id).await;
    assert_eq!(got[ENTERPRISE]["department"], "Ops");
    assert_eq!(got[ENTERPRISE]["employeeNumber"], "Eqpj", "kept");
    assert_eq!(
        last_change(&app, &id, "department"),
        (Value::Null, json!("Ops"))
    );
}

#[tokio::test]
async fn entra_delete_after_disable_hides_the_user_but_keeps_it_deactivated() {
    let app = acme().await;
    let entra = entra(&app);
    let id = entra.create(entra_create_body()).await;
    let path = format!("/Users/{id}");
    let gid = entra
        .create_group(
            json!({"schemas": [GROUP], "displayName": "Staff", "members": [{"value": id}]}),
        )
        .await;

    // Soft delete first, the hard delete later on the same id.
    let (s, _) = entra
        .patch(
            &path,
            patch_ops(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!(s, 200);
    let (s, body) = entra.delete(&path).await;
    assert_eq!((s, body), (204, Value::Null));

    let (s, e) = entra.get(&path).await;
    assert_eq!(s, 404);
    assert_error(&e, 404);
    let (_, list) = entra
        .get(&entra_filter(&format!("userName eq \"{ENTRA_USER_NAME}\"")))
        .await;
    assert_eq!(list["totalResults"], json!(0));
    assert_eq!(entra.group(&gid).await.get("members"), None);
    let (s, _) = entra.delete(&path).await;
    assert_eq!(s, 404, "already gone");

    let rows = app.users("acme");
    assert_eq!(rows.len(), 1, "the record stays");
    assert_eq!(rows[0].id.to_string(), id);
    assert_eq!(rows[0].status, "deactivated");
    let t = timeline(&app, &id);
    assert_eq!(
        kinds(&t),
        [
            "created",
            "group_added",
            "deactivated",
            "group_removed",
            "deprovisioned"
        ]
    );
    assert_eq!(t[4].1["via"], "scim");
}

#[tokio::test]
async fn entra_delete_of_an_active_user_deactivates_it() {
    let app = acme().await;
    let entra = entra(&app);
    let id = entra.create(entra_create_body()).await;
    let (s, body) = entra.delete(&format!("/Users/{id}")).await;
    assert_eq!((s, body), (204, Value::Null));
    let (s, e) = entra.get(&format!("/Users/{id}")).await;
    assert_eq!(s, 404);
    assert_error(&e, 404);
    assert_eq!(user_view(&app, &id).status, "deactivated");
    assert_eq!(kinds(&timeline(&app, &id)), ["created", "deprovisioned"]);
}

#[tokio::test]
async fn entra_group_lifecycle_with_member_adds_removes_and_membership_checks() {
    let app = acme().await;
    let entra = entra(&app);
    let u1 = entra.create(entra_create_body()).await;
    let u2 = entra
        .create(json!({"schemas": [USER], "userName": "second@testuser.com"}))
        .await;
    let u3 = entra
        .create(json!({"schemas": [USER], "userName": "third@testuser.com"}))
        .await;

    // E-G1: not there yet.
    let by_name = |name: &str| {
        format!(
            "/Groups?excludedAttributes=members&filter={}",
            enc(&format!("displayName eq \"{name}\""))
        )
    };
    let (s, list) = entra.get(&by_name("displayName")).await;
    assert_eq!(s, 200);
    assert_empty_list(&list);

    // E-G2 (its extra schema URN is covered by its own test).
    let (s, g) = entra
        .post(
            "/Groups",
            json!({
                "schemas": [GROUP],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "displayName",
                "meta": {"resourceType": "Group"}
            }),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().expect("id").to_owned();
    let gpath = format!("/Groups/{gid}");
    assert_eq!(g["displayName"], "displayName");
    assert_eq!(g["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert_eq!(member_ids(&g), Vec::<String>::new());

    let (_, list) = entra.get(&by_name("displayName")).await;
    assert_eq!(list["totalResults"], json!(1), "{list}");
    assert_eq!(list["Resources"][0]["id"], gid.as_str());
    assert_eq!(list["Resources"][0].get("members"), None);

    // E-G5: add members, value array with `$ref: null`.
    let (s, body) = entra
        .patch(
            &gpath,
            patch_ops(json!([{"op": "Add", "path": "members", "value": [
                {"$ref": null, "value": u1},
                {"$ref": null, "value": u2},
                {"$ref": null, "value": u3}
            ]}])),
        )
        .await;
    assert_eq!((s, body), (204, Value::Null));
    assert_eq!(
        member_ids(&entra.group(&gid).await),
        sorted(&[&u1, &u2, &u3])
    );

    // E-G3: members excluded.
    let (s, g) = entra
        .get(&format!("{gpath}?excludedAttributes=members"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(g["id"], gid.as_str());
    assert_eq!(g["displayName"], "displayName");
    assert_eq!(g.get("members"), None, "{g}");

    // E-G7: membership checks.
    let is_member = |uid: &str| {
        format!(
            "/Groups?filter={}&attributes=id",
            enc(&format!("id eq \"{gid}\" and members eq \"{uid}\""))
        )
    };
    let (s, list) = entra.get(&is_member(&u2)).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["totalResults"], json!(1), "{list}");
    assert_eq!(list["Resources"][0]["id"], gid.as_str());

    // E-G4: rename.
    let (s, body) = entra
        .patch(
            &gpath,
            patch_ops(json!([{"op": "Replace", "path": "displayName",
                "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}])),
        )
        .await;
    assert_eq!((s, body), (204, Value::Null));
    assert_eq!(
        entra.group(&gid).await["displayName"],
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );

    // E-G6, Entra's default: Remove with a value array removes only those values.
    let (s, body) = entra
        .patch(
            &gpath,
            patch_ops(json!([{"op": "Remove", "path": "members",
                "value": [{"$ref": null, "value": u2}]}])),
        )
        .await;
    assert_eq!((s, body), (204, Value::Null));
    assert_eq!(member_ids(&entra.group(&gid).await), sorted(&[&u1, &u3]));
    let (_, list) = entra.get(&is_member(&u2)).await;
    assert_eq!(list["totalResults"], json!(0), "{list}");
    let (_, list) = entra.get(&is_member(&u1)).await;
    assert_eq!(list["totalResults"], json!(1), "{list}");

    // With aadOptscim062020: a value filter.
    let (s, body) = entra
        .patch(
            &gpath,
            patch_ops(json!([{"op": "remove", "path": format!("members[value eq \"{u3}\"]")}])),
        )
        .await;
    assert_eq!((s, body), (204, Value::Null));
    assert_eq!(member_ids(&entra.group(&gid).await), sorted(&[&u1]));
    assert_eq!(entra.user(&u3).await.get("groups"), None);

    // E-G8.
    let (s, body) = entra.delete(&gpath).await;
    assert_eq!((s, body), (204, Value::Null));
    let (s, e) = entra.get(&gpath).await;
    assert_eq!(s, 404);
    assert_error(&e, 404);
    assert_eq!(app.users("acme").len(), 3, "users are untouched");

    let group_kinds = |id: &str| -> Vec<String> {
        timeline(&app, id)
            .into_iter()
            .filter(|(k, _)| k.starts_with("group_"))
            .map(|(k, _)| k)
            .collect()
    };
    assert_eq!(group_kinds(&u1), ["group_added", "group_removed"]);
    assert_eq!(group_kinds(&u2), ["group_added", "group_removed"]);
    assert_eq!(group_kinds(&u3), ["group_added", "group_removed"]);
    let t = timeline(&app, &u2);
    let removed = t.iter().find(|(k, _)| k == "group_removed").unwrap();
    assert_eq!(
        removed.1,
        json!({"via": "scim", "group": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"})
    );
}

/// E-G2 as published: Entra lists a second, non-standard schema URN for groups.
#[tokio::test]
async fn entra_create_group_accepts_the_adscim_schema_urn() {
    let app = acme().await;
    let entra = entra(&app);
    let (s, g) = entra
        .post(
            "/Groups",
            json!({
                "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "displayName",
                "meta": {"resourceType": "Group"}
            }),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().expect("id").to_owned();
    assert_eq!(g["schemas"], json!([GROUP]));
    let got = entra.group(&gid).await;
    assert_eq!(got["displayName"], "displayName");
    assert_eq!(got["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
}

// ----- RFC 7643/7644 conformance beyond the published sequences -----

/// Attribute names are case-insensitive (RFC 7643 §2.1): a sub-attribute sent as
/// `GivenName` replaces the stored `givenName`, and is returned as the schema spells it.
#[tokio::test]
async fn patch_sub_attribute_names_match_in_any_case() {
    let app = acme().await;
    let scim = entra(&app);
    let id = scim
        .create(
            json!({"schemas": [USER, ENTERPRISE], "userName": "bob@acme.test",
            "name": {"givenName": "Bob", "familyName": "B"},
            "emails": [{"value": "bob@acme.test", "type": "work"}],
            ENTERPRISE: {"manager": {"value": "42"}}}),
        )
        .await;
    let path = format!("/Users/{id}");
    let ops = [
        json!({"op": "replace", "path": "name", "value": {"GivenName": "Robert"}}),
        json!({"op": "replace", "value": {"name": {"FAMILYNAME": "Builder"}}}),
        json!({"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": {"Value": "43"}}),
        json!({"op": "add", "path": "emails[type eq \"work\"]", "value": {"Value": "robert@acme.test"}}),
    ];
    for op in ops {
        let (s, u) = scim.patch(&path, patch_ops(json!([op]))).await;
        assert_eq!(s, 200, "{op}: {u}");
    }
    let (s, u) = scim
        .patch(
            &path,
            patch_ops(
                json!([{"op": "replace", "value": {ENTERPRISE: {"manager": {"VALUE": "44"}}}}]),
            ),
        )
        .await;
    assert_eq!(s, 200, "{u}");

    let got = scim.user(&id).await;
    assert_eq!(
        got["name"],
        json!({"givenName": "Robert", "familyName": "Builder"}),
        "{got}"
    );
    assert_eq!(got[ENTERPRISE]["manager"], json!({"value": "44"}), "{got}");
    assert_eq!(
        got["emails"],
        json!([{"value": "robert@acme.test", "type": "work"}]),
        "{got}"
    );
    assert_eq!(user_view(&app, &id).first_name.as_deref(), Some("Robert"));
    assert_eq!(user_view(&app, &id).email, "robert@acme.test");
}

/// Members are identified by `value` (and `type`); `display` and `$ref` are what GET
/// returned, not criteria (RFC 7644 §3.5.2.2).
#[tokio::test]
async fn group_member_remove_by_value_ignores_display_and_ref() {
    let app = acme().await;
    let scim = okta(&app);
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(
            scim.create(json!({"schemas": [USER], "userName": format!("u{n}@acme.test")}))
                .await,
        );
    }
    let members: Vec<Value> = ids.iter().map(|i| json!({"value": i})).collect();
    let gid = scim
        .create_group(json!({"schemas": [GROUP], "displayName": "Eng", "members": members}))
        .await;
    let gpath = format!("/Groups/{gid}");
    let full_ref = scim.scim.url(&format!("/Users/{}", ids[2]));
    let removals = [
        json!({"value": ids[0], "display": "Someone Else"}),
        json!({"value": ids[1], "$ref": format!("/Users/{}", ids[1])}),
        json!({"value": ids[2], "$ref": full_ref, "type": "User", "display": "anything"}),
        json!({"value": ids[3], "$ref": null}),
    ];
    for (i, r) in removals.into_iter().enumerate() {
        let (s, body) = scim
            .patch(
                &gpath,
                patch_ops(json!([{"op": "remove", "path": "members", "value": [r]}])),
            )
            .await;
        assert_eq!((s, &body), (204, &Value::Null), "{r}");
        let left: Vec<&str> = ids[i + 1..].iter().map(String::as_str).collect();
        assert_eq!(member_ids(&scim.group(&gid).await), sorted(&left), "{r}");
    }

    // Nothing left to match on: refused rather than matching every member.
    for r in [
        json!({"display": "u5@acme.test"}),
        json!({"$ref": "/Users/1"}),
    ] {
        let (s, e) = scim
            .patch(
                &gpath,
                patch_ops(json!([{"op": "remove", "path": "members", "value": [r]}])),
            )
            .await;
        assert_eq!(s, 400, "{r}: {e}");
        assert_eq!(e["scimType"], "invalidValue", "{e}");
    }
    assert_eq!(member_ids(&scim.group(&gid).await), sorted(&[&ids[4]]));
}

/// `attributes` and `excludedAttributes` take fully qualified names (RFC 7644 §3.10); the
/// URN holds dots (`2.0`), so it must not be cut at the first one.
#[tokio::test]
async fn urn_qualified_member_attributes_return_members() {
    let app = acme().await;
    let scim = entra(&app);
    let uid = scim
        .create(json!({"schemas": [USER], "userName": "m@acme.test"}))
        .await;
    let gid = scim
        .create_group(
            json!({"schemas": [GROUP], "displayName": "Eng", "members": [{"value": uid}]}),
        )
        .await;
    let members = format!("{GROUP}:members");
    let (s, g) = scim
        .get(&format!("/Groups/{gid}?attributes={members}"))
        .await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(member_ids(&g), sorted(&[&uid]), "{g}");
    assert_eq!(g.get("displayName"), None, "{g}");

    let (_, g) = scim
        .get(&format!("/Groups/{gid}?attributes={members}.value"))
        .await;
    assert_eq!(g["members"], json!([{"value": uid}]), "{g}");

    let (_, list) = scim
        .get(&format!("/Groups?attributes={}", members.to_uppercase()))
        .await;
    assert_eq!(member_ids(&list["Resources"][0]), sorted(&[&uid]), "{list}");

    let (_, g) = scim
        .get(&format!("/Groups/{gid}?attributes={GROUP}:displayName"))
        .await;
    assert_eq!(g["displayName"], "Eng");
    assert_eq!(g.get("members"), None, "{g}");
    let (_, g) = scim
        .get(&format!("/Groups/{gid}?excludedAttributes={members}"))
        .await;
    assert_eq!(g["displayName"], "Eng");
    assert_eq!(g.get("members"), None, "{g}");
}

/// Several sub-attributes of one multi-valued attribute are returned together, and the
/// whole attribute wins over any of its sub-attributes.
#[tokio::test]
async fn attributes_with_several_sub_attributes_add_up() {
    let app = acme().await;
    let scim = entra(&app);
    let emails = json!([{"value": "w@acme.test", "type": "work", "primary": true},
                        {"value": "h@acme.test", "type": "home"}]);
    let id = scim
        .create(
            json!({"schemas": [USER], "userName": "w@acme.test", "emails": emails,
                       "name": {"givenName": "W", "familyName": "X", "middleName": "Y"}}),
        )
        .await;
    let path = |attrs: &str| format!("/Users/{id}?attributes={attrs}");

    let (s, u) = scim
        .get(&path(
            "emails.value,emails.type,name.givenName,name.familyName",
        ))
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(
        u["emails"],
        json!([{"value": "w@acme.test", "type": "work"}, {"value": "h@acme.test", "type": "home"}]),
        "{u}"
    );
    assert_eq!(
        u["name"],
        json!({"givenName": "W", "familyName": "X"}),
        "{u}"
    );
    for attrs in ["emails,emails.value", "emails.value,emails"] {
        let (_, u) = scim.get(&path(attrs)).await;
        assert_eq!(u["emails"], emails, "{attrs}: {u}");
    }
}

/// Schema URNs are case-insensitive in filters too, as they are in PATCH paths.
#[tokio::test]
async fn filter_with_an_upper_case_urn_prefix_works() {
    let app = acme().await;
    let scim = okta(&app);
    let id = scim
        .create(json!({"schemas": [USER], "userName": "x@acme.test"}))
        .await;
    let filter = enc("URN:ietf:params:scim:schemas:core:2.0:User:userName eq \"x@acme.test\"");
    let (s, list) = scim.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["totalResults"], json!(1), "{list}");
    assert_eq!(list["Resources"][0]["id"], id.as_str());
}

/// Canonical `type` values are not case-exact: a "Work" address is the work address.
#[tokio::test]
async fn sign_in_email_prefers_the_work_address_whatever_its_case() {
    let app = acme().await;
    let scim = entra(&app);
    let id = scim
        .create(json!({"schemas": [USER], "userName": "dana",
            "emails": [{"value": "dana@home.test", "type": "home"},
                       {"value": "dana@acme.test", "type": "Work"}]}))
        .await;
    assert_eq!(user_view(&app, &id).email, "dana@acme.test");
}
