//! The one read model of a connection: the API renders it as JSON (and documents it in
//! openapi.json), the console and the CLI render it as pages and text. Secrets (the OIDC
//! client secret) are never in it.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::connection::{Connection, Protocol};
use crate::domain::oidc::ProviderMetadata;
use crate::domain::tenant::Tenant;
use crate::protocol::saml::{SpEndpoints, certificate};
use crate::service::admin::AdminError;
use crate::storage::{DbConnection, connections, oidc};

/// A certificate expiring within this many days is flagged.
const EXPIRY_WARNING_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolName {
    Saml,
    Oidc,
}

impl From<Protocol> for ProtocolName {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::Saml => ProtocolName::Saml,
            Protocol::Oidc => ProtocolName::Oidc,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionSummary {
    pub slug: String,
    pub display_name: String,
    pub protocol: ProtocolName,
    pub created_at: i64,
}

impl From<&Connection> for ConnectionSummary {
    fn from(c: &Connection) -> Self {
        ConnectionSummary {
            slug: c.slug.to_string(),
            display_name: c.display_name.clone(),
            protocol: c.protocol.into(),
            created_at: c.created_at,
        }
    }
}

/// Which IdP attributes (SAML) or claims (OIDC) fill the user's fields; the first present wins.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeMapping {
    pub email: Vec<String>,
    pub first_name: Vec<String>,
    pub last_name: Vec<String>,
    /// This connection's IWMS ID attribute; `null` uses the tenant's `iwms_attribute`.
    pub iwms_id: Option<String>,
    /// The attribute (SAML) or claim (OIDC) holding the user's groups; `null` uses the
    /// defaults: `groups` (Okta, Google) and
    /// `http://schemas.microsoft.com/ws/2008/06/identity/claims/groups` (Entra ID).
    pub groups_attribute: Option<String>,
    /// `null`: `department` and the usual claim URIs.
    pub department_attribute: Option<String>,
    /// `null`: `title`, `jobTitle` and the usual claim URIs.
    pub title_attribute: Option<String>,
    /// `null`: `employeeNumber`, `employee_number` and the usual claim URIs.
    pub employee_number_attribute: Option<String>,
    /// The manager's SCIM id or email; `null`: `manager`, `managerEmail`.
    pub manager_attribute: Option<String>,
}

/// A user is an admin of the tenant when the IdP's `attribute` holds `value` (exact match).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminRole {
    #[schema(example = "groups")]
    pub attribute: String,
    #[schema(example = "ssogate-admins")]
    pub value: String,
}

/// A trusted IdP signing certificate.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    /// e.g. `CN=idp.example.com, O=Example`.
    pub subject: String,
    pub issuer: String,
    pub not_before: i64,
    /// The expiry; rotate before it.
    pub not_after: i64,
    pub expired: bool,
    /// SHA-256 fingerprint of the DER certificate, hex.
    pub sha256: String,
    /// The subject's values alone and the expiry as OpenSSL prints it: the CLI's `--json`.
    #[serde(skip)]
    pub subject_values: Vec<String>,
    #[serde(skip)]
    pub not_after_text: Option<String>,
}

impl CertificateView {
    pub fn of(der: &[u8], now: i64) -> Self {
        let sha256 = certificate::sha256_hex(der);
        match certificate::summary(der) {
            Some(s) => CertificateView {
                subject: certificate::name_text(&s.subject),
                issuer: certificate::name_text(&s.issuer),
                not_before: s.not_before,
                not_after: s.not_after,
                expired: s.not_after <= now,
                sha256,
                subject_values: s.subject.into_iter().map(|(_, v)| v).collect(),
                not_after_text: Some(s.not_after_text),
            },
            None => CertificateView {
                subject: "(not a valid X.509 certificate)".into(),
                issuer: String::new(),
                not_before: 0,
                not_after: 0,
                expired: true,
                sha256,
                subject_values: Vec::new(),
                not_after_text: None,
            },
        }
    }

    /// `valid`, `expiring` (within 30 days) or `expired`.
    pub fn expiry(&self, now: i64) -> &'static str {
        if self.expired || self.not_after <= now {
            "expired"
        } else if self.not_after - now <= EXPIRY_WARNING_DAYS * 86_400 {
            "expiring"
        } else {
            "valid"
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SamlSettingsView {
    pub idp_entity_id: String,
    pub idp_sso_url: String,
    pub idp_certificates: Vec<CertificateView>,
    /// Accepted signature algorithms (rsa-sha256, rsa-sha384, rsa-sha512, ecdsa-sha256,
    /// ecdsa-sha384, ecdsa-sha512).
    pub allowed_algorithms: Vec<String>,
    pub allow_idp_initiated: bool,
    pub allow_unbound_responses: bool,
    pub sign_requests: bool,
    pub clock_skew_secs: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OidcSettingsView {
    pub issuer: String,
    pub client_id: String,
    /// client_secret_basic or client_secret_post.
    pub client_auth: String,
    pub scopes: Vec<String>,
    /// Accepted ID-token algorithms (RS256/384/512, PS256/384/512, ES256/384, HS256).
    pub allowed_algorithms: Vec<String>,
    pub use_userinfo: bool,
    pub clock_skew_secs: i64,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
    /// When the provider's keys were last read.
    pub jwks_fetched_at: i64,
}

/// What to enter at the identity provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdpSetup {
    /// SAML: the Assertion Consumer Service (single sign-on) URL.
    pub acs_url: Option<String>,
    /// SAML: the SP entity ID (audience).
    pub sp_entity_id: Option<String>,
    /// SAML: where the IdP can read the SP metadata.
    pub sp_metadata_url: Option<String>,
    /// OIDC: the redirect URI to register.
    pub redirect_uri: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    pub slug: String,
    pub display_name: String,
    pub protocol: ProtocolName,
    pub created_at: i64,
    pub attribute_mapping: AttributeMapping,
    pub admin_role: Option<AdminRole>,
    /// Set for SAML connections.
    pub saml: Option<SamlSettingsView>,
    /// Set for OpenID Connect connections.
    pub oidc: Option<OidcSettingsView>,
    pub idp_setup: IdpSetup,
    /// The console page whose "Test sign-in" button runs a test in the browser: the IdP's
    /// response is validated and reported (what arrived, how it maps, what a sign-in would
    /// do); nothing is created and nobody is signed in.
    pub test_sign_in_url: String,
}

/// A connection as shown to admins, with the values to configure at the IdP.
pub fn connection_view(
    conn: &mut DbConnection,
    base_url: &str,
    t: &Tenant,
    c: &Connection,
    now: i64,
) -> Result<ConnectionView, AdminError> {
    let (tenant, slug) = (t.slug.as_str(), c.slug.as_str());
    let (saml, oidc, idp_setup) = match c.protocol {
        Protocol::Saml => {
            let s = connections::saml_settings(conn, t.id, c.id)?;
            let sp = SpEndpoints::new(base_url, tenant, slug);
            (
                Some(SamlSettingsView {
                    idp_entity_id: s.idp_entity_id,
                    idp_sso_url: s.idp_sso_url,
                    idp_certificates: s
                        .idp_certificates
                        .iter()
                        .map(|d| CertificateView::of(d, now))
                        .collect(),
                    allowed_algorithms: s
                        .allowed_algorithms
                        .iter()
                        .map(|a| a.name().to_owned())
                        .collect(),
                    allow_idp_initiated: s.allow_idp_initiated,
                    allow_unbound_responses: s.allow_unbound_responses,
                    sign_requests: s.sign_requests,
                    clock_skew_secs: s.clock_skew_secs,
                }),
                None,
                IdpSetup {
                    acs_url: Some(sp.acs_url),
                    sp_entity_id: Some(sp.entity_id),
                    sp_metadata_url: Some(sp.metadata_url),
                    redirect_uri: None,
                },
            )
        }
        Protocol::Oidc => {
            let s = oidc::settings(conn, t.id, c.id)?;
            let ProviderMetadata {
                authorization_endpoint,
                token_endpoint,
                jwks_uri,
                userinfo_endpoint,
                ..
            } = s.metadata;
            (
                None,
                Some(OidcSettingsView {
                    issuer: s.issuer,
                    client_id: s.client_id,
                    client_auth: s.client_auth.name().to_owned(),
                    scopes: s.scopes,
                    allowed_algorithms: s
                        .allowed_algorithms
                        .iter()
                        .map(|a| a.name().to_owned())
                        .collect(),
                    use_userinfo: s.use_userinfo,
                    clock_skew_secs: s.clock_skew_secs,
                    authorization_endpoint,
                    token_endpoint,
                    jwks_uri,
                    userinfo_endpoint,
                    jwks_fetched_at: s.jwks_fetched_at,
                }),
                IdpSetup {
                    acs_url: None,
                    sp_entity_id: None,
                    sp_metadata_url: None,
                    redirect_uri: Some(crate::protocol::oidc::redirect_uri(base_url, tenant, slug)),
                },
            )
        }
    };
    let test_sign_in = format!(
        "{}/admin/t/{tenant}/connections/{slug}#test-sign-in",
        base_url.trim_end_matches('/')
    );
    // The base URL is checked at start-up; normalised as a URL when it parses.
    let test_sign_in = url::Url::parse(&test_sign_in).map_or(test_sign_in, |u| u.to_string());
    Ok(ConnectionView {
        slug: slug.to_owned(),
        display_name: c.display_name.clone(),
        protocol: c.protocol.into(),
        created_at: c.created_at,
        attribute_mapping: AttributeMapping {
            email: c.attr_email.clone(),
            first_name: c.attr_first_name.clone(),
            last_name: c.attr_last_name.clone(),
            iwms_id: c.attr_iwms_id.clone(),
            groups_attribute: c.directory.groups.clone(),
            department_attribute: c.directory.department.clone(),
            title_attribute: c.directory.title.clone(),
            employee_number_attribute: c.directory.employee_number.clone(),
            manager_attribute: c.directory.manager.clone(),
        },
        admin_role: c.admin_role.as_ref().map(|r| AdminRole {
            attribute: r.attribute.clone(),
            value: r.value.clone(),
        }),
        saml,
        oidc,
        idp_setup,
        test_sign_in_url: test_sign_in,
    })
}
