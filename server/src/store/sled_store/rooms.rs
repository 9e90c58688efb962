//! Rooms and read markers: `rooms`, `reads` (membership is in members.rs).

use super::keys::{concat, id_at, u64_at};
use super::{RoomRecord, StoreError, Trees, UserSummary, decode, encode};
use heartlink_protocol::{RoomId, UserId};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

impl Trees {
    /// Stores a new room with its first members.
    pub(super) fn create_room(&self, room: &RoomRecord, members: &[UserId], now: u64) -> Result<(), StoreError> {
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

    /// At most `limit` read markers of `room`'s current members other than
    /// `except`, furthest ahead first. One pass over the room's markers,
    /// holding `limit` of them; membership is asked only of markers that
    /// would make the cut.
    pub(super) fn leading_reads(&self, room: RoomId, limit: usize, except: UserId) -> Result<Vec<(UserSummary, u64)>, StoreError> {
        use std::cmp::Reverse;
        let mut leading = std::collections::BinaryHeap::with_capacity(limit.saturating_add(1).min(1024));
        for entry in self.reads.scan_prefix(room.as_bytes()) {
            let (key, value) = entry?;
            let (user, seq) = (UserId::from_bytes(id_at("reads", &key, 16)?), u64_at("reads", &value, 0)?);
            let makes_the_cut = leading.len() < limit || leading.peek().is_some_and(|Reverse((lowest, _))| seq > *lowest);
            if !makes_the_cut || user == except || !self.is_member(room, user)? {
                continue;
            }
            leading.push(Reverse((seq, user)));
            if leading.len() > limit {
                leading.pop();
            }
        }
        let mut reads: Vec<(UserId, u64)> = leading.into_iter().map(|Reverse((seq, user))| (user, seq)).collect();
        reads.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut named = Vec::with_capacity(reads.len());
        for (user, seq) in reads {
            if let Some(account) = self.user(user)? {
                named.push((account.summary(), seq));
            }
        }
        Ok(named)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{NewUser, RoomKindRecord, RoomRecord, SledStore, Store};
    use heartlink_protocol::{RoomId, UserId};

    async fn user(store: &SledStore, name: &str) -> UserId {
        let new = NewUser { username: name.into(), canonical: name.into(), lookalikes: Vec::new(), password_hash: "h".into(), created_at: 1 };
        store.create_user(new).await.unwrap().unwrap().id
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
        assert_eq!(store.member_page(record.id, None, 10).await.unwrap().members[0].joined_at, 3);

        assert_eq!(store.advance_read(record.id, alice, 5).await.unwrap(), Some(5));
        assert_eq!(store.advance_read(record.id, alice, 4).await.unwrap(), None, "markers only move forward");
        assert_eq!(store.read_seq(record.id, alice).await.unwrap(), 5);
        assert_eq!(store.read_seq(record.id, UserId::random()).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn leading_reads_are_the_furthest_ahead_of_the_other_current_members() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let room = RoomId::random();
        let mut users = Vec::new();
        for n in 1..=20u64 {
            let id = user(&store, &format!("user{n}")).await;
            // Odd users are members; even ones left (their markers stay).
            if n % 2 == 1 {
                store.add_member(room, id, n).await.unwrap();
            }
            store.advance_read(room, id, n * 10).await.unwrap();
            users.push(id);
        }
        store.advance_read(RoomId::random(), users[0], 99_999).await.unwrap();
        let reads = store.leading_reads(room, 3, users[18]).await.unwrap();
        let got: Vec<(String, u64)> = reads.into_iter().map(|(user, seq)| (user.username, seq)).collect();
        assert_eq!(got, [("user17".to_owned(), 170), ("user15".to_owned(), 150), ("user13".to_owned(), 130)]);
        assert_eq!(store.leading_reads(room, 500, UserId::random()).await.unwrap().len(), 10);
    }
}
