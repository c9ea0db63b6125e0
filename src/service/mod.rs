//! Use cases. Each runs its storage work in one transaction and calls the pure decisions in
//! `domain`; protocol adapters hand them validated input.
pub mod admin;
pub mod discovery;
pub mod gauges;
pub mod maintenance;
pub mod outbox;
pub mod rate_limit;
pub mod roles;
pub mod scim;
pub mod session;
pub mod sign_in;
pub mod stale;
pub mod verify_cache;

/// A bearer token's last_used_at (SCIM and admin API) is written at most this often, so
/// reads stay reads.
pub(crate) const TOKEN_TOUCH_EVERY_SECS: i64 = 60;
