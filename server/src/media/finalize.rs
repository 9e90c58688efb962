//! Completing an upload once its last byte is durable: the whole file's
//! SHA-256, the sniffed type and image size, the blob stored once per
//! content, and the record marked complete.
//!
//! Crash safety: the blob is a hard link to the fsync'd part file, made
//! (and its directory fsync'd) before the store records the completion;
//! the part file goes only after that record is durable. A crash in
//! between leaves an incomplete record with all its bytes, which recovery
//! completes again, and at worst a blob nobody refers to, which the sweep
//! removes.

use super::catalog::{Completed, UploadRecord};
use super::{Media, MediaError, sniff, sync_dir};
use crate::clock::now_ms;
use std::io::Read;
use std::path::Path;

const HASH_CHUNK: usize = 1024 * 1024;

impl Media {
    /// Completes `record` (blocking). Idempotent. `sha256` is the digest of
    /// the bytes when the PATCHes computed it on the way in; otherwise the
    /// file is read.
    pub(super) fn finalize(&self, record: &UploadRecord, sha256: Option<String>) -> Result<Completed, MediaError> {
        let part = self.part_path(record.id);
        let length = std::fs::metadata(&part).map_err(|err| MediaError::io(&part, err))?.len();
        if length != record.length {
            let detail = format!("has {length} bytes, the upload {}", record.length);
            return Err(MediaError::io(&part, std::io::Error::new(std::io::ErrorKind::InvalidData, detail)));
        }
        let sha256 = match sha256 {
            Some(known) => known,
            None => sha256_file(&part)?,
        };
        let sniffed = sniff::sniff_file(&part).map_err(|err| MediaError::io(&part, err))?;
        let completed = Completed {
            sha256,
            mime: sniffed.mime,
            width: sniffed.dimensions.map(|(width, _)| width),
            height: sniffed.dimensions.map(|(_, height)| height),
            completed_at: now_ms(),
        };
        let blob = self.blob_path(&completed.sha256);
        {
            let _blobs = self.lock_blobs();
            if !blob.exists() {
                place_blob(&part, &blob)?;
            }
            let first = self.catalog().complete(record.id, &completed)?;
            self.catalog().flush()?;
            tracing::info!(media = %record.id, bytes = record.length, mime = %completed.mime, stored_once = !first, "upload completed");
        }
        match std::fs::remove_file(&part) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(MediaError::io(&part, err)),
        }
        crate::metrics::upload_completed();
        Ok(completed)
    }
}

/// Links the part file in as the blob and makes the link durable.
fn place_blob(part: &Path, blob: &Path) -> Result<(), MediaError> {
    let Some(dir) = blob.parent() else { return Err(MediaError::io(blob, std::io::ErrorKind::NotFound.into())) };
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|err| MediaError::io(dir, err))?;
        if let Some(blobs) = dir.parent() {
            sync_dir(blobs)?;
        }
    }
    match std::fs::hard_link(part, blob) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(MediaError::io(blob, err)),
    }
    sync_dir(dir)
}

/// The file's SHA-256 in lowercase hex, read a chunk at a time.
pub(super) fn sha256_file(path: &Path) -> Result<String, MediaError> {
    let mut file = std::fs::File::open(path).map_err(|err| MediaError::io(path, err))?;
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buffer = vec![0u8; HASH_CHUNK];
    loop {
        let read = file.read(&mut buffer).map_err(|err| MediaError::io(path, err))?;
        if read == 0 {
            break;
        }
        context.update(&buffer[..read]);
    }
    Ok(hex::encode(context.finish()))
}
