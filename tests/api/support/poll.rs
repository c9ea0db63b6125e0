//! Waiting for something outside the test's control (a worker, a child process, a socket)
//! by polling it briefly, never by a fixed sleep.
use std::time::{Duration, Instant};

/// How often a condition is checked.
const EVERY: Duration = Duration::from_millis(25);

/// Polls `f` until it returns Ok, for at most `secs`; panics with its last complaint.
pub async fn eventually<T>(secs: u64, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match f() {
            Ok(v) => return v,
            Err(why) if Instant::now() >= deadline => {
                panic!("still not true after {secs} s: {why}")
            }
            Err(_) => tokio::time::sleep(EVERY).await,
        }
    }
}
