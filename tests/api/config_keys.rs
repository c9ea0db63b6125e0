//! One list of configuration keys: the keys the configuration code accepts, the keys
//! `config/default.toml` lists (set, or commented out where the default applies) and the
//! keys the configuration reference (docs/configuration.md) documents are the same set.
use std::collections::BTreeSet;

use ssogate::config::Settings;

const README: &str = include_str!("../../docs/configuration.md");
const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// What the code accepts, asked of the code itself: every settings struct refuses unknown
/// keys, and serde's refusal names the fields it expected. First the sections, then each
/// section's keys.
fn accepted_keys() -> BTreeSet<String> {
    let expected = |toml: &str| -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("probe.toml");
        std::fs::write(&path, toml).unwrap();
        let err = Settings::load(Some(&path), Vec::new())
            .expect_err("an unknown key is refused")
            .to_string();
        let (_, list) = err
            .split_once("expected ")
            .unwrap_or_else(|| panic!("the refusal names the expected keys: {err}"));
        let list = list.lines().next().unwrap_or_default();
        list.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let mut keys = BTreeSet::new();
    for section in expected("[zz_probe]\n") {
        for key in expected(&format!("[{section}]\nzz_probe = 1\n")) {
            keys.insert(format!("{section}.{key}"));
        }
    }
    keys
}

/// `section.key` of every `key = value` line in the file, and of `# key = value` lines (a
/// key left at its default, shown commented out).
fn default_toml_keys() -> BTreeSet<String> {
    let mut section = String::new();
    let mut keys = BTreeSet::new();
    for line in DEFAULT_TOML.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let line = line.trim_start_matches('#').trim_start();
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            assert!(!section.is_empty(), "`{key}` comes before any section");
            keys.insert(format!("{section}.{key}"));
        }
    }
    keys
}

/// The `section.key` names in the first column of the configuration reference (docs/configuration.md).
fn readme_keys() -> BTreeSet<String> {
    let start = README
        .find("\n## Configuration\n")
        .expect("docs/configuration.md has a Configuration section");
    let rest = &README[start + 1..];
    let section = &rest[..rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3)];
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('|').nth(1))
        .flat_map(|cell| cell.split('`').skip(1).step_by(2))
        .filter(|name| name.contains('.'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn config_code_default_toml_and_readme_list_the_same_keys() {
    let code = accepted_keys();
    assert!(
        code.contains("server.port") && code.contains("session.secret"),
        "{code:?}"
    );
    let file = default_toml_keys();
    let readme = readme_keys();
    let missing = |from: &BTreeSet<String>, of: &BTreeSet<String>| -> Vec<String> {
        of.difference(from).cloned().collect()
    };
    assert!(
        missing(&file, &code).is_empty(),
        "config/default.toml does not list {:?}",
        missing(&file, &code)
    );
    assert!(
        missing(&code, &file).is_empty(),
        "config/default.toml lists keys the code does not know: {:?}",
        missing(&code, &file)
    );
    assert!(
        missing(&readme, &code).is_empty(),
        "the configuration reference (docs/configuration.md) does not list {:?}",
        missing(&readme, &code)
    );
    assert!(
        missing(&code, &readme).is_empty(),
        "the configuration reference (docs/configuration.md) lists keys the code does not know: {:?}",
        missing(&code, &readme)
    );
}

/// The file as shipped, and with every commented-out key switched on, is a valid configuration.
#[test]
fn default_toml_loads_with_its_commented_keys_on() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = dir.path().join("default.toml");
    std::fs::write(&shipped, DEFAULT_TOML).unwrap();
    Settings::load(Some(&shipped), Vec::new()).expect("config/default.toml loads");
    let on: String = DEFAULT_TOML
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.split_once(" = ").is_some_and(|(k, _)| {
                    k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                }) =>
            {
                rest.split(" #").next().unwrap_or(rest).to_owned()
            }
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let all = dir.path().join("all.toml");
    std::fs::write(&all, &on).unwrap();
    Settings::load(Some(&all), Vec::new())
        .unwrap_or_else(|e| panic!("with the commented keys on: {e}\n{on}"));
}
