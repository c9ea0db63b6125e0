//! Signing and verifying round trips on keys the tests make, for what the HTTP tests cannot
//! reach cheaply: ECDSA encodings.
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::{X509, X509NameBuilder};

use crate::domain::connection::SignatureAlgorithm;
use crate::domain::reason::Reason;
use crate::protocol::saml::sign::sign_template;
use crate::protocol::saml::verify_signatures;

fn ec_pair() -> (Vec<u8>, Vec<u8>) {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "ec idp").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (
        key.private_key_to_der().unwrap(),
        b.build().to_der().unwrap(),
    )
}

const DS: &str = "http://www.w3.org/2000/09/xmldsig#";

fn ec_signed_response(key_der: &[u8]) -> String {
    let template = format!(
        r##"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a"><saml:Issuer>idp</saml:Issuer><ds:Signature xmlns:ds="{DS}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/><ds:Reference URI="#_a"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature><saml:Subject><saml:NameID>ada</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>"##
    );
    sign_template(&template, key_der).unwrap()
}

fn signature_value(xml: &str) -> &str {
    let start = xml.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len();
    let end = xml.find("</ds:SignatureValue>").unwrap();
    &xml[start..end]
}

#[test]
fn ecdsa_signatures_verify_only_in_their_one_encoding() {
    let (key, cert) = ec_pair();
    let xml = ec_signed_response(&key);
    let allowed = [SignatureAlgorithm::EcdsaSha256];
    let parts = verify_signatures(&xml, std::slice::from_ref(&cert), &allowed).unwrap();
    assert!(parts.assertion && !parts.response);

    let raw = STANDARD.decode(signature_value(&xml)).unwrap();
    assert_eq!(raw.len(), 64, "P-256: r || s, 32 bytes each");
    let (r, s) = raw.split_at(32);
    // r and s each zero-padded to 33 bytes: the same numbers, another encoding.
    let mut padded = vec![0u8];
    padded.extend_from_slice(r);
    padded.push(0);
    padded.extend_from_slice(s);
    let mut long = vec![0u8; 200];
    long.extend_from_slice(&raw);
    for (label, value) in [("padded halves", padded), ("leading zeros", long)] {
        let tampered = xml.replace(signature_value(&xml), &STANDARD.encode(value));
        let e = verify_signatures(&tampered, std::slice::from_ref(&cert), &allowed).unwrap_err();
        assert_eq!(e.reason, Reason::InvalidSignature, "{label}");
    }
}

#[test]
fn an_ecdsa_method_never_verifies_with_an_rsa_certificate() {
    let (key, _) = ec_pair();
    let xml = ec_signed_response(&key);
    let (_, rsa_cert) = crate::protocol::saml::sign::self_signed("rsa idp", 1).unwrap();
    let e = verify_signatures(
        &xml,
        &[rsa_cert.to_der().unwrap()],
        &[SignatureAlgorithm::EcdsaSha256],
    )
    .unwrap_err();
    assert_eq!(e.reason, Reason::InvalidSignature);
}
