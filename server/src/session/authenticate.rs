//! The unauthenticated phase: the first frame must be `register`, `login` or
//! `resume`. A failed attempt gets its `error` and the client may try again,
//! but within one fixed lifetime from the moment the connection was accepted
//! and at most `auth_attempts` times; anything else is refused with
//! `unauthorized` and 1008.
//!
//! While an attempt waits for its password hash the socket is still read,
//! so a client that goes away takes its queued hash with it (the hashing
//! queue drops a job nobody waits for). One frame that arrives meanwhile
//! (a pipelined next attempt) is kept for afterwards; the socket is not read
//! further until then.

use super::socket::{Connection, End};
use crate::accounts::{AuthError, Authenticated};
use crate::shared::Shared;
use futures_util::StreamExt;
use heartlink_protocol::{ClientMsg, ErrorCode, Request, RequestRef, ServerMsg, decode_request};
use std::net::IpAddr;
use std::sync::Arc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

enum Attempt {
    /// A login frame: try it.
    Credentials(ClientMsg, Option<RequestRef>),
    /// A login frame with a bad field: answer and let the client try again.
    Invalid(ServerMsg, Option<RequestRef>),
    /// Anything else before authentication.
    Refuse(&'static str),
    /// Nothing (a Ping or Pong): keep waiting.
    Nothing,
}

/// What the socket did while an attempt was being checked.
enum Meanwhile {
    Checked(Result<Authenticated, AuthError>),
    /// The peer closed or vanished: the attempt is dropped with its hash job.
    Gone(End),
    TimedOut,
    Shutdown,
}

/// The refusal when the lifetime before login is over.
const TIMEOUT: (&str, &str) = ("authentication timeout: log in within the deadline", "authentication timeout");
/// The refusal after the last allowed attempt.
const TOO_MANY: (&str, &str) =
    ("too many authentication attempts on this connection; reconnect to try again", "too many attempts");

impl Connection {
    /// Waits for a successful `register`/`login`/`resume` until `deadline`
    /// (fixed: failures do not extend it). `None` when the connection ended
    /// instead (it has been closed and logged).
    pub async fn authenticate(&mut self, deadline: Instant) -> Option<(Authenticated, Option<RequestRef>)> {
        let shutdown = self.shared.shutdown.clone();
        let mut attempts = 0u32;
        let mut kept: Option<Option<Result<Message, WsError>>> = None;
        loop {
            let incoming = match kept.take() {
                Some(incoming) => incoming,
                None => tokio::select! {
                    () = shutdown.cancelled() => return self.refuse(End::close(1001, "server shutting down")).await,
                    next = tokio::time::timeout_at(deadline, self.ws.next()) => match next {
                        Ok(incoming) => incoming,
                        Err(_) => return self.unauthorized(TIMEOUT).await,
                    },
                },
            };
            let message = match self.received(incoming) {
                Ok(message) => message,
                Err(end) => return self.refuse(end).await,
            };
            let (reply, reference) = match classify(message) {
                Attempt::Credentials(msg, reference) => {
                    attempts += 1;
                    match self.check(msg, deadline, &mut kept).await {
                        Meanwhile::Checked(Ok(auth)) => return Some((auth, reference)),
                        Meanwhile::Checked(Err(err)) => {
                            if err.is_internal() {
                                let cause = crate::report::Chain(&err);
                                tracing::error!(peer = %self.peer, %cause, "authentication failed internally");
                            }
                            if let Some(pause) = err.pause() {
                                if let Some(gone) = self.hold_back(pause, deadline, &mut kept).await {
                                    return gone;
                                }
                            }
                            (err.reply(), reference)
                        }
                        Meanwhile::Gone(end) => return self.refuse(end).await,
                        Meanwhile::TimedOut => return self.unauthorized(TIMEOUT).await,
                        Meanwhile::Shutdown => return self.refuse(End::close(1001, "server shutting down")).await,
                    }
                }
                Attempt::Invalid(reply, reference) => {
                    attempts += 1;
                    (reply, reference)
                }
                Attempt::Refuse(why) => return self.unauthorized((why, "not authenticated")).await,
                Attempt::Nothing => continue,
            };
            if let Err(end) = self.reply(&reply, reference.as_ref()).await {
                return self.refuse(end).await;
            }
            if attempts >= self.shared.config.auth_attempts {
                return self.unauthorized(TOO_MANY).await;
            }
        }
    }

    /// Checks the credentials while watching the socket and the clock.
    async fn check(
        &mut self,
        msg: ClientMsg,
        deadline: Instant,
        kept: &mut Option<Option<Result<Message, WsError>>>,
    ) -> Meanwhile {
        // Only `resume{presence:false}` opts out; the last attempt decides.
        self.presence = !matches!(msg, ClientMsg::Resume { presence: false, .. });
        let checking = try_credentials(Arc::clone(&self.shared), msg, self.peer.ip());
        tokio::pin!(checking);
        let shutdown = self.shared.shutdown.clone();
        loop {
            tokio::select! {
                result = &mut checking => return Meanwhile::Checked(result),
                () = shutdown.cancelled() => return Meanwhile::Shutdown,
                () = tokio::time::sleep_until(deadline) => return Meanwhile::TimedOut,
                incoming = self.ws.next(), if kept.is_none() => {
                    if let Some(end) = self.keep(incoming, kept) {
                        return Meanwhile::Gone(end);
                    }
                }
            }
        }
    }

    /// Waits `pause` before a refusal, watching the socket like [`Self::check`].
    /// `Some` when the connection ended meanwhile (closed and logged).
    async fn hold_back<T>(
        &mut self,
        pause: std::time::Duration,
        deadline: Instant,
        kept: &mut Option<Option<Result<Message, WsError>>>,
    ) -> Option<Option<T>> {
        let until = (Instant::now() + pause).min(deadline);
        let shutdown = self.shared.shutdown.clone();
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return None,
                () = shutdown.cancelled() => return Some(self.refuse(End::close(1001, "server shutting down")).await),
                incoming = self.ws.next(), if kept.is_none() => {
                    if let Some(end) = self.keep(incoming, kept) {
                        return Some(self.refuse(end).await);
                    }
                }
            }
        }
    }

    /// A frame read while busy: the end of the connection, or kept for later
    /// (Pings and Pongs are only proof of life and need no keeping).
    fn keep(&mut self, incoming: Option<Result<Message, WsError>>, kept: &mut Option<Option<Result<Message, WsError>>>) -> Option<End> {
        match incoming {
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => None,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => self.received(incoming).err(),
            Some(Ok(message)) => {
                *kept = Some(Some(Ok(message)));
                None
            }
        }
    }

    async fn unauthorized<T>(&mut self, (why, close_reason): (&'static str, &'static str)) -> Option<T> {
        tracing::info!(peer = %self.peer, reason = why, "refused before authentication");
        let refusal = ServerMsg::error(ErrorCode::Unauthorized, why);
        match self.reply(&refusal, None).await {
            Ok(()) => self.finish(End::close(1008, close_reason)).await,
            Err(end) => tracing::info!(peer = %self.peer, reason = %end, "connection ended before authentication"),
        }
        None
    }

    async fn refuse<T>(&mut self, end: End) -> Option<T> {
        tracing::info!(peer = %self.peer, reason = %end, "connection ended before authentication");
        self.finish(end).await;
        None
    }
}

async fn try_credentials(shared: Arc<Shared>, msg: ClientMsg, peer: IpAddr) -> Result<Authenticated, AuthError> {
    let accounts = &shared.accounts;
    match msg {
        ClientMsg::Register { username, password } => accounts.register(&username, &password, peer).await,
        ClientMsg::Login { username, password } => accounts.login(&username, &password, peer).await,
        ClientMsg::Resume { token, .. } => accounts.resume(&token).await,
        _ => Err(AuthError::BadCredentials),
    }
}

fn classify(message: Message) -> Attempt {
    let text = match message {
        Message::Text(text) => text,
        Message::Binary(_) => return Attempt::Refuse("log in first: the first frame must be register, login or resume"),
        _ => return Attempt::Nothing,
    };
    match decode_request(&text) {
        Ok(Request { msg, reference }) if msg.is_authentication() => Attempt::Credentials(msg, reference),
        Err(err) if err.is_authentication() => Attempt::Invalid(err.to_reply(), err.reference),
        _ => Attempt::Refuse("log in first: the first frame must be register, login or resume"),
    }
}
