//! A call that rings out unanswered: the server appends `missed` itself
//! (sender the caller, `client_msg_id` `missed-<call_id>`, `ts` ≥
//! `expires_at`), exactly once, also when it was killed while the call rang
//! or was down when the ring expired. And the startup check of
//! `--call-url-template`.

use heartlink_tests::{TestServer, WAIT, WsClient, now_ms};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Alice and Bob in one room, joined; returns the room id and Bob's token too.
async fn pair(server: &TestServer) -> (Value, WsClient, WsClient, String) {
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut bob, established) = WsClient::register(&server.url, "bob").await;
    let room_id = alice.create_room("ring").await["id"].clone();
    alice.join(&room_id).await;
    bob.join(&room_id).await;
    alice.recv_type("user_joined").await;
    (room_id, alice, bob, established["token"].as_str().expect("token").to_owned())
}

/// Checks that `message` is the `missed` of `invite`.
fn assert_missed(message: &Value, invite: &Value) {
    let call = &invite["call"];
    assert_eq!(message["call"], json!({"call_id": call["call_id"], "action": "missed"}), "{message}");
    assert_eq!(message["sender"], invite["sender"], "sent as the caller");
    assert_eq!(message["client_msg_id"], format!("missed-{}", call["call_id"].as_str().unwrap_or_default()));
    assert!(message["ts"].as_u64() >= call["expires_at"].as_u64(), "ts {} before expires_at {}", message["ts"], call["expires_at"]);
    assert!(message["seq"].as_u64() > invite["seq"].as_u64());
}

/// The `missed` of `invite`, from the `joined` reply or, if not yet there, live.
async fn missed_after_join(bob: &mut WsClient, room_id: &Value, invite: &Value) -> Value {
    let joined = bob.join(room_id).await;
    let listed = joined["messages"].as_array().expect("messages").iter().find(|m| m["call"]["action"] == "missed").cloned();
    let missed = match listed {
        Some(missed) => missed,
        None => bob.recv_until("chat_message").await.0,
    };
    assert_missed(&missed, invite);
    missed
}

/// How many `missed` the room's history holds (it is short: one page).
async fn missed_count(client: &mut WsClient, room_id: &Value) -> usize {
    let history = client.request(json!({"type": "history", "room_id": room_id}), "history").await;
    assert_eq!(history["has_more"], false);
    history["messages"].as_array().expect("messages").iter().filter(|m| m["call"]["action"] == "missed").count()
}

#[tokio::test]
async fn an_unanswered_call_is_missed_once_and_takes_no_answer_after() {
    let server = TestServer::start(&["--call-ring-secs", "1"]);
    let (room_id, mut alice, mut bob, _) = pair(&server).await;
    let invite = alice.invite(&room_id, "call-1").await;
    assert_eq!(bob.recv_type("chat_message").await["seq"], invite["seq"]);
    let started = Instant::now();
    // Nobody answers: both hear the server's missed, within the ring and a bit.
    let missed = bob.recv_type("chat_message").await;
    assert_missed(&missed, &invite);
    assert!(started.elapsed() < Duration::from_millis(1000 + 3000), "rang out late: {:?}", started.elapsed());
    assert_eq!(alice.recv_type("chat_message").await, missed);
    let call_id = invite["call"]["call_id"].clone();
    bob.answer_refused(&room_id, "accept", &call_id, "bad_request").await;
    alice.answer_refused(&room_id, "cancel", &call_id, "bad_request").await;
    // Once: nothing more comes, and the history holds one.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    bob.assert_quiet().await;
    assert_eq!(missed_count(&mut bob, &room_id).await, 1);
}

#[tokio::test]
async fn a_call_ringing_when_the_server_is_killed_is_missed_once_after_the_restart() {
    let mut server = TestServer::start(&["--call-ring-secs", "4"]);
    let (room_id, mut alice, mut bob, bob_token) = pair(&server).await;
    let invite = alice.invite(&room_id, "call-1").await;
    bob.recv_type("chat_message").await;
    server.kill9();
    drop((alice, bob));
    server.restart(false);
    let (mut bob, _) = WsClient::resume(&server.url, &bob_token).await;
    missed_after_join(&mut bob, &room_id, &invite).await;
    bob.assert_quiet().await;
    assert_eq!(missed_count(&mut bob, &room_id).await, 1);

    // Durable and never again: another kill and restart change nothing.
    server.kill9();
    drop(bob);
    server.restart(false);
    let (mut bob, _) = WsClient::resume(&server.url, &bob_token).await;
    bob.join(&room_id).await;
    assert_eq!(missed_count(&mut bob, &room_id).await, 1);
    bob.answer_refused(&room_id, "accept", &invite["call"]["call_id"], "bad_request").await;
    bob.assert_quiet().await;
}

#[tokio::test]
async fn a_ring_that_expired_while_the_server_was_down_is_missed_at_startup() {
    let mut server = TestServer::start(&["--call-ring-secs", "1"]);
    let (room_id, mut alice, _bob, bob_token) = pair(&server).await;
    let invite = alice.invite(&room_id, "call-1").await;
    server.kill9();
    // Let the ring expire while nothing runs.
    let expires_at = invite["call"]["expires_at"].as_u64().expect("expires_at");
    tokio::time::sleep(Duration::from_millis(expires_at.saturating_sub(now_ms()) + 300)).await;
    server.restart(false);
    let (mut bob, _) = WsClient::resume(&server.url, &bob_token).await;
    missed_after_join(&mut bob, &room_id, &invite).await;
    assert_eq!(missed_count(&mut bob, &room_id).await, 1);
}

/// Runs `heartlink-server start` with `args`; it must exit at once with a
/// failure. Returns its stderr.
fn refused_start(args: &[&str]) -> String {
    let data = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(heartlink_tests::binaries::bin("heartlink-server"))
        .args(["start", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start heartlink-server");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().expect("stderr");
    assert!(!status.success(), "{args:?} must stop the server");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn the_server_refuses_to_start_with_a_template_that_makes_no_call_link() {
    let stderr = refused_start(&["--call-url-template", "https://meet.example.org/heartlink"]);
    assert!(stderr.contains("--call-url-template") && stderr.contains("{call_id}"), "{stderr}");
    let stderr = refused_start(&["--call-url-template", "javascript:alert('{call_id}')"]);
    assert!(stderr.contains("http://") && stderr.contains("https://"), "{stderr}");
    let stderr = refused_start(&["--call-url-template", "meet/{call_id}"]);
    assert!(stderr.contains("valid URL"), "{stderr}");
    let stderr = refused_start(&["--call-ring-secs", "0"]);
    assert!(stderr.contains("--call-ring-secs"), "{stderr}");
    // And a good one starts.
    let server = TestServer::start(&["--call-url-template", "http://127.0.0.1:9/{call_id}", "--call-ring-secs", "3600"]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room_id = alice.create_room("r").await["id"].clone();
    alice.join(&room_id).await;
    let invite = alice.invite(&room_id, "c").await;
    assert_eq!(invite["call"]["url"], format!("http://127.0.0.1:9/{}", invite["call"]["call_id"].as_str().unwrap_or_default()));
}
