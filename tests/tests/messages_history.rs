//! Messages and history: send and its ack and broadcast, idempotent retries,
//! body rules, `history` paging and `join` with and without `since`
//! (PROTOCOL.md "Messages, order and durability", "Decisions: Messages").

use heartlink_tests::{TestServer, WsClient, now_ms, post_many};
use serde_json::{Value, json};

/// A room with alice (joined on the returned connection) in it.
async fn alice_in_a_room(server: &TestServer) -> (WsClient, Value, Value) {
    let (mut alice, established) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("general").await;
    alice.join(&room["id"]).await;
    (alice, established, room["id"].clone())
}

fn seqs(messages: &Value) -> Vec<u64> {
    messages.as_array().expect("messages").iter().map(|m| m["seq"].as_u64().expect("seq")).collect()
}

fn send(room_id: &Value, client_msg_id: &str, body: &str) -> Value {
    json!({"type": "send", "room_id": room_id, "client_msg_id": client_msg_id, "body": body})
}

#[tokio::test]
async fn send_is_broadcast_to_joined_connections_then_acked() {
    let server = TestServer::start(&[]);
    let (mut alice, alice_est, room_id) = alice_in_a_room(&server).await;
    let (mut alice_idle, _) = WsClient::resume(&server.url, alice_est["token"].as_str().expect("token")).await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    bob.join(&room_id).await;
    alice.recv_type("user_joined").await;

    let body = "hello\n\tworld ❤️";
    let before = now_ms();
    alice.send(json!({"type": "send", "room_id": room_id, "client_msg_id": "m1", "body": body, "ref": "s1"})).await;
    let echo = alice.recv().await;
    let ack = alice.recv().await;
    let ts = echo["ts"].as_u64().expect("ts is an integer");
    assert!((before - 2000..=now_ms() + 2000).contains(&ts), "ts {ts} is epoch ms");
    let message = json!({"type": "chat_message", "room_id": room_id, "seq": 1, "sender": alice_est["user"],
        "body": body, "ts": ts, "client_msg_id": "m1"});
    assert_eq!(echo, message, "the sender's own chat_message comes first, without a ref");
    assert_eq!(ack, json!({"type": "ack", "room_id": room_id, "client_msg_id": "m1", "seq": 1, "ts": ts, "ref": "s1"}));
    assert_eq!(bob.recv().await, message);
    // Alice's connection that did not join gets no messages, only the notice.
    let activity = json!({"type": "room_activity", "room_id": room_id, "last_seq": 1, "mentions": 0});
    assert_eq!(alice_idle.recv().await, activity);
    alice_idle.assert_quiet().await;

    assert_eq!(alice.post(&room_id, "m2", "second").await["seq"], 2);
    assert_eq!(bob.recv_type("chat_message").await["seq"], 2);
    assert_eq!(bob.post(&room_id, "b1", "third").await["seq"], 3);
    assert_eq!(alice.recv_type("chat_message").await["seq"], 3);
}

#[tokio::test]
async fn a_retried_send_returns_the_original_ack_and_broadcasts_nothing() {
    let server = TestServer::start(&[]);
    let (mut alice, alice_est, room_id) = alice_in_a_room(&server).await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    bob.join(&room_id).await;
    alice.recv_type("user_joined").await;
    let first = alice.post(&room_id, "m1", "original").await;
    bob.recv_type("chat_message").await;

    let mut retry = send(&room_id, "m1", "a different body");
    retry["ref"] = json!("again");
    let mut expected = first.clone();
    expected["ref"] = json!("again");
    assert_eq!(alice.request(retry.clone(), "ack").await, expected, "no second chat_message before the ack");
    // From another connection of the same user, too.
    let (mut alice_phone, _) = WsClient::resume(&server.url, alice_est["token"].as_str().expect("token")).await;
    alice_phone.join(&room_id).await;
    assert_eq!(alice_phone.request(retry, "ack").await, expected);

    // The next message is the next thing bob sees, with the next seq.
    assert_eq!(alice.post(&room_id, "m2", "next").await["seq"], 2);
    assert_eq!(bob.recv_type("chat_message").await["seq"], 2);
    // The key is per sender and per room.
    assert_eq!(bob.post(&room_id, "m1", "bob's own m1").await["seq"], 3);
    assert_eq!(alice.recv_type("chat_message").await["body"], "bob's own m1");
    let other_room = alice.create_room("other").await;
    alice.join(&other_room["id"]).await;
    assert_eq!(alice.post(&other_room["id"], "m1", "elsewhere").await["seq"], 1);

    let history = alice.request(json!({"type": "history", "room_id": room_id}), "history").await;
    let bodies: Vec<&Value> = history["messages"].as_array().expect("messages").iter().map(|m| &m["body"]).collect();
    assert_eq!(bodies, [&json!("original"), &json!("next"), &json!("bob's own m1")]);
}

#[tokio::test]
async fn bodies_and_client_msg_ids_are_checked() {
    let server = TestServer::start(&[]);
    let (mut alice, _, room_id) = alice_in_a_room(&server).await;
    let cases = [
        (send(&room_id, "c", ""), "bad_request"),
        (send(&room_id, "c", "clear \u{1b}[2J screen"), "bad_request"),
        (send(&room_id, "c", "bell \u{7}"), "bad_request"),
        (send(&room_id, "c", "\r"), "bad_request"),
        (send(&room_id, "c", &"x".repeat(4001)), "too_large"),
        (send(&room_id, "", "hi"), "bad_request"),
        (send(&room_id, &"c".repeat(65), "hi"), "bad_request"),
        (json!({"type": "send", "room_id": room_id, "client_msg_id": "c"}), "bad_request"),
        (json!({"type": "send", "room_id": room_id, "client_msg_id": 5, "body": "hi"}), "bad_request"),
    ];
    for (mut request, code) in cases {
        request["ref"] = json!("bad");
        assert_eq!(alice.expect_error(request, code).await["ref"], "bad");
    }
    // Nothing was stored: the first good message is seq 1.
    assert_eq!(alice.post(&room_id, &"c".repeat(64), &"é".repeat(4000)).await["seq"], 1);
    assert_eq!(alice.post(&room_id, "tabs", "a\tb\nc").await["seq"], 2);
}

#[tokio::test]
async fn history_pages_backwards_oldest_first() {
    let server = TestServer::start(&["--send-rate", "0"]);
    let (mut alice, established, room_id) = alice_in_a_room(&server).await;
    let token = established["token"].as_str().expect("token");
    let acks = post_many(&server.url, token, &room_id, "m", 1..121).await;
    assert_eq!(
        acks.iter().map(|ack| ack["seq"].as_u64().expect("seq")).collect::<Vec<_>>(),
        (1..=120).collect::<Vec<_>>()
    );
    alice.sync().await; // the 120 broadcasts, read past

    let page = |before: Option<u64>, limit: Option<u64>| {
        let mut request = json!({"type": "history", "room_id": room_id, "ref": "h"});
        if let Some(before) = before {
            request["before_seq"] = json!(before);
        }
        if let Some(limit) = limit {
            request["limit"] = json!(limit);
        }
        request
    };
    let cases = [
        (None, None, 71..=120, true),
        (Some(71), None, 21..=70, true),
        (Some(21), None, 1..=20, false),
        (Some(21), Some(5), 16..=20, true),
        (None, Some(100), 21..=120, true),
        (Some(1000), Some(1), 120..=120, true),
        (Some(2), Some(100), 1..=1, false),
    ];
    for (before, limit, expected, has_more) in cases {
        let history = alice.request(page(before, limit), "history").await;
        assert_eq!((&history["room_id"], &history["ref"]), (&room_id, &json!("h")));
        assert_eq!(
            seqs(&history["messages"]),
            expected.clone().collect::<Vec<_>>(),
            "before {before:?} limit {limit:?}"
        );
        assert_eq!(history["has_more"], has_more, "before {before:?} limit {limit:?}");
        for message in history["messages"].as_array().expect("messages") {
            let n = message["seq"].as_u64().expect("seq");
            assert_eq!(
                (&message["body"], &message["client_msg_id"]),
                (&json!(format!("m{n}")), &json!(format!("m{n}")))
            );
            assert_eq!((&message["room_id"], &message["sender"]), (&room_id, &established["user"]));
            assert_eq!(message["ts"], acks[usize::try_from(n - 1).expect("index")]["ts"]);
        }
    }
    let empty = alice.request(page(Some(1), None), "history").await;
    assert_eq!((&empty["messages"], &empty["has_more"]), (&json!([]), &json!(false)));
    for limit in [json!(0), json!(101), json!(-1), json!("ten")] {
        let mut request = page(None, None);
        request["limit"] = limit;
        alice.expect_error(request, "bad_request").await;
    }
}

#[tokio::test]
async fn join_returns_the_latest_fifty_or_what_follows_since() {
    let server = TestServer::start(&["--send-rate", "0"]);
    let (_alice, established, room_id) = alice_in_a_room(&server).await;
    let token = established["token"].as_str().expect("token");
    post_many(&server.url, token, &room_id, "m", 1..121).await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;

    let joined = bob.join(&room_id).await;
    assert_eq!((seqs(&joined["messages"]), &joined["has_more"]), ((71..=120).collect(), &json!(true)));
    assert_eq!(joined["last_seq"], 120);
    // Fewer than 500 follow: all of them, and nothing more.
    for since in [0, 100, 119, 120] {
        let request = json!({"type": "join", "room_id": room_id, "since": since, "ref": "js"});
        let joined = bob.request(request, "joined").await;
        assert_eq!(seqs(&joined["messages"]), (since + 1..=120).collect::<Vec<_>>(), "since {since}");
        assert_eq!(
            (&joined["has_more"], &joined["last_seq"], &joined["ref"]),
            (&json!(false), &json!(120), &json!("js"))
        );
    }
}

#[tokio::test]
async fn join_since_returns_at_most_five_hundred() {
    let server = TestServer::start(&["--send-rate", "0"]);
    let (_alice, established, room_id) = alice_in_a_room(&server).await;
    let token = established["token"].as_str().expect("token");
    post_many(&server.url, token, &room_id, "m", 1..541).await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let cases = [(0, 1..=500, true), (10, 11..=510, true), (40, 41..=540, false), (500, 501..=540, false)];
    for (since, expected, has_more) in cases {
        let joined = bob.request(json!({"type": "join", "room_id": room_id, "since": since}), "joined").await;
        assert_eq!(seqs(&joined["messages"]), expected.collect::<Vec<_>>(), "since {since}");
        assert_eq!((&joined["has_more"], &joined["last_seq"]), (&json!(has_more), &json!(540)), "since {since}");
    }
    // The rest is paged with history.
    let history =
        bob.request(json!({"type": "history", "room_id": room_id, "before_seq": 11, "limit": 100}), "history").await;
    assert_eq!((seqs(&history["messages"]), &history["has_more"]), ((1..=10).collect(), &json!(false)));
}

/// A `since` past the room's last message (a client's stale or bogus
/// position) is taken as the last message: nothing in the reply, and the
/// next message still arrives live.
#[tokio::test]
async fn join_since_past_the_last_message_still_gets_the_next_one_live() {
    let server = TestServer::start(&["--send-rate", "0"]);
    let (_alice, established, room_id) = alice_in_a_room(&server).await;
    let token = established["token"].as_str().expect("token");
    post_many(&server.url, token, &room_id, "m", 1..4).await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let joined = bob.request(json!({"type": "join", "room_id": room_id, "since": 1_000_000}), "joined").await;
    assert_eq!((seqs(&joined["messages"]), &joined["last_seq"]), (Vec::new(), &json!(3)));
    post_many(&server.url, token, &room_id, "n", 4..5).await;
    let live = bob.recv_type("chat_message").await;
    assert_eq!(live["seq"], 4, "the next message reaches bob live");
}

/// A retry that arrives while its original is still queued for the group
/// commit (not yet written to the store) is still a retry: same seq, one
/// broadcast. Every send is pipelined right behind its original, so most
/// retries meet the original in the commit queue.
#[tokio::test]
async fn a_retry_while_the_original_is_in_flight_is_not_a_second_message() {
    let server = TestServer::start(&["--send-rate", "0"]);
    let (mut alice, _, room_id) = alice_in_a_room(&server).await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    bob.join(&room_id).await;
    alice.recv_type("user_joined").await;

    const SENDS: usize = 300;
    for n in 0..SENDS {
        let id = format!("m{n}");
        alice.send(send(&room_id, &id, &id)).await;
        alice.send(send(&room_id, &id, "the same send, retried")).await;
    }
    let mut acked = std::collections::HashMap::<String, Vec<u64>>::new();
    while acked.values().map(Vec::len).sum::<usize>() < 2 * SENDS {
        let frame = alice.recv().await;
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "ack" {
            let id = frame["client_msg_id"].as_str().expect("client_msg_id").to_owned();
            acked.entry(id).or_default().push(frame["seq"].as_u64().expect("seq"));
        }
    }
    for (id, seqs) in &acked {
        assert_eq!(seqs.len(), 2, "{id}: one ack per send");
        assert_eq!(seqs[0], seqs[1], "{id}: the retry got the original's seq");
    }
    let mut seen = Vec::new();
    while seen.len() < SENDS {
        let message = bob.recv_type("chat_message").await;
        assert_eq!(message["body"], message["client_msg_id"], "the original body, never the retry's");
        seen.push(message["seq"].as_u64().expect("seq"));
    }
    assert_eq!(seen, (1..=SENDS as u64).collect::<Vec<_>>(), "each message once, in order");
    bob.assert_quiet().await;
}
