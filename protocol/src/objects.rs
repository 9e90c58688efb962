//! The objects inside server messages (PROTOCOL.md: `user`, `room`, members,
//! messages, attachments, calls, relations). Since v1 unless noted; every
//! wave-2 field is optional on the wire (`#[serde(default)]`), so frames of
//! an older server still decode.

use crate::ids::{CallId, MediaId, RoomId, UserId};
use serde::{Deserialize, Serialize};

fn is_false(value: &bool) -> bool {
    !*value
}

/// `user` objects: `{id, username}`. In a `pair` room before both revealed,
/// the peer appears under a per-room alias id and alias name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
}

/// A room's kind: `group` rooms admit anyone with the id, `pair` rooms their two users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    #[default]
    Group,
    Pair,
}

/// `room` objects: `{id, name, kind, created_by, created_at}`. A `pair`
/// room's `name` is the peer's alias (for each of the two) and it has no
/// `created_by` (since wave 2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub id: RoomId,
    pub name: String,
    pub kind: RoomKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<UserId>,
    /// Unix epoch milliseconds.
    pub created_at: u64,
    /// Since wave 2 (extension, docs/PROTOCOL.md): a pair room whose chat
    /// ended — read-only, its history kept.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ended: bool,
}

/// Since wave 2: presence beyond online/offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Away,
    Offline,
}

/// One entry of `joined.members` and `members.members`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user: User,
    pub online: bool,
    /// Since wave 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PresenceStatus>,
    /// Since wave 2: when an `offline` member was last seen (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<u64>,
}

/// Since wave 2: what an attachment is, as the server decided from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Image,
    Voice,
    File,
}

/// Since wave 2: a message's attachment, as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub media_id: MediaId,
    /// The uploader's file name, made safe (no path, control or format characters).
    pub name: String,
    /// The sniffed type, never the uploader's claim.
    pub mime: String,
    pub size: u64,
    /// The whole file's SHA-256, lowercase hex.
    pub sha256: String,
    pub kind: AttachmentKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waveform: Option<Vec<u8>>,
}

/// Since wave 2: a step in a call's story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallAction {
    Invite,
    Accept,
    Decline,
    Cancel,
    /// Appended by the server when a call rang out unanswered.
    Missed,
}

/// Since wave 2: a message's `call` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallInfo {
    pub call_id: CallId,
    pub action: CallAction,
    /// The link to open (on the invite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When the invite stops ringing (ms; on the invite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// Since wave 2: how a message relates to an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelKind {
    Reply,
    Edit,
    Delete,
    React,
}

/// Since wave 2: `relates_to{seq, rel}` on a `send` and on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RelatesTo {
    pub seq: u64,
    pub rel: RelKind,
}

/// A stored message, as broadcast in `chat_message` and listed in `joined`
/// and `history`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub room_id: RoomId,
    pub seq: u64,
    pub sender: User,
    pub body: String,
    /// Unix epoch milliseconds, the server's clock when the message was stored.
    pub ts: u64,
    pub client_msg_id: String,
    /// Since wave 2. Boxed (as is `call`): most messages have neither, and
    /// every `ServerMsg` is as large as its largest variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Box<Attachment>>,
    /// Since wave 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<Box<CallInfo>>,
    /// Since wave 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relates_to: Option<RelatesTo>,
    /// Since wave 2: the users this message names (`@username`) or replies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<UserId>,
    /// Since wave 2: the message was deleted; its body and attachment are gone.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
}

/// One entry of `rooms.rooms`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub room: Room,
    pub last_seq: u64,
    pub read_seq: u64,
    /// Since wave 2: unread messages that mention the user.
    #[serde(default)]
    pub mentions: u64,
}

/// Since v1 (extension, docs/PROTOCOL.md): one member's read marker, listed in `joined.reads`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadMarker {
    pub user: User,
    pub seq: u64,
}

/// Since wave 2: why a user left a room, on `user_left`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    Kicked,
    Banned,
}
