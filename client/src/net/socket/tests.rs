//! Every connection failure of the table in docs/CLIENT.md, produced by a
//! real socket: the message says what happened and what to do, in one line.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn auth() -> Auth {
    Auth::Resume { token: Secret::new("t"), presence: true }
}

fn reason(err: AttemptError) -> String {
    match err {
        AttemptError::Refused { reason, .. } | AttemptError::Unreachable(reason) => reason,
    }
}

async fn failure(server: &str) -> String {
    match connect_within(server, &auth(), Duration::from_secs(5)).await {
        Ok(_) => panic!("{server} should not have connected"),
        Err(err) => reason(err),
    }
}

/// A listener that answers each connection with `reply` (after reading
/// the request) and closes it.
async fn answering(reply: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = [0u8; 2048];
            let _ = socket.read(&mut buffer).await;
            let _ = socket.write_all(reply).await;
            let _ = socket.shutdown().await;
        }
    });
    addr
}

#[tokio::test]
async fn connection_refused_says_nothing_is_listening() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let said = failure(&format!("ws://{addr}/ws")).await;
    assert_eq!(said, format!("nothing is listening at {addr} — is heartlink-server running?"));
}

#[tokio::test]
async fn a_tls_url_to_a_plain_server_says_use_ws() {
    let addr = answering(b"").await;
    let said = failure(&format!("wss://{addr}/ws")).await;
    assert_eq!(said, format!("{addr} closed the connection during the TLS handshake — if it is a plain server, use ws://{addr}/ws"));
}

#[tokio::test]
async fn a_wrong_path_suggests_the_ws_path() {
    let addr = answering(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").await;
    let said = failure(&format!("ws://{addr}/chat")).await;
    assert_eq!(said, format!("{addr} has no heartlink server at /chat (HTTP 404) — did you mean ws://{addr}/ws?"));
}

#[tokio::test]
async fn a_plain_url_to_a_tls_server_suggests_wss() {
    // What a TLS server answers to a plain HTTP request: a TLS alert record.
    let addr = answering(b"\x15\x03\x03\x00\x02\x02\x32").await;
    let said = failure(&format!("ws://{addr}/ws")).await;
    assert_eq!(said, format!("{addr} did not answer like a heartlink server — if it uses TLS, try wss://{addr}/ws"));
}

#[tokio::test]
async fn a_silent_server_times_out_with_the_place_named() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let _keep = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let said = reason(connect_within(&format!("ws://{addr}/ws"), &auth(), Duration::from_millis(300)).await.err().unwrap());
    assert_eq!(said, format!("{addr} did not answer within 1s — check the address, or a firewall in between"));
}

#[tokio::test]
async fn urls_are_completed_or_corrected_before_connecting() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    // host:port and ws://host:port are completed (and then found closed).
    assert!(failure(&addr).await.starts_with(&format!("nothing is listening at {addr}")));
    assert!(failure(&format!("ws://{addr}")).await.starts_with(&format!("nothing is listening at {addr}")));
    assert_eq!(failure("http://h:1").await, "heartlink speaks WebSocket, not HTTP — did you mean ws://h:1/ws?");
}

#[test]
fn an_unknown_host_says_check_the_name() {
    let lookup = std::io::Error::other("failed to lookup address information: Name or service not known");
    let said = reason(connect_error("ws://nowhere.invalid:7878/ws", tungstenite::Error::Io(lookup)));
    assert_eq!(said, "cannot find the host nowhere.invalid — check the server's name");
}
