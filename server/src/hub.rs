//! This node's connections: who is connected, which rooms each joined, and
//! delivery to their outbound queues, each room's messages in seq order.
//!
//! The hub knows only its own node. What other nodes need (presence counts,
//! the match queue, shared limits) is in [`crate::live`]; what reaches
//! connections comes through the bus ([`crate::bus`]), which calls the hub's
//! [`Deliver`] side, whether the event was published here or elsewhere.
//!
//! One `std::sync::Mutex` guards the state. Every critical section is a
//! handful of map operations and non-blocking pushes; nothing awaits or
//! touches the disk under it, so a blocking mutex is cheaper than an async
//! one. Delivery never waits: a connection whose queue is full is a slow
//! consumer and is told to close (4008) rather than slow everyone else down.

mod activity;
mod catch_up;
mod delivery;
mod events;
mod join;
mod masked;
mod outbox;
mod room_set;
mod typing;
pub mod upkeep;

use crate::bus::{BusError, Deliver, MessageBatch, PresenceState, RoomEvent, Subscriptions, UserEvent};
use crate::node::ConnId;
use crate::store::{Store, TokenHash};
use delivery::Held;
use room_set::{RoomMap, RoomSet};
use heartlink_protocol::{RoomId, ServerMsg, User, UserId, encode_server};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

pub use join::JoinError;
pub use outbox::{CloseRequest, Inbox};
pub use typing::TypingChange;

/// How the hub reaches one authenticated connection.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    pub id: ConnId,
    pub user: User,
    outbound: outbox::Outbox,
    /// Cancelled when the session must close; the reason is in the outbox.
    closing: CancellationToken,
}

impl ConnHandle {
    /// A handle and the receiving end of its outbound queue. Its closing
    /// signal also fires when `shutdown` does, so a waiting session
    /// watches one signal for both (B1: each watch is ~70 bytes of its future).
    pub fn new(id: ConnId, user: User, capacity: usize, shutdown: &CancellationToken) -> (Self, Inbox) {
        let (outbound, inbox) = outbox::outbox(capacity);
        (Self { id, user, outbound, closing: shutdown.child_token() }, inbox)
    }

    /// Queues a frame without waiting; a full queue closes the connection as
    /// a slow consumer.
    pub fn push(&self, frame: Utf8Bytes) {
        if let Err(outbox::Full) = self.outbound.push(frame) {
            if self.close(4008, "slow consumer".into()) {
                tracing::warn!(conn = %self.id, user = %self.user.username, "outbound queue full: slow consumer");
            }
        }
    }

    /// Asks the session to close with `code` and `reason`; `false` when it
    /// was already asked (the first reason stays).
    pub fn close(&self, code: u16, reason: Cow<'static, str>) -> bool {
        let first = self.outbound.request_close(CloseRequest { code, reason });
        self.closing.cancel();
        first
    }

    /// Fires when the session must close (see [`Inbox::close_request`]), or
    /// when the server shuts down.
    pub fn closing(&self) -> &CancellationToken {
        &self.closing
    }
}

/// Encodes a server event once; the bytes are shared by every recipient.
pub fn frame(msg: &ServerMsg) -> Utf8Bytes {
    Utf8Bytes::from(encode_server(msg, None))
}

#[derive(Debug)]
struct ConnEntry {
    handle: ConnHandle,
    /// The token it authenticated with, so a logout can end it.
    token: TokenHash,
    /// Rooms joined on this connection.
    rooms: RoomSet,
    /// Rooms where this connection's typing indicator is on, until when.
    typing: RoomMap<Instant>,
    /// `room_activity` sent to it (rooms it has not joined), one a second
    /// per room at most (see `activity.rs`). Boxed, and `None` while
    /// empty: most connections have none, and every entry would carry an
    /// empty map's 48 bytes (B1). The box is the point: 8 bytes inline.
    #[allow(clippy::box_collection)]
    activity: Option<Box<HashMap<RoomId, activity::Slot>>>,
}

/// A room with at least one joined connection on this node.
#[derive(Debug, Default)]
struct RoomEntry {
    /// Joined connections, each with the first seq it gets live (the ones
    /// below came in its `joined` reply); [`JOINING`] while its join is
    /// finding that cut. (Not an `Option`: a plain seq keeps the entry at
    /// 24 bytes, and every joined connection has one.)
    conns: HashMap<ConnId, u64>,
    /// The highest seq delivered here; `None` until a joiner read where the
    /// room stands from the store.
    delivered: Option<u64>,
    /// Messages (and replies) that arrived before the seqs below them.
    held: BTreeMap<u64, Held>,
    /// Since when the first gap below `held` has been open.
    gap_since: Option<tokio::time::Instant>,
    /// A pair room's anonymity: set by its first joiner here (`masked.rs`).
    mask: Option<Arc<crate::disguise::PairMask>>,
}

/// A connection's first live seq while its join is still finding the cut:
/// above every seq, so nothing is delivered to it yet.
const JOINING: u64 = u64::MAX;

#[derive(Debug, Default)]
struct HubState {
    conns: HashMap<ConnId, ConnEntry>,
    /// Each user's connections on this node: user events (room activity
    /// among them, a few a second per member of a busy room) find them
    /// without looking at every connection.
    users: HashMap<UserId, Vec<ConnId>>,
    /// Connections with `room_activity` slots: notices held back until
    /// their second is up, or sent within the last second.
    activity_waiting: HashSet<ConnId>,
    rooms: HashMap<RoomId, RoomEntry>,
    /// Typing indicators that changed, for the bus (see `upkeep`).
    typing_changes: Vec<TypingChange>,
    /// Rooms to read from the store: the bus may have lost some of their messages (`catch_up.rs`).
    stale: HashSet<RoomId>,
}

impl HubState {
    fn send_to(&self, conn: ConnId, frame: Utf8Bytes) {
        if let Some(entry) = self.conns.get(&conn) {
            entry.handle.push(frame);
        }
    }

    /// Takes `conn` out of `room`'s live stream; a room left without local
    /// connections is forgotten and unsubscribed.
    fn leave_room(&mut self, conn: ConnId, room: RoomId, subscriptions: &dyn Subscriptions) {
        self.stop_typing(conn, room);
        if let Some(entry) = self.conns.get_mut(&conn) {
            entry.rooms.remove(&room);
        }
        let Some(entry) = self.rooms.get_mut(&room) else { return };
        entry.conns.remove(&conn);
        if !entry.conns.is_empty() {
            return;
        }
        if let Some(entry) = self.rooms.remove(&room) {
            // Replies held for a gap still go out: nothing is left to order them after.
            for reply in entry.held.into_values().flat_map(|held| held.replies) {
                self.send_to(reply.conn, reply.frame);
            }
        }
        subscriptions.unsubscribe_room(room);
    }
}

/// This node's connections.
#[derive(Debug)]
pub struct Hub {
    state: Mutex<HubState>,
    store: Arc<dyn Store>,
    subscriptions: Arc<dyn Subscriptions>,
    /// Woken when `typing_changes` gets an entry.
    typing_changed: Notify,
}

impl Hub {
    /// An empty hub over `store` (for gap fills and join cuts), telling
    /// `subscriptions` which rooms and users it needs.
    pub fn new(store: Arc<dyn Store>, subscriptions: Arc<dyn Subscriptions>) -> Self {
        Self { state: Mutex::default(), store, subscriptions, typing_changed: Notify::new() }
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a connection authenticated with `token`; returns once the
    /// bus delivers the user's events here.
    pub async fn connect(&self, handle: ConnHandle, token: TokenHash) -> Result<(), BusError> {
        let (conn, user) = (handle.id, handle.user.id);
        {
            let mut state = self.lock();
            let entry = ConnEntry { handle, token, rooms: RoomSet::default(), typing: RoomMap::default(), activity: None };
            state.conns.insert(conn, entry);
            state.users.entry(user).or_default().push(conn);
        }
        // Every connection subscribes (it is idempotent): the user's second
        // connection must not go live before the first one's subscription is.
        if let Err(err) = self.subscriptions.subscribe_user(user).await {
            self.disconnect(conn);
            return Err(err);
        }
        Ok(())
    }

    /// Removes a connection from everything: its rooms (typing indicators
    /// switch off), its user's connections.
    pub fn disconnect(&self, conn: ConnId) {
        let mut state = self.lock();
        let Some(entry) = state.conns.get(&conn) else { return };
        let (user, rooms): (UserId, Vec<RoomId>) = (entry.handle.user.id, entry.rooms.rooms().collect());
        for room in rooms {
            state.leave_room(conn, room, &*self.subscriptions);
        }
        state.conns.remove(&conn);
        state.activity_waiting.remove(&conn);
        if let Some(conns) = state.users.get_mut(&user) {
            conns.retain(|id| *id != conn);
            if conns.is_empty() {
                state.users.remove(&user);
                self.subscriptions.unsubscribe_user(user);
            }
        }
        drop(state);
        self.typing_changed.notify_one();
    }

    /// Stops `conn`'s live events for `room` (its own `leave`): its typing
    /// indicator there switches off.
    pub fn unjoin(&self, conn: ConnId, room: RoomId) {
        self.lock().leave_room(conn, room, &*self.subscriptions);
        self.typing_changed.notify_one();
    }

    /// Whether `conn` has joined `room`.
    pub fn is_joined(&self, conn: ConnId, room: RoomId) -> bool {
        self.lock().conns.get(&conn).is_some_and(|entry| entry.rooms.contains(&room))
    }

    /// The highest seq of `room` delivered to this node's connections (what
    /// a joined connection has seen or is about to), if the room is live here.
    pub fn delivered(&self, room: RoomId) -> Option<u64> {
        self.lock().rooms.get(&room).and_then(|entry| entry.delivered)
    }

    /// Queues a frame for one local connection.
    pub fn send_to(&self, conn: ConnId, frame: Utf8Bytes) {
        self.lock().send_to(conn, frame);
    }
}

impl Deliver for Hub {
    fn deliver_messages(&self, batch: MessageBatch) {
        self.deliver_batch(batch);
    }

    fn deliver_room(&self, room: RoomId, event: &RoomEvent) {
        self.room_event(room, event);
    }

    fn deliver_presence(&self, user: &User, presence: PresenceState, rooms: &[RoomId]) {
        self.presence(user, presence, rooms);
    }

    fn deliver_user(&self, user: UserId, event: &UserEvent) {
        self.user_event(user, event);
    }

    fn resync(&self, rooms: &[RoomId]) {
        self.mark_stale(rooms);
    }
}

#[cfg(test)]
mod fixture;
