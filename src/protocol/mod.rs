//! Protocol adapters: turn what an IdP sent into a validated identity. No storage here.
pub mod address;
pub mod body;
pub mod oidc;
pub mod outbound;
pub mod saml;
