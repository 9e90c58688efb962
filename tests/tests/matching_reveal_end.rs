//! A stranger chat's life after `matched`: `reveal` (pending, then both
//! learn the real names), `end_match` and `leave` (both told, the room turns
//! read-only, its history stays), and the refusals of each on rooms they do
//! not apply to (PROTOCOL.md "Stranger matching").

use heartlink_tests::matching::{pair, unique_name, user_id};
use heartlink_tests::{TestServer, WsClient};
use serde_json::json;

#[tokio::test]
async fn both_reveal_and_each_learns_the_others_real_name() {
    let server = TestServer::start(&[]);
    let (alice_name, bob_name) = (unique_name("a"), unique_name("b"));
    let (mut alice, alice_est) = WsClient::register(&server.url, &alice_name).await;
    let (mut bob, bob_est) = WsClient::register(&server.url, &bob_name).await;
    let (alices, _) = pair(&mut alice, &mut bob, Some("4242")).await;
    let room_id = alices["room"]["id"].clone();
    alice.join(&room_id).await;
    bob.join(&room_id).await;

    let pending = alice.request(json!({"type": "reveal", "room_id": room_id, "ref": "r"}), "reveal_pending").await;
    assert_eq!(pending, json!({"type": "reveal_pending", "room_id": room_id, "ref": "r"}));
    bob.assert_quiet().await; // bob learns nothing until he reveals too
    let bobs = bob.request(json!({"type": "reveal", "room_id": room_id, "ref": "r2"}), "revealed").await;
    assert_eq!(bobs, json!({"type": "revealed", "room_id": room_id, "peer": alice_est["user"], "ref": "r2"}));
    let alices = alice.recv_type("revealed").await;
    assert_eq!(alices, json!({"type": "revealed", "room_id": room_id, "peer": bob_est["user"]}));

    // From now on the real identities are used: in messages, lists, joins.
    bob.post(&room_id, "c1", "now you know").await;
    assert_eq!(alice.recv_type("chat_message").await["sender"], bob_est["user"]);
    let rooms = alice.request(json!({"type": "list_rooms"}), "rooms").await;
    assert_eq!(rooms["rooms"][0]["room"]["name"], bob_name.as_str());
    let joined = alice.join(&room_id).await;
    assert!(joined["members"].as_array().unwrap().iter().any(|member| member["user"] == bob_est["user"]), "{joined}");
    // A repeated reveal answers revealed again and changes nothing.
    alice.request(json!({"type": "reveal", "room_id": room_id}), "revealed").await;
    bob.assert_quiet().await;
}

#[tokio::test]
async fn ending_a_chat_tells_both_and_leaves_it_readable_but_closed() {
    let server = TestServer::start(&["--match-rate", "0"]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    let (alices, bobs) = pair(&mut alice, &mut bob, None).await;
    let room_id = alices["room"]["id"].clone();
    alice.join(&room_id).await;
    bob.join(&room_id).await;
    alice.post(&room_id, "c1", "bye").await;
    bob.recv_type("chat_message").await;

    let ended = alice.request(json!({"type": "end_match", "room_id": room_id, "ref": "e"}), "match_ended").await;
    assert_eq!(ended, json!({"type": "match_ended", "room_id": room_id, "by": alice_est["user"], "ref": "e"}));
    let told = bob.recv_type("match_ended").await;
    assert_eq!(told["by"]["username"], bobs["room"]["name"], "bob sees the ender's alias: {told}");
    assert!(!told.to_string().contains(&user_id(&alice_est)), "{told}");

    for (client, who) in [(&mut alice, "alice"), (&mut bob, "bob")] {
        let refused = client
            .expect_error(json!({"type": "send", "room_id": room_id, "client_msg_id": "late", "body": "hello?"}), "forbidden")
            .await;
        assert_eq!(refused["message"], "this chat has ended", "{who}: {refused}");
        let history = client.request(json!({"type": "history", "room_id": room_id}), "history").await;
        assert_eq!(history["messages"][0]["body"], "bye", "{who}: the history stays");
        let joined = client.join(&room_id).await;
        assert_eq!(joined["room"]["ended"], true, "{who}: {joined}");
        let rooms = client.request(json!({"type": "list_rooms"}), "rooms").await;
        assert_eq!(rooms["rooms"][0]["room"]["ended"], true, "{who}: {rooms}");
    }
    // Ending it again answers the same, and tells nobody anything new.
    bob.request(json!({"type": "end_match", "room_id": room_id}), "match_ended").await;
    alice.assert_quiet().await;
    // These two are not paired again right away: both wait.
    alice.request(json!({"type": "match"}), "match_waiting").await;
    bob.request(json!({"type": "match"}), "match_waiting").await;
    alice.assert_quiet().await;
    let _ = bob_est;
}

#[tokio::test]
async fn leaving_a_pair_room_ends_the_chat_for_the_other_too() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let (alices, bobs) = pair(&mut alice, &mut bob, None).await;
    let room_id = alices["room"]["id"].clone();
    bob.join(&room_id).await;
    alice.request(json!({"type": "leave", "room_id": room_id}), "left").await;
    let (ended, _) = bob.recv_until("match_ended").await;
    assert_eq!(ended["by"]["username"], bobs["room"]["name"], "{ended}");
    let left = bob.recv_type("user_left").await;
    assert_eq!(left["user"], ended["by"], "{left}");
    let refused = bob.expect_error(json!({"type": "send", "room_id": room_id, "client_msg_id": "c", "body": "hi"}), "forbidden").await;
    assert_eq!(refused["message"], "this chat has ended");
}

#[tokio::test]
async fn reveal_end_and_block_by_room_refuse_group_rooms_and_other_peoples_chats() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let (mut carol, _) = WsClient::register(&server.url, "carol").await;
    let (alices, _) = pair(&mut alice, &mut bob, None).await;
    let pair_room = alices["room"]["id"].clone();
    let group = carol.create_room("group").await["id"].clone();
    let unknown = json!(uuid::Uuid::new_v4().to_string());
    let requests = |room: &serde_json::Value| {
        [
            json!({"type": "reveal", "room_id": room}),
            json!({"type": "end_match", "room_id": room}),
            json!({"type": "block", "room_id": room}),
        ]
    };
    for request in requests(&group) {
        carol.expect_error(request, "bad_request").await;
    }
    for request in requests(&pair_room) {
        carol.expect_error(request, "forbidden").await;
    }
    for request in requests(&unknown) {
        carol.expect_error(request, "not_found").await;
    }
    // Nothing changed: the chat is on, neither side heard a thing.
    alice.assert_quiet().await;
    bob.assert_quiet().await;
    alice.join(&pair_room).await;
    alice.post(&pair_room, "c1", "still here").await;
}
