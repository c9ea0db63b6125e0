//! Roles the app can use: groups from SAML attributes, OIDC claims and SCIM groups, tenant
//! rules mapping them to roles, roles set by hand, and what the app gets (`/auth/verify`
//! headers, `/me`, the IWMS payload), end to end through the public surfaces.
use diesel::prelude::*;
use serde_json::{Value, json};
use ssogate::domain::user_event::UserEvent;
use ssogate::service::admin::TenantInput;
use ssogate::storage::schema::outbox_events;

use crate::admin_api::api;
use crate::helpers::{TestApp, spawn_app};
use crate::saml_fixtures::TestIdp;
use crate::support::sign_in::acme;

const ENTRA_GROUPS: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups";
const SCIM_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const SCIM_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn setup() -> (TestApp, TestIdp) {
    let app = spawn_app().await;
    let idp = acme(&app, TenantInput::default());
    (app, idp)
}

async fn add_rule(app: &TestApp, group: &str, role: &str) -> i64 {
    let (s, v) = api(app, Some("acme"))
        .post(
            "/tenants/acme/role-rules",
            json!({"group": group, "role": role}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap()
}

/// `/auth/verify`'s answer to the app's client, with extra request headers.
async fn verify_with(app: &TestApp, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut rb = app.client.get(app.url("/auth/verify"));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let res = rb.send().await.unwrap();
    assert_eq!(res.status(), 200);
    res
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// (X-Auth-Request-Groups, X-Auth-Request-Roles) of the current session.
async fn verified(app: &TestApp) -> (String, String) {
    let res = verify_with(app, &[]).await;
    (
        header(&res, "x-auth-request-groups").expect("groups header always sent"),
        header(&res, "x-auth-request-roles").expect("roles header always sent"),
    )
}

async fn me(app: &TestApp) -> Value {
    let res = app.me().await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The user's role events, oldest first, as (added, role, source).
fn role_events(app: &TestApp, who: &str) -> Vec<(bool, String, String)> {
    app.user_detail("acme", who)
        .events()
        .filter_map(|(_, e)| match e {
            UserEvent::RoleAdded { role, source, .. } => {
                Some((true, role.clone()?, source.clone()?))
            }
            UserEvent::RoleRemoved { role, source, .. } => {
                Some((false, role.clone()?, source.clone()?))
            }
            _ => None,
        })
        .collect()
}

fn with_groups<'a>(
    s: crate::support::sign_in::SignIn<'a>,
    attribute: &str,
    groups: &[&str],
) -> crate::support::sign_in::SignIn<'a> {
    let (name, values): (String, Vec<String>) = (
        attribute.to_owned(),
        groups.iter().map(|g| (*g).to_owned()).collect(),
    );
    s.edit(move |r| {
        r.attributes.retain(|(n, _)| *n != name);
        r.attributes.push((name, values));
    })
}

#[tokio::test]
async fn saml_groups_give_roles_in_verify_and_me_and_on_the_timeline() {
    let (app, idp) = setup().await;
    add_rule(&app, "Managers", "manager").await;
    add_rule(&app, "staff", "employee").await;
    add_rule(&app, "Managers", "employee").await;

    // Okta's `groups` attribute; rules match case-insensitively; a name with a comma is
    // skipped (it would corrupt the comma-separated header).
    let id = with_groups(
        app.sign_in(&idp),
        "groups",
        &["Managers", "Staff", "a,b", "Other"],
    )
    .user_id()
    .await;
    assert_eq!(
        verified(&app).await,
        ("Managers,Other,Staff".into(), "employee,manager".into())
    );
    let m = me(&app).await;
    assert_eq!(m["groups"], json!(["Managers", "Other", "Staff"]));
    assert_eq!(m["roles"], json!(["employee", "manager"]));
    assert_eq!(
        role_events(&app, &id.to_string()),
        vec![
            (true, "employee".into(), "idp".into()),
            (true, "manager".into(), "idp".into()),
        ]
    );

    // The next sign-in without `Managers`: manager goes, employee stays (from Staff).
    with_groups(app.sign_in(&idp), "groups", &["Staff"])
        .user_id()
        .await;
    assert_eq!(verified(&app).await, ("Staff".into(), "employee".into()));
    assert_eq!(
        role_events(&app, &id.to_string()).last().unwrap(),
        &(false, "manager".into(), "idp".into())
    );

    // The admin API shows where each role comes from.
    let (s, v) = api(&app, Some("acme"))
        .get(&format!("/tenants/acme/users/{id}/roles"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["sources"], json!([{"role": "employee", "source": "idp"}]));

    // A sign-in without any groups attribute: no groups, no roles, headers still sent empty.
    app.sign_in(&idp).user_id().await;
    assert_eq!(verified(&app).await, (String::new(), String::new()));
}

#[tokio::test]
async fn entra_long_groups_claim_is_a_default_and_the_attribute_is_per_connection() {
    let (app, idp) = setup().await;
    add_rule(&app, "0b5f6c1e-1111-4a4a-9d9d-000000000001", "manager").await;
    with_groups(
        app.sign_in(&idp),
        ENTRA_GROUPS,
        &["0b5f6c1e-1111-4a4a-9d9d-000000000001"],
    )
    .user_id()
    .await;
    assert_eq!(verified(&app).await.1, "manager");

    // The connection names its own attribute: the defaults no longer apply.
    let (s, v) = api(&app, Some("acme"))
        .patch(
            "/tenants/acme/connections/okta",
            json!({"groups_attribute": "memberOf"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["attribute_mapping"]["groups_attribute"], "memberOf");
    with_groups(
        app.sign_in(&idp),
        ENTRA_GROUPS,
        &["0b5f6c1e-1111-4a4a-9d9d-000000000001"],
    )
    .user_id()
    .await;
    assert_eq!(verified(&app).await.1, "");
    with_groups(
        app.sign_in(&idp),
        "memberOf",
        &["0b5f6c1e-1111-4a4a-9d9d-000000000001"],
    )
    .user_id()
    .await;
    assert_eq!(verified(&app).await.1, "manager");

    // `null` goes back to the defaults.
    let (s, v) = api(&app, Some("acme"))
        .patch(
            "/tenants/acme/connections/okta",
            json!({"groups_attribute": null}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["attribute_mapping"]["groups_attribute"], Value::Null);
}

#[tokio::test]
async fn a_hand_set_role_survives_a_sign_in_without_the_group() {
    let (app, idp) = setup().await;
    add_rule(&app, "Managers", "manager").await;
    let id = with_groups(app.sign_in(&idp), "groups", &["Managers"])
        .user_id()
        .await;
    let (s, v) = api(&app, Some("acme"))
        .put(
            &format!("/tenants/acme/users/{id}/roles"),
            json!({"roles": ["manager", "employee"]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["manual"], json!(["employee", "manager"]));
    assert_eq!(verified(&app).await.1, "employee,manager");

    // The group is gone at the next sign-in: the IdP-derived row goes, the hand-set stay.
    with_groups(app.sign_in(&idp), "groups", &["Nothing"])
        .user_id()
        .await;
    assert_eq!(verified(&app).await.1, "employee,manager");
    let events = role_events(&app, &id.to_string());
    assert!(events.contains(&(true, "employee".into(), "manual".into())));
    assert_eq!(
        events.last().unwrap(),
        &(false, "manager".into(), "idp".into())
    );

    // Invalid names are refused with the field named; the change is audited.
    let (s, v) = api(&app, Some("acme"))
        .put(
            &format!("/tenants/acme/users/{id}/roles"),
            json!({"roles": ["a,b"]}),
        )
        .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("roles")), "{v}");
    let (s, v) = api(&app, Some("acme"))
        .get("/tenants/acme/audit?limit=20")
        .await;
    assert_eq!(s, 200, "{v}");
    let actions: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"user.roles_set"), "{actions:?}");
    assert!(actions.contains(&"role_rule.added"), "{actions:?}");

    // Clearing the hand-set roles leaves none (the group is gone).
    let (s, _) = api(&app, Some("acme"))
        .put(
            &format!("/tenants/acme/users/{id}/roles"),
            json!({"roles": []}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(verified(&app).await.1, "");
}

#[tokio::test]
async fn a_scim_group_change_removes_the_role_at_the_next_verify() {
    let (app, idp) = setup().await;
    add_rule(&app, "Store managers", "manager").await;
    // Ada is pushed by SCIM (SCIM groups hold SCIM users), then signs in.
    let scim = app.scim("acme");
    let (s, u) = scim
        .post(
            "/Users",
            json!({"schemas": [SCIM_USER], "userName": "ada@acme.test",
                   "emails": [{"value": "ada@acme.test", "type": "work", "primary": true}]}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let id = app.sign_in(&idp).user_id().await;
    assert_eq!(u["id"], id.to_string());
    assert_eq!(verified(&app).await.1, "");

    let (s, g) = scim
        .post(
            "/Groups",
            json!({"schemas": [SCIM_GROUP], "displayName": "Store managers",
                   "members": [{"value": id.to_string()}]}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_owned();
    // Same session: verify reads what the SCIM change stored.
    assert_eq!(
        verified(&app).await,
        ("Store managers".into(), "manager".into())
    );

    let (s, v) = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "remove", "path": format!("members[value eq \"{id}\"]")}]}),
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {v}");
    assert_eq!(verified(&app).await, (String::new(), String::new()));
    assert_eq!(
        role_events(&app, &id.to_string()),
        vec![
            (true, "manager".into(), "scim".into()),
            (false, "manager".into(), "scim".into()),
        ]
    );

    // Back in, then the group is deleted: the role goes with it.
    let (s, v) = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": id.to_string()}]}]}),
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {v}");
    assert_eq!(verified(&app).await.1, "manager");
    let (s, _) = scim.delete(&format!("/Groups/{gid}")).await;
    assert_eq!(s, 204);
    assert_eq!(verified(&app).await.1, "");

    // A rule added later applies to groups already stored; removing it takes the role away.
    let (s, g) = scim
        .post(
            "/Groups",
            json!({"schemas": [SCIM_GROUP], "displayName": "Cashiers",
                   "members": [{"value": id.to_string()}]}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    assert_eq!(verified(&app).await.1, "");
    let rule = add_rule(&app, "cashiers", "employee").await;
    assert_eq!(verified(&app).await.1, "employee");
    let (s, _) = api(&app, Some("acme"))
        .delete(&format!("/tenants/acme/role-rules/{rule}"))
        .await;
    assert_eq!(s, 204);
    assert_eq!(verified(&app).await.1, "");
}

#[tokio::test]
async fn spoofed_role_and_group_headers_never_pass_verify() {
    let (app, idp) = setup().await;
    app.sign_in(&idp).user_id().await;
    // The client sends its own X-Auth-Request-* headers; verify's answer replaces them with
    // the stored (empty) values, so a proxy copying these headers never passes the client's.
    let res = verify_with(
        &app,
        &[
            ("x-auth-request-roles", "admin"),
            ("x-auth-request-groups", "Admins"),
        ],
    )
    .await;
    assert_eq!(header(&res, "x-auth-request-roles").as_deref(), Some(""));
    assert_eq!(header(&res, "x-auth-request-groups").as_deref(), Some(""));
    // Attributes the tenant did not choose are not sent at all.
    for h in [
        "x-auth-request-department",
        "x-auth-request-title",
        "x-auth-request-employee-number",
        "x-auth-request-manager-id",
        "x-auth-request-manager-email",
        "x-auth-request-manager-iwms-id",
    ] {
        assert_eq!(header(&res, h), None, "{h}");
    }
}

#[tokio::test]
async fn tenant_chosen_attribute_headers_with_the_manager_resolved() {
    let (app, idp) = setup().await;
    // Bob (the manager) signs in first, with an IWMS ID set by an admin.
    let bob = app
        .sign_in(&idp)
        .name_id("subject-bob")
        .email("bob@acme.test")
        .user_id()
        .await;
    app.with_db(|c| {
        use ssogate::storage::schema::users;
        diesel::update(users::table.filter(users::id.eq(bob)))
            .set(users::iwms_id.eq("IW-BOB"))
            .execute(c)
    })
    .unwrap();
    let (s, v) = api(&app, Some("acme"))
        .patch(
            "/tenants/acme",
            json!({"forward_attributes": ["department", "manager", "employee-number"]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["forward_attributes"],
        json!(["department", "employee-number", "manager"])
    );
    let (s, v) = api(&app, Some("acme"))
        .patch("/tenants/acme", json!({"forward_attributes": ["salary"]}))
        .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("forward_attributes")));

    // Ada's sign-in carries department, title and her manager's address.
    let ada = app
        .sign_in(&idp)
        .attr("department", "Facilities")
        .attr("title", "Planner")
        .attr("manager", "Bob@acme.test")
        .user_id()
        .await;
    let res = verify_with(&app, &[("x-auth-request-title", "CEO")]).await;
    assert_eq!(
        header(&res, "x-auth-request-department").as_deref(),
        Some("Facilities")
    );
    // Chosen but unknown: sent empty.
    assert_eq!(
        header(&res, "x-auth-request-employee-number").as_deref(),
        Some("")
    );
    assert_eq!(
        header(&res, "x-auth-request-manager-id"),
        Some(bob.to_string())
    );
    assert_eq!(
        header(&res, "x-auth-request-manager-email").as_deref(),
        Some("bob@acme.test")
    );
    assert_eq!(
        header(&res, "x-auth-request-manager-iwms-id").as_deref(),
        Some("IW-BOB")
    );
    // Title was not chosen: not sent.
    assert_eq!(header(&res, "x-auth-request-title"), None);

    let m = me(&app).await;
    assert_eq!(m["department"], "Facilities");
    assert_eq!(m["title"], "Planner");
    assert_eq!(m["employee_number"], Value::Null);
    assert_eq!(
        m["manager"],
        json!({"user_id": bob, "email": "bob@acme.test", "iwms_id": "IW-BOB"})
    );

    // SCIM's enterprise manager.value is the manager's SCIM id: Cy, pushed by SCIM, signs in.
    let scim = app.scim("acme");
    let (s, v) = scim
        .post(
            "/Users",
            json!({"schemas": [SCIM_USER], "userName": "cy@acme.test",
                   "emails": [{"value": "cy@acme.test", "type": "work", "primary": true}],
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                       "manager": {"value": bob.to_string()}, "employeeNumber": "E-7"}}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client = crate::helpers::client_builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    app.sign_in(&idp)
        .on(&client)
        .name_id("subject-cy")
        .email("cy@acme.test")
        // Cy is under SCIM: the sign-in's value is ignored, SCIM's stays.
        .attr("employeeNumber", "X-9")
        .user_id()
        .await;
    let res = client.get(app.url("/auth/verify")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "x-auth-request-employee-number").as_deref(),
        Some("E-7")
    );
    assert_eq!(
        header(&res, "x-auth-request-manager-email").as_deref(),
        Some("bob@acme.test")
    );
    assert_eq!(
        header(&res, "x-auth-request-department").as_deref(),
        Some("")
    );
    let _ = ada;
}

#[tokio::test]
async fn groups_beyond_the_cap_keep_the_ones_rules_name() {
    let (app, idp) = setup().await;
    add_rule(&app, "g-399", "manager").await;
    let many: Vec<String> = (0..400).map(|i| format!("g-{i:03}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let id = with_groups(app.sign_in(&idp), "groups", &refs)
        .user_id()
        .await;
    let (groups, roles) = verified(&app).await;
    assert_eq!(groups.split(',').count(), 256);
    assert!(groups.split(',').any(|g| g == "g-399"));
    assert_eq!(roles, "manager");
    let (_, v) = api(&app, Some("acme"))
        .get(&format!("/tenants/acme/users/{id}/roles"))
        .await;
    assert_eq!(v["groups"].as_array().unwrap().len(), 256);
}

#[tokio::test]
async fn the_iwms_payload_carries_groups_and_roles() {
    let app = spawn_app().await;
    let idp = acme(
        &app,
        TenantInput {
            iwms_endpoint: Some(Some("http://127.0.0.1:9/iwms".into())),
            iwms_secret: Some(Some("env:ROLES_TEST_IWMS_SECRET_UNUSED".into())),
            ..Default::default()
        },
    );
    add_rule(&app, "Managers", "manager").await;
    let id = with_groups(app.sign_in(&idp), "groups", &["Managers"])
        .attr("department", "Ops")
        .user_id()
        .await;
    let payloads = |app: &TestApp| -> Vec<Value> {
        app.with_db(|c| {
            outbox_events::table
                .filter(outbox_events::user_id.eq(id))
                .order(outbox_events::id.asc())
                .select(outbox_events::payload)
                .load::<String>(c)
        })
        .unwrap()
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect()
    };
    // The creation carries the groups, roles and attributes of the sign-in that created the
    // user; no separate update follows.
    let first = payloads(&app);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["user"]["roles"], json!(["manager"]), "{first:?}");
    assert_eq!(first[0]["user"]["groups"], json!(["Managers"]), "{first:?}");
    assert_eq!(
        first[0]["user"]["attributes"]["department"], "Ops",
        "{first:?}"
    );

    // The group is gone at the next sign-in: the IWMS hears the change of roles.
    with_groups(app.sign_in(&idp), "groups", &["Other"])
        .user_id()
        .await;
    let all = payloads(&app);
    let last = all.last().unwrap();
    assert_eq!(last["user"]["roles"], json!([]), "{last}");
    assert_eq!(last["user"]["groups"], json!(["Other"]), "{last}");
    assert_eq!(
        last["changes"],
        json!([{"field": "roles", "old": "manager", "new": ""}]),
        "{last}"
    );
}

#[tokio::test]
async fn role_rules_are_checked_and_listed() {
    let (app, _idp) = setup().await;
    let a = api(&app, Some("acme"));
    for (body, field) in [
        (json!({"group": "x", "role": "has space"}), "role"),
        (json!({"group": "a,b", "role": "r"}), "group"),
        (json!({"group": "", "role": "r"}), "group"),
    ] {
        let (s, v) = a.post("/tenants/acme/role-rules", body).await;
        assert_eq!((s, v["field"].as_str()), (400, Some(field)), "{v}");
    }
    add_rule(&app, "Managers", "manager").await;
    let (s, v) = a
        .post(
            "/tenants/acme/role-rules",
            json!({"group": "MANAGERS", "role": "manager"}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = a.get("/tenants/acme/role-rules").await;
    assert_eq!(s, 200);
    assert_eq!(v[0]["group"], "Managers");
    assert_eq!(v[0]["role"], "manager");
    let (s, _) = a.delete("/tenants/acme/role-rules/999999").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn oidc_groups_claim_gives_roles() {
    let app = spawn_app().await;
    app.create_tenant(
        "acme",
        TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    app.add_domain("acme", "acme.test");
    let callback = app.url("/t/acme/oidc/okta/callback");
    let op = crate::oidc_flow::NodeOp::start_with(
        &callback,
        &[],
        json!({"groups": ["Managers", "Staff"], "department": "Ops"}),
    );
    crate::oidc_flow::connect(&app, &op, true).await;
    add_rule(&app, "Managers", "manager").await;
    let res = crate::oidc_flow::sign_in(&app, &callback).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        verified(&app).await,
        ("Managers,Staff".into(), "manager".into())
    );
    let m = me(&app).await;
    assert_eq!(m["roles"], json!(["manager"]));
    assert_eq!(m["department"], "Ops");
}

#[tokio::test]
async fn the_cli_manages_rules_and_hand_set_roles() {
    let (app, idp) = setup().await;
    let id = with_groups(app.sign_in(&idp), "groups", &["Managers"])
        .user_id()
        .await;
    let cli = crate::cli::Cli::with_db(&app.db_url);
    let r = cli.json(&[
        "role", "add-rule", "--tenant", "acme", "--group", "Managers", "--role", "manager",
        "--json",
    ]);
    assert_eq!(r["role"], "manager");
    assert!(
        cli.fails(&[
            "role", "add-rule", "--tenant", "acme", "--group", "g", "--role", "a b"
        ])
        .contains("role")
    );
    let v = cli.json(&[
        "role",
        "set",
        "--tenant",
        "acme",
        "ada@acme.test",
        "--role",
        "employee,auditor",
        "--json",
    ]);
    assert_eq!(v["roles"], json!(["auditor", "employee", "manager"]));
    assert_eq!(v["manual"], json!(["auditor", "employee"]));
    let shown = cli.ok(&["role", "show", "--tenant", "acme", &id.to_string()]);
    assert!(
        shown.contains("manager") && shown.contains("idp"),
        "{shown}"
    );
    let rules = cli.ok(&["role", "rules", "--tenant", "acme"]);
    assert!(rules.contains("Managers"), "{rules}");
    cli.ok(&[
        "role",
        "remove-rule",
        "--tenant",
        "acme",
        &r["id"].to_string(),
    ]);
    assert_eq!(verified(&app).await.1, "auditor,employee");
    let t = cli.json(&[
        "tenant",
        "update",
        "acme",
        "--forward-attributes",
        "title,department",
        "--json",
    ]);
    assert_eq!(t["forward_attributes"], json!(["department", "title"]));
}

#[tokio::test]
async fn the_console_roles_page_adds_rules_and_sets_roles() {
    let (app, idp) = setup().await;
    let id = with_groups(app.sign_in(&idp), "groups", &["Managers"])
        .user_id()
        .await;
    let console = crate::console::Console::super_admin(&app).await;
    console.get("/admin/t/acme/roles").await.ok();
    console
        .post(
            "/admin/t/acme/roles/rules",
            &[("group", "Managers"), ("role", "manager")],
        )
        .await
        .redirects_to("/admin/t/acme/roles?done=rule-added");
    let bad = console
        .post(
            "/admin/t/acme/roles/rules",
            &[("group", "Managers"), ("role", "bad role")],
        )
        .await;
    assert_eq!(bad.status, 400);
    bad.has("Role:");
    console
        .get("/admin/t/acme/roles")
        .await
        .has("<code>Managers</code>");
    assert_eq!(verified(&app).await.1, "manager");
    console
        .post(
            "/admin/t/acme/roles/user",
            &[("user", "ada@acme.test"), ("roles", "employee")],
        )
        .await
        .redirects_to(&format!("/admin/t/acme/users/{id}"));
    assert_eq!(verified(&app).await.1, "employee,manager");
    console
        .post("/admin/t/acme/roles/forwarded", &[("manager", "on")])
        .await
        .redirects_to("/admin/t/acme/roles?done=forwarded-saved");
    let res = verify_with(&app, &[]).await;
    assert_eq!(
        header(&res, "x-auth-request-manager-id").as_deref(),
        Some("")
    );
    assert_eq!(header(&res, "x-auth-request-department"), None);
    // The connection's groups attribute, from the mapping form.
    console
        .post(
            "/admin/t/acme/connections/okta/mapping",
            &[
                ("attr_email", "email"),
                ("attr_first_name", "firstName"),
                ("attr_last_name", "lastName"),
                ("groups_attribute", "memberOf"),
            ],
        )
        .await
        .redirects_to("/admin/t/acme/connections/okta");
    console
        .get("/admin/t/acme/connections/okta")
        .await
        .has("value=\"memberOf\"");
    with_groups(app.sign_in(&idp), "groups", &["Managers"])
        .user_id()
        .await;
    assert_eq!(verified(&app).await.1, "employee");
    with_groups(app.sign_in(&idp), "memberOf", &["Managers"])
        .user_id()
        .await;
    assert_eq!(verified(&app).await.1, "employee,manager");
    // The user's timeline shows the role changes.
    console
        .get(&format!("/admin/t/acme/users/{id}"))
        .await
        .has("role employee added (set by hand)")
        .has("employee, manager");
}
