//! The fake IWMS the feed tests deliver to: a real HTTP receiver that checks every signature,
//! records every delivery (arrival order, in-flight count per event), creates accounts once
//! per idempotency key, answers join-key lookups from its directory of people, and can fail,
//! stall or stop listening on demand.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::now;

pub const HOOK_PATH: &str = "/hooks/ssogate";
pub const LOOKUP_PATH: &str = "/hooks/ssogate/lookup";

/// How the receiver answers join-key lookups that pass the signature check.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum LookupMode {
    /// From the directory (`add_person`): 200 `{"iwms_id": …}`, or 404.
    #[default]
    Directory,
    /// 503, whatever the directory holds.
    Fail,
    /// As `Directory`, after the delay (unless the client gave up first).
    Slow(Duration),
    /// 200 without a usable `iwms_id`.
    Malformed,
    /// 200 with the person's ID and 100 KiB of padding.
    Oversized,
}

/// One signed lookup that reached the receiver.
#[derive(Clone, Debug)]
pub struct Lookup {
    pub event_id: String,
    pub user_id: i64,
    pub field: String,
    pub value: String,
    pub body: Value,
    /// The signature header as sent (tests verify it again with the tenant secret).
    pub signature: String,
    pub raw_body: Vec<u8>,
    pub status: u16,
}

/// How the receiver answers the deliveries that pass the signature check.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Mode {
    /// 200 at once (account creation: `{"iwms_id": ...}`).
    #[default]
    Ok,
    /// 500, nothing created.
    Fail,
    /// Creates the account (if asked) on arrival, then answers 200 after the delay unless the
    /// client gave up first.
    Slow(Duration),
    /// As `Ok`, with 100 KiB of padding in the answer.
    Oversized,
}

/// One signed request that reached the receiver.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Arrival order (shared counter with `answered`).
    seq: u64,
    pub event_id: String,
    pub kind: String,
    pub user_id: i64,
    pub key: String,
    pub create: bool,
    pub body: Value,
    /// What the receiver answered (or would have, had the client waited).
    pub status: u16,
    /// When the answer was written (same counter as `seq`); None: the client was gone.
    pub answered: Option<u64>,
}

impl Delivery {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status) && self.answered.is_some()
    }
    pub fn number(&self) -> i64 {
        evt_number(&self.event_id)
    }
}

fn evt_number(id: &str) -> i64 {
    id.strip_prefix("evt_")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("event id `{id}` is not evt_<n>"))
}

#[derive(Default)]
pub struct State {
    secret: Vec<u8>,
    mode: Mode,
    pub seq: u64,
    pub deliveries: Vec<Delivery>,
    /// Why requests were refused with 401.
    refused: Vec<String>,
    /// Protocol deviations (headers not matching the body, bad JSON, ...).
    pub problems: Vec<String>,
    in_flight: HashMap<String, usize>,
    max_in_flight: HashMap<String, usize>,
    pub total_in_flight: usize,
    pub max_total_in_flight: usize,
    /// Idempotency key -> the IWMS ID created for it.
    accounts: HashMap<String, String>,
    /// User id -> the IWMS accounts created for that user.
    accounts_of: HashMap<i64, Vec<String>>,
    lookup_mode: LookupMode,
    /// (field, value) -> the IWMS ID of a person the IWMS already knows.
    people: HashMap<(String, String), String>,
    pub lookups: Vec<Lookup>,
}

pub struct Receiver {
    state: Arc<Mutex<State>>,
    port: u16,
    accept: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Receiver {
    pub async fn start(secret: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = Receiver {
            state: Arc::new(Mutex::new(State {
                secret: secret.as_bytes().to_vec(),
                ..Default::default()
            })),
            port,
            accept: Mutex::new(None),
        };
        r.serve(listener);
        r
    }

    /// A receiver whose port is closed (connections are refused) until `resume`.
    pub async fn start_refusing(secret: &str) -> Self {
        let r = Self::start(secret).await;
        r.refuse().await;
        r
    }

    fn serve(&self, listener: TcpListener) {
        let state = self.state.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(handle(state.clone(), stream));
                }
            }
        });
        *self.accept.lock().unwrap() = Some(task);
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{HOOK_PATH}", self.port)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn set_lookup_mode(&self, mode: LookupMode) {
        self.state.lock().unwrap().lookup_mode = mode;
    }

    /// A person the IWMS knows: a lookup by `field` = `value` finds `iwms_id`.
    pub fn add_person(&self, field: &str, value: &str, iwms_id: &str) {
        self.state
            .lock()
            .unwrap()
            .people
            .insert((field.to_owned(), value.to_owned()), iwms_id.to_owned());
    }

    pub fn lookups(&self) -> Vec<Lookup> {
        self.with(|s| s.lookups.clone())
    }

    /// The deliveries that asked the IWMS to create an account.
    pub fn create_requests(&self) -> Vec<Delivery> {
        self.deliveries().into_iter().filter(|d| d.create).collect()
    }

    /// Stops listening: the port is closed and new connections are refused.
    pub async fn refuse(&self) {
        let task = self.accept.lock().unwrap().take();
        if let Some(t) = task {
            t.abort();
            let _ = t.await;
        }
        let refused = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err();
        assert!(refused, "the receiver's port should refuse connections now");
    }

    /// Listens again on the same port.
    pub async fn resume(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot listen on port {} again: {e}", self.port),
            }
        };
        self.serve(listener);
    }

    pub fn with<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.lock().unwrap())
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.with(|s| s.deliveries.clone())
    }

    /// The successful deliveries, in arrival order.
    pub fn delivered(&self) -> Vec<Delivery> {
        self.deliveries().into_iter().filter(Delivery::ok).collect()
    }

    pub fn of_user(&self, user: i64) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|d| d.user_id == user)
            .collect()
    }

    /// The event types delivered successfully to `user`, each event once, in arrival order.
    pub fn delivered_kinds(&self, user: i64) -> Vec<String> {
        let mut seen = Vec::new();
        let mut kinds = Vec::new();
        for d in self.delivered().into_iter().filter(|d| d.user_id == user) {
            if !seen.contains(&d.event_id) {
                seen.push(d.event_id.clone());
                kinds.push(d.kind.clone());
            }
        }
        kinds
    }

    pub fn accounts_of(&self, user: i64) -> Vec<String> {
        self.with(|s| s.accounts_of.get(&user).cloned().unwrap_or_default())
    }

    pub fn refused(&self) -> Vec<String> {
        self.with(|s| s.refused.clone())
    }

    /// No request broke the protocol, and none was refused for its signature.
    pub fn assert_clean(&self) {
        self.with(|s| {
            assert!(s.problems.is_empty(), "protocol problems: {:?}", s.problems);
            assert!(s.refused.is_empty(), "refused signatures: {:?}", s.refused);
        });
    }

    /// Never was one event in flight twice at once.
    pub fn assert_never_concurrent(&self) {
        self.with(|s| {
            let twice: Vec<_> = s.max_in_flight.iter().filter(|(_, n)| **n > 1).collect();
            assert!(
                twice.is_empty(),
                "events in flight twice at once: {twice:?}"
            );
        });
    }

    /// Per user, every arrival came after each earlier event of that user (lower id) had been
    /// answered with a 2xx: the order is never broken, even across retries and restarts.
    pub fn assert_in_order(&self) {
        let all = self.deliveries();
        for d in &all {
            for earlier in all
                .iter()
                .filter(|e| e.user_id == d.user_id && e.number() < d.number())
            {
                let done_before = all.iter().any(|x| {
                    x.event_id == earlier.event_id && x.ok() && x.answered.unwrap() < d.seq
                });
                assert!(
                    done_before,
                    "{} ({}) of user {} arrived (#{}) before {} ({}) was delivered: {}",
                    d.event_id,
                    d.kind,
                    d.user_id,
                    d.seq,
                    earlier.event_id,
                    earlier.kind,
                    summary(&all)
                );
            }
        }
    }
}

pub fn summary(ds: &[Delivery]) -> String {
    ds.iter()
        .map(|d| {
            format!(
                "#{} {} {} user {} -> {}{}",
                d.seq,
                d.event_id,
                d.kind,
                d.user_id,
                d.status,
                if d.answered.is_some() {
                    ""
                } else {
                    " (unanswered)"
                }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Keeps an event's in-flight count while its request is being answered.
struct InFlight {
    state: Arc<Mutex<State>>,
    event_id: String,
    index: usize,
}

impl InFlight {
    fn answered(&self) {
        let mut s = self.state.lock().unwrap();
        s.seq += 1;
        let seq = s.seq;
        s.deliveries[self.index].answered = Some(seq);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = s.in_flight.get_mut(&self.event_id) {
            *n -= 1;
        }
        s.total_in_flight -= 1;
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 request reader (Content-Length bodies, which is what reqwest sends).
async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?.to_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, path) = (
        request_line.next()?.to_owned(),
        request_line.next()?.to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Request {
        method,
        path,
        headers,
        body: buf[head_end..head_end + len].to_vec(),
    })
}

/// Checks `X-Ssogate-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` with an
/// HMAC of its own (OpenSSL), in constant time, refusing timestamps more than 300 s away.
fn verify_signature(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), String> {
    let header = header.ok_or("no X-Ssogate-Signature")?;
    let (mut t, mut v1) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(format!("malformed signature header `{header}`"));
    };
    if (now - t).abs() > 300 {
        return Err(format!("stale signature timestamp {t} (now {now})"));
    }
    let key = openssl::pkey::PKey::hmac(secret).unwrap();
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    signer.update(format!("{t}.").as_bytes()).unwrap();
    signer.update(body).unwrap();
    let mac = signer.sign_to_vec().unwrap();
    if mac.len() != v1.len() || !openssl::memcmp::eq(&mac, &v1) {
        return Err("signature mismatch".into());
    }
    Ok(())
}

async fn handle(state: Arc<Mutex<State>>, mut stream: TcpStream) {
    let Some(req) = read_request(&mut stream).await else {
        return;
    };
    let (status, answer, delay, guard) = {
        let mut s = state.lock().unwrap();
        match verify_signature(
            &s.secret,
            req.header("x-ssogate-signature"),
            &req.body,
            now(),
        ) {
            Err(why) => {
                s.refused.push(why.clone());
                (401, json!({"error": why}), None, None)
            }
            Ok(()) if req.path == LOOKUP_PATH => {
                let (status, answer, delay) = lookup(&mut s, &req);
                (status, answer, delay, None)
            }
            Ok(()) => {
                let (status, answer, delay, index, event_id) = record(&mut s, &req);
                *s.in_flight.entry(event_id.clone()).or_default() += 1;
                let n = s.in_flight[&event_id];
                let max = s.max_in_flight.entry(event_id.clone()).or_default();
                *max = (*max).max(n);
                s.total_in_flight += 1;
                s.max_total_in_flight = s.max_total_in_flight.max(s.total_in_flight);
                let guard = InFlight {
                    state: state.clone(),
                    event_id,
                    index,
                };
                (status, answer, delay, Some(guard))
            }
        }
    };
    if let Some(d) = delay {
        let mut probe = [0u8; 1];
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            // The client gave up (timeout, or its process died): no answer reaches it.
            _ = stream.read(&mut probe) => return,
        }
    }
    let body = answer.to_string();
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(response.as_bytes()).await.is_ok() && stream.flush().await.is_ok() {
        if let Some(g) = &guard {
            g.answered();
        }
        let _ = stream.shutdown().await;
    }
    drop(guard);
}

/// Records a signed lookup and answers it from the directory (or as the mode says).
fn lookup(s: &mut State, req: &Request) -> (u16, Value, Option<Duration>) {
    let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let text = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (event_id, field, value) = (text("/event_id"), text("/key/field"), text("/key/value"));
    let mut problems = Vec::new();
    if req.method != "POST" {
        problems.push(format!("lookup with {}", req.method));
    }
    if !req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        problems.push(format!("content-type {:?}", req.header("content-type")));
    }
    if text("/type") != "user.lookup" || req.header("x-ssogate-event") != Some("user.lookup") {
        problems.push(format!(
            "lookup type {:?} / X-Ssogate-Event {:?}",
            v["type"],
            req.header("x-ssogate-event")
        ));
    }
    if req.header("x-ssogate-event-id") != Some(event_id.as_str()) || !event_id.starts_with("evt_")
    {
        problems.push(format!(
            "lookup X-Ssogate-Event-Id {:?} vs {event_id:?}",
            req.header("x-ssogate-event-id")
        ));
    }
    if field.is_empty() || value.is_empty() || v["user_id"].as_i64().is_none() {
        problems.push(format!("lookup without key or user_id: {v}"));
    }
    if !problems.is_empty() {
        s.problems
            .push(format!("lookup {event_id}: {}", problems.join(", ")));
    }
    let found = s.people.get(&(field.clone(), value.clone())).cloned();
    let from_directory = || match &found {
        Some(id) => (200, json!({"iwms_id": id})),
        None => (404, json!({"error": "no such person"})),
    };
    let (status, answer, delay) = match s.lookup_mode {
        LookupMode::Directory => {
            let (st, a) = from_directory();
            (st, a, None)
        }
        LookupMode::Fail => (503, json!({"error": "IWMS unavailable"}), None),
        LookupMode::Slow(d) => {
            let (st, a) = from_directory();
            (st, a, Some(d))
        }
        LookupMode::Malformed => (200, json!({"person": {"id": 7}}), None),
        LookupMode::Oversized => (
            200,
            json!({"iwms_id": found.unwrap_or_else(|| "X".into()), "padding": "x".repeat(100 * 1024)}),
            None,
        ),
    };
    s.lookups.push(Lookup {
        event_id,
        user_id: v["user_id"].as_i64().unwrap_or(0),
        field,
        value,
        signature: req
            .header("x-ssogate-signature")
            .unwrap_or_default()
            .to_owned(),
        raw_body: req.body.clone(),
        body: v,
        status,
    });
    (status, answer, delay)
}

/// Records a signed delivery and decides the answer.
fn record(s: &mut State, req: &Request) -> (u16, Value, Option<Duration>, usize, String) {
    let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let text = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (event_id, kind, key) = (text("/id"), text("/type"), text("/idempotency_key"));
    let user_id = v.pointer("/data/user/id").and_then(Value::as_i64);
    let create = v["create_iwms_account"].as_bool();
    let mut problems = Vec::new();
    if req.method != "POST" || req.path != HOOK_PATH {
        problems.push(format!("{} {}", req.method, req.path));
    }
    if !req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        problems.push(format!("content-type {:?}", req.header("content-type")));
    }
    if v.is_null() {
        problems.push("body is not JSON".into());
    }
    if req.header("idempotency-key") != Some(key.as_str()) || key.is_empty() {
        problems.push(format!(
            "Idempotency-Key {:?} vs body {key:?}",
            req.header("idempotency-key")
        ));
    }
    if req.header("x-ssogate-event") != Some(kind.as_str()) {
        problems.push(format!(
            "X-Ssogate-Event {:?} vs {kind:?}",
            req.header("x-ssogate-event")
        ));
    }
    if req.header("x-ssogate-event-id") != Some(event_id.as_str()) || !event_id.starts_with("evt_")
    {
        problems.push(format!(
            "X-Ssogate-Event-Id {:?} vs {event_id:?}",
            req.header("x-ssogate-event-id")
        ));
    }
    if time::OffsetDateTime::parse(
        &text("/occurred_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .is_err()
    {
        problems.push(format!("occurred_at {:?}", v["occurred_at"]));
    }
    if create.is_none() || user_id.is_none() {
        problems.push(format!("no create_iwms_account or data.user.id in {v}"));
    }
    if !problems.is_empty() {
        s.problems
            .push(format!("{event_id}: {}", problems.join(", ")));
    }
    let (user_id, create) = (user_id.unwrap_or(0), create.unwrap_or(false));
    let (status, answer, delay) = match s.mode {
        Mode::Fail => (500, json!({"error": "IWMS unavailable"}), None),
        mode => {
            let answer = if create {
                let id = match s.accounts.get(&key) {
                    Some(id) => id.clone(),
                    None => {
                        let id = format!("IWMS-{}", s.accounts.len() + 1);
                        s.accounts.insert(key.clone(), id.clone());
                        s.accounts_of.entry(user_id).or_default().push(id.clone());
                        // A lookup by email finds the person from now on.
                        if let Some(email) = v.pointer("/data/user/email").and_then(Value::as_str) {
                            s.people
                                .insert(("email".to_owned(), email.to_owned()), id.clone());
                        }
                        id
                    }
                };
                if mode == Mode::Oversized {
                    json!({"iwms_id": id, "padding": "x".repeat(100 * 1024)})
                } else {
                    json!({"iwms_id": id})
                }
            } else {
                json!({"received": true})
            };
            let delay = match mode {
                Mode::Slow(d) => Some(d),
                _ => None,
            };
            (200, answer, delay)
        }
    };
    s.seq += 1;
    s.deliveries.push(Delivery {
        seq: s.seq,
        event_id: event_id.clone(),
        kind,
        user_id,
        key,
        create,
        body: v,
        status,
        answered: None,
    });
    (status, answer, delay, s.deliveries.len() - 1, event_id)
}
