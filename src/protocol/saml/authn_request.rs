//! SP-initiated AuthnRequest over the HTTP-Redirect binding.
use std::io::Write;

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::form_urlencoded::byte_serialize;

use super::SpEndpoints;

#[derive(Template)]
#[template(path = "saml/authn_request.xml", escape = "html")]
struct AuthnRequestXml<'a> {
    id: &'a str,
    issue_instant: &'a str,
    destination: &'a str,
    acs_url: &'a str,
    issuer: &'a str,
}

/// Where to send the browser, and what to remember about it.
#[derive(Debug, Clone)]
pub struct RedirectRequest {
    pub request_id: String,
    pub relay_state: String,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("could not render the AuthnRequest")]
    Render(#[from] askama::Error),
    #[error("could not compress the AuthnRequest")]
    Io(#[from] std::io::Error),
    #[error("could not sign the AuthnRequest")]
    Sign(#[from] openssl::error::ErrorStack),
}

const SIG_ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

fn enc(s: &str) -> String {
    byte_serialize(s.as_bytes()).collect()
}

pub fn build(
    sp: &SpEndpoints,
    idp_sso_url: &str,
    now: OffsetDateTime,
    signing_key: Option<&PKey<Private>>,
) -> Result<RedirectRequest, RequestError> {
    let request_id = crate::random::saml_id();
    let relay_state = crate::random::token();
    let instant = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default();
    let xml = AuthnRequestXml {
        id: &request_id,
        issue_instant: &instant,
        destination: idp_sso_url,
        acs_url: &sp.acs_url,
        issuer: &sp.entity_id,
    }
    .render()?;
    let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
    deflater.write_all(xml.as_bytes())?;
    let encoded = STANDARD.encode(deflater.finish()?);

    // The signature covers the query exactly as sent (SAML bindings §3.4.4.1).
    let mut query = format!(
        "SAMLRequest={}&RelayState={}",
        enc(&encoded),
        enc(&relay_state)
    );
    if let Some(key) = signing_key {
        query.push_str(&format!("&SigAlg={}", enc(SIG_ALG_RSA_SHA256)));
        let mut signer = Signer::new(MessageDigest::sha256(), key)?;
        signer.update(query.as_bytes())?;
        let sig = STANDARD.encode(signer.sign_to_vec()?);
        query.push_str(&format!("&Signature={}", enc(&sig)));
    }
    let sep = if idp_sso_url.contains('?') { '&' } else { '?' };
    Ok(RedirectRequest {
        request_id,
        relay_state,
        url: format!("{idp_sso_url}{sep}{query}"),
    })
}
