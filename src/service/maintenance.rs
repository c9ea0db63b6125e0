//! Housekeeping of expiring rows; users are never touched here.
use crate::storage::{DbConnection, StorageError, admin, oidc, outbox, pending, replay, sessions};

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Purged {
    pub pending_requests: usize,
    pub pending_oidc_requests: usize,
    pub used_assertions: usize,
    pub sessions: usize,
    pub admin_sessions: usize,
    pub bootstrap_links: usize,
    pub delivered_outbox_events: usize,
}

/// How long delivered IWMS events are kept; None keeps them forever. Pending and dead events
/// are never purged.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub delivered_outbox_secs: Option<i64>,
}

/// Delivered events go in batches of this many, each its own statement, so a large backlog
/// never holds one long write lock.
const OUTBOX_PURGE_BATCH: i64 = 5_000;

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
            Some(secs) => purge_delivered(conn, now - secs)?,
            None => 0,
        },
    })
}

fn purge_delivered(conn: &mut DbConnection, cutoff: i64) -> Result<usize, StorageError> {
    let mut total = 0;
    loop {
        let n = outbox::purge_delivered(conn, cutoff, OUTBOX_PURGE_BATCH)?;
        total += n;
        if (n as i64) < OUTBOX_PURGE_BATCH {
            return Ok(total);
        }
    }
}
