//! The clock every test app runs on. Tests move it instead of sleeping.
use std::sync::Mutex;

use ssogate::clock::Clock;
use time::{Duration, OffsetDateTime};

/// Real time moved on by what the test advanced (the default: an app that is never moved
/// behaves exactly as on the system clock), or a frozen instant that moves only when
/// the test says so (rate limits, retention: nothing may depend on how fast the test ran).
#[derive(Debug)]
pub struct TestClock {
    frozen: Option<OffsetDateTime>,
    ahead: Mutex<Duration>,
}

impl TestClock {
    pub fn real() -> Self {
        TestClock {
            frozen: None,
            ahead: Mutex::new(Duration::ZERO),
        }
    }

    pub fn frozen_at(unix: i64) -> Self {
        TestClock {
            frozen: Some(OffsetDateTime::from_unix_timestamp(unix).expect("a valid instant")),
            ahead: Mutex::new(Duration::ZERO),
        }
    }

    pub fn advance(&self, secs: i64) {
        *self.ahead.lock().unwrap() += Duration::seconds(secs);
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        let base = self.frozen.unwrap_or_else(OffsetDateTime::now_utc);
        base + *self.ahead.lock().unwrap()
    }
}
