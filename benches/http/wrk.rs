//! wrk, in its own process, with the scripts under benches/wrk/; their RESULT line parsed.
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

/// wrk's threads: one per core of the 2-core machine the figures are taken on.
pub const THREADS: usize = 2;

pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("benches/wrk")
        .join(name)
}

/// Fails early, before responses are signed, when wrk is not installed.
pub fn check_installed() -> Result<()> {
    match Command::new("wrk").arg("--version").output() {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("wrk is not installed: `apt-get install wrk` (make bench-http installs it)")
        }
        Err(e) => Err(e).context("running wrk"),
    }
}

/// One wrk run, from its RESULT line.
#[derive(Debug, Clone)]
pub struct Run {
    pub requests: u64,
    /// Bodies loaded (ACS runs only).
    pub expected: Option<u64>,
    pub duration_us: u64,
    /// Socket errors: connect, read, write, timeout.
    pub errors: u64,
    /// Responses with another status than expected (non303 / non200).
    pub unexpected: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub result_line: String,
    /// All wrk printed, for a failure's report.
    pub output: String,
}

impl Run {
    pub fn per_sec(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }

    /// The count of everything that went wrong in this run.
    pub fn error_count(&self) -> u64 {
        let lost = self.expected.map_or(0, |e| e.saturating_sub(self.requests));
        self.errors + self.unexpected + lost
    }
}

/// Runs `wrk args…`; `status_key` names the script's count of unexpected statuses.
pub fn run(args: &[String], status_key: &str) -> Result<Run> {
    let out = Command::new("wrk")
        .args(args)
        .output()
        .map_err(|e| anyhow!("running wrk: {e}"))?;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!("wrk {} failed ({}):\n{output}", args.join(" "), out.status);
    }
    let line = output
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .ok_or_else(|| anyhow!("wrk printed no RESULT line:\n{output}"))?;
    let fields: HashMap<&str, u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| Ok((k, v.parse()?)))
        .collect::<Result<_>>()
        .with_context(|| format!("parsing `{line}`"))?;
    let get = |k: &str| {
        fields
            .get(k)
            .copied()
            .ok_or_else(|| anyhow!("no {k}= in `{line}`"))
    };
    Ok(Run {
        requests: get("requests")?,
        expected: fields.get("expected").copied(),
        duration_us: get("duration_us")?,
        errors: get("errors")?,
        unexpected: get(status_key)?,
        p50_us: get("p50_us")?,
        p90_us: get("p90_us")?,
        p99_us: get("p99_us")?,
        max_us: get("max_us")?,
        result_line: line.to_owned(),
        output,
    })
}
