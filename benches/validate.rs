//! `protocol::saml::validate_response` alone: one thread, no database, no HTTP. Each call is
//! timed on its own; a run reports p50/p99 per call and calls/s (calls over the run's wall
//! time) for a 4 KB response (the XML; about 5.5 KB as base64) shaped like Okta's
//! (RSA-2048/SHA-256, exclusive c14n, the assertion signed, typed attribute values) and a
//! 16 KB one (the same with about 50 attributes). Like the ACS bench's and the tests' responses
//! they carry no KeyInfo, which neither verifier reads.
//!
//! ```text
//! cargo bench --bench validate                  # this build, 3 runs, medians
//! make bench-validate                           # this build and the old verifier (6c60eec), interleaved
//! BENCH_VALIDATE_RUNS=3 BENCH_VALIDATE_ITERS=2000 cargo bench --bench validate
//! ```
//!
//! The same source is built against the commit before the Rust verifier (samael/libxmlsec1)
//! by `make bench-validate`; it uses only what both versions expose (`validate_response`,
//! `AcsContext`, `sign::{self_signed, sign_template}`). So that both verifiers check the same
//! bytes, `BENCH_VALIDATE_FIXTURES=DIR` keeps the IdP certificate, the responses and the
//! validation instant in DIR: the first run writes them, later runs (of either build) read
//! them. `BENCH_VALIDATE_RESULTS=FILE` appends one tab-separated line per run and size, and
//! `BENCH_VALIDATE_REPORT=FILE` measures nothing and prints the medians of such a file, the
//! builds side by side (`BENCH_VALIDATE_LABEL` names this build in it). `BENCH_VALIDATE_ONLY=4KB`
//! measures one response (for a profiler).
mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{env_usize, now, percentile};
use ssogate::config::Settings;
use ssogate::domain::connection::{SamlIdpSettings, SignatureAlgorithm};
use ssogate::protocol::saml::sign::{self_signed, sign_template};
use ssogate::protocol::saml::{AcsContext, SpEndpoints, validate_response};

const IDP_ENTITY_ID: &str = "http://www.okta.com/exk1bench0idp0000h7";
const SP_BASE_URL: &str = "https://sso.bench.test";
const TENANT: &str = "acme";
const CONN: &str = "okta";
const REQUEST_ID: &str = "_6f1c0e2b9d8a47f3b1e5c2d4a9f80b17";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// The two responses: name and the size of the response XML (before base64) to reach.
const SIZES: [(&str, usize); 2] = [("4KB", 4 * 1024), ("16KB", 16 * 1024)];

fn instant(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The responses.

/// One attribute as Okta sends it: a NameFormat and typed values (`xs`, `xsi` declared on the
/// assertion).
fn attribute(name: &str, values: &[String]) -> String {
    let mut out = format!(
        r#"<saml2:Attribute Name="{name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">"#
    );
    for v in values {
        write!(
            out,
            r#"<saml2:AttributeValue xsi:type="xs:string">{v}</saml2:AttributeValue>"#
        )
        .unwrap();
    }
    out.push_str("</saml2:Attribute>");
    out
}

/// The attributes of one sign-in: the three the connection maps, then `extra` more (profile
/// and directory attributes, group memberships), as a rich IdP profile sends them.
fn attributes(extra: usize) -> String {
    let mut out = String::new();
    for (name, value) in [
        ("email", "ada.lovelace@acme.test"),
        ("firstName", "Ada"),
        ("lastName", "Lovelace"),
    ] {
        out.push_str(&attribute(name, &[value.to_owned()]));
    }
    for i in 0..extra {
        let (name, values) = match i {
            0 => ("displayName".to_owned(), vec!["Ada Lovelace".to_owned()]),
            1 => (
                "groups".to_owned(),
                ["Everyone", "Engineering", "facilities-admins"]
                    .map(str::to_owned)
                    .to_vec(),
            ),
            _ if i % 3 == 0 => (
                format!("department{i}"),
                vec![format!("Analytical Engines, floor {i}")],
            ),
            _ if i % 3 == 1 => (
                format!("costCenter{i}"),
                vec![format!("CC-{:06}", 104_729 * (i + 1) % 1_000_000)],
            ),
            _ => (
                format!("memberOf{i}"),
                vec![
                    format!("cn=building-{i},ou=groups,dc=acme,dc=test"),
                    format!("cn=floor-{i},ou=groups,dc=acme,dc=test"),
                ],
            ),
        };
        out.push_str(&attribute(&name, &values));
    }
    out
}

/// A Response (unsigned) holding an assertion signed with RSA-SHA256 / exc-c14n, answering
/// [`REQUEST_ID`], issued at `t`.
fn signed_response(key_der: &[u8], sp: &SpEndpoints, t: i64, extra_attributes: usize) -> String {
    let (issued, noa, session_end) = (instant(t), instant(t + 300), instant(t + 8 * 3600));
    let nb = instant(t - 300);
    let aid = format!("id{}{:08}", t, extra_attributes);
    let rid = format!("id{}{:08}r", t, extra_attributes);
    let sig = format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/><ds:SignatureMethod Algorithm="{RSA_SHA256}"/><ds:Reference URI="#{aid}"><ds:Transforms><ds:Transform Algorithm="{ENVELOPED}"/><ds:Transform Algorithm="{EXC_C14N}"/></ds:Transforms><ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>"##
    );
    let assertion = format!(
        r#"<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{aid}" IssueInstant="{issued}" Version="2.0"><saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{IDP_ENTITY_ID}</saml2:Issuer>{sig}<saml2:Subject><saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">ada.lovelace@acme.test</saml2:NameID><saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml2:SubjectConfirmationData InResponseTo="{REQUEST_ID}" NotOnOrAfter="{noa}" Recipient="{acs}"/></saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}"><saml2:AudienceRestriction><saml2:Audience>{audience}</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions><saml2:AuthnStatement AuthnInstant="{issued}" SessionIndex="{rid}" SessionNotOnOrAfter="{session_end}"><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement><saml2:AttributeStatement>{attrs}</saml2:AttributeStatement></saml2:Assertion>"#,
        acs = sp.acs_url,
        audience = sp.entity_id,
        attrs = attributes(extra_attributes),
    );
    let signed = sign_template(&assertion, key_der).expect("the bench IdP signs the assertion");
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" Destination="{acs}" ID="{rid}" InResponseTo="{REQUEST_ID}" IssueInstant="{issued}" Version="2.0"><saml2:Issuer xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{IDP_ENTITY_ID}</saml2:Issuer><saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></saml2p:Status>{signed}</saml2p:Response>"#,
        acs = sp.acs_url,
        signed = strip_declaration(&signed),
    )
}

fn strip_declaration(xml: &str) -> &str {
    let t = xml.trim_start();
    match t.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").map_or(0, |i| i + 2)..].trim_start(),
        None => t,
    }
}

/// The smallest number of extra attributes that brings the response to `target` bytes.
fn response_of_size(key_der: &[u8], sp: &SpEndpoints, t: i64, target: usize) -> String {
    let mut extra = 0;
    loop {
        let xml = signed_response(key_der, sp, t, extra);
        if xml.len() >= target {
            return xml;
        }
        // 150 to 250 bytes per attribute: close in from below.
        extra += ((target - xml.len()) / 300).max(1);
    }
}

/// What both builds validate: the IdP certificate, the base64 SAMLResponses (as posted to
/// the ACS) and the instant they are valid at.
struct Fixtures {
    cert_der: Vec<u8>,
    responses: Vec<(&'static str, String)>,
    now: i64,
}

impl Fixtures {
    fn generate(sp: &SpEndpoints) -> Self {
        let (key, cert) = self_signed("idp.bench.test", 3650).expect("bench IdP key");
        let key_der = key.private_key_to_der().unwrap();
        let cert_der = cert.to_der().unwrap();
        let t = now();
        let responses = SIZES
            .iter()
            .map(|(name, target)| {
                let xml = response_of_size(&key_der, sp, t, *target);
                (*name, STANDARD.encode(xml))
            })
            .collect();
        Fixtures {
            cert_der,
            responses,
            now: t + 5,
        }
    }

    fn load(dir: &Path) -> Option<Self> {
        let cert_der = std::fs::read(dir.join("idp-cert.der")).ok()?;
        let now = std::fs::read_to_string(dir.join("now")).ok()?;
        let responses = SIZES
            .iter()
            .map(|(name, _)| {
                std::fs::read_to_string(dir.join(format!("response-{name}.b64")))
                    .ok()
                    .map(|b64| (*name, b64))
            })
            .collect::<Option<_>>()?;
        Some(Fixtures {
            cert_der,
            responses,
            now: now.trim().parse().expect("a unix time in `now`"),
        })
    }

    fn save(&self, dir: &Path) {
        std::fs::create_dir_all(dir).expect("fixtures directory");
        std::fs::write(dir.join("idp-cert.der"), &self.cert_der).unwrap();
        std::fs::write(dir.join("now"), self.now.to_string()).unwrap();
        for (name, b64) in &self.responses {
            std::fs::write(dir.join(format!("response-{name}.b64")), b64).unwrap();
            let xml = STANDARD.decode(b64).unwrap();
            std::fs::write(dir.join(format!("response-{name}.xml")), xml).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring.

struct Run {
    p50_ms: f64,
    p99_ms: f64,
    calls_per_s: f64,
}

fn measure(saml_response: &str, ctx: &AcsContext<'_>, iters: usize) -> Run {
    timed(iters, || {
        validate_response(std::hint::black_box(saml_response), ctx).expect("validates")
    })
}

/// `f` called `iters` times, each call timed.
fn timed<T>(iters: usize, mut f: impl FnMut() -> T) -> Run {
    let mut lat = Vec::with_capacity(iters);
    let started = Instant::now();
    for _ in 0..iters {
        let t0 = Instant::now();
        let v = f();
        lat.push(t0.elapsed());
        std::hint::black_box(v);
    }
    let wall = started.elapsed();
    lat.sort();
    Run {
        p50_ms: percentile(&lat, 50.0),
        p99_ms: percentile(&lat, 99.0),
        calls_per_s: iters as f64 / wall.as_secs_f64(),
    }
}

/// Two OpenSSL steps on their own, for reading the figures above: the IdP certificate's DER
/// to a public key (the new verifier does it on every call), and one RSA-2048/SHA-256
/// verification of a SignedInfo-sized message with a key parsed once.
fn openssl_context(cert_der: &[u8], iters: usize) {
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::{Signer, Verifier};
    let decode = timed(iters, || {
        openssl::x509::X509::from_der(std::hint::black_box(cert_der))
            .and_then(|c| c.public_key())
            .expect("the IdP certificate decodes")
    });
    let (key, _) = self_signed("context.bench.test", 1).expect("a key");
    let message = [b'x'; 700];
    let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
    let signature = signer.sign_oneshot_to_vec(&message).unwrap();
    let public = PKey::public_key_from_der(&key.public_key_to_der().unwrap()).unwrap();
    let verify = timed(iters, || {
        Verifier::new(MessageDigest::sha256(), &public)
            .and_then(|mut v| v.verify_oneshot(&signature, std::hint::black_box(&message)))
            .expect("verifies")
    });
    println!(
        "  context: certificate DER -> public key p50 {:.3} ms; RSA-2048/SHA-256 verify with a parsed key p50 {:.3} ms",
        decode.p50_ms, verify.p50_ms
    );
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    if let Ok(file) = std::env::var("BENCH_VALIDATE_REPORT") {
        report(Path::new(&file));
        return;
    }
    let runs = env_usize("BENCH_VALIDATE_RUNS", 3).max(1);
    let iters = env_usize("BENCH_VALIDATE_ITERS", 2000).max(1);
    let warmup = (iters / 10).max(1);
    let label = std::env::var("BENCH_VALIDATE_LABEL").unwrap_or_else(|_| "this build".into());
    let results = std::env::var_os("BENCH_VALIDATE_RESULTS").map(PathBuf::from);

    let sp = SpEndpoints::new(SP_BASE_URL, TENANT, CONN);
    let fixtures = match std::env::var_os("BENCH_VALIDATE_FIXTURES").map(PathBuf::from) {
        Some(dir) => Fixtures::load(&dir).unwrap_or_else(|| {
            let f = Fixtures::generate(&sp);
            f.save(&dir);
            f
        }),
        None => Fixtures::generate(&sp),
    };
    let idp = SamlIdpSettings {
        idp_entity_id: IDP_ENTITY_ID.into(),
        idp_sso_url: "https://acme.okta.test/app/bench/sso/saml".into(),
        idp_certificates: vec![fixtures.cert_der.clone()],
        allowed_algorithms: SignatureAlgorithm::ALL.to_vec(),
        allow_idp_initiated: false,
        allow_unbound_responses: false,
        sign_requests: false,
        clock_skew_secs: 60,
    };
    let ctx = AcsContext {
        idp: &idp,
        sp: &sp,
        now: fixtures.now,
        max_response_bytes: Settings::default().saml.max_response_bytes,
    };

    println!(
        "validate_response alone: {label}, one thread, {runs} run(s) x {iters} calls per response"
    );
    let only = std::env::var("BENCH_VALIDATE_ONLY").ok();
    for (name, b64) in &fixtures.responses {
        if only.as_deref().is_some_and(|o| o != *name) {
            continue;
        }
        let xml_len = STANDARD.decode(b64).unwrap().len();
        // Both builds must do the whole job: the signature, then every value.
        let v = validate_response(b64, &ctx)
            .unwrap_or_else(|e| panic!("the {name} response does not validate: {e:?}"));
        assert_eq!(v.subject, "ada.lovelace@acme.test");
        assert_eq!(v.attributes["firstName"], ["Ada"]);
        let n_attrs = v.attributes.len();
        for _ in 0..warmup {
            std::hint::black_box(validate_response(b64, &ctx).unwrap());
        }
        let mut all = Vec::new();
        for run in 1..=runs {
            let load = load_average();
            let r = measure(b64, &ctx, iters);
            println!(
                "  {name:>4} ({xml_len} B XML, {} B base64, {n_attrs} attributes)  run {run}/{runs}  p50 {:.3} ms  p99 {:.3} ms  {:.0} calls/s  (load {load})",
                b64.len(),
                r.p50_ms,
                r.p99_ms,
                r.calls_per_s
            );
            if let Some(file) = &results {
                let line = format!(
                    "{label}\t{name}\t{xml_len}\t{}\t{:.4}\t{:.4}\t{:.1}\t{load}\n",
                    b64.len(),
                    r.p50_ms,
                    r.p99_ms,
                    r.calls_per_s
                );
                use std::io::Write as _;
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(file)
                    .and_then(|mut f| f.write_all(line.as_bytes()))
                    .expect("append to BENCH_VALIDATE_RESULTS");
            }
            all.push(r);
        }
        if runs > 1 {
            println!(
                "  {name:>4} median of {runs}: p50 {:.3} ms  p99 {:.3} ms  {:.0} calls/s",
                median(all.iter().map(|r| r.p50_ms).collect()),
                median(all.iter().map(|r| r.p99_ms).collect()),
                median(all.iter().map(|r| r.calls_per_s).collect()),
            );
        }
    }
    openssl_context(&fixtures.cert_der, iters);
}

/// One line of a results file: one run of one build on one response.
struct Line {
    label: String,
    size: String,
    xml_bytes: String,
    b64_bytes: String,
    p50_ms: f64,
    p99_ms: f64,
    calls_per_s: f64,
    load: String,
}

impl Line {
    fn parse(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.split('\t').collect();
        let [label, size, xml, b64, p50, p99, cps, load] = f.as_slice() else {
            return None;
        };
        Some(Line {
            label: (*label).to_owned(),
            size: (*size).to_owned(),
            xml_bytes: (*xml).to_owned(),
            b64_bytes: (*b64).to_owned(),
            p50_ms: p50.parse().ok()?,
            p99_ms: p99.parse().ok()?,
            calls_per_s: cps.parse().ok()?,
            load: (*load).to_owned(),
        })
    }
}

/// Medians per response and build of a results file, printed as one table.
fn report(file: &Path) {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let lines: Vec<Line> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            Line::parse(l).unwrap_or_else(|| panic!("malformed line in {}: {l}", file.display()))
        })
        .collect();
    // Responses and builds in first-seen order.
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for l in &lines {
        if !groups.contains(&(l.size.as_str(), l.label.as_str())) {
            groups.push((l.size.as_str(), l.label.as_str()));
        }
    }
    groups.sort_by_key(|(size, _)| SIZES.iter().position(|(s, _)| s == size));
    println!();
    println!(
        "validate_response alone, one thread: median of each build's runs ({})",
        file.display()
    );
    println!();
    println!("| Response | Build | Runs | p50 | p99 | Calls/s | Load (1 min) during runs |");
    println!("|---|---|---|---|---|---|---|");
    let mut p50s: Vec<(&str, &str, f64)> = Vec::new();
    for (size, label) in &groups {
        let runs: Vec<&Line> = lines
            .iter()
            .filter(|l| l.size == *size && l.label == *label)
            .collect();
        let p50 = median(runs.iter().map(|r| r.p50_ms).collect());
        p50s.push((size, label, p50));
        println!(
            "| {size} ({} B XML, {} B base64) | {label} | {} | {p50:.3} ms | {:.3} ms | {:.0} | {} |",
            runs[0].xml_bytes,
            runs[0].b64_bytes,
            runs.len(),
            median(runs.iter().map(|r| r.p99_ms).collect()),
            median(runs.iter().map(|r| r.calls_per_s).collect()),
            runs.iter()
                .map(|r| r.load.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for pair in p50s.chunk_by(|a, b| a.0 == b.0) {
        if let [(size, a, pa), (_, b, pb)] = pair {
            println!("{size}: p50 of {b} / p50 of {a} = {:.2}", pb / pa);
        }
    }
}
