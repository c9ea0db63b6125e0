//! The real binary's logs, at debug level, never contain SAML messages, relay states,
//! session tokens or query strings.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::cli::Cli;
use crate::saml_fixtures::{Resp, TestIdp};

// Multi-threaded: the CLI subprocess blocks this thread while the in-process OP answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_logs() {
    let cli = Cli::new();
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    std::fs::write(cli.path("idp.pem"), &idp.cert_pem).unwrap();
    cli.ok(&[
        "tenant",
        "create",
        "acme",
        "--auto-create-users",
        "on",
        "--allowed-origin",
        "https://app.acme.test",
    ]);
    cli.ok(&[
        "connection",
        "add-saml",
        "--tenant",
        "acme",
        "--slug",
        "okta",
        "--entity-id",
        &idp.entity_id,
        "--sso-url",
        "https://idp.acme.test/sso",
        "--cert-file",
        cli.path("idp.pem").to_str().unwrap(),
    ]);
    let (base, mut child, reader) = serve(
        &cli,
        &[
            ("SSOGATE_LOG__FORMAT", "json"),
            ("SSOGATE_LOG__LEVEL", "debug"),
        ],
    );
    let client = crate::helpers::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let res = client
        .get(format!(
            "{base}/t/acme/login?return_to=https://app.acme.test/secret-path%3Fq%3Dsecret-query"
        ))
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let (req, relay) = crate::helpers::parse_authn_redirect(&location);
    let saml_request = reqwest::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .unwrap()
        .1
        .into_owned();
    let acs = format!("{base}/t/acme/saml/okta/acs");
    let mut r = Resp::valid_at(
        &acs,
        &format!("{base}/t/acme/saml/okta/metadata"),
        &idp,
        Some(&req),
    );
    r.name_id = "subject-secret-nameid".into();
    let encoded = STANDARD.encode(r.signed(&idp));
    let res = client
        .post(&acs)
        .form(&[
            ("SAMLResponse", encoded.as_str()),
            ("RelayState", relay.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = crate::helpers::first_cookie(&res);
    let token = cookie.split('=').nth(1).unwrap().to_owned();
    assert_eq!(
        client
            .get(format!("{base}/auth/verify"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // An OpenID Connect sign-in too: code, state, nonce and tokens must not be logged.
    let op = crate::hostile_op::HostileOp::start();
    let key = crate::hostile_op::Key::rsa("k1");
    op.with(|o| o.jwks = serde_json::json!({"keys": [key.jwk()]}));
    std::fs::write(cli.path("oidc.secret"), "oidc-client-secret-never-logged").unwrap();
    let out = cli.run_env(
        &[
            "connection",
            "add-oidc",
            "--tenant",
            "acme",
            "--slug",
            "op",
            "--issuer",
            &op.issuer,
            "--client-id",
            "ssogate",
            "--client-secret-file",
            cli.path("oidc.secret").to_str().unwrap(),
        ],
        &[("SSOGATE_OIDC__ALLOW_HTTP_LOOPBACK", "true")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let res = client
        .get(format!("{base}/t/acme/login?connection=op"))
        .send()
        .await
        .unwrap();
    let auth = reqwest::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = auth.query_pairs().into_owned().collect();
    let (state, nonce) = (q["state"].clone(), q["nonce"].clone());
    let t = crate::helpers::now();
    let id_token = crate::hostile_op::sign(
        "RS256",
        Some(&key),
        b"",
        Some("k1"),
        &serde_json::json!({"iss": op.issuer, "aud": "ssogate", "sub": "oidc-subject", "exp": t + 300, "iat": t,
                            "nonce": nonce, "email": "grace@acme.test"}),
    );
    op.with(|o| o.token_response = serde_json::json!({"access_token": "secret-access-token-xyz", "token_type": "Bearer", "id_token": id_token}));
    let res = client
        .get(format!(
            "{base}/t/acme/oidc/op/callback?code=secret-authorization-code&state={state}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    // SCIM: the bearer token, passwords and filter values stay out of the logs too.
    let scim_token = cli.json(&["scim-token", "create", "--tenant", "acme", "--json"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = client
        .post(format!("{base}/t/acme/scim/v2/Users"))
        .bearer_auth(&scim_token)
        .header("content-type", "application/scim+json")
        .body(
            serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "scim-user@acme.test", "password": "scim-password-never-logged"})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = client
        .get(format!(
            "{base}/t/acme/scim/v2/Users?filter=userName%20eq%20%22scim-filter-secret%22"
        ))
        .bearer_auth(&scim_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    child.kill().unwrap();
    child.wait().unwrap();
    let log = reader.join().unwrap();

    assert!(
        log.contains("/t/acme/saml/okta/acs")
            && log.contains("/t/acme/oidc/op/callback")
            && log.contains("/t/acme/scim/v2/Users"),
        "request logging works: {log}"
    );
    for (what, secret) in [
        ("SAMLResponse", &encoded[..40]),
        ("SAMLRequest", &saml_request[..20]),
        ("RelayState", relay.as_str()),
        ("session token", token.as_str()),
        ("query string", "secret-query"),
        ("return_to path", "secret-path"),
        ("session secret", "a-very-secret-session-key"),
        ("OIDC code", "secret-authorization-code"),
        ("OIDC state", state.as_str()),
        ("OIDC nonce", nonce.as_str()),
        ("access token", "secret-access-token-xyz"),
        ("ID token", &id_token[..60]),
        ("client secret", "oidc-client-secret-never-logged"),
        ("SCIM token", scim_token.as_str()),
        ("SCIM password", "scim-password-never-logged"),
        ("SCIM filter value", "scim-filter-secret"),
    ] {
        assert!(!log.contains(secret), "{what} leaked into the logs");
    }
}

/// Runs the real binary with `env`, returns its base URL, the child and a reader that
/// yields everything it logged once the child is killed.
fn serve(
    cli: &Cli,
    env: &[(&str, &str)],
) -> (String, std::process::Child, std::thread::JoinHandle<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ssogate"))
        .arg("serve")
        .current_dir(cli.path(""))
        .env("SSOGATE_DATABASE__URL", cli.db_url())
        .env("SSOGATE_SERVER__PORT", "0")
        .env("SSOGATE_METRICS__BIND", "")
        .env(
            "SSOGATE_SESSION__SECRET",
            "a-very-secret-session-key-0123456789",
        )
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    let port = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "server exited: {log}"
        );
        log.push_str(&line);
        if let Some(p) = line
            .split("port")
            .nth(1)
            .and_then(|r| {
                r.trim_start_matches(['"', ':', '=', ' '])
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
            })
            .and_then(|d| d.parse::<u16>().ok())
        {
            break p;
        }
    };
    let reader = std::thread::spawn(move || {
        for line in stderr.lines() {
            log.push_str(&line.unwrap_or_default());
            log.push('\n');
        }
        log
    });
    (format!("http://127.0.0.1:{port}"), child, reader)
}

/// Every request gets an id: a client's `X-Request-Id` is not believed, a trusted proxy's
/// is; the id is echoed, on the request's log lines (with tenant and client address, JSON
/// and human formats) and the reference on its error page.
#[tokio::test]
async fn request_ids_reach_the_response_the_logs_and_the_error_page() {
    let cli = Cli::new();
    let client = crate::helpers::client_builder().build().unwrap();

    let (base, mut child, reader) = serve(&cli, &[("SSOGATE_LOG__FORMAT", "json")]);
    let res = client
        .get(format!("{base}/t/nope/login"))
        .header("x-request-id", "client-chosen-id")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "an untrusted client's id is replaced: {id}"
    );
    let body = res.text().await.unwrap();
    assert!(
        body.contains(&format!("Reference: <code>{id}</code>")),
        "{body}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let log = reader.join().unwrap();
    assert!(!log.contains("client-chosen-id"), "{log}");
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["span"]["request_id"] == id.as_str() && v["path"] == "/t/nope/login")
        .unwrap_or_else(|| panic!("no access-log line with the id: {log}"));
    assert_eq!(line["span"]["tenant"], "nope");
    assert_eq!(line["span"]["client"], "127.0.0.1");
    assert_eq!(line["status"], 404);

    let (base, mut child, reader) = serve(
        &cli,
        &[
            ("SSOGATE_LOG__FORMAT", "human"),
            ("SSOGATE_SERVER__TRUSTED_PROXIES", "127.0.0.1"),
        ],
    );
    for (sent, kept) in [("edge-7f3a:b/9+c=", true), ("bad id\"x", false)] {
        let res = client
            .get(format!("{base}/t/acme/login"))
            .header("x-request-id", sent)
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        let echoed = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(echoed == sent, kept, "{sent} -> {echoed}");
        assert!(res.text().await.unwrap().contains(&echoed));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let log = reader.join().unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("request_id=edge-7f3a:b/9+c="))
        .unwrap_or_else(|| panic!("no human log line with the proxy's id: {log}"));
    assert!(
        line.contains("tenant=\"acme\"") || line.contains("tenant=acme"),
        "{line}"
    );
    assert!(
        line.contains("203.0.113.9"),
        "the client behind the proxy: {line}"
    );
    assert!(!log.contains("bad id"), "{log}");
}
