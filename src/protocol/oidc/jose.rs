//! Compact JWS verification (RFC 7515/7518) against a JWKS, with an algorithm allowlist.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Public};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use serde::Deserialize;

use super::error::{OidcError, err};
use crate::domain::oidc::JwsAlgorithm;
use crate::domain::reason::Reason;

#[derive(Debug, Deserialize)]
pub struct Header {
    pub alg: String,
    pub kid: Option<String>,
    pub crit: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub kid: Option<String>,
    #[serde(rename = "use")]
    pub use_: Option<String>,
    pub alg: Option<String>,
    pub n: Option<String>,
    pub e: Option<String>,
    pub crv: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// A parsed but unverified token.
pub struct Jws<'a> {
    pub header: Header,
    pub alg: JwsAlgorithm,
    signing_input: &'a str,
    signature: Vec<u8>,
    pub payload: serde_json::Map<String, serde_json::Value>,
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, OidcError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| {
        err(
            Reason::MalformedIdToken,
            format!("the ID token's {what} is not base64url"),
        )
    })
}

/// Splits and decodes; refuses `none` and anything outside `allowed` before any key is used.
pub fn parse<'a>(token: &'a str, allowed: &[JwsAlgorithm]) -> Result<Jws<'a>, OidcError> {
    if token.len() > 64 * 1024 {
        return Err(err(Reason::MalformedIdToken, "the ID token is over 64 KiB"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(err(
            Reason::MalformedIdToken,
            "the ID token is not a compact JWS (three parts)",
        ));
    };
    let header: Header = serde_json::from_slice(&b64(h, "header")?).map_err(|e| {
        err(
            Reason::MalformedIdToken,
            format!("the ID token header is not JSON: {e}"),
        )
    })?;
    if header.crit.is_some() {
        return Err(err(
            Reason::MalformedIdToken,
            "the ID token has critical header parameters",
        ));
    }
    if header.alg.eq_ignore_ascii_case("none") {
        return Err(err(
            Reason::IdTokenAlgorithm,
            "unsigned ID token (alg none)",
        ));
    }
    let alg = JwsAlgorithm::from_header(&header.alg)
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| {
            err(
                Reason::IdTokenAlgorithm,
                format!(
                    "ID-token algorithm `{}` is not allowed for this connection",
                    header.alg.chars().take(20).collect::<String>()
                ),
            )
        })?;
    let payload = serde_json::from_slice(&b64(p, "payload")?).map_err(|e| {
        err(
            Reason::MalformedIdToken,
            format!("the ID token payload is not a JSON object: {e}"),
        )
    })?;
    let signature = b64(s, "signature")?;
    Ok(Jws {
        header,
        alg,
        signing_input: &token[..h.len() + 1 + p.len()],
        signature,
        payload,
    })
}

fn digest(alg: JwsAlgorithm) -> MessageDigest {
    match alg {
        JwsAlgorithm::Rs256 | JwsAlgorithm::Ps256 | JwsAlgorithm::Es256 | JwsAlgorithm::Hs256 => {
            MessageDigest::sha256()
        }
        JwsAlgorithm::Rs384 | JwsAlgorithm::Ps384 | JwsAlgorithm::Es384 => MessageDigest::sha384(),
        JwsAlgorithm::Rs512 | JwsAlgorithm::Ps512 => MessageDigest::sha512(),
    }
}

fn kty_for(alg: JwsAlgorithm) -> &'static str {
    match alg {
        JwsAlgorithm::Es256 | JwsAlgorithm::Es384 => "EC",
        JwsAlgorithm::Hs256 => "oct",
        _ => "RSA",
    }
}

fn big(v: &Option<String>, what: &str) -> Result<BigNum, OidcError> {
    let raw = v
        .as_deref()
        .ok_or_else(|| err(Reason::UnknownSigningKey, format!("JWK without `{what}`")))?;
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| {
        err(
            Reason::UnknownSigningKey,
            format!("JWK `{what}` is not base64url"),
        )
    })?;
    BigNum::from_slice(&bytes).map_err(|_| {
        err(
            Reason::UnknownSigningKey,
            format!("JWK `{what}` is not a number"),
        )
    })
}

fn public_key(jwk: &Jwk, alg: JwsAlgorithm) -> Result<PKey<Public>, OidcError> {
    let bad = |e: openssl::error::ErrorStack| {
        err(Reason::UnknownSigningKey, format!("unusable JWK: {e}"))
    };
    match jwk.kty.as_str() {
        "RSA" => {
            let rsa =
                Rsa::from_public_components(big(&jwk.n, "n")?, big(&jwk.e, "e")?).map_err(bad)?;
            if rsa.n().num_bits() < 2048 {
                return Err(err(
                    Reason::UnknownSigningKey,
                    "RSA keys under 2048 bits are refused",
                ));
            }
            // e = 1 (or an even e) would make signatures trivial to forge.
            if rsa.e().num_bits() < 2 || !rsa.e().is_bit_set(0) {
                return Err(err(
                    Reason::UnknownSigningKey,
                    "RSA key with an unusable public exponent",
                ));
            }
            PKey::from_rsa(rsa).map_err(bad)
        }
        "EC" => {
            let nid = match (alg, jwk.crv.as_deref()) {
                (JwsAlgorithm::Es256, Some("P-256")) => Nid::X9_62_PRIME256V1,
                (JwsAlgorithm::Es384, Some("P-384")) => Nid::SECP384R1,
                _ => {
                    return Err(err(
                        Reason::UnknownSigningKey,
                        "EC key curve does not match the algorithm",
                    ));
                }
            };
            let group = EcGroup::from_curve_name(nid).map_err(bad)?;
            let (x, y) = (big(&jwk.x, "x")?, big(&jwk.y, "y")?);
            let key = EcKey::from_public_key_affine_coordinates(&group, &x, &y).map_err(bad)?;
            key.check_key().map_err(bad)?;
            PKey::from_ec_key(key).map_err(bad)
        }
        other => Err(err(
            Reason::UnknownSigningKey,
            format!("JWK type `{other}` cannot verify {}", alg.name()),
        )),
    }
}

/// The key of `jwks` that must have signed this token: by `kid`, or the only candidate.
fn select<'k>(jws: &Jws<'_>, jwks: &'k Jwks) -> Result<&'k Jwk, OidcError> {
    let kty = kty_for(jws.alg);
    let candidates: Vec<&Jwk> = jwks
        .keys
        .iter()
        .filter(|k| k.kty == kty && k.use_.as_deref() != Some("enc"))
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == jws.alg.name()))
        .collect();
    match &jws.header.kid {
        Some(kid) => candidates
            .into_iter()
            .find(|k| k.kid.as_deref() == Some(kid))
            .ok_or_else(|| {
                err(
                    Reason::UnknownSigningKey,
                    format!(
                        "no {kty} key with kid `{}`",
                        kid.chars().take(64).collect::<String>()
                    ),
                )
            }),
        None => match candidates.as_slice() {
            [only] => Ok(only),
            [] => Err(err(
                Reason::UnknownSigningKey,
                format!("the provider publishes no {kty} signing key"),
            )),
            _ => Err(err(
                Reason::UnknownSigningKey,
                "the ID token names no kid and the provider has several keys",
            )),
        },
    }
}

/// Whether `jwks` holds the key the token names (used to decide on a JWKS refetch).
pub fn has_key(jws: &Jws<'_>, jwks: &Jwks) -> bool {
    jws.alg == JwsAlgorithm::Hs256 || select(jws, jwks).is_ok()
}

/// Verifies the signature: asymmetric algorithms with the provider's keys only, HS256 with
/// the client secret only (never with a JWKS entry, so a public key cannot become a MAC key).
pub fn verify(jws: &Jws<'_>, jwks: &Jwks, client_secret: &str) -> Result<(), OidcError> {
    let bad_sig = || {
        err(
            Reason::IdTokenSignature,
            "the ID token signature does not verify",
        )
    };
    let input = jws.signing_input.as_bytes();
    let md = digest(jws.alg);
    let ok = match jws.alg {
        JwsAlgorithm::Hs256 => {
            let key = PKey::hmac(client_secret.as_bytes()).map_err(|_| bad_sig())?;
            let mut s = Signer::new(md, &key).map_err(|_| bad_sig())?;
            s.update(input).map_err(|_| bad_sig())?;
            let mac = s.sign_to_vec().map_err(|_| bad_sig())?;
            mac.len() == jws.signature.len() && openssl::memcmp::eq(&mac, &jws.signature)
        }
        JwsAlgorithm::Es256 | JwsAlgorithm::Es384 => {
            let key = public_key(select(jws, jwks)?, jws.alg)?;
            let half = if jws.alg == JwsAlgorithm::Es256 {
                32
            } else {
                48
            };
            if jws.signature.len() != 2 * half {
                return Err(bad_sig());
            }
            let r = BigNum::from_slice(&jws.signature[..half]).map_err(|_| bad_sig())?;
            let s = BigNum::from_slice(&jws.signature[half..]).map_err(|_| bad_sig())?;
            let der = EcdsaSig::from_private_components(r, s)
                .and_then(|s| s.to_der())
                .map_err(|_| bad_sig())?;
            let mut v = Verifier::new(md, &key).map_err(|_| bad_sig())?;
            v.update(input).map_err(|_| bad_sig())?;
            v.verify(&der).unwrap_or(false)
        }
        _ => {
            let key = public_key(select(jws, jwks)?, jws.alg)?;
            let mut v = Verifier::new(md, &key).map_err(|_| bad_sig())?;
            if matches!(
                jws.alg,
                JwsAlgorithm::Ps256 | JwsAlgorithm::Ps384 | JwsAlgorithm::Ps512
            ) {
                v.set_rsa_padding(Padding::PKCS1_PSS)
                    .map_err(|_| bad_sig())?;
                v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                    .map_err(|_| bad_sig())?;
                v.set_rsa_mgf1_md(md).map_err(|_| bad_sig())?;
            } else {
                v.set_rsa_padding(Padding::PKCS1).map_err(|_| bad_sig())?;
            }
            v.update(input).map_err(|_| bad_sig())?;
            v.verify(&jws.signature).unwrap_or(false)
        }
    };
    if ok { Ok(()) } else { Err(bad_sig()) }
}

pub fn parse_jwks(json: &str) -> Result<Jwks, OidcError> {
    serde_json::from_str(json).map_err(|e| {
        err(
            Reason::UnknownSigningKey,
            format!("the provider's JWKS does not parse: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b(v: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(v)
    }

    fn rsa_jwk(kid: &str, bits: u32) -> (PKey<openssl::pkey::Private>, serde_json::Value) {
        let rsa = Rsa::generate(bits).unwrap();
        let jwk =
            json!({"kty": "RSA", "kid": kid, "n": b(&rsa.n().to_vec()), "e": b(&rsa.e().to_vec())});
        (PKey::from_rsa(rsa).unwrap(), jwk)
    }

    fn token(header: serde_json::Value, key: &PKey<openssl::pkey::Private>) -> String {
        let input = format!(
            "{}.{}",
            b(header.to_string().as_bytes()),
            b(json!({"sub": "s"}).to_string().as_bytes())
        );
        let mut s = Signer::new(MessageDigest::sha256(), key).unwrap();
        s.update(input.as_bytes()).unwrap();
        format!("{input}.{}", b(&s.sign_to_vec().unwrap()))
    }

    fn jwks(keys: Vec<serde_json::Value>) -> Jwks {
        parse_jwks(&json!({ "keys": keys }).to_string()).unwrap()
    }

    const RS: &[JwsAlgorithm] = &[JwsAlgorithm::Rs256, JwsAlgorithm::Es256];

    #[test]
    fn structure_and_header_rules() {
        let reason = |t: &str| parse(t, RS).err().map(|e| e.reason);
        assert_eq!(reason("a.b"), Some(Reason::MalformedIdToken));
        assert_eq!(reason("a.b.c.d"), Some(Reason::MalformedIdToken));
        let crit = format!("{}.{}.", b(br#"{"alg":"RS256","crit":["exp"]}"#), b(b"{}"));
        assert_eq!(reason(&crit), Some(Reason::MalformedIdToken));
        let none = format!("{}.{}.", b(br#"{"alg":"none"}"#), b(b"{}"));
        assert_eq!(reason(&none), Some(Reason::IdTokenAlgorithm));
        let padded = format!("{}=.{}.", b(br#"{"alg":"RS256"}"#), b(b"{}"));
        assert_eq!(reason(&padded), Some(Reason::MalformedIdToken));
        // JOSE names compare exactly: no trimming, no case folding.
        for alg in [" RS256", "RS256 ", "rs256", "Rs256", "RS256\\t"] {
            let h = format!(r#"{{"alg":"{alg}"}}"#);
            let t = format!("{}.{}.", b(h.as_bytes()), b(b"{}"));
            assert_eq!(reason(&t), Some(Reason::IdTokenAlgorithm), "{alg:?}");
        }
        let exact = format!("{}.{}.", b(br#"{"alg":"RS256"}"#), b(b"{}"));
        assert!(parse(&exact, RS).is_ok());
    }

    #[test]
    fn key_selection_rules() {
        let (key, jwk) = rsa_jwk("k1", 2048);
        let t = token(json!({"alg": "RS256", "kid": "k1"}), &key);
        let jws = parse(&t, RS).unwrap();
        assert!(verify(&jws, &jwks(vec![jwk.clone()]), "").is_ok());
        // An oct key, an encryption key or a key for another alg never verifies an RS256 token.
        let oct = json!({"kty": "oct", "kid": "k1", "k": b(b"secret")});
        assert_eq!(
            verify(&jws, &jwks(vec![oct]), "").unwrap_err().reason,
            Reason::UnknownSigningKey
        );
        let mut enc = jwk.clone();
        enc["use"] = json!("enc");
        assert_eq!(
            verify(&jws, &jwks(vec![enc]), "").unwrap_err().reason,
            Reason::UnknownSigningKey
        );
        let mut other_alg = jwk.clone();
        other_alg["alg"] = json!("RS512");
        assert_eq!(
            verify(&jws, &jwks(vec![other_alg]), "").unwrap_err().reason,
            Reason::UnknownSigningKey
        );
    }

    #[test]
    fn weak_rsa_keys_are_refused() {
        let (key, jwk) = rsa_jwk("k1", 1024);
        let t = token(json!({"alg": "RS256", "kid": "k1"}), &key);
        let jws = parse(&t, RS).unwrap();
        assert_eq!(
            verify(&jws, &jwks(vec![jwk.clone()]), "")
                .unwrap_err()
                .reason,
            Reason::UnknownSigningKey
        );
        let (_, mut e1) = rsa_jwk("k1", 2048);
        e1["e"] = json!(b(&[1]));
        assert_eq!(
            verify(&jws, &jwks(vec![e1]), "").unwrap_err().reason,
            Reason::UnknownSigningKey
        );
    }

    #[test]
    fn ecdsa_signatures_must_have_the_raw_length() {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let ec = EcKey::generate(&group).unwrap();
        let mut ctx = openssl::bn::BigNumContext::new().unwrap();
        let (mut x, mut y) = (BigNum::new().unwrap(), BigNum::new().unwrap());
        ec.public_key()
            .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
            .unwrap();
        let jwk = json!({"kty": "EC", "kid": "e1", "crv": "P-256", "x": b(&x.to_vec_padded(32).unwrap()), "y": b(&y.to_vec_padded(32).unwrap())});
        let key = PKey::from_ec_key(ec).unwrap();
        // A DER signature (what openssl produces) is not the JWS raw r||s form.
        let t = token(json!({"alg": "ES256", "kid": "e1"}), &key);
        let jws = parse(&t, RS).unwrap();
        assert_eq!(
            verify(&jws, &jwks(vec![jwk.clone()]), "")
                .unwrap_err()
                .reason,
            Reason::IdTokenSignature
        );
        // A P-256 key does not verify ES384.
        let mut p384 = jwk;
        p384["crv"] = json!("P-384");
        let t = token(json!({"alg": "ES256", "kid": "e1"}), &key);
        let jws = parse(&t, RS).unwrap();
        assert_eq!(
            verify(&jws, &jwks(vec![p384]), "").unwrap_err().reason,
            Reason::UnknownSigningKey
        );
    }
}
