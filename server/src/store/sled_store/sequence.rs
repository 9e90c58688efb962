//! Per-room seq counters of the sled store: seq 1, 2, 3… with no gaps, also
//! across crashes.
//!
//! Each room has two numbers: the highest seq written to the `messages` tree
//! and the highest one known to be durable. [`Store::last_seq`] answers the
//! second, so nobody is shown a message a crash could still take back.
//! Batches are numbered and written while the append lock is held (one batch
//! at a time; its flush comes after the lock, so another batch can be
//! numbered while it waits for the disk), and a counter moves only after its batch's
//! transaction committed: a batch
//! whose transaction failed leaves no trace, and its seqs are given again.
//! A batch whose transaction committed but whose flush failed keeps its seqs
//! (the messages are in the tree and the next flush makes them durable).
//!
//! A room's counters are loaded on first use from its last stored key.
//! After a crash that is the last message that reached the disk: sled
//! recovers a prefix of its log, and within a room messages enter the log
//! in seq order.
//!
//! [`Store::last_seq`]: crate::store::Store::last_seq

use super::keys::{message_key, u64_at};
use super::{StoreError, Trees};
use heartlink_protocol::RoomId;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

#[derive(Debug, Clone, Copy)]
struct Counter {
    written: u64,
    durable: u64,
}

#[derive(Debug, Default)]
struct Table {
    rooms: HashMap<RoomId, Counter>,
    /// Rooms whose `written` is ahead of `durable`.
    behind: HashSet<RoomId>,
}

/// The counters of every room used since the store opened.
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// std Mutex: held for map operations and at most one sled read (the
    /// first use of a room), never across an await or a disk write.
    table: Mutex<Table>,
    /// Held by the one batch being numbered and written, not while it is flushed (see the file doc).
    append: Mutex<()>,
}

impl Counters {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Held while a batch is numbered and written (not while it is flushed).
    pub(super) fn append_lock(&self) -> MutexGuard<'_, ()> {
        self.append.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_room<T>(&self, trees: &Trees, room: RoomId, f: impl FnOnce(&mut Counter) -> T) -> Result<T, StoreError> {
        let mut table = self.table();
        if let Some(counter) = table.rooms.get_mut(&room) {
            return Ok(f(counter));
        }
        // Loaded under the lock: a batch for this room numbers its messages
        // only after loading, so the tree holds no unflushed message of it yet.
        let last = trees.last_stored_seq(room)?;
        let counter = table.rooms.entry(room).or_insert(Counter { written: last, durable: last });
        Ok(f(counter))
    }

    /// The highest durable seq of `room`.
    pub(super) fn durable(&self, trees: &Trees, room: RoomId) -> Result<u64, StoreError> {
        self.with_room(trees, room, |counter| counter.durable)
    }

    /// The highest written seq of `room` (call with the append lock held).
    pub(super) fn written(&self, trees: &Trees, room: RoomId) -> Result<u64, StoreError> {
        self.with_room(trees, room, |counter| counter.written)
    }

    /// A batch's transaction committed: these rooms now have messages up to these seqs.
    pub(super) fn record_written(&self, rooms: &HashMap<RoomId, u64>) {
        let mut table = self.table();
        for (room, seq) in rooms {
            if let Some(counter) = table.rooms.get_mut(room) {
                counter.written = counter.written.max(*seq);
            }
            table.behind.insert(*room);
        }
    }

    /// What is written but not yet known durable: a flush that starts after
    /// this call covers it.
    pub(super) fn written_not_durable(&self) -> Vec<(RoomId, u64)> {
        let table = self.table();
        table.behind.iter().filter_map(|room| table.rooms.get(room).map(|counter| (*room, counter.written))).collect()
    }

    /// A flush covering `written` (from [`Counters::written_not_durable`]) returned.
    pub(super) fn mark_durable(&self, written: &[(RoomId, u64)]) {
        let mut table = self.table();
        for (room, seq) in written {
            let caught_up = match table.rooms.get_mut(room) {
                Some(counter) => {
                    counter.durable = counter.durable.max(*seq);
                    counter.durable >= counter.written
                }
                None => true,
            };
            if caught_up {
                table.behind.remove(room);
            }
        }
    }
}

impl Trees {
    /// The highest seq stored for `room` (0 when it has no messages).
    fn last_stored_seq(&self, room: RoomId) -> Result<u64, StoreError> {
        let last = self.messages.range(message_key(room, 0)..=message_key(room, u64::MAX)).keys().next_back();
        match last {
            Some(key) => u64_at("messages", &key?, 16),
            None => Ok(0),
        }
    }
}
