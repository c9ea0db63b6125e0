//! Connections to the tenant's identity providers: adding a SAML IdP from its metadata or an
//! OpenID provider by its issuer, the values to configure at the IdP, the attribute mapping,
//! and a test sign-in.
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::pages::{self, Layout, Problem, Problems, lines, non_blank, when};
use super::{ConsoleAdmin, ConsoleError, CsrfOnly, Done, db, see_other};
use crate::domain::connection::Connection;
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::service::admin::connections::{
    self as conns, CertificateView, ConnectionPatch, ConnectionView, NewOidc, NewSaml, ProtocolName,
};
use crate::service::admin::metadata::{self, Fetcher};
use crate::service::admin::{self, invalid, parse_slug};

/// The largest form a pasted IdP metadata document may come in (downloads are held to the
/// provider client's own cap).
pub const MAX_METADATA_BYTES: usize = 2 * 1024 * 1024;

pub struct ConnectionRow {
    pub slug: String,
    pub name: String,
    pub protocol: &'static str,
}

fn protocol_label(p: ProtocolName) -> &'static str {
    match p {
        ProtocolName::Saml => "SAML 2.0",
        ProtocolName::Oidc => "OpenID Connect",
    }
}

fn fetcher(state: &AppState) -> Fetcher {
    Fetcher::new(
        state.oidc_http.clone(),
        state.settings.oidc.allow_http_loopback,
    )
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
    let tenant = t.clone();
    let active = db(state, move |c| conns::list_connections(c, &tenant)).await?;
    let p = ConnectionsPage {
        layout: Layout::new(admin, Some(&t), "connections").done(done),
        connections: active
            .into_iter()
            .map(|c| ConnectionRow {
                slug: c.slug,
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
async fn saml_input(state: &AppState, f: &SamlAddForm) -> Result<NewSaml, ConsoleError> {
    let slug = parse_slug("slug", f.slug.trim())?;
    let (xml, url) = match (non_blank(&f.metadata_xml), non_blank(&f.metadata_url)) {
        (Some(xml), _) => (Some(xml), None),
        (None, Some(url)) => (None, Some(url)),
        (None, None) => {
            return Err(invalid(
                "metadata_url",
                "enter the identity provider's metadata URL, or paste its metadata XML",
            )
            .into());
        }
    };
    let metadata = metadata::read(&fetcher(state), xml.as_deref(), url.as_deref()).await?;
    Ok(NewSaml {
        slug: slug.to_string(),
        display_name: non_blank(&f.display_name),
        metadata,
        ..Default::default()
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
            let actor = admin.principal.audit.clone();
            db(&state, move |c| {
                admin::add_saml_connection(c, &slug, &input, can_sign, &actor, now)
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
async fn oidc_input(state: &AppState, f: &OidcAddForm) -> Result<NewOidc, ConsoleError> {
    let slug = parse_slug("slug", f.slug.trim())?;
    conns::require_before_discovery(&f.issuer, &f.client_id, &f.client_secret)?;
    let issuer = f.issuer.trim();
    let (metadata, jwks_json) = metadata::discover_oidc(&fetcher(state), issuer).await?;
    Ok(NewOidc {
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
        attr_email: None,
        attr_first_name: None,
        attr_last_name: None,
        attr_iwms_id: None,
        admin_role: None,
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
            let actor = admin.principal.audit.clone();
            db(&state, move |c| {
                admin::add_oidc_connection(c, &slug, &input, &actor, now)
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

fn cert_view(v: &CertificateView, now: i64) -> CertView {
    let sha256 = v
        .sha256
        .as_bytes()
        .chunks(2)
        .map(|b| String::from_utf8_lossy(b).to_uppercase())
        .collect::<Vec<_>>()
        .join(":");
    CertView {
        subject: v.subject.clone(),
        expires: when(v.not_after),
        state: v.expiry(now),
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
    /// Empty: the defaults.
    pub groups_attribute: String,
    pub department_attribute: String,
    pub title_attribute: String,
    pub employee_number_attribute: String,
    pub manager_attribute: String,
}

impl MappingValues {
    fn of(c: &ConnectionView) -> Self {
        let m = &c.attribute_mapping;
        MappingValues {
            attr_email: m.email.join("\n"),
            attr_first_name: m.first_name.join("\n"),
            attr_last_name: m.last_name.join("\n"),
            attr_iwms_id: m.iwms_id.clone().unwrap_or_default(),
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
            groups_attribute: m.groups_attribute.clone().unwrap_or_default(),
            department_attribute: m.department_attribute.clone().unwrap_or_default(),
            title_attribute: m.title_attribute.clone().unwrap_or_default(),
            employee_number_attribute: m.employee_number_attribute.clone().unwrap_or_default(),
            manager_attribute: m.manager_attribute.clone().unwrap_or_default(),
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

async fn connection_page(
    state: &AppState,
    admin: &ConsoleAdmin,
    t: Tenant,
    slug: String,
    mapping: Option<MappingValues>,
    problem: Problems,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let (tenant, base, now) = (t.clone(), state.base_url.clone(), state.clock.unix());
    let c = db(state, move |db| {
        conns::show_connection(db, &base, &tenant, &slug, now)
    })
    .await?;
    let setup = &c.idp_setup;
    let saml = c.saml.as_ref().map(|s| SamlView {
        entity_id: s.idp_entity_id.clone(),
        sso_url: s.idp_sso_url.clone(),
        certs: s
            .idp_certificates
            .iter()
            .map(|v| cert_view(v, now))
            .collect(),
        acs_url: setup.acs_url.clone().unwrap_or_default(),
        sp_entity_id: setup.sp_entity_id.clone().unwrap_or_default(),
        sp_metadata_url: setup.sp_metadata_url.clone().unwrap_or_default(),
    });
    let oidc = c.oidc.as_ref().map(|s| OidcView {
        redirect_uri: setup.redirect_uri.clone().unwrap_or_default(),
        issuer: s.issuer.clone(),
        client_id: s.client_id.clone(),
        authorization_endpoint: s.authorization_endpoint.clone(),
        token_endpoint: s.token_endpoint.clone(),
        scopes: s.scopes.join(" "),
    });
    let p = ConnectionPage {
        layout: Layout::new(admin, Some(&t), "connections").done(done),
        test_action: format!("/admin/t/{}/connections/{}/test", t.slug, c.slug),
        slug: c.slug.clone(),
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
    groups_attribute: String,
    department_attribute: String,
    title_attribute: String,
    employee_number_attribute: String,
    manager_attribute: String,
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
            groups_attribute: self.groups_attribute.clone(),
            department_attribute: self.department_attribute.clone(),
            title_attribute: self.title_attribute.clone(),
            employee_number_attribute: self.employee_number_attribute.clone(),
            manager_attribute: self.manager_attribute.clone(),
        }
    }

    fn patch(&self) -> Result<ConnectionPatch, ConsoleError> {
        let role =
            conns::admin_role_from_halves(&self.admin_role_attribute, &self.admin_role_value)?;
        Ok(ConnectionPatch {
            attr_email: Some(lines(&self.attr_email)),
            attr_first_name: Some(lines(&self.attr_first_name)),
            attr_last_name: Some(lines(&self.attr_last_name)),
            attr_iwms_id: Some(non_blank(&self.attr_iwms_id)),
            admin_role: Some(role),
            directory: conns::DirectoryPatch {
                groups_attribute: Some(non_blank(&self.groups_attribute)),
                department_attribute: Some(non_blank(&self.department_attribute)),
                title_attribute: Some(non_blank(&self.title_attribute)),
                employee_number_attribute: Some(non_blank(&self.employee_number_attribute)),
                manager_attribute: Some(non_blank(&self.manager_attribute)),
            },
            ..Default::default()
        })
    }
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
    let values = form.values();
    let saved = match form.patch() {
        Ok(patch) => conns::update_connection(
            &state.pool,
            &fetcher(&state),
            &t,
            &connection,
            patch,
            state.sp_signing.is_some(),
            &admin.principal.audit,
            state.clock.unix(),
        )
        .await
        .map(|_| ())
        .map_err(ConsoleError::from),
        Err(e) => Err(e),
    };
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
    let actor = admin.principal.audit.clone();
    db(&state, move |c| {
        admin::remove_connection(c, &slug, &connection, &actor, now)
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
        let v = cert_view(&CertificateView::of(&cert.to_der().unwrap(), now), now);
        assert!(v.subject.contains("CN=idp.example.test"), "{}", v.subject);
        assert_eq!(v.state, "expiring");
        assert!(v.expires.ends_with(" UTC"));
        assert_eq!(v.sha256.len(), 32 * 3 - 1);
        assert_eq!(
            cert_view(&CertificateView::of(b"junk", now), now).state,
            "expired"
        );
    }
}
