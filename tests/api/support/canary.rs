//! A local listener that counts connections and drops them at once (so a fetching verifier
//! fails fast instead of hanging the test). Validation must never connect anywhere.
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

pub struct Canary {
    pub url: String,
    listener: Arc<TcpListener>,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

/// Takes every connection waiting in the listener's queue; how many it took.
fn drain(listener: &TcpListener, hits: &AtomicUsize) -> usize {
    let mut taken = 0;
    while let Ok((stream, _)) = listener.accept() {
        hits.fetch_add(1, Ordering::SeqCst);
        drop(stream);
        taken += 1;
    }
    taken
}

impl Canary {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (listener, hits, stop) = (
            Arc::new(listener),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (l, h, s) = (listener.clone(), hits.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                if drain(&l, &h) == 0 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        });
        Canary {
            url,
            listener,
            hits,
            stop,
        }
    }

    /// Connections so far. No waiting needed: a fetch made while the ACS request was served
    /// completed its handshake before the response came back, so it was either taken by the
    /// listening thread or is still in the queue, which this takes too.
    pub fn hits(&self) -> usize {
        drain(&self.listener, &self.hits);
        self.hits.load(Ordering::SeqCst)
    }

    pub fn assert_untouched(&self, case: &str) {
        assert_eq!(
            self.hits(),
            0,
            "{case}: the gateway connected to the canary {}",
            self.url
        );
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
