//! Purges expired rows and history past its retention (`jobs.cleanup_interval_secs`).
use super::JobContext;
use crate::service::maintenance;
use crate::storage;

pub async fn run_once(s: &JobContext) {
    let (now, keep) = (s.clock.unix(), s.retention);
    match storage::block(&s.pool, move |c| maintenance::purge_expired(c, now, keep)).await {
        Ok(p) => {
            if p.delivered_outbox_events > 0 {
                tracing::info!(
                    purged = p.delivered_outbox_events,
                    "purged delivered IWMS events past their retention"
                );
            }
            if p.sign_in_attempts + p.refusal_counts > 0 {
                tracing::info!(
                    attempts = p.sign_in_attempts,
                    counts = p.refusal_counts,
                    "purged sign-in history past its retention"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
    }
}
