//! The join-key lookup: before asking the IWMS to create an account, ssogate asks it whether a
//! person with the tenant's join key exists. A signed `POST <endpoint>/lookup`, safe to repeat,
//! sent by the same client (timeouts, no redirects, the address policy) as the events.
use serde_json::json;

use crate::clock::rfc3339;
use crate::domain::iwms::{JoinKey, LookupAnswer, lookup_answer, signature};
use crate::protocol::body::{ReadError, read_capped};
use crate::protocol::outbound::{self, AddressPolicy};

/// A lookup answer is `{"iwms_id": …}`; anything longer is no usable answer.
pub const MAX_LOOKUP_ANSWER_BYTES: usize = 64 * 1024;

/// What one lookup asks.
pub struct Question<'a> {
    /// The creation event the lookup precedes (`evt_<n>`).
    pub event_id: &'a str,
    pub tenant: &'a str,
    pub user_id: i64,
    pub key: JoinKey,
    pub value: &'a str,
}

/// `<endpoint>/lookup`: the endpoint's path with `/lookup` appended (its query kept).
pub fn lookup_url(endpoint: &str) -> Result<url::Url, String> {
    let mut u =
        url::Url::parse(endpoint).map_err(|_| format!("the endpoint `{endpoint}` is not a URL"))?;
    let path = format!("{}/lookup", u.path().trim_end_matches('/'));
    u.set_path(&path);
    Ok(u)
}

/// The endpoint may be reached under the address policy; otherwise why not (the event's
/// last error).
pub fn permitted(policy: &AddressPolicy, endpoint: &str) -> Result<(), String> {
    match url::Url::parse(endpoint) {
        Ok(u) if policy.permits_url(&u) => Ok(()),
        Ok(_) => Err(format!(
            "refused: {endpoint} is an internal address outside iwms.allowed_networks"
        )),
        Err(_) => Err(format!("the endpoint `{endpoint}` is not a URL")),
    }
}

/// Why a request to `endpoint` got no answer, in words for the event's last error.
pub fn send_failure(err: &reqwest::Error, endpoint: &str) -> String {
    if outbound::refused_by_policy(err) {
        return format!(
            "refused: {endpoint} resolves only to internal addresses outside iwms.allowed_networks"
        );
    }
    let why = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    format!("{why}: {endpoint}")
}

/// The lookup's JSON body.
pub fn body(q: &Question<'_>, now: i64) -> String {
    json!({
        "type": "user.lookup",
        "event_id": q.event_id,
        "tenant": q.tenant,
        "user_id": q.user_id,
        "key": {"field": q.key.as_str(), "value": q.value},
        "requested_at": rfc3339(now),
    })
    .to_string()
}

/// Asks the IWMS. Every error (no answer, another status, a malformed or oversized answer)
/// comes back as the reason the creation waits for its retry.
pub async fn ask(
    http: &reqwest::Client,
    policy: &AddressPolicy,
    endpoint: &str,
    secret: &[u8],
    q: &Question<'_>,
    now: i64,
) -> Result<LookupAnswer, String> {
    permitted(policy, endpoint)?;
    let url = lookup_url(endpoint)?;
    let body = body(q, now);
    let res = http
        .post(url.clone())
        .header("content-type", "application/json")
        .header("x-ssogate-event", "user.lookup")
        .header("x-ssogate-event-id", q.event_id)
        .header(
            "x-ssogate-signature",
            signature(secret, now, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| format!("lookup: {}", send_failure(&e, url.as_str())))?;
    let status = res.status().as_u16();
    if status == 404 {
        return Ok(LookupAnswer::NotFound);
    }
    let answer = match read_capped(res, MAX_LOOKUP_ANSWER_BYTES).await {
        Ok(b) => b,
        Err(ReadError::TooLarge) => {
            return Err(format!(
                "the IWMS lookup's answer is larger than {} KiB",
                MAX_LOOKUP_ANSWER_BYTES / 1024
            ));
        }
        Err(ReadError::Failed(e)) => {
            return Err(format!("lookup: {}", send_failure(&e, url.as_str())));
        }
    };
    lookup_answer(status, &answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookup_url_extends_the_endpoint_path() {
        let u = |e: &str| lookup_url(e).unwrap().to_string();
        assert_eq!(
            u("https://iwms.test/hooks/ssogate"),
            "https://iwms.test/hooks/ssogate/lookup"
        );
        assert_eq!(
            u("https://iwms.test/hooks/ssogate/?k=1"),
            "https://iwms.test/hooks/ssogate/lookup?k=1"
        );
        assert_eq!(u("https://iwms.test"), "https://iwms.test/lookup");
        assert!(lookup_url("not a url").is_err());
    }

    #[test]
    fn the_body_names_the_key_and_its_value() {
        let q = Question {
            event_id: "evt_3",
            tenant: "acme",
            user_id: 7,
            key: JoinKey::EmployeeNumber,
            value: "E-7",
        };
        let v: serde_json::Value = serde_json::from_str(&body(&q, 0)).unwrap();
        assert_eq!(v["type"], "user.lookup");
        assert_eq!(
            v["key"],
            json!({"field": "employee_number", "value": "E-7"})
        );
        assert_eq!(v["event_id"], "evt_3");
        assert_eq!(v["user_id"], 7);
        assert_eq!(v["requested_at"], "1970-01-01T00:00:00Z");
    }
}
