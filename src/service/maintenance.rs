//! Housekeeping of expiring rows; users are never touched here.
use crate::storage::{DbConnection, StorageError, admin, oidc, pending, replay, sessions};

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Purged {
    pub pending_requests: usize,
    pub pending_oidc_requests: usize,
    pub used_assertions: usize,
    pub sessions: usize,
    pub admin_sessions: usize,
    pub bootstrap_links: usize,
}

pub fn purge_expired(conn: &mut DbConnection, now: i64) -> Result<Purged, StorageError> {
    Ok(Purged {
        pending_requests: pending::purge_expired(conn, now)?,
        pending_oidc_requests: oidc::purge_expired(conn, now)?,
        used_assertions: replay::purge_expired(conn, now)?,
        sessions: sessions::purge_expired(conn, now)?,
        admin_sessions: admin::purge_expired_sessions(conn, now)?,
        bootstrap_links: admin::purge_expired_bootstrap_links(conn, now)?,
    })
}
