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

mod delivery;
mod events;
mod outbox;
mod typing;
pub mod upkeep;

use crate::bus::{BusError, Deliver, MessageBatch, RoomEvent, Subscriptions, UserEvent};
use crate::node::ConnId;
use crate::store::{Store, StoreError};
use delivery::Held;
use heartlink_protocol::{RoomId, ServerMsg, User, UserId, encode_server};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

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
    /// A handle and the receiving end of its outbound queue.
    pub fn new(id: ConnId, user: User, capacity: usize) -> (Self, Inbox) {
        let (outbound, inbox) = outbox::outbox(capacity);
        (Self { id, user, outbound, closing: CancellationToken::new() }, inbox)
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

    /// Fires when the session must close (see [`Inbox::close_request`]).
    pub fn closing(&self) -> &CancellationToken {
        &self.closing
    }
}

/// Encodes a server event once; the bytes are shared by every recipient.
pub fn frame(msg: &ServerMsg) -> Utf8Bytes {
    Utf8Bytes::from(encode_server(msg, None))
}

/// Why a connection could not join a room's live stream.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The connection is not registered (it is closing).
    #[error("the connection is not registered")]
    NotConnected,
    /// The bus could not subscribe this node to the room.
    #[error("subscribing to the room failed")]
    Subscribe(#[from] BusError),
    /// The room's durable seq could not be read.
    #[error("reading the room's last seq failed")]
    Store(#[from] StoreError),
}

#[derive(Debug)]
struct ConnEntry {
    handle: ConnHandle,
    /// Rooms joined on this connection.
    rooms: HashSet<RoomId>,
    /// Rooms where this connection's typing indicator is on, until when.
    typing: HashMap<RoomId, Instant>,
}

/// A room with at least one joined connection on this node.
#[derive(Debug, Default)]
struct RoomEntry {
    /// Joined connections, each with the first seq it gets live (the ones
    /// below came in its `joined` reply); `None` while its join is finding
    /// that cut.
    conns: HashMap<ConnId, Option<u64>>,
    /// The highest seq delivered here; `None` until a joiner read where the
    /// room stands from the store.
    delivered: Option<u64>,
    /// Messages (and replies) that arrived before the seqs below them.
    held: BTreeMap<u64, Held>,
    /// Since when the first gap below `held` has been open.
    gap_since: Option<tokio::time::Instant>,
}

#[derive(Debug, Default)]
struct HubState {
    conns: HashMap<ConnId, ConnEntry>,
    /// Each user's connections on this node.
    users: HashMap<UserId, Vec<ConnId>>,
    rooms: HashMap<RoomId, RoomEntry>,
    /// Typing indicators that changed, for the bus (see `upkeep`).
    typing_changes: Vec<TypingChange>,
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

    /// Registers an authenticated connection; returns once the bus delivers
    /// the user's events here.
    pub async fn connect(&self, handle: ConnHandle) -> Result<(), BusError> {
        let (conn, user) = (handle.id, handle.user.id);
        {
            let mut state = self.lock();
            state.conns.insert(conn, ConnEntry { handle, rooms: HashSet::new(), typing: HashMap::new() });
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
        let (user, rooms): (UserId, Vec<RoomId>) = (entry.handle.user.id, entry.rooms.iter().copied().collect());
        for room in rooms {
            state.leave_room(conn, room, &*self.subscriptions);
        }
        state.conns.remove(&conn);
        if let Some(conns) = state.users.get_mut(&user) {
            conns.retain(|other| *other != conn);
            if conns.is_empty() {
                state.users.remove(&user);
                self.subscriptions.unsubscribe_user(user);
            }
        }
        drop(state);
        self.typing_changed.notify_one();
    }

    /// Joins `conn` to the room's live messages and returns the cut: the
    /// `joined` reply lists the durable messages up to it, and every later
    /// one reaches the connection live, after the reply (the session writes
    /// the reply before it drains its outbound queue). Neither overlaps nor
    /// leaves a gap.
    ///
    /// A room already live here answers at once with the seq delivered so
    /// far. Otherwise the node first subscribes to the room, then reads the
    /// store's durable seq: what was published before the subscription is at
    /// most that seq (in the reply); what comes after is held until the
    /// seq is known, then delivered from it on.
    pub async fn join(&self, conn: ConnId, room: RoomId) -> Result<u64, JoinError> {
        {
            let mut state = self.lock();
            let state = &mut *state;
            let Some(conn_entry) = state.conns.get_mut(&conn) else { return Err(JoinError::NotConnected) };
            conn_entry.rooms.insert(room);
            let entry = state.rooms.entry(room).or_default();
            match entry.delivered {
                Some(cut) => {
                    entry.conns.insert(conn, Some(cut + 1));
                    return Ok(cut);
                }
                None => {
                    entry.conns.entry(conn).or_insert(None);
                }
            }
        }
        let stands = async {
            self.subscriptions.subscribe_room(room).await?;
            Ok::<u64, JoinError>(self.store.last_seq(room).await?)
        };
        let stands = stands.await;
        let mut state = self.lock();
        let last = match stands {
            Ok(last) => last,
            Err(err) => {
                state.leave_room(conn, room, &*self.subscriptions);
                return Err(err);
            }
        };
        let state = &mut *state;
        let Some(entry) = state.rooms.get_mut(&room) else { return Ok(last) };
        // Another joiner may have found the cut first; it holds for everyone.
        let cut = *entry.delivered.get_or_insert(last);
        // Still joined unless the user left the room meanwhile, elsewhere.
        if let Some(from) = entry.conns.get_mut(&conn) {
            *from = Some(cut + 1);
        }
        // What arrived above the cut meanwhile goes out now.
        delivery::release(entry, &state.conns);
        Ok(cut)
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

    fn deliver_presence(&self, user: &User, online: bool, rooms: &[RoomId]) {
        self.presence(user, online, rooms);
    }

    fn deliver_user(&self, user: UserId, event: &UserEvent) {
        self.user_event(user, event);
    }
}

#[cfg(test)]
mod fixture;

#[cfg(test)]
mod tests {
    use super::fixture::{Fixture, message};
    use super::*;
    use async_trait::async_trait;

    fn batch(room: RoomId, seqs: impl IntoIterator<Item = u64>) -> MessageBatch {
        MessageBatch { messages: seqs.into_iter().map(|seq| message(room, seq)).collect(), replies: Vec::new() }
    }

    #[tokio::test]
    async fn a_join_cuts_between_the_reply_and_the_live_stream() {
        let fixture = Fixture::new();
        let room = RoomId::random();
        fixture.store_messages(room, 3).await;
        let alice = fixture.connect("alice").await;
        assert_eq!(fixture.hub.join(alice.handle.id, room).await.unwrap(), 3, "the first joiner reads the store");

        // The bus hands over 1–3 late (they are in alice's `joined`) and 4.
        fixture.hub.deliver_messages(batch(room, 1..=4));
        assert_eq!(alice.summary(), ["chat_message 4"]);

        let bob = fixture.connect("bob").await;
        assert_eq!(fixture.hub.join(bob.handle.id, room).await.unwrap(), 4, "later joiners cut where delivery is");
        fixture.hub.deliver_messages(batch(room, [5]));
        assert_eq!((alice.summary(), bob.summary()), (vec!["chat_message 5".to_owned()], vec!["chat_message 5".to_owned()]));
        assert_eq!(fixture.hub.delivered(room), Some(5));
    }

    /// Subscriptions that hold `subscribe_room` until the test lets go, and
    /// record every call.
    #[derive(Debug, Default)]
    struct Gate {
        entered: Notify,
        release: Notify,
        calls: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Subscriptions for Gate {
        async fn subscribe_room(&self, _room: RoomId) -> Result<(), BusError> {
            self.calls.lock().unwrap().push("subscribe room".into());
            self.entered.notify_one();
            self.release.notified().await;
            Ok(())
        }
        fn unsubscribe_room(&self, _room: RoomId) {
            self.calls.lock().unwrap().push("unsubscribe room".into());
        }
        async fn subscribe_user(&self, _user: UserId) -> Result<(), BusError> {
            self.calls.lock().unwrap().push("subscribe user".into());
            Ok(())
        }
        fn unsubscribe_user(&self, _user: UserId) {
            self.calls.lock().unwrap().push("unsubscribe user".into());
        }
    }

    #[tokio::test]
    async fn messages_arriving_while_a_join_finds_its_cut_are_held_then_cut() {
        let gate = Arc::new(Gate::default());
        let fixture = Fixture::with_subscriptions(gate.clone());
        let room = RoomId::random();
        fixture.store_messages(room, 4).await;
        let alice = fixture.connect("alice").await;
        let hub = Arc::clone(&fixture.hub);
        let conn = alice.handle.id;
        let join = tokio::spawn(async move { hub.join(conn, room).await.unwrap() });
        gate.entered.notified().await;
        // Published around the subscription: 4 is in the store (and the reply), 5 is not yet.
        fixture.hub.deliver_messages(batch(room, [4, 5]));
        assert!(alice.summary().is_empty(), "nothing is delivered before the cut is known");
        gate.release.notify_one();
        assert_eq!(join.await.unwrap(), 4);
        assert_eq!(alice.summary(), ["chat_message 5"]);
    }

    #[tokio::test]
    async fn the_hub_subscribes_to_what_its_connections_need_and_no_more() {
        let gate = Arc::new(Gate::default());
        let fixture = Fixture::with_subscriptions(gate.clone());
        gate.release.notify_one(); // the one join below passes at once
        let room = RoomId::random();
        let alice = fixture.connect("alice").await;
        fixture.hub.join(alice.handle.id, room).await.unwrap();
        fixture.hub.unjoin(alice.handle.id, room);
        fixture.hub.disconnect(alice.handle.id);
        let calls = gate.calls.lock().unwrap().clone();
        assert_eq!(calls, ["subscribe user", "subscribe room", "unsubscribe room", "unsubscribe user"]);
        assert_eq!(fixture.hub.delivered(room), None, "a room without local connections is forgotten");
    }

    #[tokio::test]
    async fn a_closed_connection_gets_nothing_more_and_its_rooms_are_left() {
        let fixture = Fixture::new();
        let room = RoomId::random();
        let (alice, bob) = (fixture.connect("alice").await, fixture.connect("bob").await);
        for conn in [&alice, &bob] {
            fixture.hub.join(conn.handle.id, room).await.unwrap();
        }
        fixture.hub.disconnect(alice.handle.id);
        assert!(!fixture.hub.is_joined(alice.handle.id, room));
        fixture.hub.deliver_messages(batch(room, [1]));
        assert_eq!((alice.summary(), bob.summary()), (Vec::<String>::new(), vec!["chat_message 1".to_owned()]));
        assert!(matches!(fixture.hub.join(alice.handle.id, room).await, Err(JoinError::NotConnected)));
    }
}
