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
//! | `rooms`       | room_id                           | [`RoomRecord`] JSON   |
//! | `members`     | room_id ++ user_id                | joined_at (u64 ms)    |
//! | `memberships` | user_id ++ room_id                | empty                 |
//! | `messages`    | room_id ++ seq                    | [`StoredMessage`] JSON|
//! | `dedup`       | sender ++ room_id ++ client_msg_id| seq ++ ts             |
//! | `reads`       | room_id ++ user_id                | seq                   |
//! | `meta`        | `instance_id`                     | see `marker.rs`       |

mod accounts;
mod data_dir;
mod lookalikes;
mod marker;
mod messages;
mod records;
mod rooms;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use accounts::NameConflict;
pub use messages::MessageWrite;
pub use records::{RoomRecord, StoredMessage, TokenRecord, UserRecord};

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
    rooms: sled::Tree,
    members: sled::Tree,
    memberships: sled::Tree,
    messages: sled::Tree,
    dedup: sled::Tree,
    reads: sled::Tree,
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
            rooms: tree("rooms")?,
            members: tree("members")?,
            memberships: tree("memberships")?,
            messages: tree("messages")?,
            dedup: tree("dedup")?,
            reads: tree("reads")?,
            db,
            _lock: Arc::new(lock),
        };
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
