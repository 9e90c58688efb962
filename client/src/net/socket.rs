//! Opening a WebSocket and authenticating on it: the first frame of every
//! connection (PROTOCOL.md, "Session"). Also the one-shot token revocation
//! used by `heartlink-tui logout`.

use super::Auth;
use crate::error::ClientError;
use crate::sanitize::for_log;
use crate::server_url::{host_port, with_ws_path};
use futures_util::{SinkExt, StreamExt};
use heartlink_protocol::{ClientMsg, ErrorCode, Secret, ServerMsg, User, decode_server, encode_request};
use tokio::net::TcpStream;
use tokio::time::{Duration, timeout};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(super) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The server allows 10 s for the first frame; connecting and authenticating
/// share one deadline a little longer than that.
const AUTH_DEADLINE: Duration = Duration::from_secs(12);

/// What `connection_established` told us.
#[derive(Debug, Clone)]
pub(super) struct Established {
    pub user: User,
    pub token: String,
    pub heartbeat_secs: u64,
    /// The users this account blocked.
    pub blocked: Vec<User>,
}

/// Why a connection attempt ended without a session.
#[derive(Debug, Clone)]
pub(super) enum AttemptError {
    /// The server (or the URL) says no: retrying the same thing cannot help.
    Refused { reason: String, session_expired: bool },
    /// The network or the server is down: worth retrying.
    Unreachable(String),
}

/// Connects to `server` and sends the authentication frame.
pub(super) async fn connect(server: &str, auth: &Auth) -> Result<(Ws, Established), AttemptError> {
    connect_within(server, auth, AUTH_DEADLINE).await
}

async fn connect_within(server: &str, auth: &Auth, deadline: Duration) -> Result<(Ws, Established), AttemptError> {
    let server = crate::server_url::normalize(server)
        .map_err(|reason| AttemptError::Refused { reason, session_expired: false })?;
    match timeout(deadline, connect_inner(&server, auth)).await {
        Ok(result) => result,
        Err(_) => Err(AttemptError::Unreachable(format!(
            "{} did not answer within {}s — check the address, or a firewall in between",
            host_port(&server),
            deadline.as_secs_f32().ceil()
        ))),
    }
}

async fn connect_inner(server: &str, auth: &Auth) -> Result<(Ws, Established), AttemptError> {
    // The connector is used for wss:// URLs and ignored for ws://.
    let connector = tokio_tungstenite::Connector::Rustls(crate::tls::client_config());
    // Boxed: the TLS handshake state is ~20 KiB and would otherwise sit
    // inside the net task's future for its whole life.
    let (mut ws, _response) = Box::pin(tokio_tungstenite::connect_async_tls_with_config(server, None, false, Some(connector)))
        .await
        .map_err(|err| connect_error(server, err))?;
    let frame = encode_request(&auth.to_msg(), None);
    ws.send(Message::text(frame)).await.map_err(|err| AttemptError::Unreachable(format!("connection lost: {err}")))?;
    loop {
        let next = ws.next().await;
        let text = match next {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => return Err(closed_during_auth(frame)),
            Some(Ok(_)) => continue,
            Some(Err(err)) => return Err(AttemptError::Unreachable(format!("connection lost: {err}"))),
            None => return Err(AttemptError::Unreachable("the server closed the connection".into())),
        };
        let Ok(frame) = decode_server(&text) else {
            tracing::warn!(frame = %for_log(&text.chars().take(200).collect::<String>()), "undecodable frame during login");
            continue;
        };
        match frame.msg {
            ServerMsg::ConnectionEstablished { user, token, heartbeat_secs, blocked, .. } => {
                return Ok((ws, Established { user, token, heartbeat_secs, blocked }));
            }
            ServerMsg::Error { code, message, retry_after_ms } => {
                let _ = ws.close(None).await;
                return Err(refusal(auth, code, &message, retry_after_ms));
            }
            other => tracing::debug!(kind = ?other, "ignored a frame before connection_established"),
        }
    }
}

/// A failed connection in plain words: what happened, and what to do.
/// The table of these messages is in docs/CLIENT.md.
fn connect_error(server: &str, err: tungstenite::Error) -> AttemptError {
    let place = host_port(server);
    let refused = |reason: String| AttemptError::Refused { reason, session_expired: false };
    let tls = server.starts_with("wss://");
    match err {
        tungstenite::Error::Url(_) => match crate::server_url::normalize(server) {
            Err(reason) => refused(reason),
            Ok(_) => refused(format!("{server} is not a usable server URL — it looks like ws://127.0.0.1:7878/ws")),
        },
        tungstenite::Error::Http(response) if response.status() == 404 => {
            let path = server.split_once("://").and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..])).unwrap_or("/");
            refused(format!("{place} has no heartlink server at {path} (HTTP 404) — did you mean {}?", with_ws_path(server)))
        }
        tungstenite::Error::Http(response) => {
            refused(format!("{place} refused the WebSocket connection (HTTP {}) — is it a heartlink server?", response.status()))
        }
        // A certificate the client does not trust will not change by
        // retrying. rustls reports it as an I/O error that wraps its own.
        tungstenite::Error::Tls(tls) => untrusted(&place, &tls),
        tungstenite::Error::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => untrusted(&place, &io),
        tungstenite::Error::Io(io) => io_error(&place, server, tls, &io),
        // Bytes that are not HTTP at all (a TLS alert): a TLS server.
        tungstenite::Error::HttpFormat(_) | tungstenite::Error::Protocol(tungstenite::error::ProtocolError::HttparseError(_))
            if !tls =>
        {
            refused(format!(
            "{place} did not answer like a heartlink server — if it uses TLS, try {}",
            server.replacen("ws://", "wss://", 1)
        ))
        }
        // Closed before the handshake finished: a server going down or
        // restarting, worth retrying.
        tungstenite::Error::Protocol(_) => {
            AttemptError::Unreachable(format!("{place} closed the connection at once — is it a heartlink server?"))
        }
        other => AttemptError::Unreachable(format!("cannot reach {place}: {other}")),
    }
}

fn io_error(place: &str, server: &str, tls: bool, io: &std::io::Error) -> AttemptError {
    use std::io::ErrorKind;
    let text = io.to_string();
    match io.kind() {
        ErrorKind::ConnectionRefused => {
            AttemptError::Unreachable(format!("nothing is listening at {place} — is heartlink-server running?"))
        }
        ErrorKind::UnexpectedEof if tls => AttemptError::Refused {
            reason: format!(
                "{place} closed the connection during the TLS handshake — if it is a plain server, use {}",
                server.replacen("wss://", "ws://", 1)
            ),
            session_expired: false,
        },
        _ if text.contains("lookup address") || text.contains("Name or service not known") => {
            let host = place.rsplit_once(':').map_or(place, |(host, _)| host);
            AttemptError::Unreachable(format!("cannot find the host {host} — check the server's name"))
        }
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof => {
            AttemptError::Unreachable(format!("{place} closed the connection at once — is it a heartlink server?"))
        }
        _ => AttemptError::Unreachable(format!("cannot reach {place}: {io}")),
    }
}

fn untrusted(place: &str, err: &dyn std::fmt::Display) -> AttemptError {
    AttemptError::Refused {
        reason: format!("cannot verify {place}: {err} (for a private CA, pass --ca-file)"),
        session_expired: false,
    }
}

fn closed_during_auth(frame: Option<tungstenite::protocol::CloseFrame>) -> AttemptError {
    let (code, reason) = frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
    if code == CLOSE_BANNED {
        // PROTOCOL.md: 4003 means stop and show the reason; retrying cannot help.
        return AttemptError::Refused { reason: banned_reason(&reason), session_expired: true };
    }
    AttemptError::Unreachable(format!("the server closed the connection during login: {reason}"))
}

/// Close code 4003: the operator banned this account.
pub(super) const CLOSE_BANNED: u16 = 4003;

/// What the screen says when the account is banned: the server's reason, if it gave one.
pub(super) fn banned_reason(reason: &str) -> String {
    let reason = reason.trim();
    if reason.is_empty() || reason.eq_ignore_ascii_case("banned") {
        "this account is banned by the server's operator".to_owned()
    } else {
        format!("this account is banned by the server's operator: {reason}")
    }
}

/// A refusal in plain language.
fn refusal(auth: &Auth, code: ErrorCode, message: &str, retry_after_ms: Option<u64>) -> AttemptError {
    let resuming = matches!(auth, Auth::Resume { .. });
    let reason = match code {
        ErrorCode::Unauthorized if resuming => {
            "your saved session has expired or was revoked — please log in again".to_owned()
        }
        ErrorCode::BadCredentials => "wrong username or password".to_owned(),
        ErrorCode::Banned => banned_reason(message),
        ErrorCode::UsernameTaken => "that username is already taken".to_owned(),
        ErrorCode::RateLimited => {
            let secs = retry_after_ms.unwrap_or(60_000).div_ceil(1000);
            format!("too many attempts — try again in {secs} s")
        }
        _ => message.to_owned(),
    };
    let session_expired = (resuming && code == ErrorCode::Unauthorized) || code == ErrorCode::Banned;
    AttemptError::Refused { reason, session_expired }
}

/// `logout`: resumes with `token`, asks the server to revoke it and waits
/// for the close that confirms it.
pub async fn revoke_token(server: &str, token: &str) -> Result<(), ClientError> {
    // A logout is not the user coming online: no presence flap for others.
    let auth = Auth::Resume { token: Secret::new(token), presence: false };
    let (mut ws, _) = connect(server, &auth).await.map_err(|err| match err {
        AttemptError::Refused { reason, .. } => ClientError::Refused(reason),
        AttemptError::Unreachable(reason) => ClientError::Unreachable(reason),
    })?;
    let frame = encode_request(&ClientMsg::Logout { everywhere: false }, None);
    ws.send(Message::text(frame)).await.map_err(|err| ClientError::Unreachable(err.to_string()))?;
    let closed = timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = ws.next().await {
            if matches!(message, Message::Close(_)) {
                return true;
            }
        }
        true
    })
    .await;
    closed.map(|_| ()).map_err(|_| ClientError::Unreachable("the server did not confirm the logout".into()))
}

#[cfg(test)]
mod tests;
