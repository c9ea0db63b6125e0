//! XML-DSig on the one parsed tree, in Rust: a signature's [`shape`] is read and limited to
//! what SAML IdPs send, then [`verify`]'d with the connection's keys. The signer fills
//! templates with the same code.
pub mod algorithms;
pub mod shape;
pub mod sign;
pub mod verify;

#[cfg(test)]
mod tests;

pub use algorithms::signature_uri;
pub use shape::{Mode, Shape};
pub use verify::{Keys, verify};
