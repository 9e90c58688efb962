//! Logs go to a file, never to the terminal being drawn.

use crate::error::ClientError;
use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Sends `tracing` output to `path` (appending). Keep the guard alive until
/// exit: dropping it flushes the log.
pub fn init(path: &Path, filter: &str) -> Result<WorkerGuard, ClientError> {
    let file_err = |source| ClientError::File { action: "open the log file", path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(file_err)?;
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(file_err)?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(writer).try_init();
    Ok(guard)
}
