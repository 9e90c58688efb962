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

    /// Stores a message and its idempotency record atomically. The caller
    /// holds the room's sequencer lock, so `seq` is the room's next number.
    pub fn insert_message(&self, room: RoomId, seq: u64, message: &StoredMessage) -> Result<(), StoreError> {
        let value = encode("messages", message)?;
        let id = ClientMsgId::try_from(message.client_msg_id.as_str())
            .map_err(|err| StoreError::Corrupt { tree: "dedup", detail: err.to_string() })?;
        let dedup = dedup_key(message.sender.id, room, &id);
        let dedup_value = concat(&[&seq.to_be_bytes(), &message.ts.to_be_bytes()]);
        let key = message_key(room, seq);
        let outcome = (&self.messages, &self.dedup).transaction(|(messages, dedups)| {
            messages.insert(key.as_slice(), value.as_slice())?;
            dedups.insert(dedup.as_slice(), dedup_value.as_slice())?;
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
        if upto == 0 {
            return Ok(Page::default());
        }
        let range = message_key(room, 1)..=message_key(room, upto);
        let mut messages = Vec::new();
        let mut has_more = false;
        for entry in self.messages.range(range).rev() {
            if messages.len() == limit as usize {
                has_more = true;
                break;
            }
            messages.push(decode_entry(room, entry?)?);
        }
        messages.reverse();
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
        StoredMessage { sender, body: format!("m{n}"), ts: n, client_msg_id: format!("c{n}") }
    }

    #[test]
    fn pages_are_chronological_and_rooms_do_not_mix() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (room, other) = (RoomId::from_bytes([2; 16]), RoomId::from_bytes([3; 16]));
        for seq in 1..=10 {
            store.insert_message(room, seq, &stored(seq)).unwrap();
        }
        store.insert_message(other, 1, &stored(99)).unwrap();
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
