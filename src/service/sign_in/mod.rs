//! Signing in through a tenant's IdP, SAML or OpenID Connect. Each protocol module starts a
//! sign-in (a pending request bound to the browser) and finishes it: the protocol step
//! (validated identity, no database), then one transaction that binds the answer to its
//! request, decides in `provisioning` and writes, and records the outcome in the history.
//! A console test sign-in runs the same path and ends in a `test_report` instead.
//!
//! core ← provisioning ← saml, oidc; test_report is a pure description they hand back.
pub mod core;
pub mod oidc;
pub mod provisioning;
pub mod saml;
pub mod test_report;

pub use self::core::{
    CompleteError, Completed, Failure, OIDC_BINDING_PREFIX, PendingBound, SAML_BINDING_PREFIX,
    SignedIn, StartError, Started, binding_cookie_name,
};
pub use self::test_report::TestReport;
