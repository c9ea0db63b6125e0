//! The sign-in as a person does it: headless Chromium (Debian's, driven by playwright-core
//! from tests/browser/) against ssogate and the pysaml2 IdP. Screenshots land in
//! tests/artifacts/browser/.
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use ssogate::service::admin::TenantInput;

use crate::helpers::spawn_app;
use crate::pysaml2::PySaml2Idp;

fn users() -> serde_json::Value {
    json!({
        "ada": { "name_id": "ada-0001", "name_id_format": "persistent",
                 "attributes": { "mail": ["ada@acme.test"], "givenName": ["Ada"], "sn": ["Lovelace"], "employeeNumber": ["IW-1"] } }
    })
}

#[tokio::test]
async fn chromium_signs_in_through_pysaml2_and_signs_out() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("tests/browser/node_modules/playwright-core")
            .exists(),
        "tests/browser/node_modules missing: run `make test-deps` (npm ci + Debian's chromium)"
    );
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

    let artifacts = root.join("tests/artifacts/browser");
    // Start empty, so a screenshot left by an earlier run cannot pass for this one's.
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    let started = Instant::now();
    let child = tokio::process::Command::new("node")
        .current_dir(&root)
        .env("FORCE_COLOR", "0") // plain Playwright errors in the panic message
        .arg("tests/browser/signin.mjs")
        .args(["--base", &app.address])
        .args([
            "--email",
            "ada@acme.test",
            "--username",
            "ada",
            "--iwms-id",
            "IW-1",
        ])
        .arg("--artifacts")
        .arg(&artifacts)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node (is Node.js installed?)");
    // The script gives up by itself after 60 s; this is the backstop.
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("browser script hung for 120 s")
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "browser sign-in failed ({}; last sign-in: {}):\n{stderr}\n{stdout}",
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
    eprintln!("browser sign-in took {:?}: {last}", started.elapsed());
    assert_eq!(result["ok"], true);
    assert_eq!(result["me"]["email"], "ada@acme.test");
    assert_eq!(result["me"]["tenant"], "acme");
    assert_eq!(result["verify_headers"]["x-auth-request-iwms-id"], "IW-1");
    assert_eq!(result["cookie"]["httpOnly"], true);
    for name in [
        "01-sign-in.png",
        "02-idp-login.png",
        "03-signed-in.png",
        "04-signed-out.png",
    ] {
        let len = std::fs::metadata(artifacts.join(name)).map_or(0, |m| m.len());
        assert!(len > 1000, "screenshot {name}: {len} bytes");
    }

    let users = app.users("acme");
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].email, "ada@acme.test");
    assert_eq!(users[0].iwms_id.as_deref(), Some("IW-1"));
    assert_eq!(users[0].created_via, "sso");
}
