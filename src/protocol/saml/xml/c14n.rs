//! Exclusive XML Canonicalization 1.0 without comments
//! (<https://www.w3.org/TR/xml-exc-c14n/>) of one element's subtree, on the parsed tree.
//!
//! The tree already holds what c14n needs: attribute values normalized and references
//! resolved, line ends normalized, CDATA as text, comments gone, each element's prefix and
//! declarations as written. What is left is the namespace rule and the escaping.
use super::tree::{Document, NodeId, NodeKind};

/// The canonical bytes of `apex` and its descendants, leaving out `omit` and its subtree
/// (the enveloped signature). `inclusive_prefixes` is the InclusiveNamespaces PrefixList,
/// with "#default" already turned into "".
pub fn exclusive(
    doc: &Document<'_>,
    apex: NodeId,
    omit: Option<NodeId>,
    inclusive_prefixes: &[&str],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let mut rendered: Vec<(&str, &str)> = Vec::new();
    element(doc, apex, omit, inclusive_prefixes, &mut rendered, &mut out);
    out
}

fn element<'d>(
    doc: &'d Document<'_>,
    id: NodeId,
    omit: Option<NodeId>,
    inclusive: &[&str],
    rendered: &mut Vec<(&'d str, &'d str)>,
    out: &mut Vec<u8>,
) {
    let Some(e) = doc.element(id) else {
        return;
    };
    // Namespace nodes to output: the prefixes this element visibly uses, plus the
    // inclusive ones in scope, unless the nearest output ancestor already has the same.
    let mut decls: Vec<(&str, &str)> = Vec::new();
    let mut consider = |prefix: &'d str| {
        if prefix == "xml" || decls.iter().any(|(p, _)| *p == prefix) {
            return;
        }
        let uri = doc.lookup_namespace(id, prefix).unwrap_or("");
        let current = rendered
            .iter()
            .rev()
            .find(|(p, _)| *p == prefix)
            .map(|(_, u)| *u);
        if uri.is_empty() && current.is_none_or(str::is_empty) {
            // An unbound inclusive prefix, or no default namespace and none rendered.
            return;
        }
        if current != Some(uri) {
            decls.push((prefix, uri));
        }
    };
    consider(e.prefix);
    for a in &e.attributes {
        if !a.prefix.is_empty() {
            consider(a.prefix);
        }
    }
    for p in inclusive {
        if let Some(p) = doc.in_scope_prefixes(id).into_iter().find(|q| q == p) {
            consider(p);
        }
    }
    decls.sort_unstable_by(|a, b| a.0.cmp(b.0));

    out.push(b'<');
    push_qname(out, e.prefix, e.local);
    for (prefix, uri) in &decls {
        if prefix.is_empty() {
            out.extend_from_slice(b" xmlns=\"");
        } else {
            out.extend_from_slice(b" xmlns:");
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(b"=\"");
        }
        escape_attribute(out, uri);
        out.push(b'"');
    }
    let mut attrs: Vec<_> = e
        .attributes
        .iter()
        .map(|a| (doc.namespace(a.namespace).unwrap_or(""), a))
        .collect();
    attrs.sort_unstable_by(|(na, a), (nb, b)| na.cmp(nb).then_with(|| a.local.cmp(b.local)));
    for (_, a) in attrs {
        out.push(b' ');
        push_qname(out, a.prefix, a.local);
        out.extend_from_slice(b"=\"");
        escape_attribute(out, &a.value);
        out.push(b'"');
    }
    out.push(b'>');

    let mark = rendered.len();
    rendered.extend(decls);
    for child in doc.children(id) {
        if Some(child) == omit {
            continue;
        }
        match &doc.node(child).kind {
            NodeKind::Element(_) => element(doc, child, omit, inclusive, rendered, out),
            NodeKind::Text(t) => escape_text(out, t),
        }
    }
    rendered.truncate(mark);

    out.extend_from_slice(b"</");
    push_qname(out, e.prefix, e.local);
    out.push(b'>');
}

fn push_qname(out: &mut Vec<u8>, prefix: &str, local: &str) {
    if !prefix.is_empty() {
        out.extend_from_slice(prefix.as_bytes());
        out.push(b':');
    }
    out.extend_from_slice(local.as_bytes());
}

fn escape_text(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            b => out.push(b),
        }
    }
}

fn escape_attribute(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\t' => out.extend_from_slice(b"&#x9;"),
            b'\n' => out.extend_from_slice(b"&#xA;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            b => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests;
