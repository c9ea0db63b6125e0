//! What one ds:Signature says, read into types, with everything XML-DSig allows beyond
//! what ssogate supports refused here: one same-document `#ID` Reference to the signature's
//! own parent, enveloped-signature then exclusive c14n, no Object, Manifest, KeyInfo
//! resolution, XPath or XSLT. Nothing here can fetch: there is no code that would.
use super::algorithms::{Digest, ENVELOPED, EXC_C14N, EXC_C14N_WITH_COMMENTS, SignatureMethod};
use crate::domain::reason::Reason;
use crate::protocol::saml::error::{SamlError, clip, err};
use crate::protocol::saml::ns::DSIG;
use crate::protocol::saml::xml::{Document, NodeId};

const EXC_C14N_NS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// IdPs name a handful (Keycloak: `#default saml ds xs xsi`); each costs a lookup per element.
const MAX_INCLUSIVE_PREFIXES: usize = 32;

#[derive(Debug, Clone)]
pub struct Shape<'d> {
    pub signature: NodeId,
    /// The element the Reference names, which is the signature's parent.
    pub signed: NodeId,
    pub signed_info: NodeId,
    pub signed_info_prefixes: Vec<&'d str>,
    pub method: SignatureMethod,
    pub reference_prefixes: Vec<&'d str>,
    pub digest: Digest,
    pub digest_value: NodeId,
    pub signature_value: NodeId,
}

/// How strictly transforms are read: the verifier refuses exc-c14n#WithComments, the
/// signer of refusal fixtures signs it (for a same-document reference it is the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Verify,
    Sign,
}

fn forbidden(what: impl Into<String>) -> SamlError {
    err(Reason::ForbiddenXmlConstruct, what)
}

fn transform(what: impl Into<String>) -> SamlError {
    err(Reason::ForbiddenTransform, what)
}

pub fn read<'d>(doc: &'d Document<'_>, sig: NodeId, mode: Mode) -> Result<Shape<'d>, SamlError> {
    let parent = doc
        .parent(sig)
        .ok_or_else(|| forbidden("a signature as the root element"))?;
    let kids: Vec<NodeId> = doc.child_elements(sig).collect();
    let (signed_info, signature_value) = match kids.as_slice() {
        [si, sv, rest @ ..]
            if doc.is(*si, DSIG, "SignedInfo")
                && doc.is(*sv, DSIG, "SignatureValue")
                && rest.iter().all(|k| doc.is(*k, DSIG, "KeyInfo"))
                && rest.len() <= 1 =>
        {
            (*si, *sv)
        }
        _ => {
            return Err(forbidden(
                "a signature must hold SignedInfo, SignatureValue and at most a KeyInfo",
            ));
        }
    };
    let si: Vec<NodeId> = doc.child_elements(signed_info).collect();
    let [c14n, method_node, references @ ..] = si.as_slice() else {
        return Err(forbidden(
            "SignedInfo lacks its CanonicalizationMethod or SignatureMethod",
        ));
    };
    if !doc.is(*c14n, DSIG, "CanonicalizationMethod")
        || !doc.is(*method_node, DSIG, "SignatureMethod")
    {
        return Err(forbidden(
            "SignedInfo lacks its CanonicalizationMethod or SignatureMethod",
        ));
    }
    let c14n_alg = doc.attribute(*c14n, "Algorithm").unwrap_or_default();
    if !(c14n_alg == EXC_C14N || mode == Mode::Sign && c14n_alg == EXC_C14N_WITH_COMMENTS) {
        return Err(transform(format!(
            "canonicalization `{}` is not allowed",
            clip(c14n_alg, 80)
        )));
    }
    let signed_info_prefixes = inclusive_prefixes(doc, *c14n)?;
    let method_uri = doc.attribute(*method_node, "Algorithm").unwrap_or_default();
    let method = SignatureMethod::from_uri(method_uri).ok_or_else(|| {
        err(
            Reason::WeakAlgorithm,
            format!(
                "signature algorithm `{}` is not supported",
                clip(method_uri, 80)
            ),
        )
    })?;
    if doc.has_element_children(*method_node) {
        return Err(forbidden("SignatureMethod parameters"));
    }
    let [reference] = references else {
        return Err(err(
            Reason::InvalidReference,
            format!("expected exactly one Reference, found {}", references.len()),
        ));
    };
    if !doc.is(*reference, DSIG, "Reference") {
        return Err(forbidden(
            "SignedInfo holds something other than a Reference",
        ));
    }
    let uri = doc.attribute(*reference, "URI").unwrap_or_default();
    let parent_id = doc.attribute(parent, "ID").unwrap_or_default();
    let target = uri.strip_prefix('#').and_then(|id| doc.by_id(id));
    if parent_id.is_empty() || target != Some(parent) {
        return Err(err(
            Reason::InvalidReference,
            "the Reference must be a same-document #ID of the signed Response or Assertion",
        ));
    }
    let parts: Vec<NodeId> = doc.child_elements(*reference).collect();
    let (transforms, digest_method, digest_value) = match parts.as_slice() {
        [t, dm, dv] if doc.is(*t, DSIG, "Transforms") => (Some(*t), *dm, *dv),
        [dm, dv] => (None, *dm, *dv),
        _ => {
            return Err(forbidden(
                "a Reference must hold Transforms, DigestMethod and DigestValue",
            ));
        }
    };
    if !doc.is(digest_method, DSIG, "DigestMethod") || !doc.is(digest_value, DSIG, "DigestValue") {
        return Err(forbidden(
            "a Reference must hold Transforms, DigestMethod and DigestValue",
        ));
    }
    let reference_prefixes = read_transforms(doc, transforms, mode)?;
    let digest_uri = doc
        .attribute(digest_method, "Algorithm")
        .unwrap_or_default();
    let digest = Digest::from_uri(digest_uri)
        .filter(|d| d.is_strong() || mode == Mode::Sign)
        .ok_or_else(|| {
            err(
                Reason::WeakAlgorithm,
                format!("digest algorithm `{}` is not allowed", clip(digest_uri, 80)),
            )
        })?;
    Ok(Shape {
        signature: sig,
        signed: parent,
        signed_info,
        signed_info_prefixes,
        method,
        reference_prefixes,
        digest,
        digest_value,
        signature_value,
    })
}

/// Exactly enveloped-signature then exclusive c14n: what every IdP sends, and the only
/// sequence whose result is defined without inclusive c14n.
fn read_transforms<'d>(
    doc: &'d Document<'_>,
    transforms: Option<NodeId>,
    mode: Mode,
) -> Result<Vec<&'d str>, SamlError> {
    let list: Vec<NodeId> = transforms
        .map(|t| doc.child_elements(t).collect())
        .unwrap_or_default();
    for t in &list {
        let alg = doc.attribute(*t, "Algorithm").unwrap_or_default();
        let known = alg == ENVELOPED
            || alg == EXC_C14N
            || mode == Mode::Sign && alg == EXC_C14N_WITH_COMMENTS;
        if !doc.is(*t, DSIG, "Transform") || !known {
            return Err(transform(format!(
                "transform `{}` is not allowed",
                clip(alg, 80)
            )));
        }
        // xml-crypto (samlify, node IdPs) writes its InclusiveNamespaces inside the
        // enveloped-signature transform too; that transform has no parameters, and xmlsec
        // ignores it there. Only that element is let through, and it means nothing here.
        if alg == ENVELOPED
            && doc.child_elements(*t).any(|p| {
                doc.element(p)
                    .is_none_or(|e| e.local != "InclusiveNamespaces")
                    || doc.has_element_children(p)
            })
        {
            return Err(transform("enveloped-signature takes no parameters"));
        }
    }
    let [enveloped, exc] = list.as_slice() else {
        return Err(transform(
            "transforms must be enveloped-signature then exclusive c14n",
        ));
    };
    if doc.attribute(*enveloped, "Algorithm") != Some(ENVELOPED)
        || doc.attribute(*exc, "Algorithm") == Some(ENVELOPED)
    {
        return Err(transform(
            "transforms must be enveloped-signature then exclusive c14n",
        ));
    }
    inclusive_prefixes(doc, *exc)
}

/// The PrefixList of an `ec:InclusiveNamespaces` child, the only parameter c14n takes.
fn inclusive_prefixes<'d>(
    doc: &'d Document<'_>,
    method: NodeId,
) -> Result<Vec<&'d str>, SamlError> {
    let params: Vec<NodeId> = doc.child_elements(method).collect();
    match params.as_slice() {
        [] => Ok(Vec::new()),
        [p] if doc.is(*p, EXC_C14N_NS, "InclusiveNamespaces") && !doc.has_element_children(*p) => {
            let list = doc.attribute(*p, "PrefixList").unwrap_or_default();
            let mut prefixes: Vec<&str> = Vec::new();
            for p in list.split_ascii_whitespace() {
                let p = match p {
                    "#default" => "",
                    p if is_prefix(p) => p,
                    _ => {
                        return Err(transform(format!(
                            "`{}` in InclusiveNamespaces is not a prefix",
                            clip(p, 80)
                        )));
                    }
                };
                if !prefixes.contains(&p) {
                    prefixes.push(p);
                }
                if prefixes.len() > MAX_INCLUSIVE_PREFIXES {
                    return Err(transform(format!(
                        "InclusiveNamespaces names more than {MAX_INCLUSIVE_PREFIXES} prefixes"
                    )));
                }
            }
            Ok(prefixes)
        }
        _ => Err(transform(
            "canonicalization parameters other than InclusiveNamespaces",
        )),
    }
}

/// An NCName of at most 200 bytes, the bound the parser puts on names.
fn is_prefix(p: &str) -> bool {
    p.len() <= 200 && crate::protocol::saml::xml::is_ncname(p)
}
