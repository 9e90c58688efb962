//! Client → server messages (PROTOCOL.md, "Client → server"). Since v1 unless
//! noted. A request's optional `ref` travels beside the message, in
//! [`crate::Request`].

use crate::fields::{Body, ClientMsgId, PageLimit, Password, RoomName, Secret, Username};
use crate::ids::RoomId;
use serde::{Deserialize, Serialize};

/// Every message a client may send. The JSON `type` is the snake_case variant name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Creates an account and logs in. Reply: `connection_established`.
    Register { username: Username, password: Password },
    /// Logs in. The fields are not validated here: a malformed username or
    /// password is simply wrong (`bad_credentials`), never a hint.
    Login { username: String, password: Secret },
    /// Logs in again with a token from an earlier `connection_established`.
    Resume { token: Secret },
    /// Revokes this connection's token and closes with 1000.
    Logout,
    /// Creates a `group` room; the creator becomes a member. Reply: `room_created`.
    CreateRoom { name: RoomName },
    /// Joins a room on this connection (and as a member). Reply: `joined`.
    Join {
        room_id: RoomId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
    },
    /// Ends membership. Reply: `left`.
    Leave { room_id: RoomId },
    /// Posts a message; idempotent per (sender, room, client_msg_id). Reply: `ack`.
    Send { room_id: RoomId, client_msg_id: ClientMsgId, body: Body },
    /// Pages back through a room. Reply: `history`.
    History {
        room_id: RoomId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before_seq: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<PageLimit>,
    },
    /// Starts or stops the typing indicator. No reply.
    Typing { room_id: RoomId, active: bool },
    /// Moves this user's read marker forward. No reply.
    Read { room_id: RoomId, seq: u64 },
    /// Lists the rooms this user is a member of. Reply: `rooms`.
    ListRooms,
    /// Waits to be paired with another waiting user. Reply: `match_waiting`, later `matched`.
    Match,
    /// Stops waiting for a match. Reply: `match_cancelled`.
    CancelMatch,
    /// Application-level ping. Reply: `pong`.
    Ping,
}

impl ClientMsg {
    /// The wire `type` of this message, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Register { .. } => "register",
            Self::Login { .. } => "login",
            Self::Resume { .. } => "resume",
            Self::Logout => "logout",
            Self::CreateRoom { .. } => "create_room",
            Self::Join { .. } => "join",
            Self::Leave { .. } => "leave",
            Self::Send { .. } => "send",
            Self::History { .. } => "history",
            Self::Typing { .. } => "typing",
            Self::Read { .. } => "read",
            Self::ListRooms => "list_rooms",
            Self::Match => "match",
            Self::CancelMatch => "cancel_match",
            Self::Ping => "ping",
        }
    }

    /// Whether this message may open a session (the first frame).
    pub fn is_authentication(&self) -> bool {
        matches!(self, Self::Register { .. } | Self::Login { .. } | Self::Resume { .. })
    }
}
