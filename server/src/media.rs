//! Attachments: tus 1.0.0 uploads, content-addressed blobs, downloads and
//! what a `send` may attach (PROTOCOL.md, "HTTP on the same listener" and
//! "Attachments").
//!
//! On disk, under the data dir:
//!
//! ```text
//! media/uploads/<upload_id>.part   bytes of an upload still arriving
//! media/blobs/<aa>/<sha256>        a completed file, stored once per content
//! ```
//!
//! Metadata lives in the store behind [`catalog::MediaCatalog`]. An upload's
//! offset is recorded only after its bytes are fsync'd, so the store never
//! claims bytes the disk may not have; bytes past the recorded offset (a
//! PATCH cut off by a crash) are cut away before the next PATCH.

pub mod attach;
pub mod catalog;
mod download;
mod finalize;
pub mod http;
mod locks;
pub mod names;
mod part_writer;
mod patch;
mod running_hash;
pub mod sniff;
pub mod sweep;
mod tus;

use crate::live::LiveState;
use catalog::MediaCatalog;
use heartlink_protocol::{MediaId, UserId};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The limits of PROTOCOL.md, from the server's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    /// `--max-upload-bytes`: the largest `Upload-Length` accepted.
    pub max_upload_bytes: u64,
    /// `--user-quota-bytes`: all of a user's uploads together.
    pub user_quota_bytes: u64,
    /// `--upload-expiry-secs`: an upload not completed, or completed and
    /// never attached, within this time is deleted.
    pub expiry: Duration,
    /// Uploads a user may have that no message carries yet.
    pub max_pending: u64,
    /// Uploads a user may create per second (twice that in a burst).
    pub creations_per_sec: u32,
    /// `/media` requests a user may make per second (twice that in a burst).
    pub requests_per_sec: u32,
    /// PATCHes and downloads one user may have running at once.
    pub transfers_per_user: usize,
}

impl Default for MediaLimits {
    fn default() -> Self {
        Self {
            max_upload_bytes: 50 * 1024 * 1024,
            user_quota_bytes: 1024 * 1024 * 1024,
            expiry: Duration::from_secs(24 * 3600),
            max_pending: 100,
            creations_per_sec: 5,
            requests_per_sec: 50,
            transfers_per_user: 8,
        }
    }
}

/// Why a media operation failed inside the server (clients get `internal`).
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("media file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("blocking media task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl MediaError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }
}

/// The media service, shared by every connection. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Media {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    catalog: Arc<dyn MediaCatalog>,
    uploads_dir: PathBuf,
    blobs_dir: PathBuf,
    limits: MediaLimits,
    /// Held (briefly, on the blocking pool) around everything that creates
    /// or deletes a blob file or changes a blob's references, and around
    /// attaching and expiring, so a blob is never deleted while another
    /// upload of the same bytes is being completed, and a media is never
    /// expired while a message attaches it.
    blobs: std::sync::Mutex<()>,
    upload_locks: locks::UploadLocks,
    /// Each running upload's SHA-256 so far (completion then reads nothing).
    hashes: running_hash::RunningHashes,
    /// Transfers in progress per user on this node: a bound on this node's
    /// disk and sockets, so it stays here (the per-user rates of uploads
    /// and requests are shared, in the live state).
    transfers: locks::TransferCounts,
    live: Arc<dyn LiveState>,
}

impl Media {
    /// Opens (creating) the media directories under `data_dir`; the
    /// per-user rates are counted in `live`.
    pub fn open(
        data_dir: &Path,
        catalog: Arc<dyn MediaCatalog>,
        limits: MediaLimits,
        live: Arc<dyn LiveState>,
    ) -> Result<Self, MediaError> {
        let root = data_dir.join("media");
        let (uploads_dir, blobs_dir) = (root.join("uploads"), root.join("blobs"));
        for dir in [&uploads_dir, &blobs_dir] {
            std::fs::create_dir_all(dir).map_err(|err| MediaError::io(dir, err))?;
        }
        let inner = Inner {
            catalog,
            uploads_dir,
            blobs_dir,
            limits,
            blobs: std::sync::Mutex::new(()),
            upload_locks: locks::UploadLocks::default(),
            hashes: running_hash::RunningHashes::default(),
            transfers: locks::TransferCounts::new(limits.transfers_per_user),
            live,
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    pub fn limits(&self) -> &MediaLimits {
        &self.inner.limits
    }

    pub(crate) fn catalog(&self) -> &dyn MediaCatalog {
        self.inner.catalog.as_ref()
    }

    /// Takes one from `user`'s budget for `rate` (shared live state).
    pub(crate) async fn admit(&self, rate: crate::live::Rate, user: UserId) -> Result<crate::live::Admission, crate::live::LiveError> {
        self.inner.live.admit(rate, user).await
    }

    fn part_path(&self, id: MediaId) -> PathBuf {
        self.inner.uploads_dir.join(format!("{id}.part"))
    }

    fn blob_path(&self, sha256: &str) -> PathBuf {
        let prefix = sha256.get(..2).unwrap_or("00");
        self.inner.blobs_dir.join(prefix).join(sha256)
    }

    fn lock_blobs(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner.blobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The health check's probe: a file written, fsync'd and removed in the
    /// media directory (blocking).
    pub fn probe(&self) -> Result<(), MediaError> {
        let path = self.inner.uploads_dir.join(".health-probe");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&path)?;
            file.write_all(b"ok")?;
            file.sync_all()?;
            std::fs::remove_file(&path)
        };
        write().map_err(|err| MediaError::io(&path, err))
    }

    /// Runs a blocking catalog or file operation off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Media) -> Result<T, MediaError> + Send + 'static,
    ) -> Result<T, MediaError> {
        let media = self.clone();
        tokio::task::spawn_blocking(move || work(&media)).await?
    }
}

/// fsyncs a directory, so a file created or renamed in it survives a crash.
fn sync_dir(dir: &Path) -> Result<(), MediaError> {
    std::fs::File::open(dir).and_then(|handle| handle.sync_all()).map_err(|err| MediaError::io(dir, err))
}
