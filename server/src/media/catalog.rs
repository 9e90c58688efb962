//! What the media service keeps in the store, behind a narrow trait so that
//! another store can hold it (the embedded store implements it, under
//! `store/`).
//!
//! An upload and the media it becomes are one record, keyed by the same id
//! (PROTOCOL.md: the `media_id` is the `<upload_id>`). The store also keeps
//! per-user usage (bytes counted at each upload's size, and how many
//! uploads are still unattached), a reference count per blob (the bytes,
//! stored once by SHA-256), and the rooms where a message carries a media
//! (written with the message, for the download access rule).
//!
//! Every method is synchronous and may touch the disk: async callers run
//! them on the blocking pool. Writes are not durable until [`MediaCatalog::flush`].

use crate::store::StoreError;
use heartlink_protocol::{MediaId, RoomId, UserId};
use serde::{Deserialize, Serialize};

/// An upload, complete or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub id: MediaId,
    pub owner: UserId,
    /// `Upload-Length`: the whole file's size.
    pub length: u64,
    /// Bytes received and durable.
    pub offset: u64,
    /// The file name, already made safe (see `names.rs`).
    pub name: String,
    pub created_at: u64,
    /// Set once the last byte arrived and the bytes were examined.
    #[serde(default)]
    pub completed: Option<Completed>,
    /// Whether a message carries it (then it never expires).
    #[serde(default)]
    pub attached: bool,
}

impl UploadRecord {
    /// Whether it still counts against the owner's unattached uploads.
    pub fn is_pending(&self) -> bool {
        !self.attached
    }
}

/// What the server found in a completed upload's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completed {
    /// Lowercase hex; also names the blob file.
    pub sha256: String,
    /// The sniffed type (never the uploader's claim).
    pub mime: String,
    /// An image's dimensions, read from its header.
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    pub completed_at: u64,
}

/// A user's standing: bytes of all their uploads and the unattached count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub bytes: u64,
    pub pending: u64,
}

/// The limits a new upload is admitted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub quota_bytes: u64,
    pub max_pending: u64,
}

/// Whether a new upload was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Recorded,
    /// It would take the user past the byte quota.
    OverQuota(Usage),
    /// The user has too many uploads that are not attached yet.
    TooManyPending(Usage),
}

/// The bytes an upload referred to, after the upload was deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub record: UploadRecord,
    /// Set when no other upload refers to the same bytes any more: the blob may go.
    pub unused_blob: Option<String>,
}

/// The media metadata store.
pub trait MediaCatalog: Send + Sync + std::fmt::Debug {
    /// Records a new upload and counts it against its owner, unless that
    /// would break `allowance` (checked and counted atomically).
    fn create_upload(&self, record: &UploadRecord, allowance: Allowance) -> Result<Admission, StoreError>;

    /// The upload with this id.
    fn upload(&self, id: MediaId) -> Result<Option<UploadRecord>, StoreError>;

    /// Moves an incomplete upload's durable offset.
    fn set_offset(&self, id: MediaId, offset: u64) -> Result<(), StoreError>;

    /// Marks an upload complete and takes a reference on its blob; `true`
    /// when it was the blob's first reference. Completing twice changes nothing.
    fn complete(&self, id: MediaId, completed: &Completed) -> Result<bool, StoreError>;

    /// Marks a completed upload as carried by a message (it no longer expires).
    fn mark_attached(&self, id: MediaId) -> Result<(), StoreError>;

    /// Deletes an upload, releases its usage and its blob reference.
    fn delete_upload(&self, id: MediaId) -> Result<Option<Deleted>, StoreError>;

    /// Whether any upload refers to the blob with this digest.
    fn blob_in_use(&self, sha256: &str) -> Result<bool, StoreError>;

    /// The rooms where a committed message carries this media.
    fn media_rooms(&self, id: MediaId) -> Result<Vec<RoomId>, StoreError>;

    /// Every upload (for the expiry sweep and recovery after a crash).
    fn uploads(&self) -> Result<Vec<UploadRecord>, StoreError>;

    /// A user's usage.
    fn usage(&self, owner: UserId) -> Result<Usage, StoreError>;

    /// Makes every write so far durable.
    fn flush(&self) -> Result<(), StoreError>;
}
