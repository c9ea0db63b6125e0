//! The authorization request: code flow with PKCE S256, state and nonce, built by the
//! `openidconnect` crate's client (state, nonce and the PKCE verifier are its random values, 256 bits each).
use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
use openidconnect::{
    AuthUrl, ClientId, CsrfToken, IssuerUrl, JsonWebKeySet, Nonce, PkceCodeChallenge, RedirectUrl,
    Scope,
};

use super::error::{OidcError, err};
use crate::domain::reason::Reason;

pub struct Request {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

pub struct Params<'a> {
    pub issuer: &'a str,
    pub authorization_endpoint: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a [String],
}

pub fn build(p: &Params<'_>) -> Result<Request, OidcError> {
    let bad = |what: &str, e: String| err(Reason::OpUnreachable, format!("{what}: {e}"));
    let client = CoreClient::new(
        ClientId::new(p.client_id.to_owned()),
        IssuerUrl::new(p.issuer.to_owned()).map_err(|e| bad("issuer", e.to_string()))?,
        JsonWebKeySet::new(Vec::new()),
    )
    .set_auth_uri(
        AuthUrl::new(p.authorization_endpoint.to_owned())
            .map_err(|e| bad("authorization_endpoint", e.to_string()))?,
    )
    .set_redirect_uri(
        RedirectUrl::new(p.redirect_uri.to_owned())
            .map_err(|e| bad("redirect_uri", e.to_string()))?,
    );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    // The crate asks for `openid` itself.
    let scopes = p
        .scopes
        .iter()
        .filter(|s| s.as_str() != "openid")
        .map(|s| Scope::new(s.clone()));
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            || CsrfToken::new_random_len(32),
            || Nonce::new_random_len(32),
        )
        .add_scopes(scopes)
        .set_pkce_challenge(challenge)
        .url();
    Ok(Request {
        url: url.into(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    })
}

#[cfg(test)]
mod tests {
    use openidconnect::{PkceCodeChallenge, PkceCodeVerifier};

    #[test]
    fn rfc7636_example_challenge() {
        let verifier =
            PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned());
        assert_eq!(
            PkceCodeChallenge::from_code_verifier_sha256(&verifier).as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_request_carries_code_flow_pkce_state_and_nonce() {
        let scopes = ["openid".to_owned(), "email".to_owned()];
        let r = super::build(&super::Params {
            issuer: "https://op.test",
            authorization_endpoint: "https://op.test/auth?x=1",
            client_id: "c1",
            redirect_uri: "https://sso.test/cb",
            scopes: &scopes,
        })
        .unwrap();
        let url = url::Url::parse(&r.url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["x"], "1");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "c1");
        assert_eq!(q["redirect_uri"], "https://sso.test/cb");
        assert_eq!(q["scope"], "openid email");
        assert_eq!(q["state"], r.state);
        assert_eq!(q["nonce"], r.nonce);
        assert_eq!(q["code_challenge_method"], "S256");
        let verifier = PkceCodeVerifier::new(r.pkce_verifier.clone());
        assert_eq!(
            q["code_challenge"],
            PkceCodeChallenge::from_code_verifier_sha256(&verifier).as_str()
        );
        assert!(r.state.len() == 43 && r.nonce.len() == 43 && r.pkce_verifier.len() == 43);
    }
}
