//! Responses the tests sign themselves, for the cases a well-behaved IdP never sends.
//! The builder starts from a valid response and each knob breaks one thing.
use ssogate::protocol::saml::sign::{self_signed, sign_template};

pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

pub struct TestIdp {
    pub entity_id: String,
    pub key_der: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub cert_der: Vec<u8>,
    pub cert_pem: Vec<u8>,
}

impl TestIdp {
    pub fn new(entity_id: &str) -> Self {
        let (key, cert) = self_signed(entity_id.get(..60).unwrap_or(entity_id), 30).unwrap();
        TestIdp {
            entity_id: entity_id.to_owned(),
            key_der: key.private_key_to_der().unwrap(),
            key_pem: key.private_key_to_pem_pkcs8().unwrap(),
            cert_der: cert.to_der().unwrap(),
            cert_pem: cert.to_pem().unwrap(),
        }
    }

    pub fn cert_b64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.cert_der)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SignWhat {
    Nothing,
    Assertion,
    Response,
    Both,
}

#[derive(Clone)]
pub struct Resp {
    pub response_id: String,
    pub assertion_id: String,
    pub response_issuer: Option<String>,
    pub assertion_issuer: String,
    pub destination: Option<String>,
    pub response_in_response_to: Option<String>,
    pub scd_in_response_to: Option<String>,
    pub recipient: Option<String>,
    pub audience: Option<String>,
    pub not_before: i64,
    pub not_on_or_after: i64,
    pub scd_not_on_or_after: Option<i64>,
    pub name_id: String,
    pub name_id_format: String,
    pub attributes: Vec<(String, Vec<String>)>,
    pub status: String,
    pub status_message: Option<String>,
    pub sign: SignWhat,
    pub sig_alg: String,
    pub digest_alg: String,
    pub c14n: String,
    pub transforms: Vec<String>,
    /// Overrides the Reference URI of the assertion signature.
    pub reference_uri: Option<String>,
    /// Raw XML appended inside the assertion's ds:Signature (ds:Object, ...).
    pub signature_extra: String,
    /// Raw XML inside ds:KeyInfo of the assertion signature.
    pub key_info: String,
    /// Raw XML placed after the Status (a second assertion, ...).
    pub response_extra: String,
    pub omit_assertion: bool,
    pub omit_authn_statement: bool,
    pub scd_not_before: Option<i64>,
    /// AuthnStatement SessionNotOnOrAfter (absent when None).
    pub session_not_on_or_after: Option<i64>,
    pub confirmation_method: String,
}

pub fn instant(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Resp {
    /// A valid response answering `request_id` for `idp` at the app's (tenant, connection),
    /// issued at the app's time.
    pub fn valid(
        app: &crate::helpers::TestApp,
        tenant: &str,
        conn: &str,
        idp: &TestIdp,
        request_id: Option<&str>,
    ) -> Self {
        Self::issued(
            &app.acs_url(tenant, conn),
            &app.sp_entity_id(tenant, conn),
            idp,
            request_id,
            app.now(),
        )
    }

    /// A valid response for an SP known only by its URLs.
    pub fn valid_at(
        acs_url: &str,
        sp_entity_id: &str,
        idp: &TestIdp,
        request_id: Option<&str>,
    ) -> Self {
        Self::issued(
            acs_url,
            sp_entity_id,
            idp,
            request_id,
            crate::helpers::now(),
        )
    }

    /// A valid response issued at `now` (the app's time, which a test may have moved).
    fn issued(
        acs_url: &str,
        sp_entity_id: &str,
        idp: &TestIdp,
        request_id: Option<&str>,
        now: i64,
    ) -> Self {
        Resp {
            response_id: ssogate::random::saml_id(),
            assertion_id: ssogate::random::saml_id(),
            response_issuer: Some(idp.entity_id.clone()),
            assertion_issuer: idp.entity_id.clone(),
            destination: Some(acs_url.to_owned()),
            response_in_response_to: request_id.map(str::to_owned),
            scd_in_response_to: request_id.map(str::to_owned),
            recipient: Some(acs_url.to_owned()),
            audience: Some(sp_entity_id.to_owned()),
            not_before: now - 30,
            not_on_or_after: now + 300,
            scd_not_on_or_after: Some(now + 300),
            name_id: "subject-ada".into(),
            name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into(),
            attributes: vec![
                ("email".into(), vec!["ada@acme.test".into()]),
                ("firstName".into(), vec!["Ada".into()]),
                ("lastName".into(), vec!["Lovelace".into()]),
            ],
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
            status_message: None,
            sign: SignWhat::Assertion,
            sig_alg: RSA_SHA256.into(),
            digest_alg: SHA256.into(),
            c14n: EXC_C14N.into(),
            transforms: vec![ENVELOPED.into(), EXC_C14N.into()],
            reference_uri: None,
            signature_extra: String::new(),
            key_info: String::new(),
            response_extra: String::new(),
            omit_assertion: false,
            omit_authn_statement: false,
            scd_not_before: None,
            session_not_on_or_after: None,
            confirmation_method: "urn:oasis:names:tc:SAML:2.0:cm:bearer".into(),
        }
    }

    pub fn attr(mut self, name: &str, value: &str) -> Self {
        self.attributes.retain(|(n, _)| n != name);
        self.attributes.push((name.into(), vec![value.into()]));
        self
    }

    fn signature_template(&self, id: &str, extra: &str, key_info: &str) -> String {
        let transforms: String = self
            .transforms
            .iter()
            .map(|t| format!(r#"<ds:Transform Algorithm="{t}"/>"#))
            .collect();
        format!(
            r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/><ds:SignatureMethod Algorithm="{sig}"/><ds:Reference URI="{uri}"><ds:Transforms>{transforms}</ds:Transforms><ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>{key_info}{extra}</ds:Signature>"#,
            c14n = self.c14n,
            sig = self.sig_alg,
            digest = self.digest_alg,
            uri = esc(id),
        )
    }

    pub fn assertion_xml(&self) -> String {
        let sig = if matches!(self.sign, SignWhat::Assertion | SignWhat::Both) {
            let uri = self
                .reference_uri
                .clone()
                .unwrap_or_else(|| format!("#{}", self.assertion_id));
            let ki = if self.key_info.is_empty() {
                String::new()
            } else {
                format!("<ds:KeyInfo>{}</ds:KeyInfo>", self.key_info)
            };
            self.signature_template(&uri, &self.signature_extra, &ki)
        } else {
            String::new()
        };
        let attrs: String = self
            .attributes
            .iter()
            .map(|(n, vs)| {
                let values: String = vs
                    .iter()
                    .map(|v| format!("<saml:AttributeValue>{}</saml:AttributeValue>", esc(v)))
                    .collect();
                format!(
                    r#"<saml:Attribute Name="{}">{values}</saml:Attribute>"#,
                    esc(n)
                )
            })
            .collect();
        let opt_attr = |name: &str, v: &Option<String>| {
            v.as_ref()
                .map(|v| format!(r#" {name}="{}""#, esc(v)))
                .unwrap_or_default()
        };
        let audience = self
            .audience
            .as_ref()
            .map(|a| format!("<saml:AudienceRestriction><saml:Audience>{}</saml:Audience></saml:AudienceRestriction>", esc(a)))
            .unwrap_or_default();
        format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{aid}" Version="2.0" IssueInstant="{now}"><saml:Issuer>{issuer}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format="{fmt}">{name_id}</saml:NameID><saml:SubjectConfirmation Method="{method}"><saml:SubjectConfirmationData{irt}{recipient}{scd_nb}{scd_noa}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}">{audience}</saml:Conditions>{authn}<saml:AttributeStatement>{attrs}</saml:AttributeStatement></saml:Assertion>"#,
            aid = esc(&self.assertion_id),
            now = instant(self.not_before + 30),
            issuer = esc(&self.assertion_issuer),
            fmt = esc(&self.name_id_format),
            name_id = esc(&self.name_id),
            irt = opt_attr("InResponseTo", &self.scd_in_response_to),
            recipient = opt_attr("Recipient", &self.recipient),
            method = esc(&self.confirmation_method),
            scd_nb = opt_attr("NotBefore", &self.scd_not_before.map(instant)),
            scd_noa = opt_attr("NotOnOrAfter", &self.scd_not_on_or_after.map(instant)),
            nb = instant(self.not_before),
            authn = if self.omit_authn_statement {
                String::new()
            } else {
                format!(
                    r#"<saml:AuthnStatement AuthnInstant="{}"{}><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
                    instant(self.not_before + 30),
                    opt_attr(
                        "SessionNotOnOrAfter",
                        &self.session_not_on_or_after.map(instant)
                    )
                )
            },
            noa = instant(self.not_on_or_after),
        )
    }

    /// The document with `assertion_xml` inside; signature templates left empty.
    fn template_with(&self, assertion_xml: &str) -> String {
        let opt_attr = |name: &str, v: &Option<String>| {
            v.as_ref()
                .map(|v| format!(r#" {name}="{}""#, esc(v)))
                .unwrap_or_default()
        };
        let issuer = self
            .response_issuer
            .as_ref()
            .map(|i| format!(r#"<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{}</saml:Issuer>"#, esc(i)))
            .unwrap_or_default();
        let sig = if matches!(self.sign, SignWhat::Response | SignWhat::Both) {
            self.signature_template(&format!("#{}", self.response_id), "", "")
        } else {
            String::new()
        };
        let message = self
            .status_message
            .as_ref()
            .map(|m| format!("<samlp:StatusMessage>{}</samlp:StatusMessage>", esc(m)))
            .unwrap_or_default();
        let assertion = if self.omit_assertion {
            ""
        } else {
            assertion_xml
        };
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{rid}" Version="2.0" IssueInstant="{now}"{dest}{irt}>{issuer}{sig}<samlp:Status><samlp:StatusCode Value="{status}"/>{message}</samlp:Status>{extra}{assertion}</samlp:Response>"#,
            rid = esc(&self.response_id),
            now = instant(self.not_before + 30),
            dest = opt_attr("Destination", &self.destination),
            irt = opt_attr("InResponseTo", &self.response_in_response_to),
            status = esc(&self.status),
            extra = self.response_extra,
        )
    }

    /// Signed with `key_der` (or unsigned when `sign` is Nothing).
    /// The assertion is signed on its own first, so a response signature covers a signed
    /// assertion, as IdPs do it.
    pub fn signed_with(&self, key_der: &[u8]) -> String {
        let assertion = if matches!(self.sign, SignWhat::Assertion | SignWhat::Both) {
            strip_declaration(
                &sign_template(&self.assertion_xml(), key_der)
                    .expect("test fixture signs the assertion"),
            )
        } else {
            self.assertion_xml()
        };
        let doc = self.template_with(&assertion);
        if matches!(self.sign, SignWhat::Response | SignWhat::Both) {
            strip_declaration(
                &sign_template(&doc, key_der).expect("test fixture signs the response"),
            )
        } else {
            doc
        }
    }

    pub fn signed(&self, idp: &TestIdp) -> String {
        self.signed_with(&idp.key_der)
    }
}

pub fn strip_declaration(xml: &str) -> String {
    let t = xml.trim_start();
    match t.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").map_or(0, |i| i + 2)..]
            .trim_start()
            .to_owned(),
        None => t.to_owned(),
    }
}
