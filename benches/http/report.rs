//! The summary: per phase, the median run's throughput and percentiles, the range, errors;
//! the same as markdown rows for docs/benchmarks.md.
use crate::Knobs;
use crate::wrk::Run;

pub struct Phase {
    pub name: &'static str,
    pub connections: usize,
    pub runs: Vec<Run>,
}

impl Phase {
    pub fn new(name: &'static str, connections: usize) -> Self {
        Phase {
            name,
            connections,
            runs: Vec::new(),
        }
    }

    /// The run at the median throughput (of an even count, the lower of the middle two).
    fn median_run(&self) -> &Run {
        let mut sorted: Vec<&Run> = self.runs.iter().collect();
        sorted.sort_by(|a, b| a.per_sec().total_cmp(&b.per_sec()));
        sorted[(sorted.len() - 1) / 2]
    }

    fn range(&self) -> (f64, f64) {
        let rates = self.runs.iter().map(Run::per_sec);
        let min = rates.clone().fold(f64::INFINITY, f64::min);
        (min, rates.fold(0.0, f64::max))
    }

    fn errors(&self) -> u64 {
        self.runs.iter().map(Run::error_count).sum()
    }
}

/// A run's server RSS, KiB.
pub struct RunRss {
    pub idle: u64,
    pub after_first: u64,
    pub after_repeat: u64,
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// 1234.5 -> "1,235".
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[(v.len() - 1) / 2]
}

pub fn print(backend: &str, k: &Knobs, phases: &[Phase], rss: &[RunRss], memory: &[u64]) {
    let name = match backend {
        "postgres" => "PostgreSQL",
        _ => "SQLite",
    };
    println!();
    println!(
        "Summary ({name}; {} run(s); ACS phases {} sign-ins each; throughput: median run and range)",
        k.runs, k.n
    );
    println!(
        "  {:<22} {:>5} {:>10} {:>19} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "phase", "conns", "req/s", "range", "p50", "p90", "p99", "max", "errors"
    );
    for p in phases {
        let m = p.median_run();
        let (lo, hi) = p.range();
        println!(
            "  {:<22} {:>5} {:>10.1} {:>19} {:>9} {:>9} {:>9} {:>9} {:>7}",
            p.name,
            p.connections,
            m.per_sec(),
            format!("{lo:.1}-{hi:.1}"),
            ms(m.p50_us),
            ms(m.p90_us),
            ms(m.p99_us),
            ms(m.max_us),
            p.errors()
        );
    }
    let idle = median(rss.iter().map(|r| r.idle).collect());
    let first = median(rss.iter().map(|r| r.after_first).collect());
    let repeat = median(rss.iter().map(|r| r.after_repeat).collect());
    let rounds: Vec<String> = memory.iter().map(|&r| mib(r)).collect();
    println!(
        "  server RSS (median of runs): idle {}, after first sign-ins {}, after repeat {}",
        mib(idle),
        mib(first),
        mib(repeat)
    );
    println!(
        "  memory run (idle, then after each round of {} new users): {}",
        k.n,
        rounds.join(" -> ")
    );

    println!();
    println!("Rows for docs/benchmarks.md:");
    for p in phases {
        let m = p.median_run();
        let (lo, hi) = p.range();
        println!(
            "| {name} | {} | {} | {} ({}–{}) | {} | {} | {} |",
            p.name,
            p.connections,
            thousands(m.per_sec()),
            thousands(lo),
            thousands(hi),
            ms(m.p50_us),
            ms(m.p99_us),
            p.errors()
        );
    }
    println!(
        "| {name} | {} | {} | {} | {} |",
        mib(idle),
        mib(first),
        mib(repeat),
        rounds.join(" → ")
    );
}
