//! The documentation a reader finds their way in: README.md and docs/*.md link only to files
//! and headings that exist, and the command-line reference lists exactly the commands the
//! binary has.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every page under docs/.
fn pages() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    if let Ok(dir) = std::fs::read_dir(root().join("docs")) {
        let mut docs: Vec<PathBuf> = dir
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        docs.sort();
        out.extend(docs);
    }
    out
}

/// Lines outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fence = false;
    text.lines()
        .filter(|l| {
            if l.starts_with("```") {
                fence = !fence;
                return false;
            }
            !fence
        })
        .collect()
}

/// GitHub's anchor for a heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    prose(text)
        .into_iter()
        .filter_map(|l| {
            let hashes = l.chars().take_while(|c| *c == '#').count();
            (1..=6)
                .contains(&hashes)
                .then(|| l[hashes..].strip_prefix(' '))?
        })
        .map(slug)
        .collect()
}

/// `[label](target)` links of a page's prose.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(text) {
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            out.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    out
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for target in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") || target.contains(' ') {
                continue;
            }
            checked += 1;
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let path = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            if !path.exists() {
                broken.push(format!("{}: {target} (no such file)", page.display()));
                continue;
            }
            if !anchor.is_empty() && path.extension().is_some_and(|e| e == "md") {
                let target_text = std::fs::read_to_string(&path).unwrap();
                if !anchors(&target_text).contains(anchor) {
                    broken.push(format!("{}: {target} (no such heading)", page.display()));
                }
            }
        }
    }
    assert!(checked > 10, "the link reader reads links ({checked})");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// Every command path of the binary: `tenant create`, `admin token list`, … (leaves), and the
/// groups above them.
fn cli_paths() -> (BTreeSet<String>, BTreeSet<String>) {
    fn walk(
        cmd: &clap::Command,
        prefix: &str,
        leaves: &mut BTreeSet<String>,
        all: &mut BTreeSet<String>,
    ) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let path = format!("{prefix}{}", sub.get_name());
            all.insert(path.clone());
            if sub.has_subcommands() {
                walk(sub, &format!("{path} "), leaves, all);
            } else {
                leaves.insert(path);
            }
        }
    }
    let (mut leaves, mut all) = (BTreeSet::new(), BTreeSet::new());
    walk(&ssogate::cli::Cli::command(), "", &mut leaves, &mut all);
    (leaves, all)
}

/// The command paths a reference line names: `ssogate user create|deactivate --tenant T`
/// names `user create` and `user deactivate`.
fn documented(line: &str) -> Vec<String> {
    let line = line.replace(" | ", "|");
    let Some(rest) = line.trim_start().strip_prefix("ssogate ") else {
        return Vec::new();
    };
    // Two blanks start the description column.
    let rest = rest.split("  ").next().unwrap_or_default();
    let mut paths = vec![String::new()];
    for word in rest.split_whitespace() {
        let is_command = word
            .split('|')
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
        if !is_command || word.starts_with('-') {
            break;
        }
        paths = paths
            .iter()
            .flat_map(|p| {
                word.split('|').map(move |w| {
                    if p.is_empty() {
                        w.to_owned()
                    } else {
                        format!("{p} {w}")
                    }
                })
            })
            .collect();
    }
    paths.into_iter().filter(|p| !p.is_empty()).collect()
}

/// The "Command line" section, wherever the documentation keeps it.
fn command_reference() -> (PathBuf, String) {
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        if let Some(start) = text.find("\n## Command line\n") {
            let body = &text[start + 1..];
            let end = body[3..].find("\n## ").map_or(body.len(), |e| e + 3);
            return (page, body[..end].to_owned());
        }
    }
    panic!("no page has a `## Command line` section");
}

#[test]
fn the_command_reference_lists_exactly_the_binarys_commands() {
    let (leaves, all) = cli_paths();
    assert!(leaves.contains("tenant create") && leaves.contains("admin token create"));
    let (page, reference) = command_reference();
    let named: BTreeSet<String> = reference.lines().flat_map(documented).collect();
    let missing: Vec<_> = leaves.difference(&named).collect();
    let unknown: Vec<_> = named.difference(&all).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{}: commands the binary has and the reference does not list: {missing:?}; \
         commands the reference lists and the binary does not have: {unknown:?}",
        Path::new(&page).display()
    );
}

#[test]
fn the_reference_reader_expands_alternatives() {
    assert_eq!(
        documented("ssogate user create|deactivate --tenant T"),
        ["user create", "user deactivate"]
    );
    assert_eq!(documented("ssogate serve | migrate"), ["serve", "migrate"]);
    assert_eq!(
        documented("ssogate outbox retry ID | --all-dead"),
        ["outbox retry"]
    );
    assert!(documented("                 --tenant T").is_empty());
    assert_eq!(
        documented("ssogate domain add|remove   a domain belongs to one tenant"),
        ["domain add", "domain remove"]
    );
}
