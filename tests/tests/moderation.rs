//! Moderation (PROTOCOL.md "Moderation", "Stranger matching"): a group
//! room's creator kicks, bans and unbans; a user reports a room or a
//! message, and the report is on disk with copies of the messages.

use heartlink_server::store::{SledStore, Store};
use heartlink_tests::matching::pair;
use heartlink_tests::{TestServer, WsClient};
use serde_json::json;

#[tokio::test]
async fn the_creator_kicks_bans_and_unbans_and_everyone_sees_why_members_left() {
    let server = TestServer::start(&[]);
    let (mut owner, owner_est) = WsClient::register(&server.url, "owner").await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    let (mut carol, carol_est) = WsClient::register(&server.url, "carol").await;
    let room_id = owner.create_room("general").await["id"].clone();
    owner.join(&room_id).await;
    bob.join(&room_id).await;
    owner.recv_type("user_joined").await;
    carol.join(&room_id).await;
    owner.recv_type("user_joined").await;
    bob.recv_type("user_joined").await;
    let (bob_id, carol_id, owner_id) = (&bob_est["user"]["id"], &carol_est["user"]["id"], &owner_est["user"]["id"]);

    // Only the creator; never themself.
    bob.expect_error(json!({"type": "kick", "room_id": room_id, "user_id": carol_id}), "forbidden").await;
    bob.expect_error(json!({"type": "ban", "room_id": room_id, "user_id": owner_id}), "forbidden").await;
    owner.expect_error(json!({"type": "kick", "room_id": room_id, "user_id": owner_id}), "bad_request").await;
    owner.expect_error(json!({"type": "ban", "room_id": room_id, "user_id": owner_id}), "bad_request").await;
    owner.expect_error(json!({"type": "kick", "room_id": uuid::Uuid::new_v4().to_string(), "user_id": bob_id}), "not_found").await;
    carol.assert_quiet().await;

    // A kick: bob's own connection hears it too, and he may come back.
    let kicked = owner.request(json!({"type": "kick", "room_id": room_id, "user_id": bob_id, "ref": "k"}), "kicked").await;
    assert_eq!(kicked, json!({"type": "kicked", "room_id": room_id, "user": bob_est["user"], "ref": "k"}));
    for client in [&mut owner, &mut bob, &mut carol] {
        let left = client.recv_type("user_left").await;
        assert_eq!(left, json!({"type": "user_left", "room_id": room_id, "user": bob_est["user"], "reason": "kicked"}));
    }
    bob.expect_error(json!({"type": "send", "room_id": room_id, "client_msg_id": "c", "body": "hi"}), "forbidden").await;
    owner.expect_error(json!({"type": "kick", "room_id": room_id, "user_id": bob_id}), "not_found").await;
    bob.join(&room_id).await;
    owner.recv_type("user_joined").await;
    carol.recv_type("user_joined").await;

    // A ban: out, and refused at the door until unbanned.
    owner.request(json!({"type": "ban", "room_id": room_id, "user_id": bob_id}), "banned").await;
    for client in [&mut owner, &mut bob, &mut carol] {
        assert_eq!(client.recv_type("user_left").await["reason"], "banned");
    }
    let refused = bob.expect_error(json!({"type": "join", "room_id": room_id}), "forbidden").await;
    assert!(refused["message"].as_str().unwrap().contains("banned"), "{refused}");
    bob.expect_error(json!({"type": "unban", "room_id": room_id, "user_id": bob_id}), "forbidden").await;
    owner.request(json!({"type": "unban", "room_id": room_id, "user_id": bob_id}), "unbanned").await;
    owner.expect_error(json!({"type": "unban", "room_id": room_id, "user_id": bob_id}), "not_found").await;
    bob.join(&room_id).await;
    carol.recv_type("user_joined").await;

    // Kick and ban are for group rooms.
    let (mut dave, _) = WsClient::register(&server.url, "dave").await;
    let (daves, _) = pair(&mut dave, &mut carol, None).await;
    dave.expect_error(json!({"type": "kick", "room_id": daves["room"]["id"], "user_id": carol_id}), "bad_request").await;
}

#[tokio::test]
async fn a_report_is_stored_with_its_messages_and_outlives_a_restart() {
    let mut server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    let (alices, _) = pair(&mut alice, &mut bob, Some("1234")).await;
    let room_id = alices["room"]["id"].clone();
    bob.join(&room_id).await;
    // Alice in the room before the messages (else they reach her as room_activity).
    alice.join(&room_id).await;
    bob.post(&room_id, "c1", "hello").await;
    let rude = bob.post(&room_id, "c2", "something rude").await;
    alice.recv_type("chat_message").await;
    alice.recv_type("chat_message").await;

    // Refusals first: nothing is stored for them.
    let long = "x".repeat(1001);
    alice.expect_error(json!({"type": "report", "room_id": room_id, "reason": long}), "too_large").await;
    alice.expect_error(json!({"type": "report", "room_id": room_id, "reason": ""}), "bad_request").await;
    alice.expect_error(json!({"type": "report", "room_id": room_id, "seq": 99, "reason": "rude"}), "not_found").await;
    let (mut carol, _) = WsClient::register(&server.url, "carol").await;
    carol.expect_error(json!({"type": "report", "room_id": room_id, "reason": "nosy"}), "forbidden").await;
    let group = carol.create_room("elsewhere").await["id"].clone();
    alice.expect_error(json!({"type": "report", "room_id": group, "reason": "not mine"}), "forbidden").await;

    let reported = alice.request(json!({"type": "report", "room_id": room_id, "seq": rude["seq"], "reason": "rude", "ref": "r"}), "reported").await;
    assert_eq!(reported, json!({"type": "reported", "room_id": room_id, "ref": "r"}));
    bob.assert_quiet().await; // the reported user is not told

    server.kill9();
    if heartlink_tests::server_process::test_store_for(server.data_dir()).is_some() {
        // PostgreSQL: the operator reads the report through the restarted node's socket.
        server.restart(false);
        let listing = heartlink_tests::admin_cli::admin(server.data_dir(), &["reports"]).ok();
        assert!(listing.ends_with("1 open report\n"), "{listing}");
        assert!(listing.contains("by alice") && listing.contains("(stranger: bob)"), "the operator learns who: {listing}");
        assert!(listing.contains(&format!("about message {}", rude["seq"])), "{listing}");
        let (_alice, again) = WsClient::resume(&server.url, alice_est["token"].as_str().unwrap()).await;
        assert_eq!(again["user"], alice_est["user"]);
        return;
    }
    let store = SledStore::open(server.data_dir()).expect("the data dir opens");
    let reports = store.reports_open().await.expect("reports");
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = &reports[0];
    assert_eq!((report.reporter.username.as_str(), report.reason.as_str(), report.seq), ("alice", "rude", rude["seq"].as_u64()));
    assert_eq!(report.peer.as_ref().map(|peer| peer.id.to_string()), bob_est["user"]["id"].as_str().map(str::to_owned), "the operator learns who");
    let bodies: Vec<&str> = report.messages.iter().map(|message| message.message.body.as_str()).collect();
    assert_eq!(bodies, ["hello", "something rude"]);
    assert_eq!(store.report(report.id).await.expect("one report").as_ref(), Some(report));
    drop(store);
    server.restart(false);
    let (_alice, again) = WsClient::resume(&server.url, alice_est["token"].as_str().unwrap()).await;
    assert_eq!(again["user"], alice_est["user"]);
}
