//! The WebSocket handshake: only path `/ws`, with the limits of PROTOCOL.md
//! applied from the first byte.

use heartlink_protocol::limits::MAX_FRAME_BYTES;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// A server-side WebSocket over plain TCP.
pub type Ws = WebSocketStream<TcpStream>;

/// The explicit socket configuration. The read buffer is small because
/// tungstenite allocates it eagerly: the 128 KiB default costs ~137 KiB per
/// idle connection, while chat frames are small. Writes are buffered up to
/// 8 KiB so a burst of events goes out in few syscalls; the session flushes
/// after each burst.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .max_message_size(Some(MAX_FRAME_BYTES))
}

/// Runs the server handshake; a path other than `/ws` gets HTTP 404.
// The callback's large `Err` type is tungstenite's `ErrorResponse`, not ours to shrink.
#[allow(clippy::result_large_err)]
pub async fn accept(stream: TcpStream) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let check_path = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        if request.uri().path() == "/ws" {
            Ok(response)
        } else {
            let mut refusal = ErrorResponse::new(Some("heartlink speaks WebSocket at /ws\n".to_owned()));
            *refusal.status_mut() = StatusCode::NOT_FOUND;
            Err(refusal)
        }
    };
    tokio_tungstenite::accept_hdr_async_with_config(stream, check_path, Some(websocket_config())).await
}
