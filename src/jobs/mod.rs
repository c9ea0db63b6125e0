//! Periodic in-process work. Each run is a short database transaction, so several
//! instances may run these concurrently without harm (flagging is guarded per row).
use std::time::Duration;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::JobSettings;
use crate::service::outbox::Deliverer;
use crate::service::{maintenance, stale};
use crate::storage::{self, DbPool};

/// What the jobs need: the database and the clock, nothing of the HTTP layer.
#[derive(Clone)]
pub struct JobContext {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub retention: maintenance::Retention,
}

/// Delivers the IWMS outbox (see `Deliverer::run`).
pub fn spawn_outbox(deliverer: Deliverer) {
    tokio::spawn(std::sync::Arc::new(deliverer).run());
}

pub fn spawn(ctx: JobContext, settings: &JobSettings) {
    let s = ctx.clone();
    tokio::spawn(every(
        Duration::from_secs(settings.stale_check_interval_secs.max(1)),
        move || {
            let s = s.clone();
            async move {
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
        },
    ));
    let s = ctx;
    tokio::spawn(every(
        Duration::from_secs(settings.cleanup_interval_secs.max(1)),
        move || {
            let s = s.clone();
            async move {
                let (now, keep) = (s.clock.unix(), s.retention);
                match storage::block(&s.pool, move |c| maintenance::purge_expired(c, now, keep))
                    .await
                {
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
        },
    ));
}

async fn every<F, Fut>(period: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        f().await;
    }
}
