//! The structural checks on the parsed response, before any signature is checked: the root,
//! constructs no SAML response needs, where signatures may stand and what they may say,
//! and the unsigned envelope values that are checked "signed or not".
use super::dsig::{self, Mode, Shape};
use super::error::{SamlError, err};
use super::ns;
use super::xml::{Document, NodeId};
use crate::domain::connection::SignatureAlgorithm;
use crate::domain::reason::Reason;

/// What the (possibly unsigned) Response element says.
#[derive(Debug, Clone)]
pub struct Envelope<'d> {
    pub destination: Option<&'d str>,
    pub in_response_to: Option<&'d str>,
    pub issuer: Option<String>,
    pub status_code: &'d str,
    pub status_detail: Option<&'d str>,
    pub status_message: Option<String>,
    /// Every saml:Assertion anywhere in the document.
    pub assertion_count: usize,
    /// The assertion that is a child of the Response, when there is exactly one.
    pub assertion: Option<NodeId>,
    pub response_signature: Option<Shape<'d>>,
    pub assertion_signature: Option<Shape<'d>>,
}

fn forbidden(what: impl Into<String>) -> SamlError {
    err(Reason::ForbiddenXmlConstruct, what)
}

pub fn inspect<'d>(
    doc: &'d Document<'_>,
    allowed: &[SignatureAlgorithm],
) -> Result<Envelope<'d>, SamlError> {
    let root = doc.root();
    if !doc.is(root, ns::PROTOCOL, "Response") {
        return Err(err(
            Reason::MalformedXml,
            "the root element is not samlp:Response",
        ));
    }
    let mut assertion_count = 0;
    let mut signatures = Vec::new();
    for node in doc.descendants(root) {
        let Some(e) = doc.element(node) else {
            continue;
        };
        match (doc.namespace(e.namespace), e.local) {
            (Some(ns::DSIG), "Object" | "Manifest" | "RetrievalMethod") => {
                return Err(forbidden(format!("ds:{} is not allowed", e.local)));
            }
            (Some(ns::DSIG), "Signature") => signatures.push(node),
            (Some(ns::XSLT), _) => return Err(forbidden("XSLT content is not allowed")),
            (Some(ns::ASSERTION), "EncryptedAssertion" | "EncryptedID" | "EncryptedAttribute") => {
                return Err(err(
                    Reason::EncryptedAssertionUnsupported,
                    format!("{} is not supported", e.local),
                ));
            }
            (Some(ns::ASSERTION), "Assertion") => assertion_count += 1,
            _ => {}
        }
    }
    let top: Vec<NodeId> = doc
        .children_named(root, ns::ASSERTION, "Assertion")
        .collect();
    let assertion = match top.as_slice() {
        [one] => Some(*one),
        _ => None,
    };

    let mut response_signature = None;
    let mut assertion_signature = None;
    for sig in signatures {
        let parent = doc.parent(sig).unwrap_or(root);
        let slot = if parent == root {
            &mut response_signature
        } else if doc.is(parent, ns::ASSERTION, "Assertion") && doc.parent(parent) == Some(root) {
            if Some(parent) != assertion {
                continue; // more than one assertion: refused as such before any signature
            }
            &mut assertion_signature
        } else {
            return Err(forbidden(
                "a signature outside the Response or its Assertion",
            ));
        };
        if slot.is_some() {
            return Err(forbidden("two signatures on one element"));
        }
        let shape = dsig::shape::read(doc, sig, Mode::Verify)?;
        if !shape.method.allowed_by(allowed) {
            return Err(err(
                Reason::WeakAlgorithm,
                "the signature algorithm is not allowed for this connection",
            ));
        }
        *slot = Some(shape);
    }

    let status = doc.child(root, ns::PROTOCOL, "Status");
    let top_code = status.and_then(|s| doc.child(s, ns::PROTOCOL, "StatusCode"));
    let status_code = top_code
        .and_then(|c| doc.attribute(c, "Value"))
        .unwrap_or_default();
    let status_detail = top_code
        .and_then(|c| doc.child(c, ns::PROTOCOL, "StatusCode"))
        .and_then(|c| doc.attribute(c, "Value"));
    // Unsigned and shown to the user: kept short (the page escapes it).
    let status_message = status
        .and_then(|s| doc.child(s, ns::PROTOCOL, "StatusMessage"))
        .map(|m| {
            doc.text(m)
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect()
        });

    Ok(Envelope {
        destination: doc.attribute(root, "Destination"),
        in_response_to: doc.attribute(root, "InResponseTo"),
        issuer: doc
            .child(root, ns::ASSERTION, "Issuer")
            .map(|i| doc.text(i)),
        status_code,
        status_detail,
        status_message,
        assertion_count,
        assertion,
        response_signature,
        assertion_signature,
    })
}
