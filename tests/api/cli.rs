//! The `ssogate` binary from the outside: exit codes, --json output, clear errors.
use std::process::{Command, Output};

use crate::saml_fixtures::TestIdp;

pub struct Cli {
    dir: tempfile::TempDir,
    db_url: String,
    _db: Option<crate::helpers::TestDb>,
}

impl Cli {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (db_url, db) = crate::helpers::fresh_database(dir.path());
        Cli {
            dir,
            db_url,
            _db: Some(db),
        }
    }

    pub fn with_db(db_url: &str) -> Self {
        Cli {
            dir: tempfile::tempdir().unwrap(),
            db_url: db_url.to_owned(),
            _db: None,
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ssogate"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("SSOGATE_CONFIG")
            .env("SSOGATE_DATABASE__URL", &self.db_url)
            .envs(env.iter().copied())
            .output()
            .expect("run ssogate")
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ssogate {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).expect("--json output is JSON")
    }

    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "ssogate {args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn db_url(&self) -> &str {
        &self.db_url
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

#[test]
fn help_is_everywhere() {
    let cli = Cli::new();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["tenant", "--help"],
        vec!["tenant", "create", "--help"],
        vec!["domain", "add", "--help"],
        vec!["connection", "add-saml", "--help"],
        vec!["user", "list", "--help"],
        vec!["flag-stale", "--help"],
    ] {
        assert!(cli.ok(&args).contains("Usage"), "{args:?}");
    }
    // There is no deletion path.
    assert!(
        cli.fails(&["user", "delete", "--tenant", "acme", "x"])
            .contains("unrecognized subcommand")
    );
}

#[test]
fn tenants_and_domains() {
    let cli = Cli::new();
    let t = cli.json(&[
        "tenant",
        "create",
        "acme",
        "--name",
        "Acme Corp",
        "--auto-create-users",
        "on",
        "--iwms-attribute",
        "employeeNumber",
        "--allowed-origin",
        "https://app.acme.test",
        "--json",
    ]);
    assert_eq!(t["slug"], "acme");
    assert_eq!(t["stale_after_days"], 90);
    assert_eq!(t["allowed_return_origins"][0], "https://app.acme.test");
    assert!(
        cli.fails(&["tenant", "create", "acme"])
            .contains("already exists")
    );
    assert!(
        cli.fails(&["tenant", "create", "Bad Slug"])
            .contains("slug")
    );
    assert!(
        cli.fails(&[
            "tenant",
            "create",
            "x",
            "--allowed-origin",
            "https://a.test/path"
        ])
        .contains("allowed_return_origins")
    );
    cli.ok(&["tenant", "create", "globex"]);
    cli.ok(&["domain", "add", "acme", "ACME.test"]);
    let err = cli.fails(&["domain", "add", "globex", "acme.test"]);
    assert!(err.contains("belongs to another tenant"), "{err}");
    let list = cli.json(&["domain", "list", "--json"]);
    assert_eq!(
        list,
        serde_json::json!([{ "tenant": "acme", "domain": "acme.test" }])
    );
    let t = cli.json(&[
        "tenant",
        "update",
        "acme",
        "--stale-after-days",
        "30",
        "--clear-iwms-attribute",
        "--json",
    ]);
    assert_eq!(t["stale_after_days"], 30);
    assert_eq!(t["iwms_attribute"], serde_json::Value::Null);
    assert_eq!(t["domains"][0], "acme.test");
    assert_eq!(
        cli.json(&["tenant", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    cli.ok(&["domain", "remove", "acme", "acme.test"]);
    assert!(
        cli.fails(&["domain", "remove", "acme", "acme.test"])
            .contains("not found")
    );
}

fn idp_metadata(idp: &TestIdp, with_cert: bool) -> String {
    let kd = if with_cert {
        format!(
            r#"<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
            idp.cert_b64()
        )
    } else {
        String::new()
    };
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{kd}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.acme.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        idp.entity_id
    )
}

#[test]
fn saml_connections_from_metadata_or_flags() {
    let cli = Cli::new();
    cli.ok(&["tenant", "create", "acme"]);
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    std::fs::write(cli.path("idp.xml"), idp_metadata(&idp, true)).unwrap();
    let c = cli.json(&[
        "connection",
        "add-saml",
        "--tenant",
        "acme",
        "--slug",
        "okta",
        "--metadata-file",
        cli.path("idp.xml").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(c["idp_entity_id"], "http://idp.acme.test/metadata");
    assert_eq!(c["idp_sso_url"], "https://idp.acme.test/sso");
    assert_eq!(c["acs_url"], "http://127.0.0.1:8080/t/acme/saml/okta/acs");
    assert_eq!(
        c["sp_entity_id"],
        "http://127.0.0.1:8080/t/acme/saml/okta/metadata"
    );
    assert_eq!(c["idp_certificates"].as_array().unwrap().len(), 1);
    assert!(c["idp_certificates"][0]["not_after"].as_str().is_some());
    assert_eq!(c["attribute_mapping"]["email"][1], "mail");
    assert_eq!(c["allow_idp_initiated"], false);

    // No certificate: refused at configuration time.
    std::fs::write(cli.path("nocert.xml"), idp_metadata(&idp, false)).unwrap();
    let err = cli.fails(&[
        "connection",
        "add-saml",
        "--tenant",
        "acme",
        "--slug",
        "x",
        "--metadata-file",
        cli.path("nocert.xml").to_str().unwrap(),
    ]);
    assert!(err.contains("no signing certificate"), "{err}");

    std::fs::write(cli.path("idp.pem"), &idp.cert_pem).unwrap();
    let c = cli.json(&[
        "connection",
        "add-saml",
        "--tenant",
        "acme",
        "--slug",
        "entra",
        "--entity-id",
        "https://sts.windows.net/x/",
        "--sso-url",
        "https://login.microsoftonline.com/x/saml2",
        "--cert-file",
        cli.path("idp.pem").to_str().unwrap(),
        "--attr-iwms-id",
        "employeeid",
        "--allowed-algorithms",
        "rsa-sha256",
        "--json",
    ]);
    assert_eq!(c["allowed_algorithms"], serde_json::json!(["rsa-sha256"]));
    assert_eq!(c["attribute_mapping"]["iwms_id"], "employeeid");
    let err = cli.fails(&[
        "connection",
        "add-saml",
        "--tenant",
        "acme",
        "--slug",
        "weak",
        "--entity-id",
        "e",
        "--sso-url",
        "https://x.test/sso",
        "--cert-file",
        cli.path("idp.pem").to_str().unwrap(),
        "--allowed-algorithms",
        "rsa-sha1",
    ]);
    assert!(err.contains("allowed_algorithms"), "{err}");
    assert_eq!(
        cli.json(&["connection", "list", "--tenant", "acme", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    cli.ok(&["connection", "remove", "--tenant", "acme", "entra"]);
    assert_eq!(
        cli.json(&["connection", "list", "--tenant", "acme", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        cli.fails(&["connection", "show", "--tenant", "acme", "entra"])
            .contains("not found")
    );
}

/// `connection show` and `user show` print text for people; `--json` is for scripts and
/// keeps its shape.
#[test]
fn show_prints_text_unless_json() {
    let cli = Cli::new();
    cli.ok(&["tenant", "create", "acme"]);
    cli.ok(&["domain", "add", "acme", "acme.test"]);
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    std::fs::write(cli.path("idp.xml"), idp_metadata(&idp, true)).unwrap();
    let added = cli.json(&[
        "connection",
        "add-saml",
        "--tenant",
        "acme",
        "--slug",
        "okta",
        "--metadata-file",
        cli.path("idp.xml").to_str().unwrap(),
        "--json",
    ]);
    let text = cli.ok(&["connection", "show", "--tenant", "acme", "okta"]);
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
    for line in [
        "protocol:",
        "SAML",
        "ACS URL:",
        "http://127.0.0.1:8080/t/acme/saml/okta/acs",
        "SP entity ID:",
        "IdP entity ID:",
        "http://idp.acme.test/metadata",
        "CERTIFICATE",
        "expiring",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    let shown = cli.json(&["connection", "show", "--tenant", "acme", "okta", "--json"]);
    assert_eq!(
        shown, added,
        "show --json is the shape add-saml --json prints"
    );
    assert_eq!(
        shown["acs_url"],
        "http://127.0.0.1:8080/t/acme/saml/okta/acs"
    );

    cli.ok(&[
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "ada@acme.test",
        "--first-name",
        "Ada",
        "--iwms-id",
        "IWMS-7",
    ]);
    let text = cli.ok(&["user", "show", "--tenant", "acme", "ada@acme.test"]);
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
    for line in [
        "email:",
        "ada@acme.test",
        "first name:",
        "Ada",
        "IWMS-7",
        "No linked identities.",
        "No sign-in attempts.",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    let v = cli.json(&[
        "user",
        "show",
        "--tenant",
        "acme",
        "ada@acme.test",
        "--json",
    ]);
    assert_eq!(v["user"]["email"], "ada@acme.test");
    assert_eq!(v["user"]["iwms_id"], "IWMS-7");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["groups", "identities", "sign_ins", "timeline", "user"]
    );
}

/// A loopback HTTP server: `/redirect` answers 302 to `/idp.xml`, which answers `body`.
fn serve_metadata(body: String) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let location = format!("{base}/idp.xml");
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = if buf[..n].starts_with(b"GET /redirect") {
                format!(
                    "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                )
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/samlmetadata+xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            let _ = s.write_all(head.as_bytes());
        }
    });
    base
}

/// `connection add-saml --metadata-url` reads through the server's own fetcher: internal
/// addresses and redirects are refused exactly as the admin API refuses them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_urls_obey_the_servers_fetch_policy() {
    let app = crate::helpers::spawn_app_with(|s| s.oidc.allow_http_loopback = true).await;
    app.create_tenant("acme", ssogate::service::admin::TenantInput::default());
    let token = app
        .with_db(|c| {
            ssogate::service::admin::access::create_token(
                c,
                Some("acme"),
                "tests",
                Some(1),
                &ssogate::domain::audit::Actor::Cli,
                crate::helpers::now(),
            )
        })
        .unwrap()
        .token;
    let cli = Cli::with_db(&app.db_url);
    let idp = TestIdp::new("https://idp.acme.test/fetched");
    let base = serve_metadata(idp_metadata(&idp, true));
    let loopback = [("SSOGATE_OIDC__ALLOW_HTTP_LOOPBACK", "true")];
    let add = |slug: &str, url: &str, env: &[(&str, &str)]| {
        cli.run_env(
            &[
                "connection",
                "add-saml",
                "--tenant",
                "acme",
                "--slug",
                slug,
                "--metadata-url",
                url,
                "--json",
            ],
            env,
        )
    };
    let api = |slug: &str, url: &str| {
        let (app, token) = (&app, &token);
        let body = serde_json::json!({"slug": slug, "metadata_url": url});
        async move {
            let r = app
                .client
                .post(app.url("/api/v1/tenants/acme/connections/saml"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    // The API's refusal and the CLI's carry the same reason.
    let same_refusal = |out: std::process::Output, api: (u16, serde_json::Value), what: &str| {
        assert!(!out.status.success(), "{what}: the CLI should refuse");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(api.0, 400, "{what}: {}", api.1);
        assert_eq!(api.1["field"], "metadata_url", "{what}");
        let reason = api.1["message"]
            .as_str()
            .unwrap()
            .strip_prefix("metadata_url: ")
            .unwrap()
            .to_owned();
        assert!(
            stderr.contains(&format!("--metadata-url: {reason}")),
            "{what}: the CLI says {stderr:?}, the API {reason:?}"
        );
    };

    // Followed, a redirect would reach metadata the server may read: it is not followed.
    same_refusal(
        add("moved", &format!("{base}/redirect"), &loopback),
        api("moved", &format!("{base}/redirect")).await,
        "redirect",
    );
    for url in [
        "http://idp.acme.test/metadata",
        "https://127.0.0.1:1/metadata",
        "https://10.0.0.1/metadata",
        "https://[::1]/metadata",
        "https://localhost/metadata",
        "https://192.168.1.1/m",
        "file:///etc/passwd",
        "not a url",
    ] {
        same_refusal(add("a1", url, &loopback), api("a1", url).await, url);
    }
    // Plain http to loopback only with the development flag, as for the server.
    let out = add("dev", &format!("{base}/idp.xml"), &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--metadata-url"));
    assert!(
        cli.json(&["connection", "list", "--tenant", "acme", "--json"])
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing refused was stored"
    );

    // The document itself is read.
    let out = add("fetched", &format!("{base}/idp.xml"), &loopback);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["idp_entity_id"], "https://idp.acme.test/fetched");
}

#[test]
fn bad_config_names_the_key_and_exits_non_zero() {
    let cli = Cli::new();
    let out = cli.run_env(&["tenant", "list"], &[("SSOGATE_SERVER__PORT", "eighty")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.port"));
    std::fs::write(cli.path("bad.toml"), "[sesion]\nttl_minutes = 5\n").unwrap();
    let out = cli.run(&[
        "--config",
        cli.path("bad.toml").to_str().unwrap(),
        "tenant",
        "list",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sesion"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // serve without a session secret says which key is missing.
    let out = cli.run(&["serve"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("session.secret"));
}

#[test]
fn demo_refuses_non_loopback_listeners() {
    let cli = Cli::new();
    let out = cli.run_env(
        &["serve"],
        &[
            ("SSOGATE_DEMO__ENABLED", "true"),
            ("SSOGATE_SERVER__HOST", "0.0.0.0"),
            ("SSOGATE_SERVER__PORT", "0"),
            (
                "SSOGATE_SESSION__SECRET",
                "0123456789abcdef0123456789abcdef",
            ),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("demo.enabled"));
    // Nor behind a proxy that publishes a loopback listener.
    let out = cli.run_env(
        &["serve"],
        &[
            ("SSOGATE_DEMO__ENABLED", "true"),
            ("SSOGATE_SERVER__HOST", "127.0.0.1"),
            ("SSOGATE_SERVER__PORT", "0"),
            ("SSOGATE_SERVER__BASE_URL", "https://sso.example.com"),
            (
                "SSOGATE_SESSION__SECRET",
                "0123456789abcdef0123456789abcdef",
            ),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("demo.enabled") && err.contains("server.base_url"),
        "{err}"
    );
}

#[test]
fn migrate_is_idempotent() {
    let cli = Cli::new();
    assert!(cli.ok(&["migrate"]).contains("migrations applied"));
    assert!(cli.ok(&["migrate"]).contains("migrations applied"));
}

#[tokio::test]
async fn certificate_rotation_through_update_saml() {
    use crate::saml_fixtures::Resp;
    let app = crate::helpers::spawn_app().await;
    let old = TestIdp::new("http://idp.acme.test/metadata");
    let new = TestIdp::new("http://idp.acme.test/metadata");
    app.create_tenant(
        "acme",
        ssogate::service::admin::TenantInput {
            auto_create_users: Some(true),
            ..Default::default()
        },
    );
    app.add_connection("acme", crate::helpers::default_saml_input("okta", &old));
    let cli = Cli::with_db(&app.db_url);
    std::fs::write(cli.path("new.pem"), &new.cert_pem).unwrap();
    let sign_in = |idp: &'static TestIdp| {
        let app = &app;
        async move {
            let (req, rs) = app.start_login("acme", "okta", None).await;
            let r = Resp::valid(app, "acme", "okta", idp, Some(&req));
            app.post_acs("acme", "okta", &r.signed(idp), Some(&rs))
                .await
                .status()
                .as_u16()
        }
    };
    let (old, new): (&'static TestIdp, &'static TestIdp) =
        (Box::leak(Box::new(old)), Box::leak(Box::new(new)));
    assert_eq!(sign_in(new).await, 403, "not trusted yet");
    let c = cli.json(&[
        "connection",
        "update-saml",
        "--tenant",
        "acme",
        "okta",
        "--add-cert-file",
        cli.path("new.pem").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(c["idp_certificates"].as_array().unwrap().len(), 2);
    assert_eq!(sign_in(new).await, 303, "{}", app.last_reason("acme"));
    assert_eq!(sign_in(old).await, 303, "both trusted during the rotation");
    cli.ok(&[
        "connection",
        "update-saml",
        "--tenant",
        "acme",
        "okta",
        "--cert-file",
        cli.path("new.pem").to_str().unwrap(),
    ]);
    assert_eq!(sign_in(old).await, 403);
    assert_eq!(app.last_reason("acme"), "invalid_signature");
    let c = cli.json(&[
        "connection",
        "update-saml",
        "--tenant",
        "acme",
        "okta",
        "--allow-idp-initiated",
        "on",
        "--json",
    ]);
    assert_eq!(c["allow_idp_initiated"], true);
    assert_eq!(
        c["idp_certificates"].as_array().unwrap().len(),
        1,
        "untouched settings are kept"
    );
}

// Multi-threaded: the CLI subprocess blocks this thread while the in-process OP answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_oidc_from_the_outside() {
    use crate::hostile_op::{HostileOp, Key};
    let op = HostileOp::start();
    op.with(|s| s.jwks = serde_json::json!({"keys": [Key::rsa("k1").jwk()]}));
    let cli = Cli::new();
    cli.ok(&["tenant", "create", "acme"]);
    std::fs::write(cli.path("secret"), "s3cret-value-never-echoed\n").unwrap();
    // Without the development flag a plain-http loopback provider is refused.
    let refused = cli.run(&[
        "connection",
        "add-oidc",
        "--tenant",
        "acme",
        "--slug",
        "okta",
        "--issuer",
        &op.issuer,
        "--client-id",
        "ssogate",
        "--client-secret-file",
        cli.path("secret").to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("https"));
    let out = cli.run_env(
        &[
            "connection",
            "add-oidc",
            "--tenant",
            "acme",
            "--slug",
            "okta",
            "--issuer",
            &op.issuer,
            "--client-id",
            "ssogate",
            "--client-secret-file",
            cli.path("secret").to_str().unwrap(),
            "--attr-iwms-id",
            "employee_number",
            "--json",
        ],
        &[("SSOGATE_OIDC__ALLOW_HTTP_LOOPBACK", "true")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains("s3cret-value"),
        "the client secret is never echoed"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["protocol"], "oidc");
    assert_eq!(
        v["redirect_uri"],
        "http://127.0.0.1:8080/t/acme/oidc/okta/callback"
    );
    assert_eq!(
        v["allowed_algorithms"],
        serde_json::json!(["RS256", "ES256", "PS256"])
    );
    assert_eq!(
        v["scopes"],
        serde_json::json!(["openid", "email", "profile"])
    );
    let shown = cli.ok(&["connection", "show", "--tenant", "acme", "okta", "--json"]);
    assert!(!shown.contains("s3cret-value"));
    // The secret can come from the environment instead.
    let out = cli.run_env(
        &[
            "connection",
            "add-oidc",
            "--tenant",
            "acme",
            "--slug",
            "entra",
            "--issuer",
            &op.issuer,
            "--client-id",
            "x",
            "--client-secret-env",
            "OIDC_SECRET",
            "--allowed-algorithms",
            "none",
        ],
        &[
            ("OIDC_SECRET", "from-env"),
            ("SSOGATE_OIDC__ALLOW_HTTP_LOOPBACK", "true"),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("allowed_algorithms"));
    let err = cli.fails(&[
        "connection",
        "add-oidc",
        "--tenant",
        "acme",
        "--slug",
        "x",
        "--issuer",
        "http://203.0.113.1/",
        "--client-id",
        "x",
        "--client-secret-env",
        "NOPE_UNSET",
    ]);
    assert!(err.contains("NOPE_UNSET"), "{err}");
    let err = cli.fails(&[
        "connection",
        "add-oidc",
        "--tenant",
        "acme",
        "--slug",
        "x",
        "--issuer",
        "http://op.example.com",
        "--client-id",
        "x",
        "--client-secret-file",
        cli.path("secret").to_str().unwrap(),
    ]);
    assert!(
        err.contains("https"),
        "plain-http issuers are refused unless on loopback: {err}"
    );
    let list = cli.json(&["connection", "list", "--tenant", "acme", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_oidc_rotates_the_secret_and_rediscovers() {
    use crate::hostile_op::{Key, sign};
    use crate::oidc_hostile::{CLIENT, callback, claims, serve_token, setup, start};
    let s = setup().await;
    let cli = Cli::with_db(&s.app.db_url);
    let loopback = [("SSOGATE_OIDC__ALLOW_HTTP_LOOPBACK", "true")];
    std::fs::write(cli.path("new.secret"), "rotated-client-secret-0123456789\n").unwrap();
    let out = cli.run_env(
        &[
            "connection",
            "update-oidc",
            "--tenant",
            "acme",
            "op",
            "--client-secret-file",
            cli.path("new.secret").to_str().unwrap(),
            "--userinfo",
            "on",
            "--json",
        ],
        &loopback,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!stdout.contains("rotated-client-secret"));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["use_userinfo"], true);
    assert_eq!(
        v["allowed_algorithms"],
        serde_json::json!(["RS256", "ES256", "PS256"]),
        "untouched settings are kept"
    );

    // The next exchange authenticates with the new secret.
    s.op.with(|o| o.userinfo = serde_json::json!({"sub": "user-1"}));
    let flow = start(&s.app, "op").await;
    serve_token(
        &s.op,
        sign(
            "RS256",
            Some(&s.key),
            b"",
            Some("k1"),
            &claims(&s.op, &flow),
        ),
    );
    assert_eq!(
        callback(&s.app, "op", &format!("code=c0de&state={}", flow.state))
            .await
            .status(),
        303,
        "{}",
        s.app.last_reason("acme")
    );
    let (auth, _) = s.op.with(|o| o.token_requests.last().unwrap().clone());
    let expected = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{CLIENT}:rotated-client-secret-0123456789"),
    );
    assert_eq!(auth.as_deref(), Some(format!("Basic {expected}").as_str()));

    // --rediscover stores the provider's current keys for every instance.
    let k9 = Key::rsa("k9");
    s.op.with(|o| o.jwks = serde_json::json!({"keys": [k9.jwk()]}));
    let fetches = s.op.with(|o| o.jwks_fetches);
    assert!(
        cli.fails(&[
            "connection",
            "update-oidc",
            "--tenant",
            "acme",
            "op",
            "--rediscover"
        ])
        .contains("https"),
        "rediscovery obeys the endpoint rules"
    );
    let out = cli.run_env(
        &[
            "connection",
            "update-oidc",
            "--tenant",
            "acme",
            "op",
            "--rediscover",
        ],
        &loopback,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.op.with(|o| o.jwks_fetches) > fetches);
    let flow = start(&s.app, "op").await;
    serve_token(
        &s.op,
        sign("RS256", Some(&k9), b"", Some("k9"), &claims(&s.op, &flow)),
    );
    assert_eq!(
        callback(&s.app, "op", &format!("code=c0de&state={}", flow.state))
            .await
            .status(),
        303,
        "{}",
        s.app.last_reason("acme")
    );
    // A SAML connection is not an OIDC one.
    assert!(
        cli.fails(&["connection", "update-oidc", "--tenant", "acme", "nope"])
            .contains("not found")
    );
}

/// `scim-token create|list|revoke` against a running server: shown once, stored hashed,
/// several active, last use recorded, revocation takes effect.
#[tokio::test]
async fn scim_token_commands_from_the_outside() {
    let app = crate::helpers::spawn_app().await;
    let cli = Cli::with_db(&app.db_url);
    cli.ok(&["tenant", "create", "acme"]);
    let created = cli.json(&[
        "scim-token",
        "create",
        "--tenant",
        "acme",
        "--label",
        "okta",
        "--json",
    ]);
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("scim_") && token.len() > 40);
    assert!(
        created["base_url"]
            .as_str()
            .unwrap()
            .ends_with("/t/acme/scim/v2")
    );
    let text = cli.ok(&["scim-token", "create", "--tenant", "acme"]);
    assert!(text.contains("shown only this once"), "{text}");

    let url = app.url("/t/acme/scim/v2/Users");
    let res = app
        .client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let list = cli.json(&["scim-token", "list", "--tenant", "acme", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2, "two active tokens");
    assert_eq!(list[0]["label"], "okta");
    assert!(list[0]["last_used_at"].is_i64(), "{list}");
    assert!(list[1]["last_used_at"].is_null());
    assert!(
        !list.to_string().contains(&token),
        "list never shows tokens"
    );
    let db: Vec<String> = app
        .with_db(|c| {
            use diesel::prelude::*;
            ssogate::storage::schema::scim_tokens::table
                .select(ssogate::storage::schema::scim_tokens::token_hash)
                .load(c)
        })
        .unwrap();
    assert!(!db.iter().any(|h| h.contains(&token)), "stored hashed");

    let id = list[0]["id"].to_string();
    cli.ok(&["scim-token", "revoke", "--tenant", "acme", &id]);
    let res = app
        .client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let err = cli.fails(&["scim-token", "revoke", "--tenant", "acme", &id]);
    assert!(err.contains("already revoked"), "{err}");
    let err = cli.fails(&["scim-token", "list", "--tenant", "nope"]);
    assert!(err.contains("tenant `nope` not found"), "{err}");
    let err = cli.fails(&["scim-token", "create", "--tenant", "acme", "--label", ""]);
    assert!(err.contains("label"), "{err}");
}

#[test]
fn scim_iwms_attribute_is_checked_and_shown() {
    let cli = Cli::new();
    let t = cli.json(&[
        "tenant",
        "create",
        "acme",
        "--scim-iwms-attribute",
        "employeeNumber",
        "--json",
    ]);
    assert_eq!(
        t["scim_iwms_attribute"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
    );
    let err = cli.fails(&[
        "tenant",
        "update",
        "acme",
        "--scim-iwms-attribute",
        "shoeSize",
    ]);
    assert!(
        err.contains("scim_iwms_attribute") && err.contains("employeeNumber"),
        "{err}"
    );
    let t = cli.json(&[
        "tenant",
        "update",
        "acme",
        "--clear-scim-iwms-attribute",
        "--json",
    ]);
    assert!(t["scim_iwms_attribute"].is_null());
}
