//! Reading the assertion's values from the tree, inside the element a verified signature
//! covers (the Assertion, or the Response holding it).
use std::collections::BTreeMap;

use super::error::{SamlError, err};
use super::ns;
use super::xml::{Document, NodeId};
use crate::domain::reason::Reason;

#[derive(Debug, Clone, Default)]
pub struct BearerConfirmation {
    pub recipient: Option<String>,
    pub not_on_or_after: Option<i64>,
    pub not_before: Option<i64>,
    pub in_response_to: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SignedAssertion {
    pub id: String,
    pub issuer: String,
    pub name_id: Option<String>,
    pub name_id_format: Option<String>,
    pub bearers: Vec<BearerConfirmation>,
    pub not_before: Option<i64>,
    pub not_on_or_after: Option<i64>,
    /// One entry per AudienceRestriction; each must name us.
    pub audience_restrictions: Vec<Vec<String>>,
    pub session_not_on_or_after: Option<i64>,
    pub authn_statements: usize,
    /// Keyed by Name and by FriendlyName.
    pub attributes: BTreeMap<String, Vec<String>>,
}

pub fn parse_instant(raw: &str) -> Result<i64, SamlError> {
    time::OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            err(
                Reason::MalformedXml,
                format!(
                    "`{}` is not an xs:dateTime in UTC",
                    raw.chars().take(40).collect::<String>()
                ),
            )
        })
}

fn instant_attr(doc: &Document<'_>, node: NodeId, name: &str) -> Result<Option<i64>, SamlError> {
    doc.attribute(node, name).map(parse_instant).transpose()
}

/// The values of assertion `a`, which the caller knows a verified signature covers.
pub fn read(doc: &Document<'_>, a: NodeId) -> Result<SignedAssertion, SamlError> {
    let child = |n: NodeId, name: &str| doc.child(n, ns::ASSERTION, name);
    let mut out = SignedAssertion {
        id: doc.attribute(a, "ID").unwrap_or_default().to_owned(),
        issuer: child(a, "Issuer").map(|i| doc.text(i)).unwrap_or_default(),
        ..Default::default()
    };
    if let Some(subject) = child(a, "Subject") {
        if let Some(name_id) = child(subject, "NameID") {
            if doc.has_element_children(name_id) {
                return Err(err(Reason::MissingSubject, "NameID must be text only"));
            }
            out.name_id = Some(doc.text(name_id)).filter(|s| !s.is_empty());
            out.name_id_format = doc.attribute(name_id, "Format").map(str::to_owned);
        }
        for sc in doc.children_named(subject, ns::ASSERTION, "SubjectConfirmation") {
            // Only bearer confirmations count in the Web Browser SSO profile.
            if doc.attribute(sc, "Method") != Some(ns::CM_BEARER) {
                continue;
            }
            let mut b = BearerConfirmation::default();
            if let Some(d) = child(sc, "SubjectConfirmationData") {
                b.recipient = doc.attribute(d, "Recipient").map(str::to_owned);
                b.in_response_to = doc.attribute(d, "InResponseTo").map(str::to_owned);
                b.not_on_or_after = instant_attr(doc, d, "NotOnOrAfter")?;
                b.not_before = instant_attr(doc, d, "NotBefore")?;
            }
            out.bearers.push(b);
        }
    }
    if let Some(c) = child(a, "Conditions") {
        out.not_before = instant_attr(doc, c, "NotBefore")?;
        out.not_on_or_after = instant_attr(doc, c, "NotOnOrAfter")?;
        for r in doc.children_named(c, ns::ASSERTION, "AudienceRestriction") {
            out.audience_restrictions.push(
                doc.children_named(r, ns::ASSERTION, "Audience")
                    .map(|n| doc.text(n))
                    .collect(),
            );
        }
    }
    for s in doc.children_named(a, ns::ASSERTION, "AuthnStatement") {
        out.authn_statements += 1;
        if let Some(t) = instant_attr(doc, s, "SessionNotOnOrAfter")? {
            out.session_not_on_or_after =
                Some(out.session_not_on_or_after.map_or(t, |o: i64| o.min(t)));
        }
    }
    for st in doc.children_named(a, ns::ASSERTION, "AttributeStatement") {
        for attr in doc.children_named(st, ns::ASSERTION, "Attribute") {
            let values: Vec<String> = doc
                .children_named(attr, ns::ASSERTION, "AttributeValue")
                .map(|v| doc.text(v))
                .collect();
            for key in [
                doc.attribute(attr, "Name"),
                doc.attribute(attr, "FriendlyName"),
            ]
            .into_iter()
            .flatten()
            {
                out.attributes
                    .entry(key.to_owned())
                    .or_default()
                    .extend(values.iter().cloned());
            }
        }
    }
    Ok(out)
}
