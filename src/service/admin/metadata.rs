//! IdP metadata for connections added in the console or the API: pasted XML, or fetched from
//! a URL the way provider documents are (https only, no redirects, timeouts, never an
//! internal address, 1 MiB cap), so an admin cannot turn the server into a proxy.
use super::{AdminError, invalid};
use crate::domain::oidc::ProviderMetadata;
use crate::protocol::oidc::{client, discovery};
use crate::protocol::saml::idp_metadata::{IdpMetadata, parse_idp_metadata};

pub fn parse(field: &'static str, xml: &str) -> Result<IdpMetadata, AdminError> {
    parse_idp_metadata(xml).map_err(|e| invalid(field, e))
}

/// `allow_http_loopback` is the server's `oidc.allow_http_loopback` (development and tests).
pub async fn fetch(
    http: &reqwest::Client,
    url: &str,
    allow_http_loopback: bool,
) -> Result<IdpMetadata, AdminError> {
    const FIELD: &str = "metadata_url";
    let checked = discovery::check_endpoint("the metadata URL", url.trim(), allow_http_loopback)
        .map_err(|e| invalid(FIELD, e.detail))?;
    let xml = client::get_text(
        http,
        "the metadata URL",
        checked.as_str(),
        "application/samlmetadata+xml, application/xml, text/xml",
    )
    .await
    .map_err(|e| invalid(FIELD, e.detail))?;
    parse(FIELD, &xml)
}

/// An OpenID provider's discovery document and keys, read now from `issuer` with the same
/// client rules (the document's own endpoints are checked by `client::discover`).
pub async fn discover_oidc(
    http: &reqwest::Client,
    issuer: &str,
    allow_http_loopback: bool,
) -> Result<(ProviderMetadata, String), AdminError> {
    let m = client::discover(http, issuer, allow_http_loopback)
        .await
        .map_err(|e| invalid("issuer", format!("discovery failed: {}", e.detail)))?;
    let jwks = client::fetch_jwks(http, &m.jwks_uri)
        .await
        .map_err(|e| invalid("issuer", format!("the provider's keys: {}", e.detail)))?;
    Ok((m, jwks))
}
