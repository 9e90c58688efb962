//! Server → client messages and the objects inside them (PROTOCOL.md,
//! "Server → client"). Since v1 unless noted.

use crate::ids::{RoomId, SessionId, UserId};
use serde::{Deserialize, Serialize};

/// `user` objects: `{id, username}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
}

/// A room's kind: `group` rooms admit anyone with the id, `pair` rooms their two users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    Group,
    Pair,
}

/// `room` objects: `{id, name, kind, created_by, created_at}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub id: RoomId,
    pub name: String,
    pub kind: RoomKind,
    pub created_by: UserId,
    /// Unix epoch milliseconds.
    pub created_at: u64,
}

/// One entry of `joined.members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user: User,
    pub online: bool,
}

/// A stored message, as broadcast in `chat_message` and listed in `joined`
/// and `history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub room_id: RoomId,
    pub seq: u64,
    pub sender: User,
    pub body: String,
    /// Unix epoch milliseconds, the server's clock when the message was stored.
    pub ts: u64,
    pub client_msg_id: String,
}

/// One entry of `rooms.rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub room: Room,
    pub last_seq: u64,
    pub read_seq: u64,
}

/// Since v1 (extension, docs/PROTOCOL.md): one member's read marker, listed in `joined.reads`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadMarker {
    pub user: User,
    pub seq: u64,
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
}

impl ErrorCode {
    /// Every code, for parsing.
    pub const ALL: [ErrorCode; 12] = [
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
    },
    Presence {
        user: User,
        online: bool,
    },
    /// A newtype variant so the same [`ChatMessage`] object serves the
    /// broadcast and the `messages` lists, field for field.
    ChatMessage(ChatMessage),
    Ack {
        room_id: RoomId,
        client_msg_id: String,
        seq: u64,
        ts: u64,
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
    },
    MatchWaiting,
    MatchCancelled,
    Matched {
        room: Room,
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
