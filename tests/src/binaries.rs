//! Finds the workspace's binaries, building them first.
//!
//! Cargo only builds a package's own binaries for its integration tests, so
//! the harness asks cargo to build the package of each binary a test uses,
//! once per test process (a no-op when it is fresh). That keeps
//! `cargo test -p heartlink-tests` from running against stale binaries.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The directory holding the built binaries (target/debug or target/release).
fn target_profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test-binary>
    exe.parent().and_then(|deps| deps.parent()).expect("target profile dir").to_path_buf()
}

fn build(package: &str) {
    let dir = target_profile_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", package, "--bins"]);
    if dir.file_name().is_some_and(|name| name == "release") {
        build.arg("--release");
    }
    if let Some(target) = dir.parent() {
        build.env("CARGO_TARGET_DIR", target);
    }
    // `cargo test` gives the test process the variables of the package under
    // test; passed on, they differ from the outer cargo's environment, and
    // build scripts that watch them (ring's watches CARGO_MANIFEST_DIR)
    // made every inner build and the next outer one rebuild ring, rustls
    // and both binaries: about 30 s on 2 busy cores, each time.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let per_package = ["CARGO_MANIFEST_", "CARGO_PKG_", "CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR"];
        if per_package.iter().any(|prefix| name.starts_with(prefix)) {
            build.env_remove(name.as_ref());
        }
    }
    let status = build.status().expect("run cargo build for the binaries");
    assert!(status.success(), "building {package} failed");
}

/// Path of a workspace binary (`heartlink-server`, `heartlink-tui`), built first.
pub fn bin(name: &str) -> PathBuf {
    static SERVER: OnceLock<()> = OnceLock::new();
    static CLIENT: OnceLock<()> = OnceLock::new();
    match name {
        "heartlink-tui" => CLIENT.get_or_init(|| build("heartlink-client")),
        _ => SERVER.get_or_init(|| build("heartlink-server")),
    };
    target_profile_dir().join(name)
}
