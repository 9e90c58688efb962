//! Room membership: `members` (a room's users and when they joined),
//! `member_order` (the same, in join order, for paging) and `memberships`
//! (a user's rooms). The three change together, in one transaction.

use super::keys::{concat, id_at, u64_at};
use super::{MemberPage, MemberPosition, MemberRecord, StoreError, Trees};
use heartlink_protocol::{RoomId, UserId};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

pub(super) fn member_key(room: RoomId, user: UserId) -> Vec<u8> {
    concat(&[room.as_bytes(), user.as_bytes()])
}

pub(super) fn order_key(room: RoomId, position: MemberPosition) -> Vec<u8> {
    concat(&[room.as_bytes(), &position.joined_at.to_be_bytes(), position.user.as_bytes()])
}

pub(super) fn membership_key(user: UserId, room: RoomId) -> Vec<u8> {
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
        TransactionError::Storage(err) => err.into(),
        TransactionError::Abort(()) => StoreError::Corrupt { tree: "members", detail: "membership change aborted".to_owned() },
    }
}

impl Trees {
    /// Whether `user` is a member of `room`.
    pub(super) fn is_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        Ok(self.members.contains_key(member_key(room, user))?)
    }

    /// Makes `user` a member; `true` when they were not one before. An
    /// existing membership keeps its original time (members are listed
    /// oldest first).
    pub(super) fn add_member(&self, room: RoomId, user: UserId, now: u64) -> Result<bool, StoreError> {
        // A re-join (every reconnect) writes nothing: only the read.
        if let Some(joined_at) = self.members.get(member_key(room, user))? {
            self.repair_membership(room, user, u64_at("members", &joined_at, 0)?)?;
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
    pub(super) fn remove_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        let removed = (&self.members, &self.member_order, &self.memberships).transaction(|(members, order, memberships)| {
            let Some(joined_at) = members.remove(member_key(room, user))? else {
                return Ok(false);
            };
            let joined_at = match u64_at("members", &joined_at, 0) {
                Ok(joined_at) => joined_at,
                Err(_) => return Err(ConflictableTransactionError::Abort(())),
            };
            order.remove(order_key(room, MemberPosition { joined_at, user }))?;
            memberships.remove(membership_key(user, room))?;
            Ok::<_, ConflictableTransactionError<()>>(true)
        });
        removed.map_err(transaction_error)
    }

    /// Up to `limit` members of `room` after `after`, in join order, with
    /// their names; where the next page starts when more follow.
    pub(super) fn member_page(&self, room: RoomId, after: Option<MemberPosition>, limit: usize) -> Result<MemberPage, StoreError> {
        use std::ops::Bound;
        let start = match after {
            Some(position) => Bound::Excluded(order_key(room, position)),
            None => Bound::Included(room.as_bytes().to_vec()),
        };
        let end = match room_successor(room) {
            Some(next) => Bound::Excluded(next),
            None => Bound::Unbounded,
        };
        let mut page = MemberPage { members: Vec::with_capacity(limit.min(256)), next: None };
        let mut last = None;
        for key in self.member_order.range::<Vec<u8>, _>((start, end)).keys() {
            if page.members.len() == limit {
                page.next = last;
                break;
            }
            let key = key?;
            let position =
                MemberPosition { joined_at: u64_at("member_order", &key, 16)?, user: UserId::from_bytes(id_at("member_order", &key, 24)?) };
            last = Some(position);
            // An account is never deleted; a member without one is skipped
            // rather than failing the whole room.
            if let Some(account) = self.user(position.user)? {
                page.members.push(MemberRecord { user: account.summary(), joined_at: position.joined_at });
            }
        }
        Ok(page)
    }

    /// The rooms `user` is a member of.
    pub(super) fn rooms_of(&self, user: UserId) -> Result<Vec<RoomId>, StoreError> {
        self.memberships
            .scan_prefix(user.as_bytes())
            .keys()
            .map(|key| Ok(RoomId::from_bytes(id_at("memberships", &key?, 16)?)))
            .collect()
    }

    /// How many rooms `user` is a member of.
    pub(super) fn membership_count(&self, user: UserId) -> Result<usize, StoreError> {
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
    use crate::store::{MemberPosition, NewUser, SledStore, Store};
    use heartlink_protocol::{RoomId, UserId};

    async fn user(store: &SledStore, n: u8) -> UserId {
        let name = format!("user{n}");
        let new = NewUser { username: name.clone(), canonical: name, lookalikes: Vec::new(), password_hash: "h".into(), created_at: 1 };
        store.create_user(new).await.unwrap().unwrap().id
    }

    async fn page(store: &SledStore, room: RoomId, after: Option<MemberPosition>, limit: usize) -> (Vec<UserId>, bool) {
        let page = store.member_page(room, after, limit).await.unwrap();
        (page.members.iter().map(|member| member.user.id).collect(), page.next.is_some())
    }

    #[tokio::test]
    async fn joining_again_keeps_the_membership_age() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let room = RoomId::random();
        let (first, second) = (user(&store, 1).await, user(&store, 2).await);
        assert!(store.add_member(room, first, 10).await.unwrap());
        assert!(store.add_member(room, second, 20).await.unwrap());
        assert!(!store.add_member(room, first, 30).await.unwrap(), "already a member");
        assert_eq!(page(&store, room, None, 10).await, (vec![first, second], false));
        assert!(store.remove_member(room, first).await.unwrap());
        assert!(!store.remove_member(room, first).await.unwrap(), "no longer a member");
        assert!(store.add_member(room, first, 40).await.unwrap(), "a member again after leaving");
        assert_eq!(page(&store, room, None, 10).await, (vec![second, first], false));
        assert_eq!(store.rooms_of(first).await.unwrap(), vec![room]);
        assert_eq!(store.membership_count(first).await.unwrap(), 1);
        assert!(store.is_member(room, first).await.unwrap());
    }

    #[tokio::test]
    async fn member_pages_follow_join_order_and_stay_inside_the_room() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        // Rooms whose ids are neighbours: the page must not run into the next one.
        let room = RoomId::from_bytes([5; 16]);
        let mut next = [5u8; 16];
        next[15] = 6;
        let neighbour = RoomId::from_bytes(next);
        let mut users = Vec::new();
        for n in 1..=5u8 {
            let id = user(&store, n).await;
            store.add_member(room, id, 100 - u64::from(n)).await.unwrap();
            store.add_member(neighbour, id, 1).await.unwrap();
            users.push(id);
        }
        let first = store.member_page(room, None, 2).await.unwrap();
        assert_eq!(first.members.iter().map(|member| member.user.id).collect::<Vec<_>>(), vec![users[4], users[3]]);
        assert_eq!(first.next, Some(first.members[1].position()));
        assert_eq!(page(&store, room, first.next, 2).await, (vec![users[2], users[1]], true));
        let rest = store.member_page(room, Some(MemberPosition { joined_at: 98, user: users[1] }), 2).await.unwrap();
        assert_eq!((rest.members.len(), rest.next), (1, None));
        assert_eq!(page(&store, RoomId::from_bytes([u8::MAX; 16]), None, 2).await, (vec![], false));
    }
}
