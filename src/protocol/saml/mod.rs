//! SAML 2.0 service provider: AuthnRequest out, Response in -> [`ValidatedAssertion`].
//!
//! The ACS pipeline is: size cap -> base64 -> strict structural prefilter (no DTD, only
//! same-document references to the Response/Assertion, only c14n and enveloped transforms,
//! allowed algorithms) -> xmlsec verification against the configured certificates only ->
//! values read from xmlsec's verified pre-digest bytes -> time, audience and recipient checks.
mod assertion;
pub mod authn_request;
mod error;
pub mod idp_metadata;
mod ns;
mod prefilter;
pub mod sign;
mod signature;
pub mod sp_metadata;
mod validate;
mod xml;

pub use error::SamlError;
pub use validate::{AcsContext, ValidatedAssertion, validate_response};

/// The SP's own URLs for one connection, as configured in the IdP.
#[derive(Debug, Clone)]
pub struct SpEndpoints {
    pub entity_id: String,
    pub acs_url: String,
    pub metadata_url: String,
}

impl SpEndpoints {
    /// The entity ID is the metadata URL: unique per connection and self-describing.
    pub fn new(base_url: &str, tenant: &str, connection: &str) -> Self {
        let base = format!(
            "{}/t/{tenant}/saml/{connection}",
            base_url.trim_end_matches('/')
        );
        Self {
            entity_id: format!("{base}/metadata"),
            acs_url: format!("{base}/acs"),
            metadata_url: format!("{base}/metadata"),
        }
    }
}
