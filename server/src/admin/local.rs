//! Reaching the data: a running server through its socket, or the data dir
//! itself when no server runs. Which one is decided by the data dir's lock,
//! never by guessing: a socket that answers is a running server; no answer
//! and a free lock means the CLI may open the store; no answer and a held
//! lock (another admin command, or a server without the socket) is refused.

use super::operator::Operator;
use crate::store::{SledStore, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::UnixStream;

/// The marker every heartlink data dir holds (`store/sled_store/marker.rs`).
const MARKER_FILE: &str = "heartlink.json";

/// How the CLI reaches the data.
#[derive(Debug)]
pub enum Reach {
    /// A running server's admin socket, connected.
    Server(UnixStream),
    /// The data dir, opened and locked by this process (the store also as
    /// itself, for what only a stopped data dir allows: compaction).
    Local(Operator, Box<SledStore>),
}

/// Why the data cannot be reached.
#[derive(Debug, thiserror::Error)]
pub enum ReachError {
    #[error("no data dir at {}", .0.display())]
    Missing(PathBuf),
    #[error("{} is not a heartlink data dir (it has no {MARKER_FILE})", .0.display())]
    NotDataDir(PathBuf),
    #[error(
        "{} is in use (pid {}) and no server answers on its admin socket: another admin command is running, or a server without the socket; refusing to open it",
        .dir.display(),
        .pid.map_or_else(|| "unknown".to_owned(), |pid| pid.to_string())
    )]
    InUse { dir: PathBuf, pid: Option<u32> },
    #[error("the data dir cannot be opened")]
    Damaged(#[source] StoreError),
    #[error("cannot read {}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Connects to the running server of `dir`, or opens `dir` when none runs.
pub async fn reach(dir: &Path) -> Result<Reach, ReachError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(ReachError::NotDataDir(dir.to_path_buf())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(ReachError::Missing(dir.to_path_buf())),
        Err(source) => return Err(ReachError::Io { path: dir.to_path_buf(), source }),
    }
    // A server answering on the socket is asked first: a node whose store is
    // PostgreSQL has a data dir without the embedded store's marker.
    let socket = dir.join(super::SOCKET_FILE);
    match UnixStream::connect(&socket).await {
        Ok(stream) => return Ok(Reach::Server(stream)),
        // No socket, or a dead server's: the lock decides below.
        Err(err) if matches!(err.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) => {}
        Err(source) => return Err(ReachError::Io { path: socket, source }),
    }
    if !dir.join(MARKER_FILE).exists() {
        return Err(ReachError::NotDataDir(dir.to_path_buf()));
    }
    let opened = tokio::task::spawn_blocking({
        let dir = dir.to_path_buf();
        move || SledStore::open(&dir)
    })
    .await
    .map_err(|err| ReachError::Damaged(StoreError::Task(err)))?;
    match opened {
        Ok(store) => {
            let shared = Arc::new(store.clone());
            Ok(Reach::Local(Operator { store: shared.clone(), media: shared, bus: None }, Box::new(store)))
        }
        Err(StoreError::InUse { dir, pid }) => Err(ReachError::InUse { dir, pid }),
        Err(err) => Err(ReachError::Damaged(err)),
    }
}
