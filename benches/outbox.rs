//! IWMS outbox throughput: events delivered per second from a backlog to a local receiver,
//! with per-event latency percentiles, by one and by two `Deliverer`s sharing the database.
//!
//! ```text
//! cargo bench --bench outbox                           # SQLite file in a tempdir
//! TEST_DB=postgres cargo bench --bench outbox  # throwaway DB on postgres://postgres@127.0.0.1:5432
//! BENCH_OUTBOX_EVENTS=20000 BENCH_OUTBOX_USERS=2000 BENCH_OUTBOX_BATCH=64 \
//!     BENCH_OUTBOX_WORKERS=1,2 cargo bench --bench outbox
//! BENCH_OUTBOX_KEEP=1 cargo bench --bench outbox      # keep the databases, to EXPLAIN queries on them
//! ```
//!
//! For each worker count, a fresh database gets one tenant whose IWMS feed (every event, IWMS
//! accounts created) points at an in-process receiver, then `BENCH_OUTBOX_EVENTS` events over
//! `BENCH_OUTBOX_USERS` users, written as the server writes them: `users::insert` +
//! `outbox::record("created")` for a user's first event, then attribute updates,
//! deactivations and reactivations, each applied and recorded in the same transaction
//! (`storage::transaction`, `SEED_BATCH` changes each), the users' changes interleaved in a
//! fixed pseudo-random order. Seeding (and, on PostgreSQL, the `VACUUM ANALYZE` autovacuum
//! would run after it) is untimed and reported apart.
//!
//! The workers are `ssogate::service::outbox::Deliverer`s, each with its own pool (as separate
//! instances would have), calling `round()` in a loop (sleeping `BENCH_OUTBOX_IDLE_MS` after a
//! round that found nothing) until every event has arrived. The app's HTTP server is not
//! started: it would run a delivery worker of its own. The receiver (actix-web, 2 workers, on
//! 127.0.0.1) checks each request's signature, answers 200 (with an `iwms_id` for account
//! creations) and notes when each event arrived. All events are due when the drain starts, so
//! an event's latency is its first arrival minus the drain's start: a backlog's queueing
//! delay, not a single delivery's round trip (the round times show that).
//!
//! Every statement the deliverers send is counted (diesel's default instrumentation), to show
//! queries per event. The deliverers, the receiver and the database share the machine (and,
//! but for PostgreSQL, this process), so the numbers are a floor.
mod common;

use common::{Db, Rng, analyze, env_usize, now, percentile};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use diesel::RunQueryDsl;
use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use diesel::prelude::*;
use serde_json::{Value, json};
use ssogate::clock::SystemClock;
use ssogate::config::{IwmsSettings, LogSettings, Settings};
use ssogate::domain::email::EmailAddress;
use ssogate::domain::ids::UserId;
use ssogate::domain::provisioning::{Change, Field, NewUser};
use ssogate::domain::tenant::Tenant;
use ssogate::domain::user::{CreatedVia, UserStatus};
use ssogate::domain::user_event::{Actor, UserEvent};
use ssogate::service::admin::{self, TenantInput};
use ssogate::service::outbox::{self, Deliverer};
use ssogate::storage::schema::{outbox_events, users};
use ssogate::storage::{self, DbConnection, DbPool, StorageError, users::scim as scim_users};

const TENANT: &str = "acme";
/// Changes per seeding transaction.
const SEED_BATCH: usize = 1000;
/// The receiver refuses signatures older (or newer) than this.
const SIGNATURE_TOLERANCE_SECS: i64 = 300;

const GIVEN: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Radia",
];
const FAMILY: [&str; 8] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Perlman",
];

/// A comma-separated list of worker counts, e.g. `1,2`.
fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| panic!("{name} must be positive integers, not `{v}`"))
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

// ---------------------------------------------------------------------------------------------
// Counting the statements sent to the database (every connection opened after `main` starts).

static COUNTING: AtomicBool = AtomicBool::new(false);
/// Per statement kind: how many, and the time from sending to the result.
static QUERIES: Mutex<BTreeMap<String, (u64, Duration)>> = Mutex::new(BTreeMap::new());

/// Stops formatting a query after its first `limit` bytes (the binds come after the SQL).
struct Prefix {
    s: String,
    limit: usize,
}

impl std::fmt::Write for Prefix {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.limit.saturating_sub(self.s.len());
        if s.len() > room {
            let mut end = room;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.s.push_str(&s[..end]);
            return Err(std::fmt::Error);
        }
        self.s.push_str(s);
        Ok(())
    }
}

/// `SELECT tenants`, `UPDATE outbox_events (claim)`, `BEGIN`…: the statement and its first
/// table.
fn classify(sql: &str) -> String {
    let sql = sql.replace(['"', '`'], "");
    let sql = sql.split(" -- binds:").next().unwrap_or("").trim();
    let lower = sql.to_ascii_lowercase();
    let verb = lower
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    let after = |kw: &str| {
        lower.find(kw).map(|i| {
            lower[i + kw.len()..]
                .trim_start()
                .split(|c: char| c.is_whitespace() || c == '(' || c == '.' || c == ',')
                .next()
                .unwrap_or("")
                .to_owned()
        })
    };
    let table = match verb.as_str() {
        "SELECT" => after(" from "),
        "INSERT" => after("insert into "),
        "UPDATE" => after("update "),
        "DELETE" => after("delete from "),
        _ => None,
    };
    match table {
        Some(t) if verb == "UPDATE" && lower.contains("set lease_owner") => {
            format!("UPDATE {t} (claim)")
        }
        Some(t) if verb == "UPDATE" && t == "outbox_events" => format!("UPDATE {t} (finish)"),
        Some(t) => format!("{verb} {t}"),
        // `SELECT 1`: r2d2 checks every connection it hands out.
        None if verb == "SELECT" => format!("{sql} (pool check-out)"),
        None => verb,
    }
}

fn instrumentation() -> Option<Box<dyn Instrumentation>> {
    // One per connection: a connection runs one statement at a time.
    let mut running: Option<(String, Instant)> = None;
    Some(Box::new(move |event: InstrumentationEvent<'_>| {
        if !COUNTING.load(Ordering::Relaxed) {
            running = None;
            return;
        }
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                let mut p = Prefix {
                    s: String::new(),
                    limit: 1000,
                };
                let _ = write!(p, "{query}");
                running = Some((classify(&p.s), Instant::now()));
            }
            InstrumentationEvent::FinishQuery { .. } => {
                if let Some((key, t0)) = running.take() {
                    let mut q = QUERIES.lock().unwrap_or_else(|e| e.into_inner());
                    let e = q.entry(key).or_default();
                    e.0 += 1;
                    e.1 += t0.elapsed();
                }
            }
            _ => {}
        }
    }))
}

fn start_counting() {
    QUERIES.lock().unwrap_or_else(|e| e.into_inner()).clear();
    COUNTING.store(true, Ordering::Relaxed);
}

fn stop_counting() -> BTreeMap<String, (u64, Duration)> {
    COUNTING.store(false, Ordering::Relaxed);
    std::mem::take(&mut *QUERIES.lock().unwrap_or_else(|e| e.into_inner()))
}

// ---------------------------------------------------------------------------------------------
// Database.

/// Creates the schema as the server does on start.
fn open(db_url: &str, pool_size: u32) -> DbPool {
    let mut s = Settings::default();
    s.database.url = db_url.to_owned();
    s.database.pool_size = pool_size;
    ssogate::startup::open_database(&s).expect("database opens and migrates")
}

// ---------------------------------------------------------------------------------------------
// Seeding: the users and their changes, through the service and storage functions.

fn email(u: usize) -> EmailAddress {
    EmailAddress::parse(&format!("user{u}@acme.test")).expect("generated email is valid")
}

/// Change `j` of user `u` (0 creates it), applied and recorded as the server does it.
fn change(
    c: &mut DbConnection,
    tenant: &Tenant,
    u: usize,
    j: usize,
    id: Option<UserId>,
    t: i64,
) -> Result<UserId, StorageError> {
    let Some(id) = id else {
        let user = storage::users::insert(
            c,
            tenant.id,
            &NewUser {
                email: email(u),
                first_name: Some(GIVEN[u % GIVEN.len()].to_owned()),
                last_name: Some(FAMILY[u % FAMILY.len()].to_owned()),
                iwms_id: None,
            },
            CreatedVia::Sso,
            t,
        )?;
        outbox::record(
            c,
            tenant,
            user.id,
            &UserEvent::Created {
                by: Actor::Sso,
                connection: Some("okta".into()),
                user_name: None,
                email: Some(user.email.to_string()),
                first_name: user.first_name.clone(),
                last_name: user.last_name.clone(),
                iwms_id: user.iwms_id.clone(),
                active: None,
            },
            t,
        )?;
        return Ok(user.id);
    };
    match j % 4 {
        2 => {
            scim_users::set_status(c, tenant.id, id, UserStatus::Deactivated, t)?;
            outbox::record(
                c,
                tenant,
                id,
                &UserEvent::Deactivated {
                    by: Actor::Scim,
                    sessions_ended: None,
                },
                t,
            )?;
        }
        3 => {
            scim_users::set_status(c, tenant.id, id, UserStatus::Active, t)?;
            outbox::record(
                c,
                tenant,
                id,
                &UserEvent::Reactivated { by: Actor::Scim },
                t,
            )?;
        }
        k => {
            let user = storage::users::get(c, tenant.id, id)?;
            let (mut first, mut last) = (user.first_name.clone(), user.last_name.clone());
            let ch = if k == 1 {
                first = Some(format!("{}{j}", GIVEN[(u + j) % GIVEN.len()]));
                Change {
                    field: Field::FirstName,
                    old: user.first_name.clone(),
                    new: first.clone(),
                }
            } else {
                last = Some(format!("{}{j}", FAMILY[(u + j) % FAMILY.len()]));
                Change {
                    field: Field::LastName,
                    old: user.last_name.clone(),
                    new: last.clone(),
                }
            };
            storage::users::update_attributes(
                c,
                tenant.id,
                id,
                &storage::users::AttributeUpdate {
                    first_name: &first,
                    last_name: &last,
                    iwms_id: &user.iwms_id,
                },
                t,
            )?;
            outbox::record(
                c,
                tenant,
                id,
                &UserEvent::AttributesUpdated {
                    by: Actor::Sso,
                    changes: vec![ch.recorded()],
                    sessions_ended: None,
                },
                t,
            )?;
        }
    }
    Ok(id)
}

/// `events` changes over `users` users (every user gets `events / users`, the first
/// `events % users` one more), in a fixed shuffled order, `SEED_BATCH` per transaction.
fn seed(pool: &DbPool, tenant: &Tenant, events: usize, users: usize) {
    let mut order: Vec<u32> = (0..users)
        .flat_map(|u| {
            std::iter::repeat_n(u as u32, events / users + usize::from(u < events % users))
        })
        .collect();
    let mut rng = Rng(0x0b07_b0c5_5eed_0001);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut seen = vec![0usize; users];
    let plan: Vec<(usize, usize)> = order
        .into_iter()
        .map(|u| {
            let u = u as usize;
            seen[u] += 1;
            (u, seen[u] - 1)
        })
        .collect();
    let mut ids: Vec<Option<UserId>> = vec![None; users];
    let mut c = pool.get().expect("db connection");
    for (b, chunk) in plan.chunks(SEED_BATCH).enumerate() {
        let t = now();
        let created = storage::transaction(&mut c, |c| {
            let mut touched: HashMap<usize, UserId> = HashMap::new();
            for &(u, j) in chunk {
                let id = change(c, tenant, u, j, ids[u].or(touched.get(&u).copied()), t)?;
                touched.insert(u, id);
            }
            Ok(touched)
        })
        .expect("seed batch");
        for (u, id) in created {
            ids[u] = Some(id);
        }
        if b == 0 {
            // PostgreSQL: first statistics, as autovacuum would take them, so that the cached
            // plans of the seeding statements fit a table that is no longer empty.
            analyze(&mut c, "ANALYZE users, outbox_events, user_events");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The receiver: checks the signature, notes the arrival, answers as an IWMS would.

struct Arrival {
    id: i64,
    user: i64,
    at: Instant,
}

#[derive(Default)]
struct Received {
    arrivals: Vec<Arrival>,
    rejected: Vec<String>,
}

struct Receiver {
    secret: Vec<u8>,
    received: Mutex<Received>,
    /// Distinct event ids accepted so far.
    seen: Mutex<std::collections::HashSet<i64>>,
    unique: AtomicUsize,
}

impl Receiver {
    fn new(secret: Vec<u8>) -> Self {
        Receiver {
            secret,
            received: Mutex::default(),
            seen: Mutex::default(),
            unique: AtomicUsize::new(0),
        }
    }

    /// The event's id, its user and whether it asks for an IWMS account, if the request is
    /// genuine: a fresh signature over the exact body, and headers matching the body.
    fn check(&self, req: &HttpRequest, body: &[u8]) -> Result<(i64, i64, bool), String> {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| format!("no {name} header"))
        };
        let sig = header("x-ssogate-signature")?;
        let (mut t, mut v1) = (None, None);
        for part in sig.split(',') {
            match part.split_once('=') {
                Some(("t", v)) => t = v.parse::<i64>().ok(),
                Some(("v1", v)) => v1 = hex::decode(v).ok(),
                _ => {}
            }
        }
        let (Some(t), Some(v1)) = (t, v1) else {
            return Err(format!("malformed signature header `{sig}`"));
        };
        if (now() - t).abs() > SIGNATURE_TOLERANCE_SECS {
            return Err(format!("stale signature timestamp {t}"));
        }
        let mut signed = format!("{t}.").into_bytes();
        signed.extend_from_slice(body);
        let expected = ssogate::hmac::sha256(&self.secret, &signed);
        if v1.len() != expected.len()
            || v1
                .iter()
                .zip(expected.iter())
                .fold(0u8, |d, (a, b)| d | (a ^ b))
                != 0
        {
            return Err("bad signature".into());
        }
        let v: Value = serde_json::from_slice(body).map_err(|e| format!("body: {e}"))?;
        let eid = v["id"].as_str().unwrap_or_default();
        if header("x-ssogate-event-id")? != eid
            || header("idempotency-key")? != v["idempotency_key"].as_str().unwrap_or_default()
            || header("x-ssogate-event")? != v["type"].as_str().unwrap_or_default()
        {
            return Err(format!("headers do not match the body of {eid}"));
        }
        let id = eid
            .strip_prefix("evt_")
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| format!("bad event id `{eid}`"))?;
        let user = v["data"]["user"]["id"]
            .as_i64()
            .ok_or_else(|| format!("{eid} has no data.user.id"))?;
        let create = v["create_iwms_account"].as_bool().unwrap_or(false);
        Ok((id, user, create))
    }
}

async fn hook(req: HttpRequest, body: web::Bytes, rx: web::Data<Receiver>) -> HttpResponse {
    let at = Instant::now();
    match rx.check(&req, &body) {
        Ok((id, user, create)) => {
            rx.received
                .lock()
                .unwrap()
                .arrivals
                .push(Arrival { id, user, at });
            if rx.seen.lock().unwrap().insert(id) {
                rx.unique.fetch_add(1, Ordering::Relaxed);
            }
            if create {
                HttpResponse::Ok().json(json!({ "iwms_id": format!("iwms-{user}") }))
            } else {
                HttpResponse::Ok().finish()
            }
        }
        Err(why) => {
            rx.received.lock().unwrap().rejected.push(why.clone());
            HttpResponse::Unauthorized().body(why)
        }
    }
}

/// Starts the receiver; returns its URL and a handle to stop it.
fn start_receiver(rx: Arc<Receiver>) -> (String, actix_web::dev::ServerHandle) {
    let data = web::Data::from(rx);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/iwms/events", web::post().to(hook))
    })
    .workers(2)
    .bind(("127.0.0.1", 0))
    .expect("receiver binds");
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/iwms/events"), handle)
}

// ---------------------------------------------------------------------------------------------
// One drain.

/// The production worker (`jobs::iwms_delivery::run`) until every event has arrived and been marked
/// delivered, or the deadline.
async fn work(d: Deliverer, rx: Arc<Receiver>, n: usize, deadline: Instant) {
    let pool = d.pool.clone();
    let worker = tokio::spawn(ssogate::jobs::iwms_delivery::run(Arc::new(d)));
    while rx.unique.load(Ordering::Relaxed) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The last deliveries' finishing writes, not counted in the arrival latencies.
    while Instant::now() < deadline {
        let open = storage::block(&pool, |c| {
            outbox_events::table
                .filter(outbox_events::status.ne("delivered"))
                .count()
                .get_result::<i64>(c)
                .map_err(storage::StorageError::from)
        })
        .await
        .unwrap_or(0);
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    worker.abort();
}

struct Run {
    backend: &'static str,
    workers: usize,
    events: usize,
    delivered: usize,
    rate: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    duplicates: usize,
    order_violations: usize,
    seed_secs: f64,
    errors: usize,
}

struct Config {
    events: usize,
    users: usize,
    batch: i64,
    pool_size: u32,
    idle: Duration,
    timeout: Duration,
    keep: bool,
}

async fn run_one(cfg: &Config, workers: usize, dir: &std::path::Path) -> Run {
    let db = Db::fresh(dir, &format!("outbox-{workers}w"));
    let pool = open(db.url(), 2);

    let secret_path = dir.join(format!("iwms-{workers}w.secret"));
    let secret = hex::encode(ssogate::random::bytes::<32>());
    std::fs::write(&secret_path, format!("{secret}\n")).expect("write the signing secret");
    let rx = Arc::new(Receiver::new(secret.into_bytes()));
    let (endpoint, receiver) = start_receiver(rx.clone());

    let tenant = admin::create_tenant(
        &mut pool.get().expect("db connection"),
        TENANT,
        &TenantInput {
            auto_create_users: Some(true),
            auto_create_iwms: Some(true),
            iwms_endpoint: Some(Some(endpoint)),
            iwms_secret: Some(Some(format!("file:{}", secret_path.display()))),
            iwms_events: Some("all".into()),
            ..Default::default()
        },
        &ssogate::domain::audit::Actor::Cli,
        now(),
    )
    .expect("create tenant");

    // Untimed: the users and their changes.
    let t0 = Instant::now();
    let (pool2, tenant2, events, users) = (pool.clone(), tenant.clone(), cfg.events, cfg.users);
    tokio::task::spawn_blocking(move || seed(&pool2, &tenant2, events, users))
        .await
        .expect("seeding");
    let seeded = t0.elapsed();
    let t1 = Instant::now();
    analyze(
        &mut pool.get().expect("db connection"),
        "VACUUM ANALYZE users, outbox_events, user_events",
    );
    let analyzed = t1.elapsed();
    let seed_secs = t0.elapsed().as_secs_f64();

    // The events as written: per user, in id order.
    let rows: Vec<(i64, i64)> = outbox_events::table
        .select((outbox_events::id, outbox_events::user_id))
        .order(outbox_events::id.asc())
        .load(&mut pool.get().expect("db connection"))
        .expect("list the outbox");
    let n = rows.len();
    let mut expected: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, user) in &rows {
        expected.entry(*user).or_default().push(*id);
    }
    println!();
    println!("Outbox drain ({}, {workers} worker(s))", db.backend());
    println!(
        "  seeded       {n} events over {} users in {:.1}s ({SEED_BATCH} changes per transaction; {:.0} events/s){} (untimed)",
        expected.len(),
        seeded.as_secs_f64(),
        n as f64 / seeded.as_secs_f64(),
        if db.backend() == "postgres" {
            format!(", VACUUM ANALYZE {:.1}s", analyzed.as_secs_f64())
        } else {
            String::new()
        }
    );

    // Timed: the workers drain the backlog.
    let deliverers: Vec<Deliverer> = (0..workers)
        .map(|_| {
            let wpool = storage::build_pool(db.url(), cfg.pool_size).expect("worker pool");
            Deliverer::new(
                wpool,
                Arc::new(SystemClock),
                IwmsSettings {
                    batch_size: cfg.batch,
                    tenant_concurrency: cfg.batch as usize,
                    poll_interval_ms: cfg.idle.as_millis() as u64,
                    // The bench's receiver listens on loopback.
                    allowed_networks: vec!["127.0.0.0/8".parse().unwrap()],
                    ..Default::default()
                },
            )
            .expect("deliverer")
        })
        .collect();
    start_counting();
    let started = Instant::now();
    let deadline = started + cfg.timeout;
    let tasks: Vec<_> = deliverers
        .into_iter()
        .map(|d| tokio::spawn(work(d, rx.clone(), n, deadline)))
        .collect();
    for t in tasks {
        t.await.expect("worker");
    }
    let wall = started.elapsed();
    let queries = stop_counting();
    receiver.stop(true).await;

    // What arrived.
    let received = std::mem::take(&mut *rx.received.lock().unwrap());
    let mut first: HashMap<i64, Instant> = HashMap::new();
    let mut last_per_user: HashMap<i64, i64> = HashMap::new();
    let (mut duplicates, mut order_violations, mut wrong_user) = (0, 0, 0);
    let owner: HashMap<i64, i64> = rows.iter().copied().collect();
    for a in &received.arrivals {
        if first.contains_key(&a.id) {
            duplicates += 1;
            continue;
        }
        first.insert(a.id, a.at);
        if owner.get(&a.id) != Some(&a.user) {
            wrong_user += 1;
        }
        let last = last_per_user.entry(a.user).or_insert(0);
        if a.id < *last {
            order_violations += 1;
        }
        *last = (*last).max(a.id);
    }
    // Per user, the first arrivals must be exactly the user's events in id order.
    let mut users_out_of_order = 0;
    let mut arrived_per_user: HashMap<i64, Vec<(Instant, i64)>> = HashMap::new();
    for (id, at) in &first {
        if let Some(u) = owner.get(id) {
            arrived_per_user.entry(*u).or_default().push((*at, *id));
        }
    }
    for (user, ids) in &expected {
        let mut got = arrived_per_user.remove(user).unwrap_or_default();
        got.sort();
        if got.iter().map(|(_, id)| *id).ne(ids.iter().copied()) {
            users_out_of_order += 1;
        }
    }
    let missing = rows
        .iter()
        .filter(|(id, _)| !first.contains_key(id))
        .count();
    let unexpected = first.keys().filter(|id| !owner.contains_key(id)).count();
    let mut lat: Vec<Duration> = first
        .values()
        .map(|at| at.saturating_duration_since(started))
        .collect();
    lat.sort();

    // What the database says.
    let mut c = pool.get().expect("db connection");
    let statuses: Vec<(String, i32, Option<String>)> = outbox_events::table
        .select((
            outbox_events::status,
            outbox_events::attempts,
            outbox_events::last_error,
        ))
        .load(&mut c)
        .expect("outbox statuses");
    let delivered = statuses.iter().filter(|s| s.0 == "delivered").count();
    let failed_attempts: i64 = statuses
        .iter()
        .map(|s| i64::from(s.1) - i64::from(s.0 == "delivered"))
        .sum();
    if let Some(e) = statuses.iter().find_map(|s| s.2.as_ref()) {
        eprintln!("  e.g. last_error: {e}");
    }
    let iwms_ids: i64 = users::table
        .filter(users::tenant_id.eq(tenant.id.0))
        .filter(users::iwms_id.is_not_null())
        .count()
        .get_result(&mut c)
        .expect("count IWMS IDs");
    drop(c);

    for why in received.rejected.iter().take(5) {
        eprintln!("  receiver refused: {why}");
    }
    let errors = received.rejected.len()
        + usize::try_from(failed_attempts).unwrap_or(0)
        + (n - delivered)
        + missing
        + unexpected
        + wrong_user;
    let rate = first.len() as f64 / wall.as_secs_f64();
    let run = Run {
        backend: db.backend(),
        workers,
        events: n,
        delivered: first.len(),
        rate,
        p50: percentile(&lat, 50.0),
        p90: percentile(&lat, 90.0),
        p99: percentile(&lat, 99.0),
        max: percentile(&lat, 100.0),
        duplicates,
        order_violations,
        seed_secs,
        errors,
    };

    println!("  wall time    {:.2} s", wall.as_secs_f64());
    println!("  events/s     {rate:.1}");
    println!(
        "  latency ms   p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  (drain start -> first arrival; all due at start)",
        run.p50, run.p90, run.p99, run.max
    );
    println!(
        "  errors       {errors} (refused by the receiver {}, failed attempts {failed_attempts}, \
         not marked delivered {}, missing {missing}, unknown {unexpected}, wrong user {wrong_user})",
        received.rejected.len(),
        n - delivered
    );
    println!(
        "  check        {}/{n} events arrived, {} requests, {duplicates} duplicates, {order_violations} out-of-order arrivals \
         ({users_out_of_order} users whose events did not arrive exactly in order), {iwms_ids}/{} IWMS IDs stored",
        first.len(),
        received.arrivals.len(),
        expected.len()
    );
    let total: u64 = queries.values().map(|q| q.0).sum();
    let busy: Duration = queries.values().map(|q| q.1).sum();
    println!(
        "  queries      {total} during the drain, {:.2} per event, {:.2} s in the database (all connections):",
        total as f64 / n.max(1) as f64,
        busy.as_secs_f64()
    );
    let mut by_time: Vec<(&String, &(u64, Duration))> = queries.iter().collect();
    by_time.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(b.0)));
    for (k, (count, spent)) in by_time {
        println!(
            "               {:>6.3}/event  {:>8.3} ms each  {:>6.2} s  {k} ({count})",
            *count as f64 / n.max(1) as f64,
            spent.as_secs_f64() * 1000.0 / (*count).max(1) as f64,
            spent.as_secs_f64()
        );
    }

    drop(pool);
    if cfg.keep {
        println!("  kept         {}", db.url());
    } else {
        db.drop_database();
    }
    run
}

// ---------------------------------------------------------------------------------------------

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    set_default_instrumentation(instrumentation).expect("query counter");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(run());
}

async fn run() {
    let events = env_usize("BENCH_OUTBOX_EVENTS", 20_000).max(1);
    let users = env_usize("BENCH_OUTBOX_USERS", 2_000).clamp(1, events);
    let worker_counts = env_list("BENCH_OUTBOX_WORKERS", &[1, 2]);
    let cfg = Config {
        events,
        users,
        batch: env_usize("BENCH_OUTBOX_BATCH", 64).max(1) as i64,
        pool_size: env_usize(
            "BENCH_OUTBOX_POOL",
            Settings::default().database.pool_size as usize,
        )
        .max(1) as u32,
        idle: Duration::from_millis(env_usize("BENCH_OUTBOX_IDLE_MS", 10) as u64),
        timeout: Duration::from_secs(env_usize("BENCH_OUTBOX_TIMEOUT_SECS", 900) as u64),
        keep: std::env::var_os("BENCH_OUTBOX_KEEP").is_some_and(|v| !v.is_empty() && v != "0"),
    };

    ssogate::telemetry::init(&LogSettings {
        format: Default::default(),
        level: "error".into(),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Db::fresh_backend_name();

    println!("ssogate IWMS outbox benchmark");
    println!("  backend      {backend}");
    println!(
        "  data         {events} events over {users} users in one tenant: per user `user.created` (IWMS account \
         created), then user.updated / user.deactivated / user.reactivated, interleaved across users"
    );
    println!(
        "  delivery     the production worker (jobs::iwms_delivery::run): batch_size {0} deliveries in flight, tenant_concurrency {0}, \
         pool_size {1} per worker, poll_interval_ms {2}; workers {3:?}",
        cfg.batch,
        cfg.pool_size,
        cfg.idle.as_millis(),
        worker_counts
    );
    println!(
        "  receiver     actix-web, 2 workers, 127.0.0.1, checks every signature; same process as the workers"
    );

    let mut runs = Vec::new();
    for &w in &worker_counts {
        runs.push(run_one(&cfg, w, dir.path()).await);
    }

    println!();
    println!(
        "Summary ({backend}, {events} events over {users} users, batch_size {})",
        cfg.batch
    );
    println!(
        "| Backend | Workers | Events | events/s | p50 | p90 | p99 | max | Duplicates | Order violations | Seed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &runs {
        println!(
            "| {} | {} | {} | {:.1} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {} | {} | {:.1} s |",
            r.backend,
            r.workers,
            r.events,
            r.rate,
            r.p50,
            r.p90,
            r.p99,
            r.max,
            r.duplicates,
            r.order_violations,
            r.seed_secs
        );
    }

    if cfg.keep {
        let _ = dir.keep();
    }
    let failed = runs
        .iter()
        .any(|r| r.errors > 0 || r.order_violations > 0 || r.delivered != r.events);
    if failed {
        std::process::exit(1);
    }
}
