//! Housekeeping of expiring rows; users are never touched here.
use crate::config::Settings;
use crate::storage::{
    DbConnection, StorageError, admin, login_attempts, oidc, outbox, pending, refusal_counts,
    replay, sessions,
};

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Purged {
    pub pending_requests: usize,
    pub pending_oidc_requests: usize,
    pub used_assertions: usize,
    pub sessions: usize,
    pub admin_sessions: usize,
    pub bootstrap_links: usize,
    pub delivered_outbox_events: usize,
    pub sign_in_attempts: usize,
    pub refusal_counts: usize,
}

/// How long rows are kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Delivered IWMS events; None keeps them forever. Pending and dead events are never
    /// purged.
    pub delivered_outbox_secs: Option<i64>,
    /// Sign-in attempts and counted refusals (the sign-in history).
    pub sign_ins_secs: i64,
}

impl Retention {
    /// What the cleanup job keeps, and for how long (`iwms.delivered_retention_days`,
    /// `sign_ins.retention_days`).
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            delivered_outbox_secs: (s.iwms.delivered_retention_days > 0)
                .then(|| i64::from(s.iwms.delivered_retention_days) * 86_400),
            sign_ins_secs: i64::from(s.sign_ins.retention_days) * 86_400,
        }
    }
}

/// Old rows go in batches of this many, each its own statement, so a large backlog never
/// holds one long write lock.
const PURGE_BATCH: i64 = 5_000;

pub fn purge_expired(
    conn: &mut DbConnection,
    now: i64,
    keep: Retention,
) -> Result<Purged, StorageError> {
    Ok(Purged {
        pending_requests: pending::purge_expired(conn, now)?,
        pending_oidc_requests: oidc::purge_expired(conn, now)?,
        used_assertions: replay::purge_expired(conn, now)?,
        sessions: sessions::purge_expired(conn, now)?,
        admin_sessions: admin::purge_expired_sessions(conn, now)?,
        bootstrap_links: admin::purge_expired_bootstrap_links(conn, now)?,
        delivered_outbox_events: match keep.delivered_outbox_secs {
            Some(secs) => in_batches(|b| outbox::purge_delivered(conn, now - secs, b))?,
            None => 0,
        },
        sign_in_attempts: in_batches(|b| {
            login_attempts::purge_before(conn, now - keep.sign_ins_secs, b)
        })?,
        refusal_counts: in_batches(|b| {
            refusal_counts::purge_before(conn, now - keep.sign_ins_secs, b)
        })?,
    })
}

/// Runs `purge` (which deletes up to its argument's number of rows) until a batch comes back
/// short; returns the total.
fn in_batches(
    mut purge: impl FnMut(i64) -> Result<usize, StorageError>,
) -> Result<usize, StorageError> {
    let mut total = 0;
    loop {
        let n = purge(PURGE_BATCH)?;
        total += n;
        if (n as i64) < PURGE_BATCH {
            return Ok(total);
        }
    }
}
