//! The one strict parse: xmlparser's tokens (a well-formedness tokenizer, no DTD processing,
//! no entity expansion, no I/O) built into a [`Document`] with XML 1.0 + Namespaces rules
//! enforced here. Anything outside them is refused, never repaired.
use std::borrow::Cow;
use std::collections::HashMap;

use xmlparser::{ElementEnd, Token, Tokenizer};

use super::tree::{
    Attribute, Document, Element, NamespaceDecl, Node, NodeId, NodeKind, UriId, XML_NS, XML_NS_ID,
    XMLNS_NS,
};
use crate::domain::reason::Reason;
use crate::protocol::saml::error::{SamlError, clip, err};

/// Bounds on what one document may hold; a SAML response from a real IdP is far inside all.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    /// Attributes per element, namespace declarations included.
    pub max_attributes: usize,
    /// Bytes in one qualified name.
    pub max_name_len: usize,
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024,
            max_depth: 48,
            max_attributes: 48,
            max_name_len: 200,
            max_nodes: 20_000,
        }
    }
}

fn malformed(detail: impl Into<String>) -> SamlError {
    err(Reason::MalformedXml, detail)
}

/// A parse in progress: the element stack with each level's namespace bindings.
struct Builder<'a> {
    limits: Limits,
    nodes: Vec<Node<'a>>,
    uris: Vec<Cow<'a, str>>,
    ids: HashMap<&'a str, NodeId>,
    /// Open elements, innermost last.
    open: Vec<NodeId>,
    /// In-scope bindings per prefix, innermost last (uri "" = default undeclared).
    bindings: HashMap<&'a str, Vec<UriId>>,
    /// The prefixes each open element declared, to unbind at its end.
    scope_marks: Vec<Vec<&'a str>>,
    saw_root: bool,
}

/// A start tag being read: its name and raw attributes, resolved at `>`.
struct StartTag<'a> {
    prefix: &'a str,
    local: &'a str,
    start: usize,
    attrs: Vec<(&'a str, &'a str, Cow<'a, str>)>,
}

pub fn parse(text: &str) -> Result<Document<'_>, SamlError> {
    parse_with(text, Limits::default())
}

pub fn parse_with(text: &str, limits: Limits) -> Result<Document<'_>, SamlError> {
    if text.len() > limits.max_bytes {
        return Err(err(
            Reason::ResponseTooLarge,
            format!(
                "the document is {} bytes, the cap is {}",
                text.len(),
                limits.max_bytes
            ),
        ));
    }
    let mut b = Builder {
        limits,
        nodes: Vec::new(),
        uris: vec![Cow::Borrowed(XML_NS)],
        ids: HashMap::new(),
        open: Vec::new(),
        bindings: HashMap::new(),
        scope_marks: Vec::new(),
        saw_root: false,
    };
    let mut tag: Option<StartTag<'_>> = None;
    for token in Tokenizer::from(text) {
        let token = token.map_err(token_error)?;
        match token {
            Token::Declaration {
                version, encoding, ..
            } => {
                if version.as_str() != "1.0" {
                    return Err(malformed(format!(
                        "XML version `{}`; only 1.0 is accepted",
                        clip(version.as_str(), 40)
                    )));
                }
                if let Some(enc) = encoding
                    && !enc.as_str().eq_ignore_ascii_case("UTF-8")
                {
                    return Err(err(
                        Reason::MalformedEncoding,
                        format!(
                            "declared encoding `{}`; only UTF-8 is accepted",
                            clip(enc.as_str(), 40)
                        ),
                    ));
                }
            }
            Token::ProcessingInstruction { .. } => {
                return Err(err(Reason::ForbiddenXmlConstruct, "processing instruction"));
            }
            Token::DtdStart { .. }
            | Token::EmptyDtd { .. }
            | Token::EntityDeclaration { .. }
            | Token::DtdEnd { .. } => {
                return Err(err(
                    Reason::DoctypeForbidden,
                    "the document contains a DOCTYPE",
                ));
            }
            Token::Comment { .. } => {}
            Token::ElementStart {
                prefix,
                local,
                span,
            } => {
                let start = span.start();
                let name = &text[start + 1..local.end()];
                check_qname(name, limits.max_name_len)?;
                if b.saw_root && b.open.is_empty() {
                    return Err(malformed("more than one root element"));
                }
                if b.open.len() >= limits.max_depth {
                    return Err(malformed(format!(
                        "elements nested deeper than {}",
                        limits.max_depth
                    )));
                }
                tag = Some(StartTag {
                    prefix: prefix.as_str(),
                    local: local.as_str(),
                    start,
                    attrs: Vec::new(),
                });
            }
            Token::Attribute {
                prefix,
                local,
                value,
                span,
            } => {
                let t = tag
                    .as_mut()
                    .ok_or_else(|| malformed("attribute outside a start tag"))?;
                if t.attrs.len() >= limits.max_attributes {
                    return Err(malformed(format!(
                        "more than {} attributes on one element",
                        limits.max_attributes
                    )));
                }
                check_qname(&text[span.start()..local.end()], limits.max_name_len)?;
                let value = attribute_value(value.as_str())?;
                t.attrs.push((prefix.as_str(), local.as_str(), value));
            }
            Token::ElementEnd { end, span } => match end {
                ElementEnd::Open | ElementEnd::Empty => {
                    let t = tag
                        .take()
                        .ok_or_else(|| malformed("end of a start tag without its start"))?;
                    let empty = matches!(end, ElementEnd::Empty);
                    let id = b.start_element(t, span.end(), empty)?;
                    if empty {
                        b.end_element(id, None, span.end());
                    }
                }
                ElementEnd::Close(prefix, local) => {
                    let id = *b
                        .open
                        .last()
                        .ok_or_else(|| malformed("end tag without a start tag"))?;
                    let Some(NodeKind::Element(e)) = b.nodes.get(id.index()).map(|n| &n.kind)
                    else {
                        return Err(malformed("end tag without a start tag"));
                    };
                    if e.prefix != prefix.as_str() || e.local != local.as_str() {
                        return Err(malformed(format!(
                            "end tag `{}` does not close `{}`",
                            clip(&text[span.start() + 2..local.end()], 40),
                            clip(&e.qname(), 40)
                        )));
                    }
                    let content_end = span.start();
                    b.end_element(id, Some(content_end), span.end());
                }
            },
            Token::Text { text: t } => {
                let raw = t.as_str();
                if b.open.is_empty() {
                    // xmlparser only lets whitespace through outside the root.
                    continue;
                }
                b.push_text(text_value(raw)?)?;
            }
            Token::Cdata { text: t, .. } => {
                if b.open.is_empty() {
                    return Err(malformed("CDATA outside the root element"));
                }
                b.push_text(normalize_newlines(t.as_str()))?;
            }
        }
    }
    if !b.open.is_empty() || tag.is_some() {
        return Err(malformed("the document ends inside an element"));
    }
    if !b.saw_root {
        return Err(malformed("the document has no root element"));
    }
    Ok(Document {
        nodes: b.nodes,
        uris: b.uris,
        ids: b.ids,
        source_len: text.len(),
    })
}

impl<'a> Builder<'a> {
    fn add_node(&mut self, kind: NodeKind<'a>) -> Result<NodeId, SamlError> {
        if self.nodes.len() >= self.limits.max_nodes {
            return Err(malformed(format!(
                "more than {} nodes",
                self.limits.max_nodes
            )));
        }
        let id = NodeId(self.nodes.len() as u32);
        let parent = self.open.last().copied();
        self.nodes.push(Node {
            parent,
            children: Vec::new(),
            kind,
        });
        if let Some(p) = parent {
            self.nodes[p.index()].children.push(id);
        }
        Ok(id)
    }

    fn push_text(&mut self, value: Cow<'a, str>) -> Result<(), SamlError> {
        let parent = *self.open.last().expect("text inside an element");
        // Text split by a comment or CDATA section is one text node.
        if let Some(&last) = self.nodes[parent.index()].children.last()
            && let NodeKind::Text(prev) = &mut self.nodes[last.index()].kind
        {
            prev.to_mut().push_str(&value);
            return Ok(());
        }
        self.add_node(NodeKind::Text(value))?;
        Ok(())
    }

    fn lookup(&self, prefix: &str) -> Option<UriId> {
        if prefix == "xml" {
            return Some(XML_NS_ID);
        }
        self.bindings
            .get(prefix)
            .and_then(|stack| stack.last().copied())
            .filter(|u| !self.uris[u.0 as usize].is_empty())
    }

    fn start_element(
        &mut self,
        t: StartTag<'a>,
        content_start: usize,
        empty: bool,
    ) -> Result<NodeId, SamlError> {
        let mut decls = Vec::new();
        let mut plain = Vec::new();
        for (prefix, local, value) in t.attrs {
            if prefix == "xmlns" {
                declare_check(local, &value)?;
                let uri = self.add_uri(value);
                decls.push(NamespaceDecl { prefix: local, uri });
            } else if prefix.is_empty() && local == "xmlns" {
                if value == XML_NS || value == XMLNS_NS {
                    return Err(malformed(format!(
                        "the default namespace cannot be `{value}`"
                    )));
                }
                let uri = self.add_uri(value);
                decls.push(NamespaceDecl { prefix: "", uri });
            } else {
                plain.push((prefix, local, value));
            }
        }
        for (i, d) in decls.iter().enumerate() {
            if decls[..i].iter().any(|o| o.prefix == d.prefix) {
                return Err(malformed(
                    "a namespace prefix declared twice on one element",
                ));
            }
        }
        for d in &decls {
            self.bindings.entry(d.prefix).or_default().push(d.uri);
        }
        self.scope_marks
            .push(decls.iter().map(|d| d.prefix).collect());
        if t.prefix == "xmlns" {
            return Err(malformed("an element cannot use the xmlns prefix"));
        }
        let namespace = self.lookup(t.prefix);
        if namespace.is_none() && !t.prefix.is_empty() {
            return Err(malformed(format!(
                "namespace prefix `{}` is not declared",
                clip(t.prefix, 40)
            )));
        }
        let mut attributes: Vec<Attribute<'a>> = Vec::with_capacity(plain.len());
        for (prefix, local, value) in plain {
            let namespace = if prefix.is_empty() {
                None
            } else {
                Some(self.lookup(prefix).ok_or_else(|| {
                    malformed(format!(
                        "namespace prefix `{}` is not declared",
                        clip(prefix, 40)
                    ))
                })?)
            };
            let uri_of = |u: Option<UriId>| u.map(|u| self.uris[u.0 as usize].as_ref());
            if attributes.iter().any(|a| {
                a.local == local && (a.prefix == prefix || uri_of(a.namespace) == uri_of(namespace))
            }) {
                return Err(malformed(format!(
                    "attribute `{}` appears twice on one element",
                    clip(local, 40)
                )));
            }
            attributes.push(Attribute {
                prefix,
                local,
                namespace,
                value,
            });
        }
        let element = Element {
            prefix: t.prefix,
            local: t.local,
            namespace,
            namespace_decls: decls,
            attributes,
            span: t.start..content_start,
            content: (!empty).then_some(content_start..content_start),
        };
        let id = self.add_node(NodeKind::Element(element))?;
        self.index_ids(id)?;
        self.saw_root = true;
        self.open.push(id);
        Ok(id)
    }

    /// The tree's one ID index: plain `ID` only, each value once. A namespaced `ID` or an
    /// `xml:id` is something only a wrapping attack would write.
    fn index_ids(&mut self, id: NodeId) -> Result<(), SamlError> {
        let NodeKind::Element(e) = &self.nodes[id.index()].kind else {
            return Ok(());
        };
        let mut found = None;
        for a in &e.attributes {
            match (a.namespace, a.local) {
                (None, "ID") => found = Some(a.value.clone()),
                (Some(_), "ID") => {
                    return Err(err(
                        Reason::ForbiddenXmlConstruct,
                        "namespaced ID attribute",
                    ));
                }
                (Some(XML_NS_ID), "id") => {
                    return Err(err(Reason::ForbiddenXmlConstruct, "xml:id attribute"));
                }
                _ => {}
            }
        }
        if let Some(value) = found {
            let Cow::Borrowed(value) = value else {
                // An ID written with references never matches a `#id` written without.
                return Err(err(
                    Reason::ForbiddenXmlConstruct,
                    "an ID attribute written with character references or whitespace",
                ));
            };
            if self.ids.insert(value, id).is_some() {
                return Err(err(Reason::ForbiddenXmlConstruct, "duplicate ID attribute"));
            }
        }
        Ok(())
    }

    fn add_uri(&mut self, value: Cow<'a, str>) -> UriId {
        self.uris.push(value);
        UriId((self.uris.len() - 1) as u32)
    }

    fn end_element(&mut self, id: NodeId, content_end: Option<usize>, end: usize) {
        self.open.pop();
        for prefix in self.scope_marks.pop().unwrap_or_default() {
            if let Some(stack) = self.bindings.get_mut(prefix) {
                stack.pop();
            }
        }
        if let NodeKind::Element(e) = &mut self.nodes[id.index()].kind {
            if let (Some(c), Some(ce)) = (&mut e.content, content_end) {
                c.end = ce;
            }
            e.span.end = end;
        }
    }
}

/// Namespaces in XML 1.0 §3: no undeclaring a prefix, `xml` only to its own name,
/// `xmlns` never, and neither reserved name under another prefix.
fn declare_check(prefix: &str, value: &str) -> Result<(), SamlError> {
    if value.is_empty() {
        return Err(malformed(format!(
            "`xmlns:{}=\"\"` undeclares a prefix (not allowed in XML 1.0)",
            clip(prefix, 40)
        )));
    }
    match prefix {
        "xmlns" => Err(malformed("the xmlns prefix cannot be declared")),
        "xml" if value != XML_NS => Err(malformed("the xml prefix is bound to another name")),
        "xml" => Ok(()),
        _ if value == XML_NS || value == XMLNS_NS => Err(malformed(format!(
            "prefix `{}` is bound to a reserved namespace",
            clip(prefix, 40)
        ))),
        _ => Ok(()),
    }
}

/// A QName: NCName or NCName:NCName, bounded in length.
fn check_qname(name: &str, max: usize) -> Result<(), SamlError> {
    if name.len() > max {
        return Err(malformed(format!("a name longer than {max} bytes")));
    }
    let mut parts = name.split(':');
    let ok = match (parts.next(), parts.next(), parts.next()) {
        (Some(a), None, _) => is_ncname(a),
        (Some(a), Some(b), None) => is_ncname(a) && is_ncname(b),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(malformed(format!(
            "`{}` is not a valid name",
            clip(name, 40)
        )))
    }
}

pub fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Character data: references resolved, line ends normalized (XML 1.0 §2.11).
fn text_value(raw: &str) -> Result<Cow<'_, str>, SamlError> {
    if !raw.contains(['&', '\r']) {
        return Ok(Cow::Borrowed(raw));
    }
    resolve(raw, false).map(Cow::Owned)
}

/// An attribute value: references resolved, then literal whitespace normalized to spaces
/// (XML 1.0 §3.3.3, every attribute being CDATA without a DTD).
fn attribute_value(raw: &str) -> Result<Cow<'_, str>, SamlError> {
    if !raw.contains(['&', '\r', '\n', '\t']) {
        return Ok(Cow::Borrowed(raw));
    }
    resolve(raw, true).map(Cow::Owned)
}

fn normalize_newlines(raw: &str) -> Cow<'_, str> {
    if raw.contains('\r') {
        Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(raw)
    }
}

fn resolve(raw: &str, attribute: bool) -> Result<String, SamlError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        match c {
            '&' => {
                let end = rest
                    .find(';')
                    .filter(|e| *e <= 32)
                    .ok_or_else(|| malformed("`&` not starting a reference"))?;
                out.push(reference(&rest[1..end])?);
                rest = &rest[end + 1..];
                continue;
            }
            '\r' => {
                if rest[1..].starts_with('\n') {
                    rest = &rest[1..];
                }
                out.push(if attribute { ' ' } else { '\n' });
            }
            '\n' | '\t' if attribute => out.push(' '),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

/// One of the five predefined entities or a character reference to an XML character.
fn reference(name: &str) -> Result<char, SamlError> {
    let code = match name {
        "lt" => return Ok('<'),
        "gt" => return Ok('>'),
        "amp" => return Ok('&'),
        "apos" => return Ok('\''),
        "quot" => return Ok('"'),
        n => {
            if let Some(hex) = n.strip_prefix("#x") {
                (!hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| u32::from_str_radix(hex, 16).ok())
                    .flatten()
            } else if let Some(dec) = n.strip_prefix('#') {
                (!dec.is_empty() && dec.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| dec.parse::<u32>().ok())
                    .flatten()
            } else {
                return Err(malformed(format!(
                    "entity `&{};` is not one of the five XML defines",
                    clip(n, 40)
                )));
            }
        }
    };
    code.and_then(char::from_u32)
        .filter(|c| is_xml_char(*c))
        .ok_or_else(|| malformed(format!("`&{};` is not an XML character", clip(name, 40))))
}

fn token_error(e: xmlparser::Error) -> SamlError {
    match e {
        xmlparser::Error::InvalidDoctype(..) | xmlparser::Error::InvalidEntity(..) => {
            err(Reason::DoctypeForbidden, "the document contains a DOCTYPE")
        }
        xmlparser::Error::InvalidDeclaration(..) => malformed(format!("XML declaration: {e}")),
        other => malformed(format!("XML does not parse: {other}")),
    }
}
