//! Rooms, membership and read markers: `rooms`, `members`, `memberships`, `reads`.

use super::{RoomRecord, Store, StoreError, concat, decode, encode, id_at, u64_at};
use heartlink_protocol::{RoomId, UserId};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

impl Store {
    /// Stores a new room with its first members.
    pub fn create_room(&self, room: &RoomRecord, members: &[UserId], now: u64) -> Result<(), StoreError> {
        let value = encode("rooms", room)?;
        (&self.rooms, &self.members, &self.memberships)
            .transaction(|(rooms, member_tree, membership_tree)| {
                rooms.insert(room.id.as_bytes(), value.as_slice())?;
                for user in members {
                    member_tree.insert(concat(&[room.id.as_bytes(), user.as_bytes()]), &now.to_be_bytes())?;
                    membership_tree.insert(concat(&[user.as_bytes(), room.id.as_bytes()]), &[])?;
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

    /// Whether `user` is a member of `room`.
    pub fn is_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        Ok(self.members.contains_key(concat(&[room.as_bytes(), user.as_bytes()]))?)
    }

    /// Makes `user` a member; `true` when they were not one before. An
    /// existing membership keeps its original time (members are listed
    /// oldest first).
    pub fn add_member(&self, room: RoomId, user: UserId, now: u64) -> Result<bool, StoreError> {
        let key = concat(&[room.as_bytes(), user.as_bytes()]);
        let added = self.members.compare_and_swap(key, None::<&[u8]>, Some(&now.to_be_bytes()[..]))?.is_ok();
        // A re-join (every reconnect) writes nothing: only the read. The
        // check still repairs a membership whose second half a crash lost.
        let membership = concat(&[user.as_bytes(), room.as_bytes()]);
        if added || !self.memberships.contains_key(&membership)? {
            self.memberships.insert(membership, &[])?;
        }
        Ok(added)
    }

    /// Ends a membership; `true` when there was one.
    pub fn remove_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        let previous = self.members.remove(concat(&[room.as_bytes(), user.as_bytes()]))?;
        self.memberships.remove(concat(&[user.as_bytes(), room.as_bytes()]))?;
        Ok(previous.is_some())
    }

    /// The members of a room, in the order they joined.
    pub fn members(&self, room: RoomId) -> Result<Vec<UserId>, StoreError> {
        let mut members = Vec::new();
        for entry in self.members.scan_prefix(room.as_bytes()) {
            let (key, joined_at) = entry?;
            members.push((u64_at(&joined_at, 0), UserId::from_bytes(id_at(&key, 16))));
        }
        members.sort();
        Ok(members.into_iter().map(|(_, user)| user).collect())
    }

    /// The rooms `user` is a member of.
    pub fn rooms_of(&self, user: UserId) -> Result<Vec<RoomId>, StoreError> {
        self.memberships
            .scan_prefix(user.as_bytes())
            .keys()
            .map(|key| Ok(RoomId::from_bytes(id_at(&key?, 16))))
            .collect()
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

    /// Every member's read marker in `room`.
    pub fn reads(&self, room: RoomId) -> Result<Vec<(UserId, u64)>, StoreError> {
        self.reads
            .scan_prefix(room.as_bytes())
            .map(|entry| {
                let (key, value) = entry?;
                Ok((UserId::from_bytes(id_at(&key, 16)), u64_at(&value, 0)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joining_again_keeps_the_membership_age() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let room = RoomId::random();
        let (first, second) = (UserId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
        assert!(store.add_member(room, first, 10).unwrap());
        assert!(store.add_member(room, second, 20).unwrap());
        assert!(!store.add_member(room, first, 30).unwrap(), "already a member");
        assert_eq!(store.members(room).unwrap(), vec![first, second]);
        assert!(store.remove_member(room, first).unwrap());
        assert!(store.add_member(room, first, 40).unwrap(), "a member again after leaving");
        assert_eq!(store.members(room).unwrap(), vec![second, first]);
    }
}
