//! Stranger matching and moderation in sled: the trees below, opened beside
//! the others, and the synchronous operations on them. Every change is made
//! durable by the caller (`SledStore`) before it returns.
//!
//! | tree        | key                       | value                    |
//! |-------------|---------------------------|--------------------------|
//! | `pairs`     | room_id                   | [`PairRecord`] JSON      |
//! | `blocks`    | blocker ++ blocked        | [`BlockRecord`] JSON     |
//! | `reports`   | report id                 | [`ReportRecord`] JSON    |
//! | `room_bans` | room_id ++ user_id        | [`RoomBanRecord`] JSON   |

use super::keys::concat;
use super::{StoreError, decode, encode};
use crate::store::{BlockOutcome, BlockRecord, PairEndRecord, PairRecord, ReportRecord, RoomBanRecord};
use heartlink_protocol::{RoomId, UserId};
use uuid::Uuid;

/// The trees of this file.
#[derive(Clone, Debug)]
pub(super) struct ModerationTrees {
    pairs: sled::Tree,
    blocks: sled::Tree,
    reports: sled::Tree,
    room_bans: sled::Tree,
}

impl ModerationTrees {
    pub(super) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            pairs: db.open_tree("pairs")?,
            blocks: db.open_tree("blocks")?,
            reports: db.open_tree("reports")?,
            room_bans: db.open_tree("room_bans")?,
        })
    }

    pub(super) fn put_pair(&self, pair: &PairRecord) -> Result<(), StoreError> {
        self.pairs.insert(pair.room.as_bytes(), encode("pairs", pair)?)?;
        Ok(())
    }

    pub(super) fn pair(&self, room: RoomId) -> Result<Option<PairRecord>, StoreError> {
        self.pairs.get(room.as_bytes())?.map(|bytes| decode("pairs", &bytes)).transpose()
    }

    /// Applies `change` to the pair record of `room` atomically (a
    /// compare-and-swap loop: two reveals at once both count). `change`
    /// returns whether it changed anything; the record after it is returned.
    fn update_pair(&self, room: RoomId, change: impl Fn(&mut PairRecord) -> bool) -> Result<Option<(PairRecord, bool)>, StoreError> {
        loop {
            let Some(old) = self.pairs.get(room.as_bytes())? else { return Ok(None) };
            let mut pair: PairRecord = decode("pairs", &old)?;
            if !change(&mut pair) {
                return Ok(Some((pair, false)));
            }
            let new = encode("pairs", &pair)?;
            if self.pairs.compare_and_swap(room.as_bytes(), Some(old), Some(new))?.is_ok() {
                return Ok(Some((pair, true)));
            }
        }
    }

    /// `user` asked to reveal; `None` when `room` has no pair record or
    /// `user` is not one of its two.
    pub(super) fn reveal(&self, room: RoomId, user: UserId) -> Result<Option<(PairRecord, bool)>, StoreError> {
        let changed = self.update_pair(room, |pair| {
            match pair.members.iter_mut().find(|member| member.user.id == user) {
                Some(member) if !member.revealed => {
                    member.revealed = true;
                    true
                }
                _ => false,
            }
        })?;
        Ok(changed.filter(|(pair, _)| pair.sides(user).is_some()))
    }

    /// Ends the pair chat unless it already ended.
    pub(super) fn end(&self, room: RoomId, by: UserId, at: u64) -> Result<Option<(PairRecord, bool)>, StoreError> {
        self.update_pair(room, |pair| {
            if pair.ended.is_some() {
                return false;
            }
            pair.ended = Some(PairEndRecord { by, at });
            true
        })
    }

    pub(super) fn block(&self, blocker: UserId, block: &BlockRecord, cap: usize) -> Result<BlockOutcome, StoreError> {
        let key = concat(&[blocker.as_bytes(), block.user.id.as_bytes()]);
        if let Some(existing) = self.blocks.get(&key)? {
            return Ok(BlockOutcome::Already(decode("blocks", &existing)?));
        }
        if cap > 0 && self.blocks.scan_prefix(blocker.as_bytes()).count() >= cap {
            return Ok(BlockOutcome::Full);
        }
        self.blocks.insert(key, encode("blocks", block)?)?;
        Ok(BlockOutcome::Added)
    }

    /// Removes `blocker`'s block of the user whose real or shown id is `id`.
    pub(super) fn unblock(&self, blocker: UserId, id: UserId) -> Result<Option<BlockRecord>, StoreError> {
        for block in self.blocks_of(blocker)? {
            if block.user.id == id || block.shown.id == id {
                self.blocks.remove(concat(&[blocker.as_bytes(), block.user.id.as_bytes()]))?;
                return Ok(Some(block));
            }
        }
        Ok(None)
    }

    pub(super) fn blocks_of(&self, blocker: UserId) -> Result<Vec<BlockRecord>, StoreError> {
        self.blocks.scan_prefix(blocker.as_bytes()).values().map(|value| decode("blocks", &value?)).collect()
    }

    pub(super) fn add_report(&self, report: &ReportRecord) -> Result<(), StoreError> {
        self.reports.insert(report.id.as_bytes(), encode("reports", report)?)?;
        Ok(())
    }

    /// Open reports, oldest first.
    pub(super) fn reports_open(&self) -> Result<Vec<ReportRecord>, StoreError> {
        let mut open = Vec::new();
        for value in self.reports.iter().values() {
            let report: ReportRecord = decode("reports", &value?)?;
            if report.open {
                open.push(report);
            }
        }
        open.sort_by_key(|report| (report.at, report.id));
        Ok(open)
    }

    pub(super) fn report(&self, id: Uuid) -> Result<Option<ReportRecord>, StoreError> {
        self.reports.get(id.as_bytes())?.map(|bytes| decode("reports", &bytes)).transpose()
    }

    /// Bans a user from a room; `false` when they already were.
    pub(super) fn ban(&self, room: RoomId, ban: &RoomBanRecord) -> Result<bool, StoreError> {
        let key = concat(&[room.as_bytes(), ban.user.id.as_bytes()]);
        let old = self.room_bans.insert(key, encode("room_bans", ban)?)?;
        Ok(old.is_none())
    }

    pub(super) fn unban(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        Ok(self.room_bans.remove(concat(&[room.as_bytes(), user.as_bytes()]))?.is_some())
    }

    pub(super) fn is_banned(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        Ok(self.room_bans.contains_key(concat(&[room.as_bytes(), user.as_bytes()]))?)
    }
}

/// The pages an export reads and the writes an import makes (`operator.rs`):
/// whole trees in key order, after a cursor.
impl ModerationTrees {
    /// Up to `limit` blocks after the one of `after` (blocker, blocked), with their blockers.
    pub(super) fn blocks_after(&self, after: Option<(UserId, UserId)>, limit: usize) -> Result<Vec<(UserId, BlockRecord)>, StoreError> {
        let start = after.map(|(blocker, blocked)| concat(&[blocker.as_bytes(), blocked.as_bytes()]));
        let mut found = Vec::new();
        for entry in self.blocks.range::<Vec<u8>, _>((bound(start), std::ops::Bound::Unbounded)).take(limit) {
            let (key, value) = entry?;
            found.push((UserId::from_bytes(super::keys::id_at("blocks", &key, 0)?), decode("blocks", &value)?));
        }
        Ok(found)
    }

    /// Up to `limit` reports (open or not) after the one of `after`, in id order.
    pub(super) fn reports_after(&self, after: Option<Uuid>, limit: usize) -> Result<Vec<ReportRecord>, StoreError> {
        let start = after.map(|id| id.as_bytes().to_vec());
        let range = self.reports.range::<Vec<u8>, _>((bound(start), std::ops::Bound::Unbounded));
        range.take(limit).map(|entry| decode("reports", &entry?.1)).collect()
    }

    /// Up to `limit` bans of `room` after the one of `after`, in user id order.
    pub(super) fn room_bans_after(&self, room: RoomId, after: Option<UserId>, limit: usize) -> Result<Vec<RoomBanRecord>, StoreError> {
        let start = match after {
            Some(user) => std::ops::Bound::Excluded(concat(&[room.as_bytes(), user.as_bytes()])),
            None => std::ops::Bound::Included(room.as_bytes().to_vec()),
        };
        let mut found = Vec::new();
        for entry in self.room_bans.range::<Vec<u8>, _>((start, std::ops::Bound::Unbounded)).take(limit) {
            let (key, value) = entry?;
            if !key.starts_with(room.as_bytes()) {
                break;
            }
            found.push(decode("room_bans", &value)?);
        }
        Ok(found)
    }

    /// An exported block, written back as it was (no cap: the export held it).
    pub(super) fn restore_block(&self, blocker: UserId, block: &BlockRecord) -> Result<(), StoreError> {
        self.blocks.insert(concat(&[blocker.as_bytes(), block.user.id.as_bytes()]), encode("blocks", block)?)?;
        Ok(())
    }
}

fn bound(after: Option<Vec<u8>>) -> std::ops::Bound<Vec<u8>> {
    after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded)
}

#[cfg(test)]
mod tests {
    use crate::store::{
        BlockOutcome, BlockRecord, PairMemberRecord, PairRecord, ReportRecord, RoomBanRecord, SledStore, Store, UserSummary,
    };
    use heartlink_protocol::{RoomId, UserId};

    fn summary(name: &str) -> UserSummary {
        UserSummary { id: UserId::random(), username: name.into() }
    }

    #[tokio::test]
    async fn pairs_blocks_reports_and_bans_outlive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (alice, bob) = (summary("alice"), summary("bob"));
        let room = RoomId::random();
        let member = |user: &UserSummary, alias: &str| PairMemberRecord { user: user.clone(), alias: summary(alias), revealed: false };
        let pair = PairRecord { room, members: [member(&alice, "quiet-otter"), member(&bob, "brave-fox")], ended: None };
        let record = crate::store::RoomRecord {
            id: room,
            name: "stranger chat".into(),
            kind: crate::store::RoomKindRecord::Pair,
            created_by: alice.id,
            created_at: 1,
            pair: vec![alice.id, bob.id],
        };
        store.create_pair_room(&record, &pair, 1).await.unwrap();
        assert!(store.is_member(room, bob.id).await.unwrap());
        let (after, changed) = store.reveal_pair(room, alice.id).await.unwrap().unwrap();
        assert!(changed && after.members[0].revealed && !after.revealed());
        assert!(!store.reveal_pair(room, alice.id).await.unwrap().unwrap().1, "a second reveal changes nothing");
        assert!(store.reveal_pair(room, UserId::random()).await.unwrap().is_none(), "an outsider cannot reveal");
        assert!(store.end_pair(room, bob.id, 5).await.unwrap().unwrap().1);
        assert!(!store.end_pair(room, alice.id, 6).await.unwrap().unwrap().1, "it ended once, by bob");

        let block = BlockRecord { user: bob.clone(), shown: summary("brave-fox"), at: 1 };
        assert_eq!(store.block_user(alice.id, &block, 2).await.unwrap(), BlockOutcome::Added);
        assert!(matches!(store.block_user(alice.id, &block, 2).await.unwrap(), BlockOutcome::Already(_)));
        let carol = BlockRecord { user: summary("carol"), shown: summary("carol"), at: 2 };
        store.block_user(alice.id, &carol, 2).await.unwrap();
        let dave = BlockRecord { user: summary("dave"), shown: summary("dave"), at: 3 };
        assert_eq!(store.block_user(alice.id, &dave, 2).await.unwrap(), BlockOutcome::Full);

        let report = ReportRecord {
            id: uuid::Uuid::new_v4(),
            reporter: alice.clone(),
            room,
            room_name: "stranger chat".into(),
            seq: None,
            reason: "rude".into(),
            at: 9,
            peer: Some(bob.clone()),
            messages: Vec::new(),
            open: true,
        };
        store.add_report(&report).await.unwrap();
        let group = RoomId::random();
        assert!(store.ban_from_room(group, &RoomBanRecord { user: bob.clone(), by: alice.id, at: 1 }).await.unwrap());
        drop(store);

        let store = SledStore::open(dir.path()).unwrap();
        let pair = store.pair(room).await.unwrap().unwrap();
        assert_eq!((pair.members[0].revealed, pair.ended.map(|end| end.by)), (true, Some(bob.id)));
        // Unblocked by the id the blocker saw (the alias), or the real one.
        assert_eq!(store.blocks_of(alice.id).await.unwrap().len(), 2);
        assert_eq!(store.unblock_user(alice.id, block.shown.id).await.unwrap().map(|b| b.user.id), Some(bob.id));
        assert_eq!(store.unblock_user(alice.id, carol.user.id).await.unwrap().map(|b| b.user.id), Some(carol.user.id));
        assert!(store.blocks_of(alice.id).await.unwrap().is_empty());
        assert_eq!(store.reports_open().await.unwrap(), std::slice::from_ref(&report));
        assert_eq!(store.report(report.id).await.unwrap(), Some(report));
        assert!(store.is_banned_from(group, bob.id).await.unwrap());
        assert!(store.unban_from_room(group, bob.id).await.unwrap());
        assert!(!store.is_banned_from(group, bob.id).await.unwrap());
    }
}
