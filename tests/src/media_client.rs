//! A tus 1.0.0 and download client for the tests, over reqwest, plus a raw
//! socket for the requests reqwest will not send (a PATCH cut off halfway).
//! Every request has a timeout, so a missing answer fails the test.

use crate::WAIT;
use base64::Engine;
use reqwest::{Method, Response, StatusCode};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// An HTTP client for one server (no proxies: the server is on loopback).
#[derive(Debug, Clone)]
pub struct MediaClient {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    addr: String,
}

/// The uploads' wire name for a digest: base64 of the raw bytes.
pub fn sha256_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// Lowercase hex SHA-256, as in `attachment.sha256`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_of(&Sha256::digest(bytes))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `Upload-Metadata` for a file name (and a claimed type the server must ignore).
pub fn metadata(filename: &str, filetype: Option<&str>) -> String {
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let mut value = format!("filename {}", encode(filename));
    if let Some(filetype) = filetype {
        value.push_str(&format!(",filetype {}", encode(filetype)));
    }
    value
}

/// `count` pseudo-random bytes from `seed` (reproducible, incompressible enough).
pub fn random_bytes(count: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    let mut out = Vec::with_capacity(count + 8);
    while out.len() < count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(count);
    out
}

impl MediaClient {
    /// A client for the server at `addr` (`127.0.0.1:PORT`), plain HTTP.
    pub fn new(addr: &str) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(WAIT * 6)
            .use_preconfigured_tls(empty_tls())
            .build()
            .expect("an HTTP client");
        Self { http, base: format!("http://{addr}"), addr: addr.to_owned() }
    }

    /// A request to `path` (or an absolute `Location`) with the tus header and, if given, the token.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) };
        let mut request = self.http.request(method, url).header("Tus-Resumable", "1.0.0");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
    }

    /// A request to `path` without any tus header (plain HTTP, or another tus version).
    pub fn plain(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// Sends a request built by the caller, bounded by the test timeout.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Response {
        tokio::time::timeout(WAIT * 6, request.send()).await.expect("HTTP request timed out").expect("HTTP request failed")
    }

    /// POST /media/uploads; returns the response (201 with `Location` on success).
    pub async fn create(&self, token: &str, length: u64, filename: &str) -> Response {
        let request = self
            .request(Method::POST, "/media/uploads", Some(token))
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", metadata(filename, None));
        self.send(request).await
    }

    /// Creates an upload that must succeed; returns its `Location` path.
    pub async fn create_ok(&self, token: &str, length: u64, filename: &str) -> String {
        let response = self.create(token, length, filename).await;
        assert_eq!(response.status(), StatusCode::CREATED, "create: {}", response.text().await.unwrap_or_default());
        response.headers()["location"].to_str().expect("Location").to_owned()
    }

    /// PATCH `bytes` at `offset`, with a sha256 checksum when asked.
    pub async fn patch(&self, token: &str, location: &str, offset: u64, bytes: Vec<u8>, checksum: bool) -> Response {
        let mut request = self
            .request(Method::PATCH, location, Some(token))
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream");
        if checksum {
            request = request.header("Upload-Checksum", format!("sha256 {}", sha256_base64(&bytes)));
        }
        self.send(request.body(bytes)).await
    }

    /// HEAD: the upload's durable offset (the status must be 200).
    pub async fn offset(&self, token: &str, location: &str) -> u64 {
        let response = self.send(self.request(Method::HEAD, location, Some(token))).await;
        assert_eq!(response.status(), StatusCode::OK, "HEAD {location}");
        header_u64(&response, "upload-offset")
    }

    /// Uploads `bytes` whole in `chunk`-sized PATCHes with checksums; returns the media id.
    pub async fn upload(&self, token: &str, bytes: &[u8], filename: &str, chunk: usize) -> String {
        let location = self.create_ok(token, bytes.len() as u64, filename).await;
        let mut offset = 0;
        while offset < bytes.len() {
            let end = (offset + chunk).min(bytes.len());
            let response = self.patch(token, &location, offset as u64, bytes[offset..end].to_vec(), true).await;
            assert_eq!(response.status(), StatusCode::NO_CONTENT, "PATCH at {offset}");
            offset = header_u64(&response, "upload-offset") as usize;
        }
        media_id(&location)
    }

    /// GET /media/<id> (with extra headers, e.g. Range).
    pub async fn download(&self, token: Option<&str>, media_id: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = self.request(Method::GET, &format!("/media/{media_id}"), token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// Starts a PATCH of `total` bytes on a raw socket, writes only `sent` of
    /// them, and leaves the socket open for the caller to cut (drop) or keep.
    pub async fn patch_partially(&self, token: &str, location: &str, offset: u64, bytes: &[u8], sent: usize) -> tokio::net::TcpStream {
        let mut stream = tokio::time::timeout(WAIT, tokio::net::TcpStream::connect(&self.addr)).await.expect("connect").expect("connect");
        let head = format!(
            "PATCH {location} HTTP/1.1\r\nHost: {}\r\nTus-Resumable: 1.0.0\r\nAuthorization: Bearer {token}\r\n\
             Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            bytes.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write the PATCH head");
        stream.write_all(&bytes[..sent]).await.expect("write part of the body");
        stream.flush().await.expect("flush");
        stream
    }
}

/// The media id at the end of an upload's `Location`.
pub fn media_id(location: &str) -> String {
    location.rsplit('/').next().expect("an id in the Location").to_owned()
}

/// A numeric response header.
pub fn header_u64(response: &Response, name: &str) -> u64 {
    response.headers().get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no numeric {name} header"))
}

/// Waits until `check` holds, polling; fails the test after `WAIT`.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// rustls with no trusted roots: these tests speak plain HTTP, and reqwest
/// (built without a default crypto provider) needs a configuration anyway.
fn empty_tls() -> rustls::ClientConfig {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}
