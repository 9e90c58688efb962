//! The records kept in the store, serialized as JSON values in sled.

use heartlink_protocol::{Attachment, ChatMessage, Room, RoomId, RoomKind, User, UserId};
use serde::{Deserialize, Serialize};

/// An account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: UserId,
    /// As the user typed it at registration (unique by its lower-case form).
    pub username: String,
    /// The argon2id PHC string (salt and parameters included).
    pub password_hash: String,
    pub created_at: u64,
}

impl UserRecord {
    /// The wire `user` object.
    pub fn user(&self) -> User {
        User { id: self.id, username: self.username.clone() }
    }
}

/// What a token hash points at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub user_id: UserId,
    pub issued_at: u64,
    /// Refreshed on every successful `resume`; expiry counts from here.
    pub last_used: u64,
}

/// A room.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoomRecord {
    pub id: RoomId,
    pub name: String,
    pub kind: RoomKind,
    pub created_by: UserId,
    pub created_at: u64,
    /// For a `pair` room, the only two users it admits.
    #[serde(default)]
    pub pair: Vec<UserId>,
}

impl RoomRecord {
    /// The wire `room` object.
    pub fn room(&self) -> Room {
        Room {
            id: self.id,
            name: self.name.clone(),
            kind: self.kind,
            created_by: Some(self.created_by),
            created_at: self.created_at,
        }
    }

    /// Whether `user` may join: anyone for a group room, its two users for a pair room.
    pub fn admits(&self, user: UserId) -> bool {
        match self.kind {
            RoomKind::Group => true,
            RoomKind::Pair => self.pair.contains(&user),
        }
    }
}

/// A message as stored under `room_id ++ seq`. The sender's name is kept with
/// it (usernames never change) so history needs no user lookups.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredMessage {
    pub sender: User,
    pub body: String,
    pub ts: u64,
    pub client_msg_id: String,
    /// The attachment as the server described it when the message was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Box<Attachment>>,
}

impl StoredMessage {
    /// The wire message for this record.
    pub fn into_chat(self, room_id: RoomId, seq: u64) -> ChatMessage {
        ChatMessage {
            room_id,
            seq,
            sender: self.sender,
            body: self.body,
            ts: self.ts,
            client_msg_id: self.client_msg_id,
            attachment: self.attachment,
            ..ChatMessage::default()
        }
    }
}
