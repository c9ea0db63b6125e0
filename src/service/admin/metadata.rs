//! The one way the server reads documents an admin points it at, for the API, the console and
//! the CLI alike: IdP metadata (pasted, or fetched from a URL) and an OpenID provider's
//! discovery document and keys. URLs are read the way provider documents are (https only, no
//! redirects, timeouts, never an internal address, capped size), so an admin cannot turn the
//! server into a proxy.
use std::time::Duration;

use super::{AdminError, invalid};
use crate::config::Settings;
use crate::domain::oidc::ProviderMetadata;
use crate::protocol::oidc::{client, discovery};
use crate::protocol::saml::idp_metadata::{IdpMetadata, parse_idp_metadata};

/// The outbound client (its address policy refuses internal hosts) and whether plain-http
/// loopback URLs are allowed (`oidc.allow_http_loopback`, development and tests).
#[derive(Clone)]
pub struct Fetcher {
    pub http: reqwest::Client,
    pub allow_http_loopback: bool,
}

impl Fetcher {
    pub fn new(http: reqwest::Client, allow_http_loopback: bool) -> Self {
        Fetcher {
            http,
            allow_http_loopback,
        }
    }

    /// The server's own fetcher, for commands run outside it (the CLI).
    pub fn from_settings(settings: &Settings) -> Result<Self, reqwest::Error> {
        let http = client::http_client(
            Duration::from_secs(settings.oidc.http_timeout_secs),
            settings.oidc.allow_http_loopback,
        )?;
        Ok(Fetcher::new(http, settings.oidc.allow_http_loopback))
    }
}

pub fn parse(field: &'static str, xml: &str) -> Result<IdpMetadata, AdminError> {
    parse_idp_metadata(xml).map_err(|e| invalid(field, e))
}

pub async fn fetch(fetcher: &Fetcher, url: &str) -> Result<IdpMetadata, AdminError> {
    const FIELD: &str = "metadata_url";
    let checked =
        discovery::check_endpoint("the metadata URL", url.trim(), fetcher.allow_http_loopback)
            .map_err(|e| invalid(FIELD, e.detail))?;
    let xml = client::get_text(
        &fetcher.http,
        "the metadata URL",
        checked.as_str(),
        "application/samlmetadata+xml, application/xml, text/xml",
    )
    .await
    .map_err(|e| invalid(FIELD, e.detail))?;
    parse(FIELD, &xml)
}

/// The IdP metadata from pasted XML or a URL, or None when neither was given.
pub async fn read(
    fetcher: &Fetcher,
    xml: Option<&str>,
    url: Option<&str>,
) -> Result<Option<IdpMetadata>, AdminError> {
    match (xml, url) {
        (Some(_), Some(_)) => Err(invalid(
            "metadata_url",
            "give metadata_xml or metadata_url, not both",
        )),
        (Some(x), None) => Ok(Some(parse("metadata_xml", x)?)),
        (None, Some(u)) => Ok(Some(fetch(fetcher, u).await?)),
        (None, None) => Ok(None),
    }
}

/// An OpenID provider's discovery document and keys, read now from `issuer` with the same
/// client rules (the document's own endpoints are checked by `client::discover`).
pub async fn discover_oidc(
    fetcher: &Fetcher,
    issuer: &str,
) -> Result<(ProviderMetadata, String), AdminError> {
    let http = &fetcher.http;
    let m = client::discover(http, issuer.trim(), fetcher.allow_http_loopback)
        .await
        .map_err(|e| invalid("issuer", format!("discovery failed: {}", e.detail)))?;
    let jwks = client::fetch_jwks(http, &m.jwks_uri)
        .await
        .map_err(|e| invalid("issuer", format!("the provider's keys: {}", e.detail)))?;
    Ok((m, jwks))
}
