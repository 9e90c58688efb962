//! The scripting commands with attachments, as a user runs them: `send
//! --file` uploads and sends, `tail` shows the attachment (sanitized in
//! text, whole in `--json`), `download` saves it without overwriting and
//! without trusting the name it was given.

use heartlink_tests::media_client::{random_bytes, sha256_hex};
use heartlink_tests::{TestServer, WAIT, WsClient, binaries, tui_cli};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Output};

/// Runs `heartlink-tui` to completion within a deadline.
fn tui(config_dir: &Path, args: &[&str]) -> Output {
    tui_cli::run(config_dir, args, WAIT * 3)
}

/// The first stdout line of a long-running `heartlink-tui` (then it is killed).
fn first_line(mut child: Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(WAIT * 2).expect("a line from heartlink-tui");
    let _ = child.kill();
    let _ = child.wait();
    line
}

fn save_session(dir: &Path, server: &TestServer, username: &str, token: &str) -> std::path::PathBuf {
    tui_cli::save_session(dir, &server.url, username, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_file_tail_and_download_from_scripts() {
    // Built before any connection opens: a long build must not leave them silent past the heartbeat.
    binaries::bin("heartlink-tui");
    let server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    let room = alice.create_room("scripts").await["id"].as_str().expect("id").to_owned();
    alice.join(&json!(room)).await;
    bob.join(&json!(room)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let token = |est: &Value| est["token"].as_str().expect("token").to_owned();
    let alice_config = save_session(dir.path(), &server, "alice", &token(&alice_est));
    let bob_config = save_session(dir.path(), &server, "bob", &token(&bob_est));

    // A file whose name carries a terminal escape and a bidi override.
    let bytes = random_bytes(5 * 1024 * 1024 + 3, 77);
    let hostile = dir.path().join("re\u{1b}]0;pwned\u{7}port\u{202e}.bin");
    std::fs::write(&hostile, &bytes).expect("write the file");
    let sent = tui(&alice_config, &["send", "--room", &room, "--file", hostile.to_str().expect("utf-8 path"), "the", "report"]);
    assert!(sent.status.success(), "send --file failed: {}", String::from_utf8_lossy(&sent.stderr));
    assert_eq!(String::from_utf8_lossy(&sent.stdout).trim(), "sent (seq 1)");
    let (message, _) = bob.recv_until("chat_message").await;
    assert_eq!(message["body"], "the report");
    let attachment = message["attachment"].clone();
    assert_eq!((&attachment["name"], &attachment["size"]), (&json!("re]0;pwnedport.bin"), &json!(bytes.len())));
    assert_eq!(attachment["sha256"], sha256_hex(&bytes));
    let media_id = attachment["media_id"].as_str().expect("media id").to_owned();

    let json_line = first_line(tui_cli::command(&bob_config, &["tail", "--room", &room, "--json"]).spawn().expect("tail --json"));
    let printed: Value = serde_json::from_str(&json_line).expect("one JSON object per line");
    assert_eq!(printed["attachment"], attachment, "tail --json carries the attachment object");
    let text_line = first_line(tui_cli::command(&bob_config, &["tail", "--room", &room]).spawn().expect("tail"));
    assert!(text_line.contains(&format!("alice: the report [file: re]0;pwnedport.bin, {} bytes, application/octet-stream, media {media_id}]", bytes.len())), "{text_line}");
    assert!(!text_line.chars().any(|c| c.is_control() && c != '\n'), "nothing a terminal would act on: {text_line:?}");

    let downloads = dir.path().join("downloads");
    std::fs::create_dir(&downloads).expect("downloads dir");
    let target = downloads.to_str().expect("utf-8 path");
    for expected in ["re]0;pwnedport.bin", "re]0;pwnedport-1.bin"] {
        let saved = tui(&bob_config, &["download", &media_id, "-o", target]);
        assert!(saved.status.success(), "download failed: {}", String::from_utf8_lossy(&saved.stderr));
        let written = std::fs::read(downloads.join(expected)).expect("the saved file");
        assert_eq!(sha256_hex(&written), sha256_hex(&bytes), "{expected}");
    }
    let exact = dir.path().join("exact.bin");
    assert!(tui(&bob_config, &["download", &media_id, "-o", exact.to_str().expect("utf-8")]).status.success());
    assert_eq!(std::fs::read(&exact).expect("exact.bin").len(), bytes.len());

    // Someone who may not see it learns nothing more than "no such media".
    let (_carol, carol_est) = WsClient::register(&server.url, "carol").await;
    let carol_config = save_session(dir.path(), &server, "carol", &token(&carol_est));
    let refused = tui(&carol_config, &["download", &media_id, "-o", target]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no such media"), "{}", String::from_utf8_lossy(&refused.stderr));
    let missing = tui(&alice_config, &["send", "--room", &room, "--file", "/nonexistent/file.bin"]);
    assert!(!missing.status.success() && String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/file.bin"));
}
