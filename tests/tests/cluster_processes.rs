//! Three real `heartlink-server` processes on one PostgreSQL and one Redis
//! (the deployment of docs/SCALING.md): members of one room spread over the
//! nodes see the same messages in the same seq order, and concurrent sends
//! through every node get one gapless, duplicate-free sequence.

use heartlink_tests::WsClient;
use heartlink_tests::process_cluster::ProcessCluster;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Reads `client` until it has seen `total` chat messages of `room_id`;
/// returns their seqs in arrival order.
async fn collect_seqs(mut client: WsClient, room_id: Value, total: usize) -> Vec<u64> {
    let mut seen = Vec::with_capacity(total);
    while seen.len() < total {
        let frame = client.recv().await;
        assert_ne!(frame["type"], "error", "a listener got an error: {frame}");
        if frame["type"] == "chat_message" && frame["room_id"] == room_id {
            seen.push(frame["seq"].as_u64().expect("seq"));
        }
    }
    seen
}

/// Requests one connection sends at once, within its request limit (burst 100) with room for the `join`.
const PIPELINE: usize = 90;

/// Posts `{prefix}{n}` for `n` in `0..count` as the user holding `token`,
/// through fresh connections to `url` that each join and pipeline up to
/// [`PIPELINE`] sends; returns the acks' seqs. (The room's other traffic,
/// `room_activity` before `joined` included, is skipped.)
async fn post_stream(url: String, token: String, room_id: Value, prefix: String, count: usize) -> Vec<u64> {
    let mut acked = Vec::with_capacity(count);
    let numbers: Vec<usize> = (0..count).collect();
    for batch in numbers.chunks(PIPELINE) {
        let (mut client, _) = WsClient::resume(&url, &token).await;
        client.send(json!({"type": "join", "room_id": room_id})).await;
        client.recv_until("joined").await;
        for n in batch {
            let id = format!("{prefix}{n}");
            client.send(json!({"type": "send", "room_id": room_id, "client_msg_id": id, "body": id})).await;
        }
        let mut acks = 0;
        while acks < batch.len() {
            let frame = client.recv().await;
            assert_ne!(frame["type"], "error", "a pipelined send failed: {frame}");
            if frame["type"] == "ack" {
                acked.push(frame["seq"].as_u64().expect("ack.seq"));
                acks += 1;
            }
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_on_three_processes_see_the_same_messages_in_the_same_order() {
    let cluster = ProcessCluster::start(3);
    let (mut alice, _) = WsClient::register(&cluster.nodes[0].url, "alice").await;
    let (mut bob, _) = WsClient::register(&cluster.nodes[1].url, "bob").await;
    let (mut carol, _) = WsClient::register(&cluster.nodes[2].url, "carol").await;
    let room = alice.create_room("kitchen").await;
    alice.join(&room["id"]).await;
    bob.join(&room["id"]).await;
    assert_eq!(alice.recv_type("user_joined").await["user"]["username"], "bob", "a join on node two reaches node one");
    carol.join(&room["id"]).await;
    for client in [&mut alice, &mut bob] {
        assert_eq!(client.recv_type("user_joined").await["user"]["username"], "carol", "a join on node three reaches the others");
    }

    // Each posts in turn, twice round; every member (the sender too) sees
    // each message with the next seq, whichever node it went through.
    let mut clients = [alice, bob, carol];
    let mut seq = 0;
    for round in 0..2 {
        for sender in 0..3 {
            seq += 1;
            let body = format!("round {round} from node {}", sender + 1);
            clients[sender].send(json!({"type": "send", "room_id": room["id"], "client_msg_id": body, "body": body})).await;
            for client in &mut clients {
                let (message, _acks) = client.recv_until("chat_message").await;
                assert_eq!((message["seq"].as_u64(), message["body"].as_str()), (Some(seq), Some(body.as_str())));
            }
        }
    }
    // A newcomer on any node reads the same history in the same order.
    let (mut dave, _) = WsClient::register(&cluster.nodes[1].url, "dave").await;
    let joined = dave.join(&room["id"]).await;
    let history: Vec<(u64, String)> = joined["messages"]
        .as_array()
        .expect("joined.messages")
        .iter()
        .map(|message| (message["seq"].as_u64().expect("seq"), message["body"].as_str().expect("body").to_owned()))
        .collect();
    let expected: Vec<(u64, String)> =
        (0..6).map(|n| (n + 1, format!("round {} from node {}", n / 3, n % 3 + 1))).collect();
    assert_eq!(history, expected, "history as read through node two");
    for client in &mut clients {
        let pending = client.sync().await;
        let unexpected: Vec<&Value> = pending.iter().filter(|frame| !matches!(frame["type"].as_str(), Some("ack" | "user_joined"))).collect();
        assert!(unexpected.is_empty(), "nothing but acks and dave's arrival remains: {unexpected:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_times_two_thousand_concurrent_sends_through_three_processes_get_seqs_one_to_six_thousand() {
    const PER_NODE: usize = 2000;
    /// Posting connections per node (each pipelines within the per-connection request limit).
    const STREAMS: usize = 4;
    let cluster = ProcessCluster::start(3);
    let total = PER_NODE * 3;
    let (mut owner, established) = WsClient::register(&cluster.nodes[0].url, "owner").await;
    let token = established["token"].as_str().expect("token").to_owned();
    let room = owner.create_room("busy").await;
    owner.join(&room["id"]).await;
    drop(owner);
    // One listener per node, joined before the burst, reads every message live.
    let mut listeners = Vec::new();
    for (node, server) in cluster.nodes.iter().enumerate() {
        let (mut listener, _) = WsClient::register(&server.url, &format!("listener{node}")).await;
        listener.join(&room["id"]).await;
        listeners.push(tokio::spawn(collect_seqs(listener, room["id"].clone(), total)));
    }

    let started = std::time::Instant::now();
    let mut posters = Vec::new();
    for (node, server) in cluster.nodes.iter().enumerate() {
        for stream in 0..STREAMS {
            let per_stream = PER_NODE / STREAMS;
            let (url, token, room_id) = (server.url.clone(), token.clone(), room["id"].clone());
            let prefix = format!("n{node}s{stream}-");
            posters.push(tokio::spawn(post_stream(url, token, room_id, prefix, per_stream)));
        }
    }
    let mut acked = Vec::with_capacity(total);
    for poster in posters {
        acked.extend(poster.await.expect("a poster panicked"));
    }
    let elapsed = started.elapsed();
    let distinct: BTreeSet<u64> = acked.iter().copied().collect();
    assert_eq!(distinct.len(), total, "no seq acked twice");
    assert_eq!(distinct.iter().copied().collect::<Vec<_>>(), (1..=total as u64).collect::<Vec<_>>(), "seqs 1..{total}, no gap");
    eprintln!("{total} sends through 3 processes acked in {elapsed:?}");

    let expected: Vec<u64> = (1..=total as u64).collect();
    for (node, listener) in listeners.into_iter().enumerate() {
        let seen = tokio::time::timeout(heartlink_tests::WAIT * 6, listener).await.expect("a listener fell behind").expect("listener");
        assert_eq!(seen, expected, "the listener on node {} saw every seq once, in order", node + 1);
    }
}
