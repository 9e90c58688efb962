//! docs/SCALING.md's walk-through as a user lives it: three real
//! `heartlink-server` processes on one PostgreSQL and one Redis, two real
//! `heartlink-tui`s in tmux on different nodes, each given the three nodes
//! (`--server A,B,C` and `B,C,A`). They chat both ways; alice's node hangs
//! while she types (her lines show as sending), is killed with SIGKILL with
//! them in flight, and she types more while her client finds another node. Her terminal says
//! `reconnected` and names the node it moved to; bob's terminal shows every
//! line of hers once, the room's history holds each once and in the order
//! she typed them, and the two go on chatting.

use heartlink_tests::process_cluster::ProcessCluster;
use heartlink_tests::tmux::{DEADLINE, Terminal, Tmux, config_with, register_with, room_id_in, status_bar};
use heartlink_tests::{PASSWORD, TestServer, WsClient};
use serde_json::{Value, json};
use std::time::Instant;

/// Typed while alice's node hangs: sent, never acked by it, in flight when it dies.
const IN_FLIGHT: [&str; 4] = ["in flight one", "in flight two", "in flight three", "in flight four"];
/// Typed right after the kill, while the client notices and moves.
const AFTER_KILL: [&str; 2] = ["typed after the kill", "and one more"];

/// SIGSTOP: the node stops answering but its sockets stay open, as a hung machine's do.
fn freeze(node: &TestServer) {
    let pid = node.pid().expect("the node runs").to_string();
    let status = std::process::Command::new("kill").args(["-STOP", &pid]).status().expect("run kill");
    assert!(status.success(), "kill -STOP {pid}");
}

/// Waits until every `lines` of `sender` is on the terminal's screen with no
/// `(sending…)` mark left; then each must be there exactly once.
fn wait_each_once(terminal: &Terminal<'_>, sender: &str, lines: &[&str]) -> String {
    let shown: Vec<String> = lines.iter().map(|line| format!("{sender}: {line}")).collect();
    let screen = terminal.wait_for(&format!("{sender}'s lines, all acked"), DEADLINE, |s| {
        shown.iter().all(|line| s.contains(line.as_str())) && !s.contains("(sending…)")
    });
    for line in &shown {
        assert_eq!(screen.matches(line.as_str()).count(), 1, "{}: {line:?} once:\n{screen}", terminal.name);
    }
    screen
}

/// The room's history as a reader on `url` finds it: (sender, body) in seq
/// order, after checking the seqs run 1, 2, 3… and no `client_msg_id` repeats.
async fn history(url: &str, room: &str) -> Vec<(String, String)> {
    let (mut reader, _) = WsClient::login(url, "bob", PASSWORD).await;
    let joined = reader.join(&json!(room)).await;
    let messages: &Vec<Value> = joined["messages"].as_array().expect("messages");
    let seqs: Vec<u64> = messages.iter().filter_map(|m| m["seq"].as_u64()).collect();
    assert_eq!(seqs, (1..=messages.len() as u64).collect::<Vec<_>>(), "no gap, no seq twice: {joined}");
    let mut ids: Vec<&str> = messages.iter().filter_map(|m| m["client_msg_id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), messages.len(), "no message stored twice: {joined}");
    messages
        .iter()
        .map(|m| (m["sender"]["username"].as_str().unwrap_or_default().to_owned(), m["body"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

#[test]
fn two_terminals_on_two_nodes_chat_through_a_kill_9_of_one() {
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut cluster = ProcessCluster::start(3);
    let tmux = Tmux::start();
    let alice = register_with(&tmux, "alice", &cluster.urls_from(0).join(","), config_with(""));
    let bob = register_with(&tmux, "bob", &cluster.urls_from(1).join(","), config_with(""));
    let node_a = cluster.nodes[0].url.clone();
    alice.wait_for("alice on node A", DEADLINE, |s| status_bar(s).contains(&node_a));
    bob.wait_for("bob on node B", DEADLINE, |s| status_bar(s).contains(&cluster.nodes[1].url));

    alice.type_line("/create lobby");
    let room = room_id_in(&alice.wait_text("share its id"));
    bob.type_line(&format!("/join {room}"));
    bob.wait_text("joined lobby — 2 members: alice, bob");
    alice.wait_text("bob joined");
    alice.type_line("hello from node A");
    bob.wait_text("alice: hello from node A");
    bob.type_line("hi from node B");
    alice.wait_text("bob: hi from node B");

    // Node A hangs (SIGSTOP) as alice types: her lines go out on a socket
    // that still looks alive and wait for their acks, shown as sending.
    // Then the node dies for good, and she types on.
    freeze(&cluster.nodes[0]);
    for line in IN_FLIGHT {
        alice.type_line(line);
    }
    let in_flight: Vec<String> = IN_FLIGHT.iter().map(|line| format!("alice: {line}  (sending…)")).collect();
    alice.wait_for("the lines in flight, un-acked", DEADLINE, |s| {
        status_bar(s).contains(" connected ") && in_flight.iter().all(|line| s.contains(line.as_str()))
    });
    cluster.nodes[0].kill9();
    for line in AFTER_KILL {
        alice.type_line(line);
    }

    let screen = alice.wait_for("connected to another node", DEADLINE, |s| {
        status_bar(s).contains(" connected ") && !status_bar(s).contains(&node_a)
    });
    let now_on = [&cluster.nodes[1], &cluster.nodes[2]]
        .into_iter()
        .find(|node| status_bar(&screen).contains(&node.url))
        .unwrap_or_else(|| panic!("the status bar names node B or C:\n{screen}"));
    alice.wait_text(&format!("reconnected to another server: {}", now_on.addr));
    alice.wait_text("reconnected —");

    let alice_lines: Vec<&str> = ["hello from node A"].into_iter().chain(IN_FLIGHT).chain(AFTER_KILL).collect();
    wait_each_once(&bob, "alice", &alice_lines);
    wait_each_once(&alice, "alice", &alice_lines);

    // Bob, whose node lives, goes on chatting with alice on her new node.
    bob.type_line("still here, alice?");
    alice.wait_text("bob: still here, alice?");
    alice.type_line("yes, on another node");
    bob.wait_text("alice: yes, on another node");
    wait_each_once(&bob, "bob", &["hi from node B", "still here, alice?"]);
    wait_each_once(&alice, "alice", &["yes, on another node"]);

    let mut expected: Vec<(String, String)> = vec![("alice".into(), "hello from node A".into()), ("bob".into(), "hi from node B".into())];
    expected.extend(IN_FLIGHT.iter().chain(&AFTER_KILL).map(|line| ("alice".to_owned(), (*line).to_owned())));
    expected.push(("bob".into(), "still here, alice?".into()));
    expected.push(("alice".into(), "yes, on another node".into()));
    let stored = runtime.block_on(history(&cluster.nodes[2].url, &room));
    assert_eq!(stored, expected, "the history holds every line once, in the order typed");
    eprintln!("tui_cluster: the scene took {:?}", started.elapsed());
}
