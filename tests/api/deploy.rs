//! `deploy/ssogate.service`: systemd accepts it as written, it keeps the sandbox the README
//! promises, and the settings it passes are ones ssogate knows.
use std::path::Path;
use std::process::Command;

const UNIT: &str = include_str!("../../deploy/ssogate.service");

fn directives(unit: &str) -> Vec<(&str, &str)> {
    unit.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .collect()
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let dir = tempfile::tempdir().unwrap();
    // The unit names the installed path; verify checks that the command exists, so point
    // it at this build's binary and change nothing else.
    let unit = UNIT.replace("/usr/local/bin/ssogate", env!("CARGO_BIN_EXE_ssogate"));
    let path = dir.path().join("ssogate.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian package systemd; `make test-deps` installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Unknown keys are only warnings for systemd: any output at all is a failure here.
    assert!(
        out.status.success() && stderr.trim().is_empty() && out.stdout.is_empty(),
        "systemd-analyze verify: {}\n{stderr}",
        out.status
    );
}

#[test]
fn the_unit_keeps_its_sandbox() {
    let d = directives(UNIT);
    let has = |k: &str, v: &str| d.iter().any(|(a, b)| *a == k && *b == v);
    for (k, v) in [
        ("DynamicUser", "yes"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/var/lib/ssogate"),
        ("StateDirectory", "ssogate"),
        ("Restart", "on-failure"),
        ("ExecStartPre", "/usr/local/bin/ssogate migrate"),
        ("ExecStart", "/usr/local/bin/ssogate serve"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert!(has(k, v), "deploy/ssogate.service lacks {k}={v}");
    }
}

/// Every setting the unit passes through the environment is one ssogate knows: `migrate`
/// runs with exactly those variables (the credential and state paths made local).
#[test]
fn the_units_environment_is_valid_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(
        creds.join("session.key"),
        "c2Vzc2lvbi1rZXktZm9yLXRoZS11bml0LXRlc3Qtb25seS0wMTIzNDU2Nzg5",
    )
    .unwrap();
    let config = dir.path().join("ssogate.toml");
    let db = dir.path().join("ssogate.db");
    std::fs::write(
        &config,
        format!("[database]\nurl = \"sqlite://{}\"\n", db.display()),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssogate"));
    cmd.env_clear().arg("migrate");
    let mut seen = 0;
    for (k, v) in directives(UNIT) {
        if k != "Environment" {
            continue;
        }
        let (name, value) = v.split_once('=').unwrap();
        let value = value
            .replace("%d", creds.to_str().unwrap())
            .replace("/etc/ssogate/ssogate.toml", config.to_str().unwrap());
        cmd.env(name, value);
        seen += 1;
    }
    assert!(seen >= 3, "the unit sets the config, log format and key");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(Path::new(&db).exists());
}
