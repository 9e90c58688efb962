//! No member can lock another out of a room with what they post: every
//! reply stays within the protocol's byte bound (`REPLY_BYTES`), pages are
//! cut by size with `has_more`, and a member who was away while someone
//! posted the largest messages there are catches up on every one of them.
//!
//! Sizes: `HEARTLINK_REPLY_MESSAGES` maximal messages (default 120; the
//! long run uses more).

use heartlink_protocol::limits::REPLY_BYTES;
use heartlink_tests::{TestServer, WsClient};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Instant;

/// 4,000 characters, nearly all four-byte emoji: the largest body there is,
/// numbered so every message differs.
fn maximal_body(n: usize) -> String {
    let number = format!("{n:08}");
    format!("{number}{}", "😀".repeat(4000 - number.len()))
}

fn messages_to_post() -> usize {
    std::env::var("HEARTLINK_REPLY_MESSAGES").ok().and_then(|n| n.parse().ok()).unwrap_or(120)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status.lines().find_map(|line| line.strip_prefix("VmRSS:"));
    rss.and_then(|rest| rest.split_whitespace().next()).and_then(|kib| kib.parse().ok()).unwrap_or(0)
}

/// Posts maximal messages `range` to `room`, up to 40 in flight, and waits for every ack.
async fn post_maximal(client: &mut WsClient, room: &Value, range: std::ops::Range<usize>) {
    let numbers: Vec<usize> = range.collect();
    for window in numbers.chunks(40) {
        for n in window {
            let send = json!({"type": "send", "room_id": room, "client_msg_id": format!("big-{n}"), "body": maximal_body(*n)});
            client.send(send).await;
        }
        let mut acked = 0;
        while acked < window.len() {
            let frame = client.recv().await;
            assert_ne!(frame["type"], "error", "a maximal message was refused: {frame}");
            if frame["type"] == "ack" {
                acked += 1;
            }
        }
    }
}

/// Sends `request` and returns its reply (frames before it, e.g. live
/// messages, go to `live`) with the reply's size; the reply must be within
/// the bound.
async fn bounded_reply(client: &mut WsClient, request: Value, kind: &str, live: &mut Vec<Value>) -> (Value, usize) {
    client.send(request.clone()).await;
    loop {
        let (frame, size) = client.recv_sized().await;
        if frame["type"] == kind {
            assert!(size <= REPLY_BYTES, "{kind} of {size} bytes exceeds the bound of {REPLY_BYTES}");
            return (frame, size);
        }
        assert_ne!(frame["type"], "error", "{request} was refused: {frame}");
        live.push(frame);
    }
}

fn seqs(frame: &Value) -> Vec<u64> {
    frame["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_away_while_the_largest_messages_were_posted_catches_up_on_all_of_them() {
    let posted = messages_to_post();
    let server = TestServer::start(&["--send-rate", "0"]);
    let pid = server.pid().unwrap();
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("emoji storm").await["id"].clone();
    alice.join(&room).await;
    let (mut bob, established) = WsClient::register(&server.url, "bob").await;
    let token = established["token"].as_str().unwrap().to_owned();
    let held = bob.join(&room).await["last_seq"].as_u64().unwrap();
    drop(bob); // bob is away from here on

    let rss_before = rss_kib(pid);
    let started = Instant::now();
    post_maximal(&mut alice, &room, 0..posted).await;
    let posting = started.elapsed();

    // Bob comes back and catches up with join{since} while alice goes on
    // posting: pages are cut by size, live messages arrive beside them.
    let (mut bob, _) = WsClient::resume(&server.url, &token).await;
    let started = Instant::now();
    let (mut since, mut pages, mut largest) = (held, 0, 0);
    let (mut got, mut live) = (Vec::new(), Vec::new());
    let extra = 5;
    loop {
        let request = json!({"type": "join", "room_id": room, "since": since});
        let (joined, size) = bounded_reply(&mut bob, request, "joined", &mut live).await;
        let page = seqs(&joined);
        assert!(!page.is_empty() || joined["has_more"] == false, "a page with has_more holds messages");
        assert_eq!(page, (since + 1..=since + page.len() as u64).collect::<Vec<_>>(), "a page is contiguous from since");
        (pages, largest) = (pages + 1, largest.max(size));
        since = page.last().copied().unwrap_or(since);
        got.extend(page);
        if pages == 1 {
            post_maximal(&mut alice, &room, posted..posted + extra).await;
        }
        if joined["has_more"] == false {
            break;
        }
    }
    let catch_up = started.elapsed();
    live.extend(bob.sync().await);
    let live_seqs: Vec<u64> = live.iter().filter(|f| f["type"] == "chat_message").map(|f| f["seq"].as_u64().unwrap()).collect();
    let total = (posted + extra) as u64;
    let mut all: BTreeSet<u64> = got.iter().copied().collect();
    assert_eq!(all.len(), got.len(), "no message twice in the pages");
    all.extend(live_seqs.iter().copied());
    assert_eq!(all, (1..=total).collect(), "every message arrived, by page or live");
    assert!(pages > 2, "the catch-up was cut into pages by size ({pages})");

    // history{limit:100} of the largest messages: a page, not a dropped connection.
    let request = json!({"type": "history", "room_id": room, "limit": 100});
    let (history, history_size) = bounded_reply(&mut bob, request, "history", &mut live).await;
    let newest = seqs(&history);
    assert_eq!(history["has_more"], true);
    assert!(newest.len() < 100 && newest.last() == Some(&total), "the newest messages, cut by size: {newest:?}");
    // Paging back with before_seq reaches the first message.
    let (mut before, mut back_pages, mut seen) = (newest[0], 1, newest.len());
    loop {
        let request = json!({"type": "history", "room_id": room, "before_seq": before, "limit": 100});
        let (page, _) = bounded_reply(&mut bob, request, "history", &mut live).await;
        let page_seqs = seqs(&page);
        assert_eq!(page_seqs.last(), Some(&(before - 1)), "history continues right below before_seq");
        (before, back_pages, seen) = (page_seqs[0], back_pages + 1, seen + page_seqs.len());
        if page["has_more"] == false {
            break;
        }
    }
    assert_eq!((before, seen as u64), (1, total), "history pages back to the first message");
    let (latest, _) = bounded_reply(&mut bob, json!({"type": "join", "room_id": room}), "joined", &mut live).await;
    assert_eq!(seqs(&latest).last(), Some(&total));
    bob.sync().await;
    let rss_after = rss_kib(pid);
    eprintln!(
        "figure: {total} messages of 4,000 emoji (~16 KB each, {:.1} MB) posted in {posting:.2?}; the member away caught \
         up on all with {pages} join{{since}} pages in {catch_up:.2?}, largest reply {largest} bytes (bound {REPLY_BYTES}); \
         history{{limit:100}} answered {} messages in {history_size} bytes, {back_pages} history pages back to seq 1; \
         server RSS {} -> {} MiB",
        total as f64 * 16_000.0 / 1e6,
        newest.len(),
        rss_before / 1024,
        rss_after / 1024
    );
}
