//! Per-user growth is bounded: rooms and pair rooms per hour, memberships
//! per user, and idempotency records kept for a documented window, exact
//! within it. Each limit has its defined reply (docs/PROTOCOL.md, "Quotas");
//! the token cap is in logout.rs.
//!
//! Sizes: `HEARTLINK_QUOTA_FLOOD` requests per flood (default 200).

use heartlink_tests::{TestServer, WsClient};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status.lines().find_map(|line| line.strip_prefix("VmRSS:"));
    rss.and_then(|rest| rest.split_whitespace().next()).and_then(|kib| kib.parse::<u64>().ok()).unwrap_or(0) / 1024
}

fn flood_size() -> usize {
    std::env::var("HEARTLINK_QUOTA_FLOOD").ok().and_then(|n| n.parse().ok()).unwrap_or(200)
}

/// Sends `requests` as the user holding `token`, pipelined, 80 per
/// connection (within the per-connection request limit), and returns each
/// reply in order.
async fn pipeline(url: &str, token: &str, requests: Vec<Value>) -> Vec<Value> {
    let mut replies = Vec::with_capacity(requests.len());
    for batch in requests.chunks(80) {
        let (mut client, _) = WsClient::resume(url, token).await;
        for request in batch {
            client.send(request.clone()).await;
        }
        for _ in batch {
            replies.push(client.recv().await);
        }
    }
    replies
}

fn count(replies: &[Value], kind: &str) -> usize {
    replies.iter().filter(|reply| reply["type"] == kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_creation_is_limited_per_user_and_hour() {
    let flood = flood_size();
    let server = TestServer::start(&["--rooms-per-hour", "5"]);
    let rss_before = rss_mib(server.pid().unwrap());
    let (mut mallory, established) = WsClient::register(&server.url, "mallory").await;
    let token = established["token"].as_str().unwrap();
    let requests = (0..flood).map(|n| json!({"type": "create_room", "name": format!("spam {n}")})).collect();
    let started = Instant::now();
    let replies = pipeline(&server.url, token, requests).await;
    let took = started.elapsed();
    assert_eq!(count(&replies, "room_created"), 5, "five rooms in the hour");
    for refusal in &replies[5..] {
        assert_eq!(refusal["code"], "rate_limited", "{refusal}");
        let wait = refusal["retry_after_ms"].as_u64().unwrap();
        assert!(wait > 3_500_000 && wait <= 3_600_000, "retry once the first room is an hour old: {wait} ms");
    }
    // Someone else is not affected.
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    alice.create_room("mine").await;
    let rooms = mallory.request(json!({"type": "list_rooms"}), "rooms").await;
    assert_eq!(rooms["rooms"].as_array().unwrap().len(), 5);
    let rss_after = rss_mib(server.pid().unwrap());
    eprintln!(
        "figure: {flood} create_room in {took:.2?} at --rooms-per-hour 5: 5 created, {} rate_limited (retry_after_ms \
         ~1 h); server RSS {rss_before} -> {rss_after} MiB",
        flood - 5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_matching_again_and_again_stops_at_the_pair_room_quota() {
    // `--match-rate 0`: only the hourly quota limits here. Every match is
    // with someone new (the last partner is not matched again for a while).
    let server = TestServer::start(&["--pair-rooms-per-hour", "3", "--match-rate", "0"]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let mut partners = Vec::new();
    for name in ["bob", "carol", "dave", "erin"] {
        partners.push(WsClient::register(&server.url, name).await.0);
    }
    let started = Instant::now();
    let mut rooms = 0;
    let refusal = loop {
        // Alice starts the next match; once her quota is spent she is told so.
        alice.send(json!({"type": "match"})).await;
        let next = alice.recv().await;
        if next["type"] == "error" {
            break next;
        }
        assert_eq!(next["type"], "match_waiting", "{next}");
        assert!(rooms < partners.len(), "the quota never stopped the pair rooms");
        let reply = partners[rooms].request(json!({"type": "match"}), "matched").await;
        assert_eq!(reply["room"]["kind"], "pair");
        alice.recv_type("matched").await;
        rooms += 1;
    };
    assert_eq!(rooms, 3);
    assert_eq!(refusal["code"], "rate_limited", "{refusal}");
    assert!(refusal["retry_after_ms"].as_u64().is_some_and(|ms| ms > 3_500_000), "{refusal}");
    partners[3].request(json!({"type": "match"}), "match_waiting").await;
    eprintln!("figure: one account matching again and again at --pair-rooms-per-hour 3: 3 pair rooms in {:.2?}, then rate_limited; others still queue", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memberships_per_user_are_capped() {
    let server = TestServer::start(&["--memberships-per-user", "3"]);
    let (mut owner, _) = WsClient::register(&server.url, "owner").await;
    let mut rooms = Vec::new();
    for n in 0..3 {
        rooms.push(owner.create_room(&format!("room {n}")).await["id"].clone());
    }
    owner.expect_error(json!({"type": "create_room", "name": "one too many"}), "forbidden").await;
    let (mut other, _) = WsClient::register(&server.url, "other").await;
    let elsewhere = other.create_room("elsewhere").await["id"].clone();
    let refused = owner.expect_error(json!({"type": "join", "room_id": elsewhere}), "forbidden").await;
    assert!(refused["message"].as_str().unwrap().contains("too many rooms"), "{refused}");
    owner.expect_error(json!({"type": "match"}), "forbidden").await;
    // A room the user is already in may be joined again; after leaving one,
    // a new one may be joined.
    owner.join(&rooms[0]).await;
    owner.request(json!({"type": "leave", "room_id": rooms[1]}), "left").await;
    owner.join(&elsewhere).await;
    eprintln!("figure: at --memberships-per-user 3 the fourth membership (create, join or match) is forbidden; re-joins and joins after a leave work");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_is_exact_within_the_dedup_window_and_stored_anew_after_it() {
    let server = TestServer::start(&["--dedup-window-secs", "2", "--sweep-interval-secs", "1"]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("retries").await["id"].clone();
    alice.join(&room).await;
    // Taken before the send, so the message's time is not earlier.
    let sent_at = Instant::now();
    let original = alice.post(&room, "m1", "hello").await;
    let send = json!({"type": "send", "room_id": room, "client_msg_id": "m1", "body": "hello"});
    alice.send(send.clone()).await;
    let resent = alice.recv_type("ack").await;
    assert_eq!(resent["seq"], original["seq"], "within the window a resend gets the original ack");
    // Once the window has passed, the sweep forgets the record (within one
    // sweep interval): the resend is then a new message.
    let stored_anew = loop {
        assert!(sent_at.elapsed() < Duration::from_secs(10), "the record was never pruned");
        tokio::time::sleep(Duration::from_millis(250)).await;
        alice.send(send.clone()).await;
        let (ack, _) = alice.recv_until("ack").await;
        if ack["seq"] != original["seq"] {
            break ack;
        }
    };
    let pruned_after = sent_at.elapsed();
    // Message times are whole milliseconds.
    assert!(pruned_after >= Duration::from_millis(1990), "pruned before its window ended: {pruned_after:?}");
    assert_eq!(stored_anew["seq"], 2);
    eprintln!("figure: dedup window 2 s, sweep every 1 s: resends were exact until the record was pruned {pruned_after:.2?} after the send");
}
