//! The network task's loop: idle → connect → connected → wait (backoff) → …
//!
//! One task owns the socket and reads and writes it from a single `select!`
//! (never split into two tasks: aborting one would lose the close frame).
//! Commands that arrive while disconnected are queued in [`SyncState`]
//! (joins, leaves, the outbox) or refused with [`NetEvent::NotSent`].

use super::servers::ServerList;
use super::sleep::{self, SleepWatch};
use super::socket::{self, AttemptError, Established, Ws};
use super::NetOptions;
use super::{Auth, Backoff, ConnState, NetCmd, NetEvent, SyncState};
use crate::sanitize::for_log;
use futures_util::{SinkExt, StreamExt};
use heartlink_protocol::{ClientMsg, Secret, decode_server};
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant, MissedTickBehavior, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

/// Where the loop goes next.
enum Next {
    Idle,
    Connect,
    Wait(Duration),
    Stop,
}

pub(super) struct NetTask {
    commands: mpsc::Receiver<NetCmd>,
    events: mpsc::Sender<NetEvent>,
    cancel: CancellationToken,
    sync: SyncState,
    servers: ServerList,
    auth: Option<Auth>,
    backoff: Backoff,
    options: NetOptions,
    /// When the current connection finished re-syncing, if it did.
    resynced_at: Option<Instant>,
    sleep: SleepWatch,
    /// True until the first success after an `Authenticate`.
    first_attempt: bool,
}

impl NetTask {
    pub(super) fn new(
        commands: mpsc::Receiver<NetCmd>,
        events: mpsc::Sender<NetEvent>,
        cancel: CancellationToken,
        options: NetOptions,
    ) -> Self {
        Self {
            commands,
            events,
            cancel,
            sync: SyncState::default(),
            servers: ServerList::default(),
            auth: None,
            backoff: options.backoff.clone(),
            sleep: SleepWatch::new(options.wall_clock.clone()),
            options,
            resynced_at: None,
            first_attempt: true,
        }
    }

    pub(super) async fn run(mut self) {
        let mut next = Next::Idle;
        loop {
            next = match next {
                Next::Idle => self.idle().await,
                Next::Connect => self.attempt().await,
                Next::Wait(delay) => self.wait(delay).await,
                Next::Stop => return,
            };
        }
    }

    async fn emit(&self, event: NetEvent) {
        // The app only goes away when it quits, and then the task is cancelled too.
        let _ = self.events.send(event).await;
    }

    fn set_auth(&mut self, server: String, auth: Auth) -> Next {
        // Stored complete (host:port → ws://host:port/ws): that is the list
        // the session file keeps. A URL that cannot be completed is kept as
        // typed, and the attempt says why it is wrong.
        self.servers = ServerList::parse(&server);
        self.auth = Some(auth);
        self.backoff.reset();
        self.backoff.set_cap(self.options.backoff.cap());
        self.first_attempt = true;
        Next::Connect
    }

    /// Not logged in (or refused): wait for credentials, queueing the rest.
    async fn idle(&mut self) -> Next {
        self.emit(NetEvent::State(ConnState::Offline)).await;
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => return Next::Stop,
                command = self.commands.recv() => match command {
                    None => return Next::Stop,
                    Some(NetCmd::Authenticate { server, auth }) => return self.set_auth(server, auth),
                    Some(other) => self.offline_command(other).await,
                },
            }
        }
    }

    /// Waits out a backoff delay; the retry key (or new credentials) cuts it
    /// short, and so does waking up from a sleep.
    async fn wait(&mut self, delay: Duration) -> Next {
        let retry_at = Instant::now() + delay;
        let attempt = self.backoff.failures();
        self.emit(NetEvent::State(ConnState::Reconnecting { attempt, retry_at: Some(retry_at) })).await;
        let mut clocks = tokio::time::interval(sleep::CHECK_EVERY);
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => return Next::Stop,
                () = sleep_until(retry_at) => return Next::Connect,
                _ = clocks.tick() => {
                    if self.sleep.slept() {
                        tracing::info!("the computer slept: trying to connect now");
                        return Next::Connect;
                    }
                }
                command = self.commands.recv() => match command {
                    None => return Next::Stop,
                    Some(NetCmd::RetryNow) => return Next::Connect,
                    Some(NetCmd::Authenticate { server, auth }) => return self.set_auth(server, auth),
                    Some(other) => self.offline_command(other).await,
                },
            }
        }
    }

    async fn attempt(&mut self) -> Next {
        let Some(auth) = self.auth.clone() else { return Next::Idle };
        let state = if self.first_attempt {
            ConnState::Connecting
        } else {
            ConnState::Reconnecting { attempt: self.backoff.failures(), retry_at: None }
        };
        self.emit(NetEvent::State(state)).await;
        let server = self.servers.current().to_owned();
        let connecting = socket::connect(&server, &auth);
        tokio::pin!(connecting);
        let result = loop {
            tokio::select! {
                () = self.cancel.cancelled() => return Next::Stop,
                result = &mut connecting => break result,
                command = self.commands.recv() => match command {
                    None => return Next::Stop,
                    Some(NetCmd::Authenticate { server, auth }) => return self.set_auth(server, auth),
                    Some(other) => self.offline_command(other).await,
                },
            }
        };
        match result {
            Ok((ws, established)) => self.on_established(ws, established).await,
            Err(AttemptError::Unreachable(reason)) => {
                tracing::info!(cause = %for_log(&reason), server = %for_log(&server), "connection attempt failed");
                // The next server at once while some in the list have not
                // failed in this round; then the backoff (or, for a first
                // login, the reason).
                if self.servers.failed() {
                    Next::Connect
                } else if auth.retries() {
                    self.next_wait()
                } else {
                    self.refused(reason, false).await
                }
            }
            Err(AttemptError::Refused { reason, session_expired }) => self.refused(reason, session_expired).await,
        }
    }

    async fn refused(&mut self, reason: String, session_expired: bool) -> Next {
        tracing::warn!(cause = %for_log(&reason), "authentication refused");
        self.auth = None;
        self.emit(NetEvent::AuthFailed { reason, session_expired }).await;
        Next::Idle
    }

    async fn on_established(&mut self, ws: Ws, established: Established) -> Next {
        let Established { user, token, heartbeat_secs, blocked } = established;
        let server = self.servers.current().to_owned();
        tracing::info!(user = %for_log(&user.username), server = %for_log(&server), "connected");
        self.servers.connected();
        // The backoff is reset by the re-sync (see `deliver`), not here.
        self.resynced_at = None;
        // Reconnects resume with the token, keeping the first login's presence.
        let presence = !matches!(self.auth, Some(Auth::Resume { presence: false, .. }));
        self.auth = Some(Auth::Resume { token: Secret::new(token.clone()), presence });
        let reconnect = !std::mem::replace(&mut self.first_attempt, false);
        let servers = self.servers.joined();
        self.emit(NetEvent::Authenticated { user, token, server, servers, reconnect, blocked }).await;
        self.emit(NetEvent::State(ConnState::Connected)).await;
        let next = self.connected(ws, heartbeat_secs).await;
        self.sync.on_disconnected();
        next
    }

    /// The connected loop. Returns where to go once the connection ends.
    async fn connected(&mut self, mut ws: Ws, heartbeat_secs: u64) -> Next {
        let step = self.sync.on_connected();
        if let Err(next) = self.deliver(&mut ws, step).await {
            return next;
        }
        // Our own pings make a healthy server answer at least every half
        // heartbeat, so silence for two heartbeats means the peer is gone.
        let heartbeat = Duration::from_secs(heartbeat_secs.clamp(2, 300));
        let idle_limit = heartbeat * 2;
        let mut ping = tokio::time::interval_at(Instant::now() + heartbeat / 2, heartbeat / 2);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let mut clocks = tokio::time::interval(sleep::CHECK_EVERY);
        loop {
            let retry_at = self.sync.next_retry();
            tokio::select! {
                () = self.cancel.cancelled() => {
                    let _ = ws.close(Some(CloseFrame { code: CloseCode::Normal, reason: "client quit".into() })).await;
                    return Next::Stop;
                }
                frame = ws.next() => {
                    last_heard = Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            let step = match decode_server(&text) {
                                Ok(frame) => self.sync.on_frame(frame, Instant::now()),
                                Err(err) => {
                                    tracing::warn!(cause = %for_log(&err.to_string()), "ignored an undecodable frame");
                                    continue;
                                }
                            };
                            if let Err(next) = self.deliver(&mut ws, step).await {
                                return next;
                            }
                        }
                        Some(Ok(Message::Close(frame))) => return self.closed_by_server(frame).await,
                        Some(Ok(_)) => {}
                        Some(Err(err)) => return self.lost(&format!("connection lost: {err}")),
                        None => return self.lost("the server closed the connection"),
                    }
                }
                command = self.commands.recv() => {
                    let Some(command) = command else { return Next::Stop };
                    if let NetCmd::Authenticate { server, auth } = command {
                        let _ = ws.close(None).await;
                        return self.set_auth(server, auth);
                    }
                    let frames = self.online_command(command);
                    if let Err(next) = self.send_frames(&mut ws, frames).await {
                        return next;
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > idle_limit {
                        return self.lost("the server stopped answering");
                    }
                    let frame = self.sync.request(&ClientMsg::Ping);
                    if let Err(next) = self.send_frames(&mut ws, vec![frame]).await {
                        return next;
                    }
                }
                _ = clocks.tick() => {
                    if self.sleep.slept() {
                        // The socket is most likely dead at the other end; a
                        // close frame is offered but not waited for long.
                        tracing::info!("the computer slept: reconnecting now");
                        let _ = tokio::time::timeout(Duration::from_millis(200), ws.close(None)).await;
                        return Next::Connect;
                    }
                }
                () = sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {
                    let frames = self.sync.due_retries(Instant::now());
                    if let Err(next) = self.send_frames(&mut ws, frames).await {
                        return next;
                    }
                }
            }
        }
    }

    async fn deliver(&mut self, ws: &mut Ws, step: super::sync::Step) -> Result<(), Next> {
        if step.events.iter().any(|event| matches!(event, NetEvent::Resynced)) {
            // Only now has the connection proved itself (issue: a server
            // that takes the login and then drops us must not be hammered).
            self.backoff.reset();
            self.resynced_at = Some(Instant::now());
        }
        for event in step.events {
            self.emit(event).await;
        }
        self.send_frames(ws, step.frames).await
    }

    async fn send_frames(&mut self, ws: &mut Ws, frames: Vec<String>) -> Result<(), Next> {
        for frame in frames {
            if let Err(err) = ws.send(Message::text(frame)).await {
                return Err(self.lost(&format!("sending failed: {err}")));
            }
        }
        Ok(())
    }

    /// The connection dropped: the next server at once when there are
    /// several (this one may be gone for good), else the backoff.
    fn lost(&mut self, reason: &str) -> Next {
        tracing::info!(cause = %for_log(reason), "disconnected");
        if self.servers.failed() { Next::Connect } else { self.next_wait() }
    }

    /// The wait before the next attempt. The outage that follows a
    /// long-lived session is capped lower: the server was fine a minute
    /// ago, so it is probably back soon, and a 30 s wait would be felt.
    fn next_wait(&mut self) -> Next {
        if let Some(at) = self.resynced_at.take() {
            let long_lived = at.elapsed() >= self.options.long_lived;
            self.backoff.set_cap(if long_lived { self.options.short_cap } else { self.options.backoff.cap() });
        }
        Next::Wait(self.backoff.next_delay())
    }

    /// PROTOCOL.md "Close codes": 1008 and 1000 end the session (no blind
    /// retry loop), 4003 (banned) too, with the reason on screen; 4008 (slow
    /// consumer) reconnects at once, the rest back off.
    async fn closed_by_server(&mut self, frame: Option<CloseFrame>) -> Next {
        let (code, reason) = frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
        tracing::info!(code, reason = %for_log(&reason), "the server closed the connection");
        match code {
            1000 | 1008 => {
                let why = if reason.is_empty() { "the server ended the session".to_owned() } else { reason };
                self.refused(format!("{why} — please log in again"), true).await
            }
            socket::CLOSE_BANNED => self.refused(socket::banned_reason(&reason), true).await,
            4008 => Next::Connect,
            _ => self.lost("the server closed the connection"),
        }
    }

    fn online_command(&mut self, command: NetCmd) -> Vec<String> {
        let frame = match command {
            NetCmd::Join(room_id) => self.sync.join(room_id),
            NetCmd::Leave(room_id) => self.sync.leave(room_id),
            NetCmd::Send(outgoing) => self.sync.send(outgoing),
            NetCmd::Request(msg) => Some(self.sync.request(&msg)),
            NetCmd::RetryNow | NetCmd::Authenticate { .. } => None,
        };
        frame.into_iter().collect()
    }

    async fn offline_command(&mut self, command: NetCmd) {
        match command {
            NetCmd::Join(room_id) => drop(self.sync.join(room_id)),
            NetCmd::Leave(room_id) => drop(self.sync.leave(room_id)),
            NetCmd::Send(outgoing) => drop(self.sync.send(outgoing)),
            // Typing and read markers are only meaningful now; the app sends a
            // fresh read marker when it next shows the room.
            NetCmd::Request(ClientMsg::Typing { .. } | ClientMsg::Read { .. }) => {}
            NetCmd::Request(msg) => self.emit(NetEvent::NotSent { what: msg.kind() }).await,
            NetCmd::RetryNow | NetCmd::Authenticate { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests;
