//! `block` and `unblock` (PROTOCOL.md "Stranger matching"): blocking the
//! stranger ends the chat, is durable, shows in `connection_established`
//! under the alias the blocker knew, and those two are never matched again.

use heartlink_tests::matching::{pair, unique_name, user_id};
use heartlink_tests::{TestServer, WsClient};
use serde_json::json;

#[tokio::test]
async fn blocking_the_stranger_ends_the_chat_and_lasts_across_a_restart() {
    let mut server = TestServer::start(&[]);
    let (alice_name, bob_name) = (unique_name("a"), unique_name("b"));
    let (mut alice, alice_est) = WsClient::register(&server.url, &alice_name).await;
    let (mut bob, bob_est) = WsClient::register(&server.url, &bob_name).await;
    let (alices, _) = pair(&mut alice, &mut bob, None).await;
    let room_id = alices["room"]["id"].clone();
    let alias = alices["room"]["name"].clone();

    alice.send(json!({"type": "block", "room_id": room_id, "ref": "b"})).await;
    let (blocked, before) = alice.recv_until("blocked").await;
    assert_eq!(blocked["ref"], "b");
    // Her connection hears the chat end too (before or after the reply).
    let ended = before.iter().filter(|frame| frame["type"] == "match_ended").count();
    if ended == 0 {
        assert_eq!(alice.recv_type("match_ended").await["room_id"], room_id);
    }
    assert_eq!(blocked["user"]["username"], alias, "blocked under the alias: {blocked}");
    assert!(!blocked.to_string().contains(&user_id(&bob_est)), "{blocked}");
    assert!(ended <= 1, "{before:?}");
    assert_eq!(bob.recv_type("match_ended").await["room_id"], room_id);

    server.kill9();
    server.restart(false);
    let (mut alice, again) = WsClient::login(&server.url, &alice_name, heartlink_tests::PASSWORD).await;
    assert_eq!(again["blocked"], json!([blocked["user"]]), "{again}");
    let (bob_again, bob_est2) = WsClient::login(&server.url, &bob_name, heartlink_tests::PASSWORD).await;
    assert_eq!(bob_est2["blocked"], json!([]));
    drop(bob_again);

    // Unblocked by the id she knows (the alias id).
    let unblocked = alice.request(json!({"type": "unblock", "user_id": blocked["user"]["id"]}), "unblocked").await;
    assert_eq!(unblocked["user"], blocked["user"]);
    alice.expect_error(json!({"type": "unblock", "user_id": blocked["user"]["id"]}), "not_found").await;
    let _ = alice_est;
}

#[tokio::test]
async fn block_by_user_id_and_its_refusals() {
    let server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (_bob, bob_est) = WsClient::register(&server.url, "bob").await;
    let me = alice_est["user"]["id"].clone();
    let bob = bob_est["user"]["id"].clone();
    let blocked = alice.request(json!({"type": "block", "user_id": bob}), "blocked").await;
    assert_eq!(blocked["user"], bob_est["user"]);
    alice.request(json!({"type": "block", "user_id": bob}), "blocked").await; // again: the same answer
    alice.expect_error(json!({"type": "block", "user_id": me}), "bad_request").await;
    alice.expect_error(json!({"type": "block", "user_id": uuid::Uuid::new_v4().to_string()}), "not_found").await;
    alice.expect_error(json!({"type": "block"}), "bad_request").await;
    let room = alice.create_room("general").await["id"].clone();
    alice.expect_error(json!({"type": "block", "user_id": bob, "room_id": room}), "bad_request").await;
    let (_, again) = WsClient::resume(&server.url, alice_est["token"].as_str().unwrap()).await;
    assert_eq!(again["blocked"], json!([bob_est["user"]]));
}

/// 100 rounds of both waiting at once, in either order, at random and with
/// one code: a blocked pair is never matched (whichever of them waited
/// first); once unblocked they are, so it is the block that kept them apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_pair_is_never_matched_in_100_rounds() {
    let server = TestServer::start(&["--match-rate", "0"]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    let (mut carol, _) = WsClient::register(&server.url, "carol").await;
    // Only alice blocked; bob's requests carry no block of their own.
    alice.request(json!({"type": "block", "user_id": bob_est["user"]["id"]}), "blocked").await;
    // Four connections each, taking turns: 400 requests stay within every
    // connection's own request budget (a burst of 100).
    let mut alices = Vec::new();
    let mut bobs = Vec::new();
    for _ in 0..4 {
        alices.push(WsClient::resume(&server.url, alice_est["token"].as_str().unwrap()).await.0);
        bobs.push(WsClient::resume(&server.url, bob_est["token"].as_str().unwrap()).await.0);
    }
    let started = std::time::Instant::now();
    for round in 0..100 {
        let request = if round % 2 == 0 { json!({"type": "match"}) } else { json!({"type": "match", "code": "4242"}) };
        let (a, b) = (&mut alices[round % 4], &mut bobs[round % 4]);
        let (first, second) = if round % 3 == 0 { (b, a) } else { (a, b) };
        first.request(request.clone(), "match_waiting").await;
        second.request(request, "match_waiting").await;
        first.request(json!({"type": "cancel_match"}), "match_cancelled").await;
        second.request(json!({"type": "cancel_match"}), "match_cancelled").await;
    }
    let took = started.elapsed();
    for client in alices.iter_mut().chain(bobs.iter_mut()).chain([&mut alice, &mut bob]) {
        client.assert_quiet().await;
    }
    // Someone else is still matched with her.
    alice.request(json!({"type": "match"}), "match_waiting").await;
    carol.request(json!({"type": "match"}), "matched").await;
    alice.recv_type("matched").await;
    // Unblocked, the two are matched at the first try.
    alice.request(json!({"type": "unblock", "user_id": bob_est["user"]["id"]}), "unblocked").await;
    bob.request(json!({"type": "match", "code": "7777"}), "match_waiting").await;
    alice.request(json!({"type": "match", "code": "7777"}), "matched").await;
    bob.recv_type("matched").await;
    eprintln!("figure: 100 rounds of a blocked pair both waiting (random and by code) in {took:.2?}, never matched");
}
