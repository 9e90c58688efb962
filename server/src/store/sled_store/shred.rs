//! Message keys: what makes a deletion reach the disk.
//!
//! sled is log-structured: a value written again leaves its old bytes in
//! the log until sled reuses that part of the file, so blanking a message
//! in the tree alone would leave its text readable in the data dir. So
//! every message's text and attachment are stored sealed (ChaCha20-Poly1305)
//! under a key of its own, and the keys live outside sled, in
//! `message-keys`: 32 bytes per message, at a fixed place (its slot), which
//! a deletion overwrites with zeros in place. What is left in sled's log is
//! then ciphertext without a key.
//!
//! Order, so that a crash never leaves a readable deleted message nor an
//! unreadable live one: a batch's keys are written and fsync'd before the
//! sled flush that makes its messages durable (a crash in between leaves
//! keys that nothing uses); a deletion records its target's slot in
//! `shred_pending` in the batch's own transaction, and after the flush the
//! slot is zeroed and fsync'd, then the record is dropped. Opening the
//! store zeroes whatever `shred_pending` still lists.
//!
//! Messages stored before sealing existed are plain; deleting one blanks
//! it in the tree only (its old bytes stay in sled's log until reused).

use super::StoreError;
use crate::store::{AttachmentRecord, MessageRecord};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Mutex;

/// The file beside sled's, in the data dir.
pub(super) const KEYS_FILE: &str = "message-keys";
const KEY_BYTES: u64 = 32;

/// The sealed part of a stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Sealed {
    /// Where its key is in `message-keys`.
    pub(super) slot: u64,
    /// Base64 of the sealed [`Secret`] and its tag.
    pub(super) data: String,
}

/// What is sealed: what a deletion must take away.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Secret {
    body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attachment: Option<Box<AttachmentRecord>>,
}

/// A message as sled holds it: the record without its text and attachment,
/// and those sealed beside it (plain records, from before, have no `sealed`).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredMessage {
    #[serde(flatten)]
    pub(super) record: MessageRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sealed: Option<Sealed>,
}

fn crypto(detail: &str) -> StoreError {
    StoreError::Corrupt { tree: "messages", detail: detail.to_owned() }
}

fn io(what: &str, source: std::io::Error) -> StoreError {
    StoreError::DataDir { what: format!("{KEYS_FILE}: {what}"), source }
}

/// Each key seals one message only, so a fixed nonce is safe; the
/// message's place (room and seq) is bound in as associated data.
fn cipher(key: &[u8; 32]) -> Result<LessSafeKey, StoreError> {
    UnboundKey::new(&CHACHA20_POLY1305, key).map(LessSafeKey::new).map_err(|_| crypto("bad message key"))
}

/// The keys file and the next free slot.
#[derive(Debug)]
pub(super) struct MessageKeys {
    file: File,
    /// The next slot to hand out (slots are used once).
    next: Mutex<u64>,
}

impl MessageKeys {
    pub(super) fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(KEYS_FILE);
        let file =
            std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(&path).map_err(|err| io("open", err))?;
        let len = file.metadata().map_err(|err| io("stat", err))?.len();
        // A torn last slot (a crash mid-write) is skipped, never reused.
        Ok(Self { file, next: Mutex::new(len.div_ceil(KEY_BYTES)) })
    }

    /// Fresh keys for `count` messages, written (not yet fsync'd: see `sync`).
    pub(super) fn issue(&self, count: usize) -> Result<Vec<(u64, [u8; 32])>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut next = self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut keys = Vec::with_capacity(count);
        let mut bytes = Vec::with_capacity(count * KEY_BYTES as usize);
        for n in 0..count as u64 {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|err| crypto(&format!("no randomness for a message key: {err}")))?;
            bytes.extend_from_slice(&key);
            keys.push((*next + n, key));
        }
        self.file.write_all_at(&bytes, *next * KEY_BYTES).map_err(|err| io("write", err))?;
        *next += count as u64;
        Ok(keys)
    }

    /// Makes the keys written so far durable.
    pub(super) fn sync(&self) -> Result<(), StoreError> {
        self.file.sync_data().map_err(|err| io("fsync", err))
    }

    /// Overwrites the keys of `slots` with zeros and makes that durable.
    pub(super) fn shred(&self, slots: &[u64]) -> Result<(), StoreError> {
        for slot in slots {
            self.file.write_all_at(&[0u8; KEY_BYTES as usize], slot * KEY_BYTES).map_err(|err| io("shred", err))?;
        }
        if !slots.is_empty() {
            self.sync()?;
        }
        Ok(())
    }

    fn key(&self, slot: u64) -> Result<Option<[u8; 32]>, StoreError> {
        let mut key = [0u8; 32];
        match self.file.read_exact_at(&mut key, slot * KEY_BYTES) {
            Ok(()) if key == [0u8; 32] => Ok(None),
            Ok(()) => Ok(Some(key)),
            Err(err) if err.kind() == ErrorKind::UnexpectedEof => Ok(None),
            Err(err) => Err(io("read", err)),
        }
    }
}

/// `record` as sled holds it, its text and attachment sealed under `key`
/// (bound to `place`, the message's key in the tree).
pub(super) fn seal(record: &MessageRecord, place: &[u8], (slot, key): (u64, [u8; 32])) -> Result<StoredMessage, StoreError> {
    let secret = Secret { body: record.body.clone(), attachment: record.attachment.clone() };
    let mut data = serde_json::to_vec(&secret).map_err(|source| StoreError::Encode { tree: "messages", source })?;
    cipher(&key)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key([0; 12]), Aad::from(place), &mut data)
        .map_err(|_| crypto("sealing a message failed"))?;
    let record = MessageRecord { body: String::new(), attachment: None, ..record.clone() };
    Ok(StoredMessage { record, sealed: Some(Sealed { slot, data: STANDARD.encode(data) }) })
}

/// The record of a stored message, its sealed part opened. A message whose
/// key was shredded (its deletion is committed) reads as deleted.
pub(super) fn open(stored: StoredMessage, place: &[u8], keys: &MessageKeys) -> Result<MessageRecord, StoreError> {
    let StoredMessage { mut record, sealed } = stored;
    let Some(Sealed { slot, data }) = sealed else { return Ok(record) };
    let Some(key) = keys.key(slot)? else {
        return Ok(MessageRecord { body: String::new(), attachment: None, mentions: Vec::new(), deleted: true, ..record });
    };
    let mut data = STANDARD.decode(data).map_err(|_| crypto("sealed data is not base64"))?;
    let opened = cipher(&key)?
        .open_in_place(Nonce::assume_unique_for_key([0; 12]), Aad::from(place), &mut data)
        .map_err(|_| crypto("a sealed message does not open with its key"))?;
    let secret: Secret = serde_json::from_slice(opened).map_err(|source| StoreError::Decode { tree: "messages", source })?;
    record.body = secret.body;
    record.attachment = secret.attachment;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_message_opens_with_its_key_and_reads_as_deleted_once_shredded() {
        let dir = tempfile::tempdir().unwrap();
        let keys = MessageKeys::open(dir.path()).unwrap();
        let issued = keys.issue(2).unwrap();
        assert_eq!(issued.iter().map(|(slot, _)| *slot).collect::<Vec<_>>(), [0, 1]);
        let record = MessageRecord { body: "meet at noon".into(), ts: 3, ..MessageRecord::default() };
        let stored = seal(&record, b"place", issued[1]).unwrap();
        let encoded = serde_json::to_vec(&stored).unwrap();
        assert!(!String::from_utf8_lossy(&encoded).contains("noon"), "the text is sealed");
        let decoded: StoredMessage = serde_json::from_slice(&encoded).unwrap();
        assert_eq!(open(decoded, b"place", &keys).unwrap(), record);
        let moved: StoredMessage = serde_json::from_slice(&encoded).unwrap();
        assert!(open(moved, b"elsewhere", &keys).is_err(), "bound to its place");

        keys.shred(&[1]).unwrap();
        let decoded: StoredMessage = serde_json::from_slice(&encoded).unwrap();
        let gone = open(decoded, b"place", &keys).unwrap();
        assert!(gone.deleted && gone.body.is_empty());
        drop(keys);
        let reopened = MessageKeys::open(dir.path()).unwrap();
        assert_eq!(reopened.issue(1).unwrap()[0].0, 2, "slots are never reused");
        let plain = StoredMessage { record: record.clone(), sealed: None };
        let plain: StoredMessage = serde_json::from_slice(&serde_json::to_vec(&plain).unwrap()).unwrap();
        assert_eq!(open(plain, b"place", &reopened).unwrap(), record, "records from before sealing read as they are");
    }
}
