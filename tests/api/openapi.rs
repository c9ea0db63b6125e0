//! The OpenAPI document: the committed `openapi.json` is what the code generates (`make
//! openapi` rewrites it), the server serves the same, and every documented operation is routed.
use serde_json::Value;
use ssogate::service::admin::{TenantInput, access};

use crate::helpers::{default_saml_input, now, spawn_app};
use crate::saml_fixtures::TestIdp;

fn committed_path() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

#[test]
fn committed_openapi_json_is_what_the_code_generates() {
    let generated = ssogate::http::api::openapi_json();
    let path = committed_path();
    if std::env::var("SSOGATE_BLESS_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).expect("write openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json is out of date with the code: run `make openapi` and commit the result"
    );
}

#[tokio::test]
async fn the_server_serves_the_same_document() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        res.text().await.unwrap(),
        ssogate::http::api::openapi_json()
    );
}

/// A value for each path parameter that names something the seeded app has.
fn fill(template: &str) -> String {
    template
        .replace("{tenant}", "acme")
        .replace("{connection}", "okta")
        .replace("{domain}", "acme.test")
        .replace("{email}", "ann@acme.test")
        .replace("{identity_id}", "1")
        .replace("{id}", "1")
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_answers_a_documented_status() {
    let app = spawn_app().await;
    app.create_tenant("acme", TenantInput::default());
    app.add_domain("acme", "acme.test");
    let idp = TestIdp::new("http://idp.acme.test/metadata");
    app.add_connection("acme", default_saml_input("okta", &idp));
    let token = app
        .with_db(|c| {
            access::create_token(
                c,
                None,
                "openapi",
                Some(90),
                &ssogate::domain::audit::Actor::Cli,
                now(),
            )
        })
        .unwrap()
        .token;
    let doc: Value = serde_json::from_str(&ssogate::http::api::openapi_json()).unwrap();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 15, "{}", paths.len());
    let mut checked = 0;
    // DELETEs last, so that they do not remove what the other operations use.
    let mut ops: Vec<(String, String, Value)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .map(|(m, op)| (path.clone(), m.clone(), op.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    ops.sort_by_key(|(_, m, _)| m == "delete");
    for (path, method, op) in ops {
        let url = app.url(&fill(&path));
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut rb = app.client.request(m.clone(), &url).bearer_auth(&token);
        if op.get("requestBody").is_some() {
            rb = rb.json(&serde_json::json!({}));
        }
        let res = rb.send().await.unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(
            !(status == 404 && body.contains("no such API route")),
            "{method} {path} is documented but not routed"
        );
        assert!(status < 500, "{method} {path}: {status} {body}");
        let documented = op["responses"]
            .as_object()
            .unwrap()
            .contains_key(&status.to_string());
        assert!(
            documented,
            "{method} {path} answered {status}, which it does not document: {body}"
        );
        // Every operation also documents 401, and answers it without a token.
        let res = app.client.request(m, &url).send().await.unwrap();
        assert_eq!(res.status(), 401, "{method} {path}");
        assert!(op["responses"].get("401").is_some(), "{method} {path}");
        checked += 1;
    }
    assert!(checked >= 28, "{checked} operations");
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                out.push(r);
            }
            o.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_self_consistent() {
    let doc: Value = serde_json::from_str(&ssogate::http::api::openapi_json()).unwrap();
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "$ref {r} names no schema"
        );
    }
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            assert!(op["tags"][0].is_string(), "{method} {path} has no tag");
            assert_eq!(
                op["security"],
                serde_json::json!([{"admin_token": []}]),
                "{method} {path}"
            );
            for p in op["parameters"].as_array().into_iter().flatten() {
                assert!(
                    p["in"] != "path"
                        || path.contains(&format!("{{{}}}", p["name"].as_str().unwrap())),
                    "{method} {path}: {p}"
                );
            }
        }
    }
    assert!(doc["components"]["securitySchemes"]["admin_token"].is_object());
}
