//! Runs `heartlink-tui`'s script commands (`send`, `download`, `tail`…) as a
//! script would, with a saved session and a deadline on every run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `heartlink-tui --config-dir DIR ARGS…` with stdin closed and piped output.
pub fn command(config_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(crate::binaries::bin("heartlink-tui"));
    command.arg("--config-dir").arg(config_dir).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

/// Runs `heartlink-tui` to completion; fails the test if it takes longer than `within`.
pub fn run(config_dir: &Path, args: &[&str], within: Duration) -> Output {
    let mut child = command(config_dir, args).spawn().expect("start heartlink-tui");
    let started = Instant::now();
    while child.try_wait().expect("wait for heartlink-tui").is_none() {
        if started.elapsed() > within {
            let _ = child.kill();
            panic!("heartlink-tui {args:?} did not finish within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("heartlink-tui output")
}

/// Writes the session a `heartlink-tui login` would have saved, in a config
/// dir of its own under `dir`; returns that config dir.
pub fn save_session(dir: &Path, server_url: &str, username: &str, token: &str) -> PathBuf {
    let config = dir.join(username);
    std::fs::create_dir_all(&config).expect("config dir");
    let session = serde_json::json!({"server": server_url, "username": username, "token": token, "rooms": []});
    std::fs::write(config.join("session.json"), session.to_string()).expect("session.json");
    config
}
