//! Per-room sequence numbers: seq 1, 2, 3… with no gaps, also across crashes.
//!
//! Each room has a lock around its last allocated seq. A `send` takes the
//! lock, checks the dedup records, gives the message seq + 1 and queues it
//! for the group commit *before* releasing the lock, so the commit queue sees
//! every room's messages in seq order. The lock is a tokio Mutex because that
//! queueing awaits (the commit queue is bounded).
//!
//! The flusher writes a whole batch of messages to the store at once, so
//! between queueing and that write a message is only in the room's `pending`
//! table; a retry of it must find it there (see `pending_seq`).
//!
//! After a crash the counter restarts from the last stored key, so a seq is
//! never reused or skipped: sled recovers a prefix of its log, and within a
//! room messages enter the log in seq order.

use crate::store::{Store, StoreError};
use heartlink_protocol::{ClientMsgId, RoomId, UserId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One room's counters.
#[derive(Debug)]
pub struct RoomSeq {
    pub room_id: RoomId,
    last_allocated: tokio::sync::Mutex<u64>,
    /// The highest seq that is on disk and has been broadcast. Written and
    /// read under the hub's lock, so a `join` sees a consistent cut.
    durable: AtomicU64,
    /// Queued sends not yet written to the store: (sender, client_msg_id) →
    /// (seq, ts). A std Mutex, held for one map operation: the flusher
    /// removes entries without taking the (async, long-held) counter lock.
    pending: Mutex<HashMap<(UserId, ClientMsgId), (u64, u64)>>,
}

impl RoomSeq {
    /// Locks the room's counter for allocating the next seq.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, u64> {
        self.last_allocated.lock().await
    }

    /// The highest durable (and broadcast) seq.
    pub fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// The (seq, ts) of a queued send with this idempotency key that the
    /// flusher has not written yet. Check it before the store: the flusher
    /// writes a message to the store before it forgets it here, so a send
    /// is always found in one of the two.
    pub fn pending_seq(&self, sender: UserId, id: &ClientMsgId) -> Option<(u64, u64)> {
        self.pending_table().get(&(sender, id.clone())).copied()
    }

    /// Records a queued send (called under the counter lock).
    pub fn add_pending(&self, sender: UserId, id: ClientMsgId, seq: u64, ts: u64) {
        self.pending_table().insert((sender, id), (seq, ts));
    }

    /// Forgets a send once the flusher has written it (or given up on it).
    pub fn remove_pending(&self, sender: UserId, id: &ClientMsgId) {
        self.pending_table().remove(&(sender, id.clone()));
    }

    fn pending_table(&self) -> std::sync::MutexGuard<'_, HashMap<(UserId, ClientMsgId), (u64, u64)>> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Called by the hub when `seq` has been flushed and broadcast.
    pub(crate) fn mark_durable(&self, seq: u64) {
        self.durable.fetch_max(seq, Ordering::AcqRel);
    }
}

/// The table of rooms' counters, filled lazily from the store.
#[derive(Debug)]
pub struct Sequencer {
    store: Store,
    rooms: Mutex<HashMap<RoomId, Arc<RoomSeq>>>,
}

impl Sequencer {
    /// An empty table over `store`.
    pub fn new(store: Store) -> Self {
        Self { store, rooms: Mutex::new(HashMap::new()) }
    }

    /// The counters of `room_id`, loaded on first use. Everything already in
    /// the store at that point is durable (it survived a restart or was
    /// flushed by this process before the counters existed).
    pub fn room(&self, room_id: RoomId) -> Result<Arc<RoomSeq>, StoreError> {
        // std Mutex: one map lookup and at most one sled read, never across an await.
        let mut rooms = self.rooms.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(room) = rooms.get(&room_id) {
            return Ok(Arc::clone(room));
        }
        let last = self.store.last_seq(room_id)?;
        let room = Arc::new(RoomSeq {
            room_id,
            last_allocated: tokio::sync::Mutex::new(last),
            durable: AtomicU64::new(last),
            pending: Mutex::new(HashMap::new()),
        });
        rooms.insert(room_id, Arc::clone(&room));
        Ok(room)
    }
}
