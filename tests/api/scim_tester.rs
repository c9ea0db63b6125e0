//! scim2-tester (PyPI `scim2-cli`, command `scim test`), a SCIM 2.0 compliance checker no one
//! here wrote, runs against the real server: every one of its checks must pass.
use std::path::PathBuf;

use ssogate::service::admin::TenantInput;

use crate::helpers::spawn_app_with;

fn scim_cli() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-scim/bin/scim");
    assert!(
        p.exists(),
        "{} missing: run `make test-deps` (creates .venv-scim with scim2-cli)",
        p.display()
    );
    p
}

#[tokio::test]
async fn scim2_tester_passes_every_check() {
    // scim2-tester sends its hundreds of checks with one token as fast as it can: a flood by
    // design, so the rate limits (tested in rate_limits.rs) are off here.
    let app = spawn_app_with(|s| s.rate_limit.enabled = false).await;
    app.create_tenant("acme", TenantInput::default());
    let token = app.scim_token("acme");
    let url = app.url("/t/acme/scim/v2");
    let out = tokio::process::Command::new(scim_cli())
        .env("SCIM_CLI_URL", &url)
        .env("SCIM_CLI_HEADERS", format!("Authorization: Bearer {token}"))
        .arg("test")
        .output()
        .await
        .expect("run scim test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            !l.starts_with(' ') && !l.starts_with("SUCCESS") && !l.starts_with("Performing")
        })
        .collect();
    assert!(
        out.status.success() && failed.is_empty(),
        "scim test failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let checks = stdout.lines().filter(|l| l.starts_with("SUCCESS")).count();
    assert!(checks > 100, "only {checks} checks ran:\n{stdout}");
}
