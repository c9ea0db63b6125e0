//! The algorithm URIs XML-DSig names, as types. Parsing a URI never says it is allowed:
//! the verifier's policy does ([`Digest::is_strong`], [`SignatureMethod::allowed_by`]).
use openssl::hash::MessageDigest;

use crate::domain::connection::SignatureAlgorithm;

pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// Only ever signed (refusal fixtures); never verified.
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    pub fn from_uri(uri: &str) -> Option<Self> {
        Some(match uri {
            "http://www.w3.org/2000/09/xmldsig#sha1" => Self::Sha1,
            "http://www.w3.org/2001/04/xmlenc#sha256" => Self::Sha256,
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => Self::Sha384,
            "http://www.w3.org/2001/04/xmlenc#sha512" => Self::Sha512,
            _ => return None,
        })
    }

    pub fn uri(self) -> &'static str {
        match self {
            Self::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            Self::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            Self::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
            Self::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }

    pub fn is_strong(self) -> bool {
        self != Self::Sha1
    }

    pub fn message_digest(self) -> MessageDigest {
        match self {
            Self::Sha1 => MessageDigest::sha1(),
            Self::Sha256 => MessageDigest::sha256(),
            Self::Sha384 => MessageDigest::sha384(),
            Self::Sha512 => MessageDigest::sha512(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSASSA-PKCS1-v1_5.
    Rsa,
    /// ECDSA, the signature value being r || s (RFC 4050).
    Ecdsa,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureMethod {
    pub key: KeyKind,
    pub digest: Digest,
}

impl SignatureMethod {
    pub fn from_uri(uri: &str) -> Option<Self> {
        let (key, digest) = match uri {
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => (KeyKind::Rsa, Digest::Sha1),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1" => (KeyKind::Ecdsa, Digest::Sha1),
            _ => {
                let alg = SignatureAlgorithm::ALL
                    .into_iter()
                    .find(|a| signature_uri(*a) == uri)?;
                return Some(Self::from(alg));
            }
        };
        Some(Self { key, digest })
    }

    /// Whether the connection's allow-list names this method (SHA-1 it never does).
    pub fn allowed_by(self, allowed: &[SignatureAlgorithm]) -> bool {
        allowed.iter().any(|a| Self::from(*a) == self)
    }
}

impl From<SignatureAlgorithm> for SignatureMethod {
    fn from(a: SignatureAlgorithm) -> Self {
        use SignatureAlgorithm::*;
        let (key, digest) = match a {
            RsaSha256 => (KeyKind::Rsa, Digest::Sha256),
            RsaSha384 => (KeyKind::Rsa, Digest::Sha384),
            RsaSha512 => (KeyKind::Rsa, Digest::Sha512),
            EcdsaSha256 => (KeyKind::Ecdsa, Digest::Sha256),
            EcdsaSha384 => (KeyKind::Ecdsa, Digest::Sha384),
            EcdsaSha512 => (KeyKind::Ecdsa, Digest::Sha512),
        };
        Self { key, digest }
    }
}

pub fn signature_uri(alg: SignatureAlgorithm) -> &'static str {
    match alg {
        SignatureAlgorithm::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        SignatureAlgorithm::RsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        SignatureAlgorithm::RsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        SignatureAlgorithm::EcdsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        SignatureAlgorithm::EcdsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        SignatureAlgorithm::EcdsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    }
}
