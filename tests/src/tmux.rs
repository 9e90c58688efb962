//! Real terminals for the TUI's end-to-end tests: a private tmux server
//! whose sessions run `heartlink-tui`, typed into with `send-keys` and read
//! with `capture-pane`. Every wait polls the screen (or whatever it checks)
//! until the condition holds or a deadline passes, and a failure shows the
//! screen and the client's log.

use crate::TestServer;
use crate::binaries::bin;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const WIDTH: &str = "100";
pub const HEIGHT: &str = "30";
/// Generous: a CI machine with 2 busy cores builds and runs everything at once.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A private tmux server (its own socket), killed on drop even when the test fails.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start() -> Self {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.as_ref().is_ok_and(|out| out.status.success()),
            "tmux is required for the two-terminal test (apt-get install tmux; .ci/run installs it): {version:?}"
        );
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        Self { socket: format!("heartlink-test-{}-{nanos}", std::process::id()) }
    }

    pub fn tmux(&self, args: &[&str]) -> std::process::Output {
        let output = Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("run tmux");
        assert!(output.status.success(), "tmux {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        output
    }

    /// Opens a terminal of WIDTH×HEIGHT running `heartlink-tui` with its own config dir.
    /// When the client exits, the pane keeps its last words for the failure report.
    pub fn open(&self, name: &str, config_dir: &Path, args: &str) {
        let command = format!(
            "HEARTLINK_CONFIG_DIR='{}' '{}' {args}; echo \"heartlink-tui exited with $?\"; sleep 600",
            config_dir.display(),
            bin("heartlink-tui").display()
        );
        self.tmux(&["new-session", "-d", "-s", name, "-x", WIDTH, "-y", HEIGHT, &command]);
    }

    /// Whether a bell rang in the terminal's window since it was last looked at (tmux's alert flag).
    pub fn bell_flag(&self, name: &str) -> bool {
        let out = self.tmux(&["display-message", "-p", "-t", name, "#{window_bell_flag}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    pub fn screen(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", name]).stdout).into_owned()
    }

    /// Types text literally, then presses Enter.
    pub fn type_line(&self, name: &str, text: &str) {
        self.tmux(&["send-keys", "-t", name, "-l", text]);
        self.tmux(&["send-keys", "-t", name, "Enter"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-L").arg(&self.socket).arg("kill-server").output();
    }
}

/// One terminal: its tmux session name and config dir (which holds its log).
pub struct Terminal<'a> {
    pub tmux: &'a Tmux,
    pub name: &'static str,
    pub config: tempfile::TempDir,
}

impl Terminal<'_> {
    pub fn screen(&self) -> String {
        self.tmux.screen(self.name)
    }

    pub fn log(&self) -> String {
        let path: PathBuf = self.config.path().join("heartlink-tui.log");
        std::fs::read_to_string(path).unwrap_or_else(|err| format!("(no log: {err})"))
    }

    /// Polls the screen until `check` holds; fails with both screens and the log.
    pub fn wait_for(&self, what: &str, within: Duration, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{}: waited {within:?} for {what}; screen:\n{screen}\nlog:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), DEADLINE, |screen| screen.contains(text))
    }

    pub fn type_line(&self, text: &str) {
        self.tmux.type_line(self.name, text);
    }
}

/// The status bar is the last non-empty line of the screen.
pub fn status_bar(screen: &str) -> &str {
    screen.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("")
}

pub fn room_id_in(screen: &str) -> String {
    screen
        .split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .find(|word| word.len() == 36 && word.matches('-').count() == 4)
        .unwrap_or_else(|| panic!("no room id on screen:\n{screen}"))
        .to_owned()
}

/// A config dir whose `config.toml` holds `extra` and draws images with
/// half-blocks: these scenes have no images, and the terminal query of
/// `images = auto` at start costs about 4 s under tmux and, on a busy
/// machine, sometimes left the screen blank past the 20 s wait.
pub fn config_with(extra: &str) -> tempfile::TempDir {
    let config = tempfile::tempdir().expect("config dir");
    std::fs::write(config.path().join("config.toml"), format!("[media]\nimages = \"halfblocks\"\n{extra}")).expect("config");
    config
}

pub fn register<'a>(tmux: &'a Tmux, name: &'static str, server: &TestServer) -> Terminal<'a> {
    register_in(tmux, name, server, config_with(""))
}

/// [`register`] with a config dir prepared by the test.
pub fn register_in<'a>(tmux: &'a Tmux, name: &'static str, server: &TestServer, config: tempfile::TempDir) -> Terminal<'a> {
    register_with(tmux, name, &server.url, config)
}

/// [`register_in`] with `--server` as given (e.g. a list `URL1,URL2`).
pub fn register_with<'a>(tmux: &'a Tmux, name: &'static str, servers: &str, config: tempfile::TempDir) -> Terminal<'a> {
    tmux.open(name, config.path(), &format!("register --server {servers} --username {name}"));
    let terminal = Terminal { tmux, name, config };
    terminal.wait_text("Password");
    terminal.type_line("password123");
    terminal.wait_for("connected", DEADLINE, |screen| status_bar(screen).contains("connected"));
    terminal
}

/// Polls `check` every 100 ms until it gives a value; fails with `context()` after `within`.
pub fn wait_until<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>, context: impl Fn() -> String) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "waited {within:?} for {what}:\n{}", context());
        std::thread::sleep(Duration::from_millis(100));
    }
}
