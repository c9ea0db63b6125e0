//! The IWMS feed: which user changes become events, how deliveries are signed, and when a
//! failed delivery is tried again. Pure: the outbox storage and the worker apply it.
use std::fmt;

/// The events a tenant's IWMS can receive (a public contract: names never change meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Created,
    Updated,
    Deactivated,
    Reactivated,
    FlaggedStale,
    Unflagged,
}

pub const ALL_EVENTS: [EventKind; 6] = [
    EventKind::Created,
    EventKind::Updated,
    EventKind::Deactivated,
    EventKind::Reactivated,
    EventKind::FlaggedStale,
    EventKind::Unflagged,
];

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "user.created",
            EventKind::Updated => "user.updated",
            EventKind::Deactivated => "user.deactivated",
            EventKind::Reactivated => "user.reactivated",
            EventKind::FlaggedStale => "user.flagged_stale",
            EventKind::Unflagged => "user.unflagged",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        ALL_EVENTS.into_iter().find(|e| e.as_str() == raw.trim())
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A comma-separated list of event names; `all` selects every event.
pub fn parse_events(raw: &str) -> Result<Vec<EventKind>, String> {
    if raw.trim().eq_ignore_ascii_case("all") {
        return Ok(ALL_EVENTS.to_vec());
    }
    let mut out = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let e = EventKind::parse(name).ok_or_else(|| {
            format!(
                "`{name}` is not an event; choose from {} or `all`",
                ALL_EVENTS.map(EventKind::as_str).join(", ")
            )
        })?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

/// Where a tenant's signing secret comes from; the secret itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(String),
    Env(String),
}

impl SecretSource {
    /// A new setting (API, console, CLI): an absolute file, or a variable that is not one of
    /// ssogate's own.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.split_once(':') {
            // Relative paths would depend on the directory ssogate happens to start in.
            Some(("file", p)) if p.starts_with('/') => Ok(SecretSource::File(p.to_owned())),
            // SSOGATE_* variables hold ssogate's own settings and secrets (the session
            // secret): a tenant's feed must not be able to sign with them.
            Some(("env", v)) if v.to_ascii_uppercase().starts_with("SSOGATE_") => Err(format!(
                "`{raw}`: SSOGATE_* variables hold ssogate's own settings; use another name"
            )),
            Some(("env", v))
                if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                Ok(SecretSource::Env(v.to_owned()))
            }
            _ => Err(format!("`{raw}` must be file:/absolute/path or env:NAME")),
        }
    }

    /// A stored setting, under the rules it was accepted with (any file path, any variable
    /// name): a tenant saved before a rule tightened must still load.
    pub fn stored(raw: &str) -> Result<Self, String> {
        match raw.split_once(':') {
            Some(("file", p)) if !p.is_empty() => Ok(SecretSource::File(p.to_owned())),
            Some(("env", v)) if !v.is_empty() => Ok(SecretSource::Env(v.to_owned())),
            _ => Err(format!("`{raw}` is neither file:PATH nor env:NAME")),
        }
    }

    pub fn as_string(&self) -> String {
        match self {
            SecretSource::File(p) => format!("file:{p}"),
            SecretSource::Env(v) => format!("env:{v}"),
        }
    }
}

/// The IWMS field that identifies a person (`tenant.iwms_join_key`): before asking the IWMS
/// to create an account, ssogate asks it whether a person with this key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinKey {
    /// The IWMS ID the IdP attribute (`iwms_attribute`) or SCIM attribute
    /// (`scim_iwms_attribute`) delivered.
    IwmsId,
    /// The user's email.
    Email,
    /// SCIM's enterprise `employeeNumber`.
    EmployeeNumber,
    /// SCIM's `userName`; the email for a user SCIM never wrote.
    UserName,
}

pub const ALL_JOIN_KEYS: [JoinKey; 4] = [
    JoinKey::IwmsId,
    JoinKey::Email,
    JoinKey::EmployeeNumber,
    JoinKey::UserName,
];

impl JoinKey {
    pub fn as_str(self) -> &'static str {
        match self {
            JoinKey::IwmsId => "iwms_id",
            JoinKey::Email => "email",
            JoinKey::EmployeeNumber => "employee_number",
            JoinKey::UserName => "user_name",
        }
    }

    /// A stored or sent name; `none` (or blank) means no lookup.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let t = raw.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        ALL_JOIN_KEYS
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(t))
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "`{}` is not an IWMS join key; choose from {} or `none`",
                    t.chars().take(64).collect::<String>(),
                    ALL_JOIN_KEYS.map(JoinKey::as_str).join(", ")
                )
            })
    }

    /// The key's value for a user, if the user has one.
    pub fn value(self, u: &JoinFacts<'_>) -> Option<String> {
        let v = match self {
            JoinKey::IwmsId => u.iwms_id,
            JoinKey::Email => Some(u.email),
            JoinKey::EmployeeNumber => u.employee_number,
            JoinKey::UserName => u.user_name.or(Some(u.email)),
        };
        v.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }
}

impl fmt::Display for JoinKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a join key can be read from: the user's stored values.
#[derive(Debug, Clone, Copy)]
pub struct JoinFacts<'a> {
    pub email: &'a str,
    pub iwms_id: Option<&'a str>,
    pub employee_number: Option<&'a str>,
    pub user_name: Option<&'a str>,
}

/// An IWMS ID as the IWMS answers it: 1-256 printable characters (surrounding blanks
/// dropped).
pub fn parse_iwms_id(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty() && v.chars().count() <= 256 && !v.chars().any(char::is_control))
        .then(|| v.to_owned())
}

/// What the IWMS said to a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupAnswer {
    Found(String),
    NotFound,
}

/// Reads a lookup's answer: `2xx {"iwms_id": "…"}` is found, `404` is not found, anything
/// else is an error the lookup is retried after (its reason becomes the event's last error).
pub fn lookup_answer(status: u16, body: &[u8]) -> Result<LookupAnswer, String> {
    match status {
        404 => Ok(LookupAnswer::NotFound),
        200..=299 => serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("iwms_id")?.as_str().and_then(parse_iwms_id))
            .map(LookupAnswer::Found)
            .ok_or_else(|| {
                "the IWMS lookup answered without a usable `iwms_id` (1-256 printable characters)"
                    .to_owned()
            }),
        s => Err(format!("the IWMS lookup answered HTTP {s}")),
    }
}

/// A tenant's IWMS feed settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IwmsFeed {
    /// Create an IWMS account for new users without an IWMS ID (needs auto_create_users).
    pub auto_create: bool,
    pub endpoint: Option<String>,
    pub secret: Option<SecretSource>,
    pub events: Vec<EventKind>,
    /// Look a person up by this key before creating an account; None: create at once.
    pub join_key: Option<JoinKey>,
}

impl IwmsFeed {
    /// Whether a change of this kind is sent: the event is selected (user.created always is
    /// when accounts are created) and the feed is configured.
    pub fn sends(&self, e: EventKind) -> bool {
        self.endpoint.is_some()
            && self.secret.is_some()
            && (self.events.contains(&e) || (e == EventKind::Created && self.auto_create))
    }
}

/// `X-Ssogate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
/// The receiver recomputes it, compares in constant time and refuses stale timestamps.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut msg = timestamp.to_string().into_bytes();
    msg.push(b'.');
    msg.extend_from_slice(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(crate::hmac::sha256(secret, &msg))
    )
}

/// Seconds until the next try after `attempts` failures: exponential from `base`, capped at
/// `max`, with up to 50 % random jitter (`jitter` in 0..=1) so failed receivers are not hit
/// by every instance at once.
pub fn backoff_secs(attempts: u32, base: u64, max: u64, jitter: f64) -> u64 {
    let exp = base
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(30))
        .min(max)
        .max(1);
    let half = exp / 2;
    (exp - half + (half as f64 * jitter.clamp(0.0, 1.0)) as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_kinds_map_to_events() {
        use crate::domain::user_event::UserEvent;
        let of = |kind: &str| UserEvent::decode(kind, &serde_json::json!({})).iwms_event();
        assert_eq!(of("created"), Some(EventKind::Created));
        assert_eq!(of("deprovisioned"), Some(EventKind::Deactivated));
        assert_eq!(of("stale_cleared"), Some(EventKind::Unflagged));
        assert_eq!(of("identity_linked"), None);
        for e in ALL_EVENTS {
            assert_eq!(EventKind::parse(e.as_str()), Some(e));
        }
    }

    #[test]
    fn event_lists_and_secret_sources_parse_strictly() {
        assert_eq!(parse_events("all").unwrap().len(), 6);
        assert_eq!(
            parse_events("user.created, user.updated,user.created").unwrap(),
            vec![EventKind::Created, EventKind::Updated]
        );
        assert!(
            parse_events("user.deleted")
                .unwrap_err()
                .contains("not an event")
        );
        assert_eq!(
            SecretSource::parse("env:ACME_IWMS").unwrap(),
            SecretSource::Env("ACME_IWMS".into())
        );
        assert_eq!(
            SecretSource::parse("file:/etc/x").unwrap().as_string(),
            "file:/etc/x"
        );
        assert!(SecretSource::parse("env:A B").is_err());
        assert!(SecretSource::parse("/etc/x").is_err());
        assert!(SecretSource::parse("file:iwms.secret").is_err());
        assert_eq!(
            SecretSource::stored("file:iwms.secret").unwrap(),
            SecretSource::File("iwms.secret".into())
        );
        assert!(
            SecretSource::parse("env:ssogate_SESSION__SECRET")
                .unwrap_err()
                .contains("SSOGATE_")
        );
    }

    #[test]
    fn feed_sends_selected_events_and_created_when_creating_accounts() {
        let mut f = IwmsFeed {
            auto_create: true,
            endpoint: Some("https://iwms.test/hook".into()),
            secret: Some(SecretSource::Env("S".into())),
            events: vec![EventKind::Updated],
            join_key: None,
        };
        assert!(f.sends(EventKind::Created) && f.sends(EventKind::Updated));
        assert!(!f.sends(EventKind::Deactivated));
        f.endpoint = None;
        assert!(!f.sends(EventKind::Updated), "not configured");
    }

    #[test]
    fn join_keys_parse_and_read_the_users_values() {
        assert_eq!(JoinKey::parse("none").unwrap(), None);
        assert_eq!(JoinKey::parse(" ").unwrap(), None);
        assert_eq!(
            JoinKey::parse("Employee_Number").unwrap(),
            Some(JoinKey::EmployeeNumber)
        );
        assert!(JoinKey::parse("phone").unwrap_err().contains("user_name"));
        for k in ALL_JOIN_KEYS {
            assert_eq!(JoinKey::parse(k.as_str()).unwrap(), Some(k));
        }
        let u = JoinFacts {
            email: "ada@acme.test",
            iwms_id: None,
            employee_number: Some(" E7 "),
            user_name: None,
        };
        assert_eq!(JoinKey::Email.value(&u).as_deref(), Some("ada@acme.test"));
        assert_eq!(
            JoinKey::UserName.value(&u).as_deref(),
            Some("ada@acme.test")
        );
        assert_eq!(JoinKey::EmployeeNumber.value(&u).as_deref(), Some("E7"));
        assert_eq!(JoinKey::IwmsId.value(&u), None);
        let u = JoinFacts {
            user_name: Some("ada"),
            iwms_id: Some("W-1"),
            employee_number: Some(""),
            ..u
        };
        assert_eq!(JoinKey::UserName.value(&u).as_deref(), Some("ada"));
        assert_eq!(JoinKey::IwmsId.value(&u).as_deref(), Some("W-1"));
        assert_eq!(JoinKey::EmployeeNumber.value(&u), None);
    }

    #[test]
    fn lookup_answers_are_read_strictly() {
        assert_eq!(
            lookup_answer(200, br#"{"iwms_id": " W-9 "}"#),
            Ok(LookupAnswer::Found("W-9".into()))
        );
        assert_eq!(lookup_answer(404, b"<html>"), Ok(LookupAnswer::NotFound));
        assert!(lookup_answer(200, b"{}").unwrap_err().contains("usable"));
        assert!(lookup_answer(200, br#"{"iwms_id": 7}"#).is_err());
        assert!(lookup_answer(200, br#"{"iwms_id": "a\nb"}"#).is_err());
        assert!(lookup_answer(200, b"not json").is_err());
        assert!(lookup_answer(500, b"").unwrap_err().contains("HTTP 500"));
        assert!(lookup_answer(201, b"{}").is_err());
    }

    #[test]
    fn signature_is_hmac_over_timestamp_and_body() {
        let s = signature(b"secret", 1_700_000_000, b"{}");
        let expected = hex::encode(crate::hmac::sha256(b"secret", b"1700000000.{}"));
        assert_eq!(s, format!("t=1700000000,v1={expected}"));
    }

    #[test]
    fn backoff_grows_exponentially_with_bounded_jitter() {
        assert_eq!(backoff_secs(1, 2, 3600, 0.0), 1);
        assert_eq!(backoff_secs(1, 2, 3600, 1.0), 2);
        assert_eq!(backoff_secs(4, 2, 3600, 1.0), 16);
        assert_eq!(backoff_secs(4, 2, 3600, 0.0), 8);
        assert_eq!(backoff_secs(40, 2, 3600, 1.0), 3600);
        assert!(backoff_secs(40, 2, 3600, 0.0) >= 1800);
    }
}
