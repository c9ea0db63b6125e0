//! Accounts that stop signing in are flagged, never deleted.

const DAY: i64 = 86_400;

/// Last sign-in, or creation for someone who never signed in.
pub fn last_activity(last_login_at: Option<i64>, created_at: i64) -> i64 {
    last_login_at.unwrap_or(created_at)
}

/// Activity strictly before this instant makes an account stale.
pub fn cutoff(now: i64, stale_after_days: u32) -> i64 {
    now - i64::from(stale_after_days) * DAY
}

pub fn is_stale(
    last_login_at: Option<i64>,
    created_at: i64,
    stale_after_days: u32,
    now: i64,
) -> bool {
    last_activity(last_login_at, created_at) < cutoff(now, stale_after_days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, FixedClock};

    #[test]
    fn never_signed_in_counts_from_creation() {
        let clock = FixedClock::at_unix(1_000 * DAY);
        let created = clock.unix();
        clock.advance(time::Duration::days(90));
        assert!(
            !is_stale(None, created, 90, clock.unix()),
            "exactly 90 days is not yet stale"
        );
        clock.advance(time::Duration::seconds(1));
        assert!(is_stale(None, created, 90, clock.unix()));
    }

    #[test]
    fn a_recent_sign_in_keeps_an_old_account_fresh() {
        let now = 2_000 * DAY;
        assert!(!is_stale(Some(now - 10 * DAY), now - 500 * DAY, 90, now));
        assert!(is_stale(Some(now - 91 * DAY), now - 500 * DAY, 90, now));
    }
}
