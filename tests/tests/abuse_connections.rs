//! Connection abuse: slowloris handshakes and idle unauthenticated sockets
//! are closed at the deadline while a legitimate client still gets in fast;
//! 500 fresh connections in a row all succeed on the first try; connections
//! over the caps are refused with a reason; failed attempts do not keep a
//! socket alive; a client that vanishes is logged as gone.
//! `HEARTLINK_ABUSE_LONG=1` runs the floods at ten times the reported sizes.

use heartlink_tests::abuse::{Ended, RssWatch, ask, mib, next_json, open_from, sized, source};
use heartlink_tests::{TestServer, WAIT, WsClient};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DEADLINE_SECS: u64 = 2;
/// Scheduling slack on a loaded 2-core machine.
const MARGIN: Duration = Duration::from_millis(1500);

/// A legitimate client's time to connect, log in with a token and get a pong.
async fn legitimate_visit(url: &str, token: &str) -> Duration {
    let started = Instant::now();
    let mut client = WsClient::connect(url).await;
    client.send(json!({"type": "resume", "token": token})).await;
    client.recv_type("connection_established").await;
    client.send(json!({"type": "ping"})).await;
    client.recv_type("pong").await;
    started.elapsed()
}

/// Opens a TCP connection that sends an HTTP upgrade request one byte at a
/// time, never finishing it. Returns how long the server kept it open.
async fn slowloris(addr: String) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let request = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for byte in request.iter().cycle() {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        let mut buf = [0u8; 64];
        // Closed (EOF or error) ends it; data or a quiet 200 ms goes on.
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            break;
        }
        assert!(started.elapsed() < WAIT, "a slowloris connection was kept open for {WAIT:?}");
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_and_idle_sockets_are_closed_at_the_deadline() {
    // 201 connections from one address: the per-address cap is not what this tests.
    let server = TestServer::start(&["--auth-timeout-secs", &DEADLINE_SECS.to_string(), "--max-connections-per-address", "1000"]);
    let (_alice, established) = WsClient::register(&server.url, "alice").await;
    let token = established["token"].as_str().unwrap().to_owned();
    let deadline = Duration::from_secs(DEADLINE_SECS);

    let slow: Vec<_> = (0..100).map(|_| tokio::spawn(slowloris(server.addr.clone()))).collect();
    let mut idle = Vec::new();
    for _ in 0..100 {
        let url = server.url.clone();
        idle.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut client = WsClient::connect(&url).await;
            let (closed, frames) = client.expect_close().await;
            (started.elapsed(), closed, frames)
        }));
    }
    // Meanwhile a real user connects as usual.
    let visit = legitimate_visit(&server.url, &token).await;

    let mut slowest_slowloris = Duration::ZERO;
    for task in slow {
        slowest_slowloris = slowest_slowloris.max(task.await.unwrap());
    }
    let mut slowest_idle = Duration::ZERO;
    for task in idle {
        let (held, closed, frames) = task.await.unwrap();
        assert_eq!(closed.code, 1008, "an idle unauthenticated socket is closed with 1008");
        assert_eq!(frames.len(), 1, "exactly one error before the close: {frames:?}");
        assert_eq!(frames[0]["code"], "unauthorized");
        slowest_idle = slowest_idle.max(held);
    }
    eprintln!(
        "figure: 100 slowloris handshakes closed within {slowest_slowloris:.2?} and 100 idle unauthenticated \
         sockets within {slowest_idle:.2?} (deadline {deadline:?}); a legitimate client meanwhile connected, \
         logged in and got a pong in {visit:.0?}"
    );
    assert!(slowest_slowloris <= deadline + MARGIN && slowest_idle <= deadline + MARGIN);
    assert!(slowest_idle >= deadline - Duration::from_millis(100), "closed before the deadline");
    // Well under the 2 s deadline: a client held up by the attack would wait it out.
    assert!(visit < Duration::from_millis(1500), "the legitimate client took {visit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_fresh_connections_in_a_row_all_succeed_first_try() {
    let server = TestServer::start(&[]);
    let (_alice, established) = WsClient::register(&server.url, "alice").await;
    let token = established["token"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for _ in 0..500 {
        // Every step panics on failure: there is no retry anywhere here.
        slowest = slowest.max(legitimate_visit(&server.url, &token).await);
    }
    let total = started.elapsed();
    eprintln!(
        "figure: 500 fresh connections (handshake + resume + ping) in a row, all on the first try: {total:.2?} \
         ({:.0}/s), slowest {slowest:.0?}",
        500.0 / total.as_secs_f64()
    );
}

/// The frames and the close of a connection the server refuses at once.
async fn refused(url: &str, from: std::net::IpAddr) -> (Vec<serde_json::Value>, Ended) {
    let mut ws = open_from(url, from).await.expect("the handshake completes even when refused");
    let mut frames = Vec::new();
    loop {
        match next_json(&mut ws).await {
            Ok(frame) => frames.push(frame),
            Err(ended) => return (frames, ended),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_caps_are_refused_with_a_reason() {
    let server = TestServer::start(&["--max-connections", "8", "--max-connections-per-address", "5", "--auth-timeout-secs", "60"]);
    let (a, b, c) = ([127, 0, 0, 1].into(), [127, 0, 0, 2].into(), [127, 0, 0, 3].into());
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(open_from(&server.url, a).await.unwrap());
    }
    let (frames, ended) = refused(&server.url, a).await;
    assert_eq!((ended.code, ended.reason.as_str()), (1013, "too many connections from your address"), "{frames:?}");
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["code"], "rate_limited");
    assert!(frames[0]["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{frames:?}");
    for _ in 0..3 {
        held.push(open_from(&server.url, b).await.unwrap());
    }
    let (frames, ended) = refused(&server.url, c).await;
    assert_eq!((ended.code, ended.reason.as_str()), (1013, "server full"), "{frames:?}");

    // A connection that closes gives its place back (once the server has seen it go).
    drop(held.remove(0));
    let started = Instant::now();
    let admitted = loop {
        let mut ws = open_from(&server.url, c).await.unwrap();
        let request = json!({"type": "register", "username": "carol", "password": heartlink_tests::PASSWORD});
        match ask(&mut ws, &request).await {
            Ok(reply) if reply["type"] == "connection_established" => break started.elapsed(),
            Ok(reply) => assert_eq!(reply["code"], "rate_limited", "{reply}"),
            Err(ended) => panic!("ended without a reply: {ended:?}"),
        }
        assert!(started.elapsed() < WAIT, "the freed place was never given to a new connection");
    };
    eprintln!("figure: caps 8 in all and 5 per address: the 6th from one address and the 9th in all refused with rate_limited and close 1013; a freed place was reused after {admitted:.0?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_retrying_bad_registers_are_closed_at_the_fixed_deadline() {
    // The report: 1,000 sockets sending a bad register every 7 s stayed open
    // (each failure restarted the deadline). Here every 700 ms, deadline 3 s.
    let sockets = sized(200, 10_000);
    let per_address = 50;
    let server = TestServer::start(&["--auth-timeout-secs", "3", "--max-connections", "20000"]);
    let watch = RssWatch::start(server.pid().unwrap());
    let started = Instant::now();
    let tasks: Vec<_> = (0..sockets)
        .map(|n| {
            let url = server.url.clone();
            tokio::spawn(async move {
                let mut ws = open_from(&url, source(n / per_address)).await.expect("connect");
                let opened = Instant::now();
                let bad = json!({"type": "register", "username": "no", "password": heartlink_tests::PASSWORD});
                let mut reply = ask(&mut ws, &bad).await;
                loop {
                    match reply {
                        Ok(frame) if frame["code"] == "invalid_username" => {
                            // The next try in 700 ms, unless the server speaks first.
                            reply = tokio::select! {
                                () = tokio::time::sleep(Duration::from_millis(700)) => ask(&mut ws, &bad).await,
                                frame = next_json(&mut ws) => frame,
                            };
                        }
                        Ok(frame) => {
                            // The refusal before the close.
                            assert_eq!(frame["code"], "unauthorized", "{frame}");
                            let ended = next_json(&mut ws).await.expect_err("closed after the refusal");
                            return (opened.elapsed(), ended);
                        }
                        Err(ended) => return (opened.elapsed(), ended),
                    }
                }
            })
        })
        .collect();
    let mut longest = Duration::ZERO;
    for task in tasks {
        let (lived, ended) = task.await.unwrap();
        assert_eq!((ended.code, ended.reason.as_str()), (1008, "authentication timeout"));
        longest = longest.max(lived);
    }
    let (before, peak) = (watch.before_kib, watch.peak_kib());
    eprintln!(
        "figure: {sockets} unauthenticated sockets sending a bad register every 700 ms (deadline 3 s): all closed with \
         1008 'authentication timeout', the longest after {longest:.2?} (all within {:.1?}); server RSS {} MiB -> peak {} MiB",
        started.elapsed(),
        mib(before),
        mib(peak)
    );
    // The test's own 10,000 clients share the two cores in the long run.
    let margin = if sized(0, 1) == 1 { MARGIN * 2 } else { MARGIN };
    assert!(longest < Duration::from_secs(3) + margin, "a socket lived {longest:?}");
    assert!(mib(peak) < 300, "server RSS peaked at {} MiB", mib(peak));
}

/// Lines of the server's log that end a session or a connection.
fn endings(log_path: &std::path::Path) -> Vec<String> {
    let log = std::fs::read_to_string(log_path).unwrap_or_default();
    log.lines().filter(|line| line.contains("session ended")).map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vanished_clients_are_logged_as_gone_not_as_protocol_errors() {
    let server = TestServer::start(&[]);
    let (_alice, established) = WsClient::register(&server.url, "alice").await;
    let token = established["token"].as_str().unwrap().to_owned();
    for reset in [false, true] {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        if reset {
            // Closing with linger 0 sends a TCP reset. (Deprecated because a
            // non-zero linger blocks on drop; zero does not.)
            #[allow(deprecated)]
            socket.set_linger(Some(Duration::ZERO)).unwrap();
        }
        let stream = socket.connect(server.addr.parse().unwrap()).await.unwrap();
        let mut ws = WsClient::over(stream, &server.url).await;
        ws.request(json!({"type": "resume", "token": token}), "connection_established").await;
        ws.sync().await;
        // Gone without a Close frame.
        drop(ws);
    }
    let started = Instant::now();
    while endings(&server.log_path).len() < 2 {
        assert!(started.elapsed() < WAIT, "the server did not log the two endings: {:?}", endings(&server.log_path));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for line in endings(&server.log_path) {
        assert!(line.contains("peer gone"), "{line}");
        assert!(!line.contains("1002"), "a vanished client is not a protocol error: {line}");
    }
}
