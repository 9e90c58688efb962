//! Messages across nodes: three server nodes share one store and one real
//! Redis; the members of a room, spread over the nodes, see the same
//! messages in the same seq order, and concurrent sends through every node
//! get one gapless sequence.

use heartlink_tests::redis::cluster::Cluster;
use heartlink_tests::WsClient;
use serde_json::{Value, json};

/// Sends `count` messages (`{prefix}{n}`) pipelined on `client`, and reads
/// until it has seen `total` chat messages and its `count` acks; returns the
/// seqs it saw in arrival order and the seqs of its acks.
async fn send_and_collect(mut client: WsClient, room: Value, prefix: String, count: usize, total: usize) -> (Vec<u64>, Vec<u64>) {
    for n in 0..count {
        let id = format!("{prefix}{n}");
        client.send(json!({"type": "send", "room_id": room, "client_msg_id": id, "body": id})).await;
    }
    let (mut seen, mut acked) = (Vec::with_capacity(total), Vec::with_capacity(count));
    while seen.len() < total || acked.len() < count {
        let frame = client.recv().await;
        match frame["type"].as_str() {
            Some("chat_message") => seen.push(frame["seq"].as_u64().expect("seq")),
            Some("ack") => acked.push(frame["seq"].as_u64().expect("seq")),
            Some("error") => panic!("a send failed: {frame}"),
            _ => {}
        }
    }
    (seen, acked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_on_three_nodes_see_the_same_messages_in_the_same_order() {
    let cluster = Cluster::start(3, |_| {}).await;
    let [one, two, three] = [&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]];
    let (mut alice, _) = WsClient::register(&one.url, "alice").await;
    let (mut bob, _) = WsClient::register(&two.url, "bob").await;
    let (mut carol, _) = WsClient::register(&three.url, "carol").await;
    let room = alice.create_room("kitchen").await;
    alice.join(&room["id"]).await;
    bob.join(&room["id"]).await;
    assert_eq!(alice.recv_type("user_joined").await["user"]["username"], "bob", "a join on node two reaches node one");
    carol.join(&room["id"]).await;
    for client in [&mut alice, &mut bob] {
        assert_eq!(client.recv_type("user_joined").await["user"]["username"], "carol");
    }

    // Each posts in turn; every member (the sender too) sees each message, in seq order.
    let posts = [(0, "from node one"), (1, "from node two"), (2, "from node three")];
    let mut clients = [alice, bob, carol];
    for (seq, (sender, body)) in (1u64..).zip(posts) {
        clients[sender].send(json!({"type": "send", "room_id": room["id"], "client_msg_id": body, "body": body})).await;
        for client in &mut clients {
            let (message, _acks) = client.recv_until("chat_message").await;
            assert_eq!((message["seq"].as_u64(), message["body"].as_str()), (Some(seq), Some(body)));
        }
    }
    for client in &mut clients {
        let pending = client.sync().await;
        assert!(pending.iter().all(|frame| frame["type"] == "ack"), "only the senders' own acks remain: {pending:?}");
        client.assert_quiet().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_times_two_thousand_concurrent_sends_through_all_nodes_get_one_gapless_sequence() {
    const PER_NODE: usize = 2000;
    let cluster = Cluster::start(3, |config| config.request_rate = 100_000).await;
    let mut members = Vec::new();
    let (mut owner, _) = WsClient::register(&cluster.nodes[0].url, "owner").await;
    let room = owner.create_room("busy").await;
    owner.join(&room["id"]).await;
    members.push(owner);
    for (index, name) in ["second", "third"].into_iter().enumerate() {
        let (mut member, _) = WsClient::register(&cluster.nodes[index + 1].url, name).await;
        member.join(&room["id"]).await;
            members.push(member);
    }
    for member in &mut members {
        member.sync().await; // the joins' user_joined frames
    }
    let total = PER_NODE * 3;
    let started = std::time::Instant::now();
    let members: Vec<_> = members
        .into_iter()
        .enumerate()
        .map(|(node, member)| tokio::spawn(send_and_collect(member, room["id"].clone(), format!("n{node}-"), PER_NODE, total)))
        .collect();
    let mut acked: Vec<u64> = Vec::new();
    for (index, member) in members.into_iter().enumerate() {
        let (seen, acks) = member.await.unwrap();
        assert_eq!(seen, (1..=total as u64).collect::<Vec<_>>(), "member {index} saw every message once, in order");
        acked.extend(acks);
    }
    eprintln!("{total} sends through 3 nodes acked and seen by every member in {:?}", started.elapsed());
    acked.sort_unstable();
    assert_eq!(acked, (1..=total as u64).collect::<Vec<_>>(), "the acks' seqs are 1..{total}, no gap, no duplicate");

    // The store agrees: a late joiner on any node reads the same history.
    let (mut late, _) = WsClient::register(&cluster.nodes[2].url, "late").await;
    let joined = late.request(json!({"type": "join", "room_id": room["id"], "since": 0}), "joined").await;
    assert_eq!(joined["last_seq"], json!(total));
    let first: &Value = &joined["messages"][0];
    assert!(first["seq"].as_u64().is_some());
}
