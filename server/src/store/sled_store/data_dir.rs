//! The data dir itself: created private, kept private, used by one server.
//!
//! It holds password hashes and every message, so only the server's user
//! may read it: the directories are 0700 and the files 0600. The binary
//! also sets its umask to 077 at start; this module does not rely on that
//! and tightens a data dir made by an older version, or by hand, too.
//!
//! Two servers on one data dir would corrupt it; sled refuses the second
//! with a bare `WouldBlock`. So the server first takes an exclusive lock on
//! `heartlink.lock` and writes its pid there: a second server names the
//! first in its refusal. The lock is released by the kernel when the process
//! ends, however it ends, so a stale lock file never blocks a start.

use super::StoreError;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The lock file's name (ignored when telling a new data dir from a foreign one).
pub(super) const LOCK_FILE: &str = "heartlink.lock";
const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;
/// sled's own layout is at most two levels deep; anything deeper is not ours to walk.
const MAX_DEPTH: usize = 4;

/// Holds the data dir's lock while the store is open.
pub(super) struct DirLock {
    _file: Flock<File>,
}

impl std::fmt::Debug for DirLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirLock")
    }
}

/// Creates `dir` (0700) if needed, makes what it holds private and takes
/// the lock. Refuses when another process holds it.
pub(super) fn claim(dir: &Path) -> Result<DirLock, StoreError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|source| io_error(format!("creating {}", dir.display()), source))?;
    make_private(dir)?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(&path)
        .map_err(|source| io_error(format!("opening {}", path.display()), source))?;
    let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => lock,
        Err((mut file, Errno::EWOULDBLOCK)) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            return Err(StoreError::InUse { dir: dir.to_path_buf(), pid: pid.trim().parse().ok() });
        }
        Err((_, errno)) => return Err(io_error(format!("locking {}", path.display()), errno.into())),
    };
    let record = |file: &mut File| -> std::io::Result<()> {
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())?;
        file.sync_all()
    };
    record(&mut lock).map_err(|source| io_error(format!("writing {}", path.display()), source))?;
    Ok(DirLock { _file: lock })
}

/// Directories 0700 and files 0600, from `dir` down (symlinks are left alone).
pub(super) fn make_private(dir: &Path) -> Result<(), StoreError> {
    tighten(dir, 0)
}

fn tighten(path: &Path, depth: usize) -> Result<(), StoreError> {
    let meta = std::fs::symlink_metadata(path).map_err(|source| io_error(format!("reading {}", path.display()), source))?;
    let wanted = if meta.is_dir() {
        DIR_MODE
    } else if meta.is_file() {
        FILE_MODE
    } else {
        return Ok(());
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        let tightened = (mode & wanted) | (wanted & 0o700);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(tightened))
            .map_err(|source| io_error(format!("making {} private", path.display()), source))?;
        tracing::info!(path = %path.display(), from = format!("{mode:o}"), to = format!("{tightened:o}"), "made private");
    }
    if meta.is_dir() && depth < MAX_DEPTH {
        let entries = std::fs::read_dir(path).map_err(|source| io_error(format!("reading {}", path.display()), source))?;
        for entry in entries {
            let entry = entry.map_err(|source| io_error(format!("reading {}", path.display()), source))?;
            tighten(&entry.path(), depth + 1)?;
        }
    }
    Ok(())
}

fn io_error(what: String, source: std::io::Error) -> StoreError {
    StoreError::DataDir { what, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_dir_is_private_and_an_old_one_is_tightened() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("data");
        let lock = claim(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(LOCK_FILE)), 0o600);
        drop(lock);

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(dir.join("blobs")).unwrap();
        std::fs::set_permissions(dir.join("blobs"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("blobs/1"), "x").unwrap();
        std::fs::set_permissions(dir.join("blobs/1"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let _lock = claim(&dir).unwrap();
        assert_eq!((mode(&dir), mode(&dir.join("blobs")), mode(&dir.join("blobs/1"))), (0o700, 0o700, 0o600));
    }

    #[test]
    fn a_second_claim_names_the_first_holder() {
        let dir = tempfile::tempdir().unwrap();
        let _first = claim(dir.path()).unwrap();
        match claim(dir.path()) {
            Err(StoreError::InUse { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected InUse, got {other:?}"),
        }
    }
}
