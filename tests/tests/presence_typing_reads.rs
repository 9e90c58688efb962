//! Presence (per user over all of their connections), typing indicators and
//! read markers (PROTOCOL.md "Server → client", "Decisions: Messages").

use heartlink_tests::{TestServer, WsClient};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Alice and bob, both joined to one room; bob's `user_joined` consumed.
struct Pair {
    alice: WsClient,
    alice_est: Value,
    bob: WsClient,
    bob_est: Value,
    room_id: Value,
}

async fn pair(server: &TestServer) -> Pair {
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("general").await;
    alice.join(&room["id"]).await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    bob.join(&room["id"]).await;
    alice.recv_type("user_joined").await;
    Pair { alice, alice_est, bob, bob_est, room_id: room["id"].clone() }
}

/// Another connection of the user, joined to the room.
async fn second_connection(server: &TestServer, established: &Value, room_id: &Value) -> WsClient {
    let (mut client, _) = WsClient::resume(&server.url, established["token"].as_str().expect("token")).await;
    client.join(room_id).await;
    client
}

/// The next `count` frames, sorted, for events whose relative order is not fixed.
async fn next_frames(client: &mut WsClient, count: usize) -> Vec<String> {
    let mut frames = Vec::new();
    for _ in 0..count {
        frames.push(without_last_seen(client.recv().await).to_string());
    }
    frames.sort();
    frames
}

/// A frame without its `last_seen` (a time; presence_grace.rs checks it).
fn without_last_seen(mut frame: Value) -> Value {
    if let Some(object) = frame.as_object_mut() {
        object.remove("last_seen");
    }
    frame
}

fn sorted(values: &[Value]) -> Vec<String> {
    let mut values: Vec<String> = values.iter().map(Value::to_string).collect();
    values.sort();
    values
}

#[tokio::test]
async fn presence_follows_a_users_first_and_last_connection() {
    // No grace period: offline is announced as the last connection closes.
    let server = TestServer::start(&["--presence-grace-secs", "0"]);
    let Pair { mut alice, alice_est, bob, bob_est, .. } = pair(&server).await;
    let (mut alice_unjoined, _) = WsClient::resume(&server.url, alice_est["token"].as_str().expect("token")).await;
    let (mut carol, _) = WsClient::register(&server.url, "carol").await;
    let offline = json!({"type": "presence", "user": bob_est["user"], "online": false, "status": "offline"});
    let online = json!({"type": "presence", "user": bob_est["user"], "online": true, "status": "online"});

    drop(bob);
    assert_eq!(without_last_seen(alice.recv().await), offline);
    let (bob, _) = WsClient::resume(&server.url, bob_est["token"].as_str().expect("token")).await;
    assert_eq!(alice.recv().await, online, "bob's first connection, though it joined nothing yet");
    // A second connection opening or closing changes nothing: bob stays online.
    let (bob_phone, _) = WsClient::resume(&server.url, bob_est["token"].as_str().expect("token")).await;
    drop(bob_phone);
    alice.assert_quiet().await;
    drop(bob);
    assert_eq!(without_last_seen(alice.recv().await), offline);
    // Only connections joined to a room shared with bob hear about him.
    alice_unjoined.assert_quiet().await;
    carol.assert_quiet().await;
}

#[tokio::test]
async fn typing_goes_to_the_other_users_joined_connections() {
    let server = TestServer::start(&[]);
    let Pair { mut alice, alice_est, mut bob, bob_est, room_id } = pair(&server).await;
    let mut alice_phone = second_connection(&server, &alice_est, &room_id).await;

    alice.send(json!({"type": "typing", "room_id": room_id, "active": true})).await;
    assert_eq!(
        bob.recv().await,
        json!({"type": "typing", "room_id": room_id, "user": alice_est["user"], "active": true})
    );
    alice.send(json!({"type": "typing", "room_id": room_id, "active": false})).await;
    assert_eq!(
        bob.recv().await,
        json!({"type": "typing", "room_id": room_id, "user": alice_est["user"], "active": false})
    );
    alice.assert_quiet().await;
    alice_phone.assert_quiet().await;

    bob.send(json!({"type": "typing", "room_id": room_id, "active": true})).await;
    let typing = json!({"type": "typing", "room_id": room_id, "user": bob_est["user"], "active": true});
    assert_eq!(alice.recv().await, typing);
    assert_eq!(alice_phone.recv().await, typing);
    bob.assert_quiet().await;
    bob.expect_error(json!({"type": "typing", "room_id": room_id, "active": "yes", "ref": "t"}), "bad_request").await;
}

#[tokio::test]
async fn typing_expires_after_eight_seconds_without_a_repeat() {
    let server = TestServer::start(&[]);
    let Pair { mut alice, alice_est, mut bob, room_id, .. } = pair(&server).await;
    alice.send(json!({"type": "typing", "room_id": room_id, "active": true})).await;
    bob.recv_type("typing").await;
    let started = Instant::now();
    let stopped = bob.recv().await;
    assert_eq!(stopped, json!({"type": "typing", "room_id": room_id, "user": alice_est["user"], "active": false}));
    let waited = started.elapsed();
    assert!(waited > Duration::from_secs(6) && waited < Duration::from_secs(10), "expired after {waited:?}");
}

#[tokio::test]
async fn typing_stops_when_the_typer_leaves_or_disconnects() {
    let server = TestServer::start(&["--presence-grace-secs", "0"]);
    let Pair { mut alice, mut bob, bob_est, room_id, .. } = pair(&server).await;
    let stopped = json!({"type": "typing", "room_id": room_id, "user": bob_est["user"], "active": false});

    bob.send(json!({"type": "typing", "room_id": room_id, "active": true})).await;
    alice.recv_type("typing").await;
    bob.request(json!({"type": "leave", "room_id": room_id}), "left").await;
    let user_left = json!({"type": "user_left", "room_id": room_id, "user": bob_est["user"]});
    assert_eq!(next_frames(&mut alice, 2).await, sorted(&[user_left, stopped.clone()]));

    bob.join(&room_id).await;
    alice.recv_type("user_joined").await;
    bob.send(json!({"type": "typing", "room_id": room_id, "active": true})).await;
    alice.recv_type("typing").await;
    drop(bob);
    let offline = json!({"type": "presence", "user": bob_est["user"], "online": false, "status": "offline"});
    assert_eq!(next_frames(&mut alice, 2).await, sorted(&[offline, stopped]));
}

#[tokio::test]
async fn read_receipts_go_to_every_other_joined_connection_and_only_move_forward() {
    let server = TestServer::start(&[]);
    let Pair { mut alice, alice_est, mut bob, bob_est, room_id } = pair(&server).await;
    let mut bob_phone = second_connection(&server, &bob_est, &room_id).await;
    for n in 1..=3 {
        alice.post(&room_id, &format!("m{n}"), "hello").await;
    }
    for client in [&mut bob, &mut bob_phone] {
        for _ in 1..=3 {
            client.recv_type("chat_message").await;
        }
    }
    let receipt = |seq: u64| json!({"type": "read_receipt", "room_id": room_id, "user": bob_est["user"], "seq": seq});

    bob.send(json!({"type": "read", "room_id": room_id, "seq": 2})).await;
    assert_eq!(alice.recv().await, receipt(2));
    assert_eq!(bob_phone.recv().await, receipt(2), "the reader's other devices clear their unread counts");
    bob.assert_quiet().await;

    // Backwards and equal markers are ignored; too large ones are clamped.
    bob.send(json!({"type": "read", "room_id": room_id, "seq": 1})).await;
    bob.send(json!({"type": "read", "room_id": room_id, "seq": 2})).await;
    bob.send(json!({"type": "read", "room_id": room_id, "seq": 99})).await;
    assert_eq!(alice.recv().await, receipt(3));
    assert_eq!(bob_phone.recv().await, receipt(3));
    alice.assert_quiet().await;
    let rooms = bob.request(json!({"type": "list_rooms"}), "rooms").await;
    assert_eq!((&rooms["rooms"][0]["last_seq"], &rooms["rooms"][0]["read_seq"]), (&json!(3), &json!(3)));

    // `joined.reads` lists the *other* members' markers.
    alice.send(json!({"type": "read", "room_id": room_id, "seq": 1})).await;
    bob.recv_type("read_receipt").await;
    let joined = bob.join(&room_id).await;
    assert_eq!(joined["reads"], json!([{"user": alice_est["user"], "seq": 1}]));
    let joined = alice.join(&room_id).await;
    assert_eq!(joined["reads"], json!([{"user": bob_est["user"], "seq": 3}]));
    alice.expect_error(json!({"type": "read", "room_id": room_id, "ref": "r"}), "bad_request").await;
}
