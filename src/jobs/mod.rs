//! Background work, one file per job. Each periodic run is a short database transaction, so
//! several instances may run these concurrently without harm (flagging is guarded per row);
//! the IWMS delivery worker leases what it sends.
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::JobSettings;
use crate::service::maintenance;
use crate::service::outbox::Deliverer;
use crate::storage::DbPool;

pub mod cleanup;
pub mod iwms_delivery;
pub mod metrics_refresh;
pub mod stale_flagging;

/// What the jobs need: the database and the clock, nothing of the HTTP layer.
#[derive(Clone)]
pub struct JobContext {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub retention: maintenance::Retention,
}

/// Delivers the IWMS outbox (see `iwms_delivery::run`).
pub fn spawn_outbox(deliverer: Deliverer) {
    tokio::spawn(iwms_delivery::run(Arc::new(deliverer)));
}

pub fn spawn(ctx: JobContext, settings: &JobSettings) {
    let s = ctx.clone();
    tokio::spawn(every(
        Duration::from_secs(settings.stale_check_interval_secs.max(1)),
        move || {
            let s = s.clone();
            async move { stale_flagging::run_once(&s).await }
        },
    ));
    let s = ctx;
    tokio::spawn(every(
        Duration::from_secs(settings.cleanup_interval_secs.max(1)),
        move || {
            let s = s.clone();
            async move { cleanup::run_once(&s).await }
        },
    ));
}

/// Refreshes the metrics' database gauges every `period` (see `metrics_refresh`).
pub fn spawn_metrics_refresh(
    ctx: JobContext,
    metrics: Arc<crate::metrics::Metrics>,
    period: Duration,
) {
    tokio::spawn(every(period.max(Duration::from_secs(1)), move || {
        let (s, m) = (ctx.clone(), metrics.clone());
        async move { metrics_refresh::run_once(&s, &m).await }
    }));
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
