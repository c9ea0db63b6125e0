//! OpenID Connect relying party: discovery, authorization URL, code exchange, ID-token and
//! userinfo validation -> [`VerifiedIdentity`]. Network calls live in `client`; everything
//! else is pure and takes `now`.
pub mod authorize;
pub mod client;
pub mod discovery;
mod error;
pub mod id_token;
pub mod jose;

use std::collections::BTreeMap;

pub use error::OidcError;

/// What a provider vouched for, after every check.
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    pub subject: String,
    /// String-valued claims of the ID token, completed by userinfo when enabled.
    pub claims: BTreeMap<String, Vec<String>>,
    /// `email_verified` as asserted; None when the provider did not say.
    pub email_verified: Option<bool>,
}

/// The redirect URI registered at the provider for one connection.
pub fn redirect_uri(base_url: &str, tenant: &str, connection: &str) -> String {
    format!(
        "{}/t/{tenant}/oidc/{connection}/callback",
        base_url.trim_end_matches('/')
    )
}
