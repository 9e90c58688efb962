//! Decoding and dispatching an authenticated connection's requests.

use super::Session;
use super::moderation::Removal;
use super::socket::End;
use crate::accounts::AuthError;
use crate::bus::BusError;
use crate::commit::QueueClosed;
use crate::hub::JoinError;
use crate::live::LiveError;
use crate::store::StoreError;
use heartlink_protocol::{ClientMsg, ErrorCode, Request, RequestRef, RoomId, ServerMsg, decode_request};
use std::time::Instant;

/// Why a request produced no success reply.
pub(super) enum Fail {
    /// Refused with this `error` (the connection stays open).
    Refused { code: ErrorCode, message: &'static str },
    /// `rate_limited`, retry after this many milliseconds.
    RateLimited { message: &'static str, retry_after_ms: u64 },
    /// Something broke inside; logged with its causes, and the client gets `internal`.
    Internal(Internal),
    /// The request ends the session (logout).
    End(End),
}

impl Fail {
    pub(super) fn code(code: ErrorCode, message: &'static str) -> Self {
        Self::Refused { code, message }
    }
}

/// What broke inside while a request was handled.
#[derive(Debug, thiserror::Error)]
pub(super) enum Internal {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Live(#[from] LiveError),
    #[error(transparent)]
    Join(#[from] JoinError),
    #[error(transparent)]
    Commit(#[from] QueueClosed),
    #[error("a blocking task failed")]
    Task(#[from] tokio::task::JoinError),
}

macro_rules! internal_from {
    ($($source:ty),*) => {$(
        impl From<$source> for Fail {
            fn from(err: $source) -> Self {
                Self::Internal(Internal::from(err))
            }
        }
    )*};
}
internal_from!(StoreError, AuthError, BusError, LiveError, JoinError, QueueClosed, tokio::task::JoinError);

pub(super) type Handled = Result<(), Fail>;

impl Session {
    /// One text frame from an authenticated client.
    pub(super) async fn text_frame(&mut self, text: &str) -> Result<(), End> {
        let request = match decode_request(text) {
            Ok(request) => request,
            Err(err) => return self.conn.reply(&err.to_reply(), err.reference.as_ref()).await,
        };
        let Request { msg, reference } = request;
        // `send` has its own per-user limit (`--send-rate`, 0 = unlimited for
        // load tests); every other request counts against this connection's.
        let limited = match msg {
            ClientMsg::Send { .. } => Ok(()),
            _ => self.requests.take(Instant::now()),
        };
        if let Err(wait) = limited {
            let refusal = ServerMsg::rate_limited("too many requests on this connection", crate::rate_limit::retry_after_ms(wait));
            return self.conn.reply(&refusal, reference.as_ref()).await;
        }
        let kind = msg.kind();
        match self.dispatch(msg, reference.as_ref()).await {
            Ok(()) => Ok(()),
            Err(Fail::Refused { code, message }) => {
                self.conn.reply(&ServerMsg::error(code, message), reference.as_ref()).await
            }
            Err(Fail::RateLimited { message, retry_after_ms }) => {
                self.conn.reply(&ServerMsg::rate_limited(message, retry_after_ms), reference.as_ref()).await
            }
            Err(Fail::Internal(err)) => {
                let cause = crate::report::Chain(&err);
                tracing::error!(conn = %self.handle.id, request = kind, %cause, "request failed");
                let reply = ServerMsg::Error {
                    code: ErrorCode::Internal,
                    message: "internal server error; try again".into(),
                    retry_after_ms: Some(crate::commit::STORE_RETRY_AFTER_MS),
                };
                self.conn.reply(&reply, reference.as_ref()).await
            }
            Err(Fail::End(end)) => Err(end),
        }
    }

    async fn dispatch(&mut self, msg: ClientMsg, reference: Option<&RequestRef>) -> Handled {
        match msg {
            ClientMsg::Register { .. } | ClientMsg::Login { .. } | ClientMsg::Resume { .. } => {
                Err(Fail::code(ErrorCode::BadRequest, "this connection is already authenticated"))
            }
            ClientMsg::Logout { everywhere } => self.logout(everywhere).await,
            ClientMsg::CreateRoom { name } => self.create_room(name, reference).await,
            ClientMsg::Join { room_id, since } => self.join(room_id, since, reference).await,
            ClientMsg::Leave { room_id } => self.leave(room_id, reference).await,
            ClientMsg::Send { client_msg_id, .. } if client_msg_id.as_str().starts_with(crate::calls::MISSED_PREFIX) => {
                Err(Fail::code(ErrorCode::BadRequest, "client_msg_ids starting with missed- are the server's"))
            }
            ClientMsg::Send { room_id, client_msg_id, body, attachment: None, call: Some(call), relates_to: None } => {
                self.send_call(room_id, client_msg_id, body, call, reference).await
            }
            ClientMsg::Send { attachment: Some(_), call: Some(_), .. } => {
                Err(Fail::code(ErrorCode::BadRequest, "a call message carries no attachment"))
            }
            ClientMsg::Send { call: Some(_), relates_to: Some(_), .. } => {
                Err(Fail::code(ErrorCode::BadRequest, "a call message does not relate to another message"))
            }
            ClientMsg::Send { room_id, client_msg_id, body, attachment, call: None, relates_to } => {
                // With an attachment the body is its caption and may be empty;
                // a deletion has none (checked with the relation).
                self.send_message(room_id, client_msg_id, body, attachment, relates_to, reference).await
            }
            ClientMsg::History { room_id, before_seq, limit } => {
                self.history(room_id, before_seq, limit.unwrap_or_default(), reference).await
            }
            ClientMsg::Typing { room_id, active } => self.typing(room_id, active).await,
            ClientMsg::Read { room_id, seq } => self.read(room_id, seq).await,
            ClientMsg::ListRooms { cursor, limit } => self.list_rooms(cursor, limit, reference).await,
            ClientMsg::Members { room_id, cursor, limit } => self.members(room_id, cursor, limit, reference).await,
            ClientMsg::Match { code } => self.request_match(code, reference).await,
            ClientMsg::CancelMatch => self.cancel_match(reference).await,
            ClientMsg::Reveal { room_id } => self.reveal(room_id, reference).await,
            ClientMsg::EndMatch { room_id } => self.end_match(room_id, reference).await,
            ClientMsg::Block { user_id, room_id } => self.block(user_id, room_id, reference).await,
            ClientMsg::Unblock { user_id } => self.unblock(user_id, reference).await,
            ClientMsg::Report { room_id, seq, reason } => self.report(room_id, seq, reason, reference).await,
            ClientMsg::Kick { room_id, user_id } => self.remove_member(room_id, user_id, Removal::Kick, reference).await,
            ClientMsg::Ban { room_id, user_id } => self.remove_member(room_id, user_id, Removal::Ban, reference).await,
            ClientMsg::Unban { room_id, user_id } => self.unban(room_id, user_id, reference).await,
            ClientMsg::SetStatus { status } => self.set_status(status).await,
            ClientMsg::Ping => self.respond(&ServerMsg::Pong, reference).await,
        }
    }

    /// Sends a success reply, as this user may see it (`seen.rs`).
    pub(super) async fn respond(&mut self, msg: &ServerMsg, reference: Option<&RequestRef>) -> Handled {
        let seen = self.seen(msg).await?;
        self.conn.reply(seen.as_ref().unwrap_or(msg), reference).await.map_err(Fail::End)
    }

    /// `forbidden` unless this connection joined `room`; `not_found` for an unknown room.
    pub(super) async fn require_joined(&self, room: RoomId) -> Handled {
        if self.conn.shared.hub.is_joined(self.handle.id, room) {
            return Ok(());
        }
        if self.conn.shared.store.room(room).await?.is_none() {
            return Err(Fail::code(ErrorCode::NotFound, "no such room"));
        }
        Err(Fail::code(ErrorCode::Forbidden, "join the room on this connection first"))
    }
}
