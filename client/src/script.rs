//! `heartlink-tui send`, `tail`, `download` and `login --password-stdin`:
//! the client used from scripts. `send` and `tail` run the same network task
//! as the chat screen, so `tail` survives server restarts and prints every
//! message exactly once, in order. `send --file` uploads with tus first and
//! `download` fetches over HTTP (`transfer.rs`). Whatever they print from
//! the server is sanitized.

use crate::session::Session;
use crate::transfer;
use crate::error::ClientError;
use crate::net::{self, Auth, ConnState, NetCmd, NetEvent, NetHandle};
use crate::sanitize::sanitize_line;
use heartlink_protocol::{AttachmentRef, Body, ChatMessage, ClientMsg, ClientMsgId, MediaId, RoomId, Secret, ServerMsg};
use std::io::Write;
use tokio::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A network task resumed with the saved session and joined to `room`.
async fn connect(session: &Session, room: RoomId, tracker: &TaskTracker, cancel: CancellationToken) -> NetHandle {
    let handle = net::spawn(tracker, cancel);
    // A script is not the user being online: it connects without presence,
    // so others see no "online"/"went offline" around each `send`.
    let auth = Auth::Resume { token: Secret::new(session.token.clone()), presence: false };
    let commands = [NetCmd::Authenticate { server: session.server.clone(), auth }, NetCmd::Join(room)];
    for command in commands {
        let _ = handle.commands.send(command).await;
    }
    handle
}

/// Stops the network task, giving it a moment to send its close frame.
async fn stop(tracker: TaskTracker, cancel: CancellationToken) {
    cancel.cancel();
    tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(2), tracker.wait()).await;
}

fn refused(text: &str) -> ClientError {
    ClientError::Refused(sanitize_line(text))
}

/// Sends messages in order on one connection and waits for every ack;
/// returns their seqs. A message over the body limit is refused before
/// anything is sent.
pub async fn send(session: &Session, room: RoomId, texts: &[String], wait: Duration) -> Result<Vec<u64>, ClientError> {
    let mut outgoing = Vec::new();
    for text in texts {
        let body = Body::try_from(crate::emoji::expand(text)).map_err(|err| {
            let chars = text.chars().count();
            let hint = if err.code == heartlink_protocol::ErrorCode::TooLarge {
                format!(" ({chars} characters; split it, e.g. one message per line with `send --room ID --lines -`)")
            } else {
                String::new()
            };
            ClientError::Refused(format!("{}{hint}", err.message))
        })?;
        let id = uuid::Uuid::new_v4().to_string();
        let client_msg_id = ClientMsgId::try_from(id.as_str()).map_err(|err| ClientError::Refused(err.message.to_owned()))?;
        outgoing.push((id, NetCmd::send(room, client_msg_id, body)));
    }
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let mut net = connect(session, room, &tracker, cancel.clone()).await;
    for (_, command) in &outgoing {
        let _ = net.commands.send(command.clone()).await;
    }
    let mut seqs: Vec<Option<u64>> = vec![None; outgoing.len()];
    let outcome = tokio::time::timeout(wait, async {
        while let Some(event) = net.events.recv().await {
            match event {
                NetEvent::Server(ServerMsg::Ack { client_msg_id, seq, .. }) => {
                    if let Some(index) = outgoing.iter().position(|(id, _)| *id == client_msg_id) {
                        seqs[index] = Some(seq);
                    }
                    if seqs.iter().all(Option::is_some) {
                        return Ok(seqs.iter().flatten().copied().collect());
                    }
                }
                NetEvent::AuthFailed { reason, .. } => return Err(refused(&reason)),
                NetEvent::Refused { message, .. } => return Err(refused(&message)),
                _ => {}
            }
        }
        Err(ClientError::Unreachable("the network task stopped".into()))
    })
    .await
    .unwrap_or_else(|_| {
        let done = seqs.iter().flatten().count();
        Err(ClientError::Unreachable(format!(
            "no acknowledgement within {wait:?}: {done} of {} messages confirmed (those not confirmed may or may not have arrived)",
            outgoing.len()
        )))
    });
    stop(tracker, cancel).await;
    outcome
}

/// `login --password-stdin`: one password login (or registration), no
/// retries; returns the session to save.
pub async fn login(mode: crate::app::Mode, server: &str, username: &str, password: String) -> Result<Session, ClientError> {
    let auth = match mode {
        crate::app::Mode::Login => Auth::Login { username: username.to_owned(), password: Secret::new(password) },
        crate::app::Mode::Register => Auth::Register {
            username: heartlink_protocol::Username::try_from(username).map_err(|err| ClientError::Usage(err.message.to_owned()))?,
            password: heartlink_protocol::Password::try_from(password.as_str()).map_err(|err| ClientError::Usage(err.message.to_owned()))?,
        },
    };
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let mut net = net::spawn(&tracker, cancel.clone());
    let _ = net.commands.send(NetCmd::Authenticate { server: server.to_owned(), auth }).await;
    let outcome = async {
        while let Some(event) = net.events.recv().await {
            match event {
                NetEvent::Authenticated { user, token, servers, .. } => {
                    return Ok(Session { server: servers, username: user.username, token, rooms: Vec::new(), active: None, muted: Vec::new() });
                }
                NetEvent::AuthFailed { reason, .. } => return Err(refused(&reason)),
                _ => {}
            }
        }
        Err(ClientError::Unreachable("the network task stopped".into()))
    }
    .await;
    stop(tracker, cancel).await;
    outcome
}

/// Uploads `file`, then sends it to `room` with `caption`; returns the
/// message's seq once acked. A reconnect in between re-sends the same
/// `client_msg_id`, which the server answers with the original ack.
pub async fn send_file(session: &Session, room: RoomId, file: &std::path::Path, caption: &str, wait: Duration, voice: bool) -> Result<u64, ClientError> {
    let body = Body::try_from(crate::emoji::expand(caption)).map_err(|err| ClientError::Refused(err.message.to_owned()))?;
    let base = transfer::http_base(&crate::server_url::first(&session.server))?;
    let http = transfer::client()?;
    let name = file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let voice = if voice { voice_info(file, &name).await? } else { None };
    let media_id = transfer::upload(&http, &base, &session.token, file, &name, &transfer::Options::script()).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let client_msg_id = ClientMsgId::try_from(id.as_str()).map_err(|err| ClientError::Refused(err.message.to_owned()))?;
    let attachment = Some(AttachmentRef {
        media_id,
        duration_ms: voice.as_ref().map(|voice| voice.duration_ms),
        waveform: voice.map(|voice| voice.waveform).filter(|levels| !levels.is_empty()),
    });
    let request = ClientMsg::Send { room_id: room, client_msg_id, body, attachment, call: None, relates_to: None };
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let mut net = connect(session, room, &tracker, cancel.clone()).await;
    let outcome = tokio::time::timeout(wait, async {
        while let Some(event) = net.events.recv().await {
            match event {
                // Joined (again, after a reconnect): (re-)send.
                NetEvent::Resynced => {
                    let _ = net.commands.send(NetCmd::Request(request.clone())).await;
                }
                NetEvent::Server(ServerMsg::Ack { client_msg_id, seq, .. }) if client_msg_id == id => return Ok(seq),
                NetEvent::AuthFailed { reason, .. } => return Err(ClientError::Refused(sanitize_line(&reason))),
                NetEvent::Refused { message, .. } => return Err(ClientError::Refused(sanitize_line(&message))),
                _ => {}
            }
        }
        Err(ClientError::Unreachable("the network task stopped".into()))
    })
    .await
    .unwrap_or_else(|_| Err(ClientError::Unreachable(format!("no acknowledgement within {wait:?}; the message was not confirmed"))));
    cancel.cancel();
    tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(2), tracker.wait()).await;
    outcome
}

/// `send --voice FILE`: the sound's duration and waveform; a file that is
/// not sound the client reads goes as a plain file, and the user is told.
async fn voice_info(file: &std::path::Path, name: &str) -> Result<Option<crate::audio::VoiceInfo>, ClientError> {
    let path = file.to_path_buf();
    let decoded = tokio::task::spawn_blocking(move || crate::audio::decode_file(&path)).await;
    match decoded {
        Ok(Ok(decoded)) => Ok(Some(crate::audio::voice_info(&decoded.samples, decoded.rate)).filter(|info| info.duration_ms > 0)),
        Ok(Err(crate::audio::AudioError::Read { path, source })) => {
            Err(ClientError::File { action: "reading", path: path.into(), source })
        }
        Ok(Err(err)) => {
            let _ = writeln!(std::io::stderr(), "heartlink-tui: {} is not sound ({err}): sent as a file", sanitize_line(name));
            Ok(None)
        }
        Err(err) => Err(ClientError::Refused(err.to_string())),
    }
}

/// Downloads a media the session's user may see; returns where it went and its size.
pub async fn download(session: &Session, media_id: MediaId, target: Option<&std::path::Path>) -> Result<(std::path::PathBuf, u64), ClientError> {
    let base = transfer::http_base(&crate::server_url::first(&session.server))?;
    transfer::download(&transfer::client()?, &base, &session.token, media_id, target, &transfer::Options::script()).await
}

/// Prints the room's messages as they arrive until Ctrl+C.
pub async fn tail(session: &Session, room: RoomId, json: bool, utc_offset: i64) -> Result<(), ClientError> {
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let mut net = connect(session, room, &tracker, cancel.clone()).await;
    let mut printed = 0u64;
    let result = loop {
        let event = tokio::select! {
            _ = tokio::signal::ctrl_c() => break Ok(()),
            event = net.events.recv() => event,
        };
        let messages = match event {
            None => break Err(ClientError::Unreachable("the network task stopped".into())),
            Some(NetEvent::AuthFailed { reason, .. }) => break Err(refused(&reason)),
            Some(NetEvent::Refused { message, .. }) => break Err(refused(&message)),
            Some(NetEvent::State(state)) => {
                report_state(state);
                continue;
            }
            Some(NetEvent::Server(ServerMsg::ChatMessage(message))) => vec![message],
            Some(NetEvent::Server(ServerMsg::Joined { messages, .. })) => messages,
            Some(_) => continue,
        };
        if let Err(err) = print_new(&messages, room, &mut printed, json, utc_offset) {
            break Err(ClientError::Terminal(err));
        }
    };
    stop(tracker, cancel).await;
    result
}

fn report_state(state: ConnState) {
    // Only a lost connection is news; the start-up states are not.
    if matches!(state, ConnState::Reconnecting { .. }) {
        tracing::info!(state = state.word(), "tail connection state");
        let _ = writeln!(std::io::stderr(), "heartlink-tui: {}", state.word());
    }
}

/// Prints messages with a seq above the last printed one: the re-join after a
/// reconnect repeats nothing.
fn print_new(messages: &[ChatMessage], room: RoomId, printed: &mut u64, json: bool, utc_offset: i64) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for message in messages {
        if message.room_id != room || message.seq <= *printed {
            continue;
        }
        *printed = message.seq;
        if json {
            writeln!(out, "{}", terminal_safe_json(message))?;
        } else {
            let time = crate::timeline::clock(message.ts, utc_offset, "%H:%M");
            writeln!(out, "{time} {}: {}{}", sanitize_line(&message.sender.username), sanitize_line(&message.body), attachment_note(message))?;
        }
    }
    out.flush()
}

/// ` [file: name, size bytes, type, media id]` for a message with an
/// attachment (sanitized: the name and type come from the network).
fn attachment_note(message: &ChatMessage) -> String {
    let Some(attachment) = &message.attachment else { return String::new() };
    let kind = match attachment.kind {
        heartlink_protocol::AttachmentKind::Image => "image",
        heartlink_protocol::AttachmentKind::Voice => "voice",
        heartlink_protocol::AttachmentKind::File => "file",
    };
    let separator = if message.body.is_empty() { "" } else { " " };
    format!(
        "{separator}[{kind}: {}, {} bytes, {}, media {}]",
        sanitize_line(&attachment.name),
        attachment.size,
        sanitize_line(&attachment.mime),
        attachment.media_id
    )
}

/// The message as one JSON line with the exact body, but with every
/// character a terminal could act on written as a `\uXXXX` escape (serde
/// escapes C0 controls; C1, DEL and bidi controls are escaped here).
pub fn terminal_safe_json(message: &ChatMessage) -> String {
    let text = serde_json::to_string(message).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || crate::sanitize::needs_code_placeholder(c) {
            // Outside the BMP a JSON escape is a UTF-16 surrogate pair.
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{:04x}", unit));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use heartlink_protocol::{User, UserId};

    #[test]
    fn json_lines_keep_the_exact_body_but_escape_terminal_controls() {
        let sender = User { id: UserId::random(), username: "mallory".into() };
        let body = "hi\u{1b}[2J\u{9b}\u{202e}\u{7f}\tok".to_owned();
        let message = ChatMessage { room_id: RoomId::random(), seq: 1, sender, body: body.clone(), ts: 0, client_msg_id: "c".into(), ..ChatMessage::default() };
        let line = terminal_safe_json(&message);
        assert!(!line.chars().any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)), "{line}");
        let back: ChatMessage = serde_json::from_str(&line).unwrap();
        assert_eq!(back.body, body);
    }
}
