//! What the built binary links: signatures are verified in Rust, so neither libxml2 nor
//! libxmlsec1 may be among its shared libraries.
use std::process::Command;

#[test]
fn the_binary_links_neither_libxml2_nor_libxmlsec1() {
    let binary = env!("CARGO_BIN_EXE_ssogate");
    let out = Command::new("ldd")
        .arg(binary)
        .output()
        .expect("ldd runs (Debian's libc-bin)");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ldd {binary} failed: {}{listing}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A listing without libc would prove nothing about the libraries below.
    assert!(
        listing
            .lines()
            .any(|l| l.trim_start().starts_with("libc.so")),
        "ldd listed no libc for {binary}:\n{listing}"
    );
    for lib in ["libxml2", "libxmlsec1"] {
        let found: Vec<&str> = listing
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with(lib))
            .collect();
        assert!(found.is_empty(), "{binary} links {lib}: {found:?}");
    }
}
