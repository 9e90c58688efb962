//! `GET`/`HEAD /media/<id>`: the bytes, streamed from the blob file, with
//! single `Range`s (206), to the uploader and the current members of a
//! room where a message carries the media; 404 to everyone else, exactly
//! as for a media that does not exist.

use super::catalog::UploadRecord;
use super::names;
use crate::http::HttpError;
use crate::http::reply::{self, Body};
use crate::shared::Shared;
use futures_util::StreamExt;
use heartlink_protocol::{ErrorCode, MediaId, User};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Bytes read from the file per body frame: memory per download stays at
/// about this, whatever the file's size.
const CHUNK: usize = 64 * 1024;

/// Which bytes to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Whole,
    /// Inclusive byte positions.
    Part { first: u64, last: u64 },
    Unsatisfiable,
}

/// Reads a `Range` header for a file of `size` bytes. Anything but one
/// well-formed byte range (several ranges, another unit, bad syntax) is
/// ignored, as RFC 9110 allows: the whole file is sent.
fn span(headers: &HeaderMap, size: u64, etag: &str) -> Span {
    let Some(range) = headers.get(header::RANGE).and_then(|value| value.to_str().ok()) else { return Span::Whole };
    if let Some(condition) = headers.get(header::IF_RANGE) {
        if condition.as_bytes() != etag.as_bytes() {
            return Span::Whole;
        }
    }
    let Some(spec) = range.trim().strip_prefix("bytes=") else { return Span::Whole };
    if spec.contains(',') {
        return Span::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else { return Span::Whole };
    let parse = |text: &str| if text.bytes().all(|b| b.is_ascii_digit()) { text.parse::<u64>().ok() } else { None };
    match (start.trim(), end.trim()) {
        ("", "") => Span::Whole,
        ("", suffix) => match parse(suffix) {
            Some(0) => Span::Unsatisfiable,
            Some(suffix) => Span::Part { first: size.saturating_sub(suffix), last: size - 1 },
            None => Span::Whole,
        },
        (first, last) => match (parse(first), if last.is_empty() { Some(u64::MAX) } else { parse(last) }) {
            (Some(first), Some(_)) if first >= size => Span::Unsatisfiable,
            (Some(first), Some(last)) if last >= first => Span::Part { first, last: last.min(size - 1) },
            _ => Span::Whole,
        },
    }
}

/// Answers a download.
pub(super) async fn download(request: &Request<Incoming>, id: MediaId, user: &User, shared: &Arc<Shared>) -> Result<Response<Body>, HttpError> {
    let user_id = user.id;
    let found = shared
        .media
        .blocking(move |media| {
            let Some(record) = media.catalog().upload(id)? else { return Ok(None) };
            let rooms = if record.owner == user_id { Vec::new() } else { media.catalog().media_rooms(id)? };
            Ok(Some((record, rooms)))
        })
        .await
        .map_err(|err| HttpError::internal(&err))?;
    let (record, rooms) = found.ok_or_else(HttpError::not_found)?;
    // The uploader, or a current member of a room where a message carries it.
    let mut allowed = record.owner == user_id;
    for room in rooms {
        if allowed {
            break;
        }
        allowed = shared.store.is_member(room, user_id).await.map_err(|err| HttpError::internal(&crate::report::Chain(&err)))?;
    }
    if !allowed {
        return Err(HttpError::not_found());
    }
    let Some(completed) = record.completed.clone() else {
        return Err(HttpError::new(StatusCode::CONFLICT, ErrorCode::NotReady, "this upload is not complete yet"));
    };
    let transfer = shared.media.inner.transfers.start(user.id).ok_or_else(|| {
        HttpError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, "too many transfers running at once")
    })?;
    let path = shared.media.blob_path(&completed.sha256);
    let mut file = tokio::fs::File::open(&path).await.map_err(|err| HttpError::internal(&super::MediaError::io(&path, err)))?;
    let size = record.length;
    let etag = format!("\"{}\"", completed.sha256);
    let (status, first, length) = match span(request.headers(), size, &etag) {
        Span::Whole => (StatusCode::OK, 0, size),
        Span::Part { first, last } => (StatusCode::PARTIAL_CONTENT, first, last - first + 1),
        Span::Unsatisfiable => {
            let mut refusal = HttpError::new(StatusCode::RANGE_NOT_SATISFIABLE, ErrorCode::BadRequest, "the range is outside the file").into_response();
            insert(refusal.headers_mut(), header::CONTENT_RANGE, format!("bytes */{size}"));
            return Ok(refusal);
        }
    };
    let body = if request.method() == Method::HEAD {
        reply::empty()
    } else {
        file.seek(std::io::SeekFrom::Start(first)).await.map_err(|err| HttpError::internal(&super::MediaError::io(&path, err)))?;
        let stream = tokio_util::io::ReaderStream::with_capacity(file.take(length), CHUNK).map(move |chunk| {
            // The guard lives as long as the body: the transfer counts until the last byte.
            let _counted = &transfer;
            chunk.map(|bytes| {
                crate::metrics::media_downloaded(bytes.len() as u64);
                Frame::data(bytes)
            })
        });
        StreamBody::new(stream).boxed_unsync()
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    headers(response.headers_mut(), &record, &completed.mime, &etag, length);
    if status == StatusCode::PARTIAL_CONTENT {
        insert(response.headers_mut(), header::CONTENT_RANGE, format!("bytes {first}-{}/{size}", first + length - 1));
    }
    Ok(response)
}

fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(name, value);
    }
}

/// PROTOCOL.md's download headers: the sniffed type, a safe disposition,
/// no sniffing by the browser, and a sandbox should it render anyway.
fn headers(headers: &mut HeaderMap, record: &UploadRecord, mime: &str, etag: &str, length: u64) {
    insert(headers, header::CONTENT_TYPE, mime.to_owned());
    insert(headers, header::CONTENT_LENGTH, length.to_string());
    insert(headers, header::CONTENT_DISPOSITION, names::content_disposition(&record.name));
    insert(headers, header::ETAG, etag.to_owned());
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str) -> Span {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        span(&headers, 100, "\"e\"")
    }

    #[test]
    fn single_ranges_are_served_and_everything_else_is_the_whole_file() {
        assert_eq!(range("bytes=0-9"), Span::Part { first: 0, last: 9 });
        assert_eq!(range("bytes=90-"), Span::Part { first: 90, last: 99 });
        assert_eq!(range("bytes=-10"), Span::Part { first: 90, last: 99 });
        assert_eq!(range("bytes=-1000"), Span::Part { first: 0, last: 99 });
        assert_eq!(range("bytes=50-5000"), Span::Part { first: 50, last: 99 });
        assert_eq!(range("bytes=100-"), Span::Unsatisfiable);
        assert_eq!(range("bytes=-0"), Span::Unsatisfiable);
        assert_eq!(range("bytes=0-1,5-6"), Span::Whole);
        assert_eq!(range("bytes=9-1"), Span::Whole);
        assert_eq!(range("items=0-1"), Span::Whole);
        assert_eq!(range("bytes=x-1"), Span::Whole);
        let mut stale = HeaderMap::new();
        stale.insert(header::RANGE, HeaderValue::from_static("bytes=0-1"));
        stale.insert(header::IF_RANGE, HeaderValue::from_static("\"other\""));
        assert_eq!(span(&stale, 100, "\"e\""), Span::Whole);
    }
}
