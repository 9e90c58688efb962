//! `heartlink-server admin` against a running server and a stopped data dir:
//! account bans (4003 within a second, `banned` on login and resume, unban
//! restores), listings, a refused data dir, and one admin at a time.

use heartlink_tests::admin_cli::{admin, finish, spawn_admin};
use heartlink_tests::server_process::embedded_store_only;
use heartlink_tests::{PASSWORD, TestServer, WsClient};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn ban_user_closes_a_running_users_connection_with_4003_within_a_second_and_unban_lets_them_back() {
    let server = TestServer::start(&[]);
    let (mut mallory, established) = WsClient::register(&server.url, "mallory").await;
    let token = established["token"].as_str().expect("token").to_owned();
    let (mut second_tab, _) = WsClient::resume(&server.url, &token).await;
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("lobby").await;
    alice.join(&room["id"]).await;
    mallory.join(&room["id"]).await;
    alice.sync().await;

    let dir = server.data_dir().to_path_buf();
    let started = Instant::now();
    let banned = tokio::task::spawn_blocking(move || admin(&dir, &["ban-user", "Mallory", "--reason", "spamming the lobby"]));
    let banned = banned.await.expect("admin task");
    let done = Instant::now();
    let printed = banned.ok();
    assert!(printed.contains("banned mallory") && printed.contains("connections were closed"), "{printed}");

    for connection in [&mut mallory, &mut second_tab] {
        let (closed, _) = connection.expect_close().await;
        assert_eq!(closed.code, 4003, "{closed:?}");
        assert!(closed.reason.contains("spamming the lobby"), "{closed:?}");
    }
    let latency = done.elapsed();
    assert!(latency < Duration::from_secs(1), "closed {latency:?} after the command returned");
    eprintln!("ban → 4003 on both connections: {latency:?} after the command returned, {:?} after it started", started.elapsed());

    // Alice is not touched; she sees mallory leave like any disconnect.
    alice.sync().await;

    let mut login = WsClient::connect(&server.url).await;
    let refusal = login.expect_error(json!({"type": "login", "username": "mallory", "password": PASSWORD}), "banned").await;
    assert!(refusal["message"].as_str().is_some_and(|m| m.contains("spamming the lobby")), "{refusal}");
    let mut resume = WsClient::connect(&server.url).await;
    resume.expect_error(json!({"type": "resume", "token": token}), "banned").await;
    // A wrong password is still just a wrong password: the ban is told only to the owner.
    login.expect_error(json!({"type": "login", "username": "mallory", "password": "not the password"}), "bad_credentials").await;

    let listed = admin(server.data_dir(), &["users"]).ok();
    let line = listed.lines().find(|line| line.contains("mallory")).expect("mallory listed");
    assert!(line.contains("BANNED: spamming the lobby"), "{listed}");
    assert!(!listed.lines().any(|line| line.contains("alice") && line.contains("BANNED")), "{listed}");

    let unbanned = admin(server.data_dir(), &["unban-user", "mallory"]).ok();
    assert!(unbanned.contains("unbanned mallory"), "{unbanned}");
    let (_back, _) = WsClient::login(&server.url, "mallory", PASSWORD).await;
    let (_resumed, _) = WsClient::resume(&server.url, &token).await;
    let again = admin(server.data_dir(), &["unban-user", "mallory"]).ok();
    assert!(again.contains("was not banned"), "{again}");
}

#[tokio::test]
async fn admin_works_on_a_stopped_data_dir_and_the_ban_holds_after_a_restart() {
    if !embedded_store_only("admin on a stopped data dir opens sled") {
        return;
    }
    let mut server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (_bob, _) = WsClient::register(&server.url, "bob").await;
    let room = alice.create_room("tea\u{2028}room").await;
    alice.join(&room["id"]).await;
    alice.post(&room["id"], "c1", "hello").await;
    drop(alice);
    assert!(server.terminate().success());
    assert!(!server.data_dir().join("admin.sock").exists(), "the socket goes with the server");

    let users = admin(server.data_dir(), &["users"]).ok();
    assert!(users.contains("alice") && users.contains("bob") && users.ends_with("2 users\n"), "{users}");
    let page = admin(server.data_dir(), &["users", "--limit", "1"]).ok();
    let next = page.lines().last().and_then(|line| line.split("--after ").nth(1)).expect("a cursor").to_owned();
    let rest = admin(server.data_dir(), &["users", "--limit", "1", "--after", &next]).ok();
    assert!(rest.ends_with("1 user\n") && !rest.contains("--after"), "{rest}");
    assert_ne!(page.lines().next(), rest.lines().next(), "the second page goes on from the first");

    let rooms = admin(server.data_dir(), &["rooms"]).ok();
    assert!(rooms.contains("group") && rooms.contains("1 msgs"), "{rooms}");
    // A line separator would break the listing's lines; the name is shown escaped.
    assert!(!rooms.contains('\u{2028}') && rooms.contains("tea\\u{2028}room"), "{rooms:?}");

    let banned = admin(server.data_dir(), &["ban-user", "bob", "--reason", "offline ban"]).ok();
    assert!(banned.contains("no server is running"), "{banned}");
    server.restart(false);
    let mut login = WsClient::connect(&server.url).await;
    login.expect_error(json!({"type": "login", "username": "bob", "password": PASSWORD}), "banned").await;
    WsClient::login(&server.url, "alice", PASSWORD).await;
}

#[tokio::test]
async fn bad_input_gets_a_defined_answer_and_changes_nothing() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("r").await;
    let room_id = room["id"].as_str().expect("room id").to_owned();
    let dir = server.data_dir();
    let socket_mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.join("admin.sock")).expect("the admin socket").permissions());
    assert_eq!(socket_mode & 0o777, 0o600, "only the server's user may use the admin socket");

    let unknown = admin(dir, &["ban-user", "nobody"]).failed(3);
    assert!(unknown.contains("no user named nobody"), "{unknown}");
    admin(dir, &["ban-user", "not a name!"]).failed(2);
    let long = "x".repeat(101);
    admin(dir, &["ban-user", "alice", "--reason", &long]).failed(2);
    admin(dir, &["ban-user", "alice", "--reason", "line\nbreak"]).failed(2);
    admin(dir, &["delete-message", &room_id, "1"]).failed(3);
    let other_room = "00000000-0000-4000-8000-000000000000";
    let no_room = admin(dir, &["delete-message", other_room, "1"]).failed(3);
    assert!(no_room.contains("no room"), "{no_room}");
    admin(dir, &["users", "--limit", "0"]).failed(2);
    admin(dir, &["users", "--after", "not-an-id"]).failed(2);
    WsClient::login(&server.url, "alice", PASSWORD).await;

    let parent = tempfile::tempdir().expect("temp dir");
    let missing = admin(&parent.path().join("nothing-here"), &["users"]).failed(5);
    assert!(missing.contains("no data dir"), "{missing}");
    assert!(!parent.path().join("nothing-here").exists(), "a missing data dir is not created");
    std::fs::write(parent.path().join("notes.txt"), "mine").expect("write");
    let foreign = admin(parent.path(), &["users"]).failed(5);
    assert!(foreign.contains("not a heartlink data dir"), "{foreign}");

    // The lock is held (by the server) but its socket is gone: refused, not
    // opened beside it. A node on PostgreSQL has no embedded store there to
    // open: its data dir is refused as not holding one.
    std::fs::remove_file(dir.join("admin.sock")).expect("remove the socket");
    if heartlink_tests::server_process::test_store_for(dir).is_none() {
        let refused = admin(dir, &["ban-user", "alice"]).failed(4);
        assert!(refused.contains("in use") && refused.contains("refusing to open it"), "{refused}");
    } else {
        let refused = admin(dir, &["ban-user", "alice"]).failed(5);
        assert!(refused.contains("not a heartlink data dir"), "{refused}");
    }
    WsClient::login(&server.url, "alice", PASSWORD).await;
    if !embedded_store_only("a damaged sled database is refused by admin") {
        return;
    }

    // A damaged data dir is refused by name, never opened as an empty one.
    let damaged = tempfile::tempdir().expect("temp dir");
    let copy = damaged.path().join("data");
    let mut stopped = TestServer::start(&[]);
    WsClient::register(&stopped.url, "carol").await;
    assert!(stopped.terminate().success());
    std::fs::create_dir(&copy).expect("mkdir");
    std::fs::copy(stopped.data_dir().join("heartlink.json"), copy.join("heartlink.json")).expect("copy the marker");
    std::fs::write(copy.join("db"), b"not a database").expect("write");
    let broken = admin(&copy, &["users"]).failed(5);
    assert!(broken.contains("damaged") || broken.contains("cannot be opened"), "{broken}");
}

/// Posts `count` messages of `size` bytes to a room (enough to fill the
/// pipes between an export and a reader that does not read).
async fn fill(url: &str, room: &serde_json::Value, count: usize, size: usize) {
    let (mut writer, _) = WsClient::login(url, "alice", PASSWORD).await;
    writer.join(room).await;
    let body = "x".repeat(size);
    for batch in (0..count).collect::<Vec<_>>().chunks(50) {
        for n in batch {
            writer.send(json!({"type": "send", "room_id": room, "client_msg_id": format!("f{n}"), "body": body})).await;
        }
        for _ in batch {
            writer.recv_until("ack").await;
        }
    }
}

#[tokio::test]
async fn a_second_admin_at_once_is_refused_with_a_clear_message() {
    if !embedded_store_only("two admin commands on a stopped data dir: sled's lock") {
        return;
    }
    let mut server = TestServer::start(&["--send-rate", "0"]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("big").await;
    fill(&server.url, &room["id"], 400, 3_900).await;

    let rooms = admin(server.data_dir(), &["rooms"]).ok();
    assert!(rooms.contains("400 msgs"), "{rooms}");
    // Through the socket: an export whose reader does not read holds the server's turn.
    let stalled = Stalled::start(server.data_dir());
    let busy = admin(server.data_dir(), &["users"]).failed(4);
    assert!(busy.contains("another admin command is running"), "{busy}");
    stalled.drain();

    // On a stopped data dir: the first admin holds the lock.
    assert!(server.terminate().success());
    let stalled = Stalled::start(server.data_dir());
    let busy = admin(server.data_dir(), &["ban-user", "alice"]).failed(4);
    assert!(busy.contains("in use"), "{busy}");
    stalled.drain();
    let users = admin(server.data_dir(), &["users"]).ok();
    assert!(users.contains("alice") && !users.contains("BANNED"), "the refused ban changed nothing: {users}");
}

/// An `admin export` whose output is not read: once it has written its
/// header it holds the data (the server's turn, or the data dir's lock)
/// until its pipe is drained.
struct Stalled {
    child: std::process::Child,
    output: std::io::BufReader<std::process::ChildStdout>,
}

impl Stalled {
    fn start(dir: &std::path::Path) -> Self {
        use std::io::BufRead;
        let mut child = spawn_admin(dir, &["export"]);
        let mut output = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut header = String::new();
        output.read_line(&mut header).expect("read the export's header");
        assert!(header.starts_with(r#"{"kind":"header""#), "{header}");
        Self { child, output }
    }

    /// Reads the rest of the export; it must complete.
    fn drain(mut self) {
        use std::io::Read;
        let mut rest = String::new();
        self.output.read_to_string(&mut rest).expect("read the export");
        assert!(rest.lines().last().is_some_and(|line| line.starts_with(r#"{"kind":"end""#)), "the export completed");
        finish(self.child).ok();
    }
}
