//! A client in a busy room keeps being served: while room events stay queued
//! for it for longer than two heartbeats, its own frames (Pongs, `ping`
//! requests) are still read, so it is not closed for "heartbeat timeout",
//! and its `pong`s arrive. A request still works as a barrier: every event
//! queued for the connection before the server handled the request comes
//! before the reply.
//!
//! How the queue is held non-empty: the client reads at a bounded pace
//! through a small socket buffer, and two publishers keep `WINDOW` messages
//! of ~4 KiB ahead of what it has read. On loopback the server's socket
//! send buffer grows to ~4 MiB (`tcp_wmem`), ~600 such frames; the rest
//! (300 or more) waits in the outbound queue, which stays well below the
//! 1024 frames at which the client would be a slow consumer.

use heartlink_tests::{TestServer, WAIT, WsClient};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;
use tokio::sync::watch;

/// Heartbeat of the server under test: silence closes after 2 s.
const HEARTBEAT_SECS: u64 = 1;
/// How long the room stays busy: several silence deadlines.
const BUSY: Duration = Duration::from_secs(8);
/// Messages published but not yet read by the client.
const WINDOW: u64 = 900;
/// The client reads one frame per tick: a slow link, not a stalled one.
const READ_EVERY: Duration = Duration::from_millis(2);
/// How often the client sends a `ping` request.
const PING_EVERY: Duration = Duration::from_millis(300);

/// What the publishers and the busy client share.
#[derive(Default)]
struct Progress {
    /// Messages sent by the publishers.
    published: AtomicU64,
    /// The highest seq acknowledged to a publisher: its `chat_message` had
    /// been queued for every joined connection before the ack was.
    acked: AtomicU64,
    stop: AtomicBool,
}

/// Sends messages while fewer than `WINDOW` are ahead of the client's reads;
/// reads its own echoes and acks so it never becomes a slow consumer itself.
async fn publish(mut client: WsClient, room: String, name: &str, progress: Arc<Progress>, mut read: watch::Receiver<u64>) {
    let padding = "x".repeat(3900);
    let mut n = 0u64;
    while !progress.stop.load(Ordering::Relaxed) {
        let ahead = progress.published.load(Ordering::Relaxed).saturating_sub(*read.borrow_and_update());
        if ahead >= WINDOW {
            tokio::time::timeout(WAIT, read.changed()).await.expect("the busy client stopped reading").unwrap();
            continue;
        }
        let batch = (WINDOW - ahead).min(20);
        for _ in 0..batch {
            let id = format!("{name}-{n}");
            n += 1;
            client.send(json!({"type": "send", "room_id": room, "client_msg_id": id, "body": format!("{id} {padding}")})).await;
        }
        progress.published.fetch_add(batch, Ordering::Relaxed);
        let mut acks = 0;
        while acks < batch {
            let frame = client.recv().await;
            assert_ne!(frame["type"], "error", "{frame}");
            if frame["type"] == "ack" {
                acks += 1;
                progress.acked.fetch_max(frame["seq"].as_u64().unwrap(), Ordering::Relaxed);
            }
        }
    }
}

/// A client whose socket takes in only a few KiB, so what it has not read
/// stays in the server's outbound queue.
async fn small_window_client(server: &TestServer) -> WsClient {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr.parse().unwrap()).await.unwrap();
    WsClient::over(stream, &server.url).await
}

/// One `ping` request in flight: its ref, when it was sent, and the seq every
/// event up to which had been queued for the client before it was sent.
struct Outstanding {
    reference: String,
    sent: Instant,
    queued_before: u64,
    read_before: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_in_a_busy_room_is_heard_and_requests_stay_barriers() {
    let heartbeat = HEARTBEAT_SECS.to_string();
    let server = TestServer::start(&["--send-rate", "0", "--heartbeat-secs", &heartbeat]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("busy").await["id"].as_str().unwrap().to_owned();
    alice.join(&json!(room)).await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    bob.join(&json!(room)).await;
    let mut busy = small_window_client(&server).await;
    busy.send(json!({"type": "register", "username": "busy", "password": "password123"})).await;
    busy.recv_type("connection_established").await;
    busy.join(&json!(room)).await;

    let progress = Arc::new(Progress::default());
    let (read_tx, read_rx) = watch::channel(0u64);
    let publishers = [("alice", alice), ("bob", bob)].map(|(name, client)| {
        tokio::spawn(publish(client, room.clone(), name, Arc::clone(&progress), read_rx.clone()))
    });

    let started = Instant::now();
    let mut read = 0u64;
    let (mut pongs, mut backlogged_pings, mut max_backlog) = (Vec::new(), 0, 0);
    // Pings go out on schedule, not after the last `pong`: a client in a
    // busy room waits long for replies, and must still be heard.
    let mut outstanding: std::collections::VecDeque<Outstanding> = std::collections::VecDeque::new();
    let mut sent_pings = 0;
    let mut reads = tokio::time::interval(READ_EVERY);
    reads.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_ping = Instant::now();
    loop {
        let busy_now = started.elapsed() < BUSY;
        if !busy_now {
            progress.stop.store(true, Ordering::Relaxed);
        }
        if busy_now && Instant::now() >= next_ping {
            let queued_before = progress.acked.load(Ordering::Relaxed);
            let reference = format!("p{sent_pings}");
            sent_pings += 1;
            busy.send(json!({"type": "ping", "ref": reference})).await;
            outstanding.push_back(Outstanding { reference, sent: Instant::now(), queued_before, read_before: read });
            next_ping = Instant::now() + PING_EVERY;
        }
        if !busy_now && outstanding.is_empty() {
            break;
        }
        reads.tick().await;
        let frame = match busy.recv_or_closed().await {
            Ok(frame) => frame,
            Err(closed) => panic!(
                "the busy client was closed after {:?} with {} pongs received: {closed:?}",
                started.elapsed(),
                pongs.len()
            ),
        };
        match frame["type"].as_str() {
            Some("chat_message") => {
                read += 1;
                assert_eq!(frame["seq"], read, "events arrive in seq order, none missing");
                read_tx.send_replace(read);
            }
            Some("pong") => {
                let ping = outstanding.pop_front().expect("a pong answers a ping");
                assert_eq!(frame["ref"], ping.reference.as_str());
                assert!(
                    read >= ping.queued_before,
                    "pong {} arrived before event {} that was queued before the ping (read up to {read})",
                    ping.reference,
                    ping.queued_before
                );
                if ping.queued_before > ping.read_before {
                    backlogged_pings += 1;
                }
                max_backlog = max_backlog.max(ping.queued_before - ping.read_before.min(ping.queued_before));
                pongs.push((ping.sent.elapsed(), started.elapsed() < BUSY));
            }
            _ => {}
        }
    }
    for publisher in publishers {
        tokio::time::timeout(WAIT, publisher).await.expect("a publisher is stuck").unwrap();
    }

    let during_busy = pongs.iter().filter(|(_, busy)| *busy).count();
    let slowest = pongs.iter().map(|(latency, _)| *latency).max().unwrap_or_default();
    eprintln!(
        "figure: fairness: {read} events read in {:?}; {} pongs ({during_busy} while busy, {backlogged_pings} behind a backlog of up to {max_backlog}), slowest {slowest:?}",
        started.elapsed(),
        pongs.len()
    );
    // The room was busy for longer than the silence deadline, and events
    // were waiting for the client whenever it asked.
    assert!(BUSY > Duration::from_secs(2 * HEARTBEAT_SECS));
    assert!(backlogged_pings * 2 >= pongs.len(), "the queue was not kept busy: {backlogged_pings} of {}", pongs.len());
    // Without fairness no pong at all arrives while the room is busy.
    assert!(during_busy >= 3, "only {during_busy} pongs while the room was busy");
    // Still open and answering after the flood.
    let before = busy.sync().await;
    assert!(before.iter().all(|frame| frame["type"] != "chat_message"), "{before:?}");
}
