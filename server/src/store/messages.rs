//! Messages and their idempotency records: `messages`, `dedup`.

use super::{Store, StoreError, StoredMessage, concat, decode, encode, u64_at};
use heartlink_protocol::{ChatMessage, ClientMsgId, RoomId, UserId};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

/// A page of messages, oldest first, and whether more lie beyond it.
#[derive(Debug, Default)]
pub struct Page {
    pub messages: Vec<ChatMessage>,
    pub has_more: bool,
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

    /// Up to `limit` messages with seq ≤ `upto`, the newest ones, oldest first;
    /// `has_more` when older ones remain.
    pub fn latest(&self, room: RoomId, upto: u64, limit: u32) -> Result<Page, StoreError> {
        if upto == 0 || limit == 0 {
            return Ok(Page::default());
        }
        // Seqs have no gaps, so the page is exactly the last `limit` keys up
        // to `upto`: read them forwards. sled 0.34 re-descends the tree for
        // every step of a reverse range, which made pages on a large store
        // several times slower.
        let start = upto.saturating_sub(u64::from(limit).saturating_sub(1)).max(1);
        let mut messages = Vec::with_capacity(limit as usize);
        for entry in self.messages.range(message_key(room, start)..=message_key(room, upto)) {
            messages.push(decode_entry(room, entry?)?);
        }
        let has_more = start > 1 && self.messages.range(message_key(room, 1)..message_key(room, start)).next().is_some();
        Ok(Page { messages, has_more })
    }

    /// Up to `limit` messages with `since` < seq ≤ `upto`, oldest first;
    /// `has_more` when newer ones (up to `upto`) remain.
    pub fn after(&self, room: RoomId, since: u64, upto: u64, limit: u32) -> Result<Page, StoreError> {
        if since >= upto {
            return Ok(Page::default());
        }
        let range = message_key(room, since.saturating_add(1))..=message_key(room, upto);
        let mut messages = Vec::new();
        let mut has_more = false;
        for entry in self.messages.range(range) {
            if messages.len() == limit as usize {
                has_more = true;
                break;
            }
            messages.push(decode_entry(room, entry?)?);
        }
        Ok(Page { messages, has_more })
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
        let latest = store.latest(room, 10, 3).unwrap();
        assert_eq!((seqs(&latest), latest.has_more), (vec![8, 9, 10], true));
        let before = store.latest(room, 2, 5).unwrap();
        assert_eq!((seqs(&before), before.has_more), (vec![1, 2], false));
        let after = store.after(room, 7, 10, 2).unwrap();
        assert_eq!((seqs(&after), after.has_more), (vec![8, 9], true));
        assert!(store.after(room, 10, 10, 5).unwrap().messages.is_empty());

        let id = ClientMsgId::try_from("c4").unwrap();
        assert_eq!(store.dedup(UserId::from_bytes([1; 16]), room, &id).unwrap(), Some((4, 4)));
    }
}
