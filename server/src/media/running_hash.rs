//! The SHA-256 of each upload's bytes so far, kept while the server runs,
//! so that completing an upload does not read the whole file again. It is
//! only a shortcut: after a restart, or when a PATCH's bytes were refused,
//! the hash is gone and completion reads the file instead.

use heartlink_protocol::MediaId;
use ring::digest::{Context, SHA256};
use std::collections::HashMap;
use std::sync::Mutex;

/// Running hashes by upload, each with the offset it covers.
#[derive(Default)]
pub struct RunningHashes {
    hashes: Mutex<HashMap<MediaId, (u64, Context)>>,
}

impl std::fmt::Debug for RunningHashes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunningHashes(..)")
    }
}

impl RunningHashes {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<MediaId, (u64, Context)>> {
        self.hashes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The hash of an upload's first `offset` bytes, taken out for the PATCH
    /// that continues from there; a fresh one at offset 0; `None` when unknown.
    pub fn take(&self, id: MediaId, offset: u64) -> Option<Context> {
        let known = self.map().remove(&id);
        match known {
            Some((covered, context)) if covered == offset => Some(context),
            _ if offset == 0 => Some(Context::new(&SHA256)),
            _ => None,
        }
    }

    /// Keeps the hash of the first `offset` bytes.
    pub fn put(&self, id: MediaId, offset: u64, context: Context) {
        self.map().insert(id, (offset, context));
    }

    /// Forgets an upload (completed, deleted or expired).
    pub fn forget(&self, id: MediaId) {
        self.map().remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_continues_only_from_the_offset_it_covers() {
        let hashes = RunningHashes::default();
        let id = MediaId::random();
        let mut first = hashes.take(id, 0).unwrap();
        first.update(b"hello ");
        hashes.put(id, 6, first);
        assert!(hashes.take(id, 3).is_none(), "another offset: unknown (and forgotten)");
        assert!(hashes.take(id, 6).is_none(), "taken once only");
        let mut again = hashes.take(id, 0).unwrap();
        again.update(b"hello world");
        assert_eq!(hex::encode(again.finish()), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
    }
}
