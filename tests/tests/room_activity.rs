//! Room activity (PROTOCOL.md, "Room activity, mentions"): a member's
//! connection that has not joined a room hears of its new messages as
//! `room_activity`, at most once a second however many messages arrive,
//! the last one carrying the room's final seq and the mentions counted;
//! `list_rooms` counts unread mentions until the user reads past them.

use heartlink_tests::{TestServer, WsClient};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Every `room_activity` for `room` that reaches `client` within `window`.
async fn activity_within(client: &mut WsClient, room: &Value, window: Duration) -> Vec<(Instant, Value)> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + window;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(frame) = tokio::time::timeout(left, client.recv()).await else { break };
        if frame["type"] == "room_activity" && frame["room_id"] == *room {
            seen.push((Instant::now(), frame));
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unjoined_connection_hears_of_new_messages_once_a_second_with_mentions() {
    let server = TestServer::start(&["--send-rate", "0"]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("busy").await["id"].clone();
    alice.join(&room).await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    bob.join(&room).await;
    // Alice's second screen joined nothing.
    let (mut alice_phone, _) = WsClient::resume(&server.url, alice_est["token"].as_str().unwrap()).await;
    alice.sync().await;

    bob.post(&room, "b1", "are you there @Alice?").await;
    let (first, _) = alice_phone.recv_until("room_activity").await;
    assert_eq!(first, json!({"type": "room_activity", "room_id": room, "last_seq": 1, "mentions": 1}));

    // A flood of 60 messages in about a second and a half, two of them
    // naming alice, while her phone is read as it would be by a client.
    let started = Instant::now();
    let watched = room.clone();
    let listening = tokio::spawn(async move {
        let seen = activity_within(&mut alice_phone, &watched, Duration::from_secs(4)).await;
        (alice_phone, seen)
    });
    for n in 2..=61 {
        let body = if n % 30 == 0 { format!("@alice look, {n}") } else { format!("message {n}") };
        bob.send(json!({"type": "send", "room_id": room, "client_msg_id": format!("b{n}"), "body": body})).await;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (mut alice_phone, seen) = listening.await.unwrap();
    let flood = started.elapsed();
    assert!(!seen.is_empty(), "the flood was announced");
    let last = &seen.last().unwrap().1;
    assert_eq!(last["last_seq"], 61, "the last notice carries the room's final seq: {seen:?}");
    let mentions: u64 = seen.iter().map(|(_, frame)| frame["mentions"].as_u64().unwrap()).sum();
    assert_eq!(mentions, 2, "each mention counted once: {seen:?}");
    // At most one a second: the first notice came before the flood, so the
    // flood's notices are at least ~1 s apart from each other and from it.
    assert!(seen.len() as f64 <= flood.as_secs_f64() + 1.0, "{} notices in {flood:?}", seen.len());
    for pair in seen.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap >= Duration::from_millis(800), "two notices {gap:?} apart: {seen:?}");
    }

    // The joined connection got the messages themselves and no notice.
    let frames = alice.sync().await;
    assert!(frames.iter().all(|frame| frame["type"] != "room_activity"), "a joined connection gets no notices");
    assert_eq!(frames.iter().filter(|frame| frame["type"] == "chat_message").count(), 61);

    // list_rooms counts the unread mentions, until alice reads past them.
    let rooms = alice_phone.request(json!({"type": "list_rooms"}), "rooms").await;
    assert_eq!((&rooms["rooms"][0]["last_seq"], &rooms["rooms"][0]["mentions"]), (&json!(61), &json!(3)), "{rooms}");
    alice.send(json!({"type": "read", "room_id": room, "seq": 30})).await;
    alice.sync().await;
    let rooms = alice_phone.request(json!({"type": "list_rooms"}), "rooms").await;
    assert_eq!(rooms["rooms"][0]["mentions"], 1, "only the mention after seq 30 is unread: {rooms}");

    // Once the phone joins the room it gets messages, not notices.
    alice_phone.join(&room).await;
    bob.sync().await;
    bob.post(&room, "b62", "joined now").await;
    let (message, skipped) = alice_phone.recv_until("chat_message").await;
    assert_eq!(message["seq"], 62);
    assert!(skipped.iter().all(|frame| frame["type"] != "room_activity"), "{skipped:?}");
    alice_phone.expect_silence(Duration::from_millis(1500)).await;
}
