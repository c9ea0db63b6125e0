//! Reading the assertion out of xmlsec's verified bytes.
use std::collections::BTreeMap;

use roxmltree::Node;

use super::error::{SamlError, err};
use super::ns;
use super::xml::{child, children, is, parse, text};
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

fn instant_attr(node: Node<'_, '_>, name: &str) -> Result<Option<i64>, SamlError> {
    node.attribute(name).map(parse_instant).transpose()
}

/// `verified` is the pre-digest of either the Response (assertion inside) or the Assertion.
pub fn read(verified: &str) -> Result<SignedAssertion, SamlError> {
    let doc = parse(verified)?;
    let root = doc.root_element();
    let assertion = if is(&root, ns::ASSERTION, "Assertion") {
        root
    } else if is(&root, ns::PROTOCOL, "Response") {
        let all: Vec<_> = children(root, ns::ASSERTION, "Assertion").collect();
        match all.as_slice() {
            [one] => *one,
            _ => {
                return Err(err(
                    Reason::AssertionCount,
                    format!("the signed response holds {} assertions", all.len()),
                ));
            }
        }
    } else {
        return Err(err(
            Reason::Unsigned,
            "the signature does not cover the Response or the Assertion",
        ));
    };
    read_assertion(assertion)
}

fn read_assertion(a: Node<'_, '_>) -> Result<SignedAssertion, SamlError> {
    let mut out = SignedAssertion {
        id: a.attribute("ID").unwrap_or_default().to_owned(),
        issuer: child(a, ns::ASSERTION, "Issuer")
            .map(text)
            .unwrap_or_default(),
        ..Default::default()
    };
    if let Some(subject) = child(a, ns::ASSERTION, "Subject") {
        if let Some(name_id) = child(subject, ns::ASSERTION, "NameID") {
            if name_id.children().any(|c| c.is_element()) {
                return Err(err(Reason::MissingSubject, "NameID must be text only"));
            }
            out.name_id = Some(text(name_id)).filter(|s| !s.is_empty());
            out.name_id_format = name_id.attribute("Format").map(str::to_owned);
        }
        for sc in children(subject, ns::ASSERTION, "SubjectConfirmation") {
            // Only bearer confirmations count in the Web Browser SSO profile.
            if sc.attribute("Method") != Some(ns::CM_BEARER) {
                continue;
            }
            let mut b = BearerConfirmation::default();
            if let Some(d) = child(sc, ns::ASSERTION, "SubjectConfirmationData") {
                b.recipient = d.attribute("Recipient").map(str::to_owned);
                b.in_response_to = d.attribute("InResponseTo").map(str::to_owned);
                b.not_on_or_after = instant_attr(d, "NotOnOrAfter")?;
                b.not_before = instant_attr(d, "NotBefore")?;
            }
            out.bearers.push(b);
        }
    }
    if let Some(c) = child(a, ns::ASSERTION, "Conditions") {
        out.not_before = instant_attr(c, "NotBefore")?;
        out.not_on_or_after = instant_attr(c, "NotOnOrAfter")?;
        for r in children(c, ns::ASSERTION, "AudienceRestriction") {
            out.audience_restrictions
                .push(children(r, ns::ASSERTION, "Audience").map(text).collect());
        }
    }
    for s in children(a, ns::ASSERTION, "AuthnStatement") {
        out.authn_statements += 1;
        if let Some(t) = instant_attr(s, "SessionNotOnOrAfter")? {
            out.session_not_on_or_after =
                Some(out.session_not_on_or_after.map_or(t, |o: i64| o.min(t)));
        }
    }
    for st in children(a, ns::ASSERTION, "AttributeStatement") {
        for attr in children(st, ns::ASSERTION, "Attribute") {
            let values: Vec<String> = children(attr, ns::ASSERTION, "AttributeValue")
                .map(text)
                .collect();
            for key in [attr.attribute("Name"), attr.attribute("FriendlyName")]
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
