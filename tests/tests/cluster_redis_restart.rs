//! Redis dies (SIGKILL) in the middle of a stream of messages and comes back
//! empty: every node keeps serving its own members meanwhile, says so on
//! `/healthz`, and re-reads every room from the store when Redis answers
//! again, so no member on any node misses a message, not even the last
//! ones, which no later message follows.

use heartlink_tests::redis::cluster::{Cluster, Node};
use heartlink_tests::{WAIT, WsClient};
use serde_json::json;
use std::time::Duration;
use tokio::sync::watch;

/// Reads chat messages until seq `last`; returns their seqs in arrival order.
async fn collect_until(mut client: WsClient, last: u64) -> Vec<u64> {
    let mut seen = Vec::new();
    while seen.last().is_none_or(|seq| *seq < last) {
        let frame = client.recv().await;
        if frame["type"] == "chat_message" {
            seen.push(frame["seq"].as_u64().expect("seq"));
        }
    }
    seen
}

/// Polls `/healthz` until its status is `status` (the wait is bounded).
async fn health_becomes(node: &Node, status: u16) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (now, body) = node.health().await;
        if now == status {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "/healthz still {now} ({body}), not {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_mid_stream_no_member_on_any_node_misses_a_message() {
    const SENT: u64 = 150;
    const KILL_AT: u64 = 50;
    let mut cluster = Cluster::start(3, |_| {}).await;
    let (mut alice, established) = WsClient::register(&cluster.nodes[0].url, "alice").await;
    let alice_token = established["token"].as_str().unwrap().to_owned();
    let (mut bob, _) = WsClient::register(&cluster.nodes[1].url, "bob").await;
    let (mut carol, established) = WsClient::register(&cluster.nodes[2].url, "carol").await;
    let carol_token = established["token"].as_str().unwrap().to_owned();
    let room = alice.create_room("stream").await;
    for member in [&mut alice, &mut bob, &mut carol] {
        member.join(&room["id"]).await;
    }
    for node in &cluster.nodes {
        assert_eq!(node.health().await.0, 200, "healthy before the fault");
    }
    let last = SENT + 1; // carol's message while Redis is down
    let readers: Vec<_> = [alice, bob, carol].into_iter().map(|member| tokio::spawn(collect_until(member, last))).collect();

    // alice's second connection (node one) sends, one at a time, each after the last one's ack.
    let (acked_tx, mut acked) = watch::channel(0u64);
    let (url, room_id) = (cluster.nodes[0].url.clone(), room["id"].clone());
    let sender = tokio::spawn(async move {
        let (mut client, _) = WsClient::resume(&url, &alice_token).await;
        client.join(&room_id).await;
        for n in 1..=SENT {
            let id = format!("m{n}");
            client.send(json!({"type": "send", "room_id": room_id, "client_msg_id": id, "body": id})).await;
            let (ack, _) = client.recv_until("ack").await;
            assert_eq!(ack["seq"].as_u64(), Some(n), "{ack}");
            let _ = acked_tx.send(n);
            tokio::time::sleep(Duration::from_millis(5)).await; // a stream, not a burst
        }
    });

    tokio::time::timeout(WAIT, acked.wait_for(|n| *n >= KILL_AT)).await.expect("the stream started").unwrap();
    cluster.redis.kill9();
    for node in &cluster.nodes {
        let body = health_becomes(node, 503).await;
        let reason = body["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("bus") && reason.contains("Redis"), "the reason names Redis: {body}");
    }
    // Node one kept acking its own sends with Redis gone.
    tokio::time::timeout(WAIT * 3, sender).await.expect("every send acked while Redis was down").unwrap();
    // One more, on node three, while Redis is still down: nothing follows it.
    let (mut carol2, _) = WsClient::resume(&cluster.nodes[2].url, &carol_token).await;
    carol2.join(&room["id"]).await;
    carol2.send(json!({"type": "send", "room_id": room["id"], "client_msg_id": "last", "body": "last"})).await;
    let (ack, _) = carol2.recv_until("ack").await;
    assert_eq!(ack["seq"].as_u64(), Some(last));

    cluster.redis.restart();
    for node in &cluster.nodes {
        let body = health_becomes(node, 200).await;
        assert_eq!(body["status"], "ok");
    }
    for (index, reader) in readers.into_iter().enumerate() {
        let seen = tokio::time::timeout(WAIT, reader).await.expect("every member caught up").unwrap();
        assert_eq!(seen, (1..=last).collect::<Vec<_>>(), "member on node {} saw every message once, in order", index + 1);
    }
}
