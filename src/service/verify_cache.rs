//! `/auth/verify` answers from memory what it read from the database less than
//! `session.verify_cache_ms` ago (at most a second), so a proxy's check of every request does
//! not cost a query each. The bound is the promise: a sign-out, deactivation or SCIM
//! `active=false` made through another instance (or the CLI) ends the session here within it.
//! Writes through this instance end cached answers at once ([`VerifyCache::invalidate`]).
//! Time is the injected clock's, so tests move it instead of sleeping.
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::storage::roles::Manager;
use crate::storage::sessions::SessionUser;

/// A session's user and, when the tenant forwards it, their manager.
pub type Verified = Arc<(SessionUser, Option<Manager>)>;

/// Entries are only made for live sessions, so this bounds memory against many sessions
/// rather than against strangers; when full, everything is dropped and read again.
const MAX_ENTRIES: usize = 100_000;

/// Only entries stored since the last invalidation are in the map: `invalidate` empties it
/// under the same lock `put` checks the epoch under.
struct Entry {
    read_at_ms: i128,
    value: Verified,
}

pub struct VerifyCache {
    ttl_ms: i128,
    /// Bumped by every invalidation: a lookup that started before a write may not store what
    /// it read after that write committed.
    epoch: AtomicU64,
    entries: Mutex<HashMap<String, Entry>>,
    /// The lookups under way, one per session: requests that miss together wait for one
    /// database read instead of each making their own (every `verify_cache_ms`, all of a
    /// proxy's connections miss on a busy session at once).
    flights: Mutex<HashMap<String, Arc<Flight>>>,
}

/// One lookup of a session, shared by the requests that missed while it ran. Only requests
/// of the epoch it started in join it: one that arrives after an invalidation reads anew.
pub struct Flight {
    epoch: u64,
    answer: tokio::sync::OnceCell<Option<Verified>>,
}

impl Flight {
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The lookup's answer: `lookup` runs in one of the requests that share the flight (in
    /// another if that request goes away first, or fails), the others wait for it.
    pub async fn answer<E, F>(&self, lookup: impl FnOnce() -> F) -> Result<Option<Verified>, E>
    where
        F: Future<Output = Result<Option<Verified>, E>>,
    {
        self.answer.get_or_try_init(lookup).await.cloned()
    }
}

/// A request's part in a flight: the last to leave, or any once the flight is done, takes it
/// off the map, so that neither finished nor abandoned lookups stay in memory.
pub struct Joined<'a> {
    cache: &'a VerifyCache,
    key: String,
    pub flight: Arc<Flight>,
}

impl Drop for Joined<'_> {
    fn drop(&mut self) {
        let mut flights = self.cache.flights();
        if flights
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
            && (self.flight.answer.initialized() || Arc::strong_count(&self.flight) <= 2)
        {
            flights.remove(&self.key);
        }
    }
}

impl VerifyCache {
    pub fn new(ttl_ms: u64) -> Self {
        Self {
            ttl_ms: i128::from(ttl_ms),
            epoch: AtomicU64::new(0),
            entries: Mutex::default(),
            flights: Mutex::default(),
        }
    }

    /// The lookup of `key` under way in the current epoch, joined, or a new one. With more
    /// than `MAX_ENTRIES` sessions being looked up at once, a new lookup is not shared.
    pub fn join(&self, key: &str) -> Joined<'_> {
        let epoch = self.epoch();
        let mut flights = self.flights();
        let flight = match flights.get(key) {
            Some(f) if f.epoch == epoch => f.clone(),
            _ => {
                let f = Arc::new(Flight {
                    epoch,
                    answer: tokio::sync::OnceCell::new(),
                });
                if flights.len() < MAX_ENTRIES || flights.contains_key(key) {
                    flights.insert(key.to_owned(), f.clone());
                }
                f
            }
        };
        Joined {
            cache: self,
            key: key.to_owned(),
            flight,
        }
    }

    fn flights(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Flight>>> {
        self.flights.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn enabled(&self) -> bool {
        self.ttl_ms > 0
    }

    /// Where a lookup starts: pass it to [`VerifyCache::put`] with what the lookup read.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The answer read for `key` (the session token's HMAC) less than the bound ago, of a
    /// session that has not expired since. A clock that went backwards counts as expired.
    pub fn get(&self, key: &str, now: time::OffsetDateTime) -> Option<Verified> {
        if !self.enabled() {
            return None;
        }
        let entries = self.lock();
        let e = entries.get(key)?;
        let age = unix_ms(now) - e.read_at_ms;
        let fresh = (0..self.ttl_ms).contains(&age);
        (fresh && e.value.0.expires_at > now.unix_timestamp()).then(|| e.value.clone())
    }

    /// Keeps what a lookup that started at `epoch` and `read_at` found, unless something was
    /// invalidated meanwhile.
    pub fn put(&self, key: String, epoch: u64, read_at: time::OffsetDateTime, value: Verified) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.lock();
        if self.epoch() != epoch {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                read_at_ms: unix_ms(read_at),
                value,
            },
        );
    }

    /// Something that may end or change a session was written through this instance: no
    /// cached answer is used again, nor stored by a lookup already under way.
    pub fn invalidate(&self) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.clear();
        drop(entries);
        // Requests already in a flight keep it; new ones start their own.
        self.flights().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves a map that is still valid.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn unix_ms(t: time::OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(expires_at: i64) -> Verified {
        Arc::new((
            SessionUser {
                expires_at,
                ..SessionUser::default()
            },
            None,
        ))
    }

    fn at(ms: i64) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap()
    }

    const T0: i64 = 1_800_000_000_000;

    #[test]
    fn an_answer_lives_less_than_the_bound() {
        let c = VerifyCache::new(500);
        c.put("k".into(), c.epoch(), at(T0), user(T0 / 1000 + 60));
        assert!(c.get("k", at(T0)).is_some());
        assert!(c.get("k", at(T0 + 499)).is_some());
        assert!(c.get("k", at(T0 + 500)).is_none());
        assert!(c.get("k", at(T0 - 1)).is_none(), "clock went backwards");
        assert!(c.get("other", at(T0)).is_none());
    }

    #[test]
    fn an_expired_session_is_not_answered() {
        let c = VerifyCache::new(1000);
        c.put("k".into(), c.epoch(), at(T0), user(T0 / 1000));
        assert!(c.get("k", at(T0)).is_none());
    }

    #[test]
    fn invalidation_drops_answers_and_lookups_under_way() {
        let c = VerifyCache::new(1000);
        c.put("k".into(), c.epoch(), at(T0), user(T0 / 1000 + 60));
        let started = c.epoch();
        c.invalidate();
        assert!(c.get("k", at(T0)).is_none());
        c.put("k".into(), started, at(T0), user(T0 / 1000 + 60));
        assert!(c.get("k", at(T0)).is_none(), "read before the write");
        c.put("k".into(), c.epoch(), at(T0), user(T0 / 1000 + 60));
        assert!(c.get("k", at(T0)).is_some());
    }

    #[tokio::test]
    async fn requests_that_miss_together_share_one_lookup() {
        let c = VerifyCache::new(500);
        let (a, b) = (c.join("k"), c.join("k"));
        assert!(Arc::ptr_eq(&a.flight, &b.flight));
        let lookups = std::sync::atomic::AtomicUsize::new(0);
        let lookup = || async {
            lookups.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Some(user(T0 / 1000 + 60)))
        };
        let (x, y) = tokio::join!(a.flight.answer(lookup), b.flight.answer(lookup));
        assert!(x.unwrap().is_some() && y.unwrap().is_some());
        assert_eq!(lookups.load(Ordering::SeqCst), 1);
        drop((a, b));
        assert!(c.flights().is_empty(), "a finished flight is not kept");
    }

    #[tokio::test]
    async fn a_request_after_an_invalidation_does_not_join_an_earlier_lookup() {
        let c = VerifyCache::new(500);
        let before = c.join("k");
        c.invalidate();
        let after = c.join("k");
        assert!(!Arc::ptr_eq(&before.flight, &after.flight));
        assert_eq!(after.flight.epoch(), c.epoch());
    }

    #[test]
    fn an_abandoned_lookup_is_not_kept() {
        let c = VerifyCache::new(500);
        let (a, b) = (c.join("k"), c.join("k"));
        drop(a);
        assert_eq!(c.flights().len(), 1, "b still waits on it");
        drop(b);
        assert!(c.flights().is_empty());
    }

    #[test]
    fn zero_turns_it_off() {
        let c = VerifyCache::new(0);
        c.put("k".into(), c.epoch(), at(T0), user(T0 / 1000 + 60));
        assert!(c.get("k", at(T0)).is_none());
    }
}
