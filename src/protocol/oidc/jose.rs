//! Compact JWS verification (RFC 7515/7518) of the ID token against the provider's JWKS, with
//! the connection's algorithm allowlist. The JWKS types and the signature arithmetic (RSA,
//! RSA-PSS, ECDSA, HMAC) are the `openidconnect` crate's; the framing and header rules, key
//! selection and the key-strength rules stay here, because each needs its own reason code
//! (see the README, "How an OpenID Connect sign-in is checked").
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreJsonWebKey, CoreJsonWebKeySet, CoreJsonWebKeyType, CoreJsonWebKeyUse,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{JsonWebKey, JsonWebKeyAlgorithm, SignatureVerificationError};
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

/// The provider's key set, as the `openidconnect` crate reads it (keys it cannot read are
/// skipped).
pub type Jwks = CoreJsonWebKeySet;

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

/// The crate's name for one of ssogate's algorithms.
pub fn core_alg(alg: JwsAlgorithm) -> CoreJwsSigningAlgorithm {
    match alg {
        JwsAlgorithm::Rs256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        JwsAlgorithm::Rs384 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
        JwsAlgorithm::Rs512 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
        JwsAlgorithm::Ps256 => CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        JwsAlgorithm::Ps384 => CoreJwsSigningAlgorithm::RsaSsaPssSha384,
        JwsAlgorithm::Ps512 => CoreJwsSigningAlgorithm::RsaSsaPssSha512,
        JwsAlgorithm::Es256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        JwsAlgorithm::Es384 => CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        JwsAlgorithm::Hs256 => CoreJwsSigningAlgorithm::HmacSha256,
    }
}

fn kty_for(alg: JwsAlgorithm) -> CoreJsonWebKeyType {
    match alg {
        JwsAlgorithm::Es256 | JwsAlgorithm::Es384 => CoreJsonWebKeyType::EllipticCurve,
        JwsAlgorithm::Hs256 => CoreJsonWebKeyType::Symmetric,
        _ => CoreJsonWebKeyType::RSA,
    }
}

fn kty_name(kty: &CoreJsonWebKeyType) -> &'static str {
    match kty {
        CoreJsonWebKeyType::EllipticCurve => "EC",
        CoreJsonWebKeyType::Symmetric => "oct",
        _ => "RSA",
    }
}

/// The bytes of a base64url member of a key, leading zero octets dropped.
fn member(key: &serde_json::Value, what: &str) -> Result<Vec<u8>, OidcError> {
    let raw = key
        .get(what)
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| err(Reason::UnknownSigningKey, format!("JWK without `{what}`")))?;
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| {
        err(
            Reason::UnknownSigningKey,
            format!("JWK `{what}` is not base64url"),
        )
    })?;
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    Ok(bytes[first..].to_vec())
}

/// What the crate does not refuse and ssogate does: RSA moduli under 2048 bits, a public
/// exponent of 1 or an even one (signatures trivial to forge), and an EC key whose curve is
/// not the algorithm's (the crate verifies with the key's curve, whatever `alg` says).
fn check_strength(jwk: &CoreJsonWebKey, alg: JwsAlgorithm) -> Result<(), OidcError> {
    let v =
        serde_json::to_value(jwk).map_err(|_| err(Reason::UnknownSigningKey, "unusable JWK"))?;
    match jwk.key_type() {
        CoreJsonWebKeyType::RSA => {
            let n = member(&v, "n")?;
            let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
            if bits < 2048 {
                return Err(err(
                    Reason::UnknownSigningKey,
                    "RSA keys under 2048 bits are refused",
                ));
            }
            let e = member(&v, "e")?;
            if e.len() > 8 || e.last().is_none_or(|b| b & 1 == 0) || e.as_slice() == [1] {
                return Err(err(
                    Reason::UnknownSigningKey,
                    "RSA key with an unusable public exponent",
                ));
            }
            Ok(())
        }
        CoreJsonWebKeyType::EllipticCurve => {
            match (alg, v.get("crv").and_then(serde_json::Value::as_str)) {
                (JwsAlgorithm::Es256, Some("P-256")) | (JwsAlgorithm::Es384, Some("P-384")) => {
                    Ok(())
                }
                _ => Err(err(
                    Reason::UnknownSigningKey,
                    "EC key curve does not match the algorithm",
                )),
            }
        }
        other => Err(err(
            Reason::UnknownSigningKey,
            format!(
                "JWK type `{}` cannot verify {}",
                kty_name(other),
                alg.name()
            ),
        )),
    }
}

/// The key of `jwks` that must have signed this token: by `kid`, or the only candidate.
fn select<'k>(jws: &Jws<'_>, jwks: &'k Jwks) -> Result<&'k CoreJsonWebKey, OidcError> {
    let kty = kty_for(jws.alg);
    let alg = core_alg(jws.alg);
    let candidates: Vec<&CoreJsonWebKey> = jwks
        .keys()
        .iter()
        .filter(|k| *k.key_type() == kty && k.key_use() != Some(&CoreJsonWebKeyUse::Encryption))
        .filter(|k| match k.signing_alg() {
            JsonWebKeyAlgorithm::Unspecified => true,
            JsonWebKeyAlgorithm::Algorithm(a) => *a == alg,
            JsonWebKeyAlgorithm::Unsupported => false,
        })
        .collect();
    let kty = kty_name(&kty);
    match &jws.header.kid {
        Some(kid) => candidates
            .into_iter()
            .find(|k| k.key_id().map(|id| id.as_str()) == Some(kid.as_str()))
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

/// Verifies the signature through the crate: asymmetric algorithms with the provider's keys
/// only, HS256 with the client secret only (never with a JWKS entry, so a public key cannot
/// become a MAC key). Returns the key that verified (for at_hash and c_hash).
pub fn verify(
    jws: &Jws<'_>,
    jwks: &Jwks,
    client_secret: &str,
) -> Result<CoreJsonWebKey, OidcError> {
    let key = if jws.alg == JwsAlgorithm::Hs256 {
        CoreJsonWebKey::new_symmetric(client_secret.as_bytes().to_vec())
    } else {
        let key = select(jws, jwks)?;
        check_strength(key, jws.alg)?;
        key.clone()
    };
    key.verify_signature(
        &core_alg(jws.alg),
        jws.signing_input.as_bytes(),
        &jws.signature,
    )
    .map_err(|e| match e {
        SignatureVerificationError::InvalidKey(why) => err(
            Reason::UnknownSigningKey,
            format!(
                "unusable JWK: {}",
                why.chars().take(100).collect::<String>()
            ),
        ),
        _ => err(
            Reason::IdTokenSignature,
            "the ID token signature does not verify",
        ),
    })?;
    Ok(key)
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
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::sign::Signer;
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
