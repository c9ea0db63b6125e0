//! Small helpers over roxmltree, the strict parser every response goes through first.
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

pub fn child<'a, 'i>(node: Node<'a, 'i>, ns: &'a str, name: &'a str) -> Option<Node<'a, 'i>> {
    children(node, ns, name).next()
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

/// The document after a UTF-8 BOM and XML declaration, refusing any declared encoding other
/// than UTF-8.
pub fn utf8_body(text: &str) -> Result<&str, SamlError> {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = t.strip_prefix("<?xml") else {
        return Ok(t);
    };
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Ok(t); // a processing instruction like <?xml-stylesheet?>, refused later
    }
    let end = rest
        .find("?>")
        .ok_or_else(|| err(Reason::MalformedXml, "unterminated XML declaration"))?;
    let decl = &rest[..end];
    if let Some(at) = decl.find("encoding") {
        let value = decl[at + "encoding".len()..]
            .trim_start()
            .strip_prefix('=')
            .map(str::trim_start)
            .and_then(|v| {
                let quote = v.chars().next().filter(|q| *q == '"' || *q == '\'')?;
                let v = &v[1..];
                v.find(quote).map(|e| &v[..e])
            })
            .ok_or_else(|| err(Reason::MalformedXml, "malformed XML declaration"))?;
        if !value.eq_ignore_ascii_case("utf-8") {
            return Err(err(
                Reason::MalformedEncoding,
                format!(
                    "declared encoding `{}`; only UTF-8 is accepted",
                    value.chars().take(40).collect::<String>()
                ),
            ));
        }
    }
    Ok(&rest[end + 2..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_other_than_utf8_are_refused() {
        assert_eq!(utf8_body("<?xml version=\"1.0\"?><a/>").unwrap(), "<a/>");
        assert_eq!(
            utf8_body("\u{feff}<?xml version='1.0' encoding='utf-8'?><a/>").unwrap(),
            "<a/>"
        );
        assert_eq!(utf8_body("<a/>").unwrap(), "<a/>");
        for bad in [
            "<?xml version=\"1.0\" encoding=\"UTF-7\"?><a/>",
            "<?xml version=\"1.0\" encoding = 'ISO-8859-1'?><a/>",
        ] {
            assert_eq!(
                utf8_body(bad).unwrap_err().reason,
                Reason::MalformedEncoding,
                "{bad}"
            );
        }
        assert_eq!(
            utf8_body("<?xml version=\"1.0\" encoding=UTF-7?><a/>")
                .unwrap_err()
                .reason,
            Reason::MalformedXml
        );
    }
}

#[cfg(test)]
mod quote_tests {
    use super::*;

    #[test]
    fn unquoted_multibyte_encoding_values_are_refused_without_panicking() {
        let bad = "<?xml version=\"1.0\" encoding=\u{e9}x\u{e9}?><a/>";
        assert_eq!(utf8_body(bad).unwrap_err().reason, Reason::MalformedXml);
    }
}
