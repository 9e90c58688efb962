//! Rewriting a stopped data dir's database without what it superseded.
//!
//! sled is log-structured: a record overwritten in place (a message blanked
//! by the operator) keeps its old bytes in the log file until sled happens
//! to reclaim that part of the log. For a deletion that must really delete,
//! `compact` copies every tree's current contents into a new database beside
//! the data dir, moves the data dir's other contents (the marker, media)
//! over, and swaps the two directories in one atomic `renameat2(EXCHANGE)`;
//! the old one is then removed. A crash before the swap leaves the data dir
//! as it was (and a stray copy beside it); after it, the new one is whole.
//!
//! Only on a data dir this process has locked, with no server running.

use super::{SledStore, StoreError};
use std::path::Path;

/// Entries copied per batch.
const BATCH: usize = 10_000;
/// What in a data dir is sled's (rewritten); everything else but the lock is moved over.
const SLED_FILES: [&str; 3] = ["conf", "db", "blobs"];

fn io(what: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::DataDir { what, source }
}

impl SledStore {
    /// Rewrites the database in `dir` (the one this store was opened on)
    /// with only its current contents; consumes the store (its handles
    /// must be the last). Blocking.
    pub fn compact(self, dir: &Path) -> Result<(), StoreError> {
        self.sync_blocking()?;
        let parent = dir.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let mut nonce = [0u8; 6];
        getrandom::fill(&mut nonce).map_err(|err| StoreError::Corrupt { tree: "meta", detail: format!("no randomness: {err}") })?;
        let fresh = parent.join(format!(".{name}.compact-{}", hex::encode(nonce)));
        let copied = self.copy_into(&fresh).and_then(|()| move_over(dir, &fresh));
        if let Err(err) = copied {
            // Whatever was moved goes back; the data dir is as it was.
            let _ = move_back(&fresh, dir);
            let _ = std::fs::remove_dir_all(&fresh);
            return Err(err);
        }
        exchange(&fresh, dir).inspect_err(|_| {
            let _ = move_back(&fresh, dir);
            let _ = std::fs::remove_dir_all(&fresh);
        })?;
        // `fresh` now names the old directory; this store's files are in it.
        drop(self);
        std::fs::remove_dir_all(&fresh).map_err(io(format!("removing the old database at {}", fresh.display())))
    }

    /// Every tree's current entries into a new database at `fresh`, flushed.
    fn copy_into(&self, fresh: &Path) -> Result<(), StoreError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(0o700).create(fresh).map_err(io(format!("creating {}", fresh.display())))?;
        let target = sled::Config::new().path(fresh).mode(sled::Mode::LowSpace).flush_every_ms(None).open()?;
        for name in self.trees.db.tree_names() {
            let (from, to) = (self.trees.db.open_tree(&name)?, target.open_tree(&name)?);
            let mut batch = sled::Batch::default();
            let mut held = 0;
            for entry in from.iter() {
                let (key, value) = entry?;
                batch.insert(key, value);
                held += 1;
                if held == BATCH {
                    to.apply_batch(std::mem::take(&mut batch))?;
                    held = 0;
                }
            }
            to.apply_batch(batch)?;
        }
        target.flush()?;
        Ok(())
    }
}

/// Moves what is not sled's (and not the lock) from `dir` into `fresh`.
fn move_over(dir: &Path, fresh: &Path) -> Result<(), StoreError> {
    for entry in std::fs::read_dir(dir).map_err(io(format!("reading {}", dir.display())))? {
        let entry = entry.map_err(io(format!("reading {}", dir.display())))?;
        let name = entry.file_name();
        let name_text = name.to_string_lossy();
        if SLED_FILES.contains(&name_text.as_ref()) || name_text.starts_with("snap.") || name == super::data_dir::LOCK_FILE {
            continue;
        }
        let to = fresh.join(&name);
        std::fs::rename(entry.path(), &to).map_err(io(format!("moving {} aside", entry.path().display())))?;
    }
    Ok(())
}

/// Undoes [`move_over`] after a failure.
fn move_back(fresh: &Path, dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(fresh)? {
        let entry = entry?;
        let name = entry.file_name();
        let name_text = name.to_string_lossy();
        if SLED_FILES.contains(&name_text.as_ref()) || name_text.starts_with("snap.") {
            continue;
        }
        std::fs::rename(entry.path(), dir.join(&name))?;
    }
    Ok(())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn exchange(fresh: &Path, dir: &Path) -> Result<(), StoreError> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    renameat2(AT_FDCWD, fresh, AT_FDCWD, dir, RenameFlags::RENAME_EXCHANGE)
        .map_err(|errno| io(format!("swapping {} into place", fresh.display()))(errno.into()))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn exchange(fresh: &Path, _dir: &Path) -> Result<(), StoreError> {
    Err(io(format!("swapping {} into place", fresh.display()))(std::io::Error::from(std::io::ErrorKind::Unsupported)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{PageBudget, Store};

    /// Where a compaction builds its copy.
    fn is_leftover(path: &Path) -> bool {
        path.file_name().is_some_and(|name| name.to_string_lossy().contains(".compact-"))
    }

    fn holds(dir: &Path, needle: &[u8]) -> bool {
        std::fs::read_dir(dir).unwrap().filter_map(Result::ok).any(|entry| {
            std::fs::read(entry.path()).is_ok_and(|bytes| bytes.windows(needle.len()).any(|window| window == needle))
        })
    }

    #[tokio::test]
    async fn a_blanked_body_leaves_the_disk_and_everything_else_stays() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("data");
        let store = SledStore::open(&dir).unwrap();
        std::fs::create_dir_all(dir.join("media/blobs")).unwrap();
        std::fs::write(dir.join("media/blobs/x"), "blob").unwrap();
        let room = heartlink_protocol::RoomId::random();
        let sender = heartlink_protocol::UserId::random();
        store.append_batch(vec![super::super::new_message(room, sender, "gone-7f3a", 1)]).await.unwrap();
        store.append_batch(vec![super::super::new_message(room, sender, "kept-1c2d", 2)]).await.unwrap();
        store.blank_message(room, 1).await.unwrap();
        // Texts are sealed (`shred.rs`), so no plain body reaches the disk;
        // what compaction removes is the old sealed value (and any plain
        // record from before sealing) that sled's log still holds.

        tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || store.compact(&dir)
        })
        .await
        .unwrap()
        .unwrap();
        assert!(!holds(&dir, b"body of gone-7f3a"));
        assert!(!std::fs::read_dir(parent.path()).unwrap().any(|entry| is_leftover(&entry.unwrap().path())));
        assert_eq!(std::fs::read_to_string(dir.join("media/blobs/x")).unwrap(), "blob");

        let store = SledStore::open(&dir).unwrap();
        let page = store.page_after(room, 0, 2, PageBudget::count(10)).await.unwrap();
        let bodies: Vec<_> = page.messages.iter().map(|message| (message.seq, message.record.body.as_str())).collect();
        assert_eq!(bodies, [(1, ""), (2, "body of kept-1c2d")]);
        assert_eq!(store.last_seq(room).await.unwrap(), 2);
    }
}
