//! The records kept in the store. These are storage types: their serde
//! names are the stored format (JSON values in the sled implementation) and
//! must not change without a migration, whatever the protocol does. The
//! mapping to wire types is in `wire.rs`.

use heartlink_protocol::{MediaId, RoomId, UserId};
use serde::{Deserialize, Serialize};

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: UserId,
    /// As the user typed it at registration (unique by its canonical form).
    pub username: String,
    /// The argon2id PHC string (salt and parameters included).
    pub password_hash: String,
    pub created_at: u64,
}

impl UserRecord {
    /// The account's id and name, as kept with messages and member lists.
    pub fn summary(&self) -> UserSummary {
        UserSummary { id: self.id, username: self.username.clone() }
    }
}

/// A user's id and name: a message's sender, a room's member. Usernames
/// never change, so they are stored with what they label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: UserId,
    pub username: String,
}

/// What a token hash points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub user_id: UserId,
    pub issued_at: u64,
    /// Refreshed on use; expiry counts from here.
    pub last_used: u64,
}

/// Which users a room admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKindRecord {
    /// Anyone who knows the id.
    Group,
    /// Its two matched users only.
    Pair,
}

/// A room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRecord {
    pub id: RoomId,
    pub name: String,
    pub kind: RoomKindRecord,
    pub created_by: UserId,
    pub created_at: u64,
    /// For a `pair` room, the only two users it admits.
    #[serde(default)]
    pub pair: Vec<UserId>,
}

impl RoomRecord {
    /// Whether `user` may join: anyone for a group room, its two users for a pair room.
    pub fn admits(&self, user: UserId) -> bool {
        match self.kind {
            RoomKindRecord::Group => true,
            RoomKindRecord::Pair => self.pair.contains(&user),
        }
    }
}

/// A member of a room and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub user: UserSummary,
    pub joined_at: u64,
}

impl MemberRecord {
    /// Where this member stands in the room's join order.
    pub fn position(&self) -> MemberPosition {
        MemberPosition { joined_at: self.joined_at, user: self.user.id }
    }
}

/// Where a member stands in a room's join order: members are listed by the
/// time they joined, then by id (for two joins in one millisecond).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemberPosition {
    pub joined_at: u64,
    pub user: UserId,
}

/// A message as stored under its room and seq (which are its key, not part
/// of the value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub sender: UserSummary,
    pub body: String,
    pub ts: u64,
    pub client_msg_id: String,
    /// The attachment as the server described it when the message was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Box<AttachmentRecord>>,
    /// A step of a call (an invitation, an answer, `missed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<Box<super::call_records::CallRecord>>,
    /// A reply, edit, deletion or reaction: the earlier message it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relates_to: Option<RelationRecord>,
    /// The members the message names (`@username`) or replies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<UserId>,
    /// Deleted: its body, attachment and mentions were blanked in storage.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
}

impl MessageRecord {
    /// The message as it is kept once deleted, by every store: who sent it
    /// when, under which id, and what it related to; nothing of what it said.
    pub fn blanked(&self) -> MessageRecord {
        MessageRecord {
            sender: self.sender.clone(),
            body: String::new(),
            ts: self.ts,
            client_msg_id: self.client_msg_id.clone(),
            attachment: None,
            // A call's step stays: the call's state lives in its own records,
            // and its story (who called, who answered) is not what was said.
            call: self.call.clone(),
            relates_to: self.relates_to,
            mentions: Vec::new(),
            deleted: true,
        }
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// An operator's ban of an account: while it stands, the account cannot
/// log in or resume, and its connections are closed (4003).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanRecord {
    pub user_id: UserId,
    /// The operator's reason, shown to the banned user.
    pub reason: String,
    pub banned_at: u64,
}

/// One record written back by an import (`heartlink-server admin import`)
/// into an empty store, exactly as it was exported: ids, times and seqs
/// are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreRecord {
    /// An account with the keys it is found by (usernames.rs makes them).
    User { record: UserRecord, canonical: String, lookalikes: Vec<String> },
    /// When the account was last seen online (ms).
    LastSeen { user: UserId, at: u64 },
    Ban(BanRecord),
    Token { hash: [u8; 32], record: TokenRecord },
    Room(RoomRecord),
    Member { room: RoomId, user: UserId, joined_at: u64 },
    Read { room: RoomId, user: UserId, seq: u64 },
    /// A message under its original seq (each room's seqs restored in order, from 1).
    Message { room: RoomId, seq: u64, record: MessageRecord },
    /// A pair room's aliases, reveals and end.
    Pair(crate::store::PairRecord),
    Block { blocker: UserId, record: crate::store::BlockRecord },
    RoomBan { room: RoomId, record: crate::store::RoomBanRecord },
    Report(crate::store::ReportRecord),
    /// A call's state, its declines, and (while it rings) its pending expiry.
    Call { room: RoomId, call: crate::store::StoredCall },
}

/// How a message relates to an earlier one of its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationRecord {
    pub seq: u64,
    pub rel: RelKindRecord,
}

/// The kinds of relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelKindRecord {
    Reply,
    Edit,
    Delete,
    React,
}

/// What a message's attachment was when it was sent (the media's own
/// record may change later; the message keeps what its readers saw).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRecord {
    pub media_id: MediaId,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    pub kind: AttachmentKindRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waveform: Option<Vec<u8>>,
}

/// How an attachment is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKindRecord {
    Image,
    Voice,
    File,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Data dirs written before records and wire types were separated hold
    /// exactly these values; they must keep decoding, and records must keep
    /// encoding the same way.
    #[test]
    fn the_stored_format_is_unchanged() {
        // Built from bytes: CI refuses UUID literals anywhere in the server.
        let id = UserId::from_bytes([0x5c; 16]).to_string();
        let message = format!(r#"{{"sender":{{"id":"{id}","username":"Alice"}},"body":"hi","ts":5,"client_msg_id":"c1"}}"#);
        let decoded: MessageRecord = serde_json::from_str(&message).unwrap();
        assert_eq!(decoded.sender.username, "Alice");
        assert_eq!(serde_json::to_string(&decoded).unwrap(), message);
        let with_attachment = format!(
            r#"{{"sender":{{"id":"{id}","username":"Alice"}},"body":"","ts":5,"client_msg_id":"c2","attachment":{{"media_id":"{id}","name":"cat.png","mime":"image/png","size":3,"sha256":"ab","kind":"image","width":1,"height":2}}}}"#
        );
        let decoded: MessageRecord = serde_json::from_str(&with_attachment).unwrap();
        assert_eq!(decoded.attachment.as_ref().map(|a| a.kind), Some(AttachmentKindRecord::Image));
        assert_eq!(serde_json::to_string(&decoded).unwrap(), with_attachment);
        let relation = format!(
            r#"{{"sender":{{"id":"{id}","username":"Alice"}},"body":"","ts":5,"client_msg_id":"c3","relates_to":{{"seq":2,"rel":"delete"}},"mentions":["{id}"],"deleted":true}}"#
        );
        let decoded: MessageRecord = serde_json::from_str(&relation).unwrap();
        assert_eq!(decoded.relates_to, Some(RelationRecord { seq: 2, rel: RelKindRecord::Delete }));
        assert_eq!(serde_json::to_string(&decoded).unwrap(), relation);

        let room = format!(
            r#"{{"id":"{id}","name":"a & b","kind":"pair","created_by":"{id}","created_at":7,"pair":["{id}"]}}"#
        );
        let decoded: RoomRecord = serde_json::from_str(&room).unwrap();
        assert_eq!(decoded.kind, RoomKindRecord::Pair);
        assert_eq!(serde_json::to_string(&decoded).unwrap(), room);
        let without_pair = format!(r#"{{"id":"{id}","name":"g","kind":"group","created_by":"{id}","created_at":7}}"#);
        assert!(serde_json::from_str::<RoomRecord>(&without_pair).unwrap().pair.is_empty());

        let user = format!(r#"{{"id":"{id}","username":"Alice","password_hash":"$argon2id$x","created_at":1}}"#);
        assert_eq!(serde_json::to_string(&serde_json::from_str::<UserRecord>(&user).unwrap()).unwrap(), user);
        let token = format!(r#"{{"user_id":"{id}","issued_at":1,"last_used":2}}"#);
        assert_eq!(serde_json::to_string(&serde_json::from_str::<TokenRecord>(&token).unwrap()).unwrap(), token);
    }
}
