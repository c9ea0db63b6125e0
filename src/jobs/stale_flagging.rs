//! Flags the accounts of every tenant that have not signed in for the tenant's
//! `stale_after_days` (`jobs.stale_check_interval_secs`).
use super::JobContext;
use crate::service::stale;
use crate::storage;

pub async fn run_once(s: &JobContext) {
    let now = s.clock.unix();
    match storage::block(&s.pool, move |c| stale::flag_all(c, now)).await {
        Ok(r) => {
            let n: usize = r.iter().map(|t| t.flagged).sum();
            if n > 0 {
                tracing::info!(flagged = n, "flagged stale accounts");
            }
        }
        Err(e) => tracing::warn!(error = %e, "stale flagging failed"),
    }
}
