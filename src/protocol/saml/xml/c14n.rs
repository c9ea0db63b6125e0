//! Exclusive XML Canonicalization 1.0 without comments
//! (<https://www.w3.org/TR/xml-exc-c14n/>) of one element's subtree, on the parsed tree.
//!
//! The tree already holds what c14n needs: attribute values normalized and references
//! resolved, line ends normalized, CDATA as text, comments gone, each element's prefix and
//! declarations as written. What is left is the namespace rule and the escaping.
use std::collections::HashMap;

use super::tree::{Document, NodeId, NodeKind};

/// The canonical form would be larger than [`max_output`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

/// The most canonical bytes a document may turn into. Exclusive c14n repeats a declaration on
/// every element that uses its prefix, so a small document with a long namespace name used
/// by many siblings could otherwise become gigabytes; real messages stay near their size.
pub fn max_output(doc: &Document<'_>) -> usize {
    doc.source_len().saturating_mul(4) + 64 * 1024
}

/// The canonical bytes of `apex` and its descendants, leaving out `omit` and its subtree
/// (the enveloped signature). `inclusive_prefixes` is the InclusiveNamespaces PrefixList,
/// with "#default" already turned into "". Refused past [`max_output`].
pub fn exclusive(
    doc: &Document<'_>,
    apex: NodeId,
    omit: Option<NodeId>,
    inclusive_prefixes: &[&str],
) -> Result<Vec<u8>, TooLarge> {
    let mut c = Canonicalizer {
        doc,
        omit,
        inclusive: inclusive_prefixes,
        apex,
        limit: max_output(doc),
        in_scope: HashMap::new(),
        rendered: HashMap::new(),
        out: Vec::with_capacity(4096),
    };
    // The apex's context: the declarations of its ancestors, outermost first.
    let ancestors: Vec<NodeId> =
        std::iter::successors(doc.parent(apex), |n| doc.parent(*n)).collect();
    for a in ancestors.into_iter().rev() {
        c.enter_scope(a);
    }
    c.element(apex)?;
    Ok(c.out)
}

/// Namespace bindings are kept per prefix, innermost last, so each lookup is one map access
/// whatever the depth and the number of declarations.
struct Canonicalizer<'d, 'a, 'p> {
    doc: &'d Document<'a>,
    omit: Option<NodeId>,
    inclusive: &'p [&'p str],
    apex: NodeId,
    limit: usize,
    /// prefix -> namespace names bound, innermost last ("" = default undeclared).
    in_scope: HashMap<&'d str, Vec<&'d str>>,
    /// prefix -> namespace names rendered by output ancestors, innermost last.
    rendered: HashMap<&'d str, Vec<&'d str>>,
    out: Vec<u8>,
}

impl<'d> Canonicalizer<'d, '_, '_> {
    fn enter_scope(&mut self, id: NodeId) -> Vec<&'d str> {
        let doc = self.doc;
        let Some(e) = doc.element(id) else {
            return Vec::new();
        };
        let mut bound = Vec::with_capacity(e.namespace_decls.len());
        for d in &e.namespace_decls {
            self.in_scope
                .entry(d.prefix)
                .or_default()
                .push(doc.uri(d.uri));
            bound.push(d.prefix);
        }
        bound
    }

    fn leave(map: &mut HashMap<&'d str, Vec<&'d str>>, prefixes: &[&'d str]) {
        for p in prefixes {
            if let Some(stack) = map.get_mut(p) {
                stack.pop();
            }
        }
    }

    /// Whether `prefix` must be declared here, and with which name: exclusive c14n renders a
    /// namespace the element visibly uses (or an inclusive one in scope) unless the nearest
    /// output ancestor already rendered the same. Returns the prefix as the tree holds it
    /// (the map's key), so it lives as long as the tree.
    fn needs(&self, prefix: &str) -> Option<(&'d str, &'d str)> {
        if prefix == "xml" {
            return None;
        }
        let (key, bound) = self.in_scope.get_key_value(prefix)?;
        let uri = bound.last().copied().unwrap_or("");
        let current = self.rendered.get(prefix).and_then(|s| s.last().copied());
        if uri.is_empty() && current.is_none_or(str::is_empty) {
            // An unbound inclusive prefix, or no default namespace and none rendered.
            return None;
        }
        (current != Some(uri)).then_some((*key, uri))
    }

    fn element(&mut self, id: NodeId) -> Result<(), TooLarge> {
        let doc = self.doc;
        let Some(e) = doc.element(id) else {
            return Ok(());
        };
        let bound = self.enter_scope(id);
        let mut decls: Vec<(&'d str, &'d str)> = Vec::new();
        // An inclusive prefix can only need rendering at the apex or where it is declared:
        // anywhere else its binding and what was rendered for it are those of the parent.
        let is_apex = id == self.apex;
        let inclusive = self
            .inclusive
            .iter()
            .copied()
            .filter(|p| is_apex || e.namespace_decls.iter().any(|d| d.prefix == *p));
        let candidates = std::iter::once(e.prefix)
            .chain(
                e.attributes
                    .iter()
                    .map(|a| a.prefix)
                    .filter(|p| !p.is_empty()),
            )
            .chain(inclusive);
        for prefix in candidates {
            if decls.iter().any(|(p, _)| *p == prefix) {
                continue;
            }
            if let Some(decl) = self.needs(prefix) {
                decls.push(decl);
            }
        }
        decls.sort_unstable_by(|a, b| a.0.cmp(b.0));

        let out = &mut self.out;
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

        let rendered: Vec<&'d str> = decls.iter().map(|(p, _)| *p).collect();
        for (p, u) in decls {
            self.rendered.entry(p).or_default().push(u);
        }
        for child in doc.children(id) {
            if Some(child) == self.omit {
                continue;
            }
            match &doc.node(child).kind {
                NodeKind::Element(_) => self.element(child)?,
                NodeKind::Text(t) => escape_text(&mut self.out, t),
            }
            if self.out.len() > self.limit {
                return Err(TooLarge);
            }
        }
        Self::leave(&mut self.rendered, &rendered);
        Self::leave(&mut self.in_scope, &bound);

        self.out.extend_from_slice(b"</");
        push_qname(&mut self.out, e.prefix, e.local);
        self.out.push(b'>');
        if self.out.len() > self.limit {
            return Err(TooLarge);
        }
        Ok(())
    }
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
