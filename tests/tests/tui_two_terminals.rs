//! Two real `heartlink-tui` processes in tmux against the real server:
//! register, join one room, chat, a mention ringing the other terminal's
//! bell with `@1` in its room list, survive a `kill -9` and restart of the
//! server (with a message typed while offline), and never show anything
//! twice; and a call: `/call` in one terminal rings the other, `/accept`
//! there opens the call's link with the configured opener (a fake that
//! records it) and both histories tell the story. A second scene matches
//! strangers: two terminals `/match 4242`, chat under aliases, `/reveal`
//! both, and `/next` from one pairs it with a third terminal that waited.
//! Typed into with `send-keys`, read with `capture-pane`; every wait polls
//! the screen until the text appears or a deadline passes.

use heartlink_tests::TestServer;
use heartlink_tests::binaries::bin;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const WIDTH: &str = "100";
const HEIGHT: &str = "30";
/// Generous: a CI machine with 2 busy cores builds and runs everything at once.
const DEADLINE: Duration = Duration::from_secs(20);

/// A private tmux server (its own socket), killed on drop even when the test fails.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start() -> Self {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.as_ref().is_ok_and(|out| out.status.success()),
            "tmux is required for the two-terminal test (apt-get install tmux; .ci/run installs it): {version:?}"
        );
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        Self { socket: format!("heartlink-test-{}-{nanos}", std::process::id()) }
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        let output = Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("run tmux");
        assert!(output.status.success(), "tmux {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        output
    }

    /// Opens a terminal of WIDTH×HEIGHT running `heartlink-tui` with its own config dir.
    /// When the client exits, the pane keeps its last words for the failure report.
    fn open(&self, name: &str, config_dir: &Path, args: &str) {
        let command = format!(
            "HEARTLINK_CONFIG_DIR='{}' '{}' {args}; echo \"heartlink-tui exited with $?\"; sleep 600",
            config_dir.display(),
            bin("heartlink-tui").display()
        );
        self.tmux(&["new-session", "-d", "-s", name, "-x", WIDTH, "-y", HEIGHT, &command]);
    }

    /// Whether a bell rang in the terminal's window since it was last looked at (tmux's alert flag).
    fn bell_flag(&self, name: &str) -> bool {
        let out = self.tmux(&["display-message", "-p", "-t", name, "#{window_bell_flag}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    fn screen(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", name]).stdout).into_owned()
    }

    /// Types text literally, then presses Enter.
    fn type_line(&self, name: &str, text: &str) {
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
struct Terminal<'a> {
    tmux: &'a Tmux,
    name: &'static str,
    config: tempfile::TempDir,
}

impl Terminal<'_> {
    fn screen(&self) -> String {
        self.tmux.screen(self.name)
    }

    fn log(&self) -> String {
        let path: PathBuf = self.config.path().join("heartlink-tui.log");
        std::fs::read_to_string(path).unwrap_or_else(|err| format!("(no log: {err})"))
    }

    /// Polls the screen until `check` holds; fails with both screens and the log.
    fn wait_for(&self, what: &str, within: Duration, check: impl Fn(&str) -> bool) -> String {
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

    fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), DEADLINE, |screen| screen.contains(text))
    }

    fn type_line(&self, text: &str) {
        self.tmux.type_line(self.name, text);
    }
}

/// The status bar is the last non-empty line of the screen.
fn status_bar(screen: &str) -> &str {
    screen.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("")
}

fn room_id_in(screen: &str) -> String {
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
fn config_with(extra: &str) -> tempfile::TempDir {
    let config = tempfile::tempdir().expect("config dir");
    std::fs::write(config.path().join("config.toml"), format!("[media]\nimages = \"halfblocks\"\n{extra}")).expect("config");
    config
}

fn register<'a>(tmux: &'a Tmux, name: &'static str, server: &TestServer) -> Terminal<'a> {
    register_in(tmux, name, server, config_with(""))
}

/// [`register`] with a config dir prepared by the test.
fn register_in<'a>(tmux: &'a Tmux, name: &'static str, server: &TestServer, config: tempfile::TempDir) -> Terminal<'a> {
    tmux.open(name, config.path(), &format!("register --server {} --username {name}", server.url));
    let terminal = Terminal { tmux, name, config };
    terminal.wait_text("Password");
    terminal.type_line("password123");
    terminal.wait_for("connected", DEADLINE, |screen| status_bar(screen).contains("connected"));
    terminal
}

#[test]
fn two_terminals_chat_and_survive_a_server_restart() {
    let mut server = TestServer::start(&[]);
    let tmux = Tmux::start();
    let alice = register(&tmux, "alice", &server);
    let bob = register(&tmux, "bob", &server);
    assert!(alice.config.path().join("session.json").exists(), "login saves the session");

    alice.type_line("/create lobby");
    let room = room_id_in(&alice.wait_text("share its id"));
    bob.type_line(&format!("/join {room}"));
    bob.wait_text("joined lobby — 2 members: alice, bob");
    alice.wait_text("bob joined");

    alice.type_line("hello from alice");
    bob.wait_text("alice: hello from alice");
    bob.type_line("hi alice");
    alice.wait_text("bob: hi alice");
    // tmux draws ❤️ one column wide: the client measured that at start and
    // draws the text heart, with no blank cell after it.
    alice.type_line("I :heart: it");
    let screen = bob.wait_for("the heart", DEADLINE, |s| s.contains("alice: I ❤"));
    assert!(screen.contains("alice: I ❤ it") || screen.contains("alice: I ❤\u{fe0f} it"), "one cell, then the space:\n{screen}");

    // A mention in a room bob is not looking at rings his terminal and shows
    // `@1` in his room list; Alt+A takes him there.
    bob.type_line("/create elsewhere");
    bob.wait_text("share its id");
    assert!(!tmux.bell_flag("bob"), "no bell yet");
    alice.type_line("are you there @bob?");
    bob.wait_for("@1 beside the room", DEADLINE, |s| s.contains("#lobby (1) @1"));
    let deadline = Instant::now() + DEADLINE;
    while !tmux.bell_flag("bob") {
        assert!(Instant::now() < deadline, "bob's terminal did not ring:\n{}\nlog:\n{}", bob.screen(), bob.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux.tmux(&["send-keys", "-t", "bob", "M-a"]);
    let screen = bob.wait_text("alice: are you there @bob?");
    assert!(screen.contains("new since you left") && !screen.contains("@1"), "{screen}");

    server.kill9();
    let killed = Instant::now();
    for terminal in [&alice, &bob] {
        // The bar is 2 s; one more second covers polling and a busy CI machine.
        let elapsed = killed.elapsed();
        let left = Duration::from_secs(3).saturating_sub(elapsed);
        terminal.wait_for("reconnecting within 3 s of the kill", left, |s| status_bar(s).contains("reconnecting"));
    }
    alice.type_line("typed while offline");
    alice.wait_text("typed while offline  (sending…)");

    server.restart(true);
    for terminal in [&alice, &bob] {
        terminal.wait_for("connected again", Duration::from_secs(45), |s| status_bar(s).contains(" connected "));
        terminal.wait_text("reconnected —");
    }
    bob.wait_text("alice: typed while offline");
    alice.wait_for("the offline message acked", DEADLINE, |s| {
        s.contains("alice: typed while offline") && !s.contains("(sending…)")
    });

    for terminal in [&alice, &bob] {
        let screen = terminal.screen();
        for line in ["alice: hello from alice", "bob: hi alice", "alice: typed while offline"] {
            assert_eq!(screen.matches(line).count(), 1, "{}: {line:?} should appear once:\n{screen}", terminal.name);
        }
    }
}

#[test]
fn two_terminals_match_by_code_reveal_and_one_moves_on_to_a_third() {
    let server = TestServer::start(&[]);
    let tmux = Tmux::start();
    let alice = register(&tmux, "alice", &server);
    let bob = register(&tmux, "bob", &server);
    let carol = register(&tmux, "carol", &server);

    alice.type_line("/match 4242");
    alice.wait_for("the wait with its code", DEADLINE, |s| status_bar(s).contains("matching 4242"));
    bob.type_line("/match 4242");
    for terminal in [&alice, &bob] {
        terminal.wait_text("you are chatting with a stranger:");
    }
    alice.type_line("hello stranger");
    let screen = bob.wait_text(": hello stranger");
    assert!(!screen.contains("alice"), "bob must not see alice's name before both reveal:\n{screen}");
    bob.type_line("hi there");
    let screen = alice.wait_text(": hi there");
    assert!(!screen.contains("bob"), "alice must not see bob's name before both reveal:\n{screen}");

    alice.type_line("/reveal");
    alice.wait_text("you asked to reveal");
    bob.type_line("/reveal");
    bob.wait_text(" is alice");
    alice.wait_text(" is bob");
    alice.wait_text("chatting with bob (revealed)");

    // carol waits on the same code; alice's /next ends the chat with bob and pairs her with carol.
    carol.type_line("/match 4242");
    carol.wait_for("carol waiting", DEADLINE, |s| status_bar(s).contains("matching 4242"));
    alice.type_line("/next");
    bob.wait_text("ended this chat");
    for terminal in [&alice, &carol] {
        terminal.wait_text("you are chatting with a stranger:");
    }
    carol.type_line("hello from the third terminal");
    let screen = alice.wait_text(": hello from the third terminal");
    assert!(!screen.contains("carol"), "alice must not see carol's name:\n{screen}");
}

/// A fake opener for `commands.open`: appends the URL it was given to `log`.
fn fake_opener(dir: &Path, log: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("fake-opener");
    std::fs::write(&script, format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", log.display())).expect("write the opener");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("make it executable");
    script
}

#[test]
fn a_call_rings_the_other_terminal_and_accept_opens_its_link() {
    let server = TestServer::start(&["--call-url-template", "https://calls.example.org/heartlink-{call_id}", "--call-ring-secs", "120"]);
    let tmux = Tmux::start();
    let alice = register(&tmux, "alice", &server);
    let opener_dir = tempfile::tempdir().expect("opener dir");
    let opened = opener_dir.path().join("opened.txt");
    let opener = fake_opener(opener_dir.path(), &opened);
    let bob = register_in(&tmux, "bob", &server, config_with(&format!("[commands]\nopen = \"{}\"\n", opener.display())));

    alice.type_line("/create lobby");
    let room = room_id_in(&alice.wait_text("share its id"));
    bob.type_line(&format!("/join {room}"));
    bob.wait_text("joined lobby — 2 members: alice, bob");
    alice.wait_text("bob joined");

    assert!(!tmux.bell_flag("bob"), "no bell yet");
    alice.type_line("/call");
    alice.wait_text("calling lobby");
    bob.wait_text("alice is calling in lobby");
    bob.wait_text("/accept · /decline");
    let deadline = Instant::now() + DEADLINE;
    while !tmux.bell_flag("bob") {
        assert!(Instant::now() < deadline, "bob's terminal did not ring:\n{}\nlog:\n{}", bob.screen(), bob.log());
        std::thread::sleep(Duration::from_millis(100));
    }

    bob.type_line("/accept");
    let screen = bob.wait_text("https://calls.example.org/heartlink-");
    assert!(screen.contains("the call's link"), "the link is printed for remote sessions:\n{screen}");
    let deadline = Instant::now() + DEADLINE;
    let url = loop {
        if let Some(line) = std::fs::read_to_string(&opened).ok().and_then(|text| text.lines().next().map(str::to_owned)) {
            break line;
        }
        assert!(Instant::now() < deadline, "the opener was not run:\n{}\nlog:\n{}", bob.screen(), bob.log());
        std::thread::sleep(Duration::from_millis(100));
    };
    let call_id = url.strip_prefix("https://calls.example.org/heartlink-").unwrap_or_else(|| panic!("opened {url:?}"));
    assert!(call_id.len() == 36 && call_id.matches('-').count() == 4, "the server's call id in the link: {url}");

    for terminal in [&alice, &bob] {
        let screen = terminal.wait_text("alice called — bob accepted");
        assert!(!screen.contains("is calling"), "the banner is gone once answered:\n{screen}");
    }
}
