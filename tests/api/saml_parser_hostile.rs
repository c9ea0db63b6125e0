//! Parser-differential responses: shapes one XML parser reads differently from another, so a
//! check done on one tree proves nothing about what a second parser (or a verifier with its
//! own reader) acts on. The ACS parses a response once, strictly, and everything works on that
//! tree, so each shape here is either refused with a reason code before any signature work, or
//! read exactly as it was signed.
//!
//! Classes covered, one test (or one test's table) each:
//! - a signature hidden by a namespace undeclaration (`xmlns:ds=""`), with http canaries in
//!   every URI-bearing place: nothing is fetched;
//! - the same with `file:` references: refused at once, the process alive (`/dev/zero` in its
//!   own test);
//! - a signature hidden by a default namespace or another prefix: still a signature;
//! - Reference and ID confusion (an ID inside Extensions, IDs twice, `xml:id`, XPointer);
//! - undefined entities (billion laughs without a DTD) and illegal character references;
//! - DOCTYPE in any form;
//! - encodings and the XML declaration (the `version='encoding="utf-8"'` trick, UTF-16, bad
//!   UTF-8);
//! - malformed structure (`]]>` in text, text after the root, two roots, ...);
//! - processing instructions;
//! - namespace errors;
//! - bounds: depth, attribute count, name length;
//! - comments, CDATA and references never change a signed value;
//! - whitespace and line ends in signed attribute values and text;
//! - namespace rebinding inside signed content;
//! - canonicalization cost: a long InclusiveNamespaces PrefixList from a keyless attacker;
//! - benign shapes a strict parser must still accept (guards the rest).
//!
//! After every hostile post the gateway must still answer `/readyz`.
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ssogate::protocol::saml::sign::sign_template;
use ssogate::storage::login_attempts::Attempt;

use crate::helpers::TestApp;
use crate::saml_fixtures::*;
use crate::saml_hostile::{C, T, setup};
use crate::support::canary::Canary;

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const EXT: &str = "urn:example:ext";
const XSLT: &str = "http://www.w3.org/TR/1999/REC-xslt-19991116";
const MALFORMED: &[&str] = &["malformed_xml"];
const FORBIDDEN: &[&str] = &["forbidden_xml_construct"];
const DOCTYPE: &[&str] = &["doctype_forbidden"];
const ENCODING: &[&str] = &["malformed_encoding"];
/// Where two codes are equally right (a malformed declaration, or its encoding).
const XML_OR_ENCODING: &[&str] = &["malformed_xml", "malformed_encoding"];
/// One table case: the edit that makes a valid signed response hostile.
type Edit = Box<dyn Fn(&str) -> String>;
/// A refusal must come at once, not after reading a device or waiting for a socket.
const AT_ONCE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

async fn assert_ready(app: &TestApp, case: &str) {
    let res = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{case}: /readyz unreachable after the post: {e}"));
    assert_eq!(res.status(), 200, "{case}: /readyz after the post");
}

async fn post_bytes(app: &TestApp, xml: &[u8], relay_state: Option<&str>) -> reqwest::Response {
    let mut form = vec![("SAMLResponse".to_owned(), STANDARD.encode(xml))];
    if let Some(rs) = relay_state {
        form.push(("RelayState".to_owned(), rs.to_owned()));
    }
    app.client
        .post(app.acs_url(T, C))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn newest(app: &TestApp) -> Option<Attempt> {
    app.sign_ins(T).into_iter().next()
}

/// Like `saml_hostile::assert_refused`, for table cases: takes bytes (bad UTF-8 and UTF-16
/// included), names the case in every message, accepts a set of reasons where two codes are
/// equally right, checks that this post recorded exactly one outcome in the sign-in history
/// (a row, or one more in a count of refusals nothing tied to a sign-in), and that `/readyz`
/// still answers. Returns how long the ACS took.
async fn refused(
    app: &TestApp,
    case: &str,
    xml: impl AsRef<[u8]>,
    relay_state: Option<&str>,
    reasons: &[&str],
) -> Duration {
    let users_before = app.users(T).len();
    let mark = app.history_mark(T);
    let started = Instant::now();
    let res = post_bytes(app, xml.as_ref(), relay_state).await;
    let took = started.elapsed();
    let status = res.status().as_u16();
    assert!(
        res.headers().get("set-cookie").is_none(),
        "{case}: a refused sign-in must not set a cookie"
    );
    let recorded = app.recorded_since(T, &mark);
    let [outcome] = recorded.as_slice() else {
        panic!("{case}: this post should record one outcome (status {status}): {recorded:?}");
    };
    assert!(
        reasons.contains(&outcome.reason.as_str()),
        "{case}: refused as `{}` ({}), expected one of {reasons:?}",
        outcome.reason,
        outcome.detail
    );
    assert!(
        (400..500).contains(&status),
        "{case}: expected a client error, got {status}"
    );
    assert_eq!(
        app.users(T).len(),
        users_before,
        "{case}: a refused response created a user"
    );
    assert_ready(app, case).await;
    took
}

/// Posts `xml` and asserts a completed sign-in; returns its record.
async fn accepted(app: &TestApp, case: &str, xml: impl AsRef<[u8]>, relay_state: &str) -> Attempt {
    let res = post_bytes(app, xml.as_ref(), Some(relay_state)).await;
    let status = res.status().as_u16();
    let attempt = newest(app).unwrap_or_else(|| panic!("{case}: no sign-in recorded"));
    assert_eq!(
        (status, attempt.reason.as_str()),
        (303, "success"),
        "{case}: expected a sign-in; detail: {}",
        attempt.detail
    );
    assert_ready(app, case).await;
    attempt
}

/// A pending request and a valid response for it, with a subject and email of its own
/// (`n`), so accepted cases in one test never collide on an identity.
async fn fresh(app: &TestApp, idp: &TestIdp, n: usize) -> (Resp, String) {
    let (req, rs) = app.start_login(T, C, None).await;
    let mut r = Resp::valid(app, T, C, idp, Some(&req)).attr("email", &format!("u{n}@acme.test"));
    r.name_id = format!("subject-{n}");
    (r, rs)
}

/// Replaces the first `from` (which must be there: a fixture that silently changes nothing
/// would test nothing).
fn swap(doc: &str, from: &str, to: &str) -> String {
    assert!(
        doc.contains(from),
        "fixture: `{from}` is not in the document"
    );
    doc.replacen(from, to, 1)
}

/// `inner` as samlp:Extensions, where the schema allows it (after Issuer and Signature).
fn with_extensions(doc: &str, inner: &str) -> String {
    swap(
        doc,
        "<samlp:Status>",
        &format!("<samlp:Extensions>{inner}</samlp:Extensions><samlp:Status>"),
    )
}

/// Adds namespace declarations (or other attributes) to the root element.
fn on_root(doc: &str, attrs: &str) -> String {
    swap(
        doc,
        "<samlp:Response ",
        &format!("<samlp:Response {attrs} "),
    )
}

/// Splices raw bytes into a document before `marker`.
fn splice(doc: &str, marker: &str, bytes: &[u8]) -> Vec<u8> {
    let at = doc.find(marker).expect("marker in the document");
    let mut out = doc.as_bytes()[..at].to_vec();
    out.extend_from_slice(bytes);
    out.extend_from_slice(&doc.as_bytes()[at..]);
    out
}

/// The response with its assertion signed after `edit` changed the assertion's XML: the IdP
/// itself signed the edited content, so the signature is genuine.
fn signed_after_edit(r: &Resp, idp: &TestIdp, edit: impl FnOnce(String) -> String) -> String {
    assert_eq!(
        r.sign,
        SignWhat::Assertion,
        "fixture signs the assertion only"
    );
    let template = edit(r.assertion_xml());
    let signed = strip_declaration(
        &sign_template(&template, &idp.key_der).expect("test fixture signs the assertion"),
    );
    let mut bare = r.clone();
    bare.sign = SignWhat::Nothing;
    swap(&bare.signed(idp), &bare.assertion_xml(), &signed)
}

/// A complete-looking ds:Signature; `p` is the element prefix with its colon ("ds:") or ""
/// (default namespace), `attrs` goes on the Signature element.
fn signature_xml(p: &str, attrs: &str, reference_uri: &str, inside: &str) -> String {
    format!(
        r#"<{p}Signature{attrs}><{p}SignedInfo><{p}CanonicalizationMethod Algorithm="{EXC_C14N}"/><{p}SignatureMethod Algorithm="{RSA_SHA256}"/><{p}Reference URI="{reference_uri}"><{p}Transforms><{p}Transform Algorithm="{ENVELOPED}"/><{p}Transform Algorithm="{EXC_C14N}"/></{p}Transforms><{p}DigestMethod Algorithm="{SHA256}"/><{p}DigestValue>AAAA</{p}DigestValue></{p}Reference></{p}SignedInfo><{p}SignatureValue>AAAA</{p}SignatureValue>{inside}</{p}Signature>"#
    )
}

/// KeyInfo naming `uri` in each place a verifier might dereference: RetrievalMethod,
/// dsig11:KeyInfoReference, an encrypted key's CipherReference.
fn key_info_fetching(p: &str, uri: &str) -> String {
    format!(
        r#"<{p}KeyInfo><{p}RetrievalMethod URI="{uri}" Type="http://www.w3.org/2000/09/xmldsig#X509Data"/><dsig11:KeyInfoReference xmlns:dsig11="http://www.w3.org/2009/xmldsig11#" URI="{uri}"/><xenc:EncryptedKey xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/><xenc:CipherData><xenc:CipherReference URI="{uri}"/></xenc:CipherData></xenc:EncryptedKey></{p}KeyInfo>"#
    )
}

/// KeyInfo naming `uri` only where no ds:RetrievalMethod is involved (refused on its own).
fn key_info_refs(p: &str, uri: &str) -> String {
    format!(
        r#"<{p}KeyInfo><dsig11:KeyInfoReference xmlns:dsig11="http://www.w3.org/2009/xmldsig11#" URI="{uri}"/><xenc:EncryptedKey xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:CipherData><xenc:CipherReference URI="{uri}"/></xenc:CipherData></xenc:EncryptedKey></{p}KeyInfo>"#
    )
}

/// A signature naming `uri` everywhere at once: Reference, an XSLT `document()`, KeyInfo, and
/// a Manifest in an Object.
fn signature_fetching_everything(p: &str, attrs: &str, uri: &str) -> String {
    let sig = signature_xml(
        p,
        attrs,
        uri,
        &format!(
            r#"{ki}<{p}Object><{p}Manifest><{p}Reference URI="{uri}"><{p}DigestMethod Algorithm="{SHA256}"/><{p}DigestValue>AAAA</{p}DigestValue></{p}Reference></{p}Manifest></{p}Object>"#,
            ki = key_info_fetching(p, uri)
        ),
    );
    swap(
        &sig,
        &format!("<{p}Transforms>"),
        &format!(
            r#"<{p}Transforms><{p}Transform Algorithm="{XSLT}"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:copy-of select="document('{uri}')"/></xsl:template></xsl:stylesheet></{p}Transform>"#
        ),
    )
}

/// The issue's shape: `ds` declared on the root, undeclared on an element inside
/// Extensions, a ds:Signature below it. A namespace-1.1 reader (roxmltree) sees an element
/// named `ds:Signature` in no namespace; libxml2 keeps the root's binding and sees XML-DSig.
fn hidden_under_undeclaration(doc: &str, signature: &str) -> String {
    with_extensions(
        &on_root(doc, &format!(r#"xmlns:ds="{DSIG}""#)),
        &format!(r#"<x xmlns:ds="">{signature}</x>"#),
    )
}

/// An unsigned response answering no request: what an attacker with nothing but the ACS URL
/// sends.
fn attacker_response(app: &TestApp, idp: &TestIdp) -> String {
    let mut r = Resp::valid(app, T, C, idp, None);
    r.sign = SignWhat::Nothing;
    r.signed(idp)
}

// ---------------------------------------------------------------------------------------
// Signatures hidden by a namespace undeclaration
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn signature_hidden_by_a_prefix_undeclaration_is_refused_and_fetches_nothing() {
    let (app, idp) = setup().await;
    let canary = Canary::start();
    let url = canary.url.clone();
    let attacker = attacker_response(&app, &idp);

    // The attacker's view: no key, no cookie, no pending request.
    for (case, sig) in [
        (
            "ds:Signature under <x xmlns:ds=\"\">, http Reference",
            signature_xml("ds:", "", &url, ""),
        ),
        (
            "the same, http URIs in KeyInfo (RetrievalMethod, KeyInfoReference, CipherReference)",
            signature_xml("ds:", "", "", &key_info_fetching("ds:", &url)),
        ),
        (
            "the same, every URI-bearing construct at once",
            signature_fetching_everything("ds:", "", &url),
        ),
    ] {
        let xml = hidden_under_undeclaration(&attacker, &sig);
        refused(&app, case, &xml, None, MALFORMED).await;
        canary.assert_untouched(case);
    }

    // The undeclaration on the Signature element itself.
    let xml = with_extensions(
        &on_root(&attacker, &format!(r#"xmlns:ds="{DSIG}""#)),
        &signature_xml("ds:", r#" xmlns:ds="""#, &url, ""),
    );
    let case = "<ds:Signature xmlns:ds=\"\">";
    refused(&app, case, &xml, None, MALFORMED).await;
    canary.assert_untouched(case);

    // Another prefix, declared on the root and undeclared below.
    let xml = with_extensions(
        &on_root(&attacker, &format!(r#"xmlns:sig="{DSIG}""#)),
        &format!(
            r#"<e:x xmlns:e="{EXT}"><y xmlns:sig="">{}</y></e:x>"#,
            signature_xml("sig:", "", &url, "")
        ),
    );
    let case = "sig:Signature under xmlns:sig=\"\" two levels down";
    refused(&app, case, &xml, None, MALFORMED).await;
    canary.assert_untouched(case);

    // With a genuinely signed assertion and a pending request: still refused, nothing fetched.
    let (r, rs) = fresh(&app, &idp, 1).await;
    let xml = hidden_under_undeclaration(&r.signed(&idp), &signature_xml("ds:", "", &url, ""));
    let case = "hidden signature next to a genuinely signed assertion";
    refused(&app, case, &xml, Some(&rs), MALFORMED).await;
    canary.assert_untouched(case);

    // Inside the signed assertion's AttributeValue (added after signing: the parse refuses
    // before any digest is computed).
    let (r, rs) = fresh(&app, &idp, 2).await;
    let xml = swap(
        &on_root(&r.signed(&idp), &format!(r#"xmlns:ds="{DSIG}""#)),
        "<saml:AttributeValue>Ada</saml:AttributeValue>",
        &format!(
            r#"<saml:AttributeValue><x xmlns:ds="">{}</x>Ada</saml:AttributeValue>"#,
            signature_xml("ds:", "", &url, "")
        ),
    );
    let case = "hidden signature inside a signed AttributeValue";
    refused(&app, case, &xml, Some(&rs), MALFORMED).await;
    canary.assert_untouched(case);

    // The same trick hiding a second assertion instead of a signature.
    let (r, rs) = fresh(&app, &idp, 3).await;
    let mut evil = r.clone();
    evil.assertion_id = ssogate::random::saml_id();
    evil.name_id = "evil".into();
    evil.sign = SignWhat::Nothing;
    let xml = with_extensions(
        &on_root(&r.signed(&idp), &format!(r#"xmlns:saml="{ASSERTION_NS}""#)),
        &format!(
            r#"<x xmlns:saml="">{}</x>"#,
            evil.assertion_xml()
                .replacen(&format!(r#" xmlns:saml="{ASSERTION_NS}""#), "", 1)
        ),
    );
    let case = "saml:Assertion hidden under xmlns:saml=\"\"";
    refused(&app, case, &xml, Some(&rs), MALFORMED).await;
    canary.assert_untouched(case);
}

#[tokio::test]
async fn file_references_are_refused_at_once_and_the_process_stays_up() {
    let (app, idp) = setup().await;
    let hostname = "file:///etc/hostname";
    let attacker = attacker_response(&app, &idp);

    for (case, xml, reasons) in [
        (
            "hidden (xmlns:ds=\"\") Reference file:///etc/hostname",
            hidden_under_undeclaration(&attacker, &signature_xml("ds:", "", hostname, "")),
            MALFORMED,
        ),
        (
            "hidden (xmlns:ds=\"\") RetrievalMethod file:///etc/hostname",
            hidden_under_undeclaration(
                &attacker,
                &signature_xml("ds:", "", "", &key_info_fetching("ds:", hostname)),
            ),
            MALFORMED,
        ),
        (
            "default-namespace Signature in Extensions, Reference file:///etc/hostname",
            with_extensions(
                &attacker,
                &signature_xml("", &format!(r#" xmlns="{DSIG}""#), hostname, ""),
            ),
            FORBIDDEN,
        ),
        (
            "default-namespace Signature in Extensions, Reference file:///dev/zero",
            with_extensions(
                &attacker,
                &signature_xml("", &format!(r#" xmlns="{DSIG}""#), "file:///dev/zero", ""),
            ),
            FORBIDDEN,
        ),
    ] {
        let took = refused(&app, case, &xml, None, reasons).await;
        assert!(took < AT_ONCE, "{case}: took {took:?}");
    }

    // The visible assertion signature pointing at files.
    for uri in [hostname, "file:///dev/zero", "file:///proc/self/environ"] {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let xml = swap(
            &r.signed(&idp),
            &format!("URI=\"#{}\"", r.assertion_id),
            &format!(r#"URI="{uri}""#),
        );
        let case = format!("signed assertion, Reference {uri}");
        let took = refused(&app, &case, &xml, Some(&rs), &["invalid_reference"]).await;
        assert!(took < AT_ONCE, "{case}: took {took:?}");
    }
    // A file in the visible signature's KeyInfo: KeyInfo is outside SignedInfo, so the
    // signature stays valid; the RetrievalMethod is refused as in saml_hostile.
    let (r, rs) = fresh(&app, &idp, 0).await;
    let xml = swap(
        &r.signed(&idp),
        "</ds:SignatureValue>",
        &format!(
            "</ds:SignatureValue>{}",
            key_info_fetching("ds:", "file:///dev/zero")
        ),
    );
    let case = "signed assertion, KeyInfo naming file:///dev/zero";
    let took = refused(&app, case, &xml, Some(&rs), FORBIDDEN).await;
    assert!(took < AT_ONCE, "{case}: took {took:?}");
}

/// Against the libxml2/xmlsec verifier this shape grows the process to about 4 GiB and it
/// dies with SIGSEGV, taking the whole test binary with it (the app runs in-process): run it
/// only where the strict parser refuses the undeclaration.
#[tokio::test]
async fn hidden_signature_with_a_dev_zero_reference_leaves_the_process_alive() {
    let (app, idp) = setup().await;
    let zero = "file:///dev/zero";
    let attacker = attacker_response(&app, &idp);
    for (case, sig) in [
        (
            "hidden (xmlns:ds=\"\") Reference file:///dev/zero",
            signature_xml("ds:", "", zero, ""),
        ),
        (
            "hidden (xmlns:ds=\"\") KeyInfo naming file:///dev/zero",
            signature_xml("ds:", "", "", &key_info_fetching("ds:", zero)),
        ),
        (
            "hidden (xmlns:ds=\"\") signature naming file:///dev/zero everywhere",
            signature_fetching_everything("ds:", "", zero),
        ),
    ] {
        let xml = hidden_under_undeclaration(&attacker, &sig);
        let took = refused(&app, case, &xml, None, MALFORMED).await;
        assert!(took < AT_ONCE, "{case}: took {took:?}");
    }
    // And next to a genuinely signed assertion with a pending request.
    let (r, rs) = fresh(&app, &idp, 0).await;
    let xml = hidden_under_undeclaration(&r.signed(&idp), &signature_xml("ds:", "", zero, ""));
    let case = "hidden /dev/zero Reference next to a signed assertion";
    let took = refused(&app, case, &xml, Some(&rs), MALFORMED).await;
    assert!(took < AT_ONCE, "{case}: took {took:?}");
}

// ---------------------------------------------------------------------------------------
// Signatures hidden by a default namespace or another prefix
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_signature_in_the_default_namespace_or_another_prefix_is_still_a_signature() {
    let (app, idp) = setup().await;
    let canary = Canary::start();
    let url = canary.url.clone();
    let default_ns = format!(r#" xmlns="{DSIG}""#);

    let (r, rs) = fresh(&app, &idp, 0).await;
    let signed = r.signed(&idp);
    for (case, inner) in [
        (
            "<Signature xmlns=dsig> in Extensions",
            signature_xml("", &default_ns, &url, ""),
        ),
        (
            "<Signature xmlns=dsig> in Extensions, every URI-bearing construct",
            signature_fetching_everything("", &default_ns, &url),
        ),
        (
            "<Signature xmlns=dsig> nested in an extension element",
            format!(
                r#"<e:x xmlns:e="{EXT}"><e:y>{}</e:y></e:x>"#,
                signature_xml("", &default_ns, &url, "")
            ),
        ),
        (
            "<sig:Signature xmlns:sig=dsig> (another prefix) in Extensions",
            signature_xml("sig:", &format!(r#" xmlns:sig="{DSIG}""#), &url, ""),
        ),
        (
            "prefix declared after its use in the same start tag",
            signature_xml(
                "sig:",
                &format!(r#" sig:a="1" xmlns:sig="{DSIG}""#),
                &url,
                "",
            ),
        ),
    ] {
        let xml = with_extensions(&signed, &inner);
        refused(&app, case, &xml, Some(&rs), FORBIDDEN).await;
        canary.assert_untouched(case);
    }

    // Inside an AttributeValue of the assertion, signed by the IdP together with it: the
    // assertion's own signature is genuine, the nested one a signature out of place. (It
    // references its own parent, as every signature the fixture signer reads must; the
    // canary sits in its KeyInfo.)
    for (n, (case, p, attrs)) in [
        (
            "<Signature xmlns=dsig> in a signed AttributeValue",
            "",
            default_ns.clone(),
        ),
        (
            "<ds:Signature> in a signed AttributeValue",
            "ds:",
            format!(r#" xmlns:ds="{DSIG}""#),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (r, rs) = fresh(&app, &idp, n + 1).await;
        let inner = signature_xml(p, &attrs, "#_nested", &key_info_refs(p, &url));
        let xml = signed_after_edit(&r, &idp, |a| {
            swap(
                &a,
                "<saml:AttributeValue>Ada</saml:AttributeValue>",
                &format!(r#"<saml:AttributeValue ID="_nested">{inner}Ada</saml:AttributeValue>"#),
            )
        });
        refused(&app, case, &xml, Some(&rs), FORBIDDEN).await;
        canary.assert_untouched(case);
    }
}

// ---------------------------------------------------------------------------------------
// Reference and ID confusion
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn references_resolve_only_to_the_signed_element_by_its_one_id() {
    let (app, idp) = setup().await;
    let canary = Canary::start();
    let url = canary.url.clone();

    // Reference URIs that are not a same-document `#ID` of the signature's parent.
    let shapes: Vec<fn(&str, &str) -> String> = vec![
        |_, _| "#xpointer(/)".into(),
        |aid, _| format!("#xpointer(id('{aid}'))"),
        |aid, _| aid.into(),
        |aid, _| format!("#{aid} "),
        |aid, _| format!("# {aid}"),
        |aid, _| format!("#%5F{}", &aid[1..]),
        |aid, url| format!("{url}#{aid}"),
        |_, url| url.trim_start_matches("http:").into(),
        |_, _| "data:,x".into(),
    ];
    for shape in shapes {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let uri = shape(&r.assertion_id, &url);
        let xml = swap(
            &r.signed(&idp),
            &format!("URI=\"#{}\"", r.assertion_id),
            &format!(r#"URI="{uri}""#),
        );
        let case = format!("Reference URI `{uri}`");
        refused(&app, &case, &xml, Some(&rs), &["invalid_reference"]).await;
        canary.assert_untouched(&case);
    }

    // The assertion's signature pointing at an element inside Extensions.
    let (r, rs) = fresh(&app, &idp, 0).await;
    let xml = with_extensions(
        &swap(
            &r.signed(&idp),
            &format!("URI=\"#{}\"", r.assertion_id),
            r##"URI="#_inext""##,
        ),
        &format!(r#"<e:x xmlns:e="{EXT}" ID="_inext">x</e:x>"#),
    );
    refused(
        &app,
        "assertion Reference to an ID inside Extensions",
        &xml,
        Some(&rs),
        &["invalid_reference"],
    )
    .await;
    // A Response signature pointing there instead of at the Response.
    let (mut r, rs) = fresh(&app, &idp, 0).await;
    r.sign = SignWhat::Response;
    let xml = with_extensions(
        &swap(
            &r.signed(&idp),
            &format!("URI=\"#{}\"", r.response_id),
            r##"URI="#_inext""##,
        ),
        &format!(r#"<e:x xmlns:e="{EXT}" ID="_inext">x</e:x>"#),
    );
    refused(
        &app,
        "Response Reference to an ID inside Extensions",
        &xml,
        Some(&rs),
        &["invalid_reference"],
    )
    .await;

    // The signed assertion's ID declared a second time inside Extensions, as ID and xml:id,
    // and as a namespaced ID.
    for (case, attr) in [
        ("the assertion's ID again inside Extensions", "ID"),
        ("the assertion's ID as xml:id inside Extensions", "xml:id"),
        ("the assertion's ID as e:ID inside Extensions", "e:ID"),
    ] {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let xml = with_extensions(
            &r.signed(&idp),
            &format!(
                r#"<e:x xmlns:e="{EXT}" {attr}="{}">shadow</e:x>"#,
                r.assertion_id
            ),
        );
        refused(&app, case, &xml, Some(&rs), FORBIDDEN).await;
    }
    // xml:id alone, with a fresh value.
    let (r, rs) = fresh(&app, &idp, 0).await;
    let xml = with_extensions(
        &r.signed(&idp),
        &format!(r#"<e:x xmlns:e="{EXT}" xml:id="_fresh">x</e:x>"#),
    );
    refused(&app, "xml:id inside Extensions", &xml, Some(&rs), FORBIDDEN).await;

    // Wrapping: the genuinely signed assertion moved into Extensions, an evil unsigned one
    // in its place.
    let (r, rs) = fresh(&app, &idp, 0).await;
    let signed = r.signed(&idp);
    let start = signed.find("<saml:Assertion").unwrap();
    let end = signed.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let genuine = signed[start..end].to_owned();
    let mut evil = r.clone();
    evil.assertion_id = ssogate::random::saml_id();
    evil.name_id = "evil".into();
    evil.sign = SignWhat::Nothing;
    let xml = with_extensions(&swap(&signed, &genuine, &evil.assertion_xml()), &genuine);
    refused(
        &app,
        "signed assertion wrapped in Extensions, evil one in place",
        &xml,
        Some(&rs),
        FORBIDDEN,
    )
    .await;

    // An ID written with surrounding whitespace no longer matches the Reference.
    let (r, rs) = fresh(&app, &idp, 0).await;
    let xml = swap(
        &r.signed(&idp),
        &format!(r#"ID="{}""#, r.assertion_id),
        &format!(r#"ID=" {} ""#, r.assertion_id),
    );
    refused(
        &app,
        "assertion ID with surrounding spaces",
        &xml,
        Some(&rs),
        &["invalid_reference"],
    )
    .await;

    // An ID spelled with a character reference is refused outright (the parser's choice:
    // no ID is ever compared in two spellings).
    let (r, rs) = fresh(&app, &idp, 1).await;
    let xml = swap(
        &r.signed(&idp),
        &format!(r#"ID="{}""#, r.assertion_id),
        &format!(r#"ID="&#95;{}""#, &r.assertion_id[1..]),
    );
    refused(
        &app,
        "assertion ID written with &#95;",
        &xml,
        Some(&rs),
        FORBIDDEN,
    )
    .await;
    // Control: the Reference URI is an ordinary attribute, decoded before it is compared,
    // and its canonical form is what was signed.
    let (r, rs) = fresh(&app, &idp, 2).await;
    let xml = swap(
        &r.signed(&idp),
        &format!("URI=\"#{}\"", r.assertion_id),
        &format!(r#"URI="&#35;{}""#, r.assertion_id),
    );
    accepted(&app, "Reference URI written with &#35;", &xml, &rs).await;
    canary.assert_untouched("references");
}

// ---------------------------------------------------------------------------------------
// Entities and character references
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn undefined_entities_and_illegal_characters_are_refused() {
    let (app, idp) = setup().await;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "undefined entity &foo; in Extensions",
            Box::new(|d: &str| with_extensions(d, &ext("&foo;"))),
        ),
        (
            "billion laughs without a DTD: &lol9;",
            Box::new(|d: &str| with_extensions(d, &ext("&lol9;&lol9;&lol9;"))),
        ),
        (
            "undefined entity in the NameID",
            Box::new(|d: &str| swap(d, "</saml:NameID>", "&foo;</saml:NameID>")),
        ),
        (
            "undefined entity in an attribute value",
            Box::new(|d: &str| with_extensions(d, &format!(r#"<e:x xmlns:e="{EXT}" v="&foo;"/>"#))),
        ),
        (
            "&#0;",
            Box::new(|d: &str| with_extensions(d, &ext("a&#0;b"))),
        ),
        (
            "&#x0;",
            Box::new(|d: &str| with_extensions(d, &ext("a&#x0;b"))),
        ),
        (
            "&#x1;",
            Box::new(|d: &str| with_extensions(d, &ext("a&#x1;b"))),
        ),
        (
            "&#x1F;",
            Box::new(|d: &str| with_extensions(d, &ext("a&#x1F;b"))),
        ),
        (
            "&#1; in an attribute value",
            Box::new(|d: &str| with_extensions(d, &format!(r#"<e:x xmlns:e="{EXT}" v="&#1;"/>"#))),
        ),
        (
            "&#0; in the signed NameID",
            Box::new(|d: &str| swap(d, "</saml:NameID>", "&#0;</saml:NameID>")),
        ),
        (
            "surrogate &#xD800;",
            Box::new(|d: &str| with_extensions(d, &ext("&#xD800;"))),
        ),
        (
            "non-character &#xFFFE;",
            Box::new(|d: &str| with_extensions(d, &ext("&#xFFFE;"))),
        ),
        (
            "beyond Unicode &#x110000;",
            Box::new(|d: &str| with_extensions(d, &ext("&#x110000;"))),
        ),
        (
            "huge &#99999999999999999999;",
            Box::new(|d: &str| with_extensions(d, &ext("&#99999999999999999999;"))),
        ),
        (
            "empty &#;",
            Box::new(|d: &str| with_extensions(d, &ext("&#;"))),
        ),
        (
            "empty &#x;",
            Box::new(|d: &str| with_extensions(d, &ext("&#x;"))),
        ),
        (
            "not hex &#xZZ;",
            Box::new(|d: &str| with_extensions(d, &ext("&#xZZ;"))),
        ),
        (
            "unterminated &amp",
            Box::new(|d: &str| with_extensions(d, &ext("&amp x"))),
        ),
        (
            "bare &",
            Box::new(|d: &str| with_extensions(d, &ext("a & b"))),
        ),
        (
            "raw NUL",
            Box::new(|d: &str| with_extensions(d, &ext("a\0b"))),
        ),
        (
            "raw U+0001",
            Box::new(|d: &str| with_extensions(d, &ext("a\u{1}b"))),
        ),
        (
            "raw U+000B",
            Box::new(|d: &str| with_extensions(d, &ext("a\u{b}b"))),
        ),
        (
            "raw U+FFFE",
            Box::new(|d: &str| with_extensions(d, &ext("a\u{fffe}b"))),
        ),
        (
            "raw NUL in the signed NameID",
            Box::new(|d: &str| swap(d, "</saml:NameID>", "\0</saml:NameID>")),
        ),
    ];
    for (case, make) in cases {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let xml = make(&r.signed(&idp));
        // A raw non-XML character is valid UTF-8 but no XML Char: either code is right.
        let reasons: &[&str] = if case.starts_with("raw") {
            &["malformed_xml", "malformed_encoding"]
        } else {
            MALFORMED
        };
        refused(&app, case, &xml, Some(&rs), reasons).await;
    }
}

// ---------------------------------------------------------------------------------------
// DOCTYPE
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_doctype_in_any_form_is_refused_and_fetches_nothing() {
    let (app, idp) = setup().await;
    let canary = Canary::start();
    let url = canary.url.clone();
    let lol = "<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">";
    for (case, prefix, reasons) in [
        (
            "bare DOCTYPE",
            "<!DOCTYPE samlp:Response>".to_owned(),
            DOCTYPE,
        ),
        (
            "DOCTYPE with a SYSTEM canary",
            format!("<!DOCTYPE samlp:Response SYSTEM \"{url}\">"),
            DOCTYPE,
        ),
        (
            "DOCTYPE with a PUBLIC id and canary",
            format!("<!DOCTYPE samlp:Response PUBLIC \"-//X//Y//EN\" \"{url}\">"),
            DOCTYPE,
        ),
        (
            "DOCTYPE with an external parameter entity",
            format!("<!DOCTYPE samlp:Response [<!ENTITY % p SYSTEM \"{url}\"> %p;]>"),
            DOCTYPE,
        ),
        (
            "DOCTYPE with billion laughs",
            format!("<!DOCTYPE samlp:Response [{lol}]>"),
            DOCTYPE,
        ),
        (
            "DOCTYPE SYSTEM file:///dev/zero",
            "<!DOCTYPE samlp:Response SYSTEM \"file:///dev/zero\">".to_owned(),
            DOCTYPE,
        ),
        (
            "DOCTYPE after the XML declaration",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><!DOCTYPE samlp:Response>".to_owned(),
            DOCTYPE,
        ),
        (
            "DOCTYPE after a comment",
            "<!-- x --><!DOCTYPE samlp:Response>".to_owned(),
            DOCTYPE,
        ),
        // Not a DOCTYPE to XML (case matters), just malformed; either code is right.
        (
            "lowercase <!doctype>",
            "<!doctype samlp:Response>".to_owned(),
            &["malformed_xml", "doctype_forbidden"][..],
        ),
    ] {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let xml = format!("{prefix}{}", r.signed(&idp));
        refused(&app, case, &xml, Some(&rs), reasons).await;
        canary.assert_untouched(case);
    }
    // A DOCTYPE inside the content is malformed wherever it is.
    let (r, rs) = fresh(&app, &idp, 0).await;
    let xml = with_extensions(&r.signed(&idp), "<!DOCTYPE x>");
    refused(
        &app,
        "DOCTYPE inside Extensions",
        &xml,
        Some(&rs),
        &["malformed_xml", "doctype_forbidden"],
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Encodings and the XML declaration
// ---------------------------------------------------------------------------------------

/// A ds:Signature spelled in UTF-7: text to a UTF-8 reader, markup to a reader honouring
/// the declaration.
fn utf7_signature(url: &str) -> String {
    format!(
        "+ADw-ds:Signature xmlns:ds=+ACI-{DSIG}+ACI-+AD4-+ADw-ds:SignedInfo+AD4-\
         +ADw-ds:CanonicalizationMethod Algorithm=+ACI-{EXC_C14N}+ACI-/+AD4-\
         +ADw-ds:SignatureMethod Algorithm=+ACI-{RSA_SHA256}+ACI-/+AD4-\
         +ADw-ds:Reference URI=+ACI-{url}+ACI-+AD4-+ADw-ds:DigestMethod Algorithm=+ACI-{SHA256}+ACI-/+AD4-\
         +ADw-ds:DigestValue+AD4-AA==+ADw-/ds:DigestValue+AD4-+ADw-/ds:Reference+AD4-+ADw-/ds:SignedInfo+AD4-\
         +ADw-ds:SignatureValue+AD4-AA==+ADw-/ds:SignatureValue+AD4-+ADw-/ds:Signature+AD4-"
    )
}

#[tokio::test]
async fn only_utf8_with_a_well_formed_declaration_is_read() {
    let (app, idp) = setup().await;
    let canary = Canary::start();
    let hidden = utf7_signature(&canary.url);

    // Declarations that hide a UTF-7 encoding from a naive `encoding=` search. A strict
    // reader refuses the declaration itself (malformed_xml) or its encoding
    // (malformed_encoding); either way nothing in the UTF-7 text runs.
    let either = XML_OR_ENCODING;
    for (case, decl, reasons) in [
        (
            "version='encoding=\"utf-8\"' encoding=\"UTF-7\"",
            r#"<?xml version='encoding="utf-8"' encoding="UTF-7"?>"#,
            either,
        ),
        (
            "standalone='encoding=\"utf-8\"' encoding=\"UTF-7\"",
            r#"<?xml version="1.0" standalone='encoding="utf-8"' encoding="UTF-7"?>"#,
            either,
        ),
        (
            "encoding twice, UTF-8 first",
            r#"<?xml version="1.0" encoding="UTF-8" encoding="UTF-7"?>"#,
            either,
        ),
        (
            "encoding after standalone",
            r#"<?xml version="1.0" standalone="yes" encoding="UTF-7"?>"#,
            either,
        ),
        (
            "tab before encoding",
            "<?xml version=\"1.0\"\tencoding=\"UTF-7\"?>",
            ENCODING,
        ),
        (
            "declared UTF-7",
            r#"<?xml version="1.0" encoding="UTF-7"?>"#,
            ENCODING,
        ),
        (
            "declared ISO-8859-1",
            r#"<?xml version="1.0" encoding="ISO-8859-1"?>"#,
            ENCODING,
        ),
        (
            "declared UTF-16 on UTF-8 bytes",
            r#"<?xml version="1.0" encoding="UTF-16"?>"#,
            ENCODING,
        ),
    ] {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let body = with_extensions(
            &r.signed(&idp),
            &format!(r#"<e:x xmlns:e="{EXT}">{hidden}</e:x>"#),
        );
        refused(&app, case, format!("{decl}{body}"), Some(&rs), reasons).await;
        canary.assert_untouched(case);
    }

    // A declaration that is not the first thing is a processing instruction with a reserved
    // target: malformed, or refused as a PI.
    let pi_or_malformed = &[
        "malformed_xml",
        "forbidden_xml_construct",
        "malformed_encoding",
    ][..];
    for (case, prefix) in [
        (
            "whitespace before the declaration",
            " <?xml version=\"1.0\" encoding=\"UTF-7\"?>",
        ),
        (
            "comment before the declaration",
            "<!--x--><?xml version=\"1.0\" encoding=\"UTF-7\"?>",
        ),
        (
            "a second declaration",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><?xml version=\"1.0\" encoding=\"UTF-7\"?>",
        ),
        (
            "<?XML in capitals",
            "<?XML version=\"1.0\" encoding=\"UTF-7\"?>",
        ),
        (
            "newline after <?xml",
            "<?xml\nversion=\"1.0\" encoding=\"UTF-7\"?>",
        ),
        ("two BOMs", "\u{feff}\u{feff}"),
    ] {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let body = with_extensions(
            &r.signed(&idp),
            &format!(r#"<e:x xmlns:e="{EXT}">{hidden}</e:x>"#),
        );
        refused(
            &app,
            case,
            format!("{prefix}{body}"),
            Some(&rs),
            pi_or_malformed,
        )
        .await;
        canary.assert_untouched(case);
    }

    // Bytes that are not UTF-8.
    let (r, rs) = fresh(&app, &idp, 0).await;
    let doc = r.signed(&idp);
    let utf16 = |bom: &[u8], le: bool, text: &str| -> Vec<u8> {
        let mut out = bom.to_vec();
        for unit in text.encode_utf16() {
            out.extend(if le {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            });
        }
        out
    };
    let declared16 = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{doc}");
    for (case, bytes, reasons) in [
        (
            "UTF-16LE with BOM",
            utf16(&[0xFF, 0xFE], true, &doc),
            ENCODING,
        ),
        (
            "UTF-16BE with BOM",
            utf16(&[0xFE, 0xFF], false, &doc),
            ENCODING,
        ),
        (
            "UTF-16LE with BOM and a UTF-16 declaration",
            utf16(&[0xFF, 0xFE], true, &declared16),
            ENCODING,
        ),
        // Without a BOM, UTF-16 of ASCII is valid UTF-8 full of NULs.
        (
            "UTF-16LE without BOM",
            utf16(&[], true, &doc),
            XML_OR_ENCODING,
        ),
        (
            "overlong '<' (C0 BC)",
            splice(
                &doc,
                "<samlp:Status>",
                b"<e:x xmlns:e=\"urn:example:ext\">\xC0\xBCx</e:x>",
            ),
            ENCODING,
        ),
        (
            "lone continuation byte",
            splice(
                &doc,
                "<samlp:Status>",
                b"<e:x xmlns:e=\"urn:example:ext\">\x80</e:x>",
            ),
            ENCODING,
        ),
        (
            "CESU-8 surrogate (ED A0 80)",
            splice(
                &doc,
                "<samlp:Status>",
                b"<e:x xmlns:e=\"urn:example:ext\">\xED\xA0\x80</e:x>",
            ),
            ENCODING,
        ),
        (
            "Latin-1 byte in the signed NameID",
            splice(&doc, "</saml:NameID>", b"\xE9"),
            ENCODING,
        ),
        (
            "truncated multibyte at the end",
            {
                let mut b = doc.as_bytes().to_vec();
                b.extend_from_slice(b"\xE2\x82");
                b
            },
            ENCODING,
        ),
    ] {
        refused(&app, case, bytes, Some(&rs), reasons).await;
    }
}

// ---------------------------------------------------------------------------------------
// Malformed structure
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_structure_is_refused() {
    let (app, idp) = setup().await;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "]]> in text",
            Box::new(|d: &str| with_extensions(d, &ext("a]]>b"))),
        ),
        (
            "]]> in the signed NameID",
            Box::new(|d: &str| swap(d, "</saml:NameID>", "]]></saml:NameID>")),
        ),
        (
            "text after the root element",
            Box::new(|d: &str| format!("{d}trailing")),
        ),
        (
            "an element after the root element",
            Box::new(|d: &str| format!("{d}<x/>")),
        ),
        ("two root elements", Box::new(|d: &str| format!("{d}{d}"))),
        (
            "text before the root element",
            Box::new(|d: &str| format!("leading{d}")),
        ),
        (
            "a reference before the root element",
            Box::new(|d: &str| format!("&#65;{d}")),
        ),
        (
            "mismatched end tag",
            Box::new(|d: &str| with_extensions(d, &format!(r#"<e:x xmlns:e="{EXT}">a</e:y>"#))),
        ),
        (
            "end tag with another prefix, same namespace",
            Box::new(|d: &str| {
                with_extensions(
                    d,
                    &format!(r#"<e:x xmlns:e="{EXT}" xmlns:f="{EXT}">a</f:x>"#),
                )
            }),
        ),
        (
            "unclosed element",
            Box::new(|d: &str| with_extensions(d, &format!(r#"<e:x xmlns:e="{EXT}">a"#))),
        ),
        (
            "truncated document",
            Box::new(|d: &str| d[..d.len() - 5].to_owned()),
        ),
        (
            "root closed twice",
            Box::new(|d: &str| format!("{d}</samlp:Response>")),
        ),
        (
            "-- inside a comment",
            Box::new(|d: &str| with_extensions(d, "<!-- a -- b -->")),
        ),
        (
            "comment ending in --->",
            Box::new(|d: &str| with_extensions(d, "<!-- a --->")),
        ),
        (
            "unquoted attribute value",
            Box::new(|d: &str| with_extensions(d, &format!(r#"<e:x xmlns:e="{EXT}" v=1/>"#))),
        ),
        (
            "attribute without a value",
            Box::new(|d: &str| with_extensions(d, &format!(r#"<e:x xmlns:e="{EXT}" v/>"#))),
        ),
        (
            "< in an attribute value",
            Box::new(|d: &str| with_extensions(d, &format!(r#"<e:x xmlns:e="{EXT}" v="a<b"/>"#))),
        ),
        (
            "duplicate attribute",
            Box::new(|d: &str| {
                with_extensions(d, &format!(r#"<e:x xmlns:e="{EXT}" v="1" v="2"/>"#))
            }),
        ),
        (
            "duplicate ID attribute on the Assertion",
            Box::new(|d: &str| swap(d, "<saml:Assertion ", r#"<saml:Assertion ID="_other" "#)),
        ),
        (
            "element name starting with a digit",
            Box::new(|d: &str| with_extensions(d, "<1x/>")),
        ),
        (
            "unterminated CDATA",
            Box::new(|d: &str| with_extensions(d, &ext("<![CDATA[a"))),
        ),
        (
            "unterminated comment",
            Box::new(|d: &str| with_extensions(d, "<!-- a")),
        ),
        ("empty document", Box::new(|_: &str| String::new())),
        ("whitespace only", Box::new(|_: &str| " \n ".to_owned())),
        (
            "a comment only",
            Box::new(|_: &str| "<!-- only -->".to_owned()),
        ),
    ];
    for (case, make) in cases {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let xml = make(&r.signed(&idp));
        refused(&app, case, &xml, Some(&rs), MALFORMED).await;
    }
}

#[tokio::test]
async fn processing_instructions_are_refused_wherever_they_are() {
    let (app, idp) = setup().await;
    let canary = Canary::start();
    let url = canary.url.clone();
    let stylesheet = format!(r#"<?xml-stylesheet type="text/xsl" href="{url}"?>"#);
    let cases: Vec<(&str, Edit)> = vec![
        (
            "PI in Extensions",
            Box::new(|d: &str| with_extensions(d, "<?foo bar?>")),
        ),
        (
            "PI after the root element",
            Box::new(|d: &str| format!("{d}<?foo bar?>")),
        ),
        (
            "PI before the root element",
            Box::new(|d: &str| format!("<?foo bar?>{d}")),
        ),
        (
            "PI after the XML declaration",
            Box::new(|d: &str| format!("<?xml version=\"1.0\"?><?foo?>{d}")),
        ),
        (
            "xml-stylesheet PI naming the canary",
            Box::new(move |d: &str| format!("{stylesheet}{d}")),
        ),
        (
            "PI splitting the signed NameID",
            Box::new(|d: &str| swap(d, "</saml:NameID>", "<?x y?>.evil</saml:NameID>")),
        ),
        (
            "PI inside the assertion's SignedInfo",
            Box::new(|d: &str| swap(d, "<ds:SignedInfo>", "<ds:SignedInfo><?x?>")),
        ),
    ];
    for (case, make) in cases {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let xml = make(&r.signed(&idp));
        refused(&app, case, &xml, Some(&rs), FORBIDDEN).await;
        canary.assert_untouched(case);
    }
}

// ---------------------------------------------------------------------------------------
// Namespace errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn namespace_errors_are_fatal() {
    let (app, idp) = setup().await;
    const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
    const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";
    let in_ext: Vec<(&str, String)> = vec![
        (
            "undeclaring a prefix: xmlns:e=\"\"",
            format!(r#"<e:x xmlns:e="{EXT}"><e:y xmlns:e=""/></e:x>"#),
        ),
        (
            "undeclaring an unused prefix",
            format!(r#"<e:x xmlns:e="{EXT}"><y xmlns:f=""/></e:x>"#),
        ),
        ("unbound element prefix", "<q:x/>".to_owned()),
        (
            "unbound attribute prefix",
            format!(r#"<e:x xmlns:e="{EXT}" q:a="1"/>"#),
        ),
        (
            "prefix used outside its scope",
            format!(r#"<e:x xmlns:e="{EXT}"/><e:y/>"#),
        ),
        (
            "xmlns:xml bound to another URI",
            format!(r#"<e:x xmlns:e="{EXT}" xmlns:xml="urn:other"/>"#),
        ),
        (
            "another prefix bound to the xml namespace",
            format!(r#"<e:x xmlns:e="{EXT}" xmlns:p="{XML_NS}"/>"#),
        ),
        (
            "default namespace bound to the xml namespace",
            format!(r#"<x xmlns="{XML_NS}"/>"#),
        ),
        (
            "a prefix bound to the xmlns namespace",
            format!(r#"<e:x xmlns:e="{EXT}" xmlns:p="{XMLNS_NS}"/>"#),
        ),
        (
            "default namespace bound to the xmlns namespace",
            format!(r#"<x xmlns="{XMLNS_NS}"/>"#),
        ),
        (
            "declaring the xmlns prefix",
            format!(r#"<e:x xmlns:e="{EXT}" xmlns:xmlns="urn:x"/>"#),
        ),
        ("an element with the xmlns prefix", "<xmlns:x/>".to_owned()),
        ("an empty prefix", "<:x/>".to_owned()),
        (
            "two colons in a name",
            format!(r#"<e:x:y xmlns:e="{EXT}"/>"#),
        ),
        (
            "the same prefix declared twice",
            format!(r#"<e:x xmlns:e="{EXT}" xmlns:e="urn:b"/>"#),
        ),
        (
            "the default namespace declared twice",
            format!(r#"<x xmlns="{EXT}" xmlns="urn:b"/>"#),
        ),
        (
            "duplicate attributes after expansion (a:x, b:x, same URI)",
            format!(
                r#"<e:x xmlns:e="{EXT}" xmlns:a="urn:same" xmlns:b="urn:same" a:v="1" b:v="2"/>"#
            ),
        ),
        (
            "duplicate attributes after expansion, one prefix the element's",
            r#"<e:x xmlns:e="urn:same" xmlns:b="urn:same" e:v="1" b:v="2"/>"#.to_owned(),
        ),
    ];
    for (case, inner) in in_ext {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let xml = with_extensions(&r.signed(&idp), &inner);
        refused(&app, case, &xml, Some(&rs), MALFORMED).await;
    }
    // Inside the signed content.
    let in_signed: Vec<(&str, String, String)> = vec![
        (
            "xmlns:saml=\"\" on the NameID",
            "<saml:NameID ".into(),
            r#"<saml:NameID xmlns:saml="" "#.into(),
        ),
        (
            "xmlns:ds=\"\" on SignedInfo",
            "<ds:SignedInfo>".into(),
            r#"<ds:SignedInfo xmlns:ds="">"#.into(),
        ),
        (
            "duplicate attributes after expansion on the Assertion",
            "<saml:Assertion ".into(),
            r#"<saml:Assertion xmlns:a="urn:same" xmlns:b="urn:same" a:v="1" b:v="2" "#.into(),
        ),
        (
            "unbound prefix on an attribute of SubjectConfirmationData",
            "<saml:SubjectConfirmationData ".into(),
            r#"<saml:SubjectConfirmationData q:Recipient="x" "#.into(),
        ),
    ];
    for (case, from, to) in in_signed {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let xml = swap(&r.signed(&idp), &from, &to);
        refused(&app, case, &xml, Some(&rs), MALFORMED).await;
    }
}

// ---------------------------------------------------------------------------------------
// Bounds
// ---------------------------------------------------------------------------------------

/// An extension element holding `inner`.
fn ext(inner: &str) -> String {
    format!(r#"<e:x xmlns:e="{EXT}">{inner}</e:x>"#)
}

fn nested(depth: usize, inner: &str) -> String {
    format!(
        r#"<e:deep xmlns:e="{EXT}">{}{inner}{}</e:deep>"#,
        "<x>".repeat(depth),
        "</x>".repeat(depth)
    )
}

fn attributes(n: usize) -> String {
    (0..n).map(|i| format!(r#" a{i}="1""#)).collect()
}

#[tokio::test]
async fn depth_attribute_count_and_name_length_are_bounded() {
    let (app, idp) = setup().await;
    let canary = Canary::start();
    let url = canary.url.clone();
    let long = "n".repeat(10_000);
    let ns_decls: String = (0..1_000)
        .map(|i| format!(r#" xmlns:p{i}="urn:p{i}""#))
        .collect();
    // libxml2 (recover mode) silently cut documents at 256 levels; a signature placed after
    // the deep subtree was seen by one parser and not the other.
    let deep_then_signature = format!(
        "{}{}",
        nested(300, ""),
        signature_xml("", &format!(r#" xmlns="{DSIG}""#), &url, "")
    );
    let in_ext: Vec<(&str, String)> = vec![
        ("300 nested levels", nested(300, "")),
        ("10,000 nested levels", nested(10_000, "")),
        (
            "300 levels, then a signature naming the canary",
            deep_then_signature,
        ),
        (
            "1,000 attributes on one element",
            format!(r#"<e:x xmlns:e="{EXT}"{}/>"#, attributes(1_000)),
        ),
        (
            "1,000 namespace declarations on one element",
            format!(r#"<e:x xmlns:e="{EXT}"{ns_decls}/>"#),
        ),
        (
            "a 10,000-character element name",
            format!(r#"<e:{long} xmlns:e="{EXT}"/>"#),
        ),
        (
            "a 10,000-character attribute name",
            format!(r#"<e:x xmlns:e="{EXT}" {long}="1"/>"#),
        ),
        (
            "20,001 sibling elements",
            format!("<e:x xmlns:e=\"{EXT}\">{}</e:x>", "<y/>".repeat(20_001)),
        ),
        (
            "a 10,000-character prefix",
            format!(r#"<{long}:x xmlns:{long}="{EXT}"/>"#),
        ),
    ];
    for (case, inner) in in_ext {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let xml = with_extensions(&r.signed(&idp), &inner);
        let took = refused(&app, case, &xml, Some(&rs), MALFORMED).await;
        assert!(took < AT_ONCE, "{case}: took {took:?}");
        canary.assert_untouched(case);
    }
    // Inside the signed assertion.
    let (r, rs) = fresh(&app, &idp, 0).await;
    let xml = swap(
        &r.signed(&idp),
        "<saml:AttributeValue>Ada</saml:AttributeValue>",
        &format!(
            "<saml:AttributeValue>{}Ada</saml:AttributeValue>",
            nested(300, "")
        ),
    );
    refused(
        &app,
        "300 levels in a signed AttributeValue",
        &xml,
        Some(&rs),
        MALFORMED,
    )
    .await;
    let (r, rs) = fresh(&app, &idp, 0).await;
    let xml = swap(
        &r.signed(&idp),
        "<saml:NameID ",
        &format!("<saml:NameID{} ", attributes(1_000)),
    );
    refused(
        &app,
        "1,000 attributes on the signed NameID",
        &xml,
        Some(&rs),
        MALFORMED,
    )
    .await;
    // The attacker's view: an unsigned response that is nothing but depth.
    let xml = with_extensions(&attacker_response(&app, &idp), &nested(10_000, ""));
    refused(
        &app,
        "10,000 levels, unsigned, no request",
        &xml,
        None,
        MALFORMED,
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Values: comments, CDATA and references never change a signed value
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn comments_cdata_and_references_never_change_a_signed_value() {
    let (app, idp) = setup().await;
    let canary = Canary::start();

    // The IdP signed `a@evil.com.good.com`; a comment inserted afterwards is not part of
    // the canonical form (the signature still holds), and the value read is the whole text.
    let (mut r, rs) = fresh(&app, &idp, 1).await;
    r.name_id = "a@evil.com.good.com".into();
    let xml = swap(
        &r.signed(&idp),
        "a@evil.com.good.com",
        "a@evil.com<!---->.good.com",
    );
    let a = accepted(&app, "comment splitting the signed NameID", &xml, &rs).await;
    assert_eq!(a.subject.as_deref(), Some("a@evil.com.good.com"));

    // The same with the email: read whole, the domain is not the tenant's.
    let (r, rs) = fresh(&app, &idp, 2).await;
    let r = r.attr("email", "ada@acme.test.evil.com");
    let xml = swap(
        &r.signed(&idp),
        "ada@acme.test.evil.com",
        "ada@acme.test<!---->.evil.com",
    );
    refused(
        &app,
        "comment splitting the signed email",
        &xml,
        Some(&rs),
        &["email_domain_not_allowed"],
    )
    .await;
    assert_eq!(
        newest(&app).and_then(|a| a.email).as_deref(),
        Some("ada@acme.test.evil.com")
    );

    // Unsigned tampering with comments changes the canonical text: the signature breaks.
    let (r, rs) = fresh(&app, &idp, 3).await;
    let xml = swap(
        &r.signed(&idp),
        "u3@acme.test",
        "u3@acme.test<!---->.evil.com",
    );
    refused(
        &app,
        "text added next to a comment in the signed email",
        &xml,
        Some(&rs),
        &["invalid_signature"],
    )
    .await;
    let (r, rs) = fresh(&app, &idp, 4).await;
    let xml = swap(&r.signed(&idp), "subject-4<", "subject-<!---->5<");
    refused(
        &app,
        "NameID changed around a comment",
        &xml,
        Some(&rs),
        &["invalid_signature"],
    )
    .await;

    // CDATA and references are how the text is written, not what it is.
    let (r, rs) = fresh(&app, &idp, 5).await;
    let xml = swap(&r.signed(&idp), ">subject-5<", "><![CDATA[subject]]>-5<");
    let a = accepted(&app, "CDATA section in the signed NameID", &xml, &rs).await;
    assert_eq!(a.subject.as_deref(), Some("subject-5"));

    let (mut r, rs) = fresh(&app, &idp, 6).await;
    r.name_id = "a<b>&c-6".into();
    let signed = r.signed(&idp);
    let written = ["a&lt;b&gt;&amp;c-6", "a&lt;b>&amp;c-6"]
        .into_iter()
        .find(|w| signed.contains(w))
        .expect("the signer's spelling of the NameID");
    let xml = swap(&signed, written, "<![CDATA[a<b>&c]]>-6");
    let a = accepted(
        &app,
        "CDATA holding markup characters in the NameID",
        &xml,
        &rs,
    )
    .await;
    assert_eq!(a.subject.as_deref(), Some("a<b>&c-6"));

    let (r, rs) = fresh(&app, &idp, 7).await;
    let xml = swap(&r.signed(&idp), ">subject-7<", ">&#115;ubject-&#x37;<");
    let a = accepted(&app, "character references in the signed NameID", &xml, &rs).await;
    assert_eq!(a.subject.as_deref(), Some("subject-7"));

    let (mut r, rs) = fresh(&app, &idp, 8).await;
    r.name_id = "o'neil\"8".into();
    let signed = r.signed(&idp);
    let written = ["o'neil&quot;8", "o'neil\"8"]
        .into_iter()
        .find(|w| signed.contains(w))
        .expect("the signer's spelling of the NameID");
    let xml = swap(&signed, written, "o&apos;neil&quot;8");
    let a = accepted(&app, "predefined entities in the signed NameID", &xml, &rs).await;
    assert_eq!(a.subject.as_deref(), Some("o'neil\"8"));

    // Comments in other signed values: Issuer and Audience are compared whole.
    let (r, rs) = fresh(&app, &idp, 9).await;
    // Both Issuers: the envelope's and the signed assertion's.
    let signed = r.signed(&idp);
    let issuer = "idp.acme.test/metadata</saml:Issuer>";
    assert_eq!(signed.matches(issuer).count(), 2);
    let xml = signed.replace(issuer, "idp.acme.test<!-- x -->/metadata</saml:Issuer>");
    accepted(&app, "comment splitting the signed Issuer", &xml, &rs).await;
    let (r, rs) = fresh(&app, &idp, 10).await;
    let xml = swap(
        &r.signed(&idp),
        "/metadata</saml:Audience>",
        "<!---->/metadata</saml:Audience>",
    );
    accepted(&app, "comment splitting the signed Audience", &xml, &rs).await;

    // CDATA hiding markup in unsigned content is text: nothing in it runs.
    let (r, rs) = fresh(&app, &idp, 11).await;
    let xml = with_extensions(
        &r.signed(&idp),
        &format!(
            r#"<e:x xmlns:e="{EXT}"><![CDATA[{}<!DOCTYPE x SYSTEM "{}">]]></e:x>"#,
            signature_fetching_everything("ds:", &format!(r#" xmlns:ds="{DSIG}""#), &canary.url),
            canary.url
        ),
    );
    accepted(&app, "CDATA hiding a signature and a DOCTYPE", &xml, &rs).await;
    canary.assert_untouched("CDATA hiding markup");
}

// ---------------------------------------------------------------------------------------
// Whitespace and line ends
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn whitespace_in_signed_attribute_values_and_text_normalizes_as_xml_says() {
    let (app, idp) = setup().await;
    let qualifier = |r: &Resp| {
        signed_after_edit(r, &idp, |a| {
            swap(
                &a,
                "<saml:NameID ",
                r#"<saml:NameID SPNameQualifier="x y" "#,
            )
        })
    };
    // Attribute-value normalization turns a literal tab, newline or CR LF into one space
    // before canonicalization: what the IdP signed as "x y".
    for (n, (case, written)) in [
        ("literal tab in a signed attribute", "x\ty"),
        ("literal newline in a signed attribute", "x\ny"),
        ("literal CR LF in a signed attribute", "x\r\ny"),
        ("literal CR in a signed attribute", "x\ry"),
    ]
    .into_iter()
    .enumerate()
    {
        let (r, rs) = fresh(&app, &idp, n + 1).await;
        let xml = swap(
            &qualifier(&r),
            r#"SPNameQualifier="x y""#,
            &format!(r#"SPNameQualifier="{written}""#),
        );
        accepted(&app, case, &xml, &rs).await;
    }
    // A character reference is not normalized: the value really changes.
    for (case, written) in [
        ("&#9; in a signed attribute", "x&#9;y"),
        ("&#10; in a signed attribute", "x&#10;y"),
        ("&#13; in a signed attribute", "x&#13;y"),
    ] {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let xml = swap(
            &qualifier(&r),
            r#"SPNameQualifier="x y""#,
            &format!(r#"SPNameQualifier="{written}""#),
        );
        refused(&app, case, &xml, Some(&rs), &["invalid_signature"]).await;
    }
    // Line ends in text: CR LF and a lone CR are read as LF, what the IdP signed.
    for (n, (case, written)) in [
        ("CR LF in signed text", "Ada\r\nB"),
        ("lone CR in signed text", "Ada\rB"),
    ]
    .into_iter()
    .enumerate()
    {
        let (r, rs) = fresh(&app, &idp, n + 10).await;
        let r = r.attr("firstName", "Ada\nB");
        let xml = swap(&r.signed(&idp), "Ada\nB", written);
        accepted(&app, case, &xml, &rs).await;
    }
    for (case, written) in [
        ("&#13; added to signed text", "Ada&#13;\nB"),
        ("&#xD; instead of a newline in signed text", "Ada&#xD;B"),
    ] {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let r = r.attr("firstName", "Ada\nB");
        let xml = swap(&r.signed(&idp), "Ada\nB", written);
        refused(&app, case, &xml, Some(&rs), &["invalid_signature"]).await;
    }
}

// ---------------------------------------------------------------------------------------
// Namespace rebinding inside signed content
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn namespace_rebinding_in_signed_content() {
    let (app, idp) = setup().await;
    // Added after signing: the NameID is no longer a SAML NameID, and exclusive c14n renders
    // the new binding, so the signature breaks.
    let (r, rs) = fresh(&app, &idp, 0).await;
    let xml = swap(
        &r.signed(&idp),
        "<saml:NameID ",
        r#"<saml:NameID xmlns:saml="urn:evil" "#,
    );
    refused(
        &app,
        "xmlns:saml rebound on the NameID after signing",
        &xml,
        Some(&rs),
        &["invalid_signature"],
    )
    .await;
    // Signed that way by the IdP: a NameID in another namespace is no subject.
    let (r, rs) = fresh(&app, &idp, 0).await;
    let xml = signed_after_edit(&r, &idp, |a| {
        swap(
            &a,
            "<saml:NameID ",
            r#"<saml:NameID xmlns:saml="urn:evil" "#,
        )
    });
    refused(
        &app,
        "xmlns:saml rebound on the NameID, signed",
        &xml,
        Some(&rs),
        &["missing_subject"],
    )
    .await;
    // Another prefix for the same namespace changes the canonical form (prefixes are kept).
    let (r, rs) = fresh(&app, &idp, 0).await;
    let signed = r.signed(&idp);
    let start = signed.find("<saml:NameID ").unwrap();
    let end = signed.find("</saml:NameID>").unwrap() + "</saml:NameID>".len();
    let renamed = signed[start..end]
        .replacen(
            "<saml:NameID ",
            &format!(r#"<s2:NameID xmlns:s2="{ASSERTION_NS}" "#),
            1,
        )
        .replacen("</saml:NameID>", "</s2:NameID>", 1);
    let xml = format!("{}{renamed}{}", &signed[..start], &signed[end..]);
    refused(
        &app,
        "NameID under another prefix of the same namespace",
        &xml,
        Some(&rs),
        &["invalid_signature"],
    )
    .await;

    // Controls: declarations exclusive c14n does not render leave the signature intact.
    let (r, rs) = fresh(&app, &idp, 1).await;
    let xml = swap(
        &r.signed(&idp),
        "<saml:NameID ",
        &format!(r#"<saml:NameID xmlns:saml="{ASSERTION_NS}" "#),
    );
    let a = accepted(&app, "redundant xmlns:saml on the NameID", &xml, &rs).await;
    assert_eq!(a.subject.as_deref(), Some("subject-1"));
    let (r, rs) = fresh(&app, &idp, 2).await;
    let xml = swap(
        &r.signed(&idp),
        "<saml:Assertion ",
        r#"<saml:Assertion xmlns:unused="urn:unused" "#,
    );
    accepted(
        &app,
        "unused declaration on the signed Assertion",
        &xml,
        &rs,
    )
    .await;
    let (r, rs) = fresh(&app, &idp, 3).await;
    let xml = swap(
        &r.signed(&idp),
        "<ds:SignedInfo>",
        &format!(r#"<ds:SignedInfo xmlns:ds="{DSIG}">"#),
    );
    accepted(&app, "redundant xmlns:ds on SignedInfo", &xml, &rs).await;
}

// ---------------------------------------------------------------------------------------
// Benign shapes a strict parser still accepts
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn benign_shapes_are_accepted() {
    // Guards the tests above: each hostile case breaks one thing of these.
    let (app, idp) = setup().await;
    let cases: Vec<(&str, Edit)> = vec![
        ("plain", Box::new(|d: &str| d.to_owned())),
        (
            "namespaced Extensions content",
            Box::new(|d: &str| {
                with_extensions(
                    d,
                    &format!(r#"<e:x xmlns:e="{EXT}" a="1"><e:y>text</e:y></e:x>"#),
                )
            }),
        ),
        (
            "20 nested levels in Extensions",
            Box::new(|d: &str| with_extensions(d, &nested(20, "t"))),
        ),
        (
            "20 attributes on an Extensions element",
            Box::new(|d: &str| {
                with_extensions(d, &format!(r#"<e:x xmlns:e="{EXT}"{}/>"#, attributes(20)))
            }),
        ),
        (
            "xmlns=\"\" undeclaring the default namespace (legal)",
            Box::new(|d: &str| {
                with_extensions(d, &format!(r#"<x xmlns="{EXT}"><y xmlns="">z</y></x>"#))
            }),
        ),
        (
            "xml:lang without a declaration",
            Box::new(|d: &str| {
                with_extensions(d, &format!(r#"<e:x xmlns:e="{EXT}" xml:lang="en"/>"#))
            }),
        ),
        (
            "xmlns:xml bound to its own namespace",
            Box::new(|d: &str| {
                with_extensions(
                    d,
                    &format!(
                        r#"<e:x xmlns:e="{EXT}" xmlns:xml="http://www.w3.org/XML/1998/namespace"/>"#
                    ),
                )
            }),
        ),
        (
            "predefined entities and references in an attribute",
            Box::new(|d: &str| {
                with_extensions(
                    d,
                    &format!(r#"<e:x xmlns:e="{EXT}" v="&lt;&amp;&gt;&quot;&apos;&#65;&#x42;"/>"#),
                )
            }),
        ),
        (
            "comments and whitespace around the root",
            Box::new(|d: &str| format!("<!-- before -->\n{d}\n<!-- after -->\n")),
        ),
        (
            "UTF-8 BOM and a full declaration",
            Box::new(|d: &str| {
                format!("\u{feff}<?xml version='1.0' encoding='utf-8' standalone='yes'?>\n{d}")
            }),
        ),
        (
            "non-ASCII UTF-8 in Extensions",
            Box::new(|d: &str| {
                with_extensions(d, &format!(r#"<e:x xmlns:e="{EXT}">Grüße, 東京 🎉</e:x>"#))
            }),
        ),
        (
            "CDATA in Extensions",
            Box::new(|d: &str| {
                with_extensions(
                    d,
                    &format!(r#"<e:x xmlns:e="{EXT}"><![CDATA[a]]b<c>]]></e:x>"#),
                )
            }),
        ),
    ];
    for (n, (case, make)) in cases.into_iter().enumerate() {
        let (r, rs) = fresh(&app, &idp, n).await;
        accepted(&app, case, make(&r.signed(&idp)), &rs).await;
    }
}

// ---------------------------------------------------------------------------------------
// Canonicalization cost
// ---------------------------------------------------------------------------------------

/// Prefixes in an ec:InclusiveNamespaces PrefixList and elements in the signed subtree.
const PREFIXES: usize = 2_000;
const ELEMENTS: usize = 500;

/// An attacker needs no key to make the verifier canonicalize: the digest of the signed
/// element is computed before any key is tried, and the Reference's InclusiveNamespaces
/// PrefixList and the size of the signed element are the attacker's to choose. Work on the
/// order of their product times the namespaces in scope (per element, per listed prefix, a
/// walk of the declarations above it) pinned a blocking thread: measured in a debug build,
/// 2,000 prefixes over 500 elements under 80 declarations took 74 s, and about 70,000
/// prefixes and 10,000 elements fit under the ACS cap. A bounded list, or work linear in
/// the document, answers this in milliseconds.
#[tokio::test]
async fn a_long_inclusive_namespaces_prefix_list_is_refused_at_once() {
    let (app, idp) = setup().await;
    let decls = |p: &str| -> String {
        (0..40)
            .map(|i| format!(r#" xmlns:{p}{i}="urn:{p}{i}""#))
            .collect()
    };
    let mut r = Resp::valid(&app, T, C, &idp, None);
    r.sign = SignWhat::Nothing;
    let prefix_list = "a ".repeat(PREFIXES);
    let sig = format!(
        r##"<ds:Signature xmlns:ds="{DSIG}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/><ds:SignatureMethod Algorithm="{RSA_SHA256}"/><ds:Reference URI="#{aid}"><ds:Transforms><ds:Transform Algorithm="{ENVELOPED}"/><ds:Transform Algorithm="{EXC_C14N}"><ec:InclusiveNamespaces xmlns:ec="{EXC_C14N}" PrefixList="{prefix_list}"/></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"##,
        aid = r.assertion_id
    );
    let doc = on_root(&r.signed(&idp), &decls("n"));
    let doc = swap(
        &doc,
        "<saml:Assertion ",
        &format!("<saml:Assertion{} ", decls("m")),
    );
    let doc = swap(&doc, "<saml:Subject>", &format!("{sig}<saml:Subject>"));
    let doc = swap(
        &doc,
        "<saml:AttributeValue>Ada</saml:AttributeValue>",
        &format!(
            "<saml:AttributeValue>{}Ada</saml:AttributeValue>",
            "<x/>".repeat(ELEMENTS)
        ),
    );
    let case = "unsigned: a 2,000-prefix PrefixList over 500 elements";
    let started = Instant::now();
    let posted = tokio::time::timeout(
        AT_ONCE,
        refused(
            &app,
            case,
            &doc,
            None,
            &["forbidden_transform", "invalid_signature", "malformed_xml"],
        ),
    )
    .await;
    assert!(
        posted.is_ok(),
        "{case}: the ACS was still busy after {:?}",
        started.elapsed()
    );
}

/// Exclusive c14n renders a declaration again on every element that uses its prefix, so an
/// unused long namespace name on the root and many small elements using that prefix inside
/// the signed assertion made a 200 KB response canonicalize to about a gigabyte (and 1.5 GB of
/// memory) before any key was tried. The canonical form is bounded by the input's size.
#[tokio::test]
async fn canonicalization_cannot_amplify_a_small_response() {
    let (app, idp) = setup().await;
    let r = Resp::valid(&app, T, C, &idp, None);
    let long_uri = format!("urn:x:{}", "a".repeat(60 * 1024));
    let doc = on_root(&r.signed(&idp), &format!(r#" xmlns:p="{long_uri}""#));
    let doc = swap(
        &doc,
        "<saml:AttributeValue>Ada</saml:AttributeValue>",
        &format!(
            "<saml:AttributeValue>{}Ada</saml:AttributeValue>",
            "<p:x/>".repeat(16_000)
        ),
    );
    let case = "a 60 KB namespace name used by 16,000 elements of the signed assertion";
    let took = tokio::time::timeout(
        AT_ONCE,
        refused(&app, case, &doc, None, &["response_too_large"]),
    )
    .await
    .unwrap_or_else(|_| panic!("{case}: the ACS was still busy after {AT_ONCE:?}"));
    assert!(took < AT_ONCE, "{case}: took {took:?}");
}

/// A PrefixList names prefixes: anything else (a 3 KB token, a URI) is refused before any
/// canonicalization, as a list of more than 32 prefixes is.
#[tokio::test]
async fn inclusive_namespaces_tokens_must_be_prefixes() {
    let (app, idp) = setup().await;
    for (label, token) in [
        ("a 3 KB token", "p".repeat(3 * 1024)),
        ("a URI", "urn:x".to_owned()),
        ("a number", "1a".to_owned()),
    ] {
        let (r, rs) = fresh(&app, &idp, 0).await;
        let xml = r.signed(&idp).replacen(
            &format!(r#"<ds:Transform Algorithm="{EXC_C14N}"/>"#),
            &format!(
                r#"<ds:Transform Algorithm="{EXC_C14N}"><ec:InclusiveNamespaces xmlns:ec="{EXC_C14N}" PrefixList="xs {token}"/></ds:Transform>"#
            ),
            1,
        );
        refused(&app, label, &xml, Some(&rs), &["forbidden_transform"]).await;
    }
}
