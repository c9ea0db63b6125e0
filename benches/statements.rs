//! Where a sign-in's database time goes, statement by statement, and whether it grows with the
//! tenant: rounds of first sign-ins (unsolicited SAML responses to the ACS, `BENCH_N` new
//! users each, 16 at a time) through the app in this process, with diesel's instrumentation
//! timing every statement. After each round: sign-ins/s, statements per sign-in, database time
//! per sign-in, and the statements that took the most time (mean and total).
//!
//! ```text
//! cargo bench --bench statements                             # SQLite, 4 rounds of 3,000
//! TEST_DB=postgres cargo bench --bench statements            # PostgreSQL
//! BENCH_N=6000 BENCH_ROUNDS=3 BENCH_KEEP=1 cargo bench --bench statements  # keep the database
//! ```
//!
//! A statement's time is measured around its execution on the calling thread, so it includes
//! waiting (for the CPU, for a lock). The load generator shares the process: this is a profile,
//! not a throughput figure (`make bench-http` measures those).
mod common;

use common::saml::{CONN, Idp, Person, TENANT, acs_form, setup_tenant, signed_response};
use common::{Db, env_usize};
use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use ssogate::clock::SystemClock;
use ssogate::config::{LogSettings, Secret, Settings};
use ssogate::protocol::saml::SpEndpoints;
use ssogate::startup::Application;
use ssogate::storage;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Per statement text (without its bound values): how many ran and their total time.
static STATS: Mutex<Option<HashMap<String, (u64, Duration)>>> = Mutex::new(None);

/// One per connection: the statement under way and when it started.
struct Timer(Option<(String, Instant)>);
impl Instrumentation for Timer {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                // diesel's debug form appends the bound values: keep the SQL only, so that
                // one statement's runs are counted together (and no value is printed).
                let s = query.to_string();
                let sql = s.split(" -- binds").next().unwrap_or("").to_owned();
                self.0 = Some((sql, Instant::now()));
            }
            InstrumentationEvent::FinishQuery { .. } => {
                if let Some((q, t)) = self.0.take() {
                    let d = t.elapsed();
                    let mut g = STATS.lock().unwrap();
                    let e = g.get_or_insert_with(HashMap::new).entry(q).or_default();
                    e.0 += 1;
                    e.1 += d;
                }
            }
            _ => {}
        }
    }
}

fn main() {
    set_default_instrumentation(|| Some(Box::new(Timer(None)))).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let n = env_usize("BENCH_N", 3000).max(1);
    let rounds = env_usize("BENCH_ROUNDS", 4);
    ssogate::telemetry::init(&LogSettings {
        format: Default::default(),
        level: "error".into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let db = Db::fresh(dir.path(), "ssogate");
    let mut s = Settings::default();
    s.server.port = 0;
    s.server.workers = 2;
    s.database.url = db.url().to_owned();
    s.database.pool_size = 8;
    s.session.secret = Some(Secret::new(
        "bench-session-secret-with-at-least-32-chars".into(),
    ));
    s.log.level = "error".into();
    s.rate_limit.enabled = false;
    let app = Application::build_with_clock(s, Arc::new(SystemClock))
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let pool = storage::build_pool(db.url(), 2).unwrap();
    let idp = Idp::new();
    setup_tenant(&pool, &idp, true);
    let sp = SpEndpoints::new(&base, TENANT, CONN);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for r in 0..rounds {
        let bodies: Vec<String> = (0..n)
            .map(|i| {
                let subject = format!("r{r}-{i}");
                let p = Person {
                    email: format!("{subject}@acme.test"),
                    subject,
                    first: "Grace",
                    last: "Hopper",
                };
                acs_form(&signed_response(&idp, &sp, None, &p), None)
            })
            .collect();
        *STATS.lock().unwrap() = None;
        let bodies = Arc::new(bodies);
        let next = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (client, bodies, next, url) = (
                client.clone(),
                bodies.clone(),
                next.clone(),
                sp.acs_url.clone(),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= bodies.len() {
                        return;
                    }
                    let res = client
                        .post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(bodies[i].clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let wall = t0.elapsed();
        let g = STATS.lock().unwrap().take().unwrap();
        let total: Duration = g.values().map(|v| v.1).sum();
        let count: u64 = g.values().map(|v| v.0).sum();
        println!(
            "\nround {r}: {n} in {:.2}s = {:.0}/s; {} statements ({:.1}/sign-in), {:.0} us db per sign-in",
            wall.as_secs_f64(),
            n as f64 / wall.as_secs_f64(),
            count,
            count as f64 / n as f64,
            total.as_micros() as f64 / n as f64
        );
        let mut v: Vec<_> = g.into_iter().collect();
        v.sort_by_key(|(_, (_, d))| std::cmp::Reverse(*d));
        for (q, (c, d)) in v.iter().take(40) {
            let q: String = q.chars().take(150).collect();
            println!(
                "  {:>7} x {:>6.0}us = {:>6.0}ms  {}",
                c,
                d.as_micros() as f64 / *c as f64,
                d.as_millis(),
                q
            );
        }
    }
    if std::env::var("BENCH_KEEP").is_ok() {
        println!("kept {}", db.url());
    } else {
        db.drop_database();
    }
}
