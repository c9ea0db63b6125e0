//! The authorization request: code flow with PKCE S256, state and nonce.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use url::Url;

use super::error::{OidcError, err};
use crate::domain::reason::Reason;

pub struct Request {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub fn build(
    authorization_endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[String],
) -> Result<Request, OidcError> {
    let mut url = Url::parse(authorization_endpoint).map_err(|e| {
        err(
            Reason::OpUnreachable,
            format!("authorization_endpoint: {e}"),
        )
    })?;
    let (state, nonce, pkce_verifier) = (
        crate::random::token(),
        crate::random::token(),
        crate::random::token(),
    );
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &pkce_challenge(&pkce_verifier))
        .append_pair("code_challenge_method", "S256");
    Ok(Request {
        url: url.into(),
        state,
        nonce,
        pkce_verifier,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc7636_example_challenge() {
        assert_eq!(
            super::pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
