//! ID-token claim checks (OpenID Connect Core §3.1.3.7), after the signature. The nonce
//! comparison and the at_hash / c_hash computation are the `openidconnect` crate's; the claims
//! are read from the verified payload as JSON here, because the crate's typed claims refuse a
//! whole token for a claim ssogate reads leniently (`email_verified: "yes"` is "not verified",
//! not a malformed token) and fold distinct refusals into one (see the README).
use std::collections::BTreeMap;

use openidconnect::core::CoreJsonWebKey;
use openidconnect::{AccessToken, AccessTokenHash, AuthorizationCode, AuthorizationCodeHash};
use openidconnect::{Nonce, NonceVerifier};
use serde_json::{Map, Value};

use super::error::{OidcError, err};
use super::jose::core_alg;
use crate::domain::oidc::JwsAlgorithm;
use crate::domain::reason::Reason;

pub struct Expectations<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: i64,
    pub skew: i64,
    pub access_token: Option<&'a str>,
    pub code: &'a str,
}

fn int(claims: &Map<String, Value>, name: &str) -> Result<i64, OidcError> {
    claims.get(name).and_then(Value::as_i64).ok_or_else(|| {
        err(
            Reason::MalformedIdToken,
            format!("the ID token has no numeric `{name}`"),
        )
    })
}

/// at_hash of an access token (the crate's: left half of the algorithm's hash).
fn at_hash(alg: JwsAlgorithm, key: &CoreJsonWebKey, token: &str) -> Option<String> {
    AccessTokenHash::from_token(&AccessToken::new(token.to_owned()), &core_alg(alg), key)
        .ok()
        .map(|h| h.to_string())
}

/// c_hash of an authorization code.
fn code_hash(alg: JwsAlgorithm, key: &CoreJsonWebKey, code: &str) -> Option<String> {
    AuthorizationCodeHash::from_code(
        &AuthorizationCode::new(code.to_owned()),
        &core_alg(alg),
        key,
    )
    .ok()
    .map(|h| h.to_string())
}

/// Returns the subject. `key` is the key that verified the signature.
pub fn check(
    claims: &Map<String, Value>,
    alg: JwsAlgorithm,
    key: &CoreJsonWebKey,
    x: &Expectations<'_>,
) -> Result<String, OidcError> {
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if iss != x.issuer {
        return Err(err(
            Reason::IssuerMismatch,
            format!(
                "ID-token iss `{}` is not the configured issuer",
                iss.chars().take(100).collect::<String>()
            ),
        ));
    }
    let aud: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return Err(err(Reason::AudienceMissing, "the ID token has no aud")),
    };
    if !aud.contains(&x.client_id) {
        return Err(err(
            Reason::AudienceMismatch,
            "the ID token's aud does not contain this client",
        ));
    }
    // Core §3.1.3.7 (3): other audiences are not trusted by this client.
    if aud.iter().any(|a| *a != x.client_id) {
        return Err(err(
            Reason::AudienceMismatch,
            "the ID token names audiences other than this client",
        ));
    }
    if let Some(azp) = claims.get("azp")
        && azp.as_str() != Some(x.client_id)
    {
        return Err(err(
            Reason::AzpMismatch,
            "the ID token's azp is not this client",
        ));
    }
    let exp = int(claims, "exp")?;
    if x.now.saturating_sub(x.skew) >= exp {
        return Err(err(
            Reason::Expired,
            format!("the ID token expired {} s ago", x.now.saturating_sub(exp)),
        ));
    }
    let iat = int(claims, "iat")?;
    if iat > x.now.saturating_add(x.skew) {
        return Err(err(
            Reason::NotYetValid,
            format!(
                "the ID token was issued {} s in the future",
                iat.saturating_sub(x.now)
            ),
        ));
    }
    let nonce = claims
        .get("nonce")
        .and_then(Value::as_str)
        .map(|n| Nonce::new(n.to_owned()));
    let sent = Nonce::new(x.nonce.to_owned());
    if NonceVerifier::verify(&sent, nonce.as_ref()).is_err() {
        return Err(err(
            Reason::NonceMismatch,
            "the ID token's nonce is not the one sent with the request",
        ));
    }
    if let Some(sent) = claims.get("at_hash") {
        let expected = x.access_token.and_then(|t| at_hash(alg, key, t));
        if sent.as_str().is_none() || sent.as_str() != expected.as_deref() {
            return Err(err(
                Reason::AtHashMismatch,
                "at_hash does not match the access token",
            ));
        }
    }
    if let Some(sent) = claims.get("c_hash")
        && (sent.as_str().is_none() || sent.as_str() != code_hash(alg, key, x.code).as_deref())
    {
        return Err(err(Reason::CHashMismatch, "c_hash does not match the code"));
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if sub.is_empty() || sub.len() > 255 {
        return Err(err(
            Reason::MissingSubject,
            "the ID token has no usable sub",
        ));
    }
    Ok(sub.to_owned())
}

/// The string-valued claims (strings, numbers, booleans, arrays of them), for attribute mapping.
pub fn flatten(claims: &Map<String, Value>) -> BTreeMap<String, Vec<String>> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    claims
        .iter()
        .filter_map(|(k, v)| {
            let values: Vec<String> = match v {
                Value::Array(items) => items.iter().filter_map(scalar).collect(),
                other => scalar(other).into_iter().collect(),
            };
            (!values.is_empty()).then(|| (k.clone(), values))
        })
        .collect()
}

/// `email_verified`: None when the provider did not send it; otherwise verified only for the
/// boolean `true` or the string `"true"` (some providers send strings). Anything else present
/// (`false`, `"false"`, `"TRUE"`, `"yes"`, `1`, `0`, `null`, …) says "not verified": a value
/// ssogate cannot read is never taken for a yes.
pub fn email_verified(claims: &Map<String, Value>) -> Option<bool> {
    let v = claims.get("email_verified")?;
    Some(matches!(v, Value::Bool(true)) || v.as_str() == Some("true"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn x() -> Expectations<'static> {
        Expectations {
            issuer: "https://op",
            client_id: "c1",
            nonce: "n",
            now: 1000,
            skew: 60,
            access_token: Some("at"),
            code: "code",
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn base() -> Value {
        json!({"iss": "https://op", "aud": "c1", "exp": 1300, "iat": 990, "nonce": "n", "sub": "s1"})
    }

    /// An RSA key as far as hashing goes (at_hash / c_hash look only at its type).
    fn rsa() -> CoreJsonWebKey {
        serde_json::from_value(json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})).unwrap()
    }

    fn reason(v: Value) -> Option<Reason> {
        check(&claims(v), JwsAlgorithm::Rs256, &rsa(), &x())
            .err()
            .map(|e| e.reason)
    }

    #[test]
    fn valid_claims_pass() {
        assert_eq!(
            check(&claims(base()), JwsAlgorithm::Rs256, &rsa(), &x()).unwrap(),
            "s1"
        );
        let mut v = base();
        v["at_hash"] = json!(at_hash(JwsAlgorithm::Rs256, &rsa(), "at"));
        v["c_hash"] = json!(code_hash(JwsAlgorithm::Rs256, &rsa(), "code"));
        v["azp"] = json!("c1");
        assert!(reason(v).is_none());
    }

    #[test]
    fn each_claim_is_checked() {
        let with = |k: &str, val: Value| {
            let mut v = base();
            v[k] = val;
            v
        };
        assert_eq!(
            reason(with("iss", json!("https://evil"))),
            Some(Reason::IssuerMismatch)
        );
        assert_eq!(
            reason(with("aud", json!("other"))),
            Some(Reason::AudienceMismatch)
        );
        assert_eq!(
            reason(with("aud", json!(["c1", "other"]))),
            Some(Reason::AudienceMismatch)
        );
        assert_eq!(
            reason(with("azp", json!("other"))),
            Some(Reason::AzpMismatch)
        );
        assert_eq!(reason(with("exp", json!(939))), Some(Reason::Expired));
        assert_eq!(reason(with("iat", json!(1061))), Some(Reason::NotYetValid));
        assert_eq!(
            reason(with("nonce", json!("other"))),
            Some(Reason::NonceMismatch)
        );
        assert_eq!(
            reason(with("at_hash", json!("AAAA"))),
            Some(Reason::AtHashMismatch)
        );
        assert_eq!(
            reason(with("c_hash", json!("AAAA"))),
            Some(Reason::CHashMismatch)
        );
        assert_eq!(reason(with("sub", json!(""))), Some(Reason::MissingSubject));
        assert_eq!(reason(with("exp", json!(i64::MIN))), Some(Reason::Expired));
        assert_eq!(
            reason(with("exp", json!(1300.5))),
            Some(Reason::MalformedIdToken)
        );
        assert_eq!(
            reason(with("exp", json!("1300"))),
            Some(Reason::MalformedIdToken)
        );
        let mut no_nonce = base();
        no_nonce.as_object_mut().unwrap().remove("nonce");
        assert_eq!(reason(no_nonce), Some(Reason::NonceMismatch));
        let mut no_aud = base();
        no_aud.as_object_mut().unwrap().remove("aud");
        assert_eq!(reason(no_aud), Some(Reason::AudienceMissing));
    }

    #[test]
    fn clock_skew_is_allowed_both_ways() {
        let with = |k: &str, val: Value| {
            let mut v = base();
            v[k] = val;
            v
        };
        assert_eq!(
            reason(with("exp", json!(970))),
            None,
            "expired 30 s ago, within 60 s of skew"
        );
        assert_eq!(
            reason(with("iat", json!(1050))),
            None,
            "issued 50 s ahead, within 60 s of skew"
        );
    }

    #[test]
    fn rfc_example_at_hash() {
        // OpenID Connect Core A.3: at_hash of "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y".
        assert_eq!(
            at_hash(
                JwsAlgorithm::Rs256,
                &rsa(),
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            )
            .as_deref(),
            Some("77QmUPtjPfzWtF2AnpK9RQ")
        );
    }

    #[test]
    fn email_verified_is_true_only_for_true() {
        let read = |v: Option<Value>| {
            let mut m = Map::new();
            if let Some(v) = v {
                m.insert("email_verified".into(), v);
            }
            email_verified(&m)
        };
        assert_eq!(read(None), None, "not stated");
        assert_eq!(read(Some(json!(true))), Some(true));
        assert_eq!(read(Some(json!("true"))), Some(true));
        for v in [
            json!(false),
            json!("false"),
            json!(0),
            json!(1),
            json!("0"),
            json!("1"),
            json!("no"),
            json!("yes"),
            json!("TRUE"),
            json!("True"),
            json!(" true"),
            json!(null),
            json!([true]),
            json!({"value": true}),
        ] {
            assert_eq!(read(Some(v.clone())), Some(false), "{v}");
        }
    }
}
