//! A real SAML IdP that no one here wrote: pysaml2, driven by tests/idp/pysaml2_idp.py.
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use ssogate::protocol::saml::idp_metadata::parse_idp_metadata;

use crate::helpers::{TestApp, default_saml_input};
use crate::saml_fixtures::TestIdp;

pub struct PySaml2Idp {
    child: Child,
    pub metadata_url: String,
    pub sp_metadata: PathBuf,
    _dir: tempfile::TempDir,
}

fn python() -> PathBuf {
    let p = std::env::var("TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    assert!(
        p.exists(),
        "{} missing: run `make test-deps` (creates .venv with pysaml2)",
        p.display()
    );
    p
}

impl PySaml2Idp {
    /// Starts the IdP with `users` (see the script's --users format).
    pub fn start(users: serde_json::Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let keys = TestIdp::new("pysaml2");
        let (key, cert, users_path) = (
            dir.path().join("key.pem"),
            dir.path().join("cert.pem"),
            dir.path().join("users.json"),
        );
        std::fs::write(&key, &keys.key_pem).unwrap();
        std::fs::write(&cert, &keys.cert_pem).unwrap();
        std::fs::write(&users_path, users.to_string()).unwrap();
        let sp_metadata = dir.path().join("sp.xml");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/idp/pysaml2_idp.py");
        let mut child = Command::new(python())
            .arg(script)
            .args(["--sp-metadata".as_ref(), sp_metadata.as_os_str()])
            .args(["--key".as_ref(), key.as_os_str()])
            .args(["--cert".as_ref(), cert.as_os_str()])
            .args(["--users".as_ref(), users_path.as_os_str()])
            .args(["--workdir".as_ref(), dir.path().as_os_str()])
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pysaml2 IdP");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("IdP announces itself");
        let info: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("IdP start line {line:?}: {e}"));
        PySaml2Idp {
            child,
            metadata_url: info["metadata_url"].as_str().unwrap().to_owned(),
            sp_metadata,
            _dir: dir,
        }
    }

    /// Registers this IdP as connection `conn` of `tenant` from its metadata, and gives the
    /// IdP the SP's metadata, as an admin would.
    pub async fn connect(&self, app: &TestApp, tenant: &str, conn: &str) {
        let xml = reqwest::get(&self.metadata_url)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let m = parse_idp_metadata(&xml).expect("pysaml2 metadata parses");
        let mut input = default_saml_input(conn, &TestIdp::new("unused"));
        input.idp_entity_id = Some(m.entity_id);
        input.idp_sso_url = Some(m.sso_url);
        input.idp_certificates = m.signing_certificates;
        app.add_connection(tenant, input);
        let sp = app
            .client
            .get(app.sp_entity_id(tenant, conn))
            .send()
            .await
            .unwrap();
        assert_eq!(sp.status(), 200);
        std::fs::write(&self.sp_metadata, sp.text().await.unwrap()).unwrap();
    }
}

impl Drop for PySaml2Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Follows the IdP's login form as a browser would; returns (ACS URL, SAMLResponse, RelayState).
pub async fn sign_in_at_idp(
    client: &reqwest::Client,
    idp_url: &str,
    username: &str,
) -> (String, String, String) {
    let form_page = client.get(idp_url).send().await.unwrap();
    assert_eq!(form_page.status(), 200);
    let html = form_page.text().await.unwrap();
    let key = crate::helpers::form_value(&html, "key").expect("login form key");
    let login_url = reqwest::Url::parse(idp_url)
        .unwrap()
        .join("/login")
        .unwrap();
    let posted = client
        .post(login_url)
        .form(&[("username", username), ("key", key.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200, "IdP login");
    let html = posted.text().await.unwrap();
    (
        crate::helpers::form_action(&html).expect("auto-post form action"),
        crate::helpers::form_value(&html, "SAMLResponse").expect("SAMLResponse"),
        crate::helpers::form_value(&html, "RelayState").unwrap_or_default(),
    )
}
