//! `heartlink-echo`: a WebSocket echo server built on heartlink-server's real
//! accept path (hyper and the /ws upgrade) and `WebSocketConfig`, for the Autobahn conformance run
//! (tests/conformance/, docs/CONFORMANCE.md).
//!
//! Everything the Autobahn cases exercise below the chat protocol — framing,
//! fragmentation, UTF-8 validation, control frames, the close handshake, the
//! 64 KiB limit — is decided by `heartlink_server::handshake` and the
//! tungstenite configuration it builds, so running the cases against this
//! binary tests the server's transport. Only the chat layer is replaced by an
//! echo, because the cases expect their messages back.
//!
//! Usage: `heartlink-echo [--listen ADDR]` (default `127.0.0.1:0`). Prints
//! `heartlink-echo listening on ws://ADDR/ws` on stdout, like the server.

use futures_util::{SinkExt, StreamExt};
use heartlink_server::AllowedOrigins;
use heartlink_server::handshake::Ws;
use heartlink_server::http;
use heartlink_server::tls::ServerStream;
use std::io::Write;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

/// Same deadlines as the server's session (server/src/session/socket.rs):
/// a write the peer does not take in this time means it stopped reading, and
/// a close handshake that takes longer is abandoned.
const WRITE_DEADLINE: Duration = Duration::from_secs(10);
const CLOSE_DEADLINE: Duration = Duration::from_secs(2);
/// The server gives a connection this long for its HTTP request and the
/// upgrade (its `--auth-timeout-secs` default); a stuck handshake must not pin a task.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);

fn main() -> anyhow::Result<()> {
    let listen = listen_arg(std::env::args().skip(1))?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(&listen))
}

fn listen_arg(mut args: impl Iterator<Item = String>) -> anyhow::Result<String> {
    match (args.next().as_deref(), args.next(), args.next()) {
        (None, _, _) => Ok("127.0.0.1:0".to_owned()),
        (Some("--listen"), Some(addr), None) => Ok(addr),
        _ => anyhow::bail!("usage: heartlink-echo [--listen ADDR]"),
    }
}

async fn serve(listen: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    // The one stdout line, as the server's: scripts read the port from it.
    writeln!(std::io::stdout(), "heartlink-echo listening on ws://{addr}/ws")?;
    std::io::stdout().flush()?;
    let site = http::Site::WebSocketOnly(std::sync::Arc::new(AllowedOrigins::default()));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // EMFILE and friends: back off instead of spinning, as the server does.
                writeln!(std::io::stderr(), "accept failed: {err}")?;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // As in the server's accept loop: chat frames are small and latency-sensitive.
        let _ = stream.set_nodelay(true);
        // Plain TCP and the server's default origin policy: kosoku, like a
        // terminal client, sends no `Origin`. TLS would only wrap the bytes.
        let site = site.clone();
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + HANDSHAKE_DEADLINE;
            let accept = http::accept(ServerStream::Plain(stream), peer, site, deadline, CancellationToken::new());
            if let Some(ws) = accept.await {
                echo(ws).await;
            }
        });
    }
}

/// Echoes every data message until the connection ends. The task owns the
/// socket unsplit, so the close frame is never lost (STYLE.md).
async fn echo(mut ws: Ws) {
    let end = loop {
        match ws.next().await {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                if !write(&mut ws, Some(message)).await {
                    return;
                }
            }
            // tungstenite queues the Pong for a Ping (and the reply to a
            // Close) itself; flushing sends it now rather than with the next echo.
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                if !write(&mut ws, None).await {
                    return;
                }
            }
            Some(Ok(Message::Close(_))) => break None,
            Some(Err(err)) => match close_for(&err) {
                Some(frame) => break Some(frame),
                None => return,
            },
            None => return,
        }
    };
    finish(&mut ws, end).await;
}

/// Sends `message` (or just flushes); false when the connection is unusable.
async fn write(ws: &mut Ws, message: Option<Message>) -> bool {
    let written = match message {
        Some(message) => tokio::time::timeout(WRITE_DEADLINE, ws.send(message)).await,
        None => tokio::time::timeout(WRITE_DEADLINE, ws.flush()).await,
    };
    matches!(written, Ok(Ok(())))
}

/// The close code PROTOCOL.md gives a transport error: the server's own mapping.
fn close_for(err: &WsError) -> Option<CloseFrame> {
    let (code, reason) = heartlink_server::handshake::close_for(err)?;
    Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() })
}

/// The close handshake, as the server's `Connection::finish`: send our Close
/// (or the reply to the peer's), then read until the peer is gone.
async fn finish(ws: &mut Ws, close: Option<CloseFrame>) {
    let closing = async {
        match close {
            Some(frame) => ws.close(Some(frame)).await?,
            None => ws.flush().await?,
        }
        while let Some(next) = ws.next().await {
            next?;
        }
        Ok::<(), WsError>(())
    };
    let _ = tokio::time::timeout(CLOSE_DEADLINE, closing).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_flag_or_port_zero() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>().into_iter();
        assert_eq!(listen_arg(args(&[])).unwrap(), "127.0.0.1:0");
        assert_eq!(listen_arg(args(&["--listen", "127.0.0.1:9"])).unwrap(), "127.0.0.1:9");
        assert!(listen_arg(args(&["--listen"])).is_err());
        assert!(listen_arg(args(&["--port", "9"])).is_err());
    }
}
