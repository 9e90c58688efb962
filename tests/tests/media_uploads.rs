//! tus 1.0.0 uploads over real HTTP (PROTOCOL.md, "HTTP on the same
//! listener"): discovery, creation, HEAD, PATCH, DELETE, checksums, and
//! every bad input with its defined answer and nothing partial kept.

use heartlink_tests::media_client::{header_u64, metadata, random_bytes, sha256_base64};
use heartlink_tests::{MediaClient, TestServer, WsClient};
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn token_of(server: &TestServer, name: &str) -> String {
    let (_client, established) = WsClient::register(&server.url, name).await;
    established["token"].as_str().expect("token").to_owned()
}

/// The JSON error body every refusal carries.
async fn error_of(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    assert_eq!(response.headers()["content-type"], "application/json", "{status}");
    let body: Value = response.json().await.expect("a JSON error body");
    let message = body["message"].as_str().expect("message").to_owned();
    assert!(!message.is_empty());
    (status, body["code"].as_str().expect("code").to_owned(), message)
}

/// Bytes stored for uploads in progress (every part file's length).
fn part_bytes(server: &TestServer) -> u64 {
    let dir = server.data_dir().join("media/uploads");
    std::fs::read_dir(dir).map(|entries| entries.flatten().map(|e| e.metadata().map_or(0, |m| m.len())).sum()).unwrap_or(0)
}

#[tokio::test]
async fn discovery_creation_patch_head_and_termination() {
    let server = TestServer::start(&[]);
    let token = token_of(&server, "alice").await;
    let http = MediaClient::new(&server.addr);

    let options = http.send(http.request(Method::OPTIONS, "/media/uploads", None)).await;
    assert_eq!(options.status(), StatusCode::NO_CONTENT, "discovery needs no token");
    let headers = options.headers();
    assert_eq!((&headers["tus-version"], &headers["tus-resumable"]), (&"1.0.0".parse().unwrap(), &"1.0.0".parse().unwrap()));
    assert_eq!(headers["tus-extension"], "creation,termination,checksum");
    assert_eq!(headers["tus-max-size"], (50 * 1024 * 1024).to_string().as_str());
    assert_eq!(headers["tus-checksum-algorithm"], "sha1,sha256");

    let bytes = random_bytes(10_000, 1);
    let location = http.create_ok(&token, 10_000, "notes.bin").await;
    assert!(location.starts_with("/media/uploads/"), "{location}");
    assert_eq!(http.offset(&token, &location).await, 0);
    let first = http.patch(&token, &location, 0, bytes[..4_000].to_vec(), true).await;
    assert_eq!((first.status(), header_u64(&first, "upload-offset")), (StatusCode::NO_CONTENT, 4_000));
    // sha1, as tus requires every server to support.
    let digest = {
        use sha1_smol_like::digest;
        digest(&bytes[4_000..6_000])
    };
    let sha1 = http
        .request(Method::PATCH, &location, Some(&token))
        .header("Upload-Offset", "4000")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Checksum", format!("sha1 {digest}"))
        .body(bytes[4_000..6_000].to_vec());
    assert_eq!(header_u64(&http.send(sha1).await, "upload-offset"), 6_000);
    let head = http.send(http.request(Method::HEAD, &location, Some(&token))).await;
    assert_eq!((header_u64(&head, "upload-offset"), header_u64(&head, "upload-length")), (6_000, 10_000));
    assert_eq!(head.headers()["cache-control"], "no-store");

    let delete = http.send(http.request(Method::DELETE, &location, Some(&token))).await;
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    let gone = http.send(http.request(Method::HEAD, &location, Some(&token))).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(part_bytes(&server), 0, "a terminated upload's bytes are deleted");
}

/// sha1 for the tus checksum test, through the system's `sha1sum` (the
/// tests have no sha1 crate of their own and must not trust the server's).
mod sha1_smol_like {
    use base64::Engine;
    use std::io::Write;
    use std::process::{Command, Stdio};

    pub fn digest(bytes: &[u8]) -> String {
        let mut child = Command::new("sha1sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("sha1sum");
        child.stdin.take().expect("stdin").write_all(bytes).expect("feed sha1sum");
        let output = child.wait_with_output().expect("sha1sum output");
        let hex = String::from_utf8_lossy(&output.stdout).split_whitespace().next().expect("a digest").to_owned();
        let raw: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect();
        base64::engine::general_purpose::STANDARD.encode(raw)
    }
}

#[tokio::test]
async fn no_token_a_bad_token_or_another_protocol_version_is_refused() {
    let server = TestServer::start(&[]);
    let token = token_of(&server, "alice").await;
    let http = MediaClient::new(&server.addr);
    let create = |token: Option<&str>| http.request(Method::POST, "/media/uploads", token).header("Upload-Length", "10");

    let (status, code, _) = error_of(http.send(create(None)).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let wrong = "0".repeat(64);
    let (status, code, _) = error_of(http.send(create(Some(&wrong))).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let basic = http.send(create(None).basic_auth("alice", Some("password123"))).await;
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED, "credentials never travel over HTTP: only the token");

    let old = http.plain(Method::POST, "/media/uploads").bearer_auth(&token).header("Upload-Length", "10").header("Tus-Resumable", "0.2.2");
    let old = http.send(old).await;
    assert_eq!((old.status(), &old.headers()["tus-version"]), (StatusCode::PRECONDITION_FAILED, &"1.0.0".parse().unwrap()));
    let download = http.download(None, &uuid::Uuid::new_v4().to_string(), &[]).await;
    assert_eq!(download.status(), StatusCode::UNAUTHORIZED);

    // A logged-out token stops working for HTTP too.
    let (mut ws, _) = WsClient::resume(&server.url, &token).await;
    ws.send(serde_json::json!({"type": "logout"})).await;
    ws.expect_close().await;
    assert_eq!(http.send(create(Some(&token))).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_lengths_offsets_checksums_and_types_get_their_answers_and_keep_nothing() {
    let server = TestServer::start(&["--max-upload-bytes", "1000"]);
    let (alice, bob) = (token_of(&server, "alice").await, token_of(&server, "bob").await);
    let http = MediaClient::new(&server.addr);

    let (status, code, _) = error_of(http.create(&alice, 0, "empty.txt").await).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "bad_request"), "a zero-byte upload");
    let (status, code, message) = error_of(http.create(&alice, 1001, "big.bin").await).await;
    assert_eq!((status, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"), "{message}");
    let no_length = http.send(http.request(Method::POST, "/media/uploads", Some(&alice))).await;
    assert_eq!(no_length.status(), StatusCode::BAD_REQUEST);
    let bad_metadata = http.request(Method::POST, "/media/uploads", Some(&alice)).header("Upload-Length", "5").header("Upload-Metadata", "filename !!!");
    assert_eq!(http.send(bad_metadata).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(part_bytes(&server), 0);

    let bytes = random_bytes(1000, 2);
    let location = http.create_ok(&alice, 1000, "a.bin").await;
    assert_eq!(http.patch(&alice, &location, 0, bytes[..300].to_vec(), false).await.status(), StatusCode::NO_CONTENT);

    let (status, _, message) = error_of(http.patch(&alice, &location, 100, bytes[100..200].to_vec(), false).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "a wrong Upload-Offset: {message}");
    let (status, code, _) = error_of(http.patch(&alice, &location, 300, random_bytes(701, 3), false).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"), "a PATCH past Upload-Length");
    // The same without Content-Length (chunked): refused once it passes the end.
    let stream = futures_util::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(random_bytes(100, 4))));
    let chunked = http
        .request(Method::PATCH, &location, Some(&alice))
        .header("Upload-Offset", "300")
        .header("Content-Type", "application/offset+octet-stream")
        .body(reqwest::Body::wrap_stream(stream));
    assert_eq!(http.send(chunked).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(http.offset(&alice, &location).await, 300, "nothing of a refused PATCH is kept");

    let mut wrong = http
        .request(Method::PATCH, &location, Some(&alice))
        .header("Upload-Offset", "300")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Checksum", format!("sha256 {}", sha256_base64(b"something else")));
    wrong = wrong.body(bytes[300..600].to_vec());
    let mismatch = http.send(wrong).await;
    assert_eq!(mismatch.status().as_u16(), 460, "a checksum mismatch");
    assert_eq!(http.offset(&alice, &location).await, 300, "the offset does not move");
    assert!(part_bytes(&server) <= 300, "no byte of a mismatched PATCH is kept");
    let unknown = http
        .request(Method::PATCH, &location, Some(&alice))
        .header("Upload-Offset", "300")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Checksum", "md5 AAAA")
        .body(bytes[300..400].to_vec());
    assert_eq!(http.send(unknown).await.status(), StatusCode::BAD_REQUEST);
    let untyped = http.request(Method::PATCH, &location, Some(&alice)).header("Upload-Offset", "300").body(bytes[300..400].to_vec());
    assert_eq!(http.send(untyped).await.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Someone else's upload, an unknown one, and a malformed id are all just "not found".
    for token in [&bob] {
        assert_eq!(http.send(http.request(Method::HEAD, &location, Some(token))).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(http.patch(token, &location, 300, bytes[300..400].to_vec(), false).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(http.send(http.request(Method::DELETE, &location, Some(token))).await.status(), StatusCode::NOT_FOUND);
    }
    let unknown = format!("/media/uploads/{}", uuid::Uuid::new_v4());
    assert_eq!(http.send(http.request(Method::HEAD, &unknown, Some(&alice))).await.status(), StatusCode::NOT_FOUND);
    let traversal = http.send(http.request(Method::HEAD, "/media/uploads/..%2F..%2Fheartlink.json", Some(&alice))).await;
    assert_eq!(traversal.status(), StatusCode::NOT_FOUND);
    assert_eq!(http.offset(&alice, &location).await, 300);

    let rest = http.patch(&alice, &location, 300, bytes[300..].to_vec(), true).await;
    assert_eq!(header_u64(&rest, "upload-offset"), 1000, "the upload still completes after all that");
}

#[tokio::test]
async fn the_quota_is_413_with_a_reason_and_counts_every_upload_at_its_size() {
    let server = TestServer::start(&["--user-quota-bytes", "100"]);
    let token = token_of(&server, "alice").await;
    let http = MediaClient::new(&server.addr);
    let first = http.upload(&token, &random_bytes(60, 5), "one.bin", 60).await;
    let (status, code, message) = error_of(http.create(&token, 60, "two.bin").await).await;
    assert_eq!((status, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
    assert!(message.contains("quota") && message.contains("60 of 100"), "{message}");
    // Identical bytes are stored once but still count at their size.
    let (status, _, _) = error_of(http.create(&token, 60, "one-again.bin").await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Deleting an unattached upload gives its bytes back.
    let delete = http.send(http.request(Method::DELETE, &format!("/media/uploads/{first}"), Some(&token))).await;
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    assert_eq!(http.create(&token, 60, "two.bin").await.status(), StatusCode::CREATED);
    let metadata_only = http.request(Method::POST, "/media/uploads", Some(&token)).header("Upload-Length", "10").header("Upload-Metadata", metadata("x", Some("image/png")));
    assert_eq!(http.send(metadata_only).await.status(), StatusCode::CREATED);
}
