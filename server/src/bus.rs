//! The fan-out seam: how what happens on one node reaches the connections
//! of every node.
//!
//! Three traits, so that no implementation needs a cycle of handles:
//!
//! - [`Bus`], the publishing side: durable messages after their commit,
//!   ephemeral room events (typing, receipts, joins and leaves, presence)
//!   and user events (close a user's connections; a match was made).
//! - [`Deliver`], this node's receiving side, implemented by the hub: a bus
//!   hands it everything published for rooms and users with local
//!   connections, from this node or another.
//! - [`Subscriptions`], which the hub uses to tell the bus which rooms and
//!   users it has local connections for, so that a networked bus receives
//!   only what it needs.
//!
//! Events are typed, not encoded: the hub encodes each once for all of its
//! recipients (and later may encode per viewer). [`local`] is the
//! in-process implementation; docs/ARCHITECTURE.md says what a networked one
//! (Redis pub/sub) must provide.
//!
//! Order: a bus need not deliver messages in seq order, nor exactly once.
//! The hub delivers each room's messages to its connections in seq order,
//! holds back what arrives early and fills a gap that does not close from
//! the store. Events carry no seq and are delivered as they arrive.

pub mod local;
pub mod redis;

use crate::disguise::PairMask;
use crate::node::ConnId;
use crate::store::TokenHash;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use heartlink_protocol::{ChatMessage, LeaveReason, PresenceStatus, Room, RoomId, ServerMsg, User, UserId};
use std::borrow::Cow;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A bus could not publish or subscribe (a networked bus lost its server).
#[derive(Debug, thiserror::Error)]
#[error("the bus is unavailable")]
pub struct BusError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Messages that one commit made durable, and the replies that wait for them.
#[derive(Debug, Default)]
pub struct MessageBatch {
    /// The new messages, in seq order within each room.
    pub messages: Vec<ChatMessage>,
    /// Replies to this node's connections (acks, refusals). They never leave
    /// the node that made them.
    pub replies: Vec<Reply>,
}

/// A reply to one connection that must not overtake a room's messages: it
/// is delivered once its connection has been given the room up to
/// `after_seq` (at once when `after_seq` is 0, or when the connection is
/// not joined to the room).
#[derive(Debug, Clone)]
pub struct Reply {
    pub conn: ConnId,
    pub room: RoomId,
    pub after_seq: u64,
    /// The encoded frame, with the request's `ref`.
    pub frame: Utf8Bytes,
}

/// Something that happened in a room, for the room's joined connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoomEvent {
    /// `user` became a member on connection `from` (which gets `joined` instead).
    UserJoined { user: User, from: ConnId },
    /// `user` left on connection `from`: their connections on every node stop
    /// receiving the room; the others (theirs included) get `user_left`.
    UserLeft { user: User, from: ConnId },
    /// `user`'s typing indicator changed; for the other users' connections.
    Typing { user: User, active: bool },
    /// `user` read up to `seq` on connection `from`; for every other connection.
    ReadReceipt { user: User, seq: u64, from: ConnId },
    /// The room's creator removed `user` (kick or ban): every joined
    /// connection, the user's own included, gets `user_left{reason}`, and
    /// the user's connections stop receiving the room.
    Removed { user: User, reason: LeaveReason },
    /// A pair room's anonymity or end changed (a reveal, an end): hubs
    /// deliver the room with this mask from now on. No frame of its own.
    PairChanged { mask: PairMask },
}

/// Something for every connection of one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserEvent {
    /// Close the user's connections (all but `except`; with `token`, only
    /// those authenticated with that token) with this code and reason: a
    /// logout, a logout everywhere, a revoked token, a ban.
    Close { code: u16, reason: Cow<'static, str>, except: Option<ConnId>, token: Option<TokenHash> },
    /// The user's connection `conn`, which was waiting for a match, was
    /// matched into `room`.
    Matched { conn: ConnId, room: Room },
    /// The match `conn` was waiting for could not be stored; it may ask again.
    MatchFailed { conn: ConnId },
    /// The wait of `conn` for a match ran out (`match_expired`).
    MatchExpired { conn: ConnId },
    /// A frame for every connection of the user but `except` (which got it
    /// as its reply), already as that user sees it (see `disguise`):
    /// `revealed`, `match_ended`.
    Frame { msg: Box<ServerMsg>, except: Option<ConnId> },
    /// New messages in `room`, of which `mentions` name this user: for the
    /// user's connections that have not joined the room (each hub
    /// coalesces them to one a second per connection and room).
    RoomActivity { room: RoomId, last_seq: u64, mentions: u64 },
}

/// A user's presence as the members of their rooms see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceState {
    pub status: PresenceStatus,
    /// When an `offline` user was last seen (ms).
    pub last_seen: Option<u64>,
}

/// The publishing side of the bus.
#[async_trait]
pub trait Bus: Send + Sync + std::fmt::Debug + 'static {
    /// Publishes a commit's durable messages to every node, and hands its
    /// replies to this node's hub. Called once per commit, in commit order.
    async fn publish_messages(&self, batch: MessageBatch) -> Result<(), BusError>;

    /// Publishes an event to every node's connections joined to `room`.
    async fn publish_room(&self, room: RoomId, event: RoomEvent) -> Result<(), BusError>;

    /// Publishes `user`'s presence to every connection joined to any of
    /// `rooms` (once per connection, however many of them it joined).
    async fn publish_presence(&self, user: User, presence: PresenceState, rooms: Vec<RoomId>) -> Result<(), BusError>;

    /// Publishes an event to every connection of `user`, on every node.
    async fn publish_user(&self, user: UserId, event: UserEvent) -> Result<(), BusError>;

    /// Whether the bus works now (for `/healthz`). The in-process bus always does.
    async fn probe(&self) -> Result<(), BusError> {
        Ok(())
    }
}

/// This node's receiving side (the hub). Called by a bus for everything
/// published for rooms and users this node subscribed to (and possibly
/// more: the hub ignores rooms and users without local connections).
/// Must not block: the hub does map operations and non-blocking queue pushes.
pub trait Deliver: Send + Sync + std::fmt::Debug + 'static {
    /// Durable messages (in seq order within a room, per publisher) and this node's replies.
    fn deliver_messages(&self, batch: MessageBatch);

    /// An event of one room.
    fn deliver_room(&self, room: RoomId, event: &RoomEvent);

    /// A user's presence, for connections joined to any of `rooms`.
    fn deliver_presence(&self, user: &User, presence: PresenceState, rooms: &[RoomId]);

    /// An event for one user's connections.
    fn deliver_user(&self, user: UserId, event: &UserEvent);

    /// Messages of `rooms` may have been published without reaching this
    /// node (a networked bus lost its connection or a publish): read them
    /// from the store, up to the last committed one, soon.
    fn resync(&self, rooms: &[RoomId]);
}

/// Which rooms and users this node needs to hear about.
///
/// The hub subscribes when a room or user gets its first local connection
/// and unsubscribes when it loses its last one. Subscribing is idempotent,
/// one unsubscribe ends it however many subscribes came before, and calls
/// take effect in the order they are made.
#[async_trait]
pub trait Subscriptions: Send + Sync + std::fmt::Debug + 'static {
    /// Returns once everything published for `room` from now on reaches this node.
    async fn subscribe_room(&self, room: RoomId) -> Result<(), BusError>;

    /// This node no longer needs `room`. Must not block (the hub calls it under its lock).
    fn unsubscribe_room(&self, room: RoomId);

    /// Returns once everything published for `user` from now on reaches this node.
    async fn subscribe_user(&self, user: UserId) -> Result<(), BusError>;

    /// This node no longer needs `user`. Must not block.
    fn unsubscribe_user(&self, user: UserId);
}
