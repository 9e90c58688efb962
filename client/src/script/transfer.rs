//! Attachments from scripts: a tus 1.0.0 upload (resuming from the
//! server's offset after a failed PATCH) and a download to a file, both
//! over reqwest on the same rustls trust as `wss://`. Files are read and
//! written a chunk at a time, never held whole in memory.

use crate::error::ClientError;
use crate::sanitize::sanitize_line;
use base64::Engine;
use heartlink_protocol::MediaId;
use reqwest::{Method, Response, StatusCode};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::time::Duration;

/// Bytes per PATCH: small enough that a cut costs little, large enough to be fast.
const CHUNK: usize = 4 * 1024 * 1024;
/// Failed PATCHes retried (each after asking the server where to resume).
const RETRIES: u32 = 5;

/// The HTTP side of a session's server: `ws://h:p/ws` → `http://h:p`.
pub fn http_base(server: &str) -> Result<String, ClientError> {
    let (scheme, rest) = if let Some(rest) = server.strip_prefix("wss://") {
        ("https", rest)
    } else if let Some(rest) = server.strip_prefix("ws://") {
        ("http", rest)
    } else {
        return Err(ClientError::Refused(format!("cannot derive an HTTP address from {}", sanitize_line(server))));
    };
    let host = rest.split('/').next().unwrap_or(rest);
    Ok(format!("{scheme}://{host}"))
}

/// An HTTP client on the process's TLS trust (`--ca-file` included).
pub fn client() -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .use_preconfigured_tls((*crate::tls::client_config()).clone())
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .build()
        .map_err(|err| ClientError::Unreachable(format!("cannot make an HTTP client: {err}")))
}

fn unreachable(err: &reqwest::Error) -> ClientError {
    ClientError::Unreachable(sanitize_line(&err.to_string()))
}

/// The server's refusal in one line: its JSON `message`, sanitized.
async fn refusal(response: Response, what: &str) -> ClientError {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let message = body["message"].as_str().map(sanitize_line).unwrap_or_else(|| "no reason given".to_owned());
    ClientError::Refused(format!("{what}: {message} (HTTP {})", status.as_u16()))
}

fn numeric(response: &Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

/// Uploads `path`; returns the media id once every byte is on the server.
pub async fn upload(http: &reqwest::Client, base: &str, token: &str, path: &Path) -> Result<MediaId, ClientError> {
    let file_error = |source| ClientError::File { action: "reading", path: path.to_path_buf(), source };
    let mut file = tokio::fs::File::open(path).await.map_err(file_error)?;
    let length = file.metadata().await.map_err(file_error)?.len();
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let metadata = format!("filename {}", base64::engine::general_purpose::STANDARD.encode(name.as_bytes()));
    let create = http
        .post(format!("{base}/media/uploads"))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", metadata);
    let created = create.send().await.map_err(|err| unreachable(&err))?;
    if created.status() != StatusCode::CREATED {
        return Err(refusal(created, "the server refused the upload").await);
    }
    let location = created.headers().get("location").and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    let id: MediaId = location.rsplit('/').next().and_then(|id| id.parse().ok()).ok_or_else(|| {
        ClientError::Refused(format!("the server answered an unusable upload location {}", sanitize_line(&location)))
    })?;
    let url = if location.starts_with("http") { location } else { format!("{base}{location}") };
    let mut offset = 0u64;
    let mut failures = 0;
    let mut chunk = Vec::with_capacity(CHUNK);
    while offset < length {
        file.seek(std::io::SeekFrom::Start(offset)).await.map_err(file_error)?;
        chunk.clear();
        (&mut file).take(CHUNK as u64).read_to_end(&mut chunk).await.map_err(file_error)?;
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&chunk));
        let patch = http
            .request(Method::PATCH, &url)
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Checksum", format!("sha256 {digest}"))
            .body(chunk.clone());
        match patch.send().await {
            Ok(response) if response.status() == StatusCode::NO_CONTENT => {
                offset = numeric(&response, "upload-offset").unwrap_or(offset + chunk.len() as u64);
                failures = 0;
                tracing::debug!(offset, length, "upload progress");
                continue;
            }
            Ok(response) if response.status().is_client_error() && !retryable(response.status()) => {
                return Err(refusal(response, "the server refused a part of the upload").await);
            }
            Ok(response) => tracing::info!(status = response.status().as_u16(), "PATCH failed; resuming"),
            Err(err) => tracing::info!(cause = %err, "PATCH failed; resuming"),
        }
        failures += 1;
        if failures > RETRIES {
            return Err(ClientError::Unreachable(format!("the upload stopped at {offset} of {length} bytes after {RETRIES} retries")));
        }
        tokio::time::sleep(Duration::from_millis(500 * u64::from(failures))).await;
        offset = resume_offset(http, &url, token).await.unwrap_or(offset);
    }
    Ok(id)
}

/// 409 (offset moved), 423 (busy), 429, 460 (a corrupted chunk) are worth another try.
fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 409 | 423 | 429 | 460)
}

/// HEAD: where the server says the upload stands.
async fn resume_offset(http: &reqwest::Client, url: &str, token: &str) -> Option<u64> {
    let response = http.head(url).bearer_auth(token).header("Tus-Resumable", "1.0.0").send().await.ok()?;
    numeric(&response, "upload-offset")
}

/// Downloads a media into `target` (a file, or a directory to put the
/// server's name in; default: the current directory). Never overwrites:
/// `name.ext` becomes `name-1.ext`. Returns the path and byte count.
pub async fn download(http: &reqwest::Client, base: &str, token: &str, id: MediaId, target: Option<&Path>) -> Result<(PathBuf, u64), ClientError> {
    let response = http.get(format!("{base}/media/{id}")).bearer_auth(token).send().await.map_err(|err| unreachable(&err))?;
    match response.status() {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return Err(ClientError::Refused("no such media, or you may not see it".to_owned())),
        _ => return Err(refusal(response, "the download was refused").await),
    }
    let offered = response.headers().get("content-disposition").and_then(|value| value.to_str().ok()).and_then(disposition_name);
    let path = match target {
        Some(path) if !path.is_dir() => path.to_path_buf(),
        Some(dir) => free_name(dir, &local_name(offered.as_deref(), id)),
        None => free_name(Path::new("."), &local_name(offered.as_deref(), id)),
    };
    let partial = path.with_file_name(format!(".{}.part", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
    let file_error = |source| ClientError::File { action: "writing", path: partial.clone(), source };
    let mut out = tokio::fs::File::create(&partial).await.map_err(file_error)?;
    let mut written = 0u64;
    let mut response = response;
    while let Some(bytes) = response.chunk().await.map_err(|err| unreachable(&err))? {
        out.write_all(&bytes).await.map_err(file_error)?;
        written += bytes.len() as u64;
    }
    out.sync_all().await.map_err(file_error)?;
    tokio::fs::rename(&partial, &path).await.map_err(|source| ClientError::File { action: "renaming", path: path.clone(), source })?;
    Ok((path, written))
}

/// The name in `filename*=UTF-8''…` (else `filename="…"`).
fn disposition_name(header: &str) -> Option<String> {
    if let Some(encoded) = header.split("filename*=UTF-8''").nth(1) {
        let encoded = encoded.split(';').next().unwrap_or(encoded).trim();
        let mut bytes = Vec::new();
        let mut rest = encoded.as_bytes();
        while let Some((&first, tail)) = rest.split_first() {
            if first == b'%' && tail.len() >= 2 {
                let hex = std::str::from_utf8(&tail[..2]).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                rest = &tail[2..];
            } else {
                bytes.push(first);
                rest = tail;
            }
        }
        return String::from_utf8(bytes).ok();
    }
    header.split("filename=\"").nth(1)?.split('"').next().map(str::to_owned)
}

/// A name safe to create here: no directories, no control or format
/// characters, never hidden or empty (whatever the server sent).
fn local_name(offered: Option<&str>, id: MediaId) -> String {
    let name = offered.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = name.chars().filter(|c| sanitize_line(&c.to_string()) == c.to_string()).collect();
    let clean = clean.trim().trim_start_matches('.').to_owned();
    if clean.is_empty() { format!("media-{id}") } else { clean }
}

/// `dir/name`, or `dir/name-1.ext`, `-2`, … when taken.
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem, format!(".{extension}")),
        _ => (name, String::new()),
    };
    let mut candidate = dir.join(name);
    let mut n = 1;
    while candidate.exists() {
        candidate = dir.join(format!("{stem}-{n}{extension}"));
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_addresses_follow_the_websocket_url() {
        assert_eq!(http_base("ws://127.0.0.1:7878/ws").unwrap(), "http://127.0.0.1:7878");
        assert_eq!(http_base("wss://chat.example.org/ws").unwrap(), "https://chat.example.org");
        assert!(http_base("ftp://x").is_err());
    }

    #[test]
    fn offered_names_cannot_escape_or_overwrite() {
        let id = MediaId::random();
        let header = "attachment; filename=\"a_b.txt\"; filename*=UTF-8''..%2F..%2Fevil%1B%5B2J%E2%80%AE.txt";
        assert_eq!(local_name(disposition_name(header).as_deref(), id), "evil[2J.txt");
        assert_eq!(local_name(Some(".bashrc"), id), "bashrc");
        assert_eq!(local_name(None, id), format!("media-{id}"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("report.pdf"), b"x").unwrap();
        assert_eq!(free_name(dir.path(), "report.pdf"), dir.path().join("report-1.pdf"));
        assert_eq!(free_name(dir.path(), "new.pdf"), dir.path().join("new.pdf"));
    }
}
