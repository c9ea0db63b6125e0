//! Refreshes the gauges read from the database (`service::gauges`): the IWMS outbox, users per
//! tenant and view, SAML certificate expiry. Runs every `metrics.refresh_interval_secs`, and
//! only when the metrics listener is on.
use std::sync::Arc;

use super::JobContext;
use crate::metrics::Metrics;
use crate::service::gauges;
use crate::storage;

pub async fn run_once(ctx: &JobContext, metrics: &Arc<Metrics>) {
    let now = ctx.clock.unix();
    match storage::block(&ctx.pool, move |c| gauges::read(c, now)).await {
        Ok(g) => metrics.apply(&g),
        Err(e) => tracing::warn!(error = %e, "metrics refresh failed"),
    }
}
