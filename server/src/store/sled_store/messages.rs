//! Messages and their idempotency records: `messages`, `dedup`; the group
//! commit of a batch of sends.

use super::calls::{CallBook, CallOp, apply_ops};
use super::keys::{dedup_key, media_message_key, mention_key, message_key, relation_key, u64_at};
use super::sweep::{SweepCursor, Swept, sweep_chunk};
use super::{Appended, MessagePage, MessageRecord, NewMessage, PageBudget, SledStore, StoreError, Trees, decode, encode};
use crate::store::SeqMessage;
use heartlink_protocol::{RoomId, UserId};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use std::collections::HashMap;

impl SledStore {
    /// [`Store::append_batch`](crate::store::Store::append_batch) on a blocking thread.
    pub(super) fn append_blocking(&self, batch: Vec<NewMessage>) -> Result<Vec<Appended>, StoreError> {
        let _one_batch_at_a_time = self.counters.append_lock();
        #[cfg(test)]
        if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Corrupt { tree: "messages", detail: "the disk refused the write".into() });
        }
        let mut next_seq: HashMap<RoomId, u64> = HashMap::with_capacity(batch.len());
        let mut in_batch: HashMap<(UserId, RoomId, String), Appended> = HashMap::with_capacity(batch.len());
        let mut fresh = Vec::with_capacity(batch.len());
        let mut answers = Vec::with_capacity(batch.len());
        let mut calls = CallBook::new(&self.trees);
        // The batch is consumed: a fresh message's record moves into its write, uncopied.
        for NewMessage { room, record } in batch {
            let id = (record.sender.id, room, record.client_msg_id);
            if let Some(original) = in_batch.get(&id) {
                answers.push(Appended { fresh: false, ..original.clone() });
                continue;
            }
            let record = MessageRecord { client_msg_id: id.2, ..record };
            let dedup = dedup_key(record.sender.id, room, &record.client_msg_id);
            if let Some(stored) = self.trees.dedup.get(&dedup)? {
                let (seq, ts) = (u64_at("dedup", &stored, 0)?, u64_at("dedup", &stored, 8)?);
                let original = Appended { seq, ts, fresh: false, released_media: Vec::new(), refused: None };
                in_batch.insert((id.0, id.1, record.client_msg_id), original.clone());
                answers.push(original);
                continue;
            }
            if let Err(refusal) = calls.apply(room, &record)? {
                // Not remembered as this id's original: a retry is judged again.
                answers.push(Appended { seq: 0, ts: record.ts, fresh: false, released_media: Vec::new(), refused: Some(refusal) });
                continue;
            }
            let last = match next_seq.get(&room) {
                Some(seq) => *seq,
                None => self.counters.written(&self.trees, room)?,
            };
            let seq = last + 1;
            next_seq.insert(room, seq);
            let appended = Appended { seq, ts: record.ts, fresh: true, released_media: Vec::new(), refused: None };
            in_batch.insert((id.0, id.1, record.client_msg_id.clone()), appended.clone());
            fresh.push(Fresh { room, seq, record, answer: answers.len() });
            answers.push(appended);
        }
        let mut ops = Vec::new();
        let deletions = self.trees.apply_deletions(&mut fresh, &mut ops)?;
        for (answer, media) in deletions.released {
            if let Some(appended) = answers.get_mut(answer) {
                appended.released_media = media;
            }
        }
        let keys = self.trees.keys.issue(fresh.len())?;
        if let Some(next) = super::shred::MessageKeys::next_after(&keys) {
            ops.push(Op::put(Tree::Meta, super::shred::NEXT_SLOT_KEY.to_vec(), next));
        }
        for (message, key) in fresh.iter().zip(keys) {
            message_ops(message, key, &mut ops)?;
        }
        self.trees.write_ops(&ops, &calls.into_ops())?;
        self.counters.record_written(&next_seq);
        // The keys are durable before the messages they open.
        self.trees.keys.sync()?;
        self.sync_blocking()?;
        self.trees.shred(&deletions.shred)?;
        Ok(answers)
    }
}

/// A new message of the batch, with its seq, before it is written.
pub(super) struct Fresh {
    pub(super) room: RoomId,
    pub(super) seq: u64,
    pub(super) record: MessageRecord,
    /// Its place among the batch's answers.
    pub(super) answer: usize,
}

/// The trees a batch writes, in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tree {
    Messages,
    Dedup,
    MediaRooms,
    MediaMessages,
    Mentions,
    Relations,
    ShredPending,
    /// The keys file's next free slot (`shred.rs`).
    Meta,
}

/// One write of a batch: `value` `None` removes the key.
pub(super) struct Op {
    pub(super) tree: Tree,
    pub(super) key: Vec<u8>,
    pub(super) value: Option<Vec<u8>>,
}

impl Op {
    pub(super) fn put(tree: Tree, key: Vec<u8>, value: Vec<u8>) -> Self {
        Self { tree, key, value: Some(value) }
    }

    pub(super) fn remove(tree: Tree, key: Vec<u8>) -> Self {
        Self { tree, key, value: None }
    }
}

/// A new message's writes: the message (sealed under `key`), its
/// idempotency record, and its entries in the indexes (media, mentions,
/// relations). An import writes restored messages through it too
/// (`operator.rs`), so they are stored exactly as a live send stores them.
pub(super) fn message_ops(message: &Fresh, key: (u64, [u8; 32]), ops: &mut Vec<Op>) -> Result<(), StoreError> {
    let Fresh { room, seq, record, .. } = message;
    let (room, seq) = (*room, *seq);
    let place = message_key(room, seq);
    let stored = super::shred::seal(record, &place, key)?;
    ops.push(Op::put(Tree::Messages, place, encode("messages", &stored)?));
    let dedup_value = [seq.to_be_bytes(), record.ts.to_be_bytes()].concat();
    ops.push(Op::put(Tree::Dedup, dedup_key(record.sender.id, room, &record.client_msg_id), dedup_value));
    if let Some(attachment) = &record.attachment {
        // The media's download access follows the message, from its commit on.
        ops.push(Op::put(Tree::MediaRooms, super::media::media_room_key(attachment.media_id, room), Vec::new()));
        ops.push(Op::put(Tree::MediaMessages, media_message_key(attachment.media_id, room, seq), Vec::new()));
    }
    for user in &record.mentions {
        ops.push(Op::put(Tree::Mentions, mention_key(*user, room, seq), Vec::new()));
    }
    if let Some(relation) = record.relates_to {
        ops.push(Op::put(Tree::Relations, relation_key(room, relation.seq, seq), vec![super::relations::kind_byte(relation.rel)]));
    }
    Ok(())
}

impl Trees {
    /// Applies a batch's writes in one transaction: all or none of them,
    /// and (what makes group commit pay) one sealed log buffer for the
    /// whole batch. A transaction per message sealed a buffer per message
    /// and sled wrote and synced each one on its own, which held the server
    /// near 7,000 sends/s (docs/BENCHMARKS.md). Not yet durable: the caller
    /// flushes. A batch with call messages writes the calls' state in the
    /// same transaction (the other batches leave the call trees out).
    pub(super) fn write_ops(&self, ops: &[Op], calls: &[CallOp]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut trees = vec![
            &self.messages,
            &self.dedup,
            &self.media_rooms,
            &self.media_messages,
            &self.mentions,
            &self.relations,
            &self.shred_pending,
            &self.meta,
        ];
        if !calls.is_empty() {
            trees.extend([&self.calls, &self.call_expiries, &self.call_declines, &self.call_ringing]);
        }
        let outcome = trees[..].transaction(|trees| {
            for op in ops {
                let index = match op.tree {
                    Tree::Messages => 0,
                    Tree::Dedup => 1,
                    Tree::MediaRooms => 2,
                    Tree::MediaMessages => 3,
                    Tree::Mentions => 4,
                    Tree::Relations => 5,
                    Tree::ShredPending => 6,
                    Tree::Meta => 7,
                };
                let Some(tree) = trees.get(index) else { return Err(ConflictableTransactionError::Abort(())) };
                match &op.value {
                    Some(value) => tree.insert(op.key.as_slice(), value.as_slice())?,
                    None => tree.remove(op.key.as_slice())?,
                };
            }
            if !calls.is_empty() {
                if let [.., calls_tree, expiries, declines, ringing] = &trees[..] {
                    apply_ops((calls_tree, expiries, declines, ringing), calls)?;
                }
            }
            Ok::<_, ConflictableTransactionError<()>>(())
        });
        match outcome {
            Ok(()) => Ok(()),
            Err(TransactionError::Storage(err)) => Err(err.into()),
            Err(TransactionError::Abort(())) => {
                Err(StoreError::Corrupt { tree: "messages", detail: "insert aborted".to_owned() })
            }
        }
    }

    /// See [`Store::page_latest`](crate::store::Store::page_latest).
    pub(super) fn page_latest(&self, room: RoomId, upto: u64, budget: PageBudget<'_>) -> Result<MessagePage, StoreError> {
        if upto == 0 || budget.count == 0 {
            return Ok(MessagePage::default());
        }
        // Seqs have no gaps, so the candidates are exactly the last `count`
        // keys up to `upto`: read them forwards. sled 0.34 re-descends the
        // tree for every step of a reverse range, which made pages on a
        // large store several times slower. Only the ones that fit are
        // decoded, newest first.
        let start = upto.saturating_sub(u64::from(budget.count).saturating_sub(1)).max(1);
        let candidates =
            self.messages.range(message_key(room, start)..=message_key(room, upto)).collect::<Result<Vec<_>, _>>()?;
        let mut messages = Vec::with_capacity(candidates.len());
        let mut used = 0usize;
        for entry in candidates.into_iter().rev() {
            let message = self.decode_entry(entry)?;
            let size = (budget.size)(&message);
            if !budget.fits(messages.len(), used, size) {
                break;
            }
            used = used.saturating_add(size);
            messages.push(message);
        }
        messages.reverse();
        let first = messages.first().map_or(start, |message| message.seq);
        let has_more = first > 1 && self.messages.range(message_key(room, 1)..message_key(room, first)).next().is_some();
        Ok(MessagePage { messages, has_more })
    }

    /// See [`Store::page_after`](crate::store::Store::page_after).
    pub(super) fn page_after(&self, room: RoomId, since: u64, upto: u64, budget: PageBudget<'_>) -> Result<MessagePage, StoreError> {
        if since >= upto {
            return Ok(MessagePage::default());
        }
        let range = message_key(room, since.saturating_add(1))..=message_key(room, upto);
        let mut messages = Vec::new();
        let mut used = 0usize;
        for entry in self.messages.range(range) {
            let message = self.decode_entry(entry?)?;
            let size = (budget.size)(&message);
            if !budget.fits(messages.len(), used, size) {
                return Ok(MessagePage { messages, has_more: true });
            }
            used = used.saturating_add(size);
            messages.push(message);
        }
        Ok(MessagePage { messages, has_more: false })
    }

    /// One chunk of the pruning of idempotency records: looks at up to `max`
    /// records after `from` and deletes those of messages stored before
    /// `cutoff_ms`.
    pub(super) fn prune_dedup(&self, cutoff_ms: u64, from: Option<&SweepCursor>, max: usize) -> Result<Swept, StoreError> {
        sweep_chunk(&self.dedup, from, max, |key, value| {
            if u64_at("dedup", value, 8)? >= cutoff_ms {
                return Ok(false);
            }
            self.dedup.remove(key)?;
            Ok(true)
        })
    }
}

impl Trees {
    fn decode_entry(&self, (key, value): (sled::IVec, sled::IVec)) -> Result<SeqMessage, StoreError> {
        let record = self.open_message(&key, &value)?;
        Ok(SeqMessage { seq: u64_at("messages", &key, 16)?, record })
    }

    /// A stored message's record, its sealed part opened (`shred.rs`).
    pub(super) fn open_message(&self, key: &[u8], value: &[u8]) -> Result<MessageRecord, StoreError> {
        let stored: super::shred::StoredMessage = decode("messages", value)?;
        super::shred::open(stored, key, &self.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::super::new_message;
    use crate::store::{PageBudget, SledStore, Store};
    use heartlink_protocol::{RoomId, UserId};

    fn count(n: u32) -> PageBudget<'static> {
        PageBudget::count(n)
    }

    fn seqs(page: &crate::store::MessagePage) -> Vec<u64> {
        page.messages.iter().map(|m| m.seq).collect()
    }

    #[tokio::test]
    async fn pages_are_chronological_and_rooms_do_not_mix() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (room, other, alice) = (RoomId::from_bytes([2; 16]), RoomId::from_bytes([3; 16]), UserId::from_bytes([1; 16]));
        let batch = (1..=10).map(|n| new_message(room, alice, &format!("c{n}"), n)).collect();
        store.append_batch(batch).await.unwrap();
        store.append_batch(vec![new_message(other, alice, "c99", 99)]).await.unwrap();
        assert_eq!(store.last_seq(room).await.unwrap(), 10);
        assert_eq!(store.last_seq(other).await.unwrap(), 1);
        assert_eq!(store.last_seq(RoomId::from_bytes([9; 16])).await.unwrap(), 0);

        let latest = store.page_latest(room, 10, count(3)).await.unwrap();
        assert_eq!((seqs(&latest), latest.has_more), (vec![8, 9, 10], true));
        assert_eq!(latest.messages[0].record.body, "body of c8");
        let before = store.page_latest(room, 2, count(5)).await.unwrap();
        assert_eq!((seqs(&before), before.has_more), (vec![1, 2], false));
        let after = store.page_after(room, 7, 10, count(2)).await.unwrap();
        assert_eq!((seqs(&after), after.has_more), (vec![8, 9], true));
        assert!(store.page_after(room, 10, 10, count(5)).await.unwrap().messages.is_empty());
    }

    #[tokio::test]
    async fn retries_get_the_original_seq_in_the_same_batch_a_later_one_and_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (room, alice, bob) = (RoomId::random(), UserId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
        {
            let store = SledStore::open(dir.path()).unwrap();
            let batch = vec![
                new_message(room, alice, "a", 100),
                new_message(room, alice, "a", 200), // a retry queued behind its original
                new_message(room, bob, "a", 300),   // same id, other sender: a new message
            ];
            let appended = store.append_batch(batch).await.unwrap();
            let got: Vec<_> = appended.iter().map(|a| (a.seq, a.ts, a.fresh)).collect();
            assert_eq!(got, vec![(1, 100, true), (1, 100, false), (2, 300, true)]);

            let later = store.append_batch(vec![new_message(room, bob, "a", 400), new_message(room, bob, "b", 500)]).await;
            let got: Vec<_> = later.unwrap().iter().map(|a| (a.seq, a.ts, a.fresh)).collect();
            assert_eq!(got, vec![(2, 300, false), (3, 500, true)]);
            assert_eq!(store.page_latest(room, 3, count(10)).await.unwrap().messages.len(), 3, "retries wrote nothing");
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.last_seq(room).await.unwrap(), 3, "the counter restarts from the last stored seq");
        let appended = store.append_batch(vec![new_message(room, alice, "a", 600), new_message(room, alice, "c", 700)]).await;
        let got: Vec<_> = appended.unwrap().iter().map(|a| (a.seq, a.ts, a.fresh)).collect();
        assert_eq!(got, vec![(1, 100, false), (4, 700, true)], "no gap, no reuse, dedup survives the restart");
    }

    #[tokio::test]
    async fn seqs_are_gapless_per_room_across_interleaved_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (one, two, alice) = (RoomId::from_bytes([1; 16]), RoomId::from_bytes([2; 16]), UserId::random());
        let mut expected = (0u64, 0u64);
        for round in 0..5 {
            let batch: Vec<_> = (0..7)
                .map(|n| new_message(if n % 3 == 0 { two } else { one }, alice, &format!("{round}-{n}"), n))
                .collect();
            for (message, appended) in batch.clone().iter().zip(store.append_batch(batch).await.unwrap()) {
                let counter = if message.room == one { &mut expected.0 } else { &mut expected.1 };
                *counter += 1;
                assert_eq!(appended.seq, *counter);
            }
        }
        assert_eq!((store.last_seq(one).await.unwrap(), store.last_seq(two).await.unwrap()), expected);
    }

    #[tokio::test]
    async fn pages_are_cut_by_size_and_never_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (room, alice) = (RoomId::from_bytes([2; 16]), UserId::from_bytes([1; 16]));
        store.append_batch((1..=40).map(|n| new_message(room, alice, &format!("c{n}"), n)).collect()).await.unwrap();
        // Every message measures 100; the budget holds five and a half.
        let size = |_: &crate::store::SeqMessage| 100;
        let budget = PageBudget { count: 100, bytes: 550, size: &size };

        let latest = store.page_latest(room, 40, budget).await.unwrap();
        let seqs: Vec<u64> = latest.messages.iter().map(|m| m.seq).collect();
        assert_eq!((seqs, latest.has_more), (vec![36, 37, 38, 39, 40], true));
        let oldest = store.page_latest(room, 3, budget).await.unwrap();
        assert_eq!((oldest.messages.len(), oldest.has_more), (3, false));

        let after = store.page_after(room, 10, 40, budget).await.unwrap();
        let seqs: Vec<u64> = after.messages.iter().map(|m| m.seq).collect();
        assert_eq!((seqs, after.has_more), (vec![11, 12, 13, 14, 15], true));
        let tail = store.page_after(room, 37, 40, budget).await.unwrap();
        assert_eq!((tail.messages.len(), tail.has_more), (3, false));

        // A budget smaller than one message still moves on by one.
        let tiny = PageBudget { count: 100, bytes: 10, size: &size };
        assert_eq!(store.page_after(room, 0, 40, tiny).await.unwrap().messages.len(), 1);
        assert_eq!(store.page_latest(room, 40, tiny).await.unwrap().messages.len(), 1);
    }

    #[tokio::test]
    async fn idempotency_records_are_pruned_after_their_window_and_the_messages_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (room, alice) = (RoomId::from_bytes([2; 16]), UserId::from_bytes([1; 16]));
        // ts = n: messages 1..=10 stored at times 1..=10.
        store.append_batch((1..=10).map(|n| new_message(room, alice, &format!("c{n}"), n)).collect()).await.unwrap();
        let (mut removed, mut cursor) = (0, None);
        loop {
            let swept = store.trees.prune_dedup(6, cursor.as_ref(), 4).unwrap();
            removed += swept.removed;
            match swept.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(removed, 5);
        assert_eq!(store.prune_dedup(6).await.unwrap(), 0, "a whole pass finds nothing more");
        // A retry of 5 (pruned) is a new message; a retry of 6 (kept) is not.
        let retries = store.append_batch(vec![new_message(room, alice, "c5", 50), new_message(room, alice, "c6", 60)]).await;
        let got: Vec<_> = retries.unwrap().iter().map(|a| (a.seq, a.fresh)).collect();
        assert_eq!(got, [(11, true), (6, false)]);
        assert_eq!(store.page_latest(room, 11, count(20)).await.unwrap().messages.len(), 11, "the messages themselves stay");
    }
}
