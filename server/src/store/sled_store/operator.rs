//! What the operator's commands need of the store (`heartlink-server
//! admin`): account bans (`user_bans`), pages of whole trees in key order
//! for listing and export, blanking one message, and writing an export back
//! into an empty store.

use super::keys::{concat, id_at, message_key, u64_at};
use super::messages::{Fresh, Op, Tree, message_ops};
use super::members::{member_key, membership_key, order_key};
use super::{BanRecord, MessageRecord, RoomRecord, StoreError, TokenRecord, Trees, UserRecord, decode, encode};
use crate::store::{MemberPosition, RestoreRecord, TokenHash};
use heartlink_protocol::{RoomId, UserId};
use std::ops::Bound;

/// Up to `limit` entries of `tree` after the key `after` (from the first when `None`).
fn page<T>(
    tree: &sled::Tree,
    after: Option<&[u8]>,
    limit: usize,
    mut each: impl FnMut(&[u8], &[u8]) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let start = after.map_or(Bound::Unbounded, |key| Bound::Excluded(key.to_vec()));
    let mut found = Vec::new();
    for entry in tree.range::<Vec<u8>, _>((start, Bound::Unbounded)).take(limit) {
        let (key, value) = entry?;
        found.push(each(&key, &value)?);
    }
    Ok(found)
}

impl Trees {
    pub(super) fn ban_user(&self, ban: &BanRecord) -> Result<(), StoreError> {
        self.user_bans.insert(ban.user_id.as_bytes(), encode("user_bans", ban)?)?;
        Ok(())
    }

    pub(super) fn unban_user(&self, user: UserId) -> Result<bool, StoreError> {
        Ok(self.user_bans.remove(user.as_bytes())?.is_some())
    }

    pub(super) fn user_ban(&self, user: UserId) -> Result<Option<BanRecord>, StoreError> {
        self.user_bans.get(user.as_bytes())?.map(|bytes| decode("user_bans", &bytes)).transpose()
    }

    pub(super) fn bans_after(&self, after: Option<UserId>, limit: usize) -> Result<Vec<BanRecord>, StoreError> {
        page(&self.user_bans, after.as_ref().map(|id| id.as_bytes().as_slice()), limit, |_, value| decode("user_bans", value))
    }

    pub(super) fn users_after(&self, after: Option<UserId>, limit: usize) -> Result<Vec<UserRecord>, StoreError> {
        page(&self.users, after.as_ref().map(|id| id.as_bytes().as_slice()), limit, |_, value| decode("users", value))
    }

    pub(super) fn rooms_after(&self, after: Option<RoomId>, limit: usize) -> Result<Vec<RoomRecord>, StoreError> {
        page(&self.rooms, after.as_ref().map(|id| id.as_bytes().as_slice()), limit, |_, value| decode("rooms", value))
    }

    pub(super) fn tokens_after(&self, after: Option<TokenHash>, limit: usize) -> Result<Vec<(TokenHash, TokenRecord)>, StoreError> {
        page(&self.tokens, after.as_ref().map(<[u8; 32]>::as_slice), limit, |key, value| {
            let hash: TokenHash = key
                .try_into()
                .map_err(|_| StoreError::Corrupt { tree: "tokens", detail: format!("a {}-byte token hash", key.len()) })?;
            Ok((hash, decode("tokens", value)?))
        })
    }

    pub(super) fn reads_after(&self, room: RoomId, after: Option<UserId>, limit: usize) -> Result<Vec<(UserId, u64)>, StoreError> {
        let start = match after {
            Some(user) => Bound::Excluded(concat(&[room.as_bytes(), user.as_bytes()])),
            None => Bound::Included(room.as_bytes().to_vec()),
        };
        let mut found = Vec::new();
        for entry in self.reads.range::<Vec<u8>, _>((start, Bound::Unbounded)).take(limit) {
            let (key, value) = entry?;
            if id_at("reads", &key, 0)? != *room.as_bytes() {
                break;
            }
            found.push((UserId::from_bytes(id_at("reads", &key, 16)?), u64_at("reads", &value, 0)?));
        }
        Ok(found)
    }

    /// Blanks a message in place (its idempotency record stays: a retry of
    /// the original send still gets its seq, not a second copy).
    pub(super) fn blank_message(&self, room: RoomId, seq: u64) -> Result<Option<MessageRecord>, StoreError> {
        let key = message_key(room, seq);
        let Some(before) = self.message(room, seq)? else {
            return Ok(None);
        };
        // A sealed text leaves with its key (`shred.rs`): the old value may
        // linger in sled's log, but nothing can open it any more.
        let slot = self.key_slot(room, seq)?;
        let blanked = MessageRecord { body: String::new(), attachment: None, mentions: Vec::new(), deleted: true, ..before.clone() };
        self.messages.insert(key, encode("messages", &blanked)?)?;
        if let Some(slot) = slot {
            self.keys.shred(&[slot])?;
        }
        Ok(Some(before))
    }

    pub(super) fn holds_nothing(&self) -> bool {
        self.users.is_empty() && self.rooms.is_empty() && self.messages.is_empty() && self.tokens.is_empty()
    }

    /// Writes records back as they were exported. Not in one transaction: an
    /// import writes into a directory of its own and moves it into place only
    /// once everything is written and flushed.
    pub(super) fn restore(&self, records: Vec<RestoreRecord>) -> Result<(), StoreError> {
        let mut messages = Vec::new();
        for record in records {
            match record {
                RestoreRecord::User { record, canonical, lookalikes } => {
                    self.usernames.insert(canonical.as_bytes(), record.id.as_bytes())?;
                    for key in &lookalikes {
                        self.lookalikes.insert(key.as_bytes(), record.id.as_bytes())?;
                    }
                    self.users.insert(record.id.as_bytes(), encode("users", &record)?)?;
                }
                RestoreRecord::Ban(ban) => self.ban_user(&ban)?,
                RestoreRecord::LastSeen { user, at } => {
                    self.last_seen.insert(user.as_bytes(), &at.to_be_bytes())?;
                }
                RestoreRecord::Token { hash, record } => self.insert_token(&hash, &record)?,
                RestoreRecord::Room(room) => {
                    self.rooms.insert(room.id.as_bytes(), encode("rooms", &room)?)?;
                }
                RestoreRecord::Member { room, user, joined_at } => {
                    self.members.insert(member_key(room, user), &joined_at.to_be_bytes())?;
                    self.member_order.insert(order_key(room, MemberPosition { joined_at, user }), &[])?;
                    self.memberships.insert(membership_key(user, room), &[])?;
                }
                RestoreRecord::Read { room, user, seq } => {
                    self.reads.insert(concat(&[room.as_bytes(), user.as_bytes()]), &seq.to_be_bytes())?;
                }
                RestoreRecord::Message { room, seq, record } => messages.push(Fresh { room, seq, record, answer: 0 }),
                RestoreRecord::Pair(pair) => self.moderation.put_pair(&pair)?,
                RestoreRecord::Block { blocker, record } => self.moderation.restore_block(blocker, &record)?,
                RestoreRecord::RoomBan { room, record } => {
                    self.moderation.ban(room, &record)?;
                }
                RestoreRecord::Report(report) => self.moderation.add_report(&report)?,
                RestoreRecord::Call { room, call } => self.restore_call(room, &call)?,
            }
        }
        self.restore_messages(&messages)
    }

    /// Messages go through a live send's writes (`messages.rs`): each sealed
    /// under a fresh key, so a later deletion can shred it, with its
    /// idempotency record and its entries in the media, mention and relation
    /// indexes. What a deletion did to its target is already in the target's
    /// exported record (blanked), so deletions are not applied again.
    fn restore_messages(&self, messages: &[Fresh]) -> Result<(), StoreError> {
        if messages.is_empty() {
            return Ok(());
        }
        let keys = self.keys.issue(messages.len())?;
        let mut ops = Vec::with_capacity(messages.len() * 3 + 1);
        if let Some(next) = super::shred::MessageKeys::next_after(&keys) {
            ops.push(Op::put(Tree::Meta, super::shred::NEXT_SLOT_KEY.to_vec(), next));
        }
        // The keys are durable before the messages they open (the caller syncs the trees).
        self.keys.sync()?;
        for (message, key) in messages.iter().zip(keys) {
            message_ops(message, key, &mut ops)?;
        }
        self.write_ops(&ops, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::super::new_message;
    use crate::store::{BanRecord, PageBudget, RestoreRecord, RoomKindRecord, RoomRecord, SledStore, Store, TokenRecord, UserRecord};
    use heartlink_protocol::{RoomId, UserId};

    fn user(n: u8) -> UserRecord {
        UserRecord { id: UserId::from_bytes([n; 16]), username: format!("user{n}"), password_hash: "$argon2id$x".into(), created_at: u64::from(n) }
    }

    #[tokio::test]
    async fn a_ban_is_durable_and_lifted() {
        let dir = tempfile::tempdir().unwrap();
        let who = UserId::from_bytes([7; 16]);
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.ban_user(&BanRecord { user_id: who, reason: "spam".into(), banned_at: 5 }).await.unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.user_ban(who).await.unwrap().map(|ban| ban.reason), Some("spam".into()));
        assert_eq!(store.bans_after(None, 10).await.unwrap().len(), 1);
        assert!(store.unban_user(who).await.unwrap());
        assert!(!store.unban_user(who).await.unwrap(), "nothing left to lift");
        assert_eq!(store.user_ban(who).await.unwrap(), None);
    }

    #[tokio::test]
    async fn restored_records_read_back_and_blanking_keeps_the_seq() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        assert!(store.is_empty().await.unwrap());
        let (alice, bob) = (user(1), user(2));
        let room = RoomRecord { id: RoomId::from_bytes([9; 16]), name: "g".into(), kind: RoomKindRecord::Group, created_by: alice.id, created_at: 3, pair: vec![] };
        let mut records = vec![
            RestoreRecord::User { record: alice.clone(), canonical: "user1".into(), lookalikes: vec![] },
            RestoreRecord::User { record: bob.clone(), canonical: "user2".into(), lookalikes: vec![] },
            RestoreRecord::Token { hash: [4; 32], record: TokenRecord { user_id: bob.id, issued_at: 1, last_used: 2 } },
            RestoreRecord::Room(room.clone()),
            RestoreRecord::Member { room: room.id, user: alice.id, joined_at: 10 },
            RestoreRecord::Member { room: room.id, user: bob.id, joined_at: 11 },
            RestoreRecord::Read { room: room.id, user: bob.id, seq: 2 },
        ];
        for n in 1..=3 {
            let mut message = new_message(room.id, alice.id, &format!("c{n}"), n);
            if n == 3 {
                message.record.mentions = vec![bob.id];
                message.record.relates_to = Some(crate::store::RelationRecord { seq: 1, rel: crate::store::RelKindRecord::Reply });
            }
            records.push(RestoreRecord::Message { room: room.id, seq: n, record: message.record });
        }
        store.restore(records).await.unwrap();
        assert!(!store.is_empty().await.unwrap());
        assert_eq!(store.users_after(None, 10).await.unwrap(), vec![alice.clone(), bob.clone()]);
        assert_eq!(store.users_after(Some(alice.id), 10).await.unwrap(), vec![bob.clone()]);
        assert_eq!(store.user_by_name("user2").await.unwrap(), Some(bob.clone()));
        assert_eq!(store.rooms_after(None, 10).await.unwrap(), vec![room.clone()]);
        assert_eq!(store.tokens_after(None, 10).await.unwrap().len(), 1);
        assert_eq!(store.reads_after(room.id, None, 10).await.unwrap(), vec![(bob.id, 2)]);
        assert_eq!(store.member_page(room.id, None, 10).await.unwrap().members.len(), 2);
        assert_eq!(store.last_seq(room.id).await.unwrap(), 3);
        // Restored as a live send stores it: in the mention index, and sealed (its text leaves with its key).
        assert_eq!(store.mentions_after(room.id, bob.id, 2, 10).await.unwrap(), 1);
        assert!(store.trees.key_slot(room.id, 1).unwrap().is_some(), "the restored text is sealed under a key");
        // The restored idempotency record: a retry of c2 gets its seq back.
        let retry = store.append_batch(vec![new_message(room.id, alice.id, "c2", 99)]).await.unwrap();
        assert_eq!((retry[0].seq, retry[0].fresh), (2, false));
        let next = store.append_batch(vec![new_message(room.id, alice.id, "c4", 99)]).await.unwrap();
        assert_eq!(next[0].seq, 4, "new messages go on after the restored ones");

        let before = store.blank_message(room.id, 2).await.unwrap().unwrap();
        assert_eq!(before.body, "body of c2");
        let page = store.page_after(room.id, 0, 4, PageBudget::count(10)).await.unwrap();
        let blanked = &page.messages[1];
        assert_eq!((blanked.seq, blanked.record.body.as_str(), blanked.record.deleted), (2, "", true));
        assert_eq!(page.messages.len(), 4, "no seq is lost");
        assert!(store.blank_message(room.id, 5).await.unwrap().is_none());
    }
}
