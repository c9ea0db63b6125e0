//! Use cases. Each runs its storage work in one transaction and calls the pure decisions in
//! `domain`; protocol adapters hand them validated input.
pub mod admin;
pub mod discovery;
pub mod login;
pub mod maintenance;
pub mod oidc_login;
pub mod outbox;
pub mod scim;
pub mod session;
pub mod stale;
