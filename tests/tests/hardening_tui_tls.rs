//! The real `heartlink-tui` over `wss://`: it trusts a private CA given with
//! `--ca-file`, and without it refuses the unknown certificate in one clear
//! line instead of retrying forever.

use heartlink_tests::tls_files::TlsFiles;
use heartlink_tests::{TestServer, WAIT, WsClient, binaries, tui_cli};
use serde_json::json;
use std::path::Path;
use std::process::Output;

/// Runs `heartlink-tui` with a deadline; returns its output.
fn tui(config_dir: &Path, args: &[&str]) -> Output {
    tui_cli::run(config_dir, args, WAIT * 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_sends_over_wss_when_it_trusts_the_ca() {
    // Build the TUI before any socket is open: a build that takes minutes on
    // a busy machine would otherwise outlast the watching client's heartbeat.
    binaries::bin("heartlink-tui");
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsFiles::localhost(dir.path());
    let flags = tls.server_flags();
    let server = TestServer::start(&flags.iter().map(String::as_str).collect::<Vec<_>>());
    let url = server.url.replace("127.0.0.1", "localhost");

    let mut alice = WsClient::connect_tls(&url, &tls.cert_pem).await;
    alice.send(json!({"type": "register", "username": "alice", "password": "password123"})).await;
    let token = alice.recv_type("connection_established").await["token"].as_str().unwrap().to_owned();
    alice.send(json!({"type": "create_room", "name": "secure"})).await;
    let room = alice.recv_type("room_created").await["room"]["id"].as_str().unwrap().to_owned();
    alice.send(json!({"type": "join", "room_id": room})).await;
    alice.recv_type("joined").await;

    // The session a `heartlink-tui login` would have saved.
    let config = dir.path().join("config");
    std::fs::create_dir(&config).unwrap();
    let session = json!({"server": url, "username": "alice", "token": token, "rooms": []});
    std::fs::write(config.join("session.json"), session.to_string()).unwrap();

    let refused = tui(&config, &["send", "--room", &room, "untrusted"]);
    assert!(!refused.status.success(), "a certificate from an unknown CA must be refused");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("cannot verify") && stderr.contains("--ca-file"), "{stderr}");

    let ca = tls.cert.display().to_string();
    let sent = tui(&config, &["--ca-file", &ca, "send", "--room", &room, "hello over tls"]);
    assert!(sent.status.success(), "send failed: {}", String::from_utf8_lossy(&sent.stderr));
    let (message, _) = alice.recv_until("chat_message").await;
    assert_eq!(message["body"], "hello over tls");
    assert_eq!(message["sender"]["username"], "alice");
}
