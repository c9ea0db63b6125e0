//! Connections to the tenant's identity providers: adding a SAML IdP from its metadata or an
//! OpenID provider by its issuer, the values to configure at the IdP, the attribute mapping,
//! and a test sign-in.
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use openssl::asn1::Asn1Time;
use openssl::x509::X509;
use serde::Deserialize;

use super::pages::{self, Layout, Problem, Problems, lines, non_blank, when};
use super::{ConsoleAdmin, ConsoleError, CsrfOnly, Done, db, see_other};
use crate::domain::claims::{DEFAULT_EMAIL, DEFAULT_FIRST_NAME, DEFAULT_LAST_NAME, default_list};
use crate::domain::connection::{Connection, Protocol};
use crate::domain::oidc::{
    DEFAULT_EMAIL_CLAIMS, DEFAULT_FIRST_NAME_CLAIMS, DEFAULT_LAST_NAME_CLAIMS,
};
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::service::admin::{
    self, AdminError, OidcConnectionInput, OidcConnectionPatch, SamlConnectionInput,
    SamlConnectionPatch, access, invalid, metadata, parse_attribute_name, parse_slug,
};
use crate::storage;

/// The largest form a pasted IdP metadata document may come in (downloads are held to the
/// provider client's own cap).
pub const MAX_METADATA_BYTES: usize = 2 * 1024 * 1024;
/// A certificate expiring within this many days is flagged.
const EXPIRY_WARNING_DAYS: i64 = 30;

pub struct ConnectionRow {
    pub slug: String,
    pub name: String,
    pub protocol: &'static str,
}

fn protocol_label(p: Protocol) -> &'static str {
    match p {
        Protocol::Saml => "SAML 2.0",
        Protocol::Oidc => "OpenID Connect",
    }
}

#[derive(Default)]
pub struct SamlAddValues {
    pub slug: String,
    pub display_name: String,
    pub metadata_url: String,
    pub metadata_xml: String,
}

#[derive(Default)]
pub struct OidcAddValues {
    pub slug: String,
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
}

#[derive(Template)]
#[template(path = "admin/connections.html")]
pub struct ConnectionsPage {
    pub layout: Layout,
    pub connections: Vec<ConnectionRow>,
    pub saml: SamlAddValues,
    pub oidc: OidcAddValues,
    pub problem: Problems,
}

async fn list_page(
    state: &AppState,
    admin: &ConsoleAdmin,
    t: Tenant,
    saml: SamlAddValues,
    oidc: OidcAddValues,
    problem: Problems,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let id = t.id;
    let active = db(state, move |c| {
        Ok(storage::connections::list_active(c, id)?)
    })
    .await?;
    let p = ConnectionsPage {
        layout: Layout::new(admin, Some(&t), "connections").done(done),
        connections: active
            .into_iter()
            .map(|c| ConnectionRow {
                slug: c.slug.to_string(),
                name: c.display_name,
                protocol: protocol_label(c.protocol),
            })
            .collect(),
        saml,
        oidc,
        problem,
    };
    pages::render_status(&p, p.problem.status())
}

#[get("/admin/t/{tenant}/connections")]
pub async fn list(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    q: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let t = admin.tenant(&state, path.into_inner()).await?;
    let (saml, oidc) = (SamlAddValues::default(), OidcAddValues::default());
    list_page(&state, &admin, t, saml, oidc, Problems::none(), &q.done).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SamlAddForm {
    csrf: String,
    slug: String,
    display_name: String,
    metadata_url: String,
    metadata_xml: String,
}

/// The connection from the form: metadata pasted (preferred) or downloaded, then parsed.
async fn saml_input(
    state: &AppState,
    f: &SamlAddForm,
) -> Result<SamlConnectionInput, ConsoleError> {
    let slug = parse_slug("slug", f.slug.trim())?;
    let allow_loopback = state.settings.oidc.allow_http_loopback;
    let m = match (non_blank(&f.metadata_xml), non_blank(&f.metadata_url)) {
        (Some(xml), _) => metadata::parse("metadata_xml", &xml)?,
        (None, Some(url)) => metadata::fetch(&state.oidc_http, &url, allow_loopback).await?,
        (None, None) => {
            return Err(invalid(
                "metadata_url",
                "enter the identity provider's metadata URL, or paste its metadata XML",
            )
            .into());
        }
    };
    Ok(SamlConnectionInput {
        slug: slug.to_string(),
        display_name: non_blank(&f.display_name),
        idp_entity_id: m.entity_id,
        idp_sso_url: m.sso_url,
        idp_certificates: m.signing_certificates,
        allowed_algorithms: None,
        allow_idp_initiated: false,
        allow_unbound_responses: false,
        sign_requests: false,
        clock_skew_secs: None,
        attr_email: default_list(DEFAULT_EMAIL),
        attr_first_name: default_list(DEFAULT_FIRST_NAME),
        attr_last_name: default_list(DEFAULT_LAST_NAME),
        attr_iwms_id: None,
    })
}

/// Registered in `super::routes` with a form limit that fits pasted metadata.
pub async fn add_saml(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    form: web::Form<SamlAddForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let t = admin.tenant(&state, path.into_inner()).await?;
    let added = match saml_input(&state, &form).await {
        Ok(input) => {
            let (slug, now, can_sign) = (
                t.slug.to_string(),
                state.clock.unix(),
                state.sp_signing.is_some(),
            );
            db(&state, move |c| {
                admin::add_saml_connection(c, &slug, &input, can_sign, now)
            })
            .await
        }
        Err(e) => Err(e),
    };
    match added {
        Ok(c) => Ok(added_redirect(&t, &c)),
        Err(e) => {
            let problem = Problems(Some(Problem::of("saml", e)?));
            let f = form.into_inner();
            let values = SamlAddValues {
                slug: f.slug,
                display_name: f.display_name,
                metadata_url: f.metadata_url,
                metadata_xml: f.metadata_xml,
            };
            list_page(
                &state,
                &admin,
                t,
                values,
                OidcAddValues::default(),
                problem,
                "",
            )
            .await
        }
    }
}

fn added_redirect(t: &Tenant, c: &Connection) -> HttpResponse {
    see_other(&format!(
        "/admin/t/{}/connections/{}?done=connection-added",
        t.slug, c.slug
    ))
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct OidcAddForm {
    csrf: String,
    slug: String,
    display_name: String,
    issuer: String,
    client_id: String,
    client_secret: String,
}

/// The connection from the form, with the provider's discovery document and keys.
async fn oidc_input(
    state: &AppState,
    f: &OidcAddForm,
) -> Result<OidcConnectionInput, ConsoleError> {
    let slug = parse_slug("slug", f.slug.trim())?;
    let issuer = f.issuer.trim();
    if issuer.is_empty() {
        return Err(invalid("issuer", "is required").into());
    }
    if f.client_id.trim().is_empty() {
        return Err(invalid("client_id", "is required").into());
    }
    if f.client_secret.trim().is_empty() {
        return Err(invalid("client_secret", "is required").into());
    }
    let (metadata, jwks_json) = metadata::discover_oidc(
        &state.oidc_http,
        issuer,
        state.settings.oidc.allow_http_loopback,
    )
    .await?;
    Ok(OidcConnectionInput {
        slug: slug.to_string(),
        display_name: non_blank(&f.display_name),
        issuer: issuer.to_owned(),
        client_id: f.client_id.trim().to_owned(),
        client_secret: f.client_secret.trim().to_owned(),
        client_auth: None,
        scopes: None,
        allowed_algorithms: None,
        allow_hs256: false,
        use_userinfo: false,
        clock_skew_secs: None,
        attr_email: default_list(DEFAULT_EMAIL_CLAIMS),
        attr_first_name: default_list(DEFAULT_FIRST_NAME_CLAIMS),
        attr_last_name: default_list(DEFAULT_LAST_NAME_CLAIMS),
        attr_iwms_id: None,
        metadata,
        jwks_json,
    })
}

#[post("/admin/t/{tenant}/connections/oidc")]
pub async fn add_oidc(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    form: web::Form<OidcAddForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let t = admin.tenant(&state, path.into_inner()).await?;
    let added = match oidc_input(&state, &form).await {
        Ok(input) => {
            let (slug, now) = (t.slug.to_string(), state.clock.unix());
            db(&state, move |c| {
                admin::add_oidc_connection(c, &slug, &input, now)
            })
            .await
        }
        Err(e) => Err(e),
    };
    match added {
        Ok(c) => Ok(added_redirect(&t, &c)),
        Err(e) => {
            let problem = Problems(Some(Problem::of("oidc", e)?));
            // The secret is never sent back to the browser.
            let f = form.into_inner();
            let values = OidcAddValues {
                slug: f.slug,
                display_name: f.display_name,
                issuer: f.issuer,
                client_id: f.client_id,
            };
            list_page(
                &state,
                &admin,
                t,
                SamlAddValues::default(),
                values,
                problem,
                "",
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One connection.

pub struct CertView {
    pub subject: String,
    pub expires: String,
    /// `valid`, `expiring` (within 30 days) or `expired`.
    pub state: &'static str,
    pub sha256: String,
}

fn cert_view(der: &[u8], now: i64) -> CertView {
    let unreadable = || CertView {
        subject: "(unreadable certificate)".into(),
        expires: String::new(),
        state: "expired",
        sha256: String::new(),
    };
    let Ok(x) = X509::from_der(der) else {
        return unreadable();
    };
    let subject = x
        .subject_name()
        .entries()
        .filter_map(|e| {
            let key = e.object().nid().short_name().ok()?;
            let value = e.data().to_string().ok()?;
            Some(format!("{key}={value}"))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let not_after = Asn1Time::from_unix(0)
        .and_then(|epoch| epoch.diff(x.not_after()))
        .map(|d| i64::from(d.days) * 86_400 + i64::from(d.secs))
        .ok();
    let sha256 = x
        .digest(openssl::hash::MessageDigest::sha256())
        .map(|d| {
            d.iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        })
        .unwrap_or_default();
    let state = match not_after {
        Some(t) if t <= now => "expired",
        Some(t) if t - now <= EXPIRY_WARNING_DAYS * 86_400 => "expiring",
        Some(_) => "valid",
        None => "expired",
    };
    CertView {
        subject,
        expires: not_after.map(when).unwrap_or_default(),
        state,
        sha256,
    }
}

pub struct SamlView {
    pub entity_id: String,
    pub sso_url: String,
    pub certs: Vec<CertView>,
    pub acs_url: String,
    pub sp_entity_id: String,
    pub sp_metadata_url: String,
}

pub struct OidcView {
    pub issuer: String,
    pub client_id: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub scopes: String,
    pub redirect_uri: String,
}

/// The mapping form's values: stored, or as sent when shown again.
pub struct MappingValues {
    pub attr_email: String,
    pub attr_first_name: String,
    pub attr_last_name: String,
    pub attr_iwms_id: String,
    pub admin_role_attribute: String,
    pub admin_role_value: String,
}

impl MappingValues {
    fn of(c: &Connection) -> Self {
        MappingValues {
            attr_email: c.attr_email.join("\n"),
            attr_first_name: c.attr_first_name.join("\n"),
            attr_last_name: c.attr_last_name.join("\n"),
            attr_iwms_id: c.attr_iwms_id.clone().unwrap_or_default(),
            admin_role_attribute: c
                .admin_role
                .as_ref()
                .map(|r| r.attribute.clone())
                .unwrap_or_default(),
            admin_role_value: c
                .admin_role
                .as_ref()
                .map(|r| r.value.clone())
                .unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/connection.html")]
pub struct ConnectionPage {
    pub layout: Layout,
    pub slug: String,
    pub name: String,
    pub protocol: &'static str,
    pub saml: Option<SamlView>,
    pub oidc: Option<OidcView>,
    pub mapping: MappingValues,
    /// The tenant's IWMS attribute, used when the connection names none.
    pub tenant_iwms_attribute: Option<String>,
    pub test_action: String,
    pub problem: Problems,
}

enum Settings {
    Saml(crate::domain::connection::SamlIdpSettings),
    Oidc(crate::domain::oidc::OidcSettings),
}

async fn connection_page(
    state: &AppState,
    admin: &ConsoleAdmin,
    t: Tenant,
    slug: String,
    mapping: Option<MappingValues>,
    problem: Problems,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let tenant = t.clone();
    let (c, settings) = db(state, move |db| {
        let c = admin::connection_by_slug(db, &tenant, &slug)?;
        let s = match c.protocol {
            Protocol::Saml => {
                Settings::Saml(storage::connections::saml_settings(db, tenant.id, c.id)?)
            }
            Protocol::Oidc => Settings::Oidc(storage::oidc::settings(db, tenant.id, c.id)?),
        };
        Ok((c, s))
    })
    .await?;
    let now = state.clock.unix();
    let (saml, oidc) = match settings {
        Settings::Saml(s) => {
            let sp = state.sp_endpoints(t.slug.as_str(), c.slug.as_str());
            let view = SamlView {
                entity_id: s.idp_entity_id,
                sso_url: s.idp_sso_url,
                certs: s
                    .idp_certificates
                    .iter()
                    .map(|d| cert_view(d, now))
                    .collect(),
                acs_url: sp.acs_url,
                sp_entity_id: sp.entity_id,
                sp_metadata_url: sp.metadata_url,
            };
            (Some(view), None)
        }
        Settings::Oidc(s) => {
            let view = OidcView {
                redirect_uri: state.oidc_redirect_uri(t.slug.as_str(), c.slug.as_str()),
                issuer: s.issuer,
                client_id: s.client_id,
                authorization_endpoint: s.metadata.authorization_endpoint,
                token_endpoint: s.metadata.token_endpoint,
                scopes: s.scopes.join(" "),
            };
            (None, Some(view))
        }
    };
    let p = ConnectionPage {
        layout: Layout::new(admin, Some(&t), "connections").done(done),
        test_action: format!("/admin/t/{}/connections/{}/test", t.slug, c.slug),
        slug: c.slug.to_string(),
        name: c.display_name.clone(),
        protocol: protocol_label(c.protocol),
        saml,
        oidc,
        mapping: mapping.unwrap_or_else(|| MappingValues::of(&c)),
        tenant_iwms_attribute: t.iwms_attribute.clone(),
        problem,
    };
    pages::render_status(&p, p.problem.status())
}

#[get("/admin/t/{tenant}/connections/{connection}")]
pub async fn show(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<(String, String)>,
    q: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let (tenant, connection) = path.into_inner();
    let t = admin.tenant(&state, tenant).await?;
    connection_page(
        &state,
        &admin,
        t,
        connection,
        None,
        Problems::none(),
        &q.done,
    )
    .await
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct MappingForm {
    csrf: String,
    attr_email: String,
    attr_first_name: String,
    attr_last_name: String,
    attr_iwms_id: String,
    admin_role_attribute: String,
    admin_role_value: String,
}

impl MappingForm {
    fn values(&self) -> MappingValues {
        MappingValues {
            attr_email: self.attr_email.clone(),
            attr_first_name: self.attr_first_name.clone(),
            attr_last_name: self.attr_last_name.clone(),
            attr_iwms_id: self.attr_iwms_id.clone(),
            admin_role_attribute: self.admin_role_attribute.clone(),
            admin_role_value: self.admin_role_value.clone(),
        }
    }

    /// The admin-role rule: both halves or neither; checked before anything is written.
    fn admin_role(&self) -> Result<Option<(String, String)>, AdminError> {
        let attribute =
            parse_attribute_name("admin_role_attribute", Some(&self.admin_role_attribute))?;
        let value = parse_attribute_name("admin_role_value", Some(&self.admin_role_value))?;
        match (attribute, value) {
            (None, None) => Ok(None),
            (Some(a), Some(v)) => Ok(Some((a, v))),
            (Some(_), None) => Err(invalid(
                "admin_role_value",
                "enter the value that makes a user an admin, or clear the attribute too",
            )),
            (None, Some(_)) => Err(invalid(
                "admin_role_attribute",
                "enter the attribute that carries the value, or clear the value too",
            )),
        }
    }
}

fn save_mapping_in(
    db: &mut storage::DbConnection,
    t: &Tenant,
    slug: &str,
    f: &MappingForm,
    sp_can_sign: bool,
    now: i64,
) -> Result<(), AdminError> {
    let role = f.admin_role()?;
    let c = admin::connection_by_slug(db, t, slug)?;
    let (email, first, last, iwms) = (
        lines(&f.attr_email),
        lines(&f.attr_first_name),
        lines(&f.attr_last_name),
        non_blank(&f.attr_iwms_id),
    );
    match c.protocol {
        Protocol::Saml => {
            let patch = SamlConnectionPatch {
                attr_email: Some(email),
                attr_first_name: Some(first),
                attr_last_name: Some(last),
                attr_iwms_id: Some(iwms),
                ..Default::default()
            };
            admin::update_saml_connection(db, t.slug.as_str(), slug, &patch, sp_can_sign, now)?;
        }
        Protocol::Oidc => {
            let patch = OidcConnectionPatch {
                attr_email: Some(email),
                attr_first_name: Some(first),
                attr_last_name: Some(last),
                attr_iwms_id: Some(iwms),
                ..Default::default()
            };
            admin::update_oidc_connection(db, t.slug.as_str(), slug, &patch, now)?;
        }
    }
    let rule = role.as_ref().map(|(a, v)| (a.as_str(), v.as_str()));
    access::set_admin_role(db, t, slug, rule, now)
}

#[post("/admin/t/{tenant}/connections/{connection}/mapping")]
pub async fn save_mapping(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<(String, String)>,
    form: web::Form<MappingForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let (tenant, connection) = path.into_inner();
    let t = admin.tenant(&state, tenant).await?;
    let form = form.into_inner();
    let values = form.values();
    let (tenant, slug, now, can_sign) = (
        t.clone(),
        connection.clone(),
        state.clock.unix(),
        state.sp_signing.is_some(),
    );
    let saved = db(&state, move |c| {
        save_mapping_in(c, &tenant, &slug, &form, can_sign, now)
    })
    .await;
    match saved {
        Ok(()) => Ok(see_other(&format!(
            "/admin/t/{}/connections/{connection}?done=mapping-saved",
            t.slug
        ))),
        Err(e) => {
            let problem = Problems(Some(Problem::of("mapping", e)?));
            connection_page(&state, &admin, t, connection, Some(values), problem, "").await
        }
    }
}

/// Marks the connection removed (the API's DELETE): it stops serving sign-ins, its history
/// stays.
#[post("/admin/t/{tenant}/connections/{connection}/remove")]
pub async fn remove(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let (tenant, connection) = path.into_inner();
    let t = admin.tenant(&state, tenant).await?;
    let (slug, now) = (t.slug.to_string(), state.clock.unix());
    db(&state, move |c| {
        admin::remove_connection(c, &slug, &connection, now)
    })
    .await?;
    Ok(see_other(&format!(
        "/admin/t/{}/connections?done=connection-removed",
        t.slug
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_show_subject_expiry_and_fingerprint() {
        let (_, cert) = crate::protocol::saml::sign::self_signed("idp.example.test", 10).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let v = cert_view(&cert.to_der().unwrap(), now);
        assert!(v.subject.contains("CN=idp.example.test"), "{}", v.subject);
        assert_eq!(v.state, "expiring");
        assert!(v.expires.ends_with(" UTC"));
        assert_eq!(v.sha256.len(), 32 * 3 - 1);
        assert_eq!(cert_view(b"junk", now).state, "expired");
    }
}
