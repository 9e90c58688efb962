//! Rooms and access: create_room, join, leave, list_rooms, user_joined and
//! user_left, and who may do what where (PROTOCOL.md "Rooms and access",
//! "Decisions: Rooms").

use heartlink_tests::{TestServer, WsClient, now_ms};
use serde_json::{Value, json};

fn member(user: &Value, online: bool) -> Value {
    json!({"user": user, "online": online, "status": if online { "online" } else { "offline" }})
}

#[tokio::test]
async fn create_room_answers_the_room_and_makes_the_creator_a_member() {
    let server = TestServer::start(&[]);
    let (mut alice, established) = WsClient::register(&server.url, "alice").await;
    let (mut alice_phone, _) = WsClient::resume(&server.url, established["token"].as_str().expect("token")).await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let before = now_ms();
    let created = alice.request(json!({"type": "create_room", "name": "café ☕", "ref": "c"}), "room_created").await;
    let after = now_ms();
    assert_eq!(created["ref"], "c");
    // `room_created` is the creating connection's reply, nobody else's.
    alice_phone.assert_quiet().await;
    bob.assert_quiet().await;
    let room = &created["room"];
    assert!(room["id"].as_str().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()), "{room}");
    assert_eq!((&room["name"], &room["kind"]), (&json!("café ☕"), &json!("group")));
    assert_eq!(room["created_by"], established["user"]["id"]);
    let created_at = room["created_at"].as_u64().expect("created_at is an integer");
    assert!((before - 2000..=after + 2000).contains(&created_at), "created_at {created_at} is epoch ms");
    let rooms = alice.request(json!({"type": "list_rooms", "ref": "l"}), "rooms").await;
    assert_eq!(rooms, json!({"type": "rooms", "ref": "l", "rooms": [{"room": room, "last_seq": 0, "read_seq": 0, "mentions": 0}]}));
    let joined = alice.request(json!({"type": "join", "room_id": room["id"], "ref": "j"}), "joined").await;
    let expected = json!({"type": "joined", "ref": "j", "room": room, "members": [member(&established["user"], true)],
        "last_seq": 0, "messages": [], "has_more": false, "reads": []});
    assert_eq!(joined, expected);
}

#[tokio::test]
async fn bad_room_names_are_bad_requests() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    for name in [json!(""), json!("a\nb"), json!("tab\there"), json!("x".repeat(65)), json!(7), Value::Null] {
        let error = alice.expect_error(json!({"type": "create_room", "name": name, "ref": "n"}), "bad_request").await;
        assert_eq!(error["ref"], "n");
    }
    alice.expect_error(json!({"type": "create_room"}), "bad_request").await;
    let room = alice.create_room(&"é".repeat(64)).await;
    assert_eq!(room["name"], "é".repeat(64));
}

#[tokio::test]
async fn joining_an_unknown_or_malformed_room_id_fails() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let error = alice.expect_error(json!({"type": "join", "room_id": unknown, "ref": "u"}), "not_found").await;
    assert_eq!(error["ref"], "u");
    alice.expect_error(json!({"type": "join", "room_id": "general"}), "bad_request").await;
    alice.expect_error(json!({"type": "join"}), "bad_request").await;
}

#[tokio::test]
async fn a_new_member_is_announced_to_the_other_joined_connections_only() {
    let server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (mut alice_idle, _) = WsClient::resume(&server.url, alice_est["token"].as_str().expect("token")).await;
    let room = alice.create_room("general").await;
    alice.join(&room["id"]).await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    let joined = bob.request(json!({"type": "join", "room_id": room["id"], "ref": "bj"}), "joined").await;
    assert_eq!(joined["ref"], "bj");
    assert_eq!(joined["room"], room);
    // Oldest membership first (PROTOCOL.md, Decisions).
    assert_eq!(joined["members"], json!([member(&alice_est["user"], true), member(&bob_est["user"], true)]));
    let announced = alice.recv().await;
    assert_eq!(announced, json!({"type": "user_joined", "room_id": room["id"], "user": bob_est["user"]}));
    bob.assert_quiet().await;
    alice_idle.assert_quiet().await;

    // Joining again answers `joined` again and announces nothing; so does a
    // second connection of an existing member.
    bob.join(&room["id"]).await;
    let (mut bob_phone, _) = WsClient::resume(&server.url, bob_est["token"].as_str().expect("token")).await;
    bob_phone.join(&room["id"]).await;
    alice.assert_quiet().await;
    bob.assert_quiet().await;
}

#[tokio::test]
async fn joining_again_keeps_the_membership_order() {
    let server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("general").await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    bob.join(&room["id"]).await;
    // Alice, the oldest member, joins on a connection for the first time.
    let joined = alice.join(&room["id"]).await;
    let expected = json!([member(&alice_est["user"], true), member(&bob_est["user"], true)]);
    assert_eq!(joined["members"], expected, "oldest membership first");
    let (mut alice_phone, _) = WsClient::resume(&server.url, alice_est["token"].as_str().expect("token")).await;
    alice_phone.join(&room["id"]).await;
    assert_eq!(bob.join(&room["id"]).await["members"], expected, "still oldest membership first");
}

#[tokio::test]
async fn members_show_who_is_online() {
    let server = TestServer::start(&["--presence-grace-secs", "0"]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("general").await;
    alice.join(&room["id"]).await;
    let (mut carol, carol_est) = WsClient::register(&server.url, "carol").await;
    carol.join(&room["id"]).await;
    alice.recv_type("user_joined").await;
    drop(carol);
    // Alice hearing that carol went offline shows the server saw the close.
    let offline = alice.recv().await;
    assert_eq!((&offline["type"], &offline["user"], &offline["online"]), (&json!("presence"), &carol_est["user"], &json!(false)));
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    let mut joined = bob.join(&room["id"]).await;
    let expected =
        [member(&alice_est["user"], true), member(&carol_est["user"], false), member(&bob_est["user"], true)];
    let last_seen = joined["members"][1].as_object_mut().and_then(|carol| carol.remove("last_seen"));
    assert!(last_seen.is_some_and(|at| at.as_u64().is_some_and(|at| at > heartlink_tests::now_ms() - 60_000)), "an offline member's last_seen");
    assert_eq!(joined["members"], json!(expected), "oldest membership first");
}

#[tokio::test]
async fn leave_answers_left_and_tells_everyone_joined_including_the_leavers_other_connections() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("general").await;
    let room_id = room["id"].clone();
    alice.join(&room_id).await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    bob.join(&room_id).await;
    alice.recv_type("user_joined").await;
    let (mut bob_phone, _) = WsClient::resume(&server.url, bob_est["token"].as_str().expect("token")).await;
    bob_phone.join(&room_id).await;

    let left = bob.request(json!({"type": "leave", "room_id": room_id, "ref": "bye"}), "left").await;
    assert_eq!(left, json!({"type": "left", "room_id": room_id, "ref": "bye"}));
    let user_left = json!({"type": "user_left", "room_id": room_id, "user": bob_est["user"]});
    assert_eq!(alice.recv().await, user_left);
    assert_eq!(bob_phone.recv().await, user_left);

    // Neither of bob's connections hears the room any more, and bob is no member.
    alice.post(&room_id, "after-leave", "still here?").await;
    bob.assert_quiet().await;
    bob_phone.assert_quiet().await;
    let send = json!({"type": "send", "room_id": room_id, "client_msg_id": "x", "body": "hi"});
    bob_phone.expect_error(send, "forbidden").await;
    bob.expect_error(json!({"type": "history", "room_id": room_id}), "forbidden").await;
    assert_eq!(bob.request(json!({"type": "list_rooms"}), "rooms").await["rooms"], json!([]));

    // Leaving again is a no-op; an unknown room is not_found.
    assert_eq!(bob.request(json!({"type": "leave", "room_id": room_id}), "left").await["room_id"], room_id);
    alice.assert_quiet().await;
    let unknown = json!({"type": "leave", "room_id": uuid::Uuid::new_v4().to_string(), "ref": "u"});
    assert_eq!(bob.expect_error(unknown, "not_found").await["ref"], "u");

    // Coming back makes bob a new member again.
    bob.join(&room_id).await;
    assert_eq!(alice.recv().await, json!({"type": "user_joined", "room_id": room_id, "user": bob_est["user"]}));
}

#[tokio::test]
async fn room_requests_need_membership_and_a_join_on_this_connection() {
    let server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("general").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let (mut alice_phone, _) = WsClient::resume(&server.url, alice_est["token"].as_str().expect("token")).await;
    let unknown = json!(uuid::Uuid::new_v4().to_string());
    for room_id in [&room["id"], &unknown] {
        let requests = [
            json!({"type": "send", "room_id": room_id, "client_msg_id": "c1", "body": "hi", "ref": "r"}),
            json!({"type": "history", "room_id": room_id, "ref": "r"}),
            json!({"type": "typing", "room_id": room_id, "active": true, "ref": "r"}),
            json!({"type": "read", "room_id": room_id, "seq": 1, "ref": "r"}),
        ];
        let code = if room_id == &unknown { "not_found" } else { "forbidden" };
        for request in requests {
            // bob is no member; alice is one but has not joined on this connection.
            assert_eq!(bob.expect_error(request.clone(), code).await["ref"], "r");
            assert_eq!(alice_phone.expect_error(request, code).await["ref"], "r");
        }
    }
    alice.assert_quiet().await;
}

#[tokio::test]
async fn list_rooms_lists_the_users_rooms_oldest_first_with_seqs() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let first = alice.create_room("first").await;
    let second = alice.create_room("second").await;
    let bobs = bob.create_room("bob's").await;
    let _not_alices = bob.create_room("not alice's").await;
    alice.join(&bobs["id"]).await;
    alice.join(&first["id"]).await;
    for n in 1..=3 {
        alice.post(&first["id"], &format!("m{n}"), "hello").await;
    }
    alice.send(json!({"type": "read", "room_id": first["id"], "seq": 2})).await;
    let rooms = alice.request(json!({"type": "list_rooms"}), "rooms").await;
    let expected = json!([
        {"room": first, "last_seq": 3, "read_seq": 2, "mentions": 0},
        {"room": second, "last_seq": 0, "read_seq": 0, "mentions": 0},
        {"room": bobs, "last_seq": 0, "read_seq": 0, "mentions": 0},
    ]);
    assert_eq!(rooms["rooms"], expected);
}
