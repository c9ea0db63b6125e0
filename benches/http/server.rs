//! The release binary as a child process: `ssogate serve` on a loopback port, configured only
//! through `SSOGATE_*` variables, started in an empty directory so that no
//! config/default.toml is read.
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};

const SESSION_SECRET: &str = "bench-http-session-secret-with-more-than-32-chars";

/// `target/release/ssogate` (the target directory is CARGO_TARGET_TMPDIR's parent), or the
/// binary `BENCH_BINARY` names (an older build, to compare in the same sitting).
pub fn release_binary() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("BENCH_BINARY") {
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            bail!("BENCH_BINARY={} is not a file", bin.display());
        }
        return Ok(bin);
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .context("target directory")?;
    let bin = target.join("release").join("ssogate");
    if !bin.is_file() {
        bail!(
            "{} is missing: build it with `cargo build --release --bin ssogate` (make bench-http does)",
            bin.display()
        );
    }
    if let Some(newer) = newer_source(&bin) {
        eprintln!(
            "warning: {} is older than {}: rebuild it with `cargo build --release --bin ssogate`",
            bin.display(),
            newer.display()
        );
    }
    Ok(bin)
}

/// A source file modified after the binary was built, if any.
fn newer_source(bin: &Path) -> Option<PathBuf> {
    fn walk(dir: &Path, built: SystemTime) -> Option<PathBuf> {
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if let Some(p) = walk(&path, built) {
                    return Some(p);
                }
            } else if entry.metadata().ok()?.modified().ok()? > built {
                return Some(path);
            }
        }
        None
    }
    let built = std::fs::metadata(bin).ok()?.modified().ok()?;
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), built)
}

/// A loopback port nothing listens on now. Every server of a run gets the same one: the signed
/// responses name the ACS URL, port included.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub struct Server {
    child: Child,
    log: PathBuf,
    pub base: String,
}

impl Server {
    /// Starts `ssogate serve` (which applies the migrations first) and waits for /healthz;
    /// its output goes to `dir/server-{tag}.log`.
    pub fn start(bin: &Path, db_url: &str, port: u16, dir: &Path, tag: &str) -> Result<Self> {
        let base = format!("http://127.0.0.1:{port}");
        let log = dir.join(format!("server-{tag}.log"));
        let out = File::create(&log)?;
        let mut cmd = Command::new(bin);
        cmd.arg("serve").current_dir(dir);
        // Nothing inherited may configure it.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SSOGATE_") {
                cmd.env_remove(k);
            }
        }
        cmd.env_remove("RUST_LOG")
            .env("SSOGATE_DATABASE__URL", db_url)
            .env("SSOGATE_SESSION__SECRET", SESSION_SECRET)
            // A load test is a flood from one address: the rate limits would refuse most of it.
            .env("SSOGATE_RATE_LIMIT__ENABLED", "false")
            .env("SSOGATE_LOG__LEVEL", "error")
            .env("SSOGATE_METRICS__BIND", "")
            .env("SSOGATE_SERVER__PORT", port.to_string())
            .env("SSOGATE_SERVER__BASE_URL", &base);
        // BENCH_SERVER_ENV="SSOGATE_A__B=v SSOGATE_C__D=w": settings a comparison varies (e.g.
        // SSOGATE_SESSION__VERIFY_CACHE_MS=0), printed with the results.
        for pair in std::env::var("BENCH_SERVER_ENV")
            .unwrap_or_default()
            .split_whitespace()
        {
            let (k, v) = pair
                .split_once('=')
                .with_context(|| format!("BENCH_SERVER_ENV: `{pair}` is not KEY=VALUE"))?;
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut server = Server { child, log, base };
        server.wait_healthy(Duration::from_secs(60))?;
        Ok(server)
    }

    fn wait_healthy(&mut self, within: Duration) -> Result<()> {
        let url = format!("{}/healthz", self.base);
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited ({status}):\n{}", self.log_tail());
            }
            let res = block_on(reqwest::get(&url));
            if res.is_ok_and(|r| r.status() == 200) {
                return Ok(());
            }
            if started.elapsed() > within {
                bail!("no 200 from {url} within {within:?}:\n{}", self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Resident set size (VmRSS), in KiB.
    pub fn rss_kib(&mut self) -> Result<u64> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the server exited ({status}):\n{}", self.log_tail());
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc/PID/status")
    }

    /// The end of the server's log (stdout and stderr).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs one future on a throwaway single-threaded runtime (the harness is synchronous; only
/// its few untimed requests use reqwest).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}
