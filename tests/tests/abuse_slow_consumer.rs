//! A client that stops reading while 20,000 messages flow: the server closes
//! it with 4008 instead of buffering without bound, the other members'
//! latency stays low, and after reconnecting it catches up on every message
//! exactly once.

use heartlink_tests::{TestServer, WAIT, WsClient, now_ms};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Instant;
use tokio::net::TcpSocket;

const MESSAGES: u64 = 20_000;
/// Messages the sender has in flight before it waits for their acks.
const WINDOW: u64 = 200;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

async fn join(client: &mut WsClient, room: &str, since: Option<u64>) -> Value {
    let mut request = json!({"type": "join", "room_id": room});
    if let Some(since) = since {
        request["since"] = json!(since);
    }
    client.send(request).await;
    client.recv_until("joined").await.0
}

/// A client whose socket takes in at most a few KiB before the server must
/// hold on to what it sends: so the test does not depend on how much the
/// kernel would otherwise buffer.
async fn slow_client(server: &TestServer) -> WsClient {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr.parse().unwrap()).await.unwrap();
    WsClient::over(stream, &server.url).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_is_cut_off_and_catches_up_exactly_once() {
    // No presence grace: the cut-off shows at once as the slow user going offline.
    let server = TestServer::start(&["--send-rate", "0", "--presence-grace-secs", "0"]);
    let pid = server.pid().unwrap();
    let (mut sender, _) = WsClient::register(&server.url, "sender").await;
    sender.send(json!({"type": "create_room", "name": "firehose"})).await;
    let room = sender.recv_type("room_created").await["room"]["id"].as_str().unwrap().to_owned();
    join(&mut sender, &room, None).await;

    let (mut reader, _) = WsClient::register(&server.url, "reader").await;
    join(&mut reader, &room, None).await;
    let mut slow = slow_client(&server).await;
    slow.send(json!({"type": "register", "username": "slowpoke", "password": "password123"})).await;
    let token = slow.recv_type("connection_established").await["token"].as_str().unwrap().to_owned();
    join(&mut slow, &room, None).await;
    // From here on `slow` reads nothing until the flood is over.

    let rss_before = rss_kib(pid);
    // The reader notices when the server cuts the slow client off (its
    // user goes offline); that is when the slow client starts reading again.
    let (cut_off_tx, cut_off_rx) = tokio::sync::oneshot::channel::<()>();
    let reading = tokio::spawn(async move {
        let (mut latencies, mut seen, mut cut_off) = (Vec::new(), 0u64, Some(cut_off_tx));
        while seen < MESSAGES {
            let frame = reader.recv().await;
            if frame["type"] == "presence" && frame["user"]["username"] == "slowpoke" && frame["online"] == false {
                if let Some(cut_off) = cut_off.take() {
                    let _ = cut_off.send(());
                }
            }
            if frame["type"] == "chat_message" {
                let sent_at = frame["body"].as_str().unwrap().split(' ').next().unwrap().parse::<u64>().unwrap();
                latencies.push(now_ms().saturating_sub(sent_at));
                seen += 1;
                assert_eq!(frame["seq"], seen, "the reader gets every seq in order");
            }
        }
        latencies
    });

    let slow_reads = tokio::spawn(async move {
        let _ = cut_off_rx.await;
        slow.expect_close().await
    });

    let padding = "x".repeat(1000);
    let started = Instant::now();
    let mut peak_rss = rss_before;
    let mut acked = 0;
    for batch in 0..MESSAGES / WINDOW {
        for i in 0..WINDOW {
            let n = batch * WINDOW + i;
            let body = format!("{} #{n} {padding}", now_ms());
            sender.send(json!({"type": "send", "room_id": room, "client_msg_id": format!("m{n}"), "body": body})).await;
        }
        while acked < (batch + 1) * WINDOW {
            let frame = sender.recv().await;
            assert_ne!(frame["type"], "error", "{frame}");
            if frame["type"] == "ack" {
                acked += 1;
            }
        }
        peak_rss = peak_rss.max(rss_kib(pid));
    }
    let flood_time = started.elapsed();
    let mut latencies = tokio::time::timeout(WAIT * 3, reading).await.unwrap().unwrap();
    latencies.sort_unstable();
    let p50 = latencies[latencies.len() / 2];
    let p99 = latencies[latencies.len() * 99 / 100];

    // What the slow client read once it resumed: what was queued for it, then the 4008 close.
    let (closed, before_close) = tokio::time::timeout(WAIT * 3, slow_reads).await.expect("the slow client was never cut off").unwrap();
    assert_eq!((closed.code, closed.reason.as_str()), (4008, "slow consumer"));
    let mut got: BTreeMap<u64, u32> = BTreeMap::new();
    for frame in before_close.iter().filter(|f| f["type"] == "chat_message") {
        *got.entry(frame["seq"].as_u64().unwrap()).or_default() += 1;
    }
    let received_before_cut = got.len();
    assert!((received_before_cut as u64) < MESSAGES, "the slow client was not cut off early");

    // Reconnect, resume, and page forward with join{since} until nothing is missing.
    let catch_up = Instant::now();
    let mut again = WsClient::connect(&server.url).await;
    again.send(json!({"type": "resume", "token": token})).await;
    again.recv_type("connection_established").await;
    let mut since = got.keys().copied().take_while({
        let mut expected = 0;
        move |seq| {
            expected += 1;
            *seq == expected
        }
    }).last().unwrap_or(0);
    loop {
        let joined = join(&mut again, &room, Some(since)).await;
        for message in joined["messages"].as_array().unwrap() {
            let seq = message["seq"].as_u64().unwrap();
            *got.entry(seq).or_default() += 1;
            since = seq;
        }
        if joined["has_more"] == false {
            break;
        }
    }
    let catch_up_time = catch_up.elapsed();
    let duplicates: Vec<_> = got.iter().filter(|(_, count)| **count > 1).collect();
    assert!(duplicates.is_empty(), "seen twice: {:?}", &duplicates[..duplicates.len().min(5)]);
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), (1..=MESSAGES).collect::<Vec<_>>());

    let growth_mib = peak_rss.saturating_sub(rss_before) / 1024;
    eprintln!(
        "figure: slow consumer: {MESSAGES} messages of ~1 KiB in {flood_time:.1?}; cut off with 4008 after {received_before_cut} \
         delivered; server RSS {} MiB -> peak {} MiB (+{growth_mib} MiB); other member latency p50 {p50} ms p99 {p99} ms; \
         caught up the rest exactly once in {catch_up_time:.1?}",
        rss_before / 1024,
        peak_rss / 1024
    );
    // Bounded: the outbound queue (1024 frames) and sled's 64 MiB cache,
    // not the 20 MB the slow client did not read (nor a copy per member).
    assert!(growth_mib < 128, "server memory grew by {growth_mib} MiB");
    assert!(p99 < 2_000, "the other member's p99 latency was {p99} ms");
}
