//! How refused sign-ins enter the history, so that no stranger grows it at will: every string
//! stored from a request is capped, and a refusal that nothing ties to a real sign-in is
//! counted (per connection, reason and hour) instead of stored as a row of its own.
use std::borrow::Cow;

/// The most characters of request-derived text one stored value keeps (marker included).
pub const STORED_TEXT_MAX: usize = 300;

/// Ends a value that was cut to [`STORED_TEXT_MAX`].
pub const CUT_MARK: &str = "…[cut]";

/// `s` as stored: at most [`STORED_TEXT_MAX`] characters (see [`cut_to`]), control
/// characters replaced by U+FFFD so that no stored value can steer a terminal that prints it
/// (`ssogate sign-ins`).
pub fn capped(s: &str) -> Cow<'_, str> {
    let s = cut_to(s, STORED_TEXT_MAX);
    if !s.chars().any(char::is_control) {
        return s;
    }
    Cow::Owned(
        s.chars()
            .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
            .collect(),
    )
}

/// `s` in at most `max` characters: unchanged when short enough, else its first characters
/// and [`CUT_MARK`].
pub fn cut_to(s: &str, max: usize) -> Cow<'_, str> {
    if s.char_indices().nth(max).is_none() {
        return Cow::Borrowed(s);
    }
    let keep = max.saturating_sub(CUT_MARK.chars().count());
    let end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
    Cow::Owned(format!("{}{CUT_MARK}", &s[..end]))
}

/// [`capped`] for optional values.
pub fn capped_opt(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(capped)
}

/// What a refused response proved about where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Evidence {
    /// A signature of the connection's IdP verified (SAML).
    pub signature_verified: bool,
    /// It is the first answer to a pending request of this connection: a SAML response whose
    /// InResponseTo names a request started in this very browser (its binding cookie came
    /// along; the request is marked, so later refusals of it are counted), or an OIDC callback
    /// whose `state` names one (which it uses up). Either way a row costs a sign-in start,
    /// and starts are bounded per client.
    pub answered_request: bool,
}

/// How a refusal is kept in the sign-in history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A row of its own, with detail, subject and email.
    Row,
    /// One more in the count of its connection, reason and hour (`hour` is the hour's first
    /// second, UTC): anyone can send such a request as often as they like, and each costs the
    /// history nothing.
    Counted { hour: i64 },
}

/// A refusal with nothing tying it to a real sign-in (no valid signature, not the first
/// answer to a pending request of this browser) is counted; every other one keeps its row.
pub fn entry_for(e: Evidence, now: i64) -> Entry {
    if e.signature_verified || e.answered_request {
        Entry::Row
    } else {
        Entry::Counted {
            hour: hour_start(now),
        }
    }
}

/// The first second of the UTC hour `t` falls in.
pub fn hour_start(t: i64) -> i64 {
    t - t.rem_euclid(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_kept_as_they_are() {
        let s = "x".repeat(STORED_TEXT_MAX);
        assert!(matches!(capped(&s), Cow::Borrowed(_)));
        assert_eq!(capped(""), "");
    }

    #[test]
    fn long_values_are_cut_and_marked_within_the_cap() {
        let s = "é".repeat(190 * 1024);
        let c = capped(&s);
        assert_eq!(c.chars().count(), STORED_TEXT_MAX);
        assert!(c.ends_with(CUT_MARK), "{c}");
        assert!(c.starts_with("éé"));
        let one_over = "y".repeat(STORED_TEXT_MAX + 1);
        assert_eq!(capped(&one_over).chars().count(), STORED_TEXT_MAX);
        assert_eq!(capped_opt(None), None);
    }

    #[test]
    fn control_characters_never_reach_storage() {
        assert_eq!(
            capped("a\x1b[2Jb\u{9b}c\nd"),
            "a\u{FFFD}[2Jb\u{FFFD}c\u{FFFD}d"
        );
    }

    #[test]
    fn only_refusals_tied_to_nothing_are_counted() {
        let now = 1_796_000_123;
        let counted = Entry::Counted {
            hour: 1_796_000_123 - 1_796_000_123 % 3600,
        };
        assert_eq!(entry_for(Evidence::default(), now), counted);
        for e in [
            Evidence {
                signature_verified: true,
                answered_request: false,
            },
            Evidence {
                signature_verified: false,
                answered_request: true,
            },
        ] {
            assert_eq!(entry_for(e, now), Entry::Row, "{e:?}");
        }
    }

    #[test]
    fn hours_start_on_the_hour() {
        assert_eq!(hour_start(7200), 7200);
        assert_eq!(hour_start(7199), 3600);
        assert_eq!(hour_start(-1), -3600);
    }
}
