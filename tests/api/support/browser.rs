//! Driving headless Chromium: the playwright-core scripts in tests/browser/, run by Node
//! against a test app, each answering with a JSON last line.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::helpers::TestApp;

pub fn root() -> PathBuf {
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
pub fn fresh_artifacts(root: &Path, dir: &str) -> PathBuf {
    let artifacts = root.join(dir);
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    artifacts
}

/// Runs `node tests/browser/<script> --base <app> <args> --artifacts <artifacts>`; panics
/// with its output unless it exits 0 with a JSON last line, which it returns.
pub async fn run_script(
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

pub fn assert_screenshots(artifacts: &Path, names: &[&str]) {
    for name in names {
        let len = std::fs::metadata(artifacts.join(name)).map_or(0, |m| m.len());
        assert!(len > 1000, "screenshot {name}: {len} bytes");
    }
}
