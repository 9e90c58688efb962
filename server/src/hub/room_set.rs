//! A connection's set of rooms (the ones it joined, the ones it is typing
//! in), as a sorted `Vec`: every connection has one, most hold one or two
//! rooms, and a `HashSet` costs 48 bytes inline plus a 96-byte table for a
//! single room where this costs 24 and 32 (docs/BENCHMARKS.md, B1). Lookups
//! are a binary search, so a connection joined to many rooms stays cheap.

use heartlink_protocol::RoomId;

/// Rooms, each with a value, sorted by room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RoomMap<V> {
    entries: Vec<(RoomId, V)>,
}

impl<V> Default for RoomMap<V> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

impl<V> RoomMap<V> {
    fn position(&self, room: &RoomId) -> Result<usize, usize> {
        self.entries.binary_search_by(|(key, _)| key.cmp(room))
    }

    /// Sets `room`'s value; the previous one, if the room was there.
    pub(super) fn insert(&mut self, room: RoomId, value: V) -> Option<V> {
        match self.position(&room) {
            Ok(at) => Some(std::mem::replace(&mut self.entries[at].1, value)),
            Err(at) => {
                self.entries.insert(at, (room, value));
                None
            }
        }
    }

    /// Takes `room` out; its value, if it was there. An emptied map gives its buffer back.
    pub(super) fn remove(&mut self, room: &RoomId) -> Option<V> {
        let at = self.position(room).ok()?;
        let (_, value) = self.entries.remove(at);
        if self.entries.is_empty() {
            self.entries = Vec::new();
        }
        Some(value)
    }

    pub(super) fn contains(&self, room: &RoomId) -> bool {
        self.position(room).is_ok()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&RoomId, &V)> {
        self.entries.iter().map(|(room, value)| (room, value))
    }

    pub(super) fn rooms(&self) -> impl Iterator<Item = RoomId> + '_ {
        self.entries.iter().map(|(room, _)| *room)
    }
}

/// Rooms without a value.
pub(super) type RoomSet = RoomMap<()>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_found_replaced_and_removed_whatever_the_order_they_came_in() {
        let rooms: Vec<RoomId> = (0..40u8).map(|n| RoomId::from_bytes([n.wrapping_mul(97); 16])).collect();
        let mut map = RoomMap::default();
        for (n, room) in rooms.iter().enumerate() {
            assert_eq!(map.insert(*room, n), None);
        }
        assert_eq!(map.insert(rooms[3], 300), Some(3), "a second insert replaces");
        assert!(rooms.iter().all(|room| map.contains(room)));
        assert!(!map.contains(&RoomId::from_bytes([255; 16])));
        let listed: Vec<RoomId> = map.rooms().collect();
        let mut sorted = rooms.clone();
        sorted.sort();
        assert_eq!(listed, sorted);
        for (n, room) in rooms.iter().enumerate().skip(1) {
            assert_eq!(map.remove(room), Some(if n == 3 { 300 } else { n }));
        }
        assert_eq!(map.remove(&rooms[1]), None, "already gone");
        assert_eq!(map.iter().count(), 1);
        assert_eq!(map.remove(&rooms[0]), Some(0));
        assert_eq!(map.entries.capacity(), 0, "an emptied map keeps no buffer");
    }
}
