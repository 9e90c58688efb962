//! Finds the workspace's binaries, building them first.
//!
//! Cargo only builds a package's own binaries for its integration tests, so
//! the harness asks cargo to build `heartlink-server` and `heartlink-tui` once
//! per test process (a no-op when they are fresh). That keeps
//! `cargo test -p heartlink-tests` from running against stale binaries.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The directory holding the built binaries (target/debug or target/release).
pub fn bin_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test-binary>
        let dir = exe.parent().and_then(|deps| deps.parent()).expect("target profile dir").to_path_buf();
        let release = dir.file_name().is_some_and(|name| name == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "heartlink-server", "-p", "heartlink-client", "--bins"]);
        if release {
            build.arg("--release");
        }
        if let Some(target) = dir.parent() {
            build.env("CARGO_TARGET_DIR", target);
        }
        let status = build.status().expect("run cargo build for the binaries");
        assert!(status.success(), "building the binaries failed");
        dir
    })
    .clone()
}

/// Path of a workspace binary, e.g. `heartlink-server`.
pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}
