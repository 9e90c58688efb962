//! `kill -9` of a node process mid-burst, five times over (the killed node
//! restarted each time): the clients it served fail over to another node by
//! themselves (resume, re-join with `since`, re-send the un-acked with their
//! original `client_msg_id`), and every acked message is in the room's
//! history exactly once, under the seq its ack named, with no gap.

use heartlink_tests::WsClient;
use heartlink_tests::process_cluster::ProcessCluster;
use heartlink_tests::reconnecting_client::ReconnectingClient;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Messages each client sends per round.
const PER_ROUND: usize = 60;
const ROUNDS: usize = 5;
/// Generous: a failover is a detection, a backoff and a resume on a loaded machine.
const SETTLE: Duration = Duration::from_secs(40);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_burst_five_times_loses_and_doubles_no_acked_message() {
    let mut cluster = ProcessCluster::start(3);
    let (mut owner, _) = WsClient::register(&cluster.nodes[0].url, "owner").await;
    let room = owner.create_room("failover").await;
    let room_id = room["id"].as_str().expect("room id").to_owned();
    drop(owner);
    // One client per node, knowing every node and preferring its own.
    let mut clients = Vec::new();
    for node in 0..3 {
        let (_socket, established) = WsClient::register(&cluster.nodes[node].url, &format!("member{node}")).await;
        let client = Arc::new(ReconnectingClient::start_any(&cluster.urls_from(node), &established));
        client.join(&room_id).await;
        clients.push(client);
    }

    for round in 0..ROUNDS {
        let victim = round % 3;
        let victim_url = cluster.nodes[victim].url.clone();
        let acks_before: Vec<usize> = clients.iter().map(|client| client.book().acks.len()).collect();
        let connects_before: Vec<u64> = clients.iter().map(|client| client.book().connects).collect();
        let senders: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(index, client)| {
                let (client, room_id) = (Arc::clone(client), room_id.clone());
                tokio::spawn(async move {
                    for n in 0..PER_ROUND {
                        client.send(&room_id, &format!("round {round} member {index} message {n}")).await;
                    }
                })
            })
            .collect();
        // Mid-burst: once a third of this round's messages of the first
        // client on the victim are acked (or of client 0 if none is there).
        let on_victim: Vec<usize> =
            (0..3).filter(|&index| clients[index].book().connected_to.last() == Some(&victim_url)).collect();
        assert!(!on_victim.is_empty(), "round {round}: some client is on node {victim} (the rotation puts one there)");
        let watched = on_victim[0];
        clients[watched].wait_acks(acks_before[watched] + PER_ROUND / 3, SETTLE).await;
        cluster.nodes[victim].kill9();

        for sender in senders {
            tokio::time::timeout(SETTLE, sender).await.expect("the sends did not finish").expect("a sender panicked");
        }
        for client in &clients {
            client.wait_all_acked(SETTLE).await;
        }
        for &index in &on_victim {
            let book = clients[index].book();
            assert!(book.connects > connects_before[index], "round {round}: member {index} reconnected after the kill");
            assert_ne!(book.connected_to.last(), Some(&victim_url), "round {round}: member {index} moved to a live node");
        }
        cluster.nodes[victim].restart(true);
    }

    // Every message any client sent was acked (the outboxes are empty), so
    // the history holds exactly the sent messages, each once, under its ack's seq.
    let total = (ROUNDS * PER_ROUND * 3) as u64;
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    for client in &clients {
        let book = client.book();
        assert!(book.violations.is_empty(), "{}: {:?}", client.username, book.violations);
        for (id, seq) in &book.acks {
            assert!(acked.insert(id.clone(), *seq).is_none(), "client_msg_id {id} acked to two clients");
        }
    }
    assert_eq!(acked.len() as u64, total, "every send was acked");
    let (_socket, established) = WsClient::register(&cluster.nodes[1].url, "auditor").await;
    let auditor = ReconnectingClient::start_any(&cluster.urls_from(1), &established);
    auditor.join(&room_id).await;
    auditor.wait_holds(&room_id, total, SETTLE).await;
    let history = auditor.book().messages(&room_id);
    assert_eq!(history.len() as u64, total, "no message beyond the acked ones (no duplicate row)");
    for (expected_seq, message) in (1..).zip(&history) {
        assert_eq!(message.seq, expected_seq, "no gap");
        assert_eq!(acked.get(&message.client_msg_id), Some(&message.seq), "seq {} is an acked message under its ack's seq", message.seq);
    }
    // The members saw the same history live or on re-join: all of it, each seq once.
    for client in &clients {
        client.wait_holds(&room_id, total, SETTLE).await;
        let book = client.book();
        assert!(book.duplicates.is_empty(), "{} got seqs twice: {:?}", client.username, book.duplicates);
        let seen: Vec<(u64, String)> = book.messages(&room_id).into_iter().map(|m| (m.seq, m.client_msg_id)).collect();
        let audited: Vec<(u64, String)> = history.iter().map(|m| (m.seq, m.client_msg_id.clone())).collect();
        assert_eq!(seen, audited, "{} holds the history as it is", client.username);
    }
}
