//! Presence that does not flap (PROTOCOL.md, "Room activity, mentions"):
//! offline is announced only after the user's last connection has been
//! gone for the grace period, with `last_seen`; a reconnect within it, or a
//! script's short visit, shows nothing to others. `set_status` makes a
//! user away once all of their connections are. `last_seen` survives a
//! restart.

use heartlink_tests::{TestServer, WsClient, now_ms};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const GRACE: Duration = Duration::from_secs(2);

fn presences(frames: &[Value]) -> Vec<&Value> {
    frames.iter().filter(|frame| frame["type"] == "presence").collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_comes_only_after_the_grace_and_a_reconnect_within_it_shows_nothing() {
    let mut server = TestServer::start(&["--presence-grace-secs", &GRACE.as_secs().to_string()]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("watching").await["id"].clone();
    alice.join(&room).await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    let token = bob_est["token"].as_str().unwrap().to_owned();
    bob.join(&room).await;
    alice.sync().await;

    // A reconnect: gone for well under the grace period.
    drop(bob);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut bob, _) = WsClient::resume(&server.url, &token).await;
    bob.join(&room).await;
    // A script's visit while bob is online, with and without presence.
    for presence in [true, false] {
        let mut script = WsClient::connect(&server.url).await;
        script.request(json!({"type": "resume", "token": token, "presence": presence}), "connection_established").await;
        script.join(&room).await;
        script.post(&room, &format!("script-{presence}"), "nightly report").await;
    }
    // Listening past the grace period proves the absence of an offline.
    tokio::time::sleep(GRACE + Duration::from_millis(500)).await;
    let seen = alice.sync().await;
    assert!(presences(&seen).is_empty(), "nothing flapped: {seen:?}");

    // Away and back: the others see the status; offline is refused.
    bob.sync().await;
    bob.send(json!({"type": "set_status", "status": "away"})).await;
    let (away, _) = alice.recv_until("presence").await;
    assert_eq!((&away["status"], &away["online"]), (&json!("away"), &json!(true)), "{away}");
    bob.sync().await;
    bob.expect_error(json!({"type": "set_status", "status": "offline"}), "bad_request").await;
    bob.send(json!({"type": "set_status", "status": "online"})).await;
    let (back, _) = alice.recv_until("presence").await;
    assert_eq!(back["status"], "online");

    // A real leave: offline after the grace, with when bob was last seen.
    let left_at = now_ms();
    let left = Instant::now();
    drop(bob);
    let (offline, _) = alice.recv_until("presence").await;
    let waited = left.elapsed();
    assert_eq!((&offline["status"], &offline["online"]), (&json!("offline"), &json!(false)), "{offline}");
    assert!(waited >= GRACE - Duration::from_millis(100), "offline after {waited:?}, before the grace of {GRACE:?}");
    let last_seen = offline["last_seen"].as_u64().expect("last_seen");
    assert!(last_seen >= left_at.saturating_sub(1000) && last_seen <= left_at + 2000, "last_seen {last_seen} vs left at {left_at}");
    let joined = alice.join(&room).await;
    let member = joined["members"].as_array().unwrap().iter().find(|m| m["user"]["username"] == "bob").unwrap().clone();
    assert_eq!((&member["status"], &member["last_seen"]), (&json!("offline"), &json!(last_seen)), "{member}");

    // last_seen is kept across a restart.
    drop(alice);
    server.terminate();
    server.restart(false);
    let (mut alice, _) = WsClient::login(&server.url, "alice", heartlink_tests::PASSWORD).await;
    let joined = alice.join(&room).await;
    let member = joined["members"].as_array().unwrap().iter().find(|m| m["user"]["username"] == "bob").unwrap().clone();
    assert_eq!((&member["status"], &member["last_seen"]), (&json!("offline"), &json!(last_seen)), "after a restart: {member}");
}
