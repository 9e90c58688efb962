//! Live state: which connections are joined to which room, presence counts,
//! typing indicators, the match queue, and fan-out to connections' outbound
//! queues.
//!
//! One `std::sync::Mutex` guards it all. Every critical section is a handful
//! of map operations and non-blocking `try_send`s; nothing awaits or touches
//! the disk under it, so a blocking mutex is cheaper than an async one.
//! Delivery never waits: a connection whose queue is full is a slow consumer
//! and is told to close (4008) rather than slow everyone else down.

mod eviction;
mod matching;
mod outbox;
mod typing;

use crate::commit::Committed;
use crate::sequencer::RoomSeq;
use heartlink_protocol::{ErrorCode, RoomId, ServerMsg, User, UserId, encode_server};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_tungstenite::tungstenite::Utf8Bytes;

pub use eviction::Eviction;
pub use matching::MatchOutcome;
pub use outbox::Inbox;

/// The SHA-256 of the token a connection authenticated with.
pub type TokenHash = [u8; 32];

/// A connection's number, unique for the process's lifetime.
pub type ConnId = u64;

/// How the hub reaches one authenticated connection.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    pub id: ConnId,
    pub user: User,
    outbound: outbox::Outbox,
    /// Cancelled when the outbound queue overflowed: the session closes with 4008.
    pub slow: CancellationToken,
    /// Set when the connection's token was revoked: the session closes with 1008.
    pub eviction: Eviction,
}

impl ConnHandle {
    /// A handle and the receiving end of its outbound queue.
    pub fn new(id: ConnId, user: User, capacity: usize) -> (Self, Inbox) {
        let (outbound, inbox) = outbox::outbox(capacity);
        (Self { id, user, outbound, slow: CancellationToken::new(), eviction: Eviction::default() }, inbox)
    }

    /// Queues a frame without waiting; a full queue marks the connection slow.
    pub fn push(&self, frame: Utf8Bytes) {
        if let Err(outbox::Full) = self.outbound.push(frame) {
            if !self.slow.is_cancelled() {
                tracing::warn!(conn = self.id, user = %self.user.username, "outbound queue full: slow consumer");
                self.slow.cancel();
            }
        }
    }
}

/// Encodes a server event once; the bytes are shared by every recipient.
pub fn frame(msg: &ServerMsg) -> Utf8Bytes {
    Utf8Bytes::from(encode_server(msg, None))
}

#[derive(Debug)]
struct ConnEntry {
    handle: ConnHandle,
    /// Joined rooms, each with the first seq this connection gets live (the
    /// ones below came in its `joined` reply).
    rooms: HashMap<RoomId, u64>,
    /// Rooms where this connection's typing indicator is on, until when.
    typing: HashMap<RoomId, Instant>,
    /// The token it authenticated with, so a logout can end it.
    token: TokenHash,
    /// Whether it makes its user appear online (`resume{presence:false}` does not).
    counts_presence: bool,
}

#[derive(Debug, Default)]
struct HubState {
    conns: HashMap<ConnId, ConnEntry>,
    room_conns: HashMap<RoomId, HashSet<ConnId>>,
    online: HashMap<UserId, usize>,
    waiting: Option<ConnId>,
}

impl HubState {
    /// Pushes `frame` to the room's joined connections that `keep` accepts.
    fn broadcast(&self, room: RoomId, frame: &Utf8Bytes, keep: impl Fn(&ConnHandle) -> bool) {
        let Some(conns) = self.room_conns.get(&room) else { return };
        for entry in conns.iter().filter_map(|id| self.conns.get(id)) {
            if keep(&entry.handle) {
                entry.handle.push(frame.clone());
            }
        }
    }

    /// Pushes `frame` once to every connection joined to any of `rooms`.
    fn broadcast_rooms(&self, rooms: &[RoomId], frame: &Utf8Bytes) {
        let mut reached = HashSet::new();
        for conns in rooms.iter().filter_map(|room| self.room_conns.get(room)) {
            for id in conns {
                if let (true, Some(entry)) = (reached.insert(*id), self.conns.get(id)) {
                    entry.handle.push(frame.clone());
                }
            }
        }
    }

    fn send_to(&self, conn: ConnId, frame: Utf8Bytes) {
        if let Some(entry) = self.conns.get(&conn) {
            entry.handle.push(frame);
        }
    }

    fn unjoin(&mut self, conn: ConnId, room: RoomId) {
        if let Some(entry) = self.conns.get_mut(&conn) {
            entry.rooms.remove(&room);
        }
        if let Some(conns) = self.room_conns.get_mut(&room) {
            conns.remove(&conn);
            if conns.is_empty() {
                self.room_conns.remove(&room);
            }
        }
    }
}

/// The live state shared by all sessions.
#[derive(Debug)]
pub struct Hub {
    state: Mutex<HubState>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        Self { state: Mutex::new(HubState::default()) }
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers an authenticated connection. When it is the user's first
    /// that counts for presence, the user comes online for everyone joined
    /// to `user_rooms`. A connection resumed with `presence:false` does not
    /// count: it neither brings the user online nor keeps them online.
    pub fn connect(&self, handle: ConnHandle, token: TokenHash, counts_presence: bool, user_rooms: &[RoomId]) {
        let mut state = self.lock();
        let user = handle.user.clone();
        let entry = ConnEntry { handle, rooms: HashMap::new(), typing: HashMap::new(), token, counts_presence };
        state.conns.insert(entry.handle.id, entry);
        if !counts_presence {
            return;
        }
        let count = state.online.entry(user.id).or_insert(0);
        *count += 1;
        if *count == 1 {
            state.broadcast_rooms(user_rooms, &frame(&ServerMsg::Presence { user, online: true, status: None, last_seen: None, room_id: None }));
        }
    }

    /// Removes a connection from everything. When it was the user's last
    /// that counts for presence, the user goes offline for everyone joined
    /// to `user_rooms`.
    pub fn disconnect(&self, conn: ConnId, user_rooms: &[RoomId]) {
        let mut state = self.lock();
        Self::stop_all_typing(&mut state, conn);
        let Some(entry) = state.conns.remove(&conn) else { return };
        for room in entry.rooms.keys() {
            state.unjoin(conn, *room);
        }
        if state.waiting == Some(conn) {
            state.waiting = None;
        }
        if !entry.counts_presence {
            return;
        }
        let user = entry.handle.user;
        let last = match state.online.get_mut(&user.id) {
            Some(count) => {
                *count = count.saturating_sub(1);
                *count == 0
            }
            None => false,
        };
        if last {
            state.online.remove(&user.id);
            state.broadcast_rooms(user_rooms, &frame(&ServerMsg::Presence { user, online: false, status: None, last_seen: None, room_id: None }));
        }
    }

    /// Whether any connection of `user` is open.
    pub fn is_online(&self, user: UserId) -> bool {
        self.lock().online.contains_key(&user)
    }

    /// Joins `conn` to the room's live events and returns the durable seq at
    /// that instant: the `joined` reply lists messages up to it, and every
    /// later one reaches the connection as a `chat_message`, after the reply
    /// (the session writes the reply before it drains its outbound queue).
    pub fn join(&self, conn: ConnId, room: &RoomSeq) -> u64 {
        let mut state = self.lock();
        let durable = room.durable();
        if let Some(entry) = state.conns.get_mut(&conn) {
            entry.rooms.insert(room.room_id, durable + 1);
            state.room_conns.entry(room.room_id).or_default().insert(conn);
        }
        durable
    }

    /// Whether `conn` has joined `room`.
    pub fn is_joined(&self, conn: ConnId, room: RoomId) -> bool {
        self.lock().conns.get(&conn).is_some_and(|entry| entry.rooms.contains_key(&room))
    }

    /// Tells the room's joined connections (except `except`) that `user` became a member.
    pub fn user_joined(&self, room: RoomId, user: User, except: ConnId) {
        let event = frame(&ServerMsg::UserJoined { room_id: room, user });
        self.lock().broadcast(room, &event, |handle| handle.id != except);
    }

    /// `user` left `room` on connection `from`: all of their connections stop
    /// receiving it, and every other joined connection (theirs included) gets
    /// `user_left`; `from` gets the `left` reply instead.
    pub fn user_left(&self, room: RoomId, user: User, from: ConnId) {
        let mut state = self.lock();
        let event = frame(&ServerMsg::UserLeft { room_id: room, user: user.clone(), reason: None });
        state.broadcast(room, &event, |handle| handle.id != from);
        let theirs: Vec<ConnId> = state
            .room_conns
            .get(&room)
            .into_iter()
            .flatten()
            .filter(|id| state.conns.get(id).is_some_and(|entry| entry.handle.user.id == user.id))
            .copied()
            .collect();
        for conn in theirs {
            Self::stop_typing(&mut state, conn, room);
            state.unjoin(conn, room);
        }
    }

    /// Stops `conn`'s live events for `room` (a non-member's `leave`).
    pub fn unjoin(&self, conn: ConnId, room: RoomId) {
        let mut state = self.lock();
        Self::stop_typing(&mut state, conn, room);
        state.unjoin(conn, room);
    }

    /// Pushes a read receipt to the room's joined connections other than `from`.
    pub fn read_receipt(&self, room: RoomId, user: User, seq: u64, from: ConnId) {
        let event = frame(&ServerMsg::ReadReceipt { room_id: room, user, seq });
        self.lock().broadcast(room, &event, |handle| handle.id != from);
    }

    /// Queues a frame for one connection.
    pub fn send_to(&self, conn: ConnId, frame: Utf8Bytes) {
        self.lock().send_to(conn, frame);
    }

    /// Delivers a flushed batch: each message to the room's connections that
    /// joined before it, then its ack; marks it durable. One lock for the batch.
    pub fn publish(&self, batch: &mut Vec<Committed>) {
        let state = self.lock();
        for item in batch.drain(..) {
            match item {
                Committed::Message { room, seq, event, sender, ack, .. } => {
                    if let Some(conns) = state.room_conns.get(&room.room_id) {
                        for entry in conns.iter().filter_map(|id| state.conns.get(id)) {
                            if entry.rooms.get(&room.room_id).is_some_and(|from| *from <= seq) {
                                entry.handle.push(event.clone());
                            }
                        }
                    }
                    room.mark_durable(seq);
                    state.send_to(sender, ack);
                }
                Committed::Reply { conn, frame } => state.send_to(conn, frame),
            }
        }
    }

    /// A flush failed: every sender in the batch gets its `internal` error.
    pub fn fail(&self, batch: &mut Vec<Committed>) {
        let state = self.lock();
        for item in batch.drain(..) {
            match item {
                Committed::Message { sender, failed, .. } => state.send_to(sender, failed),
                Committed::Reply { conn, .. } => {
                    let error = ServerMsg::error(ErrorCode::Internal, "the server could not save; try again");
                    state.send_to(conn, frame(&error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u8) -> User {
        User { id: UserId::from_bytes([n; 16]), username: format!("user{n}") }
    }

    #[test]
    fn a_connection_without_presence_neither_brings_nor_keeps_its_user_online() {
        let hub = Hub::new();
        let room = RoomId::from_bytes([9; 16]);
        let (watcher, watcher_inbox) = ConnHandle::new(1, user(1), 64);
        hub.connect(watcher, [1; 32], true, &[room]);
        let dir = tempfile::tempdir().unwrap();
        let sequencer = crate::sequencer::Sequencer::new(crate::store::Store::open(dir.path()).unwrap());
        hub.join(1, &sequencer.room(room).unwrap());

        let (script, _script_inbox) = ConnHandle::new(2, user(2), 8);
        hub.connect(script, [2; 32], false, &[room]);
        assert!(!hub.is_online(user(2).id));
        assert_eq!(watcher_inbox.queued(), 0, "no presence for a presence-less connection");

        let (real, _real_inbox) = ConnHandle::new(3, user(2), 8);
        hub.connect(real, [2; 32], true, &[room]);
        assert!(hub.is_online(user(2).id));
        hub.disconnect(3, &[room]);
        assert!(!hub.is_online(user(2).id), "the script's connection does not keep the user online");
        hub.disconnect(2, &[room]);
        let frames: Vec<String> = std::iter::from_fn(|| watcher_inbox.try_recv()).map(|f| f.as_str().to_owned()).collect();
        assert_eq!(frames.len(), 2, "online, then offline, nothing for the script: {frames:?}");
        assert!(frames[0].contains(r#""online":true"#) && frames[1].contains(r#""online":false"#), "{frames:?}");
    }
}

