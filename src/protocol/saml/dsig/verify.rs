//! Checking one signature whose [`Shape`] was read: the Reference's digest over the exclusive
//! c14n of the signed element (the signature left out), then the signature over the
//! exclusive c14n of SignedInfo, with a key from the connection's certificates only.
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::hash;
use openssl::memcmp;
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;

use super::algorithms::{KeyKind, SignatureMethod};
use super::shape::Shape;
use crate::domain::reason::Reason;
use crate::protocol::saml::error::{SamlError, err};
use crate::protocol::saml::xml::{Document, NodeId, c14n};

/// The public keys of a connection's configured certificates: the only keys a signature
/// may verify with (a KeyInfo in the message is never read).
pub struct Keys(Vec<PKey<Public>>);

impl Keys {
    pub fn from_der_certificates(certs: &[Vec<u8>]) -> Result<Self, SamlError> {
        let keys = certs
            .iter()
            .filter_map(|der| public_key(der))
            .collect::<Vec<_>>();
        if keys.is_empty() {
            return Err(err(
                Reason::NoIdpCertificate,
                "the connection has no usable IdP signing certificate",
            ));
        }
        Ok(Self(keys))
    }
}

/// Public keys of configured certificates, by certificate. Decoding a certificate costs more
/// than verifying a signature with its key, and the same few certificates come with every
/// response; only configured certificates ever get here, so the map stays small (it is
/// emptied past [`CACHED_KEYS`] anyway).
static KEY_CACHE: LazyLock<Mutex<HashMap<Vec<u8>, PKey<Public>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const CACHED_KEYS: usize = 1024;

fn public_key(der: &[u8]) -> Option<PKey<Public>> {
    if let Some(k) = KEY_CACHE.lock().ok()?.get(der) {
        return Some(k.clone());
    }
    let key = openssl::x509::X509::from_der(der).ok()?.public_key().ok()?;
    let mut cache = KEY_CACHE.lock().ok()?;
    if cache.len() >= CACHED_KEYS {
        cache.clear();
    }
    cache.insert(der.to_vec(), key.clone());
    Some(key)
}

fn too_large(doc: &Document<'_>) -> SamlError {
    err(
        Reason::ResponseTooLarge,
        format!(
            "the signed content's canonical form exceeds {} bytes",
            c14n::max_output(doc)
        ),
    )
}

fn invalid(detail: impl Into<String>) -> SamlError {
    err(Reason::InvalidSignature, detail)
}

pub fn verify(doc: &Document<'_>, shape: &Shape<'_>, keys: &Keys) -> Result<(), SamlError> {
    let expected = base64_value(doc, shape.digest_value, "DigestValue")?;
    let content = c14n::exclusive(
        doc,
        shape.signed,
        Some(shape.signature),
        &shape.reference_prefixes,
    )
    .map_err(|_| too_large(doc))?;
    let actual = hash(shape.digest.message_digest(), &content)
        .map_err(|_| invalid("the digest could not be computed"))?;
    if expected.len() != actual.len() || !memcmp::eq(&expected, &actual) {
        return Err(invalid("the signed content does not match its digest"));
    }
    let signature = base64_value(doc, shape.signature_value, "SignatureValue")?;
    let signed_info = c14n::exclusive(doc, shape.signed_info, None, &shape.signed_info_prefixes)
        .map_err(|_| too_large(doc))?;
    if keys
        .0
        .iter()
        .any(|k| verifies(k, shape.method, &signed_info, &signature))
    {
        Ok(())
    } else {
        Err(invalid(
            "the signature does not verify with any configured certificate",
        ))
    }
}

fn verifies(key: &PKey<Public>, method: SignatureMethod, data: &[u8], sig: &[u8]) -> bool {
    let der;
    let sig = match (method.key, key.id()) {
        (KeyKind::Rsa, Id::RSA) => sig,
        (KeyKind::Ecdsa, Id::EC) => match raw_ecdsa_to_der(key, sig) {
            Some(d) => {
                der = d;
                &der
            }
            None => return false,
        },
        _ => return false,
    };
    Verifier::new(method.digest.message_digest(), key)
        .and_then(|mut v| v.verify_oneshot(sig, data))
        .unwrap_or(false)
}

/// XML-DSig carries ECDSA signatures as r || s, each exactly the curve's size (RFC 4050);
/// openssl takes DER. Any other length is refused, so one signature has one encoding.
fn raw_ecdsa_to_der(key: &PKey<Public>, sig: &[u8]) -> Option<Vec<u8>> {
    let bits = key.ec_key().ok()?.group().degree() as usize;
    let size = bits.div_ceil(8);
    if sig.len() != 2 * size {
        return None;
    }
    let (r, s) = sig.split_at(size);
    let r = BigNum::from_slice(r).ok()?;
    let s = BigNum::from_slice(s).ok()?;
    EcdsaSig::from_private_components(r, s).ok()?.to_der().ok()
}

/// Base64 text of a DigestValue or SignatureValue; XML whitespace (line breaks, `&#13;`)
/// between the characters is allowed, anything else is not.
fn base64_value(doc: &Document<'_>, node: NodeId, what: &str) -> Result<Vec<u8>, SamlError> {
    if doc.has_element_children(node) {
        return Err(invalid(format!("{what} holds markup")));
    }
    let compact: Vec<u8> = doc
        .text(node)
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .collect();
    STANDARD
        .decode(&compact)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid(format!("{what} is not base64")))
}
