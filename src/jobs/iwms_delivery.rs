//! The IWMS delivery worker: keeps deliveries of the outbox in flight and claims more as they
//! end. What to send, how, and when to retry is `service::outbox::Deliverer`'s; this is only
//! the loop. Several instances may run one each.
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::ids::TenantId;
use crate::service::outbox::{Deliverer, Feed};
use crate::storage::StorageError;

/// The worker's deliveries in flight, and how many each tenant has.
#[derive(Default)]
struct Flights {
    tasks: tokio::task::JoinSet<()>,
    tenant_of: HashMap<tokio::task::Id, i64>,
    per_tenant: HashMap<i64, usize>,
}

impl Flights {
    fn of(&self, tenant: i64) -> usize {
        self.per_tenant.get(&tenant).copied().unwrap_or(0)
    }

    /// Tenants with `share` or more deliveries in flight.
    fn full(&self, share: usize) -> Vec<i64> {
        self.per_tenant
            .iter()
            .filter(|(_, n)| **n >= share)
            .map(|(t, _)| *t)
            .collect()
    }

    fn started(&mut self, task: tokio::task::Id, tenant: i64) {
        self.tenant_of.insert(task, tenant);
        *self.per_tenant.entry(tenant).or_default() += 1;
    }

    /// A delivery ended, or panicked (its lease then runs out and the event is retried).
    fn ended(&mut self, done: Option<Result<(tokio::task::Id, ()), tokio::task::JoinError>>) {
        let task = match done {
            Some(Ok((task, ()))) => task,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "an IWMS delivery task failed");
                e.id()
            }
            None => return,
        };
        if let Some(t) = self.tenant_of.remove(&task)
            && let Some(n) = self.per_tenant.get_mut(&t)
        {
            *n -= 1;
            if *n == 0 {
                self.per_tenant.remove(&t);
            }
        }
    }
}

/// The worker: keeps up to `batch_size` deliveries in flight, at most
/// `tenant_concurrency` of them for one tenant, and claims again as each one ends, so a
/// slow or unreachable endpoint holds back only its own tenant's events.
pub async fn run(d: Arc<Deliverer>) {
    let idle = Duration::from_millis(d.settings.poll_interval_ms);
    let mut flights = Flights::default();
    loop {
        if let Err(e) = fill(&d, &mut flights).await {
            tracing::warn!(error = %e, "IWMS outbox claim failed");
        }
        if flights.tasks.is_empty() {
            tokio::time::sleep(idle).await;
            continue;
        }
        // A delivery ending frees a slot; new events may also arrive for the free ones.
        tokio::select! {
            done = flights.tasks.join_next_with_id() => flights.ended(done),
            () = tokio::time::sleep(idle) => {}
        }
        while let Some(done) = flights.tasks.try_join_next_with_id() {
            flights.ended(Some(done));
        }
    }
}

/// Claims into the free slots, oldest events first, leaving out tenants that have their
/// share in flight; what a claim takes past a tenant's share is given back at once.
async fn fill(d: &Arc<Deliverer>, flights: &mut Flights) -> Result<(), StorageError> {
    let slots = usize::try_from(d.settings.batch_size).unwrap_or(1);
    let free = slots.saturating_sub(flights.tasks.len());
    if free == 0 {
        return Ok(());
    }
    let share = d.settings.tenant_concurrency;
    let full = flights.full(share);
    let (lease, claimed) = d.claim(free, full).await?;
    let mut taken: HashMap<i64, usize> = HashMap::new();
    let (mut keep, mut extra) = (Vec::new(), Vec::new());
    for e in claimed {
        let n = taken.entry(e.tenant_id).or_default();
        if flights.of(e.tenant_id) + *n < share {
            *n += 1;
            keep.push(e);
        } else {
            extra.push(e.id);
        }
    }
    if !extra.is_empty() {
        d.give_back(extra, &lease).await;
    }
    // Each tenant's endpoint and secret are read once per claim.
    let mut feeds: HashMap<i64, Result<Feed, String>> = HashMap::new();
    for e in keep {
        let tenant = e.tenant_id;
        let feed = match feeds.entry(tenant) {
            Entry::Occupied(o) => o.get().clone(),
            Entry::Vacant(v) => v.insert(d.feed(TenantId(tenant)).await).clone(),
        };
        let (me, lease) = (Arc::clone(d), lease.clone());
        let task = flights
            .tasks
            .spawn(async move { me.deliver(e, feed, &lease).await });
        flights.started(task.id(), tenant);
    }
    Ok(())
}
