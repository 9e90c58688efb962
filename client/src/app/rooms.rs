//! The room list: a stable order (by name, then id — the same wherever the
//! rooms were joined from, so Alt+1…9 do not shift when a room is left and
//! re-joined), which room is open (kept by id, so no removal elsewhere in
//! the list can change it), and finding a room by name for `/join NAME`.

use super::{App, Effect, RoomView};
use crate::sanitize::sanitize_line;
use heartlink_protocol::RoomId;

/// Where `/join NAME` found the room.
pub(super) enum Found {
    Open(RoomId),
    Member(RoomId),
    None,
    Ambiguous(Vec<RoomId>),
}

impl App {
    /// Adds a room at its place in the order.
    pub(super) fn add_room(&mut self, room: RoomView) {
        let key = order_key(&room);
        let at = self.rooms.partition_point(|other| order_key(other) < key);
        self.rooms.insert(at, room);
    }

    /// Re-sorts after a room's name became known (a placeholder's `joined`).
    pub(super) fn sort_rooms(&mut self) {
        self.rooms.sort_by_cached_key(order_key);
    }

    /// Removes a room; if it was open, the one beside it opens.
    pub(super) fn remove_room(&mut self, id: RoomId) -> Option<RoomView> {
        let index = self.room_index(id)?;
        let room = self.rooms.remove(index);
        if self.active == Some(id) {
            self.active = self.rooms.get(index.min(self.rooms.len().saturating_sub(1))).map(RoomView::id);
        }
        Some(room)
    }

    /// Opens a room by id (it must be in the list). The room left keeps a
    /// "new since you left" mark at its newest message.
    pub(super) fn open(&mut self, id: RoomId) {
        if self.room_index(id).is_none() || self.active == Some(id) {
            return;
        }
        if let Some(left) = self.active.and_then(|left| self.room_mut(left)) {
            left.since_left = Some(left.newest_seq());
        }
        self.active = Some(id);
    }

    /// A room we are in or a member of, by name (case-insensitive), for
    /// `/join NAME`: an open room first, then the member list from the last
    /// `rooms` reply.
    pub(super) fn find_room(&self, name: &str) -> Found {
        let named = |room_name: &str| room_name.to_lowercase() == name.to_lowercase();
        let open: Vec<RoomId> = self.rooms.iter().filter(|room| named(&room.room.name)).map(RoomView::id).collect();
        let member: Vec<RoomId> =
            self.member_rooms.iter().filter(|summary| named(&summary.room.name)).map(|summary| summary.room.id).collect();
        let mut all = open.clone();
        all.extend(member.iter().filter(|id| !open.contains(id)));
        match (open.as_slice(), all.as_slice()) {
            (_, []) => Found::None,
            ([one], [_]) => Found::Open(*one),
            ([], [one]) => Found::Member(*one),
            _ => Found::Ambiguous(all),
        }
    }

    /// `/join NAME`: opens or re-joins a room of ours by name; anything
    /// else is a notice and the open room stays as it is.
    pub(super) fn join_by_name(&mut self, name: &str) -> Vec<Effect> {
        match self.find_room(name) {
            Found::Open(id) => self.select_room_id(id),
            Found::Member(id) => self.join_id(id),
            Found::Ambiguous(ids) => {
                let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                let name = sanitize_line(name);
                self.notify(format!("{} rooms are called {name}: /join one of {}", ids.len(), ids.join(", ")), true);
                Vec::new()
            }
            Found::None => {
                let name = sanitize_line(name);
                self.notify(
                    format!("you are in no room called {name} — /rooms lists yours; a new room is joined by its id"),
                    true,
                );
                Vec::new()
            }
        }
    }
}

fn order_key(room: &RoomView) -> (String, RoomId) {
    (room.room.name.to_lowercase(), room.id())
}
