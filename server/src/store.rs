//! Durable state in sled. `Store` is the only code in the project that names
//! sled: every other module sees typed records and ids.
//!
//! Trees (keys are raw bytes; ids are their 16 UUID bytes, seqs big-endian u64
//! so that a range scan is chronological):
//!
//! | tree          | key                               | value                 |
//! |---------------|-----------------------------------|-----------------------|
//! | `users`       | user_id                           | [`UserRecord`] JSON   |
//! | `usernames`   | canonical (lower-case) username   | user_id               |
//! | `lookalikes`  | look-alike key (usernames.rs)     | user_id               |
//! | `tokens`      | SHA-256 of the token              | [`TokenRecord`] JSON  |
//! | `user_tokens` | user_id ++ SHA-256 of the token   | issued_at (u64 ms)    |
//! | `rooms`       | room_id                           | [`RoomRecord`] JSON   |
//! | `members`     | room_id ++ user_id                | joined_at (u64 ms)    |
//! | `member_order`| room_id ++ joined_at ++ user_id   | empty                 |
//! | `memberships` | user_id ++ room_id                | empty                 |
//! | `messages`    | room_id ++ seq                    | [`StoredMessage`] JSON|
//! | `dedup`       | sender ++ room_id ++ client_msg_id| seq ++ ts             |
//! | `reads`       | room_id ++ user_id                | seq                   |
//! | `meta`        | `instance_id`, `health_probe`     | see `marker.rs`       |
//! | `media`       | media_id (= upload id)            | `UploadRecord` JSON   |
//! | `media_usage` | user_id                           | bytes ++ pending (u64s)|
//! | `media_blobs` | sha256 (hex)                      | references (u64)      |
//! | `media_rooms` | media_id ++ room_id               | empty                 |
//!
//! The media trees implement `media::catalog::MediaCatalog` (`store/media.rs`).

mod accounts;
mod indexes;
mod data_dir;
mod lookalikes;
mod marker;
mod media;
mod members;
mod messages;
mod records;
mod rooms;
mod tokens;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use accounts::NameConflict;
pub use members::MemberPosition;
pub use messages::{MessageWrite, Page, PageBudget};
pub use records::{RoomRecord, StoredMessage, TokenRecord, UserRecord};

/// The key the health check writes in `meta`.
const HEALTH_KEY: &[u8] = b"health_probe";

/// sled's page cache size.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Why a storage operation failed. Details are logged, never sent to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an I/O or corruption error.
    #[error("database error: {0}")]
    Db(#[from] sled::Error),
    /// The task running a flush failed (panicked or was cancelled).
    #[error("flush task failed: {0}")]
    FlushTask(String),
    /// A stored record did not decode, or the data dir is damaged or not ours.
    #[error("damaged data ({tree}): {detail}")]
    Corrupt { tree: &'static str, detail: String },
    /// Another process holds the data dir's lock.
    #[error("another heartlink-server is using {} (pid {})", dir.display(), pid.map_or_else(|| "unknown".to_owned(), |pid| pid.to_string()))]
    InUse { dir: PathBuf, pid: Option<u32> },
    /// The data dir or its lock file could not be created, read or made private.
    #[error("{what}")]
    DataDir {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// The server's database. Cheap to clone (sled handles are reference counted).
#[derive(Clone, Debug)]
pub struct Store {
    db: sled::Db,
    users: sled::Tree,
    usernames: sled::Tree,
    lookalikes: sled::Tree,
    tokens: sled::Tree,
    user_tokens: sled::Tree,
    rooms: sled::Tree,
    members: sled::Tree,
    member_order: sled::Tree,
    memberships: sled::Tree,
    messages: sled::Tree,
    dedup: sled::Tree,
    reads: sled::Tree,
    meta: sled::Tree,
    media: sled::Tree,
    media_usage: sled::Tree,
    media_blobs: sled::Tree,
    media_rooms: sled::Tree,
    /// The data dir's lock, held as long as any handle on the store.
    _lock: Arc<data_dir::DirLock>,
}

impl Store {
    /// Opens (or creates) the database in `dir`. A damaged database is an
    /// error: the server refuses to start rather than start empty.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        // A foreign or damaged dir is refused before anything in it is touched;
        // the second look, under the lock, is the one that counts.
        marker::inspect(dir)?;
        let lock = data_dir::claim(dir)?;
        let found = marker::inspect(dir)?;
        // sled's page cache defaults to 1 GiB; a fixed cap keeps the
        // server's memory predictable (history reads past it hit the disk).
        // No periodic background flush: every write a client is told about
        // is flushed explicitly before the reply (group commit for sends),
        // so durability never depends on timing, and the kill -9 test
        // catches any reply that forgets its flush.
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::LowSpace)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(None)
            .open()?;
        marker::confirm(dir, found, &db)?;
        // Whatever sled created, whatever the umask.
        data_dir::make_private(dir)?;
        let tree = |name: &str| db.open_tree(name);
        let store = Self {
            users: tree("users")?,
            usernames: tree("usernames")?,
            lookalikes: tree("lookalikes")?,
            tokens: tree("tokens")?,
            user_tokens: tree("user_tokens")?,
            rooms: tree("rooms")?,
            members: tree("members")?,
            member_order: tree("member_order")?,
            memberships: tree("memberships")?,
            messages: tree("messages")?,
            dedup: tree("dedup")?,
            reads: tree("reads")?,
            meta: tree("meta")?,
            media: tree("media")?,
            media_usage: tree("media_usage")?,
            media_blobs: tree("media_blobs")?,
            media_rooms: tree("media_rooms")?,
            db,
            _lock: Arc::new(lock),
        };
        indexes::build_missing(&store)?;
        store.index_lookalikes()?;
        Ok(store)
    }

    /// Makes everything written so far durable (one fsync for all of it).
    ///
    /// Not sled's `flush_async`: that runs the flush on sled's own thread
    /// pool, where the log write the flush waits for is queued too, and with
    /// a few flushes at once every pool thread can end up waiting for a write
    /// queued behind it (seen as joins that never answered). On tokio's
    /// blocking pool, sled's pool only does the writes.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.write_and_flush(Vec::new()).await
    }

    /// The health check's write-and-read: writes a fresh value, makes it
    /// durable and reads it back (blocking; run it off the async threads).
    pub fn probe(&self) -> Result<(), StoreError> {
        let mut value = [0u8; 16];
        getrandom::fill(&mut value).map_err(|err| StoreError::Corrupt { tree: "meta", detail: format!("no randomness: {err}") })?;
        self.meta.insert(HEALTH_KEY, &value)?;
        self.db.flush()?;
        match self.meta.get(HEALTH_KEY)? {
            Some(read) if read.as_ref() == value => Ok(()),
            _ => Err(StoreError::Corrupt { tree: "meta", detail: "the probe value did not read back".to_owned() }),
        }
    }

    /// Writes a batch of messages (one transaction, see
    /// [`Store::write_messages`]) and then makes everything durable, on
    /// tokio's blocking pool.
    pub async fn write_and_flush(&self, writes: Vec<MessageWrite>) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            store.write_messages(&writes)?;
            store.db.flush()?;
            Ok::<(), StoreError>(())
        })
        .await
        .map_err(|err| StoreError::FlushTask(err.to_string()))?
    }
}

/// Where a sweep over a tree stopped; the next chunk starts after it.
/// Opaque outside the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepCursor(Vec<u8>);

/// What one chunk of a sweep did.
#[derive(Debug, Default)]
pub struct Swept {
    /// Records removed in this chunk.
    pub removed: usize,
    /// Where the next chunk starts; `None` when the pass is complete.
    pub next: Option<SweepCursor>,
}

/// Visits up to `max` entries of `tree` after `from`, in key order; `visit`
/// says whether it removed the entry. Returns where the next chunk starts.
fn sweep_chunk(
    tree: &sled::Tree,
    from: Option<&SweepCursor>,
    max: usize,
    mut visit: impl FnMut(&[u8], &[u8]) -> Result<bool, StoreError>,
) -> Result<Swept, StoreError> {
    use std::ops::Bound;
    let start = match from {
        Some(cursor) => Bound::Excluded(cursor.0.clone()),
        None => Bound::Unbounded,
    };
    let mut swept = Swept::default();
    for (seen, entry) in tree.range::<Vec<u8>, _>((start, Bound::Unbounded)).enumerate() {
        let (key, value) = entry?;
        if visit(&key, &value)? {
            swept.removed += 1;
        }
        if seen + 1 >= max {
            swept.next = Some(SweepCursor(key.to_vec()));
            break;
        }
    }
    Ok(swept)
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut buf = [0u8; 8];
    if let Some(slice) = bytes.get(at..at + 8) {
        buf.copy_from_slice(slice);
    }
    u64::from_be_bytes(buf)
}

fn id_at(bytes: &[u8], at: usize) -> [u8; 16] {
    let mut buf = [0u8; 16];
    if let Some(slice) = bytes.get(at..at + 16) {
        buf.copy_from_slice(slice);
    }
    buf
}

fn decode<T: serde::de::DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|err| StoreError::Corrupt { tree, detail: err.to_string() })
}

fn encode<T: serde::Serialize>(tree: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|err| StoreError::Corrupt { tree, detail: err.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_or_foreign_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        drop(Store::open(&data).unwrap());
        drop(Store::open(&data).unwrap()); // reopening our own data is fine

        // sled alone would reopen this as an empty database.
        std::fs::remove_file(data.join("db")).unwrap();
        assert!(Store::open(&data).is_err(), "a deleted database must not open as an empty one");

        let foreign = dir.path().join("foreign");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("notes.txt"), "hello").unwrap();
        let err = Store::open(&foreign).unwrap_err().to_string();
        assert!(err.contains("not a heartlink data dir"), "{err}");
    }
}
