//! HMAC-SHA256 (RFC 2104), for session-token hashes and IWMS request signatures: the `hmac`
//! crate, the one HMAC implementation in ssogate (the `openidconnect` crate verifies HS256 ID
//! tokens with it too).
use hmac::{KeyInit, Mac};
use sha2::Sha256;

pub fn sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length (longer ones are hashed first).
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc_4231_test_cases_2_and_6() {
        assert_eq!(
            hex::encode(super::sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(super::sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
