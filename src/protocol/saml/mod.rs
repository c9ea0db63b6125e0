//! SAML 2.0 service provider: AuthnRequest out, Response in -> [`ValidatedAssertion`].
//!
//! The ACS pipeline is: size cap -> base64 -> UTF-8 -> one strict parse into one tree
//! ([`xml`]) -> structural checks on that tree (root, forbidden constructs, where signatures
//! stand and what they say) -> every signature verified in Rust on that tree ([`dsig`]:
//! exclusive c14n, the connection's certificates only) -> values read from the signed
//! subtree of that tree -> time, audience and recipient checks. No other parser, and no C
//! XML code, ever sees a received message.
mod assertion;
pub mod authn_request;
pub mod certificate;
pub mod dsig;
mod error;
pub mod idp_metadata;
mod ns;
pub mod sign;
pub mod sp_metadata;
mod structure;
mod validate;
pub mod xml;

pub use error::SamlError;
pub use validate::{
    AcsContext, SignedParts, ValidatedAssertion, validate_response, verify_signatures,
};

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
