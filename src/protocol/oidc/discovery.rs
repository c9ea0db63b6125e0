//! The provider's discovery document (OpenID Connect Discovery §4), validated.
use serde::Deserialize;
use url::Url;

use super::error::{OidcError, err};
use crate::domain::oidc::ProviderMetadata;
use crate::domain::reason::Reason;

#[derive(Deserialize)]
struct Document {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
    response_types_supported: Option<Vec<String>>,
    code_challenge_methods_supported: Option<Vec<String>>,
}

/// https everywhere, except a loopback provider (development and tests).
pub fn check_endpoint(what: &str, raw: &str) -> Result<Url, OidcError> {
    let url = Url::parse(raw).map_err(|_| {
        err(
            Reason::OpUnreachable,
            format!("{what} `{raw}` is not a URL"),
        )
    })?;
    let loopback = matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(err(
            Reason::OpUnreachable,
            format!("{what} must be https: `{raw}`"),
        )),
    }
}

pub fn discovery_url(issuer: &str) -> Result<Url, OidcError> {
    check_endpoint("issuer", issuer)?;
    Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
    .map_err(|e| err(Reason::OpUnreachable, format!("issuer: {e}")))
}

pub fn parse(issuer: &str, body: &str) -> Result<ProviderMetadata, OidcError> {
    let d: Document = serde_json::from_str(body)
        .map_err(|e| err(Reason::OpUnreachable, format!("discovery document: {e}")))?;
    // Discovery §4.3: the issuer in the document must be exactly the one configured.
    if d.issuer != issuer {
        return Err(err(
            Reason::IssuerMismatch,
            format!(
                "discovery names issuer `{}`, configured `{issuer}`",
                d.issuer
            ),
        ));
    }
    if let Some(types) = &d.response_types_supported
        && !types.iter().any(|t| t == "code")
    {
        return Err(err(
            Reason::OpUnreachable,
            "the provider does not support the authorization code flow",
        ));
    }
    if let Some(methods) = &d.code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        return Err(err(
            Reason::OpUnreachable,
            "the provider does not support PKCE S256",
        ));
    }
    check_endpoint("authorization_endpoint", &d.authorization_endpoint)?;
    check_endpoint("token_endpoint", &d.token_endpoint)?;
    check_endpoint("jwks_uri", &d.jwks_uri)?;
    if let Some(u) = &d.userinfo_endpoint {
        check_endpoint("userinfo_endpoint", u)?;
    }
    Ok(ProviderMetadata {
        issuer: d.issuer,
        authorization_endpoint: d.authorization_endpoint,
        token_endpoint: d.token_endpoint,
        jwks_uri: d.jwks_uri,
        userinfo_endpoint: d.userinfo_endpoint,
    })
}
