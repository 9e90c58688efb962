//! Typing indicators that expire. The web chat heartlink replaced showed
//! "typing…" forever when a client vanished; here every indicator has a
//! deadline, and leaving or disconnecting switches it off for the others.
//!
//! An indicator belongs to the connection that set it, so it lives with
//! that connection on its node; the events go through the bus like every
//! other room event. The hub queues each change and `upkeep` publishes
//! the queue: changes also happen where no bus is at hand (a `user_left`
//! arriving from the bus switches off the leaver's indicators here).

use super::{ConnId, Hub, HubState};
use heartlink_protocol::{RoomId, User};
use std::time::Instant;

/// A typing indicator that changed, to be published for its room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypingChange {
    pub room: RoomId,
    pub user: User,
    pub active: bool,
}

impl Hub {
    /// `conn` starts (until `until`) or stops typing in `room`. Only a change
    /// is published.
    pub fn typing(&self, conn: ConnId, room: RoomId, active: bool, until: Instant) {
        let mut state = self.lock();
        let Some(entry) = state.conns.get_mut(&conn) else { return };
        let changed = if active {
            entry.typing.insert(room, until).is_none()
        } else {
            entry.typing.remove(&room).is_some()
        };
        if changed {
            let user = entry.handle.user.clone();
            state.typing_changes.push(TypingChange { room, user, active });
            drop(state);
            self.typing_changed.notify_one();
        }
    }

    /// Switches off every indicator whose deadline passed.
    pub fn expire_typing(&self, now: Instant) {
        let mut state = self.lock();
        let expired: Vec<(ConnId, RoomId)> = state
            .conns
            .iter()
            .flat_map(|(id, entry)| {
                entry.typing.iter().filter(|(_, until)| **until <= now).map(move |(room, _)| (*id, *room))
            })
            .collect();
        for (conn, room) in expired {
            state.stop_typing(conn, room);
        }
    }

    /// The changes queued since the last call, oldest first.
    pub fn take_typing_changes(&self) -> Vec<TypingChange> {
        std::mem::take(&mut self.lock().typing_changes)
    }

    /// Waits until a change may have been queued.
    pub async fn typing_changed(&self) {
        self.typing_changed.notified().await;
    }
}

impl HubState {
    /// Switches off `conn`'s indicator in `room`, if it is on.
    pub(super) fn stop_typing(&mut self, conn: ConnId, room: RoomId) {
        let Some(entry) = self.conns.get_mut(&conn) else { return };
        if entry.typing.remove(&room).is_none() {
            return;
        }
        let user = entry.handle.user.clone();
        self.typing_changes.push(TypingChange { room, user, active: false });
    }
}
