//! Expiry and clean-up (PROTOCOL.md): an upload not completed within the
//! expiry (24 h by default), or completed and never attached within it, is
//! deleted with its bytes; part files and blobs that nothing refers to any
//! more (left by a crash) are removed. At start-up the sweep also
//! completes uploads whose last byte was recorded just before a crash.

use super::tus::remove_if_present;
use super::{Media, MediaError};
use crate::clock::now_ms;
use heartlink_protocol::MediaId;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What one sweep did (for the log and the tests).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub expired: usize,
    pub recovered: usize,
    pub orphans: usize,
}

/// Sweeps at start-up (with recovery), then every quarter of the expiry
/// (between 1 s and 10 min) until shutdown.
pub async fn run(media: Media, shutdown: CancellationToken) {
    let every = (media.limits().expiry / 4).clamp(Duration::from_secs(1), Duration::from_secs(600));
    let mut recover = true;
    loop {
        match media.blocking(move |media| media.sweep(now_ms(), recover)).await {
            Ok(swept) if swept != Swept::default() => tracing::info!(?swept, "media sweep"),
            Ok(_) => {}
            Err(err) => tracing::error!(cause = %err, "media sweep failed"),
        }
        recover = false;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

impl Media {
    /// One pass (blocking). `recover` completes uploads whose bytes all
    /// arrived but whose completion a crash cut off; only at start-up,
    /// when no PATCH can be completing them at the same time.
    pub fn sweep(&self, now: u64, recover: bool) -> Result<Swept, MediaError> {
        let mut swept = Swept::default();
        let expiry = u64::try_from(self.limits().expiry.as_millis()).unwrap_or(u64::MAX);
        for record in self.catalog().uploads()? {
            if recover && record.completed.is_none() && record.offset == record.length {
                match self.finalize(&record, None) {
                    Ok(_) => swept.recovered += 1,
                    Err(err) => tracing::error!(media = %record.id, cause = %err, "could not complete a recovered upload"),
                }
                continue;
            }
            if self.expire_if_stale(record.id, now, expiry)? {
                swept.expired += 1;
            }
        }
        swept.orphans = self.remove_orphans()?;
        Ok(swept)
    }

    /// Deletes the upload if, looked at again under the blob lock (a `send`
    /// may be attaching it), it is stale.
    fn expire_if_stale(&self, id: MediaId, now: u64, expiry: u64) -> Result<bool, MediaError> {
        let _blobs = self.lock_blobs();
        let Some(record) = self.catalog().upload(id)? else { return Ok(false) };
        let since = match &record.completed {
            None => record.created_at,
            Some(_) if record.attached => return Ok(false),
            Some(completed) => completed.completed_at,
        };
        let stale = now.saturating_sub(since) > expiry;
        if stale {
            tracing::info!(media = %id, "upload expired");
            self.inner.hashes.forget(id);
            self.remove_upload_locked(id)?;
        }
        Ok(stale)
    }

    /// Part files with no upload and blobs no upload refers to.
    fn remove_orphans(&self) -> Result<usize, MediaError> {
        let _blobs = self.lock_blobs();
        let mut removed = 0;
        for path in files_in(&self.inner.uploads_dir)? {
            let id = path.file_name().and_then(|name| name.to_str()).and_then(|name| name.strip_suffix(".part"));
            let Some(id) = id.and_then(|id| id.parse::<MediaId>().ok()) else { continue };
            if self.catalog().upload(id)?.is_none() {
                remove_if_present(&path)?;
                removed += 1;
            }
        }
        for prefix in files_in(&self.inner.blobs_dir)? {
            if !prefix.is_dir() {
                continue;
            }
            for blob in files_in(&prefix)? {
                let Some(sha256) = blob.file_name().and_then(|name| name.to_str()) else { continue };
                if !self.catalog().blob_in_use(sha256)? {
                    remove_if_present(&blob)?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

fn files_in(dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>, MediaError> {
    let entries = std::fs::read_dir(dir).map_err(|err| MediaError::io(dir, err))?;
    entries.map(|entry| entry.map(|entry| entry.path()).map_err(|err| MediaError::io(dir, err))).collect()
}
