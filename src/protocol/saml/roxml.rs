//! Small helpers over roxmltree for IdP metadata (an admin-supplied document, not a message).
use roxmltree::{Document, Node, ParsingOptions};

use super::error::{SamlError, err};
use crate::domain::reason::Reason;

pub fn parse(xml: &str) -> Result<Document<'_>, SamlError> {
    // DTDs are refused by roxmltree unless allowed: no entities, no external fetches.
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 100_000,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(xml, opts).map_err(|e| match e {
        roxmltree::Error::DtdDetected => {
            err(Reason::DoctypeForbidden, "the document contains a DOCTYPE")
        }
        other => err(Reason::MalformedXml, format!("XML does not parse: {other}")),
    })
}

pub fn is(node: &Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

pub fn children<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| is(c, ns, name))
}

/// All text below a node, concatenated: a comment or element splitting a value must not
/// truncate it.
pub fn text(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<String>()
        .trim()
        .to_owned()
}
