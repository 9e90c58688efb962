//! Rooms and read markers: `rooms`, `reads` (membership is in members.rs).

use super::{RoomRecord, Store, StoreError, concat, decode, encode, id_at, u64_at};
use heartlink_protocol::{RoomId, UserId};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

impl Store {
    /// Stores a new room with its first members.
    pub fn create_room(&self, room: &RoomRecord, members: &[UserId], now: u64) -> Result<(), StoreError> {
        let value = encode("rooms", room)?;
        (&self.rooms, &self.members, &self.member_order, &self.memberships)
            .transaction(|(rooms, member_tree, order_tree, membership_tree)| {
                rooms.insert(room.id.as_bytes(), value.as_slice())?;
                for user in members {
                    super::members::insert_member((member_tree, order_tree, membership_tree), room.id, *user, now)?;
                }
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|err| match err {
                sled::transaction::TransactionError::Storage(err) => StoreError::Db(err),
                sled::transaction::TransactionError::Abort(()) => {
                    StoreError::Corrupt { tree: "rooms", detail: "room creation aborted".to_owned() }
                }
            })
    }

    /// The room with this id.
    pub fn room(&self, id: RoomId) -> Result<Option<RoomRecord>, StoreError> {
        self.rooms.get(id.as_bytes())?.map(|bytes| decode("rooms", &bytes)).transpose()
    }

    /// Moves `user`'s read marker in `room` to `seq` if that is forward;
    /// returns the new marker when it moved.
    pub fn advance_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<Option<u64>, StoreError> {
        let key = concat(&[room.as_bytes(), user.as_bytes()]);
        let mut moved = None;
        self.reads.fetch_and_update(key, |old| {
            let current = old.map_or(0, |bytes| u64_at(bytes, 0));
            if seq > current {
                moved = Some(seq);
                Some(seq.to_be_bytes().to_vec())
            } else {
                moved = None;
                old.map(<[u8]>::to_vec)
            }
        })?;
        Ok(moved)
    }

    /// `user`'s read marker in `room` (0 when none).
    pub fn read_seq(&self, room: RoomId, user: UserId) -> Result<u64, StoreError> {
        let key = concat(&[room.as_bytes(), user.as_bytes()]);
        Ok(self.reads.get(key)?.map_or(0, |bytes| u64_at(&bytes, 0)))
    }

    /// At most `limit` read markers of `room`, those furthest ahead, of the
    /// users `keep` accepts (asked only of markers that would make the cut),
    /// furthest first. One pass over the room's markers, holding `limit` of
    /// them: a room with many readers costs time here, not memory.
    pub fn leading_reads(
        &self,
        room: RoomId,
        limit: usize,
        mut keep: impl FnMut(UserId) -> Result<bool, StoreError>,
    ) -> Result<Vec<(UserId, u64)>, StoreError> {
        use std::cmp::Reverse;
        let mut leading = std::collections::BinaryHeap::with_capacity(limit.saturating_add(1).min(1024));
        for entry in self.reads.scan_prefix(room.as_bytes()) {
            let (key, value) = entry?;
            let (user, seq) = (UserId::from_bytes(id_at(&key, 16)), u64_at(&value, 0));
            let makes_the_cut = leading.len() < limit || leading.peek().is_some_and(|Reverse((lowest, _))| seq > *lowest);
            if !makes_the_cut || !keep(user)? {
                continue;
            }
            leading.push(Reverse((seq, user)));
            if leading.len() > limit {
                leading.pop();
            }
        }
        let mut reads: Vec<(UserId, u64)> = leading.into_iter().map(|Reverse((seq, user))| (user, seq)).collect();
        reads.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(reads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_reads_are_the_furthest_ahead_of_the_kept_users() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let room = RoomId::random();
        for n in 1..=200u8 {
            store.advance_read(room, UserId::from_bytes([n; 16]), u64::from(n) * 10).unwrap();
        }
        store.advance_read(RoomId::random(), UserId::from_bytes([201; 16]), 99_999).unwrap();
        let odd_only = |user: UserId| Ok(user.as_bytes()[0] % 2 == 1);
        let reads = store.leading_reads(room, 3, odd_only).unwrap();
        let expected: Vec<(UserId, u64)> =
            [199u8, 197, 195].iter().map(|n| (UserId::from_bytes([*n; 16]), u64::from(*n) * 10)).collect();
        assert_eq!(reads, expected);
        assert_eq!(store.leading_reads(room, 500, |_| Ok(true)).unwrap().len(), 200);
    }
}
