//! tus 1.0.0 discovery (OPTIONS), creation (POST), offset (HEAD) and
//! termination (DELETE). PATCH is `patch.rs`.

use super::catalog::{Admission, Allowance, UploadRecord};
use super::http::{TUS_VERSION, rate_limited};
use super::{Media, MediaError, names};
use crate::clock::now_ms;
use crate::http::HttpError;
use crate::http::reply::{self, Body};
use base64::Engine;
use heartlink_protocol::{ErrorCode, MediaId, User};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;

/// The longest `Upload-Metadata` header accepted.
const MAX_METADATA_BYTES: usize = 4 * 1024;

fn value(text: String) -> HeaderValue {
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// OPTIONS: what this server speaks and accepts.
pub(super) fn options(media: &Media) -> Response<Body> {
    let mut response = reply::status(StatusCode::NO_CONTENT);
    let headers = response.headers_mut();
    headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    headers.insert("tus-extension", HeaderValue::from_static("creation,termination,checksum"));
    headers.insert("tus-max-size", value(media.limits().max_upload_bytes.to_string()));
    headers.insert("tus-checksum-algorithm", HeaderValue::from_static("sha1,sha256"));
    response
}

/// A non-negative decimal header value (tus: `Upload-Length`, `Upload-Offset`).
pub(super) fn number(headers: &HeaderMap, name: &str) -> Result<Option<u64>, HttpError> {
    let Some(raw) = headers.get(name) else { return Ok(None) };
    let text = raw.to_str().unwrap_or("");
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HttpError::bad_request(format!("{name} must be a non-negative integer")));
    }
    text.parse().map(Some).map_err(|_| HttpError::bad_request(format!("{name} is out of range")))
}

/// The `filename` of `Upload-Metadata` (`key base64,key base64,…`).
fn metadata_filename(headers: &HeaderMap) -> Result<Option<String>, HttpError> {
    let Some(raw) = headers.get("upload-metadata") else { return Ok(None) };
    if raw.len() > MAX_METADATA_BYTES {
        return Err(HttpError::bad_request(format!("Upload-Metadata is over {MAX_METADATA_BYTES} bytes")));
    }
    let text = raw.to_str().map_err(|_| HttpError::bad_request("Upload-Metadata must be ASCII"))?;
    let mut filename = None;
    for pair in text.split(',').map(str::trim).filter(|pair| !pair.is_empty()) {
        let (key, encoded) = pair.split_once(' ').unwrap_or((pair, ""));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| HttpError::bad_request(format!("Upload-Metadata: the value of {key} is not base64")))?;
        if key == "filename" {
            let name = String::from_utf8(decoded).map_err(|_| HttpError::bad_request("Upload-Metadata: filename is not UTF-8"))?;
            filename = Some(name);
        }
        // `filetype` and anything else: never trusted, not kept (the bytes are sniffed).
    }
    Ok(filename)
}

/// POST: a new upload of `Upload-Length` bytes.
pub(super) async fn create(request: &Request<Incoming>, user: &User, media: &Media) -> Result<Response<Body>, HttpError> {
    let headers = request.headers();
    if headers.contains_key("upload-defer-length") {
        return Err(HttpError::bad_request("Upload-Defer-Length is not supported: send Upload-Length"));
    }
    let length = number(headers, "upload-length")?.ok_or_else(|| HttpError::bad_request("Upload-Length is required"))?;
    if length == 0 {
        return Err(HttpError::bad_request("Upload-Length is 0: there is nothing to upload"));
    }
    let limits = *media.limits();
    if length > limits.max_upload_bytes {
        let message = format!("{length} bytes is over this server's upload limit of {} bytes", limits.max_upload_bytes);
        return Err(HttpError::too_large(message));
    }
    let name = names::safe_name(metadata_filename(headers)?.as_deref());
    match media.admit(crate::live::Rate::UploadCreations, user.id).await {
        Ok(crate::live::Admission::Allowed) => {}
        Ok(crate::live::Admission::RetryAfter(wait)) => return Err(rate_limited("creating uploads too fast", wait)),
        Err(err) => return Err(HttpError::internal(&crate::report::Chain(&err))),
    }
    let record = UploadRecord { id: MediaId::random(), owner: user.id, length, offset: 0, name, created_at: now_ms(), completed: None, attached: false };
    let allowance = Allowance { quota_bytes: limits.user_quota_bytes, max_pending: limits.max_pending };
    let stored = record.clone();
    let admission = media
        .blocking(move |media| {
            let admission = media.catalog().create_upload(&stored, allowance)?;
            if admission == Admission::Recorded {
                media.catalog().flush()?;
            }
            Ok(admission)
        })
        .await
        .map_err(|err| HttpError::internal(&err))?;
    match admission {
        Admission::Recorded => {}
        Admission::OverQuota(usage) => {
            let message = format!(
                "over your storage quota: {} of {} bytes used, this upload needs {length} more",
                usage.bytes, limits.user_quota_bytes
            );
            return Err(HttpError::too_large(message));
        }
        Admission::TooManyPending(usage) => {
            let message = format!("{} uploads are not attached to a message yet; attach or delete some first", usage.pending);
            return Err(HttpError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, message));
        }
    }
    tracing::info!(media = %record.id, user = %user.username, bytes = length, "upload created");
    let mut response = reply::status(StatusCode::CREATED);
    response.headers_mut().insert(header::LOCATION, value(format!("/media/uploads/{}", record.id)));
    Ok(response)
}

/// HEAD: where to resume. Stops a PATCH still running on the upload first,
/// so the answer is the offset that PATCH really made durable.
pub(super) async fn head(id: MediaId, user: &User, media: &Media) -> Result<Response<Body>, HttpError> {
    let _held = media.inner.upload_locks.acquire(id).await.ok_or_else(busy)?;
    let record = media.owned_upload(id, user).await?;
    let mut response = reply::status(StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert("upload-offset", value(record.offset.to_string()));
    headers.insert("upload-length", value(record.length.to_string()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// DELETE: abandons an upload (or a completed one no message carries).
pub(super) async fn delete(id: MediaId, user: &User, media: &Media) -> Result<Response<Body>, HttpError> {
    let _held = media.inner.upload_locks.acquire(id).await.ok_or_else(busy)?;
    let record = media.owned_upload(id, user).await?;
    if record.attached {
        return Err(HttpError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, "a message carries this media; it cannot be deleted"));
    }
    media.blocking(move |media| media.remove_upload(id)).await.map_err(|err| HttpError::internal(&err))?;
    tracing::info!(media = %id, user = %user.username, "upload deleted");
    Ok(reply::status(StatusCode::NO_CONTENT))
}

/// 423: another request holds the upload and did not let go.
pub(super) fn busy() -> HttpError {
    HttpError::new(StatusCode::LOCKED, ErrorCode::BadRequest, "another request is using this upload; try again")
}

impl Media {
    /// Deletes a media that no message carries any more (the messages that
    /// did were deleted): its upload, and its bytes unless another upload
    /// shares them (blocking).
    pub fn release(&self, id: MediaId) -> Result<(), MediaError> {
        self.remove_upload(id)
    }

    /// Deletes an upload's record, its part file and, when nothing else
    /// refers to them, its bytes (blocking).
    pub(super) fn remove_upload(&self, id: MediaId) -> Result<(), MediaError> {
        let _blobs = self.lock_blobs();
        self.remove_upload_locked(id)
    }

    /// [`Media::remove_upload`] for a caller that holds the blob lock.
    pub(super) fn remove_upload_locked(&self, id: MediaId) -> Result<(), MediaError> {
        self.inner.hashes.forget(id);
        let Some(deleted) = self.catalog().delete_upload(id)? else { return Ok(()) };
        self.catalog().flush()?;
        remove_if_present(&self.part_path(id))?;
        if let Some(sha256) = deleted.unused_blob {
            if !self.catalog().blob_in_use(&sha256)? {
                remove_if_present(&self.blob_path(&sha256))?;
                tracing::info!(sha256 = %sha256, "blob deleted: nothing uses it any more");
            }
        }
        Ok(())
    }
}

/// Removes a file; a missing one is fine.
pub(super) fn remove_if_present(path: &std::path::Path) -> Result<(), MediaError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(MediaError::io(path, err)),
    }
}
