//! Per-room sequence numbers: seq 1, 2, 3… with no gaps, also across crashes.
//!
//! Each room has a lock around its last allocated seq. A `send` takes the
//! lock, checks the dedup record, stores the message under seq + 1 and queues
//! it for the group commit *before* releasing the lock, so the commit queue
//! sees every room's messages in seq order. The lock is a tokio Mutex because
//! that queueing awaits (the commit queue is bounded).
//!
//! After a crash the counter restarts from the last stored key, so a seq is
//! never reused or skipped: sled recovers a prefix of its log, and within a
//! room messages enter the log in seq order.

use crate::store::{Store, StoreError};
use heartlink_protocol::RoomId;
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
        });
        rooms.insert(room_id, Arc::clone(&room));
        Ok(room)
    }
}
