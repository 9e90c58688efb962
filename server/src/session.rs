//! One task per connection: handshake, authentication, then a `select!` over
//! the socket, the outbound queue, the heartbeat and shutdown.
//!
//! The task owns the socket (it is never split), so replies to this
//! connection's requests are written directly and in order. Events from the
//! hub wait in the bounded outbound queue. A request is a barrier: before it
//! is handled, the events queued so far are written; those queued while it
//! is handled wait until its reply is out, so a `joined` reply always
//! precedes the room's live messages and a `pong` follows every event
//! queued before its `ping`.
//!
//! The socket is read before the queue, so a stream of room events cannot
//! keep a client's own frames (requests, Pongs) unread until the silence
//! deadline closes a healthy client.

mod attach;
mod authenticate;
mod calls;
mod listing;
mod logout;
mod matching;
mod moderation;
mod mentions;
mod messages;
mod pages;
pub(crate) mod presence;
mod relations;
mod requests;
mod rooms;
mod seen;
mod socket;

use crate::accounts::Authenticated;
use crate::admission::Cap;
use crate::handshake;
use crate::hub::{ConnHandle, Inbox};
use crate::rate_limit::TokenBucket;
use crate::report::Chain;
use crate::shared::Shared;
use crate::store::TokenHash;
use crate::wire;
use futures_util::StreamExt;
use heartlink_protocol::{ErrorCode, ServerMsg, SessionId, encode_server};
use socket::Connection;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

pub use socket::End;

/// Most queued events written with one flush.
const WRITE_BATCH: usize = 256;

/// How long a connection refused over a cap has for its handshake.
pub const REFUSAL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// Serves one WebSocket (its handshake done by `http::accept`) until it
/// closes; `deadline` is the connection's, for its first frame.
pub fn serve(ws: handshake::Ws, peer: SocketAddr, shared: Arc<Shared>, deadline: Instant) -> impl Future<Output = ()> {
    // The phases are boxed so the task holds only the phase it is in: a
    // future is as large as its largest state, and an idle session should
    // not carry a request handler's space (docs/BENCHMARKS.md, B1). Not an
    // `async fn`: its arguments would stay in the future for the session's
    // whole life, the socket (~0.5 KiB) beside the copy the session holds.
    let authenticating = Box::pin(authenticate(ws, peer, shared, deadline));
    async move {
        let Some((session, greeting)) = authenticating.await else { return };
        Box::pin(session.run(greeting)).await;
    }
}

/// Refuses a WebSocket over a connection cap: `rate_limited` with the
/// reason, close 1013 with the reason.
pub async fn refuse(ws: handshake::Ws, peer: SocketAddr, shared: Arc<Shared>, cap: Cap) {
    tracing::info!(%peer, reason = cap.close_reason(), "connection refused over the connection cap");
    let mut conn = Connection::new(ws, peer, shared);
    let refusal = ServerMsg::rate_limited(cap.message(), crate::rate_limit::retry_after_ms(CAP_RETRY));
    if conn.reply(&refusal, None).await.is_ok() {
        conn.finish(End::close(1013, cap.close_reason())).await;
    }
}

/// What a client refused over a connection cap is told to wait.
pub const CAP_RETRY: std::time::Duration = std::time::Duration::from_secs(10);

/// The first frame: credentials, until `deadline`. Returns the session and
/// its encoded `connection_established` reply.
async fn authenticate(ws: handshake::Ws, peer: SocketAddr, shared: Arc<Shared>, deadline: Instant) -> Option<(Box<Session>, Utf8Bytes)> {
    let mut conn = Connection::new(ws, peer, shared);
    let (auth, reference) = conn.authenticate(deadline).await?;
    let (session, established) = match Session::start(&conn, auth).await {
        Ok(started) => started,
        Err(err) => {
            tracing::error!(peer = %conn.peer, cause = %Chain(&err), "could not register the connection");
            let refusal = ServerMsg::error(ErrorCode::Internal, "the server could not open the session; try again");
            if conn.reply(&refusal, reference.as_ref()).await.is_ok() {
                conn.finish(End::close(1011, "internal error")).await;
            }
            return None;
        }
    };
    let greeting = Utf8Bytes::from(encode_server(&established, reference.as_ref()));
    Some((session.with(conn), greeting))
}

/// An authenticated connection.
struct Session {
    conn: Connection,
    handle: ConnHandle,
    outbound: Inbox,
    token_hash: TokenHash,
    requests: TokenBucket,
    /// Whether the session makes its user appear online: false after
    /// `resume{presence:false}` (scripts, bots).
    presence: bool,
    /// Set with `set_status{away}`.
    away: bool,
}

enum Event {
    Shutdown,
    Closing,
    Outbound(Utf8Bytes),
    Heartbeat,
    Silent,
    Incoming(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
}

/// A session whose connection is registered, before it takes the socket.
struct Started {
    handle: ConnHandle,
    outbound: Inbox,
    token_hash: TokenHash,
    presence: bool,
}

/// Registering a connection failed (a seam was unavailable).
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("the bus could not subscribe to the user")]
    Bus(#[from] crate::bus::BusError),
    #[error("the live state is unavailable")]
    Live(#[from] crate::live::LiveError),
    #[error("the blocked list could not be read")]
    Store(#[from] crate::store::StoreError),
}

impl Started {
    fn with(self, conn: Connection) -> Box<Session> {
        let Self { handle, outbound, token_hash, presence } = self;
        let rate = conn.shared.config.request_rate;
        let requests = TokenBucket::new(rate, rate.saturating_mul(2), std::time::Instant::now());
        // Boxed: the session's long wait holds a pointer to it, not a copy.
        Box::new(Session { conn, handle, outbound, token_hash, requests, presence, away: false })
    }
}

impl Session {
    /// Registers the connection with the hub and the live state (the user
    /// comes online when it is their first that counts for presence);
    /// returns it and its `connection_established` reply.
    async fn start(conn: &Connection, auth: Authenticated) -> Result<(Started, ServerMsg), StartError> {
        let shared = &conn.shared;
        let user = wire::account(&auth.account);
        // Blocked users as the user knew them (a stranger under their alias).
        let blocked = shared.store.blocks_of(user.id).await?.into_iter().map(|block| wire::user(block.shown)).collect();
        let (handle, outbound) = ConnHandle::new(shared.next_conn_id(), user.clone(), shared.config.outbound_queue, &shared.shutdown);
        shared.hub.connect(handle.clone(), auth.token_hash).await?;
        // A connection resumed with `presence:false` neither brings its user
        // online nor keeps them online.
        if conn.presence {
            if let Err(err) = presence::opened(shared, &user).await {
                shared.hub.disconnect(handle.id);
                return Err(err.into());
            }
        }
        let established = ServerMsg::ConnectionEstablished {
            user,
            token: auth.token,
            session_id: SessionId::random(),
            heartbeat_secs: shared.config.heartbeat.as_secs(),
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
            protocol: heartlink_protocol::PROTOCOL_VERSION,
            blocked,
        };
        let started = Started { handle, outbound, token_hash: auth.token_hash, presence: conn.presence };
        logout::check_token(shared, &started.handle, &started.token_hash).await;
        crate::admin::bans::check_session(shared, &started.handle).await;
        logout::trim_tokens(shared, &started.handle, &started.token_hash).await;
        Ok((started, established))
    }

    async fn run(mut self: Box<Self>, greeting: Utf8Bytes) {
        tracing::info!(conn = %self.handle.id, user = %self.handle.user.username, peer = %self.conn.peer, "session started");
        let closing = self.handle.closing().clone();
        let end = match self.conn.write_frames(vec![greeting], &closing).await {
            Ok(()) => self.event_loop().await,
            Err(end) => end,
        };
        let end = self.asked_to_close(end);
        Box::pin(self.leave_everything()).await;
        tracing::info!(conn = %self.handle.id, user = %self.handle.user.username, reason = %end, "session ended");
        Box::pin(self.close(end)).await;
    }

    /// A session that ended because the hub asked it to (slow consumer,
    /// logout elsewhere, ban) closes with the reason it was given; one whose
    /// write was cut short by the shutdown (the closing signal fires for
    /// both) says the server is shutting down.
    fn asked_to_close(&self, end: End) -> End {
        match (&end, self.outbound.close_request()) {
            (End::Close { code: 4008, .. }, Some(request)) => End::close(request.code, request.reason),
            (End::Close { code: 4008, .. }, None) if self.conn.shared.shutdown.is_cancelled() => {
                End::close(1001, "server shutting down")
            }
            _ => end,
        }
    }

    /// Unregisters the connection; when it was the user's last that counts
    /// for presence, they go offline.
    async fn leave_everything(&self) {
        let shared = &self.conn.shared;
        let (conn, user) = (self.handle.id, &self.handle.user);
        shared.hub.disconnect(conn);
        if let Err(err) = shared.live.forget_connection(conn).await {
            tracing::error!(cause = %Chain(&err), "could not take the connection out of the match queue");
        }
        if self.presence {
            presence::closed(shared, user, self.away).await;
        }
    }

    /// The close handshake, on the connection alone. Events still queued
    /// will never be sent: they are freed before a possibly long close (a
    /// slow consumer's close waits for it to drain).
    fn close(self: Box<Self>, end: End) -> impl Future<Output = ()> {
        let Self { mut conn, outbound, .. } = *self;
        drop(outbound);
        async move { conn.finish(end).await }
    }

    async fn event_loop(&mut self) -> End {
        let heartbeat_every = self.conn.shared.config.heartbeat;
        // One timer for the next Ping and the silence deadline, whichever
        // comes first: an `Interval` beside a `Sleep` made each idle
        // session hold two timers, one of them boxed (B1), and a new
        // `Sleep` was registered on every turn of the loop.
        let mut next_ping = Instant::now() + heartbeat_every;
        let timer = tokio::time::sleep_until(next_ping);
        tokio::pin!(timer);
        let shutdown = self.conn.shared.shutdown.clone();
        loop {
            // `biased`, in this order: shutdown and a close request (overflow, logout elsewhere) win over more
            // traffic; the peer's frames come next (handling one first
            // writes out what is queued, so the queue is not starved and
            // order is kept); the heartbeat and the silence check come
            // before room events, which are always ready in a busy room, and
            // the silence check comes after the socket, so a frame that
            // waited while we were writing counts as heard rather than being
            // outrun by the deadline. A peer silent for two heartbeats is
            // closed at that instant, not at the next ping tick. Every
            // branch is cancel-safe: `recv`, the timer, `cancelled` and the
            // stream's `next` lose nothing when another branch wins.
            let silent_until = self.conn.last_heard() + heartbeat_every * 2;
            let wake = next_ping.min(silent_until);
            if timer.deadline() != wake {
                timer.as_mut().reset(wake);
            }
            let event = tokio::select! {
                biased;
                // Fires on shutdown too (`ConnHandle::new`); shutdown wins.
                () = self.handle.closing().cancelled() => match shutdown.is_cancelled() {
                    true => Event::Shutdown,
                    false => Event::Closing,
                },
                incoming = self.conn.ws.next() => Event::Incoming(incoming),
                () = &mut timer => match Instant::now() >= silent_until {
                    true => Event::Silent,
                    // The next Ping a heartbeat after this one, however late this one was.
                    false => {
                        next_ping = Instant::now() + heartbeat_every;
                        Event::Heartbeat
                    }
                },
                frame = self.outbound.recv() => Event::Outbound(frame),
            };
            let outcome = match event {
                Event::Shutdown => Err(End::close(1001, "server shutting down")),
                Event::Closing => Err(self.outbound.close_request().map_or_else(End::slow_consumer, |request| End::close(request.code, request.reason))),
                // Boxed: the waiting loop stays small (see `serve`).
                Event::Outbound(frame) => Box::pin(self.write_outbound(frame)).await,
                Event::Heartbeat => {
                    // A heartbeat with nothing queued: the queue's buffer goes back until the next event.
                    self.outbound.release_if_empty();
                    Box::pin(self.conn.ping()).await
                }
                Event::Silent => Err(End::close(1001, "heartbeat timeout")),
                Event::Incoming(incoming) => Box::pin(self.incoming(incoming)).await,
            };
            if let Err(end) = outcome {
                return end;
            }
        }
    }

    /// Writes a queued event and whatever else is queued behind it, with one flush.
    async fn write_outbound(&mut self, first: Utf8Bytes) -> Result<(), End> {
        let mut frames = vec![first];
        while frames.len() < WRITE_BATCH {
            match self.outbound.try_recv() {
                Some(frame) => frames.push(frame),
                None => break,
            }
        }
        let closing = self.handle.closing().clone();
        self.conn.write_frames(frames, &closing).await
    }

    /// Writes out the events queued at this moment (not those the hub adds
    /// meanwhile, which a busy room would make endless): the barrier before
    /// a frame from the peer is handled. A write that stalls, or a queue
    /// that overflows meanwhile, ends the session as a slow consumer.
    async fn write_queued(&mut self) -> Result<(), End> {
        let mut left = self.outbound.queued();
        while left > 0 {
            let mut frames = Vec::with_capacity(left.min(WRITE_BATCH));
            while frames.len() < left.min(WRITE_BATCH) {
                match self.outbound.try_recv() {
                    Some(frame) => frames.push(frame),
                    None => break,
                }
            }
            if frames.is_empty() {
                break;
            }
            left -= frames.len();
            let closing = self.handle.closing().clone();
            self.conn.write_frames(frames, &closing).await?;
        }
        Ok(())
    }

    async fn incoming(
        &mut self,
        incoming: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<(), End> {
        let message = self.conn.received(incoming)?;
        self.write_queued().await?;
        match message {
            Message::Text(text) => self.text_frame(&text).await,
            // tungstenite queued the Pong; send it now rather than with the next event.
            Message::Ping(_) => self.conn.flush().await,
            Message::Binary(_) => {
                let msg = ServerMsg::error(
                    ErrorCode::BadRequest,
                    "binary frames are reserved for attachments; send JSON in text frames",
                );
                self.conn.reply(&msg, None).await
            }
            _ => Ok(()),
        }
    }
}
