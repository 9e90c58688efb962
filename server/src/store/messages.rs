//! Messages and their idempotency records: `messages`, `dedup`.

use super::{Store, StoreError, StoredMessage, SweepCursor, Swept, concat, decode, encode, sweep_chunk, u64_at};
use crate::wire_size::wire_len;
use heartlink_protocol::{ChatMessage, ClientMsgId, RoomId, UserId};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

/// A page of messages, oldest first, and whether more lie beyond it.
#[derive(Debug, Default)]
pub struct Page {
    pub messages: Vec<ChatMessage>,
    pub has_more: bool,
}

/// How much a page may hold: at most `count` messages, whose wire encodings
/// (as `ChatMessage` objects in a JSON list, a comma each) take at most
/// `bytes`. A page holds at least one message when any is in range, so
/// paging always moves on; one message is far below any budget the server
/// uses (the body limit bounds it, see `session/pages.rs`).
#[derive(Debug, Clone, Copy)]
pub struct PageBudget {
    pub count: u32,
    pub bytes: usize,
}

impl PageBudget {
    /// Whether a message of `size` bytes still fits after `used` bytes in a
    /// page that already holds `held` messages.
    fn fits(self, held: usize, used: usize, size: usize) -> bool {
        held == 0 || (held < self.count as usize && used.saturating_add(size) <= self.bytes)
    }
}

/// A message and its idempotency record, encoded and waiting to be written.
#[derive(Debug)]
pub struct MessageWrite {
    key: Vec<u8>,
    value: Vec<u8>,
    dedup_key: Vec<u8>,
    dedup_value: Vec<u8>,
    /// `media_rooms` key when the message carries an attachment: the
    /// media's download access follows the message, from its commit on.
    media_room: Option<Vec<u8>>,
}

fn message_key(room: RoomId, seq: u64) -> Vec<u8> {
    concat(&[room.as_bytes(), &seq.to_be_bytes()])
}

fn dedup_key(sender: UserId, room: RoomId, client_msg_id: &ClientMsgId) -> Vec<u8> {
    concat(&[sender.as_bytes(), room.as_bytes(), client_msg_id.as_str().as_bytes()])
}

impl Store {
    /// The highest seq stored for `room` (0 when it has no messages).
    pub fn last_seq(&self, room: RoomId) -> Result<u64, StoreError> {
        match self.messages.scan_prefix(room.as_bytes()).keys().next_back() {
            Some(key) => Ok(u64_at(&key?, 16)),
            None => Ok(0),
        }
    }

    /// The (seq, ts) an earlier `send` with this idempotency key got.
    pub fn dedup(&self, sender: UserId, room: RoomId, id: &ClientMsgId) -> Result<Option<(u64, u64)>, StoreError> {
        let found = self.dedup.get(dedup_key(sender, room, id))?;
        Ok(found.map(|value| (u64_at(&value, 0), u64_at(&value, 8))))
    }

    /// Encodes a message and its idempotency record for [`Store::write_messages`].
    pub fn prepare_message(&self, room: RoomId, seq: u64, message: &StoredMessage) -> Result<MessageWrite, StoreError> {
        let id = ClientMsgId::try_from(message.client_msg_id.as_str())
            .map_err(|err| StoreError::Corrupt { tree: "dedup", detail: err.to_string() })?;
        Ok(MessageWrite {
            key: message_key(room, seq),
            value: encode("messages", message)?,
            dedup_key: dedup_key(message.sender.id, room, &id),
            dedup_value: concat(&[&seq.to_be_bytes(), &message.ts.to_be_bytes()]),
            media_room: message.attachment.as_ref().map(|attachment| super::media::media_room_key(attachment.media_id, room)),
        })
    }

    /// Stores a batch of messages with their idempotency records in one
    /// transaction: all or none of them, and (what makes group commit pay)
    /// one sealed log buffer for the whole batch. A transaction per message
    /// sealed a buffer per message and sled wrote and synced each one on its
    /// own, which held the server near 7,000 sends/s (docs/BENCHMARKS.md).
    /// Not yet durable: the caller flushes.
    pub fn write_messages(&self, writes: &[MessageWrite]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let outcome = (&self.messages, &self.dedup, &self.media_rooms).transaction(|(messages, dedups, media_rooms)| {
            for write in writes {
                messages.insert(write.key.as_slice(), write.value.as_slice())?;
                dedups.insert(write.dedup_key.as_slice(), write.dedup_value.as_slice())?;
                if let Some(key) = &write.media_room {
                    media_rooms.insert(key.as_slice(), &[])?;
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

    /// The newest messages with seq ≤ `upto` that fit `budget`, oldest
    /// first; `has_more` when older ones remain.
    pub fn latest(&self, room: RoomId, upto: u64, budget: PageBudget) -> Result<Page, StoreError> {
        if upto == 0 || budget.count == 0 {
            return Ok(Page::default());
        }
        // Seqs have no gaps, so the candidates are exactly the last `count`
        // keys up to `upto`: read them forwards. sled 0.34 re-descends the
        // tree for every step of a reverse range, which made pages on a
        // large store several times slower. Only the ones that fit are
        // decoded, newest first.
        let start = upto.saturating_sub(u64::from(budget.count).saturating_sub(1)).max(1);
        let candidates = self.messages.range(message_key(room, start)..=message_key(room, upto)).collect::<Result<Vec<_>, _>>()?;
        let mut messages = Vec::with_capacity(candidates.len());
        let mut used = 0usize;
        for entry in candidates.into_iter().rev() {
            let message = decode_entry(room, entry)?;
            let size = wire_len(&message).saturating_add(1);
            if !budget.fits(messages.len(), used, size) {
                break;
            }
            used += size;
            messages.push(message);
        }
        messages.reverse();
        let first = messages.first().map_or(start, |message| message.seq);
        let has_more = first > 1 && self.messages.range(message_key(room, 1)..message_key(room, first)).next().is_some();
        Ok(Page { messages, has_more })
    }

    /// The oldest messages with `since` < seq ≤ `upto` that fit `budget`,
    /// oldest first; `has_more` when newer ones (up to `upto`) remain.
    pub fn after(&self, room: RoomId, since: u64, upto: u64, budget: PageBudget) -> Result<Page, StoreError> {
        if since >= upto {
            return Ok(Page::default());
        }
        let range = message_key(room, since.saturating_add(1))..=message_key(room, upto);
        let mut messages = Vec::new();
        let mut used = 0usize;
        for entry in self.messages.range(range) {
            let message = decode_entry(room, entry?)?;
            let size = wire_len(&message).saturating_add(1);
            if !budget.fits(messages.len(), used, size) {
                return Ok(Page { messages, has_more: true });
            }
            used += size;
            messages.push(message);
        }
        Ok(Page { messages, has_more: false })
    }

    /// One chunk of the sweep of idempotency records: looks at up to `max`
    /// records after `from` and deletes those of messages stored before
    /// `cutoff_ms`. A retry of such a message is stored as a new one.
    pub fn prune_dedup(&self, cutoff_ms: u64, from: Option<&SweepCursor>, max: usize) -> Result<Swept, StoreError> {
        sweep_chunk(&self.dedup, from, max, |key, value| {
            if u64_at(value, 8) >= cutoff_ms {
                return Ok(false);
            }
            self.dedup.remove(key)?;
            Ok(true)
        })
    }
}

fn decode_entry(room: RoomId, (key, value): (sled::IVec, sled::IVec)) -> Result<ChatMessage, StoreError> {
    let stored: StoredMessage = decode("messages", &value)?;
    Ok(stored.into_chat(room, u64_at(&key, 16)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use heartlink_protocol::User;

    fn stored(n: u64) -> StoredMessage {
        let sender = User { id: UserId::from_bytes([1; 16]), username: "alice".into() };
        StoredMessage { sender, body: format!("m{n}"), ts: n, client_msg_id: format!("c{n}"), attachment: None }
    }

    fn count(count: u32) -> PageBudget {
        PageBudget { count, bytes: usize::MAX }
    }

    #[test]
    fn pages_are_chronological_and_rooms_do_not_mix() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (room, other) = (RoomId::from_bytes([2; 16]), RoomId::from_bytes([3; 16]));
        let writes: Vec<_> = (1..=10).map(|seq| store.prepare_message(room, seq, &stored(seq)).unwrap()).collect();
        store.write_messages(&writes).unwrap();
        store.write_messages(&[store.prepare_message(other, 1, &stored(99)).unwrap()]).unwrap();
        assert_eq!(store.last_seq(room).unwrap(), 10);
        assert_eq!(store.last_seq(RoomId::from_bytes([9; 16])).unwrap(), 0);

        let seqs = |page: &Page| page.messages.iter().map(|m| m.seq).collect::<Vec<_>>();
        let latest = store.latest(room, 10, count(3)).unwrap();
        assert_eq!((seqs(&latest), latest.has_more), (vec![8, 9, 10], true));
        let before = store.latest(room, 2, count(5)).unwrap();
        assert_eq!((seqs(&before), before.has_more), (vec![1, 2], false));
        let after = store.after(room, 7, 10, count(2)).unwrap();
        assert_eq!((seqs(&after), after.has_more), (vec![8, 9], true));
        assert!(store.after(room, 10, 10, count(5)).unwrap().messages.is_empty());

        let id = ClientMsgId::try_from("c4").unwrap();
        assert_eq!(store.dedup(UserId::from_bytes([1; 16]), room, &id).unwrap(), Some((4, 4)));
    }

    fn big(n: u64) -> StoredMessage {
        // 4,000 four-byte emoji: the largest body there is.
        StoredMessage { body: "😀".repeat(4000), ..stored(n) }
    }

    #[test]
    fn pages_are_cut_by_bytes_and_never_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let room = RoomId::from_bytes([2; 16]);
        let writes: Vec<_> = (1..=40).map(|seq| store.prepare_message(room, seq, &big(seq)).unwrap()).collect();
        store.write_messages(&writes).unwrap();
        let one = wire_len(&big(1).into_chat(room, 1)) + 1;
        let budget = PageBudget { count: 100, bytes: one * 5 + one / 2 };

        let latest = store.latest(room, 40, budget).unwrap();
        let seqs: Vec<u64> = latest.messages.iter().map(|m| m.seq).collect();
        assert_eq!((seqs, latest.has_more), (vec![36, 37, 38, 39, 40], true));
        let oldest = store.latest(room, 3, budget).unwrap();
        assert_eq!((oldest.messages.len(), oldest.has_more), (3, false));

        let after = store.after(room, 10, 40, budget).unwrap();
        let seqs: Vec<u64> = after.messages.iter().map(|m| m.seq).collect();
        assert_eq!((seqs, after.has_more), (vec![11, 12, 13, 14, 15], true));
        let tail = store.after(room, 37, 40, budget).unwrap();
        assert_eq!((tail.messages.len(), tail.has_more), (3, false));

        // A budget smaller than one message still moves on by one.
        let tiny = PageBudget { count: 100, bytes: 10 };
        assert_eq!(store.after(room, 0, 40, tiny).unwrap().messages.len(), 1);
        assert_eq!(store.latest(room, 40, tiny).unwrap().messages.len(), 1);
    }

    #[test]
    fn idempotency_records_are_pruned_after_their_window() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let room = RoomId::from_bytes([2; 16]);
        // ts = seq: messages 1..=10 stored at times 1..=10.
        let writes: Vec<_> = (1..=10).map(|seq| store.prepare_message(room, seq, &stored(seq)).unwrap()).collect();
        store.write_messages(&writes).unwrap();
        let (mut removed, mut cursor) = (0, None);
        loop {
            let swept = store.prune_dedup(6, cursor.as_ref(), 4).unwrap();
            removed += swept.removed;
            match swept.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(removed, 5);
        let sender = UserId::from_bytes([1; 16]);
        let id = |n: u64| ClientMsgId::try_from(format!("c{n}").as_str()).unwrap();
        assert_eq!(store.dedup(sender, room, &id(5)).unwrap(), None, "older than the window: gone");
        assert_eq!(store.dedup(sender, room, &id(6)).unwrap(), Some((6, 6)), "inside the window: kept");
        assert_eq!(store.latest(room, 10, count(10)).unwrap().messages.len(), 10, "the messages themselves stay");
    }
}
