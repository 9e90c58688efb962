//! The WebSocket handshake: only path `/ws`, browsers only from allowed
//! origins, and the limits of PROTOCOL.md applied from the first byte.

use crate::config::AllowedOrigins;
use crate::tls::ServerStream;
use heartlink_protocol::limits::MAX_FRAME_BYTES;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

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
pub type Ws = WebSocketStream<ServerStream>;

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

/// Runs the server handshake. A path other than `/ws` gets HTTP 404; a
/// browser (it sends `Origin`) from an origin that is not allowed gets 403.
/// Terminal clients send no `Origin` and are not affected.
// The callback's large `Err` type is tungstenite's `ErrorResponse`, not ours to shrink.
#[allow(clippy::result_large_err)]
pub async fn accept(stream: ServerStream, origins: &AllowedOrigins) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let check = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        if request.uri().path() != "/ws" {
            return Err(refusal(StatusCode::NOT_FOUND, "heartlink speaks WebSocket at /ws\n"));
        }
        if let Some(origin) = request.headers().get("origin") {
            let origin = origin.to_str().unwrap_or("");
            if !origins.allows(origin) {
                tracing::info!(origin, "browser origin refused; allow it with --allowed-origin");
                return Err(refusal(StatusCode::FORBIDDEN, "this origin is not allowed on this server\n"));
            }
        }
        Ok(response)
    };
    tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(websocket_config())).await
}

fn refusal(status: StatusCode, body: &str) -> ErrorResponse {
    let mut refusal = ErrorResponse::new(Some(body.to_owned()));
    *refusal.status_mut() = status;
    refusal
}
