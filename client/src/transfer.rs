//! Attachments over HTTP, for the scripts and the chat screen alike: a tus
//! 1.0.0 upload (resuming from the server's offset after a failed PATCH)
//! and a download to a file, both over reqwest on the same rustls trust as
//! `wss://`. Files are read and written a chunk at a time, never held whole
//! in memory; both report their progress to a callback.

mod names;

pub use names::{disposition_name, free_name, local_name};

use crate::error::ClientError;
use crate::sanitize::sanitize_line;
use base64::Engine;
use heartlink_protocol::MediaId;
use reqwest::{Method, Response, StatusCode};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::time::Duration;

/// Bytes per PATCH: small enough that a cut costs little (and the chat
/// screen's progress bar moves), large enough to be fast.
const CHUNK: usize = 1024 * 1024;
/// The longest wait between two tries of a failed request.
const MOST_BACKOFF: Duration = Duration::from_secs(10);

/// How an upload or download reports progress and how long it keeps trying.
pub struct Options<'a> {
    /// Called with (bytes done, bytes in all) after every chunk.
    pub progress: &'a (dyn Fn(u64, u64) + Send + Sync),
    /// Failed requests retried in a row before giving up; `None`: until the
    /// caller drops the future (the chat screen, which cancels on quit).
    pub retries: Option<u32>,
    /// Cuts a backoff wait short (the chat screen fires it after reconnecting).
    pub wake: Option<&'a tokio::sync::Notify>,
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options").field("retries", &self.retries).finish_non_exhaustive()
    }
}

impl Options<'static> {
    /// Scripts: five retries in a row, no progress shown.
    pub fn script() -> Self {
        Self { progress: &|_, _| {}, retries: Some(5), wake: None }
    }
}

impl Options<'_> {
    /// After the `failures`-th failure in a row: waits (shorter when woken),
    /// or says why it gives up.
    async fn back_off(&self, failures: u32, what: impl FnOnce() -> String) -> Result<(), ClientError> {
        if self.retries.is_some_and(|retries| failures > retries) {
            return Err(ClientError::Unreachable(what()));
        }
        let delay = (Duration::from_millis(500) * failures).min(MOST_BACKOFF);
        match self.wake {
            Some(wake) => {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = wake.notified() => {}
                }
            }
            None => tokio::time::sleep(delay).await,
        }
        Ok(())
    }
}

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

/// Uploads `path` under the file name `name`; returns the media id once
/// every byte is on the server.
pub async fn upload(http: &reqwest::Client, base: &str, token: &str, path: &Path, name: &str, options: &Options<'_>) -> Result<MediaId, ClientError> {
    let file_error = |source| ClientError::File { action: "reading", path: path.to_path_buf(), source };
    let mut file = tokio::fs::File::open(path).await.map_err(file_error)?;
    let length = file.metadata().await.map_err(file_error)?.len();
    let metadata = format!("filename {}", base64::engine::general_purpose::STANDARD.encode(name.as_bytes()));
    let create = http
        .post(format!("{base}/media/uploads"))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", metadata);
    let mut failures = 0;
    let created = loop {
        match create.try_clone().map(reqwest::RequestBuilder::send) {
            Some(sending) => match sending.await {
                Ok(response) => break response,
                Err(err) => {
                    tracing::info!(cause = %err, "creating the upload failed; trying again");
                    failures += 1;
                    options.back_off(failures, || sanitize_line(&err.to_string())).await?;
                }
            },
            None => return Err(ClientError::Refused("the upload request could not be built".to_owned())),
        }
    };
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
    (options.progress)(0, length);
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
                (options.progress)(offset, length);
                continue;
            }
            Ok(response) if response.status().is_client_error() && !retryable(response.status()) => {
                return Err(refusal(response, "the server refused a part of the upload").await);
            }
            Ok(response) => tracing::info!(status = response.status().as_u16(), "PATCH failed; resuming"),
            Err(err) => tracing::info!(cause = %err, "PATCH failed; resuming"),
        }
        failures += 1;
        options.back_off(failures, || format!("the upload stopped at {offset} of {length} bytes after {failures} tries")).await?;
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
pub async fn download(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: MediaId,
    target: Option<&Path>,
    options: &Options<'_>,
) -> Result<(PathBuf, u64), ClientError> {
    let mut failures = 0;
    let response = loop {
        match http.get(format!("{base}/media/{id}")).bearer_auth(token).send().await {
            Ok(response) => break response,
            Err(err) => {
                failures += 1;
                options.back_off(failures, || sanitize_line(&err.to_string())).await?;
            }
        }
    };
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
    let length = response.content_length().unwrap_or(0);
    let mut response = response;
    (options.progress)(0, length);
    while let Some(bytes) = response.chunk().await.map_err(|err| unreachable(&err))? {
        out.write_all(&bytes).await.map_err(file_error)?;
        written += bytes.len() as u64;
        (options.progress)(written, length.max(written));
    }
    out.sync_all().await.map_err(file_error)?;
    tokio::fs::rename(&partial, &path).await.map_err(|source| ClientError::File { action: "renaming", path: path.clone(), source })?;
    Ok((path, written))
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
}
