//! The WebSocket handshake on the HTTP listener: only path `/ws`, browsers
//! only from allowed origins, the RFC 6455 upgrade checks, and the limits of
//! PROTOCOL.md applied from the first frame.
//!
//! hyper parses the request and writes the 101; this module decides whether
//! to upgrade and then rebuilds the socket for tungstenite from the stream
//! hyper hands back, so an idle WebSocket keeps none of hyper's buffers
//! (docs/BENCHMARKS.md, B1).

use crate::config::AllowedOrigins;
use crate::tls::ServerStream;
use bytes::Bytes;
use heartlink_protocol::limits::MAX_FRAME_BYTES;
use http::{HeaderMap, Method, Request, StatusCode, Version, header};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// PROTOCOL.md's close code and reason for a transport error, or `None`
/// when the transport is simply gone (nothing can be sent any more).
pub fn close_for(err: &tokio_tungstenite::tungstenite::Error) -> Option<(u16, &'static str)> {
    use tokio_tungstenite::tungstenite::Error;
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match err {
        // The peer vanished (TCP reset or EOF without a Close frame): it is
        // gone, not misbehaving, and nothing can be sent to it.
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        Error::Capacity(_) => Some((1009, "frame or message over the size limit")),
        Error::Utf8(_) => Some((1007, "text frame is not valid UTF-8")),
        Error::Protocol(_) | Error::AttackAttempt => Some((1002, "WebSocket protocol error")),
        _ => None,
    }
}

/// A server-side WebSocket over plain TCP or TLS.
pub type Ws = WebSocketStream<WsStream>;

/// The explicit socket configuration. The read buffer is small because
/// tungstenite allocates it eagerly: the 128 KiB default costs ~137 KiB per
/// idle connection, 4 KiB cost ~3.5 KiB more per connection (B1) than 512
/// bytes, while requests are small. Larger frames (up to the 64 KiB limit)
/// still arrive whole; the buffer grows for them. Writes are buffered up to
/// 8 KiB so a burst of events goes out in few syscalls; the session flushes
/// after each burst.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(512)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .max_message_size(Some(MAX_FRAME_BYTES))
}

/// Why a request to `/ws` is not upgraded: the HTTP status and a one-line reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub reason: &'static str,
}

impl Refusal {
    fn new(status: StatusCode, reason: &'static str) -> Self {
        Self { status, reason }
    }
}

/// Checks an upgrade request for `/ws` (the path is the router's business)
/// and returns the `Sec-WebSocket-Accept` value. A browser (it sends
/// `Origin`) from an origin that is not allowed gets 403; terminal clients
/// send no `Origin` and are not affected. The rest is RFC 6455 §4.2.1.
pub fn check_upgrade<B>(request: &Request<B>, origins: &AllowedOrigins) -> Result<String, Refusal> {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origins.allows(origin) {
            tracing::info!(origin, "browser origin refused; allow it with --allowed-origin");
            return Err(Refusal::new(StatusCode::FORBIDDEN, "this origin is not allowed on this server"));
        }
    }
    if request.method() != Method::GET {
        return Err(Refusal::new(StatusCode::METHOD_NOT_ALLOWED, "the WebSocket handshake is a GET"));
    }
    if request.version() < Version::HTTP_11 {
        return Err(Refusal::new(StatusCode::HTTP_VERSION_NOT_SUPPORTED, "the WebSocket handshake needs HTTP/1.1"));
    }
    if !has_token(headers, header::CONNECTION, "upgrade") || !has_token(headers, header::UPGRADE, "websocket") {
        return Err(Refusal::new(StatusCode::UPGRADE_REQUIRED, "heartlink speaks WebSocket at /ws: send an upgrade request"));
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|version| version.as_bytes() != b"13") {
        return Err(Refusal::new(StatusCode::UPGRADE_REQUIRED, "unsupported WebSocket version; this server speaks 13"));
    }
    match headers.get(header::SEC_WEBSOCKET_KEY) {
        Some(key) if !key.is_empty() => Ok(derive_accept_key(key.as_bytes())),
        _ => Err(Refusal::new(StatusCode::BAD_REQUEST, "Sec-WebSocket-Key is missing")),
    }
}

/// Whether a comma-separated header (any of its lines) holds `token`, case-insensitively.
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|part| part.trim().eq_ignore_ascii_case(token))
}

/// Makes the WebSocket from the stream hyper handed back after the 101 and
/// the bytes it had read past the request (a client may pipeline its first
/// frame). Those bytes are copied out, so hyper's read buffer is freed.
pub async fn websocket(stream: ServerStream, read_ahead: Bytes) -> Ws {
    let leftover = if read_ahead.is_empty() { Bytes::new() } else { Bytes::copy_from_slice(&read_ahead) };
    drop(read_ahead);
    WebSocketStream::from_raw_socket(WsStream { leftover, inner: stream }, Role::Server, Some(websocket_config())).await
}

/// The upgraded connection: bytes hyper read ahead, then the socket.
#[derive(Debug)]
pub struct WsStream {
    leftover: Bytes,
    inner: ServerStream,
}

impl AsyncRead for WsStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if !this.leftover.is_empty() {
            let take = this.leftover.len().min(buf.remaining());
            buf.put_slice(&this.leftover.split_to(take));
            if this.leftover.is_empty() {
                this.leftover = Bytes::new();
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for WsStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade(headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::get("/ws");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    const GOOD: &[(&str, &str)] = &[
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn a_proper_upgrade_gets_the_rfc_accept_key() {
        // RFC 6455 §1.3's example key and answer.
        assert_eq!(check_upgrade(&upgrade(GOOD), &AllowedOrigins::None).unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn refusals_name_their_status() {
        let status = |headers: &[(&str, &str)], origins: &AllowedOrigins| check_upgrade(&upgrade(headers), origins).unwrap_err().status;
        let mut browser = GOOD.to_vec();
        browser.push(("origin", "https://evil.example"));
        assert_eq!(status(&browser, &AllowedOrigins::None), StatusCode::FORBIDDEN);
        assert!(check_upgrade(&upgrade(&browser), &AllowedOrigins::Any).is_ok());
        assert_eq!(status(&GOOD[1..], &AllowedOrigins::None), StatusCode::UPGRADE_REQUIRED);
        let old = [GOOD[0], GOOD[1], ("sec-websocket-version", "8"), GOOD[3]];
        assert_eq!(status(&old, &AllowedOrigins::None), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(status(&GOOD[..3], &AllowedOrigins::None), StatusCode::BAD_REQUEST);
        let post = Request::post("/ws").header("connection", "upgrade").body(()).unwrap();
        assert_eq!(check_upgrade(&post, &AllowedOrigins::None).unwrap_err().status, StatusCode::METHOD_NOT_ALLOWED);
    }
}
