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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{ConnIds, NodeId};
    use heartlink_protocol::{ChatMessage, LeaveReason, Room, RoomKind, ServerMsg};
    use std::borrow::Cow;

    fn round_trip(body: Body) -> Body {
        let envelope = Envelope { node: NodeId::from_raw(9), body };
        let bytes = serde_json::to_vec(&envelope).unwrap();
        let back: Envelope = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back.node, NodeId::from_raw(9));
        back.body
    }

    #[test]
    fn every_kind_of_publish_survives_the_wire() {
        let (room, user) = (RoomId::random(), User { id: UserId::random(), username: "alice".into() });
        let conn = ConnIds::new(NodeId::from_raw(3)).next();
        let message = ChatMessage { room_id: room, seq: 7, body: "hi".into(), ..Default::default() };
        let Body::Messages(messages) = round_trip(Body::Messages(vec![message.clone()])) else { panic!("messages") };
        assert_eq!(messages, [message]);

        let removed = RoomEvent::Removed { user: user.clone(), reason: LeaveReason::Banned };
        let Body::Room { event, .. } = round_trip(Body::Room { room, event: removed.clone() }) else { panic!("room") };
        assert_eq!(event, removed);

        let close = UserEvent::Close { code: 4003, reason: Cow::Borrowed("banned"), except: Some(conn), token: Some([5; 32]) };
        let Body::User { event, .. } = round_trip(Body::User { user: user.id, event: close.clone() }) else { panic!("user") };
        assert_eq!(event, close);

        let matched = UserEvent::Matched { conn, room: Room { id: room, name: "stranger chat".into(), kind: RoomKind::Pair, ..Default::default() } };
        let Body::User { event, .. } = round_trip(Body::User { user: user.id, event: matched.clone() }) else { panic!("user") };
        assert_eq!(event, matched);

        let frame = UserEvent::Frame { msg: Box::new(ServerMsg::MatchWaiting), except: None };
        let Body::User { event, .. } = round_trip(Body::User { user: user.id, event: frame.clone() }) else { panic!("user") };
        assert_eq!(event, frame);
        assert!(matches!(round_trip(Body::Resync { room }), Body::Resync { room: back } if back == room));
    }
}
