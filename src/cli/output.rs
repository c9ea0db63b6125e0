//! Printing results: JSON for scripts (`--json`), short text for people.
use std::io::Write;

use serde::Serialize;

/// Prints a line; a closed pipe (`ssogate ... | head`) ends the program quietly.
pub fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write output: {e}");
        std::process::exit(1);
    }
}

pub fn json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    emit(&serde_json::to_string_pretty(v)?);
    Ok(())
}

pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    emit(&line(headers.iter().map(|h| (*h).to_owned()).collect()));
    for r in rows {
        emit(&line(r));
    }
}

pub fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

pub fn when(unix: Option<i64>) -> String {
    unix.map(crate::clock::rfc3339)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "-".into())
}
