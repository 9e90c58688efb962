//! Matching: `match` (random or by code), `cancel_match`, the wait's end
//! and the anonymous `pair` rooms they make (PROTOCOL.md "Stranger
//! matching"; docs/PROTOCOL.md "Decisions and extensions").

use heartlink_tests::matching::{pair, unique_name};
use heartlink_tests::{TestServer, WsClient};
use serde_json::{Value, json};

/// Sends `match` and returns `matched`. At most one `match_waiting` may come first.
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

/// A pair room as one of its users sees it: named after the other's alias
/// (an adjective and an animal), without `created_by`, and naming neither user.
fn assert_anonymous_pair_room(room: &Value, names: &[&str]) {
    assert_eq!(room["kind"], "pair", "{room}");
    assert!(room.get("created_by").is_none(), "{room}");
    let name = room["name"].as_str().unwrap_or_default();
    assert!(name.split('-').count() == 2 && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{room}");
    for real in names {
        assert!(!room.to_string().contains(real), "{real} in {room}");
    }
}

#[tokio::test]
async fn two_waiting_users_are_matched_anonymously_into_a_new_pair_room() {
    let server = TestServer::start(&[]);
    let (alice_name, bob_name) = (unique_name("a"), unique_name("b"));
    let (mut alice, alice_est) = WsClient::register(&server.url, &alice_name).await;
    let (mut bob, bob_est) = WsClient::register(&server.url, &bob_name).await;
    wait_for_match(&mut alice).await;
    let bobs = match_now(&mut bob).await;
    let alices = alice.recv_type("matched").await;
    assert!(alices.get("ref").is_none(), "matched is not the direct reply: {alices}");
    let (alice_room, bob_room) = (&alices["room"], &bobs["room"]);
    assert_eq!(alice_room["id"], bob_room["id"], "one room");
    assert_anonymous_pair_room(alice_room, &[&alice_name, &bob_name]);
    assert_anonymous_pair_room(bob_room, &[&alice_name, &bob_name]);
    assert_ne!(alice_room["name"], bob_room["name"], "each sees the other's alias");
    let room_id = alice_room["id"].clone();

    // Both are members already; the rows show each the alias.
    for (client, room) in [(&mut alice, alice_room), (&mut bob, bob_room)] {
        let rooms = client.request(json!({"type": "list_rooms"}), "rooms").await;
        assert_eq!(rooms["rooms"], json!([{"room": room, "last_seq": 0, "read_seq": 0, "mentions": 0}]));
    }
    let joined = alice.join(&room_id).await;
    let users: Vec<&Value> = joined["members"].as_array().expect("members").iter().map(|m| &m["user"]).collect();
    assert_eq!(users.len(), 2, "{joined}");
    assert!(users.contains(&&alice_est["user"]), "alice sees herself: {joined}");
    let bob_alias = users.iter().find(|user| **user != &alice_est["user"]).expect("the stranger");
    assert_eq!(bob_alias["username"], alice_room["name"], "{joined}");
    assert_ne!(bob_alias["id"], bob_est["user"]["id"], "{joined}");
    bob.join(&room_id).await;
    alice.assert_quiet().await; // bob was a member already: no user_joined
    bob.post(&room_id, "hi", "hi stranger").await;
    let message = alice.recv_type("chat_message").await;
    assert_eq!((&message["body"], &message["sender"]), (&json!("hi stranger"), *bob_alias));

    // Nobody else gets in.
    let (mut carol, _) = WsClient::register(&server.url, "carol").await;
    let error = carol.expect_error(json!({"type": "join", "room_id": room_id, "ref": "c"}), "forbidden").await;
    assert_eq!(error["ref"], "c");
    carol.expect_error(json!({"type": "history", "room_id": room_id}), "forbidden").await;
}

#[tokio::test]
async fn cancel_match_ends_the_wait() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let (mut carol, carol_est) = WsClient::register(&server.url, "carol").await;
    wait_for_match(&mut alice).await;
    let cancelled = alice.request(json!({"type": "cancel_match", "ref": "c"}), "match_cancelled").await;
    assert_eq!(cancelled, json!({"type": "match_cancelled", "ref": "c"}));
    // Bob now waits alone, and carol is matched with bob, not alice.
    wait_for_match(&mut bob).await;
    let matched = match_now(&mut carol).await;
    let bobs = bob.recv_type("matched").await;
    assert_eq!(bobs["room"]["id"], matched["room"]["id"]);
    alice.assert_quiet().await;
    // Cancelling when not waiting still answers match_cancelled.
    alice.request(json!({"type": "cancel_match"}), "match_cancelled").await;
    let joined = bob.join(&bobs["room"]["id"]).await;
    assert!(!joined.to_string().contains(carol_est["user"]["id"].as_str().unwrap()), "{joined}");
}

#[tokio::test]
async fn a_user_is_never_matched_with_themself() {
    let server = TestServer::start(&["--match-rate", "0"]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (mut alice_phone, _) = WsClient::resume(&server.url, alice_est["token"].as_str().expect("token")).await;
    wait_for_match(&mut alice).await;
    wait_for_match(&mut alice).await; // again: match_waiting again
    wait_for_match(&mut alice_phone).await; // from another connection: still waiting
    alice.assert_quiet().await;
    alice_phone.assert_quiet().await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let matched = match_now(&mut bob).await;
    assert_eq!(alice.recv_type("matched").await["room"]["id"], matched["room"]["id"], "the waiting connection hears of it");
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
    assert_eq!(bob.recv_type("matched").await["room"]["id"], matched["room"]["id"], "alice left; bob and carol pair");
}

#[tokio::test]
async fn two_users_with_the_same_code_pair_and_a_third_with_another_waits() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let (mut carol, _) = WsClient::register(&server.url, "carol").await;
    let (mut dave, _) = WsClient::register(&server.url, "dave").await;
    alice.request(json!({"type": "match", "code": "4242"}), "match_waiting").await;
    carol.request(json!({"type": "match", "code": "1111"}), "match_waiting").await;
    // A random match never takes someone waiting with a code.
    dave.request(json!({"type": "match"}), "match_waiting").await;
    let bobs = bob.request(json!({"type": "match", "code": "4242", "ref": "b"}), "matched").await;
    assert_eq!(bobs["ref"], "b");
    let alices = alice.recv_type("matched").await;
    assert_eq!(alices["room"]["id"], bobs["room"]["id"]);
    carol.assert_quiet().await;
    dave.assert_quiet().await;
    // The code is free again: a new user with 4242 waits, carol still pairs on 1111.
    let (mut erin, _) = WsClient::register(&server.url, "erin").await;
    erin.request(json!({"type": "match", "code": "4242"}), "match_waiting").await;
    let (mut frank, _) = WsClient::register(&server.url, "frank").await;
    frank.request(json!({"type": "match", "code": "1111"}), "matched").await;
    carol.recv_type("matched").await;
    erin.assert_quiet().await;
}

#[tokio::test]
async fn codes_that_are_not_4_to_8_digits_are_refused_and_queue_nobody() {
    let server = TestServer::start(&["--match-rate", "0"]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    for code in [json!("123"), json!("123456789"), json!("12a4"), json!(""), json!(" 1234"), json!(4242)] {
        let request = json!({"type": "match", "code": code, "ref": "m"});
        let error = alice.expect_error(request, "bad_request").await;
        assert_eq!(error["ref"], "m");
    }
    // Nothing changed: alice waits nowhere, so bob waits alone.
    bob.request(json!({"type": "match", "code": "1234"}), "match_waiting").await;
    bob.request(json!({"type": "cancel_match"}), "match_cancelled").await;
    bob.request(json!({"type": "match"}), "match_waiting").await;
    alice.assert_quiet().await;
    let (first, _) = pair(&mut WsClient::register(&server.url, "carol").await.0, &mut alice, Some("87654321")).await;
    assert_eq!(first["room"]["kind"], "pair", "an 8-digit code works");
}

#[tokio::test]
async fn a_wait_runs_out_with_match_expired() {
    let server = TestServer::start(&["--match-wait-secs", "1"]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let started = std::time::Instant::now();
    alice.request(json!({"type": "match", "code": "5555"}), "match_waiting").await;
    let expired = alice.recv_type("match_expired").await;
    assert!(expired.get("ref").is_none(), "{expired}");
    let took = started.elapsed();
    assert!(took >= std::time::Duration::from_secs(1), "expired after {took:?}");
    // She no longer waits: bob with the same code waits too.
    bob.request(json!({"type": "match", "code": "5555"}), "match_waiting").await;
    alice.assert_quiet().await;
    eprintln!("figure: a match wait of --match-wait-secs 1 ended with match_expired after {took:.2?}");
}

#[tokio::test]
async fn match_and_cancel_floods_are_rate_limited_per_user() {
    let server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (mut alice_phone, _) = WsClient::resume(&server.url, alice_est["token"].as_str().expect("token")).await;
    let mut refused = None;
    for n in 0..10 {
        alice.send(json!({"type": "match", "ref": format!("m{n}")})).await;
        let reply = alice.recv().await;
        if reply["type"] == "error" {
            refused = Some(reply);
            break;
        }
        assert_eq!(reply["type"], "match_waiting", "{reply}");
        alice.request(json!({"type": "cancel_match"}), "match_cancelled").await;
    }
    let refused = refused.expect("a flood of match requests is limited");
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    assert!(refused["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0 && ms <= 2000), "{refused}");
    // The budget is the user's, not the connection's; the refused request queued nobody.
    alice_phone.expect_error(json!({"type": "match"}), "rate_limited").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    bob.request(json!({"type": "match"}), "match_waiting").await;
}
