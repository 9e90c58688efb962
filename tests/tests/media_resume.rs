//! Resumable uploads with real bytes (PROTOCOL.md: offsets are durable
//! before they are reported): a 20 MiB file whose connection is cut
//! mid-PATCH resumes from HEAD's offset and arrives byte-identical at
//! another member; a server killed with SIGKILL mid-upload resumes from an
//! offset never below the last one it acknowledged.

use heartlink_tests::media_client::{eventually, header_u64, media_id, random_bytes, sha256_hex};
use heartlink_tests::{MediaClient, TestServer, WsClient};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MIB: usize = 1024 * 1024;

async fn two_members(server: &TestServer) -> (WsClient, String, String, Value) {
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (_bob, bob_est) = WsClient::register(&server.url, "bob").await;
    let room_id = alice.create_room("files").await["id"].clone();
    alice.join(&room_id).await;
    let (mut bob, _) = WsClient::resume(&server.url, bob_est["token"].as_str().expect("token")).await;
    bob.join(&room_id).await;
    alice.recv_type("user_joined").await;
    let token = |est: &Value| est["token"].as_str().expect("token").to_owned();
    (alice, token(&alice_est), token(&bob_est), room_id)
}

/// PATCHes the rest of `bytes` from HEAD's offset, in `chunk`s.
async fn finish(http: &MediaClient, token: &str, location: &str, bytes: &[u8], chunk: usize) {
    let mut offset = http.offset(token, location).await as usize;
    while offset < bytes.len() {
        let end = (offset + chunk).min(bytes.len());
        let response = http.patch(token, location, offset as u64, bytes[offset..end].to_vec(), true).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        offset = header_u64(&response, "upload-offset") as usize;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_resumes_and_another_member_downloads_the_same_bytes() {
    let server = TestServer::start(&[]);
    let (mut alice, alice_token, bob_token, room_id) = two_members(&server).await;
    let http = MediaClient::new(&server.addr);
    let bytes = random_bytes(20 * MIB, 20);
    let location = http.create_ok(&alice_token, bytes.len() as u64, "big.bin").await;
    for chunk in 0..3 {
        let response = http.patch(&alice_token, &location, (chunk * 2 * MIB) as u64, bytes[chunk * 2 * MIB..(chunk + 1) * 2 * MIB].to_vec(), true).await;
        assert_eq!(header_u64(&response, "upload-offset"), ((chunk + 1) * 2 * MIB) as u64);
    }
    // A PATCH for the rest, cut after 5 MiB of its 14: the connection just dies.
    let acked = 6 * MIB;
    let socket = http.patch_partially(&alice_token, &location, acked as u64, &bytes[acked..], 5 * MIB).await;
    drop(socket);
    // What arrived before the cut is kept (no checksum was promised), durably.
    eventually("the cut PATCH's bytes are recorded", || async { http.offset(&alice_token, &location).await > acked as u64 }).await;
    let resumed_at = http.offset(&alice_token, &location).await as usize;
    assert!(resumed_at <= 11 * MIB, "never more than was sent: {resumed_at}");
    finish(&http, &alice_token, &location, &bytes, 3 * MIB).await;

    let media = media_id(&location);
    alice.send(json!({"type": "send", "room_id": room_id, "client_msg_id": "big", "body": "20 MiB", "attachment": {"media_id": media}})).await;
    let (message, _) = alice.recv_until("chat_message").await;
    assert_eq!(message["attachment"]["sha256"], sha256_hex(&bytes));
    assert_eq!(message["attachment"]["size"], bytes.len());
    let download = http.download(Some(&bob_token), &media, &[]).await;
    assert_eq!(download.status(), StatusCode::OK);
    let received = download.bytes().await.expect("the download");
    assert_eq!(sha256_hex(&received), sha256_hex(&bytes), "byte-identical at the other member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_server_resumes_the_upload_from_heads_offset() {
    let mut server = TestServer::start(&[]);
    let (_alice, token, bob_token, room_id) = two_members(&server).await;
    let http = MediaClient::new(&server.addr);
    let bytes = random_bytes(12 * MIB, 9);
    let location = http.create_ok(&token, bytes.len() as u64, "crash.bin").await;
    let first = http.patch(&token, &location, 0, bytes[..4 * MIB].to_vec(), false).await;
    let acknowledged = header_u64(&first, "upload-offset");
    assert_eq!(acknowledged, 4 * MIB as u64);
    // The next PATCH is in flight (3 of its 8 MiB sent) when the server dies.
    let socket = http.patch_partially(&token, &location, acknowledged, &bytes[4 * MIB..], 3 * MIB).await;
    let part = server.data_dir().join(format!("media/uploads/{}.part", media_id(&location)));
    eventually("the in-flight bytes reach the part file", || async { std::fs::metadata(&part).map_or(0, |m| m.len()) > acknowledged }).await;
    server.kill9();
    drop(socket);
    server.restart(false);

    let http = MediaClient::new(&server.addr);
    let offset = http.offset(&token, &location).await;
    assert!(offset >= acknowledged, "HEAD {offset} is below the acknowledged {acknowledged}");
    assert!(offset <= 7 * MIB as u64, "HEAD {offset} claims bytes that were never sent");
    finish(&http, &token, &location, &bytes, 4 * MIB).await;
    let (mut alice, _) = WsClient::resume(&server.url, &token).await;
    alice.join(&room_id).await;
    let media = media_id(&location);
    alice.send(json!({"type": "send", "room_id": room_id, "client_msg_id": "c", "attachment": {"media_id": media}})).await;
    assert_eq!(alice.recv_until("chat_message").await.0["attachment"]["sha256"], sha256_hex(&bytes));
    let received = http.download(Some(&bob_token), &media, &[]).await.bytes().await.expect("the download");
    assert_eq!(sha256_hex(&received), sha256_hex(&bytes), "the bytes before the crash were kept intact");
}

#[tokio::test]
async fn stale_uploads_expire_with_their_bytes_and_attached_ones_stay() {
    let server = TestServer::start(&["--upload-expiry-secs", "2"]);
    let (mut alice, token, bob_token, room_id) = two_members(&server).await;
    let http = MediaClient::new(&server.addr);
    let unfinished = http.create_ok(&token, 1000, "half.bin").await;
    http.patch(&token, &unfinished, 0, random_bytes(500, 1), false).await;
    let unattached = http.upload(&token, &random_bytes(800, 2), "never.bin", 800).await;
    let attached = http.upload(&token, &random_bytes(900, 3), "kept.bin", 900).await;
    alice.send(json!({"type": "send", "room_id": room_id, "client_msg_id": "k", "attachment": {"media_id": attached}})).await;
    alice.recv_until("chat_message").await;

    let gone = |path: String| {
        let http = http.clone();
        let token = token.clone();
        async move { http.send(http.request(reqwest::Method::HEAD, &path, Some(&token))).await.status() == StatusCode::NOT_FOUND }
    };
    eventually("the unfinished upload expires", || gone(unfinished.clone())).await;
    eventually("the unattached upload expires", || gone(format!("/media/uploads/{unattached}"))).await;
    // The record goes first, its bytes right after.
    let media_dir = server.data_dir().join("media");
    eventually("only the attached media's bytes remain", || async { walk(&media_dir).len() == 1 }).await;
    let attached_blob = sha256_hex(&random_bytes(900, 3));
    assert!(walk(&media_dir)[0].ends_with(&attached_blob));
    let kept = http.download(Some(&bob_token), &attached, &[]).await;
    assert_eq!(kept.status(), StatusCode::OK);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { found.extend(walk(&path)) } else { found.push(path) }
    }
    found
}
