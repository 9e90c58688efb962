//! Voice messages from real sound: `sox` makes a WAV (a second of silence,
//! then two seconds of a loud tone), `send --voice` sends it, another member
//! receives it as `voice` with the right duration and waveform and downloads
//! it byte-identical; a file that is not sound goes as a `file`.

use heartlink_tests::media_client::sha256_hex;
use heartlink_tests::{TestServer, WAIT, WsClient, binaries, tui_cli};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// Runs `heartlink-tui` to completion within a deadline.
fn tui(config_dir: &Path, args: &[&str]) -> std::process::Output {
    tui_cli::run(config_dir, args, WAIT * 3)
}

fn save_session(dir: &Path, server: &TestServer, username: &str, token: &str) -> std::path::PathBuf {
    tui_cli::save_session(dir, &server.url, username, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_message_from_real_sound_arrives_with_its_duration_and_waveform() {
    binaries::bin("heartlink-tui");
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = dir.path().join("hello.wav");
    let made = Command::new("sox")
        .args(["-n", "-r", "16000", "-c", "1", "-b", "16"])
        .arg(&wav)
        .args(["synth", "1", "sine", "440", "vol", "0", ":", "synth", "2", "sine", "440", "vol", "0.9"])
        .output();
    assert!(made.as_ref().is_ok_and(|out| out.status.success()), "sox is needed (.ci/run installs it): {made:?}");
    let server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    let room = alice.create_room("voices").await["id"].as_str().expect("id").to_owned();
    alice.join(&json!(room)).await;
    bob.join(&json!(room)).await;
    let token = |est: &Value| est["token"].as_str().expect("token").to_owned();
    let alice_config = save_session(dir.path(), &server, "alice", &token(&alice_est));
    let bob_config = save_session(dir.path(), &server, "bob", &token(&bob_est));

    let sent = tui(&alice_config, &["send", "--room", &room, "--voice", wav.to_str().expect("utf-8")]);
    assert!(sent.status.success(), "send --voice: {}", String::from_utf8_lossy(&sent.stderr));
    let (message, _) = bob.recv_until("chat_message").await;
    let attachment = &message["attachment"];
    assert_eq!(attachment["kind"], "voice", "{message}");
    let duration = attachment["duration_ms"].as_u64().expect("duration_ms");
    assert!((2_950..=3_050).contains(&duration), "three seconds: {duration}");
    let waveform: Vec<u64> = attachment["waveform"].as_array().expect("waveform").iter().filter_map(Value::as_u64).collect();
    assert_eq!(waveform.len(), 128);
    assert!(waveform[..40].iter().all(|level| *level < 5), "the silent first third: {waveform:?}");
    assert!(waveform[45..].iter().all(|level| *level > 200), "the loud rest: {waveform:?}");
    let bytes = std::fs::read(&wav).expect("the wav");
    assert_eq!(attachment["sha256"], sha256_hex(&bytes));

    let out = dir.path().join("got.wav");
    let media_id = attachment["media_id"].as_str().expect("media id");
    let saved = tui(&bob_config, &["download", media_id, "-o", out.to_str().expect("utf-8")]);
    assert!(saved.status.success(), "{}", String::from_utf8_lossy(&saved.stderr));
    assert_eq!(std::fs::read(&out).expect("downloaded"), bytes, "byte-identical");

    // Not sound: it goes as a file, and the sender is told so.
    let fake = dir.path().join("song.wav");
    std::fs::write(&fake, b"%PDF-1.4 this is not a sound at all").expect("fake");
    let sent = tui(&alice_config, &["send", "--room", &room, "--voice", fake.to_str().expect("utf-8")]);
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    assert!(String::from_utf8_lossy(&sent.stderr).contains("is not sound"), "{}", String::from_utf8_lossy(&sent.stderr));
    let (message, _) = tokio::time::timeout(WAIT, bob.recv_until("chat_message")).await.expect("the second message");
    assert_eq!(message["attachment"]["kind"], "file");
    assert!(message["attachment"].get("duration_ms").is_none());
}
