//! Outbound calls to the provider. Every call has a timeout and a size cap; none follows
//! redirects (credentials must not travel to another host).
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::discovery;
use super::error::{OidcError, err};
use crate::domain::oidc::{ClientAuth, OidcSettings, ProviderMetadata};
use crate::domain::reason::Reason;
use crate::protocol::body::{ReadError, read_capped};
use crate::protocol::outbound;

const MAX_BODY: usize = 1024 * 1024;

/// The outbound client for provider calls: public addresses only, so a provider name pointed
/// at 10.0.0.1 or 169.254.169.254 cannot turn the gateway into a proxy; loopback only in
/// development (`oidc.allow_http_loopback`). See [`crate::protocol::outbound`].
pub fn http_client(
    timeout: Duration,
    allow_loopback: bool,
) -> Result<reqwest::Client, reqwest::Error> {
    outbound::client(
        timeout,
        outbound::AddressPolicy {
            allow_loopback,
            allowed_networks: Vec::new(),
        },
    )
}

fn unreachable(what: &str, e: reqwest::Error) -> OidcError {
    let why = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    err(Reason::OpUnreachable, format!("{what}: {why}"))
}

async fn body(
    what: &str,
    res: reqwest::Response,
) -> Result<(reqwest::StatusCode, String), OidcError> {
    let status = res.status();
    let buf = read_capped(res, MAX_BODY).await.map_err(|e| match e {
        ReadError::TooLarge => err(
            Reason::OpUnreachable,
            format!("{what}: response over 1 MiB"),
        ),
        ReadError::Failed(e) => unreachable(what, e),
    })?;
    let text = String::from_utf8(buf).map_err(|_| {
        err(
            Reason::OpUnreachable,
            format!("{what}: response is not UTF-8"),
        )
    })?;
    Ok((status, text))
}

async fn get(client: &reqwest::Client, what: &str, url: &str) -> Result<String, OidcError> {
    get_text(client, what, url, "application/json").await
}

/// A GET through `client` (no redirects, timeouts, public addresses only), body capped.
pub async fn get_text(
    client: &reqwest::Client,
    what: &str,
    url: &str,
    accept: &str,
) -> Result<String, OidcError> {
    let res = client
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .map_err(|e| unreachable(what, e))?;
    let (status, text) = body(what, res).await?;
    if !status.is_success() {
        return Err(err(
            Reason::OpUnreachable,
            format!("{what} answered HTTP {status}"),
        ));
    }
    Ok(text)
}

pub async fn discover(
    client: &reqwest::Client,
    issuer: &str,
    allow_http_loopback: bool,
) -> Result<ProviderMetadata, OidcError> {
    let url = discovery::discovery_url(issuer, allow_http_loopback)?;
    discovery::parse(
        issuer,
        &get(client, "discovery", url.as_str()).await?,
        allow_http_loopback,
    )
}

/// The JWKS document, checked to parse.
pub async fn fetch_jwks(client: &reqwest::Client, jwks_uri: &str) -> Result<String, OidcError> {
    let text = get(client, "jwks_uri", jwks_uri).await?;
    super::jose::parse_jwks(&text)?;
    Ok(text)
}

/// Never Debug-printed: both are bearer credentials.
pub struct Tokens {
    pub id_token: String,
    pub access_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    access_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn exchange_code(
    client: &reqwest::Client,
    s: &OidcSettings,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Tokens, OidcError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let mut req = client
        .post(&s.metadata.token_endpoint)
        .header("accept", "application/json");
    match s.client_auth {
        // RFC 6749 §2.3.1: the credentials are form-urlencoded before Basic encoding.
        ClientAuth::ClientSecretBasic => {
            let enc =
                |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
            req = req.basic_auth(enc(&s.client_id), Some(enc(&s.client_secret)));
        }
        ClientAuth::ClientSecretPost => {
            form.push(("client_id", &s.client_id));
            form.push(("client_secret", &s.client_secret));
        }
    }
    let res = req
        .form(&form)
        .send()
        .await
        .map_err(|e| unreachable("token endpoint", e))?;
    let (status, text) = body("token endpoint", res).await?;
    let parsed: TokenResponse = serde_json::from_str(&text).map_err(|_| {
        err(
            Reason::TokenExchangeFailed,
            format!("token endpoint answered HTTP {status} without a JSON body"),
        )
    })?;
    if let Some(code) = parsed.error {
        let mut e = err(
            Reason::TokenExchangeFailed,
            format!(
                "token endpoint error `{}`",
                code.chars().take(64).collect::<String>()
            ),
        );
        e.op_message = parsed
            .error_description
            .map(|d| d.chars().filter(|c| !c.is_control()).take(200).collect());
        return Err(e);
    }
    if !status.is_success() {
        return Err(err(
            Reason::TokenExchangeFailed,
            format!("token endpoint answered HTTP {status}"),
        ));
    }
    let id_token = parsed.id_token.ok_or_else(|| {
        err(
            Reason::TokenExchangeFailed,
            "the token response has no id_token",
        )
    })?;
    Ok(Tokens {
        id_token,
        access_token: parsed.access_token,
    })
}

pub async fn userinfo(
    client: &reqwest::Client,
    endpoint: &str,
    access_token: &str,
) -> Result<Map<String, Value>, OidcError> {
    let res = client
        .get(endpoint)
        .bearer_auth(access_token)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| unreachable("userinfo", e))?;
    let (status, text) = body("userinfo", res).await?;
    if !status.is_success() {
        return Err(err(
            Reason::OpUnreachable,
            format!("userinfo answered HTTP {status}"),
        ));
    }
    serde_json::from_str(&text).map_err(|_| {
        err(
            Reason::MalformedIdToken,
            "userinfo is not a JSON object (signed userinfo is not supported)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://localhost:{}/jwks",
            listener.local_addr().unwrap().port()
        );
        let strict = http_client(Duration::from_secs(2), false).unwrap();
        let e = get(&strict, "jwks_uri", &url).await.unwrap_err();
        assert_eq!(e.reason, Reason::OpUnreachable);
        listener.set_nonblocking(true).unwrap();
        assert!(listener.accept().is_err(), "no connection was made");
    }
}
