//! HTTP surfaces. Handlers parse input, call a service, and render; they hold no decisions.
pub mod api;
pub mod assets;
pub mod body;
pub mod client_addr;
pub mod console;
pub mod error;
pub mod forward_auth;
pub mod health;
pub mod login;
pub mod middleware;
pub mod oidc;
pub mod pages;
pub mod rate_limit;
pub mod request_id;
pub mod saml;
pub mod scim;
pub mod session;
pub mod state;

pub use client_addr::client_addr;
pub use error::HttpError;
pub use state::AppState;
