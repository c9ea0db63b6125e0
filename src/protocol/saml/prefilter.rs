//! Structural checks on the raw response before xmlsec sees it. libxmlsec1 would otherwise
//! dereference external Reference URIs, run XSLT or follow RetrievalMethod while verifying,
//! before it knows whether the signature is good.
use std::collections::HashSet;

use roxmltree::{Document, Node};

use super::error::{SamlError, err};
use super::ns;
use super::xml::{child, children, is, text};
use crate::domain::connection::SignatureAlgorithm;
use crate::domain::reason::Reason;

/// What the unsigned envelope says; only used for checks that hold "signed or not".
#[derive(Debug, Clone)]
pub struct Envelope {
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub issuer: Option<String>,
    pub status_code: String,
    pub status_detail: Option<String>,
    pub status_message: Option<String>,
    pub assertion_count: usize,
    pub response_signed: bool,
    pub assertion_signed: bool,
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

fn forbidden(what: &str) -> SamlError {
    err(Reason::ForbiddenXmlConstruct, what.to_owned())
}

pub fn inspect(doc: &Document<'_>, allowed: &[SignatureAlgorithm]) -> Result<Envelope, SamlError> {
    let root = doc.root_element();
    if !is(&root, ns::PROTOCOL, "Response") {
        return Err(err(
            Reason::MalformedXml,
            "the root element is not samlp:Response",
        ));
    }
    let mut ids = HashSet::new();
    let mut assertion_count = 0;
    for node in doc.descendants() {
        if node.is_pi() {
            return Err(forbidden("processing instruction"));
        }
        if !node.is_element() {
            continue;
        }
        let tag = node.tag_name();
        match (tag.namespace(), tag.name()) {
            (Some(ns::DSIG), "Object" | "Manifest" | "RetrievalMethod") => {
                return Err(forbidden(&format!("ds:{} is not allowed", tag.name())));
            }
            (Some(ns::XSLT), _) => return Err(forbidden("XSLT content is not allowed")),
            (Some(ns::ASSERTION), "EncryptedAssertion" | "EncryptedID" | "EncryptedAttribute") => {
                return Err(err(
                    Reason::EncryptedAssertionUnsupported,
                    format!("{} is not supported", tag.name()),
                ));
            }
            (Some(ns::ASSERTION), "Assertion") => assertion_count += 1,
            _ => {}
        }
        for attr in node.attributes() {
            // samael registers any attribute named ID, whatever its namespace; only the plain
            // one is legitimate in SAML, and xml:id has no business here either.
            if attr.name() == "ID" && attr.namespace().is_some()
                || attr.name() == "id"
                    && attr.namespace() == Some("http://www.w3.org/XML/1998/namespace")
            {
                return Err(forbidden("namespaced ID attribute"));
            }
            if attr.name() == "ID" && !ids.insert(attr.value()) {
                return Err(forbidden("duplicate ID attribute"));
            }
        }
    }

    let mut response_signed = false;
    let mut assertion_signed = false;
    for sig in doc.descendants().filter(|n| is(n, ns::DSIG, "Signature")) {
        let parent = sig
            .parent_element()
            .ok_or_else(|| forbidden("detached signature"))?;
        let parent_is_assertion =
            is(&parent, ns::ASSERTION, "Assertion") && parent.parent_element() == Some(root);
        if parent != root && !parent_is_assertion {
            return Err(forbidden(
                "a signature outside the Response or its Assertion",
            ));
        }
        check_signature(sig, parent, allowed)?;
        if parent == root {
            response_signed = true;
        } else {
            assertion_signed = true;
        }
    }

    let status = child(root, ns::PROTOCOL, "Status");
    let top_code = status.and_then(|s| child(s, ns::PROTOCOL, "StatusCode"));
    let status_code = top_code
        .and_then(|c| c.attribute("Value"))
        .unwrap_or_default()
        .to_owned();
    let status_detail = top_code
        .and_then(|c| child(c, ns::PROTOCOL, "StatusCode"))
        .and_then(|c| c.attribute("Value"))
        .map(str::to_owned);
    // Unsigned and shown to the user: kept short (the page escapes it).
    let status_message = status
        .and_then(|s| child(s, ns::PROTOCOL, "StatusMessage"))
        .map(|m| {
            text(m)
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect()
        });

    Ok(Envelope {
        destination: root.attribute("Destination").map(str::to_owned),
        in_response_to: root.attribute("InResponseTo").map(str::to_owned),
        issuer: child(root, ns::ASSERTION, "Issuer").map(text),
        status_code,
        status_detail,
        status_message,
        assertion_count,
        response_signed,
        assertion_signed,
    })
}

/// One Reference, to the signature's own parent by same-document `#ID`, with allowed
/// transforms and algorithms only.
fn check_signature(
    sig: Node<'_, '_>,
    parent: Node<'_, '_>,
    allowed: &[SignatureAlgorithm],
) -> Result<(), SamlError> {
    let signed_info = child(sig, ns::DSIG, "SignedInfo")
        .ok_or_else(|| forbidden("signature without SignedInfo"))?;
    let c14n = child(signed_info, ns::DSIG, "CanonicalizationMethod")
        .and_then(|n| n.attribute("Algorithm"))
        .unwrap_or_default();
    if !ns::ALLOWED_C14N.contains(&c14n) {
        return Err(err(
            Reason::ForbiddenTransform,
            format!("canonicalization `{c14n}` is not allowed"),
        ));
    }
    let method = child(signed_info, ns::DSIG, "SignatureMethod")
        .and_then(|n| n.attribute("Algorithm"))
        .unwrap_or_default();
    if !allowed.iter().any(|a| signature_uri(*a) == method) {
        return Err(err(
            Reason::WeakAlgorithm,
            format!("signature algorithm `{method}` is not allowed for this connection"),
        ));
    }
    let refs: Vec<_> = children(signed_info, ns::DSIG, "Reference").collect();
    let [reference] = refs.as_slice() else {
        return Err(err(
            Reason::InvalidReference,
            format!("expected exactly one Reference, found {}", refs.len()),
        ));
    };
    let uri = reference.attribute("URI").unwrap_or_default();
    let parent_id = parent.attribute("ID").unwrap_or_default();
    if parent_id.is_empty() || uri.strip_prefix('#') != Some(parent_id) {
        return Err(err(
            Reason::InvalidReference,
            "the Reference must be a same-document #ID of the signed Response or Assertion",
        ));
    }
    if let Some(transforms) = child(*reference, ns::DSIG, "Transforms") {
        for t in transforms.children().filter(|n| n.is_element()) {
            let alg = t.attribute("Algorithm").unwrap_or_default();
            if !is(&t, ns::DSIG, "Transform")
                || !ns::ALLOWED_TRANSFORMS.contains(&alg)
                || has_element_children(t)
            {
                return Err(err(
                    Reason::ForbiddenTransform,
                    format!("transform `{alg}` is not allowed"),
                ));
            }
        }
    }
    let digest = child(*reference, ns::DSIG, "DigestMethod")
        .and_then(|n| n.attribute("Algorithm"))
        .unwrap_or_default();
    if !ns::ALLOWED_DIGESTS.contains(&digest) {
        return Err(err(
            Reason::WeakAlgorithm,
            format!("digest algorithm `{digest}` is not allowed"),
        ));
    }
    Ok(())
}

/// Exclusive c14n may carry an InclusiveNamespaces child; nothing else (XPath, XSLT) may.
fn has_element_children(t: Node<'_, '_>) -> bool {
    t.children().filter(|c| c.is_element()).any(|c| {
        !(c.tag_name().name() == "InclusiveNamespaces"
            && c.tag_name().namespace() == Some("http://www.w3.org/2001/10/xml-exc-c14n#"))
    })
}
