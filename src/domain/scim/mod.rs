//! SCIM 2.0 (RFC 7643/7644) pieces that are pure: the filter grammar for now.
pub mod filter;
