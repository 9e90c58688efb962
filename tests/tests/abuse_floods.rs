//! Floods: joins and messages beyond the limits get `rate_limited` with
//! `retry_after_ms` and cause no duplicate events; a hundred wrong passwords
//! are throttled before hashing without locking the real user out, and
//! without telling an attacker which accounts exist.

use heartlink_tests::{TestServer, WsClient};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;

async fn room_with(owner: &mut WsClient) -> String {
    owner.send(json!({"type": "create_room", "name": "flooded"})).await;
    let room = owner.recv_type("room_created").await["room"]["id"].as_str().unwrap().to_owned();
    owner.send(json!({"type": "join", "room_id": room})).await;
    owner.recv_type("joined").await;
    room
}

/// Frames up to the `pong` that answers a ping sent now (everything the
/// server sent before it, since replies and events keep their order).
async fn drain(client: &mut WsClient) -> Vec<Value> {
    client.send(json!({"type": "ping", "ref": "drain"})).await;
    let mut frames = Vec::new();
    loop {
        let frame = client.recv().await;
        if frame["type"] == "pong" && frame["ref"] == "drain" {
            return frames;
        }
        frames.push(frame);
    }
}

fn count(frames: &[Value], kind: &str) -> usize {
    frames.iter().filter(|frame| frame["type"] == kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_joins_are_rate_limited_without_duplicate_events() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = room_with(&mut alice).await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;

    let started = Instant::now();
    for i in 0..10_000 {
        bob.send(json!({"type": "join", "room_id": room, "ref": format!("j{i}")})).await;
    }
    let sent_in = started.elapsed();
    let mut replies = Vec::new();
    while replies.len() < 10_000 {
        let frame = bob.recv().await;
        if frame["ref"].as_str().is_some_and(|r| r.starts_with('j')) {
            replies.push(frame);
        }
    }
    let answered_in = started.elapsed();
    let (joined, limited) = (count(&replies, "joined"), count(&replies, "error"));
    assert_eq!(joined + limited, 10_000, "every join got exactly one reply");
    for refusal in replies.iter().filter(|frame| frame["type"] == "error") {
        assert_eq!(refusal["code"], "rate_limited", "{refusal}");
        assert!(refusal["retry_after_ms"].as_u64().is_some_and(|ms| ms >= 1), "{refusal}");
    }
    let allowed = 100.0 + 50.0 * answered_in.as_secs_f64() + 1.0;
    assert!((joined as f64) <= allowed, "{joined} joins got through in {answered_in:?}");
    let seen_by_alice = drain(&mut alice).await;
    assert_eq!(count(&seen_by_alice, "user_joined"), 1, "alice sees bob join once: {seen_by_alice:?}");
    eprintln!(
        "figure: 10,000 joins sent in {sent_in:.2?} ({:.0}/s); {joined} performed, {limited} rate_limited with \
         retry_after_ms; all answered in {answered_in:.2?}; the other member saw exactly 1 user_joined",
        10_000.0 / sent_in.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_flood_is_rate_limited_and_nothing_is_broadcast_twice() {
    let server = TestServer::start(&[]); // default: 10 sends/s per user, burst 20
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = room_with(&mut alice).await;
    let (mut mallory, _) = WsClient::register(&server.url, "mallory").await;
    mallory.send(json!({"type": "join", "room_id": room})).await;
    mallory.recv_type("joined").await;
    drain(&mut alice).await;

    let started = Instant::now();
    for i in 0..500 {
        let body = format!("spam {i}");
        mallory.send(json!({"type": "send", "room_id": room, "client_msg_id": format!("s{i}"), "body": body})).await;
    }
    // Acks come after their flush, refusals at once: wait for all 500
    // replies rather than a ping, which a pending ack may follow.
    let mut frames = Vec::new();
    while count(&frames, "ack") + count(&frames, "error") < 500 {
        frames.push(mallory.recv().await);
    }
    frames.extend(drain(&mut mallory).await);
    let elapsed = started.elapsed();
    let (acks, errors) = (count(&frames, "ack"), count(&frames, "error"));
    assert_eq!(acks + errors, 500, "every send got exactly one reply");
    assert!(frames.iter().filter(|f| f["type"] == "error").all(|f| f["code"] == "rate_limited" && f["retry_after_ms"].as_u64().is_some()));
    let allowed = 20.0 + 10.0 * elapsed.as_secs_f64() + 1.0;
    assert!(acks >= 20 && (acks as f64) <= allowed, "{acks} sends accepted in {elapsed:?}");

    let mut seen = Vec::new();
    while count(&seen, "chat_message") < acks {
        seen.push(alice.recv().await);
    }
    // Then nothing more may come: no message twice.
    seen.extend(drain(&mut alice).await);
    alice.expect_silence(Duration::from_millis(300)).await;
    let mut seqs: Vec<u64> = seen.iter().filter(|f| f["type"] == "chat_message").map(|f| f["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs.len(), acks, "alice sees exactly the accepted messages");
    seqs.dedup();
    assert_eq!(seqs, (1..=acks as u64).collect::<Vec<_>>(), "in order, no duplicates, no gaps");
    eprintln!("figure: 500 sends in {elapsed:.2?}: {acks} accepted, {errors} rate_limited; the room saw each accepted one once");
}

/// One login attempt on a fresh connection from `source`; the reply and its time.
async fn login_from(server: &TestServer, source: &str, username: &str, password: &str) -> (Value, Duration) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(server.addr.parse().unwrap()).await.unwrap();
    let mut client = WsClient::over(stream, &server.url).await;
    let started = Instant::now();
    client.send(json!({"type": "login", "username": username, "password": password})).await;
    let reply = client.recv().await;
    (reply, started.elapsed())
}

fn mean(times: &[Duration]) -> Duration {
    times.iter().sum::<Duration>() / u32::try_from(times.len().max(1)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_wrong_passwords_are_throttled_before_hashing() {
    let server = TestServer::start(&[]);
    WsClient::register(&server.url, "victim").await;

    let (mut hashed, mut throttled) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        let (reply, took) = login_from(&server, "127.0.0.1", "victim", "guess-guess").await;
        match reply["code"].as_str() {
            Some("bad_credentials") => hashed.push(took),
            Some("rate_limited") => {
                assert!(reply["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{reply}");
                throttled.push(took);
            }
            _ => panic!("unexpected reply to a wrong password: {reply}"),
        }
    }
    assert_eq!(hashed.len(), 5, "five wrong passwords are checked, the rest throttled");

    // The real user, from another address, is not locked out.
    let (reply, _) = login_from(&server, "127.0.0.2", "victim", "password123").await;
    assert_eq!(reply["type"], "connection_established", "{reply}");

    // No enumeration: an unknown username gets the same reply after the same
    // work. Known and unknown attempts alternate so both see the same load,
    // each from its own address so that no throttle kicks in.
    let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
    for round in 0..8 {
        for (username, times) in [("victim", &mut known_times), ("nobody-here", &mut unknown_times)] {
            let source = format!("127.0.{}.{round}", if username == "victim" { 10 } else { 20 });
            let (reply, took) = login_from(&server, &source, username, "guess-guess").await;
            assert_eq!(
                (reply["code"].as_str(), reply["message"].as_str()),
                (Some("bad_credentials"), Some("wrong username or password")),
                "{username}"
            );
            times.push(took);
        }
    }
    let (known, unknown) = (median(&mut known_times), median(&mut unknown_times));
    let (hashed, throttled) = (mean(&hashed), mean(&throttled));
    eprintln!(
        "figure: 100 wrong passwords: 5 hashed (mean {hashed:.1?}), 95 throttled before hashing (mean {throttled:.2?}); \
         the right password from another address logged in; wrong password median {known:.1?} vs unknown user \
         median {unknown:.1?}, same reply"
    );
    assert!(throttled * 3 < hashed, "throttled replies ({throttled:?}) must skip the hash ({hashed:?})");
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!((0.5..2.0).contains(&ratio), "unknown vs known user timing differs: {unknown:?} vs {known:?}");
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}
