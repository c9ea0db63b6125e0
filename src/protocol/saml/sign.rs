//! Signing a document that carries ds:Signature templates (used by the development IdP).
use samael::crypto::{CryptoProvider, XmlSec};

#[derive(Debug, thiserror::Error)]
#[error("signing failed: {0}")]
pub struct SignError(String);

/// Fills every empty ds:Signature template in `xml` (references by `ID`) with `private_key_der`.
pub fn sign_template(xml: &str, private_key_der: &[u8]) -> Result<String, SignError> {
    XmlSec::sign_xml(xml, private_key_der).map_err(|e| SignError(e.to_string()))
}
