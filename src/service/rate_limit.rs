//! Built-in rate limits (governor's GCRA token buckets, in memory, per instance).
//!
//! Who is counted where (docs/security-model.md "Rate limits"):
//! - browser sign-in routes: per (tenant, client address), and per tenant for all clients
//!   together. A client over its own limit is refused before the tenant's bucket is touched, so
//!   one client cannot drain its tenant's share, and no bucket is shared between tenants, so a
//!   flood at one tenant cannot refuse another tenant's sign-ins. Requests that name no tenant
//!   (the email form, unknown tenants) are counted per client only.
//! - SCIM and the admin API: per bearer token, once the token is accepted; requests whose
//!   token is refused per client address.
//!
//! Time comes from the app's [`Clock`], so tests move it instead of sleeping.
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::config::RateLimitSettings;
use crate::domain::client::network;

/// A request over a limit: how long until one would be allowed, in whole seconds (at least 1),
/// for `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after_secs: u64,
}

/// The app's clock as governor's time source: nanoseconds since the Unix epoch.
#[derive(Clone)]
struct AppClock(Arc<dyn Clock>);

impl governor::clock::Clock for AppClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(u64::try_from(self.0.now().unix_timestamp_nanos()).unwrap_or(0))
    }
}

type Keyed<K> = RateLimiter<K, DashMapStateStore<K>, AppClock, NoOpMiddleware<Nanos>>;

/// The client part of a key. IPv6 clients are counted per /64, the block one subscriber
/// usually holds: otherwise one host could take a fresh bucket per address.
/// (`domain::client::network`, the same key the bound on sign-ins in progress uses.)
pub fn client_key(addr: Option<IpAddr>) -> IpAddr {
    addr.map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), network)
}

/// A token is never kept as it was sent: its SHA-256 is the key.
fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Keys are dropped once their bucket is full again, at most this often.
const SWEEP_EVERY_SECS: i64 = 10;

struct Limiters {
    clock: AppClock,
    app_clock: Arc<dyn Clock>,
    sign_in_client: Keyed<(Option<String>, IpAddr)>,
    sign_in_tenant: Keyed<String>,
    refused_token: Keyed<IpAddr>,
    scim_token: Keyed<[u8; 32]>,
    api_token: Keyed<[u8; 32]>,
    last_sweep: AtomicI64,
}

/// The instance's rate limiters; with `rate_limit.enabled = false` every check passes.
pub struct RateLimits(Option<Limiters>);

fn quota(per_minute: u32, burst: u32) -> Quota {
    let per_minute = u64::from(per_minute.max(1));
    let period = Duration::from_nanos((60_000_000_000 / per_minute).max(1));
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl RateLimits {
    pub fn new(settings: &RateLimitSettings, clock: Arc<dyn Clock>) -> Self {
        if !settings.enabled {
            return Self(None);
        }
        let c = AppClock(clock.clone());
        let s = settings;
        let client = quota(s.client_per_minute, s.client_burst);
        Self(Some(Limiters {
            sign_in_client: RateLimiter::dashmap_with_clock(client, c.clone()),
            sign_in_tenant: RateLimiter::dashmap_with_clock(
                quota(s.tenant_per_minute, s.tenant_burst),
                c.clone(),
            ),
            refused_token: RateLimiter::dashmap_with_clock(client, c.clone()),
            scim_token: RateLimiter::dashmap_with_clock(
                quota(s.scim_token_per_minute, s.scim_token_burst),
                c.clone(),
            ),
            api_token: RateLimiter::dashmap_with_clock(
                quota(s.api_token_per_minute, s.api_token_burst),
                c.clone(),
            ),
            last_sweep: AtomicI64::new(clock.unix()),
            clock: c,
            app_clock: clock,
        }))
    }

    pub fn disabled() -> Self {
        Self(None)
    }

    /// A request on a browser sign-in route (start, ACS, OIDC callback, console sign-in) from
    /// `client`, for `tenant` (its slug) when the request names one that exists.
    pub fn sign_in(&self, tenant: Option<&str>, client: Option<IpAddr>) -> Result<(), Limited> {
        let Some(l) = &self.0 else { return Ok(()) };
        l.sweep();
        let key = (tenant.map(str::to_owned), client_key(client));
        l.check(&l.sign_in_client, &key)?;
        match tenant {
            Some(t) => l.check(&l.sign_in_tenant, &t.to_owned()),
            None => Ok(()),
        }
    }

    /// A SCIM request whose bearer token was accepted.
    pub fn scim_token(&self, token: &str) -> Result<(), Limited> {
        let Some(l) = &self.0 else { return Ok(()) };
        l.sweep();
        l.check(&l.scim_token, &token_key(token))
    }

    /// An admin API request whose bearer token was accepted.
    pub fn api_token(&self, token: &str) -> Result<(), Limited> {
        let Some(l) = &self.0 else { return Ok(()) };
        l.sweep();
        l.check(&l.api_token, &token_key(token))
    }

    /// A SCIM or API request whose token was missing or refused, from `client`.
    pub fn refused_token(&self, client: Option<IpAddr>) -> Result<(), Limited> {
        let Some(l) = &self.0 else { return Ok(()) };
        l.sweep();
        l.check(&l.refused_token, &client_key(client))
    }

    /// Keys held in memory (all limiters); for tests and diagnostics.
    pub fn tracked_keys(&self) -> usize {
        self.0.as_ref().map_or(0, |l| {
            l.sign_in_client.len()
                + l.sign_in_tenant.len()
                + l.refused_token.len()
                + l.scim_token.len()
                + l.api_token.len()
        })
    }
}

impl Limiters {
    fn check<K: Hash + Eq + Clone>(&self, limiter: &Keyed<K>, key: &K) -> Result<(), Limited> {
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            // Whole seconds, rounded up: a client that waits that long is let in.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Limited {
                retry_after_secs: secs.max(1),
            }
        })
    }

    /// Forgets keys whose bucket is full again (they behave like new ones), so memory follows
    /// the clients of the last seconds, not every client ever seen.
    fn sweep(&self) {
        let now = self.app_clock.unix();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now - last < SWEEP_EVERY_SECS
            || self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        fn tidy<K: Hash + Eq + Clone>(l: &Keyed<K>) {
            l.retain_recent();
            l.shrink_to_fit();
        }
        tidy(&self.sign_in_client);
        tidy(&self.sign_in_tenant);
        tidy(&self.refused_token);
        tidy(&self.scim_token);
        tidy(&self.api_token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    fn settings() -> RateLimitSettings {
        RateLimitSettings {
            client_per_minute: 60,
            client_burst: 2,
            tenant_per_minute: 60,
            tenant_burst: 3,
            scim_token_per_minute: 60,
            scim_token_burst: 2,
            api_token_per_minute: 60,
            api_token_burst: 2,
            ..RateLimitSettings::default()
        }
    }

    fn limits() -> (RateLimits, Arc<FixedClock>) {
        let clock = Arc::new(FixedClock::at_unix(1_800_000_000));
        (RateLimits::new(&settings(), clock.clone()), clock)
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_client_gets_its_burst_then_waits_for_the_refill() {
        let (l, clock) = limits();
        let a = ip("198.51.100.1");
        assert!(l.sign_in(Some("acme"), a).is_ok());
        assert!(l.sign_in(Some("acme"), a).is_ok());
        assert_eq!(
            l.sign_in(Some("acme"), a),
            Err(Limited {
                retry_after_secs: 1
            })
        );
        clock.advance(time::Duration::seconds(1));
        assert!(l.sign_in(Some("acme"), a).is_ok());
        assert!(l.sign_in(Some("acme"), a).is_err());
    }

    #[test]
    fn tenants_and_clients_have_their_own_buckets() {
        let (l, _) = limits();
        let a = ip("198.51.100.1");
        for _ in 0..2 {
            assert!(l.sign_in(Some("acme"), a).is_ok());
        }
        assert!(l.sign_in(Some("acme"), a).is_err());
        assert!(l.sign_in(Some("globex"), a).is_ok(), "another tenant");
        assert!(l.sign_in(None, a).is_ok(), "no tenant");
        // acme's bucket for all clients holds 3; the refused client used 2 of it.
        assert!(l.sign_in(Some("acme"), ip("198.51.100.2")).is_ok());
        assert!(l.sign_in(Some("acme"), ip("198.51.100.3")).is_err());
        assert!(l.sign_in(Some("globex"), ip("198.51.100.3")).is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa::1")),
            client_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            client_key(ip("2001:db8:1:2::1")),
            client_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            client_key(ip("::ffff:192.0.2.1")),
            client_key(ip("192.0.2.1"))
        );
    }

    #[test]
    fn tokens_and_refused_tokens() {
        let (l, _) = limits();
        for _ in 0..2 {
            assert!(l.scim_token("t1").is_ok());
            assert!(l.api_token("t1").is_ok());
        }
        assert!(l.scim_token("t1").is_err());
        assert!(l.api_token("t1").is_err());
        assert!(l.scim_token("t2").is_ok());
        let a = ip("198.51.100.1");
        assert!(l.refused_token(a).is_ok());
        assert!(l.refused_token(a).is_ok());
        assert!(l.refused_token(a).is_err());
        assert!(l.sign_in(None, a).is_ok(), "a separate bucket");
    }

    #[test]
    fn retry_after_is_rounded_up_from_the_refill() {
        let clock = Arc::new(FixedClock::at_unix(1_800_000_000));
        let s = RateLimitSettings {
            client_per_minute: 1,
            client_burst: 1,
            ..settings()
        };
        let l = RateLimits::new(&s, clock.clone());
        assert!(l.sign_in(None, ip("192.0.2.1")).is_ok());
        assert_eq!(
            l.sign_in(None, ip("192.0.2.1"))
                .unwrap_err()
                .retry_after_secs,
            60
        );
        clock.advance(time::Duration::milliseconds(30_500));
        assert_eq!(
            l.sign_in(None, ip("192.0.2.1"))
                .unwrap_err()
                .retry_after_secs,
            30
        );
    }

    #[test]
    fn idle_keys_are_forgotten() {
        let (l, clock) = limits();
        for i in 0..50 {
            let _ = l.sign_in(Some("acme"), ip(&format!("198.51.100.{i}")));
        }
        assert!(l.tracked_keys() >= 50);
        clock.advance(time::Duration::seconds(SWEEP_EVERY_SECS + 60));
        let _ = l.sign_in(None, ip("192.0.2.1"));
        assert!(l.tracked_keys() <= 2, "{}", l.tracked_keys());
    }

    #[test]
    fn disabled_limits_pass_everything() {
        let s = RateLimitSettings {
            enabled: false,
            ..settings()
        };
        let l = RateLimits::new(&s, Arc::new(FixedClock::at_unix(0)));
        for _ in 0..100 {
            assert!(l.sign_in(Some("acme"), ip("192.0.2.1")).is_ok());
            assert!(l.scim_token("t").is_ok());
        }
    }
}
