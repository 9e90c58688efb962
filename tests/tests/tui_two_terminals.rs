//! Two real `heartlink-tui` processes in tmux against the real server:
//! register, join one room, chat, a mention ringing the other terminal's
//! bell with `@1` in its room list, survive a `kill -9` and restart of the
//! server (with a message typed while offline), and never show anything
//! twice; and a call: `/call` in one terminal rings the other, `/accept`
//! there opens the call's link with the configured opener (a fake that
//! records it) and both histories tell the story. A second scene matches
//! strangers: two terminals `/match 4242`, chat under aliases, `/reveal`
//! both, and `/next` from one pairs it with a third terminal that waited.
//! A third sends files: `/upload` of a small PNG and a text file in one
//! terminal, an image card with the picture drawn in half-blocks and a file
//! card in both, and `/save N` in the other writes byte-identical files that
//! never replace one already there (`notes-1.txt`).
//! Typed into with `send-keys`, read with `capture-pane`; every wait polls
//! the screen until the text appears or a deadline passes.

use heartlink_tests::TestServer;
use heartlink_tests::media_client::sha256_hex;
use heartlink_tests::tmux::{DEADLINE, Terminal, Tmux, config_with, register, register_in, room_id_in, status_bar, wait_until};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// A 160×96 PNG (a few KB) whose rows change colour, so half-blocks draw
/// it with `▀`/`▄` over several cells (a cell is ~10×20 pixels).
fn gradient_png(path: &Path) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(160, 96, |x, y| image::Rgb([(y * 2) as u8, 255 - (y * 2) as u8, x as u8]));
    picture.save_with_format(path, image::ImageFormat::Png).expect("write the PNG");
    std::fs::read(path).expect("read the PNG back")
}

/// The number the card showing `marker` offers for `/save N` on this screen.
fn save_number(screen: &str, marker: &str) -> usize {
    let line = screen.lines().find(|line| line.contains(marker) && line.contains("/save ")).unwrap_or_else(|| panic!("no card with {marker}:\n{screen}"));
    let after = &line[line.find("/save ").map_or(0, |at| at + "/save ".len())..];
    after.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no /save number in {line:?}"))
}

/// `/save N` of the card showing `marker`; waits until `expected` exists in `dir` with the bytes of `original`.
fn save_and_check(terminal: &Terminal<'_>, marker: &str, dir: &Path, expected: &str, original: &[u8]) {
    let n = save_number(&terminal.screen(), marker);
    terminal.type_line(&format!("/save {n}"));
    let path = dir.join(expected);
    let want = sha256_hex(original);
    wait_until(
        &format!("{} to hold the bytes sent", path.display()),
        DEADLINE,
        || std::fs::read(&path).ok().filter(|bytes| sha256_hex(bytes) == want),
        || format!("files: {:?}\nscreen:\n{}\nlog:\n{}", std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>()), terminal.screen(), terminal.log()),
    );
    let told = format!(" to {}", path.display());
    terminal.wait_for("the saved notice", DEADLINE, |s| s.lines().any(|line| line.contains("saved ") && line.contains(&told)));
}

fn has_half_blocks(screen: &str) -> bool {
    screen.chars().filter(|c| matches!(c, '▀' | '▄')).count() >= 8
}

#[test]
fn two_terminals_send_an_image_and_a_file_and_save_them() {
    let server = TestServer::start(&[]);
    let tmux = Tmux::start();
    let files = tempfile::tempdir().expect("files dir");
    let downloads = tempfile::tempdir().expect("download dir");
    let alice = register(&tmux, "alice", &server);
    let bob = register_in(&tmux, "bob", &server, config_with(&format!("download_dir = \"{}\"\n", downloads.path().display())));

    alice.type_line("/create files");
    let room = room_id_in(&alice.wait_text("share its id"));
    bob.type_line(&format!("/join {room}"));
    bob.wait_text("joined files — 2 members: alice, bob");

    let png = gradient_png(&files.path().join("photo.png"));
    let notes = b"shopping list\n- tea\n- \xe2\x9d\xa4 honey\n".to_vec();
    std::fs::write(files.path().join("notes.txt"), &notes).expect("write the text file");

    alice.type_line(&format!("/upload {}", files.path().join("photo.png").display()));
    for terminal in [&alice, &bob] {
        // Its size and dimensions give way in a pane this narrow; the name and commands stay.
        terminal.wait_text("📷 photo.png");
        // The picture itself, decoded off the UI thread and drawn in half-blocks.
        terminal.wait_for("the picture in half-blocks", DEADLINE, |s| has_half_blocks(s) && !s.contains("loading the picture"));
    }
    alice.type_line(&format!("/upload {}", files.path().join("notes.txt").display()));
    for terminal in [&alice, &bob] {
        let screen = terminal.wait_for("the text file's card", DEADLINE, |s| s.lines().any(|line| line.contains("📎 notes.txt") && line.contains("/save ")));
        assert_eq!(screen.matches("📷 photo.png").count(), 1, "each card once:\n{screen}");
    }

    save_and_check(&bob, "📷 photo.png", downloads.path(), "photo.png", &png);
    save_and_check(&bob, "📎 notes.txt", downloads.path(), "notes.txt", &notes);
    // Saved again: a new name, and the first copy is left as it was.
    save_and_check(&bob, "📎 notes.txt", downloads.path(), "notes-1.txt", &notes);
    assert_eq!(std::fs::read(downloads.path().join("notes.txt")).expect("the first copy"), notes);
    let mut names: Vec<String> = std::fs::read_dir(downloads.path()).expect("list").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["notes-1.txt", "notes.txt", "photo.png"], "only the saved files, no partial ones left");
}
