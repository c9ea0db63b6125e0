//! Structure-aware fuzzing of the ACS's one parse and its XML-DSig verification
//! (`make fuzz-saml`; `cargo test` skips it).
//!
//! Seeds are valid signed responses (RSA and EC keys, the shapes of tests/api/saml_fixtures.rs
//! and some IdPs'), two controls, and tests/saml_corpus when it has been generated. Each
//! execution takes a seed or an earlier mutant that reached a new outcome, applies one to four
//! mutations that know XML (elements, attributes, namespaces, signatures, references, IDs,
//! base64, depth, size; raw byte flips are a minority) and runs `xml::parse`,
//! `verify_signatures` and, for seeds that validate, `validate_response`. It fails on:
//! - a panic in any of them;
//! - any call on an input of up to FUZZ_SAML_MAX_BYTES (256 KiB) taking longer than
//!   FUZZ_SAML_MAX_MS (50 ms of thread CPU time; an input over it is re-run twice and the
//!   fastest run counts);
//! - peak RSS over FUZZ_SAML_MAX_RSS_MIB (512 MiB);
//! - a signature accepted over content that no seed signed: the signed element (its enveloped
//!   signature left out), read by ssogate's tree and independently by roxmltree, must equal a
//!   seed's, and a validated identity must equal a seed's;
//! - exclusive c14n that is not well-formed, not idempotent or changes what the tree says.
//!
//! Parser differentials (ssogate accepts, roxmltree refuses or reads otherwise) are listed as
//! notes, not failures. Inputs that fail are saved to target/fuzz-failures/ with what was done
//! to them; the input being run is in target/fuzz-saml/current.xml, for a crash that takes the
//! process down. FUZZ_SAML_SECONDS (60), FUZZ_SAML_SEED (random, printed), FUZZ_SAML_REPLAY
//! (files or directories to run once each, against every key, and report), FUZZ_SAML_CLOCK
//! (`cpu`, the default: this thread's CPU time, which waiting for a core on a shared 2-core
//! machine does not inflate; `wall`: wall time).
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::pkey::PKey;
use ssogate::domain::connection::{SamlIdpSettings, SignatureAlgorithm};
use ssogate::protocol::saml::dsig::algorithms::SignatureMethod;
use ssogate::protocol::saml::dsig::signature_uri;
use ssogate::protocol::saml::sign::{self_signed, sign_template};
use ssogate::protocol::saml::xml::{self, Document, Limits, NodeId, NodeKind, c14n};
use ssogate::protocol::saml::{
    AcsContext, SignedParts, SpEndpoints, validate_response, verify_signatures,
};

const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const XS: &str = "http://www.w3.org/2001/XMLSchema";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";
const XSLT: &str = "http://www.w3.org/1999/XSL/Transform";

const IDP_ENTITY: &str = "https://idp.fuzz.test/metadata";
const SP_BASE: &str = "https://sp.fuzz.test/t/acme/saml/okta";
/// Seeds are dated here, so they are the same on every run (certificate dates are not checked).
const NOW: i64 = 1_900_000_000;

// ---------------------------------------------------------------------------------------------
// Configuration

struct Config {
    seconds: f64,
    seed: u64,
    max_ms: f64,
    max_rss_mib: u64,
    max_bytes: usize,
    replay: Vec<PathBuf>,
    corpus: PathBuf,
    work: PathBuf,
    failures: PathBuf,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} does not parse")),
        _ => default,
    }
}

impl Config {
    fn from_env() -> Self {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| manifest.join("target"));
        let seed = match std::env::var("FUZZ_SAML_SEED") {
            Ok(s) if !s.trim().is_empty() => {
                let s = s.trim();
                s.strip_prefix("0x")
                    .map(|h| u64::from_str_radix(h, 16))
                    .unwrap_or_else(|| s.parse())
                    .expect("FUZZ_SAML_SEED is a number (decimal or 0x hex)")
            }
            _ => {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                t.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
            }
        };
        let replay = std::env::var("FUZZ_SAML_REPLAY")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| std::env::split_paths(&v).collect())
            .unwrap_or_default();
        Self {
            seconds: env_or("FUZZ_SAML_SECONDS", 60.0),
            seed,
            max_ms: env_or("FUZZ_SAML_MAX_MS", 50.0),
            max_rss_mib: env_or("FUZZ_SAML_MAX_RSS_MIB", 512),
            max_bytes: env_or("FUZZ_SAML_MAX_BYTES", 256 * 1024),
            replay,
            corpus: std::env::var_os("FUZZ_SAML_CORPUS")
                .map(PathBuf::from)
                .unwrap_or_else(|| manifest.join("tests/saml_corpus")),
            work: target.join("fuzz-saml"),
            failures: target.join("fuzz-failures"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A seeded RNG (xoshiro256**): the same seed gives the same run on every rand version.

struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Self([next(), next(), next(), next()])
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in 0..n (0 when n is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// Uniform in lo..=hi.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------------------------
// Keys: generated once and kept in target/fuzz-saml/keys, so saved inputs replay.

struct Key {
    key_der: Vec<u8>,
    cert_der: Vec<u8>,
}

fn ec_self_signed(
    nid: openssl::nid::Nid,
    cn: &str,
) -> (PKey<openssl::pkey::Private>, openssl::x509::X509) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::x509::{X509, X509NameBuilder};
    let group = EcGroup::from_curve_name(nid).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(3650).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (key, b.build())
}

fn load_or_make_key(dir: &Path, name: &'static str) -> Key {
    let (kp, cp) = (
        dir.join(format!("{name}-key.der")),
        dir.join(format!("{name}-cert.der")),
    );
    if let (Ok(key_der), Ok(cert_der)) = (std::fs::read(&kp), std::fs::read(&cp))
        && PKey::private_key_from_der(&key_der).is_ok()
    {
        return Key { key_der, cert_der };
    }
    let (key, cert) = match name {
        "ec256" => ec_self_signed(openssl::nid::Nid::X9_62_PRIME256V1, "fuzz ec256"),
        "ec384" => ec_self_signed(openssl::nid::Nid::SECP384R1, "fuzz ec384"),
        _ => self_signed(&format!("fuzz {name}"), 3650).unwrap(),
    };
    let k = Key {
        key_der: key.private_key_to_der().unwrap(),
        cert_der: cert.to_der().unwrap(),
    };
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(&kp, &k.key_der).unwrap();
    std::fs::write(&cp, &k.cert_der).unwrap();
    k
}

// ---------------------------------------------------------------------------------------------
// Seeds

/// How the seed's validate_response is set up (derived from the seed itself).
struct ValidateCtx {
    idp: SamlIdpSettings,
    sp: SpEndpoints,
    now: i64,
}

struct Seed {
    name: String,
    xml: String,
    certs: Vec<Vec<u8>>,
    /// verify_signatures on the seed itself.
    accepted: Result<SignedParts, String>,
    validate: Option<ValidateCtx>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sign {
    Nothing,
    Assertion,
    Response,
    Both,
}

#[derive(Clone, Copy)]
enum DsStyle {
    Prefix(&'static str),
    Default,
}

#[derive(Clone, Copy)]
struct Knobs {
    name: &'static str,
    sign: Sign,
    alg: SignatureAlgorithm,
    key: &'static str,
    trust: &'static str,
    ds: DsStyle,
    prefix_list: bool,
    key_info: bool,
    pretty: bool,
    crlf: bool,
    decl: bool,
    /// xmlns:saml only on the Response; the Assertion inherits it.
    ns_on_root: bool,
    /// The Assertion and its content in the default namespace (AD FS style).
    default_ns: bool,
    tricky: bool,
    attrs: usize,
    in_response_to: bool,
}

const BASE: Knobs = Knobs {
    name: "",
    sign: Sign::Assertion,
    alg: SignatureAlgorithm::RsaSha256,
    key: "rsa",
    trust: "rsa",
    ds: DsStyle::Prefix("ds"),
    prefix_list: false,
    key_info: false,
    pretty: false,
    crlf: false,
    decl: false,
    ns_on_root: false,
    default_ns: false,
    tricky: false,
    attrs: 3,
    in_response_to: true,
};

fn seed_knobs() -> Vec<Knobs> {
    use SignatureAlgorithm::*;
    let k = |name, f: fn(&mut Knobs)| {
        let mut k = BASE;
        k.name = name;
        f(&mut k);
        k
    };
    vec![
        k("rsa-assertion", |_| {}),
        k("rsa-response", |k| k.sign = Sign::Response),
        k("rsa-both", |k| k.sign = Sign::Both),
        k("rsa384-response-keyinfo", |k| {
            k.alg = RsaSha384;
            k.sign = Sign::Response;
            k.key_info = true;
        }),
        k("rsa512-assertion-pretty-decl", |k| {
            k.alg = RsaSha512;
            k.pretty = true;
            k.decl = true;
        }),
        k("ec256-assertion", |k| {
            k.alg = EcdsaSha256;
            k.key = "ec256";
            k.trust = "ec256";
        }),
        k("ec384-both", |k| {
            k.alg = EcdsaSha384;
            k.key = "ec384";
            k.trust = "ec384";
            k.sign = Sign::Both;
        }),
        k("ec256-response-sha512", |k| {
            k.alg = EcdsaSha512;
            k.key = "ec256";
            k.trust = "ec256";
            k.sign = Sign::Response;
        }),
        k("default-ns-signature", |k| k.ds = DsStyle::Default),
        k("dsig-prefix-both", |k| {
            k.ds = DsStyle::Prefix("dsig");
            k.sign = Sign::Both;
        }),
        k("prefixlist-xs-assertion", |k| {
            k.prefix_list = true;
            k.tricky = true;
        }),
        k("prefixlist-response", |k| {
            k.prefix_list = true;
            k.sign = Sign::Response;
        }),
        k("ns-on-root-assertion", |k| k.ns_on_root = true),
        k("adfs-default-ns", |k| {
            k.default_ns = true;
            k.key_info = true;
        }),
        k("pretty-crlf-both", |k| {
            k.pretty = true;
            k.crlf = true;
            k.sign = Sign::Both;
        }),
        k("tricky-values-assertion", |k| k.tricky = true),
        k("tricky-values-response-ec", |k| {
            k.tricky = true;
            k.sign = Sign::Response;
            k.alg = EcdsaSha256;
            k.key = "ec256";
            k.trust = "ec256";
        }),
        k("many-attributes", |k| k.attrs = 40),
        k("idp-initiated", |k| k.in_response_to = false),
        k("two-certs-trusted", |k| k.trust = "foreign+rsa"),
        k("control-unsigned", |k| k.sign = Sign::Nothing),
        k("control-foreign-key", |k| k.key = "foreign"),
    ]
}

fn instant(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn signature_template(k: &Knobs, id: &str, cert_b64: &str) -> String {
    let p = match k.ds {
        DsStyle::Prefix(p) => format!("{p}:"),
        DsStyle::Default => String::new(),
    };
    let decl = match k.ds {
        DsStyle::Prefix(p) => format!(r#"xmlns:{p}="{DSIG}""#),
        DsStyle::Default => format!(r#"xmlns="{DSIG}""#),
    };
    let inclusive = |list: &str| {
        if k.prefix_list {
            format!(r#"<ec:InclusiveNamespaces xmlns:ec="{EXC_C14N}" PrefixList="{list}"/>"#)
        } else {
            String::new()
        }
    };
    let key_info = if k.key_info {
        format!(
            "<{p}KeyInfo><{p}X509Data><{p}X509Certificate>{cert_b64}</{p}X509Certificate></{p}X509Data></{p}KeyInfo>"
        )
    } else {
        String::new()
    };
    let method = SignatureMethod::from(k.alg);
    format!(
        r##"<{p}Signature {decl}><{p}SignedInfo><{p}CanonicalizationMethod Algorithm="{EXC_C14N}">{si_incl}</{p}CanonicalizationMethod><{p}SignatureMethod Algorithm="{sig}"/><{p}Reference URI="#{id}"><{p}Transforms><{p}Transform Algorithm="{ENVELOPED}"/><{p}Transform Algorithm="{EXC_C14N}">{ref_incl}</{p}Transform></{p}Transforms><{p}DigestMethod Algorithm="{digest}"/><{p}DigestValue></{p}DigestValue></{p}Reference></{p}SignedInfo><{p}SignatureValue></{p}SignatureValue>{key_info}</{p}Signature>"##,
        si_incl = inclusive("xs"),
        ref_incl = inclusive("xs #default"),
        sig = signature_uri(k.alg),
        digest = method.digest.uri(),
    )
}

fn build_seed_xml(k: &Knobs, n: usize, keys: &HashMap<&str, Key>) -> String {
    let key = &keys[k.key];
    let cert_b64 = STANDARD.encode(&key.cert_der);
    let rid = format!("_r{n:02}7f3a9c0e5d4b2a1f6e8d7c6b5a4f3e2d1c0b");
    let aid = format!("_a{n:02}0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a");
    let req = "_req4c1d6e0f9a8b7c6d5e4f3a2b1c0d9e8f7";
    let acs = format!("{SP_BASE}/acs");
    let audience = format!("{SP_BASE}/metadata");
    let (nb, noa) = (NOW - 30, NOW + 300);
    let s = if k.default_ns { "" } else { "saml:" };
    let sdecl = if k.default_ns {
        format!(r#" xmlns="{ASSERTION}""#)
    } else if k.ns_on_root {
        String::new()
    } else {
        format!(r#" xmlns:saml="{ASSERTION}""#)
    };
    let irt = |name: &str| {
        if k.in_response_to {
            format!(r#" {name}="{req}""#)
        } else {
            String::new()
        }
    };
    let mut attrs = String::new();
    let names = ["email", "firstName", "lastName", "groups"];
    for i in 0..k.attrs {
        let name = names
            .get(i)
            .map_or_else(|| format!("attr{i}"), |s| s.to_string());
        let value = match (i, k.tricky) {
            (0, false) => "ada@acme.test".to_owned(),
            (0, true) => "ada@acme.test<!-- the domain -->".to_owned(),
            (1, true) => "O&apos;Brien &amp; &#x41;da".to_owned(),
            (2, true) => "<![CDATA[Love<lace>]]>".to_owned(),
            (1, false) => "Ada".to_owned(),
            (2, false) => "Lovelace".to_owned(),
            _ => format!("value-{i}"),
        };
        let typed = if k.tricky || k.prefix_list {
            format!(r#" xmlns:xs="{XS}" xmlns:xsi="{XSI}" xsi:type="xs:string""#)
        } else {
            String::new()
        };
        write!(
            attrs,
            r#"<{s}Attribute Name="{name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><{s}AttributeValue{typed}>{value}</{s}AttributeValue>{extra}</{s}Attribute>"#,
            extra = if i == 3 {
                format!("<{s}AttributeValue>admins</{s}AttributeValue>")
            } else {
                String::new()
            }
        )
        .unwrap();
    }
    let name_id = if k.tricky {
        "ada<!---->@acme.test"
    } else {
        "subject-ada"
    };
    let sign_a = matches!(k.sign, Sign::Assertion | Sign::Both);
    let sign_r = matches!(k.sign, Sign::Response | Sign::Both);
    let a_sig = if sign_a {
        signature_template(k, &aid, &cert_b64)
    } else {
        String::new()
    };
    let assertion = format!(
        r#"<{s}Assertion{sdecl} ID="{aid}" Version="2.0" IssueInstant="{now}"><{s}Issuer>{IDP_ENTITY}</{s}Issuer>{a_sig}<{s}Subject><{s}NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{name_id}</{s}NameID><{s}SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><{s}SubjectConfirmationData{irt} NotOnOrAfter="{noa_s}" Recipient="{acs}"/></{s}SubjectConfirmation></{s}Subject><{s}Conditions NotBefore="{nb_s}" NotOnOrAfter="{noa_s}"><{s}AudienceRestriction><{s}Audience>{audience}</{s}Audience></{s}AudienceRestriction></{s}Conditions><{s}AuthnStatement AuthnInstant="{now}" SessionIndex="_s1"><{s}AuthnContext><{s}AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</{s}AuthnContextClassRef></{s}AuthnContext></{s}AuthnStatement><{s}AttributeStatement>{attrs}</{s}AttributeStatement></{s}Assertion>"#,
        now = instant(NOW),
        irt = irt("InResponseTo"),
        noa_s = instant(noa),
        nb_s = instant(nb),
    );
    let mut assertion = if k.pretty {
        prettify(&assertion)
    } else {
        assertion
    };
    let root_saml = if k.ns_on_root && !k.default_ns {
        format!(r#" xmlns:saml="{ASSERTION}""#)
    } else {
        String::new()
    };
    let issuer = if k.ns_on_root && !k.default_ns {
        format!("<saml:Issuer>{IDP_ENTITY}</saml:Issuer>")
    } else {
        format!(r#"<saml:Issuer xmlns:saml="{ASSERTION}">{IDP_ENTITY}</saml:Issuer>"#)
    };
    if sign_a {
        // Signed on its own first: the response signature covers a signed assertion. With
        // the prefix declared on the root only, the assertion is signed in place below.
        if !k.ns_on_root {
            assertion = strip_declaration(&sign_template(&assertion, &key.key_der).unwrap());
        }
    }
    let r_sig = if sign_r {
        signature_template(k, &rid, &cert_b64)
    } else {
        String::new()
    };
    let doc = format!(
        r#"<samlp:Response xmlns:samlp="{PROTOCOL}"{root_saml} ID="{rid}" Version="2.0" IssueInstant="{now}" Destination="{acs}"{irt}>{issuer}{r_sig}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#,
        now = instant(NOW),
        irt = irt("InResponseTo"),
    );
    let doc = if k.pretty && sign_r {
        prettify(&doc)
    } else {
        doc
    };
    let mut doc = if sign_r || (sign_a && k.ns_on_root) {
        strip_declaration(&sign_template(&doc, &key.key_der).unwrap())
    } else {
        doc
    };
    if k.crlf {
        doc = doc.replace('\n', "\r\n");
    }
    if k.decl {
        doc = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{doc}");
    }
    doc
}

/// A line break and indentation between every two tags (inside the signed content: the
/// seed is signed after this).
fn prettify(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len() * 2);
    let mut depth: usize = 0;
    let b = xml.as_bytes();
    for (i, c) in xml.char_indices() {
        if c == '<' && i > 0 && b[i - 1] == b'>' {
            let closing = b.get(i + 1) == Some(&b'/');
            let d = if closing {
                depth.saturating_sub(1)
            } else {
                depth
            };
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', 2 * d.min(20)));
        }
        out.push(c);
        if c == '<' {
            match b.get(i + 1) {
                Some(b'/') => depth = depth.saturating_sub(1),
                Some(b'!' | b'?') => {}
                _ => depth += 1,
            }
        }
        if c == '>' && i > 0 && b[i - 1] == b'/' {
            depth = depth.saturating_sub(1);
        }
    }
    out
}

fn strip_declaration(xml: &str) -> String {
    let t = xml.trim_start();
    match t.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").map_or(0, |i| i + 2)..]
            .trim_start()
            .to_owned(),
        None => t.to_owned(),
    }
}

fn verify_outcome(xml: &str, certs: &[Vec<u8>]) -> Result<SignedParts, String> {
    verify_signatures(xml, certs, &SignatureAlgorithm::ALL).map_err(|e| e.to_string())
}

/// The validate_response setting a seed passes with: its own Destination, Issuer, Audience
/// and dates. None when the seed does not validate with it.
fn derive_validate(xml: &str, certs: &[Vec<u8>]) -> Option<ValidateCtx> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let find = |local: &str| {
        doc.descendants()
            .find(|n| n.tag_name().namespace() == Some(ASSERTION) && n.tag_name().name() == local)
    };
    let acs = doc.root_element().attribute("Destination")?.to_owned();
    let issuer = find("Assertion")
        .and_then(|a| {
            a.children()
                .find(|n| n.tag_name().name() == "Issuer")
                .and_then(|n| n.text())
        })?
        .trim()
        .to_owned();
    let audience = find("Audience")?.text()?.trim().to_owned();
    let now = find("Conditions")
        .and_then(|c| c.attribute("NotBefore"))
        .or_else(|| find("Assertion").and_then(|a| a.attribute("IssueInstant")))
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })?
        .unix_timestamp()
        + 1;
    let ctx = ValidateCtx {
        idp: SamlIdpSettings {
            idp_entity_id: issuer,
            idp_sso_url: "https://idp.fuzz.test/sso".into(),
            idp_certificates: certs.to_vec(),
            allowed_algorithms: SignatureAlgorithm::ALL.to_vec(),
            allow_idp_initiated: true,
            sign_requests: false,
            clock_skew_secs: 60,
            allow_unbound_responses: false,
        },
        sp: SpEndpoints {
            entity_id: audience,
            acs_url: acs,
            metadata_url: String::new(),
        },
        now,
    };
    run_validate(xml.as_bytes(), &ctx, usize::MAX).ok()?;
    Some(ctx)
}

fn run_validate(
    input: &[u8],
    v: &ValidateCtx,
    max_response_bytes: usize,
) -> Result<String, String> {
    let b64 = STANDARD.encode(input);
    let ctx = AcsContext {
        idp: &v.idp,
        sp: &v.sp,
        now: v.now,
        max_response_bytes,
    };
    validate_response(&b64, &ctx)
        .map(|a| format!("{a:?}"))
        .map_err(|e| e.to_string())
}

fn corpus_seeds(dir: &Path) -> Vec<(String, String, &'static str)> {
    let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) else {
        return Vec::new();
    };
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for list in ["responses", "controls"] {
        for entry in manifest[list].as_array().into_iter().flatten() {
            let (Some(file), Some(key)) = (entry["file"].as_str(), entry["key"].as_str()) else {
                continue;
            };
            let key = match key {
                "ec" => "corpus-ec",
                _ => "corpus-rsa",
            };
            if let Ok(xml) = std::fs::read_to_string(dir.join(file)) {
                out.push((format!("corpus:{file}"), xml, key));
            }
        }
    }
    out
}

fn corpus_cert(dir: &Path, name: &str) -> Option<Vec<u8>> {
    let pem = std::fs::read(dir.join("keys").join(name)).ok()?;
    openssl::x509::X509::from_pem(&pem).ok()?.to_der().ok()
}

fn build_seeds(cfg: &Config, keys: &HashMap<&str, Key>) -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (n, k) in seed_knobs().iter().enumerate() {
        let xml = build_seed_xml(k, n, keys);
        let certs: Vec<Vec<u8>> = k
            .trust
            .split('+')
            .map(|t| keys[t].cert_der.clone())
            .collect();
        seeds.push(Seed {
            name: k.name.to_owned(),
            accepted: verify_outcome(&xml, &certs),
            validate: derive_validate(&xml, &certs),
            xml,
            certs,
        });
    }
    let rsa = corpus_cert(&cfg.corpus, "rsa-cert.pem");
    let ec = corpus_cert(&cfg.corpus, "ec-cert.pem");
    for (name, xml, key) in corpus_seeds(&cfg.corpus) {
        let cert = if key == "corpus-ec" { &ec } else { &rsa };
        let Some(cert) = cert else { continue };
        let certs = vec![cert.clone()];
        seeds.push(Seed {
            name,
            accepted: verify_outcome(&xml, &certs),
            validate: derive_validate(&xml, &certs),
            xml,
            certs,
        });
    }
    seeds
}

/// Inputs at the size cap built to be expensive for a keyless sender: each is a signed seed
/// with its signed content grown, so parse, structure checks and the digest's c14n all run
/// before the digest fails. Run (and timed) on every run, then mutated like the rest.
fn crafted(seed: &str, max: usize) -> Vec<(&'static str, String)> {
    let nodes = xml::parse(seed).map_or(100, |d| d.node_count());
    let room = 20_000 - nodes - 2;
    let value_at = seed
        .find("<saml:AttributeValue")
        .and_then(|i| seed[i..].find('>').map(|j| i + j + 1))
        .expect("the seed has an AttributeValue");
    let name_id_at = seed
        .find("<saml:NameID")
        .and_then(|i| seed[i..].find('>').map(|j| i + j + 1))
        .expect("the seed has a NameID");
    let statement = "<saml:AttributeStatement>";
    let pad = |t: String| -> String {
        let end = t.rfind("</samlp:Response>").unwrap_or(t.len());
        let fill = max.saturating_sub(t.len() + 7);
        if fill == 0 {
            return t;
        }
        format!("{}<!--{}-->{}", &t[..end], "p".repeat(fill), &t[end..])
    };
    let fit =
        |unit: &str, overhead: usize| (max.saturating_sub(seed.len() + overhead)) / unit.len();
    let mut out = Vec::new();
    // Every element renders a default namespace its output ancestors do not (c14n re-renders
    // a declaration per element), as many elements as the node bound allows.
    let flood = splice_in(seed, value_at, &"<x/>".repeat(room));
    let flood = flood.replacen(
        statement,
        &format!("<saml:AttributeStatement xmlns=\"{ASSERTION}\">"),
        1,
    );
    out.push(("default-ns-flood", pad(flood)));
    // The node bound in subtrees as deep as the depth bound allows.
    let d = 40;
    let unit = format!("{}{}", "<x>".repeat(d), "</x>".repeat(d));
    out.push((
        "deep-flood",
        pad(splice_in(seed, value_at, &unit.repeat(room / d))),
    ));
    // Text and attribute values made of references.
    out.push((
        "text-references",
        splice_in(seed, name_id_at, &"&#65;".repeat(fit("&#65;", 16))),
    ));
    let id_at = seed.find(" ID=\"_a").expect("the assertion's ID");
    out.push((
        "attribute-references",
        splice_in(
            seed,
            id_at,
            &format!(" Extra=\"{}\"", "&#x41;".repeat(fit("&#x41;", 16))),
        ),
    ));
    // Text split by comments and CDATA sections (one text node, grown piece by piece).
    out.push((
        "comment-split-text",
        splice_in(seed, name_id_at, &"a<!---->".repeat(fit("a<!---->", 16))),
    ));
    out.push((
        "cdata-split-text",
        splice_in(
            seed,
            name_id_at,
            &"a<![CDATA[b]]>".repeat(fit("a<![CDATA[b]]>", 16)),
        ),
    ));
    // As many namespace declarations and prefixed attributes as an element may carry,
    // nested, repeated: every lookup has a full scope.
    let decls: String = (0..44)
        .map(|i| format!(" xmlns:p{i}=\"urn:p{i}\""))
        .collect();
    let open = format!("<p1:e{decls} p2:a=\"v\" p3:b=\"w\" p43:c=\"x\">");
    let unit = format!("{}{}", open.repeat(30), "</p1:e>".repeat(30));
    out.push((
        "namespace-scopes",
        pad(splice_in(
            seed,
            value_at,
            &unit.repeat(fit(&unit, 64).max(1)),
        )),
    ));
    out.retain(|(_, t)| t.len() <= max);
    out
}

// ---------------------------------------------------------------------------------------------
// Independent readings of a document, for the oracles.

/// A canonical, prefix-free rendering of what an element says: expanded names, attributes
/// (sorted), and text with comments and CDATA boundaries gone. Namespace declarations and
/// prefixes are not part of it.
/// What a view leaves out of the element it starts at (never deeper).
#[derive(Clone, Copy)]
enum Omit {
    Nothing,
    /// Its ds:Signature children: the enveloped signature (an accepted element has one).
    Signatures,
    Node(NodeId),
}

fn view_ss(doc: &Document<'_>, id: NodeId, omit: Omit, out: &mut String) {
    let Some(e) = doc.element(id) else { return };
    write!(
        out,
        "<{{{}}}{}",
        doc.namespace(e.namespace).unwrap_or(""),
        e.local
    )
    .unwrap();
    let mut attrs: Vec<(&str, &str, &str)> = e
        .attributes
        .iter()
        .map(|a| {
            (
                doc.namespace(a.namespace).unwrap_or(""),
                a.local,
                a.value.as_ref(),
            )
        })
        .collect();
    attrs.sort_unstable();
    for (ns, local, value) in attrs {
        write!(out, " {{{ns}}}{local}={value:?}").unwrap();
    }
    out.push('>');
    let mut text = String::new();
    for c in doc.children(id) {
        match &doc.node(c).kind {
            NodeKind::Text(t) => text.push_str(t),
            NodeKind::Element(_) => {
                let skip = match omit {
                    Omit::Nothing => false,
                    Omit::Signatures => doc.is(c, DSIG, "Signature"),
                    Omit::Node(n) => n == c,
                };
                if skip {
                    continue;
                }
                if !text.is_empty() {
                    write!(out, "{text:?}").unwrap();
                    text.clear();
                }
                view_ss(doc, c, Omit::Nothing, out);
            }
        }
    }
    if !text.is_empty() {
        write!(out, "{text:?}").unwrap();
    }
    out.push_str("</>");
}

fn view_rox(node: roxmltree::Node<'_, '_>, skip_enveloped: bool, out: &mut String) {
    let name = node.tag_name();
    write!(
        out,
        "<{{{}}}{}",
        name.namespace().unwrap_or(""),
        name.name()
    )
    .unwrap();
    let mut attrs: Vec<(&str, &str, &str)> = node
        .attributes()
        .map(|a| (a.namespace().unwrap_or(""), a.name(), a.value()))
        .collect();
    attrs.sort_unstable();
    for (ns, local, value) in attrs {
        write!(out, " {{{ns}}}{local}={value:?}").unwrap();
    }
    out.push('>');
    let mut text = String::new();
    for c in node.children() {
        if c.is_text() {
            text.push_str(c.text().unwrap_or(""));
        } else if c.is_element() {
            if skip_enveloped
                && c.tag_name().namespace() == Some(DSIG)
                && c.tag_name().name() == "Signature"
            {
                continue;
            }
            if !text.is_empty() {
                write!(out, "{text:?}").unwrap();
                text.clear();
            }
            view_rox(c, false, out);
        }
    }
    if !text.is_empty() {
        write!(out, "{text:?}").unwrap();
    }
    out.push_str("</>");
}

/// The signed parts (Response, its one Assertion child) as each tree reads them.
#[derive(Default, Clone)]
struct SignedViews {
    response_ss: Option<String>,
    assertion_ss: Option<String>,
    response_rox: Option<String>,
    assertion_rox: Option<String>,
}

fn signed_views(xml: &str) -> SignedViews {
    let mut v = SignedViews::default();
    if let Ok(doc) = xml::parse(xml) {
        let root = doc.root();
        let mut s = String::new();
        view_ss(&doc, root, Omit::Signatures, &mut s);
        v.response_ss = Some(s);
        let kids: Vec<NodeId> = doc.children_named(root, ASSERTION, "Assertion").collect();
        if let [a] = kids.as_slice() {
            let mut s = String::new();
            view_ss(&doc, *a, Omit::Signatures, &mut s);
            v.assertion_ss = Some(s);
        }
    }
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 1_000_000,
        ..Default::default()
    };
    if let Ok(doc) = roxmltree::Document::parse_with_options(xml, opts) {
        let root = doc.root_element();
        let mut s = String::new();
        view_rox(root, true, &mut s);
        v.response_rox = Some(s);
        let kids: Vec<_> = root
            .children()
            .filter(|c| {
                c.tag_name().namespace() == Some(ASSERTION) && c.tag_name().name() == "Assertion"
            })
            .collect();
        if let [a] = kids.as_slice() {
            let mut s = String::new();
            view_rox(*a, true, &mut s);
            v.assertion_rox = Some(s);
        }
    }
    v
}

/// Everything any seed signed, as both trees read it, and every identity a seed validated to.
#[derive(Default)]
struct Truth {
    signed: HashSet<String>,
    identities: HashSet<String>,
}

// ---------------------------------------------------------------------------------------------
// A lax scan of the text: where tags, elements, attributes and text are. It reads broken
// documents too, so mutants can be mutated again.

#[derive(Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Open,
    Close,
    Empty,
    Other,
}

#[derive(Clone, Copy)]
struct Tag {
    start: usize,
    end: usize,
    kind: TagKind,
    name: (usize, usize),
}

#[derive(Clone, Copy)]
struct Elem {
    start: usize,
    end: usize,
    /// Just after the start tag's name: where attributes can be inserted.
    name_end: usize,
    open_end: usize,
    /// The start of the end tag (== end for an empty element).
    close_start: usize,
    name: (usize, usize),
    close_name: Option<(usize, usize)>,
}

#[derive(Clone, Copy)]
struct Attr {
    start: usize,
    end: usize,
    name: (usize, usize),
    value: (usize, usize),
}

#[derive(Default)]
struct Scan {
    tags: Vec<Tag>,
    elems: Vec<Elem>,
    attrs: Vec<Attr>,
    texts: Vec<(usize, usize)>,
}

fn find_from(b: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    if from >= b.len() {
        return None;
    }
    b[from..]
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + from)
}

fn is_name_end(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'/' | b'>' | b'=')
}

fn scan(s: &str) -> Scan {
    let b = s.as_bytes();
    let mut sc = Scan::default();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            let j = b[i..]
                .iter()
                .position(|c| *c == b'<')
                .map_or(b.len(), |p| p + i);
            sc.texts.push((i, j));
            i = j;
            continue;
        }
        let rest = &b[i..];
        let (end, kind, name) = if rest.starts_with(b"<!--") {
            let e = find_from(b, i + 4, b"-->").map_or(b.len(), |p| p + 3);
            (e, TagKind::Other, (i, i))
        } else if rest.starts_with(b"<![CDATA[") {
            let e = find_from(b, i + 9, b"]]>");
            if let Some(e) = e {
                sc.texts.push((i + 9, e));
            }
            (e.map_or(b.len(), |p| p + 3), TagKind::Other, (i, i))
        } else if rest.starts_with(b"<?") {
            let e = find_from(b, i + 2, b"?>").map_or(b.len(), |p| p + 2);
            (e, TagKind::Other, (i, i))
        } else if rest.starts_with(b"<!") {
            let gt = find_from(b, i, b">").unwrap_or(b.len());
            let e = match find_from(b, i, b"[") {
                Some(br) if br < gt => find_from(b, br, b"]>").map_or(b.len(), |p| p + 2),
                _ => (gt + 1).min(b.len()),
            };
            (e, TagKind::Other, (i, i))
        } else if rest.starts_with(b"</") {
            let n0 = i + 2;
            let n1 = (n0..b.len())
                .find(|&k| is_name_end(b[k]))
                .unwrap_or(b.len());
            let e = find_from(b, n1, b">").map_or(b.len(), |p| p + 1);
            (e, TagKind::Close, (n0, n1))
        } else {
            let n0 = i + 1;
            let n1 = (n0..b.len())
                .find(|&k| is_name_end(b[k]))
                .unwrap_or(b.len());
            let mut j = n1;
            let mut kind = TagKind::Open;
            let end;
            loop {
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j >= b.len() {
                    end = b.len();
                    break;
                }
                if b[j] == b'>' {
                    end = j + 1;
                    break;
                }
                if b[j] == b'/' && b.get(j + 1) == Some(&b'>') {
                    kind = TagKind::Empty;
                    end = j + 2;
                    break;
                }
                let a0 = j;
                while j < b.len() && !is_name_end(b[j]) && b[j] != b'<' {
                    j += 1;
                }
                let a1 = j;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if a1 == a0 || b.get(j) != Some(&b'=') {
                    end = find_from(b, j, b">").map_or(b.len(), |p| p + 1);
                    break;
                }
                j += 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                let Some(&q) = b.get(j).filter(|q| matches!(q, b'"' | b'\'')) else {
                    end = find_from(b, j, b">").map_or(b.len(), |p| p + 1);
                    break;
                };
                let v0 = j + 1;
                let Some(v1) = b[v0..].iter().position(|c| *c == q).map(|p| p + v0) else {
                    end = b.len();
                    break;
                };
                sc.attrs.push(Attr {
                    start: a0,
                    end: v1 + 1,
                    name: (a0, a1),
                    value: (v0, v1),
                });
                j = v1 + 1;
            }
            (end, kind, (n0, n1))
        };
        sc.tags.push(Tag {
            start: i,
            end,
            kind,
            name,
        });
        i = end.max(i + 1);
    }
    // Elements: start tags matched with end tags of the same name, laxly.
    let mut stack: Vec<usize> = Vec::new();
    for t in 0..sc.tags.len() {
        let tag = sc.tags[t];
        match tag.kind {
            TagKind::Open => stack.push(t),
            TagKind::Empty => sc.elems.push(Elem {
                start: tag.start,
                end: tag.end,
                name_end: tag.name.1,
                open_end: tag.end,
                close_start: tag.end,
                name: tag.name,
                close_name: None,
            }),
            TagKind::Close => {
                let want = &b[tag.name.0..tag.name.1];
                if let Some(pos) = stack
                    .iter()
                    .rposition(|o| &b[sc.tags[*o].name.0..sc.tags[*o].name.1] == want)
                {
                    let o = sc.tags[stack[pos]];
                    stack.truncate(pos);
                    sc.elems.push(Elem {
                        start: o.start,
                        end: tag.end,
                        name_end: o.name.1,
                        open_end: o.end,
                        close_start: tag.start,
                        name: o.name,
                        close_name: Some(tag.name),
                    });
                }
            }
            TagKind::Other => {}
        }
    }
    sc.elems.sort_by_key(|e| e.start);
    sc
}

fn local_of(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn prefix_of(name: &str) -> &str {
    name.split_once(':').map_or("", |(p, _)| p)
}

// ---------------------------------------------------------------------------------------------
// Mutations

const INTERESTING: &[&str] = &[
    "Signature",
    "SignedInfo",
    "Reference",
    "Transforms",
    "Transform",
    "DigestValue",
    "SignatureValue",
    "CanonicalizationMethod",
    "InclusiveNamespaces",
    "KeyInfo",
    "Assertion",
    "Response",
    "Issuer",
    "NameID",
    "Subject",
    "SubjectConfirmationData",
    "Conditions",
    "Audience",
    "Attribute",
    "AttributeValue",
    "Status",
    "StatusCode",
    "AuthnStatement",
];

const NAMESPACES: &[&str] = &[
    DSIG,
    ASSERTION,
    PROTOCOL,
    EXC_C14N,
    XML_NS,
    XMLNS_NS,
    XSLT,
    XS,
    "",
    " ",
    "urn:evil",
    "http://www.w3.org/2000/09/xmldsig# ",
    "&#x68;ttp://www.w3.org/2000/09/xmldsig#",
    "urn:oasis:names:tc:SAML:2.0:ASSERTION",
];

const PREFIXES: &[&str] = &[
    "ds", "saml", "samlp", "saml2", "ec", "xs", "xsi", "p", "xml", "xmlns", "XML", "a",
];

const VALUES: &[&str] = &[
    "",
    " ",
    "x",
    "evil@attacker.test",
    "ada@acme.test",
    "admins",
    "https://sp.fuzz.test/t/acme/saml/okta/acs",
    "https://sp.fuzz.test/t/acme/saml/okta/metadata",
    "https://idp.fuzz.test/metadata",
    "urn:oasis:names:tc:SAML:2.0:status:Success",
    "urn:oasis:names:tc:SAML:2.0:cm:bearer",
    "#",
    "#_a",
    DSIG,
    EXC_C14N,
    ENVELOPED,
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/1999/REC-xpath-19991116",
    "http://www.w3.org/TR/1999/REC-xslt-19991116",
    "http://www.w3.org/2000/09/xmldsig#sha1",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
    "http://www.w3.org/2000/09/xmldsig#base64",
    "file:///etc/passwd",
    "http://127.0.0.1:1/x",
    "2030-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "2030-01-01T00:00:00+99:99",
    "-1",
    "0",
    "99999999999999999999999",
    "\u{0}",
    "\u{202E}evil",
    "#default",
    "xs #default saml ds",
];

const REFERENCES: &[&str] = &[
    "&lt;",
    "&gt;",
    "&amp;",
    "&apos;",
    "&quot;",
    "&#0;",
    "&#x0;",
    "&#9;",
    "&#10;",
    "&#13;",
    "&#xD;&#xA;",
    "&#x20;",
    "&#65;",
    "&#x41;",
    "&#xD800;",
    "&#xDFFF;",
    "&#xFFFE;",
    "&#xFFFF;",
    "&#x10FFFF;",
    "&#x110000;",
    "&#1114112;",
    "&#4294967296;",
    "&#99999999999999999999;",
    "&#x;",
    "&#;",
    "&#-1;",
    "&#+65;",
    "&#x+41;",
    "&#X41;",
    "&foo;",
    "&amp",
    "&",
    "&#x0000000041;",
    "&#000065;",
    "&#x00041;",
    "&lt",
    "&;",
    "&#x1F600;",
    "&#128512;",
    "&xxe;",
    "&#65",
    "&#x85;",
    "&#x2028;",
    "&#x7F;",
    "&#1;",
];

const DOCTYPES: &[&str] = &[
    "<!DOCTYPE Response>",
    "<!DOCTYPE r [<!ENTITY e \"x\">]>",
    "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>",
    "<!DOCTYPE r SYSTEM \"file:///dev/zero\">",
    "<!DOCTYPE r [<!ENTITY % p SYSTEM \"http://127.0.0.1:1/x\"> %p;]>",
    "<!DOCTYPE r PUBLIC \"-//x//EN\" \"http://127.0.0.1:1/x.dtd\">",
    "<!DOCTYPE",
    "<!doctype r>",
    "<!ELEMENT x ANY>",
    "<!ATTLIST Assertion ID ID #IMPLIED>",
    "<!DOCTYPE r [<!ATTLIST Assertion xml:id ID #IMPLIED>]>",
];

const DECLS: &[&str] = &[
    "<?xml version=\"1.0\"?>",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
    "<?xml version=\"1.0\" encoding=\"UTF-16\"?>",
    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
    "<?xml version=\"1.0\" encoding=\"UTF-7\"?>",
    "<?xml version=\"1.0\" encoding=\"US-ASCII\"?>",
    "<?xml version=\"1.0\" encoding=\"UTF8\"?>",
    "<?xml version=\"1.1\"?>",
    "<?xml version=\"2.0\"?>",
    "<?xml version=\"1.0\" standalone=\"yes\"?>",
    "<?xml version=\"1.0\" standalone=\"maybe\"?>",
    "<?xml  version='1.0'  encoding='UTF-8' ?>",
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\" extra=\"x\"?>",
    "<?XML version=\"1.0\"?>",
    "<?xml?>",
    "<?xml version=\"1.0\"encoding=\"UTF-8\"?>",
    "<?xml encoding=\"UTF-8\" version=\"1.0\"?>",
];

const PIS: &[&str] = &[
    "<?foo?>",
    "<?foo bar?>",
    "<?xml-stylesheet href=\"http://127.0.0.1:1/x.xsl\" type=\"text/xsl\"?>",
    "<?xml version=\"1.0\"?>",
    "<?x ?>",
    "<??>",
    "<?123?>",
    "<?xml:x y?>",
];

const CHARS: &[&str] = &[
    "\u{0}",
    "\u{1}",
    "\u{8}",
    "\u{b}",
    "\u{c}",
    "\u{1f}",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "\u{feff}",
    "\u{fffe}",
    "\u{ffff}",
    "\u{d7ff}",
    "\u{e000}",
    "\u{10ffff}",
    "\u{301}",
    "\u{202e}",
    "\u{fffd}",
    "é",
    "𝔸",
];

#[derive(Clone)]
struct Input {
    data: Vec<u8>,
    seed: usize,
    /// What was done to the seed to get here, oldest first.
    kinds: Vec<&'static str>,
    /// How many of `kinds` (the last ones) this execution applied.
    fresh: usize,
}

struct Mutator {
    rng: Rng,
    /// The seeds' texts, for splicing parts of one into another.
    seeds: Vec<String>,
    max_bytes: usize,
}

type MutFn = fn(&mut Mutator, &str, &Scan) -> Option<String>;

const MUTATIONS: &[(usize, &str, MutFn)] = &[
    (6, "elem-delete", Mutator::elem_delete),
    (6, "elem-dup", Mutator::elem_dup),
    (6, "elem-move", Mutator::elem_move),
    (5, "elem-copy", Mutator::elem_copy),
    (4, "elem-wrap", Mutator::elem_wrap),
    (3, "elem-rename", Mutator::elem_rename),
    (5, "elem-prefix", Mutator::elem_prefix),
    (5, "sig-copy", Mutator::sig_copy),
    (4, "assertion-copy", Mutator::assertion_copy),
    (4, "attr-delete", Mutator::attr_delete),
    (4, "attr-dup", Mutator::attr_dup),
    (8, "attr-value", Mutator::attr_value),
    (3, "attr-swap", Mutator::attr_swap),
    (5, "attr-add", Mutator::attr_add),
    (3, "attr-many", Mutator::attr_many),
    (3, "attr-quote", Mutator::attr_quote),
    (3, "tag-space", Mutator::tag_space),
    (8, "ns-decl", Mutator::ns_decl),
    (6, "id-games", Mutator::id_games),
    (3, "nest-deep", Mutator::nest_deep),
    (3, "long-name", Mutator::long_name),
    (6, "ref-insert", Mutator::ref_insert),
    (4, "ref-encode", Mutator::ref_encode),
    (4, "cdata", Mutator::cdata),
    (5, "comment", Mutator::comment),
    (2, "pi", Mutator::pi),
    (2, "doctype", Mutator::doctype),
    (3, "xml-decl", Mutator::xml_decl),
    (7, "b64", Mutator::b64),
    (4, "grow", Mutator::grow),
    (7, "text-edit", Mutator::text_edit),
    (2, "truncate", Mutator::truncate),
    (4, "splice-seed", Mutator::splice_seed),
    (3, "self-close", Mutator::self_close),
    (2, "line-ends", Mutator::line_ends),
    (3, "unicode", Mutator::unicode),
    (4, "inclusive-ns", Mutator::inclusive_ns),
    (5, "dsig-shape", Mutator::dsig_shape),
];

/// `frag` inserted at `at` (moved back to a character boundary: the lax scan's positions
/// in broken text need not be on one).
fn splice_in(s: &str, at: usize, frag: &str) -> String {
    let at = boundary(s, at);
    let mut out = String::with_capacity(s.len() + frag.len());
    out.push_str(&s[..at]);
    out.push_str(frag);
    out.push_str(&s[at..]);
    out
}

fn replace_range(s: &str, r: (usize, usize), frag: &str) -> String {
    let r = (boundary(s, r.0), boundary(s, r.1.max(r.0)));
    let mut out = String::with_capacity(s.len() + frag.len());
    out.push_str(&s[..r.0]);
    out.push_str(frag);
    out.push_str(&s[r.1..]);
    out
}

fn boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl Mutator {
    fn name(s: &str, r: (usize, usize)) -> &str {
        &s[r.0..r.1]
    }

    /// An element, half the time one the verifier cares about.
    fn elem(&mut self, s: &str, sc: &Scan) -> Option<Elem> {
        if sc.elems.is_empty() {
            return None;
        }
        if self.rng.chance(50) {
            let want = *self.rng.pick(INTERESTING);
            let hits: Vec<&Elem> = sc
                .elems
                .iter()
                .filter(|e| local_of(Self::name(s, e.name)) == want)
                .collect();
            if !hits.is_empty() {
                return Some(*hits[self.rng.below(hits.len())]);
            }
        }
        Some(sc.elems[self.rng.below(sc.elems.len())])
    }

    fn elem_named(&mut self, s: &str, sc: &Scan, local: &str) -> Option<Elem> {
        let hits: Vec<&Elem> = sc
            .elems
            .iter()
            .filter(|e| local_of(Self::name(s, e.name)) == local)
            .collect();
        (!hits.is_empty()).then(|| *hits[self.rng.below(hits.len())])
    }

    /// A place between tags: before, after, first or last inside an element.
    fn point(&mut self, s: &str, sc: &Scan) -> usize {
        let Some(e) = self.elem(s, sc) else {
            return self.rng.below(s.len() + 1);
        };
        match self.rng.below(4) {
            0 => e.start,
            1 => e.end,
            2 => e.open_end,
            _ => e.close_start,
        }
    }

    fn attr(&mut self, s: &str, sc: &Scan) -> Option<Attr> {
        if sc.attrs.is_empty() {
            return None;
        }
        if self.rng.chance(40) {
            let want = *self.rng.pick(&[
                "ID",
                "URI",
                "Algorithm",
                "PrefixList",
                "Destination",
                "Recipient",
                "NotOnOrAfter",
                "Name",
                "Format",
                "Method",
                "Value",
                "InResponseTo",
            ]);
            let hits: Vec<&Attr> = sc
                .attrs
                .iter()
                .filter(|a| local_of(Self::name(s, a.name)) == want)
                .collect();
            if !hits.is_empty() {
                return Some(*hits[self.rng.below(hits.len())]);
            }
        }
        Some(sc.attrs[self.rng.below(sc.attrs.len())])
    }

    fn text(&mut self, s: &str, sc: &Scan) -> Option<(usize, usize)> {
        let texts: Vec<&(usize, usize)> = sc
            .texts
            .iter()
            .filter(|(a, b)| !s[*a..*b].trim().is_empty() || self.rng.chance(10))
            .collect();
        (!texts.is_empty()).then(|| *texts[self.rng.below(texts.len())])
    }

    fn value(&mut self) -> String {
        match self.rng.below(10) {
            0 => "A".repeat(self.rng.range(100, 5000)),
            1 => format!("_{:x}", self.rng.next_u64()),
            _ => (*self.rng.pick(VALUES)).to_owned(),
        }
    }

    fn budget(&self, s: &str) -> usize {
        self.max_bytes.saturating_sub(s.len())
    }

    fn elem_delete(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem(s, sc)?;
        Some(replace_range(s, (e.start, e.end), ""))
    }

    fn elem_dup(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem(s, sc)?;
        let at = if self.rng.chance(50) { e.end } else { e.start };
        Some(splice_in(s, at, &s[e.start..e.end]))
    }

    fn elem_move(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem(s, sc)?;
        let p = self.point(s, sc);
        let frag = &s[e.start..e.end];
        if p > e.start && p < e.end {
            return None;
        }
        Some(if p <= e.start {
            format!("{}{frag}{}{}", &s[..p], &s[p..e.start], &s[e.end..])
        } else {
            format!("{}{}{frag}{}", &s[..e.start], &s[e.end..p], &s[p..])
        })
    }

    fn elem_copy(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem(s, sc)?;
        let p = self.point(s, sc);
        Some(splice_in(s, p, &s[e.start..e.end]))
    }

    fn elem_wrap(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem(s, sc)?;
        let (open, close) = *self.rng.pick(&[
            ("<x:Wrap xmlns:x=\"urn:x\">", "</x:Wrap>"),
            (
                "<saml:Advice xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">",
                "</saml:Advice>",
            ),
            (
                "<samlp:Extensions xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">",
                "</samlp:Extensions>",
            ),
            (
                "<ds:Object xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
                "</ds:Object>",
            ),
            ("<Wrapper>", "</Wrapper>"),
            (
                "<ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
                "</ds:KeyInfo>",
            ),
        ]);
        Some(format!(
            "{}{open}{}{close}{}",
            &s[..e.start],
            &s[e.start..e.end],
            &s[e.end..]
        ))
    }

    fn rename(s: &str, e: &Elem, qname: &str) -> String {
        let mut out = s.to_owned();
        if let Some(c) = e.close_name {
            out.replace_range(c.0..c.1, qname);
        }
        out.replace_range(e.name.0..e.name.1, qname);
        out
    }

    fn elem_rename(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem(s, sc)?;
        let name = Self::name(s, e.name);
        let prefix = prefix_of(name);
        let local = match self.rng.below(4) {
            0 => format!("{}x", local_of(name)),
            1 => local_of(name).to_lowercase(),
            _ => (*self.rng.pick(INTERESTING)).to_owned(),
        };
        let q = if prefix.is_empty() {
            local
        } else {
            format!("{prefix}:{local}")
        };
        Some(Self::rename(s, &e, &q))
    }

    /// The URI a prefix is declared to somewhere in the text (lax: the first declaration).
    fn uri_of<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
        let pat = if prefix.is_empty() {
            "xmlns=\"".to_owned()
        } else {
            format!("xmlns:{prefix}=\"")
        };
        let at = s.find(&pat)? + pat.len();
        let end = s[at..].find('"')? + at;
        Some(&s[at..end])
    }

    fn elem_prefix(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem(s, sc)?;
        e.close_name?;
        let name = Self::name(s, e.name);
        let (prefix, local) = (prefix_of(name), local_of(name));
        let uri = Self::uri_of(s, prefix).unwrap_or(ASSERTION).to_owned();
        let renamed = match self.rng.below(4) {
            // Same namespace under another prefix (the meaning is kept, the bytes are not).
            0 => {
                let p = format!("n{}", self.rng.below(9));
                let r = Self::rename(s, &e, &format!("{p}:{local}"));
                splice_in(
                    &r,
                    e.name.0 + p.len() + 1 + local.len(),
                    &format!(" xmlns:{p}=\"{uri}\""),
                )
            }
            // Same namespace as the default.
            1 => {
                let r = Self::rename(s, &e, local);
                splice_in(&r, e.name.0 + local.len(), &format!(" xmlns=\"{uri}\""))
            }
            // Another prefix in scope (the meaning changes).
            _ => {
                let p = *self.rng.pick(&["saml", "samlp", "ds", "ec", "xs", ""]);
                let q = if p.is_empty() {
                    local.to_owned()
                } else {
                    format!("{p}:{local}")
                };
                Self::rename(s, &e, &q)
            }
        };
        Some(renamed)
    }

    fn sig_copy(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let frag = if self.rng.chance(30) {
            let other = self.seeds[self.rng.below(self.seeds.len())].clone();
            let osc = scan(&other);
            let e = self.elem_named(&other, &osc, "Signature")?;
            other[e.start..e.end].to_owned()
        } else {
            let e = self.elem_named(s, sc, "Signature")?;
            s[e.start..e.end].to_owned()
        };
        let p = self.point(s, sc);
        Some(splice_in(s, p, &frag))
    }

    fn assertion_copy(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem_named(s, sc, "Assertion")?;
        let frag = &s[e.start..e.end];
        let frag = match self.rng.below(4) {
            0 => format!("<samlp:Extensions xmlns:samlp=\"{PROTOCOL}\">{frag}</samlp:Extensions>"),
            1 => format!("<saml:Advice xmlns:saml=\"{ASSERTION}\">{frag}</saml:Advice>"),
            _ => frag.to_owned(),
        };
        let p = self.point(s, sc);
        Some(splice_in(s, p, &frag))
    }

    fn attr_delete(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let a = self.attr(s, sc)?;
        Some(replace_range(s, (a.start, a.end), ""))
    }

    fn attr_dup(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let a = self.attr(s, sc)?;
        let name = Self::name(s, a.name);
        let dup = match self.rng.below(3) {
            0 => format!(" {}", &s[a.start..a.end]),
            1 => format!(" {name}=\"{}\"", self.value()),
            // The same expanded name under another prefix bound to the same namespace.
            _ => {
                let local = local_of(name);
                let uri = Self::uri_of(s, prefix_of(name)).unwrap_or(ASSERTION);
                format!(" xmlns:d2=\"{uri}\" d2:{local}=\"{}\"", self.value())
            }
        };
        Some(splice_in(s, a.end, &dup))
    }

    fn attr_value(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let a = self.attr(s, sc)?;
        let old = &s[a.value.0..a.value.1];
        let new = match self.rng.below(7) {
            0 => format!("{old}x"),
            1 if !old.is_empty() => {
                let i = boundary(old, self.rng.below(old.len()));
                let mut v = old.to_owned();
                v.insert(i, *self.rng.pick(&['x', ' ', '\t', '\n', '\r', '0', '#']));
                v
            }
            2 => format!(" {old} "),
            3 => old.to_uppercase(),
            _ => self.value(),
        };
        Some(replace_range(
            s,
            a.value,
            &new.replace('"', "&quot;").replace('\'', "&apos;"),
        ))
    }

    fn attr_swap(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let a = self.attr(s, sc)?;
        let b = self.attr(s, sc)?;
        if a.value.0 == b.value.0 {
            return None;
        }
        let (x, y) = if a.value.0 < b.value.0 {
            (a, b)
        } else {
            (b, a)
        };
        if x.value.1 > y.value.0 {
            return None;
        }
        Some(format!(
            "{}{}{}{}{}",
            &s[..x.value.0],
            &s[y.value.0..y.value.1],
            &s[x.value.1..y.value.0],
            &s[x.value.0..x.value.1],
            &s[y.value.1..]
        ))
    }

    fn attr_add(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem(s, sc)?;
        let name = *self.rng.pick(&[
            "ID",
            "Version",
            "IssueInstant",
            "Destination",
            "InResponseTo",
            "xml:id",
            "p:ID",
            "ds:ID",
            "saml:ID",
            "Id",
            "id",
            "Algorithm",
            "URI",
            "Format",
            "Name",
            "FriendlyName",
            "NotBefore",
            "NotOnOrAfter",
            "Recipient",
            "Method",
            "xml:space",
            "xml:lang",
            "xml:base",
            "xsi:type",
            "PrefixList",
        ]);
        let value = self.value().replace('"', "&quot;");
        let extra = if name.starts_with("p:") {
            " xmlns:p=\"urn:p\""
        } else {
            ""
        };
        Some(splice_in(
            s,
            e.name_end,
            &format!("{extra} {name}=\"{value}\""),
        ))
    }

    fn attr_many(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem(s, sc)?;
        let n = *self.rng.pick(&[46, 47, 48, 49, 50, 100, 1000, 20_000]);
        let style = self.rng.below(4);
        let mut frag = String::new();
        for i in 0..n {
            match style {
                0 => write!(frag, " a{i}=\"v\""),
                1 => write!(frag, " xmlns:p{i}=\"urn:p{i}\""),
                2 => write!(frag, " xmlns:p{i}=\"urn:p{i}\" p{i}:a=\"v\""),
                _ => write!(frag, " xmlns:p{i}=\"urn:same\" p{i}:a=\"v\""),
            }
            .unwrap();
            if frag.len() > self.budget(s) {
                break;
            }
        }
        Some(splice_in(s, e.name_end, &frag))
    }

    fn attr_quote(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let a = self.attr(s, sc)?;
        let v = &s[a.value.0..a.value.1];
        let q = s.as_bytes()[a.value.1];
        let nq = if q == b'"' { '\'' } else { '"' };
        if v.contains(nq) {
            return None;
        }
        let mut out = s.to_owned();
        out.replace_range(a.value.1..a.value.1 + 1, &nq.to_string());
        out.replace_range(a.value.0 - 1..a.value.0, &nq.to_string());
        Some(out)
    }

    fn tag_space(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let ws = *self
            .rng
            .pick(&[" ", "\t", "\n", "\r\n", "  \n\t", "\u{a0}", "\u{0}"]);
        if self.rng.chance(50)
            && let Some(a) = self.attr(s, sc)
        {
            // Around the `=`.
            let eq = s[a.name.1..a.value.0].find('=')? + a.name.1;
            return Some(if self.rng.chance(50) {
                splice_in(s, eq, ws)
            } else {
                splice_in(s, eq + 1, ws)
            });
        }
        let t = sc.tags.get(self.rng.below(sc.tags.len()))?;
        let at = match t.kind {
            TagKind::Empty => t.end - 2,
            TagKind::Open | TagKind::Close => t.end - 1,
            TagKind::Other => return None,
        };
        Some(splice_in(s, at, ws))
    }

    fn ns_decl(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem(s, sc)?;
        let uri = *self.rng.pick(NAMESPACES);
        let decl = if self.rng.chance(25) {
            format!(" xmlns=\"{uri}\"")
        } else {
            let p = *self.rng.pick(PREFIXES);
            let p = if self.rng.chance(30) {
                // The element's own prefix, rebound.
                prefix_of(Self::name(s, e.name))
            } else {
                p
            };
            if p.is_empty() {
                format!(" xmlns=\"{uri}\"")
            } else {
                format!(" xmlns:{p}=\"{uri}\"")
            }
        };
        Some(splice_in(s, e.name_end, &decl))
    }

    fn id_games(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let ids: Vec<&Attr> = sc
            .attrs
            .iter()
            .filter(|a| Self::name(s, a.name) == "ID")
            .collect();
        let uris: Vec<&Attr> = sc
            .attrs
            .iter()
            .filter(|a| Self::name(s, a.name) == "URI")
            .collect();
        match self.rng.below(6) {
            // Point a Reference at another ID.
            0 if !uris.is_empty() && !ids.is_empty() => {
                let u = uris[self.rng.below(uris.len())];
                let i = ids[self.rng.below(ids.len())];
                let v = format!("#{}", &s[i.value.0..i.value.1]);
                Some(replace_range(s, u.value, &v))
            }
            // An odd Reference URI.
            1 if !uris.is_empty() => {
                let u = uris[self.rng.below(uris.len())];
                let old = &s[u.value.0..u.value.1];
                let v = match self.rng.below(8) {
                    0 => String::new(),
                    1 => "#xpointer(/)".into(),
                    2 => format!("#xpointer(id('{}'))", old.trim_start_matches('#')),
                    3 => format!(" {old}"),
                    4 => format!("{old} "),
                    5 => old.trim_start_matches('#').to_owned(),
                    6 => format!("#{}", old.trim_start_matches('#').replacen('_', "&#95;", 1)),
                    _ => format!("{old}{old}"),
                };
                Some(replace_range(s, u.value, &v))
            }
            // The same ID on another element too.
            2 if !ids.is_empty() => {
                let i = ids[self.rng.below(ids.len())];
                let e = self.elem(s, sc)?;
                let name = *self.rng.pick(&["ID", "xml:id", "Id", "ds:ID"]);
                Some(splice_in(
                    s,
                    e.name_end,
                    &format!(" {name}=\"{}\"", &s[i.value.0..i.value.1]),
                ))
            }
            // Swap two IDs.
            3 if ids.len() >= 2 => {
                let a = ids[self.rng.below(ids.len())];
                let b = ids[self.rng.below(ids.len())];
                let (x, y) = if a.value.0 < b.value.0 {
                    (a, b)
                } else {
                    (b, a)
                };
                if x.value.0 == y.value.0 {
                    return None;
                }
                Some(format!(
                    "{}{}{}{}{}",
                    &s[..x.value.0],
                    &s[y.value.0..y.value.1],
                    &s[x.value.1..y.value.0],
                    &s[x.value.0..x.value.1],
                    &s[y.value.1..]
                ))
            }
            // An ID written differently.
            _ if !ids.is_empty() => {
                let i = ids[self.rng.below(ids.len())];
                let old = &s[i.value.0..i.value.1];
                let v = match self.rng.below(5) {
                    0 => format!(" {old}"),
                    1 => old.replacen('_', "&#x5F;", 1),
                    2 => old.to_uppercase(),
                    3 => String::new(),
                    _ => format!("{old}\t"),
                };
                Some(replace_range(s, i.value, &v))
            }
            _ => None,
        }
    }

    fn nest_deep(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let p = self.point(s, sc);
        let n = *self
            .rng
            .pick(&[30, 40, 44, 45, 46, 47, 48, 49, 60, 100, 1000, 50_000]);
        let (open, close): (String, String) = match self.rng.below(3) {
            0 => ("<a>".into(), "</a>".into()),
            1 => ("<p:a xmlns:p=\"urn:p\">".into(), "</p:a>".into()),
            _ => (
                format!("<saml:Advice xmlns:saml=\"{ASSERTION}\">"),
                "</saml:Advice>".into(),
            ),
        };
        let n = n.min(self.budget(s) / (open.len() + close.len()).max(1));
        let unclosed = self.rng.chance(10);
        let frag = format!(
            "{}{}",
            open.repeat(n),
            if unclosed {
                String::new()
            } else {
                close.repeat(n)
            }
        );
        Some(splice_in(s, p, &frag))
    }

    fn long_name(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let len = *self.rng.pick(&[190, 199, 200, 201, 250, 1000, 100_000]);
        let len = len.min(self.budget(s) / 2);
        let name = format!("n{}", "a".repeat(len.saturating_sub(1)));
        let e = self.elem(s, sc)?;
        Some(match self.rng.below(4) {
            0 => splice_in(s, e.name_end, &format!(" {name}=\"v\"")),
            1 => splice_in(s, e.open_end, &format!("<{name}/>")),
            2 => splice_in(s, e.name_end, &format!(" xmlns:{name}=\"urn:x\"")),
            _ => Self::rename(
                s,
                &e,
                &format!("{name}:{}", local_of(Self::name(s, e.name))),
            ),
        })
    }

    /// A place inside a text run or an attribute value.
    fn value_point(&mut self, s: &str, sc: &Scan) -> Option<usize> {
        if self.rng.chance(50) {
            let (a, b) = self.text(s, sc)?;
            Some(boundary(s, a + self.rng.below(b - a + 1)))
        } else {
            let a = self.attr(s, sc)?;
            Some(boundary(
                s,
                a.value.0 + self.rng.below(a.value.1 - a.value.0 + 1),
            ))
        }
    }

    fn ref_insert(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let at = self.value_point(s, sc)?;
        let r = *self.rng.pick(REFERENCES);
        Some(splice_in(s, at, r))
    }

    /// A character replaced by a reference to itself (the meaning is kept).
    fn ref_encode(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let at = self.value_point(s, sc)?;
        let c = s[at..].chars().next()?;
        if matches!(c, '<' | '&' | '"' | '\'' | '>') {
            return None;
        }
        let r = match self.rng.below(3) {
            0 => format!("&#{};", c as u32),
            1 => format!("&#x{:X};", c as u32),
            _ => format!("&#x{:06x};", c as u32),
        };
        Some(replace_range(s, (at, at + c.len_utf8()), &r))
    }

    fn cdata(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let (a, b) = self.text(s, sc)?;
        let t = &s[a..b];
        Some(match self.rng.below(4) {
            0 if !t.contains('&') => replace_range(s, (a, b), &format!("<![CDATA[{t}]]>")),
            1 => splice_in(
                s,
                boundary(s, a + self.rng.below(b - a + 1)),
                "<![CDATA[]]>",
            ),
            2 => splice_in(s, boundary(s, a + self.rng.below(b - a + 1)), "]]>"),
            _ => splice_in(
                s,
                boundary(s, a + self.rng.below(b - a + 1)),
                "<![CDATA[<evil/>&amp;]]>",
            ),
        })
    }

    fn comment(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let c = *self.rng.pick(&[
            "<!---->",
            "<!-- x -->",
            "<!-- a -- b -->",
            "<!--->",
            "<!-- x --->",
            "<!--",
            "<!-- <ds:Signature/> -->",
        ]);
        let at = if self.rng.chance(60) {
            let (a, b) = self.text(s, sc)?;
            boundary(s, a + self.rng.below(b - a + 1))
        } else {
            self.point(s, sc)
        };
        Some(splice_in(s, at, c))
    }

    fn prolog_or_point(&mut self, s: &str, sc: &Scan) -> usize {
        match self.rng.below(3) {
            0 => 0,
            1 => s.find("<samlp:").or_else(|| s.find('<')).unwrap_or(0),
            _ => self.point(s, sc),
        }
    }

    fn pi(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let at = self.prolog_or_point(s, sc);
        let piece = self.rng.pick_str(PIS);
        Some(splice_in(s, at, piece))
    }

    fn doctype(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let at = self.prolog_or_point(s, sc);
        let piece = self.rng.pick_str(DOCTYPES);
        Some(splice_in(s, at, piece))
    }

    fn xml_decl(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let d = *self.rng.pick(DECLS);
        Some(match self.rng.below(6) {
            0 => format!("\u{feff}{d}{s}"),
            1 => format!("\n{d}{s}"),
            2 => format!("{d}{d}{s}"),
            3 => splice_in(s, self.point(s, sc), d),
            _ => format!("{d}\n{}", strip_declaration(s)),
        })
    }

    fn b64(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let which = if self.rng.chance(50) {
            "DigestValue"
        } else {
            "SignatureValue"
        };
        let e = self.elem_named(s, sc, which)?;
        let (a, b) = (e.open_end, e.close_start);
        if a >= b {
            return None;
        }
        let v = &s[a..b];
        let at = a + self.rng.below(b - a + 1);
        let new = match self.rng.below(14) {
            0 => {
                // Flip one base64 character.
                let i = self.rng.below(v.len().max(1));
                let mut bytes = v.as_bytes().to_vec();
                if let Some(c) = bytes.get_mut(i)
                    && c.is_ascii_alphanumeric()
                {
                    *c = if *c == b'A' { b'B' } else { b'A' };
                }
                String::from_utf8(bytes).ok()?
            }
            1 => {
                let ws: &str = self
                    .rng
                    .pick_str(&[" ", "\n", "\t", "\r\n", "&#13;", "&#10;", "&#x20;", "&#9;"]);
                return Some(splice_in(s, at, ws));
            }
            2 => return Some(splice_in(s, at, "<!-- c -->")),
            3 => format!("<![CDATA[{v}]]>"),
            4 => format!("{v}="),
            5 => v.trim_end_matches('=').to_owned(),
            6 => v[..boundary(v, v.len() / 2)].to_owned(),
            7 => format!("{v}{v}"),
            8 => String::new(),
            9 => "AAAA".into(),
            10 => format!(
                "{}=={}",
                &v[..boundary(v, v.len() / 2)],
                &v[boundary(v, v.len() / 2)..]
            ),
            11 => "A".repeat(self.budget(s).min(self.rng.range(1000, 200_000)) / 4 * 4),
            12 => v.replace('+', "-").replace('/', "_"),
            _ => format!("{v}<x/>"),
        };
        Some(replace_range(s, (a, b), &new))
    }

    fn grow(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let target = if self.rng.chance(40) {
            self.max_bytes - self.rng.below(64)
        } else {
            self.rng.range(16 * 1024, self.max_bytes)
        };
        let room = target.saturating_sub(s.len());
        if room < 16 {
            return None;
        }
        match self.rng.below(9) {
            // Repeat an element in place.
            0 | 1 => {
                let e = self.elem(s, sc)?;
                let frag = &s[e.start..e.end];
                let n = room / frag.len().max(1);
                (n > 0).then(|| splice_in(s, e.end, &frag.repeat(n)))
            }
            // A long text value.
            2 => {
                let (a, b) = self.text(s, sc)?;
                let at = boundary(s, a + self.rng.below(b - a + 1));
                let unit = *self.rng.pick(&[
                    "a",
                    "&#65;",
                    "<!--x-->",
                    "<![CDATA[x]]>",
                    " ",
                    "&amp;",
                    "\r\n",
                ]);
                Some(splice_in(s, at, &unit.repeat(room / unit.len())))
            }
            // A long attribute value, a PrefixList most of all.
            3 | 4 => {
                let a = self
                    .elem_named(s, sc, "InclusiveNamespaces")
                    .and_then(|_| {
                        sc.attrs
                            .iter()
                            .find(|a| Self::name(s, a.name) == "PrefixList")
                            .copied()
                    })
                    .or_else(|| self.attr(s, sc))?;
                let unit = *self
                    .rng
                    .pick(&[" a", " saml", " ds", " #default", " xs", "a"]);
                let fill = unit.repeat(room / unit.len());
                // Half the room for prefixes, half for elements they apply to.
                if self.rng.chance(50)
                    && let Some(v) = self.elem_named(s, sc, "AttributeValue")
                {
                    let half = fill.len() / 2;
                    let elems = "<x/>".repeat(half / 4);
                    let (first, second) = if v.open_end < a.value.1 {
                        ((v.open_end, elems.as_str()), (a.value.1, &fill[..half]))
                    } else {
                        ((a.value.1, &fill[..half]), (v.open_end, elems.as_str()))
                    };
                    let t = splice_in(s, second.0, second.1);
                    return Some(splice_in(&t, first.0, first.1));
                }
                Some(splice_in(s, a.value.1, &fill))
            }
            // Whitespace between tags.
            5 => Some(splice_in(s, self.point(s, sc), &" \n".repeat(room / 2))),
            // Deep but allowed subtrees, many of them.
            6 => {
                let d = self.rng.range(10, 44);
                let unit = format!("{}{}", "<a>".repeat(d), "</a>".repeat(d));
                Some(splice_in(
                    s,
                    self.point(s, sc),
                    &unit.repeat(room / unit.len()),
                ))
            }
            // Namespace declarations, many per element, nested.
            7 => {
                let decls: String = (0..46)
                    .map(|i| format!(" xmlns:p{i}=\"urn:p{i}\""))
                    .collect();
                let d = self.rng.range(1, 40);
                let unit = format!(
                    "{}{}",
                    format!("<p1:e{decls} p2:a=\"v\" p3:b=\"w\">").repeat(d),
                    "</p1:e>".repeat(d)
                );
                let n = room / unit.len();
                (n > 0).then(|| splice_in(s, self.point(s, sc), &unit.repeat(n)))
            }
            // Many small elements.
            _ => {
                let unit =
                    *self
                        .rng
                        .pick(&["<x/>", "<ds:Signature/>", "<saml:Assertion/>", "<a></a>"]);
                Some(splice_in(
                    s,
                    self.point(s, sc),
                    &unit.repeat(room / unit.len()),
                ))
            }
        }
    }

    fn text_edit(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let (a, b) = self.text(s, sc)?;
        let t = &s[a..b];
        let new = match self.rng.below(6) {
            0 => format!("{t}x"),
            1 => format!(" {t} "),
            2 => t.to_uppercase(),
            3 if t.contains('@') => t.replacen('@', "@evil.test<!---->.", 1),
            4 => String::new(),
            _ => self.value().replace('&', "&amp;").replace('<', "&lt;"),
        };
        Some(replace_range(s, (a, b), &new))
    }

    fn truncate(&mut self, s: &str, _: &Scan) -> Option<String> {
        Some(s[..boundary(s, self.rng.below(s.len() + 1))].to_owned())
    }

    /// An element replaced with the element of the same name from another seed.
    fn splice_seed(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem(s, sc)?;
        let local = local_of(Self::name(s, e.name)).to_owned();
        let other = self.seeds[self.rng.below(self.seeds.len())].clone();
        let osc = scan(&other);
        let o = self.elem_named(&other, &osc, &local)?;
        Some(replace_range(s, (e.start, e.end), &other[o.start..o.end]))
    }

    fn self_close(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let e = self.elem(s, sc)?;
        let name = Self::name(s, e.name);
        if e.close_name.is_none() {
            // <x .../> -> <x ...></x>
            let head = s[e.start..e.end].strip_suffix("/>")?;
            Some(replace_range(
                s,
                (e.start, e.end),
                &format!("{head}></{name}>"),
            ))
        } else if e.open_end == e.close_start {
            let head = s[e.start..e.open_end].strip_suffix('>')?;
            Some(replace_range(s, (e.start, e.end), &format!("{head}/>")))
        } else {
            None
        }
    }

    fn line_ends(&mut self, s: &str, _: &Scan) -> Option<String> {
        Some(match self.rng.below(3) {
            0 => s.replace('\n', "\r\n"),
            1 => s.replace('\n', "\r"),
            _ => s.replace("><", ">\r\n<"),
        })
    }

    fn unicode(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let at = if self.rng.chance(80) {
            self.value_point(s, sc)?
        } else {
            self.point(s, sc)
        };
        let piece = self.rng.pick_str(CHARS);
        Some(splice_in(s, at, piece))
    }

    fn inclusive_ns(&mut self, s: &str, sc: &Scan) -> Option<String> {
        let list = match self.rng.below(6) {
            0 => "#default".to_owned(),
            1 => "xs saml ds samlp xml xmlns".to_owned(),
            2 => "".to_owned(),
            3 => (0..self.rng.range(1, 5000))
                .map(|i| format!("p{i}"))
                .collect::<Vec<_>>()
                .join(" "),
            4 => "a ".repeat(self.rng.range(1, 60_000).min(self.budget(s) / 2)),
            _ => " \t\n".into(),
        };
        let incl =
            format!("<ec:InclusiveNamespaces xmlns:ec=\"{EXC_C14N}\" PrefixList=\"{list}\"/>");
        let holder = if self.rng.chance(50) {
            "CanonicalizationMethod"
        } else {
            "Transform"
        };
        let e = self.elem_named(s, sc, holder)?;
        let at = if e.close_name.is_some() {
            e.close_start
        } else {
            // <ds:Transform .../> -> <ds:Transform ...>incl</ds:Transform>
            let head = s[e.start..e.end].strip_suffix("/>")?;
            let name = Self::name(s, e.name);
            return Some(replace_range(
                s,
                (e.start, e.end),
                &format!("{head}>{incl}</{name}>"),
            ));
        };
        Some(splice_in(s, at, &incl))
    }

    /// The parts of a ds:Signature: algorithms, transforms, references, their order.
    fn dsig_shape(&mut self, s: &str, sc: &Scan) -> Option<String> {
        match self.rng.below(6) {
            0 => {
                let a = sc
                    .attrs
                    .iter()
                    .filter(|a| Self::name(s, a.name) == "Algorithm")
                    .nth(self.rng.below(12))?;
                let v = *self.rng.pick(VALUES);
                Some(replace_range(s, a.value, v))
            }
            1 => {
                let r = self.elem_named(s, sc, "Reference")?;
                Some(splice_in(s, r.end, &s[r.start..r.end]))
            }
            2 => {
                let t = self.elem_named(s, sc, "Transform")?;
                let at = if self.rng.chance(50) { t.start } else { t.end };
                let extra = *self.rng.pick(&[
                    "<ds:Transform xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>not(ancestor-or-self::*)</ds:XPath></ds:Transform>",
                    "<ds:Transform xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
                    "<ds:Transform xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
                    "<ds:Transform xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"><xsl:stylesheet xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\"/></ds:Transform>",
                ]);
                Some(splice_in(s, at, extra))
            }
            3 => {
                // Swap the two transforms.
                let ts: Vec<&Elem> = sc
                    .elems
                    .iter()
                    .filter(|e| local_of(Self::name(s, e.name)) == "Transform")
                    .collect();
                let (x, y) = (ts.first()?, ts.get(1)?);
                if x.end > y.start {
                    return None;
                }
                Some(format!(
                    "{}{}{}{}{}",
                    &s[..x.start],
                    &s[y.start..y.end],
                    &s[x.end..y.start],
                    &s[x.start..x.end],
                    &s[y.end..]
                ))
            }
            4 => {
                let key_info = format!(
                    "<ds:KeyInfo xmlns:ds=\"{DSIG}\">{}</ds:KeyInfo>",
                    self.rng.pick(&[
                        "<ds:RetrievalMethod URI=\"http://127.0.0.1:1/k\"/>",
                        "<ds:KeyName>idp</ds:KeyName>",
                        "<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>AQAB</ds:Modulus><ds:Exponent>AQAB</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>",
                        "<ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data>",
                        "",
                    ])
                );
                let sv = self.elem_named(s, sc, "SignatureValue")?;
                Some(splice_in(s, sv.end, &key_info))
            }
            _ => {
                let obj = format!(
                    "<ds:Object xmlns:ds=\"{DSIG}\"><ds:Manifest><ds:Reference URI=\"file:///etc/passwd\"/></ds:Manifest></ds:Object>"
                );
                let sig = self.elem_named(s, sc, "Signature")?;
                Some(splice_in(s, sig.close_start, &obj))
            }
        }
    }

    /// Raw bytes, for the minority of runs that ignore the structure.
    fn bytes(&mut self, data: &mut Vec<u8>) -> &'static str {
        match self.rng.below(6) {
            0 => {
                for _ in 0..self.rng.range(1, 8) {
                    let i = self.rng.below(data.len());
                    if let Some(b) = data.get_mut(i) {
                        *b ^= 1 << self.rng.below(8);
                    }
                }
                "byte-flip"
            }
            1 => {
                let i = self.rng.below(data.len() + 1);
                let b = *self.rng.pick(&[
                    0u8, b'<', b'>', b'&', b'"', b'\'', b'/', b'=', 0x80, 0xC0, 0xFF, 0xEF,
                ]);
                data.insert(i, b);
                "byte-insert"
            }
            2 => {
                if !data.is_empty() {
                    let i = self.rng.below(data.len());
                    let n = self.rng.range(1, 16).min(data.len() - i);
                    data.drain(i..i + n);
                }
                "byte-delete"
            }
            3 => {
                // Re-encode the document (as some odd declarations claim).
                let text = String::from_utf8_lossy(data).into_owned();
                *data = match self.rng.below(3) {
                    0 => {
                        let mut v = vec![0xFF, 0xFE];
                        v.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
                        v
                    }
                    1 => {
                        let mut v = vec![0xFE, 0xFF];
                        v.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
                        v
                    }
                    _ => text
                        .chars()
                        .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
                        .collect(),
                };
                "re-encode"
            }
            4 => {
                let i = self.rng.below(data.len() + 1);
                data.splice(i..i, [0xEF, 0xBB, 0xBF]);
                "bom-insert"
            }
            _ => {
                // Overwrite a range with a copy of another range.
                if data.len() > 2 {
                    let n = self.rng.range(1, 64).min(data.len() / 2);
                    let from = self.rng.below(data.len() - n);
                    let to = self.rng.below(data.len() - n);
                    let chunk = data[from..from + n].to_vec();
                    data[to..to + n].copy_from_slice(&chunk);
                }
                "byte-copy"
            }
        }
    }

    fn mutate(&mut self, base: &Input) -> Input {
        let mut kinds = base.kinds.clone();
        kinds.truncate(12);
        let before = kinds.len();
        let total: usize = MUTATIONS.iter().map(|m| m.0).sum();
        let rounds = match self.rng.below(10) {
            0..=4 => 1,
            5..=7 => 2,
            8 => 3,
            _ => 4,
        };
        let mut data = base.data.clone();
        for _ in 0..rounds {
            if self.rng.chance(8) {
                kinds.push(self.bytes(&mut data));
                continue;
            }
            let Ok(s) = std::str::from_utf8(&data) else {
                kinds.push(self.bytes(&mut data));
                continue;
            };
            let sc = scan(s);
            for _attempt in 0..4 {
                let mut r = self.rng.below(total);
                let (_, kind, f) = MUTATIONS
                    .iter()
                    .find(|m| {
                        if r < m.0 {
                            true
                        } else {
                            r -= m.0;
                            false
                        }
                    })
                    .expect("weights cover the range");
                if let Some(out) = f(self, s, &sc)
                    && out.len() <= self.max_bytes
                    && out.as_bytes() != data.as_slice()
                {
                    kinds.push(kind);
                    data = out.into_bytes();
                    break;
                }
            }
        }
        Input {
            data,
            seed: base.seed,
            fresh: kinds.len() - before,
            kinds,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running one input

static PANIC: Mutex<Option<String>> = Mutex::new(None);
/// Set while a call under test runs: its panics are findings, kept quiet; any other panic
/// is the harness's own and is printed as usual.
static GUARDED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !GUARDED.load(std::sync::atomic::Ordering::Relaxed) {
            default(info);
            return;
        }
        let bt = std::backtrace::Backtrace::force_capture();
        let msg = format!("{info}\n{bt}");
        if let Ok(mut p) = PANIC.lock() {
            *p = Some(msg);
        }
    }));
}

fn guarded<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    GUARDED.store(true, std::sync::atomic::Ordering::Relaxed);
    let r = catch_unwind(AssertUnwindSafe(f));
    GUARDED.store(false, std::sync::atomic::Ordering::Relaxed);
    r
}

fn take_panic() -> String {
    PANIC
        .lock()
        .ok()
        .and_then(|mut p| p.take())
        .unwrap_or_else(|| "panic (no message)".into())
}

/// The time a call is charged: this thread's CPU time (CLOCK_THREAD_CPUTIME_ID). On a shared
/// machine, wall time also counts waiting for a core (on the 2-core CI box under load, as much
/// as the call itself); CPU time is what the input costs.
/// FUZZ_SAML_CLOCK=wall charges wall time instead (an idle runner, where it is the latency).
fn cpu_ns() -> Option<u64> {
    static WALL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *WALL.get_or_init(|| std::env::var("FUZZ_SAML_CLOCK").is_ok_and(|v| v.trim() == "wall")) {
        return None;
    }
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Some(u64::try_from(t.tv_sec).ok()? * 1_000_000_000 + u64::try_from(t.tv_nsec).ok()?)
}

fn clock_name() -> &'static str {
    if cpu_ns().is_some() {
        "thread CPU time"
    } else {
        "wall time"
    }
}

/// Runs `f`, catching a panic; the result and its time (see [`cpu_ns`]).
fn timed<T>(f: impl FnOnce() -> T) -> (Result<T, String>, Duration) {
    let c0 = cpu_ns();
    let t0 = Instant::now();
    let r = guarded(f).map_err(|_| take_panic());
    let wall = t0.elapsed();
    let spent = match (c0, cpu_ns()) {
        (Some(a), Some(b)) => Duration::from_nanos(b.saturating_sub(a)),
        _ => wall,
    };
    (r, spent)
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Call {
    Parse,
    Verify,
    Validate,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum FindingKind {
    Panic,
    Slow,
    SignedContentChanged,
    IdentityChanged,
    C14n,
    Memory,
}

impl FindingKind {
    fn slug(self) -> &'static str {
        match self {
            Self::Panic => "panic",
            Self::Slow => "slow",
            Self::SignedContentChanged => "signed-content-changed",
            Self::IdentityChanged => "identity-changed",
            Self::C14n => "c14n",
            Self::Memory => "memory",
        }
    }
}

struct Finding {
    kind: FindingKind,
    detail: String,
    path: Option<PathBuf>,
}

struct Slowest {
    ms: f64,
    call: Call,
    size: usize,
    seed: String,
    kinds: Vec<&'static str>,
    outcome: String,
}

#[derive(Default)]
struct KindStats {
    used: u64,
    parsed: u64,
    accepted: u64,
}

struct Fuzzer<'a> {
    cfg: &'a Config,
    seeds: &'a [Seed],
    truth: Truth,
    execs: u64,
    parse_ok: u64,
    verify_ok: u64,
    validate_runs: u64,
    validate_ok: u64,
    non_utf8: u64,
    bigger_than_64k: u64,
    hwm_kib: u64,
    /// The biggest jumps of peak RSS in one execution: MiB, input size, mutations, saved at.
    mem_jumps: Vec<(u64, usize, String, Option<PathBuf>)>,
    findings: Vec<Finding>,
    finding_keys: HashMap<(FindingKind, String), u32>,
    notes: BTreeMap<String, (u64, Option<PathBuf>)>,
    slowest: Vec<Slowest>,
    per_call_max: HashMap<Call, f64>,
    kinds: BTreeMap<&'static str, KindStats>,
    outcomes: HashSet<u64>,
    pool: Vec<Input>,
    pool_bytes: usize,
    current: Option<std::fs::File>,
    rng: Rng,
    validate_cap: usize,
}

fn outcome_key(call: &str, r: &str) -> u64 {
    // Digits and quoted text out, so "found 3" and "found 4" are one outcome.
    let mut norm = String::with_capacity(r.len());
    let mut in_quote = false;
    for c in r.chars() {
        match c {
            '`' => {
                in_quote = !in_quote;
                norm.push('`');
            }
            _ if in_quote => {}
            c if c.is_ascii_digit() => {
                if !norm.ends_with('#') {
                    norm.push('#');
                }
            }
            c => norm.push(c),
        }
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (call, norm).hash(&mut h);
    h.finish()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

const C14N_LIMITS: Limits = Limits {
    max_bytes: 64 * 1024 * 1024,
    max_depth: 64,
    max_attributes: 256,
    max_name_len: 200,
    max_nodes: 1_000_000,
};

impl<'a> Fuzzer<'a> {
    fn new(cfg: &'a Config, seeds: &'a [Seed]) -> Self {
        let mut truth = Truth::default();
        for s in seeds {
            if let Ok(parts) = &s.accepted {
                let v = signed_views(&s.xml);
                if parts.response {
                    truth.signed.extend(v.response_ss.iter().cloned());
                    truth.signed.extend(v.response_rox.iter().cloned());
                }
                if parts.assertion {
                    truth.signed.extend(v.assertion_ss.iter().cloned());
                    truth.signed.extend(v.assertion_rox.iter().cloned());
                }
            }
            if let Some(ctx) = &s.validate
                && let Ok(id) = run_validate(s.xml.as_bytes(), ctx, usize::MAX)
            {
                truth.identities.insert(id);
            }
        }
        std::fs::create_dir_all(&cfg.work).unwrap();
        let current = std::fs::File::create(cfg.work.join("current.xml")).ok();
        Self {
            cfg,
            seeds,
            truth,
            execs: 0,
            parse_ok: 0,
            verify_ok: 0,
            validate_runs: 0,
            validate_ok: 0,
            non_utf8: 0,
            bigger_than_64k: 0,
            hwm_kib: peak_rss_kib(),
            mem_jumps: Vec::new(),
            findings: Vec::new(),
            finding_keys: HashMap::new(),
            notes: BTreeMap::new(),
            slowest: Vec::new(),
            per_call_max: HashMap::new(),
            kinds: BTreeMap::new(),
            outcomes: HashSet::new(),
            pool: Vec::new(),
            pool_bytes: 0,
            current,
            rng: Rng::new(cfg.seed ^ 0x5EED_F00D),
            // Room for a 256 KiB document in base64 (the production cap, 256 KiB of base64,
            // would refuse it before parsing and leave the biggest inputs untimed).
            validate_cap: (cfg.max_bytes.div_ceil(3) * 4).max(256 * 1024),
        }
    }

    fn save(&self, dir: &Path, slug: &str, input: &Input, meta: &str) -> Option<PathBuf> {
        std::fs::create_dir_all(dir).ok()?;
        let base = format!("{slug}-{:016x}-{}", self.cfg.seed, self.execs);
        let path = dir.join(format!("{base}.xml"));
        std::fs::write(&path, &input.data).ok()?;
        let info = format!(
            "seed input: {}\nmutations: {}\nrun: FUZZ_SAML_SEED=0x{:016x}, execution {}\nreplay: FUZZ_SAML_REPLAY={} make fuzz-saml\n\n{meta}\n",
            self.seeds[input.seed].name,
            input.kinds.join(" "),
            self.cfg.seed,
            self.execs,
            path.display(),
        );
        std::fs::write(dir.join(format!("{base}.txt")), info).ok()?;
        Some(path)
    }

    fn finding(&mut self, kind: FindingKind, key: String, input: &Input, detail: String) {
        let n = self.finding_keys.entry((kind, key.clone())).or_insert(0);
        *n += 1;
        if *n > 3 {
            return;
        }
        let path = self.save(&self.cfg.failures, kind.slug(), input, &detail);
        eprintln!(
            "FINDING {}: {} (input: {})",
            kind.slug(),
            detail.lines().next().unwrap_or(""),
            path.as_ref()
                .map_or("not saved".into(), |p| p.display().to_string())
        );
        self.findings.push(Finding { kind, detail, path });
    }

    fn note(&mut self, key: String, input: &Input, detail: &str) {
        let seen = self.notes.get(&key).map_or(0, |n| n.0);
        let path = if seen < 10 {
            self.save(&self.cfg.work.join("notes"), "differential", input, detail)
        } else {
            None
        };
        let e = self.notes.entry(key).or_insert((0, None));
        e.1 = e.1.take().or(path);
        e.0 += 1;
    }

    /// Times `f` (catching panics); an over-budget run is repeated and the fastest counts.
    fn call<T>(&mut self, which: Call, input: &Input, f: impl Fn() -> T) -> Option<(T, f64)> {
        let (r, d) = timed(&f);
        let mut ms = d.as_secs_f64() * 1000.0;
        let r = match r {
            Ok(v) => v,
            Err(msg) => {
                let loc = msg.lines().next().unwrap_or("").to_owned();
                self.finding(
                    FindingKind::Panic,
                    loc.clone(),
                    input,
                    format!("{which:?} panicked: {msg}"),
                );
                return None;
            }
        };
        // Over the bound, or a candidate for the slowest list: the best of three counts, so a
        // scheduler hiccup on a shared machine is neither a finding nor the slowest input.
        let fifth = if self.slowest.len() < 5 {
            0.0
        } else {
            self.slowest.last().map_or(0.0, |s| s.ms)
        };
        if ms > self.cfg.max_ms.min(fifth) {
            for _ in 0..2 {
                let (_, d) = timed(&f);
                ms = ms.min(d.as_secs_f64() * 1000.0);
            }
        }
        Some((r, ms))
    }

    fn record_time(&mut self, which: Call, ms: f64, input: &Input, outcome: &str) {
        let m = self.per_call_max.entry(which).or_insert(0.0);
        *m = m.max(ms);
        if input.data.len() <= self.cfg.max_bytes && ms > self.cfg.max_ms {
            self.finding(
                FindingKind::Slow,
                format!("{which:?} {}", outcome.split(':').next().unwrap_or("")),
                input,
                format!(
                    "{which:?} took {ms:.1} ms (best of 3) on {} bytes: {outcome}",
                    input.data.len()
                ),
            );
        }
        let is_top = ms > self.slowest.first().map_or(0.0, |s| s.ms);
        if self.slowest.len() < 5 || ms > self.slowest.last().map_or(0.0, |s| s.ms) {
            self.slowest.push(Slowest {
                ms,
                call: which,
                size: input.data.len(),
                seed: self.seeds[input.seed].name.clone(),
                kinds: input.kinds.clone(),
                outcome: outcome.chars().take(160).collect(),
            });
            self.slowest
                .sort_by(|a, b| b.ms.partial_cmp(&a.ms).unwrap_or(std::cmp::Ordering::Equal));
            self.slowest.truncate(5);
            if is_top {
                let _ = std::fs::write(self.cfg.work.join("slowest.xml"), &input.data);
            }
        }
    }

    fn exec(&mut self, input: &Input) {
        self.execs += 1;
        if let Some(f) = &self.current {
            use std::os::unix::fs::FileExt;
            let _ = f.set_len(0);
            let _ = f.write_all_at(&input.data, 0);
        }
        if input.data.len() > 64 * 1024 {
            self.bigger_than_64k += 1;
        }
        let fresh = &input.kinds[input.kinds.len() - input.fresh..];
        for k in fresh {
            self.kinds.entry(k).or_default().used += 1;
        }
        let seeds = self.seeds;
        let seed = &seeds[input.seed];
        let mut new_outcome = false;
        let text = std::str::from_utf8(&input.data).ok();
        let mut parsed = false;
        let mut accepted = false;
        if let Some(text) = text {
            let Some((res, ms)) = self.call(Call::Parse, input, || {
                xml::parse(text)
                    .map(|d| d.node_count())
                    .map_err(|e| e.to_string())
            }) else {
                return;
            };
            let outcome = match &res {
                Ok(n) => format!("parsed, {n} nodes"),
                Err(e) => e.clone(),
            };
            self.record_time(Call::Parse, ms, input, &outcome);
            new_outcome |= self.outcomes.insert(outcome_key("parse", &outcome));
            if res.is_ok() {
                parsed = true;
                self.parse_ok += 1;
                if input.data.len() <= 64 * 1024 || self.rng.chance(25) {
                    self.tree_checks(text, input);
                }
            }

            let certs = &seed.certs;
            let Some((res, ms)) = self.call(Call::Verify, input, || verify_outcome(text, certs))
            else {
                return;
            };
            let outcome = match &res {
                Ok(p) => format!("accepted {p:?}"),
                Err(e) => e.clone(),
            };
            self.record_time(Call::Verify, ms, input, &outcome);
            new_outcome |= self.outcomes.insert(outcome_key("verify", &outcome));
            if let Ok(parts) = res {
                accepted = true;
                self.verify_ok += 1;
                self.check_signed(text, parts, input);
            }
        } else {
            self.non_utf8 += 1;
        }

        if let Some(ctx) = &seed.validate
            && (accepted || text.is_none() || self.rng.chance(20))
        {
            self.validate_runs += 1;
            let cap = self.validate_cap;
            let data = &input.data;
            let Some((res, ms)) = self.call(Call::Validate, input, || run_validate(data, ctx, cap))
            else {
                return;
            };
            let outcome = match &res {
                Ok(_) => "validated".to_owned(),
                Err(e) => e.clone(),
            };
            self.record_time(Call::Validate, ms, input, &outcome);
            new_outcome |= self.outcomes.insert(outcome_key("validate", &outcome));
            if let Ok(identity) = res {
                self.validate_ok += 1;
                if !self.truth.identities.contains(&identity) {
                    self.finding(
                        FindingKind::IdentityChanged,
                        input.kinds.join(" "),
                        input,
                        format!(
                            "validate_response accepted an identity no seed carries: {identity}"
                        ),
                    );
                }
            }
        }
        for k in fresh {
            let s = self.kinds.entry(k).or_default();
            s.parsed += u64::from(parsed);
            s.accepted += u64::from(accepted);
        }
        self.memory(input);
        if new_outcome || (accepted && self.rng.chance(5)) {
            self.keep(input.clone());
        }
    }

    fn keep(&mut self, input: Input) {
        const MAX_POOL: usize = 4000;
        const MAX_POOL_BYTES: usize = 32 * 1024 * 1024;
        self.pool_bytes += input.data.len();
        if self.pool.len() < MAX_POOL {
            self.pool.push(input);
        } else {
            let i = self.rng.below(self.pool.len());
            self.pool_bytes -= self.pool[i].data.len();
            self.pool[i] = input;
        }
        while self.pool_bytes > MAX_POOL_BYTES && !self.pool.is_empty() {
            let i = self.rng.below(self.pool.len());
            let gone = self.pool.swap_remove(i);
            self.pool_bytes -= gone.data.len();
        }
    }

    /// Peak RSS after every execution, so a jump is pinned on the input that made it.
    fn memory(&mut self, input: &Input) {
        let hwm = peak_rss_kib();
        let delta = hwm.saturating_sub(self.hwm_kib);
        self.hwm_kib = self.hwm_kib.max(hwm);
        if delta >= 16 * 1024 {
            let path = self.save(&self.cfg.work.join("memory"), "memory-jump", input, "");
            self.mem_jumps
                .push((delta / 1024, input.data.len(), input.kinds.join(" "), path));
            self.mem_jumps.sort_by_key(|j| std::cmp::Reverse(j.0));
            self.mem_jumps.truncate(5);
        }
        if hwm / 1024 > self.cfg.max_rss_mib
            && !self.findings.iter().any(|f| f.kind == FindingKind::Memory)
        {
            self.finding(
                FindingKind::Memory,
                String::new(),
                input,
                format!(
                    "peak RSS reached {} MiB (bound {} MiB) on this input, {} bytes, up {} MiB",
                    hwm / 1024,
                    self.cfg.max_rss_mib,
                    input.data.len(),
                    delta / 1024
                ),
            );
        }
    }

    /// Whatever verify_signatures accepted must be what some seed signed.
    fn check_signed(&mut self, text: &str, parts: SignedParts, input: &Input) {
        let v = signed_views(text);
        let mut bad = Vec::new();
        let mut check = |what: &str, view: &Option<String>, reader: &str| match view {
            Some(v) if self.truth.signed.contains(v) => {}
            Some(v) => bad.push(format!(
                "{what} as {reader} reads it: {}",
                v.chars().take(2000).collect::<String>()
            )),
            None => bad.push(format!("{what}: {reader} does not read it at all")),
        };
        if parts.response {
            check("the signed Response", &v.response_ss, "ssogate");
            check("the signed Response", &v.response_rox, "roxmltree");
        }
        if parts.assertion {
            check("the signed Assertion", &v.assertion_ss, "ssogate");
            check("the signed Assertion", &v.assertion_rox, "roxmltree");
        }
        if !bad.is_empty() {
            let key = format!(
                "{parts:?} {}",
                bad.iter()
                    .map(|b| b.split(':').next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            self.finding(
                FindingKind::SignedContentChanged,
                key,
                input,
                format!(
                    "verify_signatures accepted ({parts:?}) content no seed signed:\n{}",
                    bad.join("\n")
                ),
            );
        }
    }

    /// Exclusive c14n well-formed, idempotent and faithful; ssogate's tree against roxmltree's.
    fn tree_checks(&mut self, text: &str, input: &Input) {
        let r = guarded(|| {
            let Ok(doc) = xml::parse(text) else {
                return Vec::new();
            };
            let mut problems: Vec<(bool, String, String)> = Vec::new();
            let elements: Vec<NodeId> = doc
                .descendants(doc.root())
                .filter(|n| doc.element(*n).is_some())
                .collect();
            let apex = if self.rng.chance(50) {
                doc.root()
            } else {
                elements[self.rng.below(elements.len())]
            };
            let omit = doc
                .child_elements(apex)
                .find(|c| doc.is(*c, DSIG, "Signature"))
                .filter(|_| self.rng.chance(70));
            let prefixes: Vec<&str> = match self.rng.below(4) {
                0 => vec!["", "saml", "ds", "xs", "samlp"],
                1 => vec!["xs"],
                _ => Vec::new(),
            };
            // TooLarge (the output bound) is a refusal, not a finding: nothing to compare.
            let c1 = c14n::exclusive(&doc, apex, omit, &prefixes).unwrap_or_default();
            let mut want = String::new();
            let mut held = String::new();
            match std::str::from_utf8(&c1) {
                _ if c1.is_empty() => {}
                Err(_) => problems.push((true, "c14n output is not UTF-8".into(), String::new())),
                Ok(c1s) => match xml::parse_with(c1s, C14N_LIMITS) {
                    Err(e) => problems.push((
                        true,
                        format!("c14n output does not parse: {}", e.reason.code()),
                        format!(
                            "{e}\n--- c14n output ---\n{}",
                            c1s.chars().take(4000).collect::<String>()
                        ),
                    )),
                    Ok(doc2) => {
                        let c2 = c14n::exclusive(&doc2, doc2.root(), None, &prefixes)
                            .unwrap_or_default();
                        if c2 != c1 {
                            problems.push((
                                true,
                                "c14n is not idempotent".into(),
                                format!(
                                    "--- c14n ---\n{}\n--- c14n of that ---\n{}",
                                    c1s.chars().take(4000).collect::<String>(),
                                    String::from_utf8_lossy(&c2)
                                        .chars()
                                        .take(4000)
                                        .collect::<String>()
                                ),
                            ));
                        }
                        // What the apex says, its omitted signature left out, is what the
                        // canonical form says.
                        view_ss(
                            &doc,
                            apex,
                            omit.map_or(Omit::Nothing, Omit::Node),
                            &mut want,
                        );
                        view_ss(&doc2, doc2.root(), Omit::Nothing, &mut held);
                        if want != held {
                            problems.push((
                                true,
                                "c14n changed what the element says".into(),
                                format!("--- tree ---\n{want}\n--- c14n reparsed ---\n{held}"),
                            ));
                        }
                    }
                },
            }
            // Differential: roxmltree on the same text.
            let opts = roxmltree::ParsingOptions {
                allow_dtd: false,
                nodes_limit: 1_000_000,
                ..Default::default()
            };
            match roxmltree::Document::parse_with_options(text, opts) {
                Err(e) => {
                    let kind = format!("{e:?}");
                    let kind = kind.split('(').next().unwrap_or("").to_owned();
                    problems.push((
                        false,
                        format!("roxmltree refuses what ssogate parses: {kind}"),
                        e.to_string(),
                    ));
                }
                Ok(rox) => {
                    let mut a = String::new();
                    let mut b = String::new();
                    view_ss(&doc, doc.root(), Omit::Nothing, &mut a);
                    view_rox(rox.root_element(), false, &mut b);
                    if a != b {
                        let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
                        // From one byte back: the common prefix may end inside an escape (`"\`).
                        let from = at.saturating_sub(1);
                        let (sa, sb) = (
                            a.get(from..(from + 120).min(a.len())).unwrap_or(""),
                            b.get(from..(from + 120).min(b.len())).unwrap_or(""),
                        );
                        // Two differences seen where roxmltree 0.21 is the one off XML 1.0:
                        // it drops a prefixed attribute whose local name is `xmlns`
                        // (`p:xmlns="v"` is an ordinary attribute), and it keeps a literal CR
                        // before a character reference (§2.11 turns that CR into LF).
                        let what = if sa.contains("}xmlns=") && !sb.contains("}xmlns=") {
                            "roxmltree drops a prefixed attribute named xmlns (roxmltree quirk)"
                        } else if sb.starts_with("\\r") && sa.starts_with("\\n") {
                            "roxmltree keeps a CR before a character reference (roxmltree quirk)"
                        } else {
                            "ssogate and roxmltree read the document differently"
                        };
                        problems.push((
                            false,
                            what.into(),
                            format!(
                                "first difference at {at}:\nssogate:   {}\nroxmltree: {}",
                                a.get(at.saturating_sub(80)..(at + 120).min(a.len()))
                                    .unwrap_or(""),
                                b.get(at.saturating_sub(80)..(at + 120).min(b.len()))
                                    .unwrap_or("")
                            ),
                        ));
                    }
                }
            }
            problems
        });
        let problems = match r {
            Ok(p) => p,
            Err(_) => {
                let msg = take_panic();
                let loc = msg.lines().next().unwrap_or("").to_owned();
                self.finding(
                    FindingKind::Panic,
                    loc,
                    input,
                    format!("c14n or tree read panicked: {msg}"),
                );
                return;
            }
        };
        for (fatal, key, detail) in problems {
            if fatal {
                self.finding(
                    FindingKind::C14n,
                    key.clone(),
                    input,
                    format!("{key}\n{detail}"),
                );
            } else {
                self.note(key, input, &detail);
            }
        }
    }

    fn pick_input(&mut self, m: &mut Mutator) -> Input {
        let base = if !self.pool.is_empty() && self.rng.chance(50) {
            self.pool[self.rng.below(self.pool.len())].clone()
        } else {
            let i = self.rng.below(self.seeds.len());
            Input {
                data: self.seeds[i].xml.clone().into_bytes(),
                seed: i,
                kinds: Vec::new(),
                fresh: 0,
            }
        };
        m.mutate(&base)
    }
}

/// The signed-content oracle must tell a changed value from a differently written one:
/// a changed NameID is no seed's signed content; the NameID split by a comment and written
/// with a character reference is the seed's, and still verifies.
fn oracle_self_check(truth: &Truth, seed: &Seed) {
    let known = |xml: &str| {
        let v = signed_views(xml);
        [v.assertion_ss, v.assertion_rox].map(|v| v.is_some_and(|v| truth.signed.contains(&v)))
    };
    assert_eq!(
        known(&seed.xml),
        [true, true],
        "the seed's own signed content"
    );
    let changed = seed.xml.replacen(">subject-ada<", ">subject-eve<", 1);
    assert_ne!(changed, seed.xml);
    assert_eq!(known(&changed), [false, false], "a changed NameID");
    let same = seed
        .xml
        .replacen(">subject-ada<", ">subj<!-- x -->ect-&#97;da<", 1);
    assert_ne!(same, seed.xml);
    assert_eq!(known(&same), [true, true], "the NameID written differently");
    assert!(
        verify_outcome(&same, &seed.certs).is_ok(),
        "a comment and a character reference in a signed value must not break the signature"
    );
    assert!(
        verify_outcome(&changed, &seed.certs).is_err(),
        "a changed NameID must not verify"
    );
    println!("oracle self-check: a changed signed value is caught, a re-written one is not");
}

// ---------------------------------------------------------------------------------------------

fn replay(cfg: &Config, keys: &HashMap<&str, Key>) -> bool {
    let mut certs: Vec<Vec<u8>> = keys.values().map(|k| k.cert_der.clone()).collect();
    certs.extend(corpus_cert(&cfg.corpus, "rsa-cert.pem"));
    certs.extend(corpus_cert(&cfg.corpus, "ec-cert.pem"));
    install_panic_hook();
    let mut files = Vec::new();
    for p in &cfg.replay {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "xml"))
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p.clone());
        }
    }
    let mut ok = true;
    for f in files {
        let data = std::fs::read(&f).unwrap_or_default();
        println!("{} ({} bytes)", f.display(), data.len());
        let Ok(text) = std::str::from_utf8(&data) else {
            println!("  not UTF-8");
            continue;
        };
        let best = |g: &dyn Fn() -> String| {
            let mut best = f64::MAX;
            let mut out = String::new();
            for _ in 0..3 {
                let (r, d) = timed(g);
                best = best.min(d.as_secs_f64() * 1000.0);
                out = r.unwrap_or_else(|p| format!("PANIC {p}"));
            }
            (out, best)
        };
        let (p, pm) = best(&|| match xml::parse(text) {
            Ok(d) => format!("parsed, {} nodes", d.node_count()),
            Err(e) => e.to_string(),
        });
        let (v, vm) = best(&|| match verify_outcome(text, &certs) {
            Ok(p) => format!("accepted {p:?}"),
            Err(e) => e,
        });
        println!("  parse             {pm:8.2} ms  {p}");
        println!("  verify_signatures {vm:8.2} ms  {v}");
        ok &= pm <= cfg.max_ms
            && vm <= cfg.max_ms
            && !p.starts_with("PANIC")
            && !v.starts_with("PANIC");
    }
    ok
}

fn main() {
    let cfg = Config::from_env();
    let key_dir = cfg.work.join("keys");
    let keys: HashMap<&str, Key> = ["rsa", "ec256", "ec384", "foreign"]
        .into_iter()
        .map(|n| (n, load_or_make_key(&key_dir, n)))
        .collect();
    if !cfg.replay.is_empty() {
        let ok = replay(&cfg, &keys);
        std::process::exit(if ok { 0 } else { 1 });
    }

    println!(
        "fuzz-saml: seed 0x{:016x} (FUZZ_SAML_SEED=0x{:016x} repeats this run), {} s, inputs up to {} bytes, {} ms of {} per call (best of 3), peak RSS under {} MiB",
        cfg.seed,
        cfg.seed,
        cfg.seconds,
        cfg.max_bytes,
        cfg.max_ms,
        clock_name(),
        cfg.max_rss_mib
    );
    let seeds = build_seeds(&cfg, &keys);
    let corpus = seeds
        .iter()
        .filter(|s| s.name.starts_with("corpus:"))
        .count();
    println!(
        "seeds: {} built here, {} from {} ({})",
        seeds.len() - corpus,
        corpus,
        cfg.corpus.display(),
        if corpus == 0 {
            "not generated; skipped"
        } else {
            "used"
        }
    );
    let mut warnings = Vec::new();
    for s in seeds.iter().filter(|s| !s.name.starts_with("corpus:")) {
        let expect_ok = !s.name.starts_with("control-");
        let ok = s.accepted.is_ok();
        println!(
            "  {:<32} {:>6} bytes  verify: {:<60} validate: {}",
            s.name,
            s.xml.len(),
            match &s.accepted {
                Ok(p) => format!("{p:?}"),
                Err(e) => e.chars().take(60).collect(),
            },
            if s.validate.is_some() { "ok" } else { "-" }
        );
        if ok != expect_ok || (expect_ok && s.validate.is_none()) {
            warnings.push(format!(
                "seed {} is not what it should be: {:?}",
                s.name,
                s.accepted.as_ref().err()
            ));
        }
    }
    if corpus > 0 {
        let acc = seeds
            .iter()
            .filter(|s| s.name.starts_with("corpus:") && s.accepted.is_ok())
            .count();
        let val = seeds
            .iter()
            .filter(|s| s.name.starts_with("corpus:") && s.validate.is_some())
            .count();
        println!("  corpus: {acc} of {corpus} verify, {val} validate with their own settings");
    }

    install_panic_hook();
    let mut fz = Fuzzer::new(&cfg, &seeds);
    oracle_self_check(&fz.truth, &seeds[0]);
    let mut m = Mutator {
        rng: Rng::new(cfg.seed),
        seeds: seeds.iter().map(|s| s.xml.clone()).collect(),
        max_bytes: cfg.max_bytes,
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(cfg.seconds);
    for (i, s) in seeds.iter().enumerate() {
        let input = Input {
            data: s.xml.clone().into_bytes(),
            seed: i,
            kinds: vec!["seed"],
            fresh: 1,
        };
        fz.exec(&input);
    }
    println!("crafted worst cases (best of 3):");
    for (name, xml) in crafted(&seeds[0].xml, cfg.max_bytes) {
        let best = |f: &dyn Fn() -> String| {
            (0..3)
                .map(|_| timed(f))
                .map(|(r, d)| (r.unwrap_or_else(|p| format!("PANIC {p}")), d))
                .min_by_key(|(_, d)| *d)
                .map(|(r, d)| (r, d.as_secs_f64() * 1000.0))
                .unwrap_or_default()
        };
        let (_, parse_ms) = best(&|| {
            xml::parse(&xml)
                .map(|_| ())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        });
        let (outcome, verify_ms) = best(&|| match verify_outcome(&xml, &seeds[0].certs) {
            Ok(p) => format!("accepted {p:?}"),
            Err(e) => e,
        });
        println!(
            "  {name:<22} {:>7} bytes  parse {parse_ms:6.2} ms  verify_signatures {verify_ms:6.2} ms  {}",
            xml.len(),
            outcome.chars().take(70).collect::<String>()
        );
        let input = Input {
            data: xml.into_bytes(),
            seed: 0,
            kinds: vec![name],
            fresh: 1,
        };
        fz.exec(&input);
        fz.keep(input);
    }
    let mut last_report = Instant::now();
    while Instant::now() < deadline {
        let input = fz.pick_input(&mut m);
        fz.exec(&input);
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "  {:>5.0} s  {:>9} execs  {:>7.0}/s  pool {:>5}  outcomes {:>5}  findings {}",
                secs,
                fz.execs,
                fz.execs as f64 / secs,
                fz.pool.len(),
                fz.outcomes.len(),
                fz.findings.len()
            );
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let rss_mib = peak_rss_kib() as f64 / 1024.0;
    if rss_mib > cfg.max_rss_mib as f64
        && !fz.findings.iter().any(|f| f.kind == FindingKind::Memory)
    {
        fz.findings.push(Finding {
            kind: FindingKind::Memory,
            detail: format!("peak RSS {rss_mib:.0} MiB"),
            path: None,
        });
    }
    let _ = std::fs::remove_file(cfg.work.join("current.xml"));

    // The summary CI logs.
    println!();
    println!("fuzz-saml summary (seed 0x{:016x})", cfg.seed);
    println!(
        "  executions        {} in {wall:.1} s ({:.0}/s)",
        fz.execs,
        fz.execs as f64 / wall
    );
    println!(
        "  outcomes          parse ok {}, verify accepted {}, validate_response run {} / ok {}, not UTF-8 {}, > 64 KiB {}",
        fz.parse_ok,
        fz.verify_ok,
        fz.validate_runs,
        fz.validate_ok,
        fz.non_utf8,
        fz.bigger_than_64k
    );
    println!(
        "  distinct outcomes {}  (pool of kept mutants {})",
        fz.outcomes.len(),
        fz.pool.len()
    );
    let mut calls: Vec<_> = fz.per_call_max.iter().collect();
    calls.sort_by_key(|(c, _)| format!("{c:?}"));
    println!(
        "  slowest per call  {}",
        calls
            .iter()
            .map(|(c, ms)| format!("{c:?} {ms:.2} ms"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  slowest inputs (best of 3 when over {} ms; saved: {})",
        cfg.max_ms,
        cfg.work.join("slowest.xml").display()
    );
    for s in &fz.slowest {
        println!(
            "    {:>8.2} ms  {:?}  {} bytes  seed {}  mutations [{}]  -> {}",
            s.ms,
            s.call,
            s.size,
            s.seed,
            s.kinds.join(" "),
            s.outcome
        );
    }
    println!(
        "  peak RSS          {rss_mib:.0} MiB (bound {} MiB)",
        cfg.max_rss_mib
    );
    for (mib, size, kinds, path) in &fz.mem_jumps {
        println!(
            "    +{mib} MiB in one execution: {size} bytes, mutations [{kinds}]{}",
            path.as_ref()
                .map(|p| format!("  [{}]", p.display()))
                .unwrap_or_default()
        );
    }
    println!("  mutations         used / parsed / signature accepted");
    for (k, s) in &fz.kinds {
        println!(
            "    {k:<15} {:>8} {:>8} {:>7}",
            s.used, s.parsed, s.accepted
        );
    }
    if !fz.notes.is_empty() {
        println!(
            "  notes (parser differentials, not failures; first input of each in {}):",
            cfg.work.join("notes").display()
        );
        for (k, (n, p)) in &fz.notes {
            println!(
                "    {n:>7} x {k}{}",
                p.as_ref()
                    .map(|p| format!("  [{}]", p.display()))
                    .unwrap_or_default()
            );
        }
    }
    for w in &warnings {
        println!("  WARNING {w}");
    }
    if fz.findings.is_empty() {
        println!("  findings          none");
        return;
    }
    println!("  FINDINGS          {}", fz.findings.len());
    for f in &fz.findings {
        println!(
            "    [{}] {}  {}",
            f.kind.slug(),
            f.detail.lines().next().unwrap_or(""),
            f.path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    std::process::exit(1);
}
