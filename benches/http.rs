//! Throughput over real HTTP from outside the server's process (issue 17): the release binary
//! (`target/release/ssogate serve`) runs as a child process and wrk, in its own process, loads
//! it over loopback.
//!
//! ```text
//! make bench-http           # installs wrk, builds the release binary, SQLite then PostgreSQL
//! cargo build --release --bin ssogate && cargo bench --bench http
//! TEST_DB=postgres TEST_PG_URL=postgres://postgres@127.0.0.1:5432 cargo bench --bench http
//! BENCH_RUNS=1 BENCH_ACS_N=200 BENCH_VERIFY_SECS=2 cargo bench --bench http    # smoke run
//! ```
//!
//! Each run (`BENCH_RUNS`, 3) has a new database and server process:
//! 1. ACS first sign-ins: `BENCH_ACS_N` (6000) signed unsolicited responses, one per new user,
//!    each posted once over `BENCH_ACS_CONNECTIONS` (16) connections (benches/wrk/acs.lua);
//!    then the database must hold N users.
//! 2. ACS repeat sign-ins: N more for the same subjects with another first name (attribute
//!    update); then every user must carry it.
//! 3. `GET /auth/verify` with one session cookie, `BENCH_VERIFY_CONNECTIONS` (32) connections
//!    for `BENCH_VERIFY_SECS` (10) (benches/wrk/verify.lua).
//!
//! The server's RSS is read idle and after each ACS phase. A last memory run puts three rounds
//! of N first sign-ins (new subjects each round) through one server process, RSS after each.
//! The responses are signed once, before the runs (untimed, valid for an hour); every run
//! reuses them on a new database, whose replay cache has not seen them. Any socket error,
//! unexpected status or failed check exits non-zero.
mod common;
#[path = "http/report.rs"]
mod report;
#[path = "http/server.rs"]
mod server;
#[path = "http/wrk.rs"]
mod wrk;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use common::saml::{CONN, Idp, Person, TENANT, acs_form, setup_tenant, signed_response};
use common::{Db, env_usize};
use ssogate::config::Settings;
use ssogate::protocol::saml::SpEndpoints;
use ssogate::service::admin;
use ssogate::storage::{self, DbPool};

use report::{Phase, RunRss};
use server::Server;

const FIRST_NAME: &str = "Grace";
const RENAMED: &str = "Augusta";
const MEMORY_ROUNDS: usize = 3;

pub struct Knobs {
    pub runs: usize,
    pub n: usize,
    pub verify_secs: usize,
    pub acs_connections: usize,
    pub verify_connections: usize,
}

/// What every phase needs.
struct Ctx {
    knobs: Knobs,
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    idp: Idp,
    sp: SpEndpoints,
}

/// A run's database, dropped (PostgreSQL) when the run ends, failed or not.
struct RunDb(Db);

impl Drop for RunDb {
    fn drop(&mut self) {
        self.0.drop_database();
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nbench http FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let knobs = Knobs {
        runs: env_usize("BENCH_RUNS", 3).max(1),
        n: env_usize("BENCH_ACS_N", 6000),
        verify_secs: env_usize("BENCH_VERIFY_SECS", 10).max(1),
        acs_connections: env_usize("BENCH_ACS_CONNECTIONS", 16),
        verify_connections: env_usize("BENCH_VERIFY_CONNECTIONS", 32),
    };
    ensure!(
        knobs.acs_connections >= wrk::THREADS && knobs.verify_connections >= wrk::THREADS,
        "wrk needs at least {} connections (one per thread)",
        wrk::THREADS
    );
    ensure!(
        knobs.n >= knobs.acs_connections,
        "BENCH_ACS_N ({}) must be at least BENCH_ACS_CONNECTIONS ({})",
        knobs.n,
        knobs.acs_connections
    );
    let bin = server::release_binary()?;
    wrk::check_installed()?;
    let backend = Db::fresh_backend_name();
    let tmp = tempfile::tempdir()?;
    let port = server::free_port()?;
    let sp = SpEndpoints::new(&format!("http://127.0.0.1:{port}"), TENANT, CONN);
    let ctx = Ctx {
        knobs,
        bin,
        dir: tmp.path().to_owned(),
        port,
        idp: Idp::new(),
        sp,
    };
    let k = &ctx.knobs;

    println!("ssogate over HTTP: release binary, wrk in its own process");
    println!("  backend      {backend}");
    println!("  binary       {}", ctx.bin.display());
    if let Ok(extra) = std::env::var("BENCH_SERVER_ENV") {
        println!("  server env   {extra}");
    }
    println!(
        "  runs         {} (each: new database and server process), then one memory run",
        k.runs
    );
    println!(
        "  ACS          {} unsolicited sign-ins per phase, wrk -t{} -c{}",
        k.n,
        wrk::THREADS,
        k.acs_connections
    );
    println!(
        "  verify       wrk -t{} -c{} -d{}s",
        wrk::THREADS,
        k.verify_connections,
        k.verify_secs
    );

    let signing = Instant::now();
    let first = ctx.dir.join("first.txt");
    let body_bytes = write_bodies(&ctx, &first, |i| person(format!("bench-{i}"), FIRST_NAME))?;
    let repeat = ctx.dir.join("repeat.txt");
    write_bodies(&ctx, &repeat, |i| person(format!("bench-{i}"), RENAMED))?;
    let mut memory = Vec::new();
    for r in 1..=MEMORY_ROUNDS {
        let path = ctx.dir.join(format!("memory{r}.txt"));
        write_bodies(&ctx, &path, |i| person(format!("mem{r}-{i}"), FIRST_NAME))?;
        memory.push(path);
    }
    println!(
        "  signed       {} responses in {:.1}s (untimed), form bodies of {body_bytes} bytes",
        k.n * (2 + MEMORY_ROUNDS),
        signing.elapsed().as_secs_f64()
    );

    let mut phases = [
        Phase::new("ACS first sign-ins", k.acs_connections),
        Phase::new("ACS repeat sign-ins", k.acs_connections),
        Phase::new("/auth/verify", k.verify_connections),
    ];
    let mut rss = Vec::new();
    for r in 1..=k.runs {
        println!("\nrun {r}/{} ({backend})", k.runs);
        let (runs, run_rss) = one_run(&ctx, r, &first, &repeat)?;
        for (phase, run) in phases.iter_mut().zip(runs) {
            phase.runs.push(run);
        }
        rss.push(run_rss);
    }
    println!(
        "\nmemory run ({backend}): {MEMORY_ROUNDS} rounds of {} first sign-ins on one server",
        k.n
    );
    let memory_rss = memory_run(&ctx, &memory)?;
    report::print(backend, k, &phases, &rss, &memory_rss);
    Ok(())
}

fn person(subject: String, first: &'static str) -> Person {
    Person {
        email: format!("{subject}@acme.test"),
        subject,
        first,
        last: "Hopper",
    }
}

/// N signed unsolicited responses as ACS form bodies, one a line, signed on every core.
/// Returns the mean body size in bytes.
fn write_bodies(ctx: &Ctx, path: &Path, who: impl Fn(usize) -> Person + Sync) -> Result<usize> {
    let n = ctx.knobs.n;
    let workers = std::thread::available_parallelism().map_or(2, |w| w.get());
    let chunk = n.div_ceil(workers);
    let parts: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let who = &who;
                s.spawn(move || {
                    (w * chunk..((w + 1) * chunk).min(n))
                        .map(|i| acs_form(&signed_response(&ctx.idp, &ctx.sp, None, &who(i)), None))
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut out = BufWriter::new(File::create(path)?);
    let mut bytes = 0;
    for body in parts.iter().flatten() {
        writeln!(out, "{body}")?;
        bytes += body.len();
    }
    out.flush()?;
    Ok(bytes / n)
}

/// A new database and server with the tenant seeded (after the server migrated it).
fn start(ctx: &Ctx, tag: &str) -> Result<(RunDb, Server, DbPool)> {
    let db = RunDb(Db::fresh(&ctx.dir, tag));
    let server = Server::start(&ctx.bin, db.0.url(), ctx.port, &ctx.dir, tag)?;
    let pool = storage::build_pool(db.0.url(), 2)?;
    setup_tenant(&pool, &ctx.idp, true);
    Ok((db, server, pool))
}

fn one_run(ctx: &Ctx, r: usize, first: &Path, repeat: &Path) -> Result<([wrk::Run; 3], RunRss)> {
    let n = ctx.knobs.n;
    let (_db, mut server, pool) = start(ctx, &format!("run{r}"))?;
    let idle = server.rss_kib()?;
    println!("  RSS idle                {}", report::mib(idle));
    let first = acs_phase(ctx, &server, &pool, first, "ACS first sign-ins")?;
    check_users(&pool, n, None)?;
    let after_first = server.rss_kib()?;
    println!("  RSS after first         {}", report::mib(after_first));
    let repeat = acs_phase(ctx, &server, &pool, repeat, "ACS repeat sign-ins")?;
    check_users(&pool, n, Some(RENAMED))?;
    let after_repeat = server.rss_kib()?;
    println!("  RSS after repeat        {}", report::mib(after_repeat));
    let cookie = session_cookie(ctx)?;
    let verify = verify_phase(ctx, &server, &cookie)?;
    let rss = RunRss {
        idle,
        after_first,
        after_repeat,
    };
    Ok(([first, repeat, verify], rss))
}

/// One server, MEMORY_ROUNDS rounds of first sign-ins: RSS idle, then after each round.
fn memory_run(ctx: &Ctx, rounds: &[PathBuf]) -> Result<Vec<u64>> {
    let (_db, mut server, pool) = start(ctx, "memory")?;
    let mut rss = vec![server.rss_kib()?];
    println!("  RSS idle                {}", report::mib(rss[0]));
    for (r, bodies) in rounds.iter().enumerate() {
        acs_phase(ctx, &server, &pool, bodies, &format!("round {}", r + 1))?;
        check_users(&pool, ctx.knobs.n * (r + 1), None)?;
        rss.push(server.rss_kib()?);
        println!(
            "  RSS after round {}       {}",
            r + 1,
            report::mib(rss[r + 1])
        );
    }
    Ok(rss)
}

/// wrk posts every body of `bodies` once (benches/wrk/acs.lua).
fn acs_phase(
    ctx: &Ctx,
    server: &Server,
    pool: &DbPool,
    bodies: &Path,
    label: &str,
) -> Result<wrk::Run> {
    let k = &ctx.knobs;
    // Only a backstop: the script ends wrk when the last body is answered.
    let backstop_secs = 60 + k.n / 20;
    let args = vec![
        format!("-t{}", wrk::THREADS),
        format!("-c{}", k.acs_connections),
        format!("-d{backstop_secs}s"),
        "--latency".into(),
        "-s".into(),
        wrk::script("acs.lua").display().to_string(),
        ctx.sp.acs_url.clone(),
        "--".into(),
        bodies.display().to_string(),
        wrk::THREADS.to_string(),
    ];
    let run = wrk::run(&args, "non303")?;
    println!("  {label:<23} {}", run.result_line);
    if run.error_count() > 0 || run.expected != Some(k.n as u64) {
        report_failure(&run, server, Some(pool));
        bail!(
            "{label}: {} of {} sign-ins answered, {} socket errors, {} not 303 (expected {} bodies)",
            run.requests,
            run.expected.unwrap_or(0),
            run.errors,
            run.unexpected,
            k.n
        );
    }
    Ok(run)
}

/// The session cookie of one more (untimed) unsolicited sign-in, as `name=value`.
fn session_cookie(ctx: &Ctx) -> Result<String> {
    let form = acs_form(
        &signed_response(
            &ctx.idp,
            &ctx.sp,
            None,
            &person("bench-verify".into(), FIRST_NAME),
        ),
        None,
    );
    let prefix = format!("{}=", Settings::default().session.cookie_name);
    let (status, cookie, body) = server::block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let res = client
            .post(&ctx.sp.acs_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await?;
        let status = res.status();
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next())
            .find(|c| c.starts_with(&prefix))
            .map(str::to_owned);
        Ok::<_, reqwest::Error>((status, cookie, res.text().await?))
    })?;
    match cookie {
        Some(c) if status == 303 => Ok(c),
        _ => bail!("the sign-in for /auth/verify got {status}, no {prefix}… cookie: {body}"),
    }
}

fn verify_phase(ctx: &Ctx, server: &Server, cookie: &str) -> Result<wrk::Run> {
    let k = &ctx.knobs;
    let args = vec![
        format!("-t{}", wrk::THREADS),
        format!("-c{}", k.verify_connections),
        format!("-d{}s", k.verify_secs),
        "--latency".into(),
        "-s".into(),
        wrk::script("verify.lua").display().to_string(),
        "-H".into(),
        format!("Cookie: {cookie}"),
        format!("{}/auth/verify", server.base),
    ];
    let run = wrk::run(&args, "non200")?;
    println!("  {:<23} {}", "/auth/verify", run.result_line);
    if run.error_count() > 0 || run.requests == 0 {
        report_failure(&run, server, None);
        bail!(
            "/auth/verify: {} socket errors, {} not 200 of {} responses",
            run.errors,
            run.unexpected,
            run.requests
        );
    }
    Ok(run)
}

/// What a failed phase leaves to diagnose it: wrk's output, the first refused responses, the
/// server's log and the refusals the sign-in history recorded, with their reasons.
fn report_failure(run: &wrk::Run, server: &Server, pool: Option<&DbPool>) {
    // wrk's output includes each thread's first refused response (FIRST_REFUSED).
    eprintln!("--- wrk output\n{}", run.output.trim_end());
    eprintln!("--- server log (end)\n{}", server.log_tail());
    if let Some(pool) = pool {
        match refusals(pool) {
            Ok(lines) if lines.is_empty() => eprintln!("--- sign-in history: no refusal"),
            Ok(lines) => eprintln!("--- sign-in history: latest refusals\n{}", lines.join("\n")),
            Err(e) => eprintln!("--- sign-in history unreadable: {e:#}"),
        }
    }
}

fn refusals(pool: &DbPool) -> Result<Vec<String>> {
    let mut c = pool.get()?;
    let tenant = admin::tenant_by_slug(&mut c, TENANT)?;
    let q = admin::users::SignInQuery {
        outcome: Some("failure".into()),
        limit: 5,
        ..Default::default()
    };
    let page = admin::users::sign_ins(&mut c, &tenant, &q)?;
    Ok(page
        .items
        .iter()
        .map(|a| {
            format!(
                "  {} subject {}: {}",
                a.reason,
                a.subject.as_deref().unwrap_or("-"),
                a.detail
            )
        })
        .collect())
}

/// Every sign-in committed: the tenant has `expected` users, each named `renamed` if given.
fn check_users(pool: &DbPool, expected: usize, renamed: Option<&str>) -> Result<()> {
    const PAGE: i64 = 1000;
    let mut c = pool.get()?;
    let tenant = admin::tenant_by_slug(&mut c, TENANT)?;
    let (mut users, mut named, mut offset) = (0, 0, 0);
    loop {
        let page = admin::users::list_users_by_offset(
            &mut c,
            &tenant,
            admin::users::UserViewKind::All,
            PAGE,
            offset,
        )
        .context("listing users")?;
        users += page.len();
        named += page
            .iter()
            .filter(|u| renamed.is_some_and(|r| u.first_name.as_deref() == Some(r)))
            .count();
        if (page.len() as i64) < PAGE {
            break;
        }
        offset += PAGE;
    }
    ensure!(
        users == expected,
        "{users} users in the tenant, expected {expected}: not every sign-in committed"
    );
    if let Some(name) = renamed {
        ensure!(
            named == expected,
            "{named} of {expected} users have the first name {name} after the repeat sign-ins"
        );
    }
    Ok(())
}
