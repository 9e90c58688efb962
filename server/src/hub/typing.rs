//! Typing indicators that expire. The web chat heartlink replaced showed
//! "typing…" forever when a client vanished; here every indicator has a
//! deadline, and leaving or disconnecting switches it off for the others.

use super::{ConnId, Hub, HubState, frame};
use heartlink_protocol::{RoomId, ServerMsg};
use std::time::Instant;

impl Hub {
    /// `conn` starts (until `until`) or stops typing in `room`. Only a change
    /// is broadcast, to the joined connections of the room's other users.
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
            let event = frame(&ServerMsg::Typing { room_id: room, user: user.clone(), active });
            state.broadcast(room, &event, |handle| handle.user.id != user.id);
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
            Self::stop_typing(&mut state, conn, room);
        }
    }

    pub(super) fn stop_typing(state: &mut HubState, conn: ConnId, room: RoomId) {
        let Some(entry) = state.conns.get_mut(&conn) else { return };
        if entry.typing.remove(&room).is_none() {
            return;
        }
        let user = entry.handle.user.clone();
        let event = frame(&ServerMsg::Typing { room_id: room, user: user.clone(), active: false });
        state.broadcast(room, &event, |handle| handle.user.id != user.id);
    }

    pub(super) fn stop_all_typing(state: &mut HubState, conn: ConnId) {
        let rooms: Vec<RoomId> = state.conns.get(&conn).map(|e| e.typing.keys().copied().collect()).unwrap_or_default();
        for room in rooms {
            Self::stop_typing(state, conn, room);
        }
    }
}
