//! The shared live state across nodes (one store, one real Redis, nodes in
//! this process): presence and typing seen on another node, a dead node's
//! users going offline within seconds, strangers on two nodes matched, and
//! bans and logouts closing connections on every node.

use heartlink_tests::admin_cli::admin;
use heartlink_tests::matching::pair;
use heartlink_tests::redis::cluster::Cluster;
use heartlink_tests::{PASSWORD, WsClient};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn without_last_seen(mut frame: Value) -> Value {
    if let Some(object) = frame.as_object_mut() {
        object.remove("last_seen");
    }
    frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_and_typing_cross_nodes() {
    let cluster = Cluster::start(2, |config| {
        config.presence_grace = Duration::ZERO;
        config.typing_ttl = Duration::from_secs(1);
    })
    .await;
    let (one, two) = (&cluster.nodes[0], &cluster.nodes[1]);
    let (mut alice, _) = WsClient::register(&one.url, "alice").await;
    let room = alice.create_room("porch").await;
    alice.join(&room["id"]).await;
    let (mut bob, bob_est) = WsClient::register(&two.url, "bob").await;
    bob.join(&room["id"]).await;
    alice.recv_type("user_joined").await;

    bob.send(json!({"type": "typing", "room_id": room["id"], "active": true})).await;
    let typing = alice.recv_type("typing").await;
    assert_eq!((&typing["user"], &typing["active"]), (&bob_est["user"], &json!(true)));
    bob.send(json!({"type": "typing", "room_id": room["id"], "active": false})).await;
    assert_eq!(alice.recv_type("typing").await["active"], false);

    bob.send(json!({"type": "set_status", "status": "away"})).await;
    let away = alice.recv_type("presence").await;
    assert_eq!((&away["user"], &away["status"]), (&bob_est["user"], &json!("away")));
    // A second connection of bob, on the other node, is active: bob is online again.
    let token = bob_est["token"].as_str().unwrap();
    let (mut bob_laptop, _) = WsClient::resume(&one.url, token).await;
    assert_eq!(alice.recv_type("presence").await["status"], "online", "connections are counted over both nodes");
    drop(bob);
    bob_laptop.sync().await;
    alice.assert_quiet().await; // bob's laptop still counts: no offline
    drop(bob_laptop);
    let offline = without_last_seen(alice.recv_type("presence").await);
    assert_eq!(offline, json!({"type": "presence", "user": bob_est["user"], "online": false, "status": "offline"}));

    // A typing indicator that runs out on node two (its deadline) goes off on node one too.
    let (mut bob, _) = WsClient::resume(&two.url, token).await;
    bob.join(&room["id"]).await;
    bob.send(json!({"type": "typing", "room_id": room["id"], "active": true})).await;
    let (typing, _) = alice.recv_until("typing").await;
    assert_eq!(typing["active"], true);
    let started = Instant::now();
    let stopped = alice.recv_type("typing").await;
    assert_eq!((&stopped["user"], &stopped["active"]), (&bob_est["user"], &json!(false)));
    assert!(started.elapsed() >= Duration::from_millis(500), "not before its deadline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_users_go_offline_on_the_others_within_seconds() {
    let mut cluster = Cluster::start(2, |config| config.presence_grace = Duration::from_secs(1)).await;
    let (mut alice, _) = WsClient::register(&cluster.nodes[0].url, "alice").await;
    let room = alice.create_room("watch").await;
    alice.join(&room["id"]).await;
    let (mut carol, carol_est) = WsClient::register(&cluster.nodes[1].url, "carol").await;
    carol.join(&room["id"]).await;
    alice.recv_type("user_joined").await;
    alice.assert_quiet().await;

    let dead = cluster.nodes.remove(1);
    let started = Instant::now();
    dead.kill();
    let offline = without_last_seen(alice.recv_type("presence").await);
    let took = started.elapsed();
    assert_eq!(offline, json!({"type": "presence", "user": carol_est["user"], "online": false, "status": "offline"}));
    assert!(took < Duration::from_secs(8), "offline after {took:?}");
    eprintln!("figure: a dead node's user shown offline on another node {took:.2?} after the node died (liveness TTL 3 s, grace 1 s)");
    drop(carol);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_on_two_nodes_are_matched_into_one_room() {
    let cluster = Cluster::start(2, |_| {}).await;
    let (mut alice, _) = WsClient::register(&cluster.nodes[0].url, "alice").await;
    let (mut bob, _) = WsClient::register(&cluster.nodes[1].url, "bob").await;
    let (alices, bobs) = pair(&mut alice, &mut bob, None).await;
    let room_id = alices["room"]["id"].clone();
    alice.join(&room_id).await;
    bob.join(&room_id).await;
    bob.send(json!({"type": "send", "room_id": room_id, "client_msg_id": "hi", "body": "hello stranger"})).await;
    assert_eq!(alice.recv_until("chat_message").await.0["body"], "hello stranger");
    // With a code, across the nodes the other way round.
    let (mut carol, _) = WsClient::register(&cluster.nodes[1].url, "carol").await;
    let (mut dave, _) = WsClient::register(&cluster.nodes[0].url, "dave").await;
    let (carols, daves) = pair(&mut carol, &mut dave, Some("4242")).await;
    assert_ne!(carols["room"]["id"], bobs["room"]["id"]);
    assert_eq!(carols["room"]["id"], daves["room"]["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bans_and_logouts_close_connections_on_every_node() {
    let cluster = Cluster::start(2, |_| {}).await;
    let (one, two) = (&cluster.nodes[0], &cluster.nodes[1]);

    // The operator bans mallory on node one; her connection on node two closes.
    let (mut mallory, _) = WsClient::register(&two.url, "mallory").await;
    mallory.sync().await;
    let dir = one.data_dir().to_path_buf();
    let banned = tokio::task::spawn_blocking(move || admin(&dir, &["ban-user", "mallory", "--reason", "spam"]).ok());
    banned.await.unwrap();
    let (closed, _) = mallory.expect_close().await;
    assert_eq!(closed.code, 4003, "banned on another node: {closed:?}");

    // alice logs out everywhere on node one; her session on node two ends.
    let (mut laptop, _) = WsClient::register(&one.url, "alice").await;
    let (mut phone, _) = WsClient::login(&two.url, "alice", PASSWORD).await;
    phone.sync().await;
    laptop.send(json!({"type": "logout", "everywhere": true})).await;
    assert_eq!(laptop.expect_close().await.0.code, 1000);
    let (closed, _) = phone.expect_close().await;
    assert_eq!((closed.code, closed.reason.as_str()), (1008, "logged out everywhere"));
}
