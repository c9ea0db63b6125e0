//! The sign-in as a person does it: headless Chromium (Debian's, driven by playwright-core
//! from tests/browser/) against ssogate and a real IdP: pysaml2 (screenshots in
//! tests/artifacts/browser/) and the npm oidc-provider OP (tests/artifacts/browser-oidc/).
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use ssogate::service::admin::TenantInput;

use crate::helpers::{TestApp, spawn_app};
use crate::oidc_flow::{NodeOp, connect};
use crate::pysaml2::PySaml2Idp;

fn users() -> serde_json::Value {
    json!({
        "ada": { "name_id": "ada-0001", "name_id_format": "persistent",
                 "attributes": { "mail": ["ada@acme.test"], "givenName": ["Ada"], "sn": ["Lovelace"], "employeeNumber": ["IW-1"] } }
    })
}

fn root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("tests/browser/node_modules/playwright-core")
            .exists(),
        "tests/browser/node_modules missing: run `make test-deps` (npm ci + Debian's chromium)"
    );
    root
}

/// An empty artifacts folder of the test's own, so a screenshot left by an earlier run
/// cannot pass for this one's (and the browser tests, run in parallel, cannot clobber each
/// other's).
fn fresh_artifacts(root: &Path, dir: &str) -> PathBuf {
    let artifacts = root.join(dir);
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    artifacts
}

/// Runs `node tests/browser/<script> --base <app> <args> --artifacts <artifacts>`; panics
/// with its output unless it exits 0 with a JSON last line, which it returns.
async fn run_script(
    app: &TestApp,
    script: &str,
    args: &[&str],
    artifacts: &Path,
) -> serde_json::Value {
    let root = root();
    let started = Instant::now();
    let child = tokio::process::Command::new("node")
        .current_dir(&root)
        .env("FORCE_COLOR", "0") // plain Playwright errors in the panic message
        .arg(Path::new("tests/browser").join(script))
        .args(["--base", &app.address])
        .args(args)
        .arg("--artifacts")
        .arg(artifacts)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node (is Node.js installed?)");
    // The script gives up by itself after 60 s; this is the backstop.
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{script} hung for 120 s"))
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "browser sign-in ({script}) failed ({}; last sign-in: {}):\n{stderr}\n{stdout}",
        out.status,
        app.last_reason("acme")
    );
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let result: serde_json::Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("final line is not JSON ({e}): {stdout}\n{stderr}"));
    eprintln!("{script} took {:?}: {last}", started.elapsed());
    assert_eq!(result["ok"], true);
    result
}

fn assert_screenshots(artifacts: &Path, names: &[&str]) {
    for name in names {
        let len = std::fs::metadata(artifacts.join(name)).map_or(0, |m| m.len());
        assert!(len > 1000, "screenshot {name}: {len} bytes");
    }
}

#[tokio::test]
async fn chromium_signs_in_through_pysaml2_and_signs_out() {
    let root = root();
    let app = spawn_app().await;
    app.create_tenant(
        "acme",
        TenantInput {
            display_name: Some("Acme Corp".into()),
            auto_create_users: Some(true),
            iwms_attribute: Some(Some("employeeNumber".into())),
            ..Default::default()
        },
    );
    app.add_domain("acme", "acme.test");
    let idp = PySaml2Idp::start(users());
    idp.connect(&app, "acme", "pysaml2").await;

    let artifacts = fresh_artifacts(&root, "tests/artifacts/browser");
    let result = run_script(
        &app,
        "signin.mjs",
        &[
            "--email",
            "ada@acme.test",
            "--username",
            "ada",
            "--iwms-id",
            "IW-1",
        ],
        &artifacts,
    )
    .await;
    assert_eq!(result["me"]["email"], "ada@acme.test");
    assert_eq!(result["me"]["tenant"], "acme");
    assert_eq!(result["verify_headers"]["x-auth-request-iwms-id"], "IW-1");
    assert_eq!(result["cookie"]["httpOnly"], true);
    assert_screenshots(
        &artifacts,
        &[
            "01-sign-in.png",
            "02-idp-login.png",
            "03-signed-in.png",
            "04-signed-out.png",
        ],
    );

    let users = app.users("acme");
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].email, "ada@acme.test");
    assert_eq!(users[0].iwms_id.as_deref(), Some("IW-1"));
    assert_eq!(users[0].created_via, "sso");
}

#[tokio::test]
async fn chromium_signs_in_through_oidc_provider() {
    let root = root();
    let app = spawn_app().await;
    app.create_tenant(
        "acme",
        TenantInput {
            display_name: Some("Acme Corp".into()),
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    app.add_domain("acme", "acme.test");
    // The connection maps the OP's employee_number claim to the IWMS id.
    let op = NodeOp::start(&app.url("/t/acme/oidc/okta/callback"), &[]);
    connect(&app, &op, true).await;

    let artifacts = fresh_artifacts(&root, "tests/artifacts/browser-oidc");
    let result = run_script(
        &app,
        "oidc_signin.mjs",
        &[
            "--tenant",
            "acme",
            "--connection",
            "okta",
            "--login",
            "ada",
            "--email",
            "ada@acme.test",
            "--iwms-id",
            "IW-42",
        ],
        &artifacts,
    )
    .await;
    let op_login = result["op_login"].as_str().unwrap_or_default();
    assert!(
        op_login.starts_with(&format!("{}/", op.issuer)),
        "{op_login}"
    );
    assert_eq!(result["me"]["email"], "ada@acme.test");
    assert_eq!(result["me"]["tenant"], "acme");
    assert_eq!(result["me"]["iwms_id"], "IW-42");
    assert_eq!(result["cookie"]["httpOnly"], true);
    assert_eq!(
        result["binding_cookie"]["path"],
        "/t/acme/oidc/okta/callback"
    );
    assert_screenshots(
        &artifacts,
        &["oidc-01-op-login.png", "oidc-02-signed-in.png"],
    );

    let users = app.users("acme");
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].email, "ada@acme.test");
    assert_eq!(users[0].iwms_id.as_deref(), Some("IW-42"));
    assert_eq!(users[0].created_via, "sso");
    let history = app.sign_ins("acme");
    assert_eq!(history[0].subject.as_deref(), Some("ada-sub-1"));
    assert_eq!(history[0].outcome, "success");
}

/// The admin console in Chromium (tests/browser/admin.mjs): a super-admin signs in with a
/// bootstrap link, whitelists the domain, adds the pysaml2 IdP from its metadata URL, tests the
/// sign-in as Ada, finds her, deactivates and reactivates her, and creates a SCIM token.
/// Screenshots of every page: tests/artifacts/admin-console/.
#[tokio::test]
async fn chromium_drives_the_admin_console() {
    let root = root();
    // The IdP's metadata URL is on loopback over http, as in development.
    let app = crate::helpers::spawn_app_with(|s| s.oidc.allow_http_loopback = true).await;
    app.create_tenant(
        "acme",
        TenantInput {
            display_name: Some("Acme Corp".into()),
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    let idp = PySaml2Idp::start(users());
    let bootstrap = app
        .with_db(|c| {
            ssogate::service::admin::access::create_bootstrap_link(c, crate::helpers::now(), 600)
        })
        .expect("bootstrap link");

    let artifacts = fresh_artifacts(&root, "tests/artifacts/admin-console");
    let result = run_script(
        &app,
        "admin.mjs",
        &[
            "--bootstrap",
            &bootstrap,
            "--tenant",
            "acme",
            "--domain",
            "acme.test",
            "--idp-metadata-url",
            &idp.metadata_url,
            "--sp-metadata",
            idp.sp_metadata.to_str().unwrap(),
            "--connection",
            "pysaml2",
            "--username",
            "ada",
            "--email",
            "ada@acme.test",
        ],
        &artifacts,
    )
    .await;
    assert_eq!(result["entity_id"], idp.metadata_url.as_str());
    assert_screenshots(
        &artifacts,
        &[
            "01-tenants.png",
            "02-settings.png",
            "03-domains.png",
            "04-connections.png",
            "05-connection.png",
            "05b-test-sign-in.png",
            "06-users.png",
            "07-user.png",
            "08-user-deactivated.png",
            "09-user-reactivated.png",
            "10-sign-ins.png",
            "11-scim-token-created.png",
            "12-scim-tokens.png",
        ],
    );

    // What the clicks did, read back from the database.
    let users = app.users("acme");
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].email, "ada@acme.test");
    assert_eq!(users[0].status, "active");
    let timeline: Vec<String> = app
        .user_detail("acme", "ada@acme.test")
        .timeline
        .into_iter()
        .map(|e| e.kind)
        .collect();
    for kind in ["created", "deactivated", "reactivated"] {
        assert!(timeline.iter().any(|k| k == kind), "{kind} in {timeline:?}");
    }
    let domains = app
        .with_db(|c| ssogate::service::admin::list_domains(c, Some("acme")))
        .unwrap();
    assert_eq!(domains.len(), 1);
    // The token the console showed once provisions through SCIM.
    let scim = app
        .client
        .get(app.url("/t/acme/scim/v2/Users"))
        .bearer_auth(result["scim_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(scim.status(), 200);
}
