//! Filling ds:Signature templates: the development IdP, the test fixtures and the benches
//! sign with the code the verifier checks with (the same tree, shape reader and c14n).
//! Each template is signed deepest first, so an outer signature covers a signed inner one;
//! values are spliced into the template text, which is parsed again for the next step.
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::hash;
use openssl::pkey::{Id, PKey, Private};
use openssl::sign::Signer;

use super::algorithms::KeyKind;
use super::shape::{self, Mode, Shape};
use crate::protocol::saml::ns::DSIG;
use crate::protocol::saml::xml::{Document, Limits, NodeId, c14n, parse_with};

#[derive(Debug, thiserror::Error)]
#[error("signing failed: {0}")]
pub struct SignError(String);

fn fail(what: impl std::fmt::Display) -> SignError {
    SignError(what.to_string())
}

/// Signing is done on our own documents, which may be bigger than a received one.
const LIMITS: Limits = Limits {
    max_bytes: 16 * 1024 * 1024,
    max_depth: 64,
    max_attributes: 64,
    max_name_len: 200,
    max_nodes: 1_000_000,
};

/// Fills every ds:Signature template of `xml` whose DigestValue is empty, with the RSA or
/// EC key `private_key_der`. Each template must reference its parent by `#ID`.
pub fn sign_template(xml: &str, private_key_der: &[u8]) -> Result<String, SignError> {
    let key = PKey::private_key_from_der(private_key_der).map_err(fail)?;
    let mut text = xml.to_owned();
    while let Some(signed) = sign_next(&text, &key)? {
        text = signed;
    }
    Ok(text)
}

/// `text` with its deepest unsigned template signed, or None when none is left.
fn sign_next(text: &str, key: &PKey<Private>) -> Result<Option<String>, SignError> {
    let doc = parse_with(text, LIMITS).map_err(fail)?;
    let Some((nth, shape)) = deepest_unsigned(&doc)? else {
        return Ok(None);
    };
    let content = c14n::exclusive(
        &doc,
        shape.signed,
        Some(shape.signature),
        &shape.reference_prefixes,
    )
    .map_err(|_| fail("the signed element's canonical form is too large"))?;
    let digest = hash(shape.digest.message_digest(), &content).map_err(fail)?;
    let text = splice(text, &doc, shape.digest_value, &STANDARD.encode(digest))?;

    // SignedInfo now holds the digest: read the template again from the new text.
    let doc = parse_with(&text, LIMITS).map_err(fail)?;
    let sig = signatures(&doc)
        .nth(nth)
        .ok_or_else(|| fail("template vanished"))?;
    let shape = shape::read(&doc, sig, Mode::Sign).map_err(fail)?;
    let signed_info = c14n::exclusive(&doc, shape.signed_info, None, &shape.signed_info_prefixes)
        .map_err(|_| fail("SignedInfo's canonical form is too large"))?;
    let mut signer = Signer::new(shape.method.digest.message_digest(), key).map_err(fail)?;
    let der = signer.sign_oneshot_to_vec(&signed_info).map_err(fail)?;
    let value = match (shape.method.key, key.id()) {
        (KeyKind::Rsa, Id::RSA) => der,
        (KeyKind::Ecdsa, Id::EC) => ecdsa_der_to_raw(&der, key)?,
        _ => {
            return Err(fail(
                "the key does not match the template's SignatureMethod",
            ));
        }
    };
    splice(&text, &doc, shape.signature_value, &STANDARD.encode(value)).map(Some)
}

/// The deepest template whose DigestValue is empty (an outer signature covers a signed inner
/// one), with its position among the document's signatures.
fn deepest_unsigned<'d>(doc: &'d Document<'_>) -> Result<Option<(usize, Shape<'d>)>, SignError> {
    let mut best: Option<(usize, usize, Shape<'d>)> = None;
    for (nth, sig) in signatures(doc).enumerate() {
        let shape = shape::read(doc, sig, Mode::Sign).map_err(fail)?;
        if !doc.text(shape.digest_value).is_empty() {
            continue;
        }
        let depth = std::iter::successors(Some(sig), |n| doc.parent(*n)).count();
        if best.as_ref().is_none_or(|(d, _, _)| depth > *d) {
            best = Some((depth, nth, shape));
        }
    }
    Ok(best.map(|(_, nth, shape)| (nth, shape)))
}

fn signatures<'d>(doc: &'d Document<'_>) -> impl Iterator<Item = NodeId> + 'd {
    doc.descendants(doc.root())
        .filter(|n| doc.is(*n, DSIG, "Signature"))
}

/// `text` with the content of element `node` replaced by `value` (base64: nothing to escape).
fn splice(text: &str, doc: &Document<'_>, node: NodeId, value: &str) -> Result<String, SignError> {
    let e = doc.element(node).ok_or_else(|| fail("not an element"))?;
    let mut out = String::with_capacity(text.len() + value.len() + 32);
    match &e.content {
        Some(content) => {
            out.push_str(&text[..content.start]);
            out.push_str(value);
            out.push_str(&text[content.end..]);
        }
        None => {
            let q = e.qname();
            out.push_str(&text[..e.span.start]);
            out.push_str(&format!("<{q}>{value}</{q}>"));
            out.push_str(&text[e.span.end..]);
        }
    }
    Ok(out)
}

/// openssl's DER ECDSA signature as XML-DSig's r || s, each padded to the curve's size.
fn ecdsa_der_to_raw(der: &[u8], key: &PKey<Private>) -> Result<Vec<u8>, SignError> {
    let sig = EcdsaSig::from_der(der).map_err(fail)?;
    let bits = key.ec_key().map_err(fail)?.group().degree() as usize;
    let size = bits.div_ceil(8);
    let mut out = Vec::with_capacity(size * 2);
    for n in [sig.r(), sig.s()] {
        let v = n.to_vec();
        out.extend(std::iter::repeat_n(0u8, size.saturating_sub(v.len())));
        out.extend_from_slice(&v);
    }
    Ok(out)
}
