//! Connection abuse: slowloris handshakes and idle unauthenticated sockets
//! are closed at the deadline while a legitimate client still gets in fast;
//! 500 fresh connections in a row all succeed on the first try.

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
    assert!(visit < Duration::from_secs(1), "the legitimate client took {visit:?}");
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
