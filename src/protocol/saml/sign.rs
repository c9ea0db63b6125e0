//! IdP-side signing: ds:Signature templates and self-signed keys (the development IdP).
pub use super::dsig::sign::{SignError, sign_template};

/// An RSA-2048 key and a self-signed certificate for it, valid from now for `days`: the
/// development IdP's signing pair (tests and the benchmark use it for their IdPs too).
pub fn self_signed(
    common_name: &str,
    days: u32,
) -> Result<
    (
        openssl::pkey::PKey<openssl::pkey::Private>,
        openssl::x509::X509,
    ),
    openssl::error::ErrorStack,
> {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::{X509, X509NameBuilder};

    let key = PKey::from_rsa(Rsa::generate(2048)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", common_name)?;
    let name = name.build();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let serial = BigNum::from_u32(1)?.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(&key)?;
    let (from, until) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(days)?);
    b.set_not_before(&from)?;
    b.set_not_after(&until)?;
    b.sign(&key, MessageDigest::sha256())?;
    Ok((key, b.build()))
}
