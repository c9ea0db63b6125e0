//! The bench IdP (an RSA-2048 key and a self-signed certificate), the signed responses it sends
//! (RSA-SHA256, exclusive c14n, the assertion signed) and the tenant they sign in to.
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ssogate::domain::audit::Actor;
use ssogate::domain::claims::{DEFAULT_EMAIL, DEFAULT_FIRST_NAME, DEFAULT_LAST_NAME, default_list};
use ssogate::protocol::saml::SpEndpoints;
use ssogate::protocol::saml::sign::{self_signed, sign_template};
use ssogate::service::admin::{self, NewSaml, TenantInput};
use ssogate::storage::DbPool;

use super::now;

pub const TENANT: &str = "acme";
pub const CONN: &str = "okta";
pub const IDP_ENTITY_ID: &str = "https://idp.bench.test/metadata";
pub const IDP_SSO_URL: &str = "https://idp.bench.test/sso";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Validity window of the generated assertions: responses made before a run stay good through
/// it (the ACS bench gives its pending requests the same TTL).
pub const VALIDITY_SECS: i64 = 3600;

fn instant(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

pub struct Idp {
    pub key_der: Vec<u8>,
    pub cert_der: Vec<u8>,
}

impl Idp {
    pub fn new() -> Self {
        let (key, cert) = self_signed("idp.bench.test", 30).unwrap();
        Idp {
            key_der: key.private_key_to_der().unwrap(),
            cert_der: cert.to_der().unwrap(),
        }
    }
}

/// Who signs in.
pub struct Person {
    pub subject: String,
    pub email: String,
    pub first: &'static str,
    pub last: &'static str,
}

/// A Response (unsigned) carrying an assertion signed with RSA-SHA256 / exc-c14n, as an IdP's
/// HTTP-POST binding sends it (XML, not yet base64). `in_response_to`: the AuthnRequest it
/// answers; `None` makes it unsolicited (IdP-initiated: no InResponseTo anywhere).
pub fn signed_response(
    idp: &Idp,
    sp: &SpEndpoints,
    in_response_to: Option<&str>,
    who: &Person,
) -> String {
    let t = now();
    let (issued, nb, noa) = (instant(t), instant(t - 30), instant(t + VALIDITY_SECS));
    let irt = in_response_to
        .map(|id| format!(r#" InResponseTo="{id}""#))
        .unwrap_or_default();
    let aid = ssogate::random::saml_id();
    let sig = format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/><ds:SignatureMethod Algorithm="{RSA_SHA256}"/><ds:Reference URI="#{aid}"><ds:Transforms><ds:Transform Algorithm="{ENVELOPED}"/><ds:Transform Algorithm="{EXC_C14N}"/></ds:Transforms><ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>"##
    );
    let assertion = format!(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{aid}" Version="2.0" IssueInstant="{issued}"><saml:Issuer>{IDP_ENTITY_ID}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{subject}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData{irt} Recipient="{acs}" NotOnOrAfter="{noa}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{issued}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="firstName"><saml:AttributeValue>{first}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="lastName"><saml:AttributeValue>{last}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#,
        subject = who.subject,
        acs = sp.acs_url,
        audience = sp.entity_id,
        email = who.email,
        first = who.first,
        last = who.last,
    );
    let signed = sign_template(&assertion, &idp.key_der).expect("bench IdP signs the assertion");
    let signed = strip_declaration(&signed);
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{rid}" Version="2.0" IssueInstant="{issued}" Destination="{acs}"{irt}><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{IDP_ENTITY_ID}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{signed}</samlp:Response>"#,
        rid = ssogate::random::saml_id(),
        acs = sp.acs_url,
    )
}

fn strip_declaration(xml: &str) -> &str {
    let t = xml.trim_start();
    match t.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").map_or(0, |i| i + 2)..].trim_start(),
        None => t,
    }
}

/// The urlencoded ACS form body (one line: urlencoding leaves no newline).
pub fn acs_form(response_xml: &str, relay_state: Option<&str>) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("SAMLResponse", &STANDARD.encode(response_xml));
    if let Some(rs) = relay_state {
        form.append_pair("RelayState", rs);
    }
    form.finish()
}

/// Tenant `acme` (users created at first sign-in, domain acme.test) and its SAML connection
/// `okta` trusting `idp`. `allow_idp_initiated` admits unsolicited responses; every other
/// check keeps its default.
pub fn setup_tenant(pool: &DbPool, idp: &Idp, allow_idp_initiated: bool) {
    let mut c = pool.get().expect("db connection");
    let t = now();
    let input = TenantInput {
        auto_create_users: Some(true),
        ..Default::default()
    };
    admin::create_tenant(&mut c, TENANT, &input, &Actor::Cli, t).expect("create tenant");
    admin::add_domain(&mut c, TENANT, "acme.test", &Actor::Cli, t).expect("add domain");
    let input = NewSaml {
        slug: CONN.into(),
        idp_entity_id: Some(IDP_ENTITY_ID.into()),
        idp_sso_url: Some(IDP_SSO_URL.into()),
        idp_certificates: vec![idp.cert_der.clone()],
        allow_idp_initiated,
        attr_email: Some(default_list(DEFAULT_EMAIL)),
        attr_first_name: Some(default_list(DEFAULT_FIRST_NAME)),
        attr_last_name: Some(default_list(DEFAULT_LAST_NAME)),
        ..Default::default()
    };
    admin::add_saml_connection(&mut c, TENANT, &input, false, &Actor::Cli, t)
        .expect("add connection");
}
