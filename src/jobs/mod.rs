//! Periodic in-process work. Each run is a short database transaction, so several
//! instances may run these concurrently without harm (flagging is guarded per row).
use std::time::Duration;

use actix_web::web;

use crate::http::AppState;
use crate::service::{maintenance, stale};
use crate::storage;

pub fn spawn(state: web::Data<AppState>) {
    let s = state.clone();
    tokio::spawn(every(
        Duration::from_secs(s.settings.jobs.stale_check_interval_secs.max(1)),
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
    let s = state;
    tokio::spawn(every(
        Duration::from_secs(s.settings.jobs.cleanup_interval_secs.max(1)),
        move || {
            let s = s.clone();
            async move {
                let now = s.clock.unix();
                if let Err(e) =
                    storage::block(&s.pool, move |c| maintenance::purge_expired(c, now)).await
                {
                    tracing::warn!(error = %e, "purging expired rows failed");
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
