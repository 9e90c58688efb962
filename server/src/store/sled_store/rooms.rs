//! Rooms, membership and read markers: `rooms`, `members`, `memberships`, `reads`.

use super::keys::{concat, id_at, u64_at};
use super::{MemberRecord, RoomRecord, StoreError, Trees, decode, encode};
use heartlink_protocol::{RoomId, UserId};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

impl Trees {
    /// Stores a new room with its first members.
    pub(super) fn create_room(&self, room: &RoomRecord, members: &[UserId], now: u64) -> Result<(), StoreError> {
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
                sled::transaction::TransactionError::Storage(err) => err.into(),
                sled::transaction::TransactionError::Abort(()) => {
                    StoreError::Corrupt { tree: "rooms", detail: "room creation aborted".to_owned() }
                }
            })
    }

    /// The room with this id.
    pub(super) fn room(&self, id: RoomId) -> Result<Option<RoomRecord>, StoreError> {
        self.rooms.get(id.as_bytes())?.map(|bytes| decode("rooms", &bytes)).transpose()
    }

    /// Makes `user` a member; `true` when they were not one before. An
    /// existing membership keeps its original time (members are listed
    /// oldest first).
    pub(super) fn add_member(&self, room: RoomId, user: UserId, now: u64) -> Result<bool, StoreError> {
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
    pub(super) fn remove_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        let previous = self.members.remove(concat(&[room.as_bytes(), user.as_bytes()]))?;
        self.memberships.remove(concat(&[user.as_bytes(), room.as_bytes()]))?;
        Ok(previous.is_some())
    }

    /// The members of a room with their names, in the order they joined.
    pub(super) fn members(&self, room: RoomId) -> Result<Vec<MemberRecord>, StoreError> {
        let mut joined = Vec::new();
        for entry in self.members.scan_prefix(room.as_bytes()) {
            let (key, joined_at) = entry?;
            joined.push((u64_at("members", &joined_at, 0)?, UserId::from_bytes(id_at("members", &key, 16)?)));
        }
        joined.sort();
        let mut members = Vec::with_capacity(joined.len());
        for (joined_at, user_id) in joined {
            // An account is never deleted; a member without one is skipped
            // rather than failing the whole room.
            if let Some(account) = self.user(user_id)? {
                members.push(MemberRecord { user: account.summary(), joined_at });
            }
        }
        Ok(members)
    }

    /// The rooms `user` is a member of.
    pub(super) fn rooms_of(&self, user: UserId) -> Result<Vec<RoomId>, StoreError> {
        self.memberships
            .scan_prefix(user.as_bytes())
            .keys()
            .map(|key| Ok(RoomId::from_bytes(id_at("memberships", &key?, 16)?)))
            .collect()
    }

    /// Moves `user`'s read marker in `room` to `seq` if that is forward;
    /// returns the new marker when it moved.
    pub(super) fn advance_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<Option<u64>, StoreError> {
        let key = concat(&[room.as_bytes(), user.as_bytes()]);
        let mut moved = None;
        let mut damaged = None;
        self.reads.fetch_and_update(key, |old| {
            let current = match old.map(|bytes| u64_at("reads", bytes, 0)).transpose() {
                Ok(current) => current.unwrap_or(0),
                Err(err) => {
                    // Left as it is; the error is reported below.
                    damaged = Some(err);
                    return old.map(<[u8]>::to_vec);
                }
            };
            if seq > current {
                moved = Some(seq);
                Some(seq.to_be_bytes().to_vec())
            } else {
                moved = None;
                old.map(<[u8]>::to_vec)
            }
        })?;
        match damaged {
            Some(err) => Err(err),
            None => Ok(moved),
        }
    }

    /// `user`'s read marker in `room` (0 when none).
    pub(super) fn read_seq(&self, room: RoomId, user: UserId) -> Result<u64, StoreError> {
        let key = concat(&[room.as_bytes(), user.as_bytes()]);
        self.reads.get(key)?.map_or(Ok(0), |bytes| u64_at("reads", &bytes, 0))
    }

    /// Every member's read marker in `room`.
    pub(super) fn reads(&self, room: RoomId) -> Result<Vec<(UserId, u64)>, StoreError> {
        self.reads
            .scan_prefix(room.as_bytes())
            .map(|entry| {
                let (key, value) = entry?;
                Ok((UserId::from_bytes(id_at("reads", &key, 16)?), u64_at("reads", &value, 0)?))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{NewUser, RoomKindRecord, RoomRecord, SledStore, Store};
    use heartlink_protocol::{RoomId, UserId};

    async fn user(store: &SledStore, name: &str) -> UserId {
        let new = NewUser { username: name.into(), canonical: name.into(), password_hash: "h".into(), created_at: 1 };
        store.create_user(new).await.unwrap().unwrap().id
    }

    #[tokio::test]
    async fn joining_again_keeps_the_membership_age() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let room = RoomId::random();
        let (first, second) = (user(&store, "first").await, user(&store, "second").await);
        assert!(store.add_member(room, first, 10).await.unwrap());
        assert!(store.add_member(room, second, 20).await.unwrap());
        assert!(!store.add_member(room, first, 30).await.unwrap(), "already a member");
        let names = |members: Vec<crate::store::MemberRecord>| members.into_iter().map(|m| m.user.username).collect::<Vec<_>>();
        assert_eq!(names(store.members(room).await.unwrap()), ["first", "second"]);
        assert!(store.remove_member(room, first).await.unwrap());
        assert!(!store.remove_member(room, first).await.unwrap(), "not a member any more");
        assert!(store.add_member(room, first, 40).await.unwrap(), "a member again after leaving");
        assert_eq!(names(store.members(room).await.unwrap()), ["second", "first"]);
        assert_eq!(store.rooms_of(first).await.unwrap(), vec![room]);
    }

    #[tokio::test]
    async fn rooms_and_read_markers() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let alice = user(&store, "alice").await;
        let record = RoomRecord {
            id: RoomId::random(),
            name: "general".into(),
            kind: RoomKindRecord::Group,
            created_by: alice,
            created_at: 3,
            pair: Vec::new(),
        };
        store.create_room(&record, &[alice], 3).await.unwrap();
        assert_eq!(store.room(record.id).await.unwrap(), Some(record.clone()));
        assert_eq!(store.members(record.id).await.unwrap()[0].joined_at, 3);

        assert_eq!(store.advance_read(record.id, alice, 5).await.unwrap(), Some(5));
        assert_eq!(store.advance_read(record.id, alice, 4).await.unwrap(), None, "markers only move forward");
        assert_eq!(store.read_seq(record.id, alice).await.unwrap(), 5);
        assert_eq!(store.read_seq(record.id, UserId::random()).await.unwrap(), 0);
        assert_eq!(store.reads(record.id).await.unwrap(), vec![(alice, 5)]);
    }
}
