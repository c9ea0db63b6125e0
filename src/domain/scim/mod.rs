//! SCIM 2.0 (RFC 7643/7644) pieces that are pure: schemas, canonical resources, filters,
//! PATCH, and the mapping between SCIM users and ssogate's user record.
pub mod error;
pub mod eval;
pub mod filter;
pub mod group;
pub mod normalize;
pub mod patch;
pub mod path;
pub mod query;
pub mod schema;
pub mod user;
