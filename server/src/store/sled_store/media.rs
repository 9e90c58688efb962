//! The media catalog in sled: `media`, `media_usage`, `media_blobs`,
//! `media_rooms` (see `media/catalog.rs` for what each holds).
//!
//! Every change that touches a user's usage or a blob's reference count is
//! one transaction over the trees involved, so a crash never leaves a
//! count that disagrees with the records.

use super::keys::{concat, id_at, u64_at};
use super::{SledStore, StoreError, decode, encode};
use crate::media::catalog::{Admission, Allowance, Completed, Deleted, MediaCatalog, UploadRecord, Usage};
use heartlink_protocol::{MediaId, RoomId, UserId};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

type Abort = ConflictableTransactionError<StoreError>;

fn usage_from(bytes: &[u8]) -> Result<Usage, StoreError> {
    Ok(Usage { bytes: u64_at("media_usage", bytes, 0)?, pending: u64_at("media_usage", bytes, 8)? })
}

fn usage_of(tree: &TransactionalTree, owner: UserId) -> Result<Usage, Abort> {
    match tree.get(owner.as_bytes())? {
        Some(bytes) => usage_from(&bytes).map_err(ConflictableTransactionError::Abort),
        None => Ok(Usage::default()),
    }
}

fn references(bytes: Option<sled::IVec>) -> Result<u64, Abort> {
    bytes.map_or(Ok(0), |bytes| u64_at("media_blobs", &bytes, 0).map_err(ConflictableTransactionError::Abort))
}

fn put_usage(tree: &TransactionalTree, owner: UserId, usage: Usage) -> Result<(), Abort> {
    if usage == Usage::default() {
        tree.remove(owner.as_bytes())?;
    } else {
        tree.insert(owner.as_bytes(), concat(&[&usage.bytes.to_be_bytes(), &usage.pending.to_be_bytes()]))?;
    }
    Ok(())
}

fn record_of(tree: &TransactionalTree, id: MediaId) -> Result<Option<UploadRecord>, Abort> {
    match tree.get(id.as_bytes())? {
        Some(bytes) => decode("media", &bytes).map(Some).map_err(ConflictableTransactionError::Abort),
        None => Ok(None),
    }
}

fn put_record(tree: &TransactionalTree, record: &UploadRecord) -> Result<(), Abort> {
    let value = encode("media", record).map_err(ConflictableTransactionError::Abort)?;
    tree.insert(record.id.as_bytes(), value)?;
    Ok(())
}

fn outcome<T>(result: Result<T, TransactionError<StoreError>>) -> Result<T, StoreError> {
    match result {
        Ok(value) => Ok(value),
        Err(TransactionError::Abort(err)) => Err(err),
        Err(TransactionError::Storage(err)) => Err(err.into()),
    }
}

impl MediaCatalog for SledStore {
    fn create_upload(&self, record: &UploadRecord, allowance: Allowance) -> Result<Admission, StoreError> {
        outcome((&self.trees.media, &self.trees.media_usage).transaction(|(media, usage_tree)| {
            let usage = usage_of(usage_tree, record.owner)?;
            if usage.bytes.saturating_add(record.length) > allowance.quota_bytes {
                return Ok(Admission::OverQuota(usage));
            }
            if usage.pending >= allowance.max_pending {
                return Ok(Admission::TooManyPending(usage));
            }
            put_record(media, record)?;
            put_usage(usage_tree, record.owner, Usage { bytes: usage.bytes + record.length, pending: usage.pending + 1 })?;
            Ok(Admission::Recorded)
        }))
    }

    fn upload(&self, id: MediaId) -> Result<Option<UploadRecord>, StoreError> {
        self.trees.media.get(id.as_bytes())?.map(|bytes| decode("media", &bytes)).transpose()
    }

    fn set_offset(&self, id: MediaId, offset: u64) -> Result<(), StoreError> {
        outcome(self.trees.media.transaction(|media| {
            if let Some(mut record) = record_of(media, id)? {
                record.offset = offset;
                put_record(media, &record)?;
            }
            Ok(())
        }))
    }

    fn complete(&self, id: MediaId, completed: &Completed) -> Result<bool, StoreError> {
        outcome((&self.trees.media, &self.trees.media_blobs).transaction(|(media, blobs)| {
            let Some(mut record) = record_of(media, id)? else { return Ok(false) };
            if record.completed.is_some() {
                return Ok(false);
            }
            record.offset = record.length;
            record.completed = Some(completed.clone());
            put_record(media, &record)?;
            let references = references(blobs.get(completed.sha256.as_bytes())?)?;
            blobs.insert(completed.sha256.as_bytes(), &(references + 1).to_be_bytes())?;
            Ok(references == 0)
        }))
    }

    fn mark_attached(&self, id: MediaId) -> Result<(), StoreError> {
        outcome((&self.trees.media, &self.trees.media_usage).transaction(|(media, usage_tree)| {
            let Some(mut record) = record_of(media, id)? else { return Ok(()) };
            if record.attached {
                return Ok(());
            }
            record.attached = true;
            put_record(media, &record)?;
            let usage = usage_of(usage_tree, record.owner)?;
            put_usage(usage_tree, record.owner, Usage { pending: usage.pending.saturating_sub(1), ..usage })
        }))
    }

    fn delete_upload(&self, id: MediaId) -> Result<Option<Deleted>, StoreError> {
        outcome((&self.trees.media, &self.trees.media_usage, &self.trees.media_blobs).transaction(|(media, usage_tree, blobs)| {
            let Some(record) = record_of(media, id)? else { return Ok(None) };
            media.remove(id.as_bytes())?;
            let usage = usage_of(usage_tree, record.owner)?;
            let pending = if record.is_pending() { usage.pending.saturating_sub(1) } else { usage.pending };
            put_usage(usage_tree, record.owner, Usage { bytes: usage.bytes.saturating_sub(record.length), pending })?;
            let mut unused_blob = None;
            if let Some(completed) = &record.completed {
                let key = completed.sha256.as_bytes();
                let references = references(blobs.get(key)?)?;
                if references <= 1 {
                    blobs.remove(key)?;
                    unused_blob = Some(completed.sha256.clone());
                } else {
                    blobs.insert(key, &(references - 1).to_be_bytes())?;
                }
            }
            Ok(Some(Deleted { record: record.clone(), unused_blob }))
        }))
    }

    fn blob_in_use(&self, sha256: &str) -> Result<bool, StoreError> {
        Ok(self.trees.media_blobs.contains_key(sha256.as_bytes())?)
    }

    fn media_rooms(&self, id: MediaId) -> Result<Vec<RoomId>, StoreError> {
        self.trees
            .media_rooms
            .scan_prefix(id.as_bytes())
            .keys()
            .map(|key| Ok(RoomId::from_bytes(id_at("media_rooms", &key?, 16)?)))
            .collect()
    }

    fn uploads(&self) -> Result<Vec<UploadRecord>, StoreError> {
        self.trees.media.iter().values().map(|value| decode("media", &value?)).collect()
    }

    fn usage(&self, owner: UserId) -> Result<Usage, StoreError> {
        self.trees.media_usage.get(owner.as_bytes())?.map_or(Ok(Usage::default()), |bytes| usage_from(&bytes))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.sync_blocking()
    }
}

/// The `media_rooms` key written with a message that carries `media`.
pub(super) fn media_room_key(media: MediaId, room: RoomId) -> Vec<u8> {
    concat(&[media.as_bytes(), room.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(owner: UserId, length: u64) -> UploadRecord {
        UploadRecord { id: MediaId::random(), owner, length, offset: 0, name: "f".into(), created_at: 1, completed: None, attached: false }
    }

    fn completed(sha: &str) -> Completed {
        Completed { sha256: sha.into(), mime: "text/plain".into(), width: None, height: None, completed_at: 2 }
    }

    const ROOMY: Allowance = Allowance { quota_bytes: 100, max_pending: 3 };

    #[test]
    fn usage_blobs_and_quota_stay_consistent() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let owner = UserId::random();
        let (first, second) = (record(owner, 40), record(owner, 40));
        assert_eq!(store.create_upload(&first, ROOMY).unwrap(), Admission::Recorded);
        assert_eq!(store.create_upload(&second, ROOMY).unwrap(), Admission::Recorded);
        let over = record(owner, 21);
        assert!(matches!(store.create_upload(&over, ROOMY).unwrap(), Admission::OverQuota(Usage { bytes: 80, pending: 2 })));
        assert!(store.upload(over.id).unwrap().is_none(), "a refused upload leaves no record");

        assert!(store.complete(first.id, &completed("aa")).unwrap(), "the first reference");
        assert!(!store.complete(second.id, &completed("aa")).unwrap(), "the same bytes again");
        assert!(!store.complete(second.id, &completed("aa")).unwrap(), "completing twice counts once");
        store.mark_attached(first.id).unwrap();
        store.mark_attached(first.id).unwrap();
        assert_eq!(store.usage(owner).unwrap(), Usage { bytes: 80, pending: 1 });

        let deleted = store.delete_upload(second.id).unwrap().unwrap();
        assert_eq!(deleted.unused_blob, None, "the first upload still uses the bytes");
        assert!(store.blob_in_use("aa").unwrap());
        let deleted = store.delete_upload(first.id).unwrap().unwrap();
        assert_eq!(deleted.unused_blob.as_deref(), Some("aa"));
        assert!(!store.blob_in_use("aa").unwrap());
        assert_eq!(store.usage(owner).unwrap(), Usage::default());
        assert!(store.delete_upload(first.id).unwrap().is_none());

        for _ in 0..3 {
            assert_eq!(store.create_upload(&record(owner, 1), ROOMY).unwrap(), Admission::Recorded);
        }
        assert!(matches!(store.create_upload(&record(owner, 1), ROOMY).unwrap(), Admission::TooManyPending(_)));
        assert_eq!(store.uploads().unwrap().len(), 3);
    }
}
