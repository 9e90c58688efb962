//! The unauthenticated phase: the first frame must be `register`, `login` or
//! `resume`, within the deadline. A failed attempt gets its `error` and a
//! fresh deadline; anything else is refused with `unauthorized` and 1008.

use super::socket::{Connection, End};
use crate::accounts::{AuthError, Authenticated};
use futures_util::StreamExt;
use heartlink_protocol::{ClientMsg, ErrorCode, Request, RequestRef, ServerMsg, decode_request};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

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

impl Connection {
    /// Waits for a successful `register`/`login`/`resume`. `None` when the
    /// connection ended instead (it has been closed and logged).
    pub async fn authenticate(&mut self, mut deadline: Instant) -> Option<(Authenticated, Option<RequestRef>)> {
        let shutdown = self.shared.shutdown.clone();
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => return self.refuse(End::close(1001, "server shutting down")).await,
                next = tokio::time::timeout_at(deadline, self.ws.next()) => next,
            };
            let Ok(incoming) = next else {
                return self.unauthorized("authentication timeout: log in within the deadline", "authentication timeout").await;
            };
            let message = match self.received(incoming) {
                Ok(message) => message,
                Err(end) => return self.refuse(end).await,
            };
            match classify(message) {
                Attempt::Credentials(msg, reference) => match self.try_credentials(msg).await {
                    Ok(auth) => return Some((auth, reference)),
                    Err(err) => {
                        if let AuthError::Internal(detail) = &err {
                            tracing::error!(peer = %self.peer, cause = %detail, "authentication failed internally");
                        }
                        self.reply(&err.reply(), reference.as_ref()).await.ok()?;
                        deadline = Instant::now() + self.shared.config.auth_timeout;
                    }
                },
                Attempt::Invalid(reply, reference) => {
                    self.reply(&reply, reference.as_ref()).await.ok()?;
                    deadline = Instant::now() + self.shared.config.auth_timeout;
                }
                Attempt::Refuse(why) => return self.unauthorized(why, "not authenticated").await,
                Attempt::Nothing => {}
            }
        }
    }

    async fn try_credentials(&mut self, msg: ClientMsg) -> Result<Authenticated, AuthError> {
        // Only `resume{presence:false}` opts out; the last attempt decides.
        self.presence = !matches!(msg, ClientMsg::Resume { presence: false, .. });
        let accounts = &self.shared.accounts;
        match msg {
            ClientMsg::Register { username, password } => accounts.register(&username, &password).await,
            ClientMsg::Login { username, password } => accounts.login(&username, &password, self.peer.ip()).await,
            ClientMsg::Resume { token, .. } => accounts.resume(&token),
            _ => Err(AuthError::BadCredentials),
        }
    }

    async fn unauthorized<T>(&mut self, why: &'static str, close_reason: &'static str) -> Option<T> {
        tracing::info!(peer = %self.peer, reason = why, "refused before authentication");
        let refusal = ServerMsg::error(ErrorCode::Unauthorized, why);
        if self.reply(&refusal, None).await.is_ok() {
            self.finish(End::close(1008, close_reason)).await;
        }
        None
    }

    async fn refuse<T>(&mut self, end: End) -> Option<T> {
        tracing::info!(peer = %self.peer, reason = %end, "connection ended before authentication");
        self.finish(end).await;
        None
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
