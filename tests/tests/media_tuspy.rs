//! A third-party tus client (Python's `tuspy`), given only the endpoint and
//! a token, uploads a file in chunks with checksums; the file then travels
//! as an attachment and downloads byte-identical.

use heartlink_tests::media_client::{random_bytes, sha256_hex};
use heartlink_tests::{MediaClient, TestServer, WsClient};
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use tokio::process::Command;

#[tokio::test]
async fn tuspy_uploads_and_the_file_arrives_whole() {
    let probe = Command::new("python3").args(["-c", "import tusclient"]).output().await;
    match probe {
        Ok(output) if output.status.success() => {}
        _ => panic!("this test needs python3 with the `tuspy` package: run `pip install tuspy` (.ci/run does)"),
    }
    let server = TestServer::start(&[]);
    let (mut alice, established) = WsClient::register(&server.url, "alice").await;
    let token = established["token"].as_str().expect("token").to_owned();
    let room_id = alice.create_room("tus").await["id"].clone();
    alice.join(&room_id).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("from python.bin");
    let bytes = random_bytes(3 * 1024 * 1024 + 17, 31);
    std::fs::write(&file, &bytes).expect("write the file");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/tus_upload.py");
    let http = MediaClient::new(&server.addr);
    let run = Command::new("python3")
        .arg(&script)
        .args([&http.base, &token])
        .arg(&file)
        .arg((1024 * 1024).to_string())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run).await.expect("tuspy finished within a minute").expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "tuspy failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let media_id = stdout.trim().strip_prefix("media_id ").expect("the script prints the media id").to_owned();

    alice.send(json!({"type": "send", "room_id": room_id, "client_msg_id": "py", "attachment": {"media_id": media_id}})).await;
    let message = alice.recv_type("chat_message").await;
    assert_eq!(message["attachment"]["name"], "from python.bin");
    assert_eq!(message["attachment"]["sha256"], sha256_hex(&bytes));
    assert_eq!(message["attachment"]["mime"], "application/octet-stream", "the claimed filetype is not trusted");
    let downloaded = http.download(Some(&token), &media_id, &[]).await.bytes().await.expect("download");
    assert_eq!(sha256_hex(&downloaded), sha256_hex(&bytes));
}
