//! Exclusive c14n against the W3C specification's examples and libxml2's output (the
//! expected strings were produced with lxml's `tostring(method="c14n", exclusive=True)`).
use super::exclusive;
use crate::protocol::saml::xml::{NodeId, parse};

fn c14n_at(doc: &str, path: &[usize], inclusive: &[&str]) -> String {
    let doc = parse(doc).expect("test document parses");
    let mut at: NodeId = doc.root();
    for i in path {
        at = doc.child_elements(at).nth(*i).expect("path exists");
    }
    String::from_utf8(exclusive(&doc, at, None, inclusive).unwrap()).unwrap()
}

#[test]
fn w3c_exc_example_1() {
    assert_eq!(
        c14n_at(
            "<n0:local xmlns:n0=\"foo:bar\" xmlns:n3=\"ftp://example.org\"><n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\"><n3:stuff xmlns:n3=\"ftp://example.org\"/></n1:elem2></n0:local>",
            &[0],
            &[]
        ),
        "<n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\"><n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff></n1:elem2>"
    );
}

#[test]
fn w3c_exc_example_2() {
    assert_eq!(
        c14n_at(
            "<n2:pdu xmlns:n1=\"http://example.com\" xmlns:n2=\"http://foo.example\" xml:lang=\"fr\" xml:space=\"retain\"><n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\"><n3:stuff xmlns:n3=\"ftp://example.org\"/></n1:elem2></n2:pdu>",
            &[0],
            &[]
        ),
        "<n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\"><n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff></n1:elem2>"
    );
}

#[test]
fn w3c_exc_example_1_whitespace() {
    assert_eq!(
        c14n_at(
            "<n0:local xmlns:n0=\"foo:bar\" xmlns:n3=\"ftp://example.org\">\n  <n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n    <n3:stuff xmlns:n3=\"ftp://example.org\"/>\n  </n1:elem2>\n</n0:local>",
            &[0],
            &[]
        ),
        "<n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n    <n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff>\n  </n1:elem2>"
    );
}

#[test]
fn default_ns_inherited() {
    assert_eq!(
        c14n_at("<a xmlns=\"urn:a\"><b><c xmlns=\"\"/></b></a>", &[0], &[]),
        "<b xmlns=\"urn:a\"><c xmlns=\"\"></c></b>"
    );
}

#[test]
fn default_ns_undeclared_below_prefixed() {
    assert_eq!(
        c14n_at(
            "<p:a xmlns:p=\"urn:p\" xmlns=\"urn:d\"><p:b><c/><p:d xmlns=\"\"><e/></p:d></p:b></p:a>",
            &[0],
            &[]
        ),
        "<p:b xmlns:p=\"urn:p\"><c xmlns=\"urn:d\"></c><p:d><e></e></p:d></p:b>"
    );
}

#[test]
fn attr_sorting() {
    assert_eq!(
        c14n_at(
            "<a xmlns:z=\"urn:a\" xmlns:b=\"urn:z\" b:x=\"1\" z:x=\"2\" y=\"3\" a=\"4\" z:a=\"5\"/>",
            &[],
            &[]
        ),
        "<a xmlns:b=\"urn:z\" xmlns:z=\"urn:a\" a=\"4\" y=\"3\" z:a=\"5\" z:x=\"2\" b:x=\"1\"></a>"
    );
}

#[test]
fn escaping() {
    assert_eq!(
        c14n_at(
            "<a t=\"&lt;&amp;&quot;&#9;&#10;&#13;&gt;'\">&lt;&amp;&gt;&#13;\"'<![CDATA[<x>&]]></a>",
            &[],
            &[]
        ),
        "<a t=\"&lt;&amp;&quot;&#x9;&#xA;&#xD;>'\">&lt;&amp;&gt;&#xD;\"'&lt;x&gt;&amp;</a>"
    );
}

#[test]
fn attr_whitespace_normalized() {
    assert_eq!(
        c14n_at("<a t=\"x\ty\nz\r\nw\"/>", &[], &[]),
        "<a t=\"x y z w\"></a>"
    );
}

#[test]
fn text_crlf() {
    assert_eq!(c14n_at("<a>x\r\ny\rz</a>", &[], &[]), "<a>x\ny\nz</a>");
}

#[test]
fn unused_decls_dropped() {
    assert_eq!(
        c14n_at(
            "<a xmlns:u=\"urn:u\" xmlns:v=\"urn:v\"><b xmlns:w=\"urn:w\"/></a>",
            &[],
            &[]
        ),
        "<a><b></b></a>"
    );
}

#[test]
fn inclusive_prefixes() {
    assert_eq!(
        c14n_at(
            "<r xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"><saml:Assertion><saml:AttributeValue xsi:type=\"xs:string\">v</saml:AttributeValue></saml:Assertion></r>",
            &[0],
            &["xs"]
        ),
        "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"><saml:AttributeValue xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"xs:string\">v</saml:AttributeValue></saml:Assertion>"
    );
}

#[test]
fn redeclared_same_value() {
    assert_eq!(
        c14n_at(
            "<p:a xmlns:p=\"urn:p\"><p:b xmlns:p=\"urn:p\"><p:c xmlns:p=\"urn:q\"/></p:b></p:a>",
            &[],
            &[]
        ),
        "<p:a xmlns:p=\"urn:p\"><p:b><p:c xmlns:p=\"urn:q\"></p:c></p:b></p:a>"
    );
}

#[test]
fn comments_removed() {
    assert_eq!(
        c14n_at("<a><!-- c -->x<!-- d -->y<b><!----></b></a>", &[], &[]),
        "<a>xy<b></b></a>"
    );
}

#[test]
fn xml_attrs_not_inherited() {
    assert_eq!(
        c14n_at(
            "<a xml:lang=\"en\" xml:space=\"preserve\"><b xml:lang=\"fr\"><c/></b></a>",
            &[0],
            &[]
        ),
        "<b xml:lang=\"fr\"><c></c></b>"
    );
}

#[test]
fn two_prefixes_same_uri() {
    assert_eq!(
        c14n_at(
            "<saml:A xmlns:saml=\"urn:s\" xmlns:saml2=\"urn:s\"><saml2:B saml:x=\"1\"/></saml:A>",
            &[],
            &[]
        ),
        "<saml:A xmlns:saml=\"urn:s\"><saml2:B xmlns:saml2=\"urn:s\" saml:x=\"1\"></saml2:B></saml:A>"
    );
}

#[test]
fn nested_default_changes() {
    assert_eq!(
        c14n_at(
            "<a xmlns=\"urn:1\"><b xmlns=\"urn:2\"><c xmlns=\"urn:1\"/></b></a>",
            &[],
            &[]
        ),
        "<a xmlns=\"urn:1\"><b xmlns=\"urn:2\"><c xmlns=\"urn:1\"></c></b></a>"
    );
}

#[test]
fn unicode() {
    assert_eq!(
        c14n_at("<a t=\"é€😀\">ü &#x1F600; &#233;</a>", &[], &[]),
        "<a t=\"é€😀\">ü 😀 é</a>"
    );
}
