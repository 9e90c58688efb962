//! What the client keeps between runs, as data: the saved session and the
//! outbox of messages not yet acknowledged. `config` reads and writes the
//! files; the app only builds and reads these values.

use heartlink_protocol::{AttachmentRef, CallRequest, RelatesTo, RoomId};
use serde::{Deserialize, Serialize};

/// A logged-in session as saved on disk. Never holds the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub server: String,
    pub username: String,
    pub token: String,
    /// Rooms open when the client last ran.
    #[serde(default)]
    pub rooms: Vec<RoomId>,
    /// The room that was open on screen, re-opened by the next start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<RoomId>,
    /// Rooms whose messages neither ring the bell nor notify (`/mute`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub muted: Vec<RoomId>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("token", &"<redacted>")
            .field("rooms", &self.rooms)
            .field("active", &self.active)
            .field("muted", &self.muted)
            .finish()
    }
}

/// Whose outbox: messages are only ever sent by the account that typed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub server: String,
    pub username: String,
}

impl Account {
    /// Usernames are case-insensitive on the server.
    pub fn same_as(&self, other: &Account) -> bool {
        self.server == other.server && self.username.eq_ignore_ascii_case(&other.username)
    }
}

/// A message typed but not yet acknowledged, kept so that quitting (or a
/// crash) does not lose it: it is sent again, with the same
/// `client_msg_id` (so the server deduplicates), on the next start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsentMessage {
    pub room_id: RoomId,
    pub client_msg_id: String,
    pub body: String,
    /// A reply, edit, deletion or reaction waiting to be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relates_to: Option<RelatesTo>,
    /// An uploaded attachment waiting to be sent with the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<SentAttachment>,
    /// A call invitation or answer waiting to be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallRequest>,
}

/// An attachment on its way: the reference sent, and what the sender's
/// screen shows until the server describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentAttachment {
    #[serde(flatten)]
    pub reference: AttachmentRef,
    pub name: String,
    pub size: u64,
}

/// One account's unsent messages, in the order they were typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    pub account: Account,
    pub messages: Vec<UnsentMessage>,
}
