//! Server → client messages and the objects inside them (PROTOCOL.md,
//! "Server → client"). Since v1 unless noted.

use crate::ids::{RoomId, SessionId};
use crate::objects::{
    CallInfo, ChatMessage, LeaveReason, Member, PresenceStatus, ReadMarker, Room, RoomSummary, User,
};
use serde::{Deserialize, Serialize};

fn is_false(value: &bool) -> bool {
    !*value
}

/// `error.code` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    RateLimited,
    TooLarge,
    UsernameTaken,
    InvalidUsername,
    WeakPassword,
    BadCredentials,
    RegistrationClosed,
    Internal,
    /// Since wave 2: the account is banned by the operator.
    Banned,
    /// Since wave 2: the upload is not complete yet.
    NotReady,
}

impl ErrorCode {
    /// Every code, for parsing.
    pub const ALL: [ErrorCode; 14] = [
        Self::BadRequest,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::RateLimited,
        Self::TooLarge,
        Self::UsernameTaken,
        Self::InvalidUsername,
        Self::WeakPassword,
        Self::BadCredentials,
        Self::RegistrationClosed,
        Self::Internal,
        Self::Banned,
        Self::NotReady,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::RateLimited => "rate_limited",
            Self::TooLarge => "too_large",
            Self::UsernameTaken => "username_taken",
            Self::InvalidUsername => "invalid_username",
            Self::WeakPassword => "weak_password",
            Self::BadCredentials => "bad_credentials",
            Self::RegistrationClosed => "registration_closed",
            Self::Internal => "internal",
            Self::Banned => "banned",
            Self::NotReady => "not_ready",
        }
    }

    /// Parses the wire spelling.
    pub fn from_wire(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == s)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every message the server sends. The JSON `type` is the snake_case variant name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    ConnectionEstablished {
        user: User,
        token: String,
        session_id: SessionId,
        heartbeat_secs: u64,
        server_version: String,
        protocol: u32,
        /// Since wave 2: the users this account blocked (strangers in alias form).
        #[serde(default)]
        blocked: Vec<User>,
    },
    RoomCreated {
        room: Room,
    },
    Joined {
        room: Room,
        members: Vec<Member>,
        last_seq: u64,
        messages: Vec<ChatMessage>,
        has_more: bool,
        /// Since v1 (extension): the other members' read markers, so a client
        /// can show where others have read up to without waiting for a receipt.
        #[serde(default)]
        reads: Vec<ReadMarker>,
        /// Since v1 (extension): present when the room has more members than
        /// `members` lists; page on with `members{cursor}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        members_cursor: Option<String>,
    },
    Left {
        room_id: RoomId,
    },
    UserJoined {
        room_id: RoomId,
        user: User,
    },
    UserLeft {
        room_id: RoomId,
        user: User,
        /// Since wave 2: set when the room's creator removed the user.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<LeaveReason>,
    },
    Presence {
        user: User,
        online: bool,
        /// Since wave 2.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<PresenceStatus>,
        /// Since wave 2: when an `offline` user was last seen (ms).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen: Option<u64>,
        /// Since wave 2: set when the user is shown under a pair room's alias.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room_id: Option<RoomId>,
    },
    /// A newtype variant so the same [`ChatMessage`] object serves the
    /// broadcast and the `messages` lists, field for field.
    ChatMessage(ChatMessage),
    Ack {
        room_id: RoomId,
        client_msg_id: String,
        seq: u64,
        ts: u64,
        /// Since wave 2: the invite's `call` object, on the ack of a call invitation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call: Option<CallInfo>,
    },
    History {
        room_id: RoomId,
        messages: Vec<ChatMessage>,
        has_more: bool,
    },
    Typing {
        room_id: RoomId,
        user: User,
        active: bool,
    },
    ReadReceipt {
        room_id: RoomId,
        user: User,
        seq: u64,
    },
    Rooms {
        rooms: Vec<RoomSummary>,
        /// Since v1 (extension): more rooms follow; ask `list_rooms{cursor}`.
        #[serde(default, skip_serializing_if = "is_false")]
        has_more: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<String>,
    },
    /// Since v1 (extension): a page of a room's members.
    Members {
        room_id: RoomId,
        members: Vec<Member>,
        has_more: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<String>,
    },
    /// Since wave 2: new messages in a room this connection has not joined.
    RoomActivity {
        room_id: RoomId,
        last_seq: u64,
        mentions: u64,
    },
    MatchWaiting,
    MatchCancelled,
    /// Since wave 2: a wait for a match ended unmatched after its time limit.
    MatchExpired,
    Matched {
        room: Room,
    },
    /// Since wave 2: the first of the two `reveal`s.
    RevealPending {
        room_id: RoomId,
    },
    /// Since wave 2: both revealed; `peer` is the real account.
    Revealed {
        room_id: RoomId,
        peer: User,
    },
    /// Since wave 2: a pair chat ended (`by` in alias form).
    MatchEnded {
        room_id: RoomId,
        by: User,
    },
    /// Since wave 2.
    Blocked {
        user: User,
    },
    /// Since wave 2.
    Unblocked {
        user: User,
    },
    /// Since wave 2: a report was stored for the operator.
    Reported {
        room_id: RoomId,
    },
    /// Since wave 2: answers to the creator's `kick`, `ban`, `unban`.
    Kicked {
        room_id: RoomId,
        user: User,
    },
    Banned {
        room_id: RoomId,
        user: User,
    },
    Unbanned {
        room_id: RoomId,
        user: User,
    },
    Pong,
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

impl ServerMsg {
    /// An `error` without `retry_after_ms`.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error { code, message: message.into(), retry_after_ms: None }
    }

    /// A `rate_limited` error telling the client when to try again.
    pub fn rate_limited(message: impl Into<String>, retry_after_ms: u64) -> Self {
        Self::Error { code: ErrorCode::RateLimited, message: message.into(), retry_after_ms: Some(retry_after_ms) }
    }
}
