//! Schemathesis (PyPI, pinned in tests/fuzz/requirements.txt, installed in .venv-fuzz by `make
//! test-deps`), a property-based fuzzer no one here wrote, generates requests from the
//! served OpenAPI document against a seeded app with a super-admin token: no request may
//! end in a 5xx, and every response must match the document (status, content type, schema).
//! tests/fuzz/hooks.py keeps URLs the server would fetch on loopback.
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use ssogate::service::admin::{TenantInput, access};

use crate::helpers::{TestApp, default_saml_input, now, spawn_app_with};
use crate::support::sign_in::acme;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schemathesis() -> PathBuf {
    let p = root().join(".venv-fuzz/bin/schemathesis");
    assert!(
        p.exists(),
        "{} missing: run `make test-deps` (creates .venv-fuzz with schemathesis)",
        p.display()
    );
    p
}

/// Tenant `acme` with a domain, a SAML connection, users from sign-ins and SCIM, a failed
/// sign-in, a SCIM token and an admin grant; tenant `globex` beside it.
async fn seeded() -> TestApp {
    // schemathesis sends thousands of requests with one token as fast as it can: a flood by
    // design, so the rate limits (tested in rate_limits.rs) are off here.
    let app = spawn_app_with(|s| s.rate_limit.enabled = false).await;
    let idp = acme(&app, TenantInput::default());
    // What tests/fuzz/schemathesis.toml lets the removals take.
    app.add_connection("acme", default_saml_input("spare", &idp));
    app.add_domain("acme", "spare.test");
    app.create_tenant("globex", TenantInput::default());
    for (sub, email) in [
        ("s-1", "ada@acme.test"),
        ("s-2", "bob@acme.test"),
        ("s-3", "cy@acme.test"),
    ] {
        assert_eq!(
            app.sign_in(&idp).name_id(sub).email(email).status().await,
            303
        );
    }
    assert_eq!(
        app.sign_in(&idp)
            .name_id("s-4")
            .email("eve@evil.test")
            .status()
            .await,
        403
    );
    let (s, u) = app
        .scim("acme")
        .post(
            "/Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "dee@acme.test",
                   "emails": [{"value": "dee@acme.test", "primary": true}]}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    app.with_db(|c| {
        access::grant(
            c,
            "acme",
            "ann@acme.test",
            &ssogate::domain::audit::Actor::Cli,
            now(),
        )
    })
    .unwrap();
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors_and_no_schema_mismatches() {
    let app = seeded().await;
    let token = app
        .with_db(|c| {
            access::create_token(
                c,
                None,
                "schemathesis",
                Some(90),
                &ssogate::domain::audit::Actor::Cli,
                now(),
            )
        })
        .unwrap()
        .token;
    let report_dir = root().join("target/schemathesis");
    let run = tokio::process::Command::new(schemathesis())
        .env("SCHEMATHESIS_HOOKS", root().join("tests/fuzz/hooks.py"))
        .env("NO_COLOR", "1")
        .arg("--no-color")
        .arg("--config-file")
        .arg(root().join("tests/fuzz/schemathesis.toml"))
        .arg("run")
        .arg(app.url("/api/v1/openapi.json"))
        .args(["--url", &app.address])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "40"])
        .args(["--seed", "20261130"])
        .arg("--generation-deterministic")
        // One worker: CPython 3.11.7's ast module is not thread-safe, and Hypothesis parses
        // source while describing strategies ("AST constructor recursion depth mismatch"
        // crashed runs with two workers, before any request was judged).
        .args(["--workers", "1"])
        .args(["--request-timeout", "30"])
        .args(["--report", "junit"])
        .arg("--report-dir")
        .arg(&report_dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("schemathesis finishes within 10 minutes")
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // It really ran: operations were tested.
    assert!(
        stdout.contains("passed") && !stdout.contains("No operations"),
        "{stdout}\n{stderr}"
    );
    println!("{stdout}");
}
