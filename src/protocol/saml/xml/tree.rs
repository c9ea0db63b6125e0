//! The one tree a received message becomes: elements with their prefixes, namespace
//! declarations and attributes as written, and text with references resolved. Comments are
//! not kept (neither values nor exclusive c14n without comments see them); text on either
//! side of one is one text node.
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

/// An index into [`Document`]'s namespace names (one per declaration, plus `xml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UriId(pub(super) u32);

/// An index into [`Document`]'s nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(pub(super) u32);

impl NodeId {
    pub(super) fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Debug)]
pub struct Attribute<'a> {
    /// "" when unprefixed.
    pub prefix: &'a str,
    pub local: &'a str,
    /// Unprefixed attributes are in no namespace.
    pub namespace: Option<UriId>,
    pub value: Cow<'a, str>,
}

/// `xmlns:prefix="uri"` (prefix "" for `xmlns="uri"`; uri "" only for the default one).
#[derive(Debug)]
pub struct NamespaceDecl<'a> {
    pub prefix: &'a str,
    pub uri: UriId,
}

#[derive(Debug)]
pub struct Element<'a> {
    pub prefix: &'a str,
    pub local: &'a str,
    pub namespace: Option<UriId>,
    pub namespace_decls: Vec<NamespaceDecl<'a>>,
    pub attributes: Vec<Attribute<'a>>,
    /// Byte range of the element in the source, start tag to end tag.
    pub span: Range<usize>,
    /// Byte range between the start and end tags; None for `<x/>`.
    pub content: Option<Range<usize>>,
}

impl Element<'_> {
    pub fn qname(&self) -> Cow<'_, str> {
        qname(self.prefix, self.local)
    }
}

fn qname<'s>(prefix: &'s str, local: &'s str) -> Cow<'s, str> {
    if prefix.is_empty() {
        Cow::Borrowed(local)
    } else {
        Cow::Owned(format!("{prefix}:{local}"))
    }
}

#[derive(Debug)]
pub enum NodeKind<'a> {
    Element(Element<'a>),
    Text(Cow<'a, str>),
}

#[derive(Debug)]
pub struct Node<'a> {
    pub(super) parent: Option<NodeId>,
    pub(super) children: Vec<NodeId>,
    pub kind: NodeKind<'a>,
}

pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";
pub const XML_NS_ID: UriId = UriId(0);

/// A parsed message. Node 0 is the root element.
#[derive(Debug)]
pub struct Document<'a> {
    pub(super) nodes: Vec<Node<'a>>,
    /// Namespace names as declared; [`XML_NS_ID`] is the `xml` prefix's.
    pub(super) uris: Vec<Cow<'a, str>>,
    /// Every unprefixed `ID` attribute, each value once (duplicates were refused).
    pub(super) ids: HashMap<&'a str, NodeId>,
    /// Bytes of the text this tree was parsed from.
    pub(super) source_len: usize,
}

impl<'a> Document<'a> {
    pub fn root(&self) -> NodeId {
        NodeId(0)
    }

    pub fn node(&self, id: NodeId) -> &Node<'a> {
        &self.nodes[id.index()]
    }

    /// The element at `id`; text nodes have none.
    pub fn element(&self, id: NodeId) -> Option<&Element<'a>> {
        match &self.node(id).kind {
            NodeKind::Element(e) => Some(e),
            NodeKind::Text(_) => None,
        }
    }

    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.node(id).parent
    }

    pub fn children(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.node(id).children.iter().copied()
    }

    pub fn child_elements(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.children(id).filter(|c| self.element(*c).is_some())
    }

    /// `id` and everything below it, in document order.
    pub fn descendants(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let mut stack = vec![id];
        std::iter::from_fn(move || {
            let next = stack.pop()?;
            stack.extend(self.node(next).children.iter().rev().copied());
            Some(next)
        })
    }

    pub fn uri(&self, id: UriId) -> &str {
        &self.uris[id.0 as usize]
    }

    /// The namespace name of an element or attribute.
    pub fn namespace(&self, id: Option<UriId>) -> Option<&str> {
        id.map(|u| self.uri(u))
    }

    pub fn is(&self, id: NodeId, namespace: &str, local: &str) -> bool {
        self.element(id)
            .is_some_and(|e| e.local == local && self.namespace(e.namespace) == Some(namespace))
    }

    pub fn children_named<'s>(
        &'s self,
        id: NodeId,
        namespace: &'s str,
        local: &'s str,
    ) -> impl Iterator<Item = NodeId> + 's {
        self.children(id)
            .filter(move |c| self.is(*c, namespace, local))
    }

    pub fn child(&self, id: NodeId, namespace: &str, local: &str) -> Option<NodeId> {
        self.children_named(id, namespace, local).next()
    }

    /// An attribute in no namespace (how SAML and XML-DSig name theirs).
    pub fn attribute(&self, id: NodeId, local: &str) -> Option<&str> {
        self.element(id)?
            .attributes
            .iter()
            .find(|a| a.namespace.is_none() && a.local == local)
            .map(|a| a.value.as_ref())
    }

    /// All text below `id`, concatenated and trimmed: a comment or element splitting a value
    /// does not truncate it (what exclusive c14n without comments signs is the whole).
    pub fn text(&self, id: NodeId) -> String {
        let mut out = String::new();
        for n in self.descendants(id) {
            if let NodeKind::Text(t) = &self.node(n).kind {
                out.push_str(t);
            }
        }
        let trimmed = out.trim();
        if trimmed.len() == out.len() {
            out
        } else {
            trimmed.to_owned()
        }
    }

    pub fn has_element_children(&self, id: NodeId) -> bool {
        self.child_elements(id).next().is_some()
    }

    /// The element carrying `ID="value"`.
    pub fn by_id(&self, value: &str) -> Option<NodeId> {
        self.ids.get(value).copied()
    }

    pub fn source_len(&self) -> usize {
        self.source_len
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}
