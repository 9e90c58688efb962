//! The socket side of a session: writing with deadlines, reading with the
//! error → close-code mapping of PROTOCOL.md, heartbeats and the close
//! handshake.

use crate::handshake::Ws;
use crate::shared::Shared;
use futures_util::{SinkExt, StreamExt};
use heartlink_protocol::limits::REPLY_BYTES;
use heartlink_protocol::{ErrorCode, RequestRef, ServerMsg, encode_server};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

/// A write that cannot complete in this time means the peer stopped reading.
const WRITE_DEADLINE: Duration = Duration::from_secs(10);
/// How long the close handshake may take before the socket is just dropped.
const CLOSE_DEADLINE: Duration = Duration::from_secs(2);

/// Why a session ends.
#[derive(Debug)]
pub enum End {
    /// The peer closed, vanished or broke the transport; nothing more to send.
    Gone(String),
    /// The server closes with this code and reason.
    Close { code: u16, reason: Cow<'static, str> },
}

impl End {
    /// The server closes with `code` and `reason`.
    pub fn close(code: u16, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Close { code, reason: reason.into() }
    }

    /// PROTOCOL.md's 4008: the outbound queue overflowed or writes stalled.
    pub fn slow_consumer() -> Self {
        Self::close(4008, "slow consumer")
    }
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Gone(why) => write!(f, "peer gone: {why}"),
            Self::Close { code, reason } => write!(f, "closed {code} {reason}"),
        }
    }
}

/// The socket and what a session needs around it.
pub struct Connection {
    pub ws: Ws,
    pub peer: SocketAddr,
    pub shared: Arc<Shared>,
    /// Whether the session makes its user appear online: false after
    /// `resume{presence:false}` (scripts, bots).
    pub presence: bool,
    last_heard: Instant,
}

impl Connection {
    /// Wraps a socket that finished its handshake.
    pub fn new(ws: Ws, peer: SocketAddr, shared: Arc<Shared>) -> Self {
        Self { ws, peer, shared, presence: true, last_heard: Instant::now() }
    }

    /// Sends a direct reply, carrying the request's `ref`.
    ///
    /// Every reply is built within `REPLY_BYTES` (session/pages.rs); one that
    /// is not is a bug, answered with `internal` and logged, rather than
    /// written: a frame larger than the write buffer would drop the
    /// connection without a close frame, again on every retry.
    pub async fn reply(&mut self, msg: &ServerMsg, reference: Option<&RequestRef>) -> Result<(), End> {
        let mut text = encode_server(msg, reference);
        if text.len() > REPLY_BYTES {
            tracing::error!(peer = %self.peer, bytes = text.len(), limit = REPLY_BYTES, "reply over the byte bound not sent");
            let refusal = ServerMsg::error(ErrorCode::Internal, "the reply would be too large; this is a server bug");
            text = encode_server(&refusal, reference);
        }
        self.write_frames(vec![Utf8Bytes::from(text)], &CancellationToken::new()).await
    }

    /// Writes frames and flushes once; gives up when `abort` fires or the
    /// peer does not take the bytes within the write deadline.
    pub async fn write_frames(&mut self, frames: Vec<Utf8Bytes>, abort: &CancellationToken) -> Result<(), End> {
        let write = async {
            for frame in frames {
                self.ws.feed(Message::Text(frame)).await?;
            }
            self.ws.flush().await
        };
        tokio::select! {
            written = tokio::time::timeout(WRITE_DEADLINE, write) => match written {
                Ok(Ok(())) => Ok(()),
                // The frame was refused whole and the socket still works: say why.
                Ok(Err(WsError::WriteBufferFull(_))) => Err(End::close(1011, "reply too large for the connection")),
                Ok(Err(err)) => Err(End::Gone(err.to_string())),
                Err(_) => Err(End::slow_consumer()),
            },
            () = abort.cancelled() => Err(End::slow_consumer()),
        }
    }

    /// Writes out whatever tungstenite has queued (a Pong, say).
    pub async fn flush(&mut self) -> Result<(), End> {
        match tokio::time::timeout(WRITE_DEADLINE, self.ws.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(End::Gone(err.to_string())),
            Err(_) => Err(End::slow_consumer()),
        }
    }

    /// When the peer last sent anything (a frame or a Pong).
    pub fn last_heard(&self) -> Instant {
        self.last_heard
    }

    /// Heartbeat tick: a WebSocket Ping, which a live peer answers.
    pub async fn ping(&mut self) -> Result<(), End> {
        let ping = self.ws.send(Message::Ping(Vec::new().into()));
        match tokio::time::timeout(WRITE_DEADLINE, ping).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(End::Gone(err.to_string())),
            Err(_) => Err(End::slow_consumer()),
        }
    }

    /// Interprets what the socket produced: a message to handle, or the end.
    /// Any frame (a Pong included) proves the peer alive.
    pub fn received(&mut self, incoming: Option<Result<Message, WsError>>) -> Result<Message, End> {
        match incoming {
            Some(Ok(Message::Close(_))) => Err(End::Gone("closed by peer".to_owned())),
            Some(Ok(message)) => {
                self.last_heard = Instant::now();
                Ok(message)
            }
            Some(Err(err)) => Err(error_end(err)),
            None => Err(End::Gone("connection ended".to_owned())),
        }
    }

    /// Ends the connection: the close handshake when the server closes, or
    /// completing the peer's close; the socket is dropped either way.
    ///
    /// A slow consumer's Close frame waits behind everything already in its
    /// socket, so the server gives it two heartbeat intervals to drain before
    /// dropping the connection: a client that was only stalled still learns
    /// why (4008) instead of seeing a reset.
    pub async fn finish(&mut self, end: End) {
        let deadline = match end {
            End::Close { code: 4008, .. } => CLOSE_DEADLINE.max(self.shared.config.heartbeat * 2),
            _ => CLOSE_DEADLINE,
        };
        let closing = async {
            if let End::Close { code, reason } = end {
                let reason = match reason {
                    Cow::Borrowed(text) => Utf8Bytes::from_static(text),
                    Cow::Owned(text) => Utf8Bytes::from(text),
                };
                let frame = CloseFrame { code: CloseCode::from(code), reason };
                self.ws.close(Some(frame)).await?;
            } else {
                // Sends the reply to the peer's Close frame, if one is pending.
                self.ws.flush().await?;
            }
            // Read until the peer answers our Close (or goes away).
            while let Some(next) = self.ws.next().await {
                next?;
            }
            Ok::<(), WsError>(())
        };
        let lingering = deadline > CLOSE_DEADLINE;
        let shutdown = self.shared.shutdown.clone();
        tokio::select! {
            _ = tokio::time::timeout(deadline, closing) => {}
            // A lingering slow consumer must not hold up the server's exit.
            () = shutdown.cancelled(), if lingering => {}
        }
    }
}

/// PROTOCOL.md's close codes for transport errors.
fn error_end(err: WsError) -> End {
    match crate::handshake::close_for(&err) {
        Some((code, reason)) => End::close(code, reason),
        None => End::Gone(err.to_string()),
    }
}
