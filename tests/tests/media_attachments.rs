//! Attachments end to end (PROTOCOL.md, "Attachments" and `GET /media`):
//! a message carries what the server found in the bytes, in chat_message,
//! history and joined; downloads follow room membership (404 to everyone
//! else), with ranges and the safe headers; bad attachments get their codes.

use base64::Engine;
use heartlink_tests::media_client::{random_bytes, sha256_hex};
use heartlink_tests::{MediaClient, TestServer, WsClient};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A real 1×1 PNG.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(PNG_1X1).expect("png")
}

/// Only a PNG signature and a header claiming `width` × `height`: a
/// decompression bomb's dimensions, without the bytes to decode.
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0x1d, 0x6b, 0xa8, 0x5b]);
    bytes
}

struct Room {
    alice: WsClient,
    bob: WsClient,
    alice_token: String,
    bob_token: String,
    room_id: Value,
}

async fn room_of_two(server: &TestServer) -> Room {
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    let room_id = alice.create_room("files").await["id"].clone();
    alice.join(&room_id).await;
    bob.join(&room_id).await;
    alice.recv_type("user_joined").await;
    let token = |est: &Value| est["token"].as_str().expect("token").to_owned();
    Room { alice, bob, alice_token: token(&alice_est), bob_token: token(&bob_est), room_id }
}

/// Sends a message with an attachment; returns the sender's chat_message (after its ack).
async fn send_attachment(client: &mut WsClient, room_id: &Value, id: &str, media_id: &str, body: &str) -> Value {
    let request = json!({"type": "send", "room_id": room_id, "client_msg_id": id, "body": body, "attachment": {"media_id": media_id}});
    client.send(request).await;
    let message = client.recv_type("chat_message").await;
    assert_eq!(client.recv_type("ack").await["seq"], message["seq"]);
    message
}

async fn refusal(client: &mut WsClient, room_id: &Value, attachment: Value) -> String {
    let request = json!({"type": "send", "room_id": room_id, "client_msg_id": "x", "attachment": attachment});
    let error = client.request(request, "error").await;
    error["code"].as_str().expect("code").to_owned()
}

#[tokio::test]
async fn an_image_travels_with_what_the_server_found_in_its_bytes() {
    let server = TestServer::start(&[]);
    let mut room = room_of_two(&server).await;
    let http = MediaClient::new(&server.addr);
    let image = png();
    let media_id = http.upload(&room.alice_token, &image, "../../photo.png", 1 << 20).await;

    let message = send_attachment(&mut room.alice, &room.room_id, "p1", &media_id, "").await;
    let expected = json!({
        "media_id": media_id, "name": "photo.png", "mime": "image/png", "size": image.len(),
        "sha256": sha256_hex(&image), "kind": "image", "width": 1, "height": 1,
    });
    assert_eq!(message["attachment"], expected);
    assert_eq!(message["body"], "", "with an attachment the caption may be empty");
    assert_eq!(room.bob.recv_type("chat_message").await["attachment"], expected);
    let history = room.bob.request(json!({"type": "history", "room_id": room.room_id}), "history").await;
    assert_eq!(history["messages"][0]["attachment"], expected);

    // Attaching again (another room too) is allowed; retries are idempotent.
    let retry = json!({"type": "send", "room_id": room.room_id, "client_msg_id": "p1", "attachment": {"media_id": media_id}});
    assert_eq!(room.alice.request(retry, "ack").await["seq"], message["seq"]);
    let second = send_attachment(&mut room.alice, &room.room_id, "p2", &media_id, "again").await;
    assert_eq!(second["attachment"], expected);

    // After a restart the message still carries it, and the bytes are still there.
    drop(room.alice);
    let mut server = server;
    server.kill9();
    server.restart(true);
    let (mut alice, _) = WsClient::resume(&server.url, &room.alice_token).await;
    let joined = alice.join(&room.room_id).await;
    assert_eq!(joined["messages"][0]["attachment"], expected);
    let download = MediaClient::new(&server.addr).download(Some(&room.bob_token), &media_id, &[]).await;
    assert_eq!(download.bytes().await.expect("bytes").to_vec(), image);
}

#[tokio::test]
async fn attachments_that_are_not_the_senders_finished_upload_are_refused() {
    let server = TestServer::start(&[]);
    let mut room = room_of_two(&server).await;
    let http = MediaClient::new(&server.addr);
    let text = http.upload(&room.alice_token, b"plain text", "a.txt", 64).await;
    let bobs = http.upload(&room.bob_token, b"bob's text", "b.txt", 64).await;
    let unfinished = http.create_ok(&room.alice_token, 100, "half.bin").await;
    http.patch(&room.alice_token, &unfinished, 0, random_bytes(50, 1), false).await;
    let unfinished = unfinished.rsplit('/').next().expect("id").to_owned();
    let (alice, room_id) = (&mut room.alice, &room.room_id);

    assert_eq!(refusal(alice, room_id, json!({"media_id": uuid::Uuid::new_v4()})).await, "not_found");
    assert_eq!(refusal(alice, room_id, json!({"media_id": bobs})).await, "forbidden");
    assert_eq!(refusal(alice, room_id, json!({"media_id": unfinished})).await, "not_ready");
    assert_eq!(refusal(alice, room_id, json!({"media_id": text, "duration_ms": 1000})).await, "bad_request");
    assert_eq!(refusal(alice, room_id, json!({"media_id": text, "waveform": [1, 2]})).await, "bad_request");
    assert_eq!(refusal(alice, room_id, json!({"media_id": "not-a-uuid"})).await, "bad_request");
    let empty = json!({"type": "send", "room_id": room_id, "client_msg_id": "e", "body": ""});
    alice.expect_error(empty, "bad_request").await;
    // Nothing of the refused sends reached the room.
    room.bob.assert_quiet().await;
    let ok = send_attachment(alice, room_id, "t", &text, "here").await;
    assert_eq!((ok["seq"].as_u64(), &ok["attachment"]["kind"], &ok["attachment"]["mime"]), (Some(1), &json!("file"), &json!("text/plain; charset=utf-8")));
}

#[tokio::test]
async fn downloads_follow_room_membership_with_ranges_and_safe_headers() {
    let server = TestServer::start(&[]);
    let mut room = room_of_two(&server).await;
    let (_carol, carol_est) = WsClient::register(&server.url, "carol").await;
    let carol = carol_est["token"].as_str().expect("token").to_owned();
    let http = MediaClient::new(&server.addr);
    let bytes = random_bytes(100_000, 7);
    let media_id = http.upload(&room.alice_token, &bytes, "re\u{1b}[2Jport\u{202e}.pdf", 40_000).await;

    assert_eq!(http.download(Some(&room.bob_token), &media_id, &[]).await.status(), StatusCode::NOT_FOUND, "not posted yet");
    assert_eq!(http.download(Some(&room.alice_token), &media_id, &[]).await.status(), StatusCode::OK, "the uploader always may");
    let message = send_attachment(&mut room.alice, &room.room_id, "f", &media_id, "the report").await;
    assert_eq!(message["attachment"]["name"], "re[2Jport.pdf", "escape and bidi characters are gone from the name");
    assert_eq!(room.bob.recv_type("chat_message").await["attachment"], message["attachment"]);

    let whole = http.download(Some(&room.bob_token), &media_id, &[]).await;
    assert_eq!(whole.status(), StatusCode::OK);
    let headers = whole.headers().clone();
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "sandbox");
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(headers["content-disposition"], "attachment; filename=\"re[2Jport.pdf\"; filename*=UTF-8''re%5B2Jport.pdf");
    assert_eq!(whole.bytes().await.expect("body").to_vec(), bytes);

    let part = http.download(Some(&room.bob_token), &media_id, &[("Range", "bytes=1000-1999")]).await;
    assert_eq!((part.status(), &part.headers()["content-range"]), (StatusCode::PARTIAL_CONTENT, &"bytes 1000-1999/100000".parse().unwrap()));
    assert_eq!(part.bytes().await.expect("body").to_vec(), bytes[1000..2000]);
    let tail = http.download(Some(&room.bob_token), &media_id, &[("Range", "bytes=-10")]).await;
    assert_eq!(tail.bytes().await.expect("body").to_vec(), bytes[99_990..]);
    let open = http.download(Some(&room.bob_token), &media_id, &[("Range", "bytes=99999-")]).await;
    assert_eq!(open.bytes().await.expect("body").to_vec(), bytes[99_999..]);
    let outside = http.download(Some(&room.bob_token), &media_id, &[("Range", "bytes=100000-")]).await;
    assert_eq!((outside.status(), &outside.headers()["content-range"]), (StatusCode::RANGE_NOT_SATISFIABLE, &"bytes */100000".parse().unwrap()));
    let head = http.send(http.request(Method::HEAD, &format!("/media/{media_id}"), Some(&room.bob_token))).await;
    assert_eq!((head.status(), &head.headers()["content-length"]), (StatusCode::OK, &"100000".parse().unwrap()));

    // Not a member: exactly the answer for a media that does not exist.
    let stranger = http.download(Some(&carol), &media_id, &[]).await;
    let nothing = http.download(Some(&carol), &uuid::Uuid::new_v4().to_string(), &[]).await;
    assert_eq!((stranger.status(), nothing.status()), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(stranger.text().await.expect("body"), nothing.text().await.expect("body"), "a 404 reveals nothing");

    // A member who leaves loses access; the uploader keeps it.
    room.bob.request(json!({"type": "leave", "room_id": room.room_id}), "left").await;
    assert_eq!(http.download(Some(&room.bob_token), &media_id, &[]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(http.download(Some(&room.alice_token), &media_id, &[]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn disguised_files_and_decompression_bombs_are_what_their_bytes_say() {
    let server = TestServer::start(&[]);
    let mut room = room_of_two(&server).await;
    let http = MediaClient::new(&server.addr);
    // An executable named and typed as a PNG.
    let executable = std::fs::read("/bin/true").expect("/bin/true");
    let location = http.create_ok(&room.alice_token, executable.len() as u64, "cat.png").await;
    let claim = http
        .request(Method::PATCH, &location, Some(&room.alice_token))
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(executable.clone());
    assert_eq!(http.send(claim).await.status(), StatusCode::NO_CONTENT);
    let disguised = location.rsplit('/').next().expect("id").to_owned();
    let message = send_attachment(&mut room.alice, &room.room_id, "d", &disguised, "").await;
    assert_eq!((&message["attachment"]["mime"], &message["attachment"]["kind"]), (&json!("application/x-executable"), &json!("file")));
    assert!(message["attachment"].get("width").is_none());
    let download = http.download(Some(&room.bob_token), &disguised, &[]).await;
    assert_eq!(download.headers()["content-type"], "application/x-executable", "the sniffed type wins");

    let started = std::time::Instant::now();
    let bomb = http.upload(&room.alice_token, &png_bomb(100_000, 100_000), "bomb.png", 1024).await;
    let message = send_attachment(&mut room.alice, &room.room_id, "b", &bomb, "").await;
    assert_eq!((&message["attachment"]["width"], &message["attachment"]["height"]), (&json!(100_000), &json!(100_000)));
    assert_eq!(message["attachment"]["kind"], "image", "dimensions come from the header alone");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "no decoding: {:?}", started.elapsed());
}

#[tokio::test]
async fn identical_files_are_stored_once_and_deleted_when_nothing_uses_them() {
    let server = TestServer::start(&[]);
    let room = room_of_two(&server).await;
    let http = MediaClient::new(&server.addr);
    let bytes = random_bytes(50_000, 9);
    let blobs = || walk(&server.data_dir().join("media/blobs"));
    let first = http.upload(&room.alice_token, &bytes, "a.bin", 50_000).await;
    let second = http.upload(&room.bob_token, &bytes, "b.bin", 10_000).await;
    assert_ne!(first, second, "each upload is its own media");
    assert_eq!(blobs().len(), 1, "the same content is stored once");
    assert!(blobs()[0].ends_with(sha256_hex(&bytes)));

    let delete = |token: &str, id: &str| http.request(Method::DELETE, &format!("/media/uploads/{id}"), Some(token));
    assert_eq!(http.send(delete(&room.alice_token, &first)).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(blobs().len(), 1, "bob's upload still uses the bytes");
    assert_eq!(http.download(Some(&room.bob_token), &second, &[]).await.bytes().await.expect("body").to_vec(), bytes);
    assert_eq!(http.send(delete(&room.bob_token, &second)).await.status(), StatusCode::NO_CONTENT);
    assert!(blobs().is_empty(), "nothing uses the bytes any more");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { found.extend(walk(&path)) } else { found.push(path) }
    }
    found
}

/// A real WAV file: 16-bit mono PCM at 8 kHz, `samples` samples of a square wave.
fn wav(samples: u32) -> Vec<u8> {
    let data = samples * 2;
    let mut bytes = b"RIFF".to_vec();
    bytes.extend_from_slice(&(36 + data).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&[1, 0, 1, 0]); // PCM, mono
    bytes.extend_from_slice(&8000u32.to_le_bytes());
    bytes.extend_from_slice(&16_000u32.to_le_bytes());
    bytes.extend_from_slice(&[2, 0, 16, 0]);
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data.to_le_bytes());
    for n in 0..samples {
        let level: i16 = if n / 20 % 2 == 0 { 8000 } else { -8000 };
        bytes.extend_from_slice(&level.to_le_bytes());
    }
    bytes
}

#[tokio::test]
async fn voice_fields_on_real_audio_are_bounded_and_make_it_a_voice_message() {
    let server = TestServer::start(&[]);
    let mut room = room_of_two(&server).await;
    let http = MediaClient::new(&server.addr);
    let sound = http.upload(&room.alice_token, &wav(8000), "hello.wav", 4096).await;
    let (alice, room_id) = (&mut room.alice, &room.room_id);
    let voice = |duration: Value, waveform: Value| json!({"media_id": sound, "duration_ms": duration, "waveform": waveform});
    assert_eq!(refusal(alice, room_id, voice(json!(0), json!([1]))).await, "bad_request", "a 0 ms recording");
    assert_eq!(refusal(alice, room_id, voice(json!(600_001), json!([1]))).await, "bad_request", "over ten minutes");
    assert_eq!(refusal(alice, room_id, voice(json!(1000), json!([]))).await, "bad_request", "no levels");
    assert_eq!(refusal(alice, room_id, voice(json!(1000), json!(vec![7; 129]))).await, "bad_request", "129 levels");
    assert_eq!(refusal(alice, room_id, voice(json!(1000), json!([256]))).await, "bad_request", "a level over 255");
    assert_eq!(refusal(alice, room_id, voice(json!(-1), json!([1]))).await, "bad_request", "a negative duration");
    assert_eq!(refusal(alice, room_id, json!({"media_id": sound, "waveform": [1]})).await, "bad_request", "levels without a duration");
    room.bob.assert_quiet().await;

    let request = json!({"type": "send", "room_id": room_id, "client_msg_id": "v", "attachment": voice(json!(1000), json!(vec![200; 128]))});
    room.alice.send(request).await;
    let message = room.bob.recv_type("chat_message").await;
    assert_eq!(room.alice.recv_type("chat_message").await, message);
    assert_eq!(room.alice.recv_type("ack").await["seq"], message["seq"]);
    let attachment = &message["attachment"];
    assert_eq!((&attachment["kind"], &attachment["mime"]), (&json!("voice"), &json!("audio/x-wav")), "{attachment}");
    assert_eq!((&attachment["duration_ms"], &attachment["waveform"]), (&json!(1000), &json!(vec![200; 128])));
    // Without a duration the same sound is a plain file.
    let plain = send_attachment(&mut room.alice, &room.room_id, "f", &sound, "").await;
    assert_eq!(plain["attachment"]["kind"], "file");
}
