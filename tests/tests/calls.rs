//! Call invitations over real sockets (PROTOCOL.md, "Calls"): the server
//! gives an invitation its id, link and ring expiry; answers are messages
//! with seqs; the ring stops at the first accept, the cancel or when
//! everyone else declined; answers that break the rules are refused.

use heartlink_tests::{TestServer, WsClient, now_ms};
use serde_json::{Value, json};

/// Three members in one room, each joined on one connection.
async fn trio(server: &TestServer) -> (Value, [WsClient; 3]) {
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let (mut carol, _) = WsClient::register(&server.url, "carol").await;
    let room = alice.create_room("calls").await;
    let room_id = room["id"].clone();
    alice.join(&room_id).await;
    bob.join(&room_id).await;
    alice.recv_type("user_joined").await;
    carol.join(&room_id).await;
    alice.recv_type("user_joined").await;
    bob.recv_type("user_joined").await;
    (room_id, [alice, bob, carol])
}

fn actions(history: &Value) -> Vec<(String, String)> {
    let messages = history["messages"].as_array().expect("messages");
    messages
        .iter()
        .filter_map(|m| Some((m["sender"]["username"].as_str()?.to_owned(), m["call"]["action"].as_str()?.to_owned())))
        .collect()
}

#[tokio::test]
async fn an_invitation_rings_every_member_and_the_first_accept_ends_it() {
    let server = TestServer::start(&["--call-url-template", "https://calls.example.org/r/{call_id}?x=1", "--call-ring-secs", "30"]);
    let (room_id, [mut alice, mut bob, mut carol]) = trio(&server).await;

    let before = now_ms();
    let invite = alice.invite(&room_id, "call-1").await;
    let call = &invite["call"];
    let call_id = call["call_id"].clone();
    assert!(call_id.as_str().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()), "{call}");
    assert_eq!(call["action"], "invite");
    assert_eq!(call["url"], format!("https://calls.example.org/r/{}?x=1", call_id.as_str().unwrap_or_default()));
    let expires_at = call["expires_at"].as_u64().expect("expires_at");
    let ts = invite["ts"].as_u64().expect("ts");
    assert!(ts >= before && expires_at == ts + 30_000, "rings for --call-ring-secs from its ts: {invite}");
    assert_eq!(invite["body"], "", "the body may be empty");
    for other in [&mut bob, &mut carol] {
        let rung = other.recv_type("chat_message").await;
        assert_eq!((&rung["seq"], &rung["call"], &rung["sender"]["username"]), (&invite["seq"], call, &json!("alice")));
    }

    // A retried invitation is the same call: its ack repeats the original's.
    alice.send(json!({"type": "send", "room_id": room_id, "client_msg_id": "call-1", "call": {"action": "invite"}})).await;
    let retry = alice.recv_type("ack").await;
    assert_eq!((&retry["seq"], &retry["call"]), (&invite["seq"], call));

    let accepted = bob.answer(&room_id, "bob-1", "accept", &call_id).await;
    assert_eq!(accepted["seq"].as_u64(), invite["seq"].as_u64().map(|seq| seq + 1));
    for other in [&mut alice, &mut carol] {
        let seen = other.recv_type("chat_message").await;
        assert_eq!((&seen["call"]["action"], &seen["sender"]["username"]), (&json!("accept"), &json!("bob")));
    }

    // It rings no more: a second answer, or the caller's cancel, is refused.
    carol.answer_refused(&room_id, "accept", &call_id, "bad_request").await;
    carol.answer_refused(&room_id, "decline", &call_id, "bad_request").await;
    alice.answer_refused(&room_id, "cancel", &call_id, "bad_request").await;
    // An answer's retry is its original, not a second answer.
    bob.send(json!({"type": "send", "room_id": room_id, "client_msg_id": "bob-1", "call": {"action": "accept", "call_id": call_id}})).await;
    assert_eq!(bob.recv_type("ack").await["seq"], accepted["seq"]);
    for client in [&mut alice, &mut bob, &mut carol] {
        client.assert_quiet().await;
    }

    let history = carol.request(json!({"type": "history", "room_id": room_id}), "history").await;
    assert_eq!(actions(&history), [("alice".to_owned(), "invite".to_owned()), ("bob".to_owned(), "accept".to_owned())]);
}

#[tokio::test]
async fn every_other_member_declining_ends_the_ring_and_only_the_caller_cancels() {
    let server = TestServer::start(&["--call-ring-secs", "30"]);
    let (room_id, [mut alice, mut bob, mut carol]) = trio(&server).await;
    let invite = alice.invite(&room_id, "call-1").await;
    let call_id = invite["call"]["call_id"].clone();
    assert!(invite["call"]["url"].as_str().is_some_and(|url| url.starts_with("https://meet.jit.si/heartlink-")), "the default link");
    bob.recv_type("chat_message").await;
    carol.recv_type("chat_message").await;

    // Who may do what: only the others answer, only the caller cancels.
    alice.answer_refused(&room_id, "accept", &call_id, "forbidden").await;
    alice.answer_refused(&room_id, "decline", &call_id, "forbidden").await;
    bob.answer_refused(&room_id, "cancel", &call_id, "forbidden").await;
    // A room rings for one call at a time.
    let second = json!({"type": "send", "room_id": room_id, "client_msg_id": "bob-call", "call": {"action": "invite"}});
    bob.expect_error(second, "bad_request").await;

    bob.answer(&room_id, "bob-1", "decline", &call_id).await;
    bob.answer_refused(&room_id, "decline", &call_id, "bad_request").await;
    alice.recv_type("chat_message").await;
    carol.recv_type("chat_message").await;
    carol.answer(&room_id, "carol-1", "decline", &call_id).await;
    alice.recv_type("chat_message").await;
    bob.recv_type("chat_message").await;
    // Everyone else declined: the call is over.
    bob.answer_refused(&room_id, "accept", &call_id, "bad_request").await;
    alice.answer_refused(&room_id, "cancel", &call_id, "bad_request").await;

    // The room is free again; the caller cancels the next call.
    let next = bob.invite(&room_id, "bob-call").await;
    let next_id = next["call"]["call_id"].clone();
    assert_ne!(next_id, call_id);
    alice.recv_type("chat_message").await;
    carol.recv_type("chat_message").await;
    bob.answer(&room_id, "bob-2", "cancel", &next_id).await;
    assert_eq!(carol.recv_type("chat_message").await["call"]["action"], "cancel");
    carol.answer_refused(&room_id, "accept", &next_id, "bad_request").await;
    assert_eq!(alice.recv_type("chat_message").await["call"]["action"], "cancel");

    let history = alice.request(json!({"type": "history", "room_id": room_id}), "history").await;
    let steps: Vec<(&str, &str)> = vec![("alice", "invite"), ("bob", "decline"), ("carol", "decline"), ("bob", "invite"), ("bob", "cancel")];
    let expected: Vec<(String, String)> = steps.into_iter().map(|(who, what)| (who.to_owned(), what.to_owned())).collect();
    assert_eq!(actions(&history), expected);
}

#[tokio::test]
async fn answers_from_outside_the_room_or_to_no_call_are_refused() {
    let server = TestServer::start(&["--call-ring-secs", "30"]);
    let (room_id, [mut alice, mut bob, _carol]) = trio(&server).await;
    let invite = alice.invite(&room_id, "call-1").await;
    let call_id = invite["call"]["call_id"].clone();
    bob.recv_type("chat_message").await;

    // Not a member of the room: nothing to answer there.
    let (mut dave, _) = WsClient::register(&server.url, "dave").await;
    dave.answer_refused(&room_id, "accept", &call_id, "forbidden").await;
    dave.answer_refused(&room_id, "decline", &call_id, "forbidden").await;
    // A call of another room is no call of this one.
    let other = dave.create_room("elsewhere").await;
    dave.join(&other["id"]).await;
    dave.answer_refused(&other["id"], "accept", &call_id, "bad_request").await;

    let unknown = json!(uuid::Uuid::new_v4().to_string());
    bob.answer_refused(&room_id, "accept", &unknown, "bad_request").await;
    let send = |client_msg_id: &str, call: Value| json!({"type": "send", "room_id": room_id, "client_msg_id": client_msg_id, "call": call});
    bob.expect_error(send("b1", json!({"action": "accept"})), "bad_request").await;
    bob.expect_error(send("b2", json!({"action": "invite", "call_id": call_id})), "bad_request").await;
    bob.expect_error(send("b3", json!({"action": "missed", "call_id": call_id})), "bad_request").await;
    bob.expect_error(send("b4", json!({"action": "ring", "call_id": call_id})), "bad_request").await;
    // The server's own client_msg_ids are not for clients.
    let taken = json!({"type": "send", "room_id": room_id, "client_msg_id": format!("missed-{}", call_id.as_str().unwrap_or_default()), "body": "hi"});
    alice.expect_error(taken, "bad_request").await;
    // None of it reached the room; the call still rings and bob may take it.
    bob.assert_quiet().await;
    bob.answer(&room_id, "bob-1", "accept", &call_id).await;
}
