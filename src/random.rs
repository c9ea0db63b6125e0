//! Unguessable values: request IDs, relay states, session tokens.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;

pub fn bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rng().fill_bytes(&mut b);
    b
}

/// 256 random bits, URL-safe.
pub fn token() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<32>())
}

/// A SAML ID (an NCName, so it must not start with a digit) with 160 random bits.
pub fn saml_id() -> String {
    format!("_{}", hex::encode(bytes::<20>()))
}
