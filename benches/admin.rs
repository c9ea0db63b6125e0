//! The admin console's user queries on one tenant holding many users (100,000 by default):
//! the first page of each view, a page deep in the list (keyset), prefix searches, the view
//! counts, a user's detail and the sign-in history, each with operations/s and latency
//! percentiles, called from concurrent threads through `ssogate::service::admin::users`.
//!
//! ```text
//! cargo bench --bench admin                             # SQLite file in a tempdir
//! TEST_DB=postgres cargo bench --bench admin            # throwaway DB on postgres://postgres@127.0.0.1:5432
//! BENCH_ADMIN_USERS=100000 BENCH_ADMIN_REQUESTS=1000 BENCH_CONCURRENCY=4 cargo bench --bench admin
//! BENCH_ADMIN_KEEP=1 cargo bench --bench admin          # keep the database, to EXPLAIN queries on it
//! ```
//!
//! The data is bulk-inserted (multi-row INSERTs, `SEED_BATCH` rows each), untimed: users
//! (5 % deactivated, 3 % deprovisioned by SCIM, 10 % flagged stale, the rest active), an
//! identity and a `created` event for each, about 1.4 login attempts per user (a fifth of
//! them failures with assorted reasons), and one user with a long history (`HEAVY_HISTORY`
//! events and as many attempts). On PostgreSQL `VACUUM ANALYZE` follows, as autovacuum would
//! run it; SQLite gets no statistics, as in production (the app never runs ANALYZE).
//!
//! The service functions are called directly (no HTTP: the API adds its own JSON and
//! authentication costs), `BENCH_ADMIN_REQUESTS` calls per operation from `BENCH_CONCURRENCY`
//! threads, each with its own pooled connection. Every answer is checked against what the
//! generator knows (page sizes, counts, search hits), and a full keyset walk of every view
//! checks that each user appears exactly once.
mod common;

use common::{Db, FAMILY_NAMES, GIVEN, Rng, analyze, env_usize, family_name, now, percentile};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use ssogate::domain::tenant::Tenant;
use ssogate::service::admin::users::{self as admin_users, SignInQuery, UserQuery, UserViewKind};
use ssogate::service::admin::{self, TenantInput};
use ssogate::storage::schema::{connections, identities, login_attempts, user_events, users};
use ssogate::storage::{self, DbConnection, DbPool};

const TENANT: &str = "acme";
/// Rows per multi-row INSERT.
const SEED_BATCH: usize = 1000;
/// Users per page, as the console asks.
const PAGE: i64 = 50;
/// Events and attempts of the one user with a long history.
const HEAVY_HISTORY: usize = 1500;

const FAILURES: [&str; 6] = [
    "invalid_signature",
    "expired",
    "user_deactivated",
    "audience_mismatch",
    "not_set_up",
    "browser_mismatch",
];

// ---------------------------------------------------------------------------------------------
// The generated users: user i (0-based) is row id i + 1.

fn email(i: usize) -> String {
    format!(
        "u{i:06}.{}@example.com",
        GIVEN[i % GIVEN.len()].to_lowercase()
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Active,
    Stale,
    Deactivated,
    Deprovisioned,
}

fn state(i: usize) -> State {
    // Mixed, so that the state does not follow the family name (also a function of i).
    match Rng(i as u64).next() % 100 {
        0..=4 => State::Deactivated,
        5..=7 => State::Deprovisioned,
        8..=17 => State::Stale,
        _ => State::Active,
    }
}

/// Login attempts of user i: 0-4, one in five a failure.
fn attempts_of(i: usize) -> usize {
    [0, 0, 1, 2, 3, 4, 0, 1][i % 8]
}

struct Expected {
    counts: [i64; 5],
    by_family: std::collections::HashMap<String, i64>,
}

fn expected(n: usize) -> Expected {
    let mut counts = [0i64; 5];
    let mut by_family = std::collections::HashMap::new();
    for i in 0..n {
        let k = match state(i) {
            State::Active => 0,
            State::Stale => 1,
            State::Deactivated => 2,
            State::Deprovisioned => 3,
        };
        counts[k] += 1;
        counts[4] += 1;
        *by_family.entry(family_name(i).to_lowercase()).or_insert(0) += 1;
    }
    Expected { counts, by_family }
}

// ---------------------------------------------------------------------------------------------
// Seeding.

/// Runs a multi-row INSERT on the concrete connection (MultiConnection has no batch inserts).
macro_rules! execute_batch {
    ($conn:expr, $query:expr, $what:literal) => {
        match $conn {
            DbConnection::Sqlite(c) => $query.execute(c),
            DbConnection::Pg(c) => $query.execute(c),
        }
        .expect($what)
    };
}

fn setup(pool: &DbPool) -> (Tenant, i64) {
    let mut c = pool.get().expect("db connection");
    storage::run_migrations(&mut c).expect("migrations");
    let t = now();
    let tenant = admin::create_tenant(
        &mut c,
        TENANT,
        &TenantInput::default(),
        &ssogate::domain::audit::Actor::Cli,
        t,
    )
    .expect("create tenant");
    diesel::insert_into(connections::table)
        .values((
            connections::tenant_id.eq(tenant.id.0),
            connections::slug.eq("okta"),
            connections::protocol.eq("saml"),
            connections::display_name.eq("Okta"),
            connections::attr_email.eq(r#"["email"]"#),
            connections::attr_first_name.eq(r#"["firstName"]"#),
            connections::attr_last_name.eq(r#"["lastName"]"#),
            connections::created_at.eq(t),
            connections::updated_at.eq(t),
        ))
        .execute(&mut c)
        .expect("connection");
    let conn_id = connections::table
        .select(connections::id)
        .first::<i64>(&mut c)
        .expect("connection id");
    (tenant, conn_id)
}

type UserRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    Option<String>,
    Option<i64>,
);

fn user_row(tenant: i64, i: usize, t0: i64) -> UserRow {
    let s = state(i);
    let created = t0 - 86_400 * 400 + i as i64;
    (
        tenant,
        email(i),
        GIVEN[i % GIVEN.len()].to_owned(),
        family_name(i),
        format!("W{i:07}"),
        if matches!(s, State::Deactivated | State::Deprovisioned) {
            "deactivated"
        } else {
            "active"
        }
        .to_owned(),
        if i.is_multiple_of(3) { "scim" } else { "sso" }.to_owned(),
        (s == State::Stale).then_some(t0 - 86_400),
        (attempts_of(i) > 0).then_some(t0 - (i % 5000) as i64),
        created,
        created,
        (i.is_multiple_of(3) || s == State::Deprovisioned).then(|| email(i)),
        (s == State::Deprovisioned).then_some(t0 - 3600),
    )
}

fn insert_users(c: &mut DbConnection, rows: &[UserRow]) {
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                users::tenant_id.eq(r.0),
                users::email.eq(&r.1),
                users::first_name.eq(Some(&r.2)),
                users::last_name.eq(Some(&r.3)),
                users::iwms_id.eq(Some(&r.4)),
                users::status.eq(&r.5),
                users::created_via.eq(&r.6),
                users::stale_since.eq(r.7),
                users::last_login_at.eq(r.8),
                users::created_at.eq(r.9),
                users::updated_at.eq(r.10),
                users::scim_user_name.eq(r.11.as_ref()),
                users::scim_user_name_lc.eq(r.11.as_ref()),
                users::scim_doc.eq("{}"),
                users::deprovisioned_at.eq(r.12),
            )
        })
        .collect();
    execute_batch!(
        c,
        diesel::insert_into(users::table).values(&values),
        "insert users"
    );
}

/// (tenant, connection, user, outcome, reason, detail, subject, email, created_at)
type AttemptRow = (
    i64,
    Option<i64>,
    Option<i64>,
    &'static str,
    &'static str,
    String,
    Option<String>,
    Option<String>,
    i64,
);

fn insert_attempts(c: &mut DbConnection, rows: &[AttemptRow]) {
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                login_attempts::tenant_id.eq(r.0),
                login_attempts::connection_id.eq(r.1),
                login_attempts::user_id.eq(r.2),
                login_attempts::outcome.eq(r.3),
                login_attempts::reason.eq(r.4),
                login_attempts::detail.eq(&r.5),
                login_attempts::subject.eq(r.6.as_ref()),
                login_attempts::email.eq(r.7.as_ref()),
                login_attempts::created_at.eq(r.8),
            )
        })
        .collect();
    execute_batch!(
        c,
        diesel::insert_into(login_attempts::table).values(&values),
        "insert attempts"
    );
}

fn insert_events(c: &mut DbConnection, rows: &[(i64, i64, &'static str, String, i64)]) {
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                user_events::tenant_id.eq(r.0),
                user_events::user_id.eq(r.1),
                user_events::kind.eq(r.2),
                user_events::detail.eq(&r.3),
                user_events::created_at.eq(r.4),
            )
        })
        .collect();
    execute_batch!(
        c,
        diesel::insert_into(user_events::table).values(&values),
        "insert events"
    );
}

fn insert_identities(c: &mut DbConnection, rows: &[(i64, i64, String, i64, i64)]) {
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                identities::tenant_id.eq(r.0),
                identities::connection_id.eq(r.1),
                identities::subject.eq(&r.2),
                identities::user_id.eq(r.3),
                identities::created_at.eq(r.4),
                identities::last_used_at.eq(r.4),
            )
        })
        .collect();
    execute_batch!(
        c,
        diesel::insert_into(identities::table).values(&values),
        "insert identities"
    );
}

/// Users first (ids 1..=n in order), then their identities, events and attempts (the
/// attempts in time order, interleaved across users as sign-ins arrive).
fn seed(pool: &DbPool, tenant: i64, conn_id: i64, n: usize) {
    let mut c = pool.get().expect("db connection");
    let t0 = now();
    for start in (0..n).step_by(SEED_BATCH) {
        let rows: Vec<UserRow> = (start..(start + SEED_BATCH).min(n))
            .map(|i| user_row(tenant, i, t0))
            .collect();
        insert_users(&mut c, &rows);
    }
    for start in (0..n).step_by(SEED_BATCH) {
        let range = start..(start + SEED_BATCH).min(n);
        let ids: Vec<_> = range
            .clone()
            .map(|i| {
                (
                    tenant,
                    conn_id,
                    format!("sub-{i}"),
                    i as i64 + 1,
                    t0 - 86_400,
                )
            })
            .collect();
        insert_identities(&mut c, &ids);
        let evs: Vec<_> = range
            .map(|i| {
                let via = if i.is_multiple_of(3) { "scim" } else { "sso" };
                (
                    tenant,
                    i as i64 + 1,
                    "created",
                    format!(r#"{{"via":"{via}","email":"{}"}}"#, email(i)),
                    t0 - 86_400 * 400 + i as i64,
                )
            })
            .collect();
        insert_events(&mut c, &evs);
    }
    // Attempts: round r holds the r-th attempt of every user that has one; one in 25 attempts
    // names no user (refused before the response was read).
    let mut rng = Rng(0xad31_5eed);
    let mut batch: Vec<AttemptRow> = Vec::with_capacity(SEED_BATCH);
    let mut t = t0 - 86_400 * 30;
    for round in 0..4 {
        for i in 0..n {
            if attempts_of(i) <= round {
                continue;
            }
            t += 1;
            let fail = rng.below(5) == 0;
            let anonymous = fail && rng.below(5) == 0;
            batch.push((
                tenant,
                Some(conn_id),
                (!anonymous).then_some(i as i64 + 1),
                if fail { "failure" } else { "success" },
                if fail {
                    FAILURES[rng.below(FAILURES.len())]
                } else {
                    "success"
                },
                String::new(),
                (!anonymous).then(|| format!("sub-{i}")),
                (!anonymous).then(|| email(i)),
                t,
            ));
            if batch.len() == SEED_BATCH {
                insert_attempts(&mut c, &batch);
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        insert_attempts(&mut c, &batch);
    }
    // The heavy user: user 0 (id 1) gets HEAVY_HISTORY events and attempts.
    for start in (0..HEAVY_HISTORY).step_by(SEED_BATCH) {
        let evs: Vec<_> = (start..(start + SEED_BATCH).min(HEAVY_HISTORY))
            .map(|k| {
                (
                    tenant,
                    1,
                    "attributes_updated",
                    format!(
                        r#"{{"via":"sso","changes":[{{"field":"first_name","old":"A{k}","new":"A{}"}}]}}"#,
                        k + 1
                    ),
                    t + 2 * k as i64,
                )
            })
            .collect();
        insert_events(&mut c, &evs);
        let ats: Vec<AttemptRow> = (start..(start + SEED_BATCH).min(HEAVY_HISTORY))
            .map(|k| {
                (
                    tenant,
                    Some(conn_id),
                    Some(1),
                    "success",
                    "success",
                    String::new(),
                    Some("sub-0".to_owned()),
                    Some(email(0)),
                    t + 2 * k as i64 + 1,
                )
            })
            .collect();
        insert_attempts(&mut c, &ats);
    }
}

// ---------------------------------------------------------------------------------------------
// Operations and measurement.

/// One call: its latency, and why its answer was wrong, if it was.
type Call = Box<dyn Fn(&mut DbConnection) -> Option<String> + Send + Sync>;

struct Measured {
    op: String,
    n: usize,
    rate: f64,
    p50: f64,
    p99: f64,
    max: f64,
    errors: usize,
}

fn measure(pool: &DbPool, op: &str, calls: Vec<Call>, threads: usize) -> Measured {
    let n = calls.len();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<(Duration, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.min(n.max(1)))
            .map(|_| {
                s.spawn(|| {
                    let mut c = pool.get().expect("db connection");
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return out;
                        }
                        let t = Instant::now();
                        let err = calls[i](&mut c);
                        out.push((t.elapsed(), err));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("bench thread"))
            .collect()
    });
    let wall = started.elapsed();
    let errors: Vec<&String> = results.iter().filter_map(|(_, e)| e.as_ref()).collect();
    for e in errors.iter().take(3) {
        eprintln!("  {op} error: {e}");
    }
    let mut lat: Vec<Duration> = results.iter().map(|(d, _)| *d).collect();
    lat.sort();
    let m = Measured {
        op: op.to_owned(),
        n,
        rate: (n - errors.len()) as f64 / wall.as_secs_f64(),
        p50: percentile(&lat, 50.0),
        p99: percentile(&lat, 99.0),
        max: percentile(&lat, 100.0),
        errors: errors.len(),
    };
    println!(
        "  {:<58} {:>6} ops  {:>8.1}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  errors {}",
        m.op, m.n, m.rate, m.p50, m.p99, m.max, m.errors
    );
    m
}

fn page_call(tenant: &Arc<Tenant>, q: UserQuery, expect_len: Option<usize>) -> Call {
    let tenant = tenant.clone();
    Box::new(move |c| match admin_users::list_users(c, &tenant, &q) {
        Ok(p) => match expect_len {
            Some(len) if p.users.len() != len => {
                Some(format!("{q:?}: {} users, expected {len}", p.users.len()))
            }
            _ => None,
        },
        Err(e) => Some(format!("{q:?}: {e}")),
    })
}

fn query(view: UserViewKind, search: Option<String>, after: Option<i64>) -> UserQuery {
    UserQuery {
        view,
        search,
        limit: PAGE,
        after,
    }
}

/// Every view walked to its end with keyset pages of 200: each user exactly once, and as
/// many as the view's count.
fn walk_views(pool: &DbPool, tenant: &Tenant, exp: &Expected) {
    let mut c = pool.get().expect("db connection");
    let views = [
        UserViewKind::Active,
        UserViewKind::Stale,
        UserViewKind::Deactivated,
        UserViewKind::Deprovisioned,
        UserViewKind::All,
    ];
    for (k, view) in views.into_iter().enumerate() {
        let t = Instant::now();
        let mut seen = HashSet::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let p = admin_users::list_users(
                &mut c,
                tenant,
                &UserQuery {
                    view,
                    search: None,
                    limit: 200,
                    after,
                },
            )
            .expect("page");
            pages += 1;
            for u in &p.users {
                assert!(
                    seen.insert(u.user.id),
                    "user {} twice in {view:?}",
                    u.user.id
                );
            }
            match p.next_after {
                Some(a) => after = Some(a),
                None => break,
            }
        }
        assert_eq!(seen.len() as i64, exp.counts[k], "{view:?} walk");
        println!(
            "  walked {view:?}: {} users in {pages} pages of 200, {:.2} s (checked once each)",
            seen.len(),
            t.elapsed().as_secs_f64()
        );
    }
}

/// For comparison: what a substring search (`LIKE '%term%'` on the same four columns) costs.
/// No index serves it: it reads the tenant's users until it has a page.
fn substring_call(tenant: i64, term: String, expect: usize) -> Call {
    Box::new(move |c| {
        let pat = format!("%{term}%");
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let sql = match c {
            DbConnection::Pg(_) => {
                "SELECT id FROM users WHERE tenant_id = $1 AND (email LIKE $2 OR lower(first_name) LIKE $2 \
                 OR lower(last_name) LIKE $2 OR lower(iwms_id) LIKE $2) ORDER BY id DESC LIMIT 51"
            }
            DbConnection::Sqlite(_) => {
                "SELECT id FROM users WHERE tenant_id = ?1 AND (email LIKE ?2 OR lower(first_name) LIKE ?2 \
                 OR lower(last_name) LIKE ?2 OR lower(iwms_id) LIKE ?2) ORDER BY id DESC LIMIT 51"
            }
        };
        match diesel::sql_query(sql)
            .bind::<BigInt, _>(tenant)
            .bind::<Text, _>(&pat)
            .load::<Id>(c)
        {
            Ok(rows)
                if rows.len() == expect.min(51) && rows.windows(2).all(|w| w[0].id > w[1].id) =>
            {
                None
            }
            Ok(rows) => Some(format!("substring {term}: {} rows", rows.len())),
            Err(e) => Some(format!("substring {term}: {e}")),
        }
    })
}

fn main() {
    let n = env_usize("BENCH_ADMIN_USERS", 100_000).max(1000);
    let requests = env_usize("BENCH_ADMIN_REQUESTS", 1000).max(1);
    let threads = env_usize("BENCH_CONCURRENCY", 4).max(1);
    let keep = std::env::var_os("BENCH_ADMIN_KEEP").is_some_and(|v| !v.is_empty() && v != "0");

    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::fresh(dir.path(), "ssogate");
    let pool = storage::build_pool(db.url(), threads as u32 + 1).expect("pool");
    let (tenant, conn_id) = setup(&pool);
    let tid = tenant.id.0;
    let tenant = Arc::new(tenant);

    println!("ssogate admin users benchmark");
    println!("  backend      {}", db.backend());
    println!(
        "  data         {n} users in one tenant ({FAMILY_NAMES} family names), ~1.4 sign-in attempts each"
    );
    println!(
        "  load         {requests} calls per operation from {threads} threads (service functions, no HTTP)"
    );
    let t0 = Instant::now();
    seed(&pool, tid, conn_id, n);
    let seeded = t0.elapsed();
    let t1 = Instant::now();
    analyze(
        &mut pool.get().expect("db connection"),
        "VACUUM ANALYZE users, login_attempts, user_events, identities",
    );
    println!(
        "  seeded       {:.1} s{} (untimed)",
        seeded.as_secs_f64(),
        if db.backend() == "postgres" {
            format!(", VACUUM ANALYZE {:.1} s", t1.elapsed().as_secs_f64())
        } else {
            String::new()
        }
    );

    let exp = expected(n);
    walk_views(&pool, &tenant, &exp);
    let mut rng = Rng(0xad_0001);
    let page_len = |count: i64| (count.min(PAGE)) as usize;

    let mut plan: Vec<(String, Vec<Call>)> = Vec::new();
    let views = [
        ("active", UserViewKind::Active, exp.counts[0]),
        ("stale", UserViewKind::Stale, exp.counts[1]),
        ("deactivated", UserViewKind::Deactivated, exp.counts[2]),
        ("deprovisioned", UserViewKind::Deprovisioned, exp.counts[3]),
        ("all", UserViewKind::All, exp.counts[4]),
    ];
    for (name, view, count) in views {
        plan.push((
            format!("first page, view {name} (limit {PAGE})"),
            (0..requests)
                .map(|_| page_call(&tenant, query(view, None, None), Some(page_len(count))))
                .collect(),
        ));
    }
    plan.push((
        format!("deep page, view all, after a random id (limit {PAGE})"),
        (0..requests)
            .map(|_| {
                let after = (n / 10 + rng.below(n - n / 10)) as i64;
                page_call(
                    &tenant,
                    query(UserViewKind::All, None, Some(after)),
                    Some(PAGE as usize),
                )
            })
            .collect(),
    ));
    plan.push((
        format!("deep page, view active, after a random id (limit {PAGE})"),
        (0..requests)
            .map(|_| {
                let after = (n / 10 + rng.below(n - n / 10)) as i64;
                page_call(
                    &tenant,
                    query(UserViewKind::Active, None, Some(after)),
                    Some(PAGE as usize),
                )
            })
            .collect(),
    ));
    plan.push((
        "search: email prefix `u012345` (1 match)".to_owned(),
        (0..requests)
            .map(|_| {
                let i = rng.below(n);
                page_call(
                    &tenant,
                    query(UserViewKind::All, Some(format!("U{i:06}")), None),
                    Some(1),
                )
            })
            .collect(),
    ));
    let mut families: Vec<(&String, &i64)> = exp.by_family.iter().collect();
    families.sort();
    plan.push((
        format!(
            "search: last name `Lovelace07` (~{} matches)",
            n / FAMILY_NAMES
        ),
        (0..requests)
            .map(|_| {
                let (f, c) = families[rng.below(families.len())];
                page_call(
                    &tenant,
                    query(UserViewKind::All, Some(f.clone()), None),
                    Some(page_len(*c)),
                )
            })
            .collect(),
    ));
    plan.push((
        "search: full name `ada lovelace07`".to_owned(),
        (0..requests)
            .map(|_| {
                let i = rng.below(n);
                let term = format!("{} {}", GIVEN[i % GIVEN.len()], family_name(i));
                page_call(&tenant, query(UserViewKind::All, Some(term), None), None)
            })
            .collect(),
    ));
    plan.push((
        "search: one letter `h` (first or last name of ~16 % of users)".to_owned(),
        (0..requests)
            .map(|_| {
                page_call(
                    &tenant,
                    query(UserViewKind::Active, Some("h".into()), None),
                    Some(PAGE as usize),
                )
            })
            .collect(),
    ));
    plan.push((
        "search, view active, deep: `lovelace` after a random id".to_owned(),
        (0..requests)
            .map(|_| {
                let after = n as i64 / 2 + rng.below(n / 2) as i64;
                page_call(
                    &tenant,
                    query(UserViewKind::Active, Some("lovelace".into()), Some(after)),
                    None,
                )
            })
            .collect(),
    ));
    let (f, c) = families[7];
    let rare = f[1..].to_owned();
    plan.push((
        format!("(not shipped) substring `%{rare}%` ({c} matches)"),
        (0..requests.min(200))
            .map(|_| substring_call(tid, rare.clone(), *c as usize))
            .collect(),
    ));
    let want = [
        exp.counts[0],
        exp.counts[1],
        exp.counts[2],
        exp.counts[3],
        exp.counts[4],
    ];
    plan.push((
        "user_counts".to_owned(),
        (0..requests)
            .map(|_| {
                let tenant = tenant.clone();
                Box::new(
                    move |c: &mut DbConnection| match admin_users::user_counts(c, &tenant) {
                        Ok(u)
                            if [u.active, u.stale, u.deactivated, u.deprovisioned, u.all]
                                == want =>
                        {
                            None
                        }
                        Ok(u) => Some(format!("counts {u:?}, expected {want:?}")),
                        Err(e) => Some(e.to_string()),
                    },
                ) as Call
            })
            .collect(),
    ));
    plan.push((
        "user_detail, random user".to_owned(),
        (0..requests)
            .map(|_| {
                let tenant = tenant.clone();
                let id = 2 + rng.below(n - 1) as i64;
                Box::new(move |c: &mut DbConnection| {
                    match admin_users::user_detail(c, &tenant, id) {
                        Ok(d) if d.user.user.id == id && !d.timeline.is_empty() => None,
                        Ok(_) => Some(format!("user {id}: wrong detail")),
                        Err(e) => Some(format!("user {id}: {e}")),
                    }
                }) as Call
            })
            .collect(),
    ));
    plan.push((
        format!(
            "user_detail, {} events + {} sign-ins (the newest 100 sign-ins shown)",
            HEAVY_HISTORY + 1,
            HEAVY_HISTORY + attempts_of(0)
        ),
        (0..requests)
            .map(|_| {
                let tenant = tenant.clone();
                Box::new(move |c: &mut DbConnection| {
                    match admin_users::user_detail(c, &tenant, 1) {
                        Ok(d)
                            if d.timeline.len()
                                == (HEAVY_HISTORY + 1).min(admin_users::TIMELINE_EVENTS)
                                    + admin_users::TIMELINE_SIGN_INS
                                && d.timeline_truncated =>
                        {
                            None
                        }
                        Ok(d) => Some(format!("heavy user: {} entries", d.timeline.len())),
                        Err(e) => Some(e.to_string()),
                    }
                }) as Call
            })
            .collect(),
    ));
    for (label, q) in [
        (
            "sign_ins, newest page",
            SignInQuery {
                limit: PAGE,
                ..Default::default()
            },
        ),
        (
            "sign_ins, outcome failure",
            SignInQuery {
                outcome: Some("failure".into()),
                limit: PAGE,
                ..Default::default()
            },
        ),
        (
            "sign_ins, reason user_deactivated",
            SignInQuery {
                reason: Some("user_deactivated".into()),
                limit: PAGE,
                ..Default::default()
            },
        ),
    ] {
        plan.push((
            label.to_owned(),
            (0..requests)
                .map(|_| {
                    let (tenant, q) = (tenant.clone(), q.clone());
                    Box::new(move |c: &mut DbConnection| {
                        match admin_users::sign_ins(c, &tenant, &q) {
                            Ok(p) if p.items.len() == PAGE as usize => None,
                            Ok(p) => Some(format!("{label}: {} items", p.items.len())),
                            Err(e) => Some(e.to_string()),
                        }
                    }) as Call
                })
                .collect(),
        ));
    }

    println!();
    let mut results = Vec::new();
    for (op, calls) in plan {
        results.push(measure(&pool, &op, calls, threads));
    }

    println!();
    println!("Summary ({}, {n} users, {threads} threads)", db.backend());
    println!("| Backend | Operation | ops/s | p50 | p99 | max | Errors |");
    println!("|---|---|---|---|---|---|---|");
    for m in &results {
        println!(
            "| {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {} |",
            db.backend(),
            m.op,
            m.rate,
            m.p50,
            m.p99,
            m.max,
            m.errors
        );
    }
    drop(pool);
    let errors: usize = results.iter().map(|m| m.errors).sum();
    if keep {
        match &db {
            Db::Sqlite { url } => {
                let _ = dir.keep();
                println!("  kept         {url}");
            }
            Db::Postgres { url, .. } => println!("  kept         {url}"),
        }
    } else {
        db.drop_database();
    }
    if errors > 0 {
        std::process::exit(1);
    }
}
