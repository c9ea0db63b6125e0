//! The pages' colors meet WCAG AA (4.5:1 for text) in the light and the dark color scheme:
//! the custom properties of static/app.css and static/admin.css, each scheme's values, and
//! the text/background pairs the sheets use.
use std::collections::HashMap;

const APP: &str = include_str!("../../static/app.css");
const ADMIN: &str = include_str!("../../static/admin.css");

/// `--name: #rrggbb` declarations in the first block that follows `selector {`, searching
/// from `from`.
fn properties(css: &str, from: usize, selector: &str) -> HashMap<String, String> {
    let start = css[from..]
        .find(&format!("{selector} {{"))
        .map(|i| from + i)
        .unwrap_or_else(|| panic!("`{selector} {{` in the sheet"));
    let body = &css[start..start + css[start..].find('}').unwrap()];
    body.split(';')
        .filter_map(|decl| {
            let (name, value) = decl.trim().rsplit_once(':')?;
            let name = name.trim().rsplit(['{', ' ', '\n']).next()?;
            let value = value.trim();
            (name.starts_with("--") && value.starts_with('#'))
                .then(|| (name[2..].to_owned(), value.to_owned()))
        })
        .collect()
}

/// Light (the first block) and dark (the block inside the prefers-color-scheme media query).
fn schemes(css: &str, selector: &str) -> [(&'static str, HashMap<String, String>); 2] {
    let dark = css
        .find("@media (prefers-color-scheme: dark)")
        .expect("a dark scheme");
    let light = properties(css, 0, selector);
    let mut dark_props = light.clone();
    dark_props.extend(properties(css, dark, selector));
    [("light", light), ("dark", dark_props)]
}

fn luminance(hex: &str) -> f64 {
    let short = hex.trim_start_matches('#');
    let hex: String = match short.len() {
        3 => short.chars().flat_map(|c| [c, c]).collect(),
        6 => short.to_owned(),
        _ => panic!("#rgb or #rrggbb colors only: {hex}"),
    };
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
}

fn ratio(a: &str, b: &str) -> f64 {
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

fn check(css: &str, selector: &str, pairs: &[(&str, &str)]) -> Vec<String> {
    let mut low = Vec::new();
    for (scheme, props) in schemes(css, selector) {
        for (text, background) in pairs {
            let (Some(fg), Some(bg)) = (props.get(*text), props.get(*background)) else {
                panic!("{selector}: --{text} or --{background} missing in the {scheme} scheme");
            };
            let r = ratio(fg, bg);
            if r < 4.5 {
                low.push(format!(
                    "{scheme}: --{text} {fg} on --{background} {bg} is {r:.2}:1"
                ));
            }
        }
    }
    low
}

#[test]
fn the_ratio_is_computed_as_wcag_says() {
    assert!((ratio("#000000", "#ffffff") - 21.0).abs() < 1e-9);
    assert!((ratio("#777777", "#ffffff") - 4.48).abs() < 0.01);
    // The dark-scheme error text the operator walk found: #b00020 on #121212.
    assert!((ratio("#b00020", "#121212") - 2.56).abs() < 0.01);
}

#[test]
fn sign_in_pages_meet_aa_in_both_schemes() {
    let low = check(
        APP,
        ":root",
        &[
            ("text", "bg"),
            ("error", "bg"),
            ("success", "bg"),
            ("warning-text", "warning-bg"),
            ("on-accent", "accent"),
        ],
    );
    assert!(low.is_empty(), "below 4.5:1: {low:#?}");
}

#[test]
fn console_meets_aa_in_both_schemes() {
    let low = check(
        ADMIN,
        "body.admin",
        &[
            ("text", "bg"),
            ("text", "surface"),
            ("muted", "bg"),
            ("muted", "surface"),
            ("accent", "surface"),
            ("accent", "accent-soft"),
            ("on-accent", "accent"),
            ("on-bad", "bad"),
            ("bad", "bad-soft"),
            ("bad", "surface"),
            ("ok", "ok-soft"),
            ("warn", "warn-soft"),
        ],
    );
    assert!(low.is_empty(), "below 4.5:1: {low:#?}");
}
