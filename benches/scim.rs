//! SCIM throughput on one tenant holding many users (100,000 by default): `userName eq`
//! lookups, filtered list pages and creates through `/t/{tenant}/scim/v2/Users`, each with
//! requests/s and latency percentiles, driven by concurrent clients.
//!
//! ```text
//! cargo bench --bench scim                             # SQLite file in a tempdir
//! TEST_DB=postgres cargo bench --bench scim    # throwaway DB on postgres://postgres@127.0.0.1:5432
//! BENCH_SCIM_USERS=100000 BENCH_SCIM_REQUESTS=5000 BENCH_SCIM_LIST_REQUESTS=200 \
//!     BENCH_CONCURRENCY=16 cargo bench --bench scim
//! BENCH_SCIM_KEEP=1 cargo bench --bench scim          # keep the database, to EXPLAIN queries on it
//! ```
//!
//! The users are seeded through the storage layer (`scim_users::insert`, in batched
//! transactions; on PostgreSQL from several connections, then `VACUUM ANALYZE` as autovacuum
//! would do), untimed and reported apart. The lookups and the creates then run
//! `BENCH_SCIM_REQUESTS` requests each, the list pages (several of which read many rows, so
//! are much slower) `BENCH_SCIM_LIST_REQUESTS` each. The creates run last, so the reads see
//! exactly the seeded users, and every response is checked against the totals the generator
//! knows. The `co`/`sw`/`ew` filters the trigram indexes answer (one per attribute, and a
//! two-character value refused from its shape) run at one client, then at
//! `BENCH_CONCURRENCY`, before the creates.
//!
//! The server and the load generator share the machine (and this process), so the numbers are
//! a floor for what the server alone would do.
mod common;

use common::{Db, FAMILY_NAMES, GIVEN, Rng, analyze, env_usize, family_name, now, percentile};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use ssogate::clock::SystemClock;
use ssogate::config::{LogSettings, Secret, Settings};
use ssogate::domain::ids::TenantId;
use ssogate::domain::scim::user::UserFields;
use ssogate::service::admin::{self, TenantInput};
use ssogate::startup::Application;
use ssogate::storage::{self, DbConnection, DbPool, users::scim as scim_users};

const TENANT: &str = "acme";
const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Users per seeding transaction.
const SEED_BATCH: usize = 1000;
/// Rows per list page.
const PAGE: i64 = 100;

const DEPARTMENTS: [&str; 8] = [
    "Engineering",
    "Sales",
    "Finance",
    "Legal",
    "Support",
    "Marketing",
    "Operations",
    "Research",
];

// ---------------------------------------------------------------------------------------------
// The generated users. User i has userName `user{i}`; its work email is at example.com, except
// every tenth user's, which is at example.net; every other user also has a home email.

fn work_domain(i: usize) -> &'static str {
    if i % 10 == 9 {
        "example.net"
    } else {
        "example.com"
    }
}

fn user_body(user_name: &str, i: usize) -> Value {
    let given = GIVEN[i % GIVEN.len()];
    let family = family_name(i);
    let mut emails = vec![json!({
        "value": format!("{user_name}@{}", work_domain(i)),
        "type": "work",
        "primary": true,
    })];
    if i.is_multiple_of(2) {
        emails.push(json!({"value": format!("{user_name}@home.example.org"), "type": "home"}));
    }
    json!({
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "userName": user_name,
        "externalId": format!("ext-{user_name}"),
        "name": {"givenName": given, "familyName": family, "formatted": format!("{given} {family}")},
        "displayName": format!("{given} {family}"),
        "title": "Engineer",
        "active": true,
        "emails": emails,
        "phoneNumbers": [{"value": format!("+1 555 {:07}", i % 10_000_000), "type": "work"}],
        ENTERPRISE_USER: {
            "employeeNumber": format!("E{i:07}"),
            "department": DEPARTMENTS[i % DEPARTMENTS.len()],
        },
    })
}

/// What the seeded data holds, for checking every response.
struct Expected {
    /// Users whose userName starts with `user` and the two digits.
    by_prefix: HashMap<String, i64>,
    by_family: HashMap<String, i64>,
    /// Users with a work email at example.com.
    work_example_com: i64,
}

fn expected(n: usize) -> Expected {
    let mut by_prefix: HashMap<String, i64> = HashMap::new();
    let mut by_family: HashMap<String, i64> = HashMap::new();
    for i in 0..n {
        let digits = i.to_string();
        if digits.len() >= 2 {
            *by_prefix.entry(digits[..2].to_owned()).or_default() += 1;
        }
        *by_family.entry(family_name(i)).or_default() += 1;
    }
    Expected {
        by_prefix,
        by_family,
        work_example_com: (0..n).filter(|i| work_domain(*i) == "example.com").count() as i64,
    }
}

// ---------------------------------------------------------------------------------------------
// App and database.

fn settings(db_url: &str) -> Settings {
    let mut s = Settings::default();
    s.server.port = 0;
    s.server.workers = 2;
    s.database.url = db_url.to_owned();
    s.database.pool_size = 8;
    s.session.secret = Some(Secret::new(
        "bench-session-secret-with-at-least-32-chars".into(),
    ));
    s.log.level = "error".into();
    // A load test is a flood from one address (and one token): the built-in rate limits
    // would refuse most of it, so they are off here, explicitly.
    s.rate_limit.enabled = false;
    s
}

/// The tenant and a SCIM bearer token for it.
fn setup_tenant(pool: &DbPool) -> (TenantId, String) {
    let mut c = pool.get().expect("db connection");
    let t = now();
    let tenant = admin::create_tenant(
        &mut c,
        TENANT,
        &TenantInput::default(),
        &ssogate::domain::audit::Actor::Cli,
        t,
    )
    .expect("create tenant");
    let token = ssogate::service::scim::tokens::create(&mut c, tenant.id, "bench", t)
        .expect("scim token")
        .token;
    (tenant.id, token)
}

/// Users `SEED_BATCH * b ..` (at most `n`) in one transaction, through the storage layer.
fn seed_batch(c: &mut DbConnection, tenant: TenantId, n: usize, b: usize) {
    let fields: Vec<UserFields> = (b * SEED_BATCH..((b + 1) * SEED_BATCH).min(n))
        .map(|i| {
            UserFields::from_body(&user_body(&format!("user{i}"), i), None)
                .expect("generated user is valid")
        })
        .collect();
    let t = now();
    storage::transaction(c, |c| {
        for f in &fields {
            scim_users::insert(c, tenant, f, t)?;
        }
        Ok(())
    })
    .expect("seed batch");
}

/// Inserts users `0..n`, `SEED_BATCH` per transaction: the first batch alone, then (on
/// PostgreSQL) ANALYZE, then the rest from `threads` connections at once.
///
/// Without statistics PostgreSQL plans `scim_users::insert`'s `SELECT id ... WHERE tenant_id
/// = $1 AND email = $2` on users_external_id (tenant_id only), and the cached generic plan
/// keeps doing so as the table grows: every insert then scans the tenant, and seeding
/// 100,000 users took over ten minutes. Autovacuum's ANALYZE would replan it on a server
/// (this machine runs PostgreSQL with autovacuum off); the bench does it explicitly.
fn seed(pool: &DbPool, tenant: TenantId, n: usize, threads: usize) {
    let batches = n.div_ceil(SEED_BATCH);
    {
        let mut c = pool.get().expect("db connection");
        seed_batch(&mut c, tenant, n, 0);
        analyze(&mut c, "ANALYZE users, user_emails");
    }
    let next = AtomicUsize::new(1);
    std::thread::scope(|s| {
        for _ in 0..threads.min(batches.max(1)) {
            s.spawn(|| {
                let mut c = pool.get().expect("db connection");
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= batches {
                        return;
                    }
                    seed_batch(&mut c, tenant, n, b);
                }
            });
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Load generation.

enum Expect {
    /// 200 with this totalResults and this many resources; for a lookup, that userName.
    List {
        total: i64,
        items: i64,
        user_name: Option<String>,
    },
    /// 201.
    Created,
    /// 400 with scimType tooMany (a scanning filter past `scim.max_scanned_matches`).
    TooMany,
}

struct Req {
    /// Path and query under the tenant's SCIM base.
    path: String,
    /// POSTed when present, else GET.
    body: Option<String>,
    expect: Expect,
}

#[derive(Deserialize)]
struct ListHead {
    #[serde(rename = "totalResults")]
    total: i64,
    #[serde(rename = "itemsPerPage")]
    items: i64,
    #[serde(rename = "Resources", default)]
    resources: Vec<ResourceHead>,
}

#[derive(Deserialize)]
struct ResourceHead {
    #[serde(rename = "userName")]
    user_name: String,
}

struct Outcome {
    latency: Duration,
    ok: bool,
    status: u16,
    body: String,
}

fn list(filter: Option<&str>, start_index: Option<i64>, count: i64) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(f) = filter {
        q.append_pair("filter", f);
    }
    if let Some(s) = start_index {
        q.append_pair("startIndex", &s.to_string());
    }
    q.append_pair("count", &count.to_string());
    format!("/Users?{}", q.finish())
}

/// Why a response is not the expected one, if it is not.
fn check(expect: &Expect, status: u16, body: &str) -> Option<String> {
    match expect {
        Expect::Created => (status != 201).then(|| "expected 201".to_owned()),
        Expect::TooMany => (status != 400 || !body.contains("\"tooMany\""))
            .then(|| format!("expected 400 tooMany, got {status}")),
        Expect::List {
            total,
            items,
            user_name,
        } => {
            if status != 200 {
                return Some("expected 200".to_owned());
            }
            let head: ListHead = match serde_json::from_str(body) {
                Ok(h) => h,
                Err(e) => return Some(format!("not a ListResponse: {e}")),
            };
            if head.total != *total || head.items != *items {
                return Some(format!(
                    "expected totalResults {total} itemsPerPage {items}, got {} {}",
                    head.total, head.items
                ));
            }
            match user_name {
                Some(u) if head.resources.first().map(|r| &r.user_name) != Some(u) => {
                    Some(format!("expected userName {u}"))
                }
                _ => None,
            }
        }
    }
}

/// Sends every request, `concurrency` at a time. Returns outcomes in request order and the
/// wall time.
async fn send_all(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    reqs: Vec<Req>,
    concurrency: usize,
) -> (Vec<Outcome>, Duration) {
    let count = reqs.len();
    let reqs = Arc::new(reqs);
    let base = Arc::new(base.to_owned());
    let auth = Arc::new(format!("Bearer {token}"));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.min(count.max(1)) {
        let (client, base, auth, next, reqs) = (
            client.clone(),
            base.clone(),
            auth.clone(),
            next.clone(),
            reqs.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return out;
                }
                let r = &reqs[i];
                let url = format!("{base}{}", r.path);
                let t0 = Instant::now();
                let builder = match &r.body {
                    Some(b) => client
                        .post(url)
                        .header("content-type", "application/scim+json")
                        .body(b.clone()),
                    None => client.get(url),
                };
                let res = builder
                    .header("authorization", auth.as_str())
                    .header("accept", "application/scim+json")
                    .send()
                    .await;
                let outcome = match res {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let body = res.text().await.unwrap_or_default();
                        let latency = t0.elapsed();
                        match check(&r.expect, status, &body) {
                            None => Outcome {
                                latency,
                                ok: true,
                                status,
                                body: String::new(),
                            },
                            Some(why) => Outcome {
                                latency,
                                ok: false,
                                status,
                                body: format!("({why}) {body}"),
                            },
                        }
                    }
                    Err(e) => Outcome {
                        latency: t0.elapsed(),
                        ok: false,
                        status: 0,
                        body: format!("transport error: {e}"),
                    },
                };
                out.push((i, outcome));
            }
        }));
    }
    let mut all = Vec::with_capacity(count);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = started.elapsed();
    all.sort_by_key(|(i, _)| *i);
    (all.into_iter().map(|(_, o)| o).collect(), wall)
}

fn print_errors(label: &str, outcomes: &[Outcome]) -> usize {
    let errors: Vec<&Outcome> = outcomes.iter().filter(|o| !o.ok).collect();
    for o in errors.iter().take(5) {
        let body: String = o.body.chars().take(300).collect();
        eprintln!(
            "  {label} error after {:.0} ms: status {} body: {}",
            o.latency.as_secs_f64() * 1000.0,
            o.status,
            body.replace('\n', " ")
        );
    }
    errors.len()
}

/// One measured operation.
struct Measured {
    op: &'static str,
    n: usize,
    rate: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    errors: usize,
    clients: usize,
}

async fn measure(
    op: &'static str,
    client: &reqwest::Client,
    base: &str,
    token: &str,
    reqs: Vec<Req>,
    concurrency: usize,
) -> Measured {
    let n = reqs.len();
    let example = reqs.first().map(|r| r.path.clone()).unwrap_or_default();
    let (outcomes, wall) = send_all(client, base, token, reqs, concurrency).await;
    let errors = print_errors(op, &outcomes);
    let mut lat: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    lat.sort();
    let m = Measured {
        op,
        n,
        rate: (n - errors) as f64 / wall.as_secs_f64(),
        p50: percentile(&lat, 50.0),
        p90: percentile(&lat, 90.0),
        p99: percentile(&lat, 99.0),
        max: percentile(&lat, 100.0),
        errors,
        clients: concurrency,
    };
    println!();
    println!("{op}");
    println!("  e.g.         {example}");
    println!("  N            {n}");
    println!("  wall time    {:.2} s", wall.as_secs_f64());
    println!("  req/s        {:.1}", m.rate);
    println!(
        "  latency ms   p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        m.p50, m.p90, m.p99, m.max
    );
    println!("  errors       {errors}");
    m
}

// ---------------------------------------------------------------------------------------------
// The request mixes.

fn lookups(rng: &mut Rng, users: usize, count: usize) -> Vec<Req> {
    (0..count)
        .map(|_| {
            let u = format!("user{}", rng.below(users));
            Req {
                path: list(Some(&format!("userName eq \"{u}\"")), None, PAGE),
                body: None,
                expect: Expect::List {
                    total: 1,
                    items: 1,
                    user_name: Some(u),
                },
            }
        })
        .collect()
}

/// `userName sw "userNN"`: the first page of about 1,100 matches (at 100,000 users).
fn prefix_pages(rng: &mut Rng, exp: &Expected, count: usize) -> Vec<Req> {
    let prefixes: Vec<(&String, &i64)> = {
        let mut v: Vec<_> = exp.by_prefix.iter().collect();
        v.sort();
        v
    };
    (0..count)
        .map(|_| {
            let (p, total) = prefixes[rng.below(prefixes.len())];
            Req {
                path: list(Some(&format!("userName sw \"user{p}\"")), None, PAGE),
                body: None,
                expect: Expect::List {
                    total: *total,
                    items: (*total).min(PAGE),
                    user_name: None,
                },
            }
        })
        .collect()
}

/// `emails[type eq "work" and value ew "@example.com"]`: 90 % of the users match, past
/// `scim.max_scanned_matches` (at 100,000 users), so each answer is 400 tooMany once the `ew`
/// condition's matches, counted through the trigram index, pass the bound: what refusing costs.
fn email_too_many(exp: &Expected, count: usize) -> Vec<Req> {
    let bound = Settings::default().scim.max_scanned_matches;
    let total = exp.work_example_com;
    let filter = r#"emails[type eq "work" and value ew "@example.com"]"#;
    (0..count)
        .map(|_| Req {
            path: list(Some(filter), None, PAGE),
            body: None,
            expect: if total > bound {
                Expect::TooMany
            } else {
                Expect::List {
                    total,
                    items: total.min(PAGE),
                    user_name: None,
                }
            },
        })
        .collect()
}

/// `userName co "NNNN"` (four random digits): a handful of matches, from the trigram index.
fn substring_pages(rng: &mut Rng, users: usize, count: usize) -> Vec<Req> {
    (0..count)
        .map(|_| {
            let needle = format!("{:04}", rng.below(10_000));
            let total = (0..users)
                .filter(|i| format!("user{i}").contains(&needle))
                .count() as i64;
            Req {
                path: list(Some(&format!("userName co \"{needle}\"")), None, PAGE),
                body: None,
                expect: Expect::List {
                    total,
                    items: total.min(PAGE),
                    user_name: None,
                },
            }
        })
        .collect()
}

/// What the trigram filters compare, per seeded user (lower-cased where SCIM folds case).
struct Model {
    user_names: Vec<String>,
    emails: Vec<Vec<String>>,
    given: Vec<String>,
    family: Vec<String>,
    display: Vec<String>,
    external: Vec<String>,
}

fn model(n: usize) -> Model {
    let mut m = Model {
        user_names: Vec::with_capacity(n),
        emails: Vec::with_capacity(n),
        given: Vec::with_capacity(n),
        family: Vec::with_capacity(n),
        display: Vec::with_capacity(n),
        external: Vec::with_capacity(n),
    };
    for i in 0..n {
        let b = user_body(&format!("user{i}"), i);
        let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        m.user_names.push(s(&b["userName"]).to_lowercase());
        m.emails.push(
            b["emails"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| s(&e["value"]).to_lowercase())
                .collect(),
        );
        m.given.push(s(&b["name"]["givenName"]).to_lowercase());
        m.family.push(s(&b["name"]["familyName"]).to_lowercase());
        m.display.push(s(&b["displayName"]).to_lowercase());
        m.external.push(s(&b["externalId"]));
    }
    m
}

fn like(op: &str, have: &str, want: &str) -> bool {
    match op {
        "co" => have.contains(want),
        "sw" => have.starts_with(want),
        _ => have.ends_with(want),
    }
}

/// The answer to a filter matching `total` users: a page, or tooMany past the bound on the
/// matches a trigram filter may count.
fn page_or_too_many(total: i64) -> Expect {
    if total > Settings::default().scim.max_scanned_matches {
        Expect::TooMany
    } else {
        Expect::List {
            total,
            items: total.min(PAGE),
            user_name: None,
        }
    }
}

/// `{attr} {op} "{value}"` with `value` drawn by `pick`; the expected total from the model.
fn trigram_pages(
    rng: &mut Rng,
    m: &Model,
    count: usize,
    attr: &str,
    op: &str,
    pick: &dyn Fn(&mut Rng, &Model) -> String,
) -> Vec<Req> {
    (0..count)
        .map(|_| {
            let v = pick(rng, m);
            let want = if attr == "externalId" {
                v.clone()
            } else {
                v.to_lowercase()
            };
            let one = |col: &Vec<String>| col.iter().filter(|h| like(op, h, &want)).count();
            let total = match attr {
                "userName" => one(&m.user_names),
                "emails.value" => m
                    .emails
                    .iter()
                    .filter(|es| es.iter().any(|h| like(op, h, &want)))
                    .count(),
                "name.givenName" => one(&m.given),
                "name.familyName" => one(&m.family),
                "displayName" => one(&m.display),
                _ => one(&m.external),
            } as i64;
            Req {
                path: list(Some(&format!("{attr} {op} \"{v}\"")), None, PAGE),
                body: None,
                expect: page_or_too_many(total),
            }
        })
        .collect()
}

/// The trigram-indexed filters: each attribute once, values picked from the seeded data.
fn trigram_plan(rng: &mut Rng, m: &Model, n: usize) -> Vec<(&'static str, Vec<Req>)> {
    let users = m.user_names.len();
    let digits = |rng: &mut Rng, k: usize| format!("{:0k$}", rng.below(10usize.pow(k as u32)));
    vec![
        (
            "`emails.value co \"NNNN\"` (trigram; a few matches), count=100",
            trigram_pages(rng, m, n, "emails.value", "co", &|r, _| digits(r, 4)),
        ),
        (
            "`emails.value ew \"NNN@example.net\"` (trigram), count=100",
            trigram_pages(rng, m, n, "emails.value", "ew", &|r, _| {
                format!("{}@example.net", digits(r, 3))
            }),
        ),
        (
            "`name.familyName co \"…\"` (5 letters of a family name: ~100-2,500 matches), count=100",
            trigram_pages(rng, m, n, "name.familyName", "co", &|r, m| {
                let f = &m.family[r.below(users)];
                let at = r.below(f.len() - 4);
                f[at..at + 5].to_owned()
            }),
        ),
        (
            "`displayName co \"… …\"` (a given name and the start of a family name), count=100",
            trigram_pages(rng, m, n, "displayName", "co", &|r, m| {
                let d = &m.display[r.below(users)];
                let cut = d.find(' ').unwrap_or(0) + 4;
                d[..cut.min(d.len())].to_owned()
            }),
        ),
        (
            "`name.givenName sw \"…\"` (3 letters; ~6,250 matches counted), count=100",
            trigram_pages(rng, m, n, "name.givenName", "sw", &|r, m| {
                m.given[r.below(users)][..3].to_owned()
            }),
        ),
        (
            "`externalId ew \"NNNNN\"` (trigram), count=100",
            trigram_pages(rng, m, n, "externalId", "ew", &|r, _| digits(r, 5)),
        ),
        (
            "`userName co \"NN\"` (2 characters, no trigram): 400 tooMany from its shape",
            (0..n)
                .map(|_| Req {
                    path: list(
                        Some(&format!("userName co \"{}\"", digits(rng, 2))),
                        None,
                        PAGE,
                    ),
                    body: None,
                    expect: Expect::TooMany,
                })
                .collect(),
        ),
    ]
}

/// `name.familyName eq "..."`: about 100 matches each (at 100,000 users).
fn family_pages(rng: &mut Rng, exp: &Expected, count: usize) -> Vec<Req> {
    let names: Vec<(&String, &i64)> = {
        let mut v: Vec<_> = exp.by_family.iter().collect();
        v.sort();
        v
    };
    (0..count)
        .map(|_| {
            let (name, total) = names[rng.below(names.len())];
            Req {
                path: list(Some(&format!("name.familyName eq \"{name}\"")), None, PAGE),
                body: None,
                expect: Expect::List {
                    total: *total,
                    items: (*total).min(PAGE),
                    user_name: None,
                },
            }
        })
        .collect()
}

/// No filter at a random startIndex: how Okta and Entra ID page through all users on import.
fn all_pages(rng: &mut Rng, users: usize, count: usize) -> Vec<Req> {
    let total = users as i64;
    (0..count)
        .map(|_| {
            let start = 1 + rng.below((total - PAGE + 1).max(1) as usize) as i64;
            Req {
                path: list(None, Some(start), PAGE),
                body: None,
                expect: Expect::List {
                    total,
                    items: (total - start + 1).clamp(0, PAGE),
                    user_name: None,
                },
            }
        })
        .collect()
}

/// New users `new{j}` (the same shape as the seeded ones).
fn creates(users: usize, count: usize) -> Vec<Req> {
    (0..count)
        .map(|j| Req {
            path: "/Users".to_owned(),
            body: Some(user_body(&format!("new{j}"), users + j).to_string()),
            expect: Expect::Created,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(run());
}

async fn run() {
    let users = env_usize("BENCH_SCIM_USERS", 100_000).max(200);
    let requests = env_usize("BENCH_SCIM_REQUESTS", 5000).max(1);
    let list_requests = env_usize("BENCH_SCIM_LIST_REQUESTS", 200).max(1);
    let concurrency = env_usize("BENCH_CONCURRENCY", 16).max(1);
    let keep = std::env::var_os("BENCH_SCIM_KEEP").is_some_and(|v| !v.is_empty() && v != "0");

    ssogate::telemetry::init(&LogSettings {
        format: Default::default(),
        level: "error".into(),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::fresh(dir.path(), "ssogate");
    let seed_threads = env_usize(
        "BENCH_SCIM_SEED_THREADS",
        if db.backend() == "postgres" { 4 } else { 1 },
    )
    .max(1);
    let app = Application::build_with_clock(settings(db.url()), Arc::new(SystemClock))
        .await
        .expect("app builds");
    let scim_base = format!("http://127.0.0.1:{}/t/{TENANT}/scim/v2", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let pool = storage::build_pool(db.url(), seed_threads as u32 + 1).expect("pool");
    let (tenant, token) = setup_tenant(&pool);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    println!("ssogate SCIM benchmark");
    println!("  backend      {}", db.backend());
    println!(
        "  server       2 workers, pool_size 8, log level error; load generator in the same process"
    );
    println!(
        "  data         {users} SCIM users in one tenant (1-2 emails each, {FAMILY_NAMES} family names)"
    );
    println!(
        "  load         {requests} lookups, {list_requests} of each list page, {requests} creates; \
         {concurrency} concurrent clients"
    );

    // Untimed: the users, through the storage layer.
    let t0 = Instant::now();
    let pool2 = pool.clone();
    tokio::task::spawn_blocking(move || seed(&pool2, tenant, users, seed_threads))
        .await
        .expect("seeding");
    let seeded = t0.elapsed();
    let t1 = Instant::now();
    analyze(
        &mut pool.get().expect("db connection"),
        "VACUUM ANALYZE users, user_emails, group_members, scim_groups",
    );
    let analyzed = t1.elapsed();
    let seed_secs = t0.elapsed().as_secs_f64();
    println!(
        "  seeded       {users} users in {:.1}s ({} per transaction, {seed_threads} connection(s); {:.0} users/s){} (untimed)",
        seeded.as_secs_f64(),
        SEED_BATCH,
        users as f64 / seeded.as_secs_f64(),
        if db.backend() == "postgres" {
            format!(", VACUUM ANALYZE {:.1}s", analyzed.as_secs_f64())
        } else {
            String::new()
        }
    );

    let exp = expected(users);
    let mut rng = Rng(0x5c1a_b3e4_c4ba_5e00);

    // Untimed warm-up: the pool's connections and the hot pages.
    let warm = lookups(&mut rng, users, 50.min(requests));
    let (outcomes, _) = send_all(&client, &scim_base, &token, warm, concurrency).await;
    assert_eq!(print_errors("warm-up", &outcomes), 0, "warm-up failed");

    let plan: Vec<(&'static str, Vec<Req>)> = vec![
        (
            "`userName eq \"user…\"` (random existing user)",
            lookups(&mut rng, users, requests),
        ),
        (
            "`userName sw \"userNN\"`, count=100",
            prefix_pages(&mut rng, &exp, list_requests),
        ),
        (
            "`emails[type eq \"work\" and value ew \"@example.com\"]` (90 % match; its `ew` counted through the trigram index up to the bound): 400 tooMany",
            email_too_many(&exp, list_requests),
        ),
        (
            "`userName co \"NNNN\"` (trigram; a few matches), count=100",
            substring_pages(&mut rng, users, list_requests),
        ),
        (
            "`name.familyName eq \"…\"`, count=100",
            family_pages(&mut rng, &exp, list_requests),
        ),
        (
            "no filter, random startIndex, count=100",
            all_pages(&mut rng, users, list_requests),
        ),
    ];
    let mut results = Vec::new();
    for (op, reqs) in plan {
        results.push(measure(op, &client, &scim_base, &token, reqs, concurrency).await);
    }
    // The trigram filters, at one client (the latency of one request) and at the full
    // concurrency.
    let m = model(users);
    for clients in [1, concurrency] {
        for (op, reqs) in trigram_plan(&mut rng, &m, list_requests) {
            results.push(measure(op, &client, &scim_base, &token, reqs, clients).await);
        }
    }
    let creates = creates(users, requests);
    results.push(
        measure(
            "POST /Users (create)",
            &client,
            &scim_base,
            &token,
            creates,
            concurrency,
        )
        .await,
    );

    println!();
    println!(
        "Summary ({}, {users} users, {concurrency} clients)",
        db.backend()
    );
    println!(
        "| Backend | Operation | Clients | N | req/s | p50 | p90 | p99 | max | Errors | Seed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for m in &results {
        println!(
            "| {} | {} | {} | {} | {:.1} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} | {seed_secs:.1} s |",
            db.backend(),
            m.op,
            m.clients,
            m.n,
            m.rate,
            m.p50,
            m.p90,
            m.p99,
            m.max,
            m.errors
        );
    }

    server.abort();
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
