//! An export written to a file: created 0600 (it holds password hashes)
//! under a `.partial` name, synced, and renamed into place only when the
//! export is complete, so a file under the asked-for name is never a cut one.

use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The temporary name beside `path`.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Creates the partial file, private; refuses one that exists (another export may be writing it).
pub fn create(partial: &Path) -> std::io::Result<tokio::fs::File> {
    let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(partial)?;
    Ok(tokio::fs::File::from_std(file))
}

/// Syncs and renames the partial file into place when `complete`; removes it otherwise.
pub async fn finish(file: tokio::fs::File, partial: &Path, path: &Path, complete: bool) -> std::io::Result<()> {
    let synced = if complete { file.sync_all().await } else { Ok(()) };
    drop(file);
    match synced.and_then(|()| if complete { std::fs::rename(partial, path) } else { Err(ErrorKind::Interrupted.into()) }) {
        Ok(()) => Ok(()),
        Err(err) => {
            let _ = std::fs::remove_file(partial);
            if err.kind() == ErrorKind::Interrupted && !complete { Ok(()) } else { Err(err) }
        }
    }
}
