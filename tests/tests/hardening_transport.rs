//! Transport security: `wss://` with `--tls-cert/--tls-key`, the browser
//! `Origin` check, and secrets (passwords, tokens, bodies) kept out of the
//! logs and (passwords, tokens) off the disk.

use heartlink_tests::tls_files::TlsFiles;
use heartlink_tests::server_process::stored_bytes;
use heartlink_tests::{TestServer, WAIT, WsClient};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn wss_serves_the_protocol_to_a_client_that_trusts_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsFiles::localhost(dir.path());
    let flags = tls.server_flags();
    let server = TestServer::start(&flags.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(server.url.starts_with("wss://"), "announced {}", server.url);

    let url = server.url.replace("127.0.0.1", "localhost");
    let mut alice = WsClient::connect_tls(&url, &tls.cert_pem).await;
    alice.send(json!({"type": "register", "username": "alice", "password": "password123"})).await;
    alice.recv_type("connection_established").await;
    alice.send(json!({"type": "ping"})).await;
    alice.recv_type("pong").await;

    // A plain-text client cannot talk to the TLS port.
    let plain = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr))).await;
    assert!(matches!(plain, Ok(Err(_))), "plain ws:// to a wss:// server must fail");
}

#[tokio::test]
async fn unusable_tls_files_stop_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem").display().to_string();
    let output = std::process::Command::new(heartlink_tests::binaries::bin("heartlink-server"))
        .args(["start", "--listen", "127.0.0.1:0", "--tls-cert", &missing, "--tls-key", &missing, "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("TLS certificate"));
}

/// The HTTP status of a handshake with `origin`, or 101 when it was accepted.
async fn handshake_status(url: &str, origin: Option<&str>) -> u16 {
    let mut request = url.into_client_request().unwrap();
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().unwrap());
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request)).await.unwrap() {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("handshake failed otherwise: {other}"),
    }
}

#[tokio::test]
async fn browsers_need_an_allowed_origin_terminals_need_none() {
    let default = TestServer::start(&[]);
    assert_eq!(handshake_status(&default.url, None).await, 101, "no Origin (a terminal) is always allowed");
    assert_eq!(handshake_status(&default.url, Some("https://evil.example")).await, 403);

    let configured = TestServer::start(&["--allowed-origin", "https://chat.example.org"]);
    assert_eq!(handshake_status(&configured.url, Some("https://chat.example.org")).await, 101);
    assert_eq!(handshake_status(&configured.url, Some("https://evil.example")).await, 403);
    assert_eq!(handshake_status(&configured.url, None).await, 101);

    let any = TestServer::start(&["--allowed-origin", "*"]);
    assert_eq!(handshake_status(&any.url, Some("https://evil.example")).await, 101);
    let wrong_path = default.url.replace("/ws", "/chat");
    assert_eq!(handshake_status(&wrong_path, None).await, 404);
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn secrets_stay_out_of_logs_and_off_disk() {
    let password = "Zebra-Quartz-9173-secret";
    let body = "body-marker-5521 do not log me";
    let mut server = TestServer::start(&[]);
    let mut alice = WsClient::connect(&server.url).await;
    alice.send(json!({"type": "register", "username": "alice", "password": password})).await;
    let token = alice.recv_type("connection_established").await["token"].as_str().unwrap().to_owned();
    alice.send(json!({"type": "login", "username": "alice", "password": "wrong-password-77"})).await;
    alice.recv_type("error").await;
    let room = {
        alice.send(json!({"type": "create_room", "name": "room-marker-5521"})).await;
        alice.recv_type("room_created").await["room"]["id"].as_str().unwrap().to_owned()
    };
    alice.send(json!({"type": "join", "room_id": room})).await;
    alice.recv_type("joined").await;
    alice.send(json!({"type": "send", "room_id": room, "client_msg_id": "m1", "body": body})).await;
    alice.recv_until("ack").await;
    let mut again = WsClient::connect(&server.url).await;
    again.send(json!({"type": "resume", "token": token})).await;
    again.recv_type("connection_established").await;
    assert!(server.terminate().success());

    let logs = std::fs::read(&server.log_path).unwrap();
    assert!(!logs.is_empty(), "the server logged nothing; the check would be empty");
    for secret in [password, "wrong-password-77", token.as_str(), body] {
        assert!(!contains(&logs, secret), "the log contains {secret:?}");
    }
    let files = stored_bytes(server.data_dir());
    // Room names are stored in clear: the check can see stored text. Bodies
    // are sealed under a per-message key (a deletion destroys the key).
    assert!(files.iter().any(|(_, bytes)| contains(bytes, "room-marker-5521")), "the room must be stored");
    // PostgreSQL keeps bodies in clear (docs/SCALING.md): only sled seals them.
    if heartlink_tests::server_process::test_store_for(server.data_dir()).is_none() {
        assert!(!files.iter().any(|(_, bytes)| contains(bytes, "body-marker-5521")), "the body is sealed on disk");
    } else {
        assert!(files.iter().any(|(_, bytes)| contains(bytes, "body-marker-5521")), "the check can see stored bodies");
    }
    for (path, bytes) in &files {
        for secret in [password, "wrong-password-77", token.as_str()] {
            assert!(!contains(bytes, secret), "{} contains {secret:?} in clear", path.display());
        }
    }
}
