//! IdP signing certificates as admins hand them over: the one reader (PEM, bare base64 DER,
//! or binary DER) and the one summary (subject, issuer, validity, fingerprint).
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::x509::{X509, X509NameRef};
use sha2::Digest;

/// One certificate as base64 DER (whitespace allowed), as in metadata's X509Certificate.
pub fn from_base64(raw: &str) -> Option<Vec<u8>> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD.decode(compact).ok()?;
    is_certificate(&der).then_some(der)
}

pub fn is_certificate(der: &[u8]) -> bool {
    X509::from_der(der).is_ok()
}

/// The DER certificates in `input`: PEM text holding one or more, one certificate as bare
/// base64 DER, or one binary DER certificate. None when it is none of these.
pub fn read(input: &[u8]) -> Option<Vec<Vec<u8>>> {
    if input.windows(10).any(|w| w == b"-----BEGIN") {
        let stack = X509::stack_from_pem(input).ok()?;
        if stack.is_empty() {
            return None;
        }
        return stack.iter().map(|c| c.to_der().ok()).collect();
    }
    if is_certificate(input) {
        return Some(vec![input.to_vec()]);
    }
    from_base64(std::str::from_utf8(input).ok()?).map(|der| vec![der])
}

/// What an admin compares with the IdP's own certificate page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// (short name, value) pairs, e.g. ("CN", "idp.example.com").
    pub subject: Vec<(String, String)>,
    pub issuer: Vec<(String, String)>,
    pub not_before: i64,
    pub not_after: i64,
    /// The expiry as OpenSSL prints it (`Jan  1 00:00:00 2030 GMT`).
    pub not_after_text: String,
}

/// `key=value, key=value`.
pub fn name_text(entries: &[(String, String)]) -> String {
    entries
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn entries(name: &X509NameRef) -> Vec<(String, String)> {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?").to_owned();
            let value = e.data().to_string().unwrap_or_default();
            (key, value)
        })
        .collect()
}

fn unix(t: &openssl::asn1::Asn1TimeRef) -> Option<i64> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    Some(i64::from(d.days) * 86_400 + i64::from(d.secs))
}

/// None when `der` is not an X.509 certificate.
pub fn summary(der: &[u8]) -> Option<Summary> {
    let x = X509::from_der(der).ok()?;
    Some(Summary {
        subject: entries(x.subject_name()),
        issuer: entries(x.issuer_name()),
        not_before: unix(x.not_before()).unwrap_or(0),
        not_after: unix(x.not_after()).unwrap_or(0),
        not_after_text: x.not_after().to_string(),
    })
}

/// SHA-256 of the DER certificate, lower-case hex.
pub fn sha256_hex(der: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pem_base64_and_der_and_summarises() {
        let (_, cert) = super::super::sign::self_signed("idp.example.test", 10).unwrap();
        let der = cert.to_der().unwrap();
        let pem = cert.to_pem().unwrap();
        let mut two = pem.clone();
        two.extend_from_slice(&pem);
        assert_eq!(read(&pem), Some(vec![der.clone()]));
        assert_eq!(read(&two).map(|v| v.len()), Some(2));
        assert_eq!(read(&der), Some(vec![der.clone()]));
        assert_eq!(
            read(STANDARD.encode(&der).as_bytes()),
            Some(vec![der.clone()])
        );
        assert_eq!(
            read(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"),
            None
        );
        assert_eq!(read(b"junk"), None);
        let s = summary(&der).unwrap();
        assert!(name_text(&s.subject).contains("CN=idp.example.test"));
        assert!(s.not_after > s.not_before && s.not_after_text.ends_with(" GMT"));
        assert_eq!(sha256_hex(&der).len(), 64);
        assert!(summary(b"junk").is_none());
    }
}
