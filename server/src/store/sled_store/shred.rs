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
//!
//! The file grows ahead of use, a chunk of zeroed slots at a time (made
//! durable once), so a batch's keys overwrite blocks the file already has:
//! its fsync then writes data only, no file size or block allocation (on
//! ext4 that was most of the cost of the keys' fsync, paid on every batch).
//! The next free slot can then no longer be read off the file's length, so
//! each batch records it in `meta` (`message_keys_next`), in the batch's own
//! transaction: a slot a durable message uses is always below the recorded
//! mark. A data dir from before the mark starts from the file's length.

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
#[derive(Debug, Default, Deserialize)]
struct Secret {
    body: String,
    #[serde(default)]
    attachment: Option<Box<AttachmentRecord>>,
}

/// [`Secret`] as it is written: borrowed from the record, not copied.
#[derive(Serialize)]
struct SecretRef<'a> {
    body: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment: Option<&'a AttachmentRecord>,
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
    /// The next slot to hand out (slots are used once) and how many slots
    /// the file holds (zeroed ahead of use).
    next: Mutex<Slots>,
}

#[derive(Debug, Clone, Copy)]
struct Slots {
    next: u64,
    allocated: u64,
}

/// The `meta` key of the next free slot, written with every batch.
pub(super) const NEXT_SLOT_KEY: &[u8] = b"message_keys_next";
/// Slots the file grows by when a batch needs more (256 KiB).
const GROWTH_SLOTS: u64 = 8192;

impl MessageKeys {
    /// Opens the keys file; `recorded` is the next free slot recorded in
    /// `meta` (`None` for a data dir from before the record).
    pub(super) fn open(dir: &Path, recorded: Option<u64>) -> Result<Self, StoreError> {
        let path = dir.join(KEYS_FILE);
        let file =
            std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(&path).map_err(|err| io("open", err))?;
        let len = file.metadata().map_err(|err| io("stat", err))?.len();
        // A torn last slot (a crash mid-write) is skipped, never reused.
        let allocated = len.div_ceil(KEY_BYTES);
        let next = match recorded {
            None => allocated,
            // Past the mark only keys of batches that never committed are
            // found, unless an older server (which did not keep the mark)
            // used this dir since: never hand out a slot that holds a key.
            Some(mark) => last_used_from(&file, mark, allocated)?.map_or(mark, |last| last + 1).max(mark),
        };
        Ok(Self { file, next: Mutex::new(Slots { next, allocated }) })
    }

    /// Fresh keys for `count` messages, written (not yet fsync'd: see `sync`).
    /// The batch that uses them records [`MessageKeys::next_after`] them.
    pub(super) fn issue(&self, count: usize) -> Result<Vec<(u64, [u8; 32])>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut slots = self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = slots.next;
        let end = first + count as u64;
        if end > slots.allocated {
            self.grow(&mut slots, end)?;
        }
        // One draw of randomness for the whole batch (one syscall, not one per message).
        let mut bytes = vec![0u8; count * KEY_BYTES as usize];
        getrandom::fill(&mut bytes).map_err(|err| crypto(&format!("no randomness for message keys: {err}")))?;
        let keys = bytes
            .chunks_exact(KEY_BYTES as usize)
            .zip(first..)
            .map(|(chunk, slot)| {
                let mut key = [0u8; 32];
                key.copy_from_slice(chunk);
                (slot, key)
            })
            .collect();
        self.file.write_all_at(&bytes, first * KEY_BYTES).map_err(|err| io("write", err))?;
        slots.next = end;
        Ok(keys)
    }

    /// The `meta` value recording that the slots below `keys`' last one + 1 are taken.
    pub(super) fn next_after(keys: &[(u64, [u8; 32])]) -> Option<Vec<u8>> {
        keys.last().map(|(slot, _)| (slot + 1).to_be_bytes().to_vec())
    }

    /// Zeroes slots up to a multiple of [`GROWTH_SLOTS`] past `end` and
    /// makes that durable (size and blocks), once per chunk.
    fn grow(&self, slots: &mut Slots, end: u64) -> Result<(), StoreError> {
        let target = end.div_ceil(GROWTH_SLOTS).saturating_mul(GROWTH_SLOTS);
        let zeros = vec![0u8; usize::try_from((target - slots.allocated) * KEY_BYTES).map_err(|_| crypto("keys file too large"))?];
        self.file.write_all_at(&zeros, slots.allocated * KEY_BYTES).map_err(|err| io("grow", err))?;
        self.file.sync_all().map_err(|err| io("fsync", err))?;
        slots.allocated = target;
        Ok(())
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

/// The last slot at or past `from` (below `allocated`) that holds a key.
/// Reads the file's tail past the recorded mark: a growth chunk at most,
/// unless an older server appended to the file.
fn last_used_from(file: &File, from: u64, allocated: u64) -> Result<Option<u64>, StoreError> {
    const CHUNK: u64 = 4096;
    let mut last = None;
    let mut slot = from;
    while slot < allocated {
        let count = CHUNK.min(allocated - slot);
        let mut bytes = vec![0u8; (count * KEY_BYTES) as usize];
        let read = read_up_to(file, &mut bytes, slot * KEY_BYTES)?;
        for (n, key) in bytes[..read].chunks(KEY_BYTES as usize).enumerate() {
            if key.iter().any(|byte| *byte != 0) {
                last = Some(slot + n as u64);
            }
        }
        slot += count;
    }
    Ok(last)
}

/// Fills `bytes` from `offset` as far as the file goes; returns how many were read.
fn read_up_to(file: &File, bytes: &mut [u8], offset: u64) -> Result<usize, StoreError> {
    let mut done = 0;
    while done < bytes.len() {
        match file.read_at(&mut bytes[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(io("read", err)),
        }
    }
    Ok(done)
}

/// `record` as sled holds it, its text and attachment sealed under `key`
/// (bound to `place`, the message's key in the tree).
pub(super) fn seal(record: &MessageRecord, place: &[u8], (slot, key): (u64, [u8; 32])) -> Result<StoredMessage, StoreError> {
    let secret = SecretRef { body: &record.body, attachment: record.attachment.as_deref() };
    let mut data = serde_json::to_vec(&secret).map_err(|source| StoreError::Encode { tree: "messages", source })?;
    cipher(&key)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key([0; 12]), Aad::from(place), &mut data)
        .map_err(|_| crypto("sealing a message failed"))?;
    // Every field named (no `..record.clone()`): the text is not copied only
    // to be dropped, and a field added to the record must be placed here.
    let MessageRecord { sender, body: _, ts, client_msg_id, attachment: _, call, relates_to, mentions, deleted } = record;
    let record = MessageRecord {
        sender: sender.clone(),
        body: String::new(),
        ts: *ts,
        client_msg_id: client_msg_id.clone(),
        attachment: None,
        call: call.clone(),
        relates_to: *relates_to,
        mentions: mentions.clone(),
        deleted: *deleted,
    };
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
        let keys = MessageKeys::open(dir.path(), None).unwrap();
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
        let reopened = MessageKeys::open(dir.path(), Some(2)).unwrap();
        assert_eq!(reopened.issue(1).unwrap()[0].0, 2, "slots are never reused");
        let plain = StoredMessage { record: record.clone(), sealed: None };
        let plain: StoredMessage = serde_json::from_slice(&serde_json::to_vec(&plain).unwrap()).unwrap();
        assert_eq!(open(plain, b"place", &reopened).unwrap(), record, "records from before sealing read as they are");
    }

    #[test]
    fn the_file_grows_ahead_and_the_next_slot_comes_from_the_mark_or_an_older_dirs_length() {
        let dir = tempfile::tempdir().unwrap();
        let keys = MessageKeys::open(dir.path(), None).unwrap();
        let issued = keys.issue(3).unwrap();
        let len = std::fs::metadata(dir.path().join(KEYS_FILE)).unwrap().len();
        assert_eq!(len, GROWTH_SLOTS * KEY_BYTES, "zeroed ahead of use");
        assert_eq!(MessageKeys::next_after(&issued), Some(3u64.to_be_bytes().to_vec()));
        assert_eq!(keys.key(5).unwrap(), None, "a slot not yet handed out holds no key");
        drop(keys);
        // The mark says 3: the slots after it are handed out again (no durable message uses them).
        assert_eq!(MessageKeys::open(dir.path(), Some(3)).unwrap().issue(1).unwrap()[0].0, 3);

        // A data dir from before the mark: its file is exactly its slots long.
        let old = tempfile::tempdir().unwrap();
        std::fs::write(old.path().join(KEYS_FILE), [7u8; 5 * KEY_BYTES as usize]).unwrap();
        let keys = MessageKeys::open(old.path(), None).unwrap();
        assert_eq!(keys.issue(1).unwrap()[0].0, 5, "continues after the last key");
        assert!(keys.key(4).unwrap().is_some(), "older keys are kept");
        drop(keys);
        // An older server used the dir after the mark was written: its keys past the mark are kept.
        let keys = MessageKeys::open(old.path(), Some(2)).unwrap();
        assert_eq!(keys.issue(1).unwrap()[0].0, 6);
    }
}
