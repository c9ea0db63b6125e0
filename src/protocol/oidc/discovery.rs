//! The provider's discovery document (OpenID Connect Discovery §4), validated.
use serde::Deserialize;
use url::Url;

use super::error::{OidcError, err};
use crate::domain::oidc::ProviderMetadata;
use crate::domain::reason::Reason;
use crate::protocol::address::is_internal;

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

fn internal_ip(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => is_internal((*ip).into()),
        url::Host::Ipv6(ip) => is_internal((*ip).into()),
        url::Host::Domain(d) => *d == "localhost",
    }
}

/// Endpoints come from the provider's own document, so they are untrusted: https only, and no
/// literal internal addresses, unless `allow_http_loopback` (development and tests) permits
/// http on loopback. (A public name resolving to an internal address is not caught here.)
pub fn check_endpoint(what: &str, raw: &str, allow_http_loopback: bool) -> Result<Url, OidcError> {
    let url = Url::parse(raw).map_err(|_| {
        err(
            Reason::OpUnreachable,
            format!("{what} `{raw}` is not a URL"),
        )
    })?;
    let host = url
        .host()
        .ok_or_else(|| err(Reason::OpUnreachable, format!("{what} has no host")))?;
    let loopback = match &host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(d) => *d == "localhost",
    };
    if allow_http_loopback && loopback && matches!(url.scheme(), "http" | "https") {
        return Ok(url);
    }
    if url.scheme() != "https" {
        return Err(err(
            Reason::OpUnreachable,
            format!("{what} must be https: `{raw}`"),
        ));
    }
    if internal_ip(&host) {
        return Err(err(
            Reason::OpUnreachable,
            format!("{what} points at an internal address: `{raw}`"),
        ));
    }
    Ok(url)
}

pub fn discovery_url(issuer: &str, allow_http_loopback: bool) -> Result<Url, OidcError> {
    check_endpoint("issuer", issuer, allow_http_loopback)?;
    Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
    .map_err(|e| err(Reason::OpUnreachable, format!("issuer: {e}")))
}

pub fn parse(
    issuer: &str,
    body: &str,
    allow_http_loopback: bool,
) -> Result<ProviderMetadata, OidcError> {
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
    check_endpoint(
        "authorization_endpoint",
        &d.authorization_endpoint,
        allow_http_loopback,
    )?;
    check_endpoint("token_endpoint", &d.token_endpoint, allow_http_loopback)?;
    check_endpoint("jwks_uri", &d.jwks_uri, allow_http_loopback)?;
    if let Some(u) = &d.userinfo_endpoint {
        check_endpoint("userinfo_endpoint", u, allow_http_loopback)?;
    }
    Ok(ProviderMetadata {
        issuer: d.issuer,
        authorization_endpoint: d.authorization_endpoint,
        token_endpoint: d.token_endpoint,
        jwks_uri: d.jwks_uri,
        userinfo_endpoint: d.userinfo_endpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_https_and_not_internal() {
        assert!(check_endpoint("x", "https://op.example.com/t", false).is_ok());
        for bad in [
            "http://op.example.com/t",
            "https://127.0.0.1/t",
            "https://10.0.0.5/t",
            "https://169.254.169.254/latest",
            "https://100.100.100.200/latest/meta-data",
            "https://[64:ff9b::a9fe:a9fe]/latest",
            "https://[::ffff:a9fe:a9fe]/latest",
            "https://[::1]/t",
            "http://localhost:8080/t",
        ] {
            assert!(check_endpoint("x", bad, false).is_err(), "{bad}");
        }
        assert!(check_endpoint("x", "http://127.0.0.1:8080/t", true).is_ok());
        assert!(
            check_endpoint("x", "http://10.0.0.5/t", true).is_err(),
            "only loopback is relaxed"
        );
    }

    #[test]
    fn discovery_must_name_the_configured_issuer_and_support_code_with_s256() {
        let doc = |iss: &str, extra: &str| {
            format!(
                r#"{{"issuer":"{iss}","authorization_endpoint":"https://op.test/a","token_endpoint":"https://op.test/t","jwks_uri":"https://op.test/k"{extra}}}"#
            )
        };
        assert!(parse("https://op.test", &doc("https://op.test", ""), false).is_ok());
        assert_eq!(
            parse("https://op.test", &doc("https://evil.test", ""), false)
                .unwrap_err()
                .reason,
            Reason::IssuerMismatch
        );
        assert!(
            parse(
                "https://op.test",
                &doc(
                    "https://op.test",
                    r#","response_types_supported":["id_token"]"#
                ),
                false
            )
            .is_err()
        );
        assert!(
            parse(
                "https://op.test",
                &doc(
                    "https://op.test",
                    r#","code_challenge_methods_supported":["plain"]"#
                ),
                false
            )
            .is_err()
        );
    }
}
