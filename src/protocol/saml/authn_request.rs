//! SP-initiated AuthnRequest over the HTTP-Redirect binding.
use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use samael::metadata::HTTP_POST_BINDING;
use samael::schema::{AuthnRequest, Issuer, NameIdPolicy};
use samael::traits::ToXml;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::form_urlencoded::byte_serialize;

use super::SpEndpoints;

/// Where to send the browser, and what to remember about it.
#[derive(Debug, Clone)]
pub struct RedirectRequest {
    pub request_id: String,
    pub relay_state: String,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("could not render the AuthnRequest: {0}")]
    Render(String),
    #[error("could not compress the AuthnRequest")]
    Io(#[from] std::io::Error),
    #[error("could not sign the AuthnRequest")]
    Sign(#[from] openssl::error::ErrorStack),
}

const SIG_ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

fn enc(s: &str) -> String {
    byte_serialize(s.as_bytes()).collect()
}

/// samael writes an Issuer's text as given, unescaped (samael 0.0.20 src/schema/issuer.rs:54,
/// `BytesText::from_escaped`), while it escapes attribute values: the text is escaped here.
fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn authn_request_xml(
    id: &str,
    now: OffsetDateTime,
    destination: &str,
    sp: &SpEndpoints,
) -> Result<String, RequestError> {
    let instant = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .map_err(|e| RequestError::Render(e.to_string()))?;
    let request = AuthnRequest {
        id: id.to_owned(),
        version: "2.0".to_owned(),
        // samael holds a chrono time; parsed from RFC 3339 text, ssogate needs no chrono itself.
        issue_instant: instant
            .parse()
            .map_err(|e| RequestError::Render(format!("issue instant {instant}: {e}")))?,
        destination: Some(destination.to_owned()),
        assertion_consumer_service_url: Some(sp.acs_url.clone()),
        protocol_binding: Some(HTTP_POST_BINDING.to_owned()),
        issuer: Some(Issuer {
            value: Some(xml_text(&sp.entity_id)),
            ..Issuer::default()
        }),
        name_id_policy: Some(NameIdPolicy {
            allow_create: Some(true),
            ..NameIdPolicy::default()
        }),
        ..AuthnRequest::default()
    };
    ToXml::to_string(&request).map_err(|e| RequestError::Render(e.to_string()))
}

/// The deflate, base64 and query signing stay here: samael's `AuthnRequest::redirect` +
/// `crypto::sign_url` sign the whole query, so an IdP SSO URL that carries its own parameters
/// (`?idpid=…`) gets a signature over more than SAMLRequest, RelayState and SigAlg, which the
/// IdP then fails to verify (samael 0.0.20 src/crypto/url_verification.rs:228).
pub fn build(
    sp: &SpEndpoints,
    idp_sso_url: &str,
    now: OffsetDateTime,
    signing_key: Option<&PKey<Private>>,
) -> Result<RedirectRequest, RequestError> {
    let request_id = crate::random::saml_id();
    let relay_state = crate::random::token();
    let xml = authn_request_xml(&request_id, now, idp_sso_url, sp)?;
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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::protocol::saml::ns;

    fn inflated(url: &str) -> String {
        let url = url::Url::parse(url).unwrap();
        let (_, request) = url.query_pairs().find(|(k, _)| k == "SAMLRequest").unwrap();
        let deflated = STANDARD.decode(request.as_bytes()).unwrap();
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(deflated.as_slice())
            .read_to_string(&mut xml)
            .unwrap();
        xml
    }

    #[test]
    fn the_request_names_the_sp_even_when_its_urls_carry_markup() {
        let sp = SpEndpoints::new("https://sso.test/a&b<c>", "acme", "okta");
        let now = time::macros::datetime!(2026-01-02 03:04:05.678 UTC);
        let req = build(&sp, "https://idp.test/sso", now, None).unwrap();
        let xml = inflated(&req.url);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert!(root.has_tag_name((ns::PROTOCOL, "AuthnRequest")));
        assert_eq!(root.attribute("ID"), Some(req.request_id.as_str()));
        assert_eq!(root.attribute("Destination"), Some("https://idp.test/sso"));
        assert_eq!(
            root.attribute("AssertionConsumerServiceURL"),
            Some(sp.acs_url.as_str())
        );
        assert_eq!(
            root.attribute("IssueInstant"),
            Some("2026-01-02T03:04:05.000Z")
        );
        let issuer = root
            .children()
            .find(|n| n.has_tag_name((ns::ASSERTION, "Issuer")))
            .unwrap();
        assert_eq!(issuer.text(), Some(sp.entity_id.as_str()));
    }

    #[test]
    fn the_signature_covers_only_the_bindings_parameters() {
        let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let sp = SpEndpoints::new("https://sso.test", "acme", "okta");
        let idp = "https://idp.test/sso?idpid=C01";
        let req = build(&sp, idp, OffsetDateTime::UNIX_EPOCH, Some(&key)).unwrap();
        let query = req.url.strip_prefix(&format!("{idp}&")).unwrap();
        let (signed, signature) = query.split_once("&Signature=").unwrap();
        assert!(signed.starts_with("SAMLRequest=") && signed.contains("&SigAlg="));
        let signature: String = url::form_urlencoded::parse(format!("s={signature}").as_bytes())
            .map(|(_, v)| v.into_owned())
            .collect();
        let mut verifier = openssl::sign::Verifier::new(MessageDigest::sha256(), &key).unwrap();
        verifier.update(signed.as_bytes()).unwrap();
        assert!(
            verifier
                .verify(&STANDARD.decode(signature).unwrap())
                .unwrap()
        );
    }
}
