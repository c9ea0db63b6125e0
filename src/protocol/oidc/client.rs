//! Outbound calls to the provider. Every call has a timeout and a size cap; none follows
//! redirects (credentials must not travel to another host). The `openidconnect` crate makes
//! the token exchange and the JWKS fetch through [`call`], its HTTP hook, which sends with the
//! same SSRF-safe client; the crate is built without an HTTP client of its own.
use std::borrow::Cow;
use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthType, AuthorizationCode, ClientId, ClientSecret, DiscoveryError,
    EndpointNotSet, EndpointSet, ExtraTokenFields, HttpRequest, HttpResponse, IdToken, IssuerUrl,
    JsonWebKeySet, JsonWebKeySetUrl, OAuth2TokenResponse, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, StandardErrorResponse, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
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

/// The `openidconnect` crate's HTTP hook: the crate's request, sent through `client` (no
/// redirects, timeouts, public addresses only), the answer capped at 1 MiB.
pub async fn call(
    client: &reqwest::Client,
    what: &str,
    req: HttpRequest,
) -> Result<HttpResponse, OidcError> {
    let (parts, payload) = req.into_parts();
    let res = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(payload)
        .send()
        .await
        .map_err(|e| unreachable(what, e))?;
    let (status, headers) = (res.status(), res.headers().clone());
    let buf = read_capped(res, MAX_BODY).await.map_err(|e| match e {
        ReadError::TooLarge => err(
            Reason::OpUnreachable,
            format!("{what}: response over 1 MiB"),
        ),
        ReadError::Failed(e) => unreachable(what, e),
    })?;
    let mut answer = HttpResponse::new(buf);
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// The JWKS document, fetched and read by the crate, kept as JSON for the database cache.
pub async fn fetch_jwks(client: &reqwest::Client, jwks_uri: &str) -> Result<String, OidcError> {
    let url = JsonWebKeySetUrl::new(jwks_uri.to_owned())
        .map_err(|_| err(Reason::OpUnreachable, "jwks_uri is not a URL"))?;
    let http = |req| call(client, "jwks_uri", req);
    let set: CoreJsonWebKeySet =
        JsonWebKeySet::fetch_async(&url, &http)
            .await
            .map_err(|e| match e {
                DiscoveryError::Request(e) => e,
                DiscoveryError::Parse(e) => err(
                    Reason::UnknownSigningKey,
                    format!("the provider's JWKS does not parse: {e}"),
                ),
                DiscoveryError::Response(status, _, why) => err(
                    Reason::OpUnreachable,
                    format!(
                        "jwks_uri answered HTTP {status}: {}",
                        why.chars().take(100).collect::<String>()
                    ),
                ),
                other => err(Reason::OpUnreachable, format!("jwks_uri: {other}")),
            })?;
    serde_json::to_string(&set).map_err(|e| {
        err(
            Reason::UnknownSigningKey,
            format!("the provider's JWKS: {e}"),
        )
    })
}

/// Never Debug-printed: both are bearer credentials.
pub struct Tokens {
    pub id_token: String,
    pub access_token: Option<String>,
}

/// The token response's `id_token`, kept as the compact string: [`super::jose`] and
/// [`super::id_token`] check it, each refusal with its own reason code.
#[derive(Clone, Serialize, Deserialize)]
pub struct RawIdToken {
    id_token: Option<String>,
}

impl std::fmt::Debug for RawIdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawIdToken([redacted])")
    }
}

impl ExtraTokenFields for RawIdToken {}

/// No typed ID-token claims: the crate's client is used for the code exchange only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UntypedClaims {}

impl AdditionalClaims for UntypedClaims {}

type RawTokenResponse = StandardTokenResponse<RawIdToken, CoreTokenType>;

impl
    openidconnect::TokenResponse<
        UntypedClaims,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    > for RawTokenResponse
{
    fn id_token(
        &self,
    ) -> Option<
        &IdToken<
            UntypedClaims,
            CoreGenderClaim,
            CoreJweContentEncryptionAlgorithm,
            CoreJwsSigningAlgorithm,
        >,
    > {
        None
    }
}

/// The crate's relying-party client with a token endpoint, answering [`RawTokenResponse`].
type TokenClient = openidconnect::Client<
    UntypedClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    RawTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
>;

/// The code exchange (RFC 6749 §4.1.3 with the PKCE verifier), by the crate's client.
/// `client_secret_basic` form-urlencodes the credentials before Basic encoding (§2.3.1).
pub async fn exchange_code(
    client: &reqwest::Client,
    s: &OidcSettings,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Tokens, OidcError> {
    let bad = |what: &str| err(Reason::TokenExchangeFailed, format!("{what} is not a URL"));
    let rp: TokenClient = openidconnect::Client::new(
        ClientId::new(s.client_id.clone()),
        IssuerUrl::new(s.issuer.clone()).map_err(|_| bad("the issuer"))?,
        JsonWebKeySet::new(Vec::new()),
    )
    .set_client_secret(ClientSecret::new(s.client_secret.clone()))
    .set_auth_type(match s.client_auth {
        ClientAuth::ClientSecretBasic => AuthType::BasicAuth,
        ClientAuth::ClientSecretPost => AuthType::RequestBody,
    })
    .set_token_uri(
        TokenUrl::new(s.metadata.token_endpoint.clone()).map_err(|_| bad("token_endpoint"))?,
    );
    let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|_| bad("redirect_uri"))?;
    let http = |req| call(client, "token endpoint", req);
    let answer = rp
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
        .set_redirect_uri(Cow::Owned(redirect))
        .request_async(&http)
        .await;
    let response = match answer {
        Ok(r) => r,
        Err(RequestTokenError::Request(e)) => return Err(e),
        Err(RequestTokenError::ServerResponse(refusal)) => {
            let mut e = err(
                Reason::TokenExchangeFailed,
                format!(
                    "token endpoint error `{}`",
                    refusal
                        .error()
                        .to_string()
                        .chars()
                        .take(64)
                        .collect::<String>()
                ),
            );
            e.op_message = refusal
                .error_description()
                .map(|d| d.chars().filter(|c| !c.is_control()).take(200).collect());
            return Err(e);
        }
        Err(RequestTokenError::Parse(..)) => {
            return Err(err(
                Reason::TokenExchangeFailed,
                "the token endpoint's answer is not a token response",
            ));
        }
        Err(RequestTokenError::Other(why)) => {
            return Err(err(
                Reason::TokenExchangeFailed,
                format!(
                    "token endpoint: {}",
                    why.chars().take(100).collect::<String>()
                ),
            ));
        }
    };
    let id_token = response.extra_fields().id_token.clone().ok_or_else(|| {
        err(
            Reason::TokenExchangeFailed,
            "the token response has no id_token",
        )
    })?;
    Ok(Tokens {
        id_token,
        access_token: Some(response.access_token().secret().clone()),
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

    /// The crate's own requests (JWKS fetch, code exchange) go through the hook and so
    /// through the address policy: no connection is made to a refused address.
    #[tokio::test]
    async fn the_crates_requests_go_through_the_outbound_client() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let strict = http_client(Duration::from_secs(2), false).unwrap();
        let e = fetch_jwks(&strict, &format!("http://localhost:{port}/jwks"))
            .await
            .unwrap_err();
        assert_eq!(e.reason, Reason::OpUnreachable);
        let settings = OidcSettings {
            issuer: "https://op.test".into(),
            client_id: "c1".into(),
            client_secret: "s".into(),
            client_auth: ClientAuth::ClientSecretBasic,
            scopes: Vec::new(),
            allowed_algorithms: Vec::new(),
            use_userinfo: false,
            clock_skew_secs: 0,
            metadata: ProviderMetadata {
                issuer: "https://op.test".into(),
                authorization_endpoint: "https://op.test/auth".into(),
                token_endpoint: format!("http://localhost:{port}/token"),
                jwks_uri: "https://op.test/jwks".into(),
                userinfo_endpoint: None,
            },
            jwks_json: String::new(),
            jwks_fetched_at: 0,
        };
        let Err(e) = exchange_code(&strict, &settings, "c", "https://sso.test/cb", "v").await
        else {
            panic!("the exchange reached a refused address");
        };
        assert_eq!(e.reason, Reason::OpUnreachable, "{}", e.detail);
        listener.set_nonblocking(true).unwrap();
        assert!(listener.accept().is_err(), "no connection was made");
    }
}
