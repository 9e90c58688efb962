//! docs/SCALING.md's HAProxy setup, run for real: Debian's `haproxy` with
//! the documented configuration in front of three `heartlink-server`
//! processes on one PostgreSQL and one Redis. Clients know only the
//! balancer's address. Two of them chat through it (`leastconn` puts them
//! on different nodes); the node alice is on is killed with SIGKILL in the
//! middle of her burst: she reconnects through HAProxy to a live node
//! (`resume`, `join` with `since`, the un-acked re-sent with their original
//! ids), every message is acked and stored once under its ack's seq, bob
//! sees them all once, and the two go on chatting. HAProxy's checks on
//! `/healthz` mark the killed node down and the restarted node up again,
//! and HAProxy keeps the per-address connection limit the nodes cannot (they
//! see every client at its address).

use heartlink_tests::WsClient;
use heartlink_tests::haproxy::{Haproxy, PER_SOURCE_CONNECTIONS, ServerStat};
use heartlink_tests::process_cluster::ProcessCluster;
use heartlink_tests::reconnecting_client::ReconnectingClient;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Generous: a failover is a detection, a reconnect and a resume on a loaded machine.
const SETTLE: Duration = Duration::from_secs(30);
/// Messages alice sends in the burst her node dies in.
const BURST: usize = 40;

fn total_sessions(stats: &[ServerStat]) -> u64 {
    stats.iter().map(|server| server.sessions).sum()
}

/// The node (index into the cluster's nodes) holding exactly one session, the only one open.
fn sole_session_node(stats: &[ServerStat]) -> usize {
    let busy: Vec<usize> = (0..stats.len()).filter(|&index| stats[index].sessions == 1).collect();
    assert_eq!(busy.len(), 1, "one node holds the one session: {stats:?}");
    busy[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_haproxy_a_killed_nodes_client_moves_to_a_live_node_and_loses_nothing() {
    let started = Instant::now();
    let mut cluster = ProcessCluster::start(3);
    let addrs: Vec<&str> = cluster.nodes.iter().map(|node| node.addr.as_str()).collect();
    let haproxy = Haproxy::start(&addrs);

    let (mut alice_socket, alice_established) = WsClient::register(&haproxy.url, "alice").await;
    let room = alice_socket.create_room("behind haproxy").await;
    let room_id = room["id"].as_str().expect("room id").to_owned();
    let (bob_socket, bob_established) = WsClient::register(&haproxy.url, "bob").await;
    drop((alice_socket, bob_socket));
    haproxy.wait_stats("the registration sockets closed", SETTLE, |stats| total_sessions(stats) == 0);

    let alice = Arc::new(ReconnectingClient::start(&haproxy.url, &alice_established));
    alice.join(&room_id).await;
    let victim = sole_session_node(&haproxy.wait_stats("alice's session", SETTLE, |stats| total_sessions(stats) == 1));
    let bob = ReconnectingClient::start(&haproxy.url, &bob_established);
    bob.join(&room_id).await;
    let stats = haproxy.wait_stats("bob's session", SETTLE, |stats| total_sessions(stats) == 2);
    assert_eq!(stats[victim].sessions, 1, "leastconn put bob on another node than alice: {stats:?}");

    // Both ways through the balancer, across two nodes.
    for n in 0..5 {
        alice.send(&room_id, &format!("alice before {n}")).await;
        bob.send(&room_id, &format!("bob before {n}")).await;
    }
    alice.wait_all_acked(SETTLE).await;
    bob.wait_all_acked(SETTLE).await;
    bob.wait_holds(&room_id, 10, SETTLE).await;
    alice.wait_holds(&room_id, 10, SETTLE).await;

    // Alice's node dies a quarter into her burst.
    let acked_before = alice.book().acks.len();
    let sender = {
        let (alice, room_id) = (Arc::clone(&alice), room_id.clone());
        tokio::spawn(async move {
            for n in 0..BURST {
                alice.send(&room_id, &format!("alice burst {n}")).await;
            }
        })
    };
    alice.wait_acks(acked_before + BURST / 4, SETTLE).await;
    cluster.nodes[victim].kill9();
    let killed = Instant::now();
    tokio::time::timeout(SETTLE, sender).await.expect("the burst was queued").expect("the sender panicked");
    alice.wait_all_acked(SETTLE).await;
    let moved_in = killed.elapsed();
    let book = alice.book();
    assert!(book.connects >= 2, "alice reconnected through haproxy: {}", book.summary());
    assert!(book.connected_to.iter().all(|url| url == &haproxy.url), "alice only ever knew the balancer");
    let stats = haproxy.wait_stats("the killed node down, alice's session on a live one", SETTLE, |stats| {
        stats[victim].status.starts_with("DOWN") && stats[victim].sessions == 0 && total_sessions(stats) == 2
    });
    eprintln!("haproxy_cluster: alice's burst all acked {moved_in:?} after the kill; {stats:?}");

    // Bob goes on chatting with alice on her new node.
    for n in 0..5 {
        bob.send(&room_id, &format!("bob after {n}")).await;
    }
    bob.wait_all_acked(SETTLE).await;
    let total = (10 + BURST + 5) as u64;
    alice.wait_holds(&room_id, total, SETTLE).await;
    bob.wait_holds(&room_id, total, SETTLE).await;

    // Every message was acked once, and the room holds exactly those, each
    // under its ack's seq, with no gap; both members hold that history and
    // were given no seq twice.
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    for client in [&*alice, &bob] {
        let book = client.book();
        assert!(book.violations.is_empty(), "{}: {:?}", client.username, book.violations);
        assert!(book.duplicates.is_empty(), "{} got seqs twice: {:?}", client.username, book.duplicates);
        for (id, seq) in &book.acks {
            assert!(acked.insert(id.clone(), *seq).is_none(), "client_msg_id {id} acked to two clients");
        }
    }
    assert_eq!(acked.len() as u64, total, "every send was acked");
    let history = alice.book().messages(&room_id);
    assert_eq!(history.len() as u64, total, "no message beyond the acked ones");
    for (expected_seq, message) in (1..).zip(&history) {
        assert_eq!(message.seq, expected_seq, "no gap");
        assert_eq!(acked.get(&message.client_msg_id), Some(&message.seq), "seq {} is acked under its seq", message.seq);
    }
    let bodies = |client: &ReconnectingClient| -> Vec<(u64, String)> {
        client.book().messages(&room_id).into_iter().map(|m| (m.seq, m.body)).collect()
    };
    assert_eq!(bodies(&bob), bodies(&alice), "bob holds the same history");
    let alice_burst: Vec<String> =
        history.iter().filter(|m| m.body.starts_with("alice burst")).map(|m| m.body.clone()).collect();
    assert_eq!(alice_burst, (0..BURST).map(|n| format!("alice burst {n}")).collect::<Vec<_>>(), "in the order sent");

    // The restarted node passes its checks and takes the next connection
    // (the one with the fewest), whose reader finds the same history there.
    cluster.nodes[victim].restart(true);
    haproxy.wait_stats("the restarted node up", SETTLE, |stats| stats[victim].status == "UP");
    let (mut carol, _) = WsClient::register(&haproxy.url, "carol").await;
    let stats = haproxy.stats();
    assert_eq!((stats[victim].sessions, total_sessions(&stats)), (1, 3), "carol is on the restarted node: {stats:?}");
    let joined = carol.request(json!({"type": "join", "room_id": room_id, "since": 0}), "joined").await;
    let read: Vec<(u64, String)> = joined["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| (m["seq"].as_u64().unwrap_or_default(), m["body"].as_str().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(read, bodies(&alice), "the restarted node serves the same history");

    // Behind the balancer every client reaches a node from HAProxy's
    // address; the limit of open connections per client address is
    // HAProxy's. Connections are opened one by one, each waited for until
    // HAProxy counts it open or closes it: all are let in up to the limit
    // (alice, bob and carol included), and the next is closed at once.
    let frontend = haproxy.url.trim_start_matches("ws://").trim_end_matches("/ws").to_owned();
    let before = haproxy.open_connections_from("127.0.0.1");
    assert!(before >= 3, "alice, bob and carol are counted: {before}");
    let mut held: Vec<std::net::TcpStream> = Vec::new();
    let refused = loop {
        let stream = std::net::TcpStream::connect(&frontend).expect("TCP accepts, then HAProxy decides");
        stream.set_nonblocking(true).expect("non-blocking");
        let counted = before + held.len() as u64 + 1;
        let deadline = Instant::now() + SETTLE;
        let closed = loop {
            let mut byte = [0_u8; 1];
            match stream.peek(&mut byte) {
                Ok(0) => break true,
                Err(err) if err.kind() != std::io::ErrorKind::WouldBlock => break true,
                _ => {}
            }
            if haproxy.open_connections_from("127.0.0.1") == counted {
                break false;
            }
            assert!(Instant::now() < deadline, "haproxy neither counted nor closed connection {counted}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        if closed {
            break counted;
        }
        held.push(stream);
        assert!(counted <= PER_SOURCE_CONNECTIONS as u64, "connection {counted} from one address was let in");
    };
    assert_eq!(refused, PER_SOURCE_CONNECTIONS as u64 + 1, "the first one over the limit is closed");
    eprintln!("haproxy_cluster: {before} connections open from the clients' address, {} more let in, the next closed", held.len());
    eprintln!("haproxy_cluster: the scene took {:?}", started.elapsed());
}
