//! Matching: `match`, `cancel_match` and the `pair` rooms they make
//! (PROTOCOL.md "Client → server", "Rooms and access", "Decisions: Matching").

use heartlink_tests::{TestServer, WsClient};
use serde_json::{Value, json};

/// Sends `match` and returns `matched`. The document fixes `match_waiting`
/// as the reply and `matched` as what follows; for the user who completes a
/// match it leaves open whether `match_waiting` comes first, so at most one
/// `match_waiting` is allowed before `matched`.
async fn match_now(client: &mut WsClient) -> Value {
    client.send(json!({"type": "match"})).await;
    let (matched, before) = client.recv_until("matched").await;
    assert!(before.is_empty() || before == [json!({"type": "match_waiting"})], "before matched: {before:?}");
    matched
}

async fn wait_for_match(client: &mut WsClient) {
    let waiting = client.request(json!({"type": "match", "ref": "m"}), "match_waiting").await;
    assert_eq!(waiting, json!({"type": "match_waiting", "ref": "m"}));
}

fn is_pair_room_of(room: &Value, a: &str, b: &str) -> bool {
    let name = room["name"].as_str().unwrap_or_default();
    room["kind"] == "pair" && (name == format!("{a} & {b}") || name == format!("{b} & {a}"))
}

#[tokio::test]
async fn two_waiting_users_are_matched_into_a_new_pair_room() {
    let server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    wait_for_match(&mut alice).await;
    let bobs = match_now(&mut bob).await;
    let alices = alice.recv_type("matched").await;
    assert_eq!(alices, bobs, "both users get the same room");
    assert!(alices.get("ref").is_none(), "matched is not the direct reply: {alices}");
    let room = &alices["room"];
    assert!(is_pair_room_of(room, "alice", "bob"), "{room}");
    assert!(room["id"].as_str().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()), "{room}");

    // Each must join to receive the room's events; both are members already.
    for client in [&mut alice, &mut bob] {
        let rooms = client.request(json!({"type": "list_rooms"}), "rooms").await;
        assert_eq!(rooms["rooms"], json!([{"room": room, "last_seq": 0, "read_seq": 0, "mentions": 0}]));
    }
    let joined = alice.join(&room["id"]).await;
    let users: Vec<&Value> = joined["members"].as_array().expect("members").iter().map(|m| &m["user"]).collect();
    assert_eq!(users.len(), 2, "{joined}");
    assert!(users.contains(&&alice_est["user"]) && users.contains(&&bob_est["user"]), "{joined}");
    bob.join(&room["id"]).await;
    alice.assert_quiet().await; // bob was a member already: no user_joined
    alice.post(&room["id"], "hi", "hi bob").await;
    assert_eq!(bob.recv_type("chat_message").await["body"], "hi bob");

    // Nobody else gets in.
    let (mut carol, _) = WsClient::register(&server.url, "carol").await;
    let error = carol.expect_error(json!({"type": "join", "room_id": room["id"], "ref": "c"}), "forbidden").await;
    assert_eq!(error["ref"], "c");
    carol.expect_error(json!({"type": "history", "room_id": room["id"]}), "forbidden").await;
}

#[tokio::test]
async fn cancel_match_ends_the_wait() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let (mut carol, _) = WsClient::register(&server.url, "carol").await;
    wait_for_match(&mut alice).await;
    let cancelled = alice.request(json!({"type": "cancel_match", "ref": "c"}), "match_cancelled").await;
    assert_eq!(cancelled, json!({"type": "match_cancelled", "ref": "c"}));
    // Bob now waits alone, and carol is matched with bob, not alice.
    wait_for_match(&mut bob).await;
    let matched = match_now(&mut carol).await;
    assert!(is_pair_room_of(&matched["room"], "bob", "carol"), "{matched}");
    assert_eq!(bob.recv_type("matched").await, matched);
    alice.assert_quiet().await;
    // Cancelling when not waiting still answers match_cancelled.
    alice.request(json!({"type": "cancel_match"}), "match_cancelled").await;
}

#[tokio::test]
async fn a_user_is_never_matched_with_themself() {
    let server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (mut alice_phone, _) = WsClient::resume(&server.url, alice_est["token"].as_str().expect("token")).await;
    wait_for_match(&mut alice).await;
    wait_for_match(&mut alice).await; // again: match_waiting again
    wait_for_match(&mut alice_phone).await; // from another connection: still waiting
    alice.assert_quiet().await;
    alice_phone.assert_quiet().await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let matched = match_now(&mut bob).await;
    assert!(is_pair_room_of(&matched["room"], "alice", "bob"), "{matched}");
    assert_eq!(alice.recv_type("matched").await, matched, "the waiting connection hears of the match");
}

#[tokio::test]
async fn the_wait_ends_when_the_waiting_connection_closes() {
    // No presence grace: the watcher's offline shows the server handled the close.
    let server = TestServer::start(&["--presence-grace-secs", "0"]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let (mut carol, _) = WsClient::register(&server.url, "carol").await;
    // A watcher sharing a room with alice sees when the server has handled her close.
    let room = alice.create_room("watched").await;
    let (mut watcher, _) = WsClient::register(&server.url, "watcher").await;
    watcher.join(&room["id"]).await;
    wait_for_match(&mut alice).await;
    drop(alice);
    let (offline, _) = watcher.recv_until("presence").await;
    assert_eq!(offline["online"], false);
    wait_for_match(&mut bob).await;
    let matched = match_now(&mut carol).await;
    assert!(is_pair_room_of(&matched["room"], "bob", "carol"), "alice left; got {matched}");
    assert_eq!(bob.recv_type("matched").await, matched);
}
