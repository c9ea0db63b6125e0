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

/// A tenant's IWMS feed settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IwmsFeed {
    /// Create an IWMS account for new users without an IWMS ID (needs auto_create_users).
    pub auto_create: bool,
    pub endpoint: Option<String>,
    pub secret: Option<SecretSource>,
    pub events: Vec<EventKind>,
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
        };
        assert!(f.sends(EventKind::Created) && f.sends(EventKind::Updated));
        assert!(!f.sends(EventKind::Deactivated));
        f.endpoint = None;
        assert!(!f.sends(EventKind::Updated), "not configured");
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
