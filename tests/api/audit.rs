//! The audit trail of admin changes: every kind of change from the console, the API and the
//! CLI is recorded with who, when, what, before and after (never a secret), and read back
//! through `GET /api/v1/tenants/{t}/audit`, `GET /api/v1/audit`, `ssogate audit` and the
//! console's audit pages.
use diesel::prelude::*;
use serde_json::{Value, json};
use ssogate::service::admin::TenantInput;
use ssogate::storage::schema;

use crate::admin_api::api;
use crate::cli::Cli;
use crate::console::Console;
use crate::helpers::{TestApp, default_saml_input, spawn_app};
use crate::saml_fixtures::TestIdp;
use crate::support::sign_in::acme;

/// Tenants `acme` (acme.test, SAML connection `okta`) and `globex`.
async fn setup() -> (TestApp, TestIdp) {
    let app = spawn_app().await;
    let idp = acme(&app, TenantInput::default());
    app.create_tenant("globex", TenantInput::default());
    (app, idp)
}

/// The tenant's trail, newest first, as a super-admin reads it through the API.
async fn trail(app: &TestApp, tenant: &str) -> Vec<Value> {
    let (status, page) = api(app, None)
        .get(&format!("/tenants/{tenant}/audit?limit=200"))
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// Every stored audit row as text, to look for secrets in.
fn stored_text(app: &TestApp) -> String {
    app.with_db(|c| {
        schema::audit_log::table
            .select((
                schema::audit_log::target,
                schema::audit_log::before,
                schema::audit_log::after,
            ))
            .load::<(String, Option<String>, Option<String>)>(c)
            .unwrap_or_default()
    })
    .into_iter()
    .map(|(t, b, a)| format!("{t} {} {}", b.unwrap_or_default(), a.unwrap_or_default()))
    .collect::<Vec<_>>()
    .join("\n")
}

/// The newest entry of `tenant` has `action` by `kind`/`name` on `target`.
#[track_caller]
fn assert_entry(e: &Value, action: &str, kind: &str, name: &str, target: &str) {
    assert_eq!(e["action"], action, "{e}");
    assert_eq!(e["actor"]["kind"], kind, "{e}");
    assert_eq!(e["actor"]["name"], name, "{e}");
    assert_eq!(e["target"], target, "{e}");
    assert!(e["at"].as_i64().unwrap() > 0, "{e}");
}

fn find<'a>(items: &'a [Value], action: &str, kind: &str) -> &'a Value {
    items
        .iter()
        .find(|e| e["action"] == action && e["actor"]["kind"] == kind)
        .unwrap_or_else(|| panic!("no {action} by {kind} in {items:#?}"))
}

/// A dead IWMS event of the first user of `acme`.
fn dead_event(app: &TestApp) -> i64 {
    let user = app.users("acme")[0].id;
    app.dead_outbox_event("acme", user, "HTTP 500 from the IWMS")
}

#[tokio::test]
async fn scim_token_changes_are_audited_from_the_console_the_api_and_the_cli() {
    let (app, _idp) = setup().await;
    let acme = api(&app, Some("acme"));
    // API: created and revoked, by the token's label.
    let (status, created) = acme
        .post("/tenants/acme/scim-tokens", json!({"label": "Okta prod"}))
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        acme.delete(&format!("/tenants/acme/scim-tokens/{id}"))
            .await
            .0,
        204
    );
    // Console.
    let console = Console::super_admin(&app).await;
    let shown = console
        .post("/admin/t/acme/scim-tokens", &[("label", "Entra")])
        .await;
    shown.ok();
    // CLI.
    let cli = Cli::with_db(&app.db_url);
    let made = cli.json(&[
        "scim-token",
        "create",
        "--tenant",
        "acme",
        "--label",
        "from cli",
        "--json",
    ]);
    let cli_id = made["id"].as_i64().unwrap().to_string();
    cli.ok(&["scim-token", "revoke", "--tenant", "acme", &cli_id]);

    let items = trail(&app, "acme").await;
    let api_created = find(&items, "scim_token.created", "api");
    assert_entry(
        api_created,
        "scim_token.created",
        "api",
        "tests",
        "Okta prod",
    );
    assert_eq!(api_created["before"], Value::Null);
    assert_eq!(api_created["after"]["label"], "Okta prod");
    let api_revoked = find(&items, "scim_token.revoked", "api");
    assert_eq!(api_revoked["before"]["revoked_at"], Value::Null);
    assert!(api_revoked["after"]["revoked_at"].is_i64(), "{api_revoked}");
    assert_entry(
        find(&items, "scim_token.created", "console"),
        "scim_token.created",
        "console",
        "super-admin (bootstrap link)",
        "Entra",
    );
    assert_entry(
        find(&items, "scim_token.created", "cli"),
        "scim_token.created",
        "cli",
        "cli",
        "from cli",
    );
    find(&items, "scim_token.revoked", "cli");
    let stored = stored_text(&app);
    assert!(!stored.contains(&secret), "a SCIM token reached the trail");
}

#[tokio::test]
async fn admin_grants_and_tokens_are_audited_from_the_api_and_the_cli() {
    let (app, _idp) = setup().await;
    let acme = api(&app, Some("acme"));
    assert_eq!(
        acme.post("/tenants/acme/admins", json!({"email": "cfo@acme.test"}))
            .await
            .0,
        201
    );
    // Granting again changes nothing, so it records nothing.
    assert_eq!(
        acme.post("/tenants/acme/admins", json!({"email": "cfo@acme.test"}))
            .await
            .0,
        200
    );
    assert_eq!(
        acme.delete("/tenants/acme/admins/cfo@acme.test").await.0,
        204
    );
    let cli = Cli::with_db(&app.db_url);
    cli.ok(&[
        "admin",
        "grant",
        "--tenant",
        "acme",
        "--email",
        "ops@acme.test",
    ]);
    cli.ok(&[
        "admin",
        "revoke",
        "--tenant",
        "acme",
        "--email",
        "ops@acme.test",
    ]);
    let token = cli.json(&[
        "admin", "token", "create", "--tenant", "acme", "--label", "ci bot", "--json",
    ]);
    let secret = token["token"].as_str().unwrap().to_owned();
    let token_id = token["id"].as_i64().unwrap().to_string();
    cli.ok(&["admin", "token", "revoke", &token_id]);

    let items = trail(&app, "acme").await;
    let granted: Vec<&Value> = items
        .iter()
        .filter(|e| e["action"] == "admin.granted" && e["actor"]["kind"] == "api")
        .collect();
    assert_eq!(
        granted.len(),
        1,
        "a repeated grant is not a change: {items:#?}"
    );
    assert_entry(granted[0], "admin.granted", "api", "tests", "cfo@acme.test");
    assert_eq!(granted[0]["after"]["email"], "cfo@acme.test");
    let revoked = find(&items, "admin.revoked", "api");
    assert_eq!(revoked["before"]["email"], "cfo@acme.test");
    assert_eq!(revoked["after"], Value::Null);
    assert_entry(
        find(&items, "admin.granted", "cli"),
        "admin.granted",
        "cli",
        "cli",
        "ops@acme.test",
    );
    find(&items, "admin.revoked", "cli");
    assert_entry(
        find(&items, "admin_token.created", "cli"),
        "admin_token.created",
        "cli",
        "cli",
        "ci bot",
    );
    find(&items, "admin_token.revoked", "cli");
    assert!(
        !stored_text(&app).contains(&secret),
        "an admin token reached the trail"
    );
}

#[tokio::test]
async fn outbox_retries_are_audited_from_the_console_the_api_and_the_cli() {
    let (app, _idp) = setup().await;
    let (status, user) = api(&app, Some("acme"))
        .post("/tenants/acme/users", json!({"email": "ada@acme.test"}))
        .await;
    assert_eq!(status, 201, "{user}");
    let by_api = dead_event(&app);
    assert_eq!(
        api(&app, Some("acme"))
            .post_empty(&format!("/tenants/acme/outbox/{by_api}/retry"))
            .await
            .0,
        204
    );
    let by_console = dead_event(&app);
    Console::super_admin(&app)
        .await
        .post(&format!("/admin/t/acme/outbox/{by_console}/retry"), &[])
        .await
        .redirects_to("/admin/t/acme/outbox");
    let by_cli = dead_event(&app);
    Cli::with_db(&app.db_url).ok(&["outbox", "retry", &by_cli.to_string()]);

    let items = trail(&app, "acme").await;
    for (kind, id) in [("api", by_api), ("console", by_console), ("cli", by_cli)] {
        let e = find(&items, "outbox.retried", kind);
        assert_eq!(e["target"], format!("event {id}"), "{e}");
        assert_eq!(e["tenant"], "acme", "{e}");
    }
}

#[tokio::test]
async fn a_refused_change_records_nothing() {
    let (app, _idp) = setup().await;
    let acme = api(&app, Some("acme"));
    let before = trail(&app, "acme").await.len();
    assert_eq!(acme.delete("/tenants/acme/scim-tokens/999").await.0, 404);
    assert_eq!(
        acme.delete("/tenants/acme/admins/nobody@acme.test").await.0,
        404
    );
    assert_eq!(
        acme.post("/tenants/acme/scim-tokens", json!({"label": ""}))
            .await
            .0,
        400
    );
    assert_eq!(
        acme.post_empty("/tenants/acme/outbox/999/retry").await.0,
        404
    );
    assert_eq!(trail(&app, "acme").await.len(), before);
}

#[tokio::test]
async fn the_trail_is_scoped_to_the_tenant_paged_and_whole_for_super_admins() {
    let (app, _idp) = setup().await;
    let cli = Cli::with_db(&app.db_url);
    for n in 0..5 {
        cli.ok(&[
            "admin",
            "grant",
            "--tenant",
            "acme",
            "--email",
            &format!("a{n}@acme.test"),
        ]);
    }
    cli.ok(&[
        "admin",
        "grant",
        "--tenant",
        "globex",
        "--email",
        "g@globex.test",
    ]);

    // A tenant token reads its own trail only.
    let acme = api(&app, Some("acme"));
    let (status, own) = acme.get("/tenants/acme/audit").await;
    assert_eq!(status, 200, "{own}");
    assert!(
        own["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["tenant"] == "acme")
    );
    assert_eq!(acme.get("/tenants/globex/audit").await.0, 404);
    assert_eq!(acme.get("/audit").await.0, 403);

    // Cursor paging: newest first, no entry twice, none lost.
    let mut seen = Vec::new();
    let mut path = "/tenants/acme/audit?limit=2".to_owned();
    loop {
        let (status, page) = acme.get(&path).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|e| e["id"].as_i64().unwrap()));
        match page["next_before"].as_i64() {
            Some(b) => path = format!("/tenants/acme/audit?limit=2&before={b}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted, "newest first, each once");
    assert_eq!(seen.len(), trail(&app, "acme").await.len());
    assert_eq!(acme.get("/tenants/acme/audit?limit=0").await.0, 400);
    assert_eq!(acme.get("/tenants/acme/audit?before=0").await.0, 400);

    // A super-admin sees every tenant, and changes that belong to none (all-tenant tokens).
    let (status, all) = api(&app, None).get("/audit?limit=200").await;
    assert_eq!(status, 200, "{all}");
    let tenants: Vec<&Value> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["tenant"])
        .collect();
    assert!(tenants.contains(&&json!("acme")) && tenants.contains(&&json!("globex")));
    assert!(
        tenants.contains(&&Value::Null),
        "the super-admin tokens' creation"
    );

    // The CLI reads the same trail.
    let out = cli.json(&["audit", "--tenant", "globex", "--json"]);
    let items = out["items"].as_array().unwrap();
    assert!(items.iter().all(|e| e["tenant"] == "globex"), "{out}");
    assert_entry(&items[0], "admin.granted", "cli", "cli", "g@globex.test");
    assert_eq!(items[1]["action"], "tenant.created", "{out}");
    let text = cli.ok(&["audit", "--tenant", "acme", "--limit", "2"]);
    assert!(
        text.contains("admin.granted") && text.contains("more: --before"),
        "{text}"
    );
    let every = cli.json(&["audit", "--json", "--limit", "200"]);
    assert!(every["items"].as_array().unwrap().len() > items.len());
    assert!(cli.fails(&["audit", "--tenant", "nope"]).contains("nope"));
}

#[tokio::test]
async fn the_console_shows_the_trail_to_its_admins() {
    let (app, _idp) = setup().await;
    let cli = Cli::with_db(&app.db_url);
    cli.ok(&[
        "admin",
        "grant",
        "--tenant",
        "acme",
        "--email",
        "cfo@acme.test",
    ]);
    let console = Console::super_admin(&app).await;
    let page = console.get("/admin/t/acme/audit").await;
    page.ok();
    page.has("admin.granted")
        .has("cfo@acme.test")
        .has("cli (cli)");
    let all = console.get("/admin/audit").await;
    all.ok();
    all.has("admin.granted").has("acme");
}

#[tokio::test]
async fn tenant_and_domain_changes_are_audited_from_the_console_the_api_and_the_cli() {
    let (app, _idp) = setup().await;
    // API.
    let root = api(&app, None);
    assert_eq!(
        root.post("/tenants", json!({"slug": "initech"})).await.0,
        201
    );
    let acme = api(&app, Some("acme"));
    let (status, body) = acme
        .patch("/tenants/acme", json!({"display_name": "Acme by API"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        acme.post("/tenants/acme/domains", json!({"domain": "api.test"}))
            .await
            .0,
        201
    );
    assert_eq!(acme.delete("/tenants/acme/domains/api.test").await.0, 204);
    // Console.
    let console = Console::super_admin(&app).await;
    console
        .post("/admin/tenants", &[("slug", "hooli")])
        .await
        .redirects_to("/admin/t/hooli");
    console
        .post(
            "/admin/t/acme",
            &[
                ("display_name", "Acme by console"),
                ("stale_after_days", "45"),
            ],
        )
        .await
        .redirects_to("/admin/t/acme");
    console
        .post("/admin/t/acme/domains", &[("domain", "console.test")])
        .await
        .redirects_to("/admin/t/acme/domains");
    console
        .post(
            "/admin/t/acme/domains/remove",
            &[("domain", "console.test")],
        )
        .await
        .redirects_to("/admin/t/acme/domains");
    // CLI.
    let cli = Cli::with_db(&app.db_url);
    cli.ok(&["tenant", "create", "umbrella"]);
    cli.ok(&["tenant", "update", "acme", "--name", "Acme by CLI"]);
    cli.ok(&["domain", "add", "acme", "cli.test"]);
    cli.ok(&["domain", "remove", "acme", "cli.test"]);

    let items = trail(&app, "acme").await;
    for kind in ["api", "console", "cli"] {
        let updated = find(&items, "tenant.updated", kind);
        assert_eq!(updated["target"], "acme", "{updated}");
        assert_ne!(
            updated["before"]["display_name"], updated["after"]["display_name"],
            "{updated}"
        );
        let added = find(&items, "domain.added", kind);
        assert_eq!(added["after"]["domain"], format!("{kind}.test"), "{added}");
        let removed = find(&items, "domain.removed", kind);
        assert_eq!(
            removed["before"]["domain"],
            format!("{kind}.test"),
            "{removed}"
        );
        assert_eq!(removed["after"], Value::Null);
    }
    assert_eq!(
        find(&items, "tenant.updated", "cli")["after"]["display_name"],
        "Acme by CLI"
    );
    for (tenant, kind) in [
        ("initech", "api"),
        ("hooli", "console"),
        ("umbrella", "cli"),
    ] {
        let created = find(&trail(&app, tenant).await, "tenant.created", kind).clone();
        assert_eq!(created["after"]["slug"], tenant, "{created}");
        assert_eq!(created["before"], Value::Null);
    }
}

#[tokio::test]
async fn connection_changes_are_audited_from_the_console_the_api_and_the_cli() {
    let (app, idp) = setup().await;
    app.add_connection("acme", default_saml_input("entra", &idp));
    app.add_connection("acme", default_saml_input("google", &idp));
    let acme = api(&app, Some("acme"));
    // API: the mapping and the admin role, then the removal.
    let (status, body) = acme
        .patch(
            "/tenants/acme/connections/okta",
            json!({"attr_iwms_id": "employeeNumber",
                   "admin_role": {"attribute": "groups", "value": "admins"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(acme.delete("/tenants/acme/connections/okta").await.0, 204);
    // Console.
    let console = Console::super_admin(&app).await;
    console
        .post(
            "/admin/t/acme/connections/entra/mapping",
            &[
                ("attr_email", "mail"),
                ("attr_first_name", "givenName"),
                ("attr_last_name", "sn"),
                ("attr_iwms_id", "costCenter"),
                ("admin_role_attribute", ""),
                ("admin_role_value", ""),
            ],
        )
        .await
        .redirects_to("/admin/t/acme/connections/entra");
    console
        .post("/admin/t/acme/connections/entra/remove", &[])
        .await
        .redirects_to("/admin/t/acme/connections");
    // CLI: the admin role, then the removal.
    let cli = Cli::with_db(&app.db_url);
    cli.ok(&[
        "admin",
        "role",
        "--tenant",
        "acme",
        "--connection",
        "google",
        "--attribute",
        "groups",
        "--value",
        "ops",
    ]);
    cli.ok(&["connection", "remove", "--tenant", "acme", "google"]);

    let items = trail(&app, "acme").await;
    let by_api = find(&items, "connection.updated", "api");
    assert_eq!(by_api["target"], "okta");
    assert_ne!(by_api["before"], by_api["after"], "{by_api}");
    assert!(
        by_api["after"].to_string().contains("employeeNumber"),
        "{by_api}"
    );
    assert!(by_api["after"].to_string().contains("admins"), "{by_api}");
    assert!(
        !by_api["before"].to_string().contains("employeeNumber"),
        "{by_api}"
    );
    assert_eq!(find(&items, "connection.removed", "api")["target"], "okta");
    let by_console = find(&items, "connection.updated", "console");
    assert_eq!(by_console["target"], "entra");
    assert!(
        by_console["after"].to_string().contains("costCenter"),
        "{by_console}"
    );
    assert_eq!(
        find(&items, "connection.removed", "console")["target"],
        "entra"
    );
    let by_cli = find(&items, "connection.updated", "cli");
    assert_eq!(by_cli["target"], "google");
    assert!(by_cli["after"].to_string().contains("ops"), "{by_cli}");
    let removed = find(&items, "connection.removed", "cli");
    assert_eq!(removed["target"], "google");
    assert_eq!(removed["after"], Value::Null);
    assert!(removed["before"]["saml"].is_object(), "{removed}");
    // Certificates are summarised, never as PEM; the trail holds no URLs of this server.
    let created = find(&items, "connection.created", "cli");
    assert!(
        !created.to_string().contains("BEGIN CERTIFICATE"),
        "{created}"
    );
}

#[tokio::test]
async fn user_changes_are_audited_from_the_console_the_api_and_the_cli() {
    let (app, idp) = setup().await;
    let acme = api(&app, Some("acme"));
    let (status, created) = acme
        .post("/tenants/acme/users", json!({"email": "grace@acme.test"}))
        .await;
    assert_eq!(status, 201, "{created}");
    let grace = created["id"].as_i64().unwrap();
    assert_eq!(
        acme.post_empty(&format!("/tenants/acme/users/{grace}/deactivate"))
            .await
            .0,
        200
    );
    assert_eq!(
        acme.post_empty(&format!("/tenants/acme/users/{grace}/reactivate"))
            .await
            .0,
        200
    );
    let ada = app
        .sign_in(&idp)
        .name_id("ada-1")
        .email("ada@acme.test")
        .user_id()
        .await;
    let console = Console::super_admin(&app).await;
    let user = format!("/admin/t/acme/users/{ada}");
    console
        .post(&format!("{user}/deactivate"), &[])
        .await
        .redirects_to(&user);
    console
        .post(&format!("{user}/reactivate"), &[])
        .await
        .redirects_to(&user);
    let (_, detail) = acme.get(&format!("/tenants/acme/users/{ada}")).await;
    let identity = detail["identities"][0]["id"].as_i64().unwrap();
    console
        .post(&format!("{user}/identities/{identity}/unlink"), &[])
        .await
        .redirects_to(&user);
    console
        .post(
            "/admin/t/acme/users",
            &[("email", "linus@acme.test"), ("first_name", "Linus")],
        )
        .await
        .redirects_to("/admin/t/acme/users/");

    // CLI: the same lifecycle, users named by email or id.
    let cli = Cli::with_db(&app.db_url);
    let made = cli.json(&[
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "hedy@acme.test",
        "--json",
    ]);
    let hedy = made["id"].as_i64().unwrap().to_string();
    cli.ok(&["user", "deactivate", "--tenant", "acme", "hedy@acme.test"]);
    cli.ok(&["user", "reactivate", "--tenant", "acme", &hedy]);
    let again = cli.fails(&["user", "reactivate", "--tenant", "acme", &hedy]);
    assert!(again.contains("already active"), "{again}");
    let barbara = app
        .sign_in(&idp)
        .name_id("barbara-1")
        .email("barbara@acme.test")
        .user_id()
        .await;
    let (_, detail) = acme.get(&format!("/tenants/acme/users/{barbara}")).await;
    let identity = detail["identities"][0]["id"].as_i64().unwrap().to_string();
    cli.ok(&[
        "user",
        "unlink",
        "--tenant",
        "acme",
        &barbara.to_string(),
        "--identity",
        &identity,
    ]);

    let items = trail(&app, "acme").await;
    for action in ["user.created", "user.deactivated", "user.reactivated"] {
        assert_eq!(find(&items, action, "cli")["target"], "hedy@acme.test");
    }
    assert_eq!(
        find(&items, "user.identity_unlinked", "cli")["before"]["subject"],
        "barbara-1"
    );
    let made = find(&items, "user.created", "api");
    assert_eq!(made["target"], "grace@acme.test");
    assert_eq!(made["after"]["status"], "active");
    let off = find(&items, "user.deactivated", "api");
    assert_eq!(
        (&off["before"]["status"], &off["after"]["status"]),
        (&json!("active"), &json!("deactivated"))
    );
    find(&items, "user.reactivated", "api");
    for action in [
        "user.deactivated",
        "user.reactivated",
        "user.identity_unlinked",
        "user.created",
    ] {
        let e = find(&items, action, "console");
        assert!(
            e["target"] == "ada@acme.test" || e["target"] == "linus@acme.test",
            "{e}"
        );
    }
    let unlinked = find(&items, "user.identity_unlinked", "console");
    assert_eq!(unlinked["before"]["subject"], "ada-1", "{unlinked}");
}
