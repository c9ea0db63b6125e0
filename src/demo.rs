//! A development SAML IdP and demo tenant for newcomers (`demo.enabled = true`). Anyone can
//! sign in as anyone through it, so it refuses to run unless the gateway listens on loopback.
use std::io::Read;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use anyhow::{Context, bail};
use askama::Template;
use askama_web::WebTemplate;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::audit::Actor;
use crate::http::pages::page;
use crate::http::{AppState, HttpError};
use crate::protocol::saml::SpEndpoints;
use crate::protocol::saml::sign::{self_signed, sign_template};
use crate::service::admin::{self, NewSaml, TenantInput};
use crate::storage::DbPool;

pub const TENANT: &str = "demo";
pub const CONNECTION: &str = "dev-idp";
/// The demo tenant's whitelisted email domain: the development IdP's form offers an address
/// in it, so the same address also works on the home page (`/`).
pub const DOMAIN: &str = "demo.example";

pub struct DemoIdp {
    key_der: Vec<u8>,
    entity_id: String,
    sp: SpEndpoints,
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The development IdP signs anyone in: it must never be reachable from another machine,
/// neither directly nor through a proxy in front of a loopback listener (whose public URL
/// `server.base_url` names).
pub fn check_loopback(settings: &Settings) -> anyhow::Result<()> {
    if !is_loopback(&settings.server.host) {
        bail!(
            "config key `demo.enabled`: the development IdP only runs when server.host is a loopback address (it is `{}`)",
            settings.server.host
        );
    }
    if let Some(base) = &settings.server.base_url {
        let host = url::Url::parse(base)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()));
        if !host.as_deref().is_some_and(is_loopback) {
            bail!(
                "config key `demo.enabled`: the development IdP only runs when server.base_url is a loopback URL (it is `{base}`), not behind a public proxy"
            );
        }
    }
    Ok(())
}

/// Creates the demo tenant, its domain and its connection the first time; on every later
/// start it only points the connection at this run's key and base URL (and adds the base URL to
/// the return origins if it is missing), so settings an admin changed survive a restart.
pub fn setup(
    settings: &Settings,
    base_url: &str,
    pool: &DbPool,
    clock: &dyn Clock,
) -> anyhow::Result<DemoIdp> {
    check_loopback(settings)?;
    let base = base_url.to_owned();
    let (key, cert) = self_signed("ssogate development IdP", 365)
        .context("generating the development IdP key")?;
    let (key_der, cert_der) = (key.private_key_to_der()?, cert.to_der()?);
    let entity_id = format!("{base}/demo-idp/metadata");
    let now = clock.unix();
    let mut conn = pool.get()?;
    let tenant = match admin::tenant_by_slug(&mut conn, TENANT) {
        Ok(t) => {
            if !t
                .allowed_return_origins
                .iter()
                .any(|o| o.as_str() == base.as_str())
            {
                let mut origins: Vec<String> = t
                    .allowed_return_origins
                    .iter()
                    .map(|o| o.as_str().to_owned())
                    .collect();
                origins.push(base.clone());
                let input = TenantInput {
                    allowed_return_origins: Some(origins),
                    ..Default::default()
                };
                admin::update_tenant(&mut conn, TENANT, &input, &Actor::Cli, now)?
            } else {
                t
            }
        }
        Err(admin::AdminError::NotFound(_)) => {
            let t = admin::create_tenant(
                &mut conn,
                TENANT,
                &TenantInput {
                    display_name: Some("Demo company".into()),
                    auto_create_users: Some(true),
                    iwms_attribute: Some(Some("iwmsId".into())),
                    allowed_return_origins: Some(vec![base.clone()]),
                    ..Default::default()
                },
                &Actor::Cli,
                now,
            )?;
            admin::add_domain(&mut conn, TENANT, DOMAIN, &Actor::Cli, now)?;
            t
        }
        Err(e) => return Err(e.into()),
    };
    match admin::connection_by_slug(&mut conn, &tenant, CONNECTION) {
        Ok(c) => {
            // The key is new on every start, and the base URL may have changed since the last.
            let patch = admin::ConnectionPatch {
                saml: admin::SamlPatch {
                    idp_entity_id: Some(entity_id.clone()),
                    idp_sso_url: Some(format!("{base}/demo-idp/sso")),
                    idp_certificates: Some(vec![cert_der]),
                    ..Default::default()
                },
                ..Default::default()
            };
            admin::connections::apply_update(
                &mut conn,
                &tenant,
                c.slug.as_str(),
                &patch,
                Default::default(),
                false,
                &Actor::Cli,
                now,
            )?;
        }
        Err(admin::AdminError::NotFound(_)) => {
            admin::add_saml_connection(
                &mut conn,
                TENANT,
                &NewSaml {
                    slug: CONNECTION.into(),
                    display_name: Some("Development IdP".into()),
                    idp_entity_id: Some(entity_id.clone()),
                    idp_sso_url: Some(format!("{base}/demo-idp/sso")),
                    idp_certificates: vec![cert_der],
                    ..Default::default()
                },
                false,
                &Actor::Cli,
                now,
            )?;
        }
        Err(e) => return Err(e.into()),
    }
    tracing::warn!(url = %format!("{base}/t/{TENANT}/login"), "demo mode: development IdP enabled; anyone can sign in as anyone");
    Ok(DemoIdp {
        key_der,
        entity_id,
        sp: SpEndpoints::new(&base, TENANT, CONNECTION),
    })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(sso_form).service(sso_submit);
}

/// The development IdP, when `demo.enabled`: startup registers it (or None) as app data
/// beside `AppState`, which knows nothing of the demo.
pub type DemoData = web::Data<Option<DemoIdp>>;

fn demo(idp: &DemoData) -> Result<&DemoIdp, HttpError> {
    idp.as_ref()
        .as_ref()
        .ok_or(HttpError::NotFound("There is no such page."))
}

#[derive(Template, WebTemplate)]
#[template(path = "demo/login.html")]
struct LoginPage<'a> {
    request_id: &'a str,
    relay_state: &'a str,
}

#[derive(Deserialize)]
struct SsoQuery {
    #[serde(rename = "SAMLRequest")]
    saml_request: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

fn safe_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Reads the AuthnRequest ID, answering only requests that name the demo ACS.
fn request_id(encoded: &str, expected_acs: &str) -> Option<String> {
    let deflated = STANDARD.decode(encoded).ok()?;
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .take(64 * 1024)
        .read_to_string(&mut xml)
        .ok()?;
    let doc = crate::protocol::saml::xml::parse(&xml).ok()?;
    let root = doc.root();
    (doc.attribute(root, "AssertionConsumerServiceURL") == Some(expected_acs))
        .then(|| doc.attribute(root, "ID").map(str::to_owned))
        .flatten()
        .filter(|id| safe_token(id))
}

#[get("/demo-idp/sso")]
async fn sso_form(
    req: HttpRequest,
    idp: DemoData,
    q: web::Query<SsoQuery>,
) -> Result<HttpResponse, HttpError> {
    let d = demo(&idp)?;
    let id = request_id(&q.saml_request, &d.sp.acs_url)
        .ok_or_else(|| HttpError::BadRequest("Not an AuthnRequest for the demo tenant.".into()))?;
    let rs = q
        .relay_state
        .clone()
        .filter(|r| safe_token(r))
        .unwrap_or_default();
    let form = LoginPage {
        request_id: &id,
        relay_state: &rs,
    };
    Ok(page(&req, form, StatusCode::OK))
}

#[derive(Deserialize)]
struct SsoForm {
    request_id: String,
    relay_state: String,
    email: String,
    first_name: String,
    last_name: String,
    iwms_id: String,
}

#[derive(Template)]
#[template(path = "demo/response.xml", escape = "html")]
struct ResponseXml<'a> {
    response_id: &'a str,
    assertion_id: &'a str,
    request_id: &'a str,
    now: &'a str,
    not_on_or_after: &'a str,
    acs_url: &'a str,
    issuer: &'a str,
    audience: &'a str,
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    iwms_id: &'a str,
}

#[derive(Template, WebTemplate)]
#[template(path = "demo/post.html")]
struct PostPage<'a> {
    acs_url: &'a str,
    saml_response: &'a str,
    relay_state: &'a str,
}

#[post("/demo-idp/sso")]
async fn sso_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    idp: DemoData,
    form: web::Form<SsoForm>,
) -> Result<HttpResponse, HttpError> {
    let d = demo(&idp)?;
    let f = form.into_inner();
    if !safe_token(&f.request_id) || !(f.relay_state.is_empty() || safe_token(&f.relay_state)) {
        return Err(HttpError::BadRequest("Malformed form.".into()));
    }
    let now = state
        .clock
        .now()
        .replace_nanosecond(0)
        .unwrap_or(state.clock.now());
    let fmt = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let xml = ResponseXml {
        response_id: &crate::random::saml_id(),
        assertion_id: &crate::random::saml_id(),
        request_id: &f.request_id,
        now: &fmt(now),
        not_on_or_after: &fmt(now + time::Duration::minutes(5)),
        acs_url: &d.sp.acs_url,
        issuer: &d.entity_id,
        audience: &d.sp.entity_id,
        email: &f.email,
        first_name: &f.first_name,
        last_name: &f.last_name,
        iwms_id: &f.iwms_id,
    }
    .render()?;
    let signed = sign_template(&xml, &d.key_der).map_err(HttpError::internal)?;
    let encoded = STANDARD.encode(signed);
    let post = PostPage {
        acs_url: &d.sp.acs_url,
        saml_response: &encoded,
        relay_state: &f.relay_state,
    };
    Ok(page(&req, post, StatusCode::OK))
}
