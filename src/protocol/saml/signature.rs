//! XML signature verification through samael/libxmlsec1, against configured keys only.
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, CryptoProvider, ReduceMode, XmlSec,
};

use super::error::{SamlError, err};
use crate::domain::connection::SignatureAlgorithm;
use crate::domain::reason::Reason;

fn to_samael(a: SignatureAlgorithm) -> AllowedSignatureAlgorithm {
    match a {
        SignatureAlgorithm::RsaSha256 => AllowedSignatureAlgorithm::RsaSha256,
        SignatureAlgorithm::RsaSha384 => AllowedSignatureAlgorithm::RsaSha384,
        SignatureAlgorithm::RsaSha512 => AllowedSignatureAlgorithm::RsaSha512,
        SignatureAlgorithm::EcdsaSha256 => AllowedSignatureAlgorithm::EcdsaSha256,
        SignatureAlgorithm::EcdsaSha384 => AllowedSignatureAlgorithm::EcdsaSha384,
        SignatureAlgorithm::EcdsaSha512 => AllowedSignatureAlgorithm::EcdsaSha512,
    }
}

/// Verifies every signature in `xml` with one of `certs` (never a key carried in the
/// message) and returns the verified, canonicalized bytes of the signed element: the only
/// bytes values are read from.
pub fn verified_content(
    xml: &str,
    certs: &[Vec<u8>],
    allowed: &[SignatureAlgorithm],
) -> Result<String, SamlError> {
    // samael skips verification entirely when handed no certificate.
    if certs.is_empty() {
        return Err(err(
            Reason::NoIdpCertificate,
            "the connection has no IdP signing certificate",
        ));
    }
    let certs: Vec<CertificateDer> = certs.iter().cloned().map(CertificateDer::from).collect();
    let allowed: Vec<_> = allowed.iter().copied().map(to_samael).collect();
    XmlSec::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &certs,
        ReduceMode::PreDigest,
        Some(&allowed),
    )
    .map_err(|e| {
        err(
            Reason::InvalidSignature,
            format!("signature verification failed: {e}"),
        )
    })
}
