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
        let one_batch_at_a_time = self.counters.append_lock();
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
            // The keys are durable before sled holds anything that uses them:
            // any flush (this batch's, or one running beside it) can then
            // never make a message durable whose key is not.
            self.trees.keys.sync()?;
        }
        for (message, key) in fresh.iter().zip(keys) {
            message_ops(message, key, &mut ops)?;
        }
        self.trees.write_ops(&ops, &calls.into_ops())?;
        self.counters.record_written(&next_seq);
        // Numbered and written: another batch may be numbered and written
        // while this one waits for its flush. A retry answered from a message
        // still being flushed is acked only after this flush, which covers it.
        drop(one_batch_at_a_time);
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
        let (mut messages, _) = budget.fill(candidates.into_iter().rev().map(|entry| self.decode_entry(entry)))?;
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
        let candidates = self.messages.range(range).map(|entry| self.decode_entry(entry?));
        let (messages, has_more) = budget.fill(candidates)?;
        Ok(MessagePage { messages, has_more })
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
mod tests;
