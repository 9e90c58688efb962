//! The client given several servers (`--server URL1,URL2`), against the
//! real server: a dead address listed first is skipped at once and a
//! script's `send` lands on the live one; and a chat screen whose server
//! is killed and comes back on another port (the second in its list)
//! moves there, says so, and delivers the message typed while it was away
//! exactly once. (Two independent servers share no state, so "another
//! server" is the same data dir restarted on another port.)

use heartlink_tests::tmux::{DEADLINE, Tmux, config_with, register_with, room_id_in, status_bar};
use heartlink_tests::{PASSWORD, TestServer, WAIT, WsClient, binaries, tui_cli};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A loopback address nothing listens on (bound, read back, released).
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("ws://{addr}/ws")
}

fn bodies(joined: &Value) -> Vec<String> {
    joined["messages"].as_array().expect("messages").iter().filter_map(|m| m["body"].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_server_listed_first_is_skipped_without_waiting() {
    binaries::bin("heartlink-tui");
    let server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("lobby").await["id"].clone();
    alice.join(&room).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let servers = format!("{},{}", dead_url(), server.url);
    let config = tui_cli::save_session(dir.path(), &servers, "alice", alice_est["token"].as_str().expect("token"));

    let started = Instant::now();
    let room_id = room.as_str().expect("room id").to_owned();
    let out = tui_cli::run(&config, &["send", "--room", &room_id, "via the second server"], WAIT * 3);
    let took = started.elapsed();
    assert!(out.status.success(), "send failed: {}", String::from_utf8_lossy(&out.stderr));
    // The backoff's first wait alone is longer than this bound would leave
    // after the process starts; the dead address costs one refused connect.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let message = alice.recv_type("chat_message").await;
    assert_eq!(message["body"], "via the second server");
    let (mut again, _) = WsClient::login(&server.url, "alice", PASSWORD).await;
    let joined = again.join(&room).await;
    assert_eq!(bodies(&joined), ["via the second server"], "delivered once");
}

#[test]
fn the_chat_screen_moves_to_the_next_server_and_its_outbox_arrives_once() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut server = TestServer::start(&[]);
    let second = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").to_string()
    };
    let servers = format!("{},ws://{second}/ws", server.url);
    let tmux = Tmux::start();
    let alice = register_with(&tmux, "alice", &servers, config_with(""));
    let first_port = server.addr.rsplit(':').next().expect("port").to_owned();
    alice.wait_for("the first server named", DEADLINE, |s| status_bar(s).contains(&format!(":{first_port}/ws")));

    alice.type_line("/create lobby");
    let room = room_id_in(&alice.wait_text("share its id"));
    alice.type_line("before the move");
    alice.wait_for("the first message acked", DEADLINE, |s| s.contains("alice: before the move") && !s.contains("(sending…)"));

    server.kill9();
    alice.wait_for("reconnecting", DEADLINE, |s| status_bar(s).contains("reconnecting"));
    alice.type_line("typed while away");
    alice.wait_text("typed while away  (sending…)");

    server.restart_on(&second);
    let screen = alice.wait_for("connected to the second server", Duration::from_secs(60), |s| {
        status_bar(s).contains(" connected ") && status_bar(s).contains(&format!("{second}/ws"))
    });
    assert!(!status_bar(&screen).contains(&format!(":{first_port}/")), "{screen}");
    alice.wait_text("reconnected");
    let screen = alice.wait_for("the offline message acked", DEADLINE, |s| s.contains("alice: typed while away") && !s.contains("(sending…)"));
    for line in ["alice: before the move", "alice: typed while away"] {
        assert_eq!(screen.matches(line).count(), 1, "{line:?} once on screen:\n{screen}");
    }

    runtime.block_on(async {
        let (mut reader, _) = WsClient::login(&format!("ws://{second}/ws"), "alice", PASSWORD).await;
        let joined = reader.join(&json!(room)).await;
        assert_eq!(bodies(&joined), ["before the move", "typed while away"], "history holds each message once");
    });
}
