//! tus PATCH: bytes streamed to the upload's part file at `Upload-Offset`
//! (written and hashed by a [`PartWriter`] off the connection's task),
//! never held whole in memory, fsync'd before the answer (and before the
//! store records the new offset).
//!
//! A PATCH that would pass `Upload-Length` is refused (413) and nothing of
//! it is kept; with `Upload-Checksum` a mismatch is 460 and nothing is kept
//! either. A PATCH cut short (the client vanished, went silent, another
//! request took the upload over, the server is stopping) keeps what it
//! received, durably, unless it carried a checksum that can no longer be
//! verified.

use super::part_writer::{PartWriter, Written};
use super::tus::{busy, number};
use super::{Media, MediaError, sync_dir};
use crate::http::HttpError;
use crate::http::reply::{self, Body};
use base64::Engine;
use heartlink_protocol::{ErrorCode, MediaId, User};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A PATCH whose body sends nothing for this long is ended (keeping what came).
const IDLE: Duration = Duration::from_secs(30);
/// tus checksum extension: the status of a mismatch.
const CHECKSUM_MISMATCH: u16 = 460;

/// How the body ended.
enum Ending {
    /// All of it arrived.
    Whole,
    /// More bytes than the upload has room for.
    TooLong,
    /// Cut short; why.
    Short(String),
    /// The writer stopped (its error comes with the file).
    WriteFailed,
}

/// `Upload-Checksum: <algorithm> <base64 digest>`.
fn checksum(headers: &HeaderMap) -> Result<Option<(&'static ring::digest::Algorithm, Vec<u8>)>, HttpError> {
    let Some(raw) = headers.get("upload-checksum") else { return Ok(None) };
    let text = raw.to_str().unwrap_or("");
    let (name, digest) = text.split_once(' ').ok_or_else(|| HttpError::bad_request("Upload-Checksum: <algorithm> <base64>"))?;
    let algorithm = match name {
        "sha1" => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        "sha256" => &ring::digest::SHA256,
        _ => return Err(HttpError::bad_request("unsupported checksum algorithm; use sha1 or sha256")),
    };
    let digest = base64::engine::general_purpose::STANDARD
        .decode(digest.trim())
        .map_err(|_| HttpError::bad_request("Upload-Checksum: the digest is not base64"))?;
    Ok(Some((algorithm, digest)))
}

/// PATCH `/media/uploads/<id>`.
pub(super) async fn patch(
    request: Request<Incoming>,
    id: MediaId,
    user: &User,
    media: &Media,
    shutdown: &CancellationToken,
) -> Result<Response<Body>, HttpError> {
    let headers = request.headers();
    if headers.get(header::CONTENT_TYPE).is_none_or(|value| value.as_bytes() != b"application/offset+octet-stream") {
        let message = "a PATCH carries Content-Type: application/offset+octet-stream";
        return Err(HttpError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, ErrorCode::BadRequest, message));
    }
    let offset = number(headers, "upload-offset")?.ok_or_else(|| HttpError::bad_request("Upload-Offset is required"))?;
    let declared = number(headers, header::CONTENT_LENGTH.as_str())?;
    let checksum = checksum(headers)?;
    let _transfer = media.inner.transfers.start(user.id).ok_or_else(|| {
        HttpError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, "too many transfers running at once")
    })?;
    let held = media.inner.upload_locks.acquire(id).await.ok_or_else(busy)?;
    let record = media.owned_upload(id, user).await?;
    if offset != record.offset {
        let message = format!("Upload-Offset {offset} does not match the upload's offset {}", record.offset);
        return Err(HttpError::new(StatusCode::CONFLICT, ErrorCode::BadRequest, message));
    }
    let room = record.length - record.offset;
    if declared.is_some_and(|declared| declared > room) {
        let message = format!("this PATCH would pass Upload-Length ({room} bytes left); nothing was kept");
        return Err(HttpError::too_large(message));
    }
    if room == 0 {
        return Ok(offset_reply(record.offset));
    }
    let part = media.part_path(id);
    let file = media.blocking(move |media| open_part(&media.part_path(id), offset)).await.map_err(|err| HttpError::internal(&err))?;
    let digest = checksum.as_ref().map(|(algorithm, _)| ring::digest::Context::new(algorithm));
    // The whole file's hash so far, continued with this PATCH's bytes; put
    // back as it was if they are refused.
    let whole = media.inner.hashes.take(id, offset);
    let before = whole.clone();
    let refused = |media: &Media| {
        if let Some(context) = before.clone() {
            media.inner.hashes.put(id, offset, context);
        }
    };
    let writer = PartWriter::start(file, part, whole, digest);
    let mut received = 0u64;
    let mut body = request.into_body();
    let ending = loop {
        let next = tokio::select! {
            biased;
            () = held.stop.cancelled() => break Ending::Short("another request took the upload over".to_owned()),
            () = shutdown.cancelled() => break Ending::Short("the server is shutting down".to_owned()),
            next = tokio::time::timeout(IDLE, body.frame()) => next,
        };
        let data = match next {
            Err(_) => break Ending::Short(format!("no bytes for {IDLE:?}")),
            Ok(None) => break Ending::Whole,
            Ok(Some(Err(err))) => break Ending::Short(format!("the connection failed: {err}")),
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
        };
        if received + data.len() as u64 > room {
            break Ending::TooLong;
        }
        let size = data.len() as u64;
        if !writer.write(data).await {
            break Ending::WriteFailed;
        }
        received += size;
        crate::metrics::media_uploaded(size);
    };
    let written = match writer.finish().await {
        Ok(written) => written,
        Err(err) => {
            // The next PATCH cuts the part file back to the recorded offset.
            refused(media);
            return Err(HttpError::internal(&err));
        }
    };
    match ending {
        Ending::WriteFailed => {
            refused(media);
            Err(HttpError::internal(&MediaError::io(&media.part_path(id), std::io::Error::other("the part file's writer stopped"))))
        }
        Ending::TooLong => {
            discard(media, id, written.file, offset).await;
            refused(media);
            Err(HttpError::too_large(format!("this PATCH passed Upload-Length ({room} bytes left); nothing was kept")))
        }
        Ending::Whole => {
            if let Some(((_, expected), digest)) = checksum.as_ref().zip(written.digest) {
                if digest.finish().as_ref() != expected.as_slice() {
                    discard(media, id, written.file, offset).await;
                    refused(media);
                    let status = StatusCode::from_u16(CHECKSUM_MISMATCH).unwrap_or(StatusCode::BAD_REQUEST);
                    return Err(HttpError::new(status, ErrorCode::BadRequest, "checksum mismatch; nothing of this PATCH was kept"));
                }
            }
            let offset = media.commit(written.file, id, offset + written.bytes, written.whole).await.map_err(|err| HttpError::internal(&err))?;
            Ok(offset_reply(offset))
        }
        Ending::Short(why) if checksum.is_some() => {
            discard(media, id, written.file, offset).await;
            refused(media);
            tracing::info!(media = %id, %why, "PATCH cut short; its checksum cannot be verified, so nothing is kept");
            Err(HttpError::bad_request(format!("the PATCH was cut short ({why}); nothing of it was kept")))
        }
        Ending::Short(why) => {
            let Written { file, bytes, whole, .. } = written;
            let offset = media.commit(file, id, offset + bytes, whole).await.map_err(|err| HttpError::internal(&err))?;
            tracing::info!(media = %id, offset, %why, "PATCH cut short; what arrived is kept");
            Ok(offset_reply(offset))
        }
    }
}

fn offset_reply(offset: u64) -> Response<Body> {
    let mut response = reply::status(StatusCode::NO_CONTENT);
    if let Ok(value) = HeaderValue::from_str(&offset.to_string()) {
        response.headers_mut().insert("upload-offset", value);
    }
    response
}

/// Opens the part file for writing at `offset` (blocking): bytes past it
/// (a PATCH a crash cut off) are cut away. A new file's directory entry is
/// made durable before any offset can refer to it.
fn open_part(path: &std::path::Path, offset: u64) -> Result<std::fs::File, MediaError> {
    let existed = path.exists();
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(path).map_err(|err| MediaError::io(path, err))?;
    let length = file.metadata().map_err(|err| MediaError::io(path, err))?.len();
    if length < offset {
        let detail = format!("holds {length} bytes but {offset} were recorded");
        return Err(MediaError::io(path, std::io::Error::new(std::io::ErrorKind::InvalidData, detail)));
    }
    file.set_len(offset).map_err(|err| MediaError::io(path, err))?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset)).map_err(|err| MediaError::io(path, err))?;
    if !existed {
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
    }
    Ok(file)
}

/// Drops what this PATCH wrote: the file goes back to `offset`.
async fn discard(media: &Media, id: MediaId, file: std::fs::File, offset: u64) {
    let cut = media.blocking(move |media| file.set_len(offset).map_err(|err| MediaError::io(&media.part_path(id), err))).await;
    if let Err(err) = cut {
        tracing::warn!(cause = %err, "could not cut a refused PATCH off the part file; the next PATCH will");
    }
}

impl Media {
    /// Makes the bytes durable, then records the new offset (durably); the
    /// last byte completes the upload. Returns the offset recorded. `whole`
    /// is the hash of the file's first `offset` bytes, when known.
    async fn commit(&self, file: std::fs::File, id: MediaId, offset: u64, whole: Option<ring::digest::Context>) -> Result<u64, MediaError> {
        self.blocking(move |media| {
            file.sync_data().map_err(|err| MediaError::io(&media.part_path(id), err))?;
            drop(file);
            media.catalog().set_offset(id, offset)?;
            media.catalog().flush()?;
            let Some(record) = media.catalog().upload(id)? else { return Ok(offset) };
            if record.offset == record.length && record.completed.is_none() {
                media.finalize(&record, whole.map(|context| hex::encode(context.finish())))?;
            } else if let Some(context) = whole {
                media.inner.hashes.put(id, offset, context);
            }
            Ok(offset)
        })
        .await
    }
}
