//! Pure types and decisions: no I/O, no clock reads (time is passed in).
pub mod claims;
pub mod client;
pub mod connection;
pub mod email;
pub mod history;
pub mod ids;
pub mod iwms;
pub mod oidc;
pub mod provisioning;
pub mod reason;
pub mod return_to;
pub mod scim;
pub mod slug;
pub mod staleness;
pub mod tenant;
pub mod user;
pub mod user_event;
