//! Keeps the house as built: reads `src/`, resolves every `crate::` / `super::` path to the
//! module (file) it names, and fails on an import against the layer order or on a cycle
//! between modules. Test code (`#[cfg(test)]` blocks, `tests.rs` files) is not counted.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layer of each top-level module: a module may import its own layer and lower ones only.
/// domain ← protocol ← storage ← service ← http / cli / jobs, with the small leaf helpers
/// (clock, random, hmac, config) beside domain and the composition root on top.
fn layer(top: &str) -> Option<u8> {
    Some(match top {
        "domain" | "clock" | "random" | "hmac" | "config" => 0,
        "protocol" => 1,
        "storage" => 2,
        "service" => 3,
        "http" | "jobs" | "telemetry" | "metrics" => 4,
        "startup" | "demo" => 5,
        "cli" => 6,
        "" => 7,
        _ => return None,
    })
}

/// Files above this many lines say in their leading `//!` comment why they are one cohesive
/// thing.
const LONG_FILE: usize = 600;

struct Module {
    path: PathBuf,
    /// What `super::` means inside this file.
    parent: Vec<String>,
}

fn modules() -> BTreeMap<String, Module> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            let is_mod = matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            );
            if is_mod {
                parts.pop();
            }
            if parts.last().map(String::as_str) == Some("tests")
                || parts.first().map(String::as_str) == Some("bin")
            {
                continue;
            }
            // `super::` is the module path minus its last segment, for `a/b.rs` and `a/b/mod.rs` alike.
            let mut parent = parts.clone();
            parent.pop();
            out.insert(parts.join("::"), Module { path, parent });
        }
    }
    out
}

/// The file's text without its `#[cfg(test)]` items and without comments.
fn production_text(path: &Path) -> String {
    let raw = std::fs::read_to_string(path).unwrap();
    let mut kept = String::new();
    for line in raw.lines() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands `a::{b, c::{d, e}}` (already without its leading `crate::`) into full paths.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(brace) = tree.find('{') {
        let head = &tree[..brace];
        let inner = &tree[brace + 1..tree.rfind('}').unwrap_or(tree.len())];
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&format!("{prefix}{head}"), &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&format!("{prefix}{head}"), &inner[start..], out);
    } else if !tree.is_empty() {
        let name: String = tree.split_whitespace().next().unwrap_or("").to_owned();
        out.push(format!("{prefix}{name}"));
    }
}

/// Every `crate::…` path the text names, `super::` resolved against `parent`.
fn imported_paths(text: &str, parent: &[String]) -> Vec<String> {
    let mut text = text.to_owned();
    let grand = &parent[..parent.len().saturating_sub(1)];
    let as_crate = |p: &[String]| {
        if p.is_empty() {
            "crate::".to_owned()
        } else {
            format!("crate::{}::", p.join("::"))
        }
    };
    text = text.replace("super::super::", &as_crate(grand));
    text = text.replace("super::", &as_crate(parent));
    text = text.replace("self::", "crate::__self__::");
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(found) = text[at..].find("crate::") {
        let start = at + found;
        at = start + 7;
        if start > 0 && ident_char(bytes[start - 1] as char) {
            continue;
        }
        // The path runs over identifiers, `::` and (for use trees) balanced braces.
        let (mut end, mut depth) = (at, 0);
        for (i, c) in text[at..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth > 0 => depth -= 1,
                c if depth > 0 || ident_char(c) || c == ':' => {}
                ',' | ' ' | '\n' if depth > 0 => {}
                _ if depth > 0 => {}
                _ => {
                    end = at + i;
                    break;
                }
            }
            end = at + i + c.len_utf8();
        }
        expand("", &text[at..end], &mut out);
    }
    out
}

/// The longest module that `path` starts with.
fn resolve<'a>(path: &str, mods: &'a BTreeMap<String, Module>) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    (1..=parts.len()).rev().find_map(|n| {
        mods.get_key_value(&parts[..n].join("::"))
            .map(|(k, _)| k.as_str())
    })
}

fn graph() -> (BTreeMap<String, Module>, BTreeMap<String, BTreeSet<String>>) {
    let mods = modules();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, m) in &mods {
        let text = production_text(&m.path);
        let targets = edges.entry(name.clone()).or_default();
        for path in imported_paths(&text, &m.parent) {
            let path = path.replace("__self__", name);
            if let Some(to) = resolve(&path, &mods) {
                // A module naming its own ancestor (its `mod.rs`) is how children reach shared items.
                if to != name && !name.starts_with(&format!("{to}::")) && !to.is_empty() {
                    targets.insert(to.to_owned());
                }
            }
        }
    }
    (mods, edges)
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or("")
}

#[test]
fn imports_follow_the_layer_order() {
    let (_, edges) = graph();
    let mut wrong = Vec::new();
    for (from, tos) in &edges {
        for to in tos {
            match (layer(top(from)), layer(top(to))) {
                (Some(a), Some(b)) if b > a => wrong.push(format!("{from} -> {to}")),
                (None, _) | (_, None) => {
                    wrong.push(format!("{from} -> {to} (module not in the layer table)"))
                }
                _ => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against domain ← protocol ← storage ← service ← http/cli/jobs:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_module_imports_itself_through_others() {
    let (mods, edges) = graph();
    // Tarjan's strongly connected components: any component of two or more is a cycle.
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        cycles: Vec<Vec<&'a str>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.cycles.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        cycles: Vec::new(),
    };
    for name in mods.keys() {
        if !walk.index.contains_key(name.as_str()) {
            walk.visit(name);
        }
    }
    let shown: Vec<String> = walk.cycles.iter().map(|c| c.join(" <-> ")).collect();
    assert!(
        shown.is_empty(),
        "modules that import each other:\n{}",
        shown.join("\n")
    );
}

#[test]
fn long_files_say_why_they_are_one_thing() {
    let mut long = Vec::new();
    for m in modules().values() {
        let text = std::fs::read_to_string(&m.path).unwrap();
        let lines = text.lines().count();
        let head: String = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        if lines > LONG_FILE && !head.contains("One cohesive") {
            long.push(format!("{} ({lines} lines)", m.path.display()));
        }
    }
    assert!(
        long.is_empty(),
        "files over {LONG_FILE} lines without a \"One cohesive …\" note in their leading doc comment:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checker_sees_imports() {
    // The checks above must not pass because the reader found nothing.
    let (_, edges) = graph();
    let login = edges
        .keys()
        .filter(|m| m.starts_with("service::"))
        .map(|m| edges[m].len())
        .sum::<usize>();
    assert!(
        login > 20,
        "the import reader found only {login} edges out of service::*"
    );
    assert!(
        edges
            .get("http::saml")
            .is_some_and(|e| e.iter().any(|t| t.starts_with("service::")))
    );
}
