//! Client → server messages (PROTOCOL.md, "Client → server"). Since v1 unless
//! noted. A request's optional `ref` travels beside the message, in
//! [`crate::Request`].

use crate::fields::{Body, ClientMsgId, ListLimit, MatchCode, PageLimit, Password, ReportReason, RoomName, Secret, Username};
use crate::ids::{CallId, MediaId, RoomId, UserId};
use crate::objects::{RelatesTo, PresenceStatus};
use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Since wave 2: `send.attachment`, a completed upload of the sender's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub media_id: MediaId,
    /// For a voice message: 1–600000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
    /// For a voice message: 1–128 peak levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waveform: Option<Vec<u8>>,
}

/// Since wave 2: what a client may do to a call (`missed` is the server's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallRequestAction {
    Invite,
    Accept,
    Decline,
    Cancel,
}

/// Since wave 2: `send.call`: an invitation (no `call_id`) or an answer to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallRequest {
    pub action: CallRequestAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<CallId>,
}

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
    Resume {
        token: Secret,
        /// Since v1 (extension): `false` for scripts and bots: this
        /// connection does not make the user appear online.
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        presence: bool,
    },
    /// Revokes this connection's token (every token of the user with
    /// `everywhere`) and closes with 1000.
    Logout {
        /// Since v1 (extension).
        #[serde(default, skip_serializing_if = "is_false")]
        everywhere: bool,
    },
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
    /// Since wave 2 `body` may be empty when the message carries an
    /// attachment, a call or a deletion.
    Send {
        room_id: RoomId,
        client_msg_id: ClientMsgId,
        #[serde(default)]
        body: Body,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<AttachmentRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call: Option<CallRequest>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        relates_to: Option<RelatesTo>,
    },
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
    /// Lists the rooms this user is a member of, a page at a time. Reply: `rooms`.
    ListRooms {
        /// Since v1 (extension): the `cursor` of the previous `rooms` page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<ListLimit>,
    },
    /// Since v1 (extension): a page of a room's members. Reply: `members`.
    Members {
        room_id: RoomId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<ListLimit>,
    },
    /// Since wave 2: `away` or back `online` (no reply).
    SetStatus { status: PresenceStatus },
    /// Waits to be paired with another waiting user (with the same `code`,
    /// since wave 2). Reply: `match_waiting`, later `matched`.
    Match {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<MatchCode>,
    },
    /// Stops waiting for a match. Reply: `match_cancelled`.
    CancelMatch,
    /// Since wave 2: shows this user's identity to the pair room's peer once both asked.
    Reveal { room_id: RoomId },
    /// Since wave 2: ends a pair chat. Reply: `match_ended`.
    EndMatch { room_id: RoomId },
    /// Since wave 2: blocks a user, or a pair room's peer. Reply: `blocked`.
    Block {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<UserId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room_id: Option<RoomId>,
    },
    /// Since wave 2. Reply: `unblocked`.
    Unblock { user_id: UserId },
    /// Since wave 2: reports a room (or one message of it) to the operator. Reply: `reported`.
    Report {
        room_id: RoomId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
        reason: ReportReason,
    },
    /// Since wave 2: a group room's creator removes a member. Reply: `kicked`.
    Kick { room_id: RoomId, user_id: UserId },
    /// Since wave 2. Reply: `banned`.
    Ban { room_id: RoomId, user_id: UserId },
    /// Since wave 2. Reply: `unbanned`.
    Unban { room_id: RoomId, user_id: UserId },
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
            Self::Logout { .. } => "logout",
            Self::CreateRoom { .. } => "create_room",
            Self::Join { .. } => "join",
            Self::Leave { .. } => "leave",
            Self::Send { .. } => "send",
            Self::History { .. } => "history",
            Self::Typing { .. } => "typing",
            Self::Read { .. } => "read",
            Self::ListRooms { .. } => "list_rooms",
            Self::Members { .. } => "members",
            Self::SetStatus { .. } => "set_status",
            Self::Match { .. } => "match",
            Self::CancelMatch => "cancel_match",
            Self::Reveal { .. } => "reveal",
            Self::EndMatch { .. } => "end_match",
            Self::Block { .. } => "block",
            Self::Unblock { .. } => "unblock",
            Self::Report { .. } => "report",
            Self::Kick { .. } => "kick",
            Self::Ban { .. } => "ban",
            Self::Unban { .. } => "unban",
            Self::Ping => "ping",
        }
    }

    /// Whether this message may open a session (the first frame).
    pub fn is_authentication(&self) -> bool {
        matches!(self, Self::Register { .. } | Self::Login { .. } | Self::Resume { .. })
    }
}
