//! Room membership: `members` (a room's users and when they joined),
//! `member_order` (the same, in join order, for paging) and `memberships`
//! (a user's rooms). The three change together, in one transaction.

use super::{Store, StoreError, concat, id_at, u64_at};
use heartlink_protocol::{RoomId, UserId};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

/// Where a member stands in a room's join order: members are listed by the
/// time they joined, then by id (for two joins in one millisecond).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemberPosition {
    pub joined_at: u64,
    pub user: UserId,
}

fn member_key(room: RoomId, user: UserId) -> Vec<u8> {
    concat(&[room.as_bytes(), user.as_bytes()])
}

fn order_key(room: RoomId, position: MemberPosition) -> Vec<u8> {
    concat(&[room.as_bytes(), &position.joined_at.to_be_bytes(), position.user.as_bytes()])
}

fn membership_key(user: UserId, room: RoomId) -> Vec<u8> {
    concat(&[user.as_bytes(), room.as_bytes()])
}

/// Inserts one membership into the three trees of a transaction.
pub(super) fn insert_member(
    trees: (&TransactionalTree, &TransactionalTree, &TransactionalTree),
    room: RoomId,
    user: UserId,
    joined_at: u64,
) -> Result<(), sled::transaction::UnabortableTransactionError> {
    let (members, member_order, memberships) = trees;
    members.insert(member_key(room, user), &joined_at.to_be_bytes())?;
    member_order.insert(order_key(room, MemberPosition { joined_at, user }), &[])?;
    memberships.insert(membership_key(user, room), &[])?;
    Ok(())
}

fn transaction_error(err: TransactionError<()>) -> StoreError {
    match err {
        TransactionError::Storage(err) => StoreError::Db(err),
        TransactionError::Abort(()) => StoreError::Corrupt { tree: "members", detail: "membership change aborted".to_owned() },
    }
}

impl Store {
    /// Whether `user` is a member of `room`.
    pub fn is_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        Ok(self.members.contains_key(member_key(room, user))?)
    }

    /// Makes `user` a member; `true` when they were not one before. An
    /// existing membership keeps its original time (members are listed
    /// oldest first).
    pub fn add_member(&self, room: RoomId, user: UserId, now: u64) -> Result<bool, StoreError> {
        // A re-join (every reconnect) writes nothing: only the read.
        if let Some(joined_at) = self.members.get(member_key(room, user))? {
            self.repair_membership(room, user, u64_at(&joined_at, 0))?;
            return Ok(false);
        }
        let added = (&self.members, &self.member_order, &self.memberships).transaction(|(members, order, memberships)| {
            // Checked again inside: another connection of the user may have
            // joined since the read above.
            if members.get(member_key(room, user))?.is_some() {
                return Ok(false);
            }
            insert_member((members, order, memberships), room, user, now)?;
            Ok::<_, ConflictableTransactionError<()>>(true)
        });
        added.map_err(transaction_error)
    }

    /// Data written before memberships changed in one transaction may have
    /// lost the second half of one in a crash; a re-join puts it back.
    fn repair_membership(&self, room: RoomId, user: UserId, joined_at: u64) -> Result<(), StoreError> {
        let membership = membership_key(user, room);
        if !self.memberships.contains_key(&membership)? {
            self.memberships.insert(membership, &[])?;
        }
        let order = order_key(room, MemberPosition { joined_at, user });
        if !self.member_order.contains_key(&order)? {
            self.member_order.insert(order, &[])?;
        }
        Ok(())
    }

    /// Ends a membership; `true` when there was one.
    pub fn remove_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        let removed = (&self.members, &self.member_order, &self.memberships).transaction(|(members, order, memberships)| {
            let Some(joined_at) = members.remove(member_key(room, user))? else {
                return Ok(false);
            };
            order.remove(order_key(room, MemberPosition { joined_at: u64_at(&joined_at, 0), user }))?;
            memberships.remove(membership_key(user, room))?;
            Ok::<_, ConflictableTransactionError<()>>(true)
        });
        removed.map_err(transaction_error)
    }

    /// Up to `limit` members of `room` after `after` (from the first when
    /// `None`), in join order, and whether more follow.
    pub fn member_page(
        &self,
        room: RoomId,
        after: Option<MemberPosition>,
        limit: usize,
    ) -> Result<(Vec<MemberPosition>, bool), StoreError> {
        use std::ops::Bound;
        let start = match after {
            Some(position) => Bound::Excluded(order_key(room, position)),
            None => Bound::Included(room.as_bytes().to_vec()),
        };
        let end = match room_successor(room) {
            Some(next) => Bound::Excluded(next),
            None => Bound::Unbounded,
        };
        let mut rows = Vec::with_capacity(limit.min(256));
        for key in self.member_order.range::<Vec<u8>, _>((start, end)).keys() {
            if rows.len() == limit {
                return Ok((rows, true));
            }
            let key = key?;
            let position = MemberPosition { joined_at: u64_at(&key, 16), user: UserId::from_bytes(id_at(&key, 24)) };
            rows.push(position);
        }
        Ok((rows, false))
    }

    /// The rooms `user` is a member of.
    pub fn rooms_of(&self, user: UserId) -> Result<Vec<RoomId>, StoreError> {
        self.memberships
            .scan_prefix(user.as_bytes())
            .keys()
            .map(|key| Ok(RoomId::from_bytes(id_at(&key?, 16))))
            .collect()
    }

    /// How many rooms `user` is a member of.
    pub fn membership_count(&self, user: UserId) -> Result<usize, StoreError> {
        let mut count = 0;
        for key in self.memberships.scan_prefix(user.as_bytes()).keys() {
            key?;
            count += 1;
        }
        Ok(count)
    }
}

/// The smallest key above every key starting with `room`: the end of the
/// room's range. `None` only for the all-ones id.
fn room_successor(room: RoomId) -> Option<Vec<u8>> {
    let mut bytes = room.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < u8::MAX {
            bytes.push(last + 1);
            return Some(bytes);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u8) -> UserId {
        UserId::from_bytes([n; 16])
    }

    fn page(store: &Store, room: RoomId, after: Option<MemberPosition>, limit: usize) -> (Vec<UserId>, bool) {
        let (rows, more) = store.member_page(room, after, limit).unwrap();
        (rows.iter().map(|position| position.user).collect(), more)
    }

    #[test]
    fn joining_again_keeps_the_membership_age() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let room = RoomId::random();
        let (first, second) = (user(1), user(2));
        assert!(store.add_member(room, first, 10).unwrap());
        assert!(store.add_member(room, second, 20).unwrap());
        assert!(!store.add_member(room, first, 30).unwrap(), "already a member");
        assert_eq!(page(&store, room, None, 10), (vec![first, second], false));
        assert!(store.remove_member(room, first).unwrap());
        assert!(!store.remove_member(room, first).unwrap(), "no longer a member");
        assert!(store.add_member(room, first, 40).unwrap(), "a member again after leaving");
        assert_eq!(page(&store, room, None, 10), (vec![second, first], false));
        assert_eq!(store.rooms_of(first).unwrap(), vec![room]);
        assert_eq!(store.membership_count(first).unwrap(), 1);
    }

    #[test]
    fn member_pages_follow_join_order_and_stay_inside_the_room() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Rooms whose ids are neighbours: the page must not run into the next one.
        let room = RoomId::from_bytes([5; 16]);
        let mut next = [5u8; 16];
        next[15] = 6;
        let neighbour = RoomId::from_bytes(next);
        for n in 1..=5u8 {
            store.add_member(room, user(n), 100 - u64::from(n)).unwrap();
            store.add_member(neighbour, user(n), 1).unwrap();
        }
        let (first, more) = store.member_page(room, None, 2).unwrap();
        assert_eq!(first.iter().map(|position| position.user).collect::<Vec<_>>(), vec![user(5), user(4)]);
        assert!(more);
        let after = first.last().copied();
        assert_eq!(page(&store, room, after, 2), (vec![user(3), user(2)], true));
        let (rest, more) = store.member_page(room, Some(MemberPosition { joined_at: 98, user: user(2) }), 2).unwrap();
        assert_eq!((rest.len(), more), (1, false));
        assert_eq!(page(&store, RoomId::from_bytes([u8::MAX; 16]), None, 2), (vec![], false));
    }

    #[test]
    fn the_join_order_index_is_built_for_an_older_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let room = RoomId::random();
        {
            let store = Store::open(dir.path()).unwrap();
            store.add_member(room, user(1), 10).unwrap();
            store.add_member(room, user(2), 5).unwrap();
            // As a data dir from before the index: no index, no flag.
            store.member_order.clear().unwrap();
            store.db.open_tree("meta").unwrap().remove(b"index:member_order:1").unwrap();
            store.db.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(page(&store, room, None, 10), (vec![user(2), user(1)], false));
    }
}
