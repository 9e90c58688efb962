//! What travels on the Redis channels: one JSON envelope per publish, naming
//! the node that published it (each node delivers its own publishes itself,
//! at once, and skips them when Redis echoes them back).
//!
//! Channels: one per room (`hl:room:<id>`: its messages and events), one per
//! user (`hl:user:<id>`), and one for presence (`hl:presence`), which every
//! node hears: a presence change names many rooms, and a connection joined
//! to several of them must get it once.

use crate::bus::{PresenceState, RoomEvent, UserEvent};
use crate::node::NodeId;
use heartlink_protocol::{ChatMessage, RoomId, User, UserId};
use serde::{Deserialize, Serialize};

/// The channel every node subscribes to for presence changes.
pub const PRESENCE_CHANNEL: &str = "hl:presence";

/// The channel of one room.
pub fn room_channel(room: RoomId) -> String {
    format!("hl:room:{}", room.0)
}

/// The channel of one user.
pub fn user_channel(user: UserId) -> String {
    format!("hl:user:{}", user.0)
}

/// One publish.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// The publishing node.
    pub node: NodeId,
    pub body: Body,
}

/// What was published.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Body {
    /// Committed messages of one room, in seq order.
    Messages(Vec<ChatMessage>),
    /// An event of one room.
    Room { room: RoomId, event: RoomEvent },
    /// A user's presence for the members of `rooms`.
    Presence { user: User, presence: PresenceState, rooms: Vec<RoomId> },
    /// An event for one user's connections.
    User { user: UserId, event: UserEvent },
    /// Messages of `room` up to now may not have been published (a publish
    /// failed): read the room from the store.
    Resync { room: RoomId },
}
